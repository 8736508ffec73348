#pragma once

#include "domain/Error.h"
#include "domain/StatementIssue.h"

#include <QAbstractTableModel>
#include <QList>
#include <QPointer>

namespace ledger {

class StatementService;

// The Statements tab's list: issued statements, newest first, each with its restatement as
// of now, loaded in keyset pages (StatementService::issuedStatements, beforeId = the last
// row's id) as a view scrolls (canFetchMore/fetchMore). The filter (account, restated only)
// is applied by the server; setFilter() and refresh() start again from the newest statement
// and drop whatever an older load still delivers. Every page read is an audit event
// (statement.listed). GUI thread only; the queries run on the service's worker.
//
// Dates of a period are shown in the statement's own time zone, named; amounts exactly, in
// the currency's minor units (Money::formatMinor).
class IssuedStatementModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        Reference,
        Account,
        Period,
        KnownAt,
        Format,
        IssuedBy,
        IssuedAt,
        Copies,
        Restated,
        OpeningDifference,
        ClosingDifference,
        LateEntries,
        ColumnCount
    };
    enum Role {
        StatementIdRole = Qt::UserRole + 1, // qint64
        AccountCodeRole,                    // QString
        RestatedRole                        // bool
    };

    static constexpr int DefaultPageSize = 200;

    explicit IssuedStatementModel(StatementService *statements, QObject *parent = nullptr,
                                  int pageSize = DefaultPageSize);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;

    const IssuedStatement &statement(int row) const { return m_rows.at(row); }
    QString accountFilter() const { return m_account; }
    bool restatedOnly() const { return m_restatedOnly; }
    bool isLoading() const { return m_loading; }
    bool atEnd() const { return m_atEnd; }
    int pageSize() const { return m_pageSize; }

    // A difference as the list shows it: signed ("+1.50 EUR", "-0.01 EUR", "0.00 EUR").
    static QString formatDifference(qint64 minor, const StatementRecord &record);
    // The period's days in the statement's zone, the last included, and the zone's name.
    static QString formatPeriod(const StatementRecord &record);

public Q_SLOTS:
    // Replaces the filter (an account code, empty: every account) and reloads.
    void setFilter(const QString &accountCode, bool restatedOnly);
    // Reloads from the newest statement with the same filter.
    void refresh();

Q_SIGNALS:
    // GUI thread.
    void loadingChanged(bool loading);
    void pageLoaded(int added, bool atEnd);
    // A page could not be loaded; the rows already shown stay, and fetchMore() is not
    // offered again until refresh() or setFilter().
    void loadFailed(const ledger::Error &error);

private:
    void requestPage();
    void setLoading(bool loading);

    QPointer<StatementService> m_statements;
    const int m_pageSize;
    QString m_account;
    bool m_restatedOnly = false;
    QList<IssuedStatement> m_rows;
    quint64 m_generation = 0; // bumped by every restart; older answers are dropped
    bool m_inFlight = false;
    bool m_loading = false;
    bool m_atEnd = false;
    bool m_failed = false;
};

} // namespace ledger
