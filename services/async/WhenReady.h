#pragma once

#include <QFuture>
#include <QFutureWatcher>
#include <QObject>

#include <utility>

namespace ledger {

// Calls fn(result) on context's thread when the future has a result. If context is
// destroyed first, or the future is cancelled (its worker went away), nothing is called.
// Qt 6.4's QFuture::then(context, ...) asserts when the context dies first; a watcher
// owned by the context simply dies with it.
template <class T, class F> void whenReady(QFuture<T> future, QObject *context, F fn)
{
    auto *watcher = new QFutureWatcher<T>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, context,
                     [watcher, fn = std::move(fn)]() mutable {
                         watcher->deleteLater();
                         if (!watcher->isCanceled() && watcher->future().resultCount() > 0)
                             fn(watcher->result());
                     });
    watcher->setFuture(std::move(future));
}

} // namespace ledger
