-- Step 4: audit.events becomes a hash chain.
--
-- Every event is written by audit.record_as() in the action's own transaction, so an action
-- and its event commit together or not at all. The event is inserted unsealed (no seq, no
-- hash); it is sealed into the chain (dense seq, prev_hash, hash) at commit by a deferred
-- trigger, or by the next transaction that seals, or by audit.seal(). Why not at insert:
-- the chain is one lock, and taking it in the middle of a transaction puts it before the
-- account locks a reversal-with-rebook takes later, a lock-order inversion against ordinary
-- postings (deadlocks). Why a try-lock at commit: a lock held to the end of commit would
-- serialise every commit's WAL flush. A committing transaction that finds the chain busy
-- leaves its events to the sealer that holds it, or to the next one; nothing waits.
--
-- hash = SHA-256(prev_hash || canonical encoding of the row), prev_hash of sequence 1 is 32
-- zero bytes. The canonical encoding (audit.event_encoding; the C++ verifier in
-- services/audit/ChainVerifier.cpp computes the same bytes independently):
--   'ledger-audit-v1'                    15 bytes, ASCII (the format's version)
--   int8 id, int8 occurred_at            big-endian; occurred_at in microseconds since
--                                         1970-01-01 00:00:00 UTC
--   field(operator), field(session_role), field(action), field(object_type),
--   field(object_id), field(details::text), field(client_info::text)
--   field(x) = int4 byte length (-1 for NULL) || x in UTF-8
-- The sequence number is not hashed: the chain fixes each row's place, so a row moved,
-- removed or inserted breaks a link (the verifiers tell which).
SET LOCAL ROLE ledger_owner;

ALTER TABLE audit.events
    ADD COLUMN seq bigint,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash bytea,
    ADD CONSTRAINT events_sealed_whole CHECK (
        (seq IS NULL AND prev_hash IS NULL AND hash IS NULL)
        OR (seq >= 1 AND octet_length(prev_hash) = 32 AND octet_length(hash) = 32));

CREATE UNIQUE INDEX events_seq ON audit.events (seq) WHERE seq IS NOT NULL;
CREATE INDEX events_unsealed ON audit.events (id) WHERE seq IS NULL;
-- For the auditor's action filter. Not by time: every index is written twice per event
-- (insert, then seal), and the log pages newest first along the primary key anyway.
CREATE INDEX events_by_action ON audit.events (action, id);

COMMENT ON COLUMN audit.events.seq IS 'Dense position in the hash chain; NULL until sealed (at most until the next commit or audit.seal()).';

-- The encoding helpers are plain SQL without SET clauses so that the planner inlines them
-- into the sealer and the verifier (a SET clause forbids inlining and costs a GUC save and
-- restore per call) and STABLE, not IMMUTABLE, because convert_to() and extract() on a
-- timestamptz are: a function declared less volatile than its body is never inlined, and
-- an SQL function that is not inlined costs ~40 us a call. Every name in them is
-- schema-qualified, so the caller's search_path cannot change what they mean.
CREATE FUNCTION audit.field(p text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p IS NULL THEN pg_catalog.int4send(-1)
                ELSE pg_catalog.int4send(pg_catalog.octet_length(p)) OPERATOR(pg_catalog.||)
                     pg_catalog.convert_to(p, 'UTF8') END
$$;

CREATE FUNCTION audit.event_encoding(p_id bigint, p_occurred_at timestamptz, p_operator text, p_session_role text,
                                     p_action text, p_object_type text, p_object_id text, p_details jsonb,
                                     p_client_info jsonb)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.convert_to('ledger-audit-v1', 'UTF8')
           OPERATOR(pg_catalog.||) pg_catalog.int8send(p_id)
           OPERATOR(pg_catalog.||) pg_catalog.int8send(
               (pg_catalog.extract('epoch', p_occurred_at) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8)
           OPERATOR(pg_catalog.||) audit.field(p_operator)
           OPERATOR(pg_catalog.||) audit.field(p_session_role)
           OPERATOR(pg_catalog.||) audit.field(p_action)
           OPERATOR(pg_catalog.||) audit.field(p_object_type)
           OPERATOR(pg_catalog.||) audit.field(p_object_id)
           OPERATOR(pg_catalog.||) audit.field(p_details::pg_catalog.text)
           OPERATOR(pg_catalog.||) audit.field(p_client_info::pg_catalog.text)
$$;

CREATE FUNCTION audit.genesis_hash() RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex') $$;

-- The one key for the chain (two-int advisory keys live apart from the one-bigint keys the
-- posting functions use).
CREATE FUNCTION audit.chain_lock_key() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 1096045652 $$; -- 'AUDT'

-- Seals every unsealed event this transaction can see (its own and those already
-- committed), oldest id first. The caller holds the chain lock. Returns how many.
CREATE FUNCTION audit.seal_pending() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
DECLARE
    v_seq bigint;
    v_prev bytea;
    v_hash bytea;
    v_count bigint := 0;
    r record;
BEGIN
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM audit.events e WHERE e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := audit.genesis_hash();
    END IF;
    FOR r IN SELECT e.ctid AS row_id,
                    audit.event_encoding(e.id, e.occurred_at, e.operator, e.session_role, e.action, e.object_type,
                                         e.object_id, e.details, e.client_info) AS encoding
             FROM audit.events e WHERE e.seq IS NULL ORDER BY e.id
    LOOP
        v_seq := v_seq + 1;
        v_hash := sha256(v_prev || r.encoding);
        UPDATE audit.events SET seq = v_seq, prev_hash = v_prev, hash = v_hash WHERE ctid = r.row_id;
        v_prev := v_hash;
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;

-- The deferred trigger: at commit, seal if the chain is free. Not in REPEATABLE READ or
-- SERIALIZABLE: their snapshot may predate the last seal; a later sealer takes these events.
CREATE FUNCTION audit.seal_at_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit.events e WHERE e.id = NEW.id AND e.seq IS NULL) THEN
        RETURN NULL; -- an earlier event of this transaction sealed it
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN NULL;
    END IF;
    IF pg_try_advisory_xact_lock(audit.chain_lock_key(), 0) THEN
        PERFORM audit.seal_pending();
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER events_seal AFTER INSERT ON audit.events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION audit.seal_at_commit();
ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_seal;

-- Seals the tail now, waiting for the chain if another transaction holds it. Verifiers and
-- checkpoints call it first, so that they cover every committed event.
CREATE FUNCTION audit.seal() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'The audit chain can only be sealed in a READ COMMITTED transaction'
            USING ERRCODE = 'LG050', HINT = 'Run it outside REPEATABLE READ / SERIALIZABLE transactions.';
    END IF;
    PERFORM pg_advisory_xact_lock(audit.chain_lock_key(), 0);
    RETURN audit.seal_pending();
END
$$;

-- Append-only, with one exception: the owner's sealer turns an unsealed row into a sealed
-- one, changing nothing else.
CREATE FUNCTION audit.guard_events() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_user = 'ledger_owner' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (NEW.id, NEW.occurred_at, NEW.operator, NEW.session_role, NEW.action, NEW.object_type, NEW.object_id,
            NEW.details, NEW.client_info)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.occurred_at, OLD.operator, OLD.session_role, OLD.action, OLD.object_type, OLD.object_id,
            OLD.details, OLD.client_info) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on audit.events is not allowed: the audit trail is append-only', TG_OP
        USING ERRCODE = 'LG001', HINT = 'Audit events are never changed or removed.';
END
$$;
DROP TRIGGER events_append_only ON audit.events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.guard_events();
ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_append_only;

-------------------------------------------------------------------------------------------
-- Checkpoints: the chain's head (seq, hash) handed out to be kept outside the database.
-------------------------------------------------------------------------------------------
CREATE TABLE audit.checkpoints (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq          bigint NOT NULL CHECK (seq >= 0),
    hash         bytea  NOT NULL CHECK (octet_length(hash) = 32),
    issued_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    operator     text NOT NULL,
    session_role text NOT NULL
);
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON audit.checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON audit.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE audit.checkpoints ENABLE ALWAYS TRIGGER checkpoints_append_only;
ALTER TABLE audit.checkpoints ENABLE ALWAYS TRIGGER checkpoints_no_truncate;

CREATE FUNCTION audit.issue_checkpoint(OUT checkpoint_id bigint, OUT seq bigint, OUT hash bytea,
                                       OUT issued_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM audit.seal();
    SELECT e.seq, e.hash INTO seq, hash FROM audit.events e WHERE e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        seq := 0;
        hash := audit.genesis_hash();
    END IF;
    INSERT INTO audit.checkpoints (seq, hash, operator, session_role)
    VALUES (seq, hash, audit.current_operator(), session_user)
    RETURNING checkpoints.id, checkpoints.issued_at INTO checkpoint_id, issued_at;
    PERFORM audit.record('audit.checkpoint_issued', 'audit_checkpoint', checkpoint_id::text,
                         jsonb_build_object('seq', seq, 'hash', encode(hash, 'hex')));
END
$$;

-- Hashes at every p_every-th sequence up to p_through (and p_through itself): a checkpoint
-- file carries them so that a rewritten chain is located, not only detected.
CREATE FUNCTION audit.chain_anchors(p_through bigint, p_every integer)
RETURNS TABLE (seq bigint, hash bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    PERFORM access.check_session();
    IF p_every IS NULL OR p_every < 1 THEN
        RAISE EXCEPTION 'Anchor interval must be at least 1' USING ERRCODE = 'LG051';
    END IF;
    RETURN QUERY SELECT e.seq, e.hash FROM audit.events e
                 WHERE e.seq <= p_through AND (e.seq % p_every = 0 OR e.seq = p_through)
                 ORDER BY e.seq;
END
$$;

-------------------------------------------------------------------------------------------
-- Verification in SQL. The C++ verifier (ledgerctl audit verify, the console) does the same
-- independently from the rows it reads, so a DBA who rewrites rows and this function alike
-- is still caught by a client holding a checkpoint.
-------------------------------------------------------------------------------------------
CREATE TYPE audit.verification AS (
    verified_through bigint, -- last sequence number checked and found intact
    broken_at        bigint, -- first sequence number found broken, NULL when intact
    reason           text,
    events_checked   bigint,
    unsealed         bigint  -- committed events not yet in the chain when it ran
);

CREATE FUNCTION audit.verify_chain_unrecorded(p_checkpoint_seq bigint DEFAULT NULL, p_checkpoint_hash bytea DEFAULT NULL)
RETURNS audit.verification
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
DECLARE
    v audit.verification;
    v_expected bigint := 1;
    v_prev bytea := audit.genesis_hash();
    v_hash bytea;
    v_other bigint;
    v_marks bigint[];
    v_mark_hashes bytea[];
    v_mark_names text[];
    v_next int := 1;
    r record;
BEGIN
    -- Every issued checkpoint plus the caller's, in sequence order.
    SELECT array_agg(m.seq ORDER BY m.seq, m.name), array_agg(m.hash ORDER BY m.seq, m.name),
           array_agg(m.name ORDER BY m.seq, m.name)
    INTO v_marks, v_mark_hashes, v_mark_names
    FROM (SELECT c.seq, c.hash, format('checkpoint #%s of %s', c.id,
                                       to_char(c.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')) AS name
          FROM audit.checkpoints c WHERE c.seq > 0
          UNION ALL
          SELECT p_checkpoint_seq, p_checkpoint_hash, 'the given checkpoint'
          WHERE p_checkpoint_seq IS NOT NULL AND p_checkpoint_seq > 0) m;
    v.events_checked := 0;
    v.verified_through := 0;
    SELECT count(*) INTO v.unsealed FROM audit.events e WHERE e.seq IS NULL;

    FOR r IN SELECT e.seq, e.id, e.prev_hash, e.hash,
                    audit.event_encoding(e.id, e.occurred_at, e.operator, e.session_role, e.action, e.object_type,
                                         e.object_id, e.details, e.client_info) AS encoding
             FROM audit.events e WHERE e.seq IS NOT NULL ORDER BY e.seq
    LOOP
        IF r.seq <> v_expected THEN
            v.broken_at := v_expected;
            v.reason := CASE WHEN r.seq < v_expected
                             THEN format('order changed: sequence %s appears more than once', r.seq)
                             ELSE format('row missing: sequence %s is absent (the next row is %s)', v_expected, r.seq) END;
            RETURN v;
        END IF;
        v_hash := sha256(r.prev_hash || r.encoding);
        IF v_hash <> r.hash THEN
            v.broken_at := r.seq;
            v.reason := format('row changed: event %s (sequence %s) no longer matches its hash', r.id, r.seq);
            RETURN v;
        END IF;
        IF r.prev_hash <> v_prev THEN
            v.broken_at := r.seq;
            SELECT e.seq INTO v_other FROM audit.events e WHERE e.hash = r.prev_hash LIMIT 1;
            v.reason := CASE WHEN v_other IS NOT NULL
                             THEN format('order changed: the row at sequence %s was chained after sequence %s', r.seq, v_other)
                             ELSE format('row missing: the event chained before sequence %s is no longer in the table', r.seq) END;
            RETURN v;
        END IF;
        WHILE v_marks IS NOT NULL AND v_next <= array_length(v_marks, 1) AND v_marks[v_next] = r.seq LOOP
            IF v_mark_hashes[v_next] <> r.hash THEN
                v.broken_at := r.seq;
                v.reason := format('chain rewritten: the hash at sequence %s differs from %s', r.seq, v_mark_names[v_next]);
                RETURN v;
            END IF;
            v_next := v_next + 1;
        END LOOP;
        v_prev := r.hash;
        v.verified_through := r.seq;
        v.events_checked := v.events_checked + 1;
        v_expected := v_expected + 1;
    END LOOP;
    IF v_marks IS NOT NULL AND v_next <= array_length(v_marks, 1) THEN
        v.broken_at := v_expected;
        v.reason := format('rows missing: the chain ends at sequence %s but %s covers sequence %s',
                           v.verified_through, v_mark_names[v_next], v_marks[v_next]);
    END IF;
    RETURN v;
END
$$;

-- What auditors call: verifies the sealed chain and records that it did. Call audit.seal()
-- in a transaction of its own first to take in the tail: sealing here would hold the chain
-- for the whole verification, and every commit meanwhile would leave its events unsealed.
CREATE FUNCTION audit.verify_chain(p_checkpoint_seq bigint DEFAULT NULL, p_checkpoint_hash bytea DEFAULT NULL)
RETURNS audit.verification
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
DECLARE
    v audit.verification;
BEGIN
    PERFORM access.check_session();
    v := audit.verify_chain_unrecorded(p_checkpoint_seq, p_checkpoint_hash);
    PERFORM audit.record('audit.verified', 'audit_chain', NULL,
                         jsonb_strip_nulls(jsonb_build_object(
                             'verifier', 'sql', 'verified_through', v.verified_through, 'broken_at', v.broken_at,
                             'reason', v.reason, 'events_checked', v.events_checked,
                             'checkpoint_seq', p_checkpoint_seq)));
    RETURN v;
END
$$;

-- The client's own verification result (C++ verifier), recorded as an event.
CREATE FUNCTION audit.record_verification(p_result jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    PERFORM access.check_session();
    IF jsonb_typeof(p_result) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'A verification result is a JSON object' USING ERRCODE = 'LG051';
    END IF;
    RETURN audit.record('audit.verified', 'audit_chain', NULL, p_result || jsonb_build_object('verifier', 'client'));
END
$$;

CREATE FUNCTION audit.chain_head(OUT seq bigint, OUT hash bytea, OUT unsealed bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT e.seq, e.hash INTO seq, hash FROM audit.events e WHERE e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        seq := 0;
        hash := audit.genesis_hash();
    END IF;
    SELECT count(*) INTO unsealed FROM audit.events e WHERE e.seq IS NULL;
END
$$;

-------------------------------------------------------------------------------------------
-- Reads that matter are audited: a point-in-time balance asked.
-------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger.balance(p_account text, p_effective timestamptz DEFAULT NULL,
                                          p_known_at timestamptz DEFAULT NULL,
                                          OUT account text, OUT currency text, OUT amount text, OUT minor_units bigint,
                                          OUT effective_at timestamptz, OUT known_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT * INTO account, currency, amount, minor_units, effective_at, known_at
    FROM ledger.balance_unchecked(p_account, p_effective, p_known_at);
    PERFORM audit.record('balance.asked', 'account', account,
                         jsonb_build_object('effective_at', effective_at, 'known_at', known_at,
                                            'effective_given', p_effective IS NOT NULL,
                                            'known_at_given', p_known_at IS NOT NULL));
END
$$;

-- The auditor's log view: the chain columns too.
CREATE OR REPLACE VIEW audit.event_log AS
SELECT id, occurred_at, operator, session_role, action, object_type, object_id, details, client_info,
       seq, prev_hash, hash
FROM audit.events WHERE access.check_session();

CREATE VIEW audit.checkpoint_list AS
SELECT id, seq, hash, issued_at, operator, session_role FROM audit.checkpoints WHERE access.check_session();
GRANT SELECT ON audit.checkpoint_list TO console_auditor, console_compliance;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA audit FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.seal() TO console_auditor, console_compliance;
GRANT EXECUTE ON FUNCTION audit.issue_checkpoint() TO console_auditor, console_compliance;
GRANT EXECUTE ON FUNCTION audit.chain_anchors(bigint, integer) TO console_auditor, console_compliance;
GRANT EXECUTE ON FUNCTION audit.verify_chain(bigint, bytea) TO console_auditor, console_compliance;
GRANT EXECUTE ON FUNCTION audit.record_verification(jsonb) TO console_auditor, console_compliance;
GRANT EXECUTE ON FUNCTION audit.chain_head() TO console_auditor, console_compliance;

-- Events written before this migration join the chain in id order.
SELECT audit.seal();

-- Where pg_cron is installed, the tail is also sealed every minute in quiet times.
RESET ROLE;
DO $cron$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        EXECUTE $$SELECT cron.schedule('ledger-seal-audit', '* * * * *', 'SELECT audit.seal()')$$;
    END IF;
END
$cron$;
