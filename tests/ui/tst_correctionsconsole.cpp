// Corrections in the real console, offscreen, against a real cluster: two operators in two
// console sessions signed in through the broker (time-limited session roles). Olga (operator
// and supervisor) asks for a reversal from the timeline with Ctrl+R, previews it, sends it;
// her own inbox greys it and the database refuses her approval; Sam approves it; both
// accounts' timelines show the reversal linked both ways, the balances move, the steps are
// audit events and the chain verifies. Then: reject needs a note; a rebook grid that cannot
// be right is refused before anything is sent, a valid one previews both transactions and is
// approved; withdraw; a bulk approval lists what it refused and why. Screenshots go to
// build/<preset>/screenshots/ (look at them).

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "ApprovalsInboxView.h"
#include "AuditLogModel.h"
#include "AuditLogView.h"
#include "MainWindow.h"
#include "MyRequestsView.h"
#include "ReversalInboxModel.h"
#include "ReversalRequestDialog.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "TimelineModel.h"
#include "TimelineView.h"
#include "TransactionDetailDialog.h"
#include "audit/ChainVerifier.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "console/ReversalService.h"
#include "db/AuditRepository.h"
#include "db/Connection.h"
#include "db/DbWorker.h"
#include "db/LedgerRepository.h"
#include "session/ConsoleSession.h"
#include "session/ScramVerifier.h"

#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QGroupBox>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTableWidget>
#include <QTest>

#include <memory>

using namespace ledger;

namespace {

// One console as the application assembles it, signed in as one operator.
struct Console
{
    DbWorker worker{QString(), QStringLiteral("tst_correctionsconsole")};
    ConsoleSession session{&worker};
    ReversalService service{&worker};
    LedgerService ledger{&worker};
    AuditService audit{&worker};
    AccountListModel accounts{&ledger, &audit};
    MainWindow window{&accounts, QStringLiteral("not signed in"), false};
    AccountWorkspace *workspace = nullptr;

    Console()
    {
        workspace = new AccountWorkspace(&ledger);
        window.setAccountWorkspace(workspace);
        window.addAuditLog(&audit);
        window.addCorrections(&service, &ledger);
        window.attachSession(&session);
        window.resize(1500, 950);
    }
};

template <class T> Result<T> await(QFuture<Result<T>> future)
{
    // Test code only: the console itself continues with whenReady() and never waits.
    if (!test::waitForFinished(future, 20000))
        return Error::make(Error::Kind::Timeout, QStringLiteral("no answer in 20 s"));
    return future.result();
}

} // namespace

class TestCorrections : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    std::unique_ptr<DbWorker> m_writer;  // a posting service; off the GUI thread
    std::unique_ptr<DbWorker> m_auditor; // verifies the chain
    std::unique_ptr<Console> m_olga;     // operator and supervisor: requests
    std::unique_ptr<Console> m_sam;      // supervisor: decides
    const QString m_secret = QStringLiteral("a-long-lived-secret-for-tests-7");
    int m_key = 0;

    ServerProfile profile() const
    {
        ServerProfile p;
        p.host = m_db.dataDir();
        p.port = 5432;
        p.database = QStringLiteral("ledger");
        p.sslMode = QStringLiteral("disable");
        return p;
    }

    static void save(QWidget *w, const QString &name)
    {
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        const QString file = QStringLiteral(LEDGER_SCREENSHOT_DIR) + QLatin1Char('/') + name;
        QVERIFY(w->grab().save(file));
        qInfo("screenshot: %s", qPrintable(file));
    }

    qint64 post(const QString &debit, const QString &credit, const QString &amount)
    {
        const QString json =
            QStringLiteral(R"({"idempotency_key": "corr-%1", "effective_at": "2026-11-02T10:00:00Z",
                "description": "card payment %1", "legs": [
                {"account": "%2", "amount": "%4", "currency": "EUR"},
                {"account": "%3", "amount": "-%4", "currency": "EUR"}]})")
                .arg(++m_key)
                .arg(debit, credit, amount);
        const QByteArray body = json.toUtf8();
        const auto r = await(m_writer->submit(
            [body](Connection &c) { return LedgerRepository::post(c, body).transactionId; }));
        return r ? r.value() : 0;
    }

    QString balance(const QString &account)
    {
        const auto r = await(m_writer->submit(
            [account](Connection &c) { return LedgerRepository::balance(c, account).amount; }));
        return r ? r.value() : r.error().describe();
    }

    std::unique_ptr<Console> signIn(const QString &name)
    {
        auto c = std::make_unique<Console>();
        QSignalSpy signedIn(&c->session, &ConsoleSession::signedIn);
        c->session.signIn(profile(), name, m_secret);
        if (!test::waitForCount(signedIn, 1, 20000))
            return nullptr;
        c->window.show();
        return c;
    }

    // A plain request made through the service (the dialog has its own test).
    qint64 request(Console &c, qint64 tx, const QString &reason = QStringLiteral("DUPLICATE"))
    {
        ReversalDraft d;
        d.transactionId = tx;
        d.reasonCode = reason;
        d.note = QStringLiteral("posted twice by the card feed");
        d.clientKey = ReversalService::newClientKey();
        const auto r = await(c.service.submitRequest(d));
        if (!r) {
            qWarning("request failed: %s", qPrintable(r.error().describe()));
            return 0;
        }
        return r.value();
    }

    // The row of the transaction in the model once its page is here (-1 meanwhile).
    static int timelineRow(TimelineModel *m, qint64 tx)
    {
        for (int r = 0; r < m->rowCount(); ++r) {
            const QModelIndex i = m->index(r, 0);
            if (i.data(TimelineModel::LoadedRole).toBool() &&
                i.data(TimelineModel::TransactionIdRole).toLongLong() == tx)
                return r;
        }
        return -1;
    }

    qint64 auditCount(const QString &actionLike)
    {
        return m_admin
            ->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action LIKE $1"),
                     {actionLike})
            .toLongLong();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_correctionsconsole"));
        QSettings().clear();
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        const auto verifier = ScramVerifier::compute(m_secret);
        QVERIFY(verifier);
        for (const char *name : {"olga", "sam"}) {
            const auto r = m_admin->exec(
                QStringLiteral("SELECT access.add_operator($1, "
                               "'{console_operator,console_supervisor,console_auditor}', $2)"),
                {QLatin1String(name), verifier.value()});
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        const auto r = m_admin->exec(QStringLiteral(
            "SELECT ledger.open_account('CARD', 'Card settlement', 'EUR', 'asset'), "
            "ledger.open_account('CUST', 'Customer', 'EUR', 'liability', false), "
            "ledger.open_account('CUST-B', 'Another customer', 'EUR', 'liability', false), "
            "ledger.open_account('BANK-USD', 'Dollar bank', 'USD', 'asset')"));
        QVERIFY2(r.ok, qPrintable(r.message));
        m_writer = std::make_unique<DbWorker>(m_db.dsnFor(QStringLiteral("ledger_writer")),
                                              QStringLiteral("tst_correctionsconsole writer"));
        m_auditor = std::make_unique<DbWorker>(m_db.dsnFor(QStringLiteral("console_auditor")),
                                               QStringLiteral("tst_correctionsconsole auditor"));
        m_olga = signIn(QStringLiteral("olga"));
        QVERIFY(m_olga);
        m_sam = signIn(QStringLiteral("sam"));
        QVERIFY(m_sam);
    }

    void cleanupTestCase()
    {
        m_olga.reset();
        m_sam.reset();
        m_writer.reset();
        m_auditor.reset();
    }

    void requestFromTimelineApproveByAnother()
    {
        const qint64 tx =
            post(QStringLiteral("CARD"), QStringLiteral("CUST"), QStringLiteral("25.00"));
        QCOMPARE(balance(QStringLiteral("CUST")), QStringLiteral("25.00"));
        const qint64 requestedBefore = auditCount(QStringLiteral("reversal.request%"));

        // Olga opens the customer's timeline and asks with Ctrl+R on the posting.
        Console &olga = *m_olga;
        olga.workspace->openAccount(QStringLiteral("CUST"));
        TimelineModel *timeline = olga.workspace->timelineModel();
        QVERIFY(test::waitForModel(timeline, [&] { return timelineRow(timeline, tx) >= 0; }));
        QTableView *table = olga.workspace->timelineView()->tableView();
        // Shortcuts go to the active window: Olga's.
        olga.window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&olga.window));
        table->setFocus();
        table->setCurrentIndex(timeline->index(timelineRow(timeline, tx), 0));
        QSignalSpy opened(&olga.window, &MainWindow::reversalDialogOpened);
        QTest::keyClick(table, Qt::Key_R, Qt::ControlModifier);
        QVERIFY(test::waitForCount(opened, 1));
        QCOMPARE(opened.count(), 1);
        QPointer<ReversalRequestDialog> dialog =
            qobject_cast<ReversalRequestDialog *>(opened.first().first().value<QWidget *>());
        QVERIFY(dialog);
        QCOMPARE(dialog->transactionId(), tx);
        QVERIFY(test::waitForSignals(dialog, [&] { return dialog->isReady(); }));
        QVERIFY(QTest::qWaitForWindowExposed(dialog));

        // Nothing can be sent before a preview, nor without a note.
        auto *submit = dialog->findChild<QPushButton *>(QStringLiteral("submitButton"));
        QVERIFY(!submit->isEnabled());
        QVERIFY(dialog->selectReason(QStringLiteral("DUPLICATE")));
        QVERIFY(!dialog->findChild<QGroupBox *>(QStringLiteral("rebookBox"))->isVisible());
        QSignalSpy refused(dialog.data(), &ReversalRequestDialog::refusedBeforeSending);
        dialog->requestPreview();
        QVERIFY(test::waitForCount(refused, 1));
        QCOMPARE(refused.count(), 1);
        QVERIFY(refused.first().first().toString().contains(QLatin1String("note is required")));

        dialog->setNote(QStringLiteral("The card feed delivered this payment twice."));
        QSignalSpy previewed(dialog.data(), &ReversalRequestDialog::previewShown);
        QTest::mouseClick(dialog->findChild<QPushButton *>(QStringLiteral("previewButton")),
                          Qt::LeftButton);
        QVERIFY(test::waitForCount(previewed, 1));
        QCOMPARE(previewed.count(), 1);
        QCOMPARE(previewed.first().first().toBool(), false);
        const ReversalPreview p = *dialog->currentPreview();
        QCOMPARE(p.transactionId, tx);
        QCOMPARE(p.reversal.size(), 2);
        for (const PreviewLeg &l : p.reversal)
            QCOMPARE(l.amount, l.account == QLatin1String("CARD") ? QStringLiteral("-25.00")
                                                                  : QStringLiteral("25.00"));
        bool sawCustomer = false;
        for (const BalanceImpact &b : p.balances) {
            if (b.account == QLatin1String("CUST")) {
                sawCustomer = true;
                QCOMPARE(b.before.toString(), QStringLiteral("25.00"));
                QCOMPARE(b.after.toString(), QStringLiteral("0.00"));
                QVERIFY(!b.goesNegative);
            }
        }
        QVERIFY(sawCustomer);
        auto *previewLegs = dialog->findChild<QTableWidget *>(QStringLiteral("previewLegs"));
        QCOMPARE(previewLegs->rowCount(), 2);
        // Nothing is posted or requested by a preview.
        QCOMPARE(balance(QStringLiteral("CUST")), QStringLiteral("25.00"));
        QCOMPARE(auditCount(QStringLiteral("reversal.request%")), requestedBefore);
        QVERIFY(test::waitForSignals(dialog, [&] { return submit->isEnabled(); }));
        save(dialog, QStringLiteral("corrections-request-dialog.png"));

        // Send it; the same draft again (a double click, a retry) is the same request.
        QString why;
        const std::optional<ReversalDraft> sent = dialog->draft(&why);
        QVERIFY2(sent, qPrintable(why));
        QSignalSpy submitted(dialog.data(), &ReversalRequestDialog::submitted);
        QTest::mouseClick(submit, Qt::LeftButton);
        QTest::mouseClick(submit, Qt::LeftButton); // disabled while the first is on its way
        QVERIFY(test::waitForCount(submitted, 1));
        QCOMPARE(submitted.count(), 1);
        const qint64 requestId = submitted.first().first().toLongLong();
        QVERIFY(requestId > 0);
        if (dialog) { // it closes once the server said yes
            QSignalSpy closed(dialog.data(), &QObject::destroyed);
            QVERIFY(test::waitForCount(closed, 1));
        }
        QVERIFY(!dialog);
        const auto again = await(olga.service.submitRequest(*sent));
        QVERIFY2(again, qPrintable(again ? QString() : again.error().describe()));
        QCOMPARE(again.value(), requestId);
        QCOMPARE(m_admin->scalar(
                     QStringLiteral(
                         "SELECT count(*) FROM ledger.reversal_requests WHERE transaction_id = $1"),
                     {QString::number(tx)}),
                 QStringLiteral("1"));

        // The timeline marks the pending request.
        timeline->reload();
        QVERIFY(test::waitForModel(timeline, [&] {
            return timelineRow(timeline, tx) >= 0 &&
                   timeline->index(timelineRow(timeline, tx), 0)
                           .data(TimelineModel::PendingRequestRole)
                           .toLongLong() == requestId;
        }));
        const QString pendingMark =
            timeline->index(timelineRow(timeline, tx), TimelineModel::Marks).data().toString();
        QVERIFY2(pendingMark.contains(QLatin1String("reversal requested")),
                 qPrintable(pendingMark));

        // Olga's inbox: her own request, greyed, the reason said, no decision possible.
        ApprovalsInboxView *olgaInbox = olga.window.approvalsInbox();
        // Choosing the tab reloads it (others decide meanwhile).
        olga.window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))
            ->setCurrentWidget(olgaInbox);
        QVERIFY(test::waitForModel(olgaInbox->model(),
                                   [&] { return olgaInbox->model()->rowOf(requestId) >= 0; }));
        const QModelIndex own = olgaInbox->model()->index(olgaInbox->model()->rowOf(requestId), 0);
        QVERIFY(own.data(ReversalInboxModel::OwnRequestRole).toBool());
        QCOMPARE(own.data(Qt::ToolTipRole).toString(),
                 QStringLiteral("You requested this; another supervisor must decide"));
        QVERIFY(own.data(Qt::ForegroundRole).isValid());
        QSignalSpy olgaPreview(olgaInbox, &ApprovalsInboxView::previewLoaded);
        QVERIFY(olgaInbox->selectRequest(requestId));
        QVERIFY(test::waitForCount(olgaPreview, 1));
        QCOMPARE(olgaPreview.count(), 1);
        QVERIFY(!olgaInbox->approveButton()->isEnabled());
        QVERIFY(!olgaInbox->rejectButton()->isEnabled());
        QVERIFY(olgaInbox->findChild<QLabel *>(QStringLiteral("ownRequestLabel"))->isVisible());
        save(&olga.window, QStringLiteral("corrections-inbox-own-request.png"));
        // The database refuses it anyway.
        const auto selfApproval =
            await(olga.service.approve(requestId, olgaInbox->currentPreview()->digest, QString(),
                                       ReversalService::newClientKey()));
        QVERIFY(!selfApproval);
        QCOMPARE(selfApproval.error().sqlState, QStringLiteral("LG036")); // four eyes
        QCOMPARE(balance(QStringLiteral("CUST")), QStringLiteral("25.00"));

        // Sam decides.
        Console &sam = *m_sam;
        ApprovalsInboxView *samInbox = sam.window.approvalsInbox();
        sam.window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(samInbox);
        samInbox->refresh();
        QVERIFY(test::waitForModel(samInbox->model(),
                                   [&] { return samInbox->model()->rowOf(requestId) >= 0; }));
        QVERIFY(!samInbox->model()
                     ->index(samInbox->model()->rowOf(requestId), 0)
                     .data(ReversalInboxModel::OwnRequestRole)
                     .toBool());
        QSignalSpy samPreview(samInbox, &ApprovalsInboxView::previewLoaded);
        QVERIFY(samInbox->selectRequest(requestId));
        QVERIFY(test::waitForCount(samPreview, 1));
        QCOMPARE(samPreview.count(), 1);
        QVERIFY(
            test::waitForSignals(samInbox, [&] { return samInbox->approveButton()->isEnabled(); }));
        save(&sam.window, QStringLiteral("corrections-inbox-supervisor.png"));
        QSignalSpy decided(samInbox, &ApprovalsInboxView::decided);
        QTest::mouseClick(samInbox->approveButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(decided, 1));
        QCOMPARE(decided.count(), 1);
        const auto decision = decided.first().at(1).value<ReversalDecision>();
        const qint64 reversal = decision.reversalTransactionId;
        QVERIFY(reversal > tx);
        QCOMPARE(balance(QStringLiteral("CUST")), QStringLiteral("0.00"));
        QCOMPARE(balance(QStringLiteral("CARD")), QStringLiteral("0.00"));
        // The decided request leaves the pending inbox.
        QVERIFY(test::waitForModel(samInbox->model(), [&] {
            return samInbox->model()->rowOf(requestId) < 0 && !samInbox->model()->isLoading();
        }));

        // Both accounts' timelines: the reversal, linked both ways.
        for (const QString &account : {QStringLiteral("CUST"), QStringLiteral("CARD")}) {
            sam.workspace->openAccount(account);
            TimelineModel *m = sam.workspace->timelineModel();
            QVERIFY(test::waitForModel(m, [&] {
                return m->history().code == account && timelineRow(m, tx) >= 0 &&
                       timelineRow(m, reversal) >= 0;
            }));
            const QModelIndex original = m->index(timelineRow(m, tx), TimelineModel::Marks);
            const QModelIndex mirror = m->index(timelineRow(m, reversal), TimelineModel::Marks);
            QVERIFY(original.data(TimelineModel::IsReversedRole).toBool());
            QVERIFY(mirror.data(TimelineModel::IsReversalRole).toBool());
            QVERIFY2(original.data().toString().contains(
                         QStringLiteral("reversed by #%1").arg(reversal)),
                     qPrintable(original.data().toString()));
            QVERIFY2(mirror.data().toString().contains(QStringLiteral("reversal of #%1").arg(tx)),
                     qPrintable(mirror.data().toString()));
        }

        // Olga's requests: approved, with the reversal one double-click away.
        MyRequestsView *mine = olga.window.myRequests();
        olga.window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(mine);
        QVERIFY(test::waitForModel(mine->model(), [&] {
            return mine->model()->rowOf(requestId) >= 0 &&
                   mine->model()
                           ->index(mine->model()->rowOf(requestId), 0)
                           .data(ReversalInboxModel::StateRole)
                           .toString() == QLatin1String("approved");
        }));
        const int row = mine->model()->rowOf(requestId);
        const QModelIndex reversalCell = mine->model()->index(row, ReversalInboxModel::Reversal);
        QCOMPARE(reversalCell.data().toString(), QStringLiteral("#%1").arg(reversal));
        QCOMPARE(MyRequestsView::transactionAt(reversalCell), reversal);
        QCOMPARE(MyRequestsView::transactionAt(mine->model()->index(row, ReversalInboxModel::Id)),
                 tx);
        QSignalSpy transactionOpened(olga.workspace, &AccountWorkspace::transactionOpened);
        mine->tableView()->scrollTo(reversalCell);
        const QRect rect = mine->tableView()->visualRect(reversalCell);
        QVERIFY2(mine->tableView()->viewport()->rect().contains(rect.center()),
                 qPrintable(QStringLiteral("%1,%2").arg(rect.x()).arg(rect.y())));
        QTest::mouseClick(mine->tableView()->viewport(), Qt::LeftButton, {}, rect.center());
        QTest::mouseDClick(mine->tableView()->viewport(), Qt::LeftButton, {}, rect.center());
        QVERIFY(test::waitForCount(transactionOpened, 1));
        QCOMPARE(transactionOpened.count(), 1);
        auto *detail = qobject_cast<TransactionDetailDialog *>(
            transactionOpened.first().first().value<QWidget *>());
        QVERIFY(detail);
        QVERIFY(test::waitForSignals(detail, [&] { return detail->detail().id == reversal; }));
        QCOMPARE(detail->detail().id, reversal);
        QCOMPARE(detail->detail().reverses, tx);
        QVERIFY(!detail->requestReversalButton()->isEnabled() || detail->detail().reverses);
        detail->close();
        save(&olga.window, QStringLiteral("corrections-my-requests.png"));

        // ... and its audit events one click away (olga also holds the auditor's role).
        mine->tableView()->setCurrentIndex(mine->model()->index(row, ReversalInboxModel::Id));
        QVERIFY(mine->auditButton()->isEnabled());
        QTest::mouseClick(mine->auditButton(), Qt::LeftButton);
        AuditLogView *log = olga.window.auditLog();
        QCOMPARE(olga.window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->currentWidget(),
                 log);
        QVERIFY(test::waitForModel(log->model(), [&] {
            return log->model()->rowCount() >= 3 && !log->model()->isLoading();
        }));
        QStringList actions;
        for (int i = 0; i < log->model()->rowCount(); ++i) {
            QCOMPARE(log->model()->event(i).objectId, QString::number(requestId));
            actions.prepend(log->model()->event(i).action); // newest first in the log
        }
        QCOMPARE(actions.first(), QStringLiteral("reversal.requested"));
        QCOMPARE(actions.last(), QStringLiteral("reversal.approved"));
        QVERIFY2(actions.contains(QStringLiteral("reversal.preview_asked")),
                 qPrintable(actions.join(u' ')));

        // Every step is on record, and the chain holds.
        QVERIFY(auditCount(QStringLiteral("reversal.request%")) > requestedBefore);
        QVERIFY(m_admin
                    ->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action LIKE "
                                            "'reversal.approv%' AND object_id = $1"),
                             {QString::number(requestId)})
                    .toLongLong() >= 1);
        const auto client =
            await(m_auditor->submit([](Connection &c) { return verifyChain(c, {}); }));
        QVERIFY2(client, qPrintable(client ? QString() : client.error().describe()));
        QVERIFY2(!client.value().brokenAt, qPrintable(client.value().reason));
        QVERIFY(client.value().verifiedThrough > 0);
        const auto sql =
            await(m_auditor->submit([](Connection &c) { return AuditRepository::verifyInSql(c); }));
        QVERIFY2(sql, qPrintable(sql ? QString() : sql.error().describe()));
        QVERIFY2(!sql.value().brokenAt, qPrintable(sql.value().reason));
    }

    void rejectNeedsANote()
    {
        const qint64 tx =
            post(QStringLiteral("CARD"), QStringLiteral("CUST"), QStringLiteral("12.00"));
        const QString customerBefore = balance(QStringLiteral("CUST"));
        const qint64 requestId = request(*m_olga, tx);
        QVERIFY(requestId);
        ApprovalsInboxView *inbox = m_sam->window.approvalsInbox();
        m_sam->window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(inbox);
        inbox->refresh();
        QVERIFY(test::waitForModel(inbox->model(),
                                   [&] { return inbox->model()->rowOf(requestId) >= 0; }));
        QSignalSpy previewLoaded(inbox, &ApprovalsInboxView::previewLoaded);
        QVERIFY(inbox->selectRequest(requestId));
        QVERIFY(test::waitForCount(previewLoaded, 1));
        QCOMPARE(previewLoaded.count(), 1);
        inbox->decisionNote()->clear();
        QVERIFY(inbox->approveButton()->isEnabled());
        QVERIFY(!inbox->rejectButton()->isEnabled());
        // Without a note the database refuses a rejection too.
        const auto bare =
            await(m_sam->service.reject(requestId, QString(), ReversalService::newClientKey()));
        QVERIFY(!bare);
        QTest::keyClicks(inbox->decisionNote(), QStringLiteral("Not a duplicate: two orders."));
        QVERIFY(inbox->rejectButton()->isEnabled());
        QSignalSpy decided(inbox, &ApprovalsInboxView::decided);
        QTest::mouseClick(inbox->rejectButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(decided, 1));
        QCOMPARE(decided.count(), 1);
        QCOMPARE(decided.first().at(1).value<ReversalDecision>().decision,
                 QStringLiteral("rejected"));
        QCOMPARE(balance(QStringLiteral("CUST")), customerBefore); // nothing posted

        MyRequestsView *mine = m_olga->window.myRequests();
        mine->refresh();
        QVERIFY(test::waitForModel(mine->model(),
                                   [&] { return mine->model()->rowOf(requestId) >= 0; }));
        const QModelIndex state =
            mine->model()->index(mine->model()->rowOf(requestId), ReversalInboxModel::State);
        QCOMPARE(state.data().toString(), QStringLiteral("rejected"));
        QVERIFY2(state.data(Qt::ToolTipRole).toString().contains(QLatin1String("two orders")),
                 qPrintable(state.data(Qt::ToolTipRole).toString()));
    }

    void rebookGridIsCheckedBeforeSending()
    {
        const qint64 tx =
            post(QStringLiteral("CARD"), QStringLiteral("CUST-B"), QStringLiteral("30.00"));
        // From the transaction's detail this time.
        QSignalSpy detailOpened(m_olga->workspace, &AccountWorkspace::transactionOpened);
        m_olga->workspace->openTransaction(tx);
        QVERIFY(test::waitForCount(detailOpened, 1));
        QCOMPARE(detailOpened.count(), 1);
        auto *detail = qobject_cast<TransactionDetailDialog *>(
            detailOpened.first().first().value<QWidget *>());
        QVERIFY(test::waitForSignals(detail, [&] {
            return detail->detail().id == tx && detail->requestReversalButton()->isEnabled();
        }));
        QSignalSpy opened(&m_olga->window, &MainWindow::reversalDialogOpened);
        QTest::mouseClick(detail->requestReversalButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(opened, 1));
        QCOMPARE(opened.count(), 1);
        QPointer<ReversalRequestDialog> dialog =
            qobject_cast<ReversalRequestDialog *>(opened.first().first().value<QWidget *>());
        QVERIFY(test::waitForSignals(dialog, [&] { return dialog->isReady(); }));
        QVERIFY(dialog->selectReason(QStringLiteral("WRONG_AMOUNT")));
        dialog->setNote(QStringLiteral("The customer paid 28.00, not 30.00."));
        auto *box = dialog->findChild<QGroupBox *>(QStringLiteral("rebookBox"));
        QVERIFY(box->isVisible());
        // Prefilled from the original.
        QTableWidget *grid = dialog->rebookGrid();
        QCOMPARE(grid->rowCount(), 2);
        QCOMPARE(grid->item(0, ReversalRequestDialog::LegAccount)->text(), QStringLiteral("CARD"));
        QCOMPARE(grid->item(0, ReversalRequestDialog::LegAmount)->text(), QStringLiteral("30.00"));
        QCOMPARE(grid->item(1, ReversalRequestDialog::LegAccount)->text(),
                 QStringLiteral("CUST-B"));

        const qint64 previewsBefore = auditCount(QStringLiteral("reversal.preview%"));
        QSignalSpy refused(dialog.data(), &ReversalRequestDialog::refusedBeforeSending);
        struct Bad
        {
            QString account0, amount0, account1, amount1, currency1, expected;
        };
        const QList<Bad> bad = {
            {QStringLiteral("CARD"), QStringLiteral("28.005"), QStringLiteral("CUST-B"),
             QStringLiteral("28.00"), QStringLiteral("EUR"),
             QStringLiteral("Leg 1 (CARD): amount \"28.005\": at most 2 decimal")},
            {QStringLiteral("CARD"), QStringLiteral("28.00"), QStringLiteral("CUST-B"),
             QStringLiteral("30.00"), QStringLiteral("EUR"),
             QStringLiteral("does not balance in EUR")},
            {QStringLiteral("CARD"), QStringLiteral("28.00"), QStringLiteral("NO-SUCH"),
             QStringLiteral("28.00"), QStringLiteral("EUR"),
             QStringLiteral("Leg 2 (NO-SUCH): there is no account NO-SUCH")},
            {QStringLiteral("CARD"), QStringLiteral("28.00"), QStringLiteral("CUST-B"),
             QStringLiteral("28.00"), QStringLiteral("USD"),
             QStringLiteral("Leg 2 (CUST-B): account CUST-B is kept in EUR, not USD")},
            {QStringLiteral("CARD"), QStringLiteral("28.00"), QStringLiteral("BANK-USD"),
             QStringLiteral("28.00"), QStringLiteral("USD"),
             QStringLiteral("Leg 2 (BANK-USD): the original moved EUR only")},
            {QStringLiteral("CARD"), QStringLiteral("28,00"), QStringLiteral("CUST-B"),
             QStringLiteral("28.00"), QStringLiteral("EUR"),
             QStringLiteral("Leg 1 (CARD): amount \"28,00\": only digits")},
        };
        for (const Bad &b : bad) {
            dialog->setLeg(0, b.account0, QStringLiteral("debit"), b.amount0,
                           QStringLiteral("EUR"));
            dialog->setLeg(1, b.account1, QStringLiteral("credit"), b.amount1, b.currency1);
            const int before = int(refused.count());
            dialog->requestPreview();
            QVERIFY(test::waitForCount(refused, before + 1));
            QCOMPARE(refused.count(), before + 1);
            const QString said = refused.last().first().toString();
            QVERIFY2(said.contains(b.expected), qPrintable(said));
            QCOMPARE(dialog->findChild<QLabel *>(QStringLiteral("requestMessage"))->text(), said);
            QVERIFY(!dialog->findChild<QPushButton *>(QStringLiteral("submitButton"))->isEnabled());
            // The leg the message names is the row selected; a balance refusal selects none.
            const QModelIndexList selected = dialog->rebookGrid()->selectionModel()->selectedRows();
            if (said.startsWith(QLatin1String("Leg 1")))
                QVERIFY(selected.size() == 1 && selected.first().row() == 0);
            else if (said.startsWith(QLatin1String("Leg 2")))
                QVERIFY(selected.size() == 1 && selected.first().row() == 1);
        }
        // None of it reached the server.
        QCOMPARE(auditCount(QStringLiteral("reversal.preview%")), previewsBefore);
        save(dialog, QStringLiteral("corrections-rebook-refused.png"));

        // A valid one: both transactions previewed, then sent and approved.
        dialog->setLeg(0, QStringLiteral("CARD"), QStringLiteral("debit"), QStringLiteral("28.00"),
                       QStringLiteral("EUR"));
        dialog->setLeg(1, QStringLiteral("CUST-B"), QStringLiteral("credit"),
                       QStringLiteral("28.00"), QStringLiteral("EUR"));
        QSignalSpy previewed(dialog.data(), &ReversalRequestDialog::previewShown);
        dialog->requestPreview();
        QVERIFY(test::waitForCount(previewed, 1));
        QCOMPARE(previewed.count(), 1);
        const ReversalPreview p = *dialog->currentPreview();
        QVERIFY(p.hasRebook);
        QCOMPARE(p.rebook.size(), 2);
        auto *previewLegs = dialog->findChild<QTableWidget *>(QStringLiteral("previewLegs"));
        QCOMPARE(previewLegs->rowCount(), 4); // the mirror and the rebook
        for (const BalanceImpact &b : p.balances) {
            if (b.account == QLatin1String("CUST-B"))
                QCOMPARE(b.after.toString(), QStringLiteral("28.00"));
        }
        save(dialog, QStringLiteral("corrections-rebook-preview.png"));
        QSignalSpy submitted(dialog.data(), &ReversalRequestDialog::submitted);
        QTest::mouseClick(dialog->findChild<QPushButton *>(QStringLiteral("submitButton")),
                          Qt::LeftButton);
        QVERIFY(test::waitForCount(submitted, 1));
        QCOMPARE(submitted.count(), 1);
        const qint64 requestId = submitted.first().first().toLongLong();
        detail->close();

        ApprovalsInboxView *inbox = m_sam->window.approvalsInbox();
        m_sam->window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(inbox);
        inbox->refresh();
        QVERIFY(test::waitForModel(inbox->model(),
                                   [&] { return inbox->model()->rowOf(requestId) >= 0; }));
        QSignalSpy previewLoaded(inbox, &ApprovalsInboxView::previewLoaded);
        QVERIFY(inbox->selectRequest(requestId));
        QVERIFY(test::waitForCount(previewLoaded, 1));
        QCOMPARE(previewLoaded.count(), 1);
        // The original beside the rebook, the changed amounts highlighted.
        auto *compare = inbox->findChild<QTableWidget *>(QStringLiteral("compareLegs"));
        QCOMPARE(compare->rowCount(), 2);
        for (int r = 0; r < compare->rowCount(); ++r) {
            QVERIFY(compare->item(r, 1)->text() != compare->item(r, 2)->text());
            QVERIFY(compare->item(r, 0)->background().style() != Qt::NoBrush);
        }
        save(&m_sam->window, QStringLiteral("corrections-inbox-rebook.png"));
        QSignalSpy decided(inbox, &ApprovalsInboxView::decided);
        QTest::mouseClick(inbox->approveButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(decided, 1));
        QCOMPARE(decided.count(), 1);
        QVERIFY(decided.first().at(1).value<ReversalDecision>().rebookTransactionId > 0);
        QCOMPARE(balance(QStringLiteral("CUST-B")), QStringLiteral("28.00"));

        // The original's detail shows the request, its decision and the rebook's legs.
        QSignalSpy reopened(m_olga->workspace, &AccountWorkspace::transactionOpened);
        m_olga->workspace->openTransaction(tx);
        QVERIFY(test::waitForCount(reopened, 1));
        QCOMPARE(reopened.count(), 1);
        auto *after =
            qobject_cast<TransactionDetailDialog *>(reopened.first().first().value<QWidget *>());
        QVERIFY(test::waitForSignals(after, [&] {
            return after->detail().id == tx && !after->detail().requests.isEmpty();
        }));
        auto *requests = after->findChild<QTableWidget *>(QStringLiteral("transactionRequests"));
        QVERIFY(requests);
        QString shown;
        for (int c = 0; c < requests->columnCount(); ++c)
            if (requests->item(requests->rowCount() - 1, c))
                shown += requests->item(requests->rowCount() - 1, c)->text() + u'|';
        QVERIFY2(shown.contains(QLatin1String("approved")) &&
                     shown.contains(QLatin1String("CARD 28.00 EUR, CUST-B -28.00 EUR")) &&
                     shown.contains(QLatin1String("rebook #")),
                 qPrintable(shown));
        after->close();
    }

    void withdrawAPendingRequest()
    {
        const qint64 tx =
            post(QStringLiteral("CARD"), QStringLiteral("CUST"), QStringLiteral("7.00"));
        const QString customerBefore = balance(QStringLiteral("CUST"));
        const qint64 requestId = request(*m_olga, tx);
        QVERIFY(requestId);
        MyRequestsView *mine = m_olga->window.myRequests();
        m_olga->window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(mine);
        QVERIFY(test::waitForModel(mine->model(), [&] {
            return mine->model()->rowOf(requestId) >= 0 && !mine->model()->isLoading();
        }));
        QVERIFY(mine->selectRequest(requestId));
        QVERIFY(mine->withdrawButton()->isEnabled());
        QTest::keyClicks(mine->withdrawNote(), QStringLiteral("Found the second order after all."));
        QSignalSpy withdrawn(mine, &MyRequestsView::withdrawn);
        QTest::mouseClick(mine->withdrawButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(withdrawn, 1));
        QCOMPARE(withdrawn.count(), 1);
        QVERIFY(test::waitForModel(mine->model(), [&] {
            return mine->model()->rowOf(requestId) >= 0 &&
                   mine->model()
                           ->index(mine->model()->rowOf(requestId), 0)
                           .data(ReversalInboxModel::StateRole)
                           .toString() == QLatin1String("withdrawn");
        }));
        QVERIFY(mine->selectRequest(requestId));
        QVERIFY(!mine->withdrawButton()->isEnabled());
        // Gone from the inbox; an approval of it is refused.
        ApprovalsInboxView *inbox = m_sam->window.approvalsInbox();
        inbox->refresh();
        QVERIFY(test::waitForModel(inbox->model(), [&] { return !inbox->model()->isLoading(); }));
        QCOMPARE(inbox->model()->rowOf(requestId), -1);
        const auto preview = await(m_sam->service.preview(requestId));
        QVERIFY2(preview, qPrintable(preview ? QString() : preview.error().describe()));
        QCOMPARE(preview.value().state, QStringLiteral("withdrawn"));
        const auto late = await(m_sam->service.approve(requestId, preview.value().digest, QString(),
                                                       ReversalService::newClientKey()));
        QVERIFY(!late);
        QCOMPARE(late.error().sqlState, QStringLiteral("LG035"));
        QCOMPARE(balance(QStringLiteral("CUST")), customerBefore);
    }

    // A request not decided in time (its lifetime shortened for the test) shows as expired
    // in My requests, leaves the inbox, and cannot be approved.
    void anExpiredRequestShowsAsSuch()
    {
        const qint64 tx =
            post(QStringLiteral("CARD"), QStringLiteral("CUST"), QStringLiteral("6.00"));
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings "
                                          "SET reversal_request_ttl = '1 millisecond'"))
                    .ok);
        const qint64 requestId = request(*m_olga, tx);
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings "
                                          "SET reversal_request_ttl = '7 days'"))
                    .ok);
        QVERIFY(requestId);
        MyRequestsView *mine = m_olga->window.myRequests();
        m_olga->window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(mine);
        mine->refresh();
        QVERIFY(test::waitForModel(mine->model(), [&] {
            return mine->model()->rowOf(requestId) >= 0 && !mine->model()->isLoading() &&
                   mine->model()
                           ->index(mine->model()->rowOf(requestId), 0)
                           .data(ReversalInboxModel::StateRole)
                           .toString() == QLatin1String("expired");
        }));
        QVERIFY(mine->selectRequest(requestId));
        QVERIFY(!mine->withdrawButton()->isEnabled());
        ApprovalsInboxView *inbox = m_sam->window.approvalsInbox();
        inbox->refresh();
        QVERIFY(test::waitForModel(inbox->model(), [&] { return !inbox->model()->isLoading(); }));
        QCOMPARE(inbox->model()->rowOf(requestId), -1);
        const auto preview = await(m_sam->service.preview(requestId));
        QVERIFY2(preview, qPrintable(preview ? QString() : preview.error().describe()));
        QCOMPARE(preview.value().state, QStringLiteral("expired"));
        const auto late = await(m_sam->service.approve(requestId, preview.value().digest, QString(),
                                                       ReversalService::newClientKey()));
        QVERIFY(!late);
        QCOMPARE(late.error().sqlState, QStringLiteral("LG055"));
    }

    void bulkApprovalListsWhatItRefused()
    {
        QList<qint64> requests;
        for (int i = 0; i < 4; ++i) {
            requests << request(*m_olga, post(QStringLiteral("CARD"), QStringLiteral("CUST"),
                                              QStringLiteral("1.00")));
            QVERIFY(requests.last());
        }
        // One of Sam's own: he may not decide it.
        const qint64 own = request(
            *m_sam, post(QStringLiteral("CARD"), QStringLiteral("CUST"), QStringLiteral("1.00")));
        QVERIFY(own);
        ApprovalsInboxView *inbox = m_sam->window.approvalsInbox();
        inbox->refresh();
        QVERIFY(test::waitForModel(inbox->model(), [&] {
            return inbox->model()->rowOf(own) >= 0 && inbox->model()->rowOf(requests.last()) >= 0;
        }));
        m_sam->window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(inbox);
        QVERIFY(test::waitForModel(inbox->model(), [&] {
            return inbox->model()->rowOf(own) >= 0 && !inbox->model()->isLoading();
        }));
        // These five only (the inbox may hold others' requests).
        inbox->tableView()->clearSelection();
        for (qint64 id : requests + QList<qint64>{own})
            inbox->tableView()->selectionModel()->select(
                inbox->model()->index(inbox->model()->rowOf(id), 0),
                QItemSelectionModel::Select | QItemSelectionModel::Rows);
        QVERIFY(inbox->bulkApproveButton()->isEnabled());
        QSignalSpy finished(inbox, &ApprovalsInboxView::bulkFinished);
        QTest::mouseClick(inbox->bulkApproveButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.first().at(0).toInt(), 4);
        QCOMPARE(finished.first().at(1).toInt(), 1);
        QDialog *result = inbox->bulkResultDialog();
        QVERIFY(result);
        QVERIFY(QTest::qWaitForWindowExposed(result));
        auto *outcomes = result->findChild<QTableWidget *>(QStringLiteral("bulkOutcomes"));
        QCOMPARE(outcomes->rowCount(), 5);
        // The refusal first, with its reason.
        QCOMPARE(outcomes->item(0, 0)->text(), QString::number(own));
        QCOMPARE(outcomes->item(0, 1)->text(), QStringLiteral("refused"));
        QVERIFY(!outcomes->item(0, 2)->text().isEmpty());
        save(result, QStringLiteral("corrections-bulk-result.png"));
        result->close();
    }
};

QTEST_MAIN(TestCorrections)
#include "tst_correctionsconsole.moc"
