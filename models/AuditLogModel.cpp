#include "AuditLogModel.h"

#include "DisplayZone.h"

#include "async/WhenReady.h"
#include "console/AuditService.h"

#include <QFont>

#include <optional>

namespace ledger {

namespace {

// The Details column shows the start of the JSON on one line; the whole of it is in the
// detail pane. Long cells cost painting time on every scroll.
constexpr qsizetype DetailsPreviewLength = 240;

} // namespace

AuditLogModel::AuditLogModel(AuditService *audit, QObject *parent, int pageSize)
    : QAbstractTableModel(parent)
    , m_audit(audit)
    , m_pageSize(qMax(1, pageSize))
{
    DisplayZone::rewriteOnChange(this, {OccurredAt});
}

int AuditLogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_events.size());
}

int AuditLogModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant AuditLogModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const AuditEvent &e = m_events.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Sequence:
            return e.seq ? QVariant(QString::number(*e.seq)) : QVariant(tr("sealing…"));
        case OccurredAt:
            return DisplayZone::instance()->format(e.occurredAt);
        case Operator:
            return e.operatorName;
        case Action:
            return e.action;
        case ObjectType:
            return e.objectType;
        case ObjectId:
            return e.objectId;
        case Details: {
            QString preview = e.details.left(DetailsPreviewLength);
            if (e.details.size() > DetailsPreviewLength)
                preview += QChar(0x2026);
            return preview;
        }
        case ColumnCount:
            break;
        }
        return {};
    case Qt::ToolTipRole:
        switch (Column(index.column())) {
        case Sequence:
            return e.seq ? tr("Event %1, sequence %2 of the hash chain").arg(e.id).arg(*e.seq)
                         : tr("Event %1 is committed but not yet sealed into the hash chain; "
                              "it gets its sequence number at the next seal.")
                               .arg(e.id);
        case OccurredAt:
            return DisplayZone::instance()->format(e.occurredAt, TimePrecision::Milliseconds);
        case Operator:
            return tr("%1 (database role %2)").arg(e.operatorName, e.sessionRole);
        default:
            return {};
        }
    case Qt::TextAlignmentRole:
        if (index.column() == Sequence)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::FontRole:
        if (index.column() == Sequence && !e.seq) {
            QFont italic;
            italic.setItalic(true);
            return italic;
        }
        return {};
    case EventIdRole:
        return e.id;
    case EventRole:
        return QVariant::fromValue(e);
    case SequenceRole:
        return e.seq ? QVariant(*e.seq) : QVariant();
    case SealedRole:
        return e.seq.has_value();
    case ObjectTypeRole:
        return e.objectType;
    case ObjectIdRole:
        return e.objectId;
    default:
        return {};
    }
}

QVariant AuditLogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (Column(section)) {
    case Sequence:
        return tr("Seq.");
    case OccurredAt:
        return tr("Time");
    case Operator:
        return tr("Operator");
    case Action:
        return tr("Action");
    case ObjectType:
        return tr("Object type");
    case ObjectId:
        return tr("Object");
    case Details:
        return tr("Details");
    case ColumnCount:
        break;
    }
    return {};
}

bool AuditLogModel::canFetchMore(const QModelIndex &parent) const
{
    // While a page is loading this stays true; fetchMore() then does nothing. After a
    // failure it is false, so that a view does not retry on every repaint.
    return !parent.isValid() && m_audit && !m_atEnd && !m_failed;
}

void AuditLogModel::fetchMore(const QModelIndex &parent)
{
    if (parent.isValid() || m_pageInFlight || !canFetchMore(parent))
        return;
    loadPage();
}

void AuditLogModel::setFilter(const AuditFilter &filter)
{
    m_filter = filter;
    // A search of the audit trail is itself on record: with the first page, so that a
    // search whose record cannot be written shows nothing.
    m_recordSearch = !filter.isEmpty();
    refresh();
}

void AuditLogModel::refresh()
{
    ++m_generation; // whatever is under way now is dropped when it arrives
    beginResetModel();
    m_events.clear();
    m_cursor.reset();
    m_atEnd = false;
    m_failed = false;
    m_pageInFlight = false;
    // A view (or a model tester) may call fetchMore() from endResetModel(): that starts
    // the first page, and it must not start twice.
    endResetModel();
    if (!m_audit)
        setLoading(false);
    else if (!m_pageInFlight)
        loadPage(); // "loading" stays on when a superseded load was under way
}

void AuditLogModel::setLoading(bool loading)
{
    if (m_loading == loading)
        return;
    m_loading = loading;
    Q_EMIT loadingChanged(loading);
}

void AuditLogModel::loadPage()
{
    const quint64 generation = m_generation;
    const AuditFilter filter = m_filter;
    const std::optional<qint64> beforeId = m_cursor;
    const int limit = m_pageSize;
    m_pageInFlight = true;
    setLoading(true);
    // One row more than a page tells whether another page follows, so the end is known
    // without an extra, empty round trip. The query runs on the worker's thread; the
    // continuation runs here, on the GUI thread.
    const bool record = m_recordSearch && !beforeId;
    whenReady(m_audit->logPage(filter, beforeId, limit + 1, record), this,
              [this, generation, limit](const Result<QList<AuditEvent>> &result) {
                  if (generation != m_generation)
                      return; // superseded by setFilter() or refresh()
                  if (!result) {
                      m_failed = true;
                      m_pageInFlight = false;
                      setLoading(false);
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  m_recordSearch = false; // recorded once per search, not per reload
                  QList<AuditEvent> events = result.value();
                  m_atEnd = events.size() <= limit;
                  if (!m_atEnd)
                      events.resize(limit);
                  if (!events.isEmpty()) {
                      m_cursor = events.constLast().id;
                      // Still "in flight" while inserting: a fetchMore() from a slot
                      // connected to the row signals must not ask for this page again.
                      const int first = int(m_events.size());
                      beginInsertRows({}, first, first + int(events.size()) - 1);
                      m_events.append(events);
                      endInsertRows();
                  }
                  m_pageInFlight = false;
                  setLoading(false);
                  Q_EMIT pageLoaded(int(events.size()), m_atEnd);
              });
}

} // namespace ledger
