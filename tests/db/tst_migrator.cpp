// Migrations against a real PostgreSQL: order, checksum refusal, idempotent re-run,
// rollback of a failing migration, refusal of a newer database, concurrent migrators.

#include "ServerLogWatcher.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccountRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/Migrator.h"

#include <QCryptographicHash>
#include <QTest>

#include <mutex>
#include <thread>

using namespace ledger;

namespace {

Migration make(int version, const QString &name, const QByteArray &sql)
{
    Migration m;
    m.version = version;
    m.name = QStringLiteral("%1_%2").arg(version, 4, 10, QLatin1Char('0')).arg(name);
    m.sql = sql;
    m.sha256 =
        QString::fromLatin1(QCryptographicHash::hash(sql, QCryptographicHash::Sha256).toHex());
    return m;
}

MigrationSet setOf(QList<Migration> list)
{
    auto set = MigrationSet::fromList(std::move(list));
    if (!set)
        qFatal("bad test migration set");
    return set.value();
}

// 2 depends on 1 and 3 on 2: any other order fails.
QList<Migration> chain()
{
    return {make(1, QStringLiteral("create"), "CREATE TABLE t (id int PRIMARY KEY);"),
            make(2, QStringLiteral("add_column"), "ALTER TABLE t ADD COLUMN note text;"),
            make(3, QStringLiteral("fill"), "INSERT INTO t VALUES (1, 'three');")};
}

} // namespace

class TestMigrator : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    int m_counter = 0;

    QString freshDatabase()
    {
        return m_db.createDatabase(QStringLiteral("mig_%1").arg(++m_counter));
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY2(m_db.start(), qPrintable(m_db.lastError())); }

    void builtInMigrationsAreRecordedWithTheirHashes()
    {
        Connection c(m_db.adminDsn());
        const auto set = MigrationSet::builtIn();
        QVERIFY(set.ok());
        Migrator migrator(c, set.value());
        const MigrationStatus s = migrator.status();
        QCOMPARE(s.databaseVersion, set.value().latestVersion());
        QVERIFY(s.pending.isEmpty());
        QCOMPARE(s.applied.size(), set.value().migrations().size());
        for (int i = 0; i < s.applied.size(); ++i) {
            QCOMPARE(s.applied.at(i).version, i + 1);
            QCOMPARE(s.applied.at(i).sha256, set.value().migrations().at(i).sha256);
            QVERIFY(s.applied.at(i).appliedAt.isValid());
        }
        // The schema they create is there and usable.
        QVERIFY(AccountRepository::count(c) >= 0);
    }

    void appliesInOrderThenIsANoOp()
    {
        Connection c(freshDatabase());
        Migrator migrator(c, setOf(chain()));
        QCOMPARE(migrator.status().pending.size(), 3);
        const auto applied = migrator.migrate();
        QCOMPARE(applied.size(), 3);
        QCOMPARE(applied.at(0).version, 1);
        QCOMPARE(applied.at(2).version, 3);
        QCOMPARE(migrator.status().databaseVersion, 3);

        // Second run: nothing to do, nothing re-applied (3 would fail on its primary key).
        QVERIFY(migrator.migrate().isEmpty());
        const auto s = migrator.status();
        QCOMPARE(s.applied.size(), 3);
        QVERIFY(s.pending.isEmpty());
    }

    void appliesOnlyWhatIsNew()
    {
        Connection c(freshDatabase());
        QList<Migration> first = chain().mid(0, 2);
        QCOMPARE(Migrator(c, setOf(first)).migrate().size(), 2);
        const auto applied = Migrator(c, setOf(chain())).migrate();
        QCOMPARE(applied.size(), 1);
        QCOMPARE(applied.first().name, QStringLiteral("0003_fill"));
    }

    void refusesAChangedMigration()
    {
        Connection c(freshDatabase());
        QCOMPARE(Migrator(c, setOf(chain().mid(0, 2))).migrate().size(), 2);

        QList<Migration> edited = chain();
        edited[1] =
            make(2, QStringLiteral("add_column"), "ALTER TABLE t ADD COLUMN note varchar(10);");
        Migrator migrator(c, setOf(edited));
        try {
            migrator.migrate();
            QFAIL("a changed migration was accepted");
        } catch (const DbException &e) {
            QCOMPARE(e.error().kind, Error::Kind::Conflict);
            QVERIFY2(e.error().message.contains(QLatin1String("0002_add_column")),
                     qPrintable(e.error().message));
            QVERIFY2(e.error().message.contains(QLatin1String("changed after it was applied")),
                     qPrintable(e.error().message));
        }
        // Nothing further was applied: 3 is still pending in an unchanged set.
        QCOMPARE(Migrator(c, setOf(chain().mid(0, 2))).status().databaseVersion, 2);
    }

    // An edit of comments alone is accepted when the set knows the earlier text's checksum
    // (MigrationSet's kEarlierTexts); any other edit is still refused.
    void acceptsTheEarlierTextOfACommentEdit()
    {
        Connection c(freshDatabase());
        QCOMPARE(Migrator(c, setOf(chain().mid(0, 2))).migrate().size(), 2);

        QList<Migration> commented = chain();
        const QString before = commented[1].sha256;
        commented[1] =
            make(2, QStringLiteral("add_column"), "-- A comment written later.\n" + chain()[1].sql);
        commented[1].earlierSha256 << before;
        const auto applied = Migrator(c, setOf(commented)).migrate();
        QCOMPARE(applied.size(), 1);
        QCOMPARE(applied.first().name, QStringLiteral("0003_fill"));

        // The real list: a database migrated before Step 10's comment edits (its recorded
        // checksums are the earlier texts') is accepted by this build.
        Connection builtIn(m_db.adminDsn());
        const auto set = MigrationSet::builtIn();
        QVERIFY(set.ok());
        int edited = 0;
        test::SqlSession admin(m_db.adminDsn());
        for (const Migration &m : set.value().migrations()) {
            if (m.earlierSha256.isEmpty())
                continue;
            ++edited;
            QVERIFY(!m.earlierSha256.contains(m.sha256));
            QVERIFY(admin
                        .exec(QStringLiteral("UPDATE ledger_meta.schema_migrations SET sha256 = $1 "
                                             "WHERE version = $2"),
                              {m.earlierSha256.first(), QString::number(m.version)})
                        .ok);
        }
        QCOMPARE(edited, 5);
        QVERIFY(Migrator(builtIn, set.value()).migrate().isEmpty());
        for (const Migration &m : set.value().migrations())
            if (!m.earlierSha256.isEmpty())
                QVERIFY(admin
                            .exec(QStringLiteral("UPDATE ledger_meta.schema_migrations SET "
                                                 "sha256 = $1 WHERE version = $2"),
                                  {m.sha256, QString::number(m.version)})
                            .ok);
    }

    void rollsBackAFailingMigration()
    {
        Connection c(freshDatabase());
        QList<Migration> list = chain().mid(0, 2);
        // Creates a table, then fails: the table must not survive.
        list << make(3, QStringLiteral("broken"), "CREATE TABLE half_done (x int); SELECT 1/0;");
        Migrator migrator(c, setOf(list));
        try {
            migrator.migrate();
            QFAIL("a failing migration reported success");
        } catch (const DbException &e) {
            QVERIFY2(
                e.error().message.contains(QLatin1String("0003_broken failed and was rolled back")),
                qPrintable(e.error().message));
            QVERIFY2(e.error().message.contains(QLatin1String("stays at version 2")),
                     qPrintable(e.error().message));
            QCOMPARE(e.error().sqlState, QStringLiteral("22012"));
        }
        const auto s = migrator.status();
        QCOMPARE(s.databaseVersion, 2);
        QCOMPARE(s.pending.size(), 1);
        // Fix the migration (it was never applied, so changing it is fine) and go on.
        list[2] = make(3, QStringLiteral("broken"), "CREATE TABLE half_done (x int);");
        QCOMPARE(Migrator(c, setOf(list)).migrate().size(), 1);
    }

    void refusesADatabaseNewerThanTheBuild()
    {
        Connection c(freshDatabase());
        QCOMPARE(Migrator(c, setOf(chain())).migrate().size(), 3);
        try {
            Migrator(c, setOf(chain().mid(0, 2))).migrate();
            QFAIL("an older build migrated a newer database");
        } catch (const DbException &e) {
            QCOMPARE(e.error().kind, Error::Kind::Conflict);
            QVERIFY2(e.error().message.contains(QLatin1String("newer version")),
                     qPrintable(e.error().message));
        }
    }

    void concurrentMigratorsApplyEachMigrationOnce()
    {
        const QString dsn = freshDatabase();
        const QString database = QStringLiteral("mig_%1").arg(m_counter);
        // The first migration waits at a gate the test holds, so that the migrators really
        // overlap: one applying it, the others waiting for the migration lock. Their
        // backends log their lock waits as they begin, which wakes the test to count them.
        auto gate = std::make_unique<test::SqlSession>(dsn);
        for (const char *setting : {"log_lock_waits = on", "deadlock_timeout = '10ms'"})
            QVERIFY(gate->run(QStringLiteral("ALTER DATABASE %1 SET %2")
                                  .arg(database, QString::fromLatin1(setting)))
                        .ok);
        QVERIFY(gate->run(QStringLiteral("SELECT pg_advisory_lock(770377)")).ok);
        QList<Migration> list = chain();
        list[0] =
            make(1, QStringLiteral("create"),
                 "SELECT pg_advisory_xact_lock(770377); CREATE TABLE t (id int PRIMARY KEY);");
        const MigrationSet set = setOf(list);
        constexpr int kMigrators = 4;
        QList<int> appliedCounts(kMigrators, -1);
        QStringList errors;
        std::mutex mutex;
        std::vector<std::thread> threads;
        for (int i = 0; i < kMigrators; ++i) {
            threads.emplace_back([&, i] {
                try {
                    Connection c(dsn);
                    const int n = int(Migrator(c, set).migrate().size());
                    std::lock_guard lock(mutex);
                    appliedCounts[i] = n;
                } catch (const DbException &e) {
                    std::lock_guard lock(mutex);
                    errors << e.error().describe();
                }
            });
        }
        // All four wait: one at the gate, three for the migration lock.
        test::ServerLogWatcher log(m_db.dataDir());
        const bool overlapping = log.waitUntil([&] {
            return gate->scalar(QStringLiteral("SELECT count(*) FROM pg_locks WHERE locktype = "
                                               "'advisory' AND NOT granted AND database = (SELECT "
                                               "oid FROM pg_database WHERE datname = $1)"),
                                {database}) == QLatin1String("4");
        });
        const bool opened = gate->run(QStringLiteral("SELECT pg_advisory_unlock(770377)")).ok;
        if (!opened)
            gate.reset(); // the gate closes with its session
        for (auto &t : threads)
            t.join();
        QVERIFY(overlapping);
        QVERIFY(opened);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
        int total = 0;
        for (int n : appliedCounts)
            total += n;
        QCOMPARE(total, 3); // each migration applied exactly once across all migrators
        Connection c(dsn);
        QCOMPARE(Migrator(c, set).status().applied.size(), 3);
    }
};

QTEST_GUILESS_MAIN(TestMigrator)
#include "tst_migrator.moc"
