// The maker-checker reversal workflow against a real server.

#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/ReversalRepository.h"

#include <QTest>

using namespace ledger;
using test::SqlSession;

class TestReversals : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_writer, m_operator, m_supervisor, m_otherSupervisor, m_auditor;
    int m_key = 0;

    qint64 post(const QString &amount,
                const QString &effective = QStringLiteral("2026-11-01T09:00:00Z"))
    {
        return LedgerRepository::
            post(*m_writer,
                 QStringLiteral(
                     R"({"idempotency_key": "rev-%1", "effective_at": "%3", "description": "card payment",
            "legs": [{"account": "CARD", "amount": "%2", "currency": "EUR"}, {"account": "CUST", "amount": "-%2", "currency": "EUR"}]})")
                     .arg(++m_key)
                     .arg(amount, effective)
                     .toUtf8())
                .transactionId;
    }

    // A supervisor approves what the preview shows.
    static ReversalDecision approve(Connection &c, qint64 request, const QString &note = {})
    {
        return ReversalRepository::approve(c, request,
                                           ReversalRepository::preview(c, request).digest, note);
    }

    QString balance(const QString &account)
    {
        return LedgerRepository::balance(*m_writer, account).amount;
    }

    template <class F> QString sqlStateOf(F f)
    {
        try {
            f();
        } catch (const DbException &e) {
            return e.error().sqlState;
        }
        return QStringLiteral("(no error)");
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CARD', 'Card settlement', 'EUR', 'asset')"))
                    .ok);
        QVERIFY(
            m_admin
                ->exec(QStringLiteral(
                    "SELECT ledger.open_account('CUST', 'Customer', 'EUR', 'liability', false)"))
                .ok);
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SELECT ledger.open_account('CUST2', 'Another customer', "
                                          "'EUR', 'liability', false)"))
                    .ok);
        m_writer = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_operator = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia_operator")));
        m_supervisor = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam_supervisor")));
        m_otherSupervisor = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sue_supervisor")));
        m_auditor = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("console_auditor")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void approvedRequestPostsTheMirror()
    {
        const qint64 tx = post(QStringLiteral("40.00"));
        QCOMPARE(balance(QStringLiteral("CUST")), QStringLiteral("40.00"));
        const qint64 request =
            ReversalRepository::request(*m_operator, tx, QStringLiteral("DUPLICATE"),
                                        QStringLiteral("Posted twice by the card feed"));
        auto pending = ReversalRepository::list(*m_operator, QStringLiteral("pending"));
        QCOMPARE(pending.size(), 1);
        QCOMPARE(pending.first().requestedBy, QStringLiteral("olivia_operator"));
        QCOMPARE(balance(QStringLiteral("CUST")),
                 QStringLiteral("40.00")); // nothing moves before approval

        const auto d = approve(*m_supervisor, request, QStringLiteral("checked the feed"));
        QVERIFY(d.reversalTransactionId > tx);
        QCOMPARE(d.rebookTransactionId, 0);
        QCOMPARE(balance(QStringLiteral("CUST")), QStringLiteral("0.00"));
        QCOMPARE(balance(QStringLiteral("CARD")), QStringLiteral("0.00"));

        // The mirror: same effective time, references the original, legs negated.
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT format('%s|%s|%s', kind, reverses, effective_at = "
                                    "(SELECT effective_at FROM ledger.transactions WHERE id = $2)) "
                                    "FROM ledger.transactions WHERE id = $1"),
                     {QString::number(d.reversalTransactionId), QString::number(tx)}),
                 QStringLiteral("reversal|%1|t").arg(tx));
        // Before the reversal was recorded, the ledger showed 40.00 for that business time.
        const auto known =
            m_admin->scalar(QStringLiteral("SELECT recorded_at - interval '1 microsecond' FROM "
                                           "ledger.transactions WHERE id = $1"),
                            {QString::number(d.reversalTransactionId)});
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT amount FROM ledger.balance('CUST', "
                                                "'2026-11-02T00:00:00Z', $1::timestamptz)"),
                                 {known}),
                 QStringLiteral("40.00"));

        const auto all = ReversalRepository::list(*m_auditor, QString());
        QCOMPARE(all.first().state, QStringLiteral("approved"));
        QCOMPARE(all.first().decidedBy, QStringLiteral("sam_supervisor"));
        QCOMPARE(all.first().reversalTransactionId, d.reversalTransactionId);
        // Audited: requested and approved, by whom.
        QCOMPARE(
            m_admin->scalar(
                QStringLiteral("SELECT string_agg(action || ':' || operator, ',' ORDER BY id) FROM "
                               "audit.events "
                               "WHERE object_type = 'reversal_request' AND object_id = $1"),
                {QString::number(request)}),
            QStringLiteral(
                "reversal.requested:olivia_operator,read.reversal_request:sam_supervisor,"
                "reversal.preview_asked:sam_supervisor,reversal.approved:sam_supervisor"));
    }

    void reversedAtMostOnce()
    {
        const qint64 tx = post(QStringLiteral("5.00"));
        const qint64 request = ReversalRepository::request(
            *m_operator, tx, QStringLiteral("WRONG_AMOUNT"), QStringLiteral("should be 4.00"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_operator, tx, QStringLiteral("WRONG_AMOUNT"),
                                                 QStringLiteral("again"));
                 }),
                 QStringLiteral("LG033")); // one pending request at a time
        const auto d = approve(*m_supervisor, request);
        QCOMPARE(sqlStateOf([&] { approve(*m_otherSupervisor, request); }),
                 QStringLiteral("LG035"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_operator, tx, QStringLiteral("WRONG_AMOUNT"),
                                                 QStringLiteral("once more"));
                 }),
                 QStringLiteral("LG032"));
        // A reversal is not itself reversed.
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_operator, d.reversalTransactionId,
                                                 QStringLiteral("OTHER"), QStringLiteral("undo"));
                 }),
                 QStringLiteral("LG032"));
        // Even the owner cannot add a second reversal by hand.
        const auto r = m_admin->exec(
            QStringLiteral("SET LOCAL ROLE ledger_owner; SELECT ledger.post_normalized('manual', "
                           "(SELECT ledger.normalize_request(jsonb_build_object('effective_at', "
                           "now(), 'legs', "
                           "jsonb_build_array(jsonb_build_object('account','CARD','amount','1','"
                           "currency','EUR'), "
                           "jsonb_build_object('account','CUST','amount','-1','currency','EUR')))))"
                           ", 'reversal', %1)")
                .arg(tx));
        QCOMPARE(r.sqlState, QStringLiteral("23505"));
    }

    void fourEyes()
    {
        const qint64 tx = post(QStringLiteral("6.00"));
        // A supervisor who requests may not approve their own request.
        const qint64 request = ReversalRepository::request(
            *m_supervisor, tx, QStringLiteral("FRAUD"), QStringLiteral("card reported stolen"));
        try {
            approve(*m_supervisor, request);
            QFAIL("a requester approved their own request");
        } catch (const DbException &e) {
            QCOMPARE(e.error().sqlState, QStringLiteral("LG036"));
            QVERIFY(e.error().message.contains(QLatin1String("four-eyes")));
        }
        // Operators and auditors may not decide at all; auditors may not request.
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::approve(*m_operator, request, QStringLiteral("x"));
                 }),
                 QStringLiteral("42501"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::reject(*m_auditor, request, QStringLiteral("no"));
                 }),
                 QStringLiteral("42501"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_auditor, tx, QStringLiteral("FRAUD"),
                                                 QStringLiteral("x"));
                 }),
                 QStringLiteral("42501"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_writer, tx, QStringLiteral("FRAUD"),
                                                 QStringLiteral("x"));
                 }),
                 QStringLiteral("42501"));
        // Someone else may.
        QVERIFY(approve(*m_otherSupervisor, request).reversalTransactionId > 0);
    }

    void rejectionPostsNothing()
    {
        const qint64 tx = post(QStringLiteral("7.00"));
        const qint64 request =
            ReversalRepository::request(*m_operator, tx, QStringLiteral("CUSTOMER_DISPUTE"),
                                        QStringLiteral("customer says no"));
        const QString before =
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::reject(*m_supervisor, request, QStringLiteral("  "));
                 }),
                 QStringLiteral("LG030"));
        ReversalRepository::reject(*m_supervisor, request,
                                   QStringLiteral("receipt shows the customer signed"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions")),
                 before);
        QCOMPARE(ReversalRepository::list(*m_operator, QStringLiteral("rejected")).first().id,
                 request);
        // After a rejection a new request may be made.
        QVERIFY(ReversalRepository::request(*m_operator, tx, QStringLiteral("CUSTOMER_DISPUTE"),
                                            QStringLiteral("new evidence")) > request);
    }

    void reverseAndRebook()
    {
        const qint64 tx = post(QStringLiteral("50.00"), QStringLiteral("2026-11-05T12:00:00Z"));
        const QByteArray corrected =
            R"json({"effective_at": "2026-11-05T12:00:00Z", "description": "card payment (corrected)",
            "legs": [{"account": "CARD", "amount": "50.00", "currency": "EUR"}, {"account": "CUST2", "amount": "-50.00", "currency": "EUR"}]})json";
        const qint64 request =
            ReversalRepository::request(*m_operator, tx, QStringLiteral("WRONG_ACCOUNT"),
                                        QStringLiteral("belongs to CUST2"), corrected);
        const qint64 before =
            LedgerRepository::balance(*m_writer, QStringLiteral("CUST")).minorUnits;
        const auto d = approve(*m_supervisor, request);
        QVERIFY(d.reversalTransactionId > 0);
        QVERIFY(d.rebookTransactionId > d.reversalTransactionId);
        QCOMPARE(balance(QStringLiteral("CUST2")), QStringLiteral("50.00"));
        QCOMPARE(LedgerRepository::balance(*m_writer, QStringLiteral("CUST")).minorUnits,
                 before - 5000);
        // A bad correction is refused when requested, not later at approval.
        const qint64 tx2 = post(QStringLiteral("1.00"));
        QCOMPARE(
            sqlStateOf([&] {
                ReversalRepository::request(
                    *m_operator, tx2, QStringLiteral("WRONG_AMOUNT"), QStringLiteral("x"),
                    R"({"effective_at": "2026-11-05T12:00:00Z", "legs": [{"account": "CARD", "amount": "1", "currency": "EUR"},
                                                     {"account": "CUST", "amount": "-0.5", "currency": "EUR"}]})");
            }),
            QStringLiteral("LG016"));
    }

    void badRequests()
    {
        const qint64 tx = post(QStringLiteral("2.00"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_operator, tx, QStringLiteral("NOPE"),
                                                 QStringLiteral("x"));
                 }),
                 QStringLiteral("LG030"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_operator, tx, QStringLiteral("OTHER"),
                                                 QStringLiteral(" "));
                 }),
                 QStringLiteral("LG030"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_operator, 999999, QStringLiteral("OTHER"),
                                                 QStringLiteral("x"));
                 }),
                 QStringLiteral("LG031"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::approve(*m_supervisor, 999999, QStringLiteral("x"));
                 }),
                 QStringLiteral("LG034"));
        // Requests and decisions are append-only rows.
        QCOMPARE(
            m_admin->exec(QStringLiteral("UPDATE ledger.reversal_requests SET note = 'changed'"))
                .sqlState,
            QStringLiteral("LG001"));
        QCOMPARE(m_admin->exec(QStringLiteral("DELETE FROM ledger.reversal_decisions")).sqlState,
                 QStringLiteral("LG001"));
        QVERIFY(!ReversalRepository::reasonCodes(*m_operator).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestReversals)
#include "tst_reversals.moc"
