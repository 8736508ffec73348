#pragma once

#include "Account.h"

#include <QList>
#include <QString>
#include <QStringList>

namespace ledger {

// The account navigator's question: which accounts (filtered by the server) in which order.
// Every order ends with the code (unique); descending reverses it. Balance orders by
// currency first, alphabetically in both directions, then by the amount within the
// currency, ascending or descending (Money::orderByCurrencyThenAmount): 100.00 EUR and
// 10000 JPY are both 10000 minor units, and never sort as one number.
enum class AccountSortKey { Code, Name, Kind, Currency, Balance, NormalSide, OpenedAt };
struct AccountQuery
{
    QString text;     // in the code or the name, case-insensitive; empty = any
    QString kind;     // asset, liability, ...; empty = any
    QString currency; // empty = any
    AccountSortKey sort = AccountSortKey::Code;
    bool descending = false;
};

// What the navigator shows first, answered together: how many accounts match, the first
// page of them, and the currencies that accounts are kept in (for the filter).
struct AccountListStart
{
    qint64 count = 0;
    QList<Account> rows;
    QStringList currencies;
};

} // namespace ledger
