#pragma once

#include "db/AuditRepository.h"
#include "domain/AuditVerification.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

#include <atomic>
#include <functional>
#include <optional>

namespace ledger {

class Connection;

// The C++ verifier: recomputes every hash from the rows it is fed, independently of the
// database's own functions, and checks the links and the marks. Feed rows in sequence
// order; it stops at the first break. Pure logic, any thread.
class ChainVerifier
{
public:
    // Marks in any order; several may share a sequence. A verifier for a later segment of
    // the chain starts at firstSeq; the link of its first row to the row before is checked
    // by linkAfter() once the segment before is done.
    explicit ChainVerifier(QList<ChainMark> marks = {}, qint64 firstSeq = 1);

    // The canonical encoding and hash of 0010_audit_chain.sql.
    static QByteArray encode(const AuditRepository::ChainRow &row);
    static QByteArray hashOf(const QByteArray &prevHash, const AuditRepository::ChainRow &row);
    static QByteArray genesisHash();

    // For telling "order changed" from "row missing": where else a hash appears.
    void setHashLocator(std::function<std::optional<qint64>(const QByteArray &)> locator);

    // False once the chain is found broken (further rows are ignored).
    bool feed(const AuditRepository::ChainRow &row);
    // For a later segment, after its rows: its first row must link to previousHash, the
    // last hash of the segment before; if not, the chain breaks there.
    void linkAfter(const QByteArray &previousHash);
    // The run was stopped before the end: finish() reports it as cancelled.
    void cancel();
    // Call after the last row. For the chain's last (or only) segment it checks the marks
    // beyond its end; for an earlier segment pass its last sequence number, which it must
    // have reached.
    VerificationResult finish(std::optional<qint64> segmentEnd = std::nullopt);

    qint64 verifiedThrough() const { return m_result.verifiedThrough; }
    QByteArray lastHash() const { return m_prev; }

private:
    void breakAt(qint64 seq, const QString &reason);
    void breakUnlinked(qint64 seq, const QByteArray &prevHash);

    QList<ChainMark> m_marks; // sorted by seq
    int m_nextMark = 0;
    std::function<std::optional<qint64>(const QByteArray &)> m_locator;
    qint64 m_firstSeq = 1;
    QByteArray m_prev; // empty: a later segment, link to be checked when joined
    QByteArray m_firstPrev;
    QByteArray m_unlinkedPrev; // the previous hash of the row whose link broke
    qint64 m_expected = 1;
    VerificationResult m_result;
};

// The whole client-side verification on a connection (a DbWorker job or ledgerctl): seals
// the tail, reads the chain in batches and verifies it against the issued checkpoints and
// the given file's marks, then records the result as an audit event (unless cancelled).
// A long chain is read in two halves at once, the second over connection.openSibling():
// two server processes render rows while two threads here hash them.
// progress(done, total) is called on the calling thread; cancel is polled between batches.
VerificationResult verifyChain(Connection &connection, const QList<ChainMark> &extraMarks,
                               const std::function<void(qint64, qint64)> &progress = {},
                               const std::atomic_bool *cancel = nullptr);

} // namespace ledger
