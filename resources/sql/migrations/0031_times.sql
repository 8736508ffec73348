-- Step 10: a time means one instant, and "as known at K" means "committed by K".
--
-- 1. Times need their offset. A posting's effective_at was cast with ::timestamptz, which
--    reads "2026-11-20 10:00" in the session's TimeZone and accepts words ('now', 'today',
--    'epoch', 'infinity'): a retry from a client in another zone posted another instant, and
--    its fingerprint no longer matched the first attempt's (LG011). Now only ISO 8601 with a
--    date, a time and Z or a numeric offset is a time (ledger.parse_instant); anything else
--    is refused with a hint that says how to write it. The same rule holds for batches and
--    ingested events (ledger.try_timestamptz) and for reversals' corrected postings (they go
--    through ledger.normalize_request too). Functions that take a timestamptz parameter get
--    it typed by the client: ledgerctl and the console send UTC with its offset.
--
-- 2. The known-at horizon. A posting takes recorded_at under its accounts' locks, before it
--    commits, so an entry can become visible after its recorded_at: "balance as known at K"
--    asked before such a commit and again after it gave two answers. Every recorded_at a
--    posting still in progress will make visible is at or after the start of its
--    transaction, and one that has not begun writing takes its recorded_at from the clock
--    later on. So ledger.known_at_horizon() = the least of the clock and the start of every
--    transaction that is writing in this database: an answer as known at K < horizon is
--    final (no commit can change it any more); at or above it the console says "not final
--    yet". (Seeds write historic recorded_at under exclusive table locks, demo data only.)
SET LOCAL ROLE ledger_owner;

-- ISO 8601 with its offset: date, 'T' or a space, hours and minutes, optional seconds and
-- up to six decimals, then Z or +HH, +HHMM, +HH:MM. NULL for anything else (a time without
-- an offset, words, zone names, out-of-range fields).
CREATE FUNCTION ledger.parse_instant(p_text text) RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_text IS NULL
       OR p_text !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
        RETURN NULL;
    END IF;
    RETURN p_text::timestamptz;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;

-- Batches and ingested events (0017): the same rule; NULL is reported per item as LG017.
CREATE OR REPLACE FUNCTION ledger.try_timestamptz(p_text text) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ledger.parse_instant(p_text) $$;

CREATE OR REPLACE FUNCTION ledger.normalize_request(p_request jsonb) RETURNS ledger.normalized_request
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r ledger.normalized_request;
    v_leg jsonb;
    v_n int := 0;
    v_code text;
    v_currency text;
    v_account record;
    v_amount bigint;
    v_legs jsonb := '[]'::jsonb;
    v_text text;
BEGIN
    IF p_request IS NULL OR jsonb_typeof(p_request) <> 'object' THEN
        RAISE EXCEPTION 'A transaction must be a JSON object with effective_at, description and legs'
            USING ERRCODE = 'LG017';
    END IF;
    v_text := p_request->>'effective_at';
    IF v_text IS NULL THEN
        RAISE EXCEPTION 'effective_at is missing: give the business time, e.g. "2026-11-20T15:00:00Z"'
            USING ERRCODE = 'LG017';
    END IF;
    r.effective_at := ledger.parse_instant(v_text);
    IF r.effective_at IS NULL THEN
        -- The batch path's message (0017), word for word; the hint says more.
        RAISE EXCEPTION 'effective_at "%" is not a time like "2026-11-20T15:00:00Z"', v_text
            USING ERRCODE = 'LG017',
                  HINT = 'A time needs its UTC offset: Z, or one like +01:00 as in "2026-11-20T16:00:00+01:00". Words such as now or today are not times.';
    END IF;
    IF r.effective_at NOT BETWEEN timestamptz '1900-01-01 00:00Z' AND timestamptz '2200-01-01 00:00Z' THEN
        RAISE EXCEPTION 'effective_at % is outside the years 1900 to 2199', v_text USING ERRCODE = 'LG017';
    END IF;
    r.description := coalesce(p_request->>'description', '');
    IF length(r.description) > 500 THEN
        RAISE EXCEPTION 'description is longer than 500 characters' USING ERRCODE = 'LG017';
    END IF;
    r.external_ref := p_request->>'external_ref';
    IF jsonb_typeof(p_request->'legs') IS DISTINCT FROM 'array' OR jsonb_array_length(p_request->'legs') < 2 THEN
        RAISE EXCEPTION 'legs must be an array of at least two legs ({"account", "amount", "currency"})'
            USING ERRCODE = 'LG017';
    END IF;
    IF jsonb_array_length(p_request->'legs') > 100 THEN
        RAISE EXCEPTION 'A transaction has at most 100 legs' USING ERRCODE = 'LG017';
    END IF;
    r.account_ids := '{}'; r.amounts := '{}'; r.currencies := '{}';
    FOR v_leg IN SELECT value FROM jsonb_array_elements(p_request->'legs')
    LOOP
        v_n := v_n + 1;
        v_code := v_leg->>'account';
        v_currency := upper(v_leg->>'currency');
        IF v_code IS NULL OR v_currency IS NULL OR v_leg->'amount' IS NULL THEN
            RAISE EXCEPTION 'Leg % needs account, amount and currency', v_n USING ERRCODE = 'LG017';
        END IF;
        SELECT a.id, a.currency INTO v_account FROM ledger.accounts a WHERE a.code = v_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Leg %: no account with code "%"', v_n, v_code USING ERRCODE = 'LG018';
        END IF;
        IF v_account.currency <> v_currency THEN
            RAISE EXCEPTION 'Leg %: account % holds %, not %', v_n, v_code, v_account.currency, v_currency
                USING ERRCODE = 'LG015';
        END IF;
        v_amount := ledger.to_minor(v_leg->>'amount', v_currency);
        IF v_amount = 0 THEN
            RAISE EXCEPTION 'Leg %: amount is zero', v_n USING ERRCODE = 'LG012';
        END IF;
        r.account_ids := r.account_ids || v_account.id;
        r.amounts := r.amounts || v_amount;
        r.currencies := r.currencies || v_currency;
        v_legs := v_legs || jsonb_build_object('account', v_code, 'minor', v_amount, 'currency', v_currency);
    END LOOP;
    -- Balanced per currency before anything is written (the trigger checks again).
    PERFORM 1 FROM unnest(r.amounts, r.currencies) AS l(amount, currency)
    GROUP BY l.currency HAVING sum(l.amount) <> 0;
    IF FOUND THEN
        RAISE EXCEPTION 'The legs do not balance: per currency, debits (positive) must equal credits (negative)'
            USING ERRCODE = 'LG016';
    END IF;
    r.canonical := jsonb_build_object(
        'effective_at', to_char(r.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'description', r.description,
        'external_ref', r.external_ref,
        'legs', v_legs);
    RETURN r;
END
$$;


-------------------------------------------------------------------------------------------
-- The known-at horizon.
-------------------------------------------------------------------------------------------
RESET ROLE;

-- The start of the oldest transaction of this database that holds a transaction id (has
-- written or locked something), other than the caller's; NULL when there is none. Owned
-- by ledger_session_control, which reads every backend's state (pg_read_all_stats).
CREATE FUNCTION ledger_priv.oldest_writing_transaction_start() RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_stat_clear_snapshot(); -- the activity as it is now, not as first read
    RETURN (SELECT min(a.xact_start) FROM pg_catalog.pg_stat_activity a
            WHERE a.datname = pg_catalog.current_database() AND a.backend_xid IS NOT NULL
              AND a.pid <> pg_catalog.pg_backend_pid());
END
$$;
ALTER FUNCTION ledger_priv.oldest_writing_transaction_start() OWNER TO ledger_session_control;
REVOKE EXECUTE ON FUNCTION ledger_priv.oldest_writing_transaction_start() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_priv.oldest_writing_transaction_start() TO ledger_owner;

SET LOCAL ROLE ledger_owner;

-- Known-at answers below this instant are final. The clock is read first: a transaction
-- that starts writing after the activity was read takes its recorded_at later still.
CREATE FUNCTION ledger.known_at_horizon() RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
BEGIN
    PERFORM access.check_session();
    RETURN least(v_now, ledger_priv.oldest_writing_transaction_start());
END
$$;

REVOKE EXECUTE ON FUNCTION ledger.parse_instant(text), ledger.known_at_horizon() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.known_at_horizon()
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;
