-- The triggers a posting fires, its entry points, and audit.current_operator, in the server module (issue 20;
-- services/db/server/ledger_pg.c). After 0062 they took about a sixth of a single posting's
-- server time, mostly PL/pgSQL's own: entering the function and taking each statement
-- through it. Each keeps its statements (as kept plans), its checks, errors and order, its
-- SECURITY DEFINER and search_path, its owner and grants, and stays bound to the same
-- triggers:
-- * ledger.guard_heads (0017): heads move only inside the posting functions (LG001);
-- * ledger.check_transaction_balanced (0017): at commit, at least two legs, every leg in its
--   account's currency, balanced per currency (LG016, LG015). A transaction post_normalized
--   found whole as it wrote it (the same three tests, on the rows it wrote) is not read back,
--   unless any other statement wrote entries in the same transaction (the spans trigger sees
--   every one): then all are read back, as before (tst_posting adds an entry by hand after a
--   posting, as the owner, and is refused at commit);
-- * ledger.entries_add_spans (0018): reads the statement's new entries from its transition
--   table without SQL, and runs ledger.span_upsert_sql only for late or future-dated ones;
-- * audit.announce_events (0019, 0023): a transaction's first event announces it;
-- * audit.seal_at_commit (0019, 0060): seals at commit unless sealed lately;
-- * audit.guard_events (0010, 0023): the only change to an event is the owner's seal (LG001;
--   the other columns compared byte for byte);
-- * audit.current_operator (0013);
-- * ledger.post_request (0055) and ledger.post_transaction (0024), the writers' entry points:
--   the request's size check (LG017), then normalize_request and post_normalized called
--   inside the module instead of through a statement.
-- post_normalized (0061) also inserts the transaction row itself now, as INSERT ... ON CONFLICT
-- DO NOTHING would (the executor's speculative insertion on the key's unique index: a key
-- still being inserted is waited for; tst_concurrency posts one key with sixteen different
-- requests at once: one posts, fifteen get LG011, none a unique violation).
-- The tests that show these rules (tst_posting, tst_postbatch, tst_auditchain, tst_pitspans,
-- tst_privileges, ...) run against these functions now.
DO $migration$
BEGIN
    CREATE OR REPLACE FUNCTION ledger.guard_heads() RETURNS trigger
    LANGUAGE c SET search_path = pg_catalog, pg_temp
    AS 'ledger_pg', 'ledger_guard_heads';
    CREATE OR REPLACE FUNCTION ledger.check_transaction_balanced() RETURNS trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, ledger, pg_temp
    AS 'ledger_pg', 'ledger_check_transaction_balanced';
    CREATE OR REPLACE FUNCTION ledger.entries_add_spans() RETURNS trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, ledger, pg_temp
    AS 'ledger_pg', 'ledger_entries_add_spans';
    CREATE OR REPLACE FUNCTION audit.announce_events() RETURNS trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, audit, pg_temp
    AS 'ledger_pg', 'audit_announce_events';
    CREATE OR REPLACE FUNCTION audit.seal_at_commit() RETURNS trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, audit, pg_temp
    AS 'ledger_pg', 'audit_seal_at_commit';
    CREATE OR REPLACE FUNCTION audit.guard_events() RETURNS trigger
    LANGUAGE c SET search_path = pg_catalog, pg_temp
    AS 'ledger_pg', 'audit_guard_events';
    CREATE OR REPLACE FUNCTION audit.current_operator() RETURNS text
    LANGUAGE c STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'ledger_pg', 'audit_current_operator';
    CREATE OR REPLACE FUNCTION ledger.post_request(p_request jsonb, OUT transaction_id bigint, OUT created boolean)
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, ledger, pg_temp SET lock_timeout = '5s'
    AS 'ledger_pg', 'ledger_post_request';
    CREATE OR REPLACE FUNCTION ledger.post_transaction(p_request jsonb) RETURNS bigint
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, ledger, pg_temp SET lock_timeout = '5s'
    AS 'ledger_pg', 'ledger_post_transaction';
EXCEPTION WHEN undefined_file THEN
    RAISE EXCEPTION 'This server cannot load ledger_pg, the ledger''s server module: %', SQLERRM
        USING ERRCODE = 'LG101',
              HINT = 'Install the ledger-console package on the database server (it puts ledger_pg.so in '
                     'PostgreSQL 15''s library directory), or set dynamic_library_path to a directory '
                     'that holds it. Nothing was changed.';
END
$migration$;
