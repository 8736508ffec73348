-- The account navigator shows balances: as exact decimal strings on the account's normal
-- side, formatted with the currency's exponent (never floating point). Formatted in the
-- view itself, which reads the tables with its owner's rights.
SET LOCAL ROLE ledger_owner;

CREATE OR REPLACE VIEW ledger.account_list AS
SELECT a.id, a.code, a.name, a.currency, a.kind, a.normal_side, a.allow_negative, a.opened_at,
       s.shown AS balance_minor,
       h.last_seq AS entry_count,
       round(s.shown::numeric / (10::numeric ^ c.exponent), c.exponent)::text AS balance
FROM ledger.accounts a
JOIN ledger.account_heads h ON h.account_id = a.id
JOIN ledger.currencies c ON c.code = a.currency
CROSS JOIN LATERAL (SELECT CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE -h.balance END AS shown) s
WHERE access.check_session();
