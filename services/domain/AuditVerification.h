#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QPair>
#include <QString>

#include <optional>

namespace ledger {

// Value types of the audit chain's verification, shared by the C++ verifier
// (audit/ChainVerifier), ledgerctl and the console's AuditService and verify panel.

// A point of the chain known from outside the database: a checkpoint file's head and
// anchors, or a row of audit.checkpoints. `source` names it in messages.
struct ChainMark
{
    qint64 seq = 0;
    QByteArray hash;
    QString source;
};

// A checkpoint file (`ledgerctl audit checkpoint --out FILE`): JSON with the head, the
// time it was issued, and the hashes at every anchorEvery-th sequence up to the head.
struct CheckpointFile
{
    qint64 checkpointId = 0;
    qint64 seq = 0;
    QByteArray hash;
    QDateTime issuedAt;
    QString database;
    int anchorEvery = 0;
    QList<QPair<qint64, QByteArray>> anchors;

    QByteArray toJson() const;
    // Parses and checks a file's contents; on error returns nullopt and sets *error to a
    // sentence saying what is wrong.
    static std::optional<CheckpointFile> fromJson(const QByteArray &json, QString *error);
    QList<ChainMark> marks(const QString &fileName) const;
};

struct VerificationResult
{
    qint64 verifiedThrough = 0;     // last sequence checked and intact
    std::optional<qint64> brokenAt; // first broken sequence
    QString reason;
    qint64 eventsChecked = 0;
    qint64 unsealedBefore = 0; // events sealed by the verifier before it read
    bool cancelled = false;
    double seconds = 0;

    bool intact() const { return !brokenAt && !cancelled; }
    // "Verified through sequence N (M events)." / "Broken at sequence N: ..." / "Cancelled ..."
    QString summary() const;
};

// The ledger's own check (0030_ledger_digest.sql; the C++ one in audit/LedgerVerifier):
// every transaction's rows against the digest the chain holds for it, and every account's
// sequence numbers, running balances and head against its entries.
struct LedgerVerification
{
    qint64 transactionsChecked = 0;
    qint64 entriesChecked = 0;
    qint64 accountsChecked = 0;
    qint64 transactionsBroken = 0;
    std::optional<qint64> firstTransaction; // the lowest id whose rows do not match
    QString transactionReason;
    qint64 accountsBroken = 0;
    QString firstAccount; // the code of the lowest account id that disagrees
    QString accountReason;
    bool cancelled = false;
    double seconds = 0;

    bool intact() const { return transactionsBroken == 0 && accountsBroken == 0 && !cancelled; }
    // "N transactions, M entries and K accounts match." or what broke first.
    QString summary() const;
};

} // namespace ledger
