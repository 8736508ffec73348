// The ledgerctl binary as scripts use it: help texts, exit codes, one-line errors, JSON,
// migrate, accounts, seed, and the demo cluster's life cycle.

#include "Ledgerctl.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace ledger;
using test::SqlSession;

namespace {

using Run = test::LedgerctlRun;

Run ledgerctl(const QStringList &args, const QString &dsnEnv = {}, const QByteArray &input = {})
{
    return test::runLedgerctl(args, dsnEnv, input);
}

QString describe(const Run &r)
{
    return r.describe();
}

} // namespace

class TestLedgerctl : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;

private Q_SLOTS:
    void initTestCase() { QVERIFY2(m_db.start(), qPrintable(m_db.lastError())); }

    void helpListsEveryCommand()
    {
        const Run r = ledgerctl({QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        for (const char *command : {"migrate",
                                    "demo start",
                                    "demo stop",
                                    "demo status",
                                    "account open",
                                    "account list",
                                    "seed",
                                    "post",
                                    "ingest",
                                    "balance",
                                    "deadletters list",
                                    "deadletters retry",
                                    "deadletters discard",
                                    "reversal request",
                                    "reversal approve",
                                    "reversal reject",
                                    "reversal preview",
                                    "reversal withdraw",
                                    "reversal expire",
                                    "reversal list",
                                    "reversal reasons",
                                    "access operator add",
                                    "access operator disable",
                                    "access operator set-secret",
                                    "access operator list",
                                    "access session issue",
                                    "access reap",
                                    "access revoke",
                                    "access sessions",
                                    "audit checkpoint",
                                    "audit verify",
                                    "audit seal",
                                    "audit log",
                                    "reporting refresh"})
            QVERIFY2(r.out.contains(QLatin1String(command)), command);
        QCOMPARE(ledgerctl({}).exitCode, 2); // no command: usage
        const Run version = ledgerctl({QStringLiteral("--version")});
        QCOMPARE(version.exitCode, 0);
        QVERIFY(version.out.startsWith(QLatin1String("ledgerctl ")));
    }

    void consoleAnswersVersionAndHelpWithoutADisplay()
    {
        for (const char *option : {"--version", "--help"}) {
            QProcess p;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.remove(QStringLiteral("DISPLAY"));
            env.remove(QStringLiteral("WAYLAND_DISPLAY"));
            env.remove(QStringLiteral("QT_QPA_PLATFORM"));
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(LEDGER_CONSOLE_PATH), {QString::fromLatin1(option)});
            QVERIFY(p.waitForFinished(30000));
            QCOMPARE(p.exitCode(), 0);
            const QString out = QString::fromUtf8(p.readAllStandardOutput());
            if (qstrcmp(option, "--version") == 0)
                QVERIFY2(out.startsWith(QLatin1String("ledger-console ")), qPrintable(out));
            else
                QVERIFY2(out.startsWith(QLatin1String("Usage: ledger-console [options]")) &&
                             out.contains(QLatin1String("--secret-stdin")),
                         qPrintable(out));
        }
    }

    void everyCommandExplainsItself_data()
    {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("mustMention");
        QTest::newRow("migrate") << "migrate"
                                 << "SHA-256";
        QTest::newRow("demo start") << "demo start"
                                    << "--dir";
        QTest::newRow("demo stop") << "demo stop"
                                   << "--dir";
        QTest::newRow("demo status") << "demo status"
                                     << "Exit status";
        QTest::newRow("account open") << "account open"
                                      << "--no-negative";
        QTest::newRow("account list") << "account list"
                                      << "--search";
        QTest::newRow("seed") << "seed"
                              << "--accounts";
        QTest::newRow("post") << "post"
                              << "idempotency_key";
        QTest::newRow("ingest") << "ingest"
                                << "event_id";
        QTest::newRow("balance") << "balance"
                                 << "--known-at";
        QTest::newRow("deadletters list") << "deadletters list"
                                          << "--limit";
        QTest::newRow("reversal request") << "reversal request"
                                          << "--rebook-file";
        QTest::newRow("reversal approve") << "reversal approve"
                                          << "--request";
        QTest::newRow("reversal reject") << "reversal reject"
                                         << "--note";
        QTest::newRow("reversal list") << "reversal list"
                                       << "--state";
        QTest::newRow("reversal preview") << "reversal preview"
                                          << "balance before and after";
        QTest::newRow("reversal withdraw") << "reversal withdraw"
                                           << "Only the operator who made it";
        QTest::newRow("reversal expire") << "reversal expire"
                                         << "reversal_request_ttl";
        QTest::newRow("reversal reasons") << "reversal reasons"
                                          << "reason codes";
        QTest::newRow("access operator add") << "access operator add"
                                             << "--secret-stdin";
        QTest::newRow("access session issue") << "access session issue"
                                              << "--ttl";
        QTest::newRow("access reap") << "access reap"
                                     << "pg_cron";
        QTest::newRow("access revoke") << "access revoke"
                                       << "NAME";
        QTest::newRow("audit checkpoint") << "audit checkpoint"
                                          << "--anchor-every";
        QTest::newRow("audit verify") << "audit verify"
                                      << "chain rewritten";
        QTest::newRow("deadletters retry") << "deadletters retry"
                                           << "idempotency key";
        QTest::newRow("deadletters discard") << "deadletters discard"
                                             << "--reason";
        QTest::newRow("check") << "check"
                               << "--reporting-dsn";
        QTest::newRow("reporting refresh") << "reporting refresh"
                                           << "--min-entries";
    }

    // checkpoint -> verify (intact) -> a superuser changes one event -> verify names the
    // sequence and exits 1, with and without the checkpoint file.
    void auditCheckpointAndVerify()
    {
        const QString admin = m_db.adminDsn();
        const QString auditor = m_db.dsnFor(QStringLiteral("console_auditor"));
        QVERIFY(
            ledgerctl({QStringLiteral("account"), QStringLiteral("open"), QStringLiteral("--code"),
                       QStringLiteral("AUD-1"), QStringLiteral("--name"),
                       QStringLiteral("Audit test"), QStringLiteral("--currency"),
                       QStringLiteral("EUR"), QStringLiteral("--kind"), QStringLiteral("asset")},
                      admin)
                .exitCode == 0);
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("head.json"));
        const Run checkpoint = ledgerctl(
            {QStringLiteral("audit"), QStringLiteral("checkpoint"), QStringLiteral("--out"), file,
             QStringLiteral("--anchor-every"), QStringLiteral("1"), QStringLiteral("--json")},
            auditor);
        QVERIFY2(checkpoint.exitCode == 0, qPrintable(describe(checkpoint)));
        const qint64 head = qint64(checkpoint.json().value(QStringLiteral("seq")).toDouble());
        QVERIFY(head >= 1);
        QVERIFY(QFile::exists(file));
        // Never overwritten by accident.
        const Run again = ledgerctl(
            {QStringLiteral("audit"), QStringLiteral("checkpoint"), QStringLiteral("--out"), file},
            auditor);
        QCOMPARE(again.exitCode, 1);
        QVERIFY2(again.err.contains(QLatin1String("--force")), qPrintable(describe(again)));

        const QStringList verify{QStringLiteral("audit"), QStringLiteral("verify"),
                                 QStringLiteral("--checkpoint"), file};
        const Run intact = ledgerctl(verify, auditor);
        QVERIFY2(intact.exitCode == 0, qPrintable(describe(intact)));
        QVERIFY2(intact.out.contains(QLatin1String("client verifier: Verified through sequence")),
                 qPrintable(describe(intact)));
        QVERIFY2(intact.out.contains(QLatin1String("SQL verifier:    Verified through sequence")),
                 qPrintable(describe(intact)));

        // The first event of the chain is the account opened above or earlier: change seq 1.
        SqlSession db(admin);
        QVERIFY(db.exec(QStringLiteral(
                            "ALTER TABLE audit.events DISABLE TRIGGER events_append_only; "
                            "UPDATE audit.events SET operator = operator || 'x' WHERE seq = 1; "
                            "ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_append_only"))
                    .ok);
        const Run broken = ledgerctl(verify, auditor);
        QCOMPARE(broken.exitCode, 1);
        QVERIFY2(broken.out.contains(
                     QLatin1String("client verifier: Broken at sequence 1: row changed")),
                 qPrintable(describe(broken)));
        QVERIFY2(broken.err.contains(QLatin1String(
                     "ledgerctl audit verify: client verifier: Broken at sequence 1")),
                 qPrintable(describe(broken)));
        const Run json = ledgerctl(verify + QStringList{QStringLiteral("--json")}, auditor);
        QVERIFY2(json.exitCode == 1, qPrintable(describe(json)));
        QVERIFY2(json.json()
                         .value(QStringLiteral("sql"))
                         .toObject()
                         .value(QStringLiteral("broken_at"))
                         .toInt() == 1,
                 qPrintable(describe(json)));

        const Run log =
            ledgerctl({QStringLiteral("audit"), QStringLiteral("log"), QStringLiteral("--action"),
                       QStringLiteral("audit."), QStringLiteral("--json")},
                      auditor);
        QVERIFY2(log.exitCode == 0, qPrintable(describe(log)));
        QVERIFY(log.json().value(QStringLiteral("events")).toArray().size() >= 5);

        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write("{\"format\": \"ledger-audit-checkpoint\", \"version\": 1, \"seq\": 1, \"hash\": "
                "\"zz\"}");
        f.close();
        const Run bad = ledgerctl(verify, auditor);
        QCOMPARE(bad.exitCode, 1);
        QVERIFY2(bad.err.contains(QLatin1String("64 hex digits")), qPrintable(describe(bad)));
        // Restore what the other tests' invariants expect.
        QVERIFY(db.exec(QStringLiteral(
                            "ALTER TABLE audit.events DISABLE TRIGGER events_append_only; "
                            "UPDATE audit.events SET operator = left(operator, -1) WHERE seq = 1; "
                            "ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_append_only"))
                    .ok);
        const Run restored =
            ledgerctl({QStringLiteral("audit"), QStringLiteral("verify")}, auditor);
        QVERIFY2(restored.exitCode == 0, qPrintable(describe(restored)));
    }

    void postIngestBalanceAndReverse()
    {
        const QString admin = m_db.adminDsn();
        for (const char *a : {"CASH-X:EUR:asset:", "CUST-X:EUR:liability:--no-negative",
                              "CUST-Y:EUR:liability:--no-negative"}) {
            const QStringList f = QString::fromLatin1(a).split(QLatin1Char(':'));
            QStringList args{QStringLiteral("account"),    QStringLiteral("open"),
                             QStringLiteral("--code"),     f[0],
                             QStringLiteral("--name"),     f[0],
                             QStringLiteral("--currency"), f[1],
                             QStringLiteral("--kind"),     f[2]};
            if (!f[3].isEmpty())
                args << f[3];
            QCOMPARE(ledgerctl(args, admin).exitCode, 0);
        }
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));

        // post from standard input; the same again gives the same id.
        const QByteArray deposit =
            R"({"idempotency_key": "cli-1", "effective_at": "2026-11-10T09:00:00Z", "description": "deposit",
            "legs": [{"account": "CASH-X", "amount": "250.00", "currency": "EUR"}, {"account": "CUST-X", "amount": "-250.00", "currency": "EUR"}]})";
        Run r = ledgerctl({QStringLiteral("post"), QStringLiteral("--file"), QStringLiteral("-")},
                          writer, deposit);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QString txId = r.out.trimmed();
        QVERIFY(txId.toLongLong() > 0);
        r = ledgerctl({QStringLiteral("post"), QStringLiteral("--file"), QStringLiteral("-"),
                       QStringLiteral("--json")},
                      writer, deposit);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(QString::number(r.json().value(QStringLiteral("transaction_id")).toInteger()),
                 txId);
        QCOMPARE(r.json().value(QStringLiteral("created")).toBool(true), false);

        // Bad input: one clear line, exit 1.
        r = ledgerctl({QStringLiteral("post"), QStringLiteral("--file"), QStringLiteral("-")},
                      writer, "{\"idempotency_key\": \"x\", ");
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("not valid JSON")), qPrintable(r.err));
        r = ledgerctl({QStringLiteral("post"), QStringLiteral("--file"),
                       QStringLiteral("/nonexistent/tx.json")},
                      writer);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("Cannot read /nonexistent/tx.json")),
                 qPrintable(r.err));
        r = ledgerctl({QStringLiteral("post"), QStringLiteral("--file"), QStringLiteral("-")},
                      writer,
                      R"({"idempotency_key": "cli-2", "effective_at": "2026-11-10T09:00:00Z",
                          "legs": [{"account": "CASH-X", "amount": "1.005", "currency": "EUR"}, {"account": "CUST-X", "amount": "-1.005", "currency": "EUR"}]})");
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err.count(QLatin1Char('\n')), 1);
        QVERIFY2(r.err.contains(QLatin1String("more decimals than EUR allows")), qPrintable(r.err));

        // ingest: duplicates, out of order, a malformed line and an unknown account.
        const QByteArray events =
            R"({"event_id": "ev-2", "type": "outcome", "account": "CUST-X", "amount": "20.00", "currency": "EUR", "occurred_at": "2026-11-12T10:00:00Z", "contra_account": "CASH-X"}
{"event_id": "ev-1", "type": "income", "account": "CUST-Y", "amount": "5.25", "currency": "EUR", "occurred_at": "2026-11-11T10:00:00Z", "contra_account": "CASH-X"}
{"event_id": "ev-1", "type": "income", "account": "CUST-Y", "amount": "5.25", "currency": "EUR", "occurred_at": "2026-11-11T10:00:00Z", "contra_account": "CASH-X"}
{"event_id": "ev-3", "type": "income", "account": "CUST-Y", "amount": 
{"event_id": "ev-4", "type": "income", "account": "NOBODY", "amount": "1.00", "currency": "EUR", "occurred_at": "2026-11-11T10:00:00Z"}

{"event_id": "ev-5", "type": "outcome", "account": "CUST-Y", "amount": "1.00", "currency": "EUR", "occurred_at": "2026-11-13T10:00:00Z", "contra_account": "CASH-X"}
)";
        r = ledgerctl({QStringLiteral("ingest"), QStringLiteral("--file"), QStringLiteral("-"),
                       QStringLiteral("--json"), QStringLiteral("--batch-size"),
                       QStringLiteral("2")},
                      writer, events);
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 3);
        QCOMPARE(r.json().value(QStringLiteral("duplicates")).toInt(), 1);
        QCOMPARE(r.json().value(QStringLiteral("rejected")).toInt(), 2);
        QVERIFY2(r.err.contains(QLatin1String("line 4: not valid JSON")), qPrintable(r.err));
        QVERIFY2(r.err.contains(QLatin1String("line 5: No account with code \"NOBODY\"")),
                 qPrintable(r.err));
        // Again: everything is a duplicate now, the bad lines still bad.
        r = ledgerctl({QStringLiteral("ingest"), QStringLiteral("--file"), QStringLiteral("-")},
                      writer, events);
        QVERIFY2(r.out.contains(QLatin1String("posted 0, duplicates 4, rejected 2")),
                 qPrintable(describe(r)));
        // All or nothing: one bad line, nothing posted.
        r = ledgerctl(
            {QStringLiteral("ingest"), QStringLiteral("--file"), QStringLiteral("-"),
             QStringLiteral("--all-or-nothing")},
            writer,
            QByteArray(
                R"({"event_id": "ev-9", "type": "income", "account": "CUST-Y", "amount": "9.00", "currency": "EUR", "occurred_at": "2026-11-13T10:00:00Z", "contra_account": "CASH-X"})") +
                "\n{\"event_id\": \"ev-10\", \"type\": \"sideways\"}\n");
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.contains(QLatin1String("posted 0")), qPrintable(describe(r)));

        // balance now, at a business time, and as the ledger knew it.
        r = ledgerctl(
            {QStringLiteral("balance"), QStringLiteral("--account"), QStringLiteral("CUST-X")},
            writer);
        QCOMPARE(r.out.trimmed(), QStringLiteral("230.00 EUR"));
        r = ledgerctl({QStringLiteral("balance"), QStringLiteral("--account"),
                       QStringLiteral("CUST-Y"), QStringLiteral("--effective"),
                       QStringLiteral("2026-11-12")},
                      writer);
        QCOMPARE(r.out.trimmed(), QStringLiteral("5.25 EUR"));
        r = ledgerctl({QStringLiteral("balance"), QStringLiteral("--account"),
                       QStringLiteral("CUST-Y"), QStringLiteral("--effective"),
                       QStringLiteral("now"), QStringLiteral("--known-at"),
                       QStringLiteral("2020-01-01T00:00:00Z"), QStringLiteral("--json")},
                      writer);
        QCOMPARE(r.json().value(QStringLiteral("amount")).toString(), QStringLiteral("0.00"));
        r = ledgerctl(
            {QStringLiteral("balance"), QStringLiteral("--account"), QStringLiteral("NOBODY")},
            writer);
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains(QLatin1String("No account with code \"NOBODY\"")));
        r = ledgerctl({QStringLiteral("balance"), QStringLiteral("--account"),
                       QStringLiteral("CUST-X"), QStringLiteral("--effective"),
                       QStringLiteral("last tuesday")},
                      writer);
        QCOMPARE(r.exitCode, 2);

        // reversal: request as an operator, approve as a supervisor.
        const QString op = m_db.dsnFor(QStringLiteral("console_operator"));
        const QString sup = m_db.dsnFor(QStringLiteral("console_supervisor"));
        auto requestReversal = [&](const QString &tx) {
            return ledgerctl({QStringLiteral("reversal"), QStringLiteral("request"),
                              QStringLiteral("--transaction"), tx, QStringLiteral("--reason"),
                              QStringLiteral("wrong_amount"), QStringLiteral("--note"),
                              QStringLiteral("keyed wrongly")},
                             op);
        };
        // Undoing the 250.00 deposit would overdraw CUST-X (20.00 was spent since): the
        // preview says so and fails, and the request is refused before anything is stored.
        r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("preview"),
                       QStringLiteral("--transaction"), txId, QStringLiteral("--reason"),
                       QStringLiteral("WRONG_AMOUNT")},
                      op);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.contains(QLatin1String("balance CUST-X: 230.00 -> -20.00 EUR (may not go "
                                              "below zero)")),
                 qPrintable(describe(r)));
        QVERIFY2(r.err.contains(QLatin1String("would be refused")), qPrintable(r.err));
        r = requestReversal(txId);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("CUST-X (")) &&
                     r.err.contains(QLatin1String("may not go below zero")) &&
                     r.err.contains(QLatin1String("LG056")),
                 qPrintable(r.err));
        r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("list"),
                       QStringLiteral("--state"), QStringLiteral("all"), QStringLiteral("--json")},
                      op);
        QCOMPARE(r.json().value(QStringLiteral("requests")).toArray().size(), 0);

        // A reversal that is fine.
        r = ledgerctl(
            {QStringLiteral("post"), QStringLiteral("--file"), QStringLiteral("-")}, writer,
            R"({"idempotency_key": "cli-3", "effective_at": "2026-11-14T09:00:00Z", "description": "deposit",
                          "legs": [{"account": "CASH-X", "amount": "10.00", "currency": "EUR"}, {"account": "CUST-Y", "amount": "-10.00", "currency": "EUR"}]})");
        const QString tx3 = r.out.trimmed();
        r = requestReversal(tx3);
        const QString request = r.out.trimmed();
        r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("approve"),
                       QStringLiteral("--request"), request},
                      op);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("Not allowed")), qPrintable(r.err));
        r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("approve"),
                       QStringLiteral("--request"), request, QStringLiteral("--json")},
                      sup);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        QVERIFY(r.json().value(QStringLiteral("reversal_transaction_id")).toInteger() >
                tx3.toLongLong());
        r = ledgerctl(
            {QStringLiteral("balance"), QStringLiteral("--account"), QStringLiteral("CUST-Y")},
            writer);
        QCOMPARE(r.out.trimmed(), QStringLiteral("4.25 EUR"));
        r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("reject"),
                       QStringLiteral("--request"), request, QStringLiteral("--note"),
                       QStringLiteral("late")},
                      sup);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("already approved")), qPrintable(r.err));
        r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("list"),
                       QStringLiteral("--state"), QStringLiteral("all"), QStringLiteral("--json")},
                      op);
        QCOMPARE(r.json().value(QStringLiteral("requests")).toArray().size(),
                 1); // the refused one was never stored
    }

    void everyCommandExplainsItself()
    {
        QFETCH(QString, command);
        QFETCH(QString, mustMention);
        const Run r = ledgerctl(command.split(QLatin1Char(' ')) << QStringLiteral("--help"));
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.startsWith(QStringLiteral("Usage: ledgerctl %1 [options]").arg(command)),
                 qPrintable(r.out));
        QVERIFY2(r.out.contains(mustMention), qPrintable(r.out));
        QVERIFY2(r.out.contains(QLatin1String("--json")), qPrintable(r.out));
    }

    void usageErrors()
    {
        Run r = ledgerctl({QStringLiteral("frobnicate")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QLatin1String("unknown command 'frobnicate'")));
        r = ledgerctl({QStringLiteral("demo")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QLatin1String("demo start")));
        r = ledgerctl({QStringLiteral("migrate"), QStringLiteral("--no-such-option")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QLatin1String("Try 'ledgerctl migrate --help'")),
                 qPrintable(r.err));
        r = ledgerctl({QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("many"),
                       QStringLiteral("--dsn"), m_db.adminDsn()});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QLatin1String("--accounts must be a whole number")),
                 qPrintable(r.err));
        // A time without its offset names no instant: refused before anything is asked.
        r = ledgerctl({QStringLiteral("balance"), QStringLiteral("--account"),
                       QStringLiteral("CASH"), QStringLiteral("--known-at"),
                       QStringLiteral("2026-11-20T10:00:00"), QStringLiteral("--dsn"),
                       m_db.adminDsn()});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QLatin1String("has no UTC offset")) &&
                     r.err.contains(QLatin1String("2026-11-20T10:00:00Z")),
                 qPrintable(r.err));
    }

    void migrateIsANoOpWhenUpToDate()
    {
        Run r = ledgerctl({QStringLiteral("migrate"), QStringLiteral("--dsn"), m_db.adminDsn()});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains(QLatin1String("up to date")), qPrintable(describe(r)));
        r = ledgerctl(
            {QStringLiteral("migrate"), QStringLiteral("--status"), QStringLiteral("--json")},
            m_db.adminDsn());
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("pending")).toArray().size(), 0);
        QVERIFY(r.json().value(QStringLiteral("version")).toInt() >= 2);
    }

    void migratesAFreshDatabase()
    {
        const QString dsn = m_db.createDatabase(QStringLiteral("cli_fresh"));
        const Run r = ledgerctl(
            {QStringLiteral("migrate"), QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        const QJsonArray applied = r.json().value(QStringLiteral("applied")).toArray();
        QVERIFY(applied.size() >= 2);
        QCOMPARE(applied.first().toString(), QStringLiteral("0001_roles_and_schemas"));
    }

    void opensAndListsAccounts()
    {
        const QString dsn = m_db.adminDsn();
        Run r = ledgerctl({QStringLiteral("account"), QStringLiteral("open"),
                           QStringLiteral("--dsn"), dsn, QStringLiteral("--code"),
                           QStringLiteral("CLI-1"), QStringLiteral("--name"),
                           QStringLiteral("Client deposits"), QStringLiteral("--currency"),
                           QStringLiteral("bhd"), QStringLiteral("--kind"),
                           QStringLiteral("liability"), QStringLiteral("--no-negative")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.trimmed().toLongLong() > 0);

        r = ledgerctl({QStringLiteral("account"), QStringLiteral("list"), QStringLiteral("--json"),
                       QStringLiteral("--search"), QStringLiteral("cli-")},
                      dsn);
        QCOMPARE(r.exitCode, 0);
        const QJsonArray accounts = r.json().value(QStringLiteral("accounts")).toArray();
        QCOMPARE(accounts.size(), 1);
        const QJsonObject a = accounts.first().toObject();
        QCOMPARE(a.value(QStringLiteral("currency")).toString(), QStringLiteral("BHD"));
        QCOMPARE(a.value(QStringLiteral("normal_side")).toString(), QStringLiteral("credit"));
        QCOMPARE(a.value(QStringLiteral("no_negative")).toBool(), true);
    }

    void accountErrorsAreOneClearLine()
    {
        const QString dsn = m_db.adminDsn();
        const QStringList base{QStringLiteral("account"), QStringLiteral("open"),
                               QStringLiteral("--dsn"),   dsn,
                               QStringLiteral("--name"),  QStringLiteral("N"),
                               QStringLiteral("--kind"),  QStringLiteral("asset")};
        Run r = ledgerctl(base + QStringList{QStringLiteral("--code"), QStringLiteral("E-1"),
                                             QStringLiteral("--currency"), QStringLiteral("XYZ")});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err.count(QLatin1Char('\n')), 1);
        QVERIFY2(
            r.err.startsWith(QLatin1String("ledgerctl account open: Unknown currency \"XYZ\"")),
            qPrintable(r.err));

        r = ledgerctl(base + QStringList{QStringLiteral("--currency"), QStringLiteral("EUR")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QLatin1String("--code is required")));

        r = ledgerctl(base + QStringList{QStringLiteral("--code"), QStringLiteral("E-2"),
                                         QStringLiteral("--currency"), QStringLiteral("EUR"),
                                         QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        r = ledgerctl(base + QStringList{QStringLiteral("--code"), QStringLiteral("E-2"),
                                         QStringLiteral("--currency"), QStringLiteral("EUR"),
                                         QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.json().value(QStringLiteral("ok")).toBool(true), false);
        QCOMPARE(r.json().value(QStringLiteral("sqlstate")).toString(), QStringLiteral("LG004"));
    }

    void unreachableServer()
    {
        const Run r = ledgerctl(
            {QStringLiteral("account"), QStringLiteral("list"), QStringLiteral("--dsn"),
             QStringLiteral("host=/nonexistent/dir dbname=ledger user=x password=hunter2")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("Could not reach the database server")),
                 qPrintable(r.err));
        QVERIFY(!r.err.contains(QLatin1String("hunter2")));
    }

    void accessCommands()
    {
        const QString admin = m_db.adminDsn();
        // An operator with a secret from stdin; the secret never appears in the output.
        Run r = ledgerctl({QStringLiteral("access"), QStringLiteral("operator"),
                           QStringLiteral("add"), QStringLiteral("cli_op"),
                           QStringLiteral("--groups"), QStringLiteral("console_auditor"),
                           QStringLiteral("--secret-stdin"), QStringLiteral("--json")},
                          admin, "cli-op-secret-1234567\n");
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        QCOMPARE(r.json().value(QStringLiteral("broker_role")).toString(),
                 QStringLiteral("lc_op_cli_op"));
        QVERIFY(!r.out.contains(QLatin1String("cli-op-secret")));
        // Without --secret-stdin one is generated and shown once.
        r = ledgerctl({QStringLiteral("access"), QStringLiteral("operator"), QStringLiteral("add"),
                       QStringLiteral("cli_gen"), QStringLiteral("--groups"),
                       QStringLiteral("console_operator")},
                      admin);
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QLatin1String("shown once")));
        // A session for scripts.
        r = ledgerctl({QStringLiteral("access"), QStringLiteral("session"), QStringLiteral("issue"),
                       QStringLiteral("--operator"), QStringLiteral("cli_op"),
                       QStringLiteral("--secret-stdin"), QStringLiteral("--ttl"),
                       QStringLiteral("2m"), QStringLiteral("--json")},
                      admin, "cli-op-secret-1234567\n");
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QString sessionDsn = r.json().value(QStringLiteral("dsn")).toString();
        const QString role = r.json().value(QStringLiteral("role")).toString();
        QVERIFY(role.startsWith(QLatin1String("lc_s_cli_op_")));
        QVERIFY(!sessionDsn.contains(QLatin1String("ledger_admin")));
        QCOMPARE(
            ledgerctl({QStringLiteral("reversal"), QStringLiteral("reasons")}, sessionDsn).exitCode,
            0);
        // Wrong secret, bad ttl, secret on the command line refused.
        r = ledgerctl({QStringLiteral("access"), QStringLiteral("session"), QStringLiteral("issue"),
                       QStringLiteral("--operator"), QStringLiteral("cli_op"),
                       QStringLiteral("--secret-stdin")},
                      admin, "wrong-secret-xxxxxxxx\n");
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("refused the sign-in")), qPrintable(r.err));
        r = ledgerctl({QStringLiteral("access"), QStringLiteral("session"), QStringLiteral("issue"),
                       QStringLiteral("--operator"), QStringLiteral("cli_op"),
                       QStringLiteral("--secret-stdin"), QStringLiteral("--ttl"),
                       QStringLiteral("soon")},
                      admin, "x\n");
        QCOMPARE(r.exitCode, 2);
        r = ledgerctl({QStringLiteral("access"), QStringLiteral("session"), QStringLiteral("issue"),
                       QStringLiteral("--operator"), QStringLiteral("cli_op")},
                      admin);
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QLatin1String("never on the command line")));
        // Who holds what; revoke; reap.
        r = ledgerctl(
            {QStringLiteral("access"), QStringLiteral("sessions"), QStringLiteral("--json")},
            admin);
        QCOMPARE(r.json().value(QStringLiteral("sessions")).toArray().size(), 1);
        r = ledgerctl({QStringLiteral("access"), QStringLiteral("revoke"), QStringLiteral("cli_op"),
                       QStringLiteral("--json")},
                      admin);
        QCOMPARE(r.json().value(QStringLiteral("sessions_revoked")).toInt(), 1);
        r = ledgerctl({QStringLiteral("reversal"), QStringLiteral("reasons")}, sessionDsn);
        QCOMPARE(r.exitCode, 1);
        // A new login with a revoked session's password is refused at authentication
        // (PostgreSQL says no more than that); open connections get "revoked" (tst_access).
        QVERIFY2(r.err.contains(QLatin1String("refused the sign-in")), qPrintable(r.err));
        r = ledgerctl({QStringLiteral("access"), QStringLiteral("reap")}, admin);
        QCOMPARE(r.exitCode, 0);
        r = ledgerctl({QStringLiteral("access"), QStringLiteral("sessions"),
                       QStringLiteral("--all"), QStringLiteral("--json")},
                      admin);
        QCOMPARE(r.json()
                     .value(QStringLiteral("sessions"))
                     .toArray()
                     .first()
                     .toObject()
                     .value(QStringLiteral("state"))
                     .toString(),
                 QStringLiteral("reaped"));
        // Disable; list.
        QCOMPARE(ledgerctl({QStringLiteral("access"), QStringLiteral("operator"),
                            QStringLiteral("disable"), QStringLiteral("cli_gen")},
                           admin)
                     .exitCode,
                 0);
        r = ledgerctl(
            {QStringLiteral("access"), QStringLiteral("operator"), QStringLiteral("list")}, admin);
        QVERIFY2(r.out.contains(QLatin1String("cli_gen\tconsole_operator\tdisabled")),
                 qPrintable(r.out));
    }

    void seedIsIdempotent()
    {
        const QString dsn = m_db.createDatabase(QStringLiteral("cli_seed"));
        QCOMPARE(ledgerctl({QStringLiteral("migrate"), QStringLiteral("--dsn"), dsn}).exitCode, 0);
        Run r =
            ledgerctl({QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("40"),
                       QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        const int opened = r.json().value(QStringLiteral("accounts_opened")).toInt();
        QVERIFY2(opened > 40, qPrintable(describe(r))); // house accounts + 40 customers
        r = ledgerctl({QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("40"),
                       QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("accounts_opened")).toInt(), 0);
        QCOMPARE(r.json().value(QStringLiteral("accounts_total")).toInt(), opened);
    }

    // seed builds the charts' hourly balances; refresh folds in what was posted since, for
    // one account or every stale one; its errors are one clear line.
    void reportingRefresh()
    {
        const QString dsn = m_db.createDatabase(QStringLiteral("cli_reporting"));
        QCOMPARE(ledgerctl({QStringLiteral("migrate"), QStringLiteral("--dsn"), dsn}).exitCode, 0);
        Run r =
            ledgerctl({QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("5"),
                       QStringLiteral("--transactions"), QStringLiteral("8000"),
                       QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.json().value(QStringLiteral("reporting_accounts")).toInt() >= 1,
                 qPrintable(describe(r)));
        r = ledgerctl(
            {QStringLiteral("reporting"), QStringLiteral("refresh"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.trimmed(), QStringLiteral("The reporting store is up to date."));
        // Every account, however small: each one's buckets sum to its balance.
        r = ledgerctl({QStringLiteral("reporting"), QStringLiteral("refresh"),
                       QStringLiteral("--min-entries"), QStringLiteral("1"),
                       QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.json().value(QStringLiteral("accounts")).toInt() >= 5, qPrintable(describe(r)));
        test::SqlSession admin(dsn);
        QCOMPARE(admin.scalar(QStringLiteral(
                     "SELECT count(*) FROM ledger.account_heads h WHERE h.last_seq > 0 AND "
                     "h.balance <> coalesce((SELECT sum(k.net) FROM reporting.balance_buckets k "
                     "WHERE k.account_id = h.account_id), 0)")),
                 QStringLiteral("0"));
        // One account after a posting: one entry folded in.
        const QString code = admin.scalar(QStringLiteral(
            "SELECT code FROM ledger.accounts WHERE allow_negative AND currency = 'EUR' "
            "ORDER BY code LIMIT 1"));
        const QString other = admin.scalar(QStringLiteral(
            "SELECT code FROM ledger.accounts WHERE allow_negative AND currency = 'EUR' "
            "ORDER BY code DESC LIMIT 1"));
        QVERIFY(admin
                    .exec(QStringLiteral(
                              "SELECT ledger.post_transaction(jsonb_build_object("
                              "'idempotency_key', 'cli-reporting-1', 'effective_at', now(), "
                              "'legs', jsonb_build_array(jsonb_build_object('account', $1::text, "
                              "'amount', '1.00', 'currency', 'EUR'), jsonb_build_object("
                              "'account', $2::text, 'amount', '-1.00', 'currency', 'EUR'))))"),
                          {code, other})
                    .ok);
        r = ledgerctl({QStringLiteral("reporting"), QStringLiteral("refresh"),
                       QStringLiteral("--account"), code, QStringLiteral("--json"),
                       QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("entries")).toInt(), 1);
        r = ledgerctl({QStringLiteral("reporting"), QStringLiteral("refresh"),
                       QStringLiteral("--account"), QStringLiteral("NO-SUCH"),
                       QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err.count(QLatin1Char('\n')), 1);
        QVERIFY2(r.err.contains(QLatin1String("There is no account NO-SUCH")), qPrintable(r.err));
        r = ledgerctl({QStringLiteral("reporting"), QStringLiteral("refresh"),
                       QStringLiteral("--dsn"), m_db.dsnFor(QStringLiteral("console_auditor"))});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("permission"), Qt::CaseInsensitive) ||
                     r.err.contains(QLatin1String("not allowed"), Qt::CaseInsensitive),
                 qPrintable(r.err));
        r = ledgerctl({QStringLiteral("reporting"), QStringLiteral("refresh"),
                       QStringLiteral("--min-entries"), QStringLiteral("0"),
                       QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 2);
    }

    void demoClusterLifeCycle()
    {
        QTemporaryDir parent(QStringLiteral("/tmp/ledger-demo-XXXXXX"));
        QVERIFY(parent.isValid());
        QFile::setPermissions(parent.path(), QFile::ReadOwner | QFile::WriteOwner |
                                                 QFile::ExeOwner | QFile::ReadOther |
                                                 QFile::ExeOther | QFile::ReadGroup |
                                                 QFile::ExeGroup);
        const QString dir = parent.path() + QStringLiteral("/c");
        const QStringList dirArg{QStringLiteral("--dir"), dir};

        Run r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("status")} + dirArg);
        QCOMPARE(r.exitCode, 4);

        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("start")} + dirArg);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QString dsn = r.out.trimmed();
        QVERIFY2(dsn.startsWith(QStringLiteral("host=%1 ").arg(dir)), qPrintable(dsn));
        QVERIFY(!dsn.contains(QLatin1Char('\n')));

        // The printed DSN works and the database is migrated.
        r = ledgerctl({QStringLiteral("migrate"), QStringLiteral("--status"),
                       QStringLiteral("--json"), QStringLiteral("--dsn"), dsn});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("pending")).toArray().size(), 0);

        // Starting again is harmless.
        r = ledgerctl(
            QStringList{QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--json")} +
            dirArg);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("dsn")).toString(), dsn);

        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("status"),
                                  QStringLiteral("--json")} +
                      dirArg);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.json().value(QStringLiteral("state")).toString(), QStringLiteral("running"));

        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("stop")} + dirArg);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("status")} + dirArg);
        QCOMPARE(r.exitCode, 3);

        // Restart keeps the data.
        r = ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("start")} + dirArg);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(ledgerctl(QStringList{QStringLiteral("demo"), QStringLiteral("stop")} + dirArg)
                     .exitCode,
                 0);
        QDir(dir).removeRecursively();
    }

    void demoRefusesADirectoryThatIsNotACluster()
    {
        QTemporaryDir dir(QStringLiteral("/tmp/ledger-demo-XXXXXX"));
        QFile stray(dir.path() + QStringLiteral("/notes.txt"));
        QVERIFY(stray.open(QIODevice::WriteOnly));
        stray.write("keep me");
        stray.close();
        const Run r = ledgerctl(
            {QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--dir"), dir.path()});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("is not empty, but it is not a PostgreSQL cluster")),
                 qPrintable(r.err));
        QVERIFY(QFile::exists(stray.fileName())); // nothing of the user's touched
    }

    void demoReportsMissingServerBinaries()
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("PG_BINDIR"), QStringLiteral("/nonexistent/pg/bin"));
        p.setProcessEnvironment(env);
        QTemporaryDir dir(QStringLiteral("/tmp/ledger-demo-XXXXXX"));
        p.start(QStringLiteral(LEDGERCTL_PATH),
                {QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--dir"),
                 dir.path() + QStringLiteral("/c")});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(QLatin1String("PG_BINDIR=/nonexistent/pg/bin holds no initdb")),
                 qPrintable(err));
    }

    void demoShowsTheServerLogWhenItCannotStart()
    {
        QTemporaryDir parent(QStringLiteral("/tmp/ledger-demo-XXXXXX"));
        QFile::setPermissions(parent.path(), QFile::ReadOwner | QFile::WriteOwner |
                                                 QFile::ExeOwner | QFile::ReadOther |
                                                 QFile::ExeOther | QFile::ReadGroup |
                                                 QFile::ExeGroup);
        const QString dir = parent.path() + QStringLiteral("/c");
        Run r = ledgerctl(
            {QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--dir"), dir});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(ledgerctl(
                     {QStringLiteral("demo"), QStringLiteral("stop"), QStringLiteral("--dir"), dir})
                     .exitCode,
                 0);
        // Break the configuration: the server refuses to start and says why in its log.
        QFile conf(dir + QStringLiteral("/postgresql.conf"));
        QVERIFY(conf.open(QIODevice::Append));
        conf.write("\nshared_buffers = 'plenty'\n");
        conf.close();
        r = ledgerctl(
            {QStringLiteral("demo"), QStringLiteral("start"), QStringLiteral("--dir"), dir});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("did not start")), qPrintable(r.err));
        QVERIFY2(r.err.contains(QLatin1String("shared_buffers")), qPrintable(r.err));
        QDir(dir).removeRecursively();
    }
};

QTEST_GUILESS_MAIN(TestLedgerctl)
#include "tst_ledgerctl.moc"
