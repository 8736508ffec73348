#include "Cli.h"

#include "db/Connection.h"
#include "db/LedgerRepository.h"
#include "domain/BackfillPacer.h"
#include "ingest/KafkaIngester.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QThread>

#include <atomic>
#include <csignal>

namespace ledger::cli {

namespace {

constexpr qint64 kMaxPostBytes = qint64(1024) * 1024;
constexpr qint64 kMaxIngestBytes = qint64(2) * 1024 * 1024 * 1024;

void addFileOption(QCommandLineParser &p, const QString &what)
{
    p.addOption({QStringLiteral("file"), QStringLiteral("%1 (- for standard input).").arg(what),
                 QStringLiteral("F")});
}

int runPost(const Invocation &inv)
{
    auto input = readInput(inv, QStringLiteral("file"), kMaxPostBytes);
    if (!input)
        return inv.fail(input.error());
    // Syntax is checked here for a precise message; the text itself goes to the server
    // unchanged, so amounts never pass through a floating-point parser.
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(input.value(), &parseError);
    if (doc.isNull())
        return inv.fail(QStringLiteral("The transaction is not valid JSON: %1 at byte %2.")
                            .arg(parseError.errorString())
                            .arg(parseError.offset));
    if (!doc.isObject())
        return inv.fail(QStringLiteral("The transaction must be one JSON object."));
    if (doc.object().value(QStringLiteral("idempotency_key")).toString().isEmpty())
        return inv.fail(
            QStringLiteral("idempotency_key is missing: give every transaction a unique key, "
                           "so that sending it twice posts it once."));
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto result = LedgerRepository::post(connection, input.value());
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("transaction_id"), result.transactionId},
                       {QStringLiteral("created"), result.created}});
    else
        inv.printLine(QString::number(result.transactionId));
    if (!result.created)
        inv.progress(
            QStringLiteral("(already posted under this idempotency key; nothing new was written)"));
    return Ok;
}

// Set by SIGTERM and SIGINT while a Kafka ingester runs: it finishes the round it is in
// (each partition batch committed or not at all) and leaves the group.
std::atomic<bool> g_stopIngest{false};

void stopIngest(int)
{
    g_stopIngest.store(true);
}

// --backfill: its share of the database's time (--backfill-share, percent), or 0 when it is
// no backfill; false with the exit code when the share is no percentage.
bool backfillShare(const Invocation &inv, double *share, int *code)
{
    *share = 0;
    if (!inv.parser->isSet(QStringLiteral("backfill"))) {
        if (!inv.parser->isSet(QStringLiteral("backfill-share")))
            return true;
        *code = inv.usage(QStringLiteral("--backfill-share is for --backfill."));
        return false;
    }
    int percent = 25;
    if (inv.parser->isSet(QStringLiteral("backfill-share")) &&
        !intOption(inv, QStringLiteral("backfill-share"), 1, 100, &percent, code))
        return false;
    *share = percent / 100.0;
    return true;
}

// A backfill's batches are small (short transactions) unless --batch-size says otherwise.
constexpr int kBackfillBatch = 50;

int runKafkaIngest(const Invocation &inv)
{
    KafkaIngestOptions options;
    options.brokers = inv.parser->value(QStringLiteral("kafka"));
    options.topic = inv.parser->value(QStringLiteral("topic"));
    options.group = inv.parser->value(QStringLiteral("group"));
    options.source = inv.parser->value(QStringLiteral("source"));
    if (options.topic.isEmpty() || options.group.isEmpty())
        return inv.usage(QStringLiteral("--kafka needs --topic and --group."));
    if (inv.parser->isSet(QStringLiteral("file")))
        return inv.usage(QStringLiteral("Give either --file or --kafka, not both."));
    if (inv.parser->isSet(QStringLiteral("all-or-nothing")))
        return inv.usage(
            QStringLiteral("--all-or-nothing is for files; a stream parks what it cannot post."));
    if (inv.parser->isSet(QStringLiteral("contra")))
        options.contraTemplate = inv.parser->value(QStringLiteral("contra"));
    int code = 0;
    if (!intOption(inv, QStringLiteral("batch-size"), 1, 100000, &options.maxBatch, &code))
        return code;
    if (!backfillShare(inv, &options.backfillShare, &code))
        return code;
    if (options.backfillShare > 0 && !inv.parser->isSet(QStringLiteral("batch-size")))
        options.maxBatch = kBackfillBatch;
    int idle = 0;
    if (inv.parser->isSet(QStringLiteral("until-idle")) &&
        !intOption(inv, QStringLiteral("until-idle"), 1, 86400, &idle, &code))
        return code;
    options.untilIdleSeconds = idle;
    int brokerTimeout = 30;
    if (inv.parser->isSet(QStringLiteral("broker-timeout")) &&
        !intOption(inv, QStringLiteral("broker-timeout"), 1, 3600, &brokerTimeout, &code))
        return code;
    options.brokerTimeoutSeconds = brokerTimeout;
    if (inv.parser->isSet(QStringLiteral("max-hold"))) {
        int maxHold = 0;
        if (!intOption(inv, QStringLiteral("max-hold"), 0, 31622400, &maxHold, &code))
            return code;
        options.maxHoldSeconds = maxHold;
    }
    const bool fromOffset = inv.parser->isSet(QStringLiteral("from-offset"));
    const bool fromTime = inv.parser->isSet(QStringLiteral("from-time"));
    if (inv.parser->isSet(QStringLiteral("replay")) != (fromOffset || fromTime) ||
        (fromOffset && fromTime))
        return inv.usage(QStringLiteral("--replay needs one of --from-offset N and --from-time T, "
                                        "and they are for --replay."));
    // A backfill of a topic reads it from its start (or the replay's start) outside the group.
    if (options.backfillShare > 0 && !fromOffset && !fromTime)
        options.replayFromOffset = 0;
    if (fromOffset) {
        bool ok = false;
        const qint64 from = inv.parser->value(QStringLiteral("from-offset")).toLongLong(&ok);
        if (!ok || from < 0)
            return inv.usage(QStringLiteral("--from-offset is an offset, 0 or more."));
        options.replayFromOffset = from;
    }
    if (fromTime) {
        auto t =
            parseTime(inv.parser->value(QStringLiteral("from-time")), QStringLiteral("from-time"));
        if (!t)
            return inv.usage(t.error().message);
        if (t.value().toMSecsSinceEpoch() < 0) // (Kafka reads negative times as "latest")
            return inv.usage(QStringLiteral("--from-time is 1970-01-01T00:00:00Z or later."));
        options.replayFromTime = t.value();
    }

    struct sigaction action = {};
    action.sa_handler = stopIngest;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto report = ledger::runKafkaIngest(connection, options, g_stopIngest,
                                               [&](const QString &line) { inv.progress(line); });
    if (!report)
        return inv.fail(report.error());
    const KafkaIngestReport &r = report.value();
    if (inv.json) {
        QJsonObject positions;
        for (auto it = r.positions.constBegin(); it != r.positions.constEnd(); ++it)
            positions.insert(QString::number(it.key()), QString::number(it.value()));
        QJsonObject lag;
        for (auto it = r.lag.constBegin(); it != r.lag.constEnd(); ++it)
            lag.insert(QString::number(it.key()), it.value());
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("source"), r.source},
                       {QStringLiteral("messages"), r.messages},
                       {QStringLiteral("posted"), r.posted},
                       {QStringLiteral("duplicates"), r.duplicates},
                       {QStringLiteral("parked"), r.parked},
                       {QStringLiteral("skipped"), r.skipped},
                       {QStringLiteral("held"), r.held},
                       {QStringLiteral("released"), r.released},
                       {QStringLiteral("expired"), r.expired},
                       {QStringLiteral("before_time"), r.beforeTime},
                       {QStringLiteral("paused_seconds"), r.pausedSeconds},
                       {QStringLiteral("positions"), positions},
                       {QStringLiteral("lag"), lag},
                       {QStringLiteral("seconds"), r.seconds}});
    } else {
        qint64 behind = 0;
        bool unknown = false;
        for (const qint64 n : r.lag) {
            behind += qMax<qint64>(0, n);
            unknown = unknown || n < 0;
        }
        inv.printLine(
            QStringLiteral("messages %1: posted %2, duplicates %3, parked %4, skipped "
                           "%5%8, held %9, released %10, expired %11; %6 s; %7 left behind on "
                           "the broker")
                .arg(r.messages)
                .arg(r.posted)
                .arg(r.duplicates)
                .arg(r.parked)
                .arg(r.skipped)
                .arg(r.seconds, 0, 'f', 1)
                .arg(unknown ? QStringLiteral("%1 or more").arg(behind) : QString::number(behind))
                .arg(options.replayFromTime
                         ? QStringLiteral(" (and %1 stamped before the time passed over)")
                               .arg(r.beforeTime)
                         : QString())
                .arg(r.held)
                .arg(r.released)
                .arg(r.expired));
    }
    return Ok;
}

// What a stream delivered that could not be posted, newest first.
// What became of a dead letter, in a few words.
QString stateOf(const LedgerRepository::DeadLetter &d)
{
    if (d.outcome == QLatin1String("retried"))
        return QStringLiteral("retried: transaction %1").arg(d.transactionId);
    if (d.outcome == QLatin1String("discarded"))
        return QStringLiteral("discarded: %1").arg(d.outcomeReason);
    return QStringLiteral("open");
}

int runDeadLetters(const Invocation &inv)
{
    int limit = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("limit"), 1, 10000, &limit, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto letters =
        LedgerRepository::deadLetters(connection, limit, inv.parser->isSet(QStringLiteral("open")));
    const auto at = [](const QDateTime &t) { return t.toUTC().toString(Qt::ISODateWithMs); };
    if (inv.json) {
        QJsonArray rows;
        for (const auto &d : letters) {
            QJsonObject o{{QStringLiteral("id"), double(d.id)},
                          {QStringLiteral("source"), d.source},
                          {QStringLiteral("topic"), d.topic},
                          {QStringLiteral("partition"), d.partition},
                          {QStringLiteral("offset"), double(d.offset)},
                          {QStringLiteral("parked_at"), at(d.parkedAt)},
                          {QStringLiteral("error_code"), d.errorCode},
                          {QStringLiteral("reason"), d.reason},
                          {QStringLiteral("payload"), d.payload},
                          {QStringLiteral("state"),
                           d.outcome.isEmpty() ? QStringLiteral("open") : d.outcome}};
            if (!d.outcome.isEmpty()) {
                o.insert(QStringLiteral("decided_by"), d.decidedBy);
                o.insert(QStringLiteral("decided_at"), at(d.decidedAt));
            }
            if (d.transactionId > 0)
                o.insert(QStringLiteral("transaction_id"), double(d.transactionId));
            if (!d.outcomeReason.isEmpty())
                o.insert(QStringLiteral("discard_reason"), d.outcomeReason);
            rows.append(o);
        }
        inv.printJson(
            QJsonObject{{QStringLiteral("ok"), true}, {QStringLiteral("dead_letters"), rows}});
        return Ok;
    }
    inv.printRow({QStringLiteral("id"), QStringLiteral("parked_at"), QStringLiteral("where"),
                  QStringLiteral("code"), QStringLiteral("reason"), QStringLiteral("state")});
    for (const auto &d : letters)
        inv.printRow(
            {QString::number(d.id), at(d.parkedAt),
             QStringLiteral("%1 %2/%3@%4").arg(d.source, d.topic).arg(d.partition).arg(d.offset),
             d.errorCode, d.reason, stateOf(d)});
    inv.printLine(QStringLiteral("%1 dead letter(s).").arg(letters.size()));
    return Ok;
}

int runRetryDeadLetter(const Invocation &inv)
{
    qint64 id = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("id"), &id, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto r = LedgerRepository::retryDeadLetter(connection, id);
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("transaction_id"), double(r.transactionId)},
                       {QStringLiteral("duplicate"), r.duplicate},
                       {QStringLiteral("event_id"), double(r.eventId)}});
    else
        inv.printLine(r.duplicate ? QStringLiteral("dead letter %1: posted before, as transaction "
                                                   "%2; marked retried")
                                        .arg(id)
                                        .arg(r.transactionId)
                                  : QStringLiteral("dead letter %1: posted as transaction %2")
                                        .arg(id)
                                        .arg(r.transactionId));
    return Ok;
}

int runDiscardDeadLetter(const Invocation &inv)
{
    qint64 id = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("id"), &id, &code))
        return code;
    const QString reason = inv.parser->value(QStringLiteral("reason")).trimmed();
    if (reason.isEmpty())
        return inv.usage(QStringLiteral("--reason says why the dead letter is given up."));
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const qint64 event = LedgerRepository::discardDeadLetter(connection, id, reason);
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("event_id"), double(event)}});
    else
        inv.printLine(
            QStringLiteral("dead letter %1 discarded (audit event %2)").arg(id).arg(event));
    return Ok;
}

int runHeldEvents(const Invocation &inv)
{
    int limit = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("limit"), 1, 10000, &limit, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto held = LedgerRepository::heldEvents(connection, limit);
    const auto at = [](const QDateTime &t) { return t.toUTC().toString(Qt::ISODateWithMs); };
    if (inv.json) {
        QJsonArray rows;
        for (const auto &h : held)
            rows.append(QJsonObject{{QStringLiteral("entity"), h.entity},
                                    {QStringLiteral("entity_seq"), double(h.sequence)},
                                    {QStringLiteral("waits_for"), double(h.waitsFor)},
                                    {QStringLiteral("event_id"), h.eventId},
                                    {QStringLiteral("source"), h.source},
                                    {QStringLiteral("topic"), h.topic},
                                    {QStringLiteral("partition"), h.partition},
                                    {QStringLiteral("offset"), double(h.offset)},
                                    {QStringLiteral("held_at"), at(h.heldAt)}});
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("held"), rows}});
        return Ok;
    }
    inv.printRow({QStringLiteral("held_at"), QStringLiteral("entity"), QStringLiteral("number"),
                  QStringLiteral("waits_for"), QStringLiteral("event_id"),
                  QStringLiteral("where")});
    for (const auto &h : held)
        inv.printRow(
            {at(h.heldAt), h.entity, QString::number(h.sequence), QString::number(h.waitsFor),
             h.eventId,
             QStringLiteral("%1 %2/%3@%4").arg(h.source, h.topic).arg(h.partition).arg(h.offset)});
    inv.printLine(QStringLiteral("%1 held event(s).").arg(held.size()));
    return Ok;
}

int runSkipEntity(const Invocation &inv)
{
    const QString entity = inv.parser->value(QStringLiteral("entity"));
    const QString reason = inv.parser->value(QStringLiteral("reason")).trimmed();
    if (entity.isEmpty() || reason.isEmpty())
        return inv.usage(QStringLiteral("--entity names the entity and --reason says why its "
                                        "missing numbers are passed over."));
    qint64 next = 0;
    int code = 0;
    if (!idOption(inv, QStringLiteral("to"), &next, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto r = LedgerRepository::skipEntityEvents(connection, entity, next, reason);
    if (inv.json) {
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("event_id"), double(r.eventId)},
                       {QStringLiteral("skipped_from"), double(r.skippedFrom)},
                       {QStringLiteral("applied"), r.applied},
                       {QStringLiteral("parked"), r.parked}});
        return Ok;
    }
    inv.printLine(QStringLiteral("entity %1: numbers %2 to %3 passed over (audit event %4); %5 "
                                 "held event(s) applied, %6 parked")
                      .arg(entity)
                      .arg(r.skippedFrom)
                      .arg(next - 1)
                      .arg(r.eventId)
                      .arg(r.applied)
                      .arg(r.parked));
    return Ok;
}

int runIngest(const Invocation &inv)
{
    if (inv.parser->isSet(QStringLiteral("kafka")))
        return runKafkaIngest(inv);
    auto input = readInput(inv, QStringLiteral("file"), kMaxIngestBytes);
    if (!input)
        return inv.fail(input.error());
    int batchSize = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("batch-size"), 1, 100000, &batchSize, &code))
        return code;
    double share = 0;
    if (!backfillShare(inv, &share, &code))
        return code;
    if (share > 0 && inv.parser->isSet(QStringLiteral("all-or-nothing")))
        return inv.usage(QStringLiteral("--backfill commits batch by batch: it cannot be "
                                        "--all-or-nothing."));
    if (share > 0 && !inv.parser->isSet(QStringLiteral("batch-size")))
        batchSize = kBackfillBatch;

    const QString contraTemplate = inv.parser->isSet(QStringLiteral("contra"))
                                       ? inv.parser->value(QStringLiteral("contra"))
                                       : LedgerRepository::IngestOptions().contraTemplate;

    // Split into lines; JSON syntax is checked here (with the line number), the events'
    // meaning on the server.
    QList<LedgerRepository::IngestLine> lines;
    LedgerRepository::IngestReport local;
    int lineNumber = 0;
    for (const QByteArray &raw : input.value().split('\n')) {
        ++lineNumber;
        const QByteArray line = raw.trimmed();
        if (line.isEmpty())
            continue;
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &parseError);
        if (doc.isNull() || !doc.isObject()) {
            ++local.rejected;
            local.rejections.append(
                {lineNumber, doc.isNull() ? QStringLiteral("not valid JSON: %1 at column %2")
                                                .arg(parseError.errorString())
                                                .arg(parseError.offset + 1)
                                          : QStringLiteral("not a JSON object")});
            continue;
        }
        // The accounts it touches, so that its batch can lock them up front.
        const QJsonObject event = doc.object();
        QString contra = event.value(QStringLiteral("contra_account")).toString();
        if (contra.isEmpty())
            contra = QString(contraTemplate)
                         .replace(QLatin1String("{currency}"),
                                  event.value(QStringLiteral("currency")).toString().toUpper());
        lines.append(
            {lineNumber, line, {event.value(QStringLiteral("account")).toString(), contra}});
    }

    LedgerRepository::IngestOptions options;
    options.batchSize = batchSize;
    options.allOrNothing = inv.parser->isSet(QStringLiteral("all-or-nothing"));
    options.contraTemplate = contraTemplate;

    LedgerRepository::IngestReport report;
    qint64 pausedMs = 0;
    if (options.allOrNothing && local.rejected > 0) {
        report = local; // nothing is sent: one bad line refuses the whole input
    } else {
        Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
        // A backfill pauses after each batch (BackfillPacer): the batch's time is what passed
        // since the last pause ended.
        BackfillPacer pacer(share);
        QElapsedTimer batchTime;
        batchTime.start();
        report = LedgerRepository::ingest(connection, lines, options, [&](int done) {
            if (!inv.json && lines.size() > options.batchSize)
                inv.progress(QStringLiteral("... %1 of %2 events").arg(done).arg(lines.size()));
            if (share > 0 && done < lines.size()) {
                const qint64 pause = pacer.pauseAfter(batchTime.elapsed());
                pausedMs += pause;
                QThread::msleep(ulong(pause));
            }
            batchTime.restart();
        });
        report.rejected += local.rejected;
        report.rejections = local.rejections + report.rejections;
        std::sort(report.rejections.begin(), report.rejections.end(),
                  [](const auto &a, const auto &b) { return a.first < b.first; });
    }

    for (const auto &[line, reason] : report.rejections)
        inv.progress(QStringLiteral("line %1: %2").arg(line).arg(reason));
    if (inv.json) {
        QJsonArray rejections;
        for (const auto &[line, reason] : report.rejections)
            rejections.append(
                QJsonObject{{QStringLiteral("line"), line}, {QStringLiteral("reason"), reason}});
        inv.printJson({{QStringLiteral("ok"), report.rejected == 0},
                       {QStringLiteral("posted"), report.posted},
                       {QStringLiteral("duplicates"), report.duplicates},
                       {QStringLiteral("rejected"), report.rejected},
                       {QStringLiteral("rejections"), rejections},
                       {QStringLiteral("paused_seconds"), double(pausedMs) / 1000.0}});
    } else {
        inv.printLine(QStringLiteral("posted %1, duplicates %2, rejected %3")
                          .arg(report.posted)
                          .arg(report.duplicates)
                          .arg(report.rejected));
    }
    if (report.rejected > 0) {
        inv.progress(
            options.allOrNothing
                ? QStringLiteral("ledgerctl ingest: %1 line(s) rejected; nothing was posted "
                                 "(--all-or-nothing).")
                      .arg(report.rejected)
                : QStringLiteral("ledgerctl ingest: %1 line(s) rejected; fix them and ingest the "
                                 "file again (events already posted are recognised as duplicates).")
                      .arg(report.rejected));
        return Failed;
    }
    return Ok;
}

int runBalance(const Invocation &inv)
{
    const QString account = inv.parser->value(QStringLiteral("account"));
    if (account.isEmpty())
        return inv.usage(QStringLiteral("--account is required."));
    std::optional<QDateTime> effective;
    std::optional<QDateTime> knownAt;
    for (const auto &[name, target] : {std::pair{QStringLiteral("effective"), &effective},
                                       std::pair{QStringLiteral("known-at"), &knownAt}}) {
        if (!inv.parser->isSet(name))
            continue;
        auto t = parseTime(inv.parser->value(name), name);
        if (!t)
            return inv.usage(t.error().message);
        *target = t.value();
    }
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto b = LedgerRepository::balance(connection, account, effective, knownAt);
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("account"), b.account},
                       {QStringLiteral("amount"), b.amount},
                       {QStringLiteral("currency"), b.currency},
                       {QStringLiteral("minor_units"), QString::number(b.minorUnits)},
                       {QStringLiteral("effective_at"), b.effectiveAt.toString(Qt::ISODateWithMs)},
                       {QStringLiteral("known_at"), b.knownAt.toString(Qt::ISODateWithMs)}});
    else
        inv.printLine(QStringLiteral("%1 %2").arg(b.amount, b.currency));
    return Ok;
}

} // namespace

QList<Command> ledgerCommands()
{
    Command post;
    post.name = QStringLiteral("post");
    post.summary = QStringLiteral("post one transaction from JSON; print its id");
    post.description = QStringLiteral(
        "Posts one transaction, given as a JSON object:\n"
        "  {\"idempotency_key\": \"...\", \"effective_at\": \"2026-11-20T15:00:00Z\",\n"
        "   \"description\": \"...\", \"external_ref\": \"...\" (optional),\n"
        "   \"legs\": [{\"account\": \"CODE\", \"amount\": \"12.34\", \"currency\": \"EUR\"}, "
        "...]}\n"
        "Debits are positive, credits negative; the legs must sum to zero per currency. "
        "Amounts are exact decimals in the currency's units (EUR 2 decimals, JPY 0, BHD 3). "
        "Sending the same request with the same key again returns the original id and writes "
        "nothing; the same key with a different request is refused. Prints the transaction id.");
    post.addOptions = [](QCommandLineParser &p) {
        addFileOption(p, QStringLiteral("JSON file with the transaction"));
    };
    post.run = runPost;

    Command ingest;
    ingest.name = QStringLiteral("ingest");
    ingest.summary =
        QStringLiteral("ingest NDJSON income/outcome events (duplicates and reordering are fine)");
    ingest.description = QStringLiteral(
        "Reads one event per line:\n"
        "  {\"event_id\": \"...\", \"type\": \"income\"|\"outcome\", \"account\": \"CODE\",\n"
        "   \"amount\": \"12.34\" (positive), \"currency\": \"EUR\", \"occurred_at\": "
        "\"2026-11-20T15:00:00Z\",\n"
        "   \"description\": \"...\" (optional), \"contra_account\": \"CODE\" (optional),\n"
        "   \"version\": 2 (optional), \"entity\": \"invoice-42\" and \"entity_seq\": 3 "
        "(optional, together)}\n"
        "That is version 2 of the events' schema, the current one (an event without "
        "\"version\" is version 2). Version 1 events, with \"amount_minor\" (a positive whole "
        "number of the currency's minor units: 1234 for EUR 12.34) instead of \"amount\", are "
        "upcast to version 2 as they are read, on every path (files, Kafka, a dead letter's "
        "retry); an unknown version is refused with LG096 (parked, from Kafka).\n"
        "Events that name an entity (an account, an invoice) and their number in its sequence "
        "(1, 2, 3...) are applied in that order: an event whose predecessor has not been "
        "applied waits (from Kafka: held in ledger.held_events and applied when the "
        "predecessor lands; holds older than --max-hold become dead letters) or is refused "
        "with LG097 (from a file, which is put in order within each batch first). An event "
        "refused by the posting rules keeps its successors waiting until it is retried or "
        "the entity is moved past it (deadletters skip). A new event under a number the "
        "entity has passed is refused with LG097; a replayed one is a duplicate.\n"
        "Income raises the account's balance, outcome lowers it; the contra account takes the "
        "other side (default from --contra). An event_id seen before is a duplicate and posts "
        "nothing. Events are posted in batches, one call and one database transaction per batch "
        "(set-based, ledger.ingest_events); a bad line is reported with its line number and "
        "nothing of it is written, and the rest of its batch still posts. Prints the counts "
        "posted, duplicates, rejected; exits 1 when any line was rejected.\n"
        "With --kafka, it is a member of a consumer group: each round's events are posted per "
        "partition with the partition's new offset in the same database transaction "
        "(ledger.ingest_source_batch), and on every assignment it resumes from the offsets "
        "the ledger holds, so a crash, a rebalance or a redelivery never posts twice and "
        "never skips. Events it cannot post are parked in ledger.dead_letters with the "
        "reason. Runs until SIGTERM or SIGINT (it finishes the round) or --until-idle. "
        "With --replay --from-offset N it reads every partition again from N up to the end it "
        "has when it starts, outside the group and under a source name of its own (printed), "
        "leaving the live positions alone, and stops there; what was posted already is "
        "counted as duplicates. --replay --from-time T does the same for the messages stamped "
        "T or later (their Kafka timestamps), from the first offset the broker gives for T (the "
        "partition's first when it gives none) and passing over any stamped earlier. "
        "It prints one line per committed batch, every 2 s the messages per second and each "
        "partition's lag (messages on the broker past the ledger's position), and on exit the "
        "counts and the lag asked of the broker then.\n"
        "--backfill loads old events (a file, or a topic from its start) beside live posting: "
        "short transactions of 50 events, and after each a pause, so that it spends at most "
        "--backfill-share percent of its time in the database (default 25), twice as long "
        "while its batches run more than three times slower than its fastest (the database is "
        "busy). Live postings wait at most one such short batch for an account it holds. The "
        "seconds it paused are in the --json counts.");
    ingest.addOptions = [](QCommandLineParser &p) {
        addFileOption(p, QStringLiteral("NDJSON file of events"));
        p.addOption({QStringLiteral("contra"),
                     QStringLiteral("Contra account for events without one; {currency} is replaced "
                                    "(default 1000-CASH-{currency})."),
                     QStringLiteral("TEMPLATE")});
        p.addOption({QStringLiteral("batch-size"),
                     QStringLiteral("Events per database transaction (default 500)."),
                     QStringLiteral("N"), QStringLiteral("500")});
        p.addOption({QStringLiteral("all-or-nothing"),
                     QStringLiteral("Post nothing at all if any line is rejected.")});
        p.addOption({QStringLiteral("kafka"),
                     QStringLiteral("Consume from Kafka instead of a file: bootstrap brokers "
                                    "host:port[,host:port]."),
                     QStringLiteral("BROKERS")});
        p.addOption({QStringLiteral("topic"), QStringLiteral("Kafka topic of the events."),
                     QStringLiteral("T")});
        p.addOption({QStringLiteral("group"), QStringLiteral("Kafka consumer group."),
                     QStringLiteral("G")});
        p.addOption({QStringLiteral("source"),
                     QStringLiteral("Name the ledger keeps the stream's positions under "
                                    "(default: the group)."),
                     QStringLiteral("NAME")});
        p.addOption({QStringLiteral("until-idle"),
                     QStringLiteral("Kafka: stop after this many seconds without a new event."),
                     QStringLiteral("SECONDS")});
        p.addOption({QStringLiteral("backfill"),
                     QStringLiteral("Load old events beside live ones: batches of 50 (or "
                                    "--batch-size), a pause after each (see --backfill-share); "
                                    "with --kafka, the topic from its start outside the group.")});
        p.addOption({QStringLiteral("backfill-share"),
                     QStringLiteral("Backfill: the most of its time it spends in the database, "
                                    "in percent (default 25); it yields more while the database "
                                    "is slow."),
                     QStringLiteral("PERCENT")});
        p.addOption({QStringLiteral("max-hold"),
                     QStringLiteral("Kafka: park the events this source has held this many "
                                    "seconds for an earlier number of their entity as dead "
                                    "letters, once caught up (default 3600)."),
                     QStringLiteral("SECONDS")});
        p.addOption({QStringLiteral("broker-timeout"),
                     QStringLiteral("Kafka: fail when no broker answers, or no partition is "
                                    "assigned, for this many seconds (default 30)."),
                     QStringLiteral("SECONDS")});
        p.addOption({QStringLiteral("replay"),
                     QStringLiteral("Kafka: read every partition again, from --from-offset or "
                                    "--from-time to the end it has now, outside the group; posts "
                                    "only what the ledger lacks.")});
        p.addOption({QStringLiteral("from-time"),
                     QStringLiteral("Kafka replay: the messages stamped at this time or later "
                                    "(ISO 8601 with Z or an offset, a date, or now)."),
                     QStringLiteral("T")});
        p.addOption({QStringLiteral("from-offset"),
                     QStringLiteral("Kafka replay: the offset to start from in every partition "
                                    "(its first message when that is later)."),
                     QStringLiteral("N")});
    };
    ingest.run = runIngest;

    Command balance;
    balance.name = QStringLiteral("balance");
    balance.summary = QStringLiteral("an account's balance at a time, as known at a time");
    balance.description = QStringLiteral(
        "Prints the balance of an account on its normal side, as an exact amount and currency: "
        "the sum of the entries effective by --effective and recorded by --known-at (both "
        "default to now). --effective T alone: the balance at T as we know it now. "
        "--effective T --known-at T: what the ledger showed at T. Times are ISO 8601 "
        "(2026-11-20T15:00:00Z, an offset, a date, or now); without an offset they are UTC.");
    balance.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("account"), QStringLiteral("Account code."), QStringLiteral("CODE")});
        p.addOption({QStringLiteral("effective"), QStringLiteral("Business time (default now)."),
                     QStringLiteral("T")});
        p.addOption({QStringLiteral("known-at"),
                     QStringLiteral("What the ledger knew at this time (default now)."),
                     QStringLiteral("T")});
    };
    balance.run = runBalance;
    Command deadLetters;
    deadLetters.name = QStringLiteral("deadletters list");
    deadLetters.summary = QStringLiteral("events a stream delivered that could not be posted");
    deadLetters.description = QStringLiteral(
        "Lists the newest dead letters (ledger.dead_letters), for the ledger writer (their "
        "payloads are customer data): where each came from (source, "
        "topic, partition and offset), when it was parked, the SQLSTATE, the reason, and what "
        "became of it (open, retried into a transaction, or discarded with a reason). With "
        "--json, the raw payload too. Dead letters are never dropped or changed.");
    deadLetters.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("limit"), QStringLiteral("How many (default 100)."),
                     QStringLiteral("N"), QStringLiteral("100")});
        p.addOption(
            {QStringLiteral("open"), QStringLiteral("Only those neither retried nor discarded.")});
    };
    deadLetters.run = runDeadLetters;

    Command retry;
    retry.name = QStringLiteral("deadletters retry");
    retry.summary = QStringLiteral("post a dead letter's event again, now that it may pass");
    retry.description = QStringLiteral(
        "Sends the dead letter's payload through the ingest path again (the same rules and "
        "idempotency key, and the contra account template the stream was ingested with), for "
        "when what refused it has changed: an account opened, "
        "say. Posted, or found posted already, it is marked retried with its transaction and an "
        "audit event; still refused, the reason is printed and it stays open. A dead letter is "
        "retried or discarded once. Operators, supervisors, or the ledger writer.");
    retry.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("id"), QStringLiteral("The dead letter."), QStringLiteral("ID")});
    };
    retry.run = runRetryDeadLetter;

    Command discard;
    discard.name = QStringLiteral("deadletters discard");
    discard.summary = QStringLiteral("give a dead letter up, with a reason (audited)");
    discard.description = QStringLiteral(
        "Marks the dead letter discarded: it will not be posted. The reason (3 to 500 "
        "characters) is kept with it and in the audit event that records who gave it up. The "
        "dead letter itself stays, as it came. Operators or supervisors.");
    discard.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("id"), QStringLiteral("The dead letter."), QStringLiteral("ID")});
        p.addOption({QStringLiteral("reason"), QStringLiteral("Why it is given up."),
                     QStringLiteral("TEXT")});
    };
    discard.run = runDiscardDeadLetter;

    Command held;
    held.name = QStringLiteral("deadletters held");
    held.summary = QStringLiteral("events waiting for an earlier number of their entity");
    held.description = QStringLiteral(
        "Lists the events a stream delivered ahead of their entity's earlier numbers "
        "(ledger.held_events), oldest first: the entity, the event's number, the number the "
        "entity waits for, and where the event came from. They are applied when that number "
        "lands, and parked as dead letters when held longer than ingest --max-hold. For the "
        "ledger writer.");
    held.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("limit"), QStringLiteral("How many (default 100)."),
                     QStringLiteral("N"), QStringLiteral("100")});
    };
    held.run = runHeldEvents;

    Command skip;
    skip.name = QStringLiteral("deadletters skip");
    skip.summary = QStringLiteral("move an entity past numbers that will never come (audited)");
    skip.description = QStringLiteral(
        "For an entity whose next number was lost or given up: its next number becomes --to. "
        "Its held events from --to on are applied in order, those below are parked as dead "
        "letters, and dead letters that waited for it can be retried. The reason (3 to 500 "
        "characters) is kept in the audit event. Operators, supervisors, or the ledger "
        "writer.");
    skip.addOptions = [](QCommandLineParser &p) {
        p.addOption(
            {QStringLiteral("entity"), QStringLiteral("The entity."), QStringLiteral("ENTITY")});
        p.addOption({QStringLiteral("to"), QStringLiteral("Its next number from now on."),
                     QStringLiteral("N")});
        p.addOption({QStringLiteral("reason"), QStringLiteral("Why the numbers are passed over."),
                     QStringLiteral("TEXT")});
    };
    skip.run = runSkipEntity;

    return {post, ingest, balance, deadLetters, retry, discard, held, skip};
}

} // namespace ledger::cli
