#include "db/Connection.h"
#include "db/ErrorTranslation.h"

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

    void connectionFailures_data()
    {
        QTest::addColumn<QString>("driver");
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("retryable");

        QTest::newRow("refused") << "connection to server on socket \"/x/.s.PGSQL.5432\" failed: "
                                    "No such file or directory\n\tIs the server running locally?"
                                 << int(Error::Kind::Connection) << true;
        QTest::newRow("password") << "connection to server on socket \"/x\" failed: FATAL:  "
                                     "password authentication failed for user \"bob\""
                                  << int(Error::Kind::Authentication) << false;
        QTest::newRow("no database")
            << "connection to server failed: FATAL:  database \"nope\" does not exist"
            << int(Error::Kind::NotFound) << false;
        QTest::newRow("disabled login") << "connection to server on socket \"/x\" failed: FATAL:  "
                                           "role \"lc_op_dave\" is not permitted to log in"
                                        << int(Error::Kind::Authentication) << false;
        QTest::newRow("bad option")
            << "invalid connection option \"hots\"" << int(Error::Kind::Input) << false;
    }

    void connectionFailures()
    {
        QFETCH(QString, driver);
        QFETCH(int, kind);
        QFETCH(bool, retryable);
        const Error e = db::translateConnectionFailure(driver);
        QCOMPARE(int(e.kind), kind);
        QCOMPARE(e.retryable, retryable);
        QVERIFY(!e.message.isEmpty());
        QCOMPARE(e.detail, driver.trimmed());
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
