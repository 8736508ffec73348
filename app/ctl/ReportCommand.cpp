#include "Cli.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/ReportingRepository.h"
#include "domain/InstantText.h"
#include "domain/Money.h"
#include "domain/SpreadsheetText.h"

#include <QJsonArray>
#include <QMap>

#include <algorithm>
#include <functional>
#include <memory>

namespace ledger::cli {

namespace {

QString utcText(const QDateTime &t)
{
    return formatInstant(t, QTimeZone::utc());
}

QString money(qint64 minor, int exponent)
{
    return Money::formatMinor(minor, exponent);
}

// What a report prints, whatever the format.
struct Table
{
    QString title;                // text: the first line (the source is added)
    QStringList columns;          // CSV header; JSON keys of rows and totals
    QList<QStringList> rows;      // text cells, in column order
    QList<QStringList> totalRows; // after the rows (CSV, text); "totals" in JSON
    QStringList notes;            // text: last lines (the checks)
    QJsonObject extra;            // JSON: more keys
    QString problem;              // non-empty: printed on stderr, exit 1 (the rows still print)
};

QJsonArray objects(const QStringList &columns, const QList<QStringList> &rows)
{
    QJsonArray out;
    for (const QStringList &row : rows) {
        QJsonObject o;
        for (int i = 0; i < columns.size() && i < row.size(); ++i)
            o.insert(columns.at(i), row.at(i));
        out.append(o);
    }
    return out;
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
    if (!inv.parser->isSet(QStringLiteral("use-ledger")))
        return inv.fail(QStringLiteral("Not run: %1. See `ledgerctl reporting replica status`; "
                                       "or add --use-ledger to run the report on the ledger "
                                       "itself (that choice is recorded with the report).")
                            .arg(problem));
    source->fallbackReason = problem;
    inv.progress(QStringLiteral("Running on the ledger: %1.").arg(problem));
    return Ok;
}

using Make = std::function<Table(Connection &)>;

// Every report: the source chosen, the run recorded on the ledger's chain (committed), the
// report read, printed as text, CSV or JSON.
int runReport(const Invocation &inv, const QString &name, QJsonObject params, bool knownAtGiven,
              const Make &make)
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
    params.insert(QStringLiteral("source"),
                  source.store ? QStringLiteral("reporting_store") : QStringLiteral("ledger"));
    if (!source.fallbackReason.isEmpty())
        params.insert(QStringLiteral("store_refused"), source.fallbackReason);
    const qint64 event = ReportingRepository::recordReport(ledger, name, params);
    Connection &reads = source.store ? *source.store : ledger;
    const ReportingRepository::StoreState state = ReportingRepository::storeState(reads);
    const bool fromAggregates = state.isStore && !knownAtGiven;
    const Table table = make(reads);
    const QString sourceText =
        state.isStore ? QStringLiteral("the reporting store, replicated through %1 (%2)")
                            .arg(state.replicatedAt.isValid() ? utcText(state.replicatedAt)
                                                              : QStringLiteral("nothing yet"),
                                 fromAggregates ? QStringLiteral("its aggregates")
                                                : QStringLiteral("its copy of the entries"))
                      : QStringLiteral("the ledger (its entries)");

    if (format == QLatin1String("json")) {
        QJsonObject o{{QStringLiteral("ok"), table.problem.isEmpty()},
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
                      {QStringLiteral("rows"), objects(table.columns, table.rows)},
                      {QStringLiteral("totals"), objects(table.columns, table.totalRows)}};
        for (auto it = table.extra.begin(); it != table.extra.end(); ++it)
            o.insert(it.key(), it.value());
        inv.printJson(o);
    } else if (format == QLatin1String("csv")) {
        const auto line = [&](const QStringList &cells) {
            QStringList out;
            for (const QString &c : cells)
                out << csvField(spreadsheetSafe(c));
            inv.printLine(out.join(QLatin1Char(',')));
        };
        line(table.columns);
        for (const QStringList &r : table.rows)
            line(r);
        for (const QStringList &r : table.totalRows)
            line(r);
    } else {
        inv.printLine(QStringLiteral("%1; from %2.").arg(table.title, sourceText));
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
struct Dates
{
    QDate asOf;
    QDate from;
    QDate to;
    std::optional<QDateTime> knownAt;
};

int readDates(const Invocation &inv, bool period, Dates *d)
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
    if (period) {
        if (!date(QStringLiteral("to"), today, &d->to) ||
            !date(QStringLiteral("from"), QDate(d->to.year(), d->to.month(), 1), &d->from))
            return inv.usage(QStringLiteral("--from and --to are dates, YYYY-MM-DD (UTC days, "
                                            "both included)."));
        if (d->from > d->to)
            return inv.usage(QStringLiteral("--from is after --to."));
    } else if (!date(QStringLiteral("as-of"), today, &d->asOf)) {
        return inv.usage(QStringLiteral("--as-of is a date, YYYY-MM-DD (the report is as of the "
                                        "end of that UTC day)."));
    }
    // Volumes define no --known-at (their figures are as known now).
    if (inv.parser->optionNames().contains(QStringLiteral("known-at"))) {
        auto t =
            parseTime(inv.parser->value(QStringLiteral("known-at")), QStringLiteral("known-at"));
        if (!t)
            return inv.usage(t.error().message);
        d->knownAt = t.value();
    }
    return Ok;
}

QJsonObject paramsOf(const Dates &d, bool period)
{
    QJsonObject p;
    if (period) {
        p.insert(QStringLiteral("from"), d.from.toString(Qt::ISODate));
        p.insert(QStringLiteral("to"), d.to.toString(Qt::ISODate));
    } else {
        p.insert(QStringLiteral("as_of"), d.asOf.toString(Qt::ISODate));
    }
    if (d.knownAt)
        p.insert(QStringLiteral("known_at"), d.knownAt->toUTC().toString(Qt::ISODateWithMs));
    return p;
}

QString knownText(const Dates &d)
{
    return d.knownAt ? QStringLiteral("as known at %1").arg(utcText(*d.knownAt))
                     : QStringLiteral("as known now");
}

struct Sums
{
    int exponent = 2;
    qint64 a = 0;
    qint64 b = 0;
    qint64 c = 0;
    qint64 d = 0;
};

int runTrialBalance(const Invocation &inv)
{
    Dates d;
    if (int code = readDates(inv, false, &d); code != Ok)
        return code;
    return runReport(
        inv, QStringLiteral("trial_balance"), paramsOf(d, false), bool(d.knownAt),
        [&](Connection &c) {
            const auto rows = ReportingRepository::trialBalance(c, d.asOf, d.knownAt);
            Table t;
            t.title = QStringLiteral("Trial balance as of the end of %1 (UTC), %2")
                          .arg(d.asOf.toString(Qt::ISODate), knownText(d));
            t.columns = QStringList{QStringLiteral("account"), QStringLiteral("name"),
                                    QStringLiteral("kind"),    QStringLiteral("currency"),
                                    QStringLiteral("debit"),   QStringLiteral("credit"),
                                    QStringLiteral("entries")};
            QMap<QString, Sums> sums;
            for (const auto &r : rows) {
                t.rows.append({r.account, r.name, r.kind, r.currency,
                               money(r.debitMinor, r.exponent), money(r.creditMinor, r.exponent),
                               QString::number(r.entries)});
                Sums &s = sums[r.currency];
                s.exponent = r.exponent;
                s.a += r.debitMinor;
                s.b += r.creditMinor;
            }
            bool balanced = true;
            for (auto it = sums.begin(); it != sums.end(); ++it) {
                t.totalRows.append({QString(), QStringLiteral("Total"), QString(), it.key(),
                                    money(it->a, it->exponent), money(it->b, it->exponent),
                                    QString()});
                t.notes << QStringLiteral("%1: debits %2, credits %3: %4")
                               .arg(it.key(), money(it->a, it->exponent),
                                    money(it->b, it->exponent),
                                    it->a == it->b ? QStringLiteral("balanced")
                                                   : QStringLiteral("NOT BALANCED"));
                balanced = balanced && it->a == it->b;
            }
            t.extra.insert(QStringLiteral("balanced"), balanced);
            if (!balanced)
                t.problem = QStringLiteral("The trial balance does not balance: the ledger's "
                                           "rows are not what its rules allow. Run `ledgerctl "
                                           "audit verify`.");
            return t;
        });
}

// Assets = liabilities + equity + the result not yet closed (income less expenses), each
// on its normal side, per currency.
int runBalanceSheet(const Invocation &inv)
{
    Dates d;
    if (int code = readDates(inv, false, &d); code != Ok)
        return code;
    return runReport(
        inv, QStringLiteral("balance_sheet"), paramsOf(d, false), bool(d.knownAt),
        [&](Connection &c) {
            const auto rows = ReportingRepository::trialBalance(c, d.asOf, d.knownAt);
            Table t;
            t.title = QStringLiteral("Balance sheet as of the end of %1 (UTC), %2")
                          .arg(d.asOf.toString(Qt::ISODate), knownText(d));
            t.columns = QStringList{QStringLiteral("section"), QStringLiteral("account"),
                                    QStringLiteral("name"), QStringLiteral("currency"),
                                    QStringLiteral("amount")};
            // a: assets, b: liabilities, c: equity, d: result.
            QMap<QString, Sums> sums;
            for (const QString &kind :
                 {QStringLiteral("asset"), QStringLiteral("liability"), QStringLiteral("equity")})
                for (const auto &r : rows) {
                    if (r.kind != kind)
                        continue;
                    const qint64 net = r.debitMinor - r.creditMinor;
                    const qint64 shown = kind == QLatin1String("asset") ? net : -net;
                    t.rows.append({kind, r.account, r.name, r.currency, money(shown, r.exponent)});
                    Sums &s = sums[r.currency];
                    s.exponent = r.exponent;
                    (kind == QLatin1String("asset")       ? s.a
                     : kind == QLatin1String("liability") ? s.b
                                                          : s.c) += shown;
                }
            for (const auto &r : rows)
                if (r.kind == QLatin1String("income") || r.kind == QLatin1String("expense")) {
                    Sums &s = sums[r.currency];
                    s.exponent = r.exponent;
                    s.d += r.creditMinor - r.debitMinor;
                }
            bool balanced = true;
            for (auto it = sums.begin(); it != sums.end(); ++it) {
                const int e = it->exponent;
                t.totalRows << QStringList{QStringLiteral("total"), QString(),
                                           QStringLiteral("Assets"), it.key(), money(it->a, e)}
                            << QStringList{QStringLiteral("total"), QString(),
                                           QStringLiteral("Liabilities"), it.key(), money(it->b, e)}
                            << QStringList{QStringLiteral("total"), QString(),
                                           QStringLiteral("Equity"), it.key(), money(it->c, e)}
                            << QStringList{QStringLiteral("total"), QString(),
                                           QStringLiteral("Result not yet closed (income less "
                                                          "expenses)"),
                                           it.key(), money(it->d, e)};
                const bool ok = it->a == it->b + it->c + it->d;
                balanced = balanced && ok;
                t.notes << QStringLiteral("%1: assets %2 = liabilities %3 + equity %4 + result "
                                          "%5: %6")
                               .arg(it.key(), money(it->a, e), money(it->b, e), money(it->c, e),
                                    money(it->d, e),
                                    ok ? QStringLiteral("balanced")
                                       : QStringLiteral("NOT BALANCED"));
            }
            t.extra.insert(QStringLiteral("balanced"), balanced);
            if (!balanced)
                t.problem = QStringLiteral("The balance sheet does not balance: the ledger's "
                                           "rows are not what its rules allow. Run `ledgerctl "
                                           "audit verify`.");
            return t;
        });
}

int runIncomeStatement(const Invocation &inv)
{
    Dates d;
    if (int code = readDates(inv, true, &d); code != Ok)
        return code;
    return runReport(
        inv, QStringLiteral("income_statement"), paramsOf(d, true), bool(d.knownAt),
        [&](Connection &c) {
            const auto rows = ReportingRepository::movements(c, d.from, d.to, d.knownAt);
            Table t;
            t.title =
                QStringLiteral("Income statement from %1 to %2 (UTC days), %3")
                    .arg(d.from.toString(Qt::ISODate), d.to.toString(Qt::ISODate), knownText(d));
            t.columns = QStringList{QStringLiteral("section"), QStringLiteral("account"),
                                    QStringLiteral("name"),    QStringLiteral("currency"),
                                    QStringLiteral("amount"),  QStringLiteral("entries")};
            QMap<QString, Sums> sums; // a: income, b: expenses
            for (const QString &kind : {QStringLiteral("income"), QStringLiteral("expense")})
                for (const auto &r : rows) {
                    if (r.kind != kind || r.entries == 0)
                        continue;
                    const bool income = kind == QLatin1String("income");
                    const qint64 shown = income ? -r.movementMinor : r.movementMinor;
                    t.rows.append({kind, r.account, r.name, r.currency, money(shown, r.exponent),
                                   QString::number(r.entries)});
                    Sums &s = sums[r.currency];
                    s.exponent = r.exponent;
                    (income ? s.a : s.b) += shown;
                }
            for (auto it = sums.begin(); it != sums.end(); ++it) {
                const int e = it->exponent;
                t.totalRows << QStringList{QStringLiteral("total"),  QString(),
                                           QStringLiteral("Income"), it.key(),
                                           money(it->a, e),          QString()}
                            << QStringList{QStringLiteral("total"),
                                           QString(),
                                           QStringLiteral("Expenses"),
                                           it.key(),
                                           money(it->b, e),
                                           QString()}
                            << QStringList{QStringLiteral("total"),  QString(),
                                           QStringLiteral("Result"), it.key(),
                                           money(it->a - it->b, e),  QString()};
                t.notes << QStringLiteral("%1: income %2, expenses %3, result %4")
                               .arg(it.key(), money(it->a, e), money(it->b, e),
                                    money(it->a - it->b, e));
            }
            return t;
        });
}

int runTopMovers(const Invocation &inv)
{
    Dates d;
    if (int code = readDates(inv, true, &d); code != Ok)
        return code;
    int limit = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("limit"), 1, 10000, &limit, &code))
        return code;
    QJsonObject params = paramsOf(d, true);
    params.insert(QStringLiteral("limit"), limit);
    return runReport(
        inv, QStringLiteral("top_movers"), params, bool(d.knownAt), [&](Connection &c) {
            auto rows = ReportingRepository::movements(c, d.from, d.to, d.knownAt);
            std::stable_sort(rows.begin(), rows.end(), [](const auto &x, const auto &y) {
                if (x.currency != y.currency)
                    return x.currency < y.currency;
                return std::abs(x.movementMinor) > std::abs(y.movementMinor);
            });
            Table t;
            t.title =
                QStringLiteral("The %1 largest net movements per currency from %2 to %3 "
                               "(UTC days), %4")
                    .arg(limit)
                    .arg(d.from.toString(Qt::ISODate), d.to.toString(Qt::ISODate), knownText(d));
            t.columns = QStringList{
                QStringLiteral("rank"),    QStringLiteral("account"),  QStringLiteral("name"),
                QStringLiteral("kind"),    QStringLiteral("currency"), QStringLiteral("movement"),
                QStringLiteral("opening"), QStringLiteral("closing"),  QStringLiteral("entries")};
            QMap<QString, int> ranks;
            for (const auto &r : rows) {
                if (r.entries == 0 || ++ranks[r.currency] > limit)
                    continue;
                t.rows.append({QString::number(ranks[r.currency]), r.account, r.name, r.kind,
                               r.currency, money(r.movementMinor, r.exponent),
                               money(r.openingMinor, r.exponent), money(r.closingMinor, r.exponent),
                               QString::number(r.entries)});
            }
            return t;
        });
}

int runVolumes(const Invocation &inv)
{
    Dates d;
    if (int code = readDates(inv, true, &d); code != Ok)
        return code;
    const QString unit = inv.parser->value(QStringLiteral("by")).toLower();
    if (unit != QLatin1String("day") && unit != QLatin1String("week") &&
        unit != QLatin1String("month"))
        return inv.usage(QStringLiteral("--by is day, week or month."));
    QJsonObject params = paramsOf(d, true);
    params.insert(QStringLiteral("by"), unit);
    return runReport(inv, QStringLiteral("volumes"), params, false, [&](Connection &c) {
        const auto rows = ReportingRepository::volumes(c, d.from, d.to, unit);
        Table t;
        t.title = QStringLiteral("Volumes per %1 from %2 to %3 (UTC days, effective time)")
                      .arg(unit, d.from.toString(Qt::ISODate), d.to.toString(Qt::ISODate));
        t.columns = QStringList{QStringLiteral("period"), QStringLiteral("currency"),
                                QStringLiteral("entries"), QStringLiteral("debits"),
                                QStringLiteral("credits")};
        QMap<QString, Sums> sums;
        for (const auto &r : rows) {
            t.rows.append({r.period.toString(Qt::ISODate), r.currency, QString::number(r.entries),
                           money(r.debitsMinor, r.exponent), money(r.creditsMinor, r.exponent)});
            Sums &s = sums[r.currency];
            s.exponent = r.exponent;
            s.a += r.entries;
            s.b += r.debitsMinor;
            s.c += r.creditsMinor;
        }
        for (auto it = sums.begin(); it != sums.end(); ++it)
            t.totalRows.append({QStringLiteral("total"), it.key(), QString::number(it->a),
                                money(it->b, it->exponent), money(it->c, it->exponent)});
        return t;
    });
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
    return {trial, sheet, income, movers, volumes};
}

} // namespace ledger::cli
