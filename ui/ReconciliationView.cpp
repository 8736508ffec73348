#include "ReconciliationView.h"

#include "DisplayZone.h"

#include "ItemViews.h"

#include "ReconExceptionModel.h"
#include "ReconExceptionPanel.h"
#include "async/WhenReady.h"
#include "console/ReconService.h"
#include "domain/Money.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QStackedBarSeries>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include <cmath>

namespace ledger {

namespace {

const QStringList kTypes{
    QStringLiteral("missing_in_ledger"), QStringLiteral("missing_in_statement"),
    QStringLiteral("amount_mismatch"),   QStringLiteral("date_out_of_tolerance"),
    QStringLiteral("duplicate_line"),    QStringLiteral("statement_unbalanced")};
// recon.exception_aging's buckets, youngest first.
const QStringList kBuckets{QStringLiteral("0-2 days"), QStringLiteral("3-7 days"),
                           QStringLiteral("8-30 days"), QStringLiteral("over 30 days")};

QTableWidgetItem *cell(const QString &text, bool right = false)
{
    auto *i = new QTableWidgetItem(text);
    if (right)
        i->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return i;
}

QString ids(const QList<qint64> &list)
{
    QStringList out;
    for (qint64 id : list)
        out << QString::number(id);
    return out.join(QStringLiteral(", "));
}

// The first local file a drag carries, or empty.
QString localFileOf(const QMimeData *mime)
{
    if (!mime || !mime->hasUrls())
        return {};
    for (const QUrl &url : mime->urls()) {
        if (url.isLocalFile() && QFileInfo(url.toLocalFile()).isFile())
            return url.toLocalFile();
    }
    return {};
}

} // namespace

ReconciliationView::ReconciliationView(ReconService *service, QWidget *parent)
    : QWidget(parent)
    , m_service(service)
{
    setObjectName(QStringLiteral("reconciliationView"));
    // Another zone chosen in the View menu: the proposals' times asked for again (the
    // exceptions table's model rewrites its own).
    connect(DisplayZone::instance(), &DisplayZone::changed, this, [this] {
        if (m_proposals && m_proposals->rowCount() > 0)
            loadProposals();
    });
    setAcceptDrops(true); // a bank file dropped on this tab is imported (see dropEvent)
    m_model = new ReconExceptionModel(service, this);
    auto *layout = new QVBoxLayout(this);

    // Filters: the server applies them.
    auto *filters = new QHBoxLayout;
    m_typeFilter = new QComboBox(this);
    m_typeFilter->setObjectName(QStringLiteral("typeFilter"));
    m_typeFilter->setAccessibleName(tr("Filter by type"));
    m_typeFilter->addItem(tr("any type"), QString());
    for (const QString &t : kTypes)
        m_typeFilter->addItem(ReconExceptionModel::typeLabel(t), t);
    m_accountFilter = new QLineEdit(this);
    m_accountFilter->setObjectName(QStringLiteral("accountFilter"));
    m_accountFilter->setPlaceholderText(tr("account code"));
    m_stateFilter = new QComboBox(this);
    m_stateFilter->setObjectName(QStringLiteral("stateFilter"));
    m_stateFilter->setAccessibleName(tr("Filter by state"));
    m_stateFilter->addItem(tr("open and assigned"), QStringLiteral("working"));
    m_stateFilter->addItem(tr("resolved and accepted"), QStringLiteral("closed"));
    m_stateFilter->addItem(tr("all states"), QStringLiteral("all"));
    m_assigneeFilter = new QLineEdit(this);
    m_assigneeFilter->setObjectName(QStringLiteral("assigneeFilter"));
    m_assigneeFilter->setPlaceholderText(tr("assignee"));
    m_minAmount = new QLineEdit(this);
    m_minAmount->setObjectName(QStringLiteral("minAmountFilter"));
    m_minAmount->setPlaceholderText(tr("min amount"));
    m_maxAmount = new QLineEdit(this);
    m_maxAmount->setObjectName(QStringLiteral("maxAmountFilter"));
    m_maxAmount->setPlaceholderText(tr("max amount"));
    m_ageFilter = new QComboBox(this);
    m_ageFilter->setObjectName(QStringLiteral("ageFilter"));
    m_ageFilter->setAccessibleName(tr("Filter by age"));
    m_ageFilter->addItem(tr("any age"), 0);
    m_ageFilter->addItem(tr("3 days and older"), 3);
    m_ageFilter->addItem(tr("8 days and older"), 8);
    m_ageFilter->addItem(tr("31 days and older"), 31);
    m_overdueFilter = new QComboBox(this);
    m_overdueFilter->setObjectName(QStringLiteral("overdueFilter"));
    m_overdueFilter->setAccessibleName(tr("Filter by due date"));
    m_overdueFilter->addItem(tr("due or not"), -1);
    m_overdueFilter->addItem(tr("overdue only"), 1);
    m_overdueFilter->addItem(tr("not overdue"), 0);
    auto *apply = new QPushButton(tr("&Filter"), this);
    apply->setObjectName(QStringLiteral("applyFilters"));
    m_import = new QPushButton(tr("&Import bank statement…"), this);
    m_import->setObjectName(QStringLiteral("importButton"));
    m_import->setToolTip(tr("Or drop a camt.053, MT940 or CSV file on this tab"));
    filters->addWidget(new QLabel(tr("Show:"), this));
    filters->addWidget(m_typeFilter);
    filters->addWidget(m_stateFilter);
    filters->addWidget(m_accountFilter, 1);
    filters->addWidget(m_assigneeFilter, 1);
    filters->addWidget(m_minAmount);
    filters->addWidget(m_maxAmount);
    filters->addWidget(m_ageFilter);
    filters->addWidget(m_overdueFilter);
    filters->addWidget(apply);
    filters->addSpacing(12);
    filters->addWidget(m_import);
    layout->addLayout(filters);
    connect(apply, &QPushButton::clicked, this, &ReconciliationView::applyFilters);
    for (QLineEdit *e : {m_accountFilter, m_assigneeFilter, m_minAmount, m_maxAmount})
        connect(e, &QLineEdit::returnPressed, this, &ReconciliationView::applyFilters);
    for (QComboBox *c : {m_typeFilter, m_stateFilter, m_ageFilter, m_overdueFilter})
        connect(c, &QComboBox::activated, this, &ReconciliationView::applyFilters);
    connect(m_import, &QPushButton::clicked, this, [this] { Q_EMIT importRequested(QString()); });

    auto *vertical = new QSplitter(Qt::Vertical, this);
    auto *top = new QSplitter(Qt::Horizontal, vertical);
    top->addWidget(createQueue());
    m_panel = new ReconExceptionPanel(service, top);
    top->addWidget(m_panel);
    top->setStretchFactor(0, 11);
    top->setStretchFactor(1, 9);
    m_lower = new QTabWidget(vertical);
    m_lower->setObjectName(QStringLiteral("reconLowerTabs"));
    m_lower->addTab(createChart(), tr("A&ging"));
    m_summary =
        makeReadOnlyTable(m_lower, "reconSummary",
                          {tr("Account"), tr("Bank account"), tr("Cur."), tr("Statements"),
                           tr("Lines"), tr("Matched"), tr("Proposed"), tr("Last statement"),
                           tr("Closing date"), tr("Bank closing"), tr("Ledger at closing"),
                           tr("Balances"), tr("Last agreed"), tr("Open items"), tr("Overdue")},
                          tr("Reconciliation per mapped bank account"));
    m_summary->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_summary->horizontalHeader()->setStretchLastSection(true);
    m_lower->addTab(m_summary, tr("S&ummary"));
    auto *proposals = new QWidget(m_lower);
    auto *proposalLayout = new QVBoxLayout(proposals);
    m_proposals =
        makeReadOnlyTable(proposals, "proposalTable",
                          {tr("Group"), tr("Rule"), tr("Score"), tr("Account"), tr("Lines"),
                           tr("Entries"), tr("Lines sum"), tr("Entries sum"), tr("Proposed")},
                          tr("Matches waiting for an operator"));
    m_proposals->setSelectionMode(QAbstractItemView::SingleSelection);
    m_proposals->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_proposals->horizontalHeader()->setStretchLastSection(true);
    proposalLayout->addWidget(m_proposals, 1);
    auto *decide = new QHBoxLayout;
    m_proposalNote = new QPlainTextEdit(proposals);
    m_proposalNote->setObjectName(QStringLiteral("proposalNote"));
    m_proposalNote->setAccessibleName(tr("Note for the decision (required to reject)"));
    m_proposalNote->setPlaceholderText(tr("Note (required to reject)"));
    m_proposalNote->setTabChangesFocus(true);
    m_proposalNote->setFixedHeight(fontMetrics().height() * 2 + 14);
    m_confirm = new QPushButton(tr("&Confirm match"), proposals);
    m_confirm->setObjectName(QStringLiteral("confirmProposal"));
    m_reject = new QPushButton(tr("&Reject match"), proposals);
    m_reject->setObjectName(QStringLiteral("rejectProposal"));
    decide->addWidget(m_proposalNote, 1);
    decide->addWidget(m_confirm);
    decide->addWidget(m_reject);
    proposalLayout->addLayout(decide);
    m_lower->addTab(proposals, tr("Pr&oposals"));
    vertical->addWidget(top);
    vertical->addWidget(m_lower);
    vertical->setStretchFactor(0, 3);
    vertical->setStretchFactor(1, 2);
    layout->addWidget(vertical, 1);

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("reconMessage"));
    m_message->setTextFormat(Qt::PlainText);
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_message);

    connect(m_confirm, &QPushButton::clicked, this, &ReconciliationView::confirmSelectedProposal);
    connect(m_reject, &QPushButton::clicked, this, &ReconciliationView::rejectSelectedProposal);
    connect(m_panel, &ReconExceptionPanel::acted, this, [this](qint64 id, const QString &what) {
        m_reselect = id;
        showMessage(tr("Exception %1 %2.").arg(id).arg(what), false);
    });
    connect(m_panel, &ReconExceptionPanel::actionFailed, this, &ReconciliationView::actionFailed);
    connect(m_panel, &ReconExceptionPanel::refusedBeforeSending, this,
            [this](const QString &why) { showMessage(why, true); });
    connect(m_panel, &ReconExceptionPanel::correctionRequested, this,
            &ReconciliationView::correctionRequested);
    if (m_service) {
        // Whatever changed the queue may change the chart, the summary and the proposals.
        connect(m_service, &ReconService::changed, this, [this] {
            loadAging();
            loadSummary();
            loadProposals();
        });
        whenReady(m_service->acceptReasons(), this, [this](const Result<QStringList> &r) {
            if (!r)
                return;
            ReconExceptionPanel::fillReasons(m_bulkReason, r.value());
        });
    }
    applyFilters();
    loadAging();
    loadSummary();
    loadProposals();
}

QWidget *ReconciliationView::createQueue()
{
    auto *box = new QWidget(this);
    auto *layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    m_queue = new QTableView(box);
    m_queue->setObjectName(QStringLiteral("exceptionQueue"));
    setUpServerSortedTable(m_queue, m_model, ReconExceptionModel::Raised,
                           tr("Reconciliation exceptions"));
    const auto width = [this](const QString &sample) {
        return fontMetrics().horizontalAdvance(sample) + 24;
    };
    m_queue->setColumnWidth(ReconExceptionModel::Id, width(QStringLiteral("Exception")));
    m_queue->setColumnWidth(ReconExceptionModel::Type,
                            width(QStringLiteral("date out of tolerance")));
    m_queue->setColumnWidth(ReconExceptionModel::State, width(QStringLiteral("assigned")));
    m_queue->setColumnWidth(ReconExceptionModel::Amount,
                            width(QStringLiteral("-1,000,000.00 EUR")));
    m_queue->setColumnWidth(ReconExceptionModel::ValueDate, width(QStringLiteral("0000-00-00")));
    m_queue->setColumnWidth(ReconExceptionModel::Raised, width(QStringLiteral("0000-00-00 00:00")));
    m_queue->setColumnWidth(ReconExceptionModel::Due, width(QStringLiteral("0000-00-00 00:00")));
    layout->addWidget(m_queue, 1);

    auto *bulk = new QHBoxLayout;
    m_count = new QLabel(box);
    m_count->setObjectName(QStringLiteral("queueCount"));
    m_bulkAssignee = new QLineEdit(box);
    m_bulkAssignee->setObjectName(QStringLiteral("bulkAssignee"));
    m_bulkAssignee->setPlaceholderText(tr("operator (empty: me)"));
    m_bulkAssignee->setMinimumWidth(
        fontMetrics().horizontalAdvance(m_bulkAssignee->placeholderText()) + 16);
    m_bulkAssign = new QPushButton(tr("Assign se&lected"), box);
    m_bulkAssign->setObjectName(QStringLiteral("bulkAssign"));
    m_bulkReason = new QComboBox(box);
    m_bulkReason->setObjectName(QStringLiteral("bulkReason"));
    m_bulkReason->setAccessibleName(tr("Reason code for accepting the selected exceptions"));
    m_bulkNote = new QLineEdit(box);
    m_bulkNote->setObjectName(QStringLiteral("bulkNote"));
    m_bulkNote->setPlaceholderText(tr("note"));
    m_bulkAccept = new QPushButton(tr("Accept selec&ted"), box);
    m_bulkAccept->setObjectName(QStringLiteral("bulkAccept"));
    bulk->addWidget(m_count, 1);
    bulk->addWidget(m_bulkAssignee);
    bulk->addWidget(m_bulkAssign);
    bulk->addSpacing(12);
    bulk->addWidget(m_bulkReason);
    bulk->addWidget(m_bulkNote);
    bulk->addWidget(m_bulkAccept);
    layout->addLayout(bulk);

    connect(m_bulkAssign, &QPushButton::clicked, this, &ReconciliationView::bulkAssignSelected);
    connect(m_bulkAccept, &QPushButton::clicked, this, &ReconciliationView::bulkAcceptSelected);
    connect(m_queue->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &ReconciliationView::currentChanged);
    connect(m_model, &QAbstractItemModel::modelReset, this,
            [this] { m_panel->clear(tr("Select an exception to see it beside its candidates.")); });
    connect(m_model, &ReconExceptionModel::pageLoaded, this, [this](int, qint64 total) {
        m_count->setText(tr("%n exception(s)", nullptr, int(total)));
        if (m_reselect && selectException(m_reselect))
            m_reselect = 0;
    });
    connect(m_model, &ReconExceptionModel::loadFailed, this,
            [this](const Error &e) { showMessage(e.message, true); });
    return box;
}

QWidget *ReconciliationView::createChart()
{
    auto *chart = new QChart;
    chart->setTitle(tr("Open exceptions by age"));
    chart->legend()->setAlignment(Qt::AlignRight);
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_series = new QStackedBarSeries(chart);
    chart->addSeries(m_series);
    auto *buckets = new QBarCategoryAxis(chart);
    for (const QString &b : kBuckets)
        buckets->append(b);
    auto *counts = new QValueAxis(chart);
    counts->setLabelFormat(QStringLiteral("%d"));
    counts->setMin(0);
    chart->addAxis(buckets, Qt::AlignBottom);
    chart->addAxis(counts, Qt::AlignLeft);
    m_series->attachAxis(buckets);
    m_series->attachAxis(counts);
    m_chart = new QChartView(chart, this);
    m_chart->setObjectName(QStringLiteral("agingChart"));
    m_chart->setRenderHint(QPainter::Antialiasing);
    m_chart->setMinimumHeight(180);
    return m_chart;
}

void ReconciliationView::refresh()
{
    m_model->refresh();
    loadAging();
    loadSummary();
    loadProposals();
}

void ReconciliationView::setFilters(const Filters &f)
{
    m_typeFilter->setCurrentIndex(qMax(0, m_typeFilter->findData(f.type)));
    m_accountFilter->setText(f.account);
    m_stateFilter->setCurrentIndex(qMax(
        0, m_stateFilter->findData(f.states.isEmpty() ? QStringLiteral("working") : f.states)));
    m_assigneeFilter->setText(f.assignee);
    m_minAmount->setText(f.minAmount);
    m_maxAmount->setText(f.maxAmount);
    m_ageFilter->setCurrentIndex(qMax(0, m_ageFilter->findData(f.minAgeDays)));
    m_overdueFilter->setCurrentIndex(qMax(0, m_overdueFilter->findData(f.overdue)));
}

bool ReconciliationView::applyFilters()
{
    ReconExceptionQuery q = m_model->query(); // keeps the sort
    q.types.clear();
    if (const QString type = m_typeFilter->currentData().toString(); !type.isEmpty())
        q.types = {type};
    q.account = m_accountFilter->text().trimmed();
    const QString states = m_stateFilter->currentData().toString();
    if (states == QLatin1String("closed"))
        q.states = {QStringLiteral("resolved"), QStringLiteral("accepted")};
    else if (states == QLatin1String("all"))
        q.states = {QStringLiteral("open"), QStringLiteral("assigned"), QStringLiteral("resolved"),
                    QStringLiteral("accepted")};
    else
        q.states.clear(); // the server's default: open and assigned
    q.assignee = m_assigneeFilter->text().trimmed();
    // Amounts in the filtered account's currency (two decimals when no account is named).
    int exponent = 2;
    for (const ReconAccountStatus &s : m_status) {
        if (s.account == q.account)
            exponent = s.exponent;
    }
    const auto amount = [&](QLineEdit *field, qint64 *out) {
        const QString text = field->text().trimmed();
        *out = -1;
        if (text.isEmpty())
            return true;
        QString why;
        const auto minor = Money::parseMinor(text, exponent, &why);
        if (!minor || *minor < 0) {
            showMessage(tr("%1 is not an amount to filter by: %2")
                            .arg(text, why.isEmpty() ? tr("use a positive amount") : why),
                        true);
            return false;
        }
        *out = *minor;
        return true;
    };
    if (!amount(m_minAmount, &q.minAmountMinor) || !amount(m_maxAmount, &q.maxAmountMinor))
        return false;
    q.minAgeDays = m_ageFilter->currentData().toInt();
    q.overdue = m_overdueFilter->currentData().toInt();
    showMessage(QString(), false); // a refusal of earlier fields no longer holds
    m_model->setQuery(q);
    return true;
}

bool ReconciliationView::selectException(qint64 exceptionId)
{
    const int row = m_model->rowOf(exceptionId);
    if (row < 0)
        return false;
    m_queue->selectRow(row);
    m_queue->setCurrentIndex(m_model->index(row, ReconExceptionModel::Id));
    return true;
}

ReconAccountStatus ReconciliationView::rulesFor(const ReconException &e) const
{
    for (const ReconAccountStatus &s : m_status) {
        if (s.bankAccount == e.bankAccount && s.currency == e.currency)
            return s;
    }
    return {};
}

void ReconciliationView::currentChanged()
{
    const QModelIndex current = m_queue->currentIndex();
    if (!current.isValid()) {
        m_panel->clear(tr("Select an exception to see it beside its candidates."));
        return;
    }
    const ReconException &e = m_model->exception(current.row());
    m_panel->showException(e, rulesFor(e));
}

QList<qint64> ReconciliationView::selectedIds() const
{
    QList<qint64> out;
    for (const QModelIndex &i : m_queue->selectionModel()->selectedRows())
        out << i.data(ReconExceptionModel::ExceptionIdRole).toLongLong();
    std::sort(out.begin(), out.end());
    return out;
}

void ReconciliationView::setBulkFields(const QString &assignee, const QString &reasonCode,
                                       const QString &note)
{
    m_bulkAssignee->setText(assignee);
    m_bulkReason->setCurrentIndex(qMax(0, m_bulkReason->findData(reasonCode)));
    m_bulkNote->setText(note);
}

void ReconciliationView::bulkAssignSelected()
{
    runBulk(QStringLiteral("assign"), m_bulkAssignee->text().trimmed(), QString(), QString());
}

void ReconciliationView::bulkAcceptSelected()
{
    runBulk(QStringLiteral("accept"), QString(), m_bulkReason->currentData().toString(),
            m_bulkNote->text().trimmed());
}

void ReconciliationView::runBulk(const QString &action, const QString &assignee,
                                 const QString &reason, const QString &note)
{
    const QList<qint64> chosen = selectedIds();
    if (chosen.isEmpty() || !m_service) {
        showMessage(tr("Select the exceptions first."), true);
        return;
    }
    m_bulkAssign->setEnabled(false);
    m_bulkAccept->setEnabled(false);
    whenReady(m_service->bulk(chosen, action, assignee, reason, note), this,
              [this, action](const Result<QList<ReconBulkResult>> &r) {
                  // GUI thread; the queue reloads itself on the service's changed().
                  m_bulkAssign->setEnabled(true);
                  m_bulkAccept->setEnabled(true);
                  if (!r) {
                      showMessage(r.error().message, true);
                      Q_EMIT bulkFinished(0, 0);
                      return;
                  }
                  int done = 0;
                  QStringList refused;
                  for (const ReconBulkResult &b : r.value()) {
                      if (b.ok)
                          ++done;
                      else
                          refused << tr("%1: %2").arg(b.exceptionId).arg(b.message);
                  }
                  const QString what = action == QLatin1String("assign")
                                           ? tr("%n exception(s) assigned", nullptr, done)
                                           : tr("%n exception(s) accepted", nullptr, done);
                  showMessage(
                      refused.isEmpty()
                          ? what + QLatin1Char('.')
                          : tr("%1; refused: %2").arg(what, refused.join(QStringLiteral("; "))),
                      !refused.isEmpty());
                  Q_EMIT bulkFinished(done, int(refused.size()));
              });
}

void ReconciliationView::actionFailed(qint64 exceptionId, const Error &error)
{
    showMessage(error.message, true);
    // Someone acted on it first (or it is gone): show the row as it is now.
    if (error.sqlState == QLatin1String("LG084")) {
        m_reselect = exceptionId;
        m_model->refresh();
    }
}

void ReconciliationView::resolveByCorrection(qint64 exceptionId, qint64 reversalRequestId,
                                             qint64 expectedEvent)
{
    m_panel->resolveByCorrection(exceptionId, reversalRequestId, expectedEvent);
}

void ReconciliationView::showMessage(const QString &text, bool problem)
{
    m_message->setText(text);
    m_message->setStyleSheet(problem ? QStringLiteral("color: #b03a2e;") : QString());
    Q_EMIT messageShown(text, problem);
}

void ReconciliationView::loadAging()
{
    if (!m_service)
        return;
    whenReady(m_service->aging(), this, [this](const Result<QList<ReconAgingBucket>> &r) {
        // GUI thread: one set per type, one value per bucket, replaced at once.
        if (!r) {
            showMessage(r.error().message, true);
            return;
        }
        m_aging = r.value();
        QMap<QString, QList<qreal>> counts;
        for (const ReconAgingBucket &b : m_aging) {
            QList<qreal> &values = counts[b.type];
            values.resize(kBuckets.size(), 0);
            const int at = int(kBuckets.indexOf(b.bucket));
            if (at >= 0)
                values[at] += qreal(b.open);
        }
        m_series->clear();
        qreal highest = 0;
        QList<qreal> stacked(kBuckets.size(), 0);
        for (const QString &type : kTypes) {
            if (!counts.contains(type))
                continue;
            auto *set = new QBarSet(ReconExceptionModel::typeLabel(type));
            set->setProperty("type", type);
            set->append(counts.value(type));
            m_series->append(set);
            for (int i = 0; i < stacked.size(); ++i)
                stacked[i] += counts.value(type).value(i);
        }
        for (qreal v : stacked)
            highest = qMax(highest, v);
        const auto axes = m_series->attachedAxes();
        for (QAbstractAxis *axis : axes) {
            if (auto *values = qobject_cast<QValueAxis *>(axis)) {
                // Whole counts on the ticks: one per exception up to five, then fifths of
                // a multiple of five.
                const int top =
                    highest <= 5 ? qMax(1, int(highest)) : int(std::ceil(highest / 5.0)) * 5;
                values->setRange(0, top);
                values->setTickCount(top <= 5 ? top + 1 : 6);
            }
        }
        Q_EMIT agingLoaded();
    });
}

void ReconciliationView::loadSummary()
{
    if (!m_service)
        return;
    whenReady(m_service->status(), this, [this](const Result<QList<ReconAccountStatus>> &r) {
        if (!r) {
            showMessage(r.error().message, true);
            return;
        }
        m_status = r.value();
        m_summary->setRowCount(int(m_status.size()));
        for (int row = 0; row < m_status.size(); ++row) {
            const ReconAccountStatus &s = m_status.at(row);
            qint64 open = 0;
            QStringList byType;
            for (auto it = s.openExceptions.begin(); it != s.openExceptions.end(); ++it) {
                open += it.value();
                byType << QStringLiteral("%1: %2")
                              .arg(ReconExceptionModel::typeLabel(it.key()))
                              .arg(it.value());
            }
            const QStringList values{
                s.account,
                s.bankAccount,
                s.currency,
                QString::number(s.statements),
                QString::number(s.lines),
                QString::number(s.matchedLines),
                QString::number(s.proposedLines),
                s.lastStatementId,
                s.lastClosingDate.toString(Qt::ISODate),
                s.lastClosing,
                s.ledgerAtClosing,
                !s.hasLastStatement ? tr("no closing balance yet")
                : s.agrees          ? tr("agree")
                                    : tr("differ"),
                s.lastAgreement.isValid() ? s.lastAgreement.toString(Qt::ISODate) : tr("never"),
                QString::number(open),
                QString::number(s.overdueExceptions)};
            for (int c = 0; c < values.size(); ++c)
                m_summary->setItem(
                    row, c, cell(values.at(c), c >= 3 && c != 7 && c != 8 && c != 11 && c != 12));
            QTableWidgetItem *agreement = m_summary->item(row, 11);
            if (s.hasLastStatement && !s.agrees)
                agreement->setBackground(ReconExceptionPanel::differsColor());
            m_summary->item(row, 13)->setToolTip(byType.join(QLatin1Char('\n')));
        }
        Q_EMIT summaryLoaded();
    });
}

void ReconciliationView::loadProposals()
{
    if (!m_service)
        return;
    whenReady(m_service->proposals(QString(), 0, ProposalPageSize), this,
              [this](const Result<QList<ReconProposal>> &r) {
                  if (!r) {
                      showMessage(r.error().message, true);
                      return;
                  }
                  m_proposalRows = r.value();
                  m_proposals->setRowCount(int(m_proposalRows.size()));
                  for (int row = 0; row < m_proposalRows.size(); ++row) {
                      const ReconProposal &p = m_proposalRows.at(row);
                      const auto amount = [&](qint64 minor) {
                          return ReconExceptionModel::amountText(minor, p.exponent, p.currency);
                      };
                      const QStringList values{
                          QString::number(p.groupId),
                          p.rule,
                          QString::number(p.score),
                          p.account,
                          ids(p.lineIds),
                          ids(p.entryIds),
                          amount(p.linesMinor),
                          amount(p.entriesMinor),
                          DisplayZone::instance()->format(p.createdAt, TimePrecision::Minutes)};
                      for (int c = 0; c < values.size(); ++c)
                          m_proposals->setItem(
                              row, c, cell(values.at(c), c == 0 || c == 2 || c == 6 || c == 7));
                      if (p.linesMinor != p.entriesMinor) {
                          m_proposals->item(row, ProposalLinesSum)
                              ->setBackground(ReconExceptionPanel::differsColor());
                          m_proposals->item(row, ProposalEntriesSum)
                              ->setBackground(ReconExceptionPanel::differsColor());
                      }
                  }
                  m_lower->setTabText(2, m_proposalRows.isEmpty()
                                             ? tr("Pr&oposals")
                                             : tr("Pr&oposals (%1)").arg(m_proposalRows.size()));
                  Q_EMIT proposalsLoaded();
              });
}

void ReconciliationView::confirmSelectedProposal()
{
    decideProposal(QStringLiteral("confirmed"), m_proposalNote->toPlainText().trimmed());
}

bool ReconciliationView::rejectSelectedProposal()
{
    const QString note = m_proposalNote->toPlainText().trimmed();
    if (note.isEmpty()) {
        showMessage(tr("Say in the note why the match is wrong. Nothing was sent."), true);
        return false;
    }
    decideProposal(QStringLiteral("rejected"), note);
    return true;
}

void ReconciliationView::decideProposal(const QString &decision, const QString &note)
{
    const int row = m_proposals->currentRow();
    if (row < 0 || row >= m_proposalRows.size() || !m_service) {
        showMessage(tr("Select a proposed match first."), true);
        return;
    }
    const qint64 group = m_proposalRows.at(row).groupId;
    whenReady(m_service->decideMatch(group, decision, note), this,
              [this, group, decision](const Result<void> &r) {
                  // GUI thread; the lists reload on the service's changed().
                  if (!r) {
                      showMessage(r.error().message, true);
                      loadProposals(); // decided by someone else meanwhile, perhaps
                      return;
                  }
                  m_proposalNote->clear();
                  showMessage(tr("Match group %1 %2.").arg(group).arg(decision), false);
                  Q_EMIT proposalDecided(group, decision);
              });
}

void ReconciliationView::dragEnterEvent(QDragEnterEvent *event)
{
    // Drops on this tab are bank files to import; elsewhere the window decides.
    if (!localFileOf(event->mimeData()).isEmpty())
        event->acceptProposedAction();
    else
        QWidget::dragEnterEvent(event);
}

void ReconciliationView::dropEvent(QDropEvent *event)
{
    const QString path = localFileOf(event->mimeData());
    if (path.isEmpty()) {
        QWidget::dropEvent(event);
        return;
    }
    event->acceptProposedAction();
    Q_EMIT importRequested(path);
}

} // namespace ledger
