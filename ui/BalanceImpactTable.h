#pragma once

#include "domain/Reversal.h"

#include <QList>

class QTableWidget;

namespace ledger {

// Fills a preview's "balance before and after" table (columns: account, before, after,
// currency, note), as the request dialog and the approvals inbox both show it: a row that
// would go below zero where the account may not is drawn in the problem colour. GUI thread.
void fillBalanceImpactTable(QTableWidget *table, const QList<BalanceImpact> &balances);

} // namespace ledger
