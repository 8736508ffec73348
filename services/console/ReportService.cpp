#include "ReportService.h"

#include "WorkerCall.h"
#include "async/WhenReady.h"
#include "db/Connection.h"
#include "db/ReportingRepository.h"
#include "domain/InstantText.h"
#include "report/ReportTables.h"
#include "statement/ReportPdfWriter.h"

#include <QBuffer>
#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QPromise>
#include <QTemporaryFile>
#include <QTimeZone>
#include <QtConcurrent/QtConcurrentRun>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ledger {

ReportJob::ReportJob(QObject *parent)
    : QObject(parent)
{}

void ReportJob::cancel()
{
    if (m_finished)
        return;
    reportFinished(Error::make(Error::Kind::Cancelled,
                               tr("The report was cancelled. Its run stays on the audit record; "
                                  "nothing was shown or exported.")));
}

void ReportJob::reportStage(const QString &what)
{
    if (!m_finished)
        Q_EMIT stage(what);
}

void ReportJob::reportFinished(const Result<ReportResult> &result, const QString &storeRefusal)
{
    if (m_finished)
        return; // cancelled first: the late answer is dropped
    m_finished = true;
    m_result = result;
    m_storeRefusal = storeRefusal;
    Q_EMIT finished(result);
}

ReportService::ReportService(DbWorker *ledger, DbWorker *reads, bool storeIsSeparate,
                             QObject *parent)
    : QObject(parent)
    , m_ledger(ledger)
    , m_reads(reads)
    , m_storeIsSeparate(storeIsSeparate)
{}

QString ReportService::storeVerdict(const ReportSourceState &state, const QDateTime &now,
                                    int maxLagSeconds)
{
    if (!state.isStore)
        return {};
    if (!state.replicatedAt.isValid())
        return tr("the reporting store has not heard from the ledger yet");
    const qint64 lag = state.replicatedAt.secsTo(now);
    if (lag > maxLagSeconds)
        return tr("the reporting store last heard from the ledger at %1, %2 s ago (more than "
                  "the %3 s allowed)")
            .arg(formatInstant(state.replicatedAt, QTimeZone::utc()))
            .arg(lag)
            .arg(maxLagSeconds);
    return {};
}

QString ReportService::reportName(ReportKind kind)
{
    return ReportTables::name(kind);
}

QFuture<Result<ReportSourceState>> ReportService::sourceState()
{
    return callOn(m_reads, [](Connection &c) { return ReportingRepository::storeState(c); });
}

ReportJob *ReportService::start(const ReportRequest &request, bool useLedger, QObject *parent)
{
    auto *job = new ReportJob(parent);
    if (!m_storeIsSeparate) {
        run(job, request, m_reads, {});
        return job;
    }
    // A store: is it recent enough? Else the report is refused, or (useLedger) read over the
    // ledger's worker, with the reason on record.
    job->reportStage(tr("Asking the reporting store how far it has replicated…"));
    const int maxLag = m_maxLagSeconds;
    whenReady(sourceState(), job,
              [this, job, request, useLedger, maxLag](const Result<ReportSourceState> &state) {
                  const QString problem =
                      state ? storeVerdict(state.value(), QDateTime::currentDateTimeUtc(), maxLag)
                            : tr("the reporting store could not be reached (%1)")
                                  .arg(state.error().message);
                  if (problem.isEmpty() && state && !state.value().isStore)
                      // Configured as a store but a ledger database: the ledger serves the
                      // report, read over the session that recorded it (its read gate is
                      // per session).
                      run(job, request, m_ledger, {});
                  else if (problem.isEmpty())
                      run(job, request, m_reads, {});
                  else if (useLedger)
                      run(job, request, m_ledger, problem);
                  else
                      job->reportFinished(
                          Error::make(Error::Kind::Server,
                                      tr("Not run: %1. Run it on the ledger instead (recorded "
                                         "with the reason), or wait for the store.")
                                          .arg(problem)),
                          problem);
              });
    return job;
}

void ReportService::run(ReportJob *job, const ReportRequest &request,
                        const QPointer<DbWorker> &reads, const QString &storeRefused)
{
    QJsonObject params = ReportTables::params(request);
    // Read on the store's session (not passed over, nor found to be a ledger database).
    const bool fromStore = m_storeIsSeparate && reads == m_reads;
    params.insert(QStringLiteral("source"),
                  fromStore ? QStringLiteral("reporting_store") : QStringLiteral("ledger"));
    if (!storeRefused.isEmpty())
        params.insert(QStringLiteral("store_refused"), storeRefused);
    const QString name = ReportTables::name(request.kind);
    job->reportStage(tr("Recording the report on the ledger's audit chain…"));
    auto recorded = callOn(m_ledger, [name, params](Connection &c) {
        return ReportingRepository::recordReport(c, name, params);
    });
    whenReady(recorded, job, [job, request, reads, storeRefused](const Result<qint64> &event) {
        if (!event) {
            job->reportFinished(event.error());
            return;
        }
        job->reportStage(tr("Reading the report…"));
        const qint64 eventId = event.value();
        auto rows = callOn(reads, [request, storeRefused, eventId](Connection &c) {
            ReportResult r;
            r.request = request;
            r.auditEvent = eventId;
            r.storeRefused = storeRefused;
            r.source = ReportingRepository::storeState(c);
            switch (request.kind) {
            case ReportKind::TrialBalance:
                r.table = ReportTables::trialBalance(
                    ReportingRepository::trialBalance(c, request.asOf, request.knownAt), request);
                break;
            case ReportKind::BalanceSheet:
                r.table = ReportTables::balanceSheet(
                    ReportingRepository::trialBalance(c, request.asOf, request.knownAt), request);
                break;
            case ReportKind::IncomeStatement:
                r.table = ReportTables::incomeStatement(
                    ReportingRepository::movements(c, request.from, request.to, request.knownAt),
                    request);
                break;
            case ReportKind::TopMovers:
                r.table = ReportTables::topMovers(
                    ReportingRepository::movements(c, request.from, request.to, request.knownAt),
                    request);
                break;
            case ReportKind::Volumes:
                r.volumes = ReportingRepository::volumes(c, request.from, request.to, request.unit);
                r.table = ReportTables::volumes(r.volumes, request);
                break;
            }
            r.ranAt = QDateTime::currentDateTimeUtc();
            return r;
        });
        whenReady(rows, job,
                  [job](const Result<ReportResult> &result) { job->reportFinished(result); });
    });
}

QFuture<Result<QList<ReportExport>>> ReportService::exports(int limit)
{
    return callOn(m_ledger,
                  [limit](Connection &c) { return ReportingRepository::reportExports(c, limit); });
}

QFuture<Result<QString>> ReportService::exportReport(const ReportResult &result,
                                                     const QString &format, const QString &path,
                                                     const QString &exportedBy)
{
    // The file's bytes (off the GUI thread), then the export on the ledger's record, then the
    // file put in place (staged and renamed): a file that is there is on record.
    auto promise = std::make_shared<QPromise<Result<QString>>>();
    QFuture<Result<QString>> future = promise->future();
    promise->start();
    const auto finish = [promise](const Result<QString> &outcome) {
        promise->addResult(outcome);
        promise->finish();
    };
    auto bytes = QtConcurrent::run([result, format, exportedBy]() -> Result<QByteArray> {
        if (format == QLatin1String("csv")) {
            const QStringList lines = ReportTables::csvLines(result.table);
            return (lines.join(QStringLiteral("\r\n")) + QStringLiteral("\r\n")).toUtf8();
        }
        if (format != QLatin1String("pdf"))
            return Error::make(Error::Kind::Input,
                               tr("Reports are exported as csv or pdf, not \"%1\".").arg(format));
        QByteArray pdf;
        QBuffer buffer(&pdf);
        buffer.open(QIODevice::WriteOnly);
        ReportPdfWriter writer;
        writer.setExportedBy(exportedBy);
        if (auto written = writer.write(result, &buffer); !written)
            return written.error();
        return pdf;
    });
    // Staged beside the target first (an unwritable place is refused before anything is
    // recorded), recorded, then renamed over the target (atomic on POSIX).
    const qint64 runEvent = result.auditEvent;
    whenReady(bytes, this, [this, finish, format, path, runEvent](const Result<QByteArray> &b) {
        if (!b) {
            finish(b.error());
            return;
        }
        const QByteArray content = b.value();
        auto staged = QtConcurrent::run([content, path]() -> Result<QString> {
            const QFileInfo target(path);
            QTemporaryFile file(
                target.absoluteDir().filePath(QStringLiteral(".%1.XXXXXX").arg(target.fileName())));
            file.setAutoRemove(false);
            if (!file.open() || file.write(content) != content.size() || !file.flush()) {
                const QString why = file.errorString();
                file.remove();
                return Error::make(Error::Kind::Io,
                                   tr("Cannot write %1: %2. Choose a folder you may write to; "
                                      "nothing was exported.")
                                       .arg(path, why));
            }
            return file.fileName();
        });
        whenReady(
            staged, this,
            [this, finish, content, format, path, runEvent](const Result<QString> &stagedPath) {
                if (!stagedPath) {
                    finish(stagedPath.error());
                    return;
                }
                const QString part = stagedPath.value();
                const QString sha = QString::fromLatin1(
                    QCryptographicHash::hash(content, QCryptographicHash::Sha256).toHex());
                auto recorded = callOn(m_ledger, [runEvent, format, sha](Connection &c) {
                    return ReportingRepository::recordReportExport(c, runEvent, format, sha);
                });
                whenReady(recorded, this, [finish, part, path](const Result<qint64> &id) {
                    if (!id) {
                        QFile::remove(part);
                        finish(Error::make(id.error().kind,
                                           tr("The export was not recorded, so no file was "
                                              "written: %1")
                                               .arg(id.error().message),
                                           id.error().detail));
                        return;
                    }
                    if (std::rename(QFile::encodeName(part).constData(),
                                    QFile::encodeName(path).constData()) != 0) {
                        const QString why = QString::fromLocal8Bit(std::strerror(errno));
                        QFile::remove(part);
                        finish(Error::make(Error::Kind::Io,
                                           tr("Cannot put %1 in place: %2. The export is on record "
                                              "(event of its run); export it again.")
                                               .arg(path, why)));
                        return;
                    }
                    finish(path);
                });
            });
    });
    return future;
}

} // namespace ledger
