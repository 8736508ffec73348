-- Step 6, bounded input.
--
-- A console or writer login could store or echo arguments of any size: 30 MB rebooks, 10 MB
-- client information and 5 MB verification records were accepted (fixed in 0020, 0021,
-- 0023), and error messages echoed whatever text they were given ("No account with code
-- <100 MB>"). Every text and jsonb argument a console, broker or writer role can pass is
-- now bounded before it is used or echoed, and an echo is cut short:
--   post_transaction, ingest_event    256 kB of JSON per request
--   post_batch, ingest_events         64 MiB of JSON per batch (and 100,000 items, as before)
--   account codes (balance, open_account, open_account_history)   64 characters
--   account names                     200 characters, no control characters
--   timeline order, amounts, search   16, 40 and 200 characters
--   lock_accounts                     10,000 codes
--   verify_chain's checkpoint hash    32 bytes
-- Where a function is large (and does not name itself in its body), it is renamed
-- *_unbounded (owner only) and wrapped by a function of the old name and grants that checks
-- first.
SET LOCAL ROLE ledger_owner;

-- One text argument: NULL passes (the function's own rules decide), longer than p_max is
-- refused with the given SQLSTATE and the argument's name, never its value.
CREATE FUNCTION ledger.check_length(p_value text, p_max integer, p_name text, p_sqlstate text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF length(p_value) > p_max THEN
        RAISE EXCEPTION '% is longer than % characters', p_name, p_max USING ERRCODE = p_sqlstate;
    END IF;
END
$$;

CREATE FUNCTION ledger.max_request_bytes() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 262144 $$;
CREATE FUNCTION ledger.max_batch_bytes() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 64 * 1024 * 1024 $$;

-------------------------------------------------------------------------------------------
-- Writers.
-------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger.post_transaction(p_request jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_result record;
BEGIN
    IF pg_column_size(p_request) > ledger.max_request_bytes() THEN
        RAISE EXCEPTION 'A transaction request is at most % bytes of JSON', ledger.max_request_bytes() USING ERRCODE = 'LG017';
    END IF;
    SELECT * INTO v_result
    FROM ledger.post_normalized(p_request->>'idempotency_key', ledger.normalize_request(p_request), 'posting', NULL);
    RETURN v_result.transaction_id;
END
$$;

ALTER FUNCTION ledger.ingest_event(jsonb, text) RENAME TO ingest_event_unbounded;
REVOKE EXECUTE ON FUNCTION ledger.ingest_event_unbounded(jsonb, text) FROM ledger_writer;
CREATE FUNCTION ledger.ingest_event(p_event jsonb, p_contra_template text DEFAULT '1000-CASH-{currency}',
                                    OUT transaction_id bigint, OUT duplicate boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    IF pg_column_size(p_event) > ledger.max_request_bytes() THEN
        RAISE EXCEPTION 'An event is at most % bytes of JSON', ledger.max_request_bytes() USING ERRCODE = 'LG017';
    END IF;
    PERFORM ledger.check_length(p_contra_template, 64, 'The contra account template', 'LG017');
    SELECT e.transaction_id, e.duplicate INTO transaction_id, duplicate
    FROM ledger.ingest_event_unbounded(p_event, p_contra_template) e;
END
$$;

CREATE OR REPLACE FUNCTION ledger.check_batch(p_batch jsonb, p_not_an_array text, p_items text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    PERFORM access.check_session();
    IF jsonb_typeof(p_batch) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION '%', p_not_an_array USING ERRCODE = 'LG017';
    END IF;
    IF jsonb_array_length(p_batch) > ledger.max_batch_items() THEN
        RAISE EXCEPTION 'A batch has at most % % (this one has %)', ledger.max_batch_items(), p_items,
            jsonb_array_length(p_batch) USING ERRCODE = 'LG017';
    END IF;
    IF pg_column_size(p_batch) > ledger.max_batch_bytes() THEN
        RAISE EXCEPTION 'A batch is at most % MiB of JSON; split it', ledger.max_batch_bytes() / 1048576
            USING ERRCODE = 'LG017';
    END IF;
END
$$;

-- ingest_events' contra template, like the single path's.
ALTER FUNCTION ledger.ingest_events(jsonb, text) RENAME TO ingest_events_unbounded;
REVOKE EXECUTE ON FUNCTION ledger.ingest_events_unbounded(jsonb, text) FROM ledger_writer;
CREATE FUNCTION ledger.ingest_events(p_events jsonb, p_contra_template text DEFAULT '1000-CASH-{currency}')
RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    PERFORM ledger.check_length(p_contra_template, 64, 'The contra account template', 'LG017');
    RETURN QUERY SELECT * FROM ledger.ingest_events_unbounded(p_events, p_contra_template);
END
$$;

CREATE OR REPLACE FUNCTION ledger.lock_accounts(p_codes text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_locked integer;
BEGIN
    IF cardinality(p_codes) > 10000 THEN
        RAISE EXCEPTION 'At most 10000 accounts are locked at once' USING ERRCODE = 'LG017';
    END IF;
    -- Unknown codes are ignored here: the postings themselves report them.
    SELECT count(*) INTO v_locked FROM (
        SELECT 1 FROM ledger.account_heads h
        WHERE h.account_id IN (SELECT a.id FROM ledger.accounts a WHERE a.code = ANY (p_codes))
        ORDER BY h.account_id
        FOR UPDATE) locked;
    RETURN v_locked;
END
$$;

ALTER FUNCTION ledger.open_account(text, text, text, text, boolean) RENAME TO open_account_unbounded;
REVOKE EXECUTE ON FUNCTION ledger.open_account_unbounded(text, text, text, text, boolean) FROM ledger_writer;
CREATE FUNCTION ledger.open_account(p_code text, p_name text, p_currency text, p_kind text,
                                    p_allow_negative boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    PERFORM ledger.check_length(p_code, 64, 'The account code', 'LG002');
    PERFORM ledger.check_length(p_name, 400, 'The account name', 'LG002');
    PERFORM ledger.check_length(p_currency, 3, 'The currency', 'LG003');
    PERFORM ledger.check_length(p_kind, 16, 'The account kind', 'LG002');
    IF ledger.has_control_characters(p_name) THEN
        RAISE EXCEPTION 'The account name contains control characters' USING ERRCODE = 'LG002';
    END IF;
    RETURN ledger.open_account_unbounded(p_code, p_name, p_currency, p_kind, p_allow_negative);
END
$$;

-------------------------------------------------------------------------------------------
-- The console.
-------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger.balance(p_account text, p_effective timestamptz DEFAULT NULL,
                                          p_known_at timestamptz DEFAULT NULL,
                                          OUT account text, OUT currency text, OUT amount text, OUT minor_units bigint,
                                          OUT effective_at timestamptz, OUT known_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_length(p_account, 64, 'The account code', 'LG018');
    SELECT * INTO account, currency, amount, minor_units, effective_at, known_at
    FROM ledger.balance_unchecked(p_account, p_effective, p_known_at);
    PERFORM audit.record('balance.asked', 'account', account,
                         jsonb_build_object('effective_at', effective_at, 'known_at', known_at,
                                            'effective_given', p_effective IS NOT NULL,
                                            'known_at_given', p_known_at IS NOT NULL));
END
$$;

CREATE OR REPLACE FUNCTION ledger.check_timeline_order(p_order text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_order IS NULL OR p_order NOT IN ('effective', 'recorded') THEN
        RAISE EXCEPTION 'Timeline order must be "effective" or "recorded", not "%"', left(coalesce(p_order, 'null'), 16)
            USING ERRCODE = 'LG070';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION ledger.open_account_history(p_account text,
                                                       OUT account_id bigint, OUT code text, OUT name text,
                                                       OUT currency text, OUT exponent smallint, OUT kind text,
                                                       OUT normal_side text, OUT allow_negative boolean,
                                                       OUT entry_count bigint, OUT balance text,
                                                       OUT first_effective_at timestamptz, OUT last_effective_at timestamptz,
                                                       OUT first_recorded_at timestamptz, OUT last_recorded_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET jit = off
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_length(p_account, 64, 'The account code', 'LG018');
    SELECT a.id, a.code, a.name, a.currency, c.exponent, a.kind::text, a.normal_side::text, a.allow_negative,
           h.last_seq,
           ledger.format_minor(CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END, c.exponent)
    INTO account_id, code, name, currency, exponent, kind, normal_side, allow_negative, entry_count, balance
    FROM ledger.accounts a
    JOIN ledger.account_heads h ON h.account_id = a.id
    JOIN ledger.currencies c ON c.code = a.currency
    WHERE a.code = p_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No account with code "%"', p_account USING ERRCODE = 'LG018';
    END IF;
    SELECT min(e.effective_at), max(e.effective_at) INTO first_effective_at, last_effective_at
    FROM ledger.entries e WHERE e.account_id = open_account_history.account_id;
    SELECT min(e.recorded_at), max(e.recorded_at) INTO first_recorded_at, last_recorded_at
    FROM ledger.entries e WHERE e.account_id = open_account_history.account_id;
    PERFORM audit.record('account.history_opened', 'account', code,
                         jsonb_build_object('id', account_id, 'entries', entry_count));
END
$$;

ALTER FUNCTION ledger.timeline_search(bigint, text, bigint, integer, timestamptz, timestamptz, text, text, text)
    RENAME TO timeline_search_unbounded;
REVOKE EXECUTE ON FUNCTION ledger.timeline_search_unbounded(bigint, text, bigint, integer, timestamptz, timestamptz, text, text, text)
    FROM console_operator, console_supervisor, console_auditor, console_compliance;
CREATE FUNCTION ledger.timeline_search(p_account_id bigint, p_order text, p_after_seq bigint, p_limit integer,
                                       p_from timestamptz DEFAULT NULL, p_to timestamptz DEFAULT NULL,
                                       p_min text DEFAULT NULL, p_max text DEFAULT NULL, p_text text DEFAULT NULL)
RETURNS SETOF ledger.timeline_row
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET jit = off
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_timeline_order(p_order);
    PERFORM ledger.check_length(p_min, 40, 'The smallest amount', 'LG012');
    PERFORM ledger.check_length(p_max, 40, 'The largest amount', 'LG012');
    PERFORM ledger.check_length(p_text, 200, 'The search text', 'LG071');
    RETURN QUERY SELECT * FROM ledger.timeline_search_unbounded(p_account_id, p_order, p_after_seq, p_limit,
                                                               p_from, p_to, p_min, p_max, p_text);
END
$$;

CREATE OR REPLACE FUNCTION audit.verify_chain(p_checkpoint_seq bigint DEFAULT NULL, p_checkpoint_hash bytea DEFAULT NULL)
RETURNS audit.verification
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
AS $$
DECLARE
    v audit.verification;
BEGIN
    PERFORM access.check_session();
    IF p_checkpoint_hash IS NOT NULL AND octet_length(p_checkpoint_hash) <> 32 THEN
        RAISE EXCEPTION 'A checkpoint hash is 32 bytes (SHA-256)' USING ERRCODE = 'LG051';
    END IF;
    v := audit.verify_chain_unrecorded(p_checkpoint_seq, p_checkpoint_hash);
    PERFORM audit.record('audit.verified', 'audit_chain', NULL,
                         jsonb_strip_nulls(jsonb_build_object(
                             'verifier', 'sql', 'verified_through', v.verified_through, 'broken_at', v.broken_at,
                             'reason', v.reason, 'events_checked', v.events_checked,
                             'checkpoint_seq', p_checkpoint_seq)));
    RETURN v;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger, audit FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.ingest_event(jsonb, text), ledger.ingest_events(jsonb, text),
                          ledger.open_account(text, text, text, text, boolean)
    TO ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.timeline_search(bigint, text, bigint, integer, timestamptz, timestamptz, text, text, text)
    TO console_operator, console_supervisor, console_auditor, console_compliance;
