#include "Cli.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/ReportingRepository.h"
#include "domain/InstantText.h"
#include "report/ReportTables.h"

#include <QJsonArray>

#include <functional>
#include <memory>

namespace ledger::cli {

namespace {

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
    QString problem;
    try {
        auto store = std::make_unique<Connection>(storeDsn, QStringLiteral("ledgerctl"));
        const ReportSourceState state = ReportingRepository::storeState(*store);
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
    if (!inv.parser->isSet(QStringLiteral("use-ledger")))
        return inv.fail(QStringLiteral("Not run: %1. See `ledgerctl reporting replica status`; "
                                       "or add --use-ledger to run the report on the ledger "
                                       "itself (that choice is recorded with the report).")
                            .arg(problem));
    source->fallbackReason = problem;
    inv.progress(QStringLiteral("Running on the ledger: %1.").arg(problem));
    return Ok;
}

using Make = std::function<ReportTable(Connection &)>;

// Every report: the source chosen, the run recorded on the ledger's chain (committed), the
// report read, printed as text, CSV or JSON.
int runReport(const Invocation &inv, const ReportRequest &request, const Make &make)
{
    const QString format =
        inv.json ? QStringLiteral("json") : inv.parser->value(QStringLiteral("format")).toLower();
    if (format != QLatin1String("text") && format != QLatin1String("csv") &&
        format != QLatin1String("json"))
        return inv.usage(QStringLiteral("--format is text, csv or json."));
    ReportSource source;
    if (int code = openReportSource(inv, &source); code != Ok)
        return code;
    Connection ledger(inv.dsn(), QStringLiteral("ledgerctl"));
    const QString name = ReportTables::name(request.kind);
    QJsonObject params = ReportTables::params(request);
    params.insert(QStringLiteral("source"),
                  source.store ? QStringLiteral("reporting_store") : QStringLiteral("ledger"));
    if (!source.fallbackReason.isEmpty())
        params.insert(QStringLiteral("store_refused"), source.fallbackReason);
    const qint64 event = ReportingRepository::recordReport(ledger, name, params);
    Connection &reads = source.store ? *source.store : ledger;
    const ReportSourceState state = ReportingRepository::storeState(reads);
    const bool fromAggregates = state.isStore && !(request.knownAt && request.takesKnownAt());
    const ReportTable table = make(reads);

    if (format == QLatin1String("json")) {
        QJsonObject o{
            {QStringLiteral("ok"), table.problem.isEmpty()},
            {QStringLiteral("report"), name},
            {QStringLiteral("params"), params},
            {QStringLiteral("reporting_store"), state.isStore},
            {QStringLiteral("replicated_at"),
             state.replicatedAt.isValid()
                 ? QJsonValue(state.replicatedAt.toUTC().toString(Qt::ISODateWithMs))
                 : QJsonValue()},
            {QStringLiteral("from"),
             fromAggregates ? QStringLiteral("aggregates") : QStringLiteral("entries")},
            {QStringLiteral("audit_event"), double(event)},
            {QStringLiteral("rows"), ReportTables::objects(table.columns, table.rows)},
            {QStringLiteral("totals"), ReportTables::objects(table.columns, table.totalRows)}};
        for (auto it = table.extra.begin(); it != table.extra.end(); ++it)
            o.insert(it.key(), it.value());
        inv.printJson(o);
    } else if (format == QLatin1String("csv")) {
        for (const QString &line : ReportTables::csvLines(table))
            inv.printLine(line);
    } else {
        inv.printLine(QStringLiteral("%1; from %2.")
                          .arg(table.title, ReportTables::sourceText(state, fromAggregates)));
        inv.printRow(table.columns);
        for (const QStringList &r : table.rows)
            inv.printRow(r);
        for (const QStringList &r : table.totalRows)
            inv.printRow(r);
        for (const QString &n : table.notes)
            inv.printLine(n);
    }
    if (!table.problem.isEmpty()) {
        inv.progress(table.problem);
        return Failed;
    }
    return Ok;
}

// --as-of (default today), --from/--to (default: --to today, --from the first of its month),
// --known-at.
int readDates(const Invocation &inv, ReportRequest *r)
{
    const auto date = [&](const QString &name, const QDate &fallback, QDate *out) {
        if (!inv.parser->isSet(name)) {
            *out = fallback;
            return true;
        }
        *out = QDate::fromString(inv.parser->value(name), Qt::ISODate);
        return out->isValid();
    };
    const QDate today = QDateTime::currentDateTimeUtc().date();
    if (r->isPeriod()) {
        if (!date(QStringLiteral("to"), today, &r->to) ||
            !date(QStringLiteral("from"), QDate(r->to.year(), r->to.month(), 1), &r->from))
            return inv.usage(QStringLiteral("--from and --to are dates, YYYY-MM-DD (UTC days, "
                                            "both included)."));
        if (r->from > r->to)
            return inv.usage(QStringLiteral("--from is after --to."));
    } else if (!date(QStringLiteral("as-of"), today, &r->asOf)) {
        return inv.usage(QStringLiteral("--as-of is a date, YYYY-MM-DD (the report is as of the "
                                        "end of that UTC day)."));
    }
    // Volumes define no --known-at (their figures are as known now).
    if (r->takesKnownAt() && inv.parser->isSet(QStringLiteral("known-at"))) {
        auto t =
            parseTime(inv.parser->value(QStringLiteral("known-at")), QStringLiteral("known-at"));
        if (!t)
            return inv.usage(t.error().message);
        r->knownAt = t.value();
    }
    return Ok;
}

int runTrialBalance(const Invocation &inv)
{
    ReportRequest r;
    r.kind = ReportKind::TrialBalance;
    if (int code = readDates(inv, &r); code != Ok)
        return code;
    return runReport(inv, r, [&](Connection &c) {
        return ReportTables::trialBalance(ReportingRepository::trialBalance(c, r.asOf, r.knownAt),
                                          r);
    });
}

int runBalanceSheet(const Invocation &inv)
{
    ReportRequest r;
    r.kind = ReportKind::BalanceSheet;
    if (int code = readDates(inv, &r); code != Ok)
        return code;
    return runReport(inv, r, [&](Connection &c) {
        return ReportTables::balanceSheet(ReportingRepository::trialBalance(c, r.asOf, r.knownAt),
                                          r);
    });
}

int runIncomeStatement(const Invocation &inv)
{
    ReportRequest r;
    r.kind = ReportKind::IncomeStatement;
    if (int code = readDates(inv, &r); code != Ok)
        return code;
    return runReport(inv, r, [&](Connection &c) {
        return ReportTables::incomeStatement(
            ReportingRepository::movements(c, r.from, r.to, r.knownAt), r);
    });
}

int runTopMovers(const Invocation &inv)
{
    ReportRequest r;
    r.kind = ReportKind::TopMovers;
    if (int code = readDates(inv, &r); code != Ok)
        return code;
    int code = 0;
    if (!intOption(inv, QStringLiteral("limit"), 1, 10000, &r.limit, &code))
        return code;
    return runReport(inv, r, [&](Connection &c) {
        return ReportTables::topMovers(ReportingRepository::movements(c, r.from, r.to, r.knownAt),
                                       r);
    });
}

int runVolumes(const Invocation &inv)
{
    ReportRequest r;
    r.kind = ReportKind::Volumes;
    if (int code = readDates(inv, &r); code != Ok)
        return code;
    r.unit = inv.parser->value(QStringLiteral("by")).toLower();
    if (r.unit != QLatin1String("day") && r.unit != QLatin1String("week") &&
        r.unit != QLatin1String("month"))
        return inv.usage(QStringLiteral("--by is day, week or month."));
    return runReport(inv, r, [&](Connection &c) {
        return ReportTables::volumes(ReportingRepository::volumes(c, r.from, r.to, r.unit), r);
    });
}

// The exported reports (the console's exports) and whether entries recorded since change
// them.
int runExports(const Invocation &inv)
{
    int limit = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("limit"), 1, 1000, &limit, &code))
        return code;
    Connection ledger(inv.dsn(), QStringLiteral("ledgerctl"));
    const QList<ReportExport> exports = ReportingRepository::reportExports(ledger, limit);
    const auto when = [](const ReportExport &x) {
        return x.asOf.isValid() ? x.asOf.toString(Qt::ISODate)
                                : QStringLiteral("%1..%2").arg(x.from.toString(Qt::ISODate),
                                                               x.to.toString(Qt::ISODate));
    };
    int restated = 0;
    for (const ReportExport &x : exports)
        restated += x.restated() ? 1 : 0;
    if (inv.json) {
        QJsonArray rows;
        for (const ReportExport &x : exports)
            rows.append(QJsonObject{
                {QStringLiteral("id"), double(x.id)},
                {QStringLiteral("run_event"), double(x.runEvent)},
                {QStringLiteral("report"), x.report},
                {QStringLiteral("as_of"),
                 x.asOf.isValid() ? QJsonValue(x.asOf.toString(Qt::ISODate)) : QJsonValue()},
                {QStringLiteral("from"),
                 x.from.isValid() ? QJsonValue(x.from.toString(Qt::ISODate)) : QJsonValue()},
                {QStringLiteral("to"),
                 x.to.isValid() ? QJsonValue(x.to.toString(Qt::ISODate)) : QJsonValue()},
                {QStringLiteral("known_at"), x.knownAt.toUTC().toString(Qt::ISODateWithMs)},
                {QStringLiteral("format"), x.format},
                {QStringLiteral("sha256"), x.sha256},
                {QStringLiteral("exported_by"), x.exportedBy},
                {QStringLiteral("exported_at"), x.exportedAt.toUTC().toString(Qt::ISODateWithMs)},
                {QStringLiteral("late_entries"), double(x.lateEntries)},
                {QStringLiteral("restated"), x.restated()}});
        inv.printJson(
            QJsonObject{{QStringLiteral("exports"), rows}, {QStringLiteral("restated"), restated}});
        return Ok;
    }
    inv.printRow({QStringLiteral("exported_at"), QStringLiteral("by"), QStringLiteral("report"),
                  QStringLiteral("date"), QStringLiteral("format"), QStringLiteral("sha256"),
                  QStringLiteral("since")});
    for (const ReportExport &x : exports)
        inv.printRow({utcText(x.exportedAt), x.exportedBy, x.report, when(x), x.format, x.sha256,
                      x.restated()
                          ? QStringLiteral("RESTATED (%1 later entries)").arg(x.lateEntries)
                          : QStringLiteral("unchanged")});
    inv.printLine(QStringLiteral("%1 exports, %2 restated.").arg(exports.size()).arg(restated));
    return Ok;
}

void addSourceOptions(QCommandLineParser &p)
{
    p.addOption({QStringLiteral("format"), QStringLiteral("text, csv or json."),
                 QStringLiteral("F"), QStringLiteral("text")});
    p.addOption({QStringLiteral("reporting-dsn"),
                 QStringLiteral("Read the report from this reporting store (a session there)."),
                 QStringLiteral("DSN")});
    p.addOption({QStringLiteral("max-lag"),
                 QStringLiteral("Refuse a store that last heard from the ledger longer ago "
                                "(seconds, default 300)."),
                 QStringLiteral("S"), QStringLiteral("300")});
    p.addOption({QStringLiteral("use-ledger"),
                 QStringLiteral("When the store is refused, run on the ledger instead.")});
}

void addAsOf(QCommandLineParser &p)
{
    p.addOption({QStringLiteral("as-of"),
                 QStringLiteral("The date (YYYY-MM-DD), as of the end of that UTC day (default "
                                "today)."),
                 QStringLiteral("DATE")});
}

void addPeriod(QCommandLineParser &p)
{
    p.addOption({QStringLiteral("from"),
                 QStringLiteral("The period's first UTC day (default: the first of --to's "
                                "month)."),
                 QStringLiteral("DATE")});
    p.addOption({QStringLiteral("to"), QStringLiteral("The period's last UTC day (default today)."),
                 QStringLiteral("DATE")});
}

void addKnownAt(QCommandLineParser &p)
{
    p.addOption({QStringLiteral("known-at"),
                 QStringLiteral("As the ledger knew it at this time (ISO 8601; default now)."),
                 QStringLiteral("T")});
}

const QString kCommon = QStringLiteral(
    " Each run is recorded first on the ledger's audit chain (report.run, with its parameters) "
    "over --dsn, a console session of any group. With --reporting-dsn (a session on a "
    "reporting store, see `reporting replica setup`) the report is then read there, from the "
    "store's aggregates (from its copy of the entries with --known-at), and says how far the "
    "store had replicated; a store that cannot be reached or last heard from the ledger more "
    "than --max-lag seconds ago is refused, unless --use-ledger runs the report on the ledger "
    "(recorded with the reason). Without --reporting-dsn the ledger serves it.");

} // namespace

QList<Command> reportCommands()
{
    Command trial;
    trial.name = QStringLiteral("report trial-balance");
    trial.summary = QStringLiteral("every account's balance as of a date, debits against credits");
    trial.description =
        QStringLiteral("Every account's balance at the end of the UTC day --as-of (effective "
                       "time), as the ledger knew it at --known-at, in the debit or the credit "
                       "column, with the totals per currency, which must agree (exit 1 and a "
                       "warning when they do not).") +
        kCommon;
    trial.addOptions = [](QCommandLineParser &p) {
        addAsOf(p);
        addKnownAt(p);
        addSourceOptions(p);
    };
    trial.run = runTrialBalance;

    Command sheet;
    sheet.name = QStringLiteral("report balance-sheet");
    sheet.summary = QStringLiteral("assets, liabilities and equity as of a date, by account");
    sheet.description =
        QStringLiteral("The asset, liability and equity accounts at the end of the UTC day "
                       "--as-of, each on its normal side, with the result not yet closed "
                       "(income less expenses); per currency assets must equal liabilities + "
                       "equity + result (exit 1 and a warning when they do not).") +
        kCommon;
    sheet.addOptions = trial.addOptions;
    sheet.run = runBalanceSheet;

    Command income;
    income.name = QStringLiteral("report income-statement");
    income.summary = QStringLiteral("income and expenses of a period, by account, and the result");
    income.description =
        QStringLiteral("The net movement of every income and expense account from --from to "
                       "--to (UTC days, both included; effective time), income and expenses "
                       "each positive on their normal side, and the result per currency.") +
        kCommon;
    income.addOptions = [](QCommandLineParser &p) {
        addPeriod(p);
        addKnownAt(p);
        addSourceOptions(p);
    };
    income.run = runIncomeStatement;

    Command movers;
    movers.name = QStringLiteral("report top-movers");
    movers.summary = QStringLiteral("the accounts whose balance moved most in a period");
    movers.description =
        QStringLiteral("Per currency, the --limit accounts with the largest net movement (by "
                       "size, either side) from --from to --to, with their opening and closing "
                       "balances (debit positive).") +
        kCommon;
    movers.addOptions = [](QCommandLineParser &p) {
        addPeriod(p);
        addKnownAt(p);
        p.addOption({QStringLiteral("limit"), QStringLiteral("Accounts per currency (default 10)."),
                     QStringLiteral("N"), QStringLiteral("10")});
        addSourceOptions(p);
    };
    movers.run = runTopMovers;

    Command volumes;
    volumes.name = QStringLiteral("report volumes");
    volumes.summary = QStringLiteral("entries, debits and credits per day, week or month");
    volumes.description =
        QStringLiteral("Per currency and --by day, ISO week or month of effective time from "
                       "--from to --to: how many entries, and the sums of debits and credits "
                       "(as known now).") +
        kCommon;
    volumes.addOptions = [](QCommandLineParser &p) {
        addPeriod(p);
        p.addOption({QStringLiteral("by"), QStringLiteral("day, week or month (default day)."),
                     QStringLiteral("UNIT"), QStringLiteral("day")});
        addSourceOptions(p);
    };
    volumes.run = runVolumes;
    Command exports;
    exports.name = QStringLiteral("report exports");
    exports.summary = QStringLiteral("the exported reports, and which entries since have restated");
    exports.description = QStringLiteral(
        "The latest exported reports (the console's CSV and PDF exports, each on the ledger's "
        "record with its file's SHA-256), newest first, each with the number of entries "
        "recorded after the report was known that change it (late or backdated postings, "
        "reversals): such a report is RESTATED, like a statement. Over --dsn, a console "
        "session of any group.");
    exports.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("limit"), QStringLiteral("Exports to list (default 100)."),
                     QStringLiteral("N"), QStringLiteral("100")});
    };
    exports.run = runExports;
    return {trial, sheet, income, movers, volumes, exports};
}

} // namespace ledger::cli
