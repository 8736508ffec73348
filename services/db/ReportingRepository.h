#pragma once

#include <QString>

namespace ledger {

class Connection;

// The reporting store (reporting schema, 0016_reporting_balance_buckets.sql): hourly balance
// buckets that long charts read. Fed from the ledger, never by the posting path; these
// calls bring it up to date. Synchronous; throws DbException. Needs ledger_writer or the
// owner.
namespace ReportingRepository {

struct RefreshReport
{
    int accounts = 0;     // accounts whose buckets moved
    qint64 entries = 0;   // entries folded in
    qint64 elapsedMs = 0; // on this side, round trip included
};

// Every account with at least minEntries entries whose buckets are behind, most behind
// first, until about budget entries are folded in (0: no budget).
RefreshReport refreshStale(Connection &connection, qint64 minEntries = 2000, qint64 budget = 0);

// One account, by code, whatever its size.
RefreshReport refreshAccount(Connection &connection, const QString &accountCode);

} // namespace ReportingRepository

} // namespace ledger
