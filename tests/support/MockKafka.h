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

#include <algorithm>

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

    struct Consumed
    {
        int partition = 0;
        qint64 offset = 0;
        QByteArray key;
        QByteArray value;
        QByteArray messageId; // the "message-id" header, when there is one
    };

    // Every message `topic` holds now, partition by partition in offset order, read by a
    // consumer of its own (assigned, no group); false in *ok when the broker did not answer.
    QList<Consumed> readAll(const char *topic, int partitions, bool *ok)
    {
        *ok = false;
        QList<Consumed> out;
        char text[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", m_bootstraps.toUtf8().constData(), text,
                              sizeof text) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "group.id", "readAll", text, sizeof text) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return out;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, text, sizeof text);
        if (!rk)
            return out;
        rd_kafka_poll_set_consumer(rk);
        qint64 left = 0;
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
        for (int p = 0; p < partitions; ++p) {
            int64_t low = 0;
            int64_t high = 0;
            if (rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, 10000)) {
                rd_kafka_topic_partition_list_destroy(list);
                rd_kafka_destroy(rk);
                return out;
            }
            left += high - low;
            rd_kafka_topic_partition_list_add(list, topic, p)->offset = low;
        }
        rd_kafka_assign(rk, list);
        rd_kafka_topic_partition_list_destroy(list);
        int quietRounds = 0;
        while (left > 0 && quietRounds < 60) { // a minute without a message: give up
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
            if (!m) {
                ++quietRounds;
                continue;
            }
            quietRounds = 0;
            if (!m->err) {
                Consumed c;
                c.partition = m->partition;
                c.offset = m->offset;
                c.key = QByteArray(static_cast<const char *>(m->key), qsizetype(m->key_len));
                c.value = QByteArray(static_cast<const char *>(m->payload), qsizetype(m->len));
                rd_kafka_headers_t *headers = nullptr;
                const void *value = nullptr;
                size_t size = 0;
                if (!rd_kafka_message_headers(m, &headers) &&
                    !rd_kafka_header_get_last(headers, "message-id", &value, &size))
                    c.messageId = QByteArray(static_cast<const char *>(value), qsizetype(size));
                out.append(c);
                --left;
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        std::stable_sort(out.begin(), out.end(), [](const Consumed &a, const Consumed &b) {
            return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
        });
        *ok = left == 0;
        return out;
    }

private:
    const char *m_topic = nullptr;
    rd_kafka_t *m_host = nullptr;
    rd_kafka_mock_cluster_t *m_cluster = nullptr;
    rd_kafka_t *m_producer = nullptr;
    QString m_bootstraps;
};

} // namespace ledger::test
