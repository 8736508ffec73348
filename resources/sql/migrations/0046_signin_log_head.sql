-- The sign-in failure collector remembers the first bytes of the server log it reads, to
-- tell a replaced file under the same name from the one it was reading (0022). It took them
-- before scanning: when the server's logger wrote the file's first record between that read
-- and the scan, the head was remembered empty, an empty head matches every file, and a log
-- replaced by one that grew past the old position was read from the old position on: the
-- refused sign-ins at its start were never recorded (seen once in tst_auditsources). The head
-- is now read again after the scan and kept when the first read is its start (the same
-- file, grown) and it covers the bytes the scan consumed.
SET LOCAL ROLE ledger_owner;

CREATE OR REPLACE FUNCTION access.collect_signin_failures(p_budget bigint DEFAULT 268435456, p_wait boolean DEFAULT true)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_current text;
    v_pos access.auth_log_position;
    v_scan record;
    v_total integer := 0;
    v_head bytea;
    v_after bytea;
    v_size bigint;
BEGIN
    v_current := ledger_priv.log_current();
    IF v_current IS NULL THEN
        RETURN NULL;
    END IF;
    -- A sign-in never waits for another collector (p_wait false: it skips); the reaper and
    -- pg_cron wait for it (at most the lock_timeout), so that a stream of sign-ins cannot
    -- keep them from reading.
    IF p_wait THEN
        SELECT * INTO v_pos FROM access.auth_log_position FOR UPDATE;
    ELSE
        SELECT * INTO v_pos FROM access.auth_log_position FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
    END IF;
    IF v_pos.log_file IS NOT NULL AND v_pos.log_file <> v_current THEN
        -- The log rotated: finish the old file (if it is still there), then the new one.
        v_scan := access.scan_server_log(v_pos.log_file, v_pos.byte_offset, v_pos.skip_from, v_pos.skip_quotes_odd, p_budget);
        v_total := v_total + v_scan.recorded;
        IF NOT v_scan.at_end THEN
            UPDATE access.auth_log_position
            SET byte_offset = v_scan.next_offset, skip_from = v_scan.skip_from, skip_quotes_odd = v_scan.skip_odd,
                read_at = clock_timestamp();
            RETURN v_total;
        END IF;
        IF v_scan.skip_from IS NOT NULL OR v_scan.next_offset < coalesce(ledger_priv.log_size(v_pos.log_file), 0) THEN
            PERFORM access.log_note(v_pos.log_file, v_scan.next_offset, NULL, 'the file ended inside a record');
        END IF;
        p_budget := p_budget - (v_scan.next_offset - v_pos.byte_offset);
        v_pos.log_file := NULL;
    END IF;
    v_head := ledger_priv.log_read(v_current, 0, 64);
    v_size := ledger_priv.log_size(v_current);
    IF v_pos.log_file IS NULL
       OR v_head IS NULL
       OR (v_pos.file_head IS NOT NULL AND substring(v_head FROM 1 FOR octet_length(v_pos.file_head)) <> v_pos.file_head)
       OR coalesce(v_size, 0) < v_pos.byte_offset THEN
        -- A new file, or another file under the same name (truncated, replaced): from its start.
        v_pos.byte_offset := 0;
        v_pos.skip_from := NULL;
        v_pos.skip_quotes_odd := false;
        v_pos.file_head := NULL;
    END IF;
    v_scan := access.scan_server_log(v_current, v_pos.byte_offset, v_pos.skip_from, v_pos.skip_quotes_odd,
                                     greatest(p_budget, 0));
    v_total := v_total + v_scan.recorded;
    IF v_pos.file_head IS NULL AND v_scan.next_offset > 0 THEN
        v_after := ledger_priv.log_read(v_current, 0, 64);
    END IF;
    UPDATE access.auth_log_position
    SET log_file = v_current, byte_offset = v_scan.next_offset, skip_from = v_scan.skip_from,
        skip_quotes_odd = v_scan.skip_odd, read_at = clock_timestamp(),
        -- Remembered once a whole first record is behind us, so that it cannot change. Read
        -- again here: the head read before the scan may predate the bytes the scan consumed
        -- (the server's logger writes on its own), and a short head matches any file. Kept
        -- only when the first read is the start of the second (the same file, grown) and it
        -- covers what was read; otherwise (replaced meanwhile) the next collection takes it.
        file_head = CASE WHEN v_pos.file_head IS NOT NULL THEN v_pos.file_head
                         WHEN v_scan.next_offset > 0
                              AND substring(v_after FROM 1 FOR octet_length(v_head)) = v_head
                              AND octet_length(v_after) >= least(64, v_scan.next_offset)
                         THEN substring(v_after FROM 1 FOR least(64, v_scan.next_offset)::integer)
                         END;
    RETURN v_total;
END
$$;

-- Positions remembered with a head shorter than what was read take the file's bytes now.
RESET ROLE;
UPDATE access.auth_log_position p
SET file_head = substring(ledger_priv.log_read(p.log_file, 0, 64) FROM 1 FOR least(64, p.byte_offset)::integer)
WHERE p.log_file IS NOT NULL AND p.byte_offset > 0 AND p.log_file = ledger_priv.log_current()
  AND octet_length(coalesce(p.file_head, '')) < least(64, p.byte_offset);
