#include "ReportTables.h"

#include "domain/InstantText.h"
#include "domain/Money.h"
#include "domain/SpreadsheetText.h"

#include <QJsonObject>
#include <QMap>
#include <QTimeZone>

#include <algorithm>

namespace ledger::ReportTables {

namespace {

QString utcText(const QDateTime &t)
{
    return formatInstant(t, QTimeZone::utc());
}

QString money(qint64 minor, int exponent)
{
    return Money::formatMinor(minor, exponent);
}

QString day(const QDate &d)
{
    return d.toString(Qt::ISODate);
}

QString knownText(const ReportRequest &r)
{
    return r.knownAt ? QStringLiteral("as known at %1").arg(utcText(*r.knownAt))
                     : QStringLiteral("as known now");
}

// Per-currency sums of up to four figures and the currency's exponent.
struct Sums
{
    int exponent = 2;
    qint64 a = 0;
    qint64 b = 0;
    qint64 c = 0;
    qint64 d = 0;
};

} // namespace

QString name(ReportKind kind)
{
    switch (kind) {
    case ReportKind::TrialBalance:
        return QStringLiteral("trial_balance");
    case ReportKind::BalanceSheet:
        return QStringLiteral("balance_sheet");
    case ReportKind::IncomeStatement:
        return QStringLiteral("income_statement");
    case ReportKind::TopMovers:
        return QStringLiteral("top_movers");
    case ReportKind::Volumes:
        return QStringLiteral("volumes");
    }
    return {};
}

QJsonObject params(const ReportRequest &request)
{
    QJsonObject p;
    if (request.isPeriod()) {
        p.insert(QStringLiteral("from"), day(request.from));
        p.insert(QStringLiteral("to"), day(request.to));
    } else {
        p.insert(QStringLiteral("as_of"), day(request.asOf));
    }
    if (request.knownAt && request.takesKnownAt())
        p.insert(QStringLiteral("known_at"), request.knownAt->toUTC().toString(Qt::ISODateWithMs));
    if (request.kind == ReportKind::TopMovers)
        p.insert(QStringLiteral("limit"), request.limit);
    if (request.kind == ReportKind::Volumes)
        p.insert(QStringLiteral("by"), request.unit);
    return p;
}

ReportTable trialBalance(const QList<TrialBalanceRow> &rows, const ReportRequest &request)
{
    ReportTable t;
    t.title = QStringLiteral("Trial balance as of the end of %1 (UTC), %2")
                  .arg(day(request.asOf), knownText(request));
    t.columns =
        QStringList{QStringLiteral("account"),  QStringLiteral("name"),  QStringLiteral("kind"),
                    QStringLiteral("currency"), QStringLiteral("debit"), QStringLiteral("credit"),
                    QStringLiteral("entries")};
    QMap<QString, Sums> sums;
    for (const auto &r : rows) {
        t.rows.append({r.account, r.name, r.kind, r.currency, money(r.debitMinor, r.exponent),
                       money(r.creditMinor, r.exponent), QString::number(r.entries)});
        Sums &s = sums[r.currency];
        s.exponent = r.exponent;
        s.a += r.debitMinor;
        s.b += r.creditMinor;
    }
    bool balanced = true;
    for (auto it = sums.begin(); it != sums.end(); ++it) {
        t.totalRows.append({QString(), QStringLiteral("Total"), QString(), it.key(),
                            money(it->a, it->exponent), money(it->b, it->exponent), QString()});
        t.notes << QStringLiteral("%1: debits %2, credits %3: %4")
                       .arg(it.key(), money(it->a, it->exponent), money(it->b, it->exponent),
                            it->a == it->b ? QStringLiteral("balanced")
                                           : QStringLiteral("NOT BALANCED"));
        balanced = balanced && it->a == it->b;
    }
    t.extra.insert(QStringLiteral("balanced"), balanced);
    if (!balanced)
        t.problem = QStringLiteral("The trial balance does not balance: the ledger's rows are "
                                   "not what its rules allow. Run `ledgerctl audit verify`.");
    return t;
}

ReportTable balanceSheet(const QList<TrialBalanceRow> &rows, const ReportRequest &request)
{
    ReportTable t;
    t.title = QStringLiteral("Balance sheet as of the end of %1 (UTC), %2")
                  .arg(day(request.asOf), knownText(request));
    t.columns =
        QStringList{QStringLiteral("section"), QStringLiteral("account"), QStringLiteral("name"),
                    QStringLiteral("currency"), QStringLiteral("amount")};
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
        const auto total = [&](const QString &what, qint64 v) {
            t.totalRows << QStringList{QStringLiteral("total"), QString(), what, it.key(),
                                       money(v, e)};
        };
        total(QStringLiteral("Assets"), it->a);
        total(QStringLiteral("Liabilities"), it->b);
        total(QStringLiteral("Equity"), it->c);
        total(QStringLiteral("Result not yet closed (income less expenses)"), it->d);
        const bool ok = it->a == it->b + it->c + it->d;
        balanced = balanced && ok;
        t.notes << QStringLiteral("%1: assets %2 = liabilities %3 + equity %4 + result %5: %6")
                       .arg(it.key(), money(it->a, e), money(it->b, e), money(it->c, e),
                            money(it->d, e),
                            ok ? QStringLiteral("balanced") : QStringLiteral("NOT BALANCED"));
    }
    t.extra.insert(QStringLiteral("balanced"), balanced);
    if (!balanced)
        t.problem = QStringLiteral("The balance sheet does not balance: the ledger's rows are "
                                   "not what its rules allow. Run `ledgerctl audit verify`.");
    return t;
}

ReportTable incomeStatement(const QList<MovementRow> &rows, const ReportRequest &request)
{
    ReportTable t;
    t.title = QStringLiteral("Income statement from %1 to %2 (UTC days), %3")
                  .arg(day(request.from), day(request.to), knownText(request));
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
        const auto total = [&](const QString &what, qint64 v) {
            t.totalRows << QStringList{
                QStringLiteral("total"), QString(), what, it.key(), money(v, e), QString()};
        };
        total(QStringLiteral("Income"), it->a);
        total(QStringLiteral("Expenses"), it->b);
        total(QStringLiteral("Result"), it->a - it->b);
        t.notes << QStringLiteral("%1: income %2, expenses %3, result %4")
                       .arg(it.key(), money(it->a, e), money(it->b, e), money(it->a - it->b, e));
    }
    return t;
}

ReportTable topMovers(QList<MovementRow> rows, const ReportRequest &request)
{
    std::stable_sort(rows.begin(), rows.end(), [](const auto &x, const auto &y) {
        if (x.currency != y.currency)
            return x.currency < y.currency;
        return std::abs(x.movementMinor) > std::abs(y.movementMinor);
    });
    ReportTable t;
    t.title = QStringLiteral("The %1 largest net movements per currency from %2 to %3 (UTC "
                             "days), %4")
                  .arg(request.limit)
                  .arg(day(request.from), day(request.to), knownText(request));
    t.columns = QStringList{
        QStringLiteral("rank"),    QStringLiteral("account"),  QStringLiteral("name"),
        QStringLiteral("kind"),    QStringLiteral("currency"), QStringLiteral("movement"),
        QStringLiteral("opening"), QStringLiteral("closing"),  QStringLiteral("entries")};
    QMap<QString, int> ranks;
    for (const auto &r : rows) {
        if (r.entries == 0 || ++ranks[r.currency] > request.limit)
            continue;
        t.rows.append({QString::number(ranks[r.currency]), r.account, r.name, r.kind, r.currency,
                       money(r.movementMinor, r.exponent), money(r.openingMinor, r.exponent),
                       money(r.closingMinor, r.exponent), QString::number(r.entries)});
    }
    return t;
}

ReportTable volumes(const QList<VolumeRow> &rows, const ReportRequest &request)
{
    ReportTable t;
    t.title = QStringLiteral("Volumes per %1 from %2 to %3 (UTC days, effective time)")
                  .arg(request.unit, day(request.from), day(request.to));
    t.columns =
        QStringList{QStringLiteral("period"), QStringLiteral("currency"), QStringLiteral("entries"),
                    QStringLiteral("debits"), QStringLiteral("credits")};
    QMap<QString, Sums> sums;
    for (const auto &r : rows) {
        t.rows.append({day(r.period), r.currency, QString::number(r.entries),
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
}

QStringList csvLines(const ReportTable &table)
{
    QStringList lines;
    const auto line = [&](const QStringList &cells) {
        QStringList out;
        for (const QString &c : cells)
            out << csvField(spreadsheetSafe(c));
        lines << out.join(QLatin1Char(','));
    };
    line(table.columns);
    for (const QStringList &r : table.rows)
        line(r);
    for (const QStringList &r : table.totalRows)
        line(r);
    return lines;
}

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

QString sourceText(const ReportSourceState &source, bool fromAggregates)
{
    if (!source.isStore)
        return QStringLiteral("the ledger (its entries)");
    return QStringLiteral("the reporting store, replicated through %1 (%2)")
        .arg(source.replicatedAt.isValid() ? utcText(source.replicatedAt)
                                           : QStringLiteral("nothing yet"),
             fromAggregates ? QStringLiteral("its aggregates")
                            : QStringLiteral("its copy of the entries"));
}

} // namespace ledger::ReportTables
