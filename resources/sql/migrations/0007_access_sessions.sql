-- Time-limited credentials (CONTRIBUTING.md, "Architecture"). Each operator has a
-- broker login (a long-lived secret, kept in the OS keychain by the console) whose only
-- right is access.issue_session(). That mints a login role that lives minutes: a member
-- of the operator's functional groups only, owning nothing, VALID UNTIL a UTC time, with
-- idle timeouts. Every console-facing function and view refuses once the session has
-- expired or been revoked, also on a connection that is still open (VALID UNTIL alone
-- only stops new logins). access.reap() terminates what is left and drops the roles.

-- The owner mints and drops session roles and ends their backends (as the superuser).
ALTER ROLE ledger_owner CREATEROLE;
GRANT pg_signal_backend TO ledger_owner;

SET LOCAL ROLE ledger_owner;

CREATE TABLE access.settings (
    singleton                    boolean  PRIMARY KEY DEFAULT true CHECK (singleton),
    default_ttl                  interval NOT NULL DEFAULT '30 minutes',
    max_ttl                      interval NOT NULL DEFAULT '1 hour',   -- per issue or renewal
    max_lifetime                 interval NOT NULL DEFAULT '8 hours',  -- from issue, renewals included
    issue_limit_per_minute       integer  NOT NULL DEFAULT 10 CHECK (issue_limit_per_minute > 0),
    idle_session_timeout         interval NOT NULL DEFAULT '15 minutes',
    idle_in_transaction_timeout  interval NOT NULL DEFAULT '1 minute',
    CHECK (default_ttl > interval '0' AND default_ttl <= max_ttl AND max_ttl <= max_lifetime)
);
INSERT INTO access.settings DEFAULT VALUES;
COMMENT ON TABLE access.settings IS 'Session lifetimes and limits. Change with UPDATE as the owner (a DBA).';

CREATE TABLE access.operators (
    name        text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{1,40}$'),
    broker_role text        NOT NULL UNIQUE,
    groups      text[]      NOT NULL CHECK (cardinality(groups) >= 1 AND groups <@ ARRAY[
                    'console_operator', 'console_supervisor', 'console_auditor', 'console_compliance']::text[]),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by  text        NOT NULL DEFAULT session_user,
    disabled_at timestamptz,
    disabled_by text
);

CREATE TABLE access.sessions (
    role_name  text        PRIMARY KEY,
    operator   text        NOT NULL REFERENCES access.operators (name),
    groups     text[]      NOT NULL,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    max_until  timestamptz NOT NULL,
    client     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    renewals   integer     NOT NULL DEFAULT 0,
    ended_at   timestamptz,
    end_reason text        CHECK (end_reason IN ('ended', 'revoked', 'expired')),
    reaped_at  timestamptz,
    reap_note  text,
    CHECK (expires_at <= max_until)
);
CREATE INDEX sessions_by_operator ON access.sessions (operator, issued_at);
CREATE INDEX sessions_unreaped ON access.sessions (expires_at) WHERE reaped_at IS NULL;

-- Rows change only inside the owner's functions (each change is audited); never removed.
CREATE FUNCTION access.guard_owner_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_user = 'ledger_owner' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on %.% is not allowed outside the access functions', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'LG001';
END
$$;
DO $guards$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['operators', 'sessions'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON access.%I FOR EACH ROW '
                       'EXECUTE FUNCTION access.guard_owner_only()', t || '_guard', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON access.%I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION ledger.refuse_change()', t || '_no_truncate', t);
        EXECUTE format('ALTER TABLE access.%I ENABLE ALWAYS TRIGGER %I', t, t || '_guard');
        EXECUTE format('ALTER TABLE access.%I ENABLE ALWAYS TRIGGER %I', t, t || '_no_truncate');
    END LOOP;
END
$guards$;

-- The operator behind the connection: a session's operator, a broker login's operator, or
-- (DBAs, services, tests) the login role itself.
CREATE OR REPLACE FUNCTION audit.current_operator() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT coalesce((SELECT s.operator FROM access.sessions s WHERE s.role_name = session_user),
                    (SELECT o.name FROM access.operators o WHERE o.broker_role = session_user),
                    session_user::text)
$$;

-- UTC text for VALID UNTIL: never the server's or the client's time zone.
CREATE FUNCTION access.utc_literal(p timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' $$;

-- Refuses, with its own SQLSTATE, a console session that has expired or was ended or
-- revoked. Other logins (DBAs, services) pass. Called first by every console-facing
-- function and in the WHERE clause of every console view (evaluated once per query).
CREATE FUNCTION access.check_session() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    s record;
BEGIN
    SELECT x.expires_at, x.ended_at, x.end_reason INTO s FROM access.sessions x WHERE x.role_name = session_user;
    IF NOT FOUND THEN
        RETURN true;
    END IF;
    IF s.end_reason = 'revoked' THEN
        RAISE EXCEPTION 'This session was revoked at % UTC by an administrator', to_char(s.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            USING ERRCODE = 'LG042', HINT = 'Sign in again; ask an administrator if that is refused.';
    END IF;
    IF s.ended_at IS NOT NULL THEN
        RAISE EXCEPTION 'This session was ended at % UTC', to_char(s.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            USING ERRCODE = 'LG044', HINT = 'Sign in again.';
    END IF;
    IF s.expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION 'This session expired at % UTC', to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            USING ERRCODE = 'LG041', HINT = 'Sign in again to continue.';
    END IF;
    RETURN true;
END
$$;

CREATE FUNCTION access.issue_session(p_ttl interval DEFAULT NULL, p_client jsonb DEFAULT '{}'::jsonb)
RETURNS TABLE (role_name text, password text, expires_at timestamptz, max_until timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_op record;
    v_cfg access.settings;
    v_now timestamptz := clock_timestamp();
    v_ttl interval;
    v_recent integer;
    v_role text;
    v_password text;
    v_expires timestamptz;
    v_max timestamptz;
BEGIN
    SELECT * INTO v_op FROM access.operators o WHERE o.broker_role = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Only an operator''s broker login may issue sessions' USING ERRCODE = '42501';
    END IF;
    IF v_op.disabled_at IS NOT NULL THEN
        RAISE EXCEPTION 'Operator % is disabled', v_op.name USING ERRCODE = 'LG040';
    END IF;
    SELECT * INTO v_cfg FROM access.settings;
    PERFORM pg_advisory_xact_lock(hashtextextended('access.issue:' || v_op.name, 0));
    SELECT count(*) INTO v_recent FROM access.sessions s WHERE s.operator = v_op.name AND s.issued_at > v_now - interval '1 minute';
    IF v_recent >= v_cfg.issue_limit_per_minute THEN
        RAISE EXCEPTION 'Too many sign-ins for % in the last minute (at most %); wait a minute and try again',
            v_op.name, v_cfg.issue_limit_per_minute USING ERRCODE = 'LG043';
    END IF;
    v_ttl := coalesce(p_ttl, v_cfg.default_ttl);
    IF v_ttl < interval '1 second' OR v_ttl > v_cfg.max_ttl THEN
        RAISE EXCEPTION 'A session lasts from 1 second to % at a time, not %', v_cfg.max_ttl, v_ttl USING ERRCODE = 'LG045';
    END IF;
    -- Traceable: the operator's name, then randomness (gen_random_uuid is a CSPRNG).
    v_role := format('lc_s_%s_%s', v_op.name, left(replace(gen_random_uuid()::text, '-', ''), 12));
    v_password := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    v_max := v_now + v_cfg.max_lifetime;
    v_expires := least(v_now + v_ttl, v_max);
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L VALID UNTIL %L CONNECTION LIMIT 8 IN ROLE %s',
                   v_role, v_password, access.utc_literal(v_expires),
                   (SELECT string_agg(quote_ident(g), ', ') FROM unnest(v_op.groups) g));
    EXECUTE format('ALTER ROLE %I SET idle_session_timeout = %L', v_role,
                   (extract(epoch FROM v_cfg.idle_session_timeout) * 1000)::bigint || 'ms');
    EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', v_role,
                   (extract(epoch FROM v_cfg.idle_in_transaction_timeout) * 1000)::bigint || 'ms');
    INSERT INTO access.sessions (role_name, operator, groups, issued_at, expires_at, max_until, client)
    VALUES (v_role, v_op.name, v_op.groups, v_now, v_expires, v_max,
            coalesce(p_client, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object('address', host(inet_client_addr()))));
    PERFORM audit.record('session.issued', 'session', v_role,
                         jsonb_build_object('expires_at', v_expires, 'max_until', v_max, 'groups', v_op.groups,
                                            'client', coalesce(p_client, '{}'::jsonb)));
    RETURN QUERY SELECT v_role, v_password, v_expires, v_max;
END
$$;

-- The caller's own session, for the console's status bar.
CREATE FUNCTION access.session_info(OUT role_name text, OUT operator text, OUT groups text[],
                                    OUT issued_at timestamptz, OUT expires_at timestamptz,
                                    OUT max_until timestamptz, OUT server_now timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT s.role_name, s.operator, s.groups, s.issued_at, s.expires_at, s.max_until, clock_timestamp()
    INTO role_name, operator, groups, issued_at, expires_at, max_until, server_now
    FROM access.sessions s WHERE s.role_name = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'This connection is not a time-limited console session' USING ERRCODE = 'LG046';
    END IF;
END
$$;

CREATE FUNCTION access.renew_session(p_ttl interval DEFAULT NULL) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    s access.sessions;
    v_cfg access.settings;
    v_new timestamptz;
BEGIN
    PERFORM access.check_session();
    SELECT * INTO s FROM access.sessions x WHERE x.role_name = session_user FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'This connection is not a time-limited console session' USING ERRCODE = 'LG046';
    END IF;
    SELECT * INTO v_cfg FROM access.settings;
    IF coalesce(p_ttl, v_cfg.default_ttl) < interval '1 second' OR coalesce(p_ttl, v_cfg.default_ttl) > v_cfg.max_ttl THEN
        RAISE EXCEPTION 'A session is renewed by 1 second to %, not %', v_cfg.max_ttl, p_ttl USING ERRCODE = 'LG045';
    END IF;
    v_new := least(clock_timestamp() + coalesce(p_ttl, v_cfg.default_ttl), s.max_until);
    IF v_new <= s.expires_at THEN
        RETURN s.expires_at; -- already at the maximum lifetime: sign in again when it ends
    END IF;
    EXECUTE format('ALTER ROLE %I VALID UNTIL %L', s.role_name, access.utc_literal(v_new));
    UPDATE access.sessions x SET expires_at = v_new, renewals = x.renewals + 1 WHERE x.role_name = s.role_name;
    PERFORM audit.record('session.renewed', 'session', s.role_name,
                         jsonb_build_object('expires_at', v_new, 'renewal', s.renewals + 1));
    RETURN v_new;
END
$$;

-- Ends the caller's own session (sign-out). The role can no longer log in; the reaper
-- drops it.
CREATE FUNCTION access.end_session() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_role text;
BEGIN
    UPDATE access.sessions x SET ended_at = clock_timestamp(), end_reason = 'ended'
    WHERE x.role_name = session_user AND x.ended_at IS NULL
    RETURNING x.role_name INTO v_role;
    IF v_role IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('ALTER ROLE %I NOLOGIN', v_role);
    PERFORM audit.record('session.ended', 'session', v_role, '{}'::jsonb);
END
$$;

-- Ends every open session of an operator now (administrators). Their next call is
-- refused as revoked; the reaper terminates the connections and drops the roles.
CREATE FUNCTION access.revoke_operator_sessions(p_operator text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    s record;
    v_count integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM access.operators o WHERE o.name = p_operator) THEN
        RAISE EXCEPTION 'No operator named "%"', p_operator USING ERRCODE = 'LG047';
    END IF;
    FOR s IN SELECT x.role_name FROM access.sessions x
             WHERE x.operator = p_operator AND x.ended_at IS NULL AND x.reaped_at IS NULL
               AND x.expires_at > clock_timestamp() -- expired ones are dead already; the reaper ends them
             ORDER BY x.role_name FOR UPDATE
    LOOP
        UPDATE access.sessions x SET ended_at = clock_timestamp(), end_reason = 'revoked' WHERE x.role_name = s.role_name;
        EXECUTE format('ALTER ROLE %I NOLOGIN', s.role_name);
        PERFORM audit.record('session.revoked', 'session', s.role_name, jsonb_build_object('operator', p_operator));
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;

-- Terminates the connections of sessions that expired, ended or were revoked, drops their
-- roles, and records it. Safe to run any time and from several places at once.
CREATE FUNCTION access.reap(OUT sessions_reaped integer, OUT connections_terminated integer, OUT roles_kept integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    s record;
    v_terminated integer;
    v_note text;
BEGIN
    sessions_reaped := 0; connections_terminated := 0; roles_kept := 0;
    FOR s IN SELECT x.role_name, x.ended_at, x.expires_at FROM access.sessions x
             WHERE x.reaped_at IS NULL AND (x.ended_at IS NOT NULL OR x.expires_at <= clock_timestamp())
             ORDER BY x.expires_at
             FOR UPDATE SKIP LOCKED
    LOOP
        -- Nobody logs in again while we work (an expired role can't anyway).
        EXECUTE format('ALTER ROLE %I NOLOGIN', s.role_name);
        SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid, 5000)) INTO v_terminated
        FROM pg_stat_activity a WHERE a.usename = s.role_name;
        v_note := NULL;
        BEGIN
            EXECUTE format('DROP ROLE IF EXISTS %I', s.role_name);
        EXCEPTION WHEN dependent_objects_still_exist OR object_in_use THEN
            -- Kept NOLOGIN; the next reap tries again. Says why in the session row.
            v_note := SQLERRM;
        END;
        UPDATE access.sessions x
        SET ended_at = coalesce(x.ended_at, x.expires_at),
            end_reason = coalesce(x.end_reason, 'expired'),
            reaped_at = CASE WHEN v_note IS NULL THEN clock_timestamp() END,
            reap_note = v_note
        WHERE x.role_name = s.role_name;
        PERFORM audit.record('session.reaped', 'session', s.role_name,
                             jsonb_strip_nulls(jsonb_build_object('connections_terminated', v_terminated,
                                                                  'role_dropped', v_note IS NULL, 'note', v_note)));
        connections_terminated := connections_terminated + v_terminated;
        IF v_note IS NULL THEN
            sessions_reaped := sessions_reaped + 1;
        ELSE
            roles_kept := roles_kept + 1;
        END IF;
    END LOOP;
END
$$;

-- Operators (administrators, through ledgerctl as a superuser).
CREATE FUNCTION access.add_operator(p_name text, p_groups text[], p_secret text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_broker text := 'lc_op_' || p_name;
BEGIN
    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_]{1,40}$' THEN
        RAISE EXCEPTION 'Operator name "%" is not valid: 2-41 lowercase letters, digits and _, starting with a letter', p_name
            USING ERRCODE = 'LG047';
    END IF;
    IF EXISTS (SELECT 1 FROM access.operators o WHERE o.name = p_name) THEN
        RAISE EXCEPTION 'Operator % already exists', p_name USING ERRCODE = 'LG048';
    END IF;
    IF p_groups IS NULL OR cardinality(p_groups) = 0 OR NOT p_groups <@ ARRAY['console_operator', 'console_supervisor',
            'console_auditor', 'console_compliance']::text[] THEN
        RAISE EXCEPTION 'Groups must be some of console_operator, console_supervisor, console_auditor, console_compliance'
            USING ERRCODE = 'LG047';
    END IF;
    IF p_secret IS NULL OR length(p_secret) < 16 THEN
        RAISE EXCEPTION 'The secret must be at least 16 characters' USING ERRCODE = 'LG047';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = v_broker) THEN
        RAISE EXCEPTION 'A database role % already exists; remove it or choose another operator name', v_broker
            USING ERRCODE = 'LG048';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE console_broker', v_broker, p_secret);
    INSERT INTO access.operators (name, broker_role, groups) VALUES (p_name, v_broker, p_groups);
    PERFORM audit.record('operator.added', 'operator', p_name, jsonb_build_object('groups', p_groups));
    RETURN v_broker;
END
$$;

CREATE FUNCTION access.disable_operator(p_name text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_broker text;
    v_revoked integer;
BEGIN
    UPDATE access.operators o SET disabled_at = clock_timestamp(), disabled_by = session_user
    WHERE o.name = p_name AND o.disabled_at IS NULL
    RETURNING o.broker_role INTO v_broker;
    IF v_broker IS NULL THEN
        RAISE EXCEPTION 'No active operator named "%"', p_name USING ERRCODE = 'LG047';
    END IF;
    EXECUTE format('ALTER ROLE %I NOLOGIN', v_broker);
    v_revoked := access.revoke_operator_sessions(p_name);
    PERFORM audit.record('operator.disabled', 'operator', p_name, jsonb_build_object('sessions_revoked', v_revoked));
    RETURN v_revoked;
END
$$;

CREATE FUNCTION access.set_operator_secret(p_name text, p_secret text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    v_broker text;
BEGIN
    SELECT o.broker_role INTO v_broker FROM access.operators o WHERE o.name = p_name AND o.disabled_at IS NULL;
    IF v_broker IS NULL THEN
        RAISE EXCEPTION 'No active operator named "%"', p_name USING ERRCODE = 'LG047';
    END IF;
    IF p_secret IS NULL OR length(p_secret) < 16 THEN
        RAISE EXCEPTION 'The secret must be at least 16 characters' USING ERRCODE = 'LG047';
    END IF;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', v_broker, p_secret);
    PERFORM audit.record('operator.secret_changed', 'operator', p_name, '{}'::jsonb);
END
$$;

CREATE VIEW access.session_list AS
SELECT s.role_name, s.operator, s.groups, s.issued_at, s.expires_at, s.max_until, s.renewals,
       s.ended_at, s.end_reason, s.reaped_at, s.reap_note, s.client,
       CASE WHEN s.reaped_at IS NOT NULL THEN 'reaped'
            WHEN s.end_reason IS NOT NULL THEN s.end_reason
            WHEN s.expires_at <= clock_timestamp() THEN 'expired'
            ELSE 'active' END AS state,
       (SELECT count(*) FROM pg_stat_activity a WHERE a.usename = s.role_name) AS connections
FROM access.sessions s;

-- Console views refuse an expired or revoked session too (a one-time filter per query).
CREATE OR REPLACE VIEW ledger.account_list AS
SELECT a.id, a.code, a.name, a.currency, a.kind, a.normal_side, a.allow_negative, a.opened_at,
       CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END AS balance_minor,
       h.last_seq AS entry_count
FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id = a.id
WHERE access.check_session();

CREATE OR REPLACE VIEW ledger.transaction_list AS
SELECT t.id, t.idempotency_key, t.kind, t.effective_at, t.recorded_at, t.description, t.external_ref,
       t.reverses, r.id AS reversed_by, t.created_by, t.created_role
FROM ledger.transactions t
LEFT JOIN ledger.transactions r ON r.reverses = t.id
WHERE access.check_session();

CREATE OR REPLACE VIEW ledger.entry_list AS
SELECT e.id, e.transaction_id, e.account_id, a.code AS account, e.amount, e.currency, e.effective_at,
       e.recorded_at, e.account_seq, e.balance_after
FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
WHERE access.check_session();

CREATE OR REPLACE VIEW ledger.reversal_request_status AS
SELECT r.id, r.transaction_id, r.reason_code, r.note, r.rebook IS NOT NULL AS rebook,
       r.requested_by, r.requested_at,
       coalesce(d.decision, 'pending') AS state,
       d.decided_by, d.decided_at, d.note AS decision_note,
       d.reversal_transaction_id, d.rebook_transaction_id
FROM ledger.reversal_requests r
LEFT JOIN ledger.reversal_decisions d ON d.request_id = r.id
WHERE access.check_session();

CREATE OR REPLACE VIEW ledger.reason_code_list AS
SELECT code, description FROM ledger.reason_codes WHERE access.check_session();

CREATE OR REPLACE VIEW audit.event_log AS
SELECT id, occurred_at, operator, session_role, action, object_type, object_id, details, client_info
FROM audit.events WHERE access.check_session();

-- Console-facing functions check the session first: the originals are renamed and
-- wrapped under their old names (grants stay with the names the console calls).
ALTER FUNCTION ledger.balance(text, timestamptz, timestamptz) RENAME TO balance_unchecked;
REVOKE EXECUTE ON FUNCTION ledger.balance_unchecked(text, timestamptz, timestamptz)
    FROM console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;
CREATE FUNCTION ledger.balance(p_account text, p_effective timestamptz DEFAULT NULL, p_known_at timestamptz DEFAULT NULL,
                               OUT account text, OUT currency text, OUT amount text, OUT minor_units bigint,
                               OUT effective_at timestamptz, OUT known_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT * INTO account, currency, amount, minor_units, effective_at, known_at
    FROM ledger.balance_unchecked(p_account, p_effective, p_known_at);
END
$$;

ALTER FUNCTION ledger.request_reversal(bigint, text, text, jsonb) RENAME TO request_reversal_unchecked;
REVOKE EXECUTE ON FUNCTION ledger.request_reversal_unchecked(bigint, text, text, jsonb)
    FROM console_operator, console_supervisor;
CREATE FUNCTION ledger.request_reversal(p_transaction bigint, p_reason text, p_note text, p_rebook jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
BEGIN
    PERFORM access.check_session();
    RETURN ledger.request_reversal_unchecked(p_transaction, p_reason, p_note, p_rebook);
END
$$;

CREATE OR REPLACE FUNCTION ledger.approve_reversal(p_request bigint, p_note text DEFAULT NULL,
                                                   OUT reversal_transaction_id bigint, OUT rebook_transaction_id bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT d.reversal_transaction_id, d.rebook_transaction_id INTO reversal_transaction_id, rebook_transaction_id
    FROM ledger.decide_reversal(p_request, true, p_note) d;
END
$$;

CREATE OR REPLACE FUNCTION ledger.reject_reversal(p_request bigint, p_note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.decide_reversal(p_request, false, p_note);
END
$$;

REVOKE EXECUTE ON FUNCTION ledger.balance(text, timestamptz, timestamptz), ledger.request_reversal(bigint, text, text, jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.balance(text, timestamptz, timestamptz)
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.request_reversal(bigint, text, text, jsonb) TO console_operator, console_supervisor;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA access FROM PUBLIC;
GRANT EXECUTE ON FUNCTION access.check_session() TO console_operator, console_supervisor, console_auditor,
    console_compliance, ledger_writer;
GRANT EXECUTE ON FUNCTION access.issue_session(interval, jsonb) TO console_broker;
GRANT EXECUTE ON FUNCTION access.session_info(), access.renew_session(interval), access.end_session()
    TO console_operator, console_supervisor, console_auditor, console_compliance;

-- A scheduled reaper where pg_cron is installed in this database; `ledgerctl access reap`
-- (run it from cron or a timer) everywhere else. Scheduled as the migrating superuser.
RESET ROLE;
DO $cron$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        EXECUTE $$SELECT cron.schedule('ledger-reap-sessions', '* * * * *', 'SELECT access.reap()')$$;
    END IF;
END
$cron$;
