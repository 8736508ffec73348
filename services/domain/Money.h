#pragma once

#include "Result.h"

#include <QMetaType>
#include <QString>
#include <QStringView>

#include <compare>
#include <optional>
#include <utility>

namespace ledger {

// An amount of money as the ledger keeps it: a signed 64-bit count of the currency's minor
// units, the currency's ISO 4217 alphabetic code and its exponent (the number of minor-unit
// digits: EUR 2, JPY 0, BHD 3). Never floating point.
//
// Amounts of different currencies never meet as numbers: plus() and minus() refuse to mix
// them (and refuse a result beyond 64 bits), and compare() has no answer across currencies,
// so the caller must handle both. There is deliberately no operator+ or operator<. Where a
// list mixes currencies and needs one order (a column sorted by balance),
// orderByCurrencyThenAmount() and sortKey() give the console's rule: currency code first,
// then the amount within it.
//
// A default-constructed Money is not valid (no currency): a value not filled in shows as
// empty text, never as a zero of some currency.
//
// The static helpers below are the exact text conversions the type is built on (text <->
// minor units with integer arithmetic only); the database holds the same rules
// (ledger.to_minor, ledger.format_minor) and checks again.
class Money
{
public:
    Money() = default;

    // `minor` units of `currency` with `exponent` decimals. nullopt unless the code is three
    // letters A-Z and the exponent is 0 to 18.
    static std::optional<Money> of(qint64 minor, QStringView currency, int exponent);
    // Exact decimal text ("12.30", "-0.5", "700") in `currency` with `exponent` decimals;
    // refused as parseMinor() refuses (*why says what is wrong, for a person).
    static std::optional<Money> parse(QStringView text, QStringView currency, int exponent,
                                      QString *why = nullptr);
    // An amount as the database hands it over: minor units and the server's formatting of
    // them with the currency's exponent (ledger.format_minor), which gives the exponent.
    // nullopt when the two disagree or the currency is not valid.
    static std::optional<Money> fromServer(qint64 minor, QStringView currency,
                                           QStringView formatted);

    bool isValid() const { return !m_currency.isEmpty(); }
    qint64 minor() const { return m_minor; }
    const QString &currency() const { return m_currency; }
    int exponent() const { return m_exponent; }
    bool isZero() const { return m_minor == 0; }
    bool isNegative() const { return m_minor < 0; }
    bool isPositive() const { return m_minor > 0; }

    // "1234.50", "-0.01", "700" (the currency's decimals, '.' as separator; no grouping):
    // the ledger's own form. Empty when not valid.
    QString toString() const;
    // "1234.50 EUR". Empty when not valid.
    QString toDisplayString() const;

    // Same currency code and exponent.
    bool sameCurrency(const Money &other) const;
    // this + other, this - other, -this: an Input error when the currencies differ (or a
    // side is not valid) or the result does not fit in 64 bits of minor units.
    Result<Money> plus(const Money &other) const;
    Result<Money> minus(const Money &other) const;
    Result<Money> negated() const;
    // The order of two amounts of one currency; nullopt across currencies (EUR 100.00 is
    // neither more nor less than JPY 10000) or when a side is not valid.
    std::optional<std::strong_ordering> compare(const Money &other) const;

    // Exactly equal: same currency, exponent and amount (amounts of different currencies are
    // simply not equal).
    bool operator==(const Money &other) const = default;

    // The console's order for lists that mix currencies: by currency code (alphabetically,
    // whichever way the amounts go, so that the groups stay where they are), then by amount
    // within the currency, largest first when amountsDescending (the exponent breaks a tie
    // that valid data never has). Not valid amounts come first.
    static std::strong_ordering orderByCurrencyThenAmount(const Money &a, const Money &b,
                                                          bool amountsDescending = false);
    // A text that sorts (as plain QString comparison does) exactly as
    // orderByCurrencyThenAmount() with amounts ascending: for item models whose proxies sort
    // by a role.
    QString sortKey() const;

    // --- Exact text conversions -----------------------------------------------------------

    // "1234.5", "-0.01", "+7" at exponent 2 -> 123450, -1, 700. Refused (nullopt, and *why
    // says what is wrong, for a person): empty text, anything but an optional sign, digits
    // and one '.', no digit at all, more decimals than the exponent allows (trailing zeros
    // included: "1.230" is refused for EUR so that what was typed is what is posted), or a
    // value beyond a 64-bit count of minor units.
    static std::optional<qint64> parseMinor(QStringView text, int exponent, QString *why = nullptr);

    // 123450 at exponent 2 -> "1234.50"; -1 -> "-0.01"; 700 at exponent 0 -> "700".
    static QString formatMinor(qint64 minor, int exponent);

    // The number of decimals of a server-formatted amount ("12.30" -> 2, "100" -> 0): the
    // database formats balances with exactly the currency's exponent (ledger.format_minor).
    static int decimalsOf(QStringView formatted);

private:
    Money(qint64 minor, QString currency, int exponent)
        : m_minor(minor)
        , m_currency(std::move(currency))
        , m_exponent(exponent)
    {}

    qint64 m_minor = 0;
    QString m_currency; // ISO 4217 alphabetic code; empty: not valid
    int m_exponent = 0;
};

} // namespace ledger

Q_DECLARE_METATYPE(ledger::Money)
