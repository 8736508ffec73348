-- Step 10: the audit chain covers the ledger's own rows, not only its events.
--
-- Until now a transaction.posted event named the transaction, its key, kind and number of
-- legs: the owner could rewrite an entry's amount or an account head and every verifier
-- still passed. Now every transaction.posted event carries the SHA-256 digest of its
-- transaction's rows as they were when the event was written (details.digest, hex), and the
-- event is sealed into the chain like every other. Both verifiers (ledger.verify_ledger here,
-- services/audit/LedgerVerifier.cpp in C++, written apart from this file) recompute the
-- digests from the rows and name the first transaction whose rows no longer match, and
-- check that account heads and running balances agree with the entries.
--
-- The digest is computed where the event is written (audit.record_as, audit.record_batch),
-- from the rows the posting has just inserted, so no posting path can leave it out or bring
-- its own. Transactions that never had such an event (those posted before this migration,
-- and those a seed loads with COPY) are attested by ledger.attest_transactions(): events
-- 'ledger.attested' holding the digests of up to 1,000 transactions each. A transaction's
-- digest on record is the first one the chain holds for it; a later attestation never
-- replaces it (attest_transactions skips every transaction that already has one).
--
-- Encoding (version ledger-tx-v1; all integers big-endian; times in microseconds since
-- 1970-01-01 00:00:00 UTC; field(x) = int4 byte length (-1 for NULL) || x in UTF-8, as in
-- the chain's own encoding, 0010_audit_chain.sql):
--   'ledger-tx-v1'                                12 bytes, ASCII
--   int8 id
--   field(idempotency_key)
--   request_hash                                  32 bytes as stored
--   field(kind)
--   int8 effective_at, int8 recorded_at
--   int8 reverses                                 0 when the transaction reverses nothing
--   field(description), field(external_ref), field(created_by), field(created_role)
--   int4 number of entries
--   then each entry, in id order:
--     int8 id, int8 account_id, int8 amount (signed minor units, debit positive),
--     field(currency), int8 effective_at, int8 recorded_at, int8 account_seq,
--     int8 balance_after
-- digest = SHA-256 of those bytes.
--
-- What each tampering looks like to the verifiers: a changed amount, time, account or
-- running balance of an entry, a deleted or an inserted entry, a changed transaction row:
-- "rows differ from the digest sealed at sequence N"; a deleted transaction: "deleted";
-- a transaction inserted without the posting functions: "no digest on record"; a changed
-- head: the account, with what its head says and what its entries add up to.
SET LOCAL ROLE ledger_owner;

-- Microseconds since the Unix epoch (exact: extract returns numeric).
CREATE FUNCTION ledger.micros(p timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT (pg_catalog.extract('epoch', p) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8 $$;

-- The parts of the encoding, plain SQL without SET clauses so that they are inlined into
-- the queries below (see 0010_audit_chain.sql for why). Every name is schema-qualified.
CREATE FUNCTION ledger.transaction_head_encoding(t ledger.transactions, p_entries bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.convert_to('ledger-tx-v1', 'UTF8')
           OPERATOR(pg_catalog.||) pg_catalog.int8send((t).id)
           OPERATOR(pg_catalog.||) audit.field((t).idempotency_key)
           OPERATOR(pg_catalog.||) (t).request_hash
           OPERATOR(pg_catalog.||) audit.field((t).kind)
           OPERATOR(pg_catalog.||) pg_catalog.int8send(ledger.micros((t).effective_at))
           OPERATOR(pg_catalog.||) pg_catalog.int8send(ledger.micros((t).recorded_at))
           OPERATOR(pg_catalog.||) pg_catalog.int8send(coalesce((t).reverses, 0))
           OPERATOR(pg_catalog.||) audit.field((t).description)
           OPERATOR(pg_catalog.||) audit.field((t).external_ref)
           OPERATOR(pg_catalog.||) audit.field((t).created_by)
           OPERATOR(pg_catalog.||) audit.field((t).created_role)
           OPERATOR(pg_catalog.||) pg_catalog.int4send(p_entries::pg_catalog.int4)
$$;

CREATE FUNCTION ledger.entry_encoding(e ledger.entries) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.int8send((e).id)
           OPERATOR(pg_catalog.||) pg_catalog.int8send((e).account_id)
           OPERATOR(pg_catalog.||) pg_catalog.int8send((e).amount)
           OPERATOR(pg_catalog.||) audit.field((e).currency::pg_catalog.text)
           OPERATOR(pg_catalog.||) pg_catalog.int8send(ledger.micros((e).effective_at))
           OPERATOR(pg_catalog.||) pg_catalog.int8send(ledger.micros((e).recorded_at))
           OPERATOR(pg_catalog.||) pg_catalog.int8send((e).account_seq)
           OPERATOR(pg_catalog.||) pg_catalog.int8send((e).balance_after)
$$;

-- The digests of the given transactions as their rows are now (a transaction that does not
-- exist is left out). PL/pgSQL so that its plan is kept for the session (a non-inlined SQL
-- function is planned at every call).
CREATE FUNCTION ledger.transaction_digests(p_ids bigint[])
RETURNS TABLE (transaction_id bigint, digest bytea)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT t.id,
           sha256(ledger.transaction_head_encoding(t, count(e.id))
                  || coalesce(string_agg(ledger.entry_encoding(e), ''::bytea ORDER BY e.id) FILTER (WHERE e.id IS NOT NULL),
                              ''::bytea))
    FROM ledger.transactions t
    LEFT JOIN ledger.entries e ON e.transaction_id = t.id
    WHERE t.id = ANY (p_ids)
    GROUP BY t.id;
END
$$;

-- The one way into audit.events (0008), now adding the digest to a transaction.posted event.
CREATE OR REPLACE FUNCTION audit.record_as(p_operator text, p_session_role text, p_action text, p_object_type text,
                                           p_object_id text, p_details jsonb, p_client_info jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
AS $$
DECLARE
    v_id bigint;
    v_details jsonb := coalesce(p_details, '{}'::jsonb);
BEGIN
    IF p_action = 'transaction.posted' AND p_object_type = 'transaction' AND p_object_id ~ '^[0-9]{1,18}$' THEN
        v_details := v_details - 'digest' || jsonb_strip_nulls(jsonb_build_object('digest',
            (SELECT encode(d.digest, 'hex') FROM ledger.transaction_digests(ARRAY[p_object_id::bigint]) d)));
    END IF;
    INSERT INTO audit.events (operator, session_role, action, object_type, object_id, details, client_info)
    VALUES (p_operator, p_session_role, p_action, p_object_type, p_object_id, v_details,
            coalesce(p_client_info, '{}'::jsonb))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- The same for many events at once (0017): the digests of a batch in one query.
CREATE OR REPLACE FUNCTION audit.record_batch(p_action text, p_object_type text, p_object_ids text[], p_details jsonb[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
AS $$
DECLARE
    v_operator text := audit.current_operator();
    v_client jsonb := jsonb_strip_nulls(jsonb_build_object(
                          'application', nullif(current_setting('application_name', true), ''),
                          'address', host(inet_client_addr()),
                          'backend_pid', pg_backend_pid()));
BEGIN
    IF p_action = 'transaction.posted' AND p_object_type = 'transaction' THEN
        INSERT INTO audit.events (operator, session_role, action, object_type, object_id, details, client_info)
        SELECT v_operator, session_user, p_action, p_object_type, o.object_id,
               coalesce(o.details, '{}'::jsonb) - 'digest'
                   || jsonb_strip_nulls(jsonb_build_object('digest', encode(d.digest, 'hex'))), v_client
        FROM unnest(p_object_ids, p_details) WITH ORDINALITY AS o(object_id, details, n)
        LEFT JOIN ledger.transaction_digests((SELECT array_agg(x::bigint) FROM unnest(p_object_ids) x
                                              WHERE x ~ '^[0-9]{1,18}$')) d
               ON d.transaction_id::text = o.object_id
        ORDER BY o.n;
        RETURN;
    END IF;
    INSERT INTO audit.events (operator, session_role, action, object_type, object_id, details, client_info)
    SELECT v_operator, session_user, p_action, p_object_type, o.object_id, coalesce(o.details, '{}'::jsonb), v_client
    FROM unnest(p_object_ids, p_details) WITH ORDINALITY AS o(object_id, details, n)
    ORDER BY o.n;
END
$$;

-- The digests on record: per transaction the first the chain holds (sealed events in chain
-- order, then unsealed ones in id order), with the event's sequence number (NULL while
-- unsealed). From transaction.posted events and ledger.attested events.
CREATE FUNCTION ledger.recorded_digests()
RETURNS TABLE (transaction_id bigint, digest bytea, seq bigint, event_id bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT DISTINCT ON (x.tx) x.tx, x.digest, x.seq, x.id
    FROM (SELECT e.object_id::bigint AS tx, decode(e.details->>'digest', 'hex') AS digest, e.seq, e.id
          FROM audit.events e
          WHERE e.action = 'transaction.posted' AND e.object_type = 'transaction' AND e.object_id ~ '^[0-9]{1,18}$'
            AND jsonb_typeof(e.details->'digest') = 'string' AND e.details->>'digest' ~ '^[0-9a-f]{64}$'
          UNION ALL
          SELECT d.key::bigint, decode(d.value, 'hex'), e.seq, e.id
          FROM audit.events e CROSS JOIN LATERAL jsonb_each_text(e.details->'digests') d
          WHERE e.action = 'ledger.attested' AND jsonb_typeof(e.details->'digests') = 'object'
            AND d.key ~ '^[0-9]{1,18}$' AND d.value ~ '^[0-9a-f]{64}$') x
    ORDER BY x.tx, x.seq NULLS LAST, x.id
$$;

-- Attests every transaction with id in [p_from, p_to] that has no digest on record: one
-- 'ledger.attested' event per 1,000 of them, {"first": id, "last": id, "digests": {"id":
-- "hex", ...}}. Owner only (migrations, the demo seed). Returns how many it attested.
CREATE FUNCTION ledger.attest_transactions(p_from bigint DEFAULT 1, p_to bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
SET work_mem = '256MB'
SET jit = off
AS $$
DECLARE
    v_count bigint;
BEGIN
    CREATE TEMP TABLE attest_digests ON COMMIT DROP AS
    SELECT t.id,
           sha256(ledger.transaction_head_encoding(t, count(e.id))
                  || coalesce(string_agg(ledger.entry_encoding(e), ''::bytea ORDER BY e.id) FILTER (WHERE e.id IS NOT NULL),
                              ''::bytea)) AS digest
    FROM ledger.transactions t
    LEFT JOIN ledger.entries e ON e.transaction_id = t.id
    WHERE t.id >= p_from AND (p_to IS NULL OR t.id <= p_to)
      AND t.id NOT IN (SELECT r.transaction_id FROM ledger.recorded_digests() r)
    GROUP BY t.id;
    SELECT count(*) INTO v_count FROM attest_digests;
    INSERT INTO audit.events (operator, session_role, action, object_type, object_id, details, client_info)
    SELECT audit.current_operator(), session_user, 'ledger.attested', 'ledger', NULL,
           jsonb_build_object('first', min(c.id), 'last', max(c.id),
                              'digests', jsonb_object_agg(c.id::text, encode(c.digest, 'hex'))),
           '{}'::jsonb
    FROM (SELECT a.id, a.digest, (row_number() OVER (ORDER BY a.id) - 1) / 1000 AS chunk FROM attest_digests a) c
    GROUP BY c.chunk
    ORDER BY c.chunk;
    DROP TABLE attest_digests;
    RETURN v_count;
END
$$;

-- The ledger's own check, recomputed from the rows (the chain itself is audit.verify_chain's):
--  * every transaction's digest against the one on record; the first (lowest id) that
--    differs, is missing, or was deleted is named, with how many there are of each;
--  * per account: sequence numbers 1..n without a gap, each running balance the sum of the
--    amounts up to it, and the head (last_seq, balance, last_recorded_at) what the entries
--    say; the first account (lowest id) that disagrees is named.
CREATE TYPE ledger.ledger_verification AS (
    transactions_checked bigint,
    entries_checked      bigint,
    accounts_checked     bigint,
    transactions_broken  bigint,
    first_transaction    bigint,  -- NULL: every transaction matches its digest
    transaction_reason   text,
    accounts_broken      bigint,
    first_account        text,    -- the code; NULL: every head and running balance agrees
    account_reason       text
);

CREATE FUNCTION ledger.verify_ledger_unrecorded() RETURNS ledger.ledger_verification
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET work_mem = '256MB'
SET jit = off
AS $$
DECLARE
    v ledger.ledger_verification;
BEGIN
    SELECT count(*) INTO v.transactions_checked FROM ledger.transactions;
    SELECT count(*) INTO v.entries_checked FROM ledger.entries;
    SELECT count(*) INTO v.accounts_checked FROM ledger.account_heads;

    WITH actual AS (
        SELECT t.id,
               sha256(ledger.transaction_head_encoding(t, count(e.id))
                      || coalesce(string_agg(ledger.entry_encoding(e), ''::bytea ORDER BY e.id) FILTER (WHERE e.id IS NOT NULL),
                                  ''::bytea)) AS digest
        FROM ledger.transactions t
        LEFT JOIN ledger.entries e ON e.transaction_id = t.id
        GROUP BY t.id
    ), bad AS (
        SELECT coalesce(a.id, r.transaction_id) AS tx,
               CASE WHEN a.id IS NULL THEN
                        format('deleted: its digest is on record (%s) but the transaction is no longer in the ledger',
                               coalesce('sequence ' || r.seq, 'event ' || r.event_id || ', not yet sealed'))
                    WHEN r.transaction_id IS NULL THEN
                        'no digest on record: it was not written by the ledger''s posting functions'
                    ELSE format('its rows (transaction or entries) differ from the digest on record (%s)',
                                coalesce('sealed at sequence ' || r.seq, 'event ' || r.event_id || ', not yet sealed'))
               END AS reason
        FROM actual a FULL JOIN ledger.recorded_digests() r ON r.transaction_id = a.id
        WHERE a.digest IS DISTINCT FROM r.digest
        UNION ALL
        SELECT e.transaction_id, format('entry %s names it, but the transaction is not in the ledger', e.id)
        FROM ledger.entries e
        WHERE NOT EXISTS (SELECT 1 FROM ledger.transactions t WHERE t.id = e.transaction_id)
    )
    SELECT count(DISTINCT b.tx), (array_agg(b.tx ORDER BY b.tx, b.reason))[1],
           (array_agg(b.reason ORDER BY b.tx, b.reason))[1]
    INTO v.transactions_broken, v.first_transaction, v.transaction_reason
    FROM bad b;

    WITH run AS (
        SELECT e.account_id, e.account_seq, e.amount, e.balance_after, e.recorded_at,
               row_number() OVER w AS n, sum(e.amount) OVER w AS running
        FROM ledger.entries e
        WINDOW w AS (PARTITION BY e.account_id ORDER BY e.account_seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ), per_account AS (
        SELECT r.account_id, count(*) AS n, sum(r.amount) AS total, max(r.account_seq) AS last_seq,
               max(r.recorded_at) AS last_recorded,
               min(r.account_seq) FILTER (WHERE r.account_seq <> r.n) AS seq_gap,
               min(r.account_seq) FILTER (WHERE r.balance_after <> r.running) AS balance_off
        FROM run r GROUP BY r.account_id
    ), bad AS (
        SELECT h.account_id,
               CASE WHEN p.seq_gap IS NOT NULL THEN
                        format('entry sequence numbers are not 1..%s: entry %s of the account is out of place', p.n, p.seq_gap)
                    WHEN p.balance_off IS NOT NULL THEN
                        format('the running balance of its entry %s is not the sum of the amounts up to it', p.balance_off)
                    WHEN h.last_seq <> coalesce(p.n, 0) THEN
                        format('its head counts %s entries; the ledger holds %s', h.last_seq, coalesce(p.n, 0))
                    WHEN h.balance <> coalesce(p.total, 0) THEN
                        format('its head says %s; its entries add up to %s (minor units, debit positive)',
                               h.balance, coalesce(p.total, 0))
                    WHEN p.n IS NOT NULL AND h.last_recorded_at <> p.last_recorded THEN
                        'its head''s last recorded time is not that of its last entry'
               END AS reason
        FROM ledger.account_heads h LEFT JOIN per_account p ON p.account_id = h.account_id
        UNION ALL
        SELECT p.account_id, 'it has entries but no head'
        FROM per_account p WHERE NOT EXISTS (SELECT 1 FROM ledger.account_heads h WHERE h.account_id = p.account_id)
    )
    SELECT count(*) FILTER (WHERE b.reason IS NOT NULL),
           (array_agg(a.code ORDER BY b.account_id) FILTER (WHERE b.reason IS NOT NULL))[1],
           (array_agg(b.reason ORDER BY b.account_id) FILTER (WHERE b.reason IS NOT NULL))[1]
    INTO v.accounts_broken, v.first_account, v.account_reason
    FROM bad b LEFT JOIN ledger.accounts a ON a.id = b.account_id;
    v.first_account := coalesce(v.first_account, CASE WHEN v.accounts_broken > 0 THEN 'an account no longer in the ledger' END);
    RETURN v;
END
$$;

-- What auditors call: a console session, the check, and an audit event with its result.
CREATE FUNCTION ledger.verify_ledger() RETURNS ledger.ledger_verification
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v ledger.ledger_verification;
BEGIN
    PERFORM access.check_session();
    v := ledger.verify_ledger_unrecorded();
    PERFORM audit.record('ledger.verified', 'ledger', NULL, jsonb_strip_nulls(to_jsonb(v) || '{"verifier": "sql"}'));
    RETURN v;
END
$$;

-- The C++ verifier's result, recorded as an event (validated like audit.record_verification).
CREATE FUNCTION ledger.record_ledger_verification(p_result jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_key text;
    v ledger.ledger_verification;
BEGIN
    PERFORM access.check_session();
    IF jsonb_typeof(p_result) IS DISTINCT FROM 'object' OR pg_column_size(p_result) > 2048 THEN
        RAISE EXCEPTION 'A ledger verification result is a small JSON object' USING ERRCODE = 'LG051';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(p_result) LOOP
        IF v_key NOT IN ('transactions_checked', 'entries_checked', 'accounts_checked', 'transactions_broken',
                         'first_transaction', 'transaction_reason', 'accounts_broken', 'first_account',
                         'account_reason', 'seconds') THEN
            RAISE EXCEPTION 'Unknown field "%" in a ledger verification result', left(v_key, 40) USING ERRCODE = 'LG051';
        END IF;
    END LOOP;
    BEGIN
        v := jsonb_populate_record(NULL::ledger.ledger_verification, p_result);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'A ledger verification result holds counts, ids and short texts' USING ERRCODE = 'LG051';
    END;
    IF v.transactions_checked IS NULL OR v.entries_checked IS NULL OR v.accounts_checked IS NULL
       OR v.transactions_checked < 0 OR v.entries_checked < 0 OR v.accounts_checked < 0
       OR coalesce(v.transactions_broken, 0) < 0 OR coalesce(v.accounts_broken, 0) < 0
       OR (v.first_transaction IS NULL) <> (coalesce(v.transactions_broken, 0) = 0)
       OR (v.first_account IS NULL) <> (coalesce(v.accounts_broken, 0) = 0)
       OR length(v.transaction_reason) > 500 OR length(v.account_reason) > 500 OR length(v.first_account) > 100
       OR ledger.has_control_characters(coalesce(v.transaction_reason, '') || coalesce(v.account_reason, '')
                                        || coalesce(v.first_account, '')) THEN
        RAISE EXCEPTION 'A ledger verification result needs the three counts, and a first transaction or account exactly when some are broken'
            USING ERRCODE = 'LG051';
    END IF;
    RETURN audit.record('ledger.verified', 'ledger', NULL,
                        jsonb_strip_nulls(to_jsonb(v) || jsonb_build_object('verifier', 'client',
                                                                            'seconds', p_result->'seconds')));
END
$$;

-- What the C++ verifier reads: the rows the digests cover, as stored (a console session
-- needed, as for every console view).
CREATE VIEW ledger.transaction_content AS
SELECT t.id, t.idempotency_key, t.request_hash, t.kind, t.effective_at, t.recorded_at, t.reverses, t.description,
       t.external_ref, t.created_by, t.created_role
FROM ledger.transactions t WHERE access.check_session();

CREATE VIEW ledger.entry_content AS
SELECT e.id, e.transaction_id, e.account_id, e.amount, e.currency, e.effective_at, e.recorded_at, e.account_seq,
       e.balance_after
FROM ledger.entries e WHERE access.check_session();

CREATE VIEW ledger.head_content AS
SELECT h.account_id, a.code, h.last_seq, h.balance, h.last_recorded_at
FROM ledger.account_heads h JOIN ledger.accounts a ON a.id = h.account_id WHERE access.check_session();

-- The digests on record, for the C++ verifier (it checks them against the chain it reads).
CREATE VIEW ledger.digest_events AS
SELECT e.id, e.seq, e.action, e.object_type, e.object_id, e.details FROM audit.events e
WHERE e.action IN ('transaction.posted', 'ledger.attested') AND access.check_session();

REVOKE EXECUTE ON FUNCTION ledger.micros(timestamptz), ledger.transaction_head_encoding(ledger.transactions, bigint),
                           ledger.entry_encoding(ledger.entries), ledger.transaction_digests(bigint[]),
                           ledger.recorded_digests(), ledger.attest_transactions(bigint, bigint),
                           ledger.verify_ledger_unrecorded(), ledger.verify_ledger(),
                           ledger.record_ledger_verification(jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.verify_ledger(), ledger.record_ledger_verification(jsonb)
    TO console_auditor, console_compliance;
GRANT SELECT ON ledger.transaction_content, ledger.entry_content, ledger.head_content, ledger.digest_events
    TO console_auditor, console_compliance;

-- What was posted before this migration is attested as it stands now.
SELECT ledger.attest_transactions();
