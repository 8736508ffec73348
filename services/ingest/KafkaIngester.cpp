#include "KafkaIngester.h"

#include "KafkaHandles.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/HealthRepository.h"
#include "db/LedgerRepository.h"
#include "domain/BackfillPacer.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QMap>
#include <QThread>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace ledger {

namespace {

using LedgerRepository::SourceMessage;

template <class T> using KafkaPtr = kafka::Ptr<T>;
using kafka::set;

// What the callbacks (served from rd_kafka_consumer_poll, on this thread) share with the loop.
struct Context
{
    Connection *connection = nullptr;
    const KafkaIngestOptions *options = nullptr;
    QString source;
    std::optional<Error> failure;
    bool assigned = false;    // an assignment was received (possibly empty)
    int assignments = 0;      // how many (the idle time counts from the latest)
    bool brokersDown = false; // librdkafka says no broker is up
    QElapsedTimer brokersDownFor;
};

void onRebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t *partitions, void *opaque)
{
    auto *ctx = static_cast<Context *>(opaque);
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, nullptr); // revoked (or an error): let go of everything
        return;
    }
    ctx->assigned = true;
    ++ctx->assignments;
    // The ledger says where each partition resumes, not the broker.
    QHash<int, qint64> stored;
    try {
        stored =
            LedgerRepository::sourcePositions(*ctx->connection, ctx->source, ctx->options->topic);
    } catch (const DbException &e) {
        ctx->failure = e.error();
        rd_kafka_assign(rk, nullptr);
        return;
    }
    for (int i = 0; i < partitions->cnt; ++i) {
        rd_kafka_topic_partition_t &p = partitions->elems[i];
        const auto at = stored.constFind(p.partition);
        p.offset = at == stored.constEnd() ? RD_KAFKA_OFFSET_BEGINNING : at.value();
    }
    rd_kafka_assign(rk, partitions);
}

void onError(rd_kafka_t *, int err, const char *reason, void *opaque)
{
    auto *ctx = static_cast<Context *>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!ctx->brokersDown)
            ctx->brokersDownFor.start();
        ctx->brokersDown = true;
    } else if (err == RD_KAFKA_RESP_ERR__FATAL) {
        ctx->failure = Error::make(Error::Kind::Connection,
                                   QStringLiteral("Kafka: %1").arg(QString::fromUtf8(reason)));
    }
}

// The message as the ledger takes it: an event (a JSON object) or, unreadable, the reason.
SourceMessage toSourceMessage(const rd_kafka_message_t *m)
{
    SourceMessage out;
    out.offset = m->offset;
    const QByteArray payload =
        m->payload ? QByteArray(static_cast<const char *>(m->payload), qsizetype(m->len))
                   : QByteArray();
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(payload, &parseError);
    if (payload.isEmpty()) {
        out.error = QStringLiteral("empty message");
    } else if (doc.isNull()) {
        out.error = QStringLiteral("not valid JSON: %1 at byte %2")
                        .arg(parseError.errorString())
                        .arg(parseError.offset + 1);
    } else if (!doc.isObject()) {
        out.error = QStringLiteral("not a JSON object");
    }
    if (out.error.isEmpty())
        out.event = payload;
    else
        out.raw = payload.left(qsizetype(64) * 1024);
    return out;
}

} // namespace

Result<KafkaIngestReport> runKafkaIngest(Connection &connection, const KafkaIngestOptions &options,
                                         const std::atomic<bool> &stop,
                                         const std::function<void(const QString &)> &progress)
{
    auto fail = [](Error::Kind kind, const QString &message) {
        return Result<KafkaIngestReport>(Error::make(kind, message));
    };
    if (options.brokers.isEmpty() || options.topic.isEmpty() || options.group.isEmpty())
        return fail(Error::Kind::Input,
                    QStringLiteral("Kafka ingestion needs brokers, a topic and a group."));

    Context ctx;
    ctx.connection = &connection;
    ctx.options = &options;
    ctx.source = options.source.isEmpty() ? options.group : options.source;
    if (options.replay())
        ctx.source = QStringLiteral("%1/replay/%2")
                         .arg(ctx.source.left(60), QDateTime::currentDateTimeUtc().toString(
                                                       QStringLiteral("yyyyMMdd'T'HHmmss.zzz'Z'")));

    KafkaPtr<rd_kafka_conf_t> conf(rd_kafka_conf_new());
    QString confError;
    if (!set(conf.get(), "bootstrap.servers", options.brokers, &confError) ||
        !set(conf.get(), "group.id", options.group, &confError) ||
        !set(conf.get(), "client.id", QStringLiteral("ledgerctl-ingest"), &confError) ||
        // Positions live in the ledger: nothing is committed or stored behind our back.
        !set(conf.get(), "enable.auto.commit", QStringLiteral("false"), &confError) ||
        !set(conf.get(), "enable.auto.offset.store", QStringLiteral("false"), &confError) ||
        !set(conf.get(), "auto.offset.reset", QStringLiteral("earliest"), &confError) ||
        !set(conf.get(), "allow.auto.create.topics", QStringLiteral("false"), &confError) ||
        // Bounded memory: at most this much fetched ahead per partition.
        !set(conf.get(), "queued.max.messages.kbytes", QStringLiteral("16384"), &confError) ||
        // A member that died (kill -9, a lost machine) gives its partitions up after 10 s.
        !set(conf.get(), "session.timeout.ms", QStringLiteral("10000"), &confError) ||
        !set(conf.get(), "heartbeat.interval.ms", QStringLiteral("2000"), &confError))
        return fail(Error::Kind::Input, confError);
    rd_kafka_conf_set_opaque(conf.get(), &ctx);
    if (!options.replay())
        rd_kafka_conf_set_rebalance_cb(conf.get(), onRebalance);
    rd_kafka_conf_set_error_cb(conf.get(), onError);

    char text[512];
    KafkaPtr<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), text, sizeof text));
    if (!rk)
        return fail(Error::Kind::Input,
                    QStringLiteral("Kafka consumer: %1").arg(QString::fromUtf8(text)));
    (void)conf.release(); // rd_kafka_new took it
    rd_kafka_poll_set_consumer(rk.get());

    // The topic must exist (asked for all topics: asking for one may create it on brokers
    // that create topics on demand).
    QString brokerError;
    const int partitionCount = kafka::topicPartitions(
        rk.get(), options.topic, options.brokerTimeoutSeconds * 1000, &brokerError);
    if (partitionCount < 0)
        return fail(Error::Kind::Connection,
                    QStringLiteral("No Kafka broker answers at %1 (%2 within %3 s): check "
                                   "--kafka and that the brokers run.")
                        .arg(options.brokers, brokerError)
                        .arg(options.brokerTimeoutSeconds));
    if (partitionCount == 0)
        return fail(Error::Kind::NotFound,
                    QStringLiteral("Kafka topic %1 does not exist at %2: create it, or check "
                                   "--topic and --kafka.")
                        .arg(options.topic, options.brokers));

    // A replay: each partition from its start to the end it has now, assigned directly.
    QHash<int, qint64> replayEnd; // partitions still to read, and where they end
    const qint64 fromTimeMs =
        options.replayFromTime ? options.replayFromTime->toMSecsSinceEpoch() : 0;
    if (options.replay()) {
        // From a time: the first offset stamped then or later, as the broker says.
        QHash<int, qint64> fromTimeOffset;
        if (options.replayFromTime) {
            KafkaPtr<rd_kafka_topic_partition_list_t> times(
                rd_kafka_topic_partition_list_new(partitionCount));
            for (int partition = 0; partition < partitionCount; ++partition)
                rd_kafka_topic_partition_list_add(times.get(), options.topic.toUtf8().constData(),
                                                  partition)
                    ->offset = fromTimeMs;
            if (const rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(
                    rk.get(), times.get(), options.brokerTimeoutSeconds * 1000);
                err)
                return fail(Error::Kind::Connection,
                            QStringLiteral("Kafka: the offsets of %1 at %2 are not known (%3).")
                                .arg(options.topic,
                                     options.replayFromTime->toUTC().toString(Qt::ISODateWithMs),
                                     QString::fromUtf8(rd_kafka_err2str(err))));
            for (int i = 0; i < times->cnt; ++i) {
                if (!times->elems[i].err && times->elems[i].offset >= 0)
                    fromTimeOffset.insert(times->elems[i].partition, times->elems[i].offset);
            }
        }
        KafkaPtr<rd_kafka_topic_partition_list_t> from(
            rd_kafka_topic_partition_list_new(partitionCount));
        for (int partition = 0; partition < partitionCount; ++partition) {
            int64_t low = 0;
            int64_t high = 0;
            if (const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
                    rk.get(), options.topic.toUtf8().constData(), partition, &low, &high,
                    options.brokerTimeoutSeconds * 1000);
                err)
                return fail(Error::Kind::Connection,
                            QStringLiteral("Kafka: the end of %1/%2 is not known (%3).")
                                .arg(options.topic)
                                .arg(partition)
                                .arg(QString::fromUtf8(rd_kafka_err2str(err))));
            const qint64 start =
                qMax<qint64>(low, options.replayFromOffset ? *options.replayFromOffset
                                                           : fromTimeOffset.value(partition, low));
            rd_kafka_topic_partition_list_add(from.get(), options.topic.toUtf8().constData(),
                                              partition)
                ->offset = start;
            if (start < high)
                replayEnd.insert(partition, high); // else nothing to read there
        }
        if (const rd_kafka_resp_err_t err = rd_kafka_assign(rk.get(), from.get()); err)
            return fail(Error::Kind::Input,
                        QStringLiteral("Kafka assign %1: %2")
                            .arg(options.topic, QString::fromUtf8(rd_kafka_err2str(err))));
        ctx.assigned = true;
        ctx.assignments = 1;
    } else {
        KafkaPtr<rd_kafka_topic_partition_list_t> topics(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(topics.get(), options.topic.toUtf8().constData(),
                                          RD_KAFKA_PARTITION_UA);
        if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk.get(), topics.get()); err)
            return fail(Error::Kind::Input,
                        QStringLiteral("Kafka subscribe to %1: %2")
                            .arg(options.topic, QString::fromUtf8(rd_kafka_err2str(err))));
    }

    KafkaIngestReport report;
    report.source = ctx.source;
    QElapsedTimer sinceStart, idle, sinceProgress;
    sinceStart.start();
    idle.start();
    sinceProgress.start();
    const QByteArray topicName = options.topic.toUtf8();
    // Messages behind the broker's end of each partition this consumer posts from, from the
    // watermarks librdkafka keeps from its fetches (query: ask the broker instead).
    const auto endOf = [&](int partition, bool query) -> qint64 {
        int64_t low = 0;
        int64_t high = 0;
        const rd_kafka_resp_err_t err =
            query ? rd_kafka_query_watermark_offsets(rk.get(), topicName.constData(), partition,
                                                     &low, &high, 5000)
                  : rd_kafka_get_watermark_offsets(rk.get(), topicName.constData(), partition, &low,
                                                   &high);
        return err != RD_KAFKA_RESP_ERR_NO_ERROR || high < 0 ? -1 : qint64(high);
    };
    const auto lagOf = [&](int partition, qint64 position, bool query) -> qint64 {
        const qint64 end = endOf(partition, query);
        return end < 0 ? -1 : qMax<qint64>(0, end - position);
    };
    // Where each partition ends, on record for the console's health panel (lag and rate; a
    // replay's are not a live source's). Not worth failing a run for: said and passed over,
    // and given up only when the ledger has no such function or the role may not call it.
    QElapsedTimer sinceNote;
    sinceNote.start();
    bool noteRefused = false;
    const auto noteEnds = [&](const QHash<int, qint64> &ends) {
        if (ends.isEmpty() || options.replay() || noteRefused)
            return;
        try {
            HealthRepository::noteSourceEnds(connection, ctx.source, options.topic, ends);
        } catch (const DbException &e) {
            noteRefused = e.error().kind == Error::Kind::Permission ||
                          e.error().sqlState == QLatin1String("42883");
            if (progress)
                progress(QStringLiteral("could not note the stream's end for the health panel "
                                        "(%1); ingesting goes on")
                             .arg(e.error().message));
        }
    };
    // The partitions assigned to this consumer now, with their ends from the last fetches
    // (an idle consumer fetches too): noted while it is idle as well, so that the panel can
    // tell a consumer that has caught up from one that has gone.
    const auto assignedEnds = [&]() {
        QHash<int, qint64> ends;
        rd_kafka_topic_partition_list_t *raw = nullptr;
        if (rd_kafka_assignment(rk.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw)
            return ends;
        KafkaPtr<rd_kafka_topic_partition_list_t> assigned(raw);
        for (int i = 0; i < assigned->cnt; ++i) {
            const rd_kafka_topic_partition_t &p = assigned->elems[i];
            if (options.topic != QString::fromUtf8(p.topic))
                continue;
            if (const qint64 end = endOf(p.partition, false); end >= 0)
                ends.insert(p.partition, end);
        }
        return ends;
    };
    const int maxBatch = qBound(1, options.maxBatch, LedgerRepository::kMaxBatchItems);
    std::optional<Error> failure;

    int assignmentsSeen = 0;
    QElapsedTimer sinceExpiry;
    bool caughtUp = false; // the last round was not full: no backlog behind it
    BackfillPacer pacer(options.backfillShare);
    while (!stop.load() && !failure && !(options.replay() && replayEnd.isEmpty())) {
        // Holds expire only once this consumer has caught up: a backlog may hold the very
        // predecessors they wait for.
        if (caughtUp && (!sinceExpiry.isValid() || sinceExpiry.elapsed() >= 10000)) {
            try {
                report.expired += LedgerRepository::expireHeldEvents(
                    connection, options.maxHoldSeconds, ctx.source);
            } catch (const DbException &e) {
                failure = e.error();
                break;
            }
            sinceExpiry.start();
        }
        if (!options.replay() && sinceNote.elapsed() >= 10000) {
            sinceNote.restart();
            noteEnds(assignedEnds());
        }
        // One round: wait briefly for the first message, then take what is there.
        QMap<int, QList<SourceMessage>> byPartition;
        int taken = 0;
        for (int timeout = 200; taken < maxBatch; timeout = 0) {
            KafkaPtr<rd_kafka_message_t> m(rd_kafka_consumer_poll(rk.get(), timeout));
            if (ctx.failure) {
                failure = ctx.failure;
                break;
            }
            if (!m)
                break;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                continue;
            if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
                failure = Error::make(Error::Kind::NotFound,
                                      QStringLiteral("Kafka topic %1 does not exist at %2: "
                                                     "create it, or check --topic and --kafka.")
                                          .arg(options.topic, options.brokers));
                break;
            }
            if (m->err) {
                // Transient consumer errors (a broker going away) are retried by librdkafka.
                if (progress)
                    progress(QStringLiteral("kafka: %1")
                                 .arg(QString::fromUtf8(rd_kafka_message_errstr(m.get()))));
                continue;
            }
            ctx.brokersDown = false;
            if (options.replay()) {
                // Only up to the end the partition had when the replay started.
                const auto end = replayEnd.constFind(m->partition);
                if (end == replayEnd.constEnd() || m->offset >= end.value())
                    continue;
                if (m->offset + 1 >= end.value())
                    replayEnd.remove(m->partition);
                if (options.replayFromTime) {
                    rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
                    const int64_t stamp = rd_kafka_message_timestamp(m.get(), &type);
                    if (type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && stamp < fromTimeMs) {
                        ++report.beforeTime;
                        idle.restart(); // passing over a long run of them is no idleness
                        continue;
                    }
                }
            }
            // After a rebalance inside the round a partition starts again from the ledger's
            // position: what this round holds from there on comes again, once.
            QList<SourceMessage> &list = byPartition[m->partition];
            while (!list.isEmpty() && list.constLast().offset >= m->offset) {
                list.removeLast();
                --taken;
            }
            list.append(toSourceMessage(m.get()));
            ++taken;
        }
        if (failure)
            break;
        if (ctx.assignments != assignmentsSeen) {
            assignmentsSeen = ctx.assignments;
            idle.restart(); // idle counts from when there was something to consume from
        }

        caughtUp = ctx.assigned && taken < maxBatch;
        if (taken == 0) {
            if (ctx.brokersDown &&
                ctx.brokersDownFor.elapsed() > qint64(options.brokerTimeoutSeconds) * 1000) {
                failure = Error::make(Error::Kind::Connection,
                                      QStringLiteral("No Kafka broker answers at %1 (for %2 s): "
                                                     "check --kafka and that the brokers run.")
                                          .arg(options.brokers)
                                          .arg(options.brokerTimeoutSeconds));
                break;
            }
            if (!ctx.assigned &&
                sinceStart.elapsed() > qint64(options.brokerTimeoutSeconds) * 1000) {
                failure = Error::make(Error::Kind::Timeout,
                                      QStringLiteral("The consumer group %1 assigned no partition "
                                                     "of %2 within %3 s.")
                                          .arg(options.group, options.topic)
                                          .arg(options.brokerTimeoutSeconds));
                break;
            }
            if (options.untilIdleSeconds > 0 && ctx.assigned &&
                idle.elapsed() >= qint64(options.untilIdleSeconds * 1000))
                break;
            continue;
        }
        idle.restart();

        // Each partition's messages in one database transaction with its new position.
        QElapsedTimer roundTime;
        roundTime.start();
        KafkaPtr<rd_kafka_topic_partition_list_t> done(
            rd_kafka_topic_partition_list_new(int(byPartition.size())));
        for (auto it = byPartition.constBegin(); it != byPartition.constEnd(); ++it) {
            LedgerRepository::SourceBatchResult r;
            try {
                r = LedgerRepository::ingestSourceBatch(connection, ctx.source, options.topic,
                                                        it.key(), it.value(),
                                                        options.contraTemplate);
            } catch (const DbException &e) {
                failure = e.error();
                break;
            }
            report.messages += it.value().size();
            report.posted += r.posted;
            report.duplicates += r.duplicates;
            report.parked += r.parked;
            report.skipped += r.skipped;
            report.held += r.held;
            report.released += r.released;
            report.positions.insert(it.key(), r.nextOffset);
            rd_kafka_topic_partition_list_add(done.get(), options.topic.toUtf8().constData(),
                                              it.key())
                ->offset = r.nextOffset;
            if (progress)
                progress(QStringLiteral("partition %1: offsets %2-%3 committed: posted %4, "
                                        "duplicates %5, parked %6, skipped %7, held %9, "
                                        "released %10; next %8")
                             .arg(it.key())
                             .arg(it.value().constFirst().offset)
                             .arg(it.value().constLast().offset)
                             .arg(r.posted)
                             .arg(r.duplicates)
                             .arg(r.parked)
                             .arg(r.skipped)
                             .arg(r.nextOffset)
                             .arg(r.held)
                             .arg(r.released));
        }
        // For lag tools only; the ledger's positions are what a consumer resumes from.
        if (done->cnt > 0 && !options.replay())
            rd_kafka_commit(rk.get(), done.get(), 1);

        // A backfill yields the database after each round, in slices that notice a stop (it
        // reads outside the group: there is no heartbeat to keep).
        if (options.backfillShare > 0 && !failure) {
            QElapsedTimer paused;
            paused.start();
            const qint64 pause = pacer.pauseAfter(roundTime.elapsed());
            while (!stop.load() && paused.elapsed() < pause)
                QThread::msleep(ulong(qMin<qint64>(100, pause - paused.elapsed())));
            report.pausedSeconds += double(paused.elapsed()) / 1000.0;
        }

        if (progress && sinceProgress.elapsed() >= 2000) {
            sinceProgress.restart();
            QStringList lags;
            QList<int> partitions = report.positions.keys();
            std::sort(partitions.begin(), partitions.end());
            for (int partition : partitions) {
                const qint64 lag = lagOf(partition, report.positions.value(partition), false);
                lags << QStringLiteral("p%1 %2").arg(partition).arg(lag < 0 ? QStringLiteral("?")
                                                                            : QString::number(lag));
            }
            progress(QStringLiteral("progress: %1 messages in %2 s, %3/s; lag %4")
                         .arg(report.messages)
                         .arg(double(sinceStart.elapsed()) / 1000.0, 0, 'f', 1)
                         .arg(qRound64(double(report.messages) * 1000.0 /
                                       double(qMax<qint64>(1, sinceStart.elapsed()))))
                         .arg(lags.join(QStringLiteral(", "))));
        }
    }

    // (Not asked when no broker answers: -1, unknown, rather than a wait per partition.) Behind
    // the ledger's positions, not this consumer's: a partition a rebalance gave to another
    // member has moved on since this one last posted from it.
    if (!failure) {
        QHash<int, qint64> ledgerPositions;
        try {
            ledgerPositions =
                LedgerRepository::sourcePositions(connection, ctx.source, options.topic);
        } catch (const DbException &) {
            ledgerPositions = report.positions; // the database gone at the end: ours, then
        }
        QHash<int, qint64> ends;
        for (auto it = report.positions.constBegin(); it != report.positions.constEnd(); ++it) {
            const qint64 end = ctx.brokersDown ? -1 : endOf(it.key(), true);
            if (end >= 0)
                ends.insert(it.key(), end);
            report.lag.insert(
                it.key(),
                end < 0 ? -1 : qMax<qint64>(0, end - ledgerPositions.value(it.key(), it.value())));
        }
        noteEnds(ends);
    }
    report.seconds = double(sinceStart.elapsed()) / 1000.0;
    rd_kafka_consumer_close(rk.get());
    if (failure)
        return *failure;
    return report;
}

} // namespace ledger
