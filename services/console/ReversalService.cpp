#include "ReversalService.h"

#include "WorkerCall.h"
#include "async/WhenReady.h"
#include "db/AccountRepository.h"
#include "db/ReversalRepository.h"
#include "db/TimelineRepository.h"

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

QFuture<Result<TransactionDetail>> ReversalService::transaction(qint64 transactionId)
{
    return callOn(m_worker, [transactionId](Connection &c) {
        return TimelineRepository::transactionDetail(c, transactionId);
    });
}

QFuture<Result<QList<Account>>> ReversalService::findAccounts(const QString &text, int limit)
{
    return callOn(m_worker, [text, limit](Connection &c) {
        AccountRepository::Query query;
        query.text = text;
        return AccountRepository::page(c, query, 0, qBound(1, limit, 200));
    });
}

QFuture<Result<QList<Account>>> ReversalService::accountsByCode(const QStringList &codes)
{
    return callOn(m_worker, [codes](Connection &c) {
        // The navigator's search matches code or name by substring; the code's own row in
        // that list is found by position (exact, however many other accounts match).
        QList<Account> found;
        for (const QString &code : codes) {
            AccountRepository::Query query;
            query.text = code;
            const qint64 row = AccountRepository::positionOf(c, query, code);
            if (row < 0)
                continue;
            for (const Account &a : AccountRepository::page(c, query, row, 1)) {
                if (a.code == code)
                    found.append(a);
            }
        }
        return found;
    });
}

} // namespace ledger

#include "ReversalService.moc"
