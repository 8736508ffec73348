-- Step 10, the reads 0032 left out: the approvals inbox and its previews, statements and
-- their lists, and the reconciliation queue are served, like the timeline, only once their
-- record is committed (ledger.record_read; see 0032_reads_on_record.sql for the gate).
--
-- New kinds of read and their subjects:
--   reversal_requests  the approvals inbox and its count, ledger.reversal_request_status
--                      (subject '')
--   reversal_request   a stored request's preview (subject: the request's id)
--   transaction        (0032) also a draft reversal's preview of that transaction
--   statement          a statement's header and lines (subject: the account, '#<id>' or
--                      its code)
--   statement_list     issued and restated statements, a batch's accounts, the statement
--                      found for a file or reference (subject '')
--   recon_queue        the reconciliation exceptions, their count and aging, the status,
--                      proposed matches and the candidates for a line or an entry
--                      (subject '')
--
-- The functions move to ledger_unrecorded with their bodies, grants and settings, and
-- functions of the same names and signatures take their place; the generator below writes
-- those (the gate, then the call) from each function's own catalogue entry, so that they
-- cannot drift from the signatures they stand for. exception_head and exceptions_of_request
-- return ids only and stay ungated.
--
-- The timeline marked pending reversal requests from ledger.reversal_request_status; it now
-- asks ledger.pending_reversal_requests, which answers ids only (the timeline's own read is
-- on record).

SET LOCAL ROLE ledger_owner;

-- The subject of a read, checked: what record_read stores, and what its event names.
CREATE FUNCTION audit.read_subject(p_kind text, p_subject text,
                                   OUT subject text, OUT object_type text, OUT object_id text, OUT details jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_terms jsonb;
BEGIN
    details := jsonb_build_object('read', p_kind);
    IF p_kind IN ('timeline', 'timeline_search', 'point_in_time', 'balance_series', 'balance', 'statement') THEN
        SELECT a.id::text, a.code INTO subject, object_id
        FROM ledger.accounts a WHERE a.id = ledger.read_account(p_subject);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'No account "%"', left(coalesce(p_subject, 'null'), 100) USING ERRCODE = 'LG018';
        END IF;
        object_type := 'account';
    ELSIF p_kind = 'transaction' THEN
        IF p_subject !~ '^[0-9]{1,18}$'
           OR NOT EXISTS (SELECT 1 FROM ledger.transactions t WHERE t.id = p_subject::bigint) THEN
            RAISE EXCEPTION 'No transaction %', left(coalesce(p_subject, 'null'), 100) USING ERRCODE = 'LG031';
        END IF;
        subject := p_subject;
        object_type := 'transaction';
        object_id := p_subject;
    ELSIF p_kind = 'reversal_request' THEN
        IF p_subject !~ '^[0-9]{1,18}$'
           OR NOT EXISTS (SELECT 1 FROM ledger.reversal_requests r WHERE r.id = p_subject::bigint) THEN
            RAISE EXCEPTION 'No reversal request %', left(coalesce(p_subject, 'null'), 100) USING ERRCODE = 'LG034';
        END IF;
        subject := p_subject;
        object_type := 'reversal_request';
        object_id := p_subject;
    ELSIF p_kind IN ('account_list', 'ledger_rows', 'ledger_content', 'reversal_requests', 'statement_list',
                     'recon_queue') THEN
        IF p_subject IS DISTINCT FROM '' THEN
            RAISE EXCEPTION 'A read of kind % has the empty subject', p_kind USING ERRCODE = 'LG091';
        END IF;
        subject := '';
        object_type := 'ledger';
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
        subject := v_terms::text;
        object_type := 'ledger';
        details := details || jsonb_build_object('terms', v_terms);
    ELSE
        RAISE EXCEPTION 'There is no kind of read "%"', left(coalesce(p_kind, 'null'), 40)
            USING ERRCODE = 'LG091',
                  HINT = 'Kinds: timeline, timeline_search, point_in_time, balance_series, balance, statement, '
                         'transaction, reversal_request, account_list, account_search, ledger_rows, ledger_content, '
                         'reversal_requests, statement_list, recon_queue.';
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.read_subject(text, text) FROM PUBLIC;

-- As in 0032, with the subject checked by audit.read_subject.
CREATE OR REPLACE FUNCTION ledger.record_read(p_kind text, p_subject text) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v record;
    v_until timestamptz;
BEGIN
    PERFORM access.check_session();
    IF NOT audit.reads_are_recorded() THEN
        RETURN 'infinity';
    END IF;
    v := audit.read_subject(p_kind, p_subject);

    -- Inside its window: nothing to write (and no transaction id taken, so nothing to flush).
    SELECT m.until INTO v_until FROM audit.read_marks m
    WHERE m.session_role = session_user AND m.kind = p_kind AND m.subject = v.subject
      AND m.until > statement_timestamp();
    IF FOUND THEN
        RETURN v_until;
    END IF;
    INSERT INTO audit.read_marks AS m (session_role, kind, subject, until, xact)
    SELECT session_user, p_kind, v.subject, statement_timestamp() + p.window_length, pg_current_xact_id()
    FROM audit.read_policy p
    ON CONFLICT (session_role, kind, subject) DO UPDATE SET until = excluded.until, xact = excluded.xact
        WHERE m.until <= statement_timestamp()
    RETURNING m.until INTO v_until;
    IF NOT FOUND THEN
        -- A concurrent caller wrote a mark inside its window meanwhile.
        SELECT m.until INTO v_until FROM audit.read_marks m
        WHERE m.session_role = session_user AND m.kind = p_kind AND m.subject = v.subject;
        RETURN v_until;
    END IF;
    PERFORM audit.record('read.' || p_kind, v.object_type, v.object_id,
                         v.details || jsonb_build_object('until', v_until));
    RETURN v_until;
END
$$;

-- As in 0032; the hint names account subjects as '#<id>', the others as given.
CREATE OR REPLACE FUNCTION ledger.require_read(p_kind text, p_subject text) RETURNS boolean
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
    v_shown := CASE WHEN p_kind IN ('timeline', 'timeline_search', 'point_in_time', 'balance_series', 'balance',
                                    'statement')
                    THEN '#' || p_subject ELSE p_subject END;
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

-- Pending reversal requests of the given transactions, for the timeline's marks.
CREATE FUNCTION ledger.pending_reversal_requests(p_transactions bigint[])
RETURNS TABLE (transaction_id bigint, request_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
    SELECT r.transaction_id, r.id FROM ledger.reversal_requests r
    WHERE access.check_session() AND r.transaction_id = ANY (p_transactions)
      AND cardinality(p_transactions) <= 10000
      AND r.expires_at > clock_timestamp()
      AND NOT EXISTS (SELECT 1 FROM ledger.reversal_decisions d WHERE d.request_id = r.id)
$$;
REVOKE EXECUTE ON FUNCTION ledger.pending_reversal_requests(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.pending_reversal_requests(bigint[])
    TO console_operator, console_supervisor, console_auditor, console_compliance;

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
WHERE access.check_session() AND ledger.require_read('reversal_requests', '');

-------------------------------------------------------------------------------------------
-- The functions: moved behind the gate with their grants; the gated ones written from the
-- catalogue.
-------------------------------------------------------------------------------------------
DO $gate$
DECLARE
    g record;
    p pg_proc;
    v_schema text;
    v_grantees text;
    v_args text;
    v_outs text;
    v_call text;
    v_body text;
BEGIN
    FOR g IN
        SELECT * FROM (VALUES
            ('ledger.reversal_inbox(text[], text, text, boolean, text, numeric, numeric, interval, interval, text, boolean, integer, integer)'::regprocedure,
             'reversal_requests', $s$''$s$),
            ('ledger.reversal_inbox_count(text[], text, text, boolean, text, numeric, numeric, interval, interval)'::regprocedure,
             'reversal_requests', $s$''$s$),
            ('ledger.reversal_preview(bigint)'::regprocedure, 'reversal_request', '$1::text'),
            ('ledger.reversal_preview_draft(bigint, text, jsonb)'::regprocedure, 'transaction', '$1::text'),
            ('ledger.statement_header(text, timestamptz, timestamptz, timestamptz)'::regprocedure,
             'statement', 'ledger.read_account($1)::text'),
            ('ledger.statement_lines(text, timestamptz, timestamptz, timestamptz)'::regprocedure,
             'statement', 'ledger.read_account($1)::text'),
            ('ledger.issued_statements(text, boolean, bigint, integer)'::regprocedure, 'statement_list', $s$''$s$),
            ('ledger.restated_statements(timestamptz)'::regprocedure, 'statement_list', $s$''$s$),
            ('ledger.statement_batch_accounts(text, text)'::regprocedure, 'statement_list', $s$''$s$),
            ('ledger.verify_statement_file(text)'::regprocedure, 'statement_list', $s$''$s$),
            ('ledger.verify_statement_reference(text)'::regprocedure, 'statement_list', $s$''$s$),
            ('recon.exception_queue(text[], text, text[], text, bigint, bigint, interval, boolean, text, boolean, integer, integer)'::regprocedure,
             'recon_queue', $s$''$s$),
            ('recon.exception_count(text[], text, text[], text, bigint, bigint, interval, boolean)'::regprocedure,
             'recon_queue', $s$''$s$),
            ('recon.exception_aging(text)'::regprocedure, 'recon_queue', $s$''$s$),
            ('recon.status(text)'::regprocedure, 'recon_queue', $s$''$s$),
            ('recon.line_candidates(bigint, integer)'::regprocedure, 'recon_queue', $s$''$s$),
            ('recon.entry_candidates(bigint, integer)'::regprocedure, 'recon_queue', $s$''$s$),
            ('recon.proposed_matches(text, integer, integer)'::regprocedure, 'recon_queue', $s$''$s$)
        ) AS v(fn, kind, subject)
    LOOP
        SELECT * INTO p FROM pg_proc WHERE oid = g.fn;
        v_schema := p.pronamespace::regnamespace::text;
        -- Who may call it now (never PUBLIC: every read is granted to named roles).
        IF p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0) THEN
            RAISE EXCEPTION '% is executable by PUBLIC: grant it to roles before gating it', g.fn;
        END IF;
        SELECT string_agg(quote_ident(r.rolname), ', ') INTO v_grantees
        FROM aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
        WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner;
        v_args := pg_get_function_arguments(g.fn);
        SELECT string_agg('$' || i, ', ' ORDER BY i) INTO v_call FROM generate_series(1, p.pronargs) i;
        v_call := format('ledger_unrecorded.%I(%s)', p.proname, coalesce(v_call, ''));

        EXECUTE format('ALTER FUNCTION %s SET SCHEMA ledger_unrecorded', g.fn);
        IF v_grantees IS NOT NULL THEN
            EXECUTE format('REVOKE EXECUTE ON FUNCTION ledger_unrecorded.%I(%s) FROM %s',
                           p.proname, pg_get_function_identity_arguments(g.fn), v_grantees);
        END IF;

        IF p.proretset THEN
            v_body := format('RETURN QUERY SELECT * FROM %s;', v_call);
        ELSIF p.prorettype = 'record'::regtype THEN
            -- OUT parameters: the wrapper's own, filled from the call.
            SELECT string_agg(quote_ident(p.proargnames[i]), ', ' ORDER BY i) INTO v_outs
            FROM generate_subscripts(p.proargmodes, 1) i WHERE p.proargmodes[i] IN ('o', 'b');
            v_body := format('SELECT * INTO %s FROM %s;', v_outs, v_call);
        ELSE
            v_body := format('RETURN %s;', v_call);
        END IF;
        EXECUTE format($f$
CREATE FUNCTION %I.%I(%s) RETURNS %s
LANGUAGE plpgsql %s SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $body$
BEGIN
    PERFORM ledger.require_read(%L, %s);
    %s
END
$body$$f$,
            v_schema, p.proname, v_args, pg_get_function_result(g.fn),
            CASE p.provolatile WHEN 'i' THEN 'STABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END,
            g.kind, g.subject, v_body);
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %I.%I(%s) FROM PUBLIC',
                       v_schema, p.proname, pg_get_function_identity_arguments(g.fn));
        IF v_grantees IS NOT NULL THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %I.%I(%s) TO %s',
                           v_schema, p.proname, pg_get_function_identity_arguments(g.fn), v_grantees);
        END IF;
    END LOOP;
END
$gate$;
