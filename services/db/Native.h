#pragma once

// Internal to services/db: the only header that brings libpqxx in. Never include it from
// a header, and never from outside services/db.

#include "Connection.h"
#include "DbException.h"
#include "ErrorTranslation.h"
#include "domain/Money.h"
#include "session/ScramVerifier.h"

#include <pqxx/pqxx>

#include <QByteArray>
#include <QDateTime>
#include <QString>

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ledger::db {

// How a connection is started: keyword/value pairs for PQconnectStartParams, or a
// connection string for PQconnectStart (libpq's own rules, for direct connections).
struct StartParams
{
    std::vector<std::pair<std::string, std::string>> keywords; // when not a string
    std::optional<std::string> conninfo;                       // direct: a connection string
    std::string sslMode;                                       // for messages
    std::string target;                                        // for messages
};

// A libpqxx connection policy that starts the connection itself: PQconnectStart(Params),
// PQsetErrorVerbosity(VERBOSE) before the first byte is sent, then PQconnectPoll until the
// connection is up. A failure becomes a DbException classified by the server's SQLSTATE
// (which the verbose message carries) and by how far libpq got (PQstatus,
// PQconnectionNeedsPassword), never by the words of a message. The attempt gives up when
// the connection timeout passes, or when the calling QThread is asked to stop.
class StartPolicy final : public ::pqxx::connectionpolicy
{
public:
    explicit StartPolicy(StartParams params);
    handle do_startconnect(handle orig) override;

private:
    StartParams m_params;
};

namespace detail {
// Holds the policy so that it is built before the connection_base that refers to it.
struct StartPolicyHolder
{
    explicit StartPolicyHolder(StartParams params)
        : policy(std::move(params))
    {}
    StartPolicy policy;
};
} // namespace detail

// The libpqxx connection behind every Connection: libpqxx's connection_base, started by
// StartPolicy instead of libpqxx's PQconnectdb.
class NativeConnection final : private detail::StartPolicyHolder, public ::pqxx::connection_base
{
public:
    explicit NativeConnection(StartParams params);
    // A libpq connection string under libpq's rules (as pqxx::connection takes one).
    explicit NativeConnection(const std::string &conninfo);
    ~NativeConnection() noexcept;
};

struct ConnectionImpl
{
    std::unique_ptr<NativeConnection> conn;
    // The server's notices and warnings, escaped for a terminal (Connection.cpp). Declared
    // after conn: it unregisters itself before the connection goes.
    std::unique_ptr<::pqxx::errorhandler> notices;
    // Reads this connection's session has on record, until when (ReadsOnRecord.cpp).
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> readsOnRecord;
    static ConnectionImpl &of(Connection &c) { return *c.d; }
};

// The libpqxx connection behind a Connection, after the thread check.
NativeConnection &native(Connection &connection);

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

// A read of customer data, as the server gates it (0032_reads_on_record.sql): its kind and
// subject ("#<account id>", an account code, a transaction id, "" or an account search's
// terms as JSON).
struct ReadKey
{
    const char *kind;
    std::string subject;
};

// Puts the reads on record unless this connection already holds them inside their window:
// each in a statement of its own (autocommit), so the record is committed before the read
// is made, whatever becomes of the reader's transaction. Call it with no transaction open.
void putOnRecord(Connection &connection, const std::vector<ReadKey> &reads);

// Whether e is the server's refusal of a read that is not on record (LG090).
bool isReadNotOnRecord(const std::exception &e);

// Forgets the reads this connection holds (the server said one was not on record: its
// window ended, or the session is new).
void forgetReadsOnRecord(Connection &connection);

// Runs read (which opens and ends its own transaction) with the reads on record; when the
// server says one is not (a window ended under it), records them again and reads once more.
template <class F>
auto onRecord(Connection &connection, const std::vector<ReadKey> &reads, F &&read)
    -> decltype(read())
{
    putOnRecord(connection, reads);
    try {
        return read();
    } catch (const std::exception &e) {
        if (!isReadNotOnRecord(e))
            throw;
    }
    forgetReadsOnRecord(connection);
    putOnRecord(connection, reads);
    return read();
}

// SQLSTATE of a server error: libpqxx's own when it kept it, else from the verbose message.
inline QString sqlStateOf(const ::pqxx::sql_error &e)
{
    const std::string state = e.sqlstate();
    if (!state.empty())
        return QString::fromStdString(state);
    return sqlStateFromMessage(QString::fromUtf8(e.what()));
}

// libpqxx 6 throws class 40 errors (serialization failure, deadlock) as
// pqxx::transaction_rollback, which is not a pqxx::sql_error and carries no SQLSTATE:
// the class tells which.
inline QString sqlStateOf(const ::pqxx::transaction_rollback &e)
{
    if (dynamic_cast<const ::pqxx::serialization_failure *>(&e))
        return QStringLiteral("40001");
    if (dynamic_cast<const ::pqxx::deadlock_detected *>(&e))
        return QStringLiteral("40P01");
    if (dynamic_cast<const ::pqxx::statement_completion_unknown *>(&e))
        return QStringLiteral("40003");
    const QString fromMessage = sqlStateFromMessage(QString::fromUtf8(e.what()));
    return fromMessage.isEmpty() ? QStringLiteral("40000") : fromMessage;
}

inline QString toQString(const ::pqxx::field &f)
{
    return f.is_null() ? QString() : QString::fromUtf8(f.c_str(), int(f.size()));
}

// Timestamps cross the wire in one unambiguous shape: ISO 8601 UTC with microseconds.
inline std::string utcColumn(const char *column)
{
    return std::string("to_char(") + column +
           " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

inline QDateTime parseUtc(const ::pqxx::field &f)
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

// An amount the server handed over: minor units, the currency, and the server's own
// formatting of them (ledger.format_minor, with the currency's exponent, which the console
// roles cannot read otherwise). Text and number disagreeing is a bug on one side: an
// Internal error, never a guess.
inline Money money(qint64 minor, const QString &currency, const QString &formatted)
{
    const std::optional<Money> m = Money::fromServer(minor, currency, formatted);
    if (!m)
        throw DbException(Error::make(
            Error::Kind::Internal,
            QStringLiteral("The ledger sent an amount the console cannot read: \"%1\" %2 as %3 "
                           "minor units.")
                .arg(formatted.left(40), currency.left(8))
                .arg(minor)));
    return *m;
}

// The SCRAM-SHA-256 verifier to send in place of a secret (CREATE/ALTER ROLE ... PASSWORD
// takes it as is): the secret itself never goes to the server. Throws for a secret that
// cannot have one (ScramVerifier::compute says why).
inline std::string scramVerifier(const QString &secret)
{
    const auto v = ScramVerifier::compute(secret);
    if (!v)
        throw DbException(v.error());
    return toStd(v.value());
}

} // namespace ledger::db
