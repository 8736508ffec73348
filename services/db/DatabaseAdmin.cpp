#include "DatabaseAdmin.h"

#include "Native.h"

namespace ledger::DatabaseAdmin {

bool createDatabaseIfMissing(Connection &connection, const QString &name, const QString &purpose)
{
    const bool created = db::guarded([&] {
        pqxx::connection_base &c = db::native(connection);
        pqxx::nontransaction tx(c);
        const auto r =
            tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", db::toStd(name));
        if (!r.empty())
            return false;
        // CREATE DATABASE takes no parameters; quote_ident on the server does the quoting.
        const auto q = tx.exec_params("SELECT quote_ident($1)", db::toStd(name));
        tx.exec("CREATE DATABASE " + q[0][0].as<std::string>());
        return true;
    });
    if (created)
        markDeployment(connection, name, purpose);
    return created;
}

void markDeployment(Connection &connection, const QString &database, const QString &purpose)
{
    if (purpose != QLatin1String("demo") && purpose != QLatin1String("test"))
        throw DbException(Error::make(
            Error::Kind::Internal, QStringLiteral("Unknown deployment mark '%1'.").arg(purpose)));
    db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        const auto stmt =
            tx.exec_params("SELECT format('ALTER DATABASE %I SET ledger.deployment = %L', "
                           "$1::text, $2::text)",
                           db::toStd(database), db::toStd(purpose));
        tx.exec(stmt[0][0].as<std::string>());
    });
}

QString deploymentOf(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        // The database's own setting, not the session's (which any client may SET).
        const auto r = tx.exec(
            "SELECT substr(c, length('ledger.deployment=') + 1) "
            "FROM pg_db_role_setting d CROSS JOIN unnest(d.setconfig) c "
            "WHERE d.setrole = 0 AND c LIKE 'ledger.deployment=%' "
            "AND d.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())");
        return r.empty() ? QString() : db::toQString(r[0][0]);
    });
}

void ensureLoginRole(Connection &connection, const QString &role, const QString &password,
                     const QString &group)
{
    // Only the password's SCRAM verifier goes into the statement (and so into any log).
    const std::string verifier = db::scramVerifier(password);
    db::guarded([&] {
        pqxx::work tx(db::native(connection));
        // format() quotes identifiers and literals on the server.
        const auto exists =
            tx.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", db::toStd(role));
        const auto stmt =
            tx.exec_params("SELECT format(CASE WHEN $4 THEN 'ALTER ROLE %I LOGIN PASSWORD %L' "
                           "ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END, $1::text, $2::text), "
                           "format('GRANT %I TO %I', $3::text, $1::text)",
                           db::toStd(role), verifier, db::toStd(group), !exists.empty());
        tx.exec(stmt[0][0].as<std::string>());
        if (!group.isEmpty())
            tx.exec(stmt[0][1].as<std::string>());
        tx.commit();
    });
}

} // namespace ledger::DatabaseAdmin
