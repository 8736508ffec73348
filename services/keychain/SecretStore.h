#pragma once

#include "domain/Result.h"

#include <QFuture>
#include <QObject>
#include <QString>

#include <chrono>

namespace ledger {

// The operator's long-lived secrets in the OS keychain (Secret Service on Linux) through
// Qt Keychain. Never falls back to plain-text storage. Every call is asynchronous and
// times out, so the GUI thread never waits on the keychain: call from a thread with an
// event loop (the GUI thread is fine) and continue with whenReady(future, context, ...).
class SecretStore : public QObject
{
    Q_OBJECT

public:
    explicit SecretStore(QString service, QObject *parent = nullptr);

    void setTimeout(std::chrono::milliseconds timeout) { m_timeout = timeout; }
    QString service() const { return m_service; }

    // NotFound when there is no such entry; Io when no keychain is available or it refused.
    QFuture<Result<QString>> read(const QString &key);
    QFuture<Status> write(const QString &key, const QString &secret);
    QFuture<Status> remove(const QString &key);

private:
    QString m_service;
    std::chrono::milliseconds m_timeout{10000};
};

} // namespace ledger
