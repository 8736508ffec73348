// The Health tab in the real console, offscreen, against a real cluster (Step 12). A stream
// source has taken events and left two dead letters (one unreadable, one naming an account
// that did not exist yet), and a reconciliation exception is overdue. Olivia (operator) sees
// each as "Act now" with its detail, the dead letters listed with their reasons and no
// payload (nor the account code its refusal quotes); the reconciliation item's button opens
// the reconciliation tab; with the buttons she retries the dead letter whose account now
// exists (posted once, audited; the selection does not move to another letter) and the
// unreadable one (the reason shown, still open), then discards it with the reason the dialog
// asks for (audited; gone from the list).
// She may not run the invariant checks (the database's refusal is shown); Ava (auditor)
// runs them and the run appears in the history. Screenshot: build/<preset>/screenshots/.

#include "AccountListModel.h"
#include "AuditLogView.h"
#include "HealthView.h"
#include "MainWindow.h"
#include "ReconciliationView.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/HealthService.h"
#include "console/LedgerService.h"
#include "console/ReconService.h"
#include "console/ReportService.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QDir>
#include <QInputDialog>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace ledger;

namespace {

struct Console
{
    DbWorker worker;
    DbWorker longJobs;
    LedgerService ledger{&worker};
    AuditService audit{&worker, &longJobs};
    ReconService recon{&worker, &longJobs};
    ReportService reports{&worker, &longJobs};
    HealthService health{&worker, &longJobs};
    AccountListModel accounts{&ledger, &audit};
    MainWindow window;
    HealthView *view = nullptr;
    QTabWidget *tabs = nullptr;

    Console(const QString &dsn, const QString &label)
        : worker(dsn, QStringLiteral("tst_healthview"))
        , longJobs(dsn, QStringLiteral("tst_healthview long jobs"))
        , window(&accounts, label, true)
    {
        window.addAuditLog(&audit);
        window.addReconciliation(&recon);
        window.addReports(&reports);
        view = window.addHealth(&health);
        tabs = window.findChild<QTabWidget *>(QStringLiteral("mainTabs"));
        window.resize(1500, 950);
        window.show();
    }

    // Shows the tab (which asks for a snapshot) and waits for it.
    bool open()
    {
        QSignalSpy refreshed(view, &HealthView::refreshed);
        if (tabs->currentWidget() == view)
            view->refresh();
        else
            tabs->setCurrentWidget(view);
        return test::waitForCount(refreshed, 1);
    }
};

QString levelOf(const HealthView *view, const QString &key)
{
    auto *table = view->findChild<QTableWidget *>(QStringLiteral("healthItems"));
    for (int r = 0; r < table->rowCount(); ++r)
        if (table->item(r, 0)->data(Qt::UserRole).toString() == key)
            return table->item(r, 0)->text();
    return {};
}

} // namespace

class TestHealthView : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    std::unique_ptr<test::SqlSession> m_writer;
    std::unique_ptr<Console> m_olivia;

    qint64 count(const QString &sql) { return m_admin->scalar(sql).toLongLong(); }

    bool decide(const std::function<void()> &action, bool expectDone, QString *message)
    {
        QSignalSpy decided(m_olivia->view, &HealthView::deadLetterDecided);
        QSignalSpy refreshed(m_olivia->view, &HealthView::refreshed);
        action();
        if (!test::waitForCount(decided, 1))
            return false;
        *message = decided.at(0).at(1).toString();
        if (decided.at(0).at(0).toBool() != expectDone)
            return false;
        return !expectDone || test::waitForCount(refreshed, 1);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_healthview"));
        QSettings().clear();
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('HV-A', 'A', 'EUR', 'liability'), "
                        "ledger.open_account('1000-CASH-EUR', 'Cash', 'EUR', 'asset')"))
                    .ok);
        m_writer = std::make_unique<test::SqlSession>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const auto event = [](const QString &id, const QString &account) {
            return QString::fromUtf8(
                QJsonDocument(QJsonObject{{QStringLiteral("event_id"), id},
                                          {QStringLiteral("type"), QStringLiteral("income")},
                                          {QStringLiteral("account"), account},
                                          {QStringLiteral("amount"), QStringLiteral("2.50")},
                                          {QStringLiteral("currency"), QStringLiteral("EUR")},
                                          {QStringLiteral("occurred_at"),
                                           QStringLiteral("2026-11-20T10:00:00Z")}})
                    .toJson(QJsonDocument::Compact));
        };
        const QJsonArray items{
            QJsonObject{
                {QStringLiteral("offset"), 0},
                {QStringLiteral("event"), event(QStringLiteral("hv-1"), QStringLiteral("HV-A"))}},
            QJsonObject{{QStringLiteral("offset"), 1},
                        {QStringLiteral("raw"), QStringLiteral("payload-not-for-the-panel")},
                        {QStringLiteral("error"), QStringLiteral("not UTF-8")}},
            QJsonObject{
                {QStringLiteral("offset"), 2},
                {QStringLiteral("event"), event(QStringLiteral("hv-2"), QStringLiteral("HV-B"))}}};
        const auto r = m_writer->exec(
            QStringLiteral("SELECT * FROM ledger.ingest_source_batch('payments', 'money', 0, "
                           "$1::jsonb, '1000-CASH-{currency}')"),
            {QString::fromUtf8(QJsonDocument(items).toJson(QJsonDocument::Compact))});
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.dead_letters")), 2);
        QVERIFY(m_writer
                    ->exec(QStringLiteral("SELECT ledger.note_source_ends('payments', 'money', "
                                          "'{0}', '{3}')"))
                    .ok);
        // An overdue exception (as the owner: the matching engine is tested elsewhere).
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SET LOCAL ROLE ledger_owner; "
                        "INSERT INTO recon.bank_accounts (identifier, currency, account_id, "
                        "mapped_by) SELECT 'DE00HV', 'EUR', id, 'test' FROM ledger.accounts "
                        "WHERE code = 'HV-A'; "
                        "WITH x AS (INSERT INTO recon.exceptions (bank_account_id, type, "
                        "entry_id, amount_minor, raised_by, raised_at, due_at) SELECT b.id, "
                        "'missing_in_statement', (SELECT min(id) FROM ledger.entries), 250, "
                        "'test', now() - interval '3 days', now() - interval '1 day' FROM "
                        "recon.bank_accounts b WHERE b.identifier = 'DE00HV' RETURNING id, "
                        "raised_at) INSERT INTO recon.exception_state SELECT id, 'open', NULL, "
                        "NULL, raised_at FROM x"))
                    .ok);
        m_olivia = std::make_unique<Console>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")),
            QStringLiteral("olivia"));
    }

    void cleanupTestCase() { m_olivia.reset(); }

    void theItemsSayWhatNeedsActing()
    {
        QVERIFY(m_olivia->open());
        const HealthView *view = m_olivia->view;
        QCOMPARE(levelOf(view, QStringLiteral("dead_letters")), QStringLiteral("Act now"));
        QCOMPARE(levelOf(view, QStringLiteral("reconciliation")), QStringLiteral("Act now"));
        QCOMPARE(levelOf(view, QStringLiteral("source:payments/money")), QStringLiteral("OK"));
        QCOMPARE(levelOf(view, QStringLiteral("held")), QStringLiteral("OK"));
        QCOMPARE(levelOf(view, QStringLiteral("invariants")), QStringLiteral("Warning"));
        // Where each came from and the kind of refusal; nothing of the payload, not even the
        // account code the refusal's own text quotes.
        auto *dead = view->findChild<QTableWidget *>(QStringLiteral("deadLetters"));
        QCOMPARE(dead->rowCount(), 2);
        for (int r = 0; r < dead->rowCount(); ++r)
            for (int c = 0; c < dead->columnCount(); ++c) {
                QVERIFY(!dead->item(r, c)->text().contains(QLatin1String("payload-not-for")));
                QVERIFY(!dead->item(r, c)->text().contains(QLatin1String("HV-B")));
            }
        QCOMPARE(dead->item(0, 5)->text(),
                 QStringLiteral("names an account the ledger does not have"));
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        const QString file = QStringLiteral(LEDGER_SCREENSHOT_DIR "/healthview.png");
        QVERIFY(m_olivia->window.grab().save(file));
        qInfo("screenshot: %s", qPrintable(file));
    }

    void anItemsButtonGoesWhereToAct()
    {
        auto *button =
            m_olivia->view->findChild<QPushButton *>(QStringLiteral("act:reconciliation"));
        QVERIFY(button);
        QTest::mouseClick(button, Qt::LeftButton);
        QCOMPARE(m_olivia->tabs->currentWidget(), m_olivia->window.reconciliationView());
        QVERIFY(m_olivia->open());
        button = m_olivia->view->findChild<QPushButton *>(QStringLiteral("act:audit_chain"));
        QVERIFY(button);
        QTest::mouseClick(button, Qt::LeftButton);
        QCOMPARE(m_olivia->tabs->currentWidget(),
                 static_cast<QWidget *>(m_olivia->window.auditLogView()));
        QVERIFY(m_olivia->open());
    }

    // Through the buttons: a row selected, Retry; Discard… asks for the reason in a dialog.
    void deadLettersAreRetriedAndDiscardedFromThePanel()
    {
        const qint64 unreadable =
            count(QStringLiteral("SELECT id FROM ledger.dead_letters WHERE kafka_offset = 1"));
        const qint64 unknownAccount =
            count(QStringLiteral("SELECT id FROM ledger.dead_letters WHERE kafka_offset = 2"));
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SELECT ledger.open_account('HV-B', 'B', 'EUR', "
                                          "'liability')"))
                    .ok);
        auto *dead = m_olivia->view->findChild<QTableWidget *>(QStringLiteral("deadLetters"));
        auto *retry = m_olivia->view->findChild<QPushButton *>(QStringLiteral("retryDeadLetter"));
        auto *discard =
            m_olivia->view->findChild<QPushButton *>(QStringLiteral("discardDeadLetter"));
        const auto select = [&](qint64 id) {
            dead->clearSelection();
            for (int r = 0; r < dead->rowCount(); ++r)
                if (dead->item(r, 0)->data(Qt::UserRole).toLongLong() == id)
                    dead->selectRow(r);
        };
        QVERIFY(!retry->isEnabled()); // nothing selected
        QString message;
        select(unknownAccount);
        QVERIFY(retry->isEnabled());
        QVERIFY2(decide([&] { QTest::mouseClick(retry, Qt::LeftButton); }, true, &message),
                 qPrintable(message));
        QVERIFY2(message.contains(QLatin1String("posted as transaction")), qPrintable(message));
        QCOMPARE(
            count(QStringLiteral(
                "SELECT count(*) FROM ledger.transactions WHERE idempotency_key = 'event:hv-2'")),
            1);
        // The letter is gone from the list, and the selection did not move to another one.
        QCOMPARE(dead->rowCount(), 1);
        QVERIFY(dead->selectedItems().isEmpty());
        QVERIFY(!retry->isEnabled());

        // Not JSON: a retry is refused with the reason, and the letter stays open.
        select(unreadable);
        QVERIFY(decide([&] { QTest::mouseClick(retry, Qt::LeftButton); }, false, &message));
        auto *shown = m_olivia->view->findChild<QLabel *>(QStringLiteral("healthMessage"));
        QVERIFY(shown->isVisible());
        QCOMPARE(shown->text(), message);
        QVERIFY2(message.contains(QStringLiteral("was not retried")), qPrintable(message));
        QCOMPARE(m_olivia->view->snapshot()->openDeadLetters, 1);

        // A discard needs a reason the database accepts; the dialog asks for it.
        QVERIFY(decide([&] { m_olivia->view->discardDeadLetter(unreadable, QString()); }, false,
                       &message));
        select(unreadable);
        QTimer::singleShot(0, this, [] {
            auto *dialog = qobject_cast<QInputDialog *>(QApplication::activeModalWidget());
            QVERIFY(dialog);
            dialog->setTextValue(QStringLiteral("unreadable, not ours"));
            dialog->accept();
        });
        QVERIFY(decide([&] { QTest::mouseClick(discard, Qt::LeftButton); }, true, &message));
        QCOMPARE(m_olivia->view->snapshot()->openDeadLetters, 0);
        QCOMPARE(dead->rowCount(), 0);
        QCOMPARE(levelOf(m_olivia->view, QStringLiteral("dead_letters")), QStringLiteral("OK"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action LIKE "
                                      "'dead_letter.%' AND operator = 'olivia'")),
                 2);
        QCOMPARE(
            m_admin->scalar(
                QStringLiteral(
                    "SELECT reason FROM ledger.dead_letter_outcomes WHERE dead_letter_id = $1"),
                {QString::number(unreadable)}),
            QStringLiteral("unreadable, not ours"));
    }

    void invariantChecksRunForAuditorsOnly()
    {
        QSignalSpy finished(m_olivia->view, &HealthView::checksFinished);
        m_olivia->view->runChecks();
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.invariant_checks")), 0);

        Console ava(m_db.dsnFor(QStringLiteral("console_auditor"), QStringLiteral("ava")),
                    QStringLiteral("ava"));
        QVERIFY(ava.open());
        QSignalSpy avaFinished(ava.view, &HealthView::checksFinished);
        QSignalSpy refreshed(ava.view, &HealthView::refreshed);
        QTest::mouseClick(ava.view->findChild<QPushButton *>(QStringLiteral("runChecks")),
                          Qt::LeftButton);
        QVERIFY(test::waitForCount(avaFinished, 1));
        QVERIFY2(avaFinished.at(0).at(0).toBool(), qPrintable(avaFinished.at(0).at(1).toString()));
        QVERIFY(test::waitForCount(refreshed, 1));
        QCOMPARE(ava.view->findChild<QTableWidget *>(QStringLiteral("invariantChecks"))->rowCount(),
                 1);
        QCOMPARE(levelOf(ava.view, QStringLiteral("invariants")), QStringLiteral("OK"));
    }
};

QTEST_MAIN(TestHealthView)
#include "tst_healthview.moc"
