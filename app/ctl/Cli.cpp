#include "Cli.h"

#include "db/DbException.h"
#include "domain/TerminalText.h"

#include <QFile>
#include <QJsonDocument>
#include <QMap>
#include <QTimeZone>

#include <cstdio>

namespace ledger::cli {

namespace {

void out(FILE *stream, const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stream);
    std::fflush(stream);
}

QString overview(const QList<Command> &commands)
{
    QString text = QStringLiteral(
        "Usage: ledgerctl <command> [options]\n\n"
        "The command line of Ledger Console: the same work as the console, for scripts, "
        "operators and tests.\n\nCommands:\n");
    int width = 0;
    for (const Command &c : commands)
        width = qMax(width, int(c.name.size()));
    for (const Command &c : commands)
        text += QStringLiteral("  %1  %2\n").arg(c.name.leftJustified(width), c.summary);
    text += QStringLiteral(
        "\nEvery command that talks to a database takes --dsn DSN (a libpq connection string); "
        "without it $LEDGER_DSN, then libpq's PG* environment variables are used. --json "
        "prints a JSON document for scripts. Errors are one line on stderr; exit status 0 "
        "means success, 1 failure, 2 a usage error.\n\n"
        "Run `ledgerctl <command> --help` for a command's options.\n");
    return text;
}

} // namespace

QString Invocation::dsn() const
{
    QString value = parser->value(QStringLiteral("dsn"));
    if (value.isEmpty())
        value = qEnvironmentVariable("LEDGER_DSN");
    return value;
}

int Invocation::fail(const Error &error) const
{
    if (json) {
        QJsonObject o{{QStringLiteral("ok"), false},
                      {QStringLiteral("error"), error.message},
                      {QStringLiteral("kind"), kindName(error.kind)},
                      {QStringLiteral("retryable"), error.retryable}};
        if (!error.sqlState.isEmpty())
            o.insert(QStringLiteral("sqlstate"), error.sqlState);
        printJson(o);
    }
    // One line whatever the message holds: a server's message may echo a hostile value, and
    // a newline in it would let that value print a line of its own.
    out(stderr,
        QStringLiteral("ledgerctl %1: %2\n").arg(commandPath, terminalSafe(error.describe())));
    return Failed;
}

int Invocation::fail(const QString &message) const
{
    return fail(Error::make(Error::Kind::Input, message));
}

int Invocation::usage(const QString &message) const
{
    out(stderr, QStringLiteral("ledgerctl %1: %2\nTry 'ledgerctl %1 --help'.\n")
                    .arg(commandPath, terminalSafe(message)));
    return Usage;
}

void Invocation::printJson(const QJsonObject &object) const
{
    // QJsonDocument escapes C0 controls, quotes and backslashes (ESC is \u001b) and unpaired
    // surrogates, but writes DEL, C1 and format characters as they are. They can only stand
    // inside strings, where \uHHHH means the same character: escape them too.
    const QString document =
        QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
    QString safe;
    safe.reserve(document.size() + 1);
    for (qsizetype i = 0; i < document.size();) {
        const auto [c, units] = codePointAt(document, i);
        if (isTerminalUnsafe(c)) {
            for (const QChar unit : QStringView(document).mid(i, units))
                safe += QStringLiteral("\\u%1").arg(unit.unicode(), 4, 16, QLatin1Char('0'));
        } else {
            safe += QStringView(document).mid(i, units);
        }
        i += units;
    }
    out(stdout, safe + QLatin1Char('\n'));
}

void Invocation::printLine(const QString &text) const
{
    out(stdout, terminalSafe(text) + QLatin1Char('\n'));
}

void Invocation::printRow(const QStringList &fields) const
{
    QStringList safe;
    safe.reserve(fields.size());
    for (const QString &field : fields)
        safe << terminalSafe(field);
    out(stdout, safe.join(QLatin1Char('\t')) + QLatin1Char('\n'));
}

void Invocation::progress(const QString &text) const
{
    out(stderr, terminalSafe(text) + QLatin1Char('\n'));
}

Result<QByteArray> readInput(const Invocation &invocation, const QString &option, qint64 maxBytes)
{
    const QString path = invocation.parser->value(option);
    if (path.isEmpty())
        return Error::make(
            Error::Kind::Input,
            QStringLiteral("--%1 is required (a file, or - for standard input).").arg(option));
    QFile file;
    const bool isStdin = path == QLatin1String("-");
    const bool opened = isStdin ? file.open(stdin, QIODevice::ReadOnly)
                                : (file.setFileName(path), file.open(QIODevice::ReadOnly));
    if (!opened)
        return Error::make(Error::Kind::Io,
                           QStringLiteral("Cannot read %1: %2").arg(path, file.errorString()));
    QByteArray data = file.read(maxBytes + 1);
    if (data.size() > maxBytes)
        return Error::make(Error::Kind::Input,
                           QStringLiteral("%1 is larger than %2 MiB; split it.")
                               .arg(isStdin ? QStringLiteral("The input") : path)
                               .arg(maxBytes / (qint64(1024) * 1024)));
    return data;
}

Result<QDateTime> parseTime(const QString &text, const QString &optionName)
{
    const QString t = text.trimmed();
    if (t.compare(QLatin1String("now"), Qt::CaseInsensitive) == 0)
        return QDateTime::currentDateTimeUtc();
    // A date alone is that day's start in UTC (as --help says).
    if (const QDate date = QDate::fromString(t, Qt::ISODate); date.isValid() && t.size() == 10)
        return date.startOfDay(Qt::UTC);
    QDateTime parsed = QDateTime::fromString(t, Qt::ISODateWithMs);
    if (parsed.isValid() && parsed.timeSpec() == Qt::LocalTime) {
        // No offset: which instant is meant depends on a zone nobody named. Refused, as the
        // database refuses it.
        return Error::make(Error::Kind::Input,
                           QStringLiteral("--%1 \"%2\" has no UTC offset: add Z or the offset, "
                                          "e.g. %2Z or %2+01:00.")
                               .arg(optionName, t));
    }
    if (!parsed.isValid())
        return Error::make(Error::Kind::Input,
                           QStringLiteral("--%1 \"%2\" is not a time like 2026-11-20T15:00:00Z, "
                                          "2026-11-20T16:00:00+01:00, 2026-11-20 or now.")
                               .arg(optionName, text));
    return parsed;
}

bool intOption(const Invocation &invocation, const QString &name, int minimum, int maximum,
               int *value, int *exitCode)
{
    bool ok = false;
    const int v = invocation.parser->value(name).toInt(&ok);
    if (!ok || v < minimum || v > maximum) {
        *exitCode = invocation.usage(QStringLiteral("--%1 must be a whole number from %2 to %3, "
                                                    "not '%4'.")
                                         .arg(name)
                                         .arg(minimum)
                                         .arg(maximum)
                                         .arg(invocation.parser->value(name)));
        return false;
    }
    *value = v;
    return true;
}

bool idOption(const Invocation &invocation, const QString &name, qint64 *out, int *exitCode)
{
    bool ok = false;
    const qint64 v = invocation.parser->value(name).toLongLong(&ok);
    if (!ok || v <= 0) {
        *exitCode = invocation.usage(QStringLiteral("--%1 must be a positive number, not '%2'.")
                                         .arg(name, invocation.parser->value(name)));
        return false;
    }
    *out = v;
    return true;
}

int dispatch(const QStringList &arguments, const QList<Command> &commands)
{
    const QStringList args = arguments.mid(1);
    if (args.isEmpty() || args.first() == QLatin1String("--help") ||
        args.first() == QLatin1String("-h") || args.first() == QLatin1String("help")) {
        out(stdout, overview(commands));
        return args.isEmpty() ? Usage : Ok;
    }
    if (args.first() == QLatin1String("--version")) {
        out(stdout, QStringLiteral("ledgerctl %1\n").arg(QStringLiteral(LEDGER_VERSION)));
        return Ok;
    }

    // Longest match: "demo start" before "demo".
    const Command *command = nullptr;
    int consumed = 0;
    for (const Command &c : commands) {
        const QStringList words = c.name.split(QLatin1Char(' '));
        if (args.size() >= words.size() && args.mid(0, words.size()) == words &&
            int(words.size()) > consumed) {
            command = &c;
            consumed = int(words.size());
        }
    }
    if (!command) {
        // A group name alone ("demo") or an unknown word.
        QStringList group;
        for (const Command &c : commands) {
            if (c.name.startsWith(args.first() + QLatin1Char(' ')))
                group << QStringLiteral("  ledgerctl %1  %2").arg(c.name, c.summary);
        }
        if (!group.isEmpty()) {
            const bool wantsHelp =
                args.contains(QLatin1String("--help")) || args.contains(QLatin1String("-h"));
            out(wantsHelp ? stdout : stderr, QStringLiteral("ledgerctl %1: choose one of:\n%2\n")
                                                 .arg(args.first(), group.join(QLatin1Char('\n'))));
            return wantsHelp ? Ok : Usage;
        }
        out(stderr, QStringLiteral("ledgerctl: unknown command '%1'. Run 'ledgerctl --help' for "
                                   "the list.\n")
                        .arg(terminalSafe(args.first())));
        return Usage;
    }

    QCommandLineParser parser;
    parser.setApplicationDescription(command->description);
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    parser.addHelpOption();
    if (command->needsDsn)
        parser.addOption({QStringLiteral("dsn"),
                          QStringLiteral("libpq connection string (default: $LEDGER_DSN, then "
                                         "the PG* environment)."),
                          QStringLiteral("DSN")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print the result as JSON.")});
    if (command->addOptions)
        command->addOptions(parser);

    Invocation inv;
    inv.commandPath = command->name;
    inv.parser = &parser;
    // QCommandLineParser wants the program name first.
    QStringList toParse{QStringLiteral("ledgerctl %1").arg(command->name)};
    toParse += args.mid(consumed);
    if (!parser.parse(toParse))
        return inv.usage(parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        // Qt's first line names the executable's path; name the command instead.
        QString help = parser.helpText();
        const int firstNewline = int(help.indexOf(QLatin1Char('\n')));
        help = QStringLiteral("Usage: ledgerctl %1 [options]%2")
                   .arg(command->name, command->positionalSyntax.isEmpty()
                                           ? QString()
                                           : QLatin1Char(' ') + command->positionalSyntax) +
               help.mid(firstNewline);
        out(stdout, help);
        return Ok;
    }
    inv.json = parser.isSet(QStringLiteral("json"));
    try {
        return command->run(inv);
    } catch (const DbException &e) {
        return inv.fail(e.error());
    } catch (const std::exception &e) {
        return inv.fail(
            Error::make(Error::Kind::Internal,
                        QStringLiteral("unexpected error: %1").arg(QString::fromUtf8(e.what()))));
    }
}

} // namespace ledger::cli
