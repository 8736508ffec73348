// Bulk seeding (DemoHistory + SeedLoader): a realistic history loaded with COPY leaves
// every ledger invariant true, looks exactly like posted data (sequence numbers, running
// balances, request fingerprints, reversal paper trail), appends on later runs, refuses
// to load behind a ledger that moved on, rolls back when cancelled, and agrees with the
// point-in-time balance function.

#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccountRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/SeedLoader.h"
#include "demo/DemoChart.h"
#include "demo/DemoHistory.h"

#include <QTest>

#include <random>

using namespace ledger;
using test::SqlSession;

namespace {

constexpr int kCustomers = 50;
constexpr int kTransactions = 20000;

} // namespace

class TestSeed : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QList<NewAccount> m_house;
    QList<NewAccount> m_customers;
    SeedReport m_first;

    // A history planned against the ledger as it is now, as `ledgerctl seed` plans it.
    DemoHistory plan(int transactions, quint32 seed)
    {
        Connection connection(m_db.adminDsn());
        const SeedTarget target = SeedLoader(connection).inspect();
        DemoHistory::Options options;
        options.transactions = transactions;
        options.nowUs = target.serverNowUs;
        options.notBeforeUs = target.latestRecordedUs;
        options.currencyExponents = target.currencyExponents;
        options.seed = seed;
        auto history = DemoHistory::generate(m_house, m_customers, options);
        if (!history)
            qFatal("generate: %s", qPrintable(history.error().describe()));
        return std::move(history).value();
    }

    SeedReport load(const DemoHistory &history, const SeedLoader::Options &options = {})
    {
        Connection connection(m_db.adminDsn());
        return SeedLoader(connection).load(history, {}, options);
    }

    qint64 m_entryIndexes = 0;

    qint64 number(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params).toLongLong();
    }

    // The ledger-wide invariants (tests/support) plus what a seed adds to watch for.
    QStringList violations()
    {
        QStringList out = test::ledgerInvariantViolations(*m_admin);
        const struct
        {
            const char *what;
            const char *sql;
        } extra[] = {
            {"no-negative account negative at some entry",
             "SELECT e.id FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "
             "WHERE NOT a.allow_negative AND CASE WHEN a.normal_side = 'debit' "
             "THEN e.balance_after ELSE -e.balance_after END < 0 LIMIT 5"},
            {"head balance differs from its last entry's balance_after",
             "SELECT h.account_id FROM ledger.account_heads h JOIN ledger.entries e "
             "ON e.account_id = h.account_id AND e.account_seq = h.last_seq "
             "WHERE e.balance_after <> h.balance LIMIT 5"},
            {"entry times differ from its transaction's",
             "SELECT e.id FROM ledger.entries e JOIN ledger.transactions t ON t.id = "
             "e.transaction_id "
             "WHERE e.effective_at <> t.effective_at OR e.recorded_at <> t.recorded_at LIMIT 5"},
            {"request fingerprint is not the one ledger.post_normalized() computes",
             R"sql(SELECT t.id FROM ledger.transactions t
                   LEFT JOIN ledger.reversal_decisions d ON d.reversal_transaction_id = t.id
                   WHERE t.idempotency_key LIKE 'seed-%' AND t.request_hash <> sha256(convert_to(
                     jsonb_build_object('kind', t.kind, 'reverses', t.reverses, 'request',
                       CASE WHEN t.kind = 'reversal'
                            THEN jsonb_build_object('reverses', t.reverses, 'request', d.request_id)
                            ELSE jsonb_build_object(
                              'effective_at', to_char(t.effective_at AT TIME ZONE 'UTC',
                                                      'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                              'description', t.description, 'external_ref', t.external_ref,
                              'legs', (SELECT jsonb_agg(jsonb_build_object('account', a.code,
                                         'minor', e.amount, 'currency', e.currency::text) ORDER BY e.id)
                                       FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
                                       WHERE e.transaction_id = t.id)) END)::text, 'UTF8'))
                   LIMIT 5)sql"},
        };
        for (const auto &check : extra) {
            const auto r = m_admin->exec(QString::fromUtf8(check.sql));
            if (!r.ok)
                out << QStringLiteral("%1: the check failed: %2")
                           .arg(QLatin1String(check.what), r.message);
            for (const QStringList &row : r.rows)
                out << QStringLiteral("%1: %2").arg(QLatin1String(check.what),
                                                    row.join(QLatin1Char(' ')));
        }
        return out;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        const auto chart = DemoChart::load();
        QVERIFY2(chart.ok(), qPrintable(chart.ok() ? QString() : chart.error().describe()));
        m_house = chart.value().houseAccounts();
        m_customers = chart.value().customerAccounts(kCustomers);
        Connection connection(m_db.adminDsn());
        AccountRepository::openMany(connection, m_house + m_customers, true);
        // What the migrations built; a load that drops indexes must put them all back.
        m_entryIndexes = number(QStringLiteral(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'ledger.entries'::regclass"));
        QVERIFY(m_entryIndexes >= 7);
    }

    void generatorIsDeterministicAndKeepsCustomersSolvent()
    {
        DemoHistory::Options options;
        options.transactions = 5000;
        options.nowUs = 1'790'000'000'000'000; // a fixed "now": 2026-09-21
        const auto a = DemoHistory::generate(m_house, m_customers, options);
        const auto b = DemoHistory::generate(m_house, m_customers, options);
        QVERIFY(a.ok() && b.ok());
        QCOMPARE(qint64(a.value().transactions().size()), qint64(5000));
        QCOMPARE(a.value().legs().size(), b.value().legs().size());
        for (size_t i = 0; i < a.value().legs().size(); ++i) {
            QCOMPARE(a.value().legs()[i].account, b.value().legs()[i].account);
            QCOMPARE(a.value().legs()[i].amount, b.value().legs()[i].amount);
        }
        options.seed += 1;
        const auto c = DemoHistory::generate(m_house, m_customers, options);
        QVERIFY(c.value().legs().size() != a.value().legs().size() ||
                c.value().legs()[0].amount != a.value().legs()[0].amount);

        // Recorded order, balanced legs, customers never below zero, all inside the window.
        const DemoHistory &h = a.value();
        std::vector<qint64> balance(size_t(h.accounts().size()), 0);
        qint64 previous = h.windowStartUs();
        for (const auto &t : h.transactions()) {
            QVERIFY(t.recordedAt >= previous && t.recordedAt <= h.windowEndUs());
            previous = t.recordedAt;
            qint64 sum = 0;
            for (int k = t.firstLeg; k < t.firstLeg + t.legCount; ++k) {
                const auto &leg = h.legs()[size_t(k)];
                QVERIFY(leg.amount != 0);
                sum += leg.amount;
                balance[size_t(leg.account)] += leg.amount;
                const NewAccount &account = h.accounts()[leg.account];
                const qint64 normal = normalSide(account.kind) == Side::Debit
                                          ? balance[size_t(leg.account)]
                                          : -balance[size_t(leg.account)];
                if (!account.allowNegative)
                    QVERIFY2(normal >= 0,
                             qPrintable(account.code + QStringLiteral(" went below zero")));
            }
            QCOMPARE(sum, qint64(0));
        }
        QVERIFY(h.windowEndUs() <= options.nowUs - 60'000'000);
        QVERIFY(h.windowEndUs() - h.windowStartUs() > 2LL * 365 * 86'400'000'000LL);
    }

    void seedLoadsAHistory()
    {
        const qint64 eventsBefore = number(QStringLiteral("SELECT count(*) FROM audit.events"));
        const DemoHistory history = plan(kTransactions, 20261121);
        Connection connection(m_db.adminDsn());
        QList<SeedProgress> seen;
        m_first = SeedLoader(connection).load(history, [&](const SeedProgress &p) {
            seen.append(p);
            return true;
        });
        QCOMPARE(m_first.transactions, qint64(kTransactions));
        QVERIFY(!seen.isEmpty());
        QCOMPARE(seen.last().rows, seen.last().totalRows);
        for (int i = 1; i < seen.size(); ++i)
            QVERIFY(seen[i].rows >= seen[i - 1].rows);

        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM ledger.transactions")),
                 qint64(kTransactions));
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM ledger.entries")), m_first.entries);
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests")),
                 m_first.reversals);
        const QStringList broken = violations();
        QVERIFY2(broken.isEmpty(), qPrintable(broken.join(QLatin1Char('\n'))));

        // The mix the demo promises.
        const qint64 backdated =
            number(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE kind = 'seed' "
                                  "AND recorded_at - effective_at > interval '5 minutes'"));
        const qint64 futureDated = number(QStringLiteral(
            "SELECT count(*) FROM ledger.transactions WHERE effective_at > recorded_at"));
        QVERIFY2(backdated > kTransactions / 100 && backdated < kTransactions / 25,
                 qPrintable(QString::number(backdated)));
        QVERIFY2(futureDated > kTransactions / 1000 && futureDated < kTransactions / 100,
                 qPrintable(QString::number(futureDated)));
        QVERIFY2(m_first.reversals > kTransactions / 500 && m_first.reversals < kTransactions / 100,
                 qPrintable(QString::number(m_first.reversals)));
        QCOMPARE(m_first.futureDated, futureDated);
        QVERIFY(number(QStringLiteral(
                    "SELECT count(DISTINCT description) FROM ledger.transactions")) > 20);
        QVERIFY(number(QStringLiteral("SELECT count(*) FROM ledger.transactions "
                                      "WHERE description LIKE 'Card scheme settlement%'")) > 300);
        QVERIFY(number(QStringLiteral(
                    "SELECT max(n) FROM (SELECT count(*) AS n FROM ledger.entries "
                    "GROUP BY transaction_id) x")) >= 3); // settlements with a scheme fee
        // Spread over two years, ending shortly before now.
        QVERIFY(
            number(QStringLiteral("SELECT extract(days FROM max(recorded_at) - min(recorded_at)) "
                                  "FROM ledger.transactions")) > 700);
        QVERIFY(number(QStringLiteral(
                    "SELECT count(*) FROM ledger.transactions WHERE recorded_at > now()")) == 0);

        // One audit event for the whole load, and its transactions' digests attested in
        // events of 1,000 each (0030), so that the ledger verifiers cover them.
        const qint64 seeded = qint64(history.transactions().size());
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM audit.events")),
                 eventsBefore + 1 + (seeded + 999) / 1000);
        QCOMPARE(number(QStringLiteral("SELECT coalesce(sum((SELECT count(*) FROM "
                                       "jsonb_object_keys(details->'digests'))), 0) FROM "
                                       "audit.events WHERE action = 'ledger.attested'")),
                 seeded);
        QCOMPARE(
            number(QStringLiteral("SELECT (details->>'transactions')::bigint FROM audit.events "
                                  "WHERE action = 'ledger.seeded' AND object_type = 'ledger' "
                                  "AND object_id IS NULL")),
            qint64(kTransactions));

        // The constraints and indexes dropped for the load are back, as they were.
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                                       "AND conrelid = 'ledger.entries'::regclass")),
                 qint64(2));
        QCOMPARE(number(QStringLiteral(
                     "SELECT count(*) FROM pg_index WHERE indrelid = 'ledger.entries'::regclass")),
                 m_entryIndexes);
    }

    void reversalsHaveTheirPaperTrail()
    {
        QVERIFY(m_first.reversals > 0);
        QCOMPARE(number(QStringLiteral(
                     "SELECT count(*) FROM ledger.transactions WHERE kind = 'reversal'")),
                 m_first.reversals);
        QCOMPARE(
            number(QStringLiteral(
                "SELECT count(*) FROM ledger.reversal_request_status WHERE state = 'approved'")),
            m_first.reversals);
        const auto wrong = m_admin->exec(QStringLiteral(R"sql(
            SELECT r.id FROM ledger.transactions r
            JOIN ledger.transactions o ON o.id = r.reverses
            JOIN ledger.reversal_decisions d ON d.reversal_transaction_id = r.id
            JOIN ledger.reversal_requests q ON q.id = d.request_id
            WHERE r.effective_at <> o.effective_at OR r.recorded_at <= o.recorded_at
               OR q.transaction_id <> o.id OR d.decision <> 'approved'
               OR q.requested_by = d.decided_by
               OR q.requested_at <= o.recorded_at OR q.requested_at > d.decided_at
               OR d.decided_at < r.recorded_at
               OR q.reason_code NOT IN ('DUPLICATE', 'WRONG_AMOUNT')
               OR r.description NOT LIKE 'Reversal of #' || o.id || ' (' || q.reason_code || '): %'
            LIMIT 5)sql"));
        QVERIFY2(wrong.ok && wrong.rows.isEmpty(),
                 qPrintable(wrong.message + wrong.rows.value(0).join(QLatin1Char(' '))));

        // The workflow treats them like any other: a reversed transaction cannot be
        // reversed again, an untouched one can (by an operator, approved by a supervisor).
        SqlSession op(m_db.dsnFor(QStringLiteral("console_operator")));
        SqlSession sup(m_db.dsnFor(QStringLiteral("console_supervisor")));
        const QString reversed =
            m_admin->scalar(QStringLiteral("SELECT reverses FROM ledger.transactions WHERE kind = "
                                           "'reversal' ORDER BY id LIMIT 1"));
        const auto again = op.exec(
            QStringLiteral("SELECT ledger.request_reversal($1, 'OTHER', 'twice?')"), {reversed});
        QCOMPARE(again.sqlState, QStringLiteral("LG032"));
        const QString deposit = m_admin->scalar(QStringLiteral(
            "SELECT t.id FROM ledger.transactions t WHERE t.external_ref LIKE 'DEP-%' "
            "AND NOT EXISTS (SELECT 1 FROM ledger.transactions r WHERE r.reverses = t.id) "
            "ORDER BY t.id LIMIT 1"));
        // Reversing a deposit takes the money back: the customer must still hold it.
        const auto request = op.exec(
            QStringLiteral("SELECT ledger.request_reversal($1, 'OTHER', 'demo')"), {deposit});
        QVERIFY2(request.ok, qPrintable(request.message));
        // The supervisor's preview is a read on record first (0033), in a statement of its own.
        QVERIFY(sup.exec(QStringLiteral("SELECT ledger.record_read('reversal_request', $1)"),
                         {request.rows[0][0]})
                    .ok);
        const auto approved = sup.exec(
            QStringLiteral("SELECT reversal_transaction_id FROM ledger.approve_reversal($1, "
                           "ledger.reversal_preview($1)->>'digest')"),
            {request.rows[0][0]});
        if (!approved.ok)
            QCOMPARE(approved.sqlState, QStringLiteral("LG020")); // spent meanwhile: refused, fine
        const QStringList broken = violations();
        QVERIFY2(broken.isEmpty(), qPrintable(broken.join(QLatin1Char('\n'))));
    }

    void postingContinuesAfterASeed()
    {
        const qint64 lastId = number(QStringLiteral("SELECT max(id) FROM ledger.transactions"));
        const qint64 lastSeq =
            number(QStringLiteral("SELECT h.last_seq FROM ledger.account_heads h JOIN "
                                  "ledger.accounts a ON a.id = h.account_id "
                                  "WHERE a.code = 'CUST-000001'"));
        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const auto posted = writer.exec(QStringLiteral(R"sql(
            SELECT ledger.post_transaction(jsonb_build_object(
                'idempotency_key', 'after-seed-1', 'effective_at', now(), 'description', 'after the seed',
                'legs', jsonb_build_array(
                    jsonb_build_object('account', '1000-CASH-' || c.currency, 'amount', '10.00', 'currency', c.currency),
                    jsonb_build_object('account', 'CUST-000001', 'amount', '-10.00', 'currency', c.currency))))
            FROM (SELECT currency FROM ledger.account_list WHERE code = 'CUST-000001') c)sql"));
        QVERIFY2(posted.ok, qPrintable(posted.message));
        QVERIFY(posted.rows[0][0].toLongLong() >
                lastId); // the identity sequence moved past the seed
        QCOMPARE(number(QStringLiteral("SELECT e.account_seq FROM ledger.entries e JOIN "
                                       "ledger.accounts a ON a.id = e.account_id "
                                       "WHERE a.code = 'CUST-000001' AND e.transaction_id = $1"),
                        {posted.rows[0][0]}),
                 lastSeq + 1);
        const QStringList broken = violations();
        QVERIFY2(broken.isEmpty(), qPrintable(broken.join(QLatin1Char('\n'))));
    }

    void seedingAgainAppends()
    {
        const qint64 before = number(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        const QString latest =
            m_admin->scalar(QStringLiteral("SELECT max(recorded_at)::text FROM ledger.entries"));

        // Second run: indexes rebuilt whatever the sizes (a first run this small keeps them).
        SeedLoader::Options rebuild;
        rebuild.rebuildIndexes = SeedLoader::Options::IndexRebuild::Always;
        const SeedReport second = load(plan(kTransactions, 7), rebuild);
        // Third run: everything checked row by row, nothing dropped.
        SeedLoader::Options rowByRow;
        rowByRow.rebuildForeignKeys = false;
        rowByRow.rebuildIndexes = SeedLoader::Options::IndexRebuild::Never;
        const SeedReport third = load(plan(2000, 8), rowByRow);

        QVERIFY(second.runId != m_first.runId && third.runId != second.runId);
        QVERIFY(second.firstTransactionId > m_first.lastTransactionId);
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM ledger.transactions")),
                 before + second.transactions + third.transactions);
        // Appended: recorded after everything that was there.
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE id >= $1 "
                                       "AND recorded_at < $2::timestamptz"),
                        {QString::number(second.firstTransactionId), latest}),
                 qint64(0));
        QCOMPARE(
            number(QStringLiteral(
                       "SELECT count(*) FROM ledger.transactions WHERE idempotency_key LIKE $1"),
                   {second.runId + QStringLiteral(":%")}),
            second.transactions);
        QCOMPARE(number(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'ledger.seeded'")),
                 qint64(3));
        QCOMPARE(number(QStringLiteral(
                     "SELECT count(*) FROM pg_index WHERE indrelid = 'ledger.entries'::regclass")),
                 m_entryIndexes);
        const QStringList broken = violations();
        QVERIFY2(broken.isEmpty(), qPrintable(broken.join(QLatin1Char('\n'))));
    }

    void pointInTimeBalancesMatchTheNaiveSum()
    {
        // Times as µs since the epoch, converted exactly on both sides.
        const auto range = m_admin->exec(QStringLiteral(
            "SELECT (extract(epoch FROM min(least(effective_at, recorded_at))) * 1e6)::bigint, "
            "       (extract(epoch FROM max(greatest(effective_at, recorded_at))) * 1e6)::bigint "
            "FROM ledger.entries"));
        QVERIFY(range.ok);
        const qint64 lo = range.rows[0][0].toLongLong() - 86'400'000'000LL;
        const qint64 hi = range.rows[0][1].toLongLong() + 86'400'000'000LL;
        const auto accounts = m_admin->exec(
            QStringLiteral("SELECT DISTINCT account_id FROM ledger.entries ORDER BY 1"));
        // Entries whose effective and recorded times differ by much: the corrections.
        const auto odd = m_admin->exec(
            QStringLiteral("SELECT account_id, (extract(epoch FROM effective_at) * 1e6)::bigint, "
                           "       (extract(epoch FROM recorded_at) * 1e6)::bigint "
                           "FROM ledger.entries WHERE abs(extract(epoch FROM recorded_at - "
                           "effective_at)) > 300 ORDER BY id"));
        QVERIFY(accounts.ok && odd.ok && !odd.rows.isEmpty());

        std::mt19937_64 rng(42);
        auto uniform = [&](qint64 a, qint64 b) { return a + qint64(rng() % quint64(b - a + 1)); };
        int compared = 0;
        for (int i = 0; i < 200; ++i) {
            QString account;
            qint64 e = uniform(lo, hi);
            qint64 k = uniform(lo, hi);
            switch (i % 4) {
            case 0: // anything
                account = accounts.rows[int(rng() % quint64(accounts.rows.size()))][0];
                break;
            case 1: // "what the ledger showed then"
                account = accounts.rows[int(rng() % quint64(accounts.rows.size()))][0];
                k = e;
                break;
            case 2: // "as we know it now"
                account = accounts.rows[int(rng() % quint64(accounts.rows.size()))][0];
                k = hi + 365 * 86'400'000'000LL;
                break;
            case 3: { // right at a correction's edges, on its account
                const QStringList &row = odd.rows[int(rng() % quint64(odd.rows.size()))];
                account = row[0];
                const qint64 edge = row[1 + int(rng() % 2)].toLongLong() + qint64(rng() % 3) - 1;
                if (rng() % 2)
                    e = edge;
                else
                    k = edge;
                break;
            }
            }
            const auto r = m_admin->exec(
                QStringLiteral(
                    "SELECT ledger.balance_minor($1, E, K), ledger.balance_minor_naive($1, E, K) "
                    "FROM (SELECT timestamptz 'epoch' + $2::bigint * interval '1 microsecond' AS "
                    "E, "
                    "             timestamptz 'epoch' + $3::bigint * interval '1 microsecond' AS "
                    "K) t"),
                {account, QString::number(e), QString::number(k)});
            QVERIFY2(r.ok, qPrintable(r.message));
            QVERIFY2(r.rows[0][0] == r.rows[0][1],
                     qPrintable(QStringLiteral("account %1, E %2, K %3: %4 vs naive %5")
                                    .arg(account)
                                    .arg(e)
                                    .arg(k)
                                    .arg(r.rows[0][0], r.rows[0][1])));
            ++compared;
        }
        QCOMPARE(compared, 200);
    }

    void aLedgerThatMovedOnIsRefused()
    {
        const DemoHistory history = plan(500, 9);
        // Someone posts after the plan was made: the history would land behind it.
        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const auto posted = writer.exec(QStringLiteral(R"sql(
            SELECT ledger.post_transaction(jsonb_build_object(
                'idempotency_key', 'moved-on', 'effective_at', now(), 'description', 'meanwhile',
                'legs', jsonb_build_array(
                    jsonb_build_object('account', '1000-CASH-EUR', 'amount', '1.00', 'currency', 'EUR'),
                    jsonb_build_object('account', '4000-FEES-EUR', 'amount', '-1.00', 'currency', 'EUR'))))
            )sql"));
        QVERIFY2(posted.ok, qPrintable(posted.message));
        const qint64 before = number(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        try {
            load(history);
            QFAIL("a history behind the ledger's latest entry was loaded");
        } catch (const DbException &e) {
            QCOMPARE(e.error().kind, Error::Kind::Conflict);
            QVERIFY2(e.error().message.contains(QLatin1String("run the seed again")), e.what());
        }
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM ledger.transactions")), before);
        // Planned again, it goes in after the new posting.
        load(plan(500, 9));
        const QStringList broken = violations();
        QVERIFY2(broken.isEmpty(), qPrintable(broken.join(QLatin1Char('\n'))));
    }

    void cancellingRollsBack()
    {
        // Big enough for a progress call in the middle of the entries' COPY.
        const DemoHistory history = plan(10000, 10);
        const qint64 transactions =
            number(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        const qint64 events = number(QStringLiteral("SELECT count(*) FROM audit.events"));
        Connection connection(m_db.adminDsn());
        SeedLoader::Options rebuild;
        rebuild.rebuildIndexes = SeedLoader::Options::IndexRebuild::Always;
        try {
            SeedLoader(connection)
                .load(
                    history, [](const SeedProgress &p) { return p.rows < 12000; }, rebuild);
            QFAIL("the load was not cancelled");
        } catch (const DbException &e) {
            QVERIFY2(e.error().message.contains(QLatin1String("cancelled")), e.what());
        }
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM ledger.transactions")), transactions);
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM audit.events")), events);
        QCOMPARE(number(QStringLiteral("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                                       "AND conrelid = 'ledger.entries'::regclass")),
                 qint64(2));
        QCOMPARE(number(QStringLiteral(
                     "SELECT count(*) FROM pg_index WHERE indrelid = 'ledger.entries'::regclass")),
                 m_entryIndexes);
        // The connection is still good for the next load.
        const SeedReport report = SeedLoader(connection).load(plan(300, 11));
        QCOMPARE(report.transactions, qint64(300));
        const QStringList broken = violations();
        QVERIFY2(broken.isEmpty(), qPrintable(broken.join(QLatin1Char('\n'))));
    }
};

QTEST_GUILESS_MAIN(TestSeed)
#include "tst_seed.moc"
