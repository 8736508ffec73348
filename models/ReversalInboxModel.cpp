#include "ReversalInboxModel.h"

#include "DisplayZone.h"

#include "async/WhenReady.h"
#include "console/ReversalService.h"

#include <QGuiApplication>
#include <QPalette>

namespace ledger {

namespace {

// In the zone shown, with its offset (DisplayZone).
QString local(const QDateTime &t)
{
    return DisplayZone::instance()->format(t, TimePrecision::Minutes);
}

QString transactionLink(qint64 id)
{
    return id ? QStringLiteral("#%1").arg(id) : QString();
}

} // namespace

ReversalInboxModel::ReversalInboxModel(ReversalService *service, QObject *parent, int pageSize)
    : QAbstractTableModel(parent)
    , m_service(service)
    , m_pageSize(qMax(1, pageSize))
{
    DisplayZone::rewriteOnChange(this, {RequestedAt, ExpiresAt, State});
    // A request or decision made anywhere in this console changes what the list shows.
    if (service)
        connect(service, &ReversalService::changed, this, &ReversalInboxModel::refresh);
}

int ReversalInboxModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ReversalInboxModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

int ReversalInboxModel::rowOf(qint64 requestId) const
{
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i].id == requestId)
            return i;
    }
    return -1;
}

QVariant ReversalInboxModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ReversalRequestRow &r = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Id:
            return QString::number(r.id);
        case RequestedAt:
            return local(r.requestedAt);
        case Transaction:
            return transactionLink(r.transactionId);
        case Reason:
            return r.rebook ? tr("%1 (rebook)").arg(r.reasonCode) : r.reasonCode;
        case Requester:
            return r.requestedBy;
        case Amount:
            return r.currency.isEmpty() ? r.amount
                                        : QStringLiteral("%1 %2").arg(r.amount, r.currency);
        case Accounts:
            return r.accounts;
        case State:
            return r.state;
        case ExpiresAt:
            return r.state == QLatin1String("pending") ? local(r.expiresAt) : QString();
        case Reversal:
            return transactionLink(r.reversalTransactionId);
        case Rebook:
            return transactionLink(r.rebookTransactionId);
        case Note:
            return r.note.simplified();
        case ColumnCount:
            break;
        }
        return {};
    case Qt::ToolTipRole:
        if (r.ownRequest && r.state == QLatin1String("pending"))
            return tr("You requested this; another supervisor must decide");
        switch (Column(index.column())) {
        case RequestedAt:
            return DisplayZone::instance()->format(r.requestedAt); // to the second
        case Note:
            return r.note;
        case State:
            if (!r.decidedBy.isEmpty())
                return tr("%1 by %2 at %3%4")
                    .arg(r.state, r.decidedBy, local(r.decidedAt),
                         r.decisionNote.isEmpty() ? QString()
                                                  : QStringLiteral(": ") + r.decisionNote);
            return {};
        case Transaction:
            return r.transactionDescription;
        default:
            return {};
        }
    case Qt::ForegroundRole:
        if (r.ownRequest && r.state == QLatin1String("pending"))
            return QGuiApplication::palette().brush(QPalette::Disabled, QPalette::Text);
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Id || index.column() == Amount || index.column() == Transaction)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case RequestIdRole:
        return r.id;
    case TransactionIdRole:
        return r.transactionId;
    case ReversalTransactionIdRole:
        return r.reversalTransactionId;
    case RebookTransactionIdRole:
        return r.rebookTransactionId;
    case OwnRequestRole:
        return r.ownRequest;
    case StateRole:
        return r.state;
    case IsRebookRole:
        return r.rebook;
    default:
        return {};
    }
}

QVariant ReversalInboxModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (Column(section)) {
    case Id:
        return tr("Request");
    case RequestedAt:
        return tr("Requested");
    case Transaction:
        return tr("Transaction");
    case Reason:
        return tr("Reason");
    case Requester:
        return tr("Requested by");
    case Amount:
        return tr("Amount");
    case Accounts:
        return tr("Accounts");
    case State:
        return tr("State");
    case ExpiresAt:
        return tr("Expires");
    case Reversal:
        return tr("Reversal");
    case Rebook:
        return tr("Rebook");
    case Note:
        return tr("Note");
    case ColumnCount:
        break;
    }
    return {};
}

std::optional<ReversalInboxQuery::Sort> ReversalInboxModel::sortFor(int column)
{
    switch (column) {
    case Id:
        return ReversalInboxQuery::Sort::Id;
    case RequestedAt:
        return ReversalInboxQuery::Sort::Age;
    case Amount:
        return ReversalInboxQuery::Sort::Amount;
    case Requester:
        return ReversalInboxQuery::Sort::Requester;
    case Reason:
        return ReversalInboxQuery::Sort::Reason;
    default:
        return std::nullopt;
    }
}

void ReversalInboxModel::sort(int column, Qt::SortOrder order)
{
    const auto key = sortFor(column);
    if (!key)
        return;
    // RequestedAt ascending is oldest first, which is the query's Age ascending.
    const bool descending = order == Qt::DescendingOrder;
    if (m_query.sort == *key && m_query.descending == descending && m_loaded)
        return;
    m_query.sort = *key;
    m_query.descending = descending;
    refresh();
}

void ReversalInboxModel::setQuery(const ReversalInboxQuery &query)
{
    m_query = query;
    refresh();
}

bool ReversalInboxModel::canFetchMore(const QModelIndex &parent) const
{
    // True while the first page is on its way; after a failure false, so that a view does
    // not retry on every repaint.
    return !parent.isValid() && m_service && !m_failed && (!m_loaded || m_rows.size() < m_total);
}

void ReversalInboxModel::fetchMore(const QModelIndex &parent)
{
    if (parent.isValid() || m_pageInFlight || !canFetchMore(parent))
        return;
    loadPage();
}

void ReversalInboxModel::refresh()
{
    ++m_generation; // whatever is on its way now is dropped when it arrives
    beginResetModel();
    m_rows.clear();
    m_total = 0;
    m_loaded = false;
    m_failed = false;
    m_pageInFlight = false;
    // A view (or a model tester) may call fetchMore() from endResetModel(): that starts the
    // first page, and it must not start twice.
    endResetModel();
    if (!m_service)
        setLoading(false);
    else if (!m_pageInFlight)
        loadPage();
}

void ReversalInboxModel::setLoading(bool loading)
{
    if (m_loading == loading)
        return;
    m_loading = loading;
    Q_EMIT loadingChanged(loading);
}

void ReversalInboxModel::loadPage()
{
    const quint64 generation = m_generation;
    m_pageInFlight = true;
    setLoading(true);
    // Runs on the worker's thread; the continuation here, on the GUI thread.
    whenReady(m_service->inbox(m_query, int(m_rows.size()), m_pageSize), this,
              [this, generation](const Result<ReversalInboxPage> &result) {
                  if (generation != m_generation)
                      return; // superseded by setQuery(), sort() or refresh()
                  if (!result) {
                      m_failed = true;
                      m_pageInFlight = false;
                      setLoading(false);
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  const ReversalInboxPage &page = result.value();
                  m_loaded = true;
                  m_total = page.total;
                  QList<ReversalRequestRow> rows = page.rows;
                  if (!rows.isEmpty()) {
                      // Still "in flight" while inserting: a fetchMore() from a slot on the
                      // row signals must not ask for this page again.
                      const int first = int(m_rows.size());
                      beginInsertRows({}, first, first + int(rows.size()) - 1);
                      m_rows.append(rows);
                      endInsertRows();
                  }
                  // Fewer rows than asked: the server's list ended (rows may have been
                  // decided meanwhile); do not offer more than there is.
                  if (rows.size() < m_pageSize)
                      m_total = m_rows.size();
                  m_pageInFlight = false;
                  setLoading(false);
                  Q_EMIT pageLoaded(int(rows.size()), m_total);
              });
}

} // namespace ledger
