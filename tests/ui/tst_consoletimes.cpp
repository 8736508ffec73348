// Times in the console, offscreen against a real cluster, in a process whose local zone is
// Europe/Berlin (clocks jump 02:00 -> 03:00 on 2026-03-29 and go back 03:00 -> 02:00 on
// 2026-10-25):
//  - every time shown carries its offset, in local time (the default) and in UTC (View menu);
//    switching changes what the navigator, the timeline, the point-in-time panel and the
//    audit log show, and every text still reads back as the same instant;
//  - rows copied from the timeline carry the times exactly as the screen shows them;
//  - a typed time the zone skips is refused saying what the clocks do, in a text field and
//    in a date-time field (whose QDateTimeEdit quietly moves it elsewhere); one it has twice
//    is refused unless the offset is typed (text) or asked about (date-time field);
//  - in UTC mode typed times are UTC; text that is no time says how to write one;
//  - the choice survives a restart (settings in a temporary folder).

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "AuditLogModel.h"
#include "AuditLogView.h"
#include "DisplayZone.h"
#include "InstantEdit.h"
#include "LedgerInvariants.h"
#include "MainWindow.h"
#include "PointInTimePanel.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "TimelineModel.h"
#include "TimelineView.h"
#include "UiTestHelpers.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "db/DbWorker.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <ctime>
#include <memory>

using namespace ledger;

namespace {

QDateTime utc(const char *iso)
{
    return QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODate).toUTC();
}

// A shown time: wall time, then its offset; nothing else.
const QRegularExpression
    kShownTime(QStringLiteral(R"(^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d(\.\d{3})?)?[+-]\d\d:\d\d$)"));

bool readsAs(const QString &shown, const QDateTime &instant, bool toTheMinute = false)
{
    const QDateTime back = QDateTime::fromString(shown, Qt::ISODateWithMs);
    if (!back.isValid() || !kShownTime.match(shown).hasMatch())
        return false;
    if (toTheMinute)
        return back.toUTC() ==
               instant.addSecs(-instant.time().second()).addMSecs(-instant.time().msec());
    return back.toUTC() == instant.addMSecs(-instant.time().msec());
}

// The instant a date-time field names (invalid when it names none).
QDateTime meantBy(const InstantEdit *edit)
{
    const Result<QDateTime> t = edit->meant();
    return t ? t.value() : QDateTime();
}

} // namespace

class TestConsoleTimes : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    QString m_settingsDir;

    void post(const QString &key, const QString &effective)
    {
        const auto r = m_admin->exec(
            QStringLiteral(
                "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', $1::text, "
                "'effective_at', $2::text, 'description', $1::text, 'legs', jsonb_build_array("
                "jsonb_build_object('account', 'TZ-CASH', 'amount', '10.00', 'currency', 'EUR'), "
                "jsonb_build_object('account', 'TZ-FUND', 'amount', '-10.00', 'currency', "
                "'EUR'))))"),
            {key, effective});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    static QAction *menuAction(QWidget *window, const char *name)
    {
        return window->findChild<QAction *>(QLatin1String(name));
    }

    // The shown texts of a column, top to bottom.
    static QStringList column(const QAbstractItemModel *model, int column)
    {
        QStringList texts;
        for (int row = 0; row < model->rowCount(); ++row)
            texts << model->index(row, column).data().toString();
        return texts;
    }

    // Types digits into a date-time field as an operator does: from the year on, each
    // section in turn, then Enter. The field first shows `start` (xx:30:00, so that the
    // sections not yet typed never make an hour the zone skips on their own).
    static void typeInto(InstantEdit *edit, const QDateTime &start, const QString &digits)
    {
        edit->setInstant(start);
        edit->setFocus();
        edit->setSelectedSection(QDateTimeEdit::YearSection);
        QTest::keyClicks(edit, digits);
        QTest::keyClick(edit, Qt::Key_Return);
    }

    struct Console
    {
        std::unique_ptr<DbWorker> worker;
        std::unique_ptr<LedgerService> ledger;
        std::unique_ptr<AuditService> audit;
        std::unique_ptr<AccountListModel> accounts;
        std::unique_ptr<MainWindow> window;
        AccountWorkspace *workspace = nullptr;
        AuditLogView *auditLog = nullptr;
    };

    // The main window with the account list, an account's workspace (timeline, point in
    // time) and the audit log, TZ-CASH open.
    void openConsole(Console &c)
    {
        c.worker = std::make_unique<DbWorker>(m_db.dsnFor(QStringLiteral("console_auditor")),
                                              QStringLiteral("tst_consoletimes"));
        c.ledger = std::make_unique<LedgerService>(c.worker.get());
        c.audit = std::make_unique<AuditService>(c.worker.get());
        c.accounts = std::make_unique<AccountListModel>(c.ledger.get(), c.audit.get());
        c.window = std::make_unique<MainWindow>(c.accounts.get(),
                                                QStringLiteral("test_console_auditor@ledger"),
                                                /*directConnection=*/true);
        c.workspace = new AccountWorkspace(c.ledger.get());
        c.window->setAccountWorkspace(c.workspace);
        c.auditLog = c.window->addAuditLog(c.audit.get());
        c.window->resize(1500, 900);
        c.window->show();
        QVERIFY(QTest::qWaitForWindowExposed(c.window.get()));
        c.window->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(c.window.get()));
        c.accounts->refresh();
        QTRY_VERIFY_WITH_TIMEOUT(c.accounts->rowCount() >= 2, 20000);
        TimelineModel *model = c.workspace->timelineModel();
        c.workspace->openAccount(QStringLiteral("TZ-CASH"));
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 4, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(model->entryAt(0) && model->entryAt(3), 20000);
        c.auditLog->refresh();
        QTRY_VERIFY_WITH_TIMEOUT(c.auditLog->model()->rowCount() >= 4, 20000);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCOMPARE(QTimeZone::systemTimeZoneId(), QByteArray("Europe/Berlin"));
        QCOMPARE(DisplayZone::localZoneName(), QStringLiteral("Europe/Berlin"));
        QVERIFY(QSettings().fileName().startsWith(m_settingsDir));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        for (const char *sql : {"SELECT ledger.open_account('TZ-CASH', 'Cash', 'EUR', 'asset')",
                                "SELECT ledger.open_account('TZ-FUND', 'Fund', 'EUR', 'equity')"})
            QVERIFY2(m_admin->exec(QString::fromLatin1(sql)).ok, sql);
        post(QStringLiteral("tz-winter"), QStringLiteral("2026-01-15T12:00:00Z"));
        post(QStringLiteral("tz-summer"), QStringLiteral("2026-03-29T01:30:00Z"));
        post(QStringLiteral("tz-first"), QStringLiteral("2026-10-25T00:30:00Z"));
        post(QStringLiteral("tz-second"), QStringLiteral("2026-10-25T01:30:00Z"));
    }

    void init() { DisplayZone::instance()->setMode(DisplayZone::Mode::Local); }

    void cleanup()
    {
        DisplayZone::instance()->setMode(DisplayZone::Mode::Local);
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void cleanupTestCase() { m_admin.reset(); }

    void shownTimesCarryTheirZoneAndFollowTheViewMenu()
    {
        Console c;
        openConsole(c);
        if (QTest::currentTestFailed())
            return;
        MainWindow *window = c.window.get();
        TimelineModel *timeline = c.workspace->timelineModel();
        AuditLogModel *audit = c.auditLog->model();
        QAbstractItemModelTester tester(timeline,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAction *local = menuAction(window, "viewLocalTime");
        QAction *utcAction = menuAction(window, "viewUtc");
        QVERIFY(local && utcAction);
        QCOMPARE(local->text(), QStringLiteral("&Local time (Europe/Berlin)"));
        QVERIFY(local->isChecked() && !utcAction->isChecked());
        auto *zoneStatus = window->findChild<QLabel *>(QStringLiteral("zoneStatus"));
        QCOMPARE(zoneStatus->text(), QStringLiteral("Times in Europe/Berlin"));

        // Local time: Berlin's wall time and its offset, the two 02:30s told apart.
        QCOMPARE(column(timeline, TimelineModel::Effective),
                 (QStringList{QStringLiteral("2026-01-15 13:00:00+01:00"),
                              QStringLiteral("2026-03-29 03:30:00+02:00"),
                              QStringLiteral("2026-10-25 02:30:00+02:00"),
                              QStringLiteral("2026-10-25 02:30:00+01:00")}));
        // The point-in-time panel, asked about the first 02:30.
        PointInTimePanel *pit = c.workspace->pointInTimePanel();
        QSignalSpy answered(pit, &PointInTimePanel::answered);
        pit->ask(utc("2026-10-25T00:30:00Z"), std::nullopt);
        QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 1, 20000);
        auto *explain = pit->findChild<QLabel *>(QStringLiteral("pitExplain"));
        auto *effectiveEdit = pit->findChild<InstantEdit *>(QStringLiteral("pitEffective"));
        QVERIFY(effectiveEdit);
        QVERIFY2(explain->text().contains(QLatin1String("2026-10-25 02:30:00+02:00")),
                 qPrintable(explain->text()));
        QCOMPARE(effectiveEdit->text(), QStringLiteral("2026-10-25 02:30:00"));
        QCOMPARE(effectiveEdit->offsetText(), QStringLiteral("+02:00")); // the first, as asked
        QCOMPARE(meantBy(effectiveEdit), utc("2026-10-25T00:30:00Z"));

        const auto everyTimeReadsBack = [&](const QString &offsetRule) {
            for (int row = 0; row < timeline->rowCount(); ++row) {
                const QModelIndex e = timeline->index(row, TimelineModel::Effective);
                const QModelIndex r = timeline->index(row, TimelineModel::Recorded);
                QVERIFY2(readsAs(e.data().toString(),
                                 e.data(TimelineModel::EffectiveAtRole).toDateTime()),
                         qPrintable(e.data().toString()));
                QVERIFY2(readsAs(r.data().toString(),
                                 r.data(TimelineModel::RecordedAtRole).toDateTime()),
                         qPrintable(r.data().toString()));
                QVERIFY2(QRegularExpression(offsetRule).match(r.data().toString()).hasMatch(),
                         qPrintable(r.data().toString()));
            }
            for (int row = 0; row < audit->rowCount(); ++row) {
                const QString shown =
                    audit->index(row, AuditLogModel::OccurredAt).data().toString();
                QVERIFY2(readsAs(shown, audit->event(row).occurredAt), qPrintable(shown));
                QVERIFY2(QRegularExpression(offsetRule).match(shown).hasMatch(), qPrintable(shown));
            }
            for (int row = 0; row < c.accounts->rowCount(); ++row) {
                const QString shown =
                    c.accounts->index(row, AccountListModel::OpenedAt).data().toString();
                QVERIFY2(kShownTime.match(shown).hasMatch(), qPrintable(shown));
                QVERIFY2(QRegularExpression(offsetRule).match(shown).hasMatch(), qPrintable(shown));
            }
        };
        everyTimeReadsBack(QStringLiteral("\\+0[12]:00$"));
        if (QTest::currentTestFailed())
            return;
        test::saveScreenshot(window, QStringLiteral("times-local.png"));
        c.workspace->tabs()->setCurrentWidget(pit);
        test::saveScreenshot(c.workspace, QStringLiteral("times-pit-local.png"));

        // View > UTC: every view shows the same instants in UTC, told by dataChanged.
        QSignalSpy timelineChanged(timeline, &QAbstractItemModel::dataChanged);
        QSignalSpy auditChanged(audit, &QAbstractItemModel::dataChanged);
        QSignalSpy accountsChanged(c.accounts.get(), &QAbstractItemModel::dataChanged);
        utcAction->trigger();
        QVERIFY(utcAction->isChecked() && !local->isChecked());
        QVERIFY(DisplayZone::instance()->isUtc());
        QVERIFY(!timelineChanged.isEmpty() && !auditChanged.isEmpty() &&
                !accountsChanged.isEmpty());
        QCOMPARE(zoneStatus->text(), QStringLiteral("Times in UTC"));
        QCOMPARE(column(timeline, TimelineModel::Effective),
                 (QStringList{QStringLiteral("2026-01-15 12:00:00+00:00"),
                              QStringLiteral("2026-03-29 01:30:00+00:00"),
                              QStringLiteral("2026-10-25 00:30:00+00:00"),
                              QStringLiteral("2026-10-25 01:30:00+00:00")}));
        everyTimeReadsBack(QStringLiteral("\\+00:00$"));
        if (QTest::currentTestFailed())
            return;
        QVERIFY2(explain->text().contains(QLatin1String("2026-10-25 00:30:00+00:00")),
                 qPrintable(explain->text()));
        // The field shows the same instant in UTC.
        QCOMPARE(effectiveEdit->text(), QStringLiteral("2026-10-25 00:30:00"));
        QCOMPARE(effectiveEdit->offsetText(), QStringLiteral("+00:00"));
        QCOMPARE(meantBy(effectiveEdit), utc("2026-10-25T00:30:00Z"));
        // The audit log's detail pane too.
        c.auditLog->tableView()->selectRow(0);
        auto *detailTime = c.auditLog->findChild<QLabel *>(QStringLiteral("detailTime"));
        QVERIFY(detailTime);
        QCOMPARE(detailTime->text(), formatInstant(audit->event(int(0)).occurredAt, QTimeZone::utc(),
                                                   TimePrecision::Milliseconds));
        QVERIFY(detailTime->text().startsWith(
            audit->index(0, AuditLogModel::OccurredAt).data().toString().left(19)));
        local->trigger(); // Berlin: the pane adds the UTC time beside it
        QVERIFY2(detailTime->text().endsWith(QLatin1String("+00:00 UTC)")),
                 qPrintable(detailTime->text()));
        utcAction->trigger();
        test::saveScreenshot(c.workspace, QStringLiteral("times-pit-utc.png"));
        c.workspace->tabs()->setCurrentIndex(0);
        test::saveScreenshot(window, QStringLiteral("times-utc.png"));

        // And back: Berlin again, the same texts as before.
        local->trigger();
        QCOMPARE(column(timeline, TimelineModel::Effective).at(2),
                 QStringLiteral("2026-10-25 02:30:00+02:00"));
        QCOMPARE(effectiveEdit->offsetText(), QStringLiteral("+02:00"));
        QCOMPARE(meantBy(effectiveEdit), utc("2026-10-25T00:30:00Z"));
    }

    void copiedRowsEqualTheScreen()
    {
        Console c;
        openConsole(c);
        if (QTest::currentTestFailed())
            return;
        TimelineModel *model = c.workspace->timelineModel();
        QTableView *table = c.workspace->timelineView()->tableView();
        for (const DisplayZone::Mode mode : {DisplayZone::Mode::Local, DisplayZone::Mode::Utc}) {
            menuAction(c.window.get(), mode == DisplayZone::Mode::Utc ? "viewUtc" : "viewLocalTime")
                ->trigger();
            table->selectAll();
            table->setFocus();
            QTest::keyClick(table, Qt::Key_C, Qt::ControlModifier);
            const QStringList lines =
                QApplication::clipboard()->mimeData()->text().trimmed().split(QLatin1Char('\n'));
            QCOMPARE(lines.size(), model->rowCount() + 1);
            QVERIFY(lines.first().startsWith(QLatin1String("Effective\tRecorded\t")));
            for (int row = 0; row < model->rowCount(); ++row) {
                const QStringList cells = lines.at(row + 1).split(QLatin1Char('\t'));
                QCOMPARE(cells.at(0),
                         model->index(row, TimelineModel::Effective).data().toString());
                QCOMPARE(cells.at(1), model->index(row, TimelineModel::Recorded).data().toString());
            }
            QCOMPARE(lines.at(3).section(QLatin1Char('\t'), 0, 0),
                     mode == DisplayZone::Mode::Utc ? QStringLiteral("2026-10-25 00:30:00+00:00")
                                                    : QStringLiteral("2026-10-25 02:30:00+02:00"));
            // CSV: the same cells.
            const QString csv = QString::fromUtf8(
                QApplication::clipboard()->mimeData()->data(QStringLiteral("text/csv")));
            QVERIFY2(csv.contains(model->index(3, TimelineModel::Effective).data().toString() +
                                  QLatin1Char(',') +
                                  model->index(3, TimelineModel::Recorded).data().toString()),
                     qPrintable(csv));
        }
    }

    void typedTimesAreReadInTheZoneShown()
    {
        Console c;
        openConsole(c);
        if (QTest::currentTestFailed())
            return;
        TimelineModel *model = c.workspace->timelineModel();
        TimelineView *view = c.workspace->timelineView();
        auto *from = view->findChild<QLineEdit *>(QStringLiteral("timelineFrom"));
        QSignalSpy said(view, &TimelineView::statusMessage);
        const auto typeFrom = [&](const QString &text) {
            from->clear();
            from->setFocus();
            QTest::keyClicks(from, text);
            QTest::keyClick(from, Qt::Key_Return);
        };

        // A time Berlin skips: refused, saying what the clocks do; nothing asked.
        typeFrom(QStringLiteral("2026-03-29 02:30"));
        QCOMPARE(said.count(), 1);
        QCOMPARE(said.last().first().toString(),
                 QStringLiteral("From: 2026-03-29 02:30 does not exist in Europe/Berlin: on that "
                                "day the clocks jump from 02:00 to 03:00 (+01:00 to +02:00). Type "
                                "a time before 02:00 or from 03:00 on."));
        QVERIFY(!model->filter().from);

        // A time Berlin has twice: refused unless the offset says which, both named.
        typeFrom(QStringLiteral("2026-10-25 02:30"));
        QCOMPARE(said.count(), 2);
        const QString twice = said.last().first().toString();
        QVERIFY2(twice.contains(QLatin1String("happens twice in Europe/Berlin")) &&
                     twice.contains(QLatin1String("2026-10-25 02:30+02:00 (the first)")) &&
                     twice.contains(QLatin1String("2026-10-25 02:30+01:00 (the second")),
                 qPrintable(twice));
        QVERIFY(!model->filter().from);
        typeFrom(QStringLiteral("2026-10-25 02:30+01:00"));
        QTRY_VERIFY(model->filter().from.has_value());
        QCOMPARE(*model->filter().from, utc("2026-10-25T01:30:00Z"));
        QCOMPARE(model->filter().from->timeSpec(), Qt::UTC);    // what the service is sent
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 20000); // the second 02:30 only
        typeFrom(QStringLiteral("2026-10-25 02:30+02:00"));
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 2, 20000); // both 02:30s

        // Not a time: the message says how to write one.
        typeFrom(QStringLiteral("25.10.2026 02:30"));
        QVERIFY2(said.last().first().toString().contains(
                     QLatin1String("Write a time as 2026-03-29 14:30 (read in Europe/Berlin, the "
                                   "zone shown) or with its offset")),
                 qPrintable(said.last().first().toString()));

        // A plain wall time: read in Berlin; the field then shows the range with its offset
        // in whichever zone is chosen.
        typeFrom(QStringLiteral("2026-03-29 03:00"));
        QTRY_COMPARE(*model->filter().from, utc("2026-03-29T01:00:00Z"));
        menuAction(c.window.get(), "viewUtc")->trigger();
        QCOMPARE(from->text(), QStringLiteral("2026-03-29 01:00:00+00:00"));

        // In UTC, typed times are UTC: Berlin's skipped and doubled wall times are ordinary.
        typeFrom(QStringLiteral("2026-03-29 02:30"));
        QTRY_COMPARE(*model->filter().from, utc("2026-03-29T02:30:00Z"));
        typeFrom(QStringLiteral("2026-10-25 01:30"));
        QTRY_COMPARE(*model->filter().from, utc("2026-10-25T01:30:00Z"));
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 20000);
        menuAction(c.window.get(), "viewLocalTime")->trigger();
        QCOMPARE(from->text(), QStringLiteral("2026-10-25 02:30:00+01:00"));
        from->clear();
        QTest::keyClick(from, Qt::Key_Return);
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 4, 20000);
    }

    void dateTimeFieldsRefuseGapsAndAskAboutOverlaps()
    {
        Console c;
        openConsole(c);
        if (QTest::currentTestFailed())
            return;
        c.workspace->tabs()->setCurrentWidget(c.workspace->pointInTimePanel());
        PointInTimePanel *pit = c.workspace->pointInTimePanel();
        auto *edit = pit->findChild<InstantEdit *>(QStringLiteral("pitEffective"));
        auto *now = pit->findChildren<QCheckBox *>().value(0);
        auto *show = pit->findChild<QPushButton *>(QStringLiteral("pitShow"));
        auto *explain = pit->findChild<QLabel *>(QStringLiteral("pitExplain"));
        QVERIFY(edit && now && show && explain);
        QSignalSpy answered(pit, &PointInTimePanel::answered);
        now->setChecked(false);
        QVERIFY(edit->isEnabled());

        // 02:30 on the night the clocks jump: QDateTimeEdit moves it somewhere else; the
        // field keeps what was typed and the panel refuses it.
        typeInto(edit, utc("2026-01-15T00:30:00Z"), QStringLiteral("20260329023000"));
        QCOMPARE(edit->offsetText(), QStringLiteral("no such time"));
        const QDateTime moved = edit->dateTime();
        qInfo("QDateTimeEdit holds %s for the typed 2026-03-29 02:30",
              qPrintable(moved.toString(Qt::ISODate)));
        QVERIFY(!(moved.date() == QDate(2026, 3, 29) && moved.time().hour() == 2));
        QTest::mouseClick(show, Qt::LeftButton);
        QCOMPARE(explain->text(),
                 QStringLiteral("Effective time: 2026-03-29 02:30 does not exist in "
                                "Europe/Berlin: on that day the clocks jump from 02:00 to 03:00 "
                                "(+01:00 to +02:00). Type a time before 02:00 or from 03:00 on."));
        QCOMPARE(answered.count(), 0);

        // 02:30 on the night the clocks go back: Enter asks which one, naming both offsets.
        typeInto(edit, utc("2026-01-15T00:30:00Z"), QStringLiteral("20261025023000"));
        QTRY_VERIFY(edit->overlapQuestion());
        QCOMPARE(edit->offsetText(), QStringLiteral("+02:00/+01:00?"));
        QMessageBox *question = edit->overlapQuestion();
        auto *second = question->findChild<QPushButton *>(QStringLiteral("overlapSecond"));
        auto *first = question->findChild<QPushButton *>(QStringLiteral("overlapFirst"));
        QVERIFY(first && second);
        QCOMPARE(first->text(), QStringLiteral("2026-10-25 02:30+02:00 (the first)"));
        QCOMPARE(second->text(), QStringLiteral("2026-10-25 02:30+01:00 (the second)"));
        test::saveScreenshot(question, QStringLiteral("times-overlap-question.png"));
        // Until it is answered, the panel does not ask the ledger.
        QTest::mouseClick(show, Qt::LeftButton);
        QVERIFY2(explain->text().contains(QLatin1String("happens twice")),
                 qPrintable(explain->text()));
        QCOMPARE(answered.count(), 0);
        QTest::mouseClick(second, Qt::LeftButton); // answering asks the ledger with it
        QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 1, 20000);
        QCOMPARE(answered.last().first().value<PointInTime>().effectiveAt,
                 utc("2026-10-25T01:30:00Z"));
        QCOMPARE(edit->offsetText(), QStringLiteral("+01:00"));
        QTRY_VERIFY(!edit->overlapQuestion());

        // Typed again, the first.
        typeInto(edit, utc("2026-01-15T00:30:00Z"), QStringLiteral("20261025023000"));
        QTRY_VERIFY(edit->overlapQuestion());
        QTest::mouseClick(
            edit->overlapQuestion()->findChild<QPushButton *>(QStringLiteral("overlapFirst")),
            Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 2, 20000);
        QCOMPARE(answered.last().first().value<PointInTime>().effectiveAt,
                 utc("2026-10-25T00:30:00Z"));
        QCOMPARE(edit->offsetText(), QStringLiteral("+02:00"));

        // In UTC the field reads UTC: 02:30 on either night is an ordinary time.
        menuAction(c.window.get(), "viewUtc")->trigger();
        QCOMPARE(edit->text(), QStringLiteral("2026-10-25 00:30:00")); // the same instant
        typeInto(edit, utc("2026-01-15T01:30:00Z"), QStringLiteral("20260329023000"));
        QCOMPARE(edit->offsetText(), QStringLiteral("+00:00"));
        QVERIFY(!edit->overlapQuestion());
        QTest::mouseClick(show, Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 3, 20000);
        QCOMPARE(answered.last().first().value<PointInTime>().effectiveAt,
                 utc("2026-03-29T02:30:00Z"));
    }

    void theChoiceSurvivesARestart()
    {
        Console c;
        openConsole(c);
        if (QTest::currentTestFailed())
            return;
        menuAction(c.window.get(), "viewUtc")->trigger();
        QCOMPARE(QSettings().value(QStringLiteral("view/timeZone")).toString(),
                 QStringLiteral("utc"));
        // A console started afresh reads the choice: UTC, its menu item checked.
        DisplayZone restarted;
        QCOMPARE(restarted.mode(), DisplayZone::Mode::Utc);
        c.window.reset();
        DisplayZone::instance()->setMode(DisplayZone::Mode::Local);
        QSettings().setValue(QStringLiteral("view/timeZone"), QStringLiteral("utc"));
        QSignalSpy changed(DisplayZone::instance(), &DisplayZone::changed);
        DisplayZone::instance()->reload();
        QCOMPARE(changed.count(), 1);
        MainWindow again(c.accounts.get(), QStringLiteral("test_console_auditor@ledger"), true);
        QVERIFY(menuAction(&again, "viewUtc")->isChecked());
        QVERIFY(!menuAction(&again, "viewLocalTime")->isChecked());
        menuAction(&again, "viewLocalTime")->trigger();
        QCOMPARE(DisplayZone(nullptr).mode(), DisplayZone::Mode::Local);
        QCOMPARE(QSettings().value(QStringLiteral("view/timeZone")).toString(),
                 QStringLiteral("local"));
    }

public:
    explicit TestConsoleTimes(QString settingsDir)
        : m_settingsDir(std::move(settingsDir))
    {}
};

int main(int argc, char **argv)
{
    // A zone with daylight saving time, before anything reads the zone (Qt and the C
    // library both read TZ).
    qputenv("TZ", "Europe/Berlin");
    tzset();
    // The View menu's choice goes to QSettings: a folder of this run's own.
    QTemporaryDir settings;
    if (!settings.isValid())
        return 2;
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settings.path());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings.path());
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
    QApplication::setApplicationName(QStringLiteral("tst_consoletimes"));
    TestConsoleTimes test(settings.path());
    return QTest::qExec(&test, argc, argv);
}

#include "tst_consoletimes.moc"
