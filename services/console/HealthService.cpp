#include "HealthService.h"

#include "WorkerCall.h"
#include "db/HealthRepository.h"
#include "db/LedgerRepository.h"

namespace ledger {

HealthService::HealthService(DbWorker *worker, DbWorker *longJobs, QObject *parent)
    : QObject(parent)
    , m_worker(worker)
    , m_longJobs(longJobs ? longJobs : worker)
{}

QFuture<Result<HealthSnapshot>> HealthService::snapshot(int expiringWithinSeconds)
{
    return callOn(m_worker, [expiringWithinSeconds](Connection &c) {
        return HealthRepository::snapshot(c, expiringWithinSeconds);
    });
}

QFuture<Result<QList<InvariantResult>>> HealthService::runChecks()
{
    return callOn(m_longJobs,
                  [](Connection &c) { return HealthRepository::checkInvariants(c, {}); });
}

QFuture<Result<DeadLetterRetry>> HealthService::retryDeadLetter(qint64 id)
{
    return callOn(m_worker, [id](Connection &c) {
        const LedgerRepository::RetryResult r = LedgerRepository::retryDeadLetter(c, id);
        return DeadLetterRetry{r.transactionId, r.duplicate, r.eventId};
    });
}

QFuture<Result<qint64>> HealthService::discardDeadLetter(qint64 id, const QString &reason)
{
    return callOn(m_worker, [id, reason](Connection &c) {
        return LedgerRepository::discardDeadLetter(c, id, reason);
    });
}

} // namespace ledger
