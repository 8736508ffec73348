-- The batch entry point in the server module too (issue 20): ledger.post_batch (0017) in C
-- (services/db/server/ledger_pg.c, ledger_post_batch). 0017's PL/pgSQL checked the batch
-- (ledger.check_batch, unchanged and still called), built a ledger.batch_input array of the
-- elements and returned post_batch_items' rows: about 3 ms of a batch of 1,000. The module
-- calls check_batch, reads each element's idempotency_key and request where they lie and
-- runs the same core as post_batch_items (0064). Same signature, owner, grants, SECURITY
-- DEFINER, search_path and lock_timeout (0025).
DO $migration$
BEGIN
    CREATE OR REPLACE FUNCTION ledger.post_batch(p_requests jsonb)
    RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, ledger, pg_temp
    SET lock_timeout = '5s'
    AS 'ledger_pg', 'ledger_post_batch';
EXCEPTION WHEN undefined_file THEN
    RAISE EXCEPTION 'This server cannot load ledger_pg, the ledger''s server module: %', SQLERRM
        USING ERRCODE = 'LG101',
              HINT = 'Install the ledger-console package on the database server (it puts ledger_pg.so in '
                     'PostgreSQL 15''s library directory), or set dynamic_library_path to a directory '
                     'that holds it. Nothing was changed.';
END
$migration$;
