#pragma once

#include "domain/Report.h"

#include <QDate>
#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>

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

// On a reporting store, the balance snapshots trial balances start from (0039, 0059): the
// 15th and the last day of every month since the first entry, up to the day before
// yesterday, that are not taken yet. Returns how many were taken (0 in a ledger database).
int takeSnapshots(Connection &connection);

// Reports (0038). A report run goes on the ledger's audit chain first (recordReport, over
// the ledger connection, committed), then runs where the reports are read: a reporting store
// or, where none is configured, the ledger (where the report is gated on that record).
// Console sessions of every group.

// Returns the audit event's id.
qint64 recordReport(Connection &ledger, const QString &name, const QJsonObject &params);

// Records the export of a report this operator ran (the run's audit event), with the file's
// SHA-256 (lowercase hex), and the audit event report.exported; committed. Returns its id.
qint64 recordReportExport(Connection &ledger, qint64 runEvent, const QString &format,
                          const QString &sha256);
// The latest exports (newest first), each with the entries recorded since that change it.
QList<ReportExport> reportExports(Connection &ledger, int limit = 100);

// Whether this database is a reporting store, and how far it has replicated.
ReportSourceState storeState(Connection &connection);

// Every account with entries by the end of the UTC day asOf (effective time), as known at
// knownAt (none: now), by currency and then account code.
QList<TrialBalanceRow> trialBalance(Connection &connection, const QDate &asOf,
                                    const std::optional<QDateTime> &knownAt);

// Per account with entries by `to`: the balance before `from`, the net movement from `from`
// to `to` (UTC days, both included) and the balance at the end (debit positive).
QList<MovementRow> movements(Connection &connection, const QDate &from, const QDate &to,
                             const std::optional<QDateTime> &knownAt);

// Entries, debits and credits per currency and day, ISO week or month ("day", "week",
// "month"), the period starting on its first day.
QList<VolumeRow> volumes(Connection &connection, const QDate &from, const QDate &to,
                         const QString &unit);

} // namespace ReportingRepository

} // namespace ledger
