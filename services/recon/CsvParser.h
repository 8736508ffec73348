#pragma once

#include "domain/BankStatement.h"
#include "domain/Result.h"
#include "recon/BankFileParser.h"

#include <QByteArray>

namespace ledger::recon {

// A CSV export read through its CsvProfile: quoted fields (doubled quotes inside, line
// breaks allowed), every data row with the header's column count, amounts exact with the
// profile's decimal mark. One statement per account (the profile's fixed account, or one
// per distinct value of its account column, in order of first appearance). Date formats
// made of yyyy/yy/MM/M/dd/d and separators are parsed without QDate::fromString (which
// re-reads the format per call); "yy" is 2000..2069 or 1970..1999, as bank exports mean it.
// Used by BankFileParser::parse; any thread.
Result<BankFile> parseCsv(const QByteArray &bytes, const CsvProfile &profile);

} // namespace ledger::recon
