-- Step 12: the outbox. Other services learn of postings, reversal decisions and
-- reconciliation decisions from a Kafka topic fed by a relay (ledgerctl outbox relay).
--
-- The outbox rows are the audit events those actions already write in their own
-- transactions (transaction.posted, reversal.*, recon.match*, recon.exception_*): written in
-- the same transaction as what they record, so an action is in the outbox exactly when it
-- committed, and the posting path pays nothing more for it. The audit chain numbers them
-- (audit.events.seq) in the order they are sealed, without gaps, once and for all, so a
-- relay's position is one number: everything up to it is published. (An outbox table of its
-- own with an identity key would be numbered before commit, and a relay reading it could
-- pass over a row whose transaction commits after a later one.) An event not sealed yet is
-- not handed out; it is, with the number it gets, once sealed.
--
-- * ledger.outbox_relays: per relay name, its topic and how far it has published.
-- * ledger.outbox_claim(relay): one relay of a name at a time (a session lock, gone with the
--   connection); a second one is refused with LG098.
-- * ledger.outbox_pending(relay, topic, limit): the messages after the relay's position, in
--   chain order: a posting is one message per account it touches (key: the account code, so
--   a consumer sees each account's postings in order), carrying the whole transaction with
--   its legs; any other action one message keyed by what it is about. Each message has a
--   stable id ("audit:<seq>/<n>") for consumers to deduplicate: a relay that crashes before
--   it records what the broker acknowledged sends those messages again. The last row has no
--   message: its seq says how far this call looked (at most 5,000 chain numbers on), which
--   the relay records once what came before it is acknowledged.
-- * ledger.outbox_ack(relay, topic, upto, messages): records the position; forward only.
SET LOCAL ROLE ledger_owner;

CREATE TABLE ledger.outbox_relays (
    relay         text        PRIMARY KEY CHECK (length(relay) BETWEEN 1 AND 100),
    topic         text        NOT NULL CHECK (length(topic) BETWEEN 1 AND 249),
    published_seq bigint      NOT NULL DEFAULT 0 CHECK (published_seq >= 0),
    messages      bigint      NOT NULL DEFAULT 0 CHECK (messages >= 0),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE ledger.outbox_relays IS
    'Per outbox relay, its topic and the audit chain number up to which the broker acknowledged everything (0051).';

-- The audit actions other services hear of.
CREATE FUNCTION ledger.outbox_publishes(p_action text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_action = 'transaction.posted'
        OR (p_action LIKE 'reversal.%' AND p_action <> 'reversal.preview_asked')
        OR p_action = 'recon.matched' OR p_action LIKE 'recon.match\_%' OR p_action LIKE 'recon.exception\_%'
$$;

CREATE FUNCTION ledger.check_relay(p_relay text, p_topic text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    IF p_relay IS NULL OR length(p_relay) NOT BETWEEN 1 AND 100 OR ledger.has_control_characters(p_relay) THEN
        RAISE EXCEPTION 'A relay is named by 1 to 100 characters on one line' USING ERRCODE = 'LG098';
    END IF;
    IF p_topic IS NULL OR p_topic !~ '^[A-Za-z0-9._-]{1,249}$' THEN
        RAISE EXCEPTION 'A topic is named by 1 to 249 letters, digits, dots, underscores or hyphens' USING ERRCODE = 'LG098';
    END IF;
END
$$;

CREATE FUNCTION ledger.outbox_claim(p_relay text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_relay(p_relay, 'x');
    IF NOT pg_try_advisory_lock(hashtextextended('ledger.outbox_relay:' || p_relay, 0)) THEN
        RAISE EXCEPTION 'Relay "%" is running already', p_relay USING ERRCODE = 'LG098',
            HINT = 'Stop the other one first, or give this one another --relay name (it then publishes everything again).';
    END IF;
END
$$;

-- The relay's row, created on first use, locked; its topic must be the one asked.
CREATE FUNCTION ledger.open_relay(p_relay text, p_topic text) RETURNS ledger.outbox_relays
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v ledger.outbox_relays;
    v_key bigint;
BEGIN
    PERFORM ledger.check_relay(p_relay, p_topic);
    v_key := hashtextextended('ledger.outbox_relay:' || p_relay, 0);
    IF NOT EXISTS (SELECT 1 FROM pg_locks l
                   WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted AND l.mode = 'ExclusiveLock'
                     AND l.objsubid = 1 AND l.classid = ((v_key >> 32) & 4294967295)::oid
                     AND l.objid = (v_key & 4294967295)::oid) THEN
        RAISE EXCEPTION 'Relay "%" is not claimed by this session', p_relay USING ERRCODE = 'LG098',
            HINT = 'Call ledger.outbox_claim first.';
    END IF;
    INSERT INTO ledger.outbox_relays (relay, topic) VALUES (p_relay, p_topic) ON CONFLICT (relay) DO NOTHING;
    SELECT r.* INTO v FROM ledger.outbox_relays r WHERE r.relay = p_relay FOR UPDATE;
    IF v.topic <> p_topic THEN
        RAISE EXCEPTION 'Relay "%" publishes to topic "%", not "%"', p_relay, v.topic, p_topic USING ERRCODE = 'LG098',
            HINT = 'A relay keeps one topic: give another --relay name for another topic.';
    END IF;
    RETURN v;
END
$$;

CREATE FUNCTION ledger.outbox_pending(p_relay text, p_topic text, p_limit integer DEFAULT 500)
RETURNS TABLE (seq bigint, message_id text, message_key text, payload text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
SET jit = off
AS $$
DECLARE
    v ledger.outbox_relays;
    v_end bigint;
    v_last bigint;
    v_count integer;
BEGIN
    PERFORM access.check_session();
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'A relay takes 1 to 10000 events at a time, not %', p_limit USING ERRCODE = 'LG098';
    END IF;
    v := ledger.open_relay(p_relay, p_topic);
    v_end := least(v.published_seq + 5000, coalesce((SELECT max(e.seq) FROM audit.events e WHERE e.seq IS NOT NULL), 0));
    SELECT count(*), max(x.seq) INTO v_count, v_last FROM (
        SELECT e.seq FROM audit.events e
        WHERE e.seq > v.published_seq AND e.seq <= v_end AND ledger.outbox_publishes(e.action)
        ORDER BY e.seq LIMIT p_limit) x;
    IF v_count = p_limit THEN
        v_end := v_last;
    END IF;
    RETURN QUERY
    WITH ev AS (
        SELECT e.* FROM audit.events e
        WHERE e.seq > v.published_seq AND e.seq <= v_end AND ledger.outbox_publishes(e.action)
    ), posted AS (
        SELECT ev.seq, t.id, a.code, row_number() OVER (PARTITION BY ev.seq ORDER BY min(en.id)) AS n,
               jsonb_build_object('id', t.id, 'kind', t.kind, 'idempotency_key', t.idempotency_key,
                                  'effective_at', ledger.utc_text(t.effective_at), 'recorded_at', ledger.utc_text(t.recorded_at),
                                  'description', t.description, 'external_ref', t.external_ref, 'reverses', t.reverses) AS tx,
               ev.occurred_at
        FROM ev
        JOIN ledger.transactions t ON ev.action = 'transaction.posted' AND ev.object_type = 'transaction'
                                  AND ev.object_id ~ '^[0-9]{1,18}$' AND t.id = ev.object_id::bigint
        JOIN ledger.entries en ON en.transaction_id = t.id
        JOIN ledger.accounts a ON a.id = en.account_id
        GROUP BY ev.seq, t.id, a.code, ev.occurred_at
    )
    SELECT p.seq, format('audit:%s/%s', p.seq, p.n), p.code,
           jsonb_build_object('message_id', format('audit:%s/%s', p.seq, p.n), 'action', 'transaction.posted',
                              'audit_seq', p.seq, 'occurred_at', ledger.utc_text(p.occurred_at), 'account', p.code,
                              'transaction', p.tx || jsonb_build_object('legs', (
                                  SELECT jsonb_agg(jsonb_build_object('account', a.code, 'currency', en.currency,
                                                                      'amount', ledger.format_minor(en.amount, c.exponent))
                                                   ORDER BY en.id)
                                  FROM ledger.entries en
                                  JOIN ledger.accounts a ON a.id = en.account_id
                                  JOIN ledger.currencies c ON c.code = en.currency
                                  WHERE en.transaction_id = p.id)))::text
    FROM posted p
    UNION ALL
    SELECT ev.seq, format('audit:%s/1', ev.seq), ev.object_type || ':' || coalesce(ev.object_id, ''),
           jsonb_build_object('message_id', format('audit:%s/1', ev.seq), 'action', ev.action, 'audit_seq', ev.seq,
                              'occurred_at', ledger.utc_text(ev.occurred_at), 'object_type', ev.object_type,
                              'object_id', ev.object_id, 'details', ev.details)::text
    FROM ev WHERE ev.action <> 'transaction.posted'
    UNION ALL
    SELECT v_end, NULL, NULL, NULL
    ORDER BY 1, 2 NULLS LAST;
END
$$;

CREATE FUNCTION ledger.outbox_ack(p_relay text, p_topic text, p_upto bigint, p_messages integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v ledger.outbox_relays;
BEGIN
    PERFORM access.check_session();
    v := ledger.open_relay(p_relay, p_topic);
    IF p_upto IS NULL OR p_upto < v.published_seq
       OR p_upto > coalesce((SELECT max(e.seq) FROM audit.events e WHERE e.seq IS NOT NULL), 0) THEN
        RAISE EXCEPTION 'Relay "%" is at %: it moves on to a sealed audit number after that, not %',
            p_relay, v.published_seq, coalesce(p_upto::text, 'null') USING ERRCODE = 'LG098';
    END IF;
    IF p_messages IS NULL OR p_messages < 0 THEN
        RAISE EXCEPTION 'A count of messages is 0 or more' USING ERRCODE = 'LG098';
    END IF;
    UPDATE ledger.outbox_relays r
    SET published_seq = p_upto, messages = r.messages + p_messages, updated_at = clock_timestamp()
    WHERE r.relay = p_relay;
    RETURN p_upto;
END
$$;

-- Where each relay stands, for ledgerctl outbox status and the health panel.
CREATE FUNCTION ledger.outbox_status()
RETURNS TABLE (relay text, topic text, published_seq bigint, messages bigint, updated_at timestamptz,
               behind bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    RETURN QUERY
    SELECT r.relay, r.topic, r.published_seq, r.messages, r.updated_at,
           (SELECT count(*) FROM audit.events e WHERE e.seq > r.published_seq AND ledger.outbox_publishes(e.action))
    FROM ledger.outbox_relays r ORDER BY r.relay;
END
$$;

REVOKE ALL ON ledger.outbox_relays FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger.outbox_publishes(text), ledger.check_relay(text, text), ledger.outbox_claim(text),
    ledger.open_relay(text, text), ledger.outbox_pending(text, text, integer),
    ledger.outbox_ack(text, text, bigint, integer), ledger.outbox_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.outbox_claim(text), ledger.outbox_pending(text, text, integer),
    ledger.outbox_ack(text, text, bigint, integer), ledger.outbox_status() TO ledger_writer;
