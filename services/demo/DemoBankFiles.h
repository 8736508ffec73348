#pragma once

#include "domain/Result.h"
#include "domain/Statement.h"

#include <QByteArray>
#include <QMap>
#include <QString>

namespace ledger {

// The demo's bank statements (Step 9): what a bank would report for one of the demo's cash
// accounts over a period, made from the ledger's own statement of it with discrepancies of
// every kind planted, written as camt.053 or MT940. Plain functions, any thread.
namespace DemoBankFiles {

// What was planted, by the exception type (or match rule) it should produce:
// missing_in_statement, missing_in_ledger, amount_mismatch, date_out_of_tolerance,
// duplicate_line, statement_unbalanced, one_to_many, many_to_one.
using Planted = QMap<QString, int>;

// The bank's view of `ledger` (lines with the account's sign: money in positive), with
// discrepancies planted deterministically: two lines left out, two bank fees the ledger
// lacks, one amount off by 0.50, one date ten days late, one line sent twice with another
// date (the copy is also missing in the ledger), one entry split into two lines, two entries merged
// into one line, and (when `unbalanced`) a closing balance 1.00 off. Lines are ordered by value
// date. Needs a statement with at least 12 lines (Input error otherwise).
Result<Planted> plant(Statement &ledger, bool unbalanced);

// The statement as a camt.053.001.08 file (the account as Othr/Id `identifier`), or as an
// MT940 message (:25: `identifier`).
Result<QByteArray> camt053(const Statement &bank, const QString &identifier);
QByteArray mt940(const Statement &bank, const QString &identifier);

} // namespace DemoBankFiles

} // namespace ledger
