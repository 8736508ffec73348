// ledger-console: wiring only. Builds the workers, the console services, the models and the
// main window.

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "LoginDialog.h"
#include "MainWindow.h"
#include "console/AuditService.h"
#include "console/HealthService.h"
#include "console/LedgerService.h"
#include "console/ReconService.h"
#include "console/ReportService.h"
#include "console/ReversalService.h"
#include "console/StatementService.h"
#include "db/Connection.h"
#include "db/DbWorker.h"
#include "keychain/SecretStore.h"
#include "session/ConsoleSession.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QRegularExpression>
#include <QSettings>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

using namespace ledger;

namespace {

void setUpParser(QCommandLineParser &parser)
{
    parser.setApplicationDescription(QStringLiteral(
        "Ledger Console: the back-office and audit console for a PostgreSQL double-entry "
        "ledger.\n\n"
        "Without --dsn it signs in with a time-limited session: the operator's secret (typed, "
        "or kept in the system keychain) mints a short-lived database role. Sign-in and session "
        "connections use only what the sign-in dialog says (server, port, database, TLS mode, "
        "CA certificate): never the PG* environment variables, service files or ~/.pgpass. "
        "TLS is verify-full for every server but a local one (a socket directory, localhost, a "
        "loopback address). Signed out or locked, the console has no database connection.\n\n"
        "--dsn opens a direct database connection instead (for a DBA or a test cluster; the "
        "window title says so): a libpq connection string under libpq's own rules, so what it "
        "leaves out comes from the PG* variables, service files and ~/.pgpass, as for psql."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption(
        {QStringLiteral("dsn"),
         QStringLiteral("Direct connection (a non-empty libpq connection string; libpq fills in "
                        "what it leaves out from PG* variables and ~/.pgpass) instead of "
                        "signing in."),
         QStringLiteral("DSN")});
    parser.addOption({QStringLiteral("host"),
                      QStringLiteral("Server host or socket directory for sign-in."),
                      QStringLiteral("HOST")});
    parser.addOption({QStringLiteral("port"), QStringLiteral("Server port for sign-in."),
                      QStringLiteral("PORT")});
    parser.addOption({QStringLiteral("database"), QStringLiteral("Database for sign-in."),
                      QStringLiteral("NAME")});
    parser.addOption({QStringLiteral("operator"), QStringLiteral("Operator name for sign-in."),
                      QStringLiteral("NAME")});
    parser.addOption({QStringLiteral("reporting-host"),
                      QStringLiteral("A reporting store to read reports from (host or socket "
                                     "directory): the console signs in there too, with the same "
                                     "operator and secret. Default: the reports/storeHost "
                                     "setting; none: the ledger serves reports."),
                      QStringLiteral("HOST")});
    parser.addOption({QStringLiteral("reporting-port"),
                      QStringLiteral("The reporting store's port (default 5432)."),
                      QStringLiteral("PORT")});
    parser.addOption({QStringLiteral("reporting-database"),
                      QStringLiteral("The reporting store's database (default ledger)."),
                      QStringLiteral("NAME")});
    parser.addOption(
        {QStringLiteral("secret-stdin"),
         QStringLiteral(
             "Read the operator's secret from the first line of standard input and sign in "
             "at once (set-up scripts; never put a secret on a command line).")});
    parser.addOption(
        {QStringLiteral("remember"),
         QStringLiteral(
             "With --secret-stdin: keep the secret in the system keychain, if there is one.")});
}

// "user@dbname" from a key=value DSN, for the title; never shows a password.
QString connectionLabel(const QString &dsn)
{
    static const QRegularExpression key(QStringLiteral(R"((\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+))"));
    QString user, db;
    for (auto it = key.globalMatch(dsn); it.hasNext();) {
        const auto m = it.next();
        QString value = m.captured(2);
        if (value.startsWith(QLatin1Char('\'')))
            value = value.mid(1, value.size() - 2);
        if (m.captured(1) == QLatin1String("user"))
            user = value;
        else if (m.captured(1) == QLatin1String("dbname"))
            db = value;
    }
    if (user.isEmpty() && db.isEmpty())
        return redactDsn(dsn);
    return QStringLiteral("%1@%2").arg(user.isEmpty() ? QStringLiteral("(default user)") : user,
                                       db.isEmpty() ? QStringLiteral("(default database)") : db);
}

} // namespace

int main(int argc, char *argv[])
{
    // --help and --version must work without a display, so answer them before the
    // QApplication (which needs one) exists.
    {
        QStringList raw;
        for (int i = 0; i < argc; ++i)
            raw << QString::fromLocal8Bit(argv[i]);
        QCommandLineParser early;
        setUpParser(early);
        early.parse(raw);
        if (early.isSet(QStringLiteral("version"))) {
            std::printf("ledger-console %s\n", LEDGER_VERSION);
            return 0;
        }
        if (early.isSet(QStringLiteral("help"))) {
            // No application object yet, so Qt cannot name the program: do it here.
            QString help = early.helpText();
            help.replace(QStringLiteral("<executable_name>"), QStringLiteral("ledger-console"));
            std::printf("%s", qPrintable(help));
            return 0;
        }
        if (early.isSet(QStringLiteral("dsn")) &&
            early.value(QStringLiteral("dsn")).trimmed().isEmpty()) {
            // An empty string would mean libpq's defaults (PG* variables, ~/.pgpass): never
            // implied, so refused.
            std::fprintf(stderr, "ledger-console: --dsn needs a connection string; without "
                                 "--dsn the console signs in.\n");
            return 2;
        }
    }

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ledger-console"));
    QApplication::setOrganizationName(QStringLiteral("LedgerConsole"));
    QApplication::setApplicationVersion(QStringLiteral(LEDGER_VERSION));
    QApplication::setApplicationDisplayName(QStringLiteral("Ledger Console"));
    // The desktop entry the package installs (Wayland's app id, the window's icon and name).
    QGuiApplication::setDesktopFileName(QStringLiteral("org.ledgerconsole.LedgerConsole"));

    QCommandLineParser parser;
    setUpParser(parser);
    parser.process(app);

    const bool direct = parser.isSet(QStringLiteral("dsn")); // never empty (checked above)
    const QString dsn = parser.value(QStringLiteral("dsn")).trimmed();
    // Signed in, the session gives the worker its credentials; until then it has none.
    DbWorker worker(direct ? ConnectionSettings::direct(dsn) : ConnectionSettings(),
                    QStringLiteral("ledger-console"));
    // Long jobs (chain verification, statements) run on a worker and connection of their own, so
    // that pages and the session's renewal never wait behind them. It connects on first use.
    DbWorker longJobs(direct ? ConnectionSettings::direct(dsn) : ConnectionSettings(),
                      QStringLiteral("ledger-console long jobs"));
    LedgerService ledger(&worker);
    AuditService audit(&worker, &longJobs);
    AccountListModel accounts(&ledger, &audit);
    MainWindow window(&accounts, direct ? connectionLabel(dsn) : QObject::tr("not signed in"),
                      direct);
    window.setAccountWorkspace(new AccountWorkspace(&ledger));
    window.addAuditLog(&audit);
    ReversalService reversals(&worker);
    window.addCorrections(&reversals, &ledger);
    // Statements are written and hashed on the long-jobs worker.
    StatementService statements(&longJobs);
    window.addStatements(&statements);
    // Reconciliation: pages and decisions on the interactive worker, imports and matching
    // runs on the long-jobs one. Every console role reads it; the database lets operators
    // and supervisors act and refuses the others (the tab shows why).
    ReconService recon(&worker, &longJobs);
    window.addReconciliation(&recon);
    // Reports: each run recorded over the interactive worker, read on a reporting store's
    // session when one is configured (signed in with the same secret), else on the long-jobs
    // worker (the ledger serves reports).
    QSettings settings;
    ServerProfile storeProfile;
    storeProfile.host = parser.isSet(QStringLiteral("reporting-host"))
                            ? parser.value(QStringLiteral("reporting-host"))
                            : settings.value(QStringLiteral("reports/storeHost")).toString();
    storeProfile.port = parser.isSet(QStringLiteral("reporting-port"))
                            ? parser.value(QStringLiteral("reporting-port")).toInt()
                            : settings.value(QStringLiteral("reports/storePort"), 5432).toInt();
    storeProfile.database =
        parser.isSet(QStringLiteral("reporting-database"))
            ? parser.value(QStringLiteral("reporting-database"))
            : settings.value(QStringLiteral("reports/storeDatabase"), QStringLiteral("ledger"))
                  .toString();
    const bool withStore = !direct && !storeProfile.host.trimmed().isEmpty();
    DbWorker storeWorker(ConnectionSettings(), QStringLiteral("ledger-console reporting store"));
    ReportService reports(&worker, withStore ? &storeWorker : &longJobs, withStore);
    // How far behind a reporting store may be (QSettings reports/maxLagSeconds, default 300).
    reports.setMaxLagSeconds(std::clamp(
        settings.value(QStringLiteral("reports/maxLagSeconds"), 300).toInt(), 1, 31 * 24 * 3600));
    window.addReports(&reports);
    // Operations health: snapshots and dead-letter decisions on the interactive worker, the
    // invariant checks (a read of the whole ledger) on the long-jobs one.
    HealthService health(&worker, &longJobs);
    window.addHealth(&health);
    if (direct) {
        // A DBA's or a test cluster's direct connection: no time-limited session.
        window.show();
        accounts.refresh();
        return app.exec();
    }

    ConsoleSession session(&worker);
    session.addWorker(&longJobs);
    // The reporting store's own time-limited session (minted there from the replicated
    // operator registry), signed in with the same secret, renewed and ended with the first.
    ConsoleSession storeSession(&storeWorker);
    // Closing the console signs out: the session ends on the server at once instead of
    // counting against the operator's open sessions until it expires (the worker runs the
    // queued end_session before it goes).
    QObject::connect(&app, &QCoreApplication::aboutToQuit, &session, [&session, &storeSession] {
        if (session.state() == ConsoleSession::State::Active)
            session.signOut();
        if (storeSession.state() == ConsoleSession::State::Active)
            storeSession.signOut();
    });
    SecretStore secrets(QStringLiteral("ledger-console"));
    window.attachSession(&session);
    LoginDialog login(&session, &secrets);
    if (withStore) {
        window.attachReportingSession(&storeSession);
        login.setCompanion(&storeSession, storeProfile);
    }

    ServerProfile profile = login.profile();
    bool otherServer = false;
    if (parser.isSet(QStringLiteral("host"))) {
        profile.host = parser.value(QStringLiteral("host"));
        otherServer = true;
    }
    if (parser.isSet(QStringLiteral("port"))) {
        profile.port = parser.value(QStringLiteral("port")).toInt();
        otherServer = true;
    }
    if (parser.isSet(QStringLiteral("database"))) {
        profile.database = parser.value(QStringLiteral("database"));
        otherServer = true;
    }
    if (otherServer) {
        // The TLS mode and CA remembered for that server, or the default for its host.
        profile.sslMode.clear();
        profile.sslRootCert.clear();
    }
    login.setProfile(profile);
    if (parser.isSet(QStringLiteral("operator")))
        login.setOperator(parser.value(QStringLiteral("operator")));

    // Re-authentication keeps the window (and the user's place); only the session changes.
    QObject::connect(&window, &MainWindow::signInRequested, &login, [&] {
        login.setOperator(session.operatorName(), /*locked=*/true);
        login.setMessage(session.lockReason());
        login.open();
    });
    QObject::connect(&login, &QDialog::accepted, &window, [&] {
        if (!window.isVisible())
            window.show();
    });
    QObject::connect(&login, &QDialog::rejected, &app, [&] {
        if (!window.isVisible())
            QCoreApplication::quit();
    });
    login.show();
    if (parser.isSet(QStringLiteral("secret-stdin"))) {
        std::string line;
        std::getline(std::cin, line);
        login.setSecret(QString::fromStdString(line).trimmed());
        login.setRemember(parser.isSet(QStringLiteral("remember")));
        login.signIn();
    }
    return app.exec();
}
