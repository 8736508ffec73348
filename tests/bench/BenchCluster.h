#pragma once

#include "cluster/LocalCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "domain/Result.h"

#include <QElapsedTimer>
#include <QList>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace ledger::test {
class SqlSession;
}

namespace ledger::bench {

// A benchmark's own cluster: durable (fsync and synchronous commit on, as in production),
// a little more memory than the defaults as any real server would have, the ledger
// database created and migrated. Stopped when destroyed; the directory goes with it.
// The database work runs on a thread of its own, so a benchmark with a QApplication may
// call start() from its GUI thread (Connection refuses to run there).
class BenchCluster
{
public:
    // In /tmp/ledger-bench-<name>-XXXXXX; extraConfig goes into postgresql.conf after the
    // benchmarks' settings (e.g. "wal_level = logical").
    explicit BenchCluster(const QString &name, const QString &extraConfig = {});
    ~BenchCluster();
    BenchCluster(const BenchCluster &) = delete;
    BenchCluster &operator=(const BenchCluster &) = delete;

    Status start();

    LocalCluster &cluster() { return *m_cluster; }
    QString path() const { return m_dir.path(); }
    QString dsn(const QString &user = {}, const QString &database = {}) const
    {
        return m_cluster->dsn(user, database);
    }

private:
    QTemporaryDir m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
    bool m_started = false;
};

// Loads an account with `entries` entries straight into the tables, as the owner, for
// benchmarks that need a big one fast: transactions of 100 legs on the account plus one
// on "<code>-CONTRA"; 2% backdated (3 days late), 0.5% future-dated, over five years.
// The per-transaction balance trigger is suspended for the load and the same rule checked
// set-based before commit (as the bulk seed does). Returns an empty string or the error.
QString loadBigAccount(test::SqlSession &admin, const QString &code, qint64 entries);
// The end of such a load, as SQL in the load's transaction: the account heads from the
// entries, the balance rule checked set-based, the balance trigger enabled again.
QString loadEpilogue();

// One line of the benchmark's report on stdout, flushed (progress is visible as it runs).
void say(const QString &line);
// Three yardsticks, a line each, so that figures can be read against the host's day: the
// CPU (a count over generate_series), memory (a hash aggregate of 100,000 groups) and
// writes (an unlogged table of about 250 MB made and dropped). This machine is shared and
// they do not move together: on 2026-12-05 the CPU read as usual while writes and fresh
// memory were two to three times slower than an hour later.
void sayYardsticks(test::SqlSession &admin);
double median(QList<double> values);
// Median milliseconds of `reps` runs of one statement (each its own transaction); -1 and a
// message on stderr when it fails.
double timeSql(test::SqlSession &session, const QString &sql, const QStringList &params = {},
               int reps = 5);
// Runs the event loop until done() (GUI thread; database work runs on workers). False after
// timeoutMs.
bool waitFor(const std::function<bool()> &done, int timeoutMs = 120000);

struct Rate
{
    double perSecond = 0;
    qint64 posted = 0;
    qint64 refused = 0;
    qint64 errors = 0;
};

// Runs `clients` threads (a connection each) for `seconds`; each calls step(connection, client, n)
// in a loop. step returns how many postings it made (0 or more), or -1 for a refused posting.
template <class Step> Rate measure(const QString &dsn, int clients, double seconds, Step step)
{
    std::atomic<qint64> posted{0}, refused{0}, errors{0};
    std::atomic<bool> stop{false};
    std::barrier start(clients + 1);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            Connection connection(dsn, QStringLiteral("bench"));
            start.arrive_and_wait();
            for (qint64 n = 0; !stop.load(std::memory_order_relaxed); ++n) {
                try {
                    const int made = step(connection, c, n);
                    if (made < 0)
                        ++refused;
                    else
                        posted += made;
                } catch (const DbException &e) {
                    if (e.error().sqlState == QLatin1String("LG020"))
                        ++refused;
                    else if (++errors < 3)
                        std::fprintf(stderr, "bench: %s\n", e.what());
                }
            }
        });
    }
    start.arrive_and_wait();
    QElapsedTimer timer;
    timer.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(qint64(seconds * 1000)));
    stop = true;
    for (auto &t : threads)
        t.join();
    const double elapsed = double(timer.nsecsElapsed()) / 1e9;
    return {double(posted.load()) / elapsed, posted.load(), refused.load(), errors.load()};
}

} // namespace ledger::bench
