#include "Migrator.h"

#include "Native.h"

namespace ledger {

namespace {

constexpr const char *kCreateBookkeeping = R"sql(
CREATE SCHEMA IF NOT EXISTS ledger_meta;
REVOKE ALL ON SCHEMA ledger_meta FROM PUBLIC;
CREATE TABLE IF NOT EXISTS ledger_meta.schema_migrations (
    version     integer PRIMARY KEY CHECK (version > 0),
    name        text        NOT NULL,
    sha256      text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    applied_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_by  text        NOT NULL DEFAULT session_user
);
)sql";

// Any fixed number will do; it only has to be the same for every migrator.
constexpr long long kMigrationLockKey = 0x4c45444745520001LL;

class SessionLock
{
public:
    explicit SessionLock(pqxx::connection_base &c)
        : m_c(c)
    {
        pqxx::nontransaction tx(m_c);
        tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    }
    ~SessionLock()
    {
        try {
            pqxx::nontransaction tx(m_c);
            tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
        } catch (...) {
            // The lock ends with the session anyway.
        }
    }

private:
    pqxx::connection_base &m_c;
};

} // namespace

Migrator::Migrator(Connection &connection, MigrationSet set)
    : m_connection(connection)
    , m_set(std::move(set))
{}

QList<AppliedMigration> Migrator::readApplied()
{
    return db::guarded([&] {
        pqxx::connection_base &c = db::native(m_connection);
        QList<AppliedMigration> out;
        pqxx::work tx(c);
        const auto exists =
            tx.exec("SELECT to_regclass('ledger_meta.schema_migrations') IS NOT NULL");
        if (!exists[0][0].as<bool>())
            return out;
        const auto rows = tx.exec("SELECT version, name, sha256, "
                                  "to_char(applied_at AT TIME ZONE 'UTC', "
                                  "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
                                  "FROM ledger_meta.schema_migrations ORDER BY version");
        for (const auto &row : rows) {
            AppliedMigration a;
            a.version = row[0].as<int>();
            a.name = db::toQString(row[1]);
            a.sha256 = db::toQString(row[2]);
            a.appliedAt = QDateTime::fromString(db::toQString(row[3]), Qt::ISODateWithMs);
            out.append(a);
        }
        tx.commit();
        return out;
    });
}

void Migrator::verifyApplied(const QList<AppliedMigration> &applied)
{
    const QList<Migration> &known = m_set.migrations();
    for (const AppliedMigration &a : applied) {
        if (a.version > m_set.latestVersion()) {
            throw DbException(Error::make(
                Error::Kind::Conflict,
                QStringLiteral("The database has migration %1 (%2), which this build does not "
                               "know; it was migrated by a newer version. Use a matching or "
                               "newer ledgerctl.")
                    .arg(a.version)
                    .arg(a.name)));
        }
        const Migration &m = known.at(a.version - 1);
        if (m.sha256 != a.sha256 && !m.earlierSha256.contains(a.sha256)) {
            throw DbException(Error::make(
                Error::Kind::Conflict,
                QStringLiteral("Migration %1 was changed after it was applied to this database "
                               "(applied SHA-256 %2, file now %3). Applied migrations must "
                               "never change: restore the file and put the change in a new "
                               "migration.")
                    .arg(m.name, a.sha256.left(12), m.sha256.left(12))));
        }
    }
}

MigrationStatus Migrator::status()
{
    MigrationStatus s;
    s.applied = readApplied();
    verifyApplied(s.applied);
    s.databaseVersion = s.applied.isEmpty() ? 0 : s.applied.last().version;
    for (const Migration &m : m_set.migrations()) {
        if (m.version > s.databaseVersion)
            s.pending.append(m);
    }
    return s;
}

QList<Migration> Migrator::migrate()
{
    return db::guarded([&] {
        pqxx::connection_base &c = db::native(m_connection);
        SessionLock lock(c);
        {
            pqxx::work tx(c);
            tx.exec(kCreateBookkeeping);
            tx.commit();
        }
        // Read under the lock: another migrator may have just finished.
        const MigrationStatus s = status();
        QList<Migration> done;
        for (const Migration &m : s.pending) {
            try {
                pqxx::work tx(c);
                tx.exec(std::string(m.sql.constData(), size_t(m.sql.size())));
                // A migration may SET LOCAL ROLE to the owner; record as ourselves.
                tx.exec("RESET ROLE");
                tx.exec_params("INSERT INTO ledger_meta.schema_migrations (version, name, sha256) "
                               "VALUES ($1, $2, $3)",
                               m.version, db::toStd(m.name), db::toStd(m.sha256));
                tx.commit();
            } catch (...) {
                try {
                    db::rethrowTranslated();
                } catch (const DbException &e) {
                    Error err = e.error();
                    err.message = QStringLiteral("Migration %1 failed and was rolled back; the "
                                                 "database stays at version %2. %3")
                                      .arg(m.name)
                                      .arg(m.version - 1)
                                      .arg(err.message);
                    throw DbException(err);
                }
            }
            done.append(m);
        }
        return done;
    });
}

} // namespace ledger
