// The account timeline model against a real seeded ledger: exact counts without count(*),
// every row and running balance equal to a naive numbering of the entries in both orders,
// pages evicted while scrolling, date-range windows, keyset searches by amount and text,
// jumps to a date, marks for backdated entries and reversals, the audit event for opening
// a history, and clear errors. Also the repository calls behind the point-in-time panel,
// the transaction detail and the chart, and who may call them.

#include "DemoSeed.h"
#include "LedgerInvariants.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "TimelineModel.h"
#include "console/LedgerService.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"
#include "db/TimelineRepository.h"

#include <QAbstractItemModelTester>
#include <QRegularExpression>
#include <QSet>
#include <QSignalSpy>
#include <QTest>

using namespace ledger;

namespace {

struct Expected
{
    qint64 seq = 0;
    qint64 balanceMinor = 0;
};

} // namespace

class TestTimelineModel : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    QString m_code; // a customer with backdated entries and a reversal
    qint64 m_accountId = 0;
    qint64 m_entries = 0;

    QString scalar(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

    // The timeline as a naive query numbers it (row_number/sum over the whole account).
    QList<Expected> naive(TimelineOrder order)
    {
        const QString key = order == TimelineOrder::Effective
                                ? QStringLiteral("e.effective_at, e.account_seq")
                                : QStringLiteral("e.account_seq");
        const auto r = m_admin->exec(
            QStringLiteral("SELECT e.account_seq, CASE WHEN a.normal_side = 'debit' THEN 1 ELSE "
                           "-1 END * sum(e.amount) OVER (ORDER BY %1) "
                           "FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "
                           "WHERE a.code = $1 ORDER BY %1")
                .arg(key),
            {m_code});
        QList<Expected> out;
        for (const QStringList &row : r.rows)
            out.append({row[0].toLongLong(), row[1].toLongLong()});
        return out;
    }

    // Asks for the row's page the way a scrolling view does (reading it), and waits for it
    // to arrive.
    static bool loadRow(TimelineModel &model, int row)
    {
        const QModelIndex i = model.index(row, 0);
        return test::waitForModel(
            &model, [&] { return model.data(i, TimelineModel::LoadedRole).toBool(); });
    }

    static void openAndWait(TimelineModel &model, const QString &code)
    {
        QSignalSpy counted(&model, &TimelineModel::countChanged);
        model.openAccount(code);
        QVERIFY(test::waitForCount(counted, 1));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        const QString seeded = test::seedDemoHistory(m_db.adminDsn(), 12, 6000);
        QVERIFY2(seeded.isEmpty(), qPrintable(seeded));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        // The busiest customer that has a reversal and a backdated entry.
        m_code = scalar(QStringLiteral(
            "SELECT a.code FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id = "
            "a.id WHERE a.code LIKE 'CUST-%' "
            "AND EXISTS (SELECT 1 FROM ledger.entries e JOIN ledger.transactions t ON t.id = "
            "e.transaction_id WHERE e.account_id = a.id AND t.reverses IS NOT NULL) "
            "AND EXISTS (SELECT 1 FROM ledger.entries e WHERE e.account_id = a.id AND "
            "e.recorded_at - e.effective_at > interval '5 minutes') "
            "ORDER BY h.last_seq DESC LIMIT 1"));
        QVERIFY2(!m_code.isEmpty(), "the demo history has no customer with a reversal");
        m_accountId =
            scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = $1"), {m_code})
                .toLongLong();
        m_entries = scalar(QStringLiteral("SELECT count(*) FROM ledger.entries WHERE "
                                          "account_id = $1"),
                           {QString::number(m_accountId)})
                        .toLongLong();
        QVERIFY(m_entries > 300);
        qInfo("timeline account %s: %lld entries", qPrintable(m_code), m_entries);
    }

    void cleanup()
    {
        const QStringList broken = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(broken.isEmpty(), qPrintable(broken.join(QLatin1Char('\n'))));
    }

    void everyRowMatchesANaiveNumbering_data()
    {
        QTest::addColumn<TimelineOrder>("order");
        QTest::newRow("effective") << TimelineOrder::Effective;
        QTest::newRow("recorded") << TimelineOrder::Recorded;
    }

    void everyRowMatchesANaiveNumbering()
    {
        QFETCH(TimelineOrder, order);
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        TimelineModel model(&ledger);
        model.setPageSize(64);
        model.setMaxCachedPages(4);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setOrder(order);
        const QString before =
            scalar(QStringLiteral(
                       "SELECT count(*) FROM audit.events WHERE action = 'account.history_opened' "
                       "AND object_id = $1"),
                   {m_code});
        openAndWait(model, m_code);
        // Exact count at once, from the head's sequence, no count(*).
        QCOMPARE(model.rowCount(), int(m_entries));
        QVERIFY(model.isCountExact());
        QCOMPARE(model.history().entryCount, m_entries);
        QCOMPARE(model.history().code, m_code);
        // Opening the history is an audit event, by the auditor's login.
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                       "'account.history_opened' AND object_id = $1"),
                        {m_code})
                     .toInt(),
                 before.toInt() + 1);
        QCOMPARE(scalar(QStringLiteral("SELECT session_role FROM audit.events WHERE action = "
                                       "'account.history_opened' ORDER BY id DESC LIMIT 1")),
                 QStringLiteral("test_console_auditor"));

        const QList<Expected> expected = naive(order);
        QCOMPARE(expected.size(), qsizetype(m_entries));
        for (int row = 0; row < model.rowCount(); ++row) {
            QVERIFY(loadRow(model, row));
            const QModelIndex i = model.index(row, 0);
            QCOMPARE(i.data(TimelineModel::AccountSeqRole).toLongLong(), expected[row].seq);
            QCOMPARE(i.data(TimelineModel::PositionRole).toLongLong(), qint64(row));
            const std::optional<TimelineEntry> e = model.entryAt(row);
            QVERIFY(e);
            QCOMPARE(e->balanceMinor, expected[row].balanceMinor);
        }
        // Backwards from the end (no page before is at hand: the server finds each start
        // by position, and the last page counts back from the account's balance).
        TimelineModel backwards(&ledger);
        backwards.setPageSize(64);
        backwards.setMaxCachedPages(4);
        backwards.setOrder(order);
        openAndWait(backwards, m_code);
        for (int row = backwards.rowCount() - 1; row >= 0; row -= 13) {
            QVERIFY(loadRow(backwards, row));
            const std::optional<TimelineEntry> e = backwards.entryAt(row);
            QCOMPARE(e->accountSeq, expected[row].seq);
            QCOMPARE(e->position, qint64(row));
            QCOMPARE(e->balanceMinor, expected[row].balanceMinor);
        }
        // Scrolling kept a bounded cache.
        QVERIFY2(model.cachedPageCount() <= 4,
                 qPrintable(QString::number(model.cachedPageCount())));
        // Amounts and balances are exact decimal strings with the currency's decimals.
        const QString balance =
            model.index(model.rowCount() - 1, TimelineModel::Balance).data().toString();
        QVERIFY2(
            QRegularExpression(QStringLiteral("^-?[0-9]+\\.[0-9]{2}$")).match(balance).hasMatch(),
            qPrintable(balance));
        if (order == TimelineOrder::Recorded)
            QCOMPARE(balance, scalar(QStringLiteral("SELECT balance FROM ledger.account_list WHERE "
                                                    "code = $1"),
                                     {m_code}));
    }

    void bigTimelinesShowTheFirstPageThenGrow()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        TimelineModel model(&ledger);
        model.setPageSize(50);
        model.setProgressiveThreshold(100); // "big" for this account
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy counted(&model, &TimelineModel::countChanged);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        int rowsWhenCounted = -1;
        bool loadedWhenCounted = false;
        bool fullWhenCounted = true;
        connect(&model, &TimelineModel::countChanged, this, [&] {
            rowsWhenCounted = model.rowCount();
            loadedWhenCounted = model.index(0, 0).data(TimelineModel::LoadedRole).toBool();
            fullWhenCounted = model.isFullyShown();
        });
        model.openAccount(m_code);
        QVERIFY(test::waitForCount(counted, 1));
        QCOMPARE(counted.count(), 1);
        QCOMPARE(counted.first().first().toLongLong(), m_entries); // the count is exact at once
        QCOMPARE(rowsWhenCounted, 50);                             // the first page first
        QVERIFY(loadedWhenCounted);
        QVERIFY(!fullWhenCounted);
        QVERIFY(test::waitForModel(&model, [&] { return model.rowCount() == int(m_entries); }));
        QCOMPARE(model.rowCount(), int(m_entries)); // then all of it
        QVERIFY(model.isFullyShown());
        QCOMPARE(inserted.count(), 1);
        // A jump asked for before the growth lands on a valid row.
        TimelineModel again(&ledger);
        again.setProgressiveThreshold(100);
        QSignalSpy jumped(&again, &TimelineModel::jumpReady);
        QSignalSpy againCounted(&again, &TimelineModel::countChanged);
        again.openAccount(m_code);
        QVERIFY(test::waitForCount(againCounted, 1));
        QCOMPARE(againCounted.count(), 1);
        again.jumpToDate(QDateTime::currentDateTimeUtc().addYears(1));
        QVERIFY(test::waitForCount(jumped, 1));
        QCOMPARE(jumped.count(), 1);
        QCOMPARE(jumped.first().first().toInt(), int(m_entries) - 1);
        QVERIFY(jumped.first().first().toInt() < again.rowCount());
    }

    void dateRangeIsAnExactWindow_data()
    {
        QTest::addColumn<TimelineOrder>("order");
        QTest::newRow("effective") << TimelineOrder::Effective;
        QTest::newRow("recorded") << TimelineOrder::Recorded;
    }

    void dateRangeIsAnExactWindow()
    {
        QFETCH(TimelineOrder, order);
        const QString column = order == TimelineOrder::Effective ? QStringLiteral("effective_at")
                                                                 : QStringLiteral("recorded_at");
        // A quarter of the history, from a third of the way in.
        const QStringList bounds =
            m_admin
                ->exec(QStringLiteral("SELECT to_char(lo AT TIME ZONE 'UTC', "
                                      "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), to_char(hi AT TIME "
                                      "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM "
                                      "(SELECT min(%1) + (max(%1) - min(%1)) / 3 AS lo, min(%1) + "
                                      "(max(%1) - min(%1)) * 7 / 12 AS hi FROM ledger.entries "
                                      "WHERE account_id = $1) x")
                           .arg(column),
                       {QString::number(m_accountId)})
                .rows.first();
        TimelineFilter filter;
        filter.from = QDateTime::fromString(bounds[0], Qt::ISODateWithMs);
        filter.to = QDateTime::fromString(bounds[1], Qt::ISODateWithMs);
        const int inRange =
            scalar(QStringLiteral("SELECT count(*) FROM ledger.entries WHERE account_id = $1 AND "
                                  "%1 >= $2::timestamptz AND %1 < $3::timestamptz")
                       .arg(column),
                   {QString::number(m_accountId), bounds[0], bounds[1]})
                .toInt();
        QVERIFY(inRange > 10);

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_operator")));
        LedgerService ledger(&worker);
        TimelineModel model(&ledger);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setOrder(order);
        openAndWait(model, m_code);
        QSignalSpy counted(&model, &TimelineModel::countChanged);
        model.setFilter(filter);
        QVERIFY(!model.isSearchMode());
        QVERIFY(test::waitForCount(counted, 1));
        QCOMPARE(counted.count(), 1);
        QCOMPARE(counted.first().at(0).toLongLong(), qint64(inRange));
        QCOMPARE(counted.first().at(1).toBool(), true);
        QCOMPARE(model.rowCount(), inRange);
        QVERIFY(loadRow(model, 0));
        QVERIFY(loadRow(model, inRange - 1));
        const auto first = model.entryAt(0);
        const auto last = model.entryAt(inRange - 1);
        const auto time = [order](const TimelineEntry &e) {
            return order == TimelineOrder::Effective ? e.effectiveAt : e.recordedAt;
        };
        QVERIFY(time(*first) >= *filter.from);
        QVERIFY(time(*last) < *filter.to);
        // The rows are the positions of the whole timeline: the first one's position is
        // the number of entries before the range.
        QCOMPARE(first->position,
                 scalar(QStringLiteral("SELECT count(*) FROM ledger.entries WHERE account_id = $1 "
                                       "AND %1 < $2::timestamptz")
                            .arg(column),
                        {QString::number(m_accountId), bounds[0]})
                     .toLongLong());
    }

    void searchPagesByKeysetAndCountsAtTheEnd_data()
    {
        QTest::addColumn<TimelineOrder>("order");
        QTest::addColumn<QString>("minAmount");
        QTest::addColumn<QString>("maxAmount");
        QTest::addColumn<QString>("text");
        QTest::newRow("amount, effective") << TimelineOrder::Effective << QStringLiteral("10")
                                           << QStringLiteral("250.50") << QString();
        QTest::newRow("text, recorded")
            << TimelineOrder::Recorded << QString() << QString() << QStringLiteral("fee");
        QTest::newRow("both, effective") << TimelineOrder::Effective << QStringLiteral("1.00")
                                         << QString() << QStringLiteral("TRANSFER");
    }

    void searchPagesByKeysetAndCountsAtTheEnd()
    {
        QFETCH(TimelineOrder, order);
        QFETCH(QString, minAmount);
        QFETCH(QString, maxAmount);
        QFETCH(QString, text);
        const int expected =
            scalar(QStringLiteral(
                       "SELECT count(*) FROM ledger.entries e JOIN ledger.transactions t ON t.id = "
                       "e.transaction_id WHERE e.account_id = $1 "
                       "AND (nullif($2, '') IS NULL OR abs(e.amount) >= nullif($2, '')::numeric * "
                       "100) "
                       "AND (nullif($3, '') IS NULL OR abs(e.amount) <= nullif($3, '')::numeric * "
                       "100) "
                       "AND (nullif($4, '') IS NULL OR t.description ILIKE '%' || $4 || '%' OR "
                       "t.external_ref ILIKE '%' || $4 || '%')"),
                   {QString::number(m_accountId), minAmount, maxAmount, text})
                .toInt();
        QVERIFY(expected > 0);

        DbWorker worker(m_db.dsnFor(QStringLiteral("console_compliance")));
        LedgerService ledger(&worker);
        TimelineModel model(&ledger);
        model.setPageSize(50);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setOrder(order);
        openAndWait(model, m_code);
        TimelineFilter filter;
        filter.minAmount = minAmount;
        filter.maxAmount = maxAmount;
        filter.text = text;
        QSignalSpy counted(&model, &TimelineModel::countChanged);
        model.setFilter(filter);
        QVERIFY(model.isSearchMode());
        QVERIFY(test::waitForCount(counted, 1));
        // Page by page, as a view scrolling down calls fetchMore.
        while (model.canFetchMore({})) {
            const qsizetype before = counted.count();
            QCOMPARE(counted.last().at(1).toBool(), false); // "at least n" so far
            model.fetchMore({});
            QVERIFY(test::waitForCount(counted, before + 1));
        }
        QCOMPARE(model.rowCount(), expected);
        QCOMPARE(counted.last().at(0).toLongLong(), qint64(expected));
        QCOMPARE(counted.last().at(1).toBool(), true);
        QVERIFY(model.isCountExact());
        // In the timeline's order, each entry once.
        QSet<qint64> seen;
        for (int row = 0; row < model.rowCount(); ++row)
            seen.insert(model.entryAt(row)->accountSeq);
        QCOMPARE(seen.size(), qsizetype(expected));
        for (int row = 1; row < model.rowCount(); ++row) {
            const auto a = model.entryAt(row - 1);
            const auto b = model.entryAt(row);
            if (order == TimelineOrder::Recorded)
                QVERIFY(a->accountSeq < b->accountSeq);
            else
                QVERIFY(a->effectiveAt < b->effectiveAt ||
                        (a->effectiveAt == b->effectiveAt && a->accountSeq < b->accountSeq) ||
                        a->effectiveAt == b->effectiveAt); // Qt keeps ms, the server µs
        }
        // Running balances are the account's, not the sum of the matches.
        const auto e = model.entryAt(model.rowCount() / 2);
        const qint64 sign =
            scalar(QStringLiteral("SELECT CASE WHEN normal_side = 'debit' THEN 1 ELSE -1 END "
                                  "FROM ledger.accounts WHERE id = $1"),
                   {QString::number(m_accountId)})
                .toLongLong();
        const QString balanceSql =
            order == TimelineOrder::Recorded
                ? QStringLiteral("SELECT sum(amount) FROM ledger.entries WHERE account_id = $1 "
                                 "AND account_seq <= $2")
                : QStringLiteral("SELECT sum(x.amount) FROM ledger.entries x, ledger.entries y "
                                 "WHERE x.account_id = $1 AND y.account_id = $1 AND "
                                 "y.account_seq = $2 AND (x.effective_at, x.account_seq) <= "
                                 "(y.effective_at, y.account_seq)");
        QCOMPARE(e->balanceMinor, sign * scalar(balanceSql, {QString::number(m_accountId),
                                                             QString::number(e->accountSeq)})
                                             .toLongLong());
    }

    void badAmountFilterIsAClearError()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        TimelineModel model(&ledger);
        openAndWait(model, m_code);
        QSignalSpy failed(&model, &TimelineModel::loadFailed);
        TimelineFilter filter;
        filter.minAmount = QStringLiteral("12.345"); // EUR has two decimals
        model.setFilter(filter);
        QVERIFY(test::waitForCount(failed, 1));
        QCOMPARE(failed.count(), 1);
        const auto error = failed.first().first().value<ledger::Error>();
        QCOMPARE(error.sqlState, QStringLiteral("LG013"));
        QCOMPARE(model.rowCount(), 0);
        filter.minAmount = QStringLiteral("300");
        filter.maxAmount = QStringLiteral("20");
        model.setFilter(filter);
        QVERIFY(test::waitForCount(failed, 2));
        QCOMPARE(failed.count(), 2);
        QCOMPARE(failed.last().first().value<ledger::Error>().sqlState, QStringLiteral("LG072"));
    }

    void jumpsToTheFirstEntryAtOrAfterADate_data()
    {
        QTest::addColumn<TimelineOrder>("order");
        QTest::addColumn<bool>("search");
        QTest::newRow("effective") << TimelineOrder::Effective << false;
        QTest::newRow("recorded") << TimelineOrder::Recorded << false;
        QTest::newRow("effective, searching") << TimelineOrder::Effective << true;
    }

    void jumpsToTheFirstEntryAtOrAfterADate()
    {
        QFETCH(TimelineOrder, order);
        QFETCH(bool, search);
        const QString column = order == TimelineOrder::Effective ? QStringLiteral("effective_at")
                                                                 : QStringLiteral("recorded_at");
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        TimelineModel model(&ledger);
        model.setPageSize(40);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setOrder(order);
        if (search) {
            TimelineFilter filter;
            filter.minAmount = QStringLiteral("0.01"); // everything, but through the search
            model.setFilter(filter);
        }
        openAndWait(model, m_code);
        const QString at = scalar(
            QStringLiteral("SELECT to_char((min(%1) + (max(%1) - min(%1)) * 0.8) AT TIME ZONE "
                           "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM ledger.entries WHERE "
                           "account_id = $1")
                .arg(column),
            {QString::number(m_accountId)});
        const int before = scalar(QStringLiteral("SELECT count(*) FROM ledger.entries WHERE "
                                                 "account_id = $1 AND %1 < $2::timestamptz")
                                      .arg(column),
                                  {QString::number(m_accountId), at})
                               .toInt();
        QSignalSpy jumped(&model, &TimelineModel::jumpReady);
        QSignalSpy counted(&model, &TimelineModel::countChanged);
        model.jumpToDate(QDateTime::fromString(at, Qt::ISODateWithMs));
        QVERIFY(test::waitForCount(jumped, 1));
        QCOMPARE(jumped.count(), 1);
        if (search) {
            QSet<qint64> seen;
            for (int row = 0; row < model.rowCount(); ++row)
                seen.insert(model.entryAt(row)->accountSeq);
            QCOMPARE(seen.size(), qsizetype(model.rowCount()));
        }
        QCOMPARE(jumped.first().first().toInt(), before);
        if (search) {
            // Searching loaded only as far as it had to.
            QVERIFY(model.rowCount() > before && model.rowCount() < int(m_entries));
            QVERIFY(!model.isCountExact());
        }
        // Past the end: the last row.
        model.jumpToDate(QDateTime::currentDateTimeUtc().addYears(5));
        QVERIFY(test::waitForCount(jumped, 2));
        QCOMPARE(jumped.count(), 2);
        QCOMPARE(jumped.last().first().toInt(), int(m_entries) - 1);
    }

    void marksBackdatedEntriesAndReversals()
    {
        DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
        LedgerService ledger(&worker);
        TimelineModel model(&ledger);
        model.setOrder(TimelineOrder::Recorded);
        openAndWait(model, m_code);
        const auto seqOf = [&](const QString &sql) {
            return scalar(sql, {QString::number(m_accountId)}).toInt();
        };
        const int reversal = seqOf(QStringLiteral(
            "SELECT min(e.account_seq) FROM ledger.entries e JOIN ledger.transactions t ON t.id "
            "= e.transaction_id WHERE e.account_id = $1 AND t.reverses IS NOT NULL"));
        const int reversed = seqOf(QStringLiteral(
            "SELECT min(e.account_seq) FROM ledger.entries e JOIN ledger.transactions t ON "
            "t.reverses = e.transaction_id WHERE e.account_id = $1"));
        const int backdated = seqOf(QStringLiteral(
            "SELECT min(account_seq) FROM ledger.entries WHERE account_id = $1 AND recorded_at - "
            "effective_at > interval '5 minutes' AND transaction_id NOT IN (SELECT id FROM "
            "ledger.transactions WHERE reverses IS NOT NULL)"));
        const int ordinary = seqOf(QStringLiteral(
            "SELECT min(e.account_seq) FROM ledger.entries e JOIN ledger.transactions t ON t.id "
            "= e.transaction_id WHERE e.account_id = $1 AND t.reverses IS NULL AND "
            "e.recorded_at - e.effective_at <= interval '5 minutes' AND e.effective_at <= "
            "e.recorded_at AND NOT EXISTS (SELECT 1 FROM ledger.transactions r WHERE r.reverses "
            "= t.id)"));
        for (int seq : {reversal, reversed, backdated, ordinary})
            QVERIFY(loadRow(model, seq - 1)); // recorded order: row = seq - 1
        const auto marks = [&](int seq) {
            return model.index(seq - 1, TimelineModel::Marks).data().toString();
        };
        QVERIFY(model.index(reversal - 1, 0).data(TimelineModel::IsReversalRole).toBool());
        QVERIFY2(marks(reversal).contains(QLatin1String("reversal of #")),
                 qPrintable(marks(reversal)));
        QVERIFY(model.index(reversed - 1, 0).data(TimelineModel::IsReversedRole).toBool());
        QVERIFY2(marks(reversed).contains(QLatin1String("reversed by #")),
                 qPrintable(marks(reversed)));
        QVERIFY(model.index(backdated - 1, 0).data(TimelineModel::IsBackdatedRole).toBool());
        QVERIFY2(marks(backdated).contains(QLatin1String("backdated")),
                 qPrintable(marks(backdated)));
        QCOMPARE(marks(ordinary), QString());
        // The reversal row names the transaction it reverses, which is the reversed one.
        QCOMPARE(model.entryAt(reversal - 1)->reverses,
                 scalar(QStringLiteral("SELECT t.reverses FROM ledger.entries e JOIN "
                                       "ledger.transactions t ON t.id = e.transaction_id WHERE "
                                       "e.account_id = $1 AND e.account_seq = $2"),
                        {QString::number(m_accountId), QString::number(reversal)})
                     .toLongLong());
    }

    void errorsAreClear()
    {
        {
            DbWorker worker(m_db.dsnFor(QStringLiteral("console_auditor")));
            LedgerService ledger(&worker);
            TimelineModel model(&ledger);
            QAbstractItemModelTester tester(&model,
                                            QAbstractItemModelTester::FailureReportingMode::QtTest);
            QSignalSpy failed(&model, &TimelineModel::loadFailed);
            model.openAccount(QStringLiteral("NO-SUCH-ACCOUNT"));
            QVERIFY(test::waitForCount(failed, 1));
            QCOMPARE(failed.count(), 1);
            const auto error = failed.first().first().value<ledger::Error>();
            QCOMPARE(error.sqlState, QStringLiteral("LG018"));
            QVERIFY(error.message.contains(QLatin1String("NO-SUCH-ACCOUNT")));
            QCOMPARE(model.rowCount(), 0);
        }
        {
            // A broker login may only mint sessions.
            DbWorker worker(m_db.dsnFor(QStringLiteral("console_broker")));
            LedgerService ledger(&worker);
            TimelineModel model(&ledger);
            QSignalSpy failed(&model, &TimelineModel::loadFailed);
            model.openAccount(m_code);
            QVERIFY(test::waitForCount(failed, 1));
            QCOMPARE(failed.count(), 1);
            QCOMPARE(failed.first().first().value<ledger::Error>().kind, Error::Kind::Permission);
        }
        {
            // Unreachable server: a connection error, a retry after it fails again cleanly.
            DbWorker worker(QStringLiteral("host=/nonexistent/socket dbname=ledger user=nobody"));
            LedgerService ledger(&worker);
            TimelineModel model(&ledger);
            QSignalSpy failed(&model, &TimelineModel::loadFailed);
            model.openAccount(m_code);
            QVERIFY(test::waitForCount(failed, 1));
            QCOMPARE(failed.count(), 1);
            QCOMPARE(failed.first().first().value<ledger::Error>().kind, Error::Kind::Connection);
            model.reload();
            QVERIFY(test::waitForCount(failed, 2));
            QCOMPARE(failed.count(), 2);
        }
    }

    void pointInTimeExplainsTheDifference()
    {
        // An effective time just after a backdated entry's, known now.
        const QString e = scalar(
            QStringLiteral("SELECT to_char((effective_at + interval '1 second') AT TIME ZONE "
                           "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM ledger.entries "
                           "WHERE account_id = $1 AND recorded_at - effective_at > interval "
                           "'1 hour' ORDER BY account_seq LIMIT 1"),
            {QString::number(m_accountId)});
        QVERIFY(!e.isEmpty());
        const QDateTime effective = QDateTime::fromString(e, Qt::ISODateWithMs);
        Connection c(m_db.dsnFor(QStringLiteral("console_auditor")));
        const PointInTime p =
            TimelineRepository::pointInTime(c, m_accountId, effective, std::nullopt);
        const auto naiveSum = [&](const QString &known) {
            return scalar(QStringLiteral(
                              "SELECT CASE WHEN a.normal_side = 'debit' THEN 1 ELSE -1 END * "
                              "coalesce(sum(e.amount), 0) FROM ledger.accounts a LEFT JOIN "
                              "ledger.entries e ON e.account_id = a.id AND e.effective_at <= "
                              "$2::timestamptz AND e.recorded_at <= %1 WHERE a.id = $1 GROUP BY "
                              "a.normal_side")
                              .arg(known),
                          {QString::number(m_accountId), e})
                .toLongLong();
        };
        QCOMPARE(p.balanceMinor, naiveSum(QStringLiteral("now()")));
        QCOMPARE(p.shownThenMinor, naiveSum(QStringLiteral("$2::timestamptz")));
        QCOMPARE(p.differenceMinor, p.balanceMinor - p.shownThenMinor);
        QVERIFY(p.explainingCount >= 1);
        QCOMPARE(qint64(p.explaining.size()), p.explainingCount);
        qint64 sum = 0;
        for (const TimelineEntry &x : p.explaining) {
            QVERIFY(x.effectiveAt <= effective);
            QVERIFY(x.recordedAt > effective);
            sum += x.amountMinor;
        }
        QCOMPARE(sum, p.differenceMinor); // the entries listed are the whole difference
        // Defaults: now/now, no difference.
        const PointInTime now =
            TimelineRepository::pointInTime(c, m_accountId, std::nullopt, std::nullopt);
        QCOMPARE(now.differenceMinor, 0);
        QCOMPARE(now.balance, scalar(QStringLiteral("SELECT balance FROM ledger.account_list "
                                                    "WHERE id = $1"),
                                     {QString::number(m_accountId)}));
    }

    void transactionDetailHasLegsLinksRequestsAndAudit()
    {
        const qint64 original =
            scalar(QStringLiteral("SELECT min(reverses) FROM ledger.transactions")).toLongLong();
        const qint64 reversal =
            scalar(QStringLiteral("SELECT id FROM ledger.transactions WHERE reverses = $1"),
                   {QString::number(original)})
                .toLongLong();
        QVERIFY(original > 0 && reversal > 0);
        {
            Connection c(m_db.dsnFor(QStringLiteral("console_auditor")));
            const TransactionDetail d = TimelineRepository::transactionDetail(c, original);
            QCOMPARE(d.id, original);
            QCOMPARE(d.reversedBy, reversal);
            QCOMPARE(d.reverses, 0);
            QCOMPARE(d.legs.size(),
                     scalar(QStringLiteral("SELECT count(*) FROM ledger.entries WHERE "
                                           "transaction_id = $1"),
                            {QString::number(original)})
                         .toInt());
            qint64 total = 0;
            for (const TransactionLeg &l : d.legs)
                total += QString(l.amount).remove(QLatin1Char('.')).toLongLong(); // one currency
            QCOMPARE(total, 0);                                                   // balanced
            QCOMPARE(d.requests.size(), 1);
            QCOMPARE(d.requests.first().state, QStringLiteral("approved"));
            QCOMPARE(d.requests.first().reversalTransactionId, reversal);
            QVERIFY(!d.requests.first().requestedBy.isEmpty());
            QVERIFY(d.requests.first().requestedBy != d.requests.first().decidedBy);
            QVERIFY(d.auditVisible);
            const TransactionDetail r = TimelineRepository::transactionDetail(c, reversal);
            QCOMPARE(r.reverses, original);
            QCOMPARE(r.kind, QStringLiteral("reversal"));
        }
        {
            // An operator may not read the audit log: the detail says so, no events.
            Connection c(m_db.dsnFor(QStringLiteral("console_operator")));
            const TransactionDetail d = TimelineRepository::transactionDetail(c, original);
            QVERIFY(!d.auditVisible);
            QVERIFY(d.auditEvents.isEmpty());
            QCOMPARE(d.reversedBy, reversal);
        }
        {
            // A transaction posted through the posting function has its own audit event.
            test::SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
            const auto posted = writer.exec(
                QStringLiteral(
                    "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                    "'tl-audit', "
                    "'effective_at', now(), 'description', 'audited', 'legs', jsonb_build_array("
                    "jsonb_build_object('account', $1::text, 'amount', '5.00', 'currency', 'EUR'), "
                    "jsonb_build_object('account', '1000-CASH-EUR', 'amount', '-5.00', 'currency', "
                    "'EUR'))))"),
                {QStringLiteral("1100-CARD-SETTLE-EUR")});
            QVERIFY2(posted.ok, qPrintable(posted.message));
            Connection c(m_db.dsnFor(QStringLiteral("console_auditor")));
            const TransactionDetail d =
                TimelineRepository::transactionDetail(c, posted.rows[0][0].toLongLong());
            // Its posting, and this read of it (on record before it was served).
            QCOMPARE(d.auditEvents.size(), 2);
            QCOMPARE(d.auditEvents.first().action, QStringLiteral("transaction.posted"));
            QCOMPARE(d.auditEvents.last().action, QStringLiteral("read.transaction"));
        }
        {
            Connection c(m_db.dsnFor(QStringLiteral("console_auditor")));
            try {
                TimelineRepository::transactionDetail(c, 987654321);
                QFAIL("no error for a missing transaction");
            } catch (const DbException &e) {
                QCOMPARE(e.error().sqlState, QStringLiteral("LG031"));
            }
        }
    }

    void balanceSeriesIsExactForFewEntriesAndSampledForMany()
    {
        Connection c(m_db.dsnFor(QStringLiteral("console_auditor")));
        const AccountHistory h = TimelineRepository::openHistory(c, m_code);
        const QDateTime from = h.firstEffectiveAt.addSecs(-1);
        const QDateTime to = h.lastEffectiveAt.addSecs(1); // Qt's ms are below the server's µs
        const BalanceSeries exact =
            TimelineRepository::balanceSeries(c, m_accountId, from, to, int(m_entries) + 10);
        QVERIFY(exact.exact);
        QCOMPARE(exact.points.size(), qsizetype(m_entries + 1)); // every entry, after a start
        QCOMPARE(exact.points.first().balanceMinor, 0);
        const QList<Expected> expected = naive(TimelineOrder::Effective);
        QCOMPARE(exact.points.last().balanceMinor, expected.last().balanceMinor);
        const BalanceSeries sampled =
            TimelineRepository::balanceSeries(c, m_accountId, from, to, 100);
        QVERIFY(!sampled.exact);
        QCOMPARE(sampled.points.size(), 100);
        QCOMPARE(sampled.points.last().balanceMinor, expected.last().balanceMinor);
        for (int i = 1; i < sampled.points.size(); ++i)
            QVERIFY(sampled.points[i - 1].atMs <= sampled.points[i].atMs);
        // Markers: the reversal and the backdated entries are there, each on the line.
        QStringList kinds;
        for (const BalanceMarker &m : exact.markers)
            kinds << m.marker;
        QVERIFY(kinds.contains(QStringLiteral("reversal")));
        QVERIFY(kinds.contains(QStringLiteral("reversed")));
        QVERIFY(kinds.contains(QStringLiteral("backdated")));
        const BalanceMarker &m = exact.markers.first();
        bool onTheLine = false;
        for (int i = 0; i < expected.size(); ++i)
            onTheLine = onTheLine || (expected[i].seq == m.accountSeq &&
                                      expected[i].balanceMinor == m.balanceMinor);
        QVERIFY(onTheLine);
    }

    void onlyConsoleGroupsMayCallTheTimelineFunctions()
    {
        // PUBLIC has nothing; the console groups have the console-facing functions only.
        const QString granted = scalar(QStringLiteral(
            "SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc p WHERE "
            "p.pronamespace = 'ledger'::regnamespace AND p.proname IN ('open_account_history', "
            "'timeline_window', 'timeline_page', 'timeline_search', 'point_in_time', "
            "'point_in_time_entries', 'transaction_detail', 'balance_series', 'balance_markers') "
            "AND has_function_privilege('console_auditor', p.oid, 'EXECUTE') AND "
            "has_function_privilege('console_operator', p.oid, 'EXECUTE') AND "
            "has_function_privilege('console_supervisor', p.oid, 'EXECUTE') AND "
            "has_function_privilege('console_compliance', p.oid, 'EXECUTE') AND "
            "p.prosecdef AND p.proconfig::text LIKE '%search_path=%'"));
        QCOMPARE(granted.split(QLatin1Char(',')).size(), 9);
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = "
                     "'ledger'::regnamespace AND p.proname IN ('open_account_history', "
                     "'timeline_page', 'count_effective_by', 'effective_seq_at', "
                     "'timeline_count_before', 'effective_balance_after') AND "
                     "(has_function_privilege('public', p.oid, 'EXECUTE') OR "
                     "has_function_privilege('console_broker', p.oid, 'EXECUTE') OR "
                     "has_function_privilege('ledger_writer', p.oid, 'EXECUTE'))")),
                 QStringLiteral("0"));
        // Internal helpers stay with the owner.
        test::SqlSession auditor(m_db.dsnFor(QStringLiteral("console_auditor")));
        const auto refused =
            auditor.exec(QStringLiteral("SELECT ledger.count_effective_by(1, now())"));
        QVERIFY(!refused.ok);
        QCOMPARE(refused.sqlState, QStringLiteral("42501"));
    }
};

QTEST_GUILESS_MAIN(TestTimelineModel)
#include "tst_timelinemodel.moc"
