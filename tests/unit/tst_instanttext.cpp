// How the console writes and reads instants (services/domain/InstantText.h), with named
// zones, whatever zone the machine running the test is in: the format (wall time in the
// zone, then its offset), wall times a zone skips (refused, saying what the clocks do) or has
// twice (refused unless the offset says which, both offsets named), times with offsets
// (whatever the zone), dates alone, and what is not a time.

#include "domain/InstantText.h"

#include <QTest>
#include <QTimeZone>

using namespace ledger;

namespace {

QDateTime utc(const char *iso)
{
    return QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODateWithMs).toUTC();
}

const QTimeZone berlin("Europe/Berlin");

// Why a time was refused (empty when it was not): for failure messages.
QString why(const Result<QDateTime> &r)
{
    return r.ok() ? QString() : r.error().message;
}

} // namespace

class TestInstantText : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(berlin.isValid());
        QVERIFY(berlin.hasTransitions());
    }

    void formatsWallTimeThenOffset_data()
    {
        QTest::addColumn<QDateTime>("instant");
        QTest::addColumn<QByteArray>("zone");
        QTest::addColumn<int>("precision");
        QTest::addColumn<QString>("expected");
        const int s = int(TimePrecision::Seconds);
        QTest::newRow("berlin winter") << utc("2026-01-15T12:00:00Z") << QByteArray("Europe/Berlin")
                                       << s << QStringLiteral("2026-01-15 13:00:00+01:00");
        QTest::newRow("berlin summer") << utc("2026-03-29T01:30:00Z") << QByteArray("Europe/Berlin")
                                       << s << QStringLiteral("2026-03-29 03:30:00+02:00");
        QTest::newRow("the first 02:30")
            << utc("2026-10-25T00:30:00Z") << QByteArray("Europe/Berlin") << s
            << QStringLiteral("2026-10-25 02:30:00+02:00");
        QTest::newRow("the second 02:30")
            << utc("2026-10-25T01:30:00Z") << QByteArray("Europe/Berlin") << s
            << QStringLiteral("2026-10-25 02:30:00+01:00");
        QTest::newRow("utc") << utc("2026-10-25T01:30:00Z") << QByteArray("UTC") << s
                             << QStringLiteral("2026-10-25 01:30:00+00:00");
        QTest::newRow("new york, minutes")
            << utc("2026-07-04T16:05:59Z") << QByteArray("America/New_York")
            << int(TimePrecision::Minutes) << QStringLiteral("2026-07-04 12:05-04:00");
        QTest::newRow("india, milliseconds")
            << utc("2026-07-04T16:05:59.250Z") << QByteArray("Asia/Kolkata")
            << int(TimePrecision::Milliseconds) << QStringLiteral("2026-07-04 21:35:59.250+05:30");
    }
    void formatsWallTimeThenOffset()
    {
        QFETCH(QDateTime, instant);
        QFETCH(QByteArray, zone);
        QFETCH(int, precision);
        QFETCH(QString, expected);
        const QTimeZone z = zone == "UTC" ? QTimeZone::utc() : QTimeZone(zone);
        const QString text = formatInstant(instant, z, TimePrecision(precision));
        QCOMPARE(text, expected);
        // What is shown reads back as the same instant, here and wherever a time is typed
        // with its offset (ledger.parse_instant, ledgerctl, Qt's ISO 8601 reader).
        QCOMPARE(QDateTime::fromString(text, Qt::ISODateWithMs).toUTC(),
                 precision == int(TimePrecision::Minutes)
                     ? instant.addSecs(-instant.time().second())
                     : instant);
        const auto back = parseInstant(text, berlin, QStringLiteral("Europe/Berlin"));
        QVERIFY2(back.ok(), qPrintable(why(back)));
        QCOMPARE(back.value(), QDateTime::fromString(text, Qt::ISODateWithMs).toUTC());
        QCOMPARE(formatInstant(QDateTime(), z), QString());
    }

    void wallTimesInAZone()
    {
        // Unique.
        WallTimeInZone w = resolveWallTime(QDate(2026, 3, 29), QTime(3, 30), berlin);
        QCOMPARE(w.kind, WallTimeInZone::Kind::Unique);
        QCOMPARE(w.first, utc("2026-03-29T01:30:00Z"));
        // The clocks jump from 02:00 to 03:00: 02:00 to 02:59:59 are no time at all.
        for (const QTime t : {QTime(2, 0), QTime(2, 30), QTime(2, 59, 59)}) {
            w = resolveWallTime(QDate(2026, 3, 29), t, berlin);
            QCOMPARE(w.kind, WallTimeInZone::Kind::Gap);
            QCOMPARE(w.transitionAt, utc("2026-03-29T01:00:00Z"));
            QCOMPARE(w.offsetBefore, 3600);
            QCOMPARE(w.offsetAfter, 7200);
        }
        QCOMPARE(resolveWallTime(QDate(2026, 3, 29), QTime(1, 59, 59), berlin).kind,
                 WallTimeInZone::Kind::Unique);
        // The clocks go back from 03:00 to 02:00: 02:00 to 02:59:59 happen twice.
        w = resolveWallTime(QDate(2026, 10, 25), QTime(2, 30), berlin);
        QCOMPARE(w.kind, WallTimeInZone::Kind::Overlap);
        QCOMPARE(w.first, utc("2026-10-25T00:30:00Z"));
        QCOMPARE(w.second, utc("2026-10-25T01:30:00Z"));
        QCOMPARE(w.offsetBefore, 7200);
        QCOMPARE(w.offsetAfter, 3600);
        QCOMPARE(resolveWallTime(QDate(2026, 10, 25), QTime(3, 0), berlin).kind,
                 WallTimeInZone::Kind::Unique);
        // UTC has neither.
        QCOMPARE(resolveWallTime(QDate(2026, 3, 29), QTime(2, 30), QTimeZone::utc()).kind,
                 WallTimeInZone::Kind::Unique);
        // A half-hour change (Lord Howe Island): 02:00 to 02:29 skipped.
        const QTimeZone lordHowe("Australia/Lord_Howe");
        w = resolveWallTime(QDate(2026, 10, 4), QTime(2, 15), lordHowe);
        QCOMPARE(w.kind, WallTimeInZone::Kind::Gap);
        QCOMPARE(w.offsetAfter - w.offsetBefore, 1800);
    }

    void gapIsRefusedSayingWhatTheClocksDo()
    {
        const auto r = parseInstant(QStringLiteral("2026-03-29 02:30"), berlin,
                                    QStringLiteral("Europe/Berlin"));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, Error::Kind::Input);
        QCOMPARE(r.error().message,
                 QStringLiteral("2026-03-29 02:30 does not exist in Europe/Berlin: on that day "
                                "the clocks jump from 02:00 to 03:00 (+01:00 to +02:00). Type a "
                                "time before 02:00 or from 03:00 on."));
        // With an offset it names an instant (01:30Z): nothing to refuse.
        const auto explicitOffset = parseInstant(QStringLiteral("2026-03-29 02:30+01:00"), berlin,
                                                 QStringLiteral("Europe/Berlin"));
        QVERIFY(explicitOffset.ok());
        QCOMPARE(explicitOffset.value(), utc("2026-03-29T01:30:00Z"));
    }

    void overlapNeedsTheOffset()
    {
        const auto r = parseInstant(QStringLiteral("2026-10-25 02:30"), berlin,
                                    QStringLiteral("Europe/Berlin"));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().message,
                 QStringLiteral("2026-10-25 02:30 happens twice in Europe/Berlin: on that day the "
                                "clocks go back from 03:00 to 02:00. Add the offset to say which: "
                                "2026-10-25 02:30+02:00 (the first) or 2026-10-25 02:30+01:00 (the "
                                "second, after the clocks went back)."));
        // Both suggestions are accepted, and are the two instants.
        const auto first = parseInstant(QStringLiteral("2026-10-25 02:30+02:00"), berlin,
                                        QStringLiteral("Europe/Berlin"));
        const auto second = parseInstant(QStringLiteral("2026-10-25 02:30+01:00"), berlin,
                                         QStringLiteral("Europe/Berlin"));
        QVERIFY(first.ok() && second.ok());
        QCOMPARE(first.value(), utc("2026-10-25T00:30:00Z"));
        QCOMPARE(second.value(), utc("2026-10-25T01:30:00Z"));
    }

    void readsTypedTimes_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QDateTime>("expected");
        QTest::newRow("wall time, Berlin")
            << QStringLiteral("2026-01-15 13:00") << utc("2026-01-15T12:00:00Z");
        QTest::newRow("seconds, T")
            << QStringLiteral("2026-07-01T10:00:05") << utc("2026-07-01T08:00:05Z");
        QTest::newRow("milliseconds")
            << QStringLiteral("2026-07-01 10:00:05.25") << utc("2026-07-01T08:00:05.250Z");
        QTest::newRow("Z") << QStringLiteral("2026-07-01 10:00Z") << utc("2026-07-01T10:00:00Z");
        QTest::newRow("+0530") << QStringLiteral("2026-07-01 10:00+0530")
                               << utc("2026-07-01T04:30:00Z");
        QTest::newRow("-04") << QStringLiteral("2026-07-01 10:00-04")
                             << utc("2026-07-01T14:00:00Z");
        QTest::newRow("space before offset")
            << QStringLiteral("2026-07-01 10:00:00 +02:00") << utc("2026-07-01T08:00:00Z");
        QTest::newRow("UTC word") << QStringLiteral("2026-07-01 10:00:00 UTC")
                                  << utc("2026-07-01T10:00:00Z");
        QTest::newRow("date alone: its start in the zone")
            << QStringLiteral("2026-07-01") << utc("2026-06-30T22:00:00Z");
        QTest::newRow("trimmed") << QStringLiteral("  2026-01-15 13:00  ")
                                 << utc("2026-01-15T12:00:00Z");
    }
    void readsTypedTimes()
    {
        QFETCH(QString, text);
        QFETCH(QDateTime, expected);
        const auto r = parseInstant(text, berlin, QStringLiteral("Europe/Berlin"));
        QVERIFY2(r.ok(), qPrintable(why(r)));
        QCOMPARE(r.value(), expected);
        QCOMPARE(r.value().timeSpec(), Qt::UTC);
    }

    void typedTimesInUtcAreUtc()
    {
        // The wall times Berlin skips or repeats are ordinary times in UTC.
        const auto gap = parseInstant(QStringLiteral("2026-03-29 02:30"), QTimeZone::utc(),
                                      QStringLiteral("UTC"));
        QVERIFY(gap.ok());
        QCOMPARE(gap.value(), utc("2026-03-29T02:30:00Z"));
        const auto overlap = parseInstant(QStringLiteral("2026-10-25 02:30"), QTimeZone::utc(),
                                          QStringLiteral("UTC"));
        QVERIFY(overlap.ok());
        QCOMPARE(overlap.value(), utc("2026-10-25T02:30:00Z"));
        QCOMPARE(parseInstant(QStringLiteral("2026-07-01"), QTimeZone::utc(), QStringLiteral("UTC"))
                     .value(),
                 utc("2026-07-01T00:00:00Z"));
    }

    void notATimeSaysHowToWriteOne_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("empty") << QString();
        QTest::newRow("German order") << QStringLiteral("29.03.2026 14:30");
        QTest::newRow("word") << QStringLiteral("now");
        QTest::newRow("zone name") << QStringLiteral("2026-03-29 14:30 Europe/Berlin");
        QTest::newRow("abbreviation") << QStringLiteral("2026-03-29 14:30 CEST");
        QTest::newRow("day 30 of February") << QStringLiteral("2026-02-30");
        QTest::newRow("hour 25") << QStringLiteral("2026-03-29 25:00");
        QTest::newRow("offset +15:00") << QStringLiteral("2026-03-29 14:30+15:00");
        QTest::newRow("offset minutes 75") << QStringLiteral("2026-03-29 14:30+01:75");
    }
    void notATimeSaysHowToWriteOne()
    {
        QFETCH(QString, text);
        const auto r = parseInstant(text, berlin, QStringLiteral("Europe/Berlin"));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, Error::Kind::Input);
        QVERIFY2(why(r).contains(
                     QLatin1String("Write a time as 2026-03-29 14:30 (read in Europe/Berlin, the "
                                   "zone shown) or with its offset, e.g. 2026-03-29 14:30+02:00")),
                 qPrintable(why(r)));
    }

    void offsets()
    {
        QCOMPARE(formatUtcOffset(0), QStringLiteral("+00:00"));
        QCOMPARE(formatUtcOffset(7200), QStringLiteral("+02:00"));
        QCOMPARE(formatUtcOffset(-12600), QStringLiteral("-03:30"));
        QCOMPARE(formatUtcOffset(20700), QStringLiteral("+05:45"));
    }
};

QTEST_GUILESS_MAIN(TestInstantText)
#include "tst_instanttext.moc"
