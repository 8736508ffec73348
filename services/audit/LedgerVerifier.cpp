#include "LedgerVerifier.h"

#include "Sha256.h"
#include "db/Connection.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtEndian>

#include <algorithm>
#include <limits>

namespace ledger {

using AuditRepository::DigestEvent;
using AuditRepository::EntryContent;
using AuditRepository::HeadContent;
using AuditRepository::TransactionContent;

namespace {

constexpr char kFormatTag[] = "ledger-tx-v1";

void appendInt64(QByteArray &out, qint64 value)
{
    char bytes[8];
    qToBigEndian<qint64>(value, bytes);
    out.append(bytes, 8);
}

void appendInt32(QByteArray &out, qint32 value)
{
    char bytes[4];
    qToBigEndian<qint32>(value, bytes);
    out.append(bytes, 4);
}

void appendField(QByteArray &out, const QByteArray *value)
{
    appendInt32(out, value ? qint32(value->size()) : -1);
    if (value)
        out.append(*value);
}

// A transaction id as the events write it: decimal digits only, at most 18.
std::optional<qint64> idOf(QByteArrayView text)
{
    if (text.isEmpty() || text.size() > 18)
        return std::nullopt;
    qint64 v = 0;
    for (const char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

std::optional<QByteArray> digestFromHex(const QJsonValue &value)
{
    if (!value.isString())
        return std::nullopt;
    const QString s = value.toString();
    if (s.size() != 64)
        return std::nullopt;
    for (const QChar c : s) {
        if (!c.isDigit() && !(c >= QLatin1Char('a') && c <= QLatin1Char('f')))
            return std::nullopt;
    }
    return QByteArray::fromHex(s.toLatin1());
}

QString decimal(WideSum v)
{
    if (v >= std::numeric_limits<qint64>::min() && v <= std::numeric_limits<qint64>::max())
        return QString::number(qint64(v));
    const bool negative = v < 0;
    QString digits;
    do {
        const int d = int(v % 10);
        digits.prepend(QChar(u'0' + (negative ? -d : d)));
        v /= 10;
    } while (v != 0);
    return negative ? QLatin1Char('-') + digits : digits;
}

} // namespace

LedgerVerifier::LedgerVerifier(const std::atomic_bool *cancel)
    : m_cancel(cancel)
{}

QByteArray LedgerVerifier::encode(const TransactionContent &t, std::vector<EntryContent> entries)
{
    std::sort(entries.begin(), entries.end(),
              [](const EntryContent &a, const EntryContent &b) { return a.id < b.id; });
    QByteArray out;
    out.reserve(12 + 8 * 4 + 4 * 7 + 32 + t.idempotencyKey.size() + t.kind.size() +
                t.description.size() + (t.externalRef ? t.externalRef->size() : 0) +
                t.createdBy.size() + t.createdRole.size() +
                qsizetype(entries.size()) * (8 * 7 + 4 + 3));
    out.append(kFormatTag, int(sizeof(kFormatTag) - 1));
    appendInt64(out, t.id);
    appendField(out, &t.idempotencyKey);
    out.append(t.requestHash);
    appendField(out, &t.kind);
    appendInt64(out, t.effectiveAtMicros);
    appendInt64(out, t.recordedAtMicros);
    appendInt64(out, t.reverses);
    appendField(out, &t.description);
    appendField(out, t.externalRef ? &*t.externalRef : nullptr);
    appendField(out, &t.createdBy);
    appendField(out, &t.createdRole);
    appendInt32(out, qint32(entries.size()));
    for (const EntryContent &e : entries) {
        appendInt64(out, e.id);
        appendInt64(out, e.accountId);
        appendInt64(out, e.amount);
        appendField(out, &e.currency);
        appendInt64(out, e.effectiveAtMicros);
        appendInt64(out, e.recordedAtMicros);
        appendInt64(out, e.accountSeq);
        appendInt64(out, e.balanceAfter);
    }
    return out;
}

QByteArray LedgerVerifier::digestOf(const TransactionContent &t, std::vector<EntryContent> entries)
{
    thread_local Sha256 sha;
    sha.reset();
    sha.add(encode(t, std::move(entries)));
    return sha.result();
}

void LedgerVerifier::record(qint64 transaction, const DigestEvent &event, const QByteArray &digest)
{
    Recorded r;
    r.transaction = transaction;
    r.seq = event.seq;
    r.seqOrder = event.seq.value_or(std::numeric_limits<qint64>::max());
    r.eventId = event.id;
    std::copy_n(digest.constData(), 32, r.digest.begin());
    m_recorded.push_back(r);
}

bool LedgerVerifier::digestEvent(const DigestEvent &event)
{
    const QJsonObject details = QJsonDocument::fromJson(event.details).object();
    if (event.action == "transaction.posted") {
        if (event.objectType != "transaction" || !event.objectId)
            return go();
        const auto id = idOf(*event.objectId);
        const auto digest = digestFromHex(details.value(QLatin1String("digest")));
        if (id && digest)
            record(*id, event, *digest);
    } else if (event.action == "ledger.attested") {
        const QJsonObject digests = details.value(QLatin1String("digests")).toObject();
        for (auto it = digests.begin(); it != digests.end(); ++it) {
            const auto id = idOf(QByteArrayView(it.key().toLatin1()));
            const auto digest = digestFromHex(it.value());
            if (id && digest)
                record(*id, event, *digest);
        }
    }
    return go();
}

void LedgerVerifier::prepareRecorded()
{
    if (m_prepared)
        return;
    m_prepared = true;
    // Per transaction the first digest the chain holds: sealed ones in chain order, then
    // unsealed ones in id order.
    std::sort(m_recorded.begin(), m_recorded.end(), [](const Recorded &a, const Recorded &b) {
        return std::tie(a.transaction, a.seqOrder, a.eventId) <
               std::tie(b.transaction, b.seqOrder, b.eventId);
    });
    m_recorded.erase(std::unique(m_recorded.begin(), m_recorded.end(),
                                 [](const Recorded &a, const Recorded &b) {
                                     return a.transaction == b.transaction;
                                 }),
                     m_recorded.end());
}

QString LedgerVerifier::where(const Recorded &r, bool sealedWording)
{
    if (r.seq)
        return sealedWording ? QStringLiteral("sealed at sequence %1").arg(*r.seq)
                             : QStringLiteral("sequence %1").arg(*r.seq);
    return QStringLiteral("event %1, not yet sealed").arg(r.eventId);
}

void LedgerVerifier::deletedUpTo(qint64 id)
{
    for (; m_next < m_recorded.size() && m_recorded[m_next].transaction < id; ++m_next) {
        const Recorded &r = m_recorded[m_next];
        brokenTransaction(r.transaction,
                          QStringLiteral("deleted: its digest is on record (%1) but "
                                         "the transaction is no longer in the ledger")
                              .arg(where(r, false)));
    }
}

void LedgerVerifier::brokenTransaction(qint64 id, const QString &reason)
{
    if (!m_brokenTransactions.insert(id).second) {
        // Noted before: keep the reason that sorts first, as the SQL verifier does.
        if (m_result.firstTransaction == id && reason < m_result.transactionReason)
            m_result.transactionReason = reason;
        return;
    }
    ++m_result.transactionsBroken;
    if (!m_result.firstTransaction || id < *m_result.firstTransaction) {
        m_result.firstTransaction = id;
        m_result.transactionReason = reason;
    }
}

bool LedgerVerifier::transaction(const TransactionContent &t, std::vector<EntryContent> &&entries)
{
    prepareRecorded();
    ++m_result.transactionsChecked;
    deletedUpTo(t.id);
    const bool onRecord = m_next < m_recorded.size() && m_recorded[m_next].transaction == t.id;
    if (!onRecord) {
        brokenTransaction(t.id, QStringLiteral("no digest on record: it was not written by the "
                                               "ledger's posting functions"));
        return go();
    }
    const Recorded &r = m_recorded[m_next++];
    const QByteArray digest = digestOf(t, std::move(entries));
    if (digest != QByteArray::fromRawData(r.digest.data(), 32))
        brokenTransaction(t.id, QStringLiteral("its rows (transaction or entries) differ from "
                                               "the digest on record (%1)")
                                    .arg(where(r, true)));
    return go();
}

bool LedgerVerifier::strayEntry(const EntryContent &entry, bool transactionMissing)
{
    if (transactionMissing)
        brokenTransaction(entry.transactionId,
                          QStringLiteral("entry %1 names it, but the transaction is not in the "
                                         "ledger")
                              .arg(entry.id));
    else
        brokenAccount(entry.accountId, QString(), QStringLiteral("it has entries but no head"));
    return go();
}

void LedgerVerifier::brokenAccount(qint64 id, const QString &code, const QString &reason)
{
    ++m_result.accountsBroken;
    if (m_result.accountsBroken == 1 || id < m_firstBrokenAccountId) {
        m_firstBrokenAccountId = id;
        m_result.firstAccount =
            code.isEmpty() ? QStringLiteral("an account no longer in the ledger") : code;
        m_result.accountReason = reason;
    }
}

bool LedgerVerifier::head(const HeadContent &head)
{
    closeAccount();
    ++m_result.accountsChecked;
    m_account = Account{};
    m_account->head = head;
    return go();
}

bool LedgerVerifier::accountEntry(const EntryContent &entry)
{
    if (!m_account)
        return go();
    Account &a = *m_account;
    ++a.entries;
    ++m_result.entriesChecked;
    if (!a.seqGap && entry.accountSeq != a.entries)
        a.seqGap = entry.accountSeq;
    a.total += entry.amount;
    if (!a.balanceOff && WideSum(entry.balanceAfter) != a.total)
        a.balanceOff = entry.accountSeq;
    a.lastRecordedMicros = a.entries == 1 ? entry.recordedAtMicros
                                          : qMax(a.lastRecordedMicros, entry.recordedAtMicros);
    return go();
}

void LedgerVerifier::closeAccount()
{
    if (!m_account)
        return;
    const Account a = *m_account;
    m_account.reset();
    const HeadContent &h = a.head;
    QString reason;
    if (a.seqGap)
        reason = QStringLiteral("entry sequence numbers are not 1..%1: entry %2 of the account "
                                "is out of place")
                     .arg(a.entries)
                     .arg(*a.seqGap);
    else if (a.balanceOff)
        reason = QStringLiteral("the running balance of its entry %1 is not the sum of the "
                                "amounts up to it")
                     .arg(*a.balanceOff);
    else if (h.lastSeq != a.entries)
        reason = QStringLiteral("its head counts %1 entries; the ledger holds %2")
                     .arg(h.lastSeq)
                     .arg(a.entries);
    else if (WideSum(h.balance) != a.total)
        reason = QStringLiteral("its head says %1; its entries add up to %2 (minor units, debit "
                                "positive)")
                     .arg(h.balance)
                     .arg(decimal(a.total));
    else if (a.entries > 0 && h.lastRecordedAtMicros != a.lastRecordedMicros)
        reason = QStringLiteral("its head's last recorded time is not that of its last entry");
    if (!reason.isEmpty())
        brokenAccount(h.accountId, h.code, reason);
}

LedgerVerification LedgerVerifier::finish()
{
    prepareRecorded();
    closeAccount();
    if (!go()) {
        LedgerVerification cancelled;
        cancelled.cancelled = true;
        return cancelled;
    }
    deletedUpTo(std::numeric_limits<qint64>::max());
    // The entries counted are those the account pass read (every entry has an account).
    return m_result;
}

LedgerVerification verifyLedger(Connection &connection, const std::atomic_bool *cancel)
{
    QElapsedTimer timer;
    timer.start();
    // The chain first, as the chain's verifier does: a commit seals at most every
    // seal_every (0060), so the newest digests may still wait for their sequence numbers.
    AuditRepository::seal(connection);
    LedgerVerifier verifier(cancel);
    AuditRepository::readLedgerContent(connection, verifier);
    LedgerVerification result = verifier.finish();
    result.seconds = double(timer.nsecsElapsed()) / 1e9;
    if (result.cancelled)
        return result; // a cancelled run proves nothing and is not recorded
    QJsonObject record{{QStringLiteral("transactions_checked"), result.transactionsChecked},
                       {QStringLiteral("entries_checked"), result.entriesChecked},
                       {QStringLiteral("accounts_checked"), result.accountsChecked},
                       {QStringLiteral("transactions_broken"), result.transactionsBroken},
                       {QStringLiteral("accounts_broken"), result.accountsBroken},
                       {QStringLiteral("seconds"), result.seconds}};
    if (result.firstTransaction) {
        // As a string: an id never passes through a double.
        record.insert(QStringLiteral("first_transaction"),
                      QString::number(*result.firstTransaction));
        record.insert(QStringLiteral("transaction_reason"), result.transactionReason.left(500));
    }
    if (result.accountsBroken > 0) {
        record.insert(QStringLiteral("first_account"), result.firstAccount.left(100));
        record.insert(QStringLiteral("account_reason"), result.accountReason.left(500));
    }
    AuditRepository::recordLedgerVerification(connection, record);
    return result;
}

} // namespace ledger
