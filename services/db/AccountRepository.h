#pragma once

#include "domain/Account.h"

#include <QList>
#include <QString>

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

// Opens one account through ledger.open_account(); returns it as stored.
Account open(Connection &connection, const NewAccount &account);

// Opens many in one transaction; all or nothing. Codes that already exist are skipped
// when skipExisting is true (so that seeding twice is harmless), refused otherwise.
// Returns how many were opened.
int openMany(Connection &connection, const QList<NewAccount> &accounts, bool skipExisting);

qint64 count(Connection &connection);

} // namespace AccountRepository

} // namespace ledger
