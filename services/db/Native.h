#pragma once

// Internal to services/db: the only header that brings libpqxx in. Never include it from
// a header, and never from outside services/db.

#include "Connection.h"
#include "DbException.h"
#include "ErrorTranslation.h"

#include <pqxx/pqxx>

#include <QByteArray>
#include <QDateTime>
#include <QString>

#include <optional>
#include <string>

namespace ledger::db {

struct ConnectionImpl
{
    std::unique_ptr<pqxx::connection> conn;
    static ConnectionImpl &of(Connection &c) { return *c.d; }
};

// The libpqxx connection behind a Connection, after the thread check.
pqxx::connection &native(Connection &connection);

// Turns the exception in flight (libpqxx, std, or already a DbException) into a
// DbException with a message a person can act on. Call only from a catch block.
[[noreturn]] void rethrowTranslated();

// Runs f, translating any exception it throws.
template <class F> auto guarded(F &&f) -> decltype(f())
{
    try {
        return f();
    } catch (...) {
        rethrowTranslated();
    }
}

// SQLSTATE of a server error: libpqxx's own when it kept it, else from the verbose message.
inline QString sqlStateOf(const pqxx::sql_error &e)
{
    const std::string state = e.sqlstate();
    if (!state.empty())
        return QString::fromStdString(state);
    return sqlStateFromMessage(QString::fromUtf8(e.what()));
}

inline QString toQString(const pqxx::field &f)
{
    return f.is_null() ? QString() : QString::fromUtf8(f.c_str(), int(f.size()));
}

// Timestamps cross the wire in one unambiguous shape: ISO 8601 UTC with microseconds.
inline std::string utcColumn(const char *column)
{
    return std::string("to_char(") + column +
           " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

inline QDateTime parseUtc(const pqxx::field &f)
{
    return f.is_null() ? QDateTime()
                       : QDateTime::fromString(QString::fromUtf8(f.c_str(), int(f.size())),
                                               Qt::ISODateWithMs);
}

inline std::string toStd(const QString &s)
{
    const QByteArray utf8 = s.toUtf8();
    return std::string(utf8.constData(), size_t(utf8.size()));
}

} // namespace ledger::db
