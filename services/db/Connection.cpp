#include "Connection.h"

#include "Native.h"

#include "domain/TerminalText.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QRegularExpression>
#include <QSet>
#include <QThread>

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ledger {

namespace {

// A path that can never exist (nothing lives under a device file): for the files libpq would
// otherwise look for in the user's home (client certificate and key, password file).
constexpr const char *kNoFile = "/dev/null/ledger-console-uses-no-such-file";

// Seconds a console connection waits for the server before it says it cannot reach it.
constexpr int kConnectTimeoutSeconds = 15;

bool isIpLiteral(const QString &host)
{
    const QByteArray text = host.toLatin1();
    in_addr v4{};
    in6_addr v6{};
    return inet_pton(AF_INET, text.constData(), &v4) == 1 ||
           inet_pton(AF_INET6, text.constData(), &v6) == 1;
}

// libpq sends these as session settings of every connection, and no connection keyword
// overrides them (fe-protocol3.c, build_startup_packet).
constexpr const char *kStartupEnvironment[] = {"PGDATESTYLE", "PGTZ", "PGGEQO"};

// The keywords of an Explicit connection, completed so that nothing can come from the
// environment: every keyword libpq knows that these do not set and that has a value from a
// PG* variable or a service file is set to libpq's built-in default; one with no built-in
// default to fall back on is refused, by name. Touches no server.
std::vector<std::pair<std::string, std::string>>
explicitKeywords(const ConnectionSettings &settings, const QString &applicationName)
{
    std::vector<std::pair<std::string, std::string>> out;
    QSet<QByteArray> given;
    for (const auto &[keyword, value] : settings.keywords()) {
        out.emplace_back(db::toStd(keyword), db::toStd(value));
        given.insert(keyword.toUtf8());
    }
    out.emplace_back("application_name", db::toStd(applicationName));
    given.insert("application_name");

    QStringList refused;
    PQconninfoOption *defaults = ::PQconndefaults();
    if (!defaults)
        throw std::bad_alloc();
    for (const PQconninfoOption *o = defaults; o->keyword; ++o) {
        const QByteArray keyword(o->keyword);
        if (given.contains(keyword) || !o->val)
            continue; // ours, or nothing from the environment
        if (keyword == "service")
            continue; // a service only fills keywords in, and each one is checked here
        if (o->compiled && o->compiled[0] != '\0') {
            out.emplace_back(o->keyword, o->compiled);
            continue;
        }
        if (o->compiled && std::strcmp(o->val, o->compiled) == 0)
            continue; // libpq's own (empty) default
        const bool fromVariable = o->envvar && qEnvironmentVariableIsSet(o->envvar);
        refused << (fromVariable ? QStringLiteral("%1 (%2)").arg(QString::fromLatin1(o->envvar),
                                                                 QString::fromLatin1(keyword))
                                 : QStringLiteral("%1 (in the service file PGSERVICE names)")
                                       .arg(QString::fromLatin1(keyword)));
    }
    ::PQconninfoFree(defaults);
    for (const char *name : kStartupEnvironment) {
        if (qEnvironmentVariableIsSet(name) &&
            qEnvironmentVariable(name).compare(QLatin1String("default"), Qt::CaseInsensitive) != 0)
            refused << QString::fromLatin1(name);
    }
    if (!refused.isEmpty()) {
        throw DbException(Error::make(
            Error::Kind::Input,
            QStringLiteral("The environment sets %1 for PostgreSQL connections. The console's "
                           "sign-in takes nothing from the environment, only what the sign-in "
                           "dialog says: unset it and sign in again.")
                .arg(refused.join(QStringLiteral(", ")))));
    }
    return out;
}

db::ConnectFailure::Stage stageOf(ConnStatusType status)
{
    switch (status) {
    case CONNECTION_NEEDED:
    case CONNECTION_STARTED:
    case CONNECTION_MADE:
        return db::ConnectFailure::Stage::Reaching;
    case CONNECTION_SSL_STARTUP:
    case CONNECTION_GSS_STARTUP:
        return db::ConnectFailure::Stage::Tls;
    default:
        return db::ConnectFailure::Stage::Server;
    }
}

// Waits until the connection's socket is ready for what PQconnectPoll asked, in short slices
// so that a QThread asked to stop (DbWorker's destructor) does not wait out the timeout.
// False when the deadline passed or the thread is to stop.
bool waitForSocket(int socket, PostgresPollingStatusType want, const QDeadlineTimer &deadline)
{
    pollfd fd{};
    fd.fd = socket;
    fd.events = want == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    for (;;) {
        if (QThread *t = QThread::currentThread(); t && t->isInterruptionRequested())
            return false;
        const qint64 left = deadline.remainingTime(); // -1: no deadline
        if (left == 0)
            return false;
        const int slice = left < 0 ? 250 : int(qMin<qint64>(left, 250));
        const int ready = ::poll(&fd, 1, slice);
        if (ready > 0)
            return true;
        if (ready < 0 && errno != EINTR)
            return true; // let PQconnectPoll find out what is wrong with the socket
    }
}

} // namespace

namespace db {

StartPolicy::StartPolicy(StartParams params)
    : ::pqxx::connectionpolicy(std::string())
    , m_params(std::move(params))
{}

StartPolicy::handle StartPolicy::do_startconnect(handle orig)
{
    if (orig)
        return orig;
    PGconn *conn = nullptr;
    if (m_params.conninfo) {
        // A connection string, under libpq's own rules. Its syntax is checked first, so that
        // a typing error is told apart from a server that cannot be reached.
        char *parseError = nullptr;
        PQconninfoOption *parsed = ::PQconninfoParse(m_params.conninfo->c_str(), &parseError);
        if (!parsed) {
            const QString why = parseError ? QString::fromUtf8(parseError).trimmed()
                                           : QStringLiteral("out of memory");
            if (parseError)
                ::PQfreemem(parseError);
            throw DbException(
                Error::make(Error::Kind::Input,
                            QStringLiteral("The connection string is not valid: %1").arg(why)));
        }
        ::PQconninfoFree(parsed);
        conn = ::PQconnectStart(m_params.conninfo->c_str());
    } else {
        std::vector<const char *> keywords, values;
        for (const auto &[k, v] : m_params.keywords) {
            keywords.push_back(k.c_str());
            values.push_back(v.c_str());
        }
        keywords.push_back(nullptr);
        values.push_back(nullptr);
        conn = ::PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/0);
    }
    if (!conn)
        throw std::bad_alloc();
    // Before the first byte goes to the server: its errors then carry their SQLSTATE.
    ::PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);

    // libpq applies connect_timeout only in its blocking calls; this loop applies it itself.
    QDeadlineTimer deadline(QDeadlineTimer::Forever);
    if (PQconninfoOption *effective = ::PQconninfo(conn)) {
        for (const PQconninfoOption *o = effective; o->keyword; ++o) {
            if (std::strcmp(o->keyword, "connect_timeout") == 0 && o->val) {
                const int seconds = std::atoi(o->val);
                if (seconds > 0)
                    deadline.setRemainingTime(qint64(qMax(seconds, 2)) * 1000);
            }
        }
        ::PQconninfoFree(effective);
    }

    ConnectFailure failure;
    bool timedOut = false;
    if (::PQstatus(conn) != CONNECTION_BAD) {
        failure.stage = stageOf(::PQstatus(conn));
        PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
        while (polling != PGRES_POLLING_OK && polling != PGRES_POLLING_FAILED) {
            if (!waitForSocket(::PQsocket(conn), polling, deadline)) {
                timedOut = true;
                break;
            }
            polling = ::PQconnectPoll(conn);
            const ConnStatusType s = ::PQstatus(conn);
            if (s != CONNECTION_BAD && s != CONNECTION_OK)
                failure.stage = stageOf(s);
        }
        if (polling == PGRES_POLLING_OK)
            return conn;
    }
    failure.message = QString::fromUtf8(::PQerrorMessage(conn)).trimmed();
    if (timedOut) {
        failure.stage = ConnectFailure::Stage::TimedOut;
        if (failure.message.isEmpty())
            failure.message = QStringLiteral("no answer before the connection timeout");
    }
    failure.sqlState = sqlStateFromMessage(failure.message);
    failure.needsPassword = ::PQconnectionNeedsPassword(conn) != 0;
    failure.target = QString::fromStdString(m_params.target);
    failure.sslMode = QString::fromStdString(m_params.sslMode);
    ::PQfinish(conn);
    throw DbException(translateConnectionFailure(failure));
}

NativeConnection::NativeConnection(StartParams params)
    : detail::StartPolicyHolder(std::move(params))
    , ::pqxx::connection_base(policy)
{
    init();
}

NativeConnection::NativeConnection(const std::string &conninfo)
    : NativeConnection(StartParams{{}, conninfo, {}, {}})
{}

NativeConnection::~NativeConnection() noexcept
{
    close();
}

NativeConnection &native(Connection &connection)
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
    } catch (const ::pqxx::sql_error &e) {
        throw DbException(translateServerError(sqlStateOf(e), QString::fromUtf8(e.what())));
    } catch (const ::pqxx::transaction_rollback &e) {
        throw DbException(translateServerError(sqlStateOf(e), QString::fromUtf8(e.what())));
    } catch (const ::pqxx::broken_connection &e) {
        throw DbException(translateLostConnection(QString::fromUtf8(e.what())));
    } catch (const ::pqxx::in_doubt_error &e) {
        Error err = Error::make(
            Error::Kind::Connection,
            QStringLiteral("The connection was lost while committing; the change may or may "
                           "not have been saved. Reconnect and check before retrying."),
            QString::fromUtf8(e.what()));
        err.retryable = false;
        throw DbException(err);
    } catch (const ::pqxx::usage_error &e) {
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

ConnectionSettings::ConnectionSettings()
{
    m_refusal = Error::make(Error::Kind::NotSignedIn,
                            QStringLiteral("Not signed in: sign in to see the ledger."));
}

ConnectionSettings ConnectionSettings::none(const QString &why)
{
    ConnectionSettings s;
    s.m_refusal = Error::make(Error::Kind::NotSignedIn, why);
    return s;
}

ConnectionSettings ConnectionSettings::direct(const QString &dsn)
{
    ConnectionSettings s;
    s.m_source = Source::Direct;
    s.m_dsn = dsn;
    s.m_refusal = Error();
    return s;
}

ConnectionSettings ConnectionSettings::session(const ServerProfile &server, const QString &user,
                                               const QString &password)
{
    if (user.isEmpty() || password.isEmpty())
        return none(QStringLiteral("No credentials to sign in with: sign in again."));
    const QString host = server.host.trimmed();
    if (host.isEmpty() || server.database.trimmed().isEmpty() || server.port <= 0 ||
        server.port > 65535)
        return none(QStringLiteral("The server, port or database is missing: check the sign-in "
                                   "settings."));
    ConnectionSettings s;
    s.m_source = Source::Explicit;
    s.m_refusal = Error();
    auto add = [&s](const char *keyword, const QString &value) {
        s.m_keywords.append({QString::fromLatin1(keyword), value});
    };
    add("host", host);
    if (isIpLiteral(host))
        add("hostaddr", host); // else PGHOSTADDR could send the connection elsewhere
    add("port", QString::number(server.port));
    add("dbname", server.database.trimmed());
    add("user", user);
    add("password", password);
    add("passfile", QString::fromLatin1(kNoFile));
    add("sslmode", server.effectiveSslMode());
    add("sslrootcert", server.effectiveRootCert());
    add("sslcrl", QDir::homePath() + QStringLiteral("/.postgresql/root.crl")); // used if present
    // Sessions sign in with their password alone: no client certificate from the home
    // directory, no Kerberos ticket from the environment.
    add("sslcert", QString::fromLatin1(kNoFile));
    add("sslkey", QString::fromLatin1(kNoFile));
    add("gssencmode", QStringLiteral("disable"));
    add("client_encoding", QStringLiteral("UTF8"));
    // libpq ignores an empty value and would take PGOPTIONS instead: say something harmless.
    add("options", QStringLiteral("-c client_encoding=UTF8"));
    add("connect_timeout", QString::number(kConnectTimeoutSeconds));
    return s;
}

QString ConnectionSettings::value(const QString &keyword) const
{
    for (const auto &[k, v] : m_keywords)
        if (k == keyword)
            return v;
    return {};
}

namespace {

// The server's notices and warnings (RAISE WARNING in a function, libpq's own) go to stderr
// as one line each, escaped like everything ledgerctl prints: a notice may quote a value a
// client chose (a note, an account code), and libpq would print it raw.
class SafeNotices final : public ::pqxx::errorhandler
{
public:
    using ::pqxx::errorhandler::errorhandler;

    bool operator()(const char msg[]) noexcept override
    {
        QString text = QString::fromUtf8(msg);
        while (text.endsWith(QLatin1Char('\n')))
            text.chop(1);
        const QByteArray line = terminalSafe(text).toUtf8() + '\n';
        std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
        return false; // handled: nothing else prints it
    }
};

} // namespace

Connection::Connection(const ConnectionSettings &settings, const QString &applicationName)
    : d(std::make_unique<db::ConnectionImpl>())
    , m_owner(QThread::currentThread())
    , m_settings(settings)
    , m_applicationName(applicationName)
{
    checkThread();
    // No credentials: refused here, before libpq (and with it the PG* variables and the
    // ~/.pgpass of whoever runs this) is ever asked.
    if (!settings.hasCredentials())
        throw DbException(settings.refusal());
    QString application = applicationName;
    if (application.isEmpty())
        application = QCoreApplication::applicationName();
    if (application.isEmpty())
        application = QStringLiteral("ledger");
    try {
        db::StartParams params;
        if (settings.source() == ConnectionSettings::Source::Explicit) {
            params.keywords = explicitKeywords(settings, application);
            params.sslMode = db::toStd(settings.value(QStringLiteral("sslmode")));
            const QString host = settings.value(QStringLiteral("host"));
            params.target =
                db::toStd(ServerProfile::isSocketDirectory(host)
                              ? host
                              : host + QLatin1Char(':') + settings.value(QStringLiteral("port")));
        } else {
            params.conninfo = db::toStd(settings.dsn());
        }
        d->conn = std::make_unique<db::NativeConnection>(std::move(params));
        d->conn->set_verbosity(::pqxx::connection_base::verbose);
        d->notices = std::make_unique<SafeNotices>(*d->conn);
        if (settings.source() == ConnectionSettings::Source::Direct) {
            // (Explicit connections send both as keywords.)
            d->conn->set_client_encoding("UTF8");
            ::pqxx::nontransaction tx(*d->conn);
            tx.exec_params("SELECT set_config('application_name', $1, false)",
                           db::toStd(application));
        }
    } catch (...) {
        db::rethrowTranslated();
    }
}

Connection::Connection(const QString &dsn, const QString &applicationName)
    : Connection(ConnectionSettings::direct(dsn), applicationName)
{}

Connection::~Connection() = default;

std::unique_ptr<Connection> Connection::openSibling() const
{
    return std::make_unique<Connection>(m_settings, m_applicationName);
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

QString withVerifiedTlsForSecrets(const QString &dsn)
{
    QString host = qEnvironmentVariable("PGHOST");
    QString sslMode = qEnvironmentVariable("PGSSLMODE");
    char *error = nullptr;
    PQconninfoOption *options = ::PQconninfoParse(db::toStd(dsn).c_str(), &error);
    if (!options) {
        ::PQfreemem(error);
        return dsn; // not a valid string: the connection itself will say so
    }
    for (const PQconninfoOption *o = options; o->keyword; ++o) {
        if (!o->val)
            continue;
        if (std::strcmp(o->keyword, "host") == 0 || std::strcmp(o->keyword, "hostaddr") == 0)
            host = QString::fromUtf8(o->val);
        else if (std::strcmp(o->keyword, "sslmode") == 0)
            sslMode = QString::fromUtf8(o->val);
    }
    ::PQconninfoFree(options);
    if (!sslMode.isEmpty())
        return dsn;
    // Several hosts (a,b): each must be local for the default to stay.
    const QStringList hosts = host.split(QLatin1Char(','), Qt::SkipEmptyParts);
    const bool local =
        hosts.isEmpty() || std::all_of(hosts.begin(), hosts.end(), [](const QString &h) {
            return ServerProfile::isLocalHost(h.trimmed());
        });
    if (local)
        return dsn;
    return dsn.trimmed() + QStringLiteral(" sslmode=verify-full");
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
