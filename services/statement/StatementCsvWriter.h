#pragma once

#include "domain/Result.h"

class QIODevice;

namespace ledger {

struct Statement;

// A statement as CSV (Step 8), one table a spreadsheet opens as it is. Plain class over
// Qt Core, any thread; the output depends on the statement only (byte-identical for the
// same statement).
//
// Format: RFC 4180. UTF-8 without BOM, CRLF after every record (the last one included),
// a field is quoted when it holds '"', ',', CR or LF, and a quote inside one is doubled.
// The first record is the header:
//
//   Type,Account,Currency,Booking time,Value time,Transaction,Entry,Description,Reference,
//   Debit,Credit,Balance
//
// then one record per row, typed by the first column:
//   opening   the balance before the period: times = the period's start, Balance = opening,
//             Description "Opening balance"; Debit, Credit, Transaction, Entry empty
//   entry     one per statement line, in the statement's order: Booking time = recorded
//             time, Value time = effective time; the amount in Debit (lowers the balance)
//             or Credit (raises it), never both; Balance = the running balance after it
//   closing   the balance at the period's end (exclusive): times = the period's end,
//             Debit / Credit = the period's totals, Balance = closing,
//             Description "Closing balance"
//   issue     (issued statements only: a reference) Booking time = issue time, Value time
//             = the known-at time, Transaction = the statement's number, Reference = its
//             verification reference, Description says who issued it
// An empty statement has the header, an opening and a closing row (opening = closing).
//
// Times: ISO 8601 with milliseconds and the offset of the statement's IANA time zone
// ("2024-03-01T10:30:00.000+01:00"), or UTC with 'Z' when the statement is in UTC or names
// no valid zone. Amounts: exact decimals with the currency's digits ("1500" JPY,
// "12.30" EUR, "0.125" BHD), '.' as the separator; Debit and Credit are never negative.
//
// Spreadsheet formulas: a text field (Account, Currency, Description, Reference) that
// begins with '=', '+', '-', '@', TAB or CR is written with a leading apostrophe
// ("'=SUM(A1)"), which spreadsheets show as text and never evaluate. Generated fields are
// exempt, so numbers stay numbers: ids, times and Debit/Credit never begin with one of
// those characters, and Balance is a generated number that may be negative ("-12.30"),
// which a spreadsheet reads as a number, not a formula.
class StatementCsvWriter
{
public:
    // Writes the whole statement to `device` (open for writing). An Io error names the
    // device's own error when a write fails; what was written before stays on the device
    // (write to a temporary file and rename it when complete).
    Status write(const Statement &statement, QIODevice *device) const;
};

} // namespace ledger
