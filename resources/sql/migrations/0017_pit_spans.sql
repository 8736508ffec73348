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
-- The tree is derived data, like account_heads: one AFTER INSERT trigger on entries keeps
-- it (enabled ALWAYS, so every path that adds entries, COPY included, maintains it), and
-- the invariant checks compare it with the entries.
SET LOCAL ROLE ledger_owner;

-- Whole hours since 1900-01-01 00:00 UTC, for times from 1900 on. Exact: microseconds as
-- an integer (extract gives numeric), then integer division (a floor for these values).
-- Plain SQL without SET clauses so that it is inlined; every name is schema-qualified.
-- From this many spans containing a time on average (see span_bounds), the tree is used:
-- below it the GiST stab visits few entries and costs less than the tree's probes.
-- Measured (whole balance, ms): depth 3.5: GiST 0.044, tree 0.058; depth 67: GiST 0.080,
-- tree 0.065.
CREATE FUNCTION ledger.span_tree_depth() RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 24::numeric $$;

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

-- Adds one entry's span [p_from, p_to) to the tree.
CREATE FUNCTION ledger.add_span(p_account_id bigint, p_kind "char", p_from timestamptz, p_to timestamptz,
                                p_amount bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    a bigint;
    b bigint;
    l integer;
    v_max integer := -1;
BEGIN
    IF NOT (p_from >= timestamptz '1900-01-01 00:00Z' AND p_to < timestamptz '2200-01-01 00:00Z') THEN
        INSERT INTO ledger.span_bounds AS s (account_id, kind, max_span, gist_only, spans)
        VALUES (p_account_id, p_kind, p_to - p_from, true, 1)
        ON CONFLICT (account_id, kind) DO UPDATE
            SET gist_only = true, spans = s.spans + 1, max_span = greatest(s.max_span, excluded.max_span);
        RETURN;
    END IF;
    -- The whole hours inside the span: [a, b).
    a := ledger.span_hour(p_from);
    IF timestamptz '1900-01-01 00:00Z' + a * interval '1 hour' < p_from THEN
        a := a + 1;
    END IF;
    b := ledger.span_hour(p_to);
    WHILE a < b LOOP
        l := 0;
        WHILE a % (2::bigint << l) = 0 AND a + (2::bigint << l) <= b LOOP
            l := l + 1;
        END LOOP;
        INSERT INTO ledger.span_sums AS s (account_id, kind, level, bucket, amount)
        VALUES (p_account_id, p_kind, l, a >> l, p_amount)
        ON CONFLICT (account_id, kind, level, bucket) DO UPDATE SET amount = s.amount + excluded.amount;
        v_max := greatest(v_max, l);
        a := a + (1::bigint << l);
    END LOOP;
    INSERT INTO ledger.span_bounds AS s (account_id, kind, max_level, max_span, spans, total_span, first_from, last_to)
    VALUES (p_account_id, p_kind, v_max, p_to - p_from, 1, p_to - p_from, p_from, p_to)
    ON CONFLICT (account_id, kind) DO UPDATE
        SET max_level = greatest(s.max_level, excluded.max_level),
            max_span = greatest(s.max_span, excluded.max_span),
            spans = s.spans + 1,
            total_span = s.total_span + excluded.total_span,
            first_from = least(s.first_from, excluded.first_from),
            last_to = greatest(s.last_to, excluded.last_to);
    -- The depth only grows while spans keep covering the same stretch of time; it is
    -- re-judged with each span (a cheap comparison on the row just written).
    UPDATE ledger.span_bounds s
    SET use_tree = NOT use_tree
    WHERE s.account_id = p_account_id AND s.kind = p_kind
      AND use_tree <> (NOT s.gist_only AND extract(epoch FROM s.total_span)
                           / greatest(extract(epoch FROM s.last_to - s.first_from), 1) >= ledger.span_tree_depth());
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.add_span(bigint, "char", timestamptz, timestamptz, bigint) FROM PUBLIC;

-- SECURITY DEFINER: bulk loads insert entries as a superuser; the tree is the owner's.
CREATE FUNCTION ledger.entries_add_span() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
BEGIN
    IF NEW.effective_at > NEW.recorded_at THEN
        PERFORM ledger.add_span(NEW.account_id, 'F', NEW.recorded_at, NEW.effective_at, NEW.amount);
    ELSE
        PERFORM ledger.add_span(NEW.account_id, 'L', NEW.effective_at, NEW.recorded_at, NEW.amount);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.entries_add_span() FROM PUBLIC;

-- Only late (the entries_late predicate) and future-dated (entries_future_dated) entries.
CREATE TRIGGER entries_spans AFTER INSERT ON ledger.entries
    FOR EACH ROW
    WHEN (NEW.recorded_at - NEW.effective_at > interval '5 minutes' OR NEW.effective_at > NEW.recorded_at)
    EXECUTE FUNCTION ledger.entries_add_span();
ALTER TABLE ledger.entries ENABLE ALWAYS TRIGGER entries_spans;

-- The entries of one hour, by either end of their span (index-only: they carry both times
-- and the amount).
CREATE INDEX entries_late_by_effective ON ledger.entries (account_id, effective_at) INCLUDE (recorded_at, amount)
    WHERE recorded_at - effective_at > interval '5 minutes';
CREATE INDEX entries_late_by_recorded ON ledger.entries (account_id, recorded_at) INCLUDE (effective_at, amount)
    WHERE recorded_at - effective_at > interval '5 minutes';
CREATE INDEX entries_future_by_recorded ON ledger.entries (account_id, recorded_at) INCLUDE (effective_at, amount)
    WHERE effective_at > recorded_at;
CREATE INDEX entries_future_by_effective ON ledger.entries (account_id, effective_at) INCLUDE (recorded_at, amount)
    WHERE effective_at > recorded_at;

-- The entries already there.
SELECT count(*) FROM (
    SELECT ledger.add_span(e.account_id,
                           CASE WHEN e.effective_at > e.recorded_at THEN 'F' ELSE 'L' END::"char",
                           least(e.effective_at, e.recorded_at), greatest(e.effective_at, e.recorded_at), e.amount)
    FROM ledger.entries e
    WHERE e.recorded_at - e.effective_at > interval '5 minutes' OR e.effective_at > e.recorded_at
    ORDER BY e.id) backfill;

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
                         WHERE e.account_id = p_account_id AND e.effective_at > e.recorded_at
                           AND e.recorded_at > v_start AND e.recorded_at <= p_effective
                           AND e.effective_at > p_effective), 0)
             + coalesce((SELECT sum(e.amount) FROM ledger.entries e
                         WHERE e.account_id = p_account_id AND e.effective_at > e.recorded_at
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
                               AND e.recorded_at - e.effective_at > interval '5 minutes'
                               AND e.effective_at > v_start AND e.effective_at <= p_effective
                               AND e.recorded_at > p_effective), 0)
                 + coalesce((SELECT sum(e.amount) FROM ledger.entries e
                             WHERE e.account_id = p_account_id
                               AND e.recorded_at - e.effective_at > interval '5 minutes'
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
