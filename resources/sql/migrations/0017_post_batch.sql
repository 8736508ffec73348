-- Set-based batch posting: many transactions in one call, one database transaction, with
-- one multi-row insert per table, each account head updated once, and accounts locked once,
-- in id order. Every rule of the single path (ledger.post_normalized, 0004) holds for every
-- item, and the outcome is the one posting the items one by one, in order, would give:
--
--   ledger.post_batch(requests jsonb)            an array of ledger.post_transaction requests
--   ledger.ingest_events(events jsonb, contra)   an array of ledger.ingest_event events
--     RETURNS TABLE (ordinal, transaction_id, outcome, error_code, message)
--
-- One row per item (ordinal = 1-based position in the array):
--   'posted'     written now; transaction_id is the new transaction
--   'duplicate'  its idempotency key was posted before (or earlier in this batch) with the
--                same request: transaction_id is that transaction, nothing written
--   'rejected'   refused with the single path's SQLSTATE (LG010-LG020) and message; nothing
--                of it is written, and the later items see the ledger without it
-- A refused item does not fail the batch: an ingest pipeline must not be held up by one bad
-- event, and must learn which ones to set aside. A caller that wants all or nothing runs the
-- call in its own transaction and rolls back when any row says 'rejected' (ledgerctl ingest
-- --all-or-nothing does). Errors that are not an item's fault (not an array, too many items,
-- lost connection, a serialization failure) fail the whole call and write nothing.
--
-- How the single path's rules carry over:
--  * validation (currencies, exponents, range, balance per currency, fields, key length):
--    one statement over all items, the same checks in the same order as
--    ledger.normalize_request, the first failure per item reported with the same message;
--  * idempotency: the request fingerprint is the single path's (kind, reverses, canonical
--    request), so a key posted by either path is recognised by both. Keys are not locked
--    one by one (pg_advisory_xact_lock per key would fill the shared lock table with
--    thousands of locks per batch); the unique index on idempotency_key arbitrates instead:
--    keys posted before the account locks are read after them, and a key another
--    transaction commits in the meantime makes the transactions' insert (ON CONFLICT DO
--    NOTHING, in key order so that two batches never wait on each other in a cycle) come
--    up short; the batch then rolls back that insert and decides again (see LG019 below).
--    post_normalized is redefined here so that the single path, which checks a key under
--    its advisory lock, also returns the original (or LG011) instead of failing on the
--    unique index when a batch posted the key after its check;
--  * accounts: all heads of the batch locked in one statement in id order (no deadlock with
--    single postings or other batches, which lock in the same order);
--  * recorded_at: one time for the whole batch (it commits at once), taken after the locks
--    and never before any of its accounts' last entry, as the single path does per posting;
--  * sequence numbers and running balances per account: window functions in item order,
--    then leg order (the single path's order when posting one by one);
--  * no negative balance: the balance after each item on each of its no-negative accounts,
--    in item order. Without a violation (the usual case) that is one window query; with
--    one, the items are decided one by one in order (a refused item changes the balances
--    the later ones see), which is exactly the sequential outcome;
--  * one 'transaction.posted' audit event per posted item with the single path's content
--    (audit.record_batch: one insert, same operator, session role, details, client info),
--    sealed into the hash chain at commit like any other.
--
-- LG019 is internal: "a concurrent posting took one of this batch's keys; decide again". It
-- never leaves the function; after five rounds the batch fails with 40001 (retry it).
SET LOCAL ROLE ledger_owner;

-- Largest batch one call takes (ledgerctl ingest --batch-size has the same bound).
CREATE FUNCTION ledger.max_batch_items() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 100000 $$;

-- text -> timestamptz, NULL where the text is no time (the single path catches the same
-- errors from its cast and reports LG017; here one bad item must not fail the statement).
-- STABLE: the result depends on the session's TimeZone, as the single path's cast does.
CREATE FUNCTION ledger.try_timestamptz(p_text text) RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
BEGIN
    RETURN p_text::timestamptz;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;

-- One item as the wrappers hand it to the core: its key and request, or an error found
-- before (an event that is no event).
CREATE TYPE ledger.batch_input AS (
    ord         integer,
    idem_key    text,
    request     jsonb,
    err_state   text,
    err_message text
);

-- One item validated and normalised (err_state NULL) or refused (err_state, err_message).
CREATE TYPE ledger.batch_item AS (
    ord          integer,
    idem_key     text,
    request_hash bytea,
    effective_at timestamptz,
    description  text,
    external_ref text,
    account_ids  bigint[],
    amounts      bigint[],
    currencies   text[],
    err_state    text,
    err_message  text
);

-- audit.record() for many events of one action at once: one insert, the same operator,
-- session role and client info for all, ids (and so chain order) in array order.
CREATE FUNCTION audit.record_batch(p_action text, p_object_type text, p_object_ids text[], p_details jsonb[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
DECLARE
    v_operator text := audit.current_operator();
    v_client jsonb := jsonb_strip_nulls(jsonb_build_object(
                          'application', nullif(current_setting('application_name', true), ''),
                          'address', host(inet_client_addr()),
                          'backend_pid', pg_backend_pid()));
BEGIN
    INSERT INTO audit.events (operator, session_role, action, object_type, object_id, details, client_info)
    SELECT v_operator, session_user, p_action, p_object_type, o.object_id, coalesce(o.details, '{}'::jsonb), v_client
    FROM unnest(p_object_ids, p_details) WITH ORDINALITY AS o(object_id, details, n)
    ORDER BY o.n;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.record_batch(text, text, text[], jsonb[]) FROM PUBLIC;

-------------------------------------------------------------------------------------------
-- The core (owner only): validates, decides and writes a batch of items of one kind.
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.post_batch_items(p_items ledger.batch_input[], p_kind text)
RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    v_n integer := coalesce(cardinality(p_items), 0);
    v_items ledger.batch_item[];
    -- By ordinal. Arrays without NULLs where SQL subscripts them per row (O(1) access).
    v_invalid boolean[];     -- refused by validation
    v_decided boolean[];     -- outcome fixed before the no-negative decision
    v_primary_of integer[];  -- the item that posts under this item's key (itself when it posts), 0 = none
    v_outcome text[];
    v_state text[];
    v_msg text[];
    v_tx bigint[];
    v_accepted integer[];    -- ordinals that post, ascending
    v_ids bigint[];          -- their transaction ids, same order
    v_nacc integer;
    v_recorded timestamptz;
    v_last_recorded timestamptz; -- latest recorded time of the locked accounts
    v_operator text := audit.current_operator();
    v_seq regclass := pg_get_serial_sequence('ledger.transactions', 'id')::regclass;
    v_inserted integer;
    v_round integer := 0;
    v_retry boolean;
    v_violation boolean;
    -- the one-by-one decision
    v_nn_id bigint[];
    v_nn_bal bigint[];
    v_nn_debit boolean[];
    v_nn_code text[];
    v_nn_cur text[];
    v_key_posted integer[];
    v_bad integer;
    v_after bigint;
    r record;
    j integer;
BEGIN
    IF v_n = 0 THEN
        RETURN;
    END IF;

    -- 1. Validate and normalise every item (ledger.normalize_request's checks, in its order,
    --    then the key's), and fingerprint the valid ones as post_normalized does.
    -- MATERIALIZED: each CTE's columns are computed once (an inlined CTE repeats its
    -- expressions, regular expressions and time parsing included, at every reference).
    WITH req AS MATERIALIZED (
        SELECT i.ord, i.idem_key, i.request AS r, i.err_state AS pre_state, i.err_message AS pre_message,
               i.request->>'effective_at' AS eff_text,
               CASE WHEN jsonb_typeof(i.request) = 'object' AND i.err_state IS NULL
                    THEN ledger.try_timestamptz(i.request->>'effective_at') END AS eff,
               coalesce(i.request->>'description', '') AS descr,
               i.request->>'external_ref' AS ext,
               CASE WHEN jsonb_typeof(i.request->'legs') = 'array' THEN jsonb_array_length(i.request->'legs') END AS n_legs
        FROM unnest(p_items) AS i
    ), checked AS (
        SELECT q.*,
               CASE
                   WHEN q.pre_state IS NOT NULL THEN q.pre_state || q.pre_message
                   WHEN q.r IS NULL OR jsonb_typeof(q.r) <> 'object' THEN
                       'LG017A transaction must be a JSON object with effective_at, description and legs'
                   WHEN q.eff_text IS NULL THEN
                       'LG017effective_at is missing: give the business time, e.g. "2026-11-20T15:00:00Z"'
                   WHEN q.eff IS NULL THEN
                       format('LG017effective_at "%s" is not a time like "2026-11-20T15:00:00Z"', q.eff_text)
                   WHEN q.eff NOT BETWEEN timestamptz '1900-01-01 00:00Z' AND timestamptz '2200-01-01 00:00Z' THEN
                       format('LG017effective_at %s is outside the years 1900 to 2199', q.eff_text)
                   WHEN length(q.descr) > 500 THEN 'LG017description is longer than 500 characters'
                   WHEN q.n_legs IS NULL OR q.n_legs < 2 THEN
                       'LG017legs must be an array of at least two legs ({"account", "amount", "currency"})'
                   WHEN q.n_legs > 100 THEN 'LG017A transaction has at most 100 legs'
               END AS req_err
        FROM req q
    ), legs AS MATERIALIZED (
        SELECT c.ord, l.n, l.leg->>'account' AS code, upper(l.leg->>'currency') AS currency,
               l.leg->'amount' IS NULL AS no_amount, l.leg->>'amount' AS amount_text,
               a.id AS account_id, a.currency::text AS account_currency, x.exponent,
               l.leg->>'amount' ~ '^[+-]?[0-9]{1,19}(\.[0-9]{1,19})?$' AS well_formed,
               substring(l.leg->>'amount' from '\.([0-9]+)$') AS fraction
        FROM checked c
        CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN c.req_err IS NULL THEN c.r->'legs' ELSE '[]'::jsonb END)
            WITH ORDINALITY AS l(leg, n)
        LEFT JOIN ledger.accounts a ON a.code = l.leg->>'account'
        LEFT JOIN ledger.currencies x ON x.code = a.currency
    ), leg_values AS MATERIALIZED (
        SELECT l.*,
               CASE WHEN l.well_formed AND l.exponent IS NOT NULL
                         AND (l.fraction IS NULL OR length(rtrim(l.fraction, '0')) <= l.exponent)
                    THEN l.amount_text::numeric * (10::numeric ^ l.exponent) END AS value
        FROM legs l
    ), leg_checked AS MATERIALIZED (
        SELECT v.ord, v.n, v.code, v.currency, v.account_id,
               CASE WHEN abs(v.value) <= ledger.max_minor_units() THEN v.value::bigint END AS minor,
               CASE
                   WHEN v.code IS NULL OR v.currency IS NULL OR v.no_amount THEN
                       format('LG017Leg %s needs account, amount and currency', v.n)
                   WHEN v.account_id IS NULL THEN format('LG018Leg %s: no account with code "%s"', v.n, v.code)
                   WHEN v.account_currency <> v.currency THEN
                       format('LG015Leg %s: account %s holds %s, not %s', v.n, v.code, v.account_currency, v.currency)
                   WHEN NOT coalesce(v.well_formed, false) THEN
                       format('LG012Amount "%s" is not a decimal number like 1234.56', coalesce(v.amount_text, 'null'))
                   WHEN v.value IS NULL THEN
                       format('LG013Amount %s has more decimals than %s allows (%s)', v.amount_text, v.currency, v.exponent)
                   WHEN abs(v.value) > ledger.max_minor_units() THEN
                       format('LG014Amount %s %s is out of range (at most %s in one leg)', v.amount_text, v.currency,
                              ledger.format_amount(ledger.max_minor_units(), v.currency))
                   WHEN v.value = 0 THEN format('LG012Leg %s: amount is zero', v.n)
               END AS err
        FROM leg_values v
    ), per_item AS (
        SELECT lc.ord,
               array_agg(lc.account_id ORDER BY lc.n) AS account_ids,
               array_agg(lc.minor ORDER BY lc.n) AS amounts,
               array_agg(lc.currency ORDER BY lc.n) AS currencies,
               (array_agg(lc.err ORDER BY lc.n) FILTER (WHERE lc.err IS NOT NULL))[1] AS leg_err,
               jsonb_agg(jsonb_build_object('account', lc.code, 'minor', lc.minor, 'currency', lc.currency)
                         ORDER BY lc.n) AS canonical_legs
        FROM leg_checked lc
        GROUP BY lc.ord
    ), unbalanced AS (
        SELECT DISTINCT lc.ord FROM leg_checked lc GROUP BY lc.ord, lc.currency HAVING sum(lc.minor) <> 0
    ), judged AS MATERIALIZED (
        SELECT c.ord, c.idem_key, c.eff, c.descr, c.ext, p.account_ids, p.amounts, p.currencies, p.canonical_legs,
               CASE
                   WHEN c.req_err IS NOT NULL THEN c.req_err
                   WHEN p.leg_err IS NOT NULL THEN p.leg_err
                   WHEN c.ord IN (SELECT u.ord FROM unbalanced u) THEN
                       'LG016The legs do not balance: per currency, debits (positive) must equal credits (negative)'
                   -- The single path leaves this to the column's CHECK (23514); here it is
                   -- the item's fault, so it is the item's refusal.
                   WHEN length(c.ext) > 200 THEN 'LG017external_ref is longer than 200 characters'
                   WHEN c.idem_key IS NULL OR length(c.idem_key) NOT BETWEEN 1 AND 200 THEN
                       'LG010An idempotency key of 1 to 200 characters is required'
                   WHEN p_kind = 'posting' AND c.idem_key ~ '^(reversal|rebook|event):' THEN
                       format('LG010Idempotency key "%s" is reserved: keys starting with reversal:, rebook: '
                              'or event: belong to reversals and ingested events', c.idem_key)
               END AS err
        FROM checked c LEFT JOIN per_item p ON p.ord = c.ord
    )
    SELECT array_agg(ROW(j.ord, j.idem_key,
                         CASE WHEN j.err IS NULL THEN sha256(convert_to(jsonb_build_object(
                             'kind', p_kind, 'reverses', NULL::bigint,
                             'request', jsonb_build_object(
                                 'effective_at', to_char(j.eff AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                 'description', j.descr,
                                 'external_ref', j.ext,
                                 'legs', j.canonical_legs))::text, 'UTF8')) END,
                         j.eff, j.descr, j.ext, j.account_ids, j.amounts, j.currencies,
                         left(j.err, 5), substr(j.err, 6))::ledger.batch_item ORDER BY j.ord)
    INTO v_items
    FROM judged j;

    SELECT array_agg(i.err_state IS NOT NULL ORDER BY i.ord) INTO v_invalid FROM unnest(v_items) AS i;
    IF cardinality(v_items) <> v_n OR EXISTS (SELECT 1 FROM unnest(v_items) WITH ORDINALITY AS i WHERE i.ord <> i.ordinality) THEN
        RAISE EXCEPTION 'ledger.post_batch_items: ordinals must be 1 to %', v_n;
    END IF;

    -- 2. Lock the heads of every account a valid item with a new key touches: one statement,
    --    in id order. (An item whose key is already posted touches nothing.) The accounts
    --    that post are among these, so their latest recorded time is known from here on.
    SELECT max(x.last_recorded_at) INTO v_last_recorded
    FROM (SELECT h.last_recorded_at FROM ledger.account_heads h
          WHERE h.account_id IN (
              SELECT l.account_id
              FROM unnest(v_items) AS i CROSS JOIN LATERAL unnest(i.account_ids) AS l(account_id)
              WHERE NOT v_invalid[i.ord]
                AND NOT EXISTS (SELECT 1 FROM ledger.transactions t WHERE t.idempotency_key = i.idem_key))
          ORDER BY h.account_id
          FOR UPDATE) x;

    LOOP
        v_round := v_round + 1;
        v_decided := v_invalid;
        v_outcome := array_fill(NULL::text, ARRAY[v_n]);
        v_state := array_fill(NULL::text, ARRAY[v_n]);
        v_msg := array_fill(NULL::text, ARRAY[v_n]);
        v_tx := array_fill(NULL::bigint, ARRAY[v_n]);
        v_primary_of := array_fill(0, ARRAY[v_n]);
        FOR r IN SELECT i.ord, i.err_state, i.err_message FROM unnest(v_items) AS i WHERE i.err_state IS NOT NULL LOOP
            v_outcome[r.ord] := 'rejected';
            v_state[r.ord] := r.err_state;
            v_msg[r.ord] := r.err_message;
        END LOOP;

        -- 3. Keys posted before (read after the locks, so a batch or posting that held one of
        --    these accounts has committed its keys by now).
        FOR r IN SELECT i.ord, i.idem_key, t.id, t.request_hash = i.request_hash AS same
                 FROM unnest(v_items) AS i JOIN ledger.transactions t ON t.idempotency_key = i.idem_key
                 WHERE NOT v_invalid[i.ord]
        LOOP
            v_decided[r.ord] := true;
            IF r.same THEN
                v_outcome[r.ord] := 'duplicate';
                v_tx[r.ord] := r.id;
            ELSE
                v_outcome[r.ord] := 'rejected';
                v_state[r.ord] := 'LG011';
                v_msg[r.ord] := format('Idempotency key "%s" was already used for a different request (transaction %s)',
                                       r.idem_key, r.id);
            END IF;
        END LOOP;

        -- 4. The rest post, in order, unless a no-negative account would go negative. Within
        --    the batch, the first item with a key is the one that may post; later ones with
        --    the same key are replays of it (or LG011).
        FOR r IN SELECT i.ord, min(i.ord) OVER (PARTITION BY i.idem_key) AS first_ord
                 FROM unnest(v_items) AS i WHERE NOT v_decided[i.ord]
        LOOP
            v_primary_of[r.ord] := r.first_ord;
        END LOOP;

        SELECT EXISTS (
            SELECT 1
            FROM (SELECT d.account_id, a.normal_side,
                         h.balance + sum(d.delta) OVER (PARTITION BY d.account_id ORDER BY d.ord) AS running
                  FROM (SELECT i.ord, l.account_id, sum(l.amount) AS delta
                        FROM unnest(v_items) AS i
                        CROSS JOIN LATERAL unnest(i.account_ids, i.amounts) AS l(account_id, amount)
                        WHERE v_primary_of[i.ord] = i.ord
                        GROUP BY i.ord, l.account_id) d
                  JOIN ledger.accounts a ON a.id = d.account_id AND NOT a.allow_negative
                  JOIN ledger.account_heads h ON h.account_id = d.account_id) x
            WHERE CASE WHEN x.normal_side = 'debit' THEN x.running ELSE -x.running END < 0)
        INTO v_violation;

        IF NOT v_violation THEN
            SELECT coalesce(array_agg(i.ord ORDER BY i.ord), '{}') INTO v_accepted
            FROM unnest(v_items) AS i WHERE v_primary_of[i.ord] = i.ord;
        ELSE
            -- One by one, in order: the no-negative accounts' balances as dense arrays.
            SELECT array_agg(a.id ORDER BY a.id), array_agg(h.balance ORDER BY a.id),
                   array_agg(a.normal_side = 'debit' ORDER BY a.id), array_agg(a.code ORDER BY a.id),
                   array_agg(a.currency::text ORDER BY a.id)
            INTO v_nn_id, v_nn_bal, v_nn_debit, v_nn_code, v_nn_cur
            FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id = a.id
            WHERE NOT a.allow_negative
              AND a.id IN (SELECT l.account_id FROM unnest(v_items) AS i
                           CROSS JOIN LATERAL unnest(i.account_ids) AS l(account_id)
                           WHERE v_primary_of[i.ord] <> 0);
            v_key_posted := array_fill(0, ARRAY[v_n]);
            v_accepted := '{}';
            FOR r IN
                WITH nn AS (
                    SELECT u.id, u.idx FROM unnest(v_nn_id) WITH ORDINALITY AS u(id, idx)
                ), cand AS (
                    SELECT i.ord, dense_rank() OVER (ORDER BY i.idem_key) AS key_idx, i.account_ids, i.amounts
                    FROM unnest(v_items) AS i WHERE v_primary_of[i.ord] <> 0
                ), deltas AS (
                    SELECT c.ord, nn.idx, sum(l.amount) AS delta
                    FROM cand c CROSS JOIN LATERAL unnest(c.account_ids, c.amounts) AS l(account_id, amount)
                    JOIN nn ON nn.id = l.account_id
                    GROUP BY c.ord, nn.idx
                )
                SELECT c.ord, c.key_idx::integer AS key_idx,
                       array_agg(d.idx::integer ORDER BY d.idx) FILTER (WHERE d.idx IS NOT NULL) AS idx,
                       array_agg(d.delta ORDER BY d.idx) FILTER (WHERE d.idx IS NOT NULL) AS delta
                FROM cand c LEFT JOIN deltas d ON d.ord = c.ord
                GROUP BY c.ord, c.key_idx
                ORDER BY c.ord
            LOOP
                IF v_key_posted[r.key_idx] <> 0 THEN
                    v_primary_of[r.ord] := v_key_posted[r.key_idx]; -- a replay of an item that posts
                    CONTINUE;
                END IF;
                v_bad := NULL;
                FOR j IN 1 .. coalesce(cardinality(r.idx), 0) LOOP
                    v_after := v_nn_bal[r.idx[j]] + r.delta[j];
                    IF (CASE WHEN v_nn_debit[r.idx[j]] THEN v_after ELSE -v_after END) < 0 THEN
                        v_bad := r.idx[j];
                        EXIT;
                    END IF;
                END LOOP;
                IF v_bad IS NULL THEN
                    FOR j IN 1 .. coalesce(cardinality(r.idx), 0) LOOP
                        v_nn_bal[r.idx[j]] := v_nn_bal[r.idx[j]] + r.delta[j];
                    END LOOP;
                    v_key_posted[r.key_idx] := r.ord;
                    v_primary_of[r.ord] := r.ord;
                    v_accepted := v_accepted || r.ord;
                ELSE
                    v_primary_of[r.ord] := 0;
                    v_outcome[r.ord] := 'rejected';
                    v_state[r.ord] := 'LG020';
                    v_msg[r.ord] := format('Account %s may not go negative: this would leave it at %s %s', v_nn_code[v_bad],
                                           ledger.format_amount(CASE WHEN v_nn_debit[v_bad] THEN v_after ELSE -v_after END,
                                                                v_nn_cur[v_bad]),
                                           v_nn_cur[v_bad]);
                END IF;
            END LOOP;
        END IF;

        -- 5. Write the transactions: ids in item order, rows in key order (two batches
        --    inserting the same keys wait for each other in one order only). A key that a
        --    concurrent transaction committed since step 3 makes the insert come up short:
        --    undo it and decide again.
        v_nacc := cardinality(v_accepted);
        v_retry := false;
        IF v_nacc > 0 THEN
            v_recorded := greatest(clock_timestamp(), v_last_recorded);
            SELECT array_agg(nextval(v_seq)) INTO v_ids FROM generate_series(1, v_nacc);
            BEGIN
                INSERT INTO ledger.transactions (id, idempotency_key, request_hash, kind, effective_at, recorded_at,
                                                 description, external_ref, reverses, created_by, created_role)
                OVERRIDING SYSTEM VALUE
                SELECT a.id, i.idem_key, i.request_hash, p_kind, i.effective_at, v_recorded, i.description,
                       i.external_ref, NULL, v_operator, session_user
                FROM unnest(v_accepted, v_ids) AS a(ord, id) JOIN unnest(v_items) AS i ON i.ord = a.ord
                ORDER BY i.idem_key
                ON CONFLICT (idempotency_key) DO NOTHING;
                GET DIAGNOSTICS v_inserted = ROW_COUNT;
                IF v_inserted < v_nacc THEN
                    RAISE EXCEPTION 'a concurrent posting took a key of this batch' USING ERRCODE = 'LG019';
                END IF;
            EXCEPTION WHEN SQLSTATE 'LG019' THEN
                IF v_round >= 5 THEN
                    RAISE EXCEPTION 'Concurrent postings kept taking idempotency keys of this batch; nothing was posted'
                        USING ERRCODE = '40001', HINT = 'Send the batch again: keys posted meanwhile come back as duplicates.';
                END IF;
                v_retry := true;
            END;
        END IF;
        EXIT WHEN NOT v_retry;
    END LOOP;

    IF v_nacc > 0 THEN
        -- 6. Entries: per account, sequence numbers and running balances in item order.
        WITH acc AS (
            SELECT a.ord, a.id FROM unnest(v_accepted, v_ids) AS a(ord, id)
        ), legs AS (
            SELECT acc.id AS tx, i.ord, l.n, l.account_id, l.amount, l.currency, i.effective_at
            FROM acc JOIN unnest(v_items) AS i ON i.ord = acc.ord
            CROSS JOIN LATERAL unnest(i.account_ids, i.amounts, i.currencies)
                WITH ORDINALITY AS l(account_id, amount, currency, n)
        )
        INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, effective_at, recorded_at,
                                    account_seq, balance_after)
        SELECT l.tx, l.account_id, l.amount, l.currency, l.effective_at, v_recorded,
               h.last_seq + row_number() OVER w,
               h.balance + sum(l.amount) OVER w
        FROM legs l JOIN ledger.account_heads h ON h.account_id = l.account_id
        WINDOW w AS (PARTITION BY l.account_id ORDER BY l.ord, l.n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ORDER BY l.ord, l.n;

        -- 7. Each head once.
        UPDATE ledger.account_heads h
        SET last_seq = h.last_seq + m.n, balance = h.balance + m.total, last_recorded_at = v_recorded
        FROM (SELECT l.account_id, count(*) AS n, sum(l.amount) AS total
              FROM unnest(v_accepted) AS a(ord) JOIN unnest(v_items) AS i ON i.ord = a.ord
              CROSS JOIN LATERAL unnest(i.account_ids, i.amounts) AS l(account_id, amount)
              GROUP BY l.account_id) m
        WHERE h.account_id = m.account_id;

        -- 8. One audit event per posted item, as post_normalized writes it.
        PERFORM audit.record_batch('transaction.posted', 'transaction',
            (SELECT array_agg(a.id::text ORDER BY a.ord) FROM unnest(v_accepted, v_ids) AS a(ord, id)),
            (SELECT array_agg(jsonb_build_object('idempotency_key', i.idem_key, 'kind', p_kind,
                                                 'reverses', NULL::bigint, 'legs', cardinality(i.account_ids))
                              ORDER BY a.ord)
             FROM unnest(v_accepted) AS a(ord) JOIN unnest(v_items) AS i ON i.ord = a.ord));

        FOR j IN 1 .. v_nacc LOOP
            v_outcome[v_accepted[j]] := 'posted';
            v_tx[v_accepted[j]] := v_ids[j];
        END LOOP;
    END IF;

    -- Replays inside the batch: the same request is a duplicate of the item that posted,
    -- another request under its key is refused as the single path refuses it.
    FOR r IN SELECT i.ord, i.idem_key, i.request_hash = p.request_hash AS same, p.ord AS primary_ord
             FROM unnest(v_items) AS i JOIN unnest(v_items) AS p ON p.ord = v_primary_of[i.ord]
             WHERE v_primary_of[i.ord] <> 0 AND v_primary_of[i.ord] <> i.ord
    LOOP
        IF r.same THEN
            v_outcome[r.ord] := 'duplicate';
            v_tx[r.ord] := v_tx[r.primary_ord];
        ELSE
            v_outcome[r.ord] := 'rejected';
            v_state[r.ord] := 'LG011';
            v_msg[r.ord] := format('Idempotency key "%s" was already used for a different request (transaction %s)',
                                   r.idem_key, v_tx[r.primary_ord]);
        END IF;
    END LOOP;

    RETURN QUERY SELECT g.ord, v_tx[g.ord], v_outcome[g.ord], v_state[g.ord], v_msg[g.ord]
                 FROM generate_series(1, v_n) AS g(ord);
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.post_batch_items(ledger.batch_input[], text) FROM PUBLIC;

-------------------------------------------------------------------------------------------
-- What writers call.
-------------------------------------------------------------------------------------------

-- What both wrappers check first: a console session, and an array of at most
-- max_batch_items() items (else the whole call is refused).
CREATE FUNCTION ledger.check_batch(p_batch jsonb, p_not_an_array text, p_items text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger
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
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.check_batch(jsonb, text, text) FROM PUBLIC;

-- Posts an array of ledger.post_transaction requests; one row per item (see the top).
CREATE FUNCTION ledger.post_batch(p_requests jsonb)
RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
DECLARE
    v_items ledger.batch_input[];
BEGIN
    PERFORM ledger.check_batch(p_requests, 'A batch must be a JSON array of transactions', 'transactions');
    SELECT array_agg(ROW(e.ord::integer, e.r->>'idempotency_key', e.r, NULL, NULL)::ledger.batch_input ORDER BY e.ord)
    INTO v_items
    FROM jsonb_array_elements(p_requests) WITH ORDINALITY AS e(r, ord);
    RETURN QUERY SELECT * FROM ledger.post_batch_items(v_items, 'posting');
END
$$;

-- Ingests an array of ledger.ingest_event events (same fields, same checks, same keys
-- "event:<event_id>", so either path recognises the other's events as duplicates).
CREATE FUNCTION ledger.ingest_events(p_events jsonb, p_contra_template text DEFAULT '1000-CASH-{currency}')
RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
DECLARE
    v_items ledger.batch_input[];
BEGIN
    PERFORM ledger.check_batch(p_events, 'A batch of events must be a JSON array of event objects', 'events');
    SELECT array_agg(ROW(x.ord::integer, 'event:' || x.event_id,
                         CASE WHEN x.err IS NULL THEN jsonb_build_object(
                             'effective_at', x.ev->'occurred_at',
                             'description', coalesce(x.ev->>'description', x.type || ' ' || x.event_id),
                             'external_ref', x.event_id,
                             'legs', jsonb_build_array(
                                 jsonb_build_object('account', x.code, 'currency', x.currency,
                                                    'amount', CASE WHEN x.sign > 0 THEN x.amount ELSE '-' || x.amount END),
                                 jsonb_build_object('account', x.contra, 'currency', x.currency,
                                                    'amount', CASE WHEN x.sign > 0 THEN '-' || x.amount ELSE x.amount END)))
                         END,
                         left(x.err, 5), substr(x.err, 6))::ledger.batch_input ORDER BY x.ord)
    INTO v_items
    FROM (
        SELECT f.*,
               CASE
                   WHEN jsonb_typeof(f.ev) IS DISTINCT FROM 'object' THEN 'LG017An event must be a JSON object'
                   WHEN f.event_id IS NULL OR length(f.event_id) NOT BETWEEN 1 AND 190 THEN
                       'LG017event_id is missing (1 to 190 characters)'
                   WHEN f.type IS NULL OR f.type NOT IN ('income', 'outcome') THEN
                       format('LG017type must be "income" or "outcome", not "%s"', coalesce(f.ev->>'type', 'null'))
                   WHEN f.ev->'occurred_at' IS NULL THEN
                       'LG017occurred_at is missing: give the time of the event, e.g. "2026-11-20T15:00:00Z"'
                   WHEN f.amount IS NULL OR f.amount LIKE '-%' OR f.amount LIKE '+%' THEN
                       'LG012amount must be a positive decimal; the type gives the direction'
                   WHEN f.code IS NULL THEN
                       format('LG018No account with code "%s"', coalesce(f.ev->>'account', 'null'))
               END AS err
        FROM (
            SELECT e.ord, e.ev, e.ev->>'event_id' AS event_id, lower(e.ev->>'type') AS type,
                   upper(e.ev->>'currency') AS currency, e.ev->>'amount' AS amount, a.code,
                   coalesce(e.ev->>'contra_account',
                            replace(p_contra_template, '{currency}', coalesce(upper(e.ev->>'currency'), ''))) AS contra,
                   -- Raising a debit-normal account is a debit (+); raising a credit-normal one a credit (-).
                   CASE WHEN (lower(e.ev->>'type') = 'income') = (a.normal_side = 'debit') THEN 1 ELSE -1 END AS sign
            FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(ev, ord)
            LEFT JOIN ledger.accounts a ON a.code = e.ev->>'account'
        ) f
    ) x;
    RETURN QUERY SELECT * FROM ledger.post_batch_items(v_items, 'event');
END
$$;

REVOKE EXECUTE ON FUNCTION ledger.max_batch_items(), ledger.try_timestamptz(text),
    ledger.post_batch(jsonb), ledger.ingest_events(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.post_batch(jsonb), ledger.ingest_events(jsonb, text) TO ledger_writer;

-------------------------------------------------------------------------------------------
-- The single path, unchanged but for two cases. Batches do not take the per-key advisory
-- lock, so a batch may commit a key between this function's check and its insert. The
-- insert then finds the key taken (ON CONFLICT, after waiting for that commit) and answers
-- as if the check had seen it: the original id for the same request, LG011 otherwise.
-- And an external_ref over 200 characters is the request's fault: LG017 with a message, as
-- in a batch, instead of the column's CHECK (23514) at the insert. And a posting's key may
-- not take the namespaces of reversals ("reversal:<request>", "rebook:<request>") and of
-- ingested events ("event:<event_id>"): a writer could otherwise take the key of an
-- approved request's reversal before it is posted, or of an event before it arrives, and
-- the reversal or the event would then be refused (LG011).
-------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger.post_normalized(p_key text, r ledger.normalized_request, p_kind text,
                                                  p_reverses bigint, OUT transaction_id bigint, OUT created boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_hash bytea;
    v_existing record;
    v_recorded timestamptz;
    v_negative record;
BEGIN
    IF length(r.external_ref) > 200 THEN
        RAISE EXCEPTION 'external_ref is longer than 200 characters' USING ERRCODE = 'LG017';
    END IF;
    IF p_key IS NULL OR length(p_key) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'An idempotency key of 1 to 200 characters is required' USING ERRCODE = 'LG010';
    END IF;
    IF p_kind = 'posting' AND p_key ~ '^(reversal|rebook|event):' THEN
        RAISE EXCEPTION 'Idempotency key "%" is reserved: keys starting with reversal:, rebook: or event: belong to reversals and ingested events', p_key
            USING ERRCODE = 'LG010', HINT = 'Choose a key outside these prefixes.';
    END IF;
    v_hash := sha256(convert_to(jsonb_build_object('kind', p_kind, 'reverses', p_reverses,
                                                   'request', r.canonical)::text, 'UTF8'));

    PERFORM pg_advisory_xact_lock(hashtextextended('ledger.idempotency:' || p_key, 0));
    SELECT t.id, t.request_hash INTO v_existing FROM ledger.transactions t WHERE t.idempotency_key = p_key;
    IF FOUND THEN
        IF v_existing.request_hash = v_hash THEN
            transaction_id := v_existing.id;
            created := false;
            RETURN;
        END IF;
        RAISE EXCEPTION 'Idempotency key "%" was already used for a different request (transaction %)', p_key, v_existing.id
            USING ERRCODE = 'LG011',
                  HINT = 'Use a new key for a new transaction; resend the same request to get the original back.';
    END IF;

    PERFORM 1 FROM ledger.account_heads h
    WHERE h.account_id = ANY (r.account_ids)
    ORDER BY h.account_id
    FOR UPDATE;
    -- Taken after the locks, and never before an account's last entry: per account,
    -- recorded order and sequence order agree even if the server's clock steps back.
    SELECT greatest(clock_timestamp(), max(h.last_recorded_at)) INTO v_recorded
    FROM ledger.account_heads h WHERE h.account_id = ANY (r.account_ids);

    INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, effective_at, recorded_at,
                                     description, external_ref, reverses, created_by, created_role)
    VALUES (p_key, v_hash, p_kind, r.effective_at, v_recorded, r.description, r.external_ref,
            p_reverses, audit.current_operator(), session_user)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO transaction_id;
    IF transaction_id IS NULL THEN
        SELECT t.id, t.request_hash INTO v_existing FROM ledger.transactions t WHERE t.idempotency_key = p_key;
        IF v_existing.request_hash = v_hash THEN
            transaction_id := v_existing.id;
            created := false;
            RETURN;
        END IF;
        RAISE EXCEPTION 'Idempotency key "%" was already used for a different request (transaction %)', p_key, v_existing.id
            USING ERRCODE = 'LG011',
                  HINT = 'Use a new key for a new transaction; resend the same request to get the original back.';
    END IF;

    WITH legs AS (
        SELECT l.account_id, l.amount, l.currency, l.ord
        FROM unnest(r.account_ids, r.amounts, r.currencies) WITH ORDINALITY AS l(account_id, amount, currency, ord)
    )
    INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, effective_at, recorded_at,
                                account_seq, balance_after)
    SELECT post_normalized.transaction_id, l.account_id, l.amount, l.currency, r.effective_at, v_recorded,
           h.last_seq + row_number() OVER w,
           h.balance + sum(l.amount) OVER w
    FROM legs l JOIN ledger.account_heads h ON h.account_id = l.account_id
    WINDOW w AS (PARTITION BY l.account_id ORDER BY l.ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ORDER BY l.ord;

    WITH moved AS (
        SELECT l.account_id, count(*) AS n, sum(l.amount) AS total
        FROM unnest(r.account_ids, r.amounts) AS l(account_id, amount)
        GROUP BY l.account_id
    )
    UPDATE ledger.account_heads h
    SET last_seq = h.last_seq + m.n, balance = h.balance + m.total, last_recorded_at = v_recorded
    FROM moved m WHERE h.account_id = m.account_id;

    SELECT a.code, ledger.format_amount(CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END, a.currency) AS shown,
           a.currency
    INTO v_negative
    FROM ledger.account_heads h JOIN ledger.accounts a ON a.id = h.account_id
    WHERE h.account_id = ANY (r.account_ids)
      AND NOT a.allow_negative
      AND (CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END) < 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Account % may not go negative: this would leave it at % %', v_negative.code, v_negative.shown, v_negative.currency
            USING ERRCODE = 'LG020', HINT = 'Nothing was posted.';
    END IF;

    PERFORM audit.record('transaction.posted', 'transaction', transaction_id::text,
                         jsonb_build_object('idempotency_key', p_key, 'kind', p_kind, 'reverses', p_reverses,
                                            'legs', cardinality(r.account_ids)));
    created := true;
END
$$;

-------------------------------------------------------------------------------------------
-- The commit-time balance check (0006), planned so that its cost does not depend on
-- statistics. Its generic plan joined the transaction's entries to ledger.accounts; while
-- the statistics were young (a freshly loaded chart of accounts, an entries table that
-- was empty when last analysed) that plan hashed a sequential scan of all accounts for
-- every transaction: ~1 ms a posting at 10,000 accounts, paid at every commit, and 1,000
-- times over by a batch of 1,000. Now one index scan of the transaction's entries, each
-- leg's account looked up by its key. Same checks, same messages.
-------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger.check_transaction_balanced() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v record;
BEGIN
    SELECT coalesce(sum(s.n), 0) AS legs,
           min(s.currency) FILTER (WHERE s.foreign_account) AS foreign_currency,
           min(s.currency) FILTER (WHERE s.total <> 0) AS unbalanced
    INTO v
    FROM (SELECT e.currency, count(*) AS n, sum(e.amount) AS total,
                 bool_or((SELECT a.currency FROM ledger.accounts a WHERE a.id = e.account_id) <> e.currency)
                     AS foreign_account
          FROM ledger.entries e
          WHERE e.transaction_id = NEW.id
          GROUP BY e.currency) s;
    IF v.legs < 2 THEN
        RAISE EXCEPTION 'Transaction % has % leg(s); a transaction needs at least two', NEW.id, v.legs
            USING ERRCODE = 'LG016';
    END IF;
    IF v.foreign_currency IS NOT NULL THEN
        RAISE EXCEPTION 'Transaction % has a % leg on an account in another currency', NEW.id, v.foreign_currency
            USING ERRCODE = 'LG015';
    END IF;
    IF v.unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'Transaction % does not balance in % (debits must equal credits)', NEW.id, v.unbalanced
            USING ERRCODE = 'LG016';
    END IF;
    RETURN NULL;
END
$$;
