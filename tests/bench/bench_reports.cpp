// Reports from the reporting store (Step 11): a trial balance over --entries entries (10M by
// default) on --accounts accounts (100,000) spread over four years, as of dates on the
// store's snapshots and as far from them as dates get, timed four ways in the same run:
//  1. reporting.trial_balance from the store's aggregates (0039: the nearest snapshot, on
//     the 15th or at the end of a month since 0059, or the totals now, plus or minus the
//     daily totals in between);
//  2. the same report from the raw entries (what the ledger database computes, and what the
//     store computes for a known-at time);
//  3. 0038's way: every daily total up to the date summed per account;
//  4. 0039's trial balance (before 0058), as a function of the benchmark's own: the store's
//     balances joined with the accounts and currencies and sorted by currency and code (from
//     the same snapshots as 1).
// Each date's rows from 1 and 2 are compared (they must be equal), and 1's with 4's.
// Account codes are in no relation to their ids, as in a real chart of accounts. The database is
// made a store as a real one is (the fold trigger enabled for it), its entries bulk-loaded and its
// aggregates built by reporting.rebuild_totals(), which also takes the snapshots.
// build/release/tests/bench/bench_reports [--entries N] [--accounts A] [--reps R]

#include "BenchCluster.h"
#include "SqlSession.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>

#include <algorithm>
#include <cstdio>

using namespace ledger;
using bench::say;
using bench::timeSql;
using test::SqlSession;

namespace {

constexpr int kDays = 1460; // 2022-11-01 to 2026-10-31: recorded before today

QString load(SqlSession &admin, qint64 entries, qint64 accounts)
{
    const auto r = admin.exec(QStringLiteral(R"sql(
    SET LOCAL work_mem = '1GB';
    ALTER TABLE ledger.transactions DISABLE TRIGGER transactions_balanced;
    -- Codes in no relation to the ids (as in a real chart of accounts, opened over years):
    -- the report's order is then not the order the accounts were opened in.
    INSERT INTO ledger.accounts (code, name, currency, kind)
    SELECT 'ACC-' || substr(md5(g::text), 1, 8) || '-' || g, 'Account ' || g, 'EUR',
           (ARRAY['asset', 'liability', 'income', 'expense', 'equity'])[1 + g % 5]::ledger.account_kind
    FROM generate_series(1, %2) g;
    INSERT INTO ledger.account_heads (account_id)
    SELECT a.id FROM ledger.accounts a WHERE NOT EXISTS (SELECT 1 FROM ledger.account_heads h WHERE h.account_id = a.id);
    CREATE TEMP TABLE bench_ids ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) AS k, id FROM ledger.accounts WHERE code LIKE 'ACC-%';
    -- Transaction n: a debit and a credit on two accounts, effective over four years, 3%
    -- recorded 20 days late (backdated), amounts 1.00 to 1000.99.
    CREATE TEMP TABLE bench_tx ON COMMIT DROP AS
    SELECT n, at AS effective_at, at + CASE WHEN n % 33 = 0 THEN interval '20 days' ELSE interval '1 minute' END AS recorded_at,
           d AS debit_k, CASE WHEN c = d THEN c % %2 + 1 ELSE c END AS credit_k, 100 + (n * 31) % 100000 AS amount
    FROM (SELECT g AS n, timestamptz '2022-11-01 00:00:00+00' + (g * %3::bigint * 86400 / %1) * interval '1 second' AS at,
                 1 + (g * 7919) % %2 AS d, 1 + (g * 104729 + 17) % %2 AS c
          FROM generate_series(1::bigint, %1) g) x;
    INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, effective_at, recorded_at, description,
                                     external_ref, created_by, created_role)
    SELECT 'B-' || n, sha256(convert_to('B-' || n, 'UTF8')), 'seed', effective_at, recorded_at, 'Transfer',
           'REF-' || n, 'bench', 'bench'
    FROM bench_tx ORDER BY n;
    INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, effective_at, recorded_at, account_seq, balance_after)
    SELECT x.tid, x.account_id, x.amount, 'EUR', x.effective_at, x.recorded_at,
           row_number() OVER w, sum(x.amount) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    FROM (SELECT t.id AS tid, i.id AS account_id, b.amount, t.effective_at, t.recorded_at
          FROM bench_tx b JOIN ledger.transactions t ON t.idempotency_key = 'B-' || b.n JOIN bench_ids i ON i.k = b.debit_k
          UNION ALL
          SELECT t.id, i.id, -b.amount, t.effective_at, t.recorded_at
          FROM bench_tx b JOIN ledger.transactions t ON t.idempotency_key = 'B-' || b.n JOIN bench_ids i ON i.k = b.credit_k) x
    WINDOW w AS (PARTITION BY x.account_id ORDER BY x.recorded_at, x.tid);
)sql")
                                  .arg(entries / 2)
                                  .arg(accounts)
                                  .arg(kDays) +
                              bench::loadEpilogue());
    if (!r.ok)
        return r.message;
    admin.exec(QStringLiteral("VACUUM ANALYZE ledger.entries"));
    admin.exec(QStringLiteral("VACUUM ANALYZE ledger.transactions"));
    return {};
}

struct Figures
{
    double worst = 0;       // the store's trial balance, slowest date
    double worstBefore = 0; // 0039's, slowest date
    bool allEqual = true;
};

// The trial balance as of each date: the store's and 0039's alternately (medians of reps),
// their rows and order compared; from the entries (compared) and 0038's way.
Figures measure(SqlSession &admin, int reps)
{
    Figures f;
    say(QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8")
            .arg(QStringLiteral("as of"), -12)
            .arg(QStringLiteral("where"), -40)
            .arg(QStringLiteral("store"), 9)
            .arg(QStringLiteral("0039 way"), 9)
            .arg(QStringLiteral("entries"), 9)
            .arg(QStringLiteral("0038 way"), 9)
            .arg(QStringLiteral("rows"), 8)
            .arg(QStringLiteral("equal"), 6));
    // The snapshots are 7 to 8 days apart from a date at most (0059): the dates farthest
    // from them, and two on them. The entries end on 2026-10-31.
    const QList<QPair<QString, QString>> dates{
        {QStringLiteral("2026-10-23"), QStringLiteral("recent: 8 days from the 15th")},
        {QStringLiteral("2026-09-30"), QStringLiteral("a month end: one snapshot")},
        {QStringLiteral("2026-06-15"), QStringLiteral("mid-month: one snapshot")},
        {QStringLiteral("2026-06-22"), QStringLiteral("7 days after the 15th")},
        {QStringLiteral("2025-02-07"), QStringLiteral("two years back, 7 days past a month end")},
        {QStringLiteral("2022-11-08"), QStringLiteral("first month: 7 days back from the 15th")}};
    for (const auto &[day, where] : dates) {
        const QString store =
            QStringLiteral("SELECT count(*) FROM reporting.trial_balance('%1')").arg(day);
        const QString raw =
            QStringLiteral("SELECT count(*) FROM reporting.trial_balance('%1', now())").arg(day);
        const QString old =
            QStringLiteral("SELECT count(*) FROM (SELECT account_id, sum(debits_minor - "
                           "credits_minor) FROM reporting.daily_totals WHERE day <= '%1' "
                           "GROUP BY account_id) t")
                .arg(day);
        const QString was =
            QStringLiteral("SELECT count(*) FROM bench.trial_balance_0039('%1')").arg(day);
        // Alternating, so that a change in the host's speed falls on both.
        QList<double> storeRuns, wasRuns;
        for (int i = 0; i < reps; ++i) {
            storeRuns << timeSql(admin, store, {}, 1);
            wasRuns << timeSql(admin, was, {}, 1);
        }
        std::sort(storeRuns.begin(), storeRuns.end());
        std::sort(wasRuns.begin(), wasRuns.end());
        const double storeMs = storeRuns.at(reps / 2);
        const double wasMs = wasRuns.at(reps / 2);
        f.worstBefore = std::max(f.worstBefore, wasMs);
        const QString sameAsBefore = admin.scalar(
            QStringLiteral("SELECT count(*) FROM ((SELECT * FROM reporting.trial_balance('%1') "
                           "EXCEPT ALL SELECT * FROM bench.trial_balance_0039('%1')) UNION ALL "
                           "(SELECT * FROM bench.trial_balance_0039('%1') EXCEPT ALL SELECT * "
                           "FROM reporting.trial_balance('%1'))) d")
                .arg(day));
        const QString orderAsBefore = admin.scalar(
            QStringLiteral("SELECT (SELECT string_agg(account_code, ',') FROM "
                           "reporting.trial_balance('%1')) = (SELECT string_agg(account_code, "
                           "',') FROM bench.trial_balance_0039('%1'))")
                .arg(day));
        f.allEqual =
            f.allEqual && sameAsBefore == QLatin1String("0") && orderAsBefore == QLatin1String("t");
        const double rawMs = timeSql(admin, raw, {}, std::min(reps, 3));
        const double oldMs = timeSql(admin, old, {}, std::min(reps, 3));
        const QString differing = admin.scalar(
            QStringLiteral("SELECT count(*) FROM ((SELECT * FROM reporting.trial_balance('%1') "
                           "EXCEPT ALL SELECT * FROM reporting.trial_balance('%1', now())) UNION "
                           "ALL (SELECT * FROM reporting.trial_balance('%1', now()) EXCEPT ALL "
                           "SELECT * FROM reporting.trial_balance('%1'))) d")
                .arg(day));
        f.allEqual = f.allEqual && differing == QLatin1String("0");
        f.worst = std::max(f.worst, storeMs);
        say(QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8")
                .arg(day, -12)
                .arg(where, -40)
                .arg(storeMs, 9, 'f', 1)
                .arg(wasMs, 9, 'f', 1)
                .arg(rawMs, 9, 'f', 1)
                .arg(oldMs, 9, 'f', 1)
                .arg(admin.scalar(store), 8)
                .arg(differing == QLatin1String("0") && sameAsBefore == QLatin1String("0") &&
                             orderAsBefore == QLatin1String("t")
                         ? QStringLiteral("yes")
                         : QStringLiteral("NO (%1 from the entries, %2 from 0039's, order %3)")
                               .arg(differing, sameAsBefore, orderAsBefore),
                     6));
    }
    say(QStringLiteral("\nslowest from the store: %1 ms (target under 200 ms; 0039's way %2 ms, "
                       "x%3); every date equal to the entries and to 0039's, in its order: %4")
            .arg(f.worst, 0, 'f', 1)
            .arg(f.worstBefore, 0, 'f', 1)
            .arg(f.worst > 0 ? f.worstBefore / f.worst : 0, 0, 'f', 2)
            .arg(f.allEqual ? QStringLiteral("yes") : QStringLiteral("NO")));
    return f;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Trial balance from the reporting store."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("entries"), QStringLiteral("Entries (default 10000000)."),
                      QStringLiteral("N"), QStringLiteral("10000000")});
    parser.addOption({QStringLiteral("accounts"), QStringLiteral("Accounts (default 100000)."),
                      QStringLiteral("A"), QStringLiteral("100000")});
    parser.addOption({QStringLiteral("reps"), QStringLiteral("Runs per figure (median; 5)."),
                      QStringLiteral("R"), QStringLiteral("5")});
    parser.process(app);
    const qint64 entries =
        std::max<qint64>(1000, parser.value(QStringLiteral("entries")).toLongLong());
    const qint64 accounts =
        std::max<qint64>(10, parser.value(QStringLiteral("accounts")).toLongLong());
    const int reps = std::max(1, parser.value(QStringLiteral("reps")).toInt());

    bench::BenchCluster bench(QStringLiteral("reports"));
    if (auto s = bench.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return 1;
    }
    SqlSession admin(bench.cluster().dsn());
    say(QStringLiteral("cluster: %1 (durable); %2 entries on %3 accounts over %4 days")
            .arg(bench.path())
            .arg(entries)
            .arg(accounts)
            .arg(kDays));
    bench::sayYardsticks(admin);
    QElapsedTimer t;
    t.start();
    if (const QString error = load(admin, entries, accounts); !error.isEmpty()) {
        std::fprintf(stderr, "bench: load: %s\n", qPrintable(error));
        return 1;
    }
    say(QStringLiteral("ledger loaded in %1 s").arg(double(t.elapsed()) / 1000.0, 0, 'f', 1));
    say(QStringLiteral("storage per million entries (tables with their indexes): entries %1 MB, "
                       "transactions %2 MB (two entries each)")
            .arg(admin.scalar(QStringLiteral(
                "SELECT round(pg_total_relation_size('ledger.entries') / 1048576.0 / "
                "(SELECT count(*) FROM ledger.entries) * 1e6)")))
            .arg(admin.scalar(QStringLiteral(
                "SELECT round(pg_total_relation_size('ledger.transactions') / 1048576.0 / "
                "(SELECT count(*) FROM ledger.entries) * 1e6)"))));

    // A reporting store: the fold trigger on, the aggregates built from the entries.
    t.restart();
    const auto built = admin.exec(
        QStringLiteral("ALTER TABLE ledger.entries ENABLE ALWAYS TRIGGER entries_fold_on_replica; "
                       "SELECT reporting.rebuild_totals()"));
    if (!built.ok) {
        std::fprintf(stderr, "bench: rebuild: %s\n", qPrintable(built.message));
        return 1;
    }
    admin.exec(QStringLiteral("VACUUM ANALYZE reporting.daily_totals"));
    admin.exec(QStringLiteral("VACUUM ANALYZE reporting.balance_snapshots"));
    admin.exec(QStringLiteral("VACUUM ANALYZE reporting.account_totals"));
    admin.exec(QStringLiteral("VACUUM ANALYZE reporting.report_accounts"));
    say(QStringLiteral("store aggregates built in %1 s: %2 daily totals (%3 MB), %4 snapshots "
                       "(15th and month end) of %5 rows (%6 MB), %7 account totals")
            .arg(double(t.elapsed()) / 1000.0, 0, 'f', 1)
            .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM reporting.daily_totals")))
            .arg(admin.scalar(QStringLiteral(
                "SELECT pg_total_relation_size('reporting.daily_totals') / 1048576")))
            .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM reporting.snapshot_dates")))
            .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM reporting.balance_snapshots")))
            .arg(admin.scalar(QStringLiteral(
                "SELECT pg_total_relation_size('reporting.balance_snapshots') / 1048576")))
            .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM reporting.account_totals"))));

    // 0039's trial balance on the store, as it was before 0058, without its session and date
    // checks (about 1.5 ms, which the store's own trial balance above still pays).
    const auto before = admin.exec(QStringLiteral(R"sql(
    CREATE SCHEMA bench;
    CREATE FUNCTION bench.trial_balance_0039(p_as_of date)
    RETURNS TABLE (account_code text, account_name text, kind text, currency text, exponent integer,
                   debit_minor bigint, credit_minor bigint, entries bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    SET work_mem = '64MB'
    SET enable_nestloop = off
    SET jit = off
    AS $$
    DECLARE
        w record;
    BEGIN
        w := reporting.balance_way(p_as_of, NULL);
        RETURN QUERY
        SELECT a.code, a.name, a.kind::text, a.currency::text, c.exponent::integer,
               greatest(t.net, 0)::bigint, greatest(-t.net, 0)::bigint, t.n
        FROM reporting.balances_at(p_as_of, NULL, w.way, w.before, w.after) t
        JOIN ledger.accounts a ON a.id = t.account_id
        JOIN ledger.currencies c ON c.code = a.currency
        ORDER BY a.currency, a.code COLLATE "C";
    END
    $$;
)sql"));
    if (!before.ok) {
        std::fprintf(stderr, "bench: 0039's trial balance: %s\n", qPrintable(before.message));
        return 1;
    }
    say(QStringLiteral("\ntrial balance, median of %1 (ms); rows; store = raw rows").arg(reps));
    return measure(admin, reps).allEqual ? 0 : 1;
}
