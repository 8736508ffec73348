#include "AuditRepository.h"

#include "Native.h"

#include <QJsonDocument>
#include <QtEndian>

#include <limits>

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

namespace {

// A BINARY cursor over one query, read batch by batch.
class Cursor
{
public:
    Cursor(pqxx::transaction_base &tx, std::string name, const std::string &query, int batch)
        : m_tx(tx)
        , m_name(std::move(name))
        , m_fetch("FETCH FORWARD " + std::to_string(batch) + " FROM " + m_name)
        , m_batch(size_t(batch))
    {
        m_tx.exec("DECLARE " + m_name + " BINARY NO SCROLL CURSOR FOR " + query);
    }
    // The next row, or nullptr at the end. Valid until the next call.
    const pqxx::row *next()
    {
        if (m_at >= m_rows.size()) {
            if (m_done)
                return nullptr;
            m_rows = m_tx.exec(m_fetch);
            m_at = 0;
            m_done = m_rows.size() < m_batch;
            if (m_rows.empty())
                return nullptr;
        }
        m_row = m_rows[pqxx::result::size_type(m_at++)];
        return &m_row;
    }

private:
    pqxx::transaction_base &m_tx;
    std::string m_name, m_fetch;
    size_t m_batch;
    pqxx::result m_rows;
    pqxx::row m_row;
    size_t m_at = 0;
    bool m_done = false;
};

std::optional<qint64> optionalInt8At(const pqxx::field &f)
{
    return f.is_null() ? std::nullopt : std::optional(int8At(f));
}

qint64 microsAt(const pqxx::field &f)
{
    return int8At(f) + kPostgresEpochMicros;
}

// Entry columns at `first` of a row: id, transaction_id, account_id, amount, currency,
// effective_at, recorded_at, account_seq, balance_after.
constexpr char kEntryColumns[] = "e.id, e.transaction_id, e.account_id, e.amount, e.currency, "
                                 "e.effective_at, e.recorded_at, e.account_seq, e.balance_after";
EntryContent entryAt(const pqxx::row &r, int first)
{
    EntryContent e;
    e.id = int8At(r[first]);
    e.transactionId = int8At(r[first + 1]);
    e.accountId = int8At(r[first + 2]);
    e.amount = int8At(r[first + 3]);
    e.currency = rawAt(r[first + 4]);
    e.effectiveAtMicros = microsAt(r[first + 5]);
    e.recordedAtMicros = microsAt(r[first + 6]);
    e.accountSeq = int8At(r[first + 7]);
    e.balanceAfter = int8At(r[first + 8]);
    return e;
}

} // namespace

bool readLedgerContent(Connection &connection, LedgerContentSink &sink, int batchSize)
{
    return db::guarded([&] {
        // The read is on record before the snapshot is taken (0032_reads_on_record.sql).
        db::putOnRecord(connection, {{"ledger_content", {}}});
        // One snapshot for all four reads: a posting that commits meanwhile is either wholly
        // in them (rows and event) or wholly out.
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(db::native(connection));
        tx.exec("SET LOCAL client_encoding = 'UTF8'");
        tx.exec("SET LOCAL work_mem = '64MB'");
        const int batch = qMax(1, batchSize);
        {
            Cursor c(tx, "digests",
                     "SELECT id, seq, action, object_type, object_id, details FROM "
                     "ledger.digest_events",
                     batch);
            while (const pqxx::row *r = c.next()) {
                DigestEvent e;
                e.id = int8At((*r)[0]);
                e.seq = optionalInt8At((*r)[1]);
                e.action = rawAt((*r)[2]);
                e.objectType = rawAt((*r)[3]);
                if (!(*r)[4].is_null())
                    e.objectId = rawAt((*r)[4]);
                e.details = rawAt((*r)[5], 1); // jsonb's binary form: a version byte, then text
                if (!sink.digestEvent(e))
                    return false;
            }
        }
        {
            // Rows of one transaction are adjacent (ordered by its id); a transaction without
            // entries comes as one row with NULL entry columns.
            Cursor c(tx, "transactions",
                     std::string("SELECT t.id, t.idempotency_key, t.request_hash, t.kind, "
                                 "t.effective_at, t.recorded_at, t.reverses, t.description, "
                                 "t.external_ref, t.created_by, t.created_role, ") +
                         kEntryColumns +
                         " FROM ledger.transaction_content t LEFT JOIN ledger.entry_content e"
                         " ON e.transaction_id = t.id ORDER BY t.id",
                     batch);
            TransactionContent current;
            std::vector<EntryContent> entries;
            bool have = false;
            while (const pqxx::row *r = c.next()) {
                const qint64 id = int8At((*r)[0]);
                if (!have || id != current.id) {
                    if (have && !sink.transaction(current, std::move(entries)))
                        return false;
                    entries.clear();
                    have = true;
                    current.id = id;
                    current.idempotencyKey = rawAt((*r)[1]);
                    current.requestHash = rawAt((*r)[2]);
                    current.kind = rawAt((*r)[3]);
                    current.effectiveAtMicros = microsAt((*r)[4]);
                    current.recordedAtMicros = microsAt((*r)[5]);
                    current.reverses = optionalInt8At((*r)[6]).value_or(0);
                    current.description = rawAt((*r)[7]);
                    current.externalRef =
                        (*r)[8].is_null() ? std::nullopt : std::optional(rawAt((*r)[8]));
                    current.createdBy = rawAt((*r)[9]);
                    current.createdRole = rawAt((*r)[10]);
                }
                if (!(*r)[11].is_null())
                    entries.push_back(entryAt(*r, 11));
            }
            if (have && !sink.transaction(current, std::move(entries)))
                return false;
        }
        {
            Cursor c(tx, "strays",
                     std::string("SELECT ") + kEntryColumns +
                         ", NOT EXISTS (SELECT 1 FROM ledger.transaction_content t"
                         " WHERE t.id = e.transaction_id) FROM ledger.entry_content e"
                         " WHERE NOT EXISTS (SELECT 1 FROM ledger.transaction_content t"
                         " WHERE t.id = e.transaction_id) OR NOT EXISTS (SELECT 1 FROM"
                         " ledger.head_content h WHERE h.account_id = e.account_id)"
                         " ORDER BY e.transaction_id, e.id",
                     batch);
            while (const pqxx::row *r = c.next()) {
                if (!sink.strayEntry(entryAt(*r, 0), *(*r)[9].c_str() != 0))
                    return false;
            }
        }
        {
            Cursor c(tx, "heads",
                     std::string("SELECT h.account_id, h.code, h.last_seq, h.balance, "
                                 "h.last_recorded_at, ") +
                         kEntryColumns +
                         " FROM ledger.head_content h LEFT JOIN ledger.entry_content e"
                         " ON e.account_id = h.account_id ORDER BY h.account_id, e.account_seq",
                     batch);
            qint64 currentAccount = 0;
            bool have = false;
            while (const pqxx::row *r = c.next()) {
                const qint64 account = int8At((*r)[0]);
                if (!have || account != currentAccount) {
                    have = true;
                    currentAccount = account;
                    HeadContent h;
                    h.accountId = account;
                    h.code = QString::fromUtf8(rawAt((*r)[1]));
                    h.lastSeq = int8At((*r)[2]);
                    h.balance = int8At((*r)[3]);
                    // -infinity (no entry yet) arrives as the int64 minimum.
                    const qint64 raw = int8At((*r)[4]);
                    h.lastRecordedAtMicros = raw == std::numeric_limits<qint64>::min()
                                                 ? raw
                                                 : raw + kPostgresEpochMicros;
                    if (!sink.head(h))
                        return false;
                }
                if (!(*r)[5].is_null() && !sink.accountEntry(entryAt(*r, 5)))
                    return false;
            }
        }
        tx.commit();
        return true;
    });
}

LedgerVerification verifyLedgerInSql(Connection &connection)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const auto r = tx.exec(
            "SELECT transactions_checked, entries_checked, accounts_checked, transactions_broken,"
            " first_transaction, transaction_reason, accounts_broken, first_account,"
            " account_reason FROM ledger.verify_ledger()");
        LedgerVerification v;
        v.transactionsChecked = r[0][0].as<qint64>();
        v.entriesChecked = r[0][1].as<qint64>();
        v.accountsChecked = r[0][2].as<qint64>();
        v.transactionsBroken = r[0][3].as<qint64>(0);
        if (!r[0][4].is_null())
            v.firstTransaction = r[0][4].as<qint64>();
        v.transactionReason = db::toQString(r[0][5]);
        v.accountsBroken = r[0][6].as<qint64>(0);
        v.firstAccount = db::toQString(r[0][7]);
        v.accountReason = db::toQString(r[0][8]);
        tx.commit();
        return v;
    });
}

void recordLedgerVerification(Connection &connection, const QJsonObject &result)
{
    db::guarded([&] {
        pqxx::work tx(db::native(connection));
        tx.exec_params("SELECT ledger.record_ledger_verification($1::jsonb)",
                       QJsonDocument(result).toJson(QJsonDocument::Compact).toStdString());
        tx.commit();
    });
}

} // namespace ledger::AuditRepository
