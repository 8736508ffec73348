-- Sealing in the server module (issue 20): audit.seal_from in C (services/db/server/ledger_pg.c,
-- audit_seal_from). 0060's PL/pgSQL called audit.event_encoding, a SQL function, once per
-- event, and built its arrays in a PL/pgSQL loop: 5 of the 19 ms a seal of a batch's 1,000
-- events took. The module runs the same statements (the bound first, then the chain's head,
-- the unsealed events from p_from in id order, one UPDATE for all, the floor) and hashes each
-- event onto the one before with the bytes audit.event_encoding and audit.field make
-- (unchanged: both verifiers recompute the chain from them, in SQL and in C++, and every test
-- verifies the chain after it ran). Same signature, owner, SECURITY DEFINER and settings.
DO $migration$
BEGIN
    CREATE OR REPLACE FUNCTION audit.seal_from(p_from bigint) RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, audit, pg_temp
    SET enable_bitmapscan = off
    SET plan_cache_mode = force_generic_plan
    AS 'ledger_pg', 'audit_seal_from';
EXCEPTION WHEN undefined_file THEN
    RAISE EXCEPTION 'This server cannot load ledger_pg, the ledger''s server module: %', SQLERRM
        USING ERRCODE = 'LG101',
              HINT = 'Install the ledger-console package on the database server (it puts ledger_pg.so in '
                     'PostgreSQL 15''s library directory), or set dynamic_library_path to a directory '
                     'that holds it. Nothing was changed.';
END
$migration$;
