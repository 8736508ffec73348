// TLS for the console's connections, against a real server: a throwaway CA and server
// certificate made here with the openssl command, a cluster listening on two loopback
// addresses (random ones, so that parallel runs do not collide) with TLS on and a hostssl
// line. verify-full connects with the right CA and refuses a wrong CA, a certificate that
// does not name the host, and a missing CA file; the console signs in over it; a server on
// the network gets verify-full unless someone chose otherwise.

#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"
#include "session/ConsoleSession.h"
#include "session/ScramVerifier.h"

#include <QCoreApplication>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <pwd.h>
#include <unistd.h>

using namespace ledger;

namespace {

Result<QString> tryConnect(const ConnectionSettings &settings, const QString &application)
{
    try {
        Connection c(settings, application);
        return c.user();
    } catch (const DbException &e) {
        return e.error();
    }
}

} // namespace

class TestTls : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    QTemporaryDir m_certs;
    QTemporaryDir m_emptyHome;
    QString m_address;      // named by the server's certificate
    QString m_otherAddress; // the same server, not named by its certificate
    const QString m_secret = QStringLiteral("tess-long-lived-secret-42");

    QString path(const QString &name) const { return m_certs.path() + QLatin1Char('/') + name; }

    bool openssl(const QStringList &args)
    {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(QStringLiteral("openssl"), args);
        if (!p.waitForFinished(60000) || p.exitStatus() != QProcess::NormalExit ||
            p.exitCode() != 0) {
            qWarning("openssl %s: %s", qPrintable(args.join(QLatin1Char(' '))),
                     p.readAll().constData());
            return false;
        }
        return true;
    }

    ServerProfile profile(const QString &host, const QString &mode, const QString &ca) const
    {
        ServerProfile p;
        p.host = host;
        p.port = 5432;
        p.database = QStringLiteral("ledger");
        p.sslMode = mode;
        p.sslRootCert = ca;
        return p;
    }

    ConnectionSettings broker(const ServerProfile &p) const
    {
        return ConnectionSettings::session(p, AccessRepository::brokerRole(QStringLiteral("tess")),
                                           m_secret);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_certs.isValid() && m_emptyHome.isValid());
        // No ~/.postgresql here: nothing from the user's own files (before any thread runs).
        qputenv("HOME", m_emptyHome.path().toLocal8Bit());
        auto *random = QRandomGenerator::global();
        const QString net =
            QStringLiteral("127.%1.%2.").arg(random->bounded(1, 255)).arg(random->bounded(0, 256));
        const int host = int(random->bounded(1, 250));
        m_address = net + QString::number(host);
        m_otherAddress = net + QString::number(host + 1);

        // A CA, a server certificate it signs for m_address, and an unrelated CA.
        QFile ext(path(QStringLiteral("server.ext")));
        QVERIFY(ext.open(QIODevice::WriteOnly));
        ext.write(QStringLiteral("subjectAltName=IP:%1\n").arg(m_address).toLatin1());
        ext.close();
        const QStringList days{QStringLiteral("-days"), QStringLiteral("2")};
        QVERIFY(openssl(QStringList{QStringLiteral("req"), QStringLiteral("-x509"),
                                    QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                                    QStringLiteral("-nodes"), QStringLiteral("-keyout"),
                                    path(QStringLiteral("ca.key")), QStringLiteral("-out"),
                                    path(QStringLiteral("ca.crt")), QStringLiteral("-subj"),
                                    QStringLiteral("/CN=Ledger test CA")} +
                        days));
        QVERIFY(openssl(QStringList{QStringLiteral("req"), QStringLiteral("-x509"),
                                    QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                                    QStringLiteral("-nodes"), QStringLiteral("-keyout"),
                                    path(QStringLiteral("other.key")), QStringLiteral("-out"),
                                    path(QStringLiteral("other.crt")), QStringLiteral("-subj"),
                                    QStringLiteral("/CN=Some other CA")} +
                        days));
        QVERIFY(openssl({QStringLiteral("req"), QStringLiteral("-newkey"),
                         QStringLiteral("rsa:2048"), QStringLiteral("-nodes"),
                         QStringLiteral("-keyout"), path(QStringLiteral("server.key")),
                         QStringLiteral("-out"), path(QStringLiteral("server.csr")),
                         QStringLiteral("-subj"), QStringLiteral("/CN=ledger-test-server")}));
        QVERIFY(openssl(QStringList{QStringLiteral("x509"), QStringLiteral("-req"),
                                    QStringLiteral("-in"), path(QStringLiteral("server.csr")),
                                    QStringLiteral("-CA"), path(QStringLiteral("ca.crt")),
                                    QStringLiteral("-CAkey"), path(QStringLiteral("ca.key")),
                                    QStringLiteral("-CAcreateserial"), QStringLiteral("-out"),
                                    path(QStringLiteral("server.crt")), QStringLiteral("-extfile"),
                                    path(QStringLiteral("server.ext"))} +
                        days));
        // The server reads its key only if it owns it and nobody else may read it. As root,
        // the server runs as another user (LocalCluster::serverUser()).
        QVERIFY(QFile::setPermissions(path(QStringLiteral("server.key")),
                                      QFile::ReadOwner | QFile::WriteOwner));
        if (const QString user = LocalCluster::serverUser(); !user.isEmpty()) {
            const passwd *pw = getpwnam(user.toLocal8Bit().constData());
            QVERIFY2(pw, qPrintable(user));
            for (const QString &f : {m_certs.path(), path(QStringLiteral("server.key")),
                                     path(QStringLiteral("server.crt"))})
                QVERIFY(::chown(f.toLocal8Bit().constData(), pw->pw_uid, pw->pw_gid) == 0);
        }

        m_db.setExtraConfig(QStringLiteral("listen_addresses = '%1, %2'\n"
                                           "ssl = on\n"
                                           "ssl_cert_file = '%3'\n"
                                           "ssl_key_file = '%4'\n")
                                .arg(m_address, m_otherAddress, path(QStringLiteral("server.crt")),
                                     path(QStringLiteral("server.key"))));
        // Over TCP only with TLS, and a password.
        m_db.setExtraHba(QStringLiteral("hostssl all all 127.0.0.0/8 scram-sha-256"));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SELECT access.add_operator('tess', '{console_auditor}', "
                                          "'%1')")
                               .arg(ScramVerifier::compute(m_secret)
                                        .value()) /* a verifier, never the secret */)
                    .ok);
    }

    // ledgerctl sends an operator's long-lived secret (access session issue): libpq's own
    // default (prefer) would let anyone on the path pose as a server that asks for the
    // password in clear. Away from this machine the secret goes only over verified TLS.
    void secretsGoOnlyToVerifiedServers_data()
    {
        QTest::addColumn<QString>("dsn");
        QTest::addColumn<QString>("pgHost");
        QTest::addColumn<bool>("added");
        QTest::newRow("a network name") << "host=db.example.com dbname=ledger"
                                        << "" << true;
        QTest::newRow("an address") << "host=10.20.30.40 port=5433"
                                    << "" << true;
        QTest::newRow("PGHOST names one") << "dbname=ledger"
                                          << "db.example.com" << true;
        QTest::newRow("one of several hosts") << "host=localhost,db.example.com"
                                              << "" << true;
        QTest::newRow("an explicit mode stays") << "host=db.example.com sslmode=require"
                                                << "" << false;
        QTest::newRow("a socket") << "host=/run/postgresql dbname=ledger"
                                  << "" << false;
        QTest::newRow("localhost") << "host=localhost"
                                   << "" << false;
        QTest::newRow("loopback") << "host=127.0.0.1"
                                  << "" << false;
        QTest::newRow("nothing: libpq's socket") << "dbname=ledger"
                                                 << "" << false;
    }

    void secretsGoOnlyToVerifiedServers()
    {
        QFETCH(QString, dsn);
        QFETCH(QString, pgHost);
        QFETCH(bool, added);
        const QByteArray saved = qgetenv("PGHOST");
        if (pgHost.isEmpty())
            qunsetenv("PGHOST");
        else
            qputenv("PGHOST", pgHost.toUtf8());
        const QString out = withVerifiedTlsForSecrets(dsn);
        if (saved.isNull())
            qunsetenv("PGHOST");
        else
            qputenv("PGHOST", saved);
        QCOMPARE(out, added ? dsn + QStringLiteral(" sslmode=verify-full") : dsn);
    }

    void verifyFullIsTheDefaultAwayFromThisMachine_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<QString>("mode");
        QTest::newRow("name") << "db.example.com"
                              << "verify-full";
        QTest::newRow("address") << "10.20.30.40"
                                 << "verify-full";
        QTest::newRow("IPv6 address") << "2001:db8::5"
                                      << "verify-full";
        QTest::newRow("socket directory") << "/run/postgresql"
                                          << "prefer";
        QTest::newRow("localhost") << "localhost"
                                   << "prefer";
        QTest::newRow("127.0.0.1") << "127.0.0.1"
                                   << "prefer";
        QTest::newRow("::1") << "::1"
                             << "prefer";
    }

    void verifyFullIsTheDefaultAwayFromThisMachine()
    {
        QFETCH(QString, host);
        QFETCH(QString, mode);
        QCOMPARE(ServerProfile::defaultSslMode(host), mode);
        ServerProfile p;
        p.host = host;
        QCOMPARE(p.effectiveSslMode(), mode);
        const ConnectionSettings s =
            ConnectionSettings::session(p, QStringLiteral("someone"), QStringLiteral("secret"));
        QCOMPARE(s.value(QStringLiteral("sslmode")), mode);
        // A mode chosen for the server wins.
        p.sslMode = QStringLiteral("require");
        QCOMPARE(ConnectionSettings::session(p, QStringLiteral("someone"), QStringLiteral("secret"))
                     .value(QStringLiteral("sslmode")),
                 QStringLiteral("require"));
    }

    void verifyFullWithTheRightCa()
    {
        const QString application = QStringLiteral("tst_tls-verify-full");
        Connection c(broker(profile(m_address, QStringLiteral("verify-full"),
                                    path(QStringLiteral("ca.crt")))),
                     application);
        QCOMPARE(c.user(), QStringLiteral("lc_op_tess"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT string_agg(s.ssl::text, ',') FROM "
                                                "pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                                                "WHERE a.application_name = $1"),
                                 {application}),
                 QStringLiteral("true"));
    }

    void verifyFullRefusesWhatItCannotVerify_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<QString>("ca");
        QTest::newRow("a wrong CA") << "named"
                                    << "other.crt";
        QTest::newRow("a certificate for another host") << "other"
                                                        << "ca.crt";
        QTest::newRow("no CA file") << "named"
                                    << "";
    }

    void verifyFullRefusesWhatItCannotVerify()
    {
        QFETCH(QString, host);
        QFETCH(QString, ca);
        // No CA file chosen: libpq's usual place, in a home that has none (initTestCase).
        const auto r = tryConnect(
            broker(profile(host == QLatin1String("named") ? m_address : m_otherAddress,
                           QStringLiteral("verify-full"), ca.isEmpty() ? QString() : path(ca))),
            QStringLiteral("tst_tls-refused"));
        QVERIFY(!r.ok());
        QVERIFY2(r.error().kind == Error::Kind::Tls,
                 qPrintable(kindName(r.error().kind) + QStringLiteral(": ") + r.error().detail));
        QVERIFY(!r.error().retryable);
        QVERIFY2(r.error().message.contains(QLatin1String("verify-full")),
                 qPrintable(r.error().message));
    }

    void verifyCaDoesNotCheckTheName()
    {
        const auto r = tryConnect(broker(profile(m_otherAddress, QStringLiteral("verify-ca"),
                                                 path(QStringLiteral("ca.crt")))),
                                  QStringLiteral("tst_tls-verify-ca"));
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().describe()));
    }

    void withoutTlsTheServerRefuses()
    {
        const auto r = tryConnect(broker(profile(m_address, QStringLiteral("disable"), QString())),
                                  QStringLiteral("tst_tls-plain"));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, Error::Kind::Authentication); // no pg_hba.conf entry
        QCOMPARE(r.error().sqlState, QStringLiteral("28000"));
    }

    void theConsoleSignsInOverTls()
    {
        DbWorker worker(ConnectionSettings(), QStringLiteral("tst_tls-console"));
        ConsoleSession session(&worker);
        QSignalSpy signedIn(&session, &ConsoleSession::signedIn);
        QSignalSpy failed(&session, &ConsoleSession::signInFailed);

        session.signIn(
            profile(m_address, QStringLiteral("verify-full"), path(QStringLiteral("other.crt"))),
            QStringLiteral("tess"), m_secret);
        QVERIFY(test::waitForCount(failed, 1));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.first().first().value<Error>().kind, Error::Kind::Tls);
        QCOMPARE(session.state(), ConsoleSession::State::SignedOut);

        session.signIn(
            profile(m_address, QStringLiteral("verify-full"), path(QStringLiteral("ca.crt"))),
            QStringLiteral("tess"), m_secret);
        QVERIFY(test::waitForCount(signedIn, 1));
        QCOMPARE(signedIn.count(), 1);
        auto user = worker.submit([](Connection &c) { return c.user(); });
        QVERIFY(test::waitForFinished(user));
        QVERIFY2(user.result().ok(),
                 user.result().ok() ? "" : qPrintable(user.result().error().describe()));
        QCOMPARE(user.result().value(), session.role());
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT string_agg(s.ssl::text, ',') FROM "
                                                "pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                                                "WHERE a.usename = $1"),
                                 {session.role()}),
                 QStringLiteral("true"));
        session.signOut();
    }

    void cleanupTestCase() { m_admin.reset(); }
};

QTEST_GUILESS_MAIN(TestTls)
#include "tst_tls.moc"
