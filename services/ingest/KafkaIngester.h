#pragma once

#include "domain/Result.h"

#include <QDateTime>
#include <QHash>
#include <QString>

#include <atomic>
#include <functional>
#include <optional>

namespace ledger {

class Connection;

struct KafkaIngestOptions
{
    QString brokers; // bootstrap servers, host:port[,host:port...]
    QString topic;
    QString group;  // consumer group
    QString source; // the name positions are kept under (default: the group)
    QString contraTemplate = QStringLiteral("1000-CASH-{currency}");
    int maxBatch = 500;            // messages taken per round (all partitions together)
    double untilIdleSeconds = 0;   // > 0: stop after that long without a message
    int brokerTimeoutSeconds = 30; // no broker answering, or no partition assigned, this long: fail
    // Events this consumer's source holds for an earlier number of their entity this long
    // become dead letters (ledger.expire_held_events, at most every 10 s and only after a
    // round that was not full: never while it is still catching up on a backlog, which may
    // hold the very predecessors they wait for).
    qint64 maxHoldSeconds = 3600;
    // > 0: a backfill (BackfillPacer): after each round it pauses so that it spends at most
    // this share of its time in the database.
    double backfillShare = 0;
    // A replay: every partition read again from this offset (or its first, when that is
    // later) up to the end each partition had when the replay started; outside the group
    // (assigned, nothing committed to the broker) and under a source name of its own
    // ("<source>/replay/<UTC time>"), so the live positions are left alone. Idempotency keys
    // make it post only what the ledger lacks.
    std::optional<qint64> replayFromOffset;
    // A replay of the messages stamped at or after this time (their Kafka timestamp): each
    // partition from the first offset the broker gives for the time (from its first offset
    // when the broker gives none: no such message, or a broker that does not look times up,
    // such as librdkafka's mock), every message stamped earlier passed over and counted.
    std::optional<QDateTime> replayFromTime;
    bool replay() const { return replayFromOffset.has_value() || replayFromTime.has_value(); }
};

struct KafkaIngestReport
{
    qint64 messages = 0;
    qint64 posted = 0;
    qint64 duplicates = 0;
    qint64 parked = 0;
    qint64 skipped = 0;
    qint64 held = 0;              // waiting for an earlier number of their entity
    qint64 released = 0;          // held events (of any run) let through by what this one posted
    qint64 expired = 0;           // holds this one parked for waiting longer than maxHoldSeconds
    qint64 beforeTime = 0;        // a replay --from-time: messages stamped earlier, passed over
    double pausedSeconds = 0;     // a backfill's pauses
    QHash<int, qint64> positions; // next offset per partition this consumer took from
    // At exit, per partition in `positions`: how many messages the broker holds past the
    // ledger's position for it then (its high watermark, asked for then, minus the position
    // the ledger holds, which another member of the group may have moved since); -1 when the
    // broker did not say.
    QHash<int, qint64> lag;
    double seconds = 0; // from start to exit
    QString source;     // the name the positions and dead letters were kept under
};

// A member of a Kafka consumer group (librdkafka) that posts what it consumes exactly once:
// each round's messages go to the ledger per partition, in offset order, with
// ledger.ingest_source_batch, which stores the partition's new position in the same
// database transaction as the postings and the dead letters. The database, not the broker,
// says where to resume: on every partition assignment the consumer seeks to the positions
// the ledger holds (from the beginning of a partition it never saw). Offsets are committed
// to Kafka only afterwards, for monitoring tools, and never read back.
//
// Runs until `stop` is set (a signal handler may set it), until idle for
// options.untilIdleSeconds, or until an error: brokers that do not answer, a topic that does
// not exist, the database lost (what was committed stays; a restart resumes behind it).
// `progress` gets one line per committed partition batch, and every few seconds a line with
// the messages per second since the start and each partition's lag (from the watermarks the
// last fetches brought, so it costs no request).
Result<KafkaIngestReport> runKafkaIngest(Connection &connection, const KafkaIngestOptions &options,
                                         const std::atomic<bool> &stop,
                                         const std::function<void(const QString &)> &progress);

} // namespace ledger
