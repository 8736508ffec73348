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

Q_SIGNALS:
    // A statement was issued (GUI thread).
    void issued(const ledger::StatementRecord &record);

private:
    QPointer<DbWorker> m_worker;
};

} // namespace ledger
