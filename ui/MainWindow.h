#pragma once

#include "domain/Error.h"

#include <QMainWindow>

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;
class QFrame;
class QPushButton;
class QTabWidget;

namespace ledger {

class AccountListModel;
class AuditLogView;
class ConsoleSession;
class DbWorker;
class SessionLockOverlay;

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

    // Adds the auditor's view as a tab beside the accounts, inside the central widget so that
    // the session lock hides it too. The caller routes its openObjectRequested().
    AuditLogView *addAuditLog(DbWorker *worker);
    AuditLogView *auditLogView() const { return m_auditLog; }

public Q_SLOTS:
    // Shows an audit event's object: an account in the navigator; other kinds say so.
    void openObject(const QString &objectType, const QString &objectId);

public:
    // Time-limited sign-in: shows who is signed in and the time left, warns before the
    // end, locks the window when the session ends. signInRequested() asks the
    // application to re-authenticate; the window keeps its state meanwhile.
    void attachSession(ConsoleSession *session);

Q_SIGNALS:
    void signInRequested();

protected:
    void closeEvent(QCloseEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void createActions();
    void createCentralWidget();
    bool selectAccount(const QString &code); // in the navigator; false when not listed
    void showError(const ledger::Error &error);
    void hideError();
    void restoreLayout();

    AccountListModel *m_accounts;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTableView *m_accountView = nullptr;
    QLineEdit *m_search = nullptr;
    QFrame *m_banner = nullptr;
    QLabel *m_bannerText = nullptr;
    QPushButton *m_retry = nullptr;
    QLabel *m_connectionStatus = nullptr;
    QLabel *m_countStatus = nullptr;
    QLabel *m_sessionStatus = nullptr;
    ConsoleSession *m_session = nullptr;
    SessionLockOverlay *m_lock = nullptr;
    AuditLogView *m_auditLog = nullptr;
    QTabWidget *m_tabs = nullptr;
    QWidget *m_accountsPage = nullptr;
    QString m_selectedCode;   // restored after a reload
    QString m_recordedSearch; // the last navigator search put on record
};

} // namespace ledger
