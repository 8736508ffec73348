-- Step 6, the audit trail's own state out of a client's reach.
--
-- * The sealer's floor (0019) relies on every transaction that writes events announcing
--   itself with a shared advisory lock. Whether it had done so was kept in a custom setting
--   (audit.announced), which any session can set: `SET audit.announced = 'on'` made a
--   transaction's events skip the announcement, so the floor could pass them while they
--   were in progress and commit-time sealing missed them. The marker now lives in a table
--   only the owner writes (audit.announcements, one row per backend: the transaction that
--   announced last). It is transactional like the lock itself: a rolled-back subtransaction
--   undoes both, so a later statement announces again. Advisory locks are not PUBLIC any
--   more (0020), so nobody else can take a shared lock that holds the floor down either.
-- * audit.record_verification stored any JSON a client sent as an "audit.verified" event
--   (5 MB records were accepted). It now takes exactly what the C++ verifier computes,
--   bounded, and checks it against the chain: the sequence it verified through must exist
--   and the hash the client reports for it must be the one in the chain (proof that the
--   client read the chain that far), a reported break must lie after that point, and the
--   counts must be consistent. Anything else is refused (LG051).
-- * audit.record_client_action bounds the object id (200 characters, no control
--   characters) as it already bounded the details.
SET LOCAL ROLE ledger_owner;

CREATE UNLOGGED TABLE audit.announcements (
    backend_pid integer PRIMARY KEY,
    xact        xid8    NOT NULL
);
COMMENT ON TABLE audit.announcements IS
    'The transaction of each backend that last announced its audit events (0023_audit_integrity.sql). Written by audit.announce_events() only.';
CREATE TRIGGER announcements_no_truncate BEFORE TRUNCATE ON audit.announcements
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

CREATE OR REPLACE FUNCTION audit.announce_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit.announcements a
                   WHERE a.backend_pid = pg_backend_pid() AND a.xact = pg_current_xact_id()) THEN
        PERFORM pg_advisory_xact_lock_shared(s.last_value) FROM audit.events_id_seq s;
        INSERT INTO audit.announcements (backend_pid, xact) VALUES (pg_backend_pid(), pg_current_xact_id())
        ON CONFLICT (backend_pid) DO UPDATE SET xact = EXCLUDED.xact;
    END IF;
    RETURN NULL;
END
$$;

-- The client's own verification (the C++ verifier of ledgerctl and the console):
--   {"verified_through": N, "hash_at_verified": hex SHA-256 of row N (the genesis hash for
--    0), "events_checked": M, "seconds": S, "broken_at": B?, "reason": text?,
--    "checkpoint_seq": C?}
CREATE OR REPLACE FUNCTION audit.record_verification(p_result jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
AS $$
DECLARE
    v_through bigint;
    v_checked bigint;
    v_broken bigint;
    v_checkpoint bigint;
    v_seconds numeric;
    v_reason text;
    v_hash bytea;
    v_head bigint;
    v_key text;
BEGIN
    PERFORM access.check_session();
    IF jsonb_typeof(p_result) IS DISTINCT FROM 'object' OR pg_column_size(p_result) > 2048 THEN
        RAISE EXCEPTION 'A verification result is a small JSON object' USING ERRCODE = 'LG051';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(p_result) LOOP
        IF v_key NOT IN ('verified_through', 'hash_at_verified', 'events_checked', 'seconds', 'broken_at', 'reason',
                         'checkpoint_seq') THEN
            RAISE EXCEPTION 'Unknown field "%" in a verification result', left(v_key, 40) USING ERRCODE = 'LG051';
        END IF;
    END LOOP;
    BEGIN
        v_through := (p_result->>'verified_through')::bigint;
        v_checked := (p_result->>'events_checked')::bigint;
        v_broken := (p_result->>'broken_at')::bigint;
        v_checkpoint := (p_result->>'checkpoint_seq')::bigint;
        v_seconds := (p_result->>'seconds')::numeric;
        v_hash := decode(p_result->>'hash_at_verified', 'hex');
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'A verification result holds numbers and a hex hash' USING ERRCODE = 'LG051';
    END;
    v_reason := p_result->>'reason';
    IF jsonb_typeof(p_result->'verified_through') IS DISTINCT FROM 'number'
       OR jsonb_typeof(p_result->'events_checked') IS DISTINCT FROM 'number'
       OR v_through < 0 OR v_checked < 0 OR v_checked > v_through
       OR octet_length(v_hash) IS DISTINCT FROM 32
       OR (v_seconds IS NOT NULL AND (v_seconds < 0 OR v_seconds > 1e7))
       OR (v_reason IS NOT NULL AND (length(v_reason) > 500 OR ledger.has_control_characters(v_reason)))
       OR (v_reason IS NOT NULL) <> (v_broken IS NOT NULL) THEN
        RAISE EXCEPTION 'A verification result needs verified_through, events_checked and hash_at_verified (and a reason of at most 500 characters with a break)'
            USING ERRCODE = 'LG051';
    END IF;
    SELECT max(e.seq) INTO v_head FROM audit.events e WHERE e.seq IS NOT NULL;
    v_head := coalesce(v_head, 0);
    IF v_through > v_head
       OR (v_through = 0 AND v_hash <> audit.genesis_hash())
       OR (v_through > 0 AND NOT EXISTS (SELECT 1 FROM audit.events e WHERE e.seq = v_through AND e.hash = v_hash))
       OR (v_broken IS NOT NULL AND (v_broken <= v_through OR v_broken > v_head + 1))
       OR (v_checkpoint IS NOT NULL AND (v_checkpoint < 0 OR v_checkpoint > v_head + 1)) THEN
        RAISE EXCEPTION 'This verification result does not match the audit chain (the hash reported for sequence % is not the chain''s)', v_through
            USING ERRCODE = 'LG051', HINT = 'Run the verifier again against this database.';
    END IF;
    RETURN audit.record('audit.verified', 'audit_chain', NULL,
                        jsonb_strip_nulls(jsonb_build_object(
                            'verifier', 'client', 'verified_through', v_through,
                            'hash_at_verified', encode(v_hash, 'hex'), 'events_checked', v_checked,
                            'seconds', round(v_seconds, 3), 'broken_at', v_broken, 'reason', v_reason,
                            'checkpoint_seq', v_checkpoint)));
END
$$;

CREATE OR REPLACE FUNCTION audit.record_client_action(p_action text, p_object_type text, p_object_id text, p_details jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit, pg_temp
AS $$
BEGIN
    PERFORM access.check_session();
    IF p_action IS NULL OR length(p_action) > 64
       OR NOT EXISTS (SELECT 1 FROM audit.client_actions a WHERE a.action = p_action) THEN
        RAISE EXCEPTION 'The console may not report "%" itself', left(p_action, 64)
            USING ERRCODE = 'LG052', HINT = 'Actions that change data are recorded by the database functions that do them.';
    END IF;
    IF jsonb_typeof(p_details) IS DISTINCT FROM 'object' OR octet_length(p_details::text) > 8192
       OR p_object_type IS NULL OR p_object_type !~ '^[a-z_]{1,40}$'
       OR length(p_object_id) > 200 OR ledger.has_control_characters(p_object_id) THEN
        RAISE EXCEPTION 'A reported action needs an object type, an object id of at most 200 characters without control characters, and a JSON object of details under 8 kB'
            USING ERRCODE = 'LG052';
    END IF;
    RETURN audit.record(p_action, p_object_type, p_object_id, p_details);
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA audit FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.seal(), audit.issue_checkpoint(), audit.chain_anchors(bigint, integer),
                          audit.verify_chain(bigint, bytea), audit.record_verification(jsonb), audit.chain_head()
    TO console_auditor, console_compliance;
GRANT EXECUTE ON FUNCTION audit.record_client_action(text, text, text, jsonb)
    TO console_operator, console_supervisor, console_auditor, console_compliance;
