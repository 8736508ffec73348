-- Step 12, first part: events consumed from a stream (Kafka) are posted exactly once, with
-- the consumed position stored in the same database transaction as the postings.
--
-- * ledger.source_positions: per source (the ingester's name), topic and partition, the
--   next offset to consume and how many events were taken from it. The database, never the
--   broker, says where a consumer resumes: on start and on every partition assignment the
--   consumer seeks to these positions (ledger.source_positions_of).
-- * ledger.dead_letters: events that could not be posted (not JSON, not an event, an
--   unknown account, a refused posting), with the reason and the raw payload, parked and
--   never dropped. Append-only.
-- * ledger.ingest_source_batch(source, topic, partition, items, contra): one partition's
--   messages in offset order, as [{"offset": n, "event": "<the message's JSON text>"}] or,
--   for a message the client could not read, [{"offset": n, "raw": "...", "error": "..."}]
--   (the text as it came, so that a parked event keeps its payload byte for byte; text that
--   is no JSON fails the call, and the client sends the messages one by one). In one statement
--   (one transaction): the partition's position is locked; messages below it were taken
--   before (a redelivery after a crash or a rebalance) and are skipped; the rest are posted
--   set-based through ledger.ingest_events (idempotency keys "event:<event_id>", so an event
--   sent again under another offset is a duplicate, not a second posting); refused ones are
--   parked; the position moves past the last message. A crash before the commit leaves
--   nothing; after it, the position is there and the next consumer starts behind it.
--   Two consumers handed the same partition (a rebalance while the old one still runs)
--   queue on the position's lock, and the later one skips what the first one took.
SET LOCAL ROLE ledger_owner;

CREATE TABLE ledger.source_positions (
    source      text        NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    topic       text        NOT NULL CHECK (length(topic) BETWEEN 1 AND 249),
    partition   integer     NOT NULL CHECK (partition >= 0),
    next_offset bigint      NOT NULL CHECK (next_offset >= 0),
    events      bigint      NOT NULL DEFAULT 0 CHECK (events >= 0),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (source, topic, partition)
);
COMMENT ON TABLE ledger.source_positions IS
    'Per stream partition, the next offset to consume: moved only by ledger.ingest_source_batch, in the transaction that posts the events before it (0043).';

CREATE TABLE ledger.dead_letters (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    kafka_offset bigint      NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    error_code   text        NOT NULL,
    reason       text        NOT NULL,
    payload      text        NOT NULL,
    UNIQUE (source, topic, partition, kafka_offset)
);
COMMENT ON TABLE ledger.dead_letters IS
    'Events a stream delivered that could not be posted, with the reason and the raw payload (0043). Append-only.';
CREATE TRIGGER dead_letters_append_only BEFORE UPDATE OR DELETE ON ledger.dead_letters
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER dead_letters_no_truncate BEFORE TRUNCATE ON ledger.dead_letters
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.dead_letters ENABLE ALWAYS TRIGGER dead_letters_append_only;
ALTER TABLE ledger.dead_letters ENABLE ALWAYS TRIGGER dead_letters_no_truncate;

CREATE FUNCTION ledger.check_source(p_source text, p_topic text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_source IS NULL OR length(p_source) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'A source is named by 1 to 100 characters' USING ERRCODE = 'LG093';
    END IF;
    IF p_topic IS NULL OR length(p_topic) NOT BETWEEN 1 AND 249 THEN
        RAISE EXCEPTION 'A topic is named by 1 to 249 characters' USING ERRCODE = 'LG093';
    END IF;
END
$$;

-- Where a consumer of (source, topic) resumes, per partition the database knows.
CREATE FUNCTION ledger.source_positions_of(p_source text, p_topic text)
RETURNS TABLE (partition integer, next_offset bigint, events bigint, updated_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_source(p_source, p_topic);
    RETURN QUERY
    SELECT p.partition, p.next_offset, p.events, p.updated_at
    FROM ledger.source_positions p
    WHERE p.source = p_source AND p.topic = p_topic
    ORDER BY p.partition;
END
$$;

CREATE FUNCTION ledger.ingest_source_batch(p_source text, p_topic text, p_partition integer, p_items jsonb,
                                           p_contra_template text DEFAULT '1000-CASH-{currency}')
RETURNS TABLE (posted integer, duplicates integer, parked integer, skipped integer, next_offset bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_next bigint;
    v_first bigint;
    v_last bigint;
    v_events jsonb;
    v_offsets bigint[];
    v_texts text[];
BEGIN
    PERFORM ledger.check_batch(p_items, 'A batch of messages must be a JSON array of {"offset", "event"} objects', 'messages');
    PERFORM ledger.check_source(p_source, p_topic);
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
    parked := 0;

    -- Messages the client could not read: parked as they came.
    INSERT INTO ledger.dead_letters (source, topic, partition, kafka_offset, error_code, reason, payload)
    SELECT p_source, p_topic, p_partition, (m->>'offset')::bigint, 'LG017', left(coalesce(m->>'error', 'unreadable'), 1000),
           coalesce(m->>'raw', '')
    FROM jsonb_array_elements(p_items) m
    WHERE m ? 'error' AND (m->>'offset')::bigint >= v_next
    ON CONFLICT (source, topic, partition, kafka_offset) DO NOTHING;
    GET DIAGNOSTICS parked = ROW_COUNT;

    -- The events, in offset order, through the batch path.
    SELECT jsonb_agg((m->>'event')::jsonb ORDER BY (m->>'offset')::bigint),
           array_agg((m->>'offset')::bigint ORDER BY (m->>'offset')::bigint),
           array_agg(m->>'event' ORDER BY (m->>'offset')::bigint)
    INTO v_events, v_offsets, v_texts
    FROM jsonb_array_elements(p_items) m
    WHERE m ? 'event' AND (m->>'offset')::bigint >= v_next;
    IF v_events IS NOT NULL THEN
        WITH o AS (SELECT * FROM ledger.ingest_events(v_events, p_contra_template)),
             parking AS (
                 INSERT INTO ledger.dead_letters (source, topic, partition, kafka_offset, error_code, reason, payload)
                 SELECT p_source, p_topic, p_partition, v_offsets[o.ordinal], coalesce(o.error_code, 'LG017'),
                        left(coalesce(o.message, 'refused'), 1000), v_texts[o.ordinal]
                 FROM o WHERE o.outcome = 'rejected'
                 ON CONFLICT (source, topic, partition, kafka_offset) DO NOTHING)
        SELECT count(*) FILTER (WHERE o.outcome = 'posted'), count(*) FILTER (WHERE o.outcome = 'duplicate'),
               parked + count(*) FILTER (WHERE o.outcome = 'rejected')
        INTO posted, duplicates, parked FROM o;
    END IF;

    UPDATE ledger.source_positions p
    SET next_offset = greatest(p.next_offset, coalesce(v_last + 1, p.next_offset)),
        events = p.events + (SELECT count(*) FROM jsonb_array_elements(p_items) m WHERE (m->>'offset')::bigint >= v_next),
        updated_at = clock_timestamp()
    WHERE p.source = p_source AND p.topic = p_topic AND p.partition = p_partition
    RETURNING p.next_offset INTO next_offset;
    RETURN NEXT;
END
$$;

-- The latest dead letters (ledgerctl deadletters list), newest first.
CREATE FUNCTION ledger.dead_letter_list(p_limit integer DEFAULT 100)
RETURNS TABLE (id bigint, source text, topic text, partition integer, kafka_offset bigint, parked_at timestamptz,
               error_code text, reason text, payload text)
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
    SELECT d.id, d.source, d.topic, d.partition, d.kafka_offset, d.parked_at, d.error_code, d.reason, d.payload
    FROM ledger.dead_letters d ORDER BY d.id DESC LIMIT p_limit;
END
$$;

REVOKE ALL ON ledger.source_positions, ledger.dead_letters FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger.check_source(text, text), ledger.source_positions_of(text, text),
    ledger.ingest_source_batch(text, text, integer, jsonb, text), ledger.dead_letter_list(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.source_positions_of(text, text),
    ledger.ingest_source_batch(text, text, integer, jsonb, text), ledger.dead_letter_list(integer) TO ledger_writer;
