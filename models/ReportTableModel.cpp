#include "ReportTableModel.h"

#include <QFont>
#include <QRegularExpression>

namespace ledger {

ReportTableModel::ReportTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void ReportTableModel::setTable(const ReportTable &table)
{
    static const QRegularExpression number(QStringLiteral(R"(^-?[0-9]+(\.[0-9]+)?$)"));
    beginResetModel();
    m_table = table;
    m_numeric.clear();
    for (int c = 0; c < m_table.columns.size(); ++c) {
        bool numeric = false;
        bool other = false;
        for (int r = 0; r < rowCount() && !other; ++r) {
            const QString cell = rowAt(r).value(c);
            if (cell.isEmpty())
                continue;
            (number.match(cell).hasMatch() ? numeric : other) = true;
        }
        m_numeric << (numeric && !other);
    }
    endResetModel();
}

void ReportTableModel::clear()
{
    setTable({});
}

const QStringList &ReportTableModel::rowAt(int row) const
{
    return row < m_table.rows.size() ? m_table.rows.at(row)
                                     : m_table.totalRows.at(row - m_table.rows.size());
}

int ReportTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_table.rows.size() + m_table.totalRows.size());
}

int ReportTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_table.columns.size());
}

QVariant ReportTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount())
        return {};
    switch (role) {
    case Qt::DisplayRole:
    case Qt::ToolTipRole:
        return rowAt(index.row()).value(index.column());
    case Qt::TextAlignmentRole:
        return int((m_numeric.value(index.column()) ? Qt::AlignRight : Qt::AlignLeft) |
                   Qt::AlignVCenter);
    case Qt::FontRole:
        if (isTotal(index.row())) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return {};
    default:
        return {};
    }
}

QVariant ReportTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole ||
        section >= m_table.columns.size())
        return QAbstractTableModel::headerData(section, orientation, role);
    QString name = m_table.columns.at(section);
    if (!name.isEmpty())
        name[0] = name.at(0).toUpper();
    return name;
}

} // namespace ledger
