// Step 13, fault tests: the connection cut in the middle of a console action. Each action is
// sent through the console's own service and caught mid-transaction (everything before its
// audit event written, the audit event waiting for a table lock the test holds); then its
// backend is terminated, as a server restart or a network cut would. The caller gets a clear
// error saying the connection was lost and to try again; nothing of the action is in the
// ledger; sending it again (the same client key) does it once, and once more changes
// nothing (a resolution, checked against the state the operator saw, is refused as changed
// since; a file imported before is "already imported"). Actions: request a reversal,
// approve, reject, approve in bulk, resolve a reconciliation exception, export a statement,
// import a bank file, run the matching, verify the audit chain.

#include "LedgerInvariants.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/ReconService.h"
#include "console/ReversalService.h"
#include "console/StatementService.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"

#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimeZone>

#include <functional>
#include <memory>

using namespace ledger;
using test::SqlSession;

namespace {

template <class T> Result<T> await(QFuture<Result<T>> future)
{
    if (!test::waitForFinished(future, 60000))
        return Error::make(Error::Kind::Timeout, QStringLiteral("the action never finished"));
    return future.result();
}

} // namespace

class TestFaultConnection : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<DbWorker> m_operator;
    std::unique_ptr<DbWorker> m_supervisor;
    std::unique_ptr<ReversalService> m_requests;
    std::unique_ptr<ReversalService> m_decisions;
    int m_key = 0;

    qint64 count(const QString &sql) { return m_admin->scalar(sql).toLongLong(); }

    qint64 post()
    {
        ++m_key;
        return m_admin
            ->scalar(
                QStringLiteral(
                    "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', 'fc-' || "
                    "$1, 'effective_at', '2026-11-20T12:00:00Z', 'description', 'cut test', "
                    "'legs', jsonb_build_array(jsonb_build_object('account', 'FC-A', 'amount', "
                    "'5.00', 'currency', 'EUR'), jsonb_build_object('account', 'FC-B', 'amount', "
                    "'-5.00', 'currency', 'EUR'))))"),
                {QString::number(m_key)})
            .toLongLong();
    }

    // Runs the action with the audit trail locked, waits until its backend (application
    // name `app`) waits for that lock, terminates the backend, and returns what the caller got.
    // `block`: what the test holds meanwhile (default: the audit trail, which every action
    // writes last or nearly so).
    template <class T>
    Result<T>
    cutDuring(const QString &app, const std::function<QFuture<Result<T>>()> &action,
              const QString &block = QStringLiteral("LOCK TABLE audit.events IN SHARE MODE"))
    {
        Connection blocker(m_db.adminDsn(), QStringLiteral("tst_faultconnection blocker"));
        test::execOn(blocker, QStringLiteral("BEGIN; ") + block);
        QFuture<Result<T>> future = action();
        bool waiting = QTest::qWaitFor(
            [&] {
                return count(QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE "
                                            "application_name = '%1' "
                                            "AND wait_event_type = 'Lock'")
                                 .arg(app)) > 0;
            },
            30000);
        // Terminated (and gone: the call waits for it) while the lock is still held, so the
        // action cannot have committed first.
        if (waiting &&
            m_admin->scalar(QStringLiteral("SELECT count(*) FILTER (WHERE "
                                           "pg_terminate_backend(pid, 10000)) FROM "
                                           "pg_stat_activity WHERE application_name = '%1'")
                                .arg(app))
                    .toInt() != 1)
            waiting = false;
        test::execOn(blocker, QStringLiteral("ROLLBACK"));
        if (!waiting) {
            (void)await(future); // the worker free again for what follows
            return Error::make(Error::Kind::Internal,
                               QStringLiteral("the action never waited for the audit trail"));
        }
        return await(future);
    }

    template <class T> static void checkCut(const Result<T> &r)
    {
        QVERIFY2(!r, "the action went through");
        QCOMPARE(r.error().kind, Error::Kind::Connection);
        QVERIFY(r.error().retryable);
        QVERIFY2(r.error().message.contains(QLatin1String("try again")),
                 qPrintable(r.error().message));
    }

    qint64 request(qint64 tx, const QString &key)
    {
        ReversalDraft d;
        d.transactionId = tx;
        d.reasonCode = QStringLiteral("DUPLICATE");
        d.note = QStringLiteral("posted twice");
        d.clientKey = key;
        const auto r = await(m_requests->submitRequest(d));
        return r ? r.value() : 0;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(
            m_admin
                ->exec(QStringLiteral("SELECT ledger.open_account('FC-A', 'A', 'EUR', 'asset'), "
                                      "ledger.open_account('FC-B', 'B', 'EUR', 'liability')"))
                .ok);
        m_operator = std::make_unique<DbWorker>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("fc_olivia")),
            QStringLiteral("fc-operator"));
        m_supervisor = std::make_unique<DbWorker>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("fc_sam")),
            QStringLiteral("fc-supervisor"));
        m_requests = std::make_unique<ReversalService>(m_operator.get());
        m_decisions = std::make_unique<ReversalService>(m_supervisor.get());
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void aRequestCutIsNotSentAndSendsOnceAgain()
    {
        const qint64 tx = post();
        ReversalDraft d;
        d.transactionId = tx;
        d.reasonCode = QStringLiteral("DUPLICATE");
        d.note = QStringLiteral("posted twice");
        d.clientKey = ReversalService::newClientKey();
        const qint64 before =
            count(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests"));
        checkCut(cutDuring<qint64>(QStringLiteral("fc-operator"),
                                   [&] { return m_requests->submitRequest(d); }));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests")), before);
        const auto first = await(m_requests->submitRequest(d));
        QVERIFY2(first, qPrintable(first ? QString() : first.error().describe()));
        const auto again = await(m_requests->submitRequest(d)); // the reply lost, sent again
        QVERIFY(again);
        QCOMPARE(again.value(), first.value());
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.reversal_requests")),
                 before + 1);
    }

    void anApprovalCutPostsNothingAndApprovesOnceAgain()
    {
        const qint64 tx = post();
        const qint64 id = request(tx, ReversalService::newClientKey());
        QVERIFY(id > 0);
        const auto preview = await(m_decisions->preview(id));
        QVERIFY(preview);
        const QString key = ReversalService::newClientKey();
        const qint64 txBefore = count(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        checkCut(cutDuring<ReversalDecision>(QStringLiteral("fc-supervisor"), [&] {
            return m_decisions->approve(id, preview.value().digest, QStringLiteral("ok"), key);
        }));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions")), txBefore);
        QCOMPARE(count(QStringLiteral(
                           "SELECT count(*) FROM ledger.reversal_decisions WHERE request_id = %1")
                           .arg(id)),
                 0);
        const auto first =
            await(m_decisions->approve(id, preview.value().digest, QStringLiteral("ok"), key));
        QVERIFY2(first, qPrintable(first ? QString() : first.error().describe()));
        QCOMPARE(first.value().decision, QStringLiteral("approved"));
        const auto again =
            await(m_decisions->approve(id, preview.value().digest, QStringLiteral("ok"), key));
        QVERIFY(again);
        QVERIFY(again.value().replayed);
        QCOMPARE(again.value().reversalTransactionId, first.value().reversalTransactionId);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions")), txBefore + 1);
    }

    void aRejectionCutIsNotRecordedAndRejectsOnceAgain()
    {
        const qint64 id = request(post(), ReversalService::newClientKey());
        QVERIFY(id > 0);
        const QString key = ReversalService::newClientKey();
        checkCut(cutDuring<ReversalDecision>(QStringLiteral("fc-supervisor"), [&] {
            return m_decisions->reject(id, QStringLiteral("the amount was right"), key);
        }));
        QCOMPARE(count(QStringLiteral(
                           "SELECT count(*) FROM ledger.reversal_decisions WHERE request_id = %1")
                           .arg(id)),
                 0);
        const auto first =
            await(m_decisions->reject(id, QStringLiteral("the amount was right"), key));
        QVERIFY2(first, qPrintable(first ? QString() : first.error().describe()));
        const auto again =
            await(m_decisions->reject(id, QStringLiteral("the amount was right"), key));
        QVERIFY(again && again.value().replayed);
        QCOMPARE(count(QStringLiteral(
                           "SELECT count(*) FROM ledger.reversal_decisions WHERE request_id = %1")
                           .arg(id)),
                 1);
    }

    // Bulk: each request in its own transaction. The second request is held (its row locked by
    // the test), so the first is decided and committed before the cut: it stays decided, and
    // the outcome says so; the cut one and the third are not, and say why; the same batch key
    // decides the rest, once each.
    void aBulkApprovalCutKeepsWhatWasDecidedAndFinishesOnceAgain()
    {
        QList<qint64> ids;
        for (int i = 0; i < 3; ++i)
            ids << request(post(), ReversalService::newClientKey());
        QVERIFY(!ids.contains(0));
        const QString batch = ReversalService::newClientKey();
        const qint64 txBefore = count(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        const auto decided = [&] {
            return count(QStringLiteral("SELECT count(*) FROM ledger.reversal_decisions WHERE "
                                        "request_id IN (%1, %2, %3)")
                             .arg(ids[0])
                             .arg(ids[1])
                             .arg(ids[2]));
        };
        const auto cut = cutDuring<QList<BulkDecisionOutcome>>(
            QStringLiteral("fc-supervisor"),
            [&] { return m_decisions->decideMany(ids, true, QStringLiteral("bulk"), batch); },
            QStringLiteral("SELECT 1 FROM ledger.reversal_requests WHERE id = %1 FOR UPDATE")
                .arg(ids[1]));
        // A bulk run reports each request (it must not say that nothing was done): the first
        // decided, the cut one lost with the connection, the third not tried.
        QVERIFY2(cut, qPrintable(cut ? QString() : cut.error().describe()));
        QCOMPARE(cut.value().size(), 3);
        QVERIFY(cut.value()[0].decided);
        QVERIFY(!cut.value()[1].decided);
        QCOMPARE(cut.value()[1].error.kind, Error::Kind::Connection);
        QVERIFY2(cut.value()[1].error.message.contains(QLatin1String("try again")),
                 qPrintable(cut.value()[1].error.message));
        QVERIFY(!cut.value()[2].decided);
        QCOMPARE(decided(), 1);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.reversal_decisions WHERE "
                                      "request_id = %1")
                           .arg(ids[0])),
                 1);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions")), txBefore + 1);
        const auto first = await(m_decisions->decideMany(ids, true, QStringLiteral("bulk"), batch));
        QVERIFY2(first, qPrintable(first ? QString() : first.error().describe()));
        for (const BulkDecisionOutcome &o : first.value())
            QVERIFY2(o.decided, qPrintable(o.error.describe()));
        const auto again = await(m_decisions->decideMany(ids, true, QStringLiteral("bulk"), batch));
        QVERIFY(again);
        QCOMPARE(decided(), 3);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions")), txBefore + 3);
    }

    // Optimistic: the exception's last event is what the operator saw. Cut: not accepted;
    // again: accepted once; once more: refused as changed since (not accepted twice).
    void aResolutionCutIsNotRecordedAndResolvesOnceAgain()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SET LOCAL ROLE ledger_owner; "
                        "INSERT INTO recon.bank_accounts (identifier, currency, account_id, "
                        "mapped_by) SELECT 'DE00FC', 'EUR', id, 'test' FROM ledger.accounts "
                        "WHERE code = 'FC-A'; "
                        "WITH x AS (INSERT INTO recon.exceptions (bank_account_id, type, "
                        "entry_id, amount_minor, raised_by, due_at) SELECT b.id, "
                        "'missing_in_statement', (SELECT min(id) FROM ledger.entries), 500, "
                        "'test', now() + interval '5 days' FROM recon.bank_accounts b WHERE "
                        "b.identifier = 'DE00FC' RETURNING id, raised_at) INSERT INTO "
                        "recon.exception_state SELECT id, 'open', NULL, NULL, raised_at FROM x"))
                    .ok);
        const qint64 exception = count(QStringLiteral("SELECT max(id) FROM recon.exceptions"));
        ReconService recon(m_operator.get(), m_operator.get());
        checkCut(cutDuring<qint64>(QStringLiteral("fc-operator"), [&] {
            return recon.accept(exception, QStringLiteral("BANK_FEE"), QStringLiteral("fee"), 0);
        }));
        QCOMPARE(
            m_admin->scalar(
                QStringLiteral("SELECT state FROM recon.exception_state WHERE exception_id = %1")
                    .arg(exception)),
            QStringLiteral("open"));
        const auto first =
            await(recon.accept(exception, QStringLiteral("BANK_FEE"), QStringLiteral("fee"), 0));
        QVERIFY2(first, qPrintable(first ? QString() : first.error().describe()));
        const auto again =
            await(recon.accept(exception, QStringLiteral("BANK_FEE"), QStringLiteral("fee"), 0));
        QVERIFY(!again);
        QCOMPARE(count(QStringLiteral(
                           "SELECT count(*) FROM recon.exception_events WHERE exception_id = %1")
                           .arg(exception)),
                 1);
        QCOMPARE(
            m_admin->scalar(
                QStringLiteral("SELECT state FROM recon.exception_state WHERE exception_id = %1")
                    .arg(exception)),
            QStringLiteral("accepted"));
    }

    // A statement export: written beside its target, recorded, then renamed. Cut while it is
    // recorded: no record and no file (not even the staged one); again: issued once.
    void anExportCutLeavesNoFileAndExportsOnceAgain()
    {
        DbWorker compliance(m_db.dsnFor(QStringLiteral("console_compliance")),
                            QStringLiteral("fc-compliance"));
        StatementService statements(&compliance);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        StatementExportRequest request;
        request.accountCode = QStringLiteral("FC-B");
        request.from = QDateTime(QDate(2026, 11, 1), QTime(0, 0), QTimeZone::utc());
        request.to = QDateTime(QDate(2026, 12, 1), QTime(0, 0), QTimeZone::utc());
        request.format = QStringLiteral("csv");
        request.outPath = dir.filePath(QStringLiteral("fc-b.csv"));
        const qint64 before = count(QStringLiteral("SELECT count(*) FROM ledger.statements"));
        checkCut(cutDuring<StatementRecord>(QStringLiteral("fc-compliance"),
                                            [&] { return statements.issue(request); }));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.statements")), before);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList());
        const auto first = await(statements.issue(request));
        QVERIFY2(first, qPrintable(first ? QString() : first.error().describe()));
        QVERIFY(QFile::exists(request.outPath));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{QStringLiteral("fc-b.csv")});
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.statements")), before + 1);
    }

    // A bank file import is one transaction: cut, nothing of the file; again, imported once;
    // once more, "already imported".
    void anImportCutImportsNothingAndImportsOnceAgain()
    {
        ReconService recon(m_operator.get(), m_operator.get());
        const QString file = QStringLiteral(LEDGER_RECON_DATA_DIR "/mt940_cp1252.sta");
        const auto import = [&]() -> Result<ReconImportSummary> {
            ReconImportJob *job =
                recon.startImport(file, QStringLiteral("auto"), {}, QStringLiteral("FC-A"), this);
            QSignalSpy finished(job, &ReconImportJob::finished);
            if (!job->isFinished() && !test::waitForCount(finished, 1, 60000))
                return Error::make(Error::Kind::Timeout, QStringLiteral("the import never ended"));
            const Result<ReconImportSummary> r = job->result();
            job->deleteLater();
            return r;
        };
        const qint64 lines = count(QStringLiteral("SELECT count(*) FROM recon.lines"));
        const qint64 files = count(QStringLiteral("SELECT count(*) FROM recon.files"));
        Result<ReconImportSummary> cut = Error::make(Error::Kind::Internal, QString());
        {
            Connection blocker(m_db.adminDsn(), QStringLiteral("tst_faultconnection blocker"));
            test::execOn(blocker, QStringLiteral("BEGIN; LOCK TABLE audit.events IN SHARE MODE"));
            ReconImportJob *job =
                recon.startImport(file, QStringLiteral("auto"), {}, QStringLiteral("FC-A"), this);
            QSignalSpy finished(job, &ReconImportJob::finished);
            QVERIFY(QTest::qWaitFor(
                [&] {
                    return count(QStringLiteral(
                               "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                               "'fc-operator' AND wait_event_type = 'Lock'")) > 0;
                },
                30000));
            m_admin->exec(QStringLiteral("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE application_name = 'fc-operator'"));
            test::execOn(blocker, QStringLiteral("ROLLBACK"));
            QVERIFY(job->isFinished() || test::waitForCount(finished, 1, 60000));
            cut = job->result();
            job->deleteLater();
        }
        checkCut(cut);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.lines")), lines);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.files")), files);
        const auto first = import();
        QVERIFY2(first, qPrintable(first ? QString() : first.error().describe()));
        QVERIFY(!first.value().alreadyImported);
        QVERIFY(first.value().lines > 0);
        const auto again = import();
        QVERIFY(again);
        QVERIFY(again.value().alreadyImported);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.lines")),
                 lines + first.value().lines);
    }

    // A matching run: cut, no run recorded; again, one run.
    void aMatchingRunCutRecordsNothingAndRunsAgain()
    {
        ReconService recon(m_operator.get(), m_operator.get());
        const qint64 runs = count(QStringLiteral("SELECT count(*) FROM recon.runs"));
        checkCut(cutDuring<ReconMatchSummary>(QStringLiteral("fc-operator"), [&] {
            return recon.match(QStringLiteral("FC-A"), false);
        }));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.runs")), runs);
        const auto first = await(recon.match(QStringLiteral("FC-A"), false));
        QVERIFY2(first, qPrintable(first ? QString() : first.error().describe()));
        QVERIFY(count(QStringLiteral("SELECT count(*) FROM recon.runs")) > runs);
    }

    void aVerificationCutRecordsNothingAndVerifiesAgain()
    {
        DbWorker auditor(m_db.dsnFor(QStringLiteral("console_auditor")),
                         QStringLiteral("fc-auditor"));
        AuditService audit(&auditor);
        const qint64 before = count(
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'audit.verified'"));
        const auto cut = cutDuring<VerificationResult>(QStringLiteral("fc-auditor"), [&] {
            return audit.verifyChain({}, this, {}, std::make_shared<std::atomic_bool>(false));
        });
        checkCut(cut);
        QCOMPARE(count(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'audit.verified'")),
                 before);
        const auto again =
            await(audit.verifyChain({}, this, {}, std::make_shared<std::atomic_bool>(false)));
        QVERIFY2(again, qPrintable(again ? QString() : again.error().describe()));
        QVERIFY(!again.value().brokenAt);
        QCOMPARE(count(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'audit.verified'")),
                 before + 1);
    }
};

QTEST_GUILESS_MAIN(TestFaultConnection)
#include "tst_faultconnection.moc"
