#include "StatementService.h"

#include "StatementBatchJob.h"

#include "WorkerCall.h"
#include "async/WhenReady.h"
#include "db/StatementRepository.h"
#include "statement/StatementBatch.h"
#include "statement/StatementExport.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>

namespace ledger {

namespace {

// Result<Result<T>> (a job that can fail outside the database) as Result<T>. Runs on the
// thread that finishes the worker's future; a cancelled future stays cancelled.
template <class T> QFuture<Result<T>> flatten(QFuture<Result<Result<T>>> future)
{
    return future.then([](const Result<Result<T>> &outer) -> Result<T> {
        if (!outer)
            return outer.error();
        return outer.value();
    });
}

} // namespace

StatementService::StatementService(DbWorker *worker, QObject *parent)
    : QObject(parent)
    , m_worker(worker)
{}

QFuture<Result<StatementRecord>> StatementService::issue(const StatementExportRequest &request)
{
    if (const Status valid =
            StatementExport::check(request.format, request.camtVersion, request.pageSize);
        !valid)
        return failedFuture<StatementRecord>(valid.error());
    if (request.accountCode.trimmed().isEmpty())
        return failedFuture<StatementRecord>(
            Error::make(Error::Kind::Input, tr("Choose the account of the statement.")));
    if (!request.from.isValid() || !request.to.isValid() || request.from >= request.to)
        return failedFuture<StatementRecord>(Error::make(
            Error::Kind::Input, tr("The statement's period must end after it begins.")));
    if (request.outPath.trimmed().isEmpty())
        return failedFuture<StatementRecord>(
            Error::make(Error::Kind::Input, tr("Choose the file to write the statement to.")));
    if (QFileInfo(request.outPath).isDir())
        return failedFuture<StatementRecord>(
            Error::make(Error::Kind::Input,
                        tr("%1 is a folder: choose a file name in it.").arg(request.outPath)));

    StatementRepository::Request r;
    r.accountCode = request.accountCode.trimmed();
    r.from = request.from.toUTC();
    r.to = request.to.toUTC();
    if (request.knownAt.isValid())
        r.knownAt = request.knownAt.toUTC();
    r.timeZone = request.timeZone;
    const auto options =
        StatementExport::issueOptions(request.format, request.camtVersion, request.institution);
    const auto write = StatementExport::fileWriter(request.format, request.camtVersion,
                                                   request.pageSize, request.outPath);
    auto future = callOn(m_worker, [r, options, write](Connection &c) {
        // Worker thread: writes, hashes and (on commit) renames the file.
        return StatementRepository::issue(c, r, options, write);
    });
    whenReady(future, this, [this](const Result<StatementRecord> &result) {
        if (result)
            Q_EMIT issued(result.value());
    });
    return future;
}

QFuture<Result<std::optional<StatementRecord>>> StatementService::verifyFile(const QString &path)
{
    using Found = std::optional<StatementRecord>;
    return flatten(callOn(m_worker, [path](Connection &c) -> Result<Found> {
        // Worker thread: a statement file may be large; the GUI never reads it.
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            return Error::make(Error::Kind::Io, QObject::tr("Cannot read %1: %2. Choose a "
                                                            "statement file you may read.")
                                                    .arg(path, file.errorString()));
        QCryptographicHash hash(QCryptographicHash::Sha256);
        if (!hash.addData(&file))
            return Error::make(Error::Kind::Io,
                               QObject::tr("Cannot read %1: %2.").arg(path, file.errorString()));
        return StatementRepository::findByFile(c, QString::fromLatin1(hash.result().toHex()));
    }));
}

QFuture<Result<QList<Restatement>>> StatementService::restated()
{
    return callOn(m_worker, [](Connection &c) { return StatementRepository::restated(c); });
}

QFuture<Result<QList<IssuedStatement>>>
StatementService::issuedStatements(const IssuedStatementQuery &query)
{
    return callOn(m_worker,
                  [query](Connection &c) { return StatementRepository::issued(c, query); });
}

StatementBatchJob *StatementService::startBatch(const StatementBatchRequest &request,
                                                QObject *parent)
{
    auto *job = new StatementBatchJob(parent);
    // The worker reaches the job through a relay that lives on this (GUI) thread for as long
    // as the worker holds it: it queues each report to the relay, which hands it to the job
    // if the job still exists. The worker never touches the job, which may be deleted.
    // The relay is deleted by a call queued after its reports, not by deleteLater(): a
    // DeferredDelete may be sent ahead of the posted reports (QTest::qWait does so), and
    // deleting the relay first would drop them, the outcome included.
    const std::shared_ptr<QObject> relay(new QObject, [](QObject *o) {
        if (QCoreApplication *app = QCoreApplication::instance())
            QMetaObject::invokeMethod(
                app, [o] { delete o; }, Qt::QueuedConnection);
        else
            delete o;
    });
    const QPointer<StatementBatchJob> guard(job);
    const auto report = [relay, guard](auto call) {
        QMetaObject::invokeMethod(
            relay.get(),
            [guard, call] {
                if (guard)
                    call(guard.data());
            },
            Qt::QueuedConnection);
    };
    const auto finish = [report](const StatementBatchOutcome &outcome) {
        report([outcome](StatementBatchJob *j) { j->reportFinished(outcome); });
    };
    if (const Status valid = StatementBatch::check(request); !valid) {
        StatementBatchOutcome outcome;
        outcome.error = valid.error().message;
        finish(outcome);
        return job;
    }

    const auto cancel = job->cancelFlag();
    auto future = callOn(m_worker, [request, report, finish, cancel](Connection &c) {
        // Worker thread: every statement is written, hashed, renamed and issued here.
        StatementBatch::Callbacks callbacks;
        callbacks.started = [report](int total) {
            report([total](StatementBatchJob *j) { j->reportStarted(total); });
        };
        callbacks.written = [report](int done, const StatementRecord &record, const QString &path) {
            report([done, record, path](StatementBatchJob *j) {
                j->reportWritten(done, record, path);
            });
        };
        callbacks.cancelled = [cancel] { return cancel->load(); };
        const StatementBatchOutcome outcome = StatementBatch::run(c, request, callbacks);
        finish(outcome);
        return outcome.written.size();
    });
    // A worker that is gone (or a job that failed outside run()) finishes the job too.
    whenReady(future, job, [job](const Result<qsizetype> &result) {
        if (!result && !job->isFinished()) {
            StatementBatchOutcome outcome;
            outcome.error = result.error().message;
            job->reportFinished(outcome);
        }
    });
    return job;
}

} // namespace ledger
