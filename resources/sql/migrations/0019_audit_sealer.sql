-- The audit sealer (0010, 0013), made cheaper in two ways. Sealing is serial (one chain) and
-- runs at commit while the committing transaction still holds its accounts' locks, so its
-- cost lengthens every hot account's critical section.
--
-- 1. One UPDATE for a whole tail instead of one per event. A batch posting (0017) leaves
--    up to thousands of events to seal at its commit: one UPDATE per event cost ~24 us of
--    executor start per row (24 ms for a batch of 1,000); one UPDATE over the arrays of
--    the tail's hashes ~14 ms. The hashes are computed as before, oldest id first, each
--    over the previous one; rows, chain and both verifiers are unchanged.
--
-- 2. The search for unsealed events starts at a floor instead of the first event.
--    Every seal turns unsealed rows into sealed ones, and each leaves a dead entry at the
--    left of the partial index events_unsealed. Scans mark those entries dead, but only a
--    VACUUM removes their pages, and autovacuum visits audit.events only every 20% of
--    growth (and may skip its indexes when few heap pages changed). A search from the first
--    event walked them all at every commit: after 608k events without a vacuum, 541 pages
--    and 2.3 ms per search, paid while the committing transaction still held its accounts'
--    locks. Starting at a floor at or below every event that may still be unsealed, the
--    search reads a page or two.
--
--    The floor must never pass an event that may still be unsealed, including the events of
--    transactions still in progress, which the sealer cannot see. So:
--     * before any row of an INSERT or COPY into audit.events gets its id, the statement takes
--       a shared transaction-level advisory lock whose key is the id sequence's last_value
--       (L), a lower bound of every id it will be given (events_announce, enabled ALWAYS);
--     * a sealer first reads the sequence's last_value (V), then the shared advisory locks
--       held in this database with keys in [0, V]; the bound is the least of V and those
--       keys. Then it searches (a new snapshot, taken after the bound) from the floor, seals
--       what it sees, and stores the bound as the new floor.
--    Why the bound is safe, for an event e left unsealed after the seal: if e's transaction
--    held its lock when the locks were read, the bound <= L <= id(e); if it had not taken it
--    yet, id(e) comes from a nextval after that read, so id(e) > V >= the bound; if it had
--    already ended, it committed before the search's snapshot (an ending transaction leaves
--    the proc array before it releases its locks), so e was seen and sealed, or it aborted
--    and e is gone. Keys of other advisory locks that happen to fall in [0, V] only lower
--    the floor (the posting functions' keys are exclusive hashes; the filter takes shared
--    locks only).
--
--    audit.seal() (verifiers, checkpoints, pg_cron every minute, ledgerctl audit seal) still
--    searches from the first event: it also takes in anything written with the table's
--    triggers disabled, which never announced itself.
SET LOCAL ROLE ledger_owner;

CREATE TABLE audit.seal_floor (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    floor    bigint  NOT NULL CHECK (floor >= 0)
);
INSERT INTO audit.seal_floor (floor) VALUES (0);
COMMENT ON TABLE audit.seal_floor IS
    'Every event that may still be unsealed has id >= floor (0019_audit_sealer.sql). Written by the sealer only.';

-- Statement level: one call per INSERT or COPY, whatever its number of rows, and one lock
-- per transaction: its first key is a lower bound of all its ids, and a transaction that
-- writes many events one statement at a time must not fill the shared lock table. The
-- marker is transaction-local (set_config(..., true)): it ends with the transaction, and
-- with a rolled-back subtransaction, which also releases the lock taken in it.
CREATE FUNCTION audit.announce_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    IF current_setting('audit.announced', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_advisory_xact_lock_shared(s.last_value) FROM audit.events_id_seq s;
        PERFORM set_config('audit.announced', 'on', true);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.announce_events() FROM PUBLIC;
CREATE TRIGGER events_announce BEFORE INSERT ON audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION audit.announce_events();
ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_announce;

-- The least id an event not yet visible to a search that starts after this call can have.
-- Two statements, in this order (see the top).
CREATE FUNCTION audit.seal_bound() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_last bigint;
    v_locked bigint;
BEGIN
    SELECT s.last_value INTO v_last FROM audit.events_id_seq s;
    -- A one-bigint advisory key shows as classid (high half) and objid (low half).
    SELECT min((l.classid::bigint << 32) | l.objid::bigint) INTO v_locked
    FROM pg_catalog.pg_locks l
    WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.mode = 'ShareLock'
      AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
      AND (l.classid::bigint << 32) | l.objid::bigint BETWEEN 0 AND v_last;
    RETURN least(v_last, coalesce(v_locked, v_last));
END
$$;
REVOKE EXECUTE ON FUNCTION audit.seal_bound() FROM PUBLIC;

-- Seals every unsealed event with id >= p_from that this transaction can see, oldest id
-- first, then stores the new floor. The caller holds the chain lock and knows that no
-- unsealed event lies below p_from (the floor, or 0). Returns how many it sealed.
CREATE FUNCTION audit.seal_from(p_from bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
SET enable_bitmapscan = off
-- Custom plans were re-planned at every call (~270 us of a ~480 us seal of one event).
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
    UPDATE audit.seal_floor f SET floor = v_bound WHERE f.floor IS DISTINCT FROM v_bound;
    RETURN v_count;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.seal_from(bigint) FROM PUBLIC;

-- The whole table (audit.seal() and anything else that calls it).
CREATE OR REPLACE FUNCTION audit.seal_pending() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    RETURN audit.seal_from(0);
END
$$;

-- At commit: from the floor (never above this transaction's own events: it announced
-- them before they had ids, and its lock is held until it ends).
CREATE OR REPLACE FUNCTION audit.seal_at_commit() RETURNS trigger
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
        PERFORM audit.seal_from(least((SELECT f.floor FROM audit.seal_floor f), NEW.id));
    END IF;
    RETURN NULL;
END
$$;
