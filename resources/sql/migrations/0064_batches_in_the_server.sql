-- Batches in the server module too (issue 20): ledger.post_batch_items, the core of
-- ledger.post_batch and ledger.ingest_events (and so of every ingest path), in C
-- (services/db/server/ledger_pg.c, ledger_post_batch_items). 0017's PL/pgSQL took about
-- 140 ms of a batch of 1,000 transfers' 155 ms: a validation statement of regular
-- expressions and ordered aggregates (39 ms), the entries' windowed insert (39 ms), the
-- events through audit.record_batch, which read every transaction back for its digest
-- (23 ms), the heads, the keys and the locks. The module does what 0017 did, rule for rule:
--  * each item checked as the single path checks it (the same code as normalize_request:
--    the same SQLSTATEs and messages, in the same order), then its external_ref and key;
--    every valid item's accounts found in one statement;
--  * the heads of every account a valid item with a new key touches locked in one
--    statement, in id order (the keys posted before read just before: keys are never taken
--    back, so the items that may post are among these);
--  * the items decided in order: an item whose key is posted is a duplicate (same request)
--    or LG011; the first item with a new key that leaves every no-negative account at or
--    above zero posts (LG020 otherwise, naming the first such account by id), later items
--    with its key replay it (duplicate or LG011);
--  * the transactions inserted in key order as INSERT ... ON CONFLICT DO NOTHING would,
--    inside a subtransaction: when a concurrent posting committed one of the keys since
--    they were read, it is undone, the keys read again (now after the locks) and the batch
--    decided again (at most five rounds, then 40001, as before);
--  * the heads moved once each; the entries and one transaction.posted event per posted
--    item written through the executor's insert routines, with the single path's digest
--    and content (every trigger, constraint and index applies, as for an INSERT);
--  * the commit's balance check is spared for the transactions it wrote, as for the single
--    path's (unless any other statement wrote entries in the same transaction).
-- 0017's function stays, renamed ledger.post_batch_items_reference: it is the
-- specification. tst_postbatch runs both on the same batches (good, bad, duplicate, replayed,
-- no-negative in order, random) and compares every outcome row and every row written.
DO $migration$
BEGIN
    ALTER FUNCTION ledger.post_batch_items(ledger.batch_input[], text) RENAME TO post_batch_items_reference;
    CREATE FUNCTION ledger.post_batch_items(p_items ledger.batch_input[], p_kind text)
    RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
    LANGUAGE c
    SET search_path = pg_catalog, ledger, pg_temp
    AS 'ledger_pg', 'ledger_post_batch_items';
EXCEPTION WHEN undefined_file THEN
    RAISE EXCEPTION 'This server cannot load ledger_pg, the ledger''s server module: %', SQLERRM
        USING ERRCODE = 'LG101',
              HINT = 'Install the ledger-console package on the database server (it puts ledger_pg.so in '
                     'PostgreSQL 15''s library directory), or set dynamic_library_path to a directory '
                     'that holds it. Nothing was changed.';
END
$migration$;
ALTER FUNCTION ledger.post_batch_items(ledger.batch_input[], text) OWNER TO ledger_owner;
REVOKE EXECUTE ON FUNCTION ledger.post_batch_items(ledger.batch_input[], text) FROM PUBLIC;
