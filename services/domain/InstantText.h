#pragma once

#include "domain/Result.h"

#include <QDate>
#include <QDateTime>
#include <QString>
#include <QTime>
#include <QTimeZone>

namespace ledger {

// Instants as the console shows and reads them: one format for every shown time,
//
//     2026-03-29 03:30:00+02:00        (local zone, here Europe/Berlin in summer)
//     2026-03-29 01:30:00+00:00        (UTC)
//
// the wall time in the zone shown, then its offset from UTC, with no space between. Why
// this format: the offset makes every text one instant whatever zone the reader is in (an
// abbreviation such as CST or IST names several zones, and Qt writes some zones' as
// "GMT+2"); the hour that happens twice when clocks go back reads +02:00 the first time and
// +01:00 the second; every time has the same width in both modes; and the text is what
// ledger.parse_instant, ledgerctl's time options and the console's own time fields accept,
// so a copied cell can be pasted into any of them and means the same instant.

enum class TimePrecision { Minutes, Seconds, Milliseconds };

// "+02:00", "-03:30", "+00:00".
QString formatUtcOffset(int offsetSeconds);

// The instant's wall time in `zone` with the zone's offset then; empty for an invalid time.
QString formatInstant(const QDateTime &instant, const QTimeZone &zone,
                      TimePrecision precision = TimePrecision::Seconds);

// A wall time (a date and a clock reading) in a zone can mean no instant (the clocks jumped
// over it), one, or two (the clocks went back over it).
struct WallTimeInZone
{
    enum class Kind { Unique, Gap, Overlap };
    Kind kind = Kind::Unique;
    QDateTime first;  // Unique: the instant (UTC); Overlap: the earlier of the two
    QDateTime second; // Overlap: the later of the two
    // Gap and Overlap: the transition that makes it so, and the offsets either side.
    QDateTime transitionAt; // UTC
    int offsetBefore = 0;
    int offsetAfter = 0;
};

WallTimeInZone resolveWallTime(const QDate &date, const QTime &time, const QTimeZone &zone);

// What to say about a wall time that falls in a gap or an overlap of `zoneName`; both say
// what to type instead.
QString gapMessage(const QDate &date, const QTime &time, const WallTimeInZone &w,
                   const QString &zoneName);
QString overlapMessage(const QDate &date, const QTime &time, const WallTimeInZone &w,
                       const QString &zoneName);

// Reads a time typed by a person, in the zone shown (`zone`, named `zoneName` in messages):
//   2026-03-29                         that day's first instant in the zone
//   2026-03-29 14:30[:05[.250]]        that wall time in the zone ('T' instead of the space
//                                      works too)
//   2026-03-29 14:30[:05]+02:00        with an offset (Z, +02, +0200, +02:00): that instant,
//                                      whatever the zone shown
// A wall time the zone skips (its clocks jump over it) is refused, and so is one it has
// twice unless the offset says which; the messages say what to type. Anything else is
// refused with a message that shows how to write a time. The instant comes back in UTC.
Result<QDateTime> parseInstant(const QString &text, const QTimeZone &zone, const QString &zoneName);

// How a time is written, for messages and placeholders ("2026-03-29 14:30 or ...").
QString howToWriteATime(const QString &zoneName);

} // namespace ledger
