// Statements in the console (Step 8), offscreen, against a real cluster: Carla (compliance,
// a direct connection) opens an account, issues its statement with Ctrl+E as CSV and as PDF
// into a temporary folder, and sees its reference, number and SHA-256; the files are there
// under their final names only, their records hold the server's balances, and each issue is
// an audit event. The service finds each file's issue record, and nothing for a changed copy;
// "Verify a statement file" says so too. A path that cannot be written and a known-at time in
// the future are errors shown in the dialog, and leave no file and no record. A screenshot
// of the dialog goes to build/<preset>/screenshots/ (look at it).

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "MainWindow.h"
#include "SqlSession.h"
#include "StatementExportDialog.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "console/StatementService.h"
#include "db/Connection.h"
#include "db/DbWorker.h"
#include "db/LedgerRepository.h"

#include <QAction>
#include <QApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace ledger;

namespace {

template <class T> Result<T> await(QFuture<Result<T>> future)
{
    // Test code only: the console itself continues with whenReady() and never waits.
    if (!QTest::qWaitFor([&] { return future.isFinished(); }, 30000))
        return Error::make(Error::Kind::Timeout, QStringLiteral("no answer in 30 s"));
    return future.result();
}

QString sha256Of(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromLatin1(
        QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex());
}

} // namespace

class TestStatementExport : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    std::unique_ptr<DbWorker> m_writer;
    std::unique_ptr<DbWorker> m_worker;   // Carla's pages
    std::unique_ptr<DbWorker> m_longJobs; // Carla's statements
    std::unique_ptr<LedgerService> m_ledger;
    std::unique_ptr<AuditService> m_audit;
    std::unique_ptr<StatementService> m_statements;
    std::unique_ptr<AccountListModel> m_accounts;
    std::unique_ptr<MainWindow> m_window;
    QTemporaryDir m_dir;
    QDate m_from;
    QDate m_to;
    StatementRecord m_csv;

    bool post(const QString &amount, int daysAgo)
    {
        static int key = 0;
        const QString effective =
            QDateTime::currentDateTimeUtc().addDays(-daysAgo).toString(Qt::ISODateWithMs);
        const QByteArray body =
            QStringLiteral(R"({"idempotency_key": "stx-%1", "effective_at": "%2",
                "description": "deposit %1", "legs": [
                {"account": "BANK-EUR", "amount": "%3", "currency": "EUR"},
                {"account": "CUST-EUR", "amount": "-%3", "currency": "EUR"}]})")
                .arg(++key)
                .arg(effective, amount)
                .toUtf8();
        const auto r = await(m_writer->submit(
            [body](Connection &c) { return LedgerRepository::post(c, body).transactionId; }));
        return r && r.value() > 0;
    }

    StatementExportDialog *openDialog()
    {
        QSignalSpy opened(m_window.get(), &MainWindow::statementDialogOpened);
        m_window->statementAction()->trigger();
        if (opened.count() != 1)
            return nullptr;
        auto *dialog = qobject_cast<StatementExportDialog *>(opened.at(0).at(0).value<QWidget *>());
        if (dialog)
            dialog->setPeriod(m_from, m_to);
        return dialog;
    }

    qint64 issuedCount()
    {
        return m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.statements"))
            .toLongLong();
    }

    static void save(QWidget *w, const QString &name)
    {
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        const QString file = QStringLiteral(LEDGER_SCREENSHOT_DIR) + QLatin1Char('/') + name;
        QVERIFY(w->grab().save(file));
        qInfo("screenshot: %s", qPrintable(file));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        for (const char *sql :
             {"SELECT ledger.open_account('BANK-EUR', 'Bank EUR', 'EUR', 'asset')",
              "SELECT ledger.open_account('CUST-EUR', 'Customer EUR', 'EUR', "
              "'liability')"}) {
            const auto r = m_admin->exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        m_writer = std::make_unique<DbWorker>(m_db.dsnFor(QStringLiteral("ledger_writer")),
                                              QStringLiteral("tst_statementexport writer"));
        QVERIFY(post(QStringLiteral("100.00"), 5));
        QVERIFY(post(QStringLiteral("25.50"), 4));
        QVERIFY(post(QStringLiteral("4.50"), 3));
        QVERIFY(post(QStringLiteral("7.00"), 40)); // before the period: the opening balance
        m_from = QDate::currentDate().addDays(-10);
        m_to = QDate::currentDate();

        const QString carla =
            m_db.dsnFor(QStringLiteral("console_compliance"), QStringLiteral("carla"));
        m_worker = std::make_unique<DbWorker>(carla, QStringLiteral("tst_statementexport"));
        m_longJobs =
            std::make_unique<DbWorker>(carla, QStringLiteral("tst_statementexport long jobs"));
        m_ledger = std::make_unique<LedgerService>(m_worker.get());
        m_audit = std::make_unique<AuditService>(m_worker.get());
        m_statements = std::make_unique<StatementService>(m_longJobs.get());
        m_accounts = std::make_unique<AccountListModel>(m_ledger.get(), m_audit.get());
        m_window =
            std::make_unique<MainWindow>(m_accounts.get(), QStringLiteral("carla@ledger"), true);
        auto *workspace = new AccountWorkspace(m_ledger.get());
        m_window->setAccountWorkspace(workspace);
        m_window->addStatements(m_statements.get());
        m_window->resize(1300, 850);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QCOMPARE(m_window->statementAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_E));
        workspace->openAccount(QStringLiteral("CUST-EUR"));
        QTRY_COMPARE_WITH_TIMEOUT(workspace->accountCode(), QStringLiteral("CUST-EUR"), 20000);
    }

    void exportsCsvAndPdf()
    {
        StatementExportDialog *dialog = openDialog();
        QVERIFY(dialog);
        QCOMPARE(dialog->request().accountCode, QStringLiteral("CUST-EUR")); // the open account
        QCOMPARE(dialog->request().timeZone, QStringLiteral("UTC"));
        QVERIFY(!dialog->request().knownAt.isValid()); // now

        const QString csv = m_dir.filePath(QStringLiteral("statement.csv"));
        dialog->setFormat(QStringLiteral("csv"));
        dialog->setOutputPath(csv);
        QSignalSpy exported(dialog, &StatementExportDialog::exported);
        QSignalSpy failed(dialog, &StatementExportDialog::failed);
        dialog->exportStatement();
        QVERIFY(dialog->isBusy()); // returned at once; the worker writes
        QTRY_COMPARE_WITH_TIMEOUT(exported.count() + failed.count(), 1, 30000);
        QVERIFY2(failed.isEmpty(), qPrintable(dialog->errorText()));
        QVERIFY(!dialog->isBusy());
        m_csv = exported.at(0).at(0).value<StatementRecord>();
        QVERIFY(m_csv.reference.startsWith(QLatin1String("ST-")));
        QCOMPARE(m_csv.sequenceNumber, 1);
        QCOMPARE(m_csv.format, QStringLiteral("csv"));
        QCOMPARE(m_csv.issuedBy, QStringLiteral("carla"));
        QCOMPARE(m_csv.lineCount, 3);
        // The customer's side: deposits raise what the bank owes. 7.00 before the period.
        QCOMPARE(m_csv.openingMinor, 700);
        QCOMPARE(m_csv.closingMinor, 700 + 10000 + 2550 + 450);
        QVERIFY(QFile::exists(csv));
        QVERIFY(!QFile::exists(csv + QStringLiteral(".part")));
        QCOMPARE(sha256Of(csv), m_csv.fileSha256);
        QVERIFY(dialog->resultText().contains(m_csv.reference));
        QVERIFY(dialog->resultText().contains(m_csv.fileSha256));
        QVERIFY2(dialog->resultText().contains(QStringLiteral("closing 137.00 EUR")),
                 qPrintable(dialog->resultText()));
        QCOMPARE(
            m_admin->scalar(QStringLiteral("SELECT operator || ' ' || (details->>'file_sha256') "
                                           "FROM audit.events WHERE action = "
                                           "'statement.issued' AND object_id = $1"),
                            {m_csv.reference}),
            QStringLiteral("carla ") + m_csv.fileSha256);

        // PDF, the same dialog again.
        const QString pdf = m_dir.filePath(QStringLiteral("statement.pdf"));
        dialog->setFormat(QStringLiteral("pdf"));
        dialog->setOutputPath(pdf);
        dialog->exportStatement();
        QTRY_COMPARE_WITH_TIMEOUT(exported.count() + failed.count(), 2, 60000);
        QVERIFY2(failed.isEmpty(), qPrintable(dialog->errorText()));
        const auto pdfRecord = exported.at(1).at(0).value<StatementRecord>();
        QCOMPARE(pdfRecord.format, QStringLiteral("pdf"));
        QCOMPARE(pdfRecord.sequenceNumber, 2);
        QCOMPARE(pdfRecord.closingMinor, m_csv.closingMinor);
        QCOMPARE(pdfRecord.lineCount, m_csv.lineCount);
        QFile file(pdf);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.read(5) == "%PDF-");
        QCOMPARE(sha256Of(pdf), pdfRecord.fileSha256);
        QVERIFY(!QFile::exists(pdf + QStringLiteral(".part")));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'statement.issued' AND object_id = $1"),
                                 {pdfRecord.reference}),
                 QStringLiteral("1"));
        save(dialog, QStringLiteral("statement-export.png"));
        dialog->close();
    }

    void verifiesFiles()
    {
        const QString csv = m_dir.filePath(QStringLiteral("statement.csv"));
        const auto found = await(m_statements->verifyFile(csv));
        QVERIFY2(found, qPrintable(found ? QString() : found.error().message));
        QVERIFY(found.value().has_value());
        QCOMPARE(found.value()->reference, m_csv.reference);
        QCOMPARE(found.value()->issuedBy, QStringLiteral("carla"));
        QCOMPARE(found.value()->accountCode, QStringLiteral("CUST-EUR"));

        // A copy with one byte changed was never issued.
        QFile in(csv);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QByteArray bytes = in.readAll();
        bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 1);
        const QString changed = m_dir.filePath(QStringLiteral("changed.csv"));
        QFile out(changed);
        QVERIFY(out.open(QIODevice::WriteOnly));
        QCOMPARE(out.write(bytes), bytes.size());
        out.close();
        const auto notFound = await(m_statements->verifyFile(changed));
        QVERIFY(notFound);
        QVERIFY(!notFound.value().has_value());
        // A file that is not there: an error, not "not issued".
        const auto missing = await(m_statements->verifyFile(m_dir.filePath(QStringLiteral("no"))));
        QVERIFY(!missing);
        QCOMPARE(missing.error().kind, Error::Kind::Io);

        // File > Verify a statement file…
        QSignalSpy verified(m_window.get(), &MainWindow::statementVerified);
        m_window->verifyStatementFile(csv);
        QTRY_COMPARE_WITH_TIMEOUT(verified.count(), 1, 30000);
        QCOMPARE(verified.at(0).at(1).toBool(), true);
        QVERIFY(verified.at(0).at(0).toString().contains(m_csv.reference));
        QVERIFY(verified.at(0).at(0).toString().contains(QStringLiteral("carla")));
        m_window->verifyStatementFile(changed);
        QTRY_COMPARE_WITH_TIMEOUT(verified.count(), 2, 30000);
        QCOMPARE(verified.at(1).at(1).toBool(), false);
        QVERIFY(verified.at(1).at(0).toString().contains(QStringLiteral("No statement")));
    }

    void errorsStayInTheDialog()
    {
        const qint64 before = issuedCount();
        StatementExportDialog *dialog = openDialog();
        QVERIFY(dialog);
        QSignalSpy failed(dialog, &StatementExportDialog::failed);
        QSignalSpy exported(dialog, &StatementExportDialog::exported);

        // A folder that does not exist: nothing written, nothing recorded.
        const QString unwritable = m_dir.filePath(QStringLiteral("no-such-folder/statement.csv"));
        dialog->setFormat(QStringLiteral("csv"));
        dialog->setOutputPath(unwritable);
        dialog->exportStatement();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
        QVERIFY(!dialog->errorText().isEmpty());
        QVERIFY(dialog->resultText().isEmpty());
        QVERIFY(!QFile::exists(unwritable));
        QVERIFY(!QFile::exists(unwritable + QStringLiteral(".part")));

        // The same for a PDF.
        dialog->setFormat(QStringLiteral("pdf"));
        dialog->setOutputPath(m_dir.filePath(QStringLiteral("no-such-folder/statement.pdf")));
        dialog->exportStatement();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, 30000);
        QVERIFY(!QDir(m_dir.filePath(QStringLiteral("no-such-folder"))).exists());

        // A known-at time in the future.
        dialog->setFormat(QStringLiteral("csv"));
        const QString future = m_dir.filePath(QStringLiteral("future.csv"));
        dialog->setOutputPath(future);
        dialog->setKnownAt(QDateTime::currentDateTimeUtc().addDays(1));
        dialog->exportStatement();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 3, 30000);
        QVERIFY(dialog->errorText().contains(QStringLiteral("future")));
        QVERIFY(!QFile::exists(future));

        QVERIFY(exported.isEmpty());
        QCOMPARE(issuedCount(), before);
        dialog->close();
    }

    void cleanupTestCase()
    {
        m_window.reset();
        m_accounts.reset();
    }
};

QTEST_MAIN(TestStatementExport)
#include "tst_statementexport.moc"
