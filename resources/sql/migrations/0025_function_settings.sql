-- Step 6, two settings every function of the ledger carries (checked by tst_security).
--
-- * search_path ends with an explicit pg_temp. Without it PostgreSQL searches the temporary
--   schema FIRST for tables and types: a role with TEMP could create a temporary table or
--   type named like one a function uses unqualified and have a SECURITY DEFINER function use
--   it instead (a role given TEMP read the loopback's password that way). Console roles have
--   no TEMP on the ledger database, and pg_temp last makes that true of the functions too.
--   SQL helpers without a SET clause (inlined into their callers) qualify every name.
-- * Every function a console, broker or writer login (or pg_cron) calls waits at most 5
--   seconds for a lock (lock_timeout): a long transaction holding an account's head, a
--   request or the audit chain makes others fail with 55P03 ("the ledger is busy; nothing
--   was saved; try again") instead of queueing behind it without end. No login can hold an
--   advisory lock of the ledger any more (0020), and idle transactions are ended by the
--   reaper.
DO $settings$
DECLARE
    f record;
    v_path text;
BEGIN
    FOR f IN SELECT p.oid, p.oid::regprocedure AS sig, p.prosecdef, p.proconfig
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname IN ('ledger', 'audit', 'access', 'recon', 'reporting', 'ledger_priv')
               AND p.prokind IN ('f', 'p')
    LOOP
        SELECT substr(c, length('search_path=') + 1) INTO v_path
        FROM unnest(f.proconfig) c WHERE c LIKE 'search_path=%';
        IF v_path IS NULL THEN
            IF f.prosecdef THEN
                RAISE EXCEPTION 'SECURITY DEFINER function % has no fixed search_path', f.sig;
            END IF;
            CONTINUE; -- an inlined SQL helper: every name in it is qualified
        END IF;
        IF v_path !~ '(^|,\s*)pg_temp$' THEN
            v_path := regexp_replace(v_path, '(^|,\s*)pg_temp(?=,|$)', '', 'g');
            EXECUTE format('ALTER FUNCTION %s SET search_path = %s, pg_temp', f.sig, v_path);
        END IF;
    END LOOP;

    FOR f IN SELECT DISTINCT p.oid::regprocedure AS sig
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             CROSS JOIN unnest(ARRAY['console_operator', 'console_supervisor', 'console_auditor', 'console_compliance',
                                     'ledger_writer', 'console_broker']) r(role)
             WHERE n.nspname IN ('ledger', 'audit', 'access', 'recon', 'reporting')
               AND p.prokind = 'f'
               AND has_function_privilege(r.role, p.oid, 'EXECUTE')
               AND p.proname <> 'check_session' -- called inside views once per query: no waits in it
             UNION
             SELECT x::regprocedure FROM unnest(ARRAY['access.reap()', 'access.collect_signin_failures(bigint, boolean)',
                                                      'audit.seal()']) x
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET lock_timeout = %L', f.sig, '5s');
    END LOOP;
END
$settings$;
