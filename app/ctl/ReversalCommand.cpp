#include "Cli.h"

#include "db/Connection.h"
#include "db/ReversalRepository.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace ledger::cli {

namespace {

QJsonObject toJson(const ReversalRequestRow &r)
{
    QJsonObject o{
        {QStringLiteral("id"), r.id},
        {QStringLiteral("transaction_id"), r.transactionId},
        {QStringLiteral("reason"), r.reasonCode},
        {QStringLiteral("note"), r.note},
        {QStringLiteral("rebook"), r.rebook},
        {QStringLiteral("rebook_request"), r.rebook ? QJsonValue(r.rebookRequest) : QJsonValue()},
        {QStringLiteral("attempt"), r.attempt},
        {QStringLiteral("requested_by"), r.requestedBy},
        {QStringLiteral("requested_at"), r.requestedAt.toString(Qt::ISODateWithMs)},
        {QStringLiteral("expires_at"), r.expiresAt.toString(Qt::ISODateWithMs)},
        {QStringLiteral("amount"), r.amount},
        {QStringLiteral("currency"), r.currency.isEmpty() ? QJsonValue() : QJsonValue(r.currency)},
        {QStringLiteral("state"), r.state}};
    if (!r.decidedBy.isEmpty()) {
        o.insert(QStringLiteral("decided_by"), r.decidedBy);
        o.insert(QStringLiteral("decided_at"), r.decidedAt.toString(Qt::ISODateWithMs));
        if (!r.decisionNote.isEmpty())
            o.insert(QStringLiteral("decision_note"), r.decisionNote);
    }
    if (r.reversalTransactionId)
        o.insert(QStringLiteral("reversal_transaction_id"), r.reversalTransactionId);
    if (r.rebookTransactionId)
        o.insert(QStringLiteral("rebook_transaction_id"), r.rebookTransactionId);
    return o;
}

// --rebook-file, read and checked to be JSON; empty without the option. False: failed.
bool rebookOption(const Invocation &inv, QByteArray *rebook, int *exitCode)
{
    if (!inv.parser->isSet(QStringLiteral("rebook-file")))
        return true;
    auto input = readInput(inv, QStringLiteral("rebook-file"), qint64(1024) * 1024);
    if (!input) {
        *exitCode = inv.fail(input.error());
        return false;
    }
    QJsonParseError parseError;
    if (QJsonDocument::fromJson(input.value(), &parseError).isNull()) {
        *exitCode = inv.fail(QStringLiteral("The rebook file is not valid JSON: %1 at byte %2.")
                                 .arg(parseError.errorString())
                                 .arg(parseError.offset));
        return false;
    }
    *rebook = input.value();
    return true;
}

int runRequest(const Invocation &inv)
{
    qint64 transaction = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("transaction"), &transaction, &code))
        return code;
    const QString reason = inv.parser->value(QStringLiteral("reason")).toUpper();
    const QString note = inv.parser->value(QStringLiteral("note"));
    if (reason.isEmpty())
        return inv.usage(
            QStringLiteral("--reason is required (see `ledgerctl reversal reasons`)."));
    if (note.trimmed().isEmpty())
        return inv.usage(QStringLiteral("--note is required: say why the transaction is wrong."));
    QByteArray rebook;
    if (!rebookOption(inv, &rebook, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const qint64 id = ReversalRepository::request(connection, transaction, reason, note, rebook,
                                                  inv.parser->value(QStringLiteral("key")));
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("request_id"), id}});
    else
        inv.printLine(QString::number(id));
    return Ok;
}

QString legsText(const QList<PreviewLeg> &legs)
{
    QStringList parts;
    for (const auto &l : legs)
        parts << QStringLiteral("%1 %2 %3").arg(l.account, l.amount, l.currency);
    return parts.isEmpty() ? QStringLiteral("(none)") : parts.join(QStringLiteral(", "));
}

// The preview as people read it: what approval posts, leg by leg, and the net effect.
void printPreview(const Invocation &inv, const ReversalPreview &p,
                  void (Invocation::*print)(const QString &) const)
{
    const auto line = [&](const QString &text) { (inv.*print)(text); };
    if (p.requestId) {
        line(QStringLiteral("Request %1: reverse transaction %2 (%3), requested by %4 at %5; %6")
                 .arg(p.requestId)
                 .arg(p.transactionId)
                 .arg(p.reasonCode, p.requestedBy, p.requestedAt.toString(Qt::ISODateWithMs),
                      p.state));
        line(QStringLiteral("  note: %1").arg(p.note));
        if (p.state == QLatin1String("pending"))
            line(QStringLiteral("  expires: %1").arg(p.expiresAt.toString(Qt::ISODateWithMs)));
    } else {
        line(QStringLiteral("Draft: reverse transaction %1 (%2); nothing has been requested")
                 .arg(p.transactionId)
                 .arg(p.reasonCode));
    }
    line(QStringLiteral("  original (effective %1): %2")
             .arg(p.effectiveAt.toString(Qt::ISODateWithMs), legsText(p.original)));
    line(QStringLiteral("  reversal posts: %1").arg(legsText(p.reversal)));
    if (p.hasRebook)
        line(QStringLiteral("  rebook posts (effective %1, \"%2\"): %3")
                 .arg(p.rebookEffectiveAt.toString(Qt::ISODateWithMs), p.rebookDescription,
                      legsText(p.rebook)));
    else
        line(QStringLiteral("  rebook: none"));
    line(QStringLiteral("  net effect: %1").arg(legsText(p.net)));
    for (const BalanceImpact &b : p.balances)
        line(QStringLiteral("  balance %1: %2 -> %3%4 %5%6")
                 .arg(b.account, b.before.toString(),
                      p.hasRebook && b.afterReversal != b.after
                          ? QStringLiteral("%1 (reversal) -> ").arg(b.afterReversal.toString())
                          : QString(),
                      b.after.toString(), b.currency,
                      b.goesNegative ? QStringLiteral(" (may not go below zero)") : QString()));
    for (const QString &w : p.warnings)
        line(QStringLiteral("  warning: %1").arg(w));
    if (!p.digest.isEmpty())
        line(QStringLiteral("  digest: %1").arg(p.digest));
}

QJsonObject decisionJson(const ReversalDecision &d)
{
    QJsonObject o{{QStringLiteral("ok"), true},
                  {QStringLiteral("request_id"), d.requestId},
                  {QStringLiteral("decision"), d.decision},
                  {QStringLiteral("replayed"), d.replayed}};
    if (d.reversalTransactionId)
        o.insert(QStringLiteral("reversal_transaction_id"), d.reversalTransactionId);
    if (d.rebookTransactionId)
        o.insert(QStringLiteral("rebook_transaction_id"), d.rebookTransactionId);
    return o;
}

int runPreview(const Invocation &inv)
{
    qint64 transaction = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("transaction"), &transaction, &code))
        return code;
    const QString reason = inv.parser->value(QStringLiteral("reason")).toUpper();
    if (reason.isEmpty())
        return inv.usage(
            QStringLiteral("--reason is required (see `ledgerctl reversal reasons`)."));
    QByteArray rebook;
    if (!rebookOption(inv, &rebook, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const ReversalPreview p =
        ReversalRepository::previewDraft(connection, transaction, reason, rebook);
    const QString refusal =
        QStringLiteral("A request for this reversal would be refused: %1").arg(p.warnings.value(0));
    if (inv.json) {
        // The preview, and where refused the "error", "kind" and "retryable" every failed
        // --json command prints (a script reads one shape of failure).
        QJsonObject o = p.document;
        o.insert(QStringLiteral("ok"), !p.refused);
        if (p.refused) {
            o.insert(QStringLiteral("error"), refusal);
            o.insert(QStringLiteral("kind"), kindName(Error::Kind::Input));
            o.insert(QStringLiteral("retryable"), false);
        }
        inv.printJson(o);
    } else {
        printPreview(inv, p, &Invocation::printLine);
    }
    if (p.refused)
        return inv.json ? Failed : inv.fail(refusal);
    return Ok;
}

int runShow(const Invocation &inv)
{
    qint64 request = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("request"), &request, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto p = ReversalRepository::preview(connection, request);
    if (inv.json) {
        QJsonObject o = p.document;
        o.insert(QStringLiteral("ok"), true);
        inv.printJson(o);
        return Ok;
    }
    printPreview(inv, p, &Invocation::printLine);
    return Ok;
}

int runApprove(const Invocation &inv)
{
    qint64 request = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("request"), &request, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    // What is approved is what is shown: the preview goes to stderr (stdout keeps the ids
    // for scripts), and the approval names its digest. --digest approves only a preview
    // seen before (`reversal show`); if the request differs from it, nothing is posted.
    QString digest = inv.parser->value(QStringLiteral("digest"));
    if (digest.isEmpty()) {
        const auto p = ReversalRepository::preview(connection, request);
        printPreview(inv, p, &Invocation::progress);
        digest = p.digest;
    }
    const auto d = ReversalRepository::approve(connection, request, digest,
                                               inv.parser->value(QStringLiteral("note")),
                                               inv.parser->value(QStringLiteral("key")));
    if (inv.json) {
        QJsonObject o = decisionJson(d);
        o.insert(QStringLiteral("preview_digest"), digest);
        inv.printJson(o);
    } else {
        inv.printLine(
            d.rebookTransactionId
                ? QStringLiteral("%1 %2").arg(d.reversalTransactionId).arg(d.rebookTransactionId)
                : QString::number(d.reversalTransactionId));
    }
    return Ok;
}

int runReject(const Invocation &inv)
{
    qint64 request = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("request"), &request, &code))
        return code;
    const QString note = inv.parser->value(QStringLiteral("note"));
    if (note.trimmed().isEmpty())
        return inv.usage(QStringLiteral("--note is required: say why the request is rejected."));
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto d = ReversalRepository::reject(connection, request, note,
                                              inv.parser->value(QStringLiteral("key")));
    if (inv.json)
        inv.printJson(decisionJson(d));
    else
        inv.printLine(QStringLiteral("Request %1 rejected.").arg(request));
    return Ok;
}

int runWithdraw(const Invocation &inv)
{
    qint64 request = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("request"), &request, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto d =
        ReversalRepository::withdraw(connection, request, inv.parser->value(QStringLiteral("note")),
                                     inv.parser->value(QStringLiteral("key")));
    if (inv.json)
        inv.printJson(decisionJson(d));
    else
        inv.printLine(QStringLiteral("Request %1 withdrawn.").arg(request));
    return Ok;
}

int runExpire(const Invocation &inv)
{
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto expired = ReversalRepository::expire(connection);
    if (inv.json) {
        QJsonArray ids;
        for (const auto &d : expired)
            ids.append(d.requestId);
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("expired"), ids}});
        return Ok;
    }
    for (const auto &d : expired)
        inv.printLine(QStringLiteral("Request %1 expired.").arg(d.requestId));
    if (expired.isEmpty())
        inv.progress(QStringLiteral("No pending request is past its time."));
    return Ok;
}

int runList(const Invocation &inv)
{
    QString state = inv.parser->value(QStringLiteral("state")).toLower();
    if (state == QLatin1String("all"))
        state.clear();
    else if (!QStringList{QStringLiteral("pending"), QStringLiteral("approved"),
                          QStringLiteral("rejected"), QStringLiteral("withdrawn"),
                          QStringLiteral("expired")}
                  .contains(state))
        return inv.usage(QStringLiteral(
            "--state must be pending, approved, rejected, withdrawn, expired or all."));
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto requests = ReversalRepository::list(connection, state);
    if (inv.json) {
        QJsonArray rows;
        for (const auto &r : requests)
            rows.append(toJson(r));
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("requests"), rows}});
        return Ok;
    }
    for (const auto &r : requests) {
        QString rebook;
        if (r.rebook) {
            QStringList legs;
            for (const QJsonValue &v : r.rebookRequest.value(QStringLiteral("legs")).toArray()) {
                const QJsonObject l = v.toObject();
                legs << QStringLiteral("%1 %2 %3")
                            .arg(l.value(QStringLiteral("account")).toString(),
                                 l.value(QStringLiteral("amount")).toString(),
                                 l.value(QStringLiteral("currency")).toString());
            }
            rebook = QStringLiteral("rebook %1 at %2")
                         .arg(legs.join(QStringLiteral(", ")),
                              r.rebookRequest.value(QStringLiteral("effective_at")).toString());
        } else {
            rebook = QStringLiteral("no rebook");
        }
        inv.printRow({QString::number(r.id), QStringLiteral("transaction %1").arg(r.transactionId),
                      r.state, r.reasonCode, QStringLiteral("by %1").arg(r.requestedBy), rebook,
                      r.note});
    }
    return Ok;
}

int runReasons(const Invocation &inv)
{
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto reasons = ReversalRepository::reasonCodes(connection);
    if (inv.json) {
        QJsonArray rows;
        for (const auto &r : reasons)
            rows.append(QJsonObject{{QStringLiteral("code"), r.code},
                                    {QStringLiteral("description"), r.description},
                                    {QStringLiteral("takes_rebook"), r.takesRebook}});
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("reasons"), rows}});
        return Ok;
    }
    for (const auto &r : reasons)
        inv.printRow({r.code, r.description});
    return Ok;
}

// --key on every command that requests or decides: the client's idempotency key.
void addKeyOption(QCommandLineParser &p)
{
    p.addOption({QStringLiteral("key"),
                 QStringLiteral("Client key: the same key again gives the first call's result "
                                "instead of a second one (safe retries)."),
                 QStringLiteral("KEY")});
}

} // namespace

QList<Command> reversalCommands()
{
    Command request;
    request.name = QStringLiteral("reversal request");
    request.summary =
        QStringLiteral("ask for a transaction to be reversed (and optionally rebooked)");
    request.description = QStringLiteral(
        "Records a request to reverse a transaction, with a reason code and a note. A "
        "supervisor other than you must approve it. With --rebook-file, approval also posts the "
        "corrected transaction in that file (same JSON as `ledgerctl post`), which must fit the "
        "reason: WRONG_AMOUNT keeps the accounts, sides and effective time (amounts within a "
        "factor of 10), WRONG_ACCOUNT keeps the amounts, effective time and at least one "
        "account, WRONG_DATE keeps every leg (at most 366 days away). The note is one line of "
        "plain text. Prints the request id.");
    request.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("transaction"),
                     QStringLiteral("Id of the transaction to reverse."), QStringLiteral("ID")});
        p.addOption({QStringLiteral("reason"),
                     QStringLiteral("Reason code (see `ledgerctl reversal reasons`)."),
                     QStringLiteral("CODE")});
        p.addOption({QStringLiteral("note"), QStringLiteral("Why it is wrong (required)."),
                     QStringLiteral("TEXT")});
        p.addOption({QStringLiteral("rebook-file"),
                     QStringLiteral("The corrected transaction to post on approval (- for stdin)."),
                     QStringLiteral("F")});
        addKeyOption(p);
    };
    request.run = runRequest;

    Command approve;
    approve.name = QStringLiteral("reversal approve");
    approve.summary = QStringLiteral("approve a reversal request (supervisors; never your own)");
    approve.description = QStringLiteral(
        "Approves a pending request and posts the reversal: a transaction mirroring the "
        "original with every leg negated, at the original's effective time, referencing it "
        "(plus the corrected transaction, for a rebook). Only a supervisor who did not make "
        "the request may approve; a request is decided once. What is approved is what is "
        "shown: the preview (`reversal show`) goes to stderr first and the approval names its "
        "digest; with --digest, only the preview seen before is approved. Prints the reversal "
        "transaction id (and the rebook's).");
    approve.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("request"), QStringLiteral("Request id."), QStringLiteral("ID")});
        p.addOption({QStringLiteral("digest"),
                     QStringLiteral("Approve only the preview with this digest (from `reversal "
                                    "show`)."),
                     QStringLiteral("HEX")});
        p.addOption(
            {QStringLiteral("note"), QStringLiteral("Optional note."), QStringLiteral("TEXT")});
        addKeyOption(p);
    };
    approve.run = runApprove;

    Command show;
    show.name = QStringLiteral("reversal show");
    show.summary = QStringLiteral("show what approving a request would post");
    show.description = QStringLiteral(
        "Shows a reversal request as a supervisor must see it before deciding: the original "
        "transaction, the reversal's legs, the rebook's legs (account, amount, effective "
        "time), the net effect per account, and the digest that names this content (pass it "
        "to `reversal approve --digest`).");
    show.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("request"), QStringLiteral("Request id."), QStringLiteral("ID")});
    };
    show.run = runShow;

    Command reject;
    reject.name = QStringLiteral("reversal reject");
    reject.summary = QStringLiteral("reject a reversal request (supervisors; never your own)");
    reject.description =
        QStringLiteral("Rejects a pending request, with a note saying why. Nothing is posted.");
    reject.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("request"), QStringLiteral("Request id."), QStringLiteral("ID")});
        p.addOption({QStringLiteral("note"), QStringLiteral("Why it is rejected (required)."),
                     QStringLiteral("TEXT")});
        addKeyOption(p);
    };
    reject.run = runReject;

    Command preview;
    preview.name = QStringLiteral("reversal preview");
    preview.summary = QStringLiteral("show what a reversal request would post, before asking");
    preview.description = QStringLiteral(
        "Shows what reversing a transaction (and rebooking it, with --rebook-file) would post, "
        "computed by the server without requesting anything: the mirror legs, the rebook, the "
        "net effect and each account's balance before and after. Fails (exit 1) where the "
        "reversal would take an account that may not go negative below zero: such a request "
        "is refused. The preview is recorded in the audit trail.");
    preview.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("transaction"),
                     QStringLiteral("Id of the transaction to reverse."), QStringLiteral("ID")});
        p.addOption({QStringLiteral("reason"),
                     QStringLiteral("Reason code (see `ledgerctl reversal reasons`)."),
                     QStringLiteral("CODE")});
        p.addOption({QStringLiteral("rebook-file"),
                     QStringLiteral("The corrected transaction (- for stdin)."),
                     QStringLiteral("F")});
    };
    preview.run = runPreview;

    Command withdraw;
    withdraw.name = QStringLiteral("reversal withdraw");
    withdraw.summary = QStringLiteral("withdraw your own pending reversal request");
    withdraw.description = QStringLiteral(
        "Withdraws a pending request. Only the operator who made it may; nothing is posted.");
    withdraw.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("request"), QStringLiteral("Request id."), QStringLiteral("ID")});
        p.addOption(
            {QStringLiteral("note"), QStringLiteral("Optional note."), QStringLiteral("TEXT")});
        addKeyOption(p);
    };
    withdraw.run = runWithdraw;

    Command expire;
    expire.name = QStringLiteral("reversal expire");
    expire.summary = QStringLiteral("record the expiry of pending requests past their time");
    expire.description = QStringLiteral(
        "Records every pending request older than its lifetime (access.settings."
        "reversal_request_ttl, 7 days unless changed) as expired, each with an audit event. An "
        "expired request can no longer be approved. pg_cron does this every minute where it "
        "is installed; elsewhere run this from cron or a timer (supervisors).");
    expire.run = runExpire;

    Command list;
    list.name = QStringLiteral("reversal list");
    list.summary = QStringLiteral("list reversal requests and their state");
    list.description =
        QStringLiteral("Lists reversal requests, newest first, with their derived state.");
    list.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("state"),
             QStringLiteral("pending, approved, rejected, withdrawn, expired or all (default "
                            "pending)."),
             QStringLiteral("STATE"), QStringLiteral("pending")});
    };
    list.run = runList;

    Command reasons;
    reasons.name = QStringLiteral("reversal reasons");
    reasons.summary = QStringLiteral("list the reason codes a reversal request may give");
    reasons.description = QStringLiteral("Lists the reason codes for reversal requests.");
    reasons.run = runReasons;
    return {request, preview, show, approve, reject, withdraw, expire, list, reasons};
}

} // namespace ledger::cli
