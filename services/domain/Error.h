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
        Authentication, // wrong credentials
        Server,         // the server refused for another reason
        Io,             // local files, processes, the keychain
        Timeout,        // gave up waiting
        Internal        // a bug: should never be seen
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
        e.retryable = kind == Kind::Connection || kind == Kind::Timeout;
        return e;
    }

    // Message and, when they add something, SQLSTATE and detail on one line.
    QString describe() const;
};

QString kindName(Error::Kind kind);

} // namespace ledger

Q_DECLARE_METATYPE(ledger::Error)
