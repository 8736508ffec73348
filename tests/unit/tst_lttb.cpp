// LTTB downsampling: keeps the ends, returns exactly the threshold, keeps a lone spike
// that plain decimation drops, stays sorted, passes small inputs through.

#include "chart/Lttb.h"

#include <QTest>

#include <cmath>

using namespace ledger;

class TestLttb : public QObject
{
    Q_OBJECT

    static QList<QPointF> line(int n, double (*f)(int))
    {
        QList<QPointF> out;
        for (int i = 0; i < n; ++i)
            out.append(QPointF(i, f(i)));
        return out;
    }

private Q_SLOTS:
    void smallInputsPassThrough_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("threshold");
        QTest::newRow("empty") << 0 << 10;
        QTest::newRow("fewer than threshold") << 5 << 10;
        QTest::newRow("equal") << 10 << 10;
        QTest::newRow("threshold 2") << 100 << 2;
        QTest::newRow("threshold 0") << 100 << 0;
    }

    void smallInputsPassThrough()
    {
        QFETCH(int, size);
        QFETCH(int, threshold);
        const QList<QPointF> in = line(size, [](int i) { return double(i * i); });
        QCOMPARE(lttb(in, threshold), in);
    }

    void returnsThresholdPointsWithBothEnds_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("threshold");
        QTest::newRow("1000 -> 100") << 1000 << 100;
        QTest::newRow("1001 -> 3") << 1001 << 3;
        QTest::newRow("100000 -> 1280") << 100000 << 1280;
        QTest::newRow("11 -> 10") << 11 << 10;
    }

    void returnsThresholdPointsWithBothEnds()
    {
        QFETCH(int, size);
        QFETCH(int, threshold);
        const QList<QPointF> in = line(size, [](int i) { return std::sin(i / 17.0) * 100; });
        const QList<QPointF> out = lttb(in, threshold);
        QCOMPARE(out.size(), qsizetype(threshold));
        QCOMPARE(out.first(), in.first());
        QCOMPARE(out.last(), in.last());
        for (int i = 1; i < out.size(); ++i)
            QVERIFY2(out[i - 1].x() < out[i].x(), "strictly increasing x, no point twice");
        for (const QPointF &p : out)
            QVERIFY(in.contains(p)); // picks points, never invents them
    }

    void keepsALoneSpike()
    {
        // Flat but for one spike at 5003: decimation to 100 points (every 100th) misses it.
        QList<QPointF> in = line(10000, [](int) { return 0.0; });
        in[5003].setY(1000);
        in[7777].setY(-400);
        const QList<QPointF> out = lttb(in, 100);
        QVERIFY(out.contains(QPointF(5003, 1000)));
        QVERIFY(out.contains(QPointF(7777, -400)));
    }

    void picksTheLargestTriangle()
    {
        // Five points, three kept: the middle bucket is {1, 2, 3}; with a = (0,0) and the
        // last point (4,0) as next average, (2,5) spans the largest triangle.
        const QList<QPointF> in = {{0, 0}, {1, 1}, {2, 5}, {3, -2}, {4, 0}};
        QCOMPARE(lttb(in, 3), (QList<QPointF>{{0, 0}, {2, 5}, {4, 0}}));
    }
};

QTEST_GUILESS_MAIN(TestLttb)
#include "tst_lttb.moc"
