#pragma once

#include "domain/AuditEvent.h"
#include "domain/Error.h"

#include <QAbstractTableModel>
#include <QList>
#include <QPointer>

#include <optional>

namespace ledger {

class AuditService;

// The auditor's log: audit events newest first, loaded lazily in keyset pages
// (AuditService::logPage) as a view scrolls (canFetchMore/fetchMore). The
// filter is applied by the server; setFilter() and refresh() start again from the newest
// event and drop whatever an older load still delivers. GUI thread only; the queries run
// on the audit service's worker thread.
class AuditLogModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        Sequence,
        OccurredAt,
        Operator,
        Action,
        ObjectType,
        ObjectId,
        Details,
        ColumnCount
    };
    enum Role {
        EventIdRole = Qt::UserRole + 1, // qint64
        EventRole,                      // the whole AuditEvent
        SequenceRole,                   // qint64, or an invalid QVariant while unsealed
        SealedRole,                     // bool
        ObjectTypeRole,                 // QString
        ObjectIdRole                    // QString, null when the event names no object
    };

    static constexpr int DefaultPageSize = 200;

    explicit AuditLogModel(AuditService *audit, QObject *parent = nullptr,
                           int pageSize = DefaultPageSize);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;

    // (QObject::event, the event handler, stays callable beside this accessor.)
    using QAbstractTableModel::event;
    const AuditEvent &event(int row) const { return m_events.at(row); }
    const AuditFilter &filter() const { return m_filter; }
    bool isLoading() const { return m_loading; }
    // True once the last page has arrived: every event that matches the filter is loaded.
    bool atEnd() const { return m_atEnd; }
    int pageSize() const { return m_pageSize; }

public Q_SLOTS:
    // Replaces the filter and reloads from the newest event.
    void setFilter(const ledger::AuditFilter &filter);
    // Reloads from the newest event with the same filter (new events, events sealed since).
    void refresh();

Q_SIGNALS:
    // All emitted on the GUI thread.
    void loadingChanged(bool loading);
    // A page arrived: `added` rows were appended; atEnd as atEnd().
    void pageLoaded(int added, bool atEnd);
    // A page could not be loaded; the rows already shown stay. fetchMore() is not offered
    // again until refresh() or setFilter().
    void loadFailed(const ledger::Error &error);

private:
    void loadPage();
    void setLoading(bool loading);

    QPointer<AuditService> m_audit;
    const int m_pageSize;
    AuditFilter m_filter;
    QList<AuditEvent> m_events;
    std::optional<qint64> m_cursor; // keyset: the id of the oldest event loaded so far
    quint64 m_generation = 0;       // bumped by every restart; older loads' results are dropped
    bool m_recordSearch = false;    // the next first page also records a search.run event
    bool m_pageInFlight = false;    // a page of the current generation is being loaded
    bool m_loading = false;         // as signalled; stays on across a restart
    bool m_atEnd = false;
    bool m_failed = false;
};

} // namespace ledger
