-- Step 12: what a client reports of the reporting store to ledger.check_invariants (0044)
-- was read into the result's columns with PostgreSQL's input rules, so "ok": "yes" was
-- taken for true and "checked": "12" for 12. The recorded run kept the typed values, but a
-- report is now taken only in its own shape: "invariant", "title" and "first_failure" JSON
-- strings (the texts may be null), "ok" a JSON boolean, "checked" and "failures" JSON
-- numbers; anything else is refused with LG094 before the run, as the other bad shapes are.
SET LOCAL ROLE ledger_owner;

ALTER FUNCTION ledger.check_invariants(jsonb) RENAME TO check_invariants_0048;
REVOKE EXECUTE ON FUNCTION ledger.check_invariants_0048(jsonb) FROM PUBLIC, console_auditor, console_compliance;

CREATE FUNCTION ledger.check_invariants(p_store jsonb DEFAULT NULL) RETURNS SETOF ledger.invariant_result
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    IF jsonb_typeof(p_store) = 'array' AND EXISTS (
           SELECT 1 FROM jsonb_array_elements(p_store) j(v)
           WHERE jsonb_typeof(j.v) = 'object'
             AND (jsonb_typeof(j.v->'invariant') IS DISTINCT FROM 'string'
                  OR jsonb_typeof(j.v->'ok') IS DISTINCT FROM 'boolean'
                  OR jsonb_typeof(j.v->'checked') IS DISTINCT FROM 'number'
                  OR jsonb_typeof(j.v->'failures') IS DISTINCT FROM 'number'
                  OR coalesce(jsonb_typeof(j.v->'title'), 'null') NOT IN ('string', 'null')
                  OR coalesce(jsonb_typeof(j.v->'first_failure'), 'null') NOT IN ('string', 'null')
                  OR coalesce(jsonb_typeof(j.v->'seconds'), 'null') NOT IN ('number', 'null'))) THEN
        RAISE EXCEPTION 'A reporting store result is {"invariant": text, "title": text, "ok": true|false, "checked": n, "failures": n, "first_failure": text or null}'
            USING ERRCODE = 'LG094';
    END IF;
    RETURN QUERY SELECT * FROM ledger.check_invariants_0048(p_store);
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.check_invariants(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.check_invariants(jsonb) TO console_auditor, console_compliance;
