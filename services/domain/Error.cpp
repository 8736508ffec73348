#include "Error.h"

namespace ledger {

QString kindName(Error::Kind kind)
{
    switch (kind) {
    case Error::Kind::Input:
        return QStringLiteral("input");
    case Error::Kind::NotFound:
        return QStringLiteral("not-found");
    case Error::Kind::Conflict:
        return QStringLiteral("conflict");
    case Error::Kind::Permission:
        return QStringLiteral("permission");
    case Error::Kind::Connection:
        return QStringLiteral("connection");
    case Error::Kind::Authentication:
        return QStringLiteral("authentication");
    case Error::Kind::Server:
        return QStringLiteral("server");
    case Error::Kind::Io:
        return QStringLiteral("io");
    case Error::Kind::Timeout:
        return QStringLiteral("timeout");
    case Error::Kind::Internal:
        return QStringLiteral("internal");
    case Error::Kind::NotSignedIn:
        return QStringLiteral("not-signed-in");
    case Error::Kind::SessionExpired:
        return QStringLiteral("session-expired");
    case Error::Kind::SessionRevoked:
        return QStringLiteral("session-revoked");
    case Error::Kind::SessionEnded:
        return QStringLiteral("session-ended");
    case Error::Kind::NotConsoleSession:
        return QStringLiteral("not-console-session");
    case Error::Kind::OperatorDisabled:
        return QStringLiteral("operator-disabled");
    case Error::Kind::RateLimited:
        return QStringLiteral("rate-limited");
    case Error::Kind::TooManySessions:
        return QStringLiteral("too-many-sessions");
    case Error::Kind::TooManyConnections:
        return QStringLiteral("too-many-connections");
    case Error::Kind::Busy:
        return QStringLiteral("busy");
    case Error::Kind::Tls:
        return QStringLiteral("tls");
    case Error::Kind::Cancelled:
        return QStringLiteral("cancelled");
    }
    return QStringLiteral("internal");
}

bool Error::endsSession() const
{
    switch (kind) {
    case Kind::SessionExpired:
    case Kind::SessionRevoked:
    case Kind::SessionEnded:
    case Kind::NotConsoleSession:
    case Kind::OperatorDisabled:
    case Kind::Authentication:
        return true;
    default:
        return false;
    }
}

QString Error::describe() const
{
    QString text = message;
    if (!sqlState.isEmpty())
        text += QStringLiteral(" [SQLSTATE %1]").arg(sqlState);
    return text;
}

} // namespace ledger
