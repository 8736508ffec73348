// The statement writers and the content digest (Step 8), without a database: synthetic
// statements in JPY (0 decimals), EUR (2) and BHD (3). CSV is parsed back under RFC 4180's
// rules; camt.053 .001.08 is validated against the ISO 20022 schema with xmllint, .02 and
// .04 are checked well-formed in their namespaces, and a .04 file is read by an independent
// camt reader (AqBanking's importer), which must find the same entries and amounts.

#include "domain/Money.h"
#include "domain/Statement.h"
#include "statement/Camt053Writer.h"
#include "statement/StatementCsvWriter.h"
#include "statement/StatementDigest.h"
#include "statement/StatementFormat.h"

#include <QBuffer>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimeZone>
#include <QXmlStreamReader>

#include <algorithm>
#include <functional>
#include <optional>

using namespace ledger;

namespace {

// The schema folder beside the repository (tests/CMakeLists.txt: ../shared/specs/iso20022).
const QString iso20022Dir = QStringLiteral(LEDGER_ISO20022_DIR);

struct LineSpec
{
    qint64 amount;
    QString description;
    QString reference;
    QString kind = QStringLiteral("posting");
    qint64 reverses = 0;
};

QDateTime utc(const char *iso)
{
    QDateTime t = QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODateWithMs);
    Q_ASSERT(t.isValid());
    return t.toUTC();
}

// A consistent statement: balances, totals and closing from the opening and the amounts.
// The period is March 2024 in Berlin (the clocks go forward on the 31st).
Statement makeStatement(const QString &currency, int exponent, qint64 opening,
                        const QList<LineSpec> &specs)
{
    Statement s;
    s.accountCode = QStringLiteral("CUST_%1").arg(currency);
    s.accountName = QStringLiteral("Customer deposits %1").arg(currency);
    s.accountKind = QStringLiteral("liability");
    s.currency = currency;
    s.exponent = exponent;
    s.from = utc("2024-03-01T00:00:00+01:00");
    s.to = utc("2024-04-01T00:00:00+02:00");
    s.timeZone = QStringLiteral("Europe/Berlin");
    s.knownAt = utc("2024-04-02T08:00:00.250Z");
    s.openingMinor = opening;
    qint64 balance = opening;
    qint64 id = 100;
    for (const LineSpec &spec : specs) {
        StatementLine line;
        line.entryId = ++id;
        line.transactionId = id + 1000;
        line.accountSeq = id - 90;
        // One line a week from the 2nd, in winter time; the period ends in summer time.
        line.valueAt = s.from.addDays(1 + qint64(7) * (id - 101))
                           .addSecs(qint64(3600) * 9 + qint64(60) * (id % 60));
        line.bookedAt = line.valueAt.addSecs(300).addMSecs(123);
        line.description = spec.description;
        line.reference = spec.reference;
        line.kind = spec.kind;
        line.reverses = spec.reverses;
        line.amountMinor = spec.amount;
        balance += spec.amount;
        line.balanceMinor = balance;
        if (spec.amount >= 0)
            s.creditsMinor += spec.amount;
        else
            s.debitsMinor -= spec.amount;
        s.lines.append(line);
    }
    s.closingMinor = balance;
    s.institution = QStringLiteral("Example Bank");
    s.issuedBy = QStringLiteral("alice");
    s.issuedAt = utc("2024-04-02T09:15:30.500Z");
    s.reference = QStringLiteral("STM-%1-0007").arg(currency);
    s.sequenceNumber = 7;
    s.messageId = QStringLiteral("MSG-%1-0007").arg(currency);
    return s;
}

Statement jpy()
{
    return makeStatement(QStringLiteral("JPY"), 0, 100000,
                         {{1500, QStringLiteral("Salary"), QStringLiteral("PAY-1")},
                          {-250000, QStringLiteral("Rent"), QStringLiteral("RENT-3")},
                          {7, QStringLiteral("Interest"), QString()}});
}

Statement eur()
{
    return makeStatement(QStringLiteral("EUR"), 2, 1000,
                         {{-230, QStringLiteral("Coffee"), QStringLiteral("INV-1")},
                          {1, QStringLiteral("One cent"), QStringLiteral("INV-2")},
                          {123456789, QStringLiteral("Large deposit"), QStringLiteral("INV-3")},
                          {230, QStringLiteral("Reversal of coffee"), QStringLiteral("INV-1-R"),
                           QStringLiteral("reversal"), 1101}});
}

Statement bhd()
{
    return makeStatement(QStringLiteral("BHD"), 3, -5,
                         {{125, QStringLiteral("Fils"), QStringLiteral("B-1")},
                          {-1000, QStringLiteral("One dinar"), QStringLiteral("B-2")},
                          {1, QStringLiteral("One fils"), QStringLiteral("B-3")}});
}

Statement emptyStatement()
{
    return makeStatement(QStringLiteral("EUR"), 2, 4250, {});
}

Statement byName(const QString &name)
{
    if (name == QLatin1String("JPY"))
        return jpy();
    if (name == QLatin1String("EUR"))
        return eur();
    if (name == QLatin1String("BHD"))
        return bhd();
    return emptyStatement();
}

// RFC 4180, strictly: every record ends with CRLF, quotes only around whole fields.
QList<QStringList> parseCsv(const QByteArray &bytes, QString *error)
{
    QList<QStringList> records;
    QStringList record;
    QByteArray field;
    qsizetype i = 0;
    auto fail = [&](const QString &why) {
        *error = QStringLiteral("%1 at byte %2").arg(why).arg(i);
        return QList<QStringList>();
    };
    while (i < bytes.size()) {
        field.clear();
        if (bytes.at(i) == '"') {
            ++i;
            for (;;) {
                if (i >= bytes.size())
                    return fail(QStringLiteral("unterminated quoted field"));
                if (bytes.at(i) == '"') {
                    if (i + 1 < bytes.size() && bytes.at(i + 1) == '"') {
                        field.append('"');
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field.append(bytes.at(i++));
            }
        } else {
            while (i < bytes.size() && bytes.at(i) != ',' && bytes.at(i) != '\r') {
                if (bytes.at(i) == '"' || bytes.at(i) == '\n')
                    return fail(QStringLiteral("quote or line feed in an unquoted field"));
                field.append(bytes.at(i++));
            }
        }
        record.append(QString::fromUtf8(field));
        if (i < bytes.size() && bytes.at(i) == ',') {
            ++i;
            continue;
        }
        if (bytes.mid(i, 2) != "\r\n")
            return fail(QStringLiteral("record not ended by CRLF"));
        i += 2;
        records.append(record);
        record.clear();
    }
    return records;
}

QByteArray csvOf(const Statement &s)
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    const Status status = StatementCsvWriter().write(s, &buffer);
    if (!status.ok())
        qWarning() << status.error().describe();
    return status.ok() ? buffer.data() : QByteArray();
}

QByteArray camtOf(const Statement &s, Camt053Writer::Version version)
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    const Status status = Camt053Writer(version).write(s, &buffer);
    if (!status.ok())
        qWarning() << status.error().describe();
    return status.ok() ? buffer.data() : QByteArray();
}

// A device that accepts `room` bytes and then fails, as a full disk does.
class FullDevice : public QIODevice
{
public:
    explicit FullDevice(qint64 room)
        : m_room(room)
    {
        open(QIODevice::WriteOnly);
    }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *, qint64 size) override
    {
        if (size > m_room) {
            setErrorString(QStringLiteral("No space left on device"));
            return -1;
        }
        m_room -= size;
        return size;
    }

private:
    qint64 m_room;
};

// A small DOM for reading camt back: element names, namespace, attributes and text.
struct Node
{
    QString name;
    QString ns;
    QXmlStreamAttributes attributes;
    QString text;
    QList<Node> children;

    const Node *child(const QString &n) const
    {
        for (const Node &c : children) {
            if (c.name == n)
                return &c;
        }
        return nullptr;
    }
    QList<const Node *> all(const QString &n) const
    {
        QList<const Node *> out;
        for (const Node &c : children) {
            if (c.name == n)
                out.append(&c);
        }
        return out;
    }
    // "A/B/C": the first match along the path; "" when absent.
    QString at(const QString &path) const
    {
        const Node *n = this;
        for (const QString &part : path.split(QLatin1Char('/'))) {
            n = n->child(part);
            if (!n)
                return {};
        }
        return n->text;
    }
    bool has(const QString &path) const
    {
        const Node *n = this;
        for (const QString &part : path.split(QLatin1Char('/'))) {
            n = n->child(part);
            if (!n)
                return false;
        }
        return true;
    }
};

bool readNode(QXmlStreamReader &xml, Node &node)
{
    node.name = xml.name().toString();
    node.ns = xml.namespaceUri().toString();
    node.attributes = xml.attributes();
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement()) {
            Node c;
            if (!readNode(xml, c))
                return false;
            node.children.append(c);
        } else if (xml.isCharacters() && !xml.isWhitespace()) {
            node.text += xml.text();
        } else if (xml.isEndElement()) {
            return true;
        }
    }
    return false;
}

std::optional<Node> parseXml(const QByteArray &bytes, QString *error)
{
    QXmlStreamReader xml(bytes);
    while (!xml.atEnd() && !xml.isStartElement())
        xml.readNext();
    Node root;
    if (!xml.isStartElement() || !readNode(xml, root) || xml.hasError()) {
        *error = xml.errorString();
        return std::nullopt;
    }
    return root;
}

QString requireTool(const QString &name, const QString &package)
{
    const QString path = QStandardPaths::findExecutable(name);
    if (path.isEmpty()) {
        qWarning().noquote() << name << "is not installed: apt-get install" << package
                             << "(installer/install-deps.sh installs it)";
    }
    return path;
}

struct Run
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
    bool finished = false;
};

Run run(const QString &program, const QStringList &arguments,
        const QProcessEnvironment &environment = QProcessEnvironment::systemEnvironment())
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(program, arguments);
    Run r;
    r.finished = process.waitForFinished(120000);
    r.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    r.out = process.readAllStandardOutput();
    r.err = process.readAllStandardError();
    return r;
}

QString describe(const Run &r)
{
    return QStringLiteral("exit %1%2\n%3\n%4")
        .arg(r.exitCode)
        .arg(r.finished ? QString() : QStringLiteral(" (did not finish)"))
        .arg(QString::fromUtf8(r.out), QString::fromUtf8(r.err));
}

// AqBanking's amounts are rationals ("-230/100:EUR"): exact, in minor units.
std::optional<qint64> minorFromRational(const QString &value, int exponent, QString *currency)
{
    const qsizetype colon = value.indexOf(QLatin1Char(':'));
    const QString number = colon < 0 ? value : value.left(colon);
    *currency = colon < 0 ? QString() : value.mid(colon + 1);
    const qsizetype slash = number.indexOf(QLatin1Char('/'));
    bool ok1 = true;
    bool ok2 = true;
    const qint64 numerator = (slash < 0 ? number : number.left(slash)).toLongLong(&ok1);
    const qint64 denominator = slash < 0 ? 1 : number.mid(slash + 1).toLongLong(&ok2);
    if (!ok1 || !ok2 || denominator <= 0)
        return std::nullopt;
    qint64 scale = 1;
    for (int i = 0; i < exponent; ++i)
        scale *= 10;
    if ((numerator * scale) % denominator != 0)
        return std::nullopt;
    return numerator * scale / denominator;
}

} // namespace

class TestStatementWriters : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // ---- CSV ---------------------------------------------------------------------------

    void csvAmountsAndTotalsAreExact_data()
    {
        QTest::addColumn<QString>("currency");
        // Per row after the header: type|debit|credit|balance.
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("JPY") << QStringLiteral("JPY")
                             << QStringList{QStringLiteral("opening|||100000"),
                                            QStringLiteral("entry||1500|101500"),
                                            QStringLiteral("entry|250000||-148500"),
                                            QStringLiteral("entry||7|-148493"),
                                            QStringLiteral("closing|250000|1507|-148493")};
        QTest::newRow("EUR") << QStringLiteral("EUR")
                             << QStringList{QStringLiteral("opening|||10.00"),
                                            QStringLiteral("entry|2.30||7.70"),
                                            QStringLiteral("entry||0.01|7.71"),
                                            QStringLiteral("entry||1234567.89|1234575.60"),
                                            QStringLiteral("entry||2.30|1234577.90"),
                                            QStringLiteral("closing|2.30|1234570.20|1234577.90")};
        QTest::newRow("BHD") << QStringLiteral("BHD")
                             << QStringList{QStringLiteral("opening|||-0.005"),
                                            QStringLiteral("entry||0.125|0.120"),
                                            QStringLiteral("entry|1.000||-0.880"),
                                            QStringLiteral("entry||0.001|-0.879"),
                                            QStringLiteral("closing|1.000|0.126|-0.879")};
        QTest::newRow("empty") << QStringLiteral("empty")
                               << QStringList{QStringLiteral("opening|||42.50"),
                                              QStringLiteral("closing|0.00|0.00|42.50")};
    }

    void csvAmountsAndTotalsAreExact()
    {
        QFETCH(QString, currency);
        QFETCH(QStringList, expected);
        const Statement s = byName(currency);
        const QByteArray bytes = csvOf(s);
        QVERIFY(!bytes.isEmpty());
        QString error;
        QList<QStringList> records = parseCsv(bytes, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        // An issued statement ends with its issue row: number, reference, known-at time.
        QVERIFY(!s.reference.isEmpty());
        QCOMPARE(records.last().first(), QStringLiteral("issue"));
        QCOMPARE(records.last().at(5), QString::number(s.sequenceNumber));
        QCOMPARE(records.last().at(8), s.reference);
        records.removeLast();
        QCOMPARE(records.size(), expected.size() + 1);
        QCOMPARE(records.front(),
                 (QStringList{QStringLiteral("Type"), QStringLiteral("Account"),
                              QStringLiteral("Currency"), QStringLiteral("Booking time"),
                              QStringLiteral("Value time"), QStringLiteral("Transaction"),
                              QStringLiteral("Entry"), QStringLiteral("Description"),
                              QStringLiteral("Reference"), QStringLiteral("Debit"),
                              QStringLiteral("Credit"), QStringLiteral("Balance")}));
        qint64 running = 0;
        qint64 debits = 0;
        qint64 credits = 0;
        for (qsizetype i = 1; i < records.size(); ++i) {
            const QStringList &r = records.at(i);
            QCOMPARE(r.size(), 12);
            QCOMPARE(QStringList({r[0], r[9], r[10], r[11]}).join(QLatin1Char('|')),
                     expected.at(i - 1));
            QCOMPARE(r[1], s.accountCode);
            QCOMPARE(r[2], s.currency);
            // Recomputed from the text: the file alone adds up.
            const qint64 balance = *Money::parseMinor(r[11], s.exponent);
            if (r[0] == QLatin1String("opening")) {
                running = balance;
            } else if (r[0] == QLatin1String("entry")) {
                QVERIFY2(r[9].isEmpty() != r[10].isEmpty(), "exactly one of debit and credit");
                const qint64 debit = r[9].isEmpty() ? 0 : *Money::parseMinor(r[9], s.exponent);
                const qint64 credit = r[10].isEmpty() ? 0 : *Money::parseMinor(r[10], s.exponent);
                QVERIFY(debit >= 0 && credit >= 0);
                running += credit - debit;
                debits += debit;
                credits += credit;
                QCOMPARE(balance, running);
                const StatementLine &line = s.lines.at(i - 2);
                QCOMPARE(r[5], QString::number(line.transactionId));
                QCOMPARE(r[6], QString::number(line.entryId));
                QCOMPARE(r[7], line.description);
                QCOMPARE(r[8], line.reference);
            } else {
                QCOMPARE(r[0], QStringLiteral("closing"));
                QCOMPARE(balance, running);
                QCOMPARE(balance, s.closingMinor);
                QCOMPARE(*Money::parseMinor(r[9], s.exponent), debits);
                QCOMPARE(*Money::parseMinor(r[10], s.exponent), credits);
            }
        }
    }

    void csvIsRfc4180AndNeutralisesFormulas()
    {
        Statement s = makeStatement(
            QStringLiteral("EUR"), 2, 0,
            {{100, QStringLiteral("He said \"hi\", then left"), QStringLiteral("A,B")},
             {-100, QStringLiteral("line one\r\nline two"), QStringLiteral("only\nLF")},
             {100, QStringLiteral("=HYPERLINK(\"http://x\",\"click\")"),
              QStringLiteral("=cmd|' /C calc'!A0")},
             {-100, QStringLiteral("+1"), QStringLiteral("-2")},
             {100, QStringLiteral("@SUM(A1:A2)"), QStringLiteral("\tTab")},
             {-300, QStringLiteral("\rCR"), QStringLiteral("plain")},
             {100, QStringLiteral("Grüße, 東京 😀"), QString()}});
        const QByteArray bytes = csvOf(s);
        QVERIFY(!bytes.startsWith("\xEF\xBB\xBF"));
        QVERIFY(bytes.startsWith("Type,Account,Currency,Booking time,Value time,Transaction,"
                                 "Entry,Description,Reference,Debit,Credit,Balance\r\n"));
        // Exact records: quotes doubled, quoting only when needed, a negative balance unquoted
        // and not neutralised (a number), formulas behind an apostrophe.
        QVERIFY(bytes.contains(",\"He said \"\"hi\"\", then left\",\"A,B\",,1.00,1.00\r\n"));
        QVERIFY(bytes.contains(",\"line one\r\nline two\",\"only\nLF\",1.00,,0.00\r\n"));
        QVERIFY(bytes.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\","
                               "'=cmd|' /C calc'!A0,,1.00,1.00\r\n"));
        QVERIFY(bytes.contains(",'+1,'-2,1.00,,0.00\r\n"));
        QVERIFY(bytes.contains(",'@SUM(A1:A2),'\tTab,,1.00,1.00\r\n"));
        QVERIFY(bytes.contains(",\"'\rCR\",plain,3.00,,-2.00\r\n"));
        QVERIFY(bytes.contains(QStringLiteral(",\"Grüße, 東京 😀\",,,1.00,-1.00\r\n").toUtf8()));

        QString error;
        QList<QStringList> records = parseCsv(bytes, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        if (!s.reference.isEmpty()) {
            QCOMPARE(records.last().first(), QStringLiteral("issue"));
            records.removeLast();
        }
        QCOMPARE(records.size(), 1 + 1 + s.lines.size() + 1);
        const QStringList descriptions = [&] {
            QStringList d;
            for (qsizetype i = 2; i < records.size() - 1; ++i)
                d.append(records.at(i).at(7));
            return d;
        }();
        QCOMPARE(descriptions,
                 (QStringList{QStringLiteral("He said \"hi\", then left"),
                              QStringLiteral("line one\r\nline two"),
                              QStringLiteral("'=HYPERLINK(\"http://x\",\"click\")"),
                              QStringLiteral("'+1"), QStringLiteral("'@SUM(A1:A2)"),
                              QStringLiteral("'\rCR"), QStringLiteral("Grüße, 東京 😀")}));
        // Numeric columns never begin with anything a spreadsheet evaluates, except the minus
        // of a negative balance.
        for (qsizetype i = 1; i < records.size(); ++i) {
            for (int column : {3, 4, 5, 6, 9, 10}) {
                const QString v = records.at(i).at(column);
                QVERIFY2(v.isEmpty() || v.front().isDigit(), qPrintable(v));
            }
        }
    }

    void csvTimesCarryTheStatementsOffset_data()
    {
        QTest::addColumn<QString>("zone");
        QTest::addColumn<QString>("opening");
        QTest::addColumn<QString>("firstBooked");
        QTest::addColumn<QString>("lastValue");
        QTest::addColumn<QString>("closing");
        QTest::newRow("Berlin, winter and summer")
            << QStringLiteral("Europe/Berlin") << QStringLiteral("2024-03-01T00:00:00.000+01:00")
            << QStringLiteral("2024-03-02T09:46:00.123+01:00")
            << QStringLiteral("2024-03-23T09:44:00.000+01:00")
            << QStringLiteral("2024-04-01T00:00:00.000+02:00");
        QTest::newRow("UTC") << QStringLiteral("UTC") << QStringLiteral("2024-02-29T23:00:00.000Z")
                             << QStringLiteral("2024-03-02T08:46:00.123Z")
                             << QStringLiteral("2024-03-23T08:44:00.000Z")
                             << QStringLiteral("2024-03-31T22:00:00.000Z");
        QTest::newRow("not a zone")
            << QStringLiteral("Mars/Olympus_Mons") << QStringLiteral("2024-02-29T23:00:00.000Z")
            << QStringLiteral("2024-03-02T08:46:00.123Z")
            << QStringLiteral("2024-03-23T08:44:00.000Z")
            << QStringLiteral("2024-03-31T22:00:00.000Z");
    }

    void csvTimesCarryTheStatementsOffset()
    {
        QFETCH(QString, zone);
        QFETCH(QString, opening);
        QFETCH(QString, firstBooked);
        QFETCH(QString, lastValue);
        QFETCH(QString, closing);
        Statement s = eur();
        s.timeZone = zone;
        QString error;
        QList<QStringList> records = parseCsv(csvOf(s), &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(records.takeLast().first(), QStringLiteral("issue")); // times checked below
        QCOMPARE(records.at(1).at(3), opening);
        QCOMPARE(records.at(1).at(4), opening);
        QCOMPARE(records.at(2).at(3), firstBooked);
        QCOMPARE(records.at(records.size() - 2).at(4), lastValue);
        QCOMPARE(records.back().at(3), closing);
        // Every time reads back as the instant the statement holds.
        QCOMPARE(QDateTime::fromString(records.at(2).at(3), Qt::ISODateWithMs),
                 s.lines.front().bookedAt);
    }

    // The writers' shortcut for times (the offset remembered between a zone's transitions)
    // gives StatementFormat::isoTime's text exactly: at, just before and just after every
    // transition of zones with DST, half-hour DST, a skipped day (Apia, 2011-12-30), DST
    // abolished (Sao Paulo) and a changed standard offset (Moscow), in times visited forwards,
    // backwards and jumping about as a statement's booking times do.
    void isoTimeFormatterMatchesIsoTime_data()
    {
        QTest::addColumn<QString>("zone");
        for (const char *zone :
             {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia",
              "America/Sao_Paulo", "Europe/Moscow", "Asia/Kolkata", "Africa/Casablanca",
              "America/St_Johns", "UTC", "Mars/Olympus_Mons", ""})
            QTest::newRow(*zone ? zone : "none") << QString::fromLatin1(zone);
    }

    void isoTimeFormatterMatchesIsoTime()
    {
        QFETCH(QString, zone);
        Statement s;
        s.timeZone = zone;
        const QTimeZone display = StatementFormat::displayZone(s);
        const QDateTime from(QDate(1965, 1, 1), QTime(0, 0), QTimeZone::utc());
        const QDateTime to(QDate(2045, 1, 1), QTime(0, 0), QTimeZone::utc());
        QList<QDateTime> times;
        if (display.isValid()) {
            for (const QTimeZone::OffsetData &t : display.transitions(from, to)) {
                for (qint64 ms : {-3600000LL, -1LL, 0LL, 1LL, 999LL, 3600000LL})
                    times.append(t.atUtc.addMSecs(ms));
            }
            QVERIFY(zone == QLatin1String("Asia/Kolkata") || times.size() > 60);
        }
        // Every 3 d 7 h 13 min 1.234 s over the years, and far out of the shortcut's range.
        for (QDateTime t = from; t < to; t = t.addMSecs(285181234))
            times.append(t);
        times.append(QDateTime(QDate(999, 12, 31), QTime(23, 59, 59, 999), QTimeZone::utc()));
        times.append(QDateTime(QDate(10000, 1, 1), QTime(0, 0), QTimeZone::utc()));
        times.append(QDateTime(QDate(1, 1, 1), QTime(12, 0), QTimeZone::utc()));
        times.append(QDateTime());

        const auto check = [&](const QList<QDateTime> &order) {
            StatementFormat::IsoTimeFormatter formatter(display);
            for (const QDateTime &t : order) {
                const QString expected = StatementFormat::isoTime(t, display);
                const QString actual = formatter.isoTime(t);
                if (actual != expected)
                    QFAIL(qPrintable(t.toString(Qt::ISODateWithMs) + QStringLiteral(": ") + actual +
                                     QStringLiteral(" instead of ") + expected));
            }
        };
        check(times);
        QList<QDateTime> backwards = times;
        std::reverse(backwards.begin(), backwards.end());
        check(backwards);
        QList<QDateTime> jumping; // each time, then one three days later, as booking times are
        for (const QDateTime &t : times)
            jumping << t << t.addDays(3) << t.addSecs(-30);
        check(jumping);
    }

    // ---- camt.053 ----------------------------------------------------------------------

    void camt08ValidatesAgainstTheSchema_data()
    {
        QTest::addColumn<QString>("currency");
        QTest::newRow("JPY") << QStringLiteral("JPY");
        QTest::newRow("EUR") << QStringLiteral("EUR");
        QTest::newRow("BHD") << QStringLiteral("BHD");
        QTest::newRow("empty") << QStringLiteral("empty");
        QTest::newRow("awkward text") << QStringLiteral("awkward");
    }

    void camt08ValidatesAgainstTheSchema()
    {
        QFETCH(QString, currency);
        const QString xmllint =
            requireTool(QStringLiteral("xmllint"), QStringLiteral("libxml2-utils"));
        if (xmllint.isEmpty())
            QFAIL("xmllint is missing: apt-get install libxml2-utils");
        const QString schema = iso20022Dir + QStringLiteral("/camt.053.001.08.xsd");
        if (!QFile::exists(schema)) {
            QFAIL(qPrintable(QStringLiteral("the camt.053.001.08 schema is missing at %1: clone "
                                            "the shared folder beside the repository")
                                 .arg(schema)));
        }
        const Statement s = currency == QLatin1String("awkward") ? awkward() : byName(currency);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("statement.xml"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        const Status status = Camt053Writer().write(s, &file);
        QVERIFY2(status.ok(), status.ok() ? "" : qPrintable(status.error().describe()));
        file.close();
        const Run r =
            run(xmllint, {QStringLiteral("--noout"), QStringLiteral("--schema"), schema, path});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    }

    void camtAmountsAreExact_data()
    {
        QTest::addColumn<QString>("currency");
        QTest::addColumn<int>("version");
        QTest::addColumn<QStringList>("amounts"); // per Ntry: amount|CdtDbtInd
        const QStringList jpyAmounts{QStringLiteral("1500|CRDT"), QStringLiteral("250000|DBIT"),
                                     QStringLiteral("7|CRDT")};
        const QStringList eurAmounts{QStringLiteral("2.30|DBIT"), QStringLiteral("0.01|CRDT"),
                                     QStringLiteral("1234567.89|CRDT"),
                                     QStringLiteral("2.30|CRDT")};
        const QStringList bhdAmounts{QStringLiteral("0.125|CRDT"), QStringLiteral("1.000|DBIT"),
                                     QStringLiteral("0.001|CRDT")};
        for (int v : {0, 1, 2}) {
            const char *suffix[] = {"02", "04", "08"};
            QTest::addRow("JPY %s", suffix[v]) << QStringLiteral("JPY") << v << jpyAmounts;
            QTest::addRow("EUR %s", suffix[v]) << QStringLiteral("EUR") << v << eurAmounts;
            QTest::addRow("BHD %s", suffix[v]) << QStringLiteral("BHD") << v << bhdAmounts;
            QTest::addRow("empty %s", suffix[v]) << QStringLiteral("empty") << v << QStringList();
        }
    }

    // Read back with a plain XML reader: the namespace of the version, the balances and
    // every entry's amount exact, the running sum from opening to closing.
    void camtAmountsAreExact()
    {
        QFETCH(QString, currency);
        QFETCH(int, version);
        QFETCH(QStringList, amounts);
        const auto v = Camt053Writer::Version(version);
        const Statement s = byName(currency);
        const QByteArray bytes = camtOf(s, v);
        QVERIFY(bytes.startsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        QString error;
        const auto doc = parseXml(bytes, &error);
        QVERIFY2(doc, qPrintable(error));
        QCOMPARE(doc->name, QStringLiteral("Document"));
        const char *const ns[] = {"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
                                  "urn:iso:std:iso:20022:tech:xsd:camt.053.001.04",
                                  "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"};
        QCOMPARE(doc->ns, QString::fromLatin1(ns[version]));
        QCOMPARE(Camt053Writer(v).namespaceUri(), QString::fromLatin1(ns[version]));
        QCOMPARE(doc->at(QStringLiteral("BkToCstmrStmt/GrpHdr/MsgId")), s.messageId);
        QCOMPARE(doc->at(QStringLiteral("BkToCstmrStmt/GrpHdr/CreDtTm")),
                 QStringLiteral("2024-04-02T11:15:30.500+02:00"));
        const Node *stmt =
            doc->child(QStringLiteral("BkToCstmrStmt"))->child(QStringLiteral("Stmt"));
        QVERIFY(stmt);
        QCOMPARE(stmt->at(QStringLiteral("Id")), s.reference);
        QCOMPARE(stmt->at(QStringLiteral("ElctrncSeqNb")), QStringLiteral("7"));
        QCOMPARE(stmt->at(QStringLiteral("FrToDt/FrDtTm")),
                 QStringLiteral("2024-03-01T00:00:00.000+01:00"));
        QCOMPARE(stmt->at(QStringLiteral("FrToDt/ToDtTm")),
                 QStringLiteral("2024-04-01T00:00:00.000+02:00"));
        QCOMPARE(stmt->at(QStringLiteral("Acct/Id/Othr/Id")), s.accountCode);
        QCOMPARE(stmt->at(QStringLiteral("Acct/Ccy")), s.currency);

        auto signedMinor = [&s](const Node &n) {
            const Node *amt = n.child(QStringLiteral("Amt"));
            if (!amt || amt->attributes.value(QStringLiteral("Ccy")) != s.currency)
                return std::optional<qint64>();
            const auto magnitude = Money::parseMinor(amt->text, s.exponent);
            if (!magnitude || amt->text.contains(QLatin1Char('-')))
                return std::optional<qint64>();
            const QString ind = n.at(QStringLiteral("CdtDbtInd"));
            if (ind == QLatin1String("DBIT"))
                return std::optional<qint64>(-*magnitude);
            return ind == QLatin1String("CRDT") ? magnitude : std::optional<qint64>();
        };
        const QList<const Node *> balances = stmt->all(QStringLiteral("Bal"));
        QCOMPARE(balances.size(), 2);
        QCOMPARE(balances[0]->at(QStringLiteral("Tp/CdOrPrtry/Cd")), QStringLiteral("OPBD"));
        QCOMPARE(balances[1]->at(QStringLiteral("Tp/CdOrPrtry/Cd")), QStringLiteral("CLBD"));
        QCOMPARE(signedMinor(*balances[0]), std::optional<qint64>(s.openingMinor));
        QCOMPARE(signedMinor(*balances[1]), std::optional<qint64>(s.closingMinor));
        QCOMPARE(balances[0]->at(QStringLiteral("Dt/Dt")), QStringLiteral("2024-03-01"));
        QCOMPARE(balances[1]->at(QStringLiteral("Dt/Dt")), QStringLiteral("2024-03-31"));

        const QList<const Node *> entries = stmt->all(QStringLiteral("Ntry"));
        QCOMPARE(entries.size(), amounts.size());
        qint64 running = s.openingMinor;
        qint64 creditCount = 0;
        for (qsizetype i = 0; i < entries.size(); ++i) {
            const Node &e = *entries[i];
            const StatementLine &line = s.lines.at(i);
            QCOMPARE(e.at(QStringLiteral("Amt")) + QLatin1Char('|') +
                         e.at(QStringLiteral("CdtDbtInd")),
                     amounts.at(i));
            const auto amount = signedMinor(e);
            QCOMPARE(amount, std::optional<qint64>(line.amountMinor));
            running += *amount;
            creditCount += *amount >= 0 ? 1 : 0;
            QCOMPARE(e.at(QStringLiteral("NtryRef")), QString::number(line.entryId));
            QCOMPARE(e.at(QStringLiteral("AcctSvcrRef")), QString::number(line.transactionId));
            QCOMPARE(e.has(QStringLiteral("RvslInd")), line.kind == QLatin1String("reversal"));
            if (e.has(QStringLiteral("RvslInd")))
                QCOMPARE(e.at(QStringLiteral("RvslInd")), QStringLiteral("true"));
            if (v == Camt053Writer::Version::V08) {
                QCOMPARE(e.at(QStringLiteral("Sts/Cd")), QStringLiteral("BOOK"));
            } else {
                QCOMPARE(e.at(QStringLiteral("Sts")), QStringLiteral("BOOK"));
                QVERIFY(!e.has(QStringLiteral("Sts/Cd")));
            }
            QCOMPARE(QDateTime::fromString(e.at(QStringLiteral("BookgDt/DtTm")), Qt::ISODateWithMs),
                     line.bookedAt);
            QCOMPARE(QDateTime::fromString(e.at(QStringLiteral("ValDt/DtTm")), Qt::ISODateWithMs),
                     line.valueAt);
            QCOMPARE(e.at(QStringLiteral("BkTxCd/Prtry/Cd")),
                     QStringLiteral("LEDGER/") + line.kind);
            QCOMPARE(e.at(QStringLiteral("NtryDtls/TxDtls/Refs/AcctSvcrRef")),
                     QString::number(line.transactionId));
            QCOMPARE(e.at(QStringLiteral("NtryDtls/TxDtls/Refs/EndToEndId")),
                     line.reference.isEmpty() ? QStringLiteral("NOTPROVIDED") : line.reference);
            QCOMPARE(e.at(QStringLiteral("NtryDtls/TxDtls/RmtInf/Ustrd")), line.description);
            // .02 has no amount in TxDtls; .04 and .08 repeat the entry's.
            QCOMPARE(e.has(QStringLiteral("NtryDtls/TxDtls/Amt")),
                     v != Camt053Writer::Version::V02);
        }
        QCOMPARE(running, s.closingMinor);
        QCOMPARE(stmt->at(QStringLiteral("TxsSummry/TtlCdtNtries/NbOfNtries")),
                 QString::number(creditCount));
        QCOMPARE(stmt->at(QStringLiteral("TxsSummry/TtlDbtNtries/NbOfNtries")),
                 QString::number(entries.size() - creditCount));
        QCOMPARE(
            *Money::parseMinor(stmt->at(QStringLiteral("TxsSummry/TtlCdtNtries/Sum")), s.exponent),
            s.creditsMinor);
        QCOMPARE(
            *Money::parseMinor(stmt->at(QStringLiteral("TxsSummry/TtlDbtNtries/Sum")), s.exponent),
            s.debitsMinor);
    }

    void camt02And04AreWellFormed_data()
    {
        QTest::addColumn<int>("version");
        QTest::newRow("02") << 0;
        QTest::newRow("04") << 1;
    }

    // No schema for these in the shared folder: xmllint checks well-formedness, the reader
    // above checks the structure and the namespace.
    void camt02And04AreWellFormed()
    {
        QFETCH(int, version);
        const QString xmllint =
            requireTool(QStringLiteral("xmllint"), QStringLiteral("libxml2-utils"));
        if (xmllint.isEmpty())
            QFAIL("xmllint is missing: apt-get install libxml2-utils");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        for (const Statement &s : {jpy(), eur(), bhd(), emptyStatement(), awkward()}) {
            const QString path = dir.filePath(s.currency + QStringLiteral(".xml"));
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            const Status status = Camt053Writer(Camt053Writer::Version(version)).write(s, &file);
            QVERIFY(status.ok());
            file.close();
            const Run r = run(xmllint, {QStringLiteral("--noout"), path});
            QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
            // The default namespace is the version's, on the root.
            const Run ns = run(
                xmllint, {QStringLiteral("--xpath"), QStringLiteral("namespace-uri(/*)"), path});
            QCOMPARE(QString::fromUtf8(ns.out).trimmed(),
                     Camt053Writer::namespaceUri(Camt053Writer::Version(version)));
        }
    }

    // Long and awkward text: the schema's 140-character pieces (counted in characters, a
    // surrogate pair never split), markup escaped, control characters as spaces, a long
    // reference cut for EndToEndId and kept whole in AddtlTxInf.
    void camtTextFitsTheSchema()
    {
        const Statement s = awkward();
        const QByteArray bytes = camtOf(s, Camt053Writer::Version::V08);
        QVERIFY(!bytes.isEmpty());
        QVERIFY(!bytes.contains("<script>"));
        QString error;
        const auto doc = parseXml(bytes, &error);
        QVERIFY2(doc, qPrintable(error));
        const Node *stmt =
            doc->child(QStringLiteral("BkToCstmrStmt"))->child(QStringLiteral("Stmt"));
        const QList<const Node *> entries = stmt->all(QStringLiteral("Ntry"));
        QCOMPARE(entries.size(), s.lines.size());

        const Node *details =
            entries[0]->child(QStringLiteral("NtryDtls"))->child(QStringLiteral("TxDtls"));
        const QList<const Node *> ustrd =
            details->child(QStringLiteral("RmtInf"))->all(QStringLiteral("Ustrd"));
        QCOMPARE(ustrd.size(), 3);
        QString joined;
        for (const Node *piece : ustrd) {
            QVERIFY(piece->text.toUcs4().size() <= 140);
            joined += piece->text;
        }
        QCOMPARE(ustrd[0]->text.toUcs4().size(), 140);
        QCOMPARE(joined, s.lines[0].description);
        QCOMPARE(details->at(QStringLiteral("Refs/EndToEndId")), s.lines[0].reference.left(35));
        QCOMPARE(details->at(QStringLiteral("AddtlTxInf")), s.lines[0].reference);

        const Node *second =
            entries[1]->child(QStringLiteral("NtryDtls"))->child(QStringLiteral("TxDtls"));
        QCOMPARE(second->at(QStringLiteral("RmtInf/Ustrd")),
                 QStringLiteral("<script>alert(\"x\") & 'y'</script> tab line"));
        QVERIFY(!second->has(QStringLiteral("AddtlTxInf")));
        // The long reference is not a Stmt Id: the message id stands in for it.
        QCOMPARE(stmt->at(QStringLiteral("Id")), s.messageId);
    }

    void camtRefusesWhatTheSchemaCannotHold_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("message");
        QTest::newRow("no message id")
            << QStringLiteral("messageId") << QStringLiteral("message id");
        QTest::newRow("long message id")
            << QStringLiteral("longMessageId") << QStringLiteral("message id");
        QTest::newRow("not issued") << QStringLiteral("issuedAt") << QStringLiteral("issue time");
        QTest::newRow("currency") << QStringLiteral("currency") << QStringLiteral("ISO 4217");
        QTest::newRow("decimals") << QStringLiteral("exponent") << QStringLiteral("5 decimals");
        QTest::newRow("account") << QStringLiteral("account") << QStringLiteral("34 characters");
        QTest::newRow("amount") << QStringLiteral("amount") << QStringLiteral("18 digits");
    }

    void camtRefusesWhatTheSchemaCannotHold()
    {
        QFETCH(QString, field);
        QFETCH(QString, message);
        Statement s = eur();
        if (field == QLatin1String("messageId"))
            s.messageId.clear();
        else if (field == QLatin1String("longMessageId"))
            s.messageId = QString(36, QLatin1Char('M'));
        else if (field == QLatin1String("issuedAt"))
            s.issuedAt = {};
        else if (field == QLatin1String("currency"))
            s.currency = QStringLiteral("eur");
        else if (field == QLatin1String("exponent"))
            s.exponent = 6;
        else if (field == QLatin1String("account"))
            s.accountCode = QString(35, QLatin1Char('A'));
        else
            s.lines[2].amountMinor = 1'000'000'000'000'000'000;
        QBuffer buffer;
        buffer.open(QIODevice::WriteOnly);
        const Status status = Camt053Writer().write(s, &buffer);
        QVERIFY(!status.ok());
        QCOMPARE(status.error().kind, Error::Kind::Input);
        QVERIFY2(status.error().message.contains(message), qPrintable(status.error().message));
        QVERIFY2(buffer.data().isEmpty(), "nothing is written for a refused statement");
        // The CSV has no such limits.
        QBuffer csv;
        csv.open(QIODevice::WriteOnly);
        QVERIFY(StatementCsvWriter().write(s, &csv).ok());
    }

    // AqBanking's camt.053.001.04 importer, an independent reader: the same entries (by
    // reference), the same exact amounts, the same closing balance. It runs with a private
    // HOME and configuration folder (--cfgdir) in a temp dir, non-interactively. (AqBanking
    // 6 still looks for a pre-6 folder under the passwd home to migrate; it only reads.)
    // Its profile reads BookgDt/Dt and ValDt/Dt, not the DtTm we write, and drops
    // AcctSvcrRef, so dates and transaction ids are checked by the XML reader above instead.
    void aqbankingReadsCamt04_data()
    {
        QTest::addColumn<QString>("currency");
        QTest::newRow("JPY") << QStringLiteral("JPY");
        QTest::newRow("EUR") << QStringLiteral("EUR");
        QTest::newRow("BHD") << QStringLiteral("BHD");
    }

    void aqbankingReadsCamt04()
    {
        QFETCH(QString, currency);
        const QString cli =
            requireTool(QStringLiteral("aqbanking-cli"), QStringLiteral("aqbanking-tools"));
        if (cli.isEmpty())
            QFAIL("aqbanking-cli is missing: apt-get install aqbanking-tools");
        Statement s = byName(currency);
        // AqBanking matches entries by EndToEndId here: every line gets its own.
        for (qsizetype i = 0; i < s.lines.size(); ++i) {
            if (s.lines[i].reference.isEmpty())
                s.lines[i].reference = QStringLiteral("NOREF-%1").arg(i);
        }
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("statement.xml"));
        const QString context = dir.filePath(QStringLiteral("context"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        QVERIFY(Camt053Writer(Camt053Writer::Version::V04).write(s, &file).ok());
        file.close();

        QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("home")));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), dir.filePath(QStringLiteral("home")));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath(QStringLiteral("home/.config")));
        env.insert(QStringLiteral("LC_ALL"), QStringLiteral("C.UTF-8"));
        const QStringList global{QStringLiteral("--noninteractive"),
                                 QStringLiteral("--cfgdir=") +
                                     dir.filePath(QStringLiteral("aqbanking"))};

        const Run imported =
            run(cli,
                global + QStringList{QStringLiteral("import"), QStringLiteral("--importer=xml"),
                                     QStringLiteral("--profile=camt_053_001_04"),
                                     QStringLiteral("-c"), context, QStringLiteral("-f"), path},
                env);
        QVERIFY2(imported.exitCode == 0, qPrintable(describe(imported)));
        QVERIFY2(QFile::exists(context), qPrintable(describe(imported)));

        const Run listed =
            run(cli,
                global + QStringList{QStringLiteral("listtrans"), QStringLiteral("-c"), context,
                                     QStringLiteral("-T"),
                                     QStringLiteral("$(value)|$(endToEndReference)")},
                env);
        QVERIFY2(listed.exitCode == 0, qPrintable(describe(listed)));
        QStringList rows =
            QString::fromUtf8(listed.out).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(rows.size(), s.lines.size());
        for (qsizetype i = 0; i < rows.size(); ++i) {
            const QStringList parts = rows[i].trimmed().split(QLatin1Char('|'));
            QCOMPARE(parts.size(), 2);
            QString ccy;
            const auto minor = minorFromRational(parts[0], s.exponent, &ccy);
            QVERIFY2(minor, qPrintable(rows[i]));
            QCOMPARE(ccy, s.currency);
            QCOMPARE(parts[1], s.lines[i].reference);
            QCOMPARE(*minor, s.lines[i].amountMinor);
        }

        // Its "booked" balance is the closing one (CLBD), on the period's last day.
        const Run balances = run(
            cli,
            global + QStringList{QStringLiteral("listbal"), QStringLiteral("-c"), context,
                                 QStringLiteral("-T"), QStringLiteral("$(value)|$(dateAsString)")},
            env);
        QVERIFY2(balances.exitCode == 0, qPrintable(describe(balances)));
        const QStringList balance =
            QString::fromUtf8(balances.out).trimmed().split(QLatin1Char('|'));
        QCOMPARE(balance.size(), 2);
        QString ccy;
        QCOMPARE(minorFromRational(balance[0], s.exponent, &ccy),
                 std::optional<qint64>(s.closingMinor));
        QCOMPARE(ccy, s.currency);
        QCOMPARE(balance[1], QStringLiteral("31.03.2024"));
    }

    // ---- both writers ------------------------------------------------------------------

    void writersAreDeterministic()
    {
        for (const Statement &s : {jpy(), eur(), bhd(), emptyStatement(), awkward()}) {
            const Statement copy = s;
            QCOMPARE(csvOf(s), csvOf(copy));
            QVERIFY(!csvOf(s).isEmpty());
            for (auto v : {Camt053Writer::Version::V02, Camt053Writer::Version::V04,
                           Camt053Writer::Version::V08}) {
                const QByteArray first = camtOf(s, v);
                QVERIFY(!first.isEmpty());
                QCOMPARE(camtOf(copy, v), first);
            }
            QCOMPARE(StatementDigest::hex(copy), StatementDigest::hex(s));
        }
    }

    void writeFailuresAreReported()
    {
        const Statement s = makeStatement(QStringLiteral("EUR"), 2, 0, [] {
            QList<LineSpec> many;
            for (int i = 0; i < 3000; ++i)
                many.append({i % 2 ? 1234 : -999, QStringLiteral("Line %1").arg(i), QString()});
            return many;
        }());
        {
            FullDevice full(1000);
            const Status csv = StatementCsvWriter().write(s, &full);
            QVERIFY(!csv.ok());
            QCOMPARE(csv.error().kind, Error::Kind::Io);
            QVERIFY2(csv.error().message.contains(QStringLiteral("No space left")),
                     qPrintable(csv.error().message));
        }
        {
            FullDevice full(1000);
            const Status camt = Camt053Writer().write(s, &full);
            QVERIFY(!camt.ok());
            QCOMPARE(camt.error().kind, Error::Kind::Io);
        }
        QBuffer readOnly;
        readOnly.open(QIODevice::ReadOnly);
        QCOMPARE(StatementCsvWriter().write(s, &readOnly).error().kind, Error::Kind::Io);
        QCOMPARE(Camt053Writer().write(s, &readOnly).error().kind, Error::Kind::Io);
        QCOMPARE(StatementCsvWriter().write(s, nullptr).error().kind, Error::Kind::Io);
    }

    // ---- the content digest ------------------------------------------------------------

    void digestEncodingIsAsDocumented()
    {
        Statement s = makeStatement(QStringLiteral("EUR"), 2, -5,
                                    {{1234, QStringLiteral("Café, \"x\""), QString()}});
        s.lines[0].reverses = 0;
        const QByteArray expected =
            "19:ledger.statement.v1,"
            "8:CUST_EUR,3:EUR,1:2,"
            "27:2024-02-29T23:00:00.000000Z,27:2024-03-31T22:00:00.000000Z,"
            "13:Europe/Berlin,27:2024-04-02T08:00:00.250000Z,"
            "2:-5,4:1229,4:1234,1:0,1:1,"
            "3:101,4:1101,27:2024-03-02T08:46:00.123000Z,27:2024-03-02T08:41:00.000000Z,"
            "4:1234,4:1229,0:,"
            "10:Caf\xC3\xA9, \"x\",7:posting,1:0,";
        QCOMPARE(StatementDigest::canonicalEncoding(s), expected);
        // An independent SHA-256 (Qt's) of the documented bytes.
        QCOMPARE(StatementDigest::hex(s),
                 QString::fromLatin1(
                     QCryptographicHash::hash(expected, QCryptographicHash::Sha256).toHex()));
        QCOMPARE(StatementDigest::hex(s).size(), 64);
    }

    void digestCoversTheContentOnly()
    {
        using Change = std::function<void(Statement &)>;
        const QList<std::pair<const char *, Change>> covered{
            {"account code", [](Statement &s) { s.accountCode += QLatin1Char('X'); }},
            {"currency", [](Statement &s) { s.currency = QStringLiteral("EUX"); }},
            {"exponent", [](Statement &s) { s.exponent = 3; }},
            {"from", [](Statement &s) { s.from = s.from.addMSecs(1); }},
            {"to", [](Statement &s) { s.to = s.to.addMSecs(-1); }},
            {"time zone", [](Statement &s) { s.timeZone = QStringLiteral("UTC"); }},
            {"known-at", [](Statement &s) { s.knownAt = s.knownAt.addSecs(1); }},
            {"opening", [](Statement &s) { s.openingMinor += 1; }},
            {"closing", [](Statement &s) { s.closingMinor -= 1; }},
            {"credits", [](Statement &s) { s.creditsMinor += 1; }},
            {"debits", [](Statement &s) { s.debitsMinor += 1; }},
            {"line removed", [](Statement &s) { s.lines.removeLast(); }},
            {"lines swapped", [](Statement &s) { s.lines.swapItemsAt(0, 1); }},
            {"entry id", [](Statement &s) { s.lines[1].entryId += 1; }},
            {"transaction id", [](Statement &s) { s.lines[1].transactionId += 1; }},
            {"booked", [](Statement &s) { s.lines[1].bookedAt = s.lines[1].bookedAt.addMSecs(1); }},
            {"value", [](Statement &s) { s.lines[1].valueAt = s.lines[1].valueAt.addMSecs(-1); }},
            {"amount", [](Statement &s) { s.lines[1].amountMinor = -s.lines[1].amountMinor; }},
            {"balance", [](Statement &s) { s.lines[1].balanceMinor += 1; }},
            {"reference", [](Statement &s) { s.lines[1].reference += QLatin1Char(' '); }},
            {"description",
             [](Statement &s) { s.lines[1].description = QStringLiteral("one cent"); }},
            {"kind", [](Statement &s) { s.lines[1].kind = QStringLiteral("event"); }},
            {"reverses", [](Statement &s) { s.lines[3].reverses = 1102; }},
            // Text moved between neighbouring fields: lengths keep them apart.
            {"reference/description boundary",
             [](Statement &s) {
                 s.lines[0].description.prepend(s.lines[0].reference.right(1));
                 s.lines[0].reference.chop(1);
             }},
        };
        const QList<std::pair<const char *, Change>> notCovered{
            {"institution", [](Statement &s) { s.institution = QStringLiteral("Other Bank"); }},
            {"issued by", [](Statement &s) { s.issuedBy = QStringLiteral("bob"); }},
            {"issued at", [](Statement &s) { s.issuedAt = s.issuedAt.addDays(3); }},
            {"reference", [](Statement &s) { s.reference = QStringLiteral("STM-OTHER"); }},
            {"sequence", [](Statement &s) { s.sequenceNumber = 8; }},
            {"message id", [](Statement &s) { s.messageId = QStringLiteral("MSG-OTHER"); }},
            {"account name", [](Statement &s) { s.accountName = QStringLiteral("Renamed"); }},
            {"account kind", [](Statement &s) { s.accountKind = QStringLiteral("asset"); }},
            {"account seq", [](Statement &s) { s.lines[0].accountSeq += 5; }},
            {"time zone spelled the same",
             [](Statement &s) { s.from = s.from.toTimeZone(QTimeZone("Asia/Tokyo")); }},
        };
        const Statement base = eur();
        const QString digest = StatementDigest::hex(base);
        for (const auto &[name, change] : covered) {
            Statement changed = base;
            change(changed);
            QVERIFY2(StatementDigest::hex(changed) != digest, name);
        }
        for (const auto &[name, change] : notCovered) {
            Statement changed = base;
            change(changed);
            QVERIFY2(StatementDigest::hex(changed) == digest, name);
        }
        // Two empty statements of different periods differ too.
        Statement a = emptyStatement();
        Statement b = emptyStatement();
        b.to = b.to.addDays(1);
        QVERIFY(StatementDigest::hex(a) != StatementDigest::hex(b));
    }

private:
    // Text that tests the writers' escaping and the schema's limits.
    static Statement awkward()
    {
        // 326 characters: three pieces; the 140th character is an emoji (a surrogate pair).
        QString longText = QStringLiteral("abcd");
        for (int i = 0; i < 45; ++i)
            longText += QStringLiteral("Ab😀 ü, "); // 7 characters, 8 UTF-16 units each
        longText += QStringLiteral("end <&>");
        Statement s = makeStatement(
            QStringLiteral("EUR"), 2, 0,
            {{100, longText, QStringLiteral("REF-0123456789-0123456789-0123456789-XYZ")},
             {-100, QStringLiteral("<script>alert(\"x\") & 'y'</script>\ttab\nline"),
              QStringLiteral("=1+1")},
             {5, QStringLiteral(" "), QStringLiteral("with space")}});
        s.reference = QStringLiteral("A-verification-reference-that-is-long");
        s.accountName = QString(80, QLatin1Char('N'));
        return s;
    }
};

QTEST_GUILESS_MAIN(TestStatementWriters)
#include "tst_statementwriters.moc"
