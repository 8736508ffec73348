#include "LedgerRepository.h"

#include "Native.h"

namespace ledger {

namespace {

std::string isoUtc(const QDateTime &t)
{
    return db::toStd(t.toUTC().toString(Qt::ISODateWithMs));
}

using db::parseUtc;
using db::utcColumn;

std::string view(const QByteArray &bytes)
{
    return std::string(bytes.constData(), size_t(bytes.size()));
}

} // namespace

namespace LedgerRepository {

PostResult post(Connection &connection, const QByteArray &requestJson)
{
    return db::guarded([&] {
        // One statement, one round trip: the function call is its own transaction
        // (autocommit), so no BEGIN/COMMIT exchanges. It asks first whether the key is
        // known, so that the caller can tell a replay from a new posting; the posting
        // function itself is what decides.
        pqxx::nontransaction tx(db::native(connection));
        const auto r = tx.exec_params(
            "WITH known AS (SELECT id FROM ledger.transaction_list "
            "               WHERE idempotency_key = ($1::jsonb)->>'idempotency_key') "
            "SELECT ledger.post_transaction($1::jsonb), (SELECT id FROM known)",
            view(requestJson));
        PostResult result;
        result.transactionId = r[0][0].as<qint64>();
        result.created = r[0][1].is_null();
        return result;
    });
}

IngestReport ingest(Connection &connection, const QList<IngestLine> &lines,
                    const IngestOptions &options, const std::function<void(int)> &progress)
{
    return db::guarded([&] {
        pqxx::connection &c = db::native(connection);
        IngestReport report;
        const int batch = options.allOrNothing ? int(lines.size()) : qMax(1, options.batchSize);
        for (int start = 0; start < lines.size(); start += qMax(1, batch)) {
            pqxx::work tx(c);
            IngestReport batchReport;
            QStringList touched;
            for (int i = start; i < qMin<int>(int(lines.size()), start + batch); ++i)
                touched += lines.at(i).accounts;
            touched.removeDuplicates();
            if (!touched.isEmpty()) {
                QString array = QStringLiteral("{");
                for (int i = 0; i < touched.size(); ++i) {
                    QString code = touched.at(i);
                    code.replace(QLatin1String("\\"), QLatin1String("\\\\"))
                        .replace(QLatin1String("\""), QLatin1String("\\\""));
                    array += (i ? QStringLiteral(",\"") : QStringLiteral("\"")) + code +
                             QLatin1Char('"');
                }
                array += QLatin1Char('}');
                tx.exec_params("SELECT ledger.lock_accounts($1::text[])", db::toStd(array));
            }
            for (int i = start; i < qMin<int>(int(lines.size()), start + batch); ++i) {
                const IngestLine &line = lines.at(i);
                // A savepoint per event (plain SQL: libpqxx 6's subtransaction leaves the
                // outer transaction aborted after an error in a function call).
                tx.exec("SAVEPOINT ledger_event");
                try {
                    const auto r =
                        tx.exec_params("SELECT duplicate FROM ledger.ingest_event($1::jsonb, $2)",
                                       view(line.json), db::toStd(options.contraTemplate));
                    tx.exec("RELEASE SAVEPOINT ledger_event");
                    if (r[0][0].as<bool>())
                        ++batchReport.duplicates;
                    else
                        ++batchReport.posted;
                } catch (const pqxx::sql_error &e) {
                    // Back to the savepoint: nothing of this event was written. A lost
                    // connection is not the event's fault: give up on the whole input.
                    const Error err =
                        db::translateServerError(db::sqlStateOf(e), QString::fromUtf8(e.what()));
                    if (err.kind == Error::Kind::Connection)
                        throw DbException(err);
                    tx.exec("ROLLBACK TO SAVEPOINT ledger_event");
                    ++batchReport.rejected;
                    batchReport.rejections.append({line.lineNumber, err.describe()});
                }
            }
            if (options.allOrNothing && batchReport.rejected > 0) {
                tx.abort();
                batchReport.posted = 0;
                batchReport.duplicates = 0;
            } else {
                tx.commit();
            }
            report.posted += batchReport.posted;
            report.duplicates += batchReport.duplicates;
            report.rejected += batchReport.rejected;
            report.rejections += batchReport.rejections;
            if (progress)
                progress(qMin<int>(int(lines.size()), start + batch));
        }
        return report;
    });
}

Balance balance(Connection &connection, const QString &accountCode,
                const std::optional<QDateTime> &effective, const std::optional<QDateTime> &knownAt)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection)); // one statement: no BEGIN/COMMIT
        const std::optional<std::string> e =
            effective ? std::optional(isoUtc(*effective)) : std::nullopt;
        const std::optional<std::string> k =
            knownAt ? std::optional(isoUtc(*knownAt)) : std::nullopt;
        const auto r =
            tx.exec_params("SELECT account, currency, amount, minor_units, " +
                               utcColumn("effective_at") + ", " + utcColumn("known_at") +
                               " FROM ledger.balance($1, $2::timestamptz, $3::timestamptz)",
                           db::toStd(accountCode), e, k);
        Balance b;
        b.account = db::toQString(r[0][0]);
        b.currency = db::toQString(r[0][1]);
        b.amount = db::toQString(r[0][2]);
        b.minorUnits = r[0][3].as<qint64>();
        b.effectiveAt = parseUtc(r[0][4]);
        b.knownAt = parseUtc(r[0][5]);
        return b;
    });
}

} // namespace LedgerRepository

namespace ReversalRepository {

qint64 request(Connection &connection, qint64 transactionId, const QString &reasonCode,
               const QString &note, const QByteArray &rebookJson)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const std::optional<std::string> rebook =
            rebookJson.isEmpty() ? std::nullopt : std::optional(view(rebookJson));
        const auto r =
            tx.exec_params("SELECT ledger.request_reversal($1, $2, $3, $4::jsonb)", transactionId,
                           db::toStd(reasonCode), db::toStd(note), rebook);
        const qint64 id = r[0][0].as<qint64>();
        tx.commit();
        return id;
    });
}

Decision approve(Connection &connection, qint64 requestId, const QString &note)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const std::optional<std::string> n =
            note.isEmpty() ? std::nullopt : std::optional(db::toStd(note));
        const auto r = tx.exec_params("SELECT reversal_transaction_id, rebook_transaction_id "
                                      "FROM ledger.approve_reversal($1, $2)",
                                      requestId, n);
        Decision d;
        d.reversalTransactionId = r[0][0].as<qint64>();
        d.rebookTransactionId = r[0][1].is_null() ? 0 : r[0][1].as<qint64>();
        tx.commit();
        return d;
    });
}

void reject(Connection &connection, qint64 requestId, const QString &note)
{
    db::guarded([&] {
        pqxx::work tx(db::native(connection));
        tx.exec_params("SELECT ledger.reject_reversal($1, $2)", requestId, db::toStd(note));
        tx.commit();
    });
}

QList<Request> list(Connection &connection, const QString &state, int limit)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        const std::optional<std::string> s =
            state.isEmpty() ? std::nullopt : std::optional(db::toStd(state));
        const auto rows = tx.exec_params(
            "SELECT id, transaction_id, reason_code, note, rebook, requested_by, " +
                utcColumn("requested_at") + ", state, decided_by, " + utcColumn("decided_at") +
                ", decision_note, reversal_transaction_id, rebook_transaction_id "
                "FROM ledger.reversal_request_status WHERE ($1::text IS NULL OR state = $1) "
                "ORDER BY id DESC LIMIT $2",
            s, limit);
        QList<Request> out;
        for (const auto &row : rows) {
            Request q;
            q.id = row[0].as<qint64>();
            q.transactionId = row[1].as<qint64>();
            q.reasonCode = db::toQString(row[2]);
            q.note = db::toQString(row[3]);
            q.rebook = row[4].as<bool>();
            q.requestedBy = db::toQString(row[5]);
            q.requestedAt = parseUtc(row[6]);
            q.state = db::toQString(row[7]);
            q.decidedBy = db::toQString(row[8]);
            q.decidedAt = parseUtc(row[9]);
            q.decisionNote = db::toQString(row[10]);
            q.reversalTransactionId = row[11].is_null() ? 0 : row[11].as<qint64>();
            q.rebookTransactionId = row[12].is_null() ? 0 : row[12].as<qint64>();
            out.append(q);
        }
        return out;
    });
}

QList<ReasonCode> reasonCodes(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        QList<ReasonCode> out;
        for (const auto &row :
             tx.exec("SELECT code, description FROM ledger.reason_code_list ORDER BY code"))
            out.append({db::toQString(row[0]), db::toQString(row[1])});
        return out;
    });
}

} // namespace ReversalRepository

} // namespace ledger
