// Timeline benchmark: the console's account timeline and chart on one big account,
// measured through the real model and widgets (offscreen) and the real worker thread.
// Prints figures and ratios against the naive way measured in the same run; no timed
// assertions. Targets (issue 6): first page painted < 100 ms, jump to the last entry
// < 50 ms, page at any depth vs OFFSET (ratio), RSS growth < 100 MB scrolling through
// the whole account, whole-history chart prepared and painted < 100 ms.
//
//   bench_timeline [--entries N] [--scroll-pages P] [--effective-scroll-pages P]
//
// N defaults to 10,000,000 (one account, loaded server-side as bench_ledger does: 100
// legs per transaction, 2% backdated by days, 0.5% future-dated). --scroll-pages 0
// scrolls the whole account in recorded order (the default); a positive P stops after P
// pages.

#include "AccountListModel.h"
#include "BalanceChartView.h"
#include "BenchCluster.h"
#include "SqlSession.h"
#include "TimelineModel.h"
#include "TimelineView.h"
#include "cluster/LocalCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "db/AccountRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QChart>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QHeaderView>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTableView>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <thread>

using namespace ledger;
using bench::median;
using bench::say;
using bench::timeSql;
using bench::waitFor;
using test::SqlSession;

namespace {

double rssMb()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toDouble() / 1024.0;
    return -1;
}

// Runs the event loop until done() (GUI thread; the database work is on the worker).
} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("LedgerConsoleBench"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Account timeline and chart benchmark."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("entries"),
                      QStringLiteral("Entries on the account (default 10000000)."),
                      QStringLiteral("N"), QStringLiteral("10000000")});
    parser.addOption({QStringLiteral("scroll-pages"),
                      QStringLiteral("Pages to scroll in recorded order (0: all; default 0)."),
                      QStringLiteral("P"), QStringLiteral("0")});
    parser.addOption(
        {QStringLiteral("accounts"),
         QStringLiteral("Accounts for the navigator's part (default 100000; 0: skip)."),
         QStringLiteral("N"), QStringLiteral("100000")});
    parser.addOption({QStringLiteral("effective-scroll-pages"),
                      QStringLiteral("Pages to scroll in effective order (default 2000)."),
                      QStringLiteral("P"), QStringLiteral("2000")});
    parser.process(app);
    const qint64 entries = parser.value(QStringLiteral("entries")).toLongLong();

    auto fail = [](const Error &e) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(e.describe()));
        return 1;
    };
    bench::BenchCluster bench(QStringLiteral("timeline"));
    if (auto s = bench.start(); !s)
        return fail(s.error());
    LocalCluster &cluster = bench.cluster();
    SqlSession admin(cluster.dsn());
    say(QStringLiteral("cluster: %1 (durable), %2 cores; loading %3 entries on one account ...")
            .arg(bench.path())
            .arg(std::thread::hardware_concurrency())
            .arg(entries));

    // The same server-side bulk load as bench_ledger (BenchCluster.h).
    QElapsedTimer load;
    load.start();
    if (const QString error = bench::loadBigAccount(admin, QStringLiteral("BIG"), entries);
        !error.isEmpty()) {
        std::fprintf(stderr, "bench: loading failed: %s\n", qPrintable(error));
        return 1;
    }
    const QString id =
        admin.scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = 'BIG'"));
    const qint64 count =
        admin
            .scalar(
                QStringLiteral("SELECT last_seq FROM ledger.account_heads WHERE account_id = $1"),
                {id})
            .toLongLong();
    say(QStringLiteral("loaded %1 entries in %2 s")
            .arg(count)
            .arg(double(load.elapsed()) / 1000.0, 0, 'f', 1));

    // -- 1. Page query at depth: keyset by position vs OFFSET (same run, same rows).
    say(QStringLiteral(
        "\n== page of 200 rows at depth: timeline_page (keyset from the position) vs OFFSET"));
    say(QStringLiteral("%1 %2 %3 %4 %5")
            .arg(QStringLiteral("order"), -10)
            .arg(QStringLiteral("depth"), 10)
            .arg(QStringLiteral("keyset ms"), 10)
            .arg(QStringLiteral("OFFSET ms"), 10)
            .arg(QStringLiteral("ratio"), 8));
    for (const QString &order : {QStringLiteral("recorded"), QStringLiteral("effective")}) {
        const QString offsetSql =
            order == QLatin1String("recorded")
                ? QStringLiteral(
                      "SELECT e.*, t.description FROM ledger.entries e JOIN ledger.transactions t "
                      "ON t.id = e.transaction_id "
                      "WHERE e.account_id = $1 ORDER BY e.account_seq OFFSET $2 LIMIT 200")
                : QStringLiteral("SELECT e.*, t.description FROM ledger.entries e JOIN "
                                 "ledger.transactions t ON t.id = e.transaction_id "
                                 "WHERE e.account_id = $1 ORDER BY e.effective_at, e.account_seq "
                                 "OFFSET $2 LIMIT 200");
        for (const double fraction : {0.0, 0.001, 0.1, 0.5, 0.9, 0.9999}) {
            const qint64 depth = qMin(count - 200, qint64(double(count) * fraction));
            const QStringList p = {id, QString::number(depth)};
            const double keyset = timeSql(
                admin,
                QStringLiteral("SELECT * FROM ledger.timeline_page($1, '%1', $2, 200)").arg(order),
                p, 5);
            const double offset = timeSql(admin, offsetSql, p, fraction > 0.05 ? 3 : 5);
            say(QStringLiteral("%1 %2 %3 %4 %5")
                    .arg(order, -10)
                    .arg(depth, 10)
                    .arg(keyset, 10, 'f', 2)
                    .arg(offset, 10, 'f', 2)
                    .arg(offset / keyset, 8, 'f', 1));
        }
    }
    // Exact counts of a date range without count(*).
    {
        const QStringList p = {id, QStringLiteral("2022-03-01"), QStringLiteral("2024-09-01")};
        for (const QString &order : {QStringLiteral("recorded"), QStringLiteral("effective")}) {
            const double fast = timeSql(
                admin,
                QStringLiteral("SELECT * FROM ledger.timeline_window($1, '%1', $2, $3)").arg(order),
                p, 5);
            const double naive =
                timeSql(admin,
                        QStringLiteral("SELECT count(*) FROM ledger.entries WHERE account_id = $1 "
                                       "AND %1_at >= $2 AND %1_at < $3")
                            .arg(order),
                        p, 3);
            const QString a =
                admin
                    .exec(QStringLiteral(
                              "SELECT row_count FROM ledger.timeline_window($1, '%1', $2, $3)")
                              .arg(order),
                          p)
                    .rows.value(0)
                    .value(0);
            const QString b =
                admin
                    .exec(QStringLiteral("SELECT count(*) FROM ledger.entries WHERE account_id = "
                                         "$1 AND %1_at >= $2 AND %1_at < $3")
                              .arg(order),
                          p)
                    .rows.value(0)
                    .value(0);
            say(QStringLiteral("exact count of 2.5 years (%1): timeline_window %2 ms vs count(*) "
                               "%3 ms, ratio %4; %5 = %6: %7")
                    .arg(order)
                    .arg(fast, 0, 'f', 2)
                    .arg(naive, 0, 'f', 1)
                    .arg(naive / fast, 0, 'f', 0)
                    .arg(a, b, a == b ? QStringLiteral("same") : QStringLiteral("DIFFERENT")));
        }
    }

    if (qEnvironmentVariableIsSet("BENCH_EXPLAIN")) {
        const auto plan = admin.exec(QStringLiteral(R"sql(
            EXPLAIN (ANALYZE, BUFFERS)
            SELECT s.t, coalesce(b.balance_after, 0) - coalesce(f.total, 0) + coalesce(l1.total, 0) + coalesce(l2.total, 0)
            FROM unnest(ARRAY(SELECT timestamptz '2021-01-01' + i * interval '1 day' FROM generate_series(1, 1000) i)) AS s(t)
            LEFT JOIN LATERAL (SELECT e.balance_after FROM ledger.entries e WHERE e.account_id = $1 AND e.recorded_at <= s.t
                               ORDER BY e.recorded_at DESC, e.account_seq DESC LIMIT 1) b ON true
            LEFT JOIN LATERAL (SELECT sum(e.amount) AS total FROM ledger.entries e WHERE e.account_id = $1 AND e.effective_at > e.recorded_at
                               AND tstzrange(e.recorded_at, e.effective_at, '[)') @> s.t) f ON true
            LEFT JOIN LATERAL (SELECT sum(e.amount) AS total FROM ledger.entries e WHERE e.account_id = $1 AND e.recorded_at > s.t
                               AND e.recorded_at <= s.t + interval '5 minutes' AND e.effective_at <= s.t
                               AND e.recorded_at - e.effective_at <= interval '5 minutes') l1 ON true
            LEFT JOIN LATERAL (SELECT sum(e.amount) AS total FROM ledger.entries e WHERE e.account_id = $1
                               AND e.recorded_at - e.effective_at > interval '5 minutes'
                               AND tstzrange(e.effective_at, e.recorded_at, '[)') @> s.t) l2 ON true
        )sql"),
                                     {id});
        for (const QStringList &row : plan.rows)
            say(row.value(0));
        const auto markers = admin.exec(QStringLiteral(R"sql(
            EXPLAIN (ANALYZE, BUFFERS)
            WITH reversals AS MATERIALIZED (
                SELECT t.id, t.reverses FROM ledger.transactions t WHERE t.reverses IS NOT NULL),
            picked AS (
                (SELECT e.effective_at, 'reversal'::text AS marker, e.transaction_id, e.account_seq
                 FROM reversals r
                 JOIN ledger.entries e ON e.transaction_id = r.id AND e.account_id = $1
                 WHERE e.effective_at BETWEEN '2020-01-01' AND '2027-01-01'
                 ORDER BY e.effective_at LIMIT 200)
                UNION ALL
                (SELECT e.effective_at, 'backdated'::text, e.transaction_id, e.account_seq
                 FROM ledger.entries e
                 WHERE e.account_id = $1
                   AND e.recorded_at - e.effective_at > interval '5 minutes'
                   AND tstzrange(e.effective_at, e.recorded_at, '[)') && tstzrange('2020-01-01', '2027-01-01', '[]')
                   AND e.effective_at BETWEEN '2020-01-01' AND '2027-01-01'
                 ORDER BY e.effective_at LIMIT 200))
            , at_times AS (
                SELECT b.at, b.balance FROM ledger.balances_at($1, ARRAY(SELECT DISTINCT x.effective_at FROM picked x)) b)
            SELECT p.effective_at, p.marker, t.balance - coalesce((SELECT sum(e.amount) FROM ledger.entries e
                       WHERE e.account_id = $1 AND e.effective_at = p.effective_at AND e.account_seq > p.account_seq), 0)
            FROM picked p JOIN at_times t ON t.at = p.effective_at
        )sql"),
                                        {id});
        for (const QStringList &row : markers.rows)
            say(row.value(0));
        if (!markers.ok)
            say(markers.message);
    }

    const QString consoleDsn = cluster.dsn(); // the superuser passes check_session; same functions
    DbWorker worker(consoleDsn, QStringLiteral("bench_timeline"));
    LedgerService ledger(&worker);
    AuditService audit(&worker);

    // -- 2. Open -> first page painted; jump to the last entry; jump to a date.
    say(QStringLiteral(
        "\n== the console: TimelineModel + TimelineView (offscreen), DbWorker thread"));
    // Where the time goes: the model's last reset begins when the first load's data is on
    // the GUI thread; countChanged follows the view's own reset handling (QTableView's
    // vertical header keeps one item per row: O(n) when the row count changes).
    struct Split
    {
        double dataMs = 0;  // until the data is on the GUI thread
        double resetMs = 0; // the views' reset handling
        double totalMs = 0; // until painted
        double fullMs = 0;  // until the view has every row (scroll range complete)
    };
    auto openView = [&](TimelineOrder order, TimelineModel &model, TimelineView &view) -> Split {
        Split split;
        QElapsedTimer t;
        double resetStart = 0;
        double counted = 0;
        auto a = QObject::connect(&model, &QAbstractItemModel::modelAboutToBeReset, &model,
                                  [&] { resetStart = double(t.nsecsElapsed()) / 1e6; });
        auto b = QObject::connect(&model, &TimelineModel::countChanged, &model,
                                  [&] { counted = double(t.nsecsElapsed()) / 1e6; });
        t.start();
        model.setOrder(order);
        model.openAccount(QStringLiteral("BIG"));
        if (!waitFor([&] {
                return model.rowCount() > 0 &&
                       model.index(0, 0).data(TimelineModel::LoadedRole).toBool();
            }))
            return split;
        view.tableView()->viewport()->repaint(); // painted, synchronously
        split.totalMs = double(t.nsecsElapsed()) / 1e6;
        // Then the whole row count (the header's per-row set-up, from the event loop).
        waitFor([&] { return model.isFullyShown(); });
        split.fullMs = double(t.nsecsElapsed()) / 1e6;
        split.dataMs = resetStart;
        split.resetMs = counted - resetStart;
        QObject::disconnect(a);
        QObject::disconnect(b);
        return split;
    };
    for (const TimelineOrder order : {TimelineOrder::Recorded, TimelineOrder::Effective}) {
        const QString name = toString(order);
        QList<double> firstPaint, firstData, viewReset, fullRange, jumpLast, jumpLastView, jumpDate,
            reorder;
        for (int rep = 0; rep < 6; ++rep) {
            TimelineModel model(&ledger);
            TimelineView view(&model);
            view.resize(1400, 800);
            view.show();
            const Split opened = openView(order, model, view);
            if (rep == 0)
                continue; // warm-up: connection, caches
            firstPaint << opened.totalMs;
            firstData << opened.dataMs;
            viewReset << opened.resetMs;
            fullRange << opened.fullMs;
            // Jump to the last entry (End): its page only, then paint.
            QElapsedTimer t;
            t.start();
            view.tableView()->scrollToBottom();
            jumpLastView << double(t.nsecsElapsed()) / 1e6; // the view's own part
            const QModelIndex last = model.index(model.rowCount() - 1, 0);
            if (!waitFor([&] { return last.data(TimelineModel::LoadedRole).toBool(); }))
                return 1;
            view.tableView()->viewport()->repaint();
            jumpLast << double(t.nsecsElapsed()) / 1e6;
            // Jump to a date in the middle: position (O(log n)), page, paint.
            t.restart();
            int row = -1;
            QObject::connect(&model, &TimelineModel::jumpReady, &model, [&row](int r) { row = r; });
            view.jumpTo(QDateTime(QDate(2023, 6, 15), QTime(12, 0), Qt::UTC));
            if (!waitFor([&] {
                    return row >= 0 && model.index(row, 0).data(TimelineModel::LoadedRole).toBool();
                }))
                return 1;
            view.tableView()->viewport()->repaint();
            jumpDate << double(t.nsecsElapsed()) / 1e6;
            // Switch to the other order and back to this one: same row count, no header
            // rebuild; the visible page is fetched by position.
            t.restart();
            model.setOrder(order == TimelineOrder::Recorded ? TimelineOrder::Effective
                                                            : TimelineOrder::Recorded);
            model.setOrder(order);
            if (!waitFor([&] {
                    return row >= 0 && model.index(row, 0).data(TimelineModel::LoadedRole).toBool();
                }))
                return 1;
            view.tableView()->viewport()->repaint();
            reorder << double(t.nsecsElapsed()) / 1e6;
        }
        say(QStringLiteral(
                "%1 order: open -> first page painted %2 ms (target < 100: %3) [data on the GUI "
                "thread %4 ms, view reset %6 ms; all %5 rows in the view (header set up) at %12 "
                "ms]; jump to last entry %7 ms (target < 50: %8) [view's scrollToBottom %9 ms]; "
                "jump to a date %10 ms; reload in another order at the same place %11 ms  "
                "[medians of 5]")
                .arg(name)
                .arg(median(firstPaint), 0, 'f', 1)
                .arg(median(firstPaint) < 100 ? QStringLiteral("met") : QStringLiteral("NOT met"))
                .arg(median(firstData), 0, 'f', 1)
                .arg(count)
                .arg(median(viewReset), 0, 'f', 1)
                .arg(median(jumpLast), 0, 'f', 1)
                .arg(median(jumpLast) < 50 ? QStringLiteral("met") : QStringLiteral("NOT met"))
                .arg(median(jumpLastView), 0, 'f', 1)
                .arg(median(jumpDate), 0, 'f', 1)
                .arg(median(reorder), 0, 'f', 1)
                .arg(median(fullRange), 0, 'f', 1));
    }

    // -- 3. Scroll through the account: resident memory.
    auto scroll = [&](TimelineOrder order, qint64 maxPages) {
        TimelineModel model(&ledger);
        TimelineView view(&model);
        view.resize(1400, 800);
        view.show();
        const double before = rssMb();
        openView(order, model, view);
        const double opened = rssMb();
        QTableView *table = view.tableView();
        const int pageSize = model.pageSize();
        const qint64 pages =
            maxPages > 0 ? qMin<qint64>(maxPages, (model.rowCount() + pageSize - 1) / pageSize)
                         : (model.rowCount() + pageSize - 1) / pageSize;
        double peak = opened;
        QElapsedTimer t;
        t.start();
        for (qint64 p = 0; p < pages; ++p) {
            const int row = int(qMin<qint64>(p * pageSize + pageSize - 1, model.rowCount() - 1));
            table->scrollTo(model.index(row, 0), QAbstractItemView::PositionAtBottom);
            table->viewport()->repaint(); // paints the visible rows: asks for their pages
            if (!waitFor(
                    [&] { return model.index(row, 0).data(TimelineModel::LoadedRole).toBool(); }))
                return;
            if (p % 500 == 0)
                peak = qMax(peak, rssMb());
        }
        const double seconds = double(t.elapsed()) / 1000.0;
        peak = qMax(peak, rssMb());
        say(QStringLiteral("%1 order: scrolled %2 pages (%3 rows) in %4 s (%5 pages/s); RSS before "
                           "open %6 MB, after open %7 MB, peak while scrolling %8 MB: growth %9 MB "
                           "(target < 100: %10); pages cached %11")
                .arg(toString(order))
                .arg(pages)
                .arg(qMin<qint64>(pages * pageSize, model.rowCount()))
                .arg(seconds, 0, 'f', 1)
                .arg(double(pages) / seconds, 0, 'f', 0)
                .arg(before, 0, 'f', 0)
                .arg(opened, 0, 'f', 0)
                .arg(peak, 0, 'f', 0)
                .arg(peak - opened, 0, 'f', 1)
                .arg(peak - opened < 100 ? QStringLiteral("met") : QStringLiteral("NOT met"))
                .arg(model.cachedPageCount()));
    };
    scroll(TimelineOrder::Recorded, parser.value(QStringLiteral("scroll-pages")).toLongLong());
    scroll(TimelineOrder::Effective,
           parser.value(QStringLiteral("effective-scroll-pages")).toLongLong());

    // -- 4. Whole-history chart: data prepared (server + view) and painted, three ways:
    //    without the reporting store (one probe per pixel), from its hourly buckets, and
    //    from the buckets with entries posted since the last refresh merged on the fly.
    {
        TimelineModel model(&ledger);
        TimelineView view(&model);
        openView(TimelineOrder::Effective, model, view); // for the history (first/last times)
        BalanceChartView chart(&ledger);
        chart.resize(1400, 420);
        chart.show();
        struct ChartRun
        {
            double ms = -1;
            double serverMs = -1;
            int points = 0;
            bool exact = false;
        };
        const auto measure = [&](const QDateTime &lastEffective) {
            ChartRun run;
            QList<double> times;
            AccountHistory history = model.history();
            history.lastEffectiveAt = lastEffective;
            for (int rep = 0; rep < 6; ++rep) {
                int plotted = 0;
                auto c = QObject::connect(&chart, &BalanceChartView::plotted, &chart,
                                          [&](int n, bool e) {
                                              run.exact = e;
                                              ++plotted;
                                              run.points = n;
                                          });
                QElapsedTimer t;
                t.start();
                chart.setAccount(history);
                if (!waitFor([&] { return plotted > 0; }))
                    return run;
                chart.viewport()->repaint();
                if (rep > 0)
                    times << double(t.nsecsElapsed()) / 1e6;
                QObject::disconnect(c);
                waitFor([] { return false; }, 300); // let a debounced re-plot (resize) pass
            }
            run.ms = median(times);
            // The server's part alone, as the view asks it (same width, same range).
            run.serverMs = timeSql(
                admin, QStringLiteral("SELECT count(*) FROM ledger.balance_series($1, $2, $3, $4)"),
                {id, chart.rangeFrom().toString(Qt::ISODateWithMs),
                 chart.rangeTo().toString(Qt::ISODateWithMs),
                 QString::number(int(chart.chart()->plotArea().width()))},
                9); // past the fifth call, where a session may switch to a generic plan
            return run;
        };
        const auto report = [&](const QString &label, const ChartRun &r) {
            say(QStringLiteral("%1: prepared + painted %2 ms (target < 100: %3), server part %4 "
                               "ms, %5 points plotted (%6)")
                    .arg(label, -44)
                    .arg(r.ms, 0, 'f', 1)
                    .arg(r.ms >= 0 && r.ms < 100 ? QStringLiteral("met")
                                                 : QStringLiteral("NOT met"))
                    .arg(r.serverMs, 0, 'f', 1)
                    .arg(r.points)
                    .arg(r.exact ? QStringLiteral("every entry")
                                 : QStringLiteral("at most 4 per pixel")));
        };
        say(QStringLiteral("\n== chart of the whole history (%1 px wide)")
                .arg(int(chart.chart()->plotArea().width())));
        const QDateTime lastEffective = model.history().lastEffectiveAt;
        const ChartRun probes = measure(lastEffective);
        report(QStringLiteral("no reporting store (a probe per pixel)"), probes);

        QElapsedTimer build;
        build.start();
        const QString folded =
            admin.scalar(QStringLiteral("SELECT reporting.refresh_balance_buckets($1)"), {id});
        const double buildS = double(build.elapsed()) / 1000.0;
        const QString hours = admin.scalar(
            QStringLiteral("SELECT count(*) FROM reporting.balance_buckets WHERE account_id = $1"),
            {id});
        say(QStringLiteral("reporting store built: %1 entries into %2 hourly buckets in %3 s")
                .arg(folded, hours)
                .arg(buildS, 0, 'f', 1));
        const ChartRun buckets = measure(lastEffective);
        report(QStringLiteral("reporting store (days here; M4 per pixel)"), buckets);

        // Entries posted since the refresh: 2,000 postings through the posting function,
        // one in ten backdated by up to a year into hours the buckets already hold.
        const auto posted = admin.exec(QStringLiteral(
            "DO $$ BEGIN FOR i IN 1..2000 LOOP "
            "PERFORM ledger.post_transaction(jsonb_build_object('idempotency_key', 'chart-delta-' "
            "|| i, 'effective_at', CASE WHEN i % 10 = 0 THEN timestamptz '2025-06-01' - i * "
            "interval '4 hours' ELSE now() END, 'legs', jsonb_build_array("
            "jsonb_build_object('account', 'BIG', 'amount', '1.00', 'currency', 'EUR'), "
            "jsonb_build_object('account', 'BIG-CONTRA', 'amount', '-1.00', 'currency', "
            "'EUR')))); "
            "END LOOP; END $$"));
        if (!posted.ok) {
            std::fprintf(stderr, "bench: posting the delta failed: %s\n",
                         qPrintable(posted.message));
            return 1;
        }
        const QDateTime newLast = QDateTime::currentDateTimeUtc().addSecs(60);
        const ChartRun delta = measure(newLast);
        report(QStringLiteral("buckets + 2,000 newer entries merged"), delta);
        QElapsedTimer incremental;
        incremental.start();
        const QString folded2 =
            admin.scalar(QStringLiteral("SELECT reporting.refresh_balance_buckets($1)"), {id});
        say(QStringLiteral("incremental refresh: %1 entries folded in %2 ms")
                .arg(folded2)
                .arg(double(incremental.nsecsElapsed()) / 1e6, 0, 'f', 1));
        const ChartRun refreshed = measure(newLast);
        report(QStringLiteral("reporting store after the refresh"), refreshed);

        const double markersMs = timeSql(
            admin, QStringLiteral("SELECT count(*) FROM ledger.balance_markers($1, $2, $3, 200)"),
            {id, chart.rangeFrom().toString(Qt::ISODateWithMs),
             chart.rangeTo().toString(Qt::ISODateWithMs)},
            9);
        // The naive way: every entry's running balance in effective order (a full scan).
        const double naive = timeSql(
            admin,
            QStringLiteral("SELECT count(*) FROM (SELECT sum(amount) OVER (ORDER BY effective_at, "
                           "account_seq) FROM ledger.entries WHERE account_id = $1) x"),
            {id}, 1);
        say(QStringLiteral("markers (part of the server's answer): %1 ms; naive (every entry's "
                           "running balance, server only) %2 ms: %3x the bucket chart, %4x the "
                           "probe chart")
                .arg(markersMs, 0, 'f', 1)
                .arg(naive, 0, 'f', 0)
                .arg(naive / buckets.ms, 0, 'f', 0)
                .arg(naive / probes.ms, 0, 'f', 1));
    }

    // -- 5. The account navigator on a ledger of many accounts: the lazy model (count and
    //    first page, then pages as looked at) vs loading every account (the old way).
    if (const qint64 many = parser.value(QStringLiteral("accounts")).toLongLong(); many > 0) {
        QElapsedTimer opening;
        opening.start();
        const auto opened = admin.exec(
            QStringLiteral("SELECT count(ledger.open_account('NAV-' || lpad(i::text, 8, '0'), "
                           "'Navigator customer ' || i, CASE WHEN i % 4 = 0 THEN 'USD' ELSE "
                           "'EUR' END, 'liability')) FROM generate_series(1, $1::int) i"),
            {QString::number(many)});
        if (!opened.ok) {
            std::fprintf(stderr, "bench: opening accounts failed: %s\n",
                         qPrintable(opened.message));
            return 1;
        }
        say(QStringLiteral("\n== account navigator: %1 accounts opened in %2 s")
                .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM ledger.accounts")))
                .arg(double(opening.elapsed()) / 1000.0, 0, 'f', 1));
        QList<double> lazyMs;
        QList<double> lastMs;
        QList<double> searchMs;
        double lazyGrowth = 0;
        for (int rep = 0; rep < 5; ++rep) {
            const double before = rssMb();
            AccountListModel model(&ledger, &audit);
            QTableView view;
            view.setModel(&model);
            view.resize(600, 800);
            view.show();
            QSignalSpy loaded(&model, &AccountListModel::loaded);
            QElapsedTimer t;
            t.start();
            model.refresh();
            if (!waitFor([&] { return loaded.count() > 0; }))
                return 1;
            view.viewport()->repaint();
            lazyMs << double(t.nsecsElapsed()) / 1e6;
            lazyGrowth = qMax(lazyGrowth, rssMb() - before);
            // The last row (OFFSET on the server) and a search.
            t.restart();
            view.scrollToBottom();
            view.viewport()->repaint();
            if (!waitFor([&] {
                    return model.index(model.rowCount() - 1, 0)
                        .data(AccountListModel::LoadedRole)
                        .toBool();
                }))
                return 1;
            lastMs << double(t.nsecsElapsed()) / 1e6;
            t.restart();
            model.setFilter(QStringLiteral("customer 4242"), {}, {});
            if (!waitFor([&] { return loaded.count() > 1; }))
                return 1;
            searchMs << double(t.nsecsElapsed()) / 1e6;
        }
        // The old way: every account in one list.
        QList<double> allMs;
        double allGrowth = 0;
        for (int rep = 0; rep < 3; ++rep) {
            const double before = rssMb();
            QElapsedTimer t;
            t.start();
            const auto all =
                worker.submit([](Connection &c) { return AccountRepository::list(c).size(); });
            if (!waitFor([&] { return all.isFinished(); }))
                return 1;
            allMs << double(t.nsecsElapsed()) / 1e6;
            allGrowth = qMax(allGrowth, rssMb() - before);
        }
        say(QStringLiteral("lazy model: count + first page painted %1 ms, last row %2 ms, a search "
                           "%3 ms, RSS growth %4 MB; every account loaded (the old way) %5 ms, RSS "
                           "growth %6 MB; open ratio %7x  [medians]")
                .arg(median(lazyMs), 0, 'f', 1)
                .arg(median(lastMs), 0, 'f', 1)
                .arg(median(searchMs), 0, 'f', 1)
                .arg(lazyGrowth, 0, 'f', 1)
                .arg(median(allMs), 0, 'f', 1)
                .arg(allGrowth, 0, 'f', 1)
                .arg(median(allMs) / median(lazyMs), 0, 'f', 1));
    }
    return 0;
}
