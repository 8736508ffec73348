// The auditor's view offscreen against a real cluster, read as console_auditor: the log
// newest first, the filter bar (Enter applies), the detail pane, "Open object", and "Verify
// audit trail" on an intact chain, with a checkpoint file, cancelled on a long chain, and on
// a chain tampered with as the superuser. Saves screenshots to look at.

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "AuditLogModel.h"
#include "AuditLogView.h"
#include "AuditVerifyPanel.h"
#include "LedgerInvariants.h"
#include "MainWindow.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "TimelineModel.h"
#include "audit/ChainVerifier.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QCheckBox>
#include <QDateTimeEdit>
#include <QDir>
#include <QFile>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace ledger;

class TestAuditLog : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    bool m_tampered = false; // the chain was broken on purpose: skip the invariants

    static void screenshot(QWidget *widget, const char *name)
    {
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        const QString file = QStringLiteral(LEDGER_SCREENSHOT_DIR "/") + QLatin1String(name);
        QVERIFY(widget->grab().save(file));
        qInfo("screenshot: %s", qPrintable(file));
    }

    template <class T> static T *child(QWidget *parent, const char *name)
    {
        auto *widget = parent->findChild<T *>(QLatin1String(name));
        if (!widget)
            qFatal("no child %s", name);
        return widget;
    }

    QString sql(const QString &query)
    {
        test::SqlSession admin(m_db.adminDsn());
        return admin.scalar(query);
    }

    // The chain's head after sealing everything committed: what a verification covers.
    qint64 sealedHead()
    {
        sql(QStringLiteral("SELECT audit.seal()"));
        return sql(QStringLiteral("SELECT max(seq) FROM audit.events")).toLongLong();
    }

    static void waitUntilLoaded(AuditLogView &view)
    {
        QVERIFY(test::waitForModel(view.model(), [&] {
            return view.model()->rowCount() > 0 && !view.model()->isLoading();
        }));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_auditlog"));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        test::SqlSession admin(m_db.adminDsn());
        // Older events of known shape (as a DBA could write them), then real ones.
        auto r = admin.exec(QStringLiteral(
            "INSERT INTO audit.events (occurred_at, operator, session_role, action, object_type, "
            "object_id, details) "
            "SELECT timestamptz '2020-01-01 09:00:00+00' + (i % 5) * interval '1 day' + i * "
            "interval '1 hour', (ARRAY['alice','bob'])[1 + i % 2], 'test_console_operator', "
            "(ARRAY['reversal.requested','session.issued','balance.asked'])[1 + i % 3], "
            "(ARRAY['reversal_request','session','account'])[1 + i % 3], "
            "CASE WHEN i % 3 = 2 THEN 'C1' ELSE 'R' || i END, "
            "jsonb_build_object('note', CASE WHEN i % 10 = 0 THEN 'Quarterly review ' || i ELSE "
            "'routine check ' || i END, 'amount', '12.50', 'n', i) "
            "FROM generate_series(1, 120) i"));
        QVERIFY2(r.ok, qPrintable(r.message));
        for (const char *query :
             {"SELECT ledger.open_account('C1', 'Cash at bank', 'EUR', 'asset')",
              "SELECT ledger.open_account('C2', 'Customer deposits', 'EUR', 'liability')",
              "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', 'al-1', "
              "'effective_at', now(), 'description', 'Opening deposit', 'legs', "
              "jsonb_build_array(jsonb_build_object('account', 'C1', 'amount', '250.00', "
              "'currency', 'EUR'), jsonb_build_object('account', 'C2', 'amount', '-250.00', "
              "'currency', 'EUR'))))",
              // A commit seals at most every seal_every (0060): the chain complete, as an
              // auditor's verification leaves it.
              "SELECT audit.seal()"}) {
            r = admin.exec(QString::fromLatin1(query));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
    }

    void cleanup()
    {
        if (m_tampered)
            return;
        test::SqlSession admin(m_db.adminDsn());
        const QStringList violations = test::ledgerInvariantViolations(admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void listsEventsNewestFirstWithADetailPane()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        // Shown, the table asks the model for its first page by itself.
        waitUntilLoaded(view);
        QTableView *table = view.tableView();
        const qint64 total = sql(QStringLiteral("SELECT count(*) FROM audit.events")).toLongLong();
        QCOMPARE(table->model()->rowCount(), int(total)); // fewer than a page
        QCOMPARE(table->model()->index(0, 0).data(AuditLogModel::EventIdRole).toLongLong(),
                 sql(QStringLiteral("SELECT max(id) FROM audit.events")).toLongLong());
        QCOMPARE(table->model()->index(0, AuditLogModel::Action).data().toString(),
                 QStringLiteral("transaction.posted"));
        for (int row = 1; row < table->model()->rowCount(); ++row)
            QVERIFY(
                table->model()->index(row, 0).data(AuditLogModel::EventIdRole).toLongLong() <
                table->model()->index(row - 1, 0).data(AuditLogModel::EventIdRole).toLongLong());
        QCOMPARE(child<QLabel>(&view, "auditStatus")->text(),
                 QStringLiteral("All %1 matching events shown.").arg(total));
        // Fixed, uniform row heights.
        QCOMPARE(table->verticalHeader()->sectionResizeMode(0), QHeaderView::Fixed);

        // Nothing selected: a hint, and nothing to open.
        auto *open = child<QPushButton>(&view, "openObject");
        QVERIFY(!open->isVisible());

        // Select the newest event from the keyboard: the detail pane shows all its fields.
        table->setFocus();
        QTest::keyClick(table, Qt::Key_Home, Qt::ControlModifier);
        QCOMPARE(table->currentIndex().row(), 0);
        test::SqlSession admin(m_db.adminDsn());
        const auto expected = admin.exec(QStringLiteral(
            "SELECT id, seq, operator, action, object_type, object_id, encode(prev_hash, 'hex'), "
            "encode(hash, 'hex'), jsonb_pretty(details), jsonb_pretty(client_info) "
            "FROM audit.events ORDER BY id DESC LIMIT 1"));
        QVERIFY2(expected.ok, qPrintable(expected.message));
        const QStringList e = expected.rows.first();
        QCOMPARE(child<QLabel>(&view, "detailEventId")->text(), e.at(0));
        QCOMPARE(child<QLabel>(&view, "detailSequence")->text(), e.at(1));
        QCOMPARE(child<QLabel>(&view, "detailOperator")->text(), e.at(2));
        QCOMPARE(child<QLabel>(&view, "detailAction")->text(), e.at(3));
        QCOMPARE(child<QLabel>(&view, "detailObject")->text(),
                 e.at(4) + QLatin1Char(' ') + e.at(5));
        QCOMPARE(child<QLineEdit>(&view, "detailPrevHash")->text(), e.at(6));
        QCOMPARE(child<QLineEdit>(&view, "detailHash")->text(), e.at(7));
        QCOMPARE(child<QLineEdit>(&view, "detailHash")->text().size(), 64);
        QCOMPARE(child<QPlainTextEdit>(&view, "detailDetails")->toPlainText(), e.at(8));
        QCOMPARE(child<QPlainTextEdit>(&view, "detailClientInfo")->toPlainText(), e.at(9));
        QVERIFY(child<QPlainTextEdit>(&view, "detailDetails")
                    ->toPlainText()
                    .contains(QLatin1String("\n    \"")));
        // To the millisecond, with its offset (the zone shown, DisplayZone).
        QVERIFY(child<QLabel>(&view, "detailTime")
                    ->text()
                    .contains(QRegularExpression(
                        QStringLiteral(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)"))));
        QVERIFY(open->isVisible() && open->isEnabled());
        screenshot(&view, "audit-log.png");
    }

    void filterBarNarrowsTheLog()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        waitUntilLoaded(view);
        AuditLogModel *model = view.model();
        const int all = model->rowCount();

        // Operator, typed, Enter applies.
        auto *operatorField = child<QLineEdit>(&view, "filterOperator");
        operatorField->setFocus();
        QTest::keyClicks(operatorField, QStringLiteral("alice"));
        QTest::keyClick(operatorField, Qt::Key_Return);
        QCOMPARE(model->filter().operatorName, QStringLiteral("alice"));
        waitUntilLoaded(view);
        QCOMPARE(model->rowCount(),
                 sql(QStringLiteral("SELECT count(*) FROM audit.events WHERE operator = 'alice'"))
                     .toInt());
        QVERIFY(model->rowCount() < all);
        for (int row = 0; row < model->rowCount(); ++row)
            QCOMPARE(model->index(row, AuditLogModel::Operator).data().toString(),
                     QStringLiteral("alice"));

        // Add an action prefix, text in the details and a start time; Enter in the date
        // field applies too.
        QTest::keyClicks(child<QLineEdit>(&view, "filterAction"), QStringLiteral("reversal."));
        QTest::keyClicks(child<QLineEdit>(&view, "filterText"), QStringLiteral("QUARTERLY"));
        auto *fromEnabled = child<QCheckBox>(&view, "filterFromEnabled");
        auto *from = child<QDateTimeEdit>(&view, "filterFrom");
        QVERIFY(!from->isEnabled());
        fromEnabled->setFocus();
        QTest::keyClick(fromEnabled, Qt::Key_Space);
        QVERIFY(from->isEnabled());
        from->setDateTime(QDateTime(QDate(2020, 1, 3), QTime(0, 0)));
        from->setFocus();
        QTest::keyClick(from, Qt::Key_Enter);
        QCOMPARE(model->filter().text, QStringLiteral("QUARTERLY"));
        QCOMPARE(model->filter().from, QDateTime(QDate(2020, 1, 3), QTime(0, 0)).toUTC());
        waitUntilLoaded(view);
        test::SqlSession admin(m_db.adminDsn());
        const auto expected = admin.exec(
            QStringLiteral("SELECT id FROM audit.events WHERE operator = 'alice' AND action LIKE "
                           "'reversal.%' AND details::text ILIKE '%quarterly%' AND occurred_at >= "
                           "$1::timestamptz ORDER BY id DESC"),
            {model->filter().from.toString(Qt::ISODate)});
        QVERIFY2(expected.ok, qPrintable(expected.message));
        QVERIFY(!expected.rows.isEmpty());
        QCOMPARE(model->rowCount(), int(expected.rows.size()));
        for (int row = 0; row < model->rowCount(); ++row)
            QCOMPARE(model->index(row, 0).data(AuditLogModel::EventIdRole).toString(),
                     expected.rows.at(row).first());
        QVERIFY(child<QLabel>(&view, "auditStatus")->text().startsWith(QLatin1String("All ")));
        screenshot(&view, "audit-log-filtered.png");

        // A filter that matches nothing says so.
        operatorField->setText(QStringLiteral("nobody"));
        QTest::mouseClick(child<QPushButton>(&view, "filterApply"), Qt::LeftButton);
        QVERIFY(test::waitForModel(model, [&] { return !model->isLoading() && model->atEnd(); }));
        QCOMPARE(model->rowCount(), 0);
        QCOMPARE(child<QLabel>(&view, "auditStatus")->text(),
                 QStringLiteral("No events match the filter."));

        // Clear empties the bar and shows everything again.
        QTest::mouseClick(child<QPushButton>(&view, "filterClear"), Qt::LeftButton);
        QVERIFY(model->filter().isEmpty());
        QVERIFY(operatorField->text().isEmpty());
        QVERIFY(!fromEnabled->isChecked() && !from->isEnabled());
        waitUntilLoaded(view);
        // Everything again, and the three searches just run are on record too.
        QCOMPARE(model->rowCount(), all + 3);
        QCOMPARE(model->index(0, AuditLogModel::Action).data().toString(),
                 QStringLiteral("search.run"));
    }

    void tabWalksTheFilterBarThenTheLog()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        view.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&view));
        waitUntilLoaded(view);
        auto *operatorField = child<QLineEdit>(&view, "filterOperator");
        operatorField->setFocus();
        QVERIFY(operatorField->hasFocus());
        QStringList visited{operatorField->objectName()};
        for (int i = 0; i < 11; ++i) {
            QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
            visited.append(QApplication::focusWidget()->objectName());
        }
        // The date fields are skipped while their check boxes are off.
        const QStringList expected{
            QStringLiteral("filterOperator"),       QStringLiteral("filterAction"),
            QStringLiteral("filterObjectType"),     QStringLiteral("filterObjectId"),
            QStringLiteral("filterFromEnabled"),    QStringLiteral("filterUntilEnabled"),
            QStringLiteral("filterText"),           QStringLiteral("filterApply"),
            QStringLiteral("filterClear"),          QStringLiteral("verifyButton"),
            QStringLiteral("checkpointFileButton"), QStringLiteral("auditTable")};
        QCOMPARE(visited, expected);
    }

    void opensTheSelectedEventsObject()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy open(&view, &AuditLogView::openObjectRequested);

        child<QLineEdit>(&view, "filterAction")->setText(QStringLiteral("account.opened"));
        child<QLineEdit>(&view, "filterObjectId")->setText(QStringLiteral("C1"));
        view.applyFilter();
        waitUntilLoaded(view);
        QCOMPARE(view.model()->rowCount(), 1);
        QTableView *table = view.tableView();
        table->setFocus();
        QTest::keyClick(table, Qt::Key_Home, Qt::ControlModifier);
        QCOMPARE(table->currentIndex().row(), 0);

        QTest::mouseClick(child<QPushButton>(&view, "openObject"), Qt::LeftButton);
        QCOMPARE(open.count(), 1);
        QCOMPARE(open.last().at(0).toString(), QStringLiteral("account"));
        QCOMPARE(open.last().at(1).toString(), QStringLiteral("C1"));

        // Enter on the row does the same.
        table->setFocus();
        QTest::keyClick(table, Qt::Key_Return);
        QCOMPARE(open.count(), 2);
        QCOMPARE(open.last().at(0).toString(), QStringLiteral("account"));

        // The posting's event opens the transaction.
        child<QLineEdit>(&view, "filterAction")->setText(QStringLiteral("transaction."));
        child<QLineEdit>(&view, "filterObjectId")->clear();
        view.applyFilter();
        waitUntilLoaded(view);
        view.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&view));
        table->setFocus();
        QTest::keyClick(table, Qt::Key_Home, Qt::ControlModifier);
        QTest::keySequence(table, QKeySequence(Qt::CTRL | Qt::Key_O));
        QCOMPARE(open.count(), 3);
        QCOMPARE(open.last().at(0).toString(), QStringLiteral("transaction"));
        QCOMPARE(open.last().at(1).toString(),
                 sql(QStringLiteral("SELECT object_id FROM audit.events WHERE action = "
                                    "'transaction.posted'")));

        // A reversal request opens its transaction (named in the event's details).
        const QString transaction = open.last().at(1).toString();
        test::SqlSession admin(m_db.adminDsn());
        QVERIFY(admin
                    .exec(QStringLiteral("SELECT audit.record('reversal.requested', "
                                         "'reversal_request', '77', jsonb_build_object("
                                         "'transaction_id', %1, 'reason', 'DUPLICATE'))")
                              .arg(transaction))
                    .ok);
        child<QLineEdit>(&view, "filterAction")->setText(QStringLiteral("reversal.requested"));
        child<QLineEdit>(&view, "filterObjectId")->setText(QStringLiteral("77"));
        view.applyFilter();
        waitUntilLoaded(view);
        QCOMPARE(view.model()->rowCount(), 1);
        table->setFocus();
        QTest::keyClick(table, Qt::Key_Home, Qt::ControlModifier);
        QTest::keyClick(table, Qt::Key_Return);
        QCOMPARE(open.count(), 4);
        QCOMPARE(open.last().at(0).toString(), QStringLiteral("transaction"));
        QCOMPARE(open.last().at(1).toString(), transaction);
    }

    void verifiesAnIntactChain()
    {
        const qint64 head = sealedHead();
        QVERIFY(head > 100);
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        waitUntilLoaded(view);
        AuditVerifyPanel *panel = view.verifyPanel();
        auto *result = child<QLabel>(&view, "verifyResult");
        QSignalSpy finished(panel, &AuditVerifyPanel::finished);

        QTest::mouseClick(child<QPushButton>(&view, "verifyButton"), Qt::LeftButton);
        QVERIFY(panel->isRunning());
        QVERIFY(!child<QPushButton>(&view, "verifyButton")->isEnabled());
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        QVERIFY(!panel->isRunning());
        QVERIFY(result->isVisible());
        QVERIFY2(result->text().startsWith(
                     QStringLiteral("Verified through sequence %1 (%1 events)").arg(head)),
                 qPrintable(result->text()));
        QVERIFY(child<QPushButton>(&view, "verifyButton")->isEnabled());

        // The run is itself audited, and the log shows it at the top.
        QVERIFY(test::waitForModel(view.model(), [&] {
            return view.model()->index(0, AuditLogModel::Action).data().toString() ==
                   QStringLiteral("audit.verified");
        }));
        QCOMPARE(view.model()->index(0, AuditLogModel::Action).data().toString(),
                 QStringLiteral("audit.verified"));
        waitUntilLoaded(view);
        screenshot(&view, "audit-verify-ok.png");
    }

    void checksACheckpointFile()
    {
        const qint64 head = sealedHead();
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto write = [&dir](const QString &name, const QByteArray &contents) {
            QFile file(dir.filePath(name));
            if (!file.open(QIODevice::WriteOnly) || file.write(contents) != contents.size())
                qFatal("cannot write %s", qPrintable(file.fileName()));
            return file.fileName();
        };
        auto hashAt = [this](qint64 seq) {
            return QByteArray::fromHex(
                sql(QStringLiteral("SELECT encode(hash, 'hex') FROM audit.events WHERE seq = %1")
                        .arg(seq))
                    .toLatin1());
        };
        CheckpointFile good;
        good.seq = head;
        good.hash = hashAt(head);
        good.issuedAt = QDateTime::currentDateTimeUtc();
        good.database = QStringLiteral("ledger");
        const QString goodFile = write(QStringLiteral("good.json"), good.toJson());
        // Claims that sequence 5 had sequence 6's hash: as if the chain had been rewritten.
        CheckpointFile rewritten = good;
        rewritten.seq = 5;
        rewritten.hash = hashAt(6);
        const QString rewrittenFile = write(QStringLiteral("rewritten.json"), rewritten.toJson());
        const QString junkFile = write(QStringLiteral("junk.json"), "not json");

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditVerifyPanel panel(&audit);
        panel.resize(900, 80);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        auto *fileLabel = child<QLabel>(&panel, "checkpointFileLabel");
        QSignalSpy finished(&panel, &AuditVerifyPanel::finished);

        QVERIFY(!panel.setCheckpointFile(junkFile));
        QVERIFY2(fileLabel->text().startsWith(QLatin1String("Not using junk.json")),
                 qPrintable(fileLabel->text()));
        QVERIFY(panel.checkpointFile().isEmpty());

        QVERIFY(panel.setCheckpointFile(goodFile));
        QVERIFY2(fileLabel->text().contains(QStringLiteral("sequence %1").arg(head)),
                 qPrintable(fileLabel->text()));
        QVERIFY(child<QWidget>(&panel, "clearCheckpointFile")->isVisible());
        panel.verify();
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        QVERIFY2(panel.resultText().startsWith(
                     QStringLiteral("Verified through sequence %1").arg(head)) &&
                     panel.resultText().contains(QLatin1String("good.json")),
                 qPrintable(panel.resultText()));

        QVERIFY(panel.setCheckpointFile(rewrittenFile));
        panel.verify();
        QVERIFY(test::waitForCount(finished, 2));
        QCOMPARE(finished.count(), 2);
        QVERIFY2(panel.resultText().startsWith(QLatin1String("Broken at sequence 5: ")),
                 qPrintable(panel.resultText()));
        QVERIFY2(panel.resultText().contains(QLatin1String("rewritten.json")),
                 qPrintable(panel.resultText()));
        screenshot(&panel, "audit-verify-checkpoint.png");

        panel.clearCheckpointFile();
        QVERIFY(panel.checkpointFile().isEmpty());
        QVERIFY(!child<QWidget>(&panel, "clearCheckpointFile")->isVisible());
    }

    void cancelsOnALongChain()
    {
        // Some 30,000 more events: the verifier looks at the cancel flag between batches.
        test::SqlSession admin(m_db.adminDsn());
        const auto r = admin.exec(QStringLiteral(
            "INSERT INTO audit.events (operator, session_role, action, object_type, object_id, "
            "details) SELECT 'loader', 'test', 'balance.asked', 'account', 'C1', "
            "jsonb_build_object('n', i) FROM generate_series(1, 30000) i"));
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(admin.scalar(QStringLiteral("SELECT audit.seal()")), QStringLiteral("0"));
        const QString verifications =
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'audit.verified'");
        const QString recordedBefore = admin.scalar(verifications);

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        waitUntilLoaded(view);
        AuditVerifyPanel *panel = view.verifyPanel();
        QSignalSpy finished(panel, &AuditVerifyPanel::finished);

        // Hold the chain so that the verifier waits in its first step (sealing) until the
        // Cancel has been clicked: no race with a fast machine. The window stays responsive
        // meanwhile, since the wait is on the worker's thread.
        test::SqlSession holder(m_db.adminDsn());
        QVERIFY(
            holder.exec(QStringLiteral("SELECT pg_advisory_lock(audit.chain_lock_key(), 0)")).ok);
        QTest::mouseClick(child<QPushButton>(&view, "verifyButton"), Qt::LeftButton);
        auto *cancel = child<QPushButton>(&view, "verifyCancel");
        auto *progress = child<QProgressBar>(&view, "verifyProgress");
        QVERIFY(cancel->isVisible() && cancel->isEnabled());
        QVERIFY(progress->isVisible());
        QVERIFY(!child<QPushButton>(&view, "verifyButton")->isEnabled());
        screenshot(&view, "audit-verify-running.png");
        QTest::mouseClick(cancel, Qt::LeftButton);
        QVERIFY(!cancel->isEnabled());
        QCOMPARE(panel->resultText(), QStringLiteral("Cancelling at the next batch…"));
        QVERIFY(
            holder.exec(QStringLiteral("SELECT pg_advisory_unlock(audit.chain_lock_key(), 0)")).ok);

        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        const auto result = finished.first().first().value<VerificationResult>();
        QVERIFY(result.cancelled);
        QVERIFY(!panel->isRunning());
        QVERIFY2(panel->resultText().startsWith(QLatin1String("Verification cancelled")),
                 qPrintable(panel->resultText()));
        QVERIFY(!cancel->isVisible());
        QVERIFY(child<QPushButton>(&view, "verifyButton")->isEnabled());
        // A cancelled run is not recorded as a verification.
        QCOMPARE(admin.scalar(verifications), recordedBefore);
        screenshot(&view, "audit-verify-cancelled.png");
    }

    void theMainWindowHasAnAuditTab()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel accounts(&ledger, &audit);
        MainWindow window(&accounts, QStringLiteral("test_console_auditor@ledger"), true);
        auto *workspace = new AccountWorkspace(&ledger);
        window.setAccountWorkspace(workspace); // as ledger-console assembles it
        AuditLogView *view = window.addAuditLog(&audit);
        QCOMPARE(window.auditLogView(), view);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        accounts.refresh();
        auto *tabs = child<QTabWidget>(&window, "mainTabs");
        QCOMPARE(tabs->count(), 2);
        QCOMPARE(tabs->tabText(0), QStringLiteral("&Accounts"));
        QCOMPARE(tabs->tabText(1), QStringLiteral("Au&dit log"));
        QVERIFY(window.accountView()->isVisible());
        QVERIFY(test::waitForModel(window.accountView()->model(),
                                   [&] { return window.accountView()->model()->rowCount() == 2; }));
        QCOMPARE(window.accountView()->model()->rowCount(), 2);
        tabs->setCurrentWidget(view);
        waitUntilLoaded(*view);
        QCOMPARE(view->model()->rowCount(), AuditLogModel::DefaultPageSize);
        screenshot(&window, "mainwindow-audit.png");

        // From an event to its object: an account event opens that account in the navigator.
        const QString code =
            window.accountView()->model()->index(1, AccountListModel::Code).data().toString();
        Q_EMIT view->openObjectRequested(QStringLiteral("account"), code);
        QCOMPARE(tabs->currentIndex(), 0);
        // Where the server says it is in the navigator's order.
        QVERIFY(test::waitForModel(window.accountView()->model(), [&] {
            return window.accountView()
                       ->currentIndex()
                       .data(AccountListModel::AccountCodeRole)
                       .toString() == code;
        }));
        QCOMPARE(
            window.accountView()->currentIndex().data(AccountListModel::AccountCodeRole).toString(),
            code);
        QVERIFY(test::waitForSignals(workspace->timelineModel(),
                                     [&] { return workspace->accountCode() == code; }));
        QCOMPARE(workspace->accountCode(), code); // its timeline opens beside the list
        // A transaction's event opens the transaction's detail.
        QSignalSpy opened(workspace, &AccountWorkspace::transactionOpened);
        tabs->setCurrentWidget(view);
        Q_EMIT view->openObjectRequested(
            QStringLiteral("transaction"),
            sql(QStringLiteral("SELECT min(object_id) FROM audit.events WHERE action = "
                               "'transaction.posted'")));
        QCOMPARE(opened.count(), 1);
        if (auto *dialog = opened.first().first().value<QWidget *>())
            dialog->close();
        // A kind with no view says so.
        Q_EMIT view->openObjectRequested(QStringLiteral("statement"), QStringLiteral("9"));
        QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("statement")));
    }

    // A value someone chose (an object id reported by a console, an operator name) is shown
    // as the text it is: QLabel's default would render it as rich text, and an event could
    // then draw "Verified by the audit chain" in green in an auditor's detail pane.
    void detailsShowValuesAsText()
    {
        const QString forged = QStringLiteral(
            "<font color=green>1000-CASH-EUR</font><br><b>Verified by the audit chain</b>");
        test::SqlSession admin(m_db.adminDsn());
        QVERIFY(
            admin
                .exec(QStringLiteral("SELECT audit.record_as('<b>alice</b>', 'x', 'search.run', "
                                     "'account', $1, '{}', '{}')"),
                      {forged})
                .ok);
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        waitUntilLoaded(view);
        QTableView *table = view.tableView();
        table->setFocus();
        QTest::keyClick(table, Qt::Key_Home, Qt::ControlModifier);
        auto *object = child<QLabel>(&view, "detailObject");
        QVERIFY(test::waitForSignals({&view, view.model()}, [&] {
            return object->text() == QStringLiteral("account ") + forged;
        }));
        QCOMPARE(object->text(), QStringLiteral("account ") + forged);
        QCOMPARE(object->textFormat(), Qt::PlainText);
        QCOMPARE(child<QLabel>(&view, "detailOperator")->textFormat(), Qt::PlainText);
        QCOMPARE(child<QLabel>(&view, "detailOperator")->text(), QStringLiteral("<b>alice</b>"));
        screenshot(&view, "audit-log-plain-text.png");
    }

    void reportsWhereAChainWasTamperedWith()
    {
        // Change one event's details as the superuser, past the append-only trigger.
        test::SqlSession admin(m_db.adminDsn());
        m_tampered = true;
        for (const char *query :
             {"ALTER TABLE audit.events DISABLE TRIGGER events_append_only",
              "UPDATE audit.events SET details = details || '{\"x\": 1}' WHERE seq = 3",
              "ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_append_only"}) {
            const auto r = admin.exec(QString::fromLatin1(query));
            QVERIFY2(r.ok, qPrintable(r.message));
        }

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogView view(&audit);
        view.resize(1280, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        waitUntilLoaded(view);
        QSignalSpy finished(view.verifyPanel(), &AuditVerifyPanel::finished);
        QTest::mouseClick(child<QPushButton>(&view, "verifyButton"), Qt::LeftButton);
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        const QString text = view.verifyPanel()->resultText();
        QVERIFY2(text.startsWith(QLatin1String("Broken at sequence 3: ")), qPrintable(text));
        QVERIFY2(text.contains(QLatin1String("row changed")), qPrintable(text));
        waitUntilLoaded(view);
        screenshot(&view, "audit-verify-broken.png");
    }
};

QTEST_MAIN(TestAuditLog)
#include "tst_auditlog.moc"
