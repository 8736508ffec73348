#include "StatementFormat.h"

#include "domain/Money.h"
#include "domain/Statement.h"

namespace ledger::StatementFormat {

QTimeZone displayZone(const Statement &statement)
{
    if (statement.timeZone.isEmpty() || statement.timeZone == QLatin1String("UTC"))
        return {};
    const QTimeZone zone(statement.timeZone.toUtf8());
    return zone.isValid() ? zone : QTimeZone();
}

QString isoTime(const QDateTime &time, const QTimeZone &zone)
{
    if (!time.isValid())
        return {};
    // Qt writes 'Z' for Qt::UTC and "+00:00" for a UTC QTimeZone: UTC goes through toUTC().
    return (zone.isValid() ? time.toTimeZone(zone) : time.toUTC()).toString(Qt::ISODateWithMs);
}

QString isoDate(const QDateTime &time, const QTimeZone &zone)
{
    if (!time.isValid())
        return {};
    return (zone.isValid() ? time.toTimeZone(zone) : time.toUTC()).date().toString(Qt::ISODate);
}

QString magnitude(qint64 minor, int exponent)
{
    QString text = Money::formatMinor(minor, exponent);
    if (text.startsWith(QLatin1Char('-')))
        text.remove(0, 1);
    return text;
}

} // namespace ledger::StatementFormat
