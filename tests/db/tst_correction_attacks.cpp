// Step 7, the corrections workflow (0026) attacked as each kind of login would, against a real
// server, and shown to fail:
//  - a client key replayed for another request: with another rebook (or none), and from a
//    concurrent call that loses the insert to the key's first request;
//  - a decision key replayed for another decision of the same request (another action, note
//    or preview), and one taken by a concurrent decision of another request (reported as
//    "decided by someone else" while the request was still pending);
//  - a draft preview and a request that pass the no-negative check on the net of reversal
//    and rebook, though approval posts the reversal first and fails on it;
//  - bulk decision events naming requests that do not exist, or 100000 of them; a bulk run
//    whose batch key the event refuses after every item was decided;
//  - one request locked by a decision in progress failing the whole expiry run;
//  - four eyes across two sessions of one operator (held; kept as a guard);
//  - `ledgerctl reversal preview --json` refused without the failure shape of --json.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "Ledgerctl.h"
#include "ServerLogWatcher.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/ReversalRepository.h"

#include <QJsonObject>
#include <QTest>

#include <thread>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

class TestCorrectionAttacks : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_writer, m_olivia, m_oscar, m_sam, m_sue;
    int m_key = 0;

    QString olivia()
    {
        return m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia"));
    }
    QString sam()
    {
        return m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam"));
    }

    // CARD +amount / `other` -amount at 2026-11-01 09:00 UTC.
    qint64 post(const QString &amount, const QString &other = QStringLiteral("CUST"))
    {
        return LedgerRepository::
            post(*m_writer,
                 QStringLiteral(
                     R"({"idempotency_key": "ca-%1", "effective_at": "2026-11-01T09:00:00Z", "description": "card payment %1",
            "legs": [{"account": "CARD", "amount": "%2", "currency": "EUR"}, {"account": "%3", "amount": "-%2", "currency": "EUR"}]})")
                     .arg(++m_key)
                     .arg(amount, other)
                     .toUtf8())
                .transactionId;
    }

    // `other` -amount / SHOP +amount a day later (money leaving `other`).
    void spend(const QString &amount, const QString &other)
    {
        LedgerRepository::post(
            *m_writer,
            QStringLiteral(
                R"({"idempotency_key": "ca-%1", "effective_at": "2026-11-02T09:00:00Z", "description": "spend",
            "legs": [{"account": "%3", "amount": "%2", "currency": "EUR"}, {"account": "SHOP", "amount": "-%2", "currency": "EUR"}]})")
                .arg(++m_key)
                .arg(amount, other)
                .toUtf8());
    }

    // A rebook of a post() transaction with the amount changed (WRONG_AMOUNT) or the date.
    static QByteArray rebook(const QString &amount, const QString &other = QStringLiteral("CUST"),
                             const QString &effective = QStringLiteral("2026-11-01T09:00:00Z"))
    {
        return QStringLiteral(
                   R"({"effective_at": "%3", "description": "corrected",
            "legs": [{"account": "CARD", "amount": "%1", "currency": "EUR"}, {"account": "%2", "amount": "-%1", "currency": "EUR"}]})")
            .arg(amount, other, effective)
            .toUtf8();
    }

    QString scalar(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

    // Waits until the backend of application `app` waits for a lock.
    // A backend of `app` has asked for a lock it has not been granted (its request stays in
    // pg_locks for the whole wait; wait_event is empty while it logs the wait).
    bool waitsForALock(const QString &app)
    {
        return scalar(QStringLiteral("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                                     "ON a.pid = l.pid WHERE a.application_name = $1 AND NOT "
                                     "l.granted"),
                      {app}) == QLatin1String("1");
    }

    // Until a backend of `app` waits for a lock: its login logs the wait as it begins
    // (logLockWaitsOf, before it connected), and the log's writes wake this up to look.
    bool waitForLockWait(const QString &app)
    {
        test::ServerLogWatcher log(m_db.dataDir());
        return log.waitUntil([&] { return waitsForALock(app); });
    }

    ReversalDraft draft(qint64 tx, const QString &key = {})
    {
        ReversalDraft d;
        d.transactionId = tx;
        d.reasonCode = QStringLiteral("DUPLICATE");
        d.note = QStringLiteral("posted twice");
        d.clientKey = key;
        return d;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        // The concurrency cases wait for a second window's backend to wait for a lock.
        olivia();
        sam();
        for (const char *role : {"olivia", "sam"})
            QVERIFY(test::logLockWaitsOf(*m_admin, QString::fromLatin1(role)));
        for (const char *sql :
             {"SELECT ledger.open_account('CARD', 'Card settlement', 'EUR', 'asset')",
              "SELECT ledger.open_account('CUST', 'Customer', 'EUR', 'liability')",
              "SELECT ledger.open_account('SAVER', 'Saver', 'EUR', 'liability', false)",
              "SELECT ledger.open_account('SAVER2', 'Second saver', 'EUR', 'liability', false)",
              "SELECT ledger.open_account('SAVER3', 'Third saver', 'EUR', 'liability', false)",
              "SELECT ledger.open_account('SHOP', 'Shop', 'EUR', 'asset')"}) {
            const auto r = m_admin->exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        m_writer = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_olivia = std::make_unique<Connection>(olivia());
        m_oscar = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("oscar")));
        m_sam = std::make_unique<Connection>(sam());
        m_sue = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sue")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // Before: the key's request was found by transaction, reason and note only; the same key
    // with another rebook (or none) returned the first request as if this one were made.
    void aRequestKeyNamesItsRebookToo()
    {
        const qint64 tx = post(QStringLiteral("40.00"));
        const auto request = [&](const QByteArray &rebookJson) {
            return ReversalRepository::request(*m_olivia, tx, QStringLiteral("WRONG_AMOUNT"),
                                               QStringLiteral("the amount was 41"), rebookJson,
                                               QStringLiteral("k-rebook"));
        };
        const qint64 first = request(rebook(QStringLiteral("41.00")));
        // The same rebook written another way is the same request.
        QCOMPARE(request(rebook(QStringLiteral("41"))), first);
        const Error other = errorOf([&] { request(rebook(QStringLiteral("39.00"))); });
        QCOMPARE(other.sqlState, QStringLiteral("LG053"));
        QVERIFY2(other.message.contains(QString::number(first)), qPrintable(other.message));
        QCOMPARE(errorOf([&] { request({}); }).sqlState, QStringLiteral("LG053"));
        QCOMPARE(scalar(QStringLiteral("SELECT rebook->'legs'->0->>'amount' FROM "
                                       "ledger.reversal_requests WHERE transaction_id = $1"),
                        {QString::number(tx)}),
                 QStringLiteral("41.00"));
        ReversalRepository::withdraw(*m_olivia, first, {});
    }

    // Before: a call that lost the insert to a concurrent call with its key was given that
    // call's request (another transaction, another reason) as its own.
    void aConcurrentCallWithTheKeyGetsNoOtherRequest()
    {
        const qint64 a = post(QStringLiteral("41.00"));
        const qint64 b = post(QStringLiteral("42.00"));
        SqlSession first(olivia());
        QVERIFY(first.run(QStringLiteral("BEGIN")).ok);
        const auto made = first.run(
            QStringLiteral("SELECT ledger.request_reversal(%1, 'DUPLICATE', 'posted twice', NULL, "
                           "'k-concurrent')")
                .arg(a));
        QVERIFY2(made.ok, qPrintable(made.message));
        const QString app = QStringLiteral("second-window");
        Error second;
        std::thread other([&] {
            second = errorOf([&] {
                Connection c(olivia(), app);
                ReversalRepository::request(c, b, QStringLiteral("FRAUD"),
                                            QStringLiteral("not the customer"), {},
                                            QStringLiteral("k-concurrent"));
            });
        });
        // It waits on the key's first insert, which then commits.
        const bool waited = waitForLockWait(app);
        QVERIFY(first.run(QStringLiteral("COMMIT")).ok);
        other.join();
        QVERIFY(waited);
        QCOMPARE(second.sqlState, QStringLiteral("LG053"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests WHERE "
                                       "transaction_id = $1"),
                        {QString::number(b)}),
                 QStringLiteral("0"));
        ReversalRepository::withdraw(*m_olivia, made.rows.value(0).value(0).toLongLong(), {});
    }

    // Before: the key's decision was replayed for any note or preview, and another action
    // under it was "already decided" (LG035) rather than a key used for something else.
    void aDecisionKeyNamesOneDecision()
    {
        const qint64 r =
            ReversalRepository::request(*m_olivia, draft(post(QStringLiteral("43.00"))));
        const QString digest = ReversalRepository::preview(*m_sam, r).digest;
        const ReversalDecision d = ReversalRepository::approve(
            *m_sam, r, digest, QStringLiteral("checked"), QStringLiteral("d-one"));
        QVERIFY(!d.replayed);
        QVERIFY(ReversalRepository::approve(*m_sam, r, digest, QStringLiteral("checked"),
                                            QStringLiteral("d-one"))
                    .replayed);
        QCOMPARE(errorOf([&] {
                     ReversalRepository::approve(*m_sam, r, digest, QStringLiteral("other note"),
                                                 QStringLiteral("d-one"));
                 }).sqlState,
                 QStringLiteral("LG053"));
        QCOMPARE(errorOf([&] {
                     ReversalRepository::approve(*m_sam, r, QStringLiteral("0123"),
                                                 QStringLiteral("checked"),
                                                 QStringLiteral("d-one"));
                 }).sqlState,
                 QStringLiteral("LG053"));
        QCOMPARE(errorOf([&] {
                     ReversalRepository::reject(*m_sam, r, QStringLiteral("checked"),
                                                QStringLiteral("d-one"));
                 }).sqlState,
                 QStringLiteral("LG053"));
        // A withdrawal's key replayed as an approval of another request (a login that both
        // requests and approves).
        const QString vera =
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("vera"));
        Connection veraNow(vera);
        const qint64 own =
            ReversalRepository::request(veraNow, draft(post(QStringLiteral("44.00"))));
        ReversalRepository::withdraw(veraNow, own, {}, QStringLiteral("w-vera"));
        const qint64 olivias =
            ReversalRepository::request(*m_olivia, draft(post(QStringLiteral("45.00"))));
        QCOMPARE(errorOf([&] {
                     ReversalRepository::approve(
                         veraNow, olivias, ReversalRepository::preview(veraNow, olivias).digest, {},
                         QStringLiteral("w-vera"));
                 }).sqlState,
                 QStringLiteral("LG053"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.reversal_decisions WHERE "
                                       "request_id = $1"),
                        {QString::number(olivias)}),
                 QStringLiteral("0"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                       "'reversal.approved' AND object_id = $1"),
                        {QString::number(r)}),
                 QStringLiteral("1"));
        ReversalRepository::reject(*m_sue, olivias, QStringLiteral("tidy up"));
    }

    // Before: a decision that lost its key to a concurrent decision of another request was
    // told that its (still pending) request "was decided by someone else" (LG035).
    void aConcurrentDecisionUnderTheKeyIsNotSomeoneElses()
    {
        const qint64 r1 =
            ReversalRepository::request(*m_olivia, draft(post(QStringLiteral("46.00"))));
        const qint64 r2 =
            ReversalRepository::request(*m_olivia, draft(post(QStringLiteral("47.00"))));
        SqlSession first(sam());
        QVERIFY(first.run(QStringLiteral("BEGIN")).ok);
        const auto approved = first.run(
            QStringLiteral("SELECT decision FROM ledger.decide_reversal_request(%1, 'approve', "
                           "NULL, ledger.reversal_digest(%1), 'd-same')")
                .arg(r1));
        QVERIFY2(approved.ok, qPrintable(approved.message));
        const QString app = QStringLiteral("second-decision");
        Error second;
        std::thread other([&] {
            second = errorOf([&] {
                Connection c(sam(), app);
                ReversalRepository::reject(c, r2, QStringLiteral("not needed"),
                                           QStringLiteral("d-same"));
            });
        });
        const bool waited = waitForLockWait(app);
        QVERIFY(first.run(QStringLiteral("COMMIT")).ok);
        other.join();
        QVERIFY(waited);
        QCOMPARE(second.sqlState, QStringLiteral("LG053"));
        QCOMPARE(scalar(QStringLiteral("SELECT state FROM ledger.reversal_request_status WHERE "
                                       "id = $1"),
                        {QString::number(r2)}),
                 QStringLiteral("pending"));
        ReversalRepository::reject(*m_sue, r2, QStringLiteral("tidy up"));
    }

    // Before: the draft and the request checked the no-negative rule on the net of reversal
    // and rebook; approval posts the reversal first, which the posting refuses (LG020): a
    // request shown as fine that no supervisor could approve.
    void theReversalIsCheckedBeforeTheRebook()
    {
        // SAVER: 30.00 in, 25.00 spent. Correcting the deposit to 29.00 nets -1.00 (4.00
        // left), but its reversal alone leaves -25.00.
        const qint64 deposit = post(QStringLiteral("30.00"), QStringLiteral("SAVER"));
        spend(QStringLiteral("25.00"), QStringLiteral("SAVER"));
        const QByteArray to29 = rebook(QStringLiteral("29.00"), QStringLiteral("SAVER"));
        const ReversalPreview p = ReversalRepository::previewDraft(
            *m_olivia, deposit, QStringLiteral("WRONG_AMOUNT"), to29);
        QVERIFY(p.refused);
        const auto saver =
            std::find_if(p.balances.cbegin(), p.balances.cend(),
                         [](const BalanceImpact &b) { return b.account == u"SAVER"; });
        QVERIFY(saver != p.balances.cend());
        QCOMPARE(saver->before.toString(), QStringLiteral("5.00"));
        QCOMPARE(saver->afterReversal.toString(), QStringLiteral("-25.00"));
        QCOMPARE(saver->after.toString(), QStringLiteral("4.00"));
        QVERIFY(saver->goesNegative);
        QCOMPARE(p.warnings.size(), 1);
        QVERIFY2(p.warnings.first().contains(QLatin1String("posted before the rebook")),
                 qPrintable(p.warnings.first()));
        QCOMPARE(errorOf([&] {
                     ReversalRepository::request(*m_olivia, deposit, QStringLiteral("WRONG_AMOUNT"),
                                                 QStringLiteral("was 29"), to29);
                 }).sqlState,
                 QStringLiteral("LG056"));
        // Moving its date nets zero on every account, and fails the same way at approval.
        const QByteArray later = rebook(QStringLiteral("30.00"), QStringLiteral("SAVER"),
                                        QStringLiteral("2026-11-03T09:00:00Z"));
        const ReversalPreview moved = ReversalRepository::previewDraft(
            *m_olivia, deposit, QStringLiteral("WRONG_DATE"), later);
        QVERIFY(moved.refused);
        QVERIFY(moved.net.isEmpty());
        QCOMPARE(errorOf([&] {
                     ReversalRepository::request(*m_olivia, deposit, QStringLiteral("WRONG_DATE"),
                                                 QStringLiteral("booked too early"), later);
                 }).sqlState,
                 QStringLiteral("LG056"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests WHERE "
                                       "transaction_id = $1"),
                        {QString::number(deposit)}),
                 QStringLiteral("0"));

        // Where neither step overdraws, the same correction is requested and approved.
        const qint64 unspent = post(QStringLiteral("30.00"), QStringLiteral("SAVER2"));
        const QByteArray fine = rebook(QStringLiteral("29.00"), QStringLiteral("SAVER2"));
        QVERIFY(!ReversalRepository::previewDraft(*m_olivia, unspent,
                                                  QStringLiteral("WRONG_AMOUNT"), fine)
                     .refused);
        const qint64 r = ReversalRepository::request(
            *m_olivia, unspent, QStringLiteral("WRONG_AMOUNT"), QStringLiteral("was 29"), fine);
        const ReversalDecision d =
            ReversalRepository::approve(*m_sam, r, ReversalRepository::preview(*m_sam, r).digest);
        QVERIFY(d.reversalTransactionId > 0 && d.rebookTransactionId > 0);
    }

    // Before: any supervisor could record a "reversal.bulk_decided" event naming requests that
    // do not exist (or 100000 of them, a third of a megabyte of audit chain per call).
    void aBulkEventNamesRequestsThatExist()
    {
        SqlSession s(sam());
        const qint64 r =
            ReversalRepository::request(*m_olivia, draft(post(QStringLiteral("48.00"))));
        for (const QString &sql :
             {QStringLiteral("SELECT ledger.record_bulk_decision('approve', 'b-fake', "
                             "ARRAY[%1, 999999999, -5]::bigint[])")
                  .arg(r),
              QStringLiteral("SELECT ledger.record_bulk_decision('approve', 'b-fake', "
                             "ARRAY[%1, NULL]::bigint[])")
                  .arg(r),
              QStringLiteral("SELECT ledger.record_bulk_decision('approve', 'b-fake', "
                             "array_fill(%1::bigint, ARRAY[10001]))")
                  .arg(r),
              QStringLiteral("SELECT ledger.record_bulk_decision('approve', repeat('b', 81), "
                             "ARRAY[%1]::bigint[])")
                  .arg(r)}) {
            const auto outcome = s.exec(sql);
            QVERIFY2(!outcome.ok, qPrintable(sql));
            QCOMPARE(outcome.sqlState, QStringLiteral("22023"));
        }
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                       "'reversal.bulk_decided' AND operator = 'sam'")),
                 QStringLiteral("0"));
        // A real batch is recorded.
        const auto outcome = ReversalRepository::decideMany(
            *m_sam, {r}, false, QStringLiteral("not needed"), QStringLiteral("b-real"));
        QVERIFY(outcome.value(0).decided);
        QCOMPARE(scalar(QStringLiteral("SELECT details->>'decided_requests' FROM audit.events "
                                       "WHERE action = 'reversal.bulk_decided' AND object_id = "
                                       "'b-real'")),
                 QStringLiteral("[%1]").arg(r));
    }

    // Before: a batch key the run's event refuses (empty, too long for its items' keys) was
    // found out after every item had been decided, and the run ended in an error.
    void aBulkRunWithABadBatchKeyDecidesNothing()
    {
        const qint64 r =
            ReversalRepository::request(*m_olivia, draft(post(QStringLiteral("49.00"))));
        for (const QString &key : {QString(), QStringLiteral("has space"), QString(81, u'k')}) {
            const Error e =
                errorOf([&] { ReversalRepository::decideMany(*m_sam, {r}, true, {}, key); });
            QCOMPARE(e.kind, Error::Kind::Input);
        }
        QList<qint64> tooMany(ReversalRepository::kMaxBulkRequests + 1, r);
        QCOMPARE(errorOf([&] {
                     ReversalRepository::decideMany(*m_sam, tooMany, true, {},
                                                    QStringLiteral("b-many"));
                 }).kind,
                 Error::Kind::Input);
        QCOMPARE(scalar(QStringLiteral("SELECT state FROM ledger.reversal_request_status WHERE "
                                       "id = $1"),
                        {QString::number(r)}),
                 QStringLiteral("pending"));
        ReversalRepository::reject(*m_sue, r, QStringLiteral("tidy up"));
    }

    // Before: one expired request locked by a decision in progress made the whole run wait
    // out lock_timeout and fail (55P03), recording no expiry at all.
    void aBusyRequestDoesNotHoldUpExpiry()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings "
                                          "SET reversal_request_ttl = '1 millisecond'"))
                    .ok);
        const qint64 busy =
            ReversalRepository::request(*m_olivia, draft(post(QStringLiteral("50.00"))));
        const qint64 idle =
            ReversalRepository::request(*m_olivia, draft(post(QStringLiteral("51.00"))));
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings "
                                          "SET reversal_request_ttl = '7 days'"))
                    .ok);
        // They expire at their expires_at (1 ms after they were made; the state is derived
        // from the clock at each read): wait for that instant, then the server must agree.
        test::waitUntilPast(QDateTime::fromString(
            scalar(
                QStringLiteral("SELECT to_char(date_trunc('milliseconds', max(expires_at)) + "
                               "interval '1 millisecond', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
                               "FROM ledger.reversal_request_status WHERE id = ANY ($1::bigint[])"),
                {QStringLiteral("{%1,%2}").arg(busy).arg(idle)}),
            Qt::ISODateWithMs));
        QCOMPARE(scalar(QStringLiteral("SELECT string_agg(state, ',') FROM "
                                       "ledger.reversal_request_status WHERE id IN ($1, $2)"),
                        {QString::number(busy), QString::number(idle)}),
                 QStringLiteral("expired,expired"));
        SqlSession holder(m_db.adminDsn());
        QVERIFY(holder.run(QStringLiteral("BEGIN")).ok);
        QVERIFY(holder
                    .run(QStringLiteral("SELECT 1 FROM ledger.reversal_requests WHERE id = %1 FOR "
                                        "UPDATE")
                             .arg(busy))
                    .ok);
        QList<qint64> expired;
        const Error e = errorOf([&] {
            for (const auto &d : ReversalRepository::expire(*m_sam))
                expired << d.requestId;
        });
        QCOMPARE(e.message, QStringLiteral("(no error)"));
        QVERIFY(expired.contains(idle));
        QVERIFY(!expired.contains(busy));
        QVERIFY(holder.run(QStringLiteral("COMMIT")).ok);
        expired.clear();
        for (const auto &d : ReversalRepository::expire(*m_sam))
            expired << d.requestId;
        QCOMPARE(expired, QList<qint64>{busy});
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                       "'reversal.expired' AND object_id IN ($1, $2)"),
                        {QString::number(busy), QString::number(idle)}),
                 QStringLiteral("2"));
    }

    // Held: the four-eyes rule is the operator's, not the login's. A supervisor's second
    // session (another session role) may not approve what the first requested, alone or in
    // a bulk run.
    void fourEyesHoldAcrossSessionsOfOneOperator()
    {
        {
            Connection admin(m_db.adminDsn());
            AccessRepository::addOperator(admin, QStringLiteral("dana"),
                                          {QStringLiteral("console_supervisor")},
                                          QStringLiteral("dana-long-lived-secret"));
        }
        const auto session = [&] {
            Connection broker(withCredentials(m_db.adminDsn(),
                                              AccessRepository::brokerRole(QStringLiteral("dana")),
                                              QStringLiteral("dana-long-lived-secret")));
            const auto c = AccessRepository::issueSession(broker, std::nullopt, {});
            return withCredentials(m_db.adminDsn(), c.role, c.password);
        };
        Connection first(session());
        Connection second(session());
        const qint64 r = ReversalRepository::request(first, draft(post(QStringLiteral("52.00"))));
        QCOMPARE(scalar(QStringLiteral("SELECT requested_by FROM ledger.reversal_requests WHERE "
                                       "id = $1"),
                        {QString::number(r)}),
                 QStringLiteral("dana"));
        const QString digest = ReversalRepository::preview(second, r).digest;
        QCOMPARE(errorOf([&] { ReversalRepository::approve(second, r, digest); }).sqlState,
                 QStringLiteral("LG036"));
        const auto bulk =
            ReversalRepository::decideMany(second, {r}, true, {}, QStringLiteral("b-dana"));
        QCOMPARE(bulk.value(0).error.sqlState, QStringLiteral("LG036"));
        // And another operator's session may not withdraw it.
        QCOMPARE(errorOf([&] { ReversalRepository::withdraw(*m_oscar, r, {}); }).sqlState,
                 QStringLiteral("LG054"));
        ReversalRepository::withdraw(second, r, {}); // the requester, from either session
    }

    // Before: a refused draft printed {"ok": false, ...} with exit 1 but without the "error"
    // and "kind" every other failed --json command prints.
    void aRefusedPreviewFailsInTheJsonShape()
    {
        const qint64 deposit = post(QStringLiteral("20.00"), QStringLiteral("SAVER3"));
        spend(QStringLiteral("15.00"), QStringLiteral("SAVER3"));
        const auto run = test::runLedgerctl({QStringLiteral("reversal"), QStringLiteral("preview"),
                                             QStringLiteral("--transaction"),
                                             QString::number(deposit), QStringLiteral("--reason"),
                                             QStringLiteral("FRAUD"), QStringLiteral("--json")},
                                            olivia());
        QCOMPARE(run.exitCode, 1);
        const QJsonObject o = run.json();
        QCOMPARE(o.value(QStringLiteral("ok")).toBool(true), false);
        QCOMPARE(o.value(QStringLiteral("kind")).toString(), QStringLiteral("input"));
        QVERIFY2(o.value(QStringLiteral("error")).toString().contains(QLatin1String("SAVER3")),
                 qPrintable(run.describe()));
        QCOMPARE(o.value(QStringLiteral("refused")).toBool(), true);
    }

    void theChainStillVerifies()
    {
        QVERIFY(m_admin->exec(QStringLiteral("SELECT audit.seal()")).ok);
        QCOMPARE(scalar(QStringLiteral("SELECT coalesce(broken_at::text, 'intact') || ' ' || "
                                       "unsealed FROM audit.verify_chain()")),
                 QStringLiteral("intact 0"));
    }
};

QTEST_GUILESS_MAIN(TestCorrectionAttacks)
#include "tst_correction_attacks.moc"
