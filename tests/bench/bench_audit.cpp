// Audit trail benchmark: prints figures and ratios measured in the same run. Not a test:
// no timed assertions; targets are compared and reported.
//
//   bench_audit [--seconds S] [--clients C] [--rounds R] [--events N] [--skip-posting]
//               [--skip-verify]
//
// Starts its own durable throwaway cluster (fsync on, as in production), then:
//  1. postings/s with C clients (default 8) on random accounts and on one hot account, in three
//     databases of the same cluster: audit off (audit.record_as replaced by a no-op: what
//     the ledger would cost with no audit at all), events without the chain (the sealing
//     trigger disabled: Step 2's audit), and the hash-chained audit as shipped. The three
//     are interleaved over R rounds so that drift hits them alike.
//  2. verification of a chain of N events (default 1M): the C++ verifier end to end (seal
//     check, read, hash, record) beside the SQL verifier, and the time to seal them.

#include "BenchCluster.h"
#include "SqlSession.h"
#include "audit/ChainVerifier.h"
#include "cluster/LocalCluster.h"
#include "db/AuditRepository.h"
#include "db/Connection.h"
#include "db/DatabaseAdmin.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/Migrator.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include <unistd.h>

using namespace ledger;
using bench::say;
using test::SqlSession;

namespace {

constexpr int kAccounts = 10000;

// Postings per second with `clients` threads for `seconds`.
double measure(const QString &dsn, int clients, double seconds, bool hot, std::atomic<qint64> &keys)
{
    std::atomic<qint64> posted{0}, errors{0};
    std::atomic<bool> stop{false};
    std::barrier start(clients + 1);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            Connection connection(dsn, QStringLiteral("bench"));
            std::mt19937 rng(std::random_device{}() + c);
            start.arrive_and_wait();
            while (!stop.load(std::memory_order_relaxed)) {
                const int a = 1 + int(rng() % kAccounts);
                const int b = 1 + int((a + rng() % (kAccounts - 1)) % kAccounts);
                const QString from = hot ? QStringLiteral("HOT") : QStringLiteral("B-%1").arg(a);
                const QByteArray request =
                    QStringLiteral(
                        R"({"idempotency_key": "k-%1", "effective_at": "%2", "description": "bench",
                    "legs": [{"account": "%3", "amount": "-1.00", "currency": "EUR"}, {"account": "B-%4", "amount": "1.00", "currency": "EUR"}]})")
                        .arg(++keys)
                        .arg(QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs), from)
                        .arg(b)
                        .toUtf8();
                try {
                    LedgerRepository::post(connection, request);
                    ++posted;
                } catch (const DbException &e) {
                    if (++errors < 3)
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
    return double(posted.load()) / (double(timer.nsecsElapsed()) / 1e9);
}

// Server CPU per posting, one client posting n transactions in a row: the backend's own
// user+system time from /proc (the bench runs the cluster on this machine). Unlike
// throughput, hardly moved by whatever else the machine is doing.
double cpuMillisPerPosting(const QString &dsn, const QString &adminDsn, int n,
                           std::atomic<qint64> &keys)
{
    const QString application = QStringLiteral("bench-cpu-%1").arg(++keys);
    Connection connection(dsn, application);
    SqlSession admin(adminDsn);
    const QString pid =
        admin.scalar(QStringLiteral("SELECT pid FROM pg_stat_activity WHERE application_name = $1"),
                     {application});
    auto cpuTicks = [&pid] {
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly))
            return qint64(-1);
        const QByteArray text = stat.readAll();
        // Fields after the command name (which may hold spaces) in parentheses.
        const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
        return fields.value(11).toLongLong() + fields.value(12).toLongLong(); // utime, stime
    };
    std::mt19937 rng(7);
    const qint64 before = cpuTicks();
    for (int i = 0; i < n; ++i) {
        const int a = 1 + int(rng() % kAccounts);
        const int b = 1 + int((a + rng() % (kAccounts - 1)) % kAccounts);
        LedgerRepository::post(
            connection,
            QStringLiteral(
                R"({"idempotency_key": "cpu-%1", "effective_at": "2026-11-20T10:00:00Z", "description": "bench",
                "legs": [{"account": "B-%2", "amount": "-1.00", "currency": "EUR"}, {"account": "B-%3", "amount": "1.00", "currency": "EUR"}]})")
                .arg(++keys)
                .arg(a)
                .arg(b)
                .toUtf8());
    }
    const qint64 after = cpuTicks();
    if (before < 0 || after < 0)
        return -1;
    return 1000.0 * double(after - before) / double(sysconf(_SC_CLK_TCK)) / n;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Audit trail benchmark."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("seconds"),
                      QStringLiteral("Seconds per posting measurement (default 5)."),
                      QStringLiteral("S"), QStringLiteral("5")});
    parser.addOption({QStringLiteral("clients"),
                      QStringLiteral("Concurrent posting clients (default 8)."),
                      QStringLiteral("N"), QStringLiteral("8")});
    parser.addOption({QStringLiteral("rounds"),
                      QStringLiteral("Interleaved rounds of the three set-ups (default 3)."),
                      QStringLiteral("R"), QStringLiteral("3")});
    parser.addOption({QStringLiteral("events"),
                      QStringLiteral("Events in the chain to verify (default 1000000)."),
                      QStringLiteral("N"), QStringLiteral("1000000")});
    parser.addOption({QStringLiteral("skip-posting"), QStringLiteral("Skip the posting part.")});
    parser.addOption({QStringLiteral("skip-verify"), QStringLiteral("Skip the verify part.")});
    parser.process(app);
    const double seconds = parser.value(QStringLiteral("seconds")).toDouble();
    const int rounds = qMax(1, parser.value(QStringLiteral("rounds")).toInt());
    const int clients = qBound(1, parser.value(QStringLiteral("clients")).toInt(), 64);
    const qint64 events = parser.value(QStringLiteral("events")).toLongLong();

    auto fail = [](const Error &e) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(e.describe()));
        return 1;
    };
    bench::BenchCluster bench(QStringLiteral("audit"));
    if (auto s = bench.start(); !s)
        return fail(s.error());
    LocalCluster &cluster = bench.cluster();

    const QStringList setups{QStringLiteral("audit off"), QStringLiteral("events, no chain"),
                             QStringLiteral("hash-chained")};
    const QStringList databases{QStringLiteral("ledger_noaudit"), QStringLiteral("ledger_nochain"),
                                QStringLiteral("ledger")};
    try {
        Connection admin(cluster.dsn());
        {
            Connection postgres(cluster.dsn({}, QStringLiteral("postgres")));
            for (const QString &db : databases.mid(0, 2))
                DatabaseAdmin::createDatabaseIfMissing(postgres, db, QStringLiteral("test"));
        }
        for (const QString &db : databases.mid(0, 2)) {
            Connection c(cluster.dsn({}, db));
            Migrator(c, MigrationSet::builtIn().value()).migrate();
        }
        DatabaseAdmin::ensureLoginRole(admin, QStringLiteral("bench_writer"),
                                       QStringLiteral("bench"), QStringLiteral("ledger_writer"));
        DatabaseAdmin::ensureLoginRole(admin, QStringLiteral("bench_auditor"),
                                       QStringLiteral("bench"), QStringLiteral("console_auditor"));
    } catch (const DbException &e) {
        return fail(e.error());
    }
    say(QStringLiteral("cluster: %1 (durable: fsync on, synchronous_commit on), %2 cores")
            .arg(bench.path())
            .arg(std::thread::hardware_concurrency()));

    if (!parser.isSet(QStringLiteral("skip-posting"))) {
        for (const QString &db : databases) {
            SqlSession s(cluster.dsn({}, db));
            s.exec(QStringLiteral("SELECT count(ledger.open_account('B-' || i, 'Bench ' || i, "
                                  "'EUR', 'asset')) FROM generate_series(1, %1) i")
                       .arg(kAccounts));
            s.exec(
                QStringLiteral("SELECT ledger.open_account('HOT', 'Hot account', 'EUR', 'asset')"));
        }
        {
            // Audit off: the single writer becomes a no-op (bench database only).
            SqlSession s(cluster.dsn({}, databases[0]));
            const auto r = s.exec(QStringLiteral(
                "CREATE OR REPLACE FUNCTION audit.record_as(p_operator text, p_session_role text, "
                "p_action text, p_object_type text, p_object_id text, p_details jsonb, "
                "p_client_info jsonb) RETURNS bigint LANGUAGE sql AS 'SELECT NULL::bigint'"));
            if (!r.ok)
                std::fprintf(stderr, "bench: %s\n", qPrintable(r.message));
            // Events without the chain: as before Step 4.
            SqlSession n(cluster.dsn({}, databases[1]));
            const auto r2 =
                n.exec(QStringLiteral("ALTER TABLE audit.events DISABLE TRIGGER events_seal"));
            if (!r2.ok)
                std::fprintf(stderr, "bench: %s\n", qPrintable(r2.message));
        }
        say(QStringLiteral("\n== postings/s, %1 clients, %2 s per run, %3 interleaved rounds")
                .arg(clients)
                .arg(seconds)
                .arg(rounds));
        std::atomic<qint64> keys{0};
        QList<double> random(3, 0.0), hot(3, 0.0);
        for (int round = 0; round < rounds; ++round) {
            for (int i = 0; i < 3; ++i) {
                const QString dsn = cluster.dsn(QStringLiteral("bench_writer"), databases[i]) +
                                    QStringLiteral(" password=bench");
                const double r = measure(dsn, clients, seconds, false, keys);
                const double h = measure(dsn, clients, seconds, true, keys);
                random[i] += r / rounds;
                hot[i] += h / rounds;
                say(QStringLiteral("  round %1  %2  random %3/s  hot %4/s")
                        .arg(round + 1)
                        .arg(setups[i], -18)
                        .arg(r, 7, 'f', 0)
                        .arg(h, 7, 'f', 0));
            }
        }
        say(QStringLiteral("%1 %2 %3")
                .arg(QStringLiteral("set-up"), -20)
                .arg(QStringLiteral("random/s"), 10)
                .arg(QStringLiteral("hot/s"), 10));
        for (int i = 0; i < 3; ++i)
            say(QStringLiteral("%1 %2 %3")
                    .arg(setups[i], -20)
                    .arg(random[i], 10, 'f', 0)
                    .arg(hot[i], 10, 'f', 0));
        // The robust figure: server CPU per posting, one client, 3000 postings each.
        QList<double> cpu(3, 0.0);
        for (int round = 0; round < 2; ++round) {
            for (int i = 0; i < 3; ++i) {
                const QString dsn = cluster.dsn(QStringLiteral("bench_writer"), databases[i]) +
                                    QStringLiteral(" password=bench");
                cpu[i] += cpuMillisPerPosting(dsn, cluster.dsn({}, databases[i]), 1500, keys);
            }
        }
        say(QStringLiteral("server CPU per posting (one client, 3000 postings): off %1 ms, "
                           "events %2 ms, chained %3 ms — the chained audit costs %4% of the "
                           "CPU of a posting without audit")
                .arg(cpu[0] / 2, 0, 'f', 3)
                .arg(cpu[1] / 2, 0, 'f', 3)
                .arg(cpu[2] / 2, 0, 'f', 3)
                .arg(100.0 * (cpu[2] - cpu[0]) / cpu[0], 0, 'f', 1));
        const double costRandom = 100.0 * (1.0 - random[2] / random[0]);
        const double costHot = 100.0 * (1.0 - hot[2] / hot[0]);
        say(QStringLiteral("audit cost vs off: random %1%, hot %2% (target: at most 20%) — %3")
                .arg(costRandom, 0, 'f', 1)
                .arg(costHot, 0, 'f', 1)
                .arg(costRandom <= 20 && costHot <= 20 ? QStringLiteral("met")
                                                       : QStringLiteral("NOT met")));
        say(QStringLiteral("of which the chain (vs events without it): random %1%, hot %2%")
                .arg(100.0 * (1.0 - random[2] / random[1]), 0, 'f', 1)
                .arg(100.0 * (1.0 - hot[2] / hot[1]), 0, 'f', 1));
    }

    if (!parser.isSet(QStringLiteral("skip-verify"))) {
        SqlSession s(cluster.dsn());
        say(QStringLiteral("\n== verifying a chain of %1 events").arg(events));
        QElapsedTimer t;
        t.start();
        // Realistic rows: an operator, a session role, an action, an object and ~150 bytes
        // of details, as the posting functions write.
        const auto ins = s.exec(
            QStringLiteral(
                "INSERT INTO audit.events (operator, session_role, action, object_type, object_id, "
                "details, client_info) SELECT 'op' || (g % 50), 'lc_s_op' || (g % 50) || '_x7k2', "
                "(ARRAY['transaction.posted','balance.asked','account.history_opened','reversal."
                "requested'])[1 + g % 4], 'transaction', g::text, jsonb_build_object('key', "
                "'bench-' "
                "|| g, 'amount', (g % 100000)::text || '.00', 'currency', 'EUR', 'legs', 2, "
                "'effective_at', '2026-11-20T10:00:00Z'), '{\"application\": \"ledger-console\"}' "
                "FROM generate_series(1, %1) g")
                .arg(events));
        if (!ins.ok)
            std::fprintf(stderr, "bench: %s\n", qPrintable(ins.message));
        const double inserted = double(t.nsecsElapsed()) / 1e9;
        say(QStringLiteral("inserted and sealed at commit (one transaction): %1 s")
                .arg(inserted, 0, 'f', 2));
        try {
            Connection auditor(cluster.dsn(QStringLiteral("bench_auditor")) +
                               QStringLiteral(" password=bench"));
            const auto head = AuditRepository::head(auditor);
            say(QStringLiteral("chain head: sequence %1, unsealed %2")
                    .arg(head.seq)
                    .arg(head.unsealed));
            // Warm the cache once, as a verifier run on a live server would find it.
            (void)AuditRepository::verifyInSql(auditor);
            const VerificationResult client = verifyChain(auditor, {});
            t.restart();
            const auto sql = AuditRepository::verifyInSql(auditor);
            const double sqlSeconds = double(t.nsecsElapsed()) / 1e9;
            t.restart();
            const VerificationResult client2 = verifyChain(auditor, {});
            const double clientSeconds = double(t.nsecsElapsed()) / 1e9;
            say(QStringLiteral("C++ verifier (read + hash, end to end): %1 s for %2 events — %3 "
                               "(first run %4 s) — target under 3 s: %5")
                    .arg(clientSeconds, 0, 'f', 2)
                    .arg(client2.eventsChecked)
                    .arg(client2.summary())
                    .arg(client.seconds, 0, 'f', 2)
                    .arg(clientSeconds < 3 ? QStringLiteral("met") : QStringLiteral("NOT met")));
            say(QStringLiteral("SQL verifier (audit.verify_chain):      %1 s for %2 events%3")
                    .arg(sqlSeconds, 0, 'f', 2)
                    .arg(sql.eventsChecked)
                    .arg(sql.brokenAt ? QStringLiteral(" — broken: ") + sql.reason : QString()));
            say(QStringLiteral("C++ vs SQL: %1x").arg(sqlSeconds / clientSeconds, 0, 'f', 1));
            // Where the C++ time goes: reading alone (one connection), hashing alone.
            std::vector<AuditRepository::ChainRow> rows;
            rows.reserve(size_t(head.seq));
            t.restart();
            AuditRepository::readChain(auditor, 0, head.seq, 4000, [&](auto &&batch) {
                for (auto &row : batch)
                    rows.push_back(std::move(row));
                return true;
            });
            const double readSeconds = double(t.nsecsElapsed()) / 1e9;
            t.restart();
            ChainVerifier alone;
            for (const auto &row : rows)
                alone.feed(row);
            const double hashSeconds = double(t.nsecsElapsed()) / 1e9;
            say(QStringLiteral("  of which: reading %1 rows on one connection %2 s; hashing and "
                               "checking them %3 s (%4)")
                    .arg(rows.size())
                    .arg(readSeconds, 0, 'f', 2)
                    .arg(hashSeconds, 0, 'f', 2)
                    .arg(alone.finish().summary()));
            // The naive way to read it: one query per event.
            t.restart();
            const int sample = 20000;
            AuditRepository::readChain(auditor, 0, sample, 1, [](auto &&) { return true; });
            const double perRow = double(t.nsecsElapsed()) / 1e9 / sample;
            say(QStringLiteral("naive read (one round trip per event): %1 s per 1M events "
                               "(measured on %2), %3x slower than batched C++")
                    .arg(perRow * 1e6, 0, 'f', 1)
                    .arg(sample)
                    .arg(perRow * double(client2.eventsChecked) / clientSeconds, 0, 'f', 1));
        } catch (const DbException &e) {
            return fail(e.error());
        }
    }
    return 0;
}
