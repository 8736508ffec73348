// Batch statement export (Step 8): 10,000 accounts × 100 entries to CSV, each statement its
// own file, issue record and audit event (StatementBatch, as the console's Statements tab
// and `ledgerctl statement batch` run it), in statements per second; against the naive ways
// measured in the same run on a sample of the same accounts:
//  - a new connection (sign-in) per statement, as a tool that exports one at a time does;
//  - one `ledgerctl statement export` process per account, as a shell loop does.
// build/release/tests/bench/bench_statement_batch [--accounts N] [--entries E] [--naive K]

#include "BenchCluster.h"
#include "SqlSession.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/StatementRepository.h"
#include "statement/StatementBatch.h"
#include "statement/StatementExport.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>

#include <cstdio>
#include <sys/resource.h>
#include <thread>

using namespace ledger;
using bench::say;
using test::SqlSession;

namespace {

// N liability accounts "B-00001"… with E entries each in the first half of 2026: groups of
// 100 accounts share transactions of 100 legs plus one on the group's contra asset. Loaded
// straight into the tables as the owner, the balance rule checked set-based before commit
// (as loadBigAccount and the bulk seed do).
QString load(SqlSession &admin, int accounts, int entries)
{
    const auto r = admin.exec(QString(QStringLiteral(R"sql(
    SET LOCAL work_mem = '512MB';
    ALTER TABLE ledger.transactions DISABLE TRIGGER transactions_balanced;
    SELECT ledger.open_account(format('B-%s', lpad(g::text, 5, '0')), 'Customer ' || g, 'EUR', 'liability')
    FROM generate_series(1, %1) g;
    SELECT ledger.open_account(format('B-CONTRA-%s', g), 'Contra ' || g, 'EUR', 'asset')
    FROM generate_series(0, (%1 - 1) / 100) g;
    CREATE TEMP TABLE bench_tx ON COMMIT DROP AS
    SELECT grp, n, timestamptz '2026-01-01' + n * (interval '180 days' / %2) + grp * interval '1 second' AS at
    FROM generate_series(0, (%1 - 1) / 100) grp, generate_series(1, %2) n;
    INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, effective_at, recorded_at, description,
                                     external_ref, created_by, created_role)
    SELECT 'B-' || grp || '-' || n, sha256(convert_to('B-' || grp || '-' || n, 'UTF8')), 'seed', at, at,
           (ARRAY['Card payment at Rail Tickets', 'Salary', 'Monthly account fee', 'Incoming transfer', 'Refund'])[1 + n % 5],
           'REF-' || grp || '-' || n, 'bench', 'bench'
    FROM bench_tx ORDER BY at, grp;
    INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, effective_at, recorded_at, account_seq, balance_after)
    SELECT t.id, a.id, x.amount, 'EUR', t.effective_at, t.recorded_at,
           row_number() OVER w, sum(x.amount) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    FROM bench_tx b
    JOIN ledger.transactions t ON t.idempotency_key = 'B-' || b.grp || '-' || b.n
    JOIN ledger.accounts a ON a.code BETWEEN format('B-%s', lpad((b.grp * 100 + 1)::text, 5, '0'))
                                         AND format('B-%s', lpad((b.grp * 100 + 100)::text, 5, '0'))
    CROSS JOIN LATERAL (SELECT CASE WHEN (b.n + a.id) % 7 = 0 THEN 125 ELSE -(1 + (b.n * a.id) % 900) END AS amount) x
    WINDOW w AS (PARTITION BY a.id ORDER BY t.recorded_at, t.id);
    INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, effective_at, recorded_at, account_seq, balance_after)
    SELECT s.transaction_id, c.id, -s.total, 'EUR', s.effective_at, s.recorded_at,
           row_number() OVER w, sum(-s.total) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    FROM (SELECT e.transaction_id, min(e.effective_at) AS effective_at, min(e.recorded_at) AS recorded_at,
                 sum(e.amount) AS total, split_part(t.idempotency_key, '-', 2) AS grp
          FROM ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id
          WHERE t.idempotency_key LIKE 'B-%'
          GROUP BY e.transaction_id, t.idempotency_key) s
    JOIN ledger.accounts c ON c.code = 'B-CONTRA-' || s.grp
    WINDOW w AS (PARTITION BY c.id ORDER BY s.recorded_at, s.transaction_id);
)sql") + bench::loadEpilogue())
                                  .arg(accounts)
                                  .arg(entries));
    if (!r.ok)
        return r.message;
    admin.exec(QStringLiteral("VACUUM ANALYZE ledger.entries"));
    admin.exec(QStringLiteral("VACUUM ANALYZE ledger.transactions"));
    return {};
}

qint64 folderBytes(const QString &path)
{
    qint64 total = 0;
    for (QDirIterator it(path, QDir::Files); it.hasNext();) {
        it.next();
        total += it.fileInfo().size();
    }
    return total;
}

long peakRssMb()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Batch statement export benchmark."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("accounts"), QStringLiteral("Accounts (default 10000)."),
                      QStringLiteral("N"), QStringLiteral("10000")});
    parser.addOption({QStringLiteral("entries"),
                      QStringLiteral("Entries per account (default 100)."), QStringLiteral("E"),
                      QStringLiteral("100")});
    parser.addOption({QStringLiteral("naive"),
                      QStringLiteral("Statements exported each naive way (default 200)."),
                      QStringLiteral("K"), QStringLiteral("200")});
    parser.process(app);
    const int accounts = qMax(100, parser.value(QStringLiteral("accounts")).toInt());
    const int entries = qMax(1, parser.value(QStringLiteral("entries")).toInt());
    const int naive = qBound(1, parser.value(QStringLiteral("naive")).toInt(), accounts);

    bench::BenchCluster bench(QStringLiteral("statement-batch"));
    if (auto s = bench.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return 1;
    }
    SqlSession admin(bench.cluster().dsn());
    say(QStringLiteral("cluster: %1 (durable), %2 cores; %3 accounts x %4 entries")
            .arg(bench.path())
            .arg(std::thread::hardware_concurrency())
            .arg(accounts)
            .arg(entries));
    QElapsedTimer t;
    t.start();
    if (const QString error = load(admin, accounts, entries); !error.isEmpty()) {
        std::fprintf(stderr, "bench: load: %s\n", qPrintable(error));
        return 1;
    }
    say(QStringLiteral("loaded in %1 s").arg(double(t.elapsed()) / 1000.0, 0, 'f', 1));

    QTemporaryDir out(QDir::temp().filePath(QStringLiteral("bench-statements-XXXXXX")));
    StatementBatchRequest request;
    request.kind = QStringLiteral("liability");
    request.currency = QStringLiteral("EUR");
    request.from = QDateTime(QDate(2026, 1, 1), QTime(0, 0), Qt::UTC);
    request.to = QDateTime(QDate(2026, 7, 1), QTime(0, 0), Qt::UTC);
    request.format = QStringLiteral("csv");

    // -- The batch: one connection, one transaction and one file per statement.
    const QString batchDir = out.filePath(QStringLiteral("batch"));
    QDir().mkpath(batchDir);
    request.folder = batchDir;
    Connection connection(bench.cluster().dsn(), QStringLiteral("bench_statement_batch"));
    t.restart();
    const StatementBatchOutcome outcome = StatementBatch::run(connection, request);
    const double batchS = double(t.elapsed()) / 1000.0;
    if (!outcome.error.isEmpty() || outcome.written.size() != accounts) {
        std::fprintf(stderr, "bench: batch: %s (%lld of %d written)\n", qPrintable(outcome.error),
                     qlonglong(outcome.written.size()), accounts);
        return 1;
    }
    qint64 lines = 0;
    for (const StatementRecord &r : outcome.written)
        lines += r.lineCount;
    const double batchRate = accounts / batchS;
    say(QStringLiteral("\n== batch (StatementBatch, CSV): %1 statements, %2 lines, %3 MB in %4 s")
            .arg(accounts)
            .arg(lines)
            .arg(double(folderBytes(batchDir)) / 1e6, 0, 'f', 1)
            .arg(batchS, 0, 'f', 1));
    say(QStringLiteral("  %1 statements/s, %2 lines/s; peak RSS %3 MB")
            .arg(batchRate, 0, 'f', 1)
            .arg(double(lines) / batchS, 0, 'f', 0)
            .arg(peakRssMb()));

    // -- Naive 1: a new connection (sign-in) per statement, first `naive` accounts.
    const QString perConnDir = out.filePath(QStringLiteral("per-connection"));
    QDir().mkpath(perConnDir);
    const auto selection =
        StatementRepository::batchAccounts(connection, request.kind, request.currency);
    const auto options =
        StatementExport::issueOptions(request.format, request.camtVersion, request.institution);
    t.restart();
    for (int i = 0; i < naive; ++i) {
        Connection c(bench.cluster().dsn(), QStringLiteral("bench_statement_naive"));
        StatementRepository::Request r;
        r.accountCode = selection.accounts.at(i);
        r.from = request.from;
        r.to = request.to;
        r.knownAt = selection.serverNow;
        StatementRepository::issue(
            c, r, options,
            StatementExport::fileWriter(
                request.format, request.camtVersion, request.pageSize,
                QDir(perConnDir).filePath(r.accountCode + QStringLiteral(".csv"))));
    }
    const double perConnRate = double(naive) / (double(t.elapsed()) / 1000.0);
    say(QStringLiteral("\n== naive: a new connection per statement: %1 statements/s (%2 of them)")
            .arg(perConnRate, 0, 'f', 1)
            .arg(naive));

    // -- Naive 2: one ledgerctl process per statement, as a shell loop runs it.
    const QString perProcessDir = out.filePath(QStringLiteral("per-process"));
    QDir().mkpath(perProcessDir);
    const int processes = qMax(1, naive / 4);
    t.restart();
    for (int i = 0; i < processes; ++i) {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_DSN"), bench.cluster().dsn());
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(LEDGERCTL_PATH),
                {QStringLiteral("statement"), QStringLiteral("export"), QStringLiteral("--account"),
                 selection.accounts.at(i), QStringLiteral("--from"), QStringLiteral("2026-01-01"),
                 QStringLiteral("--to"), QStringLiteral("2026-06-30"), QStringLiteral("--format"),
                 QStringLiteral("csv"), QStringLiteral("--out"),
                 QDir(perProcessDir).filePath(selection.accounts.at(i) + QStringLiteral(".csv"))});
        if (!p.waitForFinished(60000) || p.exitCode() != 0) {
            std::fprintf(stderr, "bench: ledgerctl: %s\n", p.readAllStandardError().constData());
            return 1;
        }
    }
    const double perProcessRate = double(processes) / (double(t.elapsed()) / 1000.0);
    say(QStringLiteral("== naive: one ledgerctl process per statement: %1 statements/s (%2 of "
                       "them)")
            .arg(perProcessRate, 0, 'f', 1)
            .arg(processes));

    say(QStringLiteral("\nbatch vs a connection per statement: %1x; vs a process per "
                       "statement: %2x")
            .arg(batchRate / perConnRate, 0, 'f', 2)
            .arg(batchRate / perProcessRate, 0, 'f', 2));
    return 0;
}
