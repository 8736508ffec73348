// Money, ids and copied cells in the console, offscreen against a real cluster whose
// accounts, transactions, entries, reversal requests and audit events are numbered above
// 2^53 (where a double can no longer hold every integer):
//  - the navigator's Balance column orders by currency, then by amount within it, never
//    EUR and JPY minor units as one number (the main window's table, sorted by a header
//    click; locating an account agrees);
//  - rows copied from a timeline are safe to paste into a spreadsheet: formulas behind an
//    apostrophe, negative amounts still numbers, fields quoted per RFC 4180;
//  - ids reach roles, signals and copied rows exactly, and "Open object" on an audit event
//    opens the transaction it names.

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "AuditLogModel.h"
#include "AuditLogView.h"
#include "LedgerInvariants.h"
#include "MainWindow.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "TimelineModel.h"
#include "TimelineView.h"
#include "UiTestHelpers.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "console/ReversalService.h"
#include "db/DbWorker.h"
#include "domain/Money.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QClipboard>
#include <QHeaderView>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>

#include <algorithm>

using namespace ledger;

namespace {

// Above 2^53: the first integers a double cannot hold (2^53 + 1 becomes 2^53).
constexpr qint64 kAbove53 = (qint64(1) << 53) + 1;

// RFC 4180 records (fields quoted with doubled quotes, LF or CRLF between records).
QList<QStringList> parseCsv(const QString &text)
{
    QList<QStringList> records;
    QStringList record;
    QString field;
    bool quoted = false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (quoted) {
            if (c == QLatin1Char('"') && i + 1 < text.size() &&
                text.at(i + 1) == QLatin1Char('"')) {
                field += c;
                ++i;
            } else if (c == QLatin1Char('"')) {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == QLatin1Char('"')) {
            quoted = true;
        } else if (c == QLatin1Char(',')) {
            record << field;
            field.clear();
        } else if (c == QLatin1Char('\n')) {
            record << field;
            records << record;
            record.clear();
            field.clear();
        } else if (c != QLatin1Char('\r')) {
            field += c;
        }
    }
    if (!field.isEmpty() || !record.isEmpty())
        records << (record << field);
    return records;
}

} // namespace

class TestConsoleMoney : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;

    QString scalar(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

    void post(const QString &key, const QString &effective, const QString &description,
              const QString &reference, const QString &debit, const QString &credit,
              const QString &amount, const QString &currency)
    {
        const auto r = m_admin->exec(
            QStringLiteral(
                "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', $1::text, "
                "'effective_at', $2::text, 'description', $3::text, 'external_ref', "
                "nullif($4, ''), 'legs', jsonb_build_array("
                "jsonb_build_object('account', $5::text, 'amount', $7::text, 'currency', "
                "$8::text), "
                "jsonb_build_object('account', $6::text, 'amount', '-' || $7, 'currency', "
                "$8::text))))"),
            {key, effective, description, reference, debit, credit, amount, currency});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    // The codes in the view's rows, top to bottom.
    static QStringList codesShown(QTableView *view)
    {
        QStringList codes;
        for (int row = 0; row < view->model()->rowCount(); ++row)
            codes << view->model()->index(row, AccountListModel::Code).data().toString();
        return codes;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_consolemoney"));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        // Every id the console shows starts above 2^53, each table at its own number.
        const QStringList tables = {
            QStringLiteral("ledger.accounts"), QStringLiteral("ledger.transactions"),
            QStringLiteral("ledger.entries"), QStringLiteral("ledger.reversal_requests"),
            QStringLiteral("audit.events")};
        for (qsizetype i = 0; i < tables.size(); ++i) {
            const auto r = m_admin->exec(QStringLiteral("ALTER TABLE %1 ALTER COLUMN id RESTART "
                                                        "WITH %2")
                                             .arg(tables.at(i))
                                             .arg(kAbove53 + 1000 * i));
            QVERIFY2(r.ok, qPrintable(r.message));
        }

        // The navigator's accounts: EUR and JPY balances whose minor units interleave
        // (0.60 EUR = 60, 100.00 EUR = 10000 = 10000 JPY, ...).
        for (const char *sql :
             {"SELECT ledger.open_account('SORT-EUR-SMALL', 'Small euro', 'EUR', 'asset')",
              "SELECT ledger.open_account('SORT-EUR-BIG', 'Big euro', 'EUR', 'asset')",
              "SELECT ledger.open_account('SORT-EUR-FUND', 'Euro fund', 'EUR', 'equity')",
              "SELECT ledger.open_account('SORT-JPY-SMALL', 'Small yen', 'JPY', 'asset')",
              "SELECT ledger.open_account('SORT-JPY-MID', 'Middle yen', 'JPY', 'asset')",
              "SELECT ledger.open_account('SORT-JPY-BIG', 'Big yen', 'JPY', 'asset')",
              "SELECT ledger.open_account('SORT-JPY-FUND', 'Yen fund', 'JPY', 'equity')",
              "SELECT ledger.open_account('CSV-A', 'Hostile descriptions', 'EUR', 'asset')",
              "SELECT ledger.open_account('CSV-B', 'Their other side', 'EUR', 'liability')"})
            QVERIFY2(m_admin->exec(QString::fromLatin1(sql)).ok, sql);
        const QString now = scalar(QStringLiteral("SELECT now()::text"));
        post(QStringLiteral("sort-1"), now, QStringLiteral("Funding"), {},
             QStringLiteral("SORT-EUR-SMALL"), QStringLiteral("SORT-EUR-FUND"),
             QStringLiteral("0.60"), QStringLiteral("EUR"));
        post(QStringLiteral("sort-2"), now, QStringLiteral("Funding"), {},
             QStringLiteral("SORT-EUR-BIG"), QStringLiteral("SORT-EUR-FUND"),
             QStringLiteral("100.00"), QStringLiteral("EUR"));
        post(QStringLiteral("sort-3"), now, QStringLiteral("Funding"), {},
             QStringLiteral("SORT-JPY-SMALL"), QStringLiteral("SORT-JPY-FUND"),
             QStringLiteral("20"), QStringLiteral("JPY"));
        post(QStringLiteral("sort-4"), now, QStringLiteral("Funding"), {},
             QStringLiteral("SORT-JPY-MID"), QStringLiteral("SORT-JPY-FUND"),
             QStringLiteral("5000"), QStringLiteral("JPY"));
        post(QStringLiteral("sort-5"), now, QStringLiteral("Funding"), {},
             QStringLiteral("SORT-JPY-BIG"), QStringLiteral("SORT-JPY-FUND"),
             QStringLiteral("10000"), QStringLiteral("JPY"));

        // Text a writer chose, as a spreadsheet would read it.
        post(QStringLiteral("csv-1"), QStringLiteral("2026-01-05T10:00:00Z"),
             QStringLiteral("=HYPERLINK(\"http://evil\",\"x\")"), QStringLiteral("@SUM(A1)"),
             QStringLiteral("CSV-A"), QStringLiteral("CSV-B"), QStringLiteral("12.50"),
             QStringLiteral("EUR"));
        post(QStringLiteral("csv-2"), QStringLiteral("2026-01-06T10:00:00Z"),
             QStringLiteral("-2+3+cmd|' /C calc'!A0"), QStringLiteral("+49 30 1234"),
             QStringLiteral("CSV-B"), QStringLiteral("CSV-A"), QStringLiteral("5.25"),
             QStringLiteral("EUR"));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // 100.00 EUR and 10000 JPY are both 10000 minor units. Sorted by Balance, the main
    // window's table groups by currency (alphabetically, in both directions) and orders the
    // amounts within each currency; the C++ rule over the rows' Money agrees.
    void balanceColumnSortsWithinEachCurrency()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_operator")),
                        QStringLiteral("tst_consolemoney"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel model(&ledger, &audit);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        MainWindow window(&model, QStringLiteral("test_console_operator@ledger"),
                          /*directConnection=*/true);
        window.resize(1200, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        model.refresh();
        QTableView *view = window.accountView();
        auto *search = window.findChild<QLineEdit *>(QStringLiteral("accountSearch"));
        QVERIFY(search);
        QTest::keyClicks(search, QStringLiteral("SORT-"));
        QTRY_COMPARE_WITH_TIMEOUT(view->model()->rowCount(), 7, 20000);

        // A click on the Balance header asks the server for that order.
        QHeaderView *header = view->horizontalHeader();
        const auto clickBalance = [&] {
            QTest::mouseClick(header->viewport(), Qt::LeftButton, {},
                              QPoint(header->sectionViewportPosition(AccountListModel::Balance) +
                                         header->sectionSize(AccountListModel::Balance) / 2,
                                     header->height() / 2));
        };
        const QStringList ascending = {QStringLiteral("SORT-EUR-SMALL"), // 0.60 EUR
                                       QStringLiteral("SORT-EUR-BIG"),   // 100.00 EUR
                                       QStringLiteral("SORT-EUR-FUND"),  // 100.60 EUR
                                       QStringLiteral("SORT-JPY-SMALL"), // 20 JPY
                                       QStringLiteral("SORT-JPY-MID"),   // 5000 JPY
                                       QStringLiteral("SORT-JPY-BIG"),   // 10000 JPY
                                       QStringLiteral("SORT-JPY-FUND")}; // 15020 JPY
        const QStringList descending = {
            QStringLiteral("SORT-EUR-FUND"),  QStringLiteral("SORT-EUR-BIG"),
            QStringLiteral("SORT-EUR-SMALL"), QStringLiteral("SORT-JPY-FUND"),
            QStringLiteral("SORT-JPY-BIG"),   QStringLiteral("SORT-JPY-MID"),
            QStringLiteral("SORT-JPY-SMALL")};
        for (int click = 0; click < 2; ++click) {
            clickBalance();
            QCOMPARE(header->sortIndicatorSection(), int(AccountListModel::Balance));
            const bool down = header->sortIndicatorOrder() == Qt::DescendingOrder;
            const QStringList &expected = down ? descending : ascending;
            QTRY_COMPARE_WITH_TIMEOUT(codesShown(view), expected, 20000);
            if (!QTest::currentTestFailed())
                test::saveScreenshot(&window, down ? QStringLiteral("balance-sort-descending.png")
                                                   : QStringLiteral("balance-sort-ascending.png"));

            // Shown exactly, in the currency's decimals, with its currency beside it.
            QList<Money> balances;
            for (int row = 0; row < view->model()->rowCount(); ++row) {
                const QModelIndex i = view->model()->index(row, AccountListModel::Balance);
                const Money m = i.data(AccountListModel::BalanceRole).value<Money>();
                QVERIFY(m.isValid());
                QCOMPARE(i.data().toString(), m.toString());
                QCOMPARE(view->model()->index(row, AccountListModel::Currency).data().toString(),
                         m.currency());
                balances << m;
            }
            QCOMPARE(
                balances.at(expected.indexOf(QStringLiteral("SORT-EUR-BIG"))).toDisplayString(),
                QStringLiteral("100.00 EUR"));
            QCOMPARE(
                balances.at(expected.indexOf(QStringLiteral("SORT-JPY-BIG"))).toDisplayString(),
                QStringLiteral("10000 JPY"));
            QVERIFY(std::is_sorted(balances.begin(), balances.end(),
                                   [down](const Money &a, const Money &b) {
                                       return Money::orderByCurrencyThenAmount(a, b, down) < 0;
                                   }));
            // SortRole (for proxies) orders as the server does in ascending order.
            if (!down) {
                QStringList keys;
                for (int row = 0; row < view->model()->rowCount(); ++row)
                    keys << view->model()
                                ->index(row, AccountListModel::Balance)
                                .data(AccountListModel::SortRole)
                                .toString();
                QVERIFY(std::is_sorted(keys.begin(), keys.end()));
            }

            // Finding an account (after a search, a reopened window) lands on its row in
            // this order.
            for (const QString &code : expected) {
                QSignalSpy located(&model, &AccountListModel::located);
                model.locate(code);
                QTRY_COMPARE_WITH_TIMEOUT(located.count(), 1, 20000);
                QCOMPARE(located.first().at(1).toInt(), int(expected.indexOf(code)));
            }
        }
        // The account ids are above 2^53 and come through the role exactly.
        const QModelIndex first = view->model()->index(0, AccountListModel::Code);
        QCOMPARE(QString::number(first.data(AccountListModel::AccountIdRole).toLongLong()),
                 scalar(QStringLiteral("SELECT id::text FROM ledger.accounts WHERE code = $1"),
                        {first.data().toString()}));
        QVERIFY(first.data(AccountListModel::AccountIdRole).toLongLong() > kAbove53);
    }

    // Rows copied from a timeline are pasted into spreadsheets: a cell that would run as a
    // formula starts with an apostrophe, negative amounts stay numbers, and the CSV is quoted
    // so that commas and quotes inside a cell stay inside it.
    void copiedRowsAreSafeInASpreadsheet()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")),
                        QStringLiteral("tst_consolemoney_copy"));
        LedgerService ledger(&worker);
        AccountWorkspace workspace(&ledger);
        workspace.resize(1200, 800);
        workspace.show();
        QVERIFY(QTest::qWaitForWindowExposed(&workspace));
        TimelineModel *model = workspace.timelineModel();
        QSignalSpy counted(model, &TimelineModel::countChanged);
        workspace.openAccount(QStringLiteral("CSV-A"));
        QTRY_VERIFY_WITH_TIMEOUT(counted.count() >= 1, 20000);
        QTRY_COMPARE(model->rowCount(), 2);
        QTRY_VERIFY(model->entryAt(0).has_value() && model->entryAt(1).has_value());
        QTableView *table = workspace.timelineView()->tableView();
        table->selectAll();
        table->setFocus();
        QTest::keyClick(table, Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
        const QMimeData *copied = QApplication::clipboard()->mimeData();
        QVERIFY(copied);
        const QString csv = QString::fromUtf8(copied->data(QStringLiteral("text/csv")));
        QCOMPARE(copied->text(), csv);

        // The cells exactly as a spreadsheet gets them.
        const QList<QStringList> records = parseCsv(csv);
        QCOMPARE(records.size(), 3);
        const QStringList header = records.at(0);
        const auto column = [&header](const char *name) {
            return int(header.indexOf(QLatin1String(name)));
        };
        QVERIFY(column("Description") >= 0 && column("Amount") >= 0 && column("Transaction") >= 0);
        const QStringList first = records.at(1);
        const QStringList second = records.at(2);
        QCOMPARE(first.at(column("Description")),
                 QStringLiteral("'=HYPERLINK(\"http://evil\",\"x\")"));
        QCOMPARE(first.at(column("Reference")), QStringLiteral("'@SUM(A1)"));
        QCOMPARE(first.at(column("Amount")), QStringLiteral("12.50"));
        QCOMPARE(first.at(column("Currency")), QStringLiteral("EUR"));
        QCOMPARE(first.at(column("Balance")), QStringLiteral("12.50"));
        QCOMPARE(second.at(column("Description")), QStringLiteral("'-2+3+cmd|' /C calc'!A0"));
        QCOMPARE(second.at(column("Reference")), QStringLiteral("'+49 30 1234"));
        // A negative amount is a number a spreadsheet adds up, not text (and not a formula).
        QCOMPARE(second.at(column("Amount")), QStringLiteral("-5.25"));
        QCOMPARE(second.at(column("Balance")), QStringLiteral("7.25"));
        // No cell of any record begins with a formula character, but plain negative numbers.
        for (const QStringList &record : records) {
            QCOMPARE(record.size(), header.size());
            for (const QString &cell : record) {
                if (cell.isEmpty() || !QStringLiteral("=+-@\t\r").contains(cell.front()))
                    continue;
                QVERIFY2(cell == QStringLiteral("-5.25"), qPrintable(cell));
            }
        }
        // Quoted as RFC 4180 says: the formula's quotes doubled inside a quoted field.
        QVERIFY2(csv.contains(QLatin1String("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"")),
                 qPrintable(csv));
        // The transaction ids, above 2^53, exactly.
        QCOMPARE(first.at(column("Transaction")),
                 scalar(QStringLiteral("SELECT id::text FROM ledger.transactions WHERE "
                                       "idempotency_key = 'csv-1'")));
        QVERIFY(first.at(column("Transaction")).toLongLong() > kAbove53);

        // "Copy rows" (tab-separated text for pasting) carries the same cells.
        QTest::keyClick(table, Qt::Key_C, Qt::ControlModifier);
        const QString tsv = QApplication::clipboard()->mimeData()->text();
        QVERIFY2(tsv.contains(QLatin1String("\t'=HYPERLINK(\"http://evil\",\"x\")\t'@SUM(A1)\t")),
                 qPrintable(tsv));
        QVERIFY2(
            tsv.contains(QLatin1String("\t'-2+3+cmd|' /C calc'!A0\t'+49 30 1234\t-5.25\tEUR\t")),
            qPrintable(tsv));
    }

    // Ids above 2^53 reach the timeline's roles and signals exactly, and "Open object" on a
    // reversal request's audit event opens the transaction it names (the event's details
    // hold its id as a JSON number).
    void idsAbove2To53SurviveTheConsole()
    {
        // A transaction numbered where doubles skip integers: 2^53 + 99999 is odd, and above
        // 2^53 a double holds even integers only.
        constexpr qint64 kOdd = (qint64(1) << 53) + 99999;
        QVERIFY(qint64(double(kOdd)) != kOdd); // what passing it through a double would do
        for (const char *sql : {"SELECT ledger.open_account('IDS-A', 'Big ids', 'EUR', 'asset')",
                                "SELECT ledger.open_account('IDS-B', 'Big ids, other side', "
                                "'EUR', 'liability')"})
            QVERIFY2(m_admin->exec(QString::fromLatin1(sql)).ok, sql);
        const auto restarted = m_admin->exec(
            QStringLiteral("ALTER TABLE ledger.transactions ALTER COLUMN id RESTART WITH %1")
                .arg(kOdd));
        QVERIFY2(restarted.ok, qPrintable(restarted.message));
        post(QStringLiteral("ids-1"), scalar(QStringLiteral("SELECT now()::text")),
             QStringLiteral("Numbered high"), {}, QStringLiteral("IDS-A"), QStringLiteral("IDS-B"),
             QStringLiteral("1.00"), QStringLiteral("EUR"));
        const qint64 transaction =
            scalar(QStringLiteral(
                       "SELECT id FROM ledger.transactions WHERE idempotency_key = 'ids-1'"))
                .toLongLong();
        QCOMPARE(transaction, kOdd);

        // The timeline's row and its "Open transaction".
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_operator")),
                        QStringLiteral("tst_consolemoney_ids"));
        LedgerService ledger(&worker);
        AccountWorkspace workspace(&ledger);
        workspace.resize(1200, 800);
        workspace.show();
        QVERIFY(QTest::qWaitForWindowExposed(&workspace));
        TimelineModel *model = workspace.timelineModel();
        QSignalSpy counted(model, &TimelineModel::countChanged);
        workspace.openAccount(QStringLiteral("IDS-A"));
        QTRY_VERIFY_WITH_TIMEOUT(counted.count() >= 1, 20000);
        QTRY_COMPARE(model->rowCount(), 1);
        QTRY_VERIFY(model->entryAt(0).has_value());
        const QModelIndex row = model->index(0, TimelineModel::Description);
        QCOMPARE(row.data(TimelineModel::TransactionIdRole).toLongLong(), transaction);
        QCOMPARE(model->entryAt(0)->entryId,
                 scalar(QStringLiteral("SELECT min(id) FROM ledger.entries WHERE "
                                       "transaction_id = $1"),
                        {QString::number(transaction)})
                     .toLongLong());
        QSignalSpy activated(workspace.timelineView(), &TimelineView::transactionActivated);
        QTableView *table = workspace.timelineView()->tableView();
        table->setCurrentIndex(row);
        table->setFocus();
        QTest::keyClick(table, Qt::Key_Return);
        QTRY_COMPARE(activated.count(), 1);
        QCOMPARE(activated.first().first().toLongLong(), transaction);

        // The transaction's detail (JSON from the server) names it and its legs exactly.
        const Result<TransactionDetail> detail = test::await(ledger.transactionDetail(transaction));
        QVERIFY2(detail.ok(), qPrintable(detail.ok() ? QString() : detail.error().message));
        QCOMPARE(detail.value().id, transaction);
        QCOMPARE(detail.value().legs.size(), 2);

        // A reversal request on it (through the console service), then the audit log.
        ReversalService reversals(&worker);
        ReversalDraft draft;
        draft.transactionId = transaction;
        draft.reasonCode = QStringLiteral("DUPLICATE");
        draft.note = QStringLiteral("posted twice");
        draft.clientKey = ReversalService::newClientKey();
        const Result<qint64> requested = test::await(reversals.submitRequest(draft));
        QVERIFY2(requested.ok(),
                 qPrintable(requested.ok() ? QString() : requested.error().message));
        QVERIFY(requested.value() > kAbove53);

        DbWorker auditorWorker(m_db.dsnFor(QStringLiteral("console_auditor")),
                               QStringLiteral("tst_consolemoney_audit"));
        AuditService audit(&auditorWorker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy open(&view, &AuditLogView::openObjectRequested);
        view.findChild<QLineEdit *>(QStringLiteral("filterAction"))
            ->setText(QStringLiteral("reversal.requested"));
        view.applyFilter();
        QTRY_VERIFY_WITH_TIMEOUT(view.model()->rowCount() == 1 && !view.model()->isLoading(),
                                 20000);
        QTableView *events = view.tableView();
        QCOMPARE(events->model()->index(0, 0).data(AuditLogModel::EventIdRole).toLongLong(),
                 scalar(QStringLiteral("SELECT max(id) FROM audit.events WHERE action = "
                                       "'reversal.requested'"))
                     .toLongLong());
        events->setFocus();
        QTest::keyClick(events, Qt::Key_Home, Qt::ControlModifier);
        QTest::mouseClick(view.findChild<QPushButton *>(QStringLiteral("openObject")),
                          Qt::LeftButton);
        QCOMPARE(open.count(), 1);
        QCOMPARE(open.first().at(0).toString(), QStringLiteral("transaction"));
        QCOMPARE(open.first().at(1).toString(), QString::number(transaction));
    }
};

QTEST_MAIN(TestConsoleMoney)
#include "tst_consolemoney.moc"
