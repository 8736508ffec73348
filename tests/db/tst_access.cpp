// Time-limited credentials against a real server: issue, use, renew, expire, revoke,
// reap; the session role's shape (UTC expiry, groups only, owns nothing, idle timeouts);
// rate limits; disabled operators; the audit trail of it all.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "ServerLogWatcher.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/ReversalRepository.h"

#include <QFile>
#include <QTest>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

class TestAccess : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<test::ServerLogWatcher> m_log;
    const QString m_secret = QStringLiteral("alice-long-lived-secret");

    QString baseDsn() const { return m_db.adminDsn(); } // credentials get replaced

    AccessRepository::Credentials issue(const QString &op, const QString &secret,
                                        std::optional<qint64> ttl = std::nullopt,
                                        const QString &timeZone = QStringLiteral("UTC"))
    {
        Connection broker(withCredentials(baseDsn(), AccessRepository::brokerRole(op), secret) +
                          QStringLiteral(" options='-c TimeZone=%1'").arg(timeZone));
        return AccessRepository::issueSession(
            broker, ttl, {{QStringLiteral("application"), QStringLiteral("tst_access")}});
    }

    QString sessionDsn(const AccessRepository::Credentials &c) const
    {
        return withCredentials(baseDsn(), c.role, c.password);
    }

    int backendsOf(const QString &role)
    {
        return m_admin
            ->scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE usename = $1"),
                     {role})
            .toInt();
    }

    // Refusals of a session on record, after collecting what the server log holds so far
    // (events fold repeated refusals into one with a count).
    int refusalsOf(const QString &role, const QString &reason)
    {
        m_admin->exec(QStringLiteral("SELECT access.collect_signin_failures()"));
        return m_admin
            ->scalar(QStringLiteral("SELECT coalesce(sum((details->>'count')::int), 0) FROM "
                                    "audit.events WHERE action = 'session.refused' AND object_id = "
                                    "$1 AND details->>'reason' = $2"),
                     {role, reason})
            .toInt();
    }

    QString stateOf(const QString &role)
    {
        return m_admin->scalar(
            QStringLiteral("SELECT state FROM access.session_list WHERE role_name = $1"), {role});
    }

    bool roleExists(const QString &role)
    {
        return m_admin->scalar(QStringLiteral("SELECT count(*) FROM pg_roles WHERE rolname = $1"),
                               {role}) == QLatin1String("1");
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        m_log = std::make_unique<test::ServerLogWatcher>(m_db.dataDir());
        Connection admin(m_db.adminDsn());
        QCOMPARE(AccessRepository::addOperator(
                     admin, QStringLiteral("alice"),
                     {QStringLiteral("console_operator"), QStringLiteral("console_auditor")},
                     m_secret),
                 QStringLiteral("lc_op_alice"));
        AccessRepository::addOperator(admin, QStringLiteral("bob"),
                                      {QStringLiteral("console_supervisor")},
                                      QStringLiteral("bob-long-lived-secret"));
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('A-CASH', 'Cash', 'EUR', 'asset'), "
                        "ledger.open_account('A-DEP', 'Dep', 'EUR', 'liability')"))
                    .ok);
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SELECT ledger.post_transaction('{\"idempotency_key\": "
                                          "\"a1\", \"effective_at\": \"2026-11-01T00:00:00Z\", "
                                          "\"legs\": [{\"account\": \"A-CASH\", \"amount\": \"5\", "
                                          "\"currency\": \"EUR\"}, {\"account\": \"A-DEP\", "
                                          "\"amount\": \"-5\", \"currency\": \"EUR\"}]}')"))
                    .ok);
        // These tests keep many sessions of one operator open; the cap on open sessions
        // (3 by default) has its own test in tst_availability.
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings SET "
                                          "max_open_sessions = 50"))
                    .ok);
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void issueAndUse()
    {
        // Issued from a connection far from UTC (+14:00): the expiry must not move.
        const auto c = issue(QStringLiteral("alice"), m_secret, std::nullopt,
                             QStringLiteral("Pacific/Kiritimati"));
        QVERIFY(c.role.startsWith(QLatin1String("lc_s_alice_")));
        QCOMPARE(c.password.size(), 43); // 32 random bytes, base64url; the server has its verifier
        QVERIFY(
            m_admin->scalar(QStringLiteral("SELECT rolpassword LIKE 'SCRAM-SHA-256$4096:%' FROM "
                                           "pg_authid WHERE rolname = $1"),
                            {c.role}) == QLatin1String("t"));
        const qint64 lifetime = QDateTime::currentDateTimeUtc().secsTo(c.expiresAt);
        QVERIFY2(lifetime > qint64(29) * 60 && lifetime <= qint64(30) * 60,
                 qPrintable(QString::number(lifetime))); // default 30 minutes
        QVERIFY(qAbs(QDateTime::currentDateTimeUtc().secsTo(c.maxUntil) - qint64(8) * 3600) < 60);

        // The role: VALID UNTIL is the expiry in UTC, whatever the issuer's time zone; member
        // of the operator's groups only; owns nothing; idle timeouts set.
        const auto role = m_admin->exec(
            QStringLiteral(
                "SELECT abs(extract(epoch FROM rolvaliduntil - $2::timestamptz)) < 0.001, "
                "rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, "
                "(SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m JOIN "
                "pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), "
                "(SELECT count(*) FROM pg_class WHERE relowner = r.oid) + (SELECT count(*) FROM "
                "pg_proc WHERE proowner = r.oid), "
                "(SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting WHERE setrole = "
                "r.oid) "
                "FROM pg_roles r WHERE rolname = $1"),
            {c.role, c.expiresAt.toString(Qt::ISODateWithMs)});
        QVERIFY2(role.ok, qPrintable(role.message));
        QCOMPARE(role.rows[0].mid(0, 5).join(QLatin1Char(',')), QStringLiteral("t,t,f,f,f"));
        QCOMPARE(role.rows[0][5], QStringLiteral("console_auditor,console_operator"));
        QCOMPARE(role.rows[0][6], QStringLiteral("0"));
        QVERIFY(role.rows[0][7].contains(QLatin1String("idle_session_timeout=900000ms")));
        QVERIFY(
            role.rows[0][7].contains(QLatin1String("idle_in_transaction_session_timeout=60000ms")));

        // It works for what its groups allow, and is attributed to the operator.
        Connection session(sessionDsn(c));
        QCOMPARE(LedgerRepository::balance(session, QStringLiteral("A-DEP")).amount,
                 QStringLiteral("5.00"));
        const auto info = AccessRepository::sessionInfo(session);
        QCOMPARE(info.operatorName, QStringLiteral("alice"));
        QCOMPARE(info.role, c.role);
        QCOMPARE(info.expiresAt, c.expiresAt);
        const qint64 request = ReversalRepository::request(session, 1, QStringLiteral("OTHER"),
                                                           QStringLiteral("session test"));
        QCOMPARE(ReversalRepository::list(session, QStringLiteral("pending")).first().requestedBy,
                 QStringLiteral("alice"));
        QCOMPARE(errorOf([&] {
                     ReversalRepository::approve(
                         session, request, ReversalRepository::preview(session, request).digest);
                 }).kind,
                 Error::Kind::Permission);
        // Bob (a supervisor) approves through his own session; alice's other session counts as
        // alice.
        const auto bob = issue(QStringLiteral("bob"), QStringLiteral("bob-long-lived-secret"));
        Connection bobSession(sessionDsn(bob));
        QVERIFY(ReversalRepository::approve(bobSession, request,
                                            ReversalRepository::preview(bobSession, request).digest)
                    .reversalTransactionId > 0);
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT string_agg(operator || '/' || session_role, ',' ORDER "
                                    "BY id) FROM audit.events "
                                    "WHERE object_type = 'reversal_request' AND object_id = $1"),
                     {QString::number(request)}),
                 // requested, her preview's read and preview, his read, preview and approval
                 // (0026 audits previews, 0033 puts the read on record first)
                 QStringLiteral("alice/%1,alice/%1,alice/%1,bob/%2,bob/%2,bob/%2")
                     .arg(c.role, bob.role));
    }

    void brokerCanOnlyIssue()
    {
        Connection broker(withCredentials(baseDsn(), QStringLiteral("lc_op_alice"), m_secret));
        QCOMPARE(errorOf([&] { LedgerRepository::balance(broker, QStringLiteral("A-DEP")); }).kind,
                 Error::Kind::Permission);
        QCOMPARE(errorOf([&] { AccessRepository::reap(broker); }).kind, Error::Kind::Permission);
        QCOMPARE(errorOf([&] { AccessRepository::renewSession(broker); }).kind,
                 Error::Kind::Permission);
        // A wrong secret is an authentication error, distinct from anything else.
        const Error wrong = errorOf([&] {
            Connection c(withCredentials(baseDsn(), QStringLiteral("lc_op_alice"),
                                         QStringLiteral("not-the-secret-at-all")));
        });
        QCOMPARE(wrong.kind, Error::Kind::Authentication);
        QCOMPARE(errorOf([&] { issue(QStringLiteral("alice"), m_secret, 2 * 3600); }).sqlState,
                 QStringLiteral("LG045")); // over max_ttl
    }

    void renewalExtendsUpToTheMaximum()
    {
        const auto c = issue(QStringLiteral("alice"), m_secret, 60);
        Connection session(sessionDsn(c));
        const QDateTime renewed = AccessRepository::renewSession(session, 600);
        QVERIFY(renewed > c.expiresAt);
        QVERIFY(qAbs(QDateTime::currentDateTimeUtc().secsTo(renewed) - 600) < 5);
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT abs(extract(epoch FROM rolvaliduntil - "
                                    "$2::timestamptz)) < 0.001 FROM pg_roles WHERE rolname = $1"),
                     {c.role, renewed.toString(Qt::ISODateWithMs)}),
                 QStringLiteral("t"));
        // Capped by the maximum lifetime.
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SET LOCAL ROLE ledger_owner; UPDATE access.settings SET max_lifetime = '2 "
                        "minutes', max_ttl = '1 minute', default_ttl = '1 minute'"))
                    .ok);
        const auto short_ = issue(QStringLiteral("alice"), m_secret);
        Connection s2(sessionDsn(short_));
        AccessRepository::renewSession(s2, 60);
        QVERIFY(AccessRepository::renewSession(s2, 60) <= short_.maxUntil);
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SET LOCAL ROLE ledger_owner; UPDATE access.settings SET max_lifetime = '8 "
                        "hours', max_ttl = '1 hour', default_ttl = '30 minutes'"))
                    .ok);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'session.renewed' AND object_id = $1"),
                                 {c.role}),
                 QStringLiteral("1"));
    }

    void expiryIsEnforcedOnOpenConnectionsThenReaped()
    {
        // A tiny lifetime (long enough for the one call before it ends on a loaded machine).
        const auto c = issue(QStringLiteral("alice"), m_secret, 2);
        Connection session(sessionDsn(c));
        QCOMPARE(LedgerRepository::balance(session, QStringLiteral("A-DEP")).currency,
                 QStringLiteral("EUR"));
        QCOMPARE(stateOf(c.role), QStringLiteral("active"));
        // Nothing happens at expiry (the server compares its clock with expires_at at each
        // call): wait for that instant, then the server itself must count it expired.
        test::waitUntilPast(c.expiresAt);
        QCOMPARE(stateOf(c.role), QStringLiteral("expired"));

        // The open connection is refused, for functions and views alike.
        const Error expired =
            errorOf([&] { LedgerRepository::balance(session, QStringLiteral("A-DEP")); });
        QCOMPARE(expired.sqlState, QStringLiteral("LG041"));
        QCOMPARE(expired.kind, Error::Kind::SessionExpired);
        QVERIFY2(expired.message.contains(QLatin1String("expired")), qPrintable(expired.message));
        QCOMPARE(errorOf([&] { ReversalRepository::list(session); }).sqlState,
                 QStringLiteral("LG041"));
        QCOMPARE(errorOf([&] { AccessRepository::renewSession(session); }).sqlState,
                 QStringLiteral("LG041"));
        // A new login with the same credentials fails.
        QCOMPARE(errorOf([&] { Connection again(sessionDsn(c)); }).kind,
                 Error::Kind::Authentication);
        // Each refusal is on record, although the refused call's transaction rolled back: the
        // server logged the error, and the collector (sign-in, reaper, pg_cron) reads it back.
        QVERIFY(
            m_log->waitUntil([&] { return refusalsOf(c.role, QStringLiteral("expired")) >= 3; }));
        QCOMPARE(refusalsOf(c.role, QStringLiteral("expired")), 3);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT string_agg(DISTINCT operator || '/' || "
                                                "session_role, ',') FROM audit.events WHERE action "
                                                "= 'session.refused' AND object_id = $1"),
                                 {c.role}),
                 QStringLiteral("alice/") + c.role);

        // The reaper ends the connection and drops the role.
        QCOMPARE(backendsOf(c.role), 1);
        Connection admin(m_db.adminDsn());
        const auto r = AccessRepository::reap(admin);
        QVERIFY(r.sessionsReaped >= 1);
        QVERIFY(r.connectionsTerminated >= 1);
        QCOMPARE(backendsOf(c.role), 0);
        QVERIFY(!roleExists(c.role));
        QCOMPARE(errorOf([&] { LedgerRepository::balance(session, QStringLiteral("A-DEP")); }).kind,
                 Error::Kind::Connection);
        const auto list = AccessRepository::sessions(admin, true);
        const auto it =
            std::find_if(list.begin(), list.end(), [&](const auto &s) { return s.role == c.role; });
        QVERIFY(it != list.end());
        QCOMPARE(it->state, QStringLiteral("reaped"));
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT details->>'connections_terminated' FROM audit.events "
                                    "WHERE action = 'session.reaped' AND object_id = $1"),
                     {c.role}),
                 QStringLiteral("1"));
    }

    void revocationRefusesTheNextCall()
    {
        const auto c1 = issue(QStringLiteral("alice"), m_secret);
        const auto c2 = issue(QStringLiteral("alice"), m_secret);
        Connection s1(sessionDsn(c1));
        Connection s2(sessionDsn(c2));
        Connection admin(m_db.adminDsn());
        const int open =
            m_admin
                ->scalar(QStringLiteral("SELECT count(*) FROM access.session_list WHERE operator = "
                                        "'alice' AND state = 'active'"))
                .toInt();
        QVERIFY(open >= 2);
        QCOMPARE(AccessRepository::revokeSessions(admin, QStringLiteral("alice")), open);
        const Error revoked =
            errorOf([&] { LedgerRepository::balance(s1, QStringLiteral("A-DEP")); });
        QVERIFY2(revoked.sqlState == QLatin1String("LG042"),
                 qPrintable(revoked.describe() + QLatin1Char(' ') + revoked.detail));
        QVERIFY2(revoked.message.contains(QLatin1String("revoked")), qPrintable(revoked.message));
        QCOMPARE(errorOf([&] { Connection again(sessionDsn(c1)); }).kind,
                 Error::Kind::Authentication); // NOLOGIN now
        QVERIFY(
            m_log->waitUntil([&] { return refusalsOf(c1.role, QStringLiteral("revoked")) >= 1; }));
        QCOMPARE(refusalsOf(c1.role, QStringLiteral("revoked")), 1);
        AccessRepository::reap(admin);
        QCOMPARE(backendsOf(c1.role) + backendsOf(c2.role), 0);
        QVERIFY(!roleExists(c1.role) && !roleExists(c2.role));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'session.revoked' AND object_id IN ($1, $2)"),
                                 {c1.role, c2.role}),
                 QStringLiteral("2"));
    }

    void endingASessionSignsOut()
    {
        const auto c = issue(QStringLiteral("alice"), m_secret);
        Connection s(sessionDsn(c));
        AccessRepository::endSession(s);
        QCOMPARE(errorOf([&] { AccessRepository::sessionInfo(s); }).sqlState,
                 QStringLiteral("LG044"));
        AccessRepository::endSession(s); // twice is harmless
    }

    void issuingIsRateLimited()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings SET "
                                          "issue_limit_per_minute = 3"))
                    .ok);
        Connection admin(m_db.adminDsn());
        AccessRepository::addOperator(admin, QStringLiteral("carol"),
                                      {QStringLiteral("console_compliance")},
                                      QStringLiteral("carol-long-lived-secret"));
        for (int i = 0; i < 3; ++i)
            issue(QStringLiteral("carol"), QStringLiteral("carol-long-lived-secret"));
        const Error limited = errorOf(
            [&] { issue(QStringLiteral("carol"), QStringLiteral("carol-long-lived-secret")); });
        QCOMPARE(limited.sqlState, QStringLiteral("LG043"));
        QVERIFY(limited.message.contains(QLatin1String("wait a minute")));
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings SET "
                                          "issue_limit_per_minute = 10"))
                    .ok);
    }

    void disabledOperatorsAreLockedOut()
    {
        Connection admin(m_db.adminDsn());
        AccessRepository::addOperator(admin, QStringLiteral("dave"),
                                      {QStringLiteral("console_auditor")},
                                      QStringLiteral("dave-long-lived-secret"));
        const auto c = issue(QStringLiteral("dave"), QStringLiteral("dave-long-lived-secret"));
        Connection s(sessionDsn(c));
        QCOMPARE(AccessRepository::disableOperator(admin, QStringLiteral("dave")), 1);
        QCOMPARE(errorOf([&] { AccessRepository::sessionInfo(s); }).sqlState,
                 QStringLiteral("LG042"));
        QCOMPARE(errorOf([&] {
                     issue(QStringLiteral("dave"), QStringLiteral("dave-long-lived-secret"));
                 }).kind,
                 Error::Kind::Authentication);
        QCOMPARE(errorOf([&] {
                     AccessRepository::disableOperator(admin, QStringLiteral("dave"));
                 }).sqlState,
                 QStringLiteral("LG047"));
        AccessRepository::reap(admin);
    }

    // A wrong secret never reaches SQL; the database reads the refusal back from its own CSV
    // log and records it, once, before the next sign-in's session.issued event.
    void failedSignInsAreAudited()
    {
        const QString failures = QStringLiteral(
            "SELECT coalesce(sum((details->>'count')::int), 0) FROM audit.events WHERE action = "
            "'session.signin_failed' AND "
            "object_id = 'bob'");
        const qint64 before = m_admin->scalar(failures).toLongLong();
        for (int i = 0; i < 2; ++i)
            QCOMPARE(errorOf([&] { issue(QStringLiteral("bob"), QStringLiteral("wrong")); }).kind,
                     Error::Kind::Authentication);
        // A refused login that is not a console login is not recorded.
        const QString writerDsn = m_db.dsnFor(QStringLiteral("ledger_writer"));
        QCOMPARE(errorOf([&] {
                     Connection c(withCredentials(writerDsn, QStringLiteral("test_ledger_writer"),
                                                  QStringLiteral("guess")));
                 }).kind,
                 Error::Kind::Authentication);
        // The log writer is a separate process: wait until the refusals are in the file.
        QVERIFY(m_log->waitUntil([&] {
            return m_admin
                       ->scalar(QStringLiteral(
                           "SELECT count(*) FROM regexp_matches(pg_read_file(pg_current_logfile("
                           "'csvlog')), 'password authentication failed for user "
                           "\"\"test_ledger_writer', 'g')"))
                       .toLongLong() >= 1;
        }));
        // Bob signs in: the failures are recorded first.
        const auto c = issue(QStringLiteral("bob"), QStringLiteral("bob-long-lived-secret"));
        QCOMPARE(m_admin->scalar(failures).toLongLong(), before + 2);
        QCOMPARE(
            m_admin->scalar(QStringLiteral(
                "SELECT string_agg(operator || '/' || session_role || '/' || (details->>'role'), "
                "',') FROM (SELECT * FROM audit.events WHERE action = "
                "'session.signin_failed' ORDER BY id DESC LIMIT 1) e")),
            QStringLiteral("(not signed in)/lc_op_bob/lc_op_bob"));
        const qint64 failedId =
            m_admin
                ->scalar(QStringLiteral("SELECT max(id) FROM audit.events WHERE action = "
                                        "'session.signin_failed'"))
                .toLongLong();
        const qint64 issuedId =
            m_admin
                ->scalar(QStringLiteral("SELECT max(id) FROM audit.events WHERE action = "
                                        "'session.issued' AND object_id = $1"),
                         {c.role})
                .toLongLong();
        QVERIFY(failedId < issuedId);
        // Collected once: reaping (which collects too) adds nothing.
        Connection admin(m_db.adminDsn());
        const auto report = AccessRepository::reap(admin);
        QVERIFY(report.signinFailures.has_value());
        QCOMPARE(m_admin->scalar(failures).toLongLong(), before + 2);
        // A wrong password for a session role counts for its operator too.
        QCOMPARE(errorOf([&] {
                     Connection s(withCredentials(baseDsn(), c.role, QStringLiteral("nope")));
                 }).kind,
                 Error::Kind::Authentication);
        auto collected = [&] {
            AccessRepository::reap(admin);
            return m_admin->scalar(failures).toLongLong();
        };
        QVERIFY(m_log->waitUntil([&] { return collected() >= before + 3; }));
        QCOMPARE(collected(), before + 3);
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'session.signin_failed' "
                     "AND session_role = 'test_ledger_writer'")),
                 QStringLiteral("0"));
    }

    // A log truncated under the same name is read again from the top, not waited on forever.
    void aTruncatedLogIsReadFromTheTop()
    {
        const QString failures = QStringLiteral(
            "SELECT coalesce(sum((details->>'count')::int), 0) FROM audit.events WHERE action = "
            "'session.signin_failed' AND "
            "object_id = 'bob'");
        Connection admin(m_db.adminDsn());
        AccessRepository::reap(admin); // everything so far collected
        const qint64 before = m_admin->scalar(failures).toLongLong();
        QFile log(m_db.dataDir() + QLatin1Char('/') +
                  m_admin->scalar(QStringLiteral("SELECT pg_current_logfile('csvlog')")));
        QVERIFY2(log.exists(), qPrintable(log.fileName()));
        QVERIFY(log.resize(0));
        QCOMPARE(errorOf([&] { issue(QStringLiteral("bob"), QStringLiteral("wrong again")); }).kind,
                 Error::Kind::Authentication);
        auto collected = [&] {
            AccessRepository::reap(admin);
            return m_admin->scalar(failures).toLongLong();
        };
        QVERIFY(m_log->waitUntil([&] { return collected() >= before + 1; }));
        QCOMPARE(collected(), before + 1);
    }

    void accessTablesAreGuarded()
    {
        // The audit loopback is gone (refusals come from the server log): no login, no
        // stored password, no dblink.
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'ledger_audit_loopback%'")),
                 QStringLiteral("0"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT to_regclass('access.loopback') IS NULL AND "
                                                "NOT EXISTS (SELECT 1 FROM pg_extension WHERE "
                                                "extname = 'dblink')")),
                 QStringLiteral("t"));
        QCOMPARE(m_admin
                     ->exec(QStringLiteral(
                         "UPDATE access.sessions SET expires_at = now() + interval '1 year'"))
                     .sqlState,
                 QStringLiteral("LG001"));
        QCOMPARE(m_admin->exec(QStringLiteral("DELETE FROM access.operators")).sqlState,
                 QStringLiteral("LG001"));
        SqlSession broker(withCredentials(baseDsn(), QStringLiteral("lc_op_bob"),
                                          QStringLiteral("bob-long-lived-secret")));
        QCOMPARE(broker.exec(QStringLiteral("SELECT * FROM access.sessions")).sqlState,
                 QStringLiteral("42501"));
        QCOMPARE(broker
                     .exec(QStringLiteral(
                         "SELECT access.add_operator('mallory', "
                         "'{console_supervisor}', 'SCRAM-SHA-256$4096:"
                         "AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')"))
                     .sqlState,
                 QStringLiteral("42501"));
    }
};

QTEST_GUILESS_MAIN(TestAccess)
#include "tst_access.moc"
