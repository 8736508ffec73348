#pragma once

#include "domain/Timeline.h"

#include <QDateTime>
#include <QList>
#include <QString>

#include <optional>

namespace ledger {

class Connection;

// Account timelines, point-in-time explanations, transaction detail and chart data, through
// the functions of migration 0014_timeline.sql (which check the session and hold every rule).
// Synchronous; throws DbException. Call through DbWorker from the GUI.
namespace TimelineRepository {

// Opens an account's history; the database records an account.history_opened audit
// event in the same transaction.
AccountHistory openHistory(Connection &connection, const QString &accountCode);

// The exact slice [from, to) of the timeline in that order: first position and row count,
// in O(log n).
TimelineWindow window(Connection &connection, qint64 accountId, TimelineOrder order,
                      const std::optional<QDateTime> &from = std::nullopt,
                      const std::optional<QDateTime> &to = std::nullopt);

// Rows at positions [position, position + limit) (a keyset range, never OFFSET).
// afterSeq: the entry at position - 1 when the caller has it (the end of the page before);
// in effective order that spares the server finding the start by position.
QList<TimelineEntry> page(Connection &connection, qint64 accountId, TimelineOrder order,
                          qint64 position, int limit, qint64 afterSeq = 0);

// Up to `limit` rows matching the filter after the entry `afterSeq` (0: from the start).
QList<TimelineEntry> search(Connection &connection, qint64 accountId, TimelineOrder order,
                            qint64 afterSeq, int limit, const TimelineFilter &filter);

PointInTime pointInTime(Connection &connection, qint64 accountId,
                        const std::optional<QDateTime> &effective,
                        const std::optional<QDateTime> &knownAt, int entryLimit = 1000);

// The transaction, its legs and reversal requests; its audit events too when the role may
// read audit.event_log (auditVisible says whether it could).
TransactionDetail transactionDetail(Connection &connection, qint64 transactionId);

// `samples` points or so over [from, to] (effective time), and up to markerLimit markers
// of each kind.
BalanceSeries balanceSeries(Connection &connection, qint64 accountId, const QDateTime &from,
                            const QDateTime &to, int samples, int markerLimit = 500);

} // namespace TimelineRepository

} // namespace ledger
