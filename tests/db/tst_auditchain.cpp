// The hash-chained audit trail against a real server: the chain forms over every action,
// concurrent writers keep it linear and dense, an action and its event commit together,
// nobody changes or removes events, and tampering as a superuser is caught by both
// verifiers (SQL and C++) at the right sequence number.

#include "LedgerInvariants.h"
#include "ServerLogWatcher.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "audit/ChainVerifier.h"
#include "db/AuditRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <optional>
#include <thread>

using namespace ledger;
using test::SqlOutcome;
using test::SqlSession;

namespace {

QByteArray transfer(const QString &key, const QString &from, const QString &to,
                    const QString &amount)
{
    return QStringLiteral(
               R"({"idempotency_key": "%1", "effective_at": "2026-11-20T10:00:00Z", "description": "transfer",
        "legs": [{"account": "%2", "amount": "-%4", "currency": "EUR"}, {"account": "%3", "amount": "%4", "currency": "EUR"}]})")
        .arg(key, from, to, amount)
        .toUtf8();
}

// moc reads the test class; SQL with quotes and dollar quoting stays out of it.
// (No backslashes in raw strings here: moc's tokenizer reads them as escapes.)
constexpr char kAwkwardEvent[] =
    "SELECT audit.record('test.encoding', 'test', NULL, '{\"note\": \"Z\u00fcrich \u2192 "
    "\u6771\u4eac \\\"q\\\" \\\\ \U0001F642\", \"n\": [1, 2.50, null], \"\": {}}'::jsonb)";

// A rogue superuser changes the event at sequence %1, recomputes every hash from there on
// and removes the checkpoints the database kept.
constexpr char kRewriteSuffix[] = R"(
            UPDATE audit.events SET details = replace(details::text, '25.00', '95.00')::jsonb WHERE seq = %1;
            DO $$ DECLARE r record; v_prev bytea; BEGIN
                SELECT hash INTO v_prev FROM audit.events WHERE seq = %1 - 1;
                FOR r IN SELECT * FROM audit.events WHERE seq >= %1 ORDER BY seq LOOP
                    UPDATE audit.events SET prev_hash = v_prev,
                        hash = sha256(v_prev || audit.event_encoding(r.id, r.occurred_at, r.operator,
                            r.session_role, r.action, r.object_type, r.object_id, r.details, r.client_info))
                    WHERE id = r.id RETURNING hash INTO v_prev;
                END LOOP;
            END $$;
            ALTER TABLE audit.checkpoints DISABLE TRIGGER USER; DELETE FROM audit.checkpoints;
            ALTER TABLE audit.checkpoints ENABLE ALWAYS TRIGGER checkpoints_append_only, ENABLE ALWAYS TRIGGER checkpoints_no_truncate)";

} // namespace

class TestAuditChain : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_writer, m_auditor;
    int m_key = 0;

    void post(const QString &amount = QStringLiteral("1.00"))
    {
        LedgerRepository::post(*m_writer,
                               transfer(QStringLiteral("ac-%1").arg(++m_key),
                                        QStringLiteral("CASH"), QStringLiteral("CUST"), amount));
    }

    qint64 count(const QString &sql) { return m_admin->scalar(sql).toLongLong(); }

    // As a superuser who bypasses the append-only trigger (what a rogue DBA can do).
    void tamper(const QString &sql)
    {
        const auto r = m_admin->exec(
            QStringLiteral("ALTER TABLE audit.events DISABLE TRIGGER USER; %1; "
                           "ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_append_only, "
                           "ENABLE ALWAYS TRIGGER events_no_truncate, "
                           "ENABLE ALWAYS TRIGGER events_seal, "
                           "ENABLE ALWAYS TRIGGER events_announce")
                .arg(sql));
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    // Both verifiers; the SQL one as the auditor through audit.verify_chain.
    struct Both
    {
        VerificationResult client;
        AuditRepository::SqlVerification sql;
    };
    Both verifyBoth(const QList<ChainMark> &marks = {})
    {
        Both b;
        b.client = verifyChain(*m_auditor, marks);
        b.sql = AuditRepository::verifyInSql(*m_auditor);
        return b;
    }

    // Records a marker event with known details and returns its sequence number.
    qint64 marker(const QString &details)
    {
        const QString id = m_admin->scalar(
            QStringLiteral("SELECT audit.record('test.marker', 'test', 'm', $1::jsonb)"),
            {details});
        AuditRepository::seal(*m_auditor);
        return m_admin->scalar(QStringLiteral("SELECT seq FROM audit.events WHERE id = $1"), {id})
            .toLongLong();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH', 'Cash', 'EUR', 'asset', true)"))
                    .ok);
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CUST', 'Customer', 'EUR', 'liability')"))
                    .ok);
        m_writer = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_auditor = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("console_auditor")));
        for (int i = 0; i < 20; ++i)
            post();
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void everyEventIsSealedIntoOneDenseChain()
    {
        AuditRepository::seal(*m_auditor);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);
        const qint64 events = count(QStringLiteral("SELECT count(*) FROM audit.events"));
        QVERIFY(events >= 22); // two accounts opened, twenty postings
        QCOMPARE(count(QStringLiteral("SELECT max(seq) FROM audit.events")), events);
        QCOMPARE(count(QStringLiteral("SELECT count(DISTINCT seq) FROM audit.events")), events);
        // Each link: prev_hash is the hash of the sequence before (zeros for the first).
        QCOMPARE(count(QStringLiteral(
                     "SELECT count(*) FROM audit.events e LEFT JOIN audit.events p ON p.seq = "
                     "e.seq - 1 WHERE e.prev_hash <> coalesce(p.hash, audit.genesis_hash())")),
                 0);
        const Both b = verifyBoth();
        QVERIFY2(b.client.intact(), qPrintable(b.client.summary()));
        QCOMPARE(b.client.verifiedThrough, events);
        QCOMPARE(b.client.eventsChecked, events);
        QVERIFY2(!b.sql.brokenAt, qPrintable(b.sql.reason));
        // The client's run was recorded (and sealed), then the SQL run's.
        QCOMPARE(b.sql.verifiedThrough, events + 1);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'audit.verified' AND details->>'verifier' = 'client'")),
                 1);
    }

    // The C++ encoding is byte for byte the database's, for awkward values too.
    void clientEncodingMatchesTheDatabase()
    {
        m_admin->exec(QString::fromUtf8(kAwkwardEvent));
        m_admin->exec(
            QStringLiteral("SELECT audit.record('test.encoding', 'te''st', '', '{}'::jsonb)"));
        AuditRepository::seal(*m_auditor);
        const qint64 head = AuditRepository::head(*m_auditor).seq;
        int compared = 0;
        AuditRepository::readChain(
            *m_auditor, 0, head, 7, [&](std::vector<AuditRepository::ChainRow> &&rows) {
                for (const auto &row : rows) {
                    const QString serverHex = m_admin->scalar(
                        QStringLiteral("SELECT encode(audit.event_encoding(id, occurred_at, "
                                       "operator, session_role, action, object_type, object_id, "
                                       "details, client_info), 'hex') FROM audit.events WHERE "
                                       "seq = $1"),
                        {QString::number(row.seq)});
                    if (QString::fromLatin1(ChainVerifier::encode(row).toHex()) != serverHex)
                        qWarning("encoding differs at seq %lld", row.seq);
                    else
                        ++compared;
                }
                return true;
            });
        QCOMPARE(compared, int(head));
    }

    // 0060: a commit seals only when the last seal is at least seal_every old; otherwise it
    // leaves its event to the next commit that seals, which takes in everything left before
    // it (or to audit.seal()). seal_every = 0 seals at every commit. Only the owner sets it.
    void aCommitSealsAtMostEverySealEvery()
    {
        const auto unsealed = [&] {
            return count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL"));
        };
        AuditRepository::seal(*m_auditor);
        QCOMPARE(unsealed(), 0);
        // The last seal as if it had just happened, for the next hour.
        QVERIFY(m_admin
                    ->exec(QStringLiteral("UPDATE audit.seal_floor SET seal_every = '10 seconds', "
                                          "sealed_at = clock_timestamp() + interval '1 hour'"))
                    .ok);
        for (int i = 0; i < 3; ++i)
            post();
        QCOMPARE(unsealed(), 3);
        // The first commit after a pause: its seal takes in all four.
        test::sealAtNextCommit(*m_admin);
        post();
        QCOMPARE(unsealed(), 0);
        QVERIFY(m_admin->exec(QStringLiteral("UPDATE audit.seal_floor SET seal_every = '0'")).ok);
        for (int i = 0; i < 3; ++i) {
            post();
            QCOMPARE(unsealed(), 0);
        }
        QVERIFY(
            m_admin->exec(QStringLiteral("UPDATE audit.seal_floor SET seal_every = DEFAULT")).ok);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT seal_every FROM audit.seal_floor")),
                 QStringLiteral("00:00:00.02"));
        const qint64 events = count(QStringLiteral("SELECT count(*) FROM audit.events"));
        QCOMPARE(count(QStringLiteral("SELECT max(seq) FROM audit.events")), events);
        const VerificationResult r = verifyChain(*m_auditor, {});
        QVERIFY2(r.intact(), qPrintable(r.summary()));

        // A writer (or anyone but the owner) cannot hold sealing off.
        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const auto attack = writer.exec(QStringLiteral(
            "UPDATE audit.seal_floor SET sealed_at = 'infinity', seal_every = '10 seconds'"));
        QVERIFY(!attack.ok);
        QCOMPARE(attack.sqlState, QStringLiteral("42501"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT sealed_at < 'infinity' AND seal_every = "
                                                "'20 ms' FROM audit.seal_floor")),
                 QStringLiteral("t"));
    }

    // A commit's seal remembers what it sealed, so that its transaction's other events'
    // triggers need not look (0065). A seal undone by a rollback to a savepoint sealed
    // nothing: the event's own trigger must still seal it at commit.
    void aSealUndoneInASavepointIsNotTakenForDone()
    {
        QVERIFY(m_admin->exec(QStringLiteral("UPDATE audit.seal_floor SET seal_every = '0'")).ok);
        const auto r = m_admin->exec(QStringLiteral(
            "BEGIN; SELECT audit.record('test.savepoint', 'test', 's', '{}'); SAVEPOINT s; "
            "SELECT audit.seal(); ROLLBACK TO SAVEPOINT s; COMMIT"));
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'test.savepoint' AND seq IS NOT NULL")),
                 1);
        QVERIFY(
            m_admin->exec(QStringLiteral("UPDATE audit.seal_floor SET seal_every = DEFAULT")).ok);
    }

    // A batch writes its events into the chain as it inserts them, after sealing what was
    // pending, when it gets the chain lock; when a seal holds the chain it does not wait,
    // and its events are sealed later like any other.
    void aBatchChainsItsEventsAsItWritesThem()
    {
        const auto unsealed = [&] {
            return count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL"));
        };
        const auto batch = [&](const QString &prefix, int n) {
            QList<QByteArray> bodies;
            for (int i = 0; i < n; ++i)
                bodies << transfer(QStringLiteral("%1-%2").arg(prefix).arg(i),
                                   QStringLiteral("CASH"), QStringLiteral("CUST"),
                                   QStringLiteral("0.01"));
            for (const auto &o : LedgerRepository::postBatch(*m_writer, bodies))
                QVERIFY(o.kind == LedgerRepository::BatchOutcome::Kind::Posted);
        };
        const auto seqs = [&](const QString &prefix) {
            return m_admin->scalar(
                QStringLiteral("SELECT string_agg(coalesce(e.seq::text, '-'), ' ' ORDER BY e.id) "
                               "FROM audit.events e JOIN ledger.transactions t "
                               "ON e.action = 'transaction.posted' AND e.object_id = t.id::text "
                               "WHERE t.idempotency_key LIKE $1 || '-%'"),
                {prefix});
        };
        AuditRepository::seal(*m_auditor);
        // No commit seals for the next hour: only the batch's own chaining does.
        QVERIFY(m_admin
                    ->exec(QStringLiteral("UPDATE audit.seal_floor SET seal_every = '10 seconds', "
                                          "sealed_at = clock_timestamp() + interval '1 hour'"))
                    .ok);
        post();
        QCOMPARE(unsealed(), 1);
        const qint64 head = count(QStringLiteral("SELECT max(seq) FROM audit.events"));
        batch(QStringLiteral("bc-free"), 3);
        QCOMPARE(unsealed(), 0); // the pending single posting first, then the batch's three
        QCOMPARE(seqs(QStringLiteral("bc-free")),
                 QStringLiteral("%1 %2 %3").arg(head + 2).arg(head + 3).arg(head + 4));

        // A seal in progress elsewhere holds the chain: the batch does not wait for it.
        // (A session-level hold of the chain's key: each exec is a transaction of its own.)
        SqlSession sealer(m_db.adminDsn());
        QVERIFY(
            sealer.exec(QStringLiteral("SELECT pg_advisory_lock(audit.chain_lock_key(), 0)")).ok);
        batch(QStringLiteral("bc-busy"), 2);
        const QString busy = seqs(QStringLiteral("bc-busy"));
        QVERIFY(
            sealer.exec(QStringLiteral("SELECT pg_advisory_unlock(audit.chain_lock_key(), 0)")).ok);
        // In REPEATABLE READ, whose snapshot may predate the last seal, it does not chain
        // (with the chain free, as here, it would).
        // (Autocommit, as LedgerRepository calls it: in a transaction block it never does.)
        SqlSession repeatable(m_db.dsnFor(QStringLiteral("ledger_writer")));
        QVERIFY(
            repeatable.run(QStringLiteral("SET default_transaction_isolation = 'repeatable read'"))
                .ok);
        const SqlOutcome rr = repeatable.run(
            QStringLiteral("SELECT count(*) FROM ledger.post_batch('[%1]'::jsonb)")
                .arg(QString::fromUtf8(transfer(QStringLiteral("bc-rr-0"), QStringLiteral("CASH"),
                                                QStringLiteral("CUST"), QStringLiteral("0.01")))));
        const QString inRepeatableRead = seqs(QStringLiteral("bc-rr"));
        QVERIFY(
            m_admin->exec(QStringLiteral("UPDATE audit.seal_floor SET seal_every = DEFAULT")).ok);
        QCOMPARE(busy, QStringLiteral("- -"));
        QVERIFY2(rr.ok, qPrintable(rr.message));
        QCOMPARE(inRepeatableRead, QStringLiteral("-"));
        AuditRepository::seal(*m_auditor);
        QCOMPARE(unsealed(), 0);
        QCOMPARE(count(QStringLiteral("SELECT max(seq) FROM audit.events")),
                 count(QStringLiteral("SELECT count(*) FROM audit.events")));
        const Both b = verifyBoth();
        QVERIFY2(b.client.intact(), qPrintable(b.client.summary()));
        QVERIFY2(!b.sql.brokenAt, qPrintable(b.sql.reason));
        QCOMPARE(b.sql.unsealed, 0);
    }

    // The attack: a writer posts a batch in a transaction it keeps open, to hold the chain
    // lock (and with it every seal, the outbox relay and the verifiers) for as long as it
    // likes. A batch in a transaction block does not take the chain.
    void aBatchInAnOpenTransactionDoesNotHoldTheChain()
    {
        SqlSession holder(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const SqlOutcome held = holder.run(
            QStringLiteral("BEGIN; SELECT count(*) FROM ledger.post_batch('[%1]'::jsonb)")
                .arg(QString::fromUtf8(transfer(QStringLiteral("ot-0"), QStringLiteral("CASH"),
                                                QStringLiteral("CUST"), QStringLiteral("0.01")))));
        QVERIFY2(held.ok, qPrintable(held.message));
        // The chain is free while the writer's transaction stays open.
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT pg_try_advisory_xact_lock(audit.chain_lock_key(), 0)")),
                 QStringLiteral("t"));
        QVERIFY(holder.run(QStringLiteral("COMMIT")).ok);
        AuditRepository::seal(*m_auditor);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);
        const VerificationResult r = verifyChain(*m_auditor, {});
        QVERIFY2(r.intact(), qPrintable(r.summary()));
    }

    void concurrentWritersKeepTheChainLinear()
    {
        const qint64 before = count(QStringLiteral("SELECT count(*) FROM audit.events"));
        constexpr int kClients = 8, kEach = 40;
        std::vector<std::thread> threads;
        std::atomic_int failures = 0;
        const QString dsn = m_db.dsnFor(QStringLiteral("ledger_writer"));
        for (int c = 0; c < kClients; ++c) {
            threads.emplace_back([&, c] {
                try {
                    Connection conn(dsn);
                    for (int i = 0; i < kEach; ++i)
                        LedgerRepository::post(
                            conn, transfer(QStringLiteral("cc-%1-%2").arg(c).arg(i),
                                           QStringLiteral("CASH"), QStringLiteral("CUST"),
                                           QStringLiteral("0.01")));
                } catch (const std::exception &) {
                    ++failures;
                }
            });
        }
        for (auto &t : threads)
            t.join();
        QCOMPARE(failures.load(), 0);
        // Commits that found the chain busy, or sealed moments before (seal_every, 0060), left
        // their events unsealed; the next commit that seals, which searches from the floor
        // only, takes every one of them in.
        test::sealAtNextCommit(*m_admin);
        post();
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);
        AuditRepository::seal(*m_auditor);
        const qint64 after = count(QStringLiteral("SELECT count(*) FROM audit.events"));
        QCOMPARE(after, before + qint64(kClients) * kEach + 1);
        QCOMPARE(count(QStringLiteral("SELECT max(seq) FROM audit.events")), after);
        const VerificationResult r = verifyChain(*m_auditor, {});
        QVERIFY2(r.intact(), qPrintable(r.summary()));
    }

    // The sealer searches from audit.seal_floor (0019). The floor must stay at or below
    // the event of a transaction still in progress, which no sealer can see, and that
    // event must be sealed by a later commit even when its own commit found the chain
    // busy; once it is sealed, the floor moves past it.
    void theSealersFloorNeverPassesAnEventInProgress()
    {
        const QString admin = m_db.adminDsn();
        // Joined on every way out of the test, a failed comparison included.
        struct Joining : std::thread
        {
            using std::thread::thread;
            Joining(Joining &&) = default;
            ~Joining()
            {
                if (joinable())
                    join();
            }
        };
        // Each logs its lock waits as they begin (superusers may), which wakes the waits below.
        auto inThread = [&](const QString &sql) {
            return Joining([admin, sql] {
                SqlSession session(admin);
                const SqlOutcome r = session.exec(
                    QStringLiteral("SET log_lock_waits = on; SET deadlock_timeout = '10ms'; ") +
                    sql);
                if (!r.ok)
                    qWarning("%s", qPrintable(r.message));
            });
        };
        // Gates: session-level locks this test holds and lets go of, so that A and B wait
        // on them (deterministic, no sleeps). Their exclusive keys are not announcements.
        // Declared before the gate, so that on a failed comparison the gate's session closes
        // (opening both gates) before the threads are joined.
        std::optional<Joining> a, b;
        SqlSession gate(admin);
        QVERIFY(gate.exec(QStringLiteral("SELECT pg_advisory_lock(42), pg_advisory_lock(43)")).ok);
        auto count2 = [&](const char *sql) { return count(QString::fromLatin1(sql)); };
        test::ServerLogWatcher log(m_db.dataDir());
        // A: records an event, then stays in progress until gate 42 opens.
        a.emplace(
            inThread(QStringLiteral("SELECT audit.record('test.in_progress', 'test', 'a', '{}'); "
                                    "SELECT pg_advisory_xact_lock(42)")));
        // (Announced, and waiting at the gate.)
        QVERIFY(log.waitUntil([&] {
            return count2("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                          "objsubid = 1 AND mode = 'ShareLock'") == 1 &&
                   count2("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                          "objid = 42 AND NOT granted") == 1;
        }));
        // Other transactions commit and seal meanwhile.
        for (int i = 0; i < 5; ++i)
            post();
        const qint64 floorWhileInProgress = count2("SELECT floor FROM audit.seal_floor");
        QVERIFY(floorWhileInProgress > 0);
        // B holds the chain until gate 43 opens, so A's commit cannot seal.
        b.emplace(
            inThread(QStringLiteral("SELECT pg_advisory_xact_lock(audit.chain_lock_key(), 0); "
                                    "SELECT pg_advisory_xact_lock(43)")));
        QVERIFY(log.waitUntil([&] {
            return count2("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                          "objsubid = 2 AND granted") == 1 &&
                   count2("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                          "objid = 43 AND NOT granted") == 1;
        }));
        QCOMPARE(gate.scalar(QStringLiteral("SELECT pg_advisory_unlock(42)")), QStringLiteral("t"));
        a->join();
        const qint64 aId = count2("SELECT id FROM audit.events WHERE action = 'test.in_progress'");
        QVERIFY2(floorWhileInProgress <= aId,
                 qPrintable(QStringLiteral("floor %1 passed event %2 in progress")
                                .arg(floorWhileInProgress)
                                .arg(aId)));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE id = %1 AND seq "
                                      "IS NULL")
                           .arg(aId)),
                 1);
        QCOMPARE(gate.scalar(QStringLiteral("SELECT pg_advisory_unlock(43)")), QStringLiteral("t"));
        b->join();
        // The next ordinary commit seals it (no full audit.seal()), and the floor moves on.
        post();
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);
        QVERIFY(count(QStringLiteral("SELECT floor FROM audit.seal_floor")) > aId);
        const VerificationResult r = verifyChain(*m_auditor, {});
        QVERIFY2(r.intact(), qPrintable(r.summary()));
    }

    // One announcement per transaction, however many statements write events: a long
    // transaction must not fill the shared lock table.
    void aTransactionAnnouncesItsEventsOnce()
    {
        const auto r = m_admin->exec(QStringLiteral(
            "SELECT audit.record('test.announced', 'test', '1', '{}'); "
            "SELECT audit.record('test.announced', 'test', '2', '{}'); "
            "SELECT audit.record('test.announced', 'test', '3', '{}'); "
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
            "AND mode = 'ShareLock' AND pid = pg_backend_pid()"));
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(r.rows.value(0).value(0), QStringLiteral("1"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'test.announced' AND seq IS NULL")),
                 0);
    }

    void anActionAndItsEventCommitTogether()
    {
        const qint64 events = count(QStringLiteral("SELECT count(*) FROM audit.events"));
        const qint64 transactions =
            count(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        // A failed action leaves no event.
        QVERIFY_THROWS_EXCEPTION(
            DbException, LedgerRepository::post(
                             *m_writer, transfer(QStringLiteral("fail-1"), QStringLiteral("CASH"),
                                                 QStringLiteral("NOPE"), QStringLiteral("1.00"))));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events")), events);
        // A failed audit write fails the action.
        QVERIFY(m_admin
                    ->exec(QStringLiteral("ALTER TABLE audit.events ADD CONSTRAINT test_refuse "
                                          "CHECK (action <> 'transaction.posted') NOT VALID"))
                    .ok);
        QString state;
        try {
            post();
        } catch (const DbException &e) {
            state = e.error().sqlState;
        }
        QVERIFY(
            m_admin->exec(QStringLiteral("ALTER TABLE audit.events DROP CONSTRAINT test_refuse"))
                .ok);
        QCOMPARE(state, QStringLiteral("23514"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions")), transactions);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events")), events);
    }

    void nobodyChangesOrRemovesEvents_data()
    {
        QTest::addColumn<QString>("role");
        QTest::addColumn<QString>("sql");
        QTest::addColumn<QString>("state");
        const QString update =
            QStringLiteral("UPDATE audit.events SET details = '{}' WHERE seq = 1");
        const QString reseal = QStringLiteral("UPDATE audit.events SET seq = seq WHERE seq = 1");
        const QString del = QStringLiteral("DELETE FROM audit.events WHERE seq = 1");
        const QString truncate = QStringLiteral("TRUNCATE audit.events");
        const QString disable = QStringLiteral("ALTER TABLE audit.events DISABLE TRIGGER ALL");
        const QString replica = QStringLiteral("SET session_replication_role = replica");
        const QString checkpointEdit = QStringLiteral("UPDATE audit.checkpoints SET seq = seq");
        for (const char *role : {"console_operator", "console_supervisor", "console_auditor",
                                 "console_compliance", "ledger_writer"}) {
            for (const auto &[what, sql] :
                 {std::pair{"update", update}, std::pair{"delete", del},
                  std::pair{"truncate", truncate}, std::pair{"disable triggers", disable},
                  std::pair{"replica mode", replica},
                  std::pair{"edit checkpoints", checkpointEdit}})
                QTest::addRow("%s: %s", role, what)
                    << QString::fromLatin1(role) << sql << QStringLiteral("42501");
        }
        // The owner is refused by the triggers, and so is a superuser in replica mode.
        QTest::addRow("owner: update")
            << QStringLiteral("owner") << update << QStringLiteral("LG001");
        QTest::addRow("owner: reseal a sealed row")
            << QStringLiteral("owner") << reseal << QStringLiteral("LG001");
        QTest::addRow("owner: delete") << QStringLiteral("owner") << del << QStringLiteral("LG001");
        QTest::addRow("owner: truncate")
            << QStringLiteral("owner") << truncate << QStringLiteral("LG001");
        QTest::addRow("superuser in replica mode: update")
            << QStringLiteral("replica") << update << QStringLiteral("LG001");
        QTest::addRow("superuser in replica mode: delete")
            << QStringLiteral("replica") << del << QStringLiteral("LG001");
    }

    void nobodyChangesOrRemovesEvents()
    {
        QFETCH(QString, role);
        QFETCH(QString, sql);
        QFETCH(QString, state);
        const QString before = m_admin->scalar(
            QStringLiteral("SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM audit.events e"));
        SqlOutcome r;
        if (role == QLatin1String("owner")) {
            r = m_admin->exec(QStringLiteral("SET ROLE ledger_owner; %1").arg(sql));
        } else if (role == QLatin1String("replica")) {
            r = m_admin->exec(
                QStringLiteral("SET session_replication_role = replica; %1").arg(sql));
        } else {
            SqlSession session(m_db.dsnFor(role));
            r = session.exec(sql);
        }
        QVERIFY2(!r.ok, "was allowed");
        QCOMPARE(r.sqlState, state);
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM audit.events e")),
                 before);
    }

    void readsThatMatterAreAudited()
    {
        LedgerRepository::balance(*m_writer, QStringLiteral("CUST"),
                                  QDateTime(QDate(2026, 11, 20), QTime(12, 0), Qt::UTC));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT object_id || ' ' || (details->>'effective_given') FROM audit.events "
                     "WHERE action = 'balance.asked' ORDER BY id DESC LIMIT 1")),
                 QStringLiteral("CUST true"));
    }

    // The console reports its own reads (searches), and nothing else.
    void theConsoleReportsOnlyListedActions()
    {
        Connection operatorConnection(m_db.dsnFor(QStringLiteral("console_operator")));
        AuditRepository::recordClientAction(operatorConnection, QStringLiteral("search.run"),
                                            QStringLiteral("account_list"), {},
                                            {{QStringLiteral("text"), QStringLiteral("acme")}});
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT operator || ' ' || (details->>'text') FROM audit.events WHERE action "
                     "= 'search.run' ORDER BY id DESC LIMIT 1")),
                 QStringLiteral("test_console_operator acme"));
        for (const char *action : {"transaction.posted", "reversal.approved", "audit.verified"}) {
            QString state;
            try {
                AuditRepository::recordClientAction(operatorConnection, QString::fromLatin1(action),
                                                    QStringLiteral("transaction"),
                                                    QStringLiteral("1"), {});
            } catch (const DbException &e) {
                state = e.error().sqlState;
            }
            QCOMPARE(state, QStringLiteral("LG052"));
        }
        // The writer service is not a console user.
        QVERIFY_THROWS_EXCEPTION(DbException, AuditRepository::recordClientAction(
                                                  *m_writer, QStringLiteral("search.run"),
                                                  QStringLiteral("account_list"), {}, {}));
    }

    // REPEATABLE READ commits leave their events to the next sealer; nothing is lost.
    void eventsOfRepeatableReadTransactionsAreSealedLater()
    {
        const auto r = m_admin->exec(
            QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; "
                           "SELECT audit.record('test.rr', 'test', 'rr', '{}'); COMMIT"));
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(count(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'test.rr' AND seq IS NULL")),
                 1);
        post(); // an ordinary commit seals what is waiting
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);
        const auto refused = m_admin->exec(
            QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT audit.seal(); COMMIT"));
        QVERIFY(!refused.ok);
        QCOMPARE(refused.sqlState, QStringLiteral("LG050"));
    }

    void tamperingIsFoundAtTheRightSequence_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("reason");
        QTest::addColumn<QString>("sqlReason");
        QTest::newRow("one byte of details changed")
            << QStringLiteral("byte") << QStringLiteral("row changed")
            << QStringLiteral("row changed");
        QTest::newRow("an event deleted")
            << QStringLiteral("delete") << QStringLiteral("row missing")
            << QStringLiteral("row missing");
        QTest::newRow("two events swapped")
            << QStringLiteral("swap") << QStringLiteral("order changed")
            << QStringLiteral("order changed");
        // The client runs first and finds the chain short of the checkpoint; its own
        // verification event then takes the freed sequence number, which the SQL run finds
        // differing from the checkpoint.
        QTest::newRow("the newest events deleted")
            << QStringLiteral("tail") << QStringLiteral("rows missing")
            << QStringLiteral("chain rewritten");
    }

    void tamperingIsFoundAtTheRightSequence()
    {
        QFETCH(QString, kind);
        QFETCH(QString, reason);
        QFETCH(QString, sqlReason);
        const qint64 k = marker(QStringLiteral(R"({"note": "payment of 100.00"})"));
        for (int i = 0; i < 5; ++i)
            post();
        AuditRepository::seal(*m_auditor);
        // A checkpoint of the head, so that even the last row is accounted for.
        const auto checkpoint = AuditRepository::issueCheckpoint(*m_auditor, 1000);
        const qint64 head = checkpoint.seq;
        QVERIFY(head > k + 3);
        m_admin->exec(QStringLiteral("CREATE TABLE IF NOT EXISTS public.saved_events AS "
                                     "SELECT * FROM audit.events WITH NO DATA"));
        m_admin->exec(QStringLiteral("TRUNCATE public.saved_events; INSERT INTO "
                                     "public.saved_events SELECT * FROM audit.events"));

        qint64 expected = k;
        if (kind == QLatin1String("byte")) {
            tamper(QStringLiteral("UPDATE audit.events SET details = replace(details::text, "
                                  "'100.00', '900.00')::jsonb WHERE seq = %1")
                       .arg(k));
        } else if (kind == QLatin1String("delete")) {
            tamper(QStringLiteral("DELETE FROM audit.events WHERE seq = %1").arg(k));
        } else if (kind == QLatin1String("swap")) {
            tamper(QStringLiteral("UPDATE audit.events SET seq = seq + 1000000000 WHERE seq IN "
                                  "(%1, %2); UPDATE audit.events SET seq = CASE seq WHEN %1 + "
                                  "1000000000 THEN %2 ELSE %1 END WHERE seq > 1000000000")
                       .arg(k)
                       .arg(k + 3));
        } else {
            // The checkpointed head and everything after it go, sealed or not yet (the
            // checkpoint's own event waits for the next seal, 0060): only the checkpoint
            // still says they existed.
            tamper(QStringLiteral("DELETE FROM audit.events WHERE seq > %1 OR seq IS NULL")
                       .arg(head - 1));
            expected = head;
        }
        const Both b = verifyBoth();
        QCOMPARE(b.client.brokenAt, std::optional<qint64>(expected));
        QVERIFY2(b.client.reason.startsWith(reason), qPrintable(b.client.reason));
        QCOMPARE(b.sql.brokenAt, std::optional<qint64>(expected));
        QVERIFY2(b.sql.reason.startsWith(sqlReason), qPrintable(b.sql.reason));
        QVERIFY(
            b.client.summary().startsWith(QStringLiteral("Broken at sequence %1").arg(expected)));

        // Put the rows back as they were; the verification events written meanwhile were
        // chained onto the damaged chain and go too.
        tamper(QStringLiteral(
            "DELETE FROM audit.events; "
            "INSERT INTO audit.events OVERRIDING SYSTEM VALUE SELECT * FROM public.saved_events"));
        const Both again = verifyBoth();
        QVERIFY2(again.client.intact(), qPrintable(again.client.summary()));
        QVERIFY2(!again.sql.brokenAt, qPrintable(again.sql.reason));
    }

    // A DBA rewrites a suffix with recomputed hashes and removes the checkpoint rows: the
    // database's own verifier is satisfied, the client holding a checkpoint file is not.
    void aRewrittenChainIsCaughtAgainstACheckpointFile()
    {
        const qint64 k = marker(QStringLiteral(R"({"note": "refund of 25.00"})"));
        for (int i = 0; i < 4; ++i)
            post();
        const auto issued = AuditRepository::issueCheckpoint(*m_auditor, 1);
        CheckpointFile file;
        file.checkpointId = issued.id;
        file.seq = issued.seq;
        file.hash = issued.hash;
        file.issuedAt = issued.issuedAt;
        file.anchorEvery = 1;
        file.anchors = issued.anchors;
        QCOMPARE(file.anchors.size(), int(issued.seq));
        QString error;
        const auto reread = CheckpointFile::fromJson(file.toJson(), &error);
        QVERIFY2(reread, qPrintable(error));
        QCOMPARE(reread->anchors, file.anchors);

        m_admin->exec(QStringLiteral("CREATE TABLE public.saved_checkpoints AS SELECT * FROM "
                                     "audit.checkpoints; CREATE TABLE public.saved_chain AS "
                                     "SELECT * FROM audit.events"));
        tamper(QString::fromLatin1(kRewriteSuffix).arg(k));
        const AuditRepository::SqlVerification sql = AuditRepository::verifyInSql(*m_auditor);
        QVERIFY2(!sql.brokenAt, "the rewrite should fool the database's own verifier");
        const VerificationResult client =
            verifyChain(*m_auditor, reread->marks(QStringLiteral("head.json")));
        QCOMPARE(client.brokenAt, std::optional<qint64>(k));
        QVERIFY2(client.reason.startsWith(QStringLiteral("chain rewritten")),
                 qPrintable(client.reason));
        QVERIFY(client.reason.contains(QStringLiteral("head.json")));
        // The SQL verifier given the same checkpoint finds it too (at the checkpoint's head).
        const auto withFile = AuditRepository::verifyInSql(*m_auditor, file.seq, file.hash);
        QCOMPARE(withFile.brokenAt, std::optional<qint64>(file.seq));

        tamper(QStringLiteral(
            "DELETE FROM audit.events; "
            "INSERT INTO audit.events OVERRIDING SYSTEM VALUE SELECT * FROM public.saved_chain; "
            "ALTER TABLE audit.checkpoints DISABLE TRIGGER USER; "
            "INSERT INTO audit.checkpoints OVERRIDING SYSTEM VALUE SELECT * FROM "
            "public.saved_checkpoints; ALTER TABLE audit.checkpoints ENABLE ALWAYS TRIGGER "
            "checkpoints_append_only, ENABLE ALWAYS TRIGGER checkpoints_no_truncate"));
        const VerificationResult again =
            verifyChain(*m_auditor, reread->marks(QStringLiteral("head.json")));
        QVERIFY2(again.intact(), qPrintable(again.summary()));
    }

    void damagedCheckpointFilesAreRefused_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("message");
        QTest::newRow("not json") << QByteArray("{seq: 1") << QStringLiteral("not valid JSON");
        QTest::newRow("another format")
            << QByteArray(R"({"format": "x", "version": 1})") << QStringLiteral("not a Ledger");
        QTest::newRow("short hash")
            << QByteArray(
                   R"({"format": "ledger-audit-checkpoint", "version": 1, "seq": 3, "hash": "abcd"})")
            << QStringLiteral("64 hex digits");
        QTest::newRow("anchors out of order")
            << QByteArray(
                   R"({"format": "ledger-audit-checkpoint", "version": 1, "seq": 3, "hash": ")" +
                   QByteArray(64, 'a') + R"(", "anchors": [[2, ")" + QByteArray(64, 'b') +
                   R"("], [1, ")" + QByteArray(64, 'c') + R"("]]})")
            << QStringLiteral("anchor list is damaged");
    }

    void damagedCheckpointFilesAreRefused()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, message);
        QString error;
        QVERIFY(!CheckpointFile::fromJson(json, &error));
        QVERIFY2(error.contains(message), qPrintable(error));
    }

    void cancelStopsBetweenBatches()
    {
        // 50k more events, sealed in one go.
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "INSERT INTO audit.events (operator, session_role, action, object_type, "
                        "object_id, details) SELECT 'bulk', 'bulk', 'test.bulk', 'test', g::text, "
                        "jsonb_build_object('i', g) FROM generate_series(1, 50000) g"))
                    .ok);
        AuditRepository::seal(*m_auditor);
        const QString verifications =
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'audit.verified'");
        const qint64 recorded = count(verifications);
        // Cancelled as soon as the first rows are in: stops early, records nothing.
        std::atomic_bool cancel = false;
        QList<qint64> seen;
        const VerificationResult r = verifyChain(
            *m_auditor, {},
            [&](qint64 done, qint64) {
                seen << done;
                cancel = true;
            },
            &cancel);
        QVERIFY(r.cancelled);
        QVERIFY(!r.intact());
        QVERIFY2(r.verifiedThrough < 40000, qPrintable(r.summary()));
        QVERIFY(r.summary().startsWith(QStringLiteral("Verification cancelled")));
        QCOMPARE(seen.constFirst(), 0);
        QCOMPARE(count(verifications), recorded);
        // Cancelled before it starts: nothing read.
        const VerificationResult early = verifyChain(*m_auditor, {}, {}, &cancel);
        QVERIFY(early.cancelled);
        QCOMPARE(early.verifiedThrough, 0);
        // Not cancelled: the whole chain, recorded.
        const VerificationResult full = verifyChain(*m_auditor, {});
        QVERIFY2(full.intact(), qPrintable(full.summary()));
        QVERIFY(full.verifiedThrough > 50000);
        QCOMPARE(count(verifications), recorded + 1);
    }

    // Long chains are read in two halves on two connections: a break is found at the right
    // sequence wherever it lies, the join between the halves included. (Runs after
    // cancelStopsBetweenBatches, which made the chain long enough.)
    void aLongChainSplitInTwoFindsBreaksAnywhere_data()
    {
        QTest::addColumn<QString>("where");
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("reason");
        QTest::newRow("changed, first half") << "early"
                                             << "byte"
                                             << "row changed";
        QTest::newRow("changed, last of the first half") << "mid"
                                                         << "byte"
                                                         << "row changed";
        QTest::newRow("changed, first of the second half") << "mid+1"
                                                           << "byte"
                                                           << "row changed";
        QTest::newRow("changed, second half") << "late"
                                              << "byte"
                                              << "row changed";
        QTest::newRow("deleted, last of the first half") << "mid"
                                                         << "delete"
                                                         << "row missing";
        QTest::newRow("deleted, first of the second half") << "mid+1"
                                                           << "delete"
                                                           << "row missing";
        // Row mid rewritten with its own hash recomputed: the first half is intact, the join
        // to the second half is not.
        QTest::newRow("rehashed, last of the first half") << "mid"
                                                          << "rehash"
                                                          << "row missing";
        QTest::newRow("swapped across the join") << "mid"
                                                 << "swap"
                                                 << "order changed";
    }

    void aLongChainSplitInTwoFindsBreaksAnywhere()
    {
        QFETCH(QString, where);
        QFETCH(QString, kind);
        QFETCH(QString, reason);
        AuditRepository::seal(*m_auditor);
        const qint64 head = count(QStringLiteral("SELECT max(seq) FROM audit.events"));
        QVERIFY(head >= 50000);
        const qint64 mid = head / 2;
        const qint64 k = where == QLatin1String("early")   ? 10
                         : where == QLatin1String("mid")   ? mid
                         : where == QLatin1String("mid+1") ? mid + 1
                                                           : head - 5;
        m_admin->exec(QStringLiteral("DROP TABLE IF EXISTS public.saved_long; CREATE TABLE "
                                     "public.saved_long AS SELECT * FROM audit.events"));
        if (kind == QLatin1String("byte"))
            tamper(QStringLiteral("UPDATE audit.events SET client_info = client_info || "
                                  "'{\"x\": 1}' WHERE seq = %1")
                       .arg(k));
        else if (kind == QLatin1String("delete"))
            tamper(QStringLiteral("DELETE FROM audit.events WHERE seq = %1").arg(k));
        else if (kind == QLatin1String("rehash"))
            tamper(QStringLiteral(
                       "UPDATE audit.events SET client_info = client_info || '{\"x\": 1}' WHERE "
                       "seq = %1; UPDATE audit.events SET hash = sha256(prev_hash || "
                       "audit.event_encoding(id, occurred_at, operator, session_role, action, "
                       "object_type, object_id, details, client_info)) WHERE seq = %1")
                       .arg(k));
        else
            tamper(QStringLiteral("UPDATE audit.events SET seq = seq + 1000000000 WHERE seq IN "
                                  "(%1, %2); UPDATE audit.events SET seq = CASE seq WHEN %1 + "
                                  "1000000000 THEN %2 ELSE %1 END WHERE seq > 1000000000")
                       .arg(k)
                       .arg(k + 1));
        const VerificationResult r = verifyChain(*m_auditor, {});
        const qint64 expected = kind == QLatin1String("rehash") ? k + 1 : k;
        QCOMPARE(r.brokenAt, std::optional<qint64>(expected));
        QVERIFY2(r.reason.startsWith(reason), qPrintable(r.reason));
        const auto sql = AuditRepository::verifyInSql(*m_auditor);
        QCOMPARE(sql.brokenAt, std::optional<qint64>(expected));
        tamper(QStringLiteral("DELETE FROM audit.events; INSERT INTO audit.events OVERRIDING "
                              "SYSTEM VALUE SELECT * FROM public.saved_long"));
        const VerificationResult again = verifyChain(*m_auditor, {});
        QVERIFY2(again.intact(), qPrintable(again.summary()));
        QCOMPARE(again.eventsChecked, again.verifiedThrough);
    }
};

QTEST_GUILESS_MAIN(TestAuditChain)
#include "tst_auditchain.moc"
