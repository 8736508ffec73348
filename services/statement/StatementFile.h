#pragma once

#include "domain/Result.h"

#include <QString>

#include <functional>

class QIODevice;

namespace ledger {

// A statement file on its way to its final name: written under a temporary name in the same
// folder, hashed, and renamed only when the issue is recorded (nothing is ever left half
// written under the final name; a file that was not issued does not stay). Plain functions
// over Qt Core, any thread.
namespace StatementFile {

struct Staged
{
    QString tempPath;
    QString finalPath;
    QString sha256; // hex, of the whole file
    qint64 bytes = 0;
};

// The temporary name for finalPath: "<finalPath>.part" (same folder, so the rename is atomic).
QString tempPathFor(const QString &finalPath);

// Writes with write(device) to the temporary name, flushes it to disk and hashes it. On any
// failure the temporary file is removed and the error says what to do (Io).
Result<Staged> stage(const QString &finalPath, const std::function<Status(QIODevice *)> &write);

// Hashes a temporary file some other writer produced (the PDF writer writes its own file).
Result<Staged> adopt(const QString &tempPath, const QString &finalPath);

// Renames the staged file to its final name (replacing a file there). Io on failure.
Status commit(const Staged &staged);
// Removes the temporary file.
void discard(const Staged &staged);

} // namespace StatementFile

} // namespace ledger
