-- Step 11, first part: the reporting store as a database of its own, fed by logical
-- replication (`ledgerctl reporting replica setup`, services/db/ReplicaAdmin.cpp).
--
-- The ledger publishes what the reports read and the operator registry:
--   publication ledger_reporting: ledger.accounts, ledger.transactions, ledger.entries,
--   access.operators.
-- ledger.currencies is not published: every database has the migrations' list (0002), and
-- the replica's initial copy would collide with it; a currency added later is added on both.
-- The reporting store is a database migrated like the ledger, with a subscription of the
-- same name. Its apply worker runs with session_replication_role = replica, so the ledger's
-- own triggers (append-only, balances, audit) stay quiet there and the rows arrive as the
-- ledger wrote them.
--
-- The aggregates are the reporting store's work, never the ledger's: the row trigger below
-- is created disabled, and setup enables it on the replica only (ENABLE ALWAYS: it then fires
-- for the apply worker and for the initial copy). reporting.daily_totals holds, per account
-- and UTC day of effective time, the number of entries and the sums of their debits
-- (positive amounts) and credits (negative amounts, as a positive number): what a trial
-- balance, volumes and movers read, late and backdated entries included as they arrive.
SET LOCAL ROLE ledger_owner;

CREATE TABLE reporting.daily_totals (
    account_id    bigint NOT NULL,
    day           date   NOT NULL,
    entries       bigint NOT NULL CHECK (entries > 0),
    debits_minor  bigint NOT NULL CHECK (debits_minor >= 0),
    credits_minor bigint NOT NULL CHECK (credits_minor >= 0),
    PRIMARY KEY (account_id, day)
);
COMMENT ON TABLE reporting.daily_totals IS
    'On a reporting store (0036): per account and UTC day of effective time, entries and the sums of debits and credits, folded in by the replication apply worker. Empty in a ledger database.';

CREATE FUNCTION reporting.fold_replicated_entry() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO reporting.daily_totals AS d (account_id, day, entries, debits_minor, credits_minor)
    VALUES (NEW.account_id, (NEW.effective_at AT TIME ZONE 'UTC')::date, 1,
            greatest(NEW.amount, 0), greatest(-NEW.amount, 0))
    ON CONFLICT (account_id, day) DO UPDATE
        SET entries = d.entries + 1,
            debits_minor = d.debits_minor + excluded.debits_minor,
            credits_minor = d.credits_minor + excluded.credits_minor;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION reporting.fold_replicated_entry() FROM PUBLIC;

CREATE TRIGGER entries_fold_on_replica AFTER INSERT ON ledger.entries
    FOR EACH ROW EXECUTE FUNCTION reporting.fold_replicated_entry();
ALTER TABLE ledger.entries DISABLE TRIGGER entries_fold_on_replica;

-- The same totals computed from the raw entries: what the reporting store's must equal
-- (tst_replica compares them on both servers).
CREATE FUNCTION reporting.daily_totals_from_entries()
RETURNS TABLE (account_id bigint, day date, entries bigint, debits_minor bigint, credits_minor bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.account_id, (e.effective_at AT TIME ZONE 'UTC')::date, count(*),
           coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0)::bigint,
           coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0)::bigint
    FROM ledger.entries e
    GROUP BY 1, 2
$$;
REVOKE EXECUTE ON FUNCTION reporting.daily_totals_from_entries() FROM PUBLIC;
