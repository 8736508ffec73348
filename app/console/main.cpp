// ledger-console: wiring only. Builds the worker, the models and the main window.

#include "AccountListModel.h"
#include "MainWindow.h"
#include "db/Connection.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QRegularExpression>

#include <cstdio>

using namespace ledger;

namespace {

void setUpParser(QCommandLineParser &parser)
{
    parser.setApplicationDescription(QStringLiteral(
        "Ledger Console: the back-office and audit console for a PostgreSQL double-entry "
        "ledger.\n\n"
        "--dsn opens a direct database connection (for a DBA or a test cluster); the window "
        "title says so. Without --dsn, LEDGER_DSN or libpq's PG* environment variables are "
        "used."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({QStringLiteral("dsn"),
                      QStringLiteral("libpq connection string, e.g. \"host=/path port=5432 "
                                     "dbname=ledger user=me\" (default: $LEDGER_DSN)."),
                      QStringLiteral("DSN")});
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
        return dsn.isEmpty() ? QStringLiteral("PG* environment") : redactDsn(dsn);
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
            std::printf("%s", qPrintable(early.helpText()));
            return 0;
        }
    }

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ledger-console"));
    QApplication::setOrganizationName(QStringLiteral("LedgerConsole"));
    QApplication::setApplicationVersion(QStringLiteral(LEDGER_VERSION));
    QApplication::setApplicationDisplayName(QStringLiteral("Ledger Console"));

    QCommandLineParser parser;
    setUpParser(parser);
    parser.process(app);

    QString dsn = parser.value(QStringLiteral("dsn"));
    if (dsn.isEmpty())
        dsn = qEnvironmentVariable("LEDGER_DSN");

    DbWorker worker(dsn, QStringLiteral("ledger-console"));
    AccountListModel accounts(&worker);
    MainWindow window(&accounts, connectionLabel(dsn), /*directConnection=*/true);
    window.show();
    accounts.refresh();
    return app.exec();
}
