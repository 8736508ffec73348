#pragma once

#include <QStringList>

namespace ledger::test {

class SqlSession;

// The ledger's invariants, checked with plain SQL against the tables (as an auditor with
// superuser rights would). Returns one line per violation; empty means all hold:
//  - every transaction sums to zero per currency, and has at least two legs;
//  - every entry's currency is its account's;
//  - per account, sequence numbers run 1..n, recorded time never goes back along them,
//    each balance_after is the running sum, and the head (last_seq, balance) matches;
//  - no account that forbids it has a negative balance on its normal side;
//  - every transaction has exactly one audit event (bulk demo loads: one for the load),
//    and a reversal mirrors its original;
//  - the audit hash chain verifies (audit.verify_chain_unrecorded).
QStringList ledgerInvariantViolations(SqlSession &admin);

// Makes the next READ COMMITTED commit that writes an audit event seal the chain, as the
// first commit after a pause does: the last seal made to look older than seal_every (0060).
// For tests of what a commit-time seal takes in; tests that need the whole chain call
// audit.seal(), as verifiers do.
void sealAtNextCommit(SqlSession &admin);

} // namespace ledger::test
