#include "Cli.h"

#include "db/Connection.h"
#include "db/ReplicaAdmin.h"
#include "db/ReportingRepository.h"

#include <QJsonArray>

#include <memory>

namespace ledger::cli {

namespace {

void printRefresh(const Invocation &inv, const ReportingRepository::RefreshReport &r,
                  const QString &account)
{
    if (r.entries == 0) {
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
}

int runRefresh(const Invocation &inv)
{
    int minEntries = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("min-entries"), 1, 1000000000, &minEntries, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const QString account = inv.parser->value(QStringLiteral("account"));
    const int snapshots = ReportingRepository::takeSnapshots(connection);
    const ReportingRepository::RefreshReport r =
        account.isEmpty() ? ReportingRepository::refreshStale(connection, minEntries)
                          : ReportingRepository::refreshAccount(connection, account);
    if (inv.json) {
        inv.printJson({{QStringLiteral("accounts"), r.accounts},
                       {QStringLiteral("entries"), r.entries},
                       {QStringLiteral("snapshots"), snapshots},
                       {QStringLiteral("elapsed_seconds"), double(r.elapsedMs) / 1000.0}});
    } else {
        if (snapshots > 0)
            inv.printLine(QStringLiteral("Took %1 balance snapshot(s) for trial "
                                         "balances.")
                              .arg(snapshots));
        printRefresh(inv, r, account);
    }
    return Ok;
}

QJsonObject statusJson(const ReplicaAdmin::Status &s)
{
    QJsonObject o{{QStringLiteral("state"), s.state()},
                  {QStringLiteral("tables_ready"), s.tablesReady},
                  {QStringLiteral("tables"), s.tablesTotal}};
    o.insert(QStringLiteral("lag_bytes"),
             s.lagBytes < 0 ? QJsonValue() : QJsonValue(double(s.lagBytes)));
    o.insert(QStringLiteral("lag_seconds"), s.lagSeconds < 0 ? QJsonValue() : s.lagSeconds);
    o.insert(QStringLiteral("last_message_at"),
             s.lastMessageAt.isValid()
                 ? QJsonValue(s.lastMessageAt.toUTC().toString(Qt::ISODateWithMs))
                 : QJsonValue());
    return o;
}

int requireDsn(const Invocation &inv, const QString &option, QString *dsn)
{
    *dsn = inv.parser->value(option);
    if (dsn->trimmed().isEmpty())
        return inv.usage(QStringLiteral("--%1 DSN is required.").arg(option));
    return Ok;
}

int runReplicaSetup(const Invocation &inv)
{
    QString primaryDsn;
    QString replicaDsn;
    if (int code = requireDsn(inv, QStringLiteral("primary"), &primaryDsn); code != Ok)
        return code;
    if (int code = requireDsn(inv, QStringLiteral("replica"), &replicaDsn); code != Ok)
        return code;
    Connection primary(primaryDsn, QStringLiteral("ledgerctl"));
    Connection replica(replicaDsn, QStringLiteral("ledgerctl"));
    const ReplicaAdmin::SetupReport r = ReplicaAdmin::setup(primary, replica, primaryDsn);
    if (inv.json) {
        inv.printJson({{QStringLiteral("publication_created"), r.publicationCreated},
                       {QStringLiteral("subscription_created"), r.subscriptionCreated},
                       {QStringLiteral("replica_migrations"), r.replicaMigrations},
                       {QStringLiteral("tables"), QJsonArray::fromStringList(r.tables)}});
        return Ok;
    }
    inv.printLine(QStringLiteral("Publication %1 on the ledger %2: %3.")
                      .arg(QLatin1String(ReplicaAdmin::kName),
                           r.publicationCreated ? QStringLiteral("created")
                                                : QStringLiteral("was there (tables set again)"),
                           r.tables.join(QStringLiteral(", "))));
    inv.printLine(QStringLiteral("Reporting store: %1 migration(s) applied; subscription %2.")
                      .arg(r.replicaMigrations)
                      .arg(r.subscriptionCreated ? QStringLiteral("created (the initial copy "
                                                                  "runs in the background)")
                                                 : QStringLiteral("was there (refreshed)")));
    inv.printLine(QStringLiteral("See how far behind it is with `ledgerctl reporting replica "
                                 "status`."));
    return Ok;
}

int runReplicaStatus(const Invocation &inv)
{
    QString replicaDsn;
    if (int code = requireDsn(inv, QStringLiteral("replica"), &replicaDsn); code != Ok)
        return code;
    Connection replica(replicaDsn, QStringLiteral("ledgerctl"));
    const QString primaryDsn = inv.parser->value(QStringLiteral("primary"));
    std::unique_ptr<Connection> primary;
    if (!primaryDsn.trimmed().isEmpty())
        primary = std::make_unique<Connection>(primaryDsn, QStringLiteral("ledgerctl"));
    const ReplicaAdmin::Status s = ReplicaAdmin::status(primary.get(), replica);
    if (inv.json) {
        inv.printJson(statusJson(s));
        return s.subscribed ? Ok : Failed;
    }
    if (!s.subscribed) {
        inv.printLine(QStringLiteral("The reporting store has no subscription %1: run "
                                     "`ledgerctl reporting replica setup`.")
                          .arg(QLatin1String(ReplicaAdmin::kName)));
        return Failed;
    }
    inv.printLine(QStringLiteral("Subscription %1: %2; %3 of %4 tables copied.")
                      .arg(QLatin1String(ReplicaAdmin::kName), s.state())
                      .arg(s.tablesReady)
                      .arg(s.tablesTotal));
    inv.printLine(s.lagBytes < 0 ? QStringLiteral("Lag: unknown (give --primary to measure it).")
                                 : QStringLiteral("Lag: %1 bytes of WAL, %2 s.")
                                       .arg(s.lagBytes)
                                       .arg(s.lagSeconds, 0, 'f', 1));
    inv.printLine(QStringLiteral("Last message from the ledger: %1.")
                      .arg(s.lastMessageAt.isValid()
                               ? s.lastMessageAt.toUTC().toString(Qt::ISODateWithMs)
                               : QStringLiteral("none")));
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
        "On a reporting store (see `reporting replica setup`) it also takes the balance "
        "snapshots that trial balances start from, on the 15th and the last day of every "
        "month since the first entry, up to the day before yesterday. Needs the ledger_writer role "
        "or the owner.");
    refresh.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("account"), QStringLiteral("Only this account (any size)."),
                     QStringLiteral("CODE")});
        p.addOption({QStringLiteral("min-entries"),
                     QStringLiteral("Accounts with fewer entries are left out (default 2000)."),
                     QStringLiteral("N"), QStringLiteral("2000")});
    };
    refresh.run = runRefresh;

    Command setup;
    setup.name = QStringLiteral("reporting replica setup");
    setup.summary = QStringLiteral("feed a reporting store on another server by logical "
                                   "replication");
    setup.description = QStringLiteral(
        "Makes the database --replica (on another PostgreSQL server) a reporting store of the "
        "ledger --primary: migrates it, publishes the ledger's accounts, transactions, "
        "entries and operator registry, and subscribes the reporting store to them; the "
        "reporting store folds the entries into its own daily totals as they arrive, so the "
        "ledger does no reporting work. Idempotent: run again, it sets the published tables "
        "again and refreshes the subscription. Both DSNs are a superuser's. The ledger's "
        "server needs wal_level = logical and a free replication slot; --primary is stored in "
        "the subscription and used by the reporting store's server, so it names the ledger as "
        "that server reaches it.");
    setup.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("primary"),
                     QStringLiteral("The ledger database (a superuser's DSN)."),
                     QStringLiteral("DSN")});
        p.addOption({QStringLiteral("replica"),
                     QStringLiteral("The reporting store's database (a superuser's DSN)."),
                     QStringLiteral("DSN")});
    };
    setup.run = runReplicaSetup;
    setup.needsDsn = false;

    Command status;
    status.name = QStringLiteral("reporting replica status");
    status.summary = QStringLiteral("how far behind the reporting store is");
    status.description = QStringLiteral(
        "The reporting store's subscription: its state (streaming, initial copy, stopped, "
        "disabled, not set up), how many tables are past their initial copy, when the ledger "
        "last sent a message and, with --primary, the lag in bytes of WAL and seconds. Exits 1 "
        "when there is no subscription.");
    status.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("replica"),
                     QStringLiteral("The reporting store's database (a superuser's DSN)."),
                     QStringLiteral("DSN")});
        p.addOption({QStringLiteral("primary"),
                     QStringLiteral("The ledger database, to measure the lag (optional)."),
                     QStringLiteral("DSN")});
    };
    status.run = runReplicaStatus;
    status.needsDsn = false;

    return {refresh, setup, status};
}

} // namespace ledger::cli
