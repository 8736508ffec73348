// Exact decimals: typed text to minor units and back with integer arithmetic, refusing
// what the currency cannot hold instead of rounding it; and the Money type, whose sums
// refuse to mix currencies or to overflow.

#include "domain/Money.h"

#include <QTest>

#include <algorithm>
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

    // --- The Money type ----------------------------------------------------------------

    void moneyNeedsACurrencyAndAnExponent()
    {
        QVERIFY(Money::of(100, u"EUR", 2).has_value());
        QVERIFY(!Money::of(100, u"eur", 2)); // ISO 4217 alphabetic codes are upper case
        QVERIFY(!Money::of(100, u"EU", 2));
        QVERIFY(!Money::of(100, u"EURO", 2));
        QVERIFY(!Money::of(100, u"EUR", -1));
        QVERIFY(!Money::of(100, u"EUR", 19));
        const Money none;
        QVERIFY(!none.isValid());
        QCOMPARE(none.toString(), QString()); // never a zero of some currency
        QCOMPARE(none.toDisplayString(), QString());
        QString why;
        QVERIFY(!Money::parse(u"1.00", u"E1R", 2, &why));
        QVERIFY2(why.contains(QLatin1String("currency")), qPrintable(why));
        QVERIFY(!Money::parse(u"1.001", u"EUR", 2, &why));
        QVERIFY2(why.contains(QLatin1String("at most 2 decimal")), qPrintable(why));
    }

    void moneyFormatsWithItsCurrency_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("currency");
        QTest::addColumn<int>("exponent");
        QTest::addColumn<qint64>("minor");
        QTest::addColumn<QString>("shown");
        QTest::newRow("euro") << QStringLiteral("100") << QStringLiteral("EUR") << 2
                              << qint64(10000) << QStringLiteral("100.00 EUR");
        QTest::newRow("yen") << QStringLiteral("10000") << QStringLiteral("JPY") << 0
                             << qint64(10000) << QStringLiteral("10000 JPY");
        QTest::newRow("dinar") << QStringLiteral("-0.005") << QStringLiteral("BHD") << 3
                               << qint64(-5) << QStringLiteral("-0.005 BHD");
    }
    void moneyFormatsWithItsCurrency()
    {
        QFETCH(QString, text);
        QFETCH(QString, currency);
        QFETCH(int, exponent);
        QFETCH(qint64, minor);
        QFETCH(QString, shown);
        const std::optional<Money> m = Money::parse(text, currency, exponent);
        QVERIFY(m);
        QCOMPARE(m->minor(), minor);
        QCOMPARE(m->currency(), currency);
        QCOMPARE(m->exponent(), exponent);
        QCOMPARE(m->toDisplayString(), shown);
        QCOMPARE(m->toString() + QLatin1Char(' ') + currency, shown);
        // Through QVariant (item model roles) unchanged.
        QCOMPARE(QVariant::fromValue(*m).value<Money>(), *m);
    }

    // The server sends minor units and its own formatting; they must agree.
    void moneyFromTheServerChecksTheText()
    {
        QCOMPARE(Money::fromServer(123450, u"EUR", u"1234.50")->exponent(), 2);
        QCOMPARE(Money::fromServer(10000, u"JPY", u"10000")->exponent(), 0);
        QCOMPARE(Money::fromServer(-1, u"EUR", u"-0.01")->minor(), qint64(-1));
        QCOMPARE(Money::fromServer(0, u"EUR", u"0.00")->toString(), QStringLiteral("0.00"));
        QVERIFY(!Money::fromServer(10000, u"EUR", u"1.00"));    // text and number disagree
        QVERIFY(!Money::fromServer(10000, u"EUR", u"100.000")); // not what format_minor writes
        QVERIFY(!Money::fromServer(10000, u"", u"100.00"));     // no currency
    }

    // 100.00 EUR and 10000 JPY are both 10000 minor units: never one number.
    void moneyRefusesToMixCurrencies()
    {
        const Money eur = *Money::of(10000, u"EUR", 2);
        const Money yen = *Money::of(10000, u"JPY", 0);
        QCOMPARE(eur.minor(), yen.minor());
        QVERIFY(eur != yen);
        QVERIFY(!eur.sameCurrency(yen));
        QVERIFY(!eur.compare(yen).has_value());
        QVERIFY(!yen.compare(eur).has_value());
        for (const Result<Money> &mixed : {eur.plus(yen), eur.minus(yen), yen.plus(eur)}) {
            QVERIFY(!mixed.ok());
            QCOMPARE(mixed.error().kind, Error::Kind::Input);
            QVERIFY2(mixed.error().message.contains(QLatin1String("EUR")) &&
                         mixed.error().message.contains(QLatin1String("JPY")),
                     qPrintable(mixed.error().message));
        }
        // The same currency code with another exponent is not the same currency either.
        QVERIFY(!eur.plus(*Money::of(1, u"EUR", 3)).ok());
        // Nor is an amount without a currency.
        QVERIFY(!eur.plus(Money()).ok());
        QVERIFY(!Money().negated().ok());
        QVERIFY(!Money().compare(Money()).has_value());
    }

    void moneyAddsExactlyWithinACurrency()
    {
        const Money a = *Money::parse(u"0.10", u"EUR", 2);
        const Money b = *Money::parse(u"0.20", u"EUR", 2);
        const Result<Money> sum = a.plus(b);
        QVERIFY(sum.ok());
        QCOMPARE(sum.value(), *Money::parse(u"0.30", u"EUR", 2)); // not 0.30000000000000004
        QCOMPARE(b.minus(a).value().toString(), QStringLiteral("0.10"));
        QCOMPARE(a.minus(b).value().toString(), QStringLiteral("-0.10"));
        QCOMPARE(a.negated().value().toString(), QStringLiteral("-0.10"));
        QVERIFY(*a.compare(b) < 0);
        QVERIFY(*b.compare(a) > 0);
        QVERIFY(*a.compare(a) == 0);
        QVERIFY(a.minus(a).value().isZero());
    }

    void moneyRefusesToOverflow()
    {
        constexpr qint64 max = std::numeric_limits<qint64>::max();
        constexpr qint64 min = std::numeric_limits<qint64>::min();
        const Money top = *Money::of(max, u"EUR", 2);
        const Money bottom = *Money::of(min, u"EUR", 2);
        const Money cent = *Money::of(1, u"EUR", 2);
        QVERIFY(!top.plus(cent).ok());
        QVERIFY(!bottom.minus(cent).ok());
        QVERIFY(!bottom.negated().ok()); // -(-2^63) has no 64-bit value
        QVERIFY(!cent.minus(bottom).ok());
        QVERIFY2(top.plus(cent).error().message.contains(QLatin1String("beyond")),
                 qPrintable(top.plus(cent).error().message));
        // Up to the edge is fine.
        QCOMPARE(top.minus(cent).value().minor(), max - 1);
        QCOMPARE(bottom.plus(cent).value().minor(), min + 1);
        QCOMPARE(top.negated().value().minor(), -max);
        QCOMPARE(top.plus(bottom).value().minor(), qint64(-1));
    }

    // Lists that mix currencies order by currency, then amount; sortKey() agrees as text.
    void moneyOrdersByCurrencyThenAmount()
    {
        QList<Money> values;
        const QList<std::pair<QString, int>> currencies = {
            {QStringLiteral("JPY"), 0}, {QStringLiteral("EUR"), 2}, {QStringLiteral("BHD"), 3}};
        for (const auto &[currency, exponent] : currencies) {
            for (const qint64 minor : {qint64(10000), qint64(-1), qint64(0), qint64(60),
                                       std::numeric_limits<qint64>::min(),
                                       std::numeric_limits<qint64>::max(), qint64(-10000)})
                values << *Money::of(minor, currency, exponent);
        }
        values << Money();
        QList<Money> byRule = values;
        std::sort(byRule.begin(), byRule.end(), [](const Money &a, const Money &b) {
            return Money::orderByCurrencyThenAmount(a, b) < 0;
        });
        QList<Money> byKey = values;
        std::sort(byKey.begin(), byKey.end(),
                  [](const Money &a, const Money &b) { return a.sortKey() < b.sortKey(); });
        QCOMPARE(byKey, byRule);
        QVERIFY(!byRule.first().isValid());
        // BHD < EUR < JPY; within each, ascending amounts.
        for (qsizetype i = 2; i < byRule.size(); ++i) {
            const Money &a = byRule.at(i - 1);
            const Money &b = byRule.at(i);
            QVERIFY(a.currency() < b.currency() ||
                    (a.currency() == b.currency() && *a.compare(b) < 0));
        }
        const Money eur = *Money::of(10000, u"EUR", 2);
        const Money yen = *Money::of(10000, u"JPY", 0);
        const Money bigEur = *Money::of(5000000, u"EUR", 2);
        QVERIFY(Money::orderByCurrencyThenAmount(eur, yen) < 0);
        QVERIFY(Money::orderByCurrencyThenAmount(bigEur, yen) < 0); // the currency comes first
        // Descending amounts keep the currencies in alphabetical order.
        QVERIFY(Money::orderByCurrencyThenAmount(bigEur, eur, true) < 0);
        QVERIFY(Money::orderByCurrencyThenAmount(eur, yen, true) < 0);
        QVERIFY(Money::orderByCurrencyThenAmount(eur, eur, true) == 0);
    }
};

QTEST_GUILESS_MAIN(TestMoney)
#include "tst_money.moc"
