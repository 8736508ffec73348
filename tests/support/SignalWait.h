#pragma once

// Waiting in tests on what the code announces: a signal, a future's end, or a state read
// again each time the signal that changes it is emitted. Never a fixed delay and never a
// timer that polls: the timeouts only bound a failure, and are generous because the suite
// runs two tests at once on a loaded machine. Header-only.

#include <QAbstractItemModel>
#include <QDateTime>
#include <QDeadlineTimer>
#include <QFuture>
#include <QFutureWatcher>
#include <QMetaMethod>
#include <QObject>
#include <QSignalSpy>
#include <QTest>
#include <QTestEventLoop>
#include <QTimer>

#include <functional>
#include <initializer_list>

namespace ledger::test {

inline constexpr int kWaitTimeoutMs = 30000;

// Until the spy has recorded `count` emissions in all (those before the call count too);
// false when the time is up first. For a signal emitted on this thread (the spy's own wait
// cannot miss it); one from another thread goes through waitUntil() below.
inline bool waitForCount(QSignalSpy &spy, qsizetype count, int timeoutMs = kWaitTimeoutMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    // (Once the test has failed, Qt Test's loops return at once: give up then.)
    while (spy.count() < count && !deadline.hasExpired() && !QTest::currentTestFailed())
        spy.wait(int(qMax<qint64>(1, deadline.remainingTime())));
    return spy.count() >= count;
}

// Until condition() holds: read now, and again each time `sender` emits `signal` (the
// signal that announces the change). The state is read when it may have changed, never on
// a timer. False when the time is up first. A signal from another thread wakes this one
// through its event loop (queued), so an emission just before the wait is not missed.
template <class Sender, class Signal, class Condition>
bool waitUntil(const Sender *sender, Signal signal, Condition condition,
               int timeoutMs = kWaitTimeoutMs)
{
    QTestEventLoop loop;
    const QMetaObject::Connection c = QObject::connect(sender, signal, &loop, [&] {
        if (condition())
            loop.exitLoop();
    });
    if (!condition())
        loop.enterLoopMSecs(timeoutMs);
    QObject::disconnect(c);
    return condition();
}

// Calls a function for a signal connected to it by its meta-method (waitForSignals()).
class Recheck : public QObject
{
    Q_OBJECT

public:
    explicit Recheck(std::function<void()> check)
        : m_check(std::move(check))
    {}

public Q_SLOTS:
    void check() { m_check(); }

private:
    std::function<void()> m_check;
};

// Until condition() holds: read now, and again each time `sender` emits any signal of its
// own (those of its classes, not QObject's): for an object whose state changes come with one
// of several signals (a model's rows arriving, changing or reset, its loading state, ...).
// Several senders: read again when any of them emits.
template <class Condition>
bool waitForSignals(std::initializer_list<const QObject *> senders, Condition condition,
                    int timeoutMs = kWaitTimeoutMs)
{
    QTestEventLoop loop;
    Recheck recheck([&] {
        if (condition())
            loop.exitLoop();
    });
    const QMetaMethod slot =
        recheck.metaObject()->method(recheck.metaObject()->indexOfSlot("check()"));
    QList<QMetaObject::Connection> connections;
    for (const QObject *sender : senders) {
        const QMetaObject *meta = sender->metaObject();
        for (int i = QObject::staticMetaObject.methodCount(); i < meta->methodCount(); ++i) {
            if (meta->method(i).methodType() == QMetaMethod::Signal)
                connections << QObject::connect(sender, meta->method(i), &recheck, slot);
        }
    }
    if (!condition())
        loop.enterLoopMSecs(timeoutMs);
    for (const auto &c : connections)
        QObject::disconnect(c);
    return condition();
}

template <class Condition>
bool waitForSignals(const QObject *sender, Condition condition, int timeoutMs = kWaitTimeoutMs)
{
    return waitForSignals({sender}, std::move(condition), timeoutMs);
}

// The same for a model's data: read again whenever rows arrive, change or are reset, or the
// model announces anything else (loading, a page, a count).
template <class Condition>
bool waitForModel(const QAbstractItemModel *model, Condition condition,
                  int timeoutMs = kWaitTimeoutMs)
{
    return waitForSignals(model, std::move(condition), timeoutMs);
}

// Until the clock has passed an instant the server set, such as a session's expiry: a
// deadline the state itself names (the server compares its clock with it at each call; no
// event marks it), never a delay guessed to be long enough. The server keeps microseconds and
// QDateTime milliseconds, hence one more. The caller then asks the server whether it agrees.
inline void waitUntilPast(const QDateTime &instant)
{
    // A precise timer: a coarse one (QTestEventLoop's own) may fire a little early.
    for (qint64 ms = QDateTime::currentDateTimeUtc().msecsTo(instant) + 1;
         ms > 0 && !QTest::currentTestFailed();
         ms = QDateTime::currentDateTimeUtc().msecsTo(instant) + 1) {
        QTestEventLoop loop;
        QTimer::singleShot(int(ms), Qt::PreciseTimer, &loop, &QTestEventLoop::exitLoop);
        loop.enterLoopMSecs(int(ms) + kWaitTimeoutMs);
    }
}

// Until the future has finished (its watcher says so); false when the time is up first.
template <class T> bool waitForFinished(const QFuture<T> &future, int timeoutMs = kWaitTimeoutMs)
{
    QFutureWatcher<T> watcher;
    QTestEventLoop loop;
    QObject::connect(&watcher, &QFutureWatcherBase::finished, &loop, &QTestEventLoop::exitLoop);
    watcher.setFuture(future);
    if (!future.isFinished())
        loop.enterLoopMSecs(timeoutMs);
    return future.isFinished();
}

} // namespace ledger::test
