#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace ledger {

// One of the ledger's invariants as the database checked it (ledger.invariant_results,
// 0044): `ledgerctl check`, and the health panel's history of runs.
struct InvariantResult
{
    QString invariant; // stable name, e.g. "transactions_balanced"
    QString title;     // what holds, as a sentence
    bool ok = false;
    qint64 checked = 0;  // rows looked at (transactions, accounts, events...)
    qint64 failures = 0; // rows found wrong
    QString firstFailure;
    double seconds = 0;
    bool reported = false; // from the reporting store, as the client passed it on

    // As ledger.invariant_results' JSON (the keys of ledger.invariant_result): first_failure
    // only when it failed, reported only when true.
    QJsonObject toJson() const;
    static InvariantResult fromJson(const QJsonObject &object);
};

// A recorded run (ledger.invariant_checks).
struct InvariantCheckRun
{
    qint64 id = 0;
    QDateTime checkedAt;
    QString checkedBy;
    bool ok = false;
    QStringList failed;
    double seconds = 0;
    qint64 eventId = 0;
    QList<InvariantResult> results;
};

} // namespace ledger
