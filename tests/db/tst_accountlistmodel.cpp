#include "AccountFilterProxyModel.h"
#include "AccountListModel.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/DbWorker.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace ledger;

class TestAccountListModel : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

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
    }

    void loadsFromTheDatabase()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AccountListModel model(&worker);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        QSignalSpy loading(&model, &AccountListModel::loadingChanged);
        model.refresh();
        QVERIFY(model.isLoading());
        QTRY_COMPARE(loaded.count(), 1);
        QVERIFY(!model.isLoading());
        QCOMPARE(loaded.first().first().toInt(), 251);
        QCOMPARE(model.rowCount(), 251);
        QCOMPARE(model.columnCount(), int(AccountListModel::ColumnCount));
        QCOMPARE(loading.count(), 2);

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
        QCOMPARE(model.index(0, AccountListModel::Balance).data().toString(),
                 QStringLiteral("0.00"));
        QCOMPARE(model.headerData(AccountListModel::Code, Qt::Horizontal).toString(),
                 QStringLiteral("Code"));

        // A refresh sees new accounts.
        test::SqlSession admin(m_db.adminDsn());
        QVERIFY(admin
                    .exec(QStringLiteral(
                        "SELECT ledger.open_account('0001-NEW', 'New', 'EUR', 'asset')"))
                    .ok);
        model.refresh();
        QTRY_COMPARE(loaded.count(), 2);
        QCOMPARE(model.rowCount(), 252);
        QCOMPARE(model.index(0, 0).data().toString(), QStringLiteral("0001-NEW"));
    }

    void navigatorFiltersByTextKindAndCurrency()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AccountListModel model(&worker);
        AccountFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        QAbstractItemModelTester tester(&proxy,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        model.refresh();
        QTRY_COMPARE(loaded.count(), 1);
        const int all = model.rowCount();
        QCOMPARE(proxy.rowCount(), all);
        proxy.setCurrency(QStringLiteral("USD")); // every third deposit account
        QCOMPARE(proxy.rowCount(), 83);
        proxy.setKind(QStringLiteral("asset"));
        QCOMPARE(proxy.rowCount(), 0);
        proxy.setCurrency(QString());
        QCOMPARE(proxy.rowCount(), all - 250); // the assets: cash (and any added since)
        proxy.setKind(QString());
        proxy.setText(QStringLiteral("deposit 12"));    // by name, case-insensitive
        QCOMPARE(proxy.rowCount(), 11);                 // 12, 120..129
        proxy.setText(QStringLiteral("2000-dep-0007")); // by code
        QCOMPARE(proxy.rowCount(), 1);
        proxy.setText(QString());
        QCOMPARE(proxy.rowCount(), all);
    }

    void supersededRefreshIsDropped()
    {
        DbWorker worker(m_db.adminDsn());
        AccountListModel model(&worker);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        model.refresh();
        model.refresh();
        model.refresh();
        QTRY_COMPARE(loaded.count(), 1);
        QTest::qWait(200); // the two older results must not arrive later
        QCOMPARE(loaded.count(), 1);
    }

    void reportsFailureWithoutTouchingRows()
    {
        DbWorker worker(QStringLiteral("host=/nonexistent/socket dbname=ledger user=nobody"));
        AccountListModel model(&worker);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy failed(&model, &AccountListModel::loadFailed);
        model.refresh();
        QTRY_COMPARE(failed.count(), 1);
        const auto error = failed.first().first().value<ledger::Error>();
        QCOMPARE(error.kind, Error::Kind::Connection);
        QCOMPARE(model.rowCount(), 0);
        QVERIFY(!model.isLoading());
    }

    void roleWithoutReadRightsGetsAPermissionError()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_broker")));
        AccountListModel model(&worker);
        QSignalSpy failed(&model, &AccountListModel::loadFailed);
        model.refresh();
        QTRY_COMPARE(failed.count(), 1);
        const auto error = failed.first().first().value<ledger::Error>();
        QVERIFY2(error.kind == Error::Kind::Permission,
                 qPrintable(error.describe() + QLatin1Char(' ') + error.detail));
        QCOMPARE(error.sqlState, QStringLiteral("42501"));
    }

    // The navigator never cuts the list short (it once stopped at 10,000 without a word).
    void everyAccountIsListedPastTenThousand()
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
        AccountListModel model(&worker);
        QSignalSpy loaded(&model, &AccountListModel::loaded);
        model.refresh();
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 30000);
        QCOMPARE(model.rowCount(), expected);
        QCOMPARE(model.index(model.rowCount() - 1, AccountListModel::Code).data().toString(),
                 QStringLiteral("9000-MANY-10001"));
    }
};

QTEST_GUILESS_MAIN(TestAccountListModel)
#include "tst_accountlistmodel.moc"
