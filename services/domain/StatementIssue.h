#pragma once

#include <QDateTime>
#include <QList>
#include <QString>

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
    QDateTime knownAt;                                      // invalid: the server's clock now
    QString timeZone = QStringLiteral("UTC");               // the zone the period was given in
    QString format = QStringLiteral("pdf");                 // pdf, csv, camt053
    QString camtVersion = QStringLiteral("08");             // camt053: 02, 04, 08
    QString pageSize = QStringLiteral("a4");                // pdf: a4, letter
    QString institution = QStringLiteral("Ledger Console"); // named in the PDF's header
    QString outPath;                                        // the file to write
};

// A file a writer produced for an issue: its SHA-256 and size (the writer renames it to its
// final name only when the issue is recorded).
struct WrittenStatementFile
{
    QString sha256; // hex
    qint64 bytes = 0;
};

} // namespace ledger
