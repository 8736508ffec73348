// The reporting store's keep-up rate (Step 11): a ledger and a reporting store on two clusters
// of this machine (`reporting replica setup`, ReplicaAdmin), single postings
// (ledger.post_transaction, random pairs of --accounts accounts) from 1, 2, 4 and 8 clients,
// then batches of 500 (ledger.post_batch) from 1 and 2, for --seconds each. Per step:
// postings/s on the ledger; the replication lag sampled every 250 ms (WAL bytes the store has
// not confirmed; the ledger's replay_lag for it); and once the clients stop, how long the store
// takes to hold every entry (drain). The store keeps up at a rate when its lag stays bounded
// and it drains in about a second. At the end the store's daily totals are compared with the
// same totals computed from its entries. Both servers and the clients share this machine's
// cores: the rates are what one machine does, not a bound of either server.
// build/release/tests/bench/bench_replication [--seconds S] [--accounts A]

#include "BenchCluster.h"
#include "SqlSession.h"
#include "db/Connection.h"
#include "db/LedgerRepository.h"
#include "db/ReplicaAdmin.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>

#include <atomic>
#include <cstdio>
#include <thread>

using namespace ledger;
using bench::measure;
using bench::Rate;
using bench::say;
using test::SqlSession;

namespace {

QByteArray transfer(const QString &key, int from, int to)
{
    return QStringLiteral(R"({"idempotency_key": "%1", "effective_at": "%2", "description": "bench",
        "legs": [{"account": "R-%3", "amount": "-1.00", "currency": "EUR"}, {"account": "R-%4", "amount": "1.00", "currency": "EUR"}]})")
        .arg(key, QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs))
        .arg(from)
        .arg(to)
        .toUtf8();
}

struct Lag
{
    double maxBytes = 0;
    double maxSeconds = 0;
};

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Reporting store keep-up rate."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("seconds"), QStringLiteral("Seconds per step (default 10)."),
                      QStringLiteral("S"), QStringLiteral("10")});
    parser.addOption({QStringLiteral("accounts"), QStringLiteral("Accounts (default 1000)."),
                      QStringLiteral("A"), QStringLiteral("1000")});
    parser.process(app);
    const double seconds = std::max(1.0, parser.value(QStringLiteral("seconds")).toDouble());
    const int accounts = std::max(10, parser.value(QStringLiteral("accounts")).toInt());

    bench::BenchCluster ledgerCluster(
        QStringLiteral("replication-ledger"),
        QStringLiteral("wal_level = logical\nmax_wal_senders = 8\nmax_replication_slots = 8"));
    bench::BenchCluster storeCluster(QStringLiteral("replication-store"));
    for (bench::BenchCluster *c : {&ledgerCluster, &storeCluster}) {
        if (auto s = c->start(); !s) {
            std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
            return 1;
        }
    }
    const QString ledgerDsn = ledgerCluster.dsn();
    const QString storeDsn = storeCluster.dsn();
    SqlSession ledger(ledgerDsn);
    SqlSession store(storeDsn);
    say(QStringLiteral("ledger %1, reporting store %2 (both durable, this machine's %3 cores)")
            .arg(ledgerCluster.path(), storeCluster.path())
            .arg(std::thread::hardware_concurrency()));
    bench::sayYardsticks(ledger);
    const auto opened = ledger.exec(
        QStringLiteral("SELECT count(ledger.open_account('R-' || g, 'Account ' || g, 'EUR', "
                       "'asset', true)) FROM generate_series(1, %1) g")
            .arg(accounts));
    if (!opened.ok) {
        std::fprintf(stderr, "bench: accounts: %s\n", qPrintable(opened.message));
        return 1;
    }
    try {
        Connection primary(ledgerDsn);
        Connection replica(storeDsn);
        ReplicaAdmin::setup(primary, replica, ledgerDsn);
        // Tables are marked ready once a transaction is applied past their copy.
        Connection writer(ledgerDsn);
        for (int k = 0; k < 50; ++k) {
            LedgerRepository::post(writer, transfer(QStringLiteral("warm-%1").arg(k), 1, 2));
            const ReplicaAdmin::Status s = ReplicaAdmin::status(&primary, replica);
            if (s.tablesTotal > 0 && s.tablesReady == s.tablesTotal)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    } catch (const DbException &e) {
        std::fprintf(stderr, "bench: setup: %s\n", e.what());
        return 1;
    }
    const auto entriesOn = [](SqlSession &s) {
        return s.scalar(QStringLiteral("SELECT count(*) FROM ledger.entries")).toLongLong();
    };
    const auto drain = [&]() {
        QElapsedTimer t;
        t.start();
        const qint64 want = entriesOn(ledger);
        while (entriesOn(store) < want && t.elapsed() < 600000)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return double(t.elapsed()) / 1000.0;
    };
    say(QStringLiteral("streaming; first drain %1 s").arg(drain(), 0, 'f', 2));

    say(QStringLiteral("\npostings for %1 s per step; lag sampled every 250 ms").arg(seconds));
    say(QStringLiteral("%1 %2 %3 %4 %5 %6 %7")
            .arg(QStringLiteral("clients"), 7)
            .arg(QStringLiteral("per call"), 8)
            .arg(QStringLiteral("postings/s"), 11)
            .arg(QStringLiteral("entries/s"), 10)
            .arg(QStringLiteral("max lag KB"), 11)
            .arg(QStringLiteral("max replay lag s"), 17)
            .arg(QStringLiteral("drain s"), 8));
    qint64 keys = 0;
    // Single postings from 1, 2, 4 and 8 clients, then batches of 500 (ledger.post_batch)
    // from 1 and 2: the rate the store must keep up with grows past what single postings
    // reach on this machine.
    const QList<QPair<int, int>> steps{{1, 1}, {2, 1}, {4, 1}, {8, 1}, {1, 500}, {2, 500}};
    for (const auto &step : steps) {
        const int clients = step.first;
        const int batch = step.second;
        std::atomic<bool> sampling{true};
        Lag lag;
        std::thread sampler([&] {
            SqlSession s(ledgerDsn);
            while (sampling.load()) {
                const auto r = s.exec(QStringLiteral(
                    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), "
                    "(SELECT coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication "
                    "WHERE application_name = 'ledger_reporting') FROM pg_replication_slots WHERE "
                    "slot_name = 'ledger_reporting'"));
                if (r.ok && !r.rows.isEmpty()) {
                    lag.maxBytes = std::max(lag.maxBytes, r.rows.first().value(0).toDouble());
                    lag.maxSeconds = std::max(lag.maxSeconds, r.rows.first().value(1).toDouble());
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
            }
        });
        const qint64 base = keys;
        const Rate rate = measure(
            ledgerDsn, clients, seconds, [&](Connection &c, int client, qint64 n) -> qint64 {
                QList<QByteArray> items;
                for (int i = 0; i < batch; ++i) {
                    const qint64 k = n * batch + i;
                    const int a = int((k * 7919 + qint64(client) * 104729) % accounts);
                    const int b = (a + 1 + int(k % (accounts - 1))) % accounts;
                    items.append(transfer(QStringLiteral("p-%1-%2-%3").arg(base).arg(client).arg(k),
                                          a + 1, b + 1));
                }
                if (batch == 1) {
                    LedgerRepository::post(c, items.first());
                    return 1;
                }
                return qint64(LedgerRepository::postBatch(c, items).size());
            });
        keys += 1;
        const double drained = drain();
        sampling = false;
        sampler.join();
        say(QStringLiteral("%1 %2 %3 %4 %5 %6 %7")
                .arg(clients, 7)
                .arg(batch, 8)
                .arg(rate.perSecond, 11, 'f', 0)
                .arg(rate.perSecond * 2, 10, 'f', 0)
                .arg(lag.maxBytes / 1024.0, 11, 'f', 0)
                .arg(lag.maxSeconds, 17, 'f', 3)
                .arg(drained, 8, 'f', 2));
        if (rate.errors > 0)
            say(QStringLiteral("  (%1 postings failed)").arg(rate.errors));
    }
    const QString differ = store.scalar(QStringLiteral(
        "SELECT count(*) FROM ((SELECT account_id, day, entries, debits_minor, credits_minor FROM "
        "reporting.daily_totals EXCEPT SELECT * FROM reporting.daily_totals_from_entries()) UNION "
        "ALL (SELECT * FROM reporting.daily_totals_from_entries() EXCEPT SELECT account_id, day, "
        "entries, debits_minor, credits_minor FROM reporting.daily_totals)) d"));
    say(QStringLiteral("\nstore: %1 entries (ledger %2); daily totals differing from its "
                       "entries: %3")
            .arg(entriesOn(store))
            .arg(entriesOn(ledger))
            .arg(differ));
    store.exec(QStringLiteral("DROP SUBSCRIPTION IF EXISTS ledger_reporting"));
    return differ == QLatin1String("0") ? 0 : 1;
}
