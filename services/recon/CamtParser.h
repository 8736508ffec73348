#pragma once

#include "domain/BankStatement.h"
#include "domain/Result.h"

#include <QByteArray>

namespace ledger::recon {

// ISO 20022 camt.053 (BkToCstmrStmt/Stmt) and camt.052 (BkToCstmrAcctRpt/Rpt), versions
// .001.02 to .001.08, through QXmlStreamReader (streaming, no DOM). Elements are matched by
// local name, so any namespace prefix works. Used by BankFileParser::parse; any thread.
//
// An Ntry becomes one BankLine, or one per TxDtls when a batch entry (NtryDtls with several
// TxDtls) gives each TxDtls an amount (TxDtls/Amt, or AmtDtls/TxAmt/Amt in .02); those
// amounts must add up to the entry's. RvslInd true flips the sign (the bank repeats the
// original entry's CdtDbtInd, as German banks do) and sets `reversal`.
//
// UTF-8 text larger than `twoThreadsAbove` bytes is read in two halves, cut after the end
// tag of a Stmt/Rpt, the second on another thread given the file's start up to the message's
// start tag (so the root's namespace declarations are in scope there too); the result, and
// the first error with its element path, line and column, is the same as one reader's.
// `readInHalves` (tests) tells whether it was.
constexpr qsizetype kCamtTwoThreadsAbove = qsizetype(4) * 1024 * 1024;
Result<BankFile> parseCamt(const QByteArray &bytes,
                           qsizetype twoThreadsAbove = kCamtTwoThreadsAbove,
                           bool *readInHalves = nullptr);

} // namespace ledger::recon
