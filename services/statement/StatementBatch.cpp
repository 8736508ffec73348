#include "StatementBatch.h"

#include "db/DbException.h"
#include "db/StatementRepository.h"
#include "statement/StatementExport.h"
#include "statement/StatementFile.h"

#include <QDir>
#include <QFileInfo>
#include <QSet>
#include <QTimeZone>

namespace ledger::StatementBatch {

namespace {

QString extensionOf(const QString &format)
{
    if (format == QLatin1String("pdf"))
        return QStringLiteral("pdf");
    if (format == QLatin1String("csv"))
        return QStringLiteral("csv");
    return QStringLiteral("xml");
}

QTimeZone zoneOf(const QString &id)
{
    if (id.isEmpty() || id == QLatin1String("UTC"))
        return QTimeZone::utc();
    const QTimeZone zone(id.toUtf8());
    return zone.isValid() ? zone : QTimeZone::utc();
}

} // namespace

Status check(const StatementBatchRequest &request)
{
    if (const Status valid =
            StatementExport::check(request.format, request.camtVersion, request.pageSize);
        !valid)
        return valid;
    if (!request.from.isValid() || !request.to.isValid() || request.from >= request.to)
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The statements' period must end after it begins."));
    if (request.timeZone != QLatin1String("UTC") && !QTimeZone(request.timeZone.toUtf8()).isValid())
        return Error::make(Error::Kind::Input,
                           QStringLiteral("%1 is not a time zone this machine knows; choose "
                                          "UTC or a zone such as Europe/Berlin.")
                               .arg(request.timeZone));
    if (request.folder.trimmed().isEmpty())
        return Error::make(Error::Kind::Input,
                           QStringLiteral("Choose the folder to write the statements to."));
    const QFileInfo folder(request.folder);
    if (!folder.isDir())
        return Error::make(Error::Kind::Input,
                           QStringLiteral("%1 is not a folder. Choose an existing folder, or "
                                          "create it first.")
                               .arg(request.folder));
    if (!folder.isWritable())
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The folder %1 cannot be written to. Choose a folder "
                                          "you may write in.")
                               .arg(request.folder));
    return Status::success();
}

QStringList fileNames(const QStringList &accountCodes, const StatementBatchRequest &request)
{
    const QTimeZone zone = zoneOf(request.timeZone);
    const QString from = request.from.toTimeZone(zone).date().toString(Qt::ISODate);
    // The period is [from, to): its last day is the one of the instant just before `to`.
    const QString last = request.to.addMSecs(-1).toTimeZone(zone).date().toString(Qt::ISODate);
    const QString suffix = QStringLiteral("_%1_%2.%3").arg(from, last, extensionOf(request.format));
    QStringList names;
    names.reserve(accountCodes.size());
    QSet<QString> taken; // case-folded: a case-insensitive file system sees one name
    for (const QString &code : accountCodes) {
        QString base = code;
        for (QChar &c : base)
            if (c == QLatin1Char('/') || c == QLatin1Char(':') || c == QLatin1Char('\\'))
                c = QLatin1Char('_');
        QString name = base + suffix;
        for (int n = 2; taken.contains(name.toCaseFolded()); ++n)
            name = base + QStringLiteral("~%1").arg(n) + suffix;
        taken.insert(name.toCaseFolded());
        names.append(name);
    }
    return names;
}

StatementBatchOutcome run(Connection &connection, const StatementBatchRequest &request,
                          const Callbacks &callbacks)
{
    StatementBatchOutcome out;
    StatementRepository::BatchSelection selection;
    try {
        selection = StatementRepository::batchAccounts(connection, request.kind, request.currency);
    } catch (const DbException &e) {
        out.error = e.error().message;
        return out;
    }
    out.total = int(selection.accounts.size());
    const QDir folder(request.folder);
    const QStringList names = fileNames(selection.accounts, request);
    for (const QString &name : names) {
        if (QFileInfo::exists(folder.filePath(name)) ||
            QFileInfo::exists(StatementFile::tempPathFor(folder.filePath(name)))) {
            out.error = QStringLiteral("The folder %1 already holds %2: a batch never replaces "
                                       "a file. Choose an empty folder, or move the files away.")
                            .arg(QDir::toNativeSeparators(request.folder), name);
            return out;
        }
    }
    if (callbacks.started)
        callbacks.started(out.total);

    StatementRepository::Request r;
    r.from = request.from.toUTC();
    r.to = request.to.toUTC();
    r.knownAt = request.knownAt.isValid() ? request.knownAt.toUTC() : selection.serverNow;
    r.timeZone = request.timeZone.isEmpty() ? QStringLiteral("UTC") : request.timeZone;
    const auto options =
        StatementExport::issueOptions(request.format, request.camtVersion, request.institution);
    for (int i = 0; i < out.total; ++i) {
        if (callbacks.cancelled && callbacks.cancelled()) {
            out.cancelled = true;
            break;
        }
        r.accountCode = selection.accounts.at(i);
        const QString path = folder.filePath(names.at(i));
        try {
            const StatementRecord record = StatementRepository::issue(
                connection, r, options,
                StatementExport::fileWriter(request.format, request.camtVersion, request.pageSize,
                                            path));
            out.written.append(record);
            out.files.append(path);
            if (callbacks.written)
                callbacks.written(i + 1, record, path);
        } catch (const DbException &e) {
            out.failedAccount = r.accountCode;
            out.error = QStringLiteral("The statement of %1 was not written: %2 The %3 "
                                       "statements before it were written and issued.")
                            .arg(r.accountCode, e.error().message)
                            .arg(out.written.size());
            break;
        }
    }
    return out;
}

} // namespace ledger::StatementBatch
