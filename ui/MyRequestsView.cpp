#include "MyRequestsView.h"

#include "ReversalInboxModel.h"
#include "async/WhenReady.h"
#include "console/ReversalService.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QShowEvent>
#include <QTableView>
#include <QVBoxLayout>

#include <utility>

namespace ledger {

MyRequestsView::MyRequestsView(ReversalService *service, QWidget *parent)
    : QWidget(parent)
    , m_service(service)
{
    setObjectName(QStringLiteral("myRequests"));
    m_model = new ReversalInboxModel(service, this);
    auto *layout = new QVBoxLayout(this);

    auto *top = new QHBoxLayout;
    m_state = new QComboBox(this);
    m_state->setObjectName(QStringLiteral("stateFilter"));
    m_state->setAccessibleName(tr("Filter by state"));
    m_state->addItem(tr("every state"), QString());
    for (const char *s : {"pending", "approved", "rejected", "withdrawn", "expired"})
        m_state->addItem(tr(s), QLatin1String(s));
    m_count = new QLabel(this);
    m_count->setObjectName(QStringLiteral("myRequestsCount"));
    top->addWidget(new QLabel(tr("My reversal requests:"), this));
    top->addWidget(m_state);
    top->addStretch(1);
    top->addWidget(m_count);
    layout->addLayout(top);

    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("myRequestsTable"));
    m_table->setAccessibleName(tr("My reversal requests"));
    m_table->setModel(m_model);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(ReversalInboxModel::RequestedAt, Qt::DescendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setColumnHidden(ReversalInboxModel::Requester, true); // always the operator
    m_table->setColumnWidth(ReversalInboxModel::Id, 70);
    m_table->setColumnWidth(ReversalInboxModel::RequestedAt, 130);
    m_table->setColumnWidth(ReversalInboxModel::Reason, 150);
    m_table->setColumnWidth(ReversalInboxModel::Amount, 120);
    m_table->setToolTip(tr("Double-click: the reversal or rebook from their columns, the "
                           "original transaction from the others."));
    layout->addWidget(m_table, 1);

    auto *bottom = new QHBoxLayout;
    m_note = new QLineEdit(this);
    m_note->setObjectName(QStringLiteral("withdrawNote"));
    m_note->setPlaceholderText(tr("Why you withdraw the selected pending request"));
    m_withdraw = new QPushButton(tr("&Withdraw"), this);
    m_withdraw->setObjectName(QStringLiteral("withdrawButton"));
    m_audit = new QPushButton(tr("Audi&t events"), this);
    m_audit->setObjectName(QStringLiteral("auditEventsButton"));
    m_audit->setToolTip(tr("The selected request's events in the audit log (auditors)."));
    bottom->addWidget(m_note, 1);
    bottom->addWidget(m_withdraw);
    bottom->addWidget(m_audit);
    layout->addLayout(bottom);
    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("myRequestsMessage"));
    m_message->setTextFormat(Qt::PlainText);
    m_message->setWordWrap(true);
    layout->addWidget(m_message);

    connect(m_state, &QComboBox::currentIndexChanged, this, &MyRequestsView::applyState);
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MyRequestsView::updateButtons);
    connect(m_model, &QAbstractItemModel::modelReset, this, &MyRequestsView::updateButtons);
    connect(m_model, &ReversalInboxModel::pageLoaded, this, [this](int, qint64 total) {
        m_count->setText(tr("%n request(s)", nullptr, int(total)));
        if (std::exchange(m_showingLoadError, false))
            showMessage(QString(), false); // loaded now: the old failure no longer holds
    });
    connect(m_model, &ReversalInboxModel::loadFailed, this, [this](const Error &e) {
        showMessage(e.message, true);
        m_showingLoadError = true;
    });
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex &i) {
        if (const qint64 id = transactionAt(i))
            Q_EMIT openTransactionRequested(id);
    });
    connect(m_withdraw, &QPushButton::clicked, this, &MyRequestsView::withdrawCurrent);
    connect(m_audit, &QPushButton::clicked, this, [this] {
        const QModelIndex i = m_table->currentIndex();
        if (i.isValid())
            Q_EMIT openAuditEventsRequested(
                QStringLiteral("reversal_request"),
                QString::number(i.data(ReversalInboxModel::RequestIdRole).toLongLong()));
    });
    connect(m_note, &QLineEdit::returnPressed, this, &MyRequestsView::withdrawCurrent);
    applyState();
}

qint64 MyRequestsView::transactionAt(const QModelIndex &index)
{
    switch (index.column()) {
    case ReversalInboxModel::Reversal:
        return index.data(ReversalInboxModel::ReversalTransactionIdRole).toLongLong();
    case ReversalInboxModel::Rebook:
        return index.data(ReversalInboxModel::RebookTransactionIdRole).toLongLong();
    default:
        return index.data(ReversalInboxModel::TransactionIdRole).toLongLong();
    }
}

void MyRequestsView::applyState()
{
    ReversalInboxQuery q = m_model->query(); // keeps the sort
    q.mineOnly = true;
    const QString state = m_state->currentData().toString();
    q.states = state.isEmpty() ? QStringList() : QStringList{state};
    m_model->setQuery(q);
}

void MyRequestsView::refresh()
{
    m_model->refresh();
}

bool MyRequestsView::selectRequest(qint64 requestId)
{
    const int row = m_model->rowOf(requestId);
    if (row < 0)
        return false;
    m_table->setCurrentIndex(m_model->index(row, ReversalInboxModel::Id));
    return true;
}

void MyRequestsView::updateButtons()
{
    const QModelIndex i = m_table->currentIndex();
    const bool pending =
        i.isValid() && i.data(ReversalInboxModel::StateRole).toString() == QLatin1String("pending");
    m_withdraw->setEnabled(pending && !m_busy);
    m_note->setEnabled(pending);
    m_audit->setEnabled(i.isValid());
}

void MyRequestsView::showMessage(const QString &text, bool problem)
{
    m_message->setText(text);
    m_message->setStyleSheet(problem ? QStringLiteral("color: #b03a2e;") : QString());
}

void MyRequestsView::withdrawCurrent()
{
    const QModelIndex i = m_table->currentIndex();
    if (!m_service || m_busy || !i.isValid() || !m_withdraw->isEnabled())
        return;
    const qint64 id = i.data(ReversalInboxModel::RequestIdRole).toLongLong();
    if (m_keyFor != id) {
        m_keyFor = id;
        m_withdrawKey = ReversalService::newClientKey();
    }
    m_busy = true;
    updateButtons();
    whenReady(m_service->withdraw(id, m_note->text().trimmed(), m_withdrawKey), this,
              [this, id](const Result<ReversalDecision> &r) {
                  m_busy = false;
                  updateButtons();
                  if (!r) {
                      showMessage(
                          tr("Request #%1 was not withdrawn: %2").arg(id).arg(r.error().message),
                          true);
                      m_model->refresh();
                      Q_EMIT withdrawFailed(id, r.error());
                      return;
                  }
                  showMessage(tr("Request #%1 withdrawn.").arg(id), false);
                  m_note->clear();
                  Q_EMIT withdrawn(id);
              });
}

void MyRequestsView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (!event->spontaneous() && !m_model->isLoading())
        refresh();
}

} // namespace ledger
