// Time-limited sign-in in the real widgets, offscreen, against a real cluster and a real
// Secret Service: a wrong secret is refused clearly, the right one signs in and is kept in
// the keychain (and nowhere else), the status bar counts down, the window locks with
// nothing readable when the session expires, and signing in again (secret from the
// keychain) returns the user to the same account. Revocation locks too.

#include "AccountListModel.h"
#include "LoginDialog.h"
#include "MainWindow.h"
#include "ReportsView.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "console/ReportService.h"
#include "db/DbWorker.h"
#include "keychain/SecretStore.h"
#include "session/ConsoleSession.h"
#include "session/ScramVerifier.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDirIterator>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>

using namespace ledger;
using test::waitForCount;
using test::waitForFinished;
using test::waitUntil;

class TestSignIn : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    const QString m_secret = QStringLiteral("olga-long-lived-secret-42");

    ServerProfile profile() const
    {
        ServerProfile p;
        p.host = m_db.dataDir();
        p.port = 5432;
        p.database = QStringLiteral("ledger");
        p.sslMode = QStringLiteral("disable");
        return p;
    }

    static QString statusText(MainWindow &w)
    {
        return w.findChild<QLabel *>(QStringLiteral("sessionStatus"))->text();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_signin"));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        test::SqlSession admin(m_db.adminDsn());
        {
            // The secret's SCRAM verifier goes to the server, never the secret.
            const auto verifier = ScramVerifier::compute(m_secret);
            QVERIFY(verifier);
            QVERIFY(admin
                        .exec(QStringLiteral("SELECT access.add_operator('olga', "
                                             "'{console_operator,console_auditor}', $1)"),
                              {verifier.value()})
                        .ok);
        }
        QVERIFY(admin
                    .exec(QStringLiteral("SELECT ledger.open_account(format('ACC-%s', "
                                         "lpad(i::text, 3, '0')), 'Account ' || i, 'EUR', 'asset') "
                                         "FROM generate_series(1, 40) i"))
                    .ok);
    }

    void signInExpireLockAndReturn()
    {
        if (qEnvironmentVariable("LEDGER_KEYCHAIN_MODE") != QLatin1String("real"))
            QSKIP("needs a Secret Service: run through tests/support/with-secret-service.sh");
        DbWorker worker(QString(), QStringLiteral("tst_signin"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel accounts(&ledger, &audit);
        ConsoleSession session(&worker);
        session.setRequestedTtl(5);
        session.setWarningSeconds(3);
        SecretStore secrets(QStringLiteral("ledger-console-test"));
        MainWindow window(&accounts, QStringLiteral("not signed in"), false);
        window.attachSession(&session);
        LoginDialog login(&session, &secrets, &window);
        QObject::connect(&window, &MainWindow::signInRequested, &login, [&] {
            login.setOperator(session.operatorName(), true);
            login.setMessage(session.lockReason());
            login.open();
        });
        QObject::connect(&login, &QDialog::accepted, &window, [&] { window.show(); });
        // What the session and the window announce, from the start.
        QSignalSpy failed(&session, &ConsoleSession::signInFailed);
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        QSignalSpy expiring(&session, &ConsoleSession::expiring);
        QSignalSpy locked(&session, &ConsoleSession::locked);
        QSignalSpy loaded(&accounts, &AccountListModel::loaded);
        QSignalSpy located(&accounts, &AccountListModel::located);
        QSignalSpy lookedUp(&login, &LoginDialog::storedSecretLookedUp);
        QSignalSpy signInRequested(&window, &MainWindow::signInRequested);

        login.setProfile(profile());
        login.setOperator(QStringLiteral("olga"));
        login.show();
        QVERIFY(QTest::qWaitForWindowExposed(&login));
        auto *message = login.findChild<QLabel *>(QStringLiteral("message"));
        auto *secretField = login.findChild<QLineEdit *>(QStringLiteral("secret"));

        // A wrong secret: refused, clearly, and the dialog stays.
        QTest::keyClicks(secretField, QStringLiteral("not-the-secret-at-all"));
        login.signIn();
        QVERIFY(waitForCount(failed, 1));
        QVERIFY2(message->text().contains(QLatin1String("Sign-in refused")),
                 qPrintable(message->text()));
        QVERIFY(login.isVisible());

        // The right one, remembered in the keychain.
        secretField->clear();
        QTest::keyClicks(secretField, m_secret);
        login.findChild<QCheckBox *>(QStringLiteral("remember"))->setChecked(true);
        login.signIn();
        QVERIFY(waitForCount(signedIn, 1));
        QVERIFY(!login.isVisible()); // accepted as the session signed in
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.windowTitle().contains(QLatin1String("olga")));
        QVERIFY(!window.windowTitle().contains(QLatin1String("direct connection")));
        QVERIFY(waitForCount(loaded, 1)); // the window loads the accounts once signed in
        QCOMPARE(window.accountView()->model()->rowCount(), 40);
        QVERIFY(statusText(window).startsWith(QStringLiteral("olga as lc_s_olga_")));

        // The countdown moves, a tick at a time.
        const QString before = statusText(window);
        QVERIFY(waitUntil(&session, &ConsoleSession::tick,
                          [&] { return statusText(window) != before; }));

        // The user is somewhere: account ACC-017 selected.
        QTableView *view = window.accountView();
        const QModelIndex target =
            view->model()
                ->match(view->model()->index(0, 0), Qt::DisplayRole, QStringLiteral("ACC-017"))
                .value(0);
        QVERIFY(target.isValid());
        view->setCurrentIndex(target);

        // A warning before the end.
        auto *banner = window.findChild<QWidget *>(QStringLiteral("errorBanner"));
        QVERIFY(waitForCount(expiring, 1));
        QVERIFY(banner->isVisible());
        QVERIFY(
            banner->findChild<QLabel *>()->text().contains(QLatin1String("Your session ends in")));

        // Expiry (the 5 s lifetime asked for above): the window locks and hides the data.
        auto *lock = window.findChild<QWidget *>(QStringLiteral("sessionLock"));
        QVERIFY(waitForCount(locked, 1));
        QCOMPARE(session.state(), ConsoleSession::State::Locked);
        QVERIFY(lock->isVisible());
        QVERIFY(!window.centralWidget()->isVisible());
        QVERIFY(lock->findChild<QLabel *>(QStringLiteral("lockReason"))
                    ->text()
                    .contains(QLatin1String("expired")));
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        QVERIFY(window.grab().save(QStringLiteral(LEDGER_SCREENSHOT_DIR) +
                                   QStringLiteral("/session-locked.png")));

        // Sign in again: the secret comes from the keychain; the same account is selected.
        QTest::mouseClick(lock->findChild<QPushButton *>(QStringLiteral("signInAgain")),
                          Qt::LeftButton);
        QVERIFY(waitForCount(signInRequested, 1));
        QVERIFY(login.isVisible());
        QVERIFY(login.findChild<QLineEdit *>(QStringLiteral("operator"))->isReadOnly());
        // The same server, as secure as before: only the secret may be given.
        QVERIFY(login.findChild<QLineEdit *>(QStringLiteral("host"))->isReadOnly());
        QVERIFY(!login.findChild<QComboBox *>(QStringLiteral("sslMode"))->isEnabled());
        // Found in the keychain (the look-up starts afresh for the locked window).
        QVERIFY(waitUntil(&login, &LoginDialog::storedSecretLookedUp,
                          [&] { return !secretField->placeholderText().isEmpty(); }));
        QCOMPARE(lookedUp.last().first().toBool(), true);
        QVERIFY(secretField->text().isEmpty());
        session.setRequestedTtl(60);
        const qsizetype locatedBefore = located.count();
        login.signIn();
        QVERIFY(waitForCount(signedIn, 2));
        QVERIFY(!lock->isVisible());
        QVERIFY(window.centralWidget()->isVisible());
        // The window reloads the list and finds the account the user was on.
        QVERIFY(waitUntil(&accounts, &AccountListModel::located, [&] {
            return located.count() > locatedBefore &&
                   located.last().first().toString() == QLatin1String("ACC-017");
        }));
        QCOMPARE(view->currentIndex().data().toString(), QStringLiteral("ACC-017"));

        // The secret is in the keychain and nowhere in the settings or data directories.
        auto stored = secrets.read(QStringLiteral("olga@%1:5432/ledger").arg(m_db.dataDir()));
        QVERIFY(waitForFinished(stored));
        QVERIFY(stored.result().ok());
        QCOMPARE(stored.result().value(), m_secret);
        QSettings().sync();
        for (auto location :
             {QStandardPaths::GenericConfigLocation, QStandardPaths::GenericDataLocation}) {
            QDirIterator it(QStandardPaths::writableLocation(location), QDir::Files | QDir::Hidden,
                            QDirIterator::Subdirectories);
            while (it.hasNext()) {
                QFile f(it.next());
                QVERIFY(f.open(QIODevice::ReadOnly));
                QVERIFY2(!f.readAll().contains(m_secret.toUtf8()), qPrintable(f.fileName()));
            }
        }

        // Revocation: the next call is refused and the window locks, saying why.
        test::SqlSession admin(m_db.adminDsn());
        const QString live = admin.scalar(
            QStringLiteral("SELECT string_agg(role_name || ' ' || state || ' ' || expires_at, '; "
                           "') FROM access.session_list WHERE operator = 'olga'"));
        QVERIFY2(admin.scalar(QStringLiteral("SELECT access.revoke_operator_sessions('olga')")) ==
                     QLatin1String("1"),
                 qPrintable(live));
        accounts.refresh();
        QVERIFY(waitForCount(locked, 2));
        QVERIFY(lock->isVisible());
        QVERIFY2(lock->findChild<QLabel *>(QStringLiteral("lockReason"))
                     ->text()
                     .contains(QLatin1String("revoked")),
                 qPrintable(lock->findChild<QLabel *>(QStringLiteral("lockReason"))->text()));
        QVERIFY(
            secrets.remove(QStringLiteral("olga@%1:5432/ledger").arg(m_db.dataDir())).isValid());
    }

    // A secret stored for one server is sent to that server only: with the server fields
    // changed, the dialog asks for the secret instead of sending the stored one elsewhere.
    void aStoredSecretGoesOnlyToItsServer()
    {
        if (qEnvironmentVariable("LEDGER_KEYCHAIN_MODE") != QLatin1String("real"))
            QSKIP("needs a Secret Service");
        SecretStore secrets(QStringLiteral("ledger-console-test-server"));
        const QString key = QStringLiteral("olga@%1:5432/ledger").arg(m_db.dataDir());
        auto written = secrets.write(key, m_secret);
        QVERIFY(waitForFinished(written));
        QVERIFY(written.result().ok());
        DbWorker worker(QString(), QStringLiteral("tst_signin"));
        ConsoleSession session(&worker);
        LoginDialog login(&session, &secrets);
        QSignalSpy lookedUp(&login, &LoginDialog::storedSecretLookedUp);
        login.setProfile(profile());
        login.setOperator(QStringLiteral("olga"));
        login.show();
        auto *secretField = login.findChild<QLineEdit *>(QStringLiteral("secret"));
        QVERIFY(waitForCount(lookedUp, 1));
        QCOMPARE(lookedUp.last().first().toBool(), true);
        QVERIFY(!secretField->placeholderText().isEmpty());
        // Another server, typed in the dialog (127.0.0.1:1, where nothing listens).
        auto *host = login.findChild<QLineEdit *>(QStringLiteral("host"));
        host->setText(QStringLiteral("127.0.0.1"));
        QSignalSpy failed(&session, &ConsoleSession::signInFailed);
        login.signIn();
        QCOMPARE(login.findChild<QLabel *>(QStringLiteral("message"))->text(),
                 QStringLiteral("Type your secret."));
        QCOMPARE(session.state(), ConsoleSession::State::SignedOut);
        QVERIFY(secretField->placeholderText().isEmpty());
        // Back to its own server, the stored secret is found again and used.
        host->setText(m_db.dataDir());
        login.signIn(); // looks it up for this server
        // (The other server's look-up may answer first: its answer shows nothing.)
        QVERIFY(waitUntil(&login, &LoginDialog::storedSecretLookedUp,
                          [&] { return !secretField->placeholderText().isEmpty(); }));
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        login.signIn();
        QVERIFY(waitForCount(signedIn, 1));
        QCOMPARE(failed.count(), 0);
        session.signOut();
        auto removed = secrets.remove(key);
        QVERIFY(waitForFinished(removed));
    }

    void activityRenewsTheSession()
    {
        if (qEnvironmentVariable("LEDGER_KEYCHAIN_MODE") != QLatin1String("real"))
            QSKIP("needs a Secret Service");
        DbWorker worker(QString(), QStringLiteral("tst_signin"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel accounts(&ledger, &audit);
        ConsoleSession session(&worker);
        // Long enough that a loaded machine (the suite runs two tests at once) still renews
        // in the window between half its life and its end.
        session.setRequestedTtl(10);
        MainWindow window(&accounts, QStringLiteral("not signed in"), false);
        window.attachSession(&session);
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        QSignalSpy renewed(&session, &ConsoleSession::renewed);
        session.signIn(profile(), QStringLiteral("olga"), m_secret);
        QVERIFY(waitForCount(signedIn, 1));
        window.show();
        const QDateTime first = session.expiresAt();
        // Past half its life (the countdown says when), a key press renews it (on the
        // worker; the GUI never waits).
        QVERIFY(
            waitUntil(&session, &ConsoleSession::tick, [&] { return session.secondsLeft() <= 4; }));
        QCOMPARE(session.state(), ConsoleSession::State::Active);
        QTest::keyClick(window.accountView(), Qt::Key_Down);
        QVERIFY(waitForCount(renewed, 1));
        QVERIFY(session.expiresAt() > first);
        QCOMPARE(session.state(), ConsoleSession::State::Active);
        test::SqlSession admin(m_db.adminDsn());
        QCOMPARE(admin.scalar(
                     QStringLiteral("SELECT renewals FROM access.sessions WHERE role_name = $1"),
                     {session.role()}),
                 QStringLiteral("1"));
        // Signing out ends the session on the server: the worker runs its jobs in order, so
        // once a job given after the sign-out has finished, the sign-out's has too.
        const QString role = session.role();
        session.signOut();
        QCOMPARE(session.state(), ConsoleSession::State::SignedOut);
        const auto after = worker.submit([](Connection &) { return true; });
        QVERIFY(waitForFinished(after));
        QVERIFY(!after.result().ok()); // no credentials now
        QCOMPARE(after.result().error().kind, Error::Kind::NotSignedIn);
        QCOMPARE(
            admin.scalar(QStringLiteral("SELECT coalesce(end_reason, 'open') FROM access.sessions "
                                        "WHERE role_name = $1"),
                         {role}),
            QStringLiteral("ended"));
    }

    // The reporting store's session (Step 11): the dialog signs it in with the same operator
    // and secret at once (here the same server stands in for the store: a session of its
    // own all the same); the Reports tab reads over it; activity renews both; when the
    // console's session locks (revoked), the store's is signed out too and the status bar
    // says so.
    void theReportingStoreSessionFollowsTheConsoles()
    {
        DbWorker worker(QString(), QStringLiteral("tst_signin"));
        DbWorker storeWorker(QString(), QStringLiteral("tst_signin store"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel accounts(&ledger, &audit);
        ReportService reports(&worker, &storeWorker, true);
        ConsoleSession session(&worker);
        ConsoleSession store(&storeWorker);
        session.setRequestedTtl(10);
        store.setRequestedTtl(10);
        MainWindow window(&accounts, QStringLiteral("not signed in"), false);
        window.attachSession(&session);
        ReportsView *view = window.addReports(&reports);
        window.attachReportingSession(&store);
        LoginDialog login(&session, nullptr, &window);
        login.setCompanion(&store, profile());
        QObject::connect(&login, &QDialog::accepted, &window, [&] { window.show(); });
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        QSignalSpy storeSignedIn(&store, &ConsoleSession::signedIn);
        QSignalSpy renewed(&session, &ConsoleSession::renewed);
        QSignalSpy storeRenewed(&store, &ConsoleSession::renewed);
        login.setProfile(profile());
        login.setOperator(QStringLiteral("olga"));
        login.setSecret(m_secret);
        login.show();
        login.signIn();
        QVERIFY(waitForCount(signedIn, 1));
        QVERIFY(waitForCount(storeSignedIn, 1));
        QCOMPARE(store.state(), ConsoleSession::State::Active);
        QVERIFY(!store.role().isEmpty());
        QVERIFY(store.role() != session.role());

        // A report: recorded over the console's session. The "store" here is a ledger
        // database, so it is read over the console's session too (the read gate is per
        // session) and recorded as read from the ledger.
        QSignalSpy shown(view, &ReportsView::reportShown);
        view->run();
        QVERIFY(waitForCount(shown, 1));
        test::SqlSession admin(m_db.adminDsn());
        QCOMPARE(admin.scalar(QStringLiteral("SELECT session_role || ' ' || "
                                             "(details->'params'->>'source') FROM audit.events "
                                             "WHERE id = $1"),
                              {QString::number(view->lastResult()->auditEvent)}),
                 session.role() + QStringLiteral(" ledger")); // the "store" is a ledger database
        // The store's worker is connected as the store's session role.
        QCOMPARE(admin.scalar(QStringLiteral("SELECT count(*) > 0 FROM pg_stat_activity WHERE "
                                             "usename = $1"),
                              {store.role()}),
                 QStringLiteral("t"));

        // Past half their life, one key press renews both.
        const QDateTime first = store.expiresAt();
        QVERIFY(
            waitUntil(&session, &ConsoleSession::tick, [&] { return session.secondsLeft() <= 4; }));
        QTest::keyClick(window.accountView(), Qt::Key_Down);
        QVERIFY(waitForCount(renewed, 1));
        QVERIFY(waitForCount(storeRenewed, 1));
        QVERIFY(store.expiresAt() > first);

        // The console's session revoked: it locks, and the store's is signed out with it.
        const QString storeRole = store.role();
        QSignalSpy locked(&session, &ConsoleSession::locked);
        QCOMPARE(admin.scalar(QStringLiteral("SELECT access.revoke_session($1, 'test')"),
                              {session.role()}),
                 QStringLiteral("t"));
        accounts.refresh();
        QVERIFY(waitForCount(locked, 1));
        QCOMPARE(store.state(), ConsoleSession::State::SignedOut);
        QCOMPARE(window.findChild<QLabel *>(QStringLiteral("reportsStatus"))->text(),
                 QStringLiteral("Reports: no store session"));
        const auto after = storeWorker.submit([](Connection &) { return true; });
        QVERIFY(waitForFinished(after));
        QCOMPARE(after.result().error().kind, Error::Kind::NotSignedIn);
        QCOMPARE(admin.scalar(QStringLiteral("SELECT coalesce(end_reason, 'open') FROM "
                                             "access.sessions WHERE role_name = $1"),
                              {storeRole}),
                 QStringLiteral("ended"));
    }

    // TLS: the dialog says which mode is in use and what it means; a server on the network
    // gets verify-full unless the user chose otherwise for it; the choice is remembered per
    // server after a sign-in (QSettings, never a secret).
    void theDialogSaysWhichTlsModeIsInUse()
    {
        QSettings().remove(QStringLiteral("signin/tls"));
        DbWorker worker(QString(), QStringLiteral("tst_signin"));
        ConsoleSession session(&worker);
        LoginDialog login(&session, nullptr);
        auto *host = login.findChild<QLineEdit *>(QStringLiteral("host"));
        auto *mode = login.findChild<QComboBox *>(QStringLiteral("sslMode"));
        auto *ca = login.findChild<QLineEdit *>(QStringLiteral("caFile"));
        auto *text = login.findChild<QLabel *>(QStringLiteral("tlsDescription"));
        QVERIFY(host && mode && ca && text);
        auto enterHost = [&](const QString &h) {
            host->setText(h);
            Q_EMIT host->editingFinished();
        };

        // A server on the network: verify-full, and the dialog says what that checks.
        ServerProfile remote;
        remote.host = QStringLiteral("db.example.com");
        login.setProfile(remote);
        login.setOperator(QStringLiteral("olga"));
        QCOMPARE(mode->currentText(), QStringLiteral("verify-full"));
        QCOMPARE(login.profile().sslMode, QStringLiteral("verify-full"));
        QVERIFY2(text->text().startsWith(QLatin1String("TLS mode verify-full")),
                 qPrintable(text->text()));
        QVERIFY2(text->text().contains(QLatin1String("db.example.com")) &&
                     text->text().contains(QLatin1String("root.crt")),
                 qPrintable(text->text()));
        QCOMPARE(login.tlsDescription(), text->text());
        login.show();
        QVERIFY(QTest::qWaitForWindowExposed(&login));
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        QVERIFY(login.grab().save(QStringLiteral(LEDGER_SCREENSHOT_DIR) +
                                  QStringLiteral("/signin-dialog.png")));

        // The CA file chosen shows in the explanation; a weaker mode says it is weaker.
        ca->setText(QStringLiteral("/etc/ledger/ca.crt"));
        QVERIFY2(text->text().contains(QLatin1String("/etc/ledger/ca.crt")),
                 qPrintable(text->text()));
        mode->setCurrentText(QStringLiteral("require"));
        QVERIFY2(text->text().startsWith(QLatin1String("TLS mode require")) &&
                     text->text().contains(QLatin1String("use verify-full")),
                 qPrintable(text->text()));

        // Local: a loopback name, and the socket directory (where TLS does not apply).
        enterHost(QStringLiteral("localhost"));
        QCOMPARE(mode->currentText(), QStringLiteral("prefer"));
        QVERIFY(!text->text().contains(QLatin1String("use verify-full")));
        enterHost(m_db.dataDir());
        QCOMPARE(mode->currentText(), QStringLiteral("prefer"));
        QVERIFY2(text->text().contains(QLatin1String("not used on a local socket")),
                 qPrintable(text->text()));
        QVERIFY(!ca->isEnabled());

        // Chosen for this server and signed in: remembered for it, and only for it.
        mode->setCurrentText(QStringLiteral("disable"));
        login.setSecret(m_secret);
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        login.signIn();
        QVERIFY(waitForCount(signedIn, 1));
        QCOMPARE(session.profile().sslMode, QStringLiteral("disable"));
        session.signOut();
        enterHost(QStringLiteral("db.example.com"));
        QCOMPARE(mode->currentText(), QStringLiteral("verify-full"));
        QVERIFY(ca->text().isEmpty());
        enterHost(m_db.dataDir());
        QCOMPARE(mode->currentText(), QStringLiteral("disable"));

        // A new dialog (the next run) finds the server and its mode again.
        LoginDialog again(&session, nullptr);
        QCOMPARE(again.profile().host, m_db.dataDir());
        QCOMPARE(again.profile().sslMode, QStringLiteral("disable"));
        // Settings hold no secret.
        QSettings settings;
        for (const QString &key : settings.allKeys())
            QVERIFY2(!settings.value(key).toString().contains(m_secret), qPrintable(key));
    }

    void unreachableServerAndNoKeychainAreClear()
    {
        // No Secret Service at all in this part: the dialog says so and typing still works.
        qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/ledger-test-bus");
        DbWorker worker(QString(), QStringLiteral("tst_signin"));
        ConsoleSession session(&worker);
        SecretStore secrets(QStringLiteral("ledger-console-test-none"));
        LoginDialog login(&session, &secrets);
        QSignalSpy lookedUp(&login, &LoginDialog::storedSecretLookedUp);
        QSignalSpy failed(&session, &ConsoleSession::signInFailed);
        ServerProfile nowhere = profile();
        nowhere.host = QStringLiteral("/nonexistent/socket-dir");
        login.setProfile(nowhere);
        login.setOperator(QStringLiteral("olga"));
        login.show();
        QVERIFY(QTest::qWaitForWindowExposed(&login));
        auto *message = login.findChild<QLabel *>(QStringLiteral("message"));
        auto *remember = login.findChild<QCheckBox *>(QStringLiteral("remember"));
        if (qEnvironmentVariable("LEDGER_KEYCHAIN_MODE") != QLatin1String("real")) {
            // (With a real Secret Service already connected in this process, the bus
            // address no longer matters; the keychain part runs in tst_signin_nokeychain.)
            QVERIFY(waitForCount(lookedUp, 1));
            QCOMPARE(lookedUp.last().first().toBool(), false);
            QVERIFY(!remember->isEnabled());
            QVERIFY2(message->text().contains(QLatin1String("No keychain")),
                     qPrintable(message->text()));
        }
        login.setSecret(m_secret);
        login.signIn();
        QVERIFY(waitForCount(failed, 1));
        QVERIFY2(message->text().contains(QLatin1String("Could not reach the database server")),
                 qPrintable(message->text()));
        QVERIFY(login.isVisible());
        QCOMPARE(session.state(), ConsoleSession::State::SignedOut);
    }
};

QTEST_MAIN(TestSignIn)
#include "tst_signin.moc"
