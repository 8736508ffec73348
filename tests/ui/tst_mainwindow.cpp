// The main window offscreen against a real cluster: it opens, loads the accounts through
// the worker, filters, shows a clear banner when the database cannot be reached, and saves
// a screenshot to look at.

#include "AccountListModel.h"
#include "MainWindow.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QDir>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTableView>
#include <QTest>

using namespace ledger;
using test::waitForCount;
using test::waitForFinished;
using test::waitUntil;

class TestMainWindow : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        // SqlSession is test-only raw SQL; product code on this thread would trip the
        // GUI-thread guard, which is the point of it.
        test::SqlSession admin(m_db.adminDsn());
        QVERIFY(admin
                    .exec(QStringLiteral(
                        "SELECT ledger.open_account(format('CUST-%s', lpad(i::text, 6, '0')), "
                        "(ARRAY['Ada Lovelace','Grace Hopper','Katherine Johnson','Edsger "
                        "Dijkstra'])[1 + i % 4] || ' — current account', "
                        "(ARRAY['EUR','USD','GBP'])[1 + i % 3], 'liability', false) FROM "
                        "generate_series(1, 120) i"))
                    .ok);
        QVERIFY(admin
                    .exec(QStringLiteral("SELECT ledger.open_account('1000-CASH-EUR', 'Cash at "
                                         "central bank (EUR)', 'EUR', 'asset')"))
                    .ok);
        QVERIFY(admin
                    .exec(QStringLiteral("SELECT ledger.open_account('4000-FEES-EUR', 'Fee income "
                                         "(EUR)', 'EUR', 'income')"))
                    .ok);
        // Two deposits: 1000.00 and 99.50 (as text "99.50" would sort above "1000.00").
        const QList<QStringList> deposits = {
            {QStringLiteral("mw-1"), QStringLiteral("CUST-000003"), QStringLiteral("1000.00")},
            {QStringLiteral("mw-2"), QStringLiteral("CUST-000006"), QStringLiteral("99.50")}};
        for (const QStringList &d : deposits) {
            const auto r = admin.exec(
                QStringLiteral(
                    "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                    "$1::text, "
                    "'effective_at', now(), 'legs', jsonb_build_array("
                    "jsonb_build_object('account', '1000-CASH-EUR', 'amount', $3::text, "
                    "'currency', 'EUR'), "
                    "jsonb_build_object('account', $2::text, 'amount', '-' || $3, 'currency', "
                    "'EUR'))))"),
                d);
            QVERIFY2(r.ok, qPrintable(r.message));
        }
    }

    void showsAccountsFromTheDatabase()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_operator")),
                        QStringLiteral("tst_mainwindow"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        MainWindow window(&model, QStringLiteral("test_console_operator@ledger"),
                          /*directConnection=*/true);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.windowTitle().contains(QLatin1String("direct connection")));
        QCOMPARE(window.menuBar()->actions().size(), 3);

        // The question each list that arrives answers (recorded after the window has seen it).
        AccountQuery answered;
        bool arrived = false;
        QObject::connect(&model, &AccountListModel::loaded, &window, [&] {
            answered = model.query();
            arrived = true;
        });
        // Until the list for this search text (and order) has arrived.
        const auto listFor = [&](const QString &text, AccountSortKey sort, bool descending) {
            return waitUntil(&model, &AccountListModel::loaded, [&] {
                return arrived && answered.text == text && answered.sort == sort &&
                       answered.descending == descending;
            });
        };
        // Until every job given to the worker so far has finished (it runs them in order).
        const auto workerDone = [&] {
            const auto barrier = worker.submit([](Connection &) { return true; });
            return waitForFinished(barrier) && barrier.result().ok();
        };
        QSignalSpy loaded(&model, &AccountListModel::loaded);

        model.refresh();
        QTableView *view = window.accountView();
        QVERIFY(waitForCount(loaded, 1));
        QCOMPARE(view->model()->rowCount(), 122);
        auto *count = window.findChild<QLabel *>(QStringLiteral("countStatus"));
        QVERIFY(count);
        QCOMPARE(count->text(), QStringLiteral("122 account(s)"));
        QCOMPARE(view->model()->index(0, AccountListModel::Code).data().toString(),
                 QStringLiteral("1000-CASH-EUR"));
        auto *banner = window.findChild<QWidget *>(QStringLiteral("errorBanner"));
        QVERIFY(banner && !banner->isVisible());

        // Typing in the search field filters by code or name.
        auto *search = window.findChild<QLineEdit *>(QStringLiteral("accountSearch"));
        QVERIFY(search);
        // The server filters, once typing pauses.
        QTest::keyClicks(search, QStringLiteral("hopper"));
        QVERIFY(listFor(QStringLiteral("hopper"), AccountSortKey::Code, false));
        QCOMPARE(view->model()->rowCount(), 30);
        search->clear();
        QTest::keyClicks(search, QStringLiteral("fees"));
        QVERIFY(listFor(QStringLiteral("fees"), AccountSortKey::Code, false));
        QCOMPARE(view->model()->rowCount(), 1);
        search->clear();
        QVERIFY(listFor(QString(), AccountSortKey::Code, false));
        QCOMPARE(view->model()->rowCount(), 122);

        // A search the user settles on (Enter) goes on record, once.
        const QString searches = QStringLiteral(
            "SELECT count(*) || ' ' || coalesce(max(details->>'text'), '') || ' ' || "
            "coalesce(max(details->>'matches'), '') FROM audit.events WHERE action = "
            "'search.run' AND details->>'scope' = 'accounts'");
        test::SqlSession admin(m_db.adminDsn());
        QCOMPARE(admin.scalar(searches), QStringLiteral("0  "));
        QTest::keyClicks(search, QStringLiteral("fees"));
        QTest::keyClick(search, Qt::Key_Return);
        // Recorded when its list has arrived, by a job given to the worker then.
        QVERIFY(listFor(QStringLiteral("fees"), AccountSortKey::Code, false));
        QVERIFY(workerDone());
        QCOMPARE(admin.scalar(searches), QStringLiteral("1 fees 1"));
        // Enter again on the same search: nothing more is loaded or recorded.
        QTest::keyClick(search, Qt::Key_Return);
        QVERIFY(!model.isLoading());
        QVERIFY(workerDone());
        QCOMPARE(admin.scalar(searches), QStringLiteral("1 fees 1"));
        search->clear();

        // Balances: exact, on the normal side, sorted by value.
        auto codeOf = [view](int row) {
            return view->model()->index(row, AccountListModel::Code).data().toString();
        };
        auto balanceOf = [view](int row) {
            return view->model()->index(row, AccountListModel::Balance).data().toString();
        };
        view->sortByColumn(AccountListModel::Balance, Qt::DescendingOrder); // the server sorts
        // (The search just cleared applies once typing would have paused.)
        QVERIFY(listFor(QString(), AccountSortKey::Balance, true));
        QCOMPARE(codeOf(0), QStringLiteral("1000-CASH-EUR"));
        QCOMPARE(balanceOf(0), QStringLiteral("1099.50"));
        QCOMPARE(codeOf(1), QStringLiteral("CUST-000003"));
        QCOMPARE(balanceOf(1), QStringLiteral("1000.00"));
        QCOMPARE(codeOf(2), QStringLiteral("CUST-000006"));
        QCOMPARE(balanceOf(2), QStringLiteral("99.50"));
        view->sortByColumn(AccountListModel::Code, Qt::AscendingOrder);
        QVERIFY(listFor(QString(), AccountSortKey::Code, false));
        QCOMPARE(codeOf(0), QStringLiteral("1000-CASH-EUR"));
        QVERIFY(codeOf(0) < codeOf(1));

        // Fixed row height: never sized to contents.
        QCOMPARE(view->verticalHeader()->sectionResizeMode(0), QHeaderView::Fixed);

        // Keep a picture of it for people to look at.
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        const QString file =
            QStringLiteral(LEDGER_SCREENSHOT_DIR) + QStringLiteral("/mainwindow.png");
        QVERIFY(window.grab().save(file));
        qInfo("screenshot: %s", qPrintable(file));
    }

    void showsABannerWhenTheDatabaseIsUnreachable()
    {
        DbWorker worker(QStringLiteral("host=/nonexistent/ledger dbname=ledger user=nobody"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        MainWindow window(&model, QStringLiteral("nobody@ledger"), true);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy failed(&model, &AccountListModel::loadFailed);
        model.refresh();
        auto *banner = window.findChild<QWidget *>(QStringLiteral("errorBanner"));
        QVERIFY(waitForCount(failed, 1));
        QVERIFY(banner->isVisible());
        auto labels = banner->findChildren<QLabel *>();
        QVERIFY(!labels.isEmpty());
        QVERIFY2(
            labels.first()->text().contains(QLatin1String("Could not reach the database server")),
            qPrintable(labels.first()->text()));
        auto *retry = banner->findChild<QPushButton *>();
        QVERIFY(retry && retry->isVisible());
        QSignalSpy loading(&model, &AccountListModel::loadingChanged);
        QTest::mouseClick(retry, Qt::LeftButton);
        QVERIFY(waitForCount(failed, 2)); // retried, failed again, banner stays
        QCOMPARE(loading.count(), 2);     // loading, then not
        QVERIFY(banner->isVisible());
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        QVERIFY(window.grab().save(QStringLiteral(LEDGER_SCREENSHOT_DIR) +
                                   QStringLiteral("/mainwindow-unreachable.png")));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
