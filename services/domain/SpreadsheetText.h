#pragma once

#include <QString>
#include <QStringView>

namespace ledger {

// Cells the console hands to spreadsheets (rows copied as CSV or as tab-separated text).
//
// A spreadsheet runs a cell that begins with '=', '+', '-' or '@' (or TAB or CR before one)
// as a formula: =HYPERLINK(...) links away, =cmd|... starts programs through DDE. Such a
// cell gets a leading apostrophe ("'=HYPERLINK(...)"), which spreadsheets show as text and
// never evaluate (OWASP's "CSV injection" advice).
//
// One exception, chosen deliberately: a cell that is a plain decimal number with a minus
// sign ("-12.50", "-700": digits and at most one '.', nothing else) stays as it is. Such a
// cell is a number to every spreadsheet, never a formula (a formula needs an operator, a
// function or a reference after the sign, which a plain number does not have), and an
// operator who pastes a timeline must be able to add its debits up: "'-12.50" is text that
// SUM() skips without a word, so the totals would be silently wrong. Everything else that
// begins with '-' ("-1+1", "-2+3+cmd|' /C calc'!A0", "-SUM(A1)") is neutralised. '+' is
// always neutralised: the ledger never writes a number with a plus sign.
//
// The rule does not depend on the column, so a column added later is covered without
// anyone having to decide whether its text is free or generated.
QString spreadsheetSafe(const QString &cell);

// -?[0-9]+(\.[0-9]+)? : what spreadsheetSafe() leaves alone after a minus sign.
bool isPlainDecimal(QStringView text);

// A field of an RFC 4180 record: quoted when it holds '"', ',', CR or LF, a quote inside
// doubled. Quoting does not stop formulas (spreadsheets strip the quotes): pass the cell
// through spreadsheetSafe() first.
QString csvField(const QString &cell);

} // namespace ledger
