#include "TransactionDetailDialog.h"

#include "DisplayZone.h"

#include "ItemViews.h"

#include "async/WhenReady.h"
#include "console/LedgerService.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ledger {

namespace {

// In the zone shown, with its offset (DisplayZone).
QString local(const QDateTime &t)
{
    return DisplayZone::instance()->format(t);
}

void fill(QTableWidget *t, const QList<QStringList> &rows, int rightAligned = -1)
{
    t->setRowCount(int(rows.size()));
    for (int r = 0; r < rows.size(); ++r)
        for (int c = 0; c < rows[r].size(); ++c) {
            auto *item = new QTableWidgetItem(rows[r][c]);
            if (c == rightAligned)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            t->setItem(r, c, item);
        }
    t->resizeColumnsToContents();
}

} // namespace

TransactionDetailDialog::TransactionDetailDialog(LedgerService *ledger, qint64 transactionId,
                                                 QWidget *parent)
    : QDialog(parent)
    , m_ledger(ledger)
{
    setObjectName(QStringLiteral("transactionDetail"));
    setAttribute(Qt::WA_DeleteOnClose);
    resize(820, 600);
    // Another zone chosen in the View menu: the same transaction, its times written again.
    connect(DisplayZone::instance(), &DisplayZone::changed, this, [this] {
        if (m_detail.id) {
            const TransactionDetail shown = m_detail;
            present(shown, /*announce=*/false);
        }
    });
    auto *layout = new QVBoxLayout(this);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("transactionSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    layout->addWidget(m_summary);

    auto *links = new QHBoxLayout;
    m_reversedLink = new QPushButton(this);
    m_reversedLink->setObjectName(QStringLiteral("reversedLink"));
    m_reversalLink = new QPushButton(this);
    m_reversalLink->setObjectName(QStringLiteral("reversalLink"));
    connect(m_reversedLink, &QPushButton::clicked, this,
            [this] { showTransaction(m_detail.reverses); });
    connect(m_reversalLink, &QPushButton::clicked, this,
            [this] { showTransaction(m_detail.reversedBy); });
    links->addWidget(m_reversedLink);
    links->addWidget(m_reversalLink);
    links->addStretch(1);
    m_requestReversal = new QPushButton(tr("Request &reversal…"), this);
    m_requestReversal->setObjectName(QStringLiteral("requestReversal"));
    m_requestReversal->setEnabled(false); // until the transaction is here
    connect(m_requestReversal, &QPushButton::clicked, this,
            [this] { Q_EMIT reversalRequested(m_detail.id); });
    links->addWidget(m_requestReversal);
    layout->addLayout(links);

    layout->addWidget(new QLabel(tr("<b>Legs</b>"), this));
    m_legs = makeReadOnlyTable(
        this, "transactionLegs",
        {tr("Account"), tr("Name"), tr("Side"), tr("Amount"), tr("Currency"), tr("Entry")},
        tr("Legs of the transaction"));
    layout->addWidget(m_legs, 2);
    layout->addWidget(new QLabel(tr("<b>Reversal requests and decisions</b>"), this));
    m_requests = makeReadOnlyTable(this, "transactionRequests",
                                   {tr("Request"), tr("Reason"), tr("Requested by"),
                                    tr("Requested at"), tr("State"), tr("Decided by"),
                                    tr("Decided at"), tr("Rebook"), tr("Notes")},
                                   tr("Reversal requests and decisions"));
    layout->addWidget(m_requests, 1);
    layout->addWidget(new QLabel(tr("<b>Audit events</b>"), this));
    m_auditNote = new QLabel(this);
    m_auditNote->setObjectName(QStringLiteral("auditNote"));
    layout->addWidget(m_auditNote);
    m_audit = makeReadOnlyTable(
        this, "transactionAudit",
        {tr("Event"), tr("When"), tr("Operator"), tr("Action"), tr("Object"), tr("Details")},
        tr("Audit events of the transaction"));
    layout->addWidget(m_audit, 2);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    showTransaction(transactionId);
}

void TransactionDetailDialog::showTransaction(qint64 transactionId)
{
    if (!m_ledger || transactionId <= 0)
        return;
    const quint64 generation = ++m_generation;
    setWindowTitle(tr("Transaction #%1").arg(transactionId));
    m_summary->setText(tr("Loading transaction #%1…").arg(transactionId));
    m_reversalLink->hide();
    m_reversedLink->hide();
    whenReady(m_ledger->transactionDetail(transactionId), this,
              [this, generation](const Result<TransactionDetail> &result) {
                  if (generation != m_generation)
                      return;
                  if (!result) {
                      m_summary->setText(result.error().message);
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  present(result.value());
              });
}

void TransactionDetailDialog::present(const TransactionDetail &d, bool announce)
{
    m_detail = d;
    setWindowTitle(tr("Transaction #%1").arg(d.id));
    m_summary->setText(
        tr("<b>#%1</b> %2 — %3<br>Effective %4, recorded %5%6<br>Reference: %7 · Key: %8 · "
           "Posted by %9")
            .arg(d.id)
            .arg(d.kind.toHtmlEscaped(), d.description.toHtmlEscaped(), local(d.effectiveAt),
                 local(d.recordedAt),
                 d.recordedAt.toMSecsSinceEpoch() - d.effectiveAt.toMSecsSinceEpoch() > 300000
                     ? tr(" (backdated)")
                     : QString(),
                 d.externalRef.isEmpty() ? tr("none") : d.externalRef.toHtmlEscaped(),
                 d.idempotencyKey.toHtmlEscaped(), d.createdBy.toHtmlEscaped()));
    m_reversedLink->setVisible(d.reverses != 0);
    m_reversedLink->setText(tr("Reversal of #%1 — open").arg(d.reverses));
    m_reversedLink->setAccessibleName(tr("Open the reversed transaction #%1").arg(d.reverses));
    m_reversalLink->setVisible(d.reversedBy != 0);
    m_reversalLink->setText(tr("Reversed by #%1 — open").arg(d.reversedBy));
    m_reversalLink->setAccessibleName(tr("Open the reversal #%1").arg(d.reversedBy));
    // A transaction is reversed at most once; a pending request already asks for it.
    bool pending = false;
    for (const ReversalRequestInfo &r : d.requests)
        pending = pending || r.state == QLatin1String("pending");
    m_requestReversal->setEnabled(d.reversedBy == 0 && !pending);
    m_requestReversal->setToolTip(d.reversedBy ? tr("Already reversed by #%1").arg(d.reversedBy)
                                  : pending    ? tr("A reversal request is pending")
                                               : QString());

    QList<QStringList> legs;
    for (const TransactionLeg &l : d.legs)
        legs.append({l.account, l.accountName, l.side, l.amount, l.currency,
                     QString::number(l.accountSeq)});
    fill(m_legs, legs, 3);
    QList<QStringList> requests;
    for (const ReversalRequestInfo &r : d.requests) {
        QString notes = r.note;
        if (!r.decisionNote.isEmpty())
            notes += QStringLiteral(" / ") + r.decisionNote;
        if (r.reversalTransactionId)
            notes += tr(" → reversal #%1").arg(r.reversalTransactionId);
        if (r.rebookTransactionId)
            notes += tr(", rebook #%1").arg(r.rebookTransactionId);
        QStringList rebook;
        for (const TransactionLeg &l : r.rebookLegs)
            rebook << QStringLiteral("%1 %2 %3").arg(l.account, l.amount, l.currency);
        const QString rebookText = rebook.isEmpty() ? QString()
                                                    : tr("%1 (effective %2)")
                                                          .arg(rebook.join(QStringLiteral(", ")),
                                                               local(r.rebookEffectiveAt));
        const QString state = r.state == QLatin1String("pending") && r.expiresAt.isValid()
                                  ? tr("pending, expires %1").arg(local(r.expiresAt))
                                  : r.state;
        requests.append({QString::number(r.id),
                         r.rebook ? tr("%1 (rebook)").arg(r.reason) : r.reason, r.requestedBy,
                         local(r.requestedAt), state, r.decidedBy, local(r.decidedAt), rebookText,
                         notes});
    }
    fill(m_requests, requests);
    if (!d.auditVisible) {
        m_auditNote->setText(tr("Your role may not read the audit log; an auditor can."));
        m_audit->hide();
    } else {
        m_auditNote->setText(d.auditEvents.isEmpty() ? tr("No audit events name this transaction "
                                                          "(bulk loads are audited once per load).")
                                                     : QString());
        m_audit->show();
        QList<QStringList> events;
        for (const AuditEventInfo &e : d.auditEvents)
            events.append({QString::number(e.id), local(e.occurredAt), e.operatorName, e.action,
                           e.objectType + QLatin1Char(' ') + e.objectId, e.details});
        fill(m_audit, events);
    }
    if (announce)
        Q_EMIT loaded(d.id);
}

} // namespace ledger
