-- Step 6, four eyes that see what they approve.
--
-- * A rebook ("reverse and rebook") used to be stored as the raw JSON the requester sent
--   (any accounts, any amounts, any size) and posted unchanged at approval, while the status
--   view, transaction_detail, `ledgerctl reversal list` and the audit event said only
--   "rebook: true". Now:
--    - a rebook must fit its reason (ledger.check_rebook): WRONG_AMOUNT keeps the accounts,
--      their sides and the effective time and changes the amounts by at most a factor of
--      ten per currency; WRONG_ACCOUNT keeps the amounts (per currency, account by account
--      as a multiset), the effective time and at least one of the original's accounts;
--      every rebook names each account once and moves only the original's currencies;
--      WRONG_DATE keeps every leg and moves the effective time by at most 366 days. No other
--      reason takes a rebook (a different posting is a new transaction of its own). Checked
--      at the request and again at approval (requests made before this rule);
--    - it is stored normalised (account codes, exact decimal amounts, UTC effective time)
--      and bounded (64 kB before parsing, 100 legs);
--    - ledger.reversal_preview(request) shows everything approval would post: the original,
--      the mirror, the rebook and the net effect per account, with a SHA-256 digest of that
--      content; approve_reversal takes the digest the approver was shown and refuses any
--      other (LG038), so an approval names exactly what was approved;
--    - the status view, transaction_detail and the audit events (requested, approved) carry
--      the full rebook.
-- * "One pending request per transaction" was checked on a snapshot, so two REPEATABLE READ
--   requests both passed. It is now a constraint: requests of a transaction are numbered
--   (attempt), unique per transaction, and a new request takes 1 + the number of requests
--   its transaction has. Two concurrent requests take the same number and one fails
--   (LG033); a snapshot that misses a request or a decision yields a number already taken.
-- * Notes (requests and decisions) may not hold control characters or the Unicode
--   characters that reorder or hide text (ledger.has_control_characters): a note must not
--   be able to forge a line in a terminal or a report.

-- Control characters, and the invisible or reordering ones (bidi embeddings, overrides and
-- isolates, zero-width characters, line and paragraph separators, BOM).
SET LOCAL ROLE ledger_owner;

CREATE FUNCTION ledger.has_control_characters(p text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT p OPERATOR(pg_catalog.~) '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]'
$$;

-- A note a person wrote: 1..2000 characters, not blank, no control characters.
CREATE FUNCTION ledger.check_note(p_note text, p_required boolean, p_what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_note IS NULL OR length(btrim(p_note)) = 0 THEN
        IF p_required THEN
            RAISE EXCEPTION 'A note % is required', p_what USING ERRCODE = 'LG030';
        END IF;
        RETURN;
    END IF;
    IF length(p_note) > 2000 THEN
        RAISE EXCEPTION 'The note is longer than 2000 characters' USING ERRCODE = 'LG030';
    END IF;
    IF ledger.has_control_characters(p_note) THEN
        RAISE EXCEPTION 'The note contains control characters (line breaks, tabs, escape sequences or direction overrides); write it as one line of plain text'
            USING ERRCODE = 'LG030';
    END IF;
END
$$;

-------------------------------------------------------------------------------------------
-- Requests: numbered per transaction (the pending rule as a constraint), rebooks normalised.
-------------------------------------------------------------------------------------------
RESET ROLE; -- the append-only trigger is lifted for the backfill only, by the superuser
ALTER TABLE ledger.reversal_requests ADD COLUMN attempt integer;
ALTER TABLE ledger.reversal_requests DISABLE TRIGGER reversal_requests_append_only;
UPDATE ledger.reversal_requests r SET attempt = n.attempt
FROM (SELECT q.id, row_number() OVER (PARTITION BY q.transaction_id ORDER BY q.id) AS attempt
      FROM ledger.reversal_requests q) n
WHERE n.id = r.id;
ALTER TABLE ledger.reversal_requests ENABLE ALWAYS TRIGGER reversal_requests_append_only;
ALTER TABLE ledger.reversal_requests
    ALTER COLUMN attempt SET NOT NULL,
    ADD CONSTRAINT reversal_requests_attempt_positive CHECK (attempt >= 1),
    ADD CONSTRAINT reversal_requests_one_at_a_time UNIQUE (transaction_id, attempt);
COMMENT ON COLUMN ledger.reversal_requests.attempt IS
    '1 + the number of earlier requests for the transaction, all decided: unique per transaction, so at most one request is pending (0021_four_eyes.sql).';
SET LOCAL ROLE ledger_owner;

-- Largest rebook request accepted (its JSON, before parsing), and the amount factor a
-- WRONG_AMOUNT rebook may change a currency's total by.
CREATE FUNCTION ledger.max_rebook_bytes() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 65536 $$;
CREATE FUNCTION ledger.rebook_amount_factor() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 10 $$;

-- A normalised request as the JSON that normalize_request reads back to the same request:
-- what is stored, shown, audited and posted.
CREATE FUNCTION ledger.request_json(r ledger.normalized_request) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'effective_at', to_char(r.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'description', r.description,
               'external_ref', r.external_ref))
           || jsonb_build_object('legs', (
               SELECT jsonb_agg(jsonb_build_object('account', a.code,
                                                   'amount', ledger.format_amount(l.amount, l.currency),
                                                   'currency', l.currency) ORDER BY l.n)
               FROM unnest(r.account_ids, r.amounts, r.currencies) WITH ORDINALITY AS l(account_id, amount, currency, n)
               JOIN ledger.accounts a ON a.id = l.account_id))
$$;

-- Net amount per account and currency of the original transaction and of a rebook (legs
-- that cancel out within one side drop out).
CREATE FUNCTION ledger.rebook_sides(p_transaction bigint, r ledger.normalized_request)
RETURNS TABLE (side text, account_id bigint, currency text, net bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT * FROM (
        SELECT 'original', e.account_id, e.currency::text, sum(e.amount)::bigint FROM ledger.entries e
        WHERE e.transaction_id = p_transaction GROUP BY e.account_id, e.currency
        UNION ALL
        SELECT 'rebook', l.account_id, l.currency, sum(l.amount)::bigint
        FROM unnest(r.account_ids, r.amounts, r.currencies) AS l(account_id, amount, currency)
        GROUP BY l.account_id, l.currency) x(side, account_id, currency, net)
    WHERE x.net <> 0
$$;

-- What a rebook may change, by reason (see the top). Raises LG037 with what is wrong.
CREATE FUNCTION ledger.check_rebook(p_transaction bigint, p_reason text, r ledger.normalized_request) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_effective timestamptz;
    v_bad text;
    v_same_legs boolean;
    v_same_accounts boolean;
    v_common integer;
BEGIN
    IF p_reason NOT IN ('WRONG_AMOUNT', 'WRONG_ACCOUNT', 'WRONG_DATE') THEN
        RAISE EXCEPTION 'A rebook corrects the amount, the account or the date of a transaction: request it with reason WRONG_AMOUNT, WRONG_ACCOUNT or WRONG_DATE, not %', p_reason
            USING ERRCODE = 'LG037', HINT = 'Anything else is a new transaction of its own, posted separately.';
    END IF;
    SELECT t.effective_at INTO v_effective FROM ledger.transactions t WHERE t.id = p_transaction;
    -- One leg per account: legs that cancel out on one account would move nothing the
    -- rules below see, yet post (and show) amounts of any size, in any currency.
    IF (SELECT count(*) <> count(DISTINCT a) FROM unnest(r.account_ids) a) THEN
        RAISE EXCEPTION 'A rebook names each account once' USING ERRCODE = 'LG037';
    END IF;
    SELECT string_agg(DISTINCT c, ', ') INTO v_bad
    FROM unnest(r.currencies) c
    WHERE c NOT IN (SELECT e.currency::text FROM ledger.entries e WHERE e.transaction_id = p_transaction);
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'A rebook moves the same currencies as the original (not %)', v_bad USING ERRCODE = 'LG037';
    END IF;

    WITH s AS (SELECT * FROM ledger.rebook_sides(p_transaction, r))
    SELECT (SELECT string_agg(DISTINCT x.currency, ', ') FROM (
                (SELECT currency FROM s WHERE side = 'original' EXCEPT SELECT currency FROM s WHERE side = 'rebook')
                UNION ALL
                (SELECT currency FROM s WHERE side = 'rebook' EXCEPT SELECT currency FROM s WHERE side = 'original')) x),
           NOT EXISTS ((SELECT account_id, currency, net FROM s WHERE side = 'original'
                        EXCEPT SELECT account_id, currency, net FROM s WHERE side = 'rebook')
                       UNION ALL
                       (SELECT account_id, currency, net FROM s WHERE side = 'rebook'
                        EXCEPT SELECT account_id, currency, net FROM s WHERE side = 'original')),
           NOT EXISTS ((SELECT account_id FROM s WHERE side = 'original' EXCEPT SELECT account_id FROM s WHERE side = 'rebook')
                       UNION ALL
                       (SELECT account_id FROM s WHERE side = 'rebook' EXCEPT SELECT account_id FROM s WHERE side = 'original')),
           (SELECT count(*) FROM (SELECT account_id FROM s WHERE side = 'original'
                                  INTERSECT SELECT account_id FROM s WHERE side = 'rebook') c)
    INTO v_bad, v_same_legs, v_same_accounts, v_common;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'A rebook moves the same currencies as the original (these differ: %)', v_bad USING ERRCODE = 'LG037';
    END IF;

    IF p_reason = 'WRONG_DATE' THEN
        IF NOT v_same_legs THEN
            RAISE EXCEPTION 'A WRONG_DATE rebook changes only the effective time: its legs must be the original''s'
                USING ERRCODE = 'LG037';
        END IF;
        IF r.effective_at = v_effective THEN
            RAISE EXCEPTION 'This rebook changes nothing: give the corrected effective time' USING ERRCODE = 'LG037';
        END IF;
        IF abs(extract(epoch FROM r.effective_at - v_effective)) > 366 * 86400 THEN
            RAISE EXCEPTION 'A WRONG_DATE rebook moves the effective time by at most 366 days' USING ERRCODE = 'LG037';
        END IF;
        RETURN;
    END IF;

    IF r.effective_at <> v_effective THEN
        RAISE EXCEPTION 'A % rebook keeps the original''s effective time (%); a wrong date is corrected with WRONG_DATE',
            p_reason, to_char(v_effective AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') USING ERRCODE = 'LG037';
    END IF;
    IF v_same_legs THEN
        RAISE EXCEPTION 'This rebook posts exactly the original''s legs: it changes nothing' USING ERRCODE = 'LG037';
    END IF;

    IF p_reason = 'WRONG_AMOUNT' THEN
        IF NOT v_same_accounts THEN
            RAISE EXCEPTION 'A WRONG_AMOUNT rebook uses the original''s accounts; a wrong account is corrected with WRONG_ACCOUNT'
                USING ERRCODE = 'LG037';
        END IF;
        WITH s AS (SELECT * FROM ledger.rebook_sides(p_transaction, r))
        SELECT a.code INTO v_bad
        FROM s o JOIN s n ON n.account_id = o.account_id AND n.currency = o.currency
        JOIN ledger.accounts a ON a.id = o.account_id
        WHERE o.side = 'original' AND n.side = 'rebook' AND sign(o.net) <> sign(n.net)
        LIMIT 1;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'A WRONG_AMOUNT rebook keeps each account on its side (account % changes from debit to credit or back)', v_bad
                USING ERRCODE = 'LG037';
        END IF;
        WITH s AS (SELECT * FROM ledger.rebook_sides(p_transaction, r)),
             g AS (SELECT side, currency, sum(net) FILTER (WHERE net > 0) AS gross FROM s GROUP BY side, currency)
        SELECT o.currency INTO v_bad
        FROM g o JOIN g n ON n.currency = o.currency AND n.side = 'rebook'
        WHERE o.side = 'original'
          AND (n.gross > o.gross * ledger.rebook_amount_factor() OR n.gross * ledger.rebook_amount_factor() < o.gross)
        LIMIT 1;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'A WRONG_AMOUNT rebook changes the amount in % by at most a factor of %; post a larger change as a transaction of its own',
                v_bad, ledger.rebook_amount_factor() USING ERRCODE = 'LG037';
        END IF;
        RETURN;
    END IF;

    -- WRONG_ACCOUNT: the same amounts, on other accounts.
    IF v_same_accounts THEN
        RAISE EXCEPTION 'A WRONG_ACCOUNT rebook moves a leg to another account; to change amounts use WRONG_AMOUNT'
            USING ERRCODE = 'LG037';
    END IF;
    IF v_common = 0 THEN
        RAISE EXCEPTION 'A WRONG_ACCOUNT rebook keeps at least one of the original''s accounts' USING ERRCODE = 'LG037';
    END IF;
    IF EXISTS (WITH s AS (SELECT * FROM ledger.rebook_sides(p_transaction, r))
               (SELECT currency, net FROM s WHERE side = 'original' EXCEPT ALL SELECT currency, net FROM s WHERE side = 'rebook')
               UNION ALL
               (SELECT currency, net FROM s WHERE side = 'rebook' EXCEPT ALL SELECT currency, net FROM s WHERE side = 'original')) THEN
        RAISE EXCEPTION 'A WRONG_ACCOUNT rebook keeps the original''s amounts, account by account; only the accounts change'
            USING ERRCODE = 'LG037';
    END IF;
END
$$;

-- Rebooks stored before this migration, normalised like new ones (the superuser lifts the
-- append-only trigger for this rewrite of their representation only; a rebook that no
-- longer normalises stays as it was and is refused at approval).
RESET ROLE;
ALTER TABLE ledger.reversal_requests DISABLE TRIGGER reversal_requests_append_only;
DO $normalise$
DECLARE
    q record;
BEGIN
    FOR q IN SELECT r.id, r.rebook FROM ledger.reversal_requests r WHERE r.rebook IS NOT NULL LOOP
        BEGIN
            UPDATE ledger.reversal_requests r SET rebook = ledger.request_json(ledger.normalize_request(q.rebook))
            WHERE r.id = q.id;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'reversal request %: its rebook does not normalise (%); it will be refused at approval', q.id, SQLERRM;
        END;
    END LOOP;
END
$normalise$;
ALTER TABLE ledger.reversal_requests ENABLE ALWAYS TRIGGER reversal_requests_append_only;
SET LOCAL ROLE ledger_owner;

CREATE OR REPLACE FUNCTION ledger.request_reversal_unchecked(p_transaction bigint, p_reason text, p_note text,
                                                             p_rebook jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_tx record;
    v_id bigint;
    v_pending bigint;
    v_attempt integer;
    v_normalized ledger.normalized_request;
    v_rebook jsonb;
BEGIN
    PERFORM ledger.check_note(p_note, true, 'explaining the reversal');
    IF p_reason IS NULL OR length(p_reason) > 32 OR NOT EXISTS (SELECT 1 FROM ledger.reason_codes c WHERE c.code = p_reason) THEN
        RAISE EXCEPTION 'Unknown reason code "%"; use one of: %', left(p_reason, 32),
            (SELECT string_agg(code, ', ' ORDER BY code) FROM ledger.reason_codes) USING ERRCODE = 'LG030';
    END IF;
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
    -- The friendly check; the constraint below is what holds under concurrency.
    SELECT q.id INTO v_pending FROM ledger.reversal_requests q
    WHERE q.transaction_id = p_transaction
      AND NOT EXISTS (SELECT 1 FROM ledger.reversal_decisions d WHERE d.request_id = q.id)
    ORDER BY q.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Transaction % already has a pending reversal request (%)', p_transaction, v_pending
            USING ERRCODE = 'LG033';
    END IF;
    IF p_rebook IS NOT NULL THEN
        IF pg_column_size(p_rebook) > ledger.max_rebook_bytes() THEN
            RAISE EXCEPTION 'A rebook is at most % bytes of JSON', ledger.max_rebook_bytes() USING ERRCODE = 'LG037';
        END IF;
        v_normalized := ledger.normalize_request(p_rebook); -- refuse a bad correction now, not at approval
        IF length(v_normalized.external_ref) > 200 THEN
            RAISE EXCEPTION 'external_ref is longer than 200 characters' USING ERRCODE = 'LG017';
        END IF;
        IF ledger.has_control_characters(v_normalized.description) OR ledger.has_control_characters(v_normalized.external_ref) THEN
            RAISE EXCEPTION 'The rebook''s description or external_ref contains control characters' USING ERRCODE = 'LG017';
        END IF;
        PERFORM ledger.check_rebook(p_transaction, p_reason, v_normalized);
        v_rebook := ledger.request_json(v_normalized);
    END IF;
    SELECT count(*) + 1 INTO v_attempt FROM ledger.reversal_requests q WHERE q.transaction_id = p_transaction;
    BEGIN
        INSERT INTO ledger.reversal_requests (transaction_id, reason_code, note, rebook, requested_by, requested_role, attempt)
        VALUES (p_transaction, p_reason, btrim(p_note), v_rebook, audit.current_operator(), session_user, v_attempt)
        RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'Transaction % already has a pending reversal request (made at the same moment as this one)', p_transaction
            USING ERRCODE = 'LG033', HINT = 'Reload the requests: the pending one must be decided first.';
    END;
    PERFORM audit.record('reversal.requested', 'reversal_request', v_id::text,
                         jsonb_build_object('transaction_id', p_transaction, 'reason', p_reason, 'note', btrim(p_note),
                                            'attempt', v_attempt, 'rebook', v_rebook));
    RETURN v_id;
END
$$;

-------------------------------------------------------------------------------------------
-- The preview: what approving a request would post, and its digest.
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.preview_legs(p_legs jsonb) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('account', l.value->>'account', 'account_name', a.name,
                                                 'currency', l.value->>'currency', 'amount', l.value->>'amount')
                              ORDER BY l.n), '[]'::jsonb)
    FROM jsonb_array_elements(p_legs) WITH ORDINALITY AS l(value, n)
    LEFT JOIN ledger.accounts a ON a.code = l.value->>'account'
$$;

CREATE FUNCTION ledger.reversal_preview_unchecked(p_request bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    q ledger.reversal_requests;
    t ledger.transactions;
    v_original jsonb;
    v_mirror jsonb;
    v_rebook jsonb;
    v_net jsonb;
    v_content jsonb;
    v_decision record;
BEGIN
    SELECT * INTO q FROM ledger.reversal_requests r WHERE r.id = p_request;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No reversal request %', p_request USING ERRCODE = 'LG034';
    END IF;
    SELECT * INTO t FROM ledger.transactions x WHERE x.id = q.transaction_id;
    SELECT jsonb_agg(jsonb_build_object('account', a.code, 'amount', ledger.format_amount(e.amount, e.currency::text),
                                        'currency', e.currency::text) ORDER BY e.id),
           jsonb_agg(jsonb_build_object('account', a.code, 'amount', ledger.format_amount(-e.amount, e.currency::text),
                                        'currency', e.currency::text) ORDER BY e.id)
    INTO v_original, v_mirror
    FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
    WHERE e.transaction_id = t.id;
    IF q.rebook IS NOT NULL THEN
        v_rebook := ledger.request_json(ledger.normalize_request(q.rebook));
    END IF;
    -- Net effect per account of approving: the mirror plus the rebook.
    SELECT coalesce(jsonb_agg(jsonb_build_object('account', a.code, 'account_name', a.name, 'currency', n.currency,
                                                 'amount', ledger.format_amount(n.net, n.currency))
                              ORDER BY a.code, n.currency), '[]'::jsonb)
    INTO v_net
    FROM (SELECT l.account, l.currency, sum(ledger.to_minor(l.amount, l.currency))::bigint AS net
          FROM (SELECT x.value->>'account' AS account, x.value->>'currency' AS currency, x.value->>'amount' AS amount
                FROM jsonb_array_elements(v_mirror || coalesce(v_rebook->'legs', '[]'::jsonb)) x) l
          GROUP BY l.account, l.currency) n
    JOIN ledger.accounts a ON a.code = n.account
    WHERE n.net <> 0;
    v_content := jsonb_build_object(
        'request', q.id, 'transaction_id', q.transaction_id, 'attempt', q.attempt, 'reason', q.reason_code,
        'note', q.note, 'requested_by', q.requested_by,
        'requested_at', to_char(q.requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'original', jsonb_build_object(
            'effective_at', to_char(t.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'description', t.description, 'external_ref', t.external_ref, 'kind', t.kind,
            'legs', ledger.preview_legs(v_original)),
        'reversal', jsonb_build_object(
            'effective_at', to_char(t.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'description', left(format('Reversal of #%s (%s): %s', t.id, q.reason_code, t.description), 500),
            'legs', ledger.preview_legs(v_mirror)),
        'rebook', CASE WHEN v_rebook IS NULL THEN NULL
                       ELSE (v_rebook - 'legs') || jsonb_build_object('legs', ledger.preview_legs(v_rebook->'legs')) END,
        'net', v_net);
    SELECT d.decision, d.decided_by, d.decided_at INTO v_decision FROM ledger.reversal_decisions d WHERE d.request_id = q.id;
    RETURN v_content || jsonb_build_object(
        'digest', encode(sha256(convert_to(v_content::text, 'UTF8')), 'hex'),
        'state', coalesce(v_decision.decision, 'pending'),
        'decided_by', v_decision.decided_by,
        'decided_at', to_char(v_decision.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
END
$$;

-- What a supervisor (or anyone who may see requests) is shown before a decision.
CREATE FUNCTION ledger.reversal_preview(p_request bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    PERFORM access.check_session();
    RETURN ledger.reversal_preview_unchecked(p_request);
END
$$;

-------------------------------------------------------------------------------------------
-- Decisions: an approval names the preview it approves.
-------------------------------------------------------------------------------------------
DROP FUNCTION ledger.approve_reversal(bigint, text);
DROP FUNCTION ledger.reject_reversal(bigint, text);
DROP FUNCTION ledger.decide_reversal(bigint, boolean, text);

CREATE FUNCTION ledger.decide_reversal(p_request bigint, p_approve boolean, p_note text, p_digest text,
                                       OUT reversal_transaction_id bigint, OUT rebook_transaction_id bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    v_req ledger.reversal_requests;
    v_done record;
    v_operator text := audit.current_operator();
    v_orig record;
    v_mirror ledger.normalized_request;
    v_rebook ledger.normalized_request;
    v_preview jsonb;
    v_result record;
BEGIN
    IF NOT pg_has_role(session_user, 'console_supervisor', 'MEMBER') THEN
        RAISE EXCEPTION 'Only supervisors decide reversal requests' USING ERRCODE = '42501';
    END IF;
    PERFORM ledger.check_note(p_note, NOT p_approve, 'explaining the rejection');
    -- One decision at a time per request (a row lock: no advisory key anyone else can take).
    SELECT * INTO v_req FROM ledger.reversal_requests r WHERE r.id = p_request FOR UPDATE;
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

    IF p_approve THEN
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
                                               reversal_transaction_id, rebook_transaction_id)
        VALUES (p_request, CASE WHEN p_approve THEN 'approved' ELSE 'rejected' END, nullif(btrim(p_note), ''),
                v_operator, session_user, reversal_transaction_id, rebook_transaction_id);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'Reversal request % was decided by someone else at the same moment', p_request
            USING ERRCODE = 'LG035';
    END;
    PERFORM audit.record(CASE WHEN p_approve THEN 'reversal.approved' ELSE 'reversal.rejected' END,
                         'reversal_request', p_request::text,
                         jsonb_strip_nulls(jsonb_build_object(
                             'transaction_id', v_req.transaction_id,
                             'reversal_transaction_id', reversal_transaction_id,
                             'rebook_transaction_id', rebook_transaction_id,
                             'note', nullif(btrim(p_note), ''),
                             'preview_digest', v_preview->>'digest',
                             'rebook', v_preview->'rebook',
                             'net', v_preview->'net')));
END
$$;

CREATE FUNCTION ledger.approve_reversal(p_request bigint, p_preview_digest text, p_note text DEFAULT NULL,
                                        OUT reversal_transaction_id bigint, OUT rebook_transaction_id bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    PERFORM access.check_session();
    SELECT d.reversal_transaction_id, d.rebook_transaction_id INTO reversal_transaction_id, rebook_transaction_id
    FROM ledger.decide_reversal(p_request, true, p_note, p_preview_digest) d;
END
$$;

CREATE FUNCTION ledger.reject_reversal(p_request bigint, p_note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.decide_reversal(p_request, false, p_note, NULL);
END
$$;

-------------------------------------------------------------------------------------------
-- What the console reads: the full rebook wherever a request is shown.
-------------------------------------------------------------------------------------------
CREATE OR REPLACE VIEW ledger.reversal_request_status AS
SELECT r.id, r.transaction_id, r.reason_code, r.note, r.rebook IS NOT NULL AS rebook,
       r.requested_by, r.requested_at,
       coalesce(d.decision, 'pending') AS state,
       d.decided_by, d.decided_at, d.note AS decision_note,
       d.reversal_transaction_id, d.rebook_transaction_id,
       r.attempt, r.rebook AS rebook_request
FROM ledger.reversal_requests r
LEFT JOIN ledger.reversal_decisions d ON d.request_id = r.id
WHERE access.check_session();

CREATE OR REPLACE FUNCTION ledger.transaction_detail(p_transaction bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
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
                                   'rebook_request', q.rebook,
                                   'attempt', q.attempt,
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

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.reversal_preview(bigint)
    TO console_operator, console_supervisor, console_auditor, console_compliance;
GRANT EXECUTE ON FUNCTION ledger.approve_reversal(bigint, text, text), ledger.reject_reversal(bigint, text)
    TO console_supervisor;
