#pragma once

#include "cluster/LocalCluster.h"
#include "domain/Result.h"

#include <QList>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <functional>
#include <memory>

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
    explicit BenchCluster(const QString &name); // in /tmp/ledger-bench-<name>-XXXXXX
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
double median(QList<double> values);
// Median milliseconds of `reps` runs of one statement (each its own transaction); -1 and a
// message on stderr when it fails.
double timeSql(test::SqlSession &session, const QString &sql, const QStringList &params = {},
               int reps = 5);
// Runs the event loop until done() (GUI thread; database work runs on workers). False after
// timeoutMs.
bool waitFor(const std::function<bool()> &done, int timeoutMs = 120000);

} // namespace ledger::bench
