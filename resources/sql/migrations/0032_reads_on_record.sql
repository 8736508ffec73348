-- Step 10: a read of customer data by a console role is on record before it is served, and
-- the record survives whatever the reader does with its own transaction.
--
-- Until now a read wrote its event in the reader's transaction (ledger.balance,
-- ledger.open_account_history), so `BEGIN; SELECT ledger.balance('CUST-2'); ROLLBACK;`
-- returned the balance and left nothing; most reads (point in time, timeline pages, searches
-- within an account, balance series, transaction detail, the account list) wrote nothing.
-- PostgreSQL has no autonomous transactions, and the loopback that gave us one (0008, over
-- dblink) went in Step 6 for least privilege (0020). So the order is turned round: a read
-- is served only once its record is committed.
--
--   ledger.record_read(kind, subject)  writes the record: a mark in audit.read_marks for
--       (session, kind, subject) valid for the read window (audit.read_policy, 15 minutes),
--       and, when there was no valid mark, one audit event `read.<kind>` naming the account
--       or transaction. The caller commits it (autocommit: a statement of its own). Calling
--       it again inside the window writes nothing and returns the same end of window.
--   ledger.require_read(kind, subject) is the gate every read of customer data passes: it
--       returns true when the caller's mark exists, is inside its window and was committed
--       by an earlier transaction (its xact is not the reader's own, so a mark written in the
--       reader's transaction, savepoints included, does not count), and otherwise refuses
--       with LG090, saying which call to make first. Roles that are not console roles
--       (services, the owner, superusers) pass: only console roles' reads are gated.
--
-- So whatever a console role reads, an event naming it was committed first: a rollback can
-- only undo the reader's own work. The window bounds the records: one event per (session,
-- kind, account or transaction) per window, so scrolling a timeline writes one event, not
-- one per page. The console keeps the windows it holds and records again when one ends
-- (services/db/ReadsOnRecord.cpp).
--
-- Kinds and their subjects (accounts by their id, given as '#<id>' or as the code):
--   timeline        an account's history, timeline pages and windows
--   timeline_search searches within an account's timeline
--   point_in_time   point-in-time answers and the entries that explain them
--   balance_series  the balance chart's series and markers
--   balance         ledger.balance
--   transaction     a transaction's detail (subject: its id)
--   account_list    the account list (ledger.account_list; subject '')
--   account_search  a search of the account list: subject a JSON object of its terms
--                   {"text", "kind", "currency"}, recorded in the event; the view itself
--                   checks account_list, so these terms are what the console declares
--   ledger_rows     ledger.entry_list and ledger.transaction_list (subject '')
--   ledger_content  the verifier's views transaction_content, entry_content, head_content
--
-- The functions that serve these reads keep their bodies: they move to schema
-- ledger_unrecorded (the owner's, no one else may use it), and functions of the same
-- names and signatures in ledger call them behind the gate. The gate is a condition
-- without columns, so PostgreSQL evaluates it once, before anything is read ("One-Time
-- Filter"); the views already gate on access.check_session() the same way.

SET LOCAL ROLE ledger_owner;

CREATE TABLE audit.read_policy (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    window_length interval NOT NULL CHECK (window_length BETWEEN interval '1 second' AND interval '1 day')
);
INSERT INTO audit.read_policy (window_length) VALUES (interval '15 minutes');
REVOKE ALL ON audit.read_policy FROM PUBLIC;
COMMENT ON TABLE audit.read_policy IS
    'How long a read on record covers further reads of the same kind and subject by one session.';

CREATE TABLE audit.read_marks (
    session_role text NOT NULL,
    kind         text NOT NULL,
    subject      text NOT NULL,
    until        timestamptz NOT NULL,
    xact         xid8 NOT NULL,      -- the transaction that wrote the mark
    PRIMARY KEY (session_role, kind, subject)
);
REVOKE ALL ON audit.read_marks FROM PUBLIC;
COMMENT ON TABLE audit.read_marks IS
    'Reads on record: a console session may read (kind, subject) until `until`, once the writing transaction has committed. The events are in audit.events.';

-- Changing the window is itself on record.
CREATE FUNCTION audit.read_policy_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM audit.record('read.window_changed', 'read_policy', NULL,
                         jsonb_build_object('from', OLD.window_length::text, 'to', NEW.window_length::text));
    RETURN NEW;
END
$$;
CREATE TRIGGER read_policy_changed AFTER UPDATE ON audit.read_policy
    FOR EACH ROW WHEN (OLD.window_length IS DISTINCT FROM NEW.window_length)
    EXECUTE FUNCTION audit.read_policy_changed();
CREATE TRIGGER read_policy_no_delete BEFORE DELETE OR TRUNCATE ON audit.read_policy
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

-- A session's marks go with it.
CREATE FUNCTION audit.forget_reads_of_reaped() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM audit.read_marks m WHERE m.session_role = NEW.role_name;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_forget_reads AFTER UPDATE OF reaped_at ON access.sessions
    FOR EACH ROW WHEN (NEW.reaped_at IS NOT NULL AND OLD.reaped_at IS NULL)
    EXECUTE FUNCTION audit.forget_reads_of_reaped();

-- Whether the caller's reads are gated and recorded: members of a console group that are
-- not superusers (a superuser is a member of every role).
CREATE FUNCTION audit.reads_are_recorded() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT r.rolsuper
           AND (pg_has_role(session_user, 'console_operator', 'MEMBER')
                OR pg_has_role(session_user, 'console_supervisor', 'MEMBER')
                OR pg_has_role(session_user, 'console_auditor', 'MEMBER')
                OR pg_has_role(session_user, 'console_compliance', 'MEMBER'))
    FROM pg_catalog.pg_roles r WHERE r.rolname = session_user
$$;

-- An account's id from a read's subject: '#<id>' or a code. NULL when there is none.
CREATE FUNCTION ledger.read_account(p_subject text) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.id FROM ledger.accounts a
    WHERE CASE WHEN p_subject ~ '^#[0-9]{1,18}$' THEN a.id = substr(p_subject, 2)::bigint
               ELSE a.code = p_subject END
$$;

CREATE FUNCTION ledger.record_read(p_kind text, p_subject text) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_subject text;
    v_object_type text;
    v_object_id text;
    v_details jsonb := jsonb_build_object('read', p_kind);
    v_terms jsonb;
    v_until timestamptz;
BEGIN
    PERFORM access.check_session();
    IF NOT audit.reads_are_recorded() THEN
        RETURN 'infinity';
    END IF;
    IF p_kind IN ('timeline', 'timeline_search', 'point_in_time', 'balance_series', 'balance') THEN
        SELECT a.id::text, a.code INTO v_subject, v_object_id
        FROM ledger.accounts a WHERE a.id = ledger.read_account(p_subject);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'No account "%"', left(coalesce(p_subject, 'null'), 100) USING ERRCODE = 'LG018';
        END IF;
        v_object_type := 'account';
    ELSIF p_kind = 'transaction' THEN
        IF p_subject !~ '^[0-9]{1,18}$'
           OR NOT EXISTS (SELECT 1 FROM ledger.transactions t WHERE t.id = p_subject::bigint) THEN
            RAISE EXCEPTION 'No transaction %', left(coalesce(p_subject, 'null'), 100) USING ERRCODE = 'LG031';
        END IF;
        v_subject := p_subject;
        v_object_type := 'transaction';
        v_object_id := p_subject;
    ELSIF p_kind IN ('account_list', 'ledger_rows', 'ledger_content') THEN
        IF p_subject IS DISTINCT FROM '' THEN
            RAISE EXCEPTION 'A read of kind % has the empty subject', p_kind USING ERRCODE = 'LG091';
        END IF;
        v_subject := '';
        v_object_type := 'ledger';
    ELSIF p_kind = 'account_search' THEN
        BEGIN
            v_terms := p_subject::jsonb;
        EXCEPTION WHEN invalid_text_representation THEN
            v_terms := NULL;
        END;
        IF jsonb_typeof(v_terms) IS DISTINCT FROM 'object' OR octet_length(p_subject) > 1024
           OR EXISTS (SELECT 1 FROM jsonb_each(v_terms) t
                      WHERE t.key NOT IN ('text', 'kind', 'currency') OR jsonb_typeof(t.value) <> 'string') THEN
            RAISE EXCEPTION 'The terms of an account search are a JSON object of strings "text", "kind" and "currency", under 1 kB'
                USING ERRCODE = 'LG091';
        END IF;
        v_subject := v_terms::text;
        v_object_type := 'ledger';
        v_details := v_details || jsonb_build_object('terms', v_terms);
    ELSE
        RAISE EXCEPTION 'There is no kind of read "%"', left(coalesce(p_kind, 'null'), 40)
            USING ERRCODE = 'LG091',
                  HINT = 'Kinds: timeline, timeline_search, point_in_time, balance_series, balance, transaction, account_list, account_search, ledger_rows, ledger_content.';
    END IF;

    INSERT INTO audit.read_marks AS m (session_role, kind, subject, until, xact)
    SELECT session_user, p_kind, v_subject, statement_timestamp() + p.window_length, pg_current_xact_id()
    FROM audit.read_policy p
    ON CONFLICT (session_role, kind, subject) DO UPDATE SET until = excluded.until, xact = excluded.xact
        WHERE m.until <= statement_timestamp()
    RETURNING m.until INTO v_until;
    IF NOT FOUND THEN
        -- A mark inside its window: nothing new to record.
        SELECT m.until INTO v_until FROM audit.read_marks m
        WHERE m.session_role = session_user AND m.kind = p_kind AND m.subject = v_subject;
        RETURN v_until;
    END IF;
    PERFORM audit.record('read.' || p_kind, v_object_type, v_object_id,
                         v_details || jsonb_build_object('until', v_until));
    RETURN v_until;
END
$$;
COMMENT ON FUNCTION ledger.record_read(text, text) IS
    'Puts a read on record before it is made (commit it first): one audit event per session, kind and subject per window. Returns the end of the window (infinity for roles whose reads are not gated).';

CREATE FUNCTION ledger.require_read(p_kind text, p_subject text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_until timestamptz;
    v_xact xid8;
    v_shown text;
BEGIN
    -- No subject: nothing to read (the function behind the gate says so).
    IF p_subject IS NULL OR NOT audit.reads_are_recorded() THEN
        RETURN true;
    END IF;
    SELECT m.until, m.xact INTO v_until, v_xact FROM audit.read_marks m
    WHERE m.session_role = session_user AND m.kind = p_kind AND m.subject = p_subject;
    IF FOUND AND v_until > statement_timestamp()
       AND v_xact IS DISTINCT FROM pg_current_xact_id_if_assigned() THEN
        RETURN true;
    END IF;
    v_shown := CASE WHEN p_kind IN ('account_list', 'ledger_rows', 'ledger_content', 'transaction', 'account_search')
                    THEN p_subject ELSE '#' || p_subject END;
    RAISE EXCEPTION 'This read is not on record yet'
        USING ERRCODE = 'LG090',
              DETAIL = CASE WHEN v_until IS NULL OR v_until <= statement_timestamp()
                            THEN format('No read of kind %s of %s is on record for this session inside its window.',
                                        p_kind, CASE WHEN p_subject = '' THEN 'the ledger' ELSE v_shown END)
                            ELSE 'Its record was written in this transaction and is not committed.' END,
              HINT = format('Call ledger.record_read(%L, %L) in a transaction of its own, commit it, then read again.',
                            p_kind, v_shown);
END
$$;

REVOKE EXECUTE ON FUNCTION audit.read_policy_changed(), audit.forget_reads_of_reaped(),
    audit.reads_are_recorded(), ledger.read_account(text), ledger.require_read(text, text),
    ledger.record_read(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.record_read(text, text)
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;
-- A view calls functions with its reader's rights (like access.check_session()): the views'
-- readers call the gate. It only answers true or refuses.
GRANT EXECUTE ON FUNCTION ledger.require_read(text, text)
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;

-- The account's currency for the timeline's rows, which carry amounts without it (not
-- customer data: the timeline's own read is what is gated).
CREATE FUNCTION ledger.account_currency(p_account_id bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT a.currency FROM ledger.accounts a WHERE a.id = p_account_id AND access.check_session()
$$;
REVOKE EXECUTE ON FUNCTION ledger.account_currency(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.account_currency(bigint)
    TO console_operator, console_supervisor, console_auditor, console_compliance;

-------------------------------------------------------------------------------------------
-- The views: the same rows, behind the gate.
-------------------------------------------------------------------------------------------
CREATE OR REPLACE VIEW ledger.account_list AS
SELECT a.id, a.code, a.name, a.currency, a.kind, a.normal_side, a.allow_negative, a.opened_at,
       s.shown AS balance_minor,
       h.last_seq AS entry_count,
       round(s.shown::numeric / (10::numeric ^ c.exponent), c.exponent)::text AS balance
FROM ledger.accounts a
JOIN ledger.account_heads h ON h.account_id = a.id
JOIN ledger.currencies c ON c.code = a.currency
CROSS JOIN LATERAL (SELECT CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END AS shown) s
WHERE access.check_session() AND ledger.require_read('account_list', '');

CREATE OR REPLACE VIEW ledger.entry_list AS
SELECT e.id, e.transaction_id, e.account_id, a.code AS account, e.amount, e.currency,
       e.effective_at, e.recorded_at, e.account_seq, e.balance_after
FROM ledger.entries e
JOIN ledger.accounts a ON a.id = e.account_id
WHERE access.check_session() AND ledger.require_read('ledger_rows', '');

CREATE OR REPLACE VIEW ledger.transaction_list AS
SELECT t.id, t.idempotency_key, t.kind, t.effective_at, t.recorded_at, t.description,
       t.external_ref, t.reverses, r.id AS reversed_by, t.created_by, t.created_role
FROM ledger.transactions t
LEFT JOIN ledger.transactions r ON r.reverses = t.id
WHERE access.check_session() AND ledger.require_read('ledger_rows', '');

CREATE OR REPLACE VIEW ledger.transaction_content AS
SELECT t.id, t.idempotency_key, t.request_hash, t.kind, t.effective_at, t.recorded_at,
       t.reverses, t.description, t.external_ref, t.created_by, t.created_role
FROM ledger.transactions t
WHERE access.check_session() AND ledger.require_read('ledger_content', '');

CREATE OR REPLACE VIEW ledger.entry_content AS
SELECT e.id, e.transaction_id, e.account_id, e.amount, e.currency, e.effective_at,
       e.recorded_at, e.account_seq, e.balance_after
FROM ledger.entries e
WHERE access.check_session() AND ledger.require_read('ledger_content', '');

CREATE OR REPLACE VIEW ledger.head_content AS
SELECT h.account_id, a.code, h.last_seq, h.balance, h.last_recorded_at
FROM ledger.account_heads h
JOIN ledger.accounts a ON a.id = h.account_id
WHERE access.check_session() AND ledger.require_read('ledger_content', '');

-------------------------------------------------------------------------------------------
-- The functions: moved behind the gate, bodies unchanged.
-------------------------------------------------------------------------------------------
RESET ROLE;
CREATE SCHEMA ledger_unrecorded AUTHORIZATION ledger_owner;
REVOKE ALL ON SCHEMA ledger_unrecorded FROM PUBLIC;
COMMENT ON SCHEMA ledger_unrecorded IS
    'The functions that read customer data, as they were before Step 10; only the gated functions of the same names in ledger call them.';
SET LOCAL ROLE ledger_owner;

ALTER FUNCTION ledger.balance(text, timestamptz, timestamptz) SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.open_account_history(text) SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.timeline_page(bigint, text, bigint, integer, bigint) SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.timeline_window(bigint, text, timestamptz, timestamptz) SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.timeline_search(bigint, text, bigint, integer, timestamptz, timestamptz, text, text, text)
    SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.point_in_time(bigint, timestamptz, timestamptz) SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.point_in_time_entries(bigint, timestamptz, timestamptz, integer) SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.balance_series(bigint, timestamptz, timestamptz, integer) SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.balance_markers(bigint, timestamptz, timestamptz, integer) SET SCHEMA ledger_unrecorded;
ALTER FUNCTION ledger.transaction_detail(bigint) SET SCHEMA ledger_unrecorded;

DO $revoke$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'ledger_unrecorded'::regnamespace
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, console_operator, console_supervisor, '
                       'console_auditor, console_compliance, ledger_writer', f);
    END LOOP;
END
$revoke$;

CREATE FUNCTION ledger.balance(p_account text, p_effective timestamptz DEFAULT NULL, p_known_at timestamptz DEFAULT NULL,
    OUT account text, OUT currency text, OUT amount text, OUT minor_units bigint,
    OUT effective_at timestamptz, OUT known_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.balance(p_account, p_effective, p_known_at)
    WHERE ledger.require_read('balance', ledger.read_account(p_account)::text)
$$;

CREATE FUNCTION ledger.open_account_history(p_account text,
    OUT account_id bigint, OUT code text, OUT name text, OUT currency text, OUT exponent smallint,
    OUT kind text, OUT normal_side text, OUT allow_negative boolean, OUT entry_count bigint,
    OUT balance text, OUT first_effective_at timestamptz, OUT last_effective_at timestamptz,
    OUT first_recorded_at timestamptz, OUT last_recorded_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.open_account_history(p_account)
    WHERE ledger.require_read('timeline', ledger.read_account(p_account)::text)
$$;

CREATE FUNCTION ledger.timeline_page(p_account_id bigint, p_order text, p_position bigint, p_limit integer,
                                     p_after_seq bigint DEFAULT NULL)
RETURNS SETOF ledger.timeline_row
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.timeline_page(p_account_id, p_order, p_position, p_limit, p_after_seq)
    WHERE ledger.require_read('timeline', p_account_id::text)
$$;

CREATE FUNCTION ledger.timeline_window(p_account_id bigint, p_order text, p_from timestamptz, p_to timestamptz,
                                       OUT first_position bigint, OUT row_count bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.timeline_window(p_account_id, p_order, p_from, p_to)
    WHERE ledger.require_read('timeline', p_account_id::text)
$$;

CREATE FUNCTION ledger.timeline_search(p_account_id bigint, p_order text, p_after_seq bigint, p_limit integer,
                                       p_from timestamptz DEFAULT NULL, p_to timestamptz DEFAULT NULL,
                                       p_min text DEFAULT NULL, p_max text DEFAULT NULL, p_text text DEFAULT NULL)
RETURNS SETOF ledger.timeline_row
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.timeline_search(p_account_id, p_order, p_after_seq, p_limit,
                                                    p_from, p_to, p_min, p_max, p_text)
    WHERE ledger.require_read('timeline_search', p_account_id::text)
$$;

CREATE FUNCTION ledger.point_in_time(p_account_id bigint, p_effective timestamptz DEFAULT NULL,
    p_known_at timestamptz DEFAULT NULL,
    OUT effective_at timestamptz, OUT known_at timestamptz, OUT balance text, OUT balance_minor bigint,
    OUT shown_then text, OUT shown_then_minor bigint, OUT difference text, OUT difference_minor bigint,
    OUT explaining_entries bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.point_in_time(p_account_id, p_effective, p_known_at)
    WHERE ledger.require_read('point_in_time', p_account_id::text)
$$;

CREATE FUNCTION ledger.point_in_time_entries(p_account_id bigint, p_effective timestamptz, p_known_at timestamptz,
                                             p_limit integer DEFAULT 1000)
RETURNS SETOF ledger.timeline_row
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.point_in_time_entries(p_account_id, p_effective, p_known_at, p_limit)
    WHERE ledger.require_read('point_in_time', p_account_id::text)
$$;

CREATE FUNCTION ledger.balance_series(p_account_id bigint, p_from timestamptz, p_to timestamptz, p_samples integer)
RETURNS TABLE(at timestamptz, balance_minor bigint, exact boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.balance_series(p_account_id, p_from, p_to, p_samples)
    WHERE ledger.require_read('balance_series', p_account_id::text)
$$;

CREATE FUNCTION ledger.balance_markers(p_account_id bigint, p_from timestamptz, p_to timestamptz,
                                       p_limit integer DEFAULT 500)
RETURNS TABLE(at timestamptz, marker text, transaction_id bigint, account_seq bigint, balance_minor bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT * FROM ledger_unrecorded.balance_markers(p_account_id, p_from, p_to, p_limit)
    WHERE ledger.require_read('balance_series', p_account_id::text)
$$;

CREATE FUNCTION ledger.transaction_detail(p_transaction bigint) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT ledger_unrecorded.transaction_detail(p_transaction)
    WHERE ledger.require_read('transaction', p_transaction::text)
$$;

-- The gated functions are the console roles' as the ones behind them were; ledger_writer
-- keeps ledger.balance (its reads are not gated).
DO $grants$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'ledger'::regnamespace
               AND p.proname IN (SELECT u.proname FROM pg_proc u
                                 WHERE u.pronamespace = 'ledger_unrecorded'::regnamespace)
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO console_operator, console_supervisor, '
                       'console_auditor, console_compliance', f);
    END LOOP;
END
$grants$;
GRANT EXECUTE ON FUNCTION ledger.balance(text, timestamptz, timestamptz) TO ledger_writer;
