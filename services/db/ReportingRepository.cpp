#include "ReportingRepository.h"

#include "DbException.h"
#include "Native.h"

#include <QElapsedTimer>
#include <QJsonDocument>

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

int takeSnapshots(Connection &connection)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const int taken = tx.exec("SELECT reporting.take_snapshots()")[0][0].as<int>();
        tx.commit();
        return taken;
    });
}

qint64 recordReport(Connection &ledger, const QString &name, const QJsonObject &params)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(ledger));
        const qint64 event =
            tx.exec_params("SELECT ledger.record_report($1, $2::jsonb)", db::toStd(name),
                           QJsonDocument(params).toJson(QJsonDocument::Compact).toStdString())[0][0]
                .as<qint64>();
        tx.commit();
        return event;
    });
}

qint64 recordReportExport(Connection &ledger, qint64 runEvent, const QString &format,
                          const QString &sha256)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(ledger));
        const qint64 id = tx.exec_params("SELECT ledger.record_report_export($1, $2, $3)", runEvent,
                                         db::toStd(format), db::toStd(sha256))[0][0]
                              .as<qint64>();
        tx.commit();
        return id;
    });
}

QList<ReportExport> reportExports(Connection &ledger, int limit)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(ledger));
        const auto rows = tx.exec_params(
            "SELECT id, run_event, report, as_of::text, period_from::text, period_to::text, " +
                db::utcColumn("known_at") + ", format, file_sha256, exported_by, " +
                db::utcColumn("exported_at") + ", late_entries FROM ledger.report_exports($1)",
            limit);
        QList<ReportExport> out;
        for (const auto &r : rows) {
            ReportExport x;
            x.id = r[0].as<qint64>();
            x.runEvent = r[1].as<qint64>();
            x.report = db::toQString(r[2]);
            const auto day = [](const pqxx::field &f) {
                return f.is_null() ? QDate() : QDate::fromString(db::toQString(f), Qt::ISODate);
            };
            x.asOf = day(r[3]);
            x.from = day(r[4]);
            x.to = day(r[5]);
            x.knownAt = db::parseUtc(r[6]);
            x.format = db::toQString(r[7]);
            x.sha256 = db::toQString(r[8]);
            x.exportedBy = db::toQString(r[9]);
            x.exportedAt = db::parseUtc(r[10]);
            x.lateEntries = r[11].as<qint64>();
            out.append(x);
        }
        return out;
    });
}

namespace {

// A known-at time as the report functions take it (none: now).
std::optional<std::string> knownParam(const std::optional<QDateTime> &knownAt)
{
    if (!knownAt)
        return std::nullopt;
    return knownAt->toUTC().toString(Qt::ISODateWithMs).toStdString();
}

} // namespace

ReportSourceState storeState(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        const auto r = tx.exec("SELECT is_store, " + db::utcColumn("replicated_at") +
                               " FROM reporting.store_state()");
        ReportSourceState s;
        s.isStore = r[0][0].as<bool>();
        if (!r[0][1].is_null())
            s.replicatedAt = db::parseUtc(r[0][1]);
        return s;
    });
}

QList<TrialBalanceRow> trialBalance(Connection &connection, const QDate &asOf,
                                    const std::optional<QDateTime> &knownAt)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        const auto rows = tx.exec_params(
            "SELECT account_code, account_name, kind, currency, exponent, debit_minor, "
            "credit_minor, entries FROM reporting.trial_balance($1::date, $2::timestamptz)",
            asOf.toString(Qt::ISODate).toStdString(), knownParam(knownAt));
        QList<TrialBalanceRow> out;
        for (const auto &r : rows)
            out.append({db::toQString(r[0]), db::toQString(r[1]), db::toQString(r[2]),
                        db::toQString(r[3]), r[4].as<int>(), r[5].as<qint64>(), r[6].as<qint64>(),
                        r[7].as<qint64>()});
        return out;
    });
}

QList<MovementRow> movements(Connection &connection, const QDate &from, const QDate &to,
                             const std::optional<QDateTime> &knownAt)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        const auto rows = tx.exec_params(
            "SELECT account_code, account_name, kind, currency, exponent, opening_minor, "
            "movement_minor, closing_minor, entries FROM reporting.account_movements($1::date, "
            "$2::date, $3::timestamptz)",
            from.toString(Qt::ISODate).toStdString(), to.toString(Qt::ISODate).toStdString(),
            knownParam(knownAt));
        QList<MovementRow> out;
        for (const auto &r : rows)
            out.append({db::toQString(r[0]), db::toQString(r[1]), db::toQString(r[2]),
                        db::toQString(r[3]), r[4].as<int>(), r[5].as<qint64>(), r[6].as<qint64>(),
                        r[7].as<qint64>(), r[8].as<qint64>()});
        return out;
    });
}

QList<VolumeRow> volumes(Connection &connection, const QDate &from, const QDate &to,
                         const QString &unit)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        const auto rows = tx.exec_params(
            "SELECT period::text, currency, exponent, entries, debits_minor, credits_minor FROM "
            "reporting.volumes($1::date, $2::date, $3)",
            from.toString(Qt::ISODate).toStdString(), to.toString(Qt::ISODate).toStdString(),
            db::toStd(unit));
        QList<VolumeRow> out;
        for (const auto &r : rows)
            out.append({QDate::fromString(db::toQString(r[0]), Qt::ISODate), db::toQString(r[1]),
                        r[2].as<int>(), r[3].as<qint64>(), r[4].as<qint64>(), r[5].as<qint64>()});
        return out;
    });
}

} // namespace ledger::ReportingRepository
