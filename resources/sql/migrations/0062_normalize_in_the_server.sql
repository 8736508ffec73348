-- A request's legs read in the server module too (issue 20): ledger.normalize_request in C
-- (services/db/server/ledger_pg.c, ledger_normalize_request). 0055's PL/pgSQL took about a
-- tenth of a single posting's server time: six statements (each leg's account and its
-- currency's exponent, the legs' array, the per-currency sums) around jsonb look-ups and
-- regular expressions. The module reads the request with the jsonb API, finds every leg's
-- account and exponent in one statement, and refuses what 0055 refused, in the same order,
-- with the same SQLSTATE and message; its result (including the canonical request, the
-- fingerprint's input) is the same value.
--
-- 0055's function stays, renamed ledger.normalize_request_reference: it is the
-- specification, as balance_minor_naive is for balances. tst_posting runs both on every good
-- and bad request it has and on random ones, and compares results and errors.
DO $migration$
BEGIN
    ALTER FUNCTION ledger.normalize_request(jsonb) RENAME TO normalize_request_reference;
    CREATE FUNCTION ledger.normalize_request(p_request jsonb) RETURNS ledger.normalized_request
    LANGUAGE c
    SET search_path = pg_catalog, ledger, pg_temp
    AS 'ledger_pg', 'ledger_normalize_request';
EXCEPTION WHEN undefined_file THEN
    RAISE EXCEPTION 'This server cannot load ledger_pg, the ledger''s server module: %', SQLERRM
        USING ERRCODE = 'LG101',
              HINT = 'Install the ledger-console package on the database server (it puts ledger_pg.so in '
                     'PostgreSQL 15''s library directory), or set dynamic_library_path to a directory '
                     'that holds it. Nothing was changed.';
END
$migration$;
ALTER FUNCTION ledger.normalize_request(jsonb) OWNER TO ledger_owner;
REVOKE EXECUTE ON FUNCTION ledger.normalize_request(jsonb) FROM PUBLIC;
