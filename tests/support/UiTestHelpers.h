#pragma once

// Helpers of the console's widget tests (tests/ui): waiting for a service's future, hashing a
// written file, saving a screenshot. Header-only: LEDGER_SCREENSHOT_DIR is defined per test.

#include "SignalWait.h"
#include "domain/Error.h"
#include "domain/Result.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFuture>
#include <QTest>
#include <QWidget>

namespace ledger::test {

template <class T> Result<T> await(QFuture<Result<T>> future)
{
    // Test code only: the console itself continues with whenReady() and never waits.
    if (!waitForFinished(future, 30000))
        return Error::make(Error::Kind::Timeout, QStringLiteral("no answer in 30 s"));
    return future.result();
}

// Hex SHA-256 of a file's bytes; empty when it cannot be read.
inline QString sha256OfFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromLatin1(
        QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex());
}

// Writes a copy of the file with one byte (in the middle) changed; false when it cannot.
inline bool writeChangedCopy(const QString &from, const QString &to)
{
    QFile in(from);
    if (!in.open(QIODevice::ReadOnly))
        return false;
    QByteArray bytes = in.readAll();
    if (bytes.isEmpty())
        return false;
    bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 1);
    QFile out(to);
    return out.open(QIODevice::WriteOnly) && out.write(bytes) == bytes.size();
}

#ifdef LEDGER_SCREENSHOT_DIR
// Saves the widget as build/<preset>/screenshots/<name> (look at it).
inline bool saveScreenshot(QWidget *w, const QString &name)
{
    QDir().mkpath(QStringLiteral(LEDGER_SCREENSHOT_DIR));
    const QString file = QStringLiteral(LEDGER_SCREENSHOT_DIR) + QLatin1Char('/') + name;
    if (!w->grab().save(file))
        return false;
    qInfo("screenshot: %s", qPrintable(file));
    return true;
}
#endif

} // namespace ledger::test
