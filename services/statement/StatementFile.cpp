#include "StatementFile.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>

namespace ledger::StatementFile {

namespace {

Error ioError(const QString &what, const QString &path, const QString &why)
{
    return Error::make(Error::Kind::Io,
                       QStringLiteral("%1 %2: %3. Choose a folder you can write to, with space "
                                      "for the file.")
                           .arg(what, path, why));
}

} // namespace

QString tempPathFor(const QString &finalPath)
{
    return finalPath + QStringLiteral(".part");
}

Result<Staged> adopt(const QString &tempPath, const QString &finalPath)
{
    QFile f(tempPath);
    if (!f.open(QIODevice::ReadOnly)) {
        const QString why = f.errorString();
        QFile::remove(tempPath);
        return ioError(QStringLiteral("Could not read back"), tempPath, why);
    }
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&f)) {
        const QString why = f.errorString();
        f.close();
        QFile::remove(tempPath);
        return ioError(QStringLiteral("Could not read back"), tempPath, why);
    }
    Staged s;
    s.tempPath = tempPath;
    s.finalPath = finalPath;
    s.sha256 = QString::fromLatin1(hash.result().toHex());
    s.bytes = f.size();
    return s;
}

Result<Staged> stage(const QString &finalPath, const std::function<Status(QIODevice *)> &write)
{
    const QString temp = tempPathFor(finalPath);
    {
        QFile f(temp);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return ioError(QStringLiteral("Could not create"), temp, f.errorString());
        const Status written = write(&f);
        if (!written) {
            f.close();
            QFile::remove(temp);
            return written.error();
        }
        if (!f.flush()) {
            const QString why = f.errorString();
            f.close();
            QFile::remove(temp);
            return ioError(QStringLiteral("Could not write"), temp, why);
        }
        f.close();
        if (f.error() != QFileDevice::NoError) {
            QFile::remove(temp);
            return ioError(QStringLiteral("Could not write"), temp, f.errorString());
        }
    }
    return adopt(temp, finalPath);
}

Status commit(const Staged &staged)
{
    if (QFileInfo::exists(staged.finalPath) && !QFile::remove(staged.finalPath))
        return ioError(QStringLiteral("Could not replace"), staged.finalPath,
                       QStringLiteral("the existing file cannot be removed"));
    if (!QFile::rename(staged.tempPath, staged.finalPath))
        return ioError(QStringLiteral("Could not rename the statement to"), staged.finalPath,
                       QStringLiteral("the rename failed"));
    return {};
}

void discard(const Staged &staged)
{
    QFile::remove(staged.tempPath);
}

} // namespace ledger::StatementFile
