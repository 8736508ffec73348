#include "ReplicaAdmin.h"

#include "DbException.h"
#include "MigrationSet.h"
#include "Migrator.h"
#include "Native.h"

#include <QRegularExpression>

namespace ledger::ReplicaAdmin {

namespace {

using db::toQString;
using db::toStd;

// What the reporting store copies: the reports' tables, the operator registry and the
// brokers' verifiers (0037: operators sign in there with their ledger secret).
const QStringList kTables{QStringLiteral("ledger.accounts"), QStringLiteral("ledger.transactions"),
                          QStringLiteral("ledger.entries"), QStringLiteral("access.operators"),
                          QStringLiteral("access.broker_verifiers")};

[[noreturn]] void fail(Error::Kind kind, const QString &message)
{
    throw DbException(Error::make(kind, message));
}

// A connection string as it may be shown: without its password.
QString shown(const QString &conninfo)
{
    QString s = conninfo;
    s.replace(QRegularExpression(QStringLiteral("password\\s*=\\s*('([^'\\\\]|\\\\.)*'|\\S*)")),
              QStringLiteral("password=***"));
    return s;
}

std::string one(Connection &connection, const std::string &sql)
{
    pqxx::nontransaction tx(db::native(connection));
    const auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

void requireSuperuser(Connection &connection, const QString &which)
{
    if (one(connection, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") != "t")
        fail(Error::Kind::Permission,
             QStringLiteral("The %1 connection is not a superuser's: setting up logical "
                            "replication needs one on both servers (PostgreSQL 15).")
                 .arg(which));
}

} // namespace

QString Status::state() const
{
    if (!subscribed)
        return QStringLiteral("not set up");
    if (!enabled)
        return QStringLiteral("disabled");
    if (!workerRunning)
        return QStringLiteral("stopped");
    if (tablesReady < tablesTotal)
        return QStringLiteral("initial copy");
    return QStringLiteral("streaming");
}

SetupReport setup(Connection &primary, Connection &replica, const QString &primaryConninfo)
{
    return db::guarded([&] {
        SetupReport report;
        report.tables = kTables;
        requireSuperuser(primary, QStringLiteral("ledger (--primary)"));
        requireSuperuser(replica, QStringLiteral("reporting store (--replica)"));

        // The ledger's server first: nothing is changed anywhere when it cannot publish.
        const std::string walLevel = one(primary, "SHOW wal_level");
        if (walLevel != "logical")
            fail(Error::Kind::Input,
                 QStringLiteral("The ledger's server has wal_level = %1; logical replication "
                                "needs wal_level = logical. Set it in that server's "
                                "postgresql.conf (or ALTER SYSTEM SET wal_level = logical), "
                                "restart it, and run the setup again.")
                     .arg(QString::fromStdString(walLevel)));
        if (one(primary, "SELECT to_regclass('access.broker_verifiers') IS NOT NULL") != "t")
            fail(Error::Kind::Input,
                 QStringLiteral("The ledger database is not migrated to this version: run "
                                "`ledgerctl migrate` on it first."));
        if (one(primary, "SELECT system_identifier::text FROM pg_control_system()") ==
            one(replica, "SELECT system_identifier::text FROM pg_control_system()"))
            fail(Error::Kind::Input,
                 QStringLiteral("The reporting store is on the ledger's own server: give "
                                "--replica a database on another PostgreSQL server (a "
                                "subscription within one server needs its slot made by "
                                "hand)."));
        const std::string slotFree =
            one(primary, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '" +
                             std::string(kName) +
                             "') OR current_setting('max_replication_slots')::int > "
                             "(SELECT count(*) FROM pg_replication_slots)");
        if (slotFree != "t")
            fail(Error::Kind::Input,
                 QStringLiteral("The ledger's server has no free replication slot: raise "
                                "max_replication_slots in its postgresql.conf and restart it."));

        // The reporting store: a database migrated like the ledger, its ledger tables empty
        // until the subscription fills them.
        auto migrations = MigrationSet::builtIn();
        if (!migrations)
            throw DbException(migrations.error());
        Migrator migrator(replica, migrations.value());
        report.replicaMigrations = int(migrator.migrate().size());
        const bool subscribed =
            one(replica, "SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = '" +
                             std::string(kName) +
                             "' AND subdbid = (SELECT oid FROM pg_database "
                             "WHERE datname = current_database()))") == "t";
        if (!subscribed) {
            const std::string rows =
                one(replica, "SELECT (SELECT count(*) FROM ledger.accounts) + (SELECT count(*) "
                             "FROM ledger.entries) + (SELECT count(*) FROM access.operators)");
            if (rows != "0")
                fail(Error::Kind::Input,
                     QStringLiteral("The reporting store already holds %1 ledger rows of its "
                                    "own: give --replica a new, empty database.")
                         .arg(QString::fromStdString(rows)));
        }

        {
            pqxx::work tx(db::native(primary));
            const std::string tables = toStd(kTables.join(QStringLiteral(", ")));
            report.publicationCreated =
                tx.exec("SELECT 1 FROM pg_publication WHERE pubname = '" + std::string(kName) + "'")
                    .empty();
            tx.exec((report.publicationCreated ? "CREATE PUBLICATION " : "ALTER PUBLICATION ") +
                    std::string(kName) +
                    (report.publicationCreated ? " FOR TABLE " : " SET TABLE ") + tables);
            tx.commit();
        }
        {
            // On the reporting store the rows are the ledger's, checked there: its balance
            // check (a deferred trigger that fires for the apply worker too) would refuse the
            // initial copy of transactions before their entries, and the registry's guard
            // (fired always until now) the apply worker's update of an operator. The
            // aggregates are folded in here, the accounts placed in report order (0058), and
            // the brokers and disabled operators follow the ledger's (0037).
            pqxx::work tx(db::native(replica));
            tx.exec("ALTER TABLE ledger.transactions DISABLE TRIGGER transactions_balanced");
            tx.exec("ALTER TABLE access.operators ENABLE TRIGGER operators_guard");
            tx.exec("ALTER TABLE ledger.entries ENABLE ALWAYS TRIGGER entries_fold_on_replica");
            tx.exec("ALTER TABLE ledger.accounts ENABLE ALWAYS TRIGGER accounts_place_on_replica");
            tx.exec("ALTER TABLE access.broker_verifiers ENABLE ALWAYS TRIGGER "
                    "broker_verifiers_on_store");
            tx.exec("ALTER TABLE access.operators ENABLE ALWAYS TRIGGER operators_on_store");
            tx.commit();
        }
        try {
            // Neither can run inside a transaction block.
            pqxx::nontransaction tx(db::native(replica));
            const std::string conninfo = tx.quote(toStd(primaryConninfo));
            if (!subscribed) {
                tx.exec("CREATE SUBSCRIPTION " + std::string(kName) + " CONNECTION " + conninfo +
                        " PUBLICATION " + kName);
                report.subscriptionCreated = true;
            } else {
                tx.exec("ALTER SUBSCRIPTION " + std::string(kName) + " CONNECTION " + conninfo);
                tx.exec("ALTER SUBSCRIPTION " + std::string(kName) + " ENABLE");
                tx.exec("ALTER SUBSCRIPTION " + std::string(kName) + " REFRESH PUBLICATION");
            }
        } catch (const std::exception &e) { // a sql_error, or broken_connection (SQLSTATE 08)
            const QString why = QString::fromUtf8(e.what()).trimmed();
            if (why.contains(QLatin1String("could not connect to the publisher")))
                fail(Error::Kind::Connection,
                     QStringLiteral("The reporting store's server could not reach the ledger "
                                    "with \"%1\" (%2). Give --primary a connection string that "
                                    "server can use: host and port as it sees them, a "
                                    "superuser, and a pg_hba.conf line on the ledger's server "
                                    "that lets it in. Nothing was subscribed.")
                         .arg(shown(primaryConninfo), why.section(QLatin1Char('\n'), 0, 0)));
            throw;
        }
        return report;
    });
}

Status status(Connection *primary, Connection &replica)
{
    return db::guarded([&] {
        Status s;
        pqxx::nontransaction tx(db::native(replica));
        const std::string name = tx.quote(kName);
        const auto sub = tx.exec(
            "SELECT s.subenabled, (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = "
            "s.oid AND r.srsubstate = 'r'), (SELECT count(*) FROM pg_subscription_rel r WHERE "
            "r.srsubid = s.oid), EXISTS (SELECT 1 FROM pg_stat_subscription a WHERE a.subid = "
            "s.oid AND a.relid IS NULL AND a.pid IS NOT NULL), (SELECT to_char(max(a.last_msg_"
            "receipt_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM "
            "pg_stat_subscription a WHERE a.subid = s.oid), (SELECT extract(epoch FROM now() - "
            "max(a.latest_end_time))::float8 FROM pg_stat_subscription a WHERE a.subid = s.oid) "
            "FROM pg_subscription s WHERE s.subname = " +
            name +
            " AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())");
        if (sub.empty())
            return s;
        s.subscribed = true;
        s.enabled = sub[0][0].as<bool>();
        s.tablesReady = sub[0][1].as<int>();
        s.tablesTotal = sub[0][2].as<int>();
        s.workerRunning = sub[0][3].as<bool>();
        if (!sub[0][4].is_null())
            s.lastMessageAt = db::parseUtc(sub[0][4]);
        const double sinceEnd = sub[0][5].is_null() ? -1 : sub[0][5].as<double>();
        if (primary) {
            pqxx::nontransaction ptx(db::native(*primary));
            const auto slot = ptx.exec(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM "
                "pg_replication_slots WHERE slot_name = " +
                name);
            if (!slot.empty() && !slot[0][0].is_null()) {
                s.lagBytes = slot[0][0].as<qint64>();
                s.lagSeconds = s.lagBytes == 0 ? 0 : std::max(0.0, sinceEnd);
            }
        }
        return s;
    });
}

} // namespace ledger::ReplicaAdmin
