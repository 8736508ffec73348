#include "ReversalRepository.h"

#include "Connection.h"
#include "DbException.h"
#include "Native.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <algorithm>

namespace ledger::ReversalRepository {

namespace {

using db::parseUtc;
using db::toQString;
using db::toStd;
using db::utcColumn;

std::optional<std::string> optionalText(const QString &s)
{
    return s.isEmpty() ? std::nullopt : std::optional(toStd(s));
}

std::optional<std::string> optionalJson(const QByteArray &json)
{
    return json.isEmpty() ? std::nullopt
                          : std::optional(std::string(json.constData(), size_t(json.size())));
}

qint64 idOrZero(const pqxx::field &f)
{
    return f.is_null() ? 0 : f.as<qint64>();
}

QDateTime isoTime(const QJsonValue &value)
{
    return value.isString() ? QDateTime::fromString(value.toString(), Qt::ISODateWithMs).toUTC()
                            : QDateTime();
}

QJsonObject jsonObject(const pqxx::field &f)
{
    if (f.is_null())
        return {};
    return QJsonDocument::fromJson(QByteArray(f.c_str(), int(f.size()))).object();
}

QList<PreviewLeg> previewLegs(const QJsonValue &value)
{
    QList<PreviewLeg> out;
    for (const QJsonValue &v : value.toArray()) {
        const QJsonObject o = v.toObject();
        out.append({o.value(QStringLiteral("account")).toString(),
                    o.value(QStringLiteral("account_name")).toString(),
                    o.value(QStringLiteral("currency")).toString(),
                    o.value(QStringLiteral("amount")).toString()});
    }
    return out;
}

// The preview document of ledger.reversal_preview / reversal_preview_draft.
ReversalPreview previewFrom(const QJsonObject &o)
{
    ReversalPreview p;
    p.document = o;
    p.requestId = o.value(QStringLiteral("request")).toInteger();
    p.transactionId = o.value(QStringLiteral("transaction_id")).toInteger();
    p.reasonCode = o.value(QStringLiteral("reason")).toString();
    p.note = o.value(QStringLiteral("note")).toString();
    p.requestedBy = o.value(QStringLiteral("requested_by")).toString();
    p.requestedAt = isoTime(o.value(QStringLiteral("requested_at")));
    p.expiresAt = isoTime(o.value(QStringLiteral("expires_at")));
    p.state = o.value(QStringLiteral("state")).toString();
    const QJsonObject original = o.value(QStringLiteral("original")).toObject();
    p.effectiveAt = isoTime(original.value(QStringLiteral("effective_at")));
    p.originalDescription = original.value(QStringLiteral("description")).toString();
    p.original = previewLegs(original.value(QStringLiteral("legs")));
    p.reversal =
        previewLegs(o.value(QStringLiteral("reversal")).toObject().value(QStringLiteral("legs")));
    const QJsonObject rebook = o.value(QStringLiteral("rebook")).toObject();
    p.hasRebook = !rebook.isEmpty();
    p.rebookEffectiveAt = isoTime(rebook.value(QStringLiteral("effective_at")));
    p.rebookDescription = rebook.value(QStringLiteral("description")).toString();
    p.rebook = previewLegs(rebook.value(QStringLiteral("legs")));
    p.net = previewLegs(o.value(QStringLiteral("net")));
    for (const QJsonValue &v : o.value(QStringLiteral("balances")).toArray()) {
        const QJsonObject b = v.toObject();
        BalanceImpact impact;
        impact.account = b.value(QStringLiteral("account")).toString();
        impact.accountName = b.value(QStringLiteral("account_name")).toString();
        impact.currency = b.value(QStringLiteral("currency")).toString();
        const auto amount = [&b, &impact](const char *text, const char *minor) {
            return db::money(b.value(QLatin1String(minor)).toInteger(), impact.currency,
                             b.value(QLatin1String(text)).toString());
        };
        impact.before = amount("before", "before_minor");
        impact.afterReversal = amount("after_reversal", "after_reversal_minor");
        impact.after = amount("after", "after_minor");
        impact.noNegative = b.value(QStringLiteral("no_negative")).toBool();
        impact.goesNegative = b.value(QStringLiteral("goes_negative")).toBool();
        p.balances.append(impact);
    }
    for (const QJsonValue &v : o.value(QStringLiteral("warnings")).toArray())
        p.warnings.append(v.toString());
    p.refused = o.value(QStringLiteral("refused")).toBool();
    p.digest = o.value(QStringLiteral("digest")).toString();
    return p;
}

ReversalDecision decide(Connection &connection, qint64 requestId, const char *action,
                        const QString &note, const QString &digest, const QString &clientKey)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const auto r = tx.exec_params(
            "SELECT decision, reversal_transaction_id, rebook_transaction_id, replayed "
            "FROM ledger.decide_reversal_request($1, $2, $3, $4, $5)",
            requestId, std::string(action), optionalText(note), optionalText(digest),
            optionalText(clientKey));
        ReversalDecision d;
        d.requestId = requestId;
        d.decision = toQString(r[0][0]);
        d.reversalTransactionId = idOrZero(r[0][1]);
        d.rebookTransactionId = idOrZero(r[0][2]);
        d.replayed = r[0][3].as<bool>();
        tx.commit();
        return d;
    });
}

// Errors after which no further item of a bulk run can be decided.
bool endsTheRun(const Error &e)
{
    switch (e.kind) {
    case Error::Kind::Connection:
    case Error::Kind::NotSignedIn:
    case Error::Kind::SessionExpired:
    case Error::Kind::SessionRevoked:
    case Error::Kind::SessionEnded:
    case Error::Kind::OperatorDisabled:
        return true;
    default:
        return false;
    }
}

const char *sortName(ReversalInboxQuery::Sort sort)
{
    switch (sort) {
    case ReversalInboxQuery::Sort::Age:
        return "age";
    case ReversalInboxQuery::Sort::Amount:
        return "amount";
    case ReversalInboxQuery::Sort::Requester:
        return "requester";
    case ReversalInboxQuery::Sort::Reason:
        return "reason";
    case ReversalInboxQuery::Sort::Id:
        return "id";
    }
    return "age";
}

std::optional<long long> optionalSeconds(const std::optional<qint64> &s)
{
    return s ? std::optional<long long>(*s) : std::nullopt;
}

// The inbox and its count are one kind of read, of the whole ledger (0033).
const db::ReadKey kInboxRead{"reversal_requests", ""};

// The filter arguments shared by ledger.reversal_inbox and reversal_inbox_count ($1-$9).
constexpr const char *kFilterArgs =
    "string_to_array($1, ','), $2, $3, $4, $5, $6::numeric, $7::numeric, "
    "make_interval(secs => $8), make_interval(secs => $9)";

template <class Tx>
pqxx::result inboxCall(Tx &tx, const std::string &sql, const ReversalInboxQuery &q)
{
    return tx.exec_params(
        sql, q.states.isEmpty() ? std::nullopt : std::optional(toStd(q.states.join(u','))),
        optionalText(q.reasonCode), optionalText(q.requestedBy), q.mineOnly,
        optionalText(q.account), optionalText(q.minAmount), optionalText(q.maxAmount),
        optionalSeconds(q.minAgeSeconds), optionalSeconds(q.maxAgeSeconds));
}

template <class Tx>
pqxx::result inboxPage(Tx &tx, const ReversalInboxQuery &q, int offset, int limit,
                       const std::string &columns)
{
    return tx.exec_params(
        "SELECT " + columns + " FROM ledger.reversal_inbox(" + kFilterArgs +
            ", $10, $11, $12, $13)",
        q.states.isEmpty() ? std::nullopt : std::optional(toStd(q.states.join(u','))),
        optionalText(q.reasonCode), optionalText(q.requestedBy), q.mineOnly,
        optionalText(q.account), optionalText(q.minAmount), optionalText(q.maxAmount),
        optionalSeconds(q.minAgeSeconds), optionalSeconds(q.maxAgeSeconds),
        std::string(sortName(q.sort)), q.descending, offset, limit);
}

} // namespace

QByteArray rebookJson(const RebookDraft &rebook)
{
    QJsonArray legs;
    for (const PreviewLeg &l : rebook.legs)
        legs.append(QJsonObject{{QStringLiteral("account"), l.account},
                                {QStringLiteral("amount"), l.amount},
                                {QStringLiteral("currency"), l.currency}});
    QJsonObject o{
        {QStringLiteral("effective_at"), rebook.effectiveAt.toUTC().toString(Qt::ISODateWithMs)},
        {QStringLiteral("description"), rebook.description},
        {QStringLiteral("legs"), legs}};
    if (!rebook.externalRef.isEmpty())
        o.insert(QStringLiteral("external_ref"), rebook.externalRef);
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

qint64 request(Connection &connection, qint64 transactionId, const QString &reasonCode,
               const QString &note, const QByteArray &rebook, const QString &clientKey)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const auto r = tx.exec_params("SELECT ledger.request_reversal($1, $2, $3, $4::jsonb, $5)",
                                      transactionId, toStd(reasonCode), toStd(note),
                                      optionalJson(rebook), optionalText(clientKey));
        const qint64 id = r[0][0].as<qint64>();
        tx.commit();
        return id;
    });
}

qint64 request(Connection &connection, const ReversalDraft &draft)
{
    return request(connection, draft.transactionId, draft.reasonCode, draft.note,
                   draft.rebook ? rebookJson(*draft.rebook) : QByteArray(), draft.clientKey);
}

ReversalPreview previewDraft(Connection &connection, qint64 transactionId,
                             const QString &reasonCode, const QByteArray &rebook)
{
    return db::guarded([&] {
        // The preview shows the transaction: that read is on record first.
        return db::onRecord(connection, {{"transaction", std::to_string(transactionId)}}, [&] {
            pqxx::work tx(db::native(connection));
            const auto r =
                tx.exec_params("SELECT ledger.reversal_preview_draft($1, $2, $3::jsonb)::text",
                               transactionId, toStd(reasonCode), optionalJson(rebook));
            ReversalPreview p = previewFrom(jsonObject(r[0][0]));
            tx.commit();
            return p;
        });
    });
}

ReversalPreview previewDraft(Connection &connection, const ReversalDraft &draft)
{
    ReversalPreview p = previewDraft(connection, draft.transactionId, draft.reasonCode,
                                     draft.rebook ? rebookJson(*draft.rebook) : QByteArray());
    p.note = draft.note;
    return p;
}

ReversalPreview preview(Connection &connection, qint64 requestId)
{
    return db::guarded([&] {
        return db::onRecord(connection, {{"reversal_request", std::to_string(requestId)}}, [&] {
            pqxx::work tx(db::native(connection));
            const auto r = tx.exec_params("SELECT ledger.reversal_preview($1)::text", requestId);
            ReversalPreview p = previewFrom(jsonObject(r[0][0]));
            tx.commit();
            return p;
        });
    });
}

ReversalDecision approve(Connection &connection, qint64 requestId, const QString &previewDigest,
                         const QString &note, const QString &clientKey)
{
    // An approval without a digest is refused by the server (LG038); send it as it is.
    return decide(connection, requestId, "approve", note,
                  previewDigest.isEmpty() ? QStringLiteral("-") : previewDigest, clientKey);
}

ReversalDecision reject(Connection &connection, qint64 requestId, const QString &note,
                        const QString &clientKey)
{
    return decide(connection, requestId, "reject", note, {}, clientKey);
}

ReversalDecision withdraw(Connection &connection, qint64 requestId, const QString &note,
                          const QString &clientKey)
{
    return decide(connection, requestId, "withdraw", note, {}, clientKey);
}

QList<ReversalDecision> expire(Connection &connection)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        QList<ReversalDecision> out;
        for (const auto &row :
             tx.exec("SELECT request_id FROM ledger.expire_reversals() ORDER BY request_id")) {
            ReversalDecision d;
            d.requestId = row[0].as<qint64>();
            d.decision = QStringLiteral("expired");
            out.append(d);
        }
        tx.commit();
        return out;
    });
}

QList<BulkDecisionOutcome> decideMany(Connection &connection, const QList<qint64> &requestIds,
                                      bool approve, const QString &note, const QString &batchKey,
                                      const std::function<void(int)> &progress)
{
    // Checked before anything is decided: the run's own audit event refuses a batch key or a
    // batch the items' keys could not be recorded under, and a run that has decided items
    // must not end in an error that says nothing was done.
    static const QRegularExpression keyPattern(QStringLiteral("^[A-Za-z0-9._:{}-]{1,80}$"));
    if (!keyPattern.match(batchKey).hasMatch())
        throw DbException(Error::make(
            Error::Kind::Input,
            QStringLiteral("A batch key is 1 to 80 letters, digits and . _ : - { }; nothing was "
                           "decided")));
    if (requestIds.size() > kMaxBulkRequests)
        throw DbException(Error::make(
            Error::Kind::Input,
            QStringLiteral("A bulk decision takes at most %1 requests; nothing was decided")
                .arg(kMaxBulkRequests)));
    QList<BulkDecisionOutcome> out;
    if (requestIds.isEmpty())
        return out;               // nothing tried, nothing to record
    std::optional<Error> stopped; // the session or the connection ended: nothing more can go
    for (const qint64 id : requestIds) {
        BulkDecisionOutcome outcome;
        outcome.requestId = id;
        const QString key = batchKey + QLatin1Char(':') + QString::number(id);
        if (stopped) {
            outcome.error = *stopped;
        } else {
            try {
                if (approve) {
                    const QString digest = db::guarded([&] {
                        pqxx::read_transaction tx(db::native(connection));
                        return toQString(
                            tx.exec_params("SELECT ledger.reversal_digest($1)", id)[0][0]);
                    });
                    outcome.decision =
                        ReversalRepository::approve(connection, id, digest, note, key);
                } else {
                    outcome.decision = reject(connection, id, note, key);
                }
                outcome.decided = true;
            } catch (const DbException &e) {
                outcome.error = e.error();
                if (endsTheRun(e.error()))
                    stopped = e.error();
            }
        }
        out.append(outcome);
        if (progress)
            progress(int(out.size()));
    }
    if (stopped && std::none_of(out.cbegin(), out.cend(),
                                [](const BulkDecisionOutcome &o) { return o.decided; }))
        throw DbException(*stopped);
    if (!stopped) {
        // The run's own event: the server finds which of the requests were decided under
        // this batch's keys.
        db::guarded([&] {
            pqxx::work tx(db::native(connection));
            std::string ids = "{";
            for (const qint64 id : requestIds)
                ids += (ids.size() > 1 ? "," : "") + std::to_string(id);
            ids += '}';
            tx.exec_params("SELECT ledger.record_bulk_decision($1, $2, $3::bigint[])",
                           std::string(approve ? "approve" : "reject"), toStd(batchKey), ids);
            tx.commit();
        });
    }
    // With the run stopped part-way, the decisions made are each audited; the outcome
    // tells the caller which items were not decided and why.
    return out;
}

ReversalInboxPage inbox(Connection &connection, const ReversalInboxQuery &query, int offset,
                        int limit)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kInboxRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            ReversalInboxPage page;
            const auto rows = inboxPage(
                tx, query, offset, limit,
                "id, transaction_id, reason_code, note, rebook::text, attempt, requested_by, " +
                    utcColumn("requested_at") + ", " + utcColumn("expires_at") +
                    ", state, amount, currency, accounts, description, decided_by, " +
                    utcColumn("decided_at") +
                    ", decision_note, reversal_transaction_id, rebook_transaction_id, own");
            for (const auto &row : rows) {
                ReversalRequestRow q;
                q.id = row[0].as<qint64>();
                q.transactionId = row[1].as<qint64>();
                q.reasonCode = toQString(row[2]);
                q.note = toQString(row[3]);
                q.rebookRequest = jsonObject(row[4]);
                q.rebook = !row[4].is_null();
                q.attempt = row[5].as<int>();
                q.requestedBy = toQString(row[6]);
                q.requestedAt = parseUtc(row[7]);
                q.expiresAt = parseUtc(row[8]);
                q.state = toQString(row[9]);
                q.amount = toQString(row[10]);
                q.currency = toQString(row[11]);
                q.accounts = toQString(row[12]);
                q.transactionDescription = toQString(row[13]);
                q.decidedBy = toQString(row[14]);
                q.decidedAt = parseUtc(row[15]);
                q.decisionNote = toQString(row[16]);
                q.reversalTransactionId = idOrZero(row[17]);
                q.rebookTransactionId = idOrZero(row[18]);
                q.ownRequest = row[19].as<bool>();
                page.rows.append(q);
            }
            page.total =
                inboxCall(tx,
                          std::string("SELECT ledger.reversal_inbox_count(") + kFilterArgs + ")",
                          query)[0][0]
                    .as<qint64>();
            return page;
        });
    });
}

QList<qint64> inboxIds(Connection &connection, const ReversalInboxQuery &query, int limit)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kInboxRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            QList<qint64> out;
            for (const auto &row : inboxPage(tx, query, 0, limit, "id"))
                out.append(row[0].as<qint64>());
            return out;
        });
    });
}

QList<ReversalRequestRow> list(Connection &connection, const QString &state, int limit)
{
    ReversalInboxQuery query;
    query.states = state.isEmpty() ? QStringList() : QStringList{state};
    query.sort = ReversalInboxQuery::Sort::Id;
    query.descending = true;
    return inbox(connection, query, 0, limit).rows;
}

QList<ReasonCode> reasonCodes(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        QList<ReasonCode> out;
        for (const auto &row : tx.exec("SELECT code, description, takes_rebook FROM "
                                       "ledger.reason_code_list ORDER BY code"))
            out.append({toQString(row[0]), toQString(row[1]), row[2].as<bool>()});
        return out;
    });
}

qint64 requestLifetimeSeconds(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        return tx.exec("SELECT extract(epoch FROM ledger.reversal_request_ttl())::bigint")[0][0]
            .as<qint64>();
    });
}

} // namespace ledger::ReversalRepository
