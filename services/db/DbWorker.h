#pragma once

#include "Connection.h"
#include "DbException.h"
#include "domain/Result.h"

#include <QFuture>
#include <QObject>
#include <QPromise>
#include <QString>
#include <QThread>

#include <functional>
#include <memory>
#include <type_traits>

namespace ledger {

// Owns one database connection on its own thread and runs jobs there, one after another,
// in submission order. Callers (usually on the GUI thread) get a QFuture<Result<T>>;
// continue with whenReady(future, context, ...) (async/WhenReady.h) on their own thread.
// The connection is opened lazily by the first job and reopened by the next job after it
// was lost. Shut down in the destructor: quit(); wait().
class DbWorker : public QObject
{
    Q_OBJECT

public:
    explicit DbWorker(QString dsn, QString applicationName = {}, QObject *parent = nullptr);
    ~DbWorker() override;

    // Runs job(Connection&) on the worker thread. DbException and any other exception
    // thrown by the job end up as the Result's error; nothing escapes the thread.
    template <class F> auto submit(F job) -> QFuture<Result<std::invoke_result_t<F, Connection &>>>
    {
        using R = std::invoke_result_t<F, Connection &>;
        auto promise = std::make_shared<QPromise<Result<R>>>();
        QFuture<Result<R>> future = promise->future();
        promise->start();
        enqueue([promise, job = std::move(job)](Connection *connection,
                                                const Error &failure) mutable {
            if (!connection) {
                promise->addResult(Result<R>(failure));
            } else {
                try {
                    if constexpr (std::is_void_v<R>) {
                        job(*connection);
                        promise->addResult(Result<R>());
                    } else {
                        promise->addResult(Result<R>(job(*connection)));
                    }
                } catch (const DbException &e) {
                    promise->addResult(Result<R>(e.error()));
                    promise->finish();
                    throw; // runTask closes a lost connection
                } catch (const std::exception &e) {
                    promise->addResult(Result<R>(Error::make(
                        Error::Kind::Internal,
                        QStringLiteral("Unexpected error: %1").arg(QString::fromUtf8(e.what())))));
                }
            }
            promise->finish();
        });
        return future;
    }

    // Switches to other credentials (a new time-limited session): the current connection
    // is closed after the jobs already queued, and the next job connects with the new DSN.
    void setDsn(const QString &dsn);

Q_SIGNALS:
    // Emitted on the worker thread (connect with a queued or auto connection): the
    // connection came up, or was lost / could not be opened.
    void connected(const QString &description);
    void connectionLost(const ledger::Error &error);

private:
    using Task = std::function<void(Connection *, const Error &)>;
    void enqueue(Task task);
    void runTask(const Task &task); // worker thread only

    QString m_dsn; // worker thread only (after construction)
    QString m_applicationName;
    QThread m_thread;
    QObject *m_context = nullptr;             // lives on m_thread
    std::unique_ptr<Connection> m_connection; // touched on m_thread only
};

} // namespace ledger
