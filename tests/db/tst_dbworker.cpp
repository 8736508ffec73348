// DbWorker: jobs run off the calling thread, in order; errors come back as Results and are
// announced (jobFailed); a lost connection is reported and the next job reconnects; without
// credentials nothing connects; using a connection on the GUI thread fails loudly.

#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccountRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"

#include <QGuiApplication>
#include <QProcess>
#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include <stdexcept>

using namespace ledger;

class TestDbWorker : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

    template <class T> static T wait(QFuture<T> future)
    {
        // Tests may block: the product's GUI never does (it continues with .then()).
        future.waitForFinished();
        return future.result();
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY2(m_db.start(), qPrintable(m_db.lastError())); }

    void runsJobsOnItsOwnThreadInOrder()
    {
        DbWorker worker(m_db.adminDsn(), QStringLiteral("tst-dbworker"));
        QThread *caller = QThread::currentThread();
        QList<int> order;
        QList<QFuture<Result<QThread *>>> futures;
        for (int i = 0; i < 5; ++i) {
            futures << worker.submit([&order, i](Connection &c) {
                order << i; // only the worker thread appends: jobs never overlap
                (void)AccountRepository::count(c);
                return QThread::currentThread();
            });
        }
        for (auto &f : futures) {
            const auto r = wait(f);
            QVERIFY(r.ok());
            QVERIFY(r.value() != caller);
        }
        QCOMPARE(order, (QList<int>{0, 1, 2, 3, 4}));
    }

    void errorsBecomeResults()
    {
        DbWorker worker(m_db.adminDsn());
        const auto dbError = wait(worker.submit([](Connection &) -> int {
            throw DbException(Error::make(Error::Kind::Input, QStringLiteral("bad amount")));
        }));
        QVERIFY(!dbError.ok());
        QCOMPARE(dbError.error().kind, Error::Kind::Input);
        QCOMPARE(dbError.error().message, QStringLiteral("bad amount"));

        const auto other =
            wait(worker.submit([](Connection &) -> int { throw std::runtime_error("boom"); }));
        QVERIFY(!other.ok());
        QCOMPARE(other.error().kind, Error::Kind::Internal);
        QVERIFY(other.error().message.contains(QLatin1String("boom")));

        // The worker is still usable afterwards.
        QVERIFY(
            wait(worker.submit([](Connection &c) { return AccountRepository::count(c); })).ok());
    }

    void unreachableServerIsAClearError()
    {
        DbWorker worker(
            QStringLiteral("host=/nonexistent/ledger-socket dbname=ledger user=nobody"));
        QSignalSpy lost(&worker, &DbWorker::connectionLost);
        const auto r =
            wait(worker.submit([](Connection &c) { return AccountRepository::count(c); }));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, Error::Kind::Connection);
        QVERIFY(r.error().retryable);
        QVERIFY2(r.error().message.contains(QLatin1String("Could not reach the database server")),
                 qPrintable(r.error().message));
        QVERIFY(
            test::waitUntil(&worker, &DbWorker::connectionLost, [&] { return lost.count() >= 1; }));
        QCOMPARE(lost.count(), 1);
    }

    void lostConnectionIsReportedThenReopened()
    {
        const QString app = QStringLiteral("tst-dbworker-lost");
        DbWorker worker(m_db.adminDsn(), app);
        QSignalSpy connected(&worker, &DbWorker::connected);
        QSignalSpy lost(&worker, &DbWorker::connectionLost);
        QVERIFY(
            wait(worker.submit([](Connection &c) { return AccountRepository::count(c); })).ok());
        QVERIFY(
            test::waitUntil(&worker, &DbWorker::connected, [&] { return connected.count() >= 1; }));
        QCOMPARE(connected.count(), 1);

        // The server ends the worker's session (as a DBA, a restart or a reaper would).
        test::SqlSession admin(m_db.adminDsn());
        QCOMPARE(admin.scalar(
                     QStringLiteral("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE application_name = $1"),
                     {app}),
                 QStringLiteral("1"));

        const auto failed =
            wait(worker.submit([](Connection &c) { return AccountRepository::count(c); }));
        QVERIFY(!failed.ok());
        QCOMPARE(failed.error().kind, Error::Kind::Connection);
        QVERIFY(failed.error().retryable);
        QVERIFY(
            test::waitUntil(&worker, &DbWorker::connectionLost, [&] { return lost.count() >= 1; }));
        QCOMPARE(lost.count(), 1);

        // Retry: a new connection, the job succeeds.
        const auto retried =
            wait(worker.submit([](Connection &c) { return AccountRepository::count(c); }));
        QVERIFY2(retried.ok(), retried.ok() ? "" : qPrintable(retried.error().message));
        QVERIFY(
            test::waitUntil(&worker, &DbWorker::connected, [&] { return connected.count() >= 2; }));
        QCOMPARE(connected.count(), 2);
    }

    // No credentials: every job fails at once with NotSignedIn, nothing is connected (libpq
    // is never asked, so it cannot fall back to PG* variables or ~/.pgpass).
    void withoutCredentialsNothingConnects()
    {
        const QString app = QStringLiteral("tst-dbworker-none");
        DbWorker worker(ConnectionSettings::none(QStringLiteral("The session is locked.")), app);
        QSignalSpy connected(&worker, &DbWorker::connected);
        QSignalSpy lost(&worker, &DbWorker::connectionLost);
        QSignalSpy failed(&worker, &DbWorker::jobFailed);
        const auto r =
            wait(worker.submit([](Connection &c) { return AccountRepository::count(c); }));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, Error::Kind::NotSignedIn);
        QCOMPARE(r.error().message, QStringLiteral("The session is locked."));
        QVERIFY(
            test::waitUntil(&worker, &DbWorker::jobFailed, [&] { return failed.count() >= 1; }));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.first().first().value<Error>().kind, Error::Kind::NotSignedIn);
        QCOMPARE(connected.count(), 0);
        QCOMPARE(lost.count(), 0);

        // The same for a Connection, and for a worker given an empty string.
        try {
            Connection c{ConnectionSettings()};
            QFAIL("a connection without credentials was opened");
        } catch (const DbException &e) {
            QCOMPARE(e.error().kind, Error::Kind::NotSignedIn);
        }
        DbWorker empty(QString(), app);
        QCOMPARE(wait(empty.submit([](Connection &c) { return c.user(); })).error().kind,
                 Error::Kind::NotSignedIn);
    }

    // Every failed job is announced with the generation of the settings it ran under; taking
    // the credentials away closes the connection.
    void failuresAreAnnouncedAndSettingsSwitch()
    {
        const QString app = QStringLiteral("tst-dbworker-switch");
        DbWorker worker(ConnectionSettings::direct(m_db.adminDsn()), app);
        QSignalSpy failed(&worker, &DbWorker::jobFailed);
        QVERIFY(wait(worker.submit([](Connection &c) { return c.user(); })).ok());
        QVERIFY(!wait(worker.submit([](Connection &) -> int {
                     throw DbException(Error::make(Error::Kind::Input, QStringLiteral("no")));
                 })).ok());
        QVERIFY(
            test::waitUntil(&worker, &DbWorker::jobFailed, [&] { return failed.count() >= 1; }));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.first().at(1).toULongLong(), quint64(0));

        test::SqlSession admin(m_db.adminDsn());
        const QString backends =
            QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1");
        QCOMPARE(admin.scalar(backends, {app}), QStringLiteral("1"));
        // The worker's session holds a session-level advisory lock: it is free once that
        // session has ended, and not before.
        QVERIFY(wait(worker.submit([](Connection &c) {
                    test::execOn(c, QStringLiteral("SELECT pg_advisory_lock(770177)"));
                    return true;
                })).ok());
        QCOMPARE(admin.scalar(QStringLiteral("SELECT pg_try_advisory_lock(770177)")),
                 QStringLiteral("f"));
        const quint64 locked =
            worker.setSettings(ConnectionSettings::none(QStringLiteral("Locked.")));
        QVERIFY(locked > 0);
        const auto refused = wait(worker.submit([](Connection &c) { return c.user(); }));
        QCOMPARE(refused.error().kind, Error::Kind::NotSignedIn);
        QVERIFY(
            test::waitUntil(&worker, &DbWorker::jobFailed, [&] { return failed.count() >= 2; }));
        QCOMPARE(failed.count(), 2);
        QCOMPARE(failed.last().at(1).toULongLong(), locked);
        // The connection closes: the lock comes free (waited for, the wait bounded).
        const test::SqlOutcome freed =
            admin.run(QStringLiteral("SET lock_timeout = '30s'; SELECT pg_advisory_lock(770177), "
                                     "pg_advisory_unlock(770177)"));
        QVERIFY2(freed.ok, qPrintable(freed.message));

        const quint64 again = worker.setSettings(ConnectionSettings::direct(m_db.adminDsn()));
        QVERIFY(again > locked);
        QVERIFY(wait(worker.submit([](Connection &c) { return c.user(); })).ok());
    }

    void destroyingTheWorkerSettlesEveryFuture()
    {
        QList<QFuture<Result<qint64>>> futures;
        {
            DbWorker worker(m_db.adminDsn());
            for (int i = 0; i < 20; ++i)
                futures << worker.submit([](Connection &c) { return AccountRepository::count(c); });
        }
        for (auto &f : futures) {
            f.waitForFinished(); // must not hang
            QVERIFY(f.isFinished());
        }
    }

    // A job queued before the worker is destroyed still runs (a sign-out at quit).
    void queuedJobsRunBeforeTheWorkerGoes()
    {
        {
            DbWorker worker(m_db.adminDsn());
            worker.submit([](Connection &c) {
                return AccountRepository::openMany(
                    c,
                    {NewAccount{QStringLiteral("DRAIN-1"), QStringLiteral("Queued at the end"),
                                QStringLiteral("EUR"), AccountKind::Asset, true}},
                    false);
            });
        } // no wait for the future
        test::SqlSession admin(m_db.adminDsn());
        QCOMPARE(admin.scalar(
                     QStringLiteral("SELECT count(*) FROM ledger.accounts WHERE code = 'DRAIN-1'")),
                 QStringLiteral("1"));
    }

    // libpq would print a server's notice raw to stderr; a notice can quote what a client
    // chose. Through a Connection it comes out as one escaped line.
    void serverNoticesReachTheTerminalEscaped()
    {
        QProcess child;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_NOTICE_CHILD_DSN"), m_db.adminDsn());
        child.setProcessEnvironment(env);
        child.start(QCoreApplication::applicationFilePath(), {});
        QVERIFY(child.waitForFinished(60000));
        const QByteArray err = child.readAllStandardError();
        QVERIFY2(err.contains("CHILD-DONE"), err.constData());
        QVERIFY2(!err.contains('\x1b'), err.constData());
        const QList<QByteArray> lines = err.split('\n');
        const auto warning = std::find_if(
            lines.begin(), lines.end(), [](const QByteArray &l) { return l.contains("note: ok"); });
        QVERIFY2(warning != lines.end(), err.constData());
        QVERIFY2(warning->contains("\\n2026-12-01 reversal.approved by alice\\x1b[31m"),
                 warning->constData());
        for (const QByteArray &l : lines)
            QVERIFY2(!l.startsWith("2026-12-01"), err.constData()); // no forged line
    }

    void databaseOnTheGuiThreadFailsLoudly()
    {
        // A child process with a QGuiApplication opens a connection on its GUI thread.
        QProcess child;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_GUARD_CHILD_DSN"), m_db.adminDsn());
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        child.setProcessEnvironment(env);
        child.setProcessChannelMode(QProcess::MergedChannels);
        child.start(QCoreApplication::applicationFilePath(), {});
        QVERIFY(child.waitForFinished(60000));
        const QString output = QString::fromLocal8Bit(child.readAll());
#ifdef NDEBUG
        QVERIFY2(output.contains(QLatin1String("database used on the GUI thread")),
                 qPrintable(output));
#else
        QVERIFY2(child.exitStatus() == QProcess::CrashExit || child.exitCode() != 0,
                 qPrintable(output));
        QVERIFY2(output.contains(QLatin1String("database used on the GUI thread")),
                 qPrintable(output));
        QVERIFY2(!output.contains(QLatin1String("GUARD-NOT-TRIGGERED")), qPrintable(output));
#endif
    }
};

int main(int argc, char *argv[])
{
    // The child of serverNoticesReachTheTerminalEscaped: a warning quoting hostile text.
    const QString noticeDsn = qEnvironmentVariable("LEDGER_NOTICE_CHILD_DSN");
    if (!noticeDsn.isEmpty()) {
        QCoreApplication app(argc, argv);
        Connection c(noticeDsn);
        test::execOn(c, QStringLiteral("DO $$ BEGIN RAISE WARNING 'note: %', "
                                       "E'ok\\n2026-12-01 reversal.approved by alice\\x1b[31m'; "
                                       "END $$"));
        std::fprintf(stderr, "CHILD-DONE\n");
        return 0;
    }
    const QString childDsn = qEnvironmentVariable("LEDGER_GUARD_CHILD_DSN");
    if (!childDsn.isEmpty()) {
        QGuiApplication app(argc, argv);
        try {
            Connection c(childDsn); // on the GUI thread: must not get past this
            std::fprintf(stderr, "GUARD-NOT-TRIGGERED\n");
        } catch (const DbException &e) {
            std::fprintf(stderr, "connection failed: %s\n", e.what());
        }
        return 0;
    }
    QCoreApplication app(argc, argv);
    TestDbWorker test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_dbworker.moc"
