-- Single postings, the rest of the way (issue 20). Measured per posting on one client
-- (bench_ledger --profile: track_functions = all, pg_stat_statements) before this migration:
-- 1.21 ms of server CPU, against 0.57 ms for pgledger_create_transfer on the same cluster.
-- Where it went, and what changes here (every rule stays: idempotency key with the request's
-- fingerprint, balanced per currency, no-negative, bitemporal times, the audit event with the
-- transaction's digest, the chain):
--
-- 1. Sealing at commit, 0.23 ms: every posting sealed its own event into the chain (the
--    chain lock, a scan of pg_locks for the floor, the chain's head, one UPDATE) while it
--    still held its accounts' locks. Now a commit seals only when the last seal is at least
--    audit.seal_floor.seal_every old (20 ms by default; the owner may change it); otherwise
--    it leaves its events to the next commit after that, to audit.seal() (every verifier and
--    checkpoint calls it first; pg_cron every minute; ledgerctl audit seal) - as it already
--    did when another commit held the chain. Under load one seal takes in every event of
--    the last 20 ms in one UPDATE; on a quiet ledger the first posting after a pause seals at
--    once, as before. The 0044 invariant (nothing unsealed after a minute) is unchanged.
-- 2. The audit event, 0.17 ms: audit.record -> record_as re-read the transaction and its
--    entries to compute the digest (0030) and built the client information in a third
--    function. post_normalized now computes the digest from the rows its own INSERTs return
--    (the same bytes ledger.transaction_digests reads back: both verifiers compare the two)
--    and writes the event itself, with the content audit.record gives it.
-- 3. post_normalized's own statements, 0.38 ms: the key's advisory lock and its look-up go
--    (the unique index on idempotency_key arbitrates, as it already did for batches: a key
--    another transaction holds makes the insert wait for it, then return the original or
--    LG011); the heads' lock and the recorded time are one statement; the heads' update,
--    the entries' insert and the no-negative check are one.
-- normalize_request (0.16 ms in the profile, 43 us a call in a warm loop) stays as it is: a
-- version that read the legs in one statement (one jsonb_array_elements, the look-ups and
-- ordered aggregates) took 70 us a call, and one with a SQL helper per leg 220 us.
SET LOCAL ROLE ledger_owner;

-------------------------------------------------------------------------------------------
-- 1. Sealing at most every seal_every.
-------------------------------------------------------------------------------------------
ALTER TABLE audit.seal_floor
    ADD COLUMN sealed_at  timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN seal_every interval    NOT NULL DEFAULT '20 milliseconds'
        CHECK (seal_every BETWEEN interval '0' AND interval '10 seconds');
COMMENT ON COLUMN audit.seal_floor.sealed_at IS
    'When the last seal committed its work (the clock of the sealing transaction). Written by the sealer only.';
COMMENT ON COLUMN audit.seal_floor.seal_every IS
    'A commit seals only when the last seal is at least this old (0060_single_posting_path.sql); 0 seals at every commit.';

CREATE OR REPLACE FUNCTION audit.seal_from(p_from bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
SET enable_bitmapscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_bound bigint := audit.seal_bound(); -- before the search's snapshot
    v_seq bigint;
    v_prev bytea;
    v_ids bigint[] := '{}';
    v_prevs bytea[] := '{}';
    v_hashes bytea[] := '{}';
    v_count integer := 0;
    r record;
BEGIN
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM audit.events e WHERE e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := audit.genesis_hash();
    END IF;
    FOR r IN SELECT e.id,
                    audit.event_encoding(e.id, e.occurred_at, e.operator, e.session_role, e.action, e.object_type,
                                         e.object_id, e.details, e.client_info) AS encoding
             FROM audit.events e WHERE e.seq IS NULL AND e.id >= p_from ORDER BY e.id
    LOOP
        v_count := v_count + 1;
        v_ids[v_count] := r.id;
        v_prevs[v_count] := v_prev;
        v_prev := sha256(v_prev || r.encoding);
        v_hashes[v_count] := v_prev;
    END LOOP;
    IF v_count > 0 THEN
        UPDATE audit.events e
        SET seq = v_seq + u.n, prev_hash = u.prev_hash, hash = u.hash
        FROM unnest(v_ids, v_prevs, v_hashes) WITH ORDINALITY AS u(id, prev_hash, hash, n)
        WHERE e.id = u.id;
    END IF;
    UPDATE audit.seal_floor f SET floor = v_bound, sealed_at = clock_timestamp();
    RETURN v_count;
END
$$;

-- At commit: nothing when the last seal is younger than seal_every (its events wait for the
-- next commit after that, or audit.seal()); otherwise as before (0019), from the floor.
CREATE OR REPLACE FUNCTION audit.seal_at_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit.seal_floor f WHERE f.sealed_at > clock_timestamp() - f.seal_every) THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit.events e WHERE e.id = NEW.id AND e.seq IS NULL) THEN
        RETURN NULL; -- an earlier event of this transaction sealed it
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN NULL;
    END IF;
    IF pg_try_advisory_xact_lock(audit.chain_lock_key(), 0) THEN
        PERFORM audit.seal_from(least((SELECT f.floor FROM audit.seal_floor f), NEW.id));
    END IF;
    RETURN NULL;
END
$$;

-------------------------------------------------------------------------------------------
-- 2 and 3. post_normalized: four statements and the event.
-------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger.post_normalized(p_key text, r ledger.normalized_request, p_kind text,
                                                  p_reverses bigint, OUT transaction_id bigint, OUT created boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_hash bytea;
    v_tx ledger.transactions;
    v_existing record;
    v_recorded timestamptz;
    v_written record;
    v_operator text := audit.current_operator();
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

    -- The accounts in id order (as every posting path locks them), and the recorded time,
    -- never before an account's last entry: per account, recorded order and sequence order
    -- agree even if the server's clock steps back.
    SELECT greatest(clock_timestamp(), max(h.last_recorded_at)) INTO v_recorded
    FROM (SELECT h.last_recorded_at FROM ledger.account_heads h
          WHERE h.account_id = ANY (r.account_ids)
          ORDER BY h.account_id
          FOR UPDATE) h;

    -- The key: new, or (committed by another transaction, which this insert waits for if it
    -- is still in progress) the same request again, or a different one.
    INSERT INTO ledger.transactions AS t (idempotency_key, request_hash, kind, effective_at, recorded_at,
                                          description, external_ref, reverses, created_by, created_role)
    VALUES (p_key, v_hash, p_kind, r.effective_at, v_recorded, r.description, r.external_ref,
            p_reverses, v_operator, session_user)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING t.* INTO v_tx;
    IF v_tx.id IS NULL THEN
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
    transaction_id := v_tx.id;

    -- Heads moved, entries written with their sequence numbers and running balances, and
    -- what the digest and the no-negative rule need from both, in one statement.
    WITH legs AS (
        SELECT l.account_id, l.amount, l.currency, l.ord
        FROM unnest(r.account_ids, r.amounts, r.currencies) WITH ORDINALITY AS l(account_id, amount, currency, ord)
    ), moved AS (
        SELECT l.account_id, count(*) AS n, sum(l.amount) AS total FROM legs l GROUP BY l.account_id
    ), heads AS (
        UPDATE ledger.account_heads h
        SET last_seq = h.last_seq + m.n, balance = h.balance + m.total, last_recorded_at = v_recorded
        FROM moved m WHERE h.account_id = m.account_id
        RETURNING h.account_id, h.last_seq - m.n AS seq_before, h.balance - m.total AS balance_before, h.balance
    ), written AS (
        INSERT INTO ledger.entries AS e (transaction_id, account_id, amount, currency, effective_at, recorded_at,
                                         account_seq, balance_after)
        SELECT v_tx.id, l.account_id, l.amount, l.currency, r.effective_at, v_recorded,
               h.seq_before + row_number() OVER w,
               h.balance_before + sum(l.amount) OVER w
        FROM legs l JOIN heads h ON h.account_id = l.account_id
        WINDOW w AS (PARTITION BY l.account_id ORDER BY l.ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ORDER BY l.ord
        RETURNING e
    )
    SELECT w.entries, w.encoding, n.code AS negative_code, n.shown, n.currency
    INTO v_written
    FROM (SELECT count(*) AS entries,
                 coalesce(string_agg(ledger.entry_encoding(x.e), ''::bytea ORDER BY (x.e).id), ''::bytea) AS encoding
          FROM written x) w
    LEFT JOIN LATERAL (
        SELECT a.code, ledger.format_amount(CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END, a.currency) AS shown,
               a.currency
        FROM heads h JOIN ledger.accounts a ON a.id = h.account_id
        WHERE NOT a.allow_negative
          AND (CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END) < 0
        ORDER BY a.id
        LIMIT 1) n ON true;
    IF v_written.negative_code IS NOT NULL THEN
        RAISE EXCEPTION 'Account % may not go negative: this would leave it at % %', v_written.negative_code, v_written.shown, v_written.currency
            USING ERRCODE = 'LG020', HINT = 'Nothing was posted.';
    END IF;

    -- The event audit.record would write (0013, 0030), with the digest of the rows as written:
    -- what ledger.transaction_digests computes from them.
    INSERT INTO audit.events (operator, session_role, action, object_type, object_id, details, client_info)
    VALUES (v_operator, session_user, 'transaction.posted', 'transaction', v_tx.id::text,
            jsonb_build_object('idempotency_key', p_key, 'kind', p_kind, 'reverses', p_reverses,
                               'legs', cardinality(r.account_ids),
                               'digest', encode(sha256(ledger.transaction_head_encoding(v_tx, v_written.entries)
                                                       || v_written.encoding), 'hex')),
            jsonb_strip_nulls(jsonb_build_object(
                'application', nullif(current_setting('application_name', true), ''),
                'address', host(inet_client_addr()),
                'backend_pid', pg_backend_pid())));
    created := true;
END
$$;

-- The outbox relay (ledgerctl outbox relay, a ledger_writer) hands out sealed events only:
-- it seals before each round, so that what has committed is published without waiting for
-- the next commit that seals or for pg_cron. It must not wait for the chain (audit.seal()
-- does, up to lock_timeout, and then fails): when another transaction holds it, the round
-- goes on with what is sealed (NULL here), and that transaction's seal or the next round
-- takes the rest in.
CREATE FUNCTION audit.seal_if_free() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'The audit chain can only be sealed in a READ COMMITTED transaction'
            USING ERRCODE = 'LG050', HINT = 'Run it outside REPEATABLE READ / SERIALIZABLE transactions.';
    END IF;
    IF NOT pg_try_advisory_xact_lock(audit.chain_lock_key(), 0) THEN
        RETURN NULL;
    END IF;
    RETURN audit.seal_pending();
END
$$;
REVOKE EXECUTE ON FUNCTION audit.seal_if_free() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.seal_if_free() TO ledger_writer;
