#pragma once

// ledgerctl's small command framework: each command declares its options, parses its own
// arguments and calls services. Output conventions (a stable contract for scripts):
//   - results go to stdout; with --json a single JSON document;
//   - errors go to stderr as one line "ledgerctl <command>: <reason>";
//   - exit 0 on success, 1 when the work failed, 2 on a usage error;
//   - no raw control character ever reaches the terminal from a value: whatever Invocation
//     prints goes through terminalSafe() (text) or is JSON-escaped (--json). The only raw
//     controls ledgerctl writes are each line's final newline, the tabs between printRow()'s
//     columns, and the newlines of its own help texts.

#include "domain/Error.h"
#include "domain/Result.h"
#include "domain/TerminalText.h"

#include <QDateTime>

#include <QCommandLineParser>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>

namespace ledger::cli {

enum ExitCode { Ok = 0, Failed = 1, Usage = 2 };

// Makes an untrusted value (from the database, a file, the command line, or an error message
// that may echo any of those) safe to print on one terminal line, and keeps it readable and
// unambiguous. It escapes:
//   - the backslash itself, as \\ (so text that looked like an escape is never taken for one);
//   - newline, carriage return and tab, as \n, \r and \t;
//   - every other control character: C0 (U+0000-U+001F, ESC included), DEL (U+007F) and
//     C1 (U+0080-U+009F);
//   - every format character (Unicode category Cf): the bidi embeddings, overrides and
//     isolates U+202A-U+202E and U+2066-U+2069, LRM/RLM/ALM U+200E, U+200F, U+061C, the
//     zero-width U+200B-U+200D, U+2060 and U+FEFF, and the rest (soft hyphen, tags, ...);
//   - the line and paragraph separators U+2028 and U+2029;
//   - an unpaired surrogate (its code unit). Invalid UTF-8 never gets this far: the bytes
//     were decoded by QString::fromUtf8, which turns them into U+FFFD, a visible character.
// Apart from \\ \n \r \t, an escape names the code point as Python's repr() does: \xHH below
// U+0100 (ESC is \x1b), \uHHHH below U+10000 (\u202e), else \UHHHHHHHH, in lower case.
// Everything else (accents, other scripts, emoji) is left as it is, and a value without any
// of these comes back unchanged. Each escape stands for exactly one character, so the
// value can always be read back from the output.
using ::ledger::terminalSafe; // domain/TerminalText.h

// Everything Invocation writes is safe by construction: printLine, printRow, progress, fail
// and usage pass their text through terminalSafe(), so a line they write never holds a raw
// control character other than its final newline and, for printRow, the tabs between its
// columns. A command that wants two lines calls printLine twice; one that wants columns
// calls printRow. printJson's output is JSON-escaped, down to the same characters.
struct Invocation
{
    QString commandPath; // e.g. "demo start"
    QCommandLineParser *parser = nullptr;
    bool json = false;

    QString dsn() const; // --dsn, else $LEDGER_DSN, else "" (libpq's PG* environment)
    // One line on stderr, "ledgerctl <command>: <message> [SQLSTATE ...]", with --json also
    // {"ok": false, "error": ...} on stdout. A newline in the message is escaped like any
    // other control character: an error is always one line.
    int fail(const Error &error) const;
    int fail(const QString &message) const;
    // The message and "Try 'ledgerctl <command> --help'." on stderr; returns Usage.
    int usage(const QString &message) const;
    // One compact JSON document and a newline on stdout. Besides what JSON itself escapes
    // (C0 controls, '"', '\\'), DEL, C1, format characters and U+2028/U+2029 are written
    // as \uHHHH: the document means the same and a terminal shows it as it is.
    void printJson(const QJsonObject &object) const;
    void printLine(const QString &text) const;      // stdout, one line, all of it escaped
    void printRow(const QStringList &fields) const; // stdout, fields escaped, tab-separated
    void progress(const QString &text) const;       // stderr, for people watching; escaped
};

struct Command
{
    QString name;             // "migrate", or "demo start" for a subcommand
    QString summary;          // one line for the command list
    QString description;      // paragraph for `--help`
    QString positionalSyntax; // shown in usage, e.g. "NAME"
    std::function<void(QCommandLineParser &)> addOptions;
    std::function<int(const Invocation &)> run;
    bool needsDsn = true;
};

QList<Command> accessCommands();
QList<Command> accountCommands();
QList<Command> auditCommands();  // checkpoint, verify, seal, log
QList<Command> checkCommands();  // check
QList<Command> ledgerCommands(); // post, ingest, balance, deadletters list
QList<Command> reversalCommands();
QList<Command> demoCommands();
QList<Command> maintainCommands(); // maintain, maintain status
QList<Command> migrateCommands();
QList<Command> outboxCommands();    // outbox relay, status
QList<Command> reconCommands();     // recon map, import, match, status, exceptions...
QList<Command> reportingCommands(); // reporting refresh, replica setup/status
QList<Command> reportCommands();    // report trial-balance, balance-sheet, ...
QList<Command> seedCommands();
QList<Command> statementCommands(); // statement export, verify, restated

// Dispatches argv to the right command; prints help and usage errors.
int dispatch(const QStringList &arguments, const QList<Command> &commands);

// Reads --<option> FILE, or standard input for "-". Refuses files over maxBytes.
Result<QByteArray> readInput(const Invocation &invocation, const QString &option, qint64 maxBytes);

// Parses an ISO 8601 time ("2026-11-20T15:00:00Z", "2026-11-20T16:00:00+01:00", a date
// alone meaning its start in UTC, or "now"). A time without an offset is UTC.
Result<QDateTime> parseTime(const QString &text, const QString &optionName);

// Parses a positive integer option, or reports a usage error through `invocation`.
bool intOption(const Invocation &invocation, const QString &name, int minimum, int maximum,
               int *out, int *exitCode);

// Parses a positive 64-bit id option (--transaction, --request...), or reports a usage error.
bool idOption(const Invocation &invocation, const QString &name, qint64 *out, int *exitCode);

} // namespace ledger::cli
