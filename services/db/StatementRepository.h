#pragma once

#include "domain/Result.h"
#include "domain/Statement.h"
#include "domain/StatementIssue.h"

#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace ledger {

class Connection;

// Statements (Step 8): their data as of a known-at time, their issue records, verification
// and restatements. The rules (who may, consecutive numbers, the balances recorded, the
// audit events) are the database's (migration 0027). Synchronous; throws DbException.
namespace StatementRepository {

struct Request
{
    QString accountCode;
    QDateTime from; // UTC instants; [from, to)
    QDateTime to;
    QDateTime knownAt;                        // invalid: now (the server's clock)
    QString timeZone = QStringLiteral("UTC"); // the zone the period was given in (shown)
};

// The statement as the ledger knew it at request.knownAt: header and lines in one read.
Statement load(Connection &connection, const Request &request);

// Issues a statement: in one database transaction, takes the account's next number and a
// reference, loads the data, calls write(statement) — which writes the file (to a temporary
// name) and returns its hash, or an error — then records the issue and its audit event and
// commits. commit() is called after the record is written and before the transaction
// commits: the writer renames its file there (failing it rolls the record back). A write
// that fails records nothing. The same request again (account, period, zone, known-at time,
// format) is the same statement: its number, reference and issue time, so the file comes
// out the same (CSV, camt.053), recorded as a copy (statement.reissued).
struct Written
{
    WrittenStatementFile file;
    std::function<Status()> commit; // rename into place; may be empty
    std::function<void()> discard;  // remove the temporary file; may be empty
};
struct IssueOptions
{
    QString format;        // pdf, csv, camt053
    QString formatVersion; // camt: 02, 04, 08
    QString institution;   // empty: the ledger's (access.settings.statement_institution)
    std::function<QString(const Statement &)> contentDigest; // StatementDigest::compute
};
StatementRecord issue(Connection &connection, const Request &request, const IssueOptions &options,
                      const std::function<Result<Written>(const Statement &)> &write);

// The issue record of a file (by its SHA-256) or of a printed reference; nullopt when no
// such statement was issued. Both audited.
std::optional<StatementRecord> findByFile(Connection &connection, const QString &sha256);
std::optional<StatementRecord> findByReference(Connection &connection, const QString &reference);

// Issued statements whose period has changed since (issued since `since`, if given).
QList<Restatement> restated(Connection &connection, const std::optional<QDateTime> &since = {});
// Records each newly restated statement once, with a statement.restated audit event.
int recordRestatements(Connection &connection);

// A page of issued statements, newest first, each with its restatement as of now. Audited
// (statement.listed). Input error for a limit outside 1..1000 or an unknown account.
QList<IssuedStatement> issued(Connection &connection, const IssuedStatementQuery &query);

// The accounts a batch export covers (a kind and/or a currency; empty: any), in code order,
// and the server's clock when they were read (a batch without a known-at time uses it for
// every statement, so the batch is one picture of the ledger). Input error for an unknown
// kind or currency (LG064).
struct BatchSelection
{
    QStringList accounts;
    QDateTime serverNow; // UTC, to the millisecond
};
BatchSelection batchAccounts(Connection &connection, const QString &kind, const QString &currency);

} // namespace StatementRepository

} // namespace ledger
