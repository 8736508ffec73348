#pragma once

#include "domain/Error.h"
#include "domain/Recon.h"

#include <QPointer>
#include <QWidget>

class QChartView;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QStackedBarSeries;
class QTabWidget;
class QTableView;
class QTableWidget;

namespace ledger {

class ReconExceptionModel;
class ReconExceptionPanel;
class ReconService;

// The Reconciliation tab (Step 9): the exceptions queue (server-paged, filtered and sorted by
// the server) with bulk assign and bulk accept; beside it the side-by-side panel of the
// selected exception; below, the aging chart of open exceptions by type and age bucket, the
// summary per mapped bank account and the proposals (matches below the auto-confirm score)
// to confirm or reject. "Import bank statement…" and a bank file dropped anywhere on this
// tab ask for the import dialog (importRequested); drops elsewhere in the window are the
// window's. When another operator acted on an exception first, the server's refusal (LG084,
// naming who did what) is shown and the row is reloaded. Every role that may read
// reconciliation sees the tab; the database refuses the steps of those who may not act, and
// the refusal is shown. GUI thread; every call goes through the ReconService.
class ReconciliationView : public QWidget
{
    Q_OBJECT

public:
    enum ProposalColumn {
        ProposalGroup,
        ProposalRule,
        ProposalScore,
        ProposalAccount,
        ProposalLines,
        ProposalEntries,
        ProposalLinesSum,
        ProposalEntriesSum,
        ProposalCreated,
        ProposalColumnCount
    };
    static constexpr int ProposalPageSize = 500;

    explicit ReconciliationView(ReconService *service, QWidget *parent = nullptr);

    ReconExceptionModel *model() const { return m_model; }
    QTableView *queueView() const { return m_queue; }
    ReconExceptionPanel *panel() const { return m_panel; }
    QChartView *agingChart() const { return m_chart; }
    QStackedBarSeries *agingSeries() const { return m_series; }
    const QList<ReconAgingBucket> &aging() const { return m_aging; }
    QTableWidget *summaryTable() const { return m_summary; }
    QTableWidget *proposalTable() const { return m_proposals; }
    const QList<ReconProposal> &proposals() const { return m_proposalRows; }
    QTabWidget *lowerTabs() const { return m_lower; }
    QLabel *messageLabel() const { return m_message; }
    QPushButton *bulkAssignButton() const { return m_bulkAssign; }
    QPushButton *bulkAcceptButton() const { return m_bulkAccept; }
    QPushButton *importButton() const { return m_import; }
    QPlainTextEdit *proposalNote() const { return m_proposalNote; }

    // The filter fields, as a user sets them; applyFilters() sends them to the server.
    struct Filters
    {
        QString type;    // empty: any
        QString account; // ledger account code
        QString states;  // "working" (open, assigned), "closed" (resolved, accepted), "all"
        QString assignee;
        QString minAmount; // as typed, in the currency's units
        QString maxAmount;
        int minAgeDays = 0;
        int overdue = -1; // -1 either, 1 overdue only, 0 not overdue
    };
    void setFilters(const Filters &filters);
    // False (and a message says why) when an amount cannot be read.
    bool applyFilters();
    bool selectException(qint64 exceptionId);
    void setBulkFields(const QString &assignee, const QString &reasonCode, const QString &note);

    // The ledger's rules for the exception's bank account (from the summary), if loaded.
    ReconAccountStatus rulesFor(const ReconException &exception) const;

public Q_SLOTS:
    void refresh(); // queue, chart, summary and proposals
    void bulkAssignSelected();
    void bulkAcceptSelected();
    void confirmSelectedProposal();
    // False when refused before sending (no note).
    bool rejectSelectedProposal();
    // The reversal request made for an exception resolves it (MainWindow links the dialog).
    void resolveByCorrection(qint64 exceptionId, qint64 reversalRequestId, qint64 expectedEvent);

Q_SIGNALS:
    // All on the GUI thread.
    void importRequested(const QString &path); // empty: choose a file in the dialog
    void correctionRequested(qint64 exceptionId, qint64 transactionId, qint64 expectedEvent);
    void agingLoaded();
    void summaryLoaded();
    void proposalsLoaded();
    void bulkFinished(int done, int refused);
    void proposalDecided(qint64 groupId, const QString &decision);
    void messageShown(const QString &text, bool problem);

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    QWidget *createQueue();
    QWidget *createChart();
    void currentChanged();
    void loadAging();
    void loadSummary();
    void loadProposals();
    void showMessage(const QString &text, bool problem);
    void actionFailed(qint64 exceptionId, const ledger::Error &error);
    QList<qint64> selectedIds() const;
    void decideProposal(const QString &decision, const QString &note);
    void runBulk(const QString &action, const QString &assignee, const QString &reason,
                 const QString &note);

    QPointer<ReconService> m_service;
    ReconExceptionModel *m_model = nullptr;
    ReconExceptionPanel *m_panel = nullptr;
    QList<ReconAgingBucket> m_aging;
    QList<ReconAccountStatus> m_status;
    QList<ReconProposal> m_proposalRows;
    qint64 m_reselect = 0; // the exception to select again once the queue reloaded

    QComboBox *m_typeFilter = nullptr;
    QLineEdit *m_accountFilter = nullptr;
    QComboBox *m_stateFilter = nullptr;
    QLineEdit *m_assigneeFilter = nullptr;
    QLineEdit *m_minAmount = nullptr;
    QLineEdit *m_maxAmount = nullptr;
    QComboBox *m_ageFilter = nullptr;
    QComboBox *m_overdueFilter = nullptr;
    QPushButton *m_import = nullptr;
    QTableView *m_queue = nullptr;
    QLabel *m_count = nullptr;
    QLineEdit *m_bulkAssignee = nullptr;
    QPushButton *m_bulkAssign = nullptr;
    QComboBox *m_bulkReason = nullptr;
    QLineEdit *m_bulkNote = nullptr;
    QPushButton *m_bulkAccept = nullptr;
    QTabWidget *m_lower = nullptr;
    QChartView *m_chart = nullptr;
    QStackedBarSeries *m_series = nullptr;
    QTableWidget *m_summary = nullptr;
    QTableWidget *m_proposals = nullptr;
    QPlainTextEdit *m_proposalNote = nullptr;
    QPushButton *m_confirm = nullptr;
    QPushButton *m_reject = nullptr;
    QLabel *m_message = nullptr;
};

} // namespace ledger
