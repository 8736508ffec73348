#include "Connection.h"

#include "Native.h"

#include <QCoreApplication>
#include <QRegularExpression>
#include <QThread>

namespace ledger {

namespace db {

pqxx::connection &native(Connection &connection)
{
    connection.checkThread();
    ConnectionImpl &d = ConnectionImpl::of(connection);
    if (!d.conn)
        throw DbException(Error::make(Error::Kind::Connection,
                                      QStringLiteral("The database connection is closed.")));
    return *d.conn;
}

[[noreturn]] void rethrowTranslated()
{
    try {
        throw;
    } catch (const DbException &) {
        throw;
    } catch (const pqxx::sql_error &e) {
        throw DbException(translateServerError(sqlStateOf(e), QString::fromUtf8(e.what())));
    } catch (const pqxx::broken_connection &e) {
        throw DbException(translateConnectionFailure(QString::fromUtf8(e.what())));
    } catch (const pqxx::in_doubt_error &e) {
        Error err = Error::make(
            Error::Kind::Connection,
            QStringLiteral("The connection was lost while committing; the change may or may "
                           "not have been saved. Reconnect and check before retrying."),
            QString::fromUtf8(e.what()));
        err.retryable = false;
        throw DbException(err);
    } catch (const pqxx::usage_error &e) {
        throw DbException(Error::make(Error::Kind::Internal,
                                      QStringLiteral("Internal error in a database request."),
                                      QString::fromUtf8(e.what())));
    } catch (const std::exception &e) {
        throw DbException(Error::make(Error::Kind::Internal,
                                      QStringLiteral("Unexpected database error: %1")
                                          .arg(QString::fromUtf8(e.what()).trimmed()),
                                      QString::fromUtf8(e.what())));
    }
}

} // namespace db

Connection::Connection(const QString &dsn, const QString &applicationName)
    : d(std::make_unique<db::ConnectionImpl>())
    , m_owner(QThread::currentThread())
    , m_dsn(dsn)
    , m_applicationName(applicationName)
{
    checkThread();
    try {
        d->conn = std::make_unique<pqxx::connection>(db::toStd(dsn));
        d->conn->set_client_encoding("UTF8");
        d->conn->set_verbosity(pqxx::connection_base::verbose);
        pqxx::nontransaction tx(*d->conn);
        tx.exec_params("SELECT set_config('application_name', $1, false)",
                       db::toStd(applicationName.isEmpty() ? QCoreApplication::applicationName()
                                                           : applicationName));
    } catch (...) {
        db::rethrowTranslated();
    }
}

Connection::~Connection() = default;

std::unique_ptr<Connection> Connection::openSibling() const
{
    return std::make_unique<Connection>(m_dsn, m_applicationName);
}

bool Connection::onGuiThread()
{
    const QCoreApplication *app = QCoreApplication::instance();
    return app && app->inherits("QGuiApplication") && QThread::currentThread() == app->thread();
}

void Connection::checkThread() const
{
    if (onGuiThread()) {
#ifdef NDEBUG
        qWarning("ledger: database used on the GUI thread; this freezes the user interface");
#else
        qFatal("ledger: database used on the GUI thread; run it through DbWorker instead");
#endif
    }
    if (m_owner && QThread::currentThread() != m_owner) {
        qFatal("ledger: a database connection was used from a thread that does not own it");
    }
}

QString Connection::database() const
{
    return d->conn ? QString::fromUtf8(d->conn->dbname()) : QString();
}

QString Connection::user() const
{
    return d->conn ? QString::fromUtf8(d->conn->username()) : QString();
}

int Connection::serverVersion() const
{
    return d->conn ? d->conn->server_version() : 0;
}

bool Connection::isOpen() const
{
    return d->conn && d->conn->is_open();
}

QString Connection::describe() const
{
    if (!d->conn)
        return QStringLiteral("(not connected)");
    const char *host = d->conn->hostname();
    const char *port = d->conn->port();
    return QStringLiteral("%1@%2 on %3:%4")
        .arg(user(), database(), QString::fromUtf8(host ? host : "local socket"),
             QString::fromUtf8(port ? port : ""));
}

QString dsnQuote(const QString &value)
{
    if (!value.isEmpty() && !value.contains(QLatin1Char(' ')) &&
        !value.contains(QLatin1Char('\'')) && !value.contains(QLatin1Char('\\')) &&
        !value.contains(QLatin1Char('=')))
        return value;
    QString v = value;
    v.replace(QLatin1String("\\"), QLatin1String("\\\\"))
        .replace(QLatin1String("'"), QLatin1String("\\'"));
    return QLatin1Char('\'') + v + QLatin1Char('\'');
}

QString withCredentials(const QString &dsn, const QString &user, const QString &password)
{
    // Drop any user/password already there (values plain or quoted).
    static const QRegularExpression existing(
        QStringLiteral(R"((^|\s)(user|password)\s*=\s*('([^'\\]|\\.)*'|\S+))"));
    QString out = dsn;
    out.replace(existing, QString());
    out = out.simplified();
    if (!out.isEmpty())
        out += QLatin1Char(' ');
    return out + QStringLiteral("user=%1 password=%2").arg(dsnQuote(user), dsnQuote(password));
}

QString redactDsn(const QString &dsn)
{
    QString out = dsn;
    static const QRegularExpression keyValue(
        QStringLiteral(R"(password\s*=\s*('([^'\\]|\\.)*'|\S+))"),
        QRegularExpression::CaseInsensitiveOption);
    out.replace(keyValue, QStringLiteral("password=***"));
    static const QRegularExpression uri(QStringLiteral(R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)"));
    out.replace(uri, QStringLiteral("\\1:***@"));
    static const QRegularExpression uriParam(QStringLiteral(R"(([?&]password=)[^&]*)"),
                                             QRegularExpression::CaseInsensitiveOption);
    out.replace(uriParam, QStringLiteral("\\1***"));
    return out;
}

} // namespace ledger
