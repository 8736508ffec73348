#pragma once

#include "domain/Result.h"

#include <QString>

class QIODevice;

namespace ledger {

struct Statement;

// A statement as an ISO 20022 camt.053 BankToCustomerStatement (Step 8), versions
// .001.02, .001.04 and .001.08 (the default). Plain class over Qt Core, any thread; the
// output depends on the statement and the version only (byte-identical for the same input).
//
// Document (namespace urn:iso:std:iso:20022:tech:xsd:camt.053.001.0N) / BkToCstmrStmt:
//   GrpHdr   MsgId = messageId, CreDtTm = issuedAt
//   Stmt     Id = the verification reference (messageId when the reference is empty or
//            longer than 35 characters), ElctrncSeqNb = sequenceNumber (when > 0),
//            CreDtTm = issuedAt, FrToDt = from / to (to is the exclusive end),
//            Acct: Id/Othr/Id = account code, Ccy, Nm = account name (first 70 characters)
//            Bal OPBD (opening) and CLBD (closing): Amt, CdtDbtInd (CRDT for >= 0, DBIT
//            below), Dt/Dt = the first and the last day of the period in its time zone
//            TxsSummry: TtlCdtNtries and TtlDbtNtries (count and sum)
//   Ntry     one per line: NtryRef = entry id, Amt (|amount|), CdtDbtInd (CRDT raises the
//            balance, DBIT lowers it), RvslInd true for reversal entries, Sts BOOK
//            (.08: <Sts><Cd>BOOK</Cd></Sts>; .02/.04: <Sts>BOOK</Sts>),
//            BookgDt/DtTm = recorded time, ValDt/DtTm = effective time,
//            AcctSvcrRef = transaction id, BkTxCd/Prtry/Cd = "LEDGER/<kind>",
//            NtryDtls/TxDtls: Refs (AcctSvcrRef = transaction id, EndToEndId = the
//            reference's first 35 characters or NOTPROVIDED), Amt and CdtDbtInd again
//            (.04/.08; .02 has no such elements), RmtInf/Ustrd = the description in pieces of
//            at most 140 characters, AddtlTxInf = the whole reference when it is longer
//            than 35 characters
// Amounts: exact decimals with the currency's digits. Times: ISO 8601 with milliseconds and
// the offset of the statement's IANA zone, UTC with 'Z' otherwise. Lengths are counted in
// Unicode characters, as the schema does. Text: characters XML 1.0 cannot hold become
// U+FFFD, control characters (tab, line breaks included) become spaces.
//
// Refused before anything is written (Input): no message id or one longer than 35
// characters, no issue time, an account code of more than 34 characters, a currency that
// is not three capital letters, more than 5 decimals, invalid period times, or an amount
// with more than 18 digits (the schema's limits).
class Camt053Writer
{
public:
    enum class Version { V02, V04, V08 };

    explicit Camt053Writer(Version version = Version::V08);

    Version version() const { return m_version; }
    // "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08" and so on.
    QString namespaceUri() const;
    static QString namespaceUri(Version version);

    // Writes the document to `device` (open for writing). Input errors as above; Io when a
    // write fails (what was written stays on the device: write to a temporary file).
    Status write(const Statement &statement, QIODevice *device) const;

private:
    Version m_version;
};

} // namespace ledger
