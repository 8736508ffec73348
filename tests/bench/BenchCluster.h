#pragma once

#include "cluster/LocalCluster.h"
#include "domain/Result.h"

#include <QString>
#include <QTemporaryDir>

#include <memory>

namespace ledger::bench {

// A benchmark's own cluster: durable (fsync and synchronous commit on, as in production),
// a little more memory than the defaults as any real server would have, the ledger
// database created and migrated. Stopped when destroyed; the directory goes with it.
// The database work runs on a thread of its own, so a benchmark with a QApplication may
// call start() from its GUI thread (Connection refuses to run there).
class BenchCluster
{
public:
    explicit BenchCluster(const QString &name); // in /tmp/ledger-bench-<name>-XXXXXX
    ~BenchCluster();
    BenchCluster(const BenchCluster &) = delete;
    BenchCluster &operator=(const BenchCluster &) = delete;

    Status start();

    LocalCluster &cluster() { return *m_cluster; }
    QString path() const { return m_dir.path(); }
    QString dsn(const QString &user = {}, const QString &database = {}) const
    {
        return m_cluster->dsn(user, database);
    }

private:
    QTemporaryDir m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
    bool m_started = false;
};

} // namespace ledger::bench
