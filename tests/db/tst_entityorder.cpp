// Step 12: events of one entity are applied in the entity's order (migration 0050). A stream
// whose events arrive shuffled, with copies, through two writers at once posts every event
// once and each entity's events in their order; an event the posting rules refuse keeps its
// successors back until it is retried; holds past their age become dead letters under their
// own origin, and an operator moves an entity past a lost number (audited); files are put in
// order within a batch and refused across; bad entity fields and a writer reaching for the
// holds are refused.
#include "LedgerInvariants.h"
#include "Ledgerctl.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <random>
#include <thread>

using namespace ledger;
using test::SqlSession;

namespace {

QString compact(const QJsonValue &v)
{
    return QString::fromUtf8(v.isArray()
                                 ? QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact)
                                 : QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
}

// The cents event `seq` moves: 1 to 99.
qint64 centsOf(qint64 seq)
{
    return seq % 99 + 1;
}

// Event `seq` of `entity`: income of centsOf(seq) on `account`, id "<entity>-<seq>".
QJsonObject entityEvent(const QString &entity, qint64 seq,
                        const QString &account = QStringLiteral("EO-A"), const QString &id = {})
{
    return {{QStringLiteral("event_id"),
             id.isEmpty() ? QStringLiteral("%1-%2").arg(entity).arg(seq) : id},
            {QStringLiteral("type"), QStringLiteral("income")},
            {QStringLiteral("account"), account},
            {QStringLiteral("amount"),
             QStringLiteral("0.%1").arg(centsOf(seq), 2, 10, QLatin1Char('0'))},
            {QStringLiteral("currency"), QStringLiteral("EUR")},
            {QStringLiteral("occurred_at"), QStringLiteral("2026-11-20T10:00:00Z")},
            {QStringLiteral("entity"), entity},
            {QStringLiteral("entity_seq"), double(seq)}};
}

// ingest_source_batch's items: offsets from `first`, each event as its JSON text.
QString items(qint64 first, const QList<QJsonObject> &events)
{
    QJsonArray a;
    for (const QJsonObject &e : events)
        a.append(QJsonObject{{QStringLiteral("offset"), double(first++)},
                             {QStringLiteral("event"), compact(e)}});
    return compact(a);
}

struct BatchCounts
{
    qint64 posted = 0, duplicates = 0, parked = 0, held = 0, released = 0;
    int retries = 0; // deadlocks or serialization failures retried (locks are taken in order: none)
    QString failure;
};

// One partition's messages through ledger.ingest_source_batch, `batch` at a time, retrying
// what PostgreSQL asks to retry (a deadlock or serialization failure), as the ingester does.
BatchCounts feed(SqlSession &s, const QString &source, int partition,
                 const QList<QJsonObject> &events, int maxBatch, quint32 seed)
{
    BatchCounts c;
    QRandomGenerator rng(seed);
    for (int i = 0; i < events.size();) {
        const int n = qMin(int(events.size()) - i, 1 + int(rng.bounded(maxBatch)));
        test::SqlOutcome r;
        for (int attempt = 0; attempt < 5; ++attempt) {
            r = s.exec(QStringLiteral("SELECT posted, duplicates, parked, held, released FROM "
                                      "ledger.ingest_source_batch($1, 'money', %1, $2::jsonb)")
                           .arg(partition),
                       {source, items(i, events.mid(i, n))});
            if (r.ok ||
                (r.sqlState != QLatin1String("40P01") && r.sqlState != QLatin1String("40001")))
                break;
            ++c.retries;
        }
        if (!r.ok) {
            c.failure = r.sqlState + QLatin1Char(' ') + r.message;
            return c;
        }
        c.posted += r.rows[0][0].toLongLong();
        c.duplicates += r.rows[0][1].toLongLong();
        c.parked += r.rows[0][2].toLongLong();
        c.held += r.rows[0][3].toLongLong();
        c.released += r.rows[0][4].toLongLong();
        i += n;
    }
    return c;
}

} // namespace

class TestEntityOrder : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<SqlSession> m_writer;
    QString m_writerDsn;
    int m_badOffset = 0;

    // Per entity with events named "<prefix>...", the pairs applied out of their order.
    int outOfOrder(const QString &prefix)
    {
        return m_admin
            ->scalar(QStringLiteral("WITH t AS (SELECT t.id, split_part(substr(t.idempotency_key, "
                                    "7), '-', 1) AS e, "
                                    "split_part(substr(t.idempotency_key, 7), '-', 2)::bigint AS n "
                                    "FROM ledger.transactions t WHERE t.idempotency_key LIKE "
                                    "'event:' || $1 || '%') "
                                    "SELECT count(*) FROM (SELECT t.id < lag(t.id) OVER (PARTITION "
                                    "BY t.e ORDER BY t.n) "
                                    "AS bad FROM t) x WHERE x.bad"),
                     {prefix})
            .toInt();
    }

    QString posted(const QString &eventId)
    {
        return m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                              "idempotency_key = 'event:' || $1"),
                               {eventId});
    }

    QString lastOf(const QString &entity)
    {
        return m_admin->scalar(
            QStringLiteral("SELECT last_seq FROM ledger.entity_sequences WHERE entity = $1"),
            {entity});
    }

    // One event through ledger.ingest_events (the file path): "posted", "duplicate" or the
    // SQLSTATE and message of its refusal.
    QString ingestOne(const QJsonObject &e)
    {
        const auto r =
            m_writer->exec(QStringLiteral("SELECT outcome, error_code, message FROM "
                                          "ledger.ingest_events(jsonb_build_array($1::jsonb))"),
                           {compact(e)});
        if (!r.ok || r.rows.size() != 1)
            return QStringLiteral("call failed: ") + r.message;
        const QStringList &row = r.rows.first();
        return row[0] == QLatin1String("rejected") ? row[1] + QLatin1Char(' ') + row[2] : row[0];
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('EO-A', 'A', 'EUR', 'asset'), "
                        "ledger.open_account('EO-B', 'B', 'EUR', 'asset'), "
                        "ledger.open_account('1000-CASH-EUR', 'Cash', 'EUR', 'asset')"))
                    .ok);
        m_writerDsn = m_db.dsnFor(QStringLiteral("ledger_writer"));
        m_writer = std::make_unique<SqlSession>(m_writerDsn);
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // 30 entities of 1 to 30 events each, shuffled whole (no order kept at all), 5% sent
    // twice, split over two partitions consumed by two writers at once: every event posted
    // once, each entity's in its order, nothing left held.
    void shuffledStreamPostsInEntityOrder()
    {
        QRandomGenerator rng(20261203);
        QList<QJsonObject> events;
        qint64 expectedCents = 0;
        for (int e = 0; e < 30; ++e) {
            const int n = 1 + int(rng.bounded(30));
            for (int s = 1; s <= n; ++s) {
                events.append(entityEvent(QStringLiteral("S%1").arg(e), s));
                expectedCents += centsOf(s);
            }
        }
        const int distinct = int(events.size());
        for (int i = 0; i < distinct / 20; ++i)
            events.append(events.at(int(rng.bounded(distinct))));
        std::shuffle(events.begin(), events.end(), std::mt19937(rng.generate()));
        QList<QJsonObject> parts[2];
        for (const QJsonObject &e : events)
            parts[rng.bounded(2)].append(e);

        BatchCounts counts[2];
        {
            std::thread other([&] {
                SqlSession s(m_writerDsn);
                counts[1] = feed(s, QStringLiteral("eo-shuffled"), 1, parts[1], 25, 7);
            });
            SqlSession s(m_writerDsn);
            counts[0] = feed(s, QStringLiteral("eo-shuffled"), 0, parts[0], 25, 8);
            other.join();
        }
        QVERIFY2(counts[0].failure.isEmpty(), qPrintable(counts[0].failure));
        QVERIFY2(counts[1].failure.isEmpty(), qPrintable(counts[1].failure));
        QVERIFY2(counts[0].held + counts[1].held > 0,
                 "the shuffle held nothing: the test proves nothing");
        QCOMPARE(counts[0].parked + counts[1].parked, 0);
        QCOMPARE(counts[0].retries + counts[1].retries, 0);
        // Posted when they came or when their predecessor freed them; every copy answered
        // (a duplicate, or held beside the one it copies).
        QCOMPARE(counts[0].posted + counts[1].posted + counts[0].released + counts[1].released,
                 qint64(distinct));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                                "idempotency_key LIKE 'event:S%'")),
                 QString::number(distinct));
        QCOMPARE(outOfOrder(QStringLiteral("S")), 0);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.held_events")),
                 QStringLiteral("0"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT sum(last_seq) FROM ledger.entity_sequences "
                                                "WHERE entity LIKE 'S%'")),
                 QString::number(distinct));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT sum(e.amount) FROM ledger.entries e JOIN ledger.transactions t "
                     "ON t.id = e.transaction_id JOIN ledger.accounts a ON a.id = e.account_id "
                     "WHERE a.code = 'EO-A' AND t.idempotency_key LIKE 'event:S%'")),
                 QString::number(expectedCents));

        // The same stream again (a replay under another source): all duplicates.
        SqlSession s(m_writerDsn);
        const BatchCounts again = feed(s, QStringLiteral("eo-replay"), 0, events, 40, 9);
        QVERIFY2(again.failure.isEmpty(), qPrintable(again.failure));
        QCOMPARE(again.posted + again.released + again.held + again.parked, qint64(0));
        QCOMPARE(again.duplicates, qint64(events.size()));
    }

    // A number the posting rules refuse (its account does not exist yet) keeps the numbers
    // after it back, even those in the same batch; retried once the account is open, it
    // posts and frees them, in order.
    void aRefusedNumberKeepsItsSuccessorsBack()
    {
        const QList<QJsonObject> batch{
            entityEvent(QStringLiteral("R1"), 1),
            entityEvent(QStringLiteral("R1"), 2, QStringLiteral("EO-LATER")),
            entityEvent(QStringLiteral("R1"), 3), entityEvent(QStringLiteral("R1"), 4),
            entityEvent(QStringLiteral("R2"), 1)};
        const auto r =
            m_writer->exec(QStringLiteral("SELECT posted, parked, held FROM "
                                          "ledger.ingest_source_batch('eo-refused', 'money', "
                                          "0, $1::jsonb)"),
                           {items(0, batch)});
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(r.rows[0],
                 (QStringList{QStringLiteral("2"), QStringLiteral("1"), QStringLiteral("2")}));
        QCOMPARE(posted(QStringLiteral("R1-3")), QStringLiteral("0"));
        QCOMPARE(lastOf(QStringLiteral("R1")), QStringLiteral("1"));
        const QString letter = m_admin->scalar(QStringLiteral(
            "SELECT id || ' ' || error_code FROM ledger.dead_letters WHERE source = 'eo-refused'"));
        QVERIFY2(letter.endsWith(QLatin1String(" LG018")), qPrintable(letter));

        QVERIFY(m_admin
                    ->exec(QStringLiteral("SELECT ledger.open_account('EO-LATER', 'Later', 'EUR', "
                                          "'asset')"))
                    .ok);
        const auto retry = test::runLedgerctl(
            {QStringLiteral("deadletters"), QStringLiteral("retry"), QStringLiteral("--id"),
             letter.section(QLatin1Char(' '), 0, 0), QStringLiteral("--json")},
            m_writerDsn);
        QVERIFY2(retry.exitCode == 0, qPrintable(retry.describe()));
        QCOMPARE(lastOf(QStringLiteral("R1")), QStringLiteral("4"));
        QCOMPARE(posted(QStringLiteral("R1-4")), QStringLiteral("1"));
        QCOMPARE(outOfOrder(QStringLiteral("R")), 0);
        QCOMPARE(
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.held_events WHERE entity "
                                           "LIKE 'R%'")),
            QStringLiteral("0"));
    }

    // Holds past their age become dead letters under their own partition and offset, which
    // stay refused while the number they wait for is missing; an operator moves the entity
    // past it (audited, with the reason), after which they post; held events below the new
    // number are parked, those from it on applied.
    void holdsExpireAndAnEntityIsMovedPastALostNumber()
    {
        const QList<QJsonObject> batch{entityEvent(QStringLiteral("X1"), 1),
                                       entityEvent(QStringLiteral("X1"), 3),
                                       entityEvent(QStringLiteral("X1"), 4)};
        QVERIFY(m_writer
                    ->exec(QStringLiteral("SELECT * FROM ledger.ingest_source_batch('eo-expiry', "
                                          "'money', 3, $1::jsonb)"),
                           {items(10, batch)})
                    .ok);
        auto held = test::runLedgerctl(
            {QStringLiteral("deadletters"), QStringLiteral("held"), QStringLiteral("--json")},
            m_writerDsn);
        QVERIFY2(held.exitCode == 0, qPrintable(held.describe()));
        QJsonArray rows = held.json().value(QStringLiteral("held")).toArray();
        QCOMPARE(rows.size(), 2);
        QCOMPARE(rows[0].toObject().value(QStringLiteral("waits_for")).toInt(), 2);
        QCOMPARE(rows[0].toObject().value(QStringLiteral("offset")).toInt(), 11);

        QCOMPARE(
            m_writer->exec(QStringLiteral("SELECT ledger.expire_held_events('1 hour')")).rows[0][0],
            QStringLiteral("0"));
        QCOMPARE(m_writer->exec(QStringLiteral("SELECT ledger.expire_held_events('0 seconds')"))
                     .rows[0][0],
                 QStringLiteral("2"));
        const auto letters = m_admin->exec(QStringLiteral(
            "SELECT id, partition, kafka_offset, error_code, reason FROM ledger.dead_letters "
            "WHERE source = 'eo-expiry' ORDER BY kafka_offset"));
        QCOMPARE(letters.rows.size(), 2);
        QCOMPARE(letters.rows[0][1], QStringLiteral("3"));
        QCOMPARE(letters.rows[0][2], QStringLiteral("11"));
        QCOMPARE(letters.rows[0][3], QStringLiteral("LG097"));
        QVERIFY2(letters.rows[0][4].contains(QLatin1String("waiting for number 2")),
                 qPrintable(letters.rows[0][4]));

        auto retry = test::runLedgerctl({QStringLiteral("deadletters"), QStringLiteral("retry"),
                                         QStringLiteral("--id"), letters.rows[0][0]},
                                        m_writerDsn);
        QVERIFY2(retry.exitCode != 0 && retry.err.contains(QLatin1String("waits for number 2")),
                 qPrintable(retry.describe()));

        // Moving on needs a reason, and a later number.
        auto skip = test::runLedgerctl({QStringLiteral("deadletters"), QStringLiteral("skip"),
                                        QStringLiteral("--entity"), QStringLiteral("X1"),
                                        QStringLiteral("--to"), QStringLiteral("3")},
                                       m_writerDsn);
        QVERIFY2(skip.exitCode != 0, qPrintable(skip.describe()));
        skip = test::runLedgerctl({QStringLiteral("deadletters"), QStringLiteral("skip"),
                                   QStringLiteral("--entity"), QStringLiteral("X1"),
                                   QStringLiteral("--to"), QStringLiteral("2"),
                                   QStringLiteral("--reason"), QStringLiteral("none")},
                                  m_writerDsn);
        QVERIFY2(skip.exitCode != 0 && skip.err.contains(QLatin1String("later number only")),
                 qPrintable(skip.describe()));
        skip = test::runLedgerctl(
            {QStringLiteral("deadletters"), QStringLiteral("skip"), QStringLiteral("--entity"),
             QStringLiteral("X1"), QStringLiteral("--to"), QStringLiteral("3"),
             QStringLiteral("--reason"), QStringLiteral("number 2 was lost upstream"),
             QStringLiteral("--json")},
            m_writerDsn);
        QVERIFY2(skip.exitCode == 0, qPrintable(skip.describe()));
        QCOMPARE(skip.json().value(QStringLiteral("skipped_from")).toInt(), 2);
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT details->>'reason' FROM audit.events WHERE id = $1 "
                                    "AND action = 'entity.skipped'"),
                     {QString::number(skip.json().value(QStringLiteral("event_id")).toInteger())}),
                 QStringLiteral("number 2 was lost upstream"));
        for (const QStringList &row : letters.rows) {
            retry = test::runLedgerctl({QStringLiteral("deadletters"), QStringLiteral("retry"),
                                        QStringLiteral("--id"), row[0]},
                                       m_writerDsn);
            QVERIFY2(retry.exitCode == 0, qPrintable(retry.describe()));
        }
        QCOMPARE(lastOf(QStringLiteral("X1")), QStringLiteral("4"));
        QCOMPARE(posted(QStringLiteral("X1-2")), QStringLiteral("0"));
        QCOMPARE(outOfOrder(QStringLiteral("X")), 0);

        // Held 1..; numbers 3, 5, 6 held; moved on to 5: 3 parked, 5 and 6 applied.
        const QList<QJsonObject> more{
            entityEvent(QStringLiteral("X2"), 1), entityEvent(QStringLiteral("X2"), 3),
            entityEvent(QStringLiteral("X2"), 5), entityEvent(QStringLiteral("X2"), 6)};
        QVERIFY(m_writer
                    ->exec(QStringLiteral("SELECT * FROM ledger.ingest_source_batch('eo-expiry', "
                                          "'money', 4, $1::jsonb)"),
                           {items(0, more)})
                    .ok);
        const auto moved =
            m_writer->exec(QStringLiteral("SELECT skipped_from, applied, parked FROM "
                                          "ledger.skip_entity_events('X2', 5, 'void numbers')"));
        QVERIFY2(moved.ok, qPrintable(moved.message));
        QCOMPARE(moved.rows[0],
                 (QStringList{QStringLiteral("2"), QStringLiteral("2"), QStringLiteral("1")}));
        QCOMPARE(posted(QStringLiteral("X2-6")), QStringLiteral("1"));
        QCOMPARE(posted(QStringLiteral("X2-3")), QStringLiteral("0"));
        QCOMPARE(
            m_admin->scalar(QStringLiteral("SELECT error_code || ' ' || kafka_offset FROM "
                                           "ledger.dead_letters WHERE source = 'eo-expiry' AND "
                                           "partition = 4")),
            QStringLiteral("LG097 1"));
    }

    // A file (ledger.ingest_events) cannot hold: its lines are put in order within a batch,
    // a line whose predecessor is in a later batch is refused, a new event under a passed
    // number is refused and a replayed one is a duplicate.
    void filesAreOrderedWithinABatchAndRefusedAcross()
    {
        QByteArray file;
        for (const qint64 seq : {3, 1, 2})
            file += compact(entityEvent(QStringLiteral("F1"), seq)).toUtf8() + '\n';
        auto r = test::runLedgerctl({QStringLiteral("ingest"), QStringLiteral("--file"),
                                     QStringLiteral("-"), QStringLiteral("--json")},
                                    m_writerDsn, file);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 3);
        QCOMPARE(outOfOrder(QStringLiteral("F1")), 0);

        file.clear();
        for (const qint64 seq : {5, 4})
            file += compact(entityEvent(QStringLiteral("F2"), seq)).toUtf8() + '\n';
        r = test::runLedgerctl({QStringLiteral("ingest"), QStringLiteral("--file"),
                                QStringLiteral("-"), QStringLiteral("--batch-size"),
                                QStringLiteral("1"), QStringLiteral("--json")},
                               m_writerDsn, file);
        QVERIFY2(r.exitCode == 1, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("rejected")).toInt(), 2);
        QVERIFY2(r.out.contains(QLatin1String("waits for number 1")), qPrintable(r.out));

        QCOMPARE(ingestOne(entityEvent(QStringLiteral("F1"), 2)), QStringLiteral("duplicate"));
        const QString late = ingestOne(entityEvent(QStringLiteral("F1"), 2, QStringLiteral("EO-A"),
                                                   QStringLiteral("F1-other")));
        QVERIFY2(late.startsWith(QLatin1String("LG097")) &&
                     late.contains(QLatin1String("after its successors")),
                 qPrintable(late));
        // Two events under one number in one batch: the first is taken.
        const auto both = m_writer->exec(
            QStringLiteral(
                "SELECT outcome, error_code FROM ledger.ingest_events($1::jsonb) ORDER BY ordinal"),
            {compact(QJsonArray{entityEvent(QStringLiteral("F3"), 1),
                                entityEvent(QStringLiteral("F3"), 1, QStringLiteral("EO-A"),
                                            QStringLiteral("F3-x"))})});
        QVERIFY2(both.ok, qPrintable(both.message));
        QCOMPARE(both.rows[0][0], QStringLiteral("posted"));
        QCOMPARE(both.rows[1][1], QStringLiteral("LG097"));
        // The same event again with other content: refused, not taken for a duplicate.
        QJsonObject changed = entityEvent(QStringLiteral("F4"), 2);
        changed.insert(QStringLiteral("amount"), QStringLiteral("9.99"));
        const auto copies = m_writer->exec(
            QStringLiteral(
                "SELECT outcome, error_code, message FROM ledger.ingest_events($1::jsonb) "
                "ORDER BY ordinal"),
            {compact(QJsonArray{entityEvent(QStringLiteral("F4"), 2), changed})});
        QVERIFY2(copies.ok, qPrintable(copies.message));
        QCOMPARE(copies.rows[1][1], QStringLiteral("LG097"));
        QVERIFY2(copies.rows[1][2].contains(QLatin1String("other content")),
                 qPrintable(copies.rows[1][2]));
        // Only in READ COMMITTED (a hold must be seen by whoever posts its predecessor).
        QCOMPARE(m_writer
                     ->run(QStringLiteral(
                         "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM "
                         "ledger.ingest_events('[{\"entity\": \"F5\", \"entity_seq\": 1}]')"))
                     .sqlState,
                 QStringLiteral("LG097"));
        QVERIFY(m_writer->run(QStringLiteral("ROLLBACK")).ok);
        // The single path goes the same way.
        const auto single =
            m_writer->exec(QStringLiteral("SELECT * FROM ledger.ingest_event($1::jsonb)"),
                           {compact(entityEvent(QStringLiteral("F3"), 3))});
        QCOMPARE(single.sqlState, QStringLiteral("LG097"));
    }

    void badEntityFieldsAreRefused_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("json");
        const QString id =
            QStringLiteral("\"event_id\": \"bad\", \"type\": \"income\", \"account\": "
                           "\"EO-A\", \"amount\": \"1.00\", \"currency\": \"EUR\", "
                           "\"occurred_at\": \"2026-11-20T10:00:00Z\"");
        const auto row = [&](const char *name, const QString &extra) {
            QTest::newRow(name) << QString::fromUtf8(name)
                                << QStringLiteral("{%1, %2}").arg(id, extra);
        };
        row("entity without number", QStringLiteral("\"entity\": \"B1\""));
        row("number without entity", QStringLiteral("\"entity_seq\": 1"));
        row("entity a number", QStringLiteral("\"entity\": 7, \"entity_seq\": 1"));
        row("entity empty", QStringLiteral("\"entity\": \"\", \"entity_seq\": 1"));
        row("entity too long", QStringLiteral("\"entity\": \"%1\", \"entity_seq\": 1")
                                   .arg(QString(201, QLatin1Char('e'))));
        row("entity with a line break", QStringLiteral("\"entity\": \"a\\nb\", \"entity_seq\": 1"));
        row("entity with a terminal escape",
            QStringLiteral("\"entity\": \"a\\u001b[2J\", \"entity_seq\": 1"));
        row("entity with a bidi override",
            QStringLiteral("\"entity\": \"a\\u202eb\", \"entity_seq\": 1"));
        row("entity null", QStringLiteral("\"entity\": null, \"entity_seq\": 1"));
        row("number 0", QStringLiteral("\"entity\": \"B1\", \"entity_seq\": 0"));
        row("number negative", QStringLiteral("\"entity\": \"B1\", \"entity_seq\": -1"));
        row("number fractional", QStringLiteral("\"entity\": \"B1\", \"entity_seq\": 1.5"));
        row("number as text", QStringLiteral("\"entity\": \"B1\", \"entity_seq\": \"1\""));
        row("number past 2^53",
            QStringLiteral("\"entity\": \"B1\", \"entity_seq\": 9007199254740992"));
        row("number an array", QStringLiteral("\"entity\": \"B1\", \"entity_seq\": [1]"));
    }

    // Refused with LG097 on the file path, parked with LG097 from a stream; nothing posted,
    // no entity created.
    void badEntityFieldsAreRefused()
    {
        QFETCH(QString, json);
        const QJsonObject e = QJsonDocument::fromJson(json.toUtf8()).object();
        QVERIFY2(!e.isEmpty(), qPrintable(json));
        const QString refused = ingestOne(e);
        QVERIFY2(refused.startsWith(QLatin1String("LG097")), qPrintable(refused));
        const auto r = m_writer->exec(
            QStringLiteral(
                "SELECT parked, posted, held FROM ledger.ingest_source_batch('eo-bad', 'money', "
                "0, jsonb_build_array(jsonb_build_object('offset', %1, 'event', $1::text)))")
                .arg(m_badOffset++),
            {json});
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(r.rows[0],
                 (QStringList{QStringLiteral("1"), QStringLiteral("0"), QStringLiteral("0")}));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT error_code FROM ledger.dead_letters ORDER BY id DESC LIMIT 1")),
                 QStringLiteral("LG097"));
        QCOMPARE(posted(QStringLiteral("bad")), QStringLiteral("0"));
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT count(*) FROM ledger.entity_sequences WHERE entity "
                                    "NOT SIMILAR TO '[A-Z][0-9]%'")),
                 QStringLiteral("0"));
    }

    // The holds and numbers are the ledger's: no console role reads them, and nobody but
    // the owner calls the ordered path underneath or the functions it wraps.
    void nobodyReachesUnderneath()
    {
        SqlSession operatorSession(m_db.dsnFor(QStringLiteral("console_operator")));
        for (const QString &sql :
             {QStringLiteral("SELECT * FROM ledger.held_events"),
              QStringLiteral("SELECT * FROM ledger.entity_sequences"),
              QStringLiteral("SELECT * FROM ledger.held_event_list()"),
              QStringLiteral("SELECT ledger.expire_held_events('0 seconds')")}) {
            QCOMPARE(operatorSession.exec(sql).sqlState, QStringLiteral("42501"));
        }
        for (const QString &sql :
             {QStringLiteral("SELECT * FROM ledger.ingest_ordered('[]', 'x', NULL, ARRAY['S1'])"),
              QStringLiteral("SELECT * FROM ledger.ingest_events_0049('[]', 'x')"),
              QStringLiteral("DELETE FROM ledger.held_events"),
              QStringLiteral("UPDATE ledger.entity_sequences SET last_seq = 0")}) {
            QCOMPARE(m_writer->exec(sql).sqlState, QStringLiteral("42501"));
        }
    }
};

QTEST_GUILESS_MAIN(TestEntityOrder)
#include "tst_entityorder.moc"
