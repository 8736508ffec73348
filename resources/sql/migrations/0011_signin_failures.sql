-- Failed sign-ins become audit events.
--
-- A wrong secret never reaches SQL: PostgreSQL refuses the login during authentication and
-- only writes it to its log ("password authentication failed for user ...", SQLSTATE
-- 28P01). So the database reads its own log: with log_destination = 'csvlog' (and
-- logging_collector = on; LocalCluster sets both, production servers must too), the owner
-- reads the new part of the current CSV log with pg_read_file (restricted to the log and
-- data directories), finds the refused logins of operators' broker roles and of console
-- session roles, and records each as session.signin_failed. A position row, advanced in the
-- same transaction as the events, makes every failure recorded once and none skipped.
--
-- Called before every sign-in (access.issue_session), by `ledgerctl access reap`, and by
-- pg_cron where installed. Without csvlog it records nothing and says so (NULL).
SET LOCAL ROLE ledger_owner;

CREATE TABLE access.auth_log_position (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    log_file    text,
    byte_offset bigint NOT NULL DEFAULT 0 CHECK (byte_offset >= 0),
    read_at     timestamptz
);
INSERT INTO access.auth_log_position DEFAULT VALUES;

-- One CSV field as written by the server: quoted fields double their quotes.
CREATE FUNCTION access.csv_value(p text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p LIKE '"%' THEN pg_catalog.replace(pg_catalog.substr(p, 2, pg_catalog.length(p) - 2), '""', '"')
                WHEN p = '' THEN NULL ELSE p END
$$;

-- One CSV log record (26 fields in PostgreSQL 15): a refused password of a broker or
-- session role becomes a session.signin_failed event. Returns 1 when it recorded one.
CREATE FUNCTION access.record_auth_failure(p_fields text[], p_file text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_operator text;
BEGIN
    IF cardinality(p_fields) <> 26 OR p_fields[12] IS DISTINCT FROM 'FATAL' OR p_fields[13] IS DISTINCT FROM '28P01' THEN
        RETURN 0;
    END IF;
    SELECT o.name INTO v_operator FROM access.operators o WHERE o.broker_role = p_fields[2];
    IF v_operator IS NULL THEN
        SELECT s.operator INTO v_operator FROM access.sessions s WHERE s.role_name = p_fields[2];
    END IF;
    IF v_operator IS NULL THEN
        RETURN 0; -- not a console login
    END IF;
    PERFORM audit.record_as('(not signed in)', p_fields[2], 'session.signin_failed', 'operator', v_operator,
                            jsonb_build_object('role', p_fields[2], 'at', p_fields[1], 'from', p_fields[5],
                                               'message', p_fields[14], 'log_file', p_file),
                            jsonb_strip_nulls(jsonb_build_object('address', p_fields[5],
                                                                 'application', p_fields[23])));
    RETURN 1;
END
$$;

-- Scans p_file from byte p_offset, records the failures in the complete records it finds
-- and returns how far it got. The log writer appends whole records; a record still being
-- written when we read (no final newline, or not yet all 26 fields) is left for next time.
CREATE FUNCTION access.scan_auth_log(p_file text, p_offset bigint, OUT failures integer, OUT next_offset bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_chunk text;
    v_token text[];
    v_fields text[] := '{}';
    v_record_bytes bigint := 0;
BEGIN
    failures := 0;
    next_offset := p_offset;
    v_chunk := pg_read_file(p_file, p_offset, 16 * 1024 * 1024, true);
    IF v_chunk IS NULL OR v_chunk = '' THEN
        RETURN;
    END IF;
    -- Quote-aware tokens: a quoted field (which may hold commas and newlines) or a bare
    -- one, each ending in ',' (next field) or a newline (end of record).
    FOR v_token IN SELECT m FROM regexp_matches(v_chunk, '("(?:[^"]|"")*"|[^,\n"]*)(,|\n)', 'g') AS m LOOP
        v_fields := v_fields || access.csv_value(v_token[1]);
        v_record_bytes := v_record_bytes + octet_length(v_token[1]) + 1;
        CONTINUE WHEN v_token[2] <> E'\n';
        IF cardinality(v_fields) <> 26 THEN
            EXIT; -- not a whole record: stop here and read it again next time
        END IF;
        failures := failures + access.record_auth_failure(v_fields, p_file);
        next_offset := next_offset + v_record_bytes;
        v_fields := '{}';
        v_record_bytes := 0;
    END LOOP;
END
$$;

CREATE FUNCTION access.collect_signin_failures() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_current text;
    v_pos access.auth_log_position;
    v_scan record;
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
    v_scan := access.scan_auth_log(v_current, v_pos.byte_offset);
    v_total := v_total + v_scan.failures;
    UPDATE access.auth_log_position
    SET log_file = v_current, byte_offset = v_scan.next_offset, read_at = clock_timestamp();
    RETURN v_total;
END
$$;

-- Failures before a sign-in are on record before its session.issued event. A log that
-- cannot be read must not lock everybody out: the sign-in goes on, with a warning.
ALTER FUNCTION access.issue_session(interval, jsonb) RENAME TO issue_session_uncollected;
REVOKE EXECUTE ON FUNCTION access.issue_session_uncollected(interval, jsonb) FROM console_broker;
CREATE FUNCTION access.issue_session(p_ttl interval DEFAULT NULL, p_client jsonb DEFAULT '{}'::jsonb)
RETURNS TABLE (role_name text, password text, expires_at timestamptz, max_until timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
BEGIN
    BEGIN
        PERFORM access.collect_signin_failures();
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'ledger: failed sign-ins could not be collected from the server log: %', SQLERRM;
    END;
    RETURN QUERY SELECT * FROM access.issue_session_uncollected(p_ttl, p_client);
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA access FROM PUBLIC;
GRANT EXECUTE ON FUNCTION access.issue_session(interval, jsonb) TO console_broker;

-- Reading the server's own log needs these two, which only a superuser can grant.
RESET ROLE;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_current_logfile(text) TO ledger_owner;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text, bigint, bigint, boolean) TO ledger_owner;
DO $cron$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        EXECUTE $$SELECT cron.schedule('ledger-signin-failures', '* * * * *',
                                       'SELECT access.collect_signin_failures()')$$;
    END IF;
END
$cron$;
