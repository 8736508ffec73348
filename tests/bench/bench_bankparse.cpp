// Bank file parser benchmark (Step 9): 1,000,000 statement lines as camt.053 (.08), MT940
// and CSV, generated in memory, parsed by BankFileParser. Prints per format the file size,
// the time, statement lines/s, MB/s and the peak RSS of the parse (VmHWM, reset before each
// format through /proc/self/clear_refs). For camt also a yardstick: the same bytes through
// QXmlStreamReader alone (the floor of any camt parser on it), so the ratio shows what the
// mapping itself costs. No database. The import target is 1,000,000
// lines in under 10 s including the database; the parse should take a small part of that.
//
//   bench_bankparse [--lines N] [--format camt|mt940|csv|all] [--reps R]

#include "recon/BankFileParser.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QXmlStreamReader>

#include <algorithm>
#include <cstdio>

using namespace ledger;

namespace {

constexpr qint64 kLinesPerStatement = 10'000;

// A "VmHWM:" (peak) or "VmRSS:" (current) figure of this process, in MB.
double statusMb(const char *field)
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith(field))
            return line.mid(qsizetype(qstrlen(field))).trimmed().split(' ').first().toDouble() /
                   1024.0;
    }
    return -1;
}

// Linux resets VmHWM to the current RSS on "5" (since 4.0).
void resetPeakRss()
{
    QFile f(QStringLiteral("/proc/self/clear_refs"));
    if (f.open(QIODevice::WriteOnly))
        f.write("5");
}

// Amounts 0.01 .. 9999.99, alternately in and out, and the cents they add up to.
qint64 amountCents(qint64 i)
{
    return (i * 7919) % 999999 + 1;
}
bool isCredit(qint64 i)
{
    return i % 3 != 0;
}
QByteArray cents(qint64 c, char point)
{
    QByteArray out = QByteArray::number(c / 100);
    out += point;
    const qint64 rest = c % 100;
    if (rest < 10)
        out += '0';
    out += QByteArray::number(rest);
    return out;
}

QByteArray makeCamt(qint64 lines)
{
    QByteArray out;
    out.reserve(lines * 600 + 4096);
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document "
           "xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt><GrpHdr>"
           "<MsgId>BENCH</MsgId><CreDtTm>2023-04-04T06:00:00+02:00</CreDtTm></GrpHdr>\n";
    qint64 balance = 0;
    for (qint64 i = 0; i < lines; ++i) {
        if (i % kLinesPerStatement == 0) {
            if (i > 0)
                out += "</Stmt>\n";
            out += "<Stmt><Id>S" + QByteArray::number(i / kLinesPerStatement) +
                   "</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>"
                   "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">" +
                   cents(std::abs(balance), '.') + "</Amt><CdtDbtInd>" +
                   (balance < 0 ? "DBIT" : "CRDT") +
                   "</CdtDbtInd><Dt><Dt>2023-04-03</Dt></Dt></Bal>\n";
        }
        const qint64 c = amountCents(i);
        balance += isCredit(i) ? c : -c;
        const QByteArray n = QByteArray::number(i);
        out += "<Ntry><Amt Ccy=\"EUR\">" + cents(c, '.') + "</Amt><CdtDbtInd>" +
               (isCredit(i) ? "CRDT" : "DBIT") +
               "</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2023-04-03</Dt></BookgDt>"
               "<ValDt><Dt>2023-04-03</Dt></ValDt><AcctSvcrRef>REF" +
               n +
               "</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT"
               "</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E2E-" +
               n + "</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>Customer " + n +
               "</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id>"
               "</DbtrAcct></RltdPties><RmtInf><Ustrd>Invoice " +
               n + "</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n";
    }
    out += "</Stmt></BkToCstmrStmt></Document>\n";
    return out;
}

QByteArray makeMt940(qint64 lines)
{
    QByteArray out;
    out.reserve(lines * 140 + 4096);
    qint64 balance = 0;
    auto balanceField = [&](const char *tag) -> QByteArray {
        return QByteArray(tag) + (balance < 0 ? "D" : "C") + "230403EUR" +
               cents(std::abs(balance), ',') + "\r\n";
    };
    for (qint64 i = 0; i < lines; ++i) {
        if (i % kLinesPerStatement == 0) {
            if (i > 0)
                out += balanceField(":62F:") + "-\r\n";
            out += ":20:BENCH\r\n:25:DE89370400440532013000\r\n:28C:" +
                   QByteArray::number(i / kLinesPerStatement + 1) + "/1\r\n" +
                   balanceField(":60F:");
        }
        const qint64 c = amountCents(i);
        balance += isCredit(i) ? c : -c;
        const QByteArray n = QByteArray::number(i);
        out += ":61:2304030403" + QByteArray(isCredit(i) ? "C" : "D") + cents(c, ',') +
               "NTRFNONREF//REF" + n + "\r\n:86:166?00SEPA-GUTSCHRIFT?20EREF+E2E-" + n +
               "?21SVWZ+Invoice " + n + "?31DE02120300000000202051\r\n?32Customer " + n + "\r\n";
    }
    out += balanceField(":62F:") + "-\r\n";
    return out;
}

QByteArray makeCsv(qint64 lines)
{
    QByteArray out;
    out.reserve(lines * 100 + 256);
    out += "Buchungstag;Wertstellung;Betrag;Referenz;Name;IBAN;Verwendungszweck\r\n";
    for (qint64 i = 0; i < lines; ++i) {
        const qint64 c = amountCents(i);
        const QByteArray n = QByteArray::number(i);
        out += "03.04.2023;03.04.2023;" + QByteArray(isCredit(i) ? "" : "-") + cents(c, ',') +
               ";REF" + n + ";Customer " + n + ";DE02120300000000202051;\"Invoice " + n +
               "; thanks\"\r\n";
    }
    return out;
}

CsvProfile csvProfile()
{
    CsvProfile p;
    p.name = QStringLiteral("bench");
    p.decimalComma = true;
    p.dateFormat = QStringLiteral("dd.MM.yyyy");
    p.amountColumn = QStringLiteral("Betrag");
    p.currency = QStringLiteral("EUR");
    p.bookingDateColumn = QStringLiteral("Buchungstag");
    p.valueDateColumn = QStringLiteral("Wertstellung");
    p.referenceColumn = QStringLiteral("Referenz");
    p.counterpartyNameColumn = QStringLiteral("Name");
    p.counterpartyAccountColumn = QStringLiteral("IBAN");
    p.remittanceColumn = QStringLiteral("Verwendungszweck");
    p.account = QStringLiteral("DE89370400440532013000");
    return p;
}

void say(const QString &text)
{
    std::printf("%s\n", qPrintable(text));
    std::fflush(stdout);
}

struct Run
{
    double seconds = 0;
    qint64 lines = 0;
    double peakMb = 0;
};

Run parseOnce(const QByteArray &bytes, BankFileParser::Format format, const CsvProfile *profile)
{
    resetPeakRss();
    QElapsedTimer timer;
    timer.start();
    Run run;
    {
        const auto result = BankFileParser::parse(bytes, format, profile);
        if (!result.ok())
            qFatal("bench: parse failed: %s", qPrintable(result.error().message));
        run.seconds = double(timer.nsecsElapsed()) / 1e9;
        run.peakMb = statusMb("VmHWM:");
        for (const BankStatement &s : result.value().statements)
            run.lines += s.lines.size();
    }
    return run;
}

// The yardstick for camt: every token read, nothing kept, fed in the parser's 1 MB slices.
double xmlTokensOnly(const QByteArray &bytes)
{
    QElapsedTimer timer;
    timer.start();
    QXmlStreamReader xml;
    qsizetype fed = 0;
    for (;;) {
        const auto token = xml.readNext();
        if (token == QXmlStreamReader::EndDocument)
            break;
        if (token == QXmlStreamReader::Invalid) {
            if (xml.error() != QXmlStreamReader::PrematureEndOfDocumentError || fed >= bytes.size())
                qFatal("bench: XML error %s", qPrintable(xml.errorString()));
            const qsizetype size = std::min<qsizetype>(1 << 20, bytes.size() - fed);
            xml.addData(QByteArray::fromRawData(bytes.constData() + fed, size));
            fed += size;
        }
    }
    return double(timer.nsecsElapsed()) / 1e9;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Bank file parser benchmark"));
    parser.addHelpOption();
    const QCommandLineOption linesOption(QStringLiteral("lines"), QStringLiteral("Statement lines"),
                                         QStringLiteral("N"), QStringLiteral("1000000"));
    const QCommandLineOption formatOption(QStringLiteral("format"),
                                          QStringLiteral("camt, mt940, csv or all"),
                                          QStringLiteral("F"), QStringLiteral("all"));
    const QCommandLineOption repsOption(QStringLiteral("reps"),
                                        QStringLiteral("Runs per format (best taken)"),
                                        QStringLiteral("R"), QStringLiteral("1"));
    parser.addOptions({linesOption, formatOption, repsOption});
    parser.process(app);
    const qint64 lines = parser.value(linesOption).toLongLong();
    const QString which = parser.value(formatOption);
    const int reps = std::max(1, parser.value(repsOption).toInt());
    const CsvProfile profile = csvProfile();

    say(QStringLiteral(
            "bench_bankparse: %1 statement lines per format, %2 per statement, best of %3")
            .arg(lines)
            .arg(kLinesPerStatement)
            .arg(reps));
    say(QStringLiteral("%1 %2 %3 %4 %5 %6")
            .arg(QStringLiteral("format"), -8)
            .arg(QStringLiteral("file MB"), 9)
            .arg(QStringLiteral("seconds"), 9)
            .arg(QStringLiteral("lines/s"), 12)
            .arg(QStringLiteral("MB/s"), 8)
            .arg(QStringLiteral("peak RSS MB (file alone)"), 26));

    struct Case
    {
        QString name;
        BankFileParser::Format format;
        QByteArray (*make)(qint64);
    };
    const Case cases[] = {{QStringLiteral("camt"), BankFileParser::Format::Camt, makeCamt},
                          {QStringLiteral("mt940"), BankFileParser::Format::Mt940, makeMt940},
                          {QStringLiteral("csv"), BankFileParser::Format::Csv, makeCsv}};
    for (const Case &c : cases) {
        if (which != u"all" && which != c.name)
            continue;
        const QByteArray bytes = c.make(lines);
        const double mb = double(bytes.size()) / 1e6;
        const double fileRss = statusMb("VmRSS:");
        Run best;
        for (int r = 0; r < reps; ++r) {
            const Run run = parseOnce(bytes, c.format,
                                      c.format == BankFileParser::Format::Csv ? &profile : nullptr);
            if (run.lines != lines)
                qFatal("bench: %lld lines read, %lld written", run.lines, lines);
            if (r == 0 || run.seconds < best.seconds)
                best = run;
        }
        say(QStringLiteral("%1 %2 %3 %4 %5 %6")
                .arg(c.name, -8)
                .arg(mb, 9, 'f', 1)
                .arg(best.seconds, 9, 'f', 2)
                .arg(double(best.lines) / best.seconds, 12, 'f', 0)
                .arg(mb / best.seconds, 8, 'f', 1)
                .arg(QStringLiteral("%1 (%2)").arg(best.peakMb, 0, 'f', 0).arg(fileRss, 0, 'f', 0),
                     26));
        if (c.format == BankFileParser::Format::Camt) {
            const double tokens = xmlTokensOnly(bytes);
            say(QStringLiteral("  camt yardstick: QXmlStreamReader alone reads the tokens in %1 s; "
                               "the parse takes %2x that")
                    .arg(tokens, 0, 'f', 2)
                    .arg(best.seconds / tokens, 0, 'f', 2));
        }
    }
    return 0;
}
