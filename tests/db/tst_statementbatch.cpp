// Step 8, the Statements tab's data and batch export, against a real cluster: the list of
// issued statements (newest first, paged, by account, restated only, copies counted, each
// page an audit event; operators refused), and StatementBatch: one complete file and one
// issue per account of a kind and currency, all as of one known-at time; a cancel between
// statements leaves exactly the files reported; a folder that already holds a target name
// stops the batch before anything is written; a disk that refuses to grow a file (a file
// size limit: the kernel's EFBIG, as on a full disk) stops the batch at that account with no
// file, no temporary file and no issue record for it.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/StatementRepository.h"
#include "statement/StatementBatch.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/resource.h>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

namespace {

QString sha256Of(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&f);
    return QString::fromLatin1(hash.result().toHex());
}

QStringList filesIn(const QString &folder)
{
    return QDir(folder).entryList(QDir::Files, QDir::Name);
}

// The names of the files a batch reports, sorted as filesIn() sorts.
QStringList namesOf(const QStringList &paths)
{
    QStringList names;
    for (const QString &path : paths)
        names << QFileInfo(path).fileName();
    return QDir(QFileInfo(paths.value(0)).path()).entryList(names, QDir::Files, QDir::Name);
}

} // namespace

class TestStatementBatch : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_compliance, m_operator;
    int m_key = 0;

    void post(const QString &debit, const QString &credit, const QString &amount,
              const QString &currency, const QString &effective, int times = 1)
    {
        const auto r = m_admin->exec(
            QStringLiteral(
                "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                "'sb-' || $1 || '-' || g, 'effective_at', ($2::timestamptz + g * interval "
                "'1 minute')::text, 'description', 'payment ' || g, 'external_ref', 'INV-' || g, "
                "'legs', jsonb_build_array(jsonb_build_object('account', $3::text, 'amount', "
                "$5::text, 'currency', $6::text), jsonb_build_object('account', $4::text, "
                "'amount', '-' || $5, 'currency', $6::text)))) FROM generate_series(1, $7::int) g"),
            {QString::number(++m_key), effective, debit, credit, amount, currency,
             QString::number(times)});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    QString count(const QString &sql) { return m_admin->scalar(sql); }

    StatementBatchRequest octoberCsv(const QString &folder)
    {
        StatementBatchRequest r;
        r.kind = QStringLiteral("liability");
        r.currency = QStringLiteral("EUR");
        r.from = QDateTime(QDate(2026, 10, 1), QTime(0, 0), Qt::UTC);
        r.to = QDateTime(QDate(2026, 11, 1), QTime(0, 0), Qt::UTC);
        r.format = QStringLiteral("csv");
        r.folder = folder;
        return r;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        // Five EUR customers (liabilities), one USD customer and the bank (assets).
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('BANK-EUR', 'Bank EUR', 'EUR', 'asset'), "
                        "ledger.open_account('BANK-USD', 'Bank USD', 'USD', 'asset'), "
                        "ledger.open_account('C/1', 'Customer 1', 'EUR', 'liability'), "
                        "ledger.open_account('C:1', 'Customer 1 again', 'EUR', 'liability'), "
                        "ledger.open_account('C2', 'Customer 2', 'EUR', 'liability'), "
                        "ledger.open_account('C3', 'Customer 3', 'EUR', 'liability'), "
                        "ledger.open_account('C4', 'Customer 4', 'EUR', 'liability'), "
                        "ledger.open_account('CUSD', 'Customer USD', 'USD', 'liability')"))
                    .ok);
        post(QStringLiteral("BANK-EUR"), QStringLiteral("C/1"), QStringLiteral("10.00"),
             QStringLiteral("EUR"), QStringLiteral("2026-09-20T10:00:00Z"));
        post(QStringLiteral("BANK-EUR"), QStringLiteral("C2"), QStringLiteral("2.50"),
             QStringLiteral("EUR"), QStringLiteral("2026-10-02T10:00:00Z"), 3);
        // C3 has a long October: its CSV is far larger than the others'.
        post(QStringLiteral("BANK-EUR"), QStringLiteral("C3"), QStringLiteral("1.25"),
             QStringLiteral("EUR"), QStringLiteral("2026-10-05T00:00:00Z"), 400);
        post(QStringLiteral("BANK-USD"), QStringLiteral("CUSD"), QStringLiteral("7.00"),
             QStringLiteral("USD"), QStringLiteral("2026-10-03T10:00:00Z"));
        m_compliance = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_compliance"), QStringLiteral("carla")));
        m_operator = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void fileNamesAreDistinctOnAnyFileSystem()
    {
        StatementBatchRequest r = octoberCsv(QStringLiteral("/tmp"));
        r.timeZone = QStringLiteral("Europe/Berlin");
        r.from = QDateTime(QDate(2026, 9, 30), QTime(22, 0), Qt::UTC); // 1 Oct in Berlin
        r.to = QDateTime(QDate(2026, 10, 31), QTime(23, 0), Qt::UTC);  // 1 Nov in Berlin
        QCOMPARE(StatementBatch::fileNames({QStringLiteral("C/1"), QStringLiteral("C:1"),
                                            QStringLiteral("c_1"), QStringLiteral("C2")},
                                           r),
                 (QStringList{QStringLiteral("C_1_2026-10-01_2026-10-31.csv"),
                              QStringLiteral("C_1~2_2026-10-01_2026-10-31.csv"),
                              QStringLiteral("c_1~3_2026-10-01_2026-10-31.csv"),
                              QStringLiteral("C2_2026-10-01_2026-10-31.csv")}));
    }

    void aBatchIssuesOneCompleteFilePerAccount()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QList<int> progress;
        int started = -1;
        StatementBatch::Callbacks callbacks;
        callbacks.started = [&](int total) { started = total; };
        callbacks.written = [&](int done, const StatementRecord &, const QString &path) {
            progress << done;
            QVERIFY(QFile::exists(path)); // complete under its final name when reported
        };
        const StatementBatchOutcome out =
            StatementBatch::run(*m_compliance, octoberCsv(dir.path()), callbacks);
        QVERIFY2(out.error.isEmpty(), qPrintable(out.error));
        QVERIFY(!out.cancelled);
        QCOMPARE(started, 5);
        QCOMPARE(out.total, 5);
        QCOMPARE(progress, (QList<int>{1, 2, 3, 4, 5}));
        QStringList accounts;
        for (const StatementRecord &s : out.written)
            accounts << s.accountCode;
        QCOMPARE(accounts,
                 (QStringList{QStringLiteral("C/1"), QStringLiteral("C2"), QStringLiteral("C3"),
                              QStringLiteral("C4"), QStringLiteral("C:1")}));
        QCOMPARE(filesIn(dir.path()).size(), 5);
        for (int i = 0; i < out.written.size(); ++i) {
            const StatementRecord &s = out.written.at(i);
            QCOMPARE(sha256Of(out.files.at(i)), s.fileSha256);
            QCOMPARE(s.knownAt, out.written.first().knownAt); // one picture of the ledger
            const auto found = StatementRepository::findByFile(*m_compliance, s.fileSha256);
            QVERIFY(found);
            QCOMPARE(found->reference, s.reference);
        }
        QCOMPARE(out.written.at(1).lineCount, 3);
        QCOMPARE(out.written.at(1).closingMinor, 750);
        QCOMPARE(out.written.at(0).openingMinor, 1000); // before the period
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'statement.issued'")),
                 QStringLiteral("5"));

        // The same batch again into the same folder replaces nothing and writes nothing.
        const StatementBatchOutcome again =
            StatementBatch::run(*m_compliance, octoberCsv(dir.path()));
        QVERIFY(again.error.contains(QLatin1String("already holds")));
        QVERIFY(again.written.isEmpty());
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.statements")),
                 QStringLiteral("5"));
    }

    void aCancelledBatchLeavesExactlyTheFilesItReports()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString before = count(QStringLiteral("SELECT count(*) FROM ledger.statements"));
        int written = 0;
        StatementBatch::Callbacks callbacks;
        callbacks.written = [&](int, const StatementRecord &, const QString &) { ++written; };
        callbacks.cancelled = [&] { return written >= 2; };
        const StatementBatchOutcome out =
            StatementBatch::run(*m_compliance, octoberCsv(dir.path()), callbacks);
        QVERIFY(out.cancelled);
        QVERIFY(out.error.isEmpty());
        QCOMPARE(out.written.size(), 2);
        QCOMPARE(namesOf(out.files).size(), 2);
        QCOMPARE(filesIn(dir.path()), namesOf(out.files)); // and no *.part
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.statements")).toInt(),
                 before.toInt() + 2);
    }

    void aFullDiskStopsTheBatchAtThatAccount()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString before = count(QStringLiteral("SELECT count(*) FROM ledger.statements"));
        // Files may not grow past 16 KiB: C3's 400 lines do not fit; the kernel refuses the
        // write (EFBIG) as it would on a full disk. SIGXFSZ would kill us: ignore it.
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit old{};
        QCOMPARE(getrlimit(RLIMIT_FSIZE, &old), 0);
        rlimit small = old;
        small.rlim_cur = rlim_t(16) * 1024;
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &small), 0);
        StatementBatchRequest r = octoberCsv(dir.path());
        r.timeZone = QStringLiteral("Europe/Berlin");
        const StatementBatchOutcome out = StatementBatch::run(*m_compliance, r);
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &old), 0);
        QCOMPARE(out.failedAccount, QStringLiteral("C3"));
        QVERIFY2(out.error.contains(QLatin1String("C3")), qPrintable(out.error));
        QCOMPARE(out.written.size(), 2);
        QCOMPARE(namesOf(out.files).size(), 2);
        QCOMPARE(filesIn(dir.path()), namesOf(out.files)); // nothing of C3's, not even a .part
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.statements")).toInt(),
                 before.toInt() + 2);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.statements s JOIN "
                                      "ledger.accounts a ON a.id = s.account_id WHERE a.code = "
                                      "'C3' AND s.time_zone = 'Europe/Berlin'")),
                 QStringLiteral("0"));
    }

    void badSelectionsAndFoldersAreRefused()
    {
        QTemporaryDir dir;
        StatementBatchRequest r = octoberCsv(dir.path());
        r.kind = QStringLiteral("customer");
        QVERIFY(StatementBatch::run(*m_compliance, r).error.contains(QLatin1String("customer")));
        r.kind.clear();
        r.currency = QStringLiteral("XXQ");
        QVERIFY(StatementBatch::run(*m_compliance, r).error.contains(QLatin1String("XXQ")));
        QCOMPARE(errorOf([&] {
                     StatementRepository::batchAccounts(*m_compliance, {}, QStringLiteral("XXQ"));
                 }).sqlState,
                 QStringLiteral("LG064"));
        r.currency = QStringLiteral("EUR");
        r.folder = dir.filePath(QStringLiteral("missing"));
        QVERIFY(!StatementBatch::check(r));
        r.folder = dir.path();
        r.to = r.from;
        QVERIFY(!StatementBatch::check(r));
        r = octoberCsv(dir.path());
        r.timeZone = QStringLiteral("Mars/Olympus");
        QVERIFY(!StatementBatch::check(r));
        // Operators do not export, in batches either.
        const StatementBatchOutcome refused =
            StatementBatch::run(*m_operator, octoberCsv(dir.path()));
        QVERIFY(!refused.error.isEmpty());
        QVERIFY(filesIn(dir.path()).isEmpty());
    }

    // The Statements tab's list: newest first, paged, by account, restated only.
    void theIssuedListShowsRestatementsAndCopies()
    {
        QTemporaryDir dir;
        StatementBatchRequest r = octoberCsv(dir.path());
        r.currency = QStringLiteral("USD");
        r.knownAt = QDateTime::fromString(
            m_admin->scalar(QStringLiteral(
                "SELECT to_char(date_trunc('milliseconds', clock_timestamp()) AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")),
            Qt::ISODateWithMs);
        const StatementBatchOutcome usd = StatementBatch::run(*m_compliance, r);
        QVERIFY2(usd.error.isEmpty(), qPrintable(usd.error));
        QCOMPARE(usd.written.size(), 1);
        // The same request again (a second folder): a copy of the same statement.
        QTemporaryDir second;
        r.folder = second.path();
        const StatementBatchOutcome copy = StatementBatch::run(*m_compliance, r);
        QVERIFY(copy.written.value(0).reissued);
        const QString listedBefore = count(
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'statement.listed'"));

        IssuedStatementQuery q;
        const QList<IssuedStatement> all = StatementRepository::issued(*m_compliance, q);
        QVERIFY(all.size() >= 6);
        for (int i = 1; i < all.size(); ++i)
            QVERIFY(all.at(i - 1).id > all.at(i).id);
        QCOMPARE(all.first().record.reference, usd.written.first().reference);
        QCOMPARE(all.first().copies, 1);
        QCOMPARE(all.first().record.exponent, 2);
        QVERIFY(!all.first().restated);
        // Paged: two at a time, before the last one seen.
        q.limit = 2;
        const auto page1 = StatementRepository::issued(*m_compliance, q);
        q.beforeId = page1.last().id;
        const auto page2 = StatementRepository::issued(*m_compliance, q);
        QCOMPARE(page1.size(), 2);
        QCOMPARE(page2.first().id, all.at(2).id);
        QCOMPARE(count(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'statement.listed'")),
                 QString::number(listedBefore.toInt() + 3));

        // 3.00 USD paid to CUSD in October, recorded now: its statement is restated.
        post(QStringLiteral("BANK-USD"), QStringLiteral("CUSD"), QStringLiteral("3.00"),
             QStringLiteral("USD"), QStringLiteral("2026-10-10T00:00:00Z"));
        IssuedStatementQuery restated;
        restated.accountCode = QStringLiteral("CUSD");
        restated.restatedOnly = true;
        const auto changed = StatementRepository::issued(*m_compliance, restated);
        QCOMPARE(changed.size(), 1);
        QVERIFY(changed.first().restated);
        QCOMPARE(changed.first().openingDifference, 0);
        QCOMPARE(changed.first().closingDifference, 300);
        QCOMPARE(changed.first().lateEntries.size(), 1);
        QVERIFY(!changed.first().restatementRecordedAt.isValid());
        QVERIFY(StatementRepository::recordRestatements(*m_compliance) >= 1);
        QVERIFY(StatementRepository::issued(*m_compliance, restated)
                    .first()
                    .restatementRecordedAt.isValid());
        restated.accountCode = QStringLiteral("C2"); // not restated
        QVERIFY(StatementRepository::issued(*m_compliance, restated).isEmpty());

        // Bad input and the wrong role.
        q = {};
        q.limit = 0;
        QCOMPARE(errorOf([&] { StatementRepository::issued(*m_compliance, q); }).kind,
                 Error::Kind::Input);
        q = {};
        q.accountCode = QStringLiteral("NOBODY");
        QCOMPARE(errorOf([&] { StatementRepository::issued(*m_compliance, q); }).sqlState,
                 QStringLiteral("LG018"));
        QCOMPARE(errorOf([&] { StatementRepository::issued(*m_operator, {}); }).kind,
                 Error::Kind::Permission);
    }
};

QTEST_GUILESS_MAIN(TestStatementBatch)
#include "tst_statementbatch.moc"
