#include "ReversalService.h"

#include "WorkerCall.h"
#include "async/WhenReady.h"
#include "db/ReversalRepository.h"

#include <QUuid>

#include <memory>

namespace ledger {

namespace {

// Carries the bulk job's progress from the worker thread to the service: the job holds
// this relay (not the service, which may be gone by then); its signal reaches the service
// queued, on the GUI thread, for as long as the service lives.
class ProgressRelay : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
Q_SIGNALS:
    void progress(int done, int total);
};

} // namespace

ReversalService::ReversalService(DbWorker *worker, QObject *parent)
    : QObject(parent)
    , m_worker(worker)
{}

QString ReversalService::newClientKey()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces);
}

template <class T> QFuture<Result<T>> ReversalService::announce(QFuture<Result<T>> future)
{
    whenReady(future, this, [this](const Result<T> &result) {
        if (result)
            Q_EMIT changed();
    });
    return future;
}

QFuture<Result<QList<ReasonCode>>> ReversalService::reasonCodes()
{
    return callOn(m_worker, [](Connection &c) { return ReversalRepository::reasonCodes(c); });
}

QFuture<Result<qint64>> ReversalService::requestLifetime()
{
    return callOn(m_worker,
                  [](Connection &c) { return ReversalRepository::requestLifetimeSeconds(c); });
}

QFuture<Result<ReversalPreview>> ReversalService::previewDraft(const ReversalDraft &draft)
{
    return callOn(m_worker,
                  [draft](Connection &c) { return ReversalRepository::previewDraft(c, draft); });
}

QFuture<Result<qint64>> ReversalService::submitRequest(const ReversalDraft &draft)
{
    return announce(
        callOn(m_worker, [draft](Connection &c) { return ReversalRepository::request(c, draft); }));
}

QFuture<Result<ReversalPreview>> ReversalService::preview(qint64 requestId)
{
    return callOn(m_worker,
                  [requestId](Connection &c) { return ReversalRepository::preview(c, requestId); });
}

QFuture<Result<ReversalDecision>> ReversalService::approve(qint64 requestId,
                                                           const QString &previewDigest,
                                                           const QString &note,
                                                           const QString &clientKey)
{
    return announce(callOn(m_worker, [=](Connection &c) {
        return ReversalRepository::approve(c, requestId, previewDigest, note, clientKey);
    }));
}

QFuture<Result<ReversalDecision>> ReversalService::reject(qint64 requestId, const QString &note,
                                                          const QString &clientKey)
{
    return announce(callOn(m_worker, [=](Connection &c) {
        return ReversalRepository::reject(c, requestId, note, clientKey);
    }));
}

QFuture<Result<ReversalDecision>> ReversalService::withdraw(qint64 requestId, const QString &note,
                                                            const QString &clientKey)
{
    return announce(callOn(m_worker, [=](Connection &c) {
        return ReversalRepository::withdraw(c, requestId, note, clientKey);
    }));
}

QFuture<Result<QList<BulkDecisionOutcome>>>
ReversalService::decideMany(const QList<qint64> &requestIds, bool approve, const QString &note,
                            const QString &batchKey)
{
    auto relay = std::make_shared<ProgressRelay>();
    connect(relay.get(), &ProgressRelay::progress, this, &ReversalService::decideManyProgress,
            Qt::QueuedConnection);
    const int total = int(requestIds.size());
    return announce(callOn(m_worker, [=](Connection &c) {
        // Worker thread: emitting on the relay queues the call to the GUI thread.
        return ReversalRepository::decideMany(
            c, requestIds, approve, note, batchKey,
            [&relay, total](int done) { Q_EMIT relay->progress(done, total); });
    }));
}

QFuture<Result<ReversalInboxPage>> ReversalService::inbox(const ReversalInboxQuery &query,
                                                          int offset, int limit)
{
    return callOn(m_worker, [=](Connection &c) {
        return ReversalRepository::inbox(c, query, offset, limit);
    });
}

QFuture<Result<QList<qint64>>> ReversalService::inboxIds(const ReversalInboxQuery &query, int limit)
{
    return callOn(m_worker,
                  [=](Connection &c) { return ReversalRepository::inboxIds(c, query, limit); });
}

} // namespace ledger

#include "ReversalService.moc"
