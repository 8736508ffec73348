#pragma once

#include <QFileSystemWatcher>
#include <QString>

#include <functional>

namespace ledger::test {

class SqlSession;

// The test cluster's server log (log/ in its data directory) as the logging collector
// writes it. The collector is a process of its own: a line a backend logged (a refused
// sign-in, a refused call of an ended session, a lock wait) reaches the file a moment after
// the client saw the error. waitUntil() reads a condition now and again each time a file of
// the log directory is written (inotify, through QFileSystemWatcher): it waits on the
// writes, never on a timer. Needs an event loop (Qt Test's).
class ServerLogWatcher
{
public:
    explicit ServerLogWatcher(const QString &dataDir);
    ServerLogWatcher(const ServerLogWatcher &) = delete;
    ServerLogWatcher &operator=(const ServerLogWatcher &) = delete;

    // True once condition() holds; false when timeoutMs (which only bounds a failure) ran
    // out first.
    bool waitUntil(const std::function<bool()> &condition, int timeoutMs = 30000);

private:
    void watchFiles(); // every file now in the directory (the collector may start a new one)

    QString m_dir;
    QFileSystemWatcher m_watcher;
};

// Makes the new sessions of a login role log each lock wait as it begins (log_lock_waits,
// after a deadlock_timeout of 10 ms): the log is written when one of its backends starts
// waiting, which wakes a waitUntil() that looks for it in pg_stat_activity or pg_locks.
// `admin` is a superuser's session. False (with the server's message in `error`) if refused.
bool logLockWaitsOf(SqlSession &admin, const QString &role, QString *error = nullptr);

} // namespace ledger::test
