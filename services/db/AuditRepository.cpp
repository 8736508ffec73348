#include "AuditRepository.h"

#include "Native.h"

#include <QJsonDocument>

namespace ledger::AuditRepository {

namespace {

using db::parseUtc;
using db::utcColumn;

// bytea arrives in the server's hex output format: "\x" followed by hex digits.
QByteArray bytea(const pqxx::field &f)
{
    if (f.is_null() || f.size() < 2)
        return {};
    return QByteArray::fromHex(QByteArray::fromRawData(f.c_str() + 2, int(f.size()) - 2));
}

std::string byteaLiteral(const QByteArray &bytes)
{
    return "\\x" + bytes.toHex().toStdString();
}

std::optional<std::string> orNull(const QString &s)
{
    return s.isEmpty() ? std::nullopt : std::optional(db::toStd(s));
}

std::optional<std::string> orNull(const QDateTime &t)
{
    return t.isValid() ? std::optional(db::toStd(t.toUTC().toString(Qt::ISODateWithMs)))
                       : std::nullopt;
}

QByteArray utf8(const pqxx::field &f)
{
    return QByteArray(f.c_str(), int(f.size()));
}

const std::string kEventColumns = "id, seq, " + utcColumn("occurred_at") +
                                  ", operator, session_role, action, object_type, object_id, "
                                  "details::text, client_info::text, prev_hash, hash";

AuditEvent eventFrom(const pqxx::row &r)
{
    AuditEvent e;
    e.id = r[0].as<qint64>();
    if (!r[1].is_null())
        e.seq = r[1].as<qint64>();
    e.occurredAt = parseUtc(r[2]);
    e.operatorName = db::toQString(r[3]);
    e.sessionRole = db::toQString(r[4]);
    e.action = db::toQString(r[5]);
    e.objectType = db::toQString(r[6]);
    e.objectId = db::toQString(r[7]);
    e.details = db::toQString(r[8]);
    e.clientInfo = db::toQString(r[9]);
    e.prevHash = bytea(r[10]);
    e.hash = bytea(r[11]);
    return e;
}

} // namespace

QList<AuditEvent> page(Connection &connection, const AuditFilter &filter,
                       std::optional<qint64> beforeId, int limit)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const auto rows = tx.exec_params(
            "SELECT " + kEventColumns +
                " FROM audit.event_log"
                " WHERE ($1::bigint IS NULL OR id < $1)"
                "   AND ($2::text IS NULL OR operator = $2)"
                "   AND ($3::text IS NULL OR CASE WHEN right($3, 1) = '.' THEN starts_with(action, "
                "$3)"
                "                                 ELSE action = $3 END)"
                "   AND ($4::text IS NULL OR object_type = $4)"
                "   AND ($5::text IS NULL OR object_id = $5)"
                "   AND ($6::timestamptz IS NULL OR occurred_at >= $6)"
                "   AND ($7::timestamptz IS NULL OR occurred_at < $7)"
                "   AND ($8::text IS NULL OR strpos(lower(details::text), lower($8)) > 0)"
                " ORDER BY id DESC LIMIT $9",
            beforeId, orNull(filter.operatorName), orNull(filter.action), orNull(filter.objectType),
            orNull(filter.objectId), orNull(filter.from), orNull(filter.until), orNull(filter.text),
            qMax(1, limit));
        QList<AuditEvent> out;
        out.reserve(int(rows.size()));
        for (const auto &r : rows)
            out.append(eventFrom(r));
        return out;
    });
}

std::optional<AuditEvent> event(Connection &connection, qint64 id)
{
    return db::guarded([&]() -> std::optional<AuditEvent> {
        pqxx::nontransaction tx(db::native(connection));
        const auto rows =
            tx.exec_params("SELECT " + kEventColumns + " FROM audit.event_log WHERE id = $1", id);
        if (rows.empty())
            return std::nullopt;
        return eventFrom(rows[0]);
    });
}

ChainHead head(Connection &connection)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const auto r = tx.exec("SELECT seq, hash, unsealed FROM audit.chain_head()");
        return ChainHead{r[0][0].as<qint64>(), bytea(r[0][1]), r[0][2].as<qint64>()};
    });
}

qint64 seal(Connection &connection)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const auto n = tx.exec("SELECT audit.seal()")[0][0].as<qint64>();
        tx.commit();
        return n;
    });
}

IssuedCheckpoint issueCheckpoint(Connection &connection, int anchorEvery)
{
    return db::guarded([&] {
        IssuedCheckpoint c;
        {
            pqxx::work tx(db::native(connection));
            const auto r = tx.exec("SELECT checkpoint_id, seq, hash, " + utcColumn("issued_at") +
                                   " FROM audit.issue_checkpoint()");
            c.id = r[0][0].as<qint64>();
            c.seq = r[0][1].as<qint64>();
            c.hash = bytea(r[0][2]);
            c.issuedAt = parseUtc(r[0][3]);
            tx.commit();
        }
        pqxx::nontransaction tx(db::native(connection));
        for (const auto &r : tx.exec_params("SELECT seq, hash FROM audit.chain_anchors($1, $2)",
                                            c.seq, anchorEvery))
            c.anchors.append({r[0].as<qint64>(), bytea(r[1])});
        return c;
    });
}

QList<IssuedCheckpoint> checkpoints(Connection &connection)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        QList<IssuedCheckpoint> out;
        for (const auto &r : tx.exec("SELECT id, seq, hash, " + utcColumn("issued_at") +
                                     " FROM audit.checkpoint_list ORDER BY id")) {
            IssuedCheckpoint c;
            c.id = r[0].as<qint64>();
            c.seq = r[1].as<qint64>();
            c.hash = bytea(r[2]);
            c.issuedAt = parseUtc(r[3]);
            out.append(c);
        }
        return out;
    });
}

qint64 readChain(Connection &connection, qint64 afterSeq, qint64 throughSeq, int batchSize,
                 const std::function<bool(const ChainRow &)> &sink)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        qint64 delivered = 0;
        qint64 cursor = afterSeq;
        ChainRow row;
        for (;;) {
            const auto rows = tx.exec_params(
                "SELECT seq, id, (extract(epoch FROM occurred_at) * 1000000)::bigint, operator,"
                " session_role, action, object_type, object_id, details::text, client_info::text,"
                " prev_hash, hash FROM audit.event_log"
                " WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
                cursor, throughSeq, qMax(1, batchSize));
            for (const auto &r : rows) {
                row.seq = r[0].as<qint64>();
                row.id = r[1].as<qint64>();
                row.occurredAtMicros = r[2].as<qint64>();
                row.operatorName = utf8(r[3]);
                row.sessionRole = utf8(r[4]);
                row.action = utf8(r[5]);
                row.objectType = utf8(r[6]);
                row.objectId = r[7].is_null() ? std::nullopt : std::optional(utf8(r[7]));
                row.details = utf8(r[8]);
                row.clientInfo = utf8(r[9]);
                row.prevHash = bytea(r[10]);
                row.hash = bytea(r[11]);
                ++delivered;
                cursor = row.seq;
                if (!sink(row))
                    return delivered;
            }
            if (rows.size() < size_t(qMax(1, batchSize)))
                return delivered;
        }
    });
}

std::optional<qint64> seqOfHash(Connection &connection, const QByteArray &hash)
{
    return db::guarded([&]() -> std::optional<qint64> {
        pqxx::nontransaction tx(db::native(connection));
        const auto rows = tx.exec_params(
            "SELECT seq FROM audit.event_log WHERE hash = $1::bytea LIMIT 1", byteaLiteral(hash));
        if (rows.empty())
            return std::nullopt;
        return rows[0][0].as<qint64>();
    });
}

SqlVerification verifyInSql(Connection &connection, std::optional<qint64> checkpointSeq,
                            const QByteArray &checkpointHash)
{
    return db::guarded([&] {
        {
            pqxx::work tx(db::native(connection));
            tx.exec("SELECT audit.seal()");
            tx.commit();
        }
        pqxx::work tx(db::native(connection));
        const std::optional<std::string> hash =
            checkpointSeq ? std::optional(byteaLiteral(checkpointHash)) : std::nullopt;
        const auto r = tx.exec_params("SELECT verified_through, broken_at, reason, events_checked,"
                                      " unsealed FROM audit.verify_chain($1::bigint, $2::bytea)",
                                      checkpointSeq, hash);
        SqlVerification v;
        v.verifiedThrough = r[0][0].as<qint64>();
        if (!r[0][1].is_null())
            v.brokenAt = r[0][1].as<qint64>();
        v.reason = db::toQString(r[0][2]);
        v.eventsChecked = r[0][3].as<qint64>();
        v.unsealed = r[0][4].as<qint64>();
        tx.commit();
        return v;
    });
}

void recordVerification(Connection &connection, const QJsonObject &result)
{
    db::guarded([&] {
        pqxx::work tx(db::native(connection));
        tx.exec_params("SELECT audit.record_verification($1::jsonb)",
                       QJsonDocument(result).toJson(QJsonDocument::Compact).toStdString());
        tx.commit();
    });
}

} // namespace ledger::AuditRepository
