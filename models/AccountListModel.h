#pragma once

#include "PageCache.h"
#include "domain/Account.h"
#include "domain/AccountQuery.h"
#include "domain/Error.h"

#include <QAbstractTableModel>
#include <QList>
#include <QPointer>

namespace ledger {

class AuditService;
class LedgerService;

// The account navigator's rows, lazy for ledgers of any size. The server filters (text in
// code or name, kind, currency), sorts (sort(), as a view's header asks) and counts; the
// model knows the exact row count and fetches pages of pageSize() rows by position when a
// view asks for them, keeping at most maxCachedPages() (least recently used go first), so
// a million accounts cost a count and the pages looked at. Every query runs on the ledger
// service's worker thread; the GUI thread only swaps results in, and drops results of loads
// superseded by a newer refresh, filter or sort.
class AccountListModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Code, Name, Kind, Currency, Balance, NormalSide, OpenedAt, ColumnCount };
    enum Role {
        AccountIdRole = Qt::UserRole + 1,
        AccountCodeRole,
        AllowNegativeRole,
        // One comparable value per cell that orders as the server does (ascending): the
        // column's text, and for Balance Money::sortKey() (currency first, then the amount
        // within it; minor units alone would sort 100.00 EUR with 10000 JPY).
        SortRole,
        LoadedRole, // false while the row's page is on its way
        BalanceRole // ledger::Money: the balance on the account's normal side
    };

    // audit: where noteSearch() puts searches on record (none: they are not recorded).
    explicit AccountListModel(LedgerService *ledger, AuditService *audit,
                              QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    // Asks the server for the new order (reloads from the top).
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

    bool isLoading() const { return m_loading; }
    // The account at a row, if its page is here (else nullptr, and the page is asked for).
    const Account *account(int row) const;
    const AccountQuery &query() const { return m_query; }

    int pageSize() const { return m_pageSize; }
    void setPageSize(int rows) { m_pageSize = qBound(10, rows, 5000); }
    int maxCachedPages() const { return m_maxPages; }
    void setMaxCachedPages(int pages)
    {
        m_maxPages = qMax(4, pages);
        m_cache.setMaxPages(m_maxPages);
    }
    int cachedPageCount() const { return m_cache.size(); }

public Q_SLOTS:
    // Counts again and drops every cached page (new accounts, new balances). A reload
    // already running is superseded.
    void refresh();
    // Replaces the filter (empty: any) and reloads.
    void setFilter(const QString &text, const QString &kind, const QString &currency);
    // Finds the account's row in the current filter and order: located(code, row), row -1
    // when it is not listed.
    void locate(const QString &code);
    // Puts a search the user ran on record (search.run, through the audit service) with the
    // number of matches. Failures come as loadFailed.
    void noteSearch(const QString &text, int matches);

Q_SIGNALS:
    void loadingChanged(bool loading);
    // The count arrived with the first page: `count` rows match.
    void loaded(int count);
    void currenciesChanged(const QStringList &currencies);
    void located(const QString &code, int row);
    void loadFailed(const ledger::Error &error);

private:
    void requestPage(int page) const;
    void sendPage(int page) const;
    void pageArrived(int page, const QList<Account> &rows);
    void setLoading(bool loading) const;
    void updateLoading() const;

    QPointer<LedgerService> m_ledger;
    QPointer<AuditService> m_audit;
    AccountQuery m_query;
    int m_pageSize = 200;
    int m_maxPages = 50;
    qint64 m_count = 0;
    bool m_started = false; // refresh() has been called: sort() and setFilter() reload
    bool m_firstLoadPending = false;
    // The page cache, filled on demand from const data(): logically const. Two pages on
    // their way at once, eight wishes kept meanwhile.
    mutable PageCache<Account> m_cache{2, 8};
    quint64 m_generation = 0; // bumped by every reload; older results are dropped
    mutable bool m_loading = false;
};

} // namespace ledger
