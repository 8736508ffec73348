#include "SqlSession.h"

#include "db/Native.h"

#include <optional>
#include <vector>

namespace ledger::test {

struct SqlSession::Impl
{
    std::unique_ptr<pqxx::connection> conn;
};

SqlSession::SqlSession(const QString &dsn)
    : d(std::make_unique<Impl>())
{
    d->conn = std::make_unique<pqxx::connection>(dsn.toStdString());
    d->conn->set_verbosity(pqxx::connection_base::verbose);
}

SqlSession::~SqlSession() = default;

SqlOutcome SqlSession::exec(const QString &sql, const QStringList &params)
{
    SqlOutcome out;
    try {
        pqxx::work tx(*d->conn);
        pqxx::result r;
        if (params.isEmpty()) {
            r = tx.exec(sql.toStdString());
        } else {
            std::vector<std::optional<std::string>> values;
            for (const QString &p : params)
                values.push_back(p.isNull() ? std::nullopt : std::optional(p.toStdString()));
            r = tx.exec_params(sql.toStdString(), pqxx::prepare::make_dynamic_params(values));
        }
        for (const auto &row : r) {
            QStringList values;
            for (const auto &field : row)
                values << (field.is_null() ? QString() : QString::fromUtf8(field.c_str()));
            out.rows << values;
        }
        tx.commit();
        out.ok = true;
    } catch (const pqxx::sql_error &e) {
        out.sqlState = db::sqlStateOf(e);
        out.message = QString::fromUtf8(e.what()).trimmed();
    } catch (const pqxx::transaction_rollback &e) {
        out.sqlState = db::sqlStateOf(e);
        out.message = QString::fromUtf8(e.what()).trimmed();
    } catch (const std::exception &e) {
        out.message = QString::fromUtf8(e.what()).trimmed();
    }
    return out;
}

SqlOutcome SqlSession::run(const QString &sql)
{
    SqlOutcome out;
    try {
        pqxx::nontransaction tx(*d->conn);
        const pqxx::result r = tx.exec(sql.toStdString());
        for (const auto &row : r) {
            QStringList values;
            for (const auto &field : row)
                values << (field.is_null() ? QString() : QString::fromUtf8(field.c_str()));
            out.rows << values;
        }
        out.ok = true;
    } catch (const pqxx::sql_error &e) {
        out.sqlState = db::sqlStateOf(e);
        out.message = QString::fromUtf8(e.what()).trimmed();
    } catch (const pqxx::transaction_rollback &e) {
        out.sqlState = db::sqlStateOf(e);
        out.message = QString::fromUtf8(e.what()).trimmed();
    } catch (const std::exception &e) {
        out.message = QString::fromUtf8(e.what()).trimmed();
    }
    return out;
}

QString SqlSession::scalar(const QString &sql, const QStringList &params)
{
    const SqlOutcome r = exec(sql, params);
    if (!r.ok || r.rows.isEmpty() || r.rows.first().isEmpty())
        qFatal("SqlSession::scalar failed: %s (%s)", qPrintable(r.message), qPrintable(sql));
    return r.rows.first().first();
}

int SqlSession::backendPid()
{
    return scalar(QStringLiteral("SELECT pg_backend_pid()")).toInt();
}

void execOn(Connection &connection, const QString &sql)
{
    db::guarded([&] {
        pqxx::nontransaction tx(db::native(connection));
        tx.exec(sql.toStdString());
    });
}

} // namespace ledger::test
