#pragma once

#include "domain/Report.h"

#include <QJsonArray>

namespace ledger::ReportTables {

// The reports of Step 11 built from what the reporting store (or the ledger) answers: the
// same tables for `ledgerctl report` and the console's Reports tab. No database here.

// "trial_balance", "balance_sheet", "income_statement", "top_movers", "volumes": the names
// ledger.record_report accepts.
QString name(ReportKind kind);
// The report's parameters as they are recorded on the audit chain (dates as ISO days,
// known-at in UTC, limit, unit).
QJsonObject params(const ReportRequest &request);

// Every account's balance in the debit or credit column and the totals per currency, which
// must agree (otherwise `problem` says so and extra "balanced" is false).
ReportTable trialBalance(const QList<TrialBalanceRow> &rows, const ReportRequest &request);
// Assets = liabilities + equity + the result not yet closed (income less expenses), each on
// its normal side, per currency (checked like the trial balance).
ReportTable balanceSheet(const QList<TrialBalanceRow> &rows, const ReportRequest &request);
// Income and expense accounts' net movements in the period, each positive on its normal
// side, and the result per currency.
ReportTable incomeStatement(const QList<MovementRow> &rows, const ReportRequest &request);
// Per currency, the request's limit of accounts with the largest net movement by size.
ReportTable topMovers(QList<MovementRow> rows, const ReportRequest &request);
// Entries, debits and credits per period and currency, with totals per currency.
ReportTable volumes(const QList<VolumeRow> &rows, const ReportRequest &request);

// The table as CSV records (header, rows, totals), every cell spreadsheet-safe.
QStringList csvLines(const ReportTable &table);
// Rows as JSON objects keyed by the columns.
QJsonArray objects(const QStringList &columns, const QList<QStringList> &rows);
// "the reporting store, replicated through <UTC time> (its aggregates)" or "the ledger (its
// entries)": where a report was read, for its first line.
QString sourceText(const ReportSourceState &source, bool fromAggregates);

} // namespace ledger::ReportTables
