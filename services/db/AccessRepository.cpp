#include "AccessRepository.h"

#include "Native.h"

#include "session/ScramVerifier.h"

#include <QJsonDocument>

namespace ledger::AccessRepository {

namespace {

using db::utcColumn;

QDateTime utc(const pqxx::field &f)
{
    return db::parseUtc(f);
}

QStringList textArray(const pqxx::field &f)
{
    // array_to_string on the server side keeps this simple: groups never contain commas.
    const QString s = db::toQString(f);
    return s.isEmpty() ? QStringList() : s.split(QLatin1Char(','));
}

std::optional<std::string> interval(std::optional<qint64> seconds)
{
    if (!seconds)
        return std::nullopt;
    return std::to_string(*seconds) + " seconds";
}

} // namespace

QString brokerRole(const QString &operatorName)
{
    return QStringLiteral("lc_op_") + operatorName;
}

QString addOperator(Connection &admin, const QString &name, const QStringList &groups,
                    const QString &secret)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(admin));
        const auto r = tx.exec_params(
            "SELECT access.add_operator($1, string_to_array($2, ','), $3)", db::toStd(name),
            db::toStd(groups.join(QLatin1Char(','))), db::scramVerifier(secret));
        const QString role = db::toQString(r[0][0]);
        tx.commit();
        return role;
    });
}

int disableOperator(Connection &admin, const QString &name)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(admin));
        const int n =
            tx.exec_params("SELECT access.disable_operator($1)", db::toStd(name))[0][0].as<int>();
        tx.commit();
        return n;
    });
}

void setOperatorSecret(Connection &admin, const QString &name, const QString &secret)
{
    db::guarded([&] {
        pqxx::work tx(db::native(admin));
        tx.exec_params("SELECT access.set_operator_secret($1, $2)", db::toStd(name),
                       db::scramVerifier(secret));
        tx.commit();
    });
}

QList<Operator> operators(Connection &admin)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(admin));
        QList<Operator> out;
        for (const auto &row : tx.exec("SELECT name, broker_role, array_to_string(groups, ','), " +
                                       utcColumn("created_at") + ", " + utcColumn("disabled_at") +
                                       " FROM access.operators ORDER BY name")) {
            out.append({db::toQString(row[0]), db::toQString(row[1]), textArray(row[2]),
                        utc(row[3]), utc(row[4])});
        }
        return out;
    });
}

int revokeSessions(Connection &admin, const QString &operatorName)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(admin));
        const int n = tx.exec_params("SELECT access.revoke_operator_sessions($1)",
                                     db::toStd(operatorName))[0][0]
                          .as<int>();
        tx.commit();
        return n;
    });
}

ReapReport reap(Connection &admin)
{
    // Two transactions: the reaper must work even when the server log cannot be read, and
    // the log is read even when the reaper failed.
    ReapReport report;
    std::optional<DbException> reapFailure;
    try {
        report = db::guarded([&] {
            pqxx::work tx(db::native(admin));
            const auto r = tx.exec("SELECT sessions_reaped, connections_terminated, roles_kept, "
                                   "sessions_revoked, idle_terminated, transactions_terminated "
                                   "FROM access.reap()");
            tx.commit();
            ReapReport out;
            out.sessionsReaped = r[0][0].as<int>();
            out.connectionsTerminated = r[0][1].as<int>();
            out.rolesKept = r[0][2].as<int>();
            out.sessionsRevoked = r[0][3].as<int>();
            out.idleTerminated = r[0][4].as<int>();
            out.transactionsTerminated = r[0][5].as<int>();
            return out;
        });
    } catch (const DbException &e) {
        reapFailure = e;
    }
    try {
        db::guarded([&] {
            pqxx::work tx(db::native(admin));
            const auto f = tx.exec("SELECT access.collect_signin_failures(), "
                                   "access.server_log_backlog()");
            tx.commit();
            if (!f[0][0].is_null())
                report.signinFailures = f[0][0].as<int>();
            if (!f[0][1].is_null())
                report.logBacklogBytes = f[0][1].as<qint64>();
        });
    } catch (const DbException &e) {
        report.collectorError = e.error().message;
    }
    if (reapFailure)
        throw *reapFailure;
    return report;
}

QList<Session> sessions(Connection &admin, bool includeReaped)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(admin));
        QList<Session> out;
        const auto rows = tx.exec_params(
            "SELECT role_name, operator, array_to_string(groups, ','), " + utcColumn("issued_at") +
                ", " + utcColumn("expires_at") + ", " + utcColumn("max_until") +
                ", renewals, state, connections, coalesce(reap_note, '') FROM access.session_list "
                "WHERE $1 OR state <> 'reaped' ORDER BY issued_at DESC",
            includeReaped);
        for (const auto &row : rows) {
            Session s;
            s.role = db::toQString(row[0]);
            s.operatorName = db::toQString(row[1]);
            s.groups = textArray(row[2]);
            s.issuedAt = utc(row[3]);
            s.expiresAt = utc(row[4]);
            s.maxUntil = utc(row[5]);
            s.renewals = row[6].as<int>();
            s.state = db::toQString(row[7]);
            s.connections = row[8].as<int>();
            s.note = db::toQString(row[9]);
            out.append(s);
        }
        return out;
    });
}

Credentials issueSession(Connection &broker, std::optional<qint64> ttlSeconds,
                         const QJsonObject &client)
{
    // The password is made here and stays here: the server gets its SCRAM verifier.
    const QString password = ScramVerifier::randomPassword();
    const std::string verifier = db::scramVerifier(password);
    return db::guarded([&] {
        pqxx::work tx(db::native(broker));
        const auto r = tx.exec_params(
            "SELECT role_name, " + utcColumn("expires_at") + ", " + utcColumn("max_until") +
                " FROM access.issue_session($1, $2::interval, $3::jsonb)",
            verifier, interval(ttlSeconds),
            QJsonDocument(client).toJson(QJsonDocument::Compact).toStdString());
        Credentials c{db::toQString(r[0][0]), password, utc(r[0][1]), utc(r[0][2])};
        tx.commit();
        return c;
    });
}

SessionInfo sessionInfo(Connection &session)
{
    return db::guarded([&] {
        pqxx::nontransaction tx(db::native(session));
        const auto r = tx.exec("SELECT role_name, operator, array_to_string(groups, ','), " +
                               utcColumn("issued_at") + ", " + utcColumn("expires_at") + ", " +
                               utcColumn("max_until") + ", " + utcColumn("server_now") +
                               " FROM access.session_info()");
        return SessionInfo{
            db::toQString(r[0][0]), db::toQString(r[0][1]), textArray(r[0][2]), utc(r[0][3]),
            utc(r[0][4]),           utc(r[0][5]),           utc(r[0][6])};
    });
}

QDateTime renewSession(Connection &session, std::optional<qint64> ttlSeconds)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(session));
        const auto r = tx.exec_params("SELECT " + utcColumn("x") +
                                          " FROM access.renew_session($1::interval) x",
                                      interval(ttlSeconds));
        const QDateTime t = utc(r[0][0]);
        tx.commit();
        return t;
    });
}

void endSession(Connection &session)
{
    db::guarded([&] {
        pqxx::work tx(db::native(session));
        tx.exec("SELECT access.end_session()");
        tx.commit();
    });
}

} // namespace ledger::AccessRepository
