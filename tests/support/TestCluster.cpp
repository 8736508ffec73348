#include "TestCluster.h"

#include "db/Connection.h"
#include "db/DatabaseAdmin.h"
#include "db/DbException.h"
#include "db/Migrator.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <exception>
#include <optional>
#include <thread>

namespace ledger::test {

namespace {

QString shellQuote(const QString &s)
{
    QString q = s;
    q.replace(QLatin1String("'"), QLatin1String("'\\''"));
    return QLatin1Char('\'') + q + QLatin1Char('\'');
}

QString randomPassword()
{
    QString out;
    for (int i = 0; i < 24; ++i)
        out += QLatin1Char(
            "abcdefghijkmnopqrstuvwxyz23456789"[QRandomGenerator::global()->bounded(33)]);
    return out;
}

// The product's connections refuse to run on a GUI thread. UI tests build their fixture on
// it, so the fixture's own database work runs on a short-lived thread instead (and the test
// waits: blocking is fine in set-up, never in the product).
template <class F> auto offGuiThread(F f) -> decltype(f())
{
    if (!Connection::onGuiThread())
        return f();
    std::optional<decltype(f())> result;
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            result.emplace(f());
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure)
        std::rethrow_exception(failure);
    return std::move(*result);
}

} // namespace

TestCluster::TestCluster()
    // Short path: the Unix socket lives inside it.
    : m_dir(QStringLiteral("/tmp/ledger-test-XXXXXX"))
{
    m_dir.setAutoRemove(false); // removed in the destructor, after the server stopped
}

TestCluster::~TestCluster()
{
    if (m_cluster && m_started)
        (void)m_cluster->stop(/*immediate=*/true);
    if (m_dir.isValid())
        QDir(m_dir.path()).removeRecursively();
    if (m_aliveFd >= 0)
        ::close(m_aliveFd); // the watchdog finds nothing left to do
}

QString TestCluster::dataDir() const
{
    return m_dir.path();
}

bool TestCluster::start(bool migrate)
{
    if (!m_dir.isValid()) {
        m_lastError =
            QStringLiteral("cannot create a temporary directory: %1").arg(m_dir.errorString());
        return false;
    }
    LocalCluster::Settings settings;
    settings.durable = false;
    settings.extraConfig = m_extraConfig;
    if (!m_localAuth.isEmpty())
        settings.localAuth = m_localAuth;
    settings.extraHba = m_extraHba;
    settings.purpose = QStringLiteral("test");
    m_cluster = std::make_unique<LocalCluster>(m_dir.path(), settings);
    if (auto s = m_cluster->initialize(); !s) {
        m_lastError = s.error().describe();
        return false;
    }
    startWatchdog();
    if (auto s = m_cluster->start(); !s) {
        m_lastError = s.error().describe();
        return false;
    }
    m_started = true;
    const Status prepared = offGuiThread([&]() -> Status { return m_cluster->ensureDatabase(); });
    if (!prepared) {
        m_lastError = prepared.error().describe();
        return false;
    }
    return !migrate || this->migrate();
}

bool TestCluster::migrate()
{
    const Status migrated = offGuiThread([&]() -> Status {
        auto set = MigrationSet::builtIn();
        if (!set)
            return set.error();
        try {
            Connection c(adminDsn(), QStringLiteral("test-fixture"));
            Migrator(c, set.value()).migrate();
        } catch (const DbException &e) {
            return e.error();
        }
        return {};
    });
    if (!migrated) {
        m_lastError = migrated.error().describe();
        return false;
    }
    return true;
}

void TestCluster::startWatchdog()
{
    // Stops the server and removes the directory once this process is gone, however it
    // ended. Runs detached, so it outlives us.
    const auto pgCtl = m_cluster->serverCommand(QStringLiteral("pg_ctl"));
    if (!pgCtl)
        return;
    QStringList quoted;
    for (const QString &part : pgCtl.value())
        quoted << shellQuote(part);
    // This process holds an exclusive lock on a file for as long as it lives (the kernel lets
    // go of it when the process ends, however it ends); the watchdog waits for that lock.
    // Close-on-exec: the server and the watchdog itself do not inherit it.
    const QString alive = m_dir.path() + QStringLiteral("/.alive");
    m_aliveFd = ::open(QFile::encodeName(alive).constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m_aliveFd < 0 || ::flock(m_aliveFd, LOCK_EX) != 0)
        return;
    const QString script =
        QStringLiteral("flock %1 true 2>/dev/null; "
                       "%2 -D %3 -m immediate stop >/dev/null 2>&1; rm -rf %3")
            .arg(shellQuote(alive), quoted.join(QLatin1Char(' ')), shellQuote(m_dir.path()));
    QProcess::startDetached(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), script},
                            QStringLiteral("/"));
}

QString TestCluster::adminDsn(const QString &database) const
{
    return m_cluster->dsn({}, database);
}

QString TestCluster::dsnFor(const QString &groupRole, const QString &user)
{
    const QString role = user.isEmpty() ? QStringLiteral("test_") + groupRole : user;
    if (const auto it = m_roleDsns.constFind(role); it != m_roleDsns.constEnd())
        return *it;
    const QString password = randomPassword();
    offGuiThread([&] {
        Connection c(adminDsn(), QStringLiteral("test-fixture"));
        DatabaseAdmin::ensureLoginRole(c, role, password, groupRole);
        return true;
    });
    const QString dsn = m_cluster->dsn(role) + QStringLiteral(" password=") + password;
    m_roleDsns.insert(role, dsn);
    return dsn;
}

QString TestCluster::createDatabase(const QString &name)
{
    offGuiThread([&] {
        Connection c(adminDsn(QStringLiteral("postgres")), QStringLiteral("test-fixture"));
        return DatabaseAdmin::createDatabaseIfMissing(c, name, QStringLiteral("test"));
    });
    return adminDsn(name);
}

} // namespace ledger::test
