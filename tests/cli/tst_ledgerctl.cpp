// The ledgerctl binary as scripts use it: help texts, exit codes, one-line errors, JSON,
// migrate, accounts, seed, and the demo cluster's life cycle.

#include "TestCluster.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace ledger;

namespace {

struct Run
{
    int exitCode = -1;
    QString out;
    QString err;
    QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
};

Run ledgerctl(const QStringList &args, const QString &dsnEnv = {})
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("LEDGER_DSN"));
    if (!dsnEnv.isEmpty())
        env.insert(QStringLiteral("LEDGER_DSN"), dsnEnv);
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(LEDGERCTL_PATH), args);
    Run r;
    if (!p.waitForFinished(180000)) {
        p.kill();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString describe(const Run &r)
{
    return QStringLiteral("exit %1\nstdout: %2\nstderr: %3").arg(r.exitCode).arg(r.out, r.err);
}

} // namespace

class TestLedgerctl : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

private Q_SLOTS:
    void initTestCase() { QVERIFY2(m_db.start(), qPrintable(m_db.lastError())); }

    void helpListsEveryCommand()
    {
        const Run r = ledgerctl({QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        for (const char *command : {"migrate", "demo start", "demo stop", "demo status",
                                    "account open", "account list", "seed"})
            QVERIFY2(r.out.contains(QLatin1String(command)), command);
        QCOMPARE(ledgerctl({}).exitCode, 2); // no command: usage
        const Run version = ledgerctl({QStringLiteral("--version")});
        QCOMPARE(version.exitCode, 0);
        QVERIFY(version.out.startsWith(QLatin1String("ledgerctl ")));
    }

    void everyCommandExplainsItself_data()
    {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("mustMention");
        QTest::newRow("migrate") << "migrate" << "SHA-256";
        QTest::newRow("demo start") << "demo start" << "--dir";
        QTest::newRow("demo stop") << "demo stop" << "--dir";
        QTest::newRow("demo status") << "demo status" << "Exit status";
        QTest::newRow("account open") << "account open" << "--no-negative";
        QTest::newRow("account list") << "account list" << "--search";
        QTest::newRow("seed") << "seed" << "--accounts";
    }

    void everyCommandExplainsItself()
    {
        QFETCH(QString, command);
        QFETCH(QString, mustMention);
        const Run r = ledgerctl(command.split(QLatin1Char(' ')) << QStringLiteral("--help"));
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.startsWith(QStringLiteral("Usage: ledgerctl %1 [options]").arg(command)), qPrintable(r.out));
        QVERIFY2(r.out.contains(mustMention), qPrintable(r.out));
        QVERIFY2(r.out.contains(QLatin1String("--json")), qPrintable(r.out));
    }

    void usageErrors()
    {
        Run r = ledgerctl({QStringLiteral("frobnicate")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QLatin1String("unknown command 'frobnicate'")));
        r = ledgerctl({QStringLiteral("demo")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QLatin1String("demo start")));
        r = ledgerctl({QStringLiteral("migrate"), QStringLiteral("--no-such-option")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QLatin1String("Try 'ledgerctl migrate --help'")), qPrintable(r.err));
        r = ledgerctl({QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("many"),
                       QStringLiteral("--dsn"), m_db.adminDsn()});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QLatin1String("--accounts must be a whole number")), qPrintable(r.err));
    }

    void migrateIsANoOpWhenUpToDate()
    {
        Run r = ledgerctl({QStringLiteral("migrate"), QStringLiteral("--dsn"), m_db.adminDsn()});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains(QLatin1String("up to date")), qPrintable(describe(r)));
        r = ledgerctl({QStringLiteral("migrate"), QStringLiteral("--status"), QStringLiteral("--json")}, m_db.adminDsn());
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("pending")).toArray().size(), 0);
        QVERIFY(r.json().value(QStringLiteral("version")).toInt() >= 2);
    }

    void migratesAFreshDatabase()
    {
        const QString dsn = m_db.createDatabase(QStringLiteral("cli_fresh"));
        const Run r = ledgerctl({QStringLiteral("migrate"), QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        const QJsonArray applied = r.json().value(QStringLiteral("applied")).toArray();
        QVERIFY(applied.size() >= 2);
        QCOMPARE(applied.first().toString(), QStringLiteral("0001_roles_and_schemas"));
    }

    void opensAndListsAccounts()
    {
        const QString dsn = m_db.adminDsn();
        Run r = ledgerctl({QStringLiteral("account"), QStringLiteral("open"), QStringLiteral("--dsn"), dsn,
                           QStringLiteral("--code"), QStringLiteral("CLI-1"), QStringLiteral("--name"),
                           QStringLiteral("Client deposits"), QStringLiteral("--currency"), QStringLiteral("bhd"),
                           QStringLiteral("--kind"), QStringLiteral("liability"), QStringLiteral("--no-negative")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.trimmed().toLongLong() > 0);

        r = ledgerctl({QStringLiteral("account"), QStringLiteral("list"), QStringLiteral("--json"),
                       QStringLiteral("--search"), QStringLiteral("cli-")}, dsn);
        QCOMPARE(r.exitCode, 0);
        const QJsonArray accounts = r.json().value(QStringLiteral("accounts")).toArray();
        QCOMPARE(accounts.size(), 1);
        const QJsonObject a = accounts.first().toObject();
        QCOMPARE(a.value(QStringLiteral("currency")).toString(), QStringLiteral("BHD"));
        QCOMPARE(a.value(QStringLiteral("normal_side")).toString(), QStringLiteral("credit"));
        QCOMPARE(a.value(QStringLiteral("no_negative")).toBool(), true);
    }

    void accountErrorsAreOneClearLine()
    {
        const QString dsn = m_db.adminDsn();
        const QStringList base{QStringLiteral("account"), QStringLiteral("open"), QStringLiteral("--dsn"), dsn,
                               QStringLiteral("--name"), QStringLiteral("N"), QStringLiteral("--kind"),
                               QStringLiteral("asset")};
        Run r = ledgerctl(base + QStringList{QStringLiteral("--code"), QStringLiteral("E-1"),
                                             QStringLiteral("--currency"), QStringLiteral("XYZ")});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err.count(QLatin1Char('\n')), 1);
        QVERIFY2(r.err.startsWith(QLatin1String("ledgerctl account open: Unknown currency \"XYZ\"")), qPrintable(r.err));

        r = ledgerctl(base + QStringList{QStringLiteral("--currency"), QStringLiteral("EUR")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QLatin1String("--code is required")));

        r = ledgerctl(base + QStringList{QStringLiteral("--code"), QStringLiteral("E-2"), QStringLiteral("--currency"),
                                         QStringLiteral("EUR"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        r = ledgerctl(base + QStringList{QStringLiteral("--code"), QStringLiteral("E-2"), QStringLiteral("--currency"),
                                         QStringLiteral("EUR"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.json().value(QStringLiteral("ok")).toBool(true), false);
        QCOMPARE(r.json().value(QStringLiteral("sqlstate")).toString(), QStringLiteral("LG004"));
    }

    void unreachableServer()
    {
        const Run r = ledgerctl({QStringLiteral("account"), QStringLiteral("list"), QStringLiteral("--dsn"),
                                 QStringLiteral("host=/nonexistent/dir dbname=ledger user=x password=hunter2")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("Could not reach the database server")), qPrintable(r.err));
        QVERIFY(!r.err.contains(QLatin1String("hunter2")));
    }

    void seedIsIdempotent()
    {
        const QString dsn = m_db.createDatabase(QStringLiteral("cli_seed"));
        QCOMPARE(ledgerctl({QStringLiteral("migrate"), QStringLiteral("--dsn"), dsn}).exitCode, 0);
        Run r = ledgerctl({QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("40"),
                           QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        const int opened = r.json().value(QStringLiteral("accounts_opened")).toInt();
        QVERIFY2(opened > 40, qPrintable(describe(r))); // house accounts + 40 customers
        r = ledgerctl({QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("40"),
                       QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("accounts_opened")).toInt(), 0);
        QCOMPARE(r.json().value(QStringLiteral("accounts_total")).toInt(), opened);
    }

    void demoClusterLifeCycle()
    {
        QTemporaryDir parent(QStringLiteral("/tmp/ledger-demo-XXXXXX"));
        QVERIFY(parent.isValid());
        QFile::setPermissions(parent.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner
                                                 | QFile::ReadOther | QFile::ExeOther | QFile::ReadGroup | QFile::ExeGroup);
        const QString dir = parent.path() + QStringLiteral("/c");
        const QStringList dirArg{QStringLiteral("--dir"), dir};

        Run r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("status")} + dirArg);
        QCOMPARE(r.exitCode, 4);

        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("start")} + dirArg);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QString dsn = r.out.trimmed();
        QVERIFY2(dsn.startsWith(QStringLiteral("host=%1 ").arg(dir)), qPrintable(dsn));
        QVERIFY(!dsn.contains(QLatin1Char('\n')));

        // The printed DSN works and the database is migrated.
        r = ledgerctl({QStringLiteral("migrate"), QStringLiteral("--status"), QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("pending")).toArray().size(), 0);

        // Starting again is harmless.
        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--json")} + dirArg);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("dsn")).toString(), dsn);

        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("status"), QStringLiteral("--json")} + dirArg);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("state")).toString(), QStringLiteral("running"));

        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("stop")} + dirArg);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("status")} + dirArg);
        QCOMPARE(r.exitCode, 3);

        // Restart keeps the data.
        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("start")} + dirArg);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("stop")} + dirArg).exitCode, 0);
        QDir(dir).removeRecursively();
    }

    void demoRefusesADirectoryThatIsNotACluster()
    {
        QTemporaryDir dir(QStringLiteral("/tmp/ledger-demo-XXXXXX"));
        QFile stray(dir.path() + QStringLiteral("/notes.txt"));
        QVERIFY(stray.open(QIODevice::WriteOnly));
        stray.write("keep me");
        stray.close();
        const Run r = ledgerctl({QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--dir"), dir.path()});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("is not empty, but it is not a PostgreSQL cluster")), qPrintable(r.err));
        QVERIFY(QFile::exists(stray.fileName())); // nothing of the user's touched
    }

    void demoReportsMissingServerBinaries()
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("PG_BINDIR"), QStringLiteral("/nonexistent/pg/bin"));
        p.setProcessEnvironment(env);
        QTemporaryDir dir(QStringLiteral("/tmp/ledger-demo-XXXXXX"));
        p.start(QStringLiteral(LEDGERCTL_PATH), {QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--dir"),
                                                 dir.path() + QStringLiteral("/c")});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(QLatin1String("PG_BINDIR=/nonexistent/pg/bin holds no initdb")), qPrintable(err));
    }

    void demoShowsTheServerLogWhenItCannotStart()
    {
        QTemporaryDir parent(QStringLiteral("/tmp/ledger-demo-XXXXXX"));
        QFile::setPermissions(parent.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner
                                                 | QFile::ReadOther | QFile::ExeOther | QFile::ReadGroup | QFile::ExeGroup);
        const QString dir = parent.path() + QStringLiteral("/c");
        Run r = ledgerctl({QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--dir"), dir});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(ledgerctl({QStringLiteral("demo"), QStringLiteral("stop"), QStringLiteral("--dir"), dir}).exitCode, 0);
        // Break the configuration: the server refuses to start and says why in its log.
        QFile conf(dir + QStringLiteral("/postgresql.conf"));
        QVERIFY(conf.open(QIODevice::Append));
        conf.write("\nshared_buffers = 'plenty'\n");
        conf.close();
        r = ledgerctl({QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--dir"), dir});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("did not start")), qPrintable(r.err));
        QVERIFY2(r.err.contains(QLatin1String("shared_buffers")), qPrintable(r.err));
        QDir(dir).removeRecursively();
    }
};

QTEST_GUILESS_MAIN(TestLedgerctl)
#include "tst_ledgerctl.moc"
