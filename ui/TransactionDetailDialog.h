#pragma once

#include "domain/Error.h"
#include "domain/Timeline.h"

#include <QDialog>
#include <QPointer>

class QLabel;
class QPushButton;
class QTableWidget;

namespace ledger {

class LedgerService;

// One transaction: its fields, all its legs, links to the reversal or the reversed
// transaction (which open in this dialog), its reversal requests and decisions, and its
// audit events when the signed-in role may read the audit log. Loads through the ledger service.
class TransactionDetailDialog : public QDialog
{
    Q_OBJECT

public:
    TransactionDetailDialog(LedgerService *ledger, qint64 transactionId, QWidget *parent = nullptr);

    void showTransaction(qint64 transactionId);
    const TransactionDetail &detail() const { return m_detail; }
    QPushButton *reversalLink() const { return m_reversalLink; }
    QPushButton *reversedLink() const { return m_reversedLink; }
    QPushButton *requestReversalButton() const { return m_requestReversal; }

Q_SIGNALS:
    void loaded(qint64 transactionId);
    void loadFailed(const ledger::Error &error);
    // "Request reversal…": whoever holds the reversal service opens the request dialog.
    void reversalRequested(qint64 transactionId);

private:
    // announce: emit loaded() (not when the same transaction is only written again).
    void present(const TransactionDetail &d, bool announce = true);

    QPointer<LedgerService> m_ledger;
    quint64 m_generation = 0;
    TransactionDetail m_detail;
    QLabel *m_summary = nullptr;
    QPushButton *m_reversalLink = nullptr; // "reversed by #n"
    QPushButton *m_reversedLink = nullptr; // "reversal of #n"
    QPushButton *m_requestReversal = nullptr;
    QTableWidget *m_legs = nullptr;
    QTableWidget *m_requests = nullptr;
    QTableWidget *m_audit = nullptr;
    QLabel *m_auditNote = nullptr;
};

} // namespace ledger
