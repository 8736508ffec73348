// The console services (services/console) against a real database: they answer with what
// the ledger holds, fail with an Error in an already-finished future once their worker is
// gone (never a crash), and verify the audit chain on a worker of its own, so that pages
// are answered while a verification waits.

#include "ServerLogWatcher.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "async/WhenReady.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "db/DbWorker.h"

#include <QTest>
#include <QTestEventLoop>

#include <atomic>
#include <memory>
#include <optional>

using namespace ledger;

namespace {

// The result, as the console gets it (whenReady on this thread); nullopt after 15 s.
template <class T> std::optional<Result<T>> await(QFuture<Result<T>> future)
{
    QObject context;
    QTestEventLoop loop;
    std::optional<Result<T>> out;
    whenReady(std::move(future), &context, [&](const Result<T> &r) {
        out = r;
        loop.exitLoop();
    });
    if (!out)
        loop.enterLoopMSecs(15000);
    return out;
}

// Why a result is not ok, for QVERIFY2 (which evaluates its message either way).
template <class T> QByteArray why(const std::optional<Result<T>> &result)
{
    if (!result)
        return "no result within 15 s";
    return result->ok() ? QByteArray() : result->error().describe().toUtf8();
}

} // namespace

class TestConsoleServices : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    QString m_auditor;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_auditor = m_db.dsnFor(QStringLiteral("console_auditor"));
        test::SqlSession admin(m_db.adminDsn());
        // Its backends log their lock waits as they begin (a verifier waiting for the chain).
        QVERIFY(test::logLockWaitsOf(admin, QStringLiteral("test_console_auditor")));
        for (const char *sql :
             {"SELECT ledger.open_account('C1', 'Cash', 'EUR', 'asset')",
              "SELECT ledger.open_account('C2', 'Deposits', 'EUR', 'liability')",
              "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', 'svc-1', "
              "'effective_at', now(), 'legs', jsonb_build_array("
              "jsonb_build_object('account', 'C1', 'amount', '12.34', 'currency', 'EUR'), "
              "jsonb_build_object('account', 'C2', 'amount', '-12.34', 'currency', 'EUR'))))"}) {
            const auto r = admin.exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
    }

    void ledgerServiceAnswersFromTheLedger()
    {
        DbWorker worker(m_auditor);
        LedgerService ledger(&worker);

        AccountQuery query;
        const auto start = await(ledger.accountListStart(query, 10));
        QVERIFY(start);
        QVERIFY2(start->ok(), why(start).constData());
        QCOMPARE(start->value().count, qint64(2));
        QCOMPARE(start->value().rows.size(), 2);
        QCOMPARE(start->value().rows.at(0).code, QStringLiteral("C1"));
        QCOMPARE(start->value().currencies, QStringList{QStringLiteral("EUR")});

        const auto position = await(ledger.accountPosition(query, QStringLiteral("C2")));
        QVERIFY(position && position->ok());
        QCOMPARE(position->value(), qint64(1));

        const auto timeline =
            await(ledger.timelineStart(QStringLiteral("C1"), 0, TimelineOrder::Effective, {}, 10));
        QVERIFY(timeline);
        QVERIFY2(timeline->ok(), why(timeline).constData());
        QVERIFY(timeline->value().history);
        QCOMPARE(timeline->value().history->code, QStringLiteral("C1"));
        QCOMPARE(timeline->value().window.rowCount, qint64(1));
        QCOMPARE(timeline->value().rows.size(), 1);
        QCOMPARE(timeline->value().rows.at(0).amountMinor, qint64(1234));

        const auto detail =
            await(ledger.transactionDetail(timeline->value().rows.at(0).transactionId));
        QVERIFY(detail);
        QVERIFY2(detail->ok(), why(detail).constData());
        QCOMPARE(detail->value().legs.size(), 2);
    }

    void aGoneWorkerGivesAFinishedFailedFuture()
    {
        auto worker = std::make_unique<DbWorker>(m_auditor);
        LedgerService ledger(worker.get());
        AuditService audit(worker.get());
        worker.reset();

        const auto page = ledger.accountPage({}, 0, 10);
        QVERIFY(page.isFinished());
        QCOMPARE(page.resultCount(), 1);
        QVERIFY(!page.result().ok());
        QCOMPARE(page.result().error().kind, Error::Kind::Internal);

        const auto record = audit.recordSearch(QStringLiteral("account_list"), {});
        QVERIFY(record.isFinished());
        QVERIFY(!record.result().ok());

        // The ordinary continuation path sees the failure too.
        const auto verification = await(audit.verifyChain({}, this, {}, nullptr));
        QVERIFY(verification);
        QVERIFY(!verification->ok());
        QVERIFY(!verification->error().message.isEmpty());
    }

    // A verification that cannot start (the chain is held by another sealer: the test)
    // holds up only its own worker; a page of the log is answered meanwhile. (On one worker
    // the page would wait behind the verifier until it gets the lock or gives up.)
    void verificationDoesNotHoldUpPages()
    {
        DbWorker pages(m_auditor);
        DbWorker longJobs(m_auditor);
        AuditService audit(&pages, &longJobs);
        // The pages' connection is up before the verifier waits: what is measured below is
        // a query, not a sign-in on a machine busy with other tests.
        const auto warm = await(audit.logPage({}, std::nullopt, 1));
        QVERIFY2(warm && warm->ok(), why(warm).constData());

        test::SqlSession admin(m_db.adminDsn());
        // The verifier would give up waiting for the chain after 5 s (0025_function_settings);
        // in this throwaway cluster it waits longer, so that a slow machine cannot make the
        // verification end before the page is asked for.
        const auto patient =
            admin.exec(QStringLiteral("ALTER FUNCTION audit.seal() SET lock_timeout = '60s'"));
        QVERIFY2(patient.ok, qPrintable(patient.message));
        const auto held =
            admin.exec(QStringLiteral("SELECT pg_advisory_lock(audit.chain_lock_key(), 0)"));
        QVERIFY2(held.ok, qPrintable(held.message));

        auto cancel = std::make_shared<std::atomic_bool>(false);
        QObject context;
        QTestEventLoop verifying;
        std::optional<Result<VerificationResult>> verified;
        test::ServerLogWatcher log(m_db.dataDir());
        whenReady(audit.verifyChain({}, this, {}, cancel), &context,
                  [&](const Result<VerificationResult> &r) {
                      verified = r;
                      verifying.exitLoop();
                  });
        // The verifier is running, waiting for the chain lock (its wait is logged).
        QVERIFY(log.waitUntil([&] {
            return admin.scalar(QStringLiteral("SELECT count(*) FROM pg_locks WHERE locktype = "
                                               "'advisory' AND NOT granted")) == QLatin1String("1");
        }));

        const auto page = await(audit.logPage({}, std::nullopt, 5));
        QVERIFY2(page, "a page of the log waited behind the verification");
        QVERIFY2(page->ok(), why(page).constData());
        QVERIFY(!page->value().isEmpty());
        QVERIFY2(!verified, verified ? why(verified).constData() : "");

        const auto released =
            admin.exec(QStringLiteral("SELECT pg_advisory_unlock(audit.chain_lock_key(), 0)"));
        QVERIFY2(released.ok, qPrintable(released.message));
        if (!verified)
            verifying.enterLoopMSecs(15000);
        QVERIFY(verified.has_value());
        QVERIFY2(verified->ok(), why(verified).constData());
        QVERIFY(verified->value().intact());
        QVERIFY(verified->value().verifiedThrough > 0);
    }
};

QTEST_GUILESS_MAIN(TestConsoleServices)
#include "tst_consoleservices.moc"
