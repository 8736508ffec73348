#pragma once

#include <QString>

#include <utility>

namespace ledger {

// Text for a terminal line, from values that may be hostile (a note, an object id, a server
// message quoting either). Every C0 and C1 control (newline, carriage return, tab and ESC
// included), DEL, every Unicode format character (bidi embeddings, overrides and isolates,
// zero-width characters, BOM, soft hyphen, tags), line and paragraph separators and unpaired
// surrogates become visible escapes (\n, \r, \t, \xHH, \uHHHH, \UHHHHHHHH, as Python's
// repr names them), and a backslash becomes \\, so that every escape reads back to exactly
// one character. Other text (accents, other scripts, emoji) is unchanged. ledgerctl prints
// through it (app/ctl/Cli), and so do the server notices a Connection passes on.
QString terminalSafe(const QString &value);

// Controls (Cc), format characters (Cf), line and paragraph separators: what terminalSafe
// escapes besides the backslash and surrogates (ledgerctl's JSON output escapes these too).
bool isTerminalUnsafe(char32_t c);

// The code point starting at `i` and how many UTF-16 code units it takes; an unpaired
// surrogate is returned as itself (0xD800-0xDFFF), one unit long.
std::pair<char32_t, qsizetype> codePointAt(const QString &s, qsizetype i);

} // namespace ledger
