#pragma once

#include "domain/AuditEvent.h"
#include "domain/AuditVerification.h"
#include "domain/Result.h"

#include <QFuture>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace ledger {

class DbWorker;

// The console's facade to the audit trail: the auditor's log, the searches the console puts
// on record itself (search.run), and the client-side verification of the hash chain. Every
// method may be called from any thread (the console calls them on the GUI thread), returns
// at once and runs on a worker's thread; continue with whenReady(future, context, fn)
// (async/WhenReady.h). If the worker is gone, the future is already finished and holds an
// Error.
//
// Pages and records run on the interactive worker. Verification, a long job, runs on its
// own worker when one is given, so that pages (and the session's renewal) never wait
// behind it; without one it queues on the interactive worker like any other job.
class AuditService : public QObject
{
    Q_OBJECT

public:
    explicit AuditService(DbWorker *worker, DbWorker *verificationWorker = nullptr,
                          QObject *parent = nullptr);

    // Up to `limit` events matching the filter, newest first, older than beforeId (none: from
    // the newest). With recordSearch a search.run event describing the filter is written in
    // the same job, before the page is read: a search whose record cannot be written shows
    // nothing.
    QFuture<Result<QList<AuditEvent>>> logPage(const AuditFilter &filter,
                                               std::optional<qint64> beforeId, int limit,
                                               bool recordSearch = false);

    // Puts a search the user ran elsewhere in the console on record (a search.run event
    // about objectType, e.g. "account_list", with the given details).
    QFuture<Result<void>> recordSearch(const QString &objectType, const QJsonObject &details);

    // The C++ verifier over the whole chain (audit/ChainVerifier's verifyChain): seals the
    // tail, checks every hash, the issued checkpoints and `marks`, and records the result
    // as an audit event unless cancelled. progress(done, total) is called on the GUI (main)
    // thread, queued, and not at all once `context` (a GUI-thread object) is gone. Setting *cancel
    // stops the run at its next batch; its result then has `cancelled` set (a cancelled run still
    // delivers a result).
    QFuture<Result<VerificationResult>>
    verifyChain(const QList<ChainMark> &marks, QObject *context,
                std::function<void(qint64 done, qint64 total)> progress,
                std::shared_ptr<const std::atomic_bool> cancel);

    // The search.run details of an audit log search (scope audit_log and the filter's set
    // members).
    static QJsonObject describeSearch(const AuditFilter &filter);

private:
    QPointer<DbWorker> m_worker;
    QPointer<DbWorker> m_verificationWorker;
};

} // namespace ledger
