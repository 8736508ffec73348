// The account navigator's model against a real database: lazy pages by position with an
// exact count, every sort and filter equal to the same question asked in SQL, locating an
// account, superseded loads, errors, and a ledger with more than ten thousand accounts
// loaded only where looked at.

#include "AccountListModel.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "db/DbWorker.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace ledger;
using test::waitForCount;
using test::waitForFinished;
using test::waitForModel;

class TestAccountListModel : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

    // Every code, in the model's order: each row read the way a scrolling view reads it.
    static QStringList allCodes(AccountListModel &model)
    {
        QStringList codes;
        for (int row = 0; row < model.rowCount(); ++row) {
            const QModelIndex i = model.index(row, AccountListModel::Code);
            if (!waitForModel(&model,
                              [&] { return i.data(AccountListModel::LoadedRole).toBool(); }))
                return {QStringLiteral("row %1 never arrived").arg(row)};
            codes << i.data().toString();
        }
        return codes;
    }

    QStringList sqlCodes(const QString &whereAndOrder, const QStringList &params = {})
    {
        test::SqlSession admin(m_db.adminDsn());
        const auto r = admin.exec(
            QStringLiteral("SELECT code FROM ledger.account_list ") + whereAndOrder, params);
        QStringList out;
        for (const QStringList &row : r.rows)
            out << row[0];
        return out;
    }

    static void loadAndWait(AccountListModel &model)
    {
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        model.refresh();
        QVERIFY(waitForCount(loaded, 1));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        test::SqlSession admin(m_db.adminDsn());
        QVERIFY(admin
                    .exec(QStringLiteral(
                        "SELECT ledger.open_account('2000-DEP-' || lpad(i::text, 4, '0'), "
                        "'Deposit ' || i, CASE WHEN i % 3 = 0 THEN 'USD' ELSE 'EUR' END, "
                        "'liability', i % 2 = 0) FROM generate_series(1, 250) i"))
                    .ok);
        QVERIFY(admin
                    .exec(QStringLiteral(
                        "SELECT ledger.open_account('1000-CASH', 'Cash', 'EUR', 'asset')"))
                    .ok);
        // Balances to sort by: a few deposits credited different amounts.
        QVERIFY(
            admin
                .exec(QStringLiteral(
                    "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                    "'alm-' || i, 'effective_at', now(), 'legs', jsonb_build_array("
                    "jsonb_build_object('account', '1000-CASH', 'amount', (i * 7 % 50 + 1)::text, "
                    "'currency', 'EUR'), jsonb_build_object('account', '2000-DEP-' || "
                    "lpad(i::text, 4, '0'), 'amount', (-(i * 7 % 50 + 1))::text, "
                    "'currency', 'EUR')))) FROM generate_series(1, 40) i WHERE i % 3 <> 0"))
                .ok);
    }

    void loadsLazilyFromTheDatabase()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        model.setPageSize(50);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        QSignalSpy currencies(&model, &AccountListModel::currenciesChanged);
        model.refresh();
        QVERIFY(model.isLoading());
        QVERIFY(waitForCount(loaded, 1));
        QCOMPARE(loaded.first().first().toInt(), 251);
        QCOMPARE(model.rowCount(), 251);
        QCOMPARE(model.cachedPageCount(), 1); // the first page came with the count
        QCOMPARE(currencies.count(), 1);
        QCOMPARE(currencies.first().first().toStringList(),
                 (QStringList{QStringLiteral("EUR"), QStringLiteral("USD")}));
        QCOMPARE(model.columnCount(), int(AccountListModel::ColumnCount));

        // Ordered by code; values as stored.
        const QModelIndex first = model.index(0, AccountListModel::Code);
        QCOMPARE(first.data().toString(), QStringLiteral("1000-CASH"));
        QCOMPARE(model.index(0, AccountListModel::Kind).data().toString(), QStringLiteral("asset"));
        QCOMPARE(model.index(0, AccountListModel::NormalSide).data().toString(),
                 QStringLiteral("debit"));
        QCOMPARE(model.index(3, AccountListModel::Currency).data().toString(),
                 QStringLiteral("USD"));
        QCOMPARE(model.index(3, AccountListModel::NormalSide).data().toString(),
                 QStringLiteral("credit"));
        QVERIFY(first.data(AccountListModel::AccountIdRole).toLongLong() > 0);
        QCOMPARE(model.index(2, 0).data(AccountListModel::AllowNegativeRole).toBool(), true);
        QCOMPARE(model.index(1, 0).data(AccountListModel::AllowNegativeRole).toBool(), false);
        QCOMPARE(model.index(1, AccountListModel::Balance).data().toString(),
                 QStringLiteral("8.00")); // deposit 1 credited 8.00, shown on its normal side
        QCOMPARE(model.headerData(AccountListModel::Code, Qt::Horizontal).toString(),
                 QStringLiteral("Code"));

        // A row beyond the first page is asked for when looked at, then arrives.
        const QModelIndex far = model.index(230, AccountListModel::Code);
        QVERIFY(!far.data(AccountListModel::LoadedRole).toBool());
        QVERIFY(
            waitForModel(&model, [&] { return far.data(AccountListModel::LoadedRole).toBool(); }));
        QCOMPARE(far.data().toString(), QStringLiteral("2000-DEP-0230"));
        QCOMPARE(model.cachedPageCount(), 2);

        // A refresh sees new accounts.
        test::SqlSession admin(m_db.adminDsn());
        QVERIFY(admin
                    .exec(QStringLiteral(
                        "SELECT ledger.open_account('0001-NEW', 'New', 'EUR', 'asset')"))
                    .ok);
        model.refresh();
        QVERIFY(waitForCount(loaded, 2));
        QCOMPARE(model.rowCount(), 252);
        QCOMPARE(model.index(0, 0).data().toString(), QStringLiteral("0001-NEW"));
        QVERIFY(admin.exec(QStringLiteral("SELECT 1")).ok);
    }

    void everySortIsTheServersOrder_data()
    {
        QTest::addColumn<int>("column");
        QTest::addColumn<bool>("descending");
        QTest::addColumn<QString>("orderBy");
        const QList<std::pair<int, QString>> columns = {
            {AccountListModel::Code, QStringLiteral("code")},
            {AccountListModel::Name, QStringLiteral("name %1, code %1")},
            {AccountListModel::Kind, QStringLiteral("kind %1, code %1")},
            {AccountListModel::Currency, QStringLiteral("currency %1, code %1")},
            {AccountListModel::Balance, QStringLiteral("currency, balance_minor %1, code %1")},
            {AccountListModel::NormalSide, QStringLiteral("normal_side %1, code %1")},
            {AccountListModel::OpenedAt, QStringLiteral("opened_at %1, code %1")}};
        for (const auto &[column, order] : columns)
            for (const bool descending : {false, true}) {
                const QString dir = descending ? QStringLiteral("DESC") : QStringLiteral("ASC");
                QString by = order.arg(dir);
                if (column == AccountListModel::Code)
                    by = QStringLiteral("code ") + dir;
                QTest::addRow("%d %s", column, descending ? "desc" : "asc")
                    << column << descending << by;
            }
    }

    // Small pages, few kept: every row comes through pages (keyset where the order
    // allows, else by position) and equals SQL's own order.
    void everySortIsTheServersOrder()
    {
        QFETCH(int, column);
        QFETCH(bool, descending);
        QFETCH(QString, orderBy);
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        model.setPageSize(16);
        model.setMaxCachedPages(4);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.sort(column, descending ? Qt::DescendingOrder : Qt::AscendingOrder);
        loadAndWait(model);
        const QStringList expected = sqlCodes(QStringLiteral("ORDER BY ") + orderBy);
        QCOMPARE(allCodes(model), expected);
        QVERIFY(model.cachedPageCount() <= 4);
        // Sorting again reloads in the new order.
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        model.sort(AccountListModel::Code, Qt::AscendingOrder);
        if (column != AccountListModel::Code || descending)
            QVERIFY(waitForCount(loaded, 1));
        QCOMPARE(model.index(0, 0).data().toString(),
                 sqlCodes(QStringLiteral("ORDER BY code")).first());
    }

    void filtersOnTheServer()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        loadAndWait(model);
        const int all = model.rowCount();
        const auto filtered = [&](const QString &text, const QString &kind,
                                  const QString &currency) {
            const qsizetype before = loaded.count();
            model.setFilter(text, kind, currency);
            if (!waitForCount(loaded, before + 1))
                return QStringList{QStringLiteral("never loaded")};
            return allCodes(model);
        };
        QCOMPARE(filtered({}, {}, QStringLiteral("USD")),
                 sqlCodes(QStringLiteral("WHERE currency = 'USD' ORDER BY code")));
        QCOMPARE(model.rowCount(), 83); // every third deposit account
        QCOMPARE(filtered({}, QStringLiteral("asset"), QStringLiteral("USD")), QStringList());
        QCOMPARE(filtered({}, QStringLiteral("asset"), {}),
                 sqlCodes(QStringLiteral("WHERE kind = 'asset' ORDER BY code")));
        QCOMPARE(filtered(QStringLiteral("deposit 12"), {}, {}).size(), 11); // 12, 120..129
        QCOMPARE(filtered(QStringLiteral("2000-dep-0007"), {}, {}),
                 QStringList{QStringLiteral("2000-DEP-0007")}); // by code, any case
        // LIKE's wildcards are plain characters here.
        QCOMPARE(filtered(QStringLiteral("%"), {}, {}), QStringList());
        QCOMPARE(filtered(QStringLiteral("_"), {}, {}), QStringList());
        QCOMPARE(filtered({}, {}, {}).size(), all);
    }

    void locatesAnAccountInTheCurrentOrderAndFilter()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        QSignalSpy located(&model, &AccountListModel::located);
        model.sort(AccountListModel::Name, Qt::DescendingOrder);
        loadAndWait(model);
        const QStringList byName = sqlCodes(QStringLiteral("ORDER BY name DESC, code DESC"));
        model.locate(QStringLiteral("2000-DEP-0123"));
        QVERIFY(waitForCount(located, 1));
        QCOMPARE(located.last().at(0).toString(), QStringLiteral("2000-DEP-0123"));
        QCOMPARE(located.last().at(1).toInt(), byName.indexOf(QStringLiteral("2000-DEP-0123")));
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        model.setFilter({}, {}, QStringLiteral("USD"));
        QVERIFY(waitForCount(loaded, 1));
        model.locate(QStringLiteral("2000-DEP-0123")); // USD: listed
        QVERIFY(waitForCount(located, 2));
        QCOMPARE(located.last().at(1).toInt(),
                 sqlCodes(QStringLiteral("WHERE currency = 'USD' ORDER BY name DESC, code DESC"))
                     .indexOf(QStringLiteral("2000-DEP-0123")));
        model.locate(QStringLiteral("2000-DEP-0124")); // EUR: filtered out
        QVERIFY(waitForCount(located, 3));
        QCOMPARE(located.last().at(1).toInt(), -1);
        model.locate(QStringLiteral("NO-SUCH-ACCOUNT"));
        QVERIFY(waitForCount(located, 4));
        QCOMPARE(located.last().at(1).toInt(), -1);
    }

    void supersededRefreshIsDropped()
    {
        DbWorker worker(m_db.adminDsn());
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        QSignalSpy failed(&model, &AccountListModel::loadFailed);
        model.refresh();
        model.setFilter(QStringLiteral("Deposit"), {}, {});
        model.refresh();
        QVERIFY(waitForCount(loaded, 1));
        // The two older results must not arrive later: the worker runs jobs in order, so once
        // a job given after all three has finished and its answer is back here, so are theirs.
        const auto after = worker.submit([](Connection &) { return true; });
        QVERIFY(waitForFinished(after));
        QCOMPARE(loaded.count(), 1);
        QCOMPARE(failed.count(), 0);
        QCOMPARE(model.rowCount(), 250); // the last filter's answer
    }

    void reportsFailureWithoutTouchingRows()
    {
        DbWorker worker(QStringLiteral("host=/nonexistent/socket dbname=ledger user=nobody"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy failed(&model, &AccountListModel::loadFailed);
        model.refresh();
        QVERIFY(waitForCount(failed, 1));
        const auto error = failed.first().first().value<ledger::Error>();
        QCOMPARE(error.kind, Error::Kind::Connection);
        QCOMPARE(model.rowCount(), 0);
        QVERIFY(!model.isLoading());
    }

    void roleWithoutReadRightsGetsAPermissionError()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_broker")));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        QSignalSpy failed(&model, &AccountListModel::loadFailed);
        model.refresh();
        QVERIFY(waitForCount(failed, 1));
        const auto error = failed.first().first().value<ledger::Error>();
        QVERIFY2(error.kind == Error::Kind::Permission,
                 qPrintable(error.describe() + QLatin1Char(' ') + error.detail));
        QCOMPARE(error.sqlState, QStringLiteral("42501"));
    }

    // Past ten thousand accounts the navigator lists them all (it once stopped at 10,000
    // without a word) and loads only the pages looked at.
    void manyAccountsAreLoadedOnlyWhereLookedAt()
    {
        test::SqlSession admin(m_db.adminDsn());
        QVERIFY(admin
                    .exec(QStringLiteral(
                        "SELECT count(ledger.open_account('9000-MANY-' || lpad(i::text, 5, '0'), "
                        "'Many ' || i, 'EUR', 'liability')) FROM generate_series(1, 10001) i"))
                    .ok);
        const int expected =
            admin.scalar(QStringLiteral("SELECT count(*) FROM ledger.accounts")).toInt();
        QVERIFY(expected > 10000);
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        model.setMaxCachedPages(6);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        loadAndWait(model);
        QCOMPARE(model.rowCount(), expected);
        QCOMPARE(model.cachedPageCount(), 1);
        const QModelIndex last = model.index(model.rowCount() - 1, AccountListModel::Code);
        QVERIFY(!last.data(AccountListModel::LoadedRole).toBool());
        QVERIFY(
            waitForModel(&model, [&] { return last.data(AccountListModel::LoadedRole).toBool(); }));
        QCOMPARE(last.data().toString(), QStringLiteral("9000-MANY-10001"));
        // Jumping around: at most six pages are kept.
        for (int row = 0; row < model.rowCount(); row += 997) {
            const QModelIndex i = model.index(row, AccountListModel::Code);
            QVERIFY(waitForModel(&model,
                                 [&] { return i.data(AccountListModel::LoadedRole).toBool(); }));
        }
        QVERIFY(model.cachedPageCount() <= 6);
        const QModelIndex middle = model.index(5000, 0);
        QVERIFY(waitForModel(&model,
                             [&] { return middle.data(AccountListModel::LoadedRole).toBool(); }));
        QCOMPARE(model.index(5000, 0).data().toString(),
                 sqlCodes(QStringLiteral("ORDER BY code OFFSET 5000 LIMIT 1")).value(0));
    }
};

QTEST_GUILESS_MAIN(TestAccountListModel)
#include "tst_accountlistmodel.moc"
