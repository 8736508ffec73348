#include "AccountFilterProxyModel.h"

#include "AccountListModel.h"

namespace ledger {

AccountFilterProxyModel::AccountFilterProxyModel(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setSortCaseSensitivity(Qt::CaseInsensitive);
    setSortRole(AccountListModel::SortRole);
}

void AccountFilterProxyModel::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    invalidateRowsFilter();
}

void AccountFilterProxyModel::setKind(const QString &kind)
{
    if (kind == m_kind)
        return;
    m_kind = kind;
    invalidateRowsFilter();
}

void AccountFilterProxyModel::setCurrency(const QString &currency)
{
    if (currency == m_currency)
        return;
    m_currency = currency;
    invalidateRowsFilter();
}

bool AccountFilterProxyModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QAbstractItemModel *m = sourceModel();
    const auto text = [&](int column) {
        return m->index(sourceRow, column, sourceParent).data().toString();
    };
    if (!m_kind.isEmpty() && text(AccountListModel::Kind) != m_kind)
        return false;
    if (!m_currency.isEmpty() && text(AccountListModel::Currency) != m_currency)
        return false;
    return m_text.isEmpty() || text(AccountListModel::Code).contains(m_text, Qt::CaseInsensitive) ||
           text(AccountListModel::Name).contains(m_text, Qt::CaseInsensitive);
}

} // namespace ledger
