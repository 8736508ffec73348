// Reconciliation in the real console, offscreen, against a real cluster (Step 9). Olivia's
// console imports a camt.053 file through the import dialog (mapping its bank account to
// CASH2 there) over ledger postings with planted discrepancies of every kind, and sees the
// summary and the matches per rule. The Reconciliation tab's queue shows the planted
// exceptions; its filters and sorts change the server's query (and the rows); the aging
// chart has the server's bars; the side-by-side panel shows the candidates with their score
// and the differences highlighted; the proposals are confirmed and rejected (a note
// required); a manual match whose sums differ is refused before sending and a right one
// resolves the exception; bulk assign and bulk accept with a reason; Oscar's console acting
// on an exception Olivia changed first is told who did what and reloads the row; a
// correction requested through the reversal dialog resolves its exception; an auditor is
// refused with a clear message. Screenshots go to build/<preset>/screenshots/.

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "MainWindow.h"
#include "ReconExceptionModel.h"
#include "ReconExceptionPanel.h"
#include "ReconImportDialog.h"
#include "ReconciliationView.h"
#include "ReversalRequestDialog.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "console/ReconService.h"
#include "console/ReversalService.h"
#include "db/DbWorker.h"

#include <QApplication>
#include <QBarSet>
#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStackedBarSeries>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace ledger;

namespace {

// One console as the application assembles it, on a direct connection of one login.
struct Console
{
    DbWorker worker;
    DbWorker longJobs;
    LedgerService ledger{&worker};
    AuditService audit{&worker, &longJobs};
    ReversalService reversals{&worker};
    ReconService recon{&worker, &longJobs};
    AccountListModel accounts{&ledger, &audit};
    MainWindow window;
    ReconciliationView *view = nullptr;

    Console(const QString &dsn, const QString &label)
        : worker(dsn, QStringLiteral("tst_reconconsole"))
        , longJobs(dsn, QStringLiteral("tst_reconconsole long jobs"))
        , window(&accounts, label, true)
    {
        window.setAccountWorkspace(new AccountWorkspace(&ledger));
        window.addCorrections(&reversals, &ledger);
        view = window.addReconciliation(&recon);
        window.resize(1700, 1050);
        window.show();
        auto *tabs = window.findChild<QTabWidget *>(QStringLiteral("mainTabs"));
        tabs->setCurrentWidget(view);
    }
};

struct CamtLine
{
    qint64 cents; // signed: money in positive
    QDate date;
    QString reference;
    QString counterparty;
};

// A camt.053.001.08 statement as a bank sends it: balances, entries with the bank's
// reference, value and booking dates, the debtor's name.
QByteArray camt(const QString &iban, const QString &id, qint64 openingCents,
                const QList<CamtLine> &lines)
{
    const auto amount = [](qint64 cents) {
        return QStringLiteral("%1.%2")
            .arg(qAbs(cents) / 100)
            .arg(qAbs(cents) % 100, 2, 10, QLatin1Char('0'));
    };
    const auto balance = [&](const char *code, qint64 cents, const QString &day) {
        return QStringLiteral("<Bal><Tp><CdOrPrtry><Cd>%1</Cd></CdOrPrtry></Tp>"
                              "<Amt Ccy=\"EUR\">%2</Amt><CdtDbtInd>%3</CdtDbtInd>"
                              "<Dt><Dt>%4</Dt></Dt></Bal>\n")
            .arg(QLatin1String(code), amount(cents),
                 cents < 0 ? QStringLiteral("DBIT") : QStringLiteral("CRDT"), day);
    };
    qint64 closing = openingCents;
    QString entries;
    int n = 0;
    for (const CamtLine &l : lines) {
        closing += l.cents;
        const QString day = l.date.toString(Qt::ISODate);
        entries += QStringLiteral(
                       "<Ntry><NtryRef>%1</NtryRef><Amt Ccy=\"EUR\">%2</Amt>"
                       "<CdtDbtInd>%3</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
                       "<BookgDt><Dt>%4</Dt></BookgDt><ValDt><Dt>%4</Dt></ValDt>%5"
                       "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd>"
                       "</Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Amt Ccy=\"EUR\">%2</Amt>"
                       "<CdtDbtInd>%3</CdtDbtInd>%6</TxDtls></NtryDtls></Ntry>\n")
                       .arg(++n)
                       .arg(amount(l.cents),
                            l.cents < 0 ? QStringLiteral("DBIT") : QStringLiteral("CRDT"), day,
                            l.reference.isEmpty()
                                ? QString()
                                : QStringLiteral("<AcctSvcrRef>%1</AcctSvcrRef>").arg(l.reference),
                            l.counterparty.isEmpty()
                                ? QString()
                                : QStringLiteral("<RltdPties><Dbtr><Pty><Nm>%1</Nm></Pty></Dbtr>"
                                                 "</RltdPties>")
                                      .arg(l.counterparty));
    }
    return QStringLiteral("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">"
                          "<BkToCstmrStmt><GrpHdr><MsgId>MSG-%1</MsgId>"
                          "<CreDtTm>2026-12-01T06:00:00+01:00</CreDtTm></GrpHdr>\n"
                          "<Stmt><Id>%1</Id><ElctrncSeqNb>1</ElctrncSeqNb>"
                          "<CreDtTm>2026-12-01T06:00:00+01:00</CreDtTm>"
                          "<Acct><Id><IBAN>%2</IBAN></Id><Ccy>EUR</Ccy></Acct>\n%3%4%5</Stmt>"
                          "</BkToCstmrStmt></Document>\n")
        .arg(id, iban, balance("OPBD", openingCents, QStringLiteral("2026-11-01")),
             balance("CLBD", closing, QStringLiteral("2026-11-30")), entries)
        .toUtf8();
}

void save(QWidget *w, const QString &name)
{
    QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
    const QString file = QStringLiteral(LEDGER_SCREENSHOT_DIR) + QLatin1Char('/') + name;
    QVERIFY(w->grab().save(file));
    qInfo("screenshot: %s", qPrintable(file));
}

const QString kIban = QStringLiteral("GB29NWBK60161331926819");

} // namespace

class TestReconConsole : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    std::unique_ptr<Console> m_olivia;
    QTemporaryDir m_files;
    int m_key = 0;

    // Money in on CASH2 (a debit), from CUST; `ref` is the transaction's external reference.
    qint64 postIn(const QString &amount, const QDate &day, const QString &ref,
                  const QString &description = QStringLiteral("Payment"))
    {
        return m_admin
            ->scalar(
                QStringLiteral(
                    "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                    "'rcui-' || $1, 'effective_at', $2 || 'T10:00:00Z', 'description', "
                    "$5::text, 'external_ref', nullif($4, ''), 'legs', jsonb_build_array("
                    "jsonb_build_object('account', 'CASH2', 'amount', $3::text, 'currency', "
                    "'EUR'), jsonb_build_object('account', 'CUST', 'amount', '-' || $3, "
                    "'currency', 'EUR'))))"),
                {QString::number(++m_key), day.toString(Qt::ISODate), amount, ref, description})
            .toLongLong();
    }

    qint64 exceptionId(const QString &type, const QString &reference)
    {
        return m_admin
            ->scalar(QStringLiteral(
                         "SELECT x.id FROM recon.exceptions x LEFT JOIN recon.lines l ON l.id = "
                         "x.line_id LEFT JOIN ledger.entries e ON e.id = x.entry_id LEFT JOIN "
                         "ledger.transactions t ON t.id = e.transaction_id WHERE x.type = $1 AND "
                         "coalesce(l.bank_reference, t.external_ref) = $2"),
                     {type, reference})
            .toLongLong();
    }

    QString stateOf(qint64 exception)
    {
        return m_admin->scalar(
            QStringLiteral("SELECT state FROM recon.exception_state WHERE exception_id = $1"),
            {QString::number(exception)});
    }

    // The rows the queue shows now (their ids), once its page is here.
    static QList<qint64> rows(ReconciliationView *view)
    {
        QList<qint64> out;
        for (int r = 0; r < view->model()->rowCount(); ++r)
            out << view->model()->exception(r).id;
        return out;
    }

    static bool queueSettled(ReconciliationView *view)
    {
        return !view->model()->isLoading() && view->model()->canFetchMore({}) == false;
    }

    // Applies the filters and waits for the server's first page.
    static bool filter(ReconciliationView *view, const ReconciliationView::Filters &f)
    {
        QSignalSpy loaded(view->model(), &ReconExceptionModel::pageLoaded);
        view->setFilters(f);
        if (!view->applyFilters())
            return false;
        return test::waitForModel(view->model(),
                                  [&] { return loaded.count() > 0 && queueSettled(view); });
    }

    // Selects the exception and waits for its candidates.
    static bool open(ReconciliationView *view, qint64 exception)
    {
        QSignalSpy loaded(view->panel(), &ReconExceptionPanel::candidatesLoaded);
        if (!test::waitForModel(view->model(),
                                [&] { return view->model()->rowOf(exception) >= 0; }))
            return false;
        view->selectException(exception);
        return test::waitForSignals(view->panel(), [&] {
            return !loaded.isEmpty() && loaded.last().first().toLongLong() == exception;
        });
    }

    static int candidateRow(ReconExceptionPanel *panel, const QString &reference)
    {
        for (int r = 0; r < panel->candidates().size(); ++r)
            if (panel->candidates().at(r).reference == reference)
                return r;
        return -1;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QApplication::setOrganizationName(QStringLiteral("LedgerConsoleTests"));
        QApplication::setApplicationName(QStringLiteral("tst_reconconsole"));
        QSettings().clear();
        QVERIFY(m_files.isValid());
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH2', 'Bank account at NatWest', 'EUR', "
                        "'asset'), ledger.open_account('CUST', 'Customers', 'EUR', "
                        "'liability'); "
                        "INSERT INTO access.operators (name, broker_role, groups) VALUES "
                        "('olivia', 'olivia_broker', '{console_operator}'), "
                        "('oscar', 'oscar_broker', '{console_operator}')"))
                    .ok);
        // The ledger side of the planted discrepancies (as in tst_recon).
        postIn(QStringLiteral("11.00"), {2026, 11, 2}, QStringLiteral("X1"));
        postIn(QStringLiteral("18.00"), {2026, 11, 9}, {},
               QStringLiteral("Payment from ACME GmbH"));
        postIn(QStringLiteral("21.00"), {2026, 11, 12}, QStringLiteral("C1"));
        postIn(QStringLiteral("22.00"), {2026, 11, 12}, QStringLiteral("C2"));
        postIn(QStringLiteral("17.00"), {2026, 11, 8}, QStringLiteral("X7"));
        postIn(QStringLiteral("19.00"), {2026, 11, 10}, QStringLiteral("X9"));
        postIn(QStringLiteral("20.00"), {2026, 11, 11}, QStringLiteral("X10"));
        postIn(QStringLiteral("30.00"), {2026, 11, 14}, QStringLiteral("S1"));
        m_olivia = std::make_unique<Console>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")),
            QStringLiteral("olivia"));
    }

    // The bank's side through the dialog: a camt.053 file with the exact match, one within
    // tolerance, a settlement of two entries, a split in two lines, an amount mismatch, a
    // date out of the window and two lines the ledger does not know.
    void importThroughTheDialog()
    {
        const QString path = m_files.filePath(QStringLiteral("natwest-2026-11.xml"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(camt(kIban, QStringLiteral("NW-2026-11"), 0,
                        {{1100, {2026, 11, 2}, QStringLiteral("X1"), {}},
                         {1800, {2026, 11, 9}, {}, QStringLiteral("ACME GmbH")},
                         {4300, {2026, 11, 12}, QStringLiteral("SETTLE"), {}},
                         {1750, {2026, 11, 8}, QStringLiteral("X7"), QStringLiteral("Kunde AG")},
                         {1900, {2026, 11, 25}, QStringLiteral("X9"), {}},
                         {99900, {2026, 11, 15}, QStringLiteral("UNKNOWN"), {}},
                         {1000, {2026, 11, 14}, QStringLiteral("S1a"), {}},
                         {2000, {2026, 11, 15}, QStringLiteral("S1b"), {}},
                         {500, {2026, 11, 28}, QStringLiteral("LATEST"), {}}}));
        file.close();

        // Dropped on the Reconciliation tab: the import dialog opens with the file.
        ReconciliationView *view = m_olivia->view;
        QSignalSpy opened(&m_olivia->window, &MainWindow::reconImportDialogOpened);
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(path)});
        const QPoint at = view->rect().center();
        QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(view, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(view, &drop);
        QVERIFY(test::waitForCount(opened, 1));
        QCOMPARE(opened.count(), 1);
        QPointer<ReconImportDialog> dialog =
            qobject_cast<ReconImportDialog *>(opened.first().first().value<QWidget *>());
        QVERIFY(dialog);
        QCOMPARE(dialog->path(), path);
        QVERIFY(QTest::qWaitForWindowExposed(dialog));

        // Unmapped, without an account: refused, naming the bank account; nothing imported.
        QSignalSpy failed(dialog.data(), &ReconImportDialog::failed);
        QTest::mouseClick(dialog->importButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(failed, 1));
        QCOMPARE(failed.count(), 1);
        QVERIFY2(dialog->statusLabel()->text().contains(kIban),
                 qPrintable(dialog->statusLabel()->text()));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM recon.files")),
                 QStringLiteral("0"));

        // With the dialog's account choice: mapped, imported, matched.
        dialog->setMapToAccount(QStringLiteral("CASH2"));
        QSignalSpy done(dialog.data(), &ReconImportDialog::completed);
        QSignalSpy imported(dialog.data(), &ReconImportDialog::imported);
        QSignalSpy progress(dialog->progressBar(), &QProgressBar::valueChanged);
        QTest::mouseClick(dialog->importButton(), Qt::LeftButton);
        QVERIFY(!dialog->importButton()->isEnabled()); // running
        QVERIFY(test::waitForCount(done, 1));
        QCOMPARE(done.count(), 1);
        QCOMPARE(imported.count(), 1);
        QVERIFY(progress.count() > 0);
        const auto summary = imported.first().first().value<ReconImportSummary>();
        QCOMPARE(summary.mappedNow, QStringList{kIban});
        QCOMPARE(summary.accounts, QStringList{QStringLiteral("CASH2")});
        QTableWidget *t = dialog->summaryTable();
        const auto row = [t](int r) { return t->item(r, 0) ? t->item(r, 0)->text() : QString(); };
        QCOMPARE(row(ReconImportDialog::Statements), QStringLiteral("1"));
        QCOMPARE(row(ReconImportDialog::Lines), QStringLiteral("9"));
        QCOMPARE(row(ReconImportDialog::NewLines), QStringLiteral("9"));
        QCOMPARE(row(ReconImportDialog::Duplicates), QStringLiteral("0"));
        QCOMPARE(row(ReconImportDialog::ExceptionsOnImport), QStringLiteral("0"));
        QCOMPARE(row(ReconImportDialog::Exact), QStringLiteral("1"));
        QCOMPARE(row(ReconImportDialog::Tolerance), QStringLiteral("1"));
        QCOMPARE(row(ReconImportDialog::OneToMany), QStringLiteral("1"));
        QCOMPARE(row(ReconImportDialog::ManyToOne), QStringLiteral("1"));
        QCOMPARE(row(ReconImportDialog::Proposed), QStringLiteral("2"));
        QCOMPARE(row(ReconImportDialog::ExceptionsOnMatch),
                 QStringLiteral("5 (1 amount mismatch, 1 date out of tolerance, 2 missing in "
                                "ledger, 1 missing in statement)"));
        QVERIFY2(dialog->statusLabel()->text().contains(kIban),
                 qPrintable(dialog->statusLabel()->text()));
        save(dialog, QStringLiteral("recon-import-summary.png"));

        // The same file again: nothing imported, and it says so.
        dialog->startImport();
        QVERIFY(test::waitForCount(done, 2));
        QCOMPARE(done.count(), 2);
        QVERIFY2(dialog->statusLabel()->text().contains(QLatin1String("already imported")),
                 qPrintable(dialog->statusLabel()->text()));
        // Closing deletes it (WA_DeleteOnClose): a deferred delete posted right here, outside
        // any event loop, which Qt delivers when asked to.
        dialog->close();
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        QVERIFY(!dialog);
    }

    void queueFiltersAndSortsOnTheServer()
    {
        // Age: one exception raised 40 days ago (overdue), one 5 days ago. The exceptions are
        // append-only even for the owner, so the test's superuser steps round the guard.
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "ALTER TABLE recon.exceptions DISABLE TRIGGER exceptions_append_only; "
                        "UPDATE recon.exceptions x SET raised_at = x.raised_at - interval '40 "
                        "days', due_at = x.due_at - interval '40 days' FROM recon.lines l WHERE "
                        "l.id = x.line_id AND l.bank_reference = 'UNKNOWN'; "
                        "UPDATE recon.exceptions x SET raised_at = x.raised_at - interval '5 "
                        "days', due_at = x.due_at - interval '5 days' FROM recon.lines l WHERE "
                        "l.id = x.line_id AND l.bank_reference = 'LATEST'; "
                        "ALTER TABLE recon.exceptions ENABLE ALWAYS TRIGGER "
                        "exceptions_append_only"))
                    .ok);
        ReconciliationView *view = m_olivia->view;
        const qint64 unknown =
            exceptionId(QStringLiteral("missing_in_ledger"), QStringLiteral("UNKNOWN"));
        const qint64 latest =
            exceptionId(QStringLiteral("missing_in_ledger"), QStringLiteral("LATEST"));
        const qint64 mismatch =
            exceptionId(QStringLiteral("amount_mismatch"), QStringLiteral("X7"));
        QVERIFY(unknown && latest && mismatch);

        QVERIFY(filter(view, {}));
        QCOMPARE(view->model()->total(), 5);
        // Oldest first (the server's "age"): the two backdated ones lead.
        QCOMPARE(rows(view).mid(0, 2), (QList<qint64>{unknown, latest}));
        QCOMPARE(view->model()->query().sort, QStringLiteral("age"));

        ReconciliationView::Filters f;
        f.type = QStringLiteral("amount_mismatch");
        QVERIFY(filter(view, f));
        QCOMPARE(view->model()->query().types, QStringList{QStringLiteral("amount_mismatch")});
        QCOMPARE(rows(view), QList<qint64>{mismatch});
        QCOMPARE(view->model()->index(0, ReconExceptionModel::Difference).data().toString(),
                 QStringLiteral("-0.50"));

        f = {};
        f.overdue = 1;
        QVERIFY(filter(view, f));
        QCOMPARE(view->model()->query().overdue, 1);
        QCOMPARE(rows(view), QList<qint64>{unknown});
        QVERIFY(view->model()->index(0, 0).data(ReconExceptionModel::OverdueRole).toBool());

        f = {};
        f.minAgeDays = 3;
        QVERIFY(filter(view, f));
        QCOMPARE(view->model()->query().minAgeDays, 3);
        QCOMPARE(rows(view), (QList<qint64>{unknown, latest}));

        f = {};
        f.minAmount = QStringLiteral("100");
        QVERIFY(filter(view, f));
        QCOMPARE(view->model()->query().minAmountMinor, 10000);
        QCOMPARE(rows(view), QList<qint64>{unknown});
        f.minAmount.clear();
        f.maxAmount = QStringLiteral("5.00");
        QVERIFY(filter(view, f));
        QCOMPARE(rows(view), QList<qint64>{latest});
        f.maxAmount = QStringLiteral("5.001"); // more decimals than EUR has: refused here
        view->setFilters(f);
        QVERIFY(!view->applyFilters());
        QVERIFY(!view->messageLabel()->text().isEmpty());

        f = {};
        f.account = QStringLiteral("CUST");
        QVERIFY(filter(view, f));
        QCOMPARE(view->model()->total(), 0);
        f.account = QStringLiteral("CASH2");
        QVERIFY(filter(view, f));
        QCOMPARE(view->model()->total(), 5);
        f.assignee = QStringLiteral("oscar");
        QVERIFY(filter(view, f));
        QCOMPARE(view->model()->total(), 0);

        // Sorting by a column asks the server again.
        QVERIFY(filter(view, {}));
        QSignalSpy loaded(view->model(), &ReconExceptionModel::pageLoaded);
        view->queueView()->sortByColumn(ReconExceptionModel::Amount, Qt::DescendingOrder);
        QVERIFY(test::waitForModel(view->model(),
                                   [&] { return loaded.count() > 0 && queueSettled(view); }));
        QCOMPARE(view->model()->query().sort, QStringLiteral("amount"));
        QVERIFY(view->model()->query().descending);
        QCOMPARE(rows(view).first(), unknown); // 999.00
        for (int r = 1; r < view->model()->rowCount(); ++r)
            QVERIFY(qAbs(view->model()->exception(r - 1).amountMinor) >=
                    qAbs(view->model()->exception(r).amountMinor));
        loaded.clear();
        view->queueView()->sortByColumn(ReconExceptionModel::Id, Qt::AscendingOrder);
        QVERIFY(test::waitForModel(view->model(),
                                   [&] { return loaded.count() > 0 && queueSettled(view); }));
        QCOMPARE(view->model()->query().sort, QStringLiteral("id"));
        QList<qint64> sorted = rows(view);
        std::sort(sorted.begin(), sorted.end());
        QCOMPARE(rows(view), sorted);
        view->queueView()->sortByColumn(ReconExceptionModel::Raised, Qt::AscendingOrder);
        QVERIFY(test::waitForModel(view->model(), [&] {
            return view->model()->query().sort == QLatin1String("age") && queueSettled(view);
        }));
    }

    void agingChartHasTheServersBars()
    {
        ReconciliationView *view = m_olivia->view;
        QSignalSpy loaded(view, &ReconciliationView::agingLoaded);
        QSignalSpy summaryLoaded(view, &ReconciliationView::summaryLoaded);
        view->refresh();
        QVERIFY(test::waitForCount(loaded, 1));
        QMap<QString, QList<qreal>> bars;
        for (QBarSet *set : view->agingSeries()->barSets()) {
            QList<qreal> values;
            for (int i = 0; i < set->count(); ++i)
                values << set->at(i);
            bars.insert(set->property("type").toString(), values);
            QCOMPARE(set->label(),
                     ReconExceptionModel::typeLabel(set->property("type").toString()));
        }
        // Buckets: 0-2 days, 3-7 days, 8-30 days, over 30 days.
        QCOMPARE(bars.value(QStringLiteral("missing_in_ledger")), (QList<qreal>{0, 1, 0, 1}));
        QCOMPARE(bars.value(QStringLiteral("amount_mismatch")), (QList<qreal>{1, 0, 0, 0}));
        QCOMPARE(bars.value(QStringLiteral("date_out_of_tolerance")), (QList<qreal>{1, 0, 0, 0}));
        QCOMPARE(bars.value(QStringLiteral("missing_in_statement")), (QList<qreal>{1, 0, 0, 0}));
        QCOMPARE(bars.size(), 4);

        // The summary per mapped account.
        QTableWidget *summary = view->summaryTable();
        // (The table may still show an earlier load's rows: wait for this refresh's.)
        QVERIFY(test::waitForCount(summaryLoaded, 1));
        QCOMPARE(summary->rowCount(), 1);
        QCOMPARE(summary->item(0, 0)->text(), QStringLiteral("CASH2"));
        QCOMPARE(summary->item(0, 1)->text(), kIban);
        QCOMPARE(summary->item(0, 4)->text(), QStringLiteral("9")); // lines
        QCOMPARE(summary->item(0, 7)->text(), QStringLiteral("NW-2026-11"));
        QCOMPARE(summary->item(0, 13)->text(), QStringLiteral("5")); // open items
        QCOMPARE(summary->item(0, 14)->text(), QStringLiteral("1")); // overdue
        // The bank's closing counts 999.00 + 5.00 + ... the ledger does not have, and no
        // statement of this account ever agreed.
        QCOMPARE(summary->item(0, 11)->text(), QStringLiteral("differ"));
        QCOMPARE(summary->item(0, 12)->text(), QStringLiteral("never"));
    }

    void sideBySideHighlightsDifferences()
    {
        ReconciliationView *view = m_olivia->view;
        QVERIFY(filter(view, {}));
        const qint64 mismatch =
            exceptionId(QStringLiteral("amount_mismatch"), QStringLiteral("X7"));
        QVERIFY(open(view, mismatch));
        ReconExceptionPanel *panel = view->panel();
        const int r = candidateRow(panel, QStringLiteral("X7"));
        QVERIFY2(r >= 0, "the entry with the line's reference is a candidate");
        const ReconCandidate &c = panel->candidates().at(r);
        QCOMPARE(c.amountMinor, 1700);
        QCOMPARE(c.amountDifference, -50);
        QVERIFY(c.score > 0);
        QTableWidget *t = panel->candidateTable();
        QCOMPARE(t->item(r, ReconExceptionPanel::Score)->text(), QString::number(c.score));
        QCOMPARE(t->item(r, ReconExceptionPanel::AmountDifference)->text(),
                 QStringLiteral("-0.50"));
        const QColor differs = ReconExceptionPanel::differsColor();
        QCOMPARE(t->item(r, ReconExceptionPanel::AmountDifference)->background().color(), differs);
        QCOMPARE(t->item(r, ReconExceptionPanel::Amount)->background().color(), differs);
        QVERIFY(t->item(r, ReconExceptionPanel::Date)->background().style() == Qt::NoBrush);
        QVERIFY(t->item(r, ReconExceptionPanel::Reference)->background().style() == Qt::NoBrush);
        // Side by side with the best candidate (the one with the reference, first).
        QCOMPARE(r, 0);
        QTableWidget *cmp = panel->compareTable();
        QCOMPARE(cmp->item(ReconExceptionPanel::CompareAmount, 0)->text(),
                 QStringLiteral("17.50 EUR"));
        QCOMPARE(cmp->item(ReconExceptionPanel::CompareAmount, 1)->text(),
                 QStringLiteral("17.00 EUR"));
        QCOMPARE(cmp->item(ReconExceptionPanel::CompareAmount, 0)->background().color(), differs);
        QCOMPARE(cmp->item(ReconExceptionPanel::CompareAmount, 1)->background().color(), differs);
        QVERIFY(cmp->item(ReconExceptionPanel::CompareDate, 0)->background().style() ==
                Qt::NoBrush);
        QVERIFY(cmp->item(ReconExceptionPanel::CompareReference, 1)->background().style() ==
                Qt::NoBrush);
        // "Kunde AG" is not in the entry's description.
        QCOMPARE(cmp->item(ReconExceptionPanel::CompareParty, 0)->background().color(), differs);
        view->lowerTabs()->setCurrentIndex(0);
        save(&m_olivia->window, QStringLiteral("recon-queue-side-by-side.png"));

        // A date out of the window: the entry is beyond the candidates' range; the panel
        // compares with the exception's own entry and highlights the date.
        const qint64 late =
            exceptionId(QStringLiteral("date_out_of_tolerance"), QStringLiteral("X9"));
        QVERIFY(open(view, late));
        QCOMPARE(cmp->item(ReconExceptionPanel::CompareDate, 0)->text(),
                 QStringLiteral("2026-11-25"));
        QCOMPARE(cmp->item(ReconExceptionPanel::CompareDate, 1)->text(),
                 QStringLiteral("2026-11-10"));
        QCOMPARE(cmp->item(ReconExceptionPanel::CompareDate, 1)->background().color(), differs);
        QVERIFY(cmp->item(ReconExceptionPanel::CompareAmount, 1)->background().style() ==
                Qt::NoBrush);
    }

    void proposalsAreConfirmedAndRejected()
    {
        ReconciliationView *view = m_olivia->view;
        view->lowerTabs()->setCurrentIndex(2);
        QVERIFY(test::waitForSignals(view, [&] { return view->proposals().size() == 2; }));
        QCOMPARE(view->proposals().size(), 2);
        int oneToMany = -1, manyToOne = -1;
        for (int r = 0; r < view->proposals().size(); ++r) {
            if (view->proposals().at(r).rule == QLatin1String("one_to_many"))
                oneToMany = r;
            if (view->proposals().at(r).rule == QLatin1String("many_to_one"))
                manyToOne = r;
        }
        QVERIFY(oneToMany >= 0 && manyToOne >= 0);
        QCOMPARE(
            view->proposalTable()->item(oneToMany, ReconciliationView::ProposalLinesSum)->text(),
            QStringLiteral("43.00 EUR"));
        const qint64 settlement = view->proposals().at(oneToMany).groupId;
        const qint64 split = view->proposals().at(manyToOne).groupId;

        // Reject needs a note: refused here, nothing sent.
        view->proposalTable()->setCurrentCell(oneToMany, 0);
        QVERIFY(!view->rejectSelectedProposal());
        QVERIFY(view->messageLabel()->text().contains(QLatin1String("note")));
        QSignalSpy decided(view, &ReconciliationView::proposalDecided);
        view->proposalNote()->setPlainText(QStringLiteral("not that settlement"));
        QVERIFY(view->rejectSelectedProposal());
        QVERIFY(test::waitForCount(decided, 1));
        QCOMPARE(decided.count(), 1);
        QVERIFY(test::waitForSignals(view, [&] { return view->proposals().size() == 1; }));
        QCOMPARE(view->proposals().size(), 1);
        QCOMPARE(view->proposals().first().groupId, split);
        view->proposalTable()->setCurrentCell(0, 0);
        view->confirmSelectedProposal();
        QVERIFY(test::waitForCount(decided, 2));
        QCOMPARE(decided.count(), 2);
        QVERIFY(test::waitForSignals(view, [&] { return view->proposals().size() == 0; }));
        QCOMPARE(view->proposals().size(), 0);
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT string_agg(decision, ',' ORDER BY group_id) FROM "
                                    "recon.match_decisions WHERE group_id IN ($1, $2)"),
                     {QString::number(settlement), QString::number(split)}),
                 QStringLiteral("rejected,confirmed"));
    }

    void manualMatchMustAgree()
    {
        ReconciliationView *view = m_olivia->view;
        // The rejected settlement's line is missing in the ledger once matched again.
        const auto run = m_olivia->recon.match(QStringLiteral("CASH2"), false);
        QVERIFY(test::waitForFinished(run));
        QVERIFY2(run.result(), qPrintable(run.result() ? QString() : run.result().error().message));
        QCOMPARE(run.result().value().runs.first().exceptionsRaised.value(
                     QStringLiteral("missing_in_ledger")),
                 1);
        const qint64 settle =
            exceptionId(QStringLiteral("missing_in_ledger"), QStringLiteral("SETTLE"));
        QVERIFY(settle > 0);
        QVERIFY(filter(view, {}));
        QVERIFY(open(view, settle));
        ReconExceptionPanel *panel = view->panel();
        const int c1 = candidateRow(panel, QStringLiteral("C1"));
        const int c2 = candidateRow(panel, QStringLiteral("C2"));
        QVERIFY(c1 >= 0 && c2 >= 0);
        panel->noteEdit()->setPlainText(QStringLiteral("card settlement of two payments"));
        panel->setCandidateChecked(c1, true);
        QVERIFY(!panel->sumsAgree());
        QVERIFY2(panel->sumLabel()->text().contains(QLatin1String("differ")),
                 qPrintable(panel->sumLabel()->text()));
        const QString groupsBefore =
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM recon.match_groups"));
        QSignalSpy refused(panel, &ReconExceptionPanel::refusedBeforeSending);
        QTest::mouseClick(panel->matchButton(), Qt::LeftButton);
        QCOMPARE(refused.count(), 1);
        QVERIFY2(refused.first().first().toString().contains(QLatin1String("22.00 EUR")),
                 qPrintable(refused.first().first().toString()));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM recon.match_groups")),
                 groupsBefore);

        panel->setCandidateChecked(c2, true);
        QVERIFY(panel->sumsAgree());
        QVERIFY(panel->sumLabel()->text().contains(QLatin1String("43.00 EUR")));
        QSignalSpy acted(panel, &ReconExceptionPanel::acted);
        QTest::mouseClick(panel->matchButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(acted, 1));
        QCOMPARE(acted.count(), 1);
        QCOMPARE(stateOf(settle), QStringLiteral("resolved"));
        QVERIFY(test::waitForModel(
            view->model(), [&] { return view->model()->rowOf(settle) < 0 && queueSettled(view); }));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT rule FROM recon.match_groups ORDER BY id "
                                                "DESC LIMIT 1")),
                 QStringLiteral("manual"));
    }

    // Olivia and Oscar in their own consoles act on the same exception: the second is told.
    void twoOperatorsOneWins()
    {
        auto oscar = std::make_unique<Console>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("oscar")),
            QStringLiteral("oscar"));
        const qint64 missing =
            exceptionId(QStringLiteral("missing_in_statement"), QStringLiteral("X10"));
        QVERIFY(open(oscar->view, missing));
        QVERIFY(filter(m_olivia->view, {}));
        QVERIFY(open(m_olivia->view, missing));

        QSignalSpy assigned(m_olivia->view->panel(), &ReconExceptionPanel::acted);
        QTest::mouseClick(m_olivia->view->panel()->assignButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(assigned, 1));
        QCOMPARE(assigned.count(), 1);

        // Oscar's row is stale: accepting it is refused, naming Olivia, and the row reloads.
        ReconExceptionPanel *panel = oscar->view->panel();
        QCOMPARE(panel->exception().state, QStringLiteral("open"));
        QSignalSpy failed(panel, &ReconExceptionPanel::actionFailed);
        QSignalSpy reloaded(oscar->view->model(), &ReconExceptionModel::pageLoaded);
        panel->reasonBox()->setCurrentIndex(panel->reasonBox()->findData(QStringLiteral("TIMING")));
        QTest::mouseClick(panel->acceptButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(failed, 1));
        QCOMPARE(failed.count(), 1);
        const auto error = failed.first().at(1).value<Error>();
        QCOMPARE(error.sqlState, QStringLiteral("LG084"));
        const QString shown = oscar->view->messageLabel()->text();
        QVERIFY2(shown.contains(QLatin1String("olivia")) &&
                     shown.contains(QLatin1String("changed meanwhile")),
                 qPrintable(shown));
        QVERIFY(test::waitForSignals({panel, oscar->view->model()}, [&] {
            return reloaded.count() > 0 && panel->exceptionId() == missing &&
                   panel->exception().state == QLatin1String("assigned");
        }));
        QCOMPARE(panel->exception().assignee, QStringLiteral("olivia"));
        const int row = oscar->view->model()->rowOf(missing);
        QCOMPARE(oscar->view->model()->index(row, ReconExceptionModel::Assignee).data().toString(),
                 QStringLiteral("olivia"));
        QCOMPARE(stateOf(missing), QStringLiteral("assigned"));
    }

    void bulkAssignAndAccept()
    {
        ReconciliationView *view = m_olivia->view;
        const qint64 unknown =
            exceptionId(QStringLiteral("missing_in_ledger"), QStringLiteral("UNKNOWN"));
        const qint64 latest =
            exceptionId(QStringLiteral("missing_in_ledger"), QStringLiteral("LATEST"));
        QVERIFY(filter(view, {}));
        QItemSelectionModel *selection = view->queueView()->selectionModel();
        selection->clearSelection();
        for (qint64 id : {unknown, latest})
            selection->select(view->model()->index(view->model()->rowOf(id), 0),
                              QItemSelectionModel::Select | QItemSelectionModel::Rows);
        QSignalSpy finished(view, &ReconciliationView::bulkFinished);
        view->setBulkFields(QStringLiteral("oscar"), {}, {});
        QTest::mouseClick(view->bulkAssignButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(finished, 1));
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.first().at(0).toInt(), 2);
        QCOMPARE(finished.first().at(1).toInt(), 0);
        ReconciliationView::Filters f;
        f.assignee = QStringLiteral("oscar");
        QVERIFY(filter(view, f));
        QCOMPARE(rows(view), (QList<qint64>{unknown, latest}));

        // Accept both with a reason; OTHER without a note is refused per row, and said.
        for (int r = 0; r < 2; ++r)
            selection->select(view->model()->index(r, 0),
                              QItemSelectionModel::Select | QItemSelectionModel::Rows);
        view->setBulkFields({}, QStringLiteral("OTHER"), {});
        QTest::mouseClick(view->bulkAcceptButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(finished, 2));
        QCOMPARE(finished.count(), 2);
        QCOMPARE(finished.last().at(1).toInt(), 2);
        QVERIFY2(view->messageLabel()->text().contains(QLatin1String("refused")),
                 qPrintable(view->messageLabel()->text()));
        QVERIFY(filter(view, f));
        for (int r = 0; r < 2; ++r)
            selection->select(view->model()->index(r, 0),
                              QItemSelectionModel::Select | QItemSelectionModel::Rows);
        view->setBulkFields({}, QStringLiteral("NOT_OURS"), QStringLiteral("misdirected"));
        QTest::mouseClick(view->bulkAcceptButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(finished, 3));
        QCOMPARE(finished.count(), 3);
        QCOMPARE(finished.last().at(0).toInt(), 2);
        QCOMPARE(stateOf(unknown), QStringLiteral("accepted"));
        QCOMPARE(stateOf(latest), QStringLiteral("accepted"));
        QVERIFY(test::waitForModel(
            view->model(), [&] { return view->model()->total() == 0 && queueSettled(view); }));

        // Reopen from the closed list, with a note.
        f = {};
        f.states = QStringLiteral("closed");
        QVERIFY(filter(view, f));
        QVERIFY(open(view, latest));
        ReconExceptionPanel *panel = view->panel();
        QVERIFY(panel->reopenButton()->isEnabled());
        QVERIFY(!panel->acceptButton()->isEnabled());
        panel->noteEdit()->setPlainText(QStringLiteral("the customer says it was ours"));
        QSignalSpy acted(panel, &ReconExceptionPanel::acted);
        QTest::mouseClick(panel->reopenButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(acted, 1));
        QCOMPARE(acted.count(), 1);
        QCOMPARE(stateOf(latest), QStringLiteral("open"));
    }

    // "Request correction…" opens the reversal dialog of the entry's transaction; the request
    // sent resolves the exception, linked to it.
    void correctionResolvesTheException()
    {
        ReconciliationView *view = m_olivia->view;
        const qint64 mismatch =
            exceptionId(QStringLiteral("amount_mismatch"), QStringLiteral("X7"));
        QVERIFY(filter(view, {}));
        QVERIFY(open(view, mismatch));
        ReconExceptionPanel *panel = view->panel();
        QVERIFY(panel->correctionButton()->isEnabled());
        QSignalSpy opened(&m_olivia->window, &MainWindow::reversalDialogOpened);
        QTest::mouseClick(panel->correctionButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(opened, 1));
        QCOMPARE(opened.count(), 1);
        QPointer<ReversalRequestDialog> dialog =
            qobject_cast<ReversalRequestDialog *>(opened.first().first().value<QWidget *>());
        QVERIFY(dialog);
        QCOMPARE(dialog->transactionId(), panel->exception().transactionId);
        QVERIFY(test::waitForSignals(dialog, [&] { return dialog->isReady(); }));
        QVERIFY(dialog->selectReason(QStringLiteral("DUPLICATE")));
        dialog->setNote(QStringLiteral("the bank has 17.50: reverse and post again"));
        QSignalSpy previewed(dialog.data(), &ReversalRequestDialog::previewShown);
        dialog->requestPreview();
        QVERIFY(test::waitForCount(previewed, 1));
        QCOMPARE(previewed.count(), 1);
        QSignalSpy submitted(dialog.data(), &ReversalRequestDialog::submitted);
        QSignalSpy acted(panel, &ReconExceptionPanel::acted);
        dialog->submit();
        QVERIFY(test::waitForCount(submitted, 1));
        QCOMPARE(submitted.count(), 1);
        QVERIFY(test::waitForCount(acted, 1));
        QCOMPARE(acted.count(), 1);
        QCOMPARE(stateOf(mismatch), QStringLiteral("resolved"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT reversal_request_id FROM "
                                                "recon.exception_events WHERE exception_id = $1 "
                                                "ORDER BY id DESC LIMIT 1"),
                                 {QString::number(mismatch)}),
                 QString::number(submitted.first().first().toLongLong()));
        if (dialog)
            dialog->close();
    }

    // An auditor reads the tab; a step is refused by the server and the refusal is shown.
    void auditorsAreRefusedClearly()
    {
        Console audrey(m_db.dsnFor(QStringLiteral("console_auditor"), QStringLiteral("audrey")),
                       QStringLiteral("audrey"));
        ReconciliationView *view = audrey.view;
        QVERIFY(filter(view, {}));
        QVERIFY(view->model()->total() > 0);
        const qint64 id = view->model()->exception(0).id;
        QVERIFY(open(view, id));
        QSignalSpy failed(view->panel(), &ReconExceptionPanel::actionFailed);
        QTest::mouseClick(view->panel()->assignButton(), Qt::LeftButton);
        QVERIFY(test::waitForCount(failed, 1));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.first().at(1).value<Error>().kind, Error::Kind::Permission);
        QVERIFY2(view->messageLabel()->text().contains(QLatin1String("Not allowed")),
                 qPrintable(view->messageLabel()->text()));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM recon.exception_events "
                                                "WHERE actor = 'audrey'")),
                 QStringLiteral("0"));
    }

    void cleanupTestCase() { m_olivia.reset(); }
};

QTEST_MAIN(TestReconConsole)
#include "tst_reconconsole.moc"
