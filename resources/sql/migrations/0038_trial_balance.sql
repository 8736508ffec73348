-- Step 11, third part: the first report, a trial balance, and the record of every report run.
--
-- reporting.trial_balance(as_of, known_at): every account's balance at the end of the UTC day
-- as_of (effective time), as the ledger knew it at known_at (NULL: now), in the debit column
-- (positive balances: money on the debit side) or the credit column. Per currency the debits
-- equal the credits, or the ledger is broken: the caller shows and checks the totals.
--   - On a reporting store (0036's fold trigger enabled there) without known_at it sums the
--     daily totals the apply worker keeps: it never reads an entry.
--   - With known_at, or in a ledger database (where no store is configured the ledger serves
--     reports), it sums the entries themselves, effective_at before the next UTC midnight and
--     recorded_at at or before known_at.
-- reporting.store_state(): whether this database is a reporting store, and how far its
-- subscription has applied the ledger (the commit time of the last change received).
--
-- ledger.record_report(name, params): the report run on the ledger's audit chain (action
-- report.run, with its parameters), over the ledger connection, before the report is run
-- wherever it runs. In the ledger database the report reads the ledger's content and is
-- gated like every read of it (0032): record_report also writes the session's read mark
-- of kind ledger_content, and trial_balance refuses (LG090) without a committed one.
-- A reporting store cannot see the ledger's marks: there the report is not gated, and a
-- client that skips record_report is not on the ledger's record (left open: see the README).
SET LOCAL ROLE ledger_owner;

CREATE FUNCTION reporting.is_store() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT t.tgenabled IN ('A', 'O', 'R') FROM pg_catalog.pg_trigger t
                     WHERE t.tgrelid = 'ledger.entries'::regclass AND t.tgname = 'entries_fold_on_replica'), false)
$$;

CREATE FUNCTION reporting.store_state(OUT is_store boolean, OUT replicated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT reporting.is_store(),
           (SELECT max(s.latest_end_time) FROM pg_catalog.pg_stat_subscription s
            JOIN pg_catalog.pg_subscription p ON p.oid = s.subid
            WHERE p.subname = 'ledger_reporting' AND s.relid IS NULL)
$$;

CREATE FUNCTION reporting.trial_balance(p_as_of date, p_known_at timestamptz DEFAULT NULL)
RETURNS TABLE (account_code text, account_name text, kind text, currency text, exponent integer,
               debit_minor bigint, credit_minor bigint, entries bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_end timestamptz;
BEGIN
    PERFORM access.check_session();
    IF p_as_of IS NULL OR p_as_of < date '1900-01-01' OR p_as_of > date '9999-01-01' THEN
        RAISE EXCEPTION 'A trial balance needs a date (as of the end of that UTC day)' USING ERRCODE = '22023';
    END IF;
    IF NOT reporting.is_store() THEN
        PERFORM ledger.require_read('ledger_content', '');
    END IF;
    v_end := (p_as_of + 1)::timestamp AT TIME ZONE 'UTC';
    IF p_known_at IS NULL AND reporting.is_store() THEN
        RETURN QUERY
        SELECT a.code, a.name, a.kind::text, a.currency::text, c.exponent::integer,
               greatest(t.net, 0)::bigint, greatest(-t.net, 0)::bigint, t.n::bigint
        FROM (SELECT d.account_id, sum(d.debits_minor - d.credits_minor) AS net, sum(d.entries) AS n
              FROM reporting.daily_totals d WHERE d.day <= p_as_of GROUP BY d.account_id) t
        JOIN ledger.accounts a ON a.id = t.account_id
        JOIN ledger.currencies c ON c.code = a.currency
        ORDER BY a.currency, a.code;
    ELSE
        RETURN QUERY
        SELECT a.code, a.name, a.kind::text, a.currency::text, c.exponent::integer,
               greatest(t.net, 0)::bigint, greatest(-t.net, 0)::bigint, t.n::bigint
        FROM (SELECT e.account_id, sum(e.amount) AS net, count(*) AS n
              FROM ledger.entries e
              WHERE e.effective_at < v_end AND (p_known_at IS NULL OR e.recorded_at <= p_known_at)
              GROUP BY e.account_id) t
        JOIN ledger.accounts a ON a.id = t.account_id
        JOIN ledger.currencies c ON c.code = a.currency
        ORDER BY a.currency, a.code;
    END IF;
END
$$;

CREATE FUNCTION ledger.record_report(p_name text, p_params jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_event bigint;
BEGIN
    PERFORM access.check_session();
    IF p_name IS NULL OR p_name NOT IN ('trial_balance') THEN
        RAISE EXCEPTION 'No report named "%"', left(coalesce(p_name, 'null'), 60)
            USING ERRCODE = '22023', HINT = 'Reports: trial_balance.';
    END IF;
    IF p_params IS NULL OR jsonb_typeof(p_params) <> 'object' OR length(p_params::text) > 2000 THEN
        RAISE EXCEPTION 'A report''s parameters are a JSON object of at most 2000 characters' USING ERRCODE = '22023';
    END IF;
    PERFORM ledger.record_read('ledger_content', '');
    v_event := audit.record('report.run', 'report', p_name, jsonb_build_object('params', p_params));
    RETURN v_event;
END
$$;

REVOKE EXECUTE ON FUNCTION reporting.is_store(), reporting.store_state(), reporting.trial_balance(date, timestamptz),
    ledger.record_report(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.store_state(), reporting.trial_balance(date, timestamptz),
    ledger.record_report(text, jsonb)
    TO console_operator, console_supervisor, console_auditor, console_compliance;
