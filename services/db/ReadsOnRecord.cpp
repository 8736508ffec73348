// Reads of customer data are on record before they are made (0032_reads_on_record.sql):
// the server serves a console role's read only once ledger.record_read has been committed
// for it, and records one event per session, kind and subject per window. This connection
// remembers the windows it holds, so that only the first read of a window pays the extra
// statement.

#include "Native.h"

#include <cmath>

namespace ledger::db {

namespace {

using Clock = std::chrono::steady_clock;

// The window is taken a little shorter than the server's, so that a read is not sent in
// its last moments (the server would refuse it, and the read would be made twice).
constexpr auto kMargin = std::chrono::seconds(2);

std::string cacheKey(const ReadKey &read)
{
    return std::string(read.kind) + '\n' + read.subject;
}

} // namespace

void putOnRecord(Connection &connection, const std::vector<ReadKey> &reads)
{
    ConnectionImpl &d = ConnectionImpl::of(connection);
    for (const ReadKey &read : reads) {
        const std::string key = cacheKey(read);
        const auto held = d.readsOnRecord.find(key);
        if (held != d.readsOnRecord.end() && Clock::now() < held->second)
            continue;
        // Autocommit: the record is committed when the statement returns.
        ::pqxx::nontransaction tx(native(connection));
        const auto r =
            tx.exec_params("SELECT CASE WHEN u = 'infinity' THEN 'infinity'::float8 "
                           "ELSE extract(epoch FROM u - statement_timestamp())::float8 END "
                           "FROM ledger.record_read($1, $2) u",
                           std::string(read.kind), read.subject);
        const double seconds = r[0][0].as<double>();
        const auto until = std::isinf(seconds) ? Clock::time_point::max()
                                               : Clock::now() +
                                                     std::chrono::duration_cast<Clock::duration>(
                                                         std::chrono::duration<double>(seconds)) -
                                                     kMargin;
        d.readsOnRecord[key] = until;
    }
}

bool isReadNotOnRecord(const std::exception &e)
{
    if (const auto *sql = dynamic_cast<const ::pqxx::sql_error *>(&e))
        return sqlStateOf(*sql) == QLatin1String("LG090");
    if (const auto *db = dynamic_cast<const DbException *>(&e))
        return db->error().sqlState == QLatin1String("LG090");
    return false;
}

void forgetReadsOnRecord(Connection &connection)
{
    ConnectionImpl::of(connection).readsOnRecord.clear();
}

} // namespace ledger::db
