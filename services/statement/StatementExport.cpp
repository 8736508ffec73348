#include "StatementExport.h"

#include "domain/Statement.h"
#include "statement/Camt053Writer.h"
#include "statement/PdfStatementWriter.h"
#include "statement/StatementCsvWriter.h"
#include "statement/StatementDigest.h"
#include "statement/StatementFile.h"

namespace ledger::StatementExport {

namespace {

Camt053Writer::Version camtVersionOf(const QString &v)
{
    if (v == QLatin1String("02"))
        return Camt053Writer::Version::V02;
    if (v == QLatin1String("04"))
        return Camt053Writer::Version::V04;
    return Camt053Writer::Version::V08;
}

} // namespace

Status check(const QString &format, const QString &camtVersion, const QString &pageSize)
{
    if (format != QLatin1String("pdf") && format != QLatin1String("csv") &&
        format != QLatin1String("camt053"))
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The format must be pdf, csv or camt053."));
    if (format == QLatin1String("camt053") && camtVersion != QLatin1String("02") &&
        camtVersion != QLatin1String("04") && camtVersion != QLatin1String("08"))
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The camt.053 version must be 02, 04 or 08."));
    if (format == QLatin1String("pdf") && pageSize != QLatin1String("a4") &&
        pageSize != QLatin1String("letter"))
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The page size must be a4 or letter."));
    return Status::success();
}

StatementRepository::IssueOptions issueOptions(const QString &format, const QString &camtVersion,
                                               const QString &institution)
{
    StatementRepository::IssueOptions options;
    options.format = format;
    if (format == QLatin1String("camt053"))
        options.formatVersion = camtVersion;
    options.institution = institution;
    options.contentDigest = [](const Statement &s) { return StatementDigest::hex(s); };
    return options;
}

std::function<Result<StatementRepository::Written>(const Statement &)>
fileWriter(const QString &format, const QString &camtVersion, const QString &pageSize,
           const QString &outPath)
{
    return [=](const Statement &s) -> Result<StatementRepository::Written> {
        const auto stageFile = [&]() -> Result<StatementFile::Staged> {
            if (format == QLatin1String("pdf")) {
                const PdfStatementWriter writer(pageSize == QLatin1String("letter")
                                                    ? PdfStatementWriter::PageSize::Letter
                                                    : PdfStatementWriter::PageSize::A4);
                const QString temp = StatementFile::tempPathFor(outPath);
                const auto pages = writer.write(s, temp);
                if (!pages)
                    return pages.error();
                return StatementFile::adopt(temp, outPath);
            }
            if (format == QLatin1String("csv"))
                return StatementFile::stage(
                    outPath, [&](QIODevice *d) { return StatementCsvWriter().write(s, d); });
            const Camt053Writer writer(camtVersionOf(camtVersion));
            return StatementFile::stage(outPath, [&](QIODevice *d) { return writer.write(s, d); });
        };
        const Result<StatementFile::Staged> staged = stageFile();
        if (!staged)
            return staged.error();
        StatementRepository::Written w;
        w.file.sha256 = staged.value().sha256;
        w.file.bytes = staged.value().bytes;
        const StatementFile::Staged file = staged.value();
        w.commit = [file] { return StatementFile::commit(file); };
        w.discard = [file] { StatementFile::discard(file); };
        return w;
    };
}

} // namespace ledger::StatementExport
