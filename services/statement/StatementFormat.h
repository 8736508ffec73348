#pragma once

#include <QDateTime>
#include <QString>
#include <QTimeZone>

namespace ledger {

struct Statement;

// Text the statement writers share (CSV, camt.053): times in the statement's zone, amounts
// as exact decimals. Plain functions, any thread.
namespace StatementFormat {

// The zone a statement's times are shown in: its IANA zone when it names a valid one other
// than "UTC"; otherwise an invalid QTimeZone, which the functions below read as UTC with 'Z'.
QTimeZone displayZone(const Statement &statement);

// ISO 8601 with milliseconds and the offset in `zone` ("2024-03-01T10:30:00.000+01:00"),
// or in UTC with 'Z' when `zone` is invalid. Empty for an invalid time.
QString isoTime(const QDateTime &time, const QTimeZone &zone);

// The calendar date of `time` in `zone` (UTC when `zone` is invalid), "2024-03-01".
QString isoDate(const QDateTime &time, const QTimeZone &zone);

// |minor| as an exact decimal with the currency's digits: (-123450, 2) -> "1234.50";
// also right for the most negative qint64.
QString magnitude(qint64 minor, int exponent);

} // namespace StatementFormat

} // namespace ledger
