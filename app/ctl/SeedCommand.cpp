#include "Cli.h"

#include "db/AccountRepository.h"
#include "db/Connection.h"
#include "demo/DemoChart.h"

namespace ledger::cli {

namespace {

int runSeed(const Invocation &inv)
{
    int customers = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("accounts"), 0, 1000000, &customers, &code))
        return code;
    auto chart = DemoChart::load();
    if (!chart)
        return inv.fail(chart.error());
    QList<NewAccount> accounts = chart.value().houseAccounts();
    accounts += chart.value().customerAccounts(customers);

    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    // All or nothing; existing codes are skipped so that seeding twice is harmless.
    const int opened = AccountRepository::openMany(connection, accounts, /*skipExisting=*/true);
    const qint64 total = AccountRepository::count(connection);
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("accounts_opened"), opened},
                       {QStringLiteral("accounts_total"), total}});
    else
        inv.printLine(QStringLiteral("Opened %1 account(s); the ledger has %2.").arg(opened).arg(total));
    return Ok;
}

} // namespace

QList<Command> seedCommands()
{
    Command seed;
    seed.name = QStringLiteral("seed");
    seed.summary = QStringLiteral("load demo data: the house chart of accounts and N customer accounts");
    seed.description = QStringLiteral(
        "Loads the demo profile: the bank's house accounts (cash, settlement, fees, interest, "
        "suspense, equity) and N customer deposit accounts with generated names, in one "
        "transaction. Accounts that already exist are left alone, so running it twice is "
        "harmless.");
    seed.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("accounts"), QStringLiteral("Number of customer accounts (default 200)."),
                     QStringLiteral("N"), QStringLiteral("200")});
    };
    seed.run = runSeed;
    return {seed};
}

} // namespace ledger::cli
