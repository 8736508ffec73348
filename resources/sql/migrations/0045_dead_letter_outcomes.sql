-- Step 12: dead letters are worked, once each. A dead letter (0043) stays as it came; what
-- was done about it is a row of its own in ledger.dead_letter_outcomes (append-only), with
-- who, when and the audit event that records it:
--   * ledger.retry_dead_letter(id): its payload goes through the ingest path again
--     (ledger.ingest_events: the same rules and the same idempotency key "event:<event_id>",
--     so an event posted meanwhile by a replay is a duplicate, not a second posting). Posted
--     or found posted: the outcome 'retried' names the transaction. Still refused, or still
--     not JSON: an error saying why, and nothing is recorded (the letter stays open).
--   * ledger.discard_dead_letter(id, reason): given up, with a reason of 3 to 500
--     characters.
-- The retry posts with the contra account template the stream was ingested with (kept with
-- each dead letter from now on: ledger.ingest_source_batch records it; letters parked before
-- this migration retry with the default), never one the caller picks: a console role could
-- otherwise choose the other side of the posting.
-- A dead letter decided once cannot be decided again (its row is locked while it is being
-- decided, and the outcome's key is the letter's id).
-- ledger.dead_letter_list(limit, open_only) now says what became of each.
SET LOCAL ROLE ledger_owner;

ALTER TABLE ledger.dead_letters ADD COLUMN contra_template text CHECK (length(contra_template) <= 64);

-- The template reaches the dead letters through a transaction-local setting that only the
-- ingest function sets (writers cannot insert dead letters themselves).
CREATE FUNCTION ledger.fill_dead_letter_contra() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.contra_template := nullif(current_setting('ledger.ingest_contra', true), '');
    RETURN NEW;
END
$$;
CREATE TRIGGER dead_letters_contra BEFORE INSERT ON ledger.dead_letters
    FOR EACH ROW EXECUTE FUNCTION ledger.fill_dead_letter_contra();
ALTER TABLE ledger.dead_letters ENABLE ALWAYS TRIGGER dead_letters_contra;

ALTER FUNCTION ledger.ingest_source_batch(text, text, integer, jsonb, text) RENAME TO ingest_source_batch_0043;
REVOKE EXECUTE ON FUNCTION ledger.ingest_source_batch_0043(text, text, integer, jsonb, text) FROM ledger_writer;
CREATE FUNCTION ledger.ingest_source_batch(p_source text, p_topic text, p_partition integer, p_items jsonb,
                                           p_contra_template text DEFAULT '1000-CASH-{currency}')
RETURNS TABLE (posted integer, duplicates integer, parked integer, skipped integer, next_offset bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM ledger.check_length(p_contra_template, 64, 'The contra account template', 'LG017');
    PERFORM set_config('ledger.ingest_contra', coalesce(p_contra_template, ''), true);
    RETURN QUERY SELECT * FROM ledger.ingest_source_batch_0043(p_source, p_topic, p_partition, p_items, p_contra_template);
    PERFORM set_config('ledger.ingest_contra', '', true);
END
$$;

CREATE TABLE ledger.dead_letter_outcomes (
    dead_letter_id bigint      PRIMARY KEY REFERENCES ledger.dead_letters (id),
    outcome        text        NOT NULL CHECK (outcome IN ('retried', 'discarded')),
    transaction_id bigint      REFERENCES ledger.transactions (id),
    duplicate      boolean     NOT NULL DEFAULT false, -- retried: the event was posted already
    reason         text        CHECK (length(reason) BETWEEN 3 AND 500),
    decided_by     text        NOT NULL,
    decided_role   text        NOT NULL,
    decided_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    event_id       bigint      NOT NULL,
    CHECK ((outcome = 'retried') = (transaction_id IS NOT NULL)),
    CHECK ((outcome = 'discarded') = (reason IS NOT NULL))
);
COMMENT ON TABLE ledger.dead_letter_outcomes IS
    'What was done about a dead letter, once: retried (the transaction it posted or found) or discarded (with the reason), by whom and when (0045). Append-only.';
CREATE TRIGGER dead_letter_outcomes_append_only BEFORE UPDATE OR DELETE ON ledger.dead_letter_outcomes
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER dead_letter_outcomes_no_truncate BEFORE TRUNCATE ON ledger.dead_letter_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.dead_letter_outcomes ENABLE ALWAYS TRIGGER dead_letter_outcomes_append_only;
ALTER TABLE ledger.dead_letter_outcomes ENABLE ALWAYS TRIGGER dead_letter_outcomes_no_truncate;

-- The letter, locked until commit, or an error when there is none or it was decided.
CREATE FUNCTION ledger.open_dead_letter(p_id bigint) RETURNS ledger.dead_letters
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v ledger.dead_letters;
    o ledger.dead_letter_outcomes;
BEGIN
    SELECT d.* INTO v FROM ledger.dead_letters d WHERE d.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No dead letter %', p_id USING ERRCODE = 'LG095', HINT = 'ledgerctl deadletters list shows them.';
    END IF;
    SELECT x.* INTO o FROM ledger.dead_letter_outcomes x WHERE x.dead_letter_id = p_id;
    IF FOUND THEN
        RAISE EXCEPTION 'Dead letter % was % by % at %', p_id, o.outcome, o.decided_by, ledger.utc_text(o.decided_at)
            USING ERRCODE = 'LG095';
    END IF;
    RETURN v;
END
$$;

CREATE FUNCTION ledger.retry_dead_letter(p_id bigint)
RETURNS TABLE (transaction_id bigint, duplicate boolean, event_id bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v ledger.dead_letters;
    v_event jsonb;
    o record;
BEGIN
    PERFORM access.check_session();
    v := ledger.open_dead_letter(p_id);
    BEGIN
        v_event := v.payload::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'Dead letter % is not JSON: it cannot be posted, only discarded with a reason', p_id
            USING ERRCODE = 'LG095';
    END;
    SELECT i.transaction_id, i.outcome, i.error_code, i.message INTO o
    FROM ledger.ingest_events(jsonb_build_array(v_event), coalesce(v.contra_template, '1000-CASH-{currency}')) i;
    IF o.outcome = 'rejected' THEN
        RAISE EXCEPTION 'Dead letter % is still refused: %', p_id, o.message
            USING ERRCODE = CASE WHEN o.error_code ~ '^[0-9A-Z]{5}$' THEN o.error_code ELSE 'LG095' END,
                  HINT = 'Fix what refuses it (an account to open, say) and retry, or discard it with a reason.';
    END IF;
    transaction_id := o.transaction_id;
    duplicate := o.outcome = 'duplicate';
    event_id := audit.record('dead_letter.retried', 'dead_letter', p_id::text,
                             jsonb_build_object('transaction_id', o.transaction_id, 'duplicate', duplicate,
                                                'contra_template', coalesce(v.contra_template, '1000-CASH-{currency}'),
                                                'source', v.source, 'topic', v.topic, 'partition', v.partition,
                                                'offset', v.kafka_offset));
    INSERT INTO ledger.dead_letter_outcomes (dead_letter_id, outcome, transaction_id, duplicate, decided_by,
                                             decided_role, event_id)
    VALUES (p_id, 'retried', o.transaction_id, duplicate, audit.current_operator(), session_user, event_id);
    RETURN NEXT;
END
$$;

CREATE FUNCTION ledger.discard_dead_letter(p_id bigint, p_reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v ledger.dead_letters;
    v_reason text := btrim(p_reason);
    v_event bigint;
BEGIN
    PERFORM access.check_session();
    IF v_reason IS NULL OR length(v_reason) NOT BETWEEN 3 AND 500 OR ledger.has_control_characters(v_reason) THEN
        RAISE EXCEPTION 'A dead letter is discarded with a reason of 3 to 500 characters on one line'
            USING ERRCODE = 'LG095';
    END IF;
    v := ledger.open_dead_letter(p_id);
    v_event := audit.record('dead_letter.discarded', 'dead_letter', p_id::text,
                            jsonb_build_object('reason', v_reason, 'source', v.source, 'topic', v.topic,
                                               'partition', v.partition, 'offset', v.kafka_offset,
                                               'error_code', v.error_code));
    INSERT INTO ledger.dead_letter_outcomes (dead_letter_id, outcome, reason, decided_by, decided_role, event_id)
    VALUES (p_id, 'discarded', v_reason, audit.current_operator(), session_user, v_event);
    RETURN v_event;
END
$$;

DROP FUNCTION ledger.dead_letter_list(integer);
CREATE FUNCTION ledger.dead_letter_list(p_limit integer DEFAULT 100, p_open_only boolean DEFAULT false)
RETURNS TABLE (id bigint, source text, topic text, partition integer, kafka_offset bigint, parked_at timestamptz,
               error_code text, reason text, payload text, outcome text, transaction_id bigint, outcome_reason text,
               decided_by text, decided_at timestamptz)
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
    SELECT d.id, d.source, d.topic, d.partition, d.kafka_offset, d.parked_at, d.error_code, d.reason, d.payload,
           o.outcome, o.transaction_id, o.reason, o.decided_by, o.decided_at
    FROM ledger.dead_letters d
    LEFT JOIN ledger.dead_letter_outcomes o ON o.dead_letter_id = d.id
    WHERE NOT coalesce(p_open_only, false) OR o.dead_letter_id IS NULL
    ORDER BY d.id DESC LIMIT p_limit;
END
$$;

REVOKE ALL ON ledger.dead_letter_outcomes FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger.fill_dead_letter_contra(), ledger.ingest_source_batch(text, text, integer, jsonb, text),
    ledger.open_dead_letter(bigint), ledger.retry_dead_letter(bigint),
    ledger.discard_dead_letter(bigint, text), ledger.dead_letter_list(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.ingest_source_batch(text, text, integer, jsonb, text) TO ledger_writer;
-- The payloads are customer data: console roles' reads of them would have to be on record
-- first (0032); until the console's health panel brings that, the writer lists them.
GRANT EXECUTE ON FUNCTION ledger.dead_letter_list(integer, boolean) TO ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.retry_dead_letter(bigint) TO ledger_writer, console_operator, console_supervisor;
GRANT EXECUTE ON FUNCTION ledger.discard_dead_letter(bigint, text) TO console_operator, console_supervisor;
