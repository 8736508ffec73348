#include "Cli.h"

#include "db/AccountRepository.h"
#include "db/Connection.h"

#include <QJsonArray>

namespace ledger::cli {

namespace {

QJsonObject toJson(const Account &a)
{
    return {{QStringLiteral("id"), a.id},
            {QStringLiteral("code"), a.code},
            {QStringLiteral("name"), a.name},
            {QStringLiteral("currency"), a.currency},
            {QStringLiteral("kind"), toString(a.kind)},
            {QStringLiteral("normal_side"), toString(normalSide(a.kind))},
            {QStringLiteral("no_negative"), !a.allowNegative},
            {QStringLiteral("opened_at"), a.openedAt.toString(Qt::ISODateWithMs)}};
}

int runOpen(const Invocation &inv)
{
    const QCommandLineParser &p = *inv.parser;
    NewAccount a;
    a.code = p.value(QStringLiteral("code"));
    a.name = p.value(QStringLiteral("name"));
    a.currency = p.value(QStringLiteral("currency")).toUpper();
    const QString kind = p.value(QStringLiteral("kind"));
    for (const auto &[option, value] :
         {std::pair{QStringLiteral("code"), a.code}, std::pair{QStringLiteral("name"), a.name},
          std::pair{QStringLiteral("currency"), a.currency},
          std::pair{QStringLiteral("kind"), kind}}) {
        if (value.isEmpty())
            return inv.usage(QStringLiteral("--%1 is required.").arg(option));
    }
    const auto parsedKind = accountKindFromString(kind);
    if (!parsedKind)
        return inv.usage(QStringLiteral("--kind must be asset, liability, equity, income or "
                                        "expense, not '%1'.")
                             .arg(kind));
    a.kind = *parsedKind;
    a.allowNegative = !p.isSet(QStringLiteral("no-negative"));

    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const Account opened = AccountRepository::open(connection, a);
    if (inv.json) {
        QJsonObject o = toJson(opened);
        o.insert(QStringLiteral("ok"), true);
        inv.printJson(o);
    } else {
        inv.printLine(QString::number(opened.id));
    }
    return Ok;
}

int runList(const Invocation &inv)
{
    AccountRepository::ListFilter filter;
    filter.text = inv.parser->value(QStringLiteral("search"));
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const QList<Account> accounts = AccountRepository::list(connection, filter);
    if (inv.json) {
        QJsonArray rows;
        for (const Account &a : accounts)
            rows.append(toJson(a));
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("accounts"), rows}});
        return Ok;
    }
    for (const Account &a : accounts) {
        QStringList row{a.code, a.currency, toString(a.kind), a.name};
        if (!a.allowNegative)
            row << QStringLiteral("(no negative)");
        inv.printRow(row);
    }
    return Ok;
}

} // namespace

QList<Command> accountCommands()
{
    Command open;
    open.name = QStringLiteral("account open");
    open.summary = QStringLiteral("open a ledger account");
    open.description = QStringLiteral(
        "Opens an account through ledger.open_account() and prints its id. Assets and expenses "
        "are debit-normal; liabilities, equity and income credit-normal. --no-negative forbids "
        "a negative balance on the account's normal side.");
    open.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("code"),
                     QStringLiteral("Account code (1-64 of A-Z a-z 0-9 . _ : / -)."),
                     QStringLiteral("CODE")});
        p.addOption(
            {QStringLiteral("name"), QStringLiteral("Account name."), QStringLiteral("NAME")});
        p.addOption({QStringLiteral("currency"),
                     QStringLiteral("ISO 4217 currency code, e.g. EUR."), QStringLiteral("CUR")});
        p.addOption({QStringLiteral("kind"),
                     QStringLiteral("asset, liability, equity, income or expense."),
                     QStringLiteral("KIND")});
        p.addOption({QStringLiteral("no-negative"),
                     QStringLiteral("Refuse postings that would make the balance negative.")});
    };
    open.run = runOpen;

    Command list;
    list.name = QStringLiteral("account list");
    list.summary = QStringLiteral("list accounts (code, currency, kind, name)");
    list.description = QStringLiteral("Lists accounts ordered by code, tab-separated, or as JSON.");
    list.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("search"),
                     QStringLiteral("Only accounts whose code or name contains TEXT."),
                     QStringLiteral("TEXT")});
    };
    list.run = runList;
    return {open, list};
}

} // namespace ledger::cli
