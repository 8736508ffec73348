#pragma once

#include "domain/BankStatement.h"
#include "domain/Result.h"

#include <QByteArray>

namespace ledger::recon {

// SWIFT MT940 (customer statement) and MT942 (interim report), as banks send them: with or
// without the {1:}{2:}{4: block wrapper, messages ended by "-" or by the next :20:, CRLF
// or LF. Field order is checked per message (:20: [:21:] :25: :28C: :60F/M: (:61: [:86:])*
// :62F/M: [:64:] [:65:]* [:86:]; MT942: :34F: :13D: instead of the balances, :90D/C:).
// Used by BankFileParser::parse; any thread.
//
// :61: value date YYMMDD, optional entry date MMDD (its year the one that puts it nearest
// the value date, so 231231 0102 is 2 January 2024), mark C/D or storno RC (a reversed
// credit: money out) / RD (money in), amount, type code, customer reference, //bank
// reference, and a second line of supplementary details. Without an entry date the booking
// date is the value date. :86: in the German structured form (GVC + ?00..?63 subfields with
// the SEPA keywords EREF+, SVWZ+, …) or the slash form (/EREF/…/NAME/…/REMI/…), else free
// text.
//
// A text larger than `twoThreadsAbove` bytes is read in two halves, cut after a message's
// end ("-"), the second on another thread; the result (and the first error, with its line)
// is the same as one reader's.
constexpr qsizetype kMt940TwoThreadsAbove = qsizetype(4) * 1024 * 1024;
Result<BankFile> parseMt940(const QByteArray &bytes,
                            qsizetype twoThreadsAbove = kMt940TwoThreadsAbove);

} // namespace ledger::recon
