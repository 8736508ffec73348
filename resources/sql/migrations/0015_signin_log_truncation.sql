-- A CSV log truncated under the same name (log_truncate_on_rotation, or by hand) left the
-- failed sign-in collector waiting at an offset past the end of the file, reading nothing
-- ever again. When the file is now shorter than the position, it starts over from the top.
SET LOCAL ROLE ledger_owner;

CREATE OR REPLACE FUNCTION access.collect_signin_failures() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_current text;
    v_pos access.auth_log_position;
    v_scan record;
    v_size bigint;
    v_total integer := 0;
BEGIN
    v_current := pg_current_logfile('csvlog');
    IF v_current IS NULL THEN
        RETURN NULL; -- the server keeps no CSV log: nothing can be collected
    END IF;
    -- One collector at a time; a sign-in never waits for another's scan.
    SELECT * INTO v_pos FROM access.auth_log_position FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    IF v_pos.log_file IS NOT NULL AND v_pos.log_file <> v_current THEN
        -- The log rotated: finish the old file (if it is still there), then start the new one.
        v_scan := access.scan_auth_log(v_pos.log_file, v_pos.byte_offset);
        v_total := v_total + v_scan.failures;
        v_pos.byte_offset := 0;
    END IF;
    v_size := (pg_stat_file(v_current, true)).size;
    IF v_size IS NOT NULL AND v_size < v_pos.byte_offset THEN
        v_pos.byte_offset := 0; -- truncated under the same name
    END IF;
    v_scan := access.scan_auth_log(v_current, v_pos.byte_offset);
    v_total := v_total + v_scan.failures;
    UPDATE access.auth_log_position
    SET log_file = v_current, byte_offset = v_scan.next_offset, read_at = clock_timestamp();
    RETURN v_total;
END
$$;
REVOKE EXECUTE ON FUNCTION access.collect_signin_failures() FROM PUBLIC;

RESET ROLE;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO ledger_owner;
