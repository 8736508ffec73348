// Ledger benchmark: prints figures and ratios against the naive way, measured in the same
// run. Not a test: no timed assertions; targets are compared and reported.
//
//   bench_ledger [--seconds S] [--pit-entries N] [--pit-small N] [--skip-pit] [--skip-posting]
//                [--skip-digest]
//
// Starts its own durable throwaway cluster (fsync on, as in production), then:
//  1. postings/s with 1, 2 and 8 clients on random accounts and on one hot account, one
//     posting per call (ledger.post_transaction), then set-based batches of 100 and 1,000
//     (ledger.post_batch), each with its ratio to single postings measured in the same run;
//  2. the transaction digest's cost (0030): a single posting's server CPU and batches of
//     1,000 per second with the digest and with its computation swapped out, alternating;
//  3. point-in-time balance on an account with N entries (default 10M) and one with 100k:
//     warm latency of the O(log n) function vs the naive sum over all entries.

#include "BenchCluster.h"
#include "SqlSession.h"
#include "cluster/LocalCluster.h"
#include "db/Connection.h"
#include "db/DatabaseAdmin.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"

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
#include <random>
#include <thread>

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

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Ledger posting and point-in-time balance benchmark."));
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
    parser.process(app);
    const double seconds = parser.value(QStringLiteral("seconds")).toDouble();

    auto fail = [](const Error &e) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(e.describe()));
        return 1;
    };
    bench::BenchCluster bench(QStringLiteral("ledger"));
    if (auto s = bench.start(); !s)
        return fail(s.error());
    LocalCluster &cluster = bench.cluster();
    try {
        Connection admin(cluster.dsn());
        DatabaseAdmin::ensureLoginRole(admin, QStringLiteral("bench_writer"),
                                       QStringLiteral("bench"), QStringLiteral("ledger_writer"));
    } catch (const DbException &e) {
        return fail(e.error());
    }
    const QString writer =
        cluster.dsn(QStringLiteral("bench_writer")) + QStringLiteral(" password=bench");
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
        // swapped out (ledger.transaction_digests returning nothing: the events then carry
        // no digest), rounds alternating, one client.
        say(QStringLiteral("\n== the transaction digest's cost (0030): one client, rounds "
                           "alternating with and without"));
        const QString original = admin.scalar(QStringLiteral(
            "SELECT pg_get_functiondef('ledger.transaction_digests(bigint[])'::regprocedure)"));
        const QString without = QStringLiteral(
            "CREATE OR REPLACE FUNCTION ledger.transaction_digests(p_ids bigint[]) RETURNS TABLE "
            "(transaction_id bigint, digest bytea) LANGUAGE plpgsql STABLE SET search_path = "
            "pg_catalog, ledger SET plan_cache_mode = force_generic_plan AS $$ BEGIN RETURN; END "
            "$$");
        std::atomic<qint64> keys{1000000000};
        QList<double> cpuWith, cpuWithout, rateWith, rateWithout, batchWith, batchWithout;
        constexpr int kRounds = 3;
        for (int round = 0; round < kRounds; ++round) {
            for (const bool digest : {round % 2 == 0, round % 2 != 0}) {
                admin.exec(digest ? original : without);
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
        admin.exec(original);
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
