// Statements in the console (Step 8), offscreen, against a real cluster: Carla (compliance,
// a direct connection) opens an account, issues its statement with Ctrl+E as CSV and as PDF
// into a temporary folder, and sees its reference, number and SHA-256; the files are there
// under their final names only, their records hold the server's balances, and each issue is
// an audit event. The service finds each file's issue record, and nothing for a changed copy;
// "Verify a statement file" says so too. A path that cannot be written and a known-at time in
// the future are errors shown in the dialog, and leave no file and no record. A screenshot
// of the dialog goes to build/<preset>/screenshots/ (look at it).

#include "AccountWorkspace.h"
#include "ComplianceConsole.h"
#include "MainWindow.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "StatementExportDialog.h"
#include "TestCluster.h"
#include "TimelineModel.h"
#include "UiTestHelpers.h"
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

using test::await;
using test::sha256OfFile;

class TestStatementExport : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    std::unique_ptr<DbWorker> m_writer;
    test::ComplianceConsole m_console;
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
        QSignalSpy opened(m_console.window.get(), &MainWindow::statementDialogOpened);
        m_console.window->statementAction()->trigger();
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

        m_console.start(m_db, QStringLiteral("tst_statementexport"));
        auto *workspace = new AccountWorkspace(m_console.ledger.get());
        m_console.window->setAccountWorkspace(workspace);
        m_console.window->addStatements(m_console.statements.get());
        m_console.window->resize(1300, 850);
        m_console.window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_console.window.get()));
        QCOMPARE(m_console.window->statementAction()->shortcut(),
                 QKeySequence(Qt::CTRL | Qt::Key_E));
        workspace->openAccount(QStringLiteral("CUST-EUR"));
        QVERIFY(test::waitForSignals(workspace->timelineModel(), [&] {
            return workspace->accountCode() == QLatin1String("CUST-EUR");
        }));
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
        QVERIFY(
            test::waitForSignals(dialog, [&] { return exported.count() + failed.count() >= 1; }));
        QCOMPARE(exported.count() + failed.count(), 1);
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
        QCOMPARE(sha256OfFile(csv), m_csv.fileSha256);
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
        QVERIFY(test::waitForSignals(
            dialog, [&] { return exported.count() + failed.count() >= 2; }, 60000));
        QCOMPARE(exported.count() + failed.count(), 2);
        QVERIFY2(failed.isEmpty(), qPrintable(dialog->errorText()));
        const auto pdfRecord = exported.at(1).at(0).value<StatementRecord>();
        QCOMPARE(pdfRecord.format, QStringLiteral("pdf"));
        QCOMPARE(pdfRecord.sequenceNumber, 2);
        QCOMPARE(pdfRecord.closingMinor, m_csv.closingMinor);
        QCOMPARE(pdfRecord.lineCount, m_csv.lineCount);
        QFile file(pdf);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.read(5) == "%PDF-");
        QCOMPARE(sha256OfFile(pdf), pdfRecord.fileSha256);
        QVERIFY(!QFile::exists(pdf + QStringLiteral(".part")));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'statement.issued' AND object_id = $1"),
                                 {pdfRecord.reference}),
                 QStringLiteral("1"));
        QVERIFY(test::saveScreenshot(dialog, QStringLiteral("statement-export.png")));
        dialog->close();
    }

    void verifiesFiles()
    {
        const QString csv = m_dir.filePath(QStringLiteral("statement.csv"));
        const auto found = await(m_console.statements->verifyFile(csv));
        QVERIFY2(found, qPrintable(found ? QString() : found.error().message));
        QVERIFY(found.value().has_value());
        QCOMPARE(found.value()->reference, m_csv.reference);
        QCOMPARE(found.value()->issuedBy, QStringLiteral("carla"));
        QCOMPARE(found.value()->accountCode, QStringLiteral("CUST-EUR"));

        // A copy with one byte changed was never issued.
        const QString changed = m_dir.filePath(QStringLiteral("changed.csv"));
        QVERIFY(test::writeChangedCopy(csv, changed));
        const auto notFound = await(m_console.statements->verifyFile(changed));
        QVERIFY(notFound);
        QVERIFY(!notFound.value().has_value());
        // A file that is not there: an error, not "not issued".
        const auto missing =
            await(m_console.statements->verifyFile(m_dir.filePath(QStringLiteral("no"))));
        QVERIFY(!missing);
        QCOMPARE(missing.error().kind, Error::Kind::Io);

        // File > Verify a statement file…
        QSignalSpy verified(m_console.window.get(), &MainWindow::statementVerified);
        m_console.window->verifyStatementFile(csv);
        QVERIFY(test::waitForCount(verified, 1));
        QCOMPARE(verified.count(), 1);
        QCOMPARE(verified.at(0).at(1).toBool(), true);
        QVERIFY(verified.at(0).at(0).toString().contains(m_csv.reference));
        QVERIFY(verified.at(0).at(0).toString().contains(QStringLiteral("carla")));
        m_console.window->verifyStatementFile(changed);
        QVERIFY(test::waitForCount(verified, 2));
        QCOMPARE(verified.count(), 2);
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
        QVERIFY(test::waitForCount(failed, 1));
        QCOMPARE(failed.count(), 1);
        QVERIFY(!dialog->errorText().isEmpty());
        QVERIFY(dialog->resultText().isEmpty());
        QVERIFY(!QFile::exists(unwritable));
        QVERIFY(!QFile::exists(unwritable + QStringLiteral(".part")));

        // The same for a PDF.
        dialog->setFormat(QStringLiteral("pdf"));
        dialog->setOutputPath(m_dir.filePath(QStringLiteral("no-such-folder/statement.pdf")));
        dialog->exportStatement();
        QVERIFY(test::waitForCount(failed, 2));
        QCOMPARE(failed.count(), 2);
        QVERIFY(!QDir(m_dir.filePath(QStringLiteral("no-such-folder"))).exists());

        // A known-at time in the future.
        dialog->setFormat(QStringLiteral("csv"));
        const QString future = m_dir.filePath(QStringLiteral("future.csv"));
        dialog->setOutputPath(future);
        dialog->setKnownAt(QDateTime::currentDateTimeUtc().addDays(1));
        dialog->exportStatement();
        QVERIFY(test::waitForCount(failed, 3));
        QCOMPARE(failed.count(), 3);
        QVERIFY(dialog->errorText().contains(QStringLiteral("future")));
        QVERIFY(!QFile::exists(future));

        QVERIFY(exported.isEmpty());
        QCOMPARE(issuedCount(), before);
        dialog->close();
    }

    void cleanupTestCase()
    {
        m_console.window.reset();
        m_console.accounts.reset();
    }
};

QTEST_MAIN(TestStatementExport)
#include "tst_statementexport.moc"
