#pragma once

#include <QStringList>

class QAbstractItemModel;
class QTableView;
class QTableWidget;
class QWidget;

namespace ledger {

// The console's table conventions in one place: whole rows selected, fixed row heights (never
// sized to contents), no word wrap, the last column stretched.

// A read-only table of a few rows filled by a view (details, previews, summaries).
QTableWidget *makeReadOnlyTable(QWidget *parent, const char *name, const QStringList &headers,
                                const QString &accessibleName);

// A list over a model that sorts and pages on the server: sorting by a header click asks
// the model (which asks the server), several rows may be selected, rows alternate colours.
void setUpServerSortedTable(QTableView *view, QAbstractItemModel *model, int sortColumn,
                            const QString &accessibleName);

} // namespace ledger
