// ledgerctl check against a real ledger: a seeded history (backdated, future-dated and
// reversed transactions, balance buckets), an approved reversal and a stream's dead letter
// all pass; then each invariant is broken on purpose, as the owner, in a scratch copy of
// that ledger (CREATE DATABASE ... TEMPLATE), and the check exits 1 naming it and the row.
// Every run is recorded; source positions cannot be moved back; operators cannot run it.

#include "Ledgerctl.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>
#include <QTest>

#include <memory>

using namespace ledger;
using namespace ledger::test;

namespace {

QString describe(const LedgerctlRun &r)
{
    return r.describe();
}

QStringList failedOf(const LedgerctlRun &r)
{
    QStringList out;
    for (const QJsonValue &v : r.json().value(QStringLiteral("failed")).toArray())
        out << v.toString();
    return out;
}

QString firstFailureOf(const LedgerctlRun &r, const QString &invariant)
{
    for (const QJsonValue &v : r.json().value(QStringLiteral("invariants")).toArray()) {
        const QJsonObject o = v.toObject();
        if (o.value(QStringLiteral("invariant")).toString() == invariant)
            return o.value(QStringLiteral("first_failure")).toString();
    }
    return {};
}

const QStringList kInvariants{QStringLiteral("transactions_balanced"),
                              QStringLiteral("trial_balance_zero"),
                              QStringLiteral("no_orphans"),
                              QStringLiteral("entry_currency"),
                              QStringLiteral("running_balances"),
                              QStringLiteral("heads"),
                              QStringLiteral("no_forbidden_negative"),
                              QStringLiteral("reversal_links"),
                              QStringLiteral("ledger_digests"),
                              QStringLiteral("audit_chain"),
                              QStringLiteral("audit_sealed"),
                              QStringLiteral("pit_spans"),
                              QStringLiteral("reporting_buckets"),
                              QStringLiteral("source_positions")};

} // namespace

class TestLedgerCheck : public QObject
{
    Q_OBJECT

    TestCluster m_db;
    QString m_auditor;
    int m_scratch = 0;

    LedgerctlRun check(const QString &dsn, const QStringList &extra = {})
    {
        return runLedgerctl(QStringList{QStringLiteral("check"), QStringLiteral("--json")} + extra,
                            dsn);
    }

    // The auditor's DSN for another database of the cluster.
    QString auditorIn(const QString &database) const
    {
        QString dsn = m_auditor;
        dsn.replace(QRegularExpression(QStringLiteral("dbname=\\S+")),
                    QStringLiteral("dbname=") + database);
        return dsn;
    }

    // A copy of the ledger as it stands, `sql` run in it as the superuser (who may lift
    // the append-only triggers), and the check run there by an auditor.
    LedgerctlRun checkBroken(const QString &sql)
    {
        const QString name = QStringLiteral("scratch_%1").arg(++m_scratch);
        {
            SqlSession postgres(m_db.adminDsn(QStringLiteral("postgres")));
            const SqlOutcome made =
                postgres.run(QStringLiteral("CREATE DATABASE %1 TEMPLATE ledger").arg(name));
            if (!made.ok)
                qFatal("CREATE DATABASE %s: %s", qPrintable(name), qPrintable(made.message));
        }
        {
            SqlSession scratch(m_db.adminDsn(name));
            const SqlOutcome broken = scratch.exec(sql);
            if (!broken.ok)
                qFatal("breaking %s: %s", qPrintable(name), qPrintable(broken.message));
        }
        return check(auditorIn(name));
    }

private slots:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        const QString admin = m_db.adminDsn();
        // Console roles reach the ledger database only (LocalCluster's pg_hba.conf): the
        // scratch copies are let in too, with a password, ahead of the rule that rejects them.
        {
            QFile hba(m_db.dataDir() + QStringLiteral("/pg_hba.conf"));
            QVERIFY(hba.open(QIODevice::ReadOnly));
            QStringList lines = QString::fromUtf8(hba.readAll()).split(QLatin1Char('\n'));
            hba.close();
            QStringList names;
            for (int i = 1; i <= 40; ++i)
                names << QStringLiteral("scratch_%1").arg(i);
            lines.insert(
                2, QStringLiteral("local %1 all scram-sha-256").arg(names.join(QLatin1Char(','))));
            QVERIFY(hba.open(QIODevice::WriteOnly | QIODevice::Truncate));
            hba.write(lines.join(QLatin1Char('\n')).toUtf8());
            hba.close();
            SqlSession reload(admin);
            QCOMPARE(reload.scalar(QStringLiteral("SELECT pg_reload_conf()")), QStringLiteral("t"));
        }
        // A seeded history: backdated, future-dated and reversed transactions, and the
        // balance buckets brought up to date.
        LedgerctlRun r =
            runLedgerctl({QStringLiteral("seed"), QStringLiteral("--accounts"),
                          QStringLiteral("20"), QStringLiteral("--transactions"),
                          QStringLiteral("3000"), QStringLiteral("--years"), QStringLiteral("1")},
                         admin);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));

        r = runLedgerctl({QStringLiteral("reporting"), QStringLiteral("refresh"),
                          QStringLiteral("--min-entries"), QStringLiteral("1")},
                         admin);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));

        // An account that may go below zero, and does.
        SqlSession db(admin);
        const SqlOutcome negative = db.exec(QStringLiteral(
            "SELECT ledger.open_account('NEG-1', 'Overdrawn', 'EUR', 'asset'); "
            "SELECT ledger.open_account('NEG-2', 'Its counterpart', 'EUR', 'asset'); "
            "SELECT ledger.post_transaction('{\"idempotency_key\": \"neg-1\", "
            "\"effective_at\": \"2026-11-02T10:00:00Z\", \"description\": \"overdraw\", "
            "\"legs\": [{\"account\": \"NEG-1\", \"amount\": \"-3.00\", \"currency\": \"EUR\"}, "
            "{\"account\": \"NEG-2\", \"amount\": \"3.00\", \"currency\": \"EUR\"}]}')"));
        QVERIFY2(negative.ok, qPrintable(negative.message));
        // An account that may not go below zero, with two legs in one transaction that pass
        // below zero between them: the posting functions judge the transaction's end, and so
        // does the check (no false alarm).
        const SqlOutcome twoLegs = db.exec(QStringLiteral(
            "SELECT ledger.open_account('NN-1', 'Never negative', 'EUR', 'asset', false); "
            "SELECT ledger.post_transaction('{\"idempotency_key\": \"nn-1\", "
            "\"effective_at\": \"2026-11-02T11:00:00Z\", \"description\": \"fund\", "
            "\"legs\": [{\"account\": \"NN-1\", \"amount\": \"1.00\", \"currency\": \"EUR\"}, "
            "{\"account\": \"NEG-2\", \"amount\": \"-1.00\", \"currency\": \"EUR\"}]}'); "
            "SELECT ledger.post_transaction('{\"idempotency_key\": \"nn-2\", "
            "\"effective_at\": \"2026-11-02T12:00:00Z\", \"description\": \"two legs\", "
            "\"legs\": [{\"account\": \"NN-1\", \"amount\": \"-1.50\", \"currency\": \"EUR\"}, "
            "{\"account\": \"NN-1\", \"amount\": \"1.00\", \"currency\": \"EUR\"}, "
            "{\"account\": \"NEG-2\", \"amount\": \"0.50\", \"currency\": \"EUR\"}]}')"));
        QVERIFY2(twoLegs.ok, qPrintable(twoLegs.message));
        QCOMPARE(db.scalar(QStringLiteral("SELECT min(e.balance_after) < 0 FROM ledger.entries e "
                                          "JOIN ledger.accounts a ON a.id = e.account_id WHERE "
                                          "a.code = 'NN-1'")),
                 QStringLiteral("t"));

        // A reversal requested by an operator and approved by a supervisor.
        const QString tx = db.scalar(QStringLiteral(
            "SELECT t.id FROM ledger.transactions t WHERE t.kind <> 'reversal' AND NOT EXISTS "
            "(SELECT 1 FROM ledger.transactions r WHERE r.reverses = t.id) AND NOT EXISTS "
            "(SELECT 1 FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "
            " WHERE e.transaction_id = t.id AND NOT a.allow_negative) ORDER BY t.id DESC LIMIT 1"));
        QVERIFY(!tx.isEmpty());
        r = runLedgerctl({QStringLiteral("reversal"), QStringLiteral("request"),
                          QStringLiteral("--transaction"), tx, QStringLiteral("--reason"),
                          QStringLiteral("wrong_amount"), QStringLiteral("--note"),
                          QStringLiteral("keyed wrongly")},
                         m_db.dsnFor(QStringLiteral("console_operator")));
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QString request = r.out.trimmed();
        r = runLedgerctl({QStringLiteral("reversal"), QStringLiteral("approve"),
                          QStringLiteral("--request"), request},
                         m_db.dsnFor(QStringLiteral("console_supervisor")));
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));

        // A stream's position and a dead letter below it.
        const QString writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
        SqlSession w(writer);
        const SqlOutcome batch = w.exec(QStringLiteral(
            "SELECT * FROM ledger.ingest_source_batch('payments', 'money-events', 0, "
            "'[{\"offset\": 0, \"raw\": \"{not json\", \"error\": \"not JSON\"}]'::jsonb)"));
        QVERIFY2(batch.ok, qPrintable(batch.message));

        m_auditor = m_db.dsnFor(QStringLiteral("console_auditor"));
    }

    // Everything holds: exit 0, every invariant listed once, in order, with what it checked.
    void aSoundLedgerPasses()
    {
        const LedgerctlRun r = check(m_auditor);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        QCOMPARE(r.json().value(QStringLiteral("ok")).toBool(), true);
        QStringList names;
        for (const QJsonValue &v : r.json().value(QStringLiteral("invariants")).toArray()) {
            const QJsonObject o = v.toObject();
            names << o.value(QStringLiteral("invariant")).toString();
            QVERIFY2(o.value(QStringLiteral("ok")).toBool(), qPrintable(describe(r)));
        }
        QCOMPARE(names, kInvariants);
        // The seeded history was looked at, not an empty ledger.
        for (const QJsonValue &v : r.json().value(QStringLiteral("invariants")).toArray()) {
            const QJsonObject o = v.toObject();
            const QString name = o.value(QStringLiteral("invariant")).toString();
            if (name == QLatin1String("transactions_balanced"))
                QVERIFY(o.value(QStringLiteral("checked")).toInteger() >= 3000);
            if (name == QLatin1String("reversal_links") || name == QLatin1String("pit_spans") ||
                name == QLatin1String("reporting_buckets") ||
                name == QLatin1String("source_positions"))
                QVERIFY2(o.value(QStringLiteral("checked")).toInteger() > 0, qPrintable(name));
        }

        // Text: one line per invariant and a verdict.
        const LedgerctlRun text = runLedgerctl({QStringLiteral("check")}, m_auditor);
        QVERIFY2(text.exitCode == 0, qPrintable(describe(text)));
        QCOMPARE(text.outLines().size(), kInvariants.size() + 1);
        QVERIFY(text.outLines().first().startsWith(QLatin1String("ok    transactions_balanced")));
        QCOMPARE(text.outLines().last(),
                 QStringLiteral("All %1 invariants hold.").arg(kInvariants.size()));
    }

    void eachBrokenInvariantIsNamed_data()
    {
        QTest::addColumn<QString>("sql");
        QTest::addColumn<QString>("invariant");
        QTest::addColumn<QString>("detail"); // a regular expression over the first failure

        QTest::newRow("an entry's amount changed")
            << "ALTER TABLE ledger.entries DISABLE TRIGGER ALL; "
               "UPDATE ledger.entries SET amount = amount + 1 WHERE id = (SELECT min(id) FROM "
               "ledger.entries)"
            << "transactions_balanced"
            << "^transaction \\d+: its [A-Z]{3} entries sum to 0\\.01, not zero$";
        QTest::newRow("an entry without its transaction")
            << "ALTER TABLE ledger.entries DISABLE TRIGGER ALL; "
               "INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, "
               "effective_at, recorded_at, account_seq, balance_after) "
               "SELECT 999999999, e.account_id, 500, e.currency, e.effective_at, e.recorded_at, "
               "e.account_seq + 100000, 0 FROM ledger.entries e ORDER BY e.id LIMIT 1"
            << "no_orphans"
            << "^entry \\d+ names transaction 999999999, which is not in the ledger$";
        QTest::newRow("the books do not sum to zero")
            << "ALTER TABLE ledger.entries DISABLE TRIGGER ALL; "
               "INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, "
               "effective_at, recorded_at, account_seq, balance_after) "
               "SELECT 999999999, e.account_id, 500, e.currency, e.effective_at, e.recorded_at, "
               "e.account_seq + 100000, 0 FROM ledger.entries e ORDER BY e.id LIMIT 1"
            << "trial_balance_zero"
            << "^the [A-Z]{3} entries sum to 5\\.00, not zero$";
        QTest::newRow("a transaction without entries")
            << "ALTER TABLE ledger.transactions DISABLE TRIGGER ALL; "
               "INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, "
               "effective_at, recorded_at, description, created_by, created_role) "
               "VALUES ('forged', sha256('x'), 'posting', now(), now(), 'forged', 'x', 'x')"
            << "no_orphans"
            << "^transaction \\d+ has no entries$";
        QTest::newRow("an account's currency changed")
            << "ALTER TABLE ledger.accounts DISABLE TRIGGER ALL; "
               "UPDATE ledger.accounts SET currency = 'USD' WHERE id = (SELECT min(account_id) "
               "FROM ledger.entries)"
            << "entry_currency"
            << "^entry \\d+ \\(transaction \\d+\\) is in [A-Z]{3}; its account \\S+ holds USD$";
        QTest::newRow("a running balance changed")
            << "ALTER TABLE ledger.entries DISABLE TRIGGER ALL; "
               "UPDATE ledger.entries SET balance_after = balance_after + 7 WHERE id = (SELECT "
               "min(id) FROM ledger.entries WHERE account_seq = 1)"
            << "running_balances"
            << "^account \\S+: the running balance of its entry 1 is not the sum of the amounts up "
               "to it$";
        QTest::newRow("an entry out of sequence")
            << "ALTER TABLE ledger.entries DISABLE TRIGGER ALL; "
               "UPDATE ledger.entries SET account_seq = account_seq + 1000000 WHERE id = (SELECT "
               "min(id) FROM ledger.entries WHERE account_seq = 2)"
            << "running_balances"
            << "^account \\S+: its entry sequence numbers are not 1\\.\\.\\d+ \\(entry \\d+ is out "
               "of place\\)$";
        QTest::newRow("a head changed")
            << "ALTER TABLE ledger.account_heads DISABLE TRIGGER ALL; "
               "UPDATE ledger.account_heads SET balance = balance + 100 WHERE account_id = (SELECT "
               "min(account_id) FROM ledger.entries)"
            << "heads"
            << "^account \\S+: its head says -?[0-9.]+ [A-Z]{3}; its entries add up to -?[0-9.]+ "
               "[A-Z]{3}$";
        QTest::newRow("a negative balance where none is allowed")
            << "ALTER TABLE ledger.accounts DISABLE TRIGGER ALL; "
               "UPDATE ledger.accounts SET allow_negative = false WHERE code = 'NEG-1'"
            << "no_forbidden_negative"
            << "^account NEG-1 forbids a negative balance, but after transaction \\d+ it stood at "
               "-3\\.00 EUR on its debit side$";
        QTest::newRow("a reversal pointed at another transaction")
            << "ALTER TABLE ledger.transactions DISABLE TRIGGER ALL; "
               "UPDATE ledger.transactions SET reverses = (SELECT min(t.id) FROM "
               "ledger.transactions t WHERE t.kind <> 'reversal' AND NOT EXISTS (SELECT 1 FROM "
               "ledger.transactions r WHERE r.reverses = t.id)) WHERE id = (SELECT max(id) FROM "
               "ledger.transactions WHERE kind = 'reversal')"
            << "reversal_links"
            << "^reversal \\d+ does not mirror transaction \\d+|^reversal request \\d+ was "
               "approved with transaction \\d+, which is not a reversal";
        QTest::newRow("a description changed")
            << "ALTER TABLE ledger.transactions DISABLE TRIGGER ALL; "
               "UPDATE ledger.transactions SET description = description || '.' WHERE id = "
               "(SELECT max(id) FROM ledger.transactions WHERE kind <> 'reversal')"
            << "ledger_digests"
            << "^transaction \\d+: its rows \\(transaction or entries\\) differ from the digest on "
               "record";
        QTest::newRow("an audit event changed")
            << "ALTER TABLE audit.events DISABLE TRIGGER ALL; "
               "UPDATE audit.events SET operator = operator || 'x' WHERE seq = 2"
            << "audit_chain"
            << "^broken at sequence 2: ";
        QTest::newRow("an audit event left out of the chain")
            << "ALTER TABLE audit.events DISABLE TRIGGER ALL; "
               "INSERT INTO audit.events (occurred_at, operator, session_role, action, "
               "object_type) VALUES (now() - interval '2 minutes', 'x', 'x', 'forged.event', 'x')"
            << "audit_sealed"
            << "^1 audit event\\(s\\) not in the chain, the first is event \\d+; ledgerctl audit "
               "seal takes them in$";
        QTest::newRow("the span tree changed")
            << "ALTER TABLE ledger.span_sums DISABLE TRIGGER ALL; "
               "UPDATE ledger.span_sums SET amount = amount + 1 WHERE (account_id, kind, level, "
               "bucket) = (SELECT account_id, kind, level, bucket FROM ledger.span_sums ORDER BY "
               "1, "
               "2, 3, 4 LIMIT 1)"
            << "pit_spans"
            << "^account \\S+: its (late|future-dated) span tree does not match its "
               "(late|future-dated) entries$";
        QTest::newRow("a balance bucket changed")
            << "UPDATE reporting.balance_buckets SET net = net + 1 WHERE (account_id, bucket) = "
               "(SELECT account_id, bucket FROM reporting.balance_buckets ORDER BY 1, 2 LIMIT 1)"
            << "reporting_buckets"
            << "^account \\S+: its balance bucket for the (hour|day) from \\d{4}-\\d\\d-\\d\\d "
               "\\d\\d:00 UTC does not match its entries$";
        QTest::newRow("a position moved back")
            << "ALTER TABLE ledger.source_positions DISABLE TRIGGER source_positions_forward; "
               "UPDATE ledger.source_positions SET next_offset = 0"
            << "source_positions"
            << "^dead letter \\d+ \\(payments money-events/0 offset 0\\) lies at or beyond its "
               "partition's position \\(0\\)$";
    }

    void eachBrokenInvariantIsNamed()
    {
        QFETCH(QString, sql);
        QFETCH(QString, invariant);
        QFETCH(QString, detail);
        const LedgerctlRun r = checkBroken(sql);
        QVERIFY2(r.exitCode == 1, qPrintable(describe(r)));
        QCOMPARE(r.json().value(QStringLiteral("ok")).toBool(true), false);
        QVERIFY2(failedOf(r).contains(invariant), qPrintable(describe(r)));
        const QString first = firstFailureOf(r, invariant);
        QVERIFY2(QRegularExpression(detail).match(first).hasMatch(),
                 qPrintable(QStringLiteral("%1\n%2").arg(first, describe(r))));
        // stderr names the first invariant that failed, in check order, with its row.
        const QString firstFailed = failedOf(r).first();
        QVERIFY2(r.err.contains(QStringLiteral("ledgerctl check: %1: %2")
                                    .arg(firstFailed, firstFailureOf(r, firstFailed))),
                 qPrintable(describe(r)));
    }

    // The text output names the failed invariant on stdout and on stderr.
    void theTextSaysWhatFailed()
    {
        const LedgerctlRun json =
            checkBroken(QStringLiteral("ALTER TABLE ledger.account_heads DISABLE TRIGGER ALL; "
                                       "UPDATE ledger.account_heads SET last_recorded_at = "
                                       "last_recorded_at - interval '1 day' WHERE last_seq > 0"));
        QCOMPARE(failedOf(json), QStringList{QStringLiteral("heads")});
        const LedgerctlRun r = runLedgerctl({QStringLiteral("check")},
                                            auditorIn(QStringLiteral("scratch_%1").arg(m_scratch)));
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.contains(QRegularExpression(
                     QStringLiteral("^FAIL  heads: \\d+ of \\d+ wrong; first: account \\S+: its "
                                    "head's last recorded time is not that of its last entry$"),
                     QRegularExpression::MultilineOption)),
                 qPrintable(describe(r)));
        QVERIFY2(r.out.contains(QLatin1String("1 of 14 invariants failed: heads.")),
                 qPrintable(describe(r)));
        QVERIFY2(r.err.startsWith(QLatin1String("ledgerctl check: heads: account ")),
                 qPrintable(describe(r)));
    }

    // Every run is on record, with an audit event; --history lists them, newest first.
    void runsAreRecorded()
    {
        const LedgerctlRun before = check(m_auditor);
        QCOMPARE(before.exitCode, 0);
        const LedgerctlRun history =
            runLedgerctl({QStringLiteral("check"), QStringLiteral("--history"), QStringLiteral("5"),
                          QStringLiteral("--json")},
                         m_auditor);
        QVERIFY2(history.exitCode == 0, qPrintable(describe(history)));
        const QJsonArray runs = history.json().value(QStringLiteral("runs")).toArray();
        QVERIFY(runs.size() >= 3); // two in aSoundLedgerPasses, one here
        const QJsonObject last = runs.first().toObject();
        QCOMPARE(last.value(QStringLiteral("ok")).toBool(), true);
        QCOMPARE(last.value(QStringLiteral("results")).toArray().size(), kInvariants.size());
        QVERIFY(
            last.value(QStringLiteral("checked_by")).toString().contains(QLatin1String("auditor")));
        {
            SqlSession db(m_db.adminDsn());
            QCOMPARE(
                db.scalar(QStringLiteral("SELECT action || ' ' || (details->>'ok') FROM "
                                         "audit.events WHERE id = $1"),
                          {QString::number(last.value(QStringLiteral("event_id")).toInteger())}),
                QStringLiteral("ledger.checked true"));
            // The record cannot be rewritten.
            QVERIFY(!db.exec(QStringLiteral("UPDATE ledger.invariant_checks SET ok = true")).ok);
        }
        // A broken copy's run is recorded in the copy, with what failed.
        const LedgerctlRun broken = checkBroken(
            QStringLiteral("ALTER TABLE ledger.account_heads DISABLE TRIGGER ALL; "
                           "UPDATE ledger.account_heads SET last_seq = last_seq + 1 WHERE "
                           "last_seq > 0"));
        QCOMPARE(broken.exitCode, 1);
        const LedgerctlRun brokenHistory = runLedgerctl(
            {QStringLiteral("check"), QStringLiteral("--history"), QStringLiteral("1")},
            auditorIn(QStringLiteral("scratch_%1").arg(m_scratch)));
        QVERIFY2(brokenHistory.exitCode == 0, qPrintable(describe(brokenHistory)));
        QVERIFY2(brokenHistory.out.contains(QLatin1String("FAILED: heads")),
                 qPrintable(describe(brokenHistory)));
    }

    // A position cannot be moved back, even by the owner (the trigger is enabled always).
    void positionsOnlyMoveForward()
    {
        SqlSession db(m_db.adminDsn());
        const SqlOutcome back = db.exec(QStringLiteral(
            "SET ROLE ledger_owner; UPDATE ledger.source_positions SET next_offset = 0"));
        QVERIFY(!back.ok);
        QCOMPARE(back.sqlState, QStringLiteral("LG094"));
        QVERIFY2(back.message.contains(QLatin1String("moves forward only")),
                 qPrintable(back.message));
        QVERIFY(!db.exec(QStringLiteral("DELETE FROM ledger.source_positions")).ok);
    }

    // Only auditors and compliance run it; a writer or an operator is refused.
    void onlyAuditorsCheck()
    {
        for (const QString &group :
             {QStringLiteral("console_operator"), QStringLiteral("ledger_writer")}) {
            const LedgerctlRun r = check(m_db.dsnFor(group));
            QCOMPARE(r.exitCode, 1);
            QVERIFY2(r.err.contains(QLatin1String("ermission")) ||
                         r.err.contains(QLatin1String("Not allowed")),
                     qPrintable(describe(r)));
        }
        const LedgerctlRun compliance = check(m_db.dsnFor(QStringLiteral("console_compliance")));
        QVERIFY2(compliance.exitCode == 0, qPrintable(describe(compliance)));
    }

    // What a client reports of the reporting store is its word, but only in the store's own
    // shape: a result that poses as a ledger invariant, contradicts itself, names one twice,
    // carries control characters, is not the shape or is too big is refused (LG094) and no
    // run is recorded.
    void hostileStoreResultsAreRefused_data()
    {
        QTest::addColumn<QString>("store");
        const QString good = QStringLiteral(
            R"({"invariant": "store_in_step", "title": "t", "ok": true, "checked": 1, "failures": 0})");
        QTest::newRow("not an array") << good;
        QTest::newRow("empty") << QStringLiteral("[]");
        QTest::newRow("nine") << QStringLiteral("[%1]").arg(
            QStringList(9, good).join(QLatin1Char(',')));
        QTest::newRow("too big")
            << QStringLiteral(
                   R"([{"invariant": "store_in_step", "title": "%1", "ok": true, "checked": 1, "failures": 0}])")
                   .arg(QString(9000, QLatin1Char('x')));
        QTest::newRow("not an object") << QStringLiteral("[1]");
        QTest::newRow("unknown field") << QStringLiteral(
            R"([{"invariant": "store_in_step", "ok": true, "checked": 1, "failures": 0, "reported": false}])");
        QTest::newRow("wrong type") << QStringLiteral(
            R"([{"invariant": "store_in_step", "ok": "yes", "checked": 1, "failures": 0}])");
        QTest::newRow("count as text") << QStringLiteral(
            R"([{"invariant": "store_in_step", "ok": true, "checked": "12", "failures": 0}])");
        QTest::newRow("failures as text") << QStringLiteral(
            R"([{"invariant": "store_in_step", "ok": true, "checked": 12, "failures": "0"}])");
        QTest::newRow("title a number") << QStringLiteral(
            R"([{"invariant": "store_in_step", "title": 5, "ok": true, "checked": 1, "failures": 0}])");
        QTest::newRow("seconds as text") << QStringLiteral(
            R"([{"invariant": "store_in_step", "ok": true, "checked": 1, "failures": 0, "seconds": "1"}])");
        QTest::newRow("poses as a ledger invariant") << QStringLiteral(
            R"([{"invariant": "trial_balance_zero", "ok": true, "checked": 1, "failures": 0}])");
        QTest::newRow("ok with failures") << QStringLiteral(
            R"([{"invariant": "store_aggregates", "ok": true, "checked": 5, "failures": 3}])");
        QTest::newRow("failed without a first failure") << QStringLiteral(
            R"([{"invariant": "store_aggregates", "ok": false, "checked": 5, "failures": 3}])");
        QTest::newRow("negative count") << QStringLiteral(
            R"([{"invariant": "store_aggregates", "ok": true, "checked": -5, "failures": 0}])");
        // (Not a raw string: moc 6.4 mislexes one holding a backslash escape.)
        QTest::newRow("escape in the text")
            << QStringLiteral("[{\"invariant\": \"store_aggregates\", \"ok\": false, "
                              "\"checked\": 5, \"failures\": 1, \"first_failure\": "
                              "\"fine\\u001b[2K\"}]");
        QTest::newRow("named twice") << QStringLiteral("[%1, %1]").arg(good);
    }

    void hostileStoreResultsAreRefused()
    {
        QFETCH(QString, store);
        SqlSession db(m_db.adminDsn());
        const QString runs =
            db.scalar(QStringLiteral("SELECT count(*) FROM ledger.invariant_checks"));
        const SqlOutcome r = db.exec(
            QStringLiteral("SELECT count(*) FROM ledger.check_invariants($1::jsonb)"), {store});
        QVERIFY2(!r.ok, "taken");
        QCOMPARE(r.sqlState, QStringLiteral("LG094"));
        QCOMPARE(db.scalar(QStringLiteral("SELECT count(*) FROM ledger.invariant_checks")), runs);
    }

    // --reporting-dsn naming the ledger itself (not a store): a failed, recorded check.
    void aLedgerIsNoStore()
    {
        const LedgerctlRun r = check(m_auditor, {QStringLiteral("--reporting-dsn"), m_auditor});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(failedOf(r), QStringList{QStringLiteral("store_in_step")});
        QVERIFY2(firstFailureOf(r, QStringLiteral("store_in_step"))
                     .contains(QLatin1String("Not a reporting store")),
                 qPrintable(describe(r)));
        const LedgerctlRun usage =
            check(m_auditor, {QStringLiteral("--max-lag"), QStringLiteral("0")});
        QCOMPARE(usage.exitCode, 2);
    }
};

QTEST_GUILESS_MAIN(TestLedgerCheck)
#include "tst_ledgercheck.moc"
