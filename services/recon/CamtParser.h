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
Result<BankFile> parseCamt(const QByteArray &bytes);

} // namespace ledger::recon
