#include "LedgerService.h"

#include "WorkerCall.h"
#include "db/AccountRepository.h"
#include "db/TimelineRepository.h"

namespace ledger {

LedgerService::LedgerService(DbWorker *worker, QObject *parent)
    : QObject(parent)
    , m_worker(worker)
{}

QFuture<Result<AccountListStart>> LedgerService::accountListStart(const AccountQuery &query,
                                                                  int limit)
{
    // One job: the navigator's first screen needs all three (the worker has one connection).
    return callOn(m_worker, [query, limit](Connection &c) {
        AccountListStart start;
        start.count = AccountRepository::countMatching(c, query);
        start.rows = AccountRepository::page(c, query, 0, limit);
        start.currencies = AccountRepository::currenciesInUse(c);
        return start;
    });
}

QFuture<Result<QList<Account>>> LedgerService::accountPage(const AccountQuery &query, qint64 offset,
                                                           int limit,
                                                           const std::optional<Account> &after)
{
    return callOn(m_worker, [query, offset, limit, after](Connection &c) {
        return AccountRepository::page(c, query, offset, limit, after ? &*after : nullptr);
    });
}

QFuture<Result<qint64>> LedgerService::accountPosition(const AccountQuery &query,
                                                       const QString &code)
{
    return callOn(m_worker, [query, code](Connection &c) {
        return AccountRepository::positionOf(c, query, code);
    });
}

QFuture<Result<TimelineStart>> LedgerService::timelineStart(const QString &openCode,
                                                            qint64 accountId, TimelineOrder order,
                                                            const TimelineFilter &filter,
                                                            int pageSize)
{
    // One job: open (audited), count, first page. The first screen needs all three, so
    // they travel together.
    return callOn(m_worker, [=](Connection &c) {
        TimelineStart start;
        qint64 id = accountId;
        if (!openCode.isEmpty()) {
            start.history = TimelineRepository::openHistory(c, openCode);
            id = start.history->accountId;
        }
        if (filter.needsSearch()) {
            start.rows = TimelineRepository::search(c, id, order, 0, pageSize, filter);
        } else {
            start.window = TimelineRepository::window(c, id, order, filter.from, filter.to);
            if (start.window.rowCount > 0)
                start.rows =
                    TimelineRepository::page(c, id, order, start.window.firstPosition,
                                             int(qMin<qint64>(pageSize, start.window.rowCount)));
        }
        return start;
    });
}

QFuture<Result<QList<TimelineEntry>>> LedgerService::timelinePage(qint64 accountId,
                                                                  TimelineOrder order,
                                                                  qint64 position, int limit,
                                                                  qint64 afterSeq)
{
    return callOn(m_worker, [=](Connection &c) {
        return TimelineRepository::page(c, accountId, order, position, limit, afterSeq);
    });
}

QFuture<Result<QList<TimelineEntry>>> LedgerService::timelineSearch(qint64 accountId,
                                                                    TimelineOrder order,
                                                                    qint64 afterSeq, int limit,
                                                                    const TimelineFilter &filter)
{
    return callOn(m_worker, [=](Connection &c) {
        return TimelineRepository::search(c, accountId, order, afterSeq, limit, filter);
    });
}

QFuture<Result<TimelineWindow>> LedgerService::timelineWindow(qint64 accountId, TimelineOrder order,
                                                              const std::optional<QDateTime> &from,
                                                              const std::optional<QDateTime> &to)
{
    return callOn(m_worker, [=](Connection &c) {
        return TimelineRepository::window(c, accountId, order, from, to);
    });
}

QFuture<Result<PointInTime>> LedgerService::pointInTime(qint64 accountId,
                                                        const std::optional<QDateTime> &effective,
                                                        const std::optional<QDateTime> &knownAt,
                                                        int entryLimit)
{
    return callOn(m_worker, [=](Connection &c) {
        return TimelineRepository::pointInTime(c, accountId, effective, knownAt, entryLimit);
    });
}

QFuture<Result<BalanceSeries>> LedgerService::balanceSeries(qint64 accountId, const QDateTime &from,
                                                            const QDateTime &to, int samples,
                                                            int markerLimit)
{
    return callOn(m_worker, [=](Connection &c) {
        return TimelineRepository::balanceSeries(c, accountId, from, to, samples, markerLimit);
    });
}

QFuture<Result<TransactionDetail>> LedgerService::transactionDetail(qint64 transactionId)
{
    return callOn(m_worker, [transactionId](Connection &c) {
        return TimelineRepository::transactionDetail(c, transactionId);
    });
}

QFuture<Result<QList<Account>>> LedgerService::findAccounts(const QString &text, int limit)
{
    return callOn(m_worker, [text, limit](Connection &c) {
        AccountRepository::Query query;
        query.text = text;
        return AccountRepository::page(c, query, 0, qBound(1, limit, 200));
    });
}

QFuture<Result<QList<Account>>> LedgerService::accountsByCode(const QStringList &codes)
{
    return callOn(m_worker, [codes](Connection &c) {
        // The navigator's search matches code or name by substring; the code's own row in
        // that list is found by position (exact, however many other accounts match).
        QList<Account> found;
        for (const QString &code : codes) {
            AccountRepository::Query query;
            query.text = code;
            const qint64 row = AccountRepository::positionOf(c, query, code);
            if (row < 0)
                continue;
            for (const Account &a : AccountRepository::page(c, query, row, 1)) {
                if (a.code == code)
                    found.append(a);
            }
        }
        return found;
    });
}

} // namespace ledger
