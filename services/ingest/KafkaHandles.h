#pragma once

#include <QString>

#include <librdkafka/rdkafka.h>

#include <memory>

namespace ledger::kafka {

// librdkafka handles owned like any other C++ object.
struct Deleter
{
    void operator()(rd_kafka_t *rk) const { rd_kafka_destroy(rk); }
    void operator()(rd_kafka_conf_t *c) const { rd_kafka_conf_destroy(c); }
    void operator()(rd_kafka_topic_partition_list_t *l) const
    {
        rd_kafka_topic_partition_list_destroy(l);
    }
    void operator()(rd_kafka_message_t *m) const { rd_kafka_message_destroy(m); }
};
template <class T> using Ptr = std::unique_ptr<T, Deleter>;

// One setting; false with librdkafka's reason in `error` when it is refused.
inline bool set(rd_kafka_conf_t *conf, const char *name, const QString &value, QString *error)
{
    char text[512];
    if (rd_kafka_conf_set(conf, name, value.toUtf8().constData(), text, sizeof text) ==
        RD_KAFKA_CONF_OK)
        return true;
    *error = QStringLiteral("Kafka setting %1: %2")
                 .arg(QString::fromLatin1(name), QString::fromUtf8(text));
    return false;
}

// The number of partitions of `topic` (0 when the broker does not know it; asked of all
// topics, since asking for one may create it on brokers that create topics on demand), or
// -1 with the reason in `error` when no broker answers within `timeoutMs`.
inline int topicPartitions(rd_kafka_t *rk, const QString &topic, int timeoutMs, QString *error)
{
    const rd_kafka_metadata_t *metadata = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &metadata, timeoutMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = QString::fromUtf8(rd_kafka_err2str(err));
        return -1;
    }
    int partitions = 0;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
        if (QString::fromUtf8(metadata->topics[i].topic) == topic &&
            metadata->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            partitions = metadata->topics[i].partition_cnt;
    }
    rd_kafka_metadata_destroy(metadata);
    return partitions;
}

} // namespace ledger::kafka
