#pragma once

#include "domain/BankStatement.h"
#include "domain/Result.h"

#include <QByteArray>
#include <QChar>
#include <QJsonObject>
#include <QString>

namespace ledger {

// A named CSV column profile (Step 9): how one bank's or processor's CSV export is laid out.
// Kept in the database as JSON (toJson/fromJson) and editable in the console. Columns are
// named by their header text (exact, after trimming) or, with headerRows == 0, by their
// 1-based number as text ("3").
struct CsvProfile
{
    QString name;
    QChar delimiter = QLatin1Char(';');
    QChar quote = QLatin1Char('"');
    bool decimalComma = false;                         // "1.234,56" (thousands '.' allowed)
    QString dateFormat = QStringLiteral("yyyy-MM-dd"); // QDate::fromString format
    int headerRows = 1;                        // rows before the data (the last is the header)
    QString encoding = QStringLiteral("auto"); // auto, UTF-8, windows-1252, ISO-8859-1
    // Amount: one signed column, or a debit and a credit column (each unsigned, one empty).
    QString amountColumn;
    QString debitColumn;
    QString creditColumn;
    bool debitIsNegative = true; // with amountColumn: a negative amount is money out (as usual)
    QString currencyColumn;      // or a fixed currency:
    QString currency;
    QString bookingDateColumn;
    QString valueDateColumn; // empty: the booking date
    QString referenceColumn; // the bank's reference (dedupe key)
    QString endToEndColumn;
    QString counterpartyNameColumn;
    QString counterpartyAccountColumn;
    QString remittanceColumn;
    QString accountColumn; // the account's IBAN/number per row; or a fixed one:
    QString account;

    QJsonObject toJson() const;
    // Input error naming the field that is missing or wrong.
    static Result<CsvProfile> fromJson(const QJsonObject &json);
};

// Reads bank statement files (Step 9): ISO 20022 camt.053 (.001.02/.04/.08) and camt.052,
// SWIFT MT940 and MT942, CSV through a profile. Plain functions over Qt Core, any thread,
// no database. Text is decoded as UTF-8, else Windows-1252, else ISO-8859-1 (a BOM decides
// when present); CRLF and LF alike. A malformed file is an Input error whose message names
// where (MT940/CSV "line N", XML the element path, e.g. "Document/BkToCstmrStmt/Stmt[2]/
// Ntry[14]/Amt") and what is wrong; nothing of the file is returned then. Bounded: a file
// over kMaxFileBytes, an XML nesting deeper than kMaxDepth, or more than kMaxLines lines
// is refused with an error, never read into unbounded memory.
namespace BankFileParser {

constexpr qint64 kMaxFileBytes = qint64(2) * 1024 * 1024 * 1024 - 1; // QByteArray's limit
constexpr int kMaxDepth = 64;
constexpr qint64 kMaxLines = 5'000'000;

enum class Format { Auto, Camt, Mt940, Csv };

// The format of the bytes by their content (XML root / MT940 tags); Auto when unknown.
Format detect(const QByteArray &bytes);

// Parses the whole file. Auto detects camt or MT940; a CSV file needs Format::Csv and a
// profile (Input error without one).
Result<BankFile> parse(const QByteArray &bytes, Format format = Format::Auto,
                       const CsvProfile *profile = nullptr);

} // namespace BankFileParser

} // namespace ledger
