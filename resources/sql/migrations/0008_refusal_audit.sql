-- Refusals are audit events too. A refusal raises an error, which rolls back everything
-- its transaction wrote, the audit row included, and PostgreSQL has no autonomous
-- transactions. So access.check_session() records the refusal over a loopback connection
-- (dblink) before raising: as a per-database login whose only right is to append a
-- refusal event. If the loopback cannot connect (a pg_hba.conf that refuses it), the
-- refusal still happens and the server log gets a WARNING.

CREATE SCHEMA IF NOT EXISTS ext;
REVOKE ALL ON SCHEMA ext FROM PUBLIC;
CREATE EXTENSION IF NOT EXISTS dblink SCHEMA ext;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ext FROM PUBLIC;
GRANT USAGE ON SCHEMA ext TO ledger_owner;
GRANT EXECUTE ON FUNCTION ext.dblink_exec(text, text) TO ledger_owner;
-- To find its own socket directory for the loopback.
GRANT pg_read_all_settings TO ledger_owner;

-- The loopback login: per database (roles are cluster-wide), a random password kept in a
-- table only the owner reads.
CREATE TABLE access.loopback (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role_name text NOT NULL,
    password  text NOT NULL
);
ALTER TABLE access.loopback OWNER TO ledger_owner;
REVOKE ALL ON access.loopback FROM PUBLIC;

DO $loopback$
DECLARE
    v_role text := left('ledger_audit_loopback_' || current_database(), 63);
    v_password text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
        EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', v_role, v_password);
    ELSE
        EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', v_role, v_password);
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), v_role);
    EXECUTE format('GRANT USAGE ON SCHEMA audit TO %I', v_role);
    INSERT INTO access.loopback (role_name, password) VALUES (v_role, v_password);
END
$loopback$;

SET LOCAL ROLE ledger_owner;

-- The one way into audit.events. audit.record() is the everyday form (who = the caller).
CREATE FUNCTION audit.record_as(p_operator text, p_session_role text, p_action text, p_object_type text,
                                p_object_id text, p_details jsonb, p_client_info jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO audit.events (operator, session_role, action, object_type, object_id, details, client_info)
    VALUES (p_operator, p_session_role, p_action, p_object_type, p_object_id,
            coalesce(p_details, '{}'::jsonb), coalesce(p_client_info, '{}'::jsonb))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.record_as(text, text, text, text, text, jsonb, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION audit.record(p_action text, p_object_type text, p_object_id text,
                                        p_details jsonb DEFAULT '{}'::jsonb)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
    SELECT audit.record_as(audit.current_operator(), session_user, p_action, p_object_type, p_object_id, p_details,
                           jsonb_strip_nulls(jsonb_build_object(
                               'application', nullif(current_setting('application_name', true), ''),
                               'address', host(inet_client_addr()),
                               'backend_pid', pg_backend_pid())))
$$;

-- What the loopback login may do: append a session.refused event, nothing else.
CREATE FUNCTION audit.record_refusal(p_role text, p_reason text, p_details jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
DECLARE
    v_operator text;
BEGIN
    IF session_user::text <> (SELECT l.role_name FROM access.loopback l) THEN
        RAISE EXCEPTION 'Only the audit loopback records refusals' USING ERRCODE = '42501';
    END IF;
    SELECT s.operator INTO v_operator FROM access.sessions s WHERE s.role_name = p_role;
    IF v_operator IS NULL OR p_reason NOT IN ('expired', 'revoked', 'ended') THEN
        RAISE EXCEPTION 'Not a console session refusal' USING ERRCODE = 'LG046';
    END IF;
    RETURN audit.record_as(v_operator, p_role, 'session.refused', 'session', p_role,
                           jsonb_build_object('reason', p_reason) || coalesce(p_details, '{}'::jsonb), '{}'::jsonb);
END
$$;
REVOKE EXECUTE ON FUNCTION audit.record_refusal(text, text, jsonb) FROM PUBLIC;
DO $grant$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION audit.record_refusal(text, text, jsonb) TO %I',
                   (SELECT role_name FROM access.loopback));
END
$grant$;

-- Writes the refusal on its own connection, so that it stays when the caller's
-- transaction is rolled back by the refusal itself.
CREATE FUNCTION access.record_refusal(p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access
AS $$
DECLARE
    l access.loopback;
    v_dsn text;
    v_socket text;
BEGIN
    v_socket := nullif(btrim(split_part(current_setting('unix_socket_directories'), ',', 1)), '');
    SELECT * INTO l FROM access.loopback;
    v_dsn := format('host=%s port=%s dbname=%s user=%s password=%s application_name=ledger-audit-loopback',
                    quote_literal(coalesce(v_socket, 'localhost')), current_setting('port'),
                    quote_literal(current_database()), quote_literal(l.role_name), quote_literal(l.password));
    PERFORM ext.dblink_exec(v_dsn, format('SELECT audit.record_refusal(%L, %L, %L)', session_user, p_reason,
                                          jsonb_strip_nulls(jsonb_build_object(
                                              'application', nullif(current_setting('application_name', true), ''),
                                              'address', host(inet_client_addr())))));
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'ledger: could not record the refusal of session % (%): %', session_user, p_reason, SQLERRM;
END
$$;
REVOKE EXECUTE ON FUNCTION access.record_refusal(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION access.check_session() RETURNS boolean
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
        PERFORM access.record_refusal('revoked');
        RAISE EXCEPTION 'This session was revoked at % UTC by an administrator', to_char(s.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            USING ERRCODE = 'LG042', HINT = 'Sign in again; ask an administrator if that is refused.';
    END IF;
    IF s.ended_at IS NOT NULL THEN
        PERFORM access.record_refusal('ended');
        RAISE EXCEPTION 'This session was ended at % UTC', to_char(s.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            USING ERRCODE = 'LG044', HINT = 'Sign in again.';
    END IF;
    IF s.expires_at <= clock_timestamp() THEN
        PERFORM access.record_refusal('expired');
        RAISE EXCEPTION 'This session expired at % UTC', to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            USING ERRCODE = 'LG041', HINT = 'Sign in again to continue.';
    END IF;
    RETURN true;
END
$$;
