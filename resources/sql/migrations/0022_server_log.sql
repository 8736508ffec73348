-- Step 6, the server log as an audit source that cannot be poisoned or forged.
--
-- The database reads its own CSV log (log_destination = 'csvlog') for what never reaches
-- SQL: refused sign-ins (28P01 during authentication) and, since the loopback is gone
-- (0020), the refusals of ended sessions (the LG041/LG042/LG044 errors access.check_session
-- raises). The first collector (0011, 0015) read the log as text in fixed 16 MiB windows
-- and matched an unanchored pattern:
--  * one connection attempt with a user name that is not valid UTF-8 made pg_read_file fail
--    for good (nothing recorded after it, and the reaper, sharing its transaction, failed);
--  * a statement over 16 MiB whose text held CSV-looking lines made a window start inside a
--    quoted field, and the pattern then read the attacker's text as records: forged
--    session.signin_failed events for any operator.
-- Now:
--  * bytes, not text: pg_read_binary_file through ledger_priv (ledger_log_reader), only
--    for CSV files beside the current log; encode(..., 'escape') turns any byte sequence
--    into ASCII text in which quotes, commas and newlines are themselves;
--  * records, not lines: reading starts at a record boundary (the file's start, or just
--    after the last record read) and a record ends at the first newline after which no
--    quoted field is open. In a server-written CSV record every quote inside a field is
--    doubled, so the parity of quotes decides where records end whatever a client wrote
--    into a field; fields are then split from the record's start only;
--  * a record longer than the read window (16 MiB) is skipped to its end by the same parity
--    rule, across calls if need be, and noted (server_log.skipped) rather than parsed;
--    a record that is not 26 fields, or whose fields cannot be decoded, is noted and passed;
--  * what a record means is decided by what a client cannot write: the SQLSTATE, the
--    command tag ("authentication" for a refused login), the innermost error context (a
--    refusal comes from access.check_session() itself), and the session's own state at the
--    record's time. Never by the message or the severity, which are translated
--    (lc_messages) and partly client-controlled;
--  * the same file is recognised by its first bytes, so a log truncated or replaced under
--    the same name is read again from its start;
--  * each call reads at most a budget of bytes (a sign-in reads 8 MiB, the reaper and
--    pg_cron 256 MiB), so a flooded log delays the records, never a sign-in;
--  * refusals of one session for one reason in one call are one event, with a count.
-- The reaper and the collector run in separate transactions (AccessRepository::reap), so a
-- log that cannot be read never stops the reaper.

RESET ROLE;

-- The current CSV log file (as pg_current_logfile gives it), or NULL without a CSV log.
CREATE FUNCTION ledger_priv.log_current() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.pg_current_logfile('csvlog') $$;

-- Only the current CSV log and other .csv files in its directory.
CREATE FUNCTION ledger_priv.log_check_file(p_file text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_current text := pg_catalog.pg_current_logfile('csvlog');
    v_dir text;
BEGIN
    IF v_current IS NULL THEN
        RAISE EXCEPTION 'The server keeps no CSV log' USING ERRCODE = '55000';
    END IF;
    v_dir := substring(v_current FROM '^(.*)/[^/]*$');
    IF p_file IS NULL OR p_file ~ '(^|/)\.\.(/|$)'
       OR NOT (p_file = v_current
               OR (v_dir IS NOT NULL AND left(p_file, length(v_dir) + 1) = v_dir || '/'
                   AND substr(p_file, length(v_dir) + 2) ~ '^[^/]+\.csv$')) THEN
        RAISE EXCEPTION 'Not a CSV log file of this server: %', left(p_file, 200) USING ERRCODE = '42501';
    END IF;
END
$$;

-- Up to 16 MiB of a log file from an offset (empty past the end, NULL if it is gone).
CREATE FUNCTION ledger_priv.log_read(p_file text, p_offset bigint, p_length integer) RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger_priv.log_check_file(p_file);
    IF p_offset < 0 OR p_length < 0 THEN
        RAISE EXCEPTION 'Negative offset or length' USING ERRCODE = '22023';
    END IF;
    RETURN pg_catalog.pg_read_binary_file(p_file, p_offset, least(p_length, 16 * 1024 * 1024), true);
END
$$;

CREATE FUNCTION ledger_priv.log_size(p_file text) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger_priv.log_check_file(p_file);
    RETURN (pg_catalog.pg_stat_file(p_file, true)).size;
END
$$;

DO $owners$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['ledger_priv.log_current()', 'ledger_priv.log_check_file(text)',
                             'ledger_priv.log_read(text, bigint, integer)', 'ledger_priv.log_size(text)']
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO ledger_log_reader', f);
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO ledger_owner, ledger_log_reader', f);
    END LOOP;
END
$owners$;

SET LOCAL ROLE ledger_owner;

ALTER TABLE access.auth_log_position
    ADD COLUMN file_head bytea,      -- the file's first bytes when we started on it
    ADD COLUMN skip_from bigint,     -- skipping an oversized record that starts here
    ADD COLUMN skip_quotes_odd boolean NOT NULL DEFAULT false;

DROP FUNCTION access.collect_signin_failures();
DROP FUNCTION access.scan_auth_log(text, bigint);
DROP FUNCTION access.record_auth_failure(text[], text);

-- Text of an escape-encoded field: NULL when empty, the decoded UTF-8 when valid, the
-- escaped form (plain ASCII) when not.
CREATE FUNCTION access.log_field_text(p_escaped text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_escaped IS NULL OR p_escaped = '' THEN
        RETURN NULL;
    END IF;
    RETURN convert_from(decode(p_escaped, 'escape'), 'UTF8');
EXCEPTION WHEN OTHERS THEN
    RETURN p_escaped;
END
$$;

-- The 26 fields of one record (escape-encoded text, without its final newline), CSV
-- quoting removed, or NULL when it is not exactly 26 well-formed fields.
CREATE FUNCTION access.log_record_fields(p_record text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_fields text[];
    v_length bigint;
BEGIN
    -- Each token: a quoted field (quotes inside doubled) or a bare one, then ',' or the
    -- record's end. The tokens must cover the record exactly, from its first character.
    SELECT array_agg(CASE WHEN m[1] LIKE '"%' THEN replace(substr(m[1], 2, length(m[1]) - 2), '""', '"')
                          ELSE m[1] END ORDER BY n),
           sum(length(m[1]) + 1)
    INTO v_fields, v_length
    FROM regexp_matches(p_record || E'\n', '("(?:[^"]|"")*"|[^,\n"]*)(,|\n)', 'g') WITH ORDINALITY AS t(m, n);
    IF v_length IS DISTINCT FROM length(p_record) + 1 OR cardinality(v_fields) <> 26 THEN
        RETURN NULL;
    END IF;
    RETURN v_fields;
END
$$;

-- Notes what the collector passed over, as an audit event of the system.
CREATE FUNCTION access.log_note(p_file text, p_offset bigint, p_bytes bigint, p_reason text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, access, pg_temp
AS $$
BEGIN
    PERFORM audit.record_as('(server log)', session_user, 'server_log.skipped', 'server_log', p_file,
                            jsonb_build_object('offset', p_offset, 'bytes', p_bytes, 'reason', p_reason), '{}'::jsonb);
END
$$;

-- Scans one file from a record boundary, records what it finds, and returns how far it
-- got and whether it reached the end of what is written. p_skip_from/p_skip_odd: the state
-- of an oversized record being skipped (NULL: none).
CREATE FUNCTION access.scan_server_log(p_file text, p_offset bigint, p_skip_from bigint, p_skip_odd boolean,
                                       p_budget bigint,
                                       OUT recorded integer, OUT next_offset bigint, OUT skip_from bigint,
                                       OUT skip_odd boolean, OUT at_end boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    c_window constant integer := 16 * 1024 * 1024;
    v_budget bigint := p_budget;
    v_requested integer;
    v_short boolean;
    v_chunk bytea;
    v_text text;
    v_lines text[];
    v_quotes bigint;
    v_consumed bigint;
    v_tail text;
    v_odd boolean;
    r record;
    f text[];
    v_operator text;
    v_session record;
    v_at timestamptz;
    v_reason text;
    v_refusals jsonb := '{}'::jsonb;
    v_failures jsonb := '{}'::jsonb;
    v_key text;
BEGIN
    recorded := 0; next_offset := p_offset; skip_from := p_skip_from; skip_odd := coalesce(p_skip_odd, false);
    at_end := false;
    LOOP
        IF v_budget <= 0 THEN
            EXIT;
        END IF;
        v_requested := least(c_window, v_budget)::integer;
        v_chunk := ledger_priv.log_read(p_file, next_offset, v_requested);
        IF v_chunk IS NULL OR octet_length(v_chunk) = 0 THEN
            at_end := true;
            EXIT;
        END IF;
        v_short := octet_length(v_chunk) < v_requested; -- the end of what is written
        v_budget := v_budget - octet_length(v_chunk);
        v_text := encode(v_chunk, 'escape');
        v_lines := string_to_array(v_text, E'\n');

        IF skip_from IS NOT NULL THEN
            -- Inside an oversized record: find the newline after which no quote is open.
            v_odd := skip_odd;
            v_consumed := NULL;
            FOR i IN 1 .. cardinality(v_lines) LOOP
                v_quotes := length(v_lines[i]) - length(replace(v_lines[i], '"', ''));
                v_odd := v_odd <> (v_quotes % 2 = 1);
                IF i < cardinality(v_lines) AND NOT v_odd THEN
                    v_consumed := octet_length(decode(array_to_string(v_lines[1:i], E'\n'), 'escape')) + 1;
                    EXIT;
                END IF;
            END LOOP;
            IF v_consumed IS NULL THEN
                skip_odd := v_odd;
                next_offset := next_offset + octet_length(v_chunk);
                CONTINUE;
            END IF;
            next_offset := next_offset + v_consumed;
            PERFORM access.log_note(p_file, skip_from, next_offset - skip_from,
                                    'record longer than 16 MiB (a huge statement in the log); not read');
            skip_from := NULL;
            skip_odd := false;
            CONTINUE;
        END IF;

        v_consumed := 0;
        FOR r IN
            WITH lines AS (
                SELECT l.n, l.line, (length(l.line) - length(replace(l.line, '"', ''))) % 2 AS odd
                FROM unnest(v_lines) WITH ORDINALITY AS l(line, n)
            ), marked AS (
                SELECT n, line, (sum(odd) OVER (ORDER BY n) % 2 = 0 AND n < cardinality(v_lines)) AS is_end
                FROM lines
            ), grouped AS (
                SELECT n, line, is_end,
                       coalesce(count(*) FILTER (WHERE is_end) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS rec
                FROM marked
            )
            SELECT g.rec, string_agg(g.line, E'\n' ORDER BY g.n) AS body, bool_or(g.is_end) AS complete
            FROM grouped g GROUP BY g.rec ORDER BY g.rec
        LOOP
            IF NOT r.complete THEN
                v_tail := r.body;
                CONTINUE;
            END IF;
            -- Only records that may matter are split into fields: a refused login or a
            -- session refusal (SQLSTATE is never translated).
            CONTINUE WHEN r.body !~ ',(28P01|28000|LG041|LG042|LG044),';
            f := access.log_record_fields(r.body);
            IF f IS NULL THEN
                PERFORM access.log_note(p_file, next_offset, NULL, 'not a CSV log record of 26 fields');
                CONTINUE;
            END IF;
            -- Field numbers (PostgreSQL 15): 1 time, 2 user, 5 connection from, 8 command
            -- tag, 13 SQLSTATE, 14 message, 19 context, 23 application.
            BEGIN
                v_at := f[1]::timestamptz;
            EXCEPTION WHEN OTHERS THEN
                PERFORM access.log_note(p_file, next_offset, NULL, 'a record without a valid time');
                CONTINUE;
            END;
            IF f[13] IN ('28P01', '28000') AND f[8] = 'authentication' THEN
                SELECT o.name INTO v_operator FROM access.operators o WHERE o.broker_role = f[2];
                IF v_operator IS NULL THEN
                    SELECT s.operator INTO v_operator FROM access.sessions s WHERE s.role_name = f[2];
                END IF;
                CONTINUE WHEN v_operator IS NULL; -- not a console login
                -- One event per role, address and SQLSTATE in each call, with a count: a
                -- flood of failed attempts is one event, not thousands.
                v_key := f[2] || ' ' || coalesce(access.log_field_text(f[5]), '') || ' ' || f[13];
                v_failures := jsonb_set(v_failures, ARRAY[v_key], jsonb_strip_nulls(jsonb_build_object(
                    'role', f[2], 'operator', v_operator, 'sqlstate', f[13],
                    'from', access.log_field_text(f[5]),
                    'first_at', coalesce(v_failures->v_key->'first_at', to_jsonb(f[1])),
                    'last_at', f[1],
                    'count', coalesce((v_failures->v_key->>'count')::integer, 0) + 1,
                    'message', coalesce(v_failures->v_key->>'message', left(access.log_field_text(f[14]), 300)),
                    'application', coalesce(v_failures->v_key->>'application',
                                            left(access.log_field_text(f[23]), 64)))));
                recorded := recorded + 1;
            ELSIF f[13] IN ('LG041', 'LG042', 'LG044')
                  AND split_part(coalesce(f[19], ''), E'\n', 1) ~ '(^|[ .])check_session\(\)' THEN
                SELECT s.operator, s.expires_at, s.ended_at, s.end_reason INTO v_session
                FROM access.sessions s WHERE s.role_name = f[2];
                CONTINUE WHEN v_session.operator IS NULL;
                v_reason := CASE f[13] WHEN 'LG041' THEN 'expired' WHEN 'LG042' THEN 'revoked' ELSE 'ended' END;
                -- Only what the session's own state at that time justifies.
                CONTINUE WHEN NOT CASE v_reason
                    WHEN 'expired' THEN v_session.expires_at <= v_at + interval '1 second'
                    WHEN 'revoked' THEN v_session.end_reason = 'revoked' AND v_session.ended_at <= v_at + interval '1 second'
                    ELSE v_session.end_reason = 'ended' AND v_session.ended_at <= v_at + interval '1 second' END;
                v_key := f[2] || ' ' || v_reason;
                v_refusals := jsonb_set(v_refusals, ARRAY[v_key], jsonb_build_object(
                    'role', f[2], 'operator', v_session.operator, 'reason', v_reason,
                    'first_at', coalesce(v_refusals->v_key->'first_at', to_jsonb(f[1])),
                    'last_at', f[1],
                    'count', coalesce((v_refusals->v_key->>'count')::integer, 0) + 1,
                    'application', left(access.log_field_text(f[23]), 64),
                    'address', access.log_field_text(f[5])));
                recorded := recorded + 1;
            END IF;
        END LOOP;
        v_consumed := octet_length(v_chunk) - octet_length(decode(coalesce(v_tail, ''), 'escape'));
        v_tail := NULL;
        IF v_consumed = 0 THEN
            IF v_short THEN
                at_end := true; -- a record still being written (or cut by a crash): next time
                EXIT;
            END IF;
            IF v_requested < c_window THEN
                EXIT; -- out of budget
            END IF;
            -- One record fills the whole window: skip it to its end.
            skip_from := next_offset;
            v_quotes := length(v_text) - length(replace(v_text, '"', ''));
            skip_odd := v_quotes % 2 = 1;
            next_offset := next_offset + octet_length(v_chunk);
            CONTINUE;
        END IF;
        next_offset := next_offset + v_consumed;
        IF v_short THEN
            at_end := true;
            EXIT;
        END IF;
    END LOOP;

    FOR r IN SELECT value AS v FROM jsonb_each(v_failures) ORDER BY value->>'first_at' LOOP
        PERFORM audit.record_as('(not signed in)', r.v->>'role', 'session.signin_failed', 'operator', r.v->>'operator',
                                jsonb_strip_nulls(jsonb_build_object(
                                    'role', r.v->>'role', 'at', r.v->>'first_at', 'last_at', r.v->>'last_at',
                                    'count', (r.v->>'count')::integer, 'from', r.v->>'from',
                                    'sqlstate', r.v->>'sqlstate', 'message', r.v->>'message', 'log_file', p_file)),
                                jsonb_strip_nulls(jsonb_build_object('address', r.v->>'from',
                                                                     'application', r.v->>'application')));
    END LOOP;
    FOR r IN SELECT value AS v FROM jsonb_each(v_refusals) LOOP
        PERFORM audit.record_as(r.v->>'operator', r.v->>'role', 'session.refused', 'session', r.v->>'role',
                                jsonb_strip_nulls(jsonb_build_object(
                                    'reason', r.v->>'reason', 'at', r.v->>'first_at', 'last_at', r.v->>'last_at',
                                    'count', (r.v->>'count')::integer, 'log_file', p_file)),
                                jsonb_strip_nulls(jsonb_build_object('application', r.v->>'application',
                                                                     'address', r.v->>'address')));
    END LOOP;
END
$$;

-- Reads what is new in the server's CSV log (at most p_budget bytes) and records refused
-- sign-ins and session refusals; returns how many it found (each kind is recorded as one
-- event per role and reason with a count), NULL when the server keeps no CSV log. One
-- collector at a time (see p_wait).
CREATE FUNCTION access.collect_signin_failures(p_budget bigint DEFAULT 268435456, p_wait boolean DEFAULT true)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    v_current text;
    v_pos access.auth_log_position;
    v_scan record;
    v_total integer := 0;
    v_head bytea;
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
    UPDATE access.auth_log_position
    SET log_file = v_current, byte_offset = v_scan.next_offset, skip_from = v_scan.skip_from,
        skip_quotes_odd = v_scan.skip_odd, read_at = clock_timestamp(),
        -- Remembered once a whole first record is behind us, so that it cannot change.
        file_head = CASE WHEN v_pos.file_head IS NOT NULL THEN v_pos.file_head
                         WHEN v_scan.next_offset > 0 THEN substring(v_head FROM 1 FOR least(64, v_scan.next_offset)::integer)
                         END;
    RETURN v_total;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA access FROM PUBLIC;
GRANT EXECUTE ON FUNCTION access.issue_session(text, interval, jsonb) TO console_broker;
GRANT EXECUTE ON FUNCTION access.check_session() TO console_operator, console_supervisor, console_auditor,
    console_compliance, ledger_writer;
GRANT EXECUTE ON FUNCTION access.session_info(), access.renew_session(interval), access.end_session()
    TO console_operator, console_supervisor, console_auditor, console_compliance;

-- How much of the current CSV log the collector has not read yet, in bytes (0 when it is
-- up to date; NULL without a CSV log). ledgerctl access reap reports it: a log written faster
-- than the collector reads it falls behind, and an administrator should know.
CREATE FUNCTION access.server_log_backlog() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    v_current text := ledger_priv.log_current();
    v_pos access.auth_log_position;
BEGIN
    IF v_current IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_pos FROM access.auth_log_position;
    RETURN greatest(coalesce(ledger_priv.log_size(v_current), 0)
                    - CASE WHEN v_pos.log_file = v_current THEN v_pos.byte_offset ELSE 0 END, 0);
END
$$;
REVOKE EXECUTE ON FUNCTION access.server_log_backlog() FROM PUBLIC;

-- Where the old collector stopped, as the first bytes of its file (no re-reading).
RESET ROLE;
UPDATE access.auth_log_position p
SET file_head = substring(ledger_priv.log_read(p.log_file, 0, 64) FROM 1 FOR least(64, p.byte_offset)::integer)
WHERE p.log_file IS NOT NULL AND p.byte_offset > 0 AND ledger_priv.log_current() IS NOT NULL;
