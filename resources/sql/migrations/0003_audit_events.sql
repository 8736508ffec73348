-- The audit table every state-changing function writes to, in the same transaction as the
-- action. Step 4 turns it into a hash chain; the one way in, audit.record(), stays.

-- Who acts: the operator behind the session. Until time-limited sessions exist (Step 3
-- redefines this), the login role is the operator.
SET LOCAL ROLE ledger_owner;

CREATE FUNCTION audit.current_operator() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$ SELECT session_user::text $$;

CREATE TABLE audit.events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    operator     text  NOT NULL,
    session_role text  NOT NULL,
    action       text  NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    object_type  text  NOT NULL,
    object_id    text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    client_info  jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX events_by_object ON audit.events (object_type, object_id);
CREATE INDEX events_by_operator ON audit.events (operator, occurred_at);

COMMENT ON TABLE audit.events IS 'Every action of every client, appended by audit.record() only.';

-- Appends one event. Not executable by any console role: only other SECURITY DEFINER
-- functions (running as the owner) call it, inside the action's own transaction.
CREATE FUNCTION audit.record(p_action text, p_object_type text, p_object_id text,
                             p_details jsonb DEFAULT '{}'::jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO audit.events (operator, session_role, action, object_type, object_id, details, client_info)
    VALUES (audit.current_operator(), session_user, p_action, p_object_type, p_object_id,
            coalesce(p_details, '{}'::jsonb),
            jsonb_strip_nulls(jsonb_build_object(
                'application', nullif(current_setting('application_name', true), ''),
                'address', host(inet_client_addr()),
                'backend_pid', pg_backend_pid())))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

REVOKE EXECUTE ON FUNCTION audit.record(text, text, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit.current_operator() FROM PUBLIC;

-- Never changed, never removed: by anyone, owner included, replica mode included.
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_append_only;
ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_no_truncate;

-- Console roles read views, never tables.
CREATE VIEW audit.event_log AS
SELECT id, occurred_at, operator, session_role, action, object_type, object_id, details, client_info
FROM audit.events;
GRANT SELECT ON audit.event_log TO console_auditor;

-- Accounts: no update either, and opening one is audited.
CREATE TRIGGER accounts_no_update BEFORE UPDATE ON ledger.accounts
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.accounts ENABLE ALWAYS TRIGGER accounts_no_update;
