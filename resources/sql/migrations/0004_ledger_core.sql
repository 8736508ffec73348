-- The double-entry ledger: transactions and entries (append-only), idempotent posting,
-- per-account sequence and running balance, bitemporal point-in-time balances, and
-- reversals with four-eyes approval (CONTRIBUTING.md, "Architecture"). Sign convention: debit positive, credit negative; every transaction sums
-- to zero per currency. Balances are presented on the account's normal side.

-- Interval stabbing queries for late entries need GiST over (account, time range).
CREATE EXTENSION IF NOT EXISTS btree_gist;

SET LOCAL ROLE ledger_owner;

-------------------------------------------------------------------------------------------
-- Money: exact decimal strings in, exact decimal strings out, bigint minor units inside.
-------------------------------------------------------------------------------------------

-- Largest amount of one leg, in minor units (10^15: ten trillion euros). Keeps any
-- realistic running balance far from bigint overflow, which the server refuses anyway.
CREATE FUNCTION ledger.max_minor_units() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1000000000000000::bigint $$;

-- '12.34' EUR -> 1234. Refuses malformed text, more decimals than the currency has,
-- and amounts out of range, each with its own SQLSTATE and a message naming the value.
CREATE FUNCTION ledger.to_minor(p_amount text, p_currency text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_exponent smallint;
    v_fraction text;
    v_value numeric;
BEGIN
    SELECT c.exponent INTO v_exponent FROM ledger.currencies c WHERE c.code = p_currency;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Unknown currency "%": use an ISO 4217 code the ledger knows', p_currency
            USING ERRCODE = 'LG003';
    END IF;
    IF p_amount IS NULL OR p_amount !~ '^[+-]?[0-9]{1,19}(\.[0-9]{1,19})?$' THEN
        RAISE EXCEPTION 'Amount "%" is not a decimal number like 1234.56', coalesce(p_amount, 'null')
            USING ERRCODE = 'LG012';
    END IF;
    v_fraction := substring(p_amount from '\.([0-9]+)$');
    IF v_fraction IS NOT NULL AND length(rtrim(v_fraction, '0')) > v_exponent THEN
        RAISE EXCEPTION 'Amount % has more decimals than % allows (%)', p_amount, p_currency, v_exponent
            USING ERRCODE = 'LG013';
    END IF;
    v_value := p_amount::numeric * (10::numeric ^ v_exponent);
    IF abs(v_value) > ledger.max_minor_units() THEN
        RAISE EXCEPTION 'Amount % % is out of range (at most % in one leg)', p_amount, p_currency,
            ledger.format_amount(ledger.max_minor_units(), p_currency)
            USING ERRCODE = 'LG014';
    END IF;
    RETURN v_value::bigint;
END
$$;

-- 1234 EUR -> '12.34'; -5 JPY -> '-5'; 1 BHD -> '0.001'.
CREATE FUNCTION ledger.format_amount(p_minor bigint, p_currency text) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger
AS $$
    SELECT round(p_minor::numeric / (10::numeric ^ c.exponent), c.exponent)::text
    FROM ledger.currencies c WHERE c.code = p_currency
$$;

-------------------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------------------

-- The mutable head of each account: last sequence number and balance in recorded order.
-- Derived from the entries (the invariant checks compare them); rows are locked, in
-- account id order, by every posting that touches the account.
CREATE TABLE ledger.account_heads (
    account_id bigint PRIMARY KEY REFERENCES ledger.accounts (id),
    last_seq   bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    balance    bigint NOT NULL DEFAULT 0,  -- signed: debit positive
    last_recorded_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO ledger.account_heads (account_id) SELECT id FROM ledger.accounts;

CREATE TABLE ledger.transactions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    request_hash    bytea       NOT NULL CHECK (length(request_hash) = 32),
    kind            text        NOT NULL CHECK (kind IN ('posting', 'event', 'reversal', 'rebook', 'seed')),
    effective_at    timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    description     text        NOT NULL CHECK (length(description) <= 500),
    external_ref    text        CHECK (length(external_ref) <= 200),
    reverses        bigint      UNIQUE REFERENCES ledger.transactions (id),
    created_by      text        NOT NULL,  -- the operator
    created_role    text        NOT NULL,  -- the login role that posted
    CHECK ((kind = 'reversal') = (reverses IS NOT NULL)),
    CHECK (reverses IS NULL OR reverses < id)
);

CREATE TABLE ledger.entries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id bigint      NOT NULL REFERENCES ledger.transactions (id),
    account_id     bigint      NOT NULL REFERENCES ledger.accounts (id),
    amount         bigint      NOT NULL CHECK (amount <> 0),
    currency       char(3)     NOT NULL,
    effective_at   timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    account_seq    bigint      NOT NULL CHECK (account_seq > 0),
    balance_after  bigint      NOT NULL,  -- signed running balance in recorded order
    UNIQUE (account_id, account_seq)
);

CREATE INDEX entries_by_transaction ON ledger.entries (transaction_id);
-- Point-in-time balance, first step: the last entry recorded by a time, index-only.
CREATE INDEX entries_by_recorded ON ledger.entries (account_id, recorded_at, account_seq)
    INCLUDE (balance_after, effective_at, amount);
-- Timelines in effective order.
CREATE INDEX entries_by_effective ON ledger.entries (account_id, effective_at, account_seq);
-- Late ("backdated") entries, recorded more than ledger.late_after() after their effective
-- time, and future-dated ones, effective after they were recorded: both rare, both found by
-- stabbing their [earlier, later) time range.
CREATE INDEX entries_late ON ledger.entries
    USING gist (account_id, tstzrange(effective_at, recorded_at, '[)'))
    WHERE recorded_at - effective_at > interval '5 minutes';
CREATE INDEX entries_future_dated ON ledger.entries
    USING gist (account_id, tstzrange(recorded_at, effective_at, '[)'))
    WHERE effective_at > recorded_at;

-- The threshold the partial index entries_late is built with. Entries less late than this
-- are found by scanning at most this much recorded time; keep the two in step.
CREATE FUNCTION ledger.late_after() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT interval '5 minutes' $$;

CREATE TABLE ledger.reason_codes (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z_]{1,31}$'),
    description text NOT NULL
);
INSERT INTO ledger.reason_codes (code, description) VALUES
    ('DUPLICATE',        'Posted twice'),
    ('WRONG_AMOUNT',     'Amount was wrong'),
    ('WRONG_ACCOUNT',    'Posted to the wrong account'),
    ('WRONG_DATE',       'Effective date was wrong'),
    ('CUSTOMER_DISPUTE', 'Customer disputed the transaction'),
    ('FRAUD',            'Fraudulent transaction'),
    ('OTHER',            'Other reason, explained in the note');

CREATE TABLE ledger.reversal_requests (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id bigint      NOT NULL REFERENCES ledger.transactions (id),
    reason_code    text        NOT NULL REFERENCES ledger.reason_codes (code),
    note           text        NOT NULL CHECK (length(btrim(note)) BETWEEN 1 AND 2000),
    rebook         jsonb,      -- the corrected posting for "reverse and rebook"
    requested_by   text        NOT NULL,
    requested_role text        NOT NULL,
    requested_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX reversal_requests_by_transaction ON ledger.reversal_requests (transaction_id);

CREATE TABLE ledger.reversal_decisions (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id          bigint      NOT NULL UNIQUE REFERENCES ledger.reversal_requests (id),
    decision            text        NOT NULL CHECK (decision IN ('approved', 'rejected')),
    note                text        CHECK (length(note) <= 2000),
    decided_by          text        NOT NULL,
    decided_role        text        NOT NULL,
    decided_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    reversal_transaction_id bigint  REFERENCES ledger.transactions (id),
    rebook_transaction_id   bigint  REFERENCES ledger.transactions (id),
    CHECK ((decision = 'approved') = (reversal_transaction_id IS NOT NULL)),
    CHECK (decision = 'approved' OR rebook_transaction_id IS NULL)
);

-------------------------------------------------------------------------------------------
-- Append-only, for everyone (owner and replica mode included).
-------------------------------------------------------------------------------------------

DO $append_only$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['transactions', 'entries', 'reason_codes', 'reversal_requests',
                             'reversal_decisions', 'currencies']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON ledger.%I '
                       'FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ledger.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()', t || '_no_truncate', t);
        EXECUTE format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER %I', t, t || '_append_only');
        EXECUTE format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER %I', t, t || '_no_truncate');
    END LOOP;
END
$append_only$;

-- Heads change, but only inside the owner's posting functions; never removed.
CREATE FUNCTION ledger.guard_heads() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_user = 'ledger_owner' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on ledger.account_heads is not allowed outside the posting functions', TG_OP
        USING ERRCODE = 'LG001';
END
$$;
CREATE TRIGGER account_heads_guard BEFORE UPDATE OR DELETE ON ledger.account_heads
    FOR EACH ROW EXECUTE FUNCTION ledger.guard_heads();
CREATE TRIGGER account_heads_no_truncate BEFORE TRUNCATE ON ledger.account_heads
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.account_heads ENABLE ALWAYS TRIGGER account_heads_guard;
ALTER TABLE ledger.account_heads ENABLE ALWAYS TRIGGER account_heads_no_truncate;

-- Every statement that adds entries leaves each transaction it touches balanced per
-- currency, in the accounts' own currencies. One check per statement (COPY included).
CREATE FUNCTION ledger.check_entries_balance() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, ledger AS $$
DECLARE
    v_bad record;
BEGIN
    SELECT n.transaction_id, n.currency, a.code, a.currency AS account_currency INTO v_bad
    FROM new_entries n JOIN ledger.accounts a ON a.id = n.account_id
    WHERE a.currency <> n.currency
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Transaction %: a % leg on account % whose currency is %',
            v_bad.transaction_id, v_bad.currency, v_bad.code, v_bad.account_currency
            USING ERRCODE = 'LG015';
    END IF;
    SELECT e.transaction_id, e.currency, sum(e.amount) AS total INTO v_bad
    FROM ledger.entries e
    WHERE e.transaction_id IN (SELECT DISTINCT transaction_id FROM new_entries)
    GROUP BY e.transaction_id, e.currency
    HAVING sum(e.amount) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Transaction % does not balance in %: its legs sum to % (debits must equal credits)',
            v_bad.transaction_id, v_bad.currency, ledger.format_amount(v_bad.total, v_bad.currency)
            USING ERRCODE = 'LG016';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER entries_balanced AFTER INSERT ON ledger.entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_entries_balance();
ALTER TABLE ledger.entries ENABLE ALWAYS TRIGGER entries_balanced;

-------------------------------------------------------------------------------------------
-- Posting
-------------------------------------------------------------------------------------------

-- A posting request, validated and normalised: account ids, minor units, and the
-- canonical text whose SHA-256 is the request's fingerprint for idempotency.
CREATE TYPE ledger.normalized_request AS (
    effective_at timestamptz,
    description  text,
    external_ref text,
    account_ids  bigint[],
    amounts      bigint[],
    currencies   text[],
    canonical    jsonb
);

CREATE FUNCTION ledger.normalize_request(p_request jsonb) RETURNS ledger.normalized_request
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    r ledger.normalized_request;
    v_leg jsonb;
    v_n int := 0;
    v_code text;
    v_currency text;
    v_account record;
    v_amount bigint;
    v_legs jsonb := '[]'::jsonb;
    v_text text;
BEGIN
    IF p_request IS NULL OR jsonb_typeof(p_request) <> 'object' THEN
        RAISE EXCEPTION 'A transaction must be a JSON object with effective_at, description and legs'
            USING ERRCODE = 'LG017';
    END IF;
    v_text := p_request->>'effective_at';
    IF v_text IS NULL THEN
        RAISE EXCEPTION 'effective_at is missing: give the business time, e.g. "2026-11-20T15:00:00Z"'
            USING ERRCODE = 'LG017';
    END IF;
    BEGIN
        r.effective_at := v_text::timestamptz;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
        RAISE EXCEPTION 'effective_at "%" is not a time like "2026-11-20T15:00:00Z"', v_text
            USING ERRCODE = 'LG017';
    END;
    IF r.effective_at NOT BETWEEN timestamptz '1900-01-01 00:00Z' AND timestamptz '2200-01-01 00:00Z' THEN
        RAISE EXCEPTION 'effective_at % is outside the years 1900 to 2199', v_text USING ERRCODE = 'LG017';
    END IF;
    r.description := coalesce(p_request->>'description', '');
    IF length(r.description) > 500 THEN
        RAISE EXCEPTION 'description is longer than 500 characters' USING ERRCODE = 'LG017';
    END IF;
    r.external_ref := p_request->>'external_ref';
    IF jsonb_typeof(p_request->'legs') IS DISTINCT FROM 'array' OR jsonb_array_length(p_request->'legs') < 2 THEN
        RAISE EXCEPTION 'legs must be an array of at least two legs ({"account", "amount", "currency"})'
            USING ERRCODE = 'LG017';
    END IF;
    IF jsonb_array_length(p_request->'legs') > 100 THEN
        RAISE EXCEPTION 'A transaction has at most 100 legs' USING ERRCODE = 'LG017';
    END IF;
    r.account_ids := '{}'; r.amounts := '{}'; r.currencies := '{}';
    FOR v_leg IN SELECT value FROM jsonb_array_elements(p_request->'legs')
    LOOP
        v_n := v_n + 1;
        v_code := v_leg->>'account';
        v_currency := upper(v_leg->>'currency');
        IF v_code IS NULL OR v_currency IS NULL OR v_leg->'amount' IS NULL THEN
            RAISE EXCEPTION 'Leg % needs account, amount and currency', v_n USING ERRCODE = 'LG017';
        END IF;
        SELECT a.id, a.currency INTO v_account FROM ledger.accounts a WHERE a.code = v_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Leg %: no account with code "%"', v_n, v_code USING ERRCODE = 'LG018';
        END IF;
        IF v_account.currency <> v_currency THEN
            RAISE EXCEPTION 'Leg %: account % holds %, not %', v_n, v_code, v_account.currency, v_currency
                USING ERRCODE = 'LG015';
        END IF;
        v_amount := ledger.to_minor(v_leg->>'amount', v_currency);
        IF v_amount = 0 THEN
            RAISE EXCEPTION 'Leg %: amount is zero', v_n USING ERRCODE = 'LG012';
        END IF;
        r.account_ids := r.account_ids || v_account.id;
        r.amounts := r.amounts || v_amount;
        r.currencies := r.currencies || v_currency;
        v_legs := v_legs || jsonb_build_object('account', v_code, 'minor', v_amount, 'currency', v_currency);
    END LOOP;
    -- Balanced per currency before anything is written (the trigger checks again).
    PERFORM 1 FROM unnest(r.amounts, r.currencies) AS l(amount, currency)
    GROUP BY l.currency HAVING sum(l.amount) <> 0;
    IF FOUND THEN
        RAISE EXCEPTION 'The legs do not balance: per currency, debits (positive) must equal credits (negative)'
            USING ERRCODE = 'LG016';
    END IF;
    r.canonical := jsonb_build_object(
        'effective_at', to_char(r.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'description', r.description,
        'external_ref', r.external_ref,
        'legs', v_legs);
    RETURN r;
END
$$;

-- The one place entries are written. Serialises requests with the same idempotency key,
-- locks the accounts' heads in id order (so two postings never deadlock), records every
-- leg with its sequence number and running balance, enforces "no negative balance", and
-- writes the audit event. Returns the transaction and whether this call created it.
CREATE FUNCTION ledger.post_normalized(p_key text, r ledger.normalized_request, p_kind text,
                                       p_reverses bigint, OUT transaction_id bigint, OUT created boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_hash bytea;
    v_existing record;
    v_recorded timestamptz;
    v_negative record;
BEGIN
    IF p_key IS NULL OR length(p_key) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'An idempotency key of 1 to 200 characters is required' USING ERRCODE = 'LG010';
    END IF;
    v_hash := sha256(convert_to(jsonb_build_object('kind', p_kind, 'reverses', p_reverses,
                                                   'request', r.canonical)::text, 'UTF8'));

    PERFORM pg_advisory_xact_lock(hashtextextended('ledger.idempotency:' || p_key, 0));
    SELECT t.id, t.request_hash INTO v_existing FROM ledger.transactions t WHERE t.idempotency_key = p_key;
    IF FOUND THEN
        IF v_existing.request_hash = v_hash THEN
            transaction_id := v_existing.id;
            created := false;
            RETURN;
        END IF;
        RAISE EXCEPTION 'Idempotency key "%" was already used for a different request (transaction %)', p_key, v_existing.id
            USING ERRCODE = 'LG011',
                  HINT = 'Use a new key for a new transaction; resend the same request to get the original back.';
    END IF;

    PERFORM 1 FROM ledger.account_heads h
    WHERE h.account_id = ANY (r.account_ids)
    ORDER BY h.account_id
    FOR UPDATE;
    -- Taken after the locks, and never before an account's last entry: per account,
    -- recorded order and sequence order agree even if the server's clock steps back.
    SELECT greatest(clock_timestamp(), max(h.last_recorded_at)) INTO v_recorded
    FROM ledger.account_heads h WHERE h.account_id = ANY (r.account_ids);

    INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, effective_at, recorded_at,
                                     description, external_ref, reverses, created_by, created_role)
    VALUES (p_key, v_hash, p_kind, r.effective_at, v_recorded, r.description, r.external_ref,
            p_reverses, audit.current_operator(), session_user)
    RETURNING id INTO transaction_id;

    WITH legs AS (
        SELECT l.account_id, l.amount, l.currency, l.ord
        FROM unnest(r.account_ids, r.amounts, r.currencies) WITH ORDINALITY AS l(account_id, amount, currency, ord)
    )
    INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, effective_at, recorded_at,
                                account_seq, balance_after)
    SELECT post_normalized.transaction_id, l.account_id, l.amount, l.currency, r.effective_at, v_recorded,
           h.last_seq + row_number() OVER w,
           h.balance + sum(l.amount) OVER w
    FROM legs l JOIN ledger.account_heads h ON h.account_id = l.account_id
    WINDOW w AS (PARTITION BY l.account_id ORDER BY l.ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ORDER BY l.ord;

    WITH moved AS (
        SELECT l.account_id, count(*) AS n, sum(l.amount) AS total
        FROM unnest(r.account_ids, r.amounts) AS l(account_id, amount)
        GROUP BY l.account_id
    )
    UPDATE ledger.account_heads h
    SET last_seq = h.last_seq + m.n, balance = h.balance + m.total, last_recorded_at = v_recorded
    FROM moved m WHERE h.account_id = m.account_id;

    SELECT a.code, ledger.format_amount(CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END, a.currency) AS shown,
           a.currency
    INTO v_negative
    FROM ledger.account_heads h JOIN ledger.accounts a ON a.id = h.account_id
    WHERE h.account_id = ANY (r.account_ids)
      AND NOT a.allow_negative
      AND (CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END) < 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Account % may not go negative: this would leave it at % %', v_negative.code, v_negative.shown, v_negative.currency
            USING ERRCODE = 'LG020', HINT = 'Nothing was posted.';
    END IF;

    PERFORM audit.record('transaction.posted', 'transaction', transaction_id::text,
                         jsonb_build_object('idempotency_key', p_key, 'kind', p_kind, 'reverses', p_reverses,
                                            'legs', cardinality(r.account_ids)));
    created := true;
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.post_normalized(text, ledger.normalized_request, text, bigint) FROM PUBLIC;

-- Posts one transaction: {"idempotency_key", "effective_at", "description", "external_ref"?,
-- "legs": [{"account", "amount", "currency"}]}. Amounts are decimal strings (or exact JSON
-- numbers) in the currency's units. Returns the transaction id; the same request again
-- returns the same id and writes nothing.
CREATE FUNCTION ledger.post_transaction(p_request jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_result record;
BEGIN
    SELECT * INTO v_result
    FROM ledger.post_normalized(p_request->>'idempotency_key', ledger.normalize_request(p_request), 'posting', NULL);
    RETURN v_result.transaction_id;
END
$$;

-- An income or outcome event from an at-least-once feed:
-- {"event_id", "type": "income"|"outcome", "account", "amount" (positive), "currency",
--  "occurred_at", "description"?, "contra_account"?}. Income raises the account's balance
-- (on its normal side), outcome lowers it; the contra account (default: the template with
-- {currency} replaced) takes the other side. Duplicates return the original transaction.
CREATE FUNCTION ledger.ingest_event(p_event jsonb, p_contra_template text DEFAULT '1000-CASH-{currency}',
                                    OUT transaction_id bigint, OUT duplicate boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_event_id text := p_event->>'event_id';
    v_type text := lower(p_event->>'type');
    v_currency text := upper(p_event->>'currency');
    v_account record;
    v_contra text;
    v_amount text := p_event->>'amount';
    v_sign int;
    v_result record;
BEGIN
    IF jsonb_typeof(p_event) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'An event must be a JSON object' USING ERRCODE = 'LG017';
    END IF;
    IF v_event_id IS NULL OR length(v_event_id) NOT BETWEEN 1 AND 190 THEN
        RAISE EXCEPTION 'event_id is missing (1 to 190 characters)' USING ERRCODE = 'LG017';
    END IF;
    IF v_type IS NULL OR v_type NOT IN ('income', 'outcome') THEN
        RAISE EXCEPTION 'type must be "income" or "outcome", not "%"', coalesce(p_event->>'type', 'null')
            USING ERRCODE = 'LG017';
    END IF;
    IF p_event->'occurred_at' IS NULL THEN
        RAISE EXCEPTION 'occurred_at is missing: give the time of the event, e.g. "2026-11-20T15:00:00Z"'
            USING ERRCODE = 'LG017';
    END IF;
    IF v_amount IS NULL OR v_amount LIKE '-%' OR v_amount LIKE '+%' THEN
        RAISE EXCEPTION 'amount must be a positive decimal; the type gives the direction' USING ERRCODE = 'LG012';
    END IF;
    SELECT a.code, a.normal_side INTO v_account FROM ledger.accounts a WHERE a.code = p_event->>'account';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No account with code "%"', coalesce(p_event->>'account', 'null') USING ERRCODE = 'LG018';
    END IF;
    v_contra := coalesce(p_event->>'contra_account', replace(p_contra_template, '{currency}', coalesce(v_currency, '')));
    -- Raising a debit-normal account is a debit (+); raising a credit-normal one a credit (-).
    v_sign := CASE WHEN (v_type = 'income') = (v_account.normal_side = 'debit') THEN 1 ELSE -1 END;
    SELECT * INTO v_result FROM ledger.post_normalized(
        'event:' || v_event_id,
        ledger.normalize_request(jsonb_build_object(
            'effective_at', p_event->'occurred_at',
            'description', coalesce(p_event->>'description', v_type || ' ' || v_event_id),
            'external_ref', v_event_id,
            'legs', jsonb_build_array(
                jsonb_build_object('account', v_account.code, 'currency', v_currency,
                                   'amount', CASE WHEN v_sign > 0 THEN v_amount ELSE '-' || v_amount END),
                jsonb_build_object('account', v_contra, 'currency', v_currency,
                                   'amount', CASE WHEN v_sign > 0 THEN '-' || v_amount ELSE v_amount END)))),
        'event', NULL);
    transaction_id := v_result.transaction_id;
    duplicate := NOT v_result.created;
END
$$;

-------------------------------------------------------------------------------------------
-- Point-in-time balances
-------------------------------------------------------------------------------------------

-- Signed sum (debit positive) of the account's entries with effective_at <= E and
-- recorded_at <= K, in O(log n): with T = min(E, K),
--   everything recorded by T (one index probe: the running balance),
--   minus entries recorded by T but effective after E (future-dated: a GiST stab at T),
--   plus, when K > E, entries effective by E but recorded in (E, K] (late entries: those
--   less late than late_after() lie recorded in (E, E + late_after()], a short index
--   range; later ones are in the entries_late GiST index, stabbed at E).
CREATE FUNCTION ledger.balance_minor(p_account_id bigint, p_effective timestamptz, p_known_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_t timestamptz := least(p_effective, p_known_at);
    v_base bigint;
    v_future bigint;
    v_late bigint := 0;
BEGIN
    SELECT e.balance_after INTO v_base
    FROM ledger.entries e
    WHERE e.account_id = p_account_id AND e.recorded_at <= v_t
    ORDER BY e.recorded_at DESC, e.account_seq DESC
    LIMIT 1;

    SELECT coalesce(sum(e.amount), 0) INTO v_future
    FROM ledger.entries e
    WHERE e.account_id = p_account_id
      AND e.effective_at > e.recorded_at
      AND tstzrange(e.recorded_at, e.effective_at, '[)') @> v_t
      AND e.effective_at > p_effective;

    IF p_known_at > p_effective THEN
        SELECT coalesce(sum(e.amount), 0) INTO v_late
        FROM ledger.entries e
        WHERE e.account_id = p_account_id
          AND e.recorded_at > p_effective
          AND e.recorded_at <= least(p_known_at, p_effective + ledger.late_after())
          AND e.effective_at <= p_effective
          AND e.recorded_at - e.effective_at <= interval '5 minutes';
        v_late := v_late + (
            SELECT coalesce(sum(e.amount), 0)
            FROM ledger.entries e
            WHERE e.account_id = p_account_id
              AND e.recorded_at - e.effective_at > interval '5 minutes'
              AND tstzrange(e.effective_at, e.recorded_at, '[)') @> p_effective
              AND e.recorded_at <= p_known_at);
    END IF;
    RETURN coalesce(v_base, 0) - v_future + v_late;
END
$$;

-- The naive way, kept for tests and benchmarks: a sum over the account's whole history.
CREATE FUNCTION ledger.balance_minor_naive(p_account_id bigint, p_effective timestamptz, p_known_at timestamptz)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger
AS $$
    SELECT coalesce(sum(e.amount), 0)::bigint FROM ledger.entries e
    WHERE e.account_id = p_account_id AND e.effective_at <= p_effective AND e.recorded_at <= p_known_at
$$;

-- The balance of an account as a person reads it: on its normal side, as an exact decimal
-- string, at effective time E as the ledger knew it at K (both default to now).
CREATE FUNCTION ledger.balance(p_account text, p_effective timestamptz DEFAULT NULL, p_known_at timestamptz DEFAULT NULL,
                               OUT account text, OUT currency text, OUT amount text, OUT minor_units bigint,
                               OUT effective_at timestamptz, OUT known_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_account record;
    v_signed bigint;
BEGIN
    SELECT a.id, a.code, a.currency, a.normal_side INTO v_account FROM ledger.accounts a WHERE a.code = p_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No account with code "%"', p_account USING ERRCODE = 'LG018';
    END IF;
    effective_at := coalesce(p_effective, clock_timestamp());
    known_at := coalesce(p_known_at, clock_timestamp());
    v_signed := ledger.balance_minor(v_account.id, effective_at, known_at);
    account := v_account.code;
    currency := v_account.currency;
    minor_units := CASE WHEN v_account.normal_side = 'debit' THEN v_signed ELSE -v_signed END;
    amount := ledger.format_amount(minor_units, v_account.currency);
END
$$;

-------------------------------------------------------------------------------------------
-- Reversals: request -> approve or reject (a different person, a supervisor) -> one
-- reversal transaction mirroring the original (plus the corrected posting, for "reverse
-- and rebook"). Requests and decisions are rows; the state is derived.
-------------------------------------------------------------------------------------------

CREATE VIEW ledger.reversal_request_status AS
SELECT r.id, r.transaction_id, r.reason_code, r.note, r.rebook IS NOT NULL AS rebook,
       r.requested_by, r.requested_at,
       coalesce(d.decision, 'pending') AS state,
       d.decided_by, d.decided_at, d.note AS decision_note,
       d.reversal_transaction_id, d.rebook_transaction_id
FROM ledger.reversal_requests r
LEFT JOIN ledger.reversal_decisions d ON d.request_id = r.id;

CREATE FUNCTION ledger.request_reversal(p_transaction bigint, p_reason text, p_note text,
                                        p_rebook jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_tx record;
    v_id bigint;
    v_pending bigint;
BEGIN
    IF p_note IS NULL OR length(btrim(p_note)) = 0 THEN
        RAISE EXCEPTION 'A note explaining the reversal is required' USING ERRCODE = 'LG030';
    END IF;
    IF length(p_note) > 2000 THEN
        RAISE EXCEPTION 'The note is longer than 2000 characters' USING ERRCODE = 'LG030';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ledger.reason_codes c WHERE c.code = p_reason) THEN
        RAISE EXCEPTION 'Unknown reason code "%"; use one of: %', p_reason,
            (SELECT string_agg(code, ', ' ORDER BY code) FROM ledger.reason_codes) USING ERRCODE = 'LG030';
    END IF;
    -- One request at a time per transaction.
    PERFORM pg_advisory_xact_lock(hashtextextended('ledger.reversal-of:' || p_transaction, 0));
    SELECT t.id, t.kind INTO v_tx FROM ledger.transactions t WHERE t.id = p_transaction;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No transaction %', p_transaction USING ERRCODE = 'LG031';
    END IF;
    IF v_tx.kind = 'reversal' THEN
        RAISE EXCEPTION 'Transaction % is itself a reversal and cannot be reversed', p_transaction
            USING ERRCODE = 'LG032', HINT = 'Post a new transaction instead.';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger.transactions t WHERE t.reverses = p_transaction) THEN
        RAISE EXCEPTION 'Transaction % has already been reversed', p_transaction USING ERRCODE = 'LG032';
    END IF;
    SELECT s.id INTO v_pending FROM ledger.reversal_request_status s
    WHERE s.transaction_id = p_transaction AND s.state = 'pending';
    IF FOUND THEN
        RAISE EXCEPTION 'Transaction % already has a pending reversal request (%)', p_transaction, v_pending
            USING ERRCODE = 'LG033';
    END IF;
    IF p_rebook IS NOT NULL THEN
        PERFORM ledger.normalize_request(p_rebook); -- refuse a bad correction now, not at approval
    END IF;
    INSERT INTO ledger.reversal_requests (transaction_id, reason_code, note, rebook, requested_by, requested_role)
    VALUES (p_transaction, p_reason, btrim(p_note), p_rebook, audit.current_operator(), session_user)
    RETURNING id INTO v_id;
    PERFORM audit.record('reversal.requested', 'reversal_request', v_id::text,
                         jsonb_build_object('transaction_id', p_transaction, 'reason', p_reason, 'rebook', p_rebook IS NOT NULL));
    RETURN v_id;
END
$$;

CREATE FUNCTION ledger.decide_reversal(p_request bigint, p_approve boolean, p_note text,
                                       OUT reversal_transaction_id bigint, OUT rebook_transaction_id bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_req record;
    v_done record;
    v_operator text := audit.current_operator();
    v_orig record;
    v_mirror ledger.normalized_request;
    v_result record;
BEGIN
    IF NOT pg_has_role(session_user, 'console_supervisor', 'MEMBER') THEN
        RAISE EXCEPTION 'Only supervisors decide reversal requests' USING ERRCODE = '42501';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('ledger.reversal-request:' || p_request, 0));
    SELECT * INTO v_req FROM ledger.reversal_requests r WHERE r.id = p_request;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No reversal request %', p_request USING ERRCODE = 'LG034';
    END IF;
    SELECT d.decision, d.decided_by, d.decided_at INTO v_done FROM ledger.reversal_decisions d WHERE d.request_id = p_request;
    IF FOUND THEN
        RAISE EXCEPTION 'Reversal request % was already % by % at %', p_request, v_done.decision, v_done.decided_by, v_done.decided_at
            USING ERRCODE = 'LG035';
    END IF;
    IF v_req.requested_by = v_operator THEN
        RAISE EXCEPTION 'You requested reversal %; another supervisor must decide it (four-eyes rule)', p_request
            USING ERRCODE = 'LG036';
    END IF;
    IF NOT p_approve AND (p_note IS NULL OR length(btrim(p_note)) = 0) THEN
        RAISE EXCEPTION 'A note is required to reject a request' USING ERRCODE = 'LG030';
    END IF;

    IF p_approve THEN
        SELECT t.id, t.effective_at, t.description INTO v_orig FROM ledger.transactions t WHERE t.id = v_req.transaction_id;
        -- The mirror: every leg negated, same accounts, same effective time.
        SELECT v_orig.effective_at,
               left(format('Reversal of #%s (%s): %s', v_orig.id, v_req.reason_code, v_orig.description), 500),
               'reversal-request:' || p_request,
               array_agg(e.account_id ORDER BY e.id), array_agg(-e.amount ORDER BY e.id),
               array_agg(e.currency::text ORDER BY e.id),
               jsonb_build_object('reverses', v_orig.id, 'request', p_request)
        INTO v_mirror
        FROM ledger.entries e WHERE e.transaction_id = v_orig.id;
        SELECT * INTO v_result FROM ledger.post_normalized('reversal:' || p_request, v_mirror, 'reversal', v_orig.id);
        reversal_transaction_id := v_result.transaction_id;
        IF v_req.rebook IS NOT NULL THEN
            SELECT * INTO v_result FROM ledger.post_normalized('rebook:' || p_request,
                                                               ledger.normalize_request(v_req.rebook), 'rebook', NULL);
            rebook_transaction_id := v_result.transaction_id;
        END IF;
    END IF;

    INSERT INTO ledger.reversal_decisions (request_id, decision, note, decided_by, decided_role,
                                           reversal_transaction_id, rebook_transaction_id)
    VALUES (p_request, CASE WHEN p_approve THEN 'approved' ELSE 'rejected' END, nullif(btrim(p_note), ''),
            v_operator, session_user, reversal_transaction_id, rebook_transaction_id);
    PERFORM audit.record(CASE WHEN p_approve THEN 'reversal.approved' ELSE 'reversal.rejected' END,
                         'reversal_request', p_request::text,
                         jsonb_strip_nulls(jsonb_build_object('transaction_id', v_req.transaction_id,
                             'reversal_transaction_id', reversal_transaction_id,
                             'rebook_transaction_id', rebook_transaction_id)));
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.decide_reversal(bigint, boolean, text) FROM PUBLIC;

CREATE FUNCTION ledger.approve_reversal(p_request bigint, p_note text DEFAULT NULL,
                                        OUT reversal_transaction_id bigint, OUT rebook_transaction_id bigint)
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$ SELECT * FROM ledger.decide_reversal(p_request, true, p_note) $$;

CREATE FUNCTION ledger.reject_reversal(p_request bigint, p_note text) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$ SELECT FROM ledger.decide_reversal(p_request, false, p_note) $$;

-------------------------------------------------------------------------------------------
-- Accounts: opening one also creates its head and is audited.
-------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ledger.open_account(p_code text, p_name text, p_currency text,
                                               p_kind text, p_allow_negative boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_code IS NULL OR p_code !~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$' THEN
        RAISE EXCEPTION 'Account code "%" is not valid: use 1-64 letters, digits and . _ : / -, starting with a letter or digit', p_code
            USING ERRCODE = 'LG002';
    END IF;
    IF p_name IS NULL OR length(btrim(p_name)) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'Account name must be 1 to 200 characters' USING ERRCODE = 'LG002';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ledger.currencies c WHERE c.code = upper(p_currency)) THEN
        RAISE EXCEPTION 'Unknown currency "%": use an ISO 4217 code the ledger knows (see ledger.currencies)', p_currency
            USING ERRCODE = 'LG003';
    END IF;
    IF p_kind IS NULL OR lower(p_kind) NOT IN ('asset', 'liability', 'equity', 'income', 'expense') THEN
        RAISE EXCEPTION 'Account kind "%" is not one of asset, liability, equity, income, expense', p_kind
            USING ERRCODE = 'LG002';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger.accounts a WHERE a.code = p_code) THEN
        RAISE EXCEPTION 'An account with code "%" already exists', p_code USING ERRCODE = 'LG004';
    END IF;
    INSERT INTO ledger.accounts (code, name, currency, kind, allow_negative)
    VALUES (p_code, btrim(p_name), upper(p_currency), lower(p_kind)::ledger.account_kind,
            coalesce(p_allow_negative, true))
    RETURNING id INTO v_id;
    INSERT INTO ledger.account_heads (account_id) VALUES (v_id);
    PERFORM audit.record('account.opened', 'account', p_code,
                         jsonb_build_object('id', v_id, 'currency', upper(p_currency), 'kind', lower(p_kind),
                                            'no_negative', NOT coalesce(p_allow_negative, true)));
    RETURN v_id;
END
$$;

-------------------------------------------------------------------------------------------
-- What the console reads (views), and who may call what.
-------------------------------------------------------------------------------------------

CREATE OR REPLACE VIEW ledger.account_list AS
SELECT a.id, a.code, a.name, a.currency, a.kind, a.normal_side, a.allow_negative, a.opened_at,
       CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END AS balance_minor,
       h.last_seq AS entry_count
FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id = a.id;

CREATE VIEW ledger.transaction_list AS
SELECT t.id, t.idempotency_key, t.kind, t.effective_at, t.recorded_at, t.description, t.external_ref,
       t.reverses, r.id AS reversed_by, t.created_by, t.created_role
FROM ledger.transactions t
LEFT JOIN ledger.transactions r ON r.reverses = t.id;

CREATE VIEW ledger.entry_list AS
SELECT e.id, e.transaction_id, e.account_id, a.code AS account, e.amount, e.currency, e.effective_at,
       e.recorded_at, e.account_seq, e.balance_after
FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id;

CREATE VIEW ledger.reason_code_list AS SELECT code, description FROM ledger.reason_codes;

GRANT SELECT ON ledger.account_list, ledger.transaction_list, ledger.entry_list,
                ledger.reversal_request_status, ledger.reason_code_list
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.post_transaction(jsonb) TO ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.ingest_event(jsonb, text) TO ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.balance(text, timestamptz, timestamptz)
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.request_reversal(bigint, text, text, jsonb) TO console_operator, console_supervisor;
GRANT EXECUTE ON FUNCTION ledger.approve_reversal(bigint, text) TO console_supervisor;
GRANT EXECUTE ON FUNCTION ledger.reject_reversal(bigint, text) TO console_supervisor;
GRANT EXECUTE ON FUNCTION ledger.open_account(text, text, text, text, boolean) TO ledger_writer;
