// A locked or signed-out console has no connection at all, and the console's own connections
// take nothing from the environment. The attack: a DBA's machine whose PG* variables,
// ~/.pgpass (and PGPASSFILE) and service file point at a superuser of a live cluster. libpq's
// defaults connect as that superuser (checked first, so the test can fail); the console
// (real ConsoleSession and DbWorker, offscreen) signs in, is locked by a revocation, by
// expiry, signs out, and every job after that fails with NotSignedIn while the cluster's
// log (log_connections) shows that nothing even knocked.

#include "ServerLogWatcher.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"
#include "session/ConsoleSession.h"
#include "session/ScramVerifier.h"

#include <QFile>
#include <QGuiApplication>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <functional>
#include <optional>
#include <thread>

using namespace ledger;

namespace {

// Sets environment variables for a scope and restores them after. Only while no other thread
// reads the environment: built before, and destroyed after, the workers of a test.
class EnvironmentScope
{
public:
    void set(const char *name, const QByteArray &value)
    {
        if (!m_saved.contains(name))
            m_saved.insert(name, qEnvironmentVariableIsSet(name)
                                     ? std::optional<QByteArray>(qgetenv(name))
                                     : std::nullopt);
        qputenv(name, value);
    }
    ~EnvironmentScope()
    {
        for (auto it = m_saved.cbegin(); it != m_saved.cend(); ++it) {
            if (it.value())
                qputenv(it.key().constData(), *it.value());
            else
                qunsetenv(it.key().constData());
        }
    }

private:
    QHash<QByteArray, std::optional<QByteArray>> m_saved;
};

// Database work the test does itself, off the GUI thread (where Connection refuses to run).
template <class F> auto offGuiThread(F f) -> decltype(f())
{
    std::optional<decltype(f())> result;
    std::thread t([&] { result.emplace(f()); });
    t.join();
    return std::move(*result);
}

// What opening a Connection gives: its user, or the error.
Result<QString> tryConnect(const ConnectionSettings &settings)
{
    return offGuiThread([&]() -> Result<QString> {
        try {
            Connection c(settings, QStringLiteral("tst_sessionisolation-probe"));
            return c.user();
        } catch (const DbException &e) {
            return e.error();
        }
    });
}

template <class T> Result<T> await(QFuture<Result<T>> future)
{
    // Tests may block: the product's GUI never does.
    future.waitForFinished();
    return future.result();
}

} // namespace

class TestSessionIsolation : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin; // opened before the environment is poisoned
    std::unique_ptr<test::ServerLogWatcher> m_log;
    QTemporaryDir m_home;
    const QString m_secret = QStringLiteral("iris-long-lived-secret-42");
    const QString m_superSecret = QStringLiteral("dba-super-secret-99");
    int m_marks = 0;

    ServerProfile profile() const
    {
        ServerProfile p;
        p.host = m_db.dataDir();
        p.port = 5432;
        p.database = QStringLiteral("ledger");
        return p;
    }

    // A line in the server log; what connected between two marks is read back from there.
    QString mark()
    {
        const QString name = QStringLiteral("tst-isolation-mark-%1").arg(++m_marks);
        const auto r = m_admin->exec(QStringLiteral("DO $$BEGIN RAISE LOG '%1'; END$$").arg(name));
        if (!r.ok)
            qFatal("cannot write a mark: %s", qPrintable(r.message));
        return name;
    }

    QString serverLog()
    {
        return m_admin->scalar(QStringLiteral("SELECT pg_read_file(pg_current_logfile('csvlog'))"));
    }

    // The server log between two marks, once the log collector has written the second one.
    QString logBetween(const QString &from, const QString &to)
    {
        QString log;
        // The log collector is a separate process: wait until the mark is in the file.
        if (!m_log->waitUntil([&] { return (log = serverLog()).contains(to); }))
            return QStringLiteral("(the second mark never reached the log)");
        const qsizetype start = log.indexOf(from);
        const qsizetype end = log.indexOf(to);
        if (start < 0 || end < start)
            return QStringLiteral("(marks out of order)");
        return log.mid(start, end - start);
    }

    static int connectionsIn(const QString &log)
    {
        return int(log.count(QLatin1String("connection received")));
    }

    // The machine of a DBA: libpq's defaults reach the cluster as a superuser.
    void poisonEnvironment(EnvironmentScope &env)
    {
        env.set("PGHOST", m_db.dataDir().toUtf8());
        env.set("PGPORT", "5432");
        env.set("PGUSER", "dba_super");
        env.set("PGDATABASE", "ledger");
        env.set("HOME", m_home.path().toUtf8());
        env.set("PGPASSFILE", (m_home.path() + QStringLiteral("/pgpass")).toUtf8());
        env.set("PGAPPNAME", "from-the-environment");
    }

    int backendsOf(const QString &role)
    {
        return m_admin
            ->scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE usename = $1"),
                     {role})
            .toInt();
    }

    // Submits jobs to a worker without credentials: each fails at once, saying why.
    void expectRefusedJobs(DbWorker &worker, const QString &why)
    {
        QSignalSpy failed(&worker, &DbWorker::jobFailed);
        for (int i = 0; i < 3; ++i) {
            const auto r = await(worker.submit([](Connection &c) { return c.user(); }));
            QVERIFY(!r.ok());
            QCOMPARE(r.error().kind, Error::Kind::NotSignedIn);
            QVERIFY2(r.error().message.contains(why), qPrintable(r.error().message));
        }
        QVERIFY(test::waitForCount(failed, 3));
        QCOMPARE(failed.count(), 3);
    }

private Q_SLOTS:
    void initTestCase()
    {
        // Connections on record; disconnections too, written once the backend has gone from
        // pg_stat_activity (which wakes the waits for a closed connection).
        m_db.setExtraConfig(QStringLiteral("log_connections = on\nlog_disconnections = on"));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_log = std::make_unique<test::ServerLogWatcher>(m_db.dataDir());
        QVERIFY(m_home.isValid());
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral("CREATE ROLE dba_super LOGIN SUPERUSER PASSWORD '%1'")
                               .arg(m_superSecret))
                    .ok);
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SELECT access.add_operator('iris', "
                                          "'{console_auditor}', '%1')")
                               .arg(ScramVerifier::compute(m_secret)
                                        .value()) /* a verifier, never the secret */)
                    .ok);
        // ~/.pgpass and the file PGPASSFILE names: the superuser's password for any server,
        // and for any user.
        for (const QString &name : {QStringLiteral("/.pgpass"), QStringLiteral("/pgpass")}) {
            QFile pgpass(m_home.path() + name);
            QVERIFY(pgpass.open(QIODevice::WriteOnly));
            pgpass.write(
                QStringLiteral("*:*:*:dba_super:%1\n*:*:*:*:%1\n").arg(m_superSecret).toUtf8());
            pgpass.close();
            QVERIFY(pgpass.setPermissions(QFile::ReadOwner | QFile::WriteOwner));
        }
        QFile service(m_home.path() + QStringLiteral("/pg_service.conf"));
        QVERIFY(service.open(QIODevice::WriteOnly));
        service.write(QStringLiteral("[dba]\nhost=%1\nport=5432\ndbname=ledger\nuser=dba_super\n"
                                     "password=%2\napplication_name=from-the-service\n"
                                     "target_session_attrs=read-only\n")
                          .arg(m_db.dataDir(), m_superSecret)
                          .toUtf8());
    }

    // The attack works against libpq's defaults: what an empty DSN used to get.
    void theEnvironmentReachesASuperuser()
    {
        EnvironmentScope env;
        poisonEnvironment(env);
        const auto r = tryConnect(ConnectionSettings::direct(QString()));
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().describe()));
        QCOMPARE(r.value(), QStringLiteral("dba_super"));
        // The server logs the disconnection after the client has gone: wait for it here, or
        // it lands between the next test's marks.
        QVERIFY(m_log->waitUntil([&] {
            const QStringList lines = serverLog().split(QLatin1Char('\n'));
            return std::any_of(lines.cbegin(), lines.cend(), [](const QString &line) {
                return line.contains(QLatin1String("dba_super")) &&
                       line.contains(QLatin1String("disconnection:"));
            });
        }));
    }

    void noCredentialsNoConnection()
    {
        EnvironmentScope env;
        poisonEnvironment(env);
        const QString before = mark();
        // A Connection without credentials: refused before libpq.
        const auto none = tryConnect(ConnectionSettings());
        QVERIFY(!none.ok());
        QCOMPARE(none.error().kind, Error::Kind::NotSignedIn);
        // Empty credentials are none, not "libpq, find some".
        const auto empty = tryConnect(ConnectionSettings::session(profile(), QString(), QString()));
        QCOMPARE(empty.error().kind, Error::Kind::NotSignedIn);
        // A worker given an empty string, as the console's was before sign-in.
        DbWorker worker(QString(), QStringLiteral("tst_sessionisolation"));
        expectRefusedJobs(worker, QStringLiteral("Not signed in"));
        if (QTest::currentTestFailed())
            return;
        const QString after = mark();
        const QString log = logBetween(before, after);
        QCOMPARE(connectionsIn(log), 0);
        QVERIFY(!log.contains(QLatin1String("dba_super")));
    }

    void lockedOrSignedOutConsolesConnectNowhere()
    {
        EnvironmentScope env;
        poisonEnvironment(env);
        DbWorker worker(ConnectionSettings(), QStringLiteral("tst_sessionisolation"));
        ConsoleSession session(&worker);
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        QSignalSpy locked(&session, &ConsoleSession::locked);

        // Before signing in.
        QString from = mark();
        expectRefusedJobs(worker, QStringLiteral("Not signed in"));
        QCOMPARE(connectionsIn(logBetween(from, mark())), 0);
        if (QTest::currentTestFailed())
            return;

        // Signed in: the session's own role and application name, not the environment's.
        session.signIn(profile(), QStringLiteral("iris"), m_secret);
        QVERIFY(test::waitForCount(signedIn, 1));
        QCOMPARE(signedIn.count(), 1);
        const QString role = session.role();
        QVERIFY(role.startsWith(QLatin1String("lc_s_iris_")));
        const auto user = await(worker.submit([](Connection &c) { return c.user(); }));
        QVERIFY2(user.ok(), user.ok() ? "" : qPrintable(user.error().describe()));
        QCOMPARE(user.value(), role);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT string_agg(application_name, ',') FROM "
                                                "pg_stat_activity WHERE usename = $1"),
                                 {role}),
                 QStringLiteral("tst_sessionisolation"));

        // Revoked, seen by a job: locked, and the session's connection is gone.
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT access.revoke_operator_sessions('iris')")),
                 QStringLiteral("1"));
        const auto refused = await(
            worker.submit([](Connection &c) { return AccessRepository::sessionInfo(c).role; }));
        QCOMPARE(refused.error().kind, Error::Kind::SessionRevoked);
        QVERIFY(test::waitForCount(locked, 1)); // the worker's failure reaches the session
        QCOMPARE(session.state(), ConsoleSession::State::Locked);
        QCOMPARE(locked.count(), 1);
        QVERIFY(m_log->waitUntil([&] { return backendsOf(role) == 0; }));
        from = mark();
        expectRefusedJobs(worker, QStringLiteral("locked"));
        if (QTest::currentTestFailed())
            return;
        QString log = logBetween(from, mark());
        QCOMPARE(connectionsIn(log), 0);
        QVERIFY(!log.contains(QLatin1String("dba_super")));

        // Signed in again, then signed out: the session ends on the server and nothing
        // connects afterwards.
        session.signIn(profile(), QStringLiteral("iris"), m_secret);
        QVERIFY(test::waitForCount(signedIn, 2));
        QCOMPARE(signedIn.count(), 2);
        const QString second = session.role();
        QVERIFY(await(worker.submit([](Connection &c) { return c.user(); })).ok());
        QCOMPARE(backendsOf(second), 1);
        session.signOut();
        QCOMPARE(session.state(), ConsoleSession::State::SignedOut);
        QVERIFY(m_log->waitUntil([&] { return backendsOf(second) == 0; }));
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT end_reason FROM access.sessions WHERE role_name = $1"),
                     {second}),
                 QStringLiteral("ended"));
        from = mark();
        expectRefusedJobs(worker, QStringLiteral("Signed out"));
        if (QTest::currentTestFailed())
            return;
        log = logBetween(from, mark());
        QCOMPARE(connectionsIn(log), 0);
        QVERIFY(!log.contains(QLatin1String("dba_super")));

        // Expiry: the console locks on its own clock; nothing connects afterwards.
        session.setRequestedTtl(2);
        session.signIn(profile(), QStringLiteral("iris"), m_secret);
        QVERIFY(test::waitForCount(signedIn, 3));
        QCOMPARE(signedIn.count(), 3);
        QVERIFY(await(worker.submit([](Connection &c) { return c.user(); })).ok());
        // (Its 2 s: the console's own clock locks it.)
        QVERIFY(test::waitForCount(locked, 2));
        QCOMPARE(session.state(), ConsoleSession::State::Locked);
        QVERIFY(m_log->waitUntil([&] { return backendsOf(session.role()) == 0; }));
        from = mark();
        expectRefusedJobs(worker, QStringLiteral("locked"));
        if (QTest::currentTestFailed())
            return;
        log = logBetween(from, mark());
        QCOMPARE(connectionsIn(log), 0);
        QVERIFY(!log.contains(QLatin1String("dba_super")));
    }

    // Sign-in and session connections set every keyword themselves: variables that would
    // break or redirect a libpq-default connection change nothing, and what cannot be
    // overridden is refused by name before anything connects.
    void sessionConnectionsTakeNothingFromTheEnvironment()
    {
        EnvironmentScope env;
        poisonEnvironment(env);
        env.set("PGSERVICEFILE", (m_home.path() + QStringLiteral("/pg_service.conf")).toUtf8());
        env.set("PGSERVICE", "dba");
        env.set("PGOPTIONS", "-c zz_not_a_setting=1");
        env.set("PGTARGETSESSIONATTRS", "read-only");
        env.set("PGCHANNELBINDING", "require");
        env.set("PGGSSENCMODE", "require");
        env.set("PGCONNECT_TIMEOUT", "not-a-number");
        env.set("PGCLIENTENCODING", "LATIN1");

        // The traps are live: libpq's defaults fail with them.
        QVERIFY(!tryConnect(ConnectionSettings::direct(QString())).ok());

        DbWorker worker(ConnectionSettings(), QStringLiteral("tst_sessionisolation"));
        ConsoleSession session(&worker);
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        QSignalSpy failed(&session, &ConsoleSession::signInFailed);
        session.signIn(profile(), QStringLiteral("iris"), m_secret);
        QVERIFY(
            test::waitForSignals(&session, [&] { return signedIn.count() + failed.count() == 1; }));
        QVERIFY2(signedIn.count() == 1,
                 failed.isEmpty() ? ""
                                  : qPrintable(failed.first().first().value<Error>().describe()));
        const auto user = await(worker.submit([](Connection &c) { return c.user(); }));
        QVERIFY2(user.ok(), user.ok() ? "" : qPrintable(user.error().describe()));
        QCOMPARE(user.value(), session.role());
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT string_agg(application_name, ',') FROM "
                                                "pg_stat_activity WHERE usename = $1"),
                                 {session.role()}),
                 QStringLiteral("tst_sessionisolation"));
        session.signOut();

        // Settings libpq sends that no keyword overrides, and an address that would send
        // the connection elsewhere: refused, by name, and nothing connects.
        const ConnectionSettings broker = ConnectionSettings::session(
            profile(), AccessRepository::brokerRole(QStringLiteral("iris")), m_secret);
        const QString from = mark();
        for (const char *name : {"PGTZ", "PGDATESTYLE", "PGHOSTADDR"}) {
            EnvironmentScope one;
            one.set(name, qstrcmp(name, "PGHOSTADDR") == 0 ? "127.0.0.1" : "ISO");
            const auto r = tryConnect(broker);
            QVERIFY(!r.ok());
            QCOMPARE(r.error().kind, Error::Kind::Input);
            QVERIFY2(r.error().message.contains(QLatin1String(name)),
                     qPrintable(r.error().message));
        }
        const QString log = logBetween(from, mark());
        QCOMPARE(connectionsIn(log), 0);
    }

    // What sign-in tells the server about this client: exactly application, version and
    // host, short, with no control characters (the server refuses anything else, LG049).
    void clientInformationIsSmallAndPlain()
    {
        const QJsonObject client = ConsoleSession::clientInfo();
        QCOMPARE(client.keys(), (QStringList{QStringLiteral("application"), QStringLiteral("host"),
                                             QStringLiteral("version")}));
        for (const QString &key : client.keys()) {
            const QString value = client.value(key).toString();
            QVERIFY2(!value.isEmpty() && value.size() <= 64, qPrintable(key));
            for (const QChar c : value)
                QVERIFY2(c.unicode() >= 0x20 && c.unicode() != 0x7f, qPrintable(key));
        }
        QCOMPARE(client.value(QStringLiteral("application")).toString(),
                 QStringLiteral("ledger-console"));
    }

    // ledger-console --dsn "" would have meant libpq's defaults: refused before anything
    // else; --help says what sign-in takes and what --dsn takes from the environment.
    void theCommandLineSaysSo()
    {
        QProcess console;
        console.start(QStringLiteral(LEDGER_CONSOLE_PATH), {QStringLiteral("--dsn"), QString()});
        QVERIFY(console.waitForFinished(60000));
        QCOMPARE(console.exitStatus(), QProcess::NormalExit);
        QCOMPARE(console.exitCode(), 2);
        QVERIFY(console.readAllStandardError().contains("--dsn needs a connection string"));

        console.start(QStringLiteral(LEDGER_CONSOLE_PATH), {QStringLiteral("--help")});
        QVERIFY(console.waitForFinished(60000));
        const QString help = QString::fromUtf8(console.readAllStandardOutput()).simplified();
        for (const char *says :
             {"never the PG* environment variables, service files or ~/.pgpass", "verify-full",
              "Signed out or locked, the console has no database "
              "connection"})
            QVERIFY2(help.contains(QLatin1String(says)), says);
    }

    void cleanupTestCase() { m_admin.reset(); }
};

QTEST_MAIN(TestSessionIsolation)
#include "tst_sessionisolation.moc"
