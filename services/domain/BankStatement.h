#pragma once

#include <QDate>
#include <QDateTime>
#include <QList>
#include <QString>

#include <optional>

namespace ledger {

// What a bank or processor reported (Step 9, reconciliation), as the parsers in
// services/recon/ read it from a camt.053/.052, MT940/MT942 or CSV file, before it is
// mapped to a ledger account and imported. Amounts are exact decimals as written in the
// file (the importer converts them to the ledger currency's minor units and refuses more
// decimals than the currency has); signs are the account holder's: a credit (money in)
// is positive, a debit negative, after any reversal/storno mark has been applied.

// An exact decimal: units × 10^-scale ("-12.30" is {-1230, 2}). Never floating point.
struct BankAmount
{
    qint64 units = 0;
    int scale = 0;
    bool operator==(const BankAmount &o) const { return units == o.units && scale == o.scale; }
    bool operator!=(const BankAmount &o) const { return !(*this == o); }
};

// A balance the file states (camt Bal, MT940 :60F:/:60M:/:62F:/:62M:/:64:/:65:).
struct BankBalance
{
    QString code;      // OPBD, PRCD, CLBD, ITBD, CLAV, FWAV… (MT940 :60F: is OPBD, :60M: ITBD,
                       // :62F: CLBD, :62M: ITBD, :64: CLAV, :65: FWAV)
    BankAmount amount; // signed: credit positive
    QString currency;
    QDate date;
};

// One line of a statement: a camt Ntry (or, for a batch entry with several TxDtls that
// each carry an amount, one line per TxDtls), an MT940 :61: with its :86:, a CSV row.
struct BankLine
{
    BankAmount amount; // signed: credit positive; a reversal (RvslInd, RC/RD) already flipped
    QString currency;
    QDate bookingDate; // may be invalid when the file gives none (MT940 :61: without entry date
                       // takes the value date's year and the entry date; see the parser)
    QDate valueDate;
    bool reversal = false; // the bank marked it as a reversal/storno
    QString status;        // camt Sts (BOOK, PDNG, INFO); MT940/CSV: BOOK
    QString bankReference; // camt AcctSvcrRef (entry or TxDtls), MT940 bank reference (after //)
    QString endToEndId;    // camt Refs/EndToEndId; MT940 :86: EREF / ?20 EREF+
    QString accountOwnerReference; // MT940 :61: customer reference, camt Refs/InstrId or MsgId
    QString counterpartyName;      // camt RltdPties Dbtr/Cdtr Nm; MT940 :86: ?32/?33 or /NAME/
    QString counterpartyAccount;   // IBAN or other id
    QString remittance; // camt RmtInf/Ustrd joined by ' ', Strd/CdtrRefInf/Ref; :86: ?20-?29
    QString bankTransactionCode; // camt BkTxCd Domn/Fmly/SubFmly "PMNT/RCDT/ESCT" or Prtry/Cd;
                                 // MT940 N-code / GVC
    QString additionalInfo; // camt AddtlNtryInf / AddtlTxInf; :86: free text not otherwise placed
    QString sourceLocation; // where in the file: "line 37" (MT940/CSV) or an element path
};

// One statement (camt Stmt or Rpt, an MT940/MT942 message, a CSV file).
struct BankStatement
{
    QString format;            // camt.053, camt.052, mt940, mt942, csv
    QString messageId;         // camt GrpHdr/MsgId; MT940 :20:
    QString statementId;       // camt Stmt/Id; MT940 :20: + :28C: statement number
    qint64 sequenceNumber = 0; // camt ElctrncSeqNb or LglSeqNb; MT940 :28C: number; 0: none
    QString iban;              // account: IBAN, or
    QString accountNumber;     // another identifier (camt Othr/Id, MT940 :25: as written)
    QString currency;          // camt Acct/Ccy, MT940 balance currency; may be empty
    QDateTime createdAt;       // camt CreDtTm; invalid when not given
    QDateTime from;            // camt FrToDt; invalid when not given
    QDateTime to;
    std::optional<BankBalance> opening; // OPBD or PRCD (camt), :60F:/:60M: (MT940)
    std::optional<BankBalance> closing; // CLBD (camt), :62F:/:62M: (MT940)
    QList<BankBalance> otherBalances;   // the rest, as stated
    QList<BankLine> lines;
    QString sourceLocation; // where in the file the statement starts
};

// A file as read: its statements in file order, and how its text was decoded.
struct BankFile
{
    QString format;   // as for BankStatement::format
    QString encoding; // UTF-8, windows-1252, ISO-8859-1
    QList<BankStatement> statements;
};

} // namespace ledger
