#pragma once

#include "domain/StatementIssue.h"

#include <QObject>

#include <atomic>
#include <memory>

namespace ledger {

// A batch export running on the console's long-jobs worker (StatementService::startBatch):
// reports its progress and its outcome on the GUI thread, and can be cancelled. Lives on
// the GUI thread; the work itself never touches this object (it reaches it through queued
// calls guarded against its deletion), so deleting a running job only stops the reports,
// not the batch: cancel() first to stop the batch.
class StatementBatchJob : public QObject
{
    Q_OBJECT

public:
    explicit StatementBatchJob(QObject *parent = nullptr);

    // Asks the batch to stop before its next statement; the one being written is finished
    // and issued (or, if it fails, not left). Any thread; harmless after the end.
    void cancel();
    bool isCancelRequested() const;
    bool isFinished() const { return m_finished; }
    const StatementBatchOutcome &outcome() const { return m_outcome; }

    // For StatementService: the flag the worker reads, and the reports it sends.
    std::shared_ptr<const std::atomic<bool>> cancelFlag() const { return m_cancel; }
    void reportStarted(int total);
    void reportWritten(int done, const ledger::StatementRecord &record, const QString &path);
    void reportFinished(const ledger::StatementBatchOutcome &outcome);

Q_SIGNALS:
    // The batch covers `total` accounts (none written yet).
    void started(int total);
    // A statement was written and issued: `done` of `total` so far.
    void progress(int done, int total, const ledger::StatementRecord &record, const QString &path);
    // The batch ended: complete, cancelled or stopped by an error (outcome.error).
    void finished(const ledger::StatementBatchOutcome &outcome);

private:
    std::shared_ptr<std::atomic<bool>> m_cancel = std::make_shared<std::atomic<bool>>(false);
    int m_total = 0;
    bool m_finished = false;
    StatementBatchOutcome m_outcome;
};

} // namespace ledger
