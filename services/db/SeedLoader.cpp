#include "SeedLoader.h"

#include "DatabaseAdmin.h"

#include "Native.h"
#include "demo/DemoHistory.h"

#include <QCryptographicHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

#include <optional>
#include <tuple>
#include <vector>

// Why the load looks the way it does. Measured on the 2-core development machine with
// `ledgerctl seed --accounts 2000 --transactions 1000000` (2.0 M entries) on a fresh demo
// cluster, PostgreSQL 15; the machine was shared, so times varied by about 10 %:
//
// - COPY, not the posting functions: ledger.post_transaction() managed about 750
//   transactions a second even without round trips (5,000 in one DO block), over twenty
//   minutes for a million.
//
// - Ids: the identity columns are GENERATED ALWAYS. INSERT refuses explicit values without
//   OVERRIDING SYSTEM VALUE, but COPY FROM writes the values it is given (tested; the COPY
//   documentation says so) and leaves the sequence alone. The loader needs the ids up
//   front (entries name their transaction, reversals their original, decisions their
//   request), so it reserves a block from each identity sequence (nextval(), then
//   setval() past the block) while its locks keep every other writer out, and writes the
//   block's ids explicitly. A rolled-back load leaves a gap, as a rolled-back INSERT does.
//
// - Foreign keys (measured with migrations 0001-0005 and the indexes kept): with the two
//   on ledger.entries (to transactions and to accounts) checked row by row, the end of
//   the entries COPY, where the queued checks run, took 11 to 18 s more, and the whole
//   seed 45 to 55 s: too close to the 60 s budget. Dropped
//   for the load and added back in the same transaction (PostgreSQL's "Populating a
//   Database" advice), the re-validation of every row takes about 1 s and the seed 37 to
//   42 s. Nobody sees the tables without the constraints (the DROP holds ACCESS EXCLUSIVE
//   locks until commit) and a bad row fails the whole load when they are added back.
//   Their names and definitions are read from pg_constraint, so they stay the
//   migrations'. transactions.reverses (almost always NULL) cost nothing measurable and
//   the reversal tables are small: those keep their constraints.
//
// - Indexes: the same advice, same reasoning, for ledger.entries' plain indexes when the
//   load is big compared with the table (see rebuildIndexes() below): the entries COPY
//   went from about 22 s to 8 s, plus 4 s to build them. The seed then took 38 to 39 s,
//   about 16 s of it in COMMIT, where the deferred per-transaction balance trigger
//   (migration 0006) runs one query per loaded transaction. A second million on top of
//   the first took 43 s.
//
// - Sequence numbers and running balances are computed here, in recorded order, starting
//   from ledger.account_heads, exactly as ledger.post_normalized() would have; the heads
//   are then set in one UPDATE as ledger_owner (their guard trigger allows only that
//   role). Whatever checks the schema makes on insert or at commit (balance per
//   transaction and currency, legs, append-only) run as for any other insert: all legs
//   of all transactions go in one COPY, so a statement-level check sees each transaction
//   whole.

namespace ledger {

namespace {

constexpr qint64 kUsPerSecond = 1'000'000;
constexpr qint64 kUsPerDay = 86'400 * kUsPerSecond;
constexpr int kProgressEvery = 16384;

using TxRow = std::tuple<qint64, std::string, std::string, const char *, std::string, std::string,
                         std::string, std::optional<std::string>, std::optional<qint64>,
                         std::string, std::string>;
using EntryRow = std::tuple<qint64, qint64, qint64, qint64, std::string, std::string, std::string,
                            qint64, qint64>;

void appendDigits(std::string &out, qint64 value, int width)
{
    char buf[20];
    for (int i = width - 1; i >= 0; --i) {
        buf[i] = char('0' + value % 10);
        value /= 10;
    }
    out.append(buf, size_t(width));
}

// µs since the epoch as "2024-05-01 12:34:56.123456+00" (COPY input), or with `canonical`
// as "2024-05-01T12:34:56.123456Z", the form ledger.normalize_request() fingerprints.
// Hand-rolled: seven million timestamps through QDateTime or snprintf cost seconds.
void appendTimestamp(std::string &out, qint64 us, bool canonical)
{
    qint64 days = us / kUsPerDay;
    qint64 rem = us % kUsPerDay;
    if (rem < 0) {
        rem += kUsPerDay;
        --days;
    }
    // Howard Hinnant's days -> civil date.
    const qint64 z = days + 719468;
    const qint64 era = (z >= 0 ? z : z - 146096) / 146097;
    const qint64 doe = z - era * 146097;
    const qint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const qint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const qint64 mp = (5 * doy + 2) / 153;
    const qint64 day = doy - (153 * mp + 2) / 5 + 1;
    const qint64 month = mp < 10 ? mp + 3 : mp - 9;
    const qint64 year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    const qint64 seconds = rem / kUsPerSecond;
    appendDigits(out, year, 4);
    out += '-';
    appendDigits(out, month, 2);
    out += '-';
    appendDigits(out, day, 2);
    out += canonical ? 'T' : ' ';
    appendDigits(out, seconds / 3600, 2);
    out += ':';
    appendDigits(out, seconds / 60 % 60, 2);
    out += ':';
    appendDigits(out, seconds % 60, 2);
    out += '.';
    appendDigits(out, rem % kUsPerSecond, 6);
    out += canonical ? "Z" : "+00";
}

std::string timestampText(qint64 us)
{
    std::string s;
    s.reserve(32);
    appendTimestamp(s, us, false);
    return s;
}

// A JSON string as PostgreSQL's jsonb output writes it (escape_json()).
void appendJsonString(std::string &out, const QByteArray &utf8)
{
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (const char c : utf8) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                out += "\\u00";
                out += hex[(c >> 4) & 0xf];
                out += hex[c & 0xf];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

std::string byteaText(const QByteArray &bytes)
{
    // COPY text format reads "\\x..." as the bytea input "\x..."; stream_to's escaping
    // doubles the backslash for us.
    return "\\x" + bytes.toHex().toStdString();
}

// "seed-<run>:00000042". Zero-padded so that the keys arrive in index order: the unique
// index on idempotency_key then appends at its right edge instead of splitting pages all
// over the tree.
std::string idempotencyKey(const std::string &runPrefix, qint64 ordinal)
{
    std::string key = runPrefix;
    appendDigits(key, ordinal, ordinal < 100'000'000 ? 8 : 19);
    return key;
}

std::string toStd(const QString &s)
{
    return db::toStd(s);
}

std::string bigintArray(const std::vector<qint64> &values)
{
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) {
        if (i)
            out += ',';
        out += std::to_string(values[i]);
    }
    out += '}';
    return out;
}

[[noreturn]] void refuse(Error::Kind kind, const QString &message)
{
    throw DbException(Error::make(kind, message));
}

struct AccountState
{
    qint64 id = 0;
    std::string code;
    std::string currency;
    bool debitNormal = true;
    bool noNegative = false;
    qint64 seq = 0;     // last account_seq, continuing from the head
    qint64 balance = 0; // signed running balance, continuing from the head
    qint64 lastRecorded = std::numeric_limits<qint64>::min();
    bool touched = false;
};

// A constraint or index dropped for the load, and how to put it back as it was.
struct Dropped
{
    std::string create;                 // the statement that re-creates it
    std::optional<std::string> comment; // COMMENT ON ... statement, when it had one
};

class Load
{
public:
    Load(pqxx::work &tx, const DemoHistory &history, const SeedLoader::ProgressCallback &progress)
        : m_tx(tx)
        , m_history(history)
        , m_progress(progress)
    {
        const auto &txs = history.transactions();
        m_totalRows = qint64(txs.size()) + qint64(history.legs().size()) +
                      2 * qint64(history.reversals().size());
    }

    void report(const QString &phase, bool force = true)
    {
        if (!m_progress || (!force && m_rows % kProgressEvery != 0))
            return;
        if (!m_progress(SeedProgress{phase, m_rows, m_totalRows}))
            refuse(Error::Kind::Input,
                   QStringLiteral("Seeding was cancelled; nothing was loaded."));
    }

    void lockTables(bool forDdl)
    {
        // Order: accounts, heads, then the rest, the order ledger.open_account() and the
        // posting functions take theirs, so a concurrent writer waits instead of
        // deadlocking. EXCLUSIVE on the heads blocks posters at their first step (SELECT
        // ... FOR UPDATE). Dropping entries' foreign keys or indexes takes ACCESS
        // EXCLUSIVE on entries and on the tables the keys reference, so then readers of
        // accounts, transactions and entries wait for the load too; taking those locks
        // now rather than at the DROP avoids upgrading a lock mid-way. A waiting lock
        // gives up after a minute rather than hanging a script.
        m_tx.exec("SET LOCAL lock_timeout = '60s'");
        if (forDdl) {
            m_tx.exec("LOCK TABLE ledger.accounts IN ACCESS EXCLUSIVE MODE");
            m_tx.exec("LOCK TABLE ledger.account_heads IN EXCLUSIVE MODE");
            m_tx.exec("LOCK TABLE ledger.transactions, ledger.entries IN ACCESS EXCLUSIVE MODE");
        } else {
            m_tx.exec("LOCK TABLE ledger.accounts IN SHARE ROW EXCLUSIVE MODE");
            m_tx.exec("LOCK TABLE ledger.account_heads IN EXCLUSIVE MODE");
            m_tx.exec("LOCK TABLE ledger.transactions, ledger.entries IN SHARE ROW EXCLUSIVE MODE");
        }
        m_tx.exec("LOCK TABLE ledger.reversal_requests, ledger.reversal_decisions "
                  "IN SHARE ROW EXCLUSIVE MODE");
        m_tx.exec("SET LOCAL lock_timeout = 0");
        m_sessionUser = m_tx.exec("SELECT session_user")[0][0].as<std::string>();
    }

    // The history's accounts as they stand now, under the locks.
    void readAccounts()
    {
        const auto rows = m_tx.exec(
            "SELECT a.code, a.id, a.currency, a.normal_side = 'debit', NOT a.allow_negative, "
            "       h.last_seq, h.balance, "
            // extract() gives numeric since PostgreSQL 14: exact to the microsecond.
            "       CASE WHEN isfinite(h.last_recorded_at) "
            "            THEN (extract(epoch FROM h.last_recorded_at) * 1000000)::bigint END "
            "FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id = a.id");
        QHash<QString, AccountState> byCode;
        byCode.reserve(int(rows.size()));
        for (const auto &row : rows) {
            AccountState s;
            s.code = row[0].as<std::string>();
            s.id = row[1].as<qint64>();
            s.currency = row[2].as<std::string>();
            s.debitNormal = row[3].as<bool>();
            s.noNegative = row[4].as<bool>();
            s.seq = row[5].as<qint64>();
            s.balance = row[6].as<qint64>();
            if (!row[7].is_null())
                s.lastRecorded = row[7].as<qint64>();
            m_existingEntries += s.seq;
            byCode.insert(QString::fromStdString(s.code), s);
        }
        QSet<QString> planned;
        for (const NewAccount &a : m_history.accounts()) {
            // Two states for one account would number its entries twice.
            if (planned.contains(a.code))
                refuse(Error::Kind::Internal,
                       QStringLiteral("Account %1 appears twice in the seed plan.").arg(a.code));
            planned.insert(a.code);
            const auto it = byCode.constFind(a.code);
            if (it == byCode.constEnd())
                refuse(Error::Kind::NotFound,
                       QStringLiteral("Account %1 of the seed plan does not exist; open the "
                                      "accounts first (ledgerctl seed does that).")
                           .arg(a.code));
            if (QString::fromStdString(it->currency) != a.currency)
                refuse(Error::Kind::Conflict,
                       QStringLiteral("Account %1 holds %2, not %3 as the seed plan assumes.")
                           .arg(a.code, QString::fromStdString(it->currency), a.currency));
            m_accounts.push_back(*it);
        }
    }

    // Sequence numbers and running balances in recorded order, per account, from the
    // heads; refuses anything the ledger would refuse before a single row is sent.
    void computeEntries()
    {
        const auto &txs = m_history.transactions();
        const auto &legs = m_history.legs();
        m_entrySeq.resize(legs.size());
        m_entryBalance.resize(legs.size());
        qint64 previous = std::numeric_limits<qint64>::min();
        for (const DemoHistory::Transaction &t : txs) {
            if (t.recordedAt < previous)
                refuse(Error::Kind::Internal,
                       QStringLiteral("The seed history is not in recorded order."));
            previous = t.recordedAt;
            if (t.legCount < 2)
                refuse(Error::Kind::Internal,
                       QStringLiteral("A seed transaction has fewer than two legs."));
            for (int k = t.firstLeg; k < t.firstLeg + t.legCount; ++k) {
                const DemoHistory::Leg &leg = legs[size_t(k)];
                AccountState &a = m_accounts[size_t(leg.account)];
                if (t.recordedAt < a.lastRecorded)
                    refuse(Error::Kind::Conflict,
                           QStringLiteral("Account %1 has entries recorded after the seed "
                                          "history starts (someone posted meanwhile); run "
                                          "the seed again.")
                               .arg(QString::fromStdString(a.code)));
                a.lastRecorded = t.recordedAt;
                a.seq += 1;
                a.balance += leg.amount;
                a.touched = true;
                if (a.noNegative && (a.debitNormal ? a.balance : -a.balance) < 0)
                    refuse(Error::Kind::Internal,
                           QStringLiteral("The seed history would take account %1 below zero; "
                                          "nothing was loaded.")
                               .arg(QString::fromStdString(a.code)));
                m_entrySeq[size_t(k)] = a.seq;
                m_entryBalance[size_t(k)] = a.balance;
            }
        }
    }

    qint64 reserveIds(const char *table, qint64 count)
    {
        // Under this transaction's locks no other session inserts into the table, so
        // nobody else draws from its identity sequence between nextval() and setval().
        const auto r = m_tx.exec_params(
            "SELECT setval(s.seq, nextval(s.seq) + $2 - 1) - $2 + 1, p.seqincrement "
            "FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq) s "
            "JOIN pg_sequence p ON p.seqrelid = s.seq",
            std::string(table), count);
        if (r[0][1].as<qint64>() != 1)
            refuse(Error::Kind::Server,
                   QStringLiteral("The identity sequence of %1 does not count in steps of "
                                  "one; the seed cannot reserve ids.")
                       .arg(QString::fromLatin1(table)));
        return r[0][0].as<qint64>();
    }

    void reserveAllIds()
    {
        const auto &txs = m_history.transactions();
        const qint64 reversals = qint64(m_history.reversals().size());
        m_firstTx = reserveIds("ledger.transactions", qint64(txs.size()));
        m_firstEntry = reserveIds("ledger.entries", qint64(m_history.legs().size()));
        if (reversals > 0) {
            m_firstRequest = reserveIds("ledger.reversal_requests", reversals);
            m_firstDecision = reserveIds("ledger.reversal_decisions", reversals);
        }
        // Unique across runs: ids are never handed out twice, even after a rollback.
        m_runId = QStringLiteral("seed-%1").arg(m_firstTx);
    }

    std::vector<Dropped> dropForeignKeys()
    {
        std::vector<Dropped> dropped;
        const auto rows =
            m_tx.exec("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), "
                      "       obj_description(oid, 'pg_constraint') "
                      "FROM pg_constraint "
                      "WHERE contype = 'f' AND conrelid = 'ledger.entries'::regclass "
                      "ORDER BY conname");
        for (const auto &row : rows) {
            const std::string table = row[0].as<std::string>();
            const std::string name = m_tx.quote_name(row[1].as<std::string>());
            Dropped d;
            d.create =
                "ALTER TABLE " + table + " ADD CONSTRAINT " + name + " " + row[2].as<std::string>();
            if (!row[3].is_null())
                d.comment = "COMMENT ON CONSTRAINT " + name + " ON " + table + " IS " +
                            m_tx.quote(row[3].as<std::string>());
            m_tx.exec("ALTER TABLE " + table + " DROP CONSTRAINT " + name);
            dropped.push_back(std::move(d));
        }
        return dropped;
    }

    // Plain (non-unique, not backing a constraint) indexes of ledger.entries. Unique ones
    // and those a constraint relies on stay and are maintained row by row.
    std::vector<Dropped> dropSecondaryIndexes()
    {
        std::vector<Dropped> dropped;
        const auto rows = m_tx.exec(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), "
            "       obj_description(i.indexrelid, 'pg_class') "
            "FROM pg_index i "
            "WHERE i.indrelid = 'ledger.entries'::regclass AND NOT i.indisunique "
            "  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY 1");
        for (const auto &row : rows) {
            const std::string index = row[0].as<std::string>();
            Dropped d;
            d.create = row[1].as<std::string>();
            if (!row[2].is_null())
                d.comment =
                    "COMMENT ON INDEX " + index + " IS " + m_tx.quote(row[2].as<std::string>());
            m_tx.exec("DROP INDEX " + index);
            dropped.push_back(std::move(d));
        }
        return dropped;
    }

    void recreate(const std::vector<Dropped> &dropped, const QString &phase)
    {
        for (const Dropped &d : dropped) {
            report(phase);
            m_tx.exec(d.create);
            if (d.comment)
                m_tx.exec(*d.comment);
        }
    }

    // Entries already in the ledger (the heads' sequence numbers add up to their count).
    qint64 existingEntries() const { return m_existingEntries; }

    void copyTransactions()
    {
        const auto &txs = m_history.transactions();
        const auto &legs = m_history.legs();
        const auto &reversals = m_history.reversals();
        std::vector<QByteArray> codes;
        for (const AccountState &a : m_accounts)
            codes.emplace_back(QByteArray::fromStdString(a.code));
        std::vector<QByteArray> currencies;
        for (const AccountState &a : m_accounts)
            currencies.emplace_back(QByteArray::fromStdString(a.currency));

        m_recorded.reserve(txs.size());
        m_effective.reserve(txs.size());
        QCryptographicHash sha(QCryptographicHash::Sha256);
        std::string canonical;
        const std::string runPrefix = toStd(m_runId) + ':';

        pqxx::stream_to out(m_tx, "ledger.transactions",
                            std::vector<std::string>{"id", "idempotency_key", "request_hash",
                                                     "kind", "effective_at", "recorded_at",
                                                     "description", "external_ref", "reverses",
                                                     "created_by", "created_role"});
        for (size_t i = 0; i < txs.size(); ++i) {
            const DemoHistory::Transaction &t = txs[i];
            const qint64 id = m_firstTx + qint64(i);
            m_recorded.push_back(timestampText(t.recordedAt));
            m_effective.push_back(timestampText(t.effectiveAt));

            // The fingerprint ledger.post_normalized() would store for the same request,
            // so that the rows look exactly like posted ones:
            // sha256(jsonb_build_object('kind', .., 'reverses', .., 'request', ..)::text).
            canonical.clear();
            if (t.kind == DemoHistory::Kind::Reversal) {
                const DemoHistory::Reversal &r = reversals[size_t(t.reversal)];
                const qint64 original = m_firstTx + t.reverses;
                const qint64 request = m_firstRequest + t.reversal;
                // As ledger.decide_reversal() words an approved reversal.
                const QString description =
                    QStringLiteral("Reversal of #%1 (%2): %3")
                        .arg(original)
                        .arg(r.reasonCode, txs[size_t(t.reverses)].description)
                        .left(500);
                canonical = "{\"kind\": \"reversal\", \"request\": {\"request\": " +
                            std::to_string(request) +
                            ", \"reverses\": " + std::to_string(original) +
                            "}, \"reverses\": " + std::to_string(original) + "}";
                sha.reset();
                sha.addData(QByteArrayView(canonical.data(), qsizetype(canonical.size())));
                // The run's prefix rather than decide_reversal's "reversal:<request>": every
                // key of a seed run says so (the invariant checks and the audit trail tell
                // bulk-loaded transactions apart by it).
                out << TxRow{id,
                             runPrefix + "reversal:" + std::to_string(request),
                             byteaText(sha.result()),
                             "reversal",
                             m_effective.back(),
                             m_recorded.back(),
                             toStd(description),
                             "reversal-request:" + std::to_string(request),
                             original,
                             toStd(r.decidedBy),
                             m_sessionUser};
            } else {
                const QByteArray description = t.description.toUtf8();
                const QByteArray externalRef = t.externalRef.toUtf8();
                canonical = "{\"kind\": \"seed\", \"request\": {\"legs\": [";
                for (int k = t.firstLeg; k < t.firstLeg + t.legCount; ++k) {
                    const DemoHistory::Leg &leg = legs[size_t(k)];
                    if (k != t.firstLeg)
                        canonical += ", ";
                    canonical += "{\"minor\": " + std::to_string(leg.amount) + ", \"account\": ";
                    appendJsonString(canonical, codes[size_t(leg.account)]);
                    canonical += ", \"currency\": ";
                    appendJsonString(canonical, currencies[size_t(leg.account)]);
                    canonical += '}';
                }
                canonical += "], \"description\": ";
                appendJsonString(canonical, description);
                canonical += ", \"effective_at\": \"";
                appendTimestamp(canonical, t.effectiveAt, true);
                canonical += "\", \"external_ref\": ";
                if (t.externalRef.isNull())
                    canonical += "null";
                else
                    appendJsonString(canonical, externalRef);
                canonical += "}, \"reverses\": null}";
                sha.reset();
                sha.addData(QByteArrayView(canonical.data(), qsizetype(canonical.size())));
                out << TxRow{id,
                             idempotencyKey(runPrefix, qint64(i) + 1),
                             byteaText(sha.result()),
                             "seed",
                             m_effective.back(),
                             m_recorded.back(),
                             description.toStdString(),
                             t.externalRef.isNull() ? std::nullopt
                                                    : std::optional(externalRef.toStdString()),
                             std::nullopt,
                             std::string("seed"),
                             m_sessionUser};
            }
            ++m_rows;
            report(QStringLiteral("transactions"), false);
        }
        out.complete();
    }

    void copyEntries()
    {
        const auto &txs = m_history.transactions();
        const auto &legs = m_history.legs();
        // One COPY for every leg: ledger.entries' statement trigger checks that each
        // transaction it sees balances, so no transaction may be split across statements.
        pqxx::stream_to out(m_tx, "ledger.entries",
                            std::vector<std::string>{"id", "transaction_id", "account_id", "amount",
                                                     "currency", "effective_at", "recorded_at",
                                                     "account_seq", "balance_after"});
        for (size_t i = 0; i < txs.size(); ++i) {
            const DemoHistory::Transaction &t = txs[i];
            for (int k = t.firstLeg; k < t.firstLeg + t.legCount; ++k) {
                const DemoHistory::Leg &leg = legs[size_t(k)];
                const AccountState &a = m_accounts[size_t(leg.account)];
                out << EntryRow{m_firstEntry + k,
                                m_firstTx + qint64(i),
                                a.id,
                                leg.amount,
                                a.currency,
                                m_effective[i],
                                m_recorded[i],
                                m_entrySeq[size_t(k)],
                                m_entryBalance[size_t(k)]};
                ++m_rows;
                report(QStringLiteral("entries"), false);
            }
        }
        out.complete();
    }

    void copyReversals()
    {
        const auto &reversals = m_history.reversals();
        if (reversals.empty())
            return;
        {
            pqxx::stream_to out(m_tx, "ledger.reversal_requests",
                                std::vector<std::string>{"id", "transaction_id", "reason_code",
                                                         "note", "requested_by", "requested_role",
                                                         "requested_at", "attempt"});
            for (size_t j = 0; j < reversals.size(); ++j) {
                const DemoHistory::Reversal &r = reversals[j];
                // The first request of a transaction this load creates (0021: attempt).
                out << std::make_tuple(m_firstRequest + qint64(j), m_firstTx + r.original,
                                       toStd(r.reasonCode), toStd(r.note), toStd(r.requestedBy),
                                       m_sessionUser, timestampText(r.requestedAt), 1);
                ++m_rows;
            }
            out.complete();
        }
        report(QStringLiteral("reversals"));
        pqxx::stream_to out(m_tx, "ledger.reversal_decisions",
                            std::vector<std::string>{"id", "request_id", "decision", "note",
                                                     "decided_by", "decided_role", "decided_at",
                                                     "reversal_transaction_id"});
        for (size_t j = 0; j < reversals.size(); ++j) {
            const DemoHistory::Reversal &r = reversals[j];
            out << std::make_tuple(
                m_firstDecision + qint64(j), m_firstRequest + qint64(j), std::string("approved"),
                std::string("Checked against the original; approved."), toStd(r.decidedBy),
                m_sessionUser, timestampText(r.decidedAt), m_firstTx + r.transaction);
            ++m_rows;
        }
        out.complete();
    }

    void moveHeads()
    {
        std::vector<qint64> ids, seqs, balances;
        std::string recorded = "{";
        for (const AccountState &a : m_accounts) {
            if (!a.touched)
                continue;
            ids.push_back(a.id);
            seqs.push_back(a.seq);
            balances.push_back(a.balance);
            if (recorded.size() > 1)
                recorded += ',';
            recorded += '"' + timestampText(a.lastRecorded) + '"';
        }
        recorded += '}';
        m_accountsTouched = qint64(ids.size());
        // The heads' guard trigger lets only the owner move them (as the posting
        // functions do).
        m_tx.exec("SET LOCAL ROLE ledger_owner");
        const auto r = m_tx.exec_params(
            "UPDATE ledger.account_heads h "
            "SET last_seq = v.last_seq, balance = v.balance, last_recorded_at = v.recorded "
            "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[]) "
            "     AS v(account_id, last_seq, balance, recorded) "
            "WHERE h.account_id = v.account_id",
            bigintArray(ids), bigintArray(seqs), bigintArray(balances), recorded);
        m_tx.exec("RESET ROLE");
        if (qint64(r.affected_rows()) != m_accountsTouched)
            refuse(Error::Kind::Internal,
                   QStringLiteral("Only %1 of %2 account heads could be moved; nothing was "
                                  "loaded.")
                       .arg(r.affected_rows())
                       .arg(m_accountsTouched));
    }

    // The ledger's invariants, checked by the database over the whole ledger, not by the
    // code that just computed the rows. Any failure rolls everything back.
    void checkInvariants()
    {
        // Fresh statistics first: planned with the pre-load ones (an empty table), the
        // checks below walk the big indexes instead of scanning, 2 s instead of 0.3 s.
        // Everything that reads the ledger after the seed profits too.
        m_tx.exec("ANALYZE ledger.transactions, ledger.entries, ledger.account_heads");

        const auto unbalanced =
            m_tx.exec("SELECT transaction_id, currency, sum(amount) FROM ledger.entries "
                      "GROUP BY transaction_id, currency HAVING sum(amount) <> 0 LIMIT 1");
        if (!unbalanced.empty())
            fail(QStringLiteral("transaction %1 does not balance in %2 (legs sum to %3)")
                     .arg(db::toQString(unbalanced[0][0]), db::toQString(unbalanced[0][1]),
                          db::toQString(unbalanced[0][2])));

        const auto foreignLeg = m_tx.exec(
            "SELECT e.transaction_id, e.currency, a.code FROM ledger.entries e "
            "JOIN ledger.accounts a ON a.id = e.account_id WHERE a.currency <> e.currency LIMIT 1");
        if (!foreignLeg.empty())
            fail(QStringLiteral(
                     "transaction %1 has a %2 leg on account %3, which holds another currency")
                     .arg(db::toQString(foreignLeg[0][0]), db::toQString(foreignLeg[0][1]),
                          db::toQString(foreignLeg[0][2])));

        const auto legless = m_tx.exec_params(
            "SELECT t.id FROM ledger.transactions t "
            "WHERE t.id BETWEEN $1 AND $2 "
            "  AND NOT EXISTS (SELECT 1 FROM ledger.entries e WHERE e.transaction_id = t.id) "
            "LIMIT 1",
            m_firstTx, m_firstTx + qint64(m_history.transactions().size()) - 1);
        if (!legless.empty())
            fail(QStringLiteral("transaction %1 has no entries").arg(db::toQString(legless[0][0])));

        const auto heads = m_tx.exec(
            "WITH s AS MATERIALIZED ( "
            "    SELECT account_id, sum(amount) AS total, count(*) AS n, "
            "           max(account_seq) AS max_seq, max(recorded_at) AS max_recorded "
            "    FROM ledger.entries GROUP BY account_id) "
            "SELECT a.code, h.balance, coalesce(s.total, 0), h.last_seq, coalesce(s.n, 0), "
            "       last.balance_after "
            "FROM ledger.account_heads h "
            "JOIN ledger.accounts a ON a.id = h.account_id "
            "LEFT JOIN s ON s.account_id = h.account_id "
            "LEFT JOIN ledger.entries last "
            "       ON last.account_id = h.account_id AND last.account_seq = h.last_seq "
            "WHERE h.balance <> coalesce(s.total, 0) "
            "   OR h.last_seq <> coalesce(s.n, 0) OR h.last_seq <> coalesce(s.max_seq, 0) "
            "   OR (h.last_seq > 0 AND last.balance_after IS DISTINCT FROM h.balance) "
            "   OR (s.max_recorded IS NOT NULL AND h.last_recorded_at <> s.max_recorded) "
            "LIMIT 1");
        if (!heads.empty())
            fail(QStringLiteral("account %1: head balance %2 / %3 entries, but its entries sum "
                                "to %4 over %5 and the last one says %6")
                     .arg(db::toQString(heads[0][0]), db::toQString(heads[0][1]),
                          db::toQString(heads[0][3]), db::toQString(heads[0][2]),
                          db::toQString(heads[0][4]), db::toQString(heads[0][5])));

        const auto negative = m_tx.exec_params(
            "SELECT a.code FROM ledger.account_heads h JOIN ledger.accounts a ON a.id = "
            "h.account_id "
            "WHERE NOT a.allow_negative "
            "  AND CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END < 0 "
            "UNION ALL "
            "(SELECT a.code FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "
            " WHERE e.id BETWEEN $1 AND $2 AND NOT a.allow_negative "
            "   AND CASE WHEN a.normal_side = 'debit' THEN e.balance_after "
            "            ELSE -e.balance_after END < 0) "
            "LIMIT 1",
            m_firstEntry, m_firstEntry + qint64(m_history.legs().size()) - 1);
        if (!negative.empty())
            fail(QStringLiteral("account %1 may not go negative but would")
                     .arg(db::toQString(negative[0][0])));
    }

    void audit(qint64 reversals, qint64 backdated, qint64 futureDated)
    {
        const QJsonObject details{
            {QStringLiteral("run"), m_runId},
            {QStringLiteral("transactions"), qint64(m_history.transactions().size())},
            {QStringLiteral("entries"), qint64(m_history.legs().size())},
            {QStringLiteral("reversals"), reversals},
            {QStringLiteral("backdated"), backdated},
            {QStringLiteral("future_dated"), futureDated},
            {QStringLiteral("accounts"), m_accountsTouched},
            {QStringLiteral("first_transaction_id"), m_firstTx},
            {QStringLiteral("last_transaction_id"),
             m_firstTx + qint64(m_history.transactions().size()) - 1},
            {QStringLiteral("recorded_from"),
             QString::fromStdString(timestampText(m_history.windowStartUs()))},
            {QStringLiteral("recorded_to"),
             QString::fromStdString(timestampText(m_history.windowEndUs()))}};
        m_tx.exec_params("SELECT audit.record('ledger.seeded', 'ledger', NULL, $1::jsonb)",
                         QJsonDocument(details).toJson(QJsonDocument::Compact).toStdString());
        // The seed's transactions never had a transaction.posted event: their digests go
        // into the chain as attestations (0030_ledger_digest.sql), so the ledger verifiers
        // cover them like every posting.
        m_tx.exec_params("SELECT ledger.attest_transactions($1, $2)", m_firstTx,
                         m_firstTx + qint64(m_history.transactions().size()) - 1);
    }

    QString runId() const { return m_runId; }
    qint64 firstTx() const { return m_firstTx; }
    qint64 accountsTouched() const { return m_accountsTouched; }

private:
    [[noreturn]] void fail(const QString &what)
    {
        refuse(Error::Kind::Internal,
               QStringLiteral("The seed was rolled back: after loading, %1.").arg(what));
    }

    pqxx::work &m_tx;
    const DemoHistory &m_history;
    const SeedLoader::ProgressCallback &m_progress;
    qint64 m_rows = 0;
    qint64 m_totalRows = 0;

    std::string m_sessionUser;
    std::vector<AccountState> m_accounts; // parallel to history.accounts()
    std::vector<qint64> m_entrySeq;       // parallel to history.legs()
    std::vector<qint64> m_entryBalance;
    std::vector<std::string> m_recorded; // parallel to history.transactions()
    std::vector<std::string> m_effective;
    qint64 m_firstTx = 0;
    qint64 m_firstEntry = 0;
    qint64 m_firstRequest = 0;
    qint64 m_firstDecision = 0;
    qint64 m_accountsTouched = 0;
    qint64 m_existingEntries = 0;
    QString m_runId;
};

// Whether to drop ledger.entries' plain indexes for the load and build them afterwards.
// Measured (2.0 M entries on an empty ledger): the five cost 7.4 µs per loaded row when
// maintained row by row (COPY 20.6 s with them, 5.8 s with only the unique ones), and
// 1.6 µs per row of the whole table when built afterwards (3.2 s). Building wins while the
// table holds less than about 3.6 times the rows being loaded; small loads are cheap
// either way.
bool rebuildIndexes(SeedLoader::Options::IndexRebuild mode, qint64 newEntries,
                    qint64 existingEntries)
{
    switch (mode) {
    case SeedLoader::Options::IndexRebuild::Always:
        return true;
    case SeedLoader::Options::IndexRebuild::Never:
        return false;
    case SeedLoader::Options::IndexRebuild::Automatic:
        break;
    }
    return newEntries >= 100'000 && existingEntries <= 3 * newEntries;
}

} // namespace

SeedLoader::SeedLoader(Connection &connection)
    : m_connection(connection)
{}

SeedTarget SeedLoader::inspect()
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(m_connection));
        SeedTarget target;
        const auto clock =
            tx.exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, "
                    "       (SELECT (extract(epoch FROM max(last_recorded_at)) * 1000000)::bigint "
                    "        FROM ledger.account_heads WHERE isfinite(last_recorded_at))");
        target.serverNowUs = clock[0][0].as<qint64>();
        if (!clock[0][1].is_null())
            target.latestRecordedUs = clock[0][1].as<qint64>();
        for (const auto &row : tx.exec("SELECT code, exponent FROM ledger.currencies"))
            target.currencyExponents.insert(db::toQString(row[0]), row[1].as<int>());
        return target;
    });
}

SeedReport SeedLoader::load(const DemoHistory &history, const ProgressCallback &progress)
{
    return load(history, progress, Options{});
}

void SeedLoader::requireThrowawayDatabase(Connection &connection)
{
    const QString purpose = DatabaseAdmin::deploymentOf(connection);
    if (purpose == QLatin1String("demo") || purpose == QLatin1String("test"))
        return;
    throw DbException(Error::make(
        Error::Kind::Permission,
        QStringLiteral("Refusing to seed database \"%1\": it was not created by `ledgerctl demo "
                       "start` or the test harness. Seeding drops indexes and foreign keys and "
                       "disables triggers, so it runs only on demo and test databases.")
            .arg(connection.database())));
}

SeedReport SeedLoader::load(const DemoHistory &history, const ProgressCallback &progress,
                            const Options &options)
{
    requireThrowawayDatabase(m_connection);
    return db::guarded([&] {
        SeedReport report;
        if (history.transactions().empty())
            return report;
        pqxx::work tx(db::native(m_connection), "seed");
        // Room for the hash aggregates of the checks and the foreign-key validation.
        tx.exec("SET LOCAL work_mem = '256MB'");
        tx.exec("SET LOCAL maintenance_work_mem = '512MB'");
        Load load(tx, history, progress);
        load.report(QStringLiteral("locking"));
        const bool exclusive =
            options.rebuildForeignKeys || options.rebuildIndexes != Options::IndexRebuild::Never;
        load.lockTables(exclusive);
        load.readAccounts();
        load.computeEntries();
        load.reserveAllIds();
        std::vector<Dropped> keys;
        if (options.rebuildForeignKeys)
            keys = load.dropForeignKeys();
        std::vector<Dropped> indexes;
        if (rebuildIndexes(options.rebuildIndexes, qint64(history.legs().size()),
                           load.existingEntries()))
            indexes = load.dropSecondaryIndexes();
        // The per-transaction balance check (a deferred trigger, one query per transaction
        // at commit) would cost ~16 s per million here; checkInvariants() below checks the
        // same over the whole ledger in a few set-based queries before commit.
        tx.exec("ALTER TABLE ledger.transactions DISABLE TRIGGER transactions_balanced");
        load.report(QStringLiteral("transactions"));
        load.copyTransactions();
        load.report(QStringLiteral("entries"));
        load.copyEntries();
        load.report(QStringLiteral("reversals"));
        load.copyReversals();
        tx.exec("ALTER TABLE ledger.transactions ENABLE ALWAYS TRIGGER transactions_balanced");
        load.recreate(indexes, QStringLiteral("indexes"));
        load.recreate(keys, QStringLiteral("foreign keys"));
        load.report(QStringLiteral("account heads"));
        load.moveHeads();
        load.report(QStringLiteral("checks"));
        load.checkInvariants();

        report.runId = load.runId();
        report.transactions = qint64(history.transactions().size());
        report.entries = qint64(history.legs().size());
        report.reversals = qint64(history.reversals().size());
        report.backdated = history.backdatedCount();
        report.futureDated = history.futureDatedCount();
        report.accountsTouched = load.accountsTouched();
        report.firstTransactionId = load.firstTx();
        report.lastTransactionId = load.firstTx() + report.transactions - 1;
        load.audit(report.reversals, report.backdated, report.futureDated);
        load.report(QStringLiteral("committing"));
        tx.commit();
        return report;
    });
}

} // namespace ledger
