#pragma once

#include "domain/Result.h"
#include "domain/StatementIssue.h"

#include <QFuture>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <optional>

namespace ledger {

class DbWorker;
class StatementBatchJob;

// Statements in the console (Step 8): issuing one as a file (PDF, CSV, camt.053), finding
// the issue record of a file, and the statements late entries have restated. The
// asynchronous face of StatementRepository and StatementExport for widgets, which see only
// this class and domain types.
//
// Constructed with the worker for long jobs (its own connection), so that writing a long
// statement never holds up interactive pages or the session's renewal. Every method may be
// called on the GUI thread and never blocks: it queues one job on the worker and returns
// its future (continue with whenReady()). The file is written and hashed on the worker's
// thread; a PDF needs the application's QGuiApplication alive (fonts). When the worker is
// gone the future is already finished and holds an error.
class StatementService : public QObject
{
    Q_OBJECT

public:
    explicit StatementService(DbWorker *worker, QObject *parent = nullptr);

    // Issues the statement: written to "<outPath>.part", renamed to outPath when the issue
    // is recorded (with its audit event). Input errors (format, period, path) come back in
    // the future without reaching the worker; a file that cannot be written, a known-at time
    // in the future or a role that may not issue statements come back as the worker's error,
    // and then nothing is left at outPath.
    QFuture<Result<StatementRecord>> issue(const StatementExportRequest &request);

    // The issue record of exactly this file (its SHA-256, computed on the worker), or
    // nullopt when the ledger issued no file with this content. Audited. Io when the file
    // cannot be read.
    QFuture<Result<std::optional<StatementRecord>>> verifyFile(const QString &path);

    // Issued statements whose period has changed since (late entries).
    QFuture<Result<QList<Restatement>>> restated();

    // A page of issued statements, newest first, each with its restatement as of now (the
    // Statements tab). Audited (statement.listed).
    QFuture<Result<QList<IssuedStatement>>> issuedStatements(const IssuedStatementQuery &query);

    // Starts a batch export (StatementBatch) on the long-jobs worker and returns its job,
    // owned by `parent` (GUI thread). An input error (format, period, zone, folder) or a
    // worker that is gone finishes the job at once with outcome.error; its signals are
    // queued, so connecting right after this call misses none.
    StatementBatchJob *startBatch(const StatementBatchRequest &request, QObject *parent);

Q_SIGNALS:
    // A statement was issued (GUI thread).
    void issued(const ledger::StatementRecord &record);

private:
    QPointer<DbWorker> m_worker;
};

} // namespace ledger
