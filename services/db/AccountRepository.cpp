#include "AccountRepository.h"

#include "Native.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <optional>
#include <string>
#include <vector>

namespace ledger::AccountRepository {

namespace {

constexpr const char *kSelectColumns =
    "SELECT id, code, name, currency, kind::text, allow_negative, "
    "to_char(opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "balance, balance_minor, entry_count "
    "FROM ledger.account_list ";

// The reads a list or search of accounts puts on record first (0032_reads_on_record.sql):
// the list itself, and a search's terms as the navigator was given them.
std::vector<db::ReadKey> readsOf(const QString &text, const QString &kind = {},
                                 const QString &currency = {})
{
    std::vector<db::ReadKey> reads{{"account_list", {}}};
    QJsonObject terms;
    if (!text.trimmed().isEmpty())
        terms.insert(QStringLiteral("text"), text);
    if (!kind.isEmpty())
        terms.insert(QStringLiteral("kind"), kind);
    if (!currency.isEmpty())
        terms.insert(QStringLiteral("currency"), currency);
    if (!terms.isEmpty())
        reads.push_back(
            {"account_search", QJsonDocument(terms).toJson(QJsonDocument::Compact).toStdString()});
    return reads;
}

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
    a.balance = db::money(row[8].as<qint64>(), a.currency, db::toQString(row[7]));
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

// One ORDER BY key of a sort: a column of ledger.account_list, and whether it stays
// ascending when the user sorts descending.
struct OrderKey
{
    QString column;
    bool alwaysAscending = false;
};

// The ORDER BY keys of a sort (the last is always the code, which is unique).
QList<OrderKey> sortKeys(SortKey key)
{
    const OrderKey code{QStringLiteral("code")};
    switch (key) {
    case SortKey::Code:
        return {code};
    case SortKey::Name:
        return {{QStringLiteral("name")}, code};
    case SortKey::Kind:
        return {{QStringLiteral("kind")}, code};
    case SortKey::Currency:
        return {{QStringLiteral("currency")}, code};
    case SortKey::Balance:
        // Minor units are numbers only within one currency (10000 is 100.00 EUR but 10000
        // JPY): the currency is the first key and orders the groups alphabetically in both
        // directions; the amount orders within a currency, ascending or descending
        // (Money::orderByCurrencyThenAmount is the same rule in C++).
        return {{QStringLiteral("currency"), true}, {QStringLiteral("balance_minor")}, code};
    case SortKey::NormalSide:
        return {{QStringLiteral("normal_side")}, code};
    case SortKey::OpenedAt:
        return {{QStringLiteral("opened_at")}, code};
    }
    return {code};
}

bool ascending(const OrderKey &key, const Query &query)
{
    return key.alwaysAscending || !query.descending;
}

// SQL that is true for the rows before the row `t` in the query's order: the keys compared
// in turn, runs of keys in one direction as one row comparison (an index can serve it).
QString rowsBefore(const QList<OrderKey> &keys, const Query &query, const QString &t)
{
    if (keys.isEmpty())
        return QStringLiteral("false");
    const bool up = ascending(keys.first(), query);
    qsizetype run = 1;
    while (run < keys.size() && ascending(keys.at(run), query) == up)
        ++run;
    QStringList mine;
    QStringList theirs;
    for (qsizetype i = 0; i < run; ++i) {
        mine << keys.at(i).column;
        theirs << t + QLatin1Char('.') + keys.at(i).column;
    }
    const QString left = QLatin1Char('(') + mine.join(QLatin1String(", ")) + QLatin1Char(')');
    const QString right = QLatin1Char('(') + theirs.join(QLatin1String(", ")) + QLatin1Char(')');
    const QString before =
        QStringLiteral("%1 %2 %3").arg(left, up ? QStringLiteral("<") : QStringLiteral(">"), right);
    if (run == keys.size())
        return before;
    return QStringLiteral("(%1 OR (%2 = %3 AND %4))")
        .arg(before, left, right, rowsBefore(keys.mid(run), query, t));
}

// The filter as SQL over ledger.account_list, parameters $1..$3 (NULL: any).
constexpr const char *kWhere = "WHERE ($1::text IS NULL OR code ILIKE $1 OR name ILIKE $1) "
                               "AND ($2::text IS NULL OR kind::text = $2) "
                               "AND ($3::text IS NULL OR currency = $3) ";

std::optional<std::string> likePattern(const QString &text)
{
    if (text.isEmpty())
        return std::nullopt;
    QString pattern = text;
    pattern.replace(QLatin1String("\\"), QLatin1String("\\\\"))
        .replace(QLatin1String("%"), QLatin1String("\\%"))
        .replace(QLatin1String("_"), QLatin1String("\\_"));
    return db::toStd(QLatin1Char('%') + pattern + QLatin1Char('%'));
}

std::optional<std::string> orNull(const QString &value)
{
    return value.isEmpty() ? std::nullopt : std::optional<std::string>(db::toStd(value));
}

std::string orderBy(const Query &query)
{
    QStringList keys;
    for (const OrderKey &k : sortKeys(query.sort))
        keys << k.column + (ascending(k, query) ? QLatin1String(" ASC") : QLatin1String(" DESC"));
    return db::toStd(QStringLiteral("ORDER BY ") + keys.join(QLatin1String(", ")) +
                     QLatin1Char(' '));
}

} // namespace

QList<Account> list(Connection &connection, const ListFilter &filter)
{
    return db::guarded([&] {
        return db::onRecord(connection, readsOf(filter.text), [&] {
            pqxx::read_transaction tx(db::native(connection));
            std::string sql = kSelectColumns;
            pqxx::result rows;
            // LIMIT NULL is no limit: 0 asks for every account.
            const int limit = qMax(0, filter.limit);
            if (filter.text.isEmpty()) {
                sql += "ORDER BY code LIMIT nullif($1::int, 0)";
                rows = tx.exec_params(sql, limit);
            } else {
                sql +=
                    "WHERE code ILIKE $1 OR name ILIKE $1 ORDER BY code LIMIT nullif($2::int, 0)";
                rows = tx.exec_params(sql, likePattern(filter.text), limit);
            }
            QList<Account> out;
            out.reserve(int(rows.size()));
            for (const auto &row : rows)
                out.append(fromRow(row));
            return out;
        });
    });
}

qint64 countMatching(Connection &connection, const Query &query)
{
    return db::guarded([&] {
        return db::onRecord(connection, readsOf(query.text, query.kind, query.currency), [&] {
            pqxx::read_transaction tx(db::native(connection));
            const auto r =
                tx.exec_params(std::string("SELECT count(*) FROM ledger.account_list ") + kWhere,
                               likePattern(query.text), orNull(query.kind), orNull(query.currency));
            return r[0][0].as<qint64>();
        });
    });
}

QList<Account> page(Connection &connection, const Query &query, qint64 offset, int limit,
                    const Account *after)
{
    return db::guarded([&] {
        return db::onRecord(connection, readsOf(query.text, query.kind, query.currency), [&] {
            pqxx::read_transaction tx(db::native(connection));
            std::string sql = std::string(kSelectColumns) + kWhere;
            pqxx::result rows;
            const char *cmp = query.descending ? "<" : ">";
            // Keyset where the key is exact on this side (text): code, name, currency.
            if (after && (query.sort == SortKey::Code || query.sort == SortKey::Name ||
                          query.sort == SortKey::Currency)) {
                if (query.sort == SortKey::Code) {
                    sql += std::string("AND code ") + cmp + " $4 ";
                    sql += orderBy(query) + "LIMIT $5";
                    rows = tx.exec_params(sql, likePattern(query.text), orNull(query.kind),
                                          orNull(query.currency), db::toStd(after->code), limit);
                } else {
                    const std::string column = query.sort == SortKey::Name ? "name" : "currency";
                    const QString &value =
                        query.sort == SortKey::Name ? after->name : after->currency;
                    sql += "AND (" + column + ", code) " + cmp + " ($4, $5) ";
                    sql += orderBy(query) + "LIMIT $6";
                    rows = tx.exec_params(sql, likePattern(query.text), orNull(query.kind),
                                          orNull(query.currency), db::toStd(value),
                                          db::toStd(after->code), limit);
                }
            } else {
                // Skip rows on the codes alone: the view's formatted columns are computed for
                // the page's rows only, not for every row skipped.
                sql = std::string(kSelectColumns) +
                      "WHERE code IN (SELECT code FROM ledger.account_list " + kWhere +
                      orderBy(query) + "LIMIT $4 OFFSET $5) " + orderBy(query);
                rows = tx.exec_params(sql, likePattern(query.text), orNull(query.kind),
                                      orNull(query.currency), limit, offset);
            }
            QList<Account> out;
            out.reserve(int(rows.size()));
            for (const auto &row : rows)
                out.append(fromRow(row));
            return out;
        });
    });
}

qint64 positionOf(Connection &connection, const Query &query, const QString &code)
{
    return db::guarded([&] {
        return db::onRecord(connection, readsOf(query.text, query.kind, query.currency), [&] {
            pqxx::read_transaction tx(db::native(connection));
            // Rows before the target in the order: the count is its position. NULL when the
            // target does not match the filter.
            const std::string sql =
                std::string("WITH t AS (SELECT * FROM ledger.account_list ") + kWhere +
                "AND code = $4) SELECT (SELECT count(*) FROM ledger.account_list " + kWhere +
                db::toStd(QStringLiteral("AND %1) FROM t")
                              .arg(rowsBefore(sortKeys(query.sort), query, QStringLiteral("t"))));
            const auto r = tx.exec_params(sql, likePattern(query.text), orNull(query.kind),
                                          orNull(query.currency), db::toStd(code));
            return r.empty() ? qint64(-1) : r[0][0].as<qint64>();
        });
    });
}

QStringList currenciesInUse(Connection &connection)
{
    return db::guarded([&] {
        return db::onRecord(connection, readsOf({}), [&] {
            pqxx::read_transaction tx(db::native(connection));
            QStringList out;
            for (const auto &row :
                 tx.exec("SELECT DISTINCT currency FROM ledger.account_list ORDER BY 1"))
                out << db::toQString(row[0]);
            return out;
        });
    });
}

Account open(Connection &connection, const NewAccount &account)
{
    return db::guarded([&] {
        return db::onRecord(connection, readsOf({}), [&] {
            pqxx::work tx(db::native(connection));
            const qint64 id = openOne(tx, account);
            const auto rows = tx.exec_params(std::string(kSelectColumns) + "WHERE id = $1", id);
            Account a = fromRow(rows[0]);
            tx.commit();
            return a;
        });
    });
}

int openMany(Connection &connection, const QList<NewAccount> &accounts, bool skipExisting)
{
    return db::guarded([&] {
        return db::onRecord(connection, readsOf({}), [&] {
            pqxx::work tx(db::native(connection));
            int opened = 0;
            for (const NewAccount &a : accounts) {
                if (skipExisting) {
                    const auto r = tx.exec_params(
                        "SELECT 1 FROM ledger.account_list WHERE code = $1", db::toStd(a.code));
                    if (!r.empty())
                        continue;
                }
                openOne(tx, a);
                ++opened;
            }
            tx.commit();
            return opened;
        });
    });
}

qint64 count(Connection &connection)
{
    return db::guarded([&] {
        return db::onRecord(connection, readsOf({}), [&] {
            pqxx::read_transaction tx(db::native(connection));
            return tx.exec("SELECT count(*) FROM ledger.account_list")[0][0].as<qint64>();
        });
    });
}

} // namespace ledger::AccountRepository
