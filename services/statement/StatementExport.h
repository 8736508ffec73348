#pragma once

#include "db/StatementRepository.h"
#include "domain/Result.h"

#include <QString>

#include <functional>

namespace ledger {

struct Statement;

// How a statement is issued as a file, shared by `ledgerctl statement export` and the
// console's StatementService: the writer for the format, staged under a temporary name
// (StatementFile) and renamed only when the issue is recorded. Plain functions; the write
// callback runs on the thread that issues (a PDF needs a QGuiApplication alive for fonts).
namespace StatementExport {

// Input error (with what to write instead) for an unknown format ("pdf", "csv", "camt053"),
// camt.053 version ("02", "04", "08") or page size ("a4", "letter").
Status check(const QString &format, const QString &camtVersion, const QString &pageSize);

// The issue options for the format (camt053 records its version) with the content digest.
StatementRepository::IssueOptions issueOptions(const QString &format, const QString &camtVersion,
                                               const QString &institution);

// The write callback for StatementRepository::issue: writes the statement to
// "<outPath>.part", hashes it, renames it to outPath on commit and removes it on discard.
// Assumes check() passed.
std::function<Result<StatementRepository::Written>(const Statement &)>
fileWriter(const QString &format, const QString &camtVersion, const QString &pageSize,
           const QString &outPath);

} // namespace StatementExport

} // namespace ledger
