// Step 12: a stream of numbered events (1,000 entities of 20 events each, on 200 accounts,
// an entity's events a hundred places apart: 20,000 events; LEDGER_STREAM_ENTITIES=5000
// makes it the 100,000, and QTEST_FUNCTION_TIMEOUT=1500000 (ms) gives that the time it
// needs) replayed three times into one ledger, each time shuffled (every event moved up to 2,000
// places: in the first replay many arrive ahead of their predecessors and are held; the two
// after it find everything posted) and with 5% of them sent twice, through
// ledger.ingest_source_batch as the Kafka ingester calls it; and posted once, in order, into a
// second database. The replayed ledger is the clean one: the same transactions under the same keys
// with the same legs, the same balances, every entity at its last number, each entity's events
// applied in its order, nothing held. Each pass's time is printed.
#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/MigrationSet.h"
#include "db/Migrator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>

#include <QElapsedTimer>
#include <algorithm>

using namespace ledger;
using test::SqlSession;

namespace {

constexpr int kPerEntity = 20;
constexpr int kAccounts = 200;
constexpr int kBatch = 500;
constexpr int kDisplacement = 2000;

// How many entities the stream has (LEDGER_STREAM_ENTITIES, a multiple of 100).
int entities()
{
    const int n = qEnvironmentVariableIntValue("LEDGER_STREAM_ENTITIES");
    return n >= 100 ? n / 100 * 100 : 1000;
}

QString eventText(int entity, int seq)
{
    const int account = entity % kAccounts;
    return QString::fromUtf8(
        QJsonDocument(
            QJsonObject{{QStringLiteral("event_id"), QStringLiteral("r%1-%2").arg(entity).arg(seq)},
                        {QStringLiteral("type"),
                         seq % 3 == 0 ? QStringLiteral("outcome") : QStringLiteral("income")},
                        {QStringLiteral("account"), QStringLiteral("R-%1").arg(account)},
                        {QStringLiteral("amount"), QStringLiteral("%1.%2").arg(seq).arg(
                                                       entity % 100, 2, 10, QLatin1Char('0'))},
                        {QStringLiteral("currency"), QStringLiteral("EUR")},
                        {QStringLiteral("occurred_at"), QStringLiteral("2026-11-20T10:00:00Z")},
                        {QStringLiteral("entity"), QStringLiteral("inv-%1").arg(entity)},
                        {QStringLiteral("entity_seq"), seq}})
            .toJson(QJsonDocument::Compact));
}

// The stream in its order: entities a hundred at a time, each one's events in turn, so
// that an entity's events are a hundred places apart.
QStringList cleanStream()
{
    QStringList out;
    out.reserve(qsizetype(entities()) * kPerEntity);
    for (int block = 0; block < entities(); block += 100) {
        for (int seq = 1; seq <= kPerEntity; ++seq) {
            for (int e = block; e < block + 100; ++e)
                out.append(eventText(e, seq));
        }
    }
    return out;
}

// Every event moved by up to kDisplacement places, and 5% sent again a little later.
QStringList shuffled(const QStringList &clean, quint32 seed)
{
    QRandomGenerator rng(seed);
    QList<QPair<double, QString>> keyed;
    keyed.reserve(clean.size() * 21 / 20);
    for (int i = 0; i < clean.size(); ++i) {
        const double at = i + rng.bounded(double(kDisplacement));
        keyed.append({at, clean.at(i)});
        if (rng.bounded(20) == 0)
            keyed.append({at + rng.bounded(double(kDisplacement)), clean.at(i)});
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    QStringList out;
    out.reserve(keyed.size());
    for (const auto &k : keyed)
        out.append(k.second);
    return out;
}

struct Fed
{
    qint64 posted = 0, duplicates = 0, parked = 0, held = 0, released = 0;
    QString failure;
};

// The stream through ledger.ingest_source_batch, kBatch messages a call, partition 0.
Fed feed(SqlSession &s, const QString &source, const QStringList &stream)
{
    Fed f;
    for (int i = 0; i < stream.size(); i += kBatch) {
        QJsonArray items;
        for (int k = i; k < qMin(int(stream.size()), i + kBatch); ++k)
            items.append(QJsonObject{{QStringLiteral("offset"), k},
                                     {QStringLiteral("event"), stream.at(k)}});
        const auto r = s.exec(
            QStringLiteral("SELECT posted, duplicates, parked, held, released FROM "
                           "ledger.ingest_source_batch($1, 'money', 0, $2::jsonb)"),
            {source, QString::fromUtf8(QJsonDocument(items).toJson(QJsonDocument::Compact))});
        if (!r.ok) {
            f.failure = QStringLiteral("offset %1: %2 %3").arg(i).arg(r.sqlState, r.message);
            return f;
        }
        f.posted += r.rows[0][0].toLongLong();
        f.duplicates += r.rows[0][1].toLongLong();
        f.parked += r.rows[0][2].toLongLong();
        f.held += r.rows[0][3].toLongLong();
        f.released += r.rows[0][4].toLongLong();
    }
    return f;
}

// What makes two ledgers the same: the transactions by key with their legs, and balances.
const char *kContent =
    "SELECT md5(string_agg(t.idempotency_key || ':' || t.kind || ':' || t.effective_at || ':' || "
    "(SELECT string_agg(a.code || '=' || e.amount, ',' ORDER BY a.code) FROM ledger.entries e "
    "JOIN ledger.accounts a ON a.id = e.account_id WHERE e.transaction_id = t.id), "
    "'|' ORDER BY t.idempotency_key)) || ' ' || count(*) FROM ledger.transactions t";
const char *kBalances =
    "SELECT md5(string_agg(a.code || '=' || h.balance || '/' || h.last_seq, ',' ORDER BY a.code)) "
    "FROM ledger.accounts a JOIN ledger.account_heads h ON h.account_id = a.id";
const char *kEntitiesDone =
    "SELECT count(*) FILTER (WHERE last_seq = 20) || '/' || count(*) FROM ledger.entity_sequences";

} // namespace

class TestStreamReplay : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

    static bool openAccounts(SqlSession &s)
    {
        return s
            .exec(QStringLiteral(
                      "SELECT ledger.open_account('1000-CASH-EUR', 'Cash', 'EUR', 'asset'), "
                      "count(ledger.open_account('R-' || g, 'Customer ' || g, 'EUR', 'liability')) "
                      "FROM generate_series(0, %1) g")
                      .arg(kAccounts - 1))
            .ok;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY2(m_db.start(), qPrintable(m_db.lastError())); }

    void threeShuffledReplaysMakeTheCleanLedger()
    {
        const QStringList clean = cleanStream();
        QCOMPARE(clean.size(), entities() * kPerEntity);

        // The clean run, in a database of its own.
        const QString cleanDsn = m_db.createDatabase(QStringLiteral("clean"));
        {
            Connection c(cleanDsn);
            const auto all = MigrationSet::builtIn();
            QVERIFY(all.ok());
            QVERIFY(!Migrator(c, all.value()).migrate().isEmpty());
        }
        SqlSession cleanDb(cleanDsn);
        QVERIFY(openAccounts(cleanDb));
        QElapsedTimer t;
        t.start();
        const Fed once = feed(cleanDb, QStringLiteral("clean"), clean);
        qInfo("%lld events in order into a clean ledger: %lld ms", qint64(clean.size()),
              t.elapsed());
        QVERIFY2(once.failure.isEmpty(), qPrintable(once.failure));
        QCOMPARE(once.posted, qint64(clean.size()));
        QCOMPARE(once.held, qint64(0));

        // Three shuffled replays with copies into the ledger.
        SqlSession admin(m_db.adminDsn());
        QVERIFY(openAccounts(admin));
        qint64 posted = 0;
        for (int run = 1; run <= 3; ++run) {
            const QStringList stream = shuffled(clean, quint32(run * 7919));
            QVERIFY(stream.size() > clean.size() * 104 / 100);
            t.restart();
            const Fed f = feed(admin, QStringLiteral("replay-%1").arg(run), stream);
            qInfo("replay %d (%lld messages): %lld ms; held %lld", run, qint64(stream.size()),
                  t.elapsed(), f.held);
            QVERIFY2(f.failure.isEmpty(), qPrintable(f.failure));
            QCOMPARE(f.parked, qint64(0));
            if (run == 1)
                QVERIFY2(f.held > 2000,
                         qPrintable(QString::number(f.held))); // the shuffle was felt
            posted += f.posted + f.released;
            QCOMPARE(admin.scalar(QStringLiteral("SELECT count(*) FROM ledger.held_events")),
                     QStringLiteral("0"));
        }
        QCOMPARE(posted, qint64(clean.size()));

        QCOMPARE(admin.scalar(QString::fromLatin1(kContent)),
                 cleanDb.scalar(QString::fromLatin1(kContent)));
        QCOMPARE(admin.scalar(QString::fromLatin1(kBalances)),
                 cleanDb.scalar(QString::fromLatin1(kBalances)));
        const QString allDone = QStringLiteral("%1/%1").arg(entities());
        QCOMPARE(admin.scalar(QString::fromLatin1(kEntitiesDone)), allDone);
        QCOMPARE(cleanDb.scalar(QString::fromLatin1(kEntitiesDone)), allDone);
        // Each entity's events applied in its order.
        QCOMPARE(admin.scalar(QStringLiteral(
                     "WITH t AS (SELECT id, split_part(substr(idempotency_key, 8), '-', 1) AS e, "
                     "split_part(substr(idempotency_key, 8), '-', 2)::int AS n FROM "
                     "ledger.transactions) "
                     "SELECT count(*) FROM (SELECT id < lag(id) OVER (PARTITION BY e ORDER BY n) "
                     "AS bad FROM t) x "
                     "WHERE bad")),
                 QStringLiteral("0"));
        const QStringList violations = test::ledgerInvariantViolations(admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }
};

QTEST_GUILESS_MAIN(TestStreamReplay)
#include "tst_streamreplay.moc"
