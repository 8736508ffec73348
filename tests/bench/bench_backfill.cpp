// Backfill beside live posting (Step 12): a live writer posts single events
// (ledger.ingest_event, one transaction each) at a steady rate and times each call, first
// alone, then while old events are loaded into the same accounts (and the same contra
// account) two ways, in the same run:
//   - the naive way: `ledgerctl ingest --file` at full speed, batches of 500;
//   - `ledgerctl ingest --file --backfill`: batches of 50, pausing after each so that it
//     spends at most a quarter of its time in the database;
// and alone again at the end (what the ledger's growth alone changed).
// Printed: the live calls' P50, P95 and worst latency in each phase (while the load runs),
// their ratio to the live writer alone, and each load's events per second.
//   build/release/tests/bench/bench_backfill [--events N] [--rate R] [--seconds S]

#include "BenchCluster.h"
#include "SqlSession.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QThread>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

using namespace ledger;
using bench::say;
using test::SqlSession;

namespace {

constexpr int kAccounts = 200;

QByteArray event(const QString &id, int account)
{
    return QStringLiteral("{\"event_id\": \"%1\", \"type\": \"income\", \"account\": \"B-%2\", "
                          "\"amount\": \"1.00\", \"currency\": \"EUR\", \"occurred_at\": "
                          "\"2026-11-20T10:00:00Z\", \"contra_account\": \"B-CASH\"}")
        .arg(id)
        .arg(account)
        .toUtf8();
}

struct Latencies
{
    std::vector<double> ms;
    int failures = 0;
    double percentile(double p) const
    {
        if (ms.empty())
            return 0;
        std::vector<double> sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        return sorted[std::min(sorted.size() - 1, size_t(p * double(sorted.size())))];
    }
    double worst() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }
};

// Live postings at `rate` per second until `stop`, each call timed.
void live(const QString &dsn, int rate, const QString &prefix, const std::atomic<bool> &stop,
          Latencies *out)
{
    SqlSession session(dsn);
    QRandomGenerator rng(42);
    QElapsedTimer clock;
    clock.start();
    for (qint64 i = 0; !stop.load(); ++i) {
        const qint64 due = i * 1000 / rate;
        while (clock.elapsed() < due && !stop.load())
            QThread::msleep(1);
        QElapsedTimer call;
        call.start();
        const auto r =
            session.exec(QStringLiteral("SELECT ledger.ingest_event($1::jsonb)"),
                         {QString::fromUtf8(event(QStringLiteral("%1-%2").arg(prefix).arg(i),
                                                  int(rng.bounded(kAccounts))))});
        out->ms.push_back(double(call.nsecsElapsed()) / 1e6);
        if (!r.ok && ++out->failures == 1)
            std::fprintf(stderr, "bench: live: %s\n", qPrintable(r.message));
    }
}

// The live writer while `load` runs (at most `seconds`; the load is then left to finish):
// its latencies, and the load's events per second.
struct Phase
{
    Latencies live;
    double loadRate = 0;
    bool ok = true;
};

Phase runPhase(const QString &dsn, int rate, const QString &livePrefix, const QStringList &load,
               const QString &file, qint64 events, double seconds)
{
    Phase phase;
    std::atomic<bool> stop{false};
    std::thread writer([&] { live(dsn, rate, livePrefix, stop, &phase.live); });
    QElapsedTimer loadTime;
    loadTime.start();
    if (load.isEmpty()) {
        QThread::msleep(ulong(seconds * 1000));
        stop.store(true);
        writer.join();
        return phase;
    }
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("LEDGER_DSN"), dsn);
    p.setProcessEnvironment(env);
    p.setStandardInputFile(file);
    p.start(QStringLiteral(LEDGERCTL_PATH), load);
    const bool finishedInTime = p.waitForFinished(int(seconds * 1000));
    stop.store(true);
    writer.join();
    if (!finishedInTime)
        p.waitForFinished(-1);
    phase.loadRate = double(events) / (double(loadTime.elapsed()) / 1000.0);
    phase.ok = p.exitCode() == 0 && phase.live.failures == 0;
    if (p.exitCode() != 0)
        std::fprintf(stderr, "bench: ledgerctl %s: %s\n", qPrintable(load.join(QLatin1Char(' '))),
                     p.readAllStandardError().constData());
    return phase;
}

QString describe(const Latencies &l)
{
    return QStringLiteral("%1 calls: P50 %2 ms, P95 %3 ms, worst %4 ms")
        .arg(l.ms.size())
        .arg(l.percentile(0.5), 0, 'f', 1)
        .arg(l.percentile(0.95), 0, 'f', 1)
        .arg(l.worst(), 0, 'f', 1);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Live posting latency beside a backfill."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("events"), QStringLiteral("Events per load (default 20000)."),
                      QStringLiteral("N"), QStringLiteral("20000")});
    parser.addOption({QStringLiteral("rate"),
                      QStringLiteral("Live postings per second (default 100)."),
                      QStringLiteral("R"), QStringLiteral("100")});
    parser.addOption(
        {QStringLiteral("seconds"),
         QStringLiteral("Most seconds the live writer is measured per phase (default 20)."),
         QStringLiteral("S"), QStringLiteral("20")});
    parser.addOption({QStringLiteral("backfill-batch"),
                      QStringLiteral("The backfill's --batch-size (default: its own, 50)."),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("backfill-share"),
                      QStringLiteral("The backfill's --backfill-share (default: its own, 25)."),
                      QStringLiteral("PERCENT")});
    parser.process(app);
    const qint64 events =
        std::max<qint64>(1000, parser.value(QStringLiteral("events")).toLongLong());
    const int rate = std::clamp(parser.value(QStringLiteral("rate")).toInt(), 1, 2000);
    const double seconds = std::max(5.0, parser.value(QStringLiteral("seconds")).toDouble());

    bench::BenchCluster cluster(QStringLiteral("backfill"));
    if (auto s = cluster.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return 1;
    }
    const QString dsn = cluster.dsn();
    SqlSession admin(dsn);
    const auto opened = admin.exec(
        QStringLiteral(
            "SELECT ledger.open_account('B-CASH', 'Cash', 'EUR', 'asset'), "
            "count(ledger.open_account('B-' || g, 'Customer ' || g, 'EUR', 'liability')) "
            "FROM generate_series(0, %1) g")
            .arg(kAccounts - 1));
    if (!opened.ok) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(opened.message));
        return 1;
    }
    QTemporaryDir dir;
    const auto writeLoad = [&](const QString &prefix) {
        QFile f(dir.filePath(prefix + QStringLiteral(".ndjson")));
        if (!f.open(QIODevice::WriteOnly))
            return QString();
        for (qint64 i = 0; i < events; ++i)
            f.write(event(QStringLiteral("%1-%2").arg(prefix).arg(i), int(i % kAccounts)) + '\n');
        return f.fileName();
    };
    const QString bulkFile = writeLoad(QStringLiteral("bulk"));
    const QString backfillFile = writeLoad(QStringLiteral("backfill"));
    say(QStringLiteral(
            "live: %1 single postings/s on %2 accounts and one contra account; loads of %3 "
            "events into the same accounts; %4 cores")
            .arg(rate)
            .arg(kAccounts)
            .arg(events)
            .arg(QThread::idealThreadCount()));

    const Phase alone = runPhase(dsn, rate, QStringLiteral("live-a"), {}, {}, 0, seconds);
    say(QStringLiteral("live alone:             %1").arg(describe(alone.live)));
    const QStringList ingest{QStringLiteral("ingest"), QStringLiteral("--file"),
                             QStringLiteral("-")};
    const Phase bulk =
        runPhase(dsn, rate, QStringLiteral("live-b"),
                 ingest + QStringList{QStringLiteral("--batch-size"), QStringLiteral("500")},
                 bulkFile, events, seconds);
    say(QStringLiteral("with ingest --file:     %1; load %2 events/s")
            .arg(describe(bulk.live))
            .arg(bulk.loadRate, 0, 'f', 0));
    QStringList backfillOptions{QStringLiteral("--backfill")};
    if (parser.isSet(QStringLiteral("backfill-batch")))
        backfillOptions << QStringLiteral("--batch-size")
                        << parser.value(QStringLiteral("backfill-batch"));
    if (parser.isSet(QStringLiteral("backfill-share")))
        backfillOptions << QStringLiteral("--backfill-share")
                        << parser.value(QStringLiteral("backfill-share"));
    const Phase backfill = runPhase(dsn, rate, QStringLiteral("live-c"), ingest + backfillOptions,
                                    backfillFile, events, seconds);
    say(QStringLiteral("with ingest %3: %1; load %2 events/s")
            .arg(describe(backfill.live))
            .arg(backfill.loadRate, 0, 'f', 0)
            .arg(backfillOptions.join(QLatin1Char(' '))));
    // Alone again: what the ledger's growth alone did to the live calls.
    const Phase after = runPhase(dsn, rate, QStringLiteral("live-d"), {}, {}, 0, seconds);
    say(QStringLiteral("live alone, after:      %1").arg(describe(after.live)));
    const double base = std::max(0.001, alone.live.percentile(0.95));
    say(QStringLiteral(
            "live P95 against alone: %1x with the full-speed load, %2x with the backfill")
            .arg(bulk.live.percentile(0.95) / base, 0, 'f', 2)
            .arg(backfill.live.percentile(0.95) / base, 0, 'f', 2));
    const QString posted =
        admin.scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE external_ref "
                                    "LIKE 'bulk-%' OR external_ref LIKE 'backfill-%'"));
    if (posted.toLongLong() != 2 * events) {
        std::fprintf(stderr, "bench: the loads posted %s of %lld events\n", qPrintable(posted),
                     static_cast<long long>(2 * events));
        return 1;
    }
    return alone.ok && bulk.ok && backfill.ok && after.ok ? 0 : 1;
}
