// Reads on record (0032_reads_on_record.sql): what the gate costs a console role's timeline
// page and point-in-time ask, against the same functions called without it by the same
// role in the same run, and what putting a read on record costs (the first read of a
// window: one durable commit; later reads in the window: nothing, the console holds the
// window). Prints figures and ratios; no assertions.
//
//   bench_reads [--entries N] [--calls C]

#include "BenchCluster.h"
#include "SqlSession.h"
#include "cluster/LocalCluster.h"
#include "db/Connection.h"
#include "db/TimelineRepository.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>

#include <cstdio>

using namespace ledger;
using bench::median;
using bench::say;
using test::SqlSession;

namespace {

// Microseconds per call of `call` (a SELECT list item), run `calls` times in one server-side
// loop: the server's own cost, without round trips.
double serverMicros(SqlSession &session, const QString &call, int calls)
{
    return session
        .scalar(QStringLiteral("SELECT ledger_bench_loop($1, $2)"), {call, QString::number(calls)})
        .toDouble();
}

// The two ways measured in alternating rounds (a machine that speeds up or slows down
// meanwhile weighs on both alike); the median of each.
std::pair<double, double> alternating(SqlSession &session, const QString &naive,
                                      const QString &gated, int calls, int rounds = 7)
{
    QList<double> a, b;
    for (int r = 0; r < rounds; ++r) {
        a << serverMicros(session, naive, calls);
        b << serverMicros(session, gated, calls);
    }
    return {median(a), median(b)};
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("What putting reads on record costs a timeline page and a "
                       "point-in-time ask."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("entries"),
                      QStringLiteral("Entries on the account (default 1000000)."),
                      QStringLiteral("N"), QStringLiteral("1000000")});
    parser.addOption({QStringLiteral("calls"),
                      QStringLiteral("Calls per measurement loop (default 2000)."),
                      QStringLiteral("C"), QStringLiteral("2000")});
    parser.process(app);
    const qint64 entries = parser.value(QStringLiteral("entries")).toLongLong();
    const int calls = parser.value(QStringLiteral("calls")).toInt();

    bench::BenchCluster bench(QStringLiteral("reads"));
    if (auto s = bench.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return 1;
    }
    SqlSession admin(bench.dsn());
    say(QStringLiteral("cluster: %1 (durable); loading %2 entries on one account ...")
            .arg(bench.path())
            .arg(entries));
    if (const QString error = bench::loadBigAccount(admin, QStringLiteral("BIG"), entries);
        !error.isEmpty()) {
        std::fprintf(stderr, "bench: loading failed: %s\n", qPrintable(error));
        return 1;
    }
    const QString id =
        admin.scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = 'BIG'"));

    // A console operator; in this throwaway cluster only, it may also call the functions
    // behind the gate directly: the naive way, measured by the same role.
    const QString password = QStringLiteral("bench-reader-secret");
    for (const QString &sql :
         {QStringLiteral("CREATE ROLE bench_reader LOGIN PASSWORD '%1' IN ROLE console_operator")
              .arg(password),
          QStringLiteral("GRANT USAGE ON SCHEMA ledger_unrecorded TO bench_reader"),
          QStringLiteral("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger_unrecorded TO "
                         "bench_reader"),
          QStringLiteral(
              "CREATE FUNCTION public.ledger_bench_loop(p_call text, p_calls int) RETURNS float8 "
              "LANGUAGE plpgsql AS $f$ DECLARE t timestamptz := clock_timestamp(); BEGIN "
              "FOR i IN 1..p_calls LOOP EXECUTE 'SELECT count(*) FROM (SELECT ' || p_call || "
              "') x'; END LOOP; RETURN extract(epoch FROM clock_timestamp() - t) * 1e6 / "
              "p_calls; END $f$"),
          QStringLiteral("GRANT USAGE ON SCHEMA public TO bench_reader"),
          QStringLiteral("GRANT EXECUTE ON FUNCTION public.ledger_bench_loop(text, int) TO "
                         "bench_reader")}) {
        const auto r = admin.exec(sql);
        if (!r.ok) {
            std::fprintf(stderr, "bench: %s: %s\n", qPrintable(sql), qPrintable(r.message));
            return 1;
        }
    }
    const QString readerDsn =
        bench.dsn(QStringLiteral("bench_reader")) + QStringLiteral(" password=") + password;
    SqlSession reader(readerDsn);
    for (const char *kind : {"timeline", "point_in_time"})
        reader.scalar(QStringLiteral("SELECT ledger.record_read($1, 'BIG')"),
                      {QString::fromLatin1(kind)});

    say(QStringLiteral("\n== server time per call, console role (loop of %1 calls, median of 7 "
                       "alternating rounds)")
            .arg(calls));
    say(QStringLiteral("%1 %2 %3 %4")
            .arg(QStringLiteral("read"), -38)
            .arg(QStringLiteral("ungated us"), 11)
            .arg(QStringLiteral("gated us"), 10)
            .arg(QStringLiteral("ratio"), 7));
    const QString midPosition = QString::number(entries / 2);
    const struct
    {
        QString name;
        QString call;
    } reads[] = {
        {QStringLiteral("timeline page (200 rows, middle)"),
         QStringLiteral("* FROM %1.timeline_page(%2, 'recorded', %3, 200)")},
        {QStringLiteral("timeline page (50 rows, first)"),
         QStringLiteral("* FROM %1.timeline_page(%2, 'effective', 0, 50) /* %3 */")},
        {QStringLiteral("point in time (as of a year ago, now)"),
         QStringLiteral("* FROM %1.point_in_time(%2, now() - interval '1 year', now()) /* %3 */")},
    };
    for (const auto &r : reads) {
        const auto [naive, gated] =
            alternating(reader, r.call.arg(QStringLiteral("ledger_unrecorded"), id, midPosition),
                        r.call.arg(QStringLiteral("ledger"), id, midPosition), calls);
        say(QStringLiteral("%1 %2 %3 %4")
                .arg(r.name, -38)
                .arg(naive, 11, 'f', 1)
                .arg(gated, 10, 'f', 1)
                .arg(gated / naive, 7, 'f', 3));
    }
    const auto [nothing, gate] =
        alternating(reader, QStringLiteral("true"),
                    QStringLiteral("ledger.require_read('timeline', '%1')").arg(id), calls * 10);
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("the gate alone (ledger.require_read)"), -38)
            .arg(nothing, 11, 'f', 1)
            .arg(gate, 10, 'f', 1));

    // Putting a read on record: the first of a window writes a mark and an event and
    // commits (durably); later ones inside the window find the mark.
    say(QStringLiteral("\n== ledger.record_read, one statement each (round trip and commit "
                       "included), median of 50"));
    QList<double> first, again;
    for (int i = 0; i < 50; ++i) {
        admin.exec(QStringLiteral("UPDATE audit.read_marks SET until = now() - interval '1 s' "
                                  "WHERE session_role = 'bench_reader'"));
        QElapsedTimer t;
        t.start();
        reader.scalar(QStringLiteral("SELECT ledger.record_read('timeline', 'BIG')"));
        first << double(t.nsecsElapsed()) / 1e6;
        t.restart();
        reader.scalar(QStringLiteral("SELECT ledger.record_read('timeline', 'BIG')"));
        again << double(t.nsecsElapsed()) / 1e6;
    }
    say(QStringLiteral("first in its window (mark + event, commit): %1 ms")
            .arg(median(first), 0, 'f', 3));
    say(QStringLiteral("again inside the window (no event):         %1 ms")
            .arg(median(again), 0, 'f', 3));

    // Through the console's repository: scrolling a timeline page by page records once.
    const qint64 before =
        admin.scalar(QStringLiteral("SELECT count(*) FROM audit.events")).toLongLong();
    admin.exec(QStringLiteral("UPDATE audit.read_marks SET until = now() - interval '1 s' "
                              "WHERE session_role = 'bench_reader'"));
    Connection console(readerDsn);
    QElapsedTimer scroll;
    scroll.start();
    const int pages = 500;
    for (int p = 0; p < pages; ++p)
        TimelineRepository::page(console, id.toLongLong(), TimelineOrder::Recorded, qint64(p) * 200,
                                 200, 0);
    const double perPage = double(scroll.nsecsElapsed()) / 1e6 / pages;
    const qint64 written =
        admin.scalar(QStringLiteral("SELECT count(*) FROM audit.events")).toLongLong() - before;
    say(QStringLiteral("\n== the console scrolling %1 pages of 200 rows (TimelineRepository::page)")
            .arg(pages));
    say(QStringLiteral("%1 ms per page, round trip included; audit events written: %2")
            .arg(perPage, 0, 'f', 3)
            .arg(written));
    return 0;
}
