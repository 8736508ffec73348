#include "ReportingRepository.h"

#include "DbException.h"
#include "Native.h"

#include <QElapsedTimer>

#include <limits>

namespace ledger::ReportingRepository {

RefreshReport refreshStale(Connection &connection, qint64 minEntries, qint64 budget)
{
    return db::guarded([&] {
        QElapsedTimer t;
        t.start();
        pqxx::work tx(db::native(connection));
        const auto r =
            tx.exec_params("SELECT accounts, entries FROM reporting.refresh_stale($1, $2)",
                           minEntries, budget > 0 ? budget : std::numeric_limits<qint64>::max());
        tx.commit();
        return RefreshReport{r[0][0].as<int>(), r[0][1].as<qint64>(), t.elapsed()};
    });
}

RefreshReport refreshAccount(Connection &connection, const QString &accountCode)
{
    return db::guarded([&] {
        QElapsedTimer t;
        t.start();
        pqxx::work tx(db::native(connection));
        const auto id = tx.exec_params("SELECT id FROM ledger.account_list WHERE code = $1",
                                       db::toStd(accountCode));
        if (id.empty()) {
            Error e;
            e.kind = Error::Kind::NotFound;
            e.message = QStringLiteral("There is no account %1.").arg(accountCode);
            throw DbException(e);
        }
        const auto r =
            tx.exec_params("SELECT reporting.refresh_balance_buckets($1)", id[0][0].as<qint64>());
        tx.commit();
        const qint64 folded = r[0][0].as<qint64>();
        return RefreshReport{folded > 0 ? 1 : 0, folded, t.elapsed()};
    });
}

} // namespace ledger::ReportingRepository
