// Step 13, fault tests: a long mixed storm, bounded (LEDGER_STORM_SECONDS, default 90). At
// once, each in threads of its own: two writers posting transfers with idempotency keys
// (retrying a failure with the same key); an operator requesting reversals of them and a
// supervisor approving each (ledgerctl, as people and scripts do); bank statements imported
// and matched (a new MT940 file each round); statement exports; audit chain verification.
// Nobody is told about a deadlock (a busy ledger, "try again", is retried as the message
// says, and counted); afterwards every acknowledged posting is there once, each reversal
// reversed its transaction once, the ledger's own invariants hold (`ledgerctl check`, which
// includes balanced transactions, running balances, the chain and the digests), the audit
// chain verifies, and the figures are printed.

#include "LedgerInvariants.h"
#include "Ledgerctl.h"
#include "PostingRequests.h"
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
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

using namespace ledger;
using test::LedgerctlRun;
using test::runLedgerctl;
using test::SqlSession;

namespace {

constexpr int kAccounts = 8;

QString account(int n)
{
    return QStringLiteral("STORM-%1").arg(n);
}

QByteArray transfer(const QString &key, int from, int to, int cents)
{
    return test::transferRequest(key, account(from), account(to), cents, QStringLiteral("storm"));
}

} // namespace

class TestFaultStorm : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QTemporaryDir m_files;
    QString m_writer, m_operator, m_supervisor, m_auditor, m_compliance;

    std::atomic<bool> m_stop{false};
    std::mutex m_lock;
    QStringList m_failures; // what a user would have been told, other than "busy"
    std::atomic<int> m_posted{0};
    std::atomic<int> m_busyRetries{0};
    std::atomic<int> m_reversals{0};
    std::atomic<int> m_imports{0};
    std::atomic<int> m_matches{0};
    std::atomic<int> m_exports{0};
    std::atomic<int> m_verifications{0};
    QStringList m_postedKeys;

    void fail(const QString &what)
    {
        const std::lock_guard guard(m_lock);
        m_failures << what;
    }

    // ledgerctl until it does not answer "busy" (55P03: nothing was saved, try again);
    // nullopt when the storm ended while it was still busy (not a failure).
    std::optional<LedgerctlRun> ctl(const QStringList &args, const QString &dsn)
    {
        for (;;) {
            LedgerctlRun r = runLedgerctl(args, dsn);
            if (r.exitCode == 0 || !r.err.contains(QLatin1String("55P03")))
                return r;
            if (m_stop.load())
                return std::nullopt;
            ++m_busyRetries;
        }
    }

    void poster(int id)
    {
        std::unique_ptr<Connection> c;
        for (int i = 0; !m_stop.load(); ++i) {
            const QString key = QStringLiteral("storm-%1-%2").arg(id).arg(i);
            const QByteArray request =
                transfer(key, (id + i) % kAccounts, (id + i * 3 + 1) % kAccounts, 1 + i % 997);
            for (;;) {
                try {
                    if (!c)
                        c = std::make_unique<Connection>(m_writer);
                    LedgerRepository::post(*c, request);
                    break;
                } catch (const DbException &e) {
                    if (e.error().kind == Error::Kind::Busy) {
                        ++m_busyRetries;
                        continue;
                    }
                    fail(QStringLiteral("post %1: %2").arg(key, e.error().describe()));
                    return;
                }
            }
            ++m_posted;
            const std::lock_guard guard(m_lock);
            m_postedKeys << key;
        }
    }

    // Requests the reversal of a posting that is not yet reversed, then has it approved.
    void reverser()
    {
        SqlSession admin(m_db.adminDsn()); // this thread's own connection
        for (int i = 0; !m_stop.load(); ++i) {
            const QString tx = admin.scalar(QStringLiteral(
                "SELECT min(t.id) FROM ledger.transactions t WHERE t.idempotency_key LIKE "
                "'storm-%' AND t.kind = 'posting' AND NOT EXISTS (SELECT 1 FROM "
                "ledger.reversal_requests r WHERE r.transaction_id = t.id)"));
            if (tx.isEmpty()) {
                QThread::msleep(50); // nothing to reverse yet
                continue;
            }
            const std::optional<LedgerctlRun> request = ctl(
                {QStringLiteral("reversal"), QStringLiteral("request"),
                 QStringLiteral("--transaction"), tx, QStringLiteral("--reason"),
                 QStringLiteral("DUPLICATE"), QStringLiteral("--note"), QStringLiteral("storm")},
                m_operator);
            if (!request)
                return; // the storm ended while the ledger was busy
            if (request->exitCode != 0) {
                fail(QStringLiteral("reversal request: ") + request->describe());
                return;
            }
            const QString id = request->out.trimmed();
            const std::optional<LedgerctlRun> approve = ctl(
                {QStringLiteral("reversal"), QStringLiteral("approve"), QStringLiteral("--request"),
                 id, QStringLiteral("--key"), QStringLiteral("storm-approve-%1").arg(id)},
                m_supervisor);
            if (!approve)
                return; // the storm ended while the ledger was busy
            if (approve->exitCode != 0) {
                fail(QStringLiteral("reversal approve: ") + approve->describe());
                return;
            }
            ++m_reversals;
        }
    }

    void reconciler()
    {
        for (int i = 1; !m_stop.load(); ++i) {
            const QString path = m_files.filePath(QStringLiteral("storm-%1.sta").arg(i));
            QFile f(path);
            if (!f.open(QIODevice::WriteOnly)) {
                fail(QStringLiteral("cannot write ") + path);
                return;
            }
            f.write(QStringLiteral(":20:STORM-%1\r\n:25:DE44500105175407324931\r\n:28C:%1/1\r\n"
                                   ":60F:C261101EUR0,00\r\n:61:2611201120C%2,00NTRFREF%1//B%1\r\n"
                                   ":86:storm %1\r\n:62F:C261120EUR%2,00\r\n-\r\n")
                        .arg(i)
                        .arg(1 + i % 9)
                        .toLatin1());
            f.close();
            const std::optional<LedgerctlRun> import =
                ctl({QStringLiteral("recon"), QStringLiteral("import"), QStringLiteral("--file"),
                     path, QStringLiteral("--account"), account(0)},
                    m_operator);
            if (!import)
                return; // the storm ended while the ledger was busy
            if (import->exitCode != 0) {
                fail(QStringLiteral("recon import: ") + import->describe());
                return;
            }
            ++m_imports;
            const std::optional<LedgerctlRun> match =
                ctl({QStringLiteral("recon"), QStringLiteral("match"), QStringLiteral("--account"),
                     account(0)},
                    m_operator);
            if (!match)
                return; // the storm ended while the ledger was busy
            if (match->exitCode != 0) {
                fail(QStringLiteral("recon match: ") + match->describe());
                return;
            }
            ++m_matches;
        }
    }

    void exporter()
    {
        for (int i = 0; !m_stop.load(); ++i) {
            const std::optional<LedgerctlRun> r = ctl(
                {QStringLiteral("statement"), QStringLiteral("export"), QStringLiteral("--account"),
                 account(i % kAccounts), QStringLiteral("--from"), QStringLiteral("2026-11-01"),
                 QStringLiteral("--to"), QStringLiteral("2026-11-30"), QStringLiteral("--format"),
                 QStringLiteral("csv"), QStringLiteral("--out"),
                 m_files.filePath(QStringLiteral("statement-%1.csv").arg(i))},
                m_compliance);
            if (!r)
                return; // the storm ended while the ledger was busy
            if (r->exitCode != 0) {
                fail(QStringLiteral("statement export: ") + r->describe());
                return;
            }
            ++m_exports;
        }
    }

    void verifier()
    {
        while (!m_stop.load()) {
            const std::optional<LedgerctlRun> r =
                ctl({QStringLiteral("audit"), QStringLiteral("verify")}, m_auditor);
            if (!r)
                return; // the storm ended while the ledger was busy
            if (r->exitCode != 0) {
                fail(QStringLiteral("audit verify: ") + r->describe());
                return;
            }
            ++m_verifications;
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_files.isValid());
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        for (int a = 0; a < kAccounts; ++a)
            QVERIFY(m_admin
                        ->exec(QStringLiteral("SELECT ledger.open_account($1, 'Storm', 'EUR', "
                                              "'asset')"),
                               {account(a)})
                        .ok);
        m_writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        m_operator =
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("storm_olivia"));
        m_supervisor =
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("storm_sam"));
        m_auditor = m_db.dsnFor(QStringLiteral("console_auditor"), QStringLiteral("storm_ava"));
        m_compliance =
            m_db.dsnFor(QStringLiteral("console_compliance"), QStringLiteral("storm_carl"));
    }

    void everythingAtOnceLosesAndDoublesNothing()
    {
        const int seconds = qBound(10,
                                   qEnvironmentVariableIntValue("LEDGER_STORM_SECONDS") > 0
                                       ? qEnvironmentVariableIntValue("LEDGER_STORM_SECONDS")
                                       : 90,
                                   3600);
        QElapsedTimer elapsed;
        elapsed.start();
        std::vector<std::thread> threads;
        threads.emplace_back([this] { poster(0); });
        threads.emplace_back([this] { poster(1); });
        threads.emplace_back([this] { reverser(); });
        threads.emplace_back([this] { reconciler(); });
        threads.emplace_back([this] { exporter(); });
        threads.emplace_back([this] { verifier(); });
        // Until the time is up or something failed (a state, polled; false: the time is up).
        (void)QTest::qWaitFor(
            [&] {
                const std::lock_guard guard(m_lock);
                return !m_failures.isEmpty();
            },
            seconds * 1000);
        m_stop = true;
        for (std::thread &t : threads)
            t.join();
        const double took = double(elapsed.elapsed()) / 1000.0;
        qInfo("storm: %.0f s; %d postings acknowledged (%.0f/s), %d reversals approved, %d bank "
              "files imported and matched, %d statements exported, %d chain verifications, %d "
              "busy retries",
              took, m_posted.load(), double(m_posted.load()) / took, m_reversals.load(),
              m_matches.load(), m_exports.load(), m_verifications.load(), m_busyRetries.load());
        QVERIFY2(m_failures.isEmpty(), qPrintable(m_failures.join(QLatin1Char('\n'))));
        QVERIFY(m_posted.load() > 0 && m_reversals.load() > 0 && m_matches.load() > 0 &&
                m_exports.load() > 0 && m_verifications.load() > 0);

        // Every acknowledged posting once; each reversal reversed its transaction once.
        QCOMPARE(m_admin
                     ->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                             "idempotency_key LIKE 'storm-%' AND kind = "
                                             "'posting'"))
                     .toInt(),
                 m_posted.load());
        QCOMPARE(m_admin
                     ->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                             "idempotency_key = ANY ($1::text[])"),
                              {QLatin1Char('{') + m_postedKeys.join(QLatin1Char(',')) +
                               QLatin1Char('}')})
                     .toInt(),
                 m_posted.load());
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT count(*) FROM (SELECT reverses FROM ledger.transactions WHERE kind = "
                     "'reversal' GROUP BY 1 HAVING count(*) > 1) x")),
                 QStringLiteral("0"));
        QCOMPARE(m_admin
                     ->scalar(QStringLiteral(
                         "SELECT count(*) FROM ledger.transactions WHERE kind = 'reversal'"))
                     .toInt(),
                 m_reversals.load());
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
        const LedgerctlRun check = runLedgerctl({QStringLiteral("check")}, m_auditor);
        QVERIFY2(check.exitCode == 0, qPrintable(check.describe()));
        const LedgerctlRun verify =
            runLedgerctl({QStringLiteral("audit"), QStringLiteral("verify")}, m_auditor);
        QVERIFY2(verify.exitCode == 0, qPrintable(verify.describe()));
    }
};

QTEST_GUILESS_MAIN(TestFaultStorm)
#include "tst_faultstorm.moc"
