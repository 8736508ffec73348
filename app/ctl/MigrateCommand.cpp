#include "Cli.h"

#include "db/Connection.h"
#include "db/Migrator.h"

#include <QJsonArray>

namespace ledger::cli {

namespace {

int runMigrate(const Invocation &inv)
{
    auto set = MigrationSet::builtIn();
    if (!set)
        return inv.fail(set.error());
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    Migrator migrator(connection, set.value());

    if (inv.parser->isSet(QStringLiteral("status"))) {
        const MigrationStatus s = migrator.status();
        if (inv.json) {
            QJsonArray pending;
            for (const Migration &m : s.pending)
                pending.append(m.name);
            inv.printJson({{QStringLiteral("ok"), true},
                           {QStringLiteral("version"), s.databaseVersion},
                           {QStringLiteral("latest"), set.value().latestVersion()},
                           {QStringLiteral("pending"), pending}});
        } else {
            inv.printLine(QStringLiteral("Database at version %1 of %2; %3 pending.")
                              .arg(s.databaseVersion)
                              .arg(set.value().latestVersion())
                              .arg(s.pending.size()));
            for (const Migration &m : s.pending)
                inv.printLine(QStringLiteral("  pending %1").arg(m.name));
        }
        return Ok;
    }

    const QList<Migration> applied = migrator.migrate();
    const int version = set.value().latestVersion();
    if (inv.json) {
        QJsonArray names;
        for (const Migration &m : applied)
            names.append(m.name);
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("applied"), names},
                       {QStringLiteral("version"), version}});
    } else if (applied.isEmpty()) {
        inv.printLine(QStringLiteral("Database is up to date (version %1).").arg(version));
    } else {
        for (const Migration &m : applied)
            inv.printLine(QStringLiteral("applied %1").arg(m.name));
        inv.printLine(QStringLiteral("Database now at version %1.").arg(version));
    }
    return Ok;
}

} // namespace

QList<Command> migrateCommands()
{
    Command migrate;
    migrate.name = QStringLiteral("migrate");
    migrate.summary = QStringLiteral("apply the ledger schema's migrations to a database");
    migrate.description = QStringLiteral(
        "Applies the SQL migrations built into ledgerctl, in order, each in its own "
        "transaction, and records version and SHA-256 in ledger_meta.schema_migrations. Does "
        "nothing when the database is up to date. Refuses when an applied migration's file has "
        "changed since, or when the database is newer than this build. Connect as a superuser "
        "(migrations create cluster-wide roles).");
    migrate.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("status"),
                     QStringLiteral("Only show the database's version and what is pending.")});
    };
    migrate.run = runMigrate;
    return {migrate};
}

} // namespace ledger::cli
