// ledger.ingest_source_batch as a hostile or careless writer calls it (the ledger_writer
// role, over its own connection): names that are too long, empty or carry control
// characters (terminal escapes, bidi overrides that would rewrite what an operator reads in
// the audit trail or in ledgerctl's output), bad partitions and malformed message lists are
// refused with LG093 (a list that is no array: LG017), and nothing of the call is written:
// no position, no dead letter, no posting. A good call after them still works.

#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace ledger;
using test::SqlSession;

class TestSourceBatch : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<SqlSession> m_writer;

    QString written()
    {
        return m_admin->scalar(
            QStringLiteral("SELECT (SELECT count(*) FROM ledger.source_positions) || '/' || "
                           "(SELECT count(*) FROM ledger.dead_letters) || '/' || "
                           "(SELECT count(*) FROM ledger.transactions)"));
    }

    // An event and a message the client could not read (moc cannot lex a raw string with
    // escaped quotes in it, so this is built).
    static QString goodItems()
    {
        const QJsonObject event{
            {QStringLiteral("event_id"), QStringLiteral("sb-1")},
            {QStringLiteral("type"), QStringLiteral("income")},
            {QStringLiteral("account"), QStringLiteral("SB-A")},
            {QStringLiteral("amount"), QStringLiteral("1.00")},
            {QStringLiteral("currency"), QStringLiteral("EUR")},
            {QStringLiteral("occurred_at"), QStringLiteral("2026-11-20T10:00:00Z")}};
        const QJsonArray items{
            QJsonObject{{QStringLiteral("offset"), 0},
                        {QStringLiteral("event"),
                         QString::fromUtf8(QJsonDocument(event).toJson(QJsonDocument::Compact))}},
            QJsonObject{{QStringLiteral("offset"), 1},
                        {QStringLiteral("raw"), QStringLiteral("?")},
                        {QStringLiteral("error"), QStringLiteral("not UTF-8")}}};
        return QString::fromUtf8(QJsonDocument(items).toJson(QJsonDocument::Compact));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('SB-A', 'A', 'EUR', 'liability'), "
                        "ledger.open_account('1000-CASH-EUR', 'Cash', 'EUR', 'asset')"))
                    .ok);
        m_writer = std::make_unique<SqlSession>(m_db.dsnFor(QStringLiteral("ledger_writer")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void badCallsAreRefusedAndWriteNothing_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("topic");
        QTest::addColumn<QString>("partition");
        QTest::addColumn<QString>("items");
        QTest::addColumn<QString>("sqlState");
        const QString items = goodItems();
        const QString ok = QStringLiteral("payments");
        const QString topic = QStringLiteral("money");
        const QString p0 = QStringLiteral("0");
        const QString bad = QStringLiteral("LG093");
        QTest::newRow("empty source") << QString() << topic << p0 << items << bad;
        QTest::newRow("long source")
            << QString(101, QLatin1Char('s')) << topic << p0 << items << bad;
        QTest::newRow("escape in source")
            << QStringLiteral("pay\x1b[2J\x1b[31mments") << topic << p0 << items << bad;
        QTest::newRow("bidi override in source")
            << QStringLiteral("pay") + QChar(0x202E) + QStringLiteral("stnem") << topic << p0
            << items << bad;
        QTest::newRow("newline in topic")
            << ok << QStringLiteral("money\nwriter: all clear") << p0 << items << bad;
        QTest::newRow("C1 control in topic")
            << ok << QStringLiteral("money") + QChar(0x9b) << p0 << items << bad;
        QTest::newRow("long topic") << ok << QString(250, QLatin1Char('t')) << p0 << items << bad;
        QTest::newRow("negative partition") << ok << topic << QStringLiteral("-1") << items << bad;
        QTest::newRow("no array") << ok << topic << p0 << QStringLiteral(R"({"offset": 0})")
                                  << QStringLiteral("LG017");
        QTest::newRow("not an object") << ok << topic << p0 << QStringLiteral("[1]") << bad;
        QTest::newRow("offset as text")
            << ok << topic << p0 << QStringLiteral(R"([{"offset": "0", "event": "{}"}])") << bad;
        QTest::newRow("fractional offset")
            << ok << topic << p0 << QStringLiteral(R"([{"offset": 0.5, "event": "{}"}])") << bad;
        QTest::newRow("negative offset")
            << ok << topic << p0 << QStringLiteral(R"([{"offset": -1, "event": "{}"}])") << bad;
        QTest::newRow("event and error")
            << ok << topic << p0
            << QStringLiteral(R"([{"offset": 0, "event": "{}", "error": "x", "raw": ""}])") << bad;
        QTest::newRow("neither") << ok << topic << p0 << QStringLiteral(R"([{"offset": 0}])")
                                 << bad;
        QTest::newRow("event not text")
            << ok << topic << p0 << QStringLiteral(R"([{"offset": 0, "event": {}}])") << bad;
        QTest::newRow("offset twice")
            << ok << topic << p0
            << QStringLiteral(R"([{"offset": 3, "event": "{}"}, {"offset": 3, "event": "{}"}])")
            << bad;
    }

    void badCallsAreRefusedAndWriteNothing()
    {
        QFETCH(QString, source);
        QFETCH(QString, topic);
        QFETCH(QString, partition);
        QFETCH(QString, items);
        QFETCH(QString, sqlState);
        const QString before = written();
        const auto r = m_writer->exec(
            QStringLiteral("SELECT * FROM ledger.ingest_source_batch(nullif($1, ''), $2, "
                           "$3::integer, $4::jsonb)"),
            {source, topic, partition, items});
        QVERIFY2(!r.ok, "the call was taken");
        QCOMPARE(r.sqlState, sqlState);
        QCOMPARE(written(), before);
    }

    // The same writer, well-formed: the event posts, the unreadable message is parked, the
    // position moves past both.
    void aGoodCallStillWorks()
    {
        const auto r = m_writer->exec(
            QStringLiteral("SELECT posted, parked, next_offset FROM "
                           "ledger.ingest_source_batch('payments', 'money', 0, $1::jsonb)"),
            {goodItems()});
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(r.rows.value(0),
                 (QStringList{QStringLiteral("1"), QStringLiteral("1"), QStringLiteral("2")}));
        QCOMPARE(written(), QStringLiteral("1/1/1"));
    }
};

QTEST_GUILESS_MAIN(TestSourceBatch)
#include "tst_sourcebatch.moc"
