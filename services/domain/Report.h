#pragma once

#include <QDate>
#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace ledger {

// Reports (Step 11): what the reporting store (or the ledger) answers, and a report as it is
// shown, printed and exported. The same for ledgerctl and the console.

// An account's balance at the end of a UTC day, in the debit or the credit column.
struct TrialBalanceRow
{
    QString account;
    QString name;
    QString kind;
    QString currency;
    int exponent = 2;
    qint64 debitMinor = 0;
    qint64 creditMinor = 0;
    qint64 entries = 0;
};

// Per account with entries by the period's end: the balance before it, the net movement in
// it and the balance at its end (debit positive).
struct MovementRow
{
    QString account;
    QString name;
    QString kind;
    QString currency;
    int exponent = 2;
    qint64 openingMinor = 0;
    qint64 movementMinor = 0;
    qint64 closingMinor = 0;
    qint64 entries = 0; // in the period
};

// Entries, debits and credits of a currency in a day, ISO week or month (from its first day).
struct VolumeRow
{
    QDate period;
    QString currency;
    int exponent = 2;
    qint64 entries = 0;
    qint64 debitsMinor = 0;
    qint64 creditsMinor = 0;
};

enum class ReportKind { TrialBalance, BalanceSheet, IncomeStatement, TopMovers, Volumes };

// What to report. A period (from, to: UTC days, both included) for the income statement,
// top movers and volumes; a date (the end of that UTC day) for the others. knownAt: as the
// ledger knew it then (volumes are as known now).
struct ReportRequest
{
    ReportKind kind = ReportKind::TrialBalance;
    QDate asOf;
    QDate from;
    QDate to;
    std::optional<QDateTime> knownAt;
    int limit = 10;                       // top movers: accounts per currency
    QString unit = QStringLiteral("day"); // volumes: day, week or month

    bool isPeriod() const
    {
        return kind != ReportKind::TrialBalance && kind != ReportKind::BalanceSheet;
    }
    bool takesKnownAt() const { return kind != ReportKind::Volumes; }
};

// A report whatever the format: a title, columns, rows and totals as text cells, the checks.
struct ReportTable
{
    QString title;                // the first line
    QStringList columns;          // CSV header; JSON keys of rows and totals
    QList<QStringList> rows;      // text cells, in column order
    QList<QStringList> totalRows; // after the rows
    QStringList notes;            // the checks, as sentences
    QJsonObject extra;            // JSON: more keys ("balanced")
    QString problem;              // non-empty: what is wrong (the rows still stand)
};

// Where a report was read and how far that place had caught up.
struct ReportSourceState
{
    bool isStore = false;   // false: the ledger database itself
    QDateTime replicatedAt; // a store's last change received from the ledger (invalid: none)
};

// A report run in the console: the table, where it was read, and its audit record.
struct ReportResult
{
    ReportRequest request;
    ReportTable table;
    ReportSourceState source;
    QString storeRefused;     // non-empty: the store was passed over for the ledger, and why
    qint64 auditEvent = 0;    // the report.run event on the ledger's chain
    QDateTime ranAt;          // when it was read (UTC)
    QList<VolumeRow> volumes; // volumes: the rows, for the chart
};

// An exported report (ledger.report_exports) and whether entries recorded since change it.
struct ReportExport
{
    qint64 id = 0;
    qint64 runEvent = 0; // the report.run audit event it came from
    QString report;      // "trial_balance" and so on
    QDate asOf;          // or the period:
    QDate from;
    QDate to;
    QDateTime knownAt; // what the report knew: its known-at, or when it was run
    QString format;    // csv or pdf
    QString sha256;    // the file's
    QString exportedBy;
    QDateTime exportedAt;
    qint64 lateEntries = 0; // entries recorded after knownAt that change it: restated if > 0

    bool restated() const { return lateEntries > 0; }
};

} // namespace ledger
