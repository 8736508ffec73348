// Where pg_cron is installed in the ledger database, the migrations schedule the reaper,
// the audit sealer and the collection of failed sign-ins, and pg_cron runs them: an
// expired session is reaped, an event left unsealed is sealed, a failed sign-in is
// recorded, with nobody calling anything. Needs the postgresql-15-cron package; pg_cron
// runs jobs once a minute, so this test takes a little over a minute.

#include "LedgerInvariants.h"
#include "ScheduledWork.h"
#include "SqlSession.h"
#include "TestCluster.h"
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
        const test::ScheduledWork work = test::leaveScheduledWork(
            m_db, *m_admin, QStringLiteral("erin"), QStringLiteral("CRON"));
        QVERIFY(!QTest::currentTestFailed());
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 1);
        const QString request = work.request;

        // Nobody calls anything now: within about a minute pg_cron has done all five.
        QTRY_VERIFY_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM cron.job_run_details WHERE status = "
                                 "'succeeded' AND start_time > now() - interval '5 minutes'")) >= 5,
            150000);
        QTRY_COMPARE_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM pg_roles WHERE rolname = '%1'")
                      .arg(work.sessionRole)),
            0, 90000);
        // The jobs' own events, committed moments after a seal (seal_every, 0060), wait for
        // the next minute's audit.seal().
        QTRY_COMPARE_WITH_TIMEOUT(
            count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0,
            150000);
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
