// Errors are told apart by SQLSTATE and by what libpq reports about the connection, never by
// the words of a message: against a server that answers in German (lc_messages =
// 'de_DE.UTF-8'), a wrong secret, an unknown role, a NOLOGIN role, an expired VALID UNTIL, a
// missing database and a role out of connection slots are each classified as they are
// against an English one, whether the connection is a console session's or a direct one.
// And an expired or revoked session seen by the Audit log tab, or by an account's timeline,
// locks the main window (offscreen, real widgets): ConsoleSession hears every failed job.
//
// Needs the de_DE.UTF-8 locale (installer/install-deps.sh generates it) and the server's
// German messages (postgresql-15 ships them); without either this test fails, saying so.

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "AuditLogModel.h"
#include "AuditLogView.h"
#include "MainWindow.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "TimelineModel.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"
#include "session/ConsoleSession.h"
#include "session/ScramVerifier.h"

#include <QApplication>
#include <QDir>
#include <QLabel>
#include <QProcess>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTest>

#include <optional>
#include <thread>

using namespace ledger;

namespace {

// Opens a connection off the GUI thread (where Connection refuses to run): its user or the
// error.
Result<QString> tryConnect(const ConnectionSettings &settings)
{
    Result<QString> out;
    std::thread t([&] {
        try {
            Connection c(settings, QStringLiteral("tst_localizederrors"));
            out = c.user();
        } catch (const DbException &e) {
            out = e.error();
        }
    });
    t.join();
    return out;
}

bool germanLocaleInstalled()
{
    QProcess locale;
    locale.start(QStringLiteral("locale"), {QStringLiteral("-a")});
    if (!locale.waitForFinished(10000))
        return false;
    const QStringList all = QString::fromLocal8Bit(locale.readAllStandardOutput())
                                .toLower()
                                .split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    return all.contains(QLatin1String("de_de.utf8"));
}

} // namespace

class TestLocalizedErrors : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    const QString m_secret = QStringLiteral("gerda-long-lived-secret-42");

    ServerProfile profile(const QString &database = QStringLiteral("ledger")) const
    {
        ServerProfile p;
        p.host = m_db.dataDir();
        p.port = 5432;
        p.database = database;
        return p;
    }

    QString directDsn(const QString &user, const QString &password,
                      const QString &database = QStringLiteral("ledger")) const
    {
        return QStringLiteral("host=%1 port=5432 dbname=%2 user=%3 password=%4")
            .arg(dsnQuote(m_db.dataDir()), dsnQuote(database), dsnQuote(user), dsnQuote(password));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_localizederrors"));
        if (!germanLocaleInstalled())
            QFAIL("The de_DE.UTF-8 locale is not installed, so no server can answer in German. "
                  "Run installer/install-deps.sh (as root or with sudo) to generate it.");
        m_db.setExtraConfig(QStringLiteral("lc_messages = 'de_DE.UTF-8'"));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        for (const QString &sql : {
                 QStringLiteral("SELECT access.add_operator('gerda', "
                                "'{console_operator,console_auditor}', '%1')")
                     .arg(ScramVerifier::compute(m_secret)
                              .value()) /* a verifier, never the secret */,
                 QStringLiteral("CREATE ROLE tst_valid LOGIN PASSWORD 'valid-pw'"),
                 QStringLiteral("CREATE ROLE tst_limited LOGIN PASSWORD 'limited-pw' CONNECTION "
                                "LIMIT 1"),
                 QStringLiteral("GRANT CONNECT ON DATABASE ledger TO tst_limited"),
                 QStringLiteral("CREATE ROLE tst_nologin NOLOGIN PASSWORD 'nologin-pw'"),
                 QStringLiteral("CREATE ROLE tst_expired LOGIN PASSWORD 'expired-pw' VALID UNTIL "
                                "'2001-01-01 00:00:00+00'"),
                 QStringLiteral("SELECT ledger.open_account('GER-1', 'Girokonto', 'EUR', "
                                "'asset')"),
             }) {
            const auto r = m_admin->exec(sql);
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        // The server really answers in German (else this test would prove nothing).
        const auto wrong = tryConnect(ConnectionSettings::direct(
            directDsn(QStringLiteral("tst_valid"), QStringLiteral("wrong"))));
        QVERIFY(!wrong.ok());
        QVERIFY2(wrong.error().detail.contains(QLatin1String("Passwort-Authentifizierung")),
                 qPrintable(QStringLiteral("The server does not answer in German (are "
                                           "postgresql-15's translations installed?): ") +
                            wrong.error().detail));
    }

    void refusedConnectionsAreClassified_data()
    {
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("password");
        QTest::addColumn<QString>("database");
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("sqlState");
        // What the old classification looked for in English, and would not find here.
        QTest::addColumn<QString>("englishText");

        QTest::newRow("wrong secret") << "tst_valid"
                                      << "not-the-password"
                                      << "ledger" << int(Error::Kind::Authentication) << "28P01"
                                      << "password authentication failed";
        // With password authentication the server does not say whether a role exists.
        QTest::newRow("unknown role") << "tst_nobody"
                                      << "whatever"
                                      << "ledger" << int(Error::Kind::Authentication) << "28P01"
                                      << "password authentication failed";
        QTest::newRow("NOLOGIN role") << "tst_nologin"
                                      << "nologin-pw"
                                      << "ledger" << int(Error::Kind::Authentication) << "28000"
                                      << "is not permitted to log in";
        QTest::newRow("expired VALID UNTIL")
            << "tst_expired"
            << "expired-pw"
            << "ledger" << int(Error::Kind::Authentication) << "28P01"
            << "password authentication failed";
        QTest::newRow("missing database") << "tst_valid"
                                          << "valid-pw"
                                          << "no_such_db" << int(Error::Kind::NotFound) << "3D000"
                                          << "does not exist";
    }

    void refusedConnectionsAreClassified()
    {
        QFETCH(QString, user);
        QFETCH(QString, password);
        QFETCH(QString, database);
        QFETCH(int, kind);
        QFETCH(QString, sqlState);
        QFETCH(QString, englishText);
        // A console connection (every keyword explicit) and a direct one (a DSN).
        for (const ConnectionSettings &settings :
             {ConnectionSettings::session(profile(database), user, password),
              ConnectionSettings::direct(directDsn(user, password, database))}) {
            const auto r = tryConnect(settings);
            QVERIFY(!r.ok());
            const Error &e = r.error();
            QVERIFY2(int(e.kind) == kind,
                     qPrintable(kindName(e.kind) + QStringLiteral(": ") + e.detail));
            QCOMPARE(e.sqlState, sqlState);
            QVERIFY2(!e.detail.contains(englishText), qPrintable(e.detail));
            QVERIFY(!e.message.isEmpty());
        }
    }

    void aRoleOutOfConnectionSlotsIsTooManyConnections()
    {
        // tst_limited may hold one connection: the second is refused (53300), in German.
        std::optional<QString> firstUser;
        Error refused;
        std::thread t([&] {
            try {
                const ConnectionSettings limited = ConnectionSettings::session(
                    profile(), QStringLiteral("tst_limited"), QStringLiteral("limited-pw"));
                Connection first(limited);
                firstUser = first.user();
                Connection second(limited);
            } catch (const DbException &e) {
                refused = e.error();
            }
        });
        t.join();
        QVERIFY2(firstUser == QStringLiteral("tst_limited"), qPrintable(refused.describe()));
        QCOMPARE(refused.kind, Error::Kind::TooManyConnections);
        QCOMPARE(refused.sqlState, QStringLiteral("53300"));
        QVERIFY(refused.retryable);
        QVERIFY2(!refused.detail.contains(QLatin1String("too many connections")),
                 qPrintable(refused.detail));
    }

    // The Audit log tab sees a revoked session, the account timeline an expired one: each
    // locks the window, with nothing behind the lock readable.
    void anyScreenLocksTheWindow()
    {
        DbWorker worker(ConnectionSettings(), QStringLiteral("tst_localizederrors"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel accounts(&ledger, &audit);
        ConsoleSession session(&worker);
        MainWindow window(&accounts, QStringLiteral("not signed in"), false);
        auto *workspace = new AccountWorkspace(&ledger);
        window.setAccountWorkspace(workspace);
        AuditLogView *auditLog = window.addAuditLog(&audit);
        window.attachSession(&session);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto *lock = window.findChild<QWidget *>(QStringLiteral("sessionLock"));
        QVERIFY(lock);
        auto *reason = lock->findChild<QLabel *>(QStringLiteral("lockReason"));
        auto *tabs = window.findChild<QTabWidget *>(QStringLiteral("mainTabs"));
        QVERIFY(reason && tabs);
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        QSignalSpy locked(&session, &ConsoleSession::locked);

        auto signInAndSettle = [&](int count) {
            session.signIn(profile(), QStringLiteral("gerda"), m_secret);
            QVERIFY(test::waitForCount(signedIn, count));
            QCOMPARE(signedIn.count(), count);
            // Both screens loaded (the window refreshes them on sign-in).
            QVERIFY(test::waitForModel(
                &accounts, [&] { return accounts.rowCount() >= 1 && !accounts.isLoading(); }));
            QVERIFY(test::waitForModel(auditLog->model(),
                                       [&] { return auditLog->model()->rowCount() > 0; }));
            QVERIFY(!lock->isVisible());
            QVERIFY(window.centralWidget()->isVisible());
        };

        // Revoked: seen by the Audit log tab only.
        signInAndSettle(1);
        tabs->setCurrentWidget(auditLog);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT access.revoke_operator_sessions('gerda')")),
                 QStringLiteral("1"));
        auditLog->refresh();
        QVERIFY(test::waitForCount(locked, 1));
        QVERIFY(lock->isVisible());
        QCOMPARE(session.state(), ConsoleSession::State::Locked);
        QCOMPARE(locked.count(), 1);
        QVERIFY(!window.centralWidget()->isVisible());
        QVERIFY2(reason->text().contains(QLatin1String("revoked")), qPrintable(reason->text()));
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        QVERIFY(window.grab().save(QStringLiteral(LEDGER_SCREENSHOT_DIR) +
                                   QStringLiteral("/locked-by-audit-log.png")));

        // Expired on the server while the console's clock still shows time left: seen by the
        // account's timeline.
        signInAndSettle(2);
        tabs->setCurrentIndex(0);
        const QString role = session.role();
        QVERIFY(session.secondsLeft() > 60);
        const auto expired = m_admin->exec(
            QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.sessions SET expires_at = "
                           "clock_timestamp() - interval '1 second' WHERE role_name = '%1'")
                .arg(role));
        QVERIFY2(expired.ok, qPrintable(expired.message));
        workspace->openAccount(QStringLiteral("GER-1"));
        QVERIFY(test::waitForCount(locked, 2));
        QVERIFY(lock->isVisible());
        QCOMPARE(session.state(), ConsoleSession::State::Locked);
        QCOMPARE(locked.count(), 2);
        QVERIFY2(reason->text().contains(QLatin1String("expired")), qPrintable(reason->text()));
        QVERIFY(!window.centralWidget()->isVisible());
    }

    void cleanupTestCase() { m_admin.reset(); }
};

QTEST_MAIN(TestLocalizedErrors)
#include "tst_localizederrors.moc"
