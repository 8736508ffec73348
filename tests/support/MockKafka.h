#pragma once
// librdkafka's own mock cluster (real Kafka protocol over local TCP, consumer groups and
// offsets included), hosted in this process, with a producer that reaches it through the
// brokers' ports as any client would. Header-only: only the tests and benchmarks that link
// librdkafka include it.

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace ledger::test {

class MockKafka
{
public:
    MockKafka() = default;
    MockKafka(const MockKafka &) = delete;
    MockKafka &operator=(const MockKafka &) = delete;

    // One broker and `topic` with `partitions` partitions.
    bool start(const char *topic, int partitions, QString *error)
    {
        m_topic = topic;
        char text[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        m_host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, text, sizeof text);
        if (!m_host) {
            *error = QString::fromUtf8(text);
            return false;
        }
        m_cluster = rd_kafka_mock_cluster_new(m_host, 1);
        if (!m_cluster) {
            *error = QStringLiteral("rd_kafka_mock_cluster_new failed");
            return false;
        }
        m_bootstraps = QString::fromUtf8(rd_kafka_mock_cluster_bootstraps(m_cluster));
        if (rd_kafka_mock_topic_create(m_cluster, topic, partitions, 1)) {
            *error = QStringLiteral("rd_kafka_mock_topic_create failed");
            return false;
        }
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", m_bootstraps.toUtf8().constData(), text,
                              sizeof text) != RD_KAFKA_CONF_OK) {
            *error = QString::fromUtf8(text);
            return false;
        }
        m_producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, text, sizeof text);
        if (!m_producer) {
            *error = QString::fromUtf8(text);
            return false;
        }
        return true;
    }

    ~MockKafka()
    {
        if (m_producer)
            rd_kafka_destroy(m_producer);
        if (m_cluster)
            rd_kafka_mock_cluster_destroy(m_cluster);
        if (m_host)
            rd_kafka_destroy(m_host);
    }

    // Another topic on the same broker.
    bool createTopic(const char *topic, int partitions)
    {
        return rd_kafka_mock_topic_create(m_cluster, topic, partitions, 1) ==
               RD_KAFKA_RESP_ERR_NO_ERROR;
    }

    // Queues one message for the partition (stamped with `timestampMs` when given, else the
    // time of producing) of `topic` (default: the one start() made), waiting while the
    // producer's queue is full; false on an error.
    bool enqueue(int partition, const QByteArray &payload, qint64 timestampMs = 0,
                 const char *topic = nullptr)
    {
        for (;;) {
            rd_kafka_vu_t values[5] = {};
            values[0].vtype = RD_KAFKA_VTYPE_TOPIC;
            values[0].u.cstr = topic ? topic : m_topic;
            values[1].vtype = RD_KAFKA_VTYPE_PARTITION;
            values[1].u.i32 = partition;
            values[2].vtype = RD_KAFKA_VTYPE_VALUE;
            values[2].u.mem.ptr = const_cast<char *>(payload.constData());
            values[2].u.mem.size = size_t(payload.size());
            values[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
            values[3].u.i = RD_KAFKA_MSG_F_COPY;
            values[4].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
            values[4].u.i64 = timestampMs;
            rd_kafka_error_t *error =
                rd_kafka_produceva(m_producer, values, timestampMs > 0 ? 5 : 4);
            const rd_kafka_resp_err_t err =
                error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;
            if (error)
                rd_kafka_error_destroy(error);
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                return err == RD_KAFKA_RESP_ERR_NO_ERROR;
            rd_kafka_poll(m_producer, 100); // the queue drains as acknowledgements arrive
        }
    }

    // Serves the producer's delivery reports without waiting.
    void poll() { rd_kafka_poll(m_producer, 0); }

    // True once every queued message is acknowledged.
    bool flush() { return rd_kafka_flush(m_producer, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR; }

    // Each message to the given partition (stamped with `timestampMs` when given); true once
    // every one is acknowledged.
    bool produce(const QList<QPair<int, QByteArray>> &messages, qint64 timestampMs = 0,
                 const char *topic = nullptr)
    {
        for (const auto &[partition, payload] : messages) {
            if (!enqueue(partition, payload, timestampMs, topic))
                return false;
        }
        return flush();
    }

    QString bootstraps() const { return m_bootstraps; }
    rd_kafka_mock_cluster_t *cluster() const { return m_cluster; }

private:
    const char *m_topic = nullptr;
    rd_kafka_t *m_host = nullptr;
    rd_kafka_mock_cluster_t *m_cluster = nullptr;
    rd_kafka_t *m_producer = nullptr;
    QString m_bootstraps;
};

} // namespace ledger::test
