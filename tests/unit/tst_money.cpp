// Exact decimals: typed text to minor units and back with integer arithmetic, refusing
// what the currency cannot hold instead of rounding it.

#include "domain/Money.h"

#include <QTest>

#include <limits>

using namespace ledger;

class TestMoney : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("exponent");
        QTest::addColumn<qint64>("minor");
        QTest::newRow("whole") << QStringLiteral("12") << 2 << qint64(1200);
        QTest::newRow("one decimal") << QStringLiteral("1234.5") << 2 << qint64(123450);
        QTest::newRow("two decimals") << QStringLiteral("0.01") << 2 << qint64(1);
        QTest::newRow("negative") << QStringLiteral("-0.01") << 2 << qint64(-1);
        QTest::newRow("plus") << QStringLiteral("+7") << 2 << qint64(700);
        QTest::newRow("spaces around") << QStringLiteral("  3.10 ") << 2 << qint64(310);
        QTest::newRow("leading dot") << QStringLiteral(".5") << 2 << qint64(50);
        QTest::newRow("trailing dot") << QStringLiteral("5.") << 2 << qint64(500);
        QTest::newRow("yen") << QStringLiteral("700") << 0 << qint64(700);
        QTest::newRow("dinar") << QStringLiteral("1.005") << 3 << qint64(1005);
        QTest::newRow("max") << QStringLiteral("92233720368547758.07") << 2
                             << std::numeric_limits<qint64>::max();
        QTest::newRow("min") << QStringLiteral("-92233720368547758.08") << 2
                             << std::numeric_limits<qint64>::min();
        // 0.1 + 0.2 in binary floating point is not 0.3; here it is exact.
        QTest::newRow("not binary") << QStringLiteral("0.30") << 2 << qint64(30);
    }
    void parses()
    {
        QFETCH(QString, text);
        QFETCH(int, exponent);
        QFETCH(qint64, minor);
        QString why;
        const auto parsed = Money::parseMinor(text, exponent, &why);
        QVERIFY2(parsed.has_value(), qPrintable(why));
        QCOMPARE(*parsed, minor);
    }

    void refuses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("exponent");
        QTest::addColumn<QString>("why");
        QTest::newRow("empty") << QString() << 2 << QStringLiteral("no amount");
        QTest::newRow("sign only") << QStringLiteral("-") << 2 << QStringLiteral("no digits");
        QTest::newRow("dot only") << QStringLiteral(".") << 2 << QStringLiteral("no digits");
        QTest::newRow("three decimals in EUR")
            << QStringLiteral("1.234") << 2 << QStringLiteral("at most 2 decimal");
        QTest::newRow("trailing zero beyond")
            << QStringLiteral("1.230") << 2 << QStringLiteral("at most 2 decimal");
        QTest::newRow("decimals in yen")
            << QStringLiteral("1.5") << 0 << QStringLiteral("no decimals");
        QTest::newRow("comma") << QStringLiteral("1,5") << 2 << QStringLiteral("only digits");
        QTest::newRow("grouping") << QStringLiteral("1 000") << 2 << QStringLiteral("only digits");
        QTest::newRow("exponent form")
            << QStringLiteral("1e3") << 2 << QStringLiteral("only digits");
        QTest::newRow("two dots") << QStringLiteral("1.2.3") << 2 << QStringLiteral("only digits");
        QTest::newRow("two signs") << QStringLiteral("--1") << 2 << QStringLiteral("only digits");
        QTest::newRow("arabic digits")
            << QStringLiteral("\u0661\u0662") << 2 << QStringLiteral("only digits");
        QTest::newRow("too large")
            << QStringLiteral("92233720368547758.08") << 2 << QStringLiteral("too large");
        QTest::newRow("far too large")
            << QStringLiteral("99999999999999999999999") << 0 << QStringLiteral("too large");
    }
    void refuses()
    {
        QFETCH(QString, text);
        QFETCH(int, exponent);
        QFETCH(QString, why);
        QString said;
        QVERIFY(!Money::parseMinor(text, exponent, &said).has_value());
        QVERIFY2(said.contains(why), qPrintable(said));
    }

    void formats_data()
    {
        QTest::addColumn<qint64>("minor");
        QTest::addColumn<int>("exponent");
        QTest::addColumn<QString>("text");
        QTest::newRow("cents") << qint64(123450) << 2 << QStringLiteral("1234.50");
        QTest::newRow("one cent") << qint64(1) << 2 << QStringLiteral("0.01");
        QTest::newRow("minus one cent") << qint64(-1) << 2 << QStringLiteral("-0.01");
        QTest::newRow("zero") << qint64(0) << 2 << QStringLiteral("0.00");
        QTest::newRow("yen") << qint64(700) << 0 << QStringLiteral("700");
        QTest::newRow("dinar") << qint64(-1005) << 3 << QStringLiteral("-1.005");
        QTest::newRow("min") << std::numeric_limits<qint64>::min() << 2
                             << QStringLiteral("-92233720368547758.08");
    }
    void formats()
    {
        QFETCH(qint64, minor);
        QFETCH(int, exponent);
        QFETCH(QString, text);
        QCOMPARE(Money::formatMinor(minor, exponent), text);
        QCOMPARE(Money::parseMinor(text, exponent).value_or(0), minor);
    }

    void decimalsOfServerAmounts()
    {
        QCOMPARE(Money::decimalsOf(u"12.30"), 2);
        QCOMPARE(Money::decimalsOf(u"-0.005"), 3);
        QCOMPARE(Money::decimalsOf(u"100"), 0);
    }
};

QTEST_GUILESS_MAIN(TestMoney)
#include "tst_money.moc"
