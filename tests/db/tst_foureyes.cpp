// Step 6, four eyes: the attacks on the maker-checker workflow, performed against a real
// server, and shown to fail.
//  - a rebook the approver could not see (any accounts, any amounts), posted at approval;
//  - two REPEATABLE READ requests for one transaction, both left pending;
//  - control characters in notes, forging lines in a terminal.

#include "LedgerInvariants.h"
#include "ServerLogWatcher.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/ReversalRepository.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <thread>

using namespace ledger;
using test::SqlSession;

class TestFourEyes : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_writer, m_operator, m_supervisor;
    int m_key = 0;

    // CARD +amount / CUST -amount at 2026-11-01 09:00 UTC.
    qint64 post(const QString &amount)
    {
        return LedgerRepository::
            post(*m_writer,
                 QStringLiteral(
                     R"({"idempotency_key": "fe-%1", "effective_at": "2026-11-01T09:00:00Z", "description": "card payment",
            "legs": [{"account": "CARD", "amount": "%2", "currency": "EUR"}, {"account": "CUST", "amount": "-%2", "currency": "EUR"}]})")
                     .arg(++m_key)
                     .arg(amount)
                     .toUtf8())
                .transactionId;
    }

    static QByteArray rebook(const QString &effective, const QList<QStringList> &legs,
                             const QString &extra = {})
    {
        QJsonArray array;
        for (const QStringList &l : legs)
            array.append(
                QJsonObject{{QStringLiteral("account"), l[0]},
                            {QStringLiteral("amount"), l[1]},
                            {QStringLiteral("currency"), l.value(2, QStringLiteral("EUR"))}});
        QJsonObject o{{QStringLiteral("effective_at"), effective},
                      {QStringLiteral("description"), QStringLiteral("corrected")},
                      {QStringLiteral("legs"), array}};
        if (!extra.isEmpty())
            o.insert(QStringLiteral("padding"), extra);
        return QJsonDocument(o).toJson(QJsonDocument::Compact);
    }

    template <class F> QString sqlStateOf(F f)
    {
        try {
            f();
        } catch (const DbException &e) {
            return e.error().sqlState;
        }
        return QStringLiteral("ok");
    }

    QJsonObject json(const QString &sql, const QStringList &params = {})
    {
        return QJsonDocument::fromJson(m_admin->scalar(sql, params).toUtf8()).object();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        for (const char *sql :
             {"SELECT ledger.open_account('CARD', 'Card settlement', 'EUR', 'asset')",
              "SELECT ledger.open_account('CUST', 'Customer', 'EUR', 'liability')",
              "SELECT ledger.open_account('CUST2', 'Another customer', 'EUR', 'liability')",
              "SELECT ledger.open_account('X1', 'Unrelated one', 'EUR', 'liability')",
              "SELECT ledger.open_account('X2', 'Unrelated two', 'EUR', 'liability')",
              "SELECT ledger.open_account('CARD-USD', 'Card settlement USD', 'USD', 'asset')",
              "SELECT ledger.open_account('CUST-USD', 'Customer USD', 'USD', 'liability')"}) {
            const auto r = m_admin->exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        m_writer = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_operator = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia_operator")));
        m_supervisor = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam_supervisor")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // The attack: a request that reverses a card payment and "rebooks" 4,900.00 between two
    // accounts the original never touched. Before Step 6 it was stored as sent, shown as
    // "rebook: true" only, and posted unchanged when a supervisor approved.
    void aHiddenRebookIsRefused()
    {
        const qint64 tx = post(QStringLiteral("49.00"));
        const QByteArray hidden = rebook(QStringLiteral("2026-11-01T09:00:00Z"),
                                         {{QStringLiteral("X1"), QStringLiteral("4900.00")},
                                          {QStringLiteral("X2"), QStringLiteral("-4900.00")}});
        for (const char *reason : {"OTHER", "WRONG_ACCOUNT", "WRONG_AMOUNT", "FRAUD"}) {
            QCOMPARE(sqlStateOf([&] {
                         ReversalRepository::request(*m_operator, tx, QString::fromLatin1(reason),
                                                     QStringLiteral("fix"), hidden);
                     }),
                     QStringLiteral("LG037"));
        }
        QCOMPARE(m_admin->scalar(
                     QStringLiteral(
                         "SELECT count(*) FROM ledger.reversal_requests WHERE transaction_id = $1"),
                     {QString::number(tx)}),
                 QStringLiteral("0"));
    }

    // What a rebook may change, by reason.
    void aRebookMustFitItsReason_data()
    {
        QTest::addColumn<QString>("reason");
        QTest::addColumn<QByteArray>("corrected");
        QTest::addColumn<QString>("expected");
        const QString at = QStringLiteral("2026-11-01T09:00:00Z");
        const auto legs = [](const char *a, const char *b, const char *amount) {
            return QList<QStringList>{
                {QString::fromLatin1(a), QString::fromLatin1(amount)},
                {QString::fromLatin1(b), QLatin1Char('-') + QString::fromLatin1(amount)}};
        };
        QTest::newRow("wrong amount, same accounts")
            << QStringLiteral("WRONG_AMOUNT") << rebook(at, legs("CARD", "CUST", "12.00"))
            << QStringLiteral("ok");
        QTest::newRow("wrong amount, ten times at most")
            << QStringLiteral("WRONG_AMOUNT") << rebook(at, legs("CARD", "CUST", "100.00"))
            << QStringLiteral("ok");
        QTest::newRow("wrong amount, eleven times")
            << QStringLiteral("WRONG_AMOUNT") << rebook(at, legs("CARD", "CUST", "110.00"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong amount, a tenth at least")
            << QStringLiteral("WRONG_AMOUNT") << rebook(at, legs("CARD", "CUST", "0.99"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong amount, another account")
            << QStringLiteral("WRONG_AMOUNT") << rebook(at, legs("CARD", "CUST2", "12.00"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong amount, sides swapped")
            << QStringLiteral("WRONG_AMOUNT") << rebook(at, legs("CUST", "CARD", "10.00"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong amount, another date")
            << QStringLiteral("WRONG_AMOUNT")
            << rebook(QStringLiteral("2026-11-02T09:00:00Z"), legs("CARD", "CUST", "12.00"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong amount, nothing changes")
            << QStringLiteral("WRONG_AMOUNT") << rebook(at, legs("CARD", "CUST", "10.00"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong account, one account moves")
            << QStringLiteral("WRONG_ACCOUNT") << rebook(at, legs("CARD", "CUST2", "10.00"))
            << QStringLiteral("ok");
        QTest::newRow("wrong account, every account moves")
            << QStringLiteral("WRONG_ACCOUNT") << rebook(at, legs("X1", "X2", "10.00"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong account, and the amount")
            << QStringLiteral("WRONG_ACCOUNT") << rebook(at, legs("CARD", "CUST2", "11.00"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong account, split in two")
            << QStringLiteral("WRONG_ACCOUNT")
            << rebook(at, {{QStringLiteral("CARD"), QStringLiteral("10.00")},
                           {QStringLiteral("CUST2"), QStringLiteral("-4.00")},
                           {QStringLiteral("X1"), QStringLiteral("-6.00")}})
            << QStringLiteral("LG037");
        QTest::newRow("wrong date, two days later")
            << QStringLiteral("WRONG_DATE")
            << rebook(QStringLiteral("2026-11-03T09:00:00Z"), legs("CARD", "CUST", "10.00"))
            << QStringLiteral("ok");
        QTest::newRow("wrong date, over a year")
            << QStringLiteral("WRONG_DATE")
            << rebook(QStringLiteral("2027-12-01T09:00:00Z"), legs("CARD", "CUST", "10.00"))
            << QStringLiteral("LG037");
        QTest::newRow("wrong date, and the amount")
            << QStringLiteral("WRONG_DATE")
            << rebook(QStringLiteral("2026-11-03T09:00:00Z"), legs("CARD", "CUST", "11.00"))
            << QStringLiteral("LG037");
        QTest::newRow("another currency")
            << QStringLiteral("WRONG_ACCOUNT")
            << rebook(
                   at,
                   {{QStringLiteral("CARD-USD"), QStringLiteral("10.00"), QStringLiteral("USD")},
                    {QStringLiteral("CUST-USD"), QStringLiteral("-10.00"), QStringLiteral("USD")}})
            << QStringLiteral("LG037");
        // Legs that cancel out on one account moved nothing the rules saw, yet posted (and
        // showed) any amount, in any currency.
        QTest::newRow("wrong amount, with legs that cancel out")
            << QStringLiteral("WRONG_AMOUNT")
            << rebook(at, {{QStringLiteral("CARD"), QStringLiteral("12.00")},
                           {QStringLiteral("CUST"), QStringLiteral("-12.00")},
                           {QStringLiteral("X1"), QStringLiteral("49000.00")},
                           {QStringLiteral("X1"), QStringLiteral("-49000.00")}})
            << QStringLiteral("LG037");
        QTest::newRow("wrong account, with another currency that cancels out")
            << QStringLiteral("WRONG_ACCOUNT")
            << rebook(at, {{QStringLiteral("CARD"), QStringLiteral("10.00")},
                           {QStringLiteral("CUST2"), QStringLiteral("-10.00")},
                           {QStringLiteral("CUST-USD"), QStringLiteral("9000.00"),
                            QStringLiteral("USD")},
                           {QStringLiteral("CUST-USD"), QStringLiteral("-9000.00"),
                            QStringLiteral("USD")}})
            << QStringLiteral("LG037");
        QTest::newRow("duplicate takes no rebook")
            << QStringLiteral("DUPLICATE") << rebook(at, legs("CARD", "CUST", "12.00"))
            << QStringLiteral("LG037");
        QTest::newRow("over 64 kB")
            << QStringLiteral("WRONG_AMOUNT")
            << rebook(at, legs("CARD", "CUST", "12.00"), QString(70000, QLatin1Char('x')))
            << QStringLiteral("LG037");
    }

    void aRebookMustFitItsReason()
    {
        QFETCH(QString, reason);
        QFETCH(QByteArray, corrected);
        QFETCH(QString, expected);
        const qint64 tx = post(QStringLiteral("10.00"));
        QCOMPARE(sqlStateOf([&] {
                     ReversalRepository::request(*m_operator, tx, reason, QStringLiteral("fix it"),
                                                 corrected);
                 }),
                 expected);
    }

    // What a supervisor sees, everywhere a request is shown, and that an approval posts
    // exactly what was shown.
    void theApproverSeesTheRebookAndApprovesWhatWasShown()
    {
        const qint64 tx = post(QStringLiteral("30.00"));
        const qint64 request = ReversalRepository::request(
            *m_operator, tx, QStringLiteral("WRONG_ACCOUNT"), QStringLiteral("belongs to CUST2"),
            rebook(QStringLiteral("2026-11-01T09:00:00Z"),
                   {{QStringLiteral("CARD"), QStringLiteral("30")},
                    {QStringLiteral("CUST2"), QStringLiteral("-30.0")}}));
        const QString expectedLegs = QStringLiteral(
            R"([{"account":"CARD","amount":"30.00","currency":"EUR"},{"account":"CUST2","amount":"-30.00","currency":"EUR"}])");
        const auto legsOf = [](const QJsonValue &v) {
            return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
        };

        // The status view (and the repository the console and ledgerctl use).
        const auto listed = ReversalRepository::list(*m_supervisor, QStringLiteral("pending"));
        const auto it = std::find_if(listed.begin(), listed.end(),
                                     [&](const auto &r) { return r.id == request; });
        QVERIFY(it != listed.end());
        QVERIFY(it->rebook);
        QCOMPARE(legsOf(it->rebookRequest.value(QStringLiteral("legs"))), expectedLegs);
        QCOMPARE(it->rebookRequest.value(QStringLiteral("effective_at")).toString(),
                 QStringLiteral("2026-11-01T09:00:00.000000Z"));
        // transaction_detail.
        const QJsonObject detail = json(
            QStringLiteral("SELECT ledger.transaction_detail($1)::text"), {QString::number(tx)});
        QCOMPARE(legsOf(detail.value(QStringLiteral("requests"))
                            .toArray()
                            .first()
                            .toObject()
                            .value(QStringLiteral("rebook_request"))
                            .toObject()
                            .value(QStringLiteral("legs"))),
                 expectedLegs);
        // The audit event of the request.
        QCOMPARE(legsOf(json(QStringLiteral("SELECT details::text FROM audit.events WHERE action "
                                            "= 'reversal.requested' AND object_id = $1"),
                             {QString::number(request)})
                            .value(QStringLiteral("rebook"))
                            .toObject()
                            .value(QStringLiteral("legs"))),
                 expectedLegs);
        // `ledgerctl reversal list --json`, as the supervisor.
        QProcess ctl;
        ctl.start(
            QStringLiteral(LEDGERCTL_PATH),
            {QStringLiteral("reversal"), QStringLiteral("list"), QStringLiteral("--json"),
             QStringLiteral("--dsn"),
             m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam_supervisor"))});
        QVERIFY(ctl.waitForFinished(60000));
        QCOMPARE(ctl.exitCode(), 0);
        const QJsonArray requests = QJsonDocument::fromJson(ctl.readAllStandardOutput())
                                        .object()
                                        .value(QStringLiteral("requests"))
                                        .toArray();
        QCOMPARE(legsOf(requests.first()
                            .toObject()
                            .value(QStringLiteral("rebook_request"))
                            .toObject()
                            .value(QStringLiteral("legs"))),
                 expectedLegs);

        // The preview: the reversal, the rebook and the net effect.
        const auto preview = ReversalRepository::preview(*m_supervisor, request);
        QCOMPARE(preview.reversal.size(), 2);
        QCOMPARE(preview.reversal[0].account, QStringLiteral("CARD"));
        QCOMPARE(preview.reversal[0].amount, QStringLiteral("-30.00"));
        QVERIFY(preview.hasRebook);
        QCOMPARE(preview.rebook.size(), 2);
        QCOMPARE(preview.rebook[1].account, QStringLiteral("CUST2"));
        QCOMPARE(preview.rebook[1].accountName, QStringLiteral("Another customer"));
        QCOMPARE(preview.net.size(), 2); // CARD nets to zero
        QCOMPARE(preview.net[0].account + QLatin1Char(' ') + preview.net[0].amount,
                 QStringLiteral("CUST 30.00"));
        QCOMPARE(preview.net[1].account + QLatin1Char(' ') + preview.net[1].amount,
                 QStringLiteral("CUST2 -30.00"));
        QCOMPARE(preview.digest.size(), 64);

        // Approving anything but what was shown is refused and posts nothing.
        const QString before =
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        const qint64 other =
            ReversalRepository::request(*m_operator, post(QStringLiteral("1.00")),
                                        QStringLiteral("DUPLICATE"), QStringLiteral("twice"));
        const QString otherDigest = ReversalRepository::preview(*m_supervisor, other).digest;
        for (const QString &digest : {QString(), QStringLiteral("00"), otherDigest}) {
            QCOMPARE(
                sqlStateOf([&] { ReversalRepository::approve(*m_supervisor, request, digest); }),
                QStringLiteral("LG038"));
        }
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) - 1 FROM ledger.transactions")),
                 before); // only the other request's original was added
        // The old call without a preview no longer exists.
        QCOMPARE(m_admin
                     ->exec(QStringLiteral("SELECT ledger.approve_reversal($1::bigint)"),
                            {QString::number(request)})
                     .sqlState,
                 QStringLiteral("42883"));

        const auto d = ReversalRepository::approve(*m_supervisor, request, preview.digest);
        QCOMPARE(m_admin->scalar(
                     QStringLiteral(
                         "SELECT string_agg(a.code || ' ' || e.amount, ', ' ORDER BY e.id) FROM "
                         "ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id WHERE "
                         "e.transaction_id = $1"),
                     {QString::number(d.rebookTransactionId)}),
                 QStringLiteral("CARD 3000, CUST2 -3000"));
        const QJsonObject approved =
            json(QStringLiteral("SELECT details::text FROM audit.events WHERE action = "
                                "'reversal.approved' AND object_id = $1"),
                 {QString::number(request)});
        QCOMPARE(approved.value(QStringLiteral("preview_digest")).toString(), preview.digest);
        QCOMPARE(
            legsOf(approved.value(QStringLiteral("rebook"))
                       .toObject()
                       .value(QStringLiteral("legs"))
                       .toArray()),
            QStringLiteral(
                R"([{"account":"CARD","account_name":"Card settlement","amount":"30.00","currency":"EUR"},{"account":"CUST2","account_name":"Another customer","amount":"-30.00","currency":"EUR"}])"));
        QCOMPARE(approved.value(QStringLiteral("net")).toArray().size(), 2);
    }

    // The attack: two REPEATABLE READ transactions each check "no pending request" on their
    // snapshot and insert one. Now the second is refused, whichever commits first.
    void twoRepeatableReadRequestsLeaveOnePending()
    {
        const qint64 tx = post(QStringLiteral("3.00"));
        const QString dsn =
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia_operator"));
        const QString request =
            QStringLiteral("SELECT ledger.request_reversal(%1, 'DUPLICATE', 'twice')").arg(tx);
        // B's backend logs when it starts waiting for a lock, which wakes the wait below.
        QVERIFY(test::logLockWaitsOf(*m_admin, QStringLiteral("olivia_operator")));
        test::ServerLogWatcher log(m_db.dataDir());
        SqlSession a(dsn), b(dsn);
        // Snapshots first, then A requests and commits, then B (whose snapshot misses A).
        QVERIFY(a.run(QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")).ok);
        QVERIFY(b.run(QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")).ok);
        QVERIFY(a.run(request).ok);
        QVERIFY(a.run(QStringLiteral("COMMIT")).ok);
        QCOMPARE(b.run(request).sqlState, QStringLiteral("LG033"));
        b.run(QStringLiteral("ROLLBACK"));

        // Both in flight: B waits for A's insert, then is refused when A commits.
        const qint64 tx2 = post(QStringLiteral("4.00"));
        const QString request2 =
            QStringLiteral("SELECT ledger.request_reversal(%1, 'DUPLICATE', 'twice')").arg(tx2);
        const int bPid = b.backendPid(); // outside the transaction: backendPid() commits
        QVERIFY(a.run(QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")).ok);
        QVERIFY(b.run(QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")).ok);
        QVERIFY(a.run(request2).ok);
        QString bState;
        std::thread second([&] { bState = b.run(request2).sqlState; });
        // (Its request stays in pg_locks, not granted, for the whole wait.)
        const bool bWaits = log.waitUntil([&] {
            return m_admin->scalar(QStringLiteral("SELECT count(*) FROM pg_locks WHERE pid = $1 "
                                                  "AND NOT granted"),
                                   {QString::number(bPid)}) == QLatin1String("1");
        });
        QVERIFY(a.run(QStringLiteral("COMMIT")).ok);
        second.join();
        QVERIFY(bWaits);
        QCOMPARE(bState, QStringLiteral("LG033"));
        b.run(QStringLiteral("ROLLBACK"));

        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT count(*) FROM ledger.reversal_request_status "
                                    "WHERE transaction_id IN ($1, $2) AND state = 'pending'"),
                     {QString::number(tx), QString::number(tx2)}),
                 QStringLiteral("2")); // one each
        // And the constraint holds for the owner too: a second pending row cannot be written.
        QCOMPARE(m_admin
                     ->exec(QStringLiteral(
                                "SET LOCAL ROLE ledger_owner; INSERT INTO ledger.reversal_requests "
                                "(transaction_id, reason_code, note, requested_by, requested_role, "
                                "attempt) "
                                "VALUES (%1, 'OTHER', 'x', 'x', 'x', 1)")
                                .arg(tx))
                     .sqlState,
                 QStringLiteral("23505"));
    }

    // The attack: a note that prints a fake "approved by ..." line in a terminal.
    void notesRefuseControlCharacters_data()
    {
        QTest::addColumn<QString>("note");
        QTest::addColumn<QString>("expected");
        QTest::newRow("newline and a fake line")
            << QStringLiteral("ok\n2026-12-01 10:00 reversal.approved by alice")
            << QStringLiteral("LG030");
        QTest::newRow("carriage return")
            << QStringLiteral("keyed wrong\rapproved") << QStringLiteral("LG030");
        QTest::newRow("ANSI escape")
            << QStringLiteral("x\x1b[2K\x1b[1Aapproved") << QStringLiteral("LG030");
        QTest::newRow("tab") << QStringLiteral("a\tb") << QStringLiteral("LG030");
        QTest::newRow("bell") << QStringLiteral("a\x07") << QStringLiteral("LG030");
        QTest::newRow("C1 control")
            << QStringLiteral("a") + QChar(0x9b) + QStringLiteral("31m") << QStringLiteral("LG030");
        QTest::newRow("right-to-left override")
            << QStringLiteral("fee ") + QChar(0x202e) + QStringLiteral("001")
            << QStringLiteral("LG030");
        QTest::newRow("zero-width space")
            << QStringLiteral("a") + QChar(0x200b) + QStringLiteral("b") << QStringLiteral("LG030");
        QTest::newRow("plain text in any language")
            << QStringLiteral("Kunde sagt: \"nein\" — 5 € zurück; 顧客の申し立て")
            << QStringLiteral("ok");
    }

    void notesRefuseControlCharacters()
    {
        QFETCH(QString, note);
        QFETCH(QString, expected);
        const qint64 tx = post(QStringLiteral("2.00"));
        qint64 request = 0;
        QCOMPARE(sqlStateOf([&] {
                     request = ReversalRepository::request(*m_operator, tx, QStringLiteral("OTHER"),
                                                           note);
                 }),
                 expected);
        if (!request)
            request = ReversalRepository::request(*m_operator, tx, QStringLiteral("OTHER"),
                                                  QStringLiteral("plain"));
        // Decision notes too: an approval's, and a rejection's.
        if (expected != QLatin1String("ok")) {
            QCOMPARE(sqlStateOf([&] {
                         ReversalRepository::approve(
                             *m_supervisor, request,
                             ReversalRepository::preview(*m_supervisor, request).digest, note);
                     }),
                     expected);
        }
        QCOMPARE(sqlStateOf([&] { ReversalRepository::reject(*m_supervisor, request, note); }),
                 expected);
    }
};

QTEST_GUILESS_MAIN(TestFourEyes)
#include "tst_foureyes.moc"
