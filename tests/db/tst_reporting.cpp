// The reporting store's hourly balance buckets (0016) against a real seeded ledger: a
// refresh equals the entries (first build and incremental, with backdated and
// future-dated entries landing in old and new hours), the chart drawn from the buckets
// holds only balances the account really had and every extreme it had, entries newer
// than the buckets are in the chart before any refresh, the fallbacks, who may refresh,
// and refresh_stale's choice of accounts. Every expectation is computed here in C++ from
// the raw entries, independently of the SQL under test.

#include "DemoSeed.h"
#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QMap>
#include <QTest>

#include <algorithm>

using namespace ledger;

namespace {

constexpr qint64 kHourUs = 3600LL * 1000 * 1000;
constexpr qint64 kDayUs = 24 * kHourUs;

struct Entry
{
    qint64 effectiveUs = 0;
    qint64 amount = 0;
};

struct Bucket
{
    int entries = 0;
    qint64 net = 0;
    qint64 low = 0;
    qint64 high = 0;
    bool operator==(const Bucket &o) const
    {
        return entries == o.entries && net == o.net && low == o.low && high == o.high;
    }
};

qint64 floorDiv(qint64 a, qint64 b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

} // namespace

class TestReporting : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::SqlSession> m_admin;
    QString m_code;  // the busiest customer
    QString m_other; // an account in the same currency that may go negative
    QString m_currency;
    qint64 m_accountId = 0;
    int m_sign = 1;
    int m_posted = 0;

    QString scalar(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

    // The account's entries in effective order, straight from the table.
    QList<Entry> entries(qint64 account = 0)
    {
        const auto r = m_admin->exec(
            QStringLiteral("SELECT (extract(epoch FROM effective_at) * 1000000)::bigint, amount "
                           "FROM ledger.entries WHERE account_id = $1 "
                           "ORDER BY effective_at, account_seq"),
            {QString::number(account ? account : m_accountId)});
        QList<Entry> out;
        for (const QStringList &row : r.rows)
            out.append({row[0].toLongLong(), row[1].toLongLong()});
        return out;
    }

    static QMap<qint64, Bucket> naiveBuckets(const QList<Entry> &all, qint64 unitUs = kHourUs)
    {
        QMap<qint64, Bucket> out;
        qint64 hour = 0;
        qint64 run = 0;
        Bucket *b = nullptr;
        for (const Entry &e : all) {
            const qint64 h = floorDiv(e.effectiveUs, unitUs) * unitUs;
            if (!b || h != hour) {
                hour = h;
                run = 0;
                b = &out[h];
            }
            run += e.amount;
            b->low = b->entries ? qMin(b->low, run) : run;
            b->high = b->entries ? qMax(b->high, run) : run;
            b->net = run;
            ++b->entries;
        }
        return out;
    }

    QMap<qint64, Bucket> storedBuckets(bool days = false)
    {
        const auto r = m_admin->exec(
            days
                ? QStringLiteral("SELECT (extract(epoch FROM day) * 1000000)::bigint, entries, "
                                 "net, low, high FROM reporting.balance_days WHERE account_id = $1")
                : QStringLiteral("SELECT (extract(epoch FROM bucket) * 1000000)::bigint, "
                                 "entries, net, low, high FROM reporting.balance_buckets WHERE "
                                 "account_id = $1"),
            {QString::number(m_accountId)});
        QMap<qint64, Bucket> out;
        for (const QStringList &row : r.rows)
            out.insert(row[0].toLongLong(), {row[1].toInt(), row[2].toLongLong(),
                                             row[3].toLongLong(), row[4].toLongLong()});
        return out;
    }

    QString refresh()
    {
        return scalar(QStringLiteral("SELECT reporting.refresh_balance_buckets($1)"),
                      {QString::number(m_accountId)});
    }

    // Posts amountMinor (credit to the customer when negative) effective at the given time.
    void post(const QString &effectiveAt, qint64 customerMinor)
    {
        const QString amount = QString::number(double(customerMinor) / 100.0, 'f', 2);
        const QString other = QString::number(double(-customerMinor) / 100.0, 'f', 2);
        const auto r = m_admin->exec(
            QStringLiteral(
                "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', $1::text, "
                "'effective_at', $2::text, 'description', 'reporting test', 'legs', "
                "jsonb_build_array(jsonb_build_object('account', $3::text, 'amount', $4::text, "
                "'currency', $6::text), jsonb_build_object('account', $5::text, 'amount', "
                "$7::text, 'currency', $6::text))))"),
            {QStringLiteral("reporting-%1").arg(++m_posted), effectiveAt, m_code, amount, m_other,
             m_currency, other});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    struct Point
    {
        qint64 atUs;
        qint64 balance;
        bool exact;
    };

    QList<Point> chart(qint64 fromUs, qint64 toUs, int samples, qint64 account = 0)
    {
        const auto r = m_admin->exec(
            QStringLiteral(
                "SELECT (extract(epoch FROM at) * 1000000)::bigint, balance_minor, "
                "exact FROM ledger.balance_series($1, timestamptz 'epoch' + $2::bigint * "
                "interval '1 microsecond', timestamptz 'epoch' + $3::bigint * "
                "interval '1 microsecond', $4)"),
            {QString::number(account ? account : m_accountId), QString::number(fromUs),
             QString::number(toUs), QString::number(samples)});
        if (!r.ok)
            qWarning("balance_series: %s", qPrintable(r.message));
        QList<Point> out;
        for (const QStringList &row : r.rows)
            out.append({row[0].toLongLong(), row[1].toLongLong(), row[2] == QLatin1String("t")});
        return out;
    }

    // Every point of a bucket chart is a balance the account had; its extremes are the
    // account's extremes over the whole hours charted.
    // unitUs: the buckets the server must have read (days for long ranges, else hours).
    void checkBucketChart(const QList<Point> &points, const QList<Entry> &all, qint64 fromUs,
                          qint64 toUs, int samples, qint64 unitUs = kDayUs, int sign = 0)
    {
        const int m_sign = sign ? sign : this->m_sign;
        const auto before = [&](qint64 t, bool inclusive) {
            qint64 s = 0;
            for (const Entry &e : all)
                if (e.effectiveUs < t || (inclusive && e.effectiveUs == t))
                    s += e.amount;
            return s;
        };
        QVERIFY(points.size() > 2);
        QVERIFY2(points.size() <= 4 * samples + 2, qPrintable(QString::number(points.size())));
        for (const Point &p : points)
            QVERIFY(!p.exact);
        QCOMPARE(points.first().atUs, fromUs);
        QCOMPARE(points.first().balance, m_sign * before(fromUs, true));
        QCOMPARE(points.last().atUs, toUs);
        QCOMPARE(points.last().balance, m_sign * before(toUs, true));
        const QMap<qint64, Bucket> hours = naiveBuckets(all, unitUs);
        const qint64 h0 = floorDiv(fromUs + unitUs - 1, unitUs) * unitUs;
        const qint64 hn = floorDiv(toUs, unitUs) * unitUs;
        // The set of balances a line through every entry passes, over the whole hours.
        qint64 lo = m_sign * before(h0, false);
        qint64 hi = lo;
        for (const qint64 edge : {m_sign * before(fromUs, true), m_sign * before(toUs, true)}) {
            lo = qMin(lo, edge);
            hi = qMax(hi, edge);
        }
        for (auto it = hours.constBegin(); it != hours.constEnd(); ++it) {
            if (it.key() < h0 || it.key() >= hn)
                continue;
            const qint64 opening = before(it.key(), false);
            for (const qint64 v : {opening + it->low, opening + it->high}) {
                lo = qMin(lo, m_sign * v);
                hi = qMax(hi, m_sign * v);
            }
        }
        qint64 plo = points.first().balance;
        qint64 phi = plo;
        for (int i = 1; i + 1 < points.size(); ++i) {
            const Point &p = points[i];
            QVERIFY(points[i - 1].atUs <= p.atUs);
            plo = qMin(plo, p.balance);
            phi = qMax(phi, p.balance);
            const qint64 inHour = p.atUs - floorDiv(p.atUs, unitUs) * unitUs;
            if (inHour == 0) { // a bucket's opening or closing balance
                QCOMPARE(p.balance, m_sign * before(p.atUs, false));
            } else { // the least or greatest balance inside the bucket
                QCOMPARE(inHour, unitUs / 2);
                const qint64 hour = p.atUs - inHour;
                QVERIFY(hours.contains(hour));
                const qint64 opening = before(hour, false);
                QVERIFY2(p.balance == m_sign * (opening + hours[hour].low) ||
                             p.balance == m_sign * (opening + hours[hour].high),
                         qPrintable(QString::number(p.balance)));
            }
        }
        plo = qMin(plo, points.last().balance);
        phi = qMax(phi, points.last().balance);
        QCOMPARE(plo, lo);
        QCOMPARE(phi, hi);
    }

    std::pair<qint64, qint64> lifeRange()
    {
        const auto r = m_admin->exec(
            QStringLiteral("SELECT (extract(epoch FROM min(effective_at)) * 1000000)::bigint - "
                           "1000000, (extract(epoch FROM max(effective_at)) * 1000000)::bigint + "
                           "1000000 FROM ledger.entries WHERE account_id = $1"),
            {QString::number(m_accountId)});
        return {r.rows[0][0].toLongLong(), r.rows[0][1].toLongLong()};
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        const QString seeded = test::seedDemoHistory(m_db.adminDsn(), 12, 6000);
        QVERIFY2(seeded.isEmpty(), qPrintable(seeded));
        m_admin = std::make_unique<test::SqlSession>(m_db.adminDsn());
        m_code = scalar(QStringLiteral(
            "SELECT a.code FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id = "
            "a.id WHERE a.code LIKE 'CUST-%' ORDER BY h.last_seq DESC LIMIT 1"));
        QVERIFY(!m_code.isEmpty());
        const auto a = m_admin->exec(
            QStringLiteral("SELECT id, currency, CASE WHEN normal_side = 'debit' THEN 1 ELSE -1 "
                           "END FROM ledger.accounts WHERE code = $1"),
            {m_code});
        m_accountId = a.rows[0][0].toLongLong();
        m_currency = a.rows[0][1];
        m_sign = a.rows[0][2].toInt();
        m_other = scalar(QStringLiteral("SELECT code FROM ledger.accounts WHERE currency = $1 "
                                        "AND allow_negative AND code <> $2 ORDER BY code LIMIT 1"),
                         {m_currency, m_code});
        QVERIFY(!m_other.isEmpty());
        QVERIFY(entries().size() > 300);
    }

    void cleanup()
    {
        const QStringList broken = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(broken.isEmpty(), qPrintable(broken.join(QLatin1Char('\n'))));
    }

    // Before any refresh the chart has no buckets to read: index probes, as in 0014.
    void withoutBucketsTheChartSamples()
    {
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM reporting.bucket_marks WHERE "
                                       "account_id = $1"),
                        {QString::number(m_accountId)}),
                 QStringLiteral("0"));
        const auto [from, to] = lifeRange();
        const QList<Point> points = chart(from, to, 40);
        QCOMPARE(points.size(), 40);
        QCOMPARE(points.first().atUs, from);
        QCOMPARE(points.last().atUs, to);
    }

    void firstRefreshBuildsEveryHour()
    {
        const QList<Entry> all = entries();
        QCOMPARE(refresh(), QString::number(all.size()));
        const QMap<qint64, Bucket> expected = naiveBuckets(all);
        const QMap<qint64, Bucket> stored = storedBuckets();
        QCOMPARE(stored.size(), expected.size());
        QVERIFY(stored == expected);
        QVERIFY(storedBuckets(true) == naiveBuckets(all, kDayUs));
        QCOMPARE(refresh(), QStringLiteral("0")); // already current
    }

    void theChartFromBucketsHasEveryExtreme_data()
    {
        QTest::addColumn<int>("samples");
        QTest::addColumn<double>("fromFraction");
        QTest::addColumn<double>("toFraction");
        QTest::newRow("whole life, 60 px") << 60 << 0.0 << 1.0;
        QTest::newRow("whole life, 25 px") << 25 << 0.0 << 1.0;
        QTest::newRow("middle half, 30 px") << 30 << 0.25 << 0.75;
    }

    void theChartFromBucketsHasEveryExtreme()
    {
        QFETCH(int, samples);
        QFETCH(double, fromFraction);
        QFETCH(double, toFraction);
        const auto [first, last] = lifeRange();
        const qint64 from = first + qint64(double(last - first) * fromFraction) + 123457;
        const qint64 to = first + qint64(double(last - first) * toFraction);
        const QList<Point> points = chart(from, to, samples);
        checkBucketChart(points, entries(), from, to, samples);
    }

    // Entries posted after the last refresh (backdated into old hours, now, future-dated)
    // are in the chart at once, and the next refresh folds exactly those hours in.
    void newerEntriesCountBeforeAndAfterTheRefresh()
    {
        const auto [first, last] = lifeRange();
        const qint64 middle = first + (last - first) / 2;
        const QString middleIso =
            QDateTime::fromMSecsSinceEpoch(middle / 1000, Qt::UTC).toString(Qt::ISODateWithMs);
        post(middleIso, -987654);                                           // backdated, old hour
        post(QDateTime::currentDateTimeUtc().toString(Qt::ISODate), -4321); // now
        post(QDateTime::currentDateTimeUtc().addDays(3).toString(Qt::ISODate), 1200); // future
        const QList<Entry> all = entries();
        const qint64 to = QDateTime::currentDateTimeUtc().addDays(4).toMSecsSinceEpoch() * 1000;
        checkBucketChart(chart(first, to, 50), all, first, to, 50);
        QVERIFY(storedBuckets() != naiveBuckets(all)); // not refreshed yet
        QCOMPARE(refresh(), QStringLiteral("3"));
        QVERIFY(storedBuckets() == naiveBuckets(all));
        QVERIFY(storedBuckets(true) == naiveBuckets(all, kDayUs));
        checkBucketChart(chart(first, to, 50), all, first, to, 50);
    }

    // A range of a few days holding many entries is charted from hours: a dense account,
    // 300 postings over 50 hours, charted 10 pixels wide (fewer whole days than half the
    // pixels), before and after a backdated posting.
    void aFewDaysAreChartedFromHours()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('DENSE-A', 'Dense A', 'EUR', 'asset'); "
                        "SELECT ledger.open_account('DENSE-B', 'Dense B', 'EUR', 'liability'); "
                        "DO $$ BEGIN FOR i IN 1..300 LOOP PERFORM ledger.post_transaction("
                        "jsonb_build_object('idempotency_key', 'dense-' || i, 'effective_at', "
                        "timestamptz '2025-03-01 05:17:00+00' + i * interval '10 minutes', 'legs', "
                        "jsonb_build_array(jsonb_build_object('account', 'DENSE-A', 'amount', "
                        "((i * 37) % 200 - 89.5)::text, 'currency', 'EUR'), jsonb_build_object("
                        "'account', 'DENSE-B', 'amount', (89.5 - (i * 37) % 200)::text, "
                        "'currency', 'EUR')))); END LOOP; END $$"))
                    .ok);
        const qint64 dense =
            scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = 'DENSE-A'"))
                .toLongLong();
        QVERIFY(scalar(QStringLiteral("SELECT reporting.refresh_balance_buckets($1)"),
                       {QString::number(dense)}) == QStringLiteral("300"));
        const qint64 from =
            QDateTime::fromString(QStringLiteral("2025-03-01T05:00:00Z"), Qt::ISODate)
                    .toMSecsSinceEpoch() *
                1000 +
            1;
        const qint64 to = from + 52 * kHourUs;
        checkBucketChart(chart(from, to, 10, dense), entries(dense), from, to, 10, kHourUs, 1);
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                        "'dense-late', 'effective_at', '2025-03-02 10:10:00+00', 'legs', "
                        "jsonb_build_array(jsonb_build_object('account', 'DENSE-A', 'amount', "
                        "'-5000', 'currency', 'EUR'), jsonb_build_object('account', 'DENSE-B', "
                        "'amount', '5000', 'currency', 'EUR'))))"))
                    .ok);
        checkBucketChart(chart(from, to, 10, dense), entries(dense), from, to, 10, kHourUs, 1);
    }

    // Few entries in the range: every entry, exact, as before.
    void aShortRangeIsExact()
    {
        const auto [first, last] = lifeRange();
        const QList<Point> points = chart(first, first + (last - first) / 50, 400);
        QVERIFY(!points.isEmpty());
        for (const Point &p : points)
            QVERIFY(p.exact);
    }

    void refreshStaleTakesBigAccountsWithinItsBudget()
    {
        // Accounts with at least 200 entries and buckets behind, the most behind first.
        const auto r = m_admin->exec(
            QStringLiteral("SELECT count(*) FILTER (WHERE h.last_seq >= 200 AND h.last_seq > "
                           "coalesce(m.through_seq, 0)) FROM ledger.account_heads h LEFT JOIN "
                           "reporting.bucket_marks m ON m.account_id = h.account_id"));
        const int stale = r.rows[0][0].toInt();
        QVERIFY(stale >= 2);
        const auto one =
            m_admin->exec(QStringLiteral("SELECT * FROM reporting.refresh_stale(200, 1)"));
        QVERIFY2(one.ok, qPrintable(one.message));
        QCOMPARE(one.rows[0][0], QStringLiteral("1")); // the budget is spent by the first
        const auto rest =
            m_admin->exec(QStringLiteral("SELECT * FROM reporting.refresh_stale(200)"));
        QCOMPARE(rest.rows[0][0], QString::number(stale - 1));
        QCOMPARE(
            scalar(QStringLiteral("SELECT count(*) FROM ledger.account_heads h LEFT JOIN "
                                  "reporting.bucket_marks m ON m.account_id = h.account_id WHERE "
                                  "h.last_seq >= 200 AND h.last_seq > coalesce(m.through_seq, 0)")),
            QStringLiteral("0"));
        // Small accounts are left to the exact path.
        QCOMPARE(
            scalar(
                QStringLiteral(
                    "SELECT count(*) FROM reporting.bucket_marks m JOIN ledger.account_heads h "
                    "ON h.account_id = m.account_id WHERE h.last_seq < 200 AND m.account_id <> $1"),
                {QString::number(m_accountId)}),
            QStringLiteral("0"));
        // And every account's buckets equal its entries.
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT count(*) FROM (SELECT m.account_id FROM reporting.bucket_marks m "
                     "WHERE (SELECT coalesce(sum(net), 0) FROM reporting.balance_buckets k WHERE "
                     "k.account_id = m.account_id) <> (SELECT h.balance FROM ledger.account_heads "
                     "h WHERE h.account_id = m.account_id)) x")),
                 QStringLiteral("0"));
    }

    void onlyWritersAndTheOwnerRefresh()
    {
        for (const char *role : {"console_auditor", "console_operator", "console_supervisor",
                                 "console_compliance", "console_broker"}) {
            test::SqlSession s(m_db.dsnFor(QString::fromLatin1(role)));
            const auto refused = s.exec(QStringLiteral("SELECT reporting.refresh_stale()"));
            QVERIFY2(!refused.ok, role);
            QCOMPARE(refused.sqlState, QStringLiteral("42501"));
            const auto read = s.exec(QStringLiteral("SELECT * FROM reporting.balance_buckets"));
            QCOMPARE(read.sqlState, QStringLiteral("42501"));
        }
        test::SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const auto ok = writer.exec(QStringLiteral("SELECT reporting.refresh_balance_buckets($1)"),
                                    {QString::number(m_accountId)});
        QVERIFY2(ok.ok, qPrintable(ok.message));
        const auto unknown =
            writer.exec(QStringLiteral("SELECT reporting.refresh_balance_buckets(-1)"));
        QCOMPARE(unknown.sqlState, QStringLiteral("LG018"));
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = "
                     "'reporting'::regnamespace AND has_function_privilege('public', p.oid, "
                     "'EXECUTE')")),
                 QStringLiteral("0"));
    }
};

QTEST_GUILESS_MAIN(TestReporting)
#include "tst_reporting.moc"
