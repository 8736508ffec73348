// ledgerctl check: the ledger's invariants, checked by the database and recorded.

#include "Cli.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/HealthRepository.h"

#include <QJsonArray>

namespace ledger::cli {

namespace {

// The store's own results, or one failed result saying why there are none.
QList<InvariantResult> checkStore(const QString &dsn, int maxLag)
{
    try {
        Connection store(dsn, QStringLiteral("ledgerctl"));
        return HealthRepository::checkStore(store, maxLag);
    } catch (const DbException &e) {
        InvariantResult r;
        r.invariant = QStringLiteral("store_in_step");
        r.title = QStringLiteral("the reporting store can be checked");
        r.failures = 1;
        // Kept with the run (at most 500 characters, one line).
        r.firstFailure = QStringLiteral("the reporting store could not be checked: %1")
                             .arg(terminalSafe(e.error().message))
                             .left(500);
        return {r};
    }
}

int runHistory(const Invocation &inv)
{
    int limit = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("history"), 1, 1000, &limit, &code))
        return code;
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const auto runs = HealthRepository::invariantChecks(connection, limit);
    const auto at = [](const QDateTime &t) { return t.toUTC().toString(Qt::ISODateWithMs); };
    if (inv.json) {
        QJsonArray rows;
        for (const auto &run : runs) {
            QJsonArray results;
            for (const auto &r : run.results)
                results.append(r.toJson());
            rows.append(
                QJsonObject{{QStringLiteral("id"), run.id},
                            {QStringLiteral("checked_at"), at(run.checkedAt)},
                            {QStringLiteral("checked_by"), run.checkedBy},
                            {QStringLiteral("ok"), run.ok},
                            {QStringLiteral("failed"), QJsonArray::fromStringList(run.failed)},
                            {QStringLiteral("seconds"), run.seconds},
                            {QStringLiteral("event_id"), run.eventId},
                            {QStringLiteral("results"), results}});
        }
        inv.printJson(QJsonObject{{QStringLiteral("ok"), true}, {QStringLiteral("runs"), rows}});
        return Ok;
    }
    inv.printRow({QStringLiteral("id"), QStringLiteral("checked_at"), QStringLiteral("by"),
                  QStringLiteral("result"), QStringLiteral("seconds")});
    for (const auto &run : runs)
        inv.printRow({QString::number(run.id), at(run.checkedAt), run.checkedBy,
                      run.ok
                          ? QStringLiteral("ok")
                          : QStringLiteral("FAILED: %1").arg(run.failed.join(QStringLiteral(", "))),
                      QString::number(run.seconds, 'f', 3)});
    inv.printLine(QStringLiteral("%1 run(s).").arg(runs.size()));
    return Ok;
}

int runCheck(const Invocation &inv)
{
    if (inv.parser->isSet(QStringLiteral("history")))
        return runHistory(inv);
    int maxLag = 0;
    int code = 0;
    if (!intOption(inv, QStringLiteral("max-lag"), 1, 31 * 24 * 3600, &maxLag, &code))
        return code;
    const QString storeDsn = inv.parser->value(QStringLiteral("reporting-dsn"));
    if (inv.parser->isSet(QStringLiteral("reporting-dsn")) && storeDsn.trimmed().isEmpty())
        return inv.usage(QStringLiteral("--reporting-dsn needs a DSN."));

    // The store first: its results are recorded with the ledger's run.
    const QList<InvariantResult> store =
        storeDsn.isEmpty() ? QList<InvariantResult>{} : checkStore(storeDsn, maxLag);
    Connection connection(inv.dsn(), QStringLiteral("ledgerctl"));
    const QList<InvariantResult> results = HealthRepository::checkInvariants(connection, store);

    QStringList failed;
    QString firstFailure;
    for (const InvariantResult &r : results) {
        if (r.ok)
            continue;
        failed << r.invariant;
        if (firstFailure.isEmpty())
            firstFailure = QStringLiteral("%1: %2").arg(r.invariant, r.firstFailure);
    }
    if (inv.json) {
        QJsonArray rows;
        for (const InvariantResult &r : results)
            rows.append(r.toJson());
        QJsonObject o{{QStringLiteral("ok"), failed.isEmpty()},
                      {QStringLiteral("failed"), QJsonArray::fromStringList(failed)},
                      {QStringLiteral("invariants"), rows}};
        if (!failed.isEmpty())
            o.insert(QStringLiteral("error"), firstFailure);
        inv.printJson(o);
    } else {
        for (const InvariantResult &r : results) {
            const QString where = r.reported ? QStringLiteral(" (reporting store)") : QString();
            if (r.ok)
                inv.printLine(QStringLiteral("ok    %1%2: %3 (%4 checked, %5 s)")
                                  .arg(r.invariant, where, r.title)
                                  .arg(r.checked)
                                  .arg(r.seconds, 0, 'f', 3));
            else
                inv.printLine(QStringLiteral("FAIL  %1%2: %3 of %4 wrong; first: %5")
                                  .arg(r.invariant, where)
                                  .arg(r.failures)
                                  .arg(r.checked)
                                  .arg(r.firstFailure));
        }
        inv.printLine(failed.isEmpty()
                          ? QStringLiteral("All %1 invariants hold.").arg(results.size())
                          : QStringLiteral("%1 of %2 invariants failed: %3.")
                                .arg(failed.size())
                                .arg(results.size())
                                .arg(failed.join(QStringLiteral(", "))));
    }
    if (failed.isEmpty())
        return Ok;
    const QString message =
        failed.size() == 1
            ? firstFailure
            : QStringLiteral("%1 (and %2 more failed)").arg(firstFailure).arg(failed.size() - 1);
    if (inv.json) {
        inv.progress(QStringLiteral("ledgerctl %1: %2").arg(inv.commandPath, message));
        return Failed;
    }
    return inv.fail(message);
}

} // namespace

QList<Command> checkCommands()
{
    Command check;
    check.name = QStringLiteral("check");
    check.summary = QStringLiteral("check the ledger's invariants, record the result, exit 1 on "
                                   "the first failure");
    check.description = QStringLiteral(
        "Runs the ledger's invariants in the database, over the whole ledger: every transaction "
        "balanced per currency, the trial balance zero per currency, no orphan entries, every "
        "entry in its account's currency, running balances equal sums, heads equal the entries, "
        "no forbidden negative balance, reversal links consistent, every transaction equal to "
        "its digest on the audit chain, the chain intact and fully sealed, the point-in-time "
        "span tree and the balance buckets equal the entries, and source positions ahead of "
        "their dead letters. With --reporting-dsn (a session on a reporting store) the store's "
        "aggregates are checked against its copy of the entries, and it must have heard from "
        "the ledger within --max-lag seconds. Prints one line per invariant; exits 1 naming the "
        "first that failed. Each run is recorded (ledger.invariant_checks, and a ledger.checked "
        "audit event); --history N lists the latest runs. Needs a console session of the "
        "auditor or compliance group. It reads every entry: minutes on a ledger of many "
        "millions.");
    check.addOptions = [](QCommandLineParser &p) {
        p.addOption({QStringLiteral("reporting-dsn"),
                     QStringLiteral("Also check this reporting store (a session there)."),
                     QStringLiteral("DSN")});
        p.addOption({QStringLiteral("max-lag"),
                     QStringLiteral("The store must have heard from the ledger within this many "
                                    "seconds (default 300)."),
                     QStringLiteral("S"), QStringLiteral("300")});
        p.addOption({QStringLiteral("history"),
                     QStringLiteral("List the latest N recorded runs instead of checking."),
                     QStringLiteral("N")});
    };
    check.run = runCheck;
    return {check};
}

} // namespace ledger::cli
