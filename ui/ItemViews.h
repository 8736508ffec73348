#pragma once

#include <QStringList>

#include <initializer_list>

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

// Sizes each of `columns` to show its header and the values of the rows in view in full
// (only those: the models page from the server, and a row out of view may not be here).
// Widen never narrows a column, so a width the user chose wider stays; Fit sets the width.
enum class ColumnFit { Widen, Fit };
void fitToContents(QTableView *view, std::initializer_list<int> columns,
                   ColumnFit how = ColumnFit::Widen);

// Widens each of `columns` to show the values of rows first..last in full (rows that just
// arrived, in view or not; at most 1,000 of them are measured), never narrowing one.
void widenToRows(QTableView *view, std::initializer_list<int> columns, int first, int last);

// The width the view needs to show every visible column without scrolling sideways, a
// stretched column at its minimum (frame and vertical scroll bar included).
int widthForAllColumns(const QTableView *view);

// The column fills what the others leave of the view's width, but never goes below `minimum`
// pixels: past that the view scrolls sideways instead of cutting every value short.
void stretchWithMinimum(QTableView *view, int column, int minimum);

// The header's context menu shows and hides columns (actions "showColumnN" on the header;
// the last visible column stays); the choice is part of the header's saveState().
void addColumnChooser(QTableView *view);

} // namespace ledger
