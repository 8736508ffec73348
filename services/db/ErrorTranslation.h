#pragma once

#include "domain/Error.h"

namespace ledger::db {

// Pure functions (no libpqxx) so that unit tests can check every mapping. Errors are told
// apart by SQLSTATE and by what libpq reports about the connection attempt, never by the
// text of a message: a server's messages are translated (lc_messages) and so are libpq's.

// Our own SQLSTATEs, raised by the ledger's functions (class "LG"). The server's
// message text is already written for people; it is shown as it is.
inline constexpr const char *kLedgerSqlStateClass = "LG";

// A server error (SQLSTATE + message) as a person should read it.
Error translateServerError(const QString &sqlState, const QString &serverMessage);

// The SQLSTATE a server error carries in a verbose libpq message ("ERROR:  42501: ...",
// "...failed: FATAL:  28P01: ..."): the last one in the text, or an empty string. The
// severity before it may be translated ("FEHLER"), so only its shape is matched.
// Connections run with verbose errors from before the first byte is sent, because libpq
// has no SQLSTATE accessor for a refused connection and libpqxx 6 drops the SQLSTATE of the
// error classes it maps to its own exception types.
QString sqlStateFromMessage(const QString &serverMessage);

// What libpq says about a connection attempt that failed.
struct ConnectFailure
{
    // How far the attempt got (libpq's connection status before it failed).
    enum class Stage {
        Reaching, // name lookup, socket, TCP: no answer from a PostgreSQL server
        Tls,      // TLS negotiation or certificate checks
        Server,   // the server answered and refused, or went away during start-up
        TimedOut  // no answer within the connection timeout
    };

    Stage stage = Stage::Reaching;
    QString message;            // libpq's text (verbose): for the detail, never for deciding
    QString sqlState;           // the server's SQLSTATE, when it sent an error
    bool needsPassword = false; // PQconnectionNeedsPassword: asked for one, none was given
    QString target;             // "host:port" or the socket directory, for the message
    QString sslMode;            // the TLS mode in use, for the message
};

// A failure to connect.
Error translateConnectionFailure(const ConnectFailure &failure);

// A connection lost in the middle of a session (libpqxx's broken_connection): the server's
// SQLSTATE when its message carries one (57P01 shut down, a terminated backend), otherwise a
// lost connection.
Error translateLostConnection(const QString &driverMessage);

} // namespace ledger::db
