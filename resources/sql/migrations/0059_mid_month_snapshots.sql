-- Step 11: the reporting store's balance snapshots on the 15th of each month as well as at
-- its end, so that a trial balance reads at most about a week of daily totals.
--
-- With month-end snapshots only (0039), a date in mid-month reads up to half a month of
-- daily totals: in bench_reports (10M entries, 100,000 accounts) about 100,000 rows into
-- 76,000 accounts, aggregated and joined with the snapshot's 100,000. That half is what kept
-- 0058's trial balance at 200-210 ms on such dates, against 144-162 ms at a month end. On a
-- scratch copy of that store, the 15th as a snapshot took the mid-month dates from 206-209
-- ms to 136-154 ms. In bench_reports the dates farthest from a snapshot now (7-8 days) take
-- 183-200 ms, and 164-169 ms where the server keeps the memory its backends free (see the
-- README's Scaling section): about 40 MB per report that glibc otherwise hands back to the
-- kernel at the end of each query, to be faulted in again by the next.
--
-- The cost is storage, and work for a late entry:
--   - twice the snapshots: one row per account with entries by then, per snapshot (0.47 to
--     0.94 GB per 10M entries on 100,000 accounts in bench_reports);
--   - an entry that arrives late for a day the snapshots cover is added to every snapshot on
--     or after its day (0039): two per month back instead of one. Entries for today or
--     yesterday touch no snapshot.
--
-- A store migrated from before takes the missing mid-month snapshots at its next
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
            INSERT INTO reporting.balance_snapshots (as_of, account_id, net_minor, entries)
            SELECT v_date, t.account_id, sum(t.net), sum(t.n)
            FROM (SELECT b.account_id, b.net_minor AS net, b.entries AS n
                  FROM reporting.balance_snapshots b WHERE b.as_of = v_prev
                  UNION ALL
                  SELECT d.account_id, d.debits_minor - d.credits_minor, d.entries
                  FROM reporting.daily_totals d
                  WHERE d.day <= v_date AND (v_prev IS NULL OR d.day > v_prev)) t
            GROUP BY t.account_id;
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

-- As in 0058, but each snapshot is checked against the one before it and the days between.
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
