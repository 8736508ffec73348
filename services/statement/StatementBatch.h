#pragma once

#include "domain/Result.h"
#include "domain/StatementIssue.h"

#include <QString>

#include <functional>

namespace ledger {

class Connection;

// A batch export (Step 8): one statement per account of a kind and/or currency, each written
// to its own file in a folder and issued on its own (its own number, record and audit
// event, StatementRepository::issue). Shared by the console's StatementService (on its
// long-jobs worker) and `ledgerctl statement batch`. Plain functions; run() blocks.
//
// Every statement of a batch is as of one known-at time: the request's, or the server's
// clock when the batch starts. Each file is complete under its final name or not there
// (StatementFile); a cancel takes effect between statements, so a cancelled batch has the
// files it reports and no others. The first error stops the batch: the files written before
// it stay (each is issued), the error names the account and what to do.
namespace StatementBatch {

// Input error (with what to do) for a request that cannot start: a format, version or page
// size unknown, a period that does not end after it begins, a folder that does not exist
// or cannot be written to.
Status check(const StatementBatchRequest &request);

// The file name of an account's statement in a batch: "<code>_<from>_<to>.<ext>", the dates
// in the request's time zone, characters a file system may refuse in a code ('/', ':', '\')
// replaced by '_'. Names that would collide (also differing in case only) get "~2", "~3"…
// appended, in account order, so every account's file is distinct on any file system.
QStringList fileNames(const QStringList &accountCodes, const StatementBatchRequest &request);

struct Callbacks
{
    std::function<void(int total)> started;                                          // may be empty
    std::function<void(int done, const StatementRecord &, const QString &)> written; // may be empty
    std::function<bool()> cancelled;                                                 // may be empty
};

// Runs the batch on the connection (the caller's thread). Assumes check() passed; still
// refuses to start when a file it would write already exists in the folder (it never
// replaces a file). The outcome says what was written; it is an error only through
// outcome.error.
StatementBatchOutcome run(Connection &connection, const StatementBatchRequest &request,
                          const Callbacks &callbacks = {});

} // namespace StatementBatch

} // namespace ledger
