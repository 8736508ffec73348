#include "ServerLogWatcher.h"

#include "SqlSession.h"

#include <QDir>
#include <QTestEventLoop>

namespace ledger::test {

ServerLogWatcher::ServerLogWatcher(const QString &dataDir)
    : m_dir(dataDir + QStringLiteral("/log"))
{
    m_watcher.addPath(m_dir);
    watchFiles();
}

void ServerLogWatcher::watchFiles()
{
    const QStringList watched = m_watcher.files();
    for (const QString &name : QDir(m_dir).entryList(QDir::Files)) {
        const QString path = m_dir + QLatin1Char('/') + name;
        if (!watched.contains(path))
            m_watcher.addPath(path);
    }
}

bool ServerLogWatcher::waitUntil(const std::function<bool()> &condition, int timeoutMs)
{
    // Watching before the first look: a write between the two is not missed.
    watchFiles();
    if (condition())
        return true;
    QTestEventLoop loop;
    const auto check = [&] {
        watchFiles();
        if (condition())
            loop.exitLoop();
    };
    const QMetaObject::Connection files =
        QObject::connect(&m_watcher, &QFileSystemWatcher::fileChanged, &loop, check);
    const QMetaObject::Connection dir =
        QObject::connect(&m_watcher, &QFileSystemWatcher::directoryChanged, &loop, check);
    loop.enterLoopMSecs(timeoutMs);
    QObject::disconnect(files);
    QObject::disconnect(dir);
    return condition();
}

bool logLockWaitsOf(SqlSession &admin, const QString &role, QString *error)
{
    for (const QString &setting :
         {QStringLiteral("log_lock_waits = on"), QStringLiteral("deadlock_timeout = '10ms'")}) {
        // A role name from the test itself: quoted as an identifier all the same.
        const SqlOutcome r = admin.run(
            QStringLiteral("ALTER ROLE \"%1\" SET %2")
                .arg(QString(role).replace(QLatin1Char('"'), QLatin1String("\"\"")), setting));
        if (!r.ok) {
            if (error)
                *error = r.message;
            return false;
        }
    }
    return true;
}

} // namespace ledger::test
