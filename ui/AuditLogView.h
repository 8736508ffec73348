#pragma once

#include "domain/AuditEvent.h"
#include "domain/Error.h"

#include <QWidget>

class QAction;
class QCheckBox;
class QFrame;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QStackedWidget;
class QTableView;

namespace ledger {

class AuditLogModel;
class InstantEdit;
class AuditVerifyPanel;
class AuditService;

// The auditor's view: a filter bar, the audit log (newest first, loaded as it scrolls), a
// detail pane with every field of the selected event, "Open object", and the verification
// panel. Widgets only; the data comes from AuditLogModel, which loads on the worker.
class AuditLogView : public QWidget
{
    Q_OBJECT

public:
    explicit AuditLogView(AuditService *audit, QWidget *parent = nullptr);

    AuditLogModel *model() const { return m_model; }
    QTableView *tableView() const { return m_table; }
    AuditVerifyPanel *verifyPanel() const { return m_verifyPanel; }

    // The filter as the bar shows it now (applied or not).
    AuditFilter filterFromBar() const;

public Q_SLOTS:
    void applyFilter();
    void clearFilter();
    // Only the events of one object (a reversal request, a transaction, an account).
    void showEventsOf(const QString &objectType, const QString &objectId);
    // Reloads from the newest event, keeping the selected event selected when it is in the
    // first page.
    void refresh();
    // Emits openObjectRequested for the selected event, if it names an object.
    void openSelectedObject();

Q_SIGNALS:
    // GUI thread. The window routes it: "account" to the account's timeline, "transaction"
    // to the transaction, "reversal_request", "statement", ... objectId as the event has it
    // (an account's code, a transaction's id).
    void openObjectRequested(const QString &objectType, const QString &objectId);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    QFrame *createFilterBar();
    QWidget *createDetailPane();
    void showDetails(const AuditEvent *event);
    void updateStatus();
    void showLoadError(const ledger::Error &error);
    void reselect();
    int selectedRow() const; // -1: none

    AuditLogModel *m_model = nullptr;

    QFrame *m_banner = nullptr;
    QLabel *m_bannerText = nullptr;

    QFrame *m_filterBar = nullptr;
    QLineEdit *m_operator = nullptr;
    QLineEdit *m_action = nullptr;
    QLineEdit *m_objectType = nullptr;
    QLineEdit *m_objectId = nullptr;
    QCheckBox *m_fromEnabled = nullptr;
    InstantEdit *m_from = nullptr;
    QCheckBox *m_untilEnabled = nullptr;
    InstantEdit *m_until = nullptr;
    QLineEdit *m_text = nullptr;

    AuditVerifyPanel *m_verifyPanel = nullptr;
    QTableView *m_table = nullptr;
    QLabel *m_status = nullptr;
    QAction *m_openAction = nullptr;

    // Detail pane: a hint while nothing is selected, the fields otherwise.
    QStackedWidget *m_detailStack = nullptr;
    QLabel *m_eventId = nullptr;
    QLabel *m_sequence = nullptr;
    QLabel *m_occurredAt = nullptr;
    QLabel *m_operatorValue = nullptr;
    QLabel *m_sessionRole = nullptr;
    QLabel *m_actionValue = nullptr;
    QLabel *m_object = nullptr;
    QPushButton *m_openButton = nullptr;
    QLineEdit *m_prevHash = nullptr;
    QLineEdit *m_hash = nullptr;
    QPlainTextEdit *m_details = nullptr;
    QPlainTextEdit *m_clientInfo = nullptr;

    qint64 m_reselectId = 0; // the event to select again after a refresh; 0: none
};

} // namespace ledger
