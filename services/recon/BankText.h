#pragma once

#include "domain/BankStatement.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QStringView>

#include <optional>

namespace ledger::recon {

// Text helpers shared by the bank file parsers (services/recon): decoding with the
// UTF-8, Windows-1252, ISO-8859-1 fallback, line splitting over the raw bytes, exact
// decimals. Internal to the parsers; any thread.

enum class TextEncoding { Utf8, Windows1252, Latin1 };

QString encodingName(TextEncoding encoding);
// "UTF-8", "windows-1252"/"cp1252", "ISO-8859-1"/"latin1" (case-insensitive); nullopt otherwise.
std::optional<TextEncoding> encodingByName(QStringView name);

// Valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), without allocating.
bool isValidUtf8(QByteArrayView bytes);
// No byte that Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D).
bool isWindows1252(QByteArrayView bytes);

// The bytes of a text file ready to be split into lines: a UTF-8 BOM stripped, UTF-16
// (by its BOM) converted to UTF-8, and the encoding the rest is in: UTF-8 when it is
// valid UTF-8, else Windows-1252 when it has no undefined byte, else ISO-8859-1.
// `forced` skips the guess (a BOM still wins).
struct TextBytes
{
    QByteArray bytes;
    TextEncoding encoding = TextEncoding::Utf8;
};
TextBytes prepareText(const QByteArray &raw, std::optional<TextEncoding> forced = std::nullopt);

// One line (or any slice) of prepared bytes as text.
QString decode(QByteArrayView bytes, TextEncoding encoding);

// Splits bytes into lines on LF, dropping a CR before it; counts lines from 1.
class LineSplitter
{
public:
    explicit LineSplitter(QByteArrayView bytes)
        : m_bytes(bytes)
    {}
    // False at the end. A final line without LF is still a line; an empty file has none.
    bool next(QByteArrayView *line);
    qint64 lineNumber() const { return m_lineNumber; }

private:
    QByteArrayView m_bytes;
    qsizetype m_pos = 0;
    qint64 m_lineNumber = 0;
};

// An exact decimal from text: optional sign (when allowSign), digits, at most one decimal
// separator `point`, optional thousands separators `thousands` (QChar() for none) between
// digits before the point. At most 18 significant digits. nullopt with *why set otherwise.
std::optional<BankAmount> parseDecimal(QStringView text, QChar point, QChar thousands,
                                       bool allowSign, QString *why);

// "-12.30" from {-1230, 2}; for messages and tests.
QString formatAmount(const BankAmount &amount);

// The sum of two amounts at the larger scale; nullopt on overflow.
std::optional<BankAmount> addAmounts(const BankAmount &a, const BankAmount &b);

// An IBAN with a valid check sum (ISO 13616 mod 97).
bool isIban(QStringView text);

// YYYY-MM-DD (the date part of an ISO date or date-time), strictly; invalid otherwise.
QDate parseIsoDate(QStringView text);

} // namespace ledger::recon
