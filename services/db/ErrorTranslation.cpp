#include "ErrorTranslation.h"

#include <QRegularExpression>
#include <QStringList>

namespace ledger::db {

namespace {

// libpq writes a server error as "<SEVERITY>:  <SQLSTATE>: <message>" when verbose (two
// spaces after the severity, which the server may have translated: "FEHLER", "ERREUR").
const QRegularExpression &sqlStatePattern()
{
    static const QRegularExpression re(QStringLiteral(R"((?:^|[\s:])[^\s:]+:  ([0-9A-Z]{5}): )"));
    return re;
}

// The line of a server error a person needs: after the severity and the SQLSTATE (which is
// reported separately), without libpq's "connection to server ... failed:" lead-in or the
// DETAIL/HINT/LOCATION lines. Only for display; nothing is decided on it.
QString serverLine(const QString &message)
{
    const QString text = message.trimmed();
    QRegularExpressionMatch last;
    for (auto it = sqlStatePattern().globalMatch(text); it.hasNext();)
        last = it.next();
    QString line;
    if (last.hasMatch()) {
        line = text.mid(last.capturedEnd()).section(QLatin1Char('\n'), 0, 0).trimmed();
    } else {
        line = text.section(QLatin1Char('\n'), 0, 0).trimmed();
        // Terse or normal verbosity: "<SEVERITY>:  <message>".
        static const QRegularExpression severity(QStringLiteral(R"(^[^\s:]{2,16}:  )"));
        line.remove(severity);
    }
    return line;
}

// Joins the server's sentence and ours, with one full stop between them.
QString sentence(const QString &serverText, const QString &advice)
{
    QString s = serverText.trimmed();
    if (s.isEmpty())
        return advice;
    if (!s.endsWith(QLatin1Char('.')) && !s.endsWith(QLatin1Char('!')) &&
        !s.endsWith(QLatin1Char('?')))
        s += QLatin1Char('.');
    return s + QLatin1Char(' ') + advice;
}

} // namespace

QString sqlStateFromMessage(const QString &serverMessage)
{
    QString state;
    for (auto it = sqlStatePattern().globalMatch(serverMessage); it.hasNext();)
        state = it.next().captured(1);
    return state;
}

Error translateServerError(const QString &sqlState, const QString &serverMessage)
{
    const QString text = serverLine(serverMessage);
    Error e;
    e.sqlState = sqlState;
    e.detail = serverMessage.trimmed();
    const QString cls = sqlState.left(2);
    auto is = [&](const char *state) { return sqlState == QLatin1String(state); };

    // The console's session and sign-in (0007_access_sessions.sql and later): their own
    // kinds, so that the console can tell "sign in again" from "wait" from "ask someone".
    if (is("LG041")) {
        e.kind = Error::Kind::SessionExpired;
        e.message = sentence(text, QStringLiteral("Sign in again to continue."));
    } else if (is("LG042")) {
        e.kind = Error::Kind::SessionRevoked;
        e.message = sentence(text, QStringLiteral("Sign in again; if that is refused, ask an "
                                                  "administrator."));
    } else if (is("LG044")) {
        e.kind = Error::Kind::SessionEnded;
        e.message = sentence(text, QStringLiteral("Sign in again to continue."));
    } else if (is("LG046")) {
        e.kind = Error::Kind::NotConsoleSession;
        e.message = sentence(text, QStringLiteral("Only a signed-in console session may do "
                                                  "this; sign in again."));
    } else if (is("LG040")) {
        e.kind = Error::Kind::OperatorDisabled;
        e.message = sentence(text, QStringLiteral("Ask an administrator to enable the operator "
                                                  "again."));
    } else if (is("LG043")) {
        e.kind = Error::Kind::RateLimited;
        e.retryable = true;
        e.message = sentence(text, QStringLiteral("Wait a minute, then sign in again."));
    } else if (is("LG039")) {
        e.kind = Error::Kind::TooManySessions;
        e.message = sentence(text, QStringLiteral("Sign out in another console window, or wait "
                                                  "until one of your sessions ends."));
    } else if (cls == QLatin1String(kLedgerSqlStateClass)) {
        // Raised by our own functions with a message meant for people.
        e.kind = Error::Kind::Input;
        e.message = text;
    } else if (is("28P01") || is("28000")) {
        // At sign-in: a wrong or expired secret, an unknown or disabled login, no pg_hba.conf
        // entry. The server says no more than that on purpose.
        e.kind = Error::Kind::Authentication;
        e.message = QStringLiteral("The server refused the sign-in (%1): the user name or "
                                   "secret is wrong, or the login is disabled or has expired "
                                   "(the server does not say which).")
                        .arg(text);
    } else if (is("53300")) {
        e.kind = Error::Kind::TooManyConnections;
        e.retryable = true;
        e.message = QStringLiteral("The server has no connection to spare for this sign-in "
                                   "(%1). Close other console windows, or wait a moment and "
                                   "try again.")
                        .arg(text);
    } else if (is("55P03")) {
        e.kind = Error::Kind::Busy;
        e.retryable = true;
        e.message = QStringLiteral("The ledger is busy: what this needs is held by other work "
                                   "(%1). Nothing was saved; try again in a moment.")
                        .arg(text);
    } else if (cls == QLatin1String("08") || is("57P01") || is("57P02") || is("57P03")) {
        e.kind = Error::Kind::Connection;
        e.retryable = true;
        e.message = QStringLiteral("The database server ended the connection (%1). Reconnect "
                                   "and try again; if it keeps happening, ask the database "
                                   "administrator whether the server is being restarted.")
                        .arg(text);
    } else if (is("40001") || is("40P01")) {
        e.kind = Error::Kind::Conflict;
        e.retryable = true;
        e.message = QStringLiteral("Another change got in the way (%1). Nothing was saved; "
                                   "try again.")
                        .arg(text);
    } else if (is("42501")) {
        e.kind = Error::Kind::Permission;
        e.message = QStringLiteral("Not allowed for the signed-in role: %1. Ask for the "
                                   "right role, or have someone who holds it do this.")
                        .arg(text);
    } else if (is("23505")) {
        e.kind = Error::Kind::Conflict;
        e.message = QStringLiteral("Already exists: %1").arg(text);
    } else if (cls == QLatin1String("23") || cls == QLatin1String("22")) {
        e.kind = Error::Kind::Input;
        e.message = QStringLiteral("The database rejected the values: %1").arg(text);
    } else if (is("3D000")) {
        e.kind = Error::Kind::NotFound;
        e.message = QStringLiteral("The database named in the connection settings does not "
                                   "exist (%1). Check the database name.")
                        .arg(text);
    } else if (is("42P01") || is("3F000") || is("42883")) {
        e.kind = Error::Kind::Server;
        e.message = QStringLiteral("The database is missing part of the ledger schema (%1). "
                                   "Run `ledgerctl migrate` against it.")
                        .arg(text);
    } else if (is("53100")) {
        // disk_full: waiting does not help; someone must free space on the server.
        e.kind = Error::Kind::Server;
        e.retryable = false;
        e.message = QStringLiteral("The database server's disk is full (%1). The step that "
                                   "ran out of space saved nothing. Have the database "
                                   "administrator free space, then try again.")
                        .arg(text);
    } else if (cls == QLatin1String("53") || is("57014")) {
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

Error translateConnectionFailure(const ConnectFailure &failure)
{
    const QString raw = failure.message.trimmed();
    // A server that answered with an error decides by its SQLSTATE.
    if (!failure.sqlState.isEmpty()) {
        Error e = translateServerError(failure.sqlState, raw);
        e.detail = raw;
        return e;
    }
    Error e;
    e.detail = raw;
    QString reason = raw.section(QLatin1Char('\n'), 0, 0).trimmed();
    if (reason.isEmpty())
        reason = QStringLiteral("no reason given");
    const QString where =
        failure.target.isEmpty() ? QString() : QStringLiteral(" at %1").arg(failure.target);
    if (failure.needsPassword) {
        e.kind = Error::Kind::Authentication;
        e.message = QStringLiteral("The server%1 asks for a password and none was given. Sign "
                                   "in with the operator's secret.")
                        .arg(where);
        return e;
    }
    switch (failure.stage) {
    case ConnectFailure::Stage::Tls:
        e.kind = Error::Kind::Tls;
        e.message =
            QStringLiteral("No secure connection to the server%1 in TLS mode %2 (%3). In "
                           "verify-full mode the server's certificate must be signed by the CA "
                           "certificate chosen for this server and name the host as typed; ask "
                           "the database administrator for the right CA certificate.")
                .arg(where,
                     failure.sslMode.isEmpty() ? QStringLiteral("(libpq's default)")
                                               : failure.sslMode,
                     reason);
        return e;
    case ConnectFailure::Stage::TimedOut:
        e.kind = Error::Kind::Connection;
        e.retryable = true;
        e.message = QStringLiteral("Could not reach the database server%1: no answer in time. "
                                   "Check that it is running and that the host and port are "
                                   "right, then retry.")
                        .arg(where);
        return e;
    case ConnectFailure::Stage::Server:
        e.kind = Error::Kind::Connection;
        e.retryable = true;
        e.message = QStringLiteral("The database server%1 ended the connection while it was "
                                   "being set up (%2). Retry; if it keeps happening, ask the "
                                   "database administrator.")
                        .arg(where, reason);
        return e;
    case ConnectFailure::Stage::Reaching:
        break;
    }
    e.kind = Error::Kind::Connection;
    e.retryable = true;
    e.message = QStringLiteral("Could not reach the database server%1 (%2). Check that it is "
                               "running and that the host, port and socket directory are "
                               "right, then retry.")
                    .arg(where, reason);
    return e;
}

Error translateLostConnection(const QString &driverMessage)
{
    const QString raw = driverMessage.trimmed();
    const QString state = sqlStateFromMessage(raw);
    if (!state.isEmpty())
        return translateServerError(state, raw); // 57P01 and friends: Connection
    Error e;
    e.kind = Error::Kind::Connection;
    e.retryable = true;
    e.detail = raw;
    QString reason = raw.section(QLatin1Char('\n'), 0, 0).trimmed();
    if (reason.isEmpty())
        reason = QStringLiteral("connection lost");
    e.message = QStringLiteral("Lost the connection to the database server (%1). Reconnect and "
                               "try again; if it keeps happening, ask the database "
                               "administrator.")
                    .arg(reason);
    return e;
}

} // namespace ledger::db
