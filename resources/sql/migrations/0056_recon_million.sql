-- Step 9: a million statement lines imported and matched faster (issue 15).
--
-- Import. recon.lines had two indexes that led with the bank account: lines_once (account,
-- bank reference, amount, value date; unique where there is a reference) and lines_by_date
-- (account, value date, amount). One unique index on (account, value date, amount, the
-- reference or NULL) does the work of both: the same lines are refused as seen before (NULLs
-- are distinct, so lines without a reference never conflict), and the date-ordered reads use
-- its first columns. Measured on one cluster with a million lines of bench_recon's statement,
-- the layouts alternating: inserting them took 4.9 and 4.8 s with the two indexes, 3.5 and
-- 3.9 s with the one. (No reader looks lines up by reference alone through an index:
-- import_finish's duplicate check hashes the account's lines, as 0035 says.) That duplicate
-- check moves into recon.file_duplicates (below), about a second less on a million lines.
--
-- Matching (recon.match_account, otherwise as in 0029): the exact pass finds the lines and
-- entries that have more than one candidate by sorting instead of hashing (EXPLAIN ANALYZE
-- on 934,000 candidates: 0.92 s against 1.50 s), and a run writes the standing index in key
-- order (a million entries' rows: 1.25-1.47 s against 1.93-1.96 s in the pairs' order).
--
-- bench_recon (release, 1,000,000 MT940 lines against 1,000,000 entries), the build before
-- this migration and the build with it alternating, two rounds, yardstick 1.47-1.68 s:
--   parse and import: 14.97 and 11.89 s before, 10.63 and 9.08 s after (import_lines 11.26 and
--   8.17 s -> 7.67 and 6.50 s; import_finish 2.39 and 2.38 s -> 1.61 and 1.31 s);
--   the whole matching run: 14.04 and 14.54 s before, 14.21 and 14.26 s after (the exact pass
--   3.65 and 4.10 s -> 3.55 and 3.29 s; recording 6.3-6.8 s in all four runs).
-- Recording writes about three million rows (0.5 GB of WAL). Its backend, sampled every 0.1 s,
-- was on the CPU 85% of the time and creating WAL segments 9%: its time moves with the host
-- (4.2-4.6 s earlier the same evening, when the whole run took 10.96 s with this migration
-- against 12.11 s without it).
SET LOCAL ROLE ledger_owner;

DROP INDEX recon.lines_once;
DROP INDEX recon.lines_by_date;
-- A line already seen under its bank reference (the same amount and value date on the same
-- account) is not imported twice: this index refuses it, and import_lines skips it. Lines
-- without a reference are not refused here (import_finish reports look-alikes as duplicates).
CREATE UNIQUE INDEX lines_once ON recon.lines (bank_account_id, value_date, amount_minor, (nullif(bank_reference, '')));

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
        ON CONFLICT (bank_account_id, value_date, amount_minor, (nullif(bank_reference, ''))) DO NOTHING;
        GET DIAGNOSTICS inserted = ROW_COUNT;
    END;
    skipped := n - inserted;
END
$$;

-- import_finish's duplicate check, as a query of its own: RETURN QUERY may run in parallel
-- (the INSERT that raises the exceptions may not), and the file's lines are no longer copied
-- into a materialized CTE first (with their remittance texts, a million of them took about
-- 0.65 s). Measured on a million-line file against itself: 1.47 s as it was, 0.76 s without
-- the copy, 0.48 s in parallel (two workers).
-- A line with a bank reference duplicates an earlier line of its account with that reference
-- (lines_once has refused those equal in amount and value date too); a line without one, an
-- earlier line without one equal in amount, value date, counterparty account, remittance and
-- end-to-end id.
CREATE FUNCTION recon.file_duplicates(p_file_id bigint)
RETURNS TABLE (line_id bigint, bank_account_id bigint, amount_minor bigint, duplicate_of bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, recon, pg_temp
SET jit = off
SET work_mem = '256MB'
SET enable_mergejoin = off -- as 0035: a merge join sorted the account's whole history by reference
AS $$
BEGIN
    RETURN QUERY
    -- Two equi-joins (an OR between them would be a loop over the account's lines per line).
    SELECT m.id, m.bank_account_id, m.amount_minor, min(o.id)
    FROM recon.lines m
    JOIN recon.lines o ON o.bank_account_id = m.bank_account_id AND o.bank_reference = m.bank_reference
     AND o.id < m.id
    WHERE m.statement_id IN (SELECT s.id FROM recon.statements s WHERE s.file_id = p_file_id)
      AND m.bank_reference <> ''
    GROUP BY m.id, m.bank_account_id, m.amount_minor
    UNION ALL
    SELECT m.id, m.bank_account_id, m.amount_minor, min(o.id)
    FROM recon.lines m
    JOIN recon.lines o ON o.bank_account_id = m.bank_account_id AND o.bank_reference = ''
     AND o.amount_minor = m.amount_minor AND o.value_date = m.value_date
     AND o.counterparty_account = m.counterparty_account AND o.remittance = m.remittance
     AND o.end_to_end_id = m.end_to_end_id AND o.id < m.id
    WHERE m.statement_id IN (SELECT s.id FROM recon.statements s WHERE s.file_id = p_file_id)
      AND m.bank_reference = ''
    GROUP BY m.id, m.bank_account_id, m.amount_minor;
END
$$;
REVOKE EXECUTE ON FUNCTION recon.file_duplicates(bigint) FROM PUBLIC;

-- import_finish, otherwise as in 0029 (with 0035's setting).
CREATE OR REPLACE FUNCTION recon.import_finish(p_file_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
SET jit = off -- compiled per call of a large statement, then run once
SET work_mem = '256MB'
SET enable_mergejoin = off -- as 0035 set it
AS $$
DECLARE
    f recon.files;
    v_summary jsonb;
    v_unbalanced integer;
    v_duplicates integer;
    v_lines bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    SELECT * INTO f FROM recon.files x WHERE x.id = p_file_id AND x.imported_by = audit.current_operator()
                                          AND recon.written_now(x.xmin);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'A file is finished in the transaction that began it' USING ERRCODE = 'LG081';
    END IF;
    WITH t AS (
        SELECT s.id, s.bank_account_id, s.opening_minor, s.closing_minor,
               (s.opening_minor + coalesce(sum(l.amount_minor) FILTER (WHERE l.status = 'BOOK'), 0) - s.closing_minor)::bigint AS diff
        FROM recon.statements s LEFT JOIN recon.lines l ON l.statement_id = s.id
        WHERE s.file_id = p_file_id AND s.opening_minor IS NOT NULL AND s.closing_minor IS NOT NULL
        GROUP BY s.id
    ), raised AS (
        INSERT INTO recon.exceptions (bank_account_id, type, statement_id, amount_minor, difference_minor, detail,
                                      raised_by, due_at)
        SELECT t.bank_account_id, 'statement_unbalanced', t.id, t.closing_minor, -t.diff,
               jsonb_build_object('opening_minor', t.opening_minor, 'closing_minor', t.closing_minor),
               audit.current_operator(), recon.due_at(t.diff, c.exponent, clock_timestamp())
        FROM t JOIN recon.bank_accounts b ON b.id = t.bank_account_id JOIN ledger.currencies c ON c.code = b.currency
        WHERE t.diff <> 0
        ON CONFLICT DO NOTHING
        RETURNING id, raised_at
    ), st AS (
        INSERT INTO recon.exception_state (exception_id, state, updated_at) SELECT id, 'open', raised_at FROM raised
    )
    SELECT count(*) INTO v_unbalanced FROM raised;

    -- The planner has not seen the file's lines yet (they are this transaction's): without
    -- this it takes a large file for a few rows and joins it with a loop per line.
    ANALYZE recon.lines;
    WITH dup AS (
        SELECT d.line_id AS id, d.bank_account_id, d.amount_minor, d.duplicate_of AS other
        FROM recon.file_duplicates(p_file_id) d
    ), raised AS (
        INSERT INTO recon.exceptions (bank_account_id, type, line_id, amount_minor, detail, raised_by, due_at)
        SELECT d.bank_account_id, 'duplicate_line', d.id, d.amount_minor, jsonb_build_object('duplicate_of', d.other),
               audit.current_operator(), recon.due_at(d.amount_minor, c.exponent, clock_timestamp())
        FROM dup d JOIN recon.bank_accounts b ON b.id = d.bank_account_id JOIN ledger.currencies c ON c.code = b.currency
        ON CONFLICT DO NOTHING
        RETURNING id, raised_at
    ), st AS (
        INSERT INTO recon.exception_state (exception_id, state, updated_at) SELECT id, 'open', raised_at FROM raised
    )
    SELECT count(*) INTO v_duplicates FROM raised;
    SELECT count(*) INTO v_lines FROM recon.lines l
    WHERE l.statement_id IN (SELECT s.id FROM recon.statements s WHERE s.file_id = p_file_id);

    SELECT jsonb_build_object(
               'file_id', f.id, 'sha256', f.sha256, 'format', f.format, 'file_name', f.file_name,
               'statements', (SELECT count(*) FROM recon.statements s WHERE s.file_id = f.id),
               'lines', v_lines, 'unbalanced_statements', v_unbalanced, 'duplicate_lines', v_duplicates)
    INTO v_summary;
    PERFORM audit.record('recon.imported', 'file', f.sha256, v_summary);
    RETURN v_summary;
END
$$;

CREATE OR REPLACE FUNCTION recon.match_account(b recon.bank_accounts, p_run bigint) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, recon, ledger, pg_temp
SET client_min_messages = warning
-- Hash joins and aggregates over a million lines stay in memory; JIT would compile each large
-- statement once for a single execution (seconds in all, nothing won back).
SET work_mem = '256MB'
SET jit = off
SET enable_hashagg = on -- turned off for one statement below, and back as it was on return
AS $$
DECLARE
    v_tol bigint;
    v_width bigint;
    v_exponent integer;
    n_exact integer := 0;
    n_tolerance integer := 0;
    n_one_to_many integer := 0;
    n_many_to_one integer := 0;
    n_auto integer := 0;
    n_raised jsonb;
    n_resolved integer := 0;
    v_step timestamptz := clock_timestamp();
    v_ms jsonb := '{}';
    v_operator text := audit.current_operator();
BEGIN
    SELECT c.exponent INTO v_exponent FROM ledger.currencies c WHERE c.code = b.currency;
    DROP TABLE IF EXISTS pg_temp.recon_l, pg_temp.recon_e, pg_temp.recon_cand, pg_temp.recon_exact, pg_temp.recon_pairs;
    -- What is left to match: booked lines and the mirror account's entries in no standing group.
    CREATE TEMP TABLE recon_l ON COMMIT DROP AS
    SELECT l.id, l.amount_minor AS amount, l.value_date AS d, l.bank_reference AS ref, l.end_to_end_id AS e2e,
           l.remittance, l.counterparty_name AS cp
    FROM recon.lines l
    WHERE l.bank_account_id = b.id AND l.status = 'BOOK'
      AND NOT EXISTS (SELECT 1 FROM recon.active_lines a WHERE a.line_id = l.id);
    CREATE TEMP TABLE recon_e ON COMMIT DROP AS
    SELECT e.id, e.amount, (e.effective_at AT TIME ZONE 'UTC')::date AS d, coalesce(t.external_ref, '') AS ref,
           coalesce(t.description, '') AS description
    FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
    WHERE e.account_id = b.account_id
      AND NOT EXISTS (SELECT 1 FROM recon.active_entries a WHERE a.entry_id = e.id);
    ANALYZE recon_l;
    ANALYZE recon_e;
    v_ms := v_ms || recon.elapsed_ms('prepare', v_step);
    v_step := clock_timestamp();

    -- Pass 1: the reference (bank reference or end-to-end id = external reference), the
    -- amount exactly, the date within the window; only pairs unique on both sides. One hash
    -- join, each line probing with both of its references (its end-to-end id when it differs
    -- from its bank reference); pairs that share a line or an entry with another are found by
    -- two hash aggregates (sorting a million candidates twice for window counts took longer).
    -- Its pairs are kept as plain ids (recon_exact): most of a large run's groups are these.
    CREATE TEMP TABLE recon_cand ON COMMIT DROP AS
    SELECT k.id AS line_id, e.id AS entry_id, k.amount,
           recon.score(0, 0, e.d - k.d, b.date_window_days, 20,
                       k.cp <> '' AND length(k.cp) >= 3 AND strpos(lower(e.description), lower(k.cp)) > 0) AS score
    FROM (SELECT l.id, l.amount, l.d, l.cp, l.ref AS key FROM recon_l l WHERE l.ref <> ''
          UNION ALL
          SELECT l.id, l.amount, l.d, l.cp, l.e2e FROM recon_l l WHERE l.e2e <> '' AND l.e2e <> l.ref) k
    JOIN recon_e e ON e.ref = k.key AND e.amount = k.amount
    WHERE abs(e.d - k.d) <= b.date_window_days;
    -- Each pair numbered as the group it will be (ids from the groups' own sequence).
    -- NOT IN over the (few) shared ids is a hashed lookup per pair; the planner, estimating
    -- a third of them shared, sorted a million pairs twice for anti-joins instead.
    -- The shared ids are found by sorting (a million bigints sort in about 0.1 s); hashing a
    -- million groups to count them took about 0.55 s per side.
    SET LOCAL enable_hashagg = off;
    CREATE TEMP TABLE recon_exact ON COMMIT DROP AS
    SELECT nextval('recon.match_groups_id_seq'::regclass) AS id, c.line_id, c.entry_id, c.amount, c.score
    FROM recon_cand c
    WHERE c.line_id NOT IN (SELECT x.line_id FROM recon_cand x GROUP BY x.line_id HAVING count(*) > 1)
      AND c.entry_id NOT IN (SELECT x.entry_id FROM recon_cand x GROUP BY x.entry_id HAVING count(*) > 1);
    SET LOCAL enable_hashagg = on;
    DROP TABLE recon_cand;
    -- The other passes' groups (few).
    CREATE TEMP TABLE recon_pairs (rule text, line_ids bigint[], entry_ids bigint[], lines_minor bigint,
                                   entries_minor bigint, score integer,
                                   id bigint NOT NULL DEFAULT nextval('recon.match_groups_id_seq'::regclass))
        ON COMMIT DROP;
    -- What is left, rebuilt rather than deleted from: the next passes join it again, and a
    -- table that is nine tenths dead rows makes every scan of it ten times as long.
    CREATE TEMP TABLE recon_l_left ON COMMIT DROP AS
    SELECT l.* FROM recon_l l WHERE NOT EXISTS (SELECT 1 FROM recon_exact p WHERE p.line_id = l.id);
    CREATE TEMP TABLE recon_e_left ON COMMIT DROP AS
    SELECT e.* FROM recon_e e WHERE NOT EXISTS (SELECT 1 FROM recon_exact p WHERE p.entry_id = e.id);
    DROP TABLE recon_l, recon_e;
    ALTER TABLE recon_l_left RENAME TO recon_l;
    ALTER TABLE recon_e_left RENAME TO recon_e;
    ANALYZE recon_l;
    ANALYZE recon_e;
    v_ms := v_ms || recon.elapsed_ms('exact', v_step);
    v_step := clock_timestamp();

    -- Pass 2: the amount within tolerance (absolute, or basis points of the line's amount)
    -- and the date within the window; mutual best candidates with a unique best score.
    -- Candidates are found through amount buckets as wide as the largest tolerance.
    SELECT greatest(b.amount_tolerance_minor, coalesce(max(abs(l.amount)) * b.amount_tolerance_bp / 10000, 0))
    INTO v_width FROM recon_l l;
    WITH c AS (
        SELECT l.id AS line_id, e.id AS entry_id, l.amount, e.amount AS entry_amount, e.amount - l.amount AS diff,
               e.d - l.d AS days,
               greatest(b.amount_tolerance_minor, abs(l.amount) * b.amount_tolerance_bp / 10000) AS tol,
               CASE WHEN l.ref <> '' AND (e.ref = l.ref) THEN 20
                    WHEN l.e2e <> '' AND (e.ref = l.e2e) THEN 20
                    WHEN length(e.ref) >= 4 AND strpos(l.remittance, e.ref) > 0 THEN 10 ELSE 0 END AS ref_points,
               l.cp <> '' AND length(l.cp) >= 3 AND strpos(lower(e.description), lower(l.cp)) > 0 AS cp_match
        FROM recon_l l
        CROSS JOIN LATERAL (VALUES (floor(l.amount::numeric / (v_width + 1))::bigint - 1),
                                   (floor(l.amount::numeric / (v_width + 1))::bigint),
                                   (floor(l.amount::numeric / (v_width + 1))::bigint + 1)) k(bucket)
        JOIN (SELECT x.*, floor(x.amount::numeric / (v_width + 1))::bigint AS bucket FROM recon_e x) e
          ON e.bucket = k.bucket AND abs(e.d - l.d) <= b.date_window_days
    ), s AS (
        SELECT c.*, recon.score(diff, tol, days, b.date_window_days, ref_points, cp_match) AS score
        FROM c WHERE abs(diff) <= tol
    ), r AS (
        SELECT s.*,
               rank() OVER (PARTITION BY line_id ORDER BY score DESC) AS line_rank,
               count(*) OVER (PARTITION BY line_id, score) AS line_ties,
               rank() OVER (PARTITION BY entry_id ORDER BY score DESC) AS entry_rank,
               count(*) OVER (PARTITION BY entry_id, score) AS entry_ties
        FROM s
    ), ins AS (
        INSERT INTO recon_pairs
        SELECT 'tolerance', ARRAY[line_id], ARRAY[entry_id], amount, entry_amount, score
        FROM r WHERE line_rank = 1 AND entry_rank = 1 AND line_ties = 1 AND entry_ties = 1
        RETURNING line_ids, entry_ids
    )
    SELECT count(*) INTO n_tolerance FROM ins;
    CREATE TEMP TABLE recon_l_left ON COMMIT DROP AS
    SELECT l.* FROM recon_l l
    WHERE NOT EXISTS (SELECT 1 FROM recon_pairs p WHERE p.rule = 'tolerance' AND p.line_ids[1] = l.id);
    CREATE TEMP TABLE recon_e_left ON COMMIT DROP AS
    SELECT e.* FROM recon_e e
    WHERE NOT EXISTS (SELECT 1 FROM recon_pairs p WHERE p.rule = 'tolerance' AND p.entry_ids[1] = e.id);
    DROP TABLE recon_l, recon_e;
    ALTER TABLE recon_l_left RENAME TO recon_l;
    ALTER TABLE recon_e_left RENAME TO recon_e;
    ANALYZE recon_l;
    ANALYZE recon_e;
    v_ms := v_ms || recon.elapsed_ms('tolerance', v_step);
    v_step := clock_timestamp();

    -- Pass 2b: interchangeable items. Lines and entries without a reference that agree in
    -- amount and date with as many of the other side (two fees of 4.90 on one day) are told
    -- apart by nothing, so any pairing is right: they are paired in order. (Pass 2 leaves
    -- them, as each has several best candidates.)
    WITH l AS (
        SELECT x.id, x.amount, x.d, row_number() OVER (PARTITION BY x.amount, x.d ORDER BY x.id) AS k,
               count(*) OVER (PARTITION BY x.amount, x.d) AS n
        FROM recon_l x -- no entry has either of its references (four hashed anti-joins: an IN
                       -- or OR between the references would compare every line with every entry)
        WHERE NOT EXISTS (SELECT 1 FROM recon_e e WHERE e.ref = x.ref AND x.ref <> '')
          AND NOT EXISTS (SELECT 1 FROM recon_e e WHERE e.ref = x.e2e AND x.e2e <> '')
    ), e AS (
        SELECT x.id, x.amount, x.d, row_number() OVER (PARTITION BY x.amount, x.d ORDER BY x.id) AS k,
               count(*) OVER (PARTITION BY x.amount, x.d) AS n
        FROM recon_e x -- no line names its reference
        WHERE NOT EXISTS (SELECT 1 FROM recon_l l WHERE l.ref = x.ref AND x.ref <> '')
          AND NOT EXISTS (SELECT 1 FROM recon_l l WHERE l.e2e = x.ref AND x.ref <> '')
    ), ins AS (
        INSERT INTO recon_pairs
        SELECT 'tolerance', ARRAY[l.id], ARRAY[e.id], l.amount, e.amount,
               recon.score(0, 0, 0, b.date_window_days, 0, false)
        FROM l JOIN e ON e.amount = l.amount AND e.d = l.d AND e.k = l.k AND e.n = l.n AND l.n > 1
        RETURNING 1
    )
    SELECT n_tolerance + count(*) INTO n_tolerance FROM ins;
    DELETE FROM recon_l WHERE id IN (SELECT unnest(p.line_ids) FROM recon_pairs p WHERE p.rule = 'tolerance');
    DELETE FROM recon_e WHERE id IN (SELECT unnest(p.entry_ids) FROM recon_pairs p WHERE p.rule = 'tolerance');
    v_ms := v_ms || recon.elapsed_ms('interchangeable', v_step);
    v_step := clock_timestamp();

    -- Pass 3a, one to many: a line equal to the sum of 2..max_group_size entries of the same
    -- sign within the window (found among the 30 entries nearest in date, smaller in size);
    -- a line with exactly one such set, sets that share no entry. Sets are grown largest member
    -- first (size_rank), and a set that even with its remaining places filled by members as
    -- large as its last cannot reach the line is not grown further (without that bound, a
    -- million-line run enumerated 600,000 partial sets here).
    WITH RECURSIVE cand AS (
        SELECT z.*, row_number() OVER (PARTITION BY z.line_id ORDER BY abs(z.amount) DESC, z.entry_id) AS size_rank
        FROM (
            SELECT l.id AS line_id, l.amount AS target, l.d, e.id AS entry_id, e.amount, e.d AS entry_d,
                   row_number() OVER (PARTITION BY l.id ORDER BY abs(e.d - l.d), e.id) AS nearness
            FROM recon_l l CROSS JOIN generate_series(-b.date_window_days, b.date_window_days) k(days)
            JOIN recon_e e ON e.d = l.d + k.days -- an equi-join (hashed), not a range join per line
            WHERE sign(e.amount) = sign(l.amount) AND abs(e.amount) < abs(l.amount)
        ) z WHERE z.nearness <= 30
    ), reachable AS (
        -- Lines that max_group_size of their largest candidates can reach: a line larger than
        -- that (an unknown payment of a million) would otherwise have every subset of its 30
        -- candidates tried (a 1M-line run spent 37 s here).
        SELECT x.line_id FROM (SELECT c.line_id, c.target, abs(c.amount) AS size,
                                      row_number() OVER (PARTITION BY c.line_id ORDER BY abs(c.amount) DESC) AS big
                               FROM cand c) x
        WHERE x.big <= b.max_group_size GROUP BY x.line_id, x.target HAVING sum(x.size) >= abs(x.target)
    ), sets(line_id, target, last_rank, total, members, n, far) AS (
        SELECT c.line_id, c.target, c.size_rank, c.amount, ARRAY[c.entry_id], 1, abs(c.entry_d - c.d) FROM cand c
        WHERE c.line_id IN (SELECT r.line_id FROM reachable r) AND abs(c.amount) * b.max_group_size >= abs(c.target)
        UNION ALL
        SELECT s.line_id, s.target, c.size_rank, s.total + c.amount, s.members || c.entry_id, s.n + 1,
               greatest(s.far, abs(c.entry_d - c.d))
        FROM sets s JOIN cand c ON c.line_id = s.line_id AND c.size_rank > s.last_rank
        WHERE s.n < b.max_group_size AND abs(s.total + c.amount) <= abs(s.target)
          AND abs(s.total + c.amount) + (b.max_group_size - s.n - 1) * abs(c.amount) >= abs(s.target)
    ), found AS (
        SELECT z.* FROM (SELECT s.*, count(*) OVER (PARTITION BY s.line_id) AS ways FROM sets s
                         WHERE s.n >= 2 AND s.total = s.target) z
        WHERE z.ways = 1
    ), claims AS (
        SELECT f.line_id, count(*) OVER (PARTITION BY m.entry_id) AS claims
        FROM found f CROSS JOIN LATERAL unnest(f.members) AS m(entry_id)
    ), ins AS (
        INSERT INTO recon_pairs
        SELECT 'one_to_many', ARRAY[f.line_id], (SELECT array_agg(m ORDER BY m) FROM unnest(f.members) m), f.target, f.total,
               recon.score(0, 0, f.far, b.date_window_days, 0, false)
        FROM found f
        WHERE NOT EXISTS (SELECT 1 FROM claims c WHERE c.line_id = f.line_id AND c.claims > 1)
        RETURNING 1
    )
    SELECT count(*) INTO n_one_to_many FROM ins;
    DELETE FROM recon_l WHERE id IN (SELECT unnest(p.line_ids) FROM recon_pairs p WHERE p.rule = 'one_to_many');
    DELETE FROM recon_e WHERE id IN (SELECT unnest(p.entry_ids) FROM recon_pairs p WHERE p.rule = 'one_to_many');
    v_ms := v_ms || recon.elapsed_ms('one_to_many', v_step);
    v_step := clock_timestamp();

    -- Pass 3b, many to one: the reverse (2..max_group_size lines equal to one entry).
    WITH RECURSIVE cand AS (
        SELECT z.*, row_number() OVER (PARTITION BY z.entry_id ORDER BY abs(z.amount) DESC, z.line_id) AS size_rank
        FROM (
            SELECT e.id AS entry_id, e.amount AS target, e.d, l.id AS line_id, l.amount, l.d AS line_d,
                   row_number() OVER (PARTITION BY e.id ORDER BY abs(l.d - e.d), l.id) AS nearness
            FROM recon_e e CROSS JOIN generate_series(-b.date_window_days, b.date_window_days) k(days)
            JOIN recon_l l ON l.d = e.d + k.days
            WHERE sign(l.amount) = sign(e.amount) AND abs(l.amount) < abs(e.amount)
        ) z WHERE z.nearness <= 30
    ), reachable AS (
        SELECT x.entry_id FROM (SELECT c.entry_id, c.target, abs(c.amount) AS size,
                                       row_number() OVER (PARTITION BY c.entry_id ORDER BY abs(c.amount) DESC) AS big
                                FROM cand c) x
        WHERE x.big <= b.max_group_size GROUP BY x.entry_id, x.target HAVING sum(x.size) >= abs(x.target)
    ), sets(entry_id, target, last_rank, total, members, n, far) AS (
        SELECT c.entry_id, c.target, c.size_rank, c.amount, ARRAY[c.line_id], 1, abs(c.line_d - c.d) FROM cand c
        WHERE c.entry_id IN (SELECT r.entry_id FROM reachable r) AND abs(c.amount) * b.max_group_size >= abs(c.target)
        UNION ALL
        SELECT s.entry_id, s.target, c.size_rank, s.total + c.amount, s.members || c.line_id, s.n + 1,
               greatest(s.far, abs(c.line_d - c.d))
        FROM sets s JOIN cand c ON c.entry_id = s.entry_id AND c.size_rank > s.last_rank
        WHERE s.n < b.max_group_size AND abs(s.total + c.amount) <= abs(s.target)
          AND abs(s.total + c.amount) + (b.max_group_size - s.n - 1) * abs(c.amount) >= abs(s.target)
    ), found AS (
        SELECT z.* FROM (SELECT s.*, count(*) OVER (PARTITION BY s.entry_id) AS ways FROM sets s
                         WHERE s.n >= 2 AND s.total = s.target) z
        WHERE z.ways = 1
    ), claims AS (
        SELECT f.entry_id, count(*) OVER (PARTITION BY m.line_id) AS claims
        FROM found f CROSS JOIN LATERAL unnest(f.members) AS m(line_id)
    ), ins AS (
        INSERT INTO recon_pairs
        SELECT 'many_to_one', (SELECT array_agg(m ORDER BY m) FROM unnest(f.members) m), ARRAY[f.entry_id], f.total, f.target,
               recon.score(0, 0, f.far, b.date_window_days, 0, false)
        FROM found f
        WHERE NOT EXISTS (SELECT 1 FROM claims c WHERE c.entry_id = f.entry_id AND c.claims > 1)
        RETURNING 1
    )
    SELECT count(*) INTO n_many_to_one FROM ins;
    DELETE FROM recon_l WHERE id IN (SELECT unnest(p.line_ids) FROM recon_pairs p WHERE p.rule = 'many_to_one');
    DELETE FROM recon_e WHERE id IN (SELECT unnest(p.entry_ids) FROM recon_pairs p WHERE p.rule = 'many_to_one');
    v_ms := v_ms || recon.elapsed_ms('many_to_one', v_step);
    v_step := clock_timestamp();

    -- A group an operator rejected or revoked is not proposed again: its lines and entries
    -- stay unmatched (and may raise exceptions below).
    -- (Found from the decisions, few, rather than from every group of the account.)
    IF EXISTS (SELECT 1 FROM recon.match_decisions d JOIN recon.match_groups g ON g.id = d.group_id
               WHERE d.decision IN ('rejected', 'revoked') AND g.bank_account_id = b.id) THEN
    WITH undone AS MATERIALIZED (
        SELECT DISTINCT g.line_ids, g.entry_ids FROM recon.match_decisions d JOIN recon.match_groups g ON g.id = d.group_id
        WHERE d.decision IN ('rejected', 'revoked') AND g.bank_account_id = b.id
    ), gone_pairs AS (
        DELETE FROM recon_pairs p USING undone r
        WHERE r.line_ids = p.line_ids AND r.entry_ids = p.entry_ids
        RETURNING p.line_ids, p.entry_ids
    ), gone_exact AS (
        DELETE FROM recon_exact p USING undone r
        WHERE cardinality(r.line_ids) = 1 AND cardinality(r.entry_ids) = 1
          AND p.line_id = r.line_ids[1] AND p.entry_id = r.entry_ids[1]
        RETURNING ARRAY[p.line_id] AS line_ids, ARRAY[p.entry_id] AS entry_ids
    ), gone AS (
        SELECT * FROM gone_pairs UNION ALL SELECT * FROM gone_exact
    ), back_l AS (
        INSERT INTO recon_l
        SELECT l.id, l.amount_minor, l.value_date, l.bank_reference, l.end_to_end_id, l.remittance, l.counterparty_name
        FROM recon.lines l WHERE l.id IN (SELECT unnest(line_ids) FROM gone)
    )
    INSERT INTO recon_e
    SELECT e.id, e.amount, (e.effective_at AT TIME ZONE 'UTC')::date, coalesce(t.external_ref, ''), coalesce(t.description, '')
    FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
    WHERE e.id IN (SELECT unnest(entry_ids) FROM gone);
    END IF;
    SELECT count(*) INTO n_exact FROM recon_exact;
    SELECT count(*) FILTER (WHERE rule = 'tolerance'), count(*) FILTER (WHERE rule = 'one_to_many'),
           count(*) FILTER (WHERE rule = 'many_to_one')
    INTO n_tolerance, n_one_to_many, n_many_to_one FROM recon_pairs;

    -- The groups (numbered as they were found), the standing index, and what the run
    -- confirmed: three plain inserts (one statement with RETURNING feeding the other two spent
    -- a second more on a large run). The exact pairs, most of a large run, as plain ids.
    INSERT INTO recon.match_groups (id, bank_account_id, run_id, rule, score, line_ids, entry_ids, lines_minor,
                                    entries_minor, auto_confirmed, created_by) OVERRIDING SYSTEM VALUE
    SELECT p.id, b.id, p_run, 'exact', p.score, ARRAY[p.line_id], ARRAY[p.entry_id], p.amount, p.amount,
           p.score >= b.auto_confirm_score, v_operator
    FROM recon_exact p
    UNION ALL
    SELECT p.id, b.id, p_run, p.rule, p.score, p.line_ids, p.entry_ids, p.lines_minor, p.entries_minor,
           p.score >= b.auto_confirm_score, v_operator
    FROM recon_pairs p;
    -- The standing index in key order: each primary key is then written at its right edge
    -- (inserted in the pairs' order, the entries' keys landed all over the index).
    INSERT INTO recon.active_lines (line_id, group_id, confirmed)
    SELECT x.* FROM (SELECT p.line_id, p.id, p.score >= b.auto_confirm_score FROM recon_exact p
                     UNION ALL
                     SELECT unnest(p.line_ids), p.id, p.score >= b.auto_confirm_score FROM recon_pairs p) x
    ORDER BY 1;
    INSERT INTO recon.active_entries (entry_id, group_id, confirmed)
    SELECT x.* FROM (SELECT p.entry_id, p.id, p.score >= b.auto_confirm_score FROM recon_exact p
                     UNION ALL
                     SELECT unnest(p.entry_ids), p.id, p.score >= b.auto_confirm_score FROM recon_pairs p) x
    ORDER BY 1;
    SELECT (SELECT count(*) FROM recon_exact p WHERE p.score >= b.auto_confirm_score)
           + (SELECT count(*) FROM recon_pairs p WHERE p.score >= b.auto_confirm_score)
    INTO n_auto;
    v_ms := v_ms || recon.elapsed_ms('record', v_step);
    v_step := clock_timestamp();

    -- Exceptions for what is left.
    WITH same_ref AS (
        SELECT DISTINCT ON (l.id) l.id AS line_id, e.id AS entry_id, l.amount, e.amount - l.amount AS diff, e.d - l.d AS days,
               greatest(b.amount_tolerance_minor, abs(l.amount) * b.amount_tolerance_bp / 10000) AS tol
        FROM recon_l l JOIN recon_e e ON e.ref = l.ref WHERE l.ref <> ''
        UNION ALL -- two hash joins: an OR in the join condition is a nested loop
        SELECT l.id, e.id, l.amount, e.amount - l.amount, e.d - l.d,
               greatest(b.amount_tolerance_minor, abs(l.amount) * b.amount_tolerance_bp / 10000)
        FROM recon_l l JOIN recon_e e ON e.ref = l.e2e WHERE l.e2e <> '' AND l.e2e <> l.ref
    ), one_ref AS (
        SELECT DISTINCT ON (x.line_id) x.* FROM same_ref x
        ORDER BY x.line_id, abs(x.diff), abs(x.days), x.entry_id
    ), typed AS (
        SELECT s.line_id, s.entry_id, s.amount, s.diff, s.days,
               CASE WHEN abs(s.diff) > s.tol THEN 'amount_mismatch' ELSE 'date_out_of_tolerance' END AS type
        FROM one_ref s
        WHERE abs(s.diff) > s.tol OR abs(s.days) > b.date_window_days
    ), candidates AS (
        SELECT t.type, t.line_id, t.entry_id, t.amount, t.diff,
               jsonb_build_object('days', t.days) AS detail
        FROM typed t
        UNION ALL
        SELECT 'missing_in_ledger', l.id, NULL::bigint, l.amount, NULL::bigint, '{}'::jsonb
        FROM recon_l l WHERE NOT EXISTS (SELECT 1 FROM typed t WHERE t.line_id = l.id)
        UNION ALL
        SELECT 'missing_in_statement', NULL::bigint, e.id, e.amount, NULL::bigint, '{}'::jsonb
        FROM recon_e e
        CROSS JOIN (SELECT min(x.value_date) AS first_day, max(x.value_date) AS last_day
                    FROM recon.lines x WHERE x.bank_account_id = b.id) span
        WHERE e.d >= span.first_day AND e.d <= span.last_day - b.missing_after_days
          AND NOT EXISTS (SELECT 1 FROM typed t WHERE t.entry_id = e.id)
    ), raised AS (
        INSERT INTO recon.exceptions (bank_account_id, type, line_id, entry_id, amount_minor, difference_minor, detail,
                                      raised_by, due_at)
        SELECT b.id, c.type, c.line_id, c.entry_id, c.amount, c.diff, c.detail || jsonb_build_object('run', p_run),
               v_operator, clock_timestamp() + make_interval(days => coalesce(tier.days, 10))
        FROM candidates c
        LEFT JOIN LATERAL (SELECT t.days FROM recon.sla_tiers t -- recon.due_at, as a join
                           WHERE t.min_amount <= abs(c.amount)::numeric / (10::numeric ^ v_exponent)
                           ORDER BY t.min_amount DESC LIMIT 1) tier ON true
        ON CONFLICT DO NOTHING
        RETURNING id, type, raised_at
    ), st AS (
        INSERT INTO recon.exception_state (exception_id, state, updated_at)
        SELECT id, 'open', raised_at FROM raised
    )
    SELECT coalesce(jsonb_object_agg(type, n), '{}') INTO n_raised
    FROM (SELECT type, count(*) AS n FROM raised GROUP BY type) x;
    v_ms := v_ms || recon.elapsed_ms('exceptions', v_step);
    v_step := clock_timestamp();

    -- Open exceptions whose line or entry the run matched and confirmed: resolved by the run.
    WITH done AS (
        SELECT x.exception_id, coalesce(al.group_id, ae.group_id) AS group_id
        FROM recon.exception_state x
        JOIN recon.exceptions e ON e.id = x.exception_id
        LEFT JOIN recon.active_lines al ON al.line_id = e.line_id AND al.confirmed
        LEFT JOIN recon.active_entries ae ON ae.entry_id = e.entry_id AND ae.confirmed
        WHERE e.bank_account_id = b.id AND x.state IN ('open', 'assigned')
          AND e.type IN ('missing_in_ledger', 'missing_in_statement', 'amount_mismatch', 'date_out_of_tolerance')
          AND (al.line_id IS NOT NULL OR ae.entry_id IS NOT NULL)
    ), ev AS (
        INSERT INTO recon.exception_events (exception_id, action, how, match_group_id, actor)
        SELECT d.exception_id, 'resolved', 'matched_by_run', d.group_id, v_operator FROM done d
        RETURNING id, exception_id, at
    ), up AS (
        UPDATE recon.exception_state x SET state = 'resolved', last_event_id = ev.id, updated_at = ev.at
        FROM ev WHERE x.exception_id = ev.exception_id
        RETURNING 1
    )
    SELECT count(*) INTO n_resolved FROM up;
    v_ms := v_ms || recon.elapsed_ms('resolve', v_step);
    v_step := clock_timestamp();

    RETURN jsonb_build_object('bank_account', b.identifier, 'currency', b.currency,
                              'exact', n_exact, 'tolerance', n_tolerance, 'one_to_many', n_one_to_many,
                              'many_to_one', n_many_to_one, 'auto_confirmed', n_auto,
                              'proposed', n_exact + n_tolerance + n_one_to_many + n_many_to_one - n_auto,
                              'exceptions_raised', n_raised, 'exceptions_resolved', n_resolved,
                              'elapsed_ms', v_ms);
END
$$;
