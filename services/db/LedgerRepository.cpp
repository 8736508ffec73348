#include "LedgerRepository.h"

#include "Native.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace ledger {

namespace {

std::string isoUtc(const QDateTime &t)
{
    return db::toStd(t.toUTC().toString(Qt::ISODateWithMs));
}

using db::parseUtc;
using db::utcColumn;
using LedgerRepository::BatchOutcome;
using LedgerRepository::kMaxBatchItems;

std::string view(const QByteArray &bytes)
{
    return std::string(bytes.constData(), size_t(bytes.size()));
}

// {"a","b\"c"}: a text[] literal (the values are quoted and escaped).
std::string textArrayLiteral(const QStringList &values)
{
    QString array = QStringLiteral("{");
    for (int i = 0; i < values.size(); ++i) {
        QString v = values.at(i);
        v.replace(QLatin1String("\\"), QLatin1String("\\\\"))
            .replace(QLatin1String("\""), QLatin1String("\\\""));
        array += (i ? QStringLiteral(",\"") : QStringLiteral("\"")) + v + QLatin1Char('"');
    }
    array += QLatin1Char('}');
    return db::toStd(array);
}

enum class BatchFunction { PostBatch, IngestEvents };

constexpr int kAttempts = 4; // a batch that meets a serialization failure or deadlock

bool isRetryable(const QString &sqlState)
{
    return sqlState == QLatin1String("40001") || sqlState == QLatin1String("40P01");
}

// One call of ledger.post_batch / ledger.ingest_events in `tx`. The items' JSON texts are
// joined into one array as they are (never re-encoded, so amounts stay exact). Throws the
// driver's exceptions.
QList<BatchOutcome> callBatch(pqxx::transaction_base &tx, BatchFunction function,
                              const QList<QByteArray> &items, const std::string &contra)
{
    QList<BatchOutcome> out(items.size());
    if (items.isEmpty())
        return out;
    QByteArray array;
    qsizetype size = 2;
    for (const QByteArray &item : items)
        size += item.size() + 1;
    array.reserve(size);
    array += '[';
    for (int i = 0; i < items.size(); ++i) {
        if (i)
            array += ',';
        array += items.at(i);
    }
    array += ']';
    const pqxx::result rows =
        function == BatchFunction::PostBatch
            ? tx.exec_params("SELECT ordinal, transaction_id, outcome, error_code, message "
                             "FROM ledger.post_batch($1::jsonb)",
                             view(array))
            : tx.exec_params("SELECT ordinal, transaction_id, outcome, error_code, message "
                             "FROM ledger.ingest_events($1::jsonb, $2)",
                             view(array), contra);
    for (const auto &row : rows) {
        const int ordinal = row[0].as<int>();
        if (ordinal < 1 || ordinal > items.size())
            continue;
        BatchOutcome &o = out[ordinal - 1];
        const std::string outcome = row[2].c_str();
        if (outcome == "posted" || outcome == "duplicate") {
            o.kind =
                outcome == "posted" ? BatchOutcome::Kind::Posted : BatchOutcome::Kind::Duplicate;
            o.transactionId = row[1].as<qint64>();
        } else {
            o.kind = BatchOutcome::Kind::Rejected;
            o.error = db::translateServerError(db::toQString(row[3]), db::toQString(row[4]));
        }
    }
    return out;
}

// Items the server cannot read as JSON (QJsonDocument accepts a few texts jsonb refuses,
// such as \u0000): checked one by one, by index, with the server's reason.
QHash<int, Error> findUnreadable(pqxx::connection_base &c, const QList<QByteArray> &items)
{
    QHash<int, Error> found;
    for (int i = 0; i < items.size(); ++i) {
        try {
            pqxx::nontransaction tx(c);
            tx.exec_params("SELECT $1::jsonb IS NULL", view(items.at(i)));
        } catch (const pqxx::sql_error &e) {
            const QString state = db::sqlStateOf(e);
            if (!state.startsWith(QLatin1String("22")))
                throw;
            found.insert(i, db::translateServerError(state, QString::fromUtf8(e.what())));
        }
    }
    return found;
}

// callBatch as its own database transaction (one statement in autocommit: no BEGIN/COMMIT
// round trips), leaving out items the server cannot read and retrying a serialization
// failure or deadlock.
QList<BatchOutcome> callBatchAutocommit(pqxx::connection_base &c, BatchFunction function,
                                        const QList<QByteArray> &items, const std::string &contra)
{
    QHash<int, Error> unreadable;
    for (int attempt = 1;; ++attempt) {
        QList<QByteArray> sent;
        QList<int> sentIndex;
        for (int i = 0; i < items.size(); ++i) {
            if (!unreadable.contains(i)) {
                sent.append(items.at(i));
                sentIndex.append(i);
            }
        }
        try {
            pqxx::nontransaction tx(c);
            const QList<BatchOutcome> outcomes = callBatch(tx, function, sent, contra);
            QList<BatchOutcome> out(items.size());
            for (int k = 0; k < sentIndex.size(); ++k)
                out[sentIndex.at(k)] = outcomes.at(k);
            for (auto it = unreadable.constBegin(); it != unreadable.constEnd(); ++it)
                out[it.key()] = {BatchOutcome::Kind::Rejected, 0, it.value()};
            return out;
        } catch (const pqxx::sql_error &e) {
            const QString state = db::sqlStateOf(e);
            if (state.startsWith(QLatin1String("22"))) {
                const QHash<int, Error> found = findUnreadable(c, sent);
                if (!found.isEmpty()) {
                    for (auto it = found.constBegin(); it != found.constEnd(); ++it)
                        unreadable.insert(sentIndex.at(it.key()), it.value());
                    continue;
                }
            }
            if (isRetryable(state) && attempt < kAttempts)
                continue;
            throw;
        } catch (const pqxx::transaction_rollback &) {
            // Serialization failure or deadlock (libpqxx 6 does not throw these as
            // sql_error): the whole call was rolled back; try again.
            if (attempt < kAttempts)
                continue;
            throw;
        }
    }
}

} // namespace

namespace LedgerRepository {

PostResult post(Connection &connection, const QByteArray &requestJson)
{
    return db::guarded([&] {
        // One statement, one round trip: the function call is its own transaction
        // (autocommit), so no BEGIN/COMMIT exchanges; prepared once per connection (libpqxx
        // prepares it again after a reconnect), so it is not parsed and planned per call.
        // The function says whether it wrote the transaction now or found it posted before.
        pqxx::connection_base &c = db::native(connection);
        c.prepare("ledger_post_request",
                  "SELECT transaction_id, created FROM ledger.post_request($1::jsonb)");
        pqxx::nontransaction tx(c);
        const auto r = tx.exec_prepared("ledger_post_request", view(requestJson));
        PostResult result;
        result.transactionId = r[0][0].as<qint64>();
        result.created = r[0][1].as<bool>();
        return result;
    });
}

QList<BatchOutcome> postBatch(Connection &connection, const QList<QByteArray> &requestsJson)
{
    return db::guarded([&] {
        return callBatchAutocommit(db::native(connection), BatchFunction::PostBatch, requestsJson,
                                   {});
    });
}

IngestReport ingest(Connection &connection, const QList<IngestLine> &lines,
                    const IngestOptions &options, const std::function<void(int)> &progress)
{
    return db::guarded([&] {
        pqxx::connection_base &c = db::native(connection);
        const int batch = qBound(1, options.batchSize, kMaxBatchItems);
        const std::string contra = db::toStd(options.contraTemplate);
        IngestReport report;
        auto tally = [&](const IngestLine &line, const BatchOutcome &o) {
            switch (o.kind) {
            case BatchOutcome::Kind::Posted:
                ++report.posted;
                break;
            case BatchOutcome::Kind::Duplicate:
                ++report.duplicates;
                break;
            case BatchOutcome::Kind::Rejected:
                ++report.rejected;
                report.rejections.append({line.lineNumber, o.error.describe()});
                break;
            }
        };

        if (!options.allOrNothing) {
            // One call, one commit per batch: a batch is posted whole or not at all, never
            // half, and what was committed before a failure stays (events recognised as
            // duplicates when the input is sent again).
            for (int start = 0; start < lines.size(); start += batch) {
                const int end = qMin<int>(int(lines.size()), start + batch);
                QList<QByteArray> items;
                for (int i = start; i < end; ++i)
                    items.append(lines.at(i).json);
                const QList<BatchOutcome> outcomes =
                    callBatchAutocommit(c, BatchFunction::IngestEvents, items, contra);
                for (int i = start; i < end; ++i)
                    tally(lines.at(i), outcomes.at(i - start));
                if (progress)
                    progress(end);
            }
            return report;
        }

        // All or nothing: one database transaction over every batch; its accounts are locked
        // first, in one statement (ledger.lock_accounts, id order), so that it cannot
        // deadlock with other writers between its calls.
        QStringList touched;
        for (const IngestLine &line : lines)
            touched += line.accounts;
        touched.removeDuplicates();
        QHash<int, Error> unreadable; // by index into lines
        for (int attempt = 1;; ++attempt) {
            report = {};
            try {
                pqxx::work tx(c);
                if (!touched.isEmpty())
                    tx.exec_params("SELECT ledger.lock_accounts($1::text[])",
                                   textArrayLiteral(touched));
                for (int start = 0; start < lines.size(); start += batch) {
                    const int end = qMin<int>(int(lines.size()), start + batch);
                    QList<QByteArray> items;
                    QList<int> sent;
                    for (int i = start; i < end; ++i) {
                        if (auto bad = unreadable.constFind(i); bad != unreadable.constEnd()) {
                            tally(lines.at(i), {BatchOutcome::Kind::Rejected, 0, *bad});
                            continue;
                        }
                        items.append(lines.at(i).json);
                        sent.append(i);
                    }
                    const QList<BatchOutcome> outcomes =
                        callBatch(tx, BatchFunction::IngestEvents, items, contra);
                    for (int k = 0; k < sent.size(); ++k)
                        tally(lines.at(sent.at(k)), outcomes.at(k));
                    if (progress)
                        progress(end);
                }
                std::sort(report.rejections.begin(), report.rejections.end(),
                          [](const auto &a, const auto &b) { return a.first < b.first; });
                if (report.rejected > 0) {
                    tx.abort();
                    report.posted = 0;
                    report.duplicates = 0;
                } else {
                    tx.commit();
                }
                return report;
            } catch (const pqxx::sql_error &e) {
                // The transaction is rolled back (the work object is gone). Lines the server
                // cannot read as JSON are found one by one and left out; a serialization
                // failure or deadlock is retried.
                const QString state = db::sqlStateOf(e);
                if (state.startsWith(QLatin1String("22"))) {
                    QList<QByteArray> rest;
                    QList<int> restIndex;
                    for (int i = 0; i < lines.size(); ++i) {
                        if (!unreadable.contains(i)) {
                            rest.append(lines.at(i).json);
                            restIndex.append(i);
                        }
                    }
                    const QHash<int, Error> found = findUnreadable(c, rest);
                    if (!found.isEmpty()) {
                        for (auto it = found.constBegin(); it != found.constEnd(); ++it)
                            unreadable.insert(restIndex.at(it.key()), it.value());
                        continue;
                    }
                }
                if (isRetryable(state) && attempt < kAttempts)
                    continue;
                throw;
            } catch (const pqxx::transaction_rollback &) {
                if (attempt < kAttempts)
                    continue; // serialization failure or deadlock: rolled back, try again
                throw;
            }
        }
    });
}

namespace {

// {"offset": n, "event": "<JSON text>"} or {"offset": n, "raw": "...", "error": "..."}.
QByteArray sourceItem(const SourceMessage &m)
{
    if (m.error.isEmpty())
        return QJsonDocument(QJsonObject{{QStringLiteral("offset"), double(m.offset)},
                                         {QStringLiteral("event"), QString::fromUtf8(m.event)}})
            .toJson(QJsonDocument::Compact);
    // A payload that is not UTF-8 is kept as base64, marked as such.
    const QString text = QString::fromUtf8(m.raw);
    const QString raw = text.toUtf8() == m.raw
                            ? text
                            : QStringLiteral("base64:") + QString::fromLatin1(m.raw.toBase64());
    return QJsonDocument(QJsonObject{{QStringLiteral("offset"), double(m.offset)},
                                     {QStringLiteral("raw"), raw},
                                     {QStringLiteral("error"), m.error}})
        .toJson(QJsonDocument::Compact);
}

SourceBatchResult callSourceBatch(pqxx::connection_base &c, const std::string &source,
                                  const std::string &topic, int partition,
                                  const QList<SourceMessage> &messages, const std::string &contra)
{
    QByteArray items = "[";
    for (const SourceMessage &m : messages) {
        if (items.size() > 1)
            items += ',';
        items += sourceItem(m);
    }
    items += ']';
    pqxx::nontransaction tx(c);
    const pqxx::result r =
        tx.exec_params("SELECT posted, duplicates, parked, skipped, next_offset, held, released "
                       "FROM ledger.ingest_source_batch($1, $2, $3, $4::jsonb, $5)",
                       source, topic, partition, view(items), contra);
    return {r[0][0].as<int>(),    r[0][1].as<int>(), r[0][2].as<int>(), r[0][3].as<int>(),
            r[0][4].as<qint64>(), r[0][5].as<int>(), r[0][6].as<int>()};
}

} // namespace

SourceBatchResult ingestSourceBatch(Connection &connection, const QString &source,
                                    const QString &topic, int partition,
                                    const QList<SourceMessage> &messages,
                                    const QString &contraTemplate)
{
    return db::guarded([&] {
        pqxx::connection_base &c = db::native(connection);
        const std::string src = db::toStd(source), top = db::toStd(topic),
                          contra = db::toStd(contraTemplate);
        for (int attempt = 1;; ++attempt) {
            try {
                return callSourceBatch(c, src, top, partition, messages, contra);
            } catch (const pqxx::sql_error &e) {
                const QString state = db::sqlStateOf(e);
                if (isRetryable(state) && attempt < kAttempts)
                    continue;
                if (!state.startsWith(QLatin1String("22")) || messages.isEmpty())
                    throw;
                // A message the server cannot read: one call per message, in order; the one
                // that fails alone is parked with the server's reason. Each call commits, so
                // a crash in between resumes behind the last one.
                SourceBatchResult total;
                for (const SourceMessage &m : messages) {
                    SourceBatchResult one;
                    try {
                        one = callSourceBatch(c, src, top, partition, {m}, contra);
                    } catch (const pqxx::sql_error &single) {
                        if (!db::sqlStateOf(single).startsWith(QLatin1String("22")))
                            throw;
                        SourceMessage parked = m;
                        parked.error = QString::fromUtf8(single.what()).trimmed().left(900);
                        parked.raw = m.error.isEmpty() ? m.event : m.raw;
                        one = callSourceBatch(c, src, top, partition, {parked}, contra);
                    }
                    total.posted += one.posted;
                    total.duplicates += one.duplicates;
                    total.parked += one.parked;
                    total.skipped += one.skipped;
                    total.held += one.held;
                    total.released += one.released;
                    total.nextOffset = one.nextOffset;
                }
                return total;
            } catch (const pqxx::transaction_rollback &) {
                if (attempt < kAttempts)
                    continue;
                throw;
            }
        }
    });
}

QHash<int, qint64> sourcePositions(Connection &connection, const QString &source,
                                   const QString &topic)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const pqxx::result r =
            tx.exec_params("SELECT partition, next_offset FROM ledger.source_positions_of($1, $2)",
                           db::toStd(source), db::toStd(topic));
        QHash<int, qint64> out;
        for (const auto &row : r)
            out.insert(row[0].as<int>(), row[1].as<qint64>());
        return out;
    });
}

QList<DeadLetter> deadLetters(Connection &connection, int limit, bool openOnly)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const pqxx::result r = tx.exec_params(
            "SELECT id, source, topic, partition, kafka_offset, " + utcColumn("parked_at") +
                ", error_code, reason, payload, outcome, transaction_id, outcome_reason, "
                "decided_by, " +
                utcColumn("decided_at") + " FROM ledger.dead_letter_list($1, $2)",
            limit, openOnly);
        QList<DeadLetter> out;
        for (const auto &row : r) {
            DeadLetter d;
            d.id = row[0].as<qint64>();
            d.source = db::toQString(row[1]);
            d.topic = db::toQString(row[2]);
            d.partition = row[3].as<int>();
            d.offset = row[4].as<qint64>();
            d.parkedAt = parseUtc(row[5]);
            d.errorCode = db::toQString(row[6]);
            d.reason = db::toQString(row[7]);
            d.payload = db::toQString(row[8]);
            d.outcome = db::toQString(row[9]);
            d.transactionId = row[10].is_null() ? 0 : row[10].as<qint64>();
            d.outcomeReason = db::toQString(row[11]);
            d.decidedBy = db::toQString(row[12]);
            if (!row[13].is_null())
                d.decidedAt = parseUtc(row[13]);
            out.append(d);
        }
        return out;
    });
}

RetryResult retryDeadLetter(Connection &connection, qint64 id)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection)); // one statement: its own transaction
        const pqxx::result r = tx.exec_params(
            "SELECT transaction_id, duplicate, event_id FROM ledger.retry_dead_letter($1)", id);
        return RetryResult{r[0][0].as<qint64>(), r[0][1].as<bool>(), r[0][2].as<qint64>()};
    });
}

qint64 discardDeadLetter(Connection &connection, qint64 id, const QString &reason)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        return tx
            .exec_params("SELECT ledger.discard_dead_letter($1, $2)", id, db::toStd(reason))[0][0]
            .as<qint64>();
    });
}

QList<HeldEvent> heldEvents(Connection &connection, int limit)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const pqxx::result r = tx.exec_params(
            "SELECT entity, entity_seq, waits_for, event_id, source, topic, partition, "
            "kafka_offset, " +
                utcColumn("held_at") + " FROM ledger.held_event_list($1)",
            limit);
        QList<HeldEvent> out;
        for (const auto &row : r) {
            HeldEvent h;
            h.entity = db::toQString(row[0]);
            h.sequence = row[1].as<qint64>();
            h.waitsFor = row[2].as<qint64>();
            h.eventId = db::toQString(row[3]);
            h.source = db::toQString(row[4]);
            h.topic = db::toQString(row[5]);
            h.partition = row[6].as<int>();
            h.offset = row[7].as<qint64>();
            h.heldAt = parseUtc(row[8]);
            out.append(h);
        }
        return out;
    });
}

int expireHeldEvents(Connection &connection, qint64 maxAgeSeconds, const QString &source)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const std::optional<std::string> from =
            source.isEmpty() ? std::nullopt : std::optional(db::toStd(source));
        return tx
            .exec_params("SELECT ledger.expire_held_events(make_interval(secs => $1), $2)",
                         maxAgeSeconds, from)[0][0]
            .as<int>();
    });
}

SkipResult skipEntityEvents(Connection &connection, const QString &entity, qint64 next,
                            const QString &reason)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const pqxx::result r = tx.exec_params(
            "SELECT event_id, skipped_from, applied, parked FROM ledger.skip_entity_events($1, "
            "$2, $3)",
            db::toStd(entity), next, db::toStd(reason));
        return SkipResult{r[0][0].as<qint64>(), r[0][1].as<qint64>(), r[0][2].as<int>(),
                          r[0][3].as<int>()};
    });
}

Balance balance(Connection &connection, const QString &accountCode,
                const std::optional<QDateTime> &effective, const std::optional<QDateTime> &knownAt)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"balance", db::toStd(accountCode)}}, [&] {
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
    });
}

} // namespace LedgerRepository

} // namespace ledger
