-- Step 12, operations health: what the console's health panel shows, read in one call by any
-- console role.
--
-- * ledger.source_ends: per stream partition, the end of the partition as the consumer last
--   saw it on the broker (its high watermark) and how many events the ledger had taken from
--   it then, with the observation before. The database cannot ask the broker; the ingester
--   notes what it sees every few seconds and on exit (ledger.note_source_ends), so that the
--   lag (end minus the ledger's position) and the events per second between the last two
--   observations are on record where the console can read them. Observations, not history:
--   one row per partition, replaced.
-- * ledger.open_dead_letters: the dead letters nobody has retried or discarded yet, kept by
--   triggers (a letter parked goes in, its outcome takes it out), so that the panel reads the
--   open ones without scanning every letter ever parked.
-- * ledger.health_snapshot(): counts and times only (no payload, no amount, no other
--   operator's name): per source its last event, lag and rate; open dead letters (the newest,
--   each with where it came from and the kind of refusal, never the refusal's own text, which
--   quotes the payload: account codes, amounts, whatever the event said); held events; the
--   invariant checks recorded; the reconciliation backlog; the audit chain's unsealed tail and
--   last verification; sessions about to end. Counts stop at 100,000 ("at least").
SET LOCAL ROLE ledger_owner;

CREATE TABLE ledger.source_ends (
    source           text        NOT NULL,
    topic            text        NOT NULL,
    partition        integer     NOT NULL CHECK (partition >= 0),
    end_offset       bigint      NOT NULL CHECK (end_offset >= 0),
    events           bigint      NOT NULL CHECK (events >= 0),
    observed_at      timestamptz NOT NULL,
    prev_events      bigint      CHECK (prev_events >= 0),
    prev_observed_at timestamptz,
    PRIMARY KEY (source, topic, partition)
);
COMMENT ON TABLE ledger.source_ends IS
    'Per stream partition, the broker''s end offset as the consumer last saw it and the events the ledger had taken then, with the observation before (0052). Written by ledger.note_source_ends only.';

-- The consumer of (source, topic) saw these partitions end at these offsets. Partitions the
-- ledger holds no position for count as having taken nothing; a stream the ledger has taken
-- nothing from at all is passed over (0 rows).
CREATE FUNCTION ledger.note_source_ends(p_source text, p_topic text, p_partitions integer[], p_ends bigint[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_count integer;
BEGIN
    PERFORM ledger.check_source(p_source, p_topic);
    IF p_partitions IS NULL OR p_ends IS NULL
       OR coalesce(cardinality(p_partitions), 0) <> coalesce(cardinality(p_ends), 0)
       OR cardinality(p_partitions) > 10000
       OR array_position(p_partitions, NULL) IS NOT NULL OR array_position(p_ends, NULL) IS NOT NULL
       OR EXISTS (SELECT 1 FROM unnest(p_partitions) p WHERE p < 0)
       OR EXISTS (SELECT 1 FROM unnest(p_ends) e WHERE e < 0)
       OR (SELECT count(DISTINCT p) FROM unnest(p_partitions) p) <> cardinality(p_partitions) THEN
        RAISE EXCEPTION 'Partition ends come as two arrays of equal length (at most 10000): distinct partitions >= 0 and end offsets >= 0'
            USING ERRCODE = 'LG093';
    END IF;
    -- Only for a stream the ledger takes from (nothing is shown for others, and a writer
    -- could otherwise fill the table with names).
    IF NOT EXISTS (SELECT 1 FROM ledger.source_positions sp WHERE sp.source = p_source AND sp.topic = p_topic) THEN
        RETURN 0;
    END IF;
    INSERT INTO ledger.source_ends AS s (source, topic, partition, end_offset, events, observed_at)
    SELECT p_source, p_topic, n.partition, n.end_offset, coalesce(sp.events, 0), clock_timestamp()
    FROM unnest(p_partitions, p_ends) AS n(partition, end_offset)
    LEFT JOIN ledger.source_positions sp
           ON sp.source = p_source AND sp.topic = p_topic AND sp.partition = n.partition
    ORDER BY n.partition
    ON CONFLICT (source, topic, partition) DO UPDATE
        SET end_offset = EXCLUDED.end_offset, events = EXCLUDED.events, observed_at = EXCLUDED.observed_at,
            prev_events = s.events, prev_observed_at = s.observed_at;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;

CREATE TABLE ledger.open_dead_letters (
    id bigint PRIMARY KEY REFERENCES ledger.dead_letters (id)
);
COMMENT ON TABLE ledger.open_dead_letters IS
    'Dead letters without an outcome yet, kept by triggers on ledger.dead_letters and ledger.dead_letter_outcomes (0052).';
INSERT INTO ledger.open_dead_letters (id)
SELECT d.id FROM ledger.dead_letters d
WHERE NOT EXISTS (SELECT 1 FROM ledger.dead_letter_outcomes o WHERE o.dead_letter_id = d.id);

CREATE FUNCTION ledger.open_dead_letter_parked() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO ledger.open_dead_letters (id) SELECT n.id FROM new_letters n;
    RETURN NULL;
END
$$;
CREATE TRIGGER dead_letters_open AFTER INSERT ON ledger.dead_letters
    REFERENCING NEW TABLE AS new_letters
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.open_dead_letter_parked();

CREATE FUNCTION ledger.open_dead_letter_decided() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM ledger.open_dead_letters l USING new_outcomes n WHERE l.id = n.dead_letter_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER dead_letter_outcomes_close AFTER INSERT ON ledger.dead_letter_outcomes
    REFERENCING NEW TABLE AS new_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.open_dead_letter_decided();
ALTER TABLE ledger.dead_letters ENABLE ALWAYS TRIGGER dead_letters_open;
ALTER TABLE ledger.dead_letter_outcomes ENABLE ALWAYS TRIGGER dead_letter_outcomes_close;

-- What kind of refusal parked a letter, in words that quote nothing of the event.
CREATE FUNCTION ledger.dead_letter_kind(p_error_code text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_error_code
        WHEN 'LG017' THEN 'not a valid event: not JSON, or a field missing or malformed'
        WHEN 'LG018' THEN 'names an account the ledger does not have'
        WHEN 'LG012' THEN 'an amount the ledger cannot take'
        WHEN 'LG013' THEN 'an amount with more decimals than its currency has'
        WHEN 'LG014' THEN 'an amount out of range'
        WHEN 'LG015' THEN 'an amount in another currency than its account''s'
        WHEN 'LG003' THEN 'a currency the ledger does not know'
        WHEN 'LG011' THEN 'the same event id sent before with other content'
        WHEN 'LG016' THEN 'a posting that does not balance'
        WHEN 'LG020' THEN 'would take an account below zero, which it may not'
        WHEN 'LG096' THEN 'an event type or version this ledger does not know'
        WHEN 'LG097' THEN 'waited too long for an earlier number of its entity'
        ELSE 'refused by the posting rules (SQLSTATE ' || left(coalesce(p_error_code, '?'), 5) || ')'
    END
$$;

CREATE FUNCTION ledger.health_snapshot(p_expiring_within interval DEFAULT '10 minutes')
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_sources jsonb;
    v_dead jsonb;
    v_held jsonb;
    v_checks jsonb;
    v_recon jsonb;
    v_audit jsonb;
    v_sessions jsonb;
BEGIN
    PERFORM access.check_session();
    IF p_expiring_within IS NULL OR p_expiring_within < interval '0' OR p_expiring_within > interval '1 day' THEN
        RAISE EXCEPTION 'Sessions about to end are those ending within 0 to 24 hours' USING ERRCODE = 'LG093';
    END IF;

    -- Sources (a replay's own positions, "<source>/replay/<time>", are not a live source).
    SELECT coalesce(jsonb_agg(x ORDER BY x->>'source', x->>'topic'), '[]') INTO v_sources
    FROM (
        SELECT jsonb_build_object(
                   'source', sp.source, 'topic', sp.topic, 'partitions', count(*),
                   'events', sum(sp.events), 'last_event_at', max(sp.updated_at),
                   'lag', sum(greatest(se.end_offset - sp.next_offset, 0)) FILTER (WHERE se.partition IS NOT NULL),
                   'observed_at', max(se.observed_at),
                   'observed_partitions', count(se.partition),
                   -- Per partition over its own interval, summed (NULL: no partition observed twice).
                   'events_per_second',
                       round(sum((se.events - se.prev_events)::numeric
                                 / extract(epoch FROM se.observed_at - se.prev_observed_at))
                             FILTER (WHERE se.prev_observed_at IS NOT NULL AND se.observed_at > se.prev_observed_at), 1)
               ) AS x
        FROM ledger.source_positions sp
        LEFT JOIN ledger.source_ends se
               ON se.source = sp.source AND se.topic = sp.topic AND se.partition = sp.partition
        WHERE sp.source !~ '/replay/[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$'
        GROUP BY sp.source, sp.topic
    ) s;

    SELECT jsonb_build_object(
               'open', (SELECT count(*) FROM (SELECT 1 FROM ledger.open_dead_letters LIMIT 100000) c),
               'oldest_open_at', (SELECT d.parked_at FROM ledger.open_dead_letters o
                                  JOIN ledger.dead_letters d ON d.id = o.id ORDER BY o.id LIMIT 1),
               'newest', coalesce((
                   SELECT jsonb_agg(jsonb_build_object('id', n.id, 'source', n.source, 'topic', n.topic,
                                                       'partition', n.partition, 'offset', n.kafka_offset,
                                                       'parked_at', n.parked_at, 'error_code', n.error_code,
                                                       'kind', ledger.dead_letter_kind(n.error_code))
                                    ORDER BY n.id DESC)
                   FROM (SELECT d.* FROM ledger.open_dead_letters o JOIN ledger.dead_letters d ON d.id = o.id
                         ORDER BY o.id DESC LIMIT 50) n), '[]'))
    INTO v_dead;

    SELECT jsonb_build_object('events', count(*), 'entities', count(DISTINCT h.entity), 'oldest_held_at', min(h.held_at))
    INTO v_held FROM (SELECT * FROM ledger.held_events LIMIT 100000) h;

    SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'checked_at', c.checked_at, 'ok', c.ok,
                                                 'failed', to_jsonb(c.failed), 'seconds', c.seconds)
                              ORDER BY c.id DESC), '[]')
    INTO v_checks
    FROM (SELECT * FROM ledger.invariant_checks ORDER BY id DESC LIMIT 30) c;

    SELECT jsonb_build_object('open', count(*), 'overdue', count(*) FILTER (WHERE e.due_at < v_now),
                              'oldest_open_at', min(e.raised_at), 'first_due_at', min(e.due_at))
    INTO v_recon
    FROM recon.exception_state st JOIN recon.exceptions e ON e.id = st.exception_id
    WHERE st.state IN ('open', 'assigned');

    SELECT jsonb_build_object(
               'unsealed', (SELECT count(*) FROM audit.events WHERE seq IS NULL),
               'oldest_unsealed_at', (SELECT min(occurred_at) FROM audit.events WHERE seq IS NULL),
               'head', (SELECT max(seq) FROM audit.events WHERE seq IS NOT NULL),
               'last_verification', (
                   SELECT jsonb_build_object('at', v.occurred_at, 'ok', NOT (v.details ? 'broken_at'),
                                             'verified_through', v.details->'verified_through',
                                             'broken_at', v.details->'broken_at', 'reason', v.details->'reason')
                   FROM audit.events v
                   WHERE v.object_type = 'audit_chain' AND v.action = 'audit.verified'
                   ORDER BY v.id DESC LIMIT 1))
    INTO v_audit;

    SELECT jsonb_build_object('open', count(*),
                              'ending', count(*) FILTER (WHERE s.expires_at <= v_now + p_expiring_within),
                              'at_their_limit', count(*) FILTER (WHERE s.max_until <= v_now + p_expiring_within),
                              'next_end_at', min(s.expires_at))
    INTO v_sessions
    FROM access.sessions s
    WHERE s.reaped_at IS NULL AND s.ended_at IS NULL AND s.expires_at > v_now;

    RETURN jsonb_build_object('at', v_now, 'sources', v_sources, 'dead_letters', v_dead, 'held', v_held,
                              'invariant_checks', v_checks, 'recon', v_recon, 'audit', v_audit,
                              'sessions', v_sessions);
END
$$;

REVOKE ALL ON ledger.source_ends, ledger.open_dead_letters FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger.note_source_ends(text, text, integer[], bigint[]),
    ledger.health_snapshot(interval), ledger.open_dead_letter_parked(), ledger.open_dead_letter_decided(),
    ledger.dead_letter_kind(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.note_source_ends(text, text, integer[], bigint[]) TO ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.health_snapshot(interval)
    TO console_operator, console_supervisor, console_auditor, console_compliance;
