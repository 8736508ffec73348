#include "OutboxRelay.h"

#include "KafkaHandles.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/OutboxRepository.h"

#include <QElapsedTimer>

#include <optional>

namespace ledger {

namespace {

// What the delivery reports (served by rd_kafka_poll and rd_kafka_flush, on this thread) tell
// the loop about the round in flight.
struct Deliveries
{
    int acknowledged = 0;
    int failed = 0;
    QString firstFailure;
    std::optional<QString> fatal; // the idempotent producer gave up (it must be restarted)
};

void onDelivery(rd_kafka_t *, const rd_kafka_message_t *m, void *opaque)
{
    auto *d = static_cast<Deliveries *>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++d->acknowledged;
        return;
    }
    if (d->failed++ == 0)
        d->firstFailure = QString::fromUtf8(rd_kafka_err2str(m->err));
}

void onError(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (err != RD_KAFKA_RESP_ERR__FATAL)
        return; // transient: librdkafka retries, and a message it cannot deliver is reported
    char text[512];
    rd_kafka_fatal_error(rk, text, sizeof text);
    static_cast<Deliveries *>(opaque)->fatal =
        QStringLiteral("%1 (%2)").arg(QString::fromUtf8(text), QString::fromUtf8(reason));
}

} // namespace

Result<OutboxRelayReport> runOutboxRelay(Connection &connection, const OutboxRelayOptions &options,
                                         const std::atomic<bool> &stop,
                                         const std::function<void(const QString &)> &progress)
{
    auto fail = [](Error::Kind kind, const QString &message) {
        return Result<OutboxRelayReport>(Error::make(kind, message));
    };
    if (options.brokers.isEmpty() || options.topic.isEmpty() || options.relay.isEmpty())
        return fail(Error::Kind::Input,
                    QStringLiteral("The outbox relay needs brokers, a topic and a relay name."));

    Deliveries deliveries;
    kafka::Ptr<rd_kafka_conf_t> conf(rd_kafka_conf_new());
    QString confError;
    const QString timeoutMs = QString::number(qint64(options.brokerTimeoutSeconds) * 1000);
    if (!kafka::set(conf.get(), "bootstrap.servers", options.brokers, &confError) ||
        !kafka::set(conf.get(), "client.id", QStringLiteral("ledgerctl-outbox"), &confError) ||
        // No duplicates or reordering from the producer's own retries; acks from all replicas.
        !kafka::set(conf.get(), "enable.idempotence", QStringLiteral("true"), &confError) ||
        !kafka::set(conf.get(), "message.timeout.ms", timeoutMs, &confError) ||
        !kafka::set(conf.get(), "linger.ms", QStringLiteral("5"), &confError))
        return fail(Error::Kind::Input, confError);
    rd_kafka_conf_set_opaque(conf.get(), &deliveries);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), onDelivery);
    rd_kafka_conf_set_error_cb(conf.get(), onError);
    char text[512];
    kafka::Ptr<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), text, sizeof text));
    if (!rk)
        return fail(Error::Kind::Input,
                    QStringLiteral("Kafka producer: %1").arg(QString::fromUtf8(text)));
    (void)conf.release(); // rd_kafka_new took it

    QString brokerError;
    const int partitions = kafka::topicPartitions(
        rk.get(), options.topic, options.brokerTimeoutSeconds * 1000, &brokerError);
    if (partitions < 0)
        return fail(Error::Kind::Connection,
                    QStringLiteral("No Kafka broker answers at %1 (%2 within %3 s): check "
                                   "--kafka and that the brokers run.")
                        .arg(options.brokers, brokerError)
                        .arg(options.brokerTimeoutSeconds));
    if (partitions == 0)
        return fail(Error::Kind::NotFound,
                    QStringLiteral("Kafka topic %1 does not exist at %2: create it, or check "
                                   "--topic and --kafka.")
                        .arg(options.topic, options.brokers));

    OutboxRelayReport report;
    QElapsedTimer sinceStart, idle;
    sinceStart.start();
    idle.start();
    const QByteArray topic = options.topic.toUtf8();
    try {
        OutboxRepository::claim(connection, options.relay);
        while (!stop.load()) {
            const OutboxRepository::Pending pending = OutboxRepository::pending(
                connection, options.relay, options.topic, qBound(1, options.batchEvents, 10000));
            if (pending.messages.isEmpty()) {
                if (pending.upto > report.position) { // past events it does not publish
                    OutboxRepository::acknowledge(connection, options.relay, options.topic,
                                                  pending.upto, 0);
                    report.position = pending.upto;
                    continue;
                }
                if (options.untilIdleSeconds > 0 &&
                    idle.elapsed() >= qint64(options.untilIdleSeconds * 1000))
                    break;
                rd_kafka_poll(rk.get(), 500); // nothing to send: wait a little
                continue;
            }
            idle.restart();
            deliveries.acknowledged = 0;
            deliveries.failed = 0;
            for (const OutboxRepository::Message &m : pending.messages) {
                const QByteArray id = m.id.toUtf8();
                for (;;) {
                    const rd_kafka_resp_err_t err = rd_kafka_producev(
                        rk.get(), RD_KAFKA_V_TOPIC(topic.constData()),
                        RD_KAFKA_V_KEY(m.key.constData(), size_t(m.key.size())),
                        RD_KAFKA_V_VALUE(const_cast<char *>(m.payload.constData()),
                                         size_t(m.payload.size())),
                        RD_KAFKA_V_HEADER("message-id", id.constData(), id.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        rd_kafka_poll(rk.get(), 100); // acknowledgements make room
                        continue;
                    }
                    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
                        return fail(
                            Error::Kind::Input,
                            QStringLiteral("Kafka produce to %1: %2")
                                .arg(options.topic, QString::fromUtf8(rd_kafka_err2str(err))));
                    break;
                }
            }
            // Every message of the round acknowledged (or reported failed) before anything is
            // recorded: message.timeout.ms bounds the wait.
            rd_kafka_flush(rk.get(), options.brokerTimeoutSeconds * 1000 + 10000);
            if (deliveries.fatal)
                return fail(Error::Kind::Connection,
                            QStringLiteral("Kafka: the idempotent producer stopped: %1. Nothing "
                                           "of audit numbers %2 to %3 is marked published; run "
                                           "the relay again.")
                                .arg(*deliveries.fatal)
                                .arg(pending.messages.constFirst().seq)
                                .arg(pending.upto));
            const int sent = int(pending.messages.size());
            if (deliveries.acknowledged != sent)
                return fail(
                    Error::Kind::Connection,
                    QStringLiteral("Kafka did not acknowledge %1 of %2 messages to %3 (%4): "
                                   "nothing of audit numbers %5 to %6 is marked published. Run "
                                   "the relay again once the brokers answer: it sends them "
                                   "again, and consumers deduplicate by message id.")
                        .arg(sent - deliveries.acknowledged)
                        .arg(sent)
                        .arg(options.topic, deliveries.firstFailure.isEmpty()
                                                ? QStringLiteral("no answer")
                                                : deliveries.firstFailure)
                        .arg(pending.messages.constFirst().seq)
                        .arg(pending.upto));
            OutboxRepository::acknowledge(connection, options.relay, options.topic, pending.upto,
                                          sent);
            report.position = pending.upto;
            report.published += sent;
            ++report.rounds;
            if (progress)
                progress(QStringLiteral("published %1 message(s) up to audit number %2; %3 in all")
                             .arg(sent)
                             .arg(pending.upto)
                             .arg(report.published));
        }
    } catch (const DbException &e) {
        return Result<OutboxRelayReport>(e.error());
    }
    report.seconds = double(sinceStart.elapsed()) / 1000.0;
    return report;
}

} // namespace ledger
