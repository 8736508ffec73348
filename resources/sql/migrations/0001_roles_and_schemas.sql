-- Roles and schemas of the ledger (CONTRIBUTING.md, "Architecture": roles and schemas).
--
-- Roles are cluster-wide while migrations run per database, so only the missing ones are
-- created: several ledger databases may share one cluster. All of them are NOLOGIN group
-- roles; people and services log in as members (Step 3 mints time-limited members).

DO $roles$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('ledger_owner',       'Owns every ledger object; SECURITY DEFINER functions run as it. Nobody logs in as it.'),
        ('console_operator',   'Back-office operators: request reversals, resolve reconciliation exceptions.'),
        ('console_supervisor', 'Supervisors: approve or reject requests, never their own.'),
        ('console_auditor',    'Auditors: read everything, verify the audit trail.'),
        ('console_compliance', 'Compliance staff: read, export statements.'),
        ('ledger_writer',      'Services that post transactions.'),
        ('console_broker',     'May only mint time-limited console sessions.')
    ) AS t(name, purpose)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r.name);
        END IF;
        EXECUTE format('COMMENT ON ROLE %I IS %L', r.name, r.purpose);
    END LOOP;
END
$roles$;

-- Nobody gets in by default; the functional groups may connect.
DO $db$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO console_operator, console_supervisor, '
                   'console_auditor, console_compliance, ledger_writer, console_broker',
                   current_database());
END
$db$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA ledger    AUTHORIZATION ledger_owner;
CREATE SCHEMA audit     AUTHORIZATION ledger_owner;
CREATE SCHEMA access    AUTHORIZATION ledger_owner;
CREATE SCHEMA recon     AUTHORIZATION ledger_owner;
CREATE SCHEMA reporting AUTHORIZATION ledger_owner;

COMMENT ON SCHEMA ledger    IS 'Accounts, transactions and entries: the append-only double-entry ledger.';
COMMENT ON SCHEMA audit     IS 'The hash-chained audit trail of every console action.';
COMMENT ON SCHEMA access    IS 'Operators and their time-limited database sessions.';
COMMENT ON SCHEMA recon     IS 'Imported bank statements and reconciliation exceptions.';
COMMENT ON SCHEMA reporting IS 'Aggregates for charts and reports (read side).';

-- Functions are never executable by PUBLIC unless a migration grants it explicitly.
ALTER DEFAULT PRIVILEGES FOR ROLE ledger_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT USAGE ON SCHEMA ledger, audit, access, recon, reporting
    TO console_operator, console_supervisor, console_auditor, console_compliance, ledger_writer;
GRANT USAGE ON SCHEMA access TO console_broker;
