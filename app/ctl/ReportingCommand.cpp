#include "Cli.h"

#include "db/Connection.h"
#include "db/ReportingRepository.h"

namespace ledger::cli {

namespace {

int runRefresh(const Invocation &inv)
{
    int minEntries = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("min-entries"), 1, 1000000000, &minEntries, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const QString account = inv.parser->value(QStringLiteral("account"));
    const ReportingRepository::RefreshReport r =
        account.isEmpty() ? ReportingRepository::refreshStale(connection, minEntries)
                          : ReportingRepository::refreshAccount(connection, account);
    if (inv.json) {
        inv.printJson({{QStringLiteral("accounts"), r.accounts},
                       {QStringLiteral("entries"), r.entries},
                       {QStringLiteral("elapsed_seconds"), double(r.elapsedMs) / 1000.0}});
    } else if (r.entries == 0) {
        inv.printLine(
            account.isEmpty()
                ? QStringLiteral("The reporting store is up to date.")
                : QStringLiteral("The reporting store is up to date for %1.").arg(account));
    } else {
        inv.printLine(QStringLiteral("Folded %1 entries of %2 account(s) into the hourly balance "
                                     "buckets in %3 s.")
                          .arg(r.entries)
                          .arg(r.accounts)
                          .arg(double(r.elapsedMs) / 1000.0, 0, 'f', 1));
    }
    return Ok;
}

} // namespace

QList<Command> reportingCommands()
{
    Command refresh;
    refresh.name = QStringLiteral("reporting refresh");
    refresh.summary =
        QStringLiteral("bring the reporting store (charts' hourly balances) up to date");
    refresh.description = QStringLiteral(
        "Folds the entries posted since the last refresh into the reporting store's hourly "
        "balance buckets, which the console's charts of long histories read. Without "
        "--account: every account with at least --min-entries entries whose buckets are "
        "behind (smaller accounts' charts read every entry anyway). pg_cron does this every "
        "minute where it is installed, and `seed` after loading; charts never wait for it and "
        "are exact without it, only slower on accounts with many entries posted since. "
        "Needs the ledger_writer role or the owner.");
    refresh.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("account"), QStringLiteral("Only this account (any size)."),
                     QStringLiteral("CODE")});
        p.addOption({QStringLiteral("min-entries"),
                     QStringLiteral("Accounts with fewer entries are left out (default 2000)."),
                     QStringLiteral("N"), QStringLiteral("2000")});
    };
    refresh.run = runRefresh;
    return {refresh};
}

} // namespace ledger::cli
