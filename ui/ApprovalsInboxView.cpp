#include "ApprovalsInboxView.h"

#include "DisplayZone.h"

#include "ItemViews.h"

#include "BalanceImpactTable.h"

#include "ReversalInboxModel.h"
#include "async/WhenReady.h"
#include "console/ReversalService.h"

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMap>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QShowEvent>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>

#include <utility>

namespace ledger {

namespace {

// In the zone shown, with its offset (DisplayZone).
QString local(const QDateTime &t)
{
    return DisplayZone::instance()->format(t);
}

QTableWidgetItem *cell(const QString &text, bool right = false)
{
    auto *item = new QTableWidgetItem(text);
    if (right)
        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

const QColor Differs(0xff, 0xf0, 0xb3); // a pale amber: legible in light themes
const QColor Problem(0xb0, 0x3a, 0x2e);

} // namespace

ApprovalsInboxView::ApprovalsInboxView(ReversalService *service, QWidget *parent)
    : QWidget(parent)
    , m_service(service)
{
    // Another zone chosen in the View menu: the preview's times written again.
    connect(DisplayZone::instance(), &DisplayZone::changed, this, [this] {
        if (m_preview) {
            const ReversalPreview shown = *m_preview;
            showPreview(shown);
        }
    });
    setObjectName(QStringLiteral("approvalsInbox"));
    m_model = new ReversalInboxModel(service, this);
    auto *layout = new QVBoxLayout(this);

    // Filters: the server applies them.
    auto *filters = new QHBoxLayout;
    m_reasonFilter = new QComboBox(this);
    m_reasonFilter->setObjectName(QStringLiteral("reasonFilter"));
    m_reasonFilter->setAccessibleName(tr("Filter by reason"));
    m_reasonFilter->addItem(tr("any reason"), QString());
    m_requesterFilter = new QLineEdit(this);
    m_requesterFilter->setObjectName(QStringLiteral("requesterFilter"));
    m_requesterFilter->setPlaceholderText(tr("requested by"));
    m_accountFilter = new QLineEdit(this);
    m_accountFilter->setObjectName(QStringLiteral("accountFilter"));
    m_accountFilter->setPlaceholderText(tr("account code"));
    m_minAmount = new QLineEdit(this);
    m_minAmount->setObjectName(QStringLiteral("minAmountFilter"));
    m_minAmount->setPlaceholderText(tr("min amount"));
    m_maxAmount = new QLineEdit(this);
    m_maxAmount->setObjectName(QStringLiteral("maxAmountFilter"));
    m_maxAmount->setPlaceholderText(tr("max amount"));
    m_ageFilter = new QComboBox(this);
    m_ageFilter->setObjectName(QStringLiteral("ageFilter"));
    m_ageFilter->setAccessibleName(tr("Filter by age"));
    // Data: {min seconds, max seconds}, -1 = open.
    m_ageFilter->addItem(tr("any age"), QVariantList{-1, -1});
    m_ageFilter->addItem(tr("under an hour"), QVariantList{-1, 3600});
    m_ageFilter->addItem(tr("under a day"), QVariantList{-1, 86400});
    m_ageFilter->addItem(tr("over a day"), QVariantList{86400, -1});
    m_ageFilter->addItem(tr("over three days"), QVariantList{3 * 86400, -1});
    auto *apply = new QPushButton(tr("&Filter"), this);
    apply->setObjectName(QStringLiteral("applyFilters"));
    filters->addWidget(new QLabel(tr("Show:"), this));
    filters->addWidget(m_reasonFilter);
    filters->addWidget(m_requesterFilter, 1);
    filters->addWidget(m_accountFilter, 1);
    filters->addWidget(m_minAmount);
    filters->addWidget(m_maxAmount);
    filters->addWidget(m_ageFilter);
    filters->addWidget(apply);
    layout->addLayout(filters);
    connect(apply, &QPushButton::clicked, this, &ApprovalsInboxView::applyFilters);
    for (QLineEdit *e : {m_requesterFilter, m_accountFilter, m_minAmount, m_maxAmount})
        connect(e, &QLineEdit::returnPressed, this, &ApprovalsInboxView::applyFilters);
    connect(m_reasonFilter, &QComboBox::activated, this, &ApprovalsInboxView::applyFilters);
    connect(m_ageFilter, &QComboBox::activated, this, &ApprovalsInboxView::applyFilters);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    auto *left = new QWidget(splitter);
    auto *leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    m_table = new QTableView(left);
    m_table->setObjectName(QStringLiteral("inboxTable"));
    setUpServerSortedTable(m_table, m_model, ReversalInboxModel::RequestedAt,
                           tr("Pending reversal requests"));
    for (int c :
         {ReversalInboxModel::State, ReversalInboxModel::Reversal, ReversalInboxModel::Rebook})
        m_table->setColumnHidden(c, true); // all pending here; My requests shows them
    m_table->setColumnWidth(ReversalInboxModel::Id, 70);
    m_table->setColumnWidth(ReversalInboxModel::RequestedAt, 130);
    m_table->setColumnWidth(ReversalInboxModel::Transaction, 90);
    m_table->setColumnWidth(ReversalInboxModel::Reason, 150);
    m_table->setColumnWidth(ReversalInboxModel::Amount, 120);
    m_table->setColumnWidth(ReversalInboxModel::ExpiresAt, 130);
    leftLayout->addWidget(m_table, 1);
    auto *bulk = new QHBoxLayout;
    m_count = new QLabel(left);
    m_count->setObjectName(QStringLiteral("inboxCount"));
    m_bulkApprove = new QPushButton(tr("Approve &selected"), left);
    m_bulkApprove->setObjectName(QStringLiteral("bulkApprove"));
    m_bulkReject = new QPushButton(tr("Reject s&elected"), left);
    m_bulkReject->setObjectName(QStringLiteral("bulkReject"));
    m_progress = new QProgressBar(left);
    m_progress->setObjectName(QStringLiteral("bulkProgress"));
    m_progress->hide();
    bulk->addWidget(m_count, 1);
    bulk->addWidget(m_progress);
    bulk->addWidget(m_bulkApprove);
    bulk->addWidget(m_bulkReject);
    leftLayout->addLayout(bulk);

    auto *right = new QWidget(splitter);
    auto *detail = new QVBoxLayout(right);
    detail->setContentsMargins(0, 0, 0, 0);
    m_detailTitle = new QLabel(right);
    m_detailTitle->setObjectName(QStringLiteral("detailTitle"));
    m_detailText = new QLabel(right);
    m_detailText->setObjectName(QStringLiteral("detailText"));
    m_detailText->setWordWrap(true);
    m_detailText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_ownLabel = new QLabel(tr("You requested this; another supervisor must decide"), right);
    m_ownLabel->setObjectName(QStringLiteral("ownRequestLabel"));
    m_ownLabel->setStyleSheet(QStringLiteral("color: palette(mid); font-style: italic;"));
    m_ownLabel->hide();
    detail->addWidget(m_detailTitle);
    detail->addWidget(m_detailText);
    detail->addWidget(m_ownLabel);
    detail->addWidget(new QLabel(tr("<b>Original and correction</b>"), right));
    m_compare = makeReadOnlyTable(right, "compareLegs",
                                  {tr("Account"), tr("Original"), tr("Rebook"), tr("Cur.")},
                                  tr("The original's legs beside the rebook's"));
    detail->addWidget(m_compare, 1);
    detail->addWidget(new QLabel(tr("<b>Approving would post now</b>"), right));
    m_previewLegs = makeReadOnlyTable(right, "inboxPreviewLegs",
                                      {tr("Posting"), tr("Account"), tr("Amount"), tr("Cur.")},
                                      tr("What approving would post now"));
    detail->addWidget(m_previewLegs, 1);
    m_balances = makeReadOnlyTable(
        right, "inboxBalances", {tr("Account"), tr("Before"), tr("After"), tr("Cur."), QString()},
        tr("Balances before and after"));
    detail->addWidget(m_balances, 1);
    m_warnings = new QLabel(right);
    m_warnings->setObjectName(QStringLiteral("inboxWarnings"));
    m_warnings->setTextFormat(Qt::PlainText);
    m_warnings->setWordWrap(true);
    m_warnings->setStyleSheet(QStringLiteral("color: #b03a2e; font-weight: bold;"));
    m_warnings->hide();
    detail->addWidget(m_warnings);
    m_note = new QPlainTextEdit(right);
    m_note->setObjectName(QStringLiteral("decisionNote"));
    m_note->setAccessibleName(tr("Decision note (required to reject)"));
    m_note->setPlaceholderText(tr("Note for the decision (required to reject)"));
    m_note->setTabChangesFocus(true);
    m_note->setFixedHeight(fontMetrics().height() * 3 + 12);
    detail->addWidget(m_note);
    auto *decide = new QHBoxLayout;
    m_approve = new QPushButton(tr("&Approve"), right);
    m_approve->setObjectName(QStringLiteral("approveButton"));
    m_reject = new QPushButton(tr("&Reject"), right);
    m_reject->setObjectName(QStringLiteral("rejectButton"));
    auto *open = new QPushButton(tr("&Open transaction"), right);
    open->setObjectName(QStringLiteral("openOriginal"));
    decide->addWidget(open);
    decide->addStretch(1);
    decide->addWidget(m_reject);
    decide->addWidget(m_approve);
    detail->addLayout(decide);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    layout->addWidget(splitter, 1);

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("inboxMessage"));
    m_message->setTextFormat(Qt::PlainText);
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_message);

    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &ApprovalsInboxView::currentChanged);
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &ApprovalsInboxView::updateButtons);
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        m_currentId = 0;
        clearDetail(tr("Select a request to see what approving it would post."));
    });
    connect(m_model, &ReversalInboxModel::pageLoaded, this, [this](int, qint64 total) {
        m_count->setText(tr("%n pending request(s)", nullptr, int(total)));
        if (std::exchange(m_showingLoadError, false))
            showMessage(QString(), false); // loaded now: the old failure no longer holds
    });
    connect(m_model, &ReversalInboxModel::loadFailed, this, [this](const Error &e) {
        showMessage(e.message, true);
        m_showingLoadError = true;
    });
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex &i) {
        Q_EMIT openTransactionRequested(i.data(ReversalInboxModel::TransactionIdRole).toLongLong());
    });
    connect(open, &QPushButton::clicked, this, [this] {
        if (m_preview)
            Q_EMIT openTransactionRequested(m_preview->transactionId);
    });
    connect(m_note, &QPlainTextEdit::textChanged, this, &ApprovalsInboxView::updateButtons);
    connect(m_approve, &QPushButton::clicked, this, &ApprovalsInboxView::approveCurrent);
    connect(m_reject, &QPushButton::clicked, this, &ApprovalsInboxView::rejectCurrent);
    connect(m_bulkApprove, &QPushButton::clicked, this, [this] { decideSelected(true); });
    connect(m_bulkReject, &QPushButton::clicked, this, [this] { decideSelected(false); });
    if (m_service) {
        connect(m_service, &ReversalService::decideManyProgress, this, [this](int done, int total) {
            m_progress->setMaximum(total);
            m_progress->setValue(done);
        });
        whenReady(m_service->reasonCodes(), this, [this](const Result<QList<ReasonCode>> &r) {
            if (!r)
                return; // the filter keeps "any reason"; the table says what failed
            for (const ReasonCode &c : r.value())
                m_reasonFilter->addItem(c.code, c.code);
        });
    }
    clearDetail(tr("Select a request to see what approving it would post."));
    applyFilters();
}

void ApprovalsInboxView::refresh()
{
    m_model->refresh();
}

void ApprovalsInboxView::setFilterFields(const QString &reason, const QString &requester,
                                         const QString &account, const QString &minAmount,
                                         const QString &maxAmount)
{
    m_reasonFilter->setCurrentIndex(qMax(0, m_reasonFilter->findData(reason)));
    m_requesterFilter->setText(requester);
    m_accountFilter->setText(account);
    m_minAmount->setText(minAmount);
    m_maxAmount->setText(maxAmount);
}

void ApprovalsInboxView::applyFilters()
{
    ReversalInboxQuery q = m_model->query(); // keeps the sort
    q.states = {QStringLiteral("pending")};
    q.mineOnly = false;
    q.reasonCode = m_reasonFilter->currentData().toString();
    q.requestedBy = m_requesterFilter->text().trimmed();
    q.account = m_accountFilter->text().trimmed();
    q.minAmount = m_minAmount->text().trimmed();
    q.maxAmount = m_maxAmount->text().trimmed();
    const QVariantList age = m_ageFilter->currentData().toList();
    q.minAgeSeconds.reset();
    q.maxAgeSeconds.reset();
    if (age.size() == 2 && age[0].toLongLong() >= 0)
        q.minAgeSeconds = age[0].toLongLong();
    if (age.size() == 2 && age[1].toLongLong() >= 0)
        q.maxAgeSeconds = age[1].toLongLong();
    m_model->setQuery(q);
}

bool ApprovalsInboxView::selectRequest(qint64 requestId)
{
    const int row = m_model->rowOf(requestId);
    if (row < 0)
        return false;
    m_table->selectRow(row);
    m_table->setCurrentIndex(m_model->index(row, ReversalInboxModel::Id));
    return true;
}

void ApprovalsInboxView::clearDetail(const QString &text)
{
    ++m_generation;
    m_preview.reset();
    m_detailTitle->setText(tr("<b>No request selected</b>"));
    m_detailText->setText(text);
    m_ownLabel->hide();
    m_compare->setRowCount(0);
    m_previewLegs->setRowCount(0);
    m_balances->setRowCount(0);
    m_warnings->hide();
    updateButtons();
}

void ApprovalsInboxView::currentChanged()
{
    const QModelIndex i = m_table->currentIndex();
    if (!i.isValid()) {
        m_currentId = 0;
        clearDetail(tr("Select a request to see what approving it would post."));
        return;
    }
    const ReversalRequestRow &r = m_model->row(i.row());
    if (r.id == m_currentId && m_preview)
        return;
    clearDetail(tr("Loading the preview of request #%1…").arg(r.id));
    m_currentId = r.id;
    m_currentOwn = r.ownRequest;
    m_currentPending = r.state == QLatin1String("pending");
    m_decisionKey = ReversalService::newClientKey();
    m_detailTitle->setText(tr("<b>Request #%1</b> — %2 for transaction #%3")
                               .arg(r.id)
                               .arg(r.reasonCode.toHtmlEscaped())
                               .arg(r.transactionId));
    m_ownLabel->setVisible(r.ownRequest);
    if (!m_service)
        return;
    const quint64 generation = m_generation;
    const qint64 id = r.id;
    whenReady(m_service->preview(id), this,
              [this, generation, id](const Result<ReversalPreview> &result) {
                  if (generation != m_generation)
                      return; // another request was selected meanwhile
                  if (!result) {
                      m_detailText->setText(result.error().message);
                      return;
                  }
                  showPreview(result.value());
                  Q_EMIT previewLoaded(id);
              });
}

void ApprovalsInboxView::showPreview(const ReversalPreview &p)
{
    m_preview = p;
    m_detailText->setText(tr("Requested by %1 at %2; expires %3.\nOriginal: %4, effective %5.\n"
                             "Note: %6")
                              .arg(p.requestedBy, local(p.requestedAt), local(p.expiresAt),
                                   p.originalDescription, local(p.effectiveAt), p.note));
    m_detailText->setTextFormat(Qt::PlainText);

    // The original beside the correction, per account: a rebook's changes stand out.
    struct Pair
    {
        QString original, correction, currency;
    };
    QMap<QString, Pair> byAccount;
    for (const PreviewLeg &l : p.original) {
        byAccount[l.account].original = l.amount;
        byAccount[l.account].currency = l.currency;
    }
    for (const PreviewLeg &l : p.hasRebook ? p.rebook : QList<PreviewLeg>{}) {
        byAccount[l.account].correction = l.amount;
        byAccount[l.account].currency = l.currency;
    }
    m_compare->setColumnHidden(2, !p.hasRebook);
    m_compare->setRowCount(0);
    for (auto it = byAccount.constBegin(); it != byAccount.constEnd(); ++it) {
        const int row = m_compare->rowCount();
        m_compare->insertRow(row);
        m_compare->setItem(row, 0, cell(it.key()));
        m_compare->setItem(row, 1, cell(it->original, true));
        m_compare->setItem(row, 2, cell(it->correction, true));
        m_compare->setItem(row, 3, cell(it->currency));
        if (p.hasRebook && it->original != it->correction) {
            for (int c = 0; c < m_compare->columnCount(); ++c) {
                m_compare->item(row, c)->setBackground(Differs);
                m_compare->item(row, c)->setForeground(QColor(Qt::black));
                m_compare->item(row, c)->setToolTip(
                    tr("The rebook differs from the original here"));
            }
        }
    }
    m_compare->resizeColumnsToContents();

    m_previewLegs->setRowCount(0);
    auto addLegs = [this](const QString &posting, const QList<PreviewLeg> &legs) {
        for (const PreviewLeg &l : legs) {
            const int row = m_previewLegs->rowCount();
            m_previewLegs->insertRow(row);
            m_previewLegs->setItem(row, 0, cell(posting));
            m_previewLegs->setItem(row, 1, cell(l.account));
            m_previewLegs->setItem(row, 2, cell(l.amount, true));
            m_previewLegs->setItem(row, 3, cell(l.currency));
        }
    };
    addLegs(tr("reversal"), p.reversal);
    if (p.hasRebook)
        addLegs(tr("rebook"), p.rebook);
    m_previewLegs->resizeColumnsToContents();

    fillBalanceImpactTable(m_balances, p.balances);
    m_warnings->setText(p.warnings.join(QLatin1Char('\n')));
    m_warnings->setVisible(!p.warnings.isEmpty());
    updateButtons();
}

void ApprovalsInboxView::updateButtons()
{
    const bool noteGiven = !m_note->toPlainText().trimmed().isEmpty();
    const bool decidable = m_preview && m_currentPending && !m_currentOwn && !m_busy;
    m_approve->setEnabled(decidable && !m_preview->refused);
    m_reject->setEnabled(decidable && noteGiven);
    const QString own = tr("You requested this; another supervisor must decide");
    m_approve->setToolTip(m_currentOwn ? own : QString());
    m_reject->setToolTip(m_currentOwn ? own
                         : noteGiven  ? QString()
                                      : tr("A rejection needs a note: say why."));
    const bool anySelected = m_table->selectionModel()->hasSelection();
    m_bulkApprove->setEnabled(anySelected && !m_busy);
    m_bulkReject->setEnabled(anySelected && !m_busy && noteGiven);
    m_bulkReject->setToolTip(noteGiven ? QString() : tr("A rejection needs a note: say why."));
}

void ApprovalsInboxView::showMessage(const QString &text, bool problem)
{
    m_message->setText(text);
    m_message->setStyleSheet(problem ? QStringLiteral("color: #b03a2e;") : QString());
}

void ApprovalsInboxView::approveCurrent()
{
    if (!m_service || !m_preview || !m_approve->isEnabled())
        return;
    const qint64 id = m_currentId;
    m_busy = true;
    updateButtons();
    showMessage(tr("Approving request #%1…").arg(id), false);
    whenReady(
        m_service->approve(id, m_preview->digest, m_note->toPlainText().trimmed(), m_decisionKey),
        this, [this, id](const Result<ReversalDecision> &r) {
            m_busy = false;
            updateButtons();
            if (!r) {
                // Decided by someone else, expired, withdrawn, changed: show it as it
                // is now.
                showMessage(tr("Request #%1 was not approved: %2").arg(id).arg(r.error().message),
                            true);
                m_model->refresh();
                Q_EMIT decisionFailed(id, r.error());
                return;
            }
            const ReversalDecision &d = r.value();
            showMessage(d.rebookTransactionId
                            ? tr("Request #%1 approved: reversal #%2, rebook #%3.")
                                  .arg(id)
                                  .arg(d.reversalTransactionId)
                                  .arg(d.rebookTransactionId)
                            : tr("Request #%1 approved: reversal #%2.")
                                  .arg(id)
                                  .arg(d.reversalTransactionId),
                        false);
            m_note->clear();
            Q_EMIT decided(id, d);
        });
}

void ApprovalsInboxView::rejectCurrent()
{
    if (!m_service || !m_currentId || !m_reject->isEnabled())
        return;
    const QString note = m_note->toPlainText().trimmed();
    if (note.isEmpty()) {
        showMessage(tr("A rejection needs a note: say why."), true);
        return;
    }
    const qint64 id = m_currentId;
    m_busy = true;
    updateButtons();
    whenReady(m_service->reject(id, note, m_decisionKey), this,
              [this, id](const Result<ReversalDecision> &r) {
                  m_busy = false;
                  updateButtons();
                  if (!r) {
                      showMessage(
                          tr("Request #%1 was not rejected: %2").arg(id).arg(r.error().message),
                          true);
                      m_model->refresh();
                      Q_EMIT decisionFailed(id, r.error());
                      return;
                  }
                  showMessage(tr("Request #%1 rejected.").arg(id), false);
                  m_note->clear();
                  Q_EMIT decided(id, r.value());
              });
}

void ApprovalsInboxView::decideSelected(bool approve)
{
    if (!m_service || m_busy)
        return;
    QList<qint64> ids;
    for (const QModelIndex &i : m_table->selectionModel()->selectedRows())
        ids << i.data(ReversalInboxModel::RequestIdRole).toLongLong();
    std::sort(ids.begin(), ids.end());
    const QString note = m_note->toPlainText().trimmed();
    if (ids.isEmpty())
        return;
    if (!approve && note.isEmpty()) {
        showMessage(tr("A rejection needs a note: say why."), true);
        return;
    }
    m_busy = true;
    updateButtons();
    m_progress->setRange(0, int(ids.size()));
    m_progress->setValue(0);
    m_progress->show();
    showMessage(approve ? tr("Approving %n request(s)…", nullptr, int(ids.size()))
                        : tr("Rejecting %n request(s)…", nullptr, int(ids.size())),
                false);
    // One key per run: a rerun of the same batch decides nothing twice.
    whenReady(m_service->decideMany(ids, approve, note, ReversalService::newClientKey()), this,
              [this, approve](const Result<QList<BulkDecisionOutcome>> &r) {
                  m_busy = false;
                  m_progress->hide();
                  updateButtons();
                  if (!r) {
                      showMessage(r.error().message, true);
                      m_model->refresh();
                      return;
                  }
                  showBulkResult(r.value(), approve);
              });
}

void ApprovalsInboxView::showBulkResult(const QList<BulkDecisionOutcome> &outcomes, bool approve)
{
    int decided = 0;
    for (const BulkDecisionOutcome &o : outcomes)
        decided += o.decided ? 1 : 0;
    const int refused = int(outcomes.size()) - decided;
    if (m_bulkResult)
        m_bulkResult->deleteLater();
    auto *dialog = new QDialog(this);
    dialog->setObjectName(QStringLiteral("bulkResult"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(approve ? tr("Bulk approval") : tr("Bulk rejection"));
    auto *layout = new QVBoxLayout(dialog);
    auto *summary = new QLabel(tr("%1 decided, %2 refused.").arg(decided).arg(refused), dialog);
    summary->setObjectName(QStringLiteral("bulkSummary"));
    layout->addWidget(summary);
    auto *table =
        makeReadOnlyTable(dialog, "bulkOutcomes", {tr("Request"), tr("Outcome"), tr("Detail")},
                          tr("What each request came to"));
    // Refusals first: they are what needs reading.
    QList<BulkDecisionOutcome> sorted = outcomes;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto &a, const auto &b) { return !a.decided && b.decided; });
    for (const BulkDecisionOutcome &o : sorted) {
        const int row = table->rowCount();
        table->insertRow(row);
        table->setItem(row, 0, cell(QString::number(o.requestId), true));
        table->setItem(row, 1, cell(o.decided ? o.decision.decision : tr("refused")));
        QString detail;
        if (!o.decided)
            detail = o.error.message;
        else if (o.decision.reversalTransactionId)
            detail = tr("reversal #%1").arg(o.decision.reversalTransactionId);
        table->setItem(row, 2, cell(detail));
        if (!o.decided) {
            for (int c = 0; c < 3; ++c)
                table->item(row, c)->setForeground(Problem);
        }
    }
    table->resizeColumnsToContents();
    layout->addWidget(table, 1);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    layout->addWidget(buttons);
    dialog->resize(640, 420);
    m_bulkResult = dialog;
    dialog->show();
    showMessage(tr("%1 decided, %2 refused.").arg(decided).arg(refused), refused > 0);
    Q_EMIT bulkFinished(decided, refused);
}

void ApprovalsInboxView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (!event->spontaneous() && !m_model->isLoading())
        refresh();
}

} // namespace ledger
