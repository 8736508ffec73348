#pragma once

#include <QMetaType>
#include <QString>

namespace ledger {

// One error type for the whole services layer. `message` is written for the person in
// front of the console or the terminal: what went wrong and what to do about it.
// `detail` keeps the raw driver or server text for logs and a "details" pane.
struct Error
{
    enum class Kind {
        Input,          // the request itself is wrong; fix it and try again
        NotFound,       // the thing asked for does not exist
        Conflict,       // clashes with what is already there (duplicate, changed file)
        Permission,     // the signed-in role may not do this
        Connection,     // could not reach the server, or the connection was lost
        Authentication, // the server refused the credentials (28P01, 28000 at sign-in)
        Server,         // the server refused for another reason
        Io,             // local files, processes, the keychain
        Timeout,        // gave up waiting
        Internal,       // a bug: should never be seen
        // No credentials at all (signed out, locked): refused before any connection is tried.
        NotSignedIn,
        // The console's time-limited session (services/db/ErrorTranslation.cpp maps these from
        // the ledger's own SQLSTATEs; the message is the server's, plus what to do).
        SessionExpired,     // LG041
        SessionRevoked,     // LG042
        SessionEnded,       // LG044 (signed out)
        NotConsoleSession,  // LG046
        OperatorDisabled,   // LG040
        RateLimited,        // LG043: too many sign-ins per minute (retryable, after a while)
        TooManySessions,    // LG039: too many open sessions for the operator
        TooManyConnections, // 53300: no connection slot for this role or server (retryable)
        Busy,               // 55P03: a lock wait timed out; nothing was saved (retryable)
        Tls,                // no TLS connection the chosen mode accepts (certificate, name)
        Cancelled           // the user stopped it; nothing of it was kept
    };

    Kind kind = Kind::Internal;
    QString message;
    QString sqlState;
    QString detail;
    bool retryable = false;

    static Error make(Kind kind, QString message, QString detail = {})
    {
        Error e;
        e.kind = kind;
        e.message = std::move(message);
        e.detail = std::move(detail);
        e.retryable = isRetryable(kind);
        return e;
    }

    // Whether trying the same thing again later may help, for a kind as such.
    static bool isRetryable(Kind kind)
    {
        return kind == Kind::Connection || kind == Kind::Timeout || kind == Kind::RateLimited ||
               kind == Kind::TooManyConnections || kind == Kind::Busy;
    }

    // The session behind the console's connection is over (expired, revoked, ended, no longer
    // accepted): the console locks and asks for a new sign-in.
    bool endsSession() const;

    // Message and, when they add something, SQLSTATE and detail on one line.
    QString describe() const;
};

QString kindName(Error::Kind kind);

} // namespace ledger

Q_DECLARE_METATYPE(ledger::Error)
