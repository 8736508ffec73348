-- Step 11: the reports' first calls in a session cost about 200 ms more than the later ones.
-- Their plans cost more than jit_above_cost, so each custom plan was JIT-compiled for a
-- single execution (the same reason the recon functions turn JIT off). Measured on
-- bench_reports' 10M-entry store, a mid-month trial balance, 7 calls in one session: 643,
-- 557, 514, then 354–356 ms with JIT on; 542, then 354–365 ms with it off (the first call
-- of a session also loads its caches).
--
-- And reporting.rebuild_totals() writes the daily totals in key order (day, account): a
-- report reads a range of days, and rows written in hash order put each day's rows on
-- thousands of pages (58,115 heap pages for the 100,977 rows of half a month in
-- bench_reports, read in 204 ms; 26 ms after CLUSTER on the key). Totals the apply worker
-- folds in arrive day by day and stay near each other without this.
SET LOCAL ROLE ledger_owner;

ALTER FUNCTION reporting.trial_balance(date, timestamptz) SET jit = off;
ALTER FUNCTION reporting.account_movements(date, date, timestamptz) SET jit = off;
ALTER FUNCTION reporting.volumes(date, date, text) SET jit = off;

CREATE OR REPLACE FUNCTION reporting.rebuild_totals() RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '30s'
SET work_mem = '1GB'
AS $$
BEGIN
    IF NOT reporting.is_store() THEN
        RAISE EXCEPTION 'Not a reporting store: the ledger keeps no reporting totals of its own'
            USING ERRCODE = '55000', HINT = 'Run it on a reporting store (ledgerctl reporting replica setup).';
    END IF;
    LOCK TABLE ledger.entries IN SHARE MODE;
    LOCK TABLE reporting.daily_totals, reporting.currency_days, reporting.account_totals, reporting.balance_snapshots,
        reporting.snapshot_dates IN EXCLUSIVE MODE;
    DELETE FROM reporting.balance_snapshots;
    DELETE FROM reporting.snapshot_dates;
    DELETE FROM reporting.account_totals;
    DELETE FROM reporting.currency_days;
    DELETE FROM reporting.daily_totals;
    INSERT INTO reporting.daily_totals (account_id, day, entries, debits_minor, credits_minor)
    SELECT t.* FROM reporting.daily_totals_from_entries() t ORDER BY t.day, t.account_id;
    INSERT INTO reporting.currency_days (day, currency, entries, debits_minor, credits_minor)
    SELECT (e.effective_at AT TIME ZONE 'UTC')::date, e.currency, count(*),
           coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0), coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0)
    FROM ledger.entries e GROUP BY 1, 2;
    INSERT INTO reporting.account_totals (account_id, net_minor, entries)
    SELECT d.account_id, sum(d.debits_minor - d.credits_minor), sum(d.entries)
    FROM reporting.daily_totals d GROUP BY d.account_id;
    RETURN reporting.take_snapshots();
END
$$;
