// Step 6, least privilege: who holds which power, and the attacks that power allowed,
// performed against a real server and shown to fail.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/MigrationSet.h"
#include "db/Migrator.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QTest>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

class TestPrivileges : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;

    QString dsnAs(const QString &user, const QString &password) const
    {
        return withCredentials(m_db.adminDsn(), user, password);
    }

    AccessRepository::Credentials issue(const QString &op, const QString &secret)
    {
        Connection broker(dsnAs(AccessRepository::brokerRole(op), secret));
        return AccessRepository::issueSession(broker, std::nullopt, {});
    }

    int backendsOf(const QString &role)
    {
        return m_admin
            ->scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE usename = $1"),
                     {role})
            .toInt();
    }

    QString count(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('P-CASH', 'Cash', 'EUR', 'asset')"))
                    .ok);
        Connection admin(m_db.adminDsn());
        AccessRepository::addOperator(
            admin, QStringLiteral("pam"),
            {QStringLiteral("console_operator"), QStringLiteral("console_auditor")},
            QStringLiteral("pam-long-lived-secret"));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // Every role the migrations make: attributes, memberships, and the server-level
    // functions they may run, against the intended matrix.
    void rolesHoldWhatTheMatrixSays()
    {
        const QString actual = m_admin->scalar(QStringLiteral(R"sql(
            WITH ours(name) AS (VALUES ('ledger_owner'), ('ledger_role_admin'), ('ledger_session_control'),
                                      ('ledger_log_reader'), ('console_operator'), ('console_supervisor'),
                                      ('console_auditor'), ('console_compliance'), ('ledger_writer'),
                                      ('console_broker'))
            SELECT string_agg(line, E'\n' ORDER BY line) FROM (
                SELECT format('%s: %s%s%s%s%s%s | member of: %s | runs: %s', r.rolname,
                              CASE WHEN r.rolsuper THEN 'SUPERUSER ' ELSE '' END,
                              CASE WHEN r.rolcreaterole THEN 'CREATEROLE ' ELSE '' END,
                              CASE WHEN r.rolcreatedb THEN 'CREATEDB ' ELSE '' END,
                              CASE WHEN r.rolreplication THEN 'REPLICATION ' ELSE '' END,
                              CASE WHEN r.rolbypassrls THEN 'BYPASSRLS ' ELSE '' END,
                              CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
                              coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname)
                                        FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                                        WHERE m.member = r.oid AND g.rolname NOT LIKE 'lc\_%'), '-'),
                              coalesce((SELECT string_agg(f, ',' ORDER BY f) FROM unnest(ARRAY[
                                            'pg_read_file(text,bigint,bigint,boolean)',
                                            'pg_read_binary_file(text,bigint,bigint,boolean)',
                                            'pg_current_logfile(text)', 'pg_stat_file(text,boolean)',
                                            'pg_advisory_xact_lock(bigint)', 'pg_advisory_lock_shared(bigint)']) f
                                        WHERE has_function_privilege(r.oid, f::regprocedure, 'EXECUTE')
                                          AND NOT has_function_privilege('public', f::regprocedure, 'EXECUTE')), '-')
                              || CASE WHEN has_table_privilege(r.oid, 'pg_catalog.pg_authid', 'SELECT')
                                           OR has_column_privilege(r.oid, 'pg_catalog.pg_authid', 'rolpassword', 'SELECT')
                                      THEN ' +pg_authid.rolpassword' ELSE '' END) AS line
                FROM pg_roles r JOIN ours o ON o.name = r.rolname) x)sql"));
        const QString expected = QStringLiteral(
            "console_auditor: NOLOGIN | member of: - | runs: -\n"
            "console_broker: NOLOGIN | member of: - | runs: -\n"
            "console_compliance: NOLOGIN | member of: - | runs: -\n"
            "console_operator: NOLOGIN | member of: - | runs: -\n"
            "console_supervisor: NOLOGIN | member of: - | runs: -\n"
            "ledger_log_reader: NOLOGIN | member of: - | runs: pg_current_logfile(text),"
            "pg_read_binary_file(text,bigint,bigint,boolean),pg_stat_file(text,boolean)\n"
            "ledger_owner: NOLOGIN | member of: - | runs: pg_advisory_lock_shared(bigint),"
            "pg_advisory_xact_lock(bigint)\n"
            "ledger_role_admin: CREATEROLE NOLOGIN | member of: - | runs: - "
            "+pg_authid.rolpassword\n"
            "ledger_session_control: NOLOGIN | member of: pg_read_all_stats,pg_signal_backend | "
            "runs: -\n"
            "ledger_writer: NOLOGIN | member of: - | runs: -");
        QCOMPARE(actual, expected);
        // ledger_role_admin is a member of the session and broker roles it created (so that
        // the reaper can DROP OWNED BY them), of nothing else.
        QCOMPARE(
            count(QStringLiteral(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "WHERE m.member = 'ledger_role_admin'::regrole AND g.rolname !~ '^lc_(s|op)_'")),
            QStringLiteral("0"));
        // Session and broker roles: LOGIN, nothing but their groups, limited connections.
        const auto c = issue(QStringLiteral("pam"), QStringLiteral("pam-long-lived-secret"));
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT format('%s %s %s %s', r.rolcanlogin, r.rolconnlimit, "
                                    "(SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM "
                                    "pg_auth_members m JOIN "
                                    "pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), "
                                    "r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR "
                                    "r.rolreplication OR r.rolbypassrls) "
                                    "FROM pg_roles r WHERE r.rolname = $1"),
                     {c.role}),
                 QStringLiteral("t 4 console_auditor,console_operator f"));
        QCOMPARE(
            m_admin->scalar(QStringLiteral(
                "SELECT format('%s %s', rolconnlimit, (SELECT string_agg(g.rolname, ',') FROM "
                "pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid)) "
                "FROM pg_roles r WHERE rolname = 'lc_op_pam'")),
            QStringLiteral("2 console_broker"));
    }

    // Who owns the functions, and that the definer functions' owners are what they should be.
    void functionOwnership()
    {
        QCOMPARE(m_admin->scalar(QStringLiteral(R"sql(
            SELECT string_agg(line, E'\n' ORDER BY line) FROM (
                SELECT format('%s %s %s', n.nspname, pg_get_userbyid(p.proowner),
                              CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END) AS line
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname IN ('ledger', 'audit', 'access', 'recon', 'reporting', 'ledger_priv')
                GROUP BY 1) x)sql")),
                 QStringLiteral("access ledger_owner definer\n"
                                "access ledger_owner invoker\n"
                                "audit ledger_owner definer\n"
                                "audit ledger_owner invoker\n"
                                "ledger ledger_owner definer\n"
                                "ledger ledger_owner invoker\n"
                                "ledger_priv ledger_log_reader definer\n"
                                "ledger_priv ledger_log_reader invoker\n"
                                "ledger_priv ledger_role_admin definer\n"
                                "ledger_priv ledger_role_admin invoker\n"
                                "ledger_priv ledger_session_control definer\n"
                                "recon ledger_owner definer\n"
                                "recon ledger_owner invoker\n"
                                "reporting ledger_owner definer\n"
                                "reporting ledger_owner invoker"));
        // The privileged helpers live where the owner cannot replace them.
        QCOMPARE(
            m_admin->scalar(QStringLiteral("SELECT pg_get_userbyid(nspowner) <> 'ledger_owner' "
                                           "FROM pg_namespace WHERE nspname = 'ledger_priv'")),
            QStringLiteral("t"));
        // No function of ours is executable by PUBLIC.
        QCOMPARE(
            m_admin->scalar(QStringLiteral("SELECT coalesce(string_agg(p.oid::regprocedure::text, "
                                           "', '), 'none') FROM pg_proc p "
                                           "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE "
                                           "n.nspname IN ('ledger', 'audit', "
                                           "'access', 'recon', 'reporting', 'ledger_priv') AND "
                                           "has_function_privilege('public', p.oid, 'EXECUTE')")),
            QStringLiteral("none"));
    }

    // Every function with a SET search_path ends it with pg_temp; every SECURITY DEFINER
    // function has one; every function a login can call bounds its lock waits.
    void functionSettings()
    {
        QCOMPARE(m_admin->scalar(QStringLiteral(R"sql(
            SELECT coalesce(string_agg(p.oid::regprocedure::text, ', '), 'none') FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('ledger', 'audit', 'access', 'recon', 'reporting', 'ledger_priv')
              AND ((p.prosecdef AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%'))
                   OR EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%' AND c !~ ', pg_temp$')))sql")),
                 QStringLiteral("none"));
        QCOMPARE(m_admin->scalar(QStringLiteral(R"sql(
            SELECT coalesce(string_agg(DISTINCT p.oid::regprocedure::text, ', '), 'none') FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            CROSS JOIN unnest(ARRAY['console_operator', 'console_supervisor', 'console_auditor',
                                    'console_compliance', 'ledger_writer', 'console_broker',
                                    'ledger_maintainer']) r(role)
            WHERE n.nspname IN ('ledger', 'audit', 'access', 'recon', 'reporting') AND p.proname <> 'check_session'
              AND has_function_privilege(r.role, p.oid, 'EXECUTE')
              AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c = 'lock_timeout=5s'))sql")),
                 QStringLiteral("none"));
    }

    // The attack: a role given TEMP creates a temporary type named "text" whose values are
    // refused; definer functions that did not list pg_temp searched it first for types and
    // used it. Shown first against a function put back the way it was, then against all.
    void temporaryObjectsDoNotChangeDefinerFunctions()
    {
        const QString user = QStringLiteral("test_temp_operator");
        const QString dsn = m_db.dsnFor(QStringLiteral("console_operator"), user);
        QVERIFY(m_admin->exec(QStringLiteral("GRANT TEMP ON DATABASE ledger TO %1").arg(user)).ok);
        SqlSession attacker(dsn);
        QVERIFY(attacker
                    .exec(QStringLiteral("SELECT ledger.record_read('balance', 'P-CASH'), "
                                         "ledger.record_read('account_list', ''), "
                                         "ledger.record_read('reversal_requests', '')"))
                    .ok);
        const QString shadow = QStringLiteral(
            "CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (VALUE = 'shadowed'); ");
        // Before: ledger.format_amount (which ledger.balance uses) with the old search_path,
        // without pg_temp, is fooled: its cast to text finds the domain first.
        const QString balance = QStringLiteral("SELECT amount FROM ledger.balance('P-CASH')");
        {
            SqlSession owner(m_db.adminDsn());
            QVERIFY(owner
                        .exec(QStringLiteral("ALTER FUNCTION ledger.format_amount(bigint, text) "
                                             "SET search_path = pg_catalog, ledger"))
                        .ok);
            const auto fooled = attacker.exec(shadow + balance);
            QVERIFY2(!fooled.ok && fooled.sqlState == QLatin1String("23514"),
                     qPrintable(fooled.sqlState + QLatin1Char(' ') + fooled.message));
            QVERIFY(owner
                        .exec(QStringLiteral("ALTER FUNCTION ledger.format_amount(bigint, text) "
                                             "SET search_path = pg_catalog, ledger, pg_temp"))
                        .ok);
            const auto fixed = attacker.exec(shadow + balance);
            QVERIFY2(fixed.ok, qPrintable(fixed.message));
            QCOMPARE(fixed.rows.first().first(), QStringLiteral("0.00"));
        }
        // The console's functions, with the domain still there and temporary tables named
        // like ledger tables.
        const auto r = attacker.exec(
            QStringLiteral("CREATE TEMP TABLE accounts (id bigint, code text, currency text); "
                           "CREATE TEMP TABLE sessions (role_name text); "
                           "SELECT amount FROM ledger.balance('P-CASH'); "
                           "SELECT count(*) FROM ledger.account_list; "
                           "SELECT count(*) FROM ledger.reversal_request_status"));
        QVERIFY2(r.ok, qPrintable(r.message));
        QVERIFY(
            m_admin->exec(QStringLiteral("REVOKE TEMP ON DATABASE ledger FROM %1").arg(user)).ok);
    }

    // The reaper drops what a session role owns (a large object here) before the role.
    void theReaperDropsWhatASessionOwns()
    {
        const auto c = issue(QStringLiteral("pam"), QStringLiteral("pam-long-lived-secret"));
        QString lo;
        {
            SqlSession session(dsnAs(c.role, c.password));
            // A login creates no large object in the ledger database any more (storage
            // without a quota, and an object that kept its role from being dropped)...
            for (const char *sql : {"SELECT lo_from_bytea(0, 'kept forever?')",
                                    "SELECT lo_create(0)", "SELECT lo_creat(-1)"})
                QCOMPARE(session.exec(QString::fromLatin1(sql)).sqlState, QStringLiteral("42501"));
            // ...and whatever a session role still came to own (here one the superuser gave
            // it) is dropped with it.
            lo = m_admin->scalar(QStringLiteral("SELECT lo_from_bytea(0, 'kept forever?')"));
            QVERIFY(
                m_admin->exec(QStringLiteral("ALTER LARGE OBJECT %1 OWNER TO %2").arg(lo, c.role))
                    .ok);
            QVERIFY(session.exec(QStringLiteral("SELECT access.end_session()")).ok);
        }
        Connection admin(m_db.adminDsn());
        const auto report = AccessRepository::reap(admin);
        QCOMPARE(report.rolesKept, 0);
        QCOMPARE(
            count(QStringLiteral("SELECT count(*) FROM pg_roles WHERE rolname = $1"), {c.role}),
            QStringLiteral("0"));
        QCOMPARE(count(QStringLiteral(
                           "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = $1::oid"),
                       {lo}),
                 QStringLiteral("0"));
        QCOMPARE(
            count(QStringLiteral(
                      "SELECT reaped_at IS NOT NULL FROM access.sessions WHERE role_name = $1"),
                  {c.role}),
            QStringLiteral("t"));
        // Console logins reach no other database, where they could own what the reaper
        // cannot drop (the private clusters' pg_hba; production: see the README).
        const auto c2 = issue(QStringLiteral("pam"), QStringLiteral("pam-long-lived-secret"));
        const Error elsewhere = errorOf([&] {
            Connection other(
                withCredentials(m_db.adminDsn(QStringLiteral("postgres")), c2.role, c2.password));
        });
        QVERIFY2(elsewhere.kind == Error::Kind::Authentication &&
                     elsewhere.sqlState == QLatin1String("28000"),
                 qPrintable(elsewhere.describe()));
    }

    // Disabling an operator ends the broker connections it holds open.
    void disablingAnOperatorEndsItsBrokerConnections()
    {
        Connection admin(m_db.adminDsn());
        AccessRepository::addOperator(admin, QStringLiteral("dora"),
                                      {QStringLiteral("console_operator")},
                                      QStringLiteral("dora-long-lived-secret"));
        SqlSession broker(
            dsnAs(QStringLiteral("lc_op_dora"), QStringLiteral("dora-long-lived-secret")));
        QVERIFY(broker.exec(QStringLiteral("SELECT 1")).ok);
        QCOMPARE(backendsOf(QStringLiteral("lc_op_dora")), 1);
        AccessRepository::disableOperator(admin, QStringLiteral("dora"));
        QCOMPARE(backendsOf(QStringLiteral("lc_op_dora")), 0);
        QVERIFY(!broker.exec(QStringLiteral("SELECT 1")).ok);
        QCOMPARE(count(QStringLiteral(
                     "SELECT details->>'broker_connections_terminated' FROM audit.events "
                     "WHERE action = 'operator.disabled' AND object_id = 'dora'")),
                 QStringLiteral("1"));
    }

    // PostgreSQL lets any role change its own password. A broker that does is audited and
    // may not sign in until an administrator sets a new secret; a session that does is
    // revoked. Either way the password it chose is useless.
    void aPasswordARoleChoseForItselfIsUseless()
    {
        Connection admin(m_db.adminDsn());
        AccessRepository::addOperator(admin, QStringLiteral("bert"),
                                      {QStringLiteral("console_auditor")},
                                      QStringLiteral("bert-long-lived-secret"));
        {
            SqlSession broker(
                dsnAs(QStringLiteral("lc_op_bert"), QStringLiteral("bert-long-lived-secret")));
            QVERIFY(
                broker.exec(QStringLiteral("ALTER ROLE lc_op_bert PASSWORD 'bert-chose-this-one'"))
                    .ok);
        }
        QCOMPARE(errorOf([&] {
                     issue(QStringLiteral("bert"), QStringLiteral("bert-chose-this-one"));
                 }).sqlState,
                 QStringLiteral("LG040"));
        AccessRepository::reap(admin);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'operator.secret_changed_outside' AND object_id = 'bert'")),
                 QStringLiteral("1"));
        AccessRepository::reap(admin); // once
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'operator.secret_changed_outside' AND object_id = 'bert'")),
                 QStringLiteral("1"));
        AccessRepository::setOperatorSecret(admin, QStringLiteral("bert"),
                                            QStringLiteral("bert-new-secret-from-admin"));
        const auto c = issue(QStringLiteral("bert"), QStringLiteral("bert-new-secret-from-admin"));

        // A session: revoked at its next renewal (or by the reaper), and NOLOGIN.
        {
            Connection s(dsnAs(c.role, c.password));
            SqlSession session(dsnAs(c.role, c.password));
            QVERIFY(
                session
                    .exec(QStringLiteral("ALTER ROLE %1 PASSWORD 'session-chose-this'").arg(c.role))
                    .ok);
            AccessRepository::renewSession(s, 60);
            QCOMPARE(errorOf([&] { AccessRepository::sessionInfo(s); }).sqlState,
                     QStringLiteral("LG042"));
        }
        QCOMPARE(errorOf([&] {
                     Connection again(dsnAs(c.role, QStringLiteral("session-chose-this")));
                 }).kind,
                 Error::Kind::Authentication);
        QCOMPARE(count(QStringLiteral("SELECT details->>'reason' FROM audit.events WHERE action = "
                                      "'session.revoked' AND object_id = $1"),
                       {c.role}),
                 QStringLiteral("password_changed"));
        // The reaper notices it too, without a renewal.
        const auto c2 = issue(QStringLiteral("bert"), QStringLiteral("bert-new-secret-from-admin"));
        {
            SqlSession session(dsnAs(c2.role, c2.password));
            QVERIFY(session.exec(QStringLiteral("ALTER ROLE %1 PASSWORD 'again'").arg(c2.role)).ok);
        }
        QCOMPARE(AccessRepository::reap(admin).sessionsRevoked, 1);
        QCOMPARE(
            count(QStringLiteral("SELECT end_reason FROM access.sessions WHERE role_name = $1"),
                  {c2.role}),
            QStringLiteral("revoked"));
    }

    // `ledgerctl seed` drops indexes and foreign keys and disables triggers: never on a
    // database that was not created as a demo or test database.
    void seedRefusesARealDatabase()
    {
        QVERIFY(m_admin->run(QStringLiteral("CREATE DATABASE production_like")).ok);
        const QString dsn = m_db.adminDsn(QStringLiteral("production_like"));
        {
            Connection c(dsn);
            auto set = MigrationSet::builtIn();
            QVERIFY(set);
            Migrator(c, set.value()).migrate();
        }
        QProcess seed;
        seed.start(QStringLiteral(LEDGERCTL_PATH),
                   {QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("10"),
                    QStringLiteral("--transactions"), QStringLiteral("100"),
                    QStringLiteral("--dsn"), dsn});
        QVERIFY(seed.waitForFinished(60000));
        QCOMPARE(seed.exitCode(), 1);
        const QString err = QString::fromUtf8(seed.readAllStandardError());
        QVERIFY2(err.contains(QLatin1String("demo and test databases")), qPrintable(err));
        SqlSession prod(dsn);
        QCOMPARE(prod.scalar(QStringLiteral("SELECT count(*) FROM ledger.accounts")),
                 QStringLiteral("0"));
        // A session-level SET of the mark does not count.
        QProcess again;
        again.start(QStringLiteral(LEDGERCTL_PATH),
                    {QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("10"),
                     QStringLiteral("--dsn"),
                     dsn + QStringLiteral(" options='-c ledger.deployment=demo'")});
        QVERIFY(again.waitForFinished(60000));
        QCOMPARE(again.exitCode(), 1);
        // The test database itself was created as one.
        QCOMPARE(count(QStringLiteral("SELECT current_setting('ledger.deployment')")),
                 QStringLiteral("test"));
    }

    // Operator and session passwords never reach the server: not in the log (every
    // statement logged), not in pg_stat_statements (nested statements tracked), not in a
    // dump of the database or of the roles. The verifiers do, which shows the logging works.
    void passwordsNeverReachTheServer()
    {
        test::TestCluster logged;
        logged.setExtraConfig(QStringLiteral("shared_preload_libraries = 'pg_stat_statements'\n"
                                             "pg_stat_statements.track = all\n"
                                             "pg_stat_statements.track_utility = on\n"
                                             "log_statement = 'all'\n"
                                             "log_min_error_statement = 'debug5'\n"
                                             "log_parameter_max_length = -1"));
        QVERIFY2(logged.start(), qPrintable(logged.lastError()));
        SqlSession admin(logged.adminDsn());
        QVERIFY(admin.exec(QStringLiteral("CREATE EXTENSION pg_stat_statements")).ok);
        const QString secret1 = QStringLiteral("first-secret-never-seen-7f3a");
        const QString secret2 = QStringLiteral("second-secret-never-seen-91bd");
        Connection c(logged.adminDsn());
        AccessRepository::addOperator(c, QStringLiteral("sara"),
                                      {QStringLiteral("console_auditor")}, secret1);
        AccessRepository::setOperatorSecret(c, QStringLiteral("sara"), secret2);
        AccessRepository::Credentials session;
        {
            Connection broker(
                withCredentials(logged.adminDsn(), QStringLiteral("lc_op_sara"), secret2));
            session = AccessRepository::issueSession(broker, std::nullopt, {});
        }
        {
            Connection s(withCredentials(logged.adminDsn(), session.role, session.password));
            AccessRepository::renewSession(s, 600);
        }
        const QStringList secrets{secret1, secret2, session.password};

        QString everything;
        QDirIterator logs(logged.dataDir() + QStringLiteral("/log"), QDir::Files);
        while (logs.hasNext()) {
            QFile f(logs.next());
            QVERIFY(f.open(QIODevice::ReadOnly));
            everything += QString::fromUtf8(f.readAll());
        }
        QVERIFY2(everything.contains(QLatin1String("SCRAM-SHA-256$4096:")),
                 "the log did not record the statements");
        everything += admin.scalar(
            QStringLiteral("SELECT string_agg(query, E'\\n') FROM pg_stat_statements"));
        QVERIFY(everything.contains(QLatin1String("CREATE ROLE")));
        const auto bin = LocalCluster::findBinDir();
        QVERIFY(bin);
        for (const QStringList &args :
             {QStringList{QStringLiteral("pg_dump")},
              QStringList{QStringLiteral("pg_dumpall"), QStringLiteral("--roles-only")}}) {
            QProcess dump;
            const QString tool = bin.value() + QLatin1Char('/') + args.first();
            QStringList a = args.mid(1);
            a << QStringLiteral("--dbname=") + logged.adminDsn();
            dump.start(tool, a);
            QVERIFY(dump.waitForFinished(120000));
            QVERIFY2(dump.exitCode() == 0,
                     qPrintable(QString::fromUtf8(dump.readAllStandardError())));
            everything += QString::fromUtf8(dump.readAllStandardOutput());
        }
        QVERIFY(everything.contains(QLatin1String("lc_op_sara")));
        for (const QString &s : secrets)
            QVERIFY2(
                !everything.contains(s),
                qPrintable(QStringLiteral("a password reached the server: %1").arg(s.left(6))));
    }
};

QTEST_GUILESS_MAIN(TestPrivileges)
#include "tst_privileges.moc"
