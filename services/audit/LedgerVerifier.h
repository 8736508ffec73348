#pragma once

#include "db/AuditRepository.h"
#include "domain/AuditVerification.h"

#include <QByteArray>
#include <QString>

#include <array>
#include <atomic>
#include <unordered_set>
#include <vector>

namespace ledger {

class Connection;

// The C++ ledger verifier: recomputes every transaction's digest from its rows with its own
// encoding (ledger-tx-v1, documented in 0030_ledger_digest.sql; nothing here calls the
// database's functions) and compares it with the first digest the audit chain holds for
// it; then checks every account's sequence numbers, running balances and head against its
// entries. Fed by AuditRepository::readLedgerContent in its order. Pure logic, any thread.
// Sums of 64-bit amounts, wide enough never to overflow (a tampered ledger may hold any
// values); __extension__ keeps -Wpedantic quiet about the type.
__extension__ typedef __int128 WideSum;

class LedgerVerifier final : public AuditRepository::LedgerContentSink
{
public:
    explicit LedgerVerifier(const std::atomic_bool *cancel = nullptr);

    // The canonical bytes and their SHA-256 (entries in any order: encoded in id order).
    static QByteArray encode(const AuditRepository::TransactionContent &t,
                             std::vector<AuditRepository::EntryContent> entries);
    static QByteArray digestOf(const AuditRepository::TransactionContent &t,
                               std::vector<AuditRepository::EntryContent> entries);

    bool digestEvent(const AuditRepository::DigestEvent &event) override;
    bool transaction(const AuditRepository::TransactionContent &t,
                     std::vector<AuditRepository::EntryContent> &&entries) override;
    bool strayEntry(const AuditRepository::EntryContent &entry, bool transactionMissing) override;
    bool head(const AuditRepository::HeadContent &head) override;
    bool accountEntry(const AuditRepository::EntryContent &entry) override;

    // After the last row.
    LedgerVerification finish();

private:
    struct Recorded
    {
        qint64 transaction = 0;
        qint64 seqOrder = 0; // the sequence number; unsealed ones after every sealed one
        qint64 eventId = 0;
        std::optional<qint64> seq;
        std::array<char, 32> digest{};
    };
    struct Account
    {
        AuditRepository::HeadContent head;
        qint64 entries = 0;
        WideSum total = 0;
        qint64 lastRecordedMicros = 0;
        std::optional<qint64> seqGap, balanceOff;
    };

    void record(qint64 transaction, const AuditRepository::DigestEvent &event,
                const QByteArray &digest);
    void prepareRecorded();
    void deletedUpTo(qint64 id); // recorded digests of transactions below id that never came
    void brokenTransaction(qint64 id, const QString &reason);
    void brokenAccount(qint64 id, const QString &code, const QString &reason);
    void closeAccount();
    bool go() const { return !(m_cancel && m_cancel->load()); }
    static QString where(const Recorded &r, bool sealedWording);

    const std::atomic_bool *m_cancel;
    std::vector<Recorded> m_recorded;
    bool m_prepared = false;
    size_t m_next = 0;
    std::unordered_set<qint64> m_brokenTransactions;
    std::optional<Account> m_account;
    LedgerVerification m_result;
    qint64 m_firstBrokenAccountId = 0;
};

// The whole client-side ledger check on a connection (a DbWorker job or ledgerctl): reads
// one snapshot, verifies it, and records the result as a ledger.verified event (unless
// cancelled).
LedgerVerification verifyLedger(Connection &connection, const std::atomic_bool *cancel = nullptr);

} // namespace ledger
