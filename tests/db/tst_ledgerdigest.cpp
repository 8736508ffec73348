// The audit chain covers the ledger's own rows (0030_ledger_digest.sql): every
// transaction.posted event carries the digest of its transaction's rows, and both verifiers
// (ledger.verify_ledger in SQL, LedgerVerifier in C++) recompute the digests and check
// heads and running balances. A superuser who rewrites an amount, deletes or inserts an
// entry or a transaction, or changes a head, is caught by both and named.

#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "audit/LedgerVerifier.h"
#include "db/AuditRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/MigrationSet.h"
#include "db/Migrator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <optional>

using namespace ledger;
using test::SqlSession;

namespace {

QByteArray transfer(const QString &key, const QString &from, const QString &to,
                    const QString &amount, const QString &description = QStringLiteral("transfer"))
{
    QJsonObject legFrom{{QStringLiteral("account"), from},
                        {QStringLiteral("amount"), QString(QLatin1Char('-') + amount)},
                        {QStringLiteral("currency"), QStringLiteral("EUR")}};
    QJsonObject legTo{{QStringLiteral("account"), to},
                      {QStringLiteral("amount"), amount},
                      {QStringLiteral("currency"), QStringLiteral("EUR")}};
    return QJsonDocument(
               QJsonObject{{QStringLiteral("idempotency_key"), key},
                           {QStringLiteral("effective_at"), QStringLiteral("2026-11-20T10:00:00Z")},
                           {QStringLiteral("description"), description},
                           {QStringLiteral("legs"), QJsonArray{legFrom, legTo}}})
        .toJson(QJsonDocument::Compact);
}

// Runs `sql` with the user triggers of the ledger's tables and of audit.events disabled
// (what a rogue superuser can do: the append-only and balance triggers no longer stand in
// the way), then puts every trigger back as it was (ALWAYS or not).
QString asRogue(const QString &sql)
{
    return QStringLiteral(
               "BEGIN; CREATE TEMP TABLE trigger_modes ON COMMIT DROP AS SELECT "
               "tgrelid::regclass::text AS rel, tgname, tgenabled FROM pg_trigger WHERE NOT "
               "tgisinternal AND tgrelid IN ('ledger.entries'::regclass, "
               "'ledger.transactions'::regclass, 'ledger.account_heads'::regclass, "
               "'audit.events'::regclass); "
               "ALTER TABLE ledger.entries DISABLE TRIGGER USER; "
               "ALTER TABLE ledger.transactions DISABLE TRIGGER USER; "
               "ALTER TABLE ledger.account_heads DISABLE TRIGGER USER; "
               "ALTER TABLE audit.events DISABLE TRIGGER USER; %1; "
               "DO $$ DECLARE r record; BEGIN FOR r IN SELECT * FROM trigger_modes LOOP "
               "EXECUTE format('ALTER TABLE %s %s TRIGGER %I', r.rel, CASE r.tgenabled WHEN 'A' "
               "THEN 'ENABLE ALWAYS' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'D' THEN 'DISABLE' ELSE "
               "'ENABLE' END, r.tgname); END LOOP; END $$; COMMIT")
        .arg(sql);
}

} // namespace

class TestLedgerDigest : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_writer, m_auditor;
    int m_key = 0;
    QString m_restore; // what cleanup() runs as a rogue superuser to undo a case's tampering

    qint64 post(const QString &amount = QStringLiteral("1.00"),
                const QString &description = QStringLiteral("transfer"))
    {
        return LedgerRepository::post(
                   *m_writer, transfer(QStringLiteral("ld-%1").arg(++m_key), QStringLiteral("CASH"),
                                       QStringLiteral("CUST"), amount, description))
            .transactionId;
    }

    QString scalar(const QString &sql) { return m_admin->scalar(sql); }

    struct Both
    {
        LedgerVerification client, sql;
    };
    Both verifyBoth()
    {
        Both b;
        b.client = verifyLedger(*m_auditor);
        b.sql = AuditRepository::verifyLedgerInSql(*m_auditor);
        return b;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH', 'Cash', 'EUR', 'asset', true)"))
                    .ok);
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CUST', 'Customer', 'EUR', 'liability')"))
                    .ok);
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('FEES', 'Fees', 'EUR', 'income')"))
                    .ok);
        m_writer = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_auditor = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("console_auditor")));
        for (int i = 0; i < 10; ++i)
            post();
    }

    void cleanup()
    {
        // A case that failed half-way still puts the ledger back for the next.
        if (!m_restore.isEmpty()) {
            const auto back = m_admin->exec(asRogue(m_restore));
            m_restore.clear();
            QVERIFY2(back.ok, qPrintable(back.message));
        }
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // Every way in carries the digest: a single posting, a batch, and the digest the event
    // holds is the one both the database and the C++ encoding compute from the rows.
    void everyPostingCarriesItsDigest()
    {
        const qint64 single =
            post(QStringLiteral("12.34"), QStringLiteral("Z\u00fcrich \u2192 \u6771\u4eac \"q\" \\ "
                                                         "\U0001F642"));
        const auto outcomes = LedgerRepository::postBatch(
            *m_writer, {transfer(QStringLiteral("ld-b1"), QStringLiteral("CASH"),
                                 QStringLiteral("CUST"), QStringLiteral("3.00")),
                        transfer(QStringLiteral("ld-b2"), QStringLiteral("CUST"),
                                 QStringLiteral("FEES"), QStringLiteral("0.50"))});
        QCOMPARE(outcomes.size(), 2);
        QList<qint64> ids{single};
        for (const auto &o : outcomes) {
            QCOMPARE(o.kind, LedgerRepository::BatchOutcome::Kind::Posted);
            ids << o.transactionId;
        }
        for (const qint64 id : ids) {
            const QString inEvent =
                scalar(QStringLiteral("SELECT details->>'digest' FROM audit.events WHERE action = "
                                      "'transaction.posted' AND object_id = '%1'")
                           .arg(id));
            QCOMPARE(inEvent.size(), 64);
            const QString inSql =
                scalar(QStringLiteral("SELECT encode(digest, 'hex') FROM "
                                      "ledger.transaction_digests(ARRAY[%1]::bigint[])")
                           .arg(id));
            QCOMPARE(inSql, inEvent);
        }
        // The C++ encoding, from the rows the verifier reads, agrees with both.
        const Both b = verifyBoth();
        QVERIFY2(b.client.intact(), qPrintable(b.client.summary()));
        QVERIFY2(b.sql.intact(), qPrintable(b.sql.summary()));
        QCOMPARE(b.client.transactionsChecked, b.sql.transactionsChecked);
        QCOMPARE(b.client.entriesChecked, b.sql.entriesChecked);
        QCOMPARE(b.client.accountsChecked, b.sql.accountsChecked);
        QCOMPARE(b.client.transactionsChecked,
                 scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions")).toLongLong());
        // Each run is on record.
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                       "'ledger.verified' AND details->>'verifier' = 'client'"))
                     .toInt(),
                 1);
    }

    void tamperingIsCaughtAndNamed_data()
    {
        // %1 is the transaction the case posts (the newest on its accounts); its entries are
        // the CASH leg (amount < 0) and the CUST leg.
        QTest::addColumn<QString>("tamper");
        QTest::addColumn<QString>("restore");
        QTest::addColumn<bool>("transactionNamed"); // else: only an account
        QTest::addColumn<QString>("account");       // the account named, or empty
        QTest::addColumn<QString>("reasonHas");

        // Both legs ten times larger, running balances and heads rewritten to agree: only
        // the digest tells.
        const QString scale =
            QStringLiteral("UPDATE ledger.entries SET amount = amount * %2, "
                           "balance_after = balance_after + amount * (%2 - 1) WHERE "
                           "transaction_id = %1; UPDATE ledger.account_heads h SET balance = "
                           "h.balance + e.amount * (%2 - 1) / %2 FROM ledger.entries e WHERE "
                           "e.transaction_id = %1 AND e.account_id = h.account_id");
        QTest::newRow("amount rewritten, heads made to agree")
            << scale.arg(QStringLiteral("%1"), QStringLiteral("10"))
            << QStringLiteral("UPDATE ledger.account_heads h SET balance = h.balance - e.amount "
                              "* 9 / 10 FROM ledger.entries e WHERE e.transaction_id = %1 AND "
                              "e.account_id = h.account_id; UPDATE ledger.entries SET "
                              "balance_after = balance_after - amount * 9 / 10, amount = amount "
                              "/ 10 WHERE transaction_id = %1")
            << true << QString() << QStringLiteral("differ from the digest on record");
        QTest::newRow("entry deleted, head made to agree")
            << QStringLiteral(
                   "CREATE TABLE saved_entry AS SELECT * FROM ledger.entries WHERE "
                   "transaction_id = %1 AND amount > 0; DELETE FROM ledger.entries WHERE id = "
                   "(SELECT id FROM saved_entry); UPDATE ledger.account_heads h SET balance = "
                   "h.balance - s.amount, last_seq = h.last_seq - 1, last_recorded_at = (SELECT "
                   "max(e.recorded_at) FROM ledger.entries e WHERE e.account_id = h.account_id) "
                   "FROM saved_entry s WHERE h.account_id = s.account_id")
            << QStringLiteral(
                   "INSERT INTO ledger.entries OVERRIDING SYSTEM VALUE SELECT * FROM saved_entry; "
                   "UPDATE ledger.account_heads h SET balance = h.balance + s.amount, last_seq "
                   "= h.last_seq + 1, last_recorded_at = s.recorded_at FROM saved_entry s WHERE "
                   "h.account_id = s.account_id; DROP TABLE saved_entry")
            << true << QString() << QStringLiteral("differ from the digest on record");
        QTest::newRow("entry inserted, balanced, heads made to agree")
            << QStringLiteral(
                   "INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, "
                   "effective_at, recorded_at, account_seq, balance_after) SELECT "
                   "e.transaction_id, e.account_id, sign(e.amount) * 500, e.currency, "
                   "e.effective_at, e.recorded_at, h.last_seq + 1, h.balance + sign(e.amount) * "
                   "500 FROM ledger.entries e JOIN ledger.account_heads h ON h.account_id = "
                   "e.account_id WHERE e.transaction_id = %1; UPDATE ledger.account_heads h SET "
                   "last_seq = h.last_seq + 1, balance = h.balance + sign(e.amount) * 500 FROM "
                   "ledger.entries e WHERE e.transaction_id = %1 AND e.account_id = h.account_id "
                   "AND abs(e.amount) <> 500")
            << QStringLiteral(
                   "UPDATE ledger.account_heads h SET last_seq = h.last_seq - 1, balance = "
                   "h.balance - e.amount FROM ledger.entries e WHERE e.transaction_id = %1 AND "
                   "e.account_id = h.account_id AND abs(e.amount) = 500; DELETE FROM "
                   "ledger.entries WHERE transaction_id = %1 AND abs(amount) = 500")
            << true << QString() << QStringLiteral("differ from the digest on record");
        QTest::newRow("description changed")
            << QStringLiteral("UPDATE ledger.transactions SET description = 'refund' WHERE id = "
                              "%1")
            << QStringLiteral("UPDATE ledger.transactions SET description = 'transfer' WHERE id "
                              "= %1")
            << true << QString() << QStringLiteral("differ from the digest on record");
        QTest::newRow("transaction deleted with its entries, heads made to agree")
            << QStringLiteral(
                   "CREATE TABLE saved_tx AS SELECT * FROM ledger.transactions WHERE id = %1; "
                   "CREATE TABLE saved_entries AS SELECT * FROM ledger.entries WHERE "
                   "transaction_id = %1; DELETE FROM ledger.entries WHERE transaction_id = %1; "
                   "DELETE FROM ledger.transactions WHERE id = %1; UPDATE ledger.account_heads h "
                   "SET balance = h.balance - s.amount, last_seq = h.last_seq - 1, "
                   "last_recorded_at = (SELECT max(e.recorded_at) FROM ledger.entries e WHERE "
                   "e.account_id = h.account_id) FROM saved_entries s WHERE h.account_id = "
                   "s.account_id")
            << QStringLiteral(
                   "INSERT INTO ledger.transactions OVERRIDING SYSTEM VALUE SELECT * FROM "
                   "saved_tx; INSERT INTO ledger.entries OVERRIDING SYSTEM VALUE SELECT * FROM "
                   "saved_entries; UPDATE ledger.account_heads h SET balance = h.balance + "
                   "s.amount, last_seq = h.last_seq + 1, last_recorded_at = s.recorded_at FROM "
                   "saved_entries s WHERE h.account_id = s.account_id; DROP TABLE saved_tx, "
                   "saved_entries")
            << true << QString() << QStringLiteral("deleted");
        QTest::newRow("head changed")
            << QStringLiteral("UPDATE ledger.account_heads SET balance = balance + 1 WHERE "
                              "account_id = (SELECT id FROM ledger.accounts WHERE code = 'CUST')")
            << QStringLiteral("UPDATE ledger.account_heads SET balance = balance - 1 WHERE "
                              "account_id = (SELECT id FROM ledger.accounts WHERE code = 'CUST')")
            << false << QStringLiteral("CUST") << QStringLiteral("its head says");
        QTest::newRow("running balance changed")
            << QStringLiteral("UPDATE ledger.entries SET balance_after = balance_after + 7 WHERE "
                              "transaction_id = %1 AND amount > 0")
            << QStringLiteral("UPDATE ledger.entries SET balance_after = balance_after - 7 WHERE "
                              "transaction_id = %1 AND amount > 0")
            << true << QStringLiteral("CUST") << QStringLiteral("differ from the digest");
    }

    void tamperingIsCaughtAndNamed()
    {
        QFETCH(QString, tamper);
        QFETCH(QString, restore);
        QFETCH(bool, transactionNamed);
        QFETCH(QString, account);
        QFETCH(QString, reasonHas);

        // The newest transaction on its accounts: rewriting its running balances keeps the
        // accounts' own arithmetic whole, so that only what a case breaks is broken.
        const qint64 newest = post(QStringLiteral("2.00"));
        const QString id = QString::number(newest);
        const auto rogue = m_admin->exec(asRogue(QString(tamper).replace(QLatin1String("%1"), id)));
        QVERIFY2(rogue.ok, qPrintable(rogue.message));
        m_restore = QString(restore).replace(QLatin1String("%1"), id);

        const Both b = verifyBoth();
        for (const LedgerVerification *v : {&b.client, &b.sql}) {
            const char *which = v == &b.client ? "client" : "sql";
            QVERIFY2(!v->intact(), which);
            if (transactionNamed) {
                QVERIFY2(v->firstTransaction == newest, qPrintable(QStringLiteral("%1: %2").arg(
                                                            QLatin1String(which), v->summary())));
                QVERIFY2(v->transactionReason.contains(reasonHas),
                         qPrintable(v->transactionReason));
            } else {
                QCOMPARE(v->transactionsBroken, 0);
                QVERIFY2(v->accountReason.contains(reasonHas), qPrintable(v->accountReason));
            }
            if (account.isEmpty())
                QVERIFY2(v->accountsBroken == 0, qPrintable(v->summary()));
            else
                QVERIFY2(v->firstAccount == account, qPrintable(v->summary()));
        }
        QCOMPARE(b.client.transactionReason, b.sql.transactionReason);
        QCOMPARE(b.client.accountReason, b.sql.accountReason);

        const auto back = m_admin->exec(asRogue(m_restore));
        m_restore.clear();
        QVERIFY2(back.ok, qPrintable(back.message));
        const Both again = verifyBoth();
        QVERIFY2(again.client.intact(), qPrintable(again.client.summary()));
        QVERIFY2(again.sql.intact(), qPrintable(again.sql.summary()));
    }

    // A transaction written past the posting functions (as the demo seed's COPY writes
    // them) has no digest; attesting it puts one in the chain, and an attestation never
    // replaces a digest already on record.
    void attestationCoversWhatHadNoEventAndLaundersNothing()
    {
        const auto rogue = m_admin->exec(asRogue(QStringLiteral(
            "WITH t AS (INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, "
            "effective_at, recorded_at, description, created_by, created_role) VALUES "
            "('seed-side-door', sha256('x'), 'seed', now(), clock_timestamp(), 'side door', "
            "'rogue', 'postgres') RETURNING id, recorded_at), e AS (INSERT INTO ledger.entries "
            "(transaction_id, account_id, amount, currency, effective_at, recorded_at, "
            "account_seq, balance_after) SELECT t.id, h.account_id, x.amount, 'EUR', now(), "
            "t.recorded_at, h.last_seq + 1, h.balance + x.amount FROM t, (VALUES ('CASH', 300), "
            "('CUST', -300)) x(code, amount) JOIN ledger.accounts a ON a.code = x.code JOIN "
            "ledger.account_heads h ON h.account_id = a.id RETURNING account_id, amount, "
            "recorded_at) UPDATE ledger.account_heads h SET last_seq = h.last_seq + 1, balance "
            "= h.balance + e.amount, last_recorded_at = e.recorded_at FROM e WHERE h.account_id "
            "= e.account_id")));
        QVERIFY2(rogue.ok, qPrintable(rogue.message));
        const qint64 sideDoor =
            scalar(QStringLiteral("SELECT id FROM ledger.transactions WHERE idempotency_key = "
                                  "'seed-side-door'"))
                .toLongLong();
        Both b = verifyBoth();
        for (const LedgerVerification *v : {&b.client, &b.sql}) {
            QVERIFY2(v->firstTransaction == sideDoor, qPrintable(v->summary()));
            QVERIFY2(v->transactionReason.contains(QLatin1String("no digest on record")),
                     qPrintable(v->transactionReason));
            QCOMPARE(v->accountsBroken, 0);
        }

        // The owner attests it: from then on it is covered like every other.
        QCOMPARE(scalar(QStringLiteral("SELECT ledger.attest_transactions()")),
                 QStringLiteral("1"));
        b = verifyBoth();
        QVERIFY2(b.client.intact(), qPrintable(b.client.summary()));
        QVERIFY2(b.sql.intact(), qPrintable(b.sql.summary()));

        // Rewritten afterwards and attested again: nothing is attested twice, the first
        // digest stands, and the rewrite is still caught.
        QVERIFY(m_admin
                    ->exec(asRogue(QStringLiteral("UPDATE ledger.transactions SET description = "
                                                  "'moved' WHERE id = %1")
                                       .arg(sideDoor)))
                    .ok);
        QCOMPARE(scalar(QStringLiteral("SELECT ledger.attest_transactions()")),
                 QStringLiteral("0"));
        b = verifyBoth();
        QVERIFY2(b.client.firstTransaction == sideDoor, qPrintable(b.client.summary()));
        QVERIFY2(b.sql.firstTransaction == sideDoor, qPrintable(b.sql.summary()));

        QVERIFY(m_admin
                    ->exec(asRogue(QStringLiteral("UPDATE ledger.transactions SET description = "
                                                  "'side door' WHERE id = %1")
                                       .arg(sideDoor)))
                    .ok);
        b = verifyBoth();
        QVERIFY2(b.client.intact(), qPrintable(b.client.summary()));
    }

    // A database upgraded to 0030 with postings already in it: they are attested by the
    // migration, and both verifiers find the ledger whole.
    void anUpgradeAttestsWhatWasPostedBefore()
    {
        const QString dsn = m_db.createDatabase(QStringLiteral("upgrade"));
        Connection c(dsn);
        const auto all = MigrationSet::builtIn();
        QVERIFY(all);
        QList<Migration> before;
        for (const Migration &m : all.value().migrations()) {
            if (m.version < 30)
                before << m;
        }
        auto older = MigrationSet::fromList(before);
        QVERIFY(older);
        Migrator(c, older.value()).migrate();
        SqlSession admin(dsn);
        QVERIFY(admin
                    .exec(QStringLiteral("SELECT ledger.open_account('CASH', 'Cash', 'EUR', "
                                         "'asset', true), ledger.open_account('CUST', "
                                         "'Customer', 'EUR', 'liability')"))
                    .ok);
        for (int i = 0; i < 5; ++i) {
            const auto r = admin.exec(
                QStringLiteral("SELECT ledger.post_transaction($1::jsonb)"),
                {QString::fromUtf8(transfer(QStringLiteral("up-%1").arg(i), QStringLiteral("CASH"),
                                            QStringLiteral("CUST"), QStringLiteral("4.00")))});
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        QCOMPARE(admin.scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE details ? "
                                             "'digest'")),
                 QStringLiteral("0"));

        Migrator(c, all.value()).migrate();
        QCOMPARE(admin.scalar(QStringLiteral("SELECT (SELECT count(*) FROM "
                                             "jsonb_object_keys(details->'digests')) FROM "
                                             "audit.events WHERE action = 'ledger.attested'")),
                 QStringLiteral("5"));
        const LedgerVerification client = verifyLedger(c);
        QVERIFY2(client.intact(), qPrintable(client.summary()));
        QCOMPARE(client.transactionsChecked, 5);
        QCOMPARE(admin.scalar(QStringLiteral("SELECT transactions_broken + accounts_broken FROM "
                                             "ledger.verify_ledger_unrecorded()")),
                 QStringLiteral("0"));
        // A posting after the upgrade carries its own digest.
        QVERIFY(admin
                    .exec(QStringLiteral("SELECT ledger.post_transaction($1::jsonb)"),
                          {QString::fromUtf8(
                              transfer(QStringLiteral("up-after"), QStringLiteral("CASH"),
                                       QStringLiteral("CUST"), QStringLiteral("1.00")))})
                    .ok);
        QCOMPARE(admin.scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE details ? "
                                             "'digest'")),
                 QStringLiteral("1"));
    }

    // Only auditors (and compliance) run the checks and read the rows they cover; nobody
    // but the owner attests.
    void onlyAuditorsVerifyAndNobodyElseAttests()
    {
        Connection writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        QVERIFY_THROWS_EXCEPTION(DbException, AuditRepository::verifyLedgerInSql(writer));
        QVERIFY_THROWS_EXCEPTION(DbException, verifyLedger(writer));
        Connection operatorConnection(m_db.dsnFor(QStringLiteral("console_operator")));
        QVERIFY_THROWS_EXCEPTION(DbException, verifyLedger(operatorConnection));
        for (const QString &role :
             {QStringLiteral("console_auditor"), QStringLiteral("console_supervisor"),
              QStringLiteral("ledger_writer")}) {
            Connection c(m_db.dsnFor(role));
            QVERIFY_THROWS_EXCEPTION(
                DbException,
                test::execOn(c, QStringLiteral("SELECT ledger.attest_transactions()")));
        }
        // A forged result is refused.
        QVERIFY_THROWS_EXCEPTION(
            DbException, AuditRepository::recordLedgerVerification(
                             *m_auditor, QJsonObject{{QStringLiteral("transactions_checked"), 1},
                                                     {QStringLiteral("entries_checked"), 2},
                                                     {QStringLiteral("accounts_checked"), 1},
                                                     {QStringLiteral("transactions_broken"), 1}}));
    }
};

QTEST_GUILESS_MAIN(TestLedgerDigest)
#include "tst_ledgerdigest.moc"
