// Step 9 through ledgerctl, as operators and scripts use it, on the realistic files of
// tests/data/recon: an MT940 file with two statements refused until both bank accounts are
// mapped, then imported (storno lines balancing to the file's own closing balances), the
// same file again imports nothing, a file with one malformed line names it and imports
// nothing; a CSV file through a saved profile; `recon match --dry-run` writes nothing, the
// run matches by end-to-end id and bank reference and raises the rest as exceptions;
// `recon exceptions list|assign|accept|reopen|resolve` with the states they leave; status;
// an auditor reads but may not import.

#include "Ledgerctl.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QDir>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace ledger;
using test::SqlSession;

namespace {

using Run = test::LedgerctlRun;

QString dataFile(const QString &name)
{
    return QStringLiteral(LEDGER_RECON_DATA_DIR "/") + name;
}

} // namespace

class TestReconCli : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QString m_olivia, m_auditor;
    QTemporaryDir m_dir;
    int m_key = 0;

    Run recon(const QStringList &args, const QString &dsn = {})
    {
        return test::runLedgerctl(QStringList{QStringLiteral("recon")} + args,
                                  dsn.isEmpty() ? m_olivia : dsn, {});
    }

    // Money on the cash account: positive in (a debit), negative out.
    void post(const QString &cash, const QString &amount, const QString &day,
              const QString &externalRef)
    {
        const bool in = !amount.startsWith(QLatin1Char('-'));
        const QString abs = in ? amount : amount.mid(1);
        const auto r = m_admin->exec(
            QStringLiteral(
                "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', 'rcli-' || "
                "$1, 'effective_at', $2 || 'T10:00:00Z', 'description', 'Payment', "
                "'external_ref', $3::text, 'legs', jsonb_build_array(jsonb_build_object("
                "'account', $4::text, 'amount', $5::text, 'currency', 'EUR'), "
                "jsonb_build_object('account', 'CUST', 'amount', $6::text, 'currency', 'EUR'))))"),
            {QString::number(++m_key), day, externalRef, cash, in ? abs : QStringLiteral("-") + abs,
             in ? QStringLiteral("-") + abs : abs});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    QString count(const QString &sql) { return m_admin->scalar(sql); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH-A', 'Bank A', 'EUR', 'asset'), "
                        "ledger.open_account('CASH-B', 'Bank B', 'EUR', 'asset'), "
                        "ledger.open_account('CASH-GBP', 'Bank GBP', 'GBP', 'asset'), "
                        "ledger.open_account('CUST', 'Customers', 'EUR', 'liability'); "
                        "INSERT INTO access.operators (name, broker_role, groups) VALUES "
                        "('olivia', 'olivia_broker', '{console_operator}'), "
                        "('oscar', 'oscar_broker', '{console_operator}')"))
                    .ok);
        m_olivia = m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia"));
        m_auditor = m_db.dsnFor(QStringLiteral("console_auditor"), QStringLiteral("audrey"));
        // The ledger's side of the first MT940 statement: the credit by its end-to-end id,
        // the payment run by the bank's reference; the storno lines are not in the ledger.
        post(QStringLiteral("CASH-A"), QStringLiteral("250.00"), QStringLiteral("2023-04-03"),
             QStringLiteral("E2E-INV-1001"));
        post(QStringLiteral("CASH-A"), QStringLiteral("-300.00"), QStringLiteral("2023-04-03"),
             QStringLiteral("2023040300002"));
    }

    void importIsMappedAllOrNothingAndIdempotent()
    {
        const QString file = dataFile(QStringLiteral("mt940_gvc_crlf.sta"));
        Run r = recon({QStringLiteral("import"), QStringLiteral("--file"), file});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("37040044/0532013000")) &&
                     r.err.contains(QLatin1String("recon map")),
                 qPrintable(r.err));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.files")), QStringLiteral("0"));

        r = recon({QStringLiteral("map"), QStringLiteral("--bank-account"),
                   QStringLiteral("37040044/0532013000"), QStringLiteral("--account"),
                   QStringLiteral("CASH-A")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        // With --account the one bank account still unmapped is mapped on the way.
        r = recon({QStringLiteral("import"), QStringLiteral("--file"), file,
                   QStringLiteral("--account"), QStringLiteral("CASH-B"),
                   QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject o = r.json();
        QCOMPARE(o.value(QStringLiteral("statements")).toInt(), 2);
        QCOMPARE(o.value(QStringLiteral("lines")).toInt(), 6);
        QCOMPARE(o.value(QStringLiteral("mapped_now")).toArray().first().toString(),
                 QStringLiteral("DE89370400440532013000"));
        // Storno lines read right: both statements balance against their own closing.
        QCOMPARE(o.value(QStringLiteral("exceptions_raised"))
                     .toObject()
                     .value(QStringLiteral("statement_unbalanced"))
                     .toInt(),
                 0);
        r = recon(
            {QStringLiteral("import"), QStringLiteral("--file"), file, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(r.json().value(QStringLiteral("already_imported")).toBool());
        QCOMPARE(r.json().value(QStringLiteral("first_imported_by")).toString(),
                 QStringLiteral("olivia"));

        // One malformed line: named, and nothing of the file imported.
        QFile in(file);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QByteArray bytes = in.readAll();
        bytes.replace("CR70,00", "CR7x,00");
        const QString broken = m_dir.filePath(QStringLiteral("broken.sta"));
        QFile out(broken);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(bytes);
        out.close();
        const QString lines = count(QStringLiteral("SELECT count(*) FROM recon.lines"));
        r = recon({QStringLiteral("import"), QStringLiteral("--file"), broken});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("line 27")) &&
                     r.err.contains(QLatin1String("Nothing was imported")),
                 qPrintable(r.err));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.lines")), lines);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.files")), QStringLiteral("1"));

        // An auditor reads; importing is an operator's.
        r = recon({QStringLiteral("import"), QStringLiteral("--file"),
                   dataFile(QStringLiteral("mt942.sta"))},
                  m_auditor);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("Not allowed")), qPrintable(r.err));
    }

    void csvThroughASavedProfile()
    {
        const QString profile = m_dir.filePath(QStringLiteral("profile.json"));
        QFile f(profile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"delimiter": ",", "amountColumn": "amount", "currencyColumn": "currency",
                    "bookingDateColumn": "date", "referenceColumn": "reference",
                    "counterpartyNameColumn": "counterparty", "remittanceColumn": "description",
                    "accountColumn": "account"})");
        f.close();
        Run r = recon({QStringLiteral("profile"), QStringLiteral("save"), QStringLiteral("--name"),
                       QStringLiteral("processor"), QStringLiteral("--file"), profile});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        r = recon({QStringLiteral("map"), QStringLiteral("--bank-account"),
                   QStringLiteral("GB33 BUKB 2020 1555 5555 55"), QStringLiteral("--account"),
                   QStringLiteral("CASH-GBP")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        r = recon({QStringLiteral("import"), QStringLiteral("--file"),
                   dataFile(QStringLiteral("csv_signed.csv")), QStringLiteral("--format"),
                   QStringLiteral("csv"), QStringLiteral("--profile"), QStringLiteral("processor"),
                   QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("statements")).toInt(), 2);
        QCOMPARE(r.json().value(QStringLiteral("lines")).toInt(), 3);
        QCOMPARE(count(QStringLiteral("SELECT string_agg(amount_minor::text, ',' ORDER BY id) FROM "
                                      "recon.lines WHERE bank_reference LIKE 'TX-%'")),
                 QStringLiteral("25000,-99,-125050"));
        r = recon({QStringLiteral("import"), QStringLiteral("--file"),
                   dataFile(QStringLiteral("csv_signed.csv")), QStringLiteral("--format"),
                   QStringLiteral("csv")});
        QCOMPARE(r.exitCode, 2); // a CSV file needs a profile
    }

    void matchAndWorkTheExceptions()
    {
        Run r =
            recon({QStringLiteral("match"), QStringLiteral("--account"), QStringLiteral("CASH-A"),
                   QStringLiteral("--dry-run"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject dry = r.json().value(QStringLiteral("runs")).toArray().first().toObject();
        QCOMPARE(dry.value(QStringLiteral("exact")).toInt(), 2);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.match_groups")),
                 QStringLiteral("0"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.exceptions WHERE type <> "
                                      "'duplicate_line'")),
                 QStringLiteral("0"));

        r = recon({QStringLiteral("match"), QStringLiteral("--account"), QStringLiteral("CASH-A"),
                   QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject run = r.json().value(QStringLiteral("runs")).toArray().first().toObject();
        QCOMPARE(run.value(QStringLiteral("exact")).toInt(), 2);
        QCOMPARE(run.value(QStringLiteral("auto_confirmed")).toInt(), 2);
        QCOMPARE(run.value(QStringLiteral("exceptions_raised"))
                     .toObject()
                     .value(QStringLiteral("missing_in_ledger"))
                     .toInt(),
                 2); // the two storno lines

        r = recon({QStringLiteral("exceptions"), QStringLiteral("list"),
                   QStringLiteral("--account"), QStringLiteral("CASH-A"), QStringLiteral("--sort"),
                   QStringLiteral("amount"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonArray rows = r.json().value(QStringLiteral("exceptions")).toArray();
        QCOMPARE(rows.size(), 2);
        QCOMPARE(r.json().value(QStringLiteral("total")).toInt(), 2);
        const QJsonObject fee = rows.at(0).toObject(); // 12.00 (storno of a fee), then -40.00
        QCOMPARE(fee.value(QStringLiteral("amount")).toString(), QStringLiteral("12.00"));
        const QString feeId = QString::number(fee.value(QStringLiteral("id")).toInteger());
        const QString creditId =
            QString::number(rows.at(1).toObject().value(QStringLiteral("id")).toInteger());

        r = recon({QStringLiteral("exceptions"), QStringLiteral("assign"), feeId,
                   QStringLiteral("--to"), QStringLiteral("oscar")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        // A stale --expected-event is refused and says who acted.
        r = recon({QStringLiteral("exceptions"), QStringLiteral("accept"), feeId,
                   QStringLiteral("--reason"), QStringLiteral("BANK_FEE"),
                   QStringLiteral("--expected-event"), QStringLiteral("0")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("changed meanwhile")), qPrintable(r.err));
        r = recon({QStringLiteral("exceptions"), QStringLiteral("accept"), feeId,
                   QStringLiteral("--reason"), QStringLiteral("BANK_FEE"), QStringLiteral("--note"),
                   QStringLiteral("refund of March's fee")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        r = recon({QStringLiteral("exceptions"), QStringLiteral("reopen"), feeId});
        QCOMPARE(r.exitCode, 1); // a note is required
        r = recon({QStringLiteral("exceptions"), QStringLiteral("reopen"), feeId,
                   QStringLiteral("--note"), QStringLiteral("the fee was booked after all")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));

        // The storno of the credit is posted late, then matched by hand.
        post(QStringLiteral("CASH-A"), QStringLiteral("-40.00"), QStringLiteral("2023-04-03"),
             QStringLiteral("STORNO-1"));
        const QString line = m_admin->scalar(
            QStringLiteral("SELECT line_id FROM recon.exceptions WHERE id = $1"), {creditId});
        const QString entry = count(
            QStringLiteral("SELECT e.id FROM ledger.entries e JOIN ledger.transactions t ON t.id = "
                           "e.transaction_id JOIN ledger.accounts a ON a.id = e.account_id WHERE "
                           "t.external_ref = 'STORNO-1' AND a.code = 'CASH-A'"));
        r = recon({QStringLiteral("exceptions"), QStringLiteral("resolve"), creditId,
                   QStringLiteral("--lines"), line, QStringLiteral("--entries"), entry,
                   QStringLiteral("--note"), QStringLiteral("storno booked late")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));

        r = recon({QStringLiteral("exceptions"), QStringLiteral("list"), QStringLiteral("--state"),
                   QStringLiteral("resolved"), QStringLiteral("--json")});
        QCOMPARE(r.json().value(QStringLiteral("total")).toInt(), 1);
        r = recon({QStringLiteral("exceptions"), QStringLiteral("list"),
                   QStringLiteral("--assignee"), QStringLiteral("oscar"), QStringLiteral("--json")},
                  m_auditor);
        QCOMPARE(r.json().value(QStringLiteral("total")).toInt(), 0); // reopened: unassigned

        r = recon({QStringLiteral("status"), QStringLiteral("--account"), QStringLiteral("CASH-A"),
                   QStringLiteral("--json")},
                  m_auditor);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject status =
            r.json().value(QStringLiteral("accounts")).toArray().first().toObject();
        QCOMPARE(status.value(QStringLiteral("matched_lines")).toInt(), 3);
        QCOMPARE(status.value(QStringLiteral("lines")).toInt(), 4);
        const QJsonObject last = status.value(QStringLiteral("last_statement")).toObject();
        QCOMPARE(last.value(QStringLiteral("closing")).toString(), QStringLiteral("922.00"));
        QCOMPARE(last.value(QStringLiteral("ledger")).toString(), QStringLiteral("-90.00"));
        QVERIFY(!last.value(QStringLiteral("agrees")).toBool());
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action LIKE "
                                      "'recon.%'"))
                         .toInt() >= 9,
                 true);
    }

    // The demo's bank statements: every planted discrepancy found, with its type.
    void demoStatementsAreFoundAsPlanted()
    {
        // A database of its own, as the demo has: migrated and seeded, nothing else in it.
        const QString dsn = m_db.createDatabase(QStringLiteral("demo"));
        const Run migrated = test::runLedgerctl({QStringLiteral("migrate")}, dsn, {});
        QVERIFY2(migrated.exitCode == 0, qPrintable(migrated.describe()));
        const Run seeded = test::runLedgerctl(
            {QStringLiteral("seed"), QStringLiteral("--accounts"), QStringLiteral("30"),
             QStringLiteral("--transactions"), QStringLiteral("12000"), QStringLiteral("--years"),
             QStringLiteral("1")},
            dsn, {});
        QVERIFY2(seeded.exitCode == 0, qPrintable(seeded.describe()));
        const QString folder = m_dir.filePath(QStringLiteral("demo"));
        const Run r =
            test::runLedgerctl({QStringLiteral("recon"), QStringLiteral("demo"),
                                QStringLiteral("--out-dir"), folder, QStringLiteral("--json")},
                               dsn, {});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonArray banks = r.json().value(QStringLiteral("banks")).toArray();
        QCOMPARE(banks.size(), 2);
        QStringList kinds;
        for (const auto &b : banks) {
            const QJsonObject bank = b.toObject();
            QVERIFY(QFile::exists(bank.value(QStringLiteral("file")).toString()));
            QCOMPARE(bank.value(QStringLiteral("found")).toObject(),
                     bank.value(QStringLiteral("planted")).toObject());
            kinds += bank.value(QStringLiteral("planted")).toObject().keys();
        }
        for (const char *kind : {"missing_in_ledger", "missing_in_statement", "amount_mismatch",
                                 "date_out_of_tolerance", "duplicate_line", "statement_unbalanced",
                                 "one_to_many", "many_to_one"})
            QVERIFY2(kinds.contains(QLatin1String(kind)), kind);
        // Again with --if-empty: nothing more.
        const Run again =
            test::runLedgerctl({QStringLiteral("recon"), QStringLiteral("demo"),
                                QStringLiteral("--out-dir"), folder, QStringLiteral("--if-empty")},
                               dsn, {});
        QCOMPARE(again.exitCode, 0);
        QCOMPARE(SqlSession(dsn).scalar(QStringLiteral("SELECT count(*) FROM recon.files")),
                 QStringLiteral("2"));
    }

    // The ledger's own camt.053 export (Step 8) read back by the importer: its RvslInd keeps
    // the reversal's own direction (ISO's usage), so with the default rule (RvslInd flips the
    // sign, as German banks send it) the reversal line comes out the wrong way and is an
    // amount mismatch; with `recon rules --reversal-flips-sign false` every line equals its
    // ledger entry and the run matches them all.
    void ourOwnCamtExportReadsBack()
    {
        const QString sam =
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam"));
        const QString carla =
            m_db.dsnFor(QStringLiteral("console_compliance"), QStringLiteral("carla"));
        QHash<QString, QString> files;
        for (const QString &account : {QStringLiteral("CASH-R1"), QStringLiteral("CASH-R2")}) {
            QVERIFY(m_admin
                        ->exec(QStringLiteral("SELECT ledger.open_account($1, 'Round trip', "
                                              "'EUR', 'asset')"),
                               {account})
                        .ok);
            post(account, QStringLiteral("120.00"), QStringLiteral("2023-05-02"),
                 account + QStringLiteral("-A"));
            post(account, QStringLiteral("-35.50"), QStringLiteral("2023-05-03"),
                 account + QStringLiteral("-B"));
            const QString original = m_admin->scalar(
                QStringLiteral("SELECT id FROM ledger.transactions WHERE external_ref = $1"),
                {account + QStringLiteral("-A")});
            Run r = test::runLedgerctl({QStringLiteral("reversal"), QStringLiteral("request"),
                                        QStringLiteral("--transaction"), original,
                                        QStringLiteral("--reason"), QStringLiteral("DUPLICATE"),
                                        QStringLiteral("--note"), QStringLiteral("booked twice"),
                                        QStringLiteral("--json")},
                                       m_olivia, {});
            QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
            r = test::runLedgerctl(
                {QStringLiteral("reversal"), QStringLiteral("approve"), QStringLiteral("--request"),
                 QString::number(r.json().value(QStringLiteral("request_id")).toInteger())},
                sam, {});
            QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
            const QString file = m_dir.filePath(account + QStringLiteral(".xml"));
            r = test::runLedgerctl({QStringLiteral("statement"), QStringLiteral("export"),
                                    QStringLiteral("--account"), account, QStringLiteral("--from"),
                                    QStringLiteral("2023-05-01"), QStringLiteral("--to"),
                                    QStringLiteral("2023-05-31"), QStringLiteral("--format"),
                                    QStringLiteral("camt053"), QStringLiteral("--out"), file},
                                   carla, {});
            QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
            QVERIFY(recon({QStringLiteral("map"), QStringLiteral("--bank-account"), account,
                           QStringLiteral("--account"), account})
                        .exitCode == 0);
            files.insert(account, file);
        }
        Run r = test::runLedgerctl(
            {QStringLiteral("recon"), QStringLiteral("rules"), QStringLiteral("--bank-account"),
             QStringLiteral("CASH-R2"), QStringLiteral("--currency"), QStringLiteral("EUR"),
             QStringLiteral("--reversal-flips-sign"), QStringLiteral("false")},
            sam, {});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(
            recon({QStringLiteral("rules"), QStringLiteral("--bank-account"),
                   QStringLiteral("CASH-R2"), QStringLiteral("--currency"), QStringLiteral("EUR"),
                   QStringLiteral("--date-window"), QStringLiteral("4")})
                .exitCode,
            1); // rules are a supervisor's
        for (const QString &account : files.keys()) {
            r = recon({QStringLiteral("import"), QStringLiteral("--file"), files.value(account),
                       QStringLiteral("--json")});
            QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
            QCOMPARE(r.json().value(QStringLiteral("lines")).toInt(), 3);
        }
        // Each imported line against its ledger entry (the bank reference is the transaction).
        const auto agreeing = [&](const QString &account) {
            return m_admin->scalar(
                QStringLiteral("SELECT count(*) FILTER (WHERE l.amount_minor = e.amount) || '/' || "
                               "count(*) FROM recon.lines l JOIN recon.bank_accounts b ON b.id = "
                               "l.bank_account_id JOIN ledger.entries e ON e.transaction_id = "
                               "l.bank_reference::bigint AND e.account_id = b.account_id WHERE "
                               "b.identifier = $1"),
                {account});
        };
        QCOMPARE(agreeing(QStringLiteral("CASH-R1")),
                 QStringLiteral("2/3")); // the reversal flipped
        QCOMPARE(agreeing(QStringLiteral("CASH-R2")), QStringLiteral("3/3"));
        r = recon({QStringLiteral("match"), QStringLiteral("--account"), QStringLiteral("CASH-R2"),
                   QStringLiteral("--json")});
        const QJsonObject run = r.json().value(QStringLiteral("runs")).toArray().first().toObject();
        QCOMPARE(run.value(QStringLiteral("exact")).toInt(), 3);
        QVERIFY(run.value(QStringLiteral("exceptions_raised")).toObject().isEmpty());
        // Its closing balance is the ledger's: the account agrees, as of the statement's end.
        r = recon({QStringLiteral("status"), QStringLiteral("--account"), QStringLiteral("CASH-R2"),
                   QStringLiteral("--json")});
        const QJsonObject agreed =
            r.json().value(QStringLiteral("accounts")).toArray().first().toObject();
        QVERIFY2(agreed.value(QStringLiteral("last_statement"))
                     .toObject()
                     .value(QStringLiteral("agrees"))
                     .toBool(),
                 qPrintable(r.out));
        QCOMPARE(agreed.value(QStringLiteral("last_agreement")).toString(),
                 agreed.value(QStringLiteral("last_statement"))
                     .toObject()
                     .value(QStringLiteral("closing_date"))
                     .toString());
        r = recon({QStringLiteral("match"), QStringLiteral("--account"), QStringLiteral("CASH-R1"),
                   QStringLiteral("--json")});
        QCOMPARE(r.json()
                     .value(QStringLiteral("runs"))
                     .toArray()
                     .first()
                     .toObject()
                     .value(QStringLiteral("exceptions_raised"))
                     .toObject()
                     .value(QStringLiteral("amount_mismatch"))
                     .toInt(),
                 1);
    }

    // Due-date tiers: a supervisor replaces them; an operator may not; bad tiers are refused.
    void dueDateTiersAreASupervisorsSetting()
    {
        const QString sam =
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam"));
        Run r = test::runLedgerctl({QStringLiteral("recon"), QStringLiteral("sla"),
                                    QStringLiteral("--tier"), QStringLiteral("0=7"),
                                    QStringLiteral("--tier"), QStringLiteral("2500.50=1"),
                                    QStringLiteral("--json")},
                                   sam, {});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonArray tiers = r.json().value(QStringLiteral("tiers")).toArray();
        QCOMPARE(tiers.size(), 2);
        QCOMPARE(tiers.at(1).toObject().value(QStringLiteral("min_amount")).toString(),
                 QStringLiteral("2500.50"));
        QCOMPARE(tiers.at(1).toObject().value(QStringLiteral("days")).toInt(), 1);
        QCOMPARE(recon({QStringLiteral("sla"), QStringLiteral("--tier"), QStringLiteral("0=3")})
                     .exitCode,
                 1); // an operator
        r = test::runLedgerctl({QStringLiteral("recon"), QStringLiteral("sla"),
                                QStringLiteral("--tier"), QStringLiteral("100=3")},
                               sam, {});
        QCOMPARE(r.exitCode, 1); // no tier from 0
        QVERIFY2(r.err.contains(QLatin1String("one of them from 0")), qPrintable(r.err));
        r = test::runLedgerctl({QStringLiteral("recon"), QStringLiteral("sla"),
                                QStringLiteral("--tier"), QStringLiteral("1e3=3")},
                               sam, {});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(recon({QStringLiteral("sla")}).out.count(QLatin1Char('\n')), 2); // unchanged
        // A new exception takes the tiers: 7 days under 2,500.50, 1 day from it.
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT recon.due_at(250050, 2, timestamptz "
                                                "'2026-01-01') || ' ' || recon.due_at(250049, 2, "
                                                "timestamptz '2026-01-01')")),
                 m_admin->scalar(QStringLiteral("SELECT (timestamptz '2026-01-02') || ' ' || "
                                                "(timestamptz '2026-01-08')")));
    }
};

QTEST_GUILESS_MAIN(TestReconCli)
#include "tst_reconcli.moc"
