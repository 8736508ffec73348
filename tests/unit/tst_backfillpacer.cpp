// The backfill's pacing: its share of the database's time, more pause while the database is
// slower than the fastest batch seen, bounded pauses, nonsense inputs clamped.

#include "domain/BackfillPacer.h"

#include <QTest>

using namespace ledger;

class TestBackfillPacer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void keepsToItsShare()
    {
        BackfillPacer quarter(0.25);
        QCOMPARE(quarter.pauseAfter(20), qint64(60)); // 20 ms of 80: a quarter
        QCOMPARE(quarter.pauseAfter(30), qint64(90));
        BackfillPacer half(0.5);
        QCOMPARE(half.pauseAfter(40), qint64(40));
        BackfillPacer all(1.0);
        QCOMPARE(all.pauseAfter(40), qint64(0));
    }

    void yieldsMoreWhileTheDatabaseIsSlow()
    {
        BackfillPacer p(0.25);
        QCOMPARE(p.pauseAfter(20), qint64(60));
        QCOMPARE(p.fastestMs(), qint64(20));
        // 100 ms is more than three times 20 ms (+10): twice the share's pause.
        QCOMPARE(p.pauseAfter(100), qint64(600));
        // Back to normal: the share's pause again; the fastest seen stays.
        QCOMPARE(p.pauseAfter(25), qint64(75));
        QCOMPARE(p.fastestMs(), qint64(20));
        // Even a backfill allowed the whole database yields while others make it slow.
        BackfillPacer all(1.0);
        QCOMPARE(all.pauseAfter(10), qint64(0));
        QCOMPARE(all.pauseAfter(100), qint64(200));
    }

    void pausesAreBounded()
    {
        BackfillPacer p(0.25);
        QCOMPARE(p.pauseAfter(1000000), BackfillPacer::kMaxPauseMs);
        QCOMPARE(p.pauseAfter(-5), qint64(0));
        QCOMPARE(BackfillPacer(0).share(), 0.01);
        QCOMPARE(BackfillPacer(7).share(), 1.0);
        QCOMPARE(BackfillPacer(0.001).pauseAfter(10), qint64(990));
    }
};

QTEST_GUILESS_MAIN(TestBackfillPacer)
#include "tst_backfillpacer.moc"
