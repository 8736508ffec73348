#pragma once

#include "domain/Error.h"
#include "domain/Recon.h"

#include <QAbstractTableModel>
#include <QList>
#include <QPointer>

#include <optional>

namespace ledger {

class ReconService;

// The reconciliation exceptions queue as the server pages, sorts and filters it
// (recon.exception_queue / exception_count): the count and the first page on setQuery(),
// more pages as a view scrolls (canFetchMore/fetchMore, offset paging in the server's order).
// sort() asks the server again for the columns it sorts by (age, due, amount, type, id).
// Overdue rows are drawn in red. Reloads by itself when the service reports a change (an
// import, a run, a decision made in this console). GUI thread only; the queries run on the
// service's interactive worker.
class ReconExceptionModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        Id,
        Type,
        State,
        Assignee,
        Account,
        Amount,
        Difference,
        ValueDate,
        Reference,
        Counterparty,
        Raised,
        Due,
        ColumnCount
    };
    enum Role {
        ExceptionIdRole = Qt::UserRole + 1, // qint64
        LastEventRole,                      // qint64: the expected event for acting on it
        LineIdRole,                         // qint64, 0: none
        EntryIdRole,                        // qint64, 0: none
        TransactionIdRole,                  // qint64, 0: none
        OverdueRole,                        // bool
        StateRole,                          // QString
        TypeRole                            // QString
    };

    static constexpr int DefaultPageSize = 200;

    explicit ReconExceptionModel(ReconService *service, QObject *parent = nullptr,
                                 int pageSize = DefaultPageSize);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;
    // Id, Type, Amount, Raised (age) and Due sort on the server; other columns keep the order.
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

    const ReconException &exception(int row) const { return m_rows.at(row); }
    int rowOf(qint64 exceptionId) const; // -1 when not loaded
    const ReconExceptionQuery &query() const { return m_query; }
    qint64 total() const { return m_total; } // rows matching on the server
    bool isLoading() const { return m_loading; }
    int pageSize() const { return m_pageSize; }

    // The server's sort key for a column ("age", "due", "amount", "type", "id"), if any.
    static std::optional<QString> sortFor(int column);
    static QString typeLabel(const QString &type);
    static QString amountText(qint64 minor, int exponent, const QString &currency);

public Q_SLOTS:
    // Replaces filters (the page fields are the model's) and reloads from the first page.
    void setQuery(const ledger::ReconExceptionQuery &query);
    void refresh();

Q_SIGNALS:
    // All on the GUI thread.
    void loadingChanged(bool loading);
    void pageLoaded(int added, qint64 total);
    void loadFailed(const ledger::Error &error);

private:
    void loadPage();
    void setLoading(bool loading);

    QPointer<ReconService> m_service;
    const int m_pageSize;
    ReconExceptionQuery m_query;
    QList<ReconException> m_rows;
    qint64 m_total = 0;
    quint64 m_generation = 0; // bumped by every reload; older answers are dropped
    bool m_pageInFlight = false;
    bool m_loaded = false;
    bool m_loading = false;
    bool m_failed = false;
};

} // namespace ledger
