-- Step 11, second part: an operator signs in to the reporting store with the secret they use
-- for the ledger, and the store follows what the ledger's administrators do.
--
-- A session is minted by the operator's broker login (access.issue_session). The registry
-- (access.operators) already replicates, but logins are per server: the reporting store's
-- server had no broker role, so nobody could sign in there. The ledger now keeps each
-- broker's SCRAM-SHA-256 verifier (what pg_authid holds; never the secret) in
-- access.broker_verifiers, published with the registry. On the reporting store, row
-- triggers that setup enables for the apply worker (they are created disabled, so the
-- ledger never runs them) act on what arrives:
--   - a verifier, new or changed: the broker role is created, or its password set, with
--     it (the operator's new secret works there and the old one no longer does);
--   - an operator disabled: the broker cannot log in, its connections end and every
--     session of the operator on the store is revoked, as on the ledger.
-- These triggers never fail the apply worker (a failure would stop replication for
-- everyone): what they cannot do is a WARNING in the store's server log naming the broker.
--
-- Exposure: a verifier is a salted, iterated hash (at least 4096 iterations, checked by
-- ledger_priv.check_verifier); it can be attacked offline like pg_authid itself. The table
-- is granted to nobody; it travels over the replication connection, which for a remote
-- ledger should use TLS (`sslmode=verify-full` in --primary).
--
-- Found while building this: access.operators' guard trigger fired ALWAYS, so on a reporting
-- store it refused the apply worker's UPDATE of an operator row (every sign-in on the ledger
-- writes last_issued_at) and replication stopped there. Setup now enables it on the store
-- for local changes only (ReplicaAdmin.cpp); the apply worker applies what the ledger's own
-- guard allowed.

-- As the superuser that migrates: the role admin reads a broker's verifier (0020 granted it
-- pg_authid's rolname and rolpassword).
CREATE FUNCTION ledger_priv.broker_verifier(p_role text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text;
BEGIN
    PERFORM ledger_priv.check_console_role(p_role, 'broker');
    SELECT a.rolpassword INTO v FROM pg_catalog.pg_authid a WHERE a.rolname = p_role;
    RETURN v;
END
$$;
ALTER FUNCTION ledger_priv.broker_verifier(text) OWNER TO ledger_role_admin;
REVOKE EXECUTE ON FUNCTION ledger_priv.broker_verifier(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_priv.broker_verifier(text) TO ledger_owner;

SET LOCAL ROLE ledger_owner;

CREATE TABLE access.broker_verifiers (
    broker_role text        PRIMARY KEY CHECK (broker_role ~ '^lc_op_[a-z][a-z0-9_]{1,40}$'),
    verifier    text        NOT NULL CHECK (length(verifier) <= 400),
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
REVOKE ALL ON access.broker_verifiers FROM PUBLIC;
COMMENT ON TABLE access.broker_verifiers IS
    'Each broker login''s SCRAM-SHA-256 verifier as the ledger''s server holds it (0037): published with access.operators so that a reporting store can let operators sign in with the same secret. Granted to nobody.';
-- Changed only by the owner's functions; the guard fires for local changes (not for the
-- apply worker on a reporting store, which applies what the ledger's guard allowed).
CREATE TRIGGER broker_verifiers_guard BEFORE UPDATE OR DELETE ON access.broker_verifiers
    FOR EACH ROW EXECUTE FUNCTION access.guard_owner_only();
CREATE TRIGGER broker_verifiers_no_truncate BEFORE TRUNCATE ON access.broker_verifiers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

-- On the ledger: the verifier follows the broker's password, which only add_operator and
-- set_operator_secret set (each writes verifier_digest).
CREATE FUNCTION access.keep_broker_verifier() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text;
BEGIN
    -- A registry row whose broker is no console broker login (a DBA's hand-made row) has
    -- nothing to publish.
    IF NEW.broker_role !~ '^lc_op_[a-z][a-z0-9_]{1,40}$' THEN
        RETURN NULL;
    END IF;
    v := ledger_priv.broker_verifier(NEW.broker_role);
    IF v IS NOT NULL THEN
        INSERT INTO access.broker_verifiers AS b (broker_role, verifier) VALUES (NEW.broker_role, v)
        ON CONFLICT (broker_role) DO UPDATE SET verifier = excluded.verifier, changed_at = clock_timestamp()
            WHERE b.verifier IS DISTINCT FROM excluded.verifier;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER operators_keep_verifier AFTER INSERT OR UPDATE OF verifier_digest ON access.operators
    FOR EACH ROW EXECUTE FUNCTION access.keep_broker_verifier();

-- On a reporting store: the broker as the ledger has it.
CREATE FUNCTION access.broker_on_store() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
BEGIN
    BEGIN
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = NEW.broker_role) THEN
            PERFORM ledger_priv.set_verifier(NEW.broker_role, NEW.verifier);
        ELSE
            PERFORM ledger_priv.create_broker(NEW.broker_role, NEW.verifier,
                                              (SELECT s.broker_connection_limit FROM access.settings s));
        END IF;
        -- A disabled operator's broker (the registry may arrive first or last) stays shut.
        IF EXISTS (SELECT 1 FROM access.operators o WHERE o.broker_role = NEW.broker_role AND o.disabled_at IS NOT NULL) THEN
            PERFORM access.disable_login(NEW.broker_role);
        END IF;
        RAISE LOG 'ledger: reporting store: broker % signs in with the ledger''s verifier', NEW.broker_role;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'ledger: reporting store: broker % could not be set (%); its operator cannot sign in here until that is fixed and the secret is set again on the ledger',
            NEW.broker_role, SQLERRM;
    END;
    RETURN NULL;
END
$$;
CREATE TRIGGER broker_verifiers_on_store AFTER INSERT OR UPDATE ON access.broker_verifiers
    FOR EACH ROW EXECUTE FUNCTION access.broker_on_store();
ALTER TABLE access.broker_verifiers DISABLE TRIGGER broker_verifiers_on_store;

-- On a reporting store: an operator disabled on the ledger is disabled here.
CREATE FUNCTION access.operator_on_store() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, access, pg_temp
AS $$
DECLARE
    v_revoked integer;
BEGIN
    IF NEW.disabled_at IS NULL OR (TG_OP = 'UPDATE' AND OLD.disabled_at IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    BEGIN
        PERFORM access.disable_login(NEW.broker_role);
        PERFORM ledger_priv.terminate_backends(NEW.broker_role);
        v_revoked := access.revoke_operator_sessions(NEW.name);
        RAISE LOG 'ledger: reporting store: operator % disabled on the ledger; % sessions revoked here', NEW.name, v_revoked;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'ledger: reporting store: operator % is disabled on the ledger but could not be disabled here (%)',
            NEW.name, SQLERRM;
    END;
    RETURN NULL;
END
$$;
CREATE TRIGGER operators_on_store AFTER INSERT OR UPDATE ON access.operators
    FOR EACH ROW EXECUTE FUNCTION access.operator_on_store();
ALTER TABLE access.operators DISABLE TRIGGER operators_on_store;

REVOKE EXECUTE ON FUNCTION access.keep_broker_verifier(), access.broker_on_store(), access.operator_on_store() FROM PUBLIC;

-- The operators registered before this migration.
INSERT INTO access.broker_verifiers (broker_role, verifier)
SELECT o.broker_role, ledger_priv.broker_verifier(o.broker_role)
FROM access.operators o
WHERE o.broker_role ~ '^lc_op_[a-z][a-z0-9_]{1,40}$' AND ledger_priv.broker_verifier(o.broker_role) IS NOT NULL;
