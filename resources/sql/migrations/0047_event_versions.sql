-- Step 12: events name their schema version, and older versions are upcast to the current
-- one on read.
--
-- An event's envelope is {"type", "version", "event_id", ...}: "type" is "income" or
-- "outcome" (the same schema for both), "version" a whole number. The versions this ledger
-- reads:
--   1  the first producers' shape: "amount_minor" a positive whole number of the currency's
--      minor units (1234 EUR cents) instead of a decimal "amount".
--   2  the current shape (what ledgerctl ingest --help describes): "amount" a positive
--      decimal string ("12.34"). An event without "version" is version 2: the shape the
--      ledger has read since Step 2, before events carried a version (it stays 2 when a
--      version 3 comes).
-- One function per version step (ledger.upcast_event_v1), applied in turn by
-- ledger.upcast_event until the event is current; a later version adds a step and a branch
-- there. Every path that posts events upcasts them first: ledger.ingest_events (ledgerctl
-- ingest --file, the Kafka ingester through ledger.ingest_source_batch, a dead letter's
-- retry) and ledger.ingest_event. So a dead letter parked because the ledger did not know its
-- version yet posts when retried after the ledger learnt it.
-- An unknown version (0, 3, "2", 1.5, null) or a step's own refusal (amount_minor not a
-- positive whole number, an unknown currency) is the item's error: LG096 (version) or
-- LG012/LG003 (the step), reported by ingest --file and parked as a dead letter by the
-- stream ingester, with the raw payload, never dropped.
SET LOCAL ROLE ledger_owner;

-- Version 1 to 2: the minor units as a decimal in the currency's exponent.
-- (event, error): error is the SQLSTATE and the message, as ingest_events' items carry them.
CREATE FUNCTION ledger.upcast_event_v1(p_event jsonb, OUT event jsonb, OUT error text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_minor jsonb := p_event->'amount_minor';
    v_exponent smallint;
BEGIN
    IF jsonb_typeof(v_minor) IS DISTINCT FROM 'number' OR v_minor::text !~ '^[1-9][0-9]{0,17}$' THEN
        error := 'LG012amount_minor must be a positive whole number of minor units (version 1 events)';
        RETURN;
    END IF;
    SELECT c.exponent INTO v_exponent FROM ledger.currencies c WHERE c.code = upper(p_event->>'currency');
    IF NOT FOUND THEN
        error := format('LG003Unknown currency "%s"', left(coalesce(p_event->>'currency', 'null'), 16));
        RETURN;
    END IF;
    event := (p_event - 'amount_minor')
             || jsonb_build_object('version', 2,
                                   'amount', ledger.format_minor(v_minor::text::bigint, v_exponent));
END
$$;

-- The event in the current version (2), or why it cannot be.
CREATE FUNCTION ledger.upcast_event(p_event jsonb, OUT event jsonb, OUT error text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_version jsonb;
    v_step record;
BEGIN
    event := p_event;
    IF jsonb_typeof(p_event) IS DISTINCT FROM 'object' OR NOT p_event ? 'version' THEN
        RETURN; -- not an event (ingest_events says so), or version 2 from before versions
    END IF;
    LOOP
        v_version := event->'version';
        EXIT WHEN v_version = '2'::jsonb;
        IF v_version = '1'::jsonb THEN
            v_step := ledger.upcast_event_v1(event);
        ELSE
            error := format('LG096Version %s of "%s" events is not one this ledger reads (1 or 2): '
                            'retry the event once the ledger is upgraded to read it',
                            left(v_version::text, 20), left(coalesce(event->>'type', 'null'), 40));
            event := NULL;
            RETURN;
        END IF;
        IF v_step.error IS NOT NULL THEN
            error := v_step.error;
            event := NULL;
            RETURN;
        END IF;
        event := v_step.event;
    END LOOP;
END
$$;

-- The batch path: items whose upcast fails are answered with its error at their ordinals,
-- the rest go through the previous ledger.ingest_events (ingest_events_0046) in their order (a batch of current events
-- pays one scan for "version").
ALTER FUNCTION ledger.ingest_events(jsonb, text) RENAME TO ingest_events_0046;
REVOKE EXECUTE ON FUNCTION ledger.ingest_events_0046(jsonb, text) FROM ledger_writer;
CREATE FUNCTION ledger.ingest_events(p_events jsonb, p_contra_template text DEFAULT '1000-CASH-{currency}')
RETURNS TABLE (ordinal integer, transaction_id bigint, outcome text, error_code text, message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_ordinals integer[];
    v_upcast jsonb[];
    v_errors text[];
    v_events jsonb;
    v_kept integer[];
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array'
       OR jsonb_array_length(p_events) > ledger.max_batch_items() -- refused whole, as before
       OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) e(ev)
                      WHERE jsonb_typeof(e.ev) = 'object' AND e.ev ? 'version'
                        AND e.ev->'version' <> '2'::jsonb) THEN
        RETURN QUERY SELECT * FROM ledger.ingest_events_0046(p_events, p_contra_template);
        RETURN;
    END IF;
    SELECT array_agg(e.ord::integer ORDER BY e.ord), array_agg(u.event ORDER BY e.ord),
           array_agg(u.error ORDER BY e.ord)
    INTO v_ordinals, v_upcast, v_errors
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(ev, ord)
    CROSS JOIN LATERAL ledger.upcast_event(e.ev) u;
    SELECT coalesce(jsonb_agg(x.ev ORDER BY x.ord), '[]'::jsonb), coalesce(array_agg(x.ord ORDER BY x.ord), '{}')
    INTO v_events, v_kept
    FROM unnest(v_ordinals, v_upcast, v_errors) x(ord, ev, err) WHERE x.err IS NULL;
    RETURN QUERY
    SELECT v_kept[r.ordinal], r.transaction_id, r.outcome, r.error_code, r.message
    FROM ledger.ingest_events_0046(v_events, p_contra_template) r
    UNION ALL
    SELECT x.ord, NULL::bigint, 'rejected'::text, left(x.err, 5), substr(x.err, 6)
    FROM unnest(v_ordinals, v_errors) x(ord, err) WHERE x.err IS NOT NULL
    ORDER BY 1;
END
$$;

-- The single path: upcast, then as before.
ALTER FUNCTION ledger.ingest_event(jsonb, text) RENAME TO ingest_event_0046;
REVOKE EXECUTE ON FUNCTION ledger.ingest_event_0046(jsonb, text) FROM ledger_writer;
CREATE FUNCTION ledger.ingest_event(p_event jsonb, p_contra_template text DEFAULT '1000-CASH-{currency}',
                                    OUT transaction_id bigint, OUT duplicate boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_up record;
BEGIN
    IF pg_column_size(p_event) > ledger.max_request_bytes() THEN
        RAISE EXCEPTION 'An event is at most % bytes of JSON', ledger.max_request_bytes() USING ERRCODE = 'LG017';
    END IF;
    v_up := ledger.upcast_event(p_event);
    IF v_up.error IS NOT NULL THEN
        RAISE EXCEPTION '%', substr(v_up.error, 6) USING ERRCODE = left(v_up.error, 5);
    END IF;
    SELECT e.transaction_id, e.duplicate INTO transaction_id, duplicate
    FROM ledger.ingest_event_0046(v_up.event, p_contra_template) e;
END
$$;

REVOKE EXECUTE ON FUNCTION ledger.upcast_event_v1(jsonb), ledger.upcast_event(jsonb),
    ledger.ingest_events(jsonb, text), ledger.ingest_event(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.ingest_events(jsonb, text), ledger.ingest_event(jsonb, text) TO ledger_writer;
