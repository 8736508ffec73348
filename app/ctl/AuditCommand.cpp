#include "Cli.h"

#include "audit/ChainVerifier.h"
#include "audit/LedgerVerifier.h"
#include "db/AuditRepository.h"
#include "db/Connection.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

namespace ledger::cli {

namespace {

constexpr qint64 kMaxCheckpointBytes = qint64(64) * 1024 * 1024; // in qint64, not int

QString hex(const QByteArray &bytes)
{
    return QString::fromLatin1(bytes.toHex());
}

int runCheckpoint(const Invocation &inv)
{
    const QString out = inv.parser->value(QStringLiteral("out"));
    if (out.isEmpty())
        return inv.usage(QStringLiteral("--out FILE is required: where to write the checkpoint."));
    int anchorEvery = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("anchor-every"), 1, 100000000, &anchorEvery, &code))
        return code;
    if (QFile::exists(out) && !inv.parser->isSet(QStringLiteral("force")))
        return inv.fail(QStringLiteral("%1 exists; choose another file or pass --force to "
                                       "replace it.")
                            .arg(out));

    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto issued = AuditRepository::issueCheckpoint(connection, anchorEvery);
    CheckpointFile file;
    file.checkpointId = issued.id;
    file.seq = issued.seq;
    file.hash = issued.hash;
    file.issuedAt = issued.issuedAt;
    file.database = connection.database();
    file.anchorEvery = anchorEvery;
    file.anchors = issued.anchors;

    // All or nothing: a half-written checkpoint would be worse than none.
    QSaveFile save(out);
    if (!save.open(QIODevice::WriteOnly) || save.write(file.toJson()) < 0 || !save.commit())
        return inv.fail(QStringLiteral("Could not write %1: %2. The checkpoint #%3 is recorded "
                                       "in the database; run the command again to get a file.")
                            .arg(out, save.errorString())
                            .arg(issued.id));
    if (inv.json)
        inv.printJson({{QStringLiteral("checkpoint_id"), issued.id},
                       {QStringLiteral("seq"), issued.seq},
                       {QStringLiteral("hash"), hex(issued.hash)},
                       {QStringLiteral("issued_at"), issued.issuedAt.toString(Qt::ISODateWithMs)},
                       {QStringLiteral("file"), out}});
    else
        inv.printLine(QStringLiteral("checkpoint #%1: sequence %2, hash %3, written to %4")
                          .arg(issued.id)
                          .arg(issued.seq)
                          .arg(hex(issued.hash), out));
    return Ok;
}

int runVerify(const Invocation &inv)
{
    const QString verifier = inv.parser->value(QStringLiteral("verifier"));
    if (verifier != QLatin1String("client") && verifier != QLatin1String("sql") &&
        verifier != QLatin1String("both"))
        return inv.usage(QStringLiteral("--verifier is client, sql or both."));

    std::optional<CheckpointFile> checkpoint;
    QString checkpointName;
    if (inv.parser->isSet(QStringLiteral("checkpoint"))) {
        auto input = readInput(inv, QStringLiteral("checkpoint"), kMaxCheckpointBytes);
        if (!input)
            return inv.fail(input.error());
        QString error;
        checkpoint = CheckpointFile::fromJson(input.value(), &error);
        if (!checkpoint)
            return inv.fail(error);
        checkpointName = inv.parser->value(QStringLiteral("checkpoint"));
    }

    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    QJsonObject report;
    QStringList broken;
    if (verifier != QLatin1String("sql")) {
        const VerificationResult r = verifyChain(
            connection, checkpoint ? checkpoint->marks(checkpointName) : QList<ChainMark>{},
            [&inv](qint64 done, qint64 total) {
                if (done > 0 && done < total)
                    inv.progress(QStringLiteral("verifying: %1 of %2 events").arg(done).arg(total));
            });
        QJsonObject o{{QStringLiteral("intact"), r.intact()},
                      {QStringLiteral("verified_through"), r.verifiedThrough},
                      {QStringLiteral("events_checked"), r.eventsChecked},
                      {QStringLiteral("seconds"), r.seconds}};
        if (r.brokenAt) {
            o.insert(QStringLiteral("broken_at"), *r.brokenAt);
            o.insert(QStringLiteral("reason"), r.reason);
            broken << QStringLiteral("client verifier: %1").arg(r.summary());
        }
        report.insert(QStringLiteral("client"), o);
        if (!inv.json)
            inv.printLine(QStringLiteral("client verifier: %1 (%2 s)")
                              .arg(r.summary())
                              .arg(r.seconds, 0, 'f', 3));
    }
    if (verifier != QLatin1String("client")) {
        const auto r =
            checkpoint ? AuditRepository::verifyInSql(connection, checkpoint->seq, checkpoint->hash)
                       : AuditRepository::verifyInSql(connection);
        QJsonObject o{{QStringLiteral("intact"), !r.brokenAt},
                      {QStringLiteral("verified_through"), r.verifiedThrough},
                      {QStringLiteral("events_checked"), r.eventsChecked}};
        const QString summary =
            r.brokenAt ? QStringLiteral("Broken at sequence %1: %2").arg(*r.brokenAt).arg(r.reason)
                       : QStringLiteral("Verified through sequence %1 (%2 events).")
                             .arg(r.verifiedThrough)
                             .arg(r.eventsChecked);
        if (r.brokenAt) {
            o.insert(QStringLiteral("broken_at"), *r.brokenAt);
            o.insert(QStringLiteral("reason"), r.reason);
            broken << QStringLiteral("SQL verifier: %1").arg(summary);
        }
        report.insert(QStringLiteral("sql"), o);
        if (!inv.json)
            inv.printLine(QStringLiteral("SQL verifier:    %1").arg(summary));
    }
    // The ledger's rows against the digests the chain holds, and heads against entries.
    const auto ledgerReport = [&](const QString &key, const QString &label,
                                  const LedgerVerification &v) {
        QJsonObject o{{QStringLiteral("intact"), v.intact()},
                      {QStringLiteral("transactions_checked"), v.transactionsChecked},
                      {QStringLiteral("entries_checked"), v.entriesChecked},
                      {QStringLiteral("accounts_checked"), v.accountsChecked},
                      {QStringLiteral("transactions_broken"), v.transactionsBroken},
                      {QStringLiteral("accounts_broken"), v.accountsBroken}};
        if (v.firstTransaction) {
            o.insert(QStringLiteral("first_transaction"), QString::number(*v.firstTransaction));
            o.insert(QStringLiteral("transaction_reason"), v.transactionReason);
        }
        if (v.accountsBroken > 0) {
            o.insert(QStringLiteral("first_account"), v.firstAccount);
            o.insert(QStringLiteral("account_reason"), v.accountReason);
        }
        if (!v.intact())
            broken << QStringLiteral("%1: %2").arg(label.trimmed(), v.summary());
        report.insert(key, o);
        if (!inv.json)
            inv.printLine(QStringLiteral("%1 %2").arg(label, v.summary()));
    };
    if (verifier != QLatin1String("sql"))
        ledgerReport(QStringLiteral("client_ledger"), QStringLiteral("client ledger check:"),
                     verifyLedger(connection));
    if (verifier != QLatin1String("client"))
        ledgerReport(QStringLiteral("sql_ledger"), QStringLiteral("SQL ledger check:   "),
                     AuditRepository::verifyLedgerInSql(connection));
    report.insert(QStringLiteral("intact"), broken.isEmpty());
    report.insert(QStringLiteral("ok"), broken.isEmpty());
    if (!inv.json)
        return broken.isEmpty() ? int(Ok) : inv.fail(broken.join(QStringLiteral("; ")));
    // One JSON document, the report itself; the one-line reason still goes to stderr.
    if (!broken.isEmpty())
        report.insert(QStringLiteral("error"), broken.join(QStringLiteral("; ")));
    inv.printJson(report);
    if (broken.isEmpty())
        return Ok;
    inv.progress(
        QStringLiteral("ledgerctl %1: %2").arg(inv.commandPath, broken.join(QStringLiteral("; "))));
    return Failed;
}

int runSeal(const Invocation &inv)
{
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const qint64 n = AuditRepository::seal(connection);
    const auto head = AuditRepository::head(connection);
    if (inv.json)
        inv.printJson({{QStringLiteral("sealed"), n},
                       {QStringLiteral("seq"), head.seq},
                       {QStringLiteral("hash"), hex(head.hash)}});
    else
        inv.printLine(QStringLiteral("sealed %1 events; the chain ends at sequence %2, hash %3")
                          .arg(n)
                          .arg(head.seq)
                          .arg(hex(head.hash)));
    return Ok;
}

int runLog(const Invocation &inv)
{
    int limit = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("limit"), 1, 100000, &limit, &code))
        return code;
    AuditFilter filter;
    filter.operatorName = inv.parser->value(QStringLiteral("operator"));
    filter.action = inv.parser->value(QStringLiteral("action"));
    filter.objectType = inv.parser->value(QStringLiteral("object-type"));
    filter.objectId = inv.parser->value(QStringLiteral("object-id"));
    filter.text = inv.parser->value(QStringLiteral("text"));
    for (const auto &[option, target] : {std::pair{QStringLiteral("since"), &filter.from},
                                         std::pair{QStringLiteral("until"), &filter.until}}) {
        if (!inv.parser->isSet(option))
            continue;
        const auto t = parseTime(inv.parser->value(option), option);
        if (!t)
            return inv.usage(t.error().message);
        *target = t.value();
    }
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const QList<AuditEvent> events = AuditRepository::page(connection, filter, std::nullopt, limit);
    QJsonArray list;
    for (const AuditEvent &e : events) {
        const QString seq = e.seq ? QString::number(*e.seq) : QStringLiteral("unsealed");
        if (inv.json) {
            list.append(QJsonObject{
                {QStringLiteral("id"), e.id},
                {QStringLiteral("seq"), e.seq ? QJsonValue(*e.seq) : QJsonValue()},
                {QStringLiteral("occurred_at"), e.occurredAt.toString(Qt::ISODateWithMs)},
                {QStringLiteral("operator"), e.operatorName},
                {QStringLiteral("session_role"), e.sessionRole},
                {QStringLiteral("action"), e.action},
                {QStringLiteral("object_type"), e.objectType},
                {QStringLiteral("object_id"), e.objectId.isNull() ? QJsonValue() : e.objectId},
                {QStringLiteral("details"), QJsonDocument::fromJson(e.details.toUtf8()).object()},
                {QStringLiteral("hash"), hex(e.hash)}});
        } else {
            // Operator, object id and details are whatever was recorded: columns, escaped.
            inv.printRow({seq, e.occurredAt.toString(Qt::ISODateWithMs), e.operatorName, e.action,
                          e.objectType + QLatin1Char(' ') + e.objectId, e.details});
        }
    }
    if (inv.json)
        inv.printJson({{QStringLiteral("events"), list}});
    return Ok;
}

} // namespace

QList<Command> auditCommands()
{
    Command checkpoint;
    checkpoint.name = QStringLiteral("audit checkpoint");
    checkpoint.summary = QStringLiteral("record the audit chain's head and write it to a file");
    checkpoint.description = QStringLiteral(
        "Seals the audit chain, records a checkpoint of its head (sequence number, hash, time) "
        "in audit.checkpoints, and writes it to FILE with the hashes at every N-th sequence "
        "(anchors). Keep the file outside the database: `audit verify --checkpoint FILE` then "
        "catches a chain rewritten after it, and says from where (to within N events). Needs "
        "console_auditor or console_compliance.");
    checkpoint.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("out"), QStringLiteral("The file to write (JSON)."),
                     QStringLiteral("FILE")});
        p.addOption({QStringLiteral("anchor-every"),
                     QStringLiteral("Keep the hash of every N-th sequence (default 256; 1 keeps "
                                    "all)."),
                     QStringLiteral("N"), QStringLiteral("256")});
        p.addOption({QStringLiteral("force"), QStringLiteral("Replace FILE if it exists.")});
    };
    checkpoint.run = runCheckpoint;

    Command verify;
    verify.name = QStringLiteral("audit verify");
    verify.summary = QStringLiteral(
        "verify the audit hash chain and the ledger's rows against it (in C++ and in SQL)");
    verify.description = QStringLiteral(
        "Seals the chain's tail, then recomputes every hash: here in C++ from the rows read, "
        "and with the database's own audit.verify_chain(). Both check the links, the "
        "checkpoints recorded in the database and, with --checkpoint, the given file. Prints "
        "the first broken sequence number and why (row changed, row missing, order changed, "
        "chain rewritten after a checkpoint). Then both check the ledger itself: every "
        "transaction's rows against the digest its sealed event holds (a changed amount, a "
        "deleted or inserted entry or transaction is named by the first transaction id it "
        "touches), and every account's sequence numbers, running balances and head against "
        "its entries (the first account that disagrees is named). Exits 1 when any check "
        "fails. Each run is itself recorded as an audit event.");
    verify.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("checkpoint"),
                     QStringLiteral("A file from `audit checkpoint` (- for standard input)."),
                     QStringLiteral("FILE")});
        p.addOption({QStringLiteral("verifier"),
                     QStringLiteral("client, sql or both (default both)."), QStringLiteral("WHICH"),
                     QStringLiteral("both")});
    };
    verify.run = runVerify;

    Command seal;
    seal.name = QStringLiteral("audit seal");
    seal.summary = QStringLiteral("seal committed audit events that are not yet chained");
    seal.description = QStringLiteral(
        "A commit chains every event waiting when the last seal is at least 20 ms old "
        "(audit.seal_floor.seal_every); events of commits in between, or while the chain was "
        "busy, wait for the next one. This seals whatever is waiting now (pg_cron does it "
        "every minute where installed; verifiers do it first, the outbox relay when the chain is "
        "free).");
    seal.run = runSeal;

    Command log;
    log.name = QStringLiteral("audit log");
    log.summary = QStringLiteral("list audit events, newest first");
    log.description = QStringLiteral("Lists audit events, newest first, filtered by the server.");
    log.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("limit"), QStringLiteral("At most N events (default 50)."),
                     QStringLiteral("N"), QStringLiteral("50")});
        p.addOption({QStringLiteral("operator"), QStringLiteral("Only this operator."),
                     QStringLiteral("NAME")});
        p.addOption({QStringLiteral("action"),
                     QStringLiteral("Only this action, or a prefix ending in '.' "
                                    "(\"reversal.\")."),
                     QStringLiteral("ACTION")});
        p.addOption({QStringLiteral("object-type"), QStringLiteral("Only this object type."),
                     QStringLiteral("TYPE")});
        p.addOption({QStringLiteral("object-id"), QStringLiteral("Only this object id."),
                     QStringLiteral("ID")});
        p.addOption({QStringLiteral("since"), QStringLiteral("From this time (ISO 8601)."),
                     QStringLiteral("T")});
        p.addOption({QStringLiteral("until"), QStringLiteral("Before this time (ISO 8601)."),
                     QStringLiteral("T")});
        p.addOption({QStringLiteral("text"), QStringLiteral("Details containing this text."),
                     QStringLiteral("TEXT")});
    };
    log.run = runLog;
    return {checkpoint, verify, seal, log};
}

} // namespace ledger::cli
