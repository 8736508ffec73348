#include "AccountRepository.h"

#include "Native.h"

namespace ledger::AccountRepository {

namespace {

constexpr const char *kSelectColumns =
    "SELECT id, code, name, currency, kind::text, allow_negative, "
    "to_char(opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "balance, balance_minor, entry_count "
    "FROM ledger.account_list ";

Account fromRow(const pqxx::row &row)
{
    Account a;
    a.id = row[0].as<qint64>();
    a.code = db::toQString(row[1]);
    a.name = db::toQString(row[2]);
    a.currency = db::toQString(row[3]);
    a.kind = accountKindFromString(db::toQString(row[4])).value_or(AccountKind::Asset);
    a.allowNegative = row[5].as<bool>();
    a.openedAt = QDateTime::fromString(db::toQString(row[6]), Qt::ISODateWithMs);
    a.balance = db::toQString(row[7]);
    a.balanceMinor = row[8].as<qint64>();
    a.entryCount = row[9].as<qint64>();
    return a;
}

qint64 openOne(pqxx::work &tx, const NewAccount &a)
{
    const auto r = tx.exec_params("SELECT ledger.open_account($1, $2, $3, $4, $5)",
                                  db::toStd(a.code), db::toStd(a.name), db::toStd(a.currency),
                                  db::toStd(toString(a.kind)), a.allowNegative);
    return r[0][0].as<qint64>();
}

} // namespace

QList<Account> list(Connection &connection, const ListFilter &filter)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        std::string sql = kSelectColumns;
        pqxx::result rows;
        // LIMIT NULL is no limit: 0 asks for every account.
        const int limit = qMax(0, filter.limit);
        if (filter.text.isEmpty()) {
            sql += "ORDER BY code LIMIT nullif($1::int, 0)";
            rows = tx.exec_params(sql, limit);
        } else {
            sql += "WHERE code ILIKE $1 OR name ILIKE $1 ORDER BY code LIMIT nullif($2::int, 0)";
            QString pattern = filter.text;
            pattern.replace(QLatin1String("\\"), QLatin1String("\\\\"))
                .replace(QLatin1String("%"), QLatin1String("\\%"))
                .replace(QLatin1String("_"), QLatin1String("\\_"));
            rows = tx.exec_params(sql, db::toStd(QLatin1Char('%') + pattern + QLatin1Char('%')),
                                  limit);
        }
        QList<Account> out;
        out.reserve(int(rows.size()));
        for (const auto &row : rows)
            out.append(fromRow(row));
        return out;
    });
}

Account open(Connection &connection, const NewAccount &account)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const qint64 id = openOne(tx, account);
        const auto rows = tx.exec_params(std::string(kSelectColumns) + "WHERE id = $1", id);
        Account a = fromRow(rows[0]);
        tx.commit();
        return a;
    });
}

int openMany(Connection &connection, const QList<NewAccount> &accounts, bool skipExisting)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        int opened = 0;
        for (const NewAccount &a : accounts) {
            if (skipExisting) {
                const auto r = tx.exec_params("SELECT 1 FROM ledger.account_list WHERE code = $1",
                                              db::toStd(a.code));
                if (!r.empty())
                    continue;
            }
            openOne(tx, a);
            ++opened;
        }
        tx.commit();
        return opened;
    });
}

qint64 count(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        return tx.exec("SELECT count(*) FROM ledger.account_list")[0][0].as<qint64>();
    });
}

} // namespace ledger::AccountRepository
