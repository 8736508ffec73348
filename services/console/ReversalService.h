#pragma once

#include "domain/Account.h"
#include "domain/Result.h"
#include "domain/Reversal.h"
#include "domain/Timeline.h"

#include <QFuture>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>

namespace ledger {

class DbWorker;

// Corrections in the console (maker-checker): reversal and rebook requests, their previews,
// decisions, the approvals inbox and "my requests". The asynchronous face of
// ReversalRepository for widgets and models, which see only this class and domain types.
//
// Every method may be called on the GUI thread and never blocks: it queues one job on the
// worker (one database transaction, on the worker's thread) and returns its future;
// continue with whenReady() (async/WhenReady.h). When the worker is gone the future is
// already finished and holds an error. The rules (reason codes, four eyes, expiry, the
// digest, idempotent keys, the audit event of every step) are the database's.
class ReversalService : public QObject
{
    Q_OBJECT

public:
    explicit ReversalService(DbWorker *worker, QObject *parent = nullptr);

    QFuture<Result<QList<ReasonCode>>> reasonCodes();
    // The default lifetime of a pending request, in seconds.
    QFuture<Result<qint64>> requestLifetime();

    // What the draft would post (audited as "preview asked"; writes nothing else).
    QFuture<Result<ReversalPreview>> previewDraft(const ReversalDraft &draft);
    // Sends the request; the draft's clientKey makes a retry or a double click one request.
    QFuture<Result<qint64>> submitRequest(const ReversalDraft &draft);
    // What a stored request would post now, with the digest an approval passes back.
    QFuture<Result<ReversalPreview>> preview(qint64 requestId);

    QFuture<Result<ReversalDecision>> approve(qint64 requestId, const QString &previewDigest,
                                              const QString &note, const QString &clientKey);
    QFuture<Result<ReversalDecision>> reject(qint64 requestId, const QString &note,
                                             const QString &clientKey);
    QFuture<Result<ReversalDecision>> withdraw(qint64 requestId, const QString &note,
                                               const QString &clientKey);
    // Each request decided in its own database transaction; decideManyProgress() after each.
    QFuture<Result<QList<BulkDecisionOutcome>>> decideMany(const QList<qint64> &requestIds,
                                                           bool approve, const QString &note,
                                                           const QString &batchKey);

    QFuture<Result<ReversalInboxPage>> inbox(const ReversalInboxQuery &query, int offset,
                                             int limit);
    QFuture<Result<QList<qint64>>> inboxIds(const ReversalInboxQuery &query, int limit);

    // A fresh idempotency key for one request or decision (a UUID).
    static QString newClientKey();

Q_SIGNALS:
    // A request or decision went through (GUI thread): views showing requests reload.
    void changed();
    // A bulk decision's progress (GUI thread, queued from the worker).
    void decideManyProgress(int done, int total);

private:
    // Emits changed() on this (GUI) thread when the future holds a value.
    template <class T> QFuture<Result<T>> announce(QFuture<Result<T>> future);

    QPointer<DbWorker> m_worker;
};

} // namespace ledger
