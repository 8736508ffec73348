-- Step 8, the console's Statements tab and batch export.
--
-- * ledger.issued_statements: issued statements, newest first (keyset paged by id), each
--   with its restatement as of now (the differences in opening and closing balance and the
--   late entries that caused them, computed live as in restatements_unchecked), when the
--   restatement was recorded (statement.restated), and how many copies were issued. Filter
--   by account and to restated statements only. Reading the list shows balances of
--   customers' accounts, so every page asked for is an audit event (statement.listed).
-- * ledger.statement_batch_accounts: the accounts a batch export covers (a kind and/or a
--   currency, or all), in code order; an unknown kind or currency is an error (LG064), not
--   an empty batch. The batch itself issues each statement as its own issue record, file
--   and audit event (StatementRepository::issue).
-- * access.settings.statement_institution: the institution a PDF statement names in its
--   header unless the request names one (ledgerctl --institution); set by the DBA
--   (UPDATE access.settings SET statement_institution = '...').
SET LOCAL ROLE ledger_owner;

ALTER TABLE access.settings
    ADD COLUMN statement_institution text NOT NULL DEFAULT 'Ledger Console'
        CHECK (length(btrim(statement_institution)) BETWEEN 1 AND 120);
COMMENT ON COLUMN access.settings.statement_institution IS
    'The institution named in the header of PDF statements (0028_statement_lists.sql).';

CREATE FUNCTION ledger.statement_institution() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_statement_role();
    RETURN (SELECT s.statement_institution FROM access.settings s);
END
$$;

CREATE FUNCTION ledger.issued_statements(p_account text DEFAULT NULL, p_restated_only boolean DEFAULT false,
                                         p_before_id bigint DEFAULT NULL, p_limit integer DEFAULT 200)
RETURNS TABLE (statement_id bigint, record jsonb, exponent integer, copies bigint, opening_difference bigint,
               closing_difference bigint, late_entries bigint[], restatement_recorded_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_account_id bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_statement_role();
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'A page of issued statements holds 1 to 1000 rows, not %', p_limit USING ERRCODE = '22023';
    END IF;
    IF p_account IS NOT NULL THEN
        SELECT a.id INTO v_account_id FROM ledger.accounts a WHERE a.code = p_account;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'No account with code "%"', left(p_account, 64) USING ERRCODE = 'LG018';
        END IF;
    END IF;
    PERFORM audit.record('statement.listed', 'statement', coalesce(p_account, '*'),
                         jsonb_build_object('account', p_account, 'restated_only', coalesce(p_restated_only, false),
                                            'before_id', p_before_id, 'limit', p_limit));
    RETURN QUERY
    SELECT s.id, ledger.statement_record_json(s), c.exponent::integer,
           (SELECT count(*) FROM ledger.statement_copies k WHERE k.statement_id = s.id),
           r.opening_difference, r.closing_difference, r.late_entries, rs.detected_at
    FROM ledger.statements s
    JOIN ledger.accounts a ON a.id = s.account_id
    JOIN ledger.currencies c ON c.code = a.currency
    LEFT JOIN LATERAL (
        SELECT (x.sign * coalesce(sum(e.amount) FILTER (WHERE e.effective_at < s.period_from), 0))::bigint
                   AS opening_difference,
               (x.sign * sum(e.amount))::bigint AS closing_difference,
               array_agg(e.id ORDER BY e.recorded_at, e.id) AS late_entries
        FROM (SELECT CASE WHEN a.normal_side = 'debit' THEN 1 ELSE -1 END AS sign) x
        JOIN ledger.entries e ON e.account_id = s.account_id AND e.recorded_at > s.known_at
                             AND e.effective_at < s.period_to
        GROUP BY x.sign
    ) r ON true
    LEFT JOIN ledger.statement_restatements rs ON rs.statement_id = s.id
    WHERE (v_account_id IS NULL OR s.account_id = v_account_id)
      AND (p_before_id IS NULL OR s.id < p_before_id)
      AND (NOT coalesce(p_restated_only, false) OR r.late_entries IS NOT NULL)
    ORDER BY s.id DESC
    LIMIT p_limit;
END
$$;

CREATE FUNCTION ledger.statement_batch_accounts(p_kind text DEFAULT NULL, p_currency text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM ledger.check_statement_role();
    IF p_kind IS NOT NULL AND p_kind NOT IN ('asset', 'liability', 'equity', 'income', 'expense') THEN
        RAISE EXCEPTION 'Account kind "%" is not one of asset, liability, equity, income, expense', left(p_kind, 32)
            USING ERRCODE = 'LG064';
    END IF;
    IF p_currency IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger.currencies c WHERE c.code = p_currency) THEN
        RAISE EXCEPTION 'The ledger has no currency "%"', left(p_currency, 16) USING ERRCODE = 'LG064';
    END IF;
    RETURN QUERY
    SELECT a.code FROM ledger.accounts a
    WHERE (p_kind IS NULL OR a.kind::text = p_kind) AND (p_currency IS NULL OR a.currency = p_currency)
    ORDER BY a.code;
END
$$;

REVOKE EXECUTE ON FUNCTION ledger.issued_statements(text, boolean, bigint, integer),
                           ledger.statement_batch_accounts(text, text), ledger.statement_institution() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.issued_statements(text, boolean, bigint, integer),
                          ledger.statement_batch_accounts(text, text), ledger.statement_institution()
    TO console_compliance, console_auditor;

RESET ROLE;
