// ledgerctl maintain: the scheduled jobs, for sites without pg_cron (a systemd timer or
// service runs it).

#include "Cli.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/MaintenanceRepository.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QThread>

#include <atomic>
#include <csignal>
#include <memory>
#include <optional>

namespace ledger::cli {

namespace {

// Set by SIGTERM/SIGINT in --every mode: the job under way finishes, then maintain stops.
std::atomic<bool> g_stopMaintain{false};

void stopMaintain(int)
{
    g_stopMaintain.store(true);
}

// "sealed 3, recorded 0": a job's result on one line.
QString describe(const QJsonObject &result)
{
    QStringList parts;
    for (auto it = result.constBegin(); it != result.constEnd(); ++it) {
        const QJsonValue v = it.value();
        QString text;
        if (v.isArray()) {
            QStringList items;
            for (const QJsonValue &item : v.toArray())
                items << item.toVariant().toString();
            text = items.isEmpty() ? QStringLiteral("none") : items.join(QLatin1Char(' '));
        } else {
            text = v.toVariant().toString();
        }
        parts << it.key().replace(QLatin1Char('_'), QLatin1Char(' ')) + QLatin1Char(' ') + text;
    }
    return parts.join(QStringLiteral(", "));
}

struct Round
{
    QJsonArray jobs;
    int failed = 0;
    std::optional<Error> fatal; // the connection could not be opened or the role may not run jobs
};

// Every job asked for, each in its own transaction; a failing job does not stop the others.
// verbose: a line on stderr per job as it ends (--every; --once prints them on stdout).
Round runRound(const Invocation &inv, const QStringList &only, int checkEvery, int timeout,
               bool verbose)
{
    Round round;
    std::unique_ptr<Connection> connection;
    QList<MaintenanceRepository::Job> jobs;
    try {
        connection = std::make_unique<Connection>(inv.dsn(), QStringLiteral("ledgerctl maintain"));
        jobs = MaintenanceRepository::jobs(*connection);
    } catch (const DbException &e) {
        round.fatal = e.error();
        if (e.error().kind == Error::Kind::Permission)
            round.fatal->message =
                QStringLiteral("This role may not run the scheduled jobs: connect as a member "
                               "of ledger_maintainer (or a superuser). (%1)")
                    .arg(e.error().message);
        return round;
    }
    QStringList names;
    for (const auto &job : jobs)
        names << job.name;
    for (const QString &name : only) {
        if (!names.contains(name)) {
            round.fatal = Error::make(Error::Kind::Input,
                                      QStringLiteral("There is no maintenance job \"%1\". The "
                                                     "jobs: %2.")
                                          .arg(name, names.join(QStringLiteral(", "))));
            return round;
        }
    }
    for (const QString &name : names) {
        if (!only.isEmpty() && !only.contains(name))
            continue;
        if (g_stopMaintain.load())
            break;
        QJsonObject o{{QStringLiteral("job"), name}};
        try {
            const auto r = MaintenanceRepository::run(*connection, name, checkEvery, timeout);
            if (!r.skipped.isEmpty()) {
                o.insert(QStringLiteral("skipped"), r.skipped);
                if (verbose)
                    inv.progress(QStringLiteral("%1: skipped: %2").arg(name, r.skipped));
            } else {
                o.insert(QStringLiteral("result"), r.result);
                o.insert(QStringLiteral("seconds"), r.seconds);
                if (verbose)
                    inv.progress(QStringLiteral("%1: %2 (%3 s)")
                                     .arg(name, describe(r.result))
                                     .arg(r.seconds, 0, 'f', 3));
            }
        } catch (const DbException &e) {
            ++round.failed;
            o.insert(QStringLiteral("error"), e.error().message);
            if (verbose)
                inv.progress(QStringLiteral("%1: failed: %2").arg(name, e.error().message));
            if (e.error().kind == Error::Kind::Connection) {
                // The server went: the rest would fail alike. (A permission refused inside a
                // job is that job's failure: whether the role may run jobs at all was settled
                // by maintenance_jobs() above.)
                round.fatal = e.error();
                round.jobs.append(o);
                return round;
            }
        }
        round.jobs.append(o);
    }
    return round;
}

int runMaintain(const Invocation &inv)
{
    int code = 0;
    int checkEvery = 86400;
    int timeout = 300;
    int every = 0;
    if (inv.parser->isSet(QStringLiteral("check-every"))) {
        bool ok = false;
        checkEvery = inv.parser->value(QStringLiteral("check-every")).toInt(&ok);
        if (!ok || checkEvery < 0 || checkEvery > 366 * 86400)
            return inv.usage(QStringLiteral("--check-every takes 0 to 31622400 seconds."));
    }
    if (!intOption(inv, QStringLiteral("job-timeout"), 1, 86400, &timeout, &code))
        return code;
    if (inv.parser->isSet(QStringLiteral("every")) &&
        !intOption(inv, QStringLiteral("every"), 1, 86400, &every, &code))
        return code;
    if (every > 0 && inv.parser->isSet(QStringLiteral("once")))
        return inv.usage(QStringLiteral("Give --once or --every, not both."));
    const QStringList only = inv.parser->values(QStringLiteral("job"));

    if (every == 0) {
        const Round round = runRound(inv, only, checkEvery, timeout, false);
        if (round.fatal && round.jobs.isEmpty())
            return round.fatal->kind == Error::Kind::Input ? inv.usage(round.fatal->message)
                                                           : inv.fail(*round.fatal);
        if (inv.json)
            inv.printJson({{QStringLiteral("ok"), round.failed == 0 && !round.fatal},
                           {QStringLiteral("jobs"), round.jobs}});
        else
            for (const QJsonValue &v : round.jobs) {
                const QJsonObject o = v.toObject();
                const QString job = o.value(QStringLiteral("job")).toString();
                if (o.contains(QStringLiteral("error")))
                    inv.printLine(QStringLiteral("%1: FAILED: %2")
                                      .arg(job, o.value(QStringLiteral("error")).toString()));
                else if (o.contains(QStringLiteral("skipped")))
                    inv.printLine(QStringLiteral("%1: skipped: %2")
                                      .arg(job, o.value(QStringLiteral("skipped")).toString()));
                else
                    inv.printLine(
                        QStringLiteral("%1: %2 (%3 s)")
                            .arg(job, describe(o.value(QStringLiteral("result")).toObject()))
                            .arg(o.value(QStringLiteral("seconds")).toDouble(), 0, 'f', 3));
            }
        return round.failed == 0 && !round.fatal ? Ok : Failed;
    }

    struct sigaction action = {};
    action.sa_handler = stopMaintain;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    qint64 rounds = 0;
    qint64 failures = 0;
    QJsonArray last;
    QElapsedTimer sinceStart;
    sinceStart.start();
    while (!g_stopMaintain.load()) {
        const qint64 roundStart = sinceStart.elapsed();
        const Round round = runRound(inv, only, checkEvery, timeout, true);
        ++rounds;
        failures += round.failed;
        last = round.jobs;
        if (round.fatal) {
            // A role that may not run the jobs, or a job that does not exist, will not get
            // better by waiting; a server that cannot be reached may.
            if (round.fatal->kind == Error::Kind::Input)
                return inv.usage(round.fatal->message);
            if (round.fatal->kind != Error::Kind::Connection)
                return inv.fail(*round.fatal);
            ++failures;
            inv.progress(QStringLiteral("round %1: %2; trying again in %3 s")
                             .arg(rounds)
                             .arg(round.fatal->message)
                             .arg(every));
        }
        while (!g_stopMaintain.load() && sinceStart.elapsed() - roundStart < qint64(every) * 1000)
            QThread::msleep(100);
    }
    if (inv.json)
        inv.printJson({{QStringLiteral("ok"), failures == 0},
                       {QStringLiteral("rounds"), rounds},
                       {QStringLiteral("failures"), failures},
                       {QStringLiteral("last"), last}});
    else
        inv.printLine(QStringLiteral("maintain: stopped after %1 round(s), %2 failure(s)")
                          .arg(rounds)
                          .arg(failures));
    return Ok;
}

int runStatus(const Invocation &inv)
{
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto jobs = MaintenanceRepository::status(connection);
    const auto at = [](const QDateTime &t) {
        return t.isValid() ? t.toUTC().toString(Qt::ISODateWithMs) : QString();
    };
    if (inv.json) {
        QJsonArray rows;
        for (const auto &s : jobs)
            rows.append(QJsonObject{{QStringLiteral("job"), s.job},
                                    {QStringLiteral("what"), s.what},
                                    {QStringLiteral("started_at"),
                                     s.startedAt.isValid() ? at(s.startedAt) : QJsonValue()},
                                    {QStringLiteral("seconds"), s.seconds},
                                    {QStringLiteral("result"), s.result},
                                    {QStringLiteral("ran_by"), s.ranBy},
                                    {QStringLiteral("runs"), double(s.runs)}});
        inv.printJson({{QStringLiteral("ok"), true}, {QStringLiteral("jobs"), rows}});
        return Ok;
    }
    inv.printRow({QStringLiteral("job"), QStringLiteral("last_run"), QStringLiteral("runs"),
                  QStringLiteral("ran_by"), QStringLiteral("result")});
    for (const auto &s : jobs)
        inv.printRow({s.job, s.startedAt.isValid() ? at(s.startedAt) : QStringLiteral("never"),
                      QString::number(s.runs), s.ranBy, describe(s.result)});
    return Ok;
}

} // namespace

QList<Command> maintainCommands()
{
    Command maintain;
    maintain.name = QStringLiteral("maintain");
    maintain.summary = QStringLiteral("run the scheduled jobs (for sites without pg_cron)");
    maintain.description = QStringLiteral(
        "Runs every scheduled job once (--once, the default) or every --every seconds until "
        "SIGTERM or SIGINT: reap_sessions (ends expired console sessions), "
        "collect_signin_failures (failed sign-ins from the server log onto the audit trail), "
        "seal_audit (seals audit events left unsealed), expire_reversals, record_restatements "
        "(flags statements entries recorded since have changed), refresh_reporting (the "
        "reporting buckets that fell behind) and check_invariants (only when the last recorded "
        "check is older than --check-every). Each job runs in a transaction of its own, "
        "cancelled after --job-timeout; a line per job says what it did (on stdout with --once, on "
        "stderr as it goes with --every); a failing job does "
        "not stop the others. Two maintains at once are harmless: a job another one is running "
        "is skipped (an advisory lock per job). Connect as a member of ledger_maintainer (or "
        "a superuser). Exits 1 when a job failed (--once); with --every it goes on after "
        "failures and a server it cannot reach, and stops at once for a role that may not run "
        "the jobs.");
    maintain.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("once"), QStringLiteral("Run every job once (the default).")});
        p.addOption({QStringLiteral("every"),
                     QStringLiteral("Run every job, then again every SECONDS, until SIGTERM."),
                     QStringLiteral("SECONDS")});
        p.addOption({QStringLiteral("job"), QStringLiteral("Run only this job (repeatable)."),
                     QStringLiteral("NAME")});
        p.addOption(
            {QStringLiteral("check-every"),
             QStringLiteral(
                 "Check the invariants only when the last check is older "
                 "than this (default 86400; at least 3600 unless connected as a superuser)."),
             QStringLiteral("SECONDS")});
        p.addOption({QStringLiteral("job-timeout"),
                     QStringLiteral("Cancel a job after this many seconds (default 300)."),
                     QStringLiteral("SECONDS"), QStringLiteral("300")});
    };
    maintain.run = runMaintain;

    Command status;
    status.name = QStringLiteral("maintain status");
    status.summary = QStringLiteral("when each scheduled job last ran and what it did");
    status.description = QStringLiteral(
        "Per scheduled job: when it last ran (never, if it has not), how many times, who ran "
        "it and what it did. For members of ledger_maintainer, auditors and compliance.");
    status.run = runStatus;
    return {maintain, status};
}

} // namespace ledger::cli
