// ledgerctl outbox relay|status: the ledger's outbox published to Kafka.

#include "Cli.h"

#include "db/Connection.h"
#include "db/OutboxRepository.h"
#include "ingest/OutboxRelay.h"

#include <QJsonArray>

#include <atomic>
#include <csignal>

namespace ledger::cli {

namespace {

// Set by SIGTERM/SIGINT: the relay finishes the round (acknowledged and recorded) and stops.
std::atomic<bool> g_stopRelay{false};

void stopRelay(int)
{
    g_stopRelay.store(true);
}

int runRelay(const Invocation &inv)
{
    OutboxRelayOptions options;
    options.brokers = inv.parser->value(QStringLiteral("kafka"));
    options.topic = inv.parser->value(QStringLiteral("topic"));
    if (inv.parser->isSet(QStringLiteral("relay")))
        options.relay = inv.parser->value(QStringLiteral("relay"));
    if (options.brokers.isEmpty() || options.topic.isEmpty())
        return inv.usage(QStringLiteral("outbox relay needs --kafka and --topic."));
    int code = 0;
    if (!intOption(inv, QStringLiteral("batch-size"), 1, 10000, &options.batchEvents, &code))
        return code;
    if (inv.parser->isSet(QStringLiteral("until-idle"))) {
        int idle = 0;
        if (!intOption(inv, QStringLiteral("until-idle"), 1, 86400, &idle, &code))
            return code;
        options.untilIdleSeconds = idle;
    }
    if (inv.parser->isSet(QStringLiteral("broker-timeout")) &&
        !intOption(inv, QStringLiteral("broker-timeout"), 1, 3600, &options.brokerTimeoutSeconds,
                   &code))
        return code;

    struct sigaction action = {};
    action.sa_handler = stopRelay;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto report = runOutboxRelay(connection, options, g_stopRelay,
                                       [&](const QString &line) { inv.progress(line); });
    if (!report)
        return inv.fail(report.error());
    const OutboxRelayReport &r = report.value();
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("relay"), options.relay},
                       {QStringLiteral("published"), r.published},
                       {QStringLiteral("rounds"), r.rounds},
                       {QStringLiteral("position"), r.position},
                       {QStringLiteral("seconds"), r.seconds}});
    else
        inv.printLine(QStringLiteral("relay %1: %2 message(s) published in %3 round(s); published "
                                     "up to audit number %4; %5 s")
                          .arg(options.relay)
                          .arg(r.published)
                          .arg(r.rounds)
                          .arg(r.position)
                          .arg(r.seconds, 0, 'f', 1));
    return Ok;
}

int runStatus(const Invocation &inv)
{
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto relays = OutboxRepository::status(connection);
    const auto at = [](const QDateTime &t) { return t.toUTC().toString(Qt::ISODateWithMs); };
    if (inv.json) {
        QJsonArray rows;
        for (const auto &s : relays)
            rows.append(QJsonObject{{QStringLiteral("relay"), s.relay},
                                    {QStringLiteral("topic"), s.topic},
                                    {QStringLiteral("position"), double(s.publishedSeq)},
                                    {QStringLiteral("messages"), double(s.messages)},
                                    {QStringLiteral("updated_at"), at(s.updatedAt)},
                                    {QStringLiteral("behind"), double(s.behind)}});
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("relays"), rows}});
        return Ok;
    }
    inv.printRow({QStringLiteral("relay"), QStringLiteral("topic"), QStringLiteral("position"),
                  QStringLiteral("messages"), QStringLiteral("updated_at"),
                  QStringLiteral("behind")});
    for (const auto &s : relays)
        inv.printRow({s.relay, s.topic, QString::number(s.publishedSeq),
                      QString::number(s.messages), at(s.updatedAt), QString::number(s.behind)});
    return Ok;
}

} // namespace

QList<Command> outboxCommands()
{
    Command relay;
    relay.name = QStringLiteral("outbox relay");
    relay.summary = QStringLiteral("publish postings and decisions to Kafka, at least once");
    relay.description = QStringLiteral(
        "Publishes the ledger's outbox to a Kafka topic with the idempotent producer. The outbox "
        "is the audit events that postings, reversal requests and decisions and reconciliation "
        "decisions write in their own transactions, in audit chain order: a posting is one "
        "message per account it touches (key: the account code, so each account's postings "
        "arrive in order), with the whole transaction and its legs; any other action one "
        "message keyed \"<object type>:<object id>\". Each round's messages must all be "
        "acknowledged by the broker before the ledger records how far the relay has published "
        "(ledger.outbox_relays); a message not acknowledged within --broker-timeout fails the "
        "run and records nothing of the round, and the next run sends it again: consumers "
        "deduplicate by the message id (\"message_id\" in the JSON and the \"message-id\" "
        "header). One relay of a name runs at a time. Runs until SIGTERM or SIGINT (after the "
        "round) or --until-idle. For the ledger writer.");
    relay.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("kafka"), QStringLiteral("Bootstrap brokers host:port[,...]."),
                     QStringLiteral("BROKERS")});
        p.addOption({QStringLiteral("topic"), QStringLiteral("The topic to publish to."),
                     QStringLiteral("T")});
        p.addOption({QStringLiteral("relay"),
                     QStringLiteral("Name its position is kept under (default outbox); a relay "
                                    "keeps one topic."),
                     QStringLiteral("NAME")});
        p.addOption({QStringLiteral("batch-size"),
                     QStringLiteral("Audit events per round (default 500)."), QStringLiteral("N"),
                     QStringLiteral("500")});
        p.addOption({QStringLiteral("until-idle"),
                     QStringLiteral("Stop after this many seconds with nothing to publish."),
                     QStringLiteral("SECONDS")});
        p.addOption({QStringLiteral("broker-timeout"),
                     QStringLiteral("Fail when no broker answers, or a message is not "
                                    "acknowledged, within this many seconds (default 30)."),
                     QStringLiteral("SECONDS")});
    };
    relay.run = runRelay;

    Command status;
    status.name = QStringLiteral("outbox status");
    status.summary = QStringLiteral("how far each outbox relay has published");
    status.description = QStringLiteral(
        "Per relay: its topic, the audit chain number up to which everything is published, the "
        "messages published in all, when it last moved, and how many events it has still to "
        "publish. For the ledger writer.");
    status.run = runStatus;
    return {relay, status};
}

} // namespace ledger::cli
