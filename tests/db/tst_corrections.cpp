// Step 7, corrections as a workflow, against a real server with real session roles:
//  - client keys: a double submission, a retry after the connection was cut between the
//    commit and the reply, and the same decision twice give one request and one decision;
//  - the draft preview: balances before and after, refused where a no-negative account
//    would go below zero, audited, nothing else written;
//  - withdraw (requester only), expiry (recorded once, audited; an expired request cannot
//    be approved), the inbox's filters and own-request flag;
//  - a bulk approval of 50 requests of which 3 must fail, each decision its own transaction.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/ReversalRepository.h"

#include <QTest>

#include <atomic>
#include <barrier>
#include <thread>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

class TestCorrections : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_writer, m_olivia, m_oscar, m_sam, m_sue;
    int m_key = 0;

    // CARD +amount / CUST -amount (a card payment to a customer account).
    qint64 post(const QString &amount, const QString &customer = QStringLiteral("CUST"))
    {
        return LedgerRepository::
            post(*m_writer,
                 QStringLiteral(
                     R"({"idempotency_key": "co-%1", "effective_at": "2026-11-01T09:00:00Z", "description": "card payment %1",
            "legs": [{"account": "CARD", "amount": "%2", "currency": "EUR"}, {"account": "%3", "amount": "-%2", "currency": "EUR"}]})")
                     .arg(++m_key)
                     .arg(amount, customer)
                     .toUtf8())
                .transactionId;
    }

    QString count(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
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
        for (const char *sql :
             {"SELECT ledger.open_account('CARD', 'Card settlement', 'EUR', 'asset')",
              "SELECT ledger.open_account('CUST', 'Customer', 'EUR', 'liability')",
              "SELECT ledger.open_account('SAVER', 'Saver', 'EUR', 'liability', false)",
              "SELECT ledger.open_account('SHOP', 'Shop', 'EUR', 'asset')"}) {
            const auto r = m_admin->exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        m_writer = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_olivia = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
        m_oscar = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("oscar")));
        m_sam = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam")));
        m_sue = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sue")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void theSameKeyGivesTheSameRequest()
    {
        const qint64 tx = post(QStringLiteral("10.00"));
        const qint64 first =
            ReversalRepository::request(*m_olivia, draft(tx, QStringLiteral("k-1")));
        // A double click, and a second window, send the same key.
        QCOMPARE(ReversalRepository::request(*m_olivia, draft(tx, QStringLiteral("k-1"))), first);
        Connection otherWindow(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
        QCOMPARE(ReversalRepository::request(otherWindow, draft(tx, QStringLiteral("k-1"))), first);
        // Another operator's key is hers: the same text from oscar is a new request, which the
        // pending one refuses.
        QCOMPARE(errorOf([&] {
                     ReversalRepository::request(*m_oscar, draft(tx, QStringLiteral("k-1")));
                 }).sqlState,
                 QStringLiteral("LG033"));
        // The key used for something else is refused, not silently mapped.
        const qint64 tx2 = post(QStringLiteral("11.00"));
        const Error reused = errorOf(
            [&] { ReversalRepository::request(*m_olivia, draft(tx2, QStringLiteral("k-1"))); });
        QCOMPARE(reused.sqlState, QStringLiteral("LG053"));
        QVERIFY2(reused.message.contains(QString::number(first)), qPrintable(reused.message));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests WHERE "
                                      "transaction_id IN ($1, $2)"),
                       {QString::number(tx), QString::number(tx2)}),
                 QStringLiteral("1"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'reversal.requested' AND object_id = $1"),
                       {QString::number(first)}),
                 QStringLiteral("1"));
    }

    void twoWindowsAtOnceMakeOneRequest()
    {
        const qint64 tx = post(QStringLiteral("12.00"));
        std::barrier start(2);
        qint64 ids[2] = {0, 0};
        QString errors[2];
        auto submit = [&](int i) {
            Connection c(m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
            start.arrive_and_wait();
            try {
                ids[i] = ReversalRepository::request(c, draft(tx, QStringLiteral("k-race")));
            } catch (const DbException &e) {
                errors[i] = e.error().describe();
            }
        };
        std::thread a(submit, 0), b(submit, 1);
        a.join();
        b.join();
        QVERIFY2(errors[0].isEmpty() && errors[1].isEmpty(), qPrintable(errors[0] + errors[1]));
        QCOMPARE(ids[0], ids[1]);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests WHERE "
                                      "transaction_id = $1"),
                       {QString::number(tx)}),
                 QStringLiteral("1"));
    }

    // The same action from two windows, each with its own key: the second caller gets the
    // first one's result (a request, a decision), not a refusal; anything else that differs
    // is refused as before.
    void theSameActionFromTwoWindowsGivesTheFirstResult()
    {
        const qint64 tx = post(QStringLiteral("16.00"));
        Connection window1(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
        Connection window2(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
        const qint64 request =
            ReversalRepository::request(window1, draft(tx, QStringLiteral("w1")));
        QCOMPARE(ReversalRepository::request(window2, draft(tx, QStringLiteral("w2"))), request);
        QCOMPARE(ReversalRepository::request(window2, draft(tx)), request); // no key at all
        ReversalDraft other = draft(tx, QStringLiteral("w3"));
        other.note = QStringLiteral("a different reason in the note");
        QCOMPARE(errorOf([&] { ReversalRepository::request(window2, other); }).sqlState,
                 QStringLiteral("LG033"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests WHERE "
                                      "transaction_id = $1"),
                       {QString::number(tx)}),
                 QStringLiteral("1"));

        Connection sam1(m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam")));
        Connection sam2(m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam")));
        const QString digest = ReversalRepository::preview(sam1, request).digest;
        const ReversalDecision first =
            ReversalRepository::approve(sam1, request, digest, {}, QStringLiteral("a1"));
        QVERIFY(!first.replayed);
        const ReversalDecision second =
            ReversalRepository::approve(sam2, request, digest, {}, QStringLiteral("a2"));
        QVERIFY(second.replayed);
        QCOMPARE(second.reversalTransactionId, first.reversalTransactionId);
        // The same person deciding otherwise, or someone else, is told it is decided.
        QCOMPARE(errorOf([&] {
                     ReversalRepository::reject(sam2, request, QStringLiteral("no"),
                                                QStringLiteral("a3"));
                 }).sqlState,
                 QStringLiteral("LG035"));
        QCOMPARE(errorOf([&] { ReversalRepository::approve(*m_sue, request, digest); }).sqlState,
                 QStringLiteral("LG035"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'reversal.approved' AND object_id = $1"),
                       {QString::number(request)}),
                 QStringLiteral("1"));
    }

    // The connection is cut after the server committed and before the reply arrives: the
    // commit waits for a synchronous standby that does not exist, and the backend is
    // terminated there (the transaction is committed locally, the client sees a lost
    // connection). The retry with the same key finds the result: one request, one reversal.
    void aRetryAfterALostReplyFindsTheResult()
    {
        const qint64 tx = post(QStringLiteral("13.00"));
        const auto cutAtCommit = [&](const QString &dsn, auto call) {
            QVERIFY(m_admin
                        ->run(QStringLiteral("ALTER SYSTEM SET synchronous_standby_names = "
                                             "'nobody_listens'"))
                        .ok);
            QVERIFY(m_admin->exec(QStringLiteral("SELECT pg_reload_conf()")).ok);
            // The checkpointer applies the setting a moment later: a probe commits until its
            // commit waits for the standby, and from then on every commit does.
            std::atomic<bool> stopProbing{false};
            std::thread probe([&] {
                SqlSession s(m_db.adminDsn());
                s.run(QStringLiteral("SET application_name = 'syncrep-probe'"));
                s.run(QStringLiteral("SET synchronous_commit = on"));
                while (!stopProbing &&
                       s.run(QStringLiteral("BEGIN; SELECT pg_current_xact_id(); COMMIT")).ok) {
                }
            });
            const auto waiting = [&](const QString &app) {
                return count(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE "
                                            "application_name = $1 AND wait_event = 'SyncRep'"),
                             {app});
            };
            QTRY_COMPARE_WITH_TIMEOUT(waiting(QStringLiteral("syncrep-probe")), QStringLiteral("1"),
                                      20000);
            // A connection belongs to the thread that opened it. The test cluster runs with
            // synchronous_commit off; the console's default is on.
            const QString app = QStringLiteral("cut-%1").arg(++m_key);
            Error failure;
            std::thread caller([&] {
                failure = errorOf([&] {
                    Connection c(dsn, app);
                    test::execOn(c, QStringLiteral("SET synchronous_commit = on"));
                    call(c);
                });
            });
            QTRY_COMPARE_WITH_TIMEOUT(waiting(app), QStringLiteral("1"), 20000);
            stopProbing = true;
            QCOMPARE(count(QStringLiteral("SELECT count(pg_terminate_backend(pid)) FROM "
                                          "pg_stat_activity WHERE application_name IN ($1, "
                                          "'syncrep-probe')"),
                           {app}),
                     QStringLiteral("2"));
            caller.join();
            probe.join();
            QVERIFY(
                m_admin->run(QStringLiteral("ALTER SYSTEM RESET synchronous_standby_names")).ok);
            QVERIFY(m_admin->exec(QStringLiteral("SELECT pg_reload_conf()")).ok);
            QCOMPARE(failure.kind, Error::Kind::Connection);
        };
        const QString olivia =
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia"));
        cutAtCommit(olivia, [&](Connection &c) {
            ReversalRepository::request(c, draft(tx, QStringLiteral("k-cut")));
        });
        // The request was committed although its caller never heard so.
        const QString stored = count(
            QStringLiteral("SELECT id FROM ledger.reversal_requests WHERE transaction_id = $1"),
            {QString::number(tx)});
        QVERIFY(!stored.isEmpty());
        Connection again(olivia);
        QCOMPARE(ReversalRepository::request(again, draft(tx, QStringLiteral("k-cut"))),
                 stored.toLongLong());

        const QString sam =
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam"));
        Connection samNow(sam);
        const QString digest = ReversalRepository::preview(samNow, stored.toLongLong()).digest;
        cutAtCommit(sam, [&](Connection &c) {
            ReversalRepository::approve(c, stored.toLongLong(), digest, {},
                                        QStringLiteral("k-cut-approve"));
        });
        Connection samAgain(sam);
        const ReversalDecision d = ReversalRepository::approve(
            samAgain, stored.toLongLong(), digest, {}, QStringLiteral("k-cut-approve"));
        QVERIFY(d.replayed);
        QCOMPARE(d.decision, QStringLiteral("approved"));
        QCOMPARE(QString::number(d.reversalTransactionId),
                 count(QStringLiteral("SELECT id FROM ledger.transactions WHERE reverses = $1"),
                       {QString::number(tx)}));
        QCOMPARE(
            count(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE reverses = $1"),
                  {QString::number(tx)}),
            QStringLiteral("1"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'reversal.approved' AND object_id = $1"),
                       {stored}),
                 QStringLiteral("1"));
        // Someone else deciding it now is told who decided, not given the result.
        const Error late = errorOf([&] {
            ReversalRepository::reject(*m_sue, stored.toLongLong(), QStringLiteral("too late"),
                                       QStringLiteral("k-sue"));
        });
        QCOMPARE(late.sqlState, QStringLiteral("LG035"));
        QVERIFY2(late.message.contains(QLatin1String("already approved by sam")),
                 qPrintable(late.message));
    }

    void theDraftPreviewShowsBalancesAndRefusesAnOverdraft()
    {
        // SAVER may not go negative: 30.00 in, 25.00 spent; reversing the deposit would leave
        // it at -25.00 + ... below zero.
        const qint64 deposit = post(QStringLiteral("30.00"), QStringLiteral("SAVER"));
        LedgerRepository::post(
            *m_writer,
            R"({"idempotency_key": "co-spend", "effective_at": "2026-11-02T09:00:00Z", "description": "spend",
                "legs": [{"account": "SAVER", "amount": "25.00", "currency": "EUR"}, {"account": "SHOP", "amount": "-25.00", "currency": "EUR"}]})");
        const QString eventsBefore = count(QStringLiteral("SELECT count(*) FROM audit.events"));
        ReversalDraft d = draft(deposit);
        d.reasonCode = QStringLiteral("FRAUD");
        const ReversalPreview p = ReversalRepository::previewDraft(*m_olivia, d);
        QCOMPARE(p.requestId, 0);
        QCOMPARE(p.reversal.size(), 2);
        QCOMPARE(p.reversal.at(1).account, QStringLiteral("SAVER"));
        QCOMPARE(p.reversal.at(1).amount, QStringLiteral("30.00"));
        QVERIFY(p.refused);
        QCOMPARE(p.balances.size(), 2);
        const BalanceImpact saver = p.balances.at(1);
        QCOMPARE(saver.account, QStringLiteral("SAVER"));
        QCOMPARE(saver.before.toString(), QStringLiteral("5.00"));
        QCOMPARE(saver.after.toString(), QStringLiteral("-25.00"));
        QVERIFY(saver.noNegative && saver.goesNegative);
        QCOMPARE(p.warnings.size(), 1);
        QVERIFY2(p.warnings.first().contains(QLatin1String("SAVER (Saver) may not go below zero")),
                 qPrintable(p.warnings.first()));
        // Only its audit events were written: the read of the transaction, on record first
        // (0033), and the preview asked.
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events")).toInt(),
                 eventsBefore.toInt() + 2);
        QCOMPARE(
            count(QStringLiteral("SELECT action || ' ' || operator || ' ' || (details->>'refused') "
                                 "FROM audit.events ORDER BY id DESC LIMIT 1")),
            QStringLiteral("reversal.preview_asked olivia true"));
        // And the request is refused with the same reason; nothing is stored.
        const Error refused = errorOf([&] { ReversalRepository::request(*m_olivia, d); });
        QCOMPARE(refused.sqlState, QStringLiteral("LG056"));
        QVERIFY2(refused.message.contains(QLatin1String("SAVER")), qPrintable(refused.message));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests WHERE "
                                      "transaction_id = $1"),
                       {QString::number(deposit)}),
                 QStringLiteral("0"));
        // A bad draft fails like a request would.
        d.reasonCode = QStringLiteral("NO_SUCH_REASON");
        QCOMPARE(errorOf([&] { ReversalRepository::previewDraft(*m_olivia, d); }).sqlState,
                 QStringLiteral("LG030"));
    }

    void onlyTheRequesterWithdraws()
    {
        const qint64 tx = post(QStringLiteral("14.00"));
        const qint64 request = ReversalRepository::request(*m_olivia, draft(tx));
        QCOMPARE(errorOf([&] {
                     ReversalRepository::withdraw(*m_oscar, request, {}, QStringLiteral("w-o"));
                 }).sqlState,
                 QStringLiteral("LG054"));
        QCOMPARE(errorOf([&] {
                     ReversalRepository::withdraw(*m_sam, request, {}, QStringLiteral("w-s"));
                 }).sqlState,
                 QStringLiteral("LG054"));
        const ReversalDecision w = ReversalRepository::withdraw(
            *m_olivia, request, QStringLiteral("found the real cause"), QStringLiteral("w-1"));
        QCOMPARE(w.decision, QStringLiteral("withdrawn"));
        QVERIFY(!w.replayed);
        QVERIFY(ReversalRepository::withdraw(*m_olivia, request,
                                             QStringLiteral("found the real cause"),
                                             QStringLiteral("w-1"))
                    .replayed);
        const auto digest = ReversalRepository::preview(*m_sam, request).digest;
        const Error approve =
            errorOf([&] { ReversalRepository::approve(*m_sam, request, digest); });
        QCOMPARE(approve.sqlState, QStringLiteral("LG035"));
        QVERIFY2(approve.message.contains(QLatin1String("already withdrawn by olivia")),
                 qPrintable(approve.message));
        QCOMPARE(ReversalRepository::list(*m_olivia, QStringLiteral("withdrawn")).first().id,
                 request);
        // The transaction may be requested again.
        QVERIFY(ReversalRepository::request(*m_olivia, draft(tx)) > request);
    }

    void anExpiredRequestCannotBeApproved()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings "
                                          "SET reversal_request_ttl = '1 millisecond'"))
                    .ok);
        const qint64 tx = post(QStringLiteral("15.00"));
        const qint64 request = ReversalRepository::request(*m_olivia, draft(tx));
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings "
                                          "SET reversal_request_ttl = '7 days'"))
                    .ok);
        QTRY_COMPARE(count(QStringLiteral("SELECT state FROM ledger.reversal_request_status "
                                          "WHERE id = $1"),
                           {QString::number(request)}),
                     QStringLiteral("expired"));
        const QString digest = ReversalRepository::preview(*m_sam, request).digest;
        QCOMPARE(errorOf([&] { ReversalRepository::approve(*m_sam, request, digest); }).sqlState,
                 QStringLiteral("LG055"));
        // Not in the inbox; in "my requests" as expired.
        for (const auto &row : ReversalRepository::inbox(*m_sam, {}, 0, 1000).rows)
            QVERIFY(row.id != request);
        ReversalInboxQuery mine;
        mine.states = {};
        mine.mineOnly = true;
        const auto olivias = ReversalRepository::inbox(*m_olivia, mine, 0, 1000);
        const auto it = std::find_if(olivias.rows.cbegin(), olivias.rows.cend(),
                                     [&](const ReversalRequestRow &r) { return r.id == request; });
        QVERIFY(it != olivias.rows.cend());
        QCOMPARE(it->state, QStringLiteral("expired"));
        // The job records it once, with an audit event; operators may not run it.
        QCOMPARE(errorOf([&] { ReversalRepository::expire(*m_olivia); }).kind,
                 Error::Kind::Permission);
        const auto expired = ReversalRepository::expire(*m_sam);
        QVERIFY(std::any_of(expired.cbegin(), expired.cend(),
                            [&](const ReversalDecision &d) { return d.requestId == request; }));
        QVERIFY(ReversalRepository::expire(*m_sam).isEmpty());
        QCOMPARE(count(QStringLiteral("SELECT decision || ' ' || decided_by FROM "
                                      "ledger.reversal_decisions WHERE request_id = $1"),
                       {QString::number(request)}),
                 QStringLiteral("expired sam"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'reversal.expired' AND object_id = $1"),
                       {QString::number(request)}),
                 QStringLiteral("1"));
        QCOMPARE(errorOf([&] { ReversalRepository::approve(*m_sam, request, digest); }).sqlState,
                 QStringLiteral("LG055"));
    }

    void theInboxFiltersAndFlagsOwnRequests()
    {
        const qint64 a = post(QStringLiteral("100.00"));
        const qint64 b = post(QStringLiteral("200.00"));
        const qint64 ra = ReversalRepository::request(*m_sam, draft(a)); // a supervisor's own
        ReversalDraft other = draft(b);
        other.reasonCode = QStringLiteral("CUSTOMER_DISPUTE");
        const qint64 rb = ReversalRepository::request(*m_oscar, other);
        ReversalInboxQuery q;
        q.minAmount = QStringLiteral("100.00");
        q.maxAmount = QStringLiteral("200.00");
        q.sort = ReversalInboxQuery::Sort::Amount;
        q.descending = true;
        const ReversalInboxPage page = ReversalRepository::inbox(*m_sam, q, 0, 10);
        QCOMPARE(page.total, 2);
        QCOMPARE(page.rows.size(), 2);
        QCOMPARE(page.rows.at(0).id, rb);
        QCOMPARE(page.rows.at(0).amount, QStringLiteral("200.00"));
        QCOMPARE(page.rows.at(0).currency, QStringLiteral("EUR"));
        QCOMPARE(page.rows.at(0).accounts, QStringLiteral("CARD, CUST"));
        QVERIFY(!page.rows.at(0).ownRequest);
        QCOMPARE(page.rows.at(1).id, ra);
        QVERIFY(page.rows.at(1).ownRequest);
        q.reasonCode = QStringLiteral("CUSTOMER_DISPUTE");
        QCOMPARE(ReversalRepository::inboxIds(*m_sam, q, 10), QList<qint64>{rb});
        q.reasonCode.clear();
        q.requestedBy = QStringLiteral("sam");
        QCOMPARE(ReversalRepository::inboxIds(*m_sam, q, 10), QList<qint64>{ra});
        q.requestedBy.clear();
        q.minAgeSeconds = 3600; // both are seconds old
        QCOMPARE(ReversalRepository::inbox(*m_sam, q, 0, 10).total, 0);
        // A hostile sort or page is refused, not interpolated.
        QCOMPARE(errorOf([&] {
                     ReversalInboxQuery bad;
                     bad.states = {QStringLiteral("pending'); DROP TABLE x; --")};
                     ReversalRepository::inbox(*m_sam, bad, 0, 10);
                 }).sqlState,
                 QStringLiteral("22023"));
        QCOMPARE(errorOf([&] { ReversalRepository::inbox(*m_sam, {}, 0, 100000); }).sqlState,
                 QStringLiteral("22023"));
        // The own request: the database refuses it whatever the console shows.
        const QString digest = ReversalRepository::preview(*m_sam, ra).digest;
        QCOMPARE(errorOf([&] { ReversalRepository::approve(*m_sam, ra, digest); }).sqlState,
                 QStringLiteral("LG036"));
        ReversalRepository::reject(*m_sue, ra, QStringLiteral("not needed"));
        ReversalRepository::reject(*m_sue, rb, QStringLiteral("not needed"));
    }

    void aBulkApprovalDecidesEachItemOnItsOwn()
    {
        QList<qint64> requests;
        QList<qint64> transactions;
        for (int i = 0; i < 50; ++i) {
            const qint64 tx = post(QStringLiteral("1.%1").arg(i, 2, 10, QLatin1Char('0')));
            transactions << tx;
            // Request 10 is sam's own; the others are olivia's.
            requests << ReversalRepository::request(i == 10 ? *m_sam : *m_olivia, draft(tx));
        }
        // Request 20 is approved by sue just before (already reversed); request 30 is
        // withdrawn by olivia.
        ReversalRepository::approve(*m_sue, requests[20],
                                    ReversalRepository::preview(*m_sue, requests[20]).digest);
        ReversalRepository::withdraw(*m_olivia, requests[30], {});
        int progressCalls = 0;
        const auto outcome = ReversalRepository::decideMany(
            *m_sam, requests, true, QStringLiteral("bulk"), QStringLiteral("bulk-1"),
            [&](int done) { progressCalls = done; });
        QCOMPARE(progressCalls, 50);
        QCOMPARE(outcome.size(), 50);
        QStringList refused;
        int decided = 0;
        for (const auto &o : outcome) {
            if (o.decided)
                ++decided;
            else
                refused << QStringLiteral("%1:%2")
                               .arg(requests.indexOf(o.requestId))
                               .arg(o.error.sqlState);
        }
        QCOMPARE(decided, 47);
        QCOMPARE(refused.join(u' '), QStringLiteral("10:LG036 20:LG035 30:LG035"));
        QVERIFY2(outcome[20].error.message.contains(QLatin1String("already approved by sue")),
                 qPrintable(outcome[20].error.message));
        QVERIFY2(outcome[30].error.message.contains(QLatin1String("already withdrawn by olivia")),
                 qPrintable(outcome[30].error.message));
        QStringList txIds;
        for (const qint64 t : transactions)
            txIds << QString::number(t);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE reverses = "
                                      "ANY (string_to_array($1, ',')::bigint[])"),
                       {txIds.join(u',')}),
                 QStringLiteral("48")); // 47 now, 1 by sue before
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'reversal.approved' AND operator = 'sam' AND "
                                      "details->>'client_key' LIKE 'bulk-1:%'")),
                 QStringLiteral("47"));
        QCOMPARE(count(QStringLiteral("SELECT details->>'decided' || '/' || (details->>'refused') "
                                      "FROM audit.events WHERE action = 'reversal.bulk_decided' "
                                      "AND object_id = 'bulk-1'")),
                 QStringLiteral("47/3"));
        // The same batch again (a retry) decides nothing twice: every item replays or is refused.
        const auto again = ReversalRepository::decideMany(
            *m_sam, requests, true, QStringLiteral("bulk"), QStringLiteral("bulk-1"));
        QCOMPARE(std::count_if(
                     again.cbegin(), again.cend(),
                     [](const BulkDecisionOutcome &o) { return o.decided && o.decision.replayed; }),
                 47);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE reverses = "
                                      "ANY (string_to_array($1, ',')::bigint[])"),
                       {txIds.join(u',')}),
                 QStringLiteral("48"));
        ReversalRepository::reject(*m_sue, requests[10], QStringLiteral("tidy up"));
    }

    void theChainStillVerifies()
    {
        QVERIFY(m_admin->exec(QStringLiteral("SELECT audit.seal()")).ok);
        QCOMPARE(
            count(QStringLiteral("SELECT coalesce(broken_at::text, 'intact') || ' ' || unsealed "
                                 "FROM audit.verify_chain()")),
            QStringLiteral("intact 0"));
    }
};

QTEST_GUILESS_MAIN(TestCorrections)
#include "tst_corrections.moc"
