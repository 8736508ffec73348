#pragma once

#include <QDateTime>
#include <QList>
#include <QString>

namespace ledger {

// An account statement for a period as the ledger knew it at a time (Step 8): what every
// writer (CSV, camt.053, PDF) renders and what the content digest covers. Amounts are
// integers in the currency's minor units (exponent: EUR 2, JPY 0, BHD 3); text is made
// with Money::formatMinor, never through floating point.
//
// Sign convention: a statement shows the account on its normal side, as its holder reads
// it. A positive amount raises the balance the account shows (a credit to the holder:
// camt CdtDbtInd CRDT, the CSV/PDF "credit" column); a negative one lowers it (DBIT,
// "debit"). For a customer's liability account a deposit is a credit; for an asset
// account an increase is a credit in this sense too.

struct StatementLine
{
    qint64 entryId = 0;
    qint64 transactionId = 0;
    qint64 accountSeq = 0; // the entry's number on the account (recorded order)
    QDateTime bookedAt;    // recorded time (UTC): camt BookgDt
    QDateTime valueAt;     // effective time (UTC): camt ValDt
    QString description;
    QString reference;       // the transaction's external reference ("" when none)
    QString kind;            // posting, reversal, rebook, event, seed
    qint64 reverses = 0;     // a reversal entry: the transaction it reverses (camt RvslInd)
    qint64 amountMinor = 0;  // + raises the balance (credit), - lowers it (debit)
    qint64 balanceMinor = 0; // running balance after this line, in the statement's order
};

struct Statement
{
    // What was asked.
    QString accountCode;
    QString accountName;
    QString accountKind; // asset, liability, equity, income, expense
    QString currency;    // ISO 4217
    int exponent = 2;    // the currency's minor-unit digits
    QDateTime from;      // first instant of the period (UTC), inclusive
    QDateTime to;        // end of the period (UTC), exclusive
    QString timeZone;    // the zone the period was given in: "UTC" or an IANA name
    QDateTime knownAt;   // as the ledger knew it then (UTC)

    // What the ledger held: lines in effective order (then the entry's number), opening =
    // balance of everything effective before `from`, closing = opening + sum of lines.
    qint64 openingMinor = 0;
    qint64 closingMinor = 0;
    qint64 creditsMinor = 0; // sum of positive amounts
    qint64 debitsMinor = 0;  // sum of negative amounts, as a positive number
    QList<StatementLine> lines;

    // The issue (filled when the statement is issued; not part of the content digest).
    QString institution;       // printed in the header (configurable)
    QString issuedBy;          // the operator
    QDateTime issuedAt;        // UTC
    QString reference;         // the verification reference printed and in the QR code
    qint64 sequenceNumber = 0; // per account, increasing (camt ElctrncSeqNb)
    QString messageId;         // camt GrpHdr/MsgId
};

} // namespace ledger
