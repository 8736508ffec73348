// The Reports tab against a ledger and a reporting store on two real clusters (Step 11),
// offscreen: the console holds a session on each (minted by `access session issue` on each
// server with the operator's one secret). A trial balance is read from the store, says how
// far the store had replicated, and equals the sums of the ledger's raw entries; the status
// bar shows the store's lag. The store's server stopped: the status bar warns, the report
// is refused with the reason (no silent stale report, nothing recorded), and "Run on the
// ledger instead" reads the ledger with the reason on record. A session on the store that
// expires is refused there as one on the ledger is.

#include "AccountListModel.h"
#include "Ledgerctl.h"
#include "MainWindow.h"
#include "ReportTableModel.h"
#include "ReportsView.h"
#include "ServerLogWatcher.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "console/ReportService.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QLabel>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTest>

#include <memory>

using namespace ledger;
using test::SqlSession;

class TestReportsStore : public QObject
{
    Q_OBJECT

    test::TestCluster m_primary;
    test::TestCluster m_replica;
    std::unique_ptr<SqlSession> m_ledger;
    std::unique_ptr<test::ServerLogWatcher> m_storeLog;
    int m_key = 0;

    static QByteArray secret() { return QByteArrayLiteral("rosa-secret-0123456789-abcdef\n"); }

    void post(const QString &debit, const QString &credit, const QString &amount,
              const QString &day)
    {
        const auto r = m_ledger->exec(
            QStringLiteral(
                "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', 'rs-' || "
                "$1, 'effective_at', $2 || 'T12:00:00Z', 'description', 'transfer', 'legs', "
                "jsonb_build_array(jsonb_build_object('account', $3::text, 'amount', $5::text, "
                "'currency', 'EUR'), jsonb_build_object('account', $4::text, 'amount', '-' || "
                "$5, 'currency', 'EUR'))))"),
            {QString::number(++m_key), day, debit, credit, amount});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    // A session of rosa's on the cluster: its DSN (and when it expires).
    QString signIn(test::TestCluster &cluster, const QString &ttl = QStringLiteral("10m"),
                   QDateTime *expiresAt = nullptr)
    {
        const auto r = test::runLedgerctl({QStringLiteral("access"), QStringLiteral("session"),
                                           QStringLiteral("issue"), QStringLiteral("--operator"),
                                           QStringLiteral("rosa"), QStringLiteral("--secret-stdin"),
                                           QStringLiteral("--ttl"), ttl, QStringLiteral("--json"),
                                           QStringLiteral("--dsn"), cluster.adminDsn()},
                                          {}, secret());
        if (r.exitCode != 0)
            qWarning("%s", qPrintable(r.describe()));
        if (expiresAt)
            *expiresAt = QDateTime::fromString(
                r.json().value(QStringLiteral("expires_at")).toString(), Qt::ISODateWithMs);
        return r.json().value(QStringLiteral("dsn")).toString();
    }

    // Until the store's copy answers the query as the ledger does: read again each time the
    // store's log is written (the table sync, the broker trigger and the test's own trigger
    // on applied entries write there).
    bool storeAgrees(const QString &query)
    {
        const QString want = m_ledger->scalar(query);
        return m_storeLog->waitUntil(
            [&] { return SqlSession(m_replica.adminDsn()).scalar(query) == want; }, 60000);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_reportsstore"));
        QSettings().clear();
        m_primary.setExtraConfig(
            QStringLiteral("wal_level = logical\nmax_wal_senders = 8\nmax_replication_slots = 8"));
        QVERIFY2(m_primary.start(), qPrintable(m_primary.lastError()));
        QVERIFY2(m_replica.start(false), qPrintable(m_replica.lastError()));
        m_ledger = std::make_unique<SqlSession>(m_primary.adminDsn());
        QVERIFY(
            m_ledger
                ->exec(QStringLiteral("SELECT ledger.open_account('CASH', 'Cash', 'EUR', 'asset'), "
                                      "ledger.open_account('SALES', 'Sales', 'EUR', 'income'), "
                                      "ledger.open_account('LOAN', 'Loan', 'EUR', 'liability')"))
                .ok);
        post(QStringLiteral("CASH"), QStringLiteral("LOAN"), QStringLiteral("900.00"),
             QStringLiteral("2026-10-01"));
        post(QStringLiteral("CASH"), QStringLiteral("SALES"), QStringLiteral("125.25"),
             QStringLiteral("2026-11-02"));
        const auto added = test::runLedgerctl(
            {QStringLiteral("access"), QStringLiteral("operator"), QStringLiteral("add"),
             QStringLiteral("rosa"), QStringLiteral("--groups"), QStringLiteral("console_auditor"),
             QStringLiteral("--secret-stdin"), QStringLiteral("--dsn"), m_primary.adminDsn()},
            {}, secret());
        QVERIFY2(added.exitCode == 0, qPrintable(added.describe()));
        const auto setup = test::runLedgerctl({QStringLiteral("reporting"),
                                               QStringLiteral("replica"), QStringLiteral("setup"),
                                               QStringLiteral("--primary"), m_primary.adminDsn(),
                                               QStringLiteral("--replica"), m_replica.adminDsn()});
        QVERIFY2(setup.exitCode == 0, qPrintable(setup.describe()));
        m_storeLog = std::make_unique<test::ServerLogWatcher>(m_replica.dataDir());
        // The test's instrument on the store: a log line per applied entry.
        QVERIFY(SqlSession(m_replica.adminDsn())
                    .exec(QStringLiteral(
                        "CREATE FUNCTION public.log_applied() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$BEGIN RAISE LOG 'tst_reportsstore applied entry %', NEW.id; RETURN "
                        "NULL; END$$; CREATE TRIGGER tst_log_applied AFTER INSERT ON "
                        "ledger.entries FOR EACH ROW EXECUTE FUNCTION public.log_applied(); "
                        "ALTER TABLE ledger.entries ENABLE ALWAYS TRIGGER tst_log_applied"))
                    .ok);
        // A backdated entry after the setup: it reaches the store too.
        post(QStringLiteral("CASH"), QStringLiteral("SALES"), QStringLiteral("10.00"),
             QStringLiteral("2026-09-15"));
        QVERIFY(storeAgrees(QStringLiteral("SELECT count(*) FROM ledger.entries")));
        QVERIFY(storeAgrees(
            QStringLiteral("SELECT rolpassword FROM pg_authid WHERE rolname = 'lc_op_rosa'")));
    }

    void aTrialBalanceFromTheStoreThenItsServerStops()
    {
        const QString onLedger = signIn(m_primary);
        const QString onStore = signIn(m_replica);
        QVERIFY(!onLedger.isEmpty());
        QVERIFY(!onStore.isEmpty());
        DbWorker worker(onLedger, QStringLiteral("tst_reportsstore"));
        DbWorker store(onStore, QStringLiteral("tst_reportsstore store"));
        LedgerService ledger(&worker);
        AuditService audit(&worker);
        AccountListModel accounts(&ledger, &audit);
        ReportService reports(&worker, &store, true);
        MainWindow window(&accounts, QStringLiteral("rosa"), true);
        ReportsView *view = window.addReports(&reports);
        window.resize(1400, 800);
        window.show();
        window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(view);
        auto *status = window.findChild<QLabel *>(QStringLiteral("reportsStatus"));
        auto *source = view->findChild<QLabel *>(QStringLiteral("reportSource"));
        auto *onLedgerButton = view->findChild<QPushButton *>(QStringLiteral("runOnLedger"));
        static const QRegularExpression behind(QStringLiteral("^Reports: store \\d+ s behind$"));
        QVERIFY2(test::waitUntil(&window, &MainWindow::reportsStatusChanged,
                                 [&] { return behind.match(status->text()).hasMatch(); }),
                 qPrintable(status->text()));

        ReportRequest r;
        r.kind = ReportKind::TrialBalance;
        r.asOf = {2026, 11, 30};
        view->setRequest(r);
        QSignalSpy shown(view, &ReportsView::reportShown);
        QSignalSpy failed(view, &ReportsView::reportFailed);
        view->run();
        QVERIFY(test::waitForSignals(view, [&] { return shown.count() + failed.count() > 0; }));
        QCOMPARE(shown.count(), 1);
        const ReportResult fromStore = *view->lastResult();
        QVERIFY(fromStore.source.isStore);
        QVERIFY2(source->text().contains(QStringLiteral("the reporting store, replicated "
                                                        "through")),
                 qPrintable(source->text()));
        // CASH: 900.00 + 125.25 + 10.00 on the debit side; the totals agree.
        const ReportTableModel *m = view->model();
        QCOMPARE(m->data(m->index(0, 0)).toString(), QStringLiteral("CASH"));
        QCOMPARE(m->data(m->index(0, 4)).toString(), QStringLiteral("1035.25"));
        QCOMPARE(fromStore.table.totalRows.value(0).value(4), QStringLiteral("1035.25"));
        QCOMPARE(fromStore.table.totalRows.value(0).value(5), QStringLiteral("1035.25"));
        QCOMPARE(m_ledger->scalar(QStringLiteral("SELECT details->'params'->>'source' FROM "
                                                 "audit.events WHERE id = $1"),
                                  {QString::number(fromStore.auditEvent)}),
                 QStringLiteral("reporting_store"));

        // The store's server stops: the indicator warns; the report is refused, unrecorded.
        QVERIFY(m_replica.cluster().stop());
        window.refreshReportsStatus();
        QVERIFY(test::waitUntil(&window, &MainWindow::reportsStatusChanged, [&] {
            return status->text() == QLatin1String("Reports: store unreachable");
        }));
        const QString runs = m_ledger->scalar(
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'report.run'"));
        shown.clear();
        failed.clear();
        view->run();
        QVERIFY(test::waitForSignals(view, [&] { return shown.count() + failed.count() > 0; }));
        QCOMPARE(failed.count(), 1);
        QVERIFY2(source->text().contains(QStringLiteral("could not be reached")),
                 qPrintable(source->text()));
        QVERIFY(onLedgerButton->isVisible());
        QCOMPARE(m_ledger->scalar(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'report.run'")),
                 runs);
        // The operator chooses the ledger: read there, the reason on record.
        QTest::mouseClick(onLedgerButton, Qt::LeftButton);
        QVERIFY(test::waitForCount(shown, 1));
        const ReportResult fromLedger = *view->lastResult();
        QVERIFY(!fromLedger.source.isStore);
        QCOMPARE(fromLedger.table.rows, fromStore.table.rows);
        QVERIFY(source->text().contains(QStringLiteral("Run on the ledger because")));
        QVERIFY(!onLedgerButton->isVisible());
        QCOMPARE(m_ledger->scalar(QStringLiteral("SELECT (details->'params'->>'source') || ' ' "
                                                 "|| (details->'params'->>'store_refused' LIKE "
                                                 "'%could not be reached%') FROM audit.events "
                                                 "WHERE id = $1"),
                                  {QString::number(fromLedger.auditEvent)}),
                 QStringLiteral("ledger true"));
        QVERIFY(m_replica.cluster().start());
    }

    // A session on the store expires there as it does on the ledger: it works until the
    // instant the store set, and is refused after it, saying so.
    void aStoreSessionThatExpiresIsRefused()
    {
        QDateTime expiresAt;
        const QString onStore = signIn(m_replica, QStringLiteral("3s"), &expiresAt);
        QVERIFY(!onStore.isEmpty());
        QVERIFY(expiresAt.isValid());
        SqlSession store(onStore);
        QVERIFY(store
                    .exec(QStringLiteral("SELECT count(*) FROM "
                                         "reporting.trial_balance(current_date)"))
                    .ok);
        test::waitUntilPast(expiresAt);
        const test::SqlOutcome refused = store.exec(
            QStringLiteral("SELECT count(*) FROM reporting.trial_balance(current_date)"));
        QVERIFY(!refused.ok);
        QCOMPARE(refused.sqlState, QStringLiteral("LG041"));
    }
};

QTEST_MAIN(TestReportsStore)
#include "tst_reportsstore.moc"
