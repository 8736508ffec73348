#include "TimelineRepository.h"

#include "Native.h"

#include <QHash>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace ledger::TimelineRepository {

namespace {

// Timestamps leave the server in one unambiguous shape (UTC, microseconds; Qt keeps ms).
constexpr const char *kUtcFormat = "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'";

std::string utc(const char *column)
{
    return std::string("to_char(") + column + " AT TIME ZONE 'UTC', " + kUtcFormat + ")";
}

QDateTime parseUtc(const QString &text)
{
    if (text.isEmpty())
        return {};
    QDateTime t = QDateTime::fromString(text, Qt::ISODateWithMs);
    t.setTimeSpec(Qt::UTC);
    return t;
}

QDateTime parseUtc(const pqxx::field &f)
{
    return f.is_null() ? QDateTime() : parseUtc(db::toQString(f));
}

std::optional<std::string> isoUtc(const std::optional<QDateTime> &t)
{
    if (!t || !t->isValid())
        return std::nullopt;
    return db::toStd(t->toUTC().toString(Qt::ISODateWithMs));
}

qint64 asInt64(const pqxx::field &f)
{
    return f.is_null() ? 0 : f.as<qint64>();
}

// The account's currency, for statements whose first parameter ($1) is the account id: rows
// of ledger.timeline_row carry amounts without it. Stable with constant arguments, so the
// server looks it up once per statement.
constexpr const char *kCurrencyOfAccount = "ledger.account_currency($1)";

std::string rowColumns()
{
    return "position, entry_id, transaction_id, account_seq, " + utc("effective_at") + ", " +
           utc("recorded_at") +
           ", description, external_ref, amount, amount_minor, balance, balance_minor, kind, "
           "reverses, reversed_by, backdated, future_dated, " +
           kCurrencyOfAccount;
}

TimelineEntry entryFrom(const pqxx::row &r)
{
    TimelineEntry e;
    e.position = r[0].is_null() ? -1 : r[0].as<qint64>();
    e.entryId = r[1].as<qint64>();
    e.transactionId = r[2].as<qint64>();
    e.accountSeq = r[3].as<qint64>();
    e.effectiveAt = parseUtc(r[4]);
    e.recordedAt = parseUtc(r[5]);
    e.description = db::toQString(r[6]);
    e.externalRef = db::toQString(r[7]);
    const QString currency = db::toQString(r[17]);
    e.amount = db::money(r[9].as<qint64>(), currency, db::toQString(r[8]));
    // No running balance (NULL) stays no balance: shown empty, never as a zero.
    if (!r[11].is_null())
        e.balance = db::money(r[11].as<qint64>(), currency, db::toQString(r[10]));
    e.amountMinor = e.amount.minor();
    e.balanceMinor = e.balance.minor();
    e.kind = db::toQString(r[12]);
    e.reverses = asInt64(r[13]);
    e.reversedBy = asInt64(r[14]);
    e.backdated = r[15].as<bool>();
    e.futureDated = r[16].as<bool>();
    return e;
}

// The entries of a page, with the pending reversal request of each transaction (one more
// statement, on the caller's transaction, for the page's transactions only).
QList<TimelineEntry> entriesFrom(pqxx::transaction_base &tx, const pqxx::result &rows)
{
    QList<TimelineEntry> out;
    out.reserve(int(rows.size()));
    std::string ids = "{";
    for (const auto &row : rows) {
        out.append(entryFrom(row));
        if (ids.size() > 1)
            ids += ',';
        ids += std::to_string(out.last().transactionId);
    }
    ids += '}';
    if (out.isEmpty())
        return out;
    QHash<qint64, qint64> pending;
    for (const auto &row : tx.exec_params("SELECT transaction_id, request_id FROM "
                                          "ledger.pending_reversal_requests($1::bigint[])",
                                          ids))
        pending.insert(row[0].as<qint64>(), row[1].as<qint64>());
    for (TimelineEntry &e : out)
        e.pendingRequestId = pending.value(e.transactionId);
    return out;
}

// An account as the subject of a read on record.
std::string accountSubject(qint64 accountId)
{
    return '#' + std::to_string(accountId);
}

std::optional<std::string> optionalText(const QString &s)
{
    const QString t = s.trimmed();
    if (t.isEmpty())
        return std::nullopt;
    return db::toStd(t);
}

} // namespace

AccountHistory openHistory(Connection &connection, const QString &accountCode)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"timeline", db::toStd(accountCode)}}, [&] {
            // Read-write: the function writes an account.history_opened event (the read's own
            // record, read.timeline, is committed before).
            pqxx::work tx(db::native(connection));
            const auto r = tx.exec_params(
                "SELECT account_id, code, name, currency, exponent, kind, normal_side, "
                "allow_negative, entry_count, balance, " +
                    utc("first_effective_at") + ", " + utc("last_effective_at") + ", " +
                    utc("first_recorded_at") + ", " + utc("last_recorded_at") +
                    " FROM ledger.open_account_history($1)",
                db::toStd(accountCode));
            tx.commit();
            AccountHistory h;
            h.accountId = r[0][0].as<qint64>();
            h.code = db::toQString(r[0][1]);
            h.name = db::toQString(r[0][2]);
            h.currency = db::toQString(r[0][3]);
            h.exponent = r[0][4].as<int>();
            h.kind = db::toQString(r[0][5]);
            h.normalSide = db::toQString(r[0][6]);
            h.allowNegative = r[0][7].as<bool>();
            h.entryCount = r[0][8].as<qint64>();
            QString why;
            const std::optional<Money> balance =
                Money::parse(db::toQString(r[0][9]), h.currency, h.exponent, &why);
            if (!balance)
                throw DbException(Error::make(
                    Error::Kind::Internal,
                    QStringLiteral("The ledger sent a balance the console cannot read: %1.")
                        .arg(why)));
            h.balance = *balance;
            h.firstEffectiveAt = parseUtc(r[0][10]);
            h.lastEffectiveAt = parseUtc(r[0][11]);
            h.firstRecordedAt = parseUtc(r[0][12]);
            h.lastRecordedAt = parseUtc(r[0][13]);
            return h;
        });
    });
}

TimelineWindow window(Connection &connection, qint64 accountId, TimelineOrder order,
                      const std::optional<QDateTime> &from, const std::optional<QDateTime> &to)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"timeline", accountSubject(accountId)}}, [&] {
            pqxx::nontransaction tx(db::native(connection)); // one statement: no BEGIN/COMMIT
            const auto r = tx.exec_params(
                "SELECT first_position, row_count FROM ledger.timeline_window($1, $2, "
                "$3::timestamptz, $4::timestamptz)",
                accountId, db::toStd(toString(order)), isoUtc(from), isoUtc(to));
            return TimelineWindow{r[0][0].as<qint64>(), r[0][1].as<qint64>()};
        });
    });
}

QList<TimelineEntry> page(Connection &connection, qint64 accountId, TimelineOrder order,
                          qint64 position, int limit, qint64 afterSeq)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"timeline", accountSubject(accountId)}}, [&] {
            pqxx::nontransaction tx(db::native(connection));
            // 0 (no entry to continue after) goes as NULL. A plain integer, not an optional:
            // GCC 12 warns (maybe-uninitialized) about optionals in libpqxx's parameters.
            const qint64 after = qMax<qint64>(0, afterSeq);
            return entriesFrom(tx, tx.exec_params("SELECT " + rowColumns() +
                                                      " FROM ledger.timeline_page($1, $2, $3, $4, "
                                                      "nullif($5::bigint, 0))",
                                                  accountId, db::toStd(toString(order)), position,
                                                  limit, after));
        });
    });
}

QList<TimelineEntry> search(Connection &connection, qint64 accountId, TimelineOrder order,
                            qint64 afterSeq, int limit, const TimelineFilter &filter)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"timeline_search", accountSubject(accountId)}}, [&] {
            pqxx::nontransaction tx(db::native(connection));
            const qint64 after = qMax<qint64>(0, afterSeq); // 0 goes as NULL, as in page()
            return entriesFrom(
                tx,
                tx.exec_params("SELECT " + rowColumns() +
                                   " FROM ledger.timeline_search($1, $2, nullif($3::bigint, 0), "
                                   "$4, $5::timestamptz, "
                                   "$6::timestamptz, $7, $8, $9)",
                               accountId, db::toStd(toString(order)), after, limit,
                               isoUtc(filter.from), isoUtc(filter.to),
                               optionalText(filter.minAmount), optionalText(filter.maxAmount),
                               filter.text.isEmpty() ? std::nullopt
                                                     : std::optional(db::toStd(filter.text))));
        });
    });
}

PointInTime pointInTime(Connection &connection, qint64 accountId,
                        const std::optional<QDateTime> &effective,
                        const std::optional<QDateTime> &knownAt, int entryLimit)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"point_in_time", accountSubject(accountId)}}, [&] {
            // One snapshot for the figures and the entries that explain them.
            pqxx::read_transaction tx(db::native(connection));
            const auto r = tx.exec_params(
                "SELECT " + utc("effective_at") + ", " + utc("known_at") +
                    ", balance, balance_minor, shown_then, shown_then_minor, difference, "
                    "difference_minor, explaining_entries, effective_at::text, known_at::text, " +
                    kCurrencyOfAccount +
                    " FROM ledger.point_in_time($1, $2::timestamptz, $3::timestamptz)",
                accountId, isoUtc(effective), isoUtc(knownAt));
            PointInTime p;
            p.effectiveAt = parseUtc(r[0][0]);
            p.knownAt = parseUtc(r[0][1]);
            const QString currency = db::toQString(r[0][11]);
            p.asKnown = db::money(r[0][3].as<qint64>(), currency, db::toQString(r[0][2]));
            p.shownThen = db::money(r[0][5].as<qint64>(), currency, db::toQString(r[0][4]));
            p.difference = db::money(r[0][7].as<qint64>(), currency, db::toQString(r[0][6]));
            p.balance = p.asKnown.toString();
            p.balanceMinor = p.asKnown.minor();
            p.shownThenMinor = p.shownThen.minor();
            p.differenceMinor = p.difference.minor();
            p.explainingCount = r[0][8].as<qint64>();
            // The horizon after the answer, compared at the server's full precision.
            const auto h = tx.exec_params(
                "SELECT " + utc("h") + ", $1::timestamptz < h FROM ledger.known_at_horizon() h",
                std::string(r[0][10].c_str()));
            p.horizon = parseUtc(h[0][0]);
            p.final = h[0][1].as<bool>();
            // The server's own times (full precision) bound the entries, so that "now" means
            // the same instant for the figures and the list.
            p.explaining =
                entriesFrom(tx, tx.exec_params("SELECT " + rowColumns() +
                                                   " FROM ledger.point_in_time_entries($1, "
                                                   "$2::timestamptz, $3::timestamptz, $4)",
                                               accountId, std::string(r[0][9].c_str()),
                                               std::string(r[0][10].c_str()), entryLimit));
            return p;
        });
    });
}

TransactionDetail transactionDetail(Connection &connection, qint64 transactionId)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"transaction", std::to_string(transactionId)}}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            const auto r = tx.exec_params("SELECT ledger.transaction_detail($1)::text, "
                                          "has_table_privilege('audit.event_log', 'SELECT')",
                                          transactionId);
            const QJsonObject o =
                QJsonDocument::fromJson(QByteArray(r[0][0].c_str(), int(r[0][0].size()))).object();
            TransactionDetail d;
            d.id = o.value(QLatin1String("id")).toInteger();
            d.kind = o.value(QLatin1String("kind")).toString();
            d.effectiveAt = parseUtc(o.value(QLatin1String("effective_at")).toString());
            d.recordedAt = parseUtc(o.value(QLatin1String("recorded_at")).toString());
            d.description = o.value(QLatin1String("description")).toString();
            d.externalRef = o.value(QLatin1String("external_ref")).toString();
            d.idempotencyKey = o.value(QLatin1String("idempotency_key")).toString();
            d.reverses = o.value(QLatin1String("reverses")).toInteger();
            d.reversedBy = o.value(QLatin1String("reversed_by")).toInteger();
            d.createdBy = o.value(QLatin1String("created_by")).toString();
            const QJsonArray legs = o.value(QLatin1String("legs")).toArray();
            for (const QJsonValue &v : legs) {
                const QJsonObject l = v.toObject();
                d.legs.append({l.value(QLatin1String("account")).toString(),
                               l.value(QLatin1String("account_name")).toString(),
                               l.value(QLatin1String("currency")).toString(),
                               l.value(QLatin1String("amount")).toString(),
                               l.value(QLatin1String("side")).toString(),
                               l.value(QLatin1String("account_seq")).toInteger()});
            }
            QStringList requestIds;
            const QJsonArray requests = o.value(QLatin1String("requests")).toArray();
            for (const QJsonValue &v : requests) {
                const QJsonObject q = v.toObject();
                ReversalRequestInfo info;
                info.id = q.value(QLatin1String("id")).toInteger();
                info.reason = q.value(QLatin1String("reason")).toString();
                info.note = q.value(QLatin1String("note")).toString();
                info.rebook = q.value(QLatin1String("rebook")).toBool();
                info.requestedBy = q.value(QLatin1String("requested_by")).toString();
                info.requestedAt = parseUtc(q.value(QLatin1String("requested_at")).toString());
                info.state = q.value(QLatin1String("state")).toString();
                info.decidedBy = q.value(QLatin1String("decided_by")).toString();
                info.decidedAt = parseUtc(q.value(QLatin1String("decided_at")).toString());
                info.decisionNote = q.value(QLatin1String("decision_note")).toString();
                info.reversalTransactionId =
                    q.value(QLatin1String("reversal_transaction_id")).toInteger();
                info.rebookTransactionId =
                    q.value(QLatin1String("rebook_transaction_id")).toInteger();
                info.expiresAt = parseUtc(q.value(QLatin1String("expires_at")).toString());
                const QJsonObject rebook = q.value(QLatin1String("rebook_request")).toObject();
                info.rebookEffectiveAt =
                    parseUtc(rebook.value(QLatin1String("effective_at")).toString());
                for (const QJsonValue &leg : rebook.value(QLatin1String("legs")).toArray()) {
                    const QJsonObject l = leg.toObject();
                    TransactionLeg t;
                    t.account = l.value(QLatin1String("account")).toString();
                    t.amount = l.value(QLatin1String("amount")).toString();
                    t.currency = l.value(QLatin1String("currency")).toString();
                    t.side = t.amount.startsWith(QLatin1Char('-')) ? QStringLiteral("credit")
                                                                   : QStringLiteral("debit");
                    info.rebookLegs.append(t);
                }
                d.requests.append(info);
                requestIds << QString::number(info.id);
            }
            d.auditVisible = r[0][1].as<bool>();
            if (d.auditVisible) {
                // The transaction's own events and those of its reversal requests.
                const auto events = tx.exec_params(
                    "SELECT id, " + utc("occurred_at") +
                        ", operator, action, object_type, object_id, details::text "
                        "FROM audit.event_log "
                        "WHERE (object_type = 'transaction' AND object_id = $1) "
                        "   OR (object_type = 'reversal_request' AND object_id = ANY ($2::text[])) "
                        "ORDER BY id",
                    db::toStd(QString::number(transactionId)),
                    db::toStd(QLatin1Char('{') + requestIds.join(QLatin1Char(',')) +
                              QLatin1Char('}')));
                for (const auto &e : events)
                    d.auditEvents.append({e[0].as<qint64>(), parseUtc(e[1]), db::toQString(e[2]),
                                          db::toQString(e[3]), db::toQString(e[4]),
                                          db::toQString(e[5]), db::toQString(e[6])});
            }
            return d;
        });
    });
}

BalanceSeries balanceSeries(Connection &connection, qint64 accountId, const QDateTime &from,
                            const QDateTime &to, int samples, int markerLimit)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"balance_series", accountSubject(accountId)}}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            // Milliseconds since the epoch: what the chart's axis uses.
            const auto points = tx.exec_params(
                "SELECT (extract(epoch FROM at) * 1000)::bigint, balance_minor, exact "
                "FROM ledger.balance_series($1, $2::timestamptz, $3::timestamptz, $4)",
                accountId, isoUtc(from), isoUtc(to), samples);
            BalanceSeries s;
            s.exact = true;
            s.points.reserve(int(points.size()));
            for (const auto &p : points) {
                s.points.append({p[0].as<qint64>(), p[1].as<qint64>()});
                s.exact = s.exact && p[2].as<bool>();
            }
            const auto markers = tx.exec_params(
                "SELECT (extract(epoch FROM at) * 1000)::bigint, marker, "
                "transaction_id, account_seq, balance_minor "
                "FROM ledger.balance_markers($1, $2::timestamptz, $3::timestamptz, $4)",
                accountId, isoUtc(from), isoUtc(to), markerLimit);
            for (const auto &m : markers)
                s.markers.append({m[0].as<qint64>(), db::toQString(m[1]), m[2].as<qint64>(),
                                  m[3].as<qint64>(), m[4].as<qint64>()});
            return s;
        });
    });
}

} // namespace ledger::TimelineRepository
