#pragma once

#include "domain/Error.h"
#include "domain/Reversal.h"

#include <QPointer>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace ledger {

class ReversalInboxModel;
class ReversalService;

// The signed-in operator's reversal requests in every state (pending, approved, rejected,
// withdrawn, expired), newest first, with who decided, when and why. Double-click opens a
// transaction: the reversal or the rebook from their columns, the original from the others
// (its detail lists its audit events). A pending request can be withdrawn, with a note.
// GUI thread; every call goes through the ReversalService.
class MyRequestsView : public QWidget
{
    Q_OBJECT

public:
    explicit MyRequestsView(ReversalService *service, QWidget *parent = nullptr);

    ReversalInboxModel *model() const { return m_model; }
    QTableView *tableView() const { return m_table; }
    QPushButton *withdrawButton() const { return m_withdraw; }
    QPushButton *auditButton() const { return m_audit; }
    QLineEdit *withdrawNote() const { return m_note; }
    QLabel *messageLabel() const { return m_message; }
    bool selectRequest(qint64 requestId);
    // The transaction a double-click on that cell opens (0: none).
    static qint64 transactionAt(const QModelIndex &index);

public Q_SLOTS:
    void refresh();
    void withdrawCurrent();

Q_SIGNALS:
    void openTransactionRequested(qint64 transactionId);
    // The selected request's audit events (requested, previews, the decision or expiry).
    void openAuditEventsRequested(const QString &objectType, const QString &objectId);
    void withdrawn(qint64 requestId);
    void withdrawFailed(qint64 requestId, const ledger::Error &error);

protected:
    // Shown again (its tab chosen): other supervisors may have decided meanwhile.
    void showEvent(QShowEvent *event) override;

private:
    void applyState();
    void updateButtons();
    void showMessage(const QString &text, bool problem);

    QPointer<ReversalService> m_service;
    ReversalInboxModel *m_model = nullptr;
    QComboBox *m_state = nullptr;
    QTableView *m_table = nullptr;
    QLineEdit *m_note = nullptr;
    QPushButton *m_withdraw = nullptr;
    QPushButton *m_audit = nullptr;
    QLabel *m_message = nullptr;
    QLabel *m_count = nullptr;
    QString m_withdrawKey; // one per selected request: a double click withdraws once
    qint64 m_keyFor = 0;
    bool m_busy = false;
    bool m_showingLoadError = false; // the message is a load failure, cleared by a load
};

} // namespace ledger
