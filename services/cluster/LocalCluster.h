#pragma once

#include "domain/Result.h"

#include <QString>
#include <QStringList>

namespace ledger {

// A private PostgreSQL cluster in one directory, reachable only through a Unix socket in
// that same directory (no TCP). Used by `ledgerctl demo` and by the test fixture.
//
// initdb refuses to run as root, so when the current user is root the server runs as an
// unprivileged user (LEDGER_CLUSTER_USER, default "postgres") and the directory is handed
// to that user. The superuser role has trust authentication on the socket, which only the
// directory's owner (and root) can reach; every other role needs a password.
class LocalCluster
{
public:
    struct Settings
    {
        QString superuser = QStringLiteral("ledger_admin");
        QString database = QStringLiteral("ledger");
        int port = 5432;
        bool durable = true; // false (tests): fsync and friends off, much faster
        QString extraConfig; // appended to postgresql.conf by initialize()
        // How roles other than the superuser authenticate on the socket: "scram-sha-256"
        // (the default, as in production), or "trust" / "peer" for tests that must show a
        // feature works on such clusters too.
        QString localAuth = QStringLiteral("scram-sha-256");
        QString extraHba; // lines appended to pg_hba.conf (e.g. hostssl for TLS tests)
        // What the database is for: "demo" or "test". ensureDatabase() marks it so (see
        // DatabaseAdmin::markDeployment): only such databases may be seeded.
        QString purpose = QStringLiteral("demo");
    };

    enum class State { NotACluster, Stopped, Running };

    explicit LocalCluster(QString dataDir);
    LocalCluster(QString dataDir, Settings settings);

    // Directory holding initdb, pg_ctl and postgres: $PG_BINDIR, the newest
    // /usr/lib/postgresql/*/bin, `pg_config --bindir`, or PATH.
    static Result<QString> findBinDir();
    // Default place for the demo cluster: the user's data directory, or
    // /var/lib/ledger-console/demo-cluster for root (root's home is closed to the server
    // user).
    static QString defaultDemoDir();
    // Empty when the server runs as the current user.
    static QString serverUser();

    QString dataDir() const { return m_dataDir; }
    const Settings &settings() const { return m_settings; }
    QString logFile() const;

    State state() const;
    bool isInitialized() const;

    // initdb + configuration. Refuses a directory that exists, is not empty and is not a
    // cluster.
    Status initialize();
    // pg_ctl start, waiting until it accepts connections. On failure the error carries
    // the tail of the server log.
    Status start(int timeoutSeconds = 60);
    Status stop(bool immediate = false);
    // Creates settings().database if it does not exist (connects as the superuser), and
    // marks it with settings().purpose: a private cluster's database is a throwaway.
    Status ensureDatabase();

    // DSN for a role and database of this cluster (no password: add it separately).
    QString dsn(const QString &user = {}, const QString &database = {}) const;

    // The command line that runs a server binary as the right user, e.g.
    // {"runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl"}.
    Result<QStringList> serverCommand(const QString &binary) const;

    // Last lines of the server log, for error messages.
    QString logTail(int lines = 15) const;

private:
    Result<QString> runServerBinary(const QString &binary, const QStringList &args,
                                    int timeoutSeconds, int *exitCode = nullptr) const;
    Status prepareDirectory();
    Status installModules() const;
    QString moduleDir() const;

    QString m_dataDir;
    Settings m_settings;
};

} // namespace ledger
