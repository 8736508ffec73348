#include "AuditService.h"

#include "WorkerCall.h"
#include "audit/ChainVerifier.h"
#include "db/AuditRepository.h"

#include <QCoreApplication>

#include <utility>

namespace ledger {

AuditService::AuditService(DbWorker *worker, DbWorker *verificationWorker, QObject *parent)
    : QObject(parent)
    , m_worker(worker)
    , m_verificationWorker(verificationWorker ? verificationWorker : worker)
{}

QFuture<Result<QList<AuditEvent>>> AuditService::logPage(const AuditFilter &filter,
                                                         std::optional<qint64> beforeId, int limit,
                                                         bool recordSearch)
{
    return callOn(m_worker, [filter, beforeId, limit, recordSearch](Connection &c) {
        if (recordSearch)
            AuditRepository::recordClientAction(c, QStringLiteral("search.run"),
                                                QStringLiteral("audit_log"), {},
                                                describeSearch(filter));
        return AuditRepository::page(c, filter, beforeId, limit);
    });
}

QFuture<Result<void>> AuditService::recordSearch(const QString &objectType,
                                                 const QJsonObject &details)
{
    return callOn(m_worker, [objectType, details](Connection &c) {
        AuditRepository::recordClientAction(c, QStringLiteral("search.run"), objectType, {},
                                            details);
    });
}

QFuture<Result<VerificationResult>>
AuditService::verifyChain(const QList<ChainMark> &marks, QObject *context,
                          std::function<void(qint64, qint64)> progress,
                          std::shared_ptr<const std::atomic_bool> cancel)
{
    // The verifier calls report() on the worker's thread; each report goes to the GUI
    // thread as a queued call, and the guard is looked at only there, so a context
    // destroyed meanwhile is never touched.
    const QPointer<QObject> guard(context);
    auto report = [guard, progress = std::move(progress)](qint64 done, qint64 total) {
        if (!progress)
            return;
        QMetaObject::invokeMethod(
            QCoreApplication::instance(),
            [guard, progress, done, total] {
                if (guard)
                    progress(done, total);
            },
            Qt::QueuedConnection);
    };
    return callOn(m_verificationWorker, [marks, report, cancel](Connection &c) {
        return ledger::verifyChain(c, marks, report, cancel.get());
    });
}

QJsonObject AuditService::describeSearch(const AuditFilter &filter)
{
    QJsonObject o{{QStringLiteral("scope"), QStringLiteral("audit_log")}};
    const std::pair<const char *, QString> texts[] = {{"operator", filter.operatorName},
                                                      {"action", filter.action},
                                                      {"object_type", filter.objectType},
                                                      {"object_id", filter.objectId},
                                                      {"text", filter.text}};
    for (const auto &[key, value] : texts) {
        if (!value.isEmpty())
            o.insert(QLatin1String(key), value);
    }
    if (filter.from.isValid())
        o.insert(QStringLiteral("from"), filter.from.toUTC().toString(Qt::ISODateWithMs));
    if (filter.until.isValid())
        o.insert(QStringLiteral("until"), filter.until.toUTC().toString(Qt::ISODateWithMs));
    return o;
}

} // namespace ledger
