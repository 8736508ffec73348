#include "LocalCluster.h"

#include "db/Connection.h"
#include "db/DatabaseAdmin.h"
#include "db/DbException.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <QVersionNumber>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ledger {

namespace {

// sockaddr_un.sun_path is 108 bytes including the terminating zero.
constexpr int kMaxSocketPath = 107;

Status handOverTo(const QString &path, uid_t uid, gid_t gid)
{
    if (::chown(QFile::encodeName(path).constData(), uid, gid) != 0)
        return Error::make(Error::Kind::Io,
                           QStringLiteral("Cannot hand %1 to the server user: %2")
                               .arg(path, QString::fromLocal8Bit(strerror(errno))));
    return {};
}

} // namespace

LocalCluster::LocalCluster(QString dataDir)
    : LocalCluster(std::move(dataDir), Settings{})
{}

LocalCluster::LocalCluster(QString dataDir, Settings settings)
    : m_dataDir(QDir::cleanPath(QDir(dataDir).absolutePath()))
    , m_settings(std::move(settings))
{}

QString LocalCluster::serverUser()
{
    if (::geteuid() != 0)
        return {};
    const QString configured = qEnvironmentVariable("LEDGER_CLUSTER_USER");
    return configured.isEmpty() ? QStringLiteral("postgres") : configured;
}

QString LocalCluster::defaultDemoDir()
{
    if (::geteuid() == 0)
        return QStringLiteral("/var/lib/ledger-console/demo-cluster");
    QString base = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
    if (base.isEmpty())
        base = QDir::homePath() + QStringLiteral("/.local/share");
    return base + QStringLiteral("/ledger-console/demo-cluster");
}

Result<QString> LocalCluster::findBinDir()
{
    auto hasServer = [](const QString &dir) {
        return QFileInfo(dir + QStringLiteral("/initdb")).isExecutable() &&
               QFileInfo(dir + QStringLiteral("/pg_ctl")).isExecutable();
    };
    const QString configured = qEnvironmentVariable("PG_BINDIR");
    if (!configured.isEmpty()) {
        if (hasServer(configured))
            return configured;
        return Error::make(Error::Kind::NotFound,
                           QStringLiteral("PG_BINDIR=%1 holds no initdb and pg_ctl. Point it at "
                                          "PostgreSQL's server binaries or unset it.")
                               .arg(configured));
    }
    // Debian keeps server binaries out of PATH, one directory per major version.
    QDir lib(QStringLiteral("/usr/lib/postgresql"));
    QVersionNumber best;
    QString bestDir;
    for (const QString &entry : lib.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        const QVersionNumber v = QVersionNumber::fromString(entry);
        const QString dir = lib.filePath(entry) + QStringLiteral("/bin");
        if (!v.isNull() && v > best && hasServer(dir)) {
            best = v;
            bestDir = dir;
        }
    }
    if (!bestDir.isEmpty())
        return bestDir;
    QProcess pgConfig;
    pgConfig.start(QStringLiteral("pg_config"), {QStringLiteral("--bindir")});
    if (pgConfig.waitForFinished(5000) && pgConfig.exitCode() == 0) {
        const QString dir = QString::fromLocal8Bit(pgConfig.readAllStandardOutput()).trimmed();
        if (hasServer(dir))
            return dir;
    }
    const QString initdb = QStandardPaths::findExecutable(QStringLiteral("initdb"));
    if (!initdb.isEmpty() && hasServer(QFileInfo(initdb).absolutePath()))
        return QFileInfo(initdb).absolutePath();
    return Error::make(Error::Kind::NotFound,
                       QStringLiteral("PostgreSQL server binaries (initdb, pg_ctl) were not "
                                      "found. Install them (Debian: apt-get install postgresql) "
                                      "or set PG_BINDIR to their directory."));
}

QString LocalCluster::logFile() const
{
    return m_dataDir + QStringLiteral("/server.log");
}

bool LocalCluster::isInitialized() const
{
    return QFileInfo::exists(m_dataDir + QStringLiteral("/PG_VERSION"));
}

Result<QStringList> LocalCluster::serverCommand(const QString &binary) const
{
    const auto bin = findBinDir();
    if (!bin)
        return bin.error();
    QStringList command;
    const QString user = serverUser();
    if (!user.isEmpty()) {
        if (!::getpwnam(user.toLocal8Bit().constData()))
            return Error::make(
                Error::Kind::NotFound,
                QStringLiteral("Running as root, the PostgreSQL server must run as an "
                               "unprivileged user, but user '%1' does not exist. Install the "
                               "postgresql package (it creates 'postgres') or set "
                               "LEDGER_CLUSTER_USER to an existing user.")
                    .arg(user));
        command << QStringLiteral("runuser") << QStringLiteral("-u") << user
                << QStringLiteral("--");
    }
    command << bin.value() + QLatin1Char('/') + binary;
    return command;
}

Result<QString> LocalCluster::runServerBinary(const QString &binary, const QStringList &args,
                                              int timeoutSeconds, int *exitCode) const
{
    const auto command = serverCommand(binary);
    if (!command)
        return command.error();
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    // Work from a directory the server user can enter (root's cwd may be closed to it).
    p.setWorkingDirectory(QStringLiteral("/"));
    p.start(command.value().first(), command.value().mid(1) + args);
    if (!p.waitForStarted(10000))
        return Error::make(Error::Kind::Io,
                           QStringLiteral("Could not run %1: %2")
                               .arg(command.value().join(QLatin1Char(' ')), p.errorString()));
    if (!p.waitForFinished(timeoutSeconds * 1000)) {
        p.kill();
        p.waitForFinished(2000);
        return Error::make(
            Error::Kind::Timeout,
            QStringLiteral("%1 did not finish within %2 s.").arg(binary).arg(timeoutSeconds));
    }
    const QString output = QString::fromLocal8Bit(p.readAll());
    if (exitCode) {
        *exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        return output;
    }
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        return Error::make(Error::Kind::Server,
                           QStringLiteral("%1 failed (exit %2): %3")
                               .arg(binary)
                               .arg(p.exitCode())
                               .arg(output.trimmed().section(QLatin1Char('\n'), -6)));
    return output;
}

LocalCluster::State LocalCluster::state() const
{
    if (!isInitialized())
        return State::NotACluster;
    int code = 0;
    const auto out =
        runServerBinary(QStringLiteral("pg_ctl"),
                        {QStringLiteral("status"), QStringLiteral("-D"), m_dataDir}, 30, &code);
    if (!out)
        return State::Stopped;
    if (code == 0)
        return State::Running;
    if (code == 4)
        return State::NotACluster;
    return State::Stopped;
}

Status LocalCluster::prepareDirectory()
{
    const QString socketPath = m_dataDir + QStringLiteral("/.s.PGSQL.%1").arg(m_settings.port);
    if (QFile::encodeName(socketPath).size() > kMaxSocketPath)
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The directory path %1 is too long for a Unix socket "
                                          "(at most about %2 characters). Choose a shorter "
                                          "--dir.")
                               .arg(m_dataDir)
                               .arg(kMaxSocketPath - 15));
    QDir dir(m_dataDir);
    if (dir.exists() &&
        !dir.entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty())
        return Error::make(Error::Kind::Conflict,
                           QStringLiteral("%1 exists and is not empty, but it is not a "
                                          "PostgreSQL cluster. Choose another directory or "
                                          "empty it.")
                               .arg(m_dataDir));
    if (!QDir().mkpath(m_dataDir))
        return Error::make(Error::Kind::Io, QStringLiteral("Cannot create %1.").arg(m_dataDir));
    ::chmod(QFile::encodeName(m_dataDir).constData(), 0700);
    const QString user = serverUser();
    if (!user.isEmpty()) {
        const passwd *pw = ::getpwnam(user.toLocal8Bit().constData());
        if (!pw)
            return serverCommand(QStringLiteral("initdb")).error();
        if (auto s = handOverTo(m_dataDir, pw->pw_uid, pw->pw_gid); !s)
            return s;
        // The server user must be able to reach the directory through its parents.
        int code = 0;
        const auto probe = [&]() -> Result<QString> {
            QProcess p;
            p.start(QStringLiteral("runuser"),
                    {QStringLiteral("-u"), user, QStringLiteral("--"), QStringLiteral("test"),
                     QStringLiteral("-w"), m_dataDir});
            if (!p.waitForFinished(10000))
                return Error::make(Error::Kind::Io, QStringLiteral("runuser did not answer"));
            code = p.exitCode();
            return QString();
        }();
        if (!probe)
            return probe.error();
        if (code != 0)
            return Error::make(Error::Kind::Permission,
                               QStringLiteral("The server user '%1' cannot write to %2 (a parent "
                                              "directory is closed to it). Choose a directory "
                                              "outside root's home, e.g. under /var/lib or "
                                              "/tmp.")
                                   .arg(user, m_dataDir));
    }
    return {};
}

QString LocalCluster::moduleDir() const
{
    return m_dataDir + QStringLiteral("/ledger_modules");
}

// ledger_pg, the server module the migrations load (0061). A binary that runs from its build
// tree gives the server the module built with it: a copy in the cluster's own directory, which
// the server user can read wherever the build tree is, put in place by a rename, so a server
// that has the old one loaded keeps its mapping. An installed binary copies nothing: the
// package put the module in the server's library directory, the next on the server's path.
Status LocalCluster::installModules() const
{
#ifdef LEDGER_PG_MODULE_DIR
    const QString built = QStringLiteral(LEDGER_PG_MODULE_DIR) + QStringLiteral("/ledger_pg.so");
    if (!QFileInfo::exists(built))
        return {};
    const QString target = moduleDir() + QStringLiteral("/ledger_pg.so");
    const QString fresh = target + QStringLiteral(".new");
    const auto failed = [&](const QString &what) {
        return Error::make(Error::Kind::Io, QStringLiteral("Cannot give the server its module: "
                                                           "%1 (%2 to %3).")
                                                .arg(what, built, target));
    };
    if (!QDir().mkpath(moduleDir()))
        return failed(QStringLiteral("cannot create %1").arg(moduleDir()));
    QFile::remove(fresh);
    if (!QFile::copy(built, fresh))
        return failed(QStringLiteral("the copy failed"));
    QFile::setPermissions(fresh, QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup |
                                     QFile::ReadOther);
    if (::rename(QFile::encodeName(fresh).constData(), QFile::encodeName(target).constData()) != 0)
        return failed(QString::fromLocal8Bit(strerror(errno)));
    const QString user = serverUser();
    if (!user.isEmpty()) {
        const passwd *pw = ::getpwnam(user.toLocal8Bit().constData());
        if (!pw)
            return serverCommand(QStringLiteral("pg_ctl")).error();
        if (auto s = handOverTo(moduleDir(), pw->pw_uid, pw->pw_gid); !s)
            return s;
        if (auto s = handOverTo(target, pw->pw_uid, pw->pw_gid); !s)
            return s;
    }
#endif
    return {};
}

Status LocalCluster::initialize()
{
    if (isInitialized())
        return {};
    // Find the binaries before touching the directory.
    if (auto bin = findBinDir(); !bin)
        return bin.error();
    if (auto s = prepareDirectory(); !s)
        return s;
    QStringList args{QStringLiteral("-D"),
                     m_dataDir,
                     QStringLiteral("-U"),
                     m_settings.superuser,
                     QStringLiteral("--auth-local=trust"),
                     QStringLiteral("--auth-host=reject"),
                     QStringLiteral("-E"),
                     QStringLiteral("UTF8"),
                     QStringLiteral("--no-locale"),
                     QStringLiteral("--no-instructions")};
    if (!m_settings.durable)
        args << QStringLiteral("--no-sync");
    const auto out = runServerBinary(QStringLiteral("initdb"), args, 180);
    if (!out)
        return out.error();

    // Configuration is appended by us (root may write it; the server only reads it).
    QFile conf(m_dataDir + QStringLiteral("/postgresql.conf"));
    if (!conf.open(QIODevice::Append | QIODevice::Text))
        return Error::make(
            Error::Kind::Io,
            QStringLiteral("Cannot write %1: %2").arg(conf.fileName(), conf.errorString()));
    QString text = QStringLiteral("\n# Written by ledger-console's LocalCluster\n"
                                  "listen_addresses = ''\n"
                                  "unix_socket_directories = '%1'\n"
                                  "unix_socket_permissions = 0700\n"
                                  "port = %2\n"
                                  "timezone = 'UTC'\n"
                                  "log_timezone = 'UTC'\n"
                                  "max_connections = 100\n"
                                  // Slots no console login can take: the reaper and the
                                  // administrators still get in when the rest are full.
                                  "superuser_reserved_connections = 3\n"
                                  // A connection that never finishes signing in holds a slot
                                  // this long at most.
                                  "authentication_timeout = 10s\n"
                                  "shared_buffers = 128MB\n"
                                  "password_encryption = 'scram-sha-256'\n"
                                  // A CSV log the database reads back to audit failed
                                  // sign-ins (0011_signin_failures.sql).
                                  "logging_collector = on\n"
                                  "log_destination = 'csvlog'\n"
                                  "log_directory = 'log'\n"
                                  "log_filename = 'postgresql-%Y-%m-%d.log'\n"
                                  // ledger_pg (0061): the copy start() keeps here, then the
                                  // server's own directory, where the package installs it.
                                  "dynamic_library_path = '%3:$libdir'\n")
                       .arg(QString(m_dataDir).replace(QLatin1String("'"), QLatin1String("''")))
                       .arg(m_settings.port)
                       .arg(QString(moduleDir()).replace(QLatin1String("'"), QLatin1String("''")));
    if (!m_settings.durable)
        text += QStringLiteral("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
    if (!m_settings.extraConfig.isEmpty())
        text += m_settings.extraConfig + QLatin1Char('\n');
    conf.write(text.toUtf8());
    conf.close();

    // Only the superuser is trusted on the private socket; every other role (console
    // sessions, test roles) authenticates with a password, so VALID UNTIL applies to it.
    QFile hba(m_dataDir + QStringLiteral("/pg_hba.conf"));
    if (!hba.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
        return Error::make(
            Error::Kind::Io,
            QStringLiteral("Cannot write %1: %2").arg(hba.fileName(), hba.errorString()));
    // Console and writer logins reach the ledger database only: in another database (say
    // `postgres`) a session role could own objects the reaper cannot drop.
    QString hbaText = QStringLiteral("# Written by ledger-console's LocalCluster\n"
                                     "local all %1 trust\n"
                                     "local %3 all %2\n"
                                     "local all +console_operator,+console_supervisor,"
                                     "+console_auditor,+console_compliance,+console_broker,"
                                     "+ledger_writer reject\n"
                                     "local all all %2\n")
                          .arg(m_settings.superuser, m_settings.localAuth, m_settings.database);
    if (!m_settings.extraHba.isEmpty())
        hbaText += m_settings.extraHba + QLatin1Char('\n');
    hba.write(hbaText.toUtf8());
    return {};
}

QString LocalCluster::logTail(int lines) const
{
    QFile f(logFile());
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return QStringLiteral("(no server log at %1)").arg(logFile());
    const QStringList all =
        QString::fromLocal8Bit(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    return all.mid(qMax(0, all.size() - lines)).join(QLatin1Char('\n'));
}

Status LocalCluster::start(int timeoutSeconds)
{
    const State s = state();
    if (s == State::NotACluster)
        return Error::make(Error::Kind::NotFound,
                           QStringLiteral("%1 is not a PostgreSQL cluster (no PG_VERSION). Run "
                                          "`ledgerctl demo start` on an empty or new directory.")
                               .arg(m_dataDir));
    if (s == State::Running)
        return {};
    if (auto m = installModules(); !m)
        return m;
    // A server killed hard leaves its pid file behind; pg_ctl copes with a stale one.
    int code = 0;
    const auto out = runServerBinary(QStringLiteral("pg_ctl"),
                                     {QStringLiteral("-D"), m_dataDir, QStringLiteral("-l"),
                                      logFile(), QStringLiteral("-w"), QStringLiteral("-t"),
                                      QString::number(timeoutSeconds), QStringLiteral("start")},
                                     timeoutSeconds + 10, &code);
    if (!out)
        return out.error();
    if (code != 0)
        return Error::make(Error::Kind::Server,
                           QStringLiteral("The PostgreSQL server in %1 did not start. Last lines "
                                          "of its log (%2):\n%3")
                               .arg(m_dataDir, logFile(), logTail()),
                           out.value());
    return {};
}

Status LocalCluster::stop(bool immediate)
{
    const State s = state();
    if (s == State::NotACluster)
        return Error::make(Error::Kind::NotFound,
                           QStringLiteral("%1 is not a PostgreSQL cluster.").arg(m_dataDir));
    if (s == State::Stopped)
        return {};
    const auto out =
        runServerBinary(QStringLiteral("pg_ctl"),
                        {QStringLiteral("-D"), m_dataDir, QStringLiteral("-m"),
                         immediate ? QStringLiteral("immediate") : QStringLiteral("fast"),
                         QStringLiteral("-w"), QStringLiteral("stop")},
                        90);
    if (!out)
        return out.error();
    return {};
}

QString LocalCluster::dsn(const QString &user, const QString &database) const
{
    return QStringLiteral("host=%1 port=%2 dbname=%3 user=%4")
        .arg(dsnQuote(m_dataDir))
        .arg(m_settings.port)
        .arg(dsnQuote(database.isEmpty() ? m_settings.database : database),
             dsnQuote(user.isEmpty() ? m_settings.superuser : user));
}

Status LocalCluster::ensureDatabase()
{
    try {
        Connection c(dsn(m_settings.superuser, QStringLiteral("postgres")),
                     QStringLiteral("ledgerctl"));
        DatabaseAdmin::createDatabaseIfMissing(c, m_settings.database, m_settings.purpose);
        // Databases made by earlier versions are marked too: this cluster is ours.
        DatabaseAdmin::markDeployment(c, m_settings.database, m_settings.purpose);
    } catch (const DbException &e) {
        return e.error();
    }
    return {};
}

} // namespace ledger
