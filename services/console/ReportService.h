#pragma once

#include "domain/Report.h"
#include "domain/Result.h"

#include <QFuture>
#include <QObject>
#include <QPointer>
#include <QString>

#include <memory>

namespace ledger {

class DbWorker;

// One report run from the console (ReportService::start): recorded on the ledger's audit
// chain, then read where reports are read. stage() says which of the two it is at; cancel()
// stops waiting (the run stays on record; the rows, when they come, are dropped and
// finished() reports Error::Kind::Cancelled at once). Deleting the job stops the reports.
class ReportJob : public QObject
{
    Q_OBJECT

public:
    explicit ReportJob(QObject *parent = nullptr);

    void cancel();
    bool isFinished() const { return m_finished; }
    const Result<ReportResult> &result() const { return m_result; }
    // Non-empty when the reporting store was passed over and the report not run: why (too
    // far behind, unreachable). Run again with useLedger to read the ledger instead.
    QString storeRefusal() const { return m_storeRefusal; }

    void reportStage(const QString &what);
    void reportFinished(const ledger::Result<ledger::ReportResult> &result,
                        const QString &storeRefusal = {});

Q_SIGNALS:
    void stage(const QString &what);
    void finished(const ledger::Result<ledger::ReportResult> &result);

private:
    bool m_finished = false;
    QString m_storeRefusal;
    Result<ReportResult> m_result{Error::make(Error::Kind::Internal, QString())};
};

// Reports in the console (Step 11), for widgets, which see only this class and domain types.
// Every run goes on the ledger's audit chain first (over `ledger`, the interactive worker),
// then is read over `reads`: a reporting store's session when the console has one, else the
// ledger's long-jobs worker (the ledger then serves reports, as in the embedded default).
// Every method may be called on the GUI thread and never blocks.
class ReportService : public QObject
{
    Q_OBJECT

public:
    // storeIsSeparate: `reads` is a reporting store's session (its lag is checked before each
    // run), not the ledger's own worker.
    ReportService(DbWorker *ledger, DbWorker *reads, bool storeIsSeparate = false,
                  QObject *parent = nullptr);
    bool storeIsSeparate() const { return m_storeIsSeparate; }

    // A store that last heard from the ledger longer ago is refused (default 300 s).
    void setMaxLagSeconds(int seconds) { m_maxLagSeconds = seconds; }
    int maxLagSeconds() const { return m_maxLagSeconds; }

    // Runs the report. useLedger: when the store is refused, read the ledger instead (the
    // choice and its reason are recorded with the run).
    ReportJob *start(const ReportRequest &request, bool useLedger, QObject *parent);

    // The latest exports, each with the entries recorded since that change it (restated).
    QFuture<Result<QList<ReportExport>>> exports(int limit = 100);

    // Where reports are read and how far it has replicated (the status bar's indicator).
    QFuture<Result<ReportSourceState>> sourceState();

    // Writes the report to path as "csv" or "pdf" (off the GUI thread): staged beside it,
    // recorded on the ledger (ledger.report_exports and an audit event, with the file's
    // SHA-256), then renamed into place: no partial file, no file that is not on record, and
    // no record of a file that could not be written. PDF pages carry
    // the source, the audit event and who exported it.
    QFuture<Result<QString>> exportReport(const ReportResult &result, const QString &format,
                                          const QString &path, const QString &exportedBy);

    // "trial_balance" and so on: the name the audit record gives the report.
    static QString reportName(ReportKind kind);

    // Empty when a source in this state may serve reports now; else why not (a store that
    // has not heard from the ledger, or not for more than maxLagSeconds).
    static QString storeVerdict(const ReportSourceState &state, const QDateTime &now,
                                int maxLagSeconds);

private:
    void run(ReportJob *job, const ReportRequest &request, const QPointer<DbWorker> &reads,
             const QString &storeRefused);

    QPointer<DbWorker> m_ledger;
    QPointer<DbWorker> m_reads;
    bool m_storeIsSeparate = false;
    int m_maxLagSeconds = 300;
};

} // namespace ledger
