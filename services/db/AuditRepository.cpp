#include "AuditRepository.h"

#include "Native.h"

#include <QJsonDocument>
#include <QtEndian>

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

namespace {

// Binary-format values (a BINARY cursor): network byte order, no text parsing.
qint64 int8At(const pqxx::field &f)
{
    return qFromBigEndian<qint64>(f.c_str());
}

QByteArray rawAt(const pqxx::field &f, int skip = 0)
{
    return QByteArray(f.c_str() + skip, int(f.size()) - skip);
}

// timestamptz is sent as microseconds since 2000-01-01 00:00:00 UTC.
constexpr qint64 kPostgresEpochMicros = Q_INT64_C(946684800000000);

} // namespace

qint64 readChain(Connection &connection, qint64 afterSeq, qint64 throughSeq, int batchSize,
                 const std::function<bool(std::vector<ChainRow> &&)> &sink)
{
    return db::guarded([&] {
        // One BINARY cursor for the whole range: one plan, walked along the seq index (a
        // cursor is planned for a fast start), batchSize rows per FETCH, and no text
        // rendering of numbers, times and hashes on the server nor parsing here. Sealed rows
        // never change, so a long read needs no particular snapshot.
        pqxx::read_transaction tx(db::native(connection));
        tx.exec("SET LOCAL client_encoding = 'UTF8'"); // text values as the hash sees them
        tx.exec_params("DECLARE chain BINARY NO SCROLL CURSOR FOR"
                       " SELECT seq, id, occurred_at, operator, session_role, action,"
                       " object_type, object_id, details, client_info, prev_hash, hash"
                       " FROM audit.event_log WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                       afterSeq, throughSeq);
        const int batch = qMax(1, batchSize);
        const std::string fetch = "FETCH FORWARD " + std::to_string(batch) + " FROM chain";
        qint64 delivered = 0;
        for (;;) {
            const auto result = tx.exec(fetch);
            std::vector<ChainRow> rows(result.size());
            for (size_t i = 0; i < result.size(); ++i) {
                const auto r = result[pqxx::result::size_type(i)];
                ChainRow &row = rows[i];
                row.seq = int8At(r[0]);
                row.id = int8At(r[1]);
                row.occurredAtMicros = int8At(r[2]) + kPostgresEpochMicros;
                row.operatorName = rawAt(r[3]);
                row.sessionRole = rawAt(r[4]);
                row.action = rawAt(r[5]);
                row.objectType = rawAt(r[6]);
                if (!r[7].is_null())
                    row.objectId = rawAt(r[7]);
                row.details = rawAt(r[8], 1); // jsonb's binary form: a version byte, then text
                row.clientInfo = rawAt(r[9], 1);
                row.prevHash = rawAt(r[10]);
                row.hash = rawAt(r[11]);
            }
            delivered += qint64(rows.size());
            const bool last = result.size() < size_t(batch);
            if (!rows.empty() && !sink(std::move(rows)))
                return delivered;
            if (last)
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

void recordClientAction(Connection &connection, const QString &action, const QString &objectType,
                        const QString &objectId, const QJsonObject &details)
{
    db::guarded([&] {
        pqxx::work tx(db::native(connection));
        tx.exec_params("SELECT audit.record_client_action($1, $2, $3, $4::jsonb)",
                       db::toStd(action), db::toStd(objectType), orNull(objectId),
                       QJsonDocument(details).toJson(QJsonDocument::Compact).toStdString());
        tx.commit();
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
