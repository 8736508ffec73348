#pragma once

#include <QHash>
#include <QString>

#include <functional>
#include <limits>

namespace ledger {

class Connection;
class DemoHistory;

// What planning a seed needs to know about the ledger (see DemoHistory::Options).
struct SeedTarget
{
    qint64 serverNowUs = 0; // the server's clock, µs since the epoch
    // The latest recorded entry of any account; a history must be recorded after it.
    qint64 latestRecordedUs = std::numeric_limits<qint64>::min();
    QHash<QString, int> currencyExponents; // ledger.currencies
};

struct SeedProgress
{
    QString phase;   // "transactions", "entries", "reversals", "foreign keys", "checks", ...
    qint64 rows = 0; // rows written so far, all tables together
    qint64 totalRows = 0;
};

struct SeedReport
{
    QString runId; // prefix of the run's idempotency keys
    qint64 transactions = 0;
    qint64 entries = 0;
    qint64 reversals = 0;
    qint64 backdated = 0;
    qint64 futureDated = 0;
    qint64 accountsTouched = 0;
    qint64 firstTransactionId = 0; // 0 when nothing was loaded
    qint64 lastTransactionId = 0;
};

// Loads a DemoHistory into the ledger in bulk (COPY), in one database transaction:
// transactions, entries (with account_seq and balance_after computed here, continuing from
// ledger.account_heads), reversal requests and approvals, the heads themselves and one
// audit event. Before committing it checks the ledger's invariants in SQL and rolls back
// if any fails. Needs a superuser connection (it bypasses the posting functions, switches
// to ledger_owner to move the heads and re-creates foreign keys). Synchronous; throws
// DbException. Run it on the connection's own thread (ledgerctl, or a DbWorker job).
class SeedLoader
{
public:
    // Called on the calling thread every few thousand rows and between phases; return
    // false to cancel (everything is rolled back).
    using ProgressCallback = std::function<bool(const SeedProgress &)>;

    struct Options
    {
        // Drop ledger.entries' foreign keys for the load and add them back, which checks
        // every row, before commit (PostgreSQL's "Populating a Database" advice). Off
        // only to measure what per-row checking costs; see SeedLoader.cpp.
        bool rebuildForeignKeys = true;
        // Likewise for ledger.entries' plain indexes: Automatic builds them afresh when
        // the load is big compared with what the table already holds.
        enum class IndexRebuild { Automatic, Always, Never };
        IndexRebuild rebuildIndexes = IndexRebuild::Automatic;
    };

    explicit SeedLoader(Connection &connection);

    // Throws (Kind::Permission) unless the connection's database was created as a demo or
    // test database (DatabaseAdmin::markDeployment): a seed drops indexes and foreign keys
    // and disables triggers, which has no place in a real ledger. load() checks it too.
    static void requireThrowawayDatabase(Connection &connection);

    SeedTarget inspect();
    SeedReport load(const DemoHistory &history, const ProgressCallback &progress = {});
    SeedReport load(const DemoHistory &history, const ProgressCallback &progress,
                    const Options &options);

private:
    Connection &m_connection;
};

} // namespace ledger
