#pragma once

#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>

namespace ledger {

// What the ledger recorded when a statement was issued (ledger.statements), as verification
// by file or by reference shows it.
struct StatementRecord
{
    QString reference;
    QString accountCode;
    QString accountName;
    QString currency;
    int exponent = -1; // the currency's minor-unit digits; -1 when not known (verification)
    qint64 sequenceNumber = 0;
    QDateTime from;
    QDateTime to;
    QString timeZone;
    QDateTime knownAt;
    QString format;        // pdf, csv, camt053
    QString formatVersion; // camt: 02, 04, 08
    QString contentDigest; // hex SHA-256 of the canonical encoding (StatementDigest)
    QString fileSha256;
    qint64 fileBytes = 0;
    qint64 openingMinor = 0; // computed by the server at issue
    qint64 closingMinor = 0;
    qint64 lineCount = 0;
    QString issuedBy;
    QDateTime issuedAt;
    bool reissued = false; // this issue was a copy of the same request issued before
};

// An issued statement whose period entries recorded after its known-at time have changed.
struct Restatement
{
    qint64 statementId = 0;
    QString reference;
    QString accountCode;
    QDateTime from;
    QDateTime to;
    QDateTime knownAt;
    QDateTime issuedAt;
    qint64 openingDifference = 0; // minor units, on the account's normal side
    qint64 closingDifference = 0;
    QList<qint64> lateEntries; // entry ids, in recorded order
};

// A statement to issue as a file (the console's StatementService): the period as UTC
// instants [from, to), as the ledger knew it at knownAt (invalid: now), in a format.
struct StatementExportRequest
{
    QString accountCode;
    QDateTime from;
    QDateTime to;
    QDateTime knownAt;                          // invalid: the server's clock now
    QString timeZone = QStringLiteral("UTC");   // the zone the period was given in
    QString format = QStringLiteral("pdf");     // pdf, csv, camt053
    QString camtVersion = QStringLiteral("08"); // camt053: 02, 04, 08
    QString pageSize = QStringLiteral("a4");    // pdf: a4, letter
    QString institution; // named in the PDF's header; empty: the ledger's setting
    QString outPath;     // the file to write
};

// An issued statement as the Statements tab lists it: its issue record, how many copies were
// issued, and its restatement as of now (entries recorded after its known-at time that
// change its period), if any.
struct IssuedStatement
{
    qint64 id = 0;
    StatementRecord record; // record.exponent is the currency's
    qint64 copies = 0;
    bool restated = false;
    qint64 openingDifference = 0; // minor units, on the account's normal side
    qint64 closingDifference = 0;
    QList<qint64> lateEntries;       // entry ids, in recorded order
    QDateTime restatementRecordedAt; // when statement.restated was recorded; invalid: not yet
};

// A page of issued statements, newest first.
struct IssuedStatementQuery
{
    QString accountCode; // empty: every account
    bool restatedOnly = false;
    qint64 beforeId = 0; // 0: the newest; else statements issued before this one (by id)
    int limit = 200;     // 1..1000
};

// A batch export: one statement per account of a kind and/or currency (empty: any), each
// written as its own file into `folder` and issued (recorded and audited) on its own.
struct StatementBatchRequest
{
    QString kind;     // asset, liability, equity, income, expense; empty: any
    QString currency; // ISO 4217; empty: any
    QDateTime from;   // the period [from, to) as instants
    QDateTime to;
    QDateTime knownAt;                          // invalid: the server's clock at the start
    QString timeZone = QStringLiteral("UTC");   // the zone the period was given in
    QString format = QStringLiteral("csv");     // pdf, csv, camt053
    QString camtVersion = QStringLiteral("08"); // camt053: 02, 04, 08
    QString pageSize = QStringLiteral("a4");    // pdf: a4, letter
    QString institution; // named in the PDF's header; empty: the ledger's setting
    QString folder;      // an existing, writable folder
};

// What a batch did: the statements issued (each file complete under its final name, in
// account order), the accounts it covered, whether it was cancelled, and the error that
// stopped it, if any. Files not listed in `written` were not left behind.
struct StatementBatchOutcome
{
    int total = 0; // accounts the batch covers
    QList<StatementRecord> written;
    QStringList files; // the paths of `written`, same order
    bool cancelled = false;
    QString error;         // empty: no error
    QString failedAccount; // the account whose statement failed, if any
};

// A file a writer produced for an issue: its SHA-256 and size (the writer renames it to its
// final name only when the issue is recorded).
struct WrittenStatementFile
{
    QString sha256; // hex
    qint64 bytes = 0;
};

} // namespace ledger
