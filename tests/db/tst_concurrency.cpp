// Many clients at once against a real server: 16 posters on one hot account with the
// no-negative rule, 16 clients sending the same idempotency key, opposite-order postings
// (no deadlocks), and two supervisors approving the same reversal request.

#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"

#include <QTest>

#include <atomic>
#include <barrier>
#include <mutex>
#include <thread>

using namespace ledger;
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
        QVERIFY(created >= 1);
        QCOMPARE(
            m_admin->scalar(QStringLiteral(
                "SELECT count(*) FROM ledger.transactions WHERE idempotency_key = 'same-key'")),
            QStringLiteral("1"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE "
                                                "details->>'idempotency_key' = 'same-key'")),
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
                    ReversalRepository::approve(c, request);
                    ++approved;
                } catch (const DbException &e) {
                    if (e.error().sqlState == QLatin1String("LG035")) {
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
