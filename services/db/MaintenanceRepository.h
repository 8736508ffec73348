#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>

namespace ledger {

class Connection;

// The scheduled jobs without pg_cron (migration 0053): `ledgerctl maintain`. Synchronous;
// throws DbException. For members of ledger_maintainer (or a superuser).
namespace MaintenanceRepository {

struct Job
{
    QString name; // "seal_audit"
    QString what; // one line
};

// Every job, in the order maintain runs them.
QList<Job> jobs(Connection &connection);

struct JobRun
{
    QString job;
    QString skipped; // non-empty: not run, and why (another maintain runs it; checked lately)
    QJsonObject result;
    double seconds = 0;
};

// Runs one job in a transaction of its own, cancelled by the server after timeoutSeconds.
// checkEverySeconds: the invariant checks run only when the last recorded check is older.
JobRun run(Connection &connection, const QString &job, int checkEverySeconds, int timeoutSeconds);

struct JobStatus
{
    QString job;
    QString what;
    QDateTime startedAt; // invalid: never run
    double seconds = 0;
    QJsonObject result;
    QString ranBy;
    qint64 runs = 0;
};

// Each job's last run.
QList<JobStatus> status(Connection &connection);

} // namespace MaintenanceRepository

} // namespace ledger
