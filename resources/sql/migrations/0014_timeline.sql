-- Account timelines, point-in-time explanations, transaction detail and balance charts for
-- the console (issue 6). Everything here reads; the one write is the audit event for
-- opening an account's history. All console-facing functions check the session first,
-- run as the owner with a fixed search_path, and are executable by the console groups only.
--
-- Positions, not OFFSET. A timeline is an account's entries in recorded order (by
-- account_seq, which follows recorded time) or in effective order (by effective_at, then
-- account_seq). Every row has an exact 0-based position in that order, computed without
-- counting rows:
--  - recorded order: position = account_seq - 1; the entries recorded before time T are
--    the account_seq of the last entry recorded before T (one index probe);
--  - effective order: the entries effective at or before T are counted like
--    ledger.balance_minor() sums them (O(log n)): the sequence number of the last entry
--    recorded by T, minus future-dated entries recorded by T (GiST stab), plus late
--    entries effective by T but recorded after it (a short index range and a GiST stab).
-- So the exact row count of the whole timeline (the head's last_seq) or of a date range
-- (two positions) needs no count(*), a page at any position is a keyset range starting at
-- the entry at that position (found by a binary search over time on those counts for
-- effective order), and "jump to a date" is one position.
-- Amount and text filters cannot be counted this way; ledger.timeline_search() pages
-- through them by keyset (after the last account_seq seen) and the console shows the
-- count once the last page has arrived (see TimelineModel).

-- JIT is off in these functions: their statements read a page or a few index probes, but a
-- generic plan's estimates (an unknown LIMIT on a ten-million-entry account) can pass
-- jit_above_cost, and compiling then costs 100-300 ms per call for work of 1 ms.
SET LOCAL ROLE ledger_owner;

-- The late and future-dated entries' indexes (0004) again, now carrying the amount: the
-- corrections of a point-in-time balance (ledger.balance_minor, and the charts' many
-- balances at once) sum them with index-only scans instead of a heap visit per entry. Same
-- names, expressions and predicates, so every query that used them still does.
DROP INDEX ledger.entries_late;
CREATE INDEX entries_late ON ledger.entries
    USING gist (account_id, tstzrange(effective_at, recorded_at, '[)')) INCLUDE (amount)
    WHERE recorded_at - effective_at > interval '5 minutes';
DROP INDEX ledger.entries_future_dated;
CREATE INDEX entries_future_dated ON ledger.entries
    USING gist (account_id, tstzrange(recorded_at, effective_at, '[)')) INCLUDE (amount)
    WHERE effective_at > recorded_at;

CREATE TYPE ledger.timeline_row AS (
    "position"     bigint,      -- 0-based in the account's order (NULL where not known cheaply)
    entry_id       bigint,
    transaction_id bigint,
    account_seq    bigint,
    effective_at   timestamptz,
    recorded_at    timestamptz,
    description    text,
    external_ref   text,
    amount         text,        -- exact decimal on the account's normal side (+ raises the balance)
    amount_minor   bigint,
    balance        text,        -- running balance after this entry, in the timeline's order
    balance_minor  bigint,
    kind           text,        -- the transaction's kind: posting, event, reversal, rebook, seed
    reverses       bigint,      -- this entry's transaction reverses that one
    reversed_by    bigint,      -- this entry's transaction was reversed by that one
    backdated      boolean,     -- recorded more than ledger.late_after() after its effective time
    future_dated   boolean      -- effective after it was recorded
);

-------------------------------------------------------------------------------------------
-- Internal helpers (owner only)
-------------------------------------------------------------------------------------------

-- Entries of the account effective at or before p_at, as known now. O(log n); see above.
CREATE FUNCTION ledger.count_effective_by(p_account_id bigint, p_at timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_base bigint;
    v_future bigint;
    v_late bigint;
BEGIN
    SELECT e.account_seq INTO v_base
    FROM ledger.entries e
    WHERE e.account_id = p_account_id AND e.recorded_at <= p_at
    ORDER BY e.recorded_at DESC, e.account_seq DESC
    LIMIT 1;
    SELECT count(*) INTO v_future
    FROM ledger.entries e
    WHERE e.account_id = p_account_id
      AND e.effective_at > e.recorded_at
      AND tstzrange(e.recorded_at, e.effective_at, '[)') @> p_at;
    SELECT count(*) INTO v_late
    FROM ledger.entries e
    WHERE e.account_id = p_account_id
      AND e.recorded_at > p_at
      AND e.recorded_at <= p_at + ledger.late_after()
      AND e.effective_at <= p_at
      AND e.recorded_at - e.effective_at <= interval '5 minutes';
    v_late := v_late + (
        SELECT count(*)
        FROM ledger.entries e
        WHERE e.account_id = p_account_id
          AND e.recorded_at - e.effective_at > interval '5 minutes'
          AND tstzrange(e.effective_at, e.recorded_at, '[)') @> p_at);
    RETURN coalesce(v_base, 0) - v_future + v_late;
END
$$;

-- Entries before p_at in the given order ('effective' or 'recorded'): the position of the
-- first entry at or after p_at. NULL p_at: none before.
CREATE FUNCTION ledger.timeline_count_before(p_account_id bigint, p_order text, p_at timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v bigint;
BEGIN
    IF p_at IS NULL THEN
        RETURN 0;
    END IF;
    IF p_order = 'recorded' THEN
        SELECT e.account_seq INTO v
        FROM ledger.entries e
        WHERE e.account_id = p_account_id AND e.recorded_at < p_at
        ORDER BY e.recorded_at DESC, e.account_seq DESC
        LIMIT 1;
        RETURN coalesce(v, 0);
    END IF;
    -- timestamptz has microsecond resolution: "before T" is "at or before T - 1 µs".
    RETURN ledger.count_effective_by(p_account_id, p_at - interval '1 microsecond');
END
$$;

CREATE FUNCTION ledger.from_epoch_us(p_us bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    -- Whole seconds and microseconds apart, so that no step goes through an inexact float.
    SELECT timestamptz 'epoch' + (p_us / 1000000) * interval '1 second'
                               + (p_us % 1000000) * interval '1 microsecond'
$$;

CREATE FUNCTION ledger.to_epoch_us(p_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$ SELECT (extract(epoch FROM p_at) * 1000000)::bigint $$;

-- account_seq of the entry at 0-based p_position in effective order, or NULL past the end.
-- A binary search over time (microseconds) on count_effective_by(): about 50 O(log n)
-- probes whatever the account's size. Among entries sharing the found microsecond (the
-- legs of one transaction, typically) the offset is within that instant only.
CREATE FUNCTION ledger.effective_seq_at(p_account_id bigint, p_position bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_lo bigint;
    v_hi bigint;
    v_mid bigint;
    v_at timestamptz;
    v_before bigint;
    v_seq bigint;
BEGIN
    IF p_position IS NULL OR p_position < 0 THEN
        RETURN NULL;
    END IF;
    SELECT ledger.to_epoch_us(min(e.effective_at)), ledger.to_epoch_us(max(e.effective_at))
    INTO v_lo, v_hi
    FROM ledger.entries e WHERE e.account_id = p_account_id;
    IF v_lo IS NULL OR ledger.count_effective_by(p_account_id, ledger.from_epoch_us(v_hi)) <= p_position THEN
        RETURN NULL;
    END IF;
    -- Smallest T in [lo, hi] with count_effective_by(T) > p_position.
    WHILE v_lo < v_hi LOOP
        v_mid := v_lo + (v_hi - v_lo) / 2;
        IF ledger.count_effective_by(p_account_id, ledger.from_epoch_us(v_mid)) > p_position THEN
            v_hi := v_mid;
        ELSE
            v_lo := v_mid + 1;
        END IF;
    END LOOP;
    v_at := ledger.from_epoch_us(v_lo);
    v_before := ledger.count_effective_by(p_account_id, v_at - interval '1 microsecond');
    SELECT e.account_seq INTO v_seq
    FROM ledger.entries e
    WHERE e.account_id = p_account_id AND e.effective_at = v_at
    ORDER BY e.account_seq
    OFFSET p_position - v_before LIMIT 1;
    RETURN v_seq;
END
$$;

-- Signed balance (debit positive) after the entry (p_effective, p_seq) in effective order,
-- as known now: all entries effective by then, less those of the same instant after it.
CREATE FUNCTION ledger.effective_balance_after(p_account_id bigint, p_effective timestamptz, p_seq bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN ledger.balance_minor(p_account_id, p_effective, 'infinity')
         - coalesce((SELECT sum(e.amount) FROM ledger.entries e
                     WHERE e.account_id = p_account_id AND e.effective_at = p_effective
                       AND e.account_seq > p_seq), 0);
END
$$;

-- Signed balances (debit positive) at many effective times at once, as known now: the
-- same three parts as ledger.balance_minor(), but as index probes inside one statement
-- (no function call per time). A chart of the whole history asks for a few thousand.
CREATE FUNCTION ledger.balances_at(p_account_id bigint, p_times timestamptz[])
RETURNS TABLE (at timestamptz, balance bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
    SELECT s.t,
           coalesce(b.balance_after, 0) - coalesce(f.total, 0) + coalesce(l1.total, 0) + coalesce(l2.total, 0)
    FROM unnest(p_times) AS s(t)
    LEFT JOIN LATERAL (
        SELECT e.balance_after FROM ledger.entries e
        WHERE e.account_id = p_account_id AND e.recorded_at <= s.t
        ORDER BY e.recorded_at DESC, e.account_seq DESC LIMIT 1) b ON true
    LEFT JOIN LATERAL (
        SELECT sum(e.amount) AS total FROM ledger.entries e
        WHERE e.account_id = p_account_id AND e.effective_at > e.recorded_at
          AND tstzrange(e.recorded_at, e.effective_at, '[)') @> s.t) f ON true
    LEFT JOIN LATERAL (
        SELECT sum(e.amount) AS total FROM ledger.entries e
        WHERE e.account_id = p_account_id AND e.recorded_at > s.t
          AND e.recorded_at <= s.t + interval '5 minutes' AND e.effective_at <= s.t
          AND e.recorded_at - e.effective_at <= interval '5 minutes') l1 ON true
    LEFT JOIN LATERAL (
        SELECT sum(e.amount) AS total FROM ledger.entries e
        WHERE e.account_id = p_account_id AND e.recorded_at - e.effective_at > interval '5 minutes'
          AND tstzrange(e.effective_at, e.recorded_at, '[)') @> s.t) l2 ON true
$$;

CREATE FUNCTION ledger.format_minor(p_minor bigint, p_exponent smallint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$ SELECT round(p_minor::numeric / (10::numeric ^ p_exponent), p_exponent)::text $$;

-- The account behind an id, with what the timeline needs to present amounts.
CREATE FUNCTION ledger.timeline_account(p_account_id bigint,
                                        OUT sign integer, OUT exponent smallint, OUT currency text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
BEGIN
    SELECT CASE WHEN a.normal_side = 'debit' THEN 1 ELSE -1 END, c.exponent, a.currency
    INTO sign, exponent, currency
    FROM ledger.accounts a JOIN ledger.currencies c ON c.code = a.currency
    WHERE a.id = p_account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No account with id %', p_account_id USING ERRCODE = 'LG018';
    END IF;
END
$$;

CREATE FUNCTION ledger.check_timeline_order(p_order text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog
AS $$
BEGIN
    IF p_order IS NULL OR p_order NOT IN ('effective', 'recorded') THEN
        RAISE EXCEPTION 'Timeline order must be "effective" or "recorded", not "%"', coalesce(p_order, 'null')
            USING ERRCODE = 'LG070';
    END IF;
END
$$;

-------------------------------------------------------------------------------------------
-- Console-facing functions
-------------------------------------------------------------------------------------------

-- Opens an account's history: the account, its exact entry count and time span, and an
-- audit event (account.history_opened) in the same transaction.
CREATE FUNCTION ledger.open_account_history(p_account text,
                                            OUT account_id bigint, OUT code text, OUT name text,
                                            OUT currency text, OUT exponent smallint, OUT kind text,
                                            OUT normal_side text, OUT allow_negative boolean,
                                            OUT entry_count bigint, OUT balance text,
                                            OUT first_effective_at timestamptz, OUT last_effective_at timestamptz,
                                            OUT first_recorded_at timestamptz, OUT last_recorded_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT a.id, a.code, a.name, a.currency, c.exponent, a.kind::text, a.normal_side::text, a.allow_negative,
           h.last_seq,
           ledger.format_minor(CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END, c.exponent)
    INTO account_id, code, name, currency, exponent, kind, normal_side, allow_negative, entry_count, balance
    FROM ledger.accounts a
    JOIN ledger.account_heads h ON h.account_id = a.id
    JOIN ledger.currencies c ON c.code = a.currency
    WHERE a.code = p_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No account with code "%"', p_account USING ERRCODE = 'LG018';
    END IF;
    SELECT min(e.effective_at), max(e.effective_at) INTO first_effective_at, last_effective_at
    FROM ledger.entries e WHERE e.account_id = open_account_history.account_id;
    SELECT min(e.recorded_at), max(e.recorded_at) INTO first_recorded_at, last_recorded_at
    FROM ledger.entries e WHERE e.account_id = open_account_history.account_id;
    PERFORM audit.record('account.history_opened', 'account', code,
                         jsonb_build_object('id', account_id, 'entries', entry_count));
END
$$;

-- The exact slice of the timeline whose ordering time lies in [p_from, p_to) (NULL: open):
-- its first position and its row count. O(log n), no count(*).
CREATE FUNCTION ledger.timeline_window(p_account_id bigint, p_order text, p_from timestamptz, p_to timestamptz,
                                       OUT first_position bigint, OUT row_count bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
DECLARE
    v_end bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_timeline_order(p_order);
    PERFORM ledger.timeline_account(p_account_id);
    first_position := ledger.timeline_count_before(p_account_id, p_order, p_from);
    IF p_to IS NULL THEN
        SELECT h.last_seq INTO v_end FROM ledger.account_heads h WHERE h.account_id = p_account_id;
    ELSE
        v_end := ledger.timeline_count_before(p_account_id, p_order, p_to);
    END IF;
    row_count := greatest(v_end - first_position, 0);
END
$$;

-- Rows at positions [p_position, p_position + p_limit) of the account's timeline in the
-- given order: a keyset range from the entry at p_position (never OFFSET). The running
-- balance is the account's balance after each entry in that order, on its normal side.
-- In effective order the start is found, cheapest first: position 0 is the first entry;
-- a page reaching the end is read backwards from the last (its balances count back from
-- the account's head); p_after_seq, the entry at p_position - 1 (the end of the page
-- before, which a scrolling client has), continues after it; otherwise a binary search
-- over time finds the entry at p_position (ledger.effective_seq_at, ~50 O(log n) counts).
CREATE FUNCTION ledger.timeline_page(p_account_id bigint, p_order text, p_position bigint, p_limit integer,
                                     p_after_seq bigint DEFAULT NULL)
RETURNS SETOF ledger.timeline_row
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    a record;
    v_total bigint;
    v_head bigint;
    v_seq bigint;
    v_effective timestamptz;
    v_start bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_timeline_order(p_order);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'A timeline page has 1 to 10000 rows, not %', p_limit USING ERRCODE = 'LG071';
    END IF;
    SELECT * INTO a FROM ledger.timeline_account(p_account_id);
    IF p_position IS NULL OR p_position < 0 THEN
        RAISE EXCEPTION 'A timeline position is 0 or more, not %', p_position USING ERRCODE = 'LG071';
    END IF;
    IF p_order = 'recorded' THEN
        RETURN QUERY
        SELECT e.account_seq - 1, e.id, e.transaction_id, e.account_seq, e.effective_at, e.recorded_at,
               t.description, t.external_ref,
               ledger.format_minor(a.sign * e.amount, a.exponent), a.sign * e.amount,
               ledger.format_minor(a.sign * e.balance_after, a.exponent), a.sign * e.balance_after,
               t.kind, t.reverses, t.reversed_by,
               e.recorded_at - e.effective_at > ledger.late_after(), e.effective_at > e.recorded_at
        FROM ledger.entries e
        CROSS JOIN LATERAL (
            -- OFFSET 0: a nested loop of index probes per row, never a hash join over all
            -- transactions (what a generic plan picks for an unknown LIMIT on a big account).
            SELECT x.description, x.external_ref, x.kind, x.reverses,
                   (SELECT y.id FROM ledger.transactions y WHERE y.reverses = x.id) AS reversed_by
            FROM ledger.transactions x WHERE x.id = e.transaction_id OFFSET 0) t
        WHERE e.account_id = p_account_id
          AND e.account_seq > p_position AND e.account_seq <= p_position + p_limit
        ORDER BY e.account_seq;
        RETURN;
    END IF;

    -- Same snapshot as the entries below (a STABLE function sees its caller's).
    SELECT h.last_seq, h.balance INTO v_total, v_head FROM ledger.account_heads h WHERE h.account_id = p_account_id;
    IF p_position >= v_total THEN
        RETURN;
    END IF;
    IF p_position + p_limit >= v_total AND p_after_seq IS NULL THEN
        RETURN QUERY
        SELECT v_total - row_number() OVER back, p.id, p.transaction_id, p.account_seq, p.effective_at, p.recorded_at,
               t.description, t.external_ref,
               ledger.format_minor(a.sign * p.amount, a.exponent), a.sign * p.amount,
               ledger.format_minor(a.sign * (v_head - coalesce(sum(p.amount) OVER later, 0))::bigint, a.exponent),
               a.sign * (v_head - coalesce(sum(p.amount) OVER later, 0))::bigint,
               t.kind, t.reverses, t.reversed_by,
               p.recorded_at - p.effective_at > ledger.late_after(), p.effective_at > p.recorded_at
        FROM (SELECT e.* FROM ledger.entries e
              WHERE e.account_id = p_account_id
              ORDER BY e.effective_at DESC, e.account_seq DESC
              LIMIT v_total - p_position) p
        CROSS JOIN LATERAL (
            -- OFFSET 0: a nested loop of index probes per row, never a hash join over all
            -- transactions (what a generic plan picks for an unknown LIMIT on a big account).
            SELECT x.description, x.external_ref, x.kind, x.reverses,
                   (SELECT y.id FROM ledger.transactions y WHERE y.reverses = x.id) AS reversed_by
            FROM ledger.transactions x WHERE x.id = p.transaction_id OFFSET 0) t
        WINDOW back AS (ORDER BY p.effective_at DESC, p.account_seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               later AS (ORDER BY p.effective_at DESC, p.account_seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ORDER BY p.effective_at, p.account_seq;
        RETURN;
    END IF;

    -- The keyset start (inclusive) and the balance before it.
    IF p_position = 0 THEN
        v_effective := '-infinity';
        v_seq := 0;
        v_start := 0;
    ELSIF p_after_seq IS NOT NULL THEN
        SELECT e.effective_at INTO v_effective
        FROM ledger.entries e WHERE e.account_id = p_account_id AND e.account_seq = p_after_seq;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Account % has no entry %', p_account_id, p_after_seq USING ERRCODE = 'LG071';
        END IF;
        v_start := ledger.effective_balance_after(p_account_id, v_effective, p_after_seq);
        v_seq := p_after_seq + 1; -- (effective_at, account_seq) > (e, s) is >= (e, s + 1)
    ELSE
        v_seq := ledger.effective_seq_at(p_account_id, p_position);
        IF v_seq IS NULL THEN
            RETURN;
        END IF;
        SELECT e.effective_at, ledger.effective_balance_after(p_account_id, e.effective_at, e.account_seq) - e.amount
        INTO v_effective, v_start
        FROM ledger.entries e WHERE e.account_id = p_account_id AND e.account_seq = v_seq;
    END IF;
    RETURN QUERY
    SELECT p_position + row_number() OVER w - 1, p.id, p.transaction_id, p.account_seq, p.effective_at, p.recorded_at,
           t.description, t.external_ref,
           ledger.format_minor(a.sign * p.amount, a.exponent), a.sign * p.amount,
           ledger.format_minor(a.sign * (v_start + sum(p.amount) OVER w)::bigint, a.exponent),
           a.sign * (v_start + sum(p.amount) OVER w)::bigint,
           t.kind, t.reverses, t.reversed_by,
           p.recorded_at - p.effective_at > ledger.late_after(), p.effective_at > p.recorded_at
    FROM (SELECT e.* FROM ledger.entries e
          WHERE e.account_id = p_account_id AND (e.effective_at, e.account_seq) >= (v_effective, v_seq)
          ORDER BY e.effective_at, e.account_seq
          LIMIT p_limit) p
    CROSS JOIN LATERAL (
            -- OFFSET 0: a nested loop of index probes per row, never a hash join over all
            -- transactions (what a generic plan picks for an unknown LIMIT on a big account).
            SELECT x.description, x.external_ref, x.kind, x.reverses,
                   (SELECT y.id FROM ledger.transactions y WHERE y.reverses = x.id) AS reversed_by
            FROM ledger.transactions x WHERE x.id = p.transaction_id OFFSET 0) t
    WINDOW w AS (ORDER BY p.effective_at, p.account_seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ORDER BY p.effective_at, p.account_seq;
END
$$;

-- Filtered timeline, by keyset: up to p_limit rows after the entry p_after_seq (NULL: from
-- the start of the date range) in the given order, whose ordering time is in
-- [p_from, p_to), whose amount's size is in [p_min, p_max] (exact decimal strings in the
-- account's currency; NULL: open) and whose description or reference contains p_text
-- (case-insensitive; NULL or empty: any). Positions are given in recorded order only.
CREATE FUNCTION ledger.timeline_search(p_account_id bigint, p_order text, p_after_seq bigint, p_limit integer,
                                       p_from timestamptz DEFAULT NULL, p_to timestamptz DEFAULT NULL,
                                       p_min text DEFAULT NULL, p_max text DEFAULT NULL, p_text text DEFAULT NULL)
RETURNS SETOF ledger.timeline_row
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
DECLARE
    a record;
    v_min bigint;
    v_max bigint;
    v_pattern text;
    v_after_effective timestamptz;
    v_after_seq bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_timeline_order(p_order);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'A timeline page has 1 to 10000 rows, not %', p_limit USING ERRCODE = 'LG071';
    END IF;
    SELECT * INTO a FROM ledger.timeline_account(p_account_id);
    v_min := CASE WHEN nullif(btrim(p_min), '') IS NOT NULL THEN abs(ledger.to_minor(btrim(p_min), a.currency)) END;
    v_max := CASE WHEN nullif(btrim(p_max), '') IS NOT NULL THEN abs(ledger.to_minor(btrim(p_max), a.currency)) END;
    IF v_min IS NOT NULL AND v_max IS NOT NULL AND v_min > v_max THEN
        RAISE EXCEPTION 'The amount range is empty: % is more than %', p_min, p_max USING ERRCODE = 'LG072';
    END IF;
    IF nullif(p_text, '') IS NOT NULL THEN
        v_pattern := '%' || replace(replace(replace(p_text, '\', '\\'), '%', '\%'), '_', '\_') || '%';
    END IF;

    IF p_order = 'recorded' THEN
        v_after_seq := coalesce(p_after_seq, ledger.timeline_count_before(p_account_id, 'recorded', p_from));
        RETURN QUERY
        SELECT e.account_seq - 1, e.id, e.transaction_id, e.account_seq, e.effective_at, e.recorded_at,
               t.description, t.external_ref,
               ledger.format_minor(a.sign * e.amount, a.exponent), a.sign * e.amount,
               ledger.format_minor(a.sign * e.balance_after, a.exponent), a.sign * e.balance_after,
               t.kind, t.reverses,
               (SELECT r.id FROM ledger.transactions r WHERE r.reverses = t.id),
               e.recorded_at - e.effective_at > ledger.late_after(), e.effective_at > e.recorded_at
        FROM ledger.entries e
        JOIN ledger.transactions t ON t.id = e.transaction_id
        WHERE e.account_id = p_account_id
          AND e.account_seq > v_after_seq
          AND (p_to IS NULL OR e.recorded_at < p_to)
          AND (v_min IS NULL OR abs(e.amount) >= v_min)
          AND (v_max IS NULL OR abs(e.amount) <= v_max)
          AND (v_pattern IS NULL OR t.description ILIKE v_pattern OR t.external_ref ILIKE v_pattern)
        ORDER BY e.account_seq
        LIMIT p_limit;
        RETURN;
    END IF;

    -- The keyset start: after the given entry, else at p_from (account_seq is never 0).
    v_after_effective := coalesce(p_from, '-infinity');
    v_after_seq := 0;
    IF p_after_seq IS NOT NULL THEN
        SELECT e.effective_at, e.account_seq INTO v_after_effective, v_after_seq
        FROM ledger.entries e WHERE e.account_id = p_account_id AND e.account_seq = p_after_seq;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Account % has no entry %', p_account_id, p_after_seq USING ERRCODE = 'LG071';
        END IF;
    END IF;
    RETURN QUERY
    SELECT NULL::bigint, p.id, p.transaction_id, p.account_seq, p.effective_at, p.recorded_at,
           p.description, p.external_ref,
           ledger.format_minor(a.sign * p.amount, a.exponent), a.sign * p.amount,
           ledger.format_minor(a.sign * b.balance, a.exponent), a.sign * b.balance,
           p.kind, p.reverses,
           (SELECT r.id FROM ledger.transactions r WHERE r.reverses = p.transaction_id),
           p.recorded_at - p.effective_at > ledger.late_after(), p.effective_at > p.recorded_at
    FROM (SELECT e.id, e.transaction_id, e.account_seq, e.effective_at, e.recorded_at, e.amount,
                 t.description, t.external_ref, t.kind, t.reverses
          FROM ledger.entries e
          JOIN ledger.transactions t ON t.id = e.transaction_id
          WHERE e.account_id = p_account_id
            AND (e.effective_at, e.account_seq) > (v_after_effective, v_after_seq)
            AND (p_to IS NULL OR e.effective_at < p_to)
            AND (v_min IS NULL OR abs(e.amount) >= v_min)
            AND (v_max IS NULL OR abs(e.amount) <= v_max)
            AND (v_pattern IS NULL OR t.description ILIKE v_pattern OR t.external_ref ILIKE v_pattern)
          ORDER BY e.effective_at, e.account_seq
          LIMIT p_limit) p
    CROSS JOIN LATERAL (SELECT ledger.effective_balance_after(p_account_id, p.effective_at, p.account_seq) AS balance) b
    ORDER BY p.effective_at, p.account_seq;
END
$$;

-- Point in time: the balance at effective time E as known at K, the balance the ledger
-- showed at E (known at E), and their difference, with how many entries explain it: those
-- effective by E but recorded in (E, K] (late, backdated, reversals of earlier entries).
CREATE FUNCTION ledger.point_in_time(p_account_id bigint, p_effective timestamptz DEFAULT NULL,
                                     p_known_at timestamptz DEFAULT NULL,
                                     OUT effective_at timestamptz, OUT known_at timestamptz,
                                     OUT balance text, OUT balance_minor bigint,
                                     OUT shown_then text, OUT shown_then_minor bigint,
                                     OUT difference text, OUT difference_minor bigint,
                                     OUT explaining_entries bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
DECLARE
    a record;
BEGIN
    PERFORM access.check_session();
    SELECT * INTO a FROM ledger.timeline_account(p_account_id);
    effective_at := coalesce(p_effective, clock_timestamp());
    known_at := coalesce(p_known_at, clock_timestamp());
    balance_minor := a.sign * ledger.balance_minor(p_account_id, effective_at, known_at);
    shown_then_minor := a.sign * ledger.balance_minor(p_account_id, effective_at, least(effective_at, known_at));
    difference_minor := balance_minor - shown_then_minor;
    balance := ledger.format_minor(balance_minor, a.exponent);
    shown_then := ledger.format_minor(shown_then_minor, a.exponent);
    difference := ledger.format_minor(difference_minor, a.exponent);
    IF known_at <= effective_at THEN
        explaining_entries := 0;
    ELSE
        SELECT count(*) INTO explaining_entries
        FROM ledger.entries e
        WHERE e.account_id = p_account_id
          AND e.recorded_at > point_in_time.effective_at
          AND e.recorded_at <= least(point_in_time.known_at, point_in_time.effective_at + ledger.late_after())
          AND e.effective_at <= point_in_time.effective_at
          AND e.recorded_at - e.effective_at <= interval '5 minutes';
        explaining_entries := explaining_entries + (
            SELECT count(*) FROM ledger.entries e
            WHERE e.account_id = p_account_id
              AND e.recorded_at - e.effective_at > interval '5 minutes'
              AND tstzrange(e.effective_at, e.recorded_at, '[)') @> point_in_time.effective_at
              AND e.recorded_at <= point_in_time.known_at);
    END IF;
END
$$;

-- The entries that explain the difference above, in recorded order (at most p_limit).
-- Their balance column is the account's balance after each in recorded order.
CREATE FUNCTION ledger.point_in_time_entries(p_account_id bigint, p_effective timestamptz, p_known_at timestamptz,
                                             p_limit integer DEFAULT 1000)
RETURNS SETOF ledger.timeline_row
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
DECLARE
    a record;
BEGIN
    PERFORM access.check_session();
    SELECT * INTO a FROM ledger.timeline_account(p_account_id);
    IF p_effective IS NULL OR p_known_at IS NULL OR p_known_at <= p_effective THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT e.account_seq - 1, e.id, e.transaction_id, e.account_seq, e.effective_at, e.recorded_at,
           t.description, t.external_ref,
           ledger.format_minor(a.sign * e.amount, a.exponent), a.sign * e.amount,
           ledger.format_minor(a.sign * e.balance_after, a.exponent), a.sign * e.balance_after,
           t.kind, t.reverses,
           (SELECT r.id FROM ledger.transactions r WHERE r.reverses = t.id),
           e.recorded_at - e.effective_at > ledger.late_after(), e.effective_at > e.recorded_at
    FROM (SELECT x.* FROM ledger.entries x
          WHERE x.account_id = p_account_id
            AND x.recorded_at > p_effective
            AND x.recorded_at <= least(p_known_at, p_effective + ledger.late_after())
            AND x.effective_at <= p_effective
            AND x.recorded_at - x.effective_at <= interval '5 minutes'
          UNION ALL
          SELECT x.* FROM ledger.entries x
          WHERE x.account_id = p_account_id
            AND x.recorded_at - x.effective_at > interval '5 minutes'
            AND tstzrange(x.effective_at, x.recorded_at, '[)') @> p_effective
            AND x.recorded_at <= p_known_at) e
    JOIN ledger.transactions t ON t.id = e.transaction_id
    ORDER BY e.account_seq
    LIMIT greatest(coalesce(p_limit, 1000), 0);
END
$$;

-- One transaction for the detail dialog: its fields, all its legs, the reversal links and
-- its reversal requests with their decisions. Audit events are read by the console from
-- audit.event_log where the role may read it.
CREATE FUNCTION ledger.transaction_detail(p_transaction bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
DECLARE
    v jsonb;
BEGIN
    PERFORM access.check_session();
    SELECT jsonb_build_object(
               'id', t.id, 'kind', t.kind,
               'effective_at', to_char(t.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'recorded_at', to_char(t.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'description', t.description, 'external_ref', t.external_ref,
               'idempotency_key', t.idempotency_key,
               'reverses', t.reverses,
               'reversed_by', (SELECT r.id FROM ledger.transactions r WHERE r.reverses = t.id),
               'created_by', t.created_by,
               'legs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                   'account', ac.code, 'account_name', ac.name, 'currency', e.currency,
                                   'amount', ledger.format_minor(e.amount, c.exponent),
                                   'side', CASE WHEN e.amount > 0 THEN 'debit' ELSE 'credit' END,
                                   'account_seq', e.account_seq) ORDER BY e.id), '[]'::jsonb)
                        FROM ledger.entries e
                        JOIN ledger.accounts ac ON ac.id = e.account_id
                        JOIN ledger.currencies c ON c.code = ac.currency
                        WHERE e.transaction_id = t.id),
               'requests', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                   'id', q.id, 'reason', q.reason_code, 'note', q.note,
                                   'rebook', q.rebook IS NOT NULL,
                                   'requested_by', q.requested_by,
                                   'requested_at', to_char(q.requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                   'state', coalesce(d.decision, 'pending'),
                                   'decided_by', d.decided_by,
                                   'decided_at', to_char(d.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                   'decision_note', d.note,
                                   'reversal_transaction_id', d.reversal_transaction_id,
                                   'rebook_transaction_id', d.rebook_transaction_id) ORDER BY q.id), '[]'::jsonb)
                            FROM ledger.reversal_requests q
                            LEFT JOIN ledger.reversal_decisions d ON d.request_id = q.id
                            WHERE q.transaction_id = t.id))
    INTO v
    FROM ledger.transactions t WHERE t.id = p_transaction;
    IF v IS NULL THEN
        RAISE EXCEPTION 'No transaction %', p_transaction USING ERRCODE = 'LG031';
    END IF;
    RETURN v;
END
$$;

-- The balance over [p_from, p_to] in effective time, for a chart p_samples pixels wide.
-- When the range holds at most 4 * p_samples entries: every entry (exact = true), after a
-- point at p_from, which the console downsamples to its pixels with LTTB. Otherwise the
-- balance at p_samples evenly spaced times (index probes, exact = false): a whole
-- 10M-entry history costs p_samples probes, not a scan; zooming in fetches the visible
-- range again, exact once it is short enough. Normal side, minor units.
CREATE FUNCTION ledger.balance_series(p_account_id bigint, p_from timestamptz, p_to timestamptz, p_samples integer)
RETURNS TABLE (at timestamptz, balance_minor bigint, exact boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
DECLARE
    a record;
    v_first bigint;
    v_count bigint;
    v_start bigint;
    v_step interval;
BEGIN
    PERFORM access.check_session();
    SELECT * INTO a FROM ledger.timeline_account(p_account_id);
    IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
        RAISE EXCEPTION 'A chart needs a time range from <= to' USING ERRCODE = 'LG072';
    END IF;
    IF p_samples IS NULL OR p_samples NOT BETWEEN 2 AND 100000 THEN
        RAISE EXCEPTION 'A chart has 2 to 100000 samples, not %', p_samples USING ERRCODE = 'LG071';
    END IF;
    v_first := ledger.count_effective_by(p_account_id, p_from);
    v_count := ledger.count_effective_by(p_account_id, p_to) - v_first;
    IF v_count <= 4 * p_samples THEN
        v_start := ledger.balance_minor(p_account_id, p_from, 'infinity');
        RETURN QUERY
        SELECT p_from, a.sign * v_start, true
        UNION ALL
        SELECT e.effective_at, a.sign * (v_start + sum(e.amount) OVER w)::bigint, true
        FROM ledger.entries e
        WHERE e.account_id = p_account_id AND e.effective_at > p_from AND e.effective_at <= p_to
        WINDOW w AS (ORDER BY e.effective_at, e.account_seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
        RETURN;
    END IF;
    v_step := (p_to - p_from) / (p_samples - 1);
    RETURN QUERY
    SELECT b.at, a.sign * b.balance, false
    FROM ledger.balances_at(p_account_id,
                            ARRAY(SELECT least(p_from + i * v_step, p_to) FROM generate_series(0, p_samples - 1) i)) b
    ORDER BY b.at;
END
$$;

-- Markers for the chart: reversals, reversed entries and backdated entries of the account
-- effective in [p_from, p_to], at most p_limit of each kind (earliest first), each with the
-- balance after it in effective order (normal side).
CREATE FUNCTION ledger.balance_markers(p_account_id bigint, p_from timestamptz, p_to timestamptz, p_limit integer DEFAULT 500)
RETURNS TABLE (at timestamptz, marker text, transaction_id bigint, account_seq bigint, balance_minor bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
SET jit = off
AS $$
DECLARE
    a record;
BEGIN
    PERFORM access.check_session();
    SELECT * INTO a FROM ledger.timeline_account(p_account_id);
    RETURN QUERY
    -- Reversals are few ledger-wide (and indexed by "reverses"): start from them, never
    -- from the account's entries (which may be millions).
    WITH reversals AS MATERIALIZED (
        SELECT t.id, t.reverses FROM ledger.transactions t WHERE t.reverses IS NOT NULL),
    picked AS (
        (SELECT e.effective_at, 'reversal'::text AS marker, e.transaction_id, e.account_seq
         FROM reversals r
         JOIN ledger.entries e ON e.transaction_id = r.id AND e.account_id = p_account_id
         WHERE e.effective_at BETWEEN p_from AND p_to
         ORDER BY e.effective_at LIMIT p_limit)
        UNION ALL
        (SELECT e.effective_at, 'reversed'::text, e.transaction_id, e.account_seq
         FROM reversals r
         JOIN ledger.entries e ON e.transaction_id = r.reverses AND e.account_id = p_account_id
         WHERE e.effective_at BETWEEN p_from AND p_to
         ORDER BY e.effective_at LIMIT p_limit)
        UNION ALL
        (SELECT e.effective_at, 'backdated'::text, e.transaction_id, e.account_seq
         FROM ledger.entries e
         WHERE e.account_id = p_account_id
           AND e.recorded_at - e.effective_at > interval '5 minutes'
           AND tstzrange(e.effective_at, e.recorded_at, '[)') && tstzrange(p_from, p_to, '[]')
           AND e.effective_at BETWEEN p_from AND p_to
         ORDER BY e.effective_at LIMIT p_limit))
    -- The balance after each marked entry: at its instant (one statement for all), less
    -- the entries of the same instant after it.
    , at_times AS (
        SELECT b.at, b.balance FROM ledger.balances_at(p_account_id,
                                                       ARRAY(SELECT DISTINCT x.effective_at FROM picked x)) b)
    SELECT p.effective_at, p.marker, p.transaction_id, p.account_seq,
           a.sign * (t.balance - coalesce((SELECT sum(e.amount) FROM ledger.entries e
                                           WHERE e.account_id = p_account_id AND e.effective_at = p.effective_at
                                             AND e.account_seq > p.account_seq), 0))::bigint
    FROM picked p JOIN at_times t ON t.at = p.effective_at
    ORDER BY p.effective_at, p.marker;
END
$$;

-------------------------------------------------------------------------------------------
-- Who may call what: the console's reading groups, nobody else; never PUBLIC.
-------------------------------------------------------------------------------------------

REVOKE EXECUTE ON FUNCTION
    ledger.count_effective_by(bigint, timestamptz),
    ledger.timeline_count_before(bigint, text, timestamptz),
    ledger.from_epoch_us(bigint),
    ledger.to_epoch_us(timestamptz),
    ledger.effective_seq_at(bigint, bigint),
    ledger.effective_balance_after(bigint, timestamptz, bigint),
    ledger.balances_at(bigint, timestamptz[]),
    ledger.format_minor(bigint, smallint),
    ledger.timeline_account(bigint),
    ledger.check_timeline_order(text),
    ledger.open_account_history(text),
    ledger.timeline_window(bigint, text, timestamptz, timestamptz),
    ledger.timeline_page(bigint, text, bigint, integer, bigint),
    ledger.timeline_search(bigint, text, bigint, integer, timestamptz, timestamptz, text, text, text),
    ledger.point_in_time(bigint, timestamptz, timestamptz),
    ledger.point_in_time_entries(bigint, timestamptz, timestamptz, integer),
    ledger.transaction_detail(bigint),
    ledger.balance_series(bigint, timestamptz, timestamptz, integer),
    ledger.balance_markers(bigint, timestamptz, timestamptz, integer)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    ledger.open_account_history(text),
    ledger.timeline_window(bigint, text, timestamptz, timestamptz),
    ledger.timeline_page(bigint, text, bigint, integer, bigint),
    ledger.timeline_search(bigint, text, bigint, integer, timestamptz, timestamptz, text, text, text),
    ledger.point_in_time(bigint, timestamptz, timestamptz),
    ledger.point_in_time_entries(bigint, timestamptz, timestamptz, integer),
    ledger.transaction_detail(bigint),
    ledger.balance_series(bigint, timestamptz, timestamptz, integer),
    ledger.balance_markers(bigint, timestamptz, timestamptz, integer)
TO console_operator, console_supervisor, console_auditor, console_compliance;
