#pragma once

#include "domain/Recon.h"
#include "domain/Result.h"

#include <QFuture>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <atomic>
#include <memory>

namespace ledger {

class DbWorker;

// An import running on the console's long-jobs worker (ReconService::startImport): reads,
// hashes and parses the file there, then imports it in one database transaction. Reports
// progress and its outcome on the GUI thread; cancel() rolls the import back (nothing of the
// file is kept). Deleting the job stops the reports only.
class ReconImportJob : public QObject
{
    Q_OBJECT

public:
    explicit ReconImportJob(QObject *parent = nullptr);

    void cancel(); // any thread
    bool isFinished() const { return m_finished; }
    const Result<ReconImportSummary> &result() const { return m_result; }

    std::shared_ptr<const std::atomic<bool>> cancelFlag() const { return m_cancel; }
    void reportProgress(qint64 done, qint64 total);
    void reportFinished(const ledger::Result<ledger::ReconImportSummary> &result);

Q_SIGNALS:
    void progress(qint64 done, qint64 total); // lines sent to the database
    void finished(const ledger::Result<ledger::ReconImportSummary> &result);

private:
    std::shared_ptr<std::atomic<bool>> m_cancel = std::make_shared<std::atomic<bool>>(false);
    bool m_finished = false;
    Result<ReconImportSummary> m_result{Error::make(Error::Kind::Internal, QString())};
};

// Reconciliation in the console (Step 9): the asynchronous face of ReconRepository and the
// bank file parsers for widgets, which see only this class and domain types. Interactive
// calls run on the interactive worker; imports and matching runs on the long-jobs worker.
// Every method may be called on the GUI thread and never blocks.
class ReconService : public QObject
{
    Q_OBJECT

public:
    ReconService(DbWorker *interactive, DbWorker *longJobs, QObject *parent = nullptr);

    // Imports a bank file: format "auto" (camt, MT940) or "csv" with a profile's name.
    // mapToAccount maps the file's unmapped bank accounts first.
    ReconImportJob *startImport(const QString &path, const QString &format,
                                const QString &csvProfile, const QString &mapToAccount,
                                QObject *parent);
    QFuture<Result<ReconMatchSummary>> match(const QString &accountCode, bool dryRun);
    QFuture<Result<qint64>> mapAccount(const QString &identifier, const QString &currency,
                                       const QString &accountCode);

    QFuture<Result<QList<ReconException>>> exceptions(const ReconExceptionQuery &query);
    QFuture<Result<qint64>> exceptionCount(const ReconExceptionQuery &query);
    QFuture<Result<QList<ReconAgingBucket>>> aging(const QString &accountCode = {});
    QFuture<Result<QList<ReconAccountStatus>>> status(const QString &accountCode = {});
    QFuture<Result<QList<ReconCandidate>>> lineCandidates(qint64 lineId);
    QFuture<Result<QList<ReconCandidate>>> entryCandidates(qint64 entryId);
    QFuture<Result<QList<ReconProposal>>> proposals(const QString &accountCode, qint64 offset,
                                                    int limit);
    QFuture<Result<QStringList>> acceptReasons();
    QFuture<Result<QStringList>> csvProfileNames();

    QFuture<Result<void>> decideMatch(qint64 groupId, const QString &decision, const QString &note);
    QFuture<Result<qint64>> manualMatch(const QList<qint64> &lineIds, const QList<qint64> &entryIds,
                                        const QString &note);
    QFuture<Result<qint64>> assign(qint64 exceptionId, const QString &assignee,
                                   qint64 expectedEvent);
    QFuture<Result<qint64>> accept(qint64 exceptionId, const QString &reasonCode,
                                   const QString &note, qint64 expectedEvent);
    QFuture<Result<qint64>> reopen(qint64 exceptionId, const QString &note, qint64 expectedEvent);
    QFuture<Result<qint64>> resolveByCorrection(qint64 exceptionId, qint64 reversalRequestId,
                                                const QString &note, qint64 expectedEvent);
    QFuture<Result<QList<ReconBulkResult>>> bulk(const QList<qint64> &ids, const QString &action,
                                                 const QString &assignee, const QString &reasonCode,
                                                 const QString &note);

Q_SIGNALS:
    // Something changed the queue (an import, a run, a decision): views reload (GUI thread).
    void changed();

private:
    template <class T> QFuture<Result<T>> announce(QFuture<Result<T>> future);

    QPointer<DbWorker> m_interactive;
    QPointer<DbWorker> m_longJobs;
};

} // namespace ledger
