-- A batch's audit events go into the chain as the batch writes them (issue 20): nothing
-- changes in SQL here; the change is in ledger_pg's ledger.post_batch_items (0064, the core
-- of ledger.post_batch, ledger.ingest_events and every ingest path), and this migration
-- records it where the rules of the posting paths are kept.
--
-- Until now a batch inserted one transaction.posted event per posted transaction unsealed,
-- and the seal at commit (0060, 0065) then updated each of them with its seq, prev_hash and
-- hash: a second version of every event row in every index of audit.events (never a HOT
-- update: seq is indexed and the unsealed index's predicate reads it), 12 ms of a batch of
-- 1,000, and as much again for vacuum. Now, when the batch gets the chain lock as a commit's
-- seal takes it (pg_try_advisory_xact_lock(audit.chain_lock_key(), 0), without waiting, in a
-- READ COMMITTED transaction that is the call's own, autocommit, only), it first seals what is pending (audit.seal_from from the
-- floor, as a commit's seal does), reads the chain's head and inserts its events already
-- chained onto it: the same columns, hashed with the same encoding, so audit.verify_chain and
-- ledgerctl's verifier check them as any other event. The lock is held to the end of the
-- transaction, as every seal's is: a verifier's audit.seal() waits for the batch's commit,
-- and other commits leave their events to the next seal meanwhile (as they do whenever the
-- chain is busy). Hence autocommit only: in a transaction block (BEGIN, or several
-- statements in one query) a client could keep the chain, and stall every seal, the outbox
-- and the verifiers, for as long as it keeps the block open. When the chain is busy, in a
-- transaction block, or when the transaction is REPEATABLE READ or SERIALIZABLE, the
-- batch's events are written unsealed and sealed as before.
SET LOCAL ROLE ledger_owner;

COMMENT ON FUNCTION ledger.post_batch_items(ledger.batch_input[], text) IS
    'The batch path''s core, in ledger_pg (0064): items checked as ledger.normalize_request checks them, '
    'decided in order as 0017''s post_batch_items_reference decides them; the posted transactions'' '
    'events chained as they are inserted when the chain lock is free (0067), otherwise sealed at commit.';
