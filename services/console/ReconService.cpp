#include "ReconService.h"

#include "WorkerCall.h"
#include "async/WhenReady.h"
#include "db/ReconRepository.h"
#include "recon/BankFileParser.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>

namespace ledger {

ReconImportJob::ReconImportJob(QObject *parent)
    : QObject(parent)
{}

void ReconImportJob::cancel()
{
    m_cancel->store(true);
}

void ReconImportJob::reportProgress(qint64 done, qint64 total)
{
    Q_EMIT progress(done, total);
}

void ReconImportJob::reportFinished(const Result<ReconImportSummary> &result)
{
    m_result = result;
    m_finished = true;
    Q_EMIT finished(result);
}

ReconService::ReconService(DbWorker *interactive, DbWorker *longJobs, QObject *parent)
    : QObject(parent)
    , m_interactive(interactive)
    , m_longJobs(longJobs)
{}

template <class T> QFuture<Result<T>> ReconService::announce(QFuture<Result<T>> future)
{
    whenReady(future, this, [this](const Result<T> &result) {
        if (result)
            Q_EMIT changed();
    });
    return future;
}

namespace {

// Reads, hashes and parses a bank file (worker thread). The CSV profile comes from the
// database.
Result<ReconImportSummary> importOn(Connection &c, const QString &path, const QString &format,
                                    const QString &csvProfile, const QString &mapToAccount,
                                    const std::shared_ptr<const std::atomic<bool>> &cancel,
                                    const std::function<void(qint64, qint64)> &progress)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error::make(Error::Kind::Io, QObject::tr("Cannot read %1: %2. Choose a bank "
                                                        "statement file you may read.")
                                                .arg(path, file.errorString()));
    if (file.size() > BankFileParser::kMaxFileBytes)
        return Error::make(Error::Kind::Input,
                           QObject::tr("%1 is larger than a bank file this console reads (%2 "
                                       "bytes at most). Split it and import the parts.")
                               .arg(path)
                               .arg(BankFileParser::kMaxFileBytes));
    const QByteArray bytes = file.readAll();
    const QString sha =
        QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
    BankFileParser::Format f = BankFileParser::Format::Auto;
    std::optional<CsvProfile> profile;
    if (format == QLatin1String("csv")) {
        f = BankFileParser::Format::Csv;
        const auto profiles = ReconRepository::csvProfiles(c);
        if (!profiles.contains(csvProfile))
            return Error::make(Error::Kind::Input,
                               QObject::tr("No CSV profile named \"%1\": choose one of %2, or "
                                           "save the profile first.")
                                   .arg(csvProfile, profiles.keys().join(QStringLiteral(", "))));
        const auto parsed = CsvProfile::fromJson(profiles.value(csvProfile));
        if (!parsed)
            return parsed.error();
        profile = parsed.value();
    } else if (format == QLatin1String("camt")) {
        f = BankFileParser::Format::Camt;
    } else if (format == QLatin1String("mt940")) {
        f = BankFileParser::Format::Mt940;
    }
    const auto parsed = BankFileParser::parse(bytes, f, profile ? &*profile : nullptr);
    if (!parsed)
        return parsed.error();
    ReconRepository::ImportOptions options;
    options.fileName = QFileInfo(path).fileName();
    options.mapToAccount = mapToAccount;
    options.cancelled = [cancel] { return cancel->load(); };
    options.progress = progress;
    return ReconRepository::importFile(c, parsed.value(), sha, bytes.size(), options);
}

} // namespace

ReconImportJob *ReconService::startImport(const QString &path, const QString &format,
                                          const QString &csvProfile, const QString &mapToAccount,
                                          QObject *parent)
{
    auto *job = new ReconImportJob(parent);
    const QueuedReporter<ReconImportJob> report(job);
    const auto cancel = job->cancelFlag();
    auto future = callOn(m_longJobs, [=](Connection &c) {
        // Worker thread: the file is read, hashed, parsed and imported here.
        return importOn(
            c, path, format, csvProfile, mapToAccount, cancel, [report](qint64 done, qint64 total) {
                report([done, total](ReconImportJob *j) { j->reportProgress(done, total); });
            });
    });
    whenReady(future, job, [this, job](const Result<Result<ReconImportSummary>> &outer) {
        const Result<ReconImportSummary> result =
            outer ? outer.value() : Result<ReconImportSummary>(outer.error());
        job->reportFinished(result);
        if (result && !result.value().alreadyImported)
            Q_EMIT changed();
    });
    return job;
}

QFuture<Result<ReconMatchSummary>> ReconService::match(const QString &accountCode, bool dryRun)
{
    auto future = callOn(m_longJobs, [accountCode, dryRun](Connection &c) {
        return ReconRepository::match(c, accountCode, dryRun);
    });
    return dryRun ? future : announce(future);
}

QFuture<Result<qint64>> ReconService::mapAccount(const QString &identifier, const QString &currency,
                                                 const QString &accountCode)
{
    return callOn(m_interactive, [=](Connection &c) {
        return ReconRepository::mapAccount(c, identifier, currency, accountCode);
    });
}

QFuture<Result<QList<ReconException>>> ReconService::exceptions(const ReconExceptionQuery &query)
{
    return callOn(m_interactive,
                  [query](Connection &c) { return ReconRepository::exceptions(c, query); });
}

QFuture<Result<qint64>> ReconService::exceptionCount(const ReconExceptionQuery &query)
{
    return callOn(m_interactive,
                  [query](Connection &c) { return ReconRepository::exceptionCount(c, query); });
}

QFuture<Result<QList<ReconAgingBucket>>> ReconService::aging(const QString &accountCode)
{
    return callOn(m_interactive,
                  [accountCode](Connection &c) { return ReconRepository::aging(c, accountCode); });
}

QFuture<Result<QList<ReconAccountStatus>>> ReconService::status(const QString &accountCode)
{
    return callOn(m_interactive,
                  [accountCode](Connection &c) { return ReconRepository::status(c, accountCode); });
}

QFuture<Result<QList<ReconCandidate>>> ReconService::lineCandidates(qint64 lineId)
{
    return callOn(m_interactive,
                  [lineId](Connection &c) { return ReconRepository::lineCandidates(c, lineId); });
}

QFuture<Result<QList<ReconCandidate>>> ReconService::entryCandidates(qint64 entryId)
{
    return callOn(m_interactive, [entryId](Connection &c) {
        return ReconRepository::entryCandidates(c, entryId);
    });
}

QFuture<Result<QList<ReconProposal>>> ReconService::proposals(const QString &accountCode,
                                                              qint64 offset, int limit)
{
    return callOn(m_interactive, [=](Connection &c) {
        return ReconRepository::proposals(c, accountCode, offset, limit);
    });
}

QFuture<Result<QStringList>> ReconService::acceptReasons()
{
    return callOn(m_interactive, [](Connection &c) { return ReconRepository::acceptReasons(c); });
}

QFuture<Result<QStringList>> ReconService::csvProfileNames()
{
    return callOn(m_interactive,
                  [](Connection &c) { return ReconRepository::csvProfiles(c).keys(); });
}

QFuture<Result<void>> ReconService::decideMatch(qint64 groupId, const QString &decision,
                                                const QString &note)
{
    return announce(callOn(m_interactive, [=](Connection &c) {
        ReconRepository::decideMatch(c, groupId, decision, note);
    }));
}

QFuture<Result<qint64>> ReconService::manualMatch(const QList<qint64> &lineIds,
                                                  const QList<qint64> &entryIds,
                                                  const QString &note)
{
    return announce(callOn(m_interactive, [=](Connection &c) {
        return ReconRepository::manualMatch(c, lineIds, entryIds, note);
    }));
}

QFuture<Result<qint64>> ReconService::assign(qint64 exceptionId, const QString &assignee,
                                             qint64 expectedEvent)
{
    return announce(callOn(m_interactive, [=](Connection &c) {
        return ReconRepository::assignException(c, exceptionId, assignee, expectedEvent);
    }));
}

QFuture<Result<qint64>> ReconService::accept(qint64 exceptionId, const QString &reasonCode,
                                             const QString &note, qint64 expectedEvent)
{
    return announce(callOn(m_interactive, [=](Connection &c) {
        return ReconRepository::acceptException(c, exceptionId, reasonCode, note, expectedEvent);
    }));
}

QFuture<Result<qint64>> ReconService::reopen(qint64 exceptionId, const QString &note,
                                             qint64 expectedEvent)
{
    return announce(callOn(m_interactive, [=](Connection &c) {
        return ReconRepository::reopenException(c, exceptionId, note, expectedEvent);
    }));
}

QFuture<Result<qint64>> ReconService::resolveByCorrection(qint64 exceptionId,
                                                          qint64 reversalRequestId,
                                                          const QString &note, qint64 expectedEvent)
{
    return announce(callOn(m_interactive, [=](Connection &c) {
        return ReconRepository::resolveByCorrection(c, exceptionId, reversalRequestId, note,
                                                    expectedEvent);
    }));
}

QFuture<Result<QList<ReconBulkResult>>>
ReconService::bulk(const QList<qint64> &ids, const QString &action, const QString &assignee,
                   const QString &reasonCode, const QString &note)
{
    return announce(callOn(m_interactive, [=](Connection &c) {
        return ReconRepository::bulkExceptions(c, ids, action, assignee, reasonCode, note);
    }));
}

} // namespace ledger
