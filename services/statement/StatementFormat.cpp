#include "StatementFormat.h"

#include "domain/Money.h"
#include "domain/Statement.h"

#include <cstdlib>
#include <limits>

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

namespace {

constexpr qint64 kMsecsPerDay = 86400000;
constexpr qint64 kUnixEpochJulianDay = 2440588;

// The floor of a / b for b > 0.
qint64 floorDiv(qint64 a, qint64 b)
{
    return a / b - (a % b < 0 ? 1 : 0);
}

void putDigits(char16_t *out, int value, int digits)
{
    for (int i = digits - 1; i >= 0; --i) {
        out[i] = char16_t(u'0' + value % 10);
        value /= 10;
    }
}

} // namespace

IsoTimeFormatter::IsoTimeFormatter(QTimeZone zone)
    : m_zone(std::move(zone))
    // Without transitions there is no telling how far an offset holds: no shortcut then.
    , m_useTransitions(m_zone.isValid() && m_zone.hasTransitions())
{
    if (!m_zone.isValid()) { // UTC, written with 'Z'
        m_from = std::numeric_limits<qint64>::min();
        m_to = std::numeric_limits<qint64>::max();
        m_offsetText = QStringLiteral("Z");
    }
}

// Finds the stretch between the zone's transitions that holds the instant and its offset.
bool IsoTimeFormatter::coverOffsetAt(qint64 msecsSinceEpoch)
{
    if (!m_useTransitions)
        return false;
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(msecsSinceEpoch, QTimeZone::utc());
    // The offset exactly as isoTime() gets it.
    const int offset = at.toTimeZone(m_zone).offsetFromUtc();
    // The last transition at or before the instant and the first one after it.
    const QTimeZone::OffsetData previous = m_zone.previousTransition(at.addMSecs(1));
    const QTimeZone::OffsetData next = m_zone.nextTransition(at);
    m_from = previous.atUtc.isValid() ? previous.atUtc.toMSecsSinceEpoch()
                                      : std::numeric_limits<qint64>::min();
    m_to =
        next.atUtc.isValid() ? next.atUtc.toMSecsSinceEpoch() : std::numeric_limits<qint64>::max();
    if (!(m_from <= msecsSinceEpoch && msecsSinceEpoch < m_to)) {
        m_from = m_to = 0;
        return false;
    }
    m_offset = offset;
    // As Qt writes an offset in ISO 8601: hours and minutes, seconds left out.
    const int minutes = std::abs(offset) / 60;
    char16_t text[6] = {offset < 0 ? u'-' : u'+', 0, 0, u':', 0, 0};
    putDigits(text + 1, minutes / 60, 2);
    putDigits(text + 4, minutes % 60, 2);
    m_offsetText = QString(reinterpret_cast<const QChar *>(text), 6);
    return true;
}

QString IsoTimeFormatter::isoTime(const QDateTime &time)
{
    if (!time.isValid())
        return {};
    const qint64 ms = time.toMSecsSinceEpoch();
    // Far from years 1000 to 9999 (and from overflowing below): Qt's way.
    constexpr qint64 kFar = qint64(1) << 50;
    if (ms < -kFar || ms > kFar || (!(m_from <= ms && ms < m_to) && !coverOffsetAt(ms)))
        return StatementFormat::isoTime(time, m_zone);
    const qint64 local = ms + qint64(m_offset) * 1000;
    const qint64 msOfDay = local - floorDiv(local, kMsecsPerDay) * kMsecsPerDay;
    int year = 0;
    int month = 0;
    int day = 0;
    QDate::fromJulianDay(kUnixEpochJulianDay + floorDiv(local, kMsecsPerDay))
        .getDate(&year, &month, &day);
    if (year < 1000 || year > 9999)
        return StatementFormat::isoTime(time, m_zone);

    // yyyy-MM-ddTHH:mm:ss.zzz and the offset
    char16_t text[23] = {0, 0,    0, 0, u'-', 0, 0, u'-', 0, 0, u'T', 0,
                         0, u':', 0, 0, u':', 0, 0, u'.', 0, 0, 0};
    putDigits(text, year, 4);
    putDigits(text + 5, month, 2);
    putDigits(text + 8, day, 2);
    putDigits(text + 11, int(msOfDay / 3600000), 2);
    putDigits(text + 14, int(msOfDay / 60000 % 60), 2);
    putDigits(text + 17, int(msOfDay / 1000 % 60), 2);
    putDigits(text + 20, int(msOfDay % 1000), 3);
    QString out;
    out.reserve(23 + m_offsetText.size());
    out.append(reinterpret_cast<const QChar *>(text), 23);
    out.append(m_offsetText);
    return out;
}

QString magnitude(qint64 minor, int exponent)
{
    QString text = Money::formatMinor(minor, exponent);
    if (text.startsWith(QLatin1Char('-')))
        text.remove(0, 1);
    return text;
}

} // namespace ledger::StatementFormat
