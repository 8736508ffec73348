#pragma once

#include "domain/Error.h"

namespace ledger::db {

// Pure functions (no libpqxx) so that unit tests can check every mapping.

// Our own SQLSTATEs, raised by the ledger's functions (class "LG"). The server's
// message text is already written for people; it is shown as it is.
inline constexpr const char *kLedgerSqlStateClass = "LG";

// A server error (SQLSTATE + message) as a person should read it.
Error translateServerError(const QString &sqlState, const QString &serverMessage);

// The SQLSTATE at the start of a verbose server message ("ERROR:  42501: permission ..."),
// or an empty string. Connections run with verbose errors because libpqxx 6 drops the
// SQLSTATE of the error classes it maps to its own exception types.
QString sqlStateFromMessage(const QString &serverMessage);

// A failure to connect, or a connection lost mid-way.
Error translateConnectionFailure(const QString &driverMessage);

} // namespace ledger::db
