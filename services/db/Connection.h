#pragma once

#include <QString>

#include <memory>

class QThread;

namespace ledger {

namespace db {
struct ConnectionImpl;
}

// One open connection to the ledger database. Belongs to the thread that opened it, which
// is never the GUI thread of a graphical application: every use checks that, so a query
// run on the GUI thread fails loudly (qFatal in debug builds) instead of freezing the UI.
// libpqxx stays behind this class; only services/db/*.cpp see it.
class Connection
{
public:
    // Opens the connection. Throws DbException (kind Connection or Authentication) when
    // the server cannot be reached or refuses the credentials. An empty dsn means libpq's
    // defaults and the PG* environment variables.
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
    QString m_dsn; // for openSibling(); holds the password, never shown
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

} // namespace ledger
