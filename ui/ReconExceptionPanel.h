#pragma once

#include "domain/Error.h"
#include "domain/Recon.h"
#include "domain/Result.h"

#include <QFuture>
#include <QPointer>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTableWidget;

namespace ledger {

class ReconService;

// The side-by-side view of one reconciliation exception: the statement line and the ledger
// entry compared field by field (amount, date, reference, counterparty), differences
// highlighted, and the candidates the server scored for it (unmatched entries near a line,
// or unmatched lines near an entry) with their differences and score. Above them the steps:
// assign; a manual match of the exception's line (or entry) with the checked candidates,
// whose sums are shown and must agree within the bank account's tolerance before anything is
// sent; a correcting posting through the reversal workflow (correctionRequested); accept
// with a reason code and a note; reopen. Each step names the last event seen, so a step on a
// row someone else changed meanwhile is refused by the server (LG084) and reported through
// actionFailed. GUI thread; every call goes through the ReconService.
class ReconExceptionPanel : public QWidget
{
    Q_OBJECT

public:
    enum CandidateColumn {
        Pick,
        CandidateId,
        Date,
        Amount,
        Reference,
        Text,
        AmountDifference,
        DayDifference,
        Score,
        CandidateColumnCount
    };
    enum CompareRow { CompareAmount, CompareDate, CompareReference, CompareParty, CompareRowCount };

    explicit ReconExceptionPanel(ReconService *service, QWidget *parent = nullptr);

    // Shows the exception and asks the server for its candidates (candidatesLoaded tells).
    // rules: the mapped bank account's tolerance (ReconAccountStatus), if known.
    void showException(const ledger::ReconException &exception,
                       const ledger::ReconAccountStatus &rules);
    void clear(const QString &text);
    qint64 exceptionId() const { return m_exception.id; }
    const ReconException &exception() const { return m_exception; }
    const QList<ReconCandidate> &candidates() const { return m_candidates; }
    // Lines matched from a line or entries from an entry: the candidates checked.
    void setCandidateChecked(int row, bool checked);
    QList<qint64> checkedCandidates() const;
    // The sum of the checked candidates and whether it agrees with the exception's own
    // amount within the tolerance.
    qint64 checkedSum() const;
    bool sumsAgree() const;
    qint64 tolerance() const;

    QTableWidget *compareTable() const { return m_compare; }
    QTableWidget *candidateTable() const { return m_table; }
    QLabel *sumLabel() const { return m_sum; }
    QPlainTextEdit *noteEdit() const { return m_note; }
    QLineEdit *assigneeEdit() const { return m_assignee; }
    QComboBox *reasonBox() const { return m_reason; }
    QPushButton *assignButton() const { return m_assign; }
    QPushButton *matchButton() const { return m_match; }
    QPushButton *correctionButton() const { return m_correction; }
    QPushButton *acceptButton() const { return m_accept; }
    QPushButton *reopenButton() const { return m_reopen; }
    // Where a correction is requested (the reversal workflow is in this console).
    void setCorrectionsAvailable(bool available);

    // Highlight of a cell that differs from the exception's side.
    static QColor differsColor();
    // Fills a combo box with the server's accept reasons ("CODE: description").
    static void fillReasons(QComboBox *box, const QStringList &reasons);

public Q_SLOTS:
    void assignCurrent();
    // False when refused before sending (nothing checked, no note, sums differ).
    bool matchChecked();
    void acceptCurrent();
    void reopenCurrent();
    // A reversal request made for this exception's transaction resolves it (Step 7 link).
    void resolveByCorrection(qint64 exceptionId, qint64 reversalRequestId, qint64 expectedEvent);

Q_SIGNALS:
    // All on the GUI thread.
    void candidatesLoaded(qint64 exceptionId);
    void refusedBeforeSending(const QString &why);
    void acted(qint64 exceptionId, const QString &what);
    void actionFailed(qint64 exceptionId, const ledger::Error &error);
    void correctionRequested(qint64 exceptionId, qint64 transactionId, qint64 expectedEvent);

private:
    void fillCompare();
    void fillCandidates();
    void updateSum();
    void updateButtons();
    void setBusy(bool busy);
    bool lineSide() const; // the exception is about a statement line (candidates are entries)
    template <class T> void act(QFuture<Result<T>> future, const QString &what, qint64 id);
    QString money(qint64 minor) const;

    QPointer<ReconService> m_service;
    ReconException m_exception;
    ReconAccountStatus m_rules;
    QList<ReconCandidate> m_candidates;
    quint64 m_generation = 0;
    bool m_busy = false;
    bool m_correctionsAvailable = false;

    QLabel *m_title = nullptr;
    QLabel *m_detail = nullptr;
    QTableWidget *m_compare = nullptr;
    QTableWidget *m_table = nullptr;
    QLabel *m_sum = nullptr;
    QLineEdit *m_assignee = nullptr;
    QPushButton *m_assign = nullptr;
    QComboBox *m_reason = nullptr;
    QPlainTextEdit *m_note = nullptr;
    QPushButton *m_match = nullptr;
    QPushButton *m_correction = nullptr;
    QPushButton *m_accept = nullptr;
    QPushButton *m_reopen = nullptr;
};

} // namespace ledger
