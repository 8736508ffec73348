-- Single postings through ledger_pg, the ledger's module in the server (issue 20).
--
-- After 0060 a single posting cost about 1.0 ms of server CPU against 0.66 ms for pgledger's
-- transfer on the same cluster. Most of the difference was not the rows written but the way:
-- executor start-up for each of post_normalized's statements (the data-modifying CTE's plan
-- alone: windows, aggregates, a lateral join), PL/pgSQL around them, and the INSERT
-- statements' own set-up. ledger.post_normalized is now services/db/server/ledger_pg.c. It
-- keeps 0060's rules, errors and order, and writes the same rows:
-- * the transaction row and the account heads still go through SQL (kept generic plans): the
--   key's ON CONFLICT arbitration and the heads' row locks in id order are the executor's;
-- * the entries and the transaction.posted event are inserted with the executor's own
--   routines, as an INSERT statement would: every trigger (statement and row, the spans
--   trigger's transition table, the foreign keys, the deferred seal and balance checks),
--   check constraint and index applies;
-- * the request's fingerprint and the event's digest are computed from the same bytes as
--   before (jsonb_build_object(...)::text; transaction_head_encoding || entry_encoding).
--   tst_posting checks both against the SQL definitions.
-- normalize_request, post_request and every other caller are unchanged.
--
-- The module must be on the server: LocalCluster gives its clusters the one built with it; a
-- Debian server gets it from the ledger-console package (/usr/lib/postgresql/15/lib). Without
-- it this migration stops with LG101 and changes nothing.
DO $migration$
BEGIN
    CREATE OR REPLACE FUNCTION ledger.post_normalized(p_key text, r ledger.normalized_request, p_kind text,
                                                      p_reverses bigint, OUT transaction_id bigint, OUT created boolean)
    LANGUAGE c
    SET search_path = pg_catalog, ledger, pg_temp
    AS 'ledger_pg', 'ledger_post_normalized';
EXCEPTION WHEN undefined_file THEN
    RAISE EXCEPTION 'This server cannot load ledger_pg, the ledger''s server module: %', SQLERRM
        USING ERRCODE = 'LG101',
              HINT = 'Install the ledger-console package on the database server (it puts ledger_pg.so in '
                     'PostgreSQL 15''s library directory), or set dynamic_library_path to a directory '
                     'that holds it. Nothing was changed.';
END
$migration$;
