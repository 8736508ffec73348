// Partitioning for seven-year retention (Step 11): the ledger as it is against the same ledger
// with ledger.entries and audit.events partitioned by month (native range partitions kept by
// pg_partman, Debian postgresql-15-partman), two databases of one durable cluster, the same
// data loaded into both, measured in the same run with rounds alternating:
//  1. point-in-time (ledger.point_in_time) and timeline pages (ledger.timeline_page) on an
//     account of --entries entries over five years (as bench_reads loads it), server time
//     per call in a loop, the same random inputs on both sides;
//  2. single postings (ledger.post_transaction, audited) with 1 and 8 clients;
//  3. storage of the two tables with their indexes.
// Then, on the partitioned copy only (a scratch database): retention as pg_partman does it,
// detaching the partitions recorded before a date, archiving them with pg_dump, dropping
// them, restoring the archive into another database and checking that it holds exactly the
// detached entries (count, sums and a digest of every row).
// The partitioned copy is made from the migrated schema: each table rebuilt as a partitioned
// one by recorded time with the same columns, checks, foreign keys, indexes, triggers,
// views and grants. What partitioning cannot keep (a unique key without the partition key, a
// foreign key that points at the table) is printed: that is part of the figures.
//
//   bench_partitions [--entries N] [--calls C] [--seconds S] [--skip-archive]

#include "BenchCluster.h"
#include "SqlSession.h"
#include "cluster/LocalCluster.h"
#include "db/Connection.h"
#include "db/DatabaseAdmin.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/Migrator.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <thread>
#include <tuple>

using namespace ledger;
using bench::median;
using bench::say;
using test::SqlSession;

namespace {

const QString kPlain = QStringLiteral("ledger");
const QString kParted = QStringLiteral("ledger_part");

// Rebuilds a table as one partitioned by month on p_key, keeping what can be kept, and hands
// it to pg_partman. Returns what could not be kept, one line each.
const char *kPartitionFunction = R"sql(
CREATE FUNCTION public.bench_partition(p_table regclass, p_key text, p_start date) RETURNS SETOF text
LANGUAGE plpgsql AS $f$
DECLARE
    v_schema text;
    v_name text;
    v_qualified text;
    v_owner text;
    v_before text[] := '{}';  -- run before the old table goes
    v_after text[] := '{}';   -- run once the new one has its name
    v_lost text[] := '{}';
    v_sql text;
    r record;
BEGIN
    SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) INTO v_schema, v_name, v_owner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table;
    v_qualified := format('%I.%I', v_schema, v_name);
    IF (SELECT relrowsecurity FROM pg_class WHERE oid = p_table) THEN
        RAISE EXCEPTION '% has row security: not handled here', v_qualified;
    END IF;
    -- Views that read the table (dropped and made again over the new one, with their grants).
    FOR r IN SELECT DISTINCT v.oid, format('%I.%I', vn.nspname, v.relname) AS name, pg_get_viewdef(v.oid) AS def,
                    pg_get_userbyid(v.relowner) AS owner, v.reloptions
             FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class v ON v.oid = w.ev_class
             JOIN pg_namespace vn ON vn.oid = v.relnamespace
             WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = p_table AND v.oid <> p_table LOOP
        v_before := v_before || format('DROP VIEW %s', r.name);
        v_after := v_after || format('CREATE VIEW %s %s AS %s', r.name,
                                     CASE WHEN r.reloptions IS NULL THEN '' ELSE 'WITH (' || array_to_string(r.reloptions, ', ') || ')' END, r.def)
                           || format('ALTER VIEW %s OWNER TO %I', r.name, r.owner);
        v_after := v_after || ARRAY(SELECT format('GRANT %s ON %s TO %s', a.privilege_type, r.name,
                                                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END)
                                    FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = r.oid);
    END LOOP;
    -- Functions over its row type (made again the same, with their owner and grants).
    FOR r IN SELECT DISTINCT p.oid, p.oid::regprocedure::text AS sig, pg_get_functiondef(p.oid) AS def,
                    pg_get_userbyid(p.proowner) AS owner, p.proacl
             FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
             WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_type'::regclass
               AND d.refobjid = (SELECT reltype FROM pg_class WHERE oid = p_table) LOOP
        v_before := v_before || format('DROP FUNCTION %s', r.sig);
        v_after := v_after || r.def || format('ALTER FUNCTION %s OWNER TO %I', r.sig, r.owner);
        IF r.proacl IS NOT NULL THEN
            v_after := v_after || format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.sig);
            v_after := v_after || ARRAY(SELECT format('GRANT EXECUTE ON FUNCTION %s TO %s', r.sig,
                                                      CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END)
                                        FROM aclexplode(r.proacl) a);
        END IF;
    END LOOP;
    -- Foreign keys of other tables that point at this one: a partitioned table can be
    -- referenced only through a unique key holding the partition key.
    FOR r IN SELECT c.conname, c.conrelid::regclass AS owner_table, pg_get_constraintdef(c.oid) AS def
             FROM pg_constraint c WHERE c.confrelid = p_table AND c.contype = 'f' LOOP
        v_before := v_before || format('ALTER TABLE %s DROP CONSTRAINT %I', r.owner_table, r.conname);
        v_lost := v_lost || format('foreign key %s.%s (%s): dropped, it cannot point at a partitioned table without the partition key', r.owner_table, r.conname, r.def);
    END LOOP;
    -- Its own keys: unique only with the partition key added.
    FOR r IN SELECT c.conname, c.contype, pg_get_constraintdef(c.oid) AS def,
                    ARRAY(SELECT quote_ident(a.attname) FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = p_table AND a.attnum = k.n ORDER BY k.o) AS cols
             FROM pg_constraint c WHERE c.conrelid = p_table AND c.contype IN ('p', 'u', 'f', 'x') LOOP
        IF r.contype = 'f' THEN
            v_after := v_after || format('ALTER TABLE %s ADD CONSTRAINT %I %s', v_qualified, r.conname, r.def);
        ELSIF r.contype = 'x' THEN
            v_lost := v_lost || format('exclusion constraint %s: dropped', r.conname);
        ELSE
            v_after := v_after || format('ALTER TABLE %s ADD CONSTRAINT %I %s (%s)', v_qualified, r.conname,
                                         CASE r.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END,
                                         array_to_string(r.cols || quote_ident(p_key), ', '));
            IF NOT quote_ident(p_key) = ANY (r.cols) THEN
                v_lost := v_lost || format('%s %s: now unique only with %s (within a partition)', r.conname, r.def, p_key);
            END IF;
        END IF;
    END LOOP;
    -- Other indexes as they are, but unique ones lose their uniqueness.
    FOR r IN SELECT i.indexrelid, pg_get_indexdef(i.indexrelid) AS def, i.indisunique, i.indexrelid::regclass AS name
             FROM pg_index i WHERE i.indrelid = p_table
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = p_table) LOOP
        IF r.indisunique THEN
            v_after := v_after || regexp_replace(r.def, '^CREATE UNIQUE INDEX', 'CREATE INDEX');
            v_lost := v_lost || format('unique index %s: kept as a plain index (%s)', r.name, r.def);
        ELSE
            v_after := v_after || r.def;
        END IF;
    END LOOP;
    FOR r IN SELECT pg_get_triggerdef(t.oid) AS def, t.tgname, t.tgenabled
             FROM pg_trigger t WHERE t.tgrelid = p_table AND NOT t.tgisinternal LOOP
        v_after := v_after || r.def;
        v_after := v_after || CASE r.tgenabled
            WHEN 'A' THEN format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', v_qualified, r.tgname)
            WHEN 'R' THEN format('ALTER TABLE %s ENABLE REPLICA TRIGGER %I', v_qualified, r.tgname)
            WHEN 'D' THEN format('ALTER TABLE %s DISABLE TRIGGER %I', v_qualified, r.tgname)
            ELSE 'SELECT 1' END;
    END LOOP;
    v_after := v_after || ARRAY(SELECT format('GRANT %s ON %s TO %s', a.privilege_type, v_qualified,
                                              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END)
                                FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = p_table);
    v_after := v_after || ARRAY(SELECT format('GRANT %s (%I) ON %s TO %s', a.privilege_type, t.attname, v_qualified,
                                              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END)
                                FROM pg_attribute t, aclexplode(t.attacl) a
                                WHERE t.attrelid = p_table AND t.attnum > 0 AND NOT t.attisdropped AND t.attacl IS NOT NULL);

    -- The new table: same columns, defaults and checks; identity becomes a sequence default
    -- (PostgreSQL 15 has no identity columns on partitioned tables).
    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (%I)',
                   v_schema, v_name || '_new', v_qualified, p_key);
    FOREACH v_sql IN ARRAY v_before LOOP
        EXECUTE v_sql;
    END LOOP;
    EXECUTE format('DROP TABLE %s', v_qualified);
    EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', v_schema, v_name || '_new', v_name);
    EXECUTE format('ALTER TABLE %s OWNER TO %I', v_qualified, v_owner);
    FOR r IN SELECT a.attname FROM pg_attribute a
             WHERE a.attrelid = v_qualified::regclass AND a.attname = 'id' LOOP
        EXECUTE format('CREATE SEQUENCE %I.%I', v_schema, v_name || '_id_seq');
        EXECUTE format('ALTER SEQUENCE %I.%I OWNER TO %I', v_schema, v_name || '_id_seq', v_owner);
        EXECUTE format('ALTER SEQUENCE %I.%I OWNED BY %s.id', v_schema, v_name || '_id_seq', v_qualified);
        EXECUTE format('ALTER TABLE %s ALTER COLUMN id SET DEFAULT nextval(%L)', v_qualified, v_schema || '.' || v_name || '_id_seq');
    END LOOP;
    FOREACH v_sql IN ARRAY v_after LOOP
        EXECUTE v_sql;
    END LOOP;
    PERFORM partman.create_parent(p_parent_table := v_schema || '.' || v_name, p_control := p_key, p_type := 'native',
                                  p_interval := '1 month', p_premake := 4, p_start_partition := p_start::text);
    RETURN QUERY SELECT unnest(v_lost);
END
$f$;
)sql";

// Microseconds per call of `call` (a SELECT list item), `calls` times in one server-side
// loop from the same random seed: the server's own cost, the same inputs on both databases.
const char *kLoopFunction =
    "CREATE FUNCTION public.bench_loop(p_call text, p_calls int) RETURNS float8 "
    "LANGUAGE plpgsql AS $f$ DECLARE t timestamptz; BEGIN PERFORM setseed(0.42); "
    "t := clock_timestamp(); FOR i IN 1..p_calls LOOP EXECUTE 'SELECT count(*) FROM (SELECT ' "
    "|| p_call || ') x'; END LOOP; RETURN extract(epoch FROM clock_timestamp() - t) * 1e6 / "
    "p_calls; END $f$";

QByteArray transfer(qint64 key, int from, int to)
{
    return QStringLiteral(
               R"({"idempotency_key": "p-%1", "effective_at": "%2", "description": "bench",
        "legs": [{"account": "B-%3", "amount": "-1.00", "currency": "EUR"}, {"account": "B-%4", "amount": "1.00", "currency": "EUR"}]})")
        .arg(key)
        .arg(QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs))
        .arg(from)
        .arg(to)
        .toUtf8();
}

bool ok(const test::SqlOutcome &r, const QString &what)
{
    if (!r.ok)
        std::fprintf(stderr, "bench: %s: %s\n", qPrintable(what), qPrintable(r.message));
    return r.ok;
}

// Size in MB of a table, its indexes and, partitioned, all its partitions.
QString sizeMb(SqlSession &s, const QString &table)
{
    return s.scalar(
        QStringLiteral("SELECT round(coalesce((SELECT sum(pg_total_relation_size(relid)) "
                       "FROM pg_partition_tree('%1')), pg_total_relation_size('%1')) / "
                       "1048576.0)")
            .arg(table));
}

QString pgBinary(const QString &name)
{
    const auto dir = LocalCluster::findBinDir();
    return dir ? dir.value() + QLatin1Char('/') + name : name;
}

bool runTool(const QString &tool, const QStringList &args)
{
    QProcess p;
    p.start(pgBinary(tool), args);
    if (!p.waitForFinished(-1) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        std::fprintf(stderr, "bench: %s failed: %s\n", qPrintable(tool),
                     qPrintable(QString::fromLocal8Bit(p.readAllStandardError())));
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("The ledger with entries and audit events partitioned by month "
                       "(pg_partman) against the ledger as it is, same cluster, same run."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("entries"),
                      QStringLiteral("Entries on the big account (default 10000000)."),
                      QStringLiteral("N"), QStringLiteral("10000000")});
    parser.addOption({QStringLiteral("calls"),
                      QStringLiteral("Calls per read measurement loop (default 500)."),
                      QStringLiteral("C"), QStringLiteral("500")});
    parser.addOption({QStringLiteral("seconds"),
                      QStringLiteral("Seconds per posting measurement (default 10)."),
                      QStringLiteral("S"), QStringLiteral("10")});
    parser.addOption({QStringLiteral("skip-archive"),
                      QStringLiteral("Skip the detach, archive and restore check.")});
    parser.process(app);
    const qint64 entries =
        std::max<qint64>(1000, parser.value(QStringLiteral("entries")).toLongLong());
    const int calls = std::max(1, parser.value(QStringLiteral("calls")).toInt());
    const double seconds = std::max(1.0, parser.value(QStringLiteral("seconds")).toDouble());

    const auto binDir = LocalCluster::findBinDir();
    const QString sharedir = binDir ? QFileInfo(binDir.value()).dir().path() : QString();
    if (!QFileInfo::exists(QStringLiteral("/usr/share/postgresql/%1/extension/pg_partman.control")
                               .arg(QFileInfo(sharedir).fileName()))) {
        std::fprintf(stderr, "bench: pg_partman is not installed for this PostgreSQL (Debian: "
                             "apt-get install postgresql-15-partman); nothing measured.\n");
        return 2;
    }

    bench::BenchCluster bench(QStringLiteral("partitions"));
    if (auto s = bench.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return 1;
    }
    // The second database, migrated like the first.
    QString failure;
    std::thread([&] {
        try {
            Connection postgres(bench.dsn({}, QStringLiteral("postgres")));
            DatabaseAdmin::createDatabaseIfMissing(postgres, kParted, QStringLiteral("test"));
            Connection parted(bench.dsn({}, kParted));
            Migrator(parted, MigrationSet::builtIn().value()).migrate();
        } catch (const DbException &e) {
            failure = e.error().describe();
        }
    }).join();
    if (!failure.isEmpty()) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(failure));
        return 1;
    }
    SqlSession plain(bench.dsn({}, kPlain));
    SqlSession parted(bench.dsn({}, kParted));
    // The cluster lets console and writer roles into its one ledger database: the copy is one
    // too (this throwaway cluster only).
    {
        QFile hba(bench.path() + QStringLiteral("/pg_hba.conf"));
        if (!hba.open(QIODevice::ReadOnly | QIODevice::Text)) {
            std::fprintf(stderr, "bench: cannot read %s\n", qPrintable(hba.fileName()));
            return 1;
        }
        const QString text = QString::fromUtf8(hba.readAll());
        hba.close();
        if (!hba.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
            std::fprintf(stderr, "bench: cannot write %s\n", qPrintable(hba.fileName()));
            return 1;
        }
        // After the superuser's own line (the first rule), before the rule that keeps
        // console and writer roles out of other databases.
        QStringList lines = text.split(QLatin1Char('\n'));
        const auto superuser = std::find_if(lines.begin(), lines.end(), [](const QString &l) {
            return l.startsWith(QLatin1String("local all"));
        });
        lines.insert(superuser == lines.end() ? 0 : int(superuser - lines.begin()) + 1,
                     QStringLiteral("local %1 all scram-sha-256").arg(kParted));
        hba.write(lines.join(QLatin1Char('\n')).toUtf8());
        hba.close();
        plain.scalar(QStringLiteral("SELECT pg_reload_conf()"));
    }
    say(QStringLiteral("cluster: %1 (durable); databases %2 (as migrated) and %3 (entries and "
                       "audit events partitioned by month)")
            .arg(bench.path(), kPlain, kParted));

    say(QStringLiteral("\n== what partitioning cannot keep"));
    if (!ok(parted.exec(QStringLiteral("CREATE SCHEMA partman; CREATE EXTENSION pg_partman "
                                       "SCHEMA partman")),
            QStringLiteral("pg_partman")) ||
        !ok(parted.exec(QString::fromUtf8(kPartitionFunction)), QStringLiteral("partitioner")))
        return 1;
    for (const auto &[table, key, start] :
         {std::tuple{QStringLiteral("ledger.entries"), QStringLiteral("recorded_at"),
                     QStringLiteral("2021-01-01")},
          std::tuple{QStringLiteral("audit.events"), QStringLiteral("occurred_at"),
                     QDate::currentDate().addMonths(-1).toString(Qt::ISODate)}}) {
        const auto r = parted.exec(QStringLiteral("SELECT * FROM public.bench_partition('%1', "
                                                  "'%2', '%3')")
                                       .arg(table, key, start));
        if (!ok(r, QStringLiteral("partitioning %1").arg(table)))
            return 1;
        for (const QStringList &row : r.rows)
            say(QStringLiteral("  %1").arg(row.value(0)));
        say(QStringLiteral("  %1: %2 partitions by %3")
                .arg(table)
                .arg(parted.scalar(QStringLiteral("SELECT count(*) - 1 FROM "
                                                  "pg_partition_tree('%1')")
                                       .arg(table)))
                .arg(key));
    }

    // The same data in both: the big account, 10,000 accounts to post between, a reader.
    const QString password = QStringLiteral("bench-partitions-secret");
    for (const QString &sql :
         {QStringLiteral("CREATE ROLE bench_reader LOGIN PASSWORD '%1' IN ROLE console_operator")
              .arg(password),
          QStringLiteral("CREATE ROLE bench_writer LOGIN PASSWORD '%1' IN ROLE ledger_writer")
              .arg(password)})
        if (!ok(plain.exec(sql), sql))
            return 1;
    for (const QString &db : {kPlain, kParted}) {
        SqlSession admin(bench.dsn({}, db));
        QElapsedTimer t;
        t.start();
        if (const QString error = bench::loadBigAccount(admin, QStringLiteral("BIG"), entries);
            !error.isEmpty()) {
            std::fprintf(stderr, "bench: loading %s: %s\n", qPrintable(db), qPrintable(error));
            return 1;
        }
        for (const QString &sql :
             {QStringLiteral("SELECT count(ledger.open_account('B-' || i, 'Account ' || i, "
                             "'EUR', 'asset')) FROM generate_series(1, 10000) i"),
              QStringLiteral("GRANT USAGE ON SCHEMA ledger_unrecorded TO bench_reader"),
              QStringLiteral("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger_unrecorded TO "
                             "bench_reader"),
              QString::fromUtf8(kLoopFunction),
              QStringLiteral("GRANT USAGE ON SCHEMA public TO bench_reader"),
              QStringLiteral("GRANT EXECUTE ON FUNCTION public.bench_loop(text, int) TO "
                             "bench_reader"),
              QStringLiteral("ANALYZE")})
            if (!ok(admin.exec(sql), sql))
                return 1;
        say(QStringLiteral("%1: %2 entries loaded in %3 s")
                .arg(db)
                .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM ledger.entries")))
                .arg(double(t.elapsed()) / 1000.0, 0, 'f', 1));
    }
    const QString big =
        plain.scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = 'BIG'"));
    if (big != parted.scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = 'BIG'"))) {
        std::fprintf(stderr, "bench: the big account differs between the databases\n");
        return 1;
    }
    const auto readerDsn = [&](const QString &db) -> QString {
        return bench.dsn(QStringLiteral("bench_reader"), db) + QStringLiteral(" password=") +
               password;
    };
    SqlSession plainReader(readerDsn(kPlain));
    SqlSession partedReader(readerDsn(kParted));

    say(QStringLiteral("\n== server time per call on the big account (loop of %1 calls, same "
                       "random inputs; median of 5 alternating rounds)")
            .arg(calls));
    say(QStringLiteral("%1 %2 %3 %4")
            .arg(QStringLiteral("read"), -48)
            .arg(QStringLiteral("plain us"), 10)
            .arg(QStringLiteral("parted us"), 10)
            .arg(QStringLiteral("parted/plain"), 13));
    const QString n = QString::number(entries);
    const struct
    {
        QString name;
        QString call;
    } reads[] = {
        {QStringLiteral("point in time, random day, known 2026-06-01"),
         QStringLiteral(
             "* FROM ledger_unrecorded.point_in_time(%1, timestamptz '2021-01-01' + "
             "random() * interval '5 years', timestamptz '2026-06-01 00:00+00') /* %2 */")},
        {QStringLiteral("point in time, random day, known 30 days later"),
         QStringLiteral("* FROM (SELECT timestamptz '2021-01-01' + random() * interval '5 years' "
                        "AS e) t, ledger_unrecorded.point_in_time(%1, t.e, t.e + interval '30 "
                        "days') /* %2 */")},
        {QStringLiteral("timeline, first page (50, effective order)"),
         QStringLiteral("* FROM ledger_unrecorded.timeline_page(%1, 'effective', 0, 50) /* %2 */")},
        {QStringLiteral("timeline, random page (200, recorded order)"),
         QStringLiteral("* FROM ledger_unrecorded.timeline_page(%1, 'recorded', (random() * "
                        "(%2 - 200))::bigint, 200)")},
        {QStringLiteral("timeline, random page (50, effective order)"),
         QStringLiteral("* FROM ledger_unrecorded.timeline_page(%1, 'effective', (random() * "
                        "(%2 - 50))::bigint, 50)")},
    };
    for (const auto &r : reads) {
        const QString call = r.call.arg(big, n);
        // The same answers first: the copy must be the same ledger.
        const QString check =
            QStringLiteral("SELECT md5(string_agg(x::text, ',')) FROM (SELECT setseed(0.7)) "
                           "s, LATERAL (SELECT %1) x")
                .arg(call);
        if (plainReader.scalar(check) != partedReader.scalar(check)) {
            std::fprintf(stderr, "bench: %s differs between the databases\n", qPrintable(r.name));
            return 1;
        }
        QList<double> a, b;
        for (int round = 0; round < 5; ++round) {
            const QString loop = QStringLiteral("SELECT public.bench_loop($1, $2)");
            a << plainReader.scalar(loop, {call, QString::number(calls)}).toDouble();
            b << partedReader.scalar(loop, {call, QString::number(calls)}).toDouble();
        }
        say(QStringLiteral("%1 %2 %3 %4")
                .arg(r.name, -48)
                .arg(median(a), 10, 'f', 1)
                .arg(median(b), 10, 'f', 1)
                .arg(median(b) / median(a), 13, 'f', 2));
    }

    say(QStringLiteral("\n== single postings (ledger.post_transaction, audited), postings/s, %1 s "
                       "per figure, rounds alternating")
            .arg(seconds));
    say(QStringLiteral("%1 %2 %3 %4")
            .arg(QStringLiteral("clients"), -10)
            .arg(QStringLiteral("plain"), 10)
            .arg(QStringLiteral("parted"), 10)
            .arg(QStringLiteral("parted/plain"), 13));
    std::atomic<qint64> keys{0};
    auto post = [&](Connection &c, int client, qint64) {
        thread_local std::mt19937 rng(std::random_device{}() + client);
        const int a = 1 + int(rng() % 10000);
        const int b = 1 + int((a + rng() % 9999) % 10000);
        LedgerRepository::post(c, transfer(++keys, a, b));
        return 1;
    };
    const auto writerDsn = [&](const QString &db) -> QString {
        return bench.dsn(QStringLiteral("bench_writer"), db) + QStringLiteral(" password=") +
               password;
    };
    for (int clients : {1, 8}) {
        QList<double> a, b;
        qint64 errors = 0;
        for (int round = 0; round < 2; ++round) {
            const auto ra = bench::measure(writerDsn(kPlain), clients, seconds, post);
            const auto rb = bench::measure(writerDsn(kParted), clients, seconds, post);
            a << ra.perSecond;
            b << rb.perSecond;
            errors += ra.errors + rb.errors + ra.refused + rb.refused;
        }
        const double pa = (a[0] + a[1]) / 2, pb = (b[0] + b[1]) / 2;
        say(QStringLiteral("%1 %2 %3 %4%5")
                .arg(clients, -10)
                .arg(pa, 10, 'f', 0)
                .arg(pb, 10, 'f', 0)
                .arg(pb / pa, 13, 'f', 2)
                .arg(errors ? QStringLiteral("  (%1 refused or failed)").arg(errors) : QString()));
    }

    say(QStringLiteral("\n== storage (tables, partitions and indexes), MB"));
    for (const QString &table : {QStringLiteral("ledger.entries"), QStringLiteral("audit.events")})
        say(QStringLiteral("%1 plain %2, parted %3")
                .arg(table, -16)
                .arg(sizeMb(plain, table))
                .arg(sizeMb(parted, table)));

    // The books still balance on the partitioned copy after all that posting.
    const QString unbalanced = parted.scalar(QStringLiteral(
        "SELECT count(*) FROM (SELECT transaction_id FROM ledger.entries GROUP BY 1 HAVING "
        "sum(amount) <> 0) x"));
    say(QStringLiteral("partitioned copy: unbalanced transactions %1").arg(unbalanced));
    if (unbalanced != QLatin1String("0"))
        return 1;

    if (parser.isSet(QStringLiteral("skip-archive")))
        return 0;

    // Retention as pg_partman does it, on the partitioned copy (a scratch database): the
    // partitions recorded before 2022 detached, kept as tables, archived, dropped; the
    // archive restored elsewhere holds exactly what was detached.
    say(QStringLiteral("\n== detach and archive (partitions recorded before 2022-01-01)"));
    const QString digest =
        QStringLiteral("SELECT count(*) || ' entries, sum ' || sum(amount) || ', digest ' || "
                       "md5(string_agg(e::text, ',' ORDER BY id)) FROM %1 e %2");
    const QString before =
        parted.scalar(digest.arg(QStringLiteral("ledger.entries"),
                                 QStringLiteral("WHERE recorded_at < '2022-01-01 00:00+00'")));
    const QString remaining = parted.scalar(QStringLiteral(
        "SELECT count(*) FROM ledger.entries WHERE recorded_at >= '2022-01-01 00:00+00'"));
    if (!ok(parted.exec(QStringLiteral(
                "UPDATE partman.part_config SET retention = (date_trunc('day', now()) - "
                "timestamptz '2022-01-01 00:00+00')::text, retention_keep_table = true WHERE "
                "parent_table = 'ledger.entries'; "
                "SELECT partman.run_maintenance('ledger.entries')")),
            QStringLiteral("retention")))
        return 1;
    const auto detached = parted.exec(QStringLiteral(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'ledger' AND c.relname LIKE 'entries_p%' AND c.relkind = 'r' "
        "AND NOT c.relispartition ORDER BY 1"));
    QStringList tables;
    for (const QStringList &row : detached.rows)
        tables << QStringLiteral("ledger.") + row.value(0);
    say(QStringLiteral("detached: %1 partitions (%2 .. %3); still attached: %4")
            .arg(tables.size())
            .arg(tables.value(0), tables.value(tables.size() - 1))
            .arg(parted.scalar(QStringLiteral("SELECT count(*) - 1 FROM "
                                              "pg_partition_tree('ledger.entries') WHERE "
                                              "isleaf"))));
    const QString union_ = tables.join(QStringLiteral(" UNION ALL SELECT * FROM "));
    const QString detachedDigest =
        parted.scalar(digest.arg(QStringLiteral("(SELECT * FROM %1)").arg(union_), QString()));
    const QString archive = bench.path() + QStringLiteral("/entries-before-2022.dump");
    QStringList dumpArgs{QStringLiteral("-Fc"), QStringLiteral("-f"), archive, QStringLiteral("-d"),
                         bench.dsn({}, kParted)};
    for (const QString &t : tables)
        dumpArgs << QStringLiteral("-t") << t;
    QElapsedTimer t;
    t.start();
    if (!runTool(QStringLiteral("pg_dump"), dumpArgs))
        return 1;
    say(QStringLiteral("archived with pg_dump in %1 s: %2 MB")
            .arg(double(t.elapsed()) / 1000.0, 0, 'f', 1)
            .arg(QFileInfo(archive).size() / 1048576));
    if (!ok(parted.exec(QStringLiteral("DROP TABLE %1").arg(tables.join(QStringLiteral(", ")))),
            QStringLiteral("drop")))
        return 1;
    ok(plain.run(QStringLiteral("CREATE DATABASE archive_check")), QStringLiteral("scratch"));
    SqlSession check(bench.dsn({}, QStringLiteral("archive_check")));
    // The schema and the sequence the tables' id default names.
    ok(check.exec(QStringLiteral("CREATE SCHEMA ledger; CREATE SEQUENCE ledger.entries_id_seq")),
       QStringLiteral("schema"));
    // The table definitions and rows; not their indexes, keys and triggers (post-data),
    // which name the ledger's own tables and functions.
    if (!runTool(QStringLiteral("pg_restore"),
                 {QStringLiteral("--no-owner"), QStringLiteral("--no-privileges"),
                  QStringLiteral("--section=pre-data"), QStringLiteral("--section=data"),
                  QStringLiteral("-d"), bench.dsn({}, QStringLiteral("archive_check")), archive}))
        return 1;
    const auto restored = check.exec(
        QStringLiteral("SELECT string_agg(format('SELECT * FROM ledger.%I', relname), ' UNION "
                       "ALL ') FROM pg_class WHERE relnamespace = 'ledger'::regnamespace AND "
                       "relkind = 'r'"));
    const QString restoredDigest = check.scalar(
        digest.arg(QStringLiteral("(%1)").arg(restored.rows.value(0).value(0)), QString()));
    const QString after = parted.scalar(QStringLiteral("SELECT count(*) FROM ledger.entries"));
    say(QStringLiteral("before:   %1\ndetached: %2\nrestored: %3\nleft in the ledger: %4 "
                       "entries (expected %5)")
            .arg(before, detachedDigest, restoredDigest, after, remaining));
    const bool same = before == detachedDigest && before == restoredDigest && after == remaining;
    say(QStringLiteral("archive holds exactly the detached entries: %1")
            .arg(same ? QStringLiteral("yes") : QStringLiteral("NO")));
    return same ? 0 : 1;
}
