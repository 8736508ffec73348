#pragma once

#include "MigrationSet.h"

#include <QDateTime>
#include <QList>
#include <QString>

namespace ledger {

class Connection;

struct AppliedMigration
{
    int version = 0;
    QString name;
    QString sha256;
    QDateTime appliedAt;
};

struct MigrationStatus
{
    QList<AppliedMigration> applied;
    QList<Migration> pending;
    int databaseVersion = 0;
};

// Applies migrations in order, each in its own transaction, and records version, name and
// SHA-256 in ledger_meta.schema_migrations. A session advisory lock keeps two migrators
// from racing. Refuses (DbException, kind Conflict) when an applied migration's file has
// changed or the database knows migrations this build does not. Synchronous: call it from
// ledgerctl or a worker thread. Needs a superuser (it creates cluster-wide roles).
class Migrator
{
public:
    Migrator(Connection &connection, MigrationSet set);

    MigrationStatus status();
    // Returns the migrations it applied (empty when the database was up to date).
    QList<Migration> migrate();

private:
    QList<AppliedMigration> readApplied();
    void verifyApplied(const QList<AppliedMigration> &applied);

    Connection &m_connection;
    MigrationSet m_set;
};

} // namespace ledger
