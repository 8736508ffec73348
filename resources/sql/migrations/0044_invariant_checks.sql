-- Step 12, operations health: the ledger's invariants, checked by the database over the
-- whole ledger and recorded (ledgerctl check; a scheduled job can run it).
--
-- ledger.invariant_results() runs every check, in a fixed order, and returns one row per
-- invariant: its name, a sentence saying what holds, whether it held, how many rows it looked
-- at, how many failed, the first failure in words, and the seconds it took:
--   transactions_balanced  every transaction with entries sums to zero per currency and has
--                          at least two entries
--   no_orphans             no entry without its transaction or account, no transaction
--                          without entries
--   entry_currency         every entry is in its account's currency
--   running_balances       per account, sequence numbers run 1..n, recorded time never goes
--                          back along them, each running balance is the sum up to its entry
--   heads                  every account has a head, equal to its entries (count, balance,
--                          last recorded time)
--   no_forbidden_negative  no account that forbids it was ever below zero on its normal side
--                          after a transaction
--   trial_balance_zero     all entries sum to zero per currency
--   reversal_links         every reversal mirrors its original, and every approved reversal
--                          request names a reversal of its transaction (and a rebooking)
--   ledger_digests         every transaction's rows equal the digest the audit chain holds
--                          (ledger.verify_ledger_unrecorded, 0030)
--   audit_chain            the audit hash chain verifies (audit.verify_chain_unrecorded)
--   audit_sealed           no committed audit event stays out of the chain: none older than
--                          a minute unsealed, none below the sealer's floor (0019). A commit
--                          that lost the race for the chain, or a REPEATABLE READ one, leaves
--                          its events to the next commit or the sealer job (pg_cron, or
--                          ledgerctl audit seal): on an idle ledger without that job they
--                          stay out, and this check says so (not sealed here: the check
--                          leaves the chain to the sealer)
--   pit_spans              the point-in-time span tree (0018) weighs what the late and
--                          future-dated entries weigh, per account and kind
--   reporting_buckets      the balance buckets (0016) equal the entries up to each account's
--                          mark, per hour, and the days equal their hours
--   source_positions       every dead letter lies below its partition's position, and the
--                          trigger that keeps positions from moving back is in place
-- Each failure names the first offending row (ids, codes, amounts), so that the operator
-- knows where to look. On a reporting store the ledger checks are not run (its rows are the
-- ledger's copy); reporting.check_store() checks the store's own aggregates instead.
--
-- ledger.check_invariants(store) is what auditors and the maintenance job call: it runs the
-- checks, appends a row to ledger.invariant_checks (append-only) and records a
-- 'ledger.checked' audit event. `store` is what reporting.check_store() returned on the
-- reporting store, passed on by the client to be kept with the run (marked as reported).
SET LOCAL ROLE ledger_owner;

CREATE TYPE ledger.invariant_result AS (
    invariant     text,
    title         text,
    ok            boolean,
    checked       bigint,
    failures      bigint,
    first_failure text,
    seconds       numeric
);

CREATE TABLE ledger.invariant_checks (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    checked_by text        NOT NULL,
    ok         boolean     NOT NULL,
    failed     text[]      NOT NULL,
    results    jsonb       NOT NULL,
    seconds    numeric     NOT NULL,
    event_id   bigint      NOT NULL
);
COMMENT ON TABLE ledger.invariant_checks IS
    'One row per run of ledger.check_invariants (0044): which invariants failed, every result, and the audit event that records the run. Append-only.';
CREATE TRIGGER invariant_checks_append_only BEFORE UPDATE OR DELETE ON ledger.invariant_checks
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER invariant_checks_no_truncate BEFORE TRUNCATE ON ledger.invariant_checks
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.invariant_checks ENABLE ALWAYS TRIGGER invariant_checks_append_only;
ALTER TABLE ledger.invariant_checks ENABLE ALWAYS TRIGGER invariant_checks_no_truncate;
CREATE INDEX invariant_checks_by_time ON ledger.invariant_checks (checked_at);

-- Positions move forward only (0043's ledger.ingest_source_batch takes the greatest): a
-- position moved back would make a consumer post again what it took, and idempotency keys
-- would be the only guard left.
CREATE FUNCTION ledger.keep_positions_forward() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.source <> OLD.source OR NEW.topic <> OLD.topic OR NEW.partition <> OLD.partition
       OR NEW.next_offset < OLD.next_offset OR NEW.events < OLD.events THEN
        RAISE EXCEPTION 'A source position moves forward only (% %/%: % to %)', OLD.source, OLD.topic, OLD.partition,
            OLD.next_offset, NEW.next_offset
            USING ERRCODE = 'LG094';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER source_positions_forward BEFORE UPDATE ON ledger.source_positions
    FOR EACH ROW EXECUTE FUNCTION ledger.keep_positions_forward();
CREATE TRIGGER source_positions_no_delete BEFORE DELETE OR TRUNCATE ON ledger.source_positions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.source_positions ENABLE ALWAYS TRIGGER source_positions_forward;
ALTER TABLE ledger.source_positions ENABLE ALWAYS TRIGGER source_positions_no_delete;

CREATE FUNCTION ledger.invariant_results() RETURNS SETOF ledger.invariant_result
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET work_mem = '64MB'
SET jit = off
AS $$
DECLARE
    res ledger.invariant_result;
    v_t timestamptz := clock_timestamp();
    v_ledger ledger.ledger_verification;
    v_chain audit.verification;
    v_n bigint;
    v_failures bigint;
    v_first text;
    v_n2 bigint;
    v_failures2 bigint;
    v_first2 text;
    v_n3 bigint;
    v_failures3 bigint;
    v_first3 text;
BEGIN
    IF reporting.is_store() THEN
        RAISE EXCEPTION 'This is a reporting store: the ledger''s invariants are checked on the ledger'
            USING ERRCODE = '55000', HINT = 'Run ledgerctl check against the ledger, with --reporting-dsn for the store.';
    END IF;

    -- One pass over the entries grouped by transaction and currency gives the per
    -- transaction sums and, added up, the per currency ones.
    WITH legs AS MATERIALIZED (
        SELECT e.transaction_id, e.currency, sum(e.amount) AS net, count(*) AS n
        FROM ledger.entries e GROUP BY e.transaction_id, e.currency
    ), per_tx AS (
        SELECT l.transaction_id, sum(l.n) AS n,
               (array_agg(l.currency ORDER BY l.currency) FILTER (WHERE l.net <> 0))[1] AS off_currency,
               (array_agg(l.net ORDER BY l.currency) FILTER (WHERE l.net <> 0))[1] AS off_net
        FROM legs l GROUP BY l.transaction_id
    ), bad AS (
        SELECT p.transaction_id,
               CASE WHEN p.off_currency IS NOT NULL THEN
                        format('transaction %s: its %s entries sum to %s, not zero', p.transaction_id,
                               p.off_currency, ledger.format_amount(p.off_net::bigint, p.off_currency))
                    ELSE format('transaction %s has %s entry; a transaction has at least two', p.transaction_id, p.n)
               END AS reason
        FROM per_tx p WHERE p.off_currency IS NOT NULL OR p.n < 2
    ), currencies AS (
        SELECT l.currency, sum(l.net) AS net FROM legs l GROUP BY l.currency
    )
    SELECT (SELECT count(*) FROM per_tx), (SELECT count(*) FROM bad),
           (SELECT b.reason FROM bad b ORDER BY b.transaction_id LIMIT 1),
           (SELECT count(*) FROM currencies), (SELECT count(*) FROM currencies c WHERE c.net <> 0),
           (SELECT format('the %s entries sum to %s, not zero', c.currency, ledger.format_amount(c.net::bigint, c.currency))
            FROM currencies c WHERE c.net <> 0 ORDER BY c.currency LIMIT 1)
    INTO v_n, v_failures, v_first, v_n2, v_failures2, v_first2;
    res := ('transactions_balanced', 'every transaction sums to zero per currency and has at least two entries',
          v_failures = 0, v_n, v_failures, v_first, NULL);
    res.seconds := round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3);
    RETURN NEXT res;
    res := ('trial_balance_zero', 'all entries sum to zero per currency', v_failures2 = 0, v_n2, v_failures2, v_first2, 0);
    RETURN NEXT res;

    v_t := clock_timestamp();
    WITH bad AS (
        SELECT e.id AS entry_id, format('entry %s names transaction %s, which is not in the ledger', e.id, e.transaction_id) AS reason
        FROM ledger.entries e WHERE NOT EXISTS (SELECT 1 FROM ledger.transactions t WHERE t.id = e.transaction_id)
        UNION ALL
        SELECT e.id, format('entry %s names account %s, which is not in the ledger', e.id, e.account_id)
        FROM ledger.entries e WHERE NOT EXISTS (SELECT 1 FROM ledger.accounts a WHERE a.id = e.account_id)
        UNION ALL
        SELECT -t.id, format('transaction %s has no entries', t.id)
        FROM ledger.transactions t WHERE NOT EXISTS (SELECT 1 FROM ledger.entries e WHERE e.transaction_id = t.id)
    )
    SELECT count(*), (array_agg(b.reason ORDER BY abs(b.entry_id)))[1] INTO v_failures, v_first FROM bad b;
    SELECT count(*) INTO v_n FROM ledger.transactions;
    res := ('no_orphans', 'no entry without its transaction or account, no transaction without entries',
          v_failures = 0, v_n, v_failures, v_first, round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    v_t := clock_timestamp();
    SELECT count(*), count(*) FILTER (WHERE a.currency <> e.currency),
           (array_agg(format('entry %s (transaction %s) is in %s; its account %s holds %s', e.id, e.transaction_id,
                             e.currency, a.code, a.currency) ORDER BY e.id) FILTER (WHERE a.currency <> e.currency))[1]
    INTO v_n, v_failures, v_first
    FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id;
    res := ('entry_currency', 'every entry is in its account''s currency', v_failures = 0, v_n, v_failures, v_first,
          round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    -- One pass in account order for the running balances, the heads and the no-negative
    -- rule (checked on every running balance, as the posting functions check it).
    v_t := clock_timestamp();
    WITH run AS (
        SELECT e.account_id, e.account_seq, e.amount, e.balance_after, e.recorded_at,
               row_number() OVER w AS n, sum(e.amount) OVER w AS running, lag(e.recorded_at) OVER w AS previous,
               e.transaction_id,
               -- The last of its transaction's entries on the account: the posting functions
               -- judge the balance per transaction (two legs on one account may pass below
               -- zero between them).
               lead(e.transaction_id) OVER w IS DISTINCT FROM e.transaction_id AS closes
        FROM ledger.entries e
        WINDOW w AS (PARTITION BY e.account_id ORDER BY e.account_seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ), per_account AS MATERIALIZED (
        SELECT r.account_id, count(*) AS n, sum(r.amount) AS total, max(r.recorded_at) AS last_recorded,
               min(r.account_seq) FILTER (WHERE r.account_seq <> r.n) AS seq_gap,
               min(r.account_seq) FILTER (WHERE r.balance_after <> r.running) AS balance_off,
               min(r.account_seq) FILTER (WHERE r.recorded_at < r.previous) AS time_back,
               min(r.balance_after) FILTER (WHERE r.closes) AS lowest,
               max(r.balance_after) FILTER (WHERE r.closes) AS highest,
               (array_agg(r.transaction_id ORDER BY r.balance_after) FILTER (WHERE r.closes AND r.balance_after < 0))[1] AS lowest_tx,
               (array_agg(r.transaction_id ORDER BY r.balance_after DESC) FILTER (WHERE r.closes AND r.balance_after > 0))[1] AS highest_tx
        FROM run r GROUP BY r.account_id
    ), running_bad AS (
        SELECT p.account_id,
               CASE WHEN p.seq_gap IS NOT NULL THEN
                        format('account %s: its entry sequence numbers are not 1..%s (entry %s is out of place)',
                               a.code, p.n, p.seq_gap)
                    WHEN p.balance_off IS NOT NULL THEN
                        format('account %s: the running balance of its entry %s is not the sum of the amounts up to it',
                               a.code, p.balance_off)
                    ELSE format('account %s: its entry %s was recorded before the entry ahead of it', a.code, p.time_back)
               END AS reason
        FROM per_account p LEFT JOIN ledger.accounts a ON a.id = p.account_id
        WHERE p.seq_gap IS NOT NULL OR p.balance_off IS NOT NULL OR p.time_back IS NOT NULL
    ), head_bad AS (
        SELECT coalesce(h.account_id, p.account_id, a.id) AS account_id,
               CASE WHEN h.account_id IS NULL THEN format('account %s has no head', a.code)
                    WHEN h.last_seq <> coalesce(p.n, 0) THEN
                        format('account %s: its head counts %s entries; the ledger holds %s', a.code, h.last_seq, coalesce(p.n, 0))
                    WHEN h.balance <> coalesce(p.total, 0) THEN
                        format('account %s: its head says %s %s; its entries add up to %s %s', a.code,
                               ledger.format_amount(h.balance, a.currency), a.currency,
                               ledger.format_amount(coalesce(p.total, 0)::bigint, a.currency), a.currency)
                    ELSE format('account %s: its head''s last recorded time is not that of its last entry', a.code)
               END AS reason
        FROM ledger.accounts a
        FULL JOIN ledger.account_heads h ON h.account_id = a.id
        LEFT JOIN per_account p ON p.account_id = coalesce(h.account_id, a.id)
        WHERE h.account_id IS NULL OR h.last_seq <> coalesce(p.n, 0) OR h.balance <> coalesce(p.total, 0)
           OR (p.n IS NOT NULL AND h.last_recorded_at <> p.last_recorded)
    ), negative_bad AS (
        SELECT p.account_id,
               format('account %s forbids a negative balance, but after transaction %s it stood at %s %s on its %s side',
                      a.code, CASE WHEN a.normal_side = 'debit' THEN p.lowest_tx ELSE p.highest_tx END,
                      ledger.format_amount(CASE WHEN a.normal_side = 'debit' THEN p.lowest ELSE -p.highest END, a.currency),
                      a.currency, a.normal_side) AS reason
        FROM per_account p JOIN ledger.accounts a ON a.id = p.account_id
        WHERE NOT a.allow_negative
          AND ((a.normal_side = 'debit' AND p.lowest < 0) OR (a.normal_side = 'credit' AND p.highest > 0))
    )
    SELECT (SELECT count(*) FROM per_account),
           (SELECT count(*) FROM running_bad), (SELECT b.reason FROM running_bad b ORDER BY b.account_id LIMIT 1),
           (SELECT count(*) FROM head_bad), (SELECT b.reason FROM head_bad b ORDER BY b.account_id LIMIT 1),
           (SELECT count(*) FROM negative_bad), (SELECT b.reason FROM negative_bad b ORDER BY b.account_id LIMIT 1)
    INTO v_n, v_failures, v_first, v_failures2, v_first2, v_failures3, v_first3;
    res := ('running_balances', 'per account, sequence numbers run 1..n, recorded time never goes back along them, and each running balance is the sum up to its entry',
          v_failures = 0, v_n, v_failures, v_first, round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;
    SELECT count(*) INTO v_n2 FROM ledger.accounts;
    res := ('heads', 'every account has a head equal to its entries (count, balance, last recorded time)',
          v_failures2 = 0, v_n2, v_failures2, v_first2, 0);
    RETURN NEXT res;
    res := ('no_forbidden_negative', 'no account that forbids it was ever below zero on its normal side',
          v_failures3 = 0, v_n, v_failures3, v_first3, 0);
    RETURN NEXT res;

    v_t := clock_timestamp();
    WITH mirror_bad AS (
        SELECT r.id AS tx, format('reversal %s does not mirror transaction %s (accounts and amounts negated)', r.id, r.reverses) AS reason
        FROM ledger.transactions r
        WHERE r.reverses IS NOT NULL AND EXISTS (
            (SELECT e.account_id, e.currency, -e.amount FROM ledger.entries e WHERE e.transaction_id = r.reverses
             EXCEPT ALL
             SELECT e.account_id, e.currency, e.amount FROM ledger.entries e WHERE e.transaction_id = r.id)
            UNION ALL
            (SELECT e.account_id, e.currency, e.amount FROM ledger.entries e WHERE e.transaction_id = r.id
             EXCEPT ALL
             SELECT e.account_id, e.currency, -e.amount FROM ledger.entries e WHERE e.transaction_id = r.reverses))
    ), decision_bad AS (
        SELECT coalesce(d.reversal_transaction_id, 0) AS tx,
               CASE WHEN t.id IS NULL OR t.reverses IS DISTINCT FROM q.transaction_id THEN
                        format('reversal request %s was approved with transaction %s, which is not a reversal of transaction %s',
                               q.id, coalesce(d.reversal_transaction_id::text, 'none'), q.transaction_id)
                    ELSE format('reversal request %s was approved with rebooking %s, which is not a rebooking',
                                q.id, d.rebook_transaction_id)
               END AS reason
        FROM ledger.reversal_decisions d
        JOIN ledger.reversal_requests q ON q.id = d.request_id
        LEFT JOIN ledger.transactions t ON t.id = d.reversal_transaction_id
        LEFT JOIN ledger.transactions b ON b.id = d.rebook_transaction_id
        WHERE d.decision = 'approved'
          AND (t.id IS NULL OR t.reverses IS DISTINCT FROM q.transaction_id
               OR (d.rebook_transaction_id IS NOT NULL AND b.kind IS DISTINCT FROM 'rebook'))
    ), bad AS (SELECT * FROM mirror_bad UNION ALL SELECT * FROM decision_bad)
    SELECT count(*), (array_agg(b.reason ORDER BY b.tx, b.reason))[1] INTO v_failures, v_first FROM bad b;
    SELECT count(*) INTO v_n FROM ledger.transactions t WHERE t.reverses IS NOT NULL;
    SELECT v_n + count(*) INTO v_n FROM ledger.reversal_decisions d WHERE d.decision = 'approved';
    res := ('reversal_links', 'every reversal mirrors its original, and every approved reversal request names a reversal of its transaction',
          v_failures = 0, v_n, v_failures, v_first, round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    v_t := clock_timestamp();
    v_ledger := ledger.verify_ledger_unrecorded();
    res := ('ledger_digests', 'every transaction''s rows equal the digest the audit chain holds for it',
          coalesce(v_ledger.transactions_broken, 0) = 0, v_ledger.transactions_checked,
          coalesce(v_ledger.transactions_broken, 0),
          CASE WHEN v_ledger.first_transaction IS NOT NULL THEN
                   format('transaction %s: %s', v_ledger.first_transaction, v_ledger.transaction_reason) END,
          round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    v_t := clock_timestamp();
    v_chain := audit.verify_chain_unrecorded();
    res := ('audit_chain', 'the audit hash chain verifies', v_chain.broken_at IS NULL, v_chain.events_checked,
          CASE WHEN v_chain.broken_at IS NULL THEN 0 ELSE 1 END,
          CASE WHEN v_chain.broken_at IS NOT NULL THEN
                   format('broken at sequence %s: %s', v_chain.broken_at, v_chain.reason) END,
          round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    v_t := clock_timestamp();
    SELECT count(*), min(e.id) INTO v_failures, v_n2
    FROM audit.events e
    WHERE e.seq IS NULL
      AND (e.occurred_at < clock_timestamp() - interval '1 minute' OR e.id < (SELECT f.floor FROM audit.seal_floor f));
    SELECT count(*) + coalesce(v_chain.events_checked, 0) INTO v_n FROM audit.events e WHERE e.seq IS NULL;
    res := ('audit_sealed', 'no committed audit event stays out of the chain (none unsealed after a minute or below the sealer''s floor)',
          v_failures = 0, v_n, v_failures,
          CASE WHEN v_failures > 0 THEN
                   format('%s audit event(s) not in the chain, the first is event %s; ledgerctl audit seal takes them in', v_failures, v_n2) END,
          round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    -- The span tree's weight (amount x whole hours) per account and kind against the
    -- spans of the late (recorded more than late_after() after their effective time) and
    -- future-dated entries; and the bounds hold the longest span and the highest level.
    v_t := clock_timestamp();
    WITH tree AS (
        SELECT s.account_id, s.kind, sum(s.amount::numeric * (2::numeric ^ s.level)) AS weight, max(s.level) AS top
        FROM ledger.span_sums s GROUP BY 1, 2
    ), spans AS (
        SELECT x.account_id, x.kind, max(x.hi - x.lo) AS span, count(*) AS n,
               sum(x.amount::numeric * greatest(0, ledger.span_hour(x.hi) - ledger.span_hour(x.lo)
                   - CASE WHEN timestamptz '1900-01-01 00:00Z' + ledger.span_hour(x.lo) * interval '1 hour' < x.lo THEN 1 ELSE 0 END)) AS weight
        FROM (SELECT e.account_id, e.amount,
                     (CASE WHEN e.effective_at > e.recorded_at THEN 'F' ELSE 'L' END)::"char" AS kind,
                     least(e.effective_at, e.recorded_at) AS lo, greatest(e.effective_at, e.recorded_at) AS hi
              FROM ledger.entries e
              WHERE e.recorded_at - e.effective_at > ledger.late_after() OR e.effective_at > e.recorded_at) x
        GROUP BY 1, 2
    ), bad AS (
        SELECT coalesce(t.account_id, s.account_id) AS account_id,
               format('account %s: its %s span tree does not match its %s entries', a.code,
                      CASE coalesce(t.kind, s.kind) WHEN 'L' THEN 'late' ELSE 'future-dated' END,
                      CASE coalesce(t.kind, s.kind) WHEN 'L' THEN 'late' ELSE 'future-dated' END) AS reason
        FROM tree t
        FULL JOIN spans s ON s.account_id = t.account_id AND s.kind = t.kind
        LEFT JOIN ledger.span_bounds b ON b.account_id = coalesce(t.account_id, s.account_id) AND b.kind = coalesce(t.kind, s.kind)
        LEFT JOIN ledger.accounts a ON a.id = coalesce(t.account_id, s.account_id)
        WHERE NOT coalesce(b.gist_only, false)
          AND (coalesce(t.weight, 0) <> coalesce(s.weight, 0) OR b.account_id IS NULL
               OR b.max_span IS DISTINCT FROM s.span OR coalesce(t.top, -1) > b.max_level)
    )
    SELECT (SELECT coalesce(sum(s.n), 0) FROM spans s), (SELECT count(*) FROM bad),
           (SELECT b.reason FROM bad b ORDER BY b.account_id LIMIT 1)
    INTO v_n, v_failures, v_first;
    res := ('pit_spans', 'the point-in-time span tree weighs what the late and future-dated entries weigh',
          v_failures = 0, v_n, v_failures, v_first, round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    -- The buckets: per account, entries and net per hour of the entries up to its mark; the
    -- days: the sums of their hours. (The running lows and highs are not recomputed here.)
    v_t := clock_timestamp();
    WITH expected AS (
        SELECT e.account_id, reporting.hour_of(e.effective_at) AS bucket, count(*) AS n, sum(e.amount) AS net
        FROM reporting.bucket_marks m
        JOIN ledger.entries e ON e.account_id = m.account_id AND e.account_seq <= m.through_seq
        GROUP BY 1, 2
    ), hour_bad AS (
        SELECT coalesce(x.account_id, b.account_id) AS account_id, coalesce(x.bucket, b.bucket) AS bucket
        FROM expected x
        FULL JOIN (SELECT b.* FROM reporting.balance_buckets b
                   WHERE EXISTS (SELECT 1 FROM reporting.bucket_marks m WHERE m.account_id = b.account_id)) b
               ON b.account_id = x.account_id AND b.bucket = x.bucket
        WHERE x.n IS DISTINCT FROM b.entries::bigint OR x.net IS DISTINCT FROM b.net
    ), day_bad AS (
        SELECT coalesce(h.account_id, d.account_id) AS account_id, coalesce(h.day, d.day) AS bucket
        FROM (SELECT b.account_id, reporting.day_of(b.bucket) AS day, sum(b.entries) AS n, sum(b.net) AS net
              FROM reporting.balance_buckets b GROUP BY 1, 2) h
        FULL JOIN reporting.balance_days d ON d.account_id = h.account_id AND d.day = h.day
        WHERE h.n IS DISTINCT FROM d.entries::numeric OR h.net IS DISTINCT FROM d.net::numeric
    ), bad AS (
        SELECT b.account_id, b.bucket, 'hour' AS what FROM hour_bad b
        UNION ALL SELECT b.account_id, b.bucket, 'day' FROM day_bad b
    )
    SELECT (SELECT count(*) FROM reporting.bucket_marks), count(*),
           (array_agg(format('account %s: its balance bucket for the %s from %s does not match its entries', a.code, b.what,
                             to_char(b.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'))
                      ORDER BY b.account_id, b.bucket, b.what))[1]
    INTO v_n, v_failures, v_first
    FROM bad b LEFT JOIN ledger.accounts a ON a.id = b.account_id;
    res := ('reporting_buckets', 'the balance buckets equal the entries up to each account''s mark, and each day the sum of its hours',
          v_failures = 0, v_n, v_failures, v_first, round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    v_t := clock_timestamp();
    WITH bad AS (
        SELECT d.id, format('dead letter %s (%s %s/%s offset %s) lies at or beyond its partition''s position (%s)', d.id,
                            d.source, d.topic, d.partition, d.kafka_offset, coalesce(p.next_offset::text, 'none')) AS reason
        FROM ledger.dead_letters d
        LEFT JOIN ledger.source_positions p ON p.source = d.source AND p.topic = d.topic AND p.partition = d.partition
        WHERE p.next_offset IS NULL OR d.kafka_offset >= p.next_offset
        UNION ALL
        SELECT NULL::bigint, format('the trigger %s on ledger.source_positions is missing or not enabled always', n.name)
        FROM (VALUES ('source_positions_forward'), ('source_positions_no_delete')) n (name)
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                          WHERE t.tgrelid = 'ledger.source_positions'::regclass AND t.tgname = n.name AND t.tgenabled = 'A')
    )
    SELECT count(*), (array_agg(b.reason ORDER BY b.id NULLS LAST, b.reason))[1] INTO v_failures, v_first FROM bad b;
    SELECT count(*) INTO v_n FROM ledger.source_positions;
    res := ('source_positions', 'every dead letter lies below its partition''s position, and positions only move forward',
          v_failures = 0, v_n, v_failures, v_first, round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;
END
$$;

-- What a reporting store reports of itself: its aggregates (0036, 0039) against its copy of
-- the entries. Called on the store by the client (ledgerctl check --reporting-dsn).
CREATE FUNCTION reporting.check_store(p_max_lag_seconds integer DEFAULT 300) RETURNS SETOF ledger.invariant_result
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
SET work_mem = '256MB'
SET jit = off
AS $$
DECLARE
    res ledger.invariant_result;
    v_t timestamptz := clock_timestamp();
    v_n bigint;
    v_failures bigint;
    v_first text;
    v_heard timestamptz;
BEGIN
    PERFORM access.check_session();
    IF p_max_lag_seconds IS NULL OR p_max_lag_seconds NOT BETWEEN 1 AND 2678400 THEN
        RAISE EXCEPTION 'A lag allowed is 1 s to 31 days, not %', p_max_lag_seconds USING ERRCODE = 'LG094';
    END IF;
    IF NOT reporting.is_store() THEN
        RAISE EXCEPTION 'Not a reporting store: --reporting-dsn names the ledger itself'
            USING ERRCODE = '55000', HINT = 'Leave out --reporting-dsn where the ledger serves the reports.';
    END IF;
    -- Read as of one snapshot while the apply worker goes on.
    WITH days AS (
        SELECT e.account_id, (e.effective_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n,
               coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) AS debits,
               coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) AS credits
        FROM ledger.entries e GROUP BY 1, 2
    ), day_bad AS (
        SELECT coalesce(x.account_id, d.account_id) AS account_id, coalesce(x.day, d.day) AS day, 'daily totals' AS what
        FROM days x FULL JOIN reporting.daily_totals d ON d.account_id = x.account_id AND d.day = x.day
        WHERE x.n IS DISTINCT FROM d.entries OR x.debits IS DISTINCT FROM d.debits_minor::numeric
           OR x.credits IS DISTINCT FROM d.credits_minor::numeric
    ), total_bad AS (
        SELECT coalesce(x.account_id, t.account_id), NULL::date, 'totals'
        FROM (SELECT s.account_id, sum(s.n) AS n, sum(s.debits - s.credits) AS net FROM days s GROUP BY 1) x
        FULL JOIN reporting.account_totals t ON t.account_id = x.account_id
        WHERE x.n IS DISTINCT FROM t.entries::numeric OR x.net IS DISTINCT FROM t.net_minor::numeric
    ), currency_bad AS (
        SELECT NULL::bigint, coalesce(x.day, c.day), format('%s volumes', coalesce(x.currency, c.currency))
        FROM (SELECT (e.effective_at AT TIME ZONE 'UTC')::date AS day, e.currency, count(*) AS n,
                     coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) AS debits,
                     coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) AS credits
              FROM ledger.entries e GROUP BY 1, 2) x
        FULL JOIN reporting.currency_days c ON c.day = x.day AND c.currency = x.currency
        WHERE x.n IS DISTINCT FROM c.entries OR x.debits IS DISTINCT FROM c.debits_minor::numeric
           OR x.credits IS DISTINCT FROM c.credits_minor::numeric
    ), snapshot_bad AS (
        SELECT coalesce(x.account_id, b.account_id), coalesce(x.as_of, b.as_of), 'month-end snapshot'
        FROM (SELECT s.as_of, d.account_id, sum(d.n) AS n, sum(d.debits - d.credits) AS net
              FROM reporting.snapshot_dates s JOIN days d ON d.day <= s.as_of GROUP BY 1, 2) x
        FULL JOIN reporting.balance_snapshots b ON b.as_of = x.as_of AND b.account_id = x.account_id
        WHERE x.n IS DISTINCT FROM b.entries::numeric OR x.net IS DISTINCT FROM b.net_minor::numeric
    ), bad AS (
        SELECT * FROM day_bad UNION ALL SELECT * FROM total_bad UNION ALL SELECT * FROM currency_bad
        UNION ALL SELECT * FROM snapshot_bad
    )
    SELECT count(*),
           (array_agg(format('the store''s %s%s%s do not match its entries', b.what,
                             CASE WHEN b.account_id IS NOT NULL THEN ' of account ' || coalesce(a.code, b.account_id::text) END,
                             CASE WHEN b.day IS NOT NULL THEN ' for ' || b.day END)
                      ORDER BY b.what, b.account_id, b.day))[1]
    INTO v_failures, v_first
    FROM bad b LEFT JOIN ledger.accounts a ON a.id = b.account_id;
    SELECT count(*) INTO v_n FROM reporting.daily_totals;
    res := ('store_aggregates', 'the reporting store''s totals, volumes and snapshots equal its copy of the entries',
          v_failures = 0, v_n, v_failures, v_first, round(extract(epoch FROM clock_timestamp() - v_t)::numeric, 3));
    RETURN NEXT res;

    SELECT s.replicated_at INTO v_heard FROM reporting.store_state() s;
    res := ('store_in_step', format('the reporting store heard from the ledger within the last %s s', p_max_lag_seconds),
          v_heard IS NOT NULL AND v_heard >= clock_timestamp() - make_interval(secs => p_max_lag_seconds), 1, 0,
          NULL, 0);
    IF NOT res.ok THEN
        res.failures := 1;
        res.first_failure := CASE WHEN v_heard IS NULL THEN 'the reporting store has not heard from the ledger (no subscription worker reports)'
                                ELSE format('the reporting store last heard from the ledger at %s, %s s ago',
                                            to_char(v_heard AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
                                            round(extract(epoch FROM clock_timestamp() - v_heard))) END;
    END IF;
    RETURN NEXT res;
END
$$;

-- Runs the checks and records the run. p_store: reporting.check_store()'s rows as a JSON
-- array (at most a few), kept with the run as the client reported them.
CREATE FUNCTION ledger.check_invariants(p_store jsonb DEFAULT NULL) RETURNS SETOF ledger.invariant_result
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_results ledger.invariant_result[];
    v_store ledger.invariant_result[];
    v_all jsonb;
    v_failed text[];
    v_event bigint;
    v_item jsonb;
    v_key text;
BEGIN
    PERFORM access.check_session();
    -- One run at a time: each reads the whole ledger.
    IF NOT pg_try_advisory_xact_lock(hashtext('ledger.check_invariants')) THEN
        RAISE EXCEPTION 'A check of the invariants is running already' USING ERRCODE = 'LG094',
            HINT = 'Wait for it to end (ledgerctl check --history shows the runs), then run again.';
    END IF;
    IF p_store IS NOT NULL THEN
        IF jsonb_typeof(p_store) IS DISTINCT FROM 'array' OR jsonb_array_length(p_store) NOT BETWEEN 1 AND 8
           OR pg_column_size(p_store) > 8192 THEN
            RAISE EXCEPTION 'The reporting store''s results are a JSON array of 1 to 8 small objects' USING ERRCODE = 'LG094';
        END IF;
        FOR v_item IN SELECT jsonb_array_elements(p_store) LOOP
            IF jsonb_typeof(v_item) IS DISTINCT FROM 'object' THEN
                RAISE EXCEPTION 'Each reporting store result is a JSON object' USING ERRCODE = 'LG094';
            END IF;
            FOR v_key IN SELECT jsonb_object_keys(v_item) LOOP
                IF v_key NOT IN ('invariant', 'title', 'ok', 'checked', 'failures', 'first_failure', 'seconds') THEN
                    RAISE EXCEPTION 'Unknown field "%" in a reporting store result', left(v_key, 40) USING ERRCODE = 'LG094';
                END IF;
            END LOOP;
        END LOOP;
        BEGIN
            SELECT array_agg(x ORDER BY o) INTO v_store
            FROM jsonb_array_elements(p_store) WITH ORDINALITY j (v, o),
                 LATERAL jsonb_populate_record(NULL::ledger.invariant_result, j.v) x;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'A reporting store result holds a name, a title, ok, counts and a short text' USING ERRCODE = 'LG094';
        END;
        IF EXISTS (SELECT 1 FROM unnest(v_store) s
                   WHERE s.invariant NOT IN ('store_aggregates', 'store_in_step') OR s.invariant IS NULL OR s.ok IS NULL OR s.checked IS NULL
                      OR s.failures IS NULL OR s.checked < 0 OR s.failures < 0 OR s.ok <> (s.failures = 0)
                      OR length(s.title) > 200 OR length(s.first_failure) > 500 OR (s.first_failure IS NULL) <> s.ok
                      OR ledger.has_control_characters(coalesce(s.title, '') || coalesce(s.first_failure, ''))) THEN
            RAISE EXCEPTION 'A reporting store result needs its name (store_aggregates or store_in_step), ok, the counts, and a first failure exactly when it failed'
                USING ERRCODE = 'LG094';
        END IF;
        IF (SELECT count(DISTINCT s.invariant) FROM unnest(v_store) s) <> cardinality(v_store) THEN
            RAISE EXCEPTION 'The reporting store''s results name each invariant once' USING ERRCODE = 'LG094';
        END IF;
    END IF;

    SELECT array_agg(x) INTO v_results FROM ledger.invariant_results() x;
    SELECT jsonb_agg(to_jsonb(x) || CASE WHEN x.invariant LIKE 'store\_%' THEN '{"reported": true}'::jsonb ELSE '{}' END),
           coalesce(array_agg(x.invariant) FILTER (WHERE NOT x.ok), '{}')
    INTO v_all, v_failed
    FROM unnest(v_results || coalesce(v_store, '{}')) x;
    v_event := audit.record('ledger.checked', 'ledger', NULL,
                            jsonb_build_object('ok', cardinality(v_failed) = 0, 'failed', to_jsonb(v_failed),
                                               'invariants', jsonb_array_length(v_all),
                                               'first_failure', (SELECT x.first_failure FROM unnest(v_results || coalesce(v_store, '{}')) x
                                                                 WHERE NOT x.ok LIMIT 1)));
    INSERT INTO ledger.invariant_checks (checked_by, ok, failed, results, seconds, event_id)
    VALUES (audit.current_operator(), cardinality(v_failed) = 0, v_failed, v_all,
            round(extract(epoch FROM clock_timestamp() - v_started)::numeric, 3), v_event);
    RETURN QUERY SELECT * FROM unnest(v_results || coalesce(v_store, '{}'));
END
$$;

-- The latest runs (newest first): for the health panel and `ledgerctl check --history`.
CREATE FUNCTION ledger.invariant_check_list(p_limit integer DEFAULT 20)
RETURNS TABLE (id bigint, checked_at timestamptz, checked_by text, ok boolean, failed text[], seconds numeric,
               event_id bigint, results jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'A list has 1 to 1000 rows, not %', p_limit USING ERRCODE = 'LG094';
    END IF;
    RETURN QUERY
    SELECT c.id, c.checked_at, c.checked_by, c.ok, c.failed, c.seconds, c.event_id, c.results
    FROM ledger.invariant_checks c ORDER BY c.id DESC LIMIT p_limit;
END
$$;

REVOKE ALL ON ledger.invariant_checks FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger.keep_positions_forward(), ledger.invariant_results(), reporting.check_store(integer),
    ledger.check_invariants(jsonb), ledger.invariant_check_list(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.check_invariants(jsonb), ledger.invariant_check_list(integer), reporting.check_store(integer)
    TO console_auditor, console_compliance;
