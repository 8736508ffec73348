#pragma once

#include "Error.h"
#include "Money.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace ledger {

// Reversal requests and their decisions, as the console and ledgerctl see them. The rules
// (reason codes, four eyes, one pending request per transaction, expiry, idempotent keys)
// live in the database (migrations 0004, 0021, 0026); these types only carry them.

struct ReasonCode
{
    QString code;
    QString description;
    bool takesRebook = false; // WRONG_AMOUNT, WRONG_ACCOUNT, WRONG_DATE
};

// One leg: exact decimal amount in the currency's units, signed (debit positive).
struct PreviewLeg
{
    QString account;
    QString accountName;
    QString currency;
    QString amount;
};

// What posting a reversal (and its rebook) would do to one account. Balances are on the
// account's normal side, in its currency.
struct BalanceImpact
{
    QString account;
    QString accountName;
    QString currency;
    Money before;            // the account's balance now
    Money afterReversal;     // after the reversal, before the rebook (approval posts them in turn)
    Money after;             // after the reversal and the rebook
    bool noNegative = false; // the account may not go below zero
    // noNegative and afterReversal or after < 0: the request is refused (each posting of an
    // approval is checked on its own)
    bool goesNegative = false;
};

// The corrected posting of "reverse and rebook", as the operator typed it.
struct RebookDraft
{
    QDateTime effectiveAt; // UTC
    QString description;
    QString externalRef;
    QList<PreviewLeg> legs; // accountName ignored
};

// A reversal request before it is sent. clientKey makes the submission idempotent: the
// same key (a double click, a retry after a lost connection, a second window) gives the
// first submission's request.
struct ReversalDraft
{
    qint64 transactionId = 0;
    QString reasonCode;
    QString note;
    std::optional<RebookDraft> rebook;
    QString clientKey;
};

// What a request would post, computed by the server without posting: for a draft
// (ledger.reversal_preview_draft) or for a stored request (ledger.reversal_preview).
// `digest` names exactly this content (stored requests only): an approval passes it back.
struct ReversalPreview
{
    qint64 requestId = 0; // 0 for a draft
    qint64 transactionId = 0;
    QString reasonCode;
    QString note;
    QString requestedBy;
    QDateTime requestedAt;
    QDateTime expiresAt;
    QString state;         // pending, approved, rejected, withdrawn, expired (empty for a draft)
    QDateTime effectiveAt; // of the original and its reversal
    QString originalDescription;
    QList<PreviewLeg> original;
    QList<PreviewLeg> reversal;
    bool hasRebook = false;
    QDateTime rebookEffectiveAt;
    QString rebookDescription;
    QList<PreviewLeg> rebook;
    QList<PreviewLeg> net;
    QList<BalanceImpact> balances; // one per account whose balance changes
    QStringList warnings;          // a person's words: e.g. "CUST-2 would go below zero"
    bool refused = false;          // some account would go below zero where it may not
    QString digest;
    QJsonObject document; // as the database returned it
};

struct ReversalDecision
{
    qint64 requestId = 0;
    QString decision; // approved, rejected, withdrawn, expired
    qint64 reversalTransactionId = 0;
    qint64 rebookTransactionId = 0;
    bool replayed = false; // the same key was decided before: this is that result
};

// One row of the approvals inbox or of "my requests".
struct ReversalRequestRow
{
    qint64 id = 0;
    qint64 transactionId = 0;
    QString reasonCode;
    QString note;
    bool rebook = false;
    QString requestedBy;
    QDateTime requestedAt;
    QDateTime expiresAt;
    QString state;    // pending, approved, rejected, withdrawn, expired
    QString amount;   // the original's debits in its currency (exact decimal)
    QString currency; // the original's currency; "" when it moved several
    QString accounts; // the original's account codes, comma separated
    QString transactionDescription;
    QString decidedBy;
    QDateTime decidedAt;
    QString decisionNote;
    qint64 reversalTransactionId = 0;
    qint64 rebookTransactionId = 0;
    bool ownRequest = false;   // requested by the signed-in operator
    int attempt = 0;           // the transaction's n-th request
    QJsonObject rebookRequest; // the corrected posting, normalised (empty without a rebook)
};

// What the inbox asks for; every filter is optional. Sorted by the server.
struct ReversalInboxQuery
{
    enum class Sort { Age, Amount, Requester, Reason, Id };
    QStringList states{QStringLiteral("pending")}; // empty: all states
    QString reasonCode;
    QString requestedBy;
    bool mineOnly = false; // requested by the signed-in operator
    QString account;       // the original moved this account (code, exact)
    QString minAmount;     // exact decimal, in the original's currency units
    QString maxAmount;
    std::optional<qint64> minAgeSeconds;
    std::optional<qint64> maxAgeSeconds;
    // Age sorts by the time requested: ascending = oldest first. Ties go by request id.
    Sort sort = Sort::Age;
    bool descending = false;
};

struct ReversalInboxPage
{
    QList<ReversalRequestRow> rows;
    qint64 total = 0; // rows matching the query
};

// One item of a bulk decision: each is its own database transaction and audit event.
struct BulkDecisionOutcome
{
    qint64 requestId = 0;
    bool decided = false;
    ReversalDecision decision; // decided
    Error error; // !decided: why (already reversed, decided by someone else, own request)
};

} // namespace ledger
