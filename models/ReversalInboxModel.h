#pragma once

#include "domain/Error.h"
#include "domain/Reversal.h"

#include <QAbstractTableModel>
#include <QList>
#include <QPointer>

#include <optional>

namespace ledger {

class ReversalService;

// Reversal requests as the server pages, sorts and filters them: the approvals inbox
// (pending requests) and "my requests" (query.mineOnly, every state). Rows arrive in pages
// of pageSize() as a view scrolls (canFetchMore/fetchMore, offset paging in the server's
// order); sort() and setQuery() ask the server again from the first page. A row the
// signed-in operator requested is greyed, with a tooltip saying another supervisor must
// decide. Reloads by itself after any request or decision made through the service.
// GUI thread only; the queries run on the service's worker.
class ReversalInboxModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        Id,
        RequestedAt,
        Transaction,
        Reason,
        Requester,
        Amount,
        Accounts,
        State,
        ExpiresAt,
        Reversal,
        Rebook,
        Note,
        ColumnCount
    };
    enum Role {
        RequestIdRole = Qt::UserRole + 1, // qint64
        TransactionIdRole,                // qint64: the original
        ReversalTransactionIdRole,        // qint64, 0 until approved
        RebookTransactionIdRole,          // qint64, 0 without a rebook
        OwnRequestRole,                   // bool
        StateRole,                        // QString
        IsRebookRole                      // bool
    };

    static constexpr int DefaultPageSize = 200;

    explicit ReversalInboxModel(ReversalService *service, QObject *parent = nullptr,
                                int pageSize = DefaultPageSize);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;
    // Id, RequestedAt (age), Amount, Requester and Reason sort on the server; the other
    // columns keep the current order.
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

    const ReversalRequestRow &row(int row) const { return m_rows.at(row); }
    // The row showing that request, or -1.
    int rowOf(qint64 requestId) const;
    const ReversalInboxQuery &query() const { return m_query; }
    // Rows matching the query on the server (the loaded ones are rowCount()).
    qint64 total() const { return m_total; }
    bool isLoading() const { return m_loading; }
    bool atEnd() const { return m_loaded && m_rows.size() >= m_total; }
    int pageSize() const { return m_pageSize; }

    // The query's sort for a column, if the server sorts by it.
    static std::optional<ReversalInboxQuery::Sort> sortFor(int column);

public Q_SLOTS:
    // Replaces filters and sort (states, reason, requester, account, amounts, age, mine)
    // and reloads from the first page.
    void setQuery(const ledger::ReversalInboxQuery &query);
    void refresh();

Q_SIGNALS:
    // All on the GUI thread.
    void loadingChanged(bool loading);
    void pageLoaded(int added, qint64 total);
    // The rows shown stay; fetchMore() is not offered again until refresh() or setQuery().
    void loadFailed(const ledger::Error &error);

private:
    void loadPage();
    void setLoading(bool loading);

    QPointer<ReversalService> m_service;
    const int m_pageSize;
    ReversalInboxQuery m_query;
    QList<ReversalRequestRow> m_rows;
    qint64 m_total = 0;
    quint64 m_generation = 0; // bumped by every reload; older pages are dropped
    bool m_pageInFlight = false;
    bool m_loaded = false; // the first page of this generation arrived
    bool m_loading = false;
    bool m_failed = false;
};

} // namespace ledger
