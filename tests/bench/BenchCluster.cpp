#include "BenchCluster.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/Migrator.h"

#include <thread>

namespace ledger::bench {

namespace {

LocalCluster::Settings benchSettings()
{
    LocalCluster::Settings settings; // durable by default
    settings.extraConfig = QStringLiteral(
        "shared_buffers = 1GB\nmax_wal_size = 8GB\nwork_mem = 64MB\nmaintenance_work_mem = 1GB");
    return settings;
}

} // namespace

BenchCluster::BenchCluster(const QString &name)
    : m_dir(QStringLiteral("/tmp/ledger-bench-%1-XXXXXX").arg(name))
    , m_cluster(std::make_unique<LocalCluster>(m_dir.path(), benchSettings()))
{}

BenchCluster::~BenchCluster()
{
    if (m_started)
        std::thread([this] { (void)m_cluster->stop(true); }).join();
}

Status BenchCluster::start()
{
    if (!m_dir.isValid())
        return Error::make(
            Error::Kind::Io,
            QStringLiteral("Cannot create a temporary directory: %1").arg(m_dir.errorString()));
    Status status = Status::success();
    std::thread([&] {
        if (auto s = m_cluster->initialize(); !s) {
            status = s;
            return;
        }
        if (auto s = m_cluster->start(); !s) {
            status = s;
            return;
        }
        m_started = true;
        if (auto s = m_cluster->ensureDatabase(); !s) {
            status = s;
            return;
        }
        try {
            Connection admin(m_cluster->dsn());
            Migrator(admin, MigrationSet::builtIn().value()).migrate();
        } catch (const DbException &e) {
            status = Status(e.error());
        }
    }).join();
    return status;
}

} // namespace ledger::bench
