// Step 13: the Debian package a site installs. The test builds it from this build tree
// (cpack), checks its control fields (dependencies found from the binaries' shared
// libraries), its contents (both binaries, man pages, desktop entry, icons, AppStream
// metainfo, systemd units, copyright, changelog), lintian (no error, no warning),
// appstreamcli and desktop-file-validate, and that apt would install it here
// (`apt-get install --simulate`). Then it unpacks it into a scratch root (no container: dpkg
// -x) and, from the installed paths only, runs `ledger-console --version`, `ledgerctl --help`
// and a migrate + post + check + audit verify against a throwaway cluster.

#include "SqlSession.h"
#include "TestCluster.h"

#include <QDir>
#include <QFile>
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
    QString describe() const
    {
        return QStringLiteral("exit %1\nstdout: %2\nstderr: %3").arg(exitCode).arg(out, err);
    }
};

Run run(const QString &program, const QStringList &args, const QString &workDir = {},
        const QString &dsn = {})
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("LEDGER_DSN"));
    if (!dsn.isEmpty())
        env.insert(QStringLiteral("LEDGER_DSN"), dsn);
    p.setProcessEnvironment(env);
    if (!workDir.isEmpty())
        p.setWorkingDirectory(workDir);
    p.start(program, args);
    Run r;
    if (!p.waitForFinished(300000)) {
        p.kill();
        r.err = QStringLiteral("timed out or did not start: ") + p.errorString();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

} // namespace

class TestPackage : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_deb;
    QString m_root;

    QString installed(const QString &path) const { return m_root + path; }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        const Run r = run(QStringLiteral("cpack"),
                          {QStringLiteral("--config"), QStringLiteral(LEDGER_CPACK_CONFIG),
                           QStringLiteral("-B"), m_dir.filePath(QStringLiteral("out"))});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QStringList debs = QDir(m_dir.filePath(QStringLiteral("out")))
                                     .entryList({QStringLiteral("*.deb")}, QDir::Files);
        QCOMPARE(debs.size(), 1);
        m_deb = m_dir.filePath(QStringLiteral("out/") + debs.first());
        m_root = m_dir.filePath(QStringLiteral("root"));
        const Run x = run(QStringLiteral("dpkg-deb"), {QStringLiteral("-x"), m_deb, m_root});
        QVERIFY2(x.exitCode == 0, qPrintable(x.describe()));
    }

    void theControlFieldsNameTheLibraries()
    {
        const Run f = run(QStringLiteral("dpkg-deb"), {QStringLiteral("-f"), m_deb});
        QVERIFY2(f.exitCode == 0, qPrintable(f.describe()));
        QVERIFY(f.out.contains(QLatin1String("Package: ledger-console\n")));
        QVERIFY(
            f.out.contains(QStringLiteral("Version: %1\n").arg(QStringLiteral(LEDGER_VERSION))));
        // From the binaries' shared libraries (dpkg-shlibdeps), not a hand-kept list.
        for (const char *library : {"libpq5", "libpqxx-6.4", "libqt6widgets6", "libqt6charts6",
                                    "libqt6keychain1", "librdkafka1", "libqrencode4", "libssl3"})
            QVERIFY2(f.out.contains(QLatin1String(library)), library);
        // The extended description keeps to 80 columns.
        for (const QString &line : f.out.split(QLatin1Char('\n')))
            QVERIFY2(!line.startsWith(QLatin1Char(' ')) || line.size() <= 81, qPrintable(line));
    }

    void itHoldsWhatASiteNeeds()
    {
        for (const char *path :
             {"/usr/bin/ledger-console", "/usr/bin/ledgerctl",
              "/usr/share/man/man1/ledger-console.1.gz", "/usr/share/man/man1/ledgerctl.1.gz",
              "/usr/share/applications/org.ledgerconsole.LedgerConsole.desktop",
              "/usr/share/metainfo/org.ledgerconsole.LedgerConsole.metainfo.xml",
              "/usr/share/icons/hicolor/scalable/apps/ledger-console.svg",
              "/usr/share/icons/hicolor/16x16/apps/ledger-console.png",
              "/usr/share/icons/hicolor/48x48/apps/ledger-console.png",
              "/usr/share/icons/hicolor/256x256/apps/ledger-console.png",
              "/usr/lib/systemd/system/ledger-maintain.service",
              "/usr/lib/systemd/system/ledger-maintain.timer",
              "/usr/share/doc/ledger-console/copyright",
              "/usr/share/doc/ledger-console/changelog.gz",
              // The ledger's module in the server (0061), where PostgreSQL 15 looks for it.
              "/usr/lib/postgresql/15/lib/ledger_pg.so"})
            QVERIFY2(QFile::exists(installed(QString::fromLatin1(path))), path);
        // The man pages come from the binaries' own --help: every command is in them.
        const Run man =
            run(QStringLiteral("sh"),
                {QStringLiteral("-c"),
                 QStringLiteral("zcat '%1'")
                     .arg(installed(QStringLiteral("/usr/share/man/man1/ledgerctl.1.gz")))});
        QVERIFY2(man.exitCode == 0, qPrintable(man.describe()));
        QVERIFY(man.out.contains(QLatin1String(".TH LEDGERCTL \"1\"")));
        for (const char *command : {"migrate", "ingest", "maintain", "outbox relay", "check"})
            QVERIFY2(man.out.contains(QLatin1String(command)), command);
        // Stripped: no debugging sections in what a site installs.
        const Run file =
            run(QStringLiteral("objdump"),
                {QStringLiteral("-h"), installed(QStringLiteral("/usr/bin/ledgerctl"))});
        QVERIFY2(file.exitCode == 0, qPrintable(file.describe()));
        QVERIFY2(!file.out.contains(QLatin1String(".debug_info")), "ledgerctl is not stripped");
    }

    void lintianAndTheDesktopValidatorsFindNothingWrong()
    {
        const Run lintian = run(QStringLiteral("lintian"),
                                {QStringLiteral("--fail-on"), QStringLiteral("error,warning"),
                                 QStringLiteral("--no-tag-display-limit"), m_deb});
        QVERIFY2(lintian.exitCode == 0, qPrintable(lintian.describe()));
        QVERIFY2(!lintian.out.contains(QLatin1String("\nE: ")) &&
                     !lintian.out.startsWith(QLatin1String("E: ")) &&
                     !lintian.out.contains(QLatin1String("W: ")),
                 qPrintable(lintian.out));
        const Run appstream =
            run(QStringLiteral("appstreamcli"),
                {QStringLiteral("validate"), QStringLiteral("--no-net"),
                 installed(QStringLiteral(
                     "/usr/share/metainfo/org.ledgerconsole.LedgerConsole.metainfo.xml"))});
        QVERIFY2(appstream.exitCode == 0, qPrintable(appstream.describe()));
        const Run desktop =
            run(QStringLiteral("desktop-file-validate"),
                {installed(QStringLiteral(
                    "/usr/share/applications/org.ledgerconsole.LedgerConsole.desktop"))});
        QVERIFY2(desktop.exitCode == 0 && desktop.out.isEmpty(), qPrintable(desktop.describe()));
    }

    // Everything it depends on is installable from this machine's sources (nothing is
    // changed: --simulate).
    void aptWouldInstallIt()
    {
        const Run apt =
            run(QStringLiteral("apt-get"), {QStringLiteral("install"), QStringLiteral("--simulate"),
                                            QStringLiteral("--no-install-recommends"), m_deb});
        QVERIFY2(apt.exitCode == 0, qPrintable(apt.describe()));
        QVERIFY2(apt.out.contains(QLatin1String("Inst ledger-console")), qPrintable(apt.out));
    }

    void theInstalledBinariesRunAndServeALedger()
    {
        const QString console = installed(QStringLiteral("/usr/bin/ledger-console"));
        const QString ctl = installed(QStringLiteral("/usr/bin/ledgerctl"));
        const Run version = run(console, {QStringLiteral("--version")});
        QCOMPARE(version.exitCode, 0);
        QCOMPARE(version.out.trimmed(),
                 QStringLiteral("ledger-console %1").arg(QStringLiteral(LEDGER_VERSION)));
        const Run help = run(ctl, {QStringLiteral("--help")});
        QCOMPARE(help.exitCode, 0);
        QVERIFY(help.out.contains(QLatin1String("maintain")));

        // The migrations travel inside the binary: a cluster with nothing in it.
        test::TestCluster db;
        QVERIFY2(db.start(false), qPrintable(db.lastError()));
        const QString dsn = db.adminDsn();
        const Run migrate =
            run(ctl, {QStringLiteral("migrate"), QStringLiteral("--json")}, {}, dsn);
        QVERIFY2(migrate.exitCode == 0, qPrintable(migrate.describe()));
        for (const QStringList &args :
             {QStringList{QStringLiteral("account"), QStringLiteral("open"),
                          QStringLiteral("--code"), QStringLiteral("PKG-CASH"),
                          QStringLiteral("--name"), QStringLiteral("Cash"),
                          QStringLiteral("--currency"), QStringLiteral("EUR"),
                          QStringLiteral("--kind"), QStringLiteral("asset")},
              QStringList{QStringLiteral("account"), QStringLiteral("open"),
                          QStringLiteral("--code"), QStringLiteral("PKG-DEP"),
                          QStringLiteral("--name"), QStringLiteral("Deposits"),
                          QStringLiteral("--currency"), QStringLiteral("EUR"),
                          QStringLiteral("--kind"), QStringLiteral("liability")}}) {
            const Run r = run(ctl, args, {}, dsn);
            QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        }
        QFile tx(m_dir.filePath(QStringLiteral("tx.json")));
        QVERIFY(tx.open(QIODevice::WriteOnly));
        tx.write(
            QJsonDocument(
                QJsonObject{
                    {QStringLiteral("idempotency_key"), QStringLiteral("pkg-1")},
                    {QStringLiteral("effective_at"), QStringLiteral("2026-11-20T15:00:00Z")},
                    {QStringLiteral("description"), QStringLiteral("from the package")},
                    {QStringLiteral("legs"),
                     QJsonArray{QJsonObject{{QStringLiteral("account"), QStringLiteral("PKG-CASH")},
                                            {QStringLiteral("amount"), QStringLiteral("100.00")},
                                            {QStringLiteral("currency"), QStringLiteral("EUR")}},
                                QJsonObject{{QStringLiteral("account"), QStringLiteral("PKG-DEP")},
                                            {QStringLiteral("amount"), QStringLiteral("-100.00")},
                                            {QStringLiteral("currency"), QStringLiteral("EUR")}}}}})
                .toJson());
        tx.close();
        const Run post =
            run(ctl, {QStringLiteral("post"), QStringLiteral("--file"), tx.fileName()}, {}, dsn);
        QVERIFY2(post.exitCode == 0, qPrintable(post.describe()));
        const Run balance =
            run(ctl,
                {QStringLiteral("balance"), QStringLiteral("--account"), QStringLiteral("PKG-DEP")},
                {}, dsn);
        QVERIFY2(balance.exitCode == 0 && balance.out.contains(QLatin1String("100.00 EUR")),
                 qPrintable(balance.describe()));
        const Run verify = run(ctl, {QStringLiteral("audit"), QStringLiteral("verify")}, {}, dsn);
        QVERIFY2(verify.exitCode == 0, qPrintable(verify.describe()));
        const Run check =
            run(ctl, {QStringLiteral("check")}, {}, db.dsnFor(QStringLiteral("console_auditor")));
        QVERIFY2(check.exitCode == 0, qPrintable(check.describe()));
        const Run maintain = run(ctl, {QStringLiteral("maintain"), QStringLiteral("--json")}, {},
                                 db.dsnFor(QStringLiteral("ledger_maintainer")));
        QVERIFY2(maintain.exitCode == 0, qPrintable(maintain.describe()));
    }
};

QTEST_GUILESS_MAIN(TestPackage)
#include "tst_package.moc"
