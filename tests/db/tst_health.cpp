// Operations health (Step 12, 0052): ledger.health_snapshot as the console roles read it and
// ledger.note_source_ends as the ingester writes it. From an empty ledger, each part of the
// ledger is put in the state the panel must report (a stream source with a backlog and a
// rate, a dead letter, a held event, a recorded invariant check, an open reconciliation
// exception, an unsealed audit event, a verification that found a break, a session about to
// end), and the snapshot says so, read by an operator, and the assessment turns the item red.
// A dead letter's payload is not in the snapshot. note_source_ends refuses bad input with
// LG093 and writes nothing; console roles may not call it, writers may not read the
// snapshot's internals, and a console role may not write observations.

#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/HealthRepository.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <memory>
#include <optional>

using namespace ledger;
using test::SqlSession;

namespace {

// A copy: the list is usually a temporary (assessHealth's result).
std::optional<HealthItem> itemOf(const QList<HealthItem> &items, const QString &key)
{
    for (const HealthItem &i : items)
        if (i.key == key)
            return i;
    return std::nullopt;
}

} // namespace

class TestHealth : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<SqlSession> m_writer;
    std::unique_ptr<Connection> m_operator;
    std::unique_ptr<Connection> m_writerConnection;

    qint64 count(const QString &sql) { return m_admin->scalar(sql).toLongLong(); }

    HealthSnapshot snap() { return HealthRepository::snapshot(*m_operator, 600); }

    // A message list for ledger.ingest_source_batch: events by offset.
    static QString items(const QList<std::pair<qint64, QJsonObject>> &events)
    {
        QJsonArray out;
        for (const auto &[offset, event] : events)
            out.append(QJsonObject{
                {QStringLiteral("offset"), offset},
                {QStringLiteral("event"),
                 QString::fromUtf8(QJsonDocument(event).toJson(QJsonDocument::Compact))}});
        return QString::fromUtf8(QJsonDocument(out).toJson(QJsonDocument::Compact));
    }

    static QJsonObject income(const QString &id, const QString &account)
    {
        return {{QStringLiteral("event_id"), id},
                {QStringLiteral("type"), QStringLiteral("income")},
                {QStringLiteral("account"), account},
                {QStringLiteral("amount"), QStringLiteral("1.00")},
                {QStringLiteral("currency"), QStringLiteral("EUR")},
                {QStringLiteral("occurred_at"), QStringLiteral("2026-11-20T10:00:00Z")}};
    }

    void ingest(const QString &source, int partition, const QString &list)
    {
        const auto r = m_writer->exec(
            QStringLiteral("SELECT * FROM ledger.ingest_source_batch($1, 'money', $2::int, "
                           "$3::jsonb, '1000-CASH-{currency}')"),
            {source, QString::number(partition), list});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('H-A', 'A', 'EUR', 'liability'), "
                        "ledger.open_account('1000-CASH-EUR', 'Cash', 'EUR', 'asset')"))
                    .ok);
        m_writer = std::make_unique<SqlSession>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_writerConnection =
            std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_operator = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("console_operator")));
    }

    void anEmptyLedgerIsHealthy()
    {
        const HealthSnapshot s = snap();
        QVERIFY(s.at.isValid());
        QVERIFY(qAbs(s.at.secsTo(QDateTime::currentDateTimeUtc())) < 300);
        QVERIFY(s.sources.isEmpty());
        QCOMPARE(s.openDeadLetters, 0);
        QCOMPARE(s.heldEvents, 0);
        QCOMPARE(s.openExceptions, 0);
        QCOMPARE(s.unsealedEvents, 0);
        QVERIFY(!s.lastVerifiedAt.isValid());
        const QList<HealthItem> items = assessHealth(s, {});
        QCOMPARE(itemOf(items, QStringLiteral("dead_letters"))->level, HealthItem::Level::Ok);
        QCOMPARE(itemOf(items, QStringLiteral("reconciliation"))->level, HealthItem::Level::Ok);
        QCOMPARE(itemOf(items, QStringLiteral("held"))->level, HealthItem::Level::Ok);
        // Never checked, never verified: a warning each, nothing to act on at once.
        QCOMPARE(itemOf(items, QStringLiteral("invariants"))->level, HealthItem::Level::Warning);
        QCOMPARE(itemOf(items, QStringLiteral("audit_chain"))->level, HealthItem::Level::Warning);
    }

    // Events taken from two partitions, the stream's ends noted twice: the lag is what the
    // broker holds past the ledger's positions, the rate what the ledger took between the
    // two observations. A replay's own positions are not a source.
    void aSourceShowsItsLagAndRate()
    {
        ingest(QStringLiteral("payments"), 0,
               items({{0, income(QStringLiteral("h-1"), QStringLiteral("H-A"))},
                      {1, income(QStringLiteral("h-2"), QStringLiteral("H-A"))}}));
        ingest(QStringLiteral("payments"), 1,
               items({{0, income(QStringLiteral("h-3"), QStringLiteral("H-A"))}}));
        HealthRepository::noteSourceEnds(*m_writerConnection, QStringLiteral("payments"),
                                         QStringLiteral("money"), {{0, 2}, {1, 1}});
        HealthSnapshot s = snap();
        QCOMPARE(s.sources.size(), 1);
        QCOMPARE(s.sources[0].source, QStringLiteral("payments"));
        QCOMPARE(s.sources[0].partitions, 2);
        QCOMPARE(s.sources[0].events, 3);
        QCOMPARE(s.sources[0].lag.value_or(-1), 0);
        QVERIFY(s.sources[0].lastEventAt.isValid());
        QVERIFY(!s.sources[0].perSecond); // one observation: no rate yet

        ingest(QStringLiteral("payments"), 0,
               items({{2, income(QStringLiteral("h-4"), QStringLiteral("H-A"))}}));
        // The broker has 5000 more on partition 1 than the ledger took.
        HealthRepository::noteSourceEnds(*m_writerConnection, QStringLiteral("payments"),
                                         QStringLiteral("money"), {{0, 3}, {1, 5001}});
        // A replay's own positions are not a source; a live source may still name itself so.
        ingest(QStringLiteral("payments/replay/20261204T000000.000Z"), 0,
               items({{0, income(QStringLiteral("h-1"), QStringLiteral("H-A"))}}));
        ingest(QStringLiteral("ops/replay/live"), 0,
               items({{0, income(QStringLiteral("h-1"), QStringLiteral("H-A"))}}));
        s = snap();
        QCOMPARE(s.sources.size(), 2);
        QCOMPARE(s.sources[0].source, QStringLiteral("ops/replay/live"));
        QVERIFY(!s.sources[0].observedAt.isValid());
        QCOMPARE(itemOf(assessHealth(s, {}), QStringLiteral("source:ops/replay/live/money"))->level,
                 HealthItem::Level::Unknown);
        s.sources.removeFirst();
        QCOMPARE(s.sources[0].events, 4);
        QCOMPARE(s.sources[0].lag.value_or(-1), 5000);
        QCOMPARE(s.sources[0].observedPartitions, 2);
        // Each partition's events over its own interval, summed.
        QVERIFY(s.sources[0].perSecond);
        const double expected =
            m_admin
                ->scalar(QStringLiteral(
                    "SELECT sum((events - prev_events) / extract(epoch FROM observed_at - "
                    "prev_observed_at)) FROM ledger.source_ends WHERE source = 'payments'"))
                .toDouble();
        QVERIFY(expected > 0);
        QVERIFY2(qAbs(*s.sources[0].perSecond - expected) <= 0.051,
                 qPrintable(QStringLiteral("%1 vs %2").arg(*s.sources[0].perSecond).arg(expected)));
        const std::optional<HealthItem> item =
            itemOf(assessHealth(s, {}), QStringLiteral("source:payments/money"));
        QVERIFY(item);
        QCOMPARE(item->level, HealthItem::Level::Warning);
        // Observed ten minutes ago with that backlog: nobody is taking it.
        HealthContext later;
        later.now = s.at.addSecs(600);
        QCOMPARE(itemOf(assessHealth(s, later), QStringLiteral("source:payments/money"))->level,
                 HealthItem::Level::Bad);
        // Caught up when last seen, but nobody has reported since: a warning, not OK.
        s.sources[0].lag = 0;
        QCOMPARE(itemOf(assessHealth(s, later), QStringLiteral("source:payments/money"))->level,
                 HealthItem::Level::Warning);
        QCOMPARE(itemOf(assessHealth(s, {}), QStringLiteral("source:payments/money"))->level,
                 HealthItem::Level::Ok);
        // A stream the ledger takes nothing from is passed over, not recorded.
        QCOMPARE(m_writer->scalar(QStringLiteral(
                     "SELECT ledger.note_source_ends('nobody', 'money', '{0}', '{9}')")),
                 QStringLiteral("0"));
        QCOMPARE(count(QStringLiteral(
                     "SELECT count(*) FROM ledger.source_ends WHERE source = 'nobody'")),
                 0);
    }

    void noteSourceEndsRefusesBadInput_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("partitions");
        QTest::addColumn<QString>("ends");
        const QString ok = QStringLiteral("payments");
        QTest::newRow("lengths differ") << ok << QStringLiteral("{0,1}") << QStringLiteral("{5}");
        QTest::newRow("negative partition")
            << ok << QStringLiteral("{-1}") << QStringLiteral("{5}");
        QTest::newRow("negative end") << ok << QStringLiteral("{0}") << QStringLiteral("{-5}");
        QTest::newRow("null end") << ok << QStringLiteral("{0}") << QStringLiteral("{NULL}");
        QTest::newRow("partition twice")
            << ok << QStringLiteral("{0,0}") << QStringLiteral("{5,6}");
        QTest::newRow("control character")
            << QStringLiteral("pay\x1b[2Jments") << QStringLiteral("{0}") << QStringLiteral("{5}");
        QTest::newRow("no source") << QString() << QStringLiteral("{0}") << QStringLiteral("{5}");
    }

    void noteSourceEndsRefusesBadInput()
    {
        QFETCH(QString, source);
        QFETCH(QString, partitions);
        QFETCH(QString, ends);
        const QString before = m_admin->scalar(QStringLiteral(
            "SELECT coalesce(string_agg(source || partition || ':' || end_offset, ',' ORDER BY "
            "source, partition), '') FROM ledger.source_ends"));
        const auto r =
            m_writer->exec(QStringLiteral("SELECT ledger.note_source_ends(nullif($1, ''), 'money', "
                                          "$2::integer[], $3::bigint[])"),
                           {source, partitions, ends});
        QVERIFY(!r.ok);
        QCOMPARE(r.sqlState, QStringLiteral("LG093"));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT coalesce(string_agg(source || partition || ':' || end_offset, ',' "
                     "ORDER BY source, partition), '') FROM ledger.source_ends")),
                 before);
    }

    // Who may do what: observations are the writer's, the snapshot the console's.
    void rolesAreKeptApart()
    {
        SqlSession operatorSql(m_db.dsnFor(QStringLiteral("console_operator")));
        const auto write = operatorSql.exec(QStringLiteral(
            "SELECT ledger.note_source_ends('payments', 'money', '{0}', '{999999}')"));
        QVERIFY(!write.ok);
        QCOMPARE(write.sqlState, QStringLiteral("42501"));
        const auto read = operatorSql.exec(QStringLiteral("SELECT * FROM ledger.source_ends"));
        QVERIFY(!read.ok);
        QCOMPARE(read.sqlState, QStringLiteral("42501"));
        const auto writerReads = m_writer->exec(QStringLiteral("SELECT ledger.health_snapshot()"));
        QVERIFY(!writerReads.ok);
        QCOMPARE(writerReads.sqlState, QStringLiteral("42501"));
        for (const char *group : {"console_supervisor", "console_auditor", "console_compliance"}) {
            SqlSession reader(m_db.dsnFor(QString::fromLatin1(group)));
            const auto r = reader.exec(QStringLiteral("SELECT ledger.health_snapshot()"));
            QVERIFY2(r.ok, group);
        }
        const auto window =
            operatorSql.exec(QStringLiteral("SELECT ledger.health_snapshot(interval '2 days')"));
        QCOMPARE(window.sqlState, QStringLiteral("LG093"));
    }

    // A message that is no event is parked; the snapshot counts it and lists it with its
    // reason, never its payload; Act now until it is retried or discarded.
    // The attack: an event whose fields are customer data (an account code that is a name and
    // an IBAN, an amount) is parked; the refusal's own text quotes them. An operator reading
    // the health panel gets the kind of refusal, never the payload or the text quoting it.
    void aDeadLetterIsShownWithoutItsPayload()
    {
        QJsonObject secret = income(QStringLiteral("h-secret"),
                                    QStringLiteral("CUST-JOHN-DOE-DE89370400440532013000"));
        secret.insert(QStringLiteral("amount"), QStringLiteral("98765.43"));
        QJsonArray list{
            QJsonObject{{QStringLiteral("offset"), 3},
                        {QStringLiteral("raw"), QStringLiteral("secret-payload-xyz")},
                        {QStringLiteral("error"), QStringLiteral("not UTF-8")}},
            QJsonObject{{QStringLiteral("offset"), 4},
                        {QStringLiteral("event"),
                         QString::fromUtf8(QJsonDocument(secret).toJson(QJsonDocument::Compact))}}};
        ingest(QStringLiteral("payments"), 1,
               QString::fromUtf8(QJsonDocument(list).toJson(QJsonDocument::Compact)));
        QVERIFY(m_admin
                    ->scalar(QStringLiteral("SELECT reason FROM ledger.dead_letters WHERE "
                                            "kafka_offset = 4 AND partition = 1"))
                    .contains(QLatin1String("JOHN-DOE")));
        SqlSession operatorSql(m_db.dsnFor(QStringLiteral("console_operator")));
        const QString text =
            operatorSql.scalar(QStringLiteral("SELECT ledger.health_snapshot()::text"));
        QVERIFY(!text.isEmpty());
        for (const char *leak : {"secret-payload-xyz", "JOHN-DOE", "DE8937", "98765.43"})
            QVERIFY2(!text.contains(QLatin1String(leak)), leak);
        const HealthSnapshot s = snap();
        QCOMPARE(s.openDeadLetters, 2);
        QCOMPARE(s.newestDeadLetters.size(), 2);
        QCOMPARE(s.newestDeadLetters[0].offset, 4);
        QCOMPARE(s.newestDeadLetters[0].errorCode, QStringLiteral("LG018"));
        QCOMPARE(s.newestDeadLetters[0].kind,
                 QStringLiteral("names an account the ledger does not have"));
        QCOMPARE(s.newestDeadLetters[1].partition, 1);
        QCOMPARE(s.newestDeadLetters[1].offset, 3);
        QVERIFY(!s.newestDeadLetters[1].kind.isEmpty());
        QVERIFY(s.oldestDeadLetterAt.isValid());
        QCOMPARE(itemOf(assessHealth(s, {}), QStringLiteral("dead_letters"))->level,
                 HealthItem::Level::Bad);
        // Discarded (audited): no longer open, and the open set follows the outcomes.
        for (const OpenDeadLetter &d : s.newestDeadLetters) {
            const auto discard = operatorSql.exec(
                QStringLiteral("SELECT ledger.discard_dead_letter($1::bigint, 'test: not ours')"),
                {QString::number(d.id)});
            QVERIFY2(discard.ok, qPrintable(discard.message));
        }
        QCOMPARE(snap().openDeadLetters, 0);
        QCOMPARE(count(QStringLiteral(
                     "SELECT count(*) FROM ledger.dead_letters d WHERE NOT EXISTS (SELECT 1 FROM "
                     "ledger.dead_letter_outcomes o WHERE o.dead_letter_id = d.id)")),
                 0);
    }

    void heldEventsAreCounted()
    {
        QJsonObject second = income(QStringLiteral("h-e2"), QStringLiteral("H-A"));
        second.insert(QStringLiteral("entity"), QStringLiteral("invoice-7"));
        second.insert(QStringLiteral("entity_seq"), 2);
        ingest(QStringLiteral("payments"), 0, items({{3, second}}));
        const HealthSnapshot s = snap();
        QCOMPARE(s.heldEvents, 1);
        QCOMPARE(s.heldEntities, 1);
        QVERIFY(s.oldestHeldAt.isValid());
        HealthContext later;
        later.now = s.at.addSecs(3600);
        QCOMPARE(itemOf(assessHealth(s, later), QStringLiteral("held"))->level,
                 HealthItem::Level::Warning);
    }

    void invariantChecksAreListedNewestFirst()
    {
        Connection auditor(m_db.dsnFor(QStringLiteral("console_auditor")));
        HealthRepository::checkInvariants(auditor, {});
        HealthSnapshot s = snap();
        QCOMPARE(s.invariantChecks.size(), 1);
        QVERIFY(s.invariantChecks[0].ok);
        QCOMPARE(itemOf(assessHealth(s, {}), QStringLiteral("invariants"))->level,
                 HealthItem::Level::Ok);
        // A broken head (as the owner, on purpose): the next run fails and the panel says which.
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "ALTER TABLE ledger.account_heads DISABLE TRIGGER ALL; "
                        "UPDATE ledger.account_heads SET balance = balance + 1 WHERE account_id "
                        "= (SELECT id FROM ledger.accounts WHERE code = 'H-A'); "
                        "ALTER TABLE ledger.account_heads ENABLE TRIGGER ALL"))
                    .ok);
        HealthRepository::checkInvariants(auditor, {});
        s = snap();
        QCOMPARE(s.invariantChecks.size(), 2);
        QVERIFY(!s.invariantChecks[0].ok);
        QVERIFY(!s.invariantChecks[0].failed.isEmpty());
        const std::optional<HealthItem> item =
            itemOf(assessHealth(s, {}), QStringLiteral("invariants"));
        QCOMPARE(item->level, HealthItem::Level::Bad);
        QVERIFY2(item->detail.contains(s.invariantChecks[0].failed[0]), qPrintable(item->detail));
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "ALTER TABLE ledger.account_heads DISABLE TRIGGER ALL; "
                        "UPDATE ledger.account_heads SET balance = balance - 1 WHERE account_id "
                        "= (SELECT id FROM ledger.accounts WHERE code = 'H-A'); "
                        "ALTER TABLE ledger.account_heads ENABLE TRIGGER ALL"))
                    .ok);
    }

    void theAuditChainsTailAndLastVerificationShow()
    {
        // A REPEATABLE READ commit leaves its event to the next sealer.
        QVERIFY(m_admin->exec(QStringLiteral("SELECT audit.seal()")).ok);
        QVERIFY(m_admin
                    ->exec(QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; "
                                          "SELECT audit.record('test.rr', 'test', 'rr', '{}'); "
                                          "COMMIT"))
                    .ok);
        HealthSnapshot s = snap();
        QCOMPARE(s.unsealedEvents, 1);
        QVERIFY(s.oldestUnsealedAt.isValid());
        QVERIFY(s.chainHead > 0);
        HealthContext later;
        later.now = s.at.addSecs(120);
        QCOMPARE(itemOf(assessHealth(s, later), QStringLiteral("audit_chain"))->level,
                 HealthItem::Level::Bad);
        QVERIFY(m_admin->exec(QStringLiteral("SELECT audit.seal()")).ok);
        // A verification that found a break (as the database records a client's result).
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT audit.record('audit.verified', 'audit_chain', NULL, "
                        "jsonb_build_object('verifier', 'client', 'verified_through', 1, "
                        "'broken_at', 2, 'reason', 'hash mismatch at 2'))"))
                    .ok);
        // Committed moments after the seal above, it waits for the next one (0060).
        QVERIFY(m_admin->exec(QStringLiteral("SELECT audit.seal()")).ok);
        s = snap();
        QCOMPARE(s.unsealedEvents, 0);
        QVERIFY(s.lastVerifiedAt.isValid());
        QVERIFY(!s.lastVerificationOk);
        QCOMPARE(s.lastVerificationReason, QStringLiteral("hash mismatch at 2"));
        const std::optional<HealthItem> item =
            itemOf(assessHealth(s, {}), QStringLiteral("audit_chain"));
        QCOMPARE(item->level, HealthItem::Level::Bad);
        QCOMPARE(item->target, HealthTarget::Audit);
    }

    void theReconciliationBacklogShows()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SET LOCAL ROLE ledger_owner; "
                        "INSERT INTO recon.bank_accounts (identifier, currency, account_id, "
                        "mapped_by) SELECT 'DE00HEALTH', 'EUR', id, 'test' FROM ledger.accounts "
                        "WHERE code = 'H-A'; "
                        "WITH x AS (INSERT INTO recon.exceptions (bank_account_id, type, "
                        "entry_id, amount_minor, raised_by, raised_at, due_at) SELECT b.id, "
                        "'missing_in_statement', (SELECT min(id) FROM ledger.entries), 100, "
                        "'test', now() - interval '3 days', now() - interval '1 day' FROM "
                        "recon.bank_accounts b WHERE b.identifier = 'DE00HEALTH' RETURNING id, "
                        "raised_at) INSERT INTO recon.exception_state SELECT id, 'open', NULL, "
                        "NULL, raised_at FROM x"))
                    .ok);
        const HealthSnapshot s = snap();
        QCOMPARE(s.openExceptions, 1);
        QCOMPARE(s.overdueExceptions, 1);
        QVERIFY(s.oldestExceptionAt.secsTo(s.at) >= 3 * 86400 - 60);
        const std::optional<HealthItem> item =
            itemOf(assessHealth(s, {}), QStringLiteral("reconciliation"));
        QCOMPARE(item->level, HealthItem::Level::Bad);
        QCOMPARE(item->target, HealthTarget::Reconciliation);
    }

    // Every console call looks its session up by session_user (of type name, collation "C"):
    // the lookup can use an index, whatever the database's collation (0054).
    void theSessionLookupUsesAnIndex()
    {
        const QString plan = m_admin->scalar(QStringLiteral(
            "SET enable_seqscan = off; EXPLAIN (FORMAT JSON) SELECT 1 FROM access.sessions x "
            "WHERE x.role_name = session_user"));
        QVERIFY2(plan.contains(QLatin1String("sessions_by_role_c")), qPrintable(plan));
    }

    void sessionsAboutToEndAreCounted()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "INSERT INTO access.operators (name, broker_role, groups) VALUES "
                        "('hannah', 'hannah_broker', '{console_operator}'); "
                        "INSERT INTO access.sessions (role_name, operator, groups, issued_at, "
                        "expires_at, max_until) VALUES "
                        "('lc_s_hannah_000000000001', 'hannah', '{console_operator}', now(), "
                        "now() + interval '2 minutes', now() + interval '8 hours'), "
                        "('lc_s_hannah_000000000002', 'hannah', '{console_operator}', now(), "
                        "now() + interval '4 minutes', now() + interval '4 minutes'), "
                        "('lc_s_hannah_000000000003', 'hannah', '{console_operator}', now(), "
                        "now() + interval '1 hour', now() + interval '8 hours')"))
                    .ok);
        const HealthSnapshot s = snap();
        QCOMPARE(s.openSessions, 3);
        QCOMPARE(s.sessionsEnding, 2); // renewable or not
        QCOMPARE(s.sessionsAtLimit, 1);
        HealthContext mine;
        mine.sessionSecondsLeft = 90;
        QCOMPARE(itemOf(assessHealth(s, mine), QStringLiteral("sessions"))->level,
                 HealthItem::Level::Warning);
    }
};

QTEST_GUILESS_MAIN(TestHealth)
#include "tst_health.moc"
