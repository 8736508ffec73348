-- Point-in-time balances whose cost does not grow with the account's density.
--
-- ledger.balance_minor (0004) corrects the running balance with the late entries (recorded
-- more than late_after() after their effective time) whose span [effective, recorded)
-- contains E, and the future-dated ones whose span [recorded, effective) contains E. It
-- found them with a GiST stab, which visits every such entry: at the benchmark's density
-- (2% of the entries three days late) ~330 at 10M entries against ~3 at 100k, and the
-- balance took 4.5 times as long at 10M.
--
-- Now each late or future-dated entry's span is also added, once, to a segment tree of
-- sums over whole hours (ledger.span_sums): the whole hours inside the span are cut into
-- aligned blocks of 2^level hours (at most two per level), and each block's row holds the
-- sum of the amounts of the entries whose span covers it. The sum of the entries whose
-- span contains E is then
--   the rows of the blocks containing E's hour, one per level (an index probe each; the
--   levels stop at the account's longest span, ~7 for spans of days), plus
--   the entries whose span starts inside E's hour (after its start) or ends inside it
--   (exactly, from small partial indexes: the entries of one hour),
-- and no entry is counted twice: a span covers E's whole hour exactly when neither of its
-- ends lies in that hour (the start may be the hour's first instant).
--
-- The tree answers "span contains E"; a late entry also needs recorded_at <= K. That holds
-- for every late entry containing E once K >= E + the account's longest late span (kept
-- in ledger.span_bounds), which covers "as known now" and every K well after E; a K just
-- after E uses the GiST stab as before. A future-dated entry containing E has recorded_at
-- <= E, so the tree serves every E <= K. Times outside 1900-2200 (never posted, but a bulk
-- load could write them) mark the account so that it keeps the GiST path.
--
-- The tree costs ~15 probes whatever the density; where few spans overlap a time (fewer
-- than span_tree_depth() on average, kept per account and kind in span_bounds) the GiST
-- stab visits fewer entries than that and stays the way. SET ledger.span_tree = on|off
-- forces one or the other (tests compare both with the naive sum; the benchmark times both).
--
-- The tree is derived data, like account_heads: one AFTER INSERT statement trigger on
-- entries keeps it, set-based (enabled ALWAYS, so every path that adds entries, COPY
-- included, maintains it), and the invariant checks compare it with the entries.
SET LOCAL ROLE ledger_owner;

-- From this many spans containing a time on average (see span_bounds), the tree is used:
-- below it the GiST stab visits few entries and costs less than the tree's probes.
-- Measured (whole balance, ms): depth 3.5: GiST 0.044, tree 0.058; depth 67: GiST 0.080,
-- tree 0.065.
CREATE FUNCTION ledger.span_tree_depth() RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 24::numeric $$;

-- Whole hours since 1900-01-01 00:00 UTC, for times from 1900 on. Exact: microseconds as
-- an integer (extract gives numeric), then integer division (a floor for these values).
-- Plain SQL without SET clauses so that it is inlined; every name is schema-qualified.
CREATE FUNCTION ledger.span_hour(p_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ((pg_catalog.extract('epoch', p_at) * 1000000)::pg_catalog.int8 + 2208988800000000)
           / 3600000000
$$;

CREATE TABLE ledger.span_sums (
    account_id bigint   NOT NULL REFERENCES ledger.accounts (id),
    kind       "char"   NOT NULL CHECK (kind IN ('L', 'F')), -- late / future-dated
    level      smallint NOT NULL CHECK (level BETWEEN 0 AND 40),
    bucket     bigint   NOT NULL CHECK (bucket >= 0),       -- hour >> level
    amount     bigint   NOT NULL,
    PRIMARY KEY (account_id, kind, level, bucket)
);

CREATE TABLE ledger.span_bounds (
    account_id bigint   NOT NULL REFERENCES ledger.accounts (id),
    kind       "char"   NOT NULL CHECK (kind IN ('L', 'F')),
    max_level  smallint NOT NULL DEFAULT -1, -- highest level with a block (-1: none)
    max_span   interval NOT NULL,            -- longest span of this kind
    gist_only  boolean  NOT NULL DEFAULT false, -- a span outside 1900-2200: no tree
    -- How many spans contain a time, on average: total length / time covered. The GiST
    -- stab visits that many entries; below ledger.span_tree_depth() it is the cheaper way.
    spans      bigint   NOT NULL DEFAULT 0,
    total_span interval NOT NULL DEFAULT interval '0',
    first_from timestamptz,
    last_to    timestamptz,
    use_tree   boolean  NOT NULL DEFAULT false, -- deep enough for the tree (not gist_only)
    PRIMARY KEY (account_id, kind)
);

-- Changed only by the owner's trigger; never removed.
CREATE FUNCTION ledger.guard_spans() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_user = 'ledger_owner' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on ledger.% is not allowed: it is derived from the entries', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'LG001';
END
$$;
DO $guards$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['span_sums', 'span_bounds'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON ledger.%I '
                       'FOR EACH ROW EXECUTE FUNCTION ledger.guard_spans()', t || '_guard', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ledger.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()', t || '_no_truncate', t);
        EXECUTE format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER %I', t, t || '_guard');
        EXECUTE format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER %I', t, t || '_no_truncate');
    END LOOP;
END
$guards$;

-- The level of the largest block of whole hours that starts at hour a (aligned: a is a
-- multiple of its size) and ends by hour b: min(trailing zeros of a, highest bit of b - a).
-- Exact bit arithmetic through bit(64) text; inlined (plain SQL, no SET clauses).
CREATE FUNCTION ledger.span_block_level(a bigint, b bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT least(
               CASE WHEN a = 0 THEN 62
                    ELSE pg_catalog.strpos(pg_catalog.reverse(a::pg_catalog.bit(64)::pg_catalog.text), '1') - 1 END,
               64 - pg_catalog.strpos((b - a)::pg_catalog.bit(64)::pg_catalog.text, '1'))
$$;

-- Adds the spans of the late and future-dated entries in `source` (a relation with the
-- columns of ledger.entries) to the tree, set-based: the blocks of all spans summed per
-- block, one upsert per block and one per account and kind, whatever the number of rows
-- (a bulk load of millions adds each block once, instead of updating the same rows over
-- and over in one transaction). Dynamic SQL: the trigger passes its transition table.
CREATE FUNCTION ledger.span_upsert_sql(p_source text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $sql$
    SELECT pg_catalog.format($q$
        WITH spans AS MATERIALIZED (
            SELECT n.account_id,
                   (CASE WHEN n.effective_at > n.recorded_at THEN 'F' ELSE 'L' END)::"char" AS kind,
                   least(n.effective_at, n.recorded_at) AS lo,
                   greatest(n.effective_at, n.recorded_at) AS hi,
                   n.amount
            FROM %s n
            WHERE n.recorded_at - n.effective_at > interval '5 minutes' OR n.effective_at > n.recorded_at
        ), ranged AS MATERIALIZED (
            SELECT s.*,
                   (s.lo >= timestamptz '1900-01-01 00:00Z' AND s.hi < timestamptz '2200-01-01 00:00Z') AS in_range
            FROM spans s
        ), hours AS (
            SELECT r.account_id, r.kind, r.amount,
                   ledger.span_hour(r.lo)
                   + CASE WHEN timestamptz '1900-01-01 00:00Z' + ledger.span_hour(r.lo) * interval '1 hour' < r.lo
                          THEN 1 ELSE 0 END AS a,
                   ledger.span_hour(r.hi) AS b
            FROM ranged r WHERE r.in_range
        ), blocks AS MATERIALIZED (
            WITH RECURSIVE cut(account_id, kind, amount, a, b, level) AS (
                SELECT h.account_id, h.kind, h.amount, h.a, h.b, ledger.span_block_level(h.a, h.b)
                FROM hours h WHERE h.a < h.b
                UNION ALL
                SELECT c.account_id, c.kind, c.amount, c.a + (1::bigint << c.level), c.b,
                       ledger.span_block_level(c.a + (1::bigint << c.level), c.b)
                FROM cut c WHERE c.a + (1::bigint << c.level) < c.b
            )
            SELECT * FROM cut
        ), summed AS (
            INSERT INTO ledger.span_sums AS s (account_id, kind, level, bucket, amount)
            SELECT k.account_id, k.kind, k.level, k.a >> k.level, pg_catalog.sum(k.amount)
            FROM blocks k GROUP BY 1, 2, 3, 4
            ON CONFLICT (account_id, kind, level, bucket) DO UPDATE SET amount = s.amount + excluded.amount
            RETURNING 1
        ), levels AS (
            SELECT k.account_id, k.kind, pg_catalog.max(k.level) AS top FROM blocks k GROUP BY 1, 2
        )
        INSERT INTO ledger.span_bounds AS s (account_id, kind, max_level, max_span, gist_only, spans, total_span,
                                             first_from, last_to, use_tree)
        SELECT r.account_id, r.kind, coalesce(pg_catalog.max(v.top), -1),
               pg_catalog.max(r.hi - r.lo), pg_catalog.bool_or(NOT r.in_range), pg_catalog.count(*),
               pg_catalog.sum(r.hi - r.lo), pg_catalog.min(r.lo), pg_catalog.max(r.hi),
               NOT pg_catalog.bool_or(NOT r.in_range)
               AND pg_catalog.extract('epoch', pg_catalog.sum(r.hi - r.lo))
                   / greatest(pg_catalog.extract('epoch', pg_catalog.max(r.hi) - pg_catalog.min(r.lo)), 1)
                   >= ledger.span_tree_depth()
        FROM ranged r LEFT JOIN levels v ON v.account_id = r.account_id AND v.kind = r.kind
        GROUP BY r.account_id, r.kind
        ON CONFLICT (account_id, kind) DO UPDATE
            SET max_level = greatest(s.max_level, excluded.max_level),
                max_span = greatest(s.max_span, excluded.max_span),
                gist_only = s.gist_only OR excluded.gist_only,
                spans = s.spans + excluded.spans,
                total_span = s.total_span + excluded.total_span,
                first_from = least(s.first_from, excluded.first_from),
                last_to = greatest(s.last_to, excluded.last_to),
                use_tree = NOT (s.gist_only OR excluded.gist_only)
                    AND pg_catalog.extract('epoch', s.total_span + excluded.total_span)
                        / greatest(pg_catalog.extract('epoch',
                              greatest(s.last_to, excluded.last_to)
                              - least(s.first_from, excluded.first_from)), 1)
                        >= ledger.span_tree_depth()
    $q$, p_source)
$sql$;

-- One call per INSERT or COPY statement on entries. The usual statement (no late or
-- future-dated entry) leaves after one look at its rows. SECURITY DEFINER: bulk loads
-- insert entries as a superuser; the tree is the owner's.
CREATE FUNCTION ledger.entries_add_spans() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n
               WHERE n.recorded_at - n.effective_at > interval '5 minutes' OR n.effective_at > n.recorded_at) THEN
        EXECUTE ledger.span_upsert_sql('new_entries');
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.entries_add_spans(), ledger.span_upsert_sql(text),
    ledger.span_block_level(bigint, bigint), ledger.span_hour(timestamptz), ledger.span_tree_depth() FROM PUBLIC;

CREATE TRIGGER entries_spans AFTER INSERT ON ledger.entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.entries_add_spans();
ALTER TABLE ledger.entries ENABLE ALWAYS TRIGGER entries_spans;

-- The entries of one hour, by either end of their span (index-only: they carry both times
-- and the amount). Their predicates select the same entries as entries_late and
-- entries_future_dated but are written differently on purpose: the GiST stabs' queries
-- (which state the GiST predicates) then cannot be planned on these btrees (a generic plan
-- did: a scan of all of an account's future-dated entries, 0.6 ms at 10,000). Times have
-- microsecond resolution, so "> 5 minutes" and ">= 5 minutes 1 microsecond" are the same.
CREATE INDEX entries_late_by_effective ON ledger.entries (account_id, effective_at) INCLUDE (recorded_at, amount)
    WHERE recorded_at - effective_at >= interval '00:05:00.000001';
CREATE INDEX entries_late_by_recorded ON ledger.entries (account_id, recorded_at) INCLUDE (effective_at, amount)
    WHERE recorded_at - effective_at >= interval '00:05:00.000001';
CREATE INDEX entries_future_by_recorded ON ledger.entries (account_id, recorded_at) INCLUDE (effective_at, amount)
    WHERE effective_at - recorded_at > interval '0';
CREATE INDEX entries_future_by_effective ON ledger.entries (account_id, effective_at) INCLUDE (recorded_at, amount)
    WHERE effective_at - recorded_at > interval '0';

-- The entries already there.
DO $backfill$
BEGIN
    EXECUTE ledger.span_upsert_sql('ledger.entries');
END
$backfill$;

-- Same answer as before (0004), same signature; the corrections come from the tree where
-- it applies (see the top), else from the GiST stabs as before. Few statements, no nested
-- calls: at 100k entries the whole function costs a few tens of microseconds, and each
-- statement or call with SET clauses adds several. The tree is read one block per level
-- by primary key (a correlated subquery: a join would let a generic plan hash all of the
-- account's blocks).
CREATE OR REPLACE FUNCTION ledger.balance_minor(p_account_id bigint, p_effective timestamptz, p_known_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_t timestamptz := least(p_effective, p_known_at);
    v_base bigint;
    v_future bigint := 0;
    v_late bigint := 0;
    v_bounds record;
    v_hour bigint;
    v_start timestamptz;
    v_end timestamptz;
    -- 'on' or 'off' forces the tree or the GiST stabs (tests, benchmarks); else each
    -- account gets the cheaper one.
    v_mode text := current_setting('ledger.span_tree', true);
BEGIN
    -- The running balance at T and the account's span bounds, in one statement.
    SELECT (SELECT e.balance_after
            FROM ledger.entries e
            WHERE e.account_id = p_account_id AND e.recorded_at <= v_t
            ORDER BY e.recorded_at DESC, e.account_seq DESC
            LIMIT 1) AS base,
           f.account_id IS NOT NULL AS has_future,
           f.max_level AS future_level,
           NOT f.gist_only AND CASE v_mode WHEN 'on' THEN true WHEN 'off' THEN false ELSE f.use_tree END
               AS future_tree,
           l.account_id IS NOT NULL AS has_late,
           l.max_level AS late_level,
           l.max_span AS late_span,
           NOT l.gist_only AND CASE v_mode WHEN 'on' THEN true WHEN 'off' THEN false ELSE l.use_tree END
               AS late_tree
    INTO v_bounds
    FROM (VALUES (1)) AS one(x)
    LEFT JOIN ledger.span_bounds f ON f.account_id = p_account_id AND f.kind = 'F'
    LEFT JOIN ledger.span_bounds l ON l.account_id = p_account_id AND l.kind = 'L';
    v_base := v_bounds.base;

    IF (v_bounds.future_tree OR v_bounds.late_tree)
       AND p_effective >= timestamptz '1900-01-01 00:00Z' AND p_effective < timestamptz '2200-01-01 00:00Z' THEN
        v_hour := ledger.span_hour(p_effective);
        v_start := timestamptz '1900-01-01 00:00Z' + v_hour * interval '1 hour';
        v_end := v_start + interval '1 hour';
    END IF;

    -- Future-dated entries recorded by T but effective after E.
    IF NOT v_bounds.has_future THEN
        v_future := 0;
    ELSIF p_effective <= p_known_at AND v_hour IS NOT NULL AND v_bounds.future_tree THEN
        -- T = E: the spans [recorded, effective) that contain E. The tree's blocks holding
        -- E's hour, plus the spans with an end inside that hour: recorded after its start,
        -- or effective within it.
        SELECT coalesce((SELECT sum((SELECT s.amount FROM ledger.span_sums s
                                     WHERE s.account_id = p_account_id AND s.kind = 'F'
                                       AND s.level = l.level AND s.bucket = v_hour >> l.level))
                         FROM generate_series(0, v_bounds.future_level) AS l(level)), 0)
             + coalesce((SELECT sum(e.amount) FROM ledger.entries e
                         WHERE e.account_id = p_account_id AND e.effective_at - e.recorded_at > interval '0'
                           AND e.recorded_at > v_start AND e.recorded_at <= p_effective
                           AND e.effective_at > p_effective), 0)
             + coalesce((SELECT sum(e.amount) FROM ledger.entries e
                         WHERE e.account_id = p_account_id AND e.effective_at - e.recorded_at > interval '0'
                           AND e.effective_at > p_effective AND e.effective_at < v_end
                           AND e.recorded_at <= v_start), 0)
        INTO v_future;
    ELSE
        SELECT coalesce(sum(e.amount), 0) INTO v_future
        FROM ledger.entries e
        WHERE e.account_id = p_account_id
          AND e.effective_at > e.recorded_at
          AND tstzrange(e.recorded_at, e.effective_at, '[)') @> v_t
          AND e.effective_at > p_effective;
    END IF;

    -- Entries effective by E but recorded in (E, K]: those less late than late_after() in a
    -- short range of recorded time, the later ones from the tree or the GiST stab.
    IF p_known_at > p_effective THEN
        IF NOT v_bounds.has_late THEN
            SELECT coalesce(sum(e.amount), 0) INTO v_late
            FROM ledger.entries e
            WHERE e.account_id = p_account_id
              AND e.recorded_at > p_effective
              AND e.recorded_at <= least(p_known_at, p_effective + ledger.late_after())
              AND e.effective_at <= p_effective
              AND e.recorded_at - e.effective_at <= interval '5 minutes';
        ELSIF v_hour IS NOT NULL AND v_bounds.late_tree AND p_known_at >= p_effective + v_bounds.late_span THEN
            -- Every late span containing E ends by K: the spans [effective, recorded) that
            -- contain E, from the tree's blocks holding E's hour, plus the spans with an end
            -- inside that hour: effective after its start, or recorded within it.
            SELECT coalesce((SELECT sum(e.amount) FROM ledger.entries e
                             WHERE e.account_id = p_account_id
                               AND e.recorded_at > p_effective
                               AND e.recorded_at <= least(p_known_at, p_effective + ledger.late_after())
                               AND e.effective_at <= p_effective
                               AND e.recorded_at - e.effective_at <= interval '5 minutes'), 0)
                 + coalesce((SELECT sum((SELECT s.amount FROM ledger.span_sums s
                                         WHERE s.account_id = p_account_id AND s.kind = 'L'
                                           AND s.level = l.level AND s.bucket = v_hour >> l.level))
                             FROM generate_series(0, v_bounds.late_level) AS l(level)), 0)
                 + coalesce((SELECT sum(e.amount) FROM ledger.entries e
                             WHERE e.account_id = p_account_id
                               AND e.recorded_at - e.effective_at >= interval '00:05:00.000001'
                               AND e.effective_at > v_start AND e.effective_at <= p_effective
                               AND e.recorded_at > p_effective), 0)
                 + coalesce((SELECT sum(e.amount) FROM ledger.entries e
                             WHERE e.account_id = p_account_id
                               AND e.recorded_at - e.effective_at >= interval '00:05:00.000001'
                               AND e.recorded_at > p_effective AND e.recorded_at < v_end
                               AND e.effective_at <= v_start), 0)
            INTO v_late;
        ELSE
            SELECT coalesce((SELECT sum(e.amount) FROM ledger.entries e
                             WHERE e.account_id = p_account_id
                               AND e.recorded_at > p_effective
                               AND e.recorded_at <= least(p_known_at, p_effective + ledger.late_after())
                               AND e.effective_at <= p_effective
                               AND e.recorded_at - e.effective_at <= interval '5 minutes'), 0)
                 + coalesce((SELECT sum(e.amount) FROM ledger.entries e
                             WHERE e.account_id = p_account_id
                               AND e.recorded_at - e.effective_at > interval '5 minutes'
                               AND tstzrange(e.effective_at, e.recorded_at, '[)') @> p_effective
                               AND e.recorded_at <= p_known_at), 0)
            INTO v_late;
        END IF;
    END IF;
    RETURN coalesce(v_base, 0) - v_future + v_late;
END
$$;
