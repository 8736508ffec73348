// The PDF statement writer, checked from the outside with poppler's tools (pdfinfo,
// pdftotext, pdffonts, pdftoppm) and zbar (zbarimg): page counts, every line's amounts in
// its row, brought- and carried-forward balances at every page break, totals, embedded
// fonts, the QR code decoded back to the reference, page sizes, an empty statement and
// unwritable paths. Pages 1 and last are rendered under LEDGER_SCREENSHOT_DIR to look at.

#include "domain/Money.h"
#include "statement/PdfStatementWriter.h"

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimeZone>

using namespace ledger;

namespace {

struct Tool
{
    QString output;
    int exitCode = -1;
    QString error; // set when the tool could not be run at all
};

Tool runTool(const QString &program, const QStringList &arguments)
{
    Tool tool;
    const QString path = QStandardPaths::findExecutable(program);
    if (path.isEmpty()) {
        tool.error = program + QStringLiteral(" is not installed (Debian: apt-get install ") +
                     (program == QLatin1String("zbarimg") ? QStringLiteral("zbar-tools")
                                                          : QStringLiteral("poppler-utils")) +
                     QLatin1Char(')');
        return tool;
    }
    QProcess process;
    process.start(path, arguments);
    if (!process.waitForFinished(120000)) {
        tool.error = program + QStringLiteral(" did not finish: ") + process.errorString();
        return tool;
    }
    tool.output = QString::fromUtf8(process.readAllStandardOutput());
    tool.exitCode = process.exitCode();
    if (process.exitStatus() != QProcess::NormalExit || tool.exitCode != 0)
        tool.error = program + QStringLiteral(" failed (%1): ").arg(tool.exitCode) +
                     QString::fromUtf8(process.readAllStandardError());
    return tool;
}

#define RUN_TOOL(var, program, ...)                                                                \
    const Tool var = runTool(QStringLiteral(program), __VA_ARGS__);                                \
    if (!var.error.isEmpty())                                                                      \
        QFAIL(qPrintable(var.error));

QString format(qint64 minor, int exponent)
{
    return Money::formatMinor(minor, exponent);
}
QString magnitude(qint64 minor, int exponent)
{
    QString text = format(minor, exponent);
    if (text.startsWith(QLatin1Char('-')))
        text.remove(0, 1);
    return text;
}

QString referenceOf(int i)
{
    return QStringLiteral("REF-%1").arg(i, 6, 10, QLatin1Char('0'));
}

// A synthetic statement: amounts of both signs and many sizes, descriptions short, long (to
// be elided) and in Cyrillic, Greek and Hebrew, every line with a unique reference.
Statement makeStatement(const QString &currency, int exponent, int lineCount)
{
    Statement s;
    s.accountCode = QStringLiteral("CUST-%1-0042").arg(currency);
    s.accountName = QStringLiteral("Müller & Söhne GmbH — operating account");
    s.accountKind = QStringLiteral("liability");
    s.currency = currency;
    s.exponent = exponent;
    s.timeZone = QStringLiteral("Europe/Berlin");
    const QTimeZone berlin("Europe/Berlin");
    s.from = QDateTime(QDate(2024, 3, 1), QTime(0, 0), berlin).toUTC();
    s.to = QDateTime(QDate(2024, 4, 1), QTime(0, 0), berlin).toUTC();
    s.knownAt = QDateTime(QDate(2024, 4, 2), QTime(9, 30), QTimeZone::utc());
    s.institution = QStringLiteral("Northwind Savings Bank plc");
    s.issuedBy = QStringLiteral("c.compliance");
    s.issuedAt = QDateTime(QDate(2024, 4, 2), QTime(10, 15, 7), QTimeZone::utc());
    s.reference = QStringLiteral("LST-%1-7Q4K-93XZ-2024").arg(currency);
    s.sequenceNumber = 17;
    s.openingMinor = 1234567;
    qint64 balance = s.openingMinor;
    const qint64 step = (s.to.toMSecsSinceEpoch() - s.from.toMSecsSinceEpoch()) / (lineCount + 1);
    for (int i = 0; i < lineCount; ++i) {
        StatementLine line;
        line.entryId = 1000 + i;
        line.transactionId = 500 + i;
        line.accountSeq = i + 1;
        line.valueAt = QDateTime::fromMSecsSinceEpoch(s.from.toMSecsSinceEpoch() + step * (i + 1),
                                                      QTimeZone::utc());
        line.bookedAt = line.valueAt.addSecs(i % 9 == 0 ? 3 * 86400 : 60);
        switch (i % 7) {
        case 0:
            line.description = QStringLiteral("Оплата № %1 Αθήνα שלום").arg(i);
            break;
        case 3:
            line.description =
                QStringLiteral("Settlement of the consolidated card acquiring batch for merchant "
                               "group 7734 including chargebacks, fees and interchange TAILMARK%1")
                    .arg(i);
            break;
        default:
            line.description = QStringLiteral("Payment %1").arg(i);
        }
        line.reference = referenceOf(i);
        line.kind = QStringLiteral("posting");
        qint64 amount = (qint64(i) * 7919 % 200003) * (i % 5 + 1) * 37 + 1;
        if (i % 3 == 1)
            amount = -amount;
        line.amountMinor = amount;
        balance += amount;
        line.balanceMinor = balance;
        if (amount > 0)
            s.creditsMinor += amount;
        else
            s.debitsMinor -= amount;
        s.lines.append(line);
    }
    s.closingMinor = balance;
    return s;
}

QStringList pagesOf(const QString &pdf)
{
    const Tool text =
        runTool(QStringLiteral("pdftotext"), {QStringLiteral("-layout"), pdf, QStringLiteral("-")});
    if (!text.error.isEmpty())
        return {QStringLiteral("ERROR: ") + text.error};
    QStringList pages = text.output.split(QLatin1Char('\f'));
    if (!pages.isEmpty() && pages.last().trimmed().isEmpty())
        pages.removeLast();
    return pages;
}

// The last row (text line) of a page containing `needle`, split on runs of spaces: the
// table's rows come after the summary block's labels.
QString rawRowWith(const QString &page, const QString &needle)
{
    const QStringList rows = page.split(QLatin1Char('\n'));
    for (auto row = rows.crbegin(); row != rows.crend(); ++row)
        if (row->contains(needle))
            return *row;
    return {};
}

QStringList rowWith(const QString &page, const QString &needle)
{
    static const QRegularExpression spaces(QStringLiteral("\\s+"));
    return rawRowWith(page, needle).split(spaces, Qt::SkipEmptyParts);
}

int pdfPages(const QString &pdf)
{
    const Tool info = runTool(QStringLiteral("pdfinfo"), {pdf});
    if (!info.error.isEmpty())
        return -1;
    static const QRegularExpression pages(QStringLiteral("^Pages:\\s+(\\d+)"),
                                          QRegularExpression::MultilineOption);
    const auto match = pages.match(info.output);
    return match.hasMatch() ? match.captured(1).toInt() : -1;
}

} // namespace

class TestPdfStatement : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString pathFor(const QString &name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void linesPagesAndBreaks_data()
    {
        QTest::addColumn<QString>("currency");
        QTest::addColumn<int>("exponent");
        QTest::addColumn<int>("lines");
        QTest::newRow("EUR, many pages") << QStringLiteral("EUR") << 2 << 1000;
        QTest::newRow("JPY, no decimals") << QStringLiteral("JPY") << 0 << 180;
        QTest::newRow("BHD, three decimals") << QStringLiteral("BHD") << 3 << 180;
        QTest::newRow("EUR, exactly one page")
            << QStringLiteral("EUR") << 2 << PdfStatementWriter().linesOnFirstPage();
        QTest::newRow("EUR, one line onto page 2")
            << QStringLiteral("EUR") << 2 << PdfStatementWriter().linesOnFirstPage() + 1;
    }
    void linesPagesAndBreaks()
    {
        QFETCH(QString, currency);
        QFETCH(int, exponent);
        QFETCH(int, lines);
        const Statement s = makeStatement(currency, exponent, lines);
        const PdfStatementWriter writer(PdfStatementWriter::PageSize::A4);
        const QString pdf = pathFor(QStringLiteral("statement-%1-%2.pdf").arg(currency).arg(lines));
        const Result<int> written = writer.write(s, pdf);
        QVERIFY2(written.ok(), written.ok() ? "" : qPrintable(written.error().describe()));

        // The page count: the writer's, what pdfinfo sees, and what the row count gives.
        const int first = writer.linesOnFirstPage();
        const int next = writer.linesPerPage();
        QVERIFY2(first >= 30 && next > first,
                 qPrintable(QStringLiteral("%1 %2").arg(first).arg(next)));
        int expectedPages = 1;
        for (int rest = lines - first; rest > 0; rest -= next)
            ++expectedPages;
        QCOMPARE(written.value(), expectedPages);
        QCOMPARE(writer.pageCount(lines), expectedPages);
        QCOMPARE(pdfPages(pdf), expectedPages);

        const QStringList pages = pagesOf(pdf);
        QVERIFY2(pages.size() == expectedPages, qPrintable(pages.value(0)));

        // Every line in its row on the page it belongs to, with its amount in the right
        // column's text and its running balance; the balance carried and brought at breaks.
        int line = 0;
        for (int p = 0; p < expectedPages; ++p) {
            const QString &page = pages[p];
            const int capacity = p == 0 ? first : next;
            const int end = std::min(lines, line + capacity);
            const QString pageOf = QStringLiteral("Page %1 of %2").arg(p + 1).arg(expectedPages);
            QVERIFY2(page.contains(pageOf), qPrintable(pageOf));
            QVERIFY(page.contains(QStringLiteral("Verification reference: ") + s.reference));
            QVERIFY(page.contains(s.institution));
            const QString heading = rawRowWith(page, QStringLiteral("Description"));
            const qsizetype debitEnd = heading.indexOf(QStringLiteral("Debit")) + 5;
            const qsizetype creditEnd = heading.indexOf(QStringLiteral("Credit")) + 6;
            QVERIFY2(debitEnd > 5 && creditEnd > debitEnd, qPrintable(heading));
            const qint64 broughtForward = p == 0 ? s.openingMinor : s.lines[line - 1].balanceMinor;
            const QStringList top = rowWith(page, p == 0 ? QStringLiteral("Opening balance")
                                                         : QStringLiteral("Brought forward"));
            QVERIFY2(!top.isEmpty(), qPrintable(page));
            QCOMPARE(top.last(), format(broughtForward, exponent));
            for (; line < end; ++line) {
                const StatementLine &l = s.lines[line];
                const QStringList row = rowWith(page, referenceOf(line));
                QVERIFY2(!row.isEmpty(),
                         qPrintable(referenceOf(line) + QStringLiteral(" on page ") +
                                    QString::number(p + 1)));
                QCOMPARE(row.last(), format(l.balanceMinor, exponent));
                QCOMPARE(row.value(row.size() - 2), magnitude(l.amountMinor, exponent));
                // Dates in the statement's zone (Berlin): booked, then value date.
                const QTimeZone berlin("Europe/Berlin");
                QCOMPARE(row.value(0), l.bookedAt.toTimeZone(berlin).date().toString(Qt::ISODate));
                QCOMPARE(row.value(1), l.valueAt.toTimeZone(berlin).date().toString(Qt::ISODate));
                // The amount in the debit column for a debit, the credit column for a credit:
                // pdftotext -layout keeps the columns, so the amount ends nearer the end of
                // its column's heading.
                const QString raw = rawRowWith(page, referenceOf(line));
                const qsizetype balanceAt = raw.lastIndexOf(row.last());
                const qsizetype amountEnd =
                    raw.lastIndexOf(row.value(row.size() - 2), balanceAt - 1) +
                    row.value(row.size() - 2).size();
                const qsizetype toDebit = qAbs(amountEnd - debitEnd);
                const qsizetype toCredit = qAbs(amountEnd - creditEnd);
                QVERIFY2(l.amountMinor < 0 ? toDebit < toCredit : toCredit < toDebit,
                         qPrintable(raw));
            }
            if (p < expectedPages - 1) {
                const QStringList bottom = rowWith(page, QStringLiteral("Carried forward"));
                QVERIFY(!bottom.isEmpty());
                QCOMPARE(bottom.last(), format(s.lines[line - 1].balanceMinor, exponent));
                const QStringList nextTop =
                    rowWith(pages[p + 1], QStringLiteral("Brought forward"));
                QVERIFY(!nextTop.isEmpty());
                QCOMPARE(nextTop.last(), bottom.last());
            } else {
                QVERIFY(!page.contains(QStringLiteral("Carried forward")));
                const QStringList totals =
                    rowWith(page, QStringLiteral("Totals and closing balance"));
                QVERIFY2(totals.size() >= 3, qPrintable(page));
                QCOMPARE(totals.last(), format(s.closingMinor, exponent));
                QCOMPARE(totals.value(totals.size() - 2), magnitude(s.creditsMinor, exponent));
                QCOMPARE(totals.value(totals.size() - 3), magnitude(s.debitsMinor, exponent));
            }
        }
        QCOMPARE(line, lines);

        // The summary block on page 1, the header, non-Latin text, elided descriptions.
        const QString &one = pages.first();
        for (qint64 total : {s.openingMinor, s.closingMinor})
            QVERIFY(one.contains(format(total, exponent) + QLatin1Char(' ') + currency));
        for (qint64 total : {s.debitsMinor, s.creditsMinor})
            QVERIFY(one.contains(magnitude(total, exponent) + QLatin1Char(' ') + currency));
        QVERIFY(one.contains(s.accountCode));
        QVERIFY(one.contains(s.accountName));
        QVERIFY(one.contains(QStringLiteral("Period 2024-03-01 to 2024-03-31")));
        QVERIFY(one.contains(QStringLiteral("Dates and times in Europe/Berlin")));
        QVERIFY(
            one.contains(QStringLiteral("As the ledger knew it at 2024-04-02 11:30:00 +02:00")));
        QVERIFY(
            one.contains(QStringLiteral("Issued by c.compliance on 2024-04-02 12:15:07 +02:00")));
        QVERIFY(one.contains(QStringLiteral("Оплата № 0 Αθήνα")));
        QVERIFY(one.contains(QStringLiteral("שלום")));
        const QStringList elided = rowWith(one, referenceOf(3));
        QVERIFY(elided.join(QLatin1Char(' ')).contains(QChar(0x2026)));
        QVERIFY(!one.contains(QStringLiteral("TAILMARK3")));
    }

    void fontsAreEmbedded()
    {
        const QString pdf = pathFor(QStringLiteral("fonts.pdf"));
        QVERIFY(PdfStatementWriter().write(makeStatement(QStringLiteral("EUR"), 2, 60), pdf).ok());
        RUN_TOOL(fonts, "pdffonts", {pdf});
        static const QRegularExpression spaces(QStringLiteral("\\s+"));
        const QStringList rows = fonts.output.split(QLatin1Char('\n'), Qt::SkipEmptyParts).mid(2);
        QVERIFY2(!rows.isEmpty(), qPrintable(fonts.output));
        for (const QString &row : rows) {
            const QStringList columns = row.split(spaces, Qt::SkipEmptyParts);
            QVERIFY2(columns.size() >= 7, qPrintable(row));
            QVERIFY2(columns[columns.size() - 5] == QLatin1String("yes"),
                     qPrintable(QStringLiteral("not embedded: ") + row));
        }
    }

    void qrCodeDecodesToTheReference_data()
    {
        QTest::addColumn<int>("pageSize");
        QTest::newRow("A4") << int(PdfStatementWriter::PageSize::A4);
        QTest::newRow("Letter") << int(PdfStatementWriter::PageSize::Letter);
    }
    void qrCodeDecodesToTheReference()
    {
        QFETCH(int, pageSize);
        Statement s = makeStatement(QStringLiteral("EUR"), 2, 120);
        s.reference = QStringLiteral("LST-2024-000017-CUST-EUR-0042-9F3A7C21B04E");
        const QString pdf = pathFor(QStringLiteral("qr-%1.pdf").arg(pageSize));
        QVERIFY(PdfStatementWriter(PdfStatementWriter::PageSize(pageSize)).write(s, pdf).ok());
        for (const QString &page : {QStringLiteral("1"), QStringLiteral("3")}) {
            const QString png = pathFor(QStringLiteral("qr-%1-%2").arg(pageSize).arg(page));
            RUN_TOOL(render, "pdftoppm",
                     {QStringLiteral("-r"), QStringLiteral("150"), QStringLiteral("-f"), page,
                      QStringLiteral("-l"), page, QStringLiteral("-png"),
                      QStringLiteral("-singlefile"), pdf, png});
            RUN_TOOL(scan, "zbarimg",
                     {QStringLiteral("--raw"), QStringLiteral("-q"), png + QStringLiteral(".png")});
            QCOMPARE(scan.output.trimmed(), s.reference);
        }
    }

    void pageSizes()
    {
        const Statement s = makeStatement(QStringLiteral("EUR"), 2, 200);
        const QString a4 = pathFor(QStringLiteral("size-a4.pdf"));
        const QString letter = pathFor(QStringLiteral("size-letter.pdf"));
        const PdfStatementWriter a4Writer(PdfStatementWriter::PageSize::A4);
        const PdfStatementWriter letterWriter(PdfStatementWriter::PageSize::Letter);
        const Result<int> a4Pages = a4Writer.write(s, a4);
        const Result<int> letterPages = letterWriter.write(s, letter);
        QVERIFY(a4Pages.ok() && letterPages.ok());
        // Letter is shorter than A4: fewer rows per page.
        QVERIFY(letterWriter.linesPerPage() < a4Writer.linesPerPage());
        QCOMPARE(pdfPages(a4), a4Pages.value());
        QCOMPARE(pdfPages(letter), letterPages.value());
        QCOMPARE(letterPages.value(), letterWriter.pageCount(200));

        static const QRegularExpression size(
            QStringLiteral("Page size:\\s+([\\d.]+) x ([\\d.]+) pts"));
        RUN_TOOL(a4Info, "pdfinfo", {a4});
        RUN_TOOL(letterInfo, "pdfinfo", {letter});
        const auto a4Size = size.match(a4Info.output);
        const auto letterSize = size.match(letterInfo.output);
        QVERIFY2(a4Size.hasMatch() && letterSize.hasMatch(), qPrintable(a4Info.output));
        // A4 is 210 x 297 mm = 595.28 x 841.89 pt (Qt writes whole points); Letter 8.5 x 11 in
        // = 612 x 792 pt.
        QVERIFY(qAbs(a4Size.captured(1).toDouble() - 595.28) < 1);
        QVERIFY(qAbs(a4Size.captured(2).toDouble() - 841.89) < 1);
        QVERIFY(a4Info.output.contains(QStringLiteral("(A4)")));
        QVERIFY(letterInfo.output.contains(QStringLiteral("(letter)")));
        QCOMPARE(qRound(letterSize.captured(1).toDouble()), 612);
        QCOMPARE(qRound(letterSize.captured(2).toDouble()), 792);
        QVERIFY(pagesOf(letter).last().contains(
            QStringLiteral("Page %1 of %1").arg(letterPages.value())));
    }

    void emptyStatementIsOneValidPage()
    {
        Statement s = makeStatement(QStringLiteral("BHD"), 3, 0);
        QCOMPARE(s.openingMinor, s.closingMinor);
        const QString pdf = pathFor(QStringLiteral("empty.pdf"));
        const Result<int> written = PdfStatementWriter().write(s, pdf);
        QVERIFY(written.ok());
        QCOMPARE(written.value(), 1);
        QCOMPARE(pdfPages(pdf), 1);
        const QStringList pages = pagesOf(pdf);
        QCOMPARE(pages.size(), 1);
        QVERIFY(pages[0].contains(QStringLiteral("No entries in this period.")));
        QVERIFY(pages[0].contains(QStringLiteral("Page 1 of 1")));
        QCOMPARE(rowWith(pages[0], QStringLiteral("Opening balance")).last(),
                 QStringLiteral("1234.567"));
        const QStringList totals = rowWith(pages[0], QStringLiteral("Totals and closing balance"));
        QCOMPARE(totals.mid(totals.size() - 3),
                 (QStringList{QStringLiteral("0.000"), QStringLiteral("0.000"),
                              QStringLiteral("1234.567")}));
    }

    void unwritablePathIsAnErrorAndLeavesNoFile()
    {
        const Statement s = makeStatement(QStringLiteral("EUR"), 2, 10);
        // A folder that does not exist, and a "folder" that is a file (refused even to root).
        const QString missing = pathFor(QStringLiteral("no-such-folder/statement.pdf"));
        Result<int> written = PdfStatementWriter().write(s, missing);
        QVERIFY(!written.ok());
        QCOMPARE(written.error().kind, Error::Kind::Io);
        QVERIFY2(written.error().message.contains(missing), qPrintable(written.error().message));
        QVERIFY(!QFileInfo::exists(missing));

        const QString file = pathFor(QStringLiteral("plain-file"));
        {
            QFile f(file);
            QVERIFY(f.open(QIODevice::WriteOnly));
        }
        const QString underFile = file + QStringLiteral("/statement.pdf");
        written = PdfStatementWriter().write(s, underFile);
        QVERIFY(!written.ok());
        QCOMPARE(written.error().kind, Error::Kind::Io);
        QVERIFY(!QFileInfo::exists(underFile));

        // Refused before writing (unknown zone): an earlier file under the name is kept as it
        // was and no temporary file is left beside it.
        const QString kept = pathFor(QStringLiteral("kept.pdf"));
        {
            QFile f(kept);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("earlier");
        }
        Statement badZone = s;
        badZone.timeZone = QStringLiteral("Mars/Olympus_Mons");
        written = PdfStatementWriter().write(badZone, kept);
        QVERIFY(!written.ok());
        QCOMPARE(written.error().kind, Error::Kind::Input);
        QFile f(kept);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("earlier"));
        QCOMPARE(QDir(m_dir.path()).entryList({QStringLiteral("kept.pdf.*")}, QDir::Files),
                 QStringList());
    }

    // Page 1 and the last page as PNG for a person to look at.
    void screenshots()
    {
        const QString dir = QStringLiteral(LEDGER_SCREENSHOT_DIR);
        QVERIFY(QDir().mkpath(dir));
        const Statement s = makeStatement(QStringLiteral("EUR"), 2, 130);
        const QString pdf = dir + QStringLiteral("/pdfstatement.pdf");
        const Result<int> written = PdfStatementWriter().write(s, pdf);
        QVERIFY(written.ok());
        const QString last = QString::number(written.value());
        for (const auto &[page, name] :
             {std::pair{QStringLiteral("1"), QStringLiteral("pdfstatement-page1")},
              std::pair{last, QStringLiteral("pdfstatement-last")}}) {
            RUN_TOOL(render, "pdftoppm",
                     {QStringLiteral("-r"), QStringLiteral("110"), QStringLiteral("-f"), page,
                      QStringLiteral("-l"), page, QStringLiteral("-png"),
                      QStringLiteral("-singlefile"), pdf, dir + QLatin1Char('/') + name});
            QVERIFY(QFileInfo::exists(dir + QLatin1Char('/') + name + QStringLiteral(".png")));
        }
    }
};

QTEST_MAIN(TestPdfStatement)
#include "tst_pdfstatement.moc"
