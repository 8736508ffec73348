#pragma once

#include "cluster/LocalCluster.h"
#include "domain/Result.h"

#include <QHash>
#include <QString>
#include <QTemporaryDir>

#include <memory>

namespace ledger::test {

// A throwaway PostgreSQL cluster for one test executable: initdb in a temp dir (fsync off),
// start on a private Unix socket, create the "ledger" database, apply the built-in
// migrations. Removed when the fixture is destroyed; a watchdog process also stops and
// removes it if the test process dies without cleaning up (crash, abort, kill).
//
// Typical use, in a Qt Test class:
//   void initTestCase() { QVERIFY2(m_db.start(), qPrintable(m_db.lastError())); }
class TestCluster
{
public:
    TestCluster();
    ~TestCluster();
    TestCluster(const TestCluster &) = delete;
    TestCluster &operator=(const TestCluster &) = delete;

    // initdb + start + database + migrations (unless migrate is false).
    bool start(bool migrate = true);
    // Lines for postgresql.conf (e.g. shared_preload_libraries), before start().
    void setExtraConfig(const QString &lines) { m_extraConfig = lines; }
    // How non-superuser roles authenticate on the socket (default scram-sha-256; "trust"
    // or "peer" for tests that must also pass on such clusters), before start().
    void setLocalAuth(const QString &method) { m_localAuth = method; }
    // Lines for pg_hba.conf (e.g. a hostssl line), before start().
    void setExtraHba(const QString &lines) { m_extraHba = lines; }
    // Applies the built-in migrations (after start(false) and whatever came between).
    bool migrate();
    QString lastError() const { return m_lastError; }

    // The superuser's DSN for the ledger database (or another database of the cluster).
    QString adminDsn(const QString &database = {}) const;
    // A DSN for a login role that is a member of `groupRole` only (created on first use,
    // with a random password), e.g. dsnFor("console_auditor"). `user` names the login role
    // (default "test_<group>"), so that tests can have two different supervisors.
    QString dsnFor(const QString &groupRole, const QString &user = {});
    // A new, empty database (for tests that migrate from scratch); returns its admin DSN.
    QString createDatabase(const QString &name);

    LocalCluster &cluster() { return *m_cluster; }
    QString dataDir() const;

private:
    void startWatchdog();

    QTemporaryDir m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
    QHash<QString, QString> m_roleDsns;
    QString m_lastError;
    QString m_extraConfig;
    QString m_localAuth;
    QString m_extraHba;
    bool m_started = false;
    int m_aliveFd = -1; // locked while this process lives: the watchdog waits for it
};

} // namespace ledger::test
