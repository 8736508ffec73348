#include "AccountListModel.h"

#include "async/WhenReady.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"

#include <QJsonObject>

#include <limits>
#include <optional>

namespace ledger {

namespace {

AccountSortKey sortKeyOf(int column)
{
    using K = AccountSortKey;
    switch (AccountListModel::Column(column)) {
    case AccountListModel::Name:
        return K::Name;
    case AccountListModel::Kind:
        return K::Kind;
    case AccountListModel::Currency:
        return K::Currency;
    case AccountListModel::Balance:
        return K::Balance;
    case AccountListModel::NormalSide:
        return K::NormalSide;
    case AccountListModel::OpenedAt:
        return K::OpenedAt;
    case AccountListModel::Code:
    case AccountListModel::ColumnCount:
        break;
    }
    return K::Code;
}

} // namespace

AccountListModel::AccountListModel(LedgerService *ledger, AuditService *audit, QObject *parent)
    : QAbstractTableModel(parent)
    , m_ledger(ledger)
    , m_audit(audit)
{
    m_cache.setMaxPages(m_maxPages);
}

int AccountListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_count);
}

int AccountListModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

const Account *AccountListModel::account(int row) const
{
    if (row < 0 || row >= m_count)
        return nullptr;
    const int page = row / m_pageSize;
    const QList<Account> *rows = m_cache.use(page);
    if (!rows) {
        requestPage(page);
        return nullptr;
    }
    const int offset = row - page * m_pageSize;
    return offset < rows->size() ? &rows->at(offset) : nullptr;
}

QVariant AccountListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Account *a = account(index.row());
    if (role == LoadedRole)
        return a != nullptr;
    if (!a) // its page is on its way
        return role == Qt::DisplayRole && index.column() == Code ? QVariant(tr("…")) : QVariant();
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Code:
            return a->code;
        case Name:
            return a->name;
        case Kind:
            return toString(a->kind);
        case Currency:
            return a->currency;
        case Balance:
            return a->balance.toString();
        case NormalSide:
            return toString(normalSide(a->kind));
        case OpenedAt:
            return a->openedAt.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"));
        case ColumnCount:
            break;
        }
        return {};
    case Qt::ToolTipRole:
        return tr("%1 — %2 (%3, %4)%5")
            .arg(a->code, a->name, toString(a->kind), a->currency,
                 a->allowNegative ? QString() : tr("; may not go negative"));
    case Qt::TextAlignmentRole:
        if (index.column() == Balance)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case SortRole:
        return index.column() == Balance ? QVariant(a->balance.sortKey())
                                         : data(index, Qt::DisplayRole);
    case BalanceRole:
        return QVariant::fromValue(a->balance);
    case AccountIdRole:
        return a->id;
    case AccountCodeRole:
        return a->code;
    case AllowNegativeRole:
        return a->allowNegative;
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

void AccountListModel::sort(int column, Qt::SortOrder order)
{
    const AccountSortKey key = sortKeyOf(column);
    const bool descending = order == Qt::DescendingOrder;
    if (key == m_query.sort && descending == m_query.descending)
        return;
    m_query.sort = key;
    m_query.descending = descending;
    if (m_started)
        refresh();
}

void AccountListModel::setFilter(const QString &text, const QString &kind, const QString &currency)
{
    if (text == m_query.text && kind == m_query.kind && currency == m_query.currency)
        return;
    m_query.text = text;
    m_query.kind = kind;
    m_query.currency = currency;
    if (m_started)
        refresh();
}

void AccountListModel::setLoading(bool loading) const
{
    if (m_loading == loading)
        return;
    m_loading = loading;
    Q_EMIT const_cast<AccountListModel *>(this)->loadingChanged(loading);
}

void AccountListModel::updateLoading() const
{
    setLoading(m_firstLoadPending || m_cache.hasPending());
}

void AccountListModel::refresh()
{
    if (!m_ledger)
        return;
    m_started = true;
    const quint64 generation = ++m_generation;
    m_firstLoadPending = true;
    m_cache.forgetRequests(); // the old rows stay shown until the new count arrives
    setLoading(true);
    // The count, the first page and the currencies, together.
    whenReady(m_ledger->accountListStart(m_query, m_pageSize), this,
              [this, generation](const Result<AccountListStart> &result) {
                  if (generation != m_generation)
                      return; // a newer reload is under way
                  m_firstLoadPending = false;
                  if (!result) {
                      updateLoading();
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  const AccountListStart &load = result.value();
                  beginResetModel();
                  m_count = qMin<qint64>(load.count, std::numeric_limits<int>::max());
                  m_cache.clear();
                  if (!load.rows.isEmpty())
                      m_cache.arrived(0, load.rows);
                  endResetModel();
                  updateLoading();
                  Q_EMIT currenciesChanged(load.currencies);
                  Q_EMIT loaded(int(m_count));
              });
}

void AccountListModel::requestPage(int page) const
{
    if (m_firstLoadPending || !m_cache.request(page))
        return;
    sendPage(page);
}

void AccountListModel::sendPage(int page) const
{
    if (!m_ledger)
        return;
    updateLoading();
    const quint64 generation = m_generation;
    const qint64 offset = qint64(page) * m_pageSize;
    // Scrolling down: the page before ends where this one starts; the server continues
    // after its last row instead of skipping `offset` rows.
    std::optional<Account> after;
    if (const QList<Account> *before = m_cache.peek(page - 1);
        page > 0 && before && before->size() == m_pageSize)
        after = before->last();
    auto *self = const_cast<AccountListModel *>(this); // the cache is logically const
    whenReady(m_ledger->accountPage(m_query, offset, m_pageSize, after), self,
              [self, generation, page](const Result<QList<Account>> &result) {
                  if (generation != self->m_generation)
                      return;
                  if (!result) {
                      self->m_cache.failed(page);
                      self->updateLoading();
                      Q_EMIT self->loadFailed(result.error());
                      return;
                  }
                  self->pageArrived(page, result.value());
              });
}

void AccountListModel::pageArrived(int page, const QList<Account> &rows)
{
    m_cache.arrived(page, rows);
    const int first = page * m_pageSize;
    const int last = int(qMin<qint64>(m_count - 1, qint64(first) + m_pageSize - 1));
    if (last >= first)
        Q_EMIT dataChanged(index(first, 0), index(last, ColumnCount - 1));
    for (const qint64 wanted : m_cache.takeSendable()) // the most recent wish first
        sendPage(int(wanted));
    updateLoading();
}

void AccountListModel::locate(const QString &code)
{
    if (!m_ledger || code.isEmpty())
        return;
    const quint64 generation = m_generation;
    whenReady(m_ledger->accountPosition(m_query, code), this,
              [this, generation, code](const Result<qint64> &result) {
                  if (generation != m_generation)
                      return; // the list changed meanwhile: the row means nothing now
                  if (!result) {
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  const qint64 row = result.value();
                  Q_EMIT located(code, row >= 0 && row < m_count ? int(row) : -1);
              });
}

void AccountListModel::noteSearch(const QString &text, int matches)
{
    if (!m_audit || text.trimmed().isEmpty())
        return;
    const QJsonObject details{{QStringLiteral("scope"), QStringLiteral("accounts")},
                              {QStringLiteral("text"), text},
                              {QStringLiteral("matches"), matches}};
    whenReady(m_audit->recordSearch(QStringLiteral("account_list"), details), this,
              [this](const Result<void> &result) {
                  if (!result)
                      Q_EMIT loadFailed(result.error());
              });
}

} // namespace ledger
