#pragma once

#include <QString>

namespace ledger {

class Connection;

// Cluster-level chores for ledgerctl and the test fixture. Synchronous; throws
// DbException.
namespace DatabaseAdmin {

// True when it had to create the database. `purpose` ("demo" or "test") marks it as a
// throwaway database (see markDeployment); only private clusters and tests create
// databases this way.
bool createDatabaseIfMissing(Connection &connection, const QString &name, const QString &purpose);

// Marks a database as created for a demo or for tests (a database-level setting,
// ledger.deployment, that only its owner or a superuser can change). `ledgerctl seed`,
// which drops indexes and foreign keys and disables triggers, runs only on such databases.
void markDeployment(Connection &connection, const QString &database, const QString &purpose);
// The mark of the connection's database: "demo", "test", or empty (a real deployment).
QString deploymentOf(Connection &connection);

// Creates (or resets the password of) a login role that is a member of `group`. For test
// clusters and the demo set-up; never for production sessions (Step 3 mints those).
void ensureLoginRole(Connection &connection, const QString &role, const QString &password,
                     const QString &group);

} // namespace DatabaseAdmin

} // namespace ledger
