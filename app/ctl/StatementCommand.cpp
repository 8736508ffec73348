#include "Cli.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/StatementRepository.h"
#include "domain/Money.h"
#include "statement/StatementBatch.h"
#include "statement/StatementDigest.h"
#include "statement/StatementExport.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QTimeZone>

#include <algorithm>
#include <atomic>
#include <optional>

#include <csignal>

namespace ledger::cli {

namespace {

QString amount(qint64 minor, int exponent)
{
    return Money::formatMinor(minor, exponent);
}

// --from/--to: a date is a whole day in the statement's zone (--to's day included); a time
// is an instant (--to excluded).
Result<QDateTime> periodBound(const QString &text, const QTimeZone &zone, bool end,
                              const QString &option)
{
    const QDate date = QDate::fromString(text, Qt::ISODate);
    if (date.isValid() && text.size() == 10)
        return QDateTime(end ? date.addDays(1) : date, QTime(0, 0), zone).toUTC();
    auto t = parseTime(text, option);
    if (!t)
        return t.error();
    return t.value().toUTC();
}

QJsonObject recordJson(const StatementRecord &r, int exponent)
{
    QJsonObject o{{QStringLiteral("reference"), r.reference},
                  {QStringLiteral("account"), r.accountCode},
                  {QStringLiteral("sequence_number"), r.sequenceNumber},
                  {QStringLiteral("from"), r.from.toString(Qt::ISODateWithMs)},
                  {QStringLiteral("to"), r.to.toString(Qt::ISODateWithMs)},
                  {QStringLiteral("time_zone"), r.timeZone},
                  {QStringLiteral("known_at"), r.knownAt.toString(Qt::ISODateWithMs)},
                  {QStringLiteral("format"), r.format},
                  {QStringLiteral("content_digest"), r.contentDigest},
                  {QStringLiteral("file_sha256"), r.fileSha256},
                  {QStringLiteral("file_bytes"), r.fileBytes},
                  {QStringLiteral("lines"), r.lineCount},
                  {QStringLiteral("issued_by"), r.issuedBy},
                  {QStringLiteral("issued_at"), r.issuedAt.toString(Qt::ISODateWithMs)}};
    if (exponent >= 0) {
        o.insert(QStringLiteral("opening"), amount(r.openingMinor, exponent));
        o.insert(QStringLiteral("closing"), amount(r.closingMinor, exponent));
    }
    if (!r.formatVersion.isEmpty())
        o.insert(QStringLiteral("format_version"), r.formatVersion);
    return o;
}

// What `statement export` and `statement batch` share: the period in a zone, the known-at
// time and the format. A usage error is reported through `inv` (returns nullopt, *exitCode).
struct Common
{
    QString zoneName;
    QDateTime from, to, knownAt;
    QString format, camtVersion, pageSize;
};

std::optional<Common> parseCommon(const Invocation &inv, int *exitCode)
{
    const QCommandLineParser &p = *inv.parser;
    const auto usage = [&](const QString &message) -> std::optional<Common> {
        *exitCode = inv.usage(message);
        return std::nullopt;
    };
    Common c;
    c.format = p.value(QStringLiteral("format")).toLower();
    if (c.format != QLatin1String("pdf") && c.format != QLatin1String("csv") &&
        c.format != QLatin1String("camt053"))
        return usage(QStringLiteral("--format must be pdf, csv or camt053."));
    c.zoneName = p.value(QStringLiteral("time-zone"));
    const QTimeZone zone =
        c.zoneName == QLatin1String("UTC") ? QTimeZone::utc() : QTimeZone(c.zoneName.toUtf8());
    if (!zone.isValid())
        return usage(QStringLiteral("--time-zone '%1' is not a zone this machine knows (use UTC "
                                    "or an IANA name such as Europe/Berlin).")
                         .arg(c.zoneName));
    const auto from =
        periodBound(p.value(QStringLiteral("from")), zone, false, QStringLiteral("from"));
    const auto to = periodBound(p.value(QStringLiteral("to")), zone, true, QStringLiteral("to"));
    if (!from)
        return usage(from.error().message);
    if (!to)
        return usage(to.error().message);
    c.from = from.value();
    c.to = to.value();
    if (p.isSet(QStringLiteral("known-at"))) {
        const auto k = parseTime(p.value(QStringLiteral("known-at")), QStringLiteral("known-at"));
        if (!k)
            return usage(k.error().message);
        c.knownAt = k.value();
    }
    c.camtVersion = p.value(QStringLiteral("camt-version"));
    c.pageSize = p.value(QStringLiteral("page-size")).toLower();
    if (c.format == QLatin1String("camt053") && c.camtVersion != QLatin1String("02") &&
        c.camtVersion != QLatin1String("04") && c.camtVersion != QLatin1String("08"))
        return usage(QStringLiteral("--camt-version must be 02, 04 or 08."));
    if (c.pageSize != QLatin1String("a4") && c.pageSize != QLatin1String("letter"))
        return usage(QStringLiteral("--page-size must be a4 or letter."));
    if (const Status valid = StatementExport::check(c.format, c.camtVersion, c.pageSize); !valid)
        return usage(valid.error().message);
    return c;
}

// The options of the period, the known-at time and the format (export and batch).
void addCommonOptions(QCommandLineParser &p)
{
    p.addOption({QStringLiteral("from"), QStringLiteral("First day (or time) of the period."),
                 QStringLiteral("D")});
    p.addOption({QStringLiteral("to"), QStringLiteral("Last day of the period (or end time)."),
                 QStringLiteral("D")});
    p.addOption({QStringLiteral("known-at"),
                 QStringLiteral("As the ledger knew it at this time (default now)."),
                 QStringLiteral("T")});
    p.addOption({QStringLiteral("time-zone"),
                 QStringLiteral("Zone of the dates and of the times shown (default UTC)."),
                 QStringLiteral("Z"), QStringLiteral("UTC")});
    p.addOption(
        {QStringLiteral("format"), QStringLiteral("pdf, csv or camt053."), QStringLiteral("F")});
    p.addOption({QStringLiteral("camt-version"),
                 QStringLiteral("camt.053 version: 02, 04 or 08 (default 08)."),
                 QStringLiteral("V"), QStringLiteral("08")});
    p.addOption({QStringLiteral("page-size"), QStringLiteral("PDF: a4 or letter (default a4)."),
                 QStringLiteral("S"), QStringLiteral("a4")});
    p.addOption({QStringLiteral("institution"),
                 QStringLiteral("Institution named in the PDF's header (default: the ledger's "
                                "setting, access.settings.statement_institution)."),
                 QStringLiteral("TEXT")});
}

int runExport(const Invocation &inv)
{
    const QCommandLineParser &p = *inv.parser;
    const QString account = p.value(QStringLiteral("account"));
    const QString out = p.value(QStringLiteral("out"));
    if (account.isEmpty())
        return inv.usage(QStringLiteral("--account is required."));
    if (out.isEmpty())
        return inv.usage(QStringLiteral("--out is required: the file to write."));
    int exitCode = Ok;
    const auto common = parseCommon(inv, &exitCode);
    if (!common)
        return exitCode;
    const QString &format = common->format;
    const QString &camtVersion = common->camtVersion;
    const QString &pageSize = common->pageSize;
    StatementRepository::Request request;
    request.accountCode = account;
    request.timeZone = common->zoneName;
    request.from = common->from;
    request.to = common->to;
    request.knownAt = common->knownAt;

    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const StatementRecord record = StatementRepository::issue(
        connection, request,
        StatementExport::issueOptions(format, camtVersion, p.value(QStringLiteral("institution"))),
        StatementExport::fileWriter(format, camtVersion, pageSize, out));
    const int exponent = record.exponent;
    if (inv.json) {
        QJsonObject o = recordJson(record, exponent);
        o.insert(QStringLiteral("ok"), true);
        o.insert(QStringLiteral("file"), out);
        inv.printJson(o);
    } else {
        inv.printLine(QStringLiteral("%1 statement %2 (no. %3) of %4, %5 to %6 as known at %7: "
                                     "%8 lines, closing %9 %10")
                          .arg(format, record.reference)
                          .arg(record.sequenceNumber)
                          .arg(record.accountCode, record.from.toString(Qt::ISODate),
                               record.to.toString(Qt::ISODate),
                               record.knownAt.toString(Qt::ISODateWithMs))
                          .arg(record.lineCount)
                          .arg(amount(record.closingMinor, exponent), record.currency));
        inv.printLine(QStringLiteral("written to %1 (SHA-256 %2)").arg(out, record.fileSha256));
    }
    return Ok;
}

void printRecord(const Invocation &inv, const StatementRecord &r)
{
    inv.printLine(QStringLiteral("Issued statement %1: account %2 (%3), no. %4, %5 to %6 (%7), "
                                 "as known at %8")
                      .arg(r.reference, r.accountCode, r.accountName)
                      .arg(r.sequenceNumber)
                      .arg(r.from.toString(Qt::ISODate), r.to.toString(Qt::ISODate), r.timeZone,
                           r.knownAt.toString(Qt::ISODateWithMs)));
    inv.printLine(QStringLiteral("  issued by %1 at %2 as %3; %4 lines")
                      .arg(r.issuedBy, r.issuedAt.toString(Qt::ISODateWithMs), r.format)
                      .arg(r.lineCount));
}

int runVerify(const Invocation &inv)
{
    const QStringList files = inv.parser->positionalArguments();
    const QString reference = inv.parser->value(QStringLiteral("reference"));
    if (files.size() + (reference.isEmpty() ? 0 : 1) != 1)
        return inv.usage(QStringLiteral("Give one statement FILE, or --reference REF."));
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    if (!files.isEmpty()) {
        QFile f(files.first());
        if (!f.open(QIODevice::ReadOnly))
            return inv.fail(
                QStringLiteral("Cannot read %1: %2").arg(files.first(), f.errorString()));
        QCryptographicHash hash(QCryptographicHash::Sha256);
        hash.addData(&f);
        const QString sha = QString::fromLatin1(hash.result().toHex());
        const auto record = StatementRepository::findByFile(connection, sha);
        if (!record) {
            if (inv.json)
                inv.printJson({{QStringLiteral("ok"), false},
                               {QStringLiteral("file_sha256"), sha},
                               {QStringLiteral("error"),
                                QStringLiteral("No statement with this content was issued by "
                                               "this ledger")}});
            return inv.json ? Failed
                            : inv.fail(QStringLiteral(
                                           "No statement with this file's content (SHA-256 %1) was "
                                           "issued by this ledger: the file is not one it issued, "
                                           "or it was changed since.")
                                           .arg(sha));
        }
        if (inv.json) {
            QJsonObject o = recordJson(*record, -1);
            o.insert(QStringLiteral("ok"), true);
            inv.printJson(o);
        } else {
            printRecord(inv, *record);
            inv.printLine(QStringLiteral("  the file is exactly the one issued."));
        }
        return Ok;
    }
    const auto record = StatementRepository::findByReference(connection, reference);
    if (!record)
        return inv.fail(QStringLiteral("No statement with reference %1 was issued by this ledger.")
                            .arg(reference));
    // Recomputed from the ledger as of the statement's known-at time: the printed totals are
    // what the ledger held then; and what has changed since (a restatement).
    StatementRepository::Request request;
    request.accountCode = record->accountCode;
    request.from = record->from;
    request.to = record->to;
    request.knownAt = record->knownAt;
    request.timeZone = record->timeZone;
    const Statement then = StatementRepository::load(connection, request);
    const bool same = StatementDigest::hex(then) == record->contentDigest;
    QList<Restatement> changes;
    for (const Restatement &r : StatementRepository::restated(connection))
        if (r.reference == record->reference)
            changes << r;
    if (inv.json) {
        QJsonObject o = recordJson(*record, then.exponent);
        o.insert(QStringLiteral("ok"), same);
        o.insert(QStringLiteral("content_matches"), same);
        o.insert(QStringLiteral("restated"), !changes.isEmpty());
        if (!changes.isEmpty()) {
            o.insert(QStringLiteral("opening_difference"),
                     amount(changes.first().openingDifference, then.exponent));
            o.insert(QStringLiteral("closing_difference"),
                     amount(changes.first().closingDifference, then.exponent));
        }
        inv.printJson(o);
        return same ? Ok : Failed;
    }
    printRecord(inv, *record);
    inv.printLine(QStringLiteral("  opening %1, closing %2 %3")
                      .arg(amount(then.openingMinor, then.exponent),
                           amount(then.closingMinor, then.exponent), then.currency));
    if (!changes.isEmpty())
        inv.printLine(QStringLiteral("  RESTATED since: %1 late entries change the opening by %2 "
                                     "and the closing by %3 %4")
                          .arg(changes.first().lateEntries.size())
                          .arg(amount(changes.first().openingDifference, then.exponent),
                               amount(changes.first().closingDifference, then.exponent),
                               then.currency));
    if (!same)
        return inv.fail(QStringLiteral(
            "The ledger as of the statement's known-at time no longer gives the content that was "
            "issued (its digest differs): the ledger's history was changed. Tell an auditor."));
    inv.printLine(QStringLiteral("  the ledger held exactly this as of the known-at time."));
    return Ok;
}

int runRestated(const Invocation &inv)
{
    std::optional<QDateTime> since;
    if (inv.parser->isSet(QStringLiteral("since"))) {
        const auto t =
            parseTime(inv.parser->value(QStringLiteral("since")), QStringLiteral("since"));
        if (!t)
            return inv.usage(t.error().message);
        since = t.value();
    }
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    int recorded = 0;
    if (inv.parser->isSet(QStringLiteral("record")))
        recorded = StatementRepository::recordRestatements(connection);
    const auto list = StatementRepository::restated(connection, since);
    if (inv.json) {
        QJsonArray rows;
        for (const Restatement &r : list) {
            QJsonArray late;
            for (const qint64 id : r.lateEntries)
                late.append(id);
            rows.append(
                QJsonObject{{QStringLiteral("reference"), r.reference},
                            {QStringLiteral("account"), r.accountCode},
                            {QStringLiteral("from"), r.from.toString(Qt::ISODateWithMs)},
                            {QStringLiteral("to"), r.to.toString(Qt::ISODateWithMs)},
                            {QStringLiteral("known_at"), r.knownAt.toString(Qt::ISODateWithMs)},
                            {QStringLiteral("opening_difference_minor"), r.openingDifference},
                            {QStringLiteral("closing_difference_minor"), r.closingDifference},
                            {QStringLiteral("late_entries"), late}});
        }
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("recorded"), recorded},
                       {QStringLiteral("restated"), rows}});
        return Ok;
    }
    for (const Restatement &r : list)
        inv.printRow({r.reference, r.accountCode, r.from.toString(Qt::ISODate),
                      r.to.toString(Qt::ISODate),
                      QStringLiteral("opening %1").arg(r.openingDifference),
                      QStringLiteral("closing %1").arg(r.closingDifference),
                      QStringLiteral("%1 late entries").arg(r.lateEntries.size())});
    if (list.isEmpty())
        inv.progress(QStringLiteral("No issued statement has been restated."));
    return Ok;
}

int runList(const Invocation &inv)
{
    IssuedStatementQuery query;
    query.accountCode = inv.parser->value(QStringLiteral("account"));
    query.restatedOnly = inv.parser->isSet(QStringLiteral("restated-only"));
    int exitCode = Ok;
    if (!intOption(inv, QStringLiteral("limit"), 1, 1000, &query.limit, &exitCode))
        return exitCode;
    if (inv.parser->isSet(QStringLiteral("before"))) {
        bool ok = false;
        query.beforeId = inv.parser->value(QStringLiteral("before")).toLongLong(&ok);
        if (!ok || query.beforeId < 1)
            return inv.usage(QStringLiteral("--before takes the id of a listed statement."));
    }
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const QList<IssuedStatement> list = StatementRepository::issued(connection, query);
    if (inv.json) {
        QJsonArray rows;
        for (const IssuedStatement &s : list) {
            QJsonObject o = recordJson(s.record, s.record.exponent);
            o.insert(QStringLiteral("id"), s.id);
            o.insert(QStringLiteral("copies"), s.copies);
            o.insert(QStringLiteral("restated"), s.restated);
            if (s.restated) {
                QJsonArray late;
                for (const qint64 id : s.lateEntries)
                    late.append(id);
                o.insert(QStringLiteral("opening_difference"),
                         amount(s.openingDifference, s.record.exponent));
                o.insert(QStringLiteral("closing_difference"),
                         amount(s.closingDifference, s.record.exponent));
                o.insert(QStringLiteral("late_entries"), late);
                o.insert(QStringLiteral("restatement_recorded_at"),
                         s.restatementRecordedAt.toString(Qt::ISODateWithMs));
            }
            rows.append(o);
        }
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("statements"), rows}});
        return Ok;
    }
    for (const IssuedStatement &s : list) {
        const StatementRecord &r = s.record;
        inv.printRow(
            {QString::number(s.id), r.reference, r.accountCode,
             QStringLiteral("no. %1").arg(r.sequenceNumber), r.from.toString(Qt::ISODate),
             r.to.toString(Qt::ISODate), r.format, r.issuedBy, r.issuedAt.toString(Qt::ISODate),
             s.restated ? QStringLiteral("RESTATED opening %1 closing %2 (%3 late entries)")
                              .arg(amount(s.openingDifference, r.exponent),
                                   amount(s.closingDifference, r.exponent))
                              .arg(s.lateEntries.size())
                        : QStringLiteral("as issued")});
    }
    if (list.isEmpty())
        inv.progress(QStringLiteral("No issued statement matches."));
    else if (list.size() == query.limit)
        inv.progress(QStringLiteral("More may follow: --before %1").arg(list.last().id));
    return Ok;
}

// Set by SIGINT/SIGTERM while a batch runs: it stops before its next statement.
std::atomic<bool> batchInterrupted{false};
extern "C" void interruptBatch(int)
{
    batchInterrupted.store(true);
}

int runBatch(const Invocation &inv)
{
    const QCommandLineParser &p = *inv.parser;
    const QString folder = p.value(QStringLiteral("out-dir"));
    if (folder.isEmpty())
        return inv.usage(QStringLiteral("--out-dir is required: the folder to write into."));
    int exitCode = Ok;
    const auto common = parseCommon(inv, &exitCode);
    if (!common)
        return exitCode;
    StatementBatchRequest request;
    request.kind = p.value(QStringLiteral("kind")).toLower();
    request.currency = p.value(QStringLiteral("currency")).toUpper();
    request.from = common->from;
    request.to = common->to;
    request.knownAt = common->knownAt;
    request.timeZone = common->zoneName;
    request.format = common->format;
    request.camtVersion = common->camtVersion;
    request.pageSize = common->pageSize;
    request.institution = p.value(QStringLiteral("institution"));
    request.folder = folder;
    if (const Status valid = StatementBatch::check(request); !valid)
        return inv.usage(valid.error().message);

    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    batchInterrupted.store(false);
    struct sigaction action = {};
    action.sa_handler = interruptBatch;
    struct sigaction oldInt = {}, oldTerm = {};
    sigaction(SIGINT, &action, &oldInt);
    sigaction(SIGTERM, &action, &oldTerm);
    QElapsedTimer clock;
    clock.start();
    StatementBatch::Callbacks callbacks;
    int total = 0;
    callbacks.started = [&](int n) {
        total = n;
        inv.progress(QStringLiteral("%1 statements to write into %2").arg(n).arg(folder));
    };
    callbacks.written = [&](int done, const StatementRecord &record, const QString &path) {
        if (!inv.json)
            inv.printRow({record.reference, record.accountCode,
                          QString::number(record.sequenceNumber), path, record.fileSha256});
        if (done % 100 == 0 || done == total)
            inv.progress(
                QStringLiteral("%1 of %2 written (%3 per second)")
                    .arg(done)
                    .arg(total)
                    .arg(double(done) * 1000.0 / double(std::max<qint64>(1, clock.elapsed())), 0,
                         'f', 1));
    };
    callbacks.cancelled = [] { return batchInterrupted.load(); };
    const StatementBatchOutcome outcome = StatementBatch::run(connection, request, callbacks);
    sigaction(SIGINT, &oldInt, nullptr);
    sigaction(SIGTERM, &oldTerm, nullptr);

    if (inv.json) {
        QJsonArray written;
        for (int i = 0; i < outcome.written.size(); ++i) {
            QJsonObject o = recordJson(outcome.written.at(i), outcome.written.at(i).exponent);
            o.insert(QStringLiteral("file"), outcome.files.at(i));
            written.append(o);
        }
        QJsonObject o{{QStringLiteral("ok"), outcome.error.isEmpty() && !outcome.cancelled},
                      {QStringLiteral("total"), outcome.total},
                      {QStringLiteral("cancelled"), outcome.cancelled},
                      {QStringLiteral("written"), written}};
        if (!outcome.error.isEmpty()) {
            o.insert(QStringLiteral("error"), outcome.error);
            o.insert(QStringLiteral("failed_account"), outcome.failedAccount);
        }
        inv.printJson(o);
    }
    if (!outcome.error.isEmpty())
        return inv.fail(outcome.error);
    if (outcome.cancelled)
        return inv.fail(QStringLiteral("Interrupted: %1 of %2 statements were written and issued; "
                                       "no other file was left.")
                            .arg(outcome.written.size())
                            .arg(outcome.total));
    if (!inv.json)
        inv.progress(QStringLiteral("%1 statements written and issued in %2 s")
                         .arg(outcome.written.size())
                         .arg(double(clock.elapsed()) / 1000.0, 0, 'f', 1));
    return Ok;
}

} // namespace

QList<Command> statementCommands()
{
    Command exportCommand;
    exportCommand.name = QStringLiteral("statement export");
    exportCommand.summary = QStringLiteral("issue an account statement (pdf, csv, camt053)");
    exportCommand.description = QStringLiteral(
        "Issues a statement of an account for a period as the ledger knew it at a time "
        "(--known-at, default now): the opening balance, every entry with its running balance, "
        "the totals and the closing balance. Dates are whole days in --time-zone (--to's day "
        "included); times are instants (--to excluded). The file is written under a temporary "
        "name and renamed when the issue is recorded: its number, verification reference, "
        "content digest and SHA-256 go into the audit trail. Compliance staff and auditors.");
    exportCommand.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("account"), QStringLiteral("Account code."), QStringLiteral("C")});
        addCommonOptions(p);
        p.addOption(
            {QStringLiteral("out"), QStringLiteral("The file to write."), QStringLiteral("FILE")});
    };
    exportCommand.run = runExport;

    Command verify;
    verify.name = QStringLiteral("statement verify");
    verify.summary = QStringLiteral("check a statement file or reference against the issue record");
    verify.description = QStringLiteral(
        "With FILE: finds the issue record of exactly this file (by its SHA-256) and says who "
        "issued it, when, for which account and period; exit 1 when no such file was issued. "
        "With --reference (printed on the PDF and in its QR code): recomputes the statement "
        "from the ledger as of its known-at time and confirms that it is what was issued, and "
        "says whether late entries have restated it since. Every verification is audited.");
    verify.positionalSyntax = QStringLiteral("[FILE]");
    verify.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("reference"), QStringLiteral("The statement's reference."),
                     QStringLiteral("REF")});
    };
    verify.run = runVerify;

    Command restated;
    restated.name = QStringLiteral("statement restated");
    restated.summary = QStringLiteral("list issued statements changed by late entries");
    restated.description = QStringLiteral(
        "Lists issued statements whose period entries recorded after their known-at time have "
        "changed (backdated entries, reversals), with the difference in opening and closing "
        "balance (minor units) and the late entries. --record also records each newly restated "
        "statement once, with an audit event (pg_cron does this every minute where installed).");
    restated.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("since"), QStringLiteral("Only statements issued since T."),
                     QStringLiteral("T")});
        p.addOption({QStringLiteral("record"),
                     QStringLiteral("Record newly restated statements (audited).")});
    };
    restated.run = runRestated;
    Command batchCommand;
    batchCommand.name = QStringLiteral("statement batch");
    batchCommand.summary = QStringLiteral("issue the statements of many accounts into a folder");
    batchCommand.description = QStringLiteral(
        "Issues one statement per account of a kind and/or currency (default: every account) "
        "for a period, each as its own file \"<code>_<from>_<to>.<ext>\" in --out-dir and its "
        "own audit event, all as the ledger knew it at one time (--known-at, default the "
        "start). A file already in the folder under one of these names stops the batch before "
        "it writes anything. Ctrl+C stops it after the statement being written: every file "
        "left is complete and issued. Prints one line per statement (reference, account, "
        "number, file, SHA-256). Compliance staff and auditors.");
    batchCommand.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("kind"),
                     QStringLiteral("Only accounts of this kind (asset, liability, equity, "
                                    "income, expense)."),
                     QStringLiteral("K")});
        p.addOption({QStringLiteral("currency"), QStringLiteral("Only accounts in this currency."),
                     QStringLiteral("CCY")});
        addCommonOptions(p);
        p.addOption({QStringLiteral("out-dir"), QStringLiteral("The folder to write into."),
                     QStringLiteral("DIR")});
    };
    batchCommand.run = runBatch;
    Command list;
    list.name = QStringLiteral("statement list");
    list.summary = QStringLiteral("list issued statements, newest first, with restatements");
    list.description = QStringLiteral(
        "Lists issued statements, newest first: id, reference, account, number, period, "
        "format, who issued it and when, and whether late entries have restated it since (the "
        "differences in opening and closing balance and how many late entries). Pages of "
        "--limit rows; --before ID continues after the last one shown. Every page asked for "
        "is an audit event (statement.listed). Compliance staff and auditors.");
    list.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("account"), QStringLiteral("Only this account's statements."),
                     QStringLiteral("C")});
        p.addOption({QStringLiteral("restated-only"),
                     QStringLiteral("Only statements late entries have restated.")});
        p.addOption({QStringLiteral("limit"), QStringLiteral("Rows per page, 1-1000 (default 50)."),
                     QStringLiteral("N"), QStringLiteral("50")});
        p.addOption({QStringLiteral("before"),
                     QStringLiteral("Statements issued before the one with this id."),
                     QStringLiteral("ID")});
    };
    list.run = runList;
    return {exportCommand, batchCommand, list, verify, restated};
}

} // namespace ledger::cli
