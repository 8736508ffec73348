// The account work surface offscreen on a seeded ledger, driven the way a person drives
// it: open an account from the navigator with the keyboard, scroll to the end, filter,
// ask a point-in-time balance, open a transaction and follow its reversal link, see the
// chart and click it, copy rows, survive a lost connection with a banner and Retry, and
// remember the layout. Screenshots go to build/<preset>/screenshots/ (look at them).

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "BalanceChartView.h"
#include "DemoSeed.h"
#include "MainWindow.h"
#include "PointInTimePanel.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "TimelineModel.h"
#include "TimelineView.h"
#include "TransactionDetailDialog.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QChart>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDateTimeEdit>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTest>
#include <QTestEventLoop>

using namespace ledger;
using test::waitForCount;
using test::waitForFinished;
using test::waitForModel;
using test::waitUntil;

namespace {

// Sees an event of one type arrive at an object (events posted to it come through the event
// loop): install it before whatever causes the event.
class EventSeen : public QObject
{
public:
    EventSeen(QObject *target, QEvent::Type type)
        : m_type(type)
    {
        target->installEventFilter(this);
    }
    // True once the event has arrived (and been handled: the loop ends after it).
    bool wait(int timeoutMs = test::kWaitTimeoutMs)
    {
        if (!m_seen)
            m_loop.enterLoopMSecs(timeoutMs);
        return m_seen;
    }

protected:
    bool eventFilter(QObject *, QEvent *event) override
    {
        if (event->type() == m_type) {
            m_seen = true;
            m_loop.exitLoop();
        }
        return false;
    }

private:
    QEvent::Type m_type;
    QTestEventLoop m_loop;
    bool m_seen = false;
};

} // namespace

class TestTimeline : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    QString m_code;

    static void save(QWidget *w, const QString &name)
    {
        QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
        const QString file = QStringLiteral(LEDGER_SCREENSHOT_DIR) + QLatin1Char('/') + name;
        QVERIFY(w->grab().save(file));
        qInfo("screenshot: %s", qPrintable(file));
    }

    QString scalar(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_timeline"));
        QSettings().clear();
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        const QString seeded = test::seedDemoHistory(m_db.adminDsn(), 12, 6000);
        QVERIFY2(seeded.isEmpty(), qPrintable(seeded));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        m_code = scalar(QStringLiteral(
            "SELECT a.code FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id = "
            "a.id WHERE a.code LIKE 'CUST-%' AND EXISTS (SELECT 1 FROM ledger.entries e JOIN "
            "ledger.transactions t ON t.id = e.transaction_id WHERE e.account_id = a.id AND "
            "t.reverses IS NOT NULL) ORDER BY h.last_seq DESC LIMIT 1"));
        QVERIFY(!m_code.isEmpty());
    }

    void workSurfaceOnDemoData()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")),
                        QStringLiteral("tst_timeline"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel accounts(&ledger, &audit);
        MainWindow window(&accounts, QStringLiteral("test_console_auditor@ledger"), true);
        auto *workspace = new AccountWorkspace(&ledger);
        window.setAccountWorkspace(workspace);
        window.resize(1500, 950);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        // Until every job given to the worker so far has finished (it runs them in order).
        const auto workerDone = [&] {
            const auto barrier = worker.submit([](Connection &) { return true; });
            return waitForFinished(barrier) && barrier.result().ok();
        };
        QSignalSpy listed(&accounts, &AccountListModel::loaded);
        accounts.refresh();
        QTableView *navigator = window.accountView();
        QVERIFY(waitForCount(listed, 1));
        QVERIFY(navigator->model()->rowCount() > 10);

        // Navigator: kind and currency filters, then find the account by typing its code.
        auto *kind = window.findChild<QComboBox *>(QStringLiteral("kindFilter"));
        auto *currency = window.findChild<QComboBox *>(QStringLiteral("currencyFilter"));
        QVERIFY(kind && currency);
        // The server filters: each choice reloads the list.
        const auto every = [navigator](int column, const QString &value) {
            for (int row = 0; row < navigator->model()->rowCount(); ++row)
                if (navigator->model()->index(row, column).data().toString() != value)
                    return false;
            return navigator->model()->rowCount() >= 1;
        };
        QSignalSpy reloaded(&accounts, &AccountListModel::loaded);
        kind->setCurrentIndex(kind->findData(QStringLiteral("income")));
        QVERIFY(waitForCount(reloaded, 1));
        QCOMPARE(reloaded.count(), 1);
        QVERIFY(every(AccountListModel::Kind, QStringLiteral("income")));
        kind->setCurrentIndex(0);
        QVERIFY(waitForCount(reloaded, 2));
        QCOMPARE(reloaded.count(), 2);
        currency->setCurrentIndex(currency->findData(QStringLiteral("USD")));
        QVERIFY(waitForCount(reloaded, 3));
        QCOMPARE(reloaded.count(), 3);
        QVERIFY(every(AccountListModel::Currency, QStringLiteral("USD")));
        currency->setCurrentIndex(0);
        QVERIFY(waitForCount(reloaded, 4));
        QCOMPARE(reloaded.count(), 4);
        auto *search = window.findChild<QLineEdit *>(QStringLiteral("accountSearch"));
        QTest::keyClicks(search, m_code);
        QVERIFY(waitForCount(reloaded, 5)); // once typing pauses
        QCOMPARE(accounts.query().text, m_code);
        QCOMPARE(navigator->model()->rowCount(), 1);

        // Keyboard: to the list, Enter opens the account.
        navigator->setFocus();
        navigator->setCurrentIndex(navigator->model()->index(0, 0));
        TimelineModel *model = workspace->timelineModel();
        QSignalSpy counted(model, &TimelineModel::countChanged);
        QSignalSpy historyOpened(model, &TimelineModel::accountOpened);
        QTest::keyClick(navigator, Qt::Key_Return);
        QVERIFY(waitForCount(counted, 1));
        const int entries =
            scalar(QStringLiteral("SELECT h.last_seq FROM ledger.account_heads h JOIN "
                                  "ledger.accounts a ON a.id = h.account_id WHERE a.code = $1"),
                   {m_code})
                .toInt();
        QCOMPARE(model->rowCount(), entries);
        auto *header = workspace->findChild<QLabel *>(QStringLiteral("accountHeader"));
        QVERIFY(waitForCount(historyOpened, 1));
        QVERIFY(header->text().contains(m_code));
        auto *count = workspace->findChild<QLabel *>(QStringLiteral("timelineCount"));
        QVERIFY2(count->text().contains(QLocale().toString(entries)), qPrintable(count->text()));
        QTableView *table = workspace->timelineView()->tableView();
        QVERIFY(waitForModel(table->model(), [&] {
            return table->model()->index(0, 0).data(TimelineModel::LoadedRole).toBool();
        }));

        // The chart: whole life, LTTB'd to the plot width, markers for reversals.
        BalanceChartView *chart = workspace->chartView();
        QSignalSpy plotted(chart, &BalanceChartView::plotted);
        // Once the layout has settled (a resize re-plots for the new width, a moment later):
        // plotted, and nothing more on its way.
        QVERIFY(waitUntil(chart, &BalanceChartView::plotted,
                          [&] { return !chart->isLoading() && chart->plottedPoints() > 0; }));
        QVERIFY(chart->plottedPoints() > 10);
        QVERIFY2(chart->plottedPoints() <= int(chart->chart()->plotArea().width()) + 2,
                 qPrintable(QStringLiteral("%1 points, %2 px")
                                .arg(chart->plottedPoints())
                                .arg(chart->chart()->plotArea().width())));
        QVERIFY(chart->markerCount() >= 1);
        save(&window, QStringLiteral("timeline-opened.png"));

        // Scroll to the end: the last entry's running balance is the account's balance.
        table->scrollToBottom();
        const QModelIndex last = model->index(model->rowCount() - 1, TimelineModel::Balance);
        QVERIFY(waitForModel(model, [&] { return last.data(TimelineModel::LoadedRole).toBool(); }));
        QCOMPARE(last.data().toString(),
                 scalar(QStringLiteral("SELECT balance FROM ledger.account_list WHERE code = $1"),
                        {m_code}));
        QCOMPARE(model->index(0, 0).data(TimelineModel::PositionRole).toLongLong(), 0);
        save(&window, QStringLiteral("timeline-end.png"));

        // Copy the last three rows: text with a header, CSV alongside.
        table->selectionModel()->clearSelection();
        for (int row = model->rowCount() - 3; row < model->rowCount(); ++row)
            table->selectionModel()->select(model->index(row, 0), QItemSelectionModel::Select |
                                                                      QItemSelectionModel::Rows);
        table->setFocus();
        QTest::keyClick(table, Qt::Key_C, Qt::ControlModifier);
        const QMimeData *copied = QApplication::clipboard()->mimeData();
        QVERIFY(copied);
        const QStringList lines = copied->text().trimmed().split(QLatin1Char('\n'));
        QCOMPARE(lines.size(), 4);
        QVERIFY(lines.first().startsWith(QLatin1String("Effective\tRecorded\t")));
        QVERIFY2(lines.last().contains(last.data().toString()), qPrintable(lines.last()));
        QVERIFY(copied->hasFormat(QStringLiteral("text/csv")));
        QVERIFY(QString::fromUtf8(copied->data(QStringLiteral("text/csv")))
                    .startsWith(QLatin1String("Effective,Recorded,")));

        // Filter by text: a keyset search, counted once the last page is in.
        auto *text = workspace->findChild<QLineEdit *>(QStringLiteral("timelineText"));
        text->setFocus();
        QTest::keyClicks(text, QStringLiteral("fee"));
        QTest::keyClick(text, Qt::Key_Return);
        const int fees =
            scalar(QStringLiteral("SELECT count(*) FROM ledger.entries e JOIN ledger.accounts a "
                                  "ON a.id = e.account_id JOIN ledger.transactions t ON t.id = "
                                  "e.transaction_id WHERE a.code = $1 AND (t.description ILIKE "
                                  "'%fee%' OR t.external_ref ILIKE '%fee%')"),
                   {m_code})
                .toInt();
        QVERIFY(fees > 0);
        QVERIFY(waitUntil(model, &TimelineModel::countChanged,
                          [&] { return model->isSearchMode() && model->rowCount() > 0; }));
        // The view asks for more as it reaches the end: each page found is counted.
        while (model->canFetchMore({})) {
            const qsizetype pages = counted.count();
            table->scrollToBottom();
            QVERIFY(waitUntil(model, &TimelineModel::countChanged,
                              [&] { return counted.count() > pages || !model->canFetchMore({}); }));
        }
        QCOMPARE(model->rowCount(), fees);
        QVERIFY2(count->text().contains(QLatin1String("matching entries")),
                 qPrintable(count->text()));
        for (int row = 0; row < model->rowCount(); ++row) {
            const auto e = model->entryAt(row);
            QVERIFY(e->description.contains(QLatin1String("fee"), Qt::CaseInsensitive) ||
                    e->externalRef.contains(QLatin1String("fee"), Qt::CaseInsensitive));
        }
        save(&window, QStringLiteral("timeline-filtered.png"));
        text->clear();
        const qsizetype beforeClear = counted.count();
        QTest::keyClick(text, Qt::Key_Return);
        QVERIFY(waitForCount(counted, beforeClear + 1));
        QVERIFY(!model->isSearchMode());
        QCOMPARE(model->rowCount(), entries);

        // Point in time: just after a backdated entry's effective time, known now.
        const QString effective = scalar(
            QStringLiteral("SELECT to_char((e.effective_at + interval '1 second') AT TIME ZONE "
                           "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM ledger.entries e JOIN "
                           "ledger.accounts a ON a.id = e.account_id WHERE a.code = $1 AND "
                           "e.recorded_at - e.effective_at > interval '1 hour' ORDER BY "
                           "e.account_seq DESC LIMIT 1"),
            {m_code});
        QVERIFY(!effective.isEmpty());
        workspace->tabs()->setCurrentWidget(workspace->pointInTimePanel());
        PointInTimePanel *pit = workspace->pointInTimePanel();
        QSignalSpy answered(pit, &PointInTimePanel::answered);
        auto *effectiveNow = pit->findChildren<QCheckBox *>().value(0);
        QVERIFY(effectiveNow && effectiveNow->isChecked());
        QTest::mouseClick(effectiveNow, Qt::LeftButton, {}, QPoint(4, effectiveNow->height() / 2));
        pit->findChild<QDateTimeEdit *>(QStringLiteral("pitEffective"))
            ->setDateTime(QDateTime::fromString(effective, Qt::ISODate).toLocalTime());
        QTest::mouseClick(pit->findChild<QPushButton *>(QStringLiteral("pitShow")), Qt::LeftButton);
        QVERIFY(waitForCount(answered, 1));
        const PointInTime p = answered.last().first().value<PointInTime>();
        QVERIFY(p.explainingCount >= 1);
        QCOMPARE(pit->entriesTable()->rowCount(), int(p.explaining.size()));
        QCOMPARE(pit->findChild<QLabel *>(QStringLiteral("pitBalance"))->text(),
                 p.balance + QStringLiteral(" EUR").replace(QStringLiteral("EUR"),
                                                            model->history().currency));
        QVERIFY(pit->entriesTable()->item(0, 4)->text().contains(QLatin1String("backdated")) ||
                pit->entriesTable()->item(0, 4)->text().contains(QLatin1String("late")));
        save(&window, QStringLiteral("point-in-time.png"));

        // Open the reversed transaction from the timeline with the keyboard, follow the link.
        const QString reversedAt = scalar(
            QStringLiteral("SELECT to_char(e.effective_at AT TIME ZONE 'UTC', "
                           "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || ' ' || e.transaction_id FROM "
                           "ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id JOIN "
                           "ledger.transactions t ON t.reverses = e.transaction_id WHERE a.code "
                           "= $1 ORDER BY e.account_seq LIMIT 1"),
            {m_code});
        const QDateTime at =
            QDateTime::fromString(reversedAt.section(QLatin1Char(' '), 0, 0), Qt::ISODateWithMs);
        const qint64 reversedId = reversedAt.section(QLatin1Char(' '), 1, 1).toLongLong();
        QSignalSpy jumped(model, &TimelineModel::jumpReady);
        workspace->timelineView()->jumpTo(at);
        QVERIFY(waitForCount(jumped, 1));
        QCOMPARE(jumped.count(), 1);
        int row = jumped.first().first().toInt();
        QVERIFY(waitForModel(
            model, [&] { return model->index(row, 0).data(TimelineModel::LoadedRole).toBool(); }));
        while (model->index(row, 0).data(TimelineModel::TransactionIdRole).toLongLong() !=
                   reversedId &&
               row + 1 < model->rowCount())
            ++row; // several entries may share the instant
        QCOMPARE(model->index(row, 0).data(TimelineModel::TransactionIdRole).toLongLong(),
                 reversedId);
        QVERIFY(model->index(row, 0).data(TimelineModel::IsReversedRole).toBool());
        table->setCurrentIndex(model->index(row, 0));
        table->setFocus();
        QSignalSpy opened(workspace, &AccountWorkspace::transactionOpened);
        QTest::keyClick(table, Qt::Key_Return);
        QVERIFY(waitForCount(opened, 1));
        QCOMPARE(opened.count(), 1);
        auto *dialog =
            qobject_cast<TransactionDetailDialog *>(opened.first().first().value<QWidget *>());
        QVERIFY(dialog);
        QVERIFY(waitUntil(dialog, &TransactionDetailDialog::loaded,
                          [&] { return dialog->detail().id == reversedId; }));
        QVERIFY(dialog->detail().legs.size() >= 2);
        QVERIFY(dialog->reversalLink()->isVisible());
        QCOMPARE(dialog->detail().requests.size(), 1);
        QVERIFY(dialog->detail().auditVisible); // an auditor reads the audit log
        QVERIFY(QTest::qWaitForWindowExposed(dialog));
        save(dialog, QStringLiteral("transaction-detail.png"));
        const qint64 reversalId = dialog->detail().reversedBy;
        QTest::mouseClick(dialog->reversalLink(), Qt::LeftButton);
        QVERIFY(waitUntil(dialog, &TransactionDetailDialog::loaded,
                          [&] { return dialog->detail().id == reversalId; }));
        QCOMPARE(dialog->detail().reverses, reversedId);
        QVERIFY(dialog->reversedLink()->isVisible());
        dialog->close();

        // Clicking the chart shows the timeline at that time (effective order).
        workspace->tabs()->setCurrentWidget(chart);
        QVERIFY(chart->isVisible());
        jumped.clear();
        const QRectF plot = chart->chart()->plotArea();
        QTest::mouseClick(chart->viewport(), Qt::LeftButton, {},
                          QPoint(int(plot.left() + plot.width() / 2), int(plot.center().y())));
        QVERIFY(waitForCount(jumped, 1));
        // One click, one jump (also on a marker): a second jump would have been asked for
        // during the click, so its answer is back once the worker is past that moment.
        QVERIFY(workerDone());
        QCOMPARE(jumped.count(), 1);
        const int middle = jumped.first().first().toInt();
        QVERIFY2(middle > 0 && middle < model->rowCount() - 1, qPrintable(QString::number(middle)));
        QVERIFY(model->order() == TimelineOrder::Effective);
        // Zoom in with the keyboard: the visible range is fetched again at more detail.
        plotted.clear();
        chart->setFocus();
        QTest::keyClick(chart, Qt::Key_Plus);
        QTest::keyClick(chart, Qt::Key_Plus);
        QVERIFY(waitForCount(plotted, 1));
        QVERIFY(chart->rangeFrom().msecsTo(chart->rangeTo()) <
                model->history().firstEffectiveAt.msecsTo(model->history().lastEffectiveAt) / 3);
        save(&window, QStringLiteral("chart-zoomed.png"));
        QTest::keyClick(chart, Qt::Key_Home);

        // Dark palette: the same window, still readable (look at it).
        const QPalette light = QApplication::palette();
        QPalette dark;
        dark.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
        dark.setColor(QPalette::WindowText, QColor(0xe8, 0xe8, 0xe8));
        dark.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
        dark.setColor(QPalette::AlternateBase, QColor(0x26, 0x26, 0x26));
        dark.setColor(QPalette::Text, QColor(0xe8, 0xe8, 0xe8));
        dark.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
        dark.setColor(QPalette::ButtonText, QColor(0xe8, 0xe8, 0xe8));
        dark.setColor(QPalette::Highlight, QColor(0x3d, 0x8e, 0xe0));
        dark.setColor(QPalette::HighlightedText, Qt::white);
        dark.setColor(QPalette::PlaceholderText, QColor(0xa0, 0xa0, 0xa0));
        EventSeen paletteArrived(chart, QEvent::PaletteChange);
        QApplication::setPalette(dark); // posted to every widget
        QVERIFY(paletteArrived.wait());
        QCOMPARE(chart->chart()->theme(), QChart::ChartThemeDark);
        save(&window, QStringLiteral("timeline-dark.png"));
        QApplication::setPalette(light);

        // Layout remembered, never anything secret.
        window.close();
        delete workspace; // saves its splitter
        QSettings settings;
        QVERIFY(settings.contains(QStringLiteral("mainWindow/splitter")));
        QVERIFY(settings.contains(QStringLiteral("accountWorkspace/splitter")));
        for (const QString &key : settings.allKeys()) {
            const QString value = settings.value(key).toString();
            QVERIFY2(!key.contains(QLatin1String("password"), Qt::CaseInsensitive) &&
                         !value.contains(QLatin1String("password")),
                     qPrintable(key));
        }
    }

    // Text a writer chose reaches a spreadsheet or a terminal when rows are copied: a cell
    // that a spreadsheet would run as a formula starts with an apostrophe, and control and
    // direction characters come out escaped.
    void copiedRowsCannotCarryFormulasOrControls()
    {
        const QString description =
            QStringLiteral("=HYPERLINK(\"http://evil.example\",\"refund\")") + QChar(0x202e) +
            QStringLiteral("\x1b[2J");
        for (const char *sql :
             {"SELECT ledger.open_account('HOSTILE-A', 'Hostile a', 'EUR', 'asset')",
              "SELECT ledger.open_account('HOSTILE-B', 'Hostile b', 'EUR', 'liability')"})
            QVERIFY(m_admin->exec(QString::fromLatin1(sql)).ok);
        const auto posted = m_admin->exec(
            QStringLiteral(
                "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                "'hostile-1', 'effective_at', '2026-11-01T00:00:00Z', 'description', $1::text, "
                "'external_ref', '@SUM(1+1)*cmd', 'legs', '[{\"account\": \"HOSTILE-A\", "
                "\"amount\": \"1\", \"currency\": \"EUR\"}, {\"account\": \"HOSTILE-B\", "
                "\"amount\": \"-1\", \"currency\": \"EUR\"}]'::jsonb))"),
            {description});
        QVERIFY2(posted.ok, qPrintable(posted.message));

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")),
                        QStringLiteral("tst_timeline_copy"));
        LedgerService ledger(&worker);
        AccountWorkspace workspace(&ledger);
        workspace.resize(1200, 800);
        workspace.show();
        QVERIFY(QTest::qWaitForWindowExposed(&workspace));
        TimelineModel *model = workspace.timelineModel();
        QSignalSpy counted(model, &TimelineModel::countChanged);
        workspace.openAccount(QStringLiteral("HOSTILE-A"));
        QVERIFY(waitForCount(counted, 1));
        QCOMPARE(model->rowCount(), 1);
        QVERIFY(waitForModel(model, [&] { return model->entryAt(0).has_value(); }));
        QTableView *table = workspace.timelineView()->tableView();
        table->selectRow(0);
        table->setFocus();
        QTest::keyClick(table, Qt::Key_C, Qt::ControlModifier);
        const QMimeData *copied = QApplication::clipboard()->mimeData();
        QVERIFY(copied);
        for (const QString &text :
             {copied->text(), QString::fromUtf8(copied->data(QStringLiteral("text/csv")))}) {
            QVERIFY2(text.contains(QLatin1String("'=HYPERLINK")), qPrintable(text));
            QVERIFY2(text.contains(QLatin1String("'@SUM(1+1)*cmd")), qPrintable(text));
            QVERIFY2(text.contains(QLatin1String("\\u202e\\x1b[2J")), qPrintable(text));
            QVERIFY(!text.contains(QChar(0x1b)) && !text.contains(QChar(0x202e)));
        }
        // Amounts keep their sign: only free text is guarded.
        QVERIFY(QString::fromUtf8(copied->data(QStringLiteral("text/csv")))
                    .contains(QLatin1String(",1.00,")));
    }

    void lostConnectionShowsABannerAndRetryRecovers()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")),
                        QStringLiteral("tst_timeline_lost"));
        LedgerService ledger(&worker);
        AccountWorkspace workspace(&ledger);
        workspace.resize(1200, 800);
        workspace.show();
        QVERIFY(QTest::qWaitForWindowExposed(&workspace));
        TimelineModel *model = workspace.timelineModel();
        model->setPageSize(50);
        QSignalSpy counted(model, &TimelineModel::countChanged);
        workspace.openAccount(m_code);
        QVERIFY(waitForCount(counted, 1));
        auto *banner = workspace.findChild<QWidget *>(QStringLiteral("workspaceBanner"));
        QVERIFY(!banner->isVisible());
        // Let the chart and the point-in-time panel finish first, so that the next query
        // on the connection is the timeline's: the chart has plotted with no re-plot for the
        // final size still to come, the panel has answered, and the worker is idle.
        BalanceChartView *chart = workspace.chartView();
        QVERIFY(waitUntil(chart, &BalanceChartView::plotted,
                          [&] { return chart->plottedPoints() > 0 && !chart->isLoading(); }));
        PointInTimePanel *pit = workspace.pointInTimePanel();
        QVERIFY(waitUntil(pit, &PointInTimePanel::answered,
                          [&] { return pit->result().knownAt.isValid(); }));
        const auto idle = worker.submit([](Connection &) { return true; });
        QVERIFY(waitForFinished(idle));
        QVERIFY(!chart->isLoading());

        // The server ends our connection (a restart, a network cut, a DBA).
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE "
                                       "application_name = 'tst_timeline_lost'")),
                 QStringLiteral("1"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(pg_terminate_backend(pid)) FROM "
                                       "pg_stat_activity WHERE application_name = "
                                       "'tst_timeline_lost'")),
                 QStringLiteral("1"));
        QSignalSpy failed(model, &TimelineModel::loadFailed);
        QTableView *table = workspace.timelineView()->tableView();
        table->scrollToBottom(); // rows not loaded yet: asks the (dead) connection
        QVERIFY(waitForCount(failed, 1));
        QVERIFY(banner->isVisible());
        // The rows of the page that failed say so (not blank, not stale).
        const auto notLoaded = [model] {
            int n = 0;
            for (int row = qMax(0, model->rowCount() - 100); row < model->rowCount(); ++row)
                n += model->index(row, TimelineModel::Description).data().toString() ==
                     QStringLiteral("(not loaded — retry)");
            return n;
        };
        QVERIFY(waitForModel(model, [&] { return notLoaded() > 0; }));
        save(&workspace, QStringLiteral("timeline-connection-lost.png"));

        // Retry: a new connection, the rows come, the banner goes.
        auto *retry = banner->findChild<QPushButton *>();
        QTest::mouseClick(retry, Qt::LeftButton);
        table->scrollToBottom();
        QVERIFY(waitForModel(model, [&] {
            return model->index(model->rowCount() - 1, 0).data(TimelineModel::LoadedRole).toBool();
        }));
        QVERIFY(!banner->isVisible());
        QVERIFY(waitForModel(model, [&] { return notLoaded() == 0; }));
    }
};

QTEST_MAIN(TestTimeline)
#include "tst_timeline.moc"
