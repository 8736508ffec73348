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

// isoTime() for many times in one zone, as fast as a string can be made: the zone's offset
// is looked up once for each stretch between two of its transitions (a QDateTime converted
// to a QTimeZone looks it up every time, which was half the time of a 100,000-entry
// camt.053). The text is isoTime()'s, character for character; times that the shortcut does
// not cover (years before 1000 or after 9999, a zone whose transitions are not known) go
// through isoTime() itself. Not for two threads at once.
class IsoTimeFormatter
{
public:
    explicit IsoTimeFormatter(QTimeZone zone);

    QString isoTime(const QDateTime &time);

private:
    bool coverOffsetAt(qint64 msecsSinceEpoch);

    QTimeZone m_zone;
    bool m_useTransitions = false;
    // The zone's offset is m_offset for instants in [m_from, m_to) (ms since the epoch).
    qint64 m_from = 0;
    qint64 m_to = 0;
    int m_offset = 0;
    QString m_offsetText; // "+01:00", or "Z" for UTC
};

// The calendar date of `time` in `zone` (UTC when `zone` is invalid), "2024-03-01".
QString isoDate(const QDateTime &time, const QTimeZone &zone);

// |minor| as an exact decimal with the currency's digits: (-123450, 2) -> "1234.50";
// also right for the most negative qint64.
QString magnitude(qint64 minor, int exponent);

} // namespace StatementFormat

} // namespace ledger
