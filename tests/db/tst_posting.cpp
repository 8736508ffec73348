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
#include "db/MigrationSet.h"

#include <QRandomGenerator>
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

    // 1.00 EUR from deposits to cash, under a new key.
    QByteArray cashAgainstDeposits()
    {
        return test::postingRequest(
            key(), test::postingLeg(QStringLiteral("CASH-EUR"), QStringLiteral("1.00"),
                                    QStringLiteral("EUR")) +
                       QLatin1Char(',') +
                       test::postingLeg(QStringLiteral("DEP-EUR"), QStringLiteral("-1.00"),
                                        QStringLiteral("EUR")));
    }

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
        const auto r = LedgerRepository::post(*m_writer, cashAgainstDeposits());
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
        // Through the posting function, which finds its own legs whole (and so spares the
        // commit check the reading back), then an entry more by hand in the same transaction:
        // the commit check reads them all, and refuses.
        r = run(QStringLiteral(
                    "SET LOCAL ROLE ledger_owner; "
                    "SELECT ledger.post_request('{\"idempotency_key\": \"bypass-4\", "
                    "\"effective_at\": \"2026-11-20T10:00:00Z\", \"legs\": ["
                    "{\"account\": \"CASH-EUR\", \"amount\": \"1\", \"currency\": \"EUR\"}, "
                    "{\"account\": \"DEP-EUR\", \"amount\": \"-1\", \"currency\": \"EUR\"}]}'); ") +
                leg.arg(QStringLiteral("CASH-EUR")).arg(5).arg(QStringLiteral("EUR")).arg(3));
        QCOMPARE(r.sqlState, QStringLiteral("LG016"));
        QVERIFY2(r.message.contains(QLatin1String("does not balance in EUR")),
                 qPrintable(r.message));
        QCOMPARE(counts(), before);
    }

    // ledger.post_normalized is C since 0061 (services/db/server/ledger_pg.c). What it stores
    // must be what 0060's SQL defined, byte for byte: the request's fingerprint, the event's
    // content digest (ledger.transaction_digests reads the rows back), the event's details
    // and client_info, the entries' sequence numbers and running balances.
    void theServerModuleWritesWhatTheSqlDefinitionsSay_data()
    {
        QTest::addColumn<QString>("legs");
        QTest::addColumn<QString>("extra");
        QTest::newRow("text that needs escaping, an external reference, a local offset")
            << QStringLiteral(
                   "[{\"account\": \"CASH-EUR\", \"amount\": \"12.50\", \"currency\": \"eur\"},"
                   " {\"account\": \"DEP-EUR\", \"amount\": \"-12.5\", \"currency\": \"EUR\"}]")
            << QStringLiteral(
                   "\"description\": \"Miete \\\"M\u00e4rz\\\" \\\\ \u20ac \u65e5\u672c\\tende\", "
                   "\"external_ref\": \"INV/2026/\u00e4-1\", "
                   "\"effective_at\": \"2026-03-01T10:00:00.123456+01:00\"");
        QTest::newRow("two currencies, three legs on one account, no description")
            << QStringLiteral(
                   "[{\"account\": \"CASH-EUR\", \"amount\": \"5\", \"currency\": \"EUR\"},"
                   " {\"account\": \"CASH-EUR\", \"amount\": \"-2.25\", \"currency\": \"EUR\"},"
                   " {\"account\": \"CASH-EUR\", \"amount\": \"0.25\", \"currency\": \"EUR\"},"
                   " {\"account\": \"FEES-EUR\", \"amount\": \"-3\", \"currency\": \"EUR\"},"
                   " {\"account\": \"CASH-JPY\", \"amount\": \"700\", \"currency\": \"JPY\"},"
                   " {\"account\": \"DEP-JPY\", \"amount\": \"-700\", \"currency\": \"JPY\"}]")
            << QStringLiteral("\"effective_at\": \"2026-11-20T15:00:00Z\"");
        QTest::newRow("three decimals, a time before the accounts' last entries")
            << QStringLiteral(
                   "[{\"account\": \"CASH-BHD\", \"amount\": \"1.005\", \"currency\": \"BHD\"},"
                   " {\"account\": \"DEP-BHD\", \"amount\": \"-1.005\", \"currency\": \"BHD\"}]")
            << QStringLiteral(
                   "\"description\": \"\", \"effective_at\": \"2001-01-01 00:00:00-05\"");
    }

    void theServerModuleWritesWhatTheSqlDefinitionsSay()
    {
        QFETCH(QString, legs);
        QFETCH(QString, extra);
        const QString k = key();
        const QString request =
            QStringLiteral("{\"idempotency_key\": \"%1\", %2, \"legs\": %3}").arg(k, extra, legs);
        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        // An application name with a quote: client_info is JSON the module writes.
        QVERIFY(writer
                    .exec(QStringLiteral("SELECT set_config('application_name', "
                                         "'tst_posting \"C\"', false)"))
                    .ok);
        const auto posted = writer.exec(
            QStringLiteral("SELECT transaction_id, created FROM ledger.post_request($1::jsonb)"),
            {request});
        QVERIFY2(posted.ok, qPrintable(posted.message));
        QCOMPARE(posted.rows[0][1], QStringLiteral("t"));
        const QString id = posted.rows[0][0];

        const auto checked = m_admin->exec(
            QStringLiteral(
                "SELECT t.request_hash = sha256(convert_to(jsonb_build_object("
                "           'kind', 'posting', 'reverses', NULL,"
                "           'request', (ledger.normalize_request($2::jsonb)).canonical)::text, "
                "'UTF8')),"
                "       decode(e.details->>'digest', 'hex') = "
                "           (SELECT d.digest FROM ledger.transaction_digests(ARRAY[t.id]) d),"
                "       e.details = jsonb_build_object('idempotency_key', t.idempotency_key, "
                "           'kind', 'posting', 'reverses', NULL, 'legs', "
                "           jsonb_array_length($2::jsonb->'legs'), 'digest', e.details->>'digest'),"
                "       e.client_info = jsonb_build_object('application', 'tst_posting \"C\"', "
                "           'backend_pid', e.client_info->'backend_pid'),"
                "       (e.operator, e.session_role, t.created_by, t.created_role) = "
                "           ('test_ledger_writer', 'test_ledger_writer', 'test_ledger_writer', "
                "            'test_ledger_writer'),"
                "       t.description = coalesce($2::jsonb->>'description', ''),"
                "       t.external_ref IS NOT DISTINCT FROM $2::jsonb->>'external_ref',"
                "       t.effective_at = ($2::jsonb->>'effective_at')::timestamptz,"
                "       (SELECT bool_and(x.effective_at = t.effective_at AND "
                "                        x.recorded_at = t.recorded_at) "
                "        FROM ledger.entries x WHERE x.transaction_id = t.id),"
                "       (SELECT count(*) FROM ledger.entries x WHERE x.transaction_id = t.id) = "
                "           jsonb_array_length($2::jsonb->'legs')"
                "FROM ledger.transactions t "
                "JOIN audit.events e ON e.action = 'transaction.posted' "
                "     AND e.object_type = 'transaction' AND e.object_id = t.id::text "
                "WHERE t.id = $1::bigint"),
            {id, request});
        QVERIFY2(checked.ok, qPrintable(checked.message));
        QCOMPARE(checked.rows.size(), 1);
        const QStringList what = {QStringLiteral("fingerprint"),  QStringLiteral("digest"),
                                  QStringLiteral("details"),      QStringLiteral("client_info"),
                                  QStringLiteral("who"),          QStringLiteral("description"),
                                  QStringLiteral("external_ref"), QStringLiteral("effective_at"),
                                  QStringLiteral("entry times"),  QStringLiteral("entries")};
        for (int i = 0; i < what.size(); ++i)
            QVERIFY2(checked.rows[0][i] == QLatin1String("t"), qPrintable(what[i]));

        // Each leg in order: its account's next sequence number and the running balance.
        const auto entries = m_admin->exec(
            QStringLiteral(
                "SELECT count(*) FROM ledger.entries x CROSS JOIN LATERAL ("
                "    SELECT count(*) AS n, sum(y.amount)::bigint AS total "
                "    FROM ledger.entries y "
                "    WHERE y.account_id = x.account_id AND y.id <= x.id) y "
                "WHERE x.transaction_id = $1 "
                "  AND (x.account_seq, x.balance_after) IS DISTINCT FROM (y.n, y.total)"),
            {id});
        QVERIFY2(entries.ok, qPrintable(entries.message));
        QCOMPARE(entries.rows[0][0], QStringLiteral("0"));

        // The same request again is the original; the key with another request is refused.
        const auto again = writer.exec(
            QStringLiteral("SELECT transaction_id, created FROM ledger.post_request($1::jsonb)"),
            {request});
        QVERIFY2(again.ok, qPrintable(again.message));
        QCOMPARE(again.rows[0], (QStringList{id, QStringLiteral("f")}));
        const QString before = counts();
        const auto other = writer.exec(
            QStringLiteral("SELECT transaction_id FROM ledger.post_request($1::jsonb)"),
            // The last of two equal keys counts: the same request with another external_ref.
            {request.chopped(1) + QStringLiteral(", \"external_ref\": \"another\"}")});
        QCOMPARE(other.sqlState, QStringLiteral("LG011"));
        QCOMPARE(counts(), before);
    }

    // ledger.normalize_request is C since 0062; 0055's PL/pgSQL stays as
    // ledger.normalize_request_reference, the specification. Both on every kind of good and
    // bad request, then on random mutations of good ones: the same value, or the same SQLSTATE
    // and message.
    void bothNormalizersAgree()
    {
        const auto leg = [](const QString &account, const QString &amount,
                            const QString &currency) {
            return QStringLiteral("{\"account\": %1, \"amount\": %2, \"currency\": %3}")
                .arg(account, amount, currency);
        };
        const QString cash = QStringLiteral("\"CASH-EUR\"");
        const QString dep = QStringLiteral("\"DEP-EUR\"");
        const QString eur = QStringLiteral("\"EUR\"");
        const auto request = [](const QString &time, const QString &legs,
                                const QString &more = {}) {
            return QStringLiteral("{\"idempotency_key\": \"k\", \"effective_at\": %1, \"legs\": "
                                  "[%2]%3}")
                .arg(time, legs, more);
        };
        const QString now = QStringLiteral("\"2026-11-20T15:00:00Z\"");
        const auto pair = [&](const QString &amount) -> QString {
            return leg(cash, amount, eur) + QLatin1Char(',') +
                   leg(dep,
                       amount.startsWith(QLatin1Char('"'))
                           ? QString(amount)
                                 .insert(1, QLatin1Char('-'))
                                 .replace(QLatin1String("--"), QString())
                           : QStringLiteral("-") + amount,
                       eur);
        };
        QStringList requests = {
            QStringLiteral("[1, 2]"),
            QStringLiteral("\"text\""),
            QStringLiteral("null"),
            QStringLiteral("{}"),
            QStringLiteral("{\"effective_at\": null}"),
            request(QStringLiteral("5"), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("true"), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("{\"a\": 1}"), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:00:00\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"now\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-02-30T15:00:00Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T25:00:00Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:61:00Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-13-01 10:00+01\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20 15:00z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:00:00.1234567Z\""),
                    pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:00:00.123456+05:30\""),
                    pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:00:00-0800\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:00:00+99\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:00:00+01:\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:00:00.Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2026-11-20T15:00:0Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\" 2026-11-20T15:00:00Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"1899-12-31T23:59:59Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"1900-01-01T00:00:00Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2200-01-01T00:00:00Z\""), pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2200-01-01T00:00:00.000001Z\""),
                    pair(QStringLiteral("\"1\""))),
            request(QStringLiteral("\"2200-01-01T01:00:00+01:00\""), pair(QStringLiteral("\"1\""))),
            request(now, pair(QStringLiteral("\"1\"")), QStringLiteral(", \"description\": null")),
            request(now, pair(QStringLiteral("\"1\"")), QStringLiteral(", \"description\": 12.50")),
            request(now, pair(QStringLiteral("\"1\"")),
                    QStringLiteral(", \"description\": {\"b\": [1, \"x\"]}")),
            request(now, pair(QStringLiteral("\"1\"")),
                    QStringLiteral(", \"description\": \"%1\"").arg(QString(500, QChar(0x20ac)))),
            request(
                now, pair(QStringLiteral("\"1\"")),
                QStringLiteral(", \"description\": \"%1\"").arg(QString(501, QLatin1Char('x')))),
            request(now, pair(QStringLiteral("\"1\"")),
                    QStringLiteral(", \"description\": \"tab\\there \\\"quoted\\\" \\\\ \\u00e9\", "
                                   "\"external_ref\": \"R-1\"")),
            request(now, pair(QStringLiteral("\"1\"")), QStringLiteral(", \"external_ref\": 42")),
            request(now, pair(QStringLiteral("\"1\"")), QStringLiteral(", \"external_ref\": null")),
            QStringLiteral("{\"effective_at\": \"2026-11-20T15:00:00Z\"}"),
            QStringLiteral("{\"effective_at\": \"2026-11-20T15:00:00Z\", \"legs\": {\"a\": 1}}"),
            QStringLiteral("{\"effective_at\": \"2026-11-20T15:00:00Z\", \"legs\": \"ab\"}"),
            request(now, leg(cash, QStringLiteral("\"1\""), eur)),
            request(now, QStringLiteral("1, 2")),
            request(now, QStringLiteral("[], {}")),
            request(now, leg(cash, QStringLiteral("\"1\""), eur) + QStringLiteral(", {}")),
            request(now, leg(QStringLiteral("null"), QStringLiteral("\"1\""), eur) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(cash, QStringLiteral("\"1\""), QStringLiteral("null")) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, QStringLiteral("{\"account\": \"CASH-EUR\", \"currency\": \"EUR\"}, ") +
                             leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(cash, QStringLiteral("null"), eur) + QLatin1Char(',') +
                             leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, pair(QStringLiteral("12.5"))),
            request(now, pair(QStringLiteral("1e2"))),
            request(now, pair(QStringLiteral("0.10"))),
            request(now, pair(QStringLiteral("\"1.\""))),
            request(now, pair(QStringLiteral("\".5\""))),
            request(now, pair(QStringLiteral("\"+1\""))),
            request(now, pair(QStringLiteral("\"0\""))),
            request(now, pair(QStringLiteral("\"0.00\""))),
            request(now, pair(QStringLiteral("\"1.230\""))),
            request(now, pair(QStringLiteral("\"1.234\""))),
            request(now, pair(QStringLiteral("\"1,5\""))),
            request(now, pair(QStringLiteral("\"1 \""))),
            request(now, pair(QStringLiteral("\"12345678901234567890\""))),
            request(now, pair(QStringLiteral("\"1234567890123456789\""))),
            request(now, pair(QStringLiteral("\"10000000000000\""))),
            request(now, pair(QStringLiteral("\"10000000000000.01\""))),
            request(now, pair(QStringLiteral("\"9999999999999.99\""))),
            request(now, pair(QStringLiteral("\"0.1234567890123456789\""))),
            request(now, pair(QStringLiteral("\"0.12345678901234567890\""))),
            request(now, leg(QStringLiteral("\"NOPE\""), QStringLiteral("\"1\""), eur) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(QStringLiteral("\"K\u00e4se\""), QStringLiteral("\"1\""), eur) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(QStringLiteral("12"), QStringLiteral("\"1\""), eur) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(cash, QStringLiteral("\"1\""), QStringLiteral("\"eur\"")) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(cash, QStringLiteral("\"1\""), QStringLiteral("\"EUR \"")) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(cash, QStringLiteral("\"1\""), QStringLiteral("\"JPY\"")) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(cash, QStringLiteral("\"1\""), QStringLiteral("\"XXX\"")) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(cash, QStringLiteral("\"1\""), QStringLiteral("7")) +
                             QLatin1Char(',') + leg(dep, QStringLiteral("\"-1\""), eur)),
            request(now, leg(cash, QStringLiteral("\"1\""), eur) + QLatin1Char(',') +
                             leg(dep, QStringLiteral("\"-2\""), eur)),
            request(now, leg(cash, QStringLiteral("\"1\""), eur) + QLatin1Char(',') +
                             leg(dep, QStringLiteral("\"-1\""), eur) + QLatin1Char(',') +
                             leg(QStringLiteral("\"CASH-JPY\""), QStringLiteral("\"5\""),
                                 QStringLiteral("\"JPY\"")) +
                             QLatin1Char(',') +
                             leg(QStringLiteral("\"DEP-JPY\""), QStringLiteral("\"-5\""),
                                 QStringLiteral("\"jpy\""))),
            request(now, leg(QStringLiteral("\"CASH-BHD\""), QStringLiteral("\"1.005\""),
                             QStringLiteral("\"BHD\"")) +
                             QLatin1Char(',') +
                             leg(QStringLiteral("\"DEP-BHD\""), QStringLiteral("\"-1.0050\""),
                                 QStringLiteral("\"BHD\""))),
        };
        // 100 legs (the most), and 101.
        QStringList many;
        for (int i = 0; i < 50; ++i)
            many << pair(QStringLiteral("\"0.01\""));
        requests << request(now, many.join(QLatin1Char(',')));
        requests << request(now, many.join(QLatin1Char(',')) + QLatin1Char(',') +
                                     leg(cash, QStringLiteral("\"0\""), eur));

        // Random mutations of a good request: one field at a time replaced by a value from
        // the pools above, or removed.
        const QStringList values = {QStringLiteral("null"),
                                    QStringLiteral("1"),
                                    QStringLiteral("-1.5"),
                                    QStringLiteral("\"\""),
                                    QStringLiteral("\"EUR\""),
                                    QStringLiteral("\"jpy\""),
                                    QStringLiteral("\"CASH-EUR\""),
                                    QStringLiteral("\"DEP-JPY\""),
                                    QStringLiteral("[]"),
                                    QStringLiteral("{}"),
                                    QStringLiteral("\"2026-11-20 15:00+01\""),
                                    QStringLiteral("\"0.001\""),
                                    QStringLiteral("\"-0.01\""),
                                    QStringLiteral("true"),
                                    QStringLiteral("\"1e3\""),
                                    QStringLiteral("\"9999999999999999999\"")};
        const QStringList fields = {QStringLiteral("account"), QStringLiteral("amount"),
                                    QStringLiteral("currency")};
        QRandomGenerator random(20261205);
        for (int n = 0; n < 300; ++n) {
            QString legs[2][3] = {{cash, QStringLiteral("\"1.00\""), eur},
                                  {dep, QStringLiteral("\"-1.00\""), eur}};
            QString time = now;
            QString more;
            for (int changes = 1 + int(random.bounded(3)); changes > 0; --changes) {
                const QString value = values[int(random.bounded(values.size()))];
                switch (random.bounded(4)) {
                case 0:
                    time = value;
                    break;
                case 1:
                    more = QStringLiteral(", \"%1\": %2")
                               .arg(random.bounded(2) ? QStringLiteral("description")
                                                      : QStringLiteral("external_ref"),
                                    value);
                    break;
                default:
                    legs[random.bounded(2)][random.bounded(3)] = value;
                }
            }
            QString body;
            for (int i = 0; i < 2; ++i) {
                QStringList members;
                for (int f = 0; f < 3; ++f)
                    members << QStringLiteral("\"%1\": %2").arg(fields[f], legs[i][f]);
                body += (i ? QStringLiteral(", {") : QStringLiteral("{")) +
                        members.join(QStringLiteral(", ")) + QLatin1Char('}');
            }
            requests << request(time, body, more);
        }

        int refused = 0;
        for (const QString &r : requests) {
            const auto outcome = [&](const char *function) {
                const auto o =
                    m_admin->exec(QStringLiteral("SELECT row(n.*)::text FROM %1($1::jsonb) n")
                                      .arg(QString::fromLatin1(function)),
                                  {r});
                if (o.ok)
                    return QString(QStringLiteral("ok ") + o.rows[0][0]);
                return QString(o.sqlState + QLatin1Char(' ') +
                               o.message.section(QLatin1Char('\n'), 0, 0));
            };
            const QString c = outcome("ledger.normalize_request");
            const QString reference = outcome("ledger.normalize_request_reference");
            QVERIFY2(c == reference, qPrintable(r + QStringLiteral("\n  C:         ") + c +
                                                QStringLiteral("\n  reference: ") + reference));
            QVERIFY2(!c.startsWith(QLatin1String("22")) && !c.startsWith(QLatin1String("XX")),
                     qPrintable(r + QStringLiteral(" -> ") + c)); // a refusal of our own
            refused += c.startsWith(QLatin1String("ok ")) ? 0 : 1;
        }
        // Both kinds were tried, many times.
        QVERIFY2(refused > 100 && requests.size() - refused > 20,
                 qPrintable(QStringLiteral("%1 of %2 refused").arg(refused).arg(requests.size())));
    }

    // The module keeps a table's check constraints and partial index predicates planned for
    // the backend's life; DDL must still be seen at once, as by a plain INSERT. One writer
    // backend throughout: it posts (planning them), a check is added, the same backend is
    // refused by it (23514, nothing written), the check goes, and the posting passes.
    void theModuleSeesConstraintsChangedUnderIt()
    {
        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const auto post = [&](const QString &amount) {
            return writer.exec(
                QStringLiteral("SELECT transaction_id FROM ledger.post_request($1::jsonb)"),
                {QString::fromUtf8(test::postingRequest(
                    key(),
                    test::postingLeg(QStringLiteral("CASH-EUR"), amount, QStringLiteral("EUR")) +
                        QLatin1Char(',') +
                        test::postingLeg(QStringLiteral("DEP-EUR"), QLatin1Char('-') + amount,
                                         QStringLiteral("EUR"))))});
        };
        const auto alter = [&](const char *sql) {
            const auto r = m_admin->exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        };
        alter("ALTER TABLE ledger.entries ADD CONSTRAINT tst_not CHECK (abs(amount) <> 13)");
        QVERIFY(post(QStringLiteral("0.12")).ok); // the three checks planned in this backend
        const QString before = counts();
        QCOMPARE(post(QStringLiteral("0.13")).sqlState, QStringLiteral("23514"));
        // Another check under the same name, as many checks as before.
        alter("ALTER TABLE ledger.entries DROP CONSTRAINT tst_not, "
              "ADD CONSTRAINT tst_not CHECK (abs(amount) <> 14)");
        const auto refused = post(QStringLiteral("0.14"));
        QCOMPARE(refused.sqlState, QStringLiteral("23514"));
        QVERIFY2(refused.message.contains(QLatin1String("tst_not")), qPrintable(refused.message));
        QCOMPARE(counts(), before);
        QVERIFY(post(QStringLiteral("0.13")).ok);
        alter("ALTER TABLE ledger.entries DROP CONSTRAINT tst_not");
        QVERIFY(post(QStringLiteral("0.14")).ok);
    }

    // A server without ledger_pg: migration 0061 stops with LG101, says what to install, and
    // changes nothing (the posting function stays the module's, and posts).
    void withoutTheModuleMigration0061StopsAndSaysWhy()
    {
        const auto set = MigrationSet::builtIn();
        QVERIFY(set.ok());
        QByteArray sql;
        for (const Migration &m : set.value().migrations())
            if (m.version == 61)
                sql = m.sql;
        QVERIFY(sql.contains("ledger_pg"));
        SqlSession admin(m_db.adminDsn()); // a new backend: the module is not loaded in it yet
        QVERIFY(admin.exec(QStringLiteral("SET dynamic_library_path = '/nonexistent'")).ok);
        const auto r = admin.exec(QString::fromUtf8(sql));
        QCOMPARE(r.sqlState, QStringLiteral("LG101"));
        QVERIFY2(r.message.contains(QLatin1String("cannot load ledger_pg")), qPrintable(r.message));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT l.lanname || ' ' || p.prosrc FROM pg_proc p "
                     "JOIN pg_language l ON l.oid = p.prolang "
                     "WHERE p.oid = 'ledger.post_normalized(text, ledger.normalized_request, text, "
                     "bigint)'::regprocedure")),
                 QStringLiteral("c ledger_post_normalized"));
        const auto posted = LedgerRepository::post(*m_writer, cashAgainstDeposits());
        QVERIFY(posted.transactionId > 0);
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
