#include "Money.h"

#include <QCoreApplication>

#include <algorithm>
#include <limits>

namespace ledger::Money {

namespace {

QString tr(const char *text, int n = -1)
{
    return QCoreApplication::translate("ledger::Money", text, nullptr, n);
}

bool fail(QString *why, const QString &message)
{
    if (why)
        *why = message;
    return false;
}

} // namespace

std::optional<qint64> parseMinor(QStringView text, int exponent, QString *why)
{
    text = text.trimmed();
    if (exponent < 0 || exponent > 18) {
        fail(why, tr("unknown number of decimals for the currency"));
        return std::nullopt;
    }
    if (text.isEmpty()) {
        fail(why, tr("no amount"));
        return std::nullopt;
    }
    bool negative = false;
    if (text.front() == QLatin1Char('-') || text.front() == QLatin1Char('+')) {
        negative = text.front() == QLatin1Char('-');
        text = text.mid(1);
    }
    const qsizetype dot = text.indexOf(QLatin1Char('.'));
    const QStringView whole = dot < 0 ? text : text.left(dot);
    const QStringView fraction = dot < 0 ? QStringView() : text.mid(dot + 1);
    if (whole.isEmpty() && fraction.isEmpty()) {
        fail(why, tr("no digits"));
        return std::nullopt;
    }
    auto digitsOnly = [](QStringView s) {
        for (QChar c : s) {
            if (c < QLatin1Char('0') || c > QLatin1Char('9'))
                return false;
        }
        return true;
    };
    if (!digitsOnly(whole) || !digitsOnly(fraction)) {
        fail(why, tr("only digits, one '.' and a leading sign are allowed"));
        return std::nullopt;
    }
    if (fraction.size() > exponent) {
        fail(why, exponent == 0 ? tr("this currency has no decimals")
                                : tr("at most %n decimal(s) in this currency", exponent));
        return std::nullopt;
    }
    // Accumulate as a negative number: its range holds the largest magnitude.
    constexpr qint64 low = std::numeric_limits<qint64>::min();
    qint64 value = 0;
    auto push = [&value](int digit) {
        if (value < (low + digit) / 10)
            return false;
        value = value * 10 - digit;
        return true;
    };
    bool fits = true;
    for (QChar c : whole)
        fits = fits && push(c.unicode() - '0');
    for (qsizetype i = 0; i < exponent; ++i)
        fits = fits && push(i < fraction.size() ? fraction[i].unicode() - '0' : 0);
    if (!fits || (!negative && value == low)) {
        fail(why, tr("too large"));
        return std::nullopt;
    }
    return negative ? value : -value;
}

QString formatMinor(qint64 minor, int exponent)
{
    // Written from the right into a string of the final length, one allocation (statements
    // format two amounts per line: prepending digit by digit was a visible part of writing
    // 100,000 lines). Digits of the magnitude without negating: the minimum has no positive
    // counterpart.
    const bool negative = minor < 0;
    int digits = 0;
    for (qint64 rest = minor; rest != 0 || digits == 0; rest /= 10)
        ++digits;
    const int fraction = std::max(exponent, 0);
    const int whole = std::max(digits - fraction, 1);
    const qsizetype length = (negative ? 1 : 0) + whole + (fraction > 0 ? 1 + fraction : 0);
    QString text(length, Qt::Uninitialized);
    QChar *out = text.data() + length;
    qint64 rest = minor;
    const auto nextDigit = [&rest, negative] {
        const int d = int(negative ? -(rest % 10) : rest % 10);
        rest /= 10;
        return QLatin1Char(char('0' + d));
    };
    for (int i = 0; i < fraction; ++i)
        *--out = nextDigit();
    if (fraction > 0)
        *--out = QLatin1Char('.');
    for (int i = 0; i < whole; ++i)
        *--out = nextDigit();
    if (negative)
        *--out = QLatin1Char('-');
    return text;
}

int decimalsOf(QStringView formatted)
{
    const qsizetype dot = formatted.indexOf(QLatin1Char('.'));
    return dot < 0 ? 0 : int(formatted.size() - dot - 1);
}

} // namespace ledger::Money
