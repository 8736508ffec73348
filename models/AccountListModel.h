#pragma once

#include "domain/Account.h"
#include "domain/Error.h"

#include <QAbstractTableModel>
#include <QList>
#include <QPointer>

namespace ledger {

class DbWorker;

// The account navigator's rows. Loads asynchronously through a DbWorker; the GUI thread
// only swaps the finished list in. Sorting and filtering belong in proxy models.
class AccountListModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Code, Name, Kind, Currency, Balance, NormalSide, OpenedAt, ColumnCount };
    enum Role { AccountIdRole = Qt::UserRole + 1, AccountCodeRole, AllowNegativeRole, SortRole };

    explicit AccountListModel(DbWorker *worker, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    bool isLoading() const { return m_loading; }
    const Account &account(int row) const { return m_accounts.at(row); }

public Q_SLOTS:
    // Starts a reload; a reload already running is superseded (its result is dropped).
    void refresh();
    // Puts a search the user ran over these rows on record (search.run); the filtering
    // itself happens in a proxy, over rows already loaded. Failures come as loadFailed.
    void noteSearch(const QString &text, int matches);

Q_SIGNALS:
    void loadingChanged(bool loading);
    void loaded(int count);
    void loadFailed(const ledger::Error &error);

private:
    void setLoading(bool loading);

    QPointer<DbWorker> m_worker;
    QList<Account> m_accounts;
    quint64 m_generation = 0;
    bool m_loading = false;
};

} // namespace ledger
