// Step 13, fault tests: the disk fills during a batch. Every table and index of the ledger
// is moved to a tablespace on a small filesystem of its own (a tmpfs mounted by the test,
// so it needs root with CAP_SYS_ADMIN, as CI has; it skips otherwise), with only a little room
// left; a writer then posts one batch of 20,000 transfers (ledger.post_batch, one transaction),
// which runs out of space half-way. The batch is refused whole with a clear error (nothing of it is
// in the ledger), and the server stays up. Once space is freed (the filesystem grown), the ledger
// is intact (its invariants hold, the audit chain verifies), the same batch posts in full, and
// posting it again is a duplicate of every item.

#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "cluster/LocalCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace ledger;
using test::SqlSession;

namespace {

constexpr int kTransfers = 20000;

QList<QByteArray> batch()
{
    QList<QByteArray> out;
    for (int i = 0; i < kTransfers; ++i)
        out << QJsonDocument(
                   QJsonObject{
                       {QStringLiteral("idempotency_key"), QStringLiteral("disk-%1").arg(i)},
                       {QStringLiteral("effective_at"), QStringLiteral("2026-11-20T12:00:00Z")},
                       {QStringLiteral("description"),
                        QStringLiteral("a transfer with a description long enough to take room %1")
                            .arg(i)},
                       {QStringLiteral("legs"),
                        QJsonArray{
                            QJsonObject{
                                {QStringLiteral("account"), QStringLiteral("DISK-%1").arg(i % 10)},
                                {QStringLiteral("amount"), QStringLiteral("1.00")},
                                {QStringLiteral("currency"), QStringLiteral("EUR")}},
                            QJsonObject{{QStringLiteral("account"), QStringLiteral("DISK-CASH")},
                                        {QStringLiteral("amount"), QStringLiteral("-1.00")},
                                        {QStringLiteral("currency"), QStringLiteral("EUR")}}}}})
                   .toJson(QJsonDocument::Compact);
    return out;
}

bool sh(const QString &command, QString *output = nullptr)
{
    QProcess p;
    p.start(QStringLiteral("sh"), {QStringLiteral("-c"), command});
    p.waitForFinished(60000);
    if (output)
        *output = QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError());
    return p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

} // namespace

class TestFaultDisk : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QTemporaryDir m_mountDir;
    bool m_mounted = false;

    qint64 count(const QString &sql) { return m_admin->scalar(sql).toLongLong(); }

private Q_SLOTS:
    void initTestCase()
    {
        if (::geteuid() != 0)
            QSKIP("mounting the small filesystem needs root (CI runs the suite as root)");
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('DISK-CASH', 'Cash', 'EUR', 'asset'); "
                        "SELECT ledger.open_account('DISK-' || i, 'D', 'EUR', 'liability') "
                        "FROM generate_series(0, 9) i"))
                    .ok);
        // The ledger's tables and indexes on a filesystem of their own.
        QVERIFY(m_mountDir.isValid());
        const QString dir = m_mountDir.path();
        QString out;
        if (!sh(QStringLiteral("mount -t tmpfs -o size=64m tmpfs '%1'").arg(dir), &out))
            QSKIP(qPrintable(QStringLiteral("this root may not mount a filesystem (a container "
                                            "without CAP_SYS_ADMIN?): ") +
                             out.trimmed()));
        m_mounted = true;
        const QString owner = LocalCluster::serverUser();
        if (!owner.isEmpty())
            QVERIFY2(sh(QStringLiteral("chown %1 '%2'").arg(owner, dir), &out), qPrintable(out));
        try {
            Connection admin(m_db.adminDsn());
            // (Not in a transaction block: CREATE TABLESPACE refuses one.)
            test::execOn(admin, QStringLiteral("CREATE TABLESPACE small LOCATION '%1'").arg(dir));
        } catch (const DbException &e) {
            QFAIL(qPrintable(e.error().describe()));
        }
        for (const QString &sql :
             {QStringLiteral("ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE small"),
              QStringLiteral("ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE small")}) {
            const auto r = m_admin->exec(sql);
            QVERIFY2(r.ok, qPrintable(sql + QStringLiteral(": ") + r.message));
        }
        QVERIFY(count(QStringLiteral("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                     "n.oid = c.relnamespace JOIN pg_tablespace t ON t.oid = "
                                     "c.reltablespace WHERE n.nspname = 'ledger' AND c.relname = "
                                     "'entries' AND t.spcname = 'small'")) == 1);
        // Leave about 3 MB: the batch needs several times that.
        QVERIFY2(sh(QStringLiteral("used=$(du -sk '%1' | cut -f1); "
                                   "mount -o remount,size=$((used + 3072))k '%1'")
                        .arg(dir),
                    &out),
                 qPrintable(out));
    }

    void cleanupTestCase()
    {
        m_admin.reset();
        if (m_mounted) {
            // The cluster goes first (its files are there), then the filesystem.
            (void)m_db.cluster().stop(true);
            QString out;
            if (!sh(QStringLiteral("umount '%1'").arg(m_mountDir.path()), &out) &&
                !sh(QStringLiteral("umount -l '%1'").arg(m_mountDir.path()), &out))
                qWarning("could not unmount %s: %s", qPrintable(m_mountDir.path()),
                         qPrintable(out));
        }
    }

    void aBatchThatFillsTheDiskIsRefusedWhole()
    {
        const qint64 before = count(QStringLiteral("SELECT count(*) FROM ledger.transactions"));
        const qint64 eventsBefore = count(QStringLiteral("SELECT count(*) FROM audit.events"));
        Connection writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const QList<QByteArray> requests = batch();
        try {
            LedgerRepository::postBatch(writer, requests);
            QFAIL("the batch fitted: the filesystem is not small enough");
        } catch (const DbException &e) {
            qInfo("refused: %s", qPrintable(e.error().describe()));
            QCOMPARE(e.error().sqlState, QStringLiteral("53100")); // disk_full
            // Said plainly: nothing saved, free space first (waiting would not help).
            QVERIFY2(
                e.error().message.startsWith(QLatin1String("The database server's disk is full")),
                qPrintable(e.error().message));
            QVERIFY(e.error().message.contains(QLatin1String("saved nothing")));
            QVERIFY(!e.error().retryable);
        }
        // Nothing of it, and the server still answers.
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions")), before);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                      "idempotency_key LIKE 'disk-%'")),
                 0);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events")), eventsBefore);
    }

    void afterSpaceIsFreedTheLedgerIsIntactAndTheBatchPosts()
    {
        QString out;
        QVERIFY2(sh(QStringLiteral("mount -o remount,size=256m '%1'").arg(m_mountDir.path()), &out),
                 qPrintable(out));
        QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));

        Connection writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        const QList<QByteArray> requests = batch();
        auto outcomes = LedgerRepository::postBatch(writer, requests);
        QCOMPARE(outcomes.size(), kTransfers);
        for (const auto &o : outcomes)
            QCOMPARE(o.kind, LedgerRepository::BatchOutcome::Kind::Posted);
        outcomes = LedgerRepository::postBatch(writer, requests);
        for (const auto &o : outcomes)
            QCOMPARE(o.kind, LedgerRepository::BatchOutcome::Kind::Duplicate);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                      "idempotency_key LIKE 'disk-%'")),
                 kTransfers);
        QCOMPARE(m_admin->scalar(QStringLiteral(
                     "SELECT sum(e.amount) FROM ledger.entries e JOIN ledger.accounts a ON a.id "
                     "= e.account_id WHERE a.code = 'DISK-CASH'")),
                 QString::number(-100 * kTransfers));
        QVERIFY(m_admin->exec(QStringLiteral("SELECT audit.seal()")).ok);
        violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }
};

QTEST_GUILESS_MAIN(TestFaultDisk)
#include "tst_faultdisk.moc"
