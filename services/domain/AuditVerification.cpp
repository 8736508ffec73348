#include "AuditVerification.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QStringList>

namespace ledger {

namespace {

constexpr char kCheckpointFormat[] = "ledger-audit-checkpoint";

QString hex(const QByteArray &bytes)
{
    return QString::fromLatin1(bytes.toHex());
}

std::optional<QByteArray> hashFromHex(const QJsonValue &value)
{
    const QString s = value.toString();
    if (s.size() != 64)
        return std::nullopt;
    for (const QChar c : s) {
        if (!c.isDigit() && !(c >= QLatin1Char('a') && c <= QLatin1Char('f')) &&
            !(c >= QLatin1Char('A') && c <= QLatin1Char('F')))
            return std::nullopt;
    }
    return QByteArray::fromHex(s.toLatin1());
}

} // namespace

// --- CheckpointFile ------------------------------------------------------------------------

QByteArray CheckpointFile::toJson() const
{
    QJsonArray anchorList;
    for (const auto &[seqNo, h] : anchors)
        anchorList.append(QJsonArray{seqNo, hex(h)});
    QJsonObject o{{QStringLiteral("format"), QString::fromLatin1(kCheckpointFormat)},
                  {QStringLiteral("version"), 1},
                  {QStringLiteral("checkpoint_id"), checkpointId},
                  {QStringLiteral("seq"), seq},
                  {QStringLiteral("hash"), hex(hash)},
                  {QStringLiteral("issued_at"), issuedAt.toUTC().toString(Qt::ISODateWithMs)},
                  {QStringLiteral("database"), database},
                  {QStringLiteral("anchor_every"), anchorEvery},
                  {QStringLiteral("anchors"), anchorList}};
    return QJsonDocument(o).toJson(QJsonDocument::Indented);
}

std::optional<CheckpointFile> CheckpointFile::fromJson(const QByteArray &json, QString *error)
{
    auto fail = [error](const QString &why) -> std::optional<CheckpointFile> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return fail(QStringLiteral("The checkpoint file is not valid JSON (%1 at byte %2).")
                        .arg(parseError.errorString())
                        .arg(parseError.offset));
    const QJsonObject o = doc.object();
    if (o.value(QStringLiteral("format")).toString() != QLatin1String(kCheckpointFormat) ||
        o.value(QStringLiteral("version")).toInt() != 1)
        return fail(QStringLiteral(
            "This is not a Ledger Console audit checkpoint file (format version 1)."));
    CheckpointFile c;
    // Ids and sequence numbers are whole 64-bit numbers: read as integers (toInteger), never
    // through a double, which holds integers exactly only up to 2^53 and would silently
    // move a large sequence number to its neighbour.
    c.checkpointId = o.value(QStringLiteral("checkpoint_id")).toInteger();
    c.seq = o.value(QStringLiteral("seq")).toInteger(-1);
    if (c.seq < 0)
        return fail(QStringLiteral("The checkpoint file has no valid sequence number."));
    const auto head = hashFromHex(o.value(QStringLiteral("hash")));
    if (!head)
        return fail(QStringLiteral("The checkpoint file's hash is not 64 hex digits."));
    c.hash = *head;
    c.issuedAt =
        QDateTime::fromString(o.value(QStringLiteral("issued_at")).toString(), Qt::ISODateWithMs);
    c.database = o.value(QStringLiteral("database")).toString();
    c.anchorEvery = o.value(QStringLiteral("anchor_every")).toInt();
    qint64 last = 0;
    for (const QJsonValue &v : o.value(QStringLiteral("anchors")).toArray()) {
        const QJsonArray pair = v.toArray();
        const qint64 s = pair.at(0).toInteger(-1);
        const auto h = hashFromHex(pair.at(1));
        if (pair.size() != 2 || s <= last || s > c.seq || !h)
            return fail(QStringLiteral("The checkpoint file's anchor list is damaged near "
                                       "sequence %1.")
                            .arg(last + 1));
        if (s == c.seq && *h != c.hash)
            return fail(
                QStringLiteral("The checkpoint file contradicts itself at sequence %1.").arg(s));
        c.anchors.append({s, *h});
        last = s;
    }
    return c;
}

QList<ChainMark> CheckpointFile::marks(const QString &fileName) const
{
    // The name alone: the result line is read on a screen, the path is the user's own.
    const QString source =
        QStringLiteral("the checkpoint file %1 (issued %2)")
            .arg(QFileInfo(fileName).fileName(), issuedAt.toUTC().toString(Qt::ISODate));
    QList<ChainMark> out;
    for (const auto &[s, h] : anchors) {
        if (s != seq)
            out.append({s, h, source});
    }
    if (seq > 0)
        out.append({seq, hash, source});
    return out;
}

// --- VerificationResult --------------------------------------------------------------------

QString VerificationResult::summary() const
{
    if (cancelled)
        return QStringLiteral("Verification cancelled; sequences 1 to %1 were intact.")
            .arg(verifiedThrough);
    if (brokenAt)
        return QStringLiteral("Broken at sequence %1: %2").arg(*brokenAt).arg(reason);
    if (verifiedThrough == 0)
        return QStringLiteral("The audit trail is empty: nothing to verify.");
    return QStringLiteral("Verified through sequence %1 (%2 events).")
        .arg(verifiedThrough)
        .arg(eventsChecked);
}

QString LedgerVerification::summary() const
{
    if (cancelled)
        return QStringLiteral("Cancelled: the ledger check proves nothing.");
    if (intact())
        return QStringLiteral("%1 transactions, %2 entries and %3 accounts match their digests "
                              "and heads.")
            .arg(transactionsChecked)
            .arg(entriesChecked)
            .arg(accountsChecked);
    QStringList parts;
    if (transactionsBroken > 0)
        parts << QStringLiteral("transaction %1 (first of %2): %3")
                     .arg(firstTransaction.value_or(0))
                     .arg(transactionsBroken)
                     .arg(transactionReason);
    if (accountsBroken > 0)
        parts << QStringLiteral("account %1 (first of %2): %3")
                     .arg(firstAccount)
                     .arg(accountsBroken)
                     .arg(accountReason);
    return QStringLiteral("Ledger rows do not match: %1.").arg(parts.join(QStringLiteral("; ")));
}

} // namespace ledger
