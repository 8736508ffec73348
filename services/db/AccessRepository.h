#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace ledger {

class Connection;

// Operators and their time-limited sessions (the access schema). Synchronous; throws
// DbException. The rules (who may issue, lifetimes, rate limits, refusal after expiry,
// reaping) are the database's; see 0007_access_sessions.sql.
namespace AccessRepository {

// The operator's broker login role: what the long-lived secret signs in as.
QString brokerRole(const QString &operatorName);

struct Credentials
{
    QString role;
    QString password; // made by the client, never sent: the server has only its verifier
    QDateTime expiresAt;
    QDateTime maxUntil;
};

struct SessionInfo
{
    QString role;
    QString operatorName;
    QStringList groups;
    QDateTime issuedAt;
    QDateTime expiresAt;
    QDateTime maxUntil;
    QDateTime serverNow;
};

struct Operator
{
    QString name;
    QString brokerRole;
    QStringList groups;
    QDateTime createdAt;
    QDateTime disabledAt; // invalid while active
};

struct Session
{
    QString role;
    QString operatorName;
    QStringList groups;
    QDateTime issuedAt;
    QDateTime expiresAt;
    QDateTime maxUntil;
    int renewals = 0;
    QString state; // active, expired, ended, revoked, reaped
    int connections = 0;
    QString note;
};

struct ReapReport
{
    int sessionsReaped = 0;
    int connectionsTerminated = 0;
    int rolesKept = 0;
    int sessionsRevoked = 0; // a session that set its own password
    int idleTerminated = 0;  // backends past their idle limits
    // Backends whose writing transaction stayed open past access.settings'
    // max_writing_transaction (they held locks and the audit sealer's floor).
    int transactionsTerminated = 0;
    // Failed sign-ins and refusals recorded from the server log; empty: no CSV log, or the
    // collector failed (collectorError says why; the reaping above is done regardless).
    std::optional<int> signinFailures;
    QString collectorError;
    // Bytes of the current server log not read yet (a log written faster than the
    // collector reads it falls behind); empty without a CSV log.
    std::optional<qint64> logBacklogBytes;
};

// Administrators (a superuser connection). Secrets are printable ASCII; only their SCRAM
// verifiers reach the server.
QString addOperator(Connection &admin, const QString &name, const QStringList &groups,
                    const QString &secret);
int disableOperator(Connection &admin, const QString &name); // returns sessions revoked
void setOperatorSecret(Connection &admin, const QString &name, const QString &secret);
QList<Operator> operators(Connection &admin);
int revokeSessions(Connection &admin, const QString &operatorName);
ReapReport reap(Connection &admin);
QList<Session> sessions(Connection &admin, bool includeReaped);

// The broker connection (operator's secret): mints a session. ttlSeconds empty = default.
Credentials issueSession(Connection &broker, std::optional<qint64> ttlSeconds,
                         const QJsonObject &client);

// The session's own connection.
SessionInfo sessionInfo(Connection &session);
QDateTime renewSession(Connection &session, std::optional<qint64> ttlSeconds = std::nullopt);
void endSession(Connection &session);

} // namespace AccessRepository

} // namespace ledger
