#include "OutboxRepository.h"

#include "Connection.h"
#include "Native.h"

namespace ledger::OutboxRepository {

void claim(Connection &connection, const QString &relay)
{
    db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        tx.exec_params("SELECT ledger.outbox_claim($1)", db::toStd(relay));
    });
}

Pending pending(Connection &connection, const QString &relay, const QString &topic, int events)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        // Only sealed events are handed out, and a commit seals at most every seal_every
        // (0060): the chain first, so that what has committed goes out in this round; when
        // another transaction holds the chain, the round goes on with what is sealed.
        tx.exec("SELECT audit.seal_if_free()");
        const pqxx::result r = tx.exec_params(
            "SELECT seq, message_id, message_key, payload FROM ledger.outbox_pending($1, $2, $3)",
            db::toStd(relay), db::toStd(topic), events);
        Pending out;
        for (const auto &row : r) {
            if (row[1].is_null()) { // the last row: how far the call looked
                out.upto = row[0].as<qint64>();
                continue;
            }
            Message m;
            m.seq = row[0].as<qint64>();
            m.id = db::toQString(row[1]);
            m.key = QByteArray(row[2].c_str(), int(row[2].size()));
            m.payload = QByteArray(row[3].c_str(), int(row[3].size()));
            out.messages.append(m);
        }
        return out;
    });
}

void acknowledge(Connection &connection, const QString &relay, const QString &topic, qint64 upto,
                 int messages)
{
    db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        tx.exec_params("SELECT ledger.outbox_ack($1, $2, $3, $4)", db::toStd(relay),
                       db::toStd(topic), upto, messages);
    });
}

QList<RelayStatus> status(Connection &connection)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const pqxx::result r =
            tx.exec("SELECT relay, topic, published_seq, messages, " + db::utcColumn("updated_at") +
                    ", behind FROM ledger.outbox_status()");
        QList<RelayStatus> out;
        for (const auto &row : r) {
            RelayStatus s;
            s.relay = db::toQString(row[0]);
            s.topic = db::toQString(row[1]);
            s.publishedSeq = row[2].as<qint64>();
            s.messages = row[3].as<qint64>();
            s.updatedAt = db::parseUtc(row[4]);
            s.behind = row[5].as<qint64>();
            out.append(s);
        }
        return out;
    });
}

} // namespace ledger::OutboxRepository
