#pragma once

#include "domain/Result.h"

#include <QString>

#include <atomic>
#include <functional>

namespace ledger {

class Connection;

struct OutboxRelayOptions
{
    QString brokers; // bootstrap servers, host:port[,host:port...]
    QString topic;
    QString relay = QStringLiteral("outbox"); // the name its position is kept under
    int batchEvents = 500;                    // audit events taken per round
    double untilIdleSeconds = 0;              // > 0: stop after that long with nothing to send
    int brokerTimeoutSeconds = 30; // no broker, or a message not acknowledged, this long: fail
};

struct OutboxRelayReport
{
    qint64 published = 0; // messages the broker acknowledged and the ledger recorded
    qint64 rounds = 0;
    qint64 position = 0; // the audit chain number everything up to which is published
    double seconds = 0;
};

// Publishes the ledger's outbox (OutboxRepository: postings per account, reversal and
// reconciliation decisions, in audit chain order) to `topic` with librdkafka's idempotent
// producer: per round, every message is produced, then all must be acknowledged by the
// broker before the ledger records the new position. A message the broker does not
// acknowledge fails the run with the reason and records nothing of the round, so the next
// run sends it again: at least once, with a stable message id (also in the "message-id"
// header) for consumers to deduplicate. One relay of a name runs at a time (the ledger
// refuses a second). Runs until `stop` (after the round) or idle for untilIdleSeconds.
Result<OutboxRelayReport> runOutboxRelay(Connection &connection, const OutboxRelayOptions &options,
                                         const std::atomic<bool> &stop,
                                         const std::function<void(const QString &)> &progress = {});

} // namespace ledger
