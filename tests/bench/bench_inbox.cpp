// The approvals inbox over many pending reversal requests (Step 7):
//  1. server: a page of the inbox (ledger.reversal_inbox) and its count, per sort and per
//     filter, against the naive query (the status view, state derived per row, OFFSET/LIMIT)
//     measured in the same run;
//  2. console: ReversalInboxModel + QTableView offscreen over ReversalService on its
//     DbWorker: first page painted, a sort change, a filter change (data on the GUI thread
//     and painted);
//  3. bulk approval of many requests (each its own transaction and audit event) against
//     approving them one by one the way a supervisor does in the detail pane (preview
//     shown, then approve), per decision.
// build/release/tests/bench/bench_inbox [--requests N] [--bulk M]

#include "BenchCluster.h"
#include "ReversalInboxModel.h"
#include "SqlSession.h"
#include "console/ReversalService.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"
#include "db/ReversalRepository.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QHeaderView>
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

bool run(SqlSession &admin, const QString &sql)
{
    const auto r = admin.exec(sql);
    if (!r.ok)
        std::fprintf(stderr, "bench: %s\n", qPrintable(r.message));
    return r.ok;
}

} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Approvals inbox benchmark."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("requests"),
                      QStringLiteral("Pending requests (default 100000)."), QStringLiteral("N"),
                      QStringLiteral("100000")});
    parser.addOption({QStringLiteral("bulk"),
                      QStringLiteral("Requests approved in bulk (default 1000)."),
                      QStringLiteral("M"), QStringLiteral("1000")});
    parser.process(app);
    const int requests = parser.value(QStringLiteral("requests")).toInt();
    const int bulk = parser.value(QStringLiteral("bulk")).toInt();
    const int singles = qMax(10, bulk / 10);

    bench::BenchCluster bench(QStringLiteral("inbox"));
    if (auto s = bench.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return 1;
    }
    SqlSession admin(bench.cluster().dsn());
    say(QStringLiteral("cluster: %1 (durable), %2 cores; %3 pending requests")
            .arg(bench.path())
            .arg(std::thread::hardware_concurrency())
            .arg(requests));

    // -- Load: 200 customer accounts and a card account; one transaction per request
    // (posted through ledger.post_batch, 1000 per call); requests by 20 operators over the
    // last six days, inserted set-based as the owner (the insert trigger fills their
    // amounts, accounts and expiry as for any request).
    QElapsedTimer load;
    load.start();
    if (!run(admin, QStringLiteral("SELECT ledger.open_account('CARD', 'Card settlement', 'EUR', "
                                   "'asset'); SELECT ledger.open_account(format('CUST-%s', "
                                   "lpad(i::text, 3, '0')), format('Customer %s', i), 'EUR', "
                                   "'liability') FROM generate_series(1, 200) i")) ||
        !run(admin, QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings SET "
                                   "reversal_request_ttl = '30 days'")))
        return 1;
    const int total = requests + bulk + singles;
    for (int from = 1; from <= total; from += 1000) {
        const int to = qMin(total, from + 999);
        if (!run(admin,
                 QStringLiteral(
                     "SELECT ledger.post_batch(jsonb_agg(jsonb_build_object("
                     "'idempotency_key', 'inbox-' || i, 'effective_at', now() - i * interval '1 "
                     "minute', 'description', 'card payment ' || i, 'legs', jsonb_build_array("
                     "jsonb_build_object('account', 'CARD', 'amount', round(((i * 7919) % 100000 + "
                     "1)::numeric / 100, 2)::text, 'currency', 'EUR'), jsonb_build_object("
                     "'account', format('CUST-%s', lpad((1 + i % 200)::text, 3, '0')), 'amount', "
                     "round(-((i * 7919) % 100000 + 1)::numeric / 100, 2)::text, 'currency', "
                     "'EUR'))) ORDER BY i)) "
                     "FROM generate_series(%1, %2) i")
                     .arg(from)
                     .arg(to)))
            return 1;
    }
    if (!run(admin,
             QStringLiteral(
                 "SET LOCAL ROLE ledger_owner; "
                 "INSERT INTO ledger.reversal_requests (transaction_id, reason_code, note, "
                 "requested_by, requested_role, attempt, requested_at) "
                 "SELECT t.id, (ARRAY['DUPLICATE', 'WRONG_AMOUNT', 'WRONG_ACCOUNT', 'FRAUD', "
                 "'CUSTOMER_DISPUTE', 'OTHER'])[1 + t.id % 6], 'bench request ' || t.id, "
                 "format('operator_%s', 1 + (t.id * 31) % 20), 'bench', 1, "
                 "now() - ((t.id * 104729) % 518400) * interval '1 second' "
                 "FROM ledger.transactions t WHERE t.idempotency_key LIKE 'inbox-%'; "
                 "ANALYZE ledger.reversal_requests; ANALYZE ledger.reversal_decisions")))
        return 1;
    say(QStringLiteral("loaded %1 transactions and requests in %2 s")
            .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests")))
            .arg(double(load.elapsed()) / 1000.0, 0, 'f', 1));

    // The newest requests are decided in part 3 (until then they are pending like the rest).
    const QString bulkIds = admin.scalar(
        QStringLiteral("SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM "
                       "ledger.reversal_requests ORDER BY id DESC LIMIT %1) x")
            .arg(bulk + singles));

    // -- 1. Server: a page of 200 and the count, per sort and filter.
    say(QStringLiteral("\n== server: first page of 200 (ledger.reversal_inbox) vs the status view "
                       "(state per row, ORDER BY .. LIMIT), and the count"));
    say(QStringLiteral("%1 %2 %3 %4 %5")
            .arg(QStringLiteral("query"), -34)
            .arg(QStringLiteral("inbox ms"), 9)
            .arg(QStringLiteral("naive ms"), 9)
            .arg(QStringLiteral("ratio"), 7)
            .arg(QStringLiteral("count ms"), 9));
    struct Case
    {
        const char *name;
        const char *filterArgs; // reversal_inbox's filter arguments
        const char *sort;
        bool descending;
        const char *naiveWhere;
        const char *naiveOrder;
    };
    const Case cases[] = {
        {"oldest first", "'{pending}', NULL, NULL, false, NULL, NULL, NULL, NULL, NULL", "age",
         false, "true", "requested_at, id"},
        {"newest first", "'{pending}', NULL, NULL, false, NULL, NULL, NULL, NULL, NULL", "age",
         true, "true", "requested_at DESC, id DESC"},
        {"largest amount", "'{pending}', NULL, NULL, false, NULL, NULL, NULL, NULL, NULL", "amount",
         true, "true", "original_amount DESC, id DESC"},
        {"by requester", "'{pending}', NULL, NULL, false, NULL, NULL, NULL, NULL, NULL",
         "requester", false, "true", "requested_by, requested_at, id"},
        {"by reason", "'{pending}', NULL, NULL, false, NULL, NULL, NULL, NULL, NULL", "reason",
         false, "true", "reason_code, requested_at, id"},
        {"reason FRAUD, oldest", "'{pending}', 'FRAUD', NULL, false, NULL, NULL, NULL, NULL, NULL",
         "age", false, "reason_code = 'FRAUD'", "requested_at, id"},
        {"account CUST-042, oldest",
         "'{pending}', NULL, NULL, false, 'CUST-042', NULL, NULL, NULL, NULL", "age", false,
         "original_accounts @> ARRAY['CUST-042']", "requested_at, id"},
        {"amount 500-510, largest", "'{pending}', NULL, NULL, false, NULL, 500, 510, NULL, NULL",
         "amount", true, "original_amount BETWEEN 500 AND 510", "original_amount DESC, id DESC"},
        {"requester operator_7, newest",
         "'{pending}', NULL, 'operator_7', false, NULL, NULL, NULL, NULL, NULL", "age", true,
         "requested_by = 'operator_7'", "requested_at DESC, id DESC"},
        {"older than 5 days, oldest",
         "'{pending}', NULL, NULL, false, NULL, NULL, NULL, interval '5 days', NULL", "age", false,
         "requested_at <= now() - interval '5 days'", "requested_at, id"},
    };
    for (const Case &c : cases) {
        const double inbox = timeSql(
            admin, QStringLiteral("SELECT * FROM ledger.reversal_inbox(%1, '%2', %3, 0, 200)")
                       .arg(QString::fromLatin1(c.filterArgs), QString::fromLatin1(c.sort),
                            QLatin1String(c.descending ? "true" : "false")));
        const double naive = timeSql(
            admin,
            QStringLiteral("SELECT s.*, t.description FROM ledger.reversal_request_status s JOIN "
                           "ledger.transactions t ON t.id = s.transaction_id WHERE s.state = "
                           "'pending' AND %1 ORDER BY %2 LIMIT 200")
                .arg(QString::fromLatin1(c.naiveWhere), QString::fromLatin1(c.naiveOrder)));
        const double count = timeSql(admin, QStringLiteral("SELECT ledger.reversal_inbox_count(%1)")
                                                .arg(QString::fromLatin1(c.filterArgs)));
        say(QStringLiteral("%1 %2 %3 %4 %5")
                .arg(QString::fromLatin1(c.name), -34)
                .arg(inbox, 9, 'f', 2)
                .arg(naive, 9, 'f', 2)
                .arg(naive / inbox, 7, 'f', 1)
                .arg(count, 9, 'f', 2));
    }
    {
        const double deep = timeSql(
            admin, QStringLiteral("SELECT * FROM ledger.reversal_inbox('{pending}', NULL, NULL, "
                                  "false, NULL, NULL, NULL, NULL, NULL, 'age', false, %1, 200)")
                       .arg(requests / 2));
        say(QStringLiteral("page at offset %1 (oldest first): %2 ms")
                .arg(requests / 2)
                .arg(deep, 0, 'f', 2));
    }

    // -- 2. The console: model + view over the service, on the worker thread.
    say(QStringLiteral("\n== console: ReversalInboxModel + QTableView (offscreen), DbWorker "
                       "thread; median of 5 after a warm-up"));
    DbWorker worker(bench.cluster().dsn(), QStringLiteral("bench_inbox"));
    ReversalService service(&worker);
    QList<double> firstData, firstPaint, sortData, sortPaint, filterData, filterPaint;
    for (int rep = 0; rep < 6; ++rep) {
        ReversalInboxModel model(&service);
        QTableView view;
        view.verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
        view.setModel(&model);
        view.resize(1400, 800);
        view.show();
        qint64 loads = 0;
        QObject::connect(&model, &ReversalInboxModel::pageLoaded, &model, [&] { ++loads; });
        const auto measure = [&](const std::function<void()> &action, QList<double> &data,
                                 QList<double> &painted) {
            const qint64 before = loads;
            QElapsedTimer t;
            t.start();
            action();
            if (!waitFor([&] { return loads > before && !model.isLoading(); }))
                return false;
            const double d = double(t.nsecsElapsed()) / 1e6;
            view.viewport()->repaint(); // painted, synchronously
            const double p = double(t.nsecsElapsed()) / 1e6;
            if (rep > 0) {
                data << d;
                painted << p;
            }
            return true;
        };
        if (!measure([&] { model.refresh(); }, firstData, firstPaint) ||
            !measure([&] { model.sort(ReversalInboxModel::Amount, Qt::DescendingOrder); }, sortData,
                     sortPaint))
            return 1;
        ReversalInboxQuery filtered = model.query();
        filtered.account = QStringLiteral("CUST-042");
        if (!measure([&] { model.setQuery(filtered); }, filterData, filterPaint))
            return 1;
        if (rep == 5)
            say(QStringLiteral("rows loaded %1 of %2 matching (account CUST-042)")
                    .arg(model.rowCount())
                    .arg(model.total()));
    }
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("step"), -28)
            .arg(QStringLiteral("data ms"), 9)
            .arg(QStringLiteral("painted ms"), 11));
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("first page"), -28)
            .arg(median(firstData), 9, 'f', 1)
            .arg(median(firstPaint), 11, 'f', 1));
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("sort by amount"), -28)
            .arg(median(sortData), 9, 'f', 1)
            .arg(median(sortPaint), 11, 'f', 1));
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("filter by account"), -28)
            .arg(median(filterData), 9, 'f', 1)
            .arg(median(filterPaint), 11, 'f', 1));

    // -- 3. Decisions: bulk against one by one (preview shown, then approve).
    say(QStringLiteral("\n== decisions: bulk (ReversalRepository::decideMany) vs one by one "
                       "(preview, then approve), each its own transaction and audit event"));
    QList<qint64> ids;
    for (const QString &id : bulkIds.split(QLatin1Char(',')))
        ids << id.toLongLong();
    const QList<qint64> oneByOne = ids.mid(0, singles);
    const QList<qint64> inBulk = ids.mid(singles);
    double singleMs = 0, bulkMs = 0;
    int bulkDecided = 0;
    QString failure;
    // A connection belongs to a thread other than the GUI's (as the console's worker).
    std::thread decisions([&] {
        try {
            Connection c(bench.cluster().dsn(), QStringLiteral("bench_inbox"));
            QElapsedTimer t;
            t.start();
            for (const qint64 id : oneByOne) {
                const ReversalPreview p = ReversalRepository::preview(c, id);
                ReversalRepository::approve(c, id, p.digest, {}, ReversalService::newClientKey());
            }
            singleMs = double(t.nsecsElapsed()) / 1e6 / double(oneByOne.size());
            t.restart();
            const auto outcome = ReversalRepository::decideMany(c, inBulk, true, {},
                                                                ReversalService::newClientKey());
            bulkMs = double(t.nsecsElapsed()) / 1e6 / double(inBulk.size());
            bulkDecided = int(std::count_if(outcome.cbegin(), outcome.cend(),
                                            [](const auto &o) { return o.decided; }));
        } catch (const DbException &e) {
            failure = e.error().describe();
        }
    });
    decisions.join();
    if (!failure.isEmpty()) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(failure));
        return 1;
    }
    say(QStringLiteral("one by one: %1 decisions, %2 ms each")
            .arg(oneByOne.size())
            .arg(singleMs, 0, 'f', 2));
    say(QStringLiteral("bulk:       %1 of %2 decided, %3 ms each (%4 s in all); ratio %5")
            .arg(bulkDecided)
            .arg(inBulk.size())
            .arg(bulkMs, 0, 'f', 2)
            .arg(bulkMs * double(inBulk.size()) / 1000.0, 0, 'f', 1)
            .arg(singleMs / bulkMs, 0, 'f', 2));
    say(QStringLiteral("reversals posted: %1")
            .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                             "kind = 'reversal'"))));
    return bulkDecided == inBulk.size() ? 0 : 1;
}
