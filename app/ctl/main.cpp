// ledgerctl: wiring only. The commands live beside this file and call services.

#include "Cli.h"

#include <QGuiApplication>

#include <cstdio>
#include <memory>
#include <thread>

namespace {

// Only `statement export` and `statement batch` draw (the PDF writer needs QtGui's fonts); every
// other command keeps a plain QCoreApplication.
bool needsGui(int argc, char *argv[])
{
    return argc >= 3 && qstrcmp(argv[1], "statement") == 0 &&
           (qstrcmp(argv[2], "export") == 0 || qstrcmp(argv[2], "batch") == 0);
}

// The offscreen platform's one remark on a machine without a session: not the user's
// business, and ledgerctl's stderr carries one line per error.
QtMessageHandler previousHandler = nullptr;
void quietHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (type == QtWarningMsg &&
        message.startsWith(QLatin1String("QStandardPaths: XDG_RUNTIME_DIR")))
        return;
    if (previousHandler)
        previousHandler(type, context, message);
    else
        std::fprintf(stderr, "%s\n", qPrintable(qFormatLogMessage(type, context, message)));
}

} // namespace

int main(int argc, char *argv[])
{
    // With a QGuiApplication (statement export: PDF), ledgerctl opens no window and needs no
    // display: the offscreen platform. Its thread is then the "GUI thread", on which
    // database connections refuse to run, so every command runs on a thread of its own.
    std::unique_ptr<QCoreApplication> app;
    if (needsGui(argc, argv)) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
        previousHandler = qInstallMessageHandler(quietHandler);
        app = std::make_unique<QGuiApplication>(argc, argv);
    } else {
        app = std::make_unique<QCoreApplication>(argc, argv);
    }
    QCoreApplication::setApplicationName(QStringLiteral("ledgerctl"));
    QCoreApplication::setOrganizationName(QStringLiteral("LedgerConsole"));
    QCoreApplication::setApplicationVersion(QStringLiteral(LEDGER_VERSION));

    QList<ledger::cli::Command> commands;
    commands += ledger::cli::migrateCommands();
    commands += ledger::cli::demoCommands();
    commands += ledger::cli::accountCommands();
    commands += ledger::cli::ledgerCommands();
    commands += ledger::cli::reversalCommands();
    commands += ledger::cli::seedCommands();
    commands += ledger::cli::accessCommands();
    commands += ledger::cli::auditCommands();
    commands += ledger::cli::checkCommands();
    commands += ledger::cli::reportingCommands();
    commands += ledger::cli::reportCommands();
    commands += ledger::cli::statementCommands();
    commands += ledger::cli::reconCommands();
    commands += ledger::cli::outboxCommands();
    commands += ledger::cli::maintainCommands();
    const QStringList arguments = QCoreApplication::arguments();
    int exitCode = 0;
    std::thread command([&] { exitCode = ledger::cli::dispatch(arguments, commands); });
    command.join();
    return exitCode;
}
