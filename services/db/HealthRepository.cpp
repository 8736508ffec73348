#include "HealthRepository.h"

#include "Native.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

namespace ledger::HealthRepository {

namespace {

constexpr const char *kResultColumns =
    "invariant, title, ok, checked, failures, first_failure, seconds::float8";

InvariantResult resultFrom(const pqxx::row &row)
{
    InvariantResult r;
    r.invariant = db::toQString(row[0]);
    r.title = db::toQString(row[1]);
    r.ok = row[2].as<bool>();
    r.checked = row[3].as<qint64>();
    r.failures = row[4].as<qint64>();
    r.firstFailure = db::toQString(row[5]);
    r.seconds = row[6].is_null() ? 0.0 : row[6].as<double>();
    return r;
}

QByteArray storeJson(const QList<InvariantResult> &store)
{
    QJsonArray out;
    for (const InvariantResult &r : store)
        out.append(r.toJson());
    return QJsonDocument(out).toJson(QJsonDocument::Compact);
}

} // namespace

QList<InvariantResult> checkInvariants(Connection &ledger, const QList<InvariantResult> &store)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(ledger)); // one statement: its own transaction
        const std::optional<std::string> storeArg =
            store.isEmpty() ? std::nullopt : std::optional(storeJson(store).toStdString());
        const pqxx::result rows = tx.exec_params(
            std::string("SELECT ") + kResultColumns +
                ", invariant LIKE 'store\\_%' FROM ledger.check_invariants($1::jsonb)",
            storeArg);
        QList<InvariantResult> out;
        for (const auto &row : rows) {
            InvariantResult r = resultFrom(row);
            r.reported = row[7].as<bool>();
            out.append(r);
        }
        return out;
    });
}

QList<InvariantResult> checkStore(Connection &store, int maxLagSeconds)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(store));
        const pqxx::result rows = tx.exec_params(std::string("SELECT ") + kResultColumns +
                                                     " FROM reporting.check_store($1)",
                                                 maxLagSeconds);
        QList<InvariantResult> out;
        for (const auto &row : rows)
            out.append(resultFrom(row));
        return out;
    });
}

QList<InvariantCheckRun> invariantChecks(Connection &ledger, int limit)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(ledger));
        const pqxx::result rows = tx.exec_params(
            "SELECT id, " + db::utcColumn("checked_at") +
                ", checked_by, ok, array_to_json(failed)::text, seconds::float8, event_id, "
                "results::text FROM ledger.invariant_check_list($1)",
            limit);
        QList<InvariantCheckRun> out;
        for (const auto &row : rows) {
            InvariantCheckRun run;
            run.id = row[0].as<qint64>();
            run.checkedAt = db::parseUtc(row[1]);
            run.checkedBy = db::toQString(row[2]);
            run.ok = row[3].as<bool>();
            for (const QJsonValue &v :
                 QJsonDocument::fromJson(QByteArray::fromStdString(row[4].as<std::string>()))
                     .array())
                run.failed << v.toString();
            run.seconds = row[5].as<double>();
            run.eventId = row[6].as<qint64>();
            for (const QJsonValue &v :
                 QJsonDocument::fromJson(QByteArray::fromStdString(row[7].as<std::string>()))
                     .array())
                run.results.append(InvariantResult::fromJson(v.toObject()));
            out.append(run);
        }
        return out;
    });
}

HealthSnapshot snapshot(Connection &ledger, int expiringWithinSeconds)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(ledger));
        // (The JSON's times carry the session zone's offset, which fromJson reads.)
        const pqxx::row row =
            tx.exec_params1("SELECT ledger.health_snapshot(make_interval(secs => $1))::text",
                            expiringWithinSeconds);
        HealthSnapshot s = HealthSnapshot::fromJson(
            QJsonDocument::fromJson(QByteArray::fromStdString(row[0].as<std::string>())).object());
        if (!s.at.isValid()) // never an empty snapshot that looks healthy
            throw DbException(Error::make(Error::Kind::Internal,
                                          QStringLiteral("The health snapshot could not be read "
                                                         "(no time in it).")));
        return s;
    });
}

void noteSourceEnds(Connection &ledger, const QString &source, const QString &topic,
                    const QHash<int, qint64> &ends)
{
    db::guarded([&] {
        // Array literals of numbers only.
        QStringList partitions;
        QStringList offsets;
        for (auto it = ends.constBegin(); it != ends.constEnd(); ++it) {
            partitions << QString::number(it.key());
            offsets << QString::number(it.value());
        }
        pqxx::nontransaction tx(db::native(ledger));
        tx.exec_params(
            "SELECT ledger.note_source_ends($1, $2, $3::integer[], $4::bigint[])",
            db::toStd(source), db::toStd(topic),
            db::toStd(QLatin1Char('{') + partitions.join(QLatin1Char(',')) + QLatin1Char('}')),
            db::toStd(QLatin1Char('{') + offsets.join(QLatin1Char(',')) + QLatin1Char('}')));
    });
}

} // namespace ledger::HealthRepository
