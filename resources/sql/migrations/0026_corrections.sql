-- Step 7, corrections as an everyday workflow: what the console's request dialog, approvals
-- inbox and "my requests" need from the database.
--
-- * Requests and decisions carry a key the client generates (client_key). The same key from
--   the same operator gives the first call's result: a double click, a retry after a lost
--   connection or the same action from two windows makes one request and one decision. A
--   key used again for something else is refused (LG053): for a request, another
--   transaction, reason, note or rebook; for a decision, another action, note or preview;
--   also when the other use is a concurrent call that took the key first.
-- * A pending request can be withdrawn by its requester (LG054 for anyone else), and expires
--   after access.settings.reversal_request_ttl (default 7 days): an expired request cannot
--   be approved (LG055). Its expiry is recorded, as a decision row and an audit event, by
--   ledger.expire_reversals() (pg_cron every minute where installed; `ledgerctl reversal
--   expire` otherwise) or by the next request for the same transaction. Until then the
--   request already shows as expired. Decisions are now approved, rejected, withdrawn or
--   expired; still one per request.
-- * ledger.reversal_preview_draft(transaction, reason, rebook) shows what a request would
--   post before it is sent, without writing anything but its audit event: mirror, rebook,
--   net effect, and each account's balance before, after the reversal and after the rebook.
--   A request that would take a no-negative account below zero is refused (LG056), at the
--   draft and at the request, at either step (approval posts the reversal, then the rebook).
-- * ledger.reversal_inbox(...) pages, sorts (age, amount, requester, reason) and filters
--   (states, reason, requester, mine, account, amount range, age range) requests on the
--   server; requests keep the original's amount, currency and accounts for that.
-- * Every step is an audit event in the step's transaction: reversal.requested,
--   reversal.preview_asked, reversal.approved, reversal.rejected, reversal.withdrawn,
--   reversal.expired, reversal.bulk_decided.
SET LOCAL ROLE ledger_owner;

ALTER TABLE access.settings
    ADD COLUMN reversal_request_ttl interval NOT NULL DEFAULT '7 days'
        CHECK (reversal_request_ttl > interval '0');
COMMENT ON COLUMN access.settings.reversal_request_ttl IS
    'How long a reversal request stays pending before it expires (0026_corrections.sql).';

-- Every new request gets its expiry and the original's amount, currency and accounts, however
-- it is inserted (request_reversal, a bulk load of history).
CREATE FUNCTION ledger.fill_request_columns() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    NEW.expires_at := coalesce(NEW.expires_at, NEW.requested_at + (SELECT s.reversal_request_ttl FROM access.settings s));
    SELECT round(sum(CASE WHEN e.amount > 0 THEN e.amount::numeric / (10::numeric ^ c.exponent) ELSE 0 END), max(c.exponent)),
           CASE WHEN count(DISTINCT e.currency) = 1 THEN min(e.currency::text) END,
           coalesce(array_agg(DISTINCT a.code ORDER BY a.code), '{}')
    INTO NEW.original_amount, NEW.original_currency, NEW.original_accounts
    FROM ledger.entries e
    JOIN ledger.accounts a ON a.id = e.account_id
    JOIN ledger.currencies c ON c.code = e.currency
    WHERE e.transaction_id = NEW.transaction_id;
    NEW.original_amount := coalesce(NEW.original_amount, 0);
    RETURN NEW;
END
$$;

-------------------------------------------------------------------------------------------
-- New columns: keys, expiry, and what the inbox sorts and filters by.
-------------------------------------------------------------------------------------------
RESET ROLE; -- the append-only triggers are lifted for the backfill only, by the superuser
ALTER TABLE ledger.reversal_requests
    ADD COLUMN client_key text CHECK (length(client_key) BETWEEN 1 AND 100),
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN original_amount numeric,
    ADD COLUMN original_currency text,
    ADD COLUMN original_accounts text[];
ALTER TABLE ledger.reversal_requests DISABLE TRIGGER reversal_requests_append_only;
UPDATE ledger.reversal_requests r
SET expires_at = r.requested_at + (SELECT s.reversal_request_ttl FROM access.settings s),
    original_amount = o.amount, original_currency = o.currency, original_accounts = o.accounts
FROM (SELECT e.transaction_id,
             round(sum(CASE WHEN e.amount > 0 THEN e.amount::numeric / (10::numeric ^ c.exponent) ELSE 0 END), max(c.exponent)) AS amount,
             CASE WHEN count(DISTINCT e.currency) = 1 THEN min(e.currency::text) END AS currency,
             array_agg(DISTINCT a.code ORDER BY a.code) AS accounts
      FROM ledger.entries e
      JOIN ledger.accounts a ON a.id = e.account_id
      JOIN ledger.currencies c ON c.code = e.currency
      GROUP BY e.transaction_id) o
WHERE o.transaction_id = r.transaction_id;
ALTER TABLE ledger.reversal_requests ENABLE ALWAYS TRIGGER reversal_requests_append_only;

CREATE TRIGGER reversal_requests_fill BEFORE INSERT ON ledger.reversal_requests
    FOR EACH ROW EXECUTE FUNCTION ledger.fill_request_columns();
ALTER TABLE ledger.reversal_requests ENABLE ALWAYS TRIGGER reversal_requests_fill;

ALTER TABLE ledger.reversal_requests
    ALTER COLUMN expires_at SET NOT NULL,
    ALTER COLUMN original_amount SET NOT NULL,
    ALTER COLUMN original_accounts SET NOT NULL;
CREATE UNIQUE INDEX reversal_requests_client_key ON ledger.reversal_requests (requested_by, client_key)
    WHERE client_key IS NOT NULL;
CREATE INDEX reversal_requests_by_age ON ledger.reversal_requests (requested_at, id);
CREATE INDEX reversal_requests_by_amount ON ledger.reversal_requests (original_amount, id);
CREATE INDEX reversal_requests_by_requester ON ledger.reversal_requests (requested_by, requested_at, id);
CREATE INDEX reversal_requests_by_reason ON ledger.reversal_requests (reason_code, requested_at, id);
CREATE INDEX reversal_requests_by_account ON ledger.reversal_requests USING gin (original_accounts);

ALTER TABLE ledger.reversal_decisions
    DROP CONSTRAINT reversal_decisions_decision_check,
    ADD CONSTRAINT reversal_decisions_decision_check
        CHECK (decision IN ('approved', 'rejected', 'withdrawn', 'expired')),
    ADD COLUMN client_key text CHECK (length(client_key) BETWEEN 1 AND 100);
CREATE UNIQUE INDEX reversal_decisions_client_key ON ledger.reversal_decisions (decided_by, client_key)
    WHERE client_key IS NOT NULL;
SET LOCAL ROLE ledger_owner;

-------------------------------------------------------------------------------------------
-- State, derived: a decision row, else expired once past expires_at, else pending.
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.request_state(p_decision text, p_expires_at timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(p_decision, CASE WHEN p_expires_at <= pg_catalog.clock_timestamp() THEN 'expired' ELSE 'pending' END)
$$;

CREATE FUNCTION ledger.utc_text(p timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE OR REPLACE VIEW ledger.reversal_request_status AS
SELECT r.id, r.transaction_id, r.reason_code, r.note, r.rebook IS NOT NULL AS rebook,
       r.requested_by, r.requested_at,
       -- ledger.request_state, written out: its readers would need EXECUTE on it.
       coalesce(d.decision, CASE WHEN r.expires_at <= clock_timestamp() THEN 'expired' ELSE 'pending' END) AS state,
       d.decided_by, d.decided_at, d.note AS decision_note,
       d.reversal_transaction_id, d.rebook_transaction_id,
       r.attempt, r.rebook AS rebook_request,
       r.expires_at, r.original_amount, r.original_currency, r.original_accounts
FROM ledger.reversal_requests r
LEFT JOIN ledger.reversal_decisions d ON d.request_id = r.id
WHERE access.check_session();

CREATE OR REPLACE VIEW ledger.reason_code_list AS
SELECT code, description, code IN ('WRONG_AMOUNT', 'WRONG_ACCOUNT', 'WRONG_DATE') AS takes_rebook
FROM ledger.reason_codes;

CREATE FUNCTION ledger.reversal_request_ttl() RETURNS interval
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$ SELECT s.reversal_request_ttl FROM access.settings s WHERE access.check_session() $$;

-------------------------------------------------------------------------------------------
-- Expiry: one decision row and one audit event per request, whoever notices first.
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.record_expiry(p_request bigint) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_req ledger.reversal_requests;
BEGIN
    SELECT * INTO v_req FROM ledger.reversal_requests r WHERE r.id = p_request FOR UPDATE;
    IF NOT FOUND OR v_req.expires_at > clock_timestamp()
       OR EXISTS (SELECT 1 FROM ledger.reversal_decisions d WHERE d.request_id = p_request) THEN
        RETURN false;
    END IF;
    INSERT INTO ledger.reversal_decisions (request_id, decision, note, decided_by, decided_role)
    VALUES (p_request, 'expired',
            format('Not decided within %s; expired at %s', (SELECT s.reversal_request_ttl FROM access.settings s),
                   ledger.utc_text(v_req.expires_at)),
            audit.current_operator(), session_user);
    PERFORM audit.record('reversal.expired', 'reversal_request', p_request::text,
                         jsonb_build_object('transaction_id', v_req.transaction_id,
                                            'requested_by', v_req.requested_by,
                                            'expires_at', ledger.utc_text(v_req.expires_at)));
    RETURN true;
END
$$;

CREATE FUNCTION ledger.expire_reversals()
RETURNS TABLE (request_id bigint, transaction_id bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    q record;
BEGIN
    PERFORM access.check_session();
    -- A request locked by a decision being made now is left to that decision (or the next
    -- run): one busy request must not make the whole run wait out lock_timeout and fail.
    FOR q IN SELECT r.id, r.transaction_id FROM ledger.reversal_requests r
             WHERE r.expires_at <= clock_timestamp()
               AND NOT EXISTS (SELECT 1 FROM ledger.reversal_decisions d WHERE d.request_id = r.id)
             ORDER BY r.id
             FOR UPDATE OF r SKIP LOCKED
    LOOP
        IF ledger.record_expiry(q.id) THEN
            request_id := q.id;
            transaction_id := q.transaction_id;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

-------------------------------------------------------------------------------------------
-- The effect of a reversal (and its rebook) on each account: net, before, after.
-------------------------------------------------------------------------------------------
-- p_mirror and p_rebook_legs are arrays of {"account", "amount", "currency"} (signed, debit
-- positive). Balances are the accounts' heads (everything recorded, as posting checks them),
-- on the account's normal side. Approval posts the mirror first and the rebook after it, each
-- checked on its own: an account is refused where either step leaves it below zero, not only
-- where the net does (a rebook that brings back what the reversal took cannot make a
-- reversal that overdraws the account approvable).
CREATE FUNCTION ledger.reversal_effect(p_mirror jsonb, p_rebook_legs jsonb)
RETURNS TABLE (net jsonb, balances jsonb, warnings jsonb, refused boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    WITH legs AS (
        SELECT x.value->>'account' AS account, x.value->>'currency' AS currency,
               ledger.to_minor(x.value->>'amount', x.value->>'currency') AS amount, x.step
        FROM (SELECT m.value, 1 FROM jsonb_array_elements(coalesce(p_mirror, '[]')) m
              UNION ALL
              SELECT b.value, 2 FROM jsonb_array_elements(coalesce(p_rebook_legs, '[]')) b) x(value, step)),
    moved AS (
        SELECT l.account, l.currency, sum(l.amount)::bigint AS net,
               coalesce(sum(l.amount) FILTER (WHERE l.step = 1), 0)::bigint AS reversal_net
        FROM legs l GROUP BY l.account, l.currency),
    heads AS (
        SELECT a.code, a.name, m.currency, m.net, NOT a.allow_negative AS no_negative,
               CASE WHEN a.normal_side = 'debit' THEN 1 ELSE -1 END AS side, h.balance, m.reversal_net
        FROM moved m
        JOIN ledger.accounts a ON a.code = m.account
        JOIN ledger.account_heads h ON h.account_id = a.id
        WHERE m.net <> 0 OR m.reversal_net <> 0),
    shown AS (
        SELECT x.code, x.name, x.currency, x.net, x.no_negative,
               x.side * x.balance AS before, x.side * (x.balance + x.reversal_net) AS mid,
               x.side * (x.balance + x.net) AS after
        FROM heads x)
    SELECT coalesce(jsonb_agg(jsonb_build_object('account', s.code, 'account_name', s.name, 'currency', s.currency,
                                                 'amount', ledger.format_amount(s.net, s.currency))
                              ORDER BY s.code, s.currency) FILTER (WHERE s.net <> 0), '[]'::jsonb),
           coalesce(jsonb_agg(jsonb_build_object('account', s.code, 'account_name', s.name, 'currency', s.currency,
                                                 'before', ledger.format_amount(s.before, s.currency),
                                                 'after_reversal', ledger.format_amount(s.mid, s.currency),
                                                 'after', ledger.format_amount(s.after, s.currency),
                                                 'before_minor', s.before, 'after_reversal_minor', s.mid,
                                                 'after_minor', s.after,
                                                 'no_negative', s.no_negative,
                                                 'goes_negative', s.no_negative AND least(s.mid, s.after) < 0)
                              ORDER BY s.code, s.currency), '[]'::jsonb),
           coalesce(jsonb_agg(CASE WHEN s.after < 0
                                   THEN format('%s (%s) may not go below zero: this would leave it at %s %s', s.code, s.name,
                                               ledger.format_amount(s.after, s.currency), s.currency)
                                   ELSE format('%s (%s) may not go below zero: the reversal, posted before the rebook, would leave it at %s %s',
                                               s.code, s.name, ledger.format_amount(s.mid, s.currency), s.currency) END
                              ORDER BY s.code)
                        FILTER (WHERE s.no_negative AND least(s.mid, s.after) < 0), '[]'::jsonb),
           coalesce(bool_or(s.no_negative AND least(s.mid, s.after) < 0), false)
    FROM shown s
$$;

-- The checks a request makes before it is stored (also the draft preview's): raises what is
-- wrong; returns the normalised rebook (NULL without one).
CREATE FUNCTION ledger.check_reversal_request(p_transaction bigint, p_reason text, p_rebook jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_kind text;
    v_normalized ledger.normalized_request;
BEGIN
    IF p_reason IS NULL OR length(p_reason) > 32 OR NOT EXISTS (SELECT 1 FROM ledger.reason_codes c WHERE c.code = p_reason) THEN
        RAISE EXCEPTION 'Unknown reason code "%"; use one of: %', left(p_reason, 32),
            (SELECT string_agg(code, ', ' ORDER BY code) FROM ledger.reason_codes) USING ERRCODE = 'LG030';
    END IF;
    SELECT t.kind INTO v_kind FROM ledger.transactions t WHERE t.id = p_transaction;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No transaction %', p_transaction USING ERRCODE = 'LG031';
    END IF;
    IF v_kind = 'reversal' THEN
        RAISE EXCEPTION 'Transaction % is itself a reversal and cannot be reversed', p_transaction
            USING ERRCODE = 'LG032', HINT = 'Post a new transaction instead.';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger.transactions t WHERE t.reverses = p_transaction) THEN
        RAISE EXCEPTION 'Transaction % has already been reversed', p_transaction USING ERRCODE = 'LG032';
    END IF;
    IF p_rebook IS NULL THEN
        RETURN NULL;
    END IF;
    IF pg_column_size(p_rebook) > ledger.max_rebook_bytes() THEN
        RAISE EXCEPTION 'A rebook is at most % bytes of JSON', ledger.max_rebook_bytes() USING ERRCODE = 'LG037';
    END IF;
    v_normalized := ledger.normalize_request(p_rebook);
    IF length(v_normalized.external_ref) > 200 THEN
        RAISE EXCEPTION 'external_ref is longer than 200 characters' USING ERRCODE = 'LG017';
    END IF;
    IF ledger.has_control_characters(v_normalized.description) OR ledger.has_control_characters(v_normalized.external_ref) THEN
        RAISE EXCEPTION 'The rebook''s description or external_ref contains control characters' USING ERRCODE = 'LG017';
    END IF;
    PERFORM ledger.check_rebook(p_transaction, p_reason, v_normalized);
    RETURN ledger.request_json(v_normalized);
END
$$;

-- The original's legs and its mirror, as preview legs.
CREATE FUNCTION ledger.original_and_mirror(p_transaction bigint, OUT original jsonb, OUT mirror jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('account', a.code, 'account_name', a.name, 'currency', e.currency::text,
                                                 'amount', ledger.format_amount(e.amount, e.currency::text)) ORDER BY e.id), '[]'),
           coalesce(jsonb_agg(jsonb_build_object('account', a.code, 'account_name', a.name, 'currency', e.currency::text,
                                                 'amount', ledger.format_amount(-e.amount, e.currency::text)) ORDER BY e.id), '[]')
    FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
    WHERE e.transaction_id = p_transaction
$$;

-------------------------------------------------------------------------------------------
-- The draft preview: what a request would post, before it is sent.
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.reversal_preview_draft_unchecked(p_transaction bigint, p_reason text, p_rebook jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    t ledger.transactions;
    v_rebook jsonb := ledger.check_reversal_request(p_transaction, p_reason, p_rebook);
    v_legs record;
    v_effect record;
BEGIN
    SELECT * INTO t FROM ledger.transactions x WHERE x.id = p_transaction;
    SELECT * INTO v_legs FROM ledger.original_and_mirror(p_transaction);
    SELECT * INTO v_effect FROM ledger.reversal_effect(v_legs.mirror, v_rebook->'legs');
    RETURN jsonb_build_object(
        'transaction_id', t.id, 'reason', p_reason,
        'original', jsonb_build_object('effective_at', ledger.utc_text(t.effective_at), 'description', t.description,
                                       'external_ref', t.external_ref, 'kind', t.kind, 'legs', v_legs.original),
        'reversal', jsonb_build_object('effective_at', ledger.utc_text(t.effective_at),
                                       'description', left(format('Reversal of #%s (%s): %s', t.id, p_reason, t.description), 500),
                                       'legs', v_legs.mirror),
        'rebook', CASE WHEN v_rebook IS NULL THEN NULL
                       ELSE (v_rebook - 'legs') || jsonb_build_object('legs', ledger.preview_legs(v_rebook->'legs')) END,
        'net', v_effect.net, 'balances', v_effect.balances, 'warnings', v_effect.warnings, 'refused', v_effect.refused);
END
$$;

CREATE FUNCTION ledger.reversal_preview_draft(p_transaction bigint, p_reason text, p_rebook jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v jsonb;
BEGIN
    PERFORM access.check_session();
    v := ledger.reversal_preview_draft_unchecked(p_transaction, p_reason, p_rebook);
    PERFORM audit.record('reversal.preview_asked', 'transaction', p_transaction::text,
                         jsonb_build_object('reason', p_reason, 'rebook', v->'rebook', 'refused', v->'refused'));
    RETURN v;
END
$$;

-- A stored request's preview as a supervisor (or its requester) is shown: the digested content
-- of 0021 plus the state, the expiry and the balances now (outside the digest: they move).
DROP FUNCTION ledger.reversal_preview(bigint);
CREATE FUNCTION ledger.reversal_preview(p_request bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v jsonb;
    v_req ledger.reversal_requests;
    v_effect record;
BEGIN
    PERFORM access.check_session();
    v := ledger.reversal_preview_unchecked(p_request);
    SELECT * INTO v_req FROM ledger.reversal_requests r WHERE r.id = p_request;
    SELECT * INTO v_effect FROM ledger.reversal_effect(v->'reversal'->'legs', v->'rebook'->'legs');
    PERFORM audit.record('reversal.preview_asked', 'reversal_request', p_request::text,
                         jsonb_build_object('transaction_id', v_req.transaction_id, 'digest', v->>'digest'));
    RETURN v || jsonb_build_object(
        'state', CASE WHEN v->>'state' = 'pending' THEN ledger.request_state(NULL, v_req.expires_at) ELSE v->>'state' END,
        'expires_at', ledger.utc_text(v_req.expires_at),
        'balances', v_effect.balances, 'warnings', v_effect.warnings, 'refused', v_effect.refused);
END
$$;

-------------------------------------------------------------------------------------------
-- Requests with a client key, refused where the reversal would take a no-negative account
-- below zero.
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.check_client_key(p_key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_key IS NOT NULL AND (length(p_key) NOT BETWEEN 1 AND 100 OR p_key !~ '^[A-Za-z0-9._:{}-]+$') THEN
        RAISE EXCEPTION 'A client key is 1 to 100 letters, digits and . _ : - { }' USING ERRCODE = 'LG053';
    END IF;
END
$$;

-- The request the caller's client key already names (NULL where the key is new). The key
-- names one request: the same transaction, reason, note and rebook (normalised as stored),
-- else LG053 (a key is never mapped to a request the caller did not make with it, neither
-- before the insert nor when a concurrent call with the key wins it).
CREATE FUNCTION ledger.keyed_request(p_key text, p_transaction bigint, p_reason text, p_note text, p_rebook jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_existing ledger.reversal_requests;
BEGIN
    SELECT * INTO v_existing FROM ledger.reversal_requests r
    WHERE r.requested_by = audit.current_operator() AND r.client_key = p_key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_existing.transaction_id IS DISTINCT FROM p_transaction OR v_existing.reason_code IS DISTINCT FROM p_reason
       OR v_existing.note IS DISTINCT FROM btrim(p_note)
       OR (v_existing.rebook IS NULL) <> (p_rebook IS NULL)
       OR (p_rebook IS NOT NULL
           AND (pg_column_size(p_rebook) > ledger.max_rebook_bytes()
                OR v_existing.rebook IS DISTINCT FROM ledger.request_json(ledger.normalize_request(p_rebook)))) THEN
        RAISE EXCEPTION 'Client key % was used for reversal request % (transaction %), not for this one',
            p_key, v_existing.id, v_existing.transaction_id USING ERRCODE = 'LG053';
    END IF;
    RETURN v_existing.id;
END
$$;

-- The caller's own pending request for the transaction with this reason, note and (stored,
-- normalised) rebook: the same request sent from another window under another key. NULL when
-- there is none.
CREATE FUNCTION ledger.same_pending_request(p_transaction bigint, p_reason text, p_note text, p_rebook jsonb)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT q.id FROM ledger.reversal_requests q
    WHERE q.transaction_id = p_transaction AND q.requested_by = audit.current_operator()
      AND q.reason_code = p_reason AND q.note = btrim(p_note) AND q.rebook IS NOT DISTINCT FROM p_rebook
      AND q.expires_at > clock_timestamp()
      AND NOT EXISTS (SELECT 1 FROM ledger.reversal_decisions d WHERE d.request_id = q.id)
$$;

CREATE FUNCTION ledger.request_reversal_keyed(p_transaction bigint, p_reason text, p_note text,
                                              p_rebook jsonb, p_key text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_operator text := audit.current_operator();
    v_id bigint;
    v_pending record;
    v_attempt integer;
    v_rebook jsonb;
    v_legs record;
    v_effect record;
BEGIN
    PERFORM ledger.check_client_key(p_key);
    -- A key seen before: that request, whatever happened since (a retry must not fail
    -- because its own first attempt made the transaction "already requested").
    IF p_key IS NOT NULL THEN
        v_id := ledger.keyed_request(p_key, p_transaction, p_reason, p_note, p_rebook);
        IF v_id IS NOT NULL THEN
            RETURN v_id;
        END IF;
    END IF;
    PERFORM ledger.check_note(p_note, true, 'explaining the reversal');
    v_rebook := ledger.check_reversal_request(p_transaction, p_reason, p_rebook);
    -- A pending request past its time is recorded as expired now, so that it does not
    -- hold the transaction.
    SELECT q.id, q.expires_at INTO v_pending FROM ledger.reversal_requests q
    WHERE q.transaction_id = p_transaction
      AND NOT EXISTS (SELECT 1 FROM ledger.reversal_decisions d WHERE d.request_id = q.id)
    ORDER BY q.id LIMIT 1;
    IF FOUND AND v_pending.expires_at <= clock_timestamp() THEN
        PERFORM ledger.record_expiry(v_pending.id);
    ELSIF FOUND THEN
        -- The same request from another window (another key): the first one's id.
        v_id := ledger.same_pending_request(p_transaction, p_reason, p_note, v_rebook);
        IF v_id IS NOT NULL THEN
            RETURN v_id;
        END IF;
        RAISE EXCEPTION 'Transaction % already has a pending reversal request (%)', p_transaction, v_pending.id
            USING ERRCODE = 'LG033';
    END IF;
    SELECT * INTO v_legs FROM ledger.original_and_mirror(p_transaction);
    SELECT * INTO v_effect FROM ledger.reversal_effect(v_legs.mirror, v_rebook->'legs');
    IF v_effect.refused THEN
        RAISE EXCEPTION 'This reversal is refused: %', v_effect.warnings->>0
            USING ERRCODE = 'LG056', HINT = 'Nothing was requested. The account must be funded first, or the correction made another way.';
    END IF;
    SELECT count(*) + 1 INTO v_attempt FROM ledger.reversal_requests q WHERE q.transaction_id = p_transaction;
    BEGIN
        INSERT INTO ledger.reversal_requests (transaction_id, reason_code, note, rebook, requested_by, requested_role, attempt,
                                              client_key)
        VALUES (p_transaction, p_reason, btrim(p_note), v_rebook, v_operator, session_user, v_attempt, p_key)
        RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN
        -- The same key at the same moment (its first request has committed by now: the
        -- same request, or LG053), or another request for the transaction.
        IF p_key IS NOT NULL THEN
            v_id := ledger.keyed_request(p_key, p_transaction, p_reason, p_note, p_rebook);
            IF v_id IS NOT NULL THEN
                RETURN v_id;
            END IF;
        END IF;
        v_id := ledger.same_pending_request(p_transaction, p_reason, p_note, v_rebook);
        IF v_id IS NOT NULL THEN
            RETURN v_id;
        END IF;
        RAISE EXCEPTION 'Transaction % already has a pending reversal request (made at the same moment as this one)', p_transaction
            USING ERRCODE = 'LG033', HINT = 'Reload the requests: the pending one must be decided first.';
    END;
    PERFORM audit.record('reversal.requested', 'reversal_request', v_id::text,
                         jsonb_strip_nulls(jsonb_build_object('transaction_id', p_transaction, 'reason', p_reason,
                                            'note', btrim(p_note), 'attempt', v_attempt, 'rebook', v_rebook,
                                            'client_key', p_key)));
    RETURN v_id;
END
$$;

CREATE OR REPLACE FUNCTION ledger.request_reversal_unchecked(p_transaction bigint, p_reason text, p_note text,
                                                             p_rebook jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, ledger, pg_temp
AS $$ SELECT ledger.request_reversal_keyed(p_transaction, p_reason, p_note, p_rebook, NULL) $$;

CREATE FUNCTION ledger.request_reversal(p_transaction bigint, p_reason text, p_note text, p_rebook jsonb, p_client_key text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    RETURN ledger.request_reversal_keyed(p_transaction, p_reason, p_note, p_rebook, p_client_key);
END
$$;

-------------------------------------------------------------------------------------------
-- Decisions: approve, reject (supervisors, never their own), withdraw (the requester only),
-- each with a client key.
-------------------------------------------------------------------------------------------
DROP FUNCTION ledger.approve_reversal(bigint, text, text);
DROP FUNCTION ledger.reject_reversal(bigint, text);
DROP FUNCTION ledger.decide_reversal(bigint, boolean, text, text);

CREATE FUNCTION ledger.decide_reversal(p_request bigint, p_action text, p_note text, p_digest text, p_key text,
                                       OUT decision text, OUT reversal_transaction_id bigint,
                                       OUT rebook_transaction_id bigint, OUT replayed boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_req ledger.reversal_requests;
    v_done ledger.reversal_decisions;
    v_operator text := audit.current_operator();
    v_orig record;
    v_mirror ledger.normalized_request;
    v_rebook ledger.normalized_request;
    v_preview jsonb;
    v_result record;
    v_constraint text;
    v_decision text := CASE p_action WHEN 'approve' THEN 'approved' WHEN 'reject' THEN 'rejected'
                                     WHEN 'withdraw' THEN 'withdrawn' END;
BEGIN
    IF v_decision IS NULL THEN
        RAISE EXCEPTION 'Unknown decision "%"', p_action USING ERRCODE = '22023';
    END IF;
    PERFORM ledger.check_client_key(p_key);
    IF p_action <> 'withdraw' AND NOT pg_has_role(session_user, 'console_supervisor', 'MEMBER') THEN
        RAISE EXCEPTION 'Only supervisors decide reversal requests' USING ERRCODE = '42501';
    END IF;
    -- One decision at a time per request (a row lock: no advisory key anyone else can take).
    SELECT * INTO v_req FROM ledger.reversal_requests r WHERE r.id = p_request FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No reversal request %', p_request USING ERRCODE = 'LG034';
    END IF;
    SELECT * INTO v_done FROM ledger.reversal_decisions d WHERE d.request_id = p_request;
    IF FOUND THEN
        -- The same decision under the same key, by the same person: its result, again. The
        -- key names that decision only: another action, note or preview under it is LG053.
        IF p_key IS NOT NULL AND v_done.client_key = p_key AND v_done.decided_by = v_operator THEN
            IF v_done.decision <> v_decision OR v_done.note IS DISTINCT FROM nullif(btrim(p_note), '')
               OR (p_action = 'approve' AND p_digest IS DISTINCT FROM ledger.reversal_preview_unchecked(p_request)->>'digest') THEN
                RAISE EXCEPTION 'Client key % was used for another decision of reversal request % (% by %)',
                    p_key, p_request, v_done.decision, v_done.decided_by USING ERRCODE = 'LG053';
            END IF;
            decision := v_done.decision;
            reversal_transaction_id := v_done.reversal_transaction_id;
            rebook_transaction_id := v_done.rebook_transaction_id;
            replayed := true;
            RETURN;
        END IF;
        -- The same person's same decision from another window (another key, or none): its
        -- result. An approval names the same preview; a note typed the second time is not
        -- recorded (the first decision's note stands).
        IF v_done.decided_by = v_operator AND v_done.decision = v_decision
           AND (p_action <> 'approve' OR p_digest IS NOT DISTINCT FROM ledger.reversal_preview_unchecked(p_request)->>'digest')
           AND (p_key IS NULL OR NOT EXISTS (SELECT 1 FROM ledger.reversal_decisions d
                                              WHERE d.decided_by = v_operator AND d.client_key = p_key)) THEN
            decision := v_done.decision;
            reversal_transaction_id := v_done.reversal_transaction_id;
            rebook_transaction_id := v_done.rebook_transaction_id;
            replayed := true;
            RETURN;
        END IF;
        IF v_done.decision = 'expired' THEN
            RAISE EXCEPTION 'Reversal request % expired at % and can no longer be decided', p_request, ledger.utc_text(v_req.expires_at)
                USING ERRCODE = 'LG055', HINT = 'Request the reversal again if it is still needed.';
        END IF;
        RAISE EXCEPTION 'Reversal request % was already % by % at %', p_request, v_done.decision, v_done.decided_by,
            ledger.utc_text(v_done.decided_at) USING ERRCODE = 'LG035';
    END IF;
    IF p_key IS NOT NULL AND EXISTS (SELECT 1 FROM ledger.reversal_decisions d WHERE d.decided_by = v_operator AND d.client_key = p_key) THEN
        RAISE EXCEPTION 'Client key % was used for another decision', p_key USING ERRCODE = 'LG053';
    END IF;
    IF v_req.expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION 'Reversal request % expired at % and can no longer be decided', p_request, ledger.utc_text(v_req.expires_at)
            USING ERRCODE = 'LG055', HINT = 'Request the reversal again if it is still needed.';
    END IF;
    IF p_action = 'withdraw' THEN
        IF v_req.requested_by <> v_operator THEN
            RAISE EXCEPTION 'Only % (who requested it) may withdraw reversal request %', v_req.requested_by, p_request
                USING ERRCODE = 'LG054';
        END IF;
        PERFORM ledger.check_note(p_note, false, 'explaining the withdrawal');
    ELSE
        IF v_req.requested_by = v_operator THEN
            RAISE EXCEPTION 'You requested reversal %; another supervisor must decide it (four-eyes rule)', p_request
                USING ERRCODE = 'LG036';
        END IF;
        PERFORM ledger.check_note(p_note, p_action = 'reject', 'explaining the rejection');
    END IF;

    IF p_action = 'approve' THEN
        v_preview := ledger.reversal_preview_unchecked(p_request);
        IF p_digest IS NULL OR p_digest IS DISTINCT FROM v_preview->>'digest' THEN
            RAISE EXCEPTION 'Approval of request % must name the preview it approves; show the request (its legs and net effect) and approve what you were shown', p_request
                USING ERRCODE = 'LG038', HINT = 'ledger.reversal_preview(request) gives the preview and its digest.';
        END IF;
        IF v_req.rebook IS NOT NULL THEN
            v_rebook := ledger.normalize_request(v_req.rebook);
            PERFORM ledger.check_rebook(v_req.transaction_id, v_req.reason_code, v_rebook);
        END IF;
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
            SELECT * INTO v_result FROM ledger.post_normalized('rebook:' || p_request, v_rebook, 'rebook', NULL);
            rebook_transaction_id := v_result.transaction_id;
        END IF;
    END IF;

    BEGIN
        INSERT INTO ledger.reversal_decisions (request_id, decision, note, decided_by, decided_role,
                                               reversal_transaction_id, rebook_transaction_id, client_key)
        VALUES (p_request, v_decision, nullif(btrim(p_note), ''), v_operator, session_user,
                reversal_transaction_id, rebook_transaction_id, p_key);
    EXCEPTION WHEN unique_violation THEN
        -- The caller's own key taken by a concurrent decision of another request is not
        -- "decided by someone else": this request is still undecided.
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'reversal_decisions_client_key' THEN
            RAISE EXCEPTION 'Client key % was used for another decision at the same moment', p_key
                USING ERRCODE = 'LG053', HINT = 'Nothing was decided. Use a new key for a new decision.';
        END IF;
        RAISE EXCEPTION 'Reversal request % was decided by someone else at the same moment', p_request
            USING ERRCODE = 'LG035';
    END;
    PERFORM audit.record('reversal.' || v_decision, 'reversal_request', p_request::text,
                         jsonb_strip_nulls(jsonb_build_object(
                             'transaction_id', v_req.transaction_id,
                             'reversal_transaction_id', reversal_transaction_id,
                             'rebook_transaction_id', rebook_transaction_id,
                             'note', nullif(btrim(p_note), ''),
                             'preview_digest', v_preview->>'digest',
                             'rebook', v_preview->'rebook',
                             'net', v_preview->'net',
                             'client_key', p_key)));
    decision := v_decision;
    replayed := false;
END
$$;

-- The 0021 signatures, kept for callers without a key.
CREATE FUNCTION ledger.approve_reversal(p_request bigint, p_preview_digest text, p_note text DEFAULT NULL,
                                        OUT reversal_transaction_id bigint, OUT rebook_transaction_id bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT d.reversal_transaction_id, d.rebook_transaction_id INTO reversal_transaction_id, rebook_transaction_id
    FROM ledger.decide_reversal(p_request, 'approve', p_note, p_preview_digest, NULL) d;
END
$$;

CREATE FUNCTION ledger.reject_reversal(p_request bigint, p_note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.decide_reversal(p_request, 'reject', p_note, NULL, NULL);
END
$$;

-- With a client key: what the console calls.
CREATE FUNCTION ledger.decide_reversal_request(p_request bigint, p_action text, p_note text, p_digest text, p_client_key text,
                                               OUT decision text, OUT reversal_transaction_id bigint,
                                               OUT rebook_transaction_id bigint, OUT replayed boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT d.decision, d.reversal_transaction_id, d.rebook_transaction_id, d.replayed
    INTO decision, reversal_transaction_id, rebook_transaction_id, replayed
    FROM ledger.decide_reversal(p_request, p_action, p_note, p_digest, p_client_key) d;
END
$$;

-- The digest of a request's preview as the server computes it now (bulk approval: the
-- supervisor saw the rows; each approval still names the content it posts).
CREATE FUNCTION ledger.reversal_digest(p_request bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    RETURN ledger.reversal_preview_unchecked(p_request)->>'digest';
END
$$;

-- The outcome of a bulk decision, as one audit event beside the decisions' own. The server
-- finds what was decided (the caller's decisions under batch key + ":" + request id); the
-- caller names only the requests it tried: existing requests, at most 10000 (the most an
-- inbox query selects), under a batch key short enough for its items' keys (80 characters:
-- with ":" and a request id the item's key fits 100).
CREATE FUNCTION ledger.record_bulk_decision(p_action text, p_batch_key text, p_requests bigint[]) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_decided bigint[];
    v_refused bigint[];
    v_details jsonb;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_client_key(p_batch_key);
    IF p_action IS NULL OR p_action NOT IN ('approve', 'reject') OR p_batch_key IS NULL OR length(p_batch_key) > 80
       OR p_requests IS NULL OR cardinality(p_requests) NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'A bulk decision is approve or reject, with its batch key (at most 80 characters) and 1 to 10000 requests'
            USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_requests) x(id)
               WHERE NOT EXISTS (SELECT 1 FROM ledger.reversal_requests r WHERE r.id = x.id)) THEN
        RAISE EXCEPTION 'A bulk decision names reversal requests that exist'
            USING ERRCODE = '22023', HINT = 'Nothing was recorded.';
    END IF;
    SELECT coalesce(array_agg(r.id ORDER BY r.id) FILTER (WHERE d.id IS NOT NULL), '{}'),
           coalesce(array_agg(r.id ORDER BY r.id) FILTER (WHERE d.id IS NULL), '{}')
    INTO v_decided, v_refused
    FROM (SELECT DISTINCT unnest(p_requests) AS id) r
    LEFT JOIN ledger.reversal_decisions d
           ON d.request_id = r.id AND d.decided_by = audit.current_operator()
          AND d.client_key = p_batch_key || ':' || r.id
          AND d.decision = CASE p_action WHEN 'approve' THEN 'approved' ELSE 'rejected' END;
    v_details := jsonb_build_object('action', p_action, 'decided', cardinality(v_decided),
                                    'refused', cardinality(v_refused),
                                    'decided_requests', to_jsonb(v_decided), 'refused_requests', to_jsonb(v_refused));
    PERFORM audit.record('reversal.bulk_decided', 'reversal_bulk', p_batch_key, v_details);
    RETURN v_details;
END
$$;

-------------------------------------------------------------------------------------------
-- The approvals inbox and "my requests": paged, sorted and filtered on the server.
-------------------------------------------------------------------------------------------
-- The filter shared by the page and the count, over requests r left-joined to decisions d.
-- Parameters: $1 states, $2 reason, $3 requester, $4 mine (the caller's name or NULL),
-- $5 account, $6 min amount, $7 max amount, $8 min age, $9 max age, $10 now.
CREATE FUNCTION ledger.inbox_filter(p_states text[]) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
               WHEN p_states IS NULL OR cardinality(p_states) = 0 THEN 'true'
               -- Pending alone (the inbox): an anti-join the planner walks in index order.
               WHEN p_states = ARRAY['pending'] THEN 'd.request_id IS NULL AND r.expires_at > $10'
               ELSE 'coalesce(d.decision, CASE WHEN r.expires_at <= $10 THEN ''expired'' ELSE ''pending'' END) = ANY ($1)'
           END
        || ' AND ($2::text IS NULL OR r.reason_code = $2)'
        || ' AND ($3::text IS NULL OR r.requested_by = $3)'
        || ' AND ($4::text IS NULL OR r.requested_by = $4)'
        || ' AND ($5::text IS NULL OR r.original_accounts @> ARRAY[$5::text])'
        || ' AND ($6::numeric IS NULL OR r.original_amount >= $6)'
        || ' AND ($7::numeric IS NULL OR r.original_amount <= $7)'
        || ' AND ($8::interval IS NULL OR r.requested_at <= $10 - $8)'
        || ' AND ($9::interval IS NULL OR r.requested_at >= $10 - $9)'
$$;

CREATE FUNCTION ledger.check_inbox_filter(p_states text[], p_reason text, p_requester text, p_account text,
                                          p_min_amount numeric, p_max_amount numeric) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_states IS NOT NULL AND (cardinality(p_states) > 5 OR NOT p_states <@ ARRAY['pending', 'approved', 'rejected', 'withdrawn', 'expired']) THEN
        RAISE EXCEPTION 'States are pending, approved, rejected, withdrawn and expired' USING ERRCODE = '22023';
    END IF;
    IF length(p_reason) > 32 OR length(p_requester) > 200 OR length(p_account) > 64 THEN
        RAISE EXCEPTION 'A filter value is too long' USING ERRCODE = '22023';
    END IF;
    IF abs(p_min_amount) >= 1e18 OR abs(p_max_amount) >= 1e18 THEN
        RAISE EXCEPTION 'An amount filter is out of range' USING ERRCODE = '22023';
    END IF;
END
$$;

CREATE FUNCTION ledger.reversal_inbox(p_states text[], p_reason text, p_requester text, p_mine boolean,
                                      p_account text, p_min_amount numeric, p_max_amount numeric,
                                      p_min_age interval, p_max_age interval,
                                      p_sort text, p_descending boolean, p_offset integer, p_limit integer)
RETURNS TABLE (id bigint, transaction_id bigint, reason_code text, note text, rebook jsonb, attempt integer,
               requested_by text, requested_at timestamptz, expires_at timestamptz, state text,
               amount text, currency text, accounts text, description text,
               decided_by text, decided_at timestamptz, decision_note text,
               reversal_transaction_id bigint, rebook_transaction_id bigint, own boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
SET jit = off
AS $$
DECLARE
    v_operator text := audit.current_operator();
    v_dir text := CASE WHEN p_descending THEN ' DESC' ELSE '' END;
    v_order text;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_inbox_filter(p_states, p_reason, p_requester, p_account, p_min_amount, p_max_amount);
    v_order := CASE coalesce(p_sort, 'age')
        WHEN 'age' THEN format('r.requested_at%1$s, r.id%1$s', v_dir)
        WHEN 'amount' THEN format('r.original_amount%1$s, r.id%1$s', v_dir)
        WHEN 'requester' THEN format('r.requested_by%1$s, r.requested_at%1$s, r.id%1$s', v_dir)
        WHEN 'reason' THEN format('r.reason_code%1$s, r.requested_at%1$s, r.id%1$s', v_dir)
        WHEN 'id' THEN format('r.id%1$s', v_dir)
    END;
    IF v_order IS NULL THEN
        RAISE EXCEPTION 'Sort by age, amount, requester, reason or id, not "%"', left(p_sort, 32) USING ERRCODE = '22023';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'A page is an offset >= 0 and 1 to 10000 rows' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY EXECUTE
        'WITH page AS (SELECT r.*, d.decision, d.decided_by, d.decided_at, d.note AS decision_note,'
        '                     d.reversal_transaction_id, d.rebook_transaction_id'
        '              FROM ledger.reversal_requests r'
        '              LEFT JOIN ledger.reversal_decisions d ON d.request_id = r.id'
        '              WHERE ' || ledger.inbox_filter(p_states) ||
        '              ORDER BY ' || v_order || ' OFFSET $11 LIMIT $12)'
        ' SELECT p.id, p.transaction_id, p.reason_code, p.note, p.rebook, p.attempt, p.requested_by, p.requested_at,'
        '        p.expires_at, coalesce(p.decision, CASE WHEN p.expires_at <= $10 THEN ''expired'' ELSE ''pending'' END),'
        '        p.original_amount::text, p.original_currency, array_to_string(p.original_accounts, '', ''), t.description,'
        '        p.decided_by, p.decided_at, p.decision_note, p.reversal_transaction_id, p.rebook_transaction_id,'
        '        p.requested_by = $13'
        ' FROM page p JOIN ledger.transactions t ON t.id = p.transaction_id'
        ' ORDER BY ' || replace(v_order, 'r.', 'p.')
    USING p_states, p_reason, p_requester, CASE WHEN p_mine THEN v_operator END, p_account, p_min_amount, p_max_amount,
          p_min_age, p_max_age, clock_timestamp(), p_offset, p_limit, v_operator;
END
$$;

CREATE FUNCTION ledger.reversal_inbox_count(p_states text[], p_reason text, p_requester text, p_mine boolean,
                                            p_account text, p_min_amount numeric, p_max_amount numeric,
                                            p_min_age interval, p_max_age interval)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
SET jit = off
AS $$
DECLARE
    v bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_inbox_filter(p_states, p_reason, p_requester, p_account, p_min_amount, p_max_amount);
    EXECUTE 'SELECT count(*) FROM ledger.reversal_requests r LEFT JOIN ledger.reversal_decisions d ON d.request_id = r.id'
            ' WHERE ' || ledger.inbox_filter(p_states)
    INTO v
    USING p_states, p_reason, p_requester, CASE WHEN p_mine THEN audit.current_operator() END, p_account,
          p_min_amount, p_max_amount, p_min_age, p_max_age, clock_timestamp();
    RETURN v;
END
$$;

-------------------------------------------------------------------------------------------
-- The transaction detail shows withdrawn and expired requests as such.
-------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger.transaction_detail(p_transaction bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET jit = off
SET lock_timeout = '5s'
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
                                   'rebook_request', q.rebook,
                                   'attempt', q.attempt,
                                   'requested_by', q.requested_by,
                                   'requested_at', to_char(q.requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                   'state', ledger.request_state(d.decision, q.expires_at),
                                   'expires_at', ledger.utc_text(q.expires_at),
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

-------------------------------------------------------------------------------------------
-- Who may call what.
-------------------------------------------------------------------------------------------
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger FROM PUBLIC;
GRANT SELECT ON ledger.reversal_request_status, ledger.reason_code_list
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;
GRANT EXECUTE ON FUNCTION ledger.request_reversal(bigint, text, text, jsonb, text),
                          ledger.reversal_preview_draft(bigint, text, jsonb)
    TO console_operator, console_supervisor;
GRANT EXECUTE ON FUNCTION ledger.approve_reversal(bigint, text, text),
                          ledger.reject_reversal(bigint, text),
                          ledger.reversal_digest(bigint),
                          ledger.record_bulk_decision(text, text, bigint[]),
                          ledger.expire_reversals()
    TO console_supervisor;
GRANT EXECUTE ON FUNCTION ledger.decide_reversal_request(bigint, text, text, text, text)
    TO console_operator, console_supervisor;
GRANT EXECUTE ON FUNCTION ledger.reversal_preview(bigint),
                          ledger.reversal_inbox(text[], text, text, boolean, text, numeric, numeric, interval, interval, text, boolean, integer, integer),
                          ledger.reversal_inbox_count(text[], text, text, boolean, text, numeric, numeric, interval, interval),
                          ledger.reversal_request_ttl()
    TO console_operator, console_supervisor, console_auditor, console_compliance;

-- Expiry is recorded every minute where pg_cron is installed in this database (scheduled as
-- the migrating superuser); `ledgerctl reversal expire` everywhere else.
RESET ROLE;
DO $cron$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        EXECUTE $$SELECT cron.schedule('ledger-expire-reversals', '* * * * *', 'SELECT ledger.expire_reversals()')$$;
    END IF;
END
$cron$;
