#include "db/Connection.h"
#include "db/ErrorTranslation.h"

#include <QSet>
#include <QTest>

using namespace ledger;

class TestErrorTranslation : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void serverErrors_data()
    {
        QTest::addColumn<QString>("sqlState");
        QTest::addColumn<QString>("message");
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("retryable");
        QTest::addColumn<QString>("mustContain");

        QTest::newRow("ledger's own")
            << "LG003"
            << "ERROR:  Unknown currency \"XXX\"\n"
            << int(Error::Kind::Input) << false << "Unknown currency \"XXX\"";
        QTest::newRow("serialization") << "40001"
                                       << "ERROR:  could not serialize access"
                                       << int(Error::Kind::Conflict) << true << "try again";
        QTest::newRow("deadlock") << "40P01"
                                  << "ERROR:  deadlock detected" << int(Error::Kind::Conflict)
                                  << true << "Nothing was saved";
        QTest::newRow("privilege")
            << "42501"
            << "ERROR:  permission denied for table accounts" << int(Error::Kind::Permission)
            << false << "permission denied for table accounts";
        QTest::newRow("unique") << "23505"
                                << "ERROR:  duplicate key value" << int(Error::Kind::Conflict)
                                << false << "Already exists";
        QTest::newRow("check") << "23514"
                               << "ERROR:  new row violates check constraint"
                               << int(Error::Kind::Input) << false << "rejected the values";
        QTest::newRow("admin shutdown")
            << "57P01"
            << "FATAL:  terminating connection due to administrator command"
            << int(Error::Kind::Connection) << true << "Reconnect";
        QTest::newRow("missing schema") << "42P01"
                                        << "ERROR:  relation \"ledger.account_list\" does not exist"
                                        << int(Error::Kind::Server) << false << "ledgerctl migrate";
        QTest::newRow("other") << "XX000"
                               << "ERROR:  internal error" << int(Error::Kind::Server) << false
                               << "internal error";
    }

    void serverErrors()
    {
        QFETCH(QString, sqlState);
        QFETCH(QString, message);
        QFETCH(int, kind);
        QFETCH(bool, retryable);
        QFETCH(QString, mustContain);
        const Error e = db::translateServerError(sqlState, message);
        QCOMPARE(int(e.kind), kind);
        QCOMPARE(e.retryable, retryable);
        QCOMPARE(e.sqlState, sqlState);
        QVERIFY2(e.message.contains(mustContain), qPrintable(e.message));
        QVERIFY2(!e.message.contains(QLatin1String("ERROR:")), qPrintable(e.message));
    }

    // Our own session and sign-in SQLSTATEs, lock waits and connection slots: their own kinds.
    // Severities may come translated (the server's lc_messages): only the shape is read.
    void sessionAndLimitErrors_data()
    {
        QTest::addColumn<QString>("sqlState");
        QTest::addColumn<QString>("message");
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("retryable");
        QTest::addColumn<bool>("endsSession");
        QTest::addColumn<QString>("mustContain");

        QTest::newRow("expired") << "LG041"
                                 << "ERROR:  LG041: This session expired at 2026-01-01 10:00:00 "
                                    "UTC\nHINT:  Sign in again to continue."
                                 << int(Error::Kind::SessionExpired) << false << true
                                 << "This session expired at 2026-01-01 10:00:00 UTC. Sign in";
        QTest::newRow("revoked, German severity")
            << "LG042"
            << "FEHLER:  LG042: This session was revoked at 2026-01-01 10:00:00 UTC by an "
               "administrator\nTIPP:  Sign in again; ask an administrator if that is refused."
            << int(Error::Kind::SessionRevoked) << false << true << "revoked at 2026";
        QTest::newRow("ended") << "LG044"
                               << "ERROR:  LG044: This session was ended at 2026-01-01 UTC"
                               << int(Error::Kind::SessionEnded) << false << true
                               << "Sign in again";
        QTest::newRow("not a console session")
            << "LG046"
            << "ERROR:  LG046: This connection is not a time-limited console session"
            << int(Error::Kind::NotConsoleSession) << false << true << "not a time-limited";
        QTest::newRow("operator disabled")
            << "LG040"
            << "ERROR:  LG040: Operator dave is disabled" << int(Error::Kind::OperatorDisabled)
            << false << true << "Operator dave is disabled";
        QTest::newRow("rate limited")
            << "LG043"
            << "ERROR:  LG043: Operator dave signed in more than 10 times in a minute"
            << int(Error::Kind::RateLimited) << true << false << "Wait a minute";
        QTest::newRow("too many sessions")
            << "LG039"
            << "ERROR:  LG039: Operator dave has 5 open sessions; at most 5 are allowed"
            << int(Error::Kind::TooManySessions) << false << false << "Sign out in another";
        QTest::newRow("malformed sign-in request")
            << "LG049"
            << "ERROR:  LG049: Unknown client information \"address\"" << int(Error::Kind::Input)
            << false << false << "Unknown client information";
        QTest::newRow("rebook outside its reason")
            << "LG037"
            << "ERROR:  LG037: A rebook must keep the accounts of the original"
            << int(Error::Kind::Input) << false << false << "must keep the accounts";
        QTest::newRow("too many connections")
            << "53300"
            << "FATAL:  53300: too many connections for role \"lc_s_dave_1\""
            << int(Error::Kind::TooManyConnections) << true << false << "Close other console";
        QTest::newRow("disk full")
            << "53100"
            << "ERROR:  53100: could not extend file \"base/16384/16385\": No space left on device"
            << int(Error::Kind::Server) << false << false << "disk is full";
        QTest::newRow("lock timeout")
            << "55P03"
            << "ERROR:  55P03: canceling statement due to lock timeout" << int(Error::Kind::Busy)
            << true << false << "Nothing was saved";
        QTest::newRow("wrong secret")
            << "28P01"
            << "FATAL:  28P01: password authentication failed for user"
            << int(Error::Kind::Authentication) << false << true << "refused the sign-in";
        QTest::newRow("no login") << "28000"
                                  << "FATAL:  28000: role \"x\" is not permitted to log in"
                                  << int(Error::Kind::Authentication) << false << true
                                  << "refused the sign-in";
    }

    void sessionAndLimitErrors()
    {
        QFETCH(QString, sqlState);
        QFETCH(QString, message);
        QFETCH(int, kind);
        QFETCH(bool, retryable);
        QFETCH(bool, endsSession);
        QFETCH(QString, mustContain);
        const Error e = db::translateServerError(sqlState, message);
        QCOMPARE(int(e.kind), kind);
        QCOMPARE(e.retryable, retryable);
        QCOMPARE(e.endsSession(), endsSession);
        QCOMPARE(e.sqlState, sqlState);
        QVERIFY2(e.message.contains(mustContain), qPrintable(e.message));
        QVERIFY2(!e.message.contains(sqlState + QLatin1Char(':')), qPrintable(e.message));
        QVERIFY2(!e.message.contains(QLatin1String("HINT")) &&
                     !e.message.contains(QLatin1String("TIPP")),
                 qPrintable(e.message));
        QVERIFY(e.describe().contains(sqlState));
        QCOMPARE(Error::isRetryable(e.kind), retryable);
    }

    void sqlStateFromVerboseMessages_data()
    {
        QTest::addColumn<QString>("message");
        QTest::addColumn<QString>("sqlState");
        QTest::newRow("query") << "ERROR:  42501: permission denied for table accounts\n"
                                  "LOCATION:  aclcheck_error, aclchk.c:3650"
                               << "42501";
        QTest::newRow("German query") << "FEHLER:  42501: keine Berechtigung für Tabelle accounts"
                                      << "42501";
        QTest::newRow("German sign-in")
            << "connection to server on socket \"/tmp/x/.s.PGSQL.5432\" failed: FATAL:  28P01: "
               "Passwort-Authentifizierung für Benutzer »bob« fehlgeschlagen"
            << "28P01";
        QTest::newRow("French severity") << "la connexion au serveur a échoué : FATAL:  3D000: "
                                            "la base de données « nope » n'existe pas"
                                         << "3D000";
        // libpq keeps the errors of every attempt (several addresses, TLS then plain): the
        // last one is the answer.
        QTest::newRow("last attempt wins")
            << "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  28000: no "
               "pg_hba.conf entry for host\nconnection to server at \"db\" (10.0.0.1), port "
               "5432 failed: FATAL:  28P01: password authentication failed for user \"bob\""
            << "28P01";
        QTest::newRow("not verbose") << "FATAL:  password authentication failed for user \"bob\""
                                     << "";
        QTest::newRow("client side") << "connection to server on socket \"/x/.s.PGSQL.5432\" "
                                        "failed: No such file or directory"
                                     << "";
    }

    void sqlStateFromVerboseMessages()
    {
        QFETCH(QString, message);
        QFETCH(QString, sqlState);
        QCOMPARE(db::sqlStateFromMessage(message), sqlState);
    }

    // A refused connection is decided by the server's SQLSTATE and by how far libpq got,
    // never by the words: an English sentence without a SQLSTATE is not an authentication
    // failure, a German one with 28P01 is.
    void connectionFailures_data()
    {
        QTest::addColumn<int>("stage");
        QTest::addColumn<QString>("message");
        QTest::addColumn<bool>("needsPassword");
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("retryable");
        QTest::addColumn<QString>("mustContain");

        using Stage = db::ConnectFailure::Stage;
        const QString socket =
            QStringLiteral("connection to server on socket \"/x/.s.PGSQL.5432\" failed: ");
        QTest::newRow("wrong secret, German")
            << int(Stage::Server)
            << socket +
                   QString::fromUtf8("FATAL:  28P01: Passwort-Authentifizierung für Benutzer »bob« "
                                     "fehlgeschlagen")
            << false << int(Error::Kind::Authentication) << false << "Passwort-Authentifizierung";
        QTest::newRow("not permitted to log in")
            << int(Stage::Server)
            << socket +
                   QString::fromUtf8(
                       "FATAL:  28000: Rolle »lc_op_dave« hat keine Berechtigung zum Einloggen")
            << false << int(Error::Kind::Authentication) << false << "refused the sign-in";
        QTest::newRow("no database")
            << int(Stage::Server)
            << socket + QString::fromUtf8("FATAL:  3D000: Datenbank »nope« existiert nicht")
            << false << int(Error::Kind::NotFound) << false << "database name";
        QTest::newRow("too many connections")
            << int(Stage::Server)
            << socket + QString::fromUtf8("FATAL:  53300: zu viele Verbindungen für Rolle »lc_s_x«")
            << false << int(Error::Kind::TooManyConnections) << true
            << "Close other console windows";
        QTest::newRow("starting up")
            << int(Stage::Server)
            << socket + QString::fromUtf8("FATAL:  57P03: the database system is starting up")
            << false << int(Error::Kind::Connection) << true << "ended the connection";
        QTest::newRow("unreachable")
            << int(Stage::Reaching)
            << socket +
                   QString::fromUtf8("No such file or directory\n\tIs the server running locally?")
            << false << int(Error::Kind::Connection) << true
            << "Could not reach the database server";
        QTest::newRow("certificate")
            << int(Stage::Tls)
            << "connection to server at \"127.0.0.1\", port 5432 failed: SSL error: certificate "
               "verify failed"
            << false << int(Error::Kind::Tls) << false << "verify-full";
        QTest::newRow("timed out") << int(Stage::TimedOut) << "" << false
                                   << int(Error::Kind::Connection) << true << "no answer in time";
        QTest::newRow("password needed")
            << int(Stage::Server) << socket + QString::fromUtf8("fe_sendauth: no password supplied")
            << true << int(Error::Kind::Authentication) << false << "asks for a password";
        QTest::newRow("English words alone decide nothing")
            << int(Stage::Server)
            << socket + QString::fromUtf8("FATAL:  password authentication failed for user \"bob\"")
            << false << int(Error::Kind::Connection) << true << "ended the connection";
    }

    void connectionFailures()
    {
        QFETCH(int, stage);
        QFETCH(QString, message);
        QFETCH(bool, needsPassword);
        QFETCH(int, kind);
        QFETCH(bool, retryable);
        QFETCH(QString, mustContain);
        db::ConnectFailure f;
        f.stage = db::ConnectFailure::Stage(stage);
        f.message = message;
        f.sqlState = db::sqlStateFromMessage(message);
        f.needsPassword = needsPassword;
        f.target = QStringLiteral("/x");
        f.sslMode = QStringLiteral("verify-full");
        const Error e = db::translateConnectionFailure(f);
        QCOMPARE(int(e.kind), kind);
        QCOMPARE(e.retryable, retryable);
        QVERIFY2(e.message.contains(mustContain), qPrintable(e.message));
        QCOMPARE(e.detail, message.trimmed());
    }

    void lostConnections()
    {
        const Error terminated = db::translateLostConnection(
            QStringLiteral("FATAL:  57P01: terminating connection due to administrator command"));
        QCOMPARE(terminated.kind, Error::Kind::Connection);
        QVERIFY(terminated.retryable);
        QCOMPARE(terminated.sqlState, QStringLiteral("57P01"));
        const Error closed = db::translateLostConnection(
            QStringLiteral("server closed the connection unexpectedly\n\tThis probably means the "
                           "server terminated abnormally"));
        QCOMPARE(closed.kind, Error::Kind::Connection);
        QVERIFY(closed.message.contains(QLatin1String("server closed the connection")));
    }

    void everyKindHasItsOwnName()
    {
        QSet<QString> names;
        for (int k = int(Error::Kind::Input); k <= int(Error::Kind::Tls); ++k) {
            const QString name = kindName(Error::Kind(k));
            QVERIFY2(!names.contains(name), qPrintable(name));
            names.insert(name);
        }
        QCOMPARE(kindName(Error::Kind::SessionExpired), QStringLiteral("session-expired"));
        QCOMPARE(kindName(Error::Kind::NotSignedIn), QStringLiteral("not-signed-in"));
    }

    void redactsPasswords_data()
    {
        QTest::addColumn<QString>("dsn");
        QTest::addColumn<QString>("secret");
        QTest::newRow("key=value") << "host=/tmp user=a password=s3cr3t dbname=x"
                                   << "s3cr3t";
        QTest::newRow("quoted") << "host=/tmp password='s3 cr\\'3t' dbname=x"
                                << "cr\\'3t";
        QTest::newRow("uri") << "postgresql://bob:s3cr3t@db.example/ledger"
                             << "s3cr3t";
        QTest::newRow("uri param") << "postgresql://db.example/ledger?user=bob&password=s3cr3t"
                                   << "s3cr3t";
    }

    void redactsPasswords()
    {
        QFETCH(QString, dsn);
        QFETCH(QString, secret);
        const QString redacted = redactDsn(dsn);
        QVERIFY2(!redacted.contains(secret), qPrintable(redacted));
        QVERIFY(redacted.contains(QLatin1String("***")));
    }
};

QTEST_GUILESS_MAIN(TestErrorTranslation)
#include "tst_errortranslation.moc"
