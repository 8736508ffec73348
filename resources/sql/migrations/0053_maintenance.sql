-- Step 13: the scheduled jobs without pg_cron. Where pg_cron is installed the migrations
-- schedule the jobs there; a site without it runs `ledgerctl maintain` (a systemd timer, the
-- package ships one), which calls ledger.run_maintenance_job once per job.
--
-- * ledger_maintainer: a NOLOGIN group whose members may run the jobs and nothing else, so
--   that the scheduled service needs no superuser's password. It may connect.
-- * ledger.run_maintenance_job(job, check_every): one job in the caller's transaction, under
--   a transaction-level advisory lock of its own: a second maintain running the same job at
--   the same time is told so and skips it (harmless: every job is idempotent anyway, the lock
--   only keeps two runs from queueing on each other's row locks). refresh_stale and
--   collect_signin_failures are bounded by their budgets, the sealer and the reaper by what
--   is waiting, the invariant checks (a read of the whole ledger) by running at most once an
--   hour for a maintainer; ledgerctl sets a statement_timeout around each call.
-- * ledger.maintenance_runs: per job, the last run: when, how long, what it did, by whom.
--   Replaced on each run (the jobs' own effects are on the audit trail where they matter).
-- * The invariant checks (ledger.check_invariants, a read of the whole ledger) run only when
--   the last recorded check is older than check_every (default a day).
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_maintainer') THEN
        CREATE ROLE ledger_maintainer NOLOGIN;
    END IF;
    ALTER ROLE ledger_maintainer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
    COMMENT ON ROLE ledger_maintainer IS
        'Runs the scheduled jobs (ledgerctl maintain: ledger.run_maintenance_job) and nothing else.';
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO ledger_maintainer', current_database());
END
$roles$;

SET LOCAL ROLE ledger_owner;

GRANT USAGE ON SCHEMA ledger TO ledger_maintainer;

CREATE TABLE ledger.maintenance_runs (
    job         text        PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    seconds     numeric     NOT NULL CHECK (seconds >= 0),
    result      jsonb       NOT NULL,
    ran_by      text        NOT NULL,
    runs        bigint      NOT NULL DEFAULT 1 CHECK (runs >= 1)
);
COMMENT ON TABLE ledger.maintenance_runs IS
    'Per scheduled job, its last run (ledger.run_maintenance_job, 0053).';

-- The jobs, in the order ledgerctl maintain runs them.
CREATE FUNCTION ledger.maintenance_jobs()
RETURNS TABLE (job text, what text)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM (VALUES
        ('reap_sessions',           'ends expired console sessions, drops their roles, terminates their connections'),
        ('collect_signin_failures', 'records failed sign-ins from the server log on the audit trail'),
        ('seal_audit',              'seals audit events left unsealed into the hash chain'),
        ('expire_reversals',        'expires reversal requests nobody decided in time'),
        ('record_restatements',     'flags issued statements that entries recorded since have changed'),
        ('refresh_reporting',       'refreshes the reporting balance buckets that fell behind'),
        ('check_invariants',        'checks the ledger''s invariants and records the run (when the last is older than check_every)')
    ) AS j(job, what)
$$;

CREATE FUNCTION ledger.run_maintenance_job(p_job text, p_check_every interval DEFAULT '24 hours')
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_result jsonb;
    v_last timestamptz;
    v_count integer;
BEGIN
    IF p_job IS NULL OR NOT EXISTS (SELECT 1 FROM ledger.maintenance_jobs() j WHERE j.job = p_job) THEN
        RAISE EXCEPTION 'There is no maintenance job "%"', left(coalesce(p_job, ''), 100)
            USING ERRCODE = 'LG099',
                  HINT = 'The jobs: ' || (SELECT string_agg(j.job, ', ') FROM ledger.maintenance_jobs() j) || '.';
    END IF;
    IF p_check_every IS NULL OR p_check_every < interval '0' OR p_check_every > interval '366 days' THEN
        RAISE EXCEPTION 'check_every is 0 to 366 days' USING ERRCODE = 'LG099';
    END IF;
    -- The invariant checks read the whole ledger: a maintainer may not run them back to back.
    IF p_job = 'check_invariants' AND p_check_every < interval '1 hour'
       AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user) THEN
        RAISE EXCEPTION 'The invariant checks run at most once an hour from maintain (check_every %, at least 1 hour)', p_check_every
            USING ERRCODE = 'LG099', HINT = 'Run `ledgerctl check` to check now.';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'Maintenance jobs run in READ COMMITTED transactions (the sealer cannot seal from an older snapshot)'
            USING ERRCODE = 'LG099';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtextextended('ledger.maintain:' || p_job, 0)) THEN
        RETURN jsonb_build_object('job', p_job, 'skipped', 'another maintain is running this job now');
    END IF;

    CASE p_job
    WHEN 'reap_sessions' THEN
        SELECT to_jsonb(r) INTO v_result FROM access.reap() r;
    WHEN 'collect_signin_failures' THEN
        v_count := access.collect_signin_failures();
        v_result := CASE WHEN v_count IS NULL
                         THEN jsonb_build_object('recorded', 0, 'note', 'the server writes no CSV log, so there is nothing to read')
                         ELSE jsonb_build_object('recorded', v_count) END;
    WHEN 'seal_audit' THEN
        v_result := jsonb_build_object('sealed', audit.seal());
    WHEN 'expire_reversals' THEN
        SELECT jsonb_build_object('expired', count(*)) INTO v_result FROM ledger.expire_reversals();
    WHEN 'record_restatements' THEN
        v_result := jsonb_build_object('recorded', ledger.record_restatements());
    WHEN 'refresh_reporting' THEN
        SELECT to_jsonb(r) INTO v_result FROM reporting.refresh_stale() r;
    WHEN 'check_invariants' THEN
        SELECT max(c.checked_at) INTO v_last FROM ledger.invariant_checks c;
        IF v_last IS NOT NULL AND v_last > clock_timestamp() - p_check_every THEN
            RETURN jsonb_build_object('job', p_job, 'skipped',
                                      format('the invariants were checked at %s UTC, less than %s ago',
                                             to_char(v_last AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), p_check_every));
        END IF;
        SELECT jsonb_build_object('ok', coalesce(bool_and(r.ok), true),
                                  'failed', coalesce(jsonb_agg(r.invariant) FILTER (WHERE NOT r.ok), '[]'))
        INTO v_result FROM ledger.check_invariants(NULL) r;
    END CASE;

    INSERT INTO ledger.maintenance_runs AS m (job, started_at, seconds, result, ran_by)
    VALUES (p_job, v_started, round(extract(epoch FROM clock_timestamp() - v_started)::numeric, 3), v_result, session_user)
    ON CONFLICT (job) DO UPDATE
        SET started_at = EXCLUDED.started_at, seconds = EXCLUDED.seconds, result = EXCLUDED.result,
            ran_by = EXCLUDED.ran_by, runs = m.runs + 1;
    RETURN jsonb_build_object('job', p_job, 'result', v_result,
                              'seconds', round(extract(epoch FROM clock_timestamp() - v_started)::numeric, 3));
END
$$;

-- The last run of each job, in the jobs' order (never run: NULLs).
CREATE FUNCTION ledger.maintenance_status()
RETURNS TABLE (job text, what text, started_at timestamptz, seconds numeric, result jsonb, ran_by text, runs bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT j.job, j.what, m.started_at, m.seconds, m.result, m.ran_by, coalesce(m.runs, 0)
    FROM ledger.maintenance_jobs() WITH ORDINALITY AS j(job, what, n)
    LEFT JOIN ledger.maintenance_runs m ON m.job = j.job
    ORDER BY j.n
$$;

REVOKE ALL ON ledger.maintenance_runs FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger.maintenance_jobs(), ledger.run_maintenance_job(text, interval),
    ledger.maintenance_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.maintenance_jobs(), ledger.run_maintenance_job(text, interval),
    ledger.maintenance_status() TO ledger_maintainer;
GRANT EXECUTE ON FUNCTION ledger.maintenance_status() TO console_auditor, console_compliance;
