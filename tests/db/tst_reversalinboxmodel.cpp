// ReversalInboxModel against a real server with a few thousand reversal requests (made
// set-based as the superuser): under QAbstractItemModelTester, its rows in every server sort
// (age, amount, requester, reason, id; both directions) and under every filter (reason,
// requester, account, amount range, age, mine, states) are exactly the rows and the order of
// an independent SQL query over the ledger's own tables; paging loads pages of the asked
// size, a superseded query's page is dropped, own requests are flagged.

#include "ReversalInboxModel.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/ReversalService.h"
#include "db/Connection.h"
#include "db/DbWorker.h"
#include "db/LedgerRepository.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace ledger;

namespace {

constexpr int Transactions = 3000;
const QString Me = QStringLiteral("sam_supervisor");

} // namespace

class TestReversalInboxModel : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    std::unique_ptr<DbWorker> m_worker;
    std::unique_ptr<ReversalService> m_service;

    // Every row the model can load for the query, in its order.
    static QList<qint64> loadAll(ReversalInboxModel &model)
    {
        QList<qint64> ids;
        if (!test::waitForModel(&model, [&] { return !model.isLoading(); }))
            return {-1};
        while (model.canFetchMore({})) {
            const int before = model.rowCount();
            model.fetchMore({});
            if (!test::waitForModel(
                    &model, [&] { return !model.isLoading() && model.rowCount() > before; }))
                return {-2};
        }
        for (int r = 0; r < model.rowCount(); ++r)
            ids << model.index(r, 0).data(ReversalInboxModel::RequestIdRole).toLongLong();
        return ids;
    }

    QList<qint64> expected(const QString &where, const QString &orderBy)
    {
        // The same question asked of the tables directly: the original's debits (in its
        // currency's units) and accounts, the state derived from the decision.
        const auto r = m_admin->exec(
            QStringLiteral(
                "WITH q AS ("
                " SELECT r.id, r.reason_code, r.requested_by, r.requested_at,"
                "  coalesce(d.decision, 'pending') AS state,"
                "  (SELECT sum(e.amount) FILTER (WHERE e.amount > 0) FROM ledger.entries e"
                "    WHERE e.transaction_id = r.transaction_id) AS debits,"
                "  (SELECT array_agg(a.code) FROM ledger.entries e JOIN ledger.accounts a"
                "    ON a.id = e.account_id WHERE e.transaction_id = r.transaction_id) AS accounts"
                " FROM ledger.reversal_requests r"
                " LEFT JOIN ledger.reversal_decisions d ON d.request_id = r.id)"
                " SELECT id FROM q WHERE %1 ORDER BY %2")
                .arg(where, orderBy));
        if (!r.ok)
            qWarning("%s", qPrintable(r.message));
        QList<qint64> ids;
        for (const QStringList &row : r.rows)
            ids << row.first().toLongLong();
        return ids;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        auto r = m_admin->exec(
            QStringLiteral("SELECT ledger.open_account('CARD', 'Card', 'EUR', 'asset'), "
                           "ledger.open_account('BANK', 'Bank', 'EUR', 'asset'), "
                           "ledger.open_account('CUST-1', 'One', 'EUR', 'liability'), "
                           "ledger.open_account('CUST-2', 'Two', 'EUR', 'liability'), "
                           "ledger.open_account('CUST-3', 'Three', 'EUR', 'liability')"));
        QVERIFY2(r.ok, qPrintable(r.message));
        // Thousands of transactions in one batch, amounts 0.01 to 999.99 with repeats (ties
        // that the sort must break the same way every time).
        QList<QByteArray> batch;
        const QStringList debit{QStringLiteral("CARD"), QStringLiteral("BANK")};
        const QStringList credit{QStringLiteral("CUST-1"), QStringLiteral("CUST-2"),
                                 QStringLiteral("CUST-3")};
        for (int i = 0; i < Transactions; ++i) {
            const qint64 cents = 1 + (qint64(i) * 7919) % 99999 / 7 * 7;
            const QString amount =
                QStringLiteral("%1.%2").arg(cents / 100).arg(cents % 100, 2, 10, QLatin1Char('0'));
            batch << QStringLiteral(
                         R"({"idempotency_key": "inbox-%1", "effective_at": "2026-10-01T00:00:00Z",
                          "description": "t%1", "legs": [
                          {"account": "%2", "amount": "%4", "currency": "EUR"},
                          {"account": "%3", "amount": "-%4", "currency": "EUR"}]})")
                         .arg(i)
                         .arg(debit[i % 2], credit[i % 3], amount)
                         .toUtf8();
        }
        // Posted on a worker: the GUI thread never holds a connection.
        DbWorker writer(m_db.dsnFor(QStringLiteral("ledger_writer")),
                        QStringLiteral("tst_reversalinboxmodel writer"));
        auto posted = writer.submit(
            [batch](Connection &c) { return LedgerRepository::postBatch(c, batch).size(); });
        QVERIFY(test::waitForFinished(posted, 120000));
        QVERIFY2(posted.result(),
                 qPrintable(posted.result() ? QString() : posted.result().error().describe()));
        QCOMPARE(posted.result().value(), qsizetype(Transactions));
        // One request per transaction, set-based, with requesters, reasons and ages spread
        // (some share a time), and a fifth of them rejected.
        r = m_admin->exec(QStringLiteral(
            "INSERT INTO ledger.reversal_requests (transaction_id, reason_code, note, requested_by,"
            " requested_role, requested_at, attempt)"
            " SELECT t.id, (ARRAY['DUPLICATE','FRAUD','OTHER','CUSTOMER_DISPUTE'])[1 + t.id % 4],"
            "  'note ' || t.id, (ARRAY['olivia_operator','oscar_operator','sam_supervisor'])[1 + "
            "(t.id * 13) % 3], 'test', now() - make_interval(secs => (t.id * 7919) % 400000 / 10 * "
            "10), 1 FROM ledger.transactions t"));
        QVERIFY2(r.ok, qPrintable(r.message));
        r = m_admin->exec(QStringLiteral(
            "INSERT INTO ledger.reversal_decisions (request_id, decision, note, decided_by, "
            "decided_role) SELECT id, 'rejected', 'no', 'sue_supervisor', 'test' FROM "
            "ledger.reversal_requests WHERE id % 5 = 0"));
        QVERIFY2(r.ok, qPrintable(r.message));
        m_worker = std::make_unique<DbWorker>(m_db.dsnFor(QStringLiteral("console_supervisor"), Me),
                                              QStringLiteral("tst_reversalinboxmodel"));
        m_service = std::make_unique<ReversalService>(m_worker.get());
    }

    void cleanupTestCase()
    {
        m_service.reset();
        m_worker.reset();
    }

    void sortsAndFiltersEqualSql_data()
    {
        QTest::addColumn<int>("column");
        QTest::addColumn<bool>("descending");
        QTest::addColumn<QString>("orderBy");
        // Ties broken by the age, then the request id, in the sort's direction.
        QTest::newRow("age, oldest first")
            << int(ReversalInboxModel::RequestedAt) << false << QStringLiteral("requested_at, id");
        QTest::newRow("age, newest first") << int(ReversalInboxModel::RequestedAt) << true
                                           << QStringLiteral("requested_at DESC, id DESC");
        QTest::newRow("amount") << int(ReversalInboxModel::Amount) << false
                                << QStringLiteral("debits, id");
        QTest::newRow("amount, largest first")
            << int(ReversalInboxModel::Amount) << true << QStringLiteral("debits DESC, id DESC");
        QTest::newRow("requester") << int(ReversalInboxModel::Requester) << false
                                   << QStringLiteral("requested_by, requested_at, id");
        QTest::newRow("reason, descending")
            << int(ReversalInboxModel::Reason) << true
            << QStringLiteral("reason_code DESC, requested_at DESC, id DESC");
        QTest::newRow("id") << int(ReversalInboxModel::Id) << false << QStringLiteral("id");
    }

    void sortsAndFiltersEqualSql()
    {
        QFETCH(int, column);
        QFETCH(bool, descending);
        QFETCH(QString, orderBy);
        ReversalInboxModel model(m_service.get(), nullptr, 500);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.sort(column, descending ? Qt::DescendingOrder : Qt::AscendingOrder);
        QCOMPARE(model.query().descending, descending);

        struct Case
        {
            const char *name;
            std::function<void(ReversalInboxQuery &)> set;
            QString where;
        };
        const QList<Case> cases = {
            {"pending", [](ReversalInboxQuery &) {}, QStringLiteral("state = 'pending'")},
            {"all states", [](ReversalInboxQuery &q) { q.states.clear(); }, QStringLiteral("true")},
            {"rejected", [](ReversalInboxQuery &q) { q.states = {QStringLiteral("rejected")}; },
             QStringLiteral("state = 'rejected'")},
            {"reason", [](ReversalInboxQuery &q) { q.reasonCode = QStringLiteral("FRAUD"); },
             QStringLiteral("state = 'pending' AND reason_code = 'FRAUD'")},
            {"requester",
             [](ReversalInboxQuery &q) { q.requestedBy = QStringLiteral("oscar_operator"); },
             QStringLiteral("state = 'pending' AND requested_by = 'oscar_operator'")},
            {"mine, every state",
             [](ReversalInboxQuery &q) {
                 q.mineOnly = true;
                 q.states.clear();
             },
             QStringLiteral("requested_by = 'sam_supervisor'")},
            {"account", [](ReversalInboxQuery &q) { q.account = QStringLiteral("CUST-2"); },
             QStringLiteral("state = 'pending' AND 'CUST-2' = ANY (accounts)")},
            {"amount range",
             [](ReversalInboxQuery &q) {
                 q.minAmount = QStringLiteral("100.00");
                 q.maxAmount = QStringLiteral("250.5");
             },
             QStringLiteral("state = 'pending' AND debits BETWEEN 10000 AND 25050")},
            {"older than a day", [](ReversalInboxQuery &q) { q.minAgeSeconds = 86400; },
             QStringLiteral("state = 'pending' AND requested_at <= now() - interval '1 day'")},
            {"reason, account and amount",
             [](ReversalInboxQuery &q) {
                 q.reasonCode = QStringLiteral("OTHER");
                 q.account = QStringLiteral("BANK");
                 q.minAmount = QStringLiteral("500");
             },
             QStringLiteral("state = 'pending' AND reason_code = 'OTHER' AND 'BANK' = ANY "
                            "(accounts) AND debits >= 50000")},
        };
        for (const Case &c : cases) {
            ReversalInboxQuery q;
            q.sort = model.query().sort;
            q.descending = model.query().descending;
            c.set(q);
            model.setQuery(q);
            const QList<qint64> got = loadAll(model);
            const QList<qint64> want = expected(c.where, orderBy);
            QVERIFY2(!want.isEmpty(), c.name);
            QVERIFY2(got == want, qPrintable(QStringLiteral("%1: %2 rows, SQL %3; first %4 vs %5")
                                                 .arg(QLatin1String(c.name))
                                                 .arg(got.size())
                                                 .arg(want.size())
                                                 .arg(got.value(0))
                                                 .arg(want.value(0))));
            QCOMPARE(model.total(), qint64(want.size()));
        }
    }

    void ownRequestsAreFlaggedAndPagesAreSized()
    {
        ReversalInboxModel model(m_service.get(), nullptr, 100);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy pages(&model, &ReversalInboxModel::pageLoaded);
        model.refresh();
        QVERIFY(
            test::waitForModel(&model, [&] { return !model.isLoading() && model.rowCount() > 0; }));
        QCOMPARE(model.rowCount(), 100); // one page, not everything
        QVERIFY(model.canFetchMore({}));
        QVERIFY(model.total() > 100);
        int own = 0;
        for (int r = 0; r < model.rowCount(); ++r) {
            const QModelIndex i = model.index(r, ReversalInboxModel::Requester);
            const bool mine = i.data().toString() == Me;
            QCOMPARE(i.data(ReversalInboxModel::OwnRequestRole).toBool(), mine);
            QCOMPARE(i.data(Qt::ForegroundRole).isValid(), mine);
            own += mine ? 1 : 0;
        }
        QVERIFY(own > 0);

        // A query replaced before its page arrived: only the newer one's rows come in.
        ReversalInboxQuery fraud;
        fraud.reasonCode = QStringLiteral("FRAUD");
        ReversalInboxQuery other;
        other.reasonCode = QStringLiteral("OTHER");
        model.setQuery(fraud);
        model.setQuery(other);
        QVERIFY(
            test::waitForModel(&model, [&] { return !model.isLoading() && model.rowCount() > 0; }));
        for (int r = 0; r < model.rowCount(); ++r)
            QCOMPARE(model.row(r).reasonCode, QStringLiteral("OTHER"));
    }
};

QTEST_MAIN(TestReversalInboxModel)
#include "tst_reversalinboxmodel.moc"
