#pragma once

#include <QSortFilterProxyModel>

namespace ledger {

// The navigator's filter over AccountListModel: text in the code or the name
// (case-insensitive), and optionally one kind and one currency. Sorting by SortRole.
class AccountFilterProxyModel : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    explicit AccountFilterProxyModel(QObject *parent = nullptr);

    void setText(const QString &text);
    void setKind(const QString &kind);         // empty: any
    void setCurrency(const QString &currency); // empty: any

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_text;
    QString m_kind;
    QString m_currency;
};

} // namespace ledger
