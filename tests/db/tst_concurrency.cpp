// Many clients at once against a real server: 16 posters on one hot account with the
// no-negative rule, 16 clients sending the same idempotency key, opposite-order postings
// (no deadlocks), two supervisors approving the same reversal request, and set-based
// batches (ledger.post_batch): overlapping batches, the same batch from many clients, and
// a batch committing a key while a single posting of it waits.

#include "LedgerInvariants.h"
#include "ServerLogWatcher.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/ReversalRepository.h"

#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTest>

#include <atomic>
#include <barrier>
#include <mutex>
#include <thread>

using namespace ledger;
using test::SqlOutcome;
using test::SqlSession;

namespace {

constexpr int kClients = 16;

QByteArray transfer(const QString &key, const QString &from, const QString &to,
                    const QString &amount)
{
    return QStringLiteral(
               R"({"idempotency_key": "%1", "effective_at": "2026-11-20T10:00:00Z", "description": "transfer",
        "legs": [{"account": "%2", "amount": "-%4", "currency": "EUR"}, {"account": "%3", "amount": "%4", "currency": "EUR"}]})")
        .arg(key, from, to, amount)
        .toUtf8();
}

// Runs body(i) on kClients threads released together; collects error messages.
template <class F> QStringList runTogether(F body)
{
    std::barrier start(kClients);
    std::mutex mutex;
    QStringList errors;
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            try {
                body(i, start);
            } catch (const std::exception &e) {
                std::lock_guard lock(mutex);
                errors << QString::fromUtf8(e.what());
            }
        });
    }
    for (auto &t : threads)
        t.join();
    return errors;
}

} // namespace

class TestConcurrency : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SELECT ledger.open_account('HOT', 'Hot customer "
                                          "account', 'EUR', 'liability', false)"))
                    .ok);
        QVERIFY(
            m_admin
                ->exec(QStringLiteral("SELECT ledger.open_account('CASH', 'Cash', 'EUR', 'asset')"))
                .ok);
        QVERIFY(
            m_admin
                ->exec(QStringLiteral("SELECT ledger.open_account(format('ACC-%s', i), 'Account', "
                                      "'EUR', 'asset') FROM generate_series(1, 8) i"))
                .ok);
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void hotAccountNeverGoesNegative()
    {
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        {
            Connection c(writer);
            // 100.00 in the hot account.
            LedgerRepository::post(c, transfer(QStringLiteral("hot-fund"), QStringLiteral("HOT"),
                                               QStringLiteral("CASH"), QStringLiteral("100.00")));
        }
        // 16 clients x 20 withdrawals of 1.00 = 320.00 asked for; exactly 100 must succeed.
        constexpr int kEach = 20;
        std::atomic<int> posted{0};
        std::atomic<int> refused{0};
        std::atomic<int> other{0};
        const QStringList errors = runTogether([&](int client, std::barrier<> &start) {
            Connection c(writer);
            start.arrive_and_wait();
            for (int i = 0; i < kEach; ++i) {
                try {
                    LedgerRepository::post(c,
                                           transfer(QStringLiteral("hot-%1-%2").arg(client).arg(i),
                                                    QStringLiteral("CASH"), QStringLiteral("HOT"),
                                                    QStringLiteral("1.00")));
                    ++posted;
                } catch (const DbException &e) {
                    if (e.error().sqlState == QLatin1String("LG020"))
                        ++refused;
                    else
                        ++other;
                }
            }
        });
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
        QCOMPARE(other.load(), 0); // no deadlock, no serialization failure, nothing else
        QCOMPARE(posted.load(), 100);
        QCOMPARE(refused.load(), kClients * kEach - 100);
        Connection c(writer);
        QCOMPARE(LedgerRepository::balance(c, QStringLiteral("HOT")).amount,
                 QStringLiteral("0.00"));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT last_seq FROM ledger.account_heads h JOIN ledger.accounts a ON a.id = "
                     "h.account_id WHERE a.code = 'HOT'")),
                 QStringLiteral("101"));
    }

    void sameKeyFromManyClientsPostsOnce()
    {
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        const QByteArray body = transfer(QStringLiteral("same-key"), QStringLiteral("ACC-1"),
                                         QStringLiteral("ACC-2"), QStringLiteral("7.00"));
        std::mutex mutex;
        QSet<qint64> ids;
        int created = 0;
        const QStringList errors = runTogether([&](int, std::barrier<> &start) {
            Connection c(writer);
            start.arrive_and_wait();
            const auto r = LedgerRepository::post(c, body);
            std::lock_guard lock(mutex);
            ids.insert(r.transactionId);
            created += r.created ? 1 : 0;
        });
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
        QCOMPARE(ids.size(), 1);
        QCOMPARE(created,
                 1); // decided under the key's lock: one writer wrote it, the rest found it
        QCOMPARE(
            m_admin->scalar(QStringLiteral(
                "SELECT count(*) FROM ledger.transactions WHERE idempotency_key = 'same-key'")),
            QStringLiteral("1"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE "
                                                "details->>'idempotency_key' = 'same-key'")),
                 QStringLiteral("1"));
    }

    // One key, a different request from each client on accounts of its own (so no account
    // lock orders them): the key alone decides. Clients that find it still being inserted wait
    // for that transaction (the unique index's speculative insertion), then find it: exactly
    // one posts, every other is refused with LG011, none sees a unique violation.
    void sameKeyDifferentRequestsAtOnce()
    {
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        std::atomic<int> created{0};
        std::atomic<int> refused{0};
        std::atomic<int> other{0};
        const QStringList errors = runTogether([&](int client, std::barrier<> &start) {
            Connection c(writer);
            // Eight account pairs; the amount makes each client's request its own.
            const QByteArray body =
                transfer(QStringLiteral("one-key"), QStringLiteral("ACC-%1").arg(1 + client % 8),
                         QStringLiteral("ACC-%1").arg(1 + (client + 1) % 8),
                         QStringLiteral("%1.00").arg(client + 1));
            start.arrive_and_wait();
            try {
                if (LedgerRepository::post(c, body).created)
                    ++created;
            } catch (const DbException &e) {
                if (e.error().sqlState == QLatin1String("LG011"))
                    ++refused;
                else
                    ++other;
            }
        });
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
        QCOMPARE(created.load(), 1);
        QCOMPARE(refused.load(), kClients - 1);
        QCOMPARE(other.load(), 0);
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT count(*) FROM ledger.transactions WHERE idempotency_key = 'one-key'")),
                 QStringLiteral("1"));
    }

    void oppositeOrdersNeverDeadlock()
    {
        // Half the clients post A->B legs, half B->A, across several account pairs: the
        // posting function locks accounts in id order, so nobody waits in a cycle.
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        std::atomic<int> posted{0};
        const QStringList errors = runTogether([&](int client, std::barrier<> &start) {
            Connection c(writer);
            start.arrive_and_wait();
            for (int i = 0; i < 25; ++i) {
                const int a = 1 + (i % 4);
                const int b = 5 + (i % 4);
                const bool forward = client % 2 == 0;
                LedgerRepository::post(
                    c,
                    QStringLiteral(
                        R"({"idempotency_key": "dl-%1-%2", "effective_at": "2026-11-20T10:00:00Z", "description": "x",
                    "legs": [{"account": "ACC-%3", "amount": "1.00", "currency": "EUR"}, {"account": "ACC-%4", "amount": "2.00", "currency": "EUR"},
                             {"account": "ACC-%4", "amount": "-1.00", "currency": "EUR"}, {"account": "ACC-%3", "amount": "-2.00", "currency": "EUR"}]})")
                        .arg(client)
                        .arg(i)
                        .arg(forward ? a : b)
                        .arg(forward ? b : a)
                        .toUtf8());
                ++posted;
            }
        });
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
        QCOMPARE(posted.load(), kClients * 25);
    }

    // 16 clients, each sending batches of transfers in both directions between the same
    // accounts, some drawing on the no-negative hot account: nobody deadlocks, every item
    // gets an outcome, and what was posted is exactly what the ledger holds.
    void overlappingBatchesNeverDeadlock()
    {
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        const qint64 before =
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions"))
                .toLongLong();
        {
            Connection c(writer);
            LedgerRepository::post(c, transfer(QStringLiteral("batch-fund"), QStringLiteral("HOT"),
                                               QStringLiteral("CASH"), QStringLiteral("50.00")));
        }
        constexpr int kBatches = 5;
        constexpr int kItems = 40;
        std::atomic<int> posted{0};
        std::atomic<int> refused{0};
        std::atomic<int> other{0};
        const QStringList errors = runTogether([&](int client, std::barrier<> &start) {
            Connection c(writer);
            QRandomGenerator rng(quint32(client + 1));
            start.arrive_and_wait();
            for (int b = 0; b < kBatches; ++b) {
                QList<QByteArray> items;
                for (int i = 0; i < kItems; ++i) {
                    const int x = 1 + int(rng.bounded(8));
                    const int y = 1 + (x + int(rng.bounded(7))) % 8;
                    // Every fifth item draws 1.00 from the hot account (a debit lowers it).
                    const QString to =
                        i % 5 == 0 ? QStringLiteral("HOT") : QStringLiteral("ACC-%1").arg(y);
                    items.append(transfer(QStringLiteral("ob-%1-%2-%3").arg(client).arg(b).arg(i),
                                          QStringLiteral("ACC-%1").arg(x), to,
                                          QStringLiteral("1.00")));
                }
                for (const auto &o : LedgerRepository::postBatch(c, items)) {
                    if (o.kind == LedgerRepository::BatchOutcome::Kind::Posted)
                        ++posted;
                    else if (o.error.sqlState == QLatin1String("LG020"))
                        ++refused;
                    else
                        ++other;
                }
            }
        });
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
        QCOMPARE(other.load(), 0);
        QCOMPARE(posted.load() + refused.load(), kClients * kBatches * kItems);
        QVERIFY(refused.load() > 0); // the hot account ran dry: the rule was exercised
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions"))
                     .toLongLong(),
                 before + 1 + posted.load());
        Connection c(writer);
        QCOMPARE(LedgerRepository::balance(c, QStringLiteral("HOT")).amount,
                 QStringLiteral("0.00"));
    }

    // The same batch (same keys, same requests) from 16 clients at once: each item posted
    // once, and every client told the same transaction for it.
    void sameBatchFromManyClientsPostsOnce()
    {
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        QList<QByteArray> items;
        for (int i = 0; i < 50; ++i)
            items.append(
                transfer(QStringLiteral("sb-%1").arg(i), QStringLiteral("ACC-%1").arg(1 + i % 8),
                         QStringLiteral("ACC-%1").arg(1 + (i + 3) % 8), QStringLiteral("0.50")));
        std::mutex mutex;
        QList<QList<qint64>> ids;
        QList<int> postedPerItem(items.size(), 0);
        const QStringList errors = runTogether([&](int, std::barrier<> &start) {
            Connection c(writer);
            start.arrive_and_wait();
            const auto out = LedgerRepository::postBatch(c, items);
            std::lock_guard lock(mutex);
            QList<qint64> mine;
            for (int i = 0; i < out.size(); ++i) {
                mine.append(out[i].kind == LedgerRepository::BatchOutcome::Kind::Rejected
                                ? -1
                                : out[i].transactionId);
                postedPerItem[i] += out[i].kind == LedgerRepository::BatchOutcome::Kind::Posted;
            }
            ids.append(mine);
        });
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
        QCOMPARE(ids.size(), kClients);
        for (const auto &mine : ids)
            QCOMPARE(mine, ids.first());
        QVERIFY(!ids.first().contains(-1));
        QCOMPARE(postedPerItem, QList<int>(items.size(), 1));
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT count(*) FROM ledger.transactions WHERE idempotency_key LIKE 'sb-%'")),
                 QStringLiteral("50"));
    }

    // Batches do not take the per-key lock a single posting takes, so a batch can commit a
    // key after a single posting checked it: the posting then answers as if its check had
    // seen it (here LG011, another request), never with a unique violation.
    void aKeyCommittedByABatchWhileAPostingWaitsIsAnswered()
    {
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        // The poster's own login logs its lock waits as they begin: the server's log is
        // written when it starts waiting, which wakes the test up to look at its state.
        const QString posterDsn =
            m_db.dsnFor(QStringLiteral("ledger_writer"), QStringLiteral("race_poster"));
        QVERIFY(test::logLockWaitsOf(*m_admin, QStringLiteral("race_poster")));
        test::ServerLogWatcher log(m_db.dataDir());
        // A session holds ACC-5's head, in a transaction left open until the end.
        auto holder = std::make_unique<SqlSession>(m_db.adminDsn());
        const SqlOutcome held = holder->run(QStringLiteral(
            "BEGIN; SELECT 1 FROM ledger.account_heads h JOIN ledger.accounts a ON a.id = "
            "h.account_id WHERE a.code = 'ACC-5' FOR UPDATE OF h"));
        QVERIFY2(held.ok && held.rows.size() == 1, qPrintable(held.message));
        // A single posting of key K on ACC-5: past its key check, waiting for ACC-5.
        QString singleOutcome;
        std::thread poster([&] {
            Connection c(posterDsn, QStringLiteral("race-poster"));
            try {
                const auto r = LedgerRepository::post(
                    c, transfer(QStringLiteral("race-key"), QStringLiteral("ACC-5"),
                                QStringLiteral("ACC-6"), QStringLiteral("1.00")));
                singleOutcome = QStringLiteral("posted %1").arg(r.transactionId);
            } catch (const DbException &e) {
                singleOutcome = e.error().sqlState + QLatin1Char(' ') + e.error().message;
            }
        });
        // Its backend waits for a lock once its check is behind it (the key lock is taken
        // before the check, the heads only after it). Its request stays in pg_locks, not
        // granted, for the whole wait (wait_event is empty while it writes the log line).
        const bool waiting = log.waitUntil([&] {
            return m_admin->scalar(QStringLiteral(
                       "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON "
                       "a.pid = l.pid WHERE a.application_name = 'race-poster' AND NOT "
                       "l.granted)")) == QLatin1String("t");
        });
        // Meanwhile a batch posts K for another request, on other accounts, and commits.
        QList<LedgerRepository::BatchOutcome> out;
        if (waiting) {
            Connection c(writer);
            out = LedgerRepository::postBatch(
                c, {transfer(QStringLiteral("race-key"), QStringLiteral("ACC-7"),
                             QStringLiteral("ACC-8"), QStringLiteral("2.00"))});
        }
        const bool released = holder->run(QStringLiteral("COMMIT")).ok;
        if (!released)
            holder.reset(); // its connection closes: the lock goes with it
        poster.join();
        QVERIFY(released);
        QVERIFY2(waiting, qPrintable(singleOutcome));
        QCOMPARE(out.size(), 1);
        QCOMPARE(out[0].kind, LedgerRepository::BatchOutcome::Kind::Posted);
        QVERIFY2(singleOutcome.startsWith(QLatin1String("LG011")), qPrintable(singleOutcome));
        QVERIFY2(singleOutcome.contains(QLatin1String("\"race-key\"")) &&
                     singleOutcome.contains(QString::number(out[0].transactionId)),
                 qPrintable(singleOutcome));
    }

    // A batch reads its keys before it locks its heads and decides its first round with them
    // (0064): a key another transaction commits meanwhile shows when the batch inserts it.
    // An item that inserts nothing because it would now go negative (the other posting of
    // its key took the money) is looked at again: it is the duplicate it is, not LG020.
    void aKeyCommittedWhileABatchWaitsIsADuplicateNotAnOverdraft()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral("SELECT ledger.open_account('RACE-NN', 'Race', 'EUR', "
                                          "'liability', false)"))
                    .ok);
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        {
            Connection c(writer);
            LedgerRepository::post(c, transfer(QStringLiteral("race-deposit"),
                                               QStringLiteral("RACE-NN"), QStringLiteral("CASH"),
                                               QStringLiteral("100.00")));
        }
        const QByteArray withdrawal =
            transfer(QStringLiteral("race-withdrawal"), QStringLiteral("CASH"),
                     QStringLiteral("RACE-NN"), QStringLiteral("70.00"));
        const QString batcherDsn =
            m_db.dsnFor(QStringLiteral("ledger_writer"), QStringLiteral("race_batcher"));
        QVERIFY(test::logLockWaitsOf(*m_admin, QStringLiteral("race_batcher")));
        test::ServerLogWatcher log(m_db.dataDir());
        // A writer posts the withdrawal and keeps its transaction open: it holds the heads.
        auto holder = std::make_unique<SqlSession>(writer);
        const SqlOutcome held =
            holder->run(QStringLiteral("BEGIN; SELECT outcome FROM ledger.post_batch($j$[%1]$j$)")
                            .arg(QString::fromUtf8(withdrawal)));
        QVERIFY2(held.ok && held.rows.size() == 1 &&
                     held.rows.at(0).at(0) == QLatin1String("posted"),
                 qPrintable(held.message));
        // The same withdrawal in a batch of its own: its keys read, waiting for the heads.
        QList<LedgerRepository::BatchOutcome> out;
        std::thread batcher([&] {
            Connection c(batcherDsn, QStringLiteral("race-batcher"));
            out = LedgerRepository::postBatch(c, {withdrawal});
        });
        const bool waiting = log.waitUntil([&] {
            return m_admin->scalar(QStringLiteral(
                       "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON "
                       "a.pid = l.pid WHERE a.application_name = 'race-batcher' AND NOT "
                       "l.granted)")) == QLatin1String("t");
        });
        const bool released = holder->run(QStringLiteral("COMMIT")).ok;
        if (!released)
            holder.reset();
        batcher.join();
        QVERIFY(released);
        QVERIFY(waiting);
        QCOMPARE(out.size(), 1);
        QVERIFY2(out[0].kind == LedgerRepository::BatchOutcome::Kind::Duplicate,
                 qPrintable(out[0].error.sqlState + QLatin1Char(' ') + out[0].error.message));
        QCOMPARE(QString::number(out[0].transactionId),
                 m_admin->scalar(QStringLiteral("SELECT id FROM ledger.transactions WHERE "
                                                "idempotency_key = 'race-withdrawal'")));
        Connection reader(writer);
        QCOMPARE(LedgerRepository::balance(reader, QStringLiteral("RACE-NN")).amount,
                 QStringLiteral("30.00"));
    }

    void twoSupervisorsApprovingAtOnceGiveOneReversal()
    {
        Connection writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const qint64 tx =
            LedgerRepository::post(writer,
                                   transfer(QStringLiteral("to-reverse"), QStringLiteral("ACC-3"),
                                            QStringLiteral("ACC-4"), QStringLiteral("3.00")))
                .transactionId;
        Connection op(m_db.dsnFor(QStringLiteral("console_operator")));
        const qint64 request = ReversalRepository::request(op, tx, QStringLiteral("DUPLICATE"),
                                                           QStringLiteral("entered twice"));
        const QString sup1 =
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sup_one"));
        const QString sup2 =
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sup_two"));

        for (int round = 0; round < 1; ++round) {
            std::barrier start(2);
            std::atomic<int> approved{0};
            std::atomic<int> alreadyDecided{0};
            QStringList unexpected;
            std::mutex mutex;
            auto approve = [&](const QString &dsn) {
                Connection c(dsn);
                start.arrive_and_wait();
                try {
                    ReversalRepository::approve(c, request,
                                                ReversalRepository::preview(c, request).digest);
                    ++approved;
                } catch (const DbException &e) {
                    // The loser is told who decided: the row lock makes it wait for the
                    // winner's commit and then see the decision.
                    if (e.error().sqlState == QLatin1String("LG035") &&
                        e.error().message.contains(QRegularExpression(
                            QStringLiteral("already approved by sup_(one|two) at ")))) {
                        ++alreadyDecided;
                    } else {
                        std::lock_guard lock(mutex);
                        unexpected << e.error().describe();
                    }
                }
            };
            std::thread t1(approve, sup1);
            std::thread t2(approve, sup2);
            t1.join();
            t2.join();
            QVERIFY2(unexpected.isEmpty(), qPrintable(unexpected.join(QLatin1Char('\n'))));
            QCOMPARE(approved.load(), 1);
            QCOMPARE(alreadyDecided.load(), 1);
        }
        QCOMPARE(m_admin->scalar(
                     QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE reverses = $1"),
                     {QString::number(tx)}),
                 QStringLiteral("1"));
        QCOMPARE(m_admin->scalar(
                     QStringLiteral(
                         "SELECT count(*) FROM ledger.reversal_decisions WHERE request_id = $1"),
                     {QString::number(request)}),
                 QStringLiteral("1"));
    }
};

QTEST_GUILESS_MAIN(TestConcurrency)
#include "tst_concurrency.moc"
