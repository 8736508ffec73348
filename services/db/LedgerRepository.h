#pragma once

#include "domain/Error.h"

#include <QByteArray>
#include <QDateTime>
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

namespace ReversalRepository {

struct Request
{
    qint64 id = 0;
    qint64 transactionId = 0;
    QString reasonCode;
    QString note;
    bool rebook = false;
    QJsonObject rebookRequest; // the corrected posting, normalised (empty without a rebook)
    int attempt = 0;           // the transaction's n-th request
    QString requestedBy;
    QDateTime requestedAt;
    QString state; // pending, approved, rejected
    QString decidedBy;
    QDateTime decidedAt;
    QString decisionNote;
    qint64 reversalTransactionId = 0;
    qint64 rebookTransactionId = 0;
};

// One leg as a preview shows it: exact decimal amount in the currency's units.
struct PreviewLeg
{
    QString account;
    QString accountName;
    QString currency;
    QString amount; // signed: debit positive, credit negative
};

// What approving a request would post (ledger.reversal_preview): the original, its mirror,
// the rebook, and the net effect per account. `digest` names exactly this content; an
// approval must pass it back, so that what was approved is what was shown.
struct Preview
{
    qint64 requestId = 0;
    qint64 transactionId = 0;
    QString reasonCode;
    QString note;
    QString requestedBy;
    QDateTime requestedAt;
    QString state;
    QDateTime effectiveAt; // of the original and its reversal
    QString originalDescription;
    QList<PreviewLeg> original;
    QList<PreviewLeg> reversal;
    bool hasRebook = false;
    QDateTime rebookEffectiveAt;
    QString rebookDescription;
    QList<PreviewLeg> rebook;
    QList<PreviewLeg> net;
    QString digest;
    QJsonObject document; // as the database returned it
};

struct Decision
{
    qint64 reversalTransactionId = 0;
    qint64 rebookTransactionId = 0; // 0 when there was no rebooking
};

struct ReasonCode
{
    QString code;
    QString description;
};

// rebookJson: the corrected posting for "reverse and rebook" (same shape as a post
// request, with its own idempotency key ignored), or empty.
qint64 request(Connection &connection, qint64 transactionId, const QString &reasonCode,
               const QString &note, const QByteArray &rebookJson = {});
// The preview a supervisor is shown before deciding.
Preview preview(Connection &connection, qint64 requestId);
// Approves what `previewDigest` (Preview::digest) names; LG038 if the request's preview is
// not that one.
Decision approve(Connection &connection, qint64 requestId, const QString &previewDigest,
                 const QString &note = {});
void reject(Connection &connection, qint64 requestId, const QString &note);
// state: "pending", "approved", "rejected" or empty for all; newest first.
QList<Request> list(Connection &connection, const QString &state = {}, int limit = 1000);
QList<ReasonCode> reasonCodes(Connection &connection);

} // namespace ReversalRepository

} // namespace ledger
