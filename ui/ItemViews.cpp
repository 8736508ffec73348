#include "ItemViews.h"

#include <QAction>
#include <QEvent>
#include <QHeaderView>
#include <QScrollBar>
#include <QTableView>
#include <QTableWidget>

#include <functional>
#include <utility>

namespace ledger {

namespace {

// A few pixels past the delegate's size hint: the view elides a text whose laid-out width
// reaches the cell's inner edge, which can happen with exactly the hinted width (seen: a
// 118 px reference cut short in a 125 px column, the hint being 125).
constexpr int kElisionSlack = 4;

// Where widthForAllColumns() finds a stretchWithMinimum() column and its minimum.
constexpr const char *kStretchColumn = "ledgerStretchColumn";
constexpr const char *kStretchMinimum = "ledgerStretchMinimum";

class StretchWithMinimum : public QObject
{
public:
    StretchWithMinimum(QTableView *view, int column, int minimum)
        : QObject(view)
        , m_view(view)
        , m_viewport(view->viewport())
        , m_column(column)
        , m_minimum(minimum)
    {
        m_viewport->installEventFilter(this);
        // Another column resized, hidden or shown (hiding resizes it to 0).
        connect(view->horizontalHeader(), &QHeaderView::sectionResized, this, [this](int logical) {
            if (logical != m_column)
                fit();
        });
        fit();
    }

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (watched == m_viewport && event->type() == QEvent::Resize)
            fit();
        return QObject::eventFilter(watched, event);
    }

private:
    void fit()
    {
        QHeaderView *header = m_view->horizontalHeader();
        if (m_column >= header->count() || header->isSectionHidden(m_column))
            return;
        int others = 0;
        for (int c = 0; c < header->count(); ++c)
            if (c != m_column && !header->isSectionHidden(c))
                others += header->sectionSize(c);
        const int width = qMax(m_minimum, m_view->viewport()->width() - others);
        if (header->sectionSize(m_column) != width)
            header->resizeSection(m_column, width);
    }

    QTableView *m_view;
    QWidget *m_viewport;
    int m_column;
    int m_minimum;
};

// Runs `before` as the watched widget's context menu is about to open.
class ContextMenuHook : public QObject
{
public:
    ContextMenuHook(QWidget *watched, std::function<void()> before)
        : QObject(watched)
        , m_watched(watched)
        , m_before(std::move(before))
    {
        watched->installEventFilter(this);
    }

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (watched == m_watched && event->type() == QEvent::ContextMenu)
            m_before();
        return QObject::eventFilter(watched, event);
    }

private:
    QWidget *m_watched;
    std::function<void()> m_before;
};

} // namespace

QTableWidget *makeReadOnlyTable(QWidget *parent, const char *name, const QStringList &headers,
                                const QString &accessibleName)
{
    auto *t = new QTableWidget(0, int(headers.size()), parent);
    t->setObjectName(QLatin1String(name));
    t->setAccessibleName(accessibleName);
    t->setHorizontalHeaderLabels(headers);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->verticalHeader()->hide();
    t->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 8);
    t->horizontalHeader()->setStretchLastSection(true);
    t->setTabKeyNavigation(false);
    t->setWordWrap(false);
    return t;
}

void setUpServerSortedTable(QTableView *view, QAbstractItemModel *model, int sortColumn,
                            const QString &accessibleName)
{
    view->setAccessibleName(accessibleName);
    view->setModel(model);
    view->setSortingEnabled(true); // the model asks the server
    view->sortByColumn(sortColumn, Qt::AscendingOrder);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    view->verticalHeader()->hide();
    view->horizontalHeader()->setStretchLastSection(true);
}

void fitToContents(QTableView *view, std::initializer_list<int> columns, ColumnFit how)
{
    QHeaderView *header = view->horizontalHeader();
    // Precision 0: QTableView measures the rows in view and no others (a hidden view would
    // measure every row: then only the header counts).
    const int precision = header->resizeContentsPrecision();
    header->setResizeContentsPrecision(0);
    for (int c : columns) {
        if (header->isSectionHidden(c))
            continue;
        // QAbstractItemView's public sizeHintForColumn (QTableView's override is protected).
        const int content = view->isVisible()
                                ? static_cast<const QAbstractItemView *>(view)->sizeHintForColumn(c)
                                : 0;
        const int wanted = qMax(content, header->sectionSizeHint(c)) + kElisionSlack;
        if (header->sectionSize(c) < wanted ||
            (how == ColumnFit::Fit && header->sectionSize(c) != wanted))
            header->resizeSection(c, wanted);
    }
    header->setResizeContentsPrecision(precision);
}

void widenToRows(QTableView *view, std::initializer_list<int> columns, int first, int last)
{
    QHeaderView *header = view->horizontalHeader();
    const QAbstractItemModel *model = view->model();
    last = qMin(last, qMin(model->rowCount() - 1, first + 999));
    for (int c : columns) {
        if (header->isSectionHidden(c))
            continue;
        int wanted = header->sectionSizeHint(c);
        for (int r = qMax(0, first); r <= last; ++r)
            wanted = qMax(wanted, view->sizeHintForIndex(model->index(r, c)).width());
        wanted += kElisionSlack;
        if (header->sectionSize(c) < wanted)
            header->resizeSection(c, wanted);
    }
}

void stretchWithMinimum(QTableView *view, int column, int minimum)
{
    view->horizontalHeader()->setStretchLastSection(false);
    view->setProperty(kStretchColumn, column);
    view->setProperty(kStretchMinimum, minimum);
    new StretchWithMinimum(view, column, minimum);
}

int widthForAllColumns(const QTableView *view)
{
    const QHeaderView *header = view->horizontalHeader();
    const QVariant stretchColumn = view->property(kStretchColumn);
    int width = 0;
    for (int c = 0; c < header->count(); ++c) {
        if (header->isSectionHidden(c))
            continue;
        if (stretchColumn.isValid() && stretchColumn.toInt() == c)
            width += view->property(kStretchMinimum).toInt();
        else if (header->sectionResizeMode(c) == QHeaderView::Stretch ||
                 (header->stretchLastSection() && c == header->count() - 1))
            width += qMax(header->minimumSectionSize(), header->sectionSizeHint(c));
        else
            width += header->sectionSize(c);
    }
    return width + 2 * view->frameWidth() + view->verticalScrollBar()->sizeHint().width();
}

void addColumnChooser(QTableView *view)
{
    QHeaderView *header = view->horizontalHeader();
    header->setContextMenuPolicy(Qt::ActionsContextMenu);
    QList<QAction *> shown;
    for (int c = 0; c < header->count(); ++c) {
        auto *action = new QAction(
            view->model()->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString(), header);
        action->setObjectName(QStringLiteral("showColumn%1").arg(c));
        action->setCheckable(true);
        header->addAction(action);
        shown.append(action);
    }
    // The menu follows the header (restoreState() may hide or show columns); the last
    // visible column cannot be hidden.
    const auto sync = [header, shown] {
        const bool several = header->count() - header->hiddenSectionCount() > 1;
        for (int c = 0; c < shown.size(); ++c) {
            const QSignalBlocker quiet(shown.at(c));
            shown.at(c)->setChecked(!header->isSectionHidden(c));
            shown.at(c)->setEnabled(header->isSectionHidden(c) || several);
        }
    };
    for (int c = 0; c < shown.size(); ++c)
        QObject::connect(shown.at(c), &QAction::toggled, view, [view, c, sync](bool on) {
            view->setColumnHidden(c, !on);
            if (on)
                fitToContents(view, {c});
            sync();
        });
    QObject::connect(header, &QHeaderView::sectionResized, view, sync);
    // restoreState() shows and hides sections without a signal: the menu is brought up to
    // date as it opens, too.
    new ContextMenuHook(header, sync);
    sync();
}

} // namespace ledger
