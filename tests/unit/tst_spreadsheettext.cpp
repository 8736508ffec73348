// Cells handed to spreadsheets: a cell that a spreadsheet would run as a formula gets a
// leading apostrophe, plain negative numbers stay numbers, and CSV fields are quoted per
// RFC 4180.

#include "domain/SpreadsheetText.h"

#include <QTest>

using namespace ledger;

class TestSpreadsheetText : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void neutralisesFormulas_data()
    {
        QTest::addColumn<QString>("cell");
        QTest::addColumn<QString>("safe");
        const auto row = [](const char *name, const QString &cell, const QString &safe) {
            QTest::newRow(name) << cell << safe;
        };
        // OWASP's characters, each at the start of a cell.
        row("hyperlink", QStringLiteral("=HYPERLINK(\"http://evil\",\"x\")"),
            QStringLiteral("'=HYPERLINK(\"http://evil\",\"x\")"));
        row("at", QStringLiteral("@SUM(A1)"), QStringLiteral("'@SUM(A1)"));
        row("plus", QStringLiteral("+1+1"), QStringLiteral("'+1+1"));
        row("plus number", QStringLiteral("+12.50"), QStringLiteral("'+12.50"));
        row("phone number", QStringLiteral("+49 30 1234"), QStringLiteral("'+49 30 1234"));
        row("dde", QStringLiteral("-2+3+cmd|' /C calc'!A0"),
            QStringLiteral("'-2+3+cmd|' /C calc'!A0"));
        row("minus formula", QStringLiteral("-SUM(A1)"), QStringLiteral("'-SUM(A1)"));
        row("minus sum", QStringLiteral("-1+1"), QStringLiteral("'-1+1"));
        row("minus exponent", QStringLiteral("-1e5"), QStringLiteral("'-1e5"));
        row("minus grouping", QStringLiteral("-1,000.00"), QStringLiteral("'-1,000.00"));
        row("minus two dots", QStringLiteral("-1.2.3"), QStringLiteral("'-1.2.3"));
        row("minus alone", QStringLiteral("-"), QStringLiteral("'-"));
        row("minus dot", QStringLiteral("-.5"), QStringLiteral("'-.5"));
        row("tab", QStringLiteral("\t=1+1"), QStringLiteral("'\t=1+1"));
        row("carriage return", QStringLiteral("\r=1+1"), QStringLiteral("'\r=1+1"));
        // Left alone: plain negative numbers (so that SUM() still adds debits up), and
        // anything that does not start with a formula character.
        row("negative amount", QStringLiteral("-12.50"), QStringLiteral("-12.50"));
        row("negative yen", QStringLiteral("-700"), QStringLiteral("-700"));
        row("negative dinar", QStringLiteral("-0.005"), QStringLiteral("-0.005"));
        row("amount", QStringLiteral("12.50"), QStringLiteral("12.50"));
        row("text", QStringLiteral("Refund =1+1"), QStringLiteral("Refund =1+1"));
        row("time", QStringLiteral("2026-11-01T00:00:00.000Z"),
            QStringLiteral("2026-11-01T00:00:00.000Z"));
        row("empty", QString(), QString());
    }
    void neutralisesFormulas()
    {
        QFETCH(QString, cell);
        QFETCH(QString, safe);
        QCOMPARE(spreadsheetSafe(cell), safe);
        // Whatever is not left alone starts with the apostrophe, and nothing else changes.
        if (safe != cell)
            QCOMPARE(safe, QLatin1Char('\'') + cell);
    }

    void plainDecimals()
    {
        for (const char *yes : {"0", "-0", "12", "-12.50", "-0.005", "9223372036854775807"})
            QVERIFY2(isPlainDecimal(QString::fromLatin1(yes)), yes);
        for (const char *no :
             {"", "-", ".", "-.", "-.5", "5.", "1e3", "-1+1", "1.2.3", " 1", "1 ", "+1", "--1"})
            QVERIFY2(!isPlainDecimal(QString::fromLatin1(no)), no);
    }

    void quotesCsvFields_data()
    {
        QTest::addColumn<QString>("cell");
        QTest::addColumn<QString>("field");
        QTest::newRow("plain") << QStringLiteral("abc") << QStringLiteral("abc");
        QTest::newRow("comma") << QStringLiteral("a,b") << QStringLiteral("\"a,b\"");
        QTest::newRow("quote") << QStringLiteral("say \"hi\"")
                               << QStringLiteral("\"say \"\"hi\"\"\"");
        QTest::newRow("newline") << QStringLiteral("a\nb") << QStringLiteral("\"a\nb\"");
        QTest::newRow("carriage return") << QStringLiteral("a\rb") << QStringLiteral("\"a\rb\"");
        QTest::newRow("neutralised formula")
            << spreadsheetSafe(QStringLiteral("=HYPERLINK(\"http://evil\",\"x\")"))
            << QStringLiteral("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"");
    }
    void quotesCsvFields()
    {
        QFETCH(QString, cell);
        QFETCH(QString, field);
        QCOMPARE(csvField(cell), field);
    }
};

QTEST_GUILESS_MAIN(TestSpreadsheetText)
#include "tst_spreadsheettext.moc"
