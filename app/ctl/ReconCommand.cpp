#include "Cli.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/ReconRepository.h"
#include "db/StatementRepository.h"
#include "demo/DemoBankFiles.h"
#include "domain/Money.h"
#include "recon/BankFileParser.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTimeZone>

namespace ledger::cli {

namespace {

QJsonObject countsJson(const QMap<QString, int> &counts)
{
    QJsonObject o;
    for (auto it = counts.begin(); it != counts.end(); ++it)
        o.insert(it.key(), it.value());
    return o;
}

QString countsText(const QMap<QString, int> &counts)
{
    QStringList parts;
    for (auto it = counts.begin(); it != counts.end(); ++it)
        parts << QStringLiteral("%1 %2").arg(it.value()).arg(it.key());
    return parts.isEmpty() ? QStringLiteral("none") : parts.join(QStringLiteral(", "));
}

QList<qint64> idList(const QString &text, bool *ok)
{
    QList<qint64> ids;
    *ok = true;
    for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool one = false;
        const qint64 id = part.trimmed().toLongLong(&one);
        if (!one || id <= 0)
            *ok = false;
        ids << id;
    }
    *ok = *ok && !ids.isEmpty();
    return ids;
}

// The positional exception id.
bool exceptionId(const Invocation &inv, qint64 *id, int *code)
{
    const QStringList args = inv.parser->positionalArguments();
    bool ok = false;
    *id = args.value(0).toLongLong(&ok);
    if (args.size() != 1 || !ok || *id <= 0) {
        *code = inv.usage(QStringLiteral("Give one exception id."));
        return false;
    }
    return true;
}

// --expected-event N, or the exception's last event now.
qint64 expectedEvent(const Invocation &inv, Connection &c, qint64 id)
{
    if (inv.parser->isSet(QStringLiteral("expected-event")))
        return inv.parser->value(QStringLiteral("expected-event")).toLongLong();
    return ReconRepository::exceptionHead(c, id);
}

int runMap(const Invocation &inv)
{
    const QString bank = inv.parser->value(QStringLiteral("bank-account"));
    const QString account = inv.parser->value(QStringLiteral("account"));
    if (bank.isEmpty() || account.isEmpty())
        return inv.usage(QStringLiteral("--bank-account and --account are required."));
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const qint64 id = ReconRepository::mapAccount(
        c, bank, inv.parser->value(QStringLiteral("currency")), account);
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("bank_account_id"), id}});
    else
        inv.printLine(QStringLiteral("Bank account %1 is mapped to %2.").arg(bank, account));
    return Ok;
}

int runImport(const Invocation &inv)
{
    const QCommandLineParser &p = *inv.parser;
    const QString path = p.value(QStringLiteral("file"));
    if (path.isEmpty())
        return inv.usage(QStringLiteral("--file is required: the bank statement file."));
    const QString format = p.value(QStringLiteral("format")).toLower();
    if (format != QLatin1String("auto") && format != QLatin1String("camt") &&
        format != QLatin1String("mt940") && format != QLatin1String("csv"))
        return inv.usage(QStringLiteral("--format must be auto, camt, mt940 or csv."));
    if (format == QLatin1String("csv") && !p.isSet(QStringLiteral("profile")))
        return inv.usage(QStringLiteral("A CSV file needs --profile NAME (its column layout)."));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return inv.fail(QStringLiteral("Cannot read %1: %2.").arg(path, file.errorString()));
    if (file.size() > BankFileParser::kMaxFileBytes)
        return inv.fail(QStringLiteral("%1 is too large to import; split it.").arg(path));
    const QByteArray bytes = file.readAll();

    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    BankFileParser::Format f = BankFileParser::Format::Auto;
    std::optional<CsvProfile> profile;
    if (format == QLatin1String("camt"))
        f = BankFileParser::Format::Camt;
    else if (format == QLatin1String("mt940"))
        f = BankFileParser::Format::Mt940;
    else if (format == QLatin1String("csv")) {
        f = BankFileParser::Format::Csv;
        const auto profiles = ReconRepository::csvProfiles(c);
        const QString name = p.value(QStringLiteral("profile"));
        if (!profiles.contains(name))
            return inv.fail(QStringLiteral("No CSV profile named \"%1\" (known: %2). Save it "
                                           "with `ledgerctl recon profile save`.")
                                .arg(name, profiles.keys().join(QStringLiteral(", "))));
        const auto parsed = CsvProfile::fromJson(profiles.value(name));
        if (!parsed)
            return inv.fail(parsed.error());
        profile = parsed.value();
    }
    const auto parsed = BankFileParser::parse(bytes, f, profile ? &*profile : nullptr);
    if (!parsed)
        return inv.fail(
            QStringLiteral("%1: %2 Nothing was imported.").arg(path, parsed.error().message));
    ReconRepository::ImportOptions options;
    options.fileName = QFileInfo(path).fileName();
    options.mapToAccount = p.value(QStringLiteral("account"));
    const QString sha =
        QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
    const ReconImportSummary s =
        ReconRepository::importFile(c, parsed.value(), sha, bytes.size(), options);
    if (inv.json) {
        QJsonObject o{{QStringLiteral("ok"), true},
                      {QStringLiteral("file"), options.fileName},
                      {QStringLiteral("sha256"), sha},
                      {QStringLiteral("format"), parsed.value().format},
                      {QStringLiteral("encoding"), parsed.value().encoding},
                      {QStringLiteral("already_imported"), s.alreadyImported},
                      {QStringLiteral("statements"), s.statements},
                      {QStringLiteral("statements_skipped"), s.statementsSkipped},
                      {QStringLiteral("lines"), s.lines},
                      {QStringLiteral("duplicates"), s.linesSkipped},
                      {QStringLiteral("exceptions_raised"),
                       QJsonObject{{QStringLiteral("statement_unbalanced"), s.unbalancedStatements},
                                   {QStringLiteral("duplicate_line"), s.duplicateLines}}},
                      {QStringLiteral("mapped_now"), QJsonArray::fromStringList(s.mappedNow)}};
        if (s.alreadyImported) {
            o.insert(QStringLiteral("first_imported_at"),
                     s.firstImportedAt.toString(Qt::ISODateWithMs));
            o.insert(QStringLiteral("first_imported_by"), s.firstImportedBy);
        }
        inv.printJson(o);
        return Ok;
    }
    if (s.alreadyImported) {
        inv.printLine(
            QStringLiteral("%1 was already imported on %2 by %3: nothing imported.")
                .arg(options.fileName, s.firstImportedAt.toString(Qt::ISODate), s.firstImportedBy));
        return Ok;
    }
    inv.printLine(QStringLiteral("%1 (%2, %3): %4 statement(s) imported, %5 already known; %6 "
                                 "line(s) imported, %7 duplicate(s) skipped; %8 statement(s) "
                                 "that do not balance, %9 duplicate line(s) raised as exceptions.")
                      .arg(options.fileName, parsed.value().format, parsed.value().encoding)
                      .arg(s.statements)
                      .arg(s.statementsSkipped)
                      .arg(s.lines)
                      .arg(s.linesSkipped)
                      .arg(s.unbalancedStatements)
                      .arg(s.duplicateLines));
    return Ok;
}

int runMatch(const Invocation &inv)
{
    const QString account = inv.parser->value(QStringLiteral("account"));
    if (account.isEmpty())
        return inv.usage(QStringLiteral("--account is required: the ledger account to reconcile."));
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const bool dry = inv.parser->isSet(QStringLiteral("dry-run"));
    const ReconMatchSummary m = ReconRepository::match(c, account, dry);
    if (inv.json) {
        QJsonArray runs;
        for (const ReconRunSummary &r : m.runs)
            runs.append(
                QJsonObject{{QStringLiteral("run"), r.runId},
                            {QStringLiteral("bank_account"), r.bankAccount},
                            {QStringLiteral("currency"), r.currency},
                            {QStringLiteral("exact"), r.exact},
                            {QStringLiteral("tolerance"), r.tolerance},
                            {QStringLiteral("one_to_many"), r.oneToMany},
                            {QStringLiteral("many_to_one"), r.manyToOne},
                            {QStringLiteral("auto_confirmed"), r.autoConfirmed},
                            {QStringLiteral("proposed"), r.proposed},
                            {QStringLiteral("exceptions_raised"), countsJson(r.exceptionsRaised)},
                            {QStringLiteral("exceptions_resolved"), r.exceptionsResolved}});
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("account"), m.account},
                       {QStringLiteral("dry_run"), m.dryRun},
                       {QStringLiteral("runs"), runs}});
        return Ok;
    }
    for (const ReconRunSummary &r : m.runs)
        inv.printLine(
            QStringLiteral("%1%2 %3: exact %4, tolerance %5, one-to-many %6, many-to-one "
                           "%7 (%8 confirmed, %9 waiting for an operator); exceptions "
                           "raised: %10; resolved: %11")
                .arg(dry ? QStringLiteral("[dry run] ") : QString(), r.bankAccount, r.currency)
                .arg(r.exact)
                .arg(r.tolerance)
                .arg(r.oneToMany)
                .arg(r.manyToOne)
                .arg(r.autoConfirmed)
                .arg(r.proposed)
                .arg(countsText(r.exceptionsRaised))
                .arg(r.exceptionsResolved));
    return Ok;
}

int runStatus(const Invocation &inv)
{
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto list = ReconRepository::status(c, inv.parser->value(QStringLiteral("account")));
    if (inv.json) {
        QJsonArray rows;
        for (const ReconAccountStatus &s : list) {
            QJsonObject open;
            for (auto it = s.openExceptions.begin(); it != s.openExceptions.end(); ++it)
                open.insert(it.key(), it.value());
            QJsonObject o{{QStringLiteral("bank_account"), s.bankAccount},
                          {QStringLiteral("currency"), s.currency},
                          {QStringLiteral("account"), s.account},
                          {QStringLiteral("statements"), s.statements},
                          {QStringLiteral("lines"), s.lines},
                          {QStringLiteral("matched_lines"), s.matchedLines},
                          {QStringLiteral("proposed_lines"), s.proposedLines},
                          {QStringLiteral("open_exceptions"), open},
                          {QStringLiteral("overdue_exceptions"), s.overdueExceptions},
                          {QStringLiteral("last_agreement"),
                           s.lastAgreement.isValid()
                               ? QJsonValue(s.lastAgreement.toString(Qt::ISODate))
                               : QJsonValue()}};
            if (s.hasLastStatement)
                o.insert(QStringLiteral("last_statement"),
                         QJsonObject{{QStringLiteral("statement_id"), s.lastStatementId},
                                     {QStringLiteral("closing_date"),
                                      s.lastClosingDate.toString(Qt::ISODate)},
                                     {QStringLiteral("closing"), s.lastClosing},
                                     {QStringLiteral("ledger"), s.ledgerAtClosing},
                                     {QStringLiteral("agrees"), s.agrees}});
            rows.append(o);
        }
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("accounts"), rows}});
        return Ok;
    }
    for (const ReconAccountStatus &s : list) {
        QStringList open;
        for (auto it = s.openExceptions.begin(); it != s.openExceptions.end(); ++it)
            open << QStringLiteral("%1 %2").arg(it.value()).arg(it.key());
        inv.printRow(
            {s.account, s.bankAccount, s.currency,
             QStringLiteral("%1/%2 lines matched (%3 proposed)")
                 .arg(s.matchedLines)
                 .arg(s.lines)
                 .arg(s.proposedLines),
             s.hasLastStatement
                 ? QStringLiteral("last %1 closing %2 on %3, ledger %4%5")
                       .arg(s.lastStatementId, s.lastClosing,
                            s.lastClosingDate.toString(Qt::ISODate), s.ledgerAtClosing,
                            s.agrees ? QStringLiteral(" (agrees)") : QStringLiteral(" (DIFFERS)"))
                 : QStringLiteral("no statement with a closing balance"),
             open.isEmpty() ? QStringLiteral("no open exceptions")
                            : open.join(QStringLiteral(", ")),
             QStringLiteral("%1 overdue").arg(s.overdueExceptions)});
    }
    return Ok;
}

int runExceptionsList(const Invocation &inv)
{
    const QCommandLineParser &p = *inv.parser;
    ReconExceptionQuery q;
    q.account = p.value(QStringLiteral("account"));
    q.types = p.values(QStringLiteral("type"));
    q.states = p.values(QStringLiteral("state"));
    q.assignee = p.value(QStringLiteral("assignee"));
    q.overdue = p.isSet(QStringLiteral("overdue")) ? 1 : -1;
    q.sort = p.value(QStringLiteral("sort"));
    q.descending = p.isSet(QStringLiteral("descending"));
    int code = Ok;
    if (!intOption(inv, QStringLiteral("limit"), 1, 10000, &q.limit, &code))
        return code;
    int offset = 0;
    if (!intOption(inv, QStringLiteral("offset"), 0, 100000000, &offset, &code))
        return code;
    q.offset = offset;
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const QList<ReconException> list = ReconRepository::exceptions(c, q);
    if (inv.json) {
        QJsonArray rows;
        for (const ReconException &e : list) {
            QJsonObject o{{QStringLiteral("id"), e.id},
                          {QStringLiteral("type"), e.type},
                          {QStringLiteral("state"), e.state},
                          {QStringLiteral("account"), e.account},
                          {QStringLiteral("bank_account"), e.bankAccount},
                          {QStringLiteral("amount"), Money::formatMinor(e.amountMinor, e.exponent)},
                          {QStringLiteral("currency"), e.currency},
                          {QStringLiteral("raised_at"), e.raisedAt.toString(Qt::ISODateWithMs)},
                          {QStringLiteral("due_at"), e.dueAt.toString(Qt::ISODateWithMs)},
                          {QStringLiteral("overdue"), e.overdue},
                          {QStringLiteral("last_event_id"), e.lastEventId}};
            if (!e.assignee.isEmpty())
                o.insert(QStringLiteral("assignee"), e.assignee);
            if (e.hasDifference)
                o.insert(QStringLiteral("difference"),
                         Money::formatMinor(e.differenceMinor, e.exponent));
            if (e.lineId)
                o.insert(
                    QStringLiteral("line"),
                    QJsonObject{{QStringLiteral("id"), e.lineId},
                                {QStringLiteral("value_date"), e.valueDate.toString(Qt::ISODate)},
                                {QStringLiteral("bank_reference"), e.bankReference},
                                {QStringLiteral("counterparty"), e.counterparty}});
            if (e.entryId)
                o.insert(QStringLiteral("entry"),
                         QJsonObject{{QStringLiteral("id"), e.entryId},
                                     {QStringLiteral("transaction_id"), e.transactionId},
                                     {QStringLiteral("date"), e.entryDate.toString(Qt::ISODate)},
                                     {QStringLiteral("external_ref"), e.externalRef}});
            if (e.statementId)
                o.insert(QStringLiteral("statement_id"), e.statementId);
            rows.append(o);
        }
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("total"), ReconRepository::exceptionCount(c, q)},
                       {QStringLiteral("exceptions"), rows}});
        return Ok;
    }
    for (const ReconException &e : list)
        inv.printRow(
            {QString::number(e.id), e.type, e.state, e.assignee, e.account,
             Money::formatMinor(e.amountMinor, e.exponent) + QLatin1Char(' ') + e.currency,
             e.raisedAt.toString(Qt::ISODate),
             e.overdue ? QStringLiteral("OVERDUE") : e.dueAt.toString(Qt::ISODate),
             e.lineId ? QStringLiteral("line %1 %2").arg(e.lineId).arg(e.bankReference) : QString(),
             e.entryId
                 ? QStringLiteral("entry %1 (transaction %2)").arg(e.entryId).arg(e.transactionId)
                 : QString()});
    return Ok;
}

int printEvent(const Invocation &inv, qint64 exception, qint64 event, const QString &what)
{
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("exception"), exception},
                       {QStringLiteral("event"), event}});
    else
        inv.printLine(QStringLiteral("Exception %1 %2.").arg(exception).arg(what));
    return Ok;
}

int runAssign(const Invocation &inv)
{
    qint64 id = 0;
    int code = Ok;
    if (!exceptionId(inv, &id, &code))
        return code;
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const QString to = inv.parser->value(QStringLiteral("to"));
    const qint64 event = ReconRepository::assignException(c, id, to, expectedEvent(inv, c, id));
    return printEvent(
        inv, id, event,
        QStringLiteral("assigned to %1").arg(to.isEmpty() ? QStringLiteral("you") : to));
}

int runAccept(const Invocation &inv)
{
    qint64 id = 0;
    int code = Ok;
    if (!exceptionId(inv, &id, &code))
        return code;
    if (!inv.parser->isSet(QStringLiteral("reason")))
        return inv.usage(QStringLiteral("--reason CODE is required (see `recon exceptions "
                                        "reasons`)."));
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const qint64 event = ReconRepository::acceptException(
        c, id, inv.parser->value(QStringLiteral("reason")),
        inv.parser->value(QStringLiteral("note")), expectedEvent(inv, c, id));
    return printEvent(inv, id, event, QStringLiteral("accepted"));
}

int runReopen(const Invocation &inv)
{
    qint64 id = 0;
    int code = Ok;
    if (!exceptionId(inv, &id, &code))
        return code;
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const qint64 event = ReconRepository::reopenException(
        c, id, inv.parser->value(QStringLiteral("note")), expectedEvent(inv, c, id));
    return printEvent(inv, id, event, QStringLiteral("reopened"));
}

int runResolve(const Invocation &inv)
{
    qint64 id = 0;
    int code = Ok;
    if (!exceptionId(inv, &id, &code))
        return code;
    const QCommandLineParser &p = *inv.parser;
    const QString note = p.value(QStringLiteral("note"));
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    if (p.isSet(QStringLiteral("reversal-request"))) {
        qint64 request = 0;
        if (!idOption(inv, QStringLiteral("reversal-request"), &request, &code))
            return code;
        const qint64 event =
            ReconRepository::resolveByCorrection(c, id, request, note, expectedEvent(inv, c, id));
        return printEvent(inv, id, event,
                          QStringLiteral("resolved by reversal request %1").arg(request));
    }
    bool linesOk = false, entriesOk = false;
    const QList<qint64> lines = idList(p.value(QStringLiteral("lines")), &linesOk);
    const QList<qint64> entries = idList(p.value(QStringLiteral("entries")), &entriesOk);
    if (!linesOk || !entriesOk)
        return inv.usage(QStringLiteral("Resolve with --lines L1,L2 --entries E1,E2 (a manual "
                                        "match) or --reversal-request R (a correction)."));
    const qint64 group = ReconRepository::manualMatch(c, lines, entries, note);
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("exception"), id},
                       {QStringLiteral("match_group"), group}});
    else
        inv.printLine(QStringLiteral("Matched as group %1; the exceptions on these lines and "
                                     "entries are resolved.")
                          .arg(group));
    return Ok;
}

int runDecide(const Invocation &inv)
{
    qint64 group = 0;
    int code = Ok;
    if (!idOption(inv, QStringLiteral("group"), &group, &code))
        return code;
    const QString decision = inv.parser->value(QStringLiteral("decision"));
    if (decision != QLatin1String("confirmed") && decision != QLatin1String("rejected") &&
        decision != QLatin1String("revoked"))
        return inv.usage(QStringLiteral("--decision must be confirmed, rejected or revoked."));
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    ReconRepository::decideMatch(c, group, decision, inv.parser->value(QStringLiteral("note")));
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("group"), group}});
    else
        inv.printLine(QStringLiteral("Match group %1 %2.").arg(group).arg(decision));
    return Ok;
}

int runRules(const Invocation &inv)
{
    const QCommandLineParser &p = *inv.parser;
    const QString bank = p.value(QStringLiteral("bank-account"));
    const QString currency = p.value(QStringLiteral("currency"));
    if (bank.isEmpty() || currency.isEmpty())
        return inv.usage(QStringLiteral("--bank-account and --currency are required."));
    QJsonObject rules;
    const struct
    {
        const char *option;
        const char *key;
    } numbers[] = {
        {"tolerance-minor", "amount_tolerance_minor"}, {"tolerance-bp", "amount_tolerance_bp"},
        {"date-window", "date_window_days"},           {"max-group", "max_group_size"},
        {"auto-confirm", "auto_confirm_score"},        {"missing-after", "missing_after_days"}};
    for (const auto &n : numbers) {
        const QString option = QString::fromLatin1(n.option);
        if (!p.isSet(option))
            continue;
        bool ok = false;
        const qint64 v = p.value(option).toLongLong(&ok);
        if (!ok || v < 0)
            return inv.usage(QStringLiteral("--%1 takes a whole number >= 0.").arg(option));
        rules.insert(QString::fromLatin1(n.key), v);
    }
    if (p.isSet(QStringLiteral("reversal-flips-sign"))) {
        const QString v = p.value(QStringLiteral("reversal-flips-sign"));
        if (v != QLatin1String("true") && v != QLatin1String("false"))
            return inv.usage(QStringLiteral("--reversal-flips-sign takes true or false."));
        rules.insert(QStringLiteral("reversal_flips_sign"), v == QLatin1String("true"));
    }
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const QJsonObject account = ReconRepository::setRules(c, bank, currency, rules);
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("rules"), account}});
    else
        inv.printLine(QString::fromUtf8(QJsonDocument(account).toJson(QJsonDocument::Compact)));
    return Ok;
}

int runSla(const Invocation &inv)
{
    const QStringList given = inv.parser->values(QStringLiteral("tier"));
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    if (!given.isEmpty()) {
        QList<QPair<QString, int>> tiers;
        for (const QString &t : given) {
            const QStringList parts = t.split(QLatin1Char('='));
            bool ok = false;
            const int days = parts.value(1).toInt(&ok);
            if (parts.size() != 2 || !ok)
                return inv.usage(
                    QStringLiteral("--tier takes AMOUNT=DAYS (e.g. 1000=5), not '%1'.").arg(t));
            tiers.append({parts.at(0).trimmed(), days});
        }
        ReconRepository::setSlaTiers(c, tiers);
    }
    const auto tiers = ReconRepository::slaTiers(c);
    if (inv.json) {
        QJsonArray rows;
        for (const auto &t : tiers)
            rows.append(QJsonObject{{QStringLiteral("min_amount"), t.first},
                                    {QStringLiteral("days"), t.second}});
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("tiers"), rows}});
        return Ok;
    }
    for (const auto &t : tiers)
        inv.printLine(QStringLiteral("from %1: due in %2 day(s)").arg(t.first).arg(t.second));
    return Ok;
}

int runProposals(const Invocation &inv)
{
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto list =
        ReconRepository::proposals(c, inv.parser->value(QStringLiteral("account")), 0, 1000);
    const auto ids = [](const QList<qint64> &l) {
        QStringList s;
        for (const qint64 id : l)
            s << QString::number(id);
        return s.join(QLatin1Char(','));
    };
    if (inv.json) {
        QJsonArray rows;
        for (const ReconProposal &g : list)
            rows.append(QJsonObject{
                {QStringLiteral("group"), g.groupId},
                {QStringLiteral("rule"), g.rule},
                {QStringLiteral("score"), g.score},
                {QStringLiteral("account"), g.account},
                {QStringLiteral("lines"), ids(g.lineIds)},
                {QStringLiteral("entries"), ids(g.entryIds)},
                {QStringLiteral("lines_amount"), Money::formatMinor(g.linesMinor, g.exponent)},
                {QStringLiteral("entries_amount"),
                 Money::formatMinor(g.entriesMinor, g.exponent)}});
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("proposals"), rows}});
        return Ok;
    }
    for (const ReconProposal &g : list)
        inv.printRow(
            {QString::number(g.groupId), g.rule, QString::number(g.score), g.account,
             QStringLiteral("lines %1").arg(ids(g.lineIds)),
             QStringLiteral("entries %1").arg(ids(g.entryIds)),
             Money::formatMinor(g.linesMinor, g.exponent) + QLatin1Char(' ') + g.currency});
    return Ok;
}

int runReasons(const Invocation &inv)
{
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    for (const QString &r : ReconRepository::acceptReasons(c))
        inv.printLine(r);
    return Ok;
}

int runProfileSave(const Invocation &inv)
{
    const QString name = inv.parser->value(QStringLiteral("name"));
    if (name.isEmpty())
        return inv.usage(QStringLiteral("--name is required."));
    auto input = readInput(inv, QStringLiteral("file"), qint64(64) * 1024);
    if (!input)
        return inv.fail(input.error());
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(input.value(), &error);
    if (!doc.isObject())
        return inv.fail(QStringLiteral("The profile is not a JSON object: %1 at byte %2.")
                            .arg(error.errorString())
                            .arg(error.offset));
    QJsonObject definition = doc.object();
    definition.insert(QStringLiteral("name"), name); // the profile is saved under --name
    const auto profile = CsvProfile::fromJson(definition);
    if (!profile)
        return inv.fail(profile.error());
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const int version = ReconRepository::saveCsvProfile(c, name, profile.value().toJson());
    inv.printLine(QStringLiteral("CSV profile %1 saved as version %2.").arg(name).arg(version));
    return Ok;
}

int runProfileList(const Invocation &inv)
{
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto profiles = ReconRepository::csvProfiles(c);
    if (inv.json) {
        QJsonObject o;
        for (auto it = profiles.begin(); it != profiles.end(); ++it)
            o.insert(it.key(), it.value());
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("profiles"), o}});
        return Ok;
    }
    for (auto it = profiles.begin(); it != profiles.end(); ++it)
        inv.printRow({it.key(),
                      QString::fromUtf8(QJsonDocument(it.value()).toJson(QJsonDocument::Compact))});
    return Ok;
}

// Imports a file's bytes as `recon import` does (parse, then one transaction).
ReconImportSummary importBytes(Connection &c, const QByteArray &bytes, const QString &name)
{
    const auto parsed = BankFileParser::parse(bytes);
    if (!parsed)
        throw DbException(parsed.error());
    ReconRepository::ImportOptions options;
    options.fileName = name;
    return ReconRepository::importFile(
        c, parsed.value(),
        QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex()),
        bytes.size(), options);
}

int runDemo(const Invocation &inv)
{
    const QString folder = inv.parser->value(QStringLiteral("out-dir"));
    if (folder.isEmpty() || !QDir().mkpath(folder))
        return inv.usage(QStringLiteral("--out-dir must name a folder that can be created."));
    int days = 0;
    int code = Ok;
    if (!intOption(inv, QStringLiteral("days"), 14, 366, &days, &code))
        return code;
    Connection c(inv.dsn(), QStringLiteral("ledgerctl"));
    if (inv.parser->isSet(QStringLiteral("if-empty")) && !ReconRepository::status(c).isEmpty()) {
        inv.progress(QStringLiteral("Bank accounts are mapped already: no demo statements made "
                                    "(--if-empty)."));
        return Ok;
    }
    struct Bank
    {
        QString account, identifier, format;
        bool unbalanced;
    };
    const QList<Bank> banks{
        {QStringLiteral("1000-CASH-EUR"), QStringLiteral("DE44500105175407324931"),
         QStringLiteral("camt"), false},
        {QStringLiteral("1000-CASH-GBP"), QStringLiteral("GB29NWBK60161331926819"),
         QStringLiteral("mt940"), true}};
    const QDate today = QDateTime::currentDateTimeUtc().date();
    QJsonArray report;
    for (const Bank &bank : banks) {
        StatementRepository::Request request;
        request.accountCode = bank.account;
        request.from = QDateTime(today.addDays(-days), QTime(0, 0), QTimeZone::utc());
        request.to = QDateTime(today, QTime(0, 0), QTimeZone::utc());
        Statement s = StatementRepository::load(c, request);
        const auto planted = DemoBankFiles::plant(s, bank.unbalanced);
        if (!planted)
            return inv.fail(planted.error());
        QByteArray bytes;
        QString name;
        if (bank.format == QLatin1String("camt")) {
            const auto camt = DemoBankFiles::camt053(s, bank.identifier);
            if (!camt)
                return inv.fail(camt.error());
            bytes = camt.value();
            name =
                QStringLiteral("%1-%2.camt053.xml").arg(bank.account, today.toString(Qt::ISODate));
        } else {
            bytes = DemoBankFiles::mt940(s, bank.identifier);
            name = QStringLiteral("%1-%2.mt940.sta").arg(bank.account, today.toString(Qt::ISODate));
        }
        QFile file(QDir(folder).filePath(name));
        if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size())
            return inv.fail(
                QStringLiteral("Cannot write %1: %2").arg(file.fileName(), file.errorString()));
        file.close();
        ReconRepository::mapAccount(c, bank.identifier, s.currency, bank.account);
        const ReconImportSummary imported = importBytes(c, bytes, name);
        const ReconMatchSummary matched = ReconRepository::match(c, bank.account);
        QMap<QString, int> found;
        for (const ReconRunSummary &r : matched.runs) {
            for (auto it = r.exceptionsRaised.begin(); it != r.exceptionsRaised.end(); ++it)
                found[it.key()] += it.value();
            found[QStringLiteral("one_to_many")] += r.oneToMany;
            found[QStringLiteral("many_to_one")] += r.manyToOne;
        }
        found[QStringLiteral("duplicate_line")] += imported.duplicateLines;
        found[QStringLiteral("statement_unbalanced")] += imported.unbalancedStatements;
        QJsonObject plantedJson, foundJson;
        for (auto it = planted.value().begin(); it != planted.value().end(); ++it) {
            plantedJson.insert(it.key(), it.value());
            foundJson.insert(it.key(), found.value(it.key()));
        }
        report.append(QJsonObject{{QStringLiteral("account"), bank.account},
                                  {QStringLiteral("file"), file.fileName()},
                                  {QStringLiteral("lines"), imported.lines},
                                  {QStringLiteral("planted"), plantedJson},
                                  {QStringLiteral("found"), foundJson}});
        if (!inv.json)
            inv.printLine(
                QStringLiteral("%1: %2 (%3 lines) imported and matched; planted %4; found %5")
                    .arg(bank.account, file.fileName())
                    .arg(imported.lines)
                    .arg(QString::fromUtf8(
                             QJsonDocument(plantedJson).toJson(QJsonDocument::Compact)),
                         QString::fromUtf8(
                             QJsonDocument(foundJson).toJson(QJsonDocument::Compact))));
    }
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("banks"), report}});
    return Ok;
}

void noteOption(QCommandLineParser &p, const QString &what)
{
    p.addOption({QStringLiteral("note"), what, QStringLiteral("TEXT")});
}

void expectedOption(QCommandLineParser &p)
{
    p.addOption({QStringLiteral("expected-event"),
                 QStringLiteral("Act only if the exception's last event is still N (as listed); "
                                "default: its state now."),
                 QStringLiteral("N")});
}

Command command(const QString &name, const QString &summary, const QString &description,
                std::function<void(QCommandLineParser &)> options,
                std::function<int(const Invocation &)> run, const QString &positional = {})
{
    Command c;
    c.name = name;
    c.summary = summary;
    c.description = description;
    c.addOptions = std::move(options);
    c.run = std::move(run);
    c.positionalSyntax = positional;
    return c;
}

} // namespace

QList<Command> reconCommands()
{
    const QString roles = QStringLiteral(" Operators and supervisors.");
    return {
        command(
            QStringLiteral("recon map"),
            QStringLiteral("map a bank account (IBAN or number) to a ledger account"),
            QStringLiteral("Maps a bank account in a currency to the ledger account that "
                           "mirrors it; statements of unmapped bank accounts are refused on "
                           "import. Mapping the same pair again is harmless; another ledger "
                           "account for a mapped bank account is refused.") +
                roles,
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("bank-account"),
                             QStringLiteral("IBAN or account number (spaces ignored)."),
                             QStringLiteral("ID")});
                p.addOption({QStringLiteral("account"), QStringLiteral("Ledger account code."),
                             QStringLiteral("CODE")});
                p.addOption({QStringLiteral("currency"),
                             QStringLiteral("Currency (default: the ledger account's)."),
                             QStringLiteral("CCY")});
            },
            runMap),
        command(
            QStringLiteral("recon import"),
            QStringLiteral("import a bank statement file (camt.053/.052, MT940/942, CSV)"),
            QStringLiteral("Imports every statement of the file in one database transaction: "
                           "nothing of a malformed file is imported, and the error names the "
                           "line or element. The same file or statement again imports "
                           "nothing; a line re-sent under its bank reference is skipped. A "
                           "statement that does not balance and a duplicate line are raised "
                           "as exceptions. With --account, the file's unmapped bank account "
                           "is mapped to CODE first.") +
                roles,
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("file"), QStringLiteral("The bank file."),
                             QStringLiteral("FILE")});
                p.addOption({QStringLiteral("account"),
                             QStringLiteral("Map unmapped bank accounts to this account."),
                             QStringLiteral("CODE")});
                p.addOption({QStringLiteral("format"),
                             QStringLiteral("auto (camt or MT940), camt, mt940 or csv."),
                             QStringLiteral("F"), QStringLiteral("auto")});
                p.addOption({QStringLiteral("profile"),
                             QStringLiteral("CSV: the saved column profile."),
                             QStringLiteral("NAME")});
            },
            runImport),
        command(
            QStringLiteral("recon match"),
            QStringLiteral("match statement lines with ledger entries (passes, scores)"),
            QStringLiteral("Runs the matching passes over every bank account mapped to the "
                           "account: exact reference and amount; amount within tolerance and "
                           "date within the window; one-to-many and many-to-one. Matches at "
                           "or above the account's score threshold are confirmed, the others "
                           "wait for an operator; what is left becomes exceptions. "
                           "--dry-run says what a run would do and writes nothing.") +
                roles,
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("account"), QStringLiteral("Ledger account code."),
                             QStringLiteral("CODE")});
                p.addOption({QStringLiteral("dry-run"),
                             QStringLiteral("Show what a run would do; write nothing.")});
            },
            runMatch),
        command(
            QStringLiteral("recon status"),
            QStringLiteral("matched lines, last statement and open exceptions per account"),
            QStringLiteral("Per mapped bank account: lines matched and proposed, the last "
                           "statement's closing balance beside the ledger's, open and overdue "
                           "exceptions by type. Auditors and compliance staff too."),
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("account"), QStringLiteral("Only this account."),
                             QStringLiteral("CODE")});
            },
            runStatus),
        command(
            QStringLiteral("recon proposals"), QStringLiteral("matches waiting for an operator"),
            QStringLiteral("Lists the groups a run proposed below the account's score "
                           "threshold; decide them with `recon decide`."),
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("account"), QStringLiteral("Only this account."),
                             QStringLiteral("CODE")});
            },
            runProposals),
        command(
            QStringLiteral("recon decide"),
            QStringLiteral("confirm or reject a proposed match, or revoke a confirmed one"),
            QStringLiteral("Appends a decision to a match group: confirmed, rejected (a "
                           "proposal) or revoked (unmatch a confirmed group); a note is "
                           "required to reject or revoke. A rejected or revoked group is "
                           "never proposed again.") +
                roles,
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("group"), QStringLiteral("The match group."),
                             QStringLiteral("ID")});
                p.addOption({QStringLiteral("decision"),
                             QStringLiteral("confirmed, rejected or revoked."),
                             QStringLiteral("D")});
                noteOption(p, QStringLiteral("Why (required to reject or revoke)."));
            },
            runDecide),
        command(
            QStringLiteral("recon exceptions list"),
            QStringLiteral("the exceptions queue, filtered and sorted"),
            QStringLiteral("Lists reconciliation exceptions (open and assigned unless --state "
                           "says otherwise), with their last event id for the steps below."),
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("account"), QStringLiteral("Only this account."),
                             QStringLiteral("CODE")});
                p.addOption({QStringLiteral("type"), QStringLiteral("Only this type (repeatable)."),
                             QStringLiteral("T")});
                p.addOption({QStringLiteral("state"),
                             QStringLiteral("open, assigned, resolved, accepted (repeatable)."),
                             QStringLiteral("S")});
                p.addOption({QStringLiteral("assignee"), QStringLiteral("Only this assignee."),
                             QStringLiteral("NAME")});
                p.addOption({QStringLiteral("overdue"), QStringLiteral("Only overdue ones.")});
                p.addOption({QStringLiteral("sort"),
                             QStringLiteral("age, due, amount, type or id (default age)."),
                             QStringLiteral("KEY"), QStringLiteral("age")});
                p.addOption({QStringLiteral("descending"), QStringLiteral("Newest first.")});
                p.addOption({QStringLiteral("limit"), QStringLiteral("Rows (default 100)."),
                             QStringLiteral("N"), QStringLiteral("100")});
                p.addOption({QStringLiteral("offset"), QStringLiteral("Rows to skip."),
                             QStringLiteral("N"), QStringLiteral("0")});
            },
            runExceptionsList),
        command(
            QStringLiteral("recon exceptions assign"), QStringLiteral("assign an exception"),
            QStringLiteral("Assigns the exception to an operator (default: you).") + roles,
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("to"), QStringLiteral("The operator."),
                             QStringLiteral("NAME")});
                expectedOption(p);
            },
            runAssign, QStringLiteral("ID")),
        command(
            QStringLiteral("recon exceptions accept"),
            QStringLiteral("accept an exception with a reason code"),
            QStringLiteral("Closes the exception without a match, with a reason code (see "
                           "`recon exceptions reasons`; OTHER needs a note).") +
                roles,
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("reason"), QStringLiteral("The reason code."),
                             QStringLiteral("CODE")});
                noteOption(p, QStringLiteral("Why."));
                expectedOption(p);
            },
            runAccept, QStringLiteral("ID")),
        command(
            QStringLiteral("recon exceptions resolve"),
            QStringLiteral("resolve by a manual match or a correcting reversal request"),
            QStringLiteral("Resolves by matching lines with entries (their sums must agree "
                           "within the tolerance) or by the reversal request that corrects "
                           "the exception's ledger entry (Step 7's workflow; linked both "
                           "ways).") +
                roles,
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("lines"), QStringLiteral("Statement line ids."),
                             QStringLiteral("L1,L2")});
                p.addOption({QStringLiteral("entries"), QStringLiteral("Ledger entry ids."),
                             QStringLiteral("E1,E2")});
                p.addOption({QStringLiteral("reversal-request"),
                             QStringLiteral("The correcting reversal request."),
                             QStringLiteral("ID")});
                noteOption(p, QStringLiteral("Why (required for a manual match)."));
                expectedOption(p);
            },
            runResolve, QStringLiteral("ID")),
        command(
            QStringLiteral("recon exceptions reopen"),
            QStringLiteral("reopen a resolved or accepted exception"),
            QStringLiteral("Reopens the exception, with a note saying why.") + roles,
            [](QCommandLineParser &p) {
                noteOption(p, QStringLiteral("Why (required)."));
                expectedOption(p);
            },
            runReopen, QStringLiteral("ID")),
        command(
            QStringLiteral("recon exceptions reasons"),
            QStringLiteral("the reason codes an exception may be accepted with"),
            QStringLiteral("Lists the reason codes for `recon exceptions accept`."),
            [](QCommandLineParser &) {}, runReasons),
        command(
            QStringLiteral("recon profile save"),
            QStringLiteral("save a CSV column profile (a new version)"),
            QStringLiteral("Saves a CSV column profile from a JSON file (delimiter, decimal "
                           "comma, date format, amount or debit/credit columns, encoding...); "
                           "saving again appends a version.") +
                roles,
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("name"), QStringLiteral("The profile's name."),
                             QStringLiteral("NAME")});
                p.addOption({QStringLiteral("file"),
                             QStringLiteral("The profile as JSON ('-': standard input)."),
                             QStringLiteral("FILE")});
            },
            runProfileSave),
        command(
            QStringLiteral("recon sla"),
            QStringLiteral("the due-date tiers of exceptions (list, or set with --tier)"),
            QStringLiteral("Without --tier, lists the due-date tiers; with them, replaces "
                           "them all (supervisors): an exception whose amount reaches a "
                           "tier's (in major units of its currency) is due that many days "
                           "after it was raised; one tier must start at 0. Exceptions raised "
                           "before keep their due dates."),
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("tier"), QStringLiteral("AMOUNT=DAYS (repeatable)."),
                             QStringLiteral("AMOUNT=DAYS")});
            },
            runSla),
        command(
            QStringLiteral("recon rules"),
            QStringLiteral("change a mapped bank account's matching rules"),
            QStringLiteral("Sets only the rules given: the amount tolerance (minor units and "
                           "basis points), the value-date window, the largest group of a "
                           "one-to-many match, the score from which a run confirms, the days "
                           "after which an unmatched entry is missing in the statement, and "
                           "whether a camt RvslInd flips the entry's sign (true, German "
                           "banks' practice, the default) or not (false: ISO's usage note, "
                           "and this ledger's own camt.053 exports). Supervisors."),
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("bank-account"), QStringLiteral("IBAN or number."),
                             QStringLiteral("ID")});
                p.addOption({QStringLiteral("currency"), QStringLiteral("Its currency."),
                             QStringLiteral("CCY")});
                p.addOption({QStringLiteral("tolerance-minor"),
                             QStringLiteral("Amount tolerance in minor units."),
                             QStringLiteral("N")});
                p.addOption({QStringLiteral("tolerance-bp"),
                             QStringLiteral("Amount tolerance in basis points (0-1000)."),
                             QStringLiteral("N")});
                p.addOption({QStringLiteral("date-window"),
                             QStringLiteral("Value-date window in days (0-31)."),
                             QStringLiteral("N")});
                p.addOption({QStringLiteral("max-group"),
                             QStringLiteral("Largest one-to-many group (2-20)."),
                             QStringLiteral("N")});
                p.addOption({QStringLiteral("auto-confirm"),
                             QStringLiteral("Score from which a run confirms (0-101)."),
                             QStringLiteral("N")});
                p.addOption({QStringLiteral("missing-after"),
                             QStringLiteral("Days before an entry is missing in the statement."),
                             QStringLiteral("N")});
                p.addOption({QStringLiteral("reversal-flips-sign"),
                             QStringLiteral("true or false (see above)."), QStringLiteral("B")});
            },
            runRules),
        command(
            QStringLiteral("recon demo"),
            QStringLiteral("the demo's bank statements, with planted discrepancies"),
            QStringLiteral("For the demo ledger (ledgerctl seed): writes a camt.053 file for "
                           "1000-CASH-EUR and an MT940 file for 1000-CASH-GBP covering the "
                           "last --days days as a bank would report them, with discrepancies "
                           "of every kind planted (lines left out, fees the ledger lacks, an "
                           "amount off, a date late, a line sent twice, a split and a merged "
                           "settlement, a closing balance off), maps the bank accounts, "
                           "imports and matches them, and prints what was planted beside "
                           "what was found."),
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("out-dir"), QStringLiteral("Where the files go."),
                             QStringLiteral("DIR")});
                p.addOption({QStringLiteral("days"), QStringLiteral("Days covered (default 31)."),
                             QStringLiteral("N"), QStringLiteral("31")});
                p.addOption({QStringLiteral("if-empty"),
                             QStringLiteral("Do nothing when bank accounts are mapped already.")});
            },
            runDemo),
        command(
            QStringLiteral("recon profile list"), QStringLiteral("the saved CSV profiles"),
            QStringLiteral("Lists the latest version of each CSV column profile."),
            [](QCommandLineParser &) {}, runProfileList),
    };
}

} // namespace ledger::cli
