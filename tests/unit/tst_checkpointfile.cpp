// Audit checkpoint files (ledgerctl audit checkpoint --out, the verify panel) carry 64-bit
// ids and sequence numbers: they come back exactly, above 2^53 too, where a double would
// silently give a neighbouring number.

#include "domain/AuditVerification.h"

#include <QTest>

#include <limits>

using namespace ledger;

namespace {

constexpr qint64 kAbove53 = (qint64(1) << 53) + 1; // the first integer a double cannot hold

QByteArray hashOf(char c)
{
    return QByteArray(32, c);
}

} // namespace

class TestCheckpointFile : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void idsAndSequencesSurviveTheRoundTrip_data()
    {
        QTest::addColumn<qint64>("checkpointId");
        QTest::addColumn<qint64>("seq");
        QTest::newRow("small") << qint64(7) << qint64(5000);
        QTest::newRow("above 2^53") << kAbove53 + 2 << kAbove53;
        QTest::newRow("largest") << std::numeric_limits<qint64>::max()
                                 << std::numeric_limits<qint64>::max() - 1;
    }
    void idsAndSequencesSurviveTheRoundTrip()
    {
        QFETCH(qint64, checkpointId);
        QFETCH(qint64, seq);
        CheckpointFile c;
        c.checkpointId = checkpointId;
        c.seq = seq;
        c.hash = hashOf('\x11');
        c.issuedAt = QDateTime(QDate(2026, 3, 1), QTime(12, 0), Qt::UTC);
        c.database = QStringLiteral("ledger");
        c.anchorEvery = 1000;
        c.anchors = {{seq - 1000, hashOf('\x22')}, {seq - 1, hashOf('\x33')}, {seq, c.hash}};
        const QByteArray json = c.toJson();
        // Written as the integers they are.
        QVERIFY2(json.contains(QByteArray::number(seq)), json.constData());
        QString error;
        const std::optional<CheckpointFile> back = CheckpointFile::fromJson(json, &error);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(back->checkpointId, checkpointId);
        QCOMPARE(back->seq, seq);
        QCOMPARE(back->anchors.size(), c.anchors.size());
        for (qsizetype i = 0; i < c.anchors.size(); ++i) {
            QCOMPARE(back->anchors.at(i).first, c.anchors.at(i).first);
            QCOMPARE(back->anchors.at(i).second, c.anchors.at(i).second);
        }
        // The marks a verification checks name the same sequences.
        const QList<ChainMark> marks = back->marks(QStringLiteral("c.json"));
        QCOMPARE(marks.last().seq, seq);
        QCOMPARE(marks.first().seq, seq - 1000);
    }

    // A sequence number that is not a whole number is refused, not rounded.
    void refusesSequencesThatAreNotIntegers_data()
    {
        QTest::addColumn<QByteArray>("seq");
        QTest::newRow("fraction") << QByteArray("12.5");
        QTest::newRow("text") << QByteArray("\"12\"");
        QTest::newRow("negative") << QByteArray("-3");
        QTest::newRow("missing") << QByteArray();
    }
    void refusesSequencesThatAreNotIntegers()
    {
        QFETCH(QByteArray, seq);
        // Plain string literals: moc (Qt 6.4) loses the class after a raw one.
        QByteArray json = "{\"format\": \"ledger-audit-checkpoint\", \"version\": 1, "
                          "\"checkpoint_id\": 1, \"hash\": \"" +
                          QByteArray(64, 'a') + "\", \"anchors\": []";
        if (!seq.isEmpty())
            json += ", \"seq\": " + seq;
        json += '}';
        QString error;
        QVERIFY(!CheckpointFile::fromJson(json, &error));
        QVERIFY2(error.contains(QLatin1String("sequence number")), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestCheckpointFile)
#include "tst_checkpointfile.moc"
