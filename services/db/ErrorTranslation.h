#pragma once

#include "domain/Error.h"

namespace ledger::db {

// Pure functions (no libpqxx) so that unit tests can check every mapping.

// Our own SQLSTATEs, raised by the ledger's functions (class "LG"). The server's
// message text is already written for people; it is shown as it is.
inline constexpr const char *kLedgerSqlStateClass = "LG";

// A server error (SQLSTATE + message) as a person should read it.
Error translateServerError(const QString &sqlState, const QString &serverMessage);

// A failure to connect, or a connection lost mid-way.
Error translateConnectionFailure(const QString &driverMessage);

} // namespace ledger::db
