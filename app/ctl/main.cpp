// ledgerctl: wiring only. The commands live beside this file and call services.

#include "Cli.h"

#include <QCoreApplication>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
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
    commands += ledger::cli::reportingCommands();
    return ledger::cli::dispatch(QCoreApplication::arguments(), commands);
}
