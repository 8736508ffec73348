#pragma once

#include "domain/Error.h"
#include "domain/Reversal.h"

#include <QPointer>
#include <QWidget>

#include <optional>

class QComboBox;
class QDialog;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTableView;
class QTableWidget;

namespace ledger {

class ReversalInboxModel;
class ReversalService;

// The supervisors' approvals inbox: pending reversal requests, paged, sorted and filtered
// by the server (reason, requester, account, amount range, age). The selected request shows
// its note, the original's legs beside the rebook's (differences highlighted) and the
// preview of what approving would post now; Approve passes that preview's digest, so what
// is approved is what was shown. Reject needs a note. Bulk approve / reject decides the
// selected rows one database transaction each and lists what was decided and what was
// refused, and why. A supervisor's own requests are greyed and cannot be decided here (the
// database refuses them anyway). Every role sees the tab; the database decides who may act.
// GUI thread; every call goes through the ReversalService.
class ApprovalsInboxView : public QWidget
{
    Q_OBJECT

public:
    explicit ApprovalsInboxView(ReversalService *service, QWidget *parent = nullptr);

    ReversalInboxModel *model() const { return m_model; }
    QTableView *tableView() const { return m_table; }
    QPushButton *approveButton() const { return m_approve; }
    QPushButton *rejectButton() const { return m_reject; }
    QPushButton *bulkApproveButton() const { return m_bulkApprove; }
    QPushButton *bulkRejectButton() const { return m_bulkReject; }
    QPlainTextEdit *decisionNote() const { return m_note; }
    // The preview of the selected request, once the server sent it.
    const std::optional<ReversalPreview> &currentPreview() const { return m_preview; }
    qint64 currentRequestId() const { return m_currentId; }
    // The last bulk run's result dialog (null before the first).
    QDialog *bulkResultDialog() const { return m_bulkResult; }
    QLabel *messageLabel() const { return m_message; }

    // Selects the request's row if it is loaded; false otherwise.
    bool selectRequest(qint64 requestId);
    // Applies the filter fields as they are (Return in a field does the same).
    void applyFilters();
    void setFilterFields(const QString &reason, const QString &requester, const QString &account,
                         const QString &minAmount, const QString &maxAmount);

public Q_SLOTS:
    void refresh();
    void approveCurrent();
    void rejectCurrent();
    void decideSelected(bool approve);

Q_SIGNALS:
    void openTransactionRequested(qint64 transactionId);
    // On the GUI thread, after the server answered.
    void previewLoaded(qint64 requestId);
    void decided(qint64 requestId, const ledger::ReversalDecision &decision);
    void decisionFailed(qint64 requestId, const ledger::Error &error);
    void bulkFinished(int decided, int refused);

protected:
    // Shown again (its tab chosen): other supervisors may have decided meanwhile.
    void showEvent(QShowEvent *event) override;

private:
    void currentChanged();
    void showPreview(const ReversalPreview &preview);
    void clearDetail(const QString &text);
    void updateButtons();
    void showMessage(const QString &text, bool problem);
    void showBulkResult(const QList<BulkDecisionOutcome> &outcomes, bool approve);

    QPointer<ReversalService> m_service;
    ReversalInboxModel *m_model = nullptr;
    qint64 m_currentId = 0;
    bool m_currentOwn = false;
    bool m_currentPending = false;
    std::optional<ReversalPreview> m_preview;
    QString m_decisionKey; // one per selected request: a double click decides once
    quint64 m_generation = 0;
    bool m_busy = false;
    bool m_showingLoadError = false; // the message is a load failure, cleared by a load

    QComboBox *m_reasonFilter = nullptr;
    QLineEdit *m_requesterFilter = nullptr;
    QLineEdit *m_accountFilter = nullptr;
    QLineEdit *m_minAmount = nullptr;
    QLineEdit *m_maxAmount = nullptr;
    QComboBox *m_ageFilter = nullptr;
    QLabel *m_count = nullptr;
    QTableView *m_table = nullptr;
    QLabel *m_detailTitle = nullptr;
    QLabel *m_detailText = nullptr;
    QLabel *m_ownLabel = nullptr;
    QTableWidget *m_compare = nullptr;
    QTableWidget *m_previewLegs = nullptr;
    QTableWidget *m_balances = nullptr;
    QLabel *m_warnings = nullptr;
    QPlainTextEdit *m_note = nullptr;
    QPushButton *m_approve = nullptr;
    QPushButton *m_reject = nullptr;
    QPushButton *m_bulkApprove = nullptr;
    QPushButton *m_bulkReject = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_message = nullptr;
    QPointer<QDialog> m_bulkResult;
};

} // namespace ledger
