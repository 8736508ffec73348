#pragma once

#include "domain/Error.h"
#include "domain/Timeline.h"
#include "domain/TimelineStart.h"

#include "PageCache.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>
#include <QPointer>
#include <QSet>

#include <optional>

namespace ledger {

class LedgerService;

// One account's timeline, lazily, for accounts of any size. Every query runs on the ledger
// service's worker thread; this model (GUI thread) only keeps what came back.
//
// Two modes:
//  - windowed (no filter, or a date range only): rowCount() is the exact number of
//    entries, known in O(log n) without count(*); rows are fetched in pages of
//    pageSize() by position (keyset ranges on the server) when a view asks for them, and
//    at most maxCachedPages() pages are kept (least recently used go first), so scrolling
//    through ten million entries holds a few thousand rows at a time.
//  - search (an amount or text filter): rows are appended page by page through
//    canFetchMore()/fetchMore(), each page a keyset continuation after the last entry;
//    the count is exact once the last page has arrived (countChanged(n, true)) and shown
//    as "at least n" before.
// Positions in effective order can shift when a backdated entry is posted meanwhile;
// reload() (or re-opening) shows the ledger as it is now.
class TimelineModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        Effective,
        Recorded,
        Description,
        Reference,
        Amount,
        Balance,
        Marks,
        ColumnCount
    };
    enum Role {
        TransactionIdRole = Qt::UserRole + 1,
        AccountSeqRole,
        PositionRole,
        EffectiveAtRole, // QDateTime (UTC)
        RecordedAtRole,
        LoadedRole, // false while the row's page is on its way
        AmountMinorRole,
        IsReversalRole,
        IsReversedRole,
        IsBackdatedRole,
        PendingRequestRole, // qint64: the pending reversal request of the transaction (0: none)
        AmountRole,         // ledger::Money, on the account's normal side
        BalanceRole         // ledger::Money: the running balance after the entry
    };

    explicit TimelineModel(LedgerService *ledger, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;

    // Opens the account's history (an audit event on the server) and loads its first page.
    void openAccount(const QString &accountCode);
    void setOrder(TimelineOrder order);
    void setFilter(const TimelineFilter &filter);
    // Finds the first row at or after `at` in the current order; answers with jumpReady().
    void jumpToDate(const QDateTime &at);
    // Loads again from the database (after a failure, or to see new entries).
    void reload();

    bool hasAccount() const { return m_history.accountId != 0; }
    const AccountHistory &history() const { return m_history; }
    TimelineOrder order() const { return m_order; }
    const TimelineFilter &filter() const { return m_filter; }
    bool isSearchMode() const { return m_filter.needsSearch(); }
    bool isCountExact() const { return !isSearchMode() || m_exhausted; }
    // The loaded entry at a row, if its page is here.
    std::optional<TimelineEntry> entryAt(int row) const;

    int pageSize() const { return m_pageSize; }
    void setPageSize(int rows) { m_pageSize = qBound(10, rows, 10000); }
    int maxCachedPages() const { return m_maxPages; }
    void setMaxCachedPages(int pages)
    {
        m_maxPages = qMax(4, pages);
        m_cache.setMaxPages(m_maxPages);
    }
    int cachedPageCount() const { return m_cache.size(); }
    // Timelines longer than this show their first page first and grow to the full row
    // count from the event loop right after (see applyFirstLoad).
    void setProgressiveThreshold(qint64 rows) { m_growThreshold = rows; }
    // True once rowCount() is the whole (windowed) timeline.
    bool isFullyShown() const { return isSearchMode() || m_shownRows == m_window.rowCount; }
    // Grows a big timeline from its first page to the full row count (a view calls it once
    // the first page is painted).
    void showAllRows();

Q_SIGNALS:
    void accountOpened(const ledger::AccountHistory &history);
    // rows: the row count; exact false while a search has more pages to come.
    void countChanged(qint64 rows, bool exact);
    void pageLoaded(int firstRow, int rows);
    // The row jumpToDate() asked for (-1: the timeline is empty).
    void jumpReady(int row);
    void loadFailed(const ledger::Error &error);
    void loadingChanged(bool loading);

private:
    void startLoad(const QString &openCode);
    void applyFirstLoad(const TimelineStart &load);
    void requestPage(qint64 page) const;
    void sendPage(qint64 page) const;
    void pageArrived(quint64 generation, qint64 page, const QList<TimelineEntry> &rows);
    void sendNextWanted() const;
    void searchArrived(quint64 generation, const QList<TimelineEntry> &rows);
    void resolveSearchJump();
    void fail(const Error &error);
    void setLoading(bool loading) const;
    const TimelineEntry *rowEntry(int row) const;
    QDateTime orderingTime(const TimelineEntry &e) const;

    QPointer<LedgerService> m_ledger;
    AccountHistory m_history;
    TimelineOrder m_order = TimelineOrder::Effective;
    TimelineFilter m_filter;
    quint64 m_generation = 0; // bumped by every reset; older results are dropped
    int m_pageSize = 200;
    int m_maxPages = 40;

    // Windowed mode.
    TimelineWindow m_window;
    qint64 m_shownRows = 0; // rowCount(): m_window.rowCount, or a first page while growing
    qint64 m_growThreshold = 200000;
    // The cache is filled from data() (const): a view asking for a row is what loads it.
    mutable PageCache<TimelineEntry> m_cache{2, 4}; // 2 pages on their way, 4 wishes kept

    // Search mode.
    QList<TimelineEntry> m_rows;
    bool m_exhausted = false;
    bool m_searchPending = false;
    bool m_inserting = false;
    std::optional<QDateTime> m_searchJump;

    mutable bool m_loading = false;
    bool m_opening = false;
    bool m_firstLoadPending = false; // a reset's first load is on its way
};

} // namespace ledger
