#pragma once

#include "domain/Health.h"
#include "domain/Invariant.h"

#include <QHash>

#include <QList>

namespace ledger {

class Connection;

// Operations health: the ledger's invariants, checked by the database (0044). Synchronous;
// throws DbException. Needs a console session of the auditor or compliance group (or the
// owner).
namespace HealthRepository {

// On the ledger: runs every check (ledger.check_invariants), records the run with the
// reporting store's results passed on (empty: no store checked) and an audit event, and
// returns every result, the store's last.
QList<InvariantResult> checkInvariants(Connection &ledger, const QList<InvariantResult> &store);

// On a reporting store: its aggregates against its copy of the entries, and whether it heard
// from the ledger within maxLagSeconds (reporting.check_store).
QList<InvariantResult> checkStore(Connection &store, int maxLagSeconds);

// The latest recorded runs, newest first.
QList<InvariantCheckRun> invariantChecks(Connection &ledger, int limit);

// What the console's health panel shows (ledger.health_snapshot, 0052): any console role.
// expiringWithinSeconds: the window for sessions about to end.
HealthSnapshot snapshot(Connection &ledger, int expiringWithinSeconds = 600);

// A stream consumer saw these partitions end at these offsets (partition -> high
// watermark), for the panel's lag and rate (ledger.note_source_ends): the writer's role.
void noteSourceEnds(Connection &ledger, const QString &source, const QString &topic,
                    const QHash<int, qint64> &ends);

} // namespace HealthRepository

} // namespace ledger
