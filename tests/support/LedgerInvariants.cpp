#include "LedgerInvariants.h"

#include "SqlSession.h"

namespace ledger::test {

namespace {

struct Check
{
    const char *what;
    const char *sql; // returns the offending rows (a few are enough)
};

const Check kChecks[] = {
    // 0019: the sealer searches from the floor, so an unsealed event below it would stay
    // out of the chain until a full audit.seal().
    {"committed audit event left unsealed below the sealer's floor",
     "SELECT e.id FROM audit.events e WHERE e.seq IS NULL "
     "AND e.id < (SELECT f.floor FROM audit.seal_floor f) LIMIT 5"},
    {"transaction does not sum to zero per currency",
     "SELECT transaction_id, currency, sum(amount) FROM ledger.entries "
     "GROUP BY transaction_id, currency HAVING sum(amount) <> 0 LIMIT 5"},
    {"transaction with fewer than two legs",
     "SELECT t.id FROM ledger.transactions t LEFT JOIN ledger.entries e ON e.transaction_id = t.id "
     "GROUP BY t.id HAVING count(e.id) < 2 LIMIT 5"},
    {"entry in a currency other than its account's",
     "SELECT e.id FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "
     "WHERE a.currency <> e.currency LIMIT 5"},
    {"sequence, recorded order or running balance broken",
     "SELECT account_id, account_seq FROM ("
     "  SELECT account_id, account_seq, balance_after, recorded_at,"
     "         row_number() OVER w AS n,"
     "         sum(amount) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,"
     "         lag(recorded_at) OVER w AS previous_recorded"
     "  FROM ledger.entries WINDOW w AS (PARTITION BY account_id ORDER BY account_seq)) x "
     "WHERE account_seq <> n OR balance_after <> running OR recorded_at < previous_recorded LIMIT "
     "5"},
    {"account head does not match its entries",
     "SELECT h.account_id FROM ledger.account_heads h "
     "LEFT JOIN (SELECT account_id, count(*) AS n, sum(amount) AS total, max(recorded_at) AS last "
     "           FROM ledger.entries GROUP BY account_id) e ON e.account_id = h.account_id "
     "WHERE h.last_seq <> coalesce(e.n, 0) OR h.balance <> coalesce(e.total, 0) "
     "   OR (e.last IS NOT NULL AND h.last_recorded_at <> e.last) LIMIT 5"},
    {"account without a head",
     "SELECT a.id FROM ledger.accounts a "
     "WHERE NOT EXISTS (SELECT 1 FROM ledger.account_heads h WHERE h.account_id = a.id) LIMIT 5"},
    {"negative balance on an account that forbids it",
     "SELECT a.code, h.balance FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id "
     "= a.id "
     "WHERE NOT a.allow_negative AND (CASE WHEN a.normal_side = 'debit' THEN h.balance ELSE "
     "-h.balance END) < 0 LIMIT 5"},
    {"transaction without exactly one audit event",
     "SELECT t.id FROM ledger.transactions t "
     "LEFT JOIN audit.events ev ON ev.action = 'transaction.posted' AND ev.object_id = t.id::text "
     // Bulk demo loads (ledgerctl seed) write one 'ledger.seeded' event for the whole load.
     "WHERE t.kind <> 'seed' AND t.idempotency_key NOT LIKE 'seed-%' GROUP BY t.id HAVING "
     "count(ev.id) <> 1 LIMIT 5"},
    // 0030: every transaction's rows still match the digest the audit chain holds for it.
    {"transaction rows differ from their digest on record (or no digest)",
     "SELECT v.first_transaction, v.transaction_reason FROM ledger.verify_ledger_unrecorded() v "
     "WHERE v.transactions_broken > 0"},
    {"reversal does not mirror its original",
     "SELECT r.id FROM ledger.transactions r WHERE r.reverses IS NOT NULL AND EXISTS ("
     "  (SELECT account_id, -amount FROM ledger.entries WHERE transaction_id = r.reverses "
     "   EXCEPT ALL SELECT account_id, amount FROM ledger.entries WHERE transaction_id = r.id) "
     "  UNION ALL "
     "  (SELECT account_id, amount FROM ledger.entries WHERE transaction_id = r.id "
     "   EXCEPT ALL SELECT account_id, -amount FROM ledger.entries WHERE transaction_id = "
     "r.reverses)) LIMIT 5"},
    // The point-in-time span tree (0017): per account and kind, the blocks weigh what the
    // spans' whole hours weigh (sum of amount x hours), every span has its bounds, and the
    // bounds hold the longest span and the highest level.
    {"span tree does not match the late and future-dated entries",
     "SELECT coalesce(t.account_id, e.account_id), coalesce(t.kind, e.kind) "
     "FROM (SELECT account_id, kind, sum(amount::numeric * (2::numeric ^ level)) AS weight, "
     "             max(level) AS top FROM ledger.span_sums GROUP BY 1, 2) t "
     "FULL JOIN (SELECT account_id, kind, max(hi - lo) AS span, sum(amount::numeric * greatest(0, "
     "                  ledger.span_hour(hi) - ledger.span_hour(lo) - CASE WHEN timestamptz "
     "                  '1900-01-01 00:00Z' + ledger.span_hour(lo) * interval '1 hour' < lo "
     "                  THEN 1 ELSE 0 END)) AS weight "
     "           FROM (SELECT account_id, amount, "
     "                        (CASE WHEN effective_at > recorded_at THEN 'F' ELSE 'L' "
     "END)::\"char\" "
     "                            AS kind, "
     "                        least(effective_at, recorded_at) AS lo, "
     "                        greatest(effective_at, recorded_at) AS hi "
     "                 FROM ledger.entries WHERE recorded_at - effective_at > interval '5 "
     "minutes' "
     "                    OR effective_at > recorded_at) x GROUP BY 1, 2) e "
     "  ON e.account_id = t.account_id AND e.kind = t.kind "
     "LEFT JOIN ledger.span_bounds b ON b.account_id = coalesce(t.account_id, e.account_id) "
     "                             AND b.kind = coalesce(t.kind, e.kind) "
     "WHERE NOT coalesce(b.gist_only, false) "
     "  AND (coalesce(t.weight, 0) <> coalesce(e.weight, 0) OR b.account_id IS NULL "
     "       OR b.max_span IS DISTINCT FROM e.span OR coalesce(t.top, -1) > b.max_level) "
     "LIMIT 5"},
    // The audit chain: every sealed event is intact and linked, and every issued checkpoint
    // matches (the SQL verifier, without recording a verification event).
    {"audit chain broken", "SELECT v.broken_at, v.reason FROM audit.verify_chain_unrecorded() v "
                           "WHERE v.broken_at IS NOT NULL"},
};

} // namespace

QStringList ledgerInvariantViolations(SqlSession &admin)
{
    QStringList out;
    for (const Check &check : kChecks) {
        const SqlOutcome r = admin.exec(QString::fromLatin1(check.sql));
        if (!r.ok) {
            out << QStringLiteral("%1: the check failed to run: %2")
                       .arg(QLatin1String(check.what), r.message);
            continue;
        }
        for (const QStringList &row : r.rows)
            out << QStringLiteral("%1: %2").arg(QLatin1String(check.what),
                                                row.join(QLatin1Char(' ')));
    }
    return out;
}

void sealAtNextCommit(SqlSession &admin)
{
    const auto r =
        admin.exec(QStringLiteral("UPDATE audit.seal_floor SET sealed_at = '-infinity'"));
    if (!r.ok)
        qFatal("sealAtNextCommit: %s", qPrintable(r.message));
}

} // namespace ledger::test
