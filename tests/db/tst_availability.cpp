// Step 6, availability: a login must not be able to freeze everyone. The attacks of the
// security issue, performed against a real server and shown to fail:
//  - advisory locks taken by any login (2,000 of them, or a shared one on key 0 that pinned
//    the audit sealer's floor);
//  - a lock held in an open transaction making everyone else wait without end;
//  - connections and sessions opened until nobody else gets one;
//  - a session lifting its own idle limits;
//  - concurrent REPEATABLE READ sign-ins counting on snapshots that miss each other;
//  - arguments of any size, stored or echoed.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "PostingRequests.h"
#include "ServerLogWatcher.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/AuditRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/ReversalRepository.h"
#include "session/ScramVerifier.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QTest>

#include <atomic>
#include <barrier>
#include <thread>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

class TestAvailability : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    int m_key = 0;
    std::optional<AccessRepository::Credentials> m_una; // a session for unboundedInputIsRefused

    static QString secretOf(const QString &op) { return op + QStringLiteral("-long-lived-secret"); }

    QString dsnAs(const QString &user, const QString &password) const
    {
        return withCredentials(m_db.adminDsn(), user, password);
    }

    QString brokerDsn(const QString &op) const
    {
        return dsnAs(AccessRepository::brokerRole(op), secretOf(op));
    }

    QString sessionDsn(const AccessRepository::Credentials &c) const
    {
        return dsnAs(c.role, c.password);
    }

    void addOperator(const QString &op, const QStringList &groups)
    {
        Connection admin(m_db.adminDsn());
        AccessRepository::addOperator(admin, op, groups, secretOf(op));
    }

    AccessRepository::Credentials issue(const QString &op, std::optional<qint64> ttl = std::nullopt)
    {
        Connection broker(brokerDsn(op));
        return AccessRepository::issueSession(broker, ttl, {});
    }

    // access.settings, as the owner (a DBA).
    bool setSettings(const QString &assignments)
    {
        const auto r = m_admin->exec(
            QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings SET ") +
            assignments);
        if (!r.ok)
            qWarning("access.settings: %s", qPrintable(r.message));
        return r.ok;
    }

    QString request(const QString &debit, const QString &credit, const QString &amount)
    {
        return QString::fromUtf8(
            test::postingRequest(QStringLiteral("av-%1").arg(++m_key),
                                 test::postingLeg(debit, amount) + QStringLiteral(", ") +
                                     test::postingLeg(credit, QLatin1Char('-') + amount)));
    }

    qint64 post(Connection &writer, const QString &debit, const QString &credit,
                const QString &amount)
    {
        return LedgerRepository::post(writer, request(debit, credit, amount).toUtf8())
            .transactionId;
    }

    QString scalar(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

    // An instant the server computes (a timestamptz expression over `params`), rounded up to
    // the millisecond: when a limit is passed, for test::waitUntilPast().
    QDateTime serverInstant(const QString &expression, const QStringList &params = {})
    {
        return QDateTime::fromString(
            scalar(QStringLiteral("SELECT to_char(date_trunc('milliseconds', %1) + interval '1 "
                                  "millisecond', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
                       .arg(expression),
                   params),
            Qt::ISODateWithMs);
    }

    // A session busy in a statement until the test lets go (instead of pg_sleep): it reads
    // test_gate.gate while a superuser's transaction holds it exclusively. Every login may
    // read it; nothing else in the ledger needs it.
    struct Gate
    {
        std::unique_ptr<SqlSession> holder;
        bool close(const QString &dsn)
        {
            holder = std::make_unique<SqlSession>(dsn);
            return holder
                ->run(QStringLiteral("BEGIN; LOCK TABLE test_gate.gate IN ACCESS "
                                     "EXCLUSIVE MODE"))
                .ok;
        }
        void open() { holder.reset(); } // its connection closes: the lock goes with it
    };
    static QString waitAtTheGate() { return QStringLiteral("SELECT count(*) FROM test_gate.gate"); }

    // The SQLSTATE, or else read from the verbose message (libpqxx 6's transaction_rollback
    // family, 40001 and 40P01, carries none; SqlSession fills it in from the exception's class).
    static QString stateOf(const test::SqlOutcome &r)
    {
        if (!r.sqlState.isEmpty())
            return r.sqlState;
        static const QRegularExpression re(QStringLiteral(R"(^(?:ERROR|FATAL):\s+([0-9A-Z]{5}):)"));
        const auto m = re.match(r.message);
        return m.hasMatch() ? m.captured(1) : r.message;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        for (const char *sql : {"CREATE SCHEMA test_gate; CREATE TABLE test_gate.gate (); GRANT "
                                "USAGE ON SCHEMA test_gate TO PUBLIC; GRANT SELECT ON "
                                "test_gate.gate TO PUBLIC",
                                "SELECT ledger.open_account('AV-CASH', 'Cash', 'EUR', 'asset')",
                                "SELECT ledger.open_account('AV-DEP', 'Deposits', 'EUR', "
                                "'liability')",
                                "SELECT ledger.open_account('AV-HOT', 'Hot account', 'EUR', "
                                "'asset')",
                                "SELECT ledger.open_account('AV-HOT2', 'Hot deposits', 'EUR', "
                                "'liability')"}) {
            const auto r = m_admin->exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // Every pg_advisory_* function is refused to a console session, a broker and a writer.
    // The attack: a broker took 2,000 advisory locks, and a shared one on key 0, which
    // held the audit sealer's floor at 0 (shown first with the superuser, who still can).
    void advisoryLocksAreRefusedToEveryLogin()
    {
        addOperator(QStringLiteral("ada"),
                    {QStringLiteral("console_operator"), QStringLiteral("console_auditor")});
        const auto ada = issue(QStringLiteral("ada"));

        // The mechanism: a shared advisory lock on key 0 pins the sealer's bound at 0.
        {
            SqlSession superuser(m_db.adminDsn());
            QVERIFY(superuser.run(QStringLiteral("SELECT pg_advisory_lock_shared(0)")).ok);
            QCOMPARE(scalar(QStringLiteral("SELECT audit.seal_bound()")), QStringLiteral("0"));
            QVERIFY(superuser.run(QStringLiteral("SELECT pg_advisory_unlock_shared(0)")).ok);
            QVERIFY(scalar(QStringLiteral("SELECT audit.seal_bound()")).toLongLong() > 0);
        }

        const auto functions = m_admin->exec(
            QStringLiteral("SELECT p.proname, p.pronargs, p.oid::regprocedure::text FROM pg_proc p "
                           "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname LIKE "
                           "'pg\\_%advisory\\_%' ORDER BY 3"));
        QVERIFY(functions.ok);
        // lock, lock_shared, unlock, unlock_shared, xact_lock, xact_lock_shared and the
        // four try_ forms, each with (bigint) and (integer, integer); unlock_all().
        QCOMPARE(functions.rows.size(), 21);

        SqlSession session(sessionDsn(ada));
        SqlSession broker(brokerDsn(QStringLiteral("ada")));
        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const QList<QPair<QString, SqlSession *>> logins{
            {QStringLiteral("console session"), &session},
            {QStringLiteral("broker"), &broker},
            {QStringLiteral("ledger_writer"), &writer}};
        for (const auto &[who, login] : logins) {
            for (const QStringList &f : functions.rows) {
                const QString args = f[1] == QLatin1String("0")   ? QString()
                                     : f[1] == QLatin1String("1") ? QStringLiteral("0::bigint")
                                                                  : QStringLiteral("0, 0");
                const auto r = login->run(QStringLiteral("SELECT %1(%2)").arg(f[0], args));
                QVERIFY2(
                    !r.ok && r.sqlState == QLatin1String("42501"),
                    qPrintable(
                        QStringLiteral("%1 ran %2: %3 %4").arg(who, f[2], r.sqlState, r.message)));
            }
            // The original attack.
            QCOMPARE(login
                         ->run(QStringLiteral("SELECT count(pg_advisory_lock(g)) FROM "
                                              "generate_series(1, 2000) g"))
                         .sqlState,
                     QStringLiteral("42501"));
            QCOMPARE(login->run(QStringLiteral("SELECT pg_advisory_lock_shared(0)")).sqlState,
                     QStringLiteral("42501"));
            const int pid = login->backendPid();
            QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_locks WHERE locktype = "
                                           "'advisory' AND pid = $1"),
                            {QString::number(pid)}),
                     QStringLiteral("0"));
        }

        // With the three attackers still connected, everyone else works: sign-in, posting,
        // an approval (by its preview's digest) and sealing.
        const auto again = issue(QStringLiteral("ada"));
        QVERIFY(again.role.startsWith(QLatin1String("lc_s_ada_")));
        Connection writerConnection(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const qint64 tx = post(writerConnection, QStringLiteral("AV-CASH"),
                               QStringLiteral("AV-DEP"), QStringLiteral("10.00"));
        Connection operatorConnection(sessionDsn(again));
        const qint64 requestId = ReversalRepository::request(
            operatorConnection, tx, QStringLiteral("DUPLICATE"), QStringLiteral("posted twice"));
        Connection supervisor(m_db.dsnFor(QStringLiteral("console_supervisor")));
        const auto preview = ReversalRepository::preview(supervisor, requestId);
        const auto decision = ReversalRepository::approve(supervisor, requestId, preview.digest);
        QVERIFY(decision.reversalTransactionId > 0);
        Connection auditor(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditRepository::seal(auditor);
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")),
                 QStringLiteral("0"));
        // Nothing holds the sealer's floor down while they are connected.
        QCOMPARE(
            scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE pid IN "
                                  "($1, $2, $3)"),
                   {QString::number(session.backendPid()), QString::number(broker.backendPid()),
                    QString::number(writer.backendPid())}),
            QStringLiteral("3"));
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT audit.seal_bound() = (SELECT last_value FROM audit.events_id_seq)")),
                 QStringLiteral("t"));
    }

    // A writer holds an account's head in an open transaction. Whoever else needs it gets
    // 55P03 after lock_timeout (5 s, on every function a login calls) instead of waiting
    // without end: a posting, an approval whose reversal posts to it, and audit.seal()
    // while the chain lock is held.
    void lockWaitsAreBounded()
    {
        addOperator(QStringLiteral("olga"), {QStringLiteral("console_operator")});
        // Without the functions' lock_timeout these would wait until statement_timeout
        // (57014), not forever: the test fails instead of hanging.
        const QString bounded = QStringLiteral(" options='-c statement_timeout=60s'");
        Connection writer(m_db.dsnFor(QStringLiteral("ledger_writer")) + bounded);
        const qint64 tx = post(writer, QStringLiteral("AV-HOT"), QStringLiteral("AV-HOT2"),
                               QStringLiteral("5.00"));
        const auto olga = issue(QStringLiteral("olga"));
        qint64 requestId = 0;
        {
            Connection op(sessionDsn(olga));
            requestId = ReversalRepository::request(op, tx, QStringLiteral("DUPLICATE"),
                                                    QStringLiteral("posted twice"));
        }
        Connection supervisor(m_db.dsnFor(QStringLiteral("console_supervisor")) + bounded);
        const QString digest = ReversalRepository::preview(supervisor, requestId).digest;
        const QString counts = test::ledgerCounts(*m_admin);

        SqlSession holder(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const auto held =
            holder.run(QStringLiteral("BEGIN; SELECT ledger.post_transaction('%1')")
                           .arg(request(QStringLiteral("AV-HOT"), QStringLiteral("AV-HOT2"),
                                        QStringLiteral("1.00"))));
        QVERIFY2(held.ok, qPrintable(held.message));

        const QString second =
            request(QStringLiteral("AV-HOT2"), QStringLiteral("AV-HOT"), QStringLiteral("2.00"));
        const Error posting = errorOf([&] { LedgerRepository::post(writer, second.toUtf8()); });
        QVERIFY2(posting.sqlState == QLatin1String("55P03"), qPrintable(posting.describe()));
        QVERIFY(posting.retryable);

        const Error approval =
            errorOf([&] { ReversalRepository::approve(supervisor, requestId, digest); });
        QVERIFY2(approval.sqlState == QLatin1String("55P03"), qPrintable(approval.describe()));
        QVERIFY(approval.retryable);
        QCOMPARE(test::ledgerCounts(*m_admin), counts);
        QCOMPARE(scalar(QStringLiteral("SELECT state FROM ledger.reversal_request_status WHERE "
                                       "id = $1"),
                        {QString::number(requestId)}),
                 QStringLiteral("pending"));

        // Once the holder is gone, both go through: they failed because of it.
        QVERIFY(holder.run(QStringLiteral("ROLLBACK")).ok);
        QVERIFY(LedgerRepository::post(writer, second.toUtf8()).created);
        QVERIFY(ReversalRepository::approve(supervisor, requestId, digest).reversalTransactionId >
                0);

        // The chain lock, held by the superuser in an open transaction.
        Connection auditor(m_db.dsnFor(QStringLiteral("console_auditor")) + bounded);
        SqlSession superuser(m_db.adminDsn());
        QVERIFY(superuser
                    .run(QStringLiteral(
                        "BEGIN; SELECT pg_advisory_xact_lock(audit.chain_lock_key(), 0)"))
                    .ok);
        const Error sealing = errorOf([&] { AuditRepository::seal(auditor); });
        QVERIFY2(sealing.sqlState == QLatin1String("55P03"), qPrintable(sealing.describe()));
        QVERIFY(sealing.retryable);
        QVERIFY(superuser.run(QStringLiteral("ROLLBACK")).ok);
        AuditRepository::seal(auditor);
    }

    // Brokers, sessions and open sessions per operator are limited; at their limits, other
    // operators still sign in and the superuser still connects.
    void connectionsAndSessionsAreLimited()
    {
        QCOMPARE(scalar(QStringLiteral("SELECT broker_connection_limit || ' ' || "
                                       "session_connection_limit || ' ' || max_open_sessions "
                                       "FROM access.settings")),
                 QStringLiteral("2 4 3"));
        QVERIFY(scalar(QStringLiteral("SELECT current_setting('superuser_reserved_connections')"))
                    .toInt() > 0);
        addOperator(QStringLiteral("cleo"), {QStringLiteral("console_operator")});
        addOperator(QStringLiteral("dina"), {QStringLiteral("console_auditor")});

        const auto tooMany = [](const Error &e) {
            return e.sqlState == QLatin1String("53300") ||
                   e.detail.contains(QLatin1String("too many connections for role")) ||
                   e.message.contains(QLatin1String("too many connections for role"));
        };

        Connection b1(brokerDsn(QStringLiteral("cleo")));
        Connection b2(brokerDsn(QStringLiteral("cleo")));
        const Error third = errorOf([&] { Connection b3(brokerDsn(QStringLiteral("cleo"))); });
        QVERIFY2(tooMany(third), qPrintable(third.describe() + QLatin1Char(' ') + third.detail));

        QList<AccessRepository::Credentials> sessions;
        for (int i = 0; i < 3; ++i)
            sessions << AccessRepository::issueSession(b1, std::nullopt, {});
        const Error fourth = errorOf([&] { AccessRepository::issueSession(b2, std::nullopt, {}); });
        QVERIFY2(fourth.sqlState == QLatin1String("LG039"), qPrintable(fourth.describe()));

        std::vector<std::unique_ptr<Connection>> open;
        for (int i = 0; i < 4; ++i)
            open.push_back(std::make_unique<Connection>(sessionDsn(sessions[0])));
        const Error fifth = errorOf([&] { Connection c(sessionDsn(sessions[0])); });
        QVERIFY2(tooMany(fifth), qPrintable(fifth.describe() + QLatin1Char(' ') + fifth.detail));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE usename = $1"),
                        {sessions[0].role}),
                 QStringLiteral("4"));

        // Another operator, and the superuser, while cleo is at every limit.
        const auto dina = issue(QStringLiteral("dina"));
        {
            Connection s(sessionDsn(dina));
            QCOMPARE(AccessRepository::sessionInfo(s).operatorName, QStringLiteral("dina"));
        }
        {
            Connection superuser(m_db.adminDsn());
            QVERIFY(superuser.isOpen());
        }

        // Ending one session lets a new one in.
        {
            Connection s(sessionDsn(sessions[1]));
            AccessRepository::endSession(s);
        }
        sessions << AccessRepository::issueSession(b2, std::nullopt, {});
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM access.session_list WHERE operator = "
                                       "'cleo' AND state = 'active'")),
                 QStringLiteral("3"));

        open.clear();
        Connection admin(m_db.adminDsn());
        AccessRepository::revokeSessions(admin, QStringLiteral("cleo"));
        AccessRepository::revokeSessions(admin, QStringLiteral("dina"));
        AccessRepository::reap(admin);
    }

    // A session cannot lift its idle limits: whatever it SETs or ALTERs for itself, the
    // reaper ends it (and an idle broker) from pg_stat_activity, and says so.
    void idleLimitsHoldWhateverASessionSets()
    {
        const QStringList saved =
            m_admin
                ->exec(QStringLiteral("SELECT idle_session_timeout::text, "
                                      "idle_in_transaction_timeout::text, "
                                      "broker_idle_timeout::text FROM access.settings"))
                .rows.value(0);
        QCOMPARE(saved.size(), 3);
        const auto restore = qScopeGuard([&] {
            setSettings(QStringLiteral("idle_session_timeout = '%1', idle_in_transaction_timeout "
                                       "= '%2', broker_idle_timeout = '%3'")
                            .arg(saved[0], saved[1], saved[2]));
        });
        QVERIFY(setSettings(QStringLiteral("idle_session_timeout = '1 second', "
                                           "idle_in_transaction_timeout = '1 second', "
                                           "broker_idle_timeout = '1 second'")));
        addOperator(QStringLiteral("ida"), {QStringLiteral("console_operator")});
        const auto idle = issue(QStringLiteral("ida"));
        const auto inTransaction = issue(QStringLiteral("ida"));

        SqlSession s1(sessionDsn(idle));
        QVERIFY(s1.run(QStringLiteral("SET idle_session_timeout = 0")).ok);
        const auto altered =
            s1.run(QStringLiteral("ALTER ROLE %1 SET idle_session_timeout = 0").arg(idle.role));
        QVERIFY2(altered.ok, qPrintable(altered.message));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_db_role_setting s JOIN pg_roles "
                                       "r ON r.oid = s.setrole WHERE r.rolname = $1 AND "
                                       "'idle_session_timeout=0' = ANY (s.setconfig)"),
                        {idle.role}),
                 QStringLiteral("1"));
        QCOMPARE(s1.run(QStringLiteral("SHOW idle_session_timeout")).rows.value(0).value(0),
                 QStringLiteral("0"));

        SqlSession s2(sessionDsn(inTransaction));
        SqlSession broker(brokerDsn(QStringLiteral("ida")));
        // (backendPid() runs a transaction of its own: before the one left open.)
        const QList<int> pids{s1.backendPid(), s2.backendPid(), broker.backendPid()};
        QVERIFY(s2.run(QStringLiteral("SET idle_in_transaction_session_timeout = 0")).ok);
        QVERIFY(s2.run(QStringLiteral("BEGIN; SELECT 1")).ok);
        QVERIFY(broker.run(QStringLiteral("SET idle_session_timeout = 0")).ok);

        QStringList pidList;
        for (int pid : pids)
            pidList << QString::number(pid);
        const QString pidArray =
            QLatin1Char('{') + pidList.join(QLatin1Char(',')) + QLatin1Char('}');
        QCOMPARE(scalar(QStringLiteral("SELECT string_agg(state, ',' ORDER BY state) FROM "
                                       "pg_stat_activity WHERE pid = ANY ($1::int[])"),
                        {pidArray}),
                 QStringLiteral("idle,idle,idle in transaction"));

        Connection admin(m_db.adminDsn());
        // Each is over its limit (1 s) once that long has passed since its state last
        // changed: wait for the last of those instants; then one run of the reaper ends all
        // three (and waits until they are gone).
        test::waitUntilPast(
            serverInstant(QStringLiteral("(SELECT max(state_change) + interval '1 second' FROM "
                                         "pg_stat_activity WHERE pid = ANY ($1::int[]))"),
                          {pidArray}));
        const int idleTerminated = AccessRepository::reap(admin).idleTerminated;
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY ($1::int[])"),
                        {pidArray}),
                 QStringLiteral("0"));
        QCOMPARE(idleTerminated, 3);
        // One event each, naming what was ended and in which state.
        QList<QPair<int, QString>> expected{
            {pids[0], QStringLiteral("session %1 idle").arg(idle.role)},
            {pids[1], QStringLiteral("session %1 idle in transaction").arg(inTransaction.role)},
            {pids[2], QStringLiteral("operator ida idle")}};
        std::sort(expected.begin(), expected.end());
        QStringList lines;
        for (const auto &e : expected)
            lines << e.second;
        QCOMPARE(
            scalar(QStringLiteral("SELECT string_agg(object_type || ' ' || object_id || ' ' || "
                                  "(details->>'state'), ', ' ORDER BY (details->>'pid')::int) FROM "
                                  "audit.events WHERE action = 'session.idle_terminated' AND "
                                  "(details->>'pid')::int = ANY ($1::int[])"),
                   {pidArray}),
            lines.join(QStringLiteral(", ")));
        QVERIFY(!s1.run(QStringLiteral("SELECT 1")).ok);
        QVERIFY(!s2.run(QStringLiteral("SELECT 1")).ok);
        QVERIFY(!broker.run(QStringLiteral("SELECT 1")).ok);
        AccessRepository::revokeSessions(admin, QStringLiteral("ida"));
        AccessRepository::reap(admin);
    }

    // The attack an idle limit cannot see: a session keeps a transaction that wrote something
    // (here the audit event of a balance asked) running, pinning the audit sealer's floor and
    // whatever rows it locked. The reaper ends it once it has been open longer than
    // max_writing_transaction; a long transaction that wrote nothing (an auditor reading) is
    // left alone.
    void aLongWritingTransactionIsEnded()
    {
        const QString saved =
            scalar(QStringLiteral("SELECT max_writing_transaction::text FROM access.settings"));
        const auto restore = qScopeGuard(
            [&] { setSettings(QStringLiteral("max_writing_transaction = '%1'").arg(saved)); });
        QVERIFY(setSettings(QStringLiteral("max_writing_transaction = '1 second'")));
        addOperator(QStringLiteral("wes"), {QStringLiteral("console_auditor")});
        const auto writer = issue(QStringLiteral("wes"));
        const auto reader = issue(QStringLiteral("wes"));
        // Both log their lock waits as they begin (see the gate below).
        QVERIFY(test::logLockWaitsOf(*m_admin, writer.role));
        QVERIFY(test::logLockWaitsOf(*m_admin, reader.role));
        SqlSession w(sessionDsn(writer));
        SqlSession r(sessionDsn(reader));
        const int wPid = w.backendPid();
        const int rPid = r.backendPid();
        // Their reads are on record first (0032), so that each transaction gets to the gate.
        QVERIFY(w.exec(QStringLiteral("SELECT ledger.record_read('balance', 'AV-CASH')")).ok);
        QVERIFY(r.exec(QStringLiteral("SELECT ledger.record_read('account_list', '')")).ok);
        // Both start their transactions here, then stay busy in a statement at the gate.
        QVERIFY(w.run(QStringLiteral("BEGIN; SELECT amount FROM ledger.balance('AV-CASH')")).ok);
        QVERIFY(r.run(QStringLiteral("BEGIN; SELECT count(*) FROM ledger.account_list")).ok);
        Gate gate;
        QVERIFY(gate.close(m_db.adminDsn()));
        std::thread writing([&] { w.run(waitAtTheGate()); });
        std::thread reading([&] {
            if (r.run(waitAtTheGate()).ok)
                r.run(QStringLiteral("COMMIT"));
        });
        const auto cleanupThreads = qScopeGuard([&] {
            gate.open();
            writing.join();
            reading.join();
        });
        // Both are busy at the gate (their waits are logged), and their transactions are
        // older than the limit (1 s) from the last of their starts on; the writer holds the
        // floor.
        const QString both = QStringLiteral("{%1,%2}").arg(wPid).arg(rPid);
        test::ServerLogWatcher log(m_db.dataDir());
        QVERIFY(log.waitUntil([&] {
            return scalar(QStringLiteral("SELECT count(*) FROM pg_locks WHERE pid = ANY "
                                         "($1::int[]) AND NOT granted"),
                          {both}) == QLatin1String("2");
        }));
        test::waitUntilPast(serverInstant(
            QStringLiteral("(SELECT max(xact_start) + interval '1 second' FROM pg_stat_activity "
                           "WHERE pid = ANY ($1::int[]))"),
            {both}));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY "
                                       "($1::int[]) AND state = 'active' AND xact_start < "
                                       "clock_timestamp() - interval '1 second'"),
                        {both}),
                 QStringLiteral("2"));
        QVERIFY(scalar(QStringLiteral("SELECT audit.seal_bound() < last_value FROM "
                                      "audit.events_id_seq")) == QLatin1String("t"));

        Connection admin(m_db.adminDsn());
        const auto report = AccessRepository::reap(admin);
        QCOMPARE(report.transactionsTerminated, 1);
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE pid = $1"),
                        {QString::number(wPid)}),
                 QStringLiteral("0"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE pid = $1"),
                        {QString::number(rPid)}),
                 QStringLiteral("1")); // read nothing-writing: left alone
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT object_id || ' ' || (details->>'reason') FROM audit.events "
                            "WHERE action = 'session.transaction_terminated' AND "
                            "(details->>'pid')::int = $1"),
                        {QString::number(wPid)}),
                 writer.role + QStringLiteral(" writing transaction open too long"));
        // The floor is free again: the next seal takes it past the writer's ids.
        QVERIFY(scalar(QStringLiteral("SELECT audit.seal() >= 0")) == QLatin1String("t"));
        QVERIFY(scalar(QStringLiteral("SELECT audit.seal_bound() = last_value FROM "
                                      "audit.events_id_seq")) == QLatin1String("t"));
    }

    // The attack on the reaper: a session that left an ALTER ROLE of itself uncommitted holds
    // its own pg_authid row, so that the reaper's ALTER ROLE ... NOLOGIN waited, hit the lock
    // timeout and rolled back the whole run (every session, every event) one run after the
    // other. Now its backends are ended first and each session is reaped on its own.
    void theReaperCannotBeHeldByASession()
    {
        addOperator(QStringLiteral("hal"), {QStringLiteral("console_operator")});
        const auto holder = issue(QStringLiteral("hal"), 2);
        const auto ended = issue(QStringLiteral("hal"));
        {
            Connection e(sessionDsn(ended));
            AccessRepository::endSession(e);
        }
        SqlSession h(sessionDsn(holder));
        const int hPid = h.backendPid();
        QVERIFY(h.run(QStringLiteral("SET idle_in_transaction_session_timeout = 0; BEGIN; "
                                     "ALTER ROLE %1 PASSWORD 'held'")
                          .arg(holder.role))
                    .ok);
        Gate gate;
        QVERIFY(gate.close(m_db.adminDsn()));
        std::thread holding([&] { h.run(waitAtTheGate()); }); // busy, holding the row
        const auto joinHolding = qScopeGuard([&] {
            gate.open();
            holding.join();
        });
        // Holding its role's row, and expired (its 2 s are up): the reaper must end it.
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_locks l WHERE l.pid = $1 AND "
                                       "l.granted AND l.locktype = 'transactionid'"),
                        {QString::number(hPid)}),
                 QStringLiteral("1"));
        test::waitUntilPast(holder.expiresAt);
        Connection admin(m_db.adminDsn());
        AccessRepository::ReapReport report;
        try {
            report = AccessRepository::reap(admin);
        } catch (const DbException &e) {
            QFAIL(qPrintable(QStringLiteral("the reaper failed: ") + e.error().describe()));
        }
        QVERIFY(report.sessionsReaped >= 2);
        for (const QString &role : {holder.role, ended.role})
            QCOMPARE(
                scalar(QStringLiteral("SELECT count(*) FROM pg_roles WHERE rolname = $1"), {role}),
                QStringLiteral("0"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE pid = $1"),
                        {QString::number(hPid)}),
                 QStringLiteral("0"));
    }

    // The attack on the audit chain: an auditor's audit.seal() in a transaction left open
    // held the chain's lock for as long as it liked (it writes nothing when nothing is
    // pending, so no writing-transaction rule saw it). A console transaction holding a
    // ledger lock is ended like one that wrote something.
    void aHeldChainLockIsLetGo()
    {
        const QString saved =
            scalar(QStringLiteral("SELECT max_writing_transaction::text FROM access.settings"));
        const auto restore = qScopeGuard(
            [&] { setSettings(QStringLiteral("max_writing_transaction = '%1'").arg(saved)); });
        QVERIFY(setSettings(QStringLiteral("max_writing_transaction = '1 second'")));
        QVERIFY(scalar(QStringLiteral("SELECT audit.seal() >= 0")) == QLatin1String("t"));
        addOperator(QStringLiteral("aud"), {QStringLiteral("console_auditor")});
        const auto auditor = issue(QStringLiteral("aud"));
        SqlSession a(sessionDsn(auditor));
        const int aPid = a.backendPid();
        QVERIFY(a.run(QStringLiteral("BEGIN; SELECT audit.seal()")).ok);
        Gate gate;
        QVERIFY(gate.close(m_db.adminDsn()));
        std::thread holding([&] { a.run(waitAtTheGate()); }); // busy, holding the chain
        const auto joinHolding = qScopeGuard([&] {
            gate.open();
            holding.join();
        });
        // Older than the limit (1 s) from its start on.
        test::waitUntilPast(
            serverInstant(QStringLiteral("(SELECT xact_start + interval '1 second' FROM "
                                         "pg_stat_activity WHERE pid = $1::int)"),
                          {QString::number(aPid)}));
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity x ON x.pid "
                            "= l.pid WHERE l.pid = $1 AND l.locktype = 'advisory' AND "
                            "l.granted AND x.xact_start < clock_timestamp() - interval "
                            "'1 second'"),
                        {QString::number(aPid)}),
                 QStringLiteral("1"));
        QCOMPARE(scalar(QStringLiteral("SELECT pg_current_xact_id_if_assigned() IS NULL")),
                 QStringLiteral("t")); // (ours; the auditor's wrote nothing either)
        Connection admin(m_db.adminDsn());
        QCOMPARE(AccessRepository::reap(admin).transactionsTerminated, 1);
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT details->>'reason' FROM audit.events WHERE action = "
                            "'session.transaction_terminated' AND (details->>'pid')::int = $1"),
                        {QString::number(aPid)}),
                 QStringLiteral("writing transaction open too long"));
        QVERIFY(scalar(QStringLiteral("SELECT audit.seal() >= 0")) == QLatin1String("t"));
    }

    // Writer logins (services) are held to limits too: a transaction left idle with the
    // accounts locked, and one open past max_writer_transaction, are ended. Long read-only
    // console transactions (pinning old rows, blocking DDL) end at max_transaction.
    void writersAndLongReadsAreHeldToLimits()
    {
        const QStringList saved =
            m_admin
                ->exec(QStringLiteral("SELECT idle_in_transaction_timeout::text, "
                                      "max_writer_transaction::text, max_transaction::text FROM "
                                      "access.settings"))
                .rows.value(0);
        QCOMPARE(saved.size(), 3);
        const auto restore = qScopeGuard([&] {
            setSettings(QStringLiteral("idle_in_transaction_timeout = '%1', max_writer_transaction "
                                       "= '%2', max_transaction = '%3'")
                            .arg(saved[0], saved[1], saved[2]));
        });
        QVERIFY(setSettings(QStringLiteral("idle_in_transaction_timeout = '1 second', "
                                           "max_writer_transaction = '2 seconds', "
                                           "max_transaction = '1 second'")));
        const QString writerDsn = m_db.dsnFor(QStringLiteral("ledger_writer"));
        SqlSession idle(writerDsn), busy(writerDsn);
        addOperator(QStringLiteral("rita"), {QStringLiteral("console_auditor")});
        const auto reader = issue(QStringLiteral("rita"));
        SqlSession r(sessionDsn(reader));
        const QList<int> pids{idle.backendPid(), busy.backendPid(), r.backendPid()};
        QVERIFY(idle.run(QStringLiteral("SET idle_in_transaction_session_timeout = 0; BEGIN; "
                                        "SELECT ledger.lock_accounts(ARRAY['AV-CASH', 'AV-DEP'])"))
                    .ok);
        // The console's read is on record first (0032), so that its transaction gets to the
        // gate.
        QVERIFY(r.exec(QStringLiteral("SELECT ledger.record_read('account_list', '')")).ok);
        // A writer's transaction and a console's read, both then busy at the gate.
        QVERIFY(busy.run(QStringLiteral("BEGIN")).ok);
        QVERIFY(r.run(QStringLiteral("BEGIN; SELECT count(*) FROM ledger.account_list")).ok);
        Gate gate;
        QVERIFY(gate.close(m_db.adminDsn()));
        std::thread busyThread([&] { busy.run(waitAtTheGate()); });
        std::thread readThread([&] { r.run(waitAtTheGate()); });
        const auto joinThreads = qScopeGuard([&] {
            gate.open();
            busyThread.join();
            readThread.join();
        });
        QStringList pidList;
        for (int pid : pids)
            pidList << QString::number(pid);
        const QString pidArray =
            QLatin1Char('{') + pidList.join(QLatin1Char(',')) + QLatin1Char('}');
        Connection admin(m_db.adminDsn());
        // The reaper ends each as its limit passes (and waits until it is gone): the idle
        // writer transaction and the console read after 1 s, the busy writer after 2 s.
        test::waitUntilPast(serverInstant(
            QStringLiteral("(SELECT max(CASE pid WHEN $1::int THEN state_change ELSE xact_start "
                           "END) + interval '1 second' FROM pg_stat_activity WHERE pid IN "
                           "($1::int, $2::int))"),
            {QString::number(pids[0]), QString::number(pids[2])}));
        AccessRepository::reap(admin);
        test::waitUntilPast(serverInstant(
            QStringLiteral("(SELECT xact_start + interval '2 seconds' FROM pg_stat_activity "
                           "WHERE pid = $1::int)"),
            {QString::number(pids[1])}));
        AccessRepository::reap(admin);
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY ($1::int[])"),
                        {pidArray}),
                 QStringLiteral("0"));
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT string_agg(object_type || ': ' || (details->>'reason'), ', ' "
                            "ORDER BY array_position($1::int[], (details->>'pid')::int)) FROM "
                            "audit.events WHERE action IN ('session.idle_terminated', "
                            "'session.transaction_terminated') "
                            "AND (details->>'pid')::int = ANY ($1::int[])"),
                        {pidArray}),
                 QStringLiteral("writer: idle in a transaction, writer: transaction open too long, "
                                "session: transaction open too long"));
    }

    // 14 concurrent sign-ins of one operator, each in a transaction whose snapshot was
    // taken before any of them issued: at most issue_limit_per_minute (10) get a session,
    // under REPEATABLE READ and READ COMMITTED alike.
    void theSignInRateLimitHoldsUnderConcurrency_data()
    {
        QTest::addColumn<QString>("isolation");
        QTest::addColumn<QString>("op");
        QTest::newRow("repeatable read")
            << QStringLiteral("REPEATABLE READ") << QStringLiteral("rae");
        QTest::newRow("read committed")
            << QStringLiteral("READ COMMITTED") << QStringLiteral("rex");
    }

    void theSignInRateLimitHoldsUnderConcurrency()
    {
        QFETCH(QString, isolation);
        QFETCH(QString, op);
        const auto restore = qScopeGuard([&] {
            setSettings(QStringLiteral("max_open_sessions = 3"));
            m_admin->exec(QStringLiteral("ALTER ROLE lc_op_%1 CONNECTION LIMIT 2").arg(op));
        });
        QVERIFY(setSettings(QStringLiteral("issue_limit_per_minute = 10, max_open_sessions = 50")));
        addOperator(op, {QStringLiteral("console_auditor")});
        QVERIFY(
            m_admin->exec(QStringLiteral("ALTER ROLE lc_op_%1 CONNECTION LIMIT 20").arg(op)).ok);

        constexpr int kThreads = 14;
        QStringList verifiers;
        for (int i = 0; i < kThreads; ++i) {
            const auto v = ScramVerifier::compute(ScramVerifier::randomPassword());
            QVERIFY(v);
            verifiers << v.value();
        }
        const QString dsn = brokerDsn(op);
        std::barrier sync(kThreads);
        std::vector<QString> outcomes(kThreads); // one slot per thread
        std::vector<std::thread> threads;
        for (int i = 0; i < kThreads; ++i) {
            threads.emplace_back([&, i] {
                std::unique_ptr<SqlSession> s;
                QString began;
                try {
                    s = std::make_unique<SqlSession>(dsn);
                    const auto b =
                        s->run(QStringLiteral("BEGIN ISOLATION LEVEL %1; SELECT 1").arg(isolation));
                    if (!b.ok)
                        began = QStringLiteral("begin failed: ") + b.message;
                } catch (const std::exception &e) {
                    began = QStringLiteral("connect failed: ") + QString::fromUtf8(e.what());
                }
                sync.arrive_and_wait();
                if (!began.isEmpty()) {
                    outcomes[i] = began;
                    return;
                }
                const auto r = s->run(QStringLiteral("SELECT role_name FROM "
                                                     "access.issue_session('%1', NULL, '{}')")
                                          .arg(verifiers[i]));
                if (!r.ok) {
                    outcomes[i] = stateOf(r);
                    s->run(QStringLiteral("ROLLBACK"));
                    return;
                }
                const auto c = s->run(QStringLiteral("COMMIT"));
                outcomes[i] = c.ok ? QStringLiteral("ok") : QStringLiteral("commit ") + c.sqlState;
            });
        }
        for (auto &t : threads)
            t.join();

        const QStringList all(outcomes.begin(), outcomes.end());
        const int issued = int(all.count(QStringLiteral("ok")));
        for (const QString &o : all) {
            QVERIFY2(o == QLatin1String("ok") || o == QLatin1String("LG043") ||
                         o == QLatin1String("40001"),
                     qPrintable(all.join(QStringLiteral(", "))));
        }
        qInfo("%s: %s", qPrintable(isolation), qPrintable(all.join(QStringLiteral(", "))));
        QVERIFY2(issued >= 1 && issued <= 10, qPrintable(all.join(QStringLiteral(", "))));
        if (isolation == QLatin1String("READ COMMITTED")) {
            // Each waits for the one before it and then counts it: exactly the limit.
            QCOMPARE(issued, 10);
            QCOMPARE(int(all.count(QStringLiteral("LG043"))), kThreads - 10);
        }
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM access.sessions WHERE operator = $1 "
                                       "AND issued_at > clock_timestamp() - interval '1 minute'"),
                        {op})
                     .toInt(),
                 issued);

        Connection admin(m_db.adminDsn());
        AccessRepository::revokeSessions(admin, op);
        AccessRepository::reap(admin);
    }

    // Arguments of any size: refused with their SQLSTATE, without echoing the value, and
    // nothing stored.
    void unboundedInputIsRefused_data()
    {
        QTest::addColumn<QString>("login"); // broker, session, auditor, writer
        QTest::addColumn<QString>("sql");   // $1: the value; %TX%, %ACCOUNT%, %VERIFIER%
        QTest::addColumn<QString>("value"); // %HUGE% is replaced by `size` bytes
        QTest::addColumn<int>("size");
        QTest::addColumn<QString>("expected");
        const int MB = 1024 * 1024;
        const QString issueSql =
            QStringLiteral("SELECT role_name FROM access.issue_session('%VERIFIER%', NULL, $1)");
        QTest::newRow("issue_session, 10 MB of client")
            << "broker" << issueSql << R"({"application": "%HUGE%"})" << 10 * MB << "LG049";
        QTest::newRow("issue_session, the client's address")
            << "broker" << issueSql << R"({"address": "10.1.2.3"})" << 0 << "LG049";
        QTest::newRow("issue_session, an unknown key")
            << "broker" << issueSql << R"({"application": "x", "forged": "y"})" << 0 << "LG049";
        QTest::newRow("issue_session, a password instead of a verifier")
            << "broker"
            << QStringLiteral("SELECT role_name FROM access.issue_session($1, NULL, '{}')")
            << "my-plain-password-never-echoed" << 0 << "LG049";
        QTest::newRow("request_reversal, 30 MB rebook")
            << "session"
            << QStringLiteral("SELECT ledger.request_reversal(%TX%, 'WRONG_AMOUNT', 'fix', $1)")
            << R"({"effective_at": "2026-11-20T10:00:00Z", "description": "%HUGE%", "legs": [{"account": "AV-CASH", "amount": "2.00", "currency": "EUR"}, {"account": "AV-DEP", "amount": "-2.00", "currency": "EUR"}]})"
            << 30 * MB << "LG037";
        QTest::newRow("record_verification, 5 MB")
            << "auditor" << QStringLiteral("SELECT audit.record_verification($1)")
            << R"({"verified_through": 0, "events_checked": 0, "hash_at_verified": "00", "reason": "%HUGE%"})"
            << 5 * MB << "LG051";
        QTest::newRow("record_client_action, 1 MB object id")
            << "session"
            << QStringLiteral(
                   "SELECT audit.record_client_action('search.run', 'account', $1, '{}')")
            << "%HUGE%" << MB << "LG052";
        QTest::newRow("record_client_action, control characters in the object id")
            << "session"
            << QStringLiteral(
                   "SELECT audit.record_client_action('search.run', 'account', $1, '{}')")
            << "AV-CASH\n2026-11-20 audit.verified ok\x1b[2K" << 0 << "LG052";
        QTest::newRow("post_transaction, 1 MB of JSON")
            << "writer" << QStringLiteral("SELECT ledger.post_transaction($1)")
            << R"({"idempotency_key": "huge-1", "effective_at": "2026-11-20T10:00:00Z", "description": "%HUGE%", "legs": [{"account": "AV-CASH", "amount": "1.00", "currency": "EUR"}, {"account": "AV-DEP", "amount": "-1.00", "currency": "EUR"}]})"
            << MB << "LG017";
        QTest::newRow("post_request, 1 MB of JSON")
            << "writer" << QStringLiteral("SELECT * FROM ledger.post_request($1)")
            << R"({"idempotency_key": "huge-2", "effective_at": "2026-11-20T10:00:00Z", "description": "%HUGE%", "legs": [{"account": "AV-CASH", "amount": "1.00", "currency": "EUR"}, {"account": "AV-DEP", "amount": "-1.00", "currency": "EUR"}]})"
            << MB << "LG017";
        QTest::newRow("balance, 10 MB account code")
            << "session" << QStringLiteral("SELECT * FROM ledger.balance($1)") << "%HUGE%"
            << 10 * MB << "LG018";
        QTest::newRow("timeline_search, 1 MB search text")
            << "session"
            << QStringLiteral("SELECT count(*) FROM ledger.timeline_search(%ACCOUNT%, "
                              "'effective', NULL, 10, NULL, NULL, NULL, NULL, $1)")
            << "%HUGE%" << MB << "LG071";
        QTest::newRow("timeline_search, a long order")
            << "session"
            << QStringLiteral("SELECT count(*) FROM ledger.timeline_search(%ACCOUNT%, $1, NULL, "
                              "10)")
            << "effective%HUGE%" << MB << "LG070";
        QTest::newRow("open_account, control characters in the name")
            << "writer"
            << QStringLiteral("SELECT ledger.open_account('AV-CTRL', $1, 'EUR', 'asset')")
            << "Cash\x1b[31m (approved)\r" << 0 << "LG002";
        QTest::newRow("verify_chain, 1 MB checkpoint hash")
            << "auditor" << QStringLiteral("SELECT broken_at FROM audit.verify_chain(1, $1)")
            << "\\x%HUGE%" << 2 * MB << "LG051";
    }

    void unboundedInputIsRefused()
    {
        QFETCH(QString, login);
        QFETCH(QString, sql);
        QFETCH(QString, value);
        QFETCH(int, size);
        QFETCH(QString, expected);

        if (!m_una) {
            addOperator(QStringLiteral("una"),
                        {QStringLiteral("console_operator"), QStringLiteral("console_auditor")});
            m_una = issue(QStringLiteral("una"));
        }
        Connection writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const qint64 tx = post(writer, QStringLiteral("AV-CASH"), QStringLiteral("AV-DEP"),
                               QStringLiteral("1.00"));
        const auto verifier = ScramVerifier::compute(ScramVerifier::randomPassword());
        QVERIFY(verifier);
        sql.replace(QLatin1String("%TX%"), QString::number(tx))
            .replace(QLatin1String("%VERIFIER%"), verifier.value())
            .replace(
                QLatin1String("%ACCOUNT%"),
                scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = 'AV-CASH'")));
        // Hex digits (a valid bytea too), never compressible to nothing.
        QString huge;
        huge.reserve(size);
        for (int i = 0; i < size; ++i)
            huge += QLatin1Char("0123456789abcdef"[(i * 7 + i / 16) % 16]);
        value.replace(QLatin1String("%HUGE%"), huge);
        huge.clear();

        std::unique_ptr<SqlSession> s;
        if (login == QLatin1String("broker")) {
            s = std::make_unique<SqlSession>(brokerDsn(QStringLiteral("una")));
        } else if (login == QLatin1String("session")) {
            s = std::make_unique<SqlSession>(sessionDsn(*m_una));
            // On record (0032), so that what is measured is the input's bound.
            QVERIFY(s->exec(QStringLiteral("SELECT ledger.record_read('timeline_search', "
                                           "'AV-CASH')"))
                        .ok);
        } else if (login == QLatin1String("auditor")) {
            s = std::make_unique<SqlSession>(m_db.dsnFor(QStringLiteral("console_auditor")));
        } else {
            s = std::make_unique<SqlSession>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        }
        const QString stored =
            QStringLiteral("SELECT format('%s/%s/%s/%s', (SELECT count(*) FROM access.sessions), "
                           "(SELECT count(*) FROM ledger.reversal_requests), (SELECT count(*) FROM "
                           "ledger.accounts), (SELECT count(*) FROM pg_roles))");
        const QString countsBefore = test::ledgerCounts(*m_admin) + scalar(stored);

        QElapsedTimer timer;
        timer.start();
        const auto r = s->exec(sql, {value});
        const qint64 ms = timer.elapsed();
        qInfo("%s: %s in %lld ms, %lld characters of message", QTest::currentDataTag(),
              qPrintable(r.sqlState), ms, qint64(r.message.size()));
        QVERIFY2(!r.ok && r.sqlState == expected,
                 qPrintable(r.sqlState + QLatin1Char(' ') + r.message.left(300)));
        // Bounded whatever the input's size: the message, and a context that names the
        // functions the error passed through (a gated read adds its gate's two lines).
        QVERIFY2(r.message.size() < 1000, qPrintable(r.message.left(1100)));
        QVERIFY(!r.message.contains(QLatin1String("0123456789abcdef")));
        QVERIFY(!r.message.contains(QLatin1String("my-plain-password")));
        QCOMPARE(test::ledgerCounts(*m_admin) + scalar(stored), countsBefore);
    }

    // A batch over 64 MiB of JSON (under the item limit): refused before it is read.
    void anOversizedBatchIsRefused()
    {
        // 1,100 requests of about 62 kB each (each under the 256 kB request bound).
        QByteArray batch("[");
        batch.reserve(qsizetype(70) * 1024 * 1024);
        QElapsedTimer build;
        build.start();
        QByteArray description(qsizetype(62) * 1024, 'x');
        for (int i = 0; i < 1100; ++i) {
            for (int j = 0; j < description.size(); j += 61)
                description[j] = "0123456789abcdef"[(i + j) % 16];
            if (i > 0)
                batch += ',';
            batch += test::postingRequest(
                QStringLiteral("batch-%1").arg(i),
                test::postingLeg(QStringLiteral("AV-CASH"), QStringLiteral("1.00")) +
                    QStringLiteral(", ") +
                    test::postingLeg(QStringLiteral("AV-DEP"), QStringLiteral("-1.00")),
                QStringLiteral("2026-11-20T10:00:00Z"), QString::fromLatin1(description));
        }
        batch += ']';
        QVERIFY(batch.size() > 64 * 1024 * 1024 + 1024 * 1024);
        qInfo("built %lld bytes in %lld ms", qint64(batch.size()), build.elapsed());

        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const QString before = test::ledgerCounts(*m_admin);
        QElapsedTimer timer;
        timer.start();
        const auto r = writer.exec(QStringLiteral("SELECT count(*) FROM ledger.post_batch($1)"),
                                   {QString::fromLatin1(batch)});
        qInfo("post_batch: %s in %lld ms", qPrintable(r.sqlState), timer.elapsed());
        QVERIFY2(!r.ok && r.sqlState == QLatin1String("LG017"),
                 qPrintable(r.sqlState + QLatin1Char(' ') + r.message.left(300)));
        QVERIFY2(r.message.size() < 500, qPrintable(r.message.left(600)));
        QCOMPARE(test::ledgerCounts(*m_admin), before);
    }
};

QTEST_GUILESS_MAIN(TestAvailability)
#include "tst_availability.moc"
