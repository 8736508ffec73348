#pragma once

#include <QDateTime>
#include <QString>
#include <QStringList>

namespace ledger {

class Connection;

// The reporting store as a database of its own, fed by logical replication from the ledger
// (Step 11; 0036_reporting_replica.sql). For DBAs through ledgerctl: both connections are a
// superuser's (PostgreSQL 15 creates subscriptions only as one). Synchronous; throws
// DbException with a message that says what to change.
namespace ReplicaAdmin {

// The publication on the ledger and the subscription on the reporting store.
inline constexpr const char *kName = "ledger_reporting";

struct SetupReport
{
    bool publicationCreated = false;  // false: it was there (its tables set again)
    bool subscriptionCreated = false; // false: it was there (refreshed)
    int replicaMigrations = 0;        // migrations applied to the reporting store now
    QStringList tables;               // what is published
};

// Idempotent. Checks the ledger first (wal_level = logical, replication slots and senders
// free), migrates the reporting store like a ledger database, creates or updates the
// publication on the ledger, prepares the reporting store (the ledger's own balance check
// off, the aggregate trigger on for the apply worker) and creates or refreshes its
// subscription. `primaryConninfo` is how the reporting store's server reaches the ledger
// (it is stored in the subscription); refused when that server cannot connect with it.
SetupReport setup(Connection &primary, Connection &replica, const QString &primaryConninfo);

struct Status
{
    bool subscribed = false; // the reporting store has the subscription
    bool enabled = false;    // and it is enabled
    bool workerRunning = false;
    int tablesReady = 0; // tables past their initial copy
    int tablesTotal = 0;
    qint64 lagBytes = -1;    // ledger WAL not yet confirmed by the reporting store; -1 unknown
    double lagSeconds = -1;  // since the last change the store confirmed, when behind
    QDateTime lastMessageAt; // the last message from the ledger (UTC); invalid if none
    QString state() const;   // "streaming", "initial copy", "stopped", "disabled", "not set up"
};

// What the reporting store says of its subscription and, given the ledger too, the lag in
// bytes of WAL (primary may be null: the lag is then unknown).
Status status(Connection *primary, Connection &replica);

} // namespace ReplicaAdmin

} // namespace ledger
