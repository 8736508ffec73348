-- Single postings, cheaper per call (issue 20, first part). ledger.post_transaction answers
-- only the transaction's id, so the console's and ledgerctl's posting call (LedgerRepository::
-- post) asked in the same statement whether the key was known before, through
-- ledger.transaction_list: a read gated like the console's (ledger.require_read and
-- audit.reads_are_recorded, about 120 us) on every posting, plus the planning of that wider
-- statement. ledger.post_request answers both from the posting itself: `created` is false when
-- the same request was posted before under the key (post_normalized decides that under the
-- key's lock, which the look-up beside it could not). Same checks, same errors, same audit
-- event. post_transaction stays for callers that want the id only.
SET LOCAL ROLE ledger_owner;

CREATE FUNCTION ledger.post_request(p_request jsonb, OUT transaction_id bigint, OUT created boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ledger, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
    IF pg_column_size(p_request) > ledger.max_request_bytes() THEN
        RAISE EXCEPTION 'A transaction request is at most % bytes of JSON', ledger.max_request_bytes() USING ERRCODE = 'LG017';
    END IF;
    SELECT p.transaction_id, p.created INTO post_request.transaction_id, post_request.created
    FROM ledger.post_normalized(p_request->>'idempotency_key', ledger.normalize_request(p_request), 'posting', NULL) p;
END
$$;
REVOKE EXECUTE ON FUNCTION ledger.post_request(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.post_request(jsonb) TO ledger_writer;
COMMENT ON FUNCTION ledger.post_request(jsonb) IS
    'ledger.post_transaction that also says whether it wrote the transaction now (created) or found the same request posted before under its key.';
