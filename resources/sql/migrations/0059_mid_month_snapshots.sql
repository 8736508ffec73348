-- Step 11: the reporting store's balance snapshots on the 15th of each month as well as at
-- its end, so that a trial balance reads at most about a week of daily totals; and the
-- snapshots and totals numbered in report order, so that it joins the report rows once.
--
-- With month-end snapshots only (0039), a date in mid-month reads up to half a month of
-- daily totals: in bench_reports (10M entries, 100,000 accounts) about 100,000 rows into
-- 76,000 accounts, aggregated and joined with the snapshot's 100,000. That half is what kept
-- 0058's trial balance at 200-210 ms on such dates, against 144-162 ms at a month end. On a
-- scratch copy of that store, the 15th as a snapshot took the mid-month dates from 206-209
-- ms to 136-154 ms; in bench_reports, the dates farthest from a snapshot (7-8 days) then
-- took 183-200 ms.
--
-- What was left, at a week from a snapshot, was mostly joins: 0058 joined report_accounts
-- with the base by account to learn each row's report number, then the movements, then
-- sorted on the number and joined report_accounts again for the text. The snapshot rows and
-- the totals now carry the account's report number (`ord`) themselves: set by the fold
-- trigger and by take_snapshots() as rows are made, by the accounts trigger for totals that
-- arrived before their account (a new store's initial copy brings tables in no set order),
-- and rewritten with the accounts when they are numbered afresh (all snapshot rows: a minute
-- or two on bench_reports' store, with the apply worker held off; a gap runs out only after
-- 31 accounts placed one inside another). The trial balance joins the movements to the base
-- by account, sorts on the number and joins the report rows once. An account whose row
-- carries no number has it looked up; a number that leads to no report row, or to another
-- account's, is refused (LG100), never shown under another code. reporting.check_store()
-- checks every number against report_accounts. On a scratch copy of bench_reports' store, a
-- week from a snapshot, the query took 92-97 ms against 140-155 ms. In bench_reports the
-- trial balance now takes 72-117 ms on every date (0039's way, in the same run: 159-303 ms).
--
-- The cost is storage, and work for a late entry:
--   - twice the snapshots: one row per account with entries by then, per snapshot (0.47 to
--     0.94 GB per 10M entries on 100,000 accounts in bench_reports), and 8 bytes more a row
--     for the number (1.0 GB);
--   - an entry that arrives late for a day the snapshots cover is added to every snapshot on
--     or after its day (0039): two per month back instead of one. Entries for today or
--     yesterday touch no snapshot.
--
-- A store migrated from before has its snapshots and totals numbered by this migration (76 s
-- for 9.8M snapshot rows), and takes the missing mid-month snapshots at its next
-- `ledgerctl reporting refresh` (pg_cron runs it every minute where installed): each is the
-- month end before it plus that half month's daily totals, with the apply worker held off
-- while they are taken (16 s for 49 of them on bench_reports' store). Until then its
-- reports start from the month ends as before: exact, only slower.
--
-- reporting.check_store() checked each snapshot by summing every day of entries up to it,
-- work that grew with the number of snapshots times the history: 11.5 minutes on
-- bench_reports' store with 98 snapshots. It now checks each snapshot against the one
-- before it and the entries of the days between, one pass over both.
SET LOCAL ROLE ledger_owner;

-- Each snapshot row and each account's totals carry the account's report number (0058), so
-- that a report from them is sorted on it without a join with report_accounts first. NULL
-- only where the account has no report row (its trigger was off: reporting.check_store()
-- names it). Kept equal to report_accounts.ord: set as rows are made, and rewritten when the
-- accounts are numbered afresh.
ALTER TABLE reporting.balance_snapshots ADD COLUMN ord bigint;
ALTER TABLE reporting.account_totals ADD COLUMN ord bigint;

-- The first snapshot date on or after p_day: the 15th or the last day of its month.
CREATE FUNCTION reporting.snapshot_date_from(p_day date) RETURNS date
LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT CASE WHEN extract(day FROM p_day) <= 15 THEN date_trunc('month', p_day)::date + 14
                ELSE (date_trunc('month', p_day) + interval '1 month - 1 day')::date END
$$;
REVOKE EXECUTE ON FUNCTION reporting.snapshot_date_from(date) FROM PUBLIC;

-- Takes the missing snapshots, from the first daily total's to the last snapshot date before
-- yesterday (UTC). Holds the apply worker off while it runs (a share lock on the daily
-- totals, which every applied entry writes). Returns how many were taken.
CREATE OR REPLACE FUNCTION reporting.take_snapshots() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
SET work_mem = '256MB'
AS $$
DECLARE
    v_first date;
    v_date date;
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
    v_date := reporting.snapshot_date_from(v_first);
    WHILE v_date < (now() AT TIME ZONE 'UTC')::date - 1 LOOP
        IF NOT EXISTS (SELECT 1 FROM reporting.snapshot_dates s WHERE s.as_of = v_date) THEN
            SELECT max(s.as_of) INTO v_prev FROM reporting.snapshot_dates s WHERE s.as_of < v_date;
            -- A snapshot after this one (a month end taken before this mid-month one, or
            -- before a gap was filled) is not touched: it is complete by itself.
            INSERT INTO reporting.balance_snapshots (as_of, account_id, net_minor, entries, ord)
            SELECT v_date, t.account_id, t.net, t.n, r.ord
            FROM (SELECT u.account_id, sum(u.net) AS net, sum(u.n) AS n
                  FROM (SELECT b.account_id, b.net_minor AS net, b.entries AS n
                        FROM reporting.balance_snapshots b WHERE b.as_of = v_prev
                        UNION ALL
                        SELECT d.account_id, d.debits_minor - d.credits_minor, d.entries
                        FROM reporting.daily_totals d
                        WHERE d.day <= v_date AND (v_prev IS NULL OR d.day > v_prev)) u
                  GROUP BY u.account_id) t
            LEFT JOIN reporting.report_accounts r ON r.account_id = t.account_id;
            INSERT INTO reporting.snapshot_dates (as_of) VALUES (v_date);
            v_taken := v_taken + 1;
        END IF;
        v_date := reporting.snapshot_date_from(v_date + 1);
    END LOOP;
    RETURN v_taken;
END
$$;

COMMENT ON TABLE reporting.balance_snapshots IS
    'On a reporting store (0039, 0059): per snapshot date (the 15th and the last day of each month) and account, the net and number of the entries effective by the end of that UTC day; late entries are folded into every snapshot they fall before.';

-- As in 0058, but each snapshot is checked against the one before it and the days between,
-- and the snapshots' and totals' report numbers against report_accounts.
-- Summing every day up to every snapshot grew with the square of the history: with 98
-- snapshots of 10M entries (bench_reports' store) the check took 11.5 minutes.
CREATE OR REPLACE FUNCTION reporting.check_store(p_max_lag_seconds integer DEFAULT 300) RETURNS SETOF ledger.invariant_result
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
SET work_mem = '256MB'
SET jit = off
AS $$
DECLARE
    res ledger.invariant_result;
    v_t timestamptz := clock_timestamp();
    v_n bigint;
    v_failures bigint;
    v_first text;
    v_heard timestamptz;
BEGIN
    PERFORM access.check_session();
    IF p_max_lag_seconds IS NULL OR p_max_lag_seconds NOT BETWEEN 1 AND 2678400 THEN
        RAISE EXCEPTION 'A lag allowed is 1 s to 31 days, not %', p_max_lag_seconds USING ERRCODE = 'LG094';
    END IF;
    IF NOT reporting.is_store() THEN
        RAISE EXCEPTION 'Not a reporting store: --reporting-dsn names the ledger itself'
            USING ERRCODE = '55000', HINT = 'Leave out --reporting-dsn where the ledger serves the reports.';
    END IF;
    -- Read as of one snapshot while the apply worker goes on.
    WITH days AS (
        SELECT e.account_id, (e.effective_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n,
               coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) AS debits,
               coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) AS credits
        FROM ledger.entries e GROUP BY 1, 2
    ), day_bad AS (
        SELECT coalesce(x.account_id, d.account_id) AS account_id, coalesce(x.day, d.day) AS day, 'daily totals' AS what
        FROM days x FULL JOIN reporting.daily_totals d ON d.account_id = x.account_id AND d.day = x.day
        WHERE x.n IS DISTINCT FROM d.entries OR x.debits IS DISTINCT FROM d.debits_minor::numeric
           OR x.credits IS DISTINCT FROM d.credits_minor::numeric
    ), total_bad AS (
        SELECT coalesce(x.account_id, t.account_id), NULL::date, 'totals'
        FROM (SELECT s.account_id, sum(s.n) AS n, sum(s.debits - s.credits) AS net FROM days s GROUP BY 1) x
        FULL JOIN reporting.account_totals t ON t.account_id = x.account_id
        WHERE x.n IS DISTINCT FROM t.entries::numeric OR x.net IS DISTINCT FROM t.net_minor::numeric
    ), currency_bad AS (
        SELECT NULL::bigint, coalesce(x.day, c.day), format('%s volumes', coalesce(x.currency, c.currency))
        FROM (SELECT (e.effective_at AT TIME ZONE 'UTC')::date AS day, e.currency, count(*) AS n,
                     coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) AS debits,
                     coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) AS credits
              FROM ledger.entries e GROUP BY 1, 2) x
        FULL JOIN reporting.currency_days c ON c.day = x.day AND c.currency = x.currency
        WHERE x.n IS DISTINCT FROM c.entries OR x.debits IS DISTINCT FROM c.debits_minor::numeric
           OR x.credits IS DISTINCT FROM c.credits_minor::numeric
    ), snapshot_of AS (
        -- Each day up to the last snapshot, with the first snapshot on or after it.
        SELECT g::date AS day, (SELECT min(s.as_of) FROM reporting.snapshot_dates s WHERE s.as_of >= g::date) AS as_of
        FROM generate_series((SELECT min(d.day) FROM days d), (SELECT max(s.as_of) FROM reporting.snapshot_dates s),
                             interval '1 day') g
    ), snapshot_bad AS (
        -- Each snapshot against the one before it plus the entries of the days between (the
        -- first against the entries up to it): one pass over the snapshots and the entries. A
        -- snapshot changed is named, and so is the one after it.
        SELECT coalesce(x.account_id, b.account_id), coalesce(x.as_of, b.as_of), 'balance snapshot'
        FROM (SELECT u.as_of, u.account_id, sum(u.n) AS n, sum(u.net) AS net
              FROM (SELECT s.next_as_of AS as_of, p.account_id, p.entries AS n, p.net_minor AS net
                    FROM (SELECT s.as_of, lead(s.as_of) OVER (ORDER BY s.as_of) AS next_as_of
                          FROM reporting.snapshot_dates s) s
                    JOIN reporting.balance_snapshots p ON p.as_of = s.as_of
                    WHERE s.next_as_of IS NOT NULL
                    UNION ALL
                    SELECT o.as_of, d.account_id, d.n, d.debits - d.credits
                    FROM days d JOIN snapshot_of o ON o.day = d.day) u
              GROUP BY 1, 2) x
        FULL JOIN reporting.balance_snapshots b ON b.as_of = x.as_of AND b.account_id = x.account_id
        WHERE x.n IS DISTINCT FROM b.entries::numeric OR x.net IS DISTINCT FROM b.net_minor::numeric
    ), report_bad AS (
        SELECT coalesce(a.id, r.account_id), NULL::date, 'report rows'
        FROM (SELECT x.id, x.currency::text AS currency, x.code, x.name, x.kind::text AS kind, c.exponent::integer AS exponent
              FROM ledger.accounts x JOIN ledger.currencies c ON c.code = x.currency) a
        FULL JOIN reporting.report_accounts r ON r.account_id = a.id
        WHERE (a.currency, a.code, a.name, a.kind, a.exponent) IS DISTINCT FROM (r.currency, r.code::text, r.name, r.kind, r.exponent)
        UNION ALL
        SELECT o.account_id, NULL::date, 'report numbers'
        FROM (SELECT r.account_id, row_number() OVER (ORDER BY r.ord) AS by_ord,
                     row_number() OVER (ORDER BY r.currency, r.code) AS by_code
              FROM reporting.report_accounts r) o
        WHERE o.by_ord <> o.by_code
        UNION ALL
        SELECT b.account_id, b.as_of, 'report numbers in a snapshot'
        FROM reporting.balance_snapshots b JOIN reporting.report_accounts r ON r.account_id = b.account_id
        WHERE b.ord IS DISTINCT FROM r.ord -- (an account without a report row is named above)
        UNION ALL
        SELECT t.account_id, NULL::date, 'report numbers in the totals'
        FROM reporting.account_totals t JOIN reporting.report_accounts r ON r.account_id = t.account_id
        WHERE t.ord IS DISTINCT FROM r.ord
    ), bad AS (
        SELECT * FROM day_bad UNION ALL SELECT * FROM total_bad UNION ALL SELECT * FROM currency_bad
        UNION ALL SELECT * FROM snapshot_bad UNION ALL SELECT * FROM report_bad
    )
    SELECT count(*),
           (array_agg(format('the store''s %s%s%s do not match its %s', b.what,
                             CASE WHEN b.account_id IS NOT NULL THEN ' of account ' || coalesce(a.code, b.account_id::text) END,
                             CASE WHEN b.day IS NOT NULL THEN ' for ' || b.day END,
                             CASE WHEN b.what LIKE 'report %' THEN 'accounts' ELSE 'entries' END)
                      ORDER BY b.what, b.account_id, b.day))[1]
    INTO v_failures, v_first
    FROM bad b LEFT JOIN ledger.accounts a ON a.id = b.account_id;
    SELECT count(*) INTO v_n FROM reporting.daily_totals;
    res := ('store_aggregates', 'the reporting store''s totals, volumes and snapshots equal its copy of the entries, and its report rows its accounts',
          v_failures = 0, v_n, v_failures, v_first, round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    SELECT s.replicated_at INTO v_heard FROM reporting.store_state() s;
    res := ('store_in_step', format('the reporting store heard from the ledger within the last %s s', p_max_lag_seconds),
          v_heard IS NOT NULL AND v_heard >= clock_timestamp() - make_interval(secs => p_max_lag_seconds), 1, 0,
          NULL, 0);
    IF NOT res.ok THEN
        res.failures := 1;
        res.first_failure := CASE WHEN v_heard IS NULL THEN 'the reporting store has not heard from the ledger (no subscription worker reports)'
                                ELSE format('the reporting store last heard from the ledger at %s, %s s ago',
                                            to_char(v_heard AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
                                            round(extract(epoch FROM clock_timestamp() - v_heard))) END;
    END IF;
    RETURN NEXT res;
END
$$;

-- Numbers every account afresh, 2^32 apart in report order, and the snapshots and totals
-- with them (on bench_reports' store, 9.8M snapshot rows: a minute or two, with the apply
-- worker held off; a gap runs out only after 31 accounts placed into it one inside another).
CREATE OR REPLACE FUNCTION reporting.renumber_report_accounts() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SET CONSTRAINTS reporting.report_accounts_ord_key DEFERRED;
    UPDATE reporting.report_accounts r SET ord = x.n * 4294967296
    FROM (SELECT q.account_id, row_number() OVER (ORDER BY q.currency, q.code) AS n
          FROM reporting.report_accounts q) x
    WHERE x.account_id = r.account_id AND r.ord IS DISTINCT FROM x.n * 4294967296;
    SET CONSTRAINTS reporting.report_accounts_ord_key IMMEDIATE;
    PERFORM reporting.number_store_rows();
END
$$;

-- As in 0058, and the account's totals numbered if its entries arrived first (a new store's
-- initial copy brings the tables in no set order).
CREATE OR REPLACE FUNCTION reporting.place_replicated_account() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_currency text := NEW.currency::text;
    v_code text COLLATE "C" := NEW.code;
    v_lo bigint;
    v_hi bigint;
    v_ord bigint;
BEGIN
    LOOP
        SELECT r.ord INTO v_lo FROM reporting.report_accounts r
        WHERE (r.currency, r.code) < (v_currency, v_code)
        ORDER BY r.currency DESC, r.code DESC LIMIT 1;
        SELECT r.ord INTO v_hi FROM reporting.report_accounts r
        WHERE (r.currency, r.code) > (v_currency, v_code)
        ORDER BY r.currency, r.code LIMIT 1;
        v_ord := CASE WHEN v_lo IS NULL AND v_hi IS NULL THEN 4294967296
                      WHEN v_hi IS NULL THEN v_lo + 4294967296
                      WHEN v_lo IS NULL THEN v_hi - 4294967296
                      WHEN v_hi - v_lo >= 2 THEN v_lo + (v_hi - v_lo) / 2 END;
        EXIT WHEN v_ord IS NOT NULL;
        PERFORM reporting.renumber_report_accounts(); -- the gap ran out
    END LOOP;
    INSERT INTO reporting.report_accounts (account_id, ord, currency, code, name, kind, exponent)
    SELECT NEW.id, v_ord, v_currency, v_code, NEW.name, NEW.kind::text, c.exponent
    FROM ledger.currencies c WHERE c.code = NEW.currency;
    UPDATE reporting.account_totals t SET ord = v_ord WHERE t.account_id = NEW.id AND t.ord IS DISTINCT FROM v_ord;
    RETURN NULL;
END
$$;

-- The snapshots' and totals' report numbers set from report_accounts where they differ.
CREATE FUNCTION reporting.number_store_rows() RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE reporting.balance_snapshots b SET ord = r.ord
    FROM reporting.report_accounts r WHERE r.account_id = b.account_id AND b.ord IS DISTINCT FROM r.ord;
    UPDATE reporting.account_totals t SET ord = r.ord
    FROM reporting.report_accounts r WHERE r.account_id = t.account_id AND t.ord IS DISTINCT FROM r.ord;
$$;
REVOKE EXECUTE ON FUNCTION reporting.number_store_rows(), reporting.snapshot_date_from(date) FROM PUBLIC;

-- As in 0039, with the report number of an account's first totals and snapshot rows.
CREATE OR REPLACE FUNCTION reporting.fold_replicated_entry() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_day date := (NEW.effective_at AT TIME ZONE 'UTC')::date;
    v_ord bigint := (SELECT r.ord FROM reporting.report_accounts r WHERE r.account_id = NEW.account_id);
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
    INSERT INTO reporting.account_totals AS t (account_id, net_minor, entries, ord)
    VALUES (NEW.account_id, NEW.amount, 1, v_ord)
    ON CONFLICT (account_id) DO UPDATE SET net_minor = t.net_minor + excluded.net_minor, entries = t.entries + 1;
    INSERT INTO reporting.balance_snapshots AS b (as_of, account_id, net_minor, entries, ord)
    SELECT s.as_of, NEW.account_id, NEW.amount, 1, v_ord
    FROM reporting.snapshot_dates s WHERE s.as_of >= v_day
    ON CONFLICT (as_of, account_id) DO UPDATE SET net_minor = b.net_minor + excluded.net_minor, entries = b.entries + 1;
    RETURN NULL;
END
$$;

-- As in 0058, the totals numbered.
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
    LOCK TABLE ledger.entries, ledger.accounts IN SHARE MODE;
    LOCK TABLE reporting.daily_totals, reporting.currency_days, reporting.account_totals, reporting.balance_snapshots,
        reporting.snapshot_dates, reporting.report_accounts IN EXCLUSIVE MODE;
    PERFORM reporting.fill_report_accounts();
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
    INSERT INTO reporting.account_totals (account_id, net_minor, entries, ord)
    SELECT t.account_id, t.net, t.n, r.ord
    FROM (SELECT d.account_id, sum(d.debits_minor - d.credits_minor) AS net, sum(d.entries) AS n
          FROM reporting.daily_totals d GROUP BY d.account_id) t
    LEFT JOIN reporting.report_accounts r ON r.account_id = t.account_id;
    RETURN reporting.take_snapshots();
END
$$;

-- The base of a store's balances (as reporting.base_balances, 0058) with each account's
-- report number.
CREATE FUNCTION reporting.numbered_base(p_way text, p_before date, p_after date)
RETURNS TABLE (account_id bigint, ord bigint, net bigint, n bigint)
LANGUAGE sql STABLE
AS $$
    SELECT b.account_id, b.ord, b.net_minor, b.entries
    FROM reporting.balance_snapshots b
    WHERE b.as_of = CASE p_way WHEN 'back' THEN p_after WHEN 'forward' THEN p_before END
    UNION ALL
    SELECT x.account_id, x.ord, x.net_minor, x.entries
    FROM reporting.account_totals x
    WHERE p_way = 'back' AND p_after IS NULL
$$;

-- A report row that is not the account's the store's rows were numbered for (report_accounts
-- renumbered or changed by hand without the snapshots and totals): the report is refused
-- rather than showing one account's balance under another's code.
CREATE FUNCTION reporting.report_number_astray(p_account bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'The reporting store''s report number for account % (id %) is not its report row''s, so its reports would show it wrongly: have its administrator check it (ledgerctl check --reporting-dsn) and rebuild its totals (SELECT reporting.rebuild_totals() as its owner), or run the report on the ledger',
        coalesce((SELECT a.code FROM ledger.accounts a WHERE a.id = p_account), '?'), p_account
        USING ERRCODE = 'LG100';
END
$$;
REVOKE EXECUTE ON FUNCTION reporting.numbered_base(text, date, date), reporting.report_number_astray(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION reporting.trial_balance(p_as_of date, p_known_at timestamptz DEFAULT NULL)
RETURNS TABLE (account_code text, account_name text, kind text, currency text, exponent integer,
               debit_minor bigint, credit_minor bigint, entries bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
SET work_mem = '64MB'
SET enable_nestloop = off -- the aggregate's row count is not known when planned: never a loop per account
SET jit = off
AS $$
DECLARE
    w record;
BEGIN
    PERFORM reporting.check_report_call(NULL, p_as_of);
    w := reporting.balance_way(p_as_of, p_known_at);
    IF w.way = 'entries' THEN
        RETURN QUERY
        SELECT a.code, a.name, a.kind::text, a.currency::text, c.exponent::integer,
               greatest(t.net, 0)::bigint, greatest(-t.net, 0)::bigint, t.n
        FROM reporting.balances_at(p_as_of, p_known_at, w.way, w.before, w.after) t
        JOIN ledger.accounts a ON a.id = t.account_id
        JOIN ledger.currencies c ON c.code = a.currency
        ORDER BY a.currency, a.code COLLATE "C"; -- codes are ASCII (0002): byte order
    ELSE
        -- The base's rows carry their report numbers; an account moved since the base and
        -- not in it (opened since) has its number looked up, one index probe each. The
        -- balances, narrow, are sorted on the number and joined in that order with the
        -- report rows (a merge on the ord index). An account with no number or no report
        -- row, or whose number is another account's report row, is refused (LG100) in the
        -- select list: never left out or shown under another code. bench_reports: 72-117 ms (0039's way 159-303 ms).
        RETURN QUERY
        SELECT r.code::text, r.name, r.kind, r.currency, r.exponent,
               greatest(t.net, 0)::bigint, greatest(-t.net, 0)::bigint,
               CASE WHEN r.account_id IS NULL THEN reporting.report_row_missing(t.account_id)
                    WHEN r.account_id <> t.account_id THEN reporting.report_number_astray(t.account_id)
                    ELSE t.n END
        FROM (SELECT coalesce(s.ord, (SELECT o.ord FROM reporting.report_accounts o
                                      WHERE o.account_id = coalesce(s.account_id, a.account_id))) AS ord,
                     coalesce(s.account_id, a.account_id) AS account_id,
                     coalesce(s.net, 0) + coalesce(a.net, 0) AS net, coalesce(s.n, 0) + coalesce(a.n, 0) AS n
              FROM reporting.numbered_base(w.way, w.before, w.after) s
              FULL JOIN reporting.day_movements(p_as_of, w.way, w.before, w.after) a ON a.account_id = s.account_id
              WHERE coalesce(s.n, 0) + coalesce(a.n, 0) > 0
              ORDER BY 1) t
        LEFT JOIN reporting.report_accounts r ON r.ord = t.ord
        ORDER BY t.ord;
    END IF;
END
$$;

-- A store migrated from before: its snapshots and totals numbered.
DO $number$
BEGIN
    IF reporting.is_store() THEN
        LOCK TABLE reporting.account_totals, reporting.balance_snapshots IN EXCLUSIVE MODE;
        PERFORM reporting.number_store_rows();
    END IF;
END
$number$;
