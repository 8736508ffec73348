// Step 13, fault tests: the server killed mid-storm. Four clients post transfers between
// twenty accounts, each with its own idempotency key, and retry every failure with the same
// key until it is acknowledged (a client's next transfer waits for that). Meanwhile the whole
// server (the postmaster and every process it started, SIGKILL each) is killed several
// times and restarted, each time once the clients have had a few hundred more transfers
// acknowledged. Afterwards: every acknowledged transfer is there exactly once with the
// accounts and amount asked for, nothing else is (no half-written transfer), every balance is
// what the acknowledged transfers make it, the ledger's invariants hold (balanced
// transactions, running balances, heads, the audit chain), and nothing stays unsealed once the
// sealer has run. The same with batches of 25 (ledger.post_batch), retried whole.
// Prints the figures: kills survived, acknowledged postings, retries, the longest recovery,
// throughput.

#include "LedgerInvariants.h"
#include "PostingRequests.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <QThread>

#include <atomic>
#include <csignal>
#include <memory>
#include <mutex>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>

using namespace ledger;
using test::SqlSession;

namespace {

constexpr int kClients = 4;
constexpr int kAccounts = 20;
constexpr int kKills = 5;
constexpr int kAcksBetweenKills = 400;

// Transfer i of client c: deterministic, so the expected balances can be recomputed.
struct Transfer
{
    int from = 0;
    int to = 0;
    qint64 cents = 0;
};

Transfer transferOf(int client, int i)
{
    Transfer t;
    t.from = (client * 7 + i * 3) % kAccounts;
    t.to = (t.from + 1 + (i % (kAccounts - 1))) % kAccounts;
    t.cents = 1 + (client * 7919 + i * 104729) % 50000;
    return t;
}

QString accountCode(int n)
{
    return QStringLiteral("KILL-%1").arg(n, 2, 10, QLatin1Char('0'));
}

QByteArray requestOf(const QString &key, const Transfer &t)
{
    return test::transferRequest(key, accountCode(t.from), accountCode(t.to), t.cents,
                                 QStringLiteral("storm"));
}

} // namespace

class TestFaultKill : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QString m_writer;

    // The storm's shared state.
    std::atomic<int> m_acked{0};
    std::atomic<int> m_retries{0};
    std::atomic<bool> m_stop{false};
    std::mutex m_lock;
    QList<int> m_perClient; // transfers each client had acknowledged (keys 0..n-1)
    QStringList m_clientErrors;

    // Kills the whole server at once, as a crash would: the postmaster and every process it
    // started (backends and workers, each in a session of its own), with SIGKILL. Returns
    // their pids (empty: no server found).
    QList<pid_t> killServer()
    {
        QFile pidFile(m_db.dataDir() + QStringLiteral("/postmaster.pid"));
        if (!pidFile.open(QIODevice::ReadOnly))
            return {};
        const pid_t postmaster = pid_t(pidFile.readLine().trimmed().toInt());
        if (postmaster <= 1)
            return {};
        // Stopped first, so that it starts no process between the scan and the kill.
        ::kill(postmaster, SIGSTOP);
        QList<pid_t> pids{postmaster};
        const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
        for (const QString &entry : entries) {
            bool isPid = false;
            const pid_t pid = pid_t(entry.toInt(&isPid));
            if (!isPid)
                continue;
            QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
            if (!stat.open(QIODevice::ReadOnly))
                continue;
            // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
            const QByteArray line = stat.readAll();
            const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
            if (fields.size() > 1 && pid_t(fields.at(1).toInt()) == postmaster)
                pids << pid;
        }
        for (const pid_t pid : pids)
            ::kill(pid, SIGKILL);
        return pids;
    }

    // The killed processes are ours to reap (initTestCase makes this process their
    // subreaper): a zombie postmaster would still count as running (pg_ctl status), where an
    // init that never reaps adopts them, as in some containers.
    static bool gone(const QList<pid_t> &pids)
    {
        for (const pid_t pid : pids) {
            int status = 0;
            ::waitpid(pid, &status, WNOHANG);
            QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
            if (stat.open(QIODevice::ReadOnly)) {
                const QByteArray line = stat.readAll();
                if (line.mid(line.lastIndexOf(')') + 2, 1) != "Z") // a zombie holds nothing
                    return false;
            }
        }
        return true;
    }

    // What the clients said and where the server is, for a wait that timed out.
    QString diagnosis()
    {
        QStringList errors;
        {
            const std::lock_guard guard(m_lock);
            errors = m_clientErrors;
        }
        return QStringLiteral("%1 acknowledged, %2 retries; client errors: %3; server log:\n%4")
            .arg(m_acked.load())
            .arg(m_retries.load())
            .arg(errors.isEmpty() ? QStringLiteral("none") : errors.join(QStringLiteral(" | ")),
                 m_db.cluster().logTail(30));
    }

    // One client: keys "<prefix>-<client>-<i>"; `batch` requests per call (1: post()).
    void client(const QString &prefix, int c, int batch)
    {
        std::unique_ptr<Connection> connection;
        int next = 0;
        for (;;) {
            if (m_stop.load())
                break;
            QList<QByteArray> requests;
            for (int k = 0; k < batch; ++k)
                requests << requestOf(QStringLiteral("%1-%2-%3").arg(prefix).arg(c).arg(next + k),
                                      transferOf(c, next + k));
            // Until acknowledged, with the same keys: the server may be gone for a while.
            for (int attempt = 0;; ++attempt) {
                try {
                    if (!connection)
                        connection = std::make_unique<Connection>(m_writer);
                    if (batch == 1) {
                        LedgerRepository::post(*connection, requests.constFirst());
                    } else {
                        const auto outcomes = LedgerRepository::postBatch(*connection, requests);
                        for (const auto &o : outcomes)
                            if (o.kind == LedgerRepository::BatchOutcome::Kind::Rejected)
                                throw DbException(o.error);
                    }
                    break;
                } catch (const DbException &e) {
                    const bool transient = e.error().kind == Error::Kind::Connection ||
                                           e.error().kind == Error::Kind::Timeout ||
                                           e.error().kind == Error::Kind::Busy ||
                                           e.error().retryable ||
                                           e.error().kind == Error::Kind::Server;
                    if (!transient || attempt > 2000) {
                        const std::lock_guard guard(m_lock);
                        m_clientErrors << e.error().describe();
                        return;
                    }
                    ++m_retries;
                    connection.reset();
                    QThread::msleep(20); // the client's own back-off while the server is down
                }
            }
            next += batch;
            m_acked += batch;
            const std::lock_guard guard(m_lock);
            m_perClient[c] = next;
        }
    }

    void storm(const QString &prefix, int batch)
    {
        m_acked = 0;
        m_retries = 0;
        m_stop = false;
        m_perClient = QList<int>(kClients, 0);
        m_clientErrors.clear();
        QElapsedTimer elapsed;
        elapsed.start();
        std::vector<std::thread> clients;
        // However this function returns, the clients stop and are joined.
        struct Joiner
        {
            std::atomic<bool> &stop;
            std::vector<std::thread> &threads;
            ~Joiner()
            {
                stop = true;
                for (std::thread &t : threads)
                    if (t.joinable())
                        t.join();
            }
        } joiner{m_stop, clients};
        for (int c = 0; c < kClients; ++c)
            clients.emplace_back([this, prefix, c, batch] { client(prefix, c, batch); });

        qint64 longestRecoveryMs = 0;
        int kills = 0;
        for (int k = 0; k < kKills && m_clientErrors.isEmpty(); ++k) {
            const int target = m_acked.load() + kAcksBetweenKills;
            QVERIFY2(QTest::qWaitFor([&] { return m_acked.load() >= target; }, 120000),
                     qPrintable(m_clientErrors.join(QLatin1Char('\n'))));
            const QList<pid_t> killed = killServer();
            QVERIFY(!killed.isEmpty());
            ++kills;
            QElapsedTimer recovery;
            recovery.start();
            QVERIFY(QTest::qWaitFor([&] { return gone(killed); }, 30000));
            const Status started = m_db.cluster().start(120);
            QVERIFY2(started, qPrintable(started ? QString() : started.error().describe()));
            // Recovered: the clients get acknowledgements again.
            const int before = m_acked.load();
            QVERIFY2(QTest::qWaitFor([&] { return m_acked.load() > before; }, 120000),
                     qPrintable(diagnosis()));
            longestRecoveryMs = qMax(longestRecoveryMs, recovery.elapsed());
        }
        const int target = m_acked.load() + kAcksBetweenKills;
        QVERIFY2(QTest::qWaitFor([&] { return m_acked.load() >= target; }, 120000),
                 qPrintable(diagnosis()));
        m_stop = true;
        for (std::thread &t : clients)
            t.join();
        {
            const std::lock_guard guard(m_lock);
            QVERIFY2(m_clientErrors.isEmpty(), qPrintable(m_clientErrors.join(QLatin1Char('\n'))));
        }
        const double seconds = double(elapsed.elapsed()) / 1000.0;
        qInfo("%s: %d kills survived, %d postings acknowledged and checked, %d retries, longest "
              "recovery %lld ms, %.0f postings/s over %.1f s (kills and recoveries included)",
              qPrintable(prefix), kills, m_acked.load(), m_retries.load(), longestRecoveryMs,
              double(m_acked.load()) / seconds, seconds);
        QCOMPARE(kills, kKills);
        QVERIFY(m_retries.load() > 0); // the kills did interrupt the clients

        // Everything acknowledged, once, as asked, and nothing else.
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QCOMPARE(m_admin
                     ->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                             "idempotency_key LIKE $1 || '-%'"),
                              {prefix})
                     .toInt(),
                 m_acked.load());
        QHash<int, qint64> expected;
        for (int c = 0; c < kClients; ++c)
            for (int i = 0; i < m_perClient[c]; ++i) {
                const Transfer t = transferOf(c, i);
                expected[t.to] += t.cents;
                expected[t.from] -= t.cents;
            }
        for (int a = 0; a < kAccounts; ++a)
            QCOMPARE(m_admin
                         ->scalar(QStringLiteral(
                                      "SELECT coalesce(sum(e.amount), 0) FROM ledger.entries e "
                                      "JOIN ledger.transactions t ON t.id = e.transaction_id "
                                      "JOIN ledger.accounts a ON a.id = e.account_id WHERE "
                                      "a.code = $1 AND t.idempotency_key LIKE $2 || '-%'"),
                                  {accountCode(a), prefix})
                         .toLongLong(),
                     expected.value(a));
        // Each key's legs are its own transfer's, nothing else: every acknowledged key with
        // its accounts and amounts, against what the ledger holds under the prefix.
        QStringList expectedRows;
        for (int c = 0; c < kClients; ++c)
            for (int i = 0; i < m_perClient[c]; ++i) {
                const Transfer t = transferOf(c, i);
                expectedRows << QStringLiteral("('%1-%2-%3','%4',%5),('%1-%2-%3','%6',%7)")
                                    .arg(prefix)
                                    .arg(c)
                                    .arg(i)
                                    .arg(accountCode(t.to))
                                    .arg(t.cents)
                                    .arg(accountCode(t.from))
                                    .arg(-t.cents);
            }
        QCOMPARE(
            m_admin->scalar(
                QStringLiteral(
                    "WITH expected(k, code, amount) AS (VALUES %1), held AS (SELECT "
                    "t.idempotency_key AS k, a.code, e.amount FROM ledger.transactions t JOIN "
                    "ledger.entries e ON e.transaction_id = t.id JOIN ledger.accounts a ON a.id "
                    "= e.account_id WHERE t.idempotency_key LIKE '%2-%') SELECT (SELECT "
                    "count(*) FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM held) x) + "
                    "(SELECT count(*) FROM (SELECT * FROM held EXCEPT ALL SELECT * FROM "
                    "expected) y)")
                    .arg(expectedRows.join(QLatin1Char(',')), prefix)),
            QStringLiteral("0"));
        QVERIFY(m_admin->exec(QStringLiteral("SELECT audit.seal()")).ok);
        QCOMPARE(
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")),
            QStringLiteral("0"));
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

private Q_SLOTS:
    void initTestCase()
    {
        // The server's processes, orphaned when pg_ctl exits, are adopted by this process.
        QVERIFY(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
        // Default durability, unlike the other tests' clusters: a commit is acknowledged once
        // its WAL is flushed (with synchronous_commit off, a kill loses acknowledged commits
        // still in the WAL buffers, as it should: that is what the setting trades).
        m_db.setExtraConfig(QStringLiteral("fsync = on\nsynchronous_commit = on\n"
                                           "full_page_writes = on\n"));
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        for (int a = 0; a < kAccounts; ++a)
            QVERIFY(m_admin
                        ->exec(QStringLiteral("SELECT ledger.open_account($1, 'Storm', 'EUR', "
                                              "'asset')"),
                               {accountCode(a)})
                        .ok);
        // A client never waits forever on a server that is gone or stopped: a connection
        // attempt gives up after 10 s and a statement after 60 s (then it is retried).
        m_writer = m_db.dsnFor(QStringLiteral("ledger_writer")) +
                   QStringLiteral(" connect_timeout=10 options='-c statement_timeout=60000'");
    }

    void singlePostingsSurviveKills() { storm(QStringLiteral("kill1"), 1); }
    void batchesSurviveKills() { storm(QStringLiteral("killb"), 25); }
};

QTEST_GUILESS_MAIN(TestFaultKill)
#include "tst_faultkill.moc"
