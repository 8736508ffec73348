// Step 13: the scheduled jobs without pg_cron (ledgerctl maintain, migration 0053). On a
// cluster without pg_cron, a member of ledger_maintainer runs `ledgerctl maintain --once`
// and it does what pg_cron does where it is installed (tst_cron): an expired session is
// reaped, an event left unsealed is sealed, a failed sign-in is recorded, the reporting
// buckets are filled, a reversal request nobody decided expires, and the invariants are
// checked and recorded; each job says what it did and its last run is on record. Two
// maintains at once are harmless (a job another one holds is skipped; both exit 0);
// --every runs round after round until SIGTERM; a role that may not run the jobs is told
// which role may, and the maintainer's role may do nothing else. Bad options are usage
// errors.

#include "LedgerInvariants.h"
#include "Ledgerctl.h"
#include "ScheduledWork.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTest>

using namespace ledger;
using test::LedgerctlRun;
using test::runLedgerctl;
using test::SqlSession;

namespace {

// The job's entry in a --json report.
QJsonObject jobIn(const QJsonObject &report, const QString &job)
{
    for (const QJsonValue &v : report.value(QStringLiteral("jobs")).toArray())
        if (v.toObject().value(QStringLiteral("job")).toString() == job)
            return v.toObject();
    return {};
}

} // namespace

class TestMaintain : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QString m_maintainer;

    qint64 count(const QString &sql) { return m_admin->scalar(sql).toLongLong(); }

    LedgerctlRun maintain(const QStringList &args, const QString &dsn = {})
    {
        return runLedgerctl(QStringList{QStringLiteral("maintain")} + args,
                            dsn.isEmpty() ? m_maintainer : dsn);
    }

    void leaveOneUnsealed()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT "
                                          "audit.record('test.maintain', 'test', 'm', '{}'); "
                                          "COMMIT"))
                    .ok);
        QVERIFY(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")) > 0);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QCOMPARE(
            count(QStringLiteral("SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")),
            0);
        m_maintainer = m_db.dsnFor(QStringLiteral("ledger_maintainer"));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void onceDoesEveryJobsWork()
    {
        try {
            doEveryJobsWork();
        } catch (const DbException &e) {
            QFAIL(qPrintable(e.error().describe()));
        }
    }

    // A job that another maintain holds (its advisory lock) is skipped, the others run; two
    // maintains started together both succeed.
    void twoAtOnceAreHarmless()
    {
        leaveOneUnsealed();
        {
            Connection other(m_db.adminDsn());
            test::execOn(other, QStringLiteral("SELECT pg_advisory_lock(hashtextextended("
                                               "'ledger.maintain:seal_audit', 0))"));
            const LedgerctlRun r = maintain({QStringLiteral("--json")});
            QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
            const QJsonObject seal = jobIn(r.json(), QStringLiteral("seal_audit"));
            QCOMPARE(seal.value(QStringLiteral("skipped")).toString(),
                     QStringLiteral("another maintain is running this job now"));
            QVERIFY(jobIn(r.json(), QStringLiteral("reap_sessions"))
                        .contains(QStringLiteral("result")));
            QVERIFY(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")) >
                    0);
        } // the other session ends: its lock goes with it
        const LedgerctlRun r = maintain(
            {QStringLiteral("--json"), QStringLiteral("--job"), QStringLiteral("seal_audit")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(jobIn(r.json(), QStringLiteral("seal_audit"))
                    .value(QStringLiteral("result"))
                    .toObject()
                    .value(QStringLiteral("sealed"))
                    .toInt() >= 1);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);

        // Two processes at once, every job each.
        leaveOneUnsealed();
        QProcess a;
        QProcess b;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_DSN"), m_maintainer);
        const QStringList args{QStringLiteral("maintain"), QStringLiteral("--json")};
        for (QProcess *p : {&a, &b}) {
            p->setProcessEnvironment(env);
            p->start(QStringLiteral(LEDGERCTL_PATH), args);
        }
        for (QProcess *p : {&a, &b}) {
            QVERIFY(p->waitForFinished(120000));
            const QByteArray err = p->readAllStandardError();
            QVERIFY2(p->exitStatus() == QProcess::NormalExit && p->exitCode() == 0,
                     err.constData());
            const QJsonObject report = QJsonDocument::fromJson(p->readAllStandardOutput()).object();
            const QJsonArray jobs = report.value(QStringLiteral("jobs")).toArray();
            QCOMPARE(jobs.size(), 7);
            for (const QJsonValue &job : jobs)
                QVERIFY2(!job.toObject().contains(QStringLiteral("error")),
                         QJsonDocument(job.toObject()).toJson().constData());
        }
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);
    }

    // --every: round after round (an event left unsealed between two rounds is sealed by the
    // next), until SIGTERM; then a summary and exit 0.
    void everyRunsRoundsUntilTerm()
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_DSN"), m_maintainer);
        p.setProcessEnvironment(env);
        QByteArray err;
        int sealLines = 0;
        bool unsealedLeft = false;
        bool termed = false;
        connect(&p, &QProcess::readyReadStandardError, this, [&] {
            err += p.readAllStandardError();
            sealLines = int(err.count("seal_audit: sealed"));
            if (sealLines >= 1 && !unsealedLeft) {
                unsealedLeft = true;
                leaveOneUnsealed();
            }
            if (err.contains("seal_audit: sealed 1") && !termed) {
                termed = true;
                p.terminate();
            }
        });
        QSignalSpy finished(&p, &QProcess::finished);
        p.start(QStringLiteral(LEDGERCTL_PATH),
                {QStringLiteral("maintain"), QStringLiteral("--every"), QStringLiteral("1"),
                 QStringLiteral("--job"), QStringLiteral("seal_audit"), QStringLiteral("--json")});
        QVERIFY(test::waitForCount(finished, 1, 60000));
        QVERIFY2(termed, err.constData());
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QVERIFY2(p.exitCode() == 0, err.constData());
        const QJsonObject report = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
        QVERIFY(report.value(QStringLiteral("rounds")).toInt() >= 2);
        QCOMPARE(report.value(QStringLiteral("failures")).toInt(), 0);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);
    }

    void otherRolesMayNotAndTheMaintainerMayDoNothingElse()
    {
        const QString operatorDsn = m_db.dsnFor(QStringLiteral("console_operator"));
        for (const QStringList &args :
             {QStringList{}, QStringList{QStringLiteral("--every"), QStringLiteral("5")}}) {
            const LedgerctlRun r = maintain(args, operatorDsn);
            QVERIFY2(r.exitCode == 1, qPrintable(r.describe()));
            QVERIFY2(r.err.contains(QLatin1String("connect as a member of ledger_maintainer")),
                     qPrintable(r.describe()));
        }
        for (const char *group : {"console_operator", "console_auditor", "ledger_writer"}) {
            SqlSession s(m_db.dsnFor(QString::fromLatin1(group)));
            const auto r =
                s.exec(QStringLiteral("SELECT ledger.run_maintenance_job('seal_audit')"));
            QVERIFY2(!r.ok && r.sqlState == QLatin1String("42501"), group);
        }
        SqlSession maintainer(m_maintainer);
        for (const QString &sql :
             {QStringLiteral("SELECT count(*) FROM ledger.entries"),
              QStringLiteral("SELECT count(*) FROM audit.events"),
              QStringLiteral("SELECT ledger.open_account('M-X', 'X', 'EUR', 'asset')"),
              QStringLiteral("SELECT audit.seal()"), QStringLiteral("SELECT access.reap()"),
              QStringLiteral("SELECT pg_advisory_lock(1)")}) {
            const auto r = maintainer.exec(sql);
            QVERIFY2(!r.ok && r.sqlState == QLatin1String("42501"), qPrintable(sql));
        }
        // Not from an older snapshot (the sealer could not see what to seal).
        const auto rr = maintainer.exec(
            QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; "
                           "SELECT ledger.run_maintenance_job('seal_audit'); COMMIT"));
        QVERIFY(!rr.ok);
        QCOMPARE(rr.sqlState, QStringLiteral("LG099"));
        const auto unknown =
            maintainer.exec(QStringLiteral("SELECT ledger.run_maintenance_job('drop_everything')"));
        QCOMPARE(unknown.sqlState, QStringLiteral("LG099"));
        // The invariant checks read the whole ledger: not back to back from a maintainer.
        const auto often = maintainer.exec(QStringLiteral(
            "SELECT ledger.run_maintenance_job('check_invariants', interval '1 minute')"));
        QCOMPARE(often.sqlState, QStringLiteral("LG099"));
        // Through ledgerctl: that job fails and says why, the others still run.
        const LedgerctlRun r = maintain(
            {QStringLiteral("--json"), QStringLiteral("--check-every"), QStringLiteral("60")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(jobIn(r.json(), QStringLiteral("check_invariants"))
                     .value(QStringLiteral("error"))
                     .toString()
                     .contains(QLatin1String("at most once an hour")),
                 qPrintable(r.describe()));
        QVERIFY(jobIn(r.json(), QStringLiteral("seal_audit")).contains(QStringLiteral("result")));
    }

    void badOptionsAreUsageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("unknown job")
            << QStringList{QStringLiteral("--job"), QStringLiteral("nope")};
        QTest::newRow("once and every") << QStringList{
            QStringLiteral("--once"), QStringLiteral("--every"), QStringLiteral("5")};
        QTest::newRow("every zero") << QStringList{QStringLiteral("--every"), QStringLiteral("0")};
        QTest::newRow("negative check")
            << QStringList{QStringLiteral("--check-every"), QStringLiteral("-1")};
        QTest::newRow("timeout text")
            << QStringList{QStringLiteral("--job-timeout"), QStringLiteral("soon")};
    }

    void badOptionsAreUsageErrors()
    {
        QFETCH(QStringList, args);
        const LedgerctlRun r = maintain(args);
        QVERIFY2(r.exitCode == 2, qPrintable(r.describe()));
    }

    void statusSaysWhenEachJobLastRan()
    {
        const LedgerctlRun r = runLedgerctl(
            {QStringLiteral("maintain"), QStringLiteral("status"), QStringLiteral("--json")},
            m_db.dsnFor(QStringLiteral("console_auditor")));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonArray jobs = r.json().value(QStringLiteral("jobs")).toArray();
        QCOMPARE(jobs.size(), 7);
        for (const QJsonValue &v : jobs) {
            const QJsonObject job = v.toObject();
            QVERIFY2(job.value(QStringLiteral("runs")).toInt() >= 1,
                     QJsonDocument(job).toJson().constData());
            QCOMPARE(job.value(QStringLiteral("ran_by")).toString(),
                     QStringLiteral("test_ledger_maintainer"));
        }
    }

private:
    void doEveryJobsWork()
    {
        const test::ScheduledWork work =
            test::leaveScheduledWork(m_db, *m_admin, QStringLiteral("mira"), QStringLiteral("M"));
        QVERIFY(!QTest::currentTestFailed());
        const QString request = work.request;
        test::waitUntilPast(work.sessionExpiresAt);

        const LedgerctlRun r = maintain({QStringLiteral("--once"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject report = r.json();
        QCOMPARE(report.value(QStringLiteral("jobs")).toArray().size(), 7);
        const auto result = [&](const QString &job) {
            return jobIn(report, job).value(QStringLiteral("result")).toObject();
        };
        QVERIFY(result(QStringLiteral("reap_sessions"))
                    .value(QStringLiteral("sessions_reaped"))
                    .toInt() >= 1);
        // (The jobs before it write audit events, and their commits seal what waits: the
        // sealer alone is shown sealing in the tests below.)
        QVERIFY(result(QStringLiteral("seal_audit")).contains(QStringLiteral("sealed")));
        QVERIFY(result(QStringLiteral("collect_signin_failures"))
                    .value(QStringLiteral("recorded"))
                    .toInt() >= 1);
        QCOMPARE(
            result(QStringLiteral("expire_reversals")).value(QStringLiteral("expired")).toInt(), 1);
        QVERIFY(
            result(QStringLiteral("refresh_reporting")).value(QStringLiteral("accounts")).toInt() >=
            2);
        QVERIFY(result(QStringLiteral("record_restatements")).contains(QStringLiteral("recorded")));
        QCOMPARE(result(QStringLiteral("check_invariants")).value(QStringLiteral("ok")).toBool(),
                 true);

        // What pg_cron would have done.
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM pg_roles WHERE rolname = '%1'")
                           .arg(work.sessionRole)),
                 0);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")), 0);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'session.signin_failed' AND object_id = 'mira'")),
                 1);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM reporting.balance_buckets k JOIN "
                                      "ledger.accounts a ON a.id = k.account_id WHERE a.code IN "
                                      "('M-A', 'M-B')")),
                 4000);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'reversal.expired' AND object_id = '%1'")
                           .arg(request)),
                 1);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.invariant_checks")), 1);
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT string_agg(job || ':' || ran_by, ' ' ORDER BY job) FROM "
                     "ledger.maintenance_runs")),
                 QStringLiteral("check_invariants:test_ledger_maintainer "
                                "collect_signin_failures:test_ledger_maintainer "
                                "expire_reversals:test_ledger_maintainer "
                                "reap_sessions:test_ledger_maintainer "
                                "record_restatements:test_ledger_maintainer "
                                "refresh_reporting:test_ledger_maintainer "
                                "seal_audit:test_ledger_maintainer"));

        // Again at once: nothing left to do, and the invariants checked less than a day ago.
        const LedgerctlRun again = maintain({QStringLiteral("--json")});
        QVERIFY2(again.exitCode == 0, qPrintable(again.describe()));
        QVERIFY(jobIn(again.json(), QStringLiteral("check_invariants"))
                    .value(QStringLiteral("skipped"))
                    .toString()
                    .startsWith(QLatin1String("the invariants were checked at")));
        QCOMPARE(jobIn(again.json(), QStringLiteral("seal_audit"))
                     .value(QStringLiteral("result"))
                     .toObject()
                     .value(QStringLiteral("sealed"))
                     .toInt(),
                 0);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.invariant_checks")), 1);
    }
};

QTEST_GUILESS_MAIN(TestMaintain)
#include "tst_maintain.moc"
