// Hostile values never reach the terminal raw. First cli::terminalSafe() case by case and
// over every character; then the real ledgerctl binary against a real database that holds
// audit events, an account name, a reversal note and error messages made to forge a line
// ("... reversal.approved by alice"), overwrite one (\r, ESC[2K ESC[1A), recolour text or
// reverse it (U+202E): stdout and stderr may hold no raw control character other than the
// line ends and printRow's column tabs, the escaped forms must be there, and --json must
// give back the original values.
//
// $LEDGERCTL runs the end-to-end cases against another build of ledgerctl (e.g. one from
// before the escaping, to see them fail); the default is the binary built with this test.

// terminalSafe() lives in ledgerctl's Cli.cpp, which is part of no library: compile it in.
#include "../../app/ctl/Cli.cpp" // NOLINT(bugprone-suspicious-include): on purpose, see above

#include "Ledgerctl.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTest>

using namespace ledger;
using test::SqlSession;

namespace {

QString str(const char16_t *text)
{
    return QString::fromUtf16(text);
}

QString ch(char32_t c)
{
    return QString::fromUcs4(&c, 1);
}

QString unit(char16_t u) // one UTF-16 code unit, e.g. an unpaired surrogate
{
    return QString(QChar(u));
}

// What a terminal acts on, or what hides or reorders text, listed here independently of
// the implementation: C0, DEL, C1, the bidi and zero-width characters by number, every
// other format character, the line and paragraph separators, and surrogates (only ever
// seen unpaired: pairs are decoded before asking).
bool isUnsafeForTerminal(char32_t c)
{
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        return true;
    if ((c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) || c == 0x2060 ||
        (c >= 0x2066 && c <= 0x2069) || c == 0x061c || c == 0xfeff || c == 0x2028 || c == 0x2029)
        return true;
    if (c >= 0xd800 && c <= 0xdfff)
        return true;
    return QChar::category(c) == QChar::Other_Format;
}

// The raw characters in `text` a terminal must not get, as "U+001B at 12, ..."; a newline
// is always allowed (it ends a line: the callers count the lines) and tabs when asked.
QString rawControls(const QString &text, bool tabsAllowed)
{
    QStringList found;
    for (qsizetype i = 0; i < text.size(); ++i) {
        char32_t c = text.at(i).unicode();
        const bool pair =
            text.at(i).isHighSurrogate() && i + 1 < text.size() && text.at(i + 1).isLowSurrogate();
        if (pair)
            c = QChar::surrogateToUcs4(text.at(i), text.at(i + 1));
        if (c != U'\n' && !(tabsAllowed && c == U'\t') && isUnsafeForTerminal(c))
            found << QStringLiteral("U+%1 at %2").arg(uint(c), 4, 16, QLatin1Char('0')).arg(i);
        if (pair)
            ++i;
    }
    return found.join(QStringLiteral(", "));
}

// Reads terminalSafe()'s escapes back; nullopt for text it could not have written.
std::optional<QString> unescape(const QString &text)
{
    QString value;
    for (qsizetype i = 0; i < text.size(); ++i) {
        if (text.at(i) != QLatin1Char('\\')) {
            value += text.at(i);
            continue;
        }
        if (++i >= text.size())
            return std::nullopt;
        const QChar kind = text.at(i);
        if (kind == QLatin1Char('\\'))
            value += QLatin1Char('\\');
        else if (kind == QLatin1Char('n'))
            value += QLatin1Char('\n');
        else if (kind == QLatin1Char('r'))
            value += QLatin1Char('\r');
        else if (kind == QLatin1Char('t'))
            value += QLatin1Char('\t');
        else {
            const int digits = kind == QLatin1Char('x')   ? 2
                               : kind == QLatin1Char('u') ? 4
                               : kind == QLatin1Char('U') ? 8
                                                          : 0;
            const QString hex = text.mid(i + 1, digits);
            const bool isHex = digits > 0 && hex.size() == digits &&
                               std::all_of(hex.cbegin(), hex.cend(), [](QChar h) {
                                   return (h >= u'0' && h <= u'9') || (h >= u'a' && h <= u'f');
                               });
            if (!isHex)
                return std::nullopt;
            const uint code = hex.toUInt(nullptr, 16);
            value += code > 0xffff ? ch(char32_t(code)) : unit(char16_t(code));
            i += digits;
        }
    }
    return value;
}

using Run = test::LedgerctlRun; // runs $LEDGERCTL when set (an older build, say)

Run ledgerctl(const QStringList &args, const QString &dsn = {}, const QByteArray &input = {})
{
    return test::runLedgerctl(args, dsn, input);
}

// Shows what the terminal would have got, escaped, so that a failing test prints safely.
QString describe(const Run &r)
{
    return QStringLiteral("exit %1\nstdout: %2\nstderr: %3")
        .arg(r.exitCode)
        .arg(cli::terminalSafe(r.out), cli::terminalSafe(r.err));
}

// The forged lines. Each would pass for a line of `audit log` or `reversal list`.
const QString kForgedLine =
    QStringLiteral("\n2026-12-01T09:00:00.000Z\talice\treversal.approved by alice");
const QString kCarriageReturn = QStringLiteral("mallory\rreversal.approved by alice   ");
const QString kEraseAndUp = QStringLiteral("id\x1b[2K\x1b[1A\x1b[2Kreversal.approved");
const QString kRed = QStringLiteral("X\x1b[31mY");

} // namespace

// verifySafe() and return from the test function when it failed.
#define VERIFY_SAFE(run, tabsOnStdout)                                                             \
    do {                                                                                           \
        verifySafe(run, tabsOnStdout);                                                             \
        if (QTest::currentTestFailed())                                                            \
            return;                                                                                \
    } while (false)

class TestTerminalOutput : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    QString m_auditor;
    QString m_writer;
    QString m_override; // "id" U+202E "devorppa" shows as "id approved"

    // stdout and stderr hold nothing raw but line ends (and column tabs on stdout).
    static void verifySafe(const Run &r, bool tabsOnStdout)
    {
        const QString out = rawControls(r.out, tabsOnStdout);
        QVERIFY2(out.isEmpty(),
                 qPrintable(QStringLiteral("stdout: ") + out + QLatin1Char('\n') + describe(r)));
        const QString err = rawControls(r.err, false);
        QVERIFY2(err.isEmpty(),
                 qPrintable(QStringLiteral("stderr: ") + err + QLatin1Char('\n') + describe(r)));
        QVERIFY2(r.out.isEmpty() || r.out.endsWith(QLatin1Char('\n')), qPrintable(describe(r)));
        QVERIFY2(r.err.isEmpty() || r.err.endsWith(QLatin1Char('\n')), qPrintable(describe(r)));
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_override = QStringLiteral("id") + ch(0x202e) + QStringLiteral("devorppa");
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_auditor = m_db.dsnFor(QStringLiteral("console_auditor"));
        m_writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
    }

    // ---- terminalSafe, case by case ----

    void terminalSafe_data()
    {
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("expected");
        const auto same = [](const char *name, const QString &value) {
            QTest::newRow(name) << value << value;
        };
        same("empty", QString());
        same("plain", QStringLiteral("Client deposits 2000-DEP-1 (EUR) 'quoted' \"too\" 100%"));
        same("other scripts", str(u"Zürich – 東京 – مرحبا – Ελλάδα"));
        same("emoji (a surrogate pair)", str(u"paid 💶 ✅"));
        same("no-break space and replacement character", str(u"a\u00a0b\ufffdc"));
        same("printable ASCII", [] {
            QString s;
            for (char c = 0x20; c < 0x7f; ++c)
                if (c != '\\')
                    s += QLatin1Char(c);
            return s;
        }());

        QTest::newRow("backslash")
            << QStringLiteral("C:\\ledger") << QStringLiteral("C:\\\\ledger");
        QTest::newRow("text that looks like an escape")
            << QStringLiteral("\\x1b[31m \\n \\u202e")
            << QStringLiteral("\\\\x1b[31m \\\\n \\\\u202e");
        QTest::newRow("newline") << QStringLiteral("a\nb") << QStringLiteral("a\\nb");
        QTest::newRow("carriage return") << QStringLiteral("a\rb") << QStringLiteral("a\\rb");
        QTest::newRow("tab") << QStringLiteral("a\tb") << QStringLiteral("a\\tb");
        QTest::newRow("NUL") << unit(0) << QStringLiteral("\\x00");
        QTest::newRow("bell") << QStringLiteral("\a") << QStringLiteral("\\x07");
        QTest::newRow("backspace") << QStringLiteral("ab\bc") << QStringLiteral("ab\\x08c");
        QTest::newRow("vertical tab") << QStringLiteral("\v") << QStringLiteral("\\x0b");
        QTest::newRow("form feed") << QStringLiteral("\f") << QStringLiteral("\\x0c");
        QTest::newRow("ESC") << QStringLiteral("\x1b") << QStringLiteral("\\x1b");
        QTest::newRow("U+001F") << unit(0x1f) << QStringLiteral("\\x1f");
        QTest::newRow("DEL") << unit(0x7f) << QStringLiteral("\\x7f");
        QTest::newRow("C1 U+0080") << unit(0x80) << QStringLiteral("\\x80");
        QTest::newRow("C1 NEL U+0085") << unit(0x85) << QStringLiteral("\\x85");
        QTest::newRow("C1 CSI U+009B")
            << QString(unit(0x9b) + QStringLiteral("2K")) << QStringLiteral("\\x9b2K");
        QTest::newRow("C1 U+009F") << unit(0x9f) << QStringLiteral("\\x9f");
        const QList<char16_t> hidden{0x202a, 0x202b, 0x202c, 0x202d, 0x202e, // embed, override
                                     0x2066, 0x2067, 0x2068, 0x2069,         // isolates
                                     0x200e, 0x200f, 0x061c,                 // LRM RLM ALM
                                     0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, // zero width
                                     0x2028, 0x2029,                         // separators
                                     0x2064};                                // invisible plus
        for (const char16_t u : hidden)
            QTest::addRow("U+%04X", unsigned(u))
                << QString(QStringLiteral("a") + unit(u) + QStringLiteral("b"))
                << QStringLiteral("a\\u%1b").arg(unsigned(u), 4, 16, QLatin1Char('0'));
        QTest::newRow("soft hyphen (format, below U+0100)")
            << unit(0xad) << QStringLiteral("\\xad");
        QTest::newRow("tag character (format, above U+FFFF)")
            << ch(0xe0041) << QStringLiteral("\\U000e0041");
        QTest::newRow("unpaired high surrogate")
            << QString(QStringLiteral("a") + unit(0xd83d) + QStringLiteral("b"))
            << QStringLiteral("a\\ud83db");
        QTest::newRow("unpaired high surrogate at the end")
            << QString(QStringLiteral("a") + unit(0xd83d)) << QStringLiteral("a\\ud83d");
        QTest::newRow("unpaired low surrogate") << unit(0xdcb6) << QStringLiteral("\\udcb6");
        QTest::newRow("surrogates in the wrong order")
            << QString(unit(0xdcb6) + unit(0xd83d)) << QStringLiteral("\\udcb6\\ud83d");

        QTest::newRow("forged line") << QString(QStringLiteral("mallory") + kForgedLine)
                                     << QStringLiteral("mallory\\n2026-12-01T09:00:00.000Z\\talice"
                                                       "\\treversal.approved by alice");
        QTest::newRow("erase and cursor up")
            << kEraseAndUp << QStringLiteral("id\\x1b[2K\\x1b[1A\\x1b[2Kreversal.approved");
        QTest::newRow("override") << QString(QStringLiteral("id") + unit(0x202e) +
                                             QStringLiteral("devorppa"))
                                  << QStringLiteral("id\\u202edevorppa");
    }

    void terminalSafe()
    {
        QFETCH(QString, value);
        QFETCH(QString, expected);
        const QString safe = cli::terminalSafe(value);
        QCOMPARE(safe, expected);
        QCOMPARE(unescape(safe), std::optional(value));
    }

    // Every character of the BMP, alone and between letters, and the supplementary planes'
    // format characters: nothing unsafe comes out, and the escape reads back to it.
    void everyCharacterComesOutSafe()
    {
        QList<char32_t> codePoints;
        for (char32_t c = 0; c <= 0xffff; ++c)
            codePoints << c;
        for (char32_t c = 0xe0000; c <= 0xe007f; ++c) // tags
            codePoints << c;
        codePoints << 0x110bd << 0x1d173 << 0x1f4b6 << 0x10ffff;
        for (const char32_t c : std::as_const(codePoints)) {
            const QString value = c <= 0xffff ? unit(char16_t(c)) : ch(c);
            for (const QString &text :
                 {value, QString(QStringLiteral("a") + value + QStringLiteral("b"))}) {
                const QString safe = cli::terminalSafe(text);
                const QString raw = rawControls(safe, false);
                if (!raw.isEmpty())
                    QFAIL(qPrintable(QStringLiteral("U+%1: %2").arg(uint(c), 4, 16).arg(raw)));
                if (unescape(safe) != text)
                    QFAIL(
                        qPrintable(QStringLiteral("U+%1 does not read back").arg(uint(c), 4, 16)));
            }
        }
    }

    // Random mixes of backslashes, escapes' look-alikes, controls, format characters,
    // surrogates and text: the output is safe and reads back to exactly the input.
    void escapingIsUnambiguous()
    {
        QRandomGenerator random(20261201);
        const QList<QString> pieces{QStringLiteral("\\"),
                                    QStringLiteral("x1b"),
                                    QStringLiteral("n"),
                                    QStringLiteral("u202e"),
                                    QStringLiteral("\n"),
                                    QStringLiteral("\r"),
                                    QStringLiteral("\t"),
                                    QStringLiteral("\x1b["),
                                    unit(0x7f),
                                    unit(0x9b),
                                    unit(0x202e),
                                    unit(0xfeff),
                                    unit(0xd83d),
                                    unit(0xdcb6),
                                    ch(0x1f4b6),
                                    ch(0xe0041),
                                    str(u"é"),
                                    QStringLiteral("a")};
        for (int round = 0; round < 20000; ++round) {
            QString text;
            const int n = int(random.bounded(12));
            for (int i = 0; i < n; ++i)
                text += pieces.at(random.bounded(int(pieces.size())));
            const QString safe = cli::terminalSafe(text);
            QVERIFY2(rawControls(safe, false).isEmpty(), qPrintable(safe));
            QVERIFY2(unescape(safe) == text, qPrintable(safe));
        }
    }

    // ---- the binary, against a real database ----

    // Events recorded as the superuser (audit.record_as is the owner's) whose operator,
    // object id and details hold each attack. `audit log` prints one line per event with
    // its six columns, nothing raw, and the escapes; --json gives the values back.
    void auditLogEscapesRecordedValues()
    {
        SqlSession admin(m_db.adminDsn());
        const QJsonObject details{
            {QStringLiteral("note"), QString(QStringLiteral("ok") + kForgedLine)},
            {QStringLiteral("csi"), QString(unit(0x9b) + QStringLiteral("2K") + unit(0x7f))},
            {QStringLiteral("isolate"),
             QString(unit(0x2067) + QStringLiteral("evil") + unit(0x2069))}};
        const QString detailsText =
            QString::fromUtf8(QJsonDocument(details).toJson(QJsonDocument::Compact));
        struct Planted
        {
            QString op;
            QString objectId;
        };
        const QList<Planted> planted{{QStringLiteral("mallory") + kForgedLine, QStringLiteral("1")},
                                     {kCarriageReturn, kEraseAndUp},
                                     {QStringLiteral("mallory"), m_override},
                                     {QStringLiteral("mal\\x1blory"), kRed}};
        for (const Planted &p : planted) {
            const auto r =
                admin.exec(QStringLiteral("SELECT audit.record_as($1, 'ledger_admin', "
                                          "'test.hostile', 'account', $2, $3::jsonb, '{}')"),
                           {p.op, p.objectId, detailsText});
            QVERIFY2(r.ok, qPrintable(r.message));
        }

        Run r = ledgerctl({QStringLiteral("audit"), QStringLiteral("log"),
                           QStringLiteral("--action"), QStringLiteral("test.hostile")},
                          m_auditor);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        VERIFY_SAFE(r, true);
        const QStringList lines = r.outLines();
        QCOMPARE(lines.size(), planted.size()); // no forged line
        for (const QString &line : lines)
            QCOMPARE(line.count(QLatin1Char('\t')), 5); // six columns, none forged
        QVERIFY2(
            r.out.contains(QStringLiteral("\tmallory\\n2026-12-01T09:00:00.000Z\\talice\\treversal."
                                          "approved by alice\t")),
            qPrintable(describe(r)));
        QVERIFY2(r.out.contains(QStringLiteral("\tmallory\\rreversal.approved by alice   \t")),
                 qPrintable(describe(r)));
        QVERIFY2(
            r.out.contains(QStringLiteral("account id\\x1b[2K\\x1b[1A\\x1b[2Kreversal.approved\t")),
            qPrintable(describe(r)));
        QVERIFY2(r.out.contains(QStringLiteral("account id\\u202edevorppa\t")),
                 qPrintable(describe(r)));
        // A backslash in a value is doubled: "\x1b" typed into a name is not an ESC.
        QVERIFY2(r.out.contains(QStringLiteral("\tmal\\\\x1blory\t")), qPrintable(describe(r)));
        QVERIFY2(r.out.contains(QStringLiteral("account X\\x1b[31mY\t")), qPrintable(describe(r)));
        // Details, as the server writes jsonb: its own escapes (\n) doubled, the rest ours.
        QVERIFY2(r.out.contains(QStringLiteral("ok\\\\n2026-12-01")), qPrintable(describe(r)));
        QVERIFY2(r.out.contains(QStringLiteral("\\x9b2K\\x7f")), qPrintable(describe(r)));
        QVERIFY2(r.out.contains(QStringLiteral("\\u2067evil\\u2069")), qPrintable(describe(r)));

        r = ledgerctl({QStringLiteral("audit"), QStringLiteral("log"), QStringLiteral("--action"),
                       QStringLiteral("test.hostile"), QStringLiteral("--json")},
                      m_auditor);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        VERIFY_SAFE(r, false);
        QCOMPARE(r.outLines().size(), 1);
        QVERIFY2(r.out.contains(QStringLiteral("\\u001b[2K")), qPrintable(describe(r)));
        QVERIFY2(r.out.contains(QStringLiteral("\\u202e")), qPrintable(describe(r)));
        const QJsonArray events = r.json().value(QStringLiteral("events")).toArray();
        QCOMPARE(events.size(), planted.size());
        for (qsizetype i = 0; i < planted.size(); ++i) {
            // Newest first.
            const QJsonObject e = events.at(planted.size() - 1 - i).toObject();
            QCOMPARE(e.value(QStringLiteral("operator")).toString(), planted.at(i).op);
            QCOMPARE(e.value(QStringLiteral("object_id")).toString(), planted.at(i).objectId);
            QCOMPARE(e.value(QStringLiteral("details")).toObject(), details);
        }
    }

    // An account name with the attacks, opened as the superuser. Should the database refuse
    // control characters in names, the next candidate is tried (the refusal must itself be
    // safe); the bidi override and zero-width characters are not control characters.
    void accountListEscapesNames()
    {
        const QList<QString> candidates{
            QStringLiteral("Savings") + kForgedLine + QStringLiteral("\r\x1b[31m") + m_override,
            QStringLiteral("Savings ") + m_override + unit(0x200b) + unit(0x2066)};
        QString name;
        for (const QString &candidate : candidates) {
            const Run r = ledgerctl(
                {QStringLiteral("account"), QStringLiteral("open"), QStringLiteral("--code"),
                 QStringLiteral("EVIL-%1").arg(candidates.indexOf(candidate)),
                 QStringLiteral("--name"), candidate, QStringLiteral("--currency"),
                 QStringLiteral("EUR"), QStringLiteral("--kind"), QStringLiteral("asset")},
                m_db.adminDsn());
            VERIFY_SAFE(r, false);
            if (r.exitCode == 0) {
                name = candidate;
                break;
            }
            qInfo("the database refused an account name: %s", qPrintable(describe(r)));
        }
        if (name.isEmpty())
            QSKIP("The database refuses every hostile account name: nothing to list.");

        Run r = ledgerctl({QStringLiteral("account"), QStringLiteral("list"),
                           QStringLiteral("--search"), QStringLiteral("EVIL-")},
                          m_db.adminDsn());
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        VERIFY_SAFE(r, true);
        QCOMPARE(r.outLines().size(), 1);
        QCOMPARE(
            r.outLines().first().split(QLatin1Char('\t')),
            (QStringList{QStringLiteral("EVIL-%1").arg(candidates.indexOf(name)),
                         QStringLiteral("EUR"), QStringLiteral("asset"), cli::terminalSafe(name)}));
        QVERIFY2(r.out.contains(QStringLiteral("\\u202e")), qPrintable(describe(r)));

        r = ledgerctl({QStringLiteral("account"), QStringLiteral("list"),
                       QStringLiteral("--search"), QStringLiteral("EVIL-"),
                       QStringLiteral("--json")},
                      m_db.adminDsn());
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        VERIFY_SAFE(r, false);
        const QJsonArray accounts = r.json().value(QStringLiteral("accounts")).toArray();
        QCOMPARE(accounts.size(), 1);
        QCOMPARE(accounts.first().toObject().value(QStringLiteral("name")).toString(), name);
    }

    // Error messages echo what they were given, from the server or from ledgerctl itself:
    // one line on stderr, escaped; with --json the original value comes back.
    void errorsEscapeEchoedValues_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("escaped"); // on stderr, which has one line (two for usage)
        const QString red = kRed;
        QTest::newRow("server: no such account")
            << QStringList{QStringLiteral("balance"), QStringLiteral("--account"), red} << 1
            << QStringLiteral("No account with code \"X\\x1b[31mY\"");
        QTest::newRow("server: no such account, override")
            << QStringList{QStringLiteral("balance"), QStringLiteral("--account"), m_override} << 1
            << QStringLiteral("id\\u202edevorppa");
        QTest::newRow("server: no such account, carriage return")
            << QStringList{QStringLiteral("balance"), QStringLiteral("--account"), kCarriageReturn}
            << 1 << QStringLiteral("mallory\\rreversal.approved by alice");
        QTest::newRow("reporting: no such account")
            << QStringList{QStringLiteral("reporting"), QStringLiteral("refresh"),
                           QStringLiteral("--account"), kEraseAndUp}
            << 1 << QStringLiteral("id\\x1b[2K\\x1b[1A\\x1b[2Kreversal.approved");
        QTest::newRow("unreadable file")
            << QStringList{QStringLiteral("post"), QStringLiteral("--file"),
                           QStringLiteral("/nonexistent/") + kEraseAndUp}
            << 1 << QStringLiteral("/nonexistent/id\\x1b[2K\\x1b[1A");
        QTest::newRow("usage: bad time")
            << QStringList{QStringLiteral("audit"), QStringLiteral("log"),
                           QStringLiteral("--since"), QStringLiteral("soon") + kForgedLine}
            << 2 << QStringLiteral("soon\\n2026-12-01T09:00:00.000Z\\talice");
        QTest::newRow("usage: bad kind")
            << QStringList{QStringLiteral("account"),    QStringLiteral("open"),
                           QStringLiteral("--code"),     QStringLiteral("K-1"),
                           QStringLiteral("--name"),     QStringLiteral("n"),
                           QStringLiteral("--currency"), QStringLiteral("EUR"),
                           QStringLiteral("--kind"),     red}
            << 2 << QStringLiteral("not 'X\\x1b[31mY'");
        QTest::newRow("usage: unknown option")
            << QStringList{QStringLiteral("account"), QStringLiteral("list"),
                           QStringLiteral("--x\x1b[31m")}
            << 2 << QStringLiteral("x\\x1b[31m");
        QTest::newRow("unknown command") << QStringList{QStringLiteral("\x1b[2K\x1b[1Aaudit")} << 2
                                         << QStringLiteral("'\\x1b[2K\\x1b[1Aaudit'");
    }

    void errorsEscapeEchoedValues()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, escaped);
        Run r = ledgerctl(args, m_writer);
        QVERIFY2(r.exitCode == exitCode, qPrintable(describe(r)));
        VERIFY_SAFE(r, false);
        QVERIFY2(r.out.isEmpty(), qPrintable(describe(r)));
        QVERIFY2(r.err.contains(escaped), qPrintable(describe(r)));
        // One line; a usage error adds "Try 'ledgerctl <command> --help'."
        const bool usage = r.err.contains(QLatin1String("\nTry 'ledgerctl "));
        QCOMPARE(r.err.count(QLatin1Char('\n')), usage ? 2 : 1);
        if (exitCode != 1)
            return; // usage errors have no JSON form
        r = ledgerctl(args << QStringLiteral("--json"), m_writer);
        QCOMPARE(r.exitCode, exitCode);
        VERIFY_SAFE(r, false);
        const QString error = r.json().value(QStringLiteral("error")).toString();
        QVERIFY2(!error.isEmpty(), qPrintable(describe(r)));
        // The JSON holds the value as it was given.
        const QString given = args.at(args.indexOf(QStringLiteral("--account")) >= 0
                                          ? args.indexOf(QStringLiteral("--account")) + 1
                                          : args.indexOf(QStringLiteral("--file")) + 1);
        QVERIFY2(error.contains(given), qPrintable(describe(r)));
    }

    // ingest reports a rejected line's reason (the server's, echoing the line's account)
    // on stderr as progress: escaped too.
    void ingestRejectionsAreEscaped()
    {
        QJsonObject event{{QStringLiteral("event_id"), QStringLiteral("ev\x1b[31m")},
                          {QStringLiteral("type"), QStringLiteral("income")},
                          {QStringLiteral("account"), kEraseAndUp},
                          {QStringLiteral("amount"), QStringLiteral("1.00")},
                          {QStringLiteral("currency"), QStringLiteral("EUR")},
                          {QStringLiteral("occurred_at"), QStringLiteral("2026-11-11T10:00:00Z")},
                          {QStringLiteral("contra_account"), kCarriageReturn}};
        const Run r =
            ledgerctl({QStringLiteral("ingest"), QStringLiteral("--file"), QStringLiteral("-")},
                      m_writer, QJsonDocument(event).toJson(QJsonDocument::Compact));
        QCOMPARE(r.exitCode, 1);
        VERIFY_SAFE(r, false);
        QVERIFY2(r.err.startsWith(QLatin1String("line 1: ")), qPrintable(describe(r)));
        QVERIFY2(r.err.contains(QStringLiteral("id\\x1b[2K\\x1b[1A\\x1b[2Kreversal.approved")) ||
                     r.err.contains(QStringLiteral("mallory\\rreversal.approved")),
                 qPrintable(describe(r)));
    }

    // The issue's own example: a reversal request's note. The database refuses control
    // characters in notes (LG030); the refusal must be safe, and a note it does accept
    // (a backslash escape typed as text, a soft hyphen, "approved" in invisible tag
    // characters) must still come out of `reversal list` escaped, and back from --json.
    void reversalNotesAreEscaped()
    {
        for (const char *code : {"REV-CASH", "REV-CUST"})
            QVERIFY(ledgerctl({QStringLiteral("account"), QStringLiteral("open"),
                               QStringLiteral("--code"), QString::fromLatin1(code),
                               QStringLiteral("--name"), QString::fromLatin1(code),
                               QStringLiteral("--currency"), QStringLiteral("EUR"),
                               QStringLiteral("--kind"), QStringLiteral("asset")},
                              m_db.adminDsn())
                        .exitCode == 0);
        Run r = ledgerctl(
            {QStringLiteral("post"), QStringLiteral("--file"), QStringLiteral("-")}, m_writer,
            R"({"idempotency_key": "rev-1", "effective_at": "2026-11-10T09:00:00Z", "description": "d",
                "legs": [{"account": "REV-CASH", "amount": "5.00", "currency": "EUR"},
                         {"account": "REV-CUST", "amount": "-5.00", "currency": "EUR"}]})");
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QString transaction = r.out.trimmed();
        const QString operatorDsn = m_db.dsnFor(QStringLiteral("console_operator"));

        QString invisible;
        for (const char c : {'a', 'p', 'p', 'r', 'o', 'v', 'e', 'd'})
            invisible += ch(0xe0000 + char32_t(c));
        const QList<QString> candidates{
            QString(QStringLiteral("typo") + kForgedLine + QStringLiteral("\r") + kEraseAndUp +
                    m_override),
            QString(QStringLiteral("typo \\x1b[31m typed as text, soft") + unit(0xad) +
                    QStringLiteral("hyphen") + invisible)};
        QString note;
        for (const QString &candidate : candidates) {
            r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("request"),
                           QStringLiteral("--transaction"), transaction, QStringLiteral("--reason"),
                           QStringLiteral("WRONG_AMOUNT"), QStringLiteral("--note"), candidate},
                          operatorDsn);
            VERIFY_SAFE(r, false);
            if (r.exitCode == 0) {
                note = candidate;
                break;
            }
            // Refused for its note, in one escaped line.
            QVERIFY2(r.exitCode == 1 && r.err.contains(QLatin1String("LG030")) &&
                         r.err.count(QLatin1Char('\n')) == 1,
                     qPrintable(describe(r)));
            qInfo("the database refused a note: %s", qPrintable(describe(r)));
        }
        QVERIFY2(!note.isEmpty(), "the database refused every note");

        r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("list")}, operatorDsn);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        VERIFY_SAFE(r, true);
        QCOMPARE(r.outLines().size(), 1);
        QVERIFY2(r.out.contains(cli::terminalSafe(note)), qPrintable(describe(r)));
        QVERIFY2(r.out.contains(QStringLiteral("\\n2026-12-01T09:00:00.000Z\\talice")) ||
                     r.out.contains(QStringLiteral("\\\\x1b[31m typed as text, soft\\xadhyphen"
                                                   "\\U000e0061\\U000e0070")),
                 qPrintable(describe(r)));
        r = ledgerctl(
            {QStringLiteral("reversal"), QStringLiteral("list"), QStringLiteral("--json")},
            operatorDsn);
        VERIFY_SAFE(r, false);
        QCOMPARE(r.json()
                     .value(QStringLiteral("requests"))
                     .toArray()
                     .first()
                     .toObject()
                     .value(QStringLiteral("note"))
                     .toString(),
                 note);
    }

    // Our own help texts keep their lines.
    void helpKeepsItsLines()
    {
        Run r = ledgerctl({QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.count(QLatin1Char('\n')) > 20, qPrintable(describe(r)));
        QVERIFY(r.out.contains(QLatin1String("\n  audit log ")));
        r = ledgerctl({QStringLiteral("post"), QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains(QLatin1String("\n  {\"idempotency_key\": \"...\"")),
                 qPrintable(describe(r)));
        VERIFY_SAFE(r, false);
    }
};

QTEST_GUILESS_MAIN(TestTerminalOutput)
#include "tst_terminal_output.moc"
