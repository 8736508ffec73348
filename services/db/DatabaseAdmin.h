#pragma once

#include <QString>

namespace ledger {

class Connection;

// Cluster-level chores for ledgerctl and the test fixture. Synchronous; throws
// DbException.
namespace DatabaseAdmin {

// True when it had to create the database.
bool createDatabaseIfMissing(Connection &connection, const QString &name);

// Creates (or resets the password of) a login role that is a member of `group`. For test
// clusters and the demo set-up; never for production sessions (Step 3 mints those).
void ensureLoginRole(Connection &connection, const QString &role, const QString &password,
                     const QString &group);

} // namespace DatabaseAdmin

} // namespace ledger
