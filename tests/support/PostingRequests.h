#pragma once

#include "SqlSession.h"

#include <QByteArray>
#include <QString>

namespace ledger::test {

// The JSON of one ledger.post_transaction request, for tests that post through the server.
inline QByteArray postingRequest(const QString &key, const QString &legs,
                                 const QString &effective = QStringLiteral("2026-11-20T10:00:00Z"),
                                 const QString &description = QStringLiteral("test"))
{
    return QStringLiteral(
               R"({"idempotency_key": "%1", "effective_at": "%2", "description": "%3", "legs": [%4]})")
        .arg(key, effective, description, legs)
        .toUtf8();
}

// One leg of such a request (join several with commas).
inline QString postingLeg(const QString &account, const QString &amount,
                          const QString &currency = QStringLiteral("EUR"))
{
    return QStringLiteral(R"({"account": "%1", "amount": "%2", "currency": "%3"})")
        .arg(account, amount, currency);
}

// A transfer of `cents` (EUR) from one account to another: `to` debited, `from` credited.
inline QByteArray transferRequest(const QString &key, const QString &from, const QString &to,
                                  qint64 cents, const QString &description = QStringLiteral("test"))
{
    const QString amount =
        QStringLiteral("%1.%2").arg(cents / 100).arg(cents % 100, 2, 10, QLatin1Char('0'));
    return postingRequest(key,
                          postingLeg(to, amount) + QStringLiteral(", ") +
                              postingLeg(from, QLatin1Char('-') + amount),
                          QStringLiteral("2026-11-20T12:00:00Z"), description);
}

// "transactions/entries/audit events": what a refused request must leave unchanged.
inline QString ledgerCounts(SqlSession &admin)
{
    return admin.scalar(QStringLiteral(
        "SELECT format('%s/%s/%s', (SELECT count(*) FROM ledger.transactions), "
        "(SELECT count(*) FROM ledger.entries), (SELECT count(*) FROM audit.events))"));
}

} // namespace ledger::test
