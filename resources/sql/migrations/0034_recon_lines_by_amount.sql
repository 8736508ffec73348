-- Step 9, found in Step 10: import_finish's duplicate check for lines without a bank
-- reference (equal amount, value date, counterparty, remittance and end-to-end id) probed
-- recon.lines_by_date (account, value date) once per such line and filtered every line of
-- that account and day. A CSV export without a reference column has no line with one: for
-- a million lines over four years (685 a day) that check alone took about a minute, and the
-- time grows with the account's history. With the amount in the index each probe reads the
-- lines of equal amount on that day, usually none (bench_recon's section 5 measures both
-- layouts in one run).
--
-- The matching passes read the index by account and date range as before: a trailing
-- column changes neither their order nor their ranges.
SET LOCAL ROLE ledger_owner;

DROP INDEX recon.lines_by_date;
CREATE INDEX lines_by_date ON recon.lines (bank_account_id, value_date, amount_minor);
