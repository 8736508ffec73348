#pragma once

#include "domain/Account.h"
#include "domain/AccountQuery.h"
#include "domain/Result.h"
#include "domain/Timeline.h"
#include "domain/TimelineStart.h"

#include <QDateTime>
#include <QFuture>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <optional>

namespace ledger {

class DbWorker;

// The console's facade to the ledger's reads: the account navigator, account timelines,
// point-in-time balances, balance charts and transaction detail. Every method may be called
// from any thread (the console calls them on the GUI thread), returns at once, and runs its
// query on the worker's thread; continue with whenReady(future, context, fn)
// (async/WhenReady.h). Results are domain types; failures are Errors, never exceptions.
// If the worker is gone, the future is already finished and holds an Error.
class LedgerService : public QObject
{
    Q_OBJECT

public:
    explicit LedgerService(DbWorker *worker, QObject *parent = nullptr);

    // --- Account navigator --------------------------------------------------------------
    // The count, the first `limit` rows and the currencies in use, in one job.
    QFuture<Result<AccountListStart>> accountListStart(const AccountQuery &query, int limit);
    // Rows [offset, offset + limit) in the query's order. `after`: the row just before
    // offset, when the caller has it (the server continues by keyset instead of skipping).
    QFuture<Result<QList<Account>>> accountPage(const AccountQuery &query, qint64 offset, int limit,
                                                const std::optional<Account> &after = {});
    // The 0-based row of the account in the query's order; -1 when it does not match.
    QFuture<Result<qint64>> accountPosition(const AccountQuery &query, const QString &code);

    // --- Timelines ----------------------------------------------------------------------
    // The first screen of a timeline, in one job. With openCode the account's history is
    // opened (an account.history_opened audit event) and its id used; without it,
    // accountId. A filter that needs a search gives its first page of pageSize rows;
    // otherwise the window [filter.from, filter.to) and its first page.
    QFuture<Result<TimelineStart>> timelineStart(const QString &openCode, qint64 accountId,
                                                 TimelineOrder order, const TimelineFilter &filter,
                                                 int pageSize);
    // Rows at positions [position, position + limit); afterSeq: the entry at position - 1
    // when the caller has it.
    QFuture<Result<QList<TimelineEntry>>> timelinePage(qint64 accountId, TimelineOrder order,
                                                       qint64 position, int limit,
                                                       qint64 afterSeq = 0);
    // Up to `limit` rows matching the filter after the entry afterSeq (0: from the start).
    QFuture<Result<QList<TimelineEntry>>> timelineSearch(qint64 accountId, TimelineOrder order,
                                                         qint64 afterSeq, int limit,
                                                         const TimelineFilter &filter);
    // The slice [from, to) of the timeline in that order: first position and row count.
    QFuture<Result<TimelineWindow>> timelineWindow(qint64 accountId, TimelineOrder order,
                                                   const std::optional<QDateTime> &from,
                                                   const std::optional<QDateTime> &to);

    // --- Point in time, charts, transactions ----------------------------------------------
    QFuture<Result<PointInTime>> pointInTime(qint64 accountId,
                                             const std::optional<QDateTime> &effective,
                                             const std::optional<QDateTime> &knownAt,
                                             int entryLimit);
    QFuture<Result<BalanceSeries>> balanceSeries(qint64 accountId, const QDateTime &from,
                                                 const QDateTime &to, int samples, int markerLimit);
    QFuture<Result<TransactionDetail>> transactionDetail(qint64 transactionId);

    // --- Account lookups (the rebook grid's completion and checks) -----------------------
    // Accounts whose code or name contains `text`, by code, at most `limit`.
    QFuture<Result<QList<Account>>> findAccounts(const QString &text, int limit = 20);
    // The accounts with exactly these codes (those that exist; the others are missing).
    QFuture<Result<QList<Account>>> accountsByCode(const QStringList &codes);

private:
    QPointer<DbWorker> m_worker;
};

} // namespace ledger
