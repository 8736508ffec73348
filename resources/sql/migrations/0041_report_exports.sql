-- Step 11, late data: a report that was exported and later changed by late entries is
-- flagged, as a restated statement is (0027).
--
-- * ledger.report_exports (append-only): one row per exported report: the report.run event
--   it came from (the caller's own), the report's name, its date or period and the time it
--   was known at (its known-at, or when it was run: a report "as known now" knew what was
--   recorded by its run), the format and the file's SHA-256, who exported it and when.
-- * ledger.record_report_export(run_event, format, sha256): records one, with an audit event
--   report.exported (over the ledger connection, before the file is put in place).
-- * ledger.report_exports(limit): the latest exports, each with the entries recorded after
--   it was known that change it: effective by the end of its as-of day (trial balance,
--   balance sheet), in its period (volumes; the income statement only on income and expense
--   accounts), or by the end of its period (top movers show opening and closing balances).
--   Such an export is "restated": the same report run now would differ.
--
-- An entry recorded by the run's time but committed after the read would not be in the
-- report and is not flagged (the known-at horizon of 0031 covers this for known-at reports;
-- a report "as known now" takes its run's time). Conservative the other way: an entry
-- recorded between the run's record and its read is in the report and is flagged.
SET LOCAL ROLE ledger_owner;

CREATE TABLE ledger.report_exports (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_event    bigint      NOT NULL, -- audit.events, action report.run (a run may be exported more than once)
    report       text        NOT NULL CHECK (report IN ('trial_balance', 'balance_sheet', 'income_statement',
                                                        'top_movers', 'volumes')),
    as_of        date,
    period_from  date,
    period_to    date,
    known_at     timestamptz NOT NULL,
    format       text        NOT NULL CHECK (format IN ('csv', 'pdf')),
    file_sha256  text        NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    exported_by  text        NOT NULL,
    exported_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((as_of IS NOT NULL) <> (period_from IS NOT NULL AND period_to IS NOT NULL))
);

RESET ROLE; -- the append-only guard, as on the other ledger tables
CREATE TRIGGER report_exports_append_only BEFORE UPDATE OR DELETE ON ledger.report_exports
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.report_exports ENABLE ALWAYS TRIGGER report_exports_append_only;
CREATE TRIGGER report_exports_no_truncate BEFORE TRUNCATE ON ledger.report_exports
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.report_exports ENABLE ALWAYS TRIGGER report_exports_no_truncate;
SET LOCAL ROLE ledger_owner;

CREATE FUNCTION ledger.record_report_export(p_run_event bigint, p_format text, p_sha256 text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    e audit.events;
    v_params jsonb;
    v_id bigint;
BEGIN
    PERFORM access.check_session();
    -- Only the caller's own runs: an export names the report the operator saw.
    SELECT * INTO e FROM audit.events x
    WHERE x.id = p_run_event AND x.action = 'report.run' AND x.operator = audit.current_operator();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Report run % is not one of yours', coalesce(p_run_event::text, 'null')
            USING ERRCODE = 'LG092', HINT = 'Run the report, then export what it showed.';
    END IF;
    IF p_format IS NULL OR p_format NOT IN ('csv', 'pdf') THEN
        RAISE EXCEPTION 'Reports are exported as csv or pdf' USING ERRCODE = '22023';
    END IF;
    IF p_sha256 IS NULL OR p_sha256 !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'A file''s SHA-256 is 64 lowercase hex digits' USING ERRCODE = '22023';
    END IF;
    v_params := e.details -> 'params';
    INSERT INTO ledger.report_exports (run_event, report, as_of, period_from, period_to, known_at, format,
                                       file_sha256, exported_by)
    VALUES (e.id, e.object_id, (v_params ->> 'as_of')::date, (v_params ->> 'from')::date, (v_params ->> 'to')::date,
            coalesce((v_params ->> 'known_at')::timestamptz, e.occurred_at), p_format, p_sha256,
            audit.current_operator())
    RETURNING id INTO v_id;
    PERFORM audit.record('report.exported', 'report', e.object_id,
                         jsonb_build_object('export', v_id, 'run_event', e.id, 'format', p_format,
                                            'sha256', p_sha256, 'params', v_params));
    RETURN v_id;
END
$$;

CREATE FUNCTION ledger.report_exports(p_limit integer DEFAULT 100)
RETURNS TABLE (id bigint, run_event bigint, report text, as_of date, period_from date, period_to date,
               known_at timestamptz, format text, file_sha256 text, exported_by text, exported_at timestamptz,
               late_entries bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'Between 1 and 1000 exports at a time' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT x.id, x.run_event, x.report, x.as_of, x.period_from, x.period_to, x.known_at, x.format, x.file_sha256,
           x.exported_by, x.exported_at,
           (SELECT count(*) FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
            WHERE e.recorded_at > x.known_at
              AND e.effective_at < ((coalesce(x.as_of, x.period_to) + 1)::timestamp AT TIME ZONE 'UTC')
              AND (x.report NOT IN ('income_statement', 'volumes')
                   OR e.effective_at >= (x.period_from::timestamp AT TIME ZONE 'UTC'))
              AND (x.report <> 'income_statement' OR a.kind IN ('income', 'expense')))
    FROM (SELECT * FROM ledger.report_exports r ORDER BY r.id DESC LIMIT p_limit) x
    ORDER BY x.id DESC;
END
$$;

REVOKE EXECUTE ON FUNCTION ledger.record_report_export(bigint, text, text), ledger.report_exports(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.record_report_export(bigint, text, text), ledger.report_exports(integer)
    TO console_operator, console_supervisor, console_auditor, console_compliance;
