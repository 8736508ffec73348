#pragma once

#include "domain/Error.h"

#include <QByteArray>
#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace ledger {

class Connection;

// Postings, events and balances. Every rule (balance per currency, idempotency, account
// locking, no negative balance, audit) is enforced by the database functions these call;
// this layer only carries requests and results. Synchronous; throws DbException.
namespace LedgerRepository {

struct PostResult
{
    qint64 transactionId = 0;
    bool created = false; // false: the same request was posted before under this key
};

// One transaction as JSON text: {"idempotency_key", "effective_at", "description",
// "external_ref"?, "legs": [{"account", "amount", "currency"}]}. The text goes to the
// server as it is, so amounts are never parsed through floating point on the way.
PostResult post(Connection &connection, const QByteArray &requestJson);

// One item of a batch posting, in the order the items were given.
struct BatchOutcome
{
    enum class Kind {
        Posted,    // written now
        Duplicate, // its key was posted before (or earlier in the batch) with the same request
        Rejected   // refused as post() would refuse it; nothing of it was written
    };
    Kind kind = Kind::Rejected;
    qint64 transactionId = 0; // Posted, Duplicate: the transaction
    Error error;              // Rejected: SQLSTATE (LG010-LG020) and the server's message
};

// Posts many transactions (each the JSON of post()) with ledger.post_batch: one round trip
// and one database transaction; the database writes them set-based and decides each item
// as posting them one by one in this order would (balances, no-negative accounts,
// idempotency keys, duplicates inside the batch). A refused item is reported in its
// outcome and the others still post. Throws for what is no item's fault (connection,
// permission, a batch that is not well-formed); a serialization failure is retried.
QList<BatchOutcome> postBatch(Connection &connection, const QList<QByteArray> &requestsJson);

struct IngestLine
{
    int lineNumber = 0;
    QByteArray json;
    // Accounts the event will touch, if the caller knows them: with allOrNothing, the one
    // database transaction locks them all up front, in id order, so that concurrent
    // batches cannot deadlock across its calls.
    QStringList accounts;
};

struct IngestReport
{
    int posted = 0;
    int duplicates = 0;
    int rejected = 0;
    QList<QPair<int, QString>> rejections; // line number, reason
};

struct IngestOptions
{
    QString contraTemplate = QStringLiteral("1000-CASH-{currency}");
    int batchSize = 500;       // events per call of ledger.ingest_events (at most kMaxBatchItems)
    bool allOrNothing = false; // one rejected line rolls back the whole input
};

// The most items one call of ledger.post_batch / ledger.ingest_events takes.
constexpr int kMaxBatchItems = 100000;

// Ingests NDJSON income/outcome events with ledger.ingest_events, set-based: each batch is
// one call and one database transaction. A bad event is rejected whole, with its line
// number, and the other events of its batch still post; an event the server cannot even
// read as JSON is found line by line and rejected the same way. With allOrNothing, the
// whole input is one database transaction and any rejection rolls it back. `progress` is
// called after each batch with the lines handled so far.
IngestReport ingest(Connection &connection, const QList<IngestLine> &lines,
                    const IngestOptions &options = {},
                    const std::function<void(int)> &progress = {});

// One message of a stream partition (Kafka): its offset and either the event (a JSON
// object, as an NDJSON line of `ingest`) or, for a message the client could not read, the
// reason and the raw payload (parked as a dead letter).
struct SourceMessage
{
    qint64 offset = 0;
    QByteArray event;
    QString error;
    QByteArray raw;
};

struct SourceBatchResult
{
    int posted = 0;
    int duplicates = 0;
    int parked = 0;  // dead letters written
    int skipped = 0; // below the stored position: taken before (a redelivery)
    qint64 nextOffset = 0;
    int held = 0;     // waiting for an earlier number of their entity (0050)
    int released = 0; // held events this batch let through, posted or found posted
};

// Posts one partition's messages (offset order) with ledger.ingest_source_batch: the
// postings, the dead letters and the partition's new position in one database
// transaction. A message the server cannot read at all is found by sending the messages
// one by one and is parked with the server's reason; a serialization failure or deadlock is
// retried. Throws for what is no message's fault (connection, permission).
SourceBatchResult ingestSourceBatch(Connection &connection, const QString &source,
                                    const QString &topic, int partition,
                                    const QList<SourceMessage> &messages,
                                    const QString &contraTemplate);

// The next offset per partition the ledger holds for (source, topic).
QHash<int, qint64> sourcePositions(Connection &connection, const QString &source,
                                   const QString &topic);

// One parked message (ledger.dead_letter_list), newest first.
struct DeadLetter
{
    qint64 id = 0;
    QString source;
    QString topic;
    int partition = 0;
    qint64 offset = 0;
    QDateTime parkedAt;
    QString errorCode;
    QString reason;
    QString payload;
    // What became of it (0045): empty while open, else "retried" or "discarded".
    QString outcome;
    qint64 transactionId = 0; // retried: the transaction posted (or found posted)
    QString outcomeReason;    // discarded: why
    QString decidedBy;
    QDateTime decidedAt;
};
// The newest dead letters; with openOnly, those neither retried nor discarded.
QList<DeadLetter> deadLetters(Connection &connection, int limit, bool openOnly = false);

struct RetryResult
{
    qint64 transactionId = 0;
    bool duplicate = false; // the event had been posted already (a replay, say)
    qint64 eventId = 0;     // the audit event that records the retry
};
// Posts a dead letter's payload again through the ingest path (ledger.retry_dead_letter);
// throws with the reason when it is still refused, not JSON, or already decided.
// The contra account template is the one the stream was ingested with (kept with the letter).
RetryResult retryDeadLetter(Connection &connection, qint64 id);
// Gives a dead letter up, with a reason (ledger.discard_dead_letter); returns the audit event.
qint64 discardDeadLetter(Connection &connection, qint64 id, const QString &reason);

// An event held until its entity's earlier numbers arrive (ledger.held_event_list, 0050).
struct HeldEvent
{
    QString entity;
    qint64 sequence = 0;
    qint64 waitsFor = 0; // the entity's next number
    QString eventId;
    QString source;
    QString topic;
    int partition = 0;
    qint64 offset = 0;
    QDateTime heldAt;
};
// The held events, oldest first.
QList<HeldEvent> heldEvents(Connection &connection, int limit);
// Parks the holds of `source` (every source's when empty) older than maxAgeSeconds as dead
// letters (ledger.expire_held_events); returns how many.
int expireHeldEvents(Connection &connection, qint64 maxAgeSeconds, const QString &source = {});

struct SkipResult
{
    qint64 eventId = 0;     // the audit event
    qint64 skippedFrom = 0; // the first number passed over
    int applied = 0;        // held events posted (or found posted) behind the new number
    int parked = 0;         // held events below it, or refused by the posting rules
};
// Moves an entity on to number `next` (ledger.skip_entity_events), with a reason.
SkipResult skipEntityEvents(Connection &connection, const QString &entity, qint64 next,
                            const QString &reason);

struct Balance
{
    QString account;
    QString currency;
    QString amount; // exact decimal string on the account's normal side
    qint64 minorUnits = 0;
    QDateTime effectiveAt;
    QDateTime knownAt;
};

// Balance at effective time `effective` as the ledger knew it at `knownAt` (both default
// to now on the server).
Balance balance(Connection &connection, const QString &accountCode,
                const std::optional<QDateTime> &effective = std::nullopt,
                const std::optional<QDateTime> &knownAt = std::nullopt);

} // namespace LedgerRepository

} // namespace ledger
