#include "Cli.h"

#include <limits>

#include "db/AccountRepository.h"
#include "db/Connection.h"
#include "db/ReportingRepository.h"
#include "db/SeedLoader.h"
#include "demo/DemoChart.h"
#include "demo/DemoHistory.h"

#include <QElapsedTimer>

namespace ledger::cli {

namespace {

// A history bigger than this would not fit comfortably in memory (a few hundred bytes a
// transaction while it is generated and loaded).
constexpr int kMaxTransactions = 20'000'000;

QString seconds(qint64 ms)
{
    return QString::number(double(ms) / 1000.0, 'f', 1);
}

int runSeed(const Invocation &inv)
{
    int customers = 0;
    int transactions = 0;
    int years = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("accounts"), 0, 1000000, &customers, &code) ||
        !intOption(inv, QStringLiteral("transactions"), 0, kMaxTransactions, &transactions,
                   &code) ||
        !intOption(inv, QStringLiteral("years"), 1, 50, &years, &code))
        return code;
    auto chart = DemoChart::load();
    if (!chart)
        return inv.fail(chart.error());
    const QList<NewAccount> house = chart.value().houseAccounts();
    const QList<NewAccount> customerAccounts = chart.value().customerAccounts(customers);

    QElapsedTimer total;
    total.start();
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    SeedLoader::requireThrowawayDatabase(connection); // before anything is written
    // All or nothing; existing codes are skipped so that seeding twice is harmless.
    const int opened = AccountRepository::openMany(connection, house + customerAccounts,
                                                   /*skipExisting=*/true);
    const qint64 accountsTotal = AccountRepository::count(connection);

    if (transactions > 0 && inv.parser->isSet(QStringLiteral("if-empty")) &&
        SeedLoader(connection).inspect().latestRecordedUs != std::numeric_limits<qint64>::min()) {
        if (!inv.json)
            inv.progress(
                QStringLiteral("The ledger already has entries: no history loaded (--if-empty)."));
        transactions = 0;
    }

    SeedReport report;
    qint64 generateMs = 0;
    qint64 loadMs = 0;
    if (transactions > 0) {
        QElapsedTimer step;
        step.start();
        SeedLoader loader(connection);
        const SeedTarget target = loader.inspect();
        DemoHistory::Options options;
        options.transactions = transactions;
        options.years = years;
        options.nowUs = target.serverNowUs;
        options.notBeforeUs = target.latestRecordedUs;
        options.currencyExponents = target.currencyExponents;
        if (!inv.json)
            inv.progress(QStringLiteral("Generating %1 transaction(s) over %2 year(s) ...")
                             .arg(transactions)
                             .arg(years));
        const auto history = DemoHistory::generate(house, customerAccounts, options);
        if (!history)
            return inv.fail(history.error());
        generateMs = step.restart();

        // Progress on stderr for people watching: each phase, and every few seconds.
        QElapsedTimer sincePrinted;
        QString lastPhase;
        const auto progress = [&](const SeedProgress &p) {
            if (inv.json)
                return true;
            if (p.phase == lastPhase && sincePrinted.isValid() && sincePrinted.elapsed() < 3000)
                return true;
            lastPhase = p.phase;
            sincePrinted.start();
            inv.progress(QStringLiteral("  %1: %2 of %3 rows (%4 s)")
                             .arg(p.phase)
                             .arg(p.rows)
                             .arg(p.totalRows)
                             .arg(seconds(total.elapsed())));
            return true;
        };
        report = loader.load(history.value(), progress);
        loadMs = step.elapsed();
    }
    // The charts' hourly balances for the accounts that got many entries.
    ReportingRepository::RefreshReport reporting;
    if (report.transactions > 0) {
        if (!inv.json)
            inv.progress(QStringLiteral("Bringing the reporting store up to date ..."));
        reporting = ReportingRepository::refreshStale(connection);
    }
    const qint64 totalMs = total.elapsed();

    if (inv.json) {
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("accounts_opened"), opened},
                       {QStringLiteral("accounts_total"), accountsTotal},
                       {QStringLiteral("transactions"), report.transactions},
                       {QStringLiteral("entries"), report.entries},
                       {QStringLiteral("reversals"), report.reversals},
                       {QStringLiteral("backdated"), report.backdated},
                       {QStringLiteral("future_dated"), report.futureDated},
                       {QStringLiteral("run_id"), report.runId},
                       {QStringLiteral("first_transaction_id"), report.firstTransactionId},
                       {QStringLiteral("last_transaction_id"), report.lastTransactionId},
                       {QStringLiteral("generate_seconds"), double(generateMs) / 1000.0},
                       {QStringLiteral("load_seconds"), double(loadMs) / 1000.0},
                       {QStringLiteral("reporting_accounts"), reporting.accounts},
                       {QStringLiteral("reporting_seconds"), double(reporting.elapsedMs) / 1000.0},
                       {QStringLiteral("elapsed_seconds"), double(totalMs) / 1000.0}});
        return Ok;
    }
    inv.printLine(
        QStringLiteral("Opened %1 account(s); the ledger has %2.").arg(opened).arg(accountsTotal));
    if (report.transactions > 0)
        inv.printLine(
            QStringLiteral("Loaded %1 transaction(s) with %2 entries (%3 reversals, "
                           "%4 backdated, %5 future-dated; ids %6 to %7, run %8) in "
                           "%9 s (generating %10 s, loading %11 s).")
                .arg(report.transactions)
                .arg(report.entries)
                .arg(report.reversals)
                .arg(report.backdated)
                .arg(report.futureDated)
                .arg(report.firstTransactionId)
                .arg(report.lastTransactionId)
                .arg(report.runId, seconds(totalMs), seconds(generateMs), seconds(loadMs)));
    if (reporting.accounts > 0)
        inv.printLine(QStringLiteral("Reporting store: hourly balances of %1 account(s) with "
                                     "%2 entries built in %3 s.")
                          .arg(reporting.accounts)
                          .arg(reporting.entries)
                          .arg(seconds(reporting.elapsedMs)));
    if (report.transactions == 0)
        inv.printLine(QStringLiteral("Done in %1 s.").arg(seconds(totalMs)));
    return Ok;
}

} // namespace

QList<Command> seedCommands()
{
    Command seed;
    seed.name = QStringLiteral("seed");
    seed.summary = QStringLiteral(
        "load demo data: the house chart, N customers and M transactions of history");
    seed.description = QStringLiteral(
        "Loads the demo profile: the bank's house accounts (cash, settlement, fees, interest, "
        "suspense, equity) and N customer deposit accounts with generated names, in one "
        "transaction. Accounts that already exist are left alone, so running it twice is "
        "harmless.\n\n"
        "With --transactions M it then loads M transactions of realistic history spread over "
        "the last Y years (deposits, card payments, fees, interest, refunds, daily card "
        "settlements, some backdated, future-dated and reversed ones) in bulk, in one "
        "database transaction, checks the ledger's invariants and writes one audit event, then "
        "brings the reporting store (the charts' hourly balances) up to date. "
        "Each run appends: run again and the new history is recorded after everything "
        "already in the ledger. Needs a superuser connection. While it runs, writers and "
        "readers of accounts, transactions and entries wait for it.");
    seed.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("accounts"),
                     QStringLiteral("Number of customer accounts (default 200)."),
                     QStringLiteral("N"), QStringLiteral("200")});
        p.addOption({QStringLiteral("transactions"),
                     QStringLiteral("Transactions of history to load (default 0: accounts only)."),
                     QStringLiteral("M"), QStringLiteral("0")});
        p.addOption(
            {QStringLiteral("years"),
             QStringLiteral("Years the history spans, ending shortly before now (default 2)."),
             QStringLiteral("Y"), QStringLiteral("2")});
        p.addOption(
            {QStringLiteral("if-empty"),
             QStringLiteral("Load the history only if the ledger has no entries yet (so that a "
                            "set-up script can run it every time).")});
    };
    seed.run = runSeed;
    return {seed};
}

} // namespace ledger::cli
