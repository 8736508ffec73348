#pragma once

#include <QString>
#include <QStringView>

#include <optional>

namespace ledger {

// Exact decimal amounts as the console types and shows them: text <-> minor units with
// integer arithmetic only (never floating point). The exponent is the currency's number of
// minor-unit digits (ISO 4217: EUR 2, JPY 0, BHD 3); the database holds the same rules
// (ledger.to_minor) and checks again.
namespace Money {

// "1234.5", "-0.01", "+7" at exponent 2 -> 123450, -1, 700. Refused (nullopt, and *why
// says what is wrong, for a person): empty text, anything but an optional sign, digits and
// one '.', no digit at all, more decimals than the exponent allows (trailing zeros
// included: "1.230" is refused for EUR so that what was typed is what is posted), or a
// value beyond a 64-bit count of minor units.
std::optional<qint64> parseMinor(QStringView text, int exponent, QString *why = nullptr);

// 123450 at exponent 2 -> "1234.50"; -1 -> "-0.01"; 700 at exponent 0 -> "700".
QString formatMinor(qint64 minor, int exponent);

// The number of decimals of a server-formatted amount ("12.30" -> 2, "100" -> 0): the
// database formats balances with exactly the currency's exponent (ledger.format_minor).
int decimalsOf(QStringView formatted);

} // namespace Money

} // namespace ledger
