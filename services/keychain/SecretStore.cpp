#include "SecretStore.h"

#include <QPromise>
#include <QTimer>

#include <qt6keychain/keychain.h>

#include <memory>

namespace ledger {

namespace {

Error keychainError(QKeychain::Error code, const QString &text)
{
    switch (code) {
    case QKeychain::EntryNotFound:
        return Error::make(Error::Kind::NotFound,
                           QStringLiteral("No secret is stored in the keychain for this entry."));
    case QKeychain::NoBackendAvailable:
        return Error::make(Error::Kind::Io,
                           QStringLiteral("No keychain is available on this computer (no Secret "
                                          "Service is running). Type the secret when asked; it "
                                          "will not be stored."),
                           text);
    case QKeychain::AccessDeniedByUser:
    case QKeychain::AccessDenied:
        return Error::make(Error::Kind::Permission,
                           QStringLiteral("The keychain refused access (it may be locked). "
                                          "Unlock it, or type the secret instead."),
                           text);
    case QKeychain::CouldNotDeleteEntry:
        return Error::make(
            Error::Kind::Io,
            QStringLiteral("The keychain could not delete the entry (%1).").arg(text), text);
    case QKeychain::NotImplemented:
    case QKeychain::OtherError:
    case QKeychain::NoError:
        break;
    }
    // Typically no Secret Service on the session bus (or no session bus at all).
    return Error::make(
        Error::Kind::Io,
        QStringLiteral("No keychain is available on this computer (%1). Type the secret when "
                       "asked; it will not be stored.")
            .arg(text),
        text);
}

// Runs one Qt Keychain job and settles a promise exactly once: when the job finishes or
// when the timeout fires, whichever comes first. Lives on the calling thread.
template <class T, class Job, class OnDone>
QFuture<T> runJob(Job *job, std::chrono::milliseconds timeout, OnDone onDone)
{
    auto promise = std::make_shared<QPromise<T>>();
    auto settled = std::make_shared<bool>(false);
    QFuture<T> future = promise->future();
    promise->start();
    auto *timer = new QTimer(job);
    timer->setSingleShot(true);
    QObject::connect(
        timer, &QTimer::timeout, job,
        [job, promise, settled, timeout] {
            if (*settled)
                return;
            *settled = true;
            promise->addResult(T(Error::make(
                Error::Kind::Timeout,
                QStringLiteral(
                    "The keychain did not answer within %1 s. Check that it is unlocked, "
                    "or type the secret instead.")
                    .arg(double(timeout.count()) / 1000.0))));
            promise->finish();
            job->deleteLater();
        },
        Qt::QueuedConnection);
    QObject::connect(job, &QKeychain::Job::finished, job, [job, promise, settled, onDone] {
        if (*settled)
            return;
        *settled = true;
        if (job->error() != QKeychain::NoError)
            promise->addResult(T(keychainError(job->error(), job->errorString())));
        else
            promise->addResult(onDone(job));
        promise->finish();
        job->deleteLater();
    });
    job->setAutoDelete(false);
    job->setInsecureFallback(false); // never plain text
    timer->start(timeout);
    job->start();
    return future;
}

} // namespace

SecretStore::SecretStore(QString service, QObject *parent)
    : QObject(parent)
    , m_service(std::move(service))
{}

QFuture<Result<QString>> SecretStore::read(const QString &key)
{
    auto *job = new QKeychain::ReadPasswordJob(m_service, this);
    job->setKey(key);
    return runJob<Result<QString>>(job, m_timeout, [](QKeychain::ReadPasswordJob *j) {
        return Result<QString>(j->textData());
    });
}

QFuture<Status> SecretStore::write(const QString &key, const QString &secret)
{
    auto *job = new QKeychain::WritePasswordJob(m_service, this);
    job->setKey(key);
    job->setTextData(secret);
    return runJob<Status>(job, m_timeout, [](QKeychain::WritePasswordJob *) { return Status(); });
}

QFuture<Status> SecretStore::remove(const QString &key)
{
    auto *job = new QKeychain::DeletePasswordJob(m_service, this);
    job->setKey(key);
    return runJob<Status>(job, m_timeout, [](QKeychain::DeletePasswordJob *) { return Status(); });
}

} // namespace ledger
