// Ledger benchmark: prints figures and ratios against the naive way, measured in the same
// run. Not a test: no timed assertions; targets are compared and reported.
//
//   bench_ledger [--seconds S] [--pit-entries N] [--pit-small N] [--skip-pit] [--skip-posting]
//                [--skip-digest] [--peer PATH] [--skip-peer] [--peer-only] [--rounds N]
//                [--peer-unnamed]
//   bench_ledger --profile [--profile-postings N] [--peer PATH]
//
// First the peer comparison (issue 20), on a durable throwaway cluster of its own that is
// stopped before the rest starts: pgledger (github.com/pgr0ss/pgledger; by default
// ../shared/peers/pgledger/pgledger-all.sql beside the source tree, see SOURCE.md there; never
// copied into this repository) loaded into a second database, "pgledger", of the same cluster,
// 10,000 EUR accounts on each side, 20,000 transfers on each to warm up and ANALYZE (so that
// neither measures plans made for empty tables), random pairs of distinct accounts, 1.00 per
// transfer: single postings through LedgerRepository::post (as bench_writer, a ledger_writer)
// against pgledger_create_transfer with 1, 2 and 8 clients, then ledger.post_batch
// (LedgerRepository::postBatch) against pgledger_create_transfers at 1,000 per call with 1 and
// 2 clients; --rounds rounds of --seconds each, ours and pgledger's alternating; the ratio per
// round and the median per client count, and issue 20's targets as met / NOT met (single
// postings >= 1.0x pgledger at 8 and at 1 client, batches >= 1.5x). Ours always goes through
// LedgerRepository's calls as the product sends them; pgledger's calls are prepared once per
// connection, as issue 20 measured, or with --peer-unnamed sent unnamed with their parameters
// on every call (parsed and planned each time, the way LedgerRepository::post sent its call
// before ledger.post_request, 0055). Without the file it says so and goes on.
//
// --profile does only this: where one single posting's server time goes, on a cluster of the
// same kind with track_functions = all, pg_stat_statements (track = all) and WAL timing; one
// client, per posting (after the same warm-up): wall time and server CPU without and with the
// instrumentation, WAL, every function and the top statements, for ours and for
// pgledger_create_transfer.
//
// Then its own durable throwaway cluster (fsync on, as in production), for:
//  1. postings/s with 1, 2 and 8 clients on random accounts and on one hot account, one
//     posting per call (ledger.post_transaction), then set-based batches of 100 and 1,000
//     (ledger.post_batch), each with its ratio to single postings measured in the same run;
//  2. the transaction digest's cost (0030, 0060): a single posting's server CPU and batches
//     of 1,000 per second with the digest and with its computation swapped out, alternating;
//  3. point-in-time balance on an account with N entries (default 10M) and one with 100k:
//     warm latency of the O(log n) function vs the naive sum over all entries.

#include "BenchCluster.h"
#include "SqlSession.h"
#include "cluster/LocalCluster.h"
#include "db/Connection.h"
#include "db/DatabaseAdmin.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
// libpqxx for the peer's calls only, as tests/support/SqlSession.cpp uses it: the product's own
// calls go through LedgerRepository.
#include "db/Native.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QHash>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

using namespace ledger;
using bench::measure;
using bench::Rate;
using bench::say;
using test::SqlSession;

namespace {

QByteArray transfer(const QString &key, int from, int to, const QString &hot = {})
{
    const QString a = hot.isEmpty() ? QStringLiteral("B-%1").arg(from) : hot;
    return QStringLiteral(R"({"idempotency_key": "%1", "effective_at": "%2", "description": "bench",
        "legs": [{"account": "%3", "amount": "-1.00", "currency": "EUR"}, {"account": "B-%4", "amount": "1.00", "currency": "EUR"}]})")
        .arg(key, QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs), a)
        .arg(to)
        .toUtf8();
}

// CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
double cpuSeconds(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray text = f.readAll();
    // Fields after the command name (which may hold spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15.
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    return double(fields.at(11).toLongLong() + fields.at(12).toLongLong()) /
           double(sysconf(_SC_CLK_TCK));
}

struct CpuRun
{
    qint64 postings = 0;
    double perSecond = 0;
    double serverCpuMs = 0; // per posting, in the connection's server process
};

// One client for `seconds`: single postings, or batches of batchSize; the server process's
// CPU per posting.
CpuRun serverCpu(const QString &dsn, SqlSession &admin, double seconds, int batchSize,
                 std::atomic<qint64> &keys)
{
    const QString name = QStringLiteral("bench-cpu-%1").arg(++keys);
    Connection connection(dsn, name);
    auto one = [&] {
        if (batchSize <= 1) {
            const qint64 k = ++keys;
            LedgerRepository::post(connection, transfer(QStringLiteral("c-%1").arg(k),
                                                        1 + int(k % 9999), 2 + int(k % 9999)));
            return qint64(1);
        }
        QList<QByteArray> items;
        for (int i = 0; i < batchSize; ++i) {
            const qint64 k = ++keys;
            items.append(
                transfer(QStringLiteral("cb-%1").arg(k), 1 + int(k % 9999), 2 + int(k % 9999)));
        }
        return qint64(LedgerRepository::postBatch(connection, items).size());
    };
    one(); // connected, plans cached
    const qint64 pid =
        admin
            .scalar(QStringLiteral("SELECT pid FROM pg_stat_activity WHERE application_name = $1"),
                    {name})
            .toLongLong();
    CpuRun run;
    const double cpuBefore = cpuSeconds(pid);
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < qint64(seconds * 1000))
        run.postings += one();
    const double elapsed = double(timer.nsecsElapsed()) / 1e9;
    run.serverCpuMs =
        (cpuSeconds(pid) - cpuBefore) * 1000.0 / double(qMax<qint64>(1, run.postings));
    run.perSecond = double(run.postings) / elapsed;
    return run;
}

// ---- The peer comparison (issue 20) and the posting profile ------------------------------

constexpr int kPeerAccounts = 10000;

// Two distinct accounts, 0-based, uniformly at random.
std::pair<int, int> randomPair(std::mt19937 &rng, int accounts)
{
    const int a = int(rng() % unsigned(accounts));
    const int b = int((a + 1 + int(rng() % unsigned(accounts - 1))) % accounts);
    return {a, b};
}

// B-1..B-n in the ledger database, as the posting part opens them (EUR, asset; allowed to go
// negative, open_account's default, as pgledger's accounts are by default).
// Starts the benchmark's cluster and its bench_writer login (ledger_writer); the writer's
// DSN, or an empty string after saying on stderr what failed.
QString startWithWriter(bench::BenchCluster &bench)
{
    if (auto s = bench.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return {};
    }
    try {
        Connection admin(bench.dsn());
        DatabaseAdmin::ensureLoginRole(admin, QStringLiteral("bench_writer"),
                                       QStringLiteral("bench"), QStringLiteral("ledger_writer"));
    } catch (const DbException &e) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(e.error().describe()));
        return {};
    }
    return bench.dsn(QStringLiteral("bench_writer")) + QStringLiteral(" password=bench");
}

QString openLedgerAccounts(SqlSession &admin, int accounts)
{
    const auto r = admin.exec(QStringLiteral("SELECT count(ledger.open_account('B-' || i, 'Bench ' "
                                             "|| i, 'EUR', 'asset')) FROM generate_series(1, %1) i")
                                  .arg(accounts));
    return r.ok ? QString() : r.message;
}

constexpr const char *kPeerPostSql = "SELECT id FROM pgledger_create_transfer($1, $2, $3::numeric)";
constexpr const char *kPeerBatchSql =
    "SELECT id FROM pgledger_create_transfers($1::transfer_request[])";

// The peer in database "pgledger" of the same cluster: pgledger-all.sql run as it is, as the
// superuser; 10,000 EUR accounts (pgledger's defaults: negative and positive balances
// allowed); posted to by peer_writer, a login role of its own (the cluster's pg_hba.conf lets
// members of ledger_writer into the ledger database only).
struct Peer
{
    QString dsn;                       // peer_writer on database pgledger
    QString adminDsn;                  // the superuser on database pgledger
    std::vector<std::string> accounts; // pgledger's account ids (pgla_...), P-1..P-n
};

// Returns an empty string or what went wrong.
QString loadPeer(LocalCluster &cluster, const QByteArray &sql, Peer &peer)
{
    try {
        Connection admin(cluster.dsn());
        DatabaseAdmin::ensureLoginRole(admin, QStringLiteral("peer_writer"),
                                       QStringLiteral("bench"), {});
    } catch (const DbException &e) {
        return e.error().describe();
    }
    SqlSession admin(cluster.dsn());
    if (const auto r = admin.run(QStringLiteral("CREATE DATABASE pgledger")); !r.ok)
        return r.message;
    peer.adminDsn = cluster.dsn({}, QStringLiteral("pgledger"));
    peer.dsn = cluster.dsn(QStringLiteral("peer_writer"), QStringLiteral("pgledger")) +
               QStringLiteral(" password=bench");
    SqlSession owner(peer.adminDsn);
    if (const auto r = owner.exec(QString::fromUtf8(sql)); !r.ok)
        return QStringLiteral("loading pgledger: ") + r.message;
    if (const auto r = owner.exec(QStringLiteral(
            "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO peer_writer"));
        !r.ok)
        return r.message;
    const auto opened = owner.exec(QStringLiteral("SELECT count(*) FROM generate_series(1, %1) i, "
                                                  "LATERAL pgledger_create_account('P-' || i, "
                                                  "'EUR') a")
                                       .arg(kPeerAccounts));
    if (!opened.ok)
        return opened.message;
    const auto ids = owner.exec(QStringLiteral("SELECT id FROM pgledger_accounts ORDER BY name"));
    if (!ids.ok || ids.rows.size() != kPeerAccounts)
        return QStringLiteral("pgledger accounts: %1").arg(ids.message);
    peer.accounts.clear();
    for (const QStringList &row : ids.rows)
        peer.accounts.push_back(row.first().toStdString());
    // No VACUUM ANALYZE here: statistics of empty tables would give both sides plans for empty
    // tables until autovacuum comes by; the posting part does not do it either.
    return {};
}

// Reads the peer's SQL; an empty array (and a plain message) when the file is not there.
QByteArray readPeer(const QString &path)
{
    QFile file(path);
    if (!file.exists() || !file.open(QIODevice::ReadOnly)) {
        say(QStringLiteral("pgledger not found at %1: peer comparison skipped").arg(path));
        return {};
    }
    return file.readAll();
}

// One call on each side: a single posting, or a batch of batchSize (postings made). Ours through
// LedgerRepository, as the product posts. peerPrepared: pgledger's calls are named statements
// prepared once per connection (n == 0); else sent unnamed with their parameters every time.
struct Sides
{
    const Peer *peer = nullptr;
    bool peerPrepared = true;
    std::atomic<qint64> *keys = nullptr;

    int ours(Connection &c, int client, int batchSize) const
    {
        thread_local std::mt19937 rng(std::random_device{}() + unsigned(client));
        if (batchSize <= 1) {
            const auto [a, b] = randomPair(rng, kPeerAccounts);
            LedgerRepository::post(c, transfer(QStringLiteral("p-%1").arg(++*keys), a + 1, b + 1));
            return 1;
        }
        QList<QByteArray> items;
        items.reserve(batchSize);
        for (int i = 0; i < batchSize; ++i) {
            const auto [a, b] = randomPair(rng, kPeerAccounts);
            items.append(transfer(QStringLiteral("pb-%1").arg(++*keys), a + 1, b + 1));
        }
        int posted = 0;
        for (const auto &o : LedgerRepository::postBatch(c, items))
            posted += o.kind == LedgerRepository::BatchOutcome::Kind::Posted;
        return posted;
    }

    int theirs(Connection &c, int client, qint64 n, int batchSize) const
    {
        thread_local std::mt19937 rng(std::random_device{}() + unsigned(client) + 7919u);
        return db::guarded([&] {
            pqxx::connection_base &native = db::native(c);
            if (peerPrepared && n == 0) {
                native.prepare("peer_post", kPeerPostSql);
                native.prepare("peer_batch", kPeerBatchSql);
            }
            pqxx::nontransaction tx(native);
            if (batchSize <= 1) {
                const auto [a, b] = randomPair(rng, kPeerAccounts);
                const std::string &from = peer->accounts[size_t(a)];
                const std::string &to = peer->accounts[size_t(b)];
                if (peerPrepared)
                    tx.exec_prepared("peer_post", from, to, "1.00");
                else
                    tx.exec_params(kPeerPostSql, from, to, "1.00");
                return 1;
            }
            // {"(from,to,1.00)",...}: the ids are letters, digits and '_' only.
            std::string array = "{";
            for (int i = 0; i < batchSize; ++i) {
                const auto [a, b] = randomPair(rng, kPeerAccounts);
                array += (i ? ",\"(" : "\"(") + peer->accounts[size_t(a)] + ',' +
                         peer->accounts[size_t(b)] + ",1.00)\"";
            }
            array += '}';
            const pqxx::result r = peerPrepared ? tx.exec_prepared("peer_batch", array)
                                                : tx.exec_params(kPeerBatchSql, array);
            return int(r.size());
        });
    }
};

// 20,000 transfers on each side in batches of 1,000, then ANALYZE of both databases: the
// tables as a running system has them. On a fresh cluster, the functions' generic plans
// (plan_cache_mode = force_generic_plan), built while ledger.entries and ledger.transactions have
// no statistics, scan those tables in full on every posting until autovacuum has analyzed them;
// measured from there, each round would be slower than the last.
QString warmUp(const QString &writer, SqlSession &admin, const Peer &peer, const Sides &sides)
{
    constexpr int kWarmUpBatches = 20;
    try {
        Connection ours(writer, QStringLiteral("bench-warm-up"));
        for (int i = 0; i < kWarmUpBatches; ++i)
            sides.ours(ours, 0, 1000);
        if (!peer.accounts.empty()) {
            Connection theirs(peer.dsn, QStringLiteral("bench-warm-up"));
            for (int i = 0; i < kWarmUpBatches; ++i)
                sides.theirs(theirs, 0, i, 1000);
        }
    } catch (const DbException &e) {
        return e.error().describe();
    }
    if (const auto r = admin.run(QStringLiteral("ANALYZE")); !r.ok)
        return r.message;
    if (!peer.accounts.empty()) {
        if (const auto r = SqlSession(peer.adminDsn).run(QStringLiteral("ANALYZE")); !r.ok)
            return r.message;
    }
    return {};
}

// The median, the mean of the middle two for an even count (bench::median takes the upper one).
double middle(QList<double> values)
{
    if (values.isEmpty())
        return 0;
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The 1-minute load average: other work on the machine shows in the figures.
QString loadAverage()
{
    QFile f(QStringLiteral("/proc/loadavg"));
    return f.open(QIODevice::ReadOnly)
               ? QString::fromLatin1(f.readAll()).section(QLatin1Char(' '), 0, 0)
               : QStringLiteral("?");
}

QString verdict(double ratio, double target)
{
    return QStringLiteral("%1x: %2")
        .arg(ratio, 0, 'f', 2)
        .arg(ratio >= target ? QStringLiteral("met") : QStringLiteral("NOT met"));
}

// Issue 20's comparison on a fresh cluster of its own (so that the other parts start as
// before): single postings with 1, 2 and 8 clients and batches of 1,000 with 1 and 2, each
// measured `rounds` times, ours then pgledger's then ours..., `seconds` each.
int runPeerComparison(const QByteArray &peerSql, const QString &peerPath, double seconds,
                      int rounds, bool peerPrepared)
{
    bench::BenchCluster bench(QStringLiteral("peer"));
    const QString writer = startWithWriter(bench);
    if (writer.isEmpty())
        return 1;
    LocalCluster &cluster = bench.cluster();
    SqlSession admin(cluster.dsn());
    Peer peer;
    QString error = openLedgerAccounts(admin, kPeerAccounts);
    if (error.isEmpty())
        error = loadPeer(cluster, peerSql, peer);
    if (!error.isEmpty()) {
        std::fprintf(stderr, "bench: peer comparison: %s\n", qPrintable(error));
        return 1;
    }
    say(QStringLiteral("\n== peer comparison (issue 20): single postings through "
                       "LedgerRepository::post vs pgledger_create_transfer, batches through "
                       "LedgerRepository::postBatch (ledger.post_batch) vs "
                       "pgledger_create_transfers"));
    say(QStringLiteral("pgledger from %1, database pgledger of the same cluster %2 (durable: "
                       "fsync on, synchronous_commit on), %3 cores, load average before the run %4")
            .arg(peerPath, bench.path())
            .arg(std::thread::hardware_concurrency())
            .arg(loadAverage()));
    say(QStringLiteral("%1 EUR accounts each, random pairs of distinct accounts, 1.00 per "
                       "transfer, ours as bench_writer (ledger_writer) with a new idempotency "
                       "key per transfer; %2 s per measurement, %3 round(s), ours first in each")
            .arg(kPeerAccounts)
            .arg(seconds)
            .arg(rounds));
    say(peerPrepared
            ? QStringLiteral("statements: ours as LedgerRepository::post and postBatch send them; "
                             "pgledger's named and prepared once per connection")
            : QStringLiteral("statements: ours as LedgerRepository::post and postBatch send them; "
                             "pgledger's unnamed, parsed and planned on every call "
                             "(--peer-unnamed)"));
    std::atomic<qint64> keys{0};
    const Sides sides{&peer, peerPrepared, &keys};
    if (const QString e = warmUp(writer, admin, peer, sides); !e.isEmpty()) {
        std::fprintf(stderr, "bench: warming up: %s\n", qPrintable(e));
        return 1;
    }
    say(QStringLiteral("warmed up: 20,000 transfers on each side (batches of 1,000), then ANALYZE "
                       "of both databases"));
    say(QStringLiteral("%1 %2 %3 %4 %5 %6")
            .arg(QStringLiteral("measurement"), -28)
            .arg(QStringLiteral("round"), 6)
            .arg(QStringLiteral("ours/s"), 10)
            .arg(QStringLiteral("pgledger/s"), 11)
            .arg(QStringLiteral("ratio"), 7)
            .arg(QStringLiteral("  refused/errors ours, errors pgledger")));
    QHash<QString, double> medians; // "single/8", "batch/1" -> median ratio
    auto compare = [&](const QString &label, const QString &key, int clients, int batchSize) {
        QList<double> ratios, ourRates, peerRates;
        for (int round = 1; round <= rounds; ++round) {
            const Rate o =
                measure(writer, clients, seconds, [&](Connection &c, int client, qint64) {
                    return sides.ours(c, client, batchSize);
                });
            const Rate p =
                measure(peer.dsn, clients, seconds, [&](Connection &c, int client, qint64 n) {
                    return sides.theirs(c, client, n, batchSize);
                });
            const double ratio = p.perSecond > 0 ? o.perSecond / p.perSecond : 0;
            ratios << ratio;
            ourRates << o.perSecond;
            peerRates << p.perSecond;
            say(QStringLiteral("%1 %2 %3 %4 %5   %6/%7, %8")
                    .arg(label, -28)
                    .arg(round, 6)
                    .arg(o.perSecond, 10, 'f', 0)
                    .arg(p.perSecond, 11, 'f', 0)
                    .arg(ratio, 7, 'f', 2)
                    .arg(o.refused)
                    .arg(o.errors)
                    .arg(p.errors + p.refused));
        }
        medians.insert(key, middle(ratios));
        say(QStringLiteral("%1 %2 %3 %4 %5   (medians; ratio: median of the rounds' ratios)")
                .arg(label, -28)
                .arg(QStringLiteral("median"), 6)
                .arg(middle(ourRates), 10, 'f', 0)
                .arg(middle(peerRates), 11, 'f', 0)
                .arg(middle(ratios), 7, 'f', 2));
    };
    for (int clients : {1, 2, 8})
        compare(QStringLiteral("single, %1 client(s)").arg(clients),
                QStringLiteral("single/%1").arg(clients), clients, 1);
    for (int clients : {1, 2})
        compare(QStringLiteral("batches of 1000, %1 client(s)").arg(clients),
                QStringLiteral("batch/%1").arg(clients), clients, 1000);
    say(QStringLiteral("targets (issue 20): single >= 1.0x pgledger at 8 clients %1, at 1 client "
                       "%2; batches of 1000 >= 1.5x pgledger's, 1 client %3 (2 clients %4)")
            .arg(verdict(medians.value(QStringLiteral("single/8")), 1.0),
                 verdict(medians.value(QStringLiteral("single/1")), 1.0),
                 verdict(medians.value(QStringLiteral("batch/1")), 1.5),
                 verdict(medians.value(QStringLiteral("batch/2")), 1.5)));
    return 0;
}

// Where one single posting's server time goes: a cluster of the same kind with
// pg_stat_statements loaded (planning tracked) and WAL timing. One client posts `postings`
// transfers through LedgerRepository::post after a warm-up on the same connection, first with
// track_functions and pg_stat_statements.track off (wall time and the backend's CPU as they
// are), then with both at "all", after which the function and statement statistics are read
// per posting. The same for pgledger_create_transfer when the peer is there.
int runProfile(int postings, const QByteArray &peerSql)
{
    bench::BenchCluster bench(QStringLiteral("profile"),
                              QStringLiteral("shared_preload_libraries = 'pg_stat_statements'\n"
                                             "pg_stat_statements.track = all\n"
                                             "pg_stat_statements.track_planning = on\n"
                                             "pg_stat_statements.max = 10000\n"
                                             "track_functions = all\n"
                                             "track_io_timing = on\n"
                                             "track_wal_io_timing = on"));
    const QString writer = startWithWriter(bench);
    if (writer.isEmpty())
        return 1;
    LocalCluster &cluster = bench.cluster();
    SqlSession admin(cluster.dsn());
    QString error = openLedgerAccounts(admin, kPeerAccounts);
    if (error.isEmpty()) {
        if (const auto r = admin.exec(QStringLiteral("CREATE EXTENSION pg_stat_statements")); !r.ok)
            error = r.message;
    }
    Peer peer;
    if (error.isEmpty() && !peerSql.isEmpty())
        error = loadPeer(cluster, peerSql, peer);
    if (!error.isEmpty()) {
        std::fprintf(stderr, "bench: profile: %s\n", qPrintable(error));
        return 1;
    }
    say(QStringLiteral("\n== profile of single postings, one client, %1 postings after 300 to "
                       "warm up, cluster %2 (durable), %3 cores; first without instrumentation, "
                       "then with track_functions = all and pg_stat_statements (track = all), "
                       "which add their own cost to every call (more to nested ones)")
            .arg(postings)
            .arg(bench.path())
            .arg(std::thread::hardware_concurrency()));

    std::atomic<qint64> keys{0};
    const Sides sides{&peer, true, &keys};
    if (const QString e = warmUp(writer, admin, peer, sides); !e.isEmpty()) {
        std::fprintf(stderr, "bench: warming up: %s\n", qPrintable(e));
        return 1;
    }
    say(QStringLiteral(
        "warmed up: 20,000 transfers on each side (batches of 1,000), then ANALYZE"));
    // Instrumentation on or off for the sessions that start next (a reload, no restart).
    auto setTracking = [&](bool on) {
        const QString value = on ? QStringLiteral("all") : QStringLiteral("none");
        admin.run(QStringLiteral("ALTER SYSTEM SET track_functions = '%1'").arg(value));
        admin.run(QStringLiteral("ALTER SYSTEM SET pg_stat_statements.track = '%1'").arg(value));
        admin.exec(QStringLiteral("SELECT pg_reload_conf()"));
        QElapsedTimer wait;
        wait.start();
        while (SqlSession(cluster.dsn()).scalar(QStringLiteral("SHOW track_functions")) != value &&
               wait.elapsed() < 5000)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    };
    struct Timed
    {
        double wallMs = 0;
        double cpuMs = 0; // of the posting connection's backend
    };
    // 300 postings to warm up, then before(connection), then `postings` timed, one client.
    auto timed = [&](const QString &dsn, const QString &application, bool ours,
                     const std::function<void(Connection &)> &before) {
        Timed t;
        Connection connection(dsn, application);
        auto one = [&](qint64 n) {
            return ours ? sides.ours(connection, 0, 1) : sides.theirs(connection, 0, n, 1);
        };
        for (qint64 n = 0; n < 300; ++n)
            one(n);
        if (before)
            before(connection);
        const qint64 pid =
            admin
                .scalar(
                    QStringLiteral("SELECT pid FROM pg_stat_activity WHERE application_name = $1"),
                    {application})
                .toLongLong();
        const double cpuBefore = cpuSeconds(pid);
        QElapsedTimer timer;
        timer.start();
        for (qint64 n = 300; n < 300 + postings; ++n)
            one(n);
        t.wallMs = double(timer.nsecsElapsed()) / 1e6 / postings;
        t.cpuMs = (cpuSeconds(pid) - cpuBefore) * 1000.0 / postings;
        return t; // the backend ends with the connection and flushes its counters
    };
    auto profile = [&](const QString &title, const QString &dsn, const QString &database,
                       const QString &function, bool ours) {
        SqlSession stats(database == QLatin1String("ledger") ? cluster.dsn()
                                                             : cluster.dsn({}, database));
        const QString application = QStringLiteral("bench-profile-%1").arg(database);
        setTracking(false);
        const Timed plain = timed(dsn, application + QStringLiteral("-plain"), ours, {});
        setTracking(true);
        const Timed traced = timed(dsn, application, ours, [&](Connection &connection) {
            // This backend's pending counters go out now, so that the reset below is clean.
            try {
                test::execOn(connection, QStringLiteral("SELECT pg_stat_force_next_flush()"));
            } catch (const DbException &) {
                std::this_thread::sleep_for(std::chrono::seconds(11)); // the idle flush
            }
            // Function counters are per database; statements and WAL for the whole cluster
            // (pg_stat_statements lives in the ledger database).
            stats.exec(QStringLiteral("SELECT pg_stat_reset()"));
            admin.exec(
                QStringLiteral("SELECT pg_stat_statements_reset(), pg_stat_reset_shared('wal')"));
        });
        QElapsedTimer wait;
        wait.start();
        while (stats.scalar(QStringLiteral("SELECT coalesce(sum(calls), 0) FROM "
                                           "pg_stat_user_functions WHERE funcname = $1"),
                            {function})
                       .toLongLong() < postings &&
               wait.elapsed() < 15000)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        say(QStringLiteral("\n-- %1\nuninstrumented: %2 ms wall per posting (%3/s), %4 ms CPU of "
                           "its backend; instrumented: %5 ms wall (%6/s), %7 ms CPU")
                .arg(title)
                .arg(plain.wallMs, 0, 'f', 3)
                .arg(1000.0 / plain.wallMs, 0, 'f', 0)
                .arg(plain.cpuMs, 0, 'f', 3)
                .arg(traced.wallMs, 0, 'f', 3)
                .arg(1000.0 / traced.wallMs, 0, 'f', 0)
                .arg(traced.cpuMs, 0, 'f', 3));
        const auto wal = admin.exec(
            QStringLiteral("SELECT wal_records::float8 / $1, wal_fpi::float8 / $1, "
                           "wal_bytes::float8 / $1, wal_write_time * 1000 / $1, "
                           "wal_sync_time * 1000 / $1, wal_sync::float8 / $1 FROM pg_stat_wal"),
            {QString::number(postings)});
        if (wal.ok && !wal.rows.isEmpty()) {
            const QStringList &w = wal.rows.first();
            say(QStringLiteral("WAL per posting (whole cluster): %1 records, %2 full pages, %3 "
                               "bytes; write %4 us, sync %5 us (%6 syncs)")
                    .arg(w[0].toDouble(), 0, 'f', 1)
                    .arg(w[1].toDouble(), 0, 'f', 2)
                    .arg(w[2].toDouble(), 0, 'f', 0)
                    .arg(w[3].toDouble(), 0, 'f', 0)
                    .arg(w[4].toDouble(), 0, 'f', 0)
                    .arg(w[5].toDouble(), 0, 'f', 2));
        }
        const auto functions =
            stats.exec(QStringLiteral("SELECT funcid::regprocedure::text, calls::float8 / $1, "
                                      "total_time * 1000 / $1, self_time * 1000 / $1 "
                                      "FROM pg_stat_user_functions WHERE calls > 0 "
                                      "ORDER BY total_time DESC, self_time DESC"),
                       {QString::number(postings)});
        say(QStringLiteral("%1 %2 %3 %4")
                .arg(QStringLiteral("function (pg_stat_user_functions), per posting"), -72)
                .arg(QStringLiteral("calls"), 7)
                .arg(QStringLiteral("total us"), 9)
                .arg(QStringLiteral("self us"), 8));
        for (const QStringList &f : functions.rows)
            say(QStringLiteral("%1 %2 %3 %4")
                    .arg(f[0].left(72), -72)
                    .arg(f[1].toDouble(), 7, 'f', 2)
                    .arg(f[2].toDouble(), 9, 'f', 1)
                    .arg(f[3].toDouble(), 8, 'f', 1));
        const auto statements = admin.exec(
            QStringLiteral("SELECT CASE WHEN toplevel THEN 'top' ELSE '' END, calls::float8 / $1, "
                           "total_exec_time * 1000 / $1, total_plan_time * 1000 / $1, "
                           "left(regexp_replace(query, '\\s+', ' ', 'g'), 150) "
                           "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
                           "WHERE datname = $2) ORDER BY total_exec_time + total_plan_time DESC "
                           "LIMIT 25"),
            {QString::number(postings), database});
        if (!statements.ok)
            say(QStringLiteral("pg_stat_statements: %1").arg(statements.message));
        say(QStringLiteral("%1 %2 %3 %4  %5")
                .arg(QStringLiteral("level"), 5)
                .arg(QStringLiteral("calls"), 7)
                .arg(QStringLiteral("exec us"), 9)
                .arg(QStringLiteral("plan us"), 8)
                .arg(QStringLiteral("statement (pg_stat_statements, per posting, by total time)")));
        for (const QStringList &st : statements.rows)
            say(QStringLiteral("%1 %2 %3 %4  %5")
                    .arg(st[0], 5)
                    .arg(st[1].toDouble(), 7, 'f', 2)
                    .arg(st[2].toDouble(), 9, 'f', 1)
                    .arg(st[3].toDouble(), 8, 'f', 1)
                    .arg(st[4]));
    };
    // post_normalized: the core every single posting function calls, whichever the product uses.
    profile(QStringLiteral("ours: LedgerRepository::post as bench_writer"), writer,
            QStringLiteral("ledger"), QStringLiteral("post_normalized"), true);
    if (!peer.accounts.empty())
        profile(QStringLiteral("pgledger: pgledger_create_transfer as peer_writer"), peer.dsn,
                QStringLiteral("pgledger"), QStringLiteral("pgledger_create_transfer"), false);
    return 0;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Ledger posting and point-in-time balance benchmark, and the posting "
                       "comparison with pgledger (issue 20)."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("seconds"),
                      QStringLiteral("Seconds per posting measurement (default 5)."),
                      QStringLiteral("S"), QStringLiteral("5")});
    parser.addOption({QStringLiteral("pit-entries"),
                      QStringLiteral("Entries on the big account (default 10000000)."),
                      QStringLiteral("N"), QStringLiteral("10000000")});
    parser.addOption({QStringLiteral("pit-small"),
                      QStringLiteral("Entries on the small account (default 100000)."),
                      QStringLiteral("N"), QStringLiteral("100000")});
    parser.addOption({QStringLiteral("skip-pit"), QStringLiteral("Skip the point-in-time part.")});
    parser.addOption({QStringLiteral("skip-posting"), QStringLiteral("Skip the posting part.")});
    parser.addOption({QStringLiteral("skip-digest"),
                      QStringLiteral("Skip the digest cost part (with and without).")});
    parser.addOption({QStringLiteral("peer"),
                      QStringLiteral("pgledger's SQL for the peer comparison (default %1).")
                          .arg(QStringLiteral(LEDGER_PGLEDGER_SQL)),
                      QStringLiteral("PATH"), QStringLiteral(LEDGER_PGLEDGER_SQL)});
    parser.addOption({QStringLiteral("skip-peer"), QStringLiteral("Skip the peer comparison.")});
    parser.addOption({QStringLiteral("peer-only"),
                      QStringLiteral("Only the peer comparison (its own cluster, as always).")});
    parser.addOption({QStringLiteral("rounds"),
                      QStringLiteral("Rounds of the peer comparison, ours and pgledger's "
                                     "alternating, --seconds each (default 3)."),
                      QStringLiteral("N"), QStringLiteral("3")});
    parser.addOption({QStringLiteral("peer-unnamed"),
                      QStringLiteral("Peer comparison with pgledger's calls sent unnamed, parsed "
                                     "and planned on every call, instead of prepared once per "
                                     "connection (ours are always sent as LedgerRepository "
                                     "sends them).")});
    parser.addOption({QStringLiteral("profile"),
                      QStringLiteral("Only the profile of single postings: where one posting's "
                                     "server time goes (functions, statements, WAL), ours and "
                                     "pgledger's.")});
    parser.addOption({QStringLiteral("profile-postings"),
                      QStringLiteral("Postings per side in the profile (default 3000)."),
                      QStringLiteral("N"), QStringLiteral("3000")});
    parser.process(app);
    const double seconds = parser.value(QStringLiteral("seconds")).toDouble();
    const QString peerPath = parser.value(QStringLiteral("peer"));

    if (parser.isSet(QStringLiteral("profile"))) {
        const QByteArray peerSql = readPeer(peerPath);
        return runProfile(qMax(1, parser.value(QStringLiteral("profile-postings")).toInt()),
                          peerSql);
    }
    // First, on a fresh cluster of its own that is gone before the other parts start.
    if (!parser.isSet(QStringLiteral("skip-peer"))) {
        const QByteArray peerSql = readPeer(peerPath);
        if (!peerSql.isEmpty()) {
            if (const int rc =
                    runPeerComparison(peerSql, peerPath, seconds,
                                      qMax(1, parser.value(QStringLiteral("rounds")).toInt()),
                                      !parser.isSet(QStringLiteral("peer-unnamed")));
                rc != 0)
                return rc;
        } else if (parser.isSet(QStringLiteral("peer-only"))) {
            return 1;
        }
    }
    if (parser.isSet(QStringLiteral("peer-only")))
        return 0;

    bench::BenchCluster bench(QStringLiteral("ledger"));
    const QString writer = startWithWriter(bench);
    if (writer.isEmpty())
        return 1;
    LocalCluster &cluster = bench.cluster();
    SqlSession admin(cluster.dsn());
    say(QStringLiteral("cluster: %1 (durable: fsync on, synchronous_commit on), %2 cores")
            .arg(bench.path())
            .arg(std::thread::hardware_concurrency()));

    if (!parser.isSet(QStringLiteral("skip-posting"))) {
        constexpr int kAccounts = 10000;
        admin.exec(QStringLiteral("SELECT count(ledger.open_account('B-' || i, 'Bench ' || i, "
                                  "'EUR', 'asset')) FROM generate_series(1, %1) i")
                       .arg(kAccounts));
        admin.exec(
            QStringLiteral("SELECT ledger.open_account('HOT', 'Hot account', 'EUR', 'asset')"));
        say(QStringLiteral(
            "\n== postings/s (each a 2-leg transaction, audited; single = ledger.post_transaction, "
            "batched = ledger.post_batch)"));
        say(QStringLiteral("%1 %2 %3")
                .arg(QStringLiteral("mode"), -42)
                .arg(QStringLiteral("postings/s"), 12)
                .arg(QStringLiteral("refused/errors"), 16));
        std::atomic<qint64> keys{0};
        auto random = [&](Connection &c, int client, qint64) {
            thread_local std::mt19937 rng(std::random_device{}() + client);
            const int a = 1 + int(rng() % kAccounts);
            const int b = 1 + int((a + rng() % (kAccounts - 1)) % kAccounts);
            LedgerRepository::post(c, transfer(QStringLiteral("r-%1").arg(++keys), a, b));
            return 1;
        };
        auto hot = [&](Connection &c, int client, qint64) {
            thread_local std::mt19937 rng(std::random_device{}() + client);
            LedgerRepository::post(c, transfer(QStringLiteral("h-%1").arg(++keys), 0,
                                               1 + int(rng() % kAccounts), QStringLiteral("HOT")));
            return 1;
        };
        // One posting per call and commit (ledger.post_transaction), then set-based batches
        // (ledger.post_batch: one call, one commit, one multi-row insert per table per batch),
        // same request shapes, same run.
        QHash<QString, double> single; // "random/8" -> postings/s
        auto line = [&](const QString &mode, const Rate &r, const QString &ratio = {}) {
            say(QStringLiteral("%1 %2 %3 %4")
                    .arg(mode, -42)
                    .arg(r.perSecond, 12, 'f', 0)
                    .arg(QStringLiteral("%1/%2").arg(r.refused).arg(r.errors), 16)
                    .arg(ratio));
        };
        for (const bool isHot : {false, true}) {
            for (int clients : {1, 2, 8}) {
                const Rate r = isHot ? measure(writer, clients, seconds, hot)
                                     : measure(writer, clients, seconds, random);
                single.insert(QStringLiteral("%1/%2").arg(isHot).arg(clients), r.perSecond);
                line(QStringLiteral("single, %1, %2 client(s)")
                         .arg(isHot ? QStringLiteral("one hot account")
                                    : QStringLiteral("random accounts"))
                         .arg(clients),
                     r);
            }
        }
        QHash<QString, double> best; // "random/8" -> best batched postings/s
        for (const bool isHot : {false, true}) {
            for (int batchSize : {100, 1000}) {
                auto batched = [&, isHot, batchSize](Connection &c, int client, qint64) {
                    thread_local std::mt19937 rng(std::random_device{}() + client);
                    QList<QByteArray> items;
                    items.reserve(batchSize);
                    for (int i = 0; i < batchSize; ++i) {
                        const int a = 1 + int(rng() % kAccounts);
                        const int b = 1 + int((a + rng() % (kAccounts - 1)) % kAccounts);
                        items.append(isHot ? transfer(QStringLiteral("bh-%1").arg(++keys), 0, b,
                                                      QStringLiteral("HOT"))
                                           : transfer(QStringLiteral("br-%1").arg(++keys), a, b));
                    }
                    int posted = 0;
                    for (const auto &o : LedgerRepository::postBatch(c, items))
                        posted += o.kind == LedgerRepository::BatchOutcome::Kind::Posted;
                    return posted;
                };
                for (int clients : {1, 2, 8}) {
                    const Rate r = measure(writer, clients, seconds, batched);
                    const QString key = QStringLiteral("%1/%2").arg(isHot).arg(clients);
                    best[key] = qMax(best.value(key), r.perSecond);
                    line(QStringLiteral("batched x%1, %2, %3 client(s)")
                             .arg(batchSize)
                             .arg(isHot ? QStringLiteral("one hot account")
                                        : QStringLiteral("random accounts"))
                             .arg(clients),
                         r,
                         QStringLiteral("%1x single")
                             .arg(r.perSecond / single.value(key), 0, 'f', 1));
                }
            }
        }
        auto verdict = [](double value, double target) {
            return QStringLiteral("%1/s: %2")
                .arg(value, 0, 'f', 0)
                .arg(value >= target ? QStringLiteral("met") : QStringLiteral("NOT met"));
        };
        say(QStringLiteral("target 5000/s, random accounts, 8 clients:   single %1   batched "
                           "(best batch size) %2")
                .arg(verdict(single.value(QStringLiteral("0/8")), 5000),
                     verdict(best.value(QStringLiteral("0/8")), 5000)));
        say(QStringLiteral("target 1500/s, one hot account, 8 clients:   single %1   batched "
                           "(best batch size) %2")
                .arg(verdict(single.value(QStringLiteral("1/8")), 1500),
                     verdict(best.value(QStringLiteral("1/8")), 1500)));
    }

    if (!parser.isSet(QStringLiteral("skip-digest")) &&
        !parser.isSet(QStringLiteral("skip-posting"))) {
        // The content digest of 0030 against the same functions with the digest computation
        // swapped out, rounds alternating, one client: ledger.transaction_digests returning
        // nothing (a batch's events then carry no digest) and the encodings it and the single
        // path (0060: post_normalized digests the rows its inserts return) hash made empty.
        say(QStringLiteral("\n== the transaction digest's cost (0030, 0060): one client, rounds "
                           "alternating with and without"));
        QStringList original;
        for (const char *f : {"ledger.transaction_digests(bigint[])",
                              "ledger.transaction_head_encoding(ledger.transactions, bigint)",
                              "ledger.entry_encoding(ledger.entries)"})
            original.append(admin.scalar(
                QStringLiteral("SELECT pg_get_functiondef($1::regprocedure)"),
                {QString::fromLatin1(f)}));
        const QString without = QStringLiteral(
            "CREATE OR REPLACE FUNCTION ledger.transaction_digests(p_ids bigint[]) RETURNS TABLE "
            "(transaction_id bigint, digest bytea) LANGUAGE plpgsql STABLE SET search_path = "
            "pg_catalog, ledger SET plan_cache_mode = force_generic_plan AS $$ BEGIN RETURN; END "
            "$$; CREATE OR REPLACE FUNCTION ledger.transaction_head_encoding(t "
            "ledger.transactions, p_entries bigint) RETURNS bytea LANGUAGE sql STABLE AS $$ "
            "SELECT ''::pg_catalog.bytea $$; CREATE OR REPLACE FUNCTION "
            "ledger.entry_encoding(e ledger.entries) RETURNS bytea LANGUAGE sql STABLE AS $$ "
            "SELECT ''::pg_catalog.bytea $$");
        const auto swap = [&](bool digest) {
            for (const QString &sql : digest ? original : QStringList{without})
                if (const auto r = admin.exec(sql); !r.ok)
                    std::fprintf(stderr, "bench: %s\n", qPrintable(r.message));
        };
        std::atomic<qint64> keys{1000000000};
        QList<double> cpuWith, cpuWithout, rateWith, rateWithout, batchWith, batchWithout;
        constexpr int kRounds = 3;
        for (int round = 0; round < kRounds; ++round) {
            for (const bool digest : {round % 2 == 0, round % 2 != 0}) {
                swap(digest);
                const CpuRun single = serverCpu(writer, admin, seconds, 1, keys);
                const CpuRun batch = serverCpu(writer, admin, seconds, 1000, keys);
                (digest ? cpuWith : cpuWithout).append(single.serverCpuMs);
                (digest ? rateWith : rateWithout).append(single.perSecond);
                (digest ? batchWith : batchWithout).append(batch.perSecond);
                say(QStringLiteral("round %1 %2: single %3 ms server CPU/posting, %4/s; batch "
                                   "x1000 %5/s")
                        .arg(round + 1)
                        .arg(digest ? QStringLiteral("with   ") : QStringLiteral("without"))
                        .arg(single.serverCpuMs, 0, 'f', 3)
                        .arg(single.perSecond, 0, 'f', 0)
                        .arg(batch.perSecond, 0, 'f', 0));
            }
        }
        swap(true);
        auto median = [](QList<double> v) {
            std::sort(v.begin(), v.end());
            return v.at(v.size() / 2);
        };
        const double cpu = median(cpuWith) / median(cpuWithout);
        say(QStringLiteral("median: single %1 vs %2 ms server CPU per posting (x%3: %4); %5 vs "
                           "%6 postings/s; batches of 1000: %7 vs %8 postings/s (x%9)")
                .arg(median(cpuWith), 0, 'f', 3)
                .arg(median(cpuWithout), 0, 'f', 3)
                .arg(cpu, 0, 'f', 3)
                .arg(cpu < 1.10 ? QStringLiteral("under 10% more, met")
                                : QStringLiteral("10% or more, NOT met"))
                .arg(median(rateWith), 0, 'f', 0)
                .arg(median(rateWithout), 0, 'f', 0)
                .arg(median(batchWith), 0, 'f', 0)
                .arg(median(batchWithout), 0, 'f', 0)
                .arg(median(batchWith) / median(batchWithout), 0, 'f', 3));
    }

    if (!parser.isSet(QStringLiteral("skip-pit"))) {
        const qint64 big = parser.value(QStringLiteral("pit-entries")).toLongLong();
        const qint64 small = parser.value(QStringLiteral("pit-small")).toLongLong();
        say(QStringLiteral("\n== point-in-time balance (loading %1 and %2 entries ...)")
                .arg(big)
                .arg(small));
        QElapsedTimer load;
        load.start();
        // Server-side bulk loads (BenchCluster.h): 100 legs per transaction on the
        // measured account, 2% backdated, 0.5% future-dated.
        for (const auto &[code, entries] :
             {std::pair{QStringLiteral("SMALL"), small}, std::pair{QStringLiteral("BIG"), big}}) {
            if (const QString error = bench::loadBigAccount(admin, code, entries);
                !error.isEmpty()) {
                std::fprintf(stderr, "bench: loading %s failed: %s\n", qPrintable(code),
                             qPrintable(error));
                return 1;
            }
        }
        say(QStringLiteral("loaded in %1 s").arg(double(load.elapsed()) / 1000.0, 0, 'f', 1));

        // Random (E, K) over the account's life; warm = after one pass.
        // `mode` sets ledger.span_tree: "" lets balance_minor choose between the span tree and
        // the GiST stabs per account, "off" forces the GiST stabs (the way before 0017).
        auto timeBalances = [&](const QString &code, const char *function, int queries,
                                const QString &mode = {}) -> double {
            const QString sql = QStringLiteral("SET ledger.span_tree = '%1';").arg(mode) +
                                QStringLiteral(R"sql(
                DO $$
                DECLARE v_id bigint; v bigint; t0 timestamptz; total interval := interval '0';
                        e timestamptz; k timestamptz;
                BEGIN
                    SELECT id INTO v_id FROM ledger.accounts WHERE code = '%1';
                    PERFORM setseed(0.5);
                    FOR i IN 1..%3 LOOP
                        e := timestamptz '2021-01-01' + random() * interval '5 years 5 days';
                        k := CASE WHEN random() < 0.3 THEN e ELSE e + random() * interval '30 days' END;
                        t0 := clock_timestamp();
                        v := ledger.%2(v_id, e, k);
                        total := total + (clock_timestamp() - t0);
                    END LOOP;
                    PERFORM set_config('bench.result', (extract(epoch FROM total) * 1000 / %3)::text, false);
                END $$;
            )sql")
                                    .arg(code, QLatin1String(function))
                                    .arg(queries);
            SqlSession s(cluster.dsn());
            s.exec(sql); // warm-up pass
            s.exec(sql);
            return s.scalar(QStringLiteral("SELECT current_setting('bench.result')")).toDouble();
        };
        const double fastBig = timeBalances(QStringLiteral("BIG"), "balance_minor", 2000);
        const double fastSmall = timeBalances(QStringLiteral("SMALL"), "balance_minor", 2000);
        const double naiveBig = timeBalances(QStringLiteral("BIG"), "balance_minor_naive", 3);
        const double naiveSmall = timeBalances(QStringLiteral("SMALL"), "balance_minor_naive", 50);
        const double gistBig =
            timeBalances(QStringLiteral("BIG"), "balance_minor", 2000, QStringLiteral("off"));
        const double gistSmall =
            timeBalances(QStringLiteral("SMALL"), "balance_minor", 2000, QStringLiteral("off"));
        // Same answers, on the same random (E, K) (a correctness spot check of the bench data).
        const QString agree =
            admin.scalar(QStringLiteral("SELECT count(*) FILTER (WHERE ledger.balance_minor(a.id, "
                                        "e, k) <> ledger.balance_minor_naive(a.id, e, k)) "
                                        "FROM ledger.accounts a, LATERAL (SELECT timestamptz "
                                        "'2021-01-01' + random() * interval '5 years' AS e) x, "
                                        "LATERAL (SELECT x.e + random() * interval '10 days' AS k) "
                                        "y, generate_series(1, 3) WHERE a.code = 'BIG'"));
        say(QStringLiteral("%1 %2 %3 %4")
                .arg(QStringLiteral("account"), -24)
                .arg(QStringLiteral("O(log n) ms"), 12)
                .arg(QStringLiteral("naive ms"), 12)
                .arg(QStringLiteral("speed-up"), 10));
        say(QStringLiteral("%1 %2 %3 %4")
                .arg(QStringLiteral("%1 entries").arg(small), -24)
                .arg(fastSmall, 12, 'f', 4)
                .arg(naiveSmall, 12, 'f', 2)
                .arg(naiveSmall / fastSmall, 10, 'f', 0));
        say(QStringLiteral("%1 %2 %3 %4")
                .arg(QStringLiteral("%1 entries").arg(big), -24)
                .arg(fastBig, 12, 'f', 4)
                .arg(naiveBig, 12, 'f', 2)
                .arg(naiveBig / fastBig, 10, 'f', 0));
        say(QStringLiteral("%1 %2 %3 %4")
                .arg(QStringLiteral("GiST stabs only (as before 0017):"), -24)
                .arg(gistSmall, 12, 'f', 4)
                .arg(gistBig, 12, 'f', 4)
                .arg(QStringLiteral("%1x").arg(gistBig / gistSmall, 0, 'f', 2), 10));
        say(QStringLiteral("  (columns: %1 entries ms, %2 entries ms, ratio)").arg(small).arg(big));
        say(QStringLiteral("disagreements with the naive sum on 3 random (E, K): %1").arg(agree));
        say(QStringLiteral(
                "targets: < 1 ms warm at %1: %2   >= 100x naive: %3   %1 vs %4 < 3x: %5 (%6x)")
                .arg(big)
                .arg(fastBig < 1.0 ? QStringLiteral("met") : QStringLiteral("NOT met"))
                .arg(naiveBig / fastBig >= 100 ? QStringLiteral("met") : QStringLiteral("NOT met"))
                .arg(small)
                .arg(fastBig / fastSmall < 3 ? QStringLiteral("met") : QStringLiteral("NOT met"))
                .arg(fastBig / fastSmall, 0, 'f', 2));
    }
    return 0;
}
