#pragma once

#include "domain/AuditEvent.h"
#include "domain/AuditVerification.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <functional>
#include <optional>
#include <vector>

namespace ledger {

class Connection;

// The audit trail (audit schema, 0003 and 0010_audit_chain.sql). Synchronous, on the
// connection's own thread; throws DbException. Readers need console_auditor or
// console_compliance.
namespace AuditRepository {

// The auditor's log: newest first (by event id), keyset-paged — pass the last id of the
// previous page as beforeId. Filters are applied by the server.
QList<AuditEvent> page(Connection &connection, const AuditFilter &filter,
                       std::optional<qint64> beforeId, int limit);
std::optional<AuditEvent> event(Connection &connection, qint64 id);

struct ChainHead
{
    qint64 seq = 0;      // 0: the chain is empty
    QByteArray hash;     // 32 bytes (zeros for an empty chain)
    qint64 unsealed = 0; // committed events not yet in the chain
};
ChainHead head(Connection &connection);

// Seals the chain's tail now (waits for a sealer that holds it). Returns events sealed.
qint64 seal(Connection &connection);

struct IssuedCheckpoint
{
    qint64 id = 0;
    qint64 seq = 0;
    QByteArray hash;
    QDateTime issuedAt;
    QList<QPair<qint64, QByteArray>> anchors; // (seq, hash), ascending, ends at seq
};
// Seals, records a checkpoint of the head (audit.checkpoints + an audit event) and reads
// the hashes at every anchorEvery-th sequence up to it.
IssuedCheckpoint issueCheckpoint(Connection &connection, int anchorEvery);

// The checkpoints issued so far (audit.checkpoint_list), oldest first.
QList<IssuedCheckpoint> checkpoints(Connection &connection);

// The raw chain as the C++ verifier reads it: the exact values that are hashed.
struct ChainRow
{
    qint64 seq = 0;
    qint64 id = 0;
    qint64 occurredAtMicros = 0;                              // since 1970-01-01 UTC
    QByteArray operatorName, sessionRole, action, objectType; // UTF-8
    std::optional<QByteArray> objectId;
    QByteArray details, clientInfo; // the stored jsonb as text
    QByteArray prevHash, hash;
};
// Calls sink with the sealed rows afterSeq < seq <= throughSeq in sequence order,
// batchSize rows at a time (one round trip each); stops early when sink returns false.
// Returns the number of rows delivered.
qint64 readChain(Connection &connection, qint64 afterSeq, qint64 throughSeq, int batchSize,
                 const std::function<bool(std::vector<ChainRow> &&)> &sink);
// The sequence number of the sealed event whose hash this is, if any.
std::optional<qint64> seqOfHash(Connection &connection, const QByteArray &hash);

// The SQL verifier (audit.verify_chain): seals, verifies and records an audit event.
struct SqlVerification
{
    qint64 verifiedThrough = 0;
    std::optional<qint64> brokenAt;
    QString reason;
    qint64 eventsChecked = 0;
    qint64 unsealed = 0;
};
SqlVerification verifyInSql(Connection &connection, std::optional<qint64> checkpointSeq = {},
                            const QByteArray &checkpointHash = {});

// Records an action done in the console itself (audit.client_actions lists which, e.g.
// "search.run"), as the signed-in operator.
void recordClientAction(Connection &connection, const QString &action, const QString &objectType,
                        const QString &objectId, const QJsonObject &details);

// Records the C++ verifier's result as an audit.verified event.
void recordVerification(Connection &connection, const QJsonObject &result);

// --- The ledger's rows, for the C++ ledger verifier (audit/LedgerVerifier) ---------------
// Values as stored, times in microseconds since 1970-01-01 UTC, text in UTF-8.
struct DigestEvent // a transaction.posted or ledger.attested event
{
    qint64 id = 0;
    std::optional<qint64> seq; // unset while unsealed
    QByteArray action, objectType;
    std::optional<QByteArray> objectId;
    QByteArray details; // jsonb as text
};
struct TransactionContent
{
    qint64 id = 0;
    QByteArray idempotencyKey, requestHash, kind;
    qint64 effectiveAtMicros = 0, recordedAtMicros = 0;
    qint64 reverses = 0; // 0: reverses nothing
    QByteArray description;
    std::optional<QByteArray> externalRef;
    QByteArray createdBy, createdRole;
};
struct EntryContent
{
    qint64 id = 0, transactionId = 0, accountId = 0, amount = 0;
    QByteArray currency;
    qint64 effectiveAtMicros = 0, recordedAtMicros = 0, accountSeq = 0, balanceAfter = 0;
};
struct HeadContent
{
    qint64 accountId = 0;
    QString code;
    qint64 lastSeq = 0, balance = 0, lastRecordedAtMicros = 0;
};
// What readLedgerContent() delivers, in this order. A false return stops the read.
class LedgerContentSink
{
public:
    virtual ~LedgerContentSink() = default;
    virtual bool digestEvent(const DigestEvent &event) = 0;
    // Every transaction in id order with its entries (in no particular order).
    virtual bool transaction(const TransactionContent &t, std::vector<EntryContent> &&entries) = 0;
    // Entries whose transaction or account head is not in the ledger.
    virtual bool strayEntry(const EntryContent &entry, bool transactionMissing) = 0;
    // Every head in account id order, then that account's entries in sequence order.
    virtual bool head(const HeadContent &head) = 0;
    virtual bool accountEntry(const EntryContent &entry) = 0;
};
// One read-only snapshot of the digest events, the transactions and entries and the heads,
// read through BINARY cursors batchSize rows at a time. Needs console_auditor or
// console_compliance. Returns false when the sink stopped it.
bool readLedgerContent(Connection &connection, LedgerContentSink &sink, int batchSize = 4000);

// The SQL ledger check (ledger.verify_ledger): verifies and records an audit event.
LedgerVerification verifyLedgerInSql(Connection &connection);
// Records the C++ ledger verifier's result as a ledger.verified event.
void recordLedgerVerification(Connection &connection, const QJsonObject &result);

} // namespace AuditRepository
} // namespace ledger
