#pragma once

#include "domain/Health.h"
#include "domain/Invariant.h"
#include "domain/Result.h"

#include <QFuture>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

namespace ledger {

class DbWorker;

// Operations health for the console's health panel (Step 12), for widgets, which see only
// this class and domain types. Every method may be called on the GUI thread and returns at
// once; continue with whenReady (async/WhenReady.h). If a worker is gone, the future is
// already finished and holds an Error.
class HealthService : public QObject
{
    Q_OBJECT

public:
    // Snapshots and dead-letter decisions run on `worker`; the invariant checks, which read
    // the whole ledger, on `longJobs` (the same worker when none is given).
    explicit HealthService(DbWorker *worker, DbWorker *longJobs = nullptr,
                           QObject *parent = nullptr);

    // ledger.health_snapshot: any console role. expiringWithinSeconds: the window for
    // sessions about to end.
    QFuture<Result<HealthSnapshot>> snapshot(int expiringWithinSeconds = 600);

    // Runs every invariant check of the ledger and records the run (auditors and compliance;
    // the database refuses the others).
    QFuture<Result<QList<InvariantResult>>> runChecks();

    // Posts a dead letter again through the current upcasters and rules (operators and
    // supervisors; audited), or gives it up with a reason (audited).
    QFuture<Result<DeadLetterRetry>> retryDeadLetter(qint64 id);
    QFuture<Result<qint64>> discardDeadLetter(qint64 id, const QString &reason);

private:
    QPointer<DbWorker> m_worker;
    QPointer<DbWorker> m_longJobs;
};

} // namespace ledger
