-- Reads that matter, done in the console itself, are audited too: a search run in the
-- account navigator or the audit log happens in the client (over rows it already has, or
-- through a view, which cannot write), so the console reports it. Only the actions listed
-- here may be reported this way, the operator and session are the caller's own, and the
-- event is written like any other (audit.record, same chain).
SET LOCAL ROLE ledger_owner;

CREATE TABLE audit.client_actions (
    action      text PRIMARY KEY CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    description text NOT NULL
);
INSERT INTO audit.client_actions VALUES
    ('search.run', 'A search or filter run in the console; its text and filters are in the details.');
CREATE TRIGGER client_actions_append_only BEFORE UPDATE OR DELETE ON audit.client_actions
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE audit.client_actions ENABLE ALWAYS TRIGGER client_actions_append_only;

CREATE FUNCTION audit.record_client_action(p_action text, p_object_type text, p_object_id text, p_details jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    PERFORM access.check_session();
    IF NOT EXISTS (SELECT 1 FROM audit.client_actions a WHERE a.action = p_action) THEN
        RAISE EXCEPTION 'The console may not report "%" itself', p_action
            USING ERRCODE = 'LG052', HINT = 'Actions that change data are recorded by the database functions that do them.';
    END IF;
    IF jsonb_typeof(p_details) IS DISTINCT FROM 'object' OR octet_length(p_details::text) > 8192
       OR p_object_type !~ '^[a-z_]{1,40}$' THEN
        RAISE EXCEPTION 'A reported action needs an object type and a JSON object of details under 8 kB'
            USING ERRCODE = 'LG052';
    END IF;
    RETURN audit.record(p_action, p_object_type, p_object_id, p_details);
END
$$;
REVOKE EXECUTE ON FUNCTION audit.record_client_action(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.record_client_action(text, text, text, jsonb)
    TO console_operator, console_supervisor, console_auditor, console_compliance;
