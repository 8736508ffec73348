#include "Cli.h"

#include "cluster/LocalCluster.h"
#include "db/Connection.h"
#include "db/Migrator.h"

namespace ledger::cli {

namespace {

void addDirOption(QCommandLineParser &p)
{
    p.addOption(
        {QStringLiteral("dir"),
         QStringLiteral("Cluster directory (default: %1).").arg(LocalCluster::defaultDemoDir()),
         QStringLiteral("DIR")});
}

QString dirOf(const Invocation &inv)
{
    const QString dir = inv.parser->value(QStringLiteral("dir"));
    return dir.isEmpty() ? LocalCluster::defaultDemoDir() : dir;
}

// LocalCluster's errors may end with the last lines of the server's log or of initdb's
// output. The error stays one line; with text output the log follows it on stderr, indented,
// each of its lines escaped on its own (a log line may quote whatever a client sent).
int failWithLog(const Invocation &inv, const Error &error)
{
    QStringList lines = error.message.split(QLatin1Char('\n'));
    if (lines.size() == 1 || inv.json)
        return inv.fail(error);
    Error first = error;
    first.message = lines.takeFirst();
    inv.fail(first);
    for (const QString &line : std::as_const(lines))
        inv.progress(QStringLiteral("    ") + line);
    return Failed;
}

int runStart(const Invocation &inv)
{
    LocalCluster cluster(dirOf(inv));
    if (!cluster.isInitialized()) {
        inv.progress(QStringLiteral("Creating a new cluster in %1 ...").arg(cluster.dataDir()));
        if (auto s = cluster.initialize(); !s)
            return failWithLog(inv, s.error());
    }
    if (auto s = cluster.start(); !s)
        return failWithLog(inv, s.error());
    if (auto s = cluster.ensureDatabase(); !s)
        return failWithLog(inv, s.error());
    auto set = MigrationSet::builtIn();
    if (!set)
        return inv.fail(set.error());
    Connection connection(cluster.dsn(), QStringLiteral("ledgerctl"));
    const auto applied = Migrator(connection, set.value()).migrate();
    if (!applied.isEmpty())
        inv.progress(QStringLiteral("Applied %1 migration(s).").arg(applied.size()));
    inv.progress(
        QStringLiteral("Demo cluster running in %1 (stop it with `ledgerctl demo stop%2`).")
            .arg(cluster.dataDir(),
                 inv.parser->isSet(QStringLiteral("dir"))
                     ? QStringLiteral(" --dir ") + inv.parser->value(QStringLiteral("dir"))
                     : QString()));
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("state"), QStringLiteral("running")},
                       {QStringLiteral("dir"), cluster.dataDir()},
                       {QStringLiteral("dsn"), cluster.dsn()}});
    else
        inv.printLine(cluster.dsn()); // alone on stdout: DSN=$(ledgerctl demo start)
    return Ok;
}

int runStop(const Invocation &inv)
{
    LocalCluster cluster(dirOf(inv));
    if (auto s = cluster.stop(); !s)
        return failWithLog(inv, s.error());
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("state"), QStringLiteral("stopped")},
                       {QStringLiteral("dir"), cluster.dataDir()}});
    else
        inv.printLine(QStringLiteral("Demo cluster in %1 is stopped.").arg(cluster.dataDir()));
    return Ok;
}

int runStatus(const Invocation &inv)
{
    LocalCluster cluster(dirOf(inv));
    const auto state = cluster.state();
    const QString name = state == LocalCluster::State::Running   ? QStringLiteral("running")
                         : state == LocalCluster::State::Stopped ? QStringLiteral("stopped")
                                                                 : QStringLiteral("absent");
    if (inv.json) {
        QJsonObject o{{QStringLiteral("ok"), true},
                      {QStringLiteral("state"), name},
                      {QStringLiteral("dir"), cluster.dataDir()}};
        if (state != LocalCluster::State::NotACluster)
            o.insert(QStringLiteral("dsn"), cluster.dsn());
        inv.printJson(o);
    } else if (state == LocalCluster::State::NotACluster) {
        inv.printLine(
            QStringLiteral("No demo cluster in %1 (create one with `ledgerctl demo start`).")
                .arg(cluster.dataDir()));
    } else {
        inv.printLine(QStringLiteral("%1: %2").arg(cluster.dataDir(), name));
        inv.printLine(QStringLiteral("DSN: %1").arg(cluster.dsn()));
    }
    // Like pg_ctl status: 0 running, 3 stopped, 4 no cluster.
    return state == LocalCluster::State::Running   ? 0
           : state == LocalCluster::State::Stopped ? 3
                                                   : 4;
}

} // namespace

QList<Command> demoCommands()
{
    Command start;
    start.name = QStringLiteral("demo start");
    start.summary = QStringLiteral(
        "create (first time), start and migrate a private local cluster; print its DSN");
    start.description = QStringLiteral(
        "Creates a private PostgreSQL cluster in DIR the first time, starts it on a Unix socket "
        "inside DIR (no TCP), creates the 'ledger' database, applies the migrations and prints "
        "the DSN alone on stdout. Works as an ordinary user; as root the server runs as the "
        "unprivileged user $LEDGER_CLUSTER_USER (default 'postgres'), since PostgreSQL refuses "
        "to run as root. PostgreSQL's server binaries are found in $PG_BINDIR, "
        "/usr/lib/postgresql/*/bin, or PATH.");
    start.needsDsn = false;
    start.addOptions = addDirOption;
    start.run = runStart;

    Command stop;
    stop.name = QStringLiteral("demo stop");
    stop.summary = QStringLiteral("stop the local demo cluster");
    stop.description =
        QStringLiteral("Stops the demo cluster's server (fast shutdown). Its data stays in DIR.");
    stop.needsDsn = false;
    stop.addOptions = addDirOption;
    stop.run = runStop;

    Command status;
    status.name = QStringLiteral("demo status");
    status.summary = QStringLiteral("tell whether the demo cluster exists and runs, and its DSN");
    status.description = QStringLiteral(
        "Prints the demo cluster's state and DSN. Exit status 0: running, 3: stopped, 4: no "
        "cluster in DIR.");
    status.needsDsn = false;
    status.addOptions = addDirOption;
    status.run = runStatus;
    return {start, stop, status};
}

} // namespace ledger::cli
