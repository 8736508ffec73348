#include "StatementBatchJob.h"

namespace ledger {

StatementBatchJob::StatementBatchJob(QObject *parent)
    : QObject(parent)
{}

void StatementBatchJob::cancel()
{
    m_cancel->store(true);
}

bool StatementBatchJob::isCancelRequested() const
{
    return m_cancel->load();
}

void StatementBatchJob::reportStarted(int total)
{
    m_total = total;
    Q_EMIT started(total);
}

void StatementBatchJob::reportWritten(int done, const StatementRecord &record, const QString &path)
{
    Q_EMIT progress(done, m_total, record, path);
}

void StatementBatchJob::reportFinished(const StatementBatchOutcome &outcome)
{
    m_outcome = outcome;
    m_finished = true;
    Q_EMIT finished(outcome);
}

} // namespace ledger
