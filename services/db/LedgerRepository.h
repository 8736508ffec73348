#pragma once

#include <QByteArray>
#include <QDateTime>
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

struct IngestLine
{
    int lineNumber = 0;
    QByteArray json;
    // Accounts the event will touch, if the caller knows them: a batch locks them all up
    // front, in id order, so that concurrent batches cannot deadlock.
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
    int batchSize = 500;
    bool allOrNothing = false; // one rejected line rolls back the whole input
};

// Ingests NDJSON income/outcome events. Each batch is one database transaction; each
// event inside it is a savepoint, so a bad event is rejected whole (with its line number)
// and never half-written, and the other events of its batch still post. With
// allOrNothing, the whole input is one transaction and any rejection rolls it back.
// `progress` is called after each batch with the lines handled so far.
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
    QString requestedBy;
    QDateTime requestedAt;
    QString state; // pending, approved, rejected
    QString decidedBy;
    QDateTime decidedAt;
    QString decisionNote;
    qint64 reversalTransactionId = 0;
    qint64 rebookTransactionId = 0;
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
Decision approve(Connection &connection, qint64 requestId, const QString &note = {});
void reject(Connection &connection, qint64 requestId, const QString &note);
// state: "pending", "approved", "rejected" or empty for all; newest first.
QList<Request> list(Connection &connection, const QString &state = {}, int limit = 1000);
QList<ReasonCode> reasonCodes(Connection &connection);

} // namespace ReversalRepository

} // namespace ledger
