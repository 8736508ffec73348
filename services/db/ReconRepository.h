#pragma once

#include "domain/BankStatement.h"
#include "domain/Recon.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QPair>
#include <QString>

#include <functional>

namespace ledger {

class Connection;

// Reconciliation (Step 9): mapping bank accounts, importing parsed bank files, matching
// runs, decisions on matches, the exception workflow and the queue. The rules (idempotency,
// the passes, scores, tolerance, who may, the audit events) are the database's (migration
// 0029); this layer converts and carries. Synchronous; throws DbException.
namespace ReconRepository {

// Maps a bank account (IBAN or number; spaces ignored) in a currency to a ledger account.
// The same mapping again is harmless; another account for a mapped bank account is LG080.
qint64 mapAccount(Connection &connection, const QString &identifier, const QString &currency,
                  const QString &accountCode);

// Changes a mapped bank account's matching rules (only the keys given: amount_tolerance_minor,
// amount_tolerance_bp, date_window_days, max_group_size, auto_confirm_score,
// missing_after_days, reversal_flips_sign); supervisors only. Returns the account's rules.
QJsonObject setRules(Connection &connection, const QString &identifier, const QString &currency,
                     const QJsonObject &rules);

// The due-date tiers: from an amount (major units of the exception's currency, as text) the
// days an exception has; setSlaTiers replaces them all (supervisors; one tier from "0").
QList<QPair<QString, int>> slaTiers(Connection &connection);
void setSlaTiers(Connection &connection, const QList<QPair<QString, int>> &tiers);

// Where an import's time went, in ms (for benchmarks and logs): waiting for the chunks' arrays
// (built on a second thread while the previous chunk is sent, so only what that does not
// hide), sending them (recon.import_lines: the wire and the server's insert), and
// recon.import_finish (balances, duplicate lines).
struct ImportTimings
{
    double buildMs = 0;
    double linesMs = 0;
    double finishMs = 0;
};

struct ImportOptions
{
    QString fileName;
    QString mapToAccount;            // map the file's unmapped bank accounts to this account first
    std::function<bool()> cancelled; // checked between chunks; may be empty
    std::function<void(qint64 done, qint64 total)> progress; // lines sent; may be empty
    ImportTimings *timings = nullptr;                        // filled in when given
};

// Imports a parsed file in one database transaction: every statement's bank account must be
// mapped (Input error naming the identifier to map otherwise), every amount must fit the
// currency (Input error naming where in the file). The same file again (sha256) or the same
// statement imports nothing and says so. A cancel rolls everything back (Cancelled error).
ReconImportSummary importFile(Connection &connection, const BankFile &file,
                              const QString &sha256Hex, qint64 bytes,
                              const ImportOptions &options = {});

// A matching run over the bank accounts mapped to the ledger account; with dryRun what it
// would do, writing nothing.
ReconMatchSummary match(Connection &connection, const QString &accountCode, bool dryRun = false);

// confirmed, rejected or revoked (a note is required for the last two).
void decideMatch(Connection &connection, qint64 groupId, const QString &decision,
                 const QString &note = {});
// Returns the new, confirmed group.
qint64 manualMatch(Connection &connection, const QList<qint64> &lineIds,
                   const QList<qint64> &entryIds, const QString &note);

// The exception workflow. expectedEvent: the lastEventId the caller saw (0: none); when
// someone acted since, LG084 says who. Each returns the new event's id.
qint64 assignException(Connection &connection, qint64 id, const QString &assignee,
                       qint64 expectedEvent);
qint64 acceptException(Connection &connection, qint64 id, const QString &reasonCode,
                       const QString &note, qint64 expectedEvent);
qint64 reopenException(Connection &connection, qint64 id, const QString &note,
                       qint64 expectedEvent);
qint64 resolveByCorrection(Connection &connection, qint64 id, qint64 reversalRequestId,
                           const QString &note, qint64 expectedEvent);
// assign or accept many; one result per id.
QList<ReconBulkResult> bulkExceptions(Connection &connection, const QList<qint64> &ids,
                                      const QString &action, const QString &assignee,
                                      const QString &reasonCode, const QString &note);
// The last event of an exception (0: none yet): the expected event for acting on its
// current state.
qint64 exceptionHead(Connection &connection, qint64 id);
// The exceptions a reversal request resolves (the link from the request's side).
QList<qint64> exceptionsOfRequest(Connection &connection, qint64 requestId);

// The side-by-side view: unmatched entries near a line, unmatched lines near an entry.
QList<ReconCandidate> lineCandidates(Connection &connection, qint64 lineId, int limit = 20);
QList<ReconCandidate> entryCandidates(Connection &connection, qint64 entryId, int limit = 20);
// Groups proposed by runs, waiting for an operator (oldest first).
QList<ReconProposal> proposals(Connection &connection, const QString &accountCode, qint64 offset,
                               int limit);
// The reason codes an exception may be accepted with ("CODE: description").
QStringList acceptReasons(Connection &connection);
// CSV profiles: the latest version of each (name -> definition); saving appends a version.
QMap<QString, QJsonObject> csvProfiles(Connection &connection);
int saveCsvProfile(Connection &connection, const QString &name, const QJsonObject &definition);

QList<ReconException> exceptions(Connection &connection, const ReconExceptionQuery &query);
qint64 exceptionCount(Connection &connection, const ReconExceptionQuery &query);
QList<ReconAgingBucket> aging(Connection &connection, const QString &accountCode = {});
QList<ReconAccountStatus> status(Connection &connection, const QString &accountCode = {});

} // namespace ReconRepository

} // namespace ledger
