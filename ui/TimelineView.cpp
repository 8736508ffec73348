#include "TimelineView.h"

#include "DisplayZone.h"
#include "InstantEdit.h"
#include "ItemViews.h"
#include "TimelineModel.h"
#include "domain/SpreadsheetText.h"
#include "domain/TerminalText.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QMimeData>
#include <QPushButton>
#include <QRegularExpressionValidator>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

namespace ledger {

namespace {

QString tsvField(QString s)
{
    return s.replace(QLatin1Char('\t'), QLatin1Char(' '))
        .replace(QLatin1Char('\n'), QLatin1Char(' '))
        .replace(QLatin1Char('\r'), QLatin1Char(' '));
}

// Every copied cell, whatever its column: control and format characters (escape sequences,
// direction overrides) shown escaped, and a cell a spreadsheet would run as a formula
// behind an apostrophe; negative amounts ("-12.50") stay numbers (domain/SpreadsheetText.h
// says why).
QString copiedCell(const QString &s)
{
    return spreadsheetSafe(terminalSafe(s));
}

} // namespace

TimelineView::TimelineView(TimelineModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
{
    setObjectName(QStringLiteral("timelineView"));
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    // Filters: one row, Return in any field applies them.
    auto *filters = new QGridLayout;
    m_order = new QComboBox(this);
    m_order->setObjectName(QStringLiteral("timelineOrder"));
    m_order->addItem(tr("Effective time"), int(TimelineOrder::Effective));
    m_order->addItem(tr("Recorded time"), int(TimelineOrder::Recorded));
    m_order->setAccessibleName(tr("Order the timeline by"));
    auto *orderLabel = new QLabel(tr("&Order:"), this);
    orderLabel->setBuddy(m_order);

    auto makeEdit = [this](const char *name, const QString &placeholder,
                           const QString &accessible) {
        auto *e = new QLineEdit(this);
        e->setObjectName(QLatin1String(name));
        e->setPlaceholderText(placeholder);
        e->setAccessibleName(accessible);
        e->setClearButtonEnabled(true);
        connect(e, &QLineEdit::returnPressed, this, &TimelineView::applyFilter);
        return e;
    };
    m_from = makeEdit("timelineFrom", tr("from yyyy-mm-dd [hh:mm]"), tr("From date"));
    m_to = makeEdit("timelineTo", tr("until yyyy-mm-dd [hh:mm]"), tr("Until date (exclusive)"));
    for (QLineEdit *e : {m_from, m_to})
        e->setToolTip(howToWriteATime(DisplayZone::instance()->zoneName()));
    m_minAmount = makeEdit("timelineMinAmount", tr("min amount"), tr("Smallest amount"));
    m_maxAmount = makeEdit("timelineMaxAmount", tr("max amount"), tr("Largest amount"));
    m_text = makeEdit("timelineText", tr("description or reference"),
                      tr("Text in description or reference"));
    // Amount sizes as exact decimals: the server checks the currency's decimals.
    auto *amount = new QRegularExpressionValidator(
        QRegularExpression(QStringLiteral(R"(\d{0,19}(\.\d{0,19})?)")), this);
    m_minAmount->setValidator(amount);
    m_maxAmount->setValidator(amount);
    m_minAmount->setToolTip(tr("Amount range matches the size of an amount, debit or credit"));
    m_maxAmount->setToolTip(m_minAmount->toolTip());

    auto *apply = new QPushButton(tr("&Apply"), this);
    apply->setAccessibleName(tr("Apply timeline filters"));
    connect(apply, &QPushButton::clicked, this, &TimelineView::applyFilter);
    auto *clear = new QPushButton(tr("C&lear"), this);
    clear->setAccessibleName(tr("Clear timeline filters"));
    connect(clear, &QPushButton::clicked, this, [this] {
        setFilterFields({});
        applyFilter();
    });

    m_jump = new InstantEdit(this, TimePrecision::Minutes);
    m_jump->setObjectName(QStringLiteral("timelineJump"));
    m_jump->setAccessibleName(tr("Jump to date"));
    auto *jumpLabel = new QLabel(tr("&Jump to:"), this);
    jumpLabel->setBuddy(m_jump);
    auto *go = new QPushButton(tr("&Go"), this);
    go->setAccessibleName(tr("Jump to the date"));
    connect(go, &QPushButton::clicked, this, &TimelineView::jumpToTyped);
    connect(m_jump, &InstantEdit::overlapChosen, this, &TimelineView::jumpToTyped);
    auto *jumpAction = new QAction(tr("Jump to date"), this);
    jumpAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
    jumpAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(jumpAction, &QAction::triggered, this,
            [this] { m_jump->setFocus(Qt::ShortcutFocusReason); });
    addAction(jumpAction);

    filters->addWidget(orderLabel, 0, 0);
    filters->addWidget(m_order, 0, 1);
    filters->addWidget(m_from, 0, 2);
    filters->addWidget(m_to, 0, 3);
    filters->addWidget(m_minAmount, 0, 4);
    filters->addWidget(m_maxAmount, 0, 5);
    filters->addWidget(m_text, 0, 6);
    filters->addWidget(apply, 0, 7);
    filters->addWidget(clear, 0, 8);
    filters->setColumnStretch(6, 2);
    auto *jumpRow = new QHBoxLayout;
    jumpRow->addWidget(jumpLabel);
    jumpRow->addWidget(m_jump);
    jumpRow->addWidget(go);
    jumpRow->addStretch(1);
    m_count = new QLabel(this);
    // Plain text: it shows values from the database (or messages quoting them).
    m_count->setTextFormat(Qt::PlainText);
    m_count->setObjectName(QStringLiteral("timelineCount"));
    jumpRow->addWidget(m_count);
    layout->addLayout(filters);
    layout->addLayout(jumpRow);

    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("timelineTable"));
    m_table->setAccessibleName(tr("Account timeline"));
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->setTabKeyNavigation(false); // Tab leaves the table: keyboard users get out
    // Fixed row heights: the view never measures ten million rows.
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_table->verticalHeader()->hide();
    // Every value in full: the description takes what the other columns leave (never less
    // than about 24 characters: the table scrolls sideways first); the others start wide
    // enough for their header and typical values and are widened to the values of every
    // row of each page that arrives (never narrowed: a width the user chose stays).
    stretchWithMinimum(m_table, TimelineModel::Description, fontMetrics().averageCharWidth() * 24);
    const int timeWidth =
        fontMetrics().horizontalAdvance(QStringLiteral("0000-00-00 00:00:00+00:00")) + 16;
    m_table->setColumnWidth(TimelineModel::Effective, timeWidth);
    m_table->setColumnWidth(TimelineModel::Recorded, timeWidth);
    const int moneyWidth = fontMetrics().horizontalAdvance(QStringLiteral("-000,000.00")) + 16;
    m_table->setColumnWidth(TimelineModel::Amount, moneyWidth);
    m_table->setColumnWidth(TimelineModel::Balance, moneyWidth);
    fitToContents(m_table, {TimelineModel::Reference, TimelineModel::Amount, TimelineModel::Balance,
                            TimelineModel::Marks});
    connect(m_model, &TimelineModel::pageLoaded, m_table, [this](int first, int rows) {
        widenToRows(m_table,
                    {TimelineModel::Effective, TimelineModel::Recorded, TimelineModel::Reference,
                     TimelineModel::Amount, TimelineModel::Balance, TimelineModel::Marks},
                    first, first + rows - 1);
    });
    layout->addWidget(m_table, 1);

    auto *copy = new QAction(tr("&Copy rows"), m_table);
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetShortcut);
    connect(copy, &QAction::triggered, this, &TimelineView::copySelection);
    auto *copyCsv = new QAction(tr("Copy rows as CS&V"), m_table);
    copyCsv->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    copyCsv->setShortcutContext(Qt::WidgetShortcut);
    connect(copyCsv, &QAction::triggered, this, &TimelineView::copySelectionAsCsv);
    auto *open = new QAction(tr("&Open transaction"), m_table);
    connect(open, &QAction::triggered, this, [this] {
        const QModelIndex i = m_table->currentIndex();
        if (i.isValid() && i.data(TimelineModel::LoadedRole).toBool())
            Q_EMIT transactionActivated(i.data(TimelineModel::TransactionIdRole).toLongLong());
    });
    auto *requestReversal = new QAction(tr("Request &reversal…"), m_table);
    requestReversal->setObjectName(QStringLiteral("requestReversalAction"));
    requestReversal->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    requestReversal->setShortcutContext(Qt::WidgetShortcut);
    connect(requestReversal, &QAction::triggered, this, [this] {
        const QModelIndex i = m_table->currentIndex();
        if (i.isValid() && i.data(TimelineModel::LoadedRole).toBool())
            Q_EMIT reversalRequested(i.data(TimelineModel::TransactionIdRole).toLongLong());
    });
    m_table->addAction(copy);
    m_table->addAction(copyCsv);
    m_table->addAction(open);
    m_table->addAction(requestReversal);
    m_table->setContextMenuPolicy(Qt::ActionsContextMenu);
    // Enter or double-click opens the transaction.
    connect(m_table, &QTableView::activated, this, [this](const QModelIndex &i) {
        if (i.data(TimelineModel::LoadedRole).toBool())
            Q_EMIT transactionActivated(i.data(TimelineModel::TransactionIdRole).toLongLong());
    });

    connect(m_order, &QComboBox::currentIndexChanged, this,
            [this] { m_model->setOrder(TimelineOrder(m_order->currentData().toInt())); });
    connect(m_model, &TimelineModel::countChanged, this, &TimelineView::updateCount);
    connect(m_model, &TimelineModel::jumpReady, this, [this](int row) {
        if (row < 0)
            return;
        const QModelIndex i = m_model->index(row, TimelineModel::Effective);
        m_table->scrollTo(i, QAbstractItemView::PositionAtTop);
        m_table->setCurrentIndex(i);
    });
    connect(m_model, &TimelineModel::modelReset, this, [this] { m_count->clear(); });
    // The filter fields show the model's range in the zone shown (it is kept as instants).
    connect(DisplayZone::instance(), &DisplayZone::changed, this, [this] {
        const TimelineFilter f = m_model->filter();
        m_from->setText(DisplayZone::instance()->format(f.from.value_or(QDateTime())));
        m_to->setText(DisplayZone::instance()->format(f.to.value_or(QDateTime())));
        for (QLineEdit *e : {m_from, m_to})
            e->setToolTip(howToWriteATime(DisplayZone::instance()->zoneName()));
    });
    setFocusProxy(m_table);
    m_table->viewport()->installEventFilter(this);
}

bool TimelineView::eventFilter(QObject *watched, QEvent *event)
{
    // A big timeline arrives as its first page; once that is on screen, the model grows to
    // the full row count (the header's per-row set-up then no longer delays the first page).
    if (watched == m_table->viewport() && event->type() == QEvent::Paint &&
        !m_model->isFullyShown())
        QTimer::singleShot(0, m_model, &TimelineModel::showAllRows);
    return QWidget::eventFilter(watched, event);
}

void TimelineView::updateCount(qint64 rows, bool exact)
{
    const QLocale locale;
    if (m_model->isSearchMode())
        m_count->setText(
            exact
                ? tr("%1 matching entries").arg(locale.toString(rows))
                : tr("at least %1 matching entries (scroll for more)").arg(locale.toString(rows)));
    else if (m_model->filter().from || m_model->filter().to)
        m_count->setText(tr("%1 entries in the date range").arg(locale.toString(rows)));
    else
        m_count->setText(tr("%1 entries").arg(locale.toString(rows)));
}

void TimelineView::jumpTo(const QDateTime &at)
{
    m_jump->setInstant(at);
    m_model->jumpToDate(at);
}

void TimelineView::jumpToTyped()
{
    const Result<QDateTime> at = m_jump->instant();
    if (!at) {
        Q_EMIT statusMessage(at.error().message);
        return;
    }
    m_model->jumpToDate(at.value());
}

void TimelineView::setOrder(TimelineOrder order)
{
    m_order->setCurrentIndex(m_order->findData(int(order)));
}

std::optional<QDateTime> TimelineView::parseTime(QLineEdit *edit, QString *error) const
{
    const QString text = edit->text().trimmed();
    if (text.isEmpty())
        return std::nullopt;
    // Read in the zone shown; a time it skips or has twice is refused with what to type.
    const Result<QDateTime> t = DisplayZone::instance()->parse(text);
    if (!t) {
        *error = t.error().message;
        return std::nullopt;
    }
    return t.value();
}

void TimelineView::applyFilter()
{
    TimelineFilter filter;
    QString fromError;
    QString toError;
    filter.from = parseTime(m_from, &fromError);
    filter.to = parseTime(m_to, &toError);
    if (!fromError.isEmpty() || !toError.isEmpty()) {
        Q_EMIT statusMessage(fromError.isEmpty() ? tr("Until: %1").arg(toError)
                                                 : tr("From: %1").arg(fromError));
        (fromError.isEmpty() ? m_to : m_from)->setFocus();
        return;
    }
    filter.minAmount = m_minAmount->text().trimmed();
    filter.maxAmount = m_maxAmount->text().trimmed();
    filter.text = m_text->text().trimmed();
    m_model->setFilter(filter);
}

void TimelineView::setFilterFields(const TimelineFilter &filter)
{
    const auto shown = [](const std::optional<QDateTime> &t) {
        return t ? DisplayZone::instance()->format(*t) : QString();
    };
    m_from->setText(shown(filter.from));
    m_to->setText(shown(filter.to));
    m_minAmount->setText(filter.minAmount);
    m_maxAmount->setText(filter.maxAmount);
    m_text->setText(filter.text);
}

QString TimelineView::selectedRowsAs(CopyFormat format, int *skipped) const
{
    QList<int> rows;
    for (const QModelIndex &i : m_table->selectionModel()->selectedRows())
        rows.append(i.row());
    std::sort(rows.begin(), rows.end());
    const QString sep = format == CopyFormat::Csv ? QStringLiteral(",") : QStringLiteral("\t");
    const auto field = [format](const QString &s) {
        const QString cell = copiedCell(s);
        return format == CopyFormat::Csv ? csvField(cell) : tsvField(cell);
    };
    QStringList header = {tr("Effective"), tr("Recorded"), tr("Description"),
                          tr("Reference"), tr("Amount"),   tr("Currency"),
                          tr("Balance"),   tr("Marks"),    tr("Transaction")};
    QStringList lines;
    for (QString &h : header)
        h = field(h);
    lines << header.join(sep);
    int missing = 0;
    for (int row : rows) {
        const std::optional<TimelineEntry> e = m_model->entryAt(row);
        if (!e) {
            ++missing; // its page is not loaded (a huge selection): left out, and said so
            continue;
        }
        // Times as the screen shows them (zone and offset included): what was read is what
        // is pasted.
        const QStringList f = {m_model->index(row, TimelineModel::Effective).data().toString(),
                               m_model->index(row, TimelineModel::Recorded).data().toString(),
                               e->description,
                               e->externalRef,
                               e->amount.toString(),
                               e->amount.currency(),
                               e->balance.toString(),
                               e->marks(),
                               QString::number(e->transactionId)};
        QStringList out;
        for (const QString &s : f)
            out << field(s);
        lines << out.join(sep);
    }
    if (skipped)
        *skipped = missing;
    return lines.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

void TimelineView::copySelection()
{
    int skipped = 0;
    auto *mime = new QMimeData;
    mime->setText(selectedRowsAs(CopyFormat::Text, &skipped));
    mime->setData(QStringLiteral("text/csv"), selectedRowsAs(CopyFormat::Csv).toUtf8());
    QApplication::clipboard()->setMimeData(mime);
    Q_EMIT statusMessage(
        skipped ? tr("Copied; %n row(s) not loaded yet were left out.", nullptr, skipped)
                : tr("Copied."));
}

void TimelineView::copySelectionAsCsv()
{
    int skipped = 0;
    auto *mime = new QMimeData;
    const QString csv = selectedRowsAs(CopyFormat::Csv, &skipped);
    mime->setText(csv);
    mime->setData(QStringLiteral("text/csv"), csv.toUtf8());
    QApplication::clipboard()->setMimeData(mime);
    Q_EMIT statusMessage(
        skipped ? tr("Copied as CSV; %n row(s) not loaded yet were left out.", nullptr, skipped)
                : tr("Copied as CSV."));
}

} // namespace ledger
