-- Step 9: unnest(...) WITH ORDINALITY in FROM, as import_lines had it, is a function scan
-- that stores each of its fourteen arrays' elements in a tuplestore before the first row is
-- inserted. The same unnests in a select list (a ProjectSet node: the arrays walked in step,
-- every one the same length, as the function checks) hand each row on as they go. Measured
-- on one cluster, the two alternating, twice each: 1,000,000 lines in 100 chunks of 10,000
-- (as bench_recon's statements send them) into recon.lines with its indexes took 10.9 and
-- 11.0 s in FROM, 9.7 and 9.7 s in the select list; in 10 chunks of 100,000, 12.4 s and
-- 11.0 s. (Of either, about 1.7 s is reading the arrays' text.)
--
-- The function is otherwise as in 0029.
SET LOCAL ROLE ledger_owner;

CREATE OR REPLACE FUNCTION recon.import_lines(p_statement_id bigint, p_first_no integer, p_amounts bigint[], p_booking date[],
                                   p_value date[], p_reversal boolean[], p_status text[], p_bank_ref text[],
                                   p_e2e text[], p_owner_ref text[], p_cp_name text[], p_cp_account text[],
                                   p_remittance text[], p_tx_code text[], p_info text[], p_location text[],
                                   OUT inserted integer, OUT skipped integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
SET jit = off -- compiled per call of a large statement, then run once
SET work_mem = '256MB'
AS $$
DECLARE
    s recon.statements;
    n integer := cardinality(p_amounts);
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    SELECT x.* INTO s FROM recon.statements x JOIN recon.files f ON f.id = x.file_id
    WHERE x.id = p_statement_id AND f.imported_by = audit.current_operator() AND recon.written_now(f.xmin);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Lines are imported in the transaction that began their file' USING ERRCODE = 'LG081';
    END IF;
    IF n IS NULL OR n > 100000 OR p_first_no < 1
       OR cardinality(p_booking) <> n OR cardinality(p_value) <> n OR cardinality(p_reversal) <> n
       OR cardinality(p_status) <> n OR cardinality(p_bank_ref) <> n OR cardinality(p_e2e) <> n
       OR cardinality(p_owner_ref) <> n OR cardinality(p_cp_name) <> n OR cardinality(p_cp_account) <> n
       OR cardinality(p_remittance) <> n OR cardinality(p_tx_code) <> n OR cardinality(p_info) <> n
       OR cardinality(p_location) <> n THEN
        RAISE EXCEPTION 'A chunk holds 1 to 100000 lines, every array the same length' USING ERRCODE = '22023';
    END IF;
    -- Most chunks hold no line seen before: they are inserted as they are, and the unique index
    -- lines_once says whether one was (a plain insert of a million lines took half the time of
    -- one that looked each line up first, or let ON CONFLICT do it). If one was, the chunk is
    -- inserted again with those lines left out (the first insert undone with its block).
    BEGIN
        INSERT INTO recon.lines (statement_id, bank_account_id, line_no, amount_minor, booking_date, value_date, reversal,
                                 status, bank_reference, end_to_end_id, owner_reference, counterparty_name,
                                 counterparty_account, remittance, bank_transaction_code, additional_info,
                                 source_location)
        SELECT p_statement_id, s.bank_account_id, (p_first_no + u.ord - 1)::integer, u.amount, u.booking, u.value_date,
               coalesce(u.reversal, false), coalesce(nullif(u.status, ''), 'BOOK'), coalesce(u.bank_ref, ''),
               coalesce(u.e2e, ''), coalesce(u.owner_ref, ''), coalesce(u.cp_name, ''), coalesce(u.cp_account, ''),
               coalesce(u.remittance, ''), coalesce(u.tx_code, ''), coalesce(u.info, ''), coalesce(u.location, '')
        FROM (SELECT generate_series(1, n) AS ord, unnest(p_amounts) AS amount, unnest(p_booking) AS booking,
                     unnest(p_value) AS value_date, unnest(p_reversal) AS reversal, unnest(p_status) AS status,
                     unnest(p_bank_ref) AS bank_ref, unnest(p_e2e) AS e2e, unnest(p_owner_ref) AS owner_ref,
                     unnest(p_cp_name) AS cp_name, unnest(p_cp_account) AS cp_account,
                     unnest(p_remittance) AS remittance, unnest(p_tx_code) AS tx_code, unnest(p_info) AS info,
                     unnest(p_location) AS location) u;
        GET DIAGNOSTICS inserted = ROW_COUNT;
    EXCEPTION WHEN unique_violation THEN
        -- Only lines_once may be the reason (a line number taken twice is still an error).
        INSERT INTO recon.lines (statement_id, bank_account_id, line_no, amount_minor, booking_date, value_date, reversal,
                                 status, bank_reference, end_to_end_id, owner_reference, counterparty_name,
                                 counterparty_account, remittance, bank_transaction_code, additional_info,
                                 source_location)
        SELECT p_statement_id, s.bank_account_id, (p_first_no + u.ord - 1)::integer, u.amount, u.booking, u.value_date,
               coalesce(u.reversal, false), coalesce(nullif(u.status, ''), 'BOOK'), coalesce(u.bank_ref, ''),
               coalesce(u.e2e, ''), coalesce(u.owner_ref, ''), coalesce(u.cp_name, ''), coalesce(u.cp_account, ''),
               coalesce(u.remittance, ''), coalesce(u.tx_code, ''), coalesce(u.info, ''), coalesce(u.location, '')
        FROM (SELECT generate_series(1, n) AS ord, unnest(p_amounts) AS amount, unnest(p_booking) AS booking,
                     unnest(p_value) AS value_date, unnest(p_reversal) AS reversal, unnest(p_status) AS status,
                     unnest(p_bank_ref) AS bank_ref, unnest(p_e2e) AS e2e, unnest(p_owner_ref) AS owner_ref,
                     unnest(p_cp_name) AS cp_name, unnest(p_cp_account) AS cp_account,
                     unnest(p_remittance) AS remittance, unnest(p_tx_code) AS tx_code, unnest(p_info) AS info,
                     unnest(p_location) AS location) u
        ORDER BY u.ord -- the first of two copies in one chunk is the one kept
        ON CONFLICT (bank_account_id, bank_reference, amount_minor, value_date) WHERE bank_reference <> '' DO NOTHING;
        GET DIAGNOSTICS inserted = ROW_COUNT;
    END;
    skipped := n - inserted;
END
$$;

