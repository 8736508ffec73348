#include "Money.h"

#include <QCoreApplication>
#include <QtNumeric>

#include <algorithm>
#include <limits>

namespace ledger {

namespace {

QString tr(const char *text, int n = -1)
{
    return QCoreApplication::translate("ledger::Money", text, nullptr, n);
}

bool isCurrencyCode(QStringView code)
{
    if (code.size() != 3)
        return false;
    for (QChar c : code) {
        if (c < QLatin1Char('A') || c > QLatin1Char('Z'))
            return false;
    }
    return true;
}

constexpr int kMaxExponent = 18; // 10^18 still fits in 64 bits

bool fail(QString *why, const QString &message)
{
    if (why)
        *why = message;
    return false;
}

} // namespace

std::optional<qint64> Money::parseMinor(QStringView text, int exponent, QString *why)
{
    text = text.trimmed();
    if (exponent < 0 || exponent > kMaxExponent) {
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

QString Money::formatMinor(qint64 minor, int exponent)
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

// --- Money ---------------------------------------------------------------------------------

namespace {

Error refused(const QString &message)
{
    return Error::make(Error::Kind::Input, message);
}

// Why two amounts cannot meet in one sum: what the caller shows a person.
Error notOneCurrency(const Money &a, const Money &b)
{
    if (!a.isValid() || !b.isValid())
        return refused(tr("An amount without a currency cannot take part in a sum."));
    if (a.currency() != b.currency())
        return refused(tr("Amounts in %1 and %2 cannot be added or subtracted: they are "
                          "different currencies.")
                           .arg(a.currency(), b.currency()));
    return refused(tr("Two amounts in %1 disagree on its number of decimals (%2 and %3).")
                       .arg(a.currency())
                       .arg(a.exponent())
                       .arg(b.exponent()));
}

Error tooLarge(const Money &a)
{
    return refused(tr("The result is beyond what the ledger can hold in %1.").arg(a.currency()));
}

std::strong_ordering fromCompare(int c)
{
    return c < 0 ? std::strong_ordering::less
                 : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

} // namespace

std::optional<Money> Money::of(qint64 minor, QStringView currency, int exponent)
{
    if (!isCurrencyCode(currency) || exponent < 0 || exponent > kMaxExponent)
        return std::nullopt;
    return Money(minor, currency.toString(), exponent);
}

std::optional<Money> Money::parse(QStringView text, QStringView currency, int exponent,
                                  QString *why)
{
    if (!isCurrencyCode(currency)) {
        fail(why, tr("not a currency code (three letters A to Z)"));
        return std::nullopt;
    }
    const std::optional<qint64> minor = parseMinor(text, exponent, why);
    if (!minor)
        return std::nullopt;
    return Money(*minor, currency.toString(), exponent);
}

std::optional<Money> Money::fromServer(qint64 minor, QStringView currency, QStringView formatted)
{
    const int exponent = decimalsOf(formatted);
    if (formatted.compare(formatMinor(minor, exponent)) != 0)
        return std::nullopt;
    return of(minor, currency, exponent);
}

QString Money::toString() const
{
    return isValid() ? formatMinor(m_minor, m_exponent) : QString();
}

QString Money::toDisplayString() const
{
    return isValid() ? toString() + QLatin1Char(' ') + m_currency : QString();
}

bool Money::sameCurrency(const Money &other) const
{
    return isValid() && other.isValid() && m_currency == other.m_currency &&
           m_exponent == other.m_exponent;
}

Result<Money> Money::plus(const Money &other) const
{
    if (!sameCurrency(other))
        return notOneCurrency(*this, other);
    qint64 sum = 0;
    if (qAddOverflow(m_minor, other.m_minor, &sum))
        return tooLarge(*this);
    return Money(sum, m_currency, m_exponent);
}

Result<Money> Money::minus(const Money &other) const
{
    if (!sameCurrency(other))
        return notOneCurrency(*this, other);
    qint64 difference = 0;
    if (qSubOverflow(m_minor, other.m_minor, &difference))
        return tooLarge(*this);
    return Money(difference, m_currency, m_exponent);
}

Result<Money> Money::negated() const
{
    if (!isValid())
        return notOneCurrency(*this, *this);
    qint64 negative = 0;
    if (qSubOverflow(qint64(0), m_minor, &negative)) // the minimum has no positive counterpart
        return tooLarge(*this);
    return Money(negative, m_currency, m_exponent);
}

std::optional<std::strong_ordering> Money::compare(const Money &other) const
{
    if (!sameCurrency(other))
        return std::nullopt;
    return m_minor <=> other.m_minor;
}

std::strong_ordering Money::orderByCurrencyThenAmount(const Money &a, const Money &b,
                                                      bool amountsDescending)
{
    if (a.isValid() != b.isValid())
        return a.isValid() ? std::strong_ordering::greater : std::strong_ordering::less;
    if (const int c = a.m_currency.compare(b.m_currency); c != 0)
        return fromCompare(c);
    const std::strong_ordering amounts =
        a.m_minor != b.m_minor ? a.m_minor <=> b.m_minor : a.m_exponent <=> b.m_exponent;
    return amountsDescending ? 0 <=> amounts : amounts;
}

QString Money::sortKey() const
{
    if (!isValid())
        return {};
    // Fixed width, so that comparing the texts compares the parts in turn: the three-letter
    // code, the amount as 16 hex digits of its offset binary form (the sign bit flipped:
    // unsigned order is then signed order), the exponent as two digits.
    const quint64 offset = quint64(m_minor) ^ (quint64(1) << 63);
    return m_currency + QString::number(offset, 16).toUpper().rightJustified(16, QLatin1Char('0')) +
           QString::number(m_exponent).rightJustified(2, QLatin1Char('0'));
}

int Money::decimalsOf(QStringView formatted)
{
    const qsizetype dot = formatted.indexOf(QLatin1Char('.'));
    return dot < 0 ? 0 : int(formatted.size() - dot - 1);
}

} // namespace ledger
