-- Step 12: the names a stream's positions and dead letters are kept under (the ingester's
-- source and the Kafka topic) reach the audit trail's details, ledgerctl's output and the
-- console. A writer could name them with control characters (terminal escapes, bidi
-- overrides) that rewrite what an operator sees; they are refused now, like an operator's
-- note (ledger.has_control_characters), with the same SQLSTATE as the other bad names
-- (LG093). Names already recorded are as they were (none could be written by the ingester,
-- which takes them from its command line).
SET LOCAL ROLE ledger_owner;

CREATE OR REPLACE FUNCTION ledger.check_source(p_source text, p_topic text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_source IS NULL OR length(p_source) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'A source is named by 1 to 100 characters' USING ERRCODE = 'LG093';
    END IF;
    IF p_topic IS NULL OR length(p_topic) NOT BETWEEN 1 AND 249 THEN
        RAISE EXCEPTION 'A topic is named by 1 to 249 characters' USING ERRCODE = 'LG093';
    END IF;
    IF ledger.has_control_characters(p_source) OR ledger.has_control_characters(p_topic) THEN
        RAISE EXCEPTION 'A source or topic name may not contain control characters' USING ERRCODE = 'LG093';
    END IF;
END
$$;
