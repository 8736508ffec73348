// Step 12: money events name their schema version and older versions are upcast to the
// current one on read (migration 0047). The stored examples of every version
// (tests/data/events) upcast to the current one line by line and post the same transactions
// through every path (ledgerctl ingest --file, ledger.ingest_event, the stream's
// ledger.ingest_source_batch); unknown versions and malformed old ones are refused with a
// reason and, from a stream, parked with their payload; and a letter parked by a ledger that
// did not know its version yet posts when retried after the upgrade.
#include "LedgerInvariants.h"
#include "Ledgerctl.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/MigrationSet.h"
#include "db/Migrator.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace ledger;
using test::SqlSession;

namespace {

// The first migration that knows event versions.
constexpr int kVersionsMigration = 47;

QByteArray exampleFile(const QString &name)
{
    QFile f(QStringLiteral(LEDGER_EVENT_DATA_DIR "/") + name);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", qPrintable(f.fileName()));
    return f.readAll();
}

QList<QByteArray> exampleLines(const QString &name)
{
    QList<QByteArray> lines;
    for (const QByteArray &line : exampleFile(name).split('\n')) {
        if (!line.trimmed().isEmpty())
            lines.append(line);
    }
    return lines;
}

// ingest_source_batch's items: each message's offset and its text as it came.
QString streamItems(qint64 firstOffset, const QList<QByteArray> &messages)
{
    QJsonArray items;
    for (const QByteArray &m : messages) {
        items.append(QJsonObject{{QStringLiteral("offset"), double(firstOffset++)},
                                 {QStringLiteral("event"), QString::fromUtf8(m)}});
    }
    return QString::fromUtf8(QJsonDocument(items).toJson(QJsonDocument::Compact));
}

} // namespace

class TestEventVersions : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QString m_parkedBeforeUpgrade;

    void open(const QString &code, const QString &currency, const QString &kind)
    {
        const auto r = m_admin->exec(QStringLiteral("SELECT ledger.open_account($1, $1, $2, $3)"),
                                     {code, currency, kind});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    QString balance(const QString &account)
    {
        return m_admin->scalar(
            QStringLiteral("SELECT amount FROM ledger.balance_unchecked($1, NULL, NULL)"),
            {account});
    }

    // One event through ledger.ingest_events: "posted", "duplicate" or the SQLSTATE and
    // message of its refusal.
    QString ingestOne(const QString &event)
    {
        const auto r =
            m_admin->exec(QStringLiteral("SELECT outcome, error_code, message FROM "
                                         "ledger.ingest_events(jsonb_build_array($1::jsonb))"),
                          {event});
        if (!r.ok || r.rows.size() != 1)
            return QStringLiteral("call failed: ") + r.message;
        const QStringList &row = r.rows.first();
        return row[0] == QLatin1String("rejected") ? row[1] + QLatin1Char(' ') + row[2] : row[0];
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(false), qPrintable(m_db.lastError()));
        // The ledger as it was before it knew versions: a version 1 event from a stream is
        // parked there (it has no decimal amount).
        {
            const auto builtIn = MigrationSet::builtIn();
            QVERIFY(builtIn.ok());
            QList<Migration> before;
            for (const Migration &m : builtIn.value().migrations()) {
                if (m.version < kVersionsMigration)
                    before.append(m);
            }
            QVERIFY(before.size() < builtIn.value().migrations().size());
            const auto set = MigrationSet::fromList(before);
            QVERIFY(set.ok());
            Connection c(m_db.adminDsn());
            QVERIFY(!Migrator(c, set.value()).migrate().isEmpty());
        }
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        open(QStringLiteral("CASH-EUR"), QStringLiteral("EUR"), QStringLiteral("asset"));
        open(QStringLiteral("CASH-JPY"), QStringLiteral("JPY"), QStringLiteral("asset"));
        open(QStringLiteral("CASH-BHD"), QStringLiteral("BHD"), QStringLiteral("asset"));
        open(QStringLiteral("CUST-A"), QStringLiteral("EUR"), QStringLiteral("liability"));
        open(QStringLiteral("CUST-J"), QStringLiteral("JPY"), QStringLiteral("liability"));
        open(QStringLiteral("CUST-B"), QStringLiteral("BHD"), QStringLiteral("liability"));
        open(QStringLiteral("CUST-OLD"), QStringLiteral("EUR"), QStringLiteral("liability"));

        const QByteArray early =
            R"({"type": "income", "version": 1, "event_id": "ver-early", "account": "CUST-OLD", "amount_minor": 4200, "currency": "EUR", "occurred_at": "2026-09-30T12:00:00Z"})";
        const auto parked = m_admin->exec(
            QStringLiteral("SELECT posted, parked FROM ledger.ingest_source_batch('payments', "
                           "'money', 0, $1::jsonb, 'CASH-{currency}')"),
            {streamItems(0, {early})});
        QVERIFY2(parked.ok, qPrintable(parked.message));
        QCOMPARE(parked.rows.value(0), (QStringList{QStringLiteral("0"), QStringLiteral("1")}));
        m_parkedBeforeUpgrade = m_admin->scalar(QStringLiteral(
            "SELECT id FROM ledger.dead_letters WHERE kafka_offset = 0 AND source = 'payments'"));
        QVERIFY(!m_parkedBeforeUpgrade.isEmpty());

        QVERIFY2(m_db.migrate(), qPrintable(m_db.lastError()));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // Every stored example of every version, upcast, is the current example of its line.
    void everyStoredVersionUpcastsToTheCurrentOne()
    {
        const QList<QByteArray> current = exampleLines(QStringLiteral("v2.ndjson"));
        QCOMPARE(current.size(), 5);
        for (const QString &name : {QStringLiteral("v1.ndjson"), QStringLiteral("v2.ndjson"),
                                    QStringLiteral("unversioned.ndjson")}) {
            const QList<QByteArray> lines = exampleLines(name);
            QCOMPARE(lines.size(), current.size());
            for (qsizetype i = 0; i < lines.size(); ++i) {
                const auto r = m_admin->exec(
                    QStringLiteral("SELECT u.error, u.event = $2::jsonb - CASE WHEN $1::jsonb ? "
                                   "'version' THEN '' ELSE 'version' END, u.event::text "
                                   "FROM ledger.upcast_event($1::jsonb) u"),
                    {QString::fromUtf8(lines[i]), QString::fromUtf8(current[i])});
                QVERIFY2(r.ok, qPrintable(r.message));
                QVERIFY2(r.rows[0][0].isNull(), qPrintable(name + QLatin1Char(' ') + r.rows[0][0]));
                QVERIFY2(r.rows[0][1] == QLatin1String("t"),
                         qPrintable(QStringLiteral("%1 line %2 upcasts to %3")
                                        .arg(name)
                                        .arg(i + 1)
                                        .arg(r.rows[0][2])));
            }
        }
    }

    // The same events in every version are the same postings: the current file posts them,
    // the others are duplicates of them (the same idempotency key with the same request;
    // a different request under the key would be refused, LG011).
    void everyVersionPostsTheSameTransactions()
    {
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        const QStringList args{QStringLiteral("ingest"),   QStringLiteral("--file"),
                               QStringLiteral("-"),        QStringLiteral("--json"),
                               QStringLiteral("--contra"), QStringLiteral("CASH-{currency}")};
        auto r = test::runLedgerctl(args, writer, exampleFile(QStringLiteral("v1.ndjson")));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 5);
        for (const QString &name :
             {QStringLiteral("v2.ndjson"), QStringLiteral("unversioned.ndjson")}) {
            r = test::runLedgerctl(args, writer, exampleFile(name));
            QVERIFY2(r.exitCode == 0, qPrintable(name + r.describe()));
            QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 0);
            QCOMPARE(r.json().value(QStringLiteral("duplicates")).toInt(), 5);
            QCOMPARE(r.json().value(QStringLiteral("rejected")).toInt(), 0);
        }
        // The single path and the stream path agree.
        for (const QByteArray &line : exampleLines(QStringLiteral("v1.ndjson"))) {
            QCOMPARE(m_admin->scalar(
                         QStringLiteral("SELECT duplicate FROM ledger.ingest_event($1::jsonb, "
                                        "'CASH-{currency}')"),
                         {QString::fromUtf8(line)}),
                     QStringLiteral("t"));
        }
        const auto stream = m_admin->exec(
            QStringLiteral("SELECT posted, duplicates, parked FROM ledger.ingest_source_batch("
                           "'payments', 'money', 1, $1::jsonb, 'CASH-{currency}')"),
            {streamItems(0, exampleLines(QStringLiteral("v1.ndjson")))});
        QVERIFY2(stream.ok, qPrintable(stream.message));
        QCOMPARE(stream.rows.value(0),
                 (QStringList{QStringLiteral("0"), QStringLiteral("5"), QStringLiteral("0")}));

        // 12.34 - 5.00 + 1,234,567,890.12 on the customer's side; yen without decimals, the
        // dinar with three.
        QCOMPARE(balance(QStringLiteral("CUST-A")), QStringLiteral("1234567897.46"));
        QCOMPARE(balance(QStringLiteral("CUST-J")), QStringLiteral("1500"));
        QCOMPARE(balance(QStringLiteral("CUST-B")), QStringLiteral("12.345"));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT count(*) FROM ledger.transactions WHERE external_ref LIKE 'ver-%'")),
                 QStringLiteral("5"));
    }

    void unknownVersionsAreRefusedWithTheReason_data()
    {
        QTest::addColumn<QString>("version");
        for (const char *v : {"3", "0", "-1", "\"2\"", "1.5", "null", "true", "[2]", "{}"})
            QTest::newRow(v) << QString::fromLatin1(v);
    }

    void unknownVersionsAreRefusedWithTheReason()
    {
        QFETCH(QString, version);
        const QString event =
            QStringLiteral(R"({"type": "income", "version": %1, "event_id": "ver-unknown", )"
                           R"("account": "CUST-A", "amount": "1.00", "currency": "EUR", )"
                           R"("occurred_at": "2026-10-01T09:00:00Z"})")
                .arg(version);
        const QString got = ingestOne(event);
        QVERIFY2(got.startsWith(QLatin1String("LG096 Version ")), qPrintable(got));
        QVERIFY2(got.contains(QLatin1String("of \"income\" events is not one this ledger reads")),
                 qPrintable(got));
        QCOMPARE(
            m_admin->scalar(QStringLiteral(
                "SELECT count(*) FROM ledger.transactions WHERE external_ref = 'ver-unknown'")),
            QStringLiteral("0"));
    }

    void malformedOldEventsAreRefusedWithTheReason_data()
    {
        QTest::addColumn<QString>("fields");
        QTest::addColumn<QString>("expected");
        const QString amount = QStringLiteral("LG012 amount_minor must be a positive whole number");
        QTest::newRow("string") << R"("amount_minor": "1234", "currency": "EUR")" << amount;
        QTest::newRow("zero") << R"("amount_minor": 0, "currency": "EUR")" << amount;
        QTest::newRow("negative") << R"("amount_minor": -5, "currency": "EUR")" << amount;
        QTest::newRow("fraction") << R"("amount_minor": 12.5, "currency": "EUR")" << amount;
        QTest::newRow("too large")
            << R"("amount_minor": 9999999999999999999, "currency": "EUR")" << amount;
        QTest::newRow("missing") << R"("amount": "12.34", "currency": "EUR")" << amount;
        QTest::newRow("currency") << R"("amount_minor": 5, "currency": "XQQ")"
                                  << QStringLiteral("LG003 Unknown currency \"XQQ\"");
        QTest::newRow("no currency")
            << R"("amount_minor": 5)" << QStringLiteral("LG003 Unknown currency \"null\"");
    }

    void malformedOldEventsAreRefusedWithTheReason()
    {
        QFETCH(QString, fields);
        QFETCH(QString, expected);
        const QString event =
            QStringLiteral(R"({"type": "income", "version": 1, "event_id": "ver-bad", )"
                           R"("account": "CUST-A", %1, "occurred_at": "2026-10-01T09:00:00Z"})")
                .arg(fields);
        const QString got = ingestOne(event);
        QVERIFY2(got.startsWith(expected), qPrintable(got));
        // The single path says the same, as an error.
        const auto single =
            m_admin->exec(QStringLiteral("SELECT * FROM ledger.ingest_event($1::jsonb)"), {event});
        QVERIFY(!single.ok);
        QCOMPARE(single.sqlState, expected.left(5));
    }

    // From a stream, unknown versions are parked with the reason and the payload as it came,
    // and the partition's position moves past them; the events around them post.
    void aStreamParksWhatItCannotUpcast()
    {
        const QList<QByteArray> messages{
            R"({"type": "income", "version": 1, "event_id": "ver-s1", "account": "CUST-A", "amount_minor": 100, "currency": "EUR", "occurred_at": "2026-10-06T09:00:00Z"})",
            R"({"type":"income","version":3,"event_id":"ver-s2","account":"CUST-A","amount":{"value":"1.00","currency":"EUR"}})",
            R"({"type": "outcome", "version": 1, "event_id": "ver-s3", "account": "CUST-A", "amount_minor": "x", "currency": "EUR", "occurred_at": "2026-10-06T09:00:00Z"})",
            R"({"type": "income", "version": 2, "event_id": "ver-s5", "account": "NOBODY", "amount": "0.50", "currency": "EUR", "occurred_at": "2026-10-06T10:00:00Z"})",
            R"({"type": "outcome", "event_id": "ver-s4", "account": "CUST-A", "amount": "0.50", "currency": "EUR", "occurred_at": "2026-10-06T10:00:00Z"})"};
        const auto r = m_admin->exec(
            QStringLiteral("SELECT posted, duplicates, parked, next_offset FROM "
                           "ledger.ingest_source_batch('payments', 'money', 2, $1::jsonb, "
                           "'CASH-{currency}')"),
            {streamItems(10, messages)});
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(r.rows.value(0), (QStringList{QStringLiteral("2"), QStringLiteral("0"),
                                               QStringLiteral("3"), QStringLiteral("15")}));
        const auto letters = m_admin->exec(
            QStringLiteral("SELECT kafka_offset, error_code, payload FROM ledger.dead_letters "
                           "WHERE source = 'payments' AND partition = 2 ORDER BY kafka_offset"));
        QVERIFY2(letters.ok, qPrintable(letters.message));
        QCOMPARE(letters.rows.size(), 3);
        QCOMPARE(letters.rows[0], (QStringList{QStringLiteral("11"), QStringLiteral("LG096"),
                                               QString::fromUtf8(messages[1])}));
        QCOMPARE(letters.rows[1], (QStringList{QStringLiteral("12"), QStringLiteral("LG012"),
                                               QString::fromUtf8(messages[2])}));
        // Refused after the upcast, behind two that were refused by it: its own offset.
        QCOMPARE(letters.rows[2], (QStringList{QStringLiteral("13"), QStringLiteral("LG018"),
                                               QString::fromUtf8(messages[3])}));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT string_agg(external_ref, ',' ORDER BY external_ref) FROM "
                     "ledger.transactions WHERE external_ref LIKE 'ver-s%'")),
                 QStringLiteral("ver-s1,ver-s4"));
    }

    // A batch mixing items the upcast refuses and items the posting refuses: one row per
    // item, at its own ordinal, in order.
    void eachItemIsAnsweredAtItsOrdinal()
    {
        const auto r = m_admin->exec(QStringLiteral(
            R"(SELECT ordinal, outcome, coalesce(error_code, '') FROM ledger.ingest_events('[)"
            R"({"type": "income", "version": 1, "event_id": "ver-o1", "account": "CUST-A", "amount_minor": 1, "currency": "EUR", "occurred_at": "2026-10-07T09:00:00Z"},)"
            R"({"type": "income", "version": 9, "event_id": "ver-o2"},)"
            R"({"type": "income", "version": 2, "event_id": "ver-o3", "account": "NOBODY", "amount": "1.00", "currency": "EUR", "occurred_at": "2026-10-07T09:00:00Z"},)"
            R"({"type": "income", "version": 2.0, "event_id": "ver-o4", "account": "CUST-A", "amount": "0.01", "currency": "EUR", "occurred_at": "2026-10-07T09:00:00Z"},)"
            R"({"type": "income", "version": 1e0, "event_id": "ver-o5", "account": "CUST-A", "amount_minor": 1, "currency": "EUR", "occurred_at": "2026-10-07T09:00:00Z"})"
            R"(]'::jsonb, 'CASH-{currency}') ORDER BY ordinal)"));
        QVERIFY2(r.ok, qPrintable(r.message));
        QStringList got;
        for (const QStringList &row : r.rows)
            got << row.join(QLatin1Char(' ')).trimmed();
        // (2.0 and 1e0 are the numbers 2 and 1: jsonb compares numbers by value.)
        QCOMPARE(got, (QStringList{QStringLiteral("1 posted"), QStringLiteral("2 rejected LG096"),
                                   QStringLiteral("3 rejected LG018"), QStringLiteral("4 posted"),
                                   QStringLiteral("5 posted")}));
    }

    // Parked by the ledger before it read version 1 (the initTestCase); retried now, it
    // goes through today's upcasters and posts, once.
    void aLetterParkedBeforeTheUpgradePostsWhenRetried()
    {
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT error_code FROM ledger.dead_letters "
                                                "WHERE id = $1"),
                                 {m_parkedBeforeUpgrade}),
                 QStringLiteral("LG012"));
        const auto r = m_admin->exec(
            QStringLiteral("SELECT transaction_id, duplicate FROM ledger.retry_dead_letter($1)"),
            {m_parkedBeforeUpgrade});
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(r.rows.value(0).value(1), QStringLiteral("f"));
        QCOMPARE(balance(QStringLiteral("CUST-OLD")), QStringLiteral("42.00"));
        // Posted with the contra the stream was ingested with (CASH-{currency}), not the
        // default one.
        QCOMPARE(
            m_admin->scalar(QStringLiteral("SELECT string_agg(a.code, ',' ORDER BY a.code) FROM "
                                           "ledger.entries e JOIN ledger.accounts a ON a.id = "
                                           "e.account_id WHERE e.transaction_id = $1"),
                            {r.rows[0][0]}),
            QStringLiteral("CASH-EUR,CUST-OLD"));
        const auto again = m_admin->exec(
            QStringLiteral("SELECT * FROM ledger.retry_dead_letter($1)"), {m_parkedBeforeUpgrade});
        QVERIFY(!again.ok);
    }
};

QTEST_GUILESS_MAIN(TestEventVersions)
#include "tst_eventversions.moc"
