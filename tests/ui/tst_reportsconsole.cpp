// The Reports tab in the real console, offscreen, against a real cluster (Step 11). Olivia
// runs the trial balance, the balance sheet, the income statement, top movers and volumes
// over postings of four kinds of account in two currencies, one of them backdated after a
// known-at time: every figure equals the same sums computed from the raw entries, debits
// equal credits, each run is a report.run event on the audit chain before anything is read
// (with its parameters and where it was read), the known-at report leaves out what was
// posted later, the volumes chart has the entries per day, CSV and PDF exports carry the
// rows (the PDF its audit event), a period that ends before it starts is refused with
// nothing recorded, Cancel drops a run's rows, and the status bar says where reports are
// read. ReportService's verdict on a store's lag is checked on its own. Screenshots go to
// build/<preset>/screenshots/.

#include "AccountListModel.h"
#include "Ledgerctl.h"
#include "MainWindow.h"
#include "ReportTableModel.h"
#include "ReportsView.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "console/ReportService.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace ledger;

namespace {

struct Console
{
    DbWorker worker;
    DbWorker longJobs;
    LedgerService ledger{&worker};
    AuditService audit{&worker, &longJobs};
    ReportService reports{&worker, &longJobs};
    AccountListModel accounts{&ledger, &audit};
    MainWindow window;
    ReportsView *view = nullptr;

    Console(const QString &dsn, const QString &label)
        : worker(dsn, QStringLiteral("tst_reportsconsole"))
        , longJobs(dsn, QStringLiteral("tst_reportsconsole long jobs"))
        , window(&accounts, label, true)
    {
        view = window.addReports(&reports);
        window.resize(1500, 900);
        window.show();
        window.findChild<QTabWidget *>(QStringLiteral("mainTabs"))->setCurrentWidget(view);
    }
};

void save(QWidget *w, const QString &name)
{
    QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
    const QString file = QStringLiteral(LEDGER_SCREENSHOT_DIR) + QLatin1Char('/') + name;
    QVERIFY(w->grab().save(file));
    qInfo("screenshot: %s", qPrintable(file));
}

// A cell of the model's row r, column named `column`.
QString cell(const ReportTableModel *m, int r, const QString &column)
{
    return m->table().columns.contains(column)
               ? m->data(m->index(r, int(m->table().columns.indexOf(column)))).toString()
               : QString();
}

} // namespace

class TestReportsConsole : public QObject
{
    Q_OBJECT

private:
    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    std::unique_ptr<Console> m_olivia;
    QTemporaryDir m_files;
    int m_key = 0;
    QDateTime m_beforeBackdated;

    void post(const QString &debit, const QString &credit, const QString &amount,
              const QString &currency, const QDate &day)
    {
        QVERIFY(
            m_admin
                ->exec(QStringLiteral(
                           "SELECT ledger.post_transaction(jsonb_build_object("
                           "'idempotency_key', 'rep-' || $1, 'effective_at', $2 || "
                           "'T12:00:00Z', 'description', 'Report test', 'legs', "
                           "jsonb_build_array(jsonb_build_object('account', $3::text, 'amount', "
                           "$5::text, 'currency', $6::text), jsonb_build_object('account', "
                           "$4::text, 'amount', '-' || $5, 'currency', $6::text))))"),
                       {QString::number(++m_key), day.toString(Qt::ISODate), debit, credit, amount,
                        currency})
                .ok);
    }

    // Runs what the view's form says and waits for the outcome.
    bool runAndWait(bool expectShown = true)
    {
        QSignalSpy shown(m_olivia->view, &ReportsView::reportShown);
        QSignalSpy failed(m_olivia->view, &ReportsView::reportFailed);
        m_olivia->view->run();
        if (!test::waitForSignals(m_olivia->view,
                                  [&] { return shown.count() + failed.count() > 0; }))
            return false;
        return expectShown ? shown.count() == 1 : failed.count() == 1;
    }

    qint64 reportRuns()
    {
        return m_admin
            ->scalar(
                QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'report.run'"))
            .toLongLong();
    }

    // The sum of an account's entries (debit positive) effective by the end of day, in
    // minor units, from the raw rows.
    qint64 rawBalance(const QString &account, const QDate &day)
    {
        return m_admin
            ->scalar(
                QStringLiteral("SELECT coalesce(sum(e.amount), 0) FROM ledger.entries e JOIN "
                               "ledger.accounts a ON a.id = e.account_id WHERE a.code = $1 AND "
                               "e.effective_at < ($2::date + 1)::timestamptz"),
                {account, day.toString(Qt::ISODate)})
            .toLongLong();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_reportsconsole"));
        QSettings().clear();
        QVERIFY(m_files.isValid());
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('BANK', 'Bank', 'EUR', 'asset'), "
                        "ledger.open_account('SALES', 'Sales', 'EUR', 'income'), "
                        "ledger.open_account('RENT', 'Rent', 'EUR', 'expense'), "
                        "ledger.open_account('LOAN', 'Loan', 'EUR', 'liability'), "
                        "ledger.open_account('CAPITAL', 'Capital', 'EUR', 'equity'), "
                        "ledger.open_account('USBANK', 'US bank', 'USD', 'asset'), "
                        "ledger.open_account('USSALES', 'US sales', 'USD', 'income'); "
                        "INSERT INTO access.operators (name, broker_role, groups) VALUES "
                        "('olivia', 'olivia_broker', '{console_operator}'), "
                        "('oscar', 'oscar_broker', '{console_operator}')"))
                    .ok);
        post(QStringLiteral("BANK"), QStringLiteral("CAPITAL"), QStringLiteral("1000.00"),
             QStringLiteral("EUR"), {2026, 10, 1});
        post(QStringLiteral("BANK"), QStringLiteral("LOAN"), QStringLiteral("500.00"),
             QStringLiteral("EUR"), {2026, 10, 2});
        post(QStringLiteral("BANK"), QStringLiteral("SALES"), QStringLiteral("320.50"),
             QStringLiteral("EUR"), {2026, 11, 3});
        post(QStringLiteral("BANK"), QStringLiteral("SALES"), QStringLiteral("79.50"),
             QStringLiteral("EUR"), {2026, 11, 4});
        post(QStringLiteral("RENT"), QStringLiteral("BANK"), QStringLiteral("250.00"),
             QStringLiteral("EUR"), {2026, 11, 5});
        post(QStringLiteral("USBANK"), QStringLiteral("USSALES"), QStringLiteral("42.00"),
             QStringLiteral("USD"), {2026, 11, 5});
        m_beforeBackdated = QDateTime::fromString(
            m_admin->scalar(QStringLiteral("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                                           "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")),
            Qt::ISODateWithMs);
        QVERIFY(m_beforeBackdated.isValid());
        // Posted after m_beforeBackdated, effective in October: a late entry.
        post(QStringLiteral("RENT"), QStringLiteral("BANK"), QStringLiteral("30.00"),
             QStringLiteral("EUR"), {2026, 10, 20});
        m_olivia = std::make_unique<Console>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")),
            QStringLiteral("olivia"));
    }

    void cleanupTestCase() { m_olivia.reset(); }

    void theStatusBarSaysTheLedgerServesReports()
    {
        auto *status = m_olivia->window.findChild<QLabel *>(QStringLiteral("reportsStatus"));
        QVERIFY(status);
        QVERIFY(test::waitUntil(&m_olivia->window, &MainWindow::reportsStatusChanged, [&] {
            return status->text() == QLatin1String("Reports: from the ledger");
        }));
    }

    void aTrialBalanceBalancesAndIsOnRecordFirst()
    {
        const qint64 runsBefore = reportRuns();
        ReportRequest r;
        r.kind = ReportKind::TrialBalance;
        r.asOf = {2026, 11, 30};
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        const ReportTableModel *m = m_olivia->view->model();
        const ReportResult &result = *m_olivia->view->lastResult();
        // Seven accounts with entries; two currencies, a total row each.
        QCOMPARE(result.table.rows.size(), 7);
        QCOMPARE(result.table.totalRows.size(), 2);
        QCOMPARE(m->rowCount(), 9);
        QVERIFY(m->isTotal(7));
        // Every balance is the raw sum, in its column.
        for (int row = 0; row < 7; ++row) {
            const QString account = cell(m, row, QStringLiteral("account"));
            const qint64 raw = rawBalance(account, r.asOf);
            const QString expected = Money::formatMinor(std::abs(raw), 2);
            QCOMPARE(cell(m, row, raw >= 0 ? QStringLiteral("debit") : QStringLiteral("credit")),
                     expected);
        }
        // EUR debits: BANK 1620.00 + RENT 280.00; credits: CAPITAL 1000.00 + LOAN 500.00 + SALES
        // 400.00.
        const int eur = cell(m, 7, QStringLiteral("currency")) == u"EUR" ? 7 : 8;
        QCOMPARE(cell(m, eur, QStringLiteral("debit")), QStringLiteral("1900.00"));
        QCOMPARE(cell(m, eur, QStringLiteral("credit")), QStringLiteral("1900.00"));
        QVERIFY(result.table.problem.isEmpty());
        auto *notes = m_olivia->view->findChild<QLabel *>(QStringLiteral("reportNotes"));
        QVERIFY(notes->text().contains(QStringLiteral("EUR: debits 1900.00, credits 1900.00: "
                                                      "balanced")));
        // Where it was read, and its record: one report.run event, with its parameters.
        QVERIFY(!result.source.isStore);
        auto *source = m_olivia->view->findChild<QLabel *>(QStringLiteral("reportSource"));
        QVERIFY2(source->text().contains(QStringLiteral("the ledger (its entries)")),
                 qPrintable(source->text()));
        QVERIFY(
            source->text().contains(QStringLiteral("report.run event %1").arg(result.auditEvent)));
        QCOMPARE(reportRuns(), runsBefore + 1);
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT (details->'params'->>'as_of') || ' ' || "
                                    "(details->'params'->>'source') || ' ' || object_id FROM "
                                    "audit.events WHERE id = $1"),
                     {QString::number(result.auditEvent)}),
                 QStringLiteral("2026-11-30 ledger trial_balance"));
        save(&m_olivia->window, QStringLiteral("reports-trial-balance.png"));
    }

    void knownAtLeavesOutWhatWasPostedLater()
    {
        ReportRequest r;
        r.kind = ReportKind::TrialBalance;
        r.asOf = {2026, 11, 30};
        r.knownAt = m_beforeBackdated;
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        const ReportTableModel *m = m_olivia->view->model();
        // RENT: 250.00 then; 280.00 now.
        for (int row = 0; row < m->rowCount(); ++row)
            if (cell(m, row, QStringLiteral("account")) == u"RENT")
                QCOMPARE(cell(m, row, QStringLiteral("debit")), QStringLiteral("250.00"));
        QVERIFY(m_olivia->view->lastResult()->table.title.contains(QStringLiteral("as known at")));
        QVERIFY(m_admin
                    ->scalar(QStringLiteral("SELECT details->'params' ? 'known_at' FROM "
                                            "audit.events WHERE id = $1"),
                             {QString::number(m_olivia->view->lastResult()->auditEvent)})
                    .startsWith(QLatin1Char('t')));
    }

    void balanceSheetAndIncomeStatementAgreeWithTheEntries()
    {
        ReportRequest r;
        r.kind = ReportKind::BalanceSheet;
        r.asOf = {2026, 11, 30};
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        const ReportTable sheet = m_olivia->view->lastResult()->table;
        QVERIFY(sheet.problem.isEmpty());
        QVERIFY(sheet.extra.value(QStringLiteral("balanced")).toBool());
        // EUR assets 1620.00 (BANK) = liabilities 500.00 + equity 1000.00 + result 120.00.
        QVERIFY(sheet.notes.contains(QStringLiteral(
            "EUR: assets 1620.00 = liabilities 500.00 + equity 1000.00 + result 120.00: "
            "balanced")));

        r.kind = ReportKind::IncomeStatement;
        r.from = {2026, 11, 1};
        r.to = {2026, 11, 30};
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        // November: sales 400.00, rent 250.00 (the October rent is not in the period).
        QVERIFY(m_olivia->view->lastResult()->table.notes.contains(
            QStringLiteral("EUR: income 400.00, expenses 250.00, result 150.00")));
    }

    void topMoversAndTheVolumesChart()
    {
        ReportRequest r;
        r.kind = ReportKind::TopMovers;
        r.from = {2026, 10, 1};
        r.to = {2026, 11, 30};
        r.limit = 1;
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        const ReportTable movers = m_olivia->view->lastResult()->table;
        // One per currency: BANK (+1620.00) and USBANK or USSALES (42.00 either way).
        QCOMPARE(movers.rows.size(), 2);
        QCOMPARE(movers.rows.at(0).at(1), QStringLiteral("BANK"));
        QCOMPARE(movers.rows.at(0).at(5), QStringLiteral("1620.00"));

        r.kind = ReportKind::Volumes;
        r.unit = QStringLiteral("day");
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        auto *chartView = m_olivia->view->findChild<QChartView *>(QStringLiteral("volumesChart"));
        QVERIFY(chartView->isVisible());
        QVERIFY2(chartView->height() > 150, qPrintable(QString::number(chartView->height())));
        const auto series = chartView->chart()->series();
        QCOMPARE(series.size(), 1);
        auto *bars = qobject_cast<QBarSeries *>(series.first());
        QVERIFY(bars);
        QCOMPARE(bars->count(), 2); // EUR and USD
        qreal entries = 0;
        for (QBarSet *set : bars->barSets())
            for (int i = 0; i < set->count(); ++i)
                entries += set->at(i);
        QCOMPARE(
            qint64(entries),
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.entries")).toLongLong());
        save(&m_olivia->window, QStringLiteral("reports-volumes.png"));
    }

    void exportsCarryTheRowsAndTheRecord()
    {
        ReportRequest r;
        r.kind = ReportKind::TrialBalance;
        r.asOf = {2026, 11, 30};
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        m_olivia->view->setExportedBy(QStringLiteral("olivia"));
        const ReportResult result = *m_olivia->view->lastResult();

        const QString csv = m_files.filePath(QStringLiteral("trial.csv"));
        QSignalSpy exported(m_olivia->view, &ReportsView::exported);
        m_olivia->view->exportTo(QStringLiteral("csv"), csv);
        QVERIFY(exported.wait(10000));
        QFile file(csv);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QStringList lines =
            QString::fromUtf8(file.readAll()).split(QStringLiteral("\r\n"), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 1 + result.table.rows.size() + result.table.totalRows.size());
        QCOMPARE(lines.first(), QStringLiteral("account,name,kind,currency,debit,credit,entries"));
        QVERIFY(lines.contains(QStringLiteral(",Total,,EUR,1900.00,1900.00,")));

        const QString pdf = m_files.filePath(QStringLiteral("trial.pdf"));
        m_olivia->view->exportTo(QStringLiteral("pdf"), pdf);
        QVERIFY(exported.wait(20000));
        QProcess text;
        text.start(QStringLiteral("pdftotext"),
                   {QStringLiteral("-layout"), pdf, QStringLiteral("-")});
        QVERIFY(text.waitForFinished(20000));
        const QString body = QString::fromUtf8(text.readAllStandardOutput());
        QVERIFY2(body.contains(QStringLiteral("Trial balance as of the end of 2026-11-30")),
                 qPrintable(body));
        QVERIFY(body.contains(QStringLiteral("report.run event %1").arg(result.auditEvent)));
        QVERIFY(body.contains(QStringLiteral("exported by olivia")));
        QVERIFY(body.contains(QStringLiteral("EUR: debits 1900.00, credits 1900.00: balanced")));
        QVERIFY(body.contains(QStringLiteral("page 1 of 1")));
        QVERIFY(QFile::copy(pdf, QStringLiteral(LEDGER_SCREENSHOT_DIR) +
                                     QStringLiteral("/reports-trial-balance.pdf")) ||
                QFile::exists(QStringLiteral(LEDGER_SCREENSHOT_DIR) +
                              QStringLiteral("/reports-trial-balance.pdf")));
        for (const QStringList &row : result.table.rows)
            QVERIFY2(body.contains(row.at(0)), qPrintable(row.at(0)));

        // An unwritable place: a clear error, nothing left behind and nothing recorded.
        const QString exportsBefore =
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.report_exports"));
        QSignalSpy failed(m_olivia->view, &ReportsView::exportFailed);
        m_olivia->view->exportTo(QStringLiteral("csv"),
                                 m_files.filePath(QStringLiteral("no/such/dir/t.csv")));
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.first().first().value<Error>().message.contains(
            QStringLiteral("Choose a folder you may write to")));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.report_exports")),
                 exportsBefore);
        QCOMPARE(QDir(m_files.path()).entryList(QDir::Files | QDir::Hidden).size(), 2);
    }

    // Exports are on the ledger's record with their file's SHA-256; one that entries recorded
    // later change is flagged restated: an entry effective after the reports changes neither,
    // one on balance sheet accounts in November the trial balance only, a November sale both.
    void exportsAreOnRecordAndFlaggedWhenLateEntriesChangeThem()
    {
        ReportsView *view = m_olivia->view;
        auto *exportsTable = view->findChild<QTableWidget *>(QStringLiteral("reportExports"));
        QVERIFY(exportsTable);
        QSignalSpy exported(view, &ReportsView::exported);
        QSignalSpy shown(view, &ReportsView::exportsShown);
        ReportRequest r;
        r.kind = ReportKind::TrialBalance;
        r.asOf = {2026, 11, 30};
        view->setRequest(r);
        QVERIFY(runAndWait());
        const QString trialRun = QString::number(view->lastResult()->auditEvent);
        const QString csv = m_files.filePath(QStringLiteral("tb-restated.csv"));
        view->exportTo(QStringLiteral("csv"), csv);
        QVERIFY(exported.wait(10000));
        r.kind = ReportKind::IncomeStatement;
        r.from = {2026, 11, 1};
        r.to = {2026, 11, 30};
        view->setRequest(r);
        QVERIFY(runAndWait());
        view->exportTo(QStringLiteral("pdf"), m_files.filePath(QStringLiteral("is.pdf")));
        QVERIFY(exported.wait(20000));
        QVERIFY(shown.wait(10000)); // the list follows each export

        QFile file(csv);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString sha = QString::fromLatin1(
            QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256).toHex());
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'report.exported' AND details->>'sha256' = $1 "
                                                "AND details->>'run_event' = $2"),
                                 {sha, trialRun}),
                 QStringLiteral("1"));
        // Newest first: the income statement, then the trial balance.
        const auto text = [&](int row, int column) {
            return exportsTable->item(row, column) ? exportsTable->item(row, column)->text()
                                                   : QString();
        };
        const auto check = [&](const QString &incomeSince, const QString &trialSince) {
            shown.clear();
            view->refreshExports();
            QVERIFY(shown.wait(10000));
            QCOMPARE(text(0, 2), QStringLiteral("income_statement"));
            QCOMPARE(text(0, 3), QStringLiteral("2026-11-01 to 2026-11-30"));
            QCOMPARE(text(1, 2), QStringLiteral("trial_balance"));
            QCOMPARE(text(1, 6), sha.left(16));
            QCOMPARE(exportsTable->item(1, 6)->toolTip(), sha);
            QCOMPARE(text(0, 7), incomeSince);
            QCOMPARE(text(1, 7), trialSince);
        };
        check(QStringLiteral("Unchanged"), QStringLiteral("Unchanged"));
        post(QStringLiteral("BANK"), QStringLiteral("SALES"), QStringLiteral("7.00"),
             QStringLiteral("EUR"), {2026, 12, 2});
        check(QStringLiteral("Unchanged"), QStringLiteral("Unchanged"));
        post(QStringLiteral("BANK"), QStringLiteral("LOAN"), QStringLiteral("9.00"),
             QStringLiteral("EUR"), {2026, 11, 20});
        check(QStringLiteral("Unchanged"),
              QStringLiteral("Restated: 2 entries recorded later change it"));
        post(QStringLiteral("BANK"), QStringLiteral("SALES"), QStringLiteral("5.00"),
             QStringLiteral("EUR"), {2026, 11, 15});
        check(QStringLiteral("Restated: 1 entry recorded later changes it"),
              QStringLiteral("Restated: 4 entries recorded later change it"));
        save(&m_olivia->window, QStringLiteral("reports-exports-restated.png"));

        // ledgerctl says the same.
        const auto listed = test::runLedgerctl(
            {QStringLiteral("report"), QStringLiteral("exports"), QStringLiteral("--json"),
             QStringLiteral("--dsn"),
             m_db.dsnFor(QStringLiteral("console_auditor"), QStringLiteral("audrey"))});
        QVERIFY2(listed.exitCode == 0, qPrintable(listed.describe()));
        const QJsonArray rows = listed.json().value(QStringLiteral("exports")).toArray();
        QVERIFY(rows.size() >= 2);
        QCOMPARE(rows.at(0).toObject().value(QStringLiteral("report")).toString(),
                 QStringLiteral("income_statement"));
        QCOMPARE(rows.at(0).toObject().value(QStringLiteral("late_entries")).toInt(), 1);
        QCOMPARE(rows.at(1).toObject().value(QStringLiteral("sha256")).toString(), sha);
        QCOMPARE(rows.at(1).toObject().value(QStringLiteral("late_entries")).toInt(), 4);
        QVERIFY(rows.at(1).toObject().value(QStringLiteral("restated")).toBool());
    }

    // The attack: an export recorded for someone else's run, or for an event that is not a
    // report run, is refused and nothing is recorded.
    void anExportNamesOnlyTheCallersOwnRun()
    {
        const QString oliviasRun = m_admin->scalar(QStringLiteral(
            "SELECT max(id) FROM audit.events WHERE action = 'report.run' AND operator = "
            "'olivia'"));
        QVERIFY(!oliviasRun.isEmpty());
        const QString before =
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.report_exports"));
        test::SqlSession oscar(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("oscar")));
        const auto stolen =
            oscar.exec(QStringLiteral("SELECT ledger.record_report_export($1, 'csv', repeat('a', "
                                      "64))"),
                       {oliviasRun});
        QVERIFY(!stolen.ok);
        QVERIFY2(stolen.message.contains(QStringLiteral("is not one of yours")),
                 qPrintable(stolen.message));
        test::SqlSession olivia(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
        const QString notARun = m_admin->scalar(
            QStringLiteral("SELECT max(id) FROM audit.events WHERE action = 'report.exported'"));
        const auto other = olivia.exec(
            QStringLiteral("SELECT ledger.record_report_export($1, 'pdf', repeat('b', 64))"),
            {notARun});
        QVERIFY(!other.ok);
        QVERIFY(other.message.contains(QStringLiteral("is not one of yours")));
        // Nor can anyone change or remove an export's record.
        QVERIFY(!olivia.exec(QStringLiteral("DELETE FROM ledger.report_exports")).ok);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.report_exports")),
                 before);
    }

    void aPeriodEndingBeforeItStartsIsRefusedUnrecorded()
    {
        const qint64 runsBefore = reportRuns();
        ReportRequest r;
        r.kind = ReportKind::IncomeStatement;
        r.from = {2026, 11, 30};
        r.to = {2026, 11, 1};
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait(false));
        auto *source = m_olivia->view->findChild<QLabel *>(QStringLiteral("reportSource"));
        QVERIFY2(source->text().contains(QStringLiteral("starts (2026-11-30) after it ends")),
                 qPrintable(source->text()));
        QCOMPARE(reportRuns(), runsBefore);
    }

    void cancelDropsTheRunsRows()
    {
        ReportRequest r;
        r.kind = ReportKind::TrialBalance;
        r.asOf = {2026, 11, 30};
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        const ReportTable before = m_olivia->view->model()->table();
        r.asOf = {2026, 10, 31};
        m_olivia->view->setRequest(r);
        QSignalSpy failed(m_olivia->view, &ReportsView::reportFailed);
        m_olivia->view->run();
        QVERIFY(m_olivia->view->isRunning());
        m_olivia->view->cancel();
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.first().first().value<Error>().kind, Error::Kind::Cancelled);
        QVERIFY(!m_olivia->view->isRunning());
        // Whatever the workers still had of it is done once both answer a later call; the
        // rows shown are still the earlier report's.
        QSignalSpy shown(m_olivia->view, &ReportsView::reportShown);
        r.asOf = {2026, 11, 30};
        m_olivia->view->setRequest(r);
        QVERIFY(runAndWait());
        QCOMPARE(shown.count(), 1);
        QCOMPARE(m_olivia->view->lastResult()->request.asOf, QDate(2026, 11, 30));
        QCOMPARE(m_olivia->view->model()->table().rows, before.rows);
    }

    void aStoreIsJudgedByItsLag()
    {
        const QDateTime now = QDateTime::currentDateTimeUtc();
        ReportSourceState ledger;
        QVERIFY(ReportService::storeVerdict(ledger, now, 300).isEmpty());
        ReportSourceState store;
        store.isStore = true;
        QVERIFY(ReportService::storeVerdict(store, now, 300)
                    .contains(QStringLiteral("has not heard from the ledger yet")));
        store.replicatedAt = now.addSecs(-20);
        QVERIFY(ReportService::storeVerdict(store, now, 300).isEmpty());
        store.replicatedAt = now.addSecs(-301);
        QVERIFY(ReportService::storeVerdict(store, now, 300)
                    .contains(QStringLiteral("301 s ago (more than the 300 s allowed)")));
    }
};

QTEST_MAIN(TestReportsConsole)
#include "tst_reportsconsole.moc"
