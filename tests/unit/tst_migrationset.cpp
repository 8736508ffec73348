#include "db/MigrationSet.h"

#include <QCryptographicHash>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace ledger;

class TestMigrationSet : public QObject
{
    Q_OBJECT

    static void write(const QString &dir, const QString &name, const QByteArray &body)
    {
        QFile f(dir + QLatin1Char('/') + name);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(body);
    }

private Q_SLOTS:
    void builtInIsOrderedAndHashed()
    {
        const auto set = MigrationSet::builtIn();
        QVERIFY2(set.ok(), set.ok() ? "" : qPrintable(set.error().message));
        const auto &list = set.value().migrations();
        QVERIFY(list.size() >= 2);
        for (int i = 0; i < list.size(); ++i) {
            QCOMPARE(list.at(i).version, i + 1);
            QCOMPARE(
                list.at(i).sha256,
                QString::fromLatin1(
                    QCryptographicHash::hash(list.at(i).sql, QCryptographicHash::Sha256).toHex()));
            QVERIFY(!list.at(i).sql.isEmpty());
        }
        QCOMPARE(list.first().name, QStringLiteral("0001_roles_and_schemas"));
        QCOMPARE(set.value().latestVersion(), list.last().version);
    }

    void readsDirectoryInVersionOrder()
    {
        QTemporaryDir dir;
        write(dir.path(), QStringLiteral("0002_second.sql"), "SELECT 2;");
        write(dir.path(), QStringLiteral("0001_first.sql"), "SELECT 1;");
        write(dir.path(), QStringLiteral("README.txt"), "not a migration");
        const auto set = MigrationSet::fromDirectory(dir.path());
        QVERIFY(set.ok());
        QCOMPARE(set.value().migrations().size(), 2);
        QCOMPARE(set.value().migrations().at(0).name, QStringLiteral("0001_first"));
        QCOMPARE(set.value().migrations().at(1).sql, QByteArray("SELECT 2;"));
    }

    void refusesBadSets_data()
    {
        QTest::addColumn<QString>("files"); // comma-separated
        QTest::addColumn<QString>("mustContain");
        QTest::newRow("gap") << "0001_a.sql,0003_c.sql"
                             << "Migration 2 is missing";
        QTest::newRow("duplicate") << "0001_a.sql,0001_b.sql"
                                   << "Two migrations carry version 1";
        QTest::newRow("bad name") << "0001_a.sql,2_b.sql"
                                  << "not named NNNN_name.sql";
        QTest::newRow("uppercase") << "0001_Accounts.sql"
                                   << "not named NNNN_name.sql";
        QTest::newRow("not from 1") << "0002_a.sql"
                                    << "Migration 1 is missing";
    }

    void refusesBadSets()
    {
        QFETCH(QString, files);
        QFETCH(QString, mustContain);
        QTemporaryDir dir;
        for (const QString &f : files.split(QLatin1Char(',')))
            write(dir.path(), f, "SELECT 1;");
        const auto set = MigrationSet::fromDirectory(dir.path());
        QVERIFY(!set.ok());
        QVERIFY2(set.error().message.contains(mustContain), qPrintable(set.error().message));
    }

    void emptyOrMissingDirectory()
    {
        QTemporaryDir dir;
        QCOMPARE(MigrationSet::fromDirectory(dir.path()).error().kind, Error::Kind::NotFound);
        QCOMPARE(MigrationSet::fromDirectory(dir.path() + QStringLiteral("/nope")).error().kind,
                 Error::Kind::NotFound);
    }
};

QTEST_GUILESS_MAIN(TestMigrationSet)
#include "tst_migrationset.moc"
