-- Step 12: events of one entity (an account, an invoice) are applied in the entity's order.
--
-- An event may name its entity and its number in the entity's sequence:
--   "entity": "invoice-2026-0042"   (1 to 200 characters on one line)
--   "entity_seq": 3                 (a whole number; an entity's first event is 1)
-- (both or neither). Events without them are applied in the order they come, as before.
--
-- ledger.entity_sequences keeps, per entity, the last number applied (posted, or found
-- posted). An event is applied only when it is the next number:
--   * the next one (last + 1): applied; then every event of the entity waiting with the
--     numbers after it, in order, in the same transaction.
--   * a later one, from a stream (ledger.ingest_source_batch): held in ledger.held_events,
--     with where it came from and its payload as it came, until its predecessor lands.
--     ledger.expire_held_events(max_age, source) parks holds older than max_age as dead letters
--     (LG097, with the held event's own source, partition and offset), never drops them.
--   * a later one, from a file or a dead letter's retry (ledger.ingest_events): refused
--     with LG097 naming the number it waits for (there is no stream position to hold it
--     under). Within one call, events of an entity are put in their order first, so a file
--     whose lines are shuffled within a batch posts as if they were not.
--   * an earlier or equal one (a replay): answered as the duplicate it is when its event
--     was posted; a new event under a number the entity has passed is refused (LG097: it
--     came after its successors), never applied out of order.
-- An event refused by the posting rules (an unknown account, a bad amount) does not take
-- its number: its successors wait (or are refused) until it is retried and posts, or an
-- operator moves the entity past it with ledger.skip_entity_events(entity, to, reason)
-- (audited). Two copies of one number with different event ids: the first is taken, the
-- other refused (LG097).
-- All of an entity's changes (its number, its holds) happen under the lock of its
-- ledger.entity_sequences row, taken in entity order, so consumers of different partitions
-- that meet the same entity queue rather than race.
SET LOCAL ROLE ledger_owner;

CREATE TABLE ledger.entity_sequences (
    entity     text        PRIMARY KEY CHECK (length(entity) BETWEEN 1 AND 200),
    last_seq   bigint      NOT NULL CHECK (last_seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE ledger.entity_sequences IS
    'Per entity named by ingested events, the last sequence number applied (0050).';

CREATE TABLE ledger.held_events (
    entity          text        NOT NULL,
    entity_seq      bigint      NOT NULL CHECK (entity_seq >= 2),
    event_id        text,
    source          text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    contra_template text,
    held_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    payload         text        NOT NULL,
    PRIMARY KEY (entity, entity_seq),
    UNIQUE (source, topic, partition, kafka_offset)
);
CREATE INDEX held_events_held_at ON ledger.held_events (held_at);
COMMENT ON TABLE ledger.held_events IS
    'Stream events waiting for their entity''s earlier numbers, with where they came from (0050).';

-- An item of one ordered call: a batch event (ord set) or a held one (ord NULL, origin set).
CREATE TYPE ledger.ordered_item AS (
    ord     integer,
    ev      jsonb,
    entity  text,
    seq     bigint,
    verdict text,   -- plain, run, copy, past, hold, held, wait, refuse
    err     text,   -- SQLSTATE and message, for refuse
    origin  jsonb,  -- held events: their row; batch events of a stream: source, topic, partition, offset, payload
    key     bigint  -- the order of application
);

-- The entity fields of one event: (entity, seq) or the reason they are unusable.
CREATE FUNCTION ledger.entity_fields(p_event jsonb, OUT entity text, OUT seq bigint, OUT error text)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(p_event) IS DISTINCT FROM 'object' OR NOT (p_event ? 'entity' OR p_event ? 'entity_seq') THEN
        RETURN;
    END IF;
    IF jsonb_typeof(p_event->'entity') IS DISTINCT FROM 'string' OR length(p_event->>'entity') NOT BETWEEN 1 AND 200
       OR ledger.has_control_characters(p_event->>'entity') THEN
        error := 'LG097entity must be a string of 1 to 200 characters on one line, given with entity_seq';
        RETURN;
    END IF;
    IF jsonb_typeof(p_event->'entity_seq') IS DISTINCT FROM 'number' OR (p_event->'entity_seq')::text !~ '^[1-9][0-9]{0,15}$'
       OR (p_event->'entity_seq')::text::bigint > 9007199254740991 THEN
        error := 'LG097entity_seq must be a whole number from 1 (the entity''s first event) to 2^53 - 1, given with entity';
        RETURN;
    END IF;
    entity := p_event->>'entity';
    seq := (p_event->'entity_seq')::text::bigint;
END
$$;

-- The ordered path under ledger.ingest_events, ledger.ingest_event, ledger.ingest_source_batch
-- and ledger.skip_entity_events. p_origins is NULL (an event that must wait is refused) or an
-- array parallel to p_events of {"source", "topic", "partition", "offset", "payload"} (it is
-- held). p_more lists entities whose held events are to be looked at even when no event of
-- the batch names them. Answers one row per event of p_events (outcome posted, duplicate,
-- rejected or held) and one row with a NULL ordinal per held event it applied (posted or
-- duplicate; one the posting rules refuse is parked as a dead letter under its own origin:
-- outcome 'parked').
CREATE FUNCTION ledger.ingest_ordered(p_events jsonb, p_contra_template text, p_origins jsonb,
                                      p_more text[] DEFAULT NULL)
RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_items ledger.ordered_item[];
    v_entities text[];
    v_array jsonb;
    v_pos integer[];
    v_res_pos integer[];
    v_res_tx bigint[];
    v_res_outcome text[];
    v_res_code text[];
    v_res_msg text[];
    v_cut integer[];
    v_template text;
    v_setting text;
BEGIN
    IF p_more IS NULL AND (jsonb_typeof(p_events) IS DISTINCT FROM 'array' OR jsonb_array_length(p_events) > ledger.max_batch_items()
       OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) e(ev)
                      WHERE jsonb_typeof(e.ev) = 'object' AND (e.ev ? 'entity' OR e.ev ? 'entity_seq'))) THEN
        RETURN QUERY SELECT * FROM ledger.ingest_events_0049(p_events, p_contra_template);
        RETURN;
    END IF;
    PERFORM ledger.check_batch(p_events, 'A batch of events must be a JSON array of event objects', 'events');
    -- A hold is seen by whoever posts its predecessor only with a snapshot taken after the
    -- entity's lock: READ COMMITTED.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'Events that name an entity are ingested in READ COMMITTED transactions only'
            USING ERRCODE = 'LG097';
    END IF;

    -- The batch's events with their entity fields (verdict NULL: to be classified).
    SELECT coalesce(array_agg(ROW(e.ord::integer, e.ev, f.entity, f.seq,
                                  CASE WHEN f.error IS NOT NULL THEN 'refuse' WHEN f.entity IS NULL THEN 'plain' END,
                                  f.error, p_origins->(e.ord::integer - 1), e.ord)::ledger.ordered_item ORDER BY e.ord), '{}')
    INTO v_items
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(ev, ord)
    CROSS JOIN LATERAL ledger.entity_fields(e.ev) f;

    -- Their entities, locked in order (created at 0 when new).
    v_entities := ARRAY(SELECT DISTINCT x FROM (SELECT i.entity FROM unnest(v_items) i WHERE i.entity IS NOT NULL
                                                UNION ALL SELECT m FROM unnest(p_more) m) y(x) ORDER BY 1);
    INSERT INTO ledger.entity_sequences (entity, last_seq)
    SELECT x, 0 FROM unnest(v_entities) x ORDER BY x
    ON CONFLICT (entity) DO NOTHING;
    PERFORM 1 FROM ledger.entity_sequences s WHERE s.entity = ANY (v_entities) ORDER BY s.entity FOR UPDATE;

    -- The entities' events, with those they hold, classified against their last numbers:
    --   run: the next numbers without a gap; copy: the same event again under a number that
    --   runs (answered as a duplicate); past: a number passed whose event was posted (a
    --   duplicate); hold / wait: a batch event after a gap, held (stream) or refused (no
    --   stream); held: stays held (or a batch copy of a held event); refuse: see the message.
    WITH c AS (
        SELECT i.ord, i.ev, i.ev AS raw, i.entity, i.seq, i.origin FROM unnest(v_items) i WHERE i.verdict IS NULL
        UNION ALL
        SELECT NULL, h.payload::jsonb
                     || CASE WHEN h.payload::jsonb ? 'contra_account' OR h.contra_template IS NULL THEN '{}'::jsonb
                             ELSE jsonb_build_object('contra_account',
                                      replace(h.contra_template, '{currency}', coalesce(upper(h.payload::jsonb->>'currency'), '')))
                        END,
               h.payload::jsonb, h.entity, h.entity_seq, to_jsonb(h)
        FROM ledger.held_events h WHERE h.entity = ANY (v_entities)
    ), k AS (
        SELECT c.*, s.last_seq,
               row_number() OVER (PARTITION BY c.entity, c.seq ORDER BY c.ord NULLS FIRST) AS copy,
               first_value(c.ev->>'event_id') OVER (PARTITION BY c.entity, c.seq ORDER BY c.ord NULLS FIRST) AS first_id,
               first_value(c.raw) OVER (PARTITION BY c.entity, c.seq ORDER BY c.ord NULLS FIRST) AS first_raw
        FROM c JOIN ledger.entity_sequences s ON s.entity = c.entity
    ), r AS (
        -- the n-th distinct number above last is last + n when there is no gap up to it
        SELECT k.*, k.seq > k.last_seq AND k.copy = 1 AND k.seq - k.last_seq
                    = row_number() OVER (PARTITION BY k.entity, k.seq > k.last_seq AND k.copy = 1 ORDER BY k.seq) AS runs
        FROM k
    ), v AS (
        SELECT r.*,
               CASE
                   WHEN r.seq <= r.last_seq THEN
                       CASE WHEN r.ord IS NULL THEN 'stale'
                            WHEN r.ev->>'event_id' IS NULL
                                 OR EXISTS (SELECT 1 FROM ledger.transactions t
                                            WHERE t.idempotency_key = 'event:' || (r.ev->>'event_id'))
                            THEN 'past' ELSE 'refuse' END
                   WHEN r.copy > 1 THEN
                       CASE WHEN r.ev->>'event_id' IS DISTINCT FROM r.first_id OR r.raw IS DISTINCT FROM r.first_raw THEN 'refuse'
                            WHEN bool_or(r.runs) OVER (PARTITION BY r.entity, r.seq) THEN 'copy'
                            WHEN p_origins IS NOT NULL THEN 'held' ELSE 'wait' END
                   WHEN r.runs THEN 'run'
                   WHEN r.ord IS NULL THEN 'held'
                   WHEN p_origins IS NOT NULL THEN 'hold'
                   ELSE 'wait'
               END AS verdict
        FROM r
    ), w AS (
        SELECT v.*,
               -- applied right after the last batch event of its run up to it (held events go
               -- right behind the predecessor that frees them; other events keep their place)
               CASE WHEN v.verdict IN ('run', 'copy') THEN
                   coalesce(max(v.ord) FILTER (WHERE v.verdict IN ('run', 'copy'))
                                OVER (PARTITION BY v.entity ORDER BY v.seq, v.copy ROWS UNBOUNDED PRECEDING), 0)
                   ELSE v.ord END AS key,
               -- the first number missing: the runs are the numbers right after the last
               v.last_seq + 1 + count(*) FILTER (WHERE v.verdict = 'run') OVER (PARTITION BY v.entity) AS missing
        FROM v
    )
    SELECT v_items || coalesce(array_agg(ROW(w.ord, w.ev, w.entity, w.seq, w.verdict,
                         CASE
                             WHEN w.verdict = 'refuse' AND w.seq <= w.last_seq THEN
                                 format('LG097Event "%s" is number %s of entity "%s", which is at %s already: it came after its successors',
                                        left(w.ev->>'event_id', 190), w.seq, w.entity, w.last_seq)
                             WHEN w.verdict = 'refuse' AND w.ev->>'event_id' IS NOT DISTINCT FROM w.first_id THEN
                                 format('LG097Event "%s" (number %s of entity "%s") came again with other content',
                                        left(w.first_id, 190), w.seq, w.entity)
                             WHEN w.verdict = 'refuse' THEN
                                 format('LG097Number %s of entity "%s" is event "%s", not "%s"',
                                        w.seq, w.entity, left(w.first_id, 190), left(w.ev->>'event_id', 190))
                             WHEN w.verdict = 'wait' THEN
                                 format('LG097Event "%s" is number %s of entity "%s", which waits for number %s: send that first',
                                        left(w.ev->>'event_id', 190), w.seq, w.entity, w.missing)
                         END,
                         w.origin, w.key)::ledger.ordered_item), '{}')
    INTO v_items
    FROM w;
    -- (the batch's entity events are in twice now: unclassified, then classified)
    v_items := ARRAY(SELECT i FROM unnest(v_items) i WHERE i.verdict IS NOT NULL);

    -- Apply what may be applied, in order. When the posting rules refuse one number of a run,
    -- the numbers after it may not be applied: undo, keep them back, and apply again.
    LOOP
        SELECT coalesce(jsonb_agg(x.ev ORDER BY x.key, x.entity NULLS FIRST, x.seq, x.ord NULLS FIRST), '[]'),
               coalesce(array_agg(x.n::integer ORDER BY x.key, x.entity NULLS FIRST, x.seq, x.ord NULLS FIRST), '{}')
        INTO v_array, v_pos
        FROM unnest(v_items) WITH ORDINALITY x(ord, ev, entity, seq, verdict, err, origin, key, n)
        WHERE x.verdict IN ('plain', 'run', 'copy', 'past');
        BEGIN
            SELECT array_agg(v_pos[r.ordinal]), array_agg(r.transaction_id), array_agg(r.outcome),
                   array_agg(r.error_code), array_agg(r.message)
            INTO v_res_pos, v_res_tx, v_res_outcome, v_res_code, v_res_msg
            FROM ledger.ingest_events_0049(v_array, p_contra_template) r;
            v_cut := ARRAY(
                SELECT x.n FROM unnest(v_items) WITH ORDINALITY x(ord, ev, entity, seq, verdict, err, origin, key, n)
                JOIN (SELECT i.entity, min(i.seq) AS bad
                      FROM unnest(v_items) WITH ORDINALITY i(ord, ev, entity, seq, verdict, err, origin, key, n)
                      JOIN unnest(v_res_pos, v_res_outcome) o(n, outcome) ON o.n = i.n
                      WHERE i.verdict = 'run' AND o.outcome = 'rejected'
                      GROUP BY i.entity) b ON b.entity = x.entity
                WHERE x.verdict IN ('run', 'copy') AND x.seq > b.bad);
            IF cardinality(v_cut) > 0 THEN
                RAISE EXCEPTION 'undo' USING ERRCODE = 'LGCUT';
            END IF;
            EXIT;
        EXCEPTION WHEN SQLSTATE 'LGCUT' THEN
            v_items := ARRAY(
                SELECT CASE WHEN x.n = ANY (v_cut) THEN
                           ROW(x.ord, x.ev, x.entity, x.seq,
                               CASE WHEN x.ord IS NULL OR (x.verdict = 'copy' AND p_origins IS NOT NULL) THEN 'held'
                                    WHEN p_origins IS NOT NULL THEN 'hold' ELSE 'wait' END,
                               format('LG097Event "%s" is number %s of entity "%s", which waits for an earlier number that was refused',
                                      left(x.ev->>'event_id', 190), x.seq, x.entity),
                               x.origin, x.key)::ledger.ordered_item
                       ELSE ROW(x.ord, x.ev, x.entity, x.seq, x.verdict, x.err, x.origin, x.key)::ledger.ordered_item END
                FROM unnest(v_items) WITH ORDINALITY x(ord, ev, entity, seq, verdict, err, origin, key, n)
                ORDER BY x.n);
        END;
    END LOOP;

    -- The entities' last numbers: every run number posted or found posted (the runs are
    -- without gaps, and nothing after a refused number was applied).
    UPDATE ledger.entity_sequences s SET last_seq = m.top, updated_at = clock_timestamp()
    FROM (SELECT x.entity, max(x.seq) AS top
          FROM unnest(v_items) WITH ORDINALITY x(ord, ev, entity, seq, verdict, err, origin, key, n)
          JOIN unnest(v_res_pos, v_res_outcome) o(n, outcome) ON o.n = x.n
          WHERE x.verdict = 'run' AND o.outcome IN ('posted', 'duplicate')
          GROUP BY x.entity) m
    WHERE s.entity = m.entity AND m.top > s.last_seq;

    -- Held events applied leave the hold; those the rules refused, or whose numbers were
    -- passed meanwhile (stale), are parked under their own origin and contra template.
    v_setting := current_setting('ledger.ingest_contra', true);
    FOR v_template IN
        SELECT DISTINCT x.origin->>'contra_template' FROM unnest(v_items) x
        WHERE x.ord IS NULL AND x.verdict IN ('run', 'stale')
    LOOP
        PERFORM set_config('ledger.ingest_contra', coalesce(v_template, ''), true);
        WITH gone AS (
            DELETE FROM ledger.held_events h
            USING unnest(v_items) WITH ORDINALITY x(ord, ev, entity, seq, verdict, err, origin, key, n)
            WHERE x.ord IS NULL AND x.verdict IN ('run', 'stale')
              AND x.origin->>'contra_template' IS NOT DISTINCT FROM v_template
              AND h.entity = x.entity AND h.entity_seq = x.seq
            RETURNING h.*, x.n, x.verdict)
        INSERT INTO ledger.dead_letters (source, topic, partition, kafka_offset, error_code, reason, payload)
        SELECT g.source, g.topic, g.partition, g.kafka_offset,
               CASE WHEN g.verdict = 'stale' THEN 'LG097' ELSE coalesce(o.code, 'LG017') END,
               left(CASE WHEN g.verdict = 'stale' THEN
                        format('Held as number %s of entity "%s", which an operator moved past it', g.entity_seq, g.entity)
                    ELSE coalesce(o.msg, 'refused') END, 1000),
               g.payload
        FROM gone g
        LEFT JOIN unnest(v_res_pos, v_res_outcome, v_res_code, v_res_msg) o(n, outcome, code, msg) ON o.n = g.n
        WHERE g.verdict = 'stale' OR o.outcome = 'rejected';
    END LOOP;
    PERFORM set_config('ledger.ingest_contra', coalesce(v_setting, ''), true);

    -- Batch events after a gap, held under their origin.
    INSERT INTO ledger.held_events (entity, entity_seq, event_id, source, topic, partition, kafka_offset,
                                    contra_template, payload)
    SELECT x.entity, x.seq, x.ev->>'event_id', x.origin->>'source', x.origin->>'topic', (x.origin->>'partition')::integer,
           (x.origin->>'offset')::bigint, p_contra_template, x.origin->>'payload'
    FROM unnest(v_items) x
    WHERE x.verdict = 'hold';

    RETURN QUERY
    SELECT x.ord, o.tx,
           CASE WHEN x.verdict IN ('hold', 'held') THEN 'held'
                WHEN x.verdict IN ('wait', 'refuse') THEN 'rejected'
                WHEN x.ord IS NULL AND x.verdict = 'stale' THEN 'parked'
                WHEN x.ord IS NULL AND o.outcome = 'rejected' THEN 'parked'
                ELSE o.outcome END,
           CASE WHEN x.verdict IN ('wait', 'refuse') THEN left(x.err, 5) WHEN x.verdict = 'stale' THEN 'LG097'
                ELSE o.code END,
           CASE WHEN x.verdict IN ('wait', 'refuse') THEN substr(x.err, 6) ELSE o.msg END
    FROM unnest(v_items) WITH ORDINALITY x(ord, ev, entity, seq, verdict, err, origin, key, n)
    LEFT JOIN unnest(v_res_pos, v_res_tx, v_res_outcome, v_res_code, v_res_msg) o(n, tx, outcome, code, msg) ON o.n = x.n
    WHERE x.ord IS NOT NULL OR x.verdict IN ('run', 'stale')
    ORDER BY x.ord NULLS LAST, x.entity, x.seq;
END
$$;

-- The batch path (files, a dead letter's retry): events that must wait are refused.
ALTER FUNCTION ledger.ingest_events(jsonb, text) RENAME TO ingest_events_0049;
REVOKE EXECUTE ON FUNCTION ledger.ingest_events_0049(jsonb, text) FROM ledger_writer;
CREATE FUNCTION ledger.ingest_events(p_events jsonb, p_contra_template text DEFAULT '1000-CASH-{currency}')
RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    RETURN QUERY SELECT * FROM ledger.ingest_ordered(p_events, p_contra_template, NULL) o WHERE o.ordinal IS NOT NULL;
END
$$;

-- The single path: an event naming its entity goes through the ordered path.
ALTER FUNCTION ledger.ingest_event(jsonb, text) RENAME TO ingest_event_0049;
REVOKE EXECUTE ON FUNCTION ledger.ingest_event_0049(jsonb, text) FROM ledger_writer;
CREATE FUNCTION ledger.ingest_event(p_event jsonb, p_contra_template text DEFAULT '1000-CASH-{currency}',
                                    OUT transaction_id bigint, OUT duplicate boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    o record;
BEGIN
    IF jsonb_typeof(p_event) = 'object' AND (p_event ? 'entity' OR p_event ? 'entity_seq') THEN
        IF pg_column_size(p_event) > ledger.max_request_bytes() THEN
            RAISE EXCEPTION 'An event is at most % bytes of JSON', ledger.max_request_bytes() USING ERRCODE = 'LG017';
        END IF;
        SELECT x.* INTO o FROM ledger.ingest_ordered(jsonb_build_array(p_event), p_contra_template, NULL) x
        WHERE x.ordinal = 1;
        IF o.outcome = 'rejected' THEN
            RAISE EXCEPTION '%', o.message USING ERRCODE = o.error_code;
        END IF;
        transaction_id := o.transaction_id;
        duplicate := o.outcome = 'duplicate';
        RETURN;
    END IF;
    SELECT e.transaction_id, e.duplicate INTO transaction_id, duplicate
    FROM ledger.ingest_event_0049(p_event, p_contra_template) e;
END
$$;

-- The stream path: as 0043 and 0045 made it, with events that must wait held under their
-- origin, and two more counts: held (this batch's events now waiting) and released (held
-- events this batch applied). A held event the posting rules then refuse counts as parked.
DROP FUNCTION ledger.ingest_source_batch(text, text, integer, jsonb, text);
DROP FUNCTION ledger.ingest_source_batch_0043(text, text, integer, jsonb, text);
CREATE FUNCTION ledger.ingest_source_batch(p_source text, p_topic text, p_partition integer, p_items jsonb,
                                           p_contra_template text DEFAULT '1000-CASH-{currency}')
RETURNS TABLE (posted integer, duplicates integer, parked integer, skipped integer, next_offset bigint,
               held integer, released integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_next bigint;
    v_first bigint;
    v_last bigint;
    v_events jsonb;
    v_origins jsonb;
    v_offsets bigint[];
    v_texts text[];
BEGIN
    PERFORM ledger.check_batch(p_items, 'A batch of messages must be a JSON array of {"offset", "event"} objects', 'messages');
    PERFORM ledger.check_source(p_source, p_topic);
    PERFORM ledger.check_length(p_contra_template, 64, 'The contra account template', 'LG017');
    IF p_partition IS NULL OR p_partition < 0 THEN
        RAISE EXCEPTION 'A partition is 0 or more, not %', p_partition USING ERRCODE = 'LG093';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_items) m
               WHERE jsonb_typeof(m) IS DISTINCT FROM 'object' OR jsonb_typeof(m->'offset') IS DISTINCT FROM 'number'
                  OR (m->>'offset')::numeric <> trunc((m->>'offset')::numeric) OR (m->>'offset')::numeric NOT BETWEEN 0 AND 9223372036854775806
                  OR (m ? 'event') = (m ? 'error') OR (m ? 'event' AND jsonb_typeof(m->'event') IS DISTINCT FROM 'string')) THEN
        RAISE EXCEPTION 'Each message is {"offset": n, "event": "<JSON text>"} or {"offset": n, "raw": "...", "error": "..."}'
            USING ERRCODE = 'LG093';
    END IF;
    SELECT min((m->>'offset')::bigint), max((m->>'offset')::bigint) INTO v_first, v_last
    FROM jsonb_array_elements(p_items) m;
    IF (SELECT count(DISTINCT (m->>'offset')::bigint) FROM jsonb_array_elements(p_items) m) <> jsonb_array_length(p_items) THEN
        RAISE EXCEPTION 'A batch names each offset once' USING ERRCODE = 'LG093';
    END IF;
    PERFORM set_config('ledger.ingest_contra', coalesce(p_contra_template, ''), true);

    -- The partition's position, locked until commit (a consumer that lost the partition
    -- but still runs waits here, then skips what the new owner took).
    INSERT INTO ledger.source_positions AS p (source, topic, partition, next_offset)
    VALUES (p_source, p_topic, p_partition, coalesce(v_first, 0))
    ON CONFLICT ON CONSTRAINT source_positions_pkey DO NOTHING;
    SELECT p.next_offset INTO v_next FROM ledger.source_positions p
    WHERE p.source = p_source AND p.topic = p_topic AND p.partition = p_partition
    FOR UPDATE;

    skipped := (SELECT count(*) FROM jsonb_array_elements(p_items) m WHERE (m->>'offset')::bigint < v_next);
    posted := 0;
    duplicates := 0;
    held := 0;
    released := 0;

    -- Messages the client could not read: parked as they came.
    INSERT INTO ledger.dead_letters (source, topic, partition, kafka_offset, error_code, reason, payload)
    SELECT p_source, p_topic, p_partition, (m->>'offset')::bigint, 'LG017', left(coalesce(m->>'error', 'unreadable'), 1000),
           coalesce(m->>'raw', '')
    FROM jsonb_array_elements(p_items) m
    WHERE m ? 'error' AND (m->>'offset')::bigint >= v_next
    ON CONFLICT (source, topic, partition, kafka_offset) DO NOTHING;
    GET DIAGNOSTICS parked = ROW_COUNT;

    -- The events, in offset order, through the ordered path.
    SELECT jsonb_agg((m->>'event')::jsonb ORDER BY (m->>'offset')::bigint),
           jsonb_agg(jsonb_build_object('source', p_source, 'topic', p_topic, 'partition', p_partition,
                                        'offset', (m->>'offset')::bigint, 'payload', m->>'event')
                     ORDER BY (m->>'offset')::bigint),
           array_agg((m->>'offset')::bigint ORDER BY (m->>'offset')::bigint),
           array_agg(m->>'event' ORDER BY (m->>'offset')::bigint)
    INTO v_events, v_origins, v_offsets, v_texts
    FROM jsonb_array_elements(p_items) m
    WHERE m ? 'event' AND (m->>'offset')::bigint >= v_next;
    IF v_events IS NOT NULL THEN
        WITH o AS (SELECT * FROM ledger.ingest_ordered(v_events, p_contra_template, v_origins)),
             parking AS (
                 INSERT INTO ledger.dead_letters (source, topic, partition, kafka_offset, error_code, reason, payload)
                 SELECT p_source, p_topic, p_partition, v_offsets[o.ordinal], coalesce(o.error_code, 'LG017'),
                        left(coalesce(o.message, 'refused'), 1000), v_texts[o.ordinal]
                 FROM o WHERE o.ordinal IS NOT NULL AND o.outcome = 'rejected'
                 ON CONFLICT (source, topic, partition, kafka_offset) DO NOTHING)
        SELECT count(*) FILTER (WHERE o.ordinal IS NOT NULL AND o.outcome = 'posted'),
               count(*) FILTER (WHERE o.ordinal IS NOT NULL AND o.outcome = 'duplicate'),
               parked + count(*) FILTER (WHERE o.outcome IN ('rejected', 'parked')),
               count(*) FILTER (WHERE o.outcome = 'held'),
               count(*) FILTER (WHERE o.ordinal IS NULL AND o.outcome IN ('posted', 'duplicate'))
        INTO posted, duplicates, parked, held, released FROM o;
    END IF;

    UPDATE ledger.source_positions p
    SET next_offset = greatest(p.next_offset, coalesce(v_last + 1, p.next_offset)),
        events = p.events + (SELECT count(*) FROM jsonb_array_elements(p_items) m WHERE (m->>'offset')::bigint >= v_next),
        updated_at = clock_timestamp()
    WHERE p.source = p_source AND p.topic = p_topic AND p.partition = p_partition
    RETURNING p.next_offset INTO next_offset;
    PERFORM set_config('ledger.ingest_contra', '', true);
    RETURN NEXT;
END
$$;

-- Holds of p_source (every source's when NULL) older than p_max_age become dead letters
-- (LG097) under their own origin. Entities another transaction is working on are left for
-- the next call. Answers how many.
CREATE FUNCTION ledger.expire_held_events(p_max_age interval, p_source text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_cutoff timestamptz;
    v_entities text[];
    v_template text;
    v_count integer := 0;
    v_n integer;
BEGIN
    PERFORM access.check_session();
    IF p_max_age IS NULL OR p_max_age < interval '0' OR p_max_age > interval '366 days' THEN
        RAISE EXCEPTION 'A hold lasts 0 seconds to 366 days, not %', coalesce(p_max_age::text, 'null') USING ERRCODE = 'LG097';
    END IF;
    v_cutoff := clock_timestamp() - p_max_age;
    SELECT array_agg(s.entity) INTO v_entities FROM (
        SELECT e.entity FROM ledger.entity_sequences e
        WHERE e.entity IN (SELECT h.entity FROM ledger.held_events h
                           WHERE h.held_at <= v_cutoff AND (p_source IS NULL OR h.source = p_source))
        ORDER BY e.entity FOR UPDATE SKIP LOCKED) s;
    IF v_entities IS NULL THEN
        RETURN 0;
    END IF;
    FOR v_template IN
        SELECT DISTINCT h.contra_template FROM ledger.held_events h
        WHERE h.entity = ANY (v_entities) AND h.held_at <= v_cutoff AND (p_source IS NULL OR h.source = p_source)
    LOOP
        PERFORM set_config('ledger.ingest_contra', coalesce(v_template, ''), true);
        WITH gone AS (
            DELETE FROM ledger.held_events h
            WHERE h.entity = ANY (v_entities) AND h.held_at <= v_cutoff
              AND (p_source IS NULL OR h.source = p_source)
              AND h.contra_template IS NOT DISTINCT FROM v_template
            RETURNING h.*)
        INSERT INTO ledger.dead_letters (source, topic, partition, kafka_offset, error_code, reason, payload)
        SELECT g.source, g.topic, g.partition, g.kafka_offset, 'LG097',
               format('Held from %s as number %s of entity "%s", waiting for number %s: retry it once that number is in, '
                      'or move the entity past it (ledgerctl deadletters skip)',
                      ledger.utc_text(g.held_at), g.entity_seq, g.entity, s.last_seq + 1),
               g.payload
        FROM gone g JOIN ledger.entity_sequences s ON s.entity = g.entity;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_count := v_count + v_n;
    END LOOP;
    PERFORM set_config('ledger.ingest_contra', '', true);
    RETURN v_count;
END
$$;

-- An operator moves an entity past numbers that will never come: its next number becomes
-- p_next, its held events from p_next on are applied (in order, as far as they run), those
-- below are parked. Audited with the reason. Answers the audit event and what was applied.
CREATE FUNCTION ledger.skip_entity_events(p_entity text, p_next bigint, p_reason text,
                                          OUT event_id bigint, OUT skipped_from bigint, OUT applied integer,
                                          OUT parked integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_reason text := btrim(p_reason);
    v_last bigint;
BEGIN
    PERFORM access.check_session();
    IF v_reason IS NULL OR length(v_reason) NOT BETWEEN 3 AND 500 OR ledger.has_control_characters(v_reason) THEN
        RAISE EXCEPTION 'An entity is moved on with a reason of 3 to 500 characters on one line' USING ERRCODE = 'LG097';
    END IF;
    SELECT s.last_seq INTO v_last FROM ledger.entity_sequences s WHERE s.entity = p_entity FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No entity "%" has sent numbered events', left(coalesce(p_entity, 'null'), 200) USING ERRCODE = 'LG097';
    END IF;
    IF p_next IS NULL OR p_next <= v_last + 1 OR p_next > 9007199254740991 THEN
        RAISE EXCEPTION 'Entity "%" waits for number %: it can be moved on to a later number only, not %',
            p_entity, v_last + 1, coalesce(p_next::text, 'null') USING ERRCODE = 'LG097';
    END IF;
    skipped_from := v_last + 1;
    UPDATE ledger.entity_sequences s SET last_seq = p_next - 1, updated_at = clock_timestamp() WHERE s.entity = p_entity;
    event_id := audit.record('entity.skipped', 'entity', p_entity,
                             jsonb_build_object('from', v_last + 1, 'to', p_next, 'reason', v_reason));
    SELECT count(*) FILTER (WHERE o.outcome IN ('posted', 'duplicate')), count(*) FILTER (WHERE o.outcome = 'parked')
    INTO applied, parked
    FROM ledger.ingest_ordered('[]'::jsonb, '1000-CASH-{currency}', NULL, ARRAY[p_entity]) o;
END
$$;

-- What waits, oldest first.
CREATE FUNCTION ledger.held_event_list(p_limit integer DEFAULT 100)
RETURNS TABLE (entity text, entity_seq bigint, waits_for bigint, event_id text, source text, topic text,
               partition integer, kafka_offset bigint, held_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'A list has 1 to 10000 rows, not %', p_limit USING ERRCODE = 'LG093';
    END IF;
    RETURN QUERY
    SELECT h.entity, h.entity_seq, s.last_seq + 1, h.event_id, h.source, h.topic, h.partition, h.kafka_offset, h.held_at
    FROM ledger.held_events h JOIN ledger.entity_sequences s ON s.entity = h.entity
    ORDER BY h.held_at, h.entity, h.entity_seq LIMIT p_limit;
END
$$;

REVOKE ALL ON ledger.entity_sequences, ledger.held_events FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger.entity_fields(jsonb), ledger.ingest_ordered(jsonb, text, jsonb, text[]),
    ledger.ingest_events(jsonb, text), ledger.ingest_event(jsonb, text),
    ledger.ingest_source_batch(text, text, integer, jsonb, text), ledger.expire_held_events(interval, text),
    ledger.skip_entity_events(text, bigint, text), ledger.held_event_list(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.ingest_events(jsonb, text), ledger.ingest_event(jsonb, text),
    ledger.ingest_source_batch(text, text, integer, jsonb, text), ledger.expire_held_events(interval, text),
    ledger.held_event_list(integer) TO ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.skip_entity_events(text, bigint, text) TO ledger_writer, console_operator, console_supervisor;
