#include "Cli.h"

#include "db/AccessRepository.h"
#include "db/Connection.h"

#include <QJsonArray>
#include <QRandomGenerator>
#include <QRegularExpression>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

namespace ledger::cli {

namespace {

// "90s", "30m", "1h", "1h30m", or plain seconds.
std::optional<qint64> parseDuration(const QString &text)
{
    static const QRegularExpression re(QStringLiteral(R"(^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$)"));
    const auto m = re.match(text.trimmed());
    if (!m.hasMatch() || text.trimmed().isEmpty())
        return std::nullopt;
    const qint64 seconds = m.captured(1).toLongLong() * 3600 + m.captured(2).toLongLong() * 60 +
                           m.captured(3).toLongLong();
    return seconds > 0 ? std::optional(seconds) : std::nullopt;
}

// One line from standard input, without its line end. The secret never appears on a
// command line or in the environment.
QString secretFromStdin()
{
    std::string line;
    std::getline(std::cin, line);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.pop_back();
    return QString::fromStdString(line);
}

QString generatedSecret()
{
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    QString s;
    for (int i = 0; i < 32; ++i)
        s += QLatin1Char(alphabet[QRandomGenerator::system()->bounded(int(sizeof(alphabet) - 1))]);
    return s;
}

// The single operator NAME argument; a usage error otherwise.
std::optional<QString> operatorArgument(const Invocation &inv, int *exitCode)
{
    const QStringList names = inv.parser->positionalArguments();
    if (names.size() != 1) {
        *exitCode = inv.usage(QStringLiteral("give exactly one operator NAME."));
        return std::nullopt;
    }
    return names.first();
}

// The secret from standard input (--secret-stdin), or a generated one (*generated = true).
Result<QString> obtainSecret(const Invocation &inv, bool *generated)
{
    *generated = !inv.parser->isSet(QStringLiteral("secret-stdin"));
    if (*generated)
        return generatedSecret();
    const QString secret = secretFromStdin();
    if (secret.size() < 16)
        return Error::make(
            Error::Kind::Input,
            QStringLiteral("The secret on standard input must be at least 16 characters."));
    return secret;
}

QJsonArray toArray(const QStringList &list)
{
    QJsonArray a;
    for (const QString &s : list)
        a.append(s);
    return a;
}

int runOperatorAdd(const Invocation &inv)
{
    int code = 0;
    const auto name = operatorArgument(inv, &code);
    if (!name)
        return code;
    const QStringList groups =
        inv.parser->value(QStringLiteral("groups")).split(QLatin1Char(','), Qt::SkipEmptyParts);
    if (groups.isEmpty())
        return inv.usage(QStringLiteral(
            "--groups is required, e.g. --groups console_operator,console_auditor."));
    bool generated = false;
    const auto obtained = obtainSecret(inv, &generated);
    if (!obtained)
        return inv.fail(obtained.error());
    const QString &secret = obtained.value();
    const bool fromStdin = !generated;
    Connection admin(inv.dsn(), QStringLiteral("ledgerctl"));
    const QString broker = AccessRepository::addOperator(admin, *name, groups, secret);
    if (inv.json) {
        QJsonObject o{{QStringLiteral("ok"), true},
                      {QStringLiteral("operator"), *name},
                      {QStringLiteral("broker_role"), broker},
                      {QStringLiteral("groups"), toArray(groups)}};
        if (!fromStdin)
            o.insert(QStringLiteral("secret"), secret);
        inv.printJson(o);
    } else {
        inv.printLine(QStringLiteral("Operator %1 added (signs in as %2; groups %3).")
                          .arg(*name, broker, groups.join(QLatin1Char(','))));
        if (!fromStdin)
            inv.printLine(
                QStringLiteral("Secret (shown once; give it to %1 for the console's keychain): %2")
                    .arg(*name, secret));
    }
    return Ok;
}

int runOperatorDisable(const Invocation &inv)
{
    int code = 0;
    const auto name = operatorArgument(inv, &code);
    if (!name)
        return code;
    Connection admin(inv.dsn(), QStringLiteral("ledgerctl"));
    const int revoked = AccessRepository::disableOperator(admin, *name);
    if (inv.json)
        inv.printJson(
            {{QStringLiteral("ok"), true}, {QStringLiteral("sessions_revoked"), revoked}});
    else
        inv.printLine(QStringLiteral("Operator %1 disabled; %2 open session(s) revoked (run "
                                     "`ledgerctl access reap` to end their connections).")
                          .arg(*name)
                          .arg(revoked));
    return Ok;
}

int runOperatorSetSecret(const Invocation &inv)
{
    int code = 0;
    const auto name = operatorArgument(inv, &code);
    if (!name)
        return code;
    bool generated = false;
    const auto obtained = obtainSecret(inv, &generated);
    if (!obtained)
        return inv.fail(obtained.error());
    const QString &secret = obtained.value();
    const bool fromStdin = !generated;
    Connection admin(inv.dsn(), QStringLiteral("ledgerctl"));
    AccessRepository::setOperatorSecret(admin, *name, secret);
    if (inv.json) {
        QJsonObject o{{QStringLiteral("ok"), true}, {QStringLiteral("operator"), *name}};
        if (!fromStdin)
            o.insert(QStringLiteral("secret"), secret);
        inv.printJson(o);
    } else if (!fromStdin) {
        inv.progress(QStringLiteral("New secret for %1 (shown once):").arg(*name));
        inv.printLine(
            secret); // alone on stdout: secret=$(ledgerctl access operator set-secret NAME)
    } else {
        inv.printLine(QStringLiteral("Secret of %1 changed.").arg(*name));
    }
    return Ok;
}

int runOperatorList(const Invocation &inv)
{
    Connection admin(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto ops = AccessRepository::operators(admin);
    if (inv.json) {
        QJsonArray rows;
        for (const auto &o : ops)
            rows.append(QJsonObject{{QStringLiteral("name"), o.name},
                                    {QStringLiteral("broker_role"), o.brokerRole},
                                    {QStringLiteral("groups"), toArray(o.groups)},
                                    {QStringLiteral("disabled"), o.disabledAt.isValid()}});
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("operators"), rows}});
        return Ok;
    }
    for (const auto &o : ops)
        inv.printRow(
            {o.name, o.groups.join(QLatin1Char(',')),
             o.disabledAt.isValid() ? QStringLiteral("disabled") : QStringLiteral("active")});
    return Ok;
}

int runSessionIssue(const Invocation &inv)
{
    const QString op = inv.parser->value(QStringLiteral("operator"));
    if (op.isEmpty())
        return inv.usage(QStringLiteral("--operator is required."));
    if (!inv.parser->isSet(QStringLiteral("secret-stdin")))
        return inv.usage(QStringLiteral("give the operator's secret on standard input with "
                                        "--secret-stdin (never on the command line)."));
    std::optional<qint64> ttl;
    if (inv.parser->isSet(QStringLiteral("ttl"))) {
        ttl = parseDuration(inv.parser->value(QStringLiteral("ttl")));
        if (!ttl)
            return inv.usage(
                QStringLiteral("--ttl must be a duration like 90s, 30m, 1h or 1h30m."));
    }
    const QString secret = secretFromStdin();
    // The operator's long-lived secret: never to a server that has not proved who it is.
    Connection broker(withCredentials(withVerifiedTlsForSecrets(inv.dsn()),
                                      AccessRepository::brokerRole(op), secret),
                      QStringLiteral("ledgerctl"));
    const auto c = AccessRepository::issueSession(
        broker, ttl, {{QStringLiteral("application"), QStringLiteral("ledgerctl")}});
    const QString sessionDsn = withCredentials(inv.dsn(), c.role, c.password);
    if (inv.json) {
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("role"), c.role},
                       {QStringLiteral("password"), c.password},
                       {QStringLiteral("expires_at"), c.expiresAt.toString(Qt::ISODateWithMs)},
                       {QStringLiteral("max_until"), c.maxUntil.toString(Qt::ISODateWithMs)},
                       {QStringLiteral("dsn"), sessionDsn}});
    } else {
        inv.printLine(QStringLiteral("role: %1").arg(c.role));
        inv.printLine(QStringLiteral("password: %1").arg(c.password));
        inv.printLine(QStringLiteral("expires: %1").arg(c.expiresAt.toString(Qt::ISODateWithMs)));
        inv.printLine(
            QStringLiteral("renewable until: %1").arg(c.maxUntil.toString(Qt::ISODateWithMs)));
        inv.printLine(QStringLiteral("dsn: %1").arg(sessionDsn));
    }
    return Ok;
}

int runReap(const Invocation &inv)
{
    Connection admin(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto r = AccessRepository::reap(admin);
    if (inv.json) {
        QJsonObject o{{QStringLiteral("ok"), true},
                      {QStringLiteral("sessions_reaped"), r.sessionsReaped},
                      {QStringLiteral("connections_terminated"), r.connectionsTerminated},
                      {QStringLiteral("roles_kept"), r.rolesKept},
                      {QStringLiteral("sessions_revoked"), r.sessionsRevoked},
                      {QStringLiteral("idle_terminated"), r.idleTerminated},
                      {QStringLiteral("transactions_terminated"), r.transactionsTerminated},
                      {QStringLiteral("signin_failures_recorded"),
                       r.signinFailures ? QJsonValue(*r.signinFailures) : QJsonValue()}};
        if (!r.collectorError.isEmpty())
            o.insert(QStringLiteral("collector_error"), r.collectorError);
        if (r.logBacklogBytes)
            o.insert(QStringLiteral("log_backlog_bytes"), *r.logBacklogBytes);
        inv.printJson(o);
        return Ok;
    }
    QString log;
    if (!r.collectorError.isEmpty())
        log = QStringLiteral("the server log could not be read: %1").arg(r.collectorError);
    else if (r.signinFailures)
        log = QStringLiteral("recorded %1 failed sign-in(s) and refusal(s) from the server log")
                  .arg(*r.signinFailures);
    else
        log = QStringLiteral("failed sign-ins not collected: the server keeps no CSV log "
                             "(log_destination)");
    if (r.collectorError.isEmpty() && r.logBacklogBytes && *r.logBacklogBytes > qint64(1024) * 1024)
        log += QStringLiteral(" (%1 MiB of it not read yet: the log grows faster than it is "
                              "read; run the reaper more often and find what writes so much)")
                   .arg(double(*r.logBacklogBytes) / (1024.0 * 1024.0), 0, 'f', 1);
    inv.printLine(
        QStringLiteral("reaped %1 session(s), terminated %2 connection(s)%3%4%5; %6")
            .arg(r.sessionsReaped)
            .arg(r.connectionsTerminated)
            .arg(r.rolesKept ? QStringLiteral("; %1 role(s) could not be dropped yet "
                                              "(see `ledgerctl access sessions`)")
                                   .arg(r.rolesKept)
                             : QString(),
                 r.sessionsRevoked
                     ? QStringLiteral("; revoked %1 session(s) that changed their own password")
                           .arg(r.sessionsRevoked)
                     : QString(),
                 r.idleTerminated + r.transactionsTerminated
                     ? QStringLiteral("; ended %1 idle connection(s) and %2 overlong writing "
                                      "transaction(s)")
                           .arg(r.idleTerminated)
                           .arg(r.transactionsTerminated)
                     : QString(),
                 log));
    // The reaping is done; a log that cannot be read is still a failure to report.
    return r.collectorError.isEmpty() ? Ok : Failed;
}

int runRevoke(const Invocation &inv)
{
    int code = 0;
    const auto name = operatorArgument(inv, &code);
    if (!name)
        return code;
    Connection admin(inv.dsn(), QStringLiteral("ledgerctl"));
    const int n = AccessRepository::revokeSessions(admin, *name);
    // Revoked sessions are refused from now on; end their connections at once too.
    const auto r = AccessRepository::reap(admin);
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), true},
                       {QStringLiteral("sessions_revoked"), n},
                       {QStringLiteral("connections_terminated"), r.connectionsTerminated}});
    else
        inv.printLine(QStringLiteral("revoked %1 session(s) of %2; terminated %3 connection(s)")
                          .arg(n)
                          .arg(*name)
                          .arg(r.connectionsTerminated));
    return Ok;
}

int runSessions(const Invocation &inv)
{
    Connection admin(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto list = AccessRepository::sessions(admin, inv.parser->isSet(QStringLiteral("all")));
    if (inv.json) {
        QJsonArray rows;
        for (const auto &s : list)
            rows.append(
                QJsonObject{{QStringLiteral("role"), s.role},
                            {QStringLiteral("operator"), s.operatorName},
                            {QStringLiteral("groups"), toArray(s.groups)},
                            {QStringLiteral("issued_at"), s.issuedAt.toString(Qt::ISODateWithMs)},
                            {QStringLiteral("expires_at"), s.expiresAt.toString(Qt::ISODateWithMs)},
                            {QStringLiteral("max_until"), s.maxUntil.toString(Qt::ISODateWithMs)},
                            {QStringLiteral("renewals"), s.renewals},
                            {QStringLiteral("state"), s.state},
                            {QStringLiteral("connections"), s.connections}});
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("sessions"), rows}});
        return Ok;
    }
    for (const auto &s : list) {
        QStringList row{s.operatorName, s.role, s.state,
                        QStringLiteral("until %1").arg(s.expiresAt.toString(Qt::ISODate)),
                        QStringLiteral("%1 connection(s)").arg(s.connections)};
        if (!s.note.isEmpty())
            row << s.note;
        inv.printRow(row);
    }
    return Ok;
}

Command make(const char *name, const char *summary, const QString &description,
             const QString &positional, std::function<void(QCommandLineParser &)> options,
             std::function<int(const Invocation &)> run)
{
    Command c;
    c.name = QString::fromLatin1(name);
    c.summary = QString::fromLatin1(summary);
    c.description = description;
    c.positionalSyntax = positional;
    c.addOptions = std::move(options);
    c.run = std::move(run);
    return c;
}

} // namespace

QList<Command> accessCommands()
{
    const auto secretStdin = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("secret-stdin"),
                     QStringLiteral("Read the secret from the first line of standard input.")});
    };
    return {
        make(
            "access operator add", "register an operator and their broker login",
            QStringLiteral(
                "Registers an operator with their functional groups and creates their broker login "
                "(lc_op_NAME), whose only right is to mint time-limited sessions. The secret comes "
                "from standard input (--secret-stdin), or a strong one is generated and printed "
                "once. "
                "Groups: console_operator, console_supervisor, console_auditor, "
                "console_compliance. "
                "Needs a superuser connection."),
            QStringLiteral("NAME"),
            [secretStdin](QCommandLineParser &p) {
                p.addOption({QStringLiteral("groups"),
                             QStringLiteral("Comma-separated functional groups."),
                             QStringLiteral("G1,G2")});
                secretStdin(p);
                p.addPositionalArgument(
                    QStringLiteral("NAME"),
                    QStringLiteral("Operator name (lowercase letters, digits, _)."));
            },
            runOperatorAdd),
        make(
            "access operator disable", "disable an operator and revoke their sessions",
            QStringLiteral(
                "Disables the operator's broker login and revokes every open session of theirs."),
            QStringLiteral("NAME"),
            [](QCommandLineParser &p) {
                p.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("Operator name."));
            },
            runOperatorDisable),
        make(
            "access operator set-secret",
            "give an operator a new secret (generated, or from standard input)",
            QStringLiteral("Replaces the secret of the operator's broker login. Without "
                           "--secret-stdin a strong "
                           "secret is generated and printed alone on stdout, once. Open sessions "
                           "are not affected."),
            QStringLiteral("NAME"),
            [secretStdin](QCommandLineParser &p) {
                secretStdin(p);
                p.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("Operator name."));
            },
            runOperatorSetSecret),
        make(
            "access operator list", "list operators and their groups",
            QStringLiteral("Lists registered operators, their groups and whether they are active."),
            {}, {}, runOperatorList),
        make(
            "access session issue", "mint a time-limited session for an operator (scripts, tests)",
            QStringLiteral(
                "Signs in as the operator's broker login with the secret from standard input and "
                "mints a time-limited session: prints its role, one-time password, expiry and a "
                "DSN. "
                "--dsn names the server and database only (key=value form); the credentials are "
                "added. --ttl: 90s, 30m, 1h (default: the server's, 30 minutes)."),
            {},
            [secretStdin](QCommandLineParser &p) {
                p.addOption({QStringLiteral("operator"), QStringLiteral("Operator name."),
                             QStringLiteral("NAME")});
                p.addOption({QStringLiteral("ttl"), QStringLiteral("Lifetime, e.g. 30m."),
                             QStringLiteral("DURATION")});
                secretStdin(p);
            },
            runSessionIssue),
        make(
            "access reap",
            "end expired, ended and revoked sessions: terminate connections, drop roles",
            QStringLiteral(
                "Terminates the connections of sessions that expired, ended or were revoked, drops "
                "what their roles own and the roles, and records it in the audit trail. Also ends "
                "connections idle past their limits and writing transactions open too long "
                "(access.settings; a session cannot lift them), revokes sessions that changed "
                "their own password and refuses brokers that did. "
                "Then, in a transaction of its own, records the failed sign-ins and session "
                "refusals found in the server's CSV log (log_destination = 'csvlog'); if the log "
                "cannot be read the reaping is still done and the exit status is 1. Run it every "
                "minute (cron, a timer), unless pg_cron runs it in the database."),
            {}, {}, runReap),
        make(
            "access revoke", "end all of an operator's sessions now",
            QStringLiteral("Revokes every open session of the operator (their next call is refused "
                           "as revoked) "
                           "and ends their connections."),
            QStringLiteral("NAME"),
            [](QCommandLineParser &p) {
                p.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("Operator name."));
            },
            runRevoke),
        make(
            "access sessions", "who holds which session, until when",
            QStringLiteral("Lists sessions that are not reaped yet (--all: every session), with "
                           "their state and "
                           "open connections."),
            {},
            [](QCommandLineParser &p) {
                p.addOption({QStringLiteral("all"), QStringLiteral("Include reaped sessions.")});
            },
            runSessions),
    };
}

} // namespace ledger::cli
