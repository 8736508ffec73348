#pragma once

#include "Connection.h"
#include "DbException.h"
#include "domain/Result.h"

#include <QFuture>
#include <QObject>
#include <QPromise>
#include <QString>
#include <QThread>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

namespace ledger {

// Owns one database connection on its own thread and runs jobs there, one after another,
// in submission order. Callers (usually on the GUI thread) get a QFuture<Result<T>>;
// continue with whenReady(future, context, ...) (async/WhenReady.h) on their own thread.
// The connection is opened lazily by the first job and reopened by the next job after it
// was lost. The destructor lets the jobs already queued run (for five seconds at most),
// then requestInterruption(); quit(); wait().
//
// Without credentials (ConnectionSettings::none(), the default) every job fails with a
// NotSignedIn error and nothing is connected: libpq is never asked, so it cannot fall back
// to the machine's PG* variables or ~/.pgpass.
class DbWorker : public QObject
{
    Q_OBJECT

public:
    explicit DbWorker(ConnectionSettings settings = {}, QString applicationName = {},
                      QObject *parent = nullptr);
    // A libpq connection string (ConnectionSettings::direct): tests, a DBA's --dsn. An empty
    // string means no credentials, never libpq's defaults.
    explicit DbWorker(const QString &dsn, QString applicationName = {}, QObject *parent = nullptr);
    ~DbWorker() override;

    // Runs job(Connection&) on the worker thread. DbException and any other exception
    // thrown by the job end up as the Result's error; nothing escapes the thread. Every
    // failure is also announced by jobFailed().
    template <class F> auto submit(F job) -> QFuture<Result<std::invoke_result_t<F, Connection &>>>
    {
        using R = std::invoke_result_t<F, Connection &>;
        auto promise = std::make_shared<QPromise<Result<R>>>();
        QFuture<Result<R>> future = promise->future();
        promise->start();
        enqueue([promise, job = std::move(job)](
                    Connection *connection, const Error &failure) mutable -> std::optional<Error> {
            std::optional<Error> failed;
            if (!connection) {
                failed = failure;
            } else {
                try {
                    if constexpr (std::is_void_v<R>) {
                        job(*connection);
                        promise->addResult(Result<R>());
                    } else {
                        promise->addResult(Result<R>(job(*connection)));
                    }
                } catch (const DbException &e) {
                    failed = e.error();
                } catch (const std::exception &e) {
                    failed = Error::make(
                        Error::Kind::Internal,
                        QStringLiteral("Unexpected error: %1").arg(QString::fromUtf8(e.what())));
                } catch (...) {
                    failed = Error::make(Error::Kind::Internal,
                                         QStringLiteral("Unexpected error in a database job."));
                }
            }
            if (failed)
                promise->addResult(Result<R>(*failed));
            promise->finish();
            return failed;
        });
        return future;
    }

    // Switches to other settings (a new time-limited session; none() after a lock or a sign
    // out): the current connection is closed after the jobs already queued, and the next job
    // connects with the new settings, or fails at once without credentials. Returns the new
    // settings' generation, which jobFailed() reports. Any thread.
    quint64 setSettings(ConnectionSettings settings);

Q_SIGNALS:
    // Emitted on the worker thread (connect with a queued or auto connection): the
    // connection came up, or was lost / could not be opened.
    void connected(const QString &description);
    void connectionLost(const ledger::Error &error);
    // Every failed job's error, with the generation of the settings it ran under; emitted on
    // the worker thread (connect with a queued connection). ConsoleSession listens here, so
    // an expired or revoked session seen by any screen locks the console.
    void jobFailed(const ledger::Error &error, quint64 generation);

private:
    using Task = std::function<std::optional<Error>(Connection *, const Error &)>;
    void enqueue(Task task);
    void runTask(const Task &task); // worker thread only

    ConnectionSettings m_settings; // worker thread only (after construction)
    quint64 m_generation = 0;      // worker thread only: that of m_settings
    std::atomic<quint64> m_lastGeneration{0};
    QString m_applicationName;
    QThread m_thread;
    QObject *m_context = nullptr;             // lives on m_thread
    std::unique_ptr<Connection> m_connection; // touched on m_thread only
};

} // namespace ledger
