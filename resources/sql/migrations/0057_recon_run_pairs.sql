-- Step 9: a million-line matching run under 10 s (issue 15): a run's exact pairs stored as one
-- narrow row each, and pass 1 read straight from the lines and the ledger.
--
-- bench_recon (release, 1,000,000 MT940 lines against 1,000,000 entries), the whole matching
-- run: 11.42 s before this migration (recording 4.40 s, 541 MB of WAL); 10.35 s with run_pairs
-- alone (recording 2.81 s, 324 MB of WAL); with pass 1 as below, 9.52 s, then 10.60-10.75 s
-- in three runs as the host slowed (recording 2.6 s, then 3.5-3.8 s; exact 3.1-3.2 s and
-- prepare 1.4 s where prepare and exact took 1.8 + 3.0-3.3 s). With nested loops also off
-- for pass 1, 9.15-9.27 s, but a 1,000-line run took 330 ms instead of 50 (see below).
-- Passes 3a and 3b then count the entries (lines) claimed by more than one set once instead of
-- once per set found (NOT IN for NOT EXISTS): 0.89 + 0.67 s -> 0.42-0.45 + 0.19-0.20 s, and
-- the whole run 8.73 and 9.32 s in two runs.
--
-- A matching run over a million lines spent most of its recording step writing three rows per
-- exact pair: a recon.match_groups row (about 180 bytes: arrays of one id, the rule, the
-- operator, a time) and one row in each of recon.active_lines and active_entries. On a scratch
-- cluster, 934,000 pairs wrote 500 MB of WAL that way (242 + 129 + 129 MB) in 4.2 s; as one
-- narrow row with three indexes, 268 MB in 2.4 s.
--
-- So a run's exact pairs (rule 'exact', one line, one entry, the amounts equal) now live in
-- recon.run_pairs: the group's facts (its id from the groups' own sequence, its run, line,
-- entry, score, whether the run confirmed it), which never change, and its place in the
-- standing index (standing, confirmed), which decisions move as they moved active_lines. The
-- other groups stay where they were, renamed: recon.groups, with their standing index in
-- recon.group_lines and recon.group_entries. The old names are views over both, so every
-- reader (the queue, the side-by-side view, status, proposed matches, the tests) reads what it
-- read before:
--   recon.match_groups   the groups, an exact pair shown as before (arrays of one id, the line's
--                        amount on both sides, the run's operator and start as its creator)
--   recon.active_lines   the standing lines: group_lines, and run_pairs that stand
--   recon.active_entries the standing entries: group_entries, and run_pairs that stand
-- Only match_account, decide_match and manual_match write, and they are replaced below.
--
-- What the tables' keys guaranteed is kept:
-- * A line or entry stands in at most one group. Within run_pairs, unique indexes;
--   within group_lines and group_entries, their primary keys. Across the two, the writers:
--   each checks the standing index under the bank account's lock, and now also under the
--   mapped ledger account's (a ledger account may be mapped from more than one bank account,
--   and entries are the ledger account's).
-- * Decisions and exception events name a group that exists: the foreign keys to the old table
--   become statement triggers reading the view.
-- * Groups are append-only: run_pairs refuses DELETE and TRUNCATE, and an UPDATE may only take
--   a pair out of the standing index or confirm it while it stands.
SET LOCAL ROLE ledger_owner;

ALTER TABLE recon.match_groups RENAME TO groups;
ALTER TABLE recon.active_lines RENAME TO group_lines;
ALTER TABLE recon.active_entries RENAME TO group_entries;

CREATE TABLE recon.run_pairs (
    id               bigint   PRIMARY KEY, -- from recon.match_groups_id_seq, as every group's
    bank_account_id  bigint   NOT NULL,    -- the run's (both written only by match_account)
    run_id           bigint   NOT NULL,
    line_id          bigint   NOT NULL,
    entry_id         bigint   NOT NULL,
    score            smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    auto_confirmed   boolean  NOT NULL,
    standing         boolean  NOT NULL DEFAULT true, -- false once rejected or revoked
    confirmed        boolean  NOT NULL               -- by its run, or by a decision since
);
-- The standing pairs' lines and entries, unique (NULLs are distinct: pairs taken out of the
-- standing index do not conflict). Expressions rather than partial indexes because the views
-- below must not filter run_pairs: a UNION ALL member with a WHERE clause is not merged into
-- its query, and a join to it then reads every pair instead of looking one up (the resolve
-- step of a million-line run did not finish in minutes).
CREATE UNIQUE INDEX run_pairs_line ON recon.run_pairs ((CASE WHEN standing THEN line_id END));
CREATE UNIQUE INDEX run_pairs_entry ON recon.run_pairs ((CASE WHEN standing THEN entry_id END));

CREATE FUNCTION recon.check_run_pair_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (NEW.id, NEW.bank_account_id, NEW.run_id, NEW.line_id, NEW.entry_id, NEW.score, NEW.auto_confirmed)
           IS DISTINCT FROM (OLD.id, OLD.bank_account_id, OLD.run_id, OLD.line_id, OLD.entry_id, OLD.score, OLD.auto_confirmed)
       OR (NEW.standing AND NOT OLD.standing)
       OR (OLD.confirmed AND NOT NEW.confirmed)
       OR (NEW.confirmed AND NOT OLD.confirmed AND NOT OLD.standing) THEN
        RAISE EXCEPTION 'A match group is not changed: it is confirmed, rejected or revoked by appending a decision'
            USING ERRCODE = 'LG001';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER run_pairs_facts BEFORE UPDATE ON recon.run_pairs
    FOR EACH ROW EXECUTE FUNCTION recon.check_run_pair_change();
CREATE TRIGGER run_pairs_append_only BEFORE DELETE ON recon.run_pairs
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER run_pairs_no_truncate BEFORE TRUNCATE ON recon.run_pairs
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE recon.run_pairs ENABLE ALWAYS TRIGGER run_pairs_facts;
ALTER TABLE recon.run_pairs ENABLE ALWAYS TRIGGER run_pairs_append_only;
ALTER TABLE recon.run_pairs ENABLE ALWAYS TRIGGER run_pairs_no_truncate;

CREATE VIEW recon.match_groups AS
SELECT g.id, g.bank_account_id, g.run_id, g.rule, g.score, g.line_ids, g.entry_ids, g.lines_minor, g.entries_minor,
       g.auto_confirmed, g.created_by, g.created_at
FROM recon.groups g
UNION ALL
SELECT p.id, p.bank_account_id, p.run_id, 'exact'::text, p.score::integer, ARRAY[p.line_id], ARRAY[p.entry_id],
       (SELECT l.amount_minor FROM recon.lines l WHERE l.id = p.line_id),
       (SELECT l.amount_minor FROM recon.lines l WHERE l.id = p.line_id), -- the exact pass pairs equal amounts
       p.auto_confirmed,
       (SELECT r.started_by FROM recon.runs r WHERE r.id = p.run_id),
       (SELECT r.started_at FROM recon.runs r WHERE r.id = p.run_id)
FROM recon.run_pairs p;

-- The standing index. A pair taken out of it is a row without a line (or entry) here, which
-- no reader sees: every one looks lines and entries up by their ids.
CREATE VIEW recon.active_lines AS
SELECT a.line_id, a.group_id, a.confirmed FROM recon.group_lines a
UNION ALL
SELECT CASE WHEN p.standing THEN p.line_id END, p.id, p.confirmed FROM recon.run_pairs p;

CREATE VIEW recon.active_entries AS
SELECT a.entry_id, a.group_id, a.confirmed FROM recon.group_entries a
UNION ALL
SELECT CASE WHEN p.standing THEN p.entry_id END, p.id, p.confirmed FROM recon.run_pairs p;

-- The foreign keys to the groups' table, as checks of each statement's new rows (decisions and
-- exception events are few per statement).
ALTER TABLE recon.match_decisions DROP CONSTRAINT match_decisions_group_id_fkey;
ALTER TABLE recon.exception_events DROP CONSTRAINT exception_events_match_group_id_fkey;
CREATE FUNCTION recon.check_group_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'match_decisions' THEN
        IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM recon.match_groups g WHERE g.id = n.group_id)) THEN
            RAISE EXCEPTION 'A match decision must name an existing match group' USING ERRCODE = '23503';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM new_rows n
                  WHERE n.match_group_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM recon.match_groups g WHERE g.id = n.match_group_id)) THEN
        RAISE EXCEPTION 'An exception event must name an existing match group' USING ERRCODE = '23503';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER match_decisions_references AFTER INSERT ON recon.match_decisions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION recon.check_group_references();
CREATE TRIGGER exception_events_references AFTER INSERT ON recon.exception_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION recon.check_group_references();
REVOKE EXECUTE ON FUNCTION recon.check_run_pair_change(), recon.check_group_references() FROM PUBLIC;

-- The score is arithmetic on its arguments: safe in a parallel worker (pass 1 below).
ALTER FUNCTION recon.score(bigint, bigint, integer, integer, integer, boolean) PARALLEL SAFE;

-- A run (recon.match_account, otherwise as in 0056) reads pass 1's candidates straight from
-- the lines and the ledger, copies only what pass 1 left for the other passes, and records
-- its exact pairs in run_pairs. Its steps, in the order they run: exact, prepare (what is
-- left), tolerance, interchangeable, one_to_many, many_to_one, record, exceptions, resolve.
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
    v_setup text;
    v_tuple text;
    v_merge text;
BEGIN
    -- Entries are the mapped ledger account's, which more than one bank account may share:
    -- a run and a manual match on two of them must not both take an entry (recon.match
    -- holds the bank account's lock; this one comes second, in manual_match too).
    PERFORM pg_advisory_xact_lock(hashtext('recon.ledger_account:' || b.account_id));
    SELECT c.exponent INTO v_exponent FROM ledger.currencies c WHERE c.code = b.currency;
    DROP TABLE IF EXISTS pg_temp.recon_l, pg_temp.recon_e, pg_temp.recon_cand, pg_temp.recon_exact, pg_temp.recon_pairs;

    -- Pass 1: the reference (bank reference or end-to-end id = external reference), the
    -- amount exactly, the date within the window; only pairs unique on both sides. Read
    -- straight from recon.lines and the ledger, not from copies: a temporary table is read by
    -- the leader alone, these may be read by parallel workers (at most 2.0 s against 3.8 s for
    -- copying both sides and joining the copies, on a million lines and entries). The entries
    -- with their references are a subquery of their own (OFFSET 0), so that the join is one
    -- hash on (reference, amount) whatever the planner estimates (joined on the amount first,
    -- as it otherwise chose, 2.5-2.9 s). Each line probes with both of its references (its
    -- end-to-end id when it differs from its bank reference). For this one statement, and
    -- the caller's settings put back after it: parallel plans are made cheap (a million rows
    -- gathered cost the leader less than reading them alone), and merge joins are off (with
    -- no statistics yet on a freshly loaded million entries, the planner sorted both sides
    -- for one: 2.75 s). Nested loops stay: an account with few entries finds their
    -- transactions through the primary key (hashing every transaction of the ledger instead
    -- took a 1,000-line run from 18 to 330 ms).
    v_setup := current_setting('parallel_setup_cost');
    v_tuple := current_setting('parallel_tuple_cost');
    v_merge := current_setting('enable_mergejoin');
    PERFORM set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0', true),
            set_config('enable_mergejoin', 'off', true);
    CREATE TEMP TABLE recon_cand ON COMMIT DROP AS
    SELECT k.id AS line_id, e.id AS entry_id, k.amount,
           recon.score(0, 0, e.d - k.d, b.date_window_days, 20,
                       k.cp <> '' AND length(k.cp) >= 3 AND strpos(lower(e.description), lower(k.cp)) > 0) AS score
    FROM (SELECT l.id, l.amount_minor AS amount, l.value_date AS d, l.counterparty_name AS cp, l.bank_reference AS key
          FROM recon.lines l
          WHERE l.bank_account_id = b.id AND l.status = 'BOOK' AND l.bank_reference <> ''
            AND NOT EXISTS (SELECT 1 FROM recon.active_lines a WHERE a.line_id = l.id)
          UNION ALL
          SELECT l.id, l.amount_minor, l.value_date, l.counterparty_name, l.end_to_end_id
          FROM recon.lines l
          WHERE l.bank_account_id = b.id AND l.status = 'BOOK' AND l.end_to_end_id <> ''
            AND l.end_to_end_id <> l.bank_reference
            AND NOT EXISTS (SELECT 1 FROM recon.active_lines a WHERE a.line_id = l.id)) k
    JOIN (SELECT e.id, e.amount, (e.effective_at AT TIME ZONE 'UTC')::date AS d, t.external_ref AS ref,
                 coalesce(t.description, '') AS description
          FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
          WHERE e.account_id = b.account_id AND t.external_ref <> ''
            AND NOT EXISTS (SELECT 1 FROM recon.active_entries a WHERE a.entry_id = e.id)
          OFFSET 0) e ON e.ref = k.key AND e.amount = k.amount
    WHERE abs(e.d - k.d) <= b.date_window_days;
    PERFORM set_config('parallel_setup_cost', v_setup, true), set_config('parallel_tuple_cost', v_tuple, true),
            set_config('enable_mergejoin', v_merge, true);
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
    v_ms := v_ms || recon.elapsed_ms('exact', v_step);
    v_step := clock_timestamp();

    -- What is left for the other passes: booked lines and the mirror account's entries in no
    -- standing group and not paired by pass 1 (the references and descriptions of those
    -- entries only). NOT IN: one hashed lookup per row in pass 1's pairs, whatever the
    -- planner believes of the ledger's statistics (it merged sorted sides otherwise).
    CREATE TEMP TABLE recon_l ON COMMIT DROP AS
    SELECT l.id, l.amount_minor AS amount, l.value_date AS d, l.bank_reference AS ref, l.end_to_end_id AS e2e,
           l.remittance, l.counterparty_name AS cp
    FROM recon.lines l
    WHERE l.bank_account_id = b.id AND l.status = 'BOOK'
      AND NOT EXISTS (SELECT 1 FROM recon.active_lines a WHERE a.line_id = l.id)
      AND l.id NOT IN (SELECT p.line_id FROM recon_exact p);
    CREATE TEMP TABLE recon_e ON COMMIT DROP AS
    SELECT e.id, e.amount, (e.effective_at AT TIME ZONE 'UTC')::date AS d, coalesce(t.external_ref, '') AS ref,
           coalesce(t.description, '') AS description
    FROM (SELECT x.id, x.amount, x.effective_at, x.transaction_id FROM ledger.entries x
          WHERE x.account_id = b.account_id
            AND NOT EXISTS (SELECT 1 FROM recon.active_entries a WHERE a.entry_id = x.id)
            AND x.id NOT IN (SELECT p.entry_id FROM recon_exact p)) e
    JOIN ledger.transactions t ON t.id = e.transaction_id;
    ANALYZE recon_l;
    ANALYZE recon_e;
    -- The other passes' groups (few).
    CREATE TEMP TABLE recon_pairs (rule text, line_ids bigint[], entry_ids bigint[], lines_minor bigint,
                                   entries_minor bigint, score integer,
                                   id bigint NOT NULL DEFAULT nextval('recon.match_groups_id_seq'::regclass))
        ON COMMIT DROP;
    v_ms := v_ms || recon.elapsed_ms('prepare', v_step);
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
        FROM found f -- NOT IN: the claims counted once (NOT EXISTS re-counted them for every
                     -- set found, 0.55 s for a thousand sets)
        WHERE f.line_id NOT IN (SELECT c.line_id FROM claims c WHERE c.claims > 1)
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
        FROM found f -- NOT IN, as in pass 3a
        WHERE f.entry_id NOT IN (SELECT c.entry_id FROM claims c WHERE c.claims > 1)
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

    -- The groups (numbered as they were found) and what the run confirmed. The exact pairs,
    -- most of a large run, are one narrow row each in recon.run_pairs, which is also their
    -- place in the standing index (recon.active_lines and active_entries read it); they are
    -- written in the order they were numbered (recon_exact's), so each index of run_pairs
    -- grows at its right edge. The other passes' groups (few) go to recon.groups and its
    -- standing index, in key order.
    INSERT INTO recon.run_pairs (id, bank_account_id, run_id, line_id, entry_id, score, auto_confirmed, confirmed)
    SELECT p.id, b.id, p_run, p.line_id, p.entry_id, p.score, p.score >= b.auto_confirm_score, p.score >= b.auto_confirm_score
    FROM recon_exact p;
    INSERT INTO recon.groups (id, bank_account_id, run_id, rule, score, line_ids, entry_ids, lines_minor,
                              entries_minor, auto_confirmed, created_by) OVERRIDING SYSTEM VALUE
    SELECT p.id, b.id, p_run, p.rule, p.score, p.line_ids, p.entry_ids, p.lines_minor, p.entries_minor,
           p.score >= b.auto_confirm_score, v_operator
    FROM recon_pairs p;
    INSERT INTO recon.group_lines (line_id, group_id, confirmed)
    SELECT unnest(p.line_ids), p.id, p.score >= b.auto_confirm_score FROM recon_pairs p ORDER BY 1;
    INSERT INTO recon.group_entries (entry_id, group_id, confirmed)
    SELECT unnest(p.entry_ids), p.id, p.score >= b.auto_confirm_score FROM recon_pairs p ORDER BY 1;
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

-- Decisions (as in 0029): a run's exact pair is confirmed or taken out of the standing index
-- in its run_pairs row, any other group in group_lines and group_entries.
CREATE OR REPLACE FUNCTION recon.decide_match(p_group bigint, p_decision text, p_note text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    g recon.match_groups;
    v_confirmed boolean;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    SELECT * INTO g FROM recon.match_groups x WHERE x.id = p_group;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No match group %', p_group USING ERRCODE = 'LG083';
    END IF;
    IF p_decision NOT IN ('confirmed', 'rejected', 'revoked') THEN
        RAISE EXCEPTION 'A match is confirmed, rejected or revoked, not "%"', left(p_decision, 16) USING ERRCODE = '22023';
    END IF;
    IF p_decision <> 'confirmed' THEN
        PERFORM ledger.check_note(p_note, true, 'saying why the match is ' || p_decision);
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('recon.account:' || g.bank_account_id));
    SELECT a.confirmed INTO v_confirmed FROM recon.active_lines a WHERE a.line_id = g.line_ids[1] AND a.group_id = g.id;
    IF v_confirmed IS NULL THEN
        RAISE EXCEPTION 'Match group % no longer stands (it was rejected or revoked)', g.id USING ERRCODE = 'LG083';
    ELSIF p_decision IN ('confirmed', 'rejected') AND v_confirmed THEN
        RAISE EXCEPTION 'Match group % is already confirmed: revoke it to unmatch', g.id USING ERRCODE = 'LG083';
    ELSIF p_decision = 'revoked' AND NOT v_confirmed THEN
        RAISE EXCEPTION 'Match group % is only proposed: reject it instead', g.id USING ERRCODE = 'LG083';
    END IF;
    INSERT INTO recon.match_decisions (group_id, decision, note, decided_by)
    VALUES (g.id, p_decision, nullif(btrim(p_note), ''), audit.current_operator());
    IF p_decision = 'confirmed' THEN
        UPDATE recon.group_lines SET confirmed = true WHERE line_id = ANY (g.line_ids) AND group_id = g.id;
        UPDATE recon.group_entries SET confirmed = true WHERE entry_id = ANY (g.entry_ids) AND group_id = g.id;
        UPDATE recon.run_pairs SET confirmed = true WHERE id = g.id;
        PERFORM recon.resolve_matched(g.id, 'manual_match');
    ELSE
        DELETE FROM recon.group_lines WHERE line_id = ANY (g.line_ids) AND group_id = g.id;
        DELETE FROM recon.group_entries WHERE entry_id = ANY (g.entry_ids) AND group_id = g.id;
        UPDATE recon.run_pairs SET standing = false WHERE id = g.id;
    END IF;
    PERFORM audit.record('recon.match_' || p_decision, 'match_group', g.id::text,
                         jsonb_build_object('rule', g.rule, 'score', g.score, 'lines', to_jsonb(g.line_ids),
                                            'entries', to_jsonb(g.entry_ids), 'note', left(p_note, 200)));
END
$$;

-- A manual match (as in 0029): a group in recon.groups, under the ledger account's lock too.
CREATE OR REPLACE FUNCTION recon.manual_match(p_line_ids bigint[], p_entry_ids bigint[], p_note text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    b recon.bank_accounts;
    v_lines bigint;
    v_entries bigint;
    v_tol bigint;
    v_taken text;
    v_group bigint;
    v_exponent integer;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    PERFORM ledger.check_note(p_note, true, 'saying why these lines and entries match');
    IF coalesce(cardinality(p_line_ids), 0) = 0 OR coalesce(cardinality(p_entry_ids), 0) = 0
       OR cardinality(p_line_ids) + cardinality(p_entry_ids) > 200 THEN
        RAISE EXCEPTION 'A manual match joins at least one statement line with at least one ledger entry (at most 200 in all)'
            USING ERRCODE = 'LG083';
    END IF;
    IF (SELECT count(DISTINCT l.bank_account_id) FROM recon.lines l WHERE l.id = ANY (p_line_ids)) <> 1
       OR (SELECT count(*) FROM recon.lines l WHERE l.id = ANY (p_line_ids)) <> cardinality(p_line_ids) THEN
        RAISE EXCEPTION 'The lines of a manual match must exist, be distinct and come from one bank account'
            USING ERRCODE = 'LG083';
    END IF;
    SELECT x.* INTO b FROM recon.bank_accounts x WHERE x.id = (SELECT l.bank_account_id FROM recon.lines l
                                                                WHERE l.id = p_line_ids[1]);
    IF (SELECT count(*) FROM ledger.entries e WHERE e.id = ANY (p_entry_ids) AND e.account_id = b.account_id)
       <> cardinality(p_entry_ids) THEN
        RAISE EXCEPTION 'The entries of a manual match must exist, be distinct and be entries of %',
            (SELECT code FROM ledger.accounts WHERE id = b.account_id) USING ERRCODE = 'LG083';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('recon.account:' || b.id));
    PERFORM pg_advisory_xact_lock(hashtext('recon.ledger_account:' || b.account_id));
    SELECT string_agg(x, ', ') INTO v_taken FROM (
        SELECT format('line %s (group %s)', a.line_id, a.group_id) AS x FROM recon.active_lines a WHERE a.line_id = ANY (p_line_ids)
        UNION ALL
        SELECT format('entry %s (group %s)', a.entry_id, a.group_id) FROM recon.active_entries a WHERE a.entry_id = ANY (p_entry_ids)
    ) t;
    IF v_taken IS NOT NULL THEN
        RAISE EXCEPTION 'Already matched: %; revoke or reject that match first', v_taken USING ERRCODE = 'LG083';
    END IF;
    SELECT sum(l.amount_minor)::bigint INTO v_lines FROM recon.lines l WHERE l.id = ANY (p_line_ids);
    SELECT sum(e.amount)::bigint INTO v_entries FROM ledger.entries e WHERE e.id = ANY (p_entry_ids);
    v_tol := greatest(b.amount_tolerance_minor, abs(v_lines) * b.amount_tolerance_bp / 10000);
    SELECT c.exponent INTO v_exponent FROM ledger.currencies c WHERE c.code = b.currency;
    IF abs(v_lines - v_entries) > v_tol THEN
        RAISE EXCEPTION 'The lines add up to % % and the entries to % %: they differ by more than the tolerance (% %)',
            ledger.format_minor(v_lines, v_exponent::smallint), b.currency, ledger.format_minor(v_entries, v_exponent::smallint),
            b.currency, ledger.format_minor(v_tol, v_exponent::smallint), b.currency USING ERRCODE = 'LG083';
    END IF;
    INSERT INTO recon.groups (bank_account_id, rule, score, line_ids, entry_ids, lines_minor, entries_minor, created_by)
    VALUES (b.id, 'manual', 100, p_line_ids, p_entry_ids, v_lines, v_entries, audit.current_operator())
    RETURNING id INTO v_group;
    INSERT INTO recon.match_decisions (group_id, decision, note, decided_by)
    VALUES (v_group, 'confirmed', btrim(p_note), audit.current_operator());
    INSERT INTO recon.group_lines (line_id, group_id, confirmed) SELECT unnest(p_line_ids), v_group, true;
    INSERT INTO recon.group_entries (entry_id, group_id, confirmed) SELECT unnest(p_entry_ids), v_group, true;
    PERFORM recon.resolve_matched(v_group, 'manual_match');
    PERFORM audit.record('recon.match_manual', 'match_group', v_group::text,
                         jsonb_build_object('lines', to_jsonb(p_line_ids), 'entries', to_jsonb(p_entry_ids),
                                            'lines_minor', v_lines, 'entries_minor', v_entries, 'note', left(p_note, 200)));
    RETURN v_group;
END
$$;
