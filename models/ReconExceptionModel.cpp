#include "ReconExceptionModel.h"

#include "DisplayZone.h"

#include "async/WhenReady.h"
#include "console/ReconService.h"
#include "domain/Money.h"

#include <QBrush>
#include <QColor>

namespace ledger {

ReconExceptionModel::ReconExceptionModel(ReconService *service, QObject *parent, int pageSize)
    : QAbstractTableModel(parent)
    , m_service(service)
    , m_pageSize(qBound(1, pageSize, 10000))
{
    DisplayZone::rewriteOnChange(this, {Raised, Due});
    // Imports, runs and decisions made through this console change the queue.
    if (service)
        connect(service, &ReconService::changed, this, &ReconExceptionModel::refresh);
}

int ReconExceptionModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ReconExceptionModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

int ReconExceptionModel::rowOf(qint64 exceptionId) const
{
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows.at(i).id == exceptionId)
            return i;
    }
    return -1;
}

QString ReconExceptionModel::typeLabel(const QString &type)
{
    if (type == QLatin1String("missing_in_ledger"))
        return tr("missing in ledger");
    if (type == QLatin1String("missing_in_statement"))
        return tr("missing in statement");
    if (type == QLatin1String("amount_mismatch"))
        return tr("amount mismatch");
    if (type == QLatin1String("date_out_of_tolerance"))
        return tr("date out of tolerance");
    if (type == QLatin1String("duplicate_line"))
        return tr("duplicate line");
    if (type == QLatin1String("statement_unbalanced"))
        return tr("statement does not balance");
    return type;
}

QString ReconExceptionModel::amountText(qint64 minor, int exponent, const QString &currency)
{
    const QString amount = Money::formatMinor(minor, exponent);
    return currency.isEmpty() ? amount : QStringLiteral("%1 %2").arg(amount, currency);
}

QVariant ReconExceptionModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ReconException &e = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Id:
            return QString::number(e.id);
        case Type:
            return typeLabel(e.type);
        case State:
            return e.state;
        case Assignee:
            return e.assignee;
        case Account:
            return e.account;
        case Amount:
            return amountText(e.amountMinor, e.exponent, e.currency);
        case Difference:
            return e.hasDifference ? Money::formatMinor(e.differenceMinor, e.exponent) : QString();
        case ValueDate:
            return (e.valueDate.isValid() ? e.valueDate : e.entryDate).toString(Qt::ISODate);
        case Reference:
            return e.lineId ? e.bankReference : e.externalRef;
        case Counterparty:
            return e.counterparty;
        case Raised:
            return DisplayZone::instance()->format(e.raisedAt, TimePrecision::Minutes);
        case Due:
            return DisplayZone::instance()->format(e.dueAt, TimePrecision::Minutes);
        case ColumnCount:
            break;
        }
        return {};
    case Qt::ToolTipRole:
        switch (Column(index.column())) {
        case Due:
            return e.overdue
                       ? tr("Overdue since %1")
                             .arg(DisplayZone::instance()->format(e.dueAt, TimePrecision::Minutes))
                       : QVariant();
        case Counterparty:
            return e.remittance.isEmpty() ? QVariant() : QVariant(e.remittance);
        case Account:
            return tr("Bank account %1 (%2)").arg(e.bankAccount, e.currency);
        default:
            return {};
        }
    case Qt::ForegroundRole:
        if (e.overdue)
            return QBrush(QColor(0xb0, 0x3a, 0x2e));
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Id || index.column() == Amount || index.column() == Difference)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case ExceptionIdRole:
        return e.id;
    case LastEventRole:
        return e.lastEventId;
    case LineIdRole:
        return e.lineId;
    case EntryIdRole:
        return e.entryId;
    case TransactionIdRole:
        return e.transactionId;
    case OverdueRole:
        return e.overdue;
    case StateRole:
        return e.state;
    case TypeRole:
        return e.type;
    default:
        return {};
    }
}

QVariant ReconExceptionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (Column(section)) {
    case Id:
        return tr("Exception");
    case Type:
        return tr("Type");
    case State:
        return tr("State");
    case Assignee:
        return tr("Assignee");
    case Account:
        return tr("Account");
    case Amount:
        return tr("Amount");
    case Difference:
        return tr("Difference");
    case ValueDate:
        return tr("Date");
    case Reference:
        return tr("Reference");
    case Counterparty:
        return tr("Counterparty");
    case Raised:
        return tr("Raised");
    case Due:
        return tr("Due");
    case ColumnCount:
        break;
    }
    return {};
}

std::optional<QString> ReconExceptionModel::sortFor(int column)
{
    switch (column) {
    case Id:
        return QStringLiteral("id");
    case Type:
        return QStringLiteral("type");
    case Amount:
        return QStringLiteral("amount");
    case Raised:
        return QStringLiteral("age");
    case Due:
        return QStringLiteral("due");
    default:
        return std::nullopt;
    }
}

void ReconExceptionModel::sort(int column, Qt::SortOrder order)
{
    const auto key = sortFor(column);
    if (!key)
        return;
    // Raised ascending is oldest first: the server's "age" ascending (raised_at ascending).
    const bool descending = order == Qt::DescendingOrder;
    if (m_query.sort == *key && m_query.descending == descending && m_loaded)
        return;
    m_query.sort = *key;
    m_query.descending = descending;
    refresh();
}

void ReconExceptionModel::setQuery(const ReconExceptionQuery &query)
{
    m_query = query;
    refresh();
}

bool ReconExceptionModel::canFetchMore(const QModelIndex &parent) const
{
    // After a failure false, so that a view does not ask again on every repaint.
    return !parent.isValid() && m_service && !m_failed && (!m_loaded || m_rows.size() < m_total);
}

void ReconExceptionModel::fetchMore(const QModelIndex &parent)
{
    if (!parent.isValid() && !m_pageInFlight && canFetchMore(parent))
        loadPage();
}

void ReconExceptionModel::refresh()
{
    ++m_generation;
    beginResetModel();
    m_rows.clear();
    m_total = 0;
    m_loaded = false;
    m_failed = false;
    m_pageInFlight = false;
    endResetModel(); // a view may fetchMore() from here: that starts the first page
    if (!m_service)
        setLoading(false);
    else if (!m_pageInFlight)
        loadPage();
}

void ReconExceptionModel::setLoading(bool loading)
{
    if (m_loading != loading) {
        m_loading = loading;
        Q_EMIT loadingChanged(loading);
    }
}

void ReconExceptionModel::loadPage()
{
    const quint64 generation = m_generation;
    m_pageInFlight = true;
    setLoading(true);
    ReconExceptionQuery q = m_query;
    q.offset = m_rows.size();
    q.limit = m_pageSize;
    // The first page of a reload asks for the count too; both run on the worker, in order,
    // so the count is here before the page.
    if (!m_loaded) {
        whenReady(m_service->exceptionCount(q), this,
                  [this, generation](const Result<qint64> &count) {
                      if (generation == m_generation && count)
                          m_total = qMax(m_total, count.value());
                  });
    }
    whenReady(m_service->exceptions(q), this,
              [this, generation](const Result<QList<ReconException>> &result) {
                  // GUI thread.
                  if (generation != m_generation)
                      return; // superseded by setQuery(), sort() or refresh()
                  m_pageInFlight = false;
                  if (!result) {
                      m_failed = true;
                      setLoading(false);
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  const QList<ReconException> &rows = result.value();
                  m_loaded = true;
                  if (!rows.isEmpty()) {
                      const int at = int(m_rows.size());
                      m_pageInFlight = true; // no second request from a slot on the insert
                      beginInsertRows({}, at, at + int(rows.size()) - 1);
                      m_rows.append(rows);
                      endInsertRows();
                      m_pageInFlight = false;
                  }
                  // A short page ends the list whatever the count said (rows were decided
                  // meanwhile); a count below what arrived is as stale.
                  if (rows.size() < m_pageSize || m_total < m_rows.size())
                      m_total = m_rows.size();
                  setLoading(false);
                  Q_EMIT pageLoaded(int(rows.size()), m_total);
              });
}

} // namespace ledger
