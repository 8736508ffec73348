-- Step 6, least privilege and sessions that cannot be bent (CONTRIBUTING.md, "Architecture").
--
-- Until now ledger_owner, under which every SECURITY DEFINER function runs, held
-- CREATEROLE, pg_signal_backend, pg_read_all_settings, dblink and the server-file
-- functions: one hole in any of about 70 functions would have been a cluster compromise.
-- Now the owner holds no cluster-wide power at all. The things that need one are small
-- definer functions in schema ledger_priv, each owned by a NOLOGIN role that holds exactly
-- its one right, executable by ledger_owner only. The schema belongs to the migrating
-- superuser, not to ledger_owner: a subverted owner can neither replace these functions nor
-- the checks they call (a schema's owner may drop anything in it).
--
--   ledger_role_admin       CREATEROLE (and read access to pg_authid's verifiers): mints,
--                           alters and drops the console's own roles (session roles
--                           lc_s_<operator>_<12 hex>, broker logins lc_op_<operator>),
--                           never any other role, and only into the console groups.
--   ledger_session_control  pg_signal_backend + pg_read_all_stats: terminates backends of
--                           those roles (the reaper, idle limits, a disabled operator).
--   ledger_log_reader       pg_current_logfile, pg_read_binary_file, pg_stat_file: reads
--                           the server's CSV log, and only files beside the current one
--                           (0022_server_log.sql).
--
-- The audit loopback (0008: dblink, a login with its password in a table, the owner reading
-- every setting to find the socket) is gone: a refusal is recorded from the server's own log
-- instead (0022). Advisory locks are no longer PUBLIC: a console or broker login can no
-- longer take or block the locks the ledger relies on. Roles are cluster-wide: migrate every
-- ledger database of a cluster to this version together.
--
-- Sessions:
--  * passwords never cross the wire or appear in SQL text: the client sends a SCRAM-SHA-256
--    verifier it computed (services/session/ScramVerifier), the role is created with it, and
--    the session's password exists only in the client's memory. The same for operators'
--    broker secrets (ledgerctl computes the verifier);
--  * a password a session or a broker sets for itself (ALTER ROLE ... PASSWORD, which
--    PostgreSQL allows any role) is noticed by the reaper (pg_cron every minute) and at
--    renewal: the session is revoked, the broker may not sign in again until an
--    administrator sets a new secret, and both are audited;
--  * connection limits for brokers and sessions, a cap on open sessions per operator, and
--    idle limits enforced by the reaper from pg_stat_activity (a session may change its own
--    idle_session_timeout; it cannot stop the reaper);
--  * the sign-in rate limit holds under every isolation level: each sign-in updates its
--    operator's row before counting, so concurrent REPEATABLE READ sign-ins serialise on it
--    (one succeeds, the others fail with 40001 and may retry) instead of counting on
--    snapshots that miss each other;
--  * the client information a sign-in records is bounded to what the client knows
--    (application, version, host); the address is the server's.

-------------------------------------------------------------------------------------------
-- The roles, and what the owner gives up.
-------------------------------------------------------------------------------------------
DO $roles$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('ledger_role_admin',      'Mints, alters and drops the console''s session and broker roles (ledger_priv). Nobody logs in as it.'),
        ('ledger_session_control', 'Terminates backends of console session and broker roles (ledger_priv). Nobody logs in as it.'),
        ('ledger_log_reader',      'Reads the server''s CSV log for the audit trail (ledger_priv). Nobody logs in as it.')
    ) AS t(name, purpose)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r.name);
        END IF;
        EXECUTE format('ALTER ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS INHERIT', r.name);
        EXECUTE format('COMMENT ON ROLE %I IS %L', r.name, r.purpose);
    END LOOP;
END
$roles$;

ALTER ROLE ledger_role_admin CREATEROLE;
ALTER ROLE ledger_session_control NOCREATEROLE;
ALTER ROLE ledger_log_reader NOCREATEROLE;
ALTER ROLE ledger_owner NOCREATEROLE;
REVOKE pg_signal_backend FROM ledger_owner;
REVOKE pg_read_all_settings FROM ledger_owner;
GRANT pg_signal_backend, pg_read_all_stats TO ledger_session_control;
-- Per database (pg_authid's ACL lives in this database's pg_class): the verifiers of the
-- console's roles, to notice a password a role set for itself.
GRANT SELECT (rolname, rolpassword) ON pg_catalog.pg_authid TO ledger_role_admin;

REVOKE EXECUTE ON FUNCTION pg_catalog.pg_current_logfile(text) FROM ledger_owner;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_read_file(text, bigint, bigint, boolean) FROM ledger_owner;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) FROM ledger_owner;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_current_logfile(text) TO ledger_log_reader;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO ledger_log_reader;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO ledger_log_reader;

-- Advisory locks: nobody but the owner's functions (and superusers) takes them here.
DO $advisory$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname LIKE 'pg\_%advisory\_%'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO ledger_owner', f);
    END LOOP;
END
$advisory$;

-- Large objects: nothing of the ledger uses them, and a login that creates one owns
-- something outside the ledger's tables (storage without a quota, and an object that keeps
-- its role from being dropped). Nobody but a superuser creates them here.
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
                          pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;

-------------------------------------------------------------------------------------------
-- The audit loopback goes (a refusal is recorded from the server log: 0022).
-------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION access.check_session() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record;
BEGIN
    SELECT x.expires_at, x.ended_at, x.end_reason INTO s FROM access.sessions x WHERE x.role_name = session_user;
    IF NOT FOUND THEN
        RETURN true;
    END IF;
    -- These three errors are the refusal's audit record: the server writes them to its log,
    -- and access.collect_signin_failures() turns them into session.refused events (0022).
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

DROP FUNCTION access.record_refusal(text);
DROP FUNCTION audit.record_refusal(text, text, jsonb);
DO $loopback$
DECLARE
    v_role text;
BEGIN
    SELECT l.role_name INTO v_role FROM access.loopback l;
    DROP TABLE access.loopback;
    IF v_role IS NOT NULL AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
        EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I', current_database(), v_role);
        EXECUTE format('REVOKE ALL ON SCHEMA audit FROM %I', v_role);
        EXECUTE format('DROP OWNED BY %I', v_role);
        EXECUTE format('DROP ROLE %I', v_role);
    END IF;
END
$loopback$;
DROP EXTENSION IF EXISTS dblink;
DROP SCHEMA IF EXISTS ext;

-------------------------------------------------------------------------------------------
-- The privileged helpers. Created by the migrating superuser, then handed to their role;
-- every name is schema-qualified and pg_temp comes last, so nothing a caller can create
-- changes what they do. Each checks its arguments itself: a caller that is not what it
-- should be (a subverted owner function) still gets nothing beyond the console's roles,
-- which matters most for CREATEROLE (in PostgreSQL 15 it may grant pg_read_server_files
-- and friends).
-------------------------------------------------------------------------------------------
RESET ROLE;
CREATE SCHEMA ledger_priv;
COMMENT ON SCHEMA ledger_priv IS 'Privileged helpers of the access functions, each owned by a role holding exactly its one right (0020_least_privilege.sql).';
REVOKE ALL ON SCHEMA ledger_priv FROM PUBLIC;
GRANT USAGE ON SCHEMA ledger_priv TO ledger_owner, ledger_role_admin, ledger_session_control, ledger_log_reader;

-- Console groups a session may join.
CREATE FUNCTION ledger_priv.check_groups(p_groups text[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_groups IS NULL OR cardinality(p_groups) NOT BETWEEN 1 AND 4 OR array_position(p_groups, NULL) IS NOT NULL
       OR NOT p_groups <@ ARRAY['console_operator', 'console_supervisor', 'console_auditor', 'console_compliance']::text[] THEN
        RAISE EXCEPTION 'Groups must be some of console_operator, console_supervisor, console_auditor, console_compliance'
            USING ERRCODE = 'LG047';
    END IF;
END
$$;

-- 'SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>' as PostgreSQL stores it:
-- at least 4096 iterations, a salt of at least 16 bytes, 32-byte keys. Never a password.
CREATE FUNCTION ledger_priv.check_verifier(p_verifier text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text[];
BEGIN
    m := regexp_match(coalesce(p_verifier, ''),
                      '^SCRAM-SHA-256\$([0-9]{4,7}):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]{43}=):([A-Za-z0-9+/]{43}=)$');
    IF m IS NULL OR length(p_verifier) > 400 OR m[1]::integer < 4096
       OR octet_length(decode(m[2], 'base64')) < 16 THEN
        RAISE EXCEPTION 'Expected a SCRAM-SHA-256 password verifier (at least 4096 iterations, a 16-byte salt), not a password'
            USING ERRCODE = 'LG049',
                  HINT = 'ledgerctl and the console compute it; the password itself never goes to the server.';
    END IF;
END
$$;

CREATE FUNCTION ledger_priv.check_console_role(p_role text, p_kind text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_role IS NULL
       OR NOT (CASE p_kind WHEN 'session' THEN p_role ~ '^lc_s_[a-z][a-z0-9_]{1,40}_[0-9a-f]{12}$'
                           WHEN 'broker' THEN p_role ~ '^lc_op_[a-z][a-z0-9_]{1,40}$'
                           WHEN 'any' THEN p_role ~ '^lc_(s_[a-z][a-z0-9_]{1,40}_[0-9a-f]{12}|op_[a-z][a-z0-9_]{1,40})$'
                           ELSE false END)
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_role
                  AND (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls)) THEN
        RAISE EXCEPTION 'Role "%" is not a console % role', left(p_role, 80), p_kind
            USING ERRCODE = '42501';
    END IF;
END
$$;

-- A session role: LOGIN until p_valid_until, members of p_groups only, with its verifier,
-- connection limit and idle timeouts (the reaper enforces idle limits too). The role admin
-- becomes a member of it, so that the reaper can DROP OWNED BY it.
CREATE FUNCTION ledger_priv.create_session_role(p_role text, p_verifier text, p_valid_until timestamptz,
                                               p_groups text[], p_connection_limit integer,
                                               p_idle_session_ms bigint, p_idle_in_transaction_ms bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'session');
    PERFORM ledger_priv.check_verifier(p_verifier);
    PERFORM ledger_priv.check_groups(p_groups);
    IF p_valid_until IS NULL OR p_valid_until > clock_timestamp() + interval '1 day'
       OR p_connection_limit IS NULL OR p_connection_limit NOT BETWEEN 1 AND 20
       OR p_idle_session_ms NOT BETWEEN 1000 AND 86400000 OR p_idle_in_transaction_ms NOT BETWEEN 1000 AND 86400000 THEN
        RAISE EXCEPTION 'Session role limits out of range' USING ERRCODE = '22023';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L VALID UNTIL %L CONNECTION LIMIT %s IN ROLE %s',
                   p_role, p_verifier,
                   to_char(p_valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00',
                   p_connection_limit, (SELECT string_agg(quote_ident(g), ', ') FROM unnest(p_groups) g));
    EXECUTE format('GRANT %I TO ledger_role_admin', p_role);
    EXECUTE format('ALTER ROLE %I SET idle_session_timeout = %L', p_role, p_idle_session_ms || 'ms');
    EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', p_role, p_idle_in_transaction_ms || 'ms');
END
$$;

-- An operator's broker login: member of console_broker only.
CREATE FUNCTION ledger_priv.create_broker(p_role text, p_verifier text, p_connection_limit integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'broker');
    PERFORM ledger_priv.check_verifier(p_verifier);
    IF p_connection_limit IS NULL OR p_connection_limit NOT BETWEEN 1 AND 20 THEN
        RAISE EXCEPTION 'Broker connection limit out of range' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_role) THEN
        RAISE EXCEPTION 'A database role % already exists; remove it or choose another operator name', p_role
            USING ERRCODE = 'LG048';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L CONNECTION LIMIT %s IN ROLE console_broker',
                   p_role, p_verifier, p_connection_limit);
    EXECUTE format('GRANT %I TO ledger_role_admin', p_role);
END
$$;

CREATE FUNCTION ledger_priv.set_verifier(p_role text, p_verifier text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'broker');
    PERFORM ledger_priv.check_verifier(p_verifier);
    EXECUTE format('ALTER ROLE %I PASSWORD %L', p_role, p_verifier);
END
$$;

CREATE FUNCTION ledger_priv.set_valid_until(p_role text, p_valid_until timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'session');
    IF p_valid_until IS NULL OR p_valid_until > clock_timestamp() + interval '1 day' THEN
        RAISE EXCEPTION 'Session lifetime out of range' USING ERRCODE = '22023';
    END IF;
    EXECUTE format('ALTER ROLE %I VALID UNTIL %L', p_role,
                   to_char(p_valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00');
END
$$;

-- LOGIN or NOLOGIN for a session or broker role.
CREATE FUNCTION ledger_priv.set_login(p_role text, p_login boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'any');
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_role) THEN
        EXECUTE format('ALTER ROLE %I %s', p_role, CASE WHEN p_login THEN 'LOGIN' ELSE 'NOLOGIN' END);
    END IF;
END
$$;

-- Drops what the session role owns in this database (large objects, anything), then the
-- role. NULL when done (or already gone), else why the role is kept (objects it owns in
-- another database, connections still open): the reaper retries.
CREATE FUNCTION ledger_priv.drop_session_role(p_role text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'session');
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_role) THEN
        RETURN NULL;
    END IF;
    BEGIN
        IF NOT pg_has_role('ledger_role_admin', p_role, 'USAGE') THEN
            EXECUTE format('GRANT %I TO ledger_role_admin', p_role);
        END IF;
        EXECUTE format('DROP OWNED BY %I', p_role);
        EXECUTE format('DROP ROLE %I', p_role);
    EXCEPTION WHEN dependent_objects_still_exist OR object_in_use OR insufficient_privilege THEN
        RETURN SQLERRM;
    END;
    RETURN NULL;
END
$$;

-- SHA-256 of the role's stored verifier (NULL: no role or no password), to notice a
-- password the role set for itself.
CREATE FUNCTION ledger_priv.verifier_digest(p_role text) RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text;
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'any');
    SELECT a.rolpassword INTO v FROM pg_catalog.pg_authid a WHERE a.rolname = p_role;
    RETURN CASE WHEN v IS NULL THEN NULL ELSE sha256(convert_to(v, 'UTF8')) END;
END
$$;

-- Terminates every backend of a session or broker role (all databases). Returns how many.
CREATE FUNCTION ledger_priv.terminate_backends(p_role text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v integer;
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'any');
    SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid, 5000)) INTO v
    FROM pg_catalog.pg_stat_activity a
    WHERE a.usename = p_role AND a.pid <> pg_backend_pid();
    RETURN v;
END
$$;

-- Server-side limits on backends, which no login can lift (it may SET its own timeouts):
--  * console session roles and broker logins: idle (sessions and brokers have their own
--    limits), idle in a transaction, a transaction that wrote something or holds an
--    advisory lock of this database (the audit chain's, an idempotency key's) open longer
--    than p_writing, any transaction open longer than p_transaction;
--  * writer logins (members of ledger_writer): idle in a transaction, or any transaction
--    open longer than p_writer_transaction.
-- Superusers and roles with other powers are never touched. What was terminated comes back
-- for the audit trail, with the reason.
CREATE FUNCTION ledger_priv.terminate_over_limits(p_session_idle interval, p_idle_in_transaction interval,
                                                 p_broker_idle interval, p_writing interval,
                                                 p_transaction interval, p_writer_transaction interval)
RETURNS TABLE (role_name text, pid integer, state text, seconds integer, reason text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a record;
    v_now timestamptz := clock_timestamp();
BEGIN
    IF least(p_session_idle, p_idle_in_transaction, p_broker_idle, p_writing, p_transaction,
             p_writer_transaction) < interval '1 second' THEN
        RAISE EXCEPTION 'Backend limits must be at least a second' USING ERRCODE = '22023';
    END IF;
    -- Chosen first, terminated one by one: a WHERE clause may evaluate its conditions in
    -- any order, and the termination must never run for a backend the filters exclude.
    FOR a IN
        WITH b AS (
            SELECT x.usename::text AS usename, x.pid, x.state, x.state_change, x.xact_start,
                   x.backend_xid IS NOT NULL
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                              WHERE l.pid = x.pid AND l.locktype = 'advisory' AND l.granted
                                AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                                  WHERE d.datname = current_database())) AS writing,
                   CASE WHEN x.usename ~ '^lc_s_[a-z][a-z0-9_]{1,40}_[0-9a-f]{12}$' THEN 'session'
                        WHEN x.usename ~ '^lc_op_[a-z][a-z0-9_]{1,40}$' THEN 'broker'
                        ELSE 'writer' END AS kind
            FROM pg_catalog.pg_stat_activity x
            JOIN pg_catalog.pg_roles r ON r.oid = x.usesysid
            WHERE x.backend_type = 'client backend' AND x.pid <> pg_backend_pid()
              AND NOT (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls)
              AND (x.usename ~ '^lc_(s_[a-z][a-z0-9_]{1,40}_[0-9a-f]{12}|op_[a-z][a-z0-9_]{1,40})$'
                   OR pg_has_role(x.usesysid, 'ledger_writer', 'MEMBER')))
        SELECT b.*, CASE
                   WHEN b.kind = 'writer' THEN
                       CASE WHEN b.xact_start < v_now - p_writer_transaction THEN 'transaction open too long'
                            WHEN b.state LIKE 'idle in transaction%' AND b.state_change < v_now - p_idle_in_transaction
                                THEN 'idle in a transaction' END
                   WHEN b.writing AND b.xact_start < v_now - p_writing THEN 'writing transaction open too long'
                   WHEN b.xact_start < v_now - p_transaction THEN 'transaction open too long'
                   WHEN b.state LIKE 'idle in transaction%' AND b.state_change < v_now - p_idle_in_transaction
                       THEN 'idle in a transaction'
                   WHEN b.state = 'idle' AND b.state_change < v_now
                            - CASE WHEN b.kind = 'broker' THEN p_broker_idle ELSE p_session_idle END THEN 'idle'
               END AS why
        FROM b
    LOOP
        CONTINUE WHEN a.why IS NULL;
        IF pg_terminate_backend(a.pid, 5000) THEN
            role_name := a.usename; pid := a.pid; state := a.state; reason := a.why;
            seconds := round(extract(epoch FROM v_now - CASE WHEN a.why LIKE '%transaction open%'
                                                             THEN a.xact_start ELSE a.state_change END));
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

DO $owners$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT * FROM (VALUES
        ('ledger_priv.check_groups(text[])', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.check_verifier(text)', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.check_console_role(text, text)', 'ledger_role_admin', 'ledger_session_control'),
        ('ledger_priv.create_session_role(text, text, timestamptz, text[], integer, bigint, bigint)', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.create_broker(text, text, integer)', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.set_verifier(text, text)', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.set_valid_until(text, timestamptz)', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.set_login(text, boolean)', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.drop_session_role(text)', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.verifier_digest(text)', 'ledger_role_admin', 'ledger_owner'),
        ('ledger_priv.terminate_backends(text)', 'ledger_session_control', 'ledger_owner'),
        ('ledger_priv.terminate_over_limits(interval, interval, interval, interval, interval, interval)', 'ledger_session_control', 'ledger_owner')
    ) AS t(fn, owner, also)
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', f.fn, f.owner);
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f.fn);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO ledger_owner', f.fn);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f.fn, f.also);
    END LOOP;
END
$owners$;
-- Whatever these roles might create later is not PUBLIC either.
ALTER DEFAULT PRIVILEGES FOR ROLE ledger_role_admin REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE ledger_session_control REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE ledger_log_reader REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- The reaper drops what existing session roles own: the role admin must be a member.
DO $existing$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT s.role_name FROM access.sessions s
             WHERE s.reaped_at IS NULL AND EXISTS (SELECT 1 FROM pg_roles x WHERE x.rolname = s.role_name)
    LOOP
        EXECUTE format('GRANT %I TO ledger_role_admin', r.role_name);
    END LOOP;
    FOR r IN SELECT o.broker_role FROM access.operators o
             WHERE EXISTS (SELECT 1 FROM pg_roles x WHERE x.rolname = o.broker_role)
    LOOP
        EXECUTE format('GRANT %I TO ledger_role_admin', r.broker_role);
    END LOOP;
END
$existing$;

-------------------------------------------------------------------------------------------
-- Sessions and operators.
-------------------------------------------------------------------------------------------
SET LOCAL ROLE ledger_owner;

ALTER TABLE access.settings
    ADD COLUMN broker_connection_limit  integer  NOT NULL DEFAULT 2 CHECK (broker_connection_limit BETWEEN 1 AND 20),
    ADD COLUMN session_connection_limit integer  NOT NULL DEFAULT 4 CHECK (session_connection_limit BETWEEN 1 AND 20),
    ADD COLUMN max_open_sessions        integer  NOT NULL DEFAULT 3 CHECK (max_open_sessions BETWEEN 1 AND 50),
    ADD COLUMN broker_idle_timeout      interval NOT NULL DEFAULT '1 minute' CHECK (broker_idle_timeout >= interval '1 second'),
    -- A console transaction that wrote something, or holds a ledger lock (the audit chain's,
    -- say), is ended past this; any console transaction past max_transaction; a writer
    -- login's past max_writer_transaction (its batches are long, its idle transactions not).
    ADD COLUMN max_writing_transaction  interval NOT NULL DEFAULT '15 seconds' CHECK (max_writing_transaction >= interval '1 second'),
    ADD COLUMN max_transaction          interval NOT NULL DEFAULT '10 minutes' CHECK (max_transaction >= interval '1 second'),
    ADD COLUMN max_writer_transaction   interval NOT NULL DEFAULT '30 minutes' CHECK (max_writer_transaction >= interval '1 second'),
    ADD CONSTRAINT settings_idle_positive CHECK (idle_session_timeout >= interval '1 second'
                                                 AND idle_in_transaction_timeout >= interval '1 second');

ALTER TABLE access.operators
    ADD COLUMN verifier_digest    bytea,        -- SHA-256 of the broker's verifier as we set it
    ADD COLUMN secret_mismatch_at timestamptz,  -- the broker changed its own password: no sign-in
    ADD COLUMN last_issued_at     timestamptz;  -- written by every sign-in (its serialisation point)

ALTER TABLE access.sessions
    ADD COLUMN verifier_digest bytea;

-- Sign-in requests carry only what the client knows about itself.
CREATE FUNCTION access.client_info(p_client jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
BEGIN
    IF p_client IS NULL OR p_client = 'null'::jsonb THEN
        RETURN '{}'::jsonb;
    END IF;
    IF jsonb_typeof(p_client) <> 'object' OR pg_column_size(p_client) > 2048 THEN
        RAISE EXCEPTION 'Client information must be a small JSON object' USING ERRCODE = 'LG049';
    END IF;
    FOR k, v IN SELECT e.key, e.value FROM jsonb_each(p_client) e LOOP
        IF k = 'address' THEN
            RAISE EXCEPTION 'The client''s address is recorded by the server; do not send it' USING ERRCODE = 'LG049';
        END IF;
        IF k NOT IN ('application', 'version', 'host') THEN
            RAISE EXCEPTION 'Unknown client information "%": only application, version and host', left(k, 40)
                USING ERRCODE = 'LG049';
        END IF;
        IF jsonb_typeof(v) <> 'string' OR length(v #>> '{}') > 100
           OR (v #>> '{}') ~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]' THEN
            RAISE EXCEPTION 'Client information "%" must be text of at most 100 characters without control characters', k
                USING ERRCODE = 'LG049';
        END IF;
    END LOOP;
    RETURN p_client;
END
$$;

-- NOLOGIN for a console role. A role that holds its own pg_authid row (an ALTER ROLE of
-- itself left uncommitted) would make that wait: after a second its backends are ended,
-- which lets go of the row, and then it is done.
CREATE FUNCTION access.disable_login(p_role text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
SET lock_timeout = '1s'
AS $$
BEGIN
    BEGIN
        PERFORM ledger_priv.set_login(p_role, false);
    EXCEPTION WHEN lock_not_available THEN
        PERFORM ledger_priv.terminate_backends(p_role);
        PERFORM ledger_priv.set_login(p_role, false);
    END;
END
$$;

-- Revokes one session now: refused at its next call (LG042), no new logins; the reaper
-- terminates its connections and drops the role.
CREATE FUNCTION access.revoke_session(p_role text, p_reason text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    v_operator text;
BEGIN
    UPDATE access.sessions x SET ended_at = clock_timestamp(), end_reason = 'revoked'
    WHERE x.role_name = p_role AND x.ended_at IS NULL AND x.reaped_at IS NULL
    RETURNING x.operator INTO v_operator;
    IF v_operator IS NULL THEN
        RETURN false;
    END IF;
    PERFORM access.disable_login(p_role);
    PERFORM audit.record('session.revoked', 'session', p_role,
                         jsonb_build_object('operator', v_operator, 'reason', p_reason));
    RETURN true;
END
$$;

-- The broker asks; its own verifier must still be the one an administrator set.
DROP FUNCTION access.issue_session(interval, jsonb);
DROP FUNCTION access.issue_session_uncollected(interval, jsonb);
CREATE FUNCTION access.issue_session(p_verifier text, p_ttl interval DEFAULT NULL, p_client jsonb DEFAULT '{}'::jsonb)
RETURNS TABLE (role_name text, expires_at timestamptz, max_until timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    v_op access.operators;
    v_cfg access.settings;
    v_now timestamptz;
    v_ttl interval;
    v_client jsonb;
    v_recent integer;
    v_open integer;
    v_role text;
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
    IF v_op.secret_mismatch_at IS NOT NULL
       OR v_op.verifier_digest IS DISTINCT FROM ledger_priv.verifier_digest(v_op.broker_role) THEN
        RAISE EXCEPTION 'The secret of operator % was changed outside ledgerctl; sign-in is refused until an administrator sets a new one', v_op.name
            USING ERRCODE = 'LG040', HINT = 'An administrator runs: ledgerctl access operator set-secret ' || v_op.name;
    END IF;
    PERFORM ledger_priv.check_verifier(p_verifier);
    v_client := access.client_info(p_client);
    SELECT * INTO v_cfg FROM access.settings;
    -- The serialisation point, under every isolation level: concurrent sign-ins of one
    -- operator wait here (READ COMMITTED; the count below then sees the other's session)
    -- or fail with 40001 (REPEATABLE READ, SERIALIZABLE: their snapshot could not).
    UPDATE access.operators o SET last_issued_at = clock_timestamp() WHERE o.name = v_op.name;
    v_now := clock_timestamp();
    SELECT count(*) INTO v_recent FROM access.sessions s
    WHERE s.operator = v_op.name AND s.issued_at > v_now - interval '1 minute';
    IF v_recent >= v_cfg.issue_limit_per_minute THEN
        RAISE EXCEPTION 'Too many sign-ins for % in the last minute (at most %); wait a minute and try again',
            v_op.name, v_cfg.issue_limit_per_minute USING ERRCODE = 'LG043';
    END IF;
    SELECT count(*) INTO v_open FROM access.sessions s
    WHERE s.operator = v_op.name AND s.ended_at IS NULL AND s.reaped_at IS NULL AND s.expires_at > v_now;
    IF v_open >= v_cfg.max_open_sessions THEN
        RAISE EXCEPTION 'Operator % already has % open sessions (at most %): sign out of another console, or wait until one expires',
            v_op.name, v_open, v_cfg.max_open_sessions USING ERRCODE = 'LG039';
    END IF;
    v_ttl := coalesce(p_ttl, v_cfg.default_ttl);
    IF v_ttl < interval '1 second' OR v_ttl > v_cfg.max_ttl THEN
        RAISE EXCEPTION 'A session lasts from 1 second to % at a time, not %', v_cfg.max_ttl, v_ttl USING ERRCODE = 'LG045';
    END IF;
    -- Failed sign-ins and refusals before this one go on record before its session.issued
    -- event: a little of the log (1 MiB; the reaper and pg_cron read the rest), and only for
    -- a sign-in that passed every check above, so that failing calls cannot keep the
    -- collector busy (it skips when another holds it). A log that cannot be read must not
    -- lock everybody out.
    BEGIN
        PERFORM access.collect_signin_failures(1024 * 1024, false); -- 0022
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'ledger: the server log could not be read for the audit trail: %', SQLERRM;
    END;
    -- Traceable: the operator's name, then randomness (gen_random_uuid is a CSPRNG).
    v_role := format('lc_s_%s_%s', v_op.name, left(replace(gen_random_uuid()::text, '-', ''), 12));
    v_max := v_now + v_cfg.max_lifetime;
    v_expires := least(v_now + v_ttl, v_max);
    PERFORM ledger_priv.create_session_role(
        v_role, p_verifier, v_expires, v_op.groups, v_cfg.session_connection_limit,
        (extract(epoch FROM v_cfg.idle_session_timeout) * 1000)::bigint,
        (extract(epoch FROM v_cfg.idle_in_transaction_timeout) * 1000)::bigint);
    INSERT INTO access.sessions (role_name, operator, groups, issued_at, expires_at, max_until, client, verifier_digest)
    VALUES (v_role, v_op.name, v_op.groups, v_now, v_expires, v_max,
            v_client || jsonb_strip_nulls(jsonb_build_object('address', host(inet_client_addr()))),
            sha256(convert_to(p_verifier, 'UTF8')));
    PERFORM audit.record('session.issued', 'session', v_role,
                         jsonb_build_object('expires_at', v_expires, 'max_until', v_max, 'groups', v_op.groups,
                                            'client', v_client));
    RETURN QUERY SELECT v_role, v_expires, v_max;
END
$$;

CREATE OR REPLACE FUNCTION access.renew_session(p_ttl interval DEFAULT NULL) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
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
    -- A password the session chose for itself ends it (committed: the next call is refused).
    IF s.verifier_digest IS DISTINCT FROM ledger_priv.verifier_digest(s.role_name) THEN
        PERFORM access.revoke_session(s.role_name, 'password_changed');
        RETURN s.expires_at;
    END IF;
    SELECT * INTO v_cfg FROM access.settings;
    IF coalesce(p_ttl, v_cfg.default_ttl) < interval '1 second' OR coalesce(p_ttl, v_cfg.default_ttl) > v_cfg.max_ttl THEN
        RAISE EXCEPTION 'A session is renewed by 1 second to %, not %', v_cfg.max_ttl, p_ttl USING ERRCODE = 'LG045';
    END IF;
    v_new := least(clock_timestamp() + coalesce(p_ttl, v_cfg.default_ttl), s.max_until);
    IF v_new <= s.expires_at THEN
        RETURN s.expires_at; -- already at the maximum lifetime: sign in again when it ends
    END IF;
    PERFORM ledger_priv.set_valid_until(s.role_name, v_new);
    UPDATE access.sessions x SET expires_at = v_new, renewals = x.renewals + 1 WHERE x.role_name = s.role_name;
    PERFORM audit.record('session.renewed', 'session', s.role_name,
                         jsonb_build_object('expires_at', v_new, 'renewal', s.renewals + 1));
    RETURN v_new;
END
$$;

CREATE OR REPLACE FUNCTION access.end_session() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
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
    PERFORM access.disable_login(v_role);
    PERFORM audit.record('session.ended', 'session', v_role, '{}'::jsonb);
END
$$;

CREATE OR REPLACE FUNCTION access.revoke_operator_sessions(p_operator text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    s record;
    v_count integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM access.operators o WHERE o.name = p_operator) THEN
        RAISE EXCEPTION 'No operator named "%"', left(p_operator, 60) USING ERRCODE = 'LG047';
    END IF;
    FOR s IN SELECT x.role_name FROM access.sessions x
             WHERE x.operator = p_operator AND x.ended_at IS NULL AND x.reaped_at IS NULL
               AND x.expires_at > clock_timestamp() -- expired ones are dead already; the reaper ends them
             ORDER BY x.role_name FOR UPDATE
    LOOP
        IF access.revoke_session(s.role_name, 'administrator') THEN
            v_count := v_count + 1;
        END IF;
    END LOOP;
    RETURN v_count;
END
$$;

-- The reaper: password changes, backend limits, then the sessions that ended. Safe to run
-- any time and from several places at once; never touches the server log (the collector
-- runs in a transaction of its own, so one cannot stop the other). Each session is dealt
-- with in a subtransaction of its own: one whose role is held (a session that left an
-- ALTER ROLE of itself uncommitted) has its backends ended first, and if it still cannot be
-- done it is noted and left for the next run, never failing the others.
DROP FUNCTION access.reap();
CREATE FUNCTION access.reap(OUT sessions_reaped integer, OUT connections_terminated integer, OUT roles_kept integer,
                            OUT sessions_revoked integer, OUT idle_terminated integer,
                            OUT transactions_terminated integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    s record;
    v_cfg access.settings;
    v_terminated integer;
    v_note text;
BEGIN
    sessions_reaped := 0; connections_terminated := 0; roles_kept := 0; sessions_revoked := 0; idle_terminated := 0;
    transactions_terminated := 0;
    SELECT * INTO v_cfg FROM access.settings;

    -- Passwords the roles set for themselves: the session's backends go first (an
    -- uncommitted ALTER ROLE of itself would hold its role), then it is revoked.
    FOR s IN SELECT x.role_name FROM access.sessions x
             WHERE x.ended_at IS NULL AND x.reaped_at IS NULL AND x.expires_at > clock_timestamp()
               AND x.verifier_digest IS DISTINCT FROM ledger_priv.verifier_digest(x.role_name)
             ORDER BY x.role_name FOR UPDATE SKIP LOCKED
    LOOP
        BEGIN
            connections_terminated := connections_terminated + ledger_priv.terminate_backends(s.role_name);
            IF access.revoke_session(s.role_name, 'password_changed') THEN
                sessions_revoked := sessions_revoked + 1;
            END IF;
        EXCEPTION WHEN lock_not_available OR object_in_use THEN
            RAISE WARNING 'ledger: session % set its own password but could not be revoked now (%); the next run retries',
                s.role_name, SQLERRM;
        END;
    END LOOP;
    FOR s IN SELECT o.name, o.broker_role FROM access.operators o
             WHERE o.secret_mismatch_at IS NULL AND o.disabled_at IS NULL
               AND o.verifier_digest IS DISTINCT FROM ledger_priv.verifier_digest(o.broker_role)
             ORDER BY o.name FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE access.operators o SET secret_mismatch_at = clock_timestamp() WHERE o.name = s.name;
        v_terminated := ledger_priv.terminate_backends(s.broker_role);
        PERFORM audit.record('operator.secret_changed_outside', 'operator', s.name,
                             jsonb_build_object('broker_role', s.broker_role, 'connections_terminated', v_terminated,
                                                'effect', 'sign-in refused until an administrator sets a new secret'));
    END LOOP;

    -- Backend limits, whatever the logins set for themselves.
    FOR s IN SELECT * FROM ledger_priv.terminate_over_limits(v_cfg.idle_session_timeout, v_cfg.idle_in_transaction_timeout,
                                                             v_cfg.broker_idle_timeout, v_cfg.max_writing_transaction,
                                                             v_cfg.max_transaction, v_cfg.max_writer_transaction) i
    LOOP
        IF s.reason LIKE '%transaction open too long' THEN
            transactions_terminated := transactions_terminated + 1;
        ELSE
            idle_terminated := idle_terminated + 1;
        END IF;
        PERFORM audit.record(CASE WHEN s.reason LIKE '%transaction open too long' THEN 'session.transaction_terminated'
                                  ELSE 'session.idle_terminated' END,
                             CASE WHEN s.role_name LIKE 'lc\_op\_%' THEN 'operator'
                                  WHEN s.role_name LIKE 'lc\_s\_%' THEN 'session' ELSE 'writer' END,
                             coalesce((SELECT o.name FROM access.operators o WHERE o.broker_role = s.role_name), s.role_name),
                             jsonb_build_object('role', s.role_name, 'pid', s.pid, 'state', s.state, 'reason', s.reason,
                                                'seconds', s.seconds));
    END LOOP;

    FOR s IN SELECT x.role_name, x.ended_at, x.expires_at, x.reap_note FROM access.sessions x
             WHERE x.reaped_at IS NULL AND (x.ended_at IS NOT NULL OR x.expires_at <= clock_timestamp())
             ORDER BY x.expires_at
             FOR UPDATE SKIP LOCKED
    LOOP
        v_terminated := 0;
        v_note := NULL;
        BEGIN
            -- Its connections first: they end what they hold (its role's row included).
            v_terminated := ledger_priv.terminate_backends(s.role_name);
            PERFORM access.disable_login(s.role_name);
            v_note := ledger_priv.drop_session_role(s.role_name);
        EXCEPTION WHEN lock_not_available OR object_in_use THEN
            v_note := 'busy: ' || SQLERRM;
        END;
        UPDATE access.sessions x
        SET ended_at = coalesce(x.ended_at, x.expires_at),
            end_reason = coalesce(x.end_reason, 'expired'),
            reaped_at = CASE WHEN v_note IS NULL THEN clock_timestamp() END,
            reap_note = v_note
        WHERE x.role_name = s.role_name;
        -- Recorded when reaped, and when it could not be for a new reason: a role kept for
        -- the same reason run after run is one event, not one a minute.
        IF v_note IS NULL OR v_note IS DISTINCT FROM s.reap_note THEN
            PERFORM audit.record('session.reaped', 'session', s.role_name,
                                 jsonb_strip_nulls(jsonb_build_object('connections_terminated', v_terminated,
                                                                      'role_dropped', v_note IS NULL, 'note', v_note)));
        END IF;
        connections_terminated := connections_terminated + coalesce(v_terminated, 0);
        IF v_note IS NULL THEN
            sessions_reaped := sessions_reaped + 1;
        ELSE
            roles_kept := roles_kept + 1;
        END IF;
    END LOOP;
END
$$;

-- Operators (administrators). p_verifier: the SCRAM-SHA-256 verifier of the broker's secret,
-- computed by ledgerctl; the secret itself never reaches the server.
DROP FUNCTION access.add_operator(text, text[], text);
CREATE FUNCTION access.add_operator(p_name text, p_groups text[], p_verifier text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    v_broker text := 'lc_op_' || p_name;
BEGIN
    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_]{1,40}$' THEN
        RAISE EXCEPTION 'Operator name "%" is not valid: 2-41 lowercase letters, digits and _, starting with a letter', left(p_name, 60)
            USING ERRCODE = 'LG047';
    END IF;
    IF EXISTS (SELECT 1 FROM access.operators o WHERE o.name = p_name) THEN
        RAISE EXCEPTION 'Operator % already exists', p_name USING ERRCODE = 'LG048';
    END IF;
    PERFORM ledger_priv.check_groups(p_groups);
    PERFORM ledger_priv.create_broker(v_broker, p_verifier, (SELECT s.broker_connection_limit FROM access.settings s));
    INSERT INTO access.operators (name, broker_role, groups, verifier_digest)
    VALUES (p_name, v_broker, p_groups, sha256(convert_to(p_verifier, 'UTF8')));
    PERFORM audit.record('operator.added', 'operator', p_name, jsonb_build_object('groups', p_groups));
    RETURN v_broker;
END
$$;

-- Disables an operator: no more sign-ins, every session revoked, and the broker's open
-- connections ended now.
CREATE OR REPLACE FUNCTION access.disable_operator(p_name text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    v_broker text;
    v_revoked integer;
    v_terminated integer;
BEGIN
    UPDATE access.operators o SET disabled_at = clock_timestamp(), disabled_by = session_user
    WHERE o.name = p_name AND o.disabled_at IS NULL
    RETURNING o.broker_role INTO v_broker;
    IF v_broker IS NULL THEN
        RAISE EXCEPTION 'No active operator named "%"', left(p_name, 60) USING ERRCODE = 'LG047';
    END IF;
    v_terminated := ledger_priv.terminate_backends(v_broker);
    PERFORM access.disable_login(v_broker);
    v_revoked := access.revoke_operator_sessions(p_name);
    PERFORM audit.record('operator.disabled', 'operator', p_name,
                         jsonb_build_object('sessions_revoked', v_revoked, 'broker_connections_terminated', v_terminated));
    RETURN v_revoked;
END
$$;

DROP FUNCTION access.set_operator_secret(text, text);
CREATE FUNCTION access.set_operator_secret(p_name text, p_verifier text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    v_broker text;
BEGIN
    SELECT o.broker_role INTO v_broker FROM access.operators o WHERE o.name = p_name AND o.disabled_at IS NULL;
    IF v_broker IS NULL THEN
        RAISE EXCEPTION 'No active operator named "%"', left(p_name, 60) USING ERRCODE = 'LG047';
    END IF;
    PERFORM ledger_priv.set_verifier(v_broker, p_verifier);
    UPDATE access.operators o SET verifier_digest = sha256(convert_to(p_verifier, 'UTF8')), secret_mismatch_at = NULL
    WHERE o.name = p_name;
    PERFORM audit.record('operator.secret_changed', 'operator', p_name, '{}'::jsonb);
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA access FROM PUBLIC;
GRANT EXECUTE ON FUNCTION access.issue_session(text, interval, jsonb) TO console_broker;
GRANT EXECUTE ON FUNCTION access.check_session() TO console_operator, console_supervisor, console_auditor,
    console_compliance, ledger_writer;
GRANT EXECUTE ON FUNCTION access.session_info(), access.renew_session(interval), access.end_session()
    TO console_operator, console_supervisor, console_auditor, console_compliance;

-- What exists already: the new limits, and the verifiers as they are now.
RESET ROLE;
DO $existing$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT o.broker_role FROM access.operators o
             WHERE EXISTS (SELECT 1 FROM pg_roles x WHERE x.rolname = o.broker_role)
    LOOP
        EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', r.broker_role,
                       (SELECT s.broker_connection_limit FROM access.settings s));
    END LOOP;
    FOR r IN SELECT s.role_name FROM access.sessions s
             WHERE s.reaped_at IS NULL AND EXISTS (SELECT 1 FROM pg_roles x WHERE x.rolname = s.role_name)
    LOOP
        EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', r.role_name,
                       (SELECT x.session_connection_limit FROM access.settings x));
    END LOOP;
END
$existing$;
SET LOCAL ROLE ledger_owner; -- the tables' guards let only the owner update them
UPDATE access.operators o SET verifier_digest = ledger_priv.verifier_digest(o.broker_role);
UPDATE access.sessions s SET verifier_digest = ledger_priv.verifier_digest(s.role_name) WHERE s.reaped_at IS NULL;
