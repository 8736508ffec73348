// Where pg_cron is installed in the ledger database, the migrations schedule the reaper,
// the audit sealer and the collection of failed sign-ins, and pg_cron runs them: an
// expired session is reaped, an event left unsealed is sealed, a failed sign-in is
// recorded, with nobody calling anything. Needs the postgresql-15-cron package; pg_cron
// runs jobs once a minute, so this test takes a little over a minute.

#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"

#include <QTest>

using namespace ledger;
using test::SqlSession;

class TestCron : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;

    qint64 count(const QString &sql) { return m_admin->scalar(sql).toLongLong(); }

private Q_SLOTS:
    void initTestCase()
    {
        // Jobs run in background workers: the cluster has no TCP listener to connect to.
        m_db.setExtraConfig(QStringLiteral("shared_preload_libraries = 'pg_cron'\n"
                                           "cron.database_name = 'ledger'\n"
                                           "cron.use_background_workers = on\n"
                                           "max_worker_processes = 16\n"));
        QVERIFY2(m_db.start(false), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        const auto created = m_admin->exec(QStringLiteral("CREATE EXTENSION pg_cron"));
        QVERIFY2(created.ok, qPrintable(created.message));
        QVERIFY2(m_db.migrate(), qPrintable(m_db.lastError()));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void theMigrationsScheduleTheJobs()
    {
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT string_agg(jobname || ' ' || schedule || ' ' || command, '; ' ORDER "
                     "BY jobname) FROM cron.job")),
                 QStringLiteral("ledger-expire-reversals * * * * * SELECT "
                                "ledger.expire_reversals(); "
                                "ledger-reap-sessions * * * * * SELECT access.reap(); "
                                "ledger-record-restatements * * * * * SELECT "
                                "ledger.record_restatements(); "
                                "ledger-reporting-buckets * * * * * SELECT "
                                "reporting.refresh_stale(); "
                                "ledger-seal-audit * * * * * SELECT audit.seal(); "
                                "ledger-signin-failures * * * * * SELECT "
                                "access.collect_signin_failures()"));
    }

    void pgCronDoesTheWorkUnattended()
    {
        try {
            doTheWork();
        } catch (const DbException &e) {
            QFAIL(qPrintable(e.error().describe()));
        }
    }

private:
    void doTheWork()
    {
        Connection admin(m_db.adminDsn());
        AccessRepository::addOperator(admin, QStringLiteral("erin"),
                                      {QStringLiteral("console_auditor")},
                                      QStringLiteral("erin-long-lived-secret"));
        auto dsnAs = [this](const QString &user, const QString &password) {
            return withCredentials(m_db.adminDsn(), user, password);
        };
        // A session that expires in two seconds, still connected.
        AccessRepository::Credentials c;
        {
            Connection broker(
                dsnAs(QStringLiteral("lc_op_erin"), QStringLiteral("erin-long-lived-secret")));
            c = AccessRepository::issueSession(broker, 2, {});
        }
        Connection session(dsnAs(c.role, c.password));
        // An event committed unsealed (REPEATABLE READ leaves it to the next sealer).
        QVERIFY(m_admin
                    ->exec(QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT "
                                          "audit.record('test.cron', 'test', 'c', '{}'); COMMIT"))
                    .ok);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 1);
        // A failed sign-in.
        QVERIFY_THROWS_EXCEPTION(
            DbException, Connection(dsnAs(QStringLiteral("lc_op_erin"), QStringLiteral("wrong"))));

        // An account with enough entries for the reporting store (2,000 postings).
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CRON-A', 'Cron A', 'EUR', 'asset'); "
                        "SELECT ledger.open_account('CRON-B', 'Cron B', 'EUR', 'liability'); "
                        "DO $$ BEGIN FOR i IN 1..2000 LOOP PERFORM ledger.post_transaction("
                        "jsonb_build_object('idempotency_key', 'cron-' || i, 'effective_at', "
                        "now() - i * interval '1 hour', 'legs', jsonb_build_array("
                        "jsonb_build_object('account', 'CRON-A', 'amount', '1.00', 'currency', "
                        "'EUR'), jsonb_build_object('account', 'CRON-B', 'amount', '-1.00', "
                        "'currency', 'EUR')))); END LOOP; END $$"))
                    .ok);

        // A reversal request that expires at once (its lifetime shortened for the test).
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SET LOCAL ROLE ledger_owner; "
                        "UPDATE access.settings SET reversal_request_ttl = '1 millisecond'"))
                    .ok);
        const QString request = m_admin->scalar(QStringLiteral(
            "SELECT ledger.request_reversal((SELECT min(id) FROM ledger.transactions WHERE "
            "idempotency_key = 'cron-1'), 'DUPLICATE', 'cron test', NULL, 'cron-expiry')"));
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings "
                                          "SET reversal_request_ttl = '7 days'"))
                    .ok);

        // Nobody calls anything now: within about a minute pg_cron has done all five.
        QTRY_VERIFY_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM cron.job_run_details WHERE status = "
                                 "'succeeded' AND start_time > now() - interval '5 minutes'")) >= 5,
            150000);
        QTRY_COMPARE_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM pg_roles WHERE rolname = '%1'").arg(c.role)),
            0, 90000);
        QTRY_COMPARE_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0, 90000);
        QTRY_COMPARE_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                 "'session.signin_failed' AND object_id = 'erin'")),
            1, 90000);
        QTRY_COMPARE_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM reporting.balance_buckets k JOIN "
                                 "ledger.accounts a ON a.id = k.account_id WHERE a.code IN "
                                 "('CRON-A', 'CRON-B')")),
            4000, 90000);
        QTRY_COMPARE_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                 "'reversal.expired' AND object_id = '%1'")
                      .arg(request)),
            1, 90000);
        const auto failedRuns =
            m_admin->exec(QStringLiteral("SELECT command, return_message FROM cron.job_run_details "
                                         "WHERE status = 'failed'")); // not those still running
        QVERIFY2(failedRuns.ok && failedRuns.rows.isEmpty(),
                 qPrintable(failedRuns.message +
                            (failedRuns.rows.isEmpty()
                                 ? QString()
                                 : failedRuns.rows.first().join(QLatin1String(": ")))));
    }
};

QTEST_GUILESS_MAIN(TestCron)
#include "tst_cron.moc"
