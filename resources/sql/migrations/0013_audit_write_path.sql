-- The audit write path, measured (pg_stat_user_functions, one client posting):
--  * audit.seal_pending() took 0.59 ms a call. Its search for unsealed events used a bitmap
--    scan of the partial index events_unsealed, which visits the heap for every index entry
--    of an event sealed since the last vacuum (each seal leaves one behind). A plain index
--    scan marks those entries dead as it passes them, and later scans skip them: 0.11 ms.
--  * audit.current_operator() and audit.record() were SQL functions with SET clauses,
--    which are never inlined and pay for a full executor start on every call (~50 us each,
--    three calls per posting). As PL/pgSQL, their statements' plans are cached.
--  * Every index on audit.events is written twice per event (the insert, then the seal's
--    update, which cannot be HOT: seq is indexed). The action index goes: the auditor's
--    action filter walks the primary key newest first instead, as the other filters do.
SET LOCAL ROLE ledger_owner;

ALTER FUNCTION audit.seal_pending() SET enable_bitmapscan = off;
DROP INDEX audit.events_by_action;

CREATE OR REPLACE FUNCTION audit.current_operator() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    v text;
BEGIN
    SELECT s.operator INTO v FROM access.sessions s WHERE s.role_name = session_user;
    IF v IS NULL THEN
        SELECT o.name INTO v FROM access.operators o WHERE o.broker_role = session_user;
    END IF;
    RETURN coalesce(v, session_user::text);
END
$$;

CREATE OR REPLACE FUNCTION audit.record(p_action text, p_object_type text, p_object_id text,
                                        p_details jsonb DEFAULT '{}'::jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, audit
AS $$
BEGIN
    RETURN audit.record_as(audit.current_operator(), session_user, p_action, p_object_type, p_object_id, p_details,
                           jsonb_strip_nulls(jsonb_build_object(
                               'application', nullif(current_setting('application_name', true), ''),
                               'address', host(inet_client_addr()),
                               'backend_pid', pg_backend_pid())));
END
$$;
