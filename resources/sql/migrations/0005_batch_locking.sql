-- Batches of postings in one database transaction (ledgerctl ingest) hold the locks of
-- every account they touched until commit. Each posting locks its own accounts in id
-- order, but two batches can still wait on each other across postings. A batch therefore
-- first locks all the accounts it will touch, in id order, in one statement.
SET LOCAL ROLE ledger_owner;

CREATE FUNCTION ledger.lock_accounts(p_codes text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger
AS $$
DECLARE
    v_locked integer;
BEGIN
    -- Unknown codes are ignored here: the postings themselves report them.
    SELECT count(*) INTO v_locked FROM (
        SELECT 1 FROM ledger.account_heads h
        WHERE h.account_id IN (SELECT a.id FROM ledger.accounts a WHERE a.code = ANY (p_codes))
        ORDER BY h.account_id
        FOR UPDATE) locked;
    RETURN v_locked;
END
$$;

REVOKE EXECUTE ON FUNCTION ledger.lock_accounts(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.lock_accounts(text[]) TO ledger_writer;
