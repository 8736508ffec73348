// Posting through ledger.post_transaction against a real server: the sign convention,
// currency exponents, idempotency, "no negative balance", audit events, and bad input of
// every kind refused with its own SQLSTATE and nothing written. The ledger's invariants
// are checked after every test function.

#include "LedgerInvariants.h"
#include "PostingRequests.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"

#include <QTest>

using namespace ledger;
using test::SqlSession;

class TestPosting : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_writer;
    int m_key = 0;

    QString key() { return QStringLiteral("tst-posting-%1").arg(++m_key); }

    QString counts() { return test::ledgerCounts(*m_admin); }

    QString shown(const QString &account)
    {
        return LedgerRepository::balance(*m_writer, account).amount;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        const char *accounts[][5] = {
            {"CASH-EUR", "Cash", "EUR", "asset", "t"},
            {"DEP-EUR", "Deposits", "EUR", "liability", "f"},
            {"FEES-EUR", "Fees", "EUR", "income", "t"},
            {"CASH-JPY", "Cash", "JPY", "asset", "t"},
            {"DEP-JPY", "Deposits", "JPY", "liability", "f"},
            {"CASH-BHD", "Cash", "BHD", "asset", "t"},
            {"DEP-BHD", "Deposits", "BHD", "liability", "t"},
            {"EXP-EUR", "Expenses", "EUR", "expense", "t"},
        };
        for (const auto &a : accounts) {
            const auto r = m_admin->exec(
                QStringLiteral("SELECT ledger.open_account($1, $2, $3, $4, $5::boolean)"),
                {QString::fromLatin1(a[0]), QString::fromLatin1(a[1]), QString::fromLatin1(a[2]),
                 QString::fromLatin1(a[3]), QString::fromLatin1(a[4])});
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        m_writer = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void balancesShowOnTheNormalSide()
    {
        // A customer deposit: cash (asset) debited, deposits (liability) credited.
        const auto r = LedgerRepository::post(
            *m_writer,
            test::postingRequest(
                key(), test::postingLeg(QStringLiteral("CASH-EUR"), QStringLiteral("100.00"),
                                        QStringLiteral("EUR")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("DEP-EUR"), QStringLiteral("-100.00"),
                                            QStringLiteral("EUR"))));
        QVERIFY(r.created);
        QVERIFY(r.transactionId > 0);
        QCOMPARE(shown(QStringLiteral("DEP-EUR")), QStringLiteral("100.00"));
        QCOMPARE(shown(QStringLiteral("CASH-EUR")), QStringLiteral("100.00"));
        // A fee: deposits debited (balance down), income credited (balance up).
        LedgerRepository::post(
            *m_writer,
            test::postingRequest(
                key(), test::postingLeg(QStringLiteral("DEP-EUR"), QStringLiteral("2.50"),
                                        QStringLiteral("EUR")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("FEES-EUR"), QStringLiteral("-2.50"),
                                            QStringLiteral("EUR"))));
        QCOMPARE(shown(QStringLiteral("DEP-EUR")), QStringLiteral("97.50"));
        QCOMPARE(shown(QStringLiteral("FEES-EUR")), QStringLiteral("2.50"));
        // An expense paid from cash.
        LedgerRepository::post(
            *m_writer,
            test::postingRequest(
                key(), test::postingLeg(QStringLiteral("EXP-EUR"), QStringLiteral("0.01"),
                                        QStringLiteral("EUR")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("CASH-EUR"), QStringLiteral("-0.01"),
                                            QStringLiteral("EUR"))));
        QCOMPARE(shown(QStringLiteral("EXP-EUR")), QStringLiteral("0.01"));
        QCOMPARE(shown(QStringLiteral("CASH-EUR")), QStringLiteral("99.99"));
    }

    void currencyExponents()
    {
        LedgerRepository::post(
            *m_writer,
            test::postingRequest(
                key(), test::postingLeg(QStringLiteral("CASH-JPY"), QStringLiteral("1500"),
                                        QStringLiteral("JPY")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("DEP-JPY"), QStringLiteral("-1500"),
                                            QStringLiteral("JPY"))));
        QCOMPARE(shown(QStringLiteral("DEP-JPY")), QStringLiteral("1500"));
        LedgerRepository::post(
            *m_writer,
            test::postingRequest(
                key(), test::postingLeg(QStringLiteral("CASH-BHD"), QStringLiteral("0.001"),
                                        QStringLiteral("BHD")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("DEP-BHD"), QStringLiteral("-0.001"),
                                            QStringLiteral("BHD"))));
        QCOMPARE(shown(QStringLiteral("DEP-BHD")), QStringLiteral("0.001"));
        // Trailing zeros beyond the exponent are exact, so they are fine.
        LedgerRepository::post(
            *m_writer,
            test::postingRequest(
                key(), test::postingLeg(QStringLiteral("CASH-JPY"), QStringLiteral("5.000"),
                                        QStringLiteral("JPY")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("DEP-JPY"), QStringLiteral("-5"),
                                            QStringLiteral("JPY"))));
        QCOMPARE(shown(QStringLiteral("DEP-JPY")), QStringLiteral("1505"));
        // A large exact amount survives unchanged (no floating point anywhere).
        LedgerRepository::post(
            *m_writer,
            test::postingRequest(key(), test::postingLeg(QStringLiteral("CASH-EUR"),
                                                         QStringLiteral("9999999999999.99"),
                                                         QStringLiteral("EUR")) +
                                            QLatin1Char(',') +
                                            test::postingLeg(QStringLiteral("EXP-EUR"),
                                                             QStringLiteral("-9999999999999.99"),
                                                             QStringLiteral("EUR"))));
        QCOMPARE(shown(QStringLiteral("CASH-EUR")), QStringLiteral("10000000000099.98"));
    }

    void idempotency()
    {
        const QString k = key();
        const QByteArray body = test::postingRequest(
            k, test::postingLeg(QStringLiteral("CASH-EUR"), QStringLiteral("10.00"),
                                QStringLiteral("EUR")) +
                   QLatin1Char(',') +
                   test::postingLeg(QStringLiteral("DEP-EUR"), QStringLiteral("-10.00"),
                                    QStringLiteral("EUR")));
        const auto first = LedgerRepository::post(*m_writer, body);
        const QString before = counts();
        // Same key, same request (spelled differently: the fingerprint is of the meaning).
        QByteArray respelled = body;
        respelled.replace("\"10.00\"", "\"10.0\"").replace("\"-10.00\"", "\"-10\"");
        respelled.replace("2026-11-20T10:00:00Z", "2026-11-20T11:00:00+01:00");
        for (const QByteArray &again : {body, respelled}) {
            const auto second = LedgerRepository::post(*m_writer, again);
            QCOMPARE(second.transactionId, first.transactionId);
            QVERIFY(!second.created);
        }
        QCOMPARE(counts(), before); // nothing new, not even an audit event

        // Same key, different request: refused, naming the key.
        try {
            LedgerRepository::post(
                *m_writer,
                test::postingRequest(
                    k, test::postingLeg(QStringLiteral("CASH-EUR"), QStringLiteral("10.01"),
                                        QStringLiteral("EUR")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("DEP-EUR"), QStringLiteral("-10.01"),
                                            QStringLiteral("EUR"))));
            QFAIL("a different request under a used key was accepted");
        } catch (const DbException &e) {
            QCOMPARE(e.error().sqlState, QStringLiteral("LG011"));
            QVERIFY2(e.error().message.contains(k), qPrintable(e.error().message));
        }
        QCOMPARE(counts(), before);
    }

    void noNegativeBalance()
    {
        const QString before = counts();
        try {
            // DEP-EUR forbids going negative: take out more than is there.
            LedgerRepository::post(
                *m_writer,
                test::postingRequest(key(), test::postingLeg(QStringLiteral("DEP-EUR"),
                                                             QStringLiteral("1000.00"),
                                                             QStringLiteral("EUR")) +
                                                QLatin1Char(',') +
                                                test::postingLeg(QStringLiteral("CASH-EUR"),
                                                                 QStringLiteral("-1000.00"),
                                                                 QStringLiteral("EUR"))));
            QFAIL("an overdraft was posted");
        } catch (const DbException &e) {
            QCOMPARE(e.error().sqlState, QStringLiteral("LG020"));
            QVERIFY2(e.error().message.contains(QLatin1String("DEP-EUR may not go negative")),
                     qPrintable(e.error().message));
        }
        QCOMPARE(counts(), before);
        // Accounts that allow it may go negative (CASH-BHD has 0.001).
        LedgerRepository::post(
            *m_writer,
            test::postingRequest(
                key(), test::postingLeg(QStringLiteral("DEP-BHD"), QStringLiteral("1.000"),
                                        QStringLiteral("BHD")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("CASH-BHD"), QStringLiteral("-1.000"),
                                            QStringLiteral("BHD"))));
        QCOMPARE(shown(QStringLiteral("CASH-BHD")), QStringLiteral("-0.999"));
    }

    void everyPostingIsAudited()
    {
        const auto r = LedgerRepository::post(
            *m_writer,
            test::postingRequest(
                key(), test::postingLeg(QStringLiteral("CASH-EUR"), QStringLiteral("1.00"),
                                        QStringLiteral("EUR")) +
                           QLatin1Char(',') +
                           test::postingLeg(QStringLiteral("DEP-EUR"), QStringLiteral("-1.00"),
                                            QStringLiteral("EUR"))));
        const auto event = m_admin->exec(
            QStringLiteral(
                "SELECT operator, session_role, details->>'idempotency_key', "
                "client_info->>'application' "
                "FROM audit.events WHERE action = 'transaction.posted' AND object_id = $1"),
            {QString::number(r.transactionId)});
        QVERIFY(event.ok);
        QCOMPARE(event.rows.size(), 1);
        QCOMPARE(event.rows[0][0], QStringLiteral("test_ledger_writer"));
        QCOMPARE(event.rows[0][1], QStringLiteral("test_ledger_writer"));
        QVERIFY(event.rows[0][2].startsWith(QLatin1String("tst-posting-")));
        QCOMPARE(event.rows[0][3], QStringLiteral("tst_posting"));
    }

    void badInputIsRefusedAndNothingWritten_data()
    {
        QTest::addColumn<QString>("body");
        QTest::addColumn<QString>("sqlState");
        QTest::addColumn<QString>("mustContain");
        const QString cash = QStringLiteral("CASH-EUR");
        const QString dep = QStringLiteral("DEP-EUR");
        const QString eur = QStringLiteral("EUR");
        auto two = [&](const QString &a1, const QString &a2,
                       const QString &c1 = QStringLiteral("EUR"),
                       const QString &c2 = QStringLiteral("EUR"),
                       const QString &acc1 = QStringLiteral("CASH-EUR"),
                       const QString &acc2 = QStringLiteral("DEP-EUR")) {
            return QString::fromUtf8(test::postingRequest(
                QStringLiteral("bad-%1").arg(QString::fromLatin1(
                    QString(a1 + a2 + c1 + c2 + acc1 + acc2).toUtf8().toHex().left(40))),
                test::postingLeg(acc1, a1, c1) + QLatin1Char(',') +
                    test::postingLeg(acc2, a2, c2)));
        };
        QTest::newRow("unbalanced")
            << two(QStringLiteral("10.00"), QStringLiteral("-9.99")) << "LG016"
            << "do not balance";
        QTest::newRow("unknown account") << two(QStringLiteral("1.00"), QStringLiteral("-1.00"),
                                                eur, eur, cash, QStringLiteral("NOPE"))
                                         << "LG018"
                                         << "no account with code \"NOPE\"";
        QTest::newRow("currency mismatch") << two(QStringLiteral("1.00"), QStringLiteral("-1.00"),
                                                  eur, QStringLiteral("JPY"), cash, dep)
                                           << "LG015"
                                           << "holds EUR, not JPY";
        QTest::newRow("leg currency unknown")
            << two(QStringLiteral("1.00"), QStringLiteral("-1.00"), QStringLiteral("XYZ"),
                   QStringLiteral("XYZ"))
            << "LG015"
            << "not XYZ";
        QTest::newRow("too many decimals")
            << two(QStringLiteral("1.001"), QStringLiteral("-1.001")) << "LG013"
            << "more decimals than EUR allows (2)";
        QTest::newRow("too many decimals JPY")
            << two(QStringLiteral("1.5"), QStringLiteral("-1.5"), QStringLiteral("JPY"),
                   QStringLiteral("JPY"), QStringLiteral("CASH-JPY"), QStringLiteral("DEP-JPY"))
            << "LG013"
            << "JPY allows (0)";
        QTest::newRow("out of range")
            << two(QStringLiteral("10000000000000.01"), QStringLiteral("-10000000000000.01"))
            << "LG014"
            << "out of range";
        QTest::newRow("not a number")
            << two(QStringLiteral("1,00"), QStringLiteral("-1,00")) << "LG012"
            << "not a decimal number";
        QTest::newRow("exponent form")
            << two(QStringLiteral("1e2"), QStringLiteral("-1e2")) << "LG012"
            << "not a decimal number";
        QTest::newRow("zero leg") << two(QStringLiteral("0.00"), QStringLiteral("0")) << "LG012"
                                  << "amount is zero";
        QTest::newRow("one leg") << QString::fromUtf8(test::postingRequest(
                                        QStringLiteral("bad-one-leg"),
                                        test::postingLeg(cash, QStringLiteral("1"), eur)))
                                 << "LG017"
                                 << "at least two legs";
        QTest::newRow("no effective time") << R"({"idempotency_key": "bad-no-time", "legs": []})"
                                           << "LG017"
                                           << "effective_at is missing";
        QTest::newRow("bad effective time")
            << QString::fromUtf8(test::postingRequest(
                   QStringLiteral("bad-time"),
                   test::postingLeg(cash, QStringLiteral("1"), eur) + QLatin1Char(',') +
                       test::postingLeg(dep, QStringLiteral("-1"), eur),
                   QStringLiteral("yesterday-ish")))
            << "LG017"
            << "is not a time";
        QTest::newRow("no key")
            << R"({"effective_at": "2026-11-20T10:00:00Z", "legs": [{"account": "CASH-EUR", "amount": "1", "currency": "EUR"}, {"account": "DEP-EUR", "amount": "-1", "currency": "EUR"}]})"
            << "LG010"
            << "idempotency key";
        QTest::newRow("not an object") << R"([1, 2])"
                                       << "LG017"
                                       << "JSON object";
        QTest::newRow("malformed JSON") << R"({"idempotency_key": "x", )"
                                        << "22P02"
                                        << "invalid input syntax for type json";
    }

    void badInputIsRefusedAndNothingWritten()
    {
        QFETCH(QString, body);
        QFETCH(QString, sqlState);
        QFETCH(QString, mustContain);
        const QString before = counts();
        try {
            LedgerRepository::post(*m_writer, body.toUtf8());
            QFAIL("bad input was posted");
        } catch (const DbException &e) {
            QCOMPARE(e.error().sqlState, sqlState);
            QVERIFY2(e.error().message.contains(mustContain, Qt::CaseInsensitive),
                     qPrintable(e.error().message));
            QVERIFY(!e.error().message.contains(QLatin1String("CONTEXT")));
            QCOMPARE(e.error().kind, Error::Kind::Input);
        }
        QCOMPARE(counts(), before);
    }

    void onlyWritersPost()
    {
        for (const char *group : {"console_operator", "console_supervisor", "console_auditor",
                                  "console_compliance", "console_broker"}) {
            Connection c(m_db.dsnFor(QString::fromLatin1(group)));
            try {
                LedgerRepository::post(
                    c,
                    test::postingRequest(
                        key(), test::postingLeg(QStringLiteral("CASH-EUR"), QStringLiteral("1"),
                                                QStringLiteral("EUR")) +
                                   QLatin1Char(',') +
                                   test::postingLeg(QStringLiteral("DEP-EUR"), QStringLiteral("-1"),
                                                    QStringLiteral("EUR"))));
                QFAIL(qPrintable(QStringLiteral("%1 could post").arg(QLatin1String(group))));
            } catch (const DbException &e) {
                QCOMPARE(e.error().kind, Error::Kind::Permission);
            }
        }
    }

    void theDatabaseRefusesUnbalancedWritesEvenFromTheOwner()
    {
        // Bypassing the posting function (only the owner could): checked at commit.
        const QString before = counts();
        const QString insertTx = QStringLiteral(
            "SET LOCAL ROLE ledger_owner; "
            "INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, effective_at, "
            "recorded_at, description, created_by, created_role) "
            "VALUES ('%1', sha256('x'), 'posting', now(), now(), 'bypass', 'x', 'x'); ");
        const QString leg =
            QStringLiteral("INSERT INTO ledger.entries (transaction_id, account_id, amount, "
                           "currency, effective_at, recorded_at, account_seq, balance_after) "
                           "SELECT currval(pg_get_serial_sequence('ledger.transactions', 'id')), "
                           "a.id, %2, '%3', now(), now(), 1000000 + %4, 0 "
                           "FROM ledger.accounts a WHERE a.code = '%1'; ");
        auto run = [&](const QString &sql) { return m_admin->exec(sql); };
        // No legs at all.
        auto r = run(insertTx.arg(QStringLiteral("bypass-1")));
        QCOMPARE(r.sqlState, QStringLiteral("LG016"));
        QVERIFY2(r.message.contains(QLatin1String("has 0 leg(s)")), qPrintable(r.message));
        // Unbalanced, written by two statements.
        r = run(insertTx.arg(QStringLiteral("bypass-2")) +
                leg.arg(QStringLiteral("CASH-EUR")).arg(100).arg(QStringLiteral("EUR")).arg(1) +
                leg.arg(QStringLiteral("FEES-EUR")).arg(-99).arg(QStringLiteral("EUR")).arg(1));
        QCOMPARE(r.sqlState, QStringLiteral("LG016"));
        QVERIFY2(r.message.contains(QLatin1String("does not balance in EUR")),
                 qPrintable(r.message));
        // Balanced, but in a currency the account does not hold.
        r = run(insertTx.arg(QStringLiteral("bypass-3")) +
                leg.arg(QStringLiteral("CASH-EUR")).arg(100).arg(QStringLiteral("JPY")).arg(2) +
                leg.arg(QStringLiteral("FEES-EUR")).arg(-100).arg(QStringLiteral("JPY")).arg(2));
        QCOMPARE(r.sqlState, QStringLiteral("LG015"));
        QCOMPARE(counts(), before);
    }

    void tablesAreAppendOnly()
    {
        for (const char *sql :
             {"UPDATE ledger.entries SET amount = amount + 1", "DELETE FROM ledger.transactions",
              "TRUNCATE ledger.entries CASCADE", "UPDATE audit.events SET details = '{}'",
              "DELETE FROM audit.events", "DELETE FROM ledger.account_heads",
              "UPDATE ledger.account_heads SET balance = 0",
              "SET LOCAL session_replication_role = replica; DELETE FROM ledger.entries"}) {
            const auto r = m_admin->exec(QString::fromLatin1(sql)); // even the superuser
            QVERIFY2(r.sqlState == QLatin1String("LG001"),
                     qPrintable(QString::fromLatin1(sql) + QStringLiteral(" -> ") + r.sqlState +
                                QLatin1Char(' ') + r.message));
        }
        SqlSession owner(m_db.adminDsn());
        const auto r =
            owner.exec(QStringLiteral("SET LOCAL ROLE ledger_owner; DELETE FROM ledger.entries"));
        QCOMPARE(r.sqlState, QStringLiteral("LG001")); // the owner too: triggers are ENABLE ALWAYS
    }
};

QTEST_GUILESS_MAIN(TestPosting)
#include "tst_posting.moc"
