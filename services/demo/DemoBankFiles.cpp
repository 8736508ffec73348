#include "DemoBankFiles.h"

#include "domain/Money.h"
#include "statement/Camt053Writer.h"

#include <QBuffer>

#include <algorithm>

namespace ledger::DemoBankFiles {

namespace {

constexpr qint64 kFakeTransaction = 990000000; // bank references of lines the ledger lacks

// The index of the first line at or after `from` that satisfies `ok`, or -1.
template <class F> int find(const QList<StatementLine> &lines, int from, F ok)
{
    for (int i = from; i < lines.size(); ++i)
        if (ok(lines.at(i)))
            return i;
    return -1;
}

StatementLine bankLine(const StatementLine &model, qint64 amount, qint64 fakeId)
{
    StatementLine l = model;
    l.amountMinor = amount;
    l.transactionId = fakeId;
    l.entryId = 0;
    l.reference.clear(); // the ledger knows no reference for it
    l.reverses = 0;
    l.kind = QStringLiteral("posting");
    return l;
}

} // namespace

Result<Planted> plant(Statement &s, bool unbalanced)
{
    QList<StatementLine> &lines = s.lines;
    if (lines.size() < 12)
        return Error::make(Error::Kind::Input,
                           QStringLiteral("%1 has %2 entries in the period: a demo bank statement "
                                          "needs at least 12. Seed more history first.")
                               .arg(s.accountCode)
                               .arg(lines.size()));
    Planted planted;
    qint64 fake = kFakeTransaction;
    // The bank reports what happened, not what the ledger calls a reversal: no RvslInd.
    for (StatementLine &l : lines) {
        l.reverses = 0;
        l.kind = QStringLiteral("posting");
    }
    const auto withReference = [](const StatementLine &l) { return !l.reference.isEmpty(); };

    // Two entries from the period's first days the bank does not show.
    lines.removeAt(1);
    lines.removeAt(2);
    planted[QStringLiteral("missing_in_statement")] = 2;

    const int middle = int(lines.size()) / 2;
    // One amount off by 0.50, one date ten days late (both keep their reference).
    if (const int i = find(lines, middle, withReference); i >= 0) {
        lines[i].amountMinor += lines[i].amountMinor < 0 ? -50 : 50;
        planted[QStringLiteral("amount_mismatch")] = 1;
        if (const int j = find(lines, i + 1, withReference); j >= 0) {
            lines[j].valueAt = lines[j].valueAt.addDays(10);
            planted[QStringLiteral("date_out_of_tolerance")] = 1;
            // One line sent twice, the second time with another date.
            if (const int k = find(lines, j + 1, withReference); k >= 0) {
                StatementLine again = lines.at(k);
                again.valueAt = again.valueAt.addDays(1);
                again.bookedAt = again.bookedAt.addDays(1);
                lines.insert(k + 1, again);
                planted[QStringLiteral("duplicate_line")] = 1;
            }
        }
    }
    // A line no other line resembles (amount and day): what a split or a merge of it makes
    // can only be matched one way.
    const auto distinct = [&](const StatementLine &l) {
        int same = 0;
        for (const StatementLine &o : lines)
            same += o.amountMinor == l.amountMinor && o.valueAt.date() == l.valueAt.date();
        return same == 1 && l.transactionId < kFakeTransaction && qAbs(l.amountMinor) >= 1000;
    };
    // One entry paid out in two lines (40% and 60%), without references.
    const int split = find(lines, int(lines.size()) / 4, distinct);
    if (split >= 0) {
        const StatementLine whole = lines.at(split);
        const qint64 first = whole.amountMinor * 2 / 5;
        lines[split] = bankLine(whole, first, ++fake);
        lines.insert(split + 1, bankLine(whole, whole.amountMinor - first, ++fake));
        planted[QStringLiteral("many_to_one")] = 1;
    }
    // Two entries of the same sign and day settled as one line.
    for (int i = int(lines.size()) * 3 / 4; i + 1 < lines.size(); ++i) {
        const StatementLine &a = lines.at(i);
        const StatementLine &b = lines.at(i + 1);
        if (!distinct(a) || !distinct(b) || (a.amountMinor < 0) != (b.amountMinor < 0) ||
            a.valueAt.date() != b.valueAt.date())
            continue;
        const StatementLine merged = bankLine(a, a.amountMinor + b.amountMinor, ++fake);
        lines[i] = merged;
        lines.removeAt(i + 1);
        planted[QStringLiteral("one_to_many")] = 1;
        break;
    }
    // Two bank fees the ledger has not booked.
    // (Odd amounts: the demo's ledger books fees of round amounts, which a fee the ledger
    // lacks must not resemble.)
    for (const qint64 fee : {-1373, -2917}) {
        StatementLine l = bankLine(lines.constLast(), fee, ++fake);
        l.description = QStringLiteral("Account maintenance fee");
        lines.append(l);
    }
    // The fees, and the second copy of the line sent twice: the ledger explains neither.
    planted[QStringLiteral("missing_in_ledger")] =
        2 + planted.value(QStringLiteral("duplicate_line"));

    std::stable_sort(
        lines.begin(), lines.end(),
        [](const StatementLine &a, const StatementLine &b) { return a.valueAt < b.valueAt; });
    qint64 balance = s.openingMinor;
    s.creditsMinor = s.debitsMinor = 0;
    for (StatementLine &l : lines) {
        balance += l.amountMinor;
        l.balanceMinor = balance;
        (l.amountMinor > 0 ? s.creditsMinor : s.debitsMinor) += qAbs(l.amountMinor);
    }
    s.closingMinor = balance;
    if (unbalanced) {
        s.closingMinor += 100;
        planted[QStringLiteral("statement_unbalanced")] = 1;
    }
    return planted;
}

Result<QByteArray> camt053(const Statement &bank, const QString &identifier)
{
    Statement s = bank;
    s.accountCode = identifier;
    // What the bank's own statement carries: its message and statement ids, a number.
    s.messageId = QStringLiteral("DEMO-%1").arg(s.to.date().toString(QStringLiteral("yyyyMMdd")));
    s.reference = QStringLiteral("%1-%2").arg(s.messageId, identifier.right(8));
    s.sequenceNumber = s.to.date().month();
    s.issuedAt = s.to;
    s.issuedBy = QStringLiteral("bank");
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (const Status written = Camt053Writer(Camt053Writer::Version::V08).write(s, &buffer);
        !written)
        return written.error();
    return bytes;
}

QByteArray mt940(const Statement &s, const QString &identifier)
{
    // Amounts with a decimal comma; C/D from the account holder's view (money in: C).
    const auto amount = [&](qint64 minor) {
        return Money::formatMinor(qAbs(minor), s.exponent)
            .replace(QLatin1Char('.'), QLatin1Char(','));
    };
    const auto date = [](const QDate &d) { return d.toString(QStringLiteral("yyMMdd")); };
    const auto mark = [](qint64 minor) {
        return minor < 0 ? QStringLiteral("D") : QStringLiteral("C");
    };
    QString text;
    text += QStringLiteral(":20:DEMO%1\r\n").arg(s.to.date().toString(QStringLiteral("yyyyMMdd")));
    text += QStringLiteral(":25:%1\r\n").arg(identifier);
    text += QStringLiteral(":28C:%1/1\r\n").arg(s.to.date().month());
    text += QStringLiteral(":60F:%1%2%3%4\r\n")
                .arg(mark(s.openingMinor), date(s.from.date()), s.currency, amount(s.openingMinor));
    for (const StatementLine &l : s.lines) {
        const QString reference =
            l.reference.isEmpty() ? QStringLiteral("NONREF") : l.reference.left(16);
        text += QStringLiteral(":61:%1%2%3%4NTRF%5//%6\r\n")
                    .arg(date(l.valueAt.date()), l.bookedAt.date().toString(QStringLiteral("MMdd")),
                         mark(l.amountMinor), amount(l.amountMinor), reference)
                    .arg(l.transactionId);
        // :86: in the SWIFT character set, in lines of at most 65 characters.
        QString info =
            (l.reference.isEmpty() ? QString()
                                   : QStringLiteral("/EREF/%1/REMI/").arg(l.reference.left(35))) +
            l.description.left(60);
        for (QChar &c : info)
            if (!(c.isLetterOrNumber() && c.unicode() < 128) &&
                !QStringLiteral(" /-().,'+:").contains(c))
                c = QLatin1Char(' ');
        text += QStringLiteral(":86:");
        for (qsizetype at = 0; at < info.size() || at == 0; at += 65) {
            QString part = info.mid(at, 65);
            if (at > 0 && part.startsWith(QLatin1Char(':')))
                part[0] = QLatin1Char(' '); // a line starting with ':' would read as a tag
            text += part + QStringLiteral("\r\n");
        }
    }
    text += QStringLiteral(":62F:%1%2%3%4\r\n-\r\n")
                .arg(mark(s.closingMinor), date(s.to.date().addDays(-1)), s.currency,
                     amount(s.closingMinor));
    return text.toUtf8();
}

} // namespace ledger::DemoBankFiles
