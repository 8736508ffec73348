#pragma once

#include "domain/Error.h"
#include "domain/ServerProfile.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <utility>

class QThread;

namespace ledger {

namespace db {
struct ConnectionImpl;
}

// What a Connection or a DbWorker opens. Nothing else reaches libpq.
//  - None: no credentials (not signed in, signed out, locked). Every job fails with a
//    NotSignedIn error saying so; libpq is never called, so the PG* variables and
//    ~/.pgpass of the machine (a DBA's, perhaps a superuser's) are never used instead.
//  - Explicit: a console connection (the sign-in broker, a time-limited session). Every
//    keyword is set here, or by Connection to libpq's built-in default, so that no PG*
//    variable, service file (PGSERVICE) or password file can add or change anything;
//    Connection refuses, naming the variable, when the environment sets something it
//    cannot override.
//  - Direct: a libpq connection string under libpq's own rules (what it leaves out comes
//    from the PG* variables, service files and ~/.pgpass, as for psql). A deliberate
//    choice: a DBA's `ledger-console --dsn`, ledgerctl, tests. Never a console session.
class ConnectionSettings
{
public:
    enum class Source { None, Explicit, Direct };

    // None: "not signed in".
    ConnectionSettings();
    // None, with the reason every job is refused with (kind NotSignedIn).
    static ConnectionSettings none(const QString &why);
    static ConnectionSettings direct(const QString &dsn);
    // A console connection as `user` with `password` to `server`. An empty user, password,
    // host or database gives None: there is never a fallback to libpq's defaults.
    static ConnectionSettings session(const ServerProfile &server, const QString &user,
                                      const QString &password);

    Source source() const { return m_source; }
    bool hasCredentials() const { return m_source != Source::None; }
    // Source::None: why there is no connection (kind NotSignedIn).
    const Error &refusal() const { return m_refusal; }
    // Explicit: the keywords and values (the password among them; never show them).
    const QList<std::pair<QString, QString>> &keywords() const { return m_keywords; }
    // Direct: the connection string (may hold a password; never show it).
    const QString &dsn() const { return m_dsn; }
    // The keyword's value (Explicit), or an empty string.
    QString value(const QString &keyword) const;

private:
    Source m_source = Source::None;
    Error m_refusal;
    QString m_dsn;
    QList<std::pair<QString, QString>> m_keywords;
};

// One open connection to the ledger database. Belongs to the thread that opened it, which
// is never the GUI thread of a graphical application: every use checks that, so a query
// run on the GUI thread fails loudly (qFatal in debug builds) instead of freezing the UI.
// libpqxx stays behind this class; only services/db/*.cpp see it.
//
// The connection is started by our own code (Native.h, StartPolicy): libpq's error
// verbosity is VERBOSE before the first byte goes to the server, so that a refused
// sign-in carries the server's SQLSTATE (28P01, 28000, 3D000, 53300...) and is classified
// by it, whatever language the server or libpq speaks.
class Connection
{
public:
    // Opens the connection. Throws DbException: NotSignedIn for settings without
    // credentials (libpq is never called), Authentication, Connection, Tls... otherwise.
    explicit Connection(const ConnectionSettings &settings, const QString &applicationName = {});
    // A libpq connection string under libpq's rules (ConnectionSettings::direct): ledgerctl
    // and tests. An empty string means libpq's defaults and the PG* environment variables,
    // as ledgerctl documents; the console never opens a Connection from a string.
    explicit Connection(const QString &dsn, const QString &applicationName = {});
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    // A second connection with the same settings and credentials, owned by the calling
    // thread (for work split over several connections, such as verifying the audit chain).
    std::unique_ptr<Connection> openSibling() const;

    QString database() const;
    QString user() const;
    int serverVersion() const;
    bool isOpen() const;

    // Describes the target without any password: "user@database on host:port".
    QString describe() const;

    // Checks the calling thread; public so that code which reaches the connection through
    // other paths can assert the same rule.
    void checkThread() const;

    // True while running inside a graphical application's GUI thread.
    static bool onGuiThread();

private:
    friend struct db::ConnectionImpl;
    std::unique_ptr<db::ConnectionImpl> d;
    QThread *m_owner = nullptr;
    ConnectionSettings m_settings; // for openSibling(); holds the password, never shown
    QString m_applicationName;
};

// Quotes a value for a libpq key=value connection string.
QString dsnQuote(const QString &value);

// The DSN with user and password set (appended: libpq takes the last value of a key).
// Only for key=value DSNs; a URI is refused by the caller's connection with a clear error.
QString withCredentials(const QString &dsn, const QString &user, const QString &password);

// Removes password=... (key/value form) and the password part of URIs from a DSN, for
// messages and logs.
QString redactDsn(const QString &dsn);

// For a direct connection that will carry an operator's long-lived secret (ledgerctl's
// `access session issue`): when the connection string leaves the TLS mode to libpq (whose
// default, prefer, lets anyone on the path pose as the server and ask for the password in
// clear) and the server is not on this machine (ServerProfile::isLocalHost, the PGHOST
// variable included), sslmode=verify-full is added. An explicit sslmode is kept.
QString withVerifiedTlsForSecrets(const QString &dsn);

} // namespace ledger
