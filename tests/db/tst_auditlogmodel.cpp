// The auditor's log model against a real database, read as console_auditor: newest first,
// keyset pages that reach the end exactly once without duplicates, every server-side filter
// compared with the same condition in plain SQL, superseded loads dropped, unsealed events
// shown as such, and failures reported. QAbstractItemModelTester watches every model.

#include "AuditLogModel.h"
#include "LedgerInvariants.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "async/WhenReady.h"
#include "console/AuditService.h"
#include "db/DbWorker.h"
#include "domain/InstantText.h"

#include <QAbstractItemModelTester>
#include <QFont>
#include <QSet>
#include <QSignalSpy>
#include <QTest>
#include <QTestEventLoop>

using namespace ledger;

namespace {

constexpr int kSyntheticEvents = 450;

QDateTime utc(const char *iso)
{
    return QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODateWithMs).toUTC();
}

QList<qint64> modelIds(const AuditLogModel &model)
{
    QList<qint64> ids;
    for (int row = 0; row < model.rowCount(); ++row)
        ids.append(model.index(row, 0).data(AuditLogModel::EventIdRole).toLongLong());
    return ids;
}

QList<qint64> firstColumnAsIds(const test::SqlOutcome &outcome)
{
    QList<qint64> ids;
    for (const QStringList &row : outcome.rows)
        ids.append(row.first().toLongLong());
    return ids;
}

} // namespace

class TestAuditLogModel : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

    // Waits until every job submitted to the worker so far has finished and its
    // continuation has run: the worker runs jobs in submission order.
    static void drain(DbWorker &worker)
    {
        QObject context;
        bool done = false;
        QTestEventLoop loop;
        whenReady(worker.submit([](Connection &) { return 0; }), &context,
                  [&](const Result<int> &) {
                      done = true;
                      loop.exitLoop();
                  });
        if (!done)
            loop.enterLoopMSecs(test::kWaitTimeoutMs);
        QVERIFY(done);
    }

    // Fetches page after page until the model says there is no more.
    static void fetchAll(AuditLogModel &model)
    {
        QVERIFY(test::waitForModel(&model, [&] { return !model.isLoading(); }));
        while (model.canFetchMore({})) {
            model.fetchMore({});
            QVERIFY(model.isLoading());
            QVERIFY(test::waitForModel(&model, [&] { return !model.isLoading(); }));
        }
    }

    qint64 scalarId(const QString &sql)
    {
        test::SqlSession admin(m_db.adminDsn());
        return admin.scalar(sql).toLongLong();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        test::SqlSession admin(m_db.adminDsn());
        // Real events: two accounts opened, one transaction posted.
        for (const char *sql :
             {"SELECT ledger.open_account('C1', 'Cash', 'EUR', 'asset')",
              "SELECT ledger.open_account('C2', 'Deposits', 'EUR', 'liability')",
              "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', 'alm-1', "
              "'effective_at', now(), 'legs', jsonb_build_array("
              "jsonb_build_object('account', 'C1', 'amount', '12.34', 'currency', 'EUR'), "
              "jsonb_build_object('account', 'C2', 'amount', '-12.34', 'currency', 'EUR'))))"}) {
            const auto r = admin.exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        // Synthetic events with known operators, actions, objects, times and details, so
        // that every filter has something to narrow. Written as the superuser, as a DBA
        // could; sealed into the chain like any other (here by audit.seal()).
        const auto r = admin.exec(
            QStringLiteral(
                "INSERT INTO audit.events (occurred_at, operator, session_role, action, "
                "object_type, object_id, details) "
                "SELECT timestamptz '2020-01-01 00:00:00+00' + (i % 5) * interval '1 day', "
                "(ARRAY['alice','bob','carol'])[1 + i % 3], 'test', "
                "(ARRAY['reversal.requested','reversal.approved','session.issued',"
                "'balance.asked'])[1 + i % 4], "
                "(ARRAY['reversal_request','reversal_request','session','account'])[1 + i % 4], "
                "CASE WHEN i % 4 = 3 THEN 'C' || (1 + i % 2) ELSE 'R' || (i % 10) END, "
                "jsonb_build_object('note', CASE WHEN i % 7 = 0 THEN 'Quarterly Review ' || i "
                "ELSE 'routine ' || i END, 'n', i) "
                "FROM generate_series(1, %1) i")
                .arg(kSyntheticEvents));
        QVERIFY2(r.ok, qPrintable(r.message));
        QVERIFY(admin.exec(QStringLiteral("SELECT audit.seal()")).ok);
        QCOMPARE(
            admin.scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE seq IS NULL")),
            QStringLiteral("0"));
    }

    void cleanup()
    {
        test::SqlSession admin(m_db.adminDsn());
        const QStringList violations = test::ledgerInvariantViolations(admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void firstPageIsNewestFirstWithEveryField()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogModel model(&audit);
        QSignalSpy pages(&model, &AuditLogModel::pageLoaded);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        // The tester asked for the first page (fetchMore), as a view would.
        QVERIFY(test::waitForCount(pages, 1));
        QCOMPARE(pages.count(), 1);
        QCOMPARE(pages.first().at(0).toInt(), AuditLogModel::DefaultPageSize);
        QCOMPARE(pages.first().at(1).toBool(), false);
        QCOMPARE(model.rowCount(), AuditLogModel::DefaultPageSize);
        QCOMPARE(model.columnCount(), int(AuditLogModel::ColumnCount));
        QVERIFY(model.canFetchMore({}));
        QVERIFY(!model.atEnd());

        const QList<qint64> ids = modelIds(model);
        QCOMPARE(ids.first(), scalarId(QStringLiteral("SELECT max(id) FROM audit.events")));
        for (int i = 1; i < ids.size(); ++i)
            QVERIFY2(ids.at(i) < ids.at(i - 1), "newest first, by id");

        // Every field of the newest event as the database has it.
        test::SqlSession admin(m_db.adminDsn());
        const auto expected = admin.exec(QStringLiteral(
            "SELECT id, seq, operator, session_role, action, object_type, object_id, "
            "details::text, client_info::text, encode(prev_hash, 'hex'), encode(hash, 'hex'), "
            "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
            "FROM audit.events ORDER BY id DESC LIMIT 1"));
        QVERIFY2(expected.ok, qPrintable(expected.message));
        const QStringList row = expected.rows.first();
        const auto event = model.index(0, 0).data(AuditLogModel::EventRole).value<AuditEvent>();
        QCOMPARE(QString::number(event.id), row.at(0));
        QVERIFY(event.seq.has_value());
        QCOMPARE(QString::number(*event.seq), row.at(1));
        QCOMPARE(event.operatorName, row.at(2));
        QCOMPARE(event.sessionRole, row.at(3));
        QCOMPARE(event.action, row.at(4));
        QCOMPARE(event.objectType, row.at(5));
        QCOMPARE(event.objectId, row.at(6));
        QCOMPARE(event.details, row.at(7));
        QCOMPARE(event.clientInfo, row.at(8));
        QCOMPARE(QString::fromLatin1(event.prevHash.toHex()), row.at(9));
        QCOMPARE(QString::fromLatin1(event.hash.toHex()), row.at(10));
        QCOMPARE(event.occurredAt, utc(row.at(11).toLatin1().constData()));

        // The columns show the same.
        auto cell = [&model](AuditLogModel::Column column) {
            return model.index(0, column).data().toString();
        };
        QCOMPARE(cell(AuditLogModel::Sequence), row.at(1));
        QCOMPARE(cell(AuditLogModel::Operator), row.at(2));
        QCOMPARE(cell(AuditLogModel::Action), row.at(4));
        QCOMPARE(cell(AuditLogModel::ObjectType), row.at(5));
        QCOMPARE(cell(AuditLogModel::ObjectId), row.at(6));
        QCOMPARE(cell(AuditLogModel::Details), row.at(7));
        QCOMPARE(cell(AuditLogModel::OccurredAt),
                 formatInstant(event.occurredAt, QTimeZone::systemTimeZone()));
        QCOMPARE(model.index(0, 0).data(AuditLogModel::SequenceRole).toLongLong(), *event.seq);
        QCOMPARE(model.index(0, 0).data(AuditLogModel::SealedRole).toBool(), true);
        QCOMPARE(model.index(0, 0).data(AuditLogModel::ObjectIdRole).toString(), row.at(6));
        QCOMPARE(model.headerData(AuditLogModel::Sequence, Qt::Horizontal).toString(),
                 QStringLiteral("Seq."));
    }

    void pagingReachesTheEndOnceWithoutDuplicates()
    {
        const qint64 total = scalarId(QStringLiteral("SELECT count(*) FROM audit.events"));
        QVERIFY(total > qint64(2) * AuditLogModel::DefaultPageSize); // at least three pages

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogModel model(&audit);
        QSignalSpy pages(&model, &AuditLogModel::pageLoaded);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        fetchAll(model);
        if (QTest::currentTestFailed())
            return;

        QCOMPARE(model.rowCount(), int(total));
        QVERIFY(model.atEnd());
        QVERIFY(!model.canFetchMore({}));
        const QList<qint64> ids = modelIds(model);
        QCOMPARE(QSet<qint64>(ids.begin(), ids.end()).size(), ids.size());
        for (int i = 1; i < ids.size(); ++i)
            QVERIFY(ids.at(i) < ids.at(i - 1));
        test::SqlSession admin(m_db.adminDsn());
        QCOMPARE(ids, firstColumnAsIds(admin.exec(
                          QStringLiteral("SELECT id FROM audit.events ORDER BY id DESC"))));

        // Whole pages, then the rest; the end is reported once, with the last page.
        const int expectedPages =
            int((total + AuditLogModel::DefaultPageSize - 1) / AuditLogModel::DefaultPageSize);
        QCOMPARE(pages.count(), expectedPages);
        int ends = 0;
        for (const QList<QVariant> &page : pages)
            ends += page.at(1).toBool() ? 1 : 0;
        QCOMPARE(ends, 1);
        QCOMPARE(pages.last().at(1).toBool(), true);
        QCOMPARE(pages.last().at(0).toInt(),
                 int(total - qint64(expectedPages - 1) * AuditLogModel::DefaultPageSize));

        // Past the end, fetchMore() does nothing.
        QSignalSpy loading(&model, &AuditLogModel::loadingChanged);
        model.fetchMore({});
        drain(worker);
        QCOMPARE(loading.count(), 0);
        QCOMPARE(model.rowCount(), int(total));
    }

    void aPageExactlyAsLongAsTheLogNeedsNoEmptyRoundTrip()
    {
        const qint64 total = scalarId(QStringLiteral("SELECT count(*) FROM audit.events"));
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogModel model(&audit, nullptr, int(total));
        QSignalSpy pages(&model, &AuditLogModel::pageLoaded);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(test::waitForCount(pages, 1));
        QCOMPARE(pages.count(), 1);
        QCOMPARE(pages.first().at(0).toInt(), int(total));
        QCOMPARE(pages.first().at(1).toBool(), true);
        QVERIFY(!model.canFetchMore({}));
    }

    void filterNarrows_data()
    {
        QTest::addColumn<QString>("operatorName");
        QTest::addColumn<QString>("action");
        QTest::addColumn<QString>("objectType");
        QTest::addColumn<QString>("objectId");
        QTest::addColumn<QDateTime>("from");
        QTest::addColumn<QDateTime>("until");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("where");
        const QString none;
        const QDateTime noTime;

        QTest::newRow("operator") << QStringLiteral("alice") << none << none << none << noTime
                                  << noTime << none << QStringLiteral("operator = 'alice'");
        QTest::newRow("action, exact")
            << none << QStringLiteral("reversal.approved") << none << none << noTime << noTime
            << none << QStringLiteral("action = 'reversal.approved'");
        QTest::newRow("action, prefix")
            << none << QStringLiteral("reversal.") << none << none << noTime << noTime << none
            << QStringLiteral("action LIKE 'reversal.%'");
        QTest::newRow("object type") << none << none << QStringLiteral("account") << none << noTime
                                     << noTime << none << QStringLiteral("object_type = 'account'");
        QTest::newRow("object") << none << none << QStringLiteral("account") << QStringLiteral("C1")
                                << noTime << noTime << none
                                << QStringLiteral("object_type = 'account' AND object_id = 'C1'");
        // From is inclusive, until exclusive: events at exactly 2020-01-02 00:00 are in,
        // those at 2020-01-04 00:00 are out.
        QTest::newRow("time range")
            << none << none << none << none << utc("2020-01-02T00:00:00Z")
            << utc("2020-01-04T00:00:00Z") << none
            << QStringLiteral("occurred_at >= '2020-01-02 00:00:00+00' AND occurred_at < "
                              "'2020-01-04 00:00:00+00'");
        QTest::newRow("from only")
            << none << none << none << none << utc("2020-01-05T00:00:00Z") << noTime << none
            << QStringLiteral("occurred_at >= '2020-01-05 00:00:00+00'");
        QTest::newRow("until only")
            << none << none << none << none << noTime << utc("2020-01-02T00:00:00Z") << none
            << QStringLiteral("occurred_at < '2020-01-02 00:00:00+00'");
        QTest::newRow("text, any case")
            << none << none << none << none << noTime << noTime << QStringLiteral("QUARTERLY")
            << QStringLiteral("details::text ILIKE '%quarterly%'");
        QTest::newRow("all at once")
            << QStringLiteral("bob") << QStringLiteral("reversal.")
            << QStringLiteral("reversal_request") << QStringLiteral("R4")
            << utc("2020-01-01T00:00:00Z") << utc("2020-01-06T00:00:00Z")
            << QStringLiteral("review")
            << QStringLiteral("operator = 'bob' AND action LIKE 'reversal.%' AND object_type = "
                              "'reversal_request' AND object_id = 'R4' AND details::text ILIKE "
                              "'%review%'");
        QTest::newRow("nothing matches") << QStringLiteral("nobody") << none << none << none
                                         << noTime << noTime << none << QStringLiteral("false");
    }

    void filterNarrows()
    {
        QFETCH(QString, operatorName);
        QFETCH(QString, action);
        QFETCH(QString, objectType);
        QFETCH(QString, objectId);
        QFETCH(QDateTime, from);
        QFETCH(QDateTime, until);
        QFETCH(QString, text);
        QFETCH(QString, where);

        test::SqlSession admin(m_db.adminDsn());
        const auto expected = admin.exec(
            QStringLiteral("SELECT id FROM audit.events WHERE %1 ORDER BY id DESC").arg(where));
        QVERIFY2(expected.ok, qPrintable(expected.message));
        const qint64 total = scalarId(QStringLiteral("SELECT count(*) FROM audit.events"));
        QVERIFY2(expected.rows.size() < total, "the filter must narrow");
        if (QByteArray(QTest::currentDataTag()) != "nothing matches")
            QVERIFY2(!expected.rows.isEmpty(), "the case must match something");

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogModel model(&audit);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        AuditFilter filter;
        filter.operatorName = operatorName;
        filter.action = action;
        filter.objectType = objectType;
        filter.objectId = objectId;
        filter.from = from;
        filter.until = until;
        filter.text = text;
        QVERIFY(!filter.isEmpty());
        const qint64 searchesBefore = scalarId(
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'search.run'"));
        model.setFilter(filter);
        QCOMPARE(model.filter().operatorName, operatorName);
        fetchAll(model);
        if (QTest::currentTestFailed())
            return;
        // The search itself went on record first (and may match its own filter).
        const auto expectedNow = admin.exec(
            QStringLiteral("SELECT id FROM audit.events WHERE %1 ORDER BY id DESC").arg(where));
        QCOMPARE(modelIds(model), firstColumnAsIds(expectedNow));
        QVERIFY(model.atEnd());
        QCOMPARE(scalarId(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'search.run'")),
                 searchesBefore + 1);
        QCOMPARE(admin.scalar(QStringLiteral(
                     "SELECT details->>'scope' || ' ' || operator FROM audit.events WHERE action "
                     "= 'search.run' ORDER BY id DESC LIMIT 1")),
                 QStringLiteral("audit_log test_console_auditor"));
        model.refresh(); // a reload is not another search
        fetchAll(model);
        QCOMPARE(scalarId(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'search.run'")),
                 searchesBefore + 1);
    }

    void supersededLoadsAreDropped()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogModel model(&audit);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(test::waitForModel(&model, [&] { return !model.isLoading(); }));
        QCOMPARE(model.rowCount(), AuditLogModel::DefaultPageSize);

        // A second page under way, then two filters in a row: only the last one's rows
        // arrive. The worker runs jobs in order, so the older results reach the model first
        // and are dropped.
        QSignalSpy pages(&model, &AuditLogModel::pageLoaded);
        QSignalSpy loading(&model, &AuditLogModel::loadingChanged);
        model.fetchMore({});
        AuditFilter alice;
        alice.operatorName = QStringLiteral("alice");
        model.setFilter(alice);
        AuditFilter bob;
        bob.operatorName = QStringLiteral("bob");
        model.setFilter(bob);
        QCOMPARE(model.rowCount(), 0);
        QVERIFY(test::waitForCount(pages, 1));
        QCOMPARE(pages.count(), 1);
        drain(worker);
        QCOMPARE(pages.count(), 1);
        const qint64 bobs =
            scalarId(QStringLiteral("SELECT count(*) FROM audit.events WHERE operator = 'bob'"));
        QCOMPARE(model.rowCount(), int(qMin<qint64>(bobs, AuditLogModel::DefaultPageSize)));
        for (int row = 0; row < model.rowCount(); ++row)
            QCOMPARE(model.index(row, AuditLogModel::Operator).data().toString(),
                     QStringLiteral("bob"));
        // Loading went on once and off once: the superseded loads did not switch it off.
        QCOMPARE(loading.count(), 2);

        // The rest of bob's events, without duplicates.
        fetchAll(model);
        const QList<qint64> ids = modelIds(model);
        QCOMPARE(QSet<qint64>(ids.begin(), ids.end()).size(), ids.size());
        test::SqlSession admin(m_db.adminDsn());
        QCOMPARE(ids, firstColumnAsIds(admin.exec(QStringLiteral(
                          "SELECT id FROM audit.events WHERE operator = 'bob' ORDER BY id DESC"))));
    }

    void unsealedEventsAreShownAsSuch()
    {
        // Hold the chain: the committing transaction cannot seal its event and leaves it
        // for the next sealer. (What the tests before left for the next seal, first.)
        QVERIFY(test::SqlSession(m_db.adminDsn()).exec(QStringLiteral("SELECT audit.seal()")).ok);
        test::SqlSession holder(m_db.adminDsn());
        QVERIFY(
            holder.exec(QStringLiteral("SELECT pg_advisory_lock(audit.chain_lock_key(), 0)")).ok);
        test::SqlSession admin(m_db.adminDsn());
        const auto opened =
            admin.exec(QStringLiteral("SELECT ledger.open_account('C3', 'Fees', 'EUR', 'income')"));
        QVERIFY2(opened.ok, qPrintable(opened.message));

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        AuditService audit(&worker);
        AuditLogModel model(&audit);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(test::waitForModel(&model, [&] { return model.rowCount() > 0; }));
        const QModelIndex newest = model.index(0, AuditLogModel::Sequence);
        QCOMPARE(model.index(0, AuditLogModel::ObjectId).data().toString(), QStringLiteral("C3"));
        QCOMPARE(newest.data(AuditLogModel::SealedRole).toBool(), false);
        QVERIFY(!newest.data(AuditLogModel::SequenceRole).isValid());
        QCOMPARE(newest.data().toString(), QStringLiteral("sealing…"));
        QVERIFY(newest.data(Qt::FontRole).value<QFont>().italic());
        QVERIFY(newest.data(AuditLogModel::EventRole).value<AuditEvent>().hash.isEmpty());

        QVERIFY(
            holder.exec(QStringLiteral("SELECT pg_advisory_unlock(audit.chain_lock_key(), 0)")).ok);
        QCOMPARE(admin.scalar(QStringLiteral("SELECT audit.seal()")), QStringLiteral("1"));
        QSignalSpy pages(&model, &AuditLogModel::pageLoaded);
        model.refresh();
        QVERIFY(test::waitForCount(pages, 1));
        QCOMPARE(pages.count(), 1);
        const QModelIndex sealed = model.index(0, AuditLogModel::Sequence);
        QCOMPARE(sealed.data(AuditLogModel::SealedRole).toBool(), true);
        QCOMPARE(sealed.data().toString(),
                 admin.scalar(QStringLiteral("SELECT max(seq) FROM audit.events")));
    }

    void failuresAreReportedAndNotRetriedByTheView()
    {
        DbWorker worker(QStringLiteral("host=/nonexistent/socket dbname=ledger user=nobody"));
        AuditService audit(&worker);
        AuditLogModel model(&audit);
        QSignalSpy failed(&model, &AuditLogModel::loadFailed);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(test::waitForCount(failed, 1));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.first().first().value<ledger::Error>().kind, Error::Kind::Connection);
        QVERIFY(!model.isLoading());
        QCOMPARE(model.rowCount(), 0);
        QVERIFY(!model.canFetchMore({}));
        // refresh() tries again.
        model.refresh();
        QVERIFY(model.isLoading());
        QVERIFY(test::waitForCount(failed, 2));
        QCOMPARE(failed.count(), 2);
    }

    void roleWithoutReadRightsGetsAPermissionError()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_operator")));
        AuditService audit(&worker);
        AuditLogModel model(&audit);
        QSignalSpy failed(&model, &AuditLogModel::loadFailed);
        model.refresh();
        QVERIFY(test::waitForCount(failed, 1));
        QCOMPARE(failed.count(), 1);
        const auto error = failed.first().first().value<ledger::Error>();
        QVERIFY2(error.kind == Error::Kind::Permission,
                 qPrintable(error.describe() + QLatin1Char(' ') + error.detail));
        QCOMPARE(model.rowCount(), 0);
    }
};

QTEST_GUILESS_MAIN(TestAuditLogModel)
#include "tst_auditlogmodel.moc"
