#pragma once

#include <QDate>
#include <QDateTime>
#include <QList>
#include <QMap>
#include <QString>

namespace ledger {

// Reconciliation (Step 9) as the database reports it: imports, matching runs, match groups,
// exceptions and the summary per mapped bank account. Amounts in the currency's minor units
// (signed: money into the bank account positive), with the exponent to show them.

struct ReconImportSummary
{
    qint64 fileId = 0;
    QString sha256;
    QString format;
    QString fileName;
    bool alreadyImported = false; // the same file (bytes) was imported before: nothing imported
    QDateTime firstImportedAt;
    QString firstImportedBy;
    int statements = 0;           // statements imported now
    int statementsSkipped = 0;    // imported before (same bank account, statement id, sequence)
    qint64 lines = 0;             // lines imported now
    qint64 linesSkipped = 0;      // re-sent under a bank reference already imported
    int unbalancedStatements = 0; // opening + lines <> closing: "statement does not balance"
    int duplicateLines = 0;       // "duplicate line" exceptions raised
    QStringList mappedNow;        // bank accounts mapped by this import (--account)
    QStringList accounts;         // the ledger accounts the file's statements are mapped to
};

struct ReconRunSummary
{
    qint64 runId = 0;
    QString bankAccount; // identifier
    QString currency;
    int exact = 0;
    int tolerance = 0;
    int oneToMany = 0;
    int manyToOne = 0;
    int autoConfirmed = 0;
    int proposed = 0;
    QMap<QString, int> exceptionsRaised; // by type
    int exceptionsResolved = 0;
    // Where the run's time went, in ms per step: prepare, exact, tolerance, one_to_many,
    // many_to_one, record (groups written), exceptions (raised), resolve.
    QMap<QString, double> elapsedMs;
};

struct ReconMatchSummary
{
    QString account;
    bool dryRun = false;
    QList<ReconRunSummary> runs; // one per mapped bank account
};

// One row of the exceptions queue.
struct ReconException
{
    qint64 id = 0;
    QString type;  // missing_in_ledger, missing_in_statement, amount_mismatch,
                   // date_out_of_tolerance, duplicate_line, statement_unbalanced
    QString state; // open, assigned, resolved, accepted
    QString assignee;
    QString account;     // ledger account code
    QString bankAccount; // identifier
    QString currency;
    int exponent = 2;
    qint64 amountMinor = 0;
    qint64 differenceMinor = 0;
    bool hasDifference = false;
    QDateTime raisedAt;
    QDateTime dueAt;
    bool overdue = false;
    qint64 lineId = 0; // 0: none
    QDate valueDate;
    QString bankReference;
    QString counterparty;
    QString remittance;
    qint64 entryId = 0; // 0: none
    qint64 transactionId = 0;
    QDate entryDate;
    QString externalRef;
    qint64 statementId = 0; // 0: none
    qint64 lastEventId = 0; // 0: none yet (pass it back as the expected event)
};

// The queue's filter, sort and page.
struct ReconExceptionQuery
{
    QStringList types;          // empty: all
    QString account;            // empty: all
    QStringList states;         // empty: open and assigned
    QString assignee;           // empty: anyone
    qint64 minAmountMinor = -1; // -1: no bound (absolute amounts)
    qint64 maxAmountMinor = -1;
    int minAgeDays = 0;                   // 0: any age
    int overdue = -1;                     // -1: either, 0: not overdue, 1: overdue only
    QString sort = QStringLiteral("age"); // age, due, amount, type, id
    bool descending = false;
    qint64 offset = 0;
    int limit = 200;
};

struct ReconAgingBucket
{
    QString type;
    QString bucket; // 0-2 days, 3-7 days, 8-30 days, over 30 days
    qint64 open = 0;
    qint64 overdue = 0;
};

struct ReconBulkResult
{
    qint64 exceptionId = 0;
    bool ok = false;
    QString message;
};

// Per mapped bank account.
struct ReconAccountStatus
{
    QString bankAccount;
    QString currency;
    QString account;
    qint64 statements = 0;
    qint64 lines = 0;
    qint64 matchedLines = 0;
    qint64 proposedLines = 0;
    QString lastStatementId;
    QDate lastClosingDate;
    QString lastClosing; // as the bank stated it
    QString ledgerAtClosing;
    bool hasLastStatement = false;
    bool agrees = false;
    QDate lastAgreement; // the last closing date a statement agreed with the ledger; invalid: none
    QMap<QString, qint64> openExceptions; // by type
    qint64 overdueExceptions = 0;
    // The matching rules a manual match is held to: the sums may differ by at most
    // max(amountToleranceMinor, |lines| * amountToleranceBp / 10000).
    int exponent = 2;
    qint64 amountToleranceMinor = 0;
    int amountToleranceBp = 0;
    int dateWindowDays = 0;
};

// One candidate of the side-by-side view: a ledger entry for a line, or a line for an entry.
struct ReconCandidate
{
    qint64 id = 0; // entry or line
    qint64 transactionId = 0;
    QDate date;
    qint64 amountMinor = 0;
    QString reference;
    QString text; // description, or counterparty and remittance
    qint64 amountDifference = 0;
    int days = 0;
    int score = 0;
};

// A group a run proposed, waiting for an operator.
struct ReconProposal
{
    qint64 groupId = 0;
    QString rule;
    int score = 0;
    QString bankAccount;
    QString account;
    QString currency;
    int exponent = 2;
    QList<qint64> lineIds;
    QList<qint64> entryIds;
    qint64 linesMinor = 0;
    qint64 entriesMinor = 0;
    QDateTime createdAt;
};

} // namespace ledger
