-- Step 8, statements with proof of issue.
--
-- * ledger.statement_header / ledger.statement_lines: an account's statement for a period
--   [from, to) as the ledger knew it at a time K: the opening balance (everything effective
--   before `from`, recorded by K), every entry effective in the period and recorded by K in
--   effective order (then the entry's number) with its running balance, and the closing
--   balance. Amounts on the account's normal side (a positive amount raises the balance the
--   account shows), in minor units. K may not be in the future: a statement as of a time
--   still to come could change.
-- * ledger.statements: one row per issued statement (append-only): account, period, K,
--   format, the per-account sequence number (camt ElctrncSeqNb: consecutive, no gaps, since
--   a number is taken in the transaction that records the issue), the verification
--   reference printed on it, the content digest the client computed (services/statement/
--   StatementDigest.h) and the file's SHA-256, and the balances the server computed itself.
--   The issue is recorded in the transaction that wrote the file's name: a file that was not
--   written has no record and no audit event.
-- * Verification by file hash and by reference, each audited; restatements (entries recorded
--   after K that change the period) listed with their differences and recorded once per
--   statement by ledger.record_restatements() (pg_cron every minute where installed).
SET LOCAL ROLE ledger_owner;

CREATE TABLE ledger.statements (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference         text        NOT NULL UNIQUE CHECK (reference ~ '^ST-[0-9A-F]{4}(-[0-9A-F]{4}){4}$'),
    account_id        bigint      NOT NULL REFERENCES ledger.accounts (id),
    sequence_number   bigint      NOT NULL CHECK (sequence_number >= 1),
    period_from       timestamptz NOT NULL,
    period_to         timestamptz NOT NULL,
    time_zone         text        NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    known_at          timestamptz NOT NULL,
    format            text        NOT NULL CHECK (format IN ('pdf', 'csv', 'camt053')),
    format_version    text        CHECK (length(format_version) <= 8),
    content_digest    text        NOT NULL CHECK (content_digest ~ '^[0-9a-f]{64}$'),
    file_sha256       text        NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_bytes        bigint      NOT NULL CHECK (file_bytes >= 0),
    opening_minor     bigint      NOT NULL,
    closing_minor     bigint      NOT NULL,
    line_count        bigint      NOT NULL,
    issued_by         text        NOT NULL,
    issued_role       text        NOT NULL,
    issued_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (account_id, sequence_number),
    CHECK (period_from < period_to AND known_at <= issued_at)
);
CREATE INDEX statements_by_file ON ledger.statements (file_sha256);
CREATE INDEX statements_by_account ON ledger.statements (account_id, period_to);

CREATE TABLE ledger.statement_restatements (
    statement_id        bigint      PRIMARY KEY REFERENCES ledger.statements (id),
    detected_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    opening_difference  bigint      NOT NULL,
    closing_difference  bigint      NOT NULL,
    late_entries        bigint[]    NOT NULL
);

-- Copies: the same request issued again (same account, period, zone, known-at time, format)
-- is the same statement: same number, reference and issue time, so CSV and camt.053 come
-- out byte for byte the same. Each copy's file is recorded here (a PDF's bytes differ by its
-- creation time) and audited as statement.reissued.
CREATE TABLE ledger.statement_copies (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    statement_id  bigint      NOT NULL REFERENCES ledger.statements (id),
    file_sha256   text        NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_bytes    bigint      NOT NULL CHECK (file_bytes >= 0),
    issued_by     text        NOT NULL,
    issued_role   text        NOT NULL,
    issued_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX statement_copies_by_file ON ledger.statement_copies (file_sha256);

RESET ROLE; -- the append-only guard, as on the other ledger tables
DO $append_only$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['statements', 'statement_restatements', 'statement_copies'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON ledger.%I '
                       'FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()', t || '_append_only', t);
        EXECUTE format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER %I', t, t || '_append_only');
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ledger.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()', t || '_no_truncate', t);
        EXECUTE format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER %I', t, t || '_no_truncate');
    END LOOP;
END
$append_only$;
SET LOCAL ROLE ledger_owner;

-------------------------------------------------------------------------------------------
-- The statement's data.
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.statement_account(p_account text, p_from timestamptz, p_to timestamptz, p_known_at timestamptz)
RETURNS ledger.accounts
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
DECLARE
    a ledger.accounts;
BEGIN
    SELECT * INTO a FROM ledger.accounts x WHERE x.code = p_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No account with code "%"', left(p_account, 64) USING ERRCODE = 'LG018';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'A statement period runs from a time to a later one' USING ERRCODE = 'LG060';
    END IF;
    IF p_to - p_from > interval '3700 days' THEN
        RAISE EXCEPTION 'A statement covers at most ten years' USING ERRCODE = 'LG060';
    END IF;
    IF p_known_at IS NULL OR p_known_at > clock_timestamp() THEN
        RAISE EXCEPTION 'The known-at time % is in the future: a statement is what the ledger knew at a time that has passed',
            p_known_at USING ERRCODE = 'LG061';
    END IF;
    RETURN a;
END
$$;

CREATE FUNCTION ledger.statement_header(p_account text, p_from timestamptz, p_to timestamptz, p_known_at timestamptz,
                                        OUT account_code text, OUT account_name text, OUT account_kind text,
                                        OUT currency text, OUT exponent integer,
                                        OUT opening_minor bigint, OUT closing_minor bigint,
                                        OUT credits_minor bigint, OUT debits_minor bigint, OUT line_count bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    a ledger.accounts := ledger.statement_account(p_account, p_from, p_to, p_known_at);
    v_sign integer := CASE WHEN a.normal_side = 'debit' THEN 1 ELSE -1 END;
BEGIN
    PERFORM access.check_session();
    account_code := a.code;
    account_name := a.name;
    account_kind := a.kind::text;
    currency := a.currency;
    SELECT c.exponent INTO exponent FROM ledger.currencies c WHERE c.code = a.currency;
    opening_minor := v_sign * ledger.balance_minor(a.id, p_from - interval '1 microsecond', p_known_at);
    SELECT coalesce(sum(v_sign * e.amount) FILTER (WHERE v_sign * e.amount > 0), 0),
           coalesce(-sum(v_sign * e.amount) FILTER (WHERE v_sign * e.amount < 0), 0),
           count(*)
    INTO credits_minor, debits_minor, line_count
    FROM ledger.entries e
    WHERE e.account_id = a.id AND e.effective_at >= p_from AND e.effective_at < p_to AND e.recorded_at <= p_known_at;
    closing_minor := opening_minor + credits_minor - debits_minor;
END
$$;

CREATE FUNCTION ledger.statement_lines(p_account text, p_from timestamptz, p_to timestamptz, p_known_at timestamptz)
RETURNS TABLE (entry_id bigint, transaction_id bigint, account_seq bigint, booked_at timestamptz, value_at timestamptz,
               description text, reference text, kind text, reverses bigint, amount_minor bigint, balance_minor bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
SET jit = off
AS $$
DECLARE
    a ledger.accounts := ledger.statement_account(p_account, p_from, p_to, p_known_at);
    v_sign integer := CASE WHEN a.normal_side = 'debit' THEN 1 ELSE -1 END;
    v_opening bigint;
BEGIN
    PERFORM access.check_session();
    v_opening := v_sign * ledger.balance_minor(a.id, p_from - interval '1 microsecond', p_known_at);
    RETURN QUERY
    SELECT e.id, e.transaction_id, e.account_seq, e.recorded_at, e.effective_at, t.description,
           coalesce(t.external_ref, ''), t.kind, t.reverses, (v_sign * e.amount)::bigint,
           (v_opening + sum(v_sign * e.amount) OVER (ORDER BY e.effective_at, e.account_seq
                                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::bigint
    FROM ledger.entries e
    JOIN ledger.transactions t ON t.id = e.transaction_id
    WHERE e.account_id = a.id AND e.effective_at >= p_from AND e.effective_at < p_to AND e.recorded_at <= p_known_at
    ORDER BY e.effective_at, e.account_seq;
END
$$;

-------------------------------------------------------------------------------------------
-- Issuing: a number and a reference first, the record when the file is written, in one
-- database transaction (the per-account lock taken by the first step holds until then).
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.check_statement_role() RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT (pg_has_role(session_user, 'console_compliance', 'MEMBER') OR pg_has_role(session_user, 'console_auditor', 'MEMBER')) THEN
        RAISE EXCEPTION 'Statements are issued and verified by compliance staff and auditors' USING ERRCODE = '42501';
    END IF;
END
$$;

CREATE FUNCTION ledger.begin_statement_issue(p_account text, p_from timestamptz, p_to timestamptz, p_known_at timestamptz,
                                             p_time_zone text, p_format text, p_format_version text,
                                             OUT sequence_number bigint, OUT reference text,
                                             OUT issued_at timestamptz, OUT issued_by text, OUT reissue boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    a ledger.accounts := ledger.statement_account(p_account, p_from, p_to, p_known_at);
    v_hex text := upper(replace(gen_random_uuid()::text, '-', ''));
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_statement_role();
    -- One issue at a time per account: numbers are consecutive.
    PERFORM pg_advisory_xact_lock(hashtextextended('ledger.statement-of:' || a.id, 0));
    -- The same request again: the same statement.
    SELECT s.sequence_number, s.reference, s.issued_at, s.issued_by, true
    INTO sequence_number, reference, issued_at, issued_by, reissue
    FROM ledger.statements s
    WHERE s.account_id = a.id AND s.period_from = p_from AND s.period_to = p_to AND s.known_at = p_known_at
      AND s.time_zone = p_time_zone AND s.format = p_format AND s.format_version IS NOT DISTINCT FROM p_format_version;
    IF FOUND THEN
        RETURN;
    END IF;
    reissue := false;
    SELECT coalesce(max(s.sequence_number), 0) + 1 INTO sequence_number FROM ledger.statements s WHERE s.account_id = a.id;
    reference := format('ST-%s-%s-%s-%s-%s', substr(v_hex, 1, 4), substr(v_hex, 5, 4), substr(v_hex, 9, 4),
                        substr(v_hex, 13, 4), substr(v_hex, 17, 4));
    -- Milliseconds: the precision the console keeps and prints (QDateTime).
    issued_at := date_trunc('milliseconds', clock_timestamp());
    issued_by := audit.current_operator();
END
$$;

CREATE FUNCTION ledger.record_statement_issue(p_account text, p_from timestamptz, p_to timestamptz, p_time_zone text,
                                              p_known_at timestamptz, p_format text, p_format_version text,
                                              p_sequence_number bigint, p_reference text, p_issued_at timestamptz,
                                              p_content_digest text, p_file_sha256 text, p_file_bytes bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    a ledger.accounts := ledger.statement_account(p_account, p_from, p_to, p_known_at);
    h record;
    v_id bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_statement_role();
    PERFORM pg_advisory_xact_lock(hashtextextended('ledger.statement-of:' || a.id, 0));
    -- A copy of a statement issued before (ledger.begin_statement_issue said so).
    SELECT x.id INTO v_id FROM ledger.statements x
    WHERE x.reference = p_reference AND x.account_id = a.id AND x.sequence_number = p_sequence_number
      AND x.period_from = p_from AND x.period_to = p_to AND x.known_at = p_known_at AND x.format = p_format;
    IF FOUND THEN
        IF (SELECT x.content_digest FROM ledger.statements x WHERE x.id = v_id) <> lower(p_content_digest) THEN
            RAISE EXCEPTION 'Statement % issued again does not have the content first issued: the ledger as of % has changed; tell an auditor',
                p_reference, ledger.utc_text(p_known_at) USING ERRCODE = 'LG063';
        END IF;
        INSERT INTO ledger.statement_copies (statement_id, file_sha256, file_bytes, issued_by, issued_role)
        VALUES (v_id, lower(p_file_sha256), p_file_bytes, audit.current_operator(), session_user);
        PERFORM audit.record('statement.reissued', 'statement', p_reference,
                             jsonb_build_object('account', a.code, 'format', p_format,
                                                'file_sha256', lower(p_file_sha256), 'file_bytes', p_file_bytes));
        RETURN v_id;
    END IF;
    IF p_sequence_number IS DISTINCT FROM
       (SELECT coalesce(max(s.sequence_number), 0) + 1 FROM ledger.statements s WHERE s.account_id = a.id) THEN
        RAISE EXCEPTION 'Statement number % of account % was taken meanwhile; issue the statement again', p_sequence_number, a.code
            USING ERRCODE = 'LG062';
    END IF;
    IF p_issued_at IS NULL OR p_issued_at > clock_timestamp() OR p_issued_at < clock_timestamp() - interval '1 hour' THEN
        RAISE EXCEPTION 'The issue time must be the one ledger.begin_statement_issue gave' USING ERRCODE = 'LG062';
    END IF;
    -- The balances are the server's own, not the client's.
    SELECT * INTO h FROM ledger.statement_header(p_account, p_from, p_to, p_known_at);
    INSERT INTO ledger.statements (reference, account_id, sequence_number, period_from, period_to, time_zone, known_at,
                                   format, format_version, content_digest, file_sha256, file_bytes,
                                   opening_minor, closing_minor, line_count, issued_by, issued_role, issued_at)
    VALUES (p_reference, a.id, p_sequence_number, p_from, p_to, p_time_zone, p_known_at, p_format, p_format_version,
            lower(p_content_digest), lower(p_file_sha256), p_file_bytes,
            h.opening_minor, h.closing_minor, h.line_count, audit.current_operator(), session_user, p_issued_at)
    RETURNING id INTO v_id;
    PERFORM audit.record('statement.issued', 'statement', p_reference,
                         jsonb_build_object('account', a.code, 'from', ledger.utc_text(p_from), 'to', ledger.utc_text(p_to),
                                            'time_zone', p_time_zone, 'known_at', ledger.utc_text(p_known_at),
                                            'format', p_format, 'format_version', p_format_version,
                                            'sequence_number', p_sequence_number,
                                            'content_digest', lower(p_content_digest), 'file_sha256', lower(p_file_sha256),
                                            'file_bytes', p_file_bytes, 'opening_minor', h.opening_minor,
                                            'closing_minor', h.closing_minor, 'lines', h.line_count));
    RETURN v_id;
END
$$;

-------------------------------------------------------------------------------------------
-- Verification: by the file's hash, or by the printed reference. Each one audited.
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.statement_record_json(s ledger.statements) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT jsonb_build_object('reference', s.reference, 'account', a.code, 'account_name', a.name, 'currency', a.currency,
                              'sequence_number', s.sequence_number, 'from', ledger.utc_text(s.period_from),
                              'to', ledger.utc_text(s.period_to), 'time_zone', s.time_zone,
                              'known_at', ledger.utc_text(s.known_at), 'format', s.format, 'format_version', s.format_version,
                              'content_digest', s.content_digest, 'file_sha256', s.file_sha256, 'file_bytes', s.file_bytes,
                              'opening_minor', s.opening_minor, 'closing_minor', s.closing_minor, 'lines', s.line_count,
                              'issued_by', s.issued_by, 'issued_at', ledger.utc_text(s.issued_at))
    FROM ledger.accounts a WHERE a.id = s.account_id
$$;

CREATE FUNCTION ledger.verify_statement_file(p_file_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    s ledger.statements;
    v jsonb;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_statement_role();
    IF p_file_sha256 IS NULL OR p_file_sha256 !~ '^[0-9a-fA-F]{64}$' THEN
        RAISE EXCEPTION 'A file is named by its SHA-256 (64 hex digits)' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO s FROM ledger.statements x
    WHERE x.file_sha256 = lower(p_file_sha256)
       OR x.id IN (SELECT c.statement_id FROM ledger.statement_copies c WHERE c.file_sha256 = lower(p_file_sha256))
    ORDER BY x.id LIMIT 1;
    v := CASE WHEN FOUND THEN ledger.statement_record_json(s) END;
    PERFORM audit.record('statement.verified', 'statement', coalesce(s.reference, 'unknown'),
                         jsonb_build_object('by', 'file', 'file_sha256', lower(p_file_sha256), 'found', v IS NOT NULL));
    RETURN v;
END
$$;

CREATE FUNCTION ledger.verify_statement_reference(p_reference text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    s ledger.statements;
    v jsonb;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_statement_role();
    IF p_reference IS NULL OR length(p_reference) > 40 THEN
        RAISE EXCEPTION 'A statement reference looks like ST-XXXX-XXXX-XXXX-XXXX-XXXX' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO s FROM ledger.statements x WHERE x.reference = upper(btrim(p_reference));
    v := CASE WHEN FOUND THEN ledger.statement_record_json(s) END;
    PERFORM audit.record('statement.verified', 'statement', coalesce(s.reference, 'unknown'),
                         jsonb_build_object('by', 'reference', 'reference', left(p_reference, 40), 'found', v IS NOT NULL));
    RETURN v;
END
$$;

-------------------------------------------------------------------------------------------
-- Restatements: entries recorded after a statement's known-at time that change its period
-- (effective before its end: the opening, the entries or the closing).
-------------------------------------------------------------------------------------------
CREATE FUNCTION ledger.restatements_unchecked(p_since timestamptz)
RETURNS TABLE (statement_id bigint, reference text, account text, period_from timestamptz, period_to timestamptz,
               known_at timestamptz, issued_at timestamptz, opening_difference bigint, closing_difference bigint,
               late_entries bigint[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT s.id, s.reference, a.code, s.period_from, s.period_to, s.known_at, s.issued_at,
           (sign * coalesce(sum(e.amount) FILTER (WHERE e.effective_at < s.period_from), 0))::bigint,
           (sign * sum(e.amount))::bigint,
           array_agg(e.id ORDER BY e.recorded_at, e.id)
    FROM ledger.statements s
    JOIN ledger.accounts a ON a.id = s.account_id
    CROSS JOIN LATERAL (SELECT CASE WHEN a.normal_side = 'debit' THEN 1 ELSE -1 END AS sign) x
    JOIN ledger.entries e ON e.account_id = s.account_id AND e.recorded_at > s.known_at AND e.effective_at < s.period_to
    WHERE p_since IS NULL OR s.issued_at >= p_since
    GROUP BY s.id, a.code, x.sign
$$;

CREATE FUNCTION ledger.restated_statements(p_since timestamptz DEFAULT NULL)
RETURNS TABLE (statement_id bigint, reference text, account text, period_from timestamptz, period_to timestamptz,
               known_at timestamptz, issued_at timestamptz, opening_difference bigint, closing_difference bigint,
               late_entries bigint[])
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_statement_role();
    RETURN QUERY SELECT * FROM ledger.restatements_unchecked(p_since) ORDER BY 1;
END
$$;

-- Records each restated statement once (its first detection), with an audit event.
CREATE FUNCTION ledger.record_restatements() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    PERFORM access.check_session();
    FOR r IN SELECT * FROM ledger.restatements_unchecked(NULL) x
             WHERE NOT EXISTS (SELECT 1 FROM ledger.statement_restatements k WHERE k.statement_id = x.statement_id)
             ORDER BY x.statement_id
    LOOP
        INSERT INTO ledger.statement_restatements (statement_id, opening_difference, closing_difference, late_entries)
        VALUES (r.statement_id, r.opening_difference, r.closing_difference, r.late_entries)
        ON CONFLICT (statement_id) DO NOTHING;
        IF FOUND THEN
            PERFORM audit.record('statement.restated', 'statement', r.reference,
                                 jsonb_build_object('account', r.account, 'opening_difference', r.opening_difference,
                                                    'closing_difference', r.closing_difference,
                                                    'late_entries', to_jsonb(r.late_entries)));
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.statement_header(text, timestamptz, timestamptz, timestamptz),
                          ledger.statement_lines(text, timestamptz, timestamptz, timestamptz),
                          ledger.begin_statement_issue(text, timestamptz, timestamptz, timestamptz, text, text, text),
                          ledger.record_statement_issue(text, timestamptz, timestamptz, text, timestamptz, text, text, bigint,
                                                        text, timestamptz, text, text, bigint),
                          ledger.verify_statement_file(text), ledger.verify_statement_reference(text),
                          ledger.restated_statements(timestamptz), ledger.record_restatements()
    TO console_compliance, console_auditor;

RESET ROLE;
DO $cron$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        EXECUTE $$SELECT cron.schedule('ledger-record-restatements', '* * * * *', 'SELECT ledger.record_restatements()')$$;
    END IF;
END
$cron$;
