#pragma once

#include "domain/Error.h"

#include <QMainWindow>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QSplitter;
class QTableView;
class QFrame;
class QPushButton;
class QTimer;
class QTabWidget;

namespace ledger {

class AccountListModel;
class AccountWorkspace;
class ApprovalsInboxView;
class AuditLogView;
class AuditService;
class HealthService;
class HealthView;
class MyRequestsView;
class ReconImportDialog;
class ReconService;
class ReconciliationView;
class ReportService;
class ReportsView;
class ReversalRequestDialog;
class LedgerService;
class ReversalService;
class ConsoleSession;
class SessionLockOverlay;
class StatementExportDialog;
class StatementService;
class StatementsView;

// The console's main window. Only assembles views, actions and the status bar; the data
// comes from models that load on a worker thread.
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    // connectionLabel: who/where, shown in the title and the status bar.
    // directConnection: a DBA or test connection that bypasses the time-limited sign-in;
    // the title says so.
    MainWindow(AccountListModel *accounts, const QString &connectionLabel, bool directConnection,
               QWidget *parent = nullptr);

    QTableView *accountView() const { return m_accountView; }

    // The account work surface (timeline, point in time, chart) beside the navigator;
    // Enter or double-click on an account opens it there.
    void setAccountWorkspace(AccountWorkspace *workspace);
    AccountWorkspace *accountWorkspace() const { return m_workspace; }

    // Adds the auditor's view as a tab beside the accounts, inside the central widget so that
    // the session lock hides it too. The caller routes its openObjectRequested().
    AuditLogView *addAuditLog(AuditService *audit);
    AuditLogView *auditLogView() const { return m_auditLog; }

    // Corrections: the approvals inbox and "my requests" as tabs, and "Request reversal…"
    // from the account workspace (timeline, transaction detail) opening the request dialog.
    void addCorrections(ReversalService *reversals, LedgerService *ledger);
    ApprovalsInboxView *approvalsInbox() const { return m_inbox; }
    MyRequestsView *myRequests() const { return m_myRequests; }
    AuditLogView *auditLog() const { return m_auditLog; }
    // Opens the request dialog for the transaction (non-modal; reversalDialogOpened tells).
    ReversalRequestDialog *requestReversal(qint64 transactionId);

    // Statements: "Statement…" (Ctrl+E) issues one of the open account; "Verify a statement
    // file…" in the File menu, or a file dropped on the window, says who issued a file, when,
    // for which account and period; the Statements tab lists the issued statements (with
    // their restatements) and exports statements in batches.
    void addStatements(StatementService *statements);
    QAction *statementAction() const { return m_statementAction; }
    StatementsView *statementsView() const { return m_statementsView; }
    // Opens the export dialog for the open account (non-modal; statementDialogOpened tells).
    StatementExportDialog *exportStatement();
    // Looks the file up on the service and shows the answer (statementVerified tells).
    void verifyStatementFile(const QString &path);

    // Reconciliation: the "Reconciliation" tab (exceptions queue, side-by-side panel, aging,
    // summary, proposals) and "Import bank statement…" in the File menu. A bank file dropped
    // on that tab opens the import dialog with it; drops elsewhere are the window's. A
    // correction asked for in the tab opens the reversal request dialog (addCorrections) and
    // the request sent resolves the exception.
    ReconciliationView *addReconciliation(ReconService *recon);
    ReconciliationView *reconciliationView() const { return m_recon; }
    // Reports: the "Reports" tab (ReportsView) and, in the status bar, where reports are read
    // and how far behind the ledger that place is (asked every 30 s while signed in).
    ReportsView *addReports(ReportService *reports);
    ReportsView *reportsView() const { return m_reports; }
    // Operations health: the "Health" tab (HealthView). Its buttons go to the reconciliation
    // queue, the audit log and the reports tab where those were added. Reports' store lag
    // comes from the ReportService given to addReports (add that first).
    HealthView *addHealth(HealthService *health);
    HealthView *healthView() const { return m_health; }
    // The reporting store's session (signed in with the same secret by the login dialog):
    // renewed by the same activity as the console's, signed out when the console's locks;
    // the status bar says when it has ended.
    void attachReportingSession(ConsoleSession *session);
    // Asks where reports are read now and updates the status bar's indicator.
    void refreshReportsStatus();
    // Opens the import dialog, with the file when given (non-modal; reconImportDialogOpened
    // tells).
    ReconImportDialog *importBankStatement(const QString &path = {});

public Q_SLOTS:
    // Shows an audit event's object: an account (navigator and timeline), a transaction
    // (its detail); other kinds say there is no view for them yet.
    void openObject(const QString &objectType, const QString &objectId);

public:
    // Time-limited sign-in: shows who is signed in and the time left, warns before the
    // end, locks the window when the session ends. signInRequested() asks the
    // application to re-authenticate; the window keeps its state meanwhile.
    void attachSession(ConsoleSession *session);

Q_SIGNALS:
    void signInRequested();
    void reversalDialogOpened(QWidget *dialog);    // a ReversalRequestDialog
    void statementDialogOpened(QWidget *dialog);   // a StatementExportDialog
    void reconImportDialogOpened(QWidget *dialog); // a ReconImportDialog
    // The status bar's reports indicator changed (where reports are read, the store's lag).
    void reportsStatusChanged(const QString &text);
    // A file was verified (GUI thread): `found` when the ledger issued exactly this file.
    void statementVerified(const QString &text, bool found);

protected:
    void closeEvent(QCloseEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;
    // Local files dropped on the window are verified as statements, each on its own
    // (only once statements are available).
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void createActions();
    void showDisplayZone();
    void describeSession(int secondsLeft);
    void createCentralWidget();
    void selectAccount(const QString &code); // in the navigator, once the server says where
    void applyAccountFilter();
    void showError(const ledger::Error &error);
    void hideError();
    void restoreLayout();
    void placeOnScreen();
    void fitNavigator();
    QTabWidget *ensureTabs();

    AccountListModel *m_accounts;
    QTimer *m_searchDelay = nullptr;
    QComboBox *m_kindFilter = nullptr;
    QComboBox *m_currencyFilter = nullptr;
    QSplitter *m_splitter = nullptr;
    // First run (nothing remembered): columns and the split are fitted once the first
    // accounts are here; afterwards they stay as the user leaves them.
    bool m_columnsRemembered = false;
    bool m_splitRemembered = false;
    bool m_fittedOnce = false;
    AccountWorkspace *m_workspace = nullptr;
    QTableView *m_accountView = nullptr;
    QLineEdit *m_search = nullptr;
    QFrame *m_banner = nullptr;
    QLabel *m_bannerText = nullptr;
    QPushButton *m_retry = nullptr;
    QLabel *m_connectionStatus = nullptr;
    QLabel *m_countStatus = nullptr;
    QLabel *m_zoneStatus = nullptr;
    QAction *m_localTimeAction = nullptr;
    QAction *m_utcAction = nullptr;
    QLabel *m_sessionStatus = nullptr;
    ConsoleSession *m_session = nullptr;
    SessionLockOverlay *m_lock = nullptr;
    AuditLogView *m_auditLog = nullptr;
    ReversalService *m_reversals = nullptr;
    LedgerService *m_ledger = nullptr;
    StatementService *m_statements = nullptr;
    StatementsView *m_statementsView = nullptr;
    QMenu *m_fileMenu = nullptr;
    QAction *m_statementAction = nullptr;
    ApprovalsInboxView *m_inbox = nullptr;
    MyRequestsView *m_myRequests = nullptr;
    QTabWidget *m_tabs = nullptr;
    ReconService *m_reconService = nullptr;
    ReconciliationView *m_recon = nullptr;
    ReportService *m_reportService = nullptr;
    ReportsView *m_reports = nullptr;
    HealthView *m_health = nullptr;
    QLabel *m_reportsStatus = nullptr;
    ConsoleSession *m_storeSession = nullptr;
    QTimer *m_reportsPoll = nullptr;
    QString m_connectionLabel;
    QWidget *m_accountsPage = nullptr;
    QString m_selectedCode;        // restored after a reload
    QString m_recordedSearch;      // the last navigator search put on record
    QString m_searchToRecord;      // put on record when its results arrive
    bool m_announceLocate = false; // say so when the account asked for is not listed
};

} // namespace ledger
