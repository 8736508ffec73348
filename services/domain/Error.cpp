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
    }
    return QStringLiteral("internal");
}

QString Error::describe() const
{
    QString text = message;
    if (!sqlState.isEmpty())
        text += QStringLiteral(" [SQLSTATE %1]").arg(sqlState);
    return text;
}

} // namespace ledger
