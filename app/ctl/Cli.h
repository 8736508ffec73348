#pragma once

// ledgerctl's small command framework: each command declares its options, parses its own
// arguments and calls services. Output conventions (a stable contract for scripts):
//   - results go to stdout; with --json a single JSON document;
//   - errors go to stderr as one line "ledgerctl <command>: <reason>";
//   - exit 0 on success, 1 when the work failed, 2 on a usage error.

#include "domain/Error.h"
#include "domain/Result.h"

#include <QDateTime>

#include <QCommandLineParser>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>

namespace ledger::cli {

enum ExitCode { Ok = 0, Failed = 1, Usage = 2 };

struct Invocation
{
    QString commandPath; // e.g. "demo start"
    QCommandLineParser *parser = nullptr;
    bool json = false;

    QString dsn() const; // --dsn, else $LEDGER_DSN, else "" (libpq's PG* environment)
    int fail(const Error &error) const;
    int fail(const QString &message) const;
    int usage(const QString &message) const;
    void printJson(const QJsonObject &object) const;
    void printLine(const QString &text) const; // stdout
    void progress(const QString &text) const;  // stderr, for people watching
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
QList<Command> ledgerCommands(); // post, ingest, balance
QList<Command> reversalCommands();
QList<Command> demoCommands();
QList<Command> migrateCommands();
QList<Command> reportingCommands(); // reporting refresh
QList<Command> seedCommands();

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

} // namespace ledger::cli
