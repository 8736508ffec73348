#pragma once

#include "domain/Account.h"
#include "domain/AccountQuery.h"

#include <QList>
#include <QString>
#include <QStringList>

namespace ledger {

class Connection;

// Accounts in the ledger database. Synchronous; throws DbException. Call through DbWorker
// from the GUI, directly from ledgerctl.
namespace AccountRepository {

struct ListFilter
{
    QString text;  // matches code or name, case-insensitive; empty = all
    int limit = 0; // at most this many (by code); 0 = every account, never cut silently
};

QList<Account> list(Connection &connection, const ListFilter &filter = {});

// The navigator's questions, for ledgers of any size: how many accounts match, one page of
// them in a chosen order, and where one account is in that order. Filtered and sorted by
// the server (indexes on code, name, kind, currency; balance sorts sort: by currency first,
// then the amount within it, as minor units of different currencies are not comparable).
// The query types
// are domain types (domain/AccountQuery.h): the console's models build them too.
using SortKey = AccountSortKey;
using Query = AccountQuery;
qint64 countMatching(Connection &connection, const Query &query);
// Rows [offset, offset + limit) in the query's order (ties by code). With `after` (the row
// just before offset, when the caller has it) the server continues from it by keyset
// where the order allows, instead of skipping offset rows.
QList<Account> page(Connection &connection, const Query &query, qint64 offset, int limit,
                    const Account *after = nullptr);
// The 0-based row of the account in the query's order; -1 when it does not match.
qint64 positionOf(Connection &connection, const Query &query, const QString &code);
// The currencies that accounts are kept in, sorted.
QStringList currenciesInUse(Connection &connection);

// Opens one account through ledger.open_account(); returns it as stored.
Account open(Connection &connection, const NewAccount &account);

// Opens many in one transaction; all or nothing. Codes that already exist are skipped
// when skipExisting is true (so that seeding twice is harmless), refused otherwise.
// Returns how many were opened.
int openMany(Connection &connection, const QList<NewAccount> &accounts, bool skipExisting);

qint64 count(Connection &connection);

} // namespace AccountRepository

} // namespace ledger
