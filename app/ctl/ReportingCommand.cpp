#include "Cli.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/ReplicaAdmin.h"
#include "db/ReportingRepository.h"
#include "domain/InstantText.h"
#include "domain/Money.h"
#include "domain/SpreadsheetText.h"

#include <QJsonArray>
#include <QMap>

#include <memory>

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

struct CurrencyTotals
{
    int exponent = 2;
    qint64 debits = 0;
    qint64 credits = 0;
};

QMap<QString, CurrencyTotals> totalsOf(const ReportingRepository::TrialBalance &tb)
{
    QMap<QString, CurrencyTotals> totals;
    for (const auto &r : tb.rows) {
        CurrencyTotals &t = totals[r.currency];
        t.exponent = r.exponent;
        t.debits += r.debitMinor;
        t.credits += r.creditMinor;
    }
    return totals;
}

QString utcText(const QDateTime &t)
{
    return formatInstant(t, QTimeZone::utc());
}

// Where the report runs: the reporting store (--reporting-dsn) when it answers and is
// recent enough; else refused, or the ledger when the operator chose --use-ledger (the
// choice and its reason go into the report's audit record).
struct ReportSource
{
    std::unique_ptr<Connection> store;
    QString fallbackReason; // non-empty: run on the ledger instead of the store
};

int openReportSource(const Invocation &inv, ReportSource *source)
{
    const QString storeDsn = inv.parser->value(QStringLiteral("reporting-dsn"));
    if (storeDsn.trimmed().isEmpty())
        return Ok;
    int maxLag = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("max-lag"), 1, 31 * 24 * 3600, &maxLag, &code))
        return code;
    const bool useLedger = inv.parser->isSet(QStringLiteral("use-ledger"));
    QString problem;
    try {
        auto store = std::make_unique<Connection>(storeDsn, QStringLiteral("ledgerctl"));
        const ReportingRepository::StoreState state = ReportingRepository::storeState(*store);
        const QDateTime now = QDateTime::currentDateTimeUtc();
        if (!state.isStore)
            problem = QStringLiteral("the database --reporting-dsn names is not a reporting "
                                     "store (no subscription folds the ledger's entries there)");
        else if (!state.replicatedAt.isValid())
            problem = QStringLiteral("the reporting store has not heard from the ledger yet");
        else if (state.replicatedAt.secsTo(now) > maxLag)
            problem = QStringLiteral("the reporting store last heard from the ledger at %1, "
                                     "%2 s ago (more than --max-lag %3 s)")
                          .arg(utcText(state.replicatedAt))
                          .arg(state.replicatedAt.secsTo(now))
                          .arg(maxLag);
        else
            source->store = std::move(store);
    } catch (const DbException &e) {
        problem =
            QStringLiteral("the reporting store could not be reached (%1)").arg(e.error().message);
    }
    if (problem.isEmpty())
        return Ok;
    if (!useLedger)
        return inv.fail(QStringLiteral("Not run: %1. See `ledgerctl reporting replica status`; "
                                       "or add --use-ledger to run the report on the ledger "
                                       "itself (that choice is recorded with the report).")
                            .arg(problem));
    source->fallbackReason = problem;
    inv.progress(QStringLiteral("Running on the ledger: %1.").arg(problem));
    return Ok;
}

int runTrialBalance(const Invocation &inv)
{
    const QString format =
        inv.json ? QStringLiteral("json") : inv.parser->value(QStringLiteral("format")).toLower();
    if (format != QLatin1String("text") && format != QLatin1String("csv") &&
        format != QLatin1String("json"))
        return inv.usage(QStringLiteral("--format is text, csv or json."));
    QDate asOf = QDate::currentDate();
    if (inv.parser->isSet(QStringLiteral("as-of"))) {
        asOf = QDate::fromString(inv.parser->value(QStringLiteral("as-of")), Qt::ISODate);
        if (!asOf.isValid())
            return inv.usage(QStringLiteral("--as-of is a date, YYYY-MM-DD (the report is as of "
                                            "the end of that UTC day)."));
    }
    std::optional<QDateTime> knownAt;
    if (inv.parser->isSet(QStringLiteral("known-at"))) {
        auto t =
            parseTime(inv.parser->value(QStringLiteral("known-at")), QStringLiteral("known-at"));
        if (!t)
            return inv.usage(t.error().message);
        knownAt = t.value();
    }
    ReportSource source;
    if (int code = openReportSource(inv, &source); code != Ok)
        return code;

    Connection ledger(inv.dsn(), QStringLiteral("ledgerctl"));
    QJsonObject params{{QStringLiteral("as_of"), asOf.toString(Qt::ISODate)},
                       {QStringLiteral("source"), source.store ? QStringLiteral("reporting_store")
                                                               : QStringLiteral("ledger")}};
    if (knownAt)
        params.insert(QStringLiteral("known_at"), knownAt->toUTC().toString(Qt::ISODateWithMs));
    if (!source.fallbackReason.isEmpty())
        params.insert(QStringLiteral("store_refused"), source.fallbackReason);
    const qint64 event =
        ReportingRepository::recordReport(ledger, QStringLiteral("trial_balance"), params);
    const ReportingRepository::TrialBalance tb =
        ReportingRepository::trialBalance(source.store ? *source.store : ledger, asOf, knownAt);
    const QMap<QString, CurrencyTotals> totals = totalsOf(tb);
    bool balanced = true;
    for (const CurrencyTotals &t : totals)
        balanced = balanced && t.debits == t.credits;
    const QString knownText = tb.knownAt ? utcText(*tb.knownAt) : QStringLiteral("now");
    const QString sourceText =
        tb.source.isStore
            ? QStringLiteral("the reporting store, replicated through %1 (%2)")
                  .arg(tb.source.replicatedAt.isValid() ? utcText(tb.source.replicatedAt)
                                                        : QStringLiteral("nothing yet"),
                       tb.fromDailyTotals ? QStringLiteral("its daily totals")
                                          : QStringLiteral("its copy of the entries"))
            : QStringLiteral("the ledger (its entries)");

    if (format == QLatin1String("json")) {
        QJsonArray rows;
        for (const auto &r : tb.rows)
            rows.append(QJsonObject{
                {QStringLiteral("account"), r.account},
                {QStringLiteral("name"), r.name},
                {QStringLiteral("kind"), r.kind},
                {QStringLiteral("currency"), r.currency},
                {QStringLiteral("debit"), Money::formatMinor(r.debitMinor, r.exponent)},
                {QStringLiteral("credit"), Money::formatMinor(r.creditMinor, r.exponent)},
                {QStringLiteral("debit_minor"), QString::number(r.debitMinor)},
                {QStringLiteral("credit_minor"), QString::number(r.creditMinor)},
                {QStringLiteral("entries"), double(r.entries)}});
        QJsonArray sums;
        for (auto it = totals.begin(); it != totals.end(); ++it)
            sums.append(QJsonObject{
                {QStringLiteral("currency"), it.key()},
                {QStringLiteral("debits"), Money::formatMinor(it->debits, it->exponent)},
                {QStringLiteral("credits"), Money::formatMinor(it->credits, it->exponent)},
                {QStringLiteral("balanced"), it->debits == it->credits}});
        QJsonObject o{{QStringLiteral("ok"), balanced},
                      {QStringLiteral("report"), QStringLiteral("trial_balance")},
                      {QStringLiteral("as_of"), asOf.toString(Qt::ISODate)},
                      {QStringLiteral("known_at"),
                       tb.knownAt ? QJsonValue(tb.knownAt->toUTC().toString(Qt::ISODateWithMs))
                                  : QJsonValue()},
                      {QStringLiteral("reporting_store"), tb.source.isStore},
                      {QStringLiteral("replicated_at"),
                       tb.source.replicatedAt.isValid()
                           ? QJsonValue(tb.source.replicatedAt.toUTC().toString(Qt::ISODateWithMs))
                           : QJsonValue()},
                      {QStringLiteral("from"), tb.fromDailyTotals ? QStringLiteral("daily_totals")
                                                                  : QStringLiteral("entries")},
                      {QStringLiteral("audit_event"), double(event)},
                      {QStringLiteral("rows"), rows},
                      {QStringLiteral("totals"), sums},
                      {QStringLiteral("balanced"), balanced}};
        inv.printJson(o);
    } else if (format == QLatin1String("csv")) {
        const auto line = [&](const QStringList &cells) {
            QStringList out;
            for (const QString &c : cells)
                out << csvField(spreadsheetSafe(c));
            inv.printLine(out.join(QLatin1Char(',')));
        };
        line({QStringLiteral("account"), QStringLiteral("name"), QStringLiteral("kind"),
              QStringLiteral("currency"), QStringLiteral("debit"), QStringLiteral("credit"),
              QStringLiteral("entries")});
        for (const auto &r : tb.rows)
            line({r.account, r.name, r.kind, r.currency,
                  Money::formatMinor(r.debitMinor, r.exponent),
                  Money::formatMinor(r.creditMinor, r.exponent), QString::number(r.entries)});
        for (auto it = totals.begin(); it != totals.end(); ++it)
            line({QString(), QStringLiteral("Total"), QString(), it.key(),
                  Money::formatMinor(it->debits, it->exponent),
                  Money::formatMinor(it->credits, it->exponent), QString()});
    } else {
        inv.printLine(QStringLiteral("Trial balance as of the end of %1 (UTC), as known %2%3; "
                                     "from %4.")
                          .arg(asOf.toString(Qt::ISODate),
                               tb.knownAt ? QStringLiteral("at ") : QString(), knownText,
                               sourceText));
        inv.printRow({QStringLiteral("account"), QStringLiteral("kind"), QStringLiteral("currency"),
                      QStringLiteral("debit"), QStringLiteral("credit"), QStringLiteral("name")});
        for (const auto &r : tb.rows)
            inv.printRow({r.account, r.kind, r.currency,
                          Money::formatMinor(r.debitMinor, r.exponent),
                          Money::formatMinor(r.creditMinor, r.exponent), r.name});
        for (auto it = totals.begin(); it != totals.end(); ++it)
            inv.printLine(QStringLiteral("%1: debits %2, credits %3: %4")
                              .arg(it.key(), Money::formatMinor(it->debits, it->exponent),
                                   Money::formatMinor(it->credits, it->exponent),
                                   it->debits == it->credits ? QStringLiteral("balanced")
                                                             : QStringLiteral("NOT BALANCED")));
    }
    if (!balanced) {
        inv.progress(QStringLiteral("The trial balance does not balance: the ledger's rows "
                                    "are not what its rules allow. Run `ledgerctl audit "
                                    "verify`."));
        return Failed;
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

    Command trial;
    trial.name = QStringLiteral("report trial-balance");
    trial.summary = QStringLiteral("every account's balance as of a date, debits against credits");
    trial.description = QStringLiteral(
        "Every account's balance at the end of the UTC day --as-of (effective time; default "
        "today), as the ledger knew it at --known-at (default now), in the debit or the credit "
        "column, with the totals per currency, which must agree (exit 1 and a warning when "
        "they do not). The run is recorded first on the ledger's audit chain (--dsn: a console "
        "session of any group), with its parameters. With --reporting-dsn (a session on a "
        "reporting store, see `reporting replica setup`) the report is read there, from the "
        "store's daily totals (from its copy of the entries with --known-at); it is refused "
        "when the store cannot be reached or last heard from the ledger more than --max-lag "
        "seconds ago, unless --use-ledger runs it on the ledger instead (recorded with the "
        "reason). Without --reporting-dsn the ledger serves it.");
    trial.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("as-of"),
                     QStringLiteral("The date (YYYY-MM-DD), as of the end of that UTC day."),
                     QStringLiteral("DATE")});
        p.addOption({QStringLiteral("known-at"),
                     QStringLiteral("As the ledger knew it at this time (ISO 8601)."),
                     QStringLiteral("T")});
        p.addOption({QStringLiteral("format"), QStringLiteral("text, csv or json."),
                     QStringLiteral("F"), QStringLiteral("text")});
        p.addOption({QStringLiteral("reporting-dsn"),
                     QStringLiteral("Read the report from this reporting store."),
                     QStringLiteral("DSN")});
        p.addOption({QStringLiteral("max-lag"),
                     QStringLiteral("Refuse a store that last heard from the ledger longer ago "
                                    "(seconds, default 300)."),
                     QStringLiteral("S"), QStringLiteral("300")});
        p.addOption({QStringLiteral("use-ledger"),
                     QStringLiteral("When the store is refused, run on the ledger instead.")});
    };
    trial.run = runTrialBalance;
    return {refresh, setup, status, trial};
}

} // namespace ledger::cli
