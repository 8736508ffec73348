// A time means one instant (0031_times.sql): postings, batches and ingested events refuse a
// time without its UTC offset and words like 'now', whatever the session's time zone; and
// the known-at horizon: an answer "as known at K" for a K below the horizon never changes,
// even while a slow batch that started earlier is still to commit.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/TimelineRepository.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace ledger;
using test::SqlSession;

namespace {

QString request(const QString &key, const QString &effectiveAt,
                const QString &amount = QStringLiteral("1.00"))
{
    return QString::fromUtf8(
        QJsonDocument(
            QJsonObject{
                {QStringLiteral("idempotency_key"), key},
                {QStringLiteral("effective_at"), effectiveAt},
                {QStringLiteral("description"), QStringLiteral("times")},
                {QStringLiteral("legs"),
                 QJsonArray{
                     QJsonObject{{QStringLiteral("account"), QStringLiteral("CASH")},
                                 {QStringLiteral("amount"), amount},
                                 {QStringLiteral("currency"), QStringLiteral("EUR")}},
                     QJsonObject{{QStringLiteral("account"), QStringLiteral("CUST")},
                                 {QStringLiteral("amount"), QString(QLatin1Char('-') + amount)},
                                 {QStringLiteral("currency"), QStringLiteral("EUR")}}}}})
            .toJson(QJsonDocument::Compact));
}

} // namespace

class TestTimes : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QString m_writerDsn;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH', 'Cash', 'EUR', 'asset', true), "
                        "ledger.open_account('CUST', 'Customer', 'EUR', 'liability', true)"))
                    .ok);
        m_writerDsn = m_db.dsnFor(QStringLiteral("ledger_writer"));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void timesWithoutAnOffsetAreRefused_data()
    {
        QTest::addColumn<QString>("effectiveAt");
        QTest::newRow("no offset") << QStringLiteral("2026-11-20T10:00:00");
        QTest::newRow("no offset, space") << QStringLiteral("2026-11-20 10:00");
        QTest::newRow("date only") << QStringLiteral("2026-11-20");
        QTest::newRow("now") << QStringLiteral("now");
        QTest::newRow("today") << QStringLiteral("today");
        QTest::newRow("epoch") << QStringLiteral("epoch");
        QTest::newRow("infinity") << QStringLiteral("infinity");
        QTest::newRow("zone name") << QStringLiteral("2026-11-20 10:00 Europe/Berlin");
        QTest::newRow("zone abbreviation") << QStringLiteral("2026-11-20 10:00 CET");
        QTest::newRow("hour 25") << QStringLiteral("2026-11-20T25:00:00Z");
    }

    void timesWithoutAnOffsetAreRefused()
    {
        QFETCH(QString, effectiveAt);
        SqlSession writer(m_writerDsn);
        QVERIFY(writer.exec(QStringLiteral("SET TimeZone = 'America/New_York'")).ok);
        const auto single = writer.exec(QStringLiteral("SELECT ledger.post_transaction($1::jsonb)"),
                                        {request(QStringLiteral("t-refused"), effectiveAt)});
        QVERIFY(!single.ok);
        QCOMPARE(single.sqlState, QStringLiteral("LG017"));
        // The message says what is wrong and how to write it.
        QVERIFY2(single.message.contains(QLatin1String("2026-11-20T15:00:00Z")),
                 qPrintable(single.message));
        QVERIFY2(single.message.contains(QLatin1String("UTC offset")), qPrintable(single.message));
        QVERIFY2(single.message.contains(QLatin1String("+01:00")), qPrintable(single.message));

        // In a batch the item is refused and the others post.
        const QString batch =
            QStringLiteral("[%1, %2]")
                .arg(request(QStringLiteral("t-batch-bad"), effectiveAt),
                     request(QStringLiteral("t-batch-good-%1")
                                 .arg(QString::fromLatin1(QTest::currentDataTag())),
                             QStringLiteral("2026-11-20T10:00:00Z")));
        const auto outcome = writer.exec(
            QStringLiteral("SELECT outcome, error_code FROM ledger.post_batch($1::jsonb) ORDER BY "
                           "ordinal"),
            {batch});
        QVERIFY2(outcome.ok, qPrintable(outcome.message));
        QCOMPARE(outcome.rows.size(), 2);
        QCOMPARE(outcome.rows.at(0),
                 (QStringList{QStringLiteral("rejected"), QStringLiteral("LG017")}));
        QCOMPARE(outcome.rows.at(1).at(0), QStringLiteral("posted"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                                "idempotency_key IN ('t-refused', 't-batch-bad')")),
                 QStringLiteral("0"));
    }

    // The same request from two clients in different zones is one instant, one posting: the
    // retry is a duplicate, not a conflict (LG011), and offsets of every accepted form agree.
    void oneRequestIsOneInstantInEveryZone()
    {
        SqlSession east(m_writerDsn), west(m_writerDsn);
        QVERIFY(east.exec(QStringLiteral("SET TimeZone = 'Pacific/Kiritimati'")).ok);
        QVERIFY(west.exec(QStringLiteral("SET TimeZone = 'Pacific/Pago_Pago'")).ok);
        const QString r =
            request(QStringLiteral("t-zones"), QStringLiteral("2026-11-20T16:00:00+01:00"));
        const auto first =
            east.exec(QStringLiteral("SELECT ledger.post_transaction($1::jsonb)"), {r});
        QVERIFY2(first.ok, qPrintable(first.message));
        const auto again =
            west.exec(QStringLiteral("SELECT ledger.post_transaction($1::jsonb)"), {r});
        QVERIFY2(again.ok, qPrintable(again.message)); // a duplicate, not LG011
        QCOMPARE(again.rows, first.rows);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT effective_at = '2026-11-20 15:00Z' FROM "
                                                "ledger.transactions WHERE idempotency_key = "
                                                "'t-zones'")),
                 QStringLiteral("t"));
        int n = 0;
        for (const QString &same :
             {QStringLiteral("2026-11-20T15:00:00Z"), QStringLiteral("2026-11-20 15:00Z"),
              QStringLiteral("2026-11-20T16:00+0100"),
              QStringLiteral("2026-11-20T10:00:00.000000-05"),
              QStringLiteral("2026-11-20T15:00:00.5z")}) {
            const auto p = west.exec(QStringLiteral("SELECT ledger.post_transaction($1::jsonb)"),
                                     {request(QStringLiteral("t-form-%1").arg(++n), same)});
            QVERIFY2(p.ok, qPrintable(same + QLatin1String(": ") + p.message));
        }
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT count(DISTINCT date_trunc('second', effective_at)) FROM "
                     "ledger.transactions WHERE idempotency_key LIKE 't-form-%'")),
                 QStringLiteral("1"));
    }

    // A slow batch began before K and commits after: the horizon stays at or below its
    // start while it runs, an answer for K below the horizon is the same before and after
    // the commit, and one at or above it (where the batch's entries are recorded) changes:
    // that is what "not final yet" warns of.
    void answersBelowTheHorizonNeverChange()
    {
        SqlSession slow(m_writerDsn);
        QString items;
        for (int i = 0; i < 200; ++i)
            items += (i ? QStringLiteral(",") : QString()) +
                     request(QStringLiteral("t-slow-%1").arg(i),
                             QStringLiteral("2026-01-01T00:00:00Z"), QStringLiteral("3.00"));
        // run(): plain statements on the session, whose own transaction block stays open.
        QVERIFY(slow.run(QStringLiteral("BEGIN")).ok);
        const QString slowStart = slow.run(QStringLiteral("SELECT now()")).rows.at(0).at(0);
        const auto posted = slow.run(
            QStringLiteral("SELECT count(*) FROM ledger.post_batch($batch$[%1]$batch$::jsonb) "
                           "WHERE outcome = 'posted'")
                .arg(items));
        QVERIFY2(posted.ok, qPrintable(posted.message));
        QCOMPARE(posted.rows.at(0).at(0), QStringLiteral("200"));
        const QString recorded =
            slow.run(QStringLiteral("SELECT min(recorded_at) FROM ledger.transaction_list WHERE "
                                    "idempotency_key LIKE 't-slow-%'"))
                .rows.at(0)
                .at(0);

        SqlSession auditor(m_db.dsnFor(QStringLiteral("console_auditor")));
        QVERIFY(auditor.exec(QStringLiteral("SELECT ledger.record_read('balance', 'CASH')")).ok);
        // While it runs: the horizon is at or below the batch's start.
        const QString horizon = auditor.scalar(QStringLiteral("SELECT ledger.known_at_horizon()"));
        QCOMPARE(auditor.scalar(QStringLiteral("SELECT $1::timestamptz <= $2::timestamptz"),
                                {horizon, slowStart}),
                 QStringLiteral("t"));
        QCOMPARE(auditor.scalar(QStringLiteral("SELECT $1::timestamptz < $2::timestamptz"),
                                {horizon, recorded}),
                 QStringLiteral("t"));
        const QString belowHorizon = auditor.scalar(
            QStringLiteral("SELECT $1::timestamptz - interval '1 microsecond'"), {horizon});
        auto balanceKnownAt = [&](const QString &k) {
            return auditor.scalar(
                QStringLiteral(
                    "SELECT minor_units FROM ledger.balance('CASH', NULL, $1::timestamptz)"),
                {k});
        };
        const QString finalBefore = balanceKnownAt(belowHorizon);
        const QString notFinalBefore = balanceKnownAt(recorded);

        // What the console's point-in-time panel is told: final below the horizon, "not final
        // yet" at the batch's recorded time.
        Connection console(m_db.dsnFor(QStringLiteral("console_auditor")));
        const qint64 cash =
            m_admin->scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = 'CASH'"))
                .toLongLong();
        auto isoOf = [&](const QString &t) {
            return QDateTime::fromString(
                auditor.scalar(QStringLiteral("SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', "
                                              "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"),
                               {t}),
                Qt::ISODateWithMs);
        };
        const QDateTime horizonMs = isoOf(horizon);
        QVERIFY(horizonMs.isValid());
        const PointInTime below = TimelineRepository::pointInTime(console, cash, std::nullopt,
                                                                  horizonMs.addMSecs(-1), 10);
        QVERIFY(below.final);
        const PointInTime above = TimelineRepository::pointInTime(console, cash, std::nullopt,
                                                                  isoOf(recorded).addMSecs(1), 10);
        QVERIFY(!above.final);
        QVERIFY(above.horizon <= isoOf(recorded).addMSecs(1));

        QVERIFY(slow.run(QStringLiteral("COMMIT")).ok);
        QCOMPARE(balanceKnownAt(belowHorizon), finalBefore);
        QVERIFY2(balanceKnownAt(recorded) != notFinalBefore,
                 "the batch's entries, recorded at K but committed after, change the answer at K");
        // With nothing writing, the horizon is the present.
        QCOMPARE(
            auditor.scalar(QStringLiteral("SELECT ledger.known_at_horizon() >= $1::timestamptz"),
                           {recorded}),
            QStringLiteral("t"));
    }
};

QTEST_GUILESS_MAIN(TestTimes)
#include "tst_times.moc"
