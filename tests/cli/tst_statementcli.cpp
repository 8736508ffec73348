// Step 8 through ledgerctl, as compliance staff use it: `statement export` in each format
// (totals equal the ledger's point-in-time balances; camt.053 .001.08 valid against the
// schema; the PDF's text and QR code read back), `statement verify` by file (a changed
// byte is not verified) and by reference (restated after a backdated posting), `statement
// restated`, and bad input refused with nothing written and nothing recorded.

#include "Ledgerctl.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace ledger;
using test::SqlSession;

namespace {

using Run = test::LedgerctlRun;

Run ledgerctl(const QStringList &args, const QString &dsnEnv = {})
{
    return test::runLedgerctl(args, dsnEnv, {});
}

// A tool the tests read exports back with; its output or a failure naming what to install.
QString tool(const QString &program, const QStringList &args, bool *ok)
{
    QProcess p;
    p.start(program, args);
    *ok = p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
    return QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError());
}

} // namespace

class TestStatementCli : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QString m_writer, m_compliance, m_operator;
    QTemporaryDir m_dir;
    int m_key = 0;

    void post(const QString &debit, const QString &credit, const QString &amount,
              const QString &effective)
    {
        const auto r = m_admin->exec(
            QStringLiteral("SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                           "'cli-st-' || $1, 'effective_at', $2::text, 'description', 'payment ' "
                           "|| $1, 'external_ref', 'INV-' || $1, 'legs', jsonb_build_array("
                           "jsonb_build_object('account', $3::text, 'amount', $5::text, "
                           "'currency', 'EUR'), jsonb_build_object('account', $4::text, "
                           "'amount', '-' || $5, 'currency', 'EUR'))))"),
            {QString::number(++m_key), effective, debit, credit, amount});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    Run exportStatement(const QString &format, const QString &file, QStringList extra = {})
    {
        QStringList args{QStringLiteral("statement"), QStringLiteral("export"),
                         QStringLiteral("--account"), QStringLiteral("CUST"),
                         QStringLiteral("--from"),    QStringLiteral("2026-10-01"),
                         QStringLiteral("--to"),      QStringLiteral("2026-10-31"),
                         QStringLiteral("--format"),  format,
                         QStringLiteral("--out"),     file,
                         QStringLiteral("--json")};
        args += extra;
        return ledgerctl(args, m_compliance);
    }

    QString auditCount(const QString &action)
    {
        return m_admin->scalar(
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = $1"), {action});
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('BANK', 'Bank', 'EUR', 'asset'), "
                        "ledger.open_account('CUST', 'Customer, \"quoted\"', 'EUR', 'liability')"))
                    .ok);
        // Before the period (opening 100.00), in it, and after it.
        post(QStringLiteral("BANK"), QStringLiteral("CUST"), QStringLiteral("100.00"),
             QStringLiteral("2026-09-15T10:00:00Z"));
        post(QStringLiteral("BANK"), QStringLiteral("CUST"), QStringLiteral("250.50"),
             QStringLiteral("2026-10-03T09:00:00Z"));
        post(QStringLiteral("CUST"), QStringLiteral("BANK"), QStringLiteral("20.25"),
             QStringLiteral("2026-10-20T16:30:00Z"));
        post(QStringLiteral("BANK"), QStringLiteral("CUST"), QStringLiteral("5.00"),
             QStringLiteral("2026-11-02T08:00:00Z"));
        m_compliance = m_db.dsnFor(QStringLiteral("console_compliance"), QStringLiteral("carla"));
        m_operator = m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia"));
    }

    void exportsAgreeWithTheLedger()
    {
        // The ledger's own point-in-time balances of the period's edges, as known now.
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT amount FROM ledger.balance('CUST', "
                                                "'2026-10-01T00:00:00Z'::timestamptz - interval "
                                                "'1 microsecond', now())")),
                 QStringLiteral("100.00"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT amount FROM ledger.balance('CUST', "
                                                "'2026-11-01T00:00:00Z'::timestamptz - interval "
                                                "'1 microsecond', now())")),
                 QStringLiteral("330.25"));

        const QString csv = m_dir.filePath(QStringLiteral("cust.csv"));
        Run r = exportStatement(QStringLiteral("csv"), csv);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("opening")).toString(), QStringLiteral("100.00"));
        QCOMPARE(r.json().value(QStringLiteral("closing")).toString(), QStringLiteral("330.25"));
        QCOMPARE(r.json().value(QStringLiteral("lines")).toInteger(), 2);
        QCOMPARE(r.json().value(QStringLiteral("sequence_number")).toInteger(), 1);
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(f.readAll());
        QVERIFY2(text.contains(QLatin1String("250.50")) && text.contains(QLatin1String("20.25")) &&
                     text.contains(QLatin1String("330.25")),
                 qPrintable(text));
        QVERIFY(!QFile::exists(csv + QStringLiteral(".part")));

        const QString camt = m_dir.filePath(QStringLiteral("cust.xml"));
        r = exportStatement(QStringLiteral("camt053"), camt);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("sequence_number")).toInteger(), 2);
        bool ok = false;
        const QString schema = QStringLiteral(LEDGER_ISO20022_DIR "/camt.053.001.08.xsd");
        QVERIFY2(QFile::exists(schema), qPrintable(schema));
        const QString valid =
            tool(QStringLiteral("xmllint"),
                 {QStringLiteral("--noout"), QStringLiteral("--schema"), schema, camt}, &ok);
        QVERIFY2(ok, qPrintable(valid));

        const QString pdf = m_dir.filePath(QStringLiteral("cust.pdf"));
        r = exportStatement(QStringLiteral("pdf"), pdf,
                            {QStringLiteral("--institution"), QStringLiteral("Test Bank AG")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QString reference = r.json().value(QStringLiteral("reference")).toString();
        const QString pdfText = tool(QStringLiteral("pdftotext"),
                                     {QStringLiteral("-layout"), pdf, QStringLiteral("-")}, &ok);
        QVERIFY2(ok, qPrintable(pdfText));
        for (const char *expected : {"Test Bank AG", "330.25", "250.50", "20.25", "100.00"})
            QVERIFY2(pdfText.contains(QLatin1String(expected)), expected);
        QVERIFY2(pdfText.contains(reference), qPrintable(pdfText));
        QCOMPARE(auditCount(QStringLiteral("statement.issued")), QStringLiteral("3"));
        // Without --institution, the PDF names the ledger's own setting.
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "UPDATE access.settings SET statement_institution = 'Musterbank AG'"))
                    .ok);
        const QString sitePdf = m_dir.filePath(QStringLiteral("cust-site.pdf"));
        r = exportStatement(QStringLiteral("pdf"), sitePdf);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(tool(QStringLiteral("pdftotext"), {sitePdf, QStringLiteral("-")}, &ok)
                    .contains(QLatin1String("Musterbank AG")));
        QVERIFY(m_admin
                    ->exec(QStringLiteral("UPDATE access.settings SET statement_institution = "
                                          "DEFAULT"))
                    .ok);
    }

    void verifyByFileAndByReference()
    {
        const QString csv = m_dir.filePath(QStringLiteral("verify.csv"));
        Run r = exportStatement(QStringLiteral("csv"), csv);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QString reference = r.json().value(QStringLiteral("reference")).toString();
        r = ledgerctl({QStringLiteral("statement"), QStringLiteral("verify"), csv}, m_compliance);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY2(r.out.contains(reference) && r.out.contains(QLatin1String("issued by carla")),
                 qPrintable(r.out));
        // One changed byte: not a statement this ledger issued.
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QByteArray bytes = f.readAll();
        bytes[bytes.size() - 3] = bytes[bytes.size() - 3] == '1' ? '2' : '1';
        f.seek(0);
        f.write(bytes);
        f.close();
        r = ledgerctl({QStringLiteral("statement"), QStringLiteral("verify"), csv}, m_compliance);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("No statement with this file's content")),
                 qPrintable(r.err));

        r = ledgerctl({QStringLiteral("statement"), QStringLiteral("verify"),
                       QStringLiteral("--reference"), reference, QStringLiteral("--json")},
                      m_compliance);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(r.json().value(QStringLiteral("content_matches")).toBool());
        QVERIFY(!r.json().value(QStringLiteral("restated")).toBool());
        // A backdated deposit into October, recorded now: the statement is restated; as of
        // its known-at time it still verifies.
        post(QStringLiteral("BANK"), QStringLiteral("CUST"), QStringLiteral("1.75"),
             QStringLiteral("2026-10-10T12:00:00Z"));
        r = ledgerctl({QStringLiteral("statement"), QStringLiteral("verify"),
                       QStringLiteral("--reference"), reference, QStringLiteral("--json")},
                      m_compliance);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(r.json().value(QStringLiteral("content_matches")).toBool());
        QVERIFY(r.json().value(QStringLiteral("restated")).toBool());
        QCOMPARE(r.json().value(QStringLiteral("closing_difference")).toString(),
                 QStringLiteral("1.75"));
        QCOMPARE(r.json().value(QStringLiteral("opening_difference")).toString(),
                 QStringLiteral("0.00"));
        r = ledgerctl({QStringLiteral("statement"), QStringLiteral("restated"),
                       QStringLiteral("--record"), QStringLiteral("--json")},
                      m_compliance);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(r.json().value(QStringLiteral("recorded")).toInt() >= 1);
        bool listed = false;
        for (const QJsonValue &v : r.json().value(QStringLiteral("restated")).toArray())
            listed =
                listed || v.toObject().value(QStringLiteral("reference")).toString() == reference;
        QVERIFY(listed);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'statement.verified'")),
                 QStringLiteral("4"));
    }

    // The same request later with the same known-at time: byte-identical CSV and camt.053
    // (the same statement: number, reference, issue time), the same content digest for the
    // PDF; each copy recorded and audited.
    void theSameRequestLaterGivesTheSameStatement()
    {
        const QString knownAt =
            m_admin->scalar(QStringLiteral("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                                           "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"));
        for (const QString &format :
             {QStringLiteral("csv"), QStringLiteral("camt053"), QStringLiteral("pdf")}) {
            QList<QByteArray> files;
            QStringList digests, references;
            for (int i = 0; i < 2; ++i) {
                const QString path =
                    m_dir.filePath(QStringLiteral("same-%1-%2").arg(format).arg(i));
                const Run r =
                    exportStatement(format, path, {QStringLiteral("--known-at"), knownAt});
                QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
                digests << r.json().value(QStringLiteral("content_digest")).toString();
                references << r.json().value(QStringLiteral("reference")).toString();
                QFile f(path);
                QVERIFY(f.open(QIODevice::ReadOnly));
                files << f.readAll();
            }
            QCOMPARE(references.at(1), references.at(0));
            QCOMPARE(digests.at(1), digests.at(0));
            if (format != QLatin1String("pdf"))
                QVERIFY2(files.at(1) == files.at(0), qPrintable(format)); // byte for byte
            QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE "
                                                    "action = 'statement.reissued' AND "
                                                    "object_id = $1"),
                                     {references.at(0)}),
                     QStringLiteral("1"));
        }
    }

    void badInputWritesAndRecordsNothing()
    {
        const QString issuedBefore = auditCount(QStringLiteral("statement.issued"));
        const QString file = m_dir.filePath(QStringLiteral("bad.csv"));
        Run r = ledgerctl(
            {QStringLiteral("statement"), QStringLiteral("export"), QStringLiteral("--account"),
             QStringLiteral("CUST"), QStringLiteral("--from"), QStringLiteral("2026-10-31"),
             QStringLiteral("--to"), QStringLiteral("2026-10-01"), QStringLiteral("--format"),
             QStringLiteral("csv"), QStringLiteral("--out"), file},
            m_compliance);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("LG060")), qPrintable(r.err));
        r = exportStatement(QStringLiteral("csv"), file,
                            {QStringLiteral("--known-at"), QStringLiteral("2099-01-01T00:00:00Z")});
        QCOMPARE(r.exitCode, 1);
        r = exportStatement(QStringLiteral("csv"), QStringLiteral("/nonexistent-dir/x.csv"));
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("/nonexistent-dir/x.csv")), qPrintable(r.err));
        r = ledgerctl(
            {QStringLiteral("statement"), QStringLiteral("export"), QStringLiteral("--account"),
             QStringLiteral("NOBODY"), QStringLiteral("--from"), QStringLiteral("2026-10-01"),
             QStringLiteral("--to"), QStringLiteral("2026-10-31"), QStringLiteral("--format"),
             QStringLiteral("csv"), QStringLiteral("--out"), file},
            m_compliance);
        QCOMPARE(r.exitCode, 1);
        // Operators do not export.
        r = ledgerctl(
            {QStringLiteral("statement"), QStringLiteral("export"), QStringLiteral("--account"),
             QStringLiteral("CUST"), QStringLiteral("--from"), QStringLiteral("2026-10-01"),
             QStringLiteral("--to"), QStringLiteral("2026-10-31"), QStringLiteral("--format"),
             QStringLiteral("csv"), QStringLiteral("--out"), file},
            m_operator);
        QCOMPARE(r.exitCode, 1);
        QVERIFY(!QFile::exists(file));
        QVERIFY(!QFile::exists(file + QStringLiteral(".part")));
        QCOMPARE(auditCount(QStringLiteral("statement.issued")), issuedBefore);
    }

    // `statement batch`: one file and issue per account; Ctrl+C (here SIGTERM, handled the
    // same) stops it after the statement being written, and every file left is complete,
    // issued and printed; the same folder again is refused before anything is written.
    void batchWritesEveryAccountAndStopsWhenInterrupted()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account(format('EXP-%s', lpad(g::text, 3, '0')), "
                        "'Expense ' || g, 'EUR', 'expense') FROM generate_series(1, 300) g"))
                    .ok);
        const QString folder = m_dir.filePath(QStringLiteral("batch-camt"));
        QVERIFY(QDir().mkpath(folder));
        const QStringList camtArgs{
            QStringLiteral("statement"), QStringLiteral("batch"),      QStringLiteral("--kind"),
            QStringLiteral("liability"), QStringLiteral("--from"),     QStringLiteral("2026-10-01"),
            QStringLiteral("--to"),      QStringLiteral("2026-10-31"), QStringLiteral("--format"),
            QStringLiteral("camt053"),   QStringLiteral("--out-dir"),  folder,
            QStringLiteral("--json")};
        Run r = ledgerctl(camtArgs, m_compliance);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonArray written = r.json().value(QStringLiteral("written")).toArray();
        QCOMPARE(written.size(), 1);
        const QJsonObject cust = written.at(0).toObject();
        QCOMPARE(cust.value(QStringLiteral("account")).toString(), QStringLiteral("CUST"));
        // The closing balance is the ledger's at the period's end (earlier tests posted more).
        QCOMPARE(cust.value(QStringLiteral("closing")).toString(),
                 m_admin->scalar(QStringLiteral("SELECT amount FROM ledger.balance('CUST', "
                                                "'2026-11-01T00:00:00Z'::timestamptz - interval "
                                                "'1 microsecond', $1::timestamptz)"),
                                 {cust.value(QStringLiteral("known_at")).toString()}));
        QCOMPARE(QFileInfo(cust.value(QStringLiteral("file")).toString()).fileName(),
                 QStringLiteral("CUST_2026-10-01_2026-10-31.xml"));
        r = ledgerctl(camtArgs, m_compliance); // the same folder again
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("already holds")), qPrintable(r.err));

        // 300 expense accounts, interrupted once the first statement is printed.
        const QString many = m_dir.filePath(QStringLiteral("batch-many"));
        QVERIFY(QDir().mkpath(many));
        const QString issuedBefore = auditCount(QStringLiteral("statement.issued"));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_DSN"), m_compliance);
        p.setProcessEnvironment(env);
        p.start(qEnvironmentVariable("LEDGERCTL", QStringLiteral(LEDGERCTL_PATH)),
                {QStringLiteral("statement"), QStringLiteral("batch"), QStringLiteral("--kind"),
                 QStringLiteral("expense"), QStringLiteral("--currency"), QStringLiteral("EUR"),
                 QStringLiteral("--from"), QStringLiteral("2026-10-01"), QStringLiteral("--to"),
                 QStringLiteral("2026-10-31"), QStringLiteral("--format"), QStringLiteral("csv"),
                 QStringLiteral("--out-dir"), many});
        QVERIFY(p.waitForStarted());
        QVERIFY(p.waitForReadyRead(60000));
        p.terminate();
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(QLatin1String("Interrupted")), qPrintable(err));
        const QStringList rows = QString::fromUtf8(p.readAllStandardOutput())
                                     .split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QVERIFY(!rows.isEmpty());
        QVERIFY2(rows.size() < 300, "the batch ended before it was interrupted");
        QStringList printed;
        for (const QString &row : rows) {
            const QStringList fields = row.split(QLatin1Char('\t'));
            QCOMPARE(fields.size(), 5);
            printed << QFileInfo(fields.at(3)).fileName();
            bool ok = false;
            const QString sha = tool(QStringLiteral("sha256sum"), {fields.at(3)}, &ok).left(64);
            QVERIFY(ok);
            QCOMPARE(sha, fields.at(4));
        }
        printed.sort();
        QCOMPARE(QDir(many).entryList(QDir::Files, QDir::Name), printed); // no *.part, no other
        QCOMPARE(auditCount(QStringLiteral("statement.issued")).toInt(),
                 issuedBefore.toInt() + rows.size());
    }

    // `statement list`: newest first, paged with --before, restated statements flagged with
    // their differences; each page an audit event; operators refused.
    void listShowsIssuedStatementsAndRestatements()
    {
        const QString listedBefore = auditCount(QStringLiteral("statement.listed"));
        Run r = ledgerctl({QStringLiteral("statement"), QStringLiteral("list"),
                           QStringLiteral("--account"), QStringLiteral("CUST"),
                           QStringLiteral("--json")},
                          m_compliance);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonArray all = r.json().value(QStringLiteral("statements")).toArray();
        QVERIFY(all.size() >= 3);
        for (int i = 1; i < all.size(); ++i)
            QVERIFY(all.at(i - 1).toObject().value(QStringLiteral("id")).toInteger() >
                    all.at(i).toObject().value(QStringLiteral("id")).toInteger());
        // The ledger's own list of restated statements of CUST is what --restated-only shows.
        const QString expected = m_admin->scalar(
            QStringLiteral("SELECT string_agg(reference, ',' ORDER BY statement_id DESC) FROM "
                           "ledger.restatements_unchecked(NULL) WHERE account = 'CUST'"));
        QVERIFY(!expected.isEmpty()); // verifyByFileAndByReference restated one
        r = ledgerctl({QStringLiteral("statement"), QStringLiteral("list"),
                       QStringLiteral("--account"), QStringLiteral("CUST"),
                       QStringLiteral("--restated-only"), QStringLiteral("--json")},
                      m_compliance);
        QStringList restated;
        for (const auto &v : r.json().value(QStringLiteral("statements")).toArray()) {
            const QJsonObject o = v.toObject();
            QVERIFY(o.value(QStringLiteral("restated")).toBool());
            QVERIFY(!o.value(QStringLiteral("late_entries")).toArray().isEmpty());
            restated << o.value(QStringLiteral("reference")).toString();
        }
        QCOMPARE(restated.join(QLatin1Char(',')), expected);
        // Paged: one row, then the rows before it.
        r = ledgerctl({QStringLiteral("statement"), QStringLiteral("list"),
                       QStringLiteral("--account"), QStringLiteral("CUST"),
                       QStringLiteral("--limit"), QStringLiteral("1")},
                      m_compliance);
        QCOMPARE(r.outLines().size(), 1);
        QVERIFY2(
            r.err.contains(QStringLiteral("--before %1")
                               .arg(all.at(0).toObject().value(QStringLiteral("id")).toInteger())),
            qPrintable(r.err));
        QCOMPARE(auditCount(QStringLiteral("statement.listed")).toInt(), listedBefore.toInt() + 3);
        r = ledgerctl({QStringLiteral("statement"), QStringLiteral("list")}, m_operator);
        QCOMPARE(r.exitCode, 1);
    }
};

QTEST_GUILESS_MAIN(TestStatementCli)
#include "tst_statementcli.moc"
