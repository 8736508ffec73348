-- Currencies and accounts. Objects are created as ledger_owner so that they, and the
-- SECURITY DEFINER functions below, are owned by a role nobody logs in as.
SET LOCAL ROLE ledger_owner;

-- ISO 4217: the exponent is the number of minor-unit digits (JPY 0, EUR 2, BHD 3).
CREATE TABLE ledger.currencies (
    code     char(3)  PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    exponent smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4),
    name     text     NOT NULL
);

INSERT INTO ledger.currencies (code, exponent, name) VALUES
    ('AUD', 2, 'Australian dollar'),
    ('BHD', 3, 'Bahraini dinar'),
    ('CAD', 2, 'Canadian dollar'),
    ('CHF', 2, 'Swiss franc'),
    ('CLF', 4, 'Unidad de Fomento'),
    ('CZK', 2, 'Czech koruna'),
    ('DKK', 2, 'Danish krone'),
    ('EUR', 2, 'Euro'),
    ('GBP', 2, 'Pound sterling'),
    ('HUF', 2, 'Hungarian forint'),
    ('JOD', 3, 'Jordanian dinar'),
    ('JPY', 0, 'Japanese yen'),
    ('KRW', 0, 'South Korean won'),
    ('KWD', 3, 'Kuwaiti dinar'),
    ('NOK', 2, 'Norwegian krone'),
    ('OMR', 3, 'Omani rial'),
    ('PLN', 2, 'Polish zloty'),
    ('SEK', 2, 'Swedish krona'),
    ('TND', 3, 'Tunisian dinar'),
    ('USD', 2, 'US dollar');

CREATE TYPE ledger.account_kind AS ENUM ('asset', 'liability', 'equity', 'income', 'expense');
CREATE TYPE ledger.side AS ENUM ('debit', 'credit');

CREATE TABLE ledger.accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code           text        NOT NULL UNIQUE
                   CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$'),
    name           text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    currency       char(3)     NOT NULL REFERENCES ledger.currencies (code),
    kind           ledger.account_kind NOT NULL,
    -- Assets and expenses are debit-normal; liabilities, equity and income credit-normal.
    normal_side    ledger.side NOT NULL GENERATED ALWAYS AS (
                       CASE WHEN kind IN ('asset', 'expense') THEN 'debit'::ledger.side
                            ELSE 'credit'::ledger.side END) STORED,
    allow_negative boolean     NOT NULL DEFAULT true,
    opened_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    opened_by      text        NOT NULL DEFAULT session_user
);

COMMENT ON TABLE ledger.accounts IS 'Ledger accounts. Never deleted; opened through ledger.open_account().';

-- Refuses changes to rows that must never change. Enabled ALWAYS so that
-- session_replication_role = replica does not switch it off.
CREATE FUNCTION ledger.refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    RAISE EXCEPTION '% on %.% is not allowed: the ledger is append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'LG001',
              HINT = 'Corrections are new entries (reversals), never edits or deletes.';
END
$$;

CREATE TRIGGER accounts_no_delete BEFORE DELETE ON ledger.accounts
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON ledger.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
ALTER TABLE ledger.accounts ENABLE ALWAYS TRIGGER accounts_no_delete;
ALTER TABLE ledger.accounts ENABLE ALWAYS TRIGGER accounts_no_truncate;

-- Opens an account; the only way to add one.
CREATE FUNCTION ledger.open_account(p_code text, p_name text, p_currency text,
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
    RETURN v_id;
END
$$;

REVOKE EXECUTE ON FUNCTION ledger.open_account(text, text, text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.open_account(text, text, text, text, boolean) TO ledger_writer;

-- What the console reads. Views run with their owner's rights, so console roles need
-- SELECT on the view only, never on the table.
CREATE VIEW ledger.account_list AS
SELECT id, code, name, currency, kind, normal_side, allow_negative, opened_at
FROM ledger.accounts;

GRANT SELECT ON ledger.account_list
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;
