// The Statements tab (Step 8), offscreen, against a real cluster: Carla (compliance, a direct
// connection) sees the statements she issued listed newest first with their columns (the
// period in the statement's own zone, the camt version, exact amounts); a backdated entry
// into an issued period makes exactly that statement restated after Refresh, with its
// opening and closing differences and late entries, and "Restated only" keeps only it. A
// batch export from the tab writes one complete, issued file per account of a kind and
// currency; Cancel (taken while an advisory lock holds the second statement) leaves exactly
// the files reported; a folder already holding a target name is an error with nothing
// written; deleting the view cancels its batch. Files dropped on the main window are
// verified. A screenshot of the tab goes to build/<preset>/screenshots/ (look at it).

#include "ComplianceConsole.h"
#include "IssuedStatementModel.h"
#include "MainWindow.h"
#include "PostingRequests.h"
#include "ServerLogWatcher.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "StatementsView.h"
#include "TestCluster.h"
#include "UiTestHelpers.h"
#include "console/StatementService.h"
#include "db/Connection.h"
#include "db/DbWorker.h"
#include "db/LedgerRepository.h"
#include "domain/InstantText.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QCheckBox>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimeZone>
#include <QUrl>

#include <memory>

using namespace ledger;

using test::await;
using test::sha256OfFile;

namespace {

QStringList filesIn(const QString &folder)
{
    return QDir(folder).entryList(QDir::Files, QDir::Name);
}

} // namespace

class TestStatementsTab : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    std::unique_ptr<test::ServerLogWatcher> m_log;
    std::unique_ptr<DbWorker> m_writer;
    test::ComplianceConsole m_console;
    StatementsView *m_view = nullptr;
    QTemporaryDir m_dir;
    QDate m_today;
    QStringList m_batchFiles; // written by the complete batch
    QList<StatementRecord> m_batchRecords;

    qint64 post(const QString &debit, const QString &credit, const QString &amount, int daysAgo)
    {
        static int key = 0;
        const QByteArray body = test::postingRequest(
            QStringLiteral("stt-%1").arg(++key),
            test::postingLeg(debit, amount) + QLatin1Char(',') +
                test::postingLeg(credit, QLatin1Char('-') + amount),
            QDateTime::currentDateTimeUtc().addDays(-daysAgo).toString(Qt::ISODateWithMs));
        const auto r = await(m_writer->submit(
            [body](Connection &c) { return LedgerRepository::post(c, body).transactionId; }));
        return r ? r.value() : 0;
    }

    StatementRecord issue(const QString &account, int fromDaysAgo, int toDaysAgo,
                          const QString &zoneId, const QString &format, const QString &name,
                          const QDateTime &knownAt = {})
    {
        const QTimeZone zone =
            zoneId == QLatin1String("UTC") ? QTimeZone::utc() : QTimeZone(zoneId.toUtf8());
        StatementExportRequest r;
        r.accountCode = account;
        r.from = QDateTime(m_today.addDays(-fromDaysAgo), QTime(0, 0), zone).toUTC();
        r.to = QDateTime(m_today.addDays(-toDaysAgo + 1), QTime(0, 0), zone).toUTC();
        r.timeZone = zoneId;
        r.format = format;
        r.knownAt = knownAt;
        r.outPath = m_dir.filePath(name);
        const auto result = await(m_console.statements->issue(r));
        if (!result)
            qWarning("issue failed: %s", qPrintable(result.error().message));
        return result ? result.value() : StatementRecord();
    }

    // Clicks Refresh (or toggles a filter) and waits until the list has loaded again.
    bool reloaded(const std::function<void()> &action)
    {
        QSignalSpy loaded(m_view->model(), &IssuedStatementModel::pageLoaded);
        QSignalSpy failed(m_view->model(), &IssuedStatementModel::loadFailed);
        action();
        return test::waitForModel(m_view->model(),
                                  [&] { return loaded.count() + failed.count() > 0; }) &&
               failed.isEmpty();
    }

    QString cell(int row, IssuedStatementModel::Column column) const
    {
        return m_view->model()->index(row, column).data().toString();
    }

    int rowOf(const QString &reference) const
    {
        for (int row = 0; row < m_view->model()->rowCount(); ++row)
            if (cell(row, IssuedStatementModel::Reference) == reference)
                return row;
        return -1;
    }

    // The batch period: the same days as the restated statements'.
    void setBatchInputs(StatementsView *view, const QString &folder)
    {
        view->setBatchSelection(QStringLiteral("asset"), QStringLiteral("EUR"));
        view->setBatchPeriod(m_today.addDays(-20), m_today.addDays(-10));
        view->setBatchFormat(QStringLiteral("csv"));
        view->setBatchFolder(folder);
    }

    QString batchName(const QString &code) const
    {
        return QStringLiteral("%1_%2_%3.csv")
            .arg(code, m_today.addDays(-20).toString(Qt::ISODate),
                 m_today.addDays(-10).toString(Qt::ISODate));
    }

    QString newFolder(const QString &name)
    {
        const QString path = m_dir.filePath(name);
        return QDir().mkpath(path) ? path : QString();
    }

    // Holds the advisory lock a statement of the account takes while it is issued, until
    // COMMIT: the batch waits there (well within the functions' 5 s lock_timeout).
    std::unique_ptr<test::SqlSession> holdStatementLock(const QString &code)
    {
        auto session = std::make_unique<test::SqlSession>(m_db.adminDsn());
        if (!session->run(QStringLiteral("BEGIN")).ok)
            return nullptr;
        // run(), not exec(): exec() would commit, and the lock would go with its transaction.
        const auto locked = session->run(
            QStringLiteral("SELECT pg_advisory_xact_lock(hashtextextended('ledger.statement-of:' "
                           "|| id, 0)) FROM ledger.accounts WHERE code = '%1'")
                .arg(code));
        if (!locked.ok || locked.rows.size() != 1)
            return nullptr;
        return session;
    }

    // Until a batch waits for the lock holdStatementLock() holds: the statement under way
    // when the batch is then cancelled is that one.
    bool batchWaitsForTheLock()
    {
        return m_log->waitUntil([&] {
            return m_admin->scalar(QStringLiteral("SELECT count(*) FROM pg_locks WHERE locktype = "
                                                  "'advisory' AND NOT granted")) != u"0";
        });
    }

    qint64 issuedCount()
    {
        return m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.statements"))
            .toLongLong();
    }

    static void sendDrop(QWidget *target, const QList<QUrl> &urls, bool *accepted)
    {
        QMimeData mime;
        mime.setUrls(urls);
        const QPoint at(target->width() / 2, target->height() / 2);
        QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(target, &enter);
        *accepted = enter.isAccepted();
        if (!*accepted)
            return;
        QDropEvent drop(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(target, &drop);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        for (const char *sql :
             {"SELECT ledger.open_account('BANK-EUR', 'Bank EUR', 'EUR', 'asset')",
              "SELECT ledger.open_account('CASH-EUR-1', 'Cash 1', 'EUR', 'asset')",
              "SELECT ledger.open_account('CASH-EUR-2', 'Cash 2', 'EUR', 'asset')",
              "SELECT ledger.open_account('CASH-EUR-3', 'Cash 3', 'EUR', 'asset')",
              "SELECT ledger.open_account('BANK-USD', 'Bank USD', 'USD', 'asset')",
              "SELECT ledger.open_account('CUST-EUR', 'Customer EUR', 'EUR', 'liability')",
              "SELECT ledger.open_account('FEES-EUR', 'Fees EUR', 'EUR', 'income')"}) {
            const auto r = m_admin->exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        m_writer = std::make_unique<DbWorker>(m_db.dsnFor(QStringLiteral("ledger_writer")),
                                              QStringLiteral("tst_statementstab writer"));
        m_today = QDateTime::currentDateTimeUtc().date();
        QVERIFY(post(QStringLiteral("BANK-EUR"), QStringLiteral("CUST-EUR"),
                     QStringLiteral("100.00"), 15) > 0);
        QVERIFY(post(QStringLiteral("BANK-EUR"), QStringLiteral("CUST-EUR"),
                     QStringLiteral("50.00"), 35) > 0);
        QVERIFY(post(QStringLiteral("CASH-EUR-1"), QStringLiteral("CUST-EUR"),
                     QStringLiteral("9.99"), 12) > 0);

        // Carla's sessions log their lock waits, so that a test can wait for her batch to
        // block on a statement lock (ServerLogWatcher) before it cancels.
        m_log = std::make_unique<test::ServerLogWatcher>(m_db.dataDir());
        m_db.dsnFor(QStringLiteral("console_compliance"), QStringLiteral("carla"));
        QVERIFY(test::logLockWaitsOf(*m_admin, QStringLiteral("carla")));
        m_console.start(m_db, QStringLiteral("tst_statementstab"));
        m_console.window->addStatements(m_console.statements.get());
        m_view = m_console.window->statementsView();
        QVERIFY(m_view);
        new QAbstractItemModelTester(
            m_view->model(), QAbstractItemModelTester::FailureReportingMode::QtTest, m_view);
        auto *tabs = m_console.window->findChild<QTabWidget *>(QStringLiteral("mainTabs"));
        QVERIFY(tabs);
        QCOMPARE(tabs->tabText(tabs->indexOf(m_view)), QStringLiteral("S&tatements"));
        tabs->setCurrentWidget(m_view);
        m_console.window->resize(1600, 950);
        m_console.window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_console.window.get()));
        // The tab loaded its (empty) list when it was made.
        QVERIFY(test::waitForModel(m_view->model(), [&] { return !m_view->model()->isLoading(); }));
        QCOMPARE(m_view->model()->rowCount(), 0);
        QVERIFY2(m_view->errorText().isEmpty(), qPrintable(m_view->errorText()));
    }

    void listsIssuedStatementsNewestFirst()
    {
        // Issued twice as of the same time: the second is a copy of the first.
        const QDateTime knownAt = QDateTime::currentDateTimeUtc();
        const StatementRecord bank =
            issue(QStringLiteral("BANK-EUR"), 20, 10, QStringLiteral("UTC"), QStringLiteral("csv"),
                  QStringLiteral("bank.csv"), knownAt);
        const StatementRecord copy =
            issue(QStringLiteral("BANK-EUR"), 20, 10, QStringLiteral("UTC"), QStringLiteral("csv"),
                  QStringLiteral("bank-copy.csv"), knownAt);
        QCOMPARE(copy.reference, bank.reference);
        const StatementRecord cust =
            issue(QStringLiteral("CUST-EUR"), 20, 10, QStringLiteral("Europe/Berlin"),
                  QStringLiteral("camt053"), QStringLiteral("cust.xml"));
        const StatementRecord older =
            issue(QStringLiteral("BANK-EUR"), 40, 30, QStringLiteral("UTC"), QStringLiteral("csv"),
                  QStringLiteral("bank-older.csv"));
        QVERIFY(!bank.reference.isEmpty() && !cust.reference.isEmpty() &&
                !older.reference.isEmpty());

        QVERIFY(reloaded([this] { m_view->refreshButton()->click(); }));
        QCOMPARE(m_view->model()->rowCount(), 3);
        QVERIFY(m_view->model()->atEnd());
        using M = IssuedStatementModel;
        QCOMPARE(cell(0, M::Reference), older.reference);
        QCOMPARE(cell(1, M::Reference), cust.reference);
        QCOMPARE(cell(2, M::Reference), bank.reference);

        QCOMPARE(cell(2, M::Account), QStringLiteral("BANK-EUR"));
        QCOMPARE(cell(2, M::Period), QStringLiteral("%1 to %2 UTC")
                                         .arg(m_today.addDays(-20).toString(Qt::ISODate),
                                              m_today.addDays(-10).toString(Qt::ISODate)));
        // Berlin's days, though the instants are the evening before in UTC.
        QCOMPARE(cell(1, M::Period), QStringLiteral("%1 to %2 Europe/Berlin")
                                         .arg(m_today.addDays(-20).toString(Qt::ISODate),
                                              m_today.addDays(-10).toString(Qt::ISODate)));
        QVERIFY(cust.from.toUTC().date() < m_today.addDays(-20));
        QCOMPARE(cell(1, M::Format), QStringLiteral("camt.053.001.08"));
        QCOMPARE(cell(2, M::Format), QStringLiteral("CSV"));
        QCOMPARE(cell(2, M::IssuedBy), QStringLiteral("carla"));
        // Instants in the zone the console shows (local by default), with their offset.
        QCOMPARE(cell(2, M::KnownAt), formatInstant(bank.knownAt, QTimeZone::systemTimeZone()));
        QCOMPARE(cell(1, M::IssuedAt), formatInstant(cust.issuedAt, QTimeZone::systemTimeZone()));
        QCOMPARE(cell(2, M::Copies), QStringLiteral("1"));
        QCOMPARE(cell(1, M::Copies), QStringLiteral("0"));
        for (int row = 0; row < 3; ++row) {
            QCOMPARE(cell(row, M::Restated), QStringLiteral("no"));
            QVERIFY(cell(row, M::OpeningDifference).isEmpty());
            QVERIFY(cell(row, M::ClosingDifference).isEmpty());
            QVERIFY(cell(row, M::LateEntries).isEmpty());
        }
        // The issue record the list holds has the server's balances, exactly.
        QCOMPARE(m_view->model()->statement(2).record.closingMinor, 15000);
        QCOMPARE(m_view->model()->statement(2).record.exponent, 2);

        // Double-click opens the account.
        QSignalSpy open(m_view, &StatementsView::openObjectRequested);
        QTableView *table = m_view->tableView();
        const QRect rect = table->visualRect(m_view->model()->index(1, M::Account));
        QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, rect.center());
        QTest::mouseDClick(table->viewport(), Qt::LeftButton, {}, rect.center());
        QCOMPARE(open.count(), 1);
        QCOMPARE(open.at(0).at(0).toString(), QStringLiteral("account"));
        QCOMPARE(open.at(0).at(1).toString(), QStringLiteral("CUST-EUR"));
        m_console.window->findChild<QTabWidget *>(QStringLiteral("mainTabs"))
            ->setCurrentWidget(m_view);
    }

    void showsRestatementAfterRefresh()
    {
        // Two backdated entries on BANK-EUR: one before the period (its opening changes),
        // one inside it. The older BANK-EUR statement ends before both; CUST-EUR is untouched.
        const qint64 early = post(QStringLiteral("BANK-EUR"), QStringLiteral("FEES-EUR"),
                                  QStringLiteral("3.00"), 25);
        const qint64 inside = post(QStringLiteral("BANK-EUR"), QStringLiteral("FEES-EUR"),
                                   QStringLiteral("10.00"), 15);
        QVERIFY(early > 0 && inside > 0);
        const QString lateIds = m_admin->scalar(
            QStringLiteral("SELECT string_agg(e.id::text, ', ' ORDER BY e.recorded_at, e.id) "
                           "FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "
                           "WHERE a.code = 'BANK-EUR' AND e.transaction_id IN ($1, $2)"),
            {QString::number(early), QString::number(inside)});

        using M = IssuedStatementModel;
        QVERIFY(reloaded([this] { m_view->refreshButton()->click(); }));
        QCOMPARE(m_view->model()->rowCount(), 3);
        int restated = -1;
        for (int row = 0; row < 3; ++row) {
            if (m_view->model()->index(row, 0).data(M::RestatedRole).toBool()) {
                QCOMPARE(restated, -1); // exactly one
                restated = row;
            }
        }
        QCOMPARE(restated, 2); // the BANK-EUR statement of [d-20, d-10]
        QCOMPARE(cell(2, M::Restated), QStringLiteral("Restated"));
        QCOMPARE(cell(2, M::OpeningDifference), QStringLiteral("+3.00 EUR"));
        QCOMPARE(cell(2, M::ClosingDifference), QStringLiteral("+13.00 EUR"));
        QCOMPARE(cell(2, M::LateEntries), QStringLiteral("2"));
        QCOMPARE(m_view->model()->statement(2).openingDifference, 300);
        QCOMPARE(m_view->model()->statement(2).closingDifference, 1300);

        // Selecting it says which entries and by how much.
        m_view->tableView()->selectRow(2);
        QVERIFY2(m_view->detailText().contains(lateIds), qPrintable(m_view->detailText()));
        QVERIFY(m_view->detailText().contains(QStringLiteral("+3.00 EUR")));
        QVERIFY(m_view->detailText().contains(QStringLiteral("+13.00 EUR")));
        m_view->tableView()->selectRow(1);
        QVERIFY(m_view->detailText().contains(QStringLiteral("as issued")));

        // Restated only: just that one.
        const QString reference = cell(2, M::Reference);
        QVERIFY(reloaded([this] { m_view->restatedOnlyBox()->setChecked(true); }));
        QCOMPARE(m_view->model()->rowCount(), 1);
        QCOMPARE(cell(0, M::Reference), reference);
        QVERIFY(reloaded([this] { m_view->restatedOnlyBox()->setChecked(false); }));
        QCOMPARE(m_view->model()->rowCount(), 3);

        // The account filter; an unknown account is an error shown in the view.
        m_view->accountFilter()->setText(QStringLiteral("CUST-EUR"));
        QVERIFY(reloaded([this] { m_view->refreshButton()->click(); }));
        QCOMPARE(m_view->model()->rowCount(), 1);
        QCOMPARE(cell(0, M::Account), QStringLiteral("CUST-EUR"));
        m_view->accountFilter()->setText(QStringLiteral("NO-SUCH-ACCOUNT"));
        QVERIFY(!reloaded([this] { m_view->refreshButton()->click(); }));
        QVERIFY2(m_view->errorText().contains(QStringLiteral("NO-SUCH-ACCOUNT")),
                 qPrintable(m_view->errorText()));
        m_view->accountFilter()->clear();
        QVERIFY(reloaded([this] { m_view->refreshButton()->click(); }));
        QVERIFY(m_view->errorText().isEmpty());
        QCOMPARE(m_view->model()->rowCount(), 3);
    }

    void batchWritesOneFilePerAccount()
    {
        const QString folder = newFolder(QStringLiteral("batch"));
        QVERIFY(!folder.isEmpty());
        setBatchInputs(m_view, folder);
        QVERIFY(!m_view->cancelButton()->isEnabled());
        QSignalSpy finished(m_view, &StatementsView::batchFinished);
        QSignalSpy progress(m_view, &StatementsView::batchProgress);
        m_view->startButton()->click();
        QVERIFY(!m_view->startButton()->isEnabled()); // one batch at a time
        QVERIFY(m_view->cancelButton()->isEnabled());
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        const auto outcome = finished.at(0).at(0).value<StatementBatchOutcome>();
        QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
        QVERIFY(!outcome.cancelled);
        // Assets in EUR, in code order; not BANK-USD, not the liability or the income.
        const QStringList codes = {QStringLiteral("BANK-EUR"), QStringLiteral("CASH-EUR-1"),
                                   QStringLiteral("CASH-EUR-2"), QStringLiteral("CASH-EUR-3")};
        QCOMPARE(outcome.total, 4);
        QCOMPARE(progress.count(), 4);
        QCOMPARE(m_view->progressBar()->maximum(), 4);
        QCOMPARE(m_view->progressBar()->value(), 4);
        QVERIFY(m_view->startButton()->isEnabled());
        QVERIFY(!m_view->cancelButton()->isEnabled());
        QVERIFY(m_view->batchErrorText().isEmpty());
        QVERIFY2(m_view->batchResultText().contains(QStringLiteral("4 statements written")),
                 qPrintable(m_view->batchResultText()));

        QStringList expected;
        for (const QString &code : codes)
            expected.append(batchName(code));
        QCOMPARE(filesIn(folder), expected); // no *.part, nothing else
        QCOMPARE(m_view->writtenFiles()->count(), 4);
        for (int i = 0; i < 4; ++i) {
            const QString path = QDir(folder).filePath(expected.at(i));
            QCOMPARE(outcome.files.at(i), path);
            QCOMPARE(m_view->writtenFiles()->item(i)->text(), QDir::toNativeSeparators(path));
            const StatementRecord &record = outcome.written.at(i);
            QCOMPARE(record.accountCode, codes.at(i));
            QCOMPARE(sha256OfFile(path), record.fileSha256);
            const auto found = await(m_console.statements->verifyFile(path));
            QVERIFY2(found, qPrintable(found ? QString() : found.error().message));
            QVERIFY(found.value().has_value());
            QCOMPARE(found.value()->reference, record.reference);
            QCOMPARE(found.value()->fileSha256, record.fileSha256);
        }
        m_batchFiles = outcome.files;
        m_batchRecords = outcome.written;

        // The new statements head the list (the view reloads after a batch).
        QVERIFY(
            test::waitForModel(m_view->model(), [&] { return m_view->model()->rowCount() == 7; }));
        QCOMPARE(m_view->model()->rowCount(), 7);
        QVERIFY(test::waitForModel(m_view->model(), [&] { return !m_view->model()->isLoading(); }));
        QCOMPARE(cell(0, IssuedStatementModel::Reference), m_batchRecords.last().reference);

        m_view->tableView()->selectRow(6); // the restated one, for the screenshot
        QVERIFY(test::saveScreenshot(m_console.window.get(), QStringLiteral("statements-tab.png")));
    }

    void batchCancelLeavesExactlyTheReportedFiles()
    {
        const QString folder = newFolder(QStringLiteral("cancelled"));
        QVERIFY(!folder.isEmpty());
        setBatchInputs(m_view, folder);
        // The second account's statement waits for this lock: Cancel comes while it does.
        auto lock = holdStatementLock(QStringLiteral("CASH-EUR-1"));
        QVERIFY(lock);
        QSignalSpy finished(m_view, &StatementsView::batchFinished);
        QSignalSpy progress(m_view, &StatementsView::batchProgress);
        m_view->startButton()->click();
        QVERIFY(test::waitForCount(progress, 1));
        QCOMPARE(progress.count(), 1);
        QVERIFY(batchWaitsForTheLock());
        m_view->cancelButton()->click();
        QVERIFY(!m_view->cancelButton()->isEnabled());
        QVERIFY(lock->run(QStringLiteral("COMMIT")).ok);
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        const auto outcome = finished.at(0).at(0).value<StatementBatchOutcome>();
        QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
        QVERIFY(outcome.cancelled);
        QCOMPARE(outcome.total, 4);
        QCOMPARE(outcome.written.size(), 2); // the one under way is finished, then it stops
        QCOMPARE(filesIn(folder), QStringList({batchName(QStringLiteral("BANK-EUR")),
                                               batchName(QStringLiteral("CASH-EUR-1"))}));
        QCOMPARE(m_view->writtenFiles()->count(), 2);
        QVERIFY2(m_view->batchResultText().contains(QStringLiteral("Cancelled")),
                 qPrintable(m_view->batchResultText()));
        QVERIFY(m_view->startButton()->isEnabled());
        for (int i = 0; i < outcome.files.size(); ++i)
            QCOMPARE(sha256OfFile(outcome.files.at(i)), outcome.written.at(i).fileSha256);
    }

    void batchRefusesAFolderHoldingATargetName()
    {
        const QString folder = newFolder(QStringLiteral("occupied"));
        QVERIFY(!folder.isEmpty());
        QFile existing(QDir(folder).filePath(batchName(QStringLiteral("CASH-EUR-2"))));
        QVERIFY(existing.open(QIODevice::WriteOnly));
        existing.write("someone else's file\n");
        existing.close();
        const qint64 before = issuedCount();
        setBatchInputs(m_view, folder);
        QSignalSpy finished(m_view, &StatementsView::batchFinished);
        m_view->startButton()->click();
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        const auto outcome = finished.at(0).at(0).value<StatementBatchOutcome>();
        QVERIFY(outcome.written.isEmpty());
        QVERIFY2(m_view->batchErrorText().contains(batchName(QStringLiteral("CASH-EUR-2"))),
                 qPrintable(m_view->batchErrorText()));
        QCOMPARE(m_view->writtenFiles()->count(), 0);
        QCOMPARE(filesIn(folder), QStringList({batchName(QStringLiteral("CASH-EUR-2"))}));
        QCOMPARE(issuedCount(), before);

        // An input error (no folder) is shown the same way, at once.
        setBatchInputs(m_view, m_dir.filePath(QStringLiteral("no-such-folder")));
        m_view->startButton()->click();
        QVERIFY(test::waitForCount(finished, 2));
        QCOMPARE(finished.count(), 2);
        QVERIFY2(m_view->batchErrorText().contains(QStringLiteral("not a folder")),
                 qPrintable(m_view->batchErrorText()));
        QVERIFY(m_view->startButton()->isEnabled());
    }

    void deletingTheViewCancelsItsBatch()
    {
        const QString folder = newFolder(QStringLiteral("deleted"));
        QVERIFY(!folder.isEmpty());
        auto *view = new StatementsView(m_console.statements.get());
        setBatchInputs(view, folder);
        auto lock = holdStatementLock(QStringLiteral("CASH-EUR-1"));
        QVERIFY(lock);
        QSignalSpy progress(view, &StatementsView::batchProgress);
        view->startBatch();
        QVERIFY(test::waitForCount(progress, 1));
        QCOMPARE(progress.count(), 1);
        QVERIFY(batchWaitsForTheLock());
        delete view;
        QVERIFY(lock->run(QStringLiteral("COMMIT")).ok);
        // The long-jobs worker runs one job at a time, in order: when this answers, the
        // batch has ended.
        QVERIFY(await(m_console.statements->issuedStatements({})));
        QCOMPARE(filesIn(folder), QStringList({batchName(QStringLiteral("BANK-EUR")),
                                               batchName(QStringLiteral("CASH-EUR-1"))}));
    }

    void droppedFilesAreVerified()
    {
        QVERIFY(!m_batchFiles.isEmpty());
        const QString issued = m_batchFiles.first();
        const QString changed = m_dir.filePath(QStringLiteral("changed-copy.csv"));
        QVERIFY(test::writeChangedCopy(issued, changed));

        QSignalSpy verified(m_console.window.get(), &MainWindow::statementVerified);
        bool accepted = false;
        sendDrop(m_console.window.get(), {QUrl::fromLocalFile(issued)}, &accepted);
        QVERIFY(accepted);
        QVERIFY(test::waitForCount(verified, 1));
        QCOMPARE(verified.count(), 1);
        QCOMPARE(verified.at(0).at(1).toBool(), true);
        QVERIFY(verified.at(0).at(0).toString().contains(m_batchRecords.first().reference));

        sendDrop(m_console.window.get(), {QUrl::fromLocalFile(changed)}, &accepted);
        QVERIFY(accepted);
        QVERIFY(test::waitForCount(verified, 2));
        QCOMPARE(verified.count(), 2);
        QCOMPARE(verified.at(1).at(1).toBool(), false);

        // Several files at once: each is verified.
        sendDrop(m_console.window.get(),
                 {QUrl::fromLocalFile(m_batchFiles.at(1)), QUrl::fromLocalFile(changed)},
                 &accepted);
        QVERIFY(accepted);
        QVERIFY(test::waitForCount(verified, 4));
        QCOMPARE(verified.count(), 4);
        QCOMPARE(verified.at(2).at(1).toBool() + verified.at(3).at(1).toBool(), 1);

        // Something that is not a local file is not taken.
        sendDrop(m_console.window.get(), {QUrl(QStringLiteral("https://example.org/s.csv"))},
                 &accepted);
        QVERIFY(!accepted);
    }

    void cleanupTestCase()
    {
        m_console.window.reset();
        m_console.accounts.reset();
    }
};

QTEST_MAIN(TestStatementsTab)
#include "tst_statementstab.moc"
