#pragma once

#include "db/DbWorker.h"
#include "domain/Error.h"
#include "domain/Result.h"

#include <QCoreApplication>
#include <QFuture>
#include <QPointer>
#include <QPromise>

#include <memory>
#include <type_traits>
#include <utility>

namespace ledger {

// The error of a call whose worker is gone (the console is shutting down).
Error workerGoneError();

// An already-finished future holding the error: what a console service returns when its
// worker is gone, so that callers take their ordinary failure path instead of crashing.
template <class T> QFuture<Result<T>> failedFuture(const Error &error)
{
    QPromise<Result<T>> promise;
    QFuture<Result<T>> future = promise.future();
    promise.start();
    promise.addResult(Result<T>(error));
    promise.finish();
    return future;
}

// Runs job(Connection&) on the worker (DbWorker::submit), or fails at once when the worker
// is gone. Any thread; the job runs on the worker's thread. For the console services only
// (it names the database layer, which ui/ and models/ never see).
template <class F>
auto callOn(const QPointer<DbWorker> &worker, F job)
    -> QFuture<Result<std::invoke_result_t<F, Connection &>>>
{
    using R = std::invoke_result_t<F, Connection &>;
    if (!worker)
        return failedFuture<R>(workerGoneError());
    return worker->submit(std::move(job));
}

// Reports from a worker thread to an object on the GUI thread that may be deleted meanwhile
// (a job the view owns): each report is queued to a relay that lives on the GUI thread for as
// long as any copy of the reporter is held, and handed to the target there only if the target
// still exists. The worker never touches the target. Construct on the GUI thread; copy and
// call from any thread.
template <class Target> class QueuedReporter
{
public:
    explicit QueuedReporter(Target *target)
        // The relay is deleted by a call queued after its reports, not by deleteLater(): a
        // DeferredDelete may be sent ahead of posted events (QTest::qWait does so), and
        // deleting the relay first would drop the reports, the outcome included.
        : m_relay(new QObject,
                  [](QObject *o) {
                      if (QCoreApplication *app = QCoreApplication::instance())
                          QMetaObject::invokeMethod(
                              app, [o] { delete o; }, Qt::QueuedConnection);
                      else
                          delete o;
                  })
        , m_target(target)
    {}

    template <class F> void operator()(F call) const
    {
        QMetaObject::invokeMethod(
            m_relay.get(),
            [target = m_target, call] {
                if (target)
                    call(target.data());
            },
            Qt::QueuedConnection);
    }

private:
    std::shared_ptr<QObject> m_relay;
    QPointer<Target> m_target;
};

} // namespace ledger
