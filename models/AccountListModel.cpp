#include "AccountListModel.h"
#include "async/WhenReady.h"

#include "db/AccountRepository.h"
#include "db/AuditRepository.h"
#include "db/DbWorker.h"

#include <QJsonObject>

namespace ledger {

AccountListModel::AccountListModel(DbWorker *worker, QObject *parent)
    : QAbstractTableModel(parent)
    , m_worker(worker)
{}

int AccountListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_accounts.size());
}

int AccountListModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant AccountListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Account &a = m_accounts.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Code:
            return a.code;
        case Name:
            return a.name;
        case Kind:
            return toString(a.kind);
        case Currency:
            return a.currency;
        case Balance:
            return a.balance;
        case NormalSide:
            return toString(normalSide(a.kind));
        case OpenedAt:
            return a.openedAt.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"));
        case ColumnCount:
            break;
        }
        return {};
    case Qt::ToolTipRole:
        return tr("%1 — %2 (%3, %4)%5")
            .arg(a.code, a.name, toString(a.kind), a.currency,
                 a.allowNegative ? QString() : tr("; may not go negative"));
    case Qt::TextAlignmentRole:
        if (index.column() == Balance)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case SortRole:
        // Amounts sort by value, not as text.
        return index.column() == Balance ? QVariant(a.balanceMinor) : data(index, Qt::DisplayRole);
    case AccountIdRole:
        return a.id;
    case AccountCodeRole:
        return a.code;
    case AllowNegativeRole:
        return a.allowNegative;
    default:
        return {};
    }
}

QVariant AccountListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (Column(section)) {
    case Code:
        return tr("Code");
    case Name:
        return tr("Name");
    case Kind:
        return tr("Kind");
    case Currency:
        return tr("Currency");
    case Balance:
        return tr("Balance");
    case NormalSide:
        return tr("Normal side");
    case OpenedAt:
        return tr("Opened");
    case ColumnCount:
        break;
    }
    return {};
}

void AccountListModel::setLoading(bool loading)
{
    if (m_loading == loading)
        return;
    m_loading = loading;
    Q_EMIT loadingChanged(loading);
}

void AccountListModel::refresh()
{
    if (!m_worker)
        return;
    const quint64 generation = ++m_generation;
    setLoading(true);
    // The query runs on the worker thread; the continuation runs here (GUI thread).
    whenReady(m_worker->submit([](Connection &c) { return AccountRepository::list(c); }), this,
              [this, generation](const Result<QList<Account>> &result) {
                  if (generation != m_generation)
                      return; // a newer refresh is under way
                  setLoading(false);
                  if (!result) {
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  beginResetModel();
                  m_accounts = result.value();
                  endResetModel();
                  Q_EMIT loaded(int(m_accounts.size()));
              });
}

void AccountListModel::noteSearch(const QString &text, int matches)
{
    if (!m_worker || text.trimmed().isEmpty())
        return;
    const QJsonObject details{{QStringLiteral("scope"), QStringLiteral("accounts")},
                              {QStringLiteral("text"), text},
                              {QStringLiteral("matches"), matches}};
    whenReady(m_worker->submit([details](Connection &c) {
        AuditRepository::recordClientAction(c, QStringLiteral("search.run"),
                                            QStringLiteral("account_list"), {}, details);
    }),
              this, [this](const Result<void> &result) {
                  if (!result)
                      Q_EMIT loadFailed(result.error());
              });
}

} // namespace ledger
