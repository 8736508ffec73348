#pragma once

#include "domain/Invariant.h"

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

} // namespace HealthRepository

} // namespace ledger
