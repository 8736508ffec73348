#pragma once

#include "domain/Report.h"

#include <QAbstractTableModel>

namespace ledger {

// A report's rows and then its totals (bold) as a read-only table; columns of numbers are
// right-aligned. Set whole (setTable); GUI thread.
class ReportTableModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    explicit ReportTableModel(QObject *parent = nullptr);

    void setTable(const ReportTable &table);
    void clear();
    const ReportTable &table() const { return m_table; }
    bool isTotal(int row) const { return row >= m_table.rows.size(); }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    const QStringList &rowAt(int row) const;

    ReportTable m_table;
    QList<bool> m_numeric; // per column
};

} // namespace ledger
