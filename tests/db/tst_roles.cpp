// What each group role of DESIGN.md may and may not do, checked against a real server.

#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QTest>

using namespace ledger;
using test::SqlSession;

class TestRoles : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

    static QStringList consoleGroups()
    {
        return {QStringLiteral("console_operator"), QStringLiteral("console_supervisor"),
                QStringLiteral("console_auditor"), QStringLiteral("console_compliance"),
                QStringLiteral("ledger_writer")};
    }

    static QString openAccountSql()
    {
        return QStringLiteral("SELECT ledger.open_account($1, 'Probe', 'EUR', 'asset')");
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        SqlSession admin(m_db.adminDsn());
        QVERIFY(admin
                    .exec(QStringLiteral(
                        "SELECT ledger.open_account('M-CASH', 'Cash', 'EUR', 'asset'), "
                        "ledger.open_account('M-DEP', 'Deposits', 'EUR', 'liability')"))
                    .ok);
        QVERIFY(
            admin
                .exec(QStringLiteral(
                    "SELECT ledger.post_transaction('{\"idempotency_key\": \"matrix-base\", "
                    "\"effective_at\": \"2026-11-01T00:00:00Z\", "
                    "\"legs\": [{\"account\": \"M-CASH\", \"amount\": \"500\", \"currency\": "
                    "\"EUR\"}, "
                    "{\"account\": \"M-DEP\", \"amount\": \"-500\", \"currency\": \"EUR\"}]}')"))
                .ok);
    }

    void cleanup()
    {
        SqlSession admin(m_db.adminDsn());
        const QStringList violations = test::ledgerInvariantViolations(admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // What each role can and cannot do: one row per (role, action). "ok" means allowed;
    // otherwise the SQLSTATE the server refuses with.
    void roleMatrix_data()
    {
        QTest::addColumn<QString>("role");
        QTest::addColumn<QString>("sql");
        QTest::addColumn<QString>("expected");
        const QString readAccounts = QStringLiteral("SELECT count(*) FROM ledger.account_list");
        const QString readEntries = QStringLiteral("SELECT count(*) FROM ledger.entry_list");
        const QString balance = QStringLiteral("SELECT amount FROM ledger.balance('M-DEP')");
        const QString post = QStringLiteral(
            "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', 'matrix-' || "
            "gen_random_uuid(), "
            "'effective_at', now(), 'legs', '[{\"account\": \"M-CASH\", \"amount\": \"1\", "
            "\"currency\": \"EUR\"}, "
            "{\"account\": \"M-DEP\", \"amount\": \"-1\", \"currency\": \"EUR\"}]'::jsonb))");
        const QString open = QStringLiteral("SELECT ledger.open_account('MX-' || "
                                            "left(md5(random()::text), 8), 'x', 'EUR', 'asset')");
        const QString request =
            QStringLiteral("SELECT ledger.request_reversal(1, 'OTHER', 'matrix') "
                           "WHERE NOT EXISTS (SELECT 1 FROM ledger.reversal_request_status WHERE "
                           "state = 'pending')");
        const QString approve = QStringLiteral("SELECT ledger.approve_reversal(999999, 'digest')");
        const QString readAudit = QStringLiteral("SELECT count(*) FROM audit.event_log");
        const QString readAuditTable = QStringLiteral("SELECT count(*) FROM audit.events");
        const QString writeAudit = QStringLiteral("SELECT audit.record('x.y', 'x', '1')");
        const QString replica = QStringLiteral("SET session_replication_role = replica");
        struct Row
        {
            const char *role;
            QString sql;
            const char *expected;
            const char *what;
        };
        const QList<Row> rows = {
            {"console_operator", readAccounts, "ok", "reads accounts"},
            {"console_operator", readEntries, "ok", "reads entries"},
            {"console_operator", balance, "ok", "asks a balance"},
            {"console_operator", post, "42501", "cannot post"},
            {"console_operator", open, "42501", "cannot open accounts"},
            {"console_operator", request, "ok", "requests a reversal"},
            {"console_operator", approve, "42501", "cannot approve"},
            {"console_operator", readAudit, "42501", "cannot read the audit log"},
            {"console_supervisor", readAccounts, "ok", "reads accounts"},
            {"console_supervisor", post, "42501", "cannot post"},
            {"console_supervisor", approve, "LG034", "may approve (the request does not exist)"},
            {"console_supervisor", readAudit, "42501", "cannot read the audit log"},
            {"console_auditor", readAccounts, "ok", "reads accounts"},
            {"console_auditor", readEntries, "ok", "reads entries"},
            {"console_auditor", readAudit, "ok", "reads the audit log"},
            {"console_auditor", readAuditTable, "42501", "never the audit table itself"},
            {"console_auditor", post, "42501", "cannot post"},
            {"console_auditor", request, "42501", "cannot request reversals"},
            {"console_auditor", approve, "42501", "cannot approve"},
            {"console_compliance", readAccounts, "ok", "reads accounts"},
            {"console_compliance", balance, "ok", "asks a balance"},
            {"console_compliance", post, "42501", "cannot post"},
            {"console_compliance", request, "42501", "cannot request reversals"},
            {"ledger_writer", post, "ok", "posts"},
            {"ledger_writer", open, "ok", "opens accounts"},
            {"ledger_writer", request, "42501", "cannot request reversals"},
            {"ledger_writer", approve, "42501", "cannot approve"},
            {"ledger_writer", readAudit, "42501", "cannot read the audit log"},
            {"console_broker", readAccounts, "42501", "reads nothing of the ledger"},
            {"console_broker", balance, "42501", "asks no balance"},
            {"console_broker", post, "42501", "cannot post"},
        };
        for (const Row &r : rows)
            QTest::addRow("%s %s", r.role, r.what)
                << QString::fromLatin1(r.role) << r.sql << QString::fromLatin1(r.expected);
        for (const char *role : {"console_operator", "console_supervisor", "console_auditor",
                                 "console_compliance", "ledger_writer", "console_broker"}) {
            QTest::addRow("%s cannot append audit events directly", role)
                << QString::fromLatin1(role) << writeAudit << QStringLiteral("42501");
            QTest::addRow("%s cannot switch triggers off", role)
                << QString::fromLatin1(role) << replica << QStringLiteral("42501");
        }
    }

    void roleMatrix()
    {
        QFETCH(QString, role);
        QFETCH(QString, sql);
        QFETCH(QString, expected);
        SqlSession s(m_db.dsnFor(role));
        // A console role's reads are on record first, in a transaction of their own
        // (0032_reads_on_record.sql; tst_readsonrecord shows what happens without).
        if (role.startsWith(QLatin1String("console_")) && role != QLatin1String("console_broker"))
            QVERIFY(s.exec(QStringLiteral("SELECT ledger.record_read('account_list', ''), "
                                          "ledger.record_read('ledger_rows', ''), "
                                          "ledger.record_read('balance', 'M-DEP'), "
                                          "ledger.record_read('reversal_requests', '')"))
                        .ok);
        const auto r = s.exec(sql);
        const QString got = r.ok ? QStringLiteral("ok") : r.sqlState;
        QVERIFY2(
            got == expected,
            qPrintable(
                QStringLiteral("%1: expected %2, got %3 %4").arg(role, expected, got, r.message)));
    }

    void groupRolesCannotLogIn()
    {
        QStringList groups = consoleGroups();
        groups << QStringLiteral("console_broker") << QStringLiteral("ledger_owner");
        for (const QString &group : groups) {
            SqlSession admin(m_db.adminDsn());
            QCOMPARE(admin.scalar(QStringLiteral(
                                      "SELECT rolcanlogin::text FROM pg_roles WHERE rolname = $1"),
                                  {group}),
                     QStringLiteral("false"));
            QCOMPARE(admin.scalar(
                         QStringLiteral("SELECT rolsuper::text FROM pg_roles WHERE rolname = $1"),
                         {group}),
                     QStringLiteral("false"));
        }
    }

    void everyConsoleGroupReadsTheAccountView()
    {
        for (const QString &group : consoleGroups()) {
            SqlSession s(m_db.dsnFor(group));
            QVERIFY(s.exec(QStringLiteral("SELECT ledger.record_read('account_list', '')")).ok);
            const auto r = s.exec(QStringLiteral("SELECT count(*) FROM ledger.account_list"));
            QVERIFY2(r.ok, qPrintable(group + QStringLiteral(": ") + r.message));
        }
    }

    void noConsoleGroupTouchesTablesDirectly()
    {
        QStringList groups = consoleGroups();
        groups << QStringLiteral("console_broker");
        for (const QString &group : groups) {
            SqlSession s(m_db.dsnFor(group));
            const auto read = s.exec(QStringLiteral("SELECT * FROM ledger.accounts"));
            QCOMPARE(read.sqlState, QStringLiteral("42501"));
            const auto insert =
                s.exec(QStringLiteral("INSERT INTO ledger.accounts (code, name, currency, kind) "
                                      "VALUES ('X1', 'x', 'EUR', 'asset')"));
            QCOMPARE(insert.sqlState, QStringLiteral("42501"));
            const auto currencies = s.exec(QStringLiteral("DELETE FROM ledger.currencies"));
            QCOMPARE(currencies.sqlState, QStringLiteral("42501"));
        }
    }

    void onlyWritersOpenAccounts()
    {
        int n = 0;
        for (const QString &group : consoleGroups()) {
            SqlSession s(m_db.dsnFor(group));
            const auto r = s.exec(openAccountSql(), {QStringLiteral("ROLE-PROBE-%1").arg(++n)});
            if (group == QLatin1String("ledger_writer"))
                QVERIFY2(r.ok, qPrintable(r.message));
            else
                QVERIFY2(r.sqlState == QLatin1String("42501"),
                         qPrintable(group + QStringLiteral(": ") + r.message));
        }
        SqlSession broker(m_db.dsnFor(QStringLiteral("console_broker")));
        QCOMPARE(broker.exec(openAccountSql(), {QStringLiteral("ROLE-PROBE-B")}).sqlState,
                 QStringLiteral("42501"));
        QCOMPARE(broker.exec(QStringLiteral("SELECT 1 FROM ledger.account_list")).sqlState,
                 QStringLiteral("42501"));
    }

    void functionsAreNotExecutableByPublic()
    {
        SqlSession admin(m_db.adminDsn());
        // Every function in our schemas: EXECUTE not granted to PUBLIC, SECURITY DEFINER
        // ones with a fixed search_path.
        const auto r = admin.exec(QStringLiteral(R"sql(
            SELECT p.oid::regprocedure::text,
                   has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec,
                   p.prosecdef,
                   coalesce(array_to_string(p.proconfig, ','), '')
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('ledger', 'audit', 'access', 'recon', 'reporting'))sql"));
        QVERIFY2(r.ok, qPrintable(r.message));
        QVERIFY(!r.rows.isEmpty());
        for (const QStringList &row : r.rows) {
            QVERIFY2(row.at(1) == QLatin1String("f"),
                     qPrintable(row.at(0) + QStringLiteral(" is executable by PUBLIC")));
            if (row.at(2) == QLatin1String("t"))
                QVERIFY2(row.at(3).contains(QLatin1String("search_path=")),
                         qPrintable(row.at(0) + QStringLiteral(" has no fixed search_path")));
        }
    }

    void everythingIsOwnedByTheOwnerRole()
    {
        SqlSession admin(m_db.adminDsn());
        const auto r = admin.exec(QStringLiteral(R"sql(
            SELECT c.oid::regclass::text, pg_get_userbyid(c.relowner)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('ledger', 'audit', 'access', 'recon', 'reporting')
              AND pg_get_userbyid(c.relowner) <> 'ledger_owner')sql"));
        QVERIFY2(r.ok, qPrintable(r.message));
        QVERIFY2(r.rows.isEmpty(), qPrintable(r.rows.value(0).join(QLatin1Char(' '))));
    }

    void accountsAreNeverDeletedEvenByASuperuser()
    {
        SqlSession admin(m_db.adminDsn());
        QVERIFY(admin
                    .exec(QStringLiteral(
                        "SELECT ledger.open_account('KEEP-1', 'Kept', 'EUR', 'asset')"))
                    .ok);
        const auto del =
            admin.exec(QStringLiteral("DELETE FROM ledger.accounts WHERE code = 'KEEP-1'"));
        QCOMPARE(del.sqlState, QStringLiteral("LG001"));
        QVERIFY(del.message.contains(QLatin1String("append-only")));
        const auto trunc = admin.exec(QStringLiteral("TRUNCATE ledger.accounts CASCADE"));
        QCOMPARE(trunc.sqlState, QStringLiteral("LG001"));
        // Replica mode does not switch the triggers off (they are ENABLE ALWAYS).
        const auto replica =
            admin.exec(QStringLiteral("SET LOCAL session_replication_role = replica; DELETE FROM "
                                      "ledger.accounts WHERE code = 'KEEP-1'"));
        QCOMPARE(replica.sqlState, QStringLiteral("LG001"));
        QCOMPARE(admin.scalar(
                     QStringLiteral("SELECT count(*) FROM ledger.accounts WHERE code = 'KEEP-1'")),
                 QStringLiteral("1"));
    }

    void consoleRolesCannotSwitchOffTriggers()
    {
        for (const QString &group : consoleGroups()) {
            SqlSession s(m_db.dsnFor(group));
            QCOMPARE(s.exec(QStringLiteral("SET session_replication_role = replica")).sqlState,
                     QStringLiteral("42501"));
        }
    }

    void openAccountValidates_data()
    {
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("currency");
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("sqlState");
        QTest::addColumn<QString>("mustContain");
        QTest::newRow("bad code") << "no spaces allowed"
                                  << "N"
                                  << "EUR"
                                  << "asset"
                                  << "LG002"
                                  << "is not valid";
        QTest::newRow("empty name") << "C-1"
                                    << "   "
                                    << "EUR"
                                    << "asset"
                                    << "LG002"
                                    << "1 to 200";
        QTest::newRow("unknown currency") << "C-2"
                                          << "N"
                                          << "EUX"
                                          << "asset"
                                          << "LG003"
                                          << "Unknown currency";
        QTest::newRow("bad kind") << "C-3"
                                  << "N"
                                  << "EUR"
                                  << "cash"
                                  << "LG002"
                                  << "not one of";
    }

    void openAccountValidates()
    {
        QFETCH(QString, code);
        QFETCH(QString, name);
        QFETCH(QString, currency);
        QFETCH(QString, kind);
        QFETCH(QString, sqlState);
        QFETCH(QString, mustContain);
        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const auto r = writer.exec(QStringLiteral("SELECT ledger.open_account($1, $2, $3, $4)"),
                                   {code, name, currency, kind});
        QCOMPARE(r.sqlState, sqlState);
        QVERIFY2(r.message.contains(mustContain), qPrintable(r.message));
        SqlSession admin(m_db.adminDsn());
        QCOMPARE(
            admin.scalar(QStringLiteral("SELECT count(*) FROM ledger.accounts WHERE code = $1"),
                         {code}),
            QStringLiteral("0"));
    }
};

QTEST_GUILESS_MAIN(TestRoles)
#include "tst_roles.moc"
