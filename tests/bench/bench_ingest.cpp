// Kafka to ledger (Step 12): librdkafka's mock cluster (8 partitions) feeding the ledger
// through `ledgerctl ingest --kafka` (set-based batches per partition, positions in the same
// transaction), with 1 and 2 consumers of one group, against the naive way measured in the
// same run: one consumer posting each message in a transaction of its own
// (ledger.ingest_event) and committing its offset to Kafka after each.
//   1. Backlog: N events waiting on the broker; events per second until the last is posted.
//   2. Paced: events produced at R per second for S seconds while the consumers run; the
//      latency from produce (the time the producer stamped into the event) to the posting's
//      recorded time, P50 and P95, and the rate sustained. The seed architecture's own figures
//      are the yardstick: 5,000 events/s sustained, P95 under 60 s to queryable.
// All of it on one machine: the broker, the producer, the consumers and PostgreSQL share its
// cores.
//   build/release/tests/bench/bench_ingest [--events N] [--rate R] [--seconds S]

#include "BenchCluster.h"
#include "MockKafka.h"
#include "SqlSession.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QThread>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

using namespace ledger;
using bench::say;
using test::MockKafka;
using test::SqlSession;

namespace {

constexpr int kPartitions = 8;
constexpr int kAccounts = 64;
const char *kTopic = "bench-events";

// One income event; the account decides the partition (an account's events stay in order).
QByteArray event(const QString &id, int account, qint64 producedMs)
{
    return QStringLiteral(
               R"({"event_id": "%1", "type": "income", "account": "K-%2", "amount": "1.00", "currency": "EUR", "occurred_at": "2026-11-20T10:00:00Z", "contra_account": "K-CASH", "description": "%3"})")
        .arg(id)
        .arg(account)
        .arg(producedMs)
        .toUtf8();
}

bool produceBacklog(MockKafka &kafka, const QString &prefix, qint64 count)
{
    for (qint64 i = 0; i < count; ++i) {
        const int account = int(i % kAccounts);
        if (!kafka.enqueue(account % kPartitions,
                           event(QStringLiteral("%1-%2").arg(prefix).arg(i), account, 0)))
            return false;
        if (i % 1000 == 0)
            kafka.poll();
    }
    return kafka.flush();
}

// `consumers` ledgerctl processes of one group, until each has been idle for 3 s. Each
// one's progress lines go to <temp>/bench_ingest-<group>-<n>.log; `left` gets the messages
// they left on the broker at exit (their --json lag, summed).
bool runIngesters(const QString &dsn, const QString &bootstraps, int consumers,
                  const QString &group, int batchSize, qint64 *left)
{
    *left = 0;
    std::vector<std::unique_ptr<QProcess>> processes;
    for (int c = 0; c < consumers; ++c) {
        auto p = std::make_unique<QProcess>();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_DSN"), dsn);
        p->setProcessEnvironment(env);
        // To files (pipes would fill while another process is waited for).
        const QString log =
            QDir::temp().filePath(QStringLiteral("bench_ingest-%1-%2").arg(group).arg(c));
        p->setStandardOutputFile(log + QStringLiteral(".json"));
        p->setStandardErrorFile(log + QStringLiteral(".log"));
        p->start(QStringLiteral(LEDGERCTL_PATH),
                 {QStringLiteral("ingest"), QStringLiteral("--kafka"), bootstraps,
                  QStringLiteral("--topic"), QString::fromLatin1(kTopic), QStringLiteral("--group"),
                  group, QStringLiteral("--until-idle"), QStringLiteral("3"),
                  QStringLiteral("--batch-size"), QString::number(batchSize),
                  QStringLiteral("--json")});
        if (!p->waitForStarted())
            return false;
        processes.push_back(std::move(p));
    }
    bool ok = true;
    for (int c = 0; c < consumers; ++c) {
        QProcess &p = *processes[size_t(c)];
        ok = p.waitForFinished(3600 * 1000) && p.exitCode() == 0 && ok;
        if (p.exitCode() != 0)
            std::fprintf(stderr, "bench: ledgerctl ingest exited with %d\n", p.exitCode());
        QFile out(
            QDir::temp().filePath(QStringLiteral("bench_ingest-%1-%2.json").arg(group).arg(c)));
        if (out.open(QIODevice::ReadOnly)) {
            const QJsonObject lag = QJsonDocument::fromJson(out.readAll())
                                        .object()
                                        .value(QStringLiteral("lag"))
                                        .toObject();
            for (const QJsonValue &n : lag)
                *left += qMax<qint64>(0, n.toInteger());
        }
    }
    return ok;
}

// The naive consumer: each message posted in its own transaction, its offset committed to
// Kafka after it, until `count` messages were taken.
bool runNaive(const QString &dsn, const QString &bootstraps, qint64 count)
{
    char text[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const auto set = [&](const char *key, const QByteArray &value) {
        return rd_kafka_conf_set(conf, key, value.constData(), text, sizeof text) ==
               RD_KAFKA_CONF_OK;
    };
    if (!set("bootstrap.servers", bootstraps.toUtf8()) || !set("group.id", "naive") ||
        !set("enable.auto.commit", "false") || !set("auto.offset.reset", "earliest")) {
        rd_kafka_conf_destroy(conf);
        return false;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, text, sizeof text);
    if (!rk)
        return false;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, kTopic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    SqlSession session(dsn);
    qint64 taken = 0;
    bool ok = true;
    QElapsedTimer quiet; // a minute without a message: the broker is gone
    quiet.start();
    while (taken < count && ok) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m) {
            ok = quiet.elapsed() < 60000;
            continue;
        }
        quiet.restart();
        if (!m->err) {
            const auto r = session.exec(
                QStringLiteral("SELECT ledger.ingest_event($1::jsonb, '1000-CASH-{currency}')"),
                {QString::fromUtf8(static_cast<const char *>(m->payload), int(m->len))});
            ok = r.ok;
            if (!r.ok)
                std::fprintf(stderr, "bench: naive: %s\n", qPrintable(r.message));
            rd_kafka_commit_message(rk, m, 0);
            ++taken;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return ok;
}

// Events posted under a prefix, and the seconds from `since` to the last one's recorded time.
struct Posted
{
    qint64 count = 0;
    double seconds = 0;
};

Posted postedSince(SqlSession &admin, const QString &prefix, const QDateTime &since)
{
    const auto r = admin.exec(
        QStringLiteral("SELECT count(*), extract(epoch FROM max(recorded_at) - $2::timestamptz) "
                       "FROM ledger.transactions WHERE external_ref LIKE $1 || '-%'"),
        {prefix, since.toString(Qt::ISODateWithMs)});
    if (!r.ok || r.rows.isEmpty())
        return {};
    return {r.rows[0][0].toLongLong(), r.rows[0][1].toDouble()};
}

// What the consumers left on the broker when they stopped idle, if anything.
QString stoppedEarly(qint64 left, const QString &logs)
{
    return left == 0 ? QString()
                     : QStringLiteral("; %1 left on the broker when the consumers stopped (%2)")
                           .arg(left)
                           .arg(logs);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Kafka to ledger: events/s and latency."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("events"),
                      QStringLiteral("Backlog events per run (default 100000)."),
                      QStringLiteral("N"), QStringLiteral("100000")});
    parser.addOption({QStringLiteral("rate"),
                      QStringLiteral("Paced events per second (default 5000)."),
                      QStringLiteral("R"), QStringLiteral("5000")});
    parser.addOption({QStringLiteral("seconds"),
                      QStringLiteral("Seconds of paced producing (default 20)."),
                      QStringLiteral("S"), QStringLiteral("20")});
    parser.addOption({QStringLiteral("batch-size"),
                      QStringLiteral("ledgerctl ingest --batch-size (default 500)."),
                      QStringLiteral("N"), QStringLiteral("500")});
    parser.process(app);
    const int batchSize = std::max(1, parser.value(QStringLiteral("batch-size")).toInt());
    const qint64 events =
        std::max<qint64>(1000, parser.value(QStringLiteral("events")).toLongLong());
    const int rate = std::max(100, parser.value(QStringLiteral("rate")).toInt());
    const double seconds = std::max(2.0, parser.value(QStringLiteral("seconds")).toDouble());
    const qint64 naiveEvents = std::min<qint64>(events, 20000);

    bench::BenchCluster cluster(QStringLiteral("ingest"));
    if (auto s = cluster.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return 1;
    }
    const QString dsn = cluster.dsn();
    SqlSession admin(dsn);
    const auto opened = admin.exec(
        QStringLiteral(
            "SELECT ledger.open_account('K-CASH', 'Cash', 'EUR', 'asset'), "
            "count(ledger.open_account('K-' || g, 'Customer ' || g, 'EUR', 'liability')) "
            "FROM generate_series(0, %1) g")
            .arg(kAccounts - 1));
    if (!opened.ok) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(opened.message));
        return 1;
    }
    say(QStringLiteral("Kafka (librdkafka mock, %1 partitions) to ledger; %2 cores shared by "
                       "broker, producer, consumers and PostgreSQL")
            .arg(kPartitions)
            .arg(QThread::idealThreadCount()));

    // 1. Backlog.
    say(QStringLiteral("backlog: %1 events waiting (naive: %2); ledgerctl ingest --batch-size %3")
            .arg(events)
            .arg(naiveEvents)
            .arg(batchSize));
    double naiveRate = 0;
    {
        MockKafka kafka;
        QString error;
        if (!kafka.start(kTopic, kPartitions, &error) ||
            !produceBacklog(kafka, QStringLiteral("naive"), naiveEvents)) {
            std::fprintf(stderr, "bench: kafka: %s\n", qPrintable(error));
            return 1;
        }
        const QDateTime start = QDateTime::currentDateTimeUtc();
        if (!runNaive(dsn, kafka.bootstraps(), naiveEvents))
            return 1;
        const Posted p = postedSince(admin, QStringLiteral("naive"), start);
        naiveRate = double(p.count) / std::max(p.seconds, 0.001);
        say(QStringLiteral("  naive, one transaction per event: %1 posted in %2 s: %3 events/s")
                .arg(p.count)
                .arg(p.seconds, 0, 'f', 1)
                .arg(naiveRate, 0, 'f', 0));
    }
    for (int consumers : {1, 2}) {
        MockKafka kafka;
        QString error;
        const QString prefix = QStringLiteral("backlog%1").arg(consumers);
        if (!kafka.start(kTopic, kPartitions, &error) || !produceBacklog(kafka, prefix, events)) {
            std::fprintf(stderr, "bench: kafka: %s\n", qPrintable(error));
            return 1;
        }
        const QDateTime start = QDateTime::currentDateTimeUtc();
        qint64 left = 0;
        if (!runIngesters(dsn, kafka.bootstraps(), consumers, prefix, batchSize, &left))
            return 1;
        const Posted p = postedSince(admin, prefix, start);
        const double perSecond = double(p.count) / std::max(p.seconds, 0.001);
        say(QStringLiteral("  ledgerctl ingest, %1 consumer%2: %3 posted in %4 s: %5 events/s, "
                           "%6x naive%7")
                .arg(consumers)
                .arg(consumers > 1 ? QStringLiteral("s") : QString())
                .arg(p.count)
                .arg(p.seconds, 0, 'f', 1)
                .arg(perSecond, 0, 'f', 0)
                .arg(perSecond / naiveRate, 0, 'f', 1)
                .arg(stoppedEarly(left, QDir::temp().filePath(
                                            QStringLiteral("bench_ingest-%1-*.log").arg(prefix)))));
    }

    // 2. Paced.
    say(QStringLiteral("paced: %1 events/s for %2 s while the consumers run")
            .arg(rate)
            .arg(seconds));
    for (int consumers : {1, 2}) {
        MockKafka kafka;
        QString error;
        const QString prefix = QStringLiteral("paced%1").arg(consumers);
        if (!kafka.start(kTopic, kPartitions, &error)) {
            std::fprintf(stderr, "bench: kafka: %s\n", qPrintable(error));
            return 1;
        }
        std::atomic<bool> produced{false};
        qint64 sent = 0;
        std::thread producer([&] {
            QElapsedTimer timer;
            timer.start();
            const qint64 total = qint64(double(rate) * seconds);
            while (sent < total) {
                // Every 10 ms, what the rate owes by now.
                const qint64 due =
                    std::min(total, qint64(double(rate) * double(timer.elapsed()) / 1000.0));
                for (; sent < due; ++sent) {
                    const int account = int(sent % kAccounts);
                    if (!kafka.enqueue(account % kPartitions,
                                       event(QStringLiteral("%1-%2").arg(prefix).arg(sent), account,
                                             QDateTime::currentMSecsSinceEpoch())))
                        return; // produced stays false: the run fails
                }
                kafka.poll();
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            kafka.flush();
            produced = true;
        });
        const QDateTime start = QDateTime::currentDateTimeUtc();
        qint64 left = 0;
        const bool ok = runIngesters(dsn, kafka.bootstraps(), consumers, prefix, batchSize, &left);
        producer.join();
        if (!ok || !produced)
            return 1;
        const auto r = admin.exec(
            QStringLiteral(
                "SELECT count(*), "
                "percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY ms), max(ms), "
                "count(*) / extract(epoch FROM max(recorded_at) - $2::timestamptz) "
                "FROM (SELECT recorded_at, extract(epoch FROM recorded_at) * 1000 - "
                "description::bigint AS ms FROM ledger.transactions WHERE external_ref LIKE "
                "$1 || '-%') t"),
            {prefix, start.toString(Qt::ISODateWithMs)});
        if (!r.ok) {
            std::fprintf(stderr, "bench: %s\n", qPrintable(r.message));
            return 1;
        }
        const QStringList &row = r.rows.first();
        say(QStringLiteral("  %1 consumer%2: %3 of %4 posted, %5 events/s; produce to posted: "
                           "P50 %6 ms, P95 %7 ms, max %8 ms (target: 5000/s, P95 < 60000 ms)%9")
                .arg(consumers)
                .arg(consumers > 1 ? QStringLiteral("s") : QString())
                .arg(row[0])
                .arg(sent)
                .arg(row[4].toDouble(), 0, 'f', 0)
                .arg(row[1].toDouble(), 0, 'f', 0)
                .arg(row[2].toDouble(), 0, 'f', 0)
                .arg(row[3].toDouble(), 0, 'f', 0)
                .arg(stoppedEarly(left, QDir::temp().filePath(
                                            QStringLiteral("bench_ingest-%1-*.log").arg(prefix)))));
    }
    return 0;
}
