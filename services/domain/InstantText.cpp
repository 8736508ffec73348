#include "InstantText.h"

#include <QRegularExpression>

#include <algorithm>

namespace ledger {

namespace {

constexpr qint64 kDay = qint64(24) * 60 * 60;
constexpr int kLargestOffset = 14 * 60 * 60; // the widest any zone has had (Pacific/Kiritimati)

// The wall time as written in messages: seconds only when there are some.
QString clock(const QTime &time)
{
    return time.toString(time.second() || time.msec() ? QStringLiteral("HH:mm:ss")
                                                      : QStringLiteral("HH:mm"));
}

QString wall(const QDate &date, const QTime &time)
{
    return date.toString(Qt::ISODate) + QLatin1Char(' ') + clock(time);
}

// The wall clock in `offset` at `utc`, as written in messages.
QString clockAt(const QDateTime &utc, int offset)
{
    return clock(utc.addSecs(offset).time());
}

Error inputError(const QString &message)
{
    return Error::make(Error::Kind::Input, message);
}

} // namespace

QString formatUtcOffset(int offsetSeconds)
{
    const int minutes = qAbs(offsetSeconds) / 60;
    return QStringLiteral("%1%2:%3")
        .arg(offsetSeconds < 0 ? QLatin1Char('-') : QLatin1Char('+'))
        .arg(minutes / 60, 2, 10, QLatin1Char('0'))
        .arg(minutes % 60, 2, 10, QLatin1Char('0'));
}

QString formatInstant(const QDateTime &instant, const QTimeZone &zone, TimePrecision precision)
{
    if (!instant.isValid())
        return {};
    const QDateTime there = instant.toTimeZone(zone);
    QString format;
    switch (precision) {
    case TimePrecision::Minutes:
        format = QStringLiteral("yyyy-MM-dd HH:mm");
        break;
    case TimePrecision::Seconds:
        format = QStringLiteral("yyyy-MM-dd HH:mm:ss");
        break;
    case TimePrecision::Milliseconds:
        format = QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz");
        break;
    }
    return there.toString(format) + formatUtcOffset(there.offsetFromUtc());
}

WallTimeInZone resolveWallTime(const QDate &date, const QTime &time, const QTimeZone &zone)
{
    WallTimeInZone w;
    // The wall time read as if it were UTC: an instant `offset` seconds later than the one
    // meant, for whichever offset the zone has then.
    const QDateTime naive(date, time, Qt::UTC);
    QList<QDateTime> instants;
    for (const qint64 probe : {-kDay, qint64(0), kDay}) {
        const int offset = zone.offsetFromUtc(naive.addSecs(probe));
        const QDateTime candidate = naive.addSecs(-offset);
        if (zone.offsetFromUtc(candidate) == offset && !instants.contains(candidate))
            instants.append(candidate);
    }
    std::sort(instants.begin(), instants.end());
    if (instants.size() == 1) {
        w.first = instants.first();
        return w;
    }
    w.kind = instants.isEmpty() ? WallTimeInZone::Kind::Gap : WallTimeInZone::Kind::Overlap;
    if (!instants.isEmpty()) {
        w.first = instants.first();
        w.second = instants.last();
    }
    // The transition whose skipped or repeated wall times hold this one.
    const qint64 at = naive.toMSecsSinceEpoch();
    QTimeZone::OffsetData t = zone.nextTransition(naive.addSecs(-2 * kDay));
    while (t.atUtc.isValid() && t.atUtc <= naive.addSecs(2 * kDay)) {
        const int before = zone.offsetFromUtc(t.atUtc.addSecs(-1));
        const int after = t.offsetFromUtc;
        const qint64 start = t.atUtc.toMSecsSinceEpoch() + qint64(qMin(before, after)) * 1000;
        const qint64 end = t.atUtc.toMSecsSinceEpoch() + qint64(qMax(before, after)) * 1000;
        if (at >= start && at < end) {
            w.transitionAt = t.atUtc;
            w.offsetBefore = before;
            w.offsetAfter = after;
            break;
        }
        t = zone.nextTransition(t.atUtc);
    }
    return w;
}

QString gapMessage(const QDate &date, const QTime &time, const WallTimeInZone &w,
                   const QString &zoneName)
{
    const QString from = clockAt(w.transitionAt, w.offsetBefore);
    const QString to = clockAt(w.transitionAt, w.offsetAfter);
    return QStringLiteral("%1 does not exist in %2: on that day the clocks jump from %3 to %4 "
                          "(%5 to %6). Type a time before %3 or from %4 on.")
        .arg(wall(date, time), zoneName, from, to, formatUtcOffset(w.offsetBefore),
             formatUtcOffset(w.offsetAfter));
}

QString overlapMessage(const QDate &date, const QTime &time, const WallTimeInZone &w,
                       const QString &zoneName)
{
    const QString text = wall(date, time);
    return QStringLiteral("%1 happens twice in %2: on that day the clocks go back from %3 to %4. "
                          "Add the offset to say which: %1%5 (the first) or %1%6 (the second, "
                          "after the clocks went back).")
        .arg(text, zoneName, clockAt(w.transitionAt, w.offsetBefore),
             clockAt(w.transitionAt, w.offsetAfter), formatUtcOffset(w.offsetBefore),
             formatUtcOffset(w.offsetAfter));
}

QString howToWriteATime(const QString &zoneName)
{
    return QStringLiteral("Write a time as 2026-03-29 14:30 (read in %1, the zone shown) or "
                          "with its offset, e.g. 2026-03-29 14:30+02:00 or 2026-03-29 12:30Z; "
                          "a date alone means the start of that day.")
        .arg(zoneName);
}

Result<QDateTime> parseInstant(const QString &text, const QTimeZone &zone, const QString &zoneName)
{
    static const QRegularExpression pattern(QStringLiteral(
        R"(^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,3}))?)?)"
        R"( ?(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?)?$)"));
    const QString t = text.trimmed();
    const QRegularExpressionMatch m = pattern.match(t);
    if (!m.hasMatch())
        return inputError(
            QStringLiteral("\"%1\" is not a time. %2").arg(t.left(40), howToWriteATime(zoneName)));
    const QDate date(m.captured(1).toInt(), m.captured(2).toInt(), m.captured(3).toInt());
    if (!date.isValid())
        return inputError(
            QStringLiteral("\"%1\" is not a date. %2").arg(t.left(40), howToWriteATime(zoneName)));
    if (m.captured(4).isEmpty()) // a date alone: its first instant in the zone shown
        return date.startOfDay(zone).toUTC();
    const QString fraction = m.captured(7);
    const QTime time(m.captured(4).toInt(), m.captured(5).toInt(), m.captured(6).toInt(),
                     fraction.isEmpty() ? 0
                                        : QString(fraction + QStringLiteral("00")).left(3).toInt());
    if (!time.isValid())
        return inputError(QStringLiteral("\"%1\" is not a time of day. %2")
                              .arg(t.left(40), howToWriteATime(zoneName)));
    const QString offsetText = m.captured(8);
    if (!offsetText.isEmpty()) {
        int offset = 0;
        if (offsetText.compare(QLatin1String("Z"), Qt::CaseInsensitive) != 0 &&
            offsetText != QLatin1String("UTC")) {
            QString digits = offsetText.mid(1);
            digits.remove(QLatin1Char(':'));
            const int hours = digits.left(2).toInt();
            const int minutes = digits.size() > 2 ? digits.mid(2).toInt() : 0;
            offset = (hours * 60 + minutes) * 60;
            if (minutes > 59 || offset > kLargestOffset)
                return inputError(QStringLiteral("%1 is not a UTC offset (at most +14:00 or "
                                                 "-14:00). %2")
                                      .arg(offsetText, howToWriteATime(zoneName)));
            if (offsetText.startsWith(QLatin1Char('-')))
                offset = -offset;
        }
        // An explicit offset says which instant: no zone rule is needed.
        return QDateTime(date, time, Qt::UTC).addSecs(-offset);
    }
    const WallTimeInZone w = resolveWallTime(date, time, zone);
    switch (w.kind) {
    case WallTimeInZone::Kind::Unique:
        return w.first;
    case WallTimeInZone::Kind::Gap:
        return inputError(gapMessage(date, time, w, zoneName));
    case WallTimeInZone::Kind::Overlap:
        return inputError(overlapMessage(date, time, w, zoneName));
    }
    return inputError(howToWriteATime(zoneName));
}

} // namespace ledger
