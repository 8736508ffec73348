#include "MaintenanceRepository.h"

#include "Native.h"

#include <QJsonDocument>

namespace ledger::MaintenanceRepository {

namespace {

QJsonObject objectOf(const pqxx::field &f)
{
    return f.is_null()
               ? QJsonObject()
               : QJsonDocument::fromJson(QByteArray::fromStdString(f.as<std::string>())).object();
}

} // namespace

QList<Job> jobs(Connection &connection)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        QList<Job> out;
        for (const auto &row : tx.exec("SELECT job, what FROM ledger.maintenance_jobs()"))
            out.append({db::toQString(row[0]), db::toQString(row[1])});
        return out;
    });
}

JobRun run(Connection &connection, const QString &job, int checkEverySeconds, int timeoutSeconds)
{
    return db::guarded([&] {
        // The job's own transaction (READ COMMITTED), its timeout local to it: nothing stays
        // set on the connection whatever happens, and a timeout the site set is not touched.
        pqxx::work tx(db::native(connection));
        tx.exec_params("SELECT set_config('statement_timeout', $1, true)",
                       std::to_string(qint64(timeoutSeconds) * 1000));
        const pqxx::row row = tx.exec_params1(
            "SELECT ledger.run_maintenance_job($1, make_interval(secs => $2))::text",
            db::toStd(job), checkEverySeconds);
        const QJsonObject o =
            QJsonDocument::fromJson(QByteArray::fromStdString(row[0].as<std::string>())).object();
        JobRun r;
        r.job = o.value(QStringLiteral("job")).toString();
        r.skipped = o.value(QStringLiteral("skipped")).toString();
        r.result = o.value(QStringLiteral("result")).toObject();
        r.seconds = o.value(QStringLiteral("seconds")).toDouble();
        tx.commit();
        return r;
    });
}

QList<JobStatus> status(Connection &connection)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        QList<JobStatus> out;
        for (const auto &row : tx.exec("SELECT job, what, " + db::utcColumn("started_at") +
                                       ", seconds::float8, result::text, ran_by, runs FROM "
                                       "ledger.maintenance_status()")) {
            JobStatus s;
            s.job = db::toQString(row[0]);
            s.what = db::toQString(row[1]);
            s.startedAt = db::parseUtc(row[2]);
            s.seconds = row[3].is_null() ? 0.0 : row[3].as<double>();
            s.result = objectOf(row[4]);
            s.ranBy = db::toQString(row[5]);
            s.runs = row[6].as<qint64>();
            out.append(s);
        }
        return out;
    });
}

} // namespace ledger::MaintenanceRepository
