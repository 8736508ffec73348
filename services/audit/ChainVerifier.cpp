#include "ChainVerifier.h"

#include "Sha256.h"
#include "db/Connection.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QtEndian>

#include <algorithm>
#include <chrono>
#include <thread>

namespace ledger {

namespace {

constexpr char kFormatTag[] = "ledger-audit-v1";

void appendInt64(QByteArray &out, qint64 value)
{
    char bytes[8];
    qToBigEndian<qint64>(value, bytes);
    out.append(bytes, 8);
}

void appendField(QByteArray &out, const QByteArray *value)
{
    char bytes[4];
    qToBigEndian<qint32>(value ? qint32(value->size()) : -1, bytes);
    out.append(bytes, 4);
    if (value)
        out.append(*value);
}

} // namespace

// --- ChainVerifier -------------------------------------------------------------------------

ChainVerifier::ChainVerifier(QList<ChainMark> marks, qint64 firstSeq)
    : m_marks(std::move(marks))
    , m_firstSeq(qMax<qint64>(1, firstSeq))
    , m_prev(m_firstSeq == 1 ? genesisHash() : QByteArray())
    , m_expected(m_firstSeq)
{
    std::stable_sort(m_marks.begin(), m_marks.end(),
                     [](const ChainMark &a, const ChainMark &b) { return a.seq < b.seq; });
    // Marks at sequence 0 say nothing (an empty chain); earlier segments check theirs.
    while (m_nextMark < m_marks.size() && m_marks.at(m_nextMark).seq < m_expected)
        ++m_nextMark;
    m_result.verifiedThrough = m_expected - 1;
}

QByteArray ChainVerifier::genesisHash()
{
    return QByteArray(32, '\0');
}

QByteArray ChainVerifier::encode(const AuditRepository::ChainRow &row)
{
    QByteArray out;
    out.reserve(15 + 16 + 7 * 4 + row.operatorName.size() + row.sessionRole.size() +
                row.action.size() + row.objectType.size() +
                (row.objectId ? row.objectId->size() : 0) + row.details.size() +
                row.clientInfo.size());
    out.append(kFormatTag, int(sizeof(kFormatTag) - 1));
    appendInt64(out, row.id);
    appendInt64(out, row.occurredAtMicros);
    appendField(out, &row.operatorName);
    appendField(out, &row.sessionRole);
    appendField(out, &row.action);
    appendField(out, &row.objectType);
    appendField(out, row.objectId ? &*row.objectId : nullptr);
    appendField(out, &row.details);
    appendField(out, &row.clientInfo);
    return out;
}

QByteArray ChainVerifier::hashOf(const QByteArray &prevHash, const AuditRepository::ChainRow &row)
{
    // One context per thread, reused: verifying is one long loop of short hashes.
    thread_local Sha256 sha;
    sha.reset();
    sha.add(prevHash);
    sha.add(encode(row));
    return sha.result();
}

void ChainVerifier::setHashLocator(std::function<std::optional<qint64>(const QByteArray &)> locator)
{
    m_locator = std::move(locator);
}

void ChainVerifier::breakAt(qint64 seq, const QString &reason)
{
    m_result.brokenAt = seq;
    m_result.reason = reason;
}

bool ChainVerifier::feed(const AuditRepository::ChainRow &row)
{
    if (m_result.brokenAt)
        return false;
    if (row.seq != m_expected) {
        breakAt(
            m_expected,
            row.seq < m_expected
                ? QStringLiteral("order changed: sequence %1 appears more than once").arg(row.seq)
                : QStringLiteral("row missing: sequence %1 is absent (the next row is %2)")
                      .arg(m_expected)
                      .arg(row.seq));
        return false;
    }
    if (hashOf(row.prevHash, row) != row.hash) {
        breakAt(row.seq, QStringLiteral("row changed: event %1 (sequence %2) no longer matches "
                                        "its hash")
                             .arg(row.id)
                             .arg(row.seq));
        return false;
    }
    if (m_prev.isEmpty() && m_firstPrev.isNull()) {
        m_firstPrev = row.prevHash; // a later segment: see linkAfter()
    } else if (row.prevHash != m_prev) {
        breakUnlinked(row.seq, row.prevHash);
        return false;
    }
    while (m_nextMark < m_marks.size() && m_marks.at(m_nextMark).seq == row.seq) {
        const ChainMark &mark = m_marks.at(m_nextMark);
        if (mark.hash != row.hash) {
            breakAt(row.seq, QStringLiteral("chain rewritten: the hash at sequence %1 differs "
                                            "from %2")
                                 .arg(row.seq)
                                 .arg(mark.source));
            return false;
        }
        ++m_nextMark;
    }
    m_prev = row.hash;
    m_result.verifiedThrough = row.seq;
    ++m_result.eventsChecked;
    ++m_expected;
    return true;
}

// The row at seq does not link to the one before it. Whether it was moved or the row
// before it removed needs a look elsewhere in the chain: finish() asks the locator.
void ChainVerifier::breakUnlinked(qint64 seq, const QByteArray &prevHash)
{
    m_unlinkedPrev = prevHash;
    breakAt(seq, QStringLiteral("row missing: the event chained before sequence %1 is no longer "
                                "in the table")
                     .arg(seq));
}

void ChainVerifier::linkAfter(const QByteArray &previousHash)
{
    if (m_result.cancelled || m_firstPrev.isNull() || m_firstPrev == previousHash)
        return;
    // The join is broken: that comes first, whatever this segment found further on.
    const qint64 first = m_firstSeq;
    m_result = {};
    m_result.verifiedThrough = first - 1;
    breakUnlinked(first, m_firstPrev);
}

VerificationResult ChainVerifier::finish(std::optional<qint64> segmentEnd)
{
    if (m_result.brokenAt && !m_unlinkedPrev.isEmpty() && m_locator) {
        if (const auto other = m_locator(m_unlinkedPrev))
            m_result.reason = QStringLiteral("order changed: the row at sequence %1 was chained "
                                             "after sequence %2")
                                  .arg(*m_result.brokenAt)
                                  .arg(*other);
    }
    if (segmentEnd) {
        if (!m_result.brokenAt && !m_result.cancelled && m_expected <= *segmentEnd)
            breakAt(m_expected,
                    QStringLiteral("row missing: sequence %1 is absent").arg(m_expected));
        return m_result;
    }
    if (!m_result.brokenAt && !m_result.cancelled && m_nextMark < m_marks.size()) {
        const ChainMark &mark = m_marks.at(m_nextMark);
        breakAt(m_expected, QStringLiteral("rows missing: the chain ends at sequence %1 but %2 "
                                           "covers sequence %3")
                                .arg(m_result.verifiedThrough)
                                .arg(mark.source)
                                .arg(mark.seq));
    }
    return m_result;
}

void ChainVerifier::cancel()
{
    m_result.cancelled = true;
}

// --- the whole run ------------------------------------------------------------------------

namespace {

// Reads and verifies one segment of the chain on `connection` (the calling thread's).
// Returns false when it stopped early because of `stop` (cancel, or the other segment broke).
bool runSegment(Connection &connection, qint64 after, qint64 through, ChainVerifier &verifier,
                std::atomic<qint64> &fed, const std::atomic_bool &stop,
                const std::function<void()> &afterBatch)
{
    constexpr int kBatch = 4000;
    bool stopped = false;
    AuditRepository::readChain(connection, after, through, kBatch,
                               [&](std::vector<AuditRepository::ChainRow> &&rows) {
                                   for (const auto &row : rows) {
                                       if (!verifier.feed(row))
                                           return false;
                                   }
                                   fed += qint64(rows.size());
                                   if (afterBatch)
                                       afterBatch();
                                   if (stop.load()) {
                                       stopped = true;
                                       return false;
                                   }
                                   return true;
                               });
    return !stopped;
}

// Below this many events one connection is as quick as two.
constexpr qint64 kSplitFrom = 50000;

} // namespace

VerificationResult verifyChain(Connection &connection, const QList<ChainMark> &extraMarks,
                               const std::function<void(qint64, qint64)> &progress,
                               const std::atomic_bool *cancel)
{
    QElapsedTimer timer;
    timer.start();
    auto cancelled = [cancel] { return cancel && cancel->load(); };
    const qint64 sealed = AuditRepository::seal(connection);
    const AuditRepository::ChainHead head = AuditRepository::head(connection);

    QList<ChainMark> marks = extraMarks;
    for (const auto &c : AuditRepository::checkpoints(connection)) {
        marks.append(
            {c.seq, c.hash,
             QStringLiteral("checkpoint #%1 of %2")
                 .arg(c.id)
                 .arg(c.issuedAt.toUTC().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss 'UTC'")))});
    }
    if (progress)
        progress(0, head.seq);

    std::atomic<qint64> fed{0};
    std::atomic_bool stop{cancelled()};
    auto poll = [&] {
        if (progress)
            progress(fed.load(), head.seq);
        if (cancelled())
            stop = true;
    };

    const bool split = head.seq >= kSplitFrom;
    const qint64 mid = split ? head.seq / 2 : head.seq;
    ChainVerifier first(marks, 1);
    ChainVerifier second(marks, mid + 1);
    // The second half on its own connection and thread. If that connection cannot be had
    // (a connection limit, say), this thread reads the second half after the first.
    std::atomic_bool secondDone{false};
    std::atomic_bool secondOnThisThread{false};
    std::exception_ptr secondFailure;
    std::thread secondReader;
    if (split && !stop) {
        secondReader = std::thread([&] {
            std::unique_ptr<Connection> sibling;
            try {
                sibling = connection.openSibling();
            } catch (...) {
                secondOnThisThread = true;
                secondDone = true;
                return;
            }
            try {
                runSegment(*sibling, mid, head.seq, second, fed, stop, {});
            } catch (...) {
                secondFailure = std::current_exception();
                stop = true;
            }
            secondDone = true;
        });
    }
    auto stopSecond = [&] {
        if (secondReader.joinable())
            secondReader.join();
    };
    try {
        if (!stop)
            runSegment(connection, 0, mid, first, fed, stop, poll);
        if (first.verifiedThrough() < mid && !stop)
            stop = true; // the first half is broken: the second cannot change the answer
        // The calling thread keeps reporting progress and watching Cancel meanwhile.
        while (secondReader.joinable() && !secondDone) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            poll();
        }
        stopSecond();
        if (secondOnThisThread && !stop)
            runSegment(connection, mid, head.seq, second, fed, stop, poll);
    } catch (...) {
        stop = true;
        stopSecond();
        throw;
    }
    if (secondFailure && first.verifiedThrough() >= mid)
        std::rethrow_exception(secondFailure);

    const bool wasCancelled = cancelled();
    if (wasCancelled) {
        first.cancel();
        second.cancel();
    }
    const auto locator = [&connection](const QByteArray &h) {
        return AuditRepository::seqOfHash(connection, h);
    };
    first.setHashLocator(locator);
    VerificationResult result = first.finish(split ? std::optional(mid) : std::nullopt);
    if (split && !result.brokenAt && !result.cancelled) {
        second.linkAfter(first.lastHash()); // the second half starts where the first ended
        second.setHashLocator(locator);
        const VerificationResult tail = second.finish();
        result.brokenAt = tail.brokenAt;
        result.reason = tail.reason;
        result.verifiedThrough = tail.verifiedThrough;
        result.eventsChecked += tail.eventsChecked;
    }
    if (wasCancelled) {
        result.cancelled = true;
        result.brokenAt.reset();
        result.reason.clear();
    }
    result.unsealedBefore = sealed;
    result.seconds = double(timer.nsecsElapsed()) / 1e9;
    if (result.cancelled)
        return result; // a cancelled run proves nothing and is not recorded
    if (progress)
        progress(head.seq, head.seq);
    // The hash of the last row found intact: the database checks it against its chain, so
    // a recorded verification is one that read the chain that far.
    const QByteArray hashAtVerified =
        split && result.verifiedThrough > mid && !second.lastHash().isEmpty() ? second.lastHash()
                                                                              : first.lastHash();
    QJsonObject record{
        {QStringLiteral("verified_through"), result.verifiedThrough},
        {QStringLiteral("hash_at_verified"), QString::fromLatin1(hashAtVerified.toHex())},
        {QStringLiteral("events_checked"), result.eventsChecked},
        {QStringLiteral("seconds"), result.seconds}};
    if (result.brokenAt) {
        record.insert(QStringLiteral("broken_at"), *result.brokenAt);
        record.insert(QStringLiteral("reason"), result.reason);
    }
    if (!extraMarks.isEmpty())
        record.insert(QStringLiteral("checkpoint_seq"), extraMarks.constLast().seq);
    AuditRepository::recordVerification(connection, record);
    return result;
}

} // namespace ledger
