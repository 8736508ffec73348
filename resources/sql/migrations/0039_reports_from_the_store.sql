-- Step 11: reports from the reporting store that read about as many rows as there are
-- accounts, whatever the date and however long the history; and the reports beside the
-- trial balance.
--
-- Summing an account's daily totals up to the date (0038) reads one row per account and day
-- with entries: with 10M entries over a few years that is most of 10M rows. The store now
-- also keeps, all folded in by the apply worker's trigger:
--   - reporting.account_totals: per account, the net of all its entries and their number
--     (the balance "now", known now);
--   - reporting.balance_snapshots: per month end taken and per account with entries by then,
--     the net and number of the entries effective by the end of that UTC day. Taken by
--     reporting.take_snapshots() (`ledgerctl reporting refresh` on the store) for every month
--     end since the first entry that is at least a day past; an entry that arrives late for a
--     day a snapshot covers is added to that snapshot and every later one (backdated entries
--     keep the snapshots exact);
--   - reporting.currency_days: entries, debits and credits per UTC day and currency (volumes).
-- reporting.balances_at(D) (with balance_way), behind every report: balances as of D start from the nearest of
-- the last snapshot at or before D (adding the daily totals after it up to D), the first
-- snapshot after D, or the totals now (taking away the daily totals after D): at most about
-- half a month of daily totals plus one row per account. reporting.daily_totals is keyed by
-- day first, so a range of days is one range of the index. With a known-at time, or in the
-- ledger database, it sums the entries.
--
-- Reports (console sessions; on the ledger gated like every read of its content):
--   reporting.trial_balance(as_of, known_at)       (as in 0038)
--   reporting.account_movements(from, to, known_at): per account, the balance before the
--     period, its net movement and the balance at its end (income statement, top movers);
--   reporting.volumes(from, to, unit): per currency and day, ISO week or month.
-- The balance sheet is the trial balance grouped by kind (the client does it).
--
-- reporting.rebuild_totals() recomputes all of it from the store's copy of the entries (a
-- store whose trigger was off for a while; the benchmark's bulk load), with the apply
-- worker held off meanwhile.
SET LOCAL ROLE ledger_owner;

ALTER TABLE reporting.daily_totals DROP CONSTRAINT daily_totals_pkey;
ALTER TABLE reporting.daily_totals ADD PRIMARY KEY (day, account_id);

CREATE TABLE reporting.account_totals (
    account_id bigint PRIMARY KEY,
    net_minor  bigint NOT NULL,
    entries    bigint NOT NULL CHECK (entries > 0)
);

CREATE TABLE reporting.snapshot_dates (
    as_of    date        PRIMARY KEY,
    taken_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE reporting.balance_snapshots (
    as_of      date   NOT NULL,
    account_id bigint NOT NULL,
    net_minor  bigint NOT NULL,
    entries    bigint NOT NULL CHECK (entries > 0),
    PRIMARY KEY (as_of, account_id)
);
COMMENT ON TABLE reporting.balance_snapshots IS
    'On a reporting store (0039): per snapshot date (a month end) and account, the net and number of the entries effective by the end of that UTC day; late entries are folded into every snapshot they fall before.';

CREATE TABLE reporting.currency_days (
    day           date    NOT NULL,
    currency      char(3) NOT NULL,
    entries       bigint  NOT NULL CHECK (entries > 0),
    debits_minor  bigint  NOT NULL CHECK (debits_minor >= 0),
    credits_minor bigint  NOT NULL CHECK (credits_minor >= 0),
    PRIMARY KEY (day, currency)
);

CREATE OR REPLACE FUNCTION reporting.fold_replicated_entry() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_day date := (NEW.effective_at AT TIME ZONE 'UTC')::date;
BEGIN
    INSERT INTO reporting.daily_totals AS d (account_id, day, entries, debits_minor, credits_minor)
    VALUES (NEW.account_id, v_day, 1, greatest(NEW.amount, 0), greatest(-NEW.amount, 0))
    ON CONFLICT (day, account_id) DO UPDATE
        SET entries = d.entries + 1,
            debits_minor = d.debits_minor + excluded.debits_minor,
            credits_minor = d.credits_minor + excluded.credits_minor;
    INSERT INTO reporting.currency_days AS d (day, currency, entries, debits_minor, credits_minor)
    VALUES (v_day, NEW.currency, 1, greatest(NEW.amount, 0), greatest(-NEW.amount, 0))
    ON CONFLICT (day, currency) DO UPDATE
        SET entries = d.entries + 1,
            debits_minor = d.debits_minor + excluded.debits_minor,
            credits_minor = d.credits_minor + excluded.credits_minor;
    INSERT INTO reporting.account_totals AS t (account_id, net_minor, entries)
    VALUES (NEW.account_id, NEW.amount, 1)
    ON CONFLICT (account_id) DO UPDATE SET net_minor = t.net_minor + excluded.net_minor, entries = t.entries + 1;
    INSERT INTO reporting.balance_snapshots AS b (as_of, account_id, net_minor, entries)
    SELECT s.as_of, NEW.account_id, NEW.amount, 1 FROM reporting.snapshot_dates s WHERE s.as_of >= v_day
    ON CONFLICT (as_of, account_id) DO UPDATE SET net_minor = b.net_minor + excluded.net_minor, entries = b.entries + 1;
    RETURN NULL;
END
$$;

-- Takes the missing month-end snapshots, from the month of the first daily total to the last
-- month end before yesterday (UTC). Holds the apply worker off while it runs (a share lock
-- on the daily totals, which every applied entry writes). Returns how many were taken.
CREATE FUNCTION reporting.take_snapshots() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
SET work_mem = '256MB'
AS $$
DECLARE
    v_first date;
    v_month_end date;
    v_prev date;
    v_taken integer := 0;
BEGIN
    IF NOT reporting.is_store() THEN
        RETURN 0;
    END IF;
    LOCK TABLE reporting.daily_totals IN SHARE MODE;
    SELECT min(d.day) INTO v_first FROM reporting.daily_totals d;
    IF v_first IS NULL THEN
        RETURN 0;
    END IF;
    v_month_end := (date_trunc('month', v_first) + interval '1 month - 1 day')::date;
    WHILE v_month_end < (now() AT TIME ZONE 'UTC')::date - 1 LOOP
        IF NOT EXISTS (SELECT 1 FROM reporting.snapshot_dates s WHERE s.as_of = v_month_end) THEN
            SELECT max(s.as_of) INTO v_prev FROM reporting.snapshot_dates s WHERE s.as_of < v_month_end;
            -- A snapshot after this one (taken before a gap was filled) is not touched: it
            -- is complete by itself.
            INSERT INTO reporting.balance_snapshots (as_of, account_id, net_minor, entries)
            SELECT v_month_end, t.account_id, sum(t.net), sum(t.n)
            FROM (SELECT b.account_id, b.net_minor AS net, b.entries AS n
                  FROM reporting.balance_snapshots b WHERE b.as_of = v_prev
                  UNION ALL
                  SELECT d.account_id, d.debits_minor - d.credits_minor, d.entries
                  FROM reporting.daily_totals d
                  WHERE d.day <= v_month_end AND (v_prev IS NULL OR d.day > v_prev)) t
            GROUP BY t.account_id;
            INSERT INTO reporting.snapshot_dates (as_of) VALUES (v_month_end);
            v_taken := v_taken + 1;
        END IF;
        v_month_end := (date_trunc('month', v_month_end + 1) + interval '1 month - 1 day')::date;
    END LOOP;
    RETURN v_taken;
END
$$;

-- Everything above, and the daily totals, from the store's copy of the entries.
CREATE FUNCTION reporting.rebuild_totals() RETURNS integer
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
    SELECT * FROM reporting.daily_totals_from_entries();
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

-- How balances as of the end of p_as_of are found: 'entries' (a known-at time, or the ledger
-- database), 'forward' from the snapshot `before` (or from nothing), 'back' from the snapshot
-- `after` (or from the totals now), whichever is nearer.
CREATE FUNCTION reporting.balance_way(p_as_of date, p_known_at timestamptz, OUT way text, OUT before date, OUT after date)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_last date;
BEGIN
    IF p_known_at IS NOT NULL OR NOT reporting.is_store() THEN
        way := 'entries';
        RETURN;
    END IF;
    SELECT max(s.as_of) INTO before FROM reporting.snapshot_dates s WHERE s.as_of <= p_as_of;
    SELECT min(s.as_of) INTO after FROM reporting.snapshot_dates s WHERE s.as_of > p_as_of;
    SELECT max(d.day) INTO v_last FROM reporting.daily_totals d;
    way := CASE WHEN coalesce(after, v_last) - p_as_of < p_as_of - coalesce(before, date '1900-01-01') THEN 'back' ELSE 'forward' END;
END
$$;

-- Per account with entries by the end of the UTC day p_as_of: the net (debit positive) and
-- the number of those entries, the way balance_way chose. One SQL statement with every name
-- qualified, no SET clause and not SECURITY DEFINER, so that the planner inlines it into the
-- report's query: with the way and the snapshot dates as values, the branches not taken go
-- at planning and the snapshot is read by its key. Internal: the reports check the session
-- and the gate.
CREATE FUNCTION reporting.balances_at(p_as_of date, p_known_at timestamptz, p_way text, p_before date, p_after date)
RETURNS TABLE (account_id bigint, net bigint, n bigint)
LANGUAGE sql STABLE
AS $$
    SELECT u.account_id, sum(u.net)::bigint, sum(u.n)::bigint
    FROM (SELECT b.account_id, b.net_minor AS net, b.entries AS n
          FROM reporting.balance_snapshots b
          WHERE b.as_of = CASE p_way WHEN 'back' THEN p_after WHEN 'forward' THEN p_before END
          UNION ALL
          SELECT x.account_id, x.net_minor, x.entries
          FROM reporting.account_totals x
          WHERE p_way = 'back' AND p_after IS NULL
          UNION ALL
          SELECT d.account_id, d.credits_minor - d.debits_minor, -d.entries
          FROM reporting.daily_totals d
          WHERE p_way = 'back' AND d.day > p_as_of AND d.day <= coalesce(p_after, date '9999-12-31')
          UNION ALL
          SELECT d.account_id, d.debits_minor - d.credits_minor, d.entries
          FROM reporting.daily_totals d
          WHERE p_way = 'forward' AND d.day <= p_as_of AND d.day > coalesce(p_before, date '1900-01-01')
          UNION ALL
          SELECT e.account_id, e.amount, 1
          FROM ledger.entries e
          WHERE p_way = 'entries' AND e.effective_at < (p_as_of + 1)::timestamp AT TIME ZONE 'UTC'
            AND (p_known_at IS NULL OR e.recorded_at <= p_known_at)) u
    GROUP BY u.account_id HAVING sum(u.n) > 0
$$;

CREATE FUNCTION reporting.check_report_call(p_from date, p_to date) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM access.check_session();
    IF p_to IS NULL OR p_to < date '1900-01-01' OR p_to > date '9999-01-01'
       OR (p_from IS NOT NULL AND (p_from > p_to OR p_from < date '1900-01-01')) THEN
        RAISE EXCEPTION 'A report needs its dates, the first not after the last (UTC days)' USING ERRCODE = '22023';
    END IF;
    IF NOT reporting.is_store() THEN
        PERFORM ledger.require_read('ledger_content', '');
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION reporting.trial_balance(p_as_of date, p_known_at timestamptz DEFAULT NULL)
RETURNS TABLE (account_code text, account_name text, kind text, currency text, exponent integer,
               debit_minor bigint, credit_minor bigint, entries bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
SET work_mem = '64MB'
SET enable_nestloop = off -- the aggregate's row count is not known when planned: never a loop per account
AS $$
DECLARE
    w record;
BEGIN
    PERFORM reporting.check_report_call(NULL, p_as_of);
    w := reporting.balance_way(p_as_of, p_known_at);
    RETURN QUERY
    SELECT a.code, a.name, a.kind::text, a.currency::text, c.exponent::integer,
           greatest(t.net, 0)::bigint, greatest(-t.net, 0)::bigint, t.n
    FROM reporting.balances_at(p_as_of, p_known_at, w.way, w.before, w.after) t
    JOIN ledger.accounts a ON a.id = t.account_id
    JOIN ledger.currencies c ON c.code = a.currency
    ORDER BY a.currency, a.code COLLATE "C"; -- codes are ASCII (0002): byte order
END
$$;

CREATE FUNCTION reporting.account_movements(p_from date, p_to date, p_known_at timestamptz DEFAULT NULL)
RETURNS TABLE (account_code text, account_name text, kind text, currency text, exponent integer,
               opening_minor bigint, movement_minor bigint, closing_minor bigint, entries bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
SET work_mem = '64MB'
SET enable_nestloop = off
AS $$
DECLARE
    w_open record;
    w_close record;
BEGIN
    IF p_from IS NULL THEN
        RAISE EXCEPTION 'A period needs its first day' USING ERRCODE = '22023';
    END IF;
    PERFORM reporting.check_report_call(p_from, p_to);
    w_open := reporting.balance_way(p_from - 1, p_known_at);
    w_close := reporting.balance_way(p_to, p_known_at);
    RETURN QUERY
    SELECT a.code, a.name, a.kind::text, a.currency::text, c.exponent::integer,
           coalesce(o.net, 0)::bigint, (coalesce(z.net, 0) - coalesce(o.net, 0))::bigint, coalesce(z.net, 0)::bigint,
           (coalesce(z.n, 0) - coalesce(o.n, 0))::bigint
    FROM reporting.balances_at(p_to, p_known_at, w_close.way, w_close.before, w_close.after) z
    FULL JOIN reporting.balances_at(p_from - 1, p_known_at, w_open.way, w_open.before, w_open.after) o ON o.account_id = z.account_id
    JOIN ledger.accounts a ON a.id = coalesce(z.account_id, o.account_id)
    JOIN ledger.currencies c ON c.code = a.currency
    ORDER BY a.currency, a.code COLLATE "C"; -- codes are ASCII (0002): byte order
END
$$;

CREATE FUNCTION reporting.volumes(p_from date, p_to date, p_unit text DEFAULT 'day')
RETURNS TABLE (period date, currency text, exponent integer, entries bigint, debits_minor bigint, credits_minor bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    IF p_from IS NULL THEN
        RAISE EXCEPTION 'A period needs its first day' USING ERRCODE = '22023';
    END IF;
    PERFORM reporting.check_report_call(p_from, p_to);
    IF p_unit IS NULL OR p_unit NOT IN ('day', 'week', 'month') THEN
        RAISE EXCEPTION 'Volumes are per day, week or month, not "%"', left(coalesce(p_unit, 'null'), 20)
            USING ERRCODE = '22023';
    END IF;
    IF reporting.is_store() THEN
        RETURN QUERY
        SELECT date_trunc(p_unit, d.day::timestamp)::date, d.currency::text, c.exponent::integer,
               sum(d.entries)::bigint, sum(d.debits_minor)::bigint, sum(d.credits_minor)::bigint
        FROM reporting.currency_days d JOIN ledger.currencies c ON c.code = d.currency
        WHERE d.day BETWEEN p_from AND p_to
        GROUP BY 1, 2, 3 ORDER BY 1, 2;
    ELSE
        RETURN QUERY
        SELECT date_trunc(p_unit, (e.effective_at AT TIME ZONE 'UTC'))::date, e.currency::text, c.exponent::integer,
               count(*)::bigint, coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0)::bigint,
               coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0)::bigint
        FROM ledger.entries e JOIN ledger.currencies c ON c.code = e.currency
        WHERE e.effective_at >= p_from::timestamp AT TIME ZONE 'UTC'
          AND e.effective_at < (p_to + 1)::timestamp AT TIME ZONE 'UTC'
        GROUP BY 1, 2, 3 ORDER BY 1, 2;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION ledger.record_report(p_name text, p_params jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    IF p_name IS NULL OR p_name NOT IN ('trial_balance', 'balance_sheet', 'income_statement', 'volumes', 'top_movers') THEN
        RAISE EXCEPTION 'No report named "%"', left(coalesce(p_name, 'null'), 60)
            USING ERRCODE = '22023', HINT = 'Reports: trial_balance, balance_sheet, income_statement, volumes, top_movers.';
    END IF;
    IF p_params IS NULL OR jsonb_typeof(p_params) <> 'object' OR length(p_params::text) > 2000 THEN
        RAISE EXCEPTION 'A report''s parameters are a JSON object of at most 2000 characters' USING ERRCODE = '22023';
    END IF;
    PERFORM ledger.record_read('ledger_content', '');
    RETURN audit.record('report.run', 'report', p_name, jsonb_build_object('params', p_params));
END
$$;

REVOKE EXECUTE ON FUNCTION reporting.take_snapshots(), reporting.rebuild_totals(), reporting.balance_way(date, timestamptz), reporting.balances_at(date, timestamptz, text, date, date),
    reporting.check_report_call(date, date), reporting.account_movements(date, date, timestamptz),
    reporting.volumes(date, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.take_snapshots() TO ledger_writer;
GRANT EXECUTE ON FUNCTION reporting.account_movements(date, date, timestamptz), reporting.volumes(date, date, text)
    TO console_operator, console_supervisor, console_auditor, console_compliance;

-- A store set up before this migration: its totals now, from its daily totals (the apply
-- worker held off meanwhile).
DO $backfill$
BEGIN
    IF reporting.is_store() THEN
        LOCK TABLE reporting.daily_totals IN SHARE MODE;
        INSERT INTO reporting.account_totals (account_id, net_minor, entries)
        SELECT d.account_id, sum(d.debits_minor - d.credits_minor), sum(d.entries)
        FROM reporting.daily_totals d GROUP BY d.account_id;
        LOCK TABLE ledger.entries IN SHARE MODE;
        INSERT INTO reporting.currency_days (day, currency, entries, debits_minor, credits_minor)
        SELECT (e.effective_at AT TIME ZONE 'UTC')::date, e.currency, count(*),
               coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0), coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0)
        FROM ledger.entries e GROUP BY 1, 2;
    END IF;
END
$backfill$;
