#include "ItemViews.h"

#include <QHeaderView>
#include <QTableView>
#include <QTableWidget>

namespace ledger {

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

} // namespace ledger
