#include "BenchCluster.h"

#include "SqlSession.h"

#include "db/Connection.h"
#include "db/DbException.h"
#include "db/Migrator.h"

#include <QCoreApplication>
#include <QElapsedTimer>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace ledger::bench {

namespace {

LocalCluster::Settings benchSettings(const QString &extraConfig)
{
    LocalCluster::Settings settings; // durable by default
    settings.purpose = QStringLiteral("test");
    settings.extraConfig = QStringLiteral(
        "shared_buffers = 1GB\nmax_wal_size = 8GB\nwork_mem = 64MB\nmaintenance_work_mem = 1GB");
    if (!extraConfig.isEmpty())
        settings.extraConfig += QLatin1Char('\n') + extraConfig;
    return settings;
}

} // namespace

BenchCluster::BenchCluster(const QString &name, const QString &extraConfig)
    : m_dir(QStringLiteral("/tmp/ledger-bench-%1-XXXXXX").arg(name))
    , m_cluster(std::make_unique<LocalCluster>(m_dir.path(), benchSettings(extraConfig)))
{}

BenchCluster::~BenchCluster()
{
    if (m_started)
        std::thread([this] { (void)m_cluster->stop(true); }).join();
}

Status BenchCluster::start()
{
    if (!m_dir.isValid())
        return Error::make(
            Error::Kind::Io,
            QStringLiteral("Cannot create a temporary directory: %1").arg(m_dir.errorString()));
    Status status = Status::success();
    std::thread([&] {
        if (auto s = m_cluster->initialize(); !s) {
            status = s;
            return;
        }
        if (auto s = m_cluster->start(); !s) {
            status = s;
            return;
        }
        m_started = true;
        if (auto s = m_cluster->ensureDatabase(); !s) {
            status = s;
            return;
        }
        try {
            Connection admin(m_cluster->dsn());
            Migrator(admin, MigrationSet::builtIn().value()).migrate();
        } catch (const DbException &e) {
            status = Status(e.error());
        }
    }).join();
    return status;
}

QString loadEpilogue()
{
    return QStringLiteral(R"sql(
    SET LOCAL ROLE ledger_owner;
    UPDATE ledger.account_heads h
    SET last_seq = e.n, balance = e.total, last_recorded_at = e.last
    FROM (SELECT account_id, count(*) AS n, sum(amount) AS total, max(recorded_at) AS last FROM ledger.entries GROUP BY account_id) e
    WHERE h.account_id = e.account_id;
    RESET ROLE;
    DO $check$ BEGIN
        IF EXISTS (SELECT 1 FROM ledger.entries GROUP BY transaction_id HAVING sum(amount) <> 0 OR count(*) < 2) THEN
            RAISE EXCEPTION 'bench load: a transaction does not balance';
        END IF;
    END $check$;
    ALTER TABLE ledger.transactions ENABLE ALWAYS TRIGGER transactions_balanced;
)sql");
}

QString loadBigAccount(test::SqlSession &admin, const QString &code, qint64 entries)
{
    const auto loaded = admin.exec(QString(QStringLiteral(R"sql(
    SET LOCAL work_mem = '512MB';
    -- As the bulk seed does: the per-transaction balance trigger is suspended for the
    -- load and the same rule checked set-based below, before commit.
    ALTER TABLE ledger.transactions DISABLE TRIGGER transactions_balanced;
    SELECT ledger.open_account('%2', 'Benchmark account %2', 'EUR', 'asset');
    SELECT ledger.open_account('%2-CONTRA', 'Contra of %2', 'EUR', 'liability');
    CREATE TEMP TABLE bench_tx ON COMMIT DROP AS
    SELECT g AS n,
           timestamptz '2021-01-01' + g * (interval '5 years' / %1) AS recorded_at,
           CASE WHEN g % 50 = 0 THEN timestamptz '2021-01-01' + g * (interval '5 years' / %1) - interval '3 days'
                WHEN g % 200 = 1 THEN timestamptz '2021-01-01' + g * (interval '5 years' / %1) + interval '2 days'
                ELSE timestamptz '2021-01-01' + g * (interval '5 years' / %1) - interval '1 second' END AS effective_at
    FROM generate_series(1, %1) g;
    INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, effective_at, recorded_at, description, external_ref, created_by, created_role)
    SELECT '%2-' || n, sha256(convert_to('%2-' || n, 'UTF8')), 'seed', effective_at, recorded_at,
           (ARRAY['Card payment at Rail Tickets', 'Salary', 'Monthly account fee', 'Incoming transfer', 'Refund'])[1 + n % 5],
           'REF-' || n, 'bench', 'bench'
    FROM bench_tx ORDER BY n;
    INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, effective_at, recorded_at, account_seq, balance_after)
    SELECT t.id, a.id, x.amount, 'EUR', t.effective_at, t.recorded_at,
           row_number() OVER w, sum(x.amount) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    FROM ledger.transactions t
    CROSS JOIN LATERAL (SELECT CASE WHEN l % 7 = 0 THEN -3 ELSE l END AS amount FROM generate_series(1, 100) l) x
    JOIN ledger.accounts a ON a.code = '%2'
    WHERE t.idempotency_key LIKE '%2-%'
    WINDOW w AS (ORDER BY t.recorded_at, t.id, x.amount)
    UNION ALL
    SELECT t.id, c.id, -s.total, 'EUR', t.effective_at, t.recorded_at, row_number() OVER (ORDER BY t.recorded_at, t.id),
           sum(-s.total) OVER (ORDER BY t.recorded_at, t.id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    FROM ledger.transactions t
    CROSS JOIN LATERAL (SELECT sum(CASE WHEN l % 7 = 0 THEN -3 ELSE l END) AS total FROM generate_series(1, 100) l) s
    JOIN ledger.accounts c ON c.code = '%2-CONTRA'
    WHERE t.idempotency_key LIKE '%2-%';
)sql") + loadEpilogue())
                                       .arg(entries / 100)
                                       .arg(code));
    if (!loaded.ok)
        return loaded.message;
    admin.exec(QStringLiteral("VACUUM ANALYZE ledger.entries"));
    admin.exec(QStringLiteral("VACUUM ANALYZE ledger.transactions"));
    return {};
}

void say(const QString &line)
{
    std::printf("%s\n", qPrintable(line));
    std::fflush(stdout);
}

double median(QList<double> values)
{
    std::sort(values.begin(), values.end());
    return values.isEmpty() ? 0 : values[values.size() / 2];
}

void sayYardsticks(test::SqlSession &admin)
{
    say(QStringLiteral("yardstick: SELECT count(*) FROM generate_series(1, 20000000): %1 ms "
                       "(median of 3)")
            .arg(timeSql(admin, QStringLiteral("SELECT count(*) FROM generate_series(1, 20000000)"),
                         {}, 3),
                 0, 'f', 0));
    say(QStringLiteral("memory yardstick: 1,000,000 rows hash-aggregated into 100,000 groups: "
                       "%1 ms (median of 3)")
            .arg(timeSql(admin,
                         QStringLiteral("SELECT count(*) FROM (SELECT g % 100000, sum(g) FROM "
                                        "generate_series(1, 1000000) g GROUP BY 1) x"),
                         {}, 3),
                 0, 'f', 0));
    say(QStringLiteral("write yardstick: an unlogged table of 1,000,000 rows (about 250 MB) made "
                       "and dropped: %1 ms (median of 3)")
            .arg(timeSql(admin,
                         QStringLiteral("CREATE UNLOGGED TABLE bench_yardstick AS SELECT g, "
                                        "repeat('x', 200) AS t FROM generate_series(1, 1000000) "
                                        "g; DROP TABLE bench_yardstick"),
                         {}, 3),
                 0, 'f', 0));
}

double timeSql(test::SqlSession &session, const QString &sql, const QStringList &params, int reps)
{
    QList<double> ms;
    for (int i = 0; i < reps; ++i) {
        QElapsedTimer t;
        t.start();
        const auto r = session.exec(sql, params);
        ms << double(t.nsecsElapsed()) / 1e6;
        if (!r.ok) {
            std::fprintf(stderr, "bench: %s\n  in %s\n", qPrintable(r.message), qPrintable(sql));
            return -1;
        }
    }
    return median(ms);
}

bool waitFor(const std::function<bool()> &done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 1);
    }
    return true;
}

} // namespace ledger::bench
