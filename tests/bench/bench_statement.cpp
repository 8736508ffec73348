// Statement PDF benchmark (issue 14): a long statement drawn by PdfStatementWriter (QPainter
// on QPdfWriter, fixed rows) against the naive way, an HTML table in a QTextDocument printed
// to QPdfWriter, measured in the same run. Prints time, per-line cost, their ratio and the
// peak RSS (VmHWM); no database. Targets: 100,000 lines in under 3 s, peak RSS under 300 MB.
//
//   bench_statement [--lines N] [--naive-lines M] [--reps R] [--keep DIR]
//
// N defaults to 100,000, M to 10,000 (the naive way takes minutes beyond that), R to 3.
// --keep copies the files written (big.pdf, statement.csv, camt053-v08.xml) into DIR, so
// that a change to a writer can be checked with cmp against the files from before it.
// The writer's run comes first so that its VmHWM is not the naive run's.

#include "BenchCluster.h"
#include "domain/Money.h"
#include "statement/PdfStatementWriter.h"

#include "statement/Camt053Writer.h"
#include "statement/StatementCsvWriter.h"
#include "statement/StatementDigest.h"
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>

#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QTemporaryDir>
#include <QTextDocument>
#include <QTimeZone>
#include <functional>

#include <ctime>

using namespace ledger;
using bench::median;
using bench::say;

namespace {

// Peak resident set size of this process so far, in MB.
double peakRssMb()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').first().toDouble() / 1024.0;
    return -1;
}

Statement makeStatement(qsizetype lineCount)
{
    Statement s;
    s.accountCode = QStringLiteral("BENCH-EUR-0001");
    s.accountName = QStringLiteral("Benchmark operating account");
    s.currency = QStringLiteral("EUR");
    s.exponent = 2;
    s.timeZone = QStringLiteral("Europe/Berlin");
    s.from = QDateTime(QDate(2020, 1, 1), QTime(0, 0), QTimeZone::utc());
    s.to = QDateTime(QDate(2025, 1, 1), QTime(0, 0), QTimeZone::utc());
    s.knownAt = s.to.addDays(1);
    s.institution = QStringLiteral("Northwind Savings Bank plc");
    s.issuedBy = QStringLiteral("bench");
    s.issuedAt = s.knownAt;
    s.reference = QStringLiteral("LST-BENCH-0001-9F3A7C21");
    s.openingMinor = 100000;
    const qint64 step = (s.to.toMSecsSinceEpoch() - s.from.toMSecsSinceEpoch()) / (lineCount + 1);
    qint64 balance = s.openingMinor;
    s.lines.reserve(lineCount);
    for (qsizetype i = 0; i < lineCount; ++i) {
        StatementLine line;
        line.entryId = i + 1;
        line.valueAt = QDateTime::fromMSecsSinceEpoch(s.from.toMSecsSinceEpoch() + step * (i + 1),
                                                      QTimeZone::utc());
        line.bookedAt = line.valueAt.addSecs(i % 50 == 0 ? 3 * 86400 : 30);
        line.description =
            i % 10 == 3 ? QStringLiteral("Settlement of the consolidated card acquiring batch "
                                         "%1 including chargebacks and fees")
                              .arg(i)
                        : (i % 10 == 7 ? QStringLiteral("Оплата № %1 Αθήνα").arg(i)
                                       : QStringLiteral("Payment %1").arg(i));
        line.reference = QStringLiteral("REF-%1").arg(i, 7, 10, QLatin1Char('0'));
        line.amountMinor = (i * 7919 % 200003) * 37 + 1;
        if (i % 3 == 1)
            line.amountMinor = -line.amountMinor;
        balance += line.amountMinor;
        line.balanceMinor = balance;
        (line.amountMinor > 0 ? s.creditsMinor : s.debitsMinor) += std::abs(line.amountMinor);
        s.lines.append(std::move(line));
    }
    s.closingMinor = balance;
    return s;
}

// The naive way: the whole statement as one HTML table, laid out and paginated by
// QTextDocument and printed to a QPdfWriter.
bool writeWithTextDocument(const Statement &s, const QString &path)
{
    QString html;
    html += QStringLiteral("<html><body><h2>") + s.institution.toHtmlEscaped() +
            QStringLiteral("</h2><p>Account ") + s.accountCode.toHtmlEscaped() +
            QStringLiteral("</p><table border=\"0\" cellspacing=\"0\" cellpadding=\"1\">"
                           "<tr><th>Booked</th><th>Value date</th><th>Description</th>"
                           "<th>Reference</th><th>Debit</th><th>Credit</th><th>Balance</th></tr>");
    const QTimeZone zone(s.timeZone.toUtf8());
    for (const StatementLine &line : s.lines) {
        const QString amount = Money::formatMinor(std::abs(line.amountMinor), s.exponent);
        html += QStringLiteral("<tr><td>") +
                line.bookedAt.toTimeZone(zone).date().toString(Qt::ISODate) +
                QStringLiteral("</td><td>") +
                line.valueAt.toTimeZone(zone).date().toString(Qt::ISODate) +
                QStringLiteral("</td><td>") + line.description.toHtmlEscaped() +
                QStringLiteral("</td><td>") + line.reference.toHtmlEscaped() +
                QStringLiteral("</td><td align=\"right\">") +
                (line.amountMinor < 0 ? amount : QString()) +
                QStringLiteral("</td><td align=\"right\">") +
                (line.amountMinor > 0 ? amount : QString()) +
                QStringLiteral("</td><td align=\"right\">") +
                Money::formatMinor(line.balanceMinor, s.exponent) + QStringLiteral("</td></tr>");
    }
    html += QStringLiteral("</table></body></html>");

    QPdfWriter writer(path);
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait,
                                     QMarginsF(15, 12, 15, 10), QPageLayout::Millimeter));
    QTextDocument document;
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPointSizeF(7.5);
    document.setDefaultFont(font);
    document.setHtml(html);
    document.print(&writer);
    return QFileInfo(path).size() > 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption linesOption(QStringLiteral("lines"),
                                         QStringLiteral("Lines of the long statement."),
                                         QStringLiteral("N"), QStringLiteral("100000"));
    const QCommandLineOption naiveOption(QStringLiteral("naive-lines"),
                                         QStringLiteral("Lines drawn the naive way."),
                                         QStringLiteral("M"), QStringLiteral("10000"));
    const QCommandLineOption repsOption(QStringLiteral("reps"),
                                        QStringLiteral("Runs of the writer (median)."),
                                        QStringLiteral("R"), QStringLiteral("3"));
    const QCommandLineOption keepOption(QStringLiteral("keep"),
                                        QStringLiteral("Copy the files written into DIR."),
                                        QStringLiteral("DIR"));
    parser.addOptions({linesOption, naiveOption, repsOption, keepOption});
    parser.process(app);
    const qsizetype lines = parser.value(linesOption).toLongLong();
    const qsizetype naiveLines = parser.value(naiveOption).toLongLong();
    const int reps = std::max(1, parser.value(repsOption).toInt());

    QTemporaryDir dir;
    if (!dir.isValid()) {
        say(QStringLiteral("cannot make a temporary folder"));
        return 1;
    }

    const Statement big = makeStatement(lines);
    const Statement small = makeStatement(naiveLines);
    say(QStringLiteral("statement data built: %1 + %2 lines, peak RSS so far %3 MB")
            .arg(lines)
            .arg(naiveLines)
            .arg(peakRssMb(), 0, 'f', 1));

    const PdfStatementWriter writer(PdfStatementWriter::PageSize::A4);
    // Wall time is what a user waits; CPU time too, as this machine's cores may be shared.
    QList<double> cpuMs;
    const auto timeWriter = [&](const Statement &s, const QString &name, int runs, int *pages) {
        QList<double> ms;
        cpuMs.clear();
        for (int i = 0; i < runs; ++i) {
            QElapsedTimer t;
            const std::clock_t cpu = std::clock();
            t.start();
            const Result<int> written = writer.write(s, dir.filePath(name));
            ms.append(double(t.nsecsElapsed()) / 1e6);
            cpuMs.append(double(std::clock() - cpu) * 1000.0 / CLOCKS_PER_SEC);
            if (!written.ok()) {
                say(QStringLiteral("write failed: ") + written.error().describe());
                return -1.0;
            }
            *pages = written.value();
        }
        return median(ms);
    };

    int bigPages = 0;
    const double bigMs = timeWriter(big, QStringLiteral("big.pdf"), reps, &bigPages);
    const double bigCpuMs = median(cpuMs);
    const double writerPeak = peakRssMb();
    int smallPages = 0;
    const double smallMs = timeWriter(small, QStringLiteral("small.pdf"), reps, &smallPages);
    if (bigMs < 0 || smallMs < 0)
        return 1;
    say(QStringLiteral("PdfStatementWriter %1 lines: %2 ms (median of %3; CPU %8 ms), %4 pages, %5 "
                       "MB file, %6 us/line; peak RSS %7 MB  [targets: < 3000 ms, < 300 MB]")
            .arg(lines)
            .arg(bigMs, 0, 'f', 0)
            .arg(reps)
            .arg(bigPages)
            .arg(double(QFileInfo(dir.filePath(QStringLiteral("big.pdf"))).size()) / 1e6, 0, 'f', 1)
            .arg(bigMs * 1000 / double(std::max<qsizetype>(1, lines)), 0, 'f', 2)
            .arg(writerPeak, 0, 'f', 1)
            .arg(bigCpuMs, 0, 'f', 0));
    say(QStringLiteral("PdfStatementWriter %1 lines: %2 ms, %3 pages, %4 us/line")
            .arg(naiveLines)
            .arg(smallMs, 0, 'f', 0)
            .arg(smallPages)
            .arg(smallMs * 1000 / double(std::max<qsizetype>(1, naiveLines)), 0, 'f', 2));

    // The text formats and the content digest on the same big statement (camt needs the
    // issue fields its header carries).
    {
        Statement issued = big;
        issued.messageId = QStringLiteral("BENCH-MSG-1");
        issued.sequenceNumber = 1;
        const auto timeText = [&](const QString &name,
                                  const std::function<Status(QIODevice *)> &w) {
            QList<double> ms;
            qint64 bytes = 0;
            for (int i = 0; i < reps; ++i) {
                QFile f(dir.filePath(name));
                if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
                    return -1.0;
                QElapsedTimer t;
                t.start();
                const Status st = w(&f);
                f.close();
                ms.append(double(t.nsecsElapsed()) / 1e6);
                if (!st)
                    return -1.0;
                bytes = QFileInfo(f.fileName()).size();
            }
            say(QStringLiteral("%1 %2 lines: %3 ms (median of %4), %5 MB  [target: < 1000 ms]")
                    .arg(name)
                    .arg(lines)
                    .arg(median(ms), 0, 'f', 0)
                    .arg(reps)
                    .arg(double(bytes) / 1e6, 0, 'f', 1));
            return median(ms);
        };
        if (timeText(QStringLiteral("statement.csv"),
                     [&](QIODevice *d) { return StatementCsvWriter().write(issued, d); }) < 0 ||
            timeText(QStringLiteral("camt053-v08.xml"),
                     [&](QIODevice *d) { return Camt053Writer().write(issued, d); }) < 0) {
            say(QStringLiteral("a text writer failed"));
            return 1;
        }
        QElapsedTimer t;
        t.start();
        const QString digest = StatementDigest::hex(issued);
        say(QStringLiteral("StatementDigest %1 lines: %2 ms (%3...)")
                .arg(lines)
                .arg(double(t.nsecsElapsed()) / 1e6, 0, 'f', 0)
                .arg(digest.left(12)));
    }

    if (parser.isSet(keepOption)) {
        const QString keep = parser.value(keepOption);
        for (const QString &name : {QStringLiteral("big.pdf"), QStringLiteral("statement.csv"),
                                    QStringLiteral("camt053-v08.xml")}) {
            const QString target = QDir(keep).filePath(name);
            QFile::remove(target);
            if (!QDir().mkpath(keep) || !QFile::copy(dir.filePath(name), target)) {
                say(QStringLiteral("cannot copy %1 to %2").arg(name, keep));
                return 1;
            }
        }
    }

    QElapsedTimer t;
    t.start();
    const bool naiveOk = writeWithTextDocument(small, dir.filePath(QStringLiteral("naive.pdf")));
    const double naiveMs = double(t.nsecsElapsed()) / 1e6;
    if (!naiveOk) {
        say(QStringLiteral("the QTextDocument baseline wrote nothing"));
        return 1;
    }
    say(QStringLiteral("QTextDocument (HTML table) %1 lines: %2 ms, %3 us/line; peak RSS now %4 MB")
            .arg(naiveLines)
            .arg(naiveMs, 0, 'f', 0)
            .arg(naiveMs * 1000 / double(std::max<qsizetype>(1, naiveLines)), 0, 'f', 2)
            .arg(peakRssMb(), 0, 'f', 1));
    say(QStringLiteral("ratio per line, QTextDocument / PdfStatementWriter: %1x at %2 lines, %3x "
                       "against the %4-line run")
            .arg(naiveMs / smallMs, 0, 'f', 1)
            .arg(naiveLines)
            .arg((naiveMs / double(naiveLines)) / (bigMs / double(lines)), 0, 'f', 1)
            .arg(lines));
    return 0;
}
