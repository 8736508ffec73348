#include "ErrorTranslation.h"

#include <QRegularExpression>
#include <QStringList>

namespace ledger::db {

namespace {

// libpq prefixes messages with "ERROR:  " and appends DETAIL/HINT lines; the first line
// without the severity is what a person needs.
QString firstLine(const QString &message)
{
    QString line = message.section(QLatin1Char('\n'), 0, 0).trimmed();
    for (const char *prefix : {"ERROR:", "FATAL:", "PANIC:"}) {
        const QString p = QString::fromLatin1(prefix);
        if (line.startsWith(p))
            line = line.mid(p.size()).trimmed();
    }
    // Verbose messages put the SQLSTATE first; it is reported separately.
    static const QRegularExpression code(QStringLiteral("^[0-9A-Z]{5}: "));
    line.remove(code);
    return line;
}

} // namespace

QString sqlStateFromMessage(const QString &serverMessage)
{
    static const QRegularExpression re(
        QStringLiteral(R"(^(?:ERROR|FATAL|PANIC):\s+([0-9A-Z]{5}):)"));
    const auto m = re.match(serverMessage.trimmed());
    return m.hasMatch() ? m.captured(1) : QString();
}

Error translateServerError(const QString &sqlState, const QString &serverMessage)
{
    const QString text = firstLine(serverMessage);
    Error e;
    e.sqlState = sqlState;
    e.detail = serverMessage.trimmed();
    const QString cls = sqlState.left(2);

    if (sqlState == QLatin1String("LG041") || sqlState == QLatin1String("LG042") ||
        sqlState == QLatin1String("LG044")) {
        // The console session expired, was revoked or ended: sign in again.
        e.kind = Error::Kind::Authentication;
        e.message = text;
    } else if (cls == QLatin1String(kLedgerSqlStateClass)) {
        // Raised by our own functions with a message meant for people.
        e.kind = Error::Kind::Input;
        e.message = text;
    } else if (cls == QLatin1String("08") || sqlState == QLatin1String("57P01") ||
               sqlState == QLatin1String("57P02") || sqlState == QLatin1String("57P03")) {
        e.kind = Error::Kind::Connection;
        e.retryable = true;
        e.message = QStringLiteral("The database server ended the connection (%1). Reconnect "
                                   "and try again; if it keeps happening, ask the database "
                                   "administrator whether the server is being restarted.")
                        .arg(text);
    } else if (sqlState == QLatin1String("40001") || sqlState == QLatin1String("40P01")) {
        e.kind = Error::Kind::Conflict;
        e.retryable = true;
        e.message = QStringLiteral("Another change got in the way (%1). Nothing was saved; "
                                   "try again.")
                        .arg(text);
    } else if (sqlState == QLatin1String("28P01") || sqlState == QLatin1String("28000")) {
        e.kind = Error::Kind::Authentication;
        e.message = QStringLiteral("The server refused the credentials (%1). Check the user "
                                   "name and secret.")
                        .arg(text);
    } else if (sqlState == QLatin1String("42501")) {
        e.kind = Error::Kind::Permission;
        e.message = QStringLiteral("Not allowed for the signed-in role: %1. Ask for the "
                                   "right role, or have someone who holds it do this.")
                        .arg(text);
    } else if (sqlState == QLatin1String("23505")) {
        e.kind = Error::Kind::Conflict;
        e.message = QStringLiteral("Already exists: %1").arg(text);
    } else if (cls == QLatin1String("23") || cls == QLatin1String("22")) {
        e.kind = Error::Kind::Input;
        e.message = QStringLiteral("The database rejected the values: %1").arg(text);
    } else if (sqlState == QLatin1String("3D000")) {
        e.kind = Error::Kind::NotFound;
        e.message =
            QStringLiteral("%1. Check the database name in the connection settings.").arg(text);
    } else if (sqlState == QLatin1String("42P01") || sqlState == QLatin1String("3F000") ||
               sqlState == QLatin1String("42883")) {
        e.kind = Error::Kind::Server;
        e.message = QStringLiteral("The database is missing part of the ledger schema (%1). "
                                   "Run `ledgerctl migrate` against it.")
                        .arg(text);
    } else if (cls == QLatin1String("53") || sqlState == QLatin1String("55P03") ||
               sqlState == QLatin1String("57014")) {
        e.kind = Error::Kind::Server;
        e.retryable = true;
        e.message = QStringLiteral("The server could not finish the request now (%1). Try "
                                   "again in a moment.")
                        .arg(text);
    } else {
        e.kind = Error::Kind::Server;
        e.message = QStringLiteral("The database refused the request: %1").arg(text);
    }
    return e;
}

Error translateConnectionFailure(const QString &driverMessage)
{
    const QString raw = driverMessage.trimmed();
    const QString lower = raw.toLower();
    Error e;
    e.detail = raw;
    // libpq folds authentication failures into the same exception as an unreachable
    // server; tell them apart by the text, since they call for different actions.
    if (lower.contains(QLatin1String("password authentication failed")) ||
        lower.contains(QLatin1String("authentication failed")) ||
        lower.contains(QLatin1String("no password supplied"))) {
        e.kind = Error::Kind::Authentication;
        e.sqlState = QStringLiteral("28P01");
        e.message = QStringLiteral("The server refused the sign-in: the user name or secret is "
                                   "wrong, or the credential has expired.");
        return e;
    }
    if (lower.contains(QLatin1String("is not permitted to log in"))) {
        e.kind = Error::Kind::Authentication;
        e.sqlState = QStringLiteral("28000");
        e.message = QStringLiteral(
            "The server does not let this login sign in: it was disabled, revoked or "
            "ended. Ask an administrator.");
        return e;
    }
    if (lower.contains(QLatin1String("does not exist")) &&
        lower.contains(QLatin1String("database"))) {
        e.kind = Error::Kind::NotFound;
        e.sqlState = QStringLiteral("3D000");
        e.message = QStringLiteral("The database named in the connection settings does not "
                                   "exist: %1")
                        .arg(raw.section(QLatin1Char('\n'), 0, 0));
        return e;
    }
    if (lower.contains(QLatin1String("role")) && lower.contains(QLatin1String("does not exist"))) {
        e.kind = Error::Kind::Authentication;
        e.sqlState = QStringLiteral("28000");
        e.message = QStringLiteral("The server does not know this user: %1")
                        .arg(raw.section(QLatin1Char('\n'), 0, 0));
        return e;
    }
    if (lower.contains(QLatin1String("invalid connection option")) ||
        lower.contains(QLatin1String("missing \"=\"")) ||
        lower.contains(QLatin1String("invalid uri"))) {
        e.kind = Error::Kind::Input;
        e.message = QStringLiteral("The connection string is not valid: %1")
                        .arg(raw.section(QLatin1Char('\n'), 0, 0));
        return e;
    }
    e.kind = Error::Kind::Connection;
    e.retryable = true;
    QString reason = raw.section(QLatin1Char('\n'), 0, 0);
    if (reason.isEmpty())
        reason = QStringLiteral("connection lost");
    e.message = QStringLiteral("Could not reach the database server (%1). Check that it is "
                               "running and that the host, port and socket directory are "
                               "right, then retry.")
                    .arg(reason);
    return e;
}

} // namespace ledger::db
