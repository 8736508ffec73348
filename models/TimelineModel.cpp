#include "TimelineModel.h"

#include "async/WhenReady.h"
#include "console/LedgerService.h"

#include <QFont>
#include <QTimer>

#include <algorithm>

namespace ledger {

namespace {

// Pages in flight at once: enough to overlap a query with painting, few enough that a
// fast scroll does not queue pages nobody looks at any more.

QString shown(const QDateTime &t)
{
    return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"))
                       : QString();
}

} // namespace

TimelineModel::TimelineModel(LedgerService *ledger, QObject *parent)
    : QAbstractTableModel(parent)
    , m_ledger(ledger)
{
    qRegisterMetaType<ledger::AccountHistory>();
}

int TimelineModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    if (isSearchMode())
        return int(m_rows.size());
    return int(m_shownRows);
}

int TimelineModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

const TimelineEntry *TimelineModel::rowEntry(int row) const
{
    if (isSearchMode())
        return row >= 0 && row < m_rows.size() ? &m_rows.at(row) : nullptr;
    const qint64 page = row / m_pageSize;
    const QList<TimelineEntry> *rows = m_cache.use(page);
    if (!rows) {
        requestPage(page);
        return nullptr;
    }
    const int offset = row - int(page * m_pageSize);
    return offset < rows->size() ? &rows->at(offset) : nullptr;
}

std::optional<TimelineEntry> TimelineModel::entryAt(int row) const
{
    if (row < 0 || row >= rowCount())
        return std::nullopt;
    if (isSearchMode())
        return m_rows.at(row);
    const QList<TimelineEntry> *rows = m_cache.peek(row / m_pageSize);
    if (!rows)
        return std::nullopt;
    const int offset = row - int((row / m_pageSize) * m_pageSize);
    if (offset >= rows->size())
        return std::nullopt;
    return rows->at(offset);
}

QDateTime TimelineModel::orderingTime(const TimelineEntry &e) const
{
    return m_order == TimelineOrder::Recorded ? e.recordedAt : e.effectiveAt;
}

QVariant TimelineModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const TimelineEntry *e = rowEntry(index.row());
    if (!e) {
        if (role == LoadedRole)
            return false;
        if (role == Qt::DisplayRole && index.column() == Description) {
            const qint64 page = isSearchMode() ? 0 : index.row() / m_pageSize;
            return m_cache.isFailed(page) ? tr("(not loaded — retry)") : tr("loading…");
        }
        return {};
    }
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Effective:
            return shown(e->effectiveAt);
        case Recorded:
            return shown(e->recordedAt);
        case Description:
            return e->description;
        case Reference:
            return e->externalRef;
        case Amount:
            return e->amount.toString();
        case Balance:
            return e->balance.toString();
        case Marks:
            return e->marks();
        case ColumnCount:
            break;
        }
        return {};
    case Qt::ToolTipRole:
        return tr("Transaction #%1 (%2), entry %3 of the account\nEffective %4 UTC\nRecorded %5 "
                  "UTC%6")
            .arg(e->transactionId)
            .arg(e->kind)
            .arg(e->accountSeq)
            .arg(e->effectiveAt.toUTC().toString(Qt::ISODateWithMs),
                 e->recordedAt.toUTC().toString(Qt::ISODateWithMs),
                 e->marks().isEmpty() ? QString() : QStringLiteral("\n") + e->marks());
    case Qt::TextAlignmentRole:
        if (index.column() == Amount || index.column() == Balance)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::FontRole:
        // Reversed entries read as struck through; reversals in italics. Palette-neutral.
        if (e->isReversed() || e->isReversal()) {
            QFont f;
            f.setStrikeOut(e->isReversed() && index.column() == Amount);
            f.setItalic(e->isReversal());
            return f;
        }
        return {};
    case TransactionIdRole:
        return e->transactionId;
    case AccountSeqRole:
        return e->accountSeq;
    case PositionRole:
        return e->position;
    case EffectiveAtRole:
        return e->effectiveAt;
    case RecordedAtRole:
        return e->recordedAt;
    case LoadedRole:
        return true;
    case AmountMinorRole:
        return e->amount.minor();
    case AmountRole:
        return QVariant::fromValue(e->amount);
    case BalanceRole:
        return QVariant::fromValue(e->balance);
    case IsReversalRole:
        return e->isReversal();
    case IsReversedRole:
        return e->isReversed();
    case PendingRequestRole:
        return e->pendingRequestId;
    case IsBackdatedRole:
        return e->backdated;
    default:
        return {};
    }
}

QVariant TimelineModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (Column(section)) {
    case Effective:
        return tr("Effective");
    case Recorded:
        return tr("Recorded");
    case Description:
        return tr("Description");
    case Reference:
        return tr("Reference");
    case Amount:
        return m_history.currency.isEmpty() ? tr("Amount")
                                            : tr("Amount (%1)").arg(m_history.currency);
    case Balance:
        return tr("Balance");
    case Marks:
        return tr("Marks");
    case ColumnCount:
        break;
    }
    return {};
}

bool TimelineModel::canFetchMore(const QModelIndex &parent) const
{
    return !parent.isValid() && hasAccount() && isSearchMode() && !m_exhausted && !m_opening &&
           !m_inserting;
}

void TimelineModel::fetchMore(const QModelIndex &parent)
{
    if (!canFetchMore(parent) || m_searchPending || !m_ledger)
        return;
    m_searchPending = true;
    setLoading(true);
    const quint64 generation = m_generation;
    const qint64 after = m_rows.isEmpty() ? 0 : m_rows.last().accountSeq;
    // Runs on the worker thread; the continuation on this one.
    whenReady(m_ledger->timelineSearch(m_history.accountId, m_order, after, m_pageSize, m_filter),
              this, [this, generation](const Result<QList<TimelineEntry>> &result) {
                  if (generation != m_generation)
                      return;
                  setLoading(false);
                  if (!result) {
                      m_searchPending = false;
                      fail(result.error());
                      return;
                  }
                  searchArrived(generation, result.value());
              });
}

void TimelineModel::searchArrived(quint64 generation, const QList<TimelineEntry> &rows)
{
    Q_UNUSED(generation);
    if (!rows.isEmpty()) {
        // Views (and the model tester) may call fetchMore() from rowsAboutToBeInserted,
        // before the rows are in: it would continue after the wrong entry.
        m_inserting = true;
        beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + rows.size() - 1));
        m_rows += rows;
        endInsertRows();
        m_inserting = false;
        Q_EMIT pageLoaded(int(m_rows.size() - rows.size()), int(rows.size()));
    }
    if (rows.size() < m_pageSize)
        m_exhausted = true;
    // Only now may the next page be asked for: anything the signals above triggered was
    // refused while this page was still "pending".
    m_searchPending = false;
    Q_EMIT countChanged(m_rows.size(), m_exhausted);
    resolveSearchJump();
}

void TimelineModel::openAccount(const QString &accountCode)
{
    startLoad(accountCode);
}

void TimelineModel::setOrder(TimelineOrder order)
{
    if (order == m_order)
        return;
    m_order = order;
    if (hasAccount())
        startLoad({});
}

void TimelineModel::setFilter(const TimelineFilter &filter)
{
    if (filter == m_filter)
        return;
    m_filter = filter;
    if (hasAccount())
        startLoad({});
}

void TimelineModel::reload()
{
    if (hasAccount() || m_opening)
        startLoad(m_opening ? m_history.code : QString());
}

void TimelineModel::startLoad(const QString &openCode)
{
    if (!m_ledger)
        return;
    const quint64 generation = ++m_generation;
    beginResetModel();
    // Reloading the same account without a search keeps the row count until the new one
    // arrives (the rows read "loading…" meanwhile): a view re-initialises its header, O(n)
    // in the rows, only when the count changes, which an order switch or a retry rarely does.
    if (!openCode.isEmpty() || m_filter.needsSearch()) {
        m_window = {};
        m_shownRows = 0;
    }
    m_firstLoadPending = true; // no page requests against the old window meanwhile
    m_cache.clear();
    m_rows.clear();
    m_exhausted = false;
    // The first search page comes with the first load: no fetchMore() meanwhile.
    m_searchPending = true;
    m_searchJump.reset();
    if (!openCode.isEmpty()) {
        m_history = {};
        m_history.code = openCode;
        m_opening = true;
    }
    endResetModel();
    setLoading(true);

    // Open (audited), count, first page: the first screen needs all three, so they travel
    // together.
    whenReady(m_ledger->timelineStart(openCode, m_history.accountId, m_order, m_filter, m_pageSize),
              this, [this, generation](const Result<TimelineStart> &result) {
                  if (generation != m_generation)
                      return;
                  setLoading(false);
                  if (!result) {
                      m_searchPending = false;
                      m_firstLoadPending = false;
                      // Nothing is known now: no rows rather than rows of another load.
                      beginResetModel();
                      m_window = {};
                      m_shownRows = 0;
                      endResetModel();
                      fail(result.error());
                      return;
                  }
                  applyFirstLoad(result.value()); // clears m_searchPending once rows are in
              });
}

void TimelineModel::applyFirstLoad(const TimelineStart &load)
{
    m_firstLoadPending = false;
    if (load.history) {
        m_history = *load.history;
        m_opening = false;
        Q_EMIT headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
        Q_EMIT accountOpened(m_history);
    }
    if (isSearchMode()) {
        searchArrived(m_generation, load.rows);
        return;
    }
    m_searchPending = false;
    // A view sets up per-row data in its header when the row count changes (QTableView:
    // ~8 ns a row, 80 ms for ten million). Big timelines therefore show their first page
    // at once and grow to the full count once it is painted: the view calls showAllRows()
    // after its first paint; this timer is the fallback when no view paints.
    const bool grow = m_shownRows != load.window.rowCount && load.window.rowCount > m_growThreshold;
    beginResetModel();
    m_window = load.window;
    m_shownRows = grow ? qMin<qint64>(m_pageSize, m_window.rowCount) : m_window.rowCount;
    if (!load.rows.isEmpty())
        m_cache.arrived(0, load.rows);
    endResetModel();
    Q_EMIT countChanged(m_window.rowCount, true);
    if (!load.rows.isEmpty())
        Q_EMIT pageLoaded(0, int(load.rows.size()));
    if (grow) {
        const quint64 generation = m_generation;
        QTimer::singleShot(250, this, [this, generation] {
            if (generation == m_generation)
                showAllRows();
        });
    }
}

void TimelineModel::showAllRows()
{
    if (isSearchMode() || m_shownRows >= m_window.rowCount)
        return;
    beginInsertRows({}, int(m_shownRows), int(m_window.rowCount - 1));
    m_shownRows = m_window.rowCount;
    endInsertRows();
}

void TimelineModel::requestPage(qint64 page) const
{
    if (!hasAccount() || m_firstLoadPending || !m_cache.request(page))
        return;
    sendPage(page);
}

void TimelineModel::sendPage(qint64 page) const
{
    if (!m_ledger)
        return;
    setLoading(true);
    const quint64 generation = m_generation;
    const qint64 position = m_window.firstPosition + page * m_pageSize;
    const int limit = int(qMin<qint64>(m_pageSize, m_window.rowCount - page * m_pageSize));
    // Scrolling down: the page before ends where this one starts, so the server continues
    // after its last entry instead of finding the start by position.
    qint64 afterSeq = 0;
    if (const QList<TimelineEntry> *before = m_cache.peek(page - 1);
        page > 0 && before && before->size() == m_pageSize)
        afterSeq = before->last().accountSeq;
    auto *self = const_cast<TimelineModel *>(this); // the cache is logically const
    whenReady(m_ledger->timelinePage(m_history.accountId, m_order, position, limit, afterSeq), self,
              [self, generation, page](const Result<QList<TimelineEntry>> &result) {
                  if (generation != self->m_generation)
                      return;
                  if (!result) {
                      self->m_cache.failed(page);
                      self->setLoading(self->m_cache.hasPending());
                      self->fail(result.error());
                      return;
                  }
                  self->pageArrived(generation, page, result.value());
              });
}

void TimelineModel::pageArrived(quint64 generation, qint64 page, const QList<TimelineEntry> &rows)
{
    Q_UNUSED(generation);
    m_cache.arrived(page, rows);
    const int first = int(page * m_pageSize);
    const int last = qMin(rowCount() - 1, first + m_pageSize - 1);
    if (last >= first)
        Q_EMIT dataChanged(index(first, 0), index(last, ColumnCount - 1));
    Q_EMIT pageLoaded(first, int(rows.size()));
    sendNextWanted();
    setLoading(m_cache.hasPending());
}

void TimelineModel::sendNextWanted() const
{
    for (const qint64 page : m_cache.takeSendable()) // the most recent wish first
        sendPage(page);
}

void TimelineModel::jumpToDate(const QDateTime &at)
{
    if (!hasAccount() || !m_ledger || !at.isValid())
        return;
    if (isSearchMode()) {
        m_searchJump = at;
        resolveSearchJump();
        return;
    }
    const quint64 generation = m_generation;
    // The position of the first entry at or after `at`: O(log n) on the server.
    whenReady(m_ledger->timelineWindow(m_history.accountId, m_order, at, std::nullopt), this,
              [this, generation](const Result<TimelineWindow> &result) {
                  if (generation != m_generation)
                      return;
                  if (!result) {
                      fail(result.error());
                      return;
                  }
                  if (m_window.rowCount == 0) {
                      Q_EMIT jumpReady(-1);
                      return;
                  }
                  showAllRows(); // the row may lie beyond a first page still growing
                  const qint64 row = result.value().firstPosition - m_window.firstPosition;
                  Q_EMIT jumpReady(int(qBound<qint64>(0, row, m_window.rowCount - 1)));
              });
}

void TimelineModel::resolveSearchJump()
{
    if (!m_searchJump)
        return;
    const QDateTime at = *m_searchJump;
    // Rows arrive in the timeline's order: the first at or after `at` by binary search.
    const auto it = std::lower_bound(
        m_rows.cbegin(), m_rows.cend(), at,
        [this](const TimelineEntry &e, const QDateTime &t) { return orderingTime(e) < t; });
    if (it != m_rows.cend()) {
        m_searchJump.reset();
        Q_EMIT jumpReady(int(it - m_rows.cbegin()));
    } else if (m_exhausted) {
        m_searchJump.reset();
        Q_EMIT jumpReady(int(m_rows.size()) - 1);
    } else {
        fetchMore({}); // keeps going page by page until the date or the end is reached
    }
}

void TimelineModel::fail(const Error &error)
{
    Q_EMIT loadFailed(error);
}

void TimelineModel::setLoading(bool loading) const
{
    if (m_loading == loading)
        return;
    m_loading = loading;
    Q_EMIT const_cast<TimelineModel *>(this)->loadingChanged(loading);
}

} // namespace ledger
