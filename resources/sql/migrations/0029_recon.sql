-- Step 9, reconciliation: what banks and processors report, matched against the ledger.
--
-- * recon.bank_accounts: a bank account (IBAN or other identifier, and a currency) mapped to
--   the ledger account that mirrors it, with its matching rules (amount tolerance absolute
--   and in basis points, value-date window, group size of one-to-many matches, the score
--   from which a match is confirmed without an operator, the days after which an unmatched
--   ledger entry is "missing in statement").
-- * recon.csv_profiles: named CSV column layouts (services/recon/BankFileParser.h CsvProfile
--   as JSON), versioned: editing a profile appends a version.
-- * recon.files / recon.statements / recon.lines: imported files (by SHA-256), their
--   statements (account + statement id + sequence) and lines, append-only. Importing is
--   idempotent: the same file or the same statement again imports nothing; a line re-sent
--   under a bank reference already imported with the same amount and value date is skipped.
--   One database transaction per file (recon.import_*): a malformed file imports nothing.
-- * Matching (recon.match) in passes, each set-based: (1) exact bank reference or end-to-end
--   id and amount, value date within the window; (2) amount within tolerance and date within
--   the window, mutual best candidates only; (3) one-to-many and many-to-one: a line equal to
--   the sum of 2..max_group_size unmatched entries of its sign within the window (or the
--   reverse), when exactly one such set exists (searched among the 30 nearest in date). Every group carries its rule and a 0-100 score (amount 40, date 30,
--   reference 20, counterparty 10); at or above the account's auto_confirm_score it is
--   confirmed by the run, below it waits for an operator. Groups are immutable; decisions
--   (confirmed, rejected, revoked) are appended. recon.active_lines/active_entries index the
--   groups that stand (proposed or confirmed): a line or entry is in at most one.
-- * Exceptions (missing in ledger, missing in statement, amount mismatch, date out of
--   tolerance, duplicate line, statement does not balance) are raised once per object and
--   worked by appending events (assigned, resolved, accepted, reopened); their current state
--   is kept in recon.exception_state for the queue. Due dates by amount tiers.
-- Every import, run, mapping and decision is an audit event.
SET LOCAL ROLE ledger_owner;

CREATE FUNCTION recon.normalize_identifier(p text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT upper(regexp_replace(coalesce(p, ''), '[\s]', '', 'g')) $$;

CREATE TABLE recon.bank_accounts (
    id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identifier                text        NOT NULL CHECK (identifier ~ '^[A-Z0-9/.:-]{1,40}$'),
    currency                  char(3)     NOT NULL REFERENCES ledger.currencies (code),
    account_id                bigint      NOT NULL REFERENCES ledger.accounts (id),
    amount_tolerance_minor    bigint      NOT NULL DEFAULT 0 CHECK (amount_tolerance_minor BETWEEN 0 AND 100000000),
    amount_tolerance_bp       integer     NOT NULL DEFAULT 0 CHECK (amount_tolerance_bp BETWEEN 0 AND 1000),
    date_window_days          integer     NOT NULL DEFAULT 3 CHECK (date_window_days BETWEEN 0 AND 31),
    max_group_size            integer     NOT NULL DEFAULT 5 CHECK (max_group_size BETWEEN 2 AND 20),
    auto_confirm_score        integer     NOT NULL DEFAULT 80 CHECK (auto_confirm_score BETWEEN 0 AND 101),
    missing_after_days        integer     NOT NULL DEFAULT 5 CHECK (missing_after_days BETWEEN 0 AND 365),
    -- camt RvslInd: true (German banks' practice, the default) — the entry's CdtDbtInd is the
    -- original booking's and the reversal goes the other way; false (ISO 20022's usage note,
    -- and the camt.053 files this ledger issues) — CdtDbtInd is the reversal's own direction.
    reversal_flips_sign       boolean     NOT NULL DEFAULT true,
    mapped_by                 text        NOT NULL,
    mapped_at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (identifier, currency)
);

CREATE TABLE recon.csv_profiles (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$'),
    version     integer     NOT NULL CHECK (version >= 1),
    definition  jsonb       NOT NULL CHECK (jsonb_typeof(definition) = 'object' AND length(definition::text) <= 8192),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (name, version)
);

CREATE TABLE recon.files (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256       text        NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    format       text        NOT NULL CHECK (format IN ('camt.053', 'camt.052', 'mt940', 'mt942', 'csv')),
    file_name    text        NOT NULL CHECK (length(file_name) <= 255),
    bytes        bigint      NOT NULL CHECK (bytes >= 0),
    imported_by  text        NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE recon.statements (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id          bigint      NOT NULL REFERENCES recon.files (id),
    bank_account_id  bigint      NOT NULL REFERENCES recon.bank_accounts (id),
    statement_id     text        NOT NULL CHECK (length(statement_id) BETWEEN 1 AND 140),
    sequence_number  bigint      NOT NULL DEFAULT 0,
    message_id       text        CHECK (length(message_id) <= 140),
    created_at       timestamptz,
    period_from      timestamptz,
    period_to        timestamptz,
    opening_code     text        CHECK (length(opening_code) <= 8),
    opening_minor    bigint,
    opening_date     date,
    closing_code     text        CHECK (length(closing_code) <= 8),
    closing_minor    bigint,
    closing_date     date,
    source_location  text        CHECK (length(source_location) <= 200),
    UNIQUE (bank_account_id, statement_id, sequence_number)
);

CREATE TABLE recon.lines (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    statement_id            bigint      NOT NULL, -- recon.statements: see lines_references below
    bank_account_id         bigint      NOT NULL, -- the statement's
    line_no                 integer     NOT NULL CHECK (line_no >= 1),
    amount_minor            bigint      NOT NULL, -- signed: money in (credit) positive
    booking_date            date,
    value_date              date        NOT NULL,
    reversal                boolean     NOT NULL DEFAULT false,
    status                  text        NOT NULL DEFAULT 'BOOK' CHECK (status IN ('BOOK', 'PDNG', 'INFO')),
    bank_reference          text        NOT NULL DEFAULT '' CHECK (length(bank_reference) <= 140),
    end_to_end_id           text        NOT NULL DEFAULT '' CHECK (length(end_to_end_id) <= 140),
    owner_reference         text        NOT NULL DEFAULT '' CHECK (length(owner_reference) <= 140),
    counterparty_name       text        NOT NULL DEFAULT '' CHECK (length(counterparty_name) <= 140),
    counterparty_account    text        NOT NULL DEFAULT '' CHECK (length(counterparty_account) <= 70),
    remittance              text        NOT NULL DEFAULT '' CHECK (length(remittance) <= 1000),
    bank_transaction_code   text        NOT NULL DEFAULT '' CHECK (length(bank_transaction_code) <= 70),
    additional_info         text        NOT NULL DEFAULT '' CHECK (length(additional_info) <= 1000),
    source_location         text        NOT NULL DEFAULT '' CHECK (length(source_location) <= 200),
    UNIQUE (statement_id, line_no)
);
-- A line already seen under its bank reference (the same amount and value date on the same
-- account) is not imported twice: this index refuses it, and import_lines skips it.
CREATE UNIQUE INDEX lines_once ON recon.lines (bank_account_id, bank_reference, amount_minor, value_date)
    WHERE bank_reference <> '';
CREATE INDEX lines_by_date ON recon.lines (bank_account_id, value_date);

-- Matching: groups (immutable, with the lines and entries they join) and their decisions.
CREATE TABLE recon.runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bank_account_id  bigint      NOT NULL REFERENCES recon.bank_accounts (id),
    started_by       text        NOT NULL,
    started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    summary          jsonb       NOT NULL DEFAULT '{}'
);

CREATE TABLE recon.match_groups (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bank_account_id  bigint      NOT NULL, -- recon.bank_accounts: see match_groups_references below
    run_id           bigint,               -- recon.runs (of the account); NULL: an operator's manual match
    rule             text        NOT NULL CHECK (rule IN ('exact', 'tolerance', 'one_to_many', 'many_to_one', 'manual')),
    score            integer     NOT NULL CHECK (score BETWEEN 0 AND 100),
    line_ids         bigint[]    NOT NULL CHECK (cardinality(line_ids) >= 1),
    entry_ids        bigint[]    NOT NULL CHECK (cardinality(entry_ids) >= 1),
    lines_minor      bigint      NOT NULL,
    entries_minor    bigint      NOT NULL, -- on the bank's side (money in positive)
    auto_confirmed   boolean     NOT NULL DEFAULT false, -- confirmed by its run (score >= the account's threshold)
    created_by       text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE recon.match_decisions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id    bigint      NOT NULL REFERENCES recon.match_groups (id),
    decision    text        NOT NULL CHECK (decision IN ('confirmed', 'rejected', 'revoked')),
    automatic   boolean     NOT NULL DEFAULT false,
    note        text        CHECK (length(note) <= 2000),
    decided_by  text        NOT NULL,
    decided_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX match_decisions_by_group ON recon.match_decisions (group_id, id);

-- The groups that stand (proposed or confirmed), per line and per entry: kept by the
-- functions that create groups and decide them; a line or entry is in at most one.
-- (No foreign keys: both are derived from match_groups by the same functions, and checking
-- a key per row was half the cost of recording a large run. No index by group either: a
-- group's rows are found by its line_ids and entry_ids through the primary keys, and every
-- index here is written a million times by a large run.)
CREATE TABLE recon.active_lines (
    line_id   bigint PRIMARY KEY,
    group_id  bigint NOT NULL,
    confirmed boolean NOT NULL
);
CREATE TABLE recon.active_entries (
    entry_id  bigint PRIMARY KEY,
    group_id  bigint NOT NULL,
    confirmed boolean NOT NULL
);

-- Exceptions: raised once per object and type; worked by appending events.
CREATE TABLE recon.exceptions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bank_account_id  bigint      NOT NULL REFERENCES recon.bank_accounts (id),
    type             text        NOT NULL CHECK (type IN ('missing_in_ledger', 'missing_in_statement', 'amount_mismatch',
                                                          'date_out_of_tolerance', 'duplicate_line', 'statement_unbalanced')),
    line_id          bigint      REFERENCES recon.lines (id),
    entry_id         bigint      REFERENCES ledger.entries (id),
    statement_id     bigint      REFERENCES recon.statements (id),
    amount_minor     bigint      NOT NULL, -- what is at stake, on the bank's side
    difference_minor bigint,               -- amount mismatch, statement balance
    detail           jsonb       NOT NULL DEFAULT '{}',
    raised_by        text        NOT NULL,
    raised_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    due_at           timestamptz NOT NULL,
    CHECK (line_id IS NOT NULL OR entry_id IS NOT NULL OR statement_id IS NOT NULL)
);
CREATE UNIQUE INDEX exceptions_once ON recon.exceptions
    (type, coalesce(line_id, 0), coalesce(entry_id, 0), coalesce(statement_id, 0));

CREATE TABLE recon.exception_events (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exception_id         bigint      NOT NULL REFERENCES recon.exceptions (id),
    action               text        NOT NULL CHECK (action IN ('assigned', 'resolved', 'accepted', 'reopened')),
    how                  text        CHECK (how IN ('manual_match', 'correction', 'matched_by_run')),
    assignee             text        CHECK (length(assignee) <= 63),
    reason_code          text        CHECK (length(reason_code) <= 32),
    note                 text        CHECK (length(note) <= 2000),
    match_group_id       bigint      REFERENCES recon.match_groups (id),
    reversal_request_id  bigint,
    actor                text        NOT NULL,
    at                   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX exception_events_by_exception ON recon.exception_events (exception_id, id);
CREATE INDEX exception_events_by_request ON recon.exception_events (reversal_request_id) WHERE reversal_request_id IS NOT NULL;

-- The current state of each exception (derived from its events; kept by the functions).
CREATE TABLE recon.exception_state (
    exception_id   bigint PRIMARY KEY REFERENCES recon.exceptions (id),
    state          text        NOT NULL CHECK (state IN ('open', 'assigned', 'resolved', 'accepted')),
    assignee       text,
    last_event_id  bigint, -- NULL: no event yet (open as raised)
    updated_at     timestamptz NOT NULL
);
CREATE INDEX exception_state_open ON recon.exception_state (state, exception_id);

-- Due dates: the largest tier whose amount (in major units of the line's currency) the
-- exception reaches gives its days.
CREATE TABLE recon.sla_tiers (
    min_amount  numeric PRIMARY KEY CHECK (min_amount >= 0),
    days        integer NOT NULL CHECK (days BETWEEN 0 AND 365)
);
INSERT INTO recon.sla_tiers VALUES (0, 10), (1000, 5), (100000, 2);

-- Reason codes for accepting an exception without a match.
CREATE TABLE recon.accept_reasons (
    code         text PRIMARY KEY CHECK (code ~ '^[A-Z_]{2,32}$'),
    description  text NOT NULL
);
INSERT INTO recon.accept_reasons VALUES
    ('BANK_FEE', 'A bank fee or charge booked elsewhere'),
    ('TIMING', 'A timing difference that clears in the next period'),
    ('ROUNDING', 'A rounding or currency conversion difference below materiality'),
    ('DUPLICATE_BY_BANK', 'The bank reported the same movement twice'),
    ('NOT_OURS', 'A movement that does not belong to this ledger'),
    ('OTHER', 'Another reason, explained in the note');

RESET ROLE;
-- Matching works through temporary tables (dropped at commit) created by the owner's
-- functions in the caller's session; the console roles themselves still have no TEMP.
DO $temp$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO ledger_owner', current_database());
END
$temp$;
-- The append-only guard, as on the ledger's tables.
DO $append_only$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['files', 'statements', 'lines', 'runs', 'match_groups', 'match_decisions', 'exceptions',
                             'exception_events', 'csv_profiles'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON recon.%I '
                       'FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()', t || '_append_only', t);
        EXECUTE format('ALTER TABLE recon.%I ENABLE ALWAYS TRIGGER %I', t, t || '_append_only');
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON recon.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()', t || '_no_truncate', t);
        EXECUTE format('ALTER TABLE recon.%I ENABLE ALWAYS TRIGGER %I', t, t || '_no_truncate');
    END LOOP;
END
$append_only$;
SET LOCAL ROLE ledger_owner;

-- The references of lines and match groups, checked once per statement instead of by a
-- foreign key per row: a large import or run writes a million rows, and the two key checks
-- per row were most of the cost of writing them (EXPLAIN ANALYZE: 0.56 s of 0.78 s for
-- 100,000 groups). The rows referenced cannot go: statements and runs are append-only, and
-- a bank account with statements or runs is held by their foreign keys. Stricter than the
-- keys were: a line's bank account must be its statement's, a run's group the run's account.
CREATE FUNCTION recon.check_new_lines() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT n.statement_id, n.bank_account_id FROM new_lines n) n
               WHERE NOT EXISTS (SELECT 1 FROM recon.statements s
                                 WHERE s.id = n.statement_id AND s.bank_account_id = n.bank_account_id)) THEN
        RAISE EXCEPTION 'A statement line must belong to an imported statement of its bank account'
            USING ERRCODE = '23503';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER lines_references AFTER INSERT ON recon.lines
    REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION recon.check_new_lines();

CREATE FUNCTION recon.check_new_groups() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT n.bank_account_id, n.run_id FROM new_groups n) n
               WHERE NOT EXISTS (SELECT 1 FROM recon.bank_accounts b WHERE b.id = n.bank_account_id)
                  OR (n.run_id IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM recon.runs r
                                      WHERE r.id = n.run_id AND r.bank_account_id = n.bank_account_id))) THEN
        RAISE EXCEPTION 'A match group must belong to a mapped bank account and, if made by a run, to a run of it'
            USING ERRCODE = '23503';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER match_groups_references AFTER INSERT ON recon.match_groups
    REFERENCING NEW TABLE AS new_groups FOR EACH STATEMENT EXECUTE FUNCTION recon.check_new_groups();

-------------------------------------------------------------------------------------------
-- Roles: operators and supervisors work reconciliation; auditors and compliance read it.
-------------------------------------------------------------------------------------------
CREATE FUNCTION recon.check_role(p_write boolean) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_has_role(session_user, 'console_operator', 'MEMBER')
       OR pg_has_role(session_user, 'console_supervisor', 'MEMBER') THEN
        RETURN;
    END IF;
    IF NOT p_write AND (pg_has_role(session_user, 'console_auditor', 'MEMBER')
                        OR pg_has_role(session_user, 'console_compliance', 'MEMBER')) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'Reconciliation is worked by operators and supervisors%',
        CASE WHEN p_write THEN '' ELSE ' and read by auditors and compliance staff' END USING ERRCODE = '42501';
END
$$;

-- Whether a row was written by the current transaction (its xmin), for the import steps that
-- must run in the transaction that began their file.
CREATE FUNCTION recon.written_now(p_xmin xid) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT p_xmin = (pg_current_xact_id()::text::numeric % 4294967296)::text::xid $$;

CREATE FUNCTION recon.due_at(p_amount_minor bigint, p_exponent integer, p_from timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, recon, pg_temp
AS $$
    SELECT p_from + make_interval(days => coalesce(
        (SELECT t.days FROM recon.sla_tiers t
         WHERE t.min_amount <= abs(p_amount_minor)::numeric / (10::numeric ^ p_exponent)
         ORDER BY t.min_amount DESC LIMIT 1), 10))
$$;

-------------------------------------------------------------------------------------------
-- Mapping a bank account to a ledger account.
-------------------------------------------------------------------------------------------
CREATE FUNCTION recon.map_account(p_identifier text, p_currency text, p_account text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_identifier text := recon.normalize_identifier(p_identifier);
    a ledger.accounts;
    b recon.bank_accounts;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    IF v_identifier !~ '^[A-Z0-9/.:-]{1,40}$' THEN
        RAISE EXCEPTION 'A bank account is an IBAN or account number of 1 to 40 letters and digits, not "%"',
            left(p_identifier, 48) USING ERRCODE = 'LG080';
    END IF;
    SELECT * INTO a FROM ledger.accounts x WHERE x.code = p_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No account with code "%"', left(p_account, 64) USING ERRCODE = 'LG018';
    END IF;
    IF a.currency <> upper(coalesce(p_currency, a.currency)) THEN
        RAISE EXCEPTION 'Account % is kept in %, not %: map the bank account''s % statements to an account in %',
            a.code, a.currency, upper(p_currency), upper(p_currency), upper(p_currency) USING ERRCODE = 'LG080';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('recon.map:' || v_identifier));
    SELECT * INTO b FROM recon.bank_accounts x WHERE x.identifier = v_identifier AND x.currency = a.currency;
    IF FOUND THEN
        IF b.account_id <> a.id THEN
            RAISE EXCEPTION 'Bank account % (%) is already mapped to %', v_identifier, a.currency,
                (SELECT code FROM ledger.accounts WHERE id = b.account_id) USING ERRCODE = 'LG080';
        END IF;
        RETURN b.id; -- the same mapping again: nothing to do
    END IF;
    INSERT INTO recon.bank_accounts (identifier, currency, account_id, mapped_by)
    VALUES (v_identifier, a.currency, a.id, audit.current_operator()) RETURNING * INTO b;
    PERFORM audit.record('recon.mapped', 'bank_account', v_identifier,
                         jsonb_build_object('currency', a.currency, 'account', a.code));
    RETURN b.id;
END
$$;

-- The mapping of each bank account a file names: its id, the ledger account and the
-- currency's exponent (the importer converts amounts with it); NULLs where unmapped. An
-- identifier given without a currency matches the account's only mapping, if there is one.
CREATE FUNCTION recon.lookup_accounts(p_identifiers text[], p_currencies text[])
RETURNS TABLE (ord integer, bank_account_id bigint, account text, currency text, exponent integer,
               reversal_flips_sign boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    RETURN QUERY
    SELECT i.ord::integer, b.id, a.code, b.currency::text, c.exponent::integer, b.reversal_flips_sign
    FROM unnest(p_identifiers, p_currencies) WITH ORDINALITY AS i(identifier, currency, ord)
    LEFT JOIN LATERAL (
        SELECT x.* FROM recon.bank_accounts x
        WHERE x.identifier = recon.normalize_identifier(i.identifier)
          AND (x.currency = upper(nullif(i.currency, ''))
               OR (nullif(i.currency, '') IS NULL
                   AND (SELECT count(*) FROM recon.bank_accounts y WHERE y.identifier = x.identifier) = 1))
    ) b ON true
    LEFT JOIN ledger.accounts a ON a.id = b.account_id
    LEFT JOIN ledger.currencies c ON c.code = b.currency
    ORDER BY i.ord;
END
$$;

-------------------------------------------------------------------------------------------
-- Importing, one database transaction per file: begin, each statement's header and lines
-- (in chunks), finish.
-------------------------------------------------------------------------------------------
-- The file's record, or the earlier import of the same bytes (then nothing is imported).
CREATE FUNCTION recon.import_begin(p_sha256 text, p_format text, p_file_name text, p_bytes bigint,
                                   OUT file_id bigint, OUT already_imported_at timestamptz, OUT already_imported_by text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    f recon.files;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    PERFORM pg_advisory_xact_lock(hashtext('recon.file:' || p_sha256));
    SELECT * INTO f FROM recon.files x WHERE x.sha256 = p_sha256;
    IF FOUND THEN
        file_id := f.id;
        already_imported_at := f.imported_at;
        already_imported_by := f.imported_by;
        PERFORM audit.record('recon.import_skipped', 'file', p_sha256,
                             jsonb_build_object('file_name', left(p_file_name, 255), 'first_imported_at', f.imported_at,
                                                'first_imported_by', f.imported_by));
        RETURN;
    END IF;
    INSERT INTO recon.files (sha256, format, file_name, bytes, imported_by)
    VALUES (p_sha256, p_format, left(coalesce(p_file_name, ''), 255), p_bytes, audit.current_operator())
    RETURNING id INTO file_id;
END
$$;

-- A statement of the file: its id, or NULL when the same statement (bank account,
-- statement id, sequence number) was imported before (its lines are then not sent).
CREATE FUNCTION recon.import_statement(p_file_id bigint, p_bank_account_id bigint, p_header jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_id bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    IF NOT EXISTS (SELECT 1 FROM recon.files f WHERE f.id = p_file_id AND f.imported_by = audit.current_operator()
                   AND recon.written_now(f.xmin)) THEN
        RAISE EXCEPTION 'Statements are imported in the transaction that began their file' USING ERRCODE = 'LG081';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('recon.account:' || p_bank_account_id));
    INSERT INTO recon.statements (file_id, bank_account_id, statement_id, sequence_number, message_id, created_at,
                                  period_from, period_to, opening_code, opening_minor, opening_date, closing_code,
                                  closing_minor, closing_date, source_location)
    VALUES (p_file_id, p_bank_account_id, p_header->>'statement_id', coalesce((p_header->>'sequence_number')::bigint, 0),
            p_header->>'message_id', (p_header->>'created_at')::timestamptz, (p_header->>'from')::timestamptz,
            (p_header->>'to')::timestamptz, p_header->>'opening_code', (p_header->>'opening_minor')::bigint,
            (p_header->>'opening_date')::date, p_header->>'closing_code', (p_header->>'closing_minor')::bigint,
            (p_header->>'closing_date')::date, left(p_header->>'location', 200))
    ON CONFLICT (bank_account_id, statement_id, sequence_number) DO NOTHING
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- A chunk of a statement's lines, numbered from p_first_no. A line re-sent under a bank
-- reference already imported for the account with the same amount and value date is
-- skipped (also within the chunk). Returns how many were inserted and skipped.
CREATE FUNCTION recon.import_lines(p_statement_id bigint, p_first_no integer, p_amounts bigint[], p_booking date[],
                                   p_value date[], p_reversal boolean[], p_status text[], p_bank_ref text[],
                                   p_e2e text[], p_owner_ref text[], p_cp_name text[], p_cp_account text[],
                                   p_remittance text[], p_tx_code text[], p_info text[], p_location text[],
                                   OUT inserted integer, OUT skipped integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
SET jit = off -- compiled per call of a large statement, then run once
SET work_mem = '256MB'
AS $$
DECLARE
    s recon.statements;
    n integer := cardinality(p_amounts);
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    SELECT x.* INTO s FROM recon.statements x JOIN recon.files f ON f.id = x.file_id
    WHERE x.id = p_statement_id AND f.imported_by = audit.current_operator() AND recon.written_now(f.xmin);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Lines are imported in the transaction that began their file' USING ERRCODE = 'LG081';
    END IF;
    IF n IS NULL OR n > 100000 OR p_first_no < 1
       OR cardinality(p_booking) <> n OR cardinality(p_value) <> n OR cardinality(p_reversal) <> n
       OR cardinality(p_status) <> n OR cardinality(p_bank_ref) <> n OR cardinality(p_e2e) <> n
       OR cardinality(p_owner_ref) <> n OR cardinality(p_cp_name) <> n OR cardinality(p_cp_account) <> n
       OR cardinality(p_remittance) <> n OR cardinality(p_tx_code) <> n OR cardinality(p_info) <> n
       OR cardinality(p_location) <> n THEN
        RAISE EXCEPTION 'A chunk holds 1 to 100000 lines, every array the same length' USING ERRCODE = '22023';
    END IF;
    -- Most chunks hold no line seen before: they are inserted as they are, and the unique index
    -- lines_once says whether one was (a plain insert of a million lines took half the time of
    -- one that looked each line up first, or let ON CONFLICT do it). If one was, the chunk is
    -- inserted again with those lines left out (the first insert undone with its block).
    BEGIN
        INSERT INTO recon.lines (statement_id, bank_account_id, line_no, amount_minor, booking_date, value_date, reversal,
                                 status, bank_reference, end_to_end_id, owner_reference, counterparty_name,
                                 counterparty_account, remittance, bank_transaction_code, additional_info,
                                 source_location)
        SELECT p_statement_id, s.bank_account_id, (p_first_no + u.ord - 1)::integer, u.amount, u.booking, u.value_date,
               coalesce(u.reversal, false), coalesce(nullif(u.status, ''), 'BOOK'), coalesce(u.bank_ref, ''),
               coalesce(u.e2e, ''), coalesce(u.owner_ref, ''), coalesce(u.cp_name, ''), coalesce(u.cp_account, ''),
               coalesce(u.remittance, ''), coalesce(u.tx_code, ''), coalesce(u.info, ''), coalesce(u.location, '')
        FROM unnest(p_amounts, p_booking, p_value, p_reversal, p_status, p_bank_ref, p_e2e, p_owner_ref, p_cp_name,
                    p_cp_account, p_remittance, p_tx_code, p_info, p_location) WITH ORDINALITY
             AS u(amount, booking, value_date, reversal, status, bank_ref, e2e, owner_ref, cp_name, cp_account,
                  remittance, tx_code, info, location, ord);
        GET DIAGNOSTICS inserted = ROW_COUNT;
    EXCEPTION WHEN unique_violation THEN
        -- Only lines_once may be the reason (a line number taken twice is still an error).
        INSERT INTO recon.lines (statement_id, bank_account_id, line_no, amount_minor, booking_date, value_date, reversal,
                                 status, bank_reference, end_to_end_id, owner_reference, counterparty_name,
                                 counterparty_account, remittance, bank_transaction_code, additional_info,
                                 source_location)
        SELECT p_statement_id, s.bank_account_id, (p_first_no + u.ord - 1)::integer, u.amount, u.booking, u.value_date,
               coalesce(u.reversal, false), coalesce(nullif(u.status, ''), 'BOOK'), coalesce(u.bank_ref, ''),
               coalesce(u.e2e, ''), coalesce(u.owner_ref, ''), coalesce(u.cp_name, ''), coalesce(u.cp_account, ''),
               coalesce(u.remittance, ''), coalesce(u.tx_code, ''), coalesce(u.info, ''), coalesce(u.location, '')
        FROM unnest(p_amounts, p_booking, p_value, p_reversal, p_status, p_bank_ref, p_e2e, p_owner_ref, p_cp_name,
                    p_cp_account, p_remittance, p_tx_code, p_info, p_location) WITH ORDINALITY
             AS u(amount, booking, value_date, reversal, status, bank_ref, e2e, owner_ref, cp_name, cp_account,
                  remittance, tx_code, info, location, ord)
        ORDER BY u.ord -- the first of two copies in one chunk is the one kept
        ON CONFLICT (bank_account_id, bank_reference, amount_minor, value_date) WHERE bank_reference <> '' DO NOTHING;
        GET DIAGNOSTICS inserted = ROW_COUNT;
    END;
    skipped := n - inserted;
END
$$;

-- Finishes the file: raises "statement does not balance" (opening + booked lines <> closing)
-- and "duplicate line" (a bank reference seen before with another amount or date; a line
-- without one equal to another in amount, value date, counterparty and remittance)
-- exceptions, and records the import as an audit event. Returns the summary.
CREATE FUNCTION recon.import_finish(p_file_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
SET jit = off -- compiled per call of a large statement, then run once
SET work_mem = '256MB'
AS $$
DECLARE
    f recon.files;
    v_summary jsonb;
    v_unbalanced integer;
    v_duplicates integer;
    v_lines bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    SELECT * INTO f FROM recon.files x WHERE x.id = p_file_id AND x.imported_by = audit.current_operator()
                                          AND recon.written_now(x.xmin);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'A file is finished in the transaction that began it' USING ERRCODE = 'LG081';
    END IF;
    WITH t AS (
        SELECT s.id, s.bank_account_id, s.opening_minor, s.closing_minor,
               (s.opening_minor + coalesce(sum(l.amount_minor) FILTER (WHERE l.status = 'BOOK'), 0) - s.closing_minor)::bigint AS diff
        FROM recon.statements s LEFT JOIN recon.lines l ON l.statement_id = s.id
        WHERE s.file_id = p_file_id AND s.opening_minor IS NOT NULL AND s.closing_minor IS NOT NULL
        GROUP BY s.id
    ), raised AS (
        INSERT INTO recon.exceptions (bank_account_id, type, statement_id, amount_minor, difference_minor, detail,
                                      raised_by, due_at)
        SELECT t.bank_account_id, 'statement_unbalanced', t.id, t.closing_minor, -t.diff,
               jsonb_build_object('opening_minor', t.opening_minor, 'closing_minor', t.closing_minor),
               audit.current_operator(), recon.due_at(t.diff, c.exponent, clock_timestamp())
        FROM t JOIN recon.bank_accounts b ON b.id = t.bank_account_id JOIN ledger.currencies c ON c.code = b.currency
        WHERE t.diff <> 0
        ON CONFLICT DO NOTHING
        RETURNING id, raised_at
    ), st AS (
        INSERT INTO recon.exception_state (exception_id, state, updated_at) SELECT id, 'open', raised_at FROM raised
    )
    SELECT count(*) INTO v_unbalanced FROM raised;

    -- The planner has not seen the file's lines yet (they are this transaction's): without
    -- this it takes a large file for a few rows and joins it with a loop per line.
    ANALYZE recon.lines;
    WITH mine AS MATERIALIZED (
        SELECT l.id, l.bank_account_id, l.amount_minor, l.value_date, l.bank_reference, l.end_to_end_id,
               l.counterparty_account, l.remittance
        FROM recon.lines l
        WHERE l.statement_id IN (SELECT s.id FROM recon.statements s WHERE s.file_id = p_file_id)
    ), dup AS (
        -- Two equi-joins (an OR between them would be a loop over the account's lines per line).
        SELECT m.id, m.bank_account_id, m.amount_minor, min(o.id) AS other
        FROM mine m
        JOIN recon.lines o ON o.bank_account_id = m.bank_account_id AND o.bank_reference = m.bank_reference
         AND o.id < m.id
        WHERE m.bank_reference <> ''
        GROUP BY m.id, m.bank_account_id, m.amount_minor
        UNION ALL
        SELECT m.id, m.bank_account_id, m.amount_minor, min(o.id)
        FROM mine m
        JOIN recon.lines o ON o.bank_account_id = m.bank_account_id AND o.bank_reference = ''
         AND o.amount_minor = m.amount_minor AND o.value_date = m.value_date
         AND o.counterparty_account = m.counterparty_account AND o.remittance = m.remittance
         AND o.end_to_end_id = m.end_to_end_id AND o.id < m.id
        WHERE m.bank_reference = ''
        GROUP BY m.id, m.bank_account_id, m.amount_minor
    ), raised AS (
        INSERT INTO recon.exceptions (bank_account_id, type, line_id, amount_minor, detail, raised_by, due_at)
        SELECT d.bank_account_id, 'duplicate_line', d.id, d.amount_minor, jsonb_build_object('duplicate_of', d.other),
               audit.current_operator(), recon.due_at(d.amount_minor, c.exponent, clock_timestamp())
        FROM dup d JOIN recon.bank_accounts b ON b.id = d.bank_account_id JOIN ledger.currencies c ON c.code = b.currency
        ON CONFLICT DO NOTHING
        RETURNING id, raised_at
    ), st AS (
        INSERT INTO recon.exception_state (exception_id, state, updated_at) SELECT id, 'open', raised_at FROM raised
    )
    SELECT (SELECT count(*) FROM raised), (SELECT count(*) FROM mine) INTO v_duplicates, v_lines;

    SELECT jsonb_build_object(
               'file_id', f.id, 'sha256', f.sha256, 'format', f.format, 'file_name', f.file_name,
               'statements', (SELECT count(*) FROM recon.statements s WHERE s.file_id = f.id),
               'lines', v_lines, 'unbalanced_statements', v_unbalanced, 'duplicate_lines', v_duplicates)
    INTO v_summary;
    PERFORM audit.record('recon.imported', 'file', f.sha256, v_summary);
    RETURN v_summary;
END
$$;

-------------------------------------------------------------------------------------------
-- Matching.
-------------------------------------------------------------------------------------------
-- The score of a line against entries: amount 40 (less with the difference, at least 20
-- within tolerance), value date 30 (15 at the window's edge), reference 20 (the bank
-- reference or end-to-end id is the transaction's external reference; 10 when the
-- remittance text contains it), counterparty 10 (its name in the transaction's description).
-- Without SET search_path so that the planner inlines it (a SET makes it a call per row: a
-- million calls were most of a large run's first pass); only SECURITY DEFINER functions with
-- their own search_path call it (EXECUTE is revoked from PUBLIC below).
CREATE FUNCTION recon.score(p_diff bigint, p_tolerance bigint, p_days integer, p_window integer,
                            p_reference integer, p_counterparty boolean) RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$
    SELECT greatest(0, least(100,
        CASE WHEN p_diff = 0 THEN 40 ELSE 40 - (20 * abs(p_diff) + greatest(p_tolerance, 1) - 1) / greatest(p_tolerance, 1) END
        + 30 - (15 * abs(p_days) + greatest(p_window, 1) - 1) / greatest(p_window, 1)
        + p_reference
        + CASE WHEN p_counterparty THEN 10 ELSE 0 END))::integer
$$;

-- Milliseconds since p_from, under p_step's name: a run's summary says where its time went.
CREATE FUNCTION recon.elapsed_ms(p_step text, p_from timestamptz) RETURNS jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT jsonb_build_object(p_step, round(extract(epoch FROM clock_timestamp() - p_from)::numeric * 1000, 1)) $$;

-- A run's work on one bank account, inside the caller's transaction: creates the groups of
-- the three passes, raises exceptions for what is left, resolves exceptions whose objects
-- are now matched; returns the counts and the milliseconds each step took (elapsed_ms:
-- prepare, exact, tolerance, interchangeable, one_to_many, many_to_one, record, exceptions,
-- resolve).
CREATE FUNCTION recon.match_account(b recon.bank_accounts, p_run bigint) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, recon, ledger, pg_temp
SET client_min_messages = warning
-- Hash joins and aggregates over a million lines stay in memory; JIT would compile each large
-- statement once for a single execution (seconds in all, nothing won back).
SET work_mem = '256MB'
SET jit = off
AS $$
DECLARE
    v_tol bigint;
    v_width bigint;
    v_exponent integer;
    n_exact integer := 0;
    n_tolerance integer := 0;
    n_one_to_many integer := 0;
    n_many_to_one integer := 0;
    n_auto integer := 0;
    n_raised jsonb;
    n_resolved integer := 0;
    v_step timestamptz := clock_timestamp();
    v_ms jsonb := '{}';
    v_operator text := audit.current_operator();
BEGIN
    SELECT c.exponent INTO v_exponent FROM ledger.currencies c WHERE c.code = b.currency;
    DROP TABLE IF EXISTS pg_temp.recon_l, pg_temp.recon_e, pg_temp.recon_cand, pg_temp.recon_exact, pg_temp.recon_pairs;
    -- What is left to match: booked lines and the mirror account's entries in no standing group.
    CREATE TEMP TABLE recon_l ON COMMIT DROP AS
    SELECT l.id, l.amount_minor AS amount, l.value_date AS d, l.bank_reference AS ref, l.end_to_end_id AS e2e,
           l.remittance, l.counterparty_name AS cp
    FROM recon.lines l
    WHERE l.bank_account_id = b.id AND l.status = 'BOOK'
      AND NOT EXISTS (SELECT 1 FROM recon.active_lines a WHERE a.line_id = l.id);
    CREATE TEMP TABLE recon_e ON COMMIT DROP AS
    SELECT e.id, e.amount, (e.effective_at AT TIME ZONE 'UTC')::date AS d, coalesce(t.external_ref, '') AS ref,
           coalesce(t.description, '') AS description
    FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
    WHERE e.account_id = b.account_id
      AND NOT EXISTS (SELECT 1 FROM recon.active_entries a WHERE a.entry_id = e.id);
    ANALYZE recon_l;
    ANALYZE recon_e;
    v_ms := v_ms || recon.elapsed_ms('prepare', v_step);
    v_step := clock_timestamp();

    -- Pass 1: the reference (bank reference or end-to-end id = external reference), the
    -- amount exactly, the date within the window; only pairs unique on both sides. One hash
    -- join, each line probing with both of its references (its end-to-end id when it differs
    -- from its bank reference); pairs that share a line or an entry with another are found by
    -- two hash aggregates (sorting a million candidates twice for window counts took longer).
    -- Its pairs are kept as plain ids (recon_exact): most of a large run's groups are these.
    CREATE TEMP TABLE recon_cand ON COMMIT DROP AS
    SELECT k.id AS line_id, e.id AS entry_id, k.amount,
           recon.score(0, 0, e.d - k.d, b.date_window_days, 20,
                       k.cp <> '' AND length(k.cp) >= 3 AND strpos(lower(e.description), lower(k.cp)) > 0) AS score
    FROM (SELECT l.id, l.amount, l.d, l.cp, l.ref AS key FROM recon_l l WHERE l.ref <> ''
          UNION ALL
          SELECT l.id, l.amount, l.d, l.cp, l.e2e FROM recon_l l WHERE l.e2e <> '' AND l.e2e <> l.ref) k
    JOIN recon_e e ON e.ref = k.key AND e.amount = k.amount
    WHERE abs(e.d - k.d) <= b.date_window_days;
    -- Each pair numbered as the group it will be (ids from the groups' own sequence).
    -- NOT IN over the (few) shared ids is a hashed lookup per pair; the planner, estimating
    -- a third of them shared, sorted a million pairs twice for anti-joins instead.
    CREATE TEMP TABLE recon_exact ON COMMIT DROP AS
    SELECT nextval('recon.match_groups_id_seq'::regclass) AS id, c.line_id, c.entry_id, c.amount, c.score
    FROM recon_cand c
    WHERE c.line_id NOT IN (SELECT x.line_id FROM recon_cand x GROUP BY x.line_id HAVING count(*) > 1)
      AND c.entry_id NOT IN (SELECT x.entry_id FROM recon_cand x GROUP BY x.entry_id HAVING count(*) > 1);
    DROP TABLE recon_cand;
    -- The other passes' groups (few).
    CREATE TEMP TABLE recon_pairs (rule text, line_ids bigint[], entry_ids bigint[], lines_minor bigint,
                                   entries_minor bigint, score integer,
                                   id bigint NOT NULL DEFAULT nextval('recon.match_groups_id_seq'::regclass))
        ON COMMIT DROP;
    -- What is left, rebuilt rather than deleted from: the next passes join it again, and a
    -- table that is nine tenths dead rows makes every scan of it ten times as long.
    CREATE TEMP TABLE recon_l_left ON COMMIT DROP AS
    SELECT l.* FROM recon_l l WHERE NOT EXISTS (SELECT 1 FROM recon_exact p WHERE p.line_id = l.id);
    CREATE TEMP TABLE recon_e_left ON COMMIT DROP AS
    SELECT e.* FROM recon_e e WHERE NOT EXISTS (SELECT 1 FROM recon_exact p WHERE p.entry_id = e.id);
    DROP TABLE recon_l, recon_e;
    ALTER TABLE recon_l_left RENAME TO recon_l;
    ALTER TABLE recon_e_left RENAME TO recon_e;
    ANALYZE recon_l;
    ANALYZE recon_e;
    v_ms := v_ms || recon.elapsed_ms('exact', v_step);
    v_step := clock_timestamp();

    -- Pass 2: the amount within tolerance (absolute, or basis points of the line's amount)
    -- and the date within the window; mutual best candidates with a unique best score.
    -- Candidates are found through amount buckets as wide as the largest tolerance.
    SELECT greatest(b.amount_tolerance_minor, coalesce(max(abs(l.amount)) * b.amount_tolerance_bp / 10000, 0))
    INTO v_width FROM recon_l l;
    WITH c AS (
        SELECT l.id AS line_id, e.id AS entry_id, l.amount, e.amount AS entry_amount, e.amount - l.amount AS diff,
               e.d - l.d AS days,
               greatest(b.amount_tolerance_minor, abs(l.amount) * b.amount_tolerance_bp / 10000) AS tol,
               CASE WHEN l.ref <> '' AND (e.ref = l.ref) THEN 20
                    WHEN l.e2e <> '' AND (e.ref = l.e2e) THEN 20
                    WHEN length(e.ref) >= 4 AND strpos(l.remittance, e.ref) > 0 THEN 10 ELSE 0 END AS ref_points,
               l.cp <> '' AND length(l.cp) >= 3 AND strpos(lower(e.description), lower(l.cp)) > 0 AS cp_match
        FROM recon_l l
        CROSS JOIN LATERAL (VALUES (floor(l.amount::numeric / (v_width + 1))::bigint - 1),
                                   (floor(l.amount::numeric / (v_width + 1))::bigint),
                                   (floor(l.amount::numeric / (v_width + 1))::bigint + 1)) k(bucket)
        JOIN (SELECT x.*, floor(x.amount::numeric / (v_width + 1))::bigint AS bucket FROM recon_e x) e
          ON e.bucket = k.bucket AND abs(e.d - l.d) <= b.date_window_days
    ), s AS (
        SELECT c.*, recon.score(diff, tol, days, b.date_window_days, ref_points, cp_match) AS score
        FROM c WHERE abs(diff) <= tol
    ), r AS (
        SELECT s.*,
               rank() OVER (PARTITION BY line_id ORDER BY score DESC) AS line_rank,
               count(*) OVER (PARTITION BY line_id, score) AS line_ties,
               rank() OVER (PARTITION BY entry_id ORDER BY score DESC) AS entry_rank,
               count(*) OVER (PARTITION BY entry_id, score) AS entry_ties
        FROM s
    ), ins AS (
        INSERT INTO recon_pairs
        SELECT 'tolerance', ARRAY[line_id], ARRAY[entry_id], amount, entry_amount, score
        FROM r WHERE line_rank = 1 AND entry_rank = 1 AND line_ties = 1 AND entry_ties = 1
        RETURNING line_ids, entry_ids
    )
    SELECT count(*) INTO n_tolerance FROM ins;
    CREATE TEMP TABLE recon_l_left ON COMMIT DROP AS
    SELECT l.* FROM recon_l l
    WHERE NOT EXISTS (SELECT 1 FROM recon_pairs p WHERE p.rule = 'tolerance' AND p.line_ids[1] = l.id);
    CREATE TEMP TABLE recon_e_left ON COMMIT DROP AS
    SELECT e.* FROM recon_e e
    WHERE NOT EXISTS (SELECT 1 FROM recon_pairs p WHERE p.rule = 'tolerance' AND p.entry_ids[1] = e.id);
    DROP TABLE recon_l, recon_e;
    ALTER TABLE recon_l_left RENAME TO recon_l;
    ALTER TABLE recon_e_left RENAME TO recon_e;
    ANALYZE recon_l;
    ANALYZE recon_e;
    v_ms := v_ms || recon.elapsed_ms('tolerance', v_step);
    v_step := clock_timestamp();

    -- Pass 2b: interchangeable items. Lines and entries without a reference that agree in
    -- amount and date with as many of the other side (two fees of 4.90 on one day) are told
    -- apart by nothing, so any pairing is right: they are paired in order. (Pass 2 leaves
    -- them, as each has several best candidates.)
    WITH l AS (
        SELECT x.id, x.amount, x.d, row_number() OVER (PARTITION BY x.amount, x.d ORDER BY x.id) AS k,
               count(*) OVER (PARTITION BY x.amount, x.d) AS n
        FROM recon_l x -- no entry has either of its references (four hashed anti-joins: an IN
                       -- or OR between the references would compare every line with every entry)
        WHERE NOT EXISTS (SELECT 1 FROM recon_e e WHERE e.ref = x.ref AND x.ref <> '')
          AND NOT EXISTS (SELECT 1 FROM recon_e e WHERE e.ref = x.e2e AND x.e2e <> '')
    ), e AS (
        SELECT x.id, x.amount, x.d, row_number() OVER (PARTITION BY x.amount, x.d ORDER BY x.id) AS k,
               count(*) OVER (PARTITION BY x.amount, x.d) AS n
        FROM recon_e x -- no line names its reference
        WHERE NOT EXISTS (SELECT 1 FROM recon_l l WHERE l.ref = x.ref AND x.ref <> '')
          AND NOT EXISTS (SELECT 1 FROM recon_l l WHERE l.e2e = x.ref AND x.ref <> '')
    ), ins AS (
        INSERT INTO recon_pairs
        SELECT 'tolerance', ARRAY[l.id], ARRAY[e.id], l.amount, e.amount,
               recon.score(0, 0, 0, b.date_window_days, 0, false)
        FROM l JOIN e ON e.amount = l.amount AND e.d = l.d AND e.k = l.k AND e.n = l.n AND l.n > 1
        RETURNING 1
    )
    SELECT n_tolerance + count(*) INTO n_tolerance FROM ins;
    DELETE FROM recon_l WHERE id IN (SELECT unnest(p.line_ids) FROM recon_pairs p WHERE p.rule = 'tolerance');
    DELETE FROM recon_e WHERE id IN (SELECT unnest(p.entry_ids) FROM recon_pairs p WHERE p.rule = 'tolerance');
    v_ms := v_ms || recon.elapsed_ms('interchangeable', v_step);
    v_step := clock_timestamp();

    -- Pass 3a, one to many: a line equal to the sum of 2..max_group_size entries of the same
    -- sign within the window (found among the 30 entries nearest in date, smaller in size);
    -- a line with exactly one such set, sets that share no entry. Sets are grown largest member
    -- first (size_rank), and a set that even with its remaining places filled by members as
    -- large as its last cannot reach the line is not grown further (without that bound, a
    -- million-line run enumerated 600,000 partial sets here).
    WITH RECURSIVE cand AS (
        SELECT z.*, row_number() OVER (PARTITION BY z.line_id ORDER BY abs(z.amount) DESC, z.entry_id) AS size_rank
        FROM (
            SELECT l.id AS line_id, l.amount AS target, l.d, e.id AS entry_id, e.amount, e.d AS entry_d,
                   row_number() OVER (PARTITION BY l.id ORDER BY abs(e.d - l.d), e.id) AS nearness
            FROM recon_l l CROSS JOIN generate_series(-b.date_window_days, b.date_window_days) k(days)
            JOIN recon_e e ON e.d = l.d + k.days -- an equi-join (hashed), not a range join per line
            WHERE sign(e.amount) = sign(l.amount) AND abs(e.amount) < abs(l.amount)
        ) z WHERE z.nearness <= 30
    ), reachable AS (
        -- Lines that max_group_size of their largest candidates can reach: a line larger than
        -- that (an unknown payment of a million) would otherwise have every subset of its 30
        -- candidates tried (a 1M-line run spent 37 s here).
        SELECT x.line_id FROM (SELECT c.line_id, c.target, abs(c.amount) AS size,
                                      row_number() OVER (PARTITION BY c.line_id ORDER BY abs(c.amount) DESC) AS big
                               FROM cand c) x
        WHERE x.big <= b.max_group_size GROUP BY x.line_id, x.target HAVING sum(x.size) >= abs(x.target)
    ), sets(line_id, target, last_rank, total, members, n, far) AS (
        SELECT c.line_id, c.target, c.size_rank, c.amount, ARRAY[c.entry_id], 1, abs(c.entry_d - c.d) FROM cand c
        WHERE c.line_id IN (SELECT r.line_id FROM reachable r) AND abs(c.amount) * b.max_group_size >= abs(c.target)
        UNION ALL
        SELECT s.line_id, s.target, c.size_rank, s.total + c.amount, s.members || c.entry_id, s.n + 1,
               greatest(s.far, abs(c.entry_d - c.d))
        FROM sets s JOIN cand c ON c.line_id = s.line_id AND c.size_rank > s.last_rank
        WHERE s.n < b.max_group_size AND abs(s.total + c.amount) <= abs(s.target)
          AND abs(s.total + c.amount) + (b.max_group_size - s.n - 1) * abs(c.amount) >= abs(s.target)
    ), found AS (
        SELECT z.* FROM (SELECT s.*, count(*) OVER (PARTITION BY s.line_id) AS ways FROM sets s
                         WHERE s.n >= 2 AND s.total = s.target) z
        WHERE z.ways = 1
    ), claims AS (
        SELECT f.line_id, count(*) OVER (PARTITION BY m.entry_id) AS claims
        FROM found f CROSS JOIN LATERAL unnest(f.members) AS m(entry_id)
    ), ins AS (
        INSERT INTO recon_pairs
        SELECT 'one_to_many', ARRAY[f.line_id], (SELECT array_agg(m ORDER BY m) FROM unnest(f.members) m), f.target, f.total,
               recon.score(0, 0, f.far, b.date_window_days, 0, false)
        FROM found f
        WHERE NOT EXISTS (SELECT 1 FROM claims c WHERE c.line_id = f.line_id AND c.claims > 1)
        RETURNING 1
    )
    SELECT count(*) INTO n_one_to_many FROM ins;
    DELETE FROM recon_l WHERE id IN (SELECT unnest(p.line_ids) FROM recon_pairs p WHERE p.rule = 'one_to_many');
    DELETE FROM recon_e WHERE id IN (SELECT unnest(p.entry_ids) FROM recon_pairs p WHERE p.rule = 'one_to_many');
    v_ms := v_ms || recon.elapsed_ms('one_to_many', v_step);
    v_step := clock_timestamp();

    -- Pass 3b, many to one: the reverse (2..max_group_size lines equal to one entry).
    WITH RECURSIVE cand AS (
        SELECT z.*, row_number() OVER (PARTITION BY z.entry_id ORDER BY abs(z.amount) DESC, z.line_id) AS size_rank
        FROM (
            SELECT e.id AS entry_id, e.amount AS target, e.d, l.id AS line_id, l.amount, l.d AS line_d,
                   row_number() OVER (PARTITION BY e.id ORDER BY abs(l.d - e.d), l.id) AS nearness
            FROM recon_e e CROSS JOIN generate_series(-b.date_window_days, b.date_window_days) k(days)
            JOIN recon_l l ON l.d = e.d + k.days
            WHERE sign(l.amount) = sign(e.amount) AND abs(l.amount) < abs(e.amount)
        ) z WHERE z.nearness <= 30
    ), reachable AS (
        SELECT x.entry_id FROM (SELECT c.entry_id, c.target, abs(c.amount) AS size,
                                       row_number() OVER (PARTITION BY c.entry_id ORDER BY abs(c.amount) DESC) AS big
                                FROM cand c) x
        WHERE x.big <= b.max_group_size GROUP BY x.entry_id, x.target HAVING sum(x.size) >= abs(x.target)
    ), sets(entry_id, target, last_rank, total, members, n, far) AS (
        SELECT c.entry_id, c.target, c.size_rank, c.amount, ARRAY[c.line_id], 1, abs(c.line_d - c.d) FROM cand c
        WHERE c.entry_id IN (SELECT r.entry_id FROM reachable r) AND abs(c.amount) * b.max_group_size >= abs(c.target)
        UNION ALL
        SELECT s.entry_id, s.target, c.size_rank, s.total + c.amount, s.members || c.line_id, s.n + 1,
               greatest(s.far, abs(c.line_d - c.d))
        FROM sets s JOIN cand c ON c.entry_id = s.entry_id AND c.size_rank > s.last_rank
        WHERE s.n < b.max_group_size AND abs(s.total + c.amount) <= abs(s.target)
          AND abs(s.total + c.amount) + (b.max_group_size - s.n - 1) * abs(c.amount) >= abs(s.target)
    ), found AS (
        SELECT z.* FROM (SELECT s.*, count(*) OVER (PARTITION BY s.entry_id) AS ways FROM sets s
                         WHERE s.n >= 2 AND s.total = s.target) z
        WHERE z.ways = 1
    ), claims AS (
        SELECT f.entry_id, count(*) OVER (PARTITION BY m.line_id) AS claims
        FROM found f CROSS JOIN LATERAL unnest(f.members) AS m(line_id)
    ), ins AS (
        INSERT INTO recon_pairs
        SELECT 'many_to_one', (SELECT array_agg(m ORDER BY m) FROM unnest(f.members) m), ARRAY[f.entry_id], f.total, f.target,
               recon.score(0, 0, f.far, b.date_window_days, 0, false)
        FROM found f
        WHERE NOT EXISTS (SELECT 1 FROM claims c WHERE c.entry_id = f.entry_id AND c.claims > 1)
        RETURNING 1
    )
    SELECT count(*) INTO n_many_to_one FROM ins;
    DELETE FROM recon_l WHERE id IN (SELECT unnest(p.line_ids) FROM recon_pairs p WHERE p.rule = 'many_to_one');
    DELETE FROM recon_e WHERE id IN (SELECT unnest(p.entry_ids) FROM recon_pairs p WHERE p.rule = 'many_to_one');
    v_ms := v_ms || recon.elapsed_ms('many_to_one', v_step);
    v_step := clock_timestamp();

    -- A group an operator rejected or revoked is not proposed again: its lines and entries
    -- stay unmatched (and may raise exceptions below).
    -- (Found from the decisions, few, rather than from every group of the account.)
    IF EXISTS (SELECT 1 FROM recon.match_decisions d JOIN recon.match_groups g ON g.id = d.group_id
               WHERE d.decision IN ('rejected', 'revoked') AND g.bank_account_id = b.id) THEN
    WITH undone AS MATERIALIZED (
        SELECT DISTINCT g.line_ids, g.entry_ids FROM recon.match_decisions d JOIN recon.match_groups g ON g.id = d.group_id
        WHERE d.decision IN ('rejected', 'revoked') AND g.bank_account_id = b.id
    ), gone_pairs AS (
        DELETE FROM recon_pairs p USING undone r
        WHERE r.line_ids = p.line_ids AND r.entry_ids = p.entry_ids
        RETURNING p.line_ids, p.entry_ids
    ), gone_exact AS (
        DELETE FROM recon_exact p USING undone r
        WHERE cardinality(r.line_ids) = 1 AND cardinality(r.entry_ids) = 1
          AND p.line_id = r.line_ids[1] AND p.entry_id = r.entry_ids[1]
        RETURNING ARRAY[p.line_id] AS line_ids, ARRAY[p.entry_id] AS entry_ids
    ), gone AS (
        SELECT * FROM gone_pairs UNION ALL SELECT * FROM gone_exact
    ), back_l AS (
        INSERT INTO recon_l
        SELECT l.id, l.amount_minor, l.value_date, l.bank_reference, l.end_to_end_id, l.remittance, l.counterparty_name
        FROM recon.lines l WHERE l.id IN (SELECT unnest(line_ids) FROM gone)
    )
    INSERT INTO recon_e
    SELECT e.id, e.amount, (e.effective_at AT TIME ZONE 'UTC')::date, coalesce(t.external_ref, ''), coalesce(t.description, '')
    FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
    WHERE e.id IN (SELECT unnest(entry_ids) FROM gone);
    END IF;
    SELECT count(*) INTO n_exact FROM recon_exact;
    SELECT count(*) FILTER (WHERE rule = 'tolerance'), count(*) FILTER (WHERE rule = 'one_to_many'),
           count(*) FILTER (WHERE rule = 'many_to_one')
    INTO n_tolerance, n_one_to_many, n_many_to_one FROM recon_pairs;

    -- The groups (numbered as they were found), the standing index, and what the run
    -- confirmed: three plain inserts (one statement with RETURNING feeding the other two spent
    -- a second more on a large run). The exact pairs, most of a large run, as plain ids.
    INSERT INTO recon.match_groups (id, bank_account_id, run_id, rule, score, line_ids, entry_ids, lines_minor,
                                    entries_minor, auto_confirmed, created_by) OVERRIDING SYSTEM VALUE
    SELECT p.id, b.id, p_run, 'exact', p.score, ARRAY[p.line_id], ARRAY[p.entry_id], p.amount, p.amount,
           p.score >= b.auto_confirm_score, v_operator
    FROM recon_exact p
    UNION ALL
    SELECT p.id, b.id, p_run, p.rule, p.score, p.line_ids, p.entry_ids, p.lines_minor, p.entries_minor,
           p.score >= b.auto_confirm_score, v_operator
    FROM recon_pairs p;
    INSERT INTO recon.active_lines (line_id, group_id, confirmed)
    SELECT p.line_id, p.id, p.score >= b.auto_confirm_score FROM recon_exact p
    UNION ALL
    SELECT unnest(p.line_ids), p.id, p.score >= b.auto_confirm_score FROM recon_pairs p;
    INSERT INTO recon.active_entries (entry_id, group_id, confirmed)
    SELECT p.entry_id, p.id, p.score >= b.auto_confirm_score FROM recon_exact p
    UNION ALL
    SELECT unnest(p.entry_ids), p.id, p.score >= b.auto_confirm_score FROM recon_pairs p;
    SELECT (SELECT count(*) FROM recon_exact p WHERE p.score >= b.auto_confirm_score)
           + (SELECT count(*) FROM recon_pairs p WHERE p.score >= b.auto_confirm_score)
    INTO n_auto;
    v_ms := v_ms || recon.elapsed_ms('record', v_step);
    v_step := clock_timestamp();

    -- Exceptions for what is left.
    WITH same_ref AS (
        SELECT DISTINCT ON (l.id) l.id AS line_id, e.id AS entry_id, l.amount, e.amount - l.amount AS diff, e.d - l.d AS days,
               greatest(b.amount_tolerance_minor, abs(l.amount) * b.amount_tolerance_bp / 10000) AS tol
        FROM recon_l l JOIN recon_e e ON e.ref = l.ref WHERE l.ref <> ''
        UNION ALL -- two hash joins: an OR in the join condition is a nested loop
        SELECT l.id, e.id, l.amount, e.amount - l.amount, e.d - l.d,
               greatest(b.amount_tolerance_minor, abs(l.amount) * b.amount_tolerance_bp / 10000)
        FROM recon_l l JOIN recon_e e ON e.ref = l.e2e WHERE l.e2e <> '' AND l.e2e <> l.ref
    ), one_ref AS (
        SELECT DISTINCT ON (x.line_id) x.* FROM same_ref x
        ORDER BY x.line_id, abs(x.diff), abs(x.days), x.entry_id
    ), typed AS (
        SELECT s.line_id, s.entry_id, s.amount, s.diff, s.days,
               CASE WHEN abs(s.diff) > s.tol THEN 'amount_mismatch' ELSE 'date_out_of_tolerance' END AS type
        FROM one_ref s
        WHERE abs(s.diff) > s.tol OR abs(s.days) > b.date_window_days
    ), candidates AS (
        SELECT t.type, t.line_id, t.entry_id, t.amount, t.diff,
               jsonb_build_object('days', t.days) AS detail
        FROM typed t
        UNION ALL
        SELECT 'missing_in_ledger', l.id, NULL::bigint, l.amount, NULL::bigint, '{}'::jsonb
        FROM recon_l l WHERE NOT EXISTS (SELECT 1 FROM typed t WHERE t.line_id = l.id)
        UNION ALL
        SELECT 'missing_in_statement', NULL::bigint, e.id, e.amount, NULL::bigint, '{}'::jsonb
        FROM recon_e e
        CROSS JOIN (SELECT min(x.value_date) AS first_day, max(x.value_date) AS last_day
                    FROM recon.lines x WHERE x.bank_account_id = b.id) span
        WHERE e.d >= span.first_day AND e.d <= span.last_day - b.missing_after_days
          AND NOT EXISTS (SELECT 1 FROM typed t WHERE t.entry_id = e.id)
    ), raised AS (
        INSERT INTO recon.exceptions (bank_account_id, type, line_id, entry_id, amount_minor, difference_minor, detail,
                                      raised_by, due_at)
        SELECT b.id, c.type, c.line_id, c.entry_id, c.amount, c.diff, c.detail || jsonb_build_object('run', p_run),
               v_operator, clock_timestamp() + make_interval(days => coalesce(tier.days, 10))
        FROM candidates c
        LEFT JOIN LATERAL (SELECT t.days FROM recon.sla_tiers t -- recon.due_at, as a join
                           WHERE t.min_amount <= abs(c.amount)::numeric / (10::numeric ^ v_exponent)
                           ORDER BY t.min_amount DESC LIMIT 1) tier ON true
        ON CONFLICT DO NOTHING
        RETURNING id, type, raised_at
    ), st AS (
        INSERT INTO recon.exception_state (exception_id, state, updated_at)
        SELECT id, 'open', raised_at FROM raised
    )
    SELECT coalesce(jsonb_object_agg(type, n), '{}') INTO n_raised
    FROM (SELECT type, count(*) AS n FROM raised GROUP BY type) x;
    v_ms := v_ms || recon.elapsed_ms('exceptions', v_step);
    v_step := clock_timestamp();

    -- Open exceptions whose line or entry the run matched and confirmed: resolved by the run.
    WITH done AS (
        SELECT x.exception_id, coalesce(al.group_id, ae.group_id) AS group_id
        FROM recon.exception_state x
        JOIN recon.exceptions e ON e.id = x.exception_id
        LEFT JOIN recon.active_lines al ON al.line_id = e.line_id AND al.confirmed
        LEFT JOIN recon.active_entries ae ON ae.entry_id = e.entry_id AND ae.confirmed
        WHERE e.bank_account_id = b.id AND x.state IN ('open', 'assigned')
          AND e.type IN ('missing_in_ledger', 'missing_in_statement', 'amount_mismatch', 'date_out_of_tolerance')
          AND (al.line_id IS NOT NULL OR ae.entry_id IS NOT NULL)
    ), ev AS (
        INSERT INTO recon.exception_events (exception_id, action, how, match_group_id, actor)
        SELECT d.exception_id, 'resolved', 'matched_by_run', d.group_id, v_operator FROM done d
        RETURNING id, exception_id, at
    ), up AS (
        UPDATE recon.exception_state x SET state = 'resolved', last_event_id = ev.id, updated_at = ev.at
        FROM ev WHERE x.exception_id = ev.exception_id
        RETURNING 1
    )
    SELECT count(*) INTO n_resolved FROM up;
    v_ms := v_ms || recon.elapsed_ms('resolve', v_step);
    v_step := clock_timestamp();

    RETURN jsonb_build_object('bank_account', b.identifier, 'currency', b.currency,
                              'exact', n_exact, 'tolerance', n_tolerance, 'one_to_many', n_one_to_many,
                              'many_to_one', n_many_to_one, 'auto_confirmed', n_auto,
                              'proposed', n_exact + n_tolerance + n_one_to_many + n_many_to_one - n_auto,
                              'exceptions_raised', n_raised, 'exceptions_resolved', n_resolved,
                              'elapsed_ms', v_ms);
END
$$;

-- A matching run over every bank account mapped to the ledger account (one run each).
-- With p_dry_run the same work is done and undone: the counts say what a run would do and
-- nothing is written (not even the audit event).
CREATE FUNCTION recon.match(p_account text, p_dry_run boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    a ledger.accounts;
    b recon.bank_accounts;
    v_run bigint;
    v_one jsonb;
    v_all jsonb := '[]';
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    SELECT * INTO a FROM ledger.accounts x WHERE x.code = p_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No account with code "%"', left(p_account, 64) USING ERRCODE = 'LG018';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM recon.bank_accounts x WHERE x.account_id = a.id) THEN
        RAISE EXCEPTION 'No bank account is mapped to %: map one with `ledgerctl recon map` first', a.code
            USING ERRCODE = 'LG082';
    END IF;
    BEGIN
        FOR b IN SELECT * FROM recon.bank_accounts x WHERE x.account_id = a.id ORDER BY x.id LOOP
            PERFORM pg_advisory_xact_lock(hashtext('recon.account:' || b.id));
            INSERT INTO recon.runs (bank_account_id, started_by) VALUES (b.id, audit.current_operator()) RETURNING id INTO v_run;
            v_one := recon.match_account(b, v_run);
            v_all := v_all || jsonb_build_array(v_one || jsonb_build_object('run', v_run));
            PERFORM audit.record('recon.matched', 'bank_account', b.identifier, v_one || jsonb_build_object('run', v_run));
        END LOOP;
        IF p_dry_run THEN
            RAISE EXCEPTION 'dry run' USING ERRCODE = 'LG089';
        END IF;
    EXCEPTION WHEN SQLSTATE 'LG089' THEN
        NULL; -- everything of the dry run is undone; its counts remain
    END;
    RETURN jsonb_build_object('account', a.code, 'dry_run', p_dry_run, 'runs', v_all);
END
$$;

-------------------------------------------------------------------------------------------
-- Decisions on matches (immutable groups, appended decisions) and manual matches.
-------------------------------------------------------------------------------------------
-- Resolves the open exceptions on these lines and entries (they are matched now).
CREATE FUNCTION recon.resolve_matched(p_group bigint, p_how text) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, recon, pg_temp
AS $$
DECLARE
    g recon.match_groups;
    n integer;
BEGIN
    SELECT * INTO g FROM recon.match_groups x WHERE x.id = p_group;
    WITH done AS (
        SELECT x.exception_id FROM recon.exception_state x JOIN recon.exceptions e ON e.id = x.exception_id
        WHERE x.state IN ('open', 'assigned')
          AND e.type IN ('missing_in_ledger', 'missing_in_statement', 'amount_mismatch', 'date_out_of_tolerance')
          AND (e.line_id = ANY (g.line_ids) OR e.entry_id = ANY (g.entry_ids))
        FOR UPDATE OF x
    ), ev AS (
        INSERT INTO recon.exception_events (exception_id, action, how, match_group_id, actor)
        SELECT d.exception_id, 'resolved', p_how, p_group, audit.current_operator() FROM done d
        RETURNING id, exception_id, at
    ), up AS (
        UPDATE recon.exception_state x SET state = 'resolved', last_event_id = ev.id, updated_at = ev.at
        FROM ev WHERE x.exception_id = ev.exception_id
        RETURNING 1
    )
    SELECT count(*) INTO n FROM up;
    RETURN n;
END
$$;

-- Confirms or rejects a proposed group, or revokes (unmatches) a confirmed one. A note is
-- required to reject or revoke. A rejected or revoked group is never proposed again.
CREATE FUNCTION recon.decide_match(p_group bigint, p_decision text, p_note text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    g recon.match_groups;
    v_confirmed boolean;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    SELECT * INTO g FROM recon.match_groups x WHERE x.id = p_group;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No match group %', p_group USING ERRCODE = 'LG083';
    END IF;
    IF p_decision NOT IN ('confirmed', 'rejected', 'revoked') THEN
        RAISE EXCEPTION 'A match is confirmed, rejected or revoked, not "%"', left(p_decision, 16) USING ERRCODE = '22023';
    END IF;
    IF p_decision <> 'confirmed' THEN
        PERFORM ledger.check_note(p_note, true, 'saying why the match is ' || p_decision);
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('recon.account:' || g.bank_account_id));
    SELECT a.confirmed INTO v_confirmed FROM recon.active_lines a WHERE a.line_id = g.line_ids[1] AND a.group_id = g.id;
    IF v_confirmed IS NULL THEN
        RAISE EXCEPTION 'Match group % no longer stands (it was rejected or revoked)', g.id USING ERRCODE = 'LG083';
    ELSIF p_decision IN ('confirmed', 'rejected') AND v_confirmed THEN
        RAISE EXCEPTION 'Match group % is already confirmed: revoke it to unmatch', g.id USING ERRCODE = 'LG083';
    ELSIF p_decision = 'revoked' AND NOT v_confirmed THEN
        RAISE EXCEPTION 'Match group % is only proposed: reject it instead', g.id USING ERRCODE = 'LG083';
    END IF;
    INSERT INTO recon.match_decisions (group_id, decision, note, decided_by)
    VALUES (g.id, p_decision, nullif(btrim(p_note), ''), audit.current_operator());
    IF p_decision = 'confirmed' THEN
        UPDATE recon.active_lines SET confirmed = true WHERE line_id = ANY (g.line_ids) AND group_id = g.id;
        UPDATE recon.active_entries SET confirmed = true WHERE entry_id = ANY (g.entry_ids) AND group_id = g.id;
        PERFORM recon.resolve_matched(g.id, 'manual_match');
    ELSE
        DELETE FROM recon.active_lines WHERE line_id = ANY (g.line_ids) AND group_id = g.id;
        DELETE FROM recon.active_entries WHERE entry_id = ANY (g.entry_ids) AND group_id = g.id;
    END IF;
    PERFORM audit.record('recon.match_' || p_decision, 'match_group', g.id::text,
                         jsonb_build_object('rule', g.rule, 'score', g.score, 'lines', to_jsonb(g.line_ids),
                                            'entries', to_jsonb(g.entry_ids), 'note', left(p_note, 200)));
END
$$;

-- An operator's match of any lines with any entries of the mapped account: none of them in a
-- standing group, the sums agreeing within the account's tolerance. Confirmed at once;
-- resolves the open exceptions on them. Returns the group.
CREATE FUNCTION recon.manual_match(p_line_ids bigint[], p_entry_ids bigint[], p_note text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    b recon.bank_accounts;
    v_lines bigint;
    v_entries bigint;
    v_tol bigint;
    v_taken text;
    v_group bigint;
    v_exponent integer;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    PERFORM ledger.check_note(p_note, true, 'saying why these lines and entries match');
    IF coalesce(cardinality(p_line_ids), 0) = 0 OR coalesce(cardinality(p_entry_ids), 0) = 0
       OR cardinality(p_line_ids) + cardinality(p_entry_ids) > 200 THEN
        RAISE EXCEPTION 'A manual match joins at least one statement line with at least one ledger entry (at most 200 in all)'
            USING ERRCODE = 'LG083';
    END IF;
    IF (SELECT count(DISTINCT l.bank_account_id) FROM recon.lines l WHERE l.id = ANY (p_line_ids)) <> 1
       OR (SELECT count(*) FROM recon.lines l WHERE l.id = ANY (p_line_ids)) <> cardinality(p_line_ids) THEN
        RAISE EXCEPTION 'The lines of a manual match must exist, be distinct and come from one bank account'
            USING ERRCODE = 'LG083';
    END IF;
    SELECT x.* INTO b FROM recon.bank_accounts x WHERE x.id = (SELECT l.bank_account_id FROM recon.lines l
                                                                WHERE l.id = p_line_ids[1]);
    IF (SELECT count(*) FROM ledger.entries e WHERE e.id = ANY (p_entry_ids) AND e.account_id = b.account_id)
       <> cardinality(p_entry_ids) THEN
        RAISE EXCEPTION 'The entries of a manual match must exist, be distinct and be entries of %',
            (SELECT code FROM ledger.accounts WHERE id = b.account_id) USING ERRCODE = 'LG083';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('recon.account:' || b.id));
    SELECT string_agg(x, ', ') INTO v_taken FROM (
        SELECT format('line %s (group %s)', a.line_id, a.group_id) AS x FROM recon.active_lines a WHERE a.line_id = ANY (p_line_ids)
        UNION ALL
        SELECT format('entry %s (group %s)', a.entry_id, a.group_id) FROM recon.active_entries a WHERE a.entry_id = ANY (p_entry_ids)
    ) t;
    IF v_taken IS NOT NULL THEN
        RAISE EXCEPTION 'Already matched: %; revoke or reject that match first', v_taken USING ERRCODE = 'LG083';
    END IF;
    SELECT sum(l.amount_minor)::bigint INTO v_lines FROM recon.lines l WHERE l.id = ANY (p_line_ids);
    SELECT sum(e.amount)::bigint INTO v_entries FROM ledger.entries e WHERE e.id = ANY (p_entry_ids);
    v_tol := greatest(b.amount_tolerance_minor, abs(v_lines) * b.amount_tolerance_bp / 10000);
    SELECT c.exponent INTO v_exponent FROM ledger.currencies c WHERE c.code = b.currency;
    IF abs(v_lines - v_entries) > v_tol THEN
        RAISE EXCEPTION 'The lines add up to % % and the entries to % %: they differ by more than the tolerance (% %)',
            ledger.format_minor(v_lines, v_exponent::smallint), b.currency, ledger.format_minor(v_entries, v_exponent::smallint),
            b.currency, ledger.format_minor(v_tol, v_exponent::smallint), b.currency USING ERRCODE = 'LG083';
    END IF;
    INSERT INTO recon.match_groups (bank_account_id, rule, score, line_ids, entry_ids, lines_minor, entries_minor, created_by)
    VALUES (b.id, 'manual', 100, p_line_ids, p_entry_ids, v_lines, v_entries, audit.current_operator())
    RETURNING id INTO v_group;
    INSERT INTO recon.match_decisions (group_id, decision, note, decided_by)
    VALUES (v_group, 'confirmed', btrim(p_note), audit.current_operator());
    INSERT INTO recon.active_lines (line_id, group_id, confirmed) SELECT unnest(p_line_ids), v_group, true;
    INSERT INTO recon.active_entries (entry_id, group_id, confirmed) SELECT unnest(p_entry_ids), v_group, true;
    PERFORM recon.resolve_matched(v_group, 'manual_match');
    PERFORM audit.record('recon.match_manual', 'match_group', v_group::text,
                         jsonb_build_object('lines', to_jsonb(p_line_ids), 'entries', to_jsonb(p_entry_ids),
                                            'lines_minor', v_lines, 'entries_minor', v_entries, 'note', left(p_note, 200)));
    RETURN v_group;
END
$$;

-------------------------------------------------------------------------------------------
-- The exception workflow: open -> assigned -> resolved or accepted; reopen. Each step names
-- the last event the caller saw (NULL: none): when another operator acted since, the step is
-- refused (LG084) and says who did what.
-------------------------------------------------------------------------------------------
CREATE FUNCTION recon.exception_step(p_id bigint, p_expected bigint, p_allowed text[]) RETURNS recon.exception_state
LANGUAGE plpgsql
SET search_path = pg_catalog, recon, pg_temp
AS $$
DECLARE
    x recon.exception_state;
    v_actor text;
    v_action text;
BEGIN
    SELECT * INTO x FROM recon.exception_state s WHERE s.exception_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No reconciliation exception %', p_id USING ERRCODE = 'LG084';
    END IF;
    IF x.last_event_id IS DISTINCT FROM p_expected THEN
        SELECT e.actor, e.action INTO v_actor, v_action FROM recon.exception_events e WHERE e.id = x.last_event_id;
        RAISE EXCEPTION 'Exception % changed meanwhile: % by % (now %); reload it and decide again',
            p_id, coalesce(v_action, 'raised'), coalesce(v_actor, 'the matcher'), x.state USING ERRCODE = 'LG084';
    END IF;
    IF NOT x.state = ANY (p_allowed) THEN
        RAISE EXCEPTION 'Exception % is %: this step needs it %', p_id, x.state, array_to_string(p_allowed, ' or ')
            USING ERRCODE = 'LG084';
    END IF;
    RETURN x;
END
$$;

CREATE FUNCTION recon.exception_event(p_id bigint, p_state text, p_action text, p_how text, p_assignee text,
                                      p_reason text, p_note text, p_group bigint, p_request bigint) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, recon, pg_temp
AS $$
DECLARE
    v_event bigint;
    v_at timestamptz;
BEGIN
    INSERT INTO recon.exception_events (exception_id, action, how, assignee, reason_code, note, match_group_id,
                                        reversal_request_id, actor)
    VALUES (p_id, p_action, p_how, p_assignee, p_reason, nullif(btrim(p_note), ''), p_group, p_request,
            audit.current_operator())
    RETURNING id, at INTO v_event, v_at;
    UPDATE recon.exception_state
    SET state = p_state, last_event_id = v_event, updated_at = v_at,
        assignee = CASE WHEN p_state = 'open' THEN NULL WHEN p_action = 'assigned' THEN p_assignee ELSE assignee END
    WHERE exception_id = p_id;
    PERFORM audit.record('recon.exception_' || p_action, 'recon_exception', p_id::text,
                         jsonb_strip_nulls(jsonb_build_object('how', p_how, 'assignee', p_assignee, 'reason', p_reason,
                                                              'note', left(p_note, 200), 'match_group', p_group,
                                                              'reversal_request', p_request)));
    RETURN v_event;
END
$$;

-- Assigns an exception (to the caller when p_assignee is NULL). Returns the new event's id.
CREATE FUNCTION recon.assign_exception(p_id bigint, p_assignee text, p_expected bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_assignee text := coalesce(nullif(btrim(p_assignee), ''), audit.current_operator());
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    IF NOT EXISTS (SELECT 1 FROM access.operators o WHERE o.name = v_assignee AND o.disabled_at IS NULL) THEN
        RAISE EXCEPTION 'No enabled operator "%" to assign to', left(v_assignee, 63) USING ERRCODE = 'LG084';
    END IF;
    PERFORM recon.exception_step(p_id, p_expected, ARRAY['open', 'assigned']);
    RETURN recon.exception_event(p_id, 'assigned', 'assigned', NULL, v_assignee, NULL, NULL, NULL, NULL);
END
$$;

-- Accepts an exception without a match, with a reason code and a note (required for OTHER).
CREATE FUNCTION recon.accept_exception(p_id bigint, p_reason text, p_note text, p_expected bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    IF NOT EXISTS (SELECT 1 FROM recon.accept_reasons r WHERE r.code = p_reason) THEN
        RAISE EXCEPTION 'Accept with one of the reason codes (%), not "%"',
            (SELECT string_agg(code, ', ' ORDER BY code) FROM recon.accept_reasons), left(p_reason, 32) USING ERRCODE = 'LG085';
    END IF;
    PERFORM ledger.check_note(p_note, p_reason = 'OTHER', 'explaining the other reason');
    PERFORM recon.exception_step(p_id, p_expected, ARRAY['open', 'assigned']);
    RETURN recon.exception_event(p_id, 'accepted', 'accepted', NULL, NULL, p_reason, p_note, NULL, NULL);
END
$$;

-- Reopens a resolved or accepted exception, with a note.
CREATE FUNCTION recon.reopen_exception(p_id bigint, p_note text, p_expected bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    PERFORM ledger.check_note(p_note, true, 'saying why the exception is reopened');
    PERFORM recon.exception_step(p_id, p_expected, ARRAY['resolved', 'accepted']);
    RETURN recon.exception_event(p_id, 'open', 'reopened', NULL, NULL, NULL, p_note, NULL, NULL);
END
$$;

-- Resolves an exception by a correcting posting requested through the reversal workflow
-- (Step 7): the request must be for the transaction of the exception's ledger entry. The
-- link is kept both ways (recon.exceptions_of_request finds it from the request).
CREATE FUNCTION recon.resolve_by_correction(p_id bigint, p_request bigint, p_note text, p_expected bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    e recon.exceptions;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    SELECT * INTO e FROM recon.exceptions x WHERE x.id = p_id;
    IF e.entry_id IS NULL THEN
        RAISE EXCEPTION 'Exception % has no ledger entry to correct: match it once the missing posting is made, or accept it',
            p_id USING ERRCODE = 'LG085';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ledger.reversal_requests r JOIN ledger.entries x ON x.transaction_id = r.transaction_id
                   WHERE r.id = p_request AND x.id = e.entry_id) THEN
        RAISE EXCEPTION 'Reversal request % is not for the transaction of entry % (exception %)', p_request, e.entry_id, p_id
            USING ERRCODE = 'LG085';
    END IF;
    PERFORM recon.exception_step(p_id, p_expected, ARRAY['open', 'assigned']);
    RETURN recon.exception_event(p_id, 'resolved', 'resolved', 'correction', NULL, NULL, p_note, NULL, p_request);
END
$$;

-- The last event of an exception (NULL: none yet), for callers that act on its current state.
CREATE FUNCTION recon.exception_head(p_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    SELECT s.last_event_id INTO v FROM recon.exception_state s WHERE s.exception_id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No reconciliation exception %', p_id USING ERRCODE = 'LG084';
    END IF;
    RETURN v;
END
$$;

CREATE FUNCTION recon.exceptions_of_request(p_request bigint) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    RETURN QUERY SELECT DISTINCT e.exception_id FROM recon.exception_events e WHERE e.reversal_request_id = p_request
                 ORDER BY 1;
END
$$;

-- Bulk steps: each exception in its own subtransaction; one result row per id.
CREATE FUNCTION recon.bulk_exceptions(p_ids bigint[], p_action text, p_assignee text, p_reason text, p_note text)
RETURNS TABLE (exception_id bigint, ok boolean, message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_id bigint;
    v_last bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    IF p_action NOT IN ('assign', 'accept') OR coalesce(cardinality(p_ids), 0) NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'Bulk steps assign or accept 1 to 1000 exceptions' USING ERRCODE = '22023';
    END IF;
    FOREACH v_id IN ARRAY p_ids LOOP
        exception_id := v_id;
        BEGIN
            SELECT s.last_event_id INTO v_last FROM recon.exception_state s WHERE s.exception_id = v_id;
            IF p_action = 'assign' THEN
                PERFORM recon.assign_exception(v_id, p_assignee, v_last);
            ELSE
                PERFORM recon.accept_exception(v_id, p_reason, p_note, v_last);
            END IF;
            ok := true;
            message := NULL;
        EXCEPTION WHEN OTHERS THEN
            ok := false;
            message := SQLERRM;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;

-------------------------------------------------------------------------------------------
-- The queue, its aging and the summary per mapped account.
-------------------------------------------------------------------------------------------
CREATE FUNCTION recon.exception_queue(p_types text[], p_account text, p_states text[], p_assignee text,
                                      p_min_amount bigint, p_max_amount bigint, p_min_age interval,
                                      p_overdue boolean, p_sort text, p_descending boolean,
                                      p_offset integer, p_limit integer)
RETURNS TABLE (id bigint, type text, state text, assignee text, account text, bank_account text, currency text,
               exponent integer, amount_minor bigint, difference_minor bigint, raised_at timestamptz, due_at timestamptz,
               overdue boolean, line_id bigint, value_date date, bank_reference text, counterparty text,
               remittance text, entry_id bigint, transaction_id bigint, entry_date date, external_ref text,
               statement_id bigint, last_event_id bigint, detail jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
SET jit = off
AS $$
DECLARE
    v_dir text := CASE WHEN p_descending THEN ' DESC' ELSE '' END;
    v_order text;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    v_order := CASE coalesce(p_sort, 'age')
        WHEN 'age' THEN format('e.raised_at%1$s, e.id%1$s', v_dir)
        WHEN 'due' THEN format('e.due_at%1$s, e.id%1$s', v_dir)
        WHEN 'amount' THEN format('abs(e.amount_minor)%1$s, e.id%1$s', v_dir)
        WHEN 'type' THEN format('e.type%1$s, e.raised_at%1$s, e.id%1$s', v_dir)
        WHEN 'id' THEN format('e.id%1$s', v_dir)
    END;
    IF v_order IS NULL THEN
        RAISE EXCEPTION 'Sort by age, due, amount, type or id, not "%"', left(p_sort, 32) USING ERRCODE = '22023';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'A page is an offset >= 0 and 1 to 10000 rows' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY EXECUTE
        'WITH page AS (SELECT e.*, s.state, s.assignee, s.last_event_id FROM recon.exceptions e'
        '              JOIN recon.exception_state s ON s.exception_id = e.id'
        '              JOIN recon.bank_accounts b ON b.id = e.bank_account_id'
        '              JOIN ledger.accounts a ON a.id = b.account_id'
        '              WHERE s.state = ANY (coalesce($3, ARRAY[''open'', ''assigned'']))'
        '                AND ($1 IS NULL OR e.type = ANY ($1)) AND ($2 IS NULL OR a.code = $2)'
        '                AND ($4 IS NULL OR s.assignee = $4)'
        '                AND ($5 IS NULL OR abs(e.amount_minor) >= $5) AND ($6 IS NULL OR abs(e.amount_minor) <= $6)'
        '                AND ($7 IS NULL OR e.raised_at <= clock_timestamp() - $7)'
        '                AND ($8 IS NULL OR (e.due_at < clock_timestamp()) = $8)'
        '              ORDER BY ' || v_order || ' OFFSET $9 LIMIT $10)'
        ' SELECT e.id, e.type, e.state, e.assignee, a.code, b.identifier, b.currency::text, c.exponent::integer,'
        '        e.amount_minor, e.difference_minor, e.raised_at, e.due_at, e.due_at < clock_timestamp(),'
        '        l.id, l.value_date, l.bank_reference, l.counterparty_name, l.remittance,'
        '        n.id, n.transaction_id, (n.effective_at AT TIME ZONE ''UTC'')::date, t.external_ref,'
        '        e.statement_id, e.last_event_id, e.detail'
        ' FROM page e JOIN recon.bank_accounts b ON b.id = e.bank_account_id'
        ' JOIN ledger.accounts a ON a.id = b.account_id JOIN ledger.currencies c ON c.code = b.currency'
        ' LEFT JOIN recon.lines l ON l.id = e.line_id'
        ' LEFT JOIN ledger.entries n ON n.id = e.entry_id LEFT JOIN ledger.transactions t ON t.id = n.transaction_id'
        ' ORDER BY ' || v_order
    USING p_types, p_account, p_states, nullif(p_assignee, ''), p_min_amount, p_max_amount, p_min_age, p_overdue,
          p_offset, p_limit;
END
$$;

CREATE FUNCTION recon.exception_count(p_types text[], p_account text, p_states text[], p_assignee text,
                                      p_min_amount bigint, p_max_amount bigint, p_min_age interval, p_overdue boolean)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    SELECT count(*) INTO n
    FROM recon.exceptions e JOIN recon.exception_state s ON s.exception_id = e.id
    JOIN recon.bank_accounts b ON b.id = e.bank_account_id JOIN ledger.accounts a ON a.id = b.account_id
    WHERE s.state = ANY (coalesce(p_states, ARRAY['open', 'assigned']))
      AND (p_types IS NULL OR e.type = ANY (p_types)) AND (p_account IS NULL OR a.code = p_account)
      AND (nullif(p_assignee, '') IS NULL OR s.assignee = p_assignee)
      AND (p_min_amount IS NULL OR abs(e.amount_minor) >= p_min_amount)
      AND (p_max_amount IS NULL OR abs(e.amount_minor) <= p_max_amount)
      AND (p_min_age IS NULL OR e.raised_at <= clock_timestamp() - p_min_age)
      AND (p_overdue IS NULL OR (e.due_at < clock_timestamp()) = p_overdue);
    RETURN n;
END
$$;

-- Open exceptions by type and age bucket (the console's aging chart).
CREATE FUNCTION recon.exception_aging(p_account text DEFAULT NULL)
RETURNS TABLE (type text, bucket text, open bigint, overdue bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    RETURN QUERY
    SELECT e.type,
           CASE WHEN age < interval '3 days' THEN '0-2 days' WHEN age < interval '8 days' THEN '3-7 days'
                WHEN age < interval '31 days' THEN '8-30 days' ELSE 'over 30 days' END,
           count(*), count(*) FILTER (WHERE e.due_at < clock_timestamp())
    FROM recon.exceptions e JOIN recon.exception_state s ON s.exception_id = e.id
    JOIN recon.bank_accounts b ON b.id = e.bank_account_id JOIN ledger.accounts a ON a.id = b.account_id
    CROSS JOIN LATERAL (SELECT clock_timestamp() - e.raised_at AS age) x
    WHERE s.state IN ('open', 'assigned') AND (p_account IS NULL OR a.code = p_account)
    GROUP BY 1, 2 ORDER BY 1, 2;
END
$$;

-- Per mapped bank account: statements and lines, matched lines, the last statement and
-- whether its closing balance agrees with the ledger's, open and overdue exceptions by type.
CREATE FUNCTION recon.status(p_account text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
            'bank_account', b.identifier, 'currency', b.currency, 'account', a.code, 'exponent', c.exponent,
            'amount_tolerance_minor', b.amount_tolerance_minor, 'amount_tolerance_bp', b.amount_tolerance_bp,
            'date_window_days', b.date_window_days,
            'statements', (SELECT count(*) FROM recon.statements s WHERE s.bank_account_id = b.id),
            'lines', (SELECT count(*) FROM recon.lines l WHERE l.bank_account_id = b.id),
            'matched_lines', (SELECT count(*) FROM recon.active_lines al JOIN recon.lines l ON l.id = al.line_id
                              WHERE l.bank_account_id = b.id AND al.confirmed),
            'proposed_lines', (SELECT count(*) FROM recon.active_lines al JOIN recon.lines l ON l.id = al.line_id
                               WHERE l.bank_account_id = b.id AND NOT al.confirmed),
            'last_statement', (SELECT jsonb_build_object('statement_id', s.statement_id, 'closing_date', s.closing_date,
                                                         'closing', ledger.format_minor(s.closing_minor, c.exponent),
                                                         'ledger', ledger.format_minor(
                                                             ledger.balance_minor(a.id, (s.closing_date + 1)::timestamptz
                                                                                      - interval '1 microsecond', clock_timestamp()),
                                                             c.exponent),
                                                         'agrees', s.closing_minor = ledger.balance_minor(
                                                             a.id, (s.closing_date + 1)::timestamptz - interval '1 microsecond',
                                                             clock_timestamp()))
                               FROM recon.statements s WHERE s.bank_account_id = b.id AND s.closing_minor IS NOT NULL
                               ORDER BY s.closing_date DESC NULLS LAST, s.id DESC LIMIT 1),
            -- the last day on which a statement's closing balance was what the ledger holds
            'last_agreement', (SELECT max(s.closing_date) FROM recon.statements s
                               WHERE s.bank_account_id = b.id AND s.closing_minor IS NOT NULL
                                 AND s.closing_minor = ledger.balance_minor(
                                         a.id, (s.closing_date + 1)::timestamptz - interval '1 microsecond',
                                         clock_timestamp())),
            'open_exceptions', (SELECT coalesce(jsonb_object_agg(t.type, t.n), '{}') FROM (
                                    SELECT e.type, count(*) AS n FROM recon.exceptions e
                                    JOIN recon.exception_state x ON x.exception_id = e.id
                                    WHERE e.bank_account_id = b.id AND x.state IN ('open', 'assigned') GROUP BY e.type) t),
            'overdue_exceptions', (SELECT count(*) FROM recon.exceptions e JOIN recon.exception_state x ON x.exception_id = e.id
                                   WHERE e.bank_account_id = b.id AND x.state IN ('open', 'assigned')
                                     AND e.due_at < clock_timestamp()))
            ORDER BY a.code, b.identifier)
        FROM recon.bank_accounts b JOIN ledger.accounts a ON a.id = b.account_id
        JOIN ledger.currencies c ON c.code = b.currency
        WHERE p_account IS NULL OR a.code = p_account), '[]');
END
$$;

-------------------------------------------------------------------------------------------
-- The side-by-side view: candidates for a line or an entry; proposals waiting for an
-- operator; the account's rules; CSV profiles.
-------------------------------------------------------------------------------------------
-- Unmatched entries of the mapped account near a line (within twice the window), best first,
-- with their differences and score.
CREATE FUNCTION recon.line_candidates(p_line bigint, p_limit integer DEFAULT 20)
RETURNS TABLE (entry_id bigint, transaction_id bigint, effective_date date, amount_minor bigint, external_ref text,
               description text, amount_difference bigint, days integer, score integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    l recon.lines;
    b recon.bank_accounts;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    SELECT * INTO l FROM recon.lines x WHERE x.id = p_line;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No statement line %', p_line USING ERRCODE = 'LG083';
    END IF;
    SELECT * INTO b FROM recon.bank_accounts x WHERE x.id = l.bank_account_id;
    RETURN QUERY
    SELECT e.id, e.transaction_id, (e.effective_at AT TIME ZONE 'UTC')::date, e.amount, coalesce(t.external_ref, ''),
           coalesce(t.description, ''), e.amount - l.amount_minor, (e.effective_at AT TIME ZONE 'UTC')::date - l.value_date,
           recon.score(e.amount - l.amount_minor,
                       greatest(b.amount_tolerance_minor, abs(l.amount_minor) * b.amount_tolerance_bp / 10000,
                                abs(e.amount - l.amount_minor)),
                       (e.effective_at AT TIME ZONE 'UTC')::date - l.value_date, greatest(b.date_window_days, 1),
                       CASE WHEN t.external_ref <> '' AND t.external_ref IN (l.bank_reference, l.end_to_end_id) THEN 20
                            WHEN length(t.external_ref) >= 4 AND strpos(l.remittance, t.external_ref) > 0 THEN 10 ELSE 0 END,
                       l.counterparty_name <> '' AND strpos(lower(t.description), lower(l.counterparty_name)) > 0)
    FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
    WHERE e.account_id = b.account_id
      AND e.effective_at >= (l.value_date - 2 * b.date_window_days - 1)::timestamptz
      AND e.effective_at < (l.value_date + 2 * b.date_window_days + 2)::timestamptz
      AND NOT EXISTS (SELECT 1 FROM recon.active_entries a WHERE a.entry_id = e.id)
    ORDER BY 9 DESC, abs(e.amount - l.amount_minor), e.id
    LIMIT least(greatest(coalesce(p_limit, 20), 1), 200);
END
$$;

-- Unmatched lines of the mapped bank accounts near an entry, best first.
CREATE FUNCTION recon.entry_candidates(p_entry bigint, p_limit integer DEFAULT 20)
RETURNS TABLE (line_id bigint, value_date date, amount_minor bigint, bank_reference text, counterparty text,
               remittance text, amount_difference bigint, days integer, score integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    e ledger.entries;
    t ledger.transactions;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    SELECT * INTO e FROM ledger.entries x WHERE x.id = p_entry;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No ledger entry %', p_entry USING ERRCODE = 'LG083';
    END IF;
    SELECT * INTO t FROM ledger.transactions x WHERE x.id = e.transaction_id;
    RETURN QUERY
    SELECT l.id, l.value_date, l.amount_minor, l.bank_reference, l.counterparty_name, l.remittance,
           e.amount - l.amount_minor, (e.effective_at AT TIME ZONE 'UTC')::date - l.value_date,
           recon.score(e.amount - l.amount_minor,
                       greatest(b.amount_tolerance_minor, abs(l.amount_minor) * b.amount_tolerance_bp / 10000,
                                abs(e.amount - l.amount_minor)),
                       (e.effective_at AT TIME ZONE 'UTC')::date - l.value_date, greatest(b.date_window_days, 1),
                       CASE WHEN t.external_ref <> '' AND t.external_ref IN (l.bank_reference, l.end_to_end_id) THEN 20
                            WHEN length(t.external_ref) >= 4 AND strpos(l.remittance, t.external_ref) > 0 THEN 10 ELSE 0 END,
                       l.counterparty_name <> '' AND strpos(lower(t.description), lower(l.counterparty_name)) > 0)
    FROM recon.bank_accounts b JOIN recon.lines l ON l.bank_account_id = b.id
    WHERE b.account_id = e.account_id
      AND l.value_date BETWEEN (e.effective_at AT TIME ZONE 'UTC')::date - 2 * b.date_window_days - 1
                           AND (e.effective_at AT TIME ZONE 'UTC')::date + 2 * b.date_window_days + 1
      AND NOT EXISTS (SELECT 1 FROM recon.active_lines a WHERE a.line_id = l.id)
    ORDER BY 9 DESC, abs(e.amount - l.amount_minor), l.id
    LIMIT least(greatest(coalesce(p_limit, 20), 1), 200);
END
$$;

-- Groups proposed by runs and waiting for an operator, oldest first.
CREATE FUNCTION recon.proposed_matches(p_account text, p_offset integer, p_limit integer)
RETURNS TABLE (group_id bigint, rule text, score integer, bank_account text, account text, currency text,
               exponent integer, line_ids bigint[], entry_ids bigint[], lines_minor bigint, entries_minor bigint,
               created_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    IF p_offset IS NULL OR p_offset < 0 OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'A page is an offset >= 0 and 1 to 10000 rows' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT g.id, g.rule, g.score, b.identifier, a.code, b.currency::text, c.exponent::integer, g.line_ids, g.entry_ids,
           g.lines_minor, g.entries_minor, g.created_at
    FROM recon.match_groups g
    JOIN recon.bank_accounts b ON b.id = g.bank_account_id JOIN ledger.accounts a ON a.id = b.account_id
    JOIN ledger.currencies c ON c.code = b.currency
    WHERE (p_account IS NULL OR a.code = p_account)
      AND EXISTS (SELECT 1 FROM recon.active_lines x WHERE x.line_id = g.line_ids[1] AND x.group_id = g.id
                  AND NOT x.confirmed)
    ORDER BY g.id OFFSET p_offset LIMIT p_limit;
END
$$;

-- Changes a mapped bank account's matching rules (only the keys given). Audited.
CREATE FUNCTION recon.set_rules(p_identifier text, p_currency text, p_rules jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    b recon.bank_accounts;
    v_key text;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    IF NOT pg_has_role(session_user, 'console_supervisor', 'MEMBER') THEN
        RAISE EXCEPTION 'Matching rules are set by supervisors' USING ERRCODE = '42501';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(p_rules) LOOP
        IF v_key NOT IN ('amount_tolerance_minor', 'amount_tolerance_bp', 'date_window_days', 'max_group_size',
                         'auto_confirm_score', 'missing_after_days', 'reversal_flips_sign') THEN
            RAISE EXCEPTION 'Unknown matching rule "%"', left(v_key, 40) USING ERRCODE = 'LG080';
        END IF;
    END LOOP;
    UPDATE recon.bank_accounts x SET
        amount_tolerance_minor = coalesce((p_rules->>'amount_tolerance_minor')::bigint, x.amount_tolerance_minor),
        amount_tolerance_bp = coalesce((p_rules->>'amount_tolerance_bp')::integer, x.amount_tolerance_bp),
        date_window_days = coalesce((p_rules->>'date_window_days')::integer, x.date_window_days),
        max_group_size = coalesce((p_rules->>'max_group_size')::integer, x.max_group_size),
        auto_confirm_score = coalesce((p_rules->>'auto_confirm_score')::integer, x.auto_confirm_score),
        missing_after_days = coalesce((p_rules->>'missing_after_days')::integer, x.missing_after_days),
        reversal_flips_sign = coalesce((p_rules->>'reversal_flips_sign')::boolean, x.reversal_flips_sign)
    WHERE x.identifier = recon.normalize_identifier(p_identifier) AND x.currency = upper(p_currency)
    RETURNING * INTO b;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Bank account % (%) is not mapped', recon.normalize_identifier(p_identifier), upper(p_currency)
            USING ERRCODE = 'LG080';
    END IF;
    PERFORM audit.record('recon.rules_changed', 'bank_account', b.identifier, p_rules || jsonb_build_object('currency', b.currency));
    RETURN to_jsonb(b) - 'id';
END
$$;

-- The reason codes an exception may be accepted with.
CREATE FUNCTION recon.accept_reason_codes() RETURNS TABLE (code text, description text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    RETURN QUERY SELECT r.code, r.description FROM recon.accept_reasons r ORDER BY r.code;
END
$$;

-- CSV profiles: saving appends a version; reading gives the latest.
CREATE FUNCTION recon.save_csv_profile(p_name text, p_definition jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v integer;
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    PERFORM pg_advisory_xact_lock(hashtext('recon.profile:' || p_name));
    SELECT coalesce(max(version), 0) + 1 INTO v FROM recon.csv_profiles WHERE name = p_name;
    INSERT INTO recon.csv_profiles (name, version, definition, created_by)
    VALUES (p_name, v, p_definition, audit.current_operator());
    PERFORM audit.record('recon.csv_profile_saved', 'csv_profile', p_name, jsonb_build_object('version', v));
    RETURN v;
END
$$;

CREATE FUNCTION recon.csv_profiles()
RETURNS TABLE (name text, version integer, definition jsonb, created_by text, created_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    RETURN QUERY SELECT DISTINCT ON (p.name) p.name, p.version, p.definition, p.created_by, p.created_at
                 FROM recon.csv_profiles p ORDER BY p.name, p.version DESC;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA recon FROM PUBLIC;
GRANT EXECUTE ON FUNCTION recon.map_account(text, text, text), recon.lookup_accounts(text[], text[]),
                          recon.import_begin(text, text, text, bigint), recon.import_statement(bigint, bigint, jsonb),
                          recon.import_lines(bigint, integer, bigint[], date[], date[], boolean[], text[], text[], text[],
                                             text[], text[], text[], text[], text[], text[], text[]),
                          recon.import_finish(bigint), recon.match(text, boolean),
                          recon.decide_match(bigint, text, text), recon.manual_match(bigint[], bigint[], text),
                          recon.assign_exception(bigint, text, bigint), recon.accept_exception(bigint, text, text, bigint),
                          recon.reopen_exception(bigint, text, bigint),
                          recon.resolve_by_correction(bigint, bigint, text, bigint),
                          recon.bulk_exceptions(bigint[], text, text, text, text),
                          recon.set_rules(text, text, jsonb), recon.save_csv_profile(text, jsonb)
    TO console_operator, console_supervisor;
GRANT EXECUTE ON FUNCTION recon.exception_queue(text[], text, text[], text, bigint, bigint, interval, boolean, text, boolean,
                                                integer, integer),
                          recon.exception_count(text[], text, text[], text, bigint, bigint, interval, boolean),
                          recon.exception_aging(text), recon.status(text), recon.exceptions_of_request(bigint),
                          recon.line_candidates(bigint, integer), recon.entry_candidates(bigint, integer),
                          recon.proposed_matches(text, integer, integer), recon.csv_profiles(),
                          recon.accept_reason_codes(), recon.exception_head(bigint)
    TO console_operator, console_supervisor, console_auditor, console_compliance;

RESET ROLE;

-------------------------------------------------------------------------------------------
-- Due dates: the tiers (an amount in major units of the exception's currency, from which its
-- days apply), replaced as a whole by a supervisor; exceptions raised afterwards take them.
-------------------------------------------------------------------------------------------
SET LOCAL ROLE ledger_owner;

CREATE FUNCTION recon.set_sla_tiers(p_tiers jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(true);
    IF NOT pg_has_role(session_user, 'console_supervisor', 'MEMBER') THEN
        RAISE EXCEPTION 'Due-date tiers are set by supervisors' USING ERRCODE = '42501';
    END IF;
    IF jsonb_typeof(p_tiers) IS DISTINCT FROM 'array' OR jsonb_array_length(p_tiers) NOT BETWEEN 1 AND 20
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_tiers) t
                  WHERE jsonb_typeof(t->'min_amount') IS DISTINCT FROM 'number'
                     OR jsonb_typeof(t->'days') IS DISTINCT FROM 'number'
                     OR (t->>'min_amount')::numeric < 0
                     OR (t->>'days')::numeric NOT BETWEEN 0 AND 365 OR (t->>'days')::numeric % 1 <> 0)
       OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_tiers) t WHERE (t->>'min_amount')::numeric = 0)
       OR (SELECT count(DISTINCT (t->>'min_amount')::numeric) FROM jsonb_array_elements(p_tiers) t)
          <> jsonb_array_length(p_tiers) THEN
        RAISE EXCEPTION 'Due-date tiers are 1 to 20 distinct {"min_amount": >= 0, "days": 0..365}, one of them from 0'
            USING ERRCODE = 'LG086';
    END IF;
    DELETE FROM recon.sla_tiers;
    INSERT INTO recon.sla_tiers (min_amount, days)
    SELECT (t->>'min_amount')::numeric, (t->>'days')::integer FROM jsonb_array_elements(p_tiers) t;
    PERFORM audit.record('recon.sla_tiers_set', 'recon_settings', 'sla_tiers', jsonb_build_object('tiers', p_tiers));
END
$$;

CREATE FUNCTION recon.sla_tier_list() RETURNS TABLE (min_amount numeric, days integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, recon, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    PERFORM access.check_session();
    PERFORM recon.check_role(false);
    RETURN QUERY SELECT t.min_amount, t.days FROM recon.sla_tiers t ORDER BY t.min_amount;
END
$$;

REVOKE EXECUTE ON FUNCTION recon.set_sla_tiers(jsonb), recon.sla_tier_list() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION recon.set_sla_tiers(jsonb) TO console_operator, console_supervisor;
GRANT EXECUTE ON FUNCTION recon.sla_tier_list()
    TO console_operator, console_supervisor, console_auditor, console_compliance;

RESET ROLE;
