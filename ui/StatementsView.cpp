#include "StatementsView.h"

#include "InstantEdit.h"
#include "IssuedStatementModel.h"
#include "StatementInputs.h"
#include "console/StatementBatchJob.h"
#include "console/StatementService.h"
#include "domain/Account.h"

#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateEdit>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QFrame>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QStringList>
#include <QTableView>
#include <QVBoxLayout>

namespace ledger {

namespace {

QLabel *messageLabel(QWidget *parent, const QString &objectName)
{
    auto *label = new QLabel(parent);
    label->setObjectName(objectName);
    // Plain text: it shows values from the database (or messages quoting them).
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    return label;
}

QString joinIds(const QList<qint64> &ids)
{
    QStringList out;
    out.reserve(ids.size());
    for (const qint64 id : ids)
        out.append(QString::number(id));
    return out.join(QStringLiteral(", "));
}

// Counts spelled out in full: without a loaded translation, %n would show "statement(s)".
QString statementCount(int n)
{
    return n == 1 ? StatementsView::tr("1 statement") : StatementsView::tr("%1 statements").arg(n);
}

} // namespace

StatementsView::StatementsView(StatementService *statements, QWidget *parent)
    : QWidget(parent)
    , m_statements(statements)
    , m_model(new IssuedStatementModel(statements, this))
{
    setObjectName(QStringLiteral("statementsView"));
    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(createListPage());
    splitter->addWidget(createBatchPage());
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->addWidget(splitter);

    connect(m_model, &IssuedStatementModel::loadingChanged, this, &StatementsView::updateStatus);
    connect(m_model, &IssuedStatementModel::pageLoaded, this, [this](int added) {
        m_banner->hide();
        updateStatus();
        // Columns grow to what they show (the rows in view are measured), never shrink:
        // a width the user chose stays.
        if (added > 0) {
            for (int column = 0; column < IssuedStatementModel::ColumnCount; ++column) {
                const int before = m_table->columnWidth(column);
                m_table->resizeColumnToContents(column);
                m_table->setColumnWidth(column, qMax(before, m_table->columnWidth(column)));
            }
        }
    });
    connect(m_model, &IssuedStatementModel::loadFailed, this, &StatementsView::showListError);
    connect(m_model, &QAbstractItemModel::modelReset, this, &StatementsView::showSelected);
    m_model->refresh();
}

StatementsView::~StatementsView()
{
    // The job is deleted with this view; the batch on the worker stops before its next
    // statement, leaving only complete, issued files.
    if (m_job && !m_job->isFinished())
        m_job->cancel();
}

QWidget *StatementsView::createListPage()
{
    auto *page = new QWidget(this);
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 6); // the batch's title apart from the detail line

    // What went wrong loading the list, and a Retry; hidden while all is well.
    m_banner = new QFrame(page);
    m_banner->setObjectName(QStringLiteral("statementsErrorBanner"));
    m_banner->setFrameShape(QFrame::StyledPanel);
    m_banner->setStyleSheet(
        QStringLiteral("#statementsErrorBanner { background: palette(base); border: 1px solid "
                       "#c0392b; border-radius: 4px; }"));
    auto *bannerLayout = new QHBoxLayout(m_banner);
    m_bannerText = messageLabel(m_banner, QStringLiteral("listError"));
    auto *retry = new QPushButton(tr("R&etry"), m_banner);
    retry->setAccessibleName(tr("Retry loading the issued statements"));
    connect(retry, &QPushButton::clicked, this, &StatementsView::refresh);
    bannerLayout->addWidget(m_bannerText, 1);
    bannerLayout->addWidget(retry);
    m_banner->hide();
    layout->addWidget(m_banner);

    auto *filters = new QHBoxLayout;
    auto *accountLabel = new QLabel(tr("A&ccount:"), page);
    m_accountFilter = new QLineEdit(page);
    m_accountFilter->setObjectName(QStringLiteral("accountFilter"));
    m_accountFilter->setPlaceholderText(tr("any account"));
    m_accountFilter->setClearButtonEnabled(true);
    m_accountFilter->setAccessibleName(tr("Show the statements of one account (its code)"));
    accountLabel->setBuddy(m_accountFilter);
    m_restatedOnly = new QCheckBox(tr("Restated &only"), page);
    m_restatedOnly->setObjectName(QStringLiteral("restatedOnly"));
    m_refresh = new QPushButton(tr("&Refresh"), page);
    m_refresh->setObjectName(QStringLiteral("refresh"));
    m_status = new QLabel(page);
    m_status->setObjectName(QStringLiteral("listStatus"));
    filters->addWidget(accountLabel);
    filters->addWidget(m_accountFilter);
    filters->addWidget(m_restatedOnly);
    filters->addWidget(m_refresh);
    filters->addStretch();
    filters->addWidget(m_status);
    layout->addLayout(filters);
    connect(m_accountFilter, &QLineEdit::returnPressed, this, &StatementsView::applyFilter);
    connect(m_restatedOnly, &QCheckBox::toggled, this, &StatementsView::applyFilter);
    connect(m_refresh, &QPushButton::clicked, this, &StatementsView::applyFilter);

    m_table = new QTableView(page);
    m_table->setObjectName(QStringLiteral("issuedStatements"));
    m_table->setAccessibleName(tr("Issued statements, newest first"));
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    // Fixed, uniform row heights: the list grows with every statement ever issued.
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setHighlightSections(false);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->resizeColumnsToContents(); // no rows yet: the headers' widths
    layout->addWidget(m_table, 1);
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &StatementsView::showSelected);
    connect(m_table, &QAbstractItemView::doubleClicked, this, [this](const QModelIndex &index) {
        Q_EMIT openObjectRequested(QStringLiteral("account"),
                                   index.data(IssuedStatementModel::AccountCodeRole).toString());
    });

    m_detail = messageLabel(page, QStringLiteral("statementDetail"));
    layout->addWidget(m_detail);
    showSelected();
    return page;
}

QWidget *StatementsView::createBatchPage()
{
    auto *box =
        new QGroupBox(tr("Batch export: one statement per account, each its own file"), this);
    box->setObjectName(QStringLiteral("batchExport"));

    m_kind = new QComboBox(box);
    m_kind->setObjectName(QStringLiteral("batchKind"));
    m_kind->setAccessibleName(tr("Accounts of this kind"));
    m_kind->addItem(tr("any kind"), QString());
    for (AccountKind k : {AccountKind::Asset, AccountKind::Liability, AccountKind::Equity,
                          AccountKind::Income, AccountKind::Expense})
        m_kind->addItem(toString(k), toString(k));
    m_currency = new QComboBox(box);
    m_currency->setObjectName(QStringLiteral("batchCurrency"));
    m_currency->setAccessibleName(tr("Accounts in this currency"));
    m_currency->setEditable(true);
    m_currency->setInsertPolicy(QComboBox::NoInsert);
    m_currency->addItem(QString());
    m_currency->lineEdit()->setPlaceholderText(tr("any currency"));
    m_currency->setMinimumContentsLength(12);
    auto *selection = new QHBoxLayout;
    selection->addWidget(m_kind);
    selection->addWidget(new QLabel(tr("in"), box));
    selection->addWidget(m_currency);
    selection->addStretch();

    const StatementInputs::PeriodRow period = StatementInputs::createPeriodRow(box);
    m_from = period.from;
    m_to = period.to;
    m_zone = new QComboBox(box);
    m_zone->setObjectName(QStringLiteral("batchTimeZone"));
    m_zone->setAccessibleName(tr("The time zone of the period's days"));
    StatementInputs::addTimeZones(m_zone);
    period.layout->insertWidget(period.layout->count() - 1, new QLabel(tr("in"), box));
    period.layout->insertWidget(period.layout->count() - 1, m_zone);

    const StatementInputs::KnownAtRow known = StatementInputs::createKnownAtRow(box);
    m_pastKnownAt = known.enabled;
    m_knownAt = known.time;

    m_format = new QComboBox(box);
    m_format->setObjectName(QStringLiteral("batchFormat"));
    StatementInputs::addFormats(m_format);
    m_pageSize = new QComboBox(box);
    m_pageSize->setObjectName(QStringLiteral("batchPageSize"));
    StatementInputs::addPageSizes(m_pageSize);
    auto *pageSizeLabel = new QLabel(tr("Pa&ge size:"), box);
    pageSizeLabel->setBuddy(m_pageSize);
    auto *format = new QHBoxLayout;
    format->addWidget(m_format);
    format->addWidget(pageSizeLabel);
    format->addWidget(m_pageSize);
    format->addStretch();
    connect(m_format, &QComboBox::currentIndexChanged, this,
            [this] { setRunning(isBatchRunning()); });

    m_folder = new QLineEdit(box);
    m_folder->setObjectName(QStringLiteral("batchFolder"));
    m_folder->setPlaceholderText(tr("An existing folder; no file in it is ever replaced"));
    m_browse = new QPushButton(tr("&Browse…"), box);
    connect(m_browse, &QPushButton::clicked, this, &StatementsView::chooseFolder);
    auto *folder = new QHBoxLayout;
    folder->addWidget(m_folder, 1);
    folder->addWidget(m_browse);

    auto *form = new QFormLayout;
    // Rows that hold a layout get a label with a buddy, so that their mnemonic works.
    const auto labelFor = [box](const QString &text, QWidget *buddy) {
        auto *label = new QLabel(text, box);
        label->setBuddy(buddy);
        return label;
    };
    form->addRow(labelFor(tr("Accou&nts:"), m_kind), selection);
    form->addRow(labelFor(tr("&Period:"), m_from), period.layout);
    form->addRow(tr("Known at:"), known.layout);
    form->addRow(labelFor(tr("&Format:"), m_format), format);
    form->addRow(labelFor(tr("Fol&der:"), m_folder), folder);

    m_start = new QPushButton(tr("&Start"), box);
    m_start->setObjectName(QStringLiteral("batchStart"));
    m_cancel = new QPushButton(tr("&Cancel"), box);
    m_cancel->setObjectName(QStringLiteral("batchCancel"));
    m_progress = new QProgressBar(box);
    m_progress->setObjectName(QStringLiteral("batchProgress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("%v of %m"));
    connect(m_start, &QPushButton::clicked, this, &StatementsView::startBatch);
    connect(m_cancel, &QPushButton::clicked, this, &StatementsView::cancelBatch);
    auto *run = new QHBoxLayout;
    run->addWidget(m_start);
    run->addWidget(m_cancel);
    run->addWidget(m_progress, 1);

    m_batchResult = messageLabel(box, QStringLiteral("batchResult"));
    m_batchError = messageLabel(box, QStringLiteral("batchError"));
    m_batchError->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_batchError->hide();
    m_files = new QListWidget(box);
    m_files->setObjectName(QStringLiteral("batchFiles"));
    m_files->setAccessibleName(tr("Files the batch wrote"));
    m_files->setUniformItemSizes(true);

    auto *layout = new QVBoxLayout(box);
    layout->addLayout(form);
    layout->addLayout(run);
    layout->addWidget(m_batchResult);
    layout->addWidget(m_batchError);
    layout->addWidget(m_files, 1);
    setRunning(false);
    return box;
}

QString StatementsView::errorText() const
{
    return m_banner->isHidden() ? QString() : m_bannerText->text();
}

QString StatementsView::detailText() const
{
    return m_detail->text();
}

void StatementsView::applyFilter()
{
    m_model->setFilter(m_accountFilter->text(), m_restatedOnly->isChecked());
}

void StatementsView::refresh()
{
    m_model->refresh();
}

void StatementsView::showSelected()
{
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    if (!current.isValid()) {
        m_detail->setText(tr("Select a statement to see whether entries recorded since it was "
                             "issued change it; double-click opens its account."));
        return;
    }
    const IssuedStatement &s = m_model->statement(current.row());
    const StatementRecord &r = s.record;
    if (!s.restated) {
        m_detail->setText(
            tr("%1 (%2, %3) is as issued: no entry recorded since changes its "
               "period.")
                .arg(r.reference, r.accountCode, IssuedStatementModel::formatPeriod(r)));
        return;
    }
    const QString entries = s.lateEntries.size() == 1
                                ? tr("1 late entry")
                                : tr("%1 late entries").arg(s.lateEntries.size());
    m_detail->setText(tr("%1 (%2, %3) is restated: opening balance %4, closing balance %5, by "
                         "%6 recorded after its known-at time (entry ids %7).")
                          .arg(r.reference, r.accountCode, IssuedStatementModel::formatPeriod(r),
                               IssuedStatementModel::formatDifference(s.openingDifference, r),
                               IssuedStatementModel::formatDifference(s.closingDifference, r),
                               entries, joinIds(s.lateEntries)));
}

void StatementsView::updateStatus()
{
    const int rows = m_model->rowCount();
    if (m_model->isLoading())
        m_status->setText(tr("Loading…"));
    else if (m_model->atEnd())
        m_status->setText(tr("%1 shown.").arg(statementCount(rows)));
    else
        m_status->setText(
            tr("The newest %1 shown; scroll down for older ones.").arg(statementCount(rows)));
}

void StatementsView::showListError(const Error &error)
{
    m_bannerText->setText(tr("The issued statements could not be loaded: %1").arg(error.message));
    m_bannerText->setToolTip(error.detail);
    m_banner->show();
    m_status->setText(tr("Not loaded"));
}

void StatementsView::setCurrencies(const QStringList &currencies)
{
    const QString typed = m_currency->currentText();
    const QSignalBlocker quiet(m_currency);
    m_currency->clear();
    m_currency->addItem(QString());
    m_currency->addItems(currencies);
    m_currency->setCurrentText(typed);
}

void StatementsView::setBatchSelection(const QString &kind, const QString &currency)
{
    m_kind->setCurrentIndex(qMax(0, m_kind->findData(kind)));
    m_currency->setCurrentText(currency);
}

void StatementsView::setBatchPeriod(const QDate &from, const QDate &to)
{
    m_from->setDate(from);
    m_to->setDate(to);
}

void StatementsView::setBatchFormat(const QString &format, const QString &camtVersion)
{
    StatementInputs::selectFormat(m_format, format, camtVersion);
}

void StatementsView::setBatchFolder(const QString &folder)
{
    m_folder->setText(folder);
}

StatementBatchRequest StatementsView::batchRequest() const
{
    StatementBatchRequest r;
    r.kind = m_kind->currentData().toString();
    r.currency = m_currency->currentText().trimmed().toUpper();
    StatementInputs::applyTo(
        r, {m_from, m_to, m_zone, m_pastKnownAt, m_knownAt, m_format, m_pageSize});
    r.folder = m_folder->text().trimmed();
    return r;
}

bool StatementsView::isBatchRunning() const
{
    return m_job && !m_job->isFinished();
}

QString StatementsView::batchResultText() const
{
    return m_batchResult->text();
}

QString StatementsView::batchErrorText() const
{
    return m_batchError->isHidden() ? QString() : m_batchError->text();
}

void StatementsView::startBatch()
{
    if (isBatchRunning() || !m_statements)
        return;
    m_files->clear();
    if (const QString problem = StatementInputs::knownAtProblem(m_pastKnownAt, m_knownAt);
        !problem.isEmpty()) {
        m_batchError->setText(problem);
        m_batchError->show();
        return;
    }
    const StatementBatchRequest request = batchRequest();
    m_batchError->hide();
    m_batchResult->setText(tr("Finding the accounts…"));
    m_progress->setRange(0, 0); // busy until the batch knows how many accounts it covers
    m_job = m_statements->startBatch(request, this);
    // The job's signals are queued from the worker and arrive here, on the GUI thread.
    connect(m_job, &StatementBatchJob::started, this, [this](int total) {
        m_progress->setRange(0, qMax(1, total));
        m_progress->setValue(0);
        m_batchResult->setText(tr("Writing %1…").arg(statementCount(total)));
        Q_EMIT batchStarted(total);
    });
    connect(m_job, &StatementBatchJob::progress, this,
            [this](int done, int total, const StatementRecord &, const QString &path) {
                m_progress->setValue(done);
                m_files->addItem(QDir::toNativeSeparators(path));
                m_batchResult->setText(tr("%1 of %2 written…").arg(done).arg(total));
                Q_EMIT batchProgress(done, total, path);
            });
    connect(m_job, &StatementBatchJob::finished, this, &StatementsView::showOutcome);
    setRunning(true);
}

void StatementsView::cancelBatch()
{
    if (!isBatchRunning())
        return;
    m_job->cancel();
    m_cancel->setEnabled(false);
    m_batchResult->setText(tr("Cancelling: the statement being written is finished first…"));
}

void StatementsView::showOutcome(const StatementBatchOutcome &outcome)
{
    if (m_job) {
        m_job->deleteLater();
        m_job = nullptr;
    }
    setRunning(false);
    // The outcome is the record: the list shows exactly the files it says were written.
    m_files->clear();
    for (const QString &path : outcome.files)
        m_files->addItem(QDir::toNativeSeparators(path));
    const int written = int(outcome.written.size());
    m_progress->setRange(0, qMax(1, outcome.total));
    m_progress->setValue(written);
    if (!outcome.error.isEmpty()) {
        m_batchResult->setText(tr("Stopped by an error: %1 of %2 written.")
                                   .arg(written)
                                   .arg(statementCount(outcome.total)));
        m_batchError->setText(outcome.error);
        m_batchError->show();
    } else if (outcome.cancelled) {
        m_batchResult->setText(
            tr("Cancelled: %1 of %2 written (each complete and issued); no other file was "
               "left.")
                .arg(written)
                .arg(statementCount(outcome.total)));
    } else if (outcome.total == 0) {
        m_batchResult->setText(tr("No account matches: nothing was written."));
    } else {
        m_batchResult->setText(
            tr("Done: %1 written to %2.")
                .arg(statementCount(written), QDir::toNativeSeparators(batchRequest().folder)));
    }
    if (written > 0)
        m_model->refresh(); // the new statements, at the top of the list
    Q_EMIT batchFinished(outcome);
}

void StatementsView::setRunning(bool running)
{
    for (QWidget *w :
         std::initializer_list<QWidget *>{m_kind, m_currency, m_from, m_to, m_zone, m_pastKnownAt,
                                          m_format, m_folder, m_browse, m_start})
        w->setEnabled(!running);
    m_knownAt->setEnabled(!running && m_pastKnownAt->isChecked());
    m_pageSize->setEnabled(!running && StatementInputs::formatOf(m_format) == QLatin1String("pdf"));
    m_cancel->setEnabled(running);
}

void StatementsView::chooseFolder()
{
    const QString chosen =
        QFileDialog::getExistingDirectory(this, tr("Write the statements to"), m_folder->text());
    if (!chosen.isEmpty())
        m_folder->setText(chosen);
}

void StatementsView::closeEvent(QCloseEvent *event)
{
    cancelBatch();
    QWidget::closeEvent(event);
}

} // namespace ledger
