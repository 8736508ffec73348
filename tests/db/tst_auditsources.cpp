// Step 6, the audit trail's sources: it cannot be poisoned or forged. The attacks of the
// security issue, performed against a real server and shown to fail:
//  - a user name that is not UTF-8 in the server log, which stopped the collector (and the
//    reaper sharing its transaction) for good;
//  - statements whose text holds CSV-looking records of refused sign-ins (over 16 MiB, or
//    inside quoted text), and errors raised with a chosen SQLSTATE, read as real records;
//  - a log truncated or replaced under the same name, never read again;
//  - `SET audit.announced = 'on'`, which let a transaction's events skip the sealer's
//    announcement;
//  - audit.verified events forged through audit.record_verification;
//  - refusals of ended sessions, recorded through a loopback that failed on some clusters.
// The collector is access.collect_signin_failures(), which reads the cluster's CSV log.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "Ledgerctl.h"
#include "ServerLogWatcher.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbException.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QTest>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

class TestAuditSources : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<test::ServerLogWatcher> m_log; // the log writer is a process of its own

    // Until condition() holds, looked at as the server's log is written.
    template <class F> bool logged(F condition) { return m_log->waitUntil(condition); }
    std::unique_ptr<SqlSession> m_admin;

    static QString secretOf(const QString &op) { return op + QStringLiteral("-long-lived-secret"); }

    QString dsnAs(const QString &user, const QString &password) const
    {
        return withCredentials(m_db.adminDsn(), user, password);
    }

    QString sessionDsn(const AccessRepository::Credentials &c) const
    {
        return dsnAs(c.role, c.password);
    }

    void addOperator(const QString &op, const QStringList &groups)
    {
        Connection admin(m_db.adminDsn());
        AccessRepository::addOperator(admin, op, groups, secretOf(op));
    }

    AccessRepository::Credentials issue(const QString &op)
    {
        Connection broker(dsnAs(AccessRepository::brokerRole(op), secretOf(op)));
        return AccessRepository::issueSession(broker, std::nullopt, {});
    }

    // A real refused sign-in of an operator's broker (a wrong secret).
    bool failSignIn(const QString &op)
    {
        const Error e = errorOf([&] {
            Connection c(dsnAs(AccessRepository::brokerRole(op), QStringLiteral("wrong-secret")));
        });
        return e.kind == Error::Kind::Authentication;
    }

    QString scalar(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

    bool collect()
    {
        const auto r = m_admin->exec(QStringLiteral("SELECT access.collect_signin_failures()"));
        if (!r.ok)
            qWarning("collector: %s", qPrintable(r.message));
        return r.ok;
    }

    int signinFailuresOf(const QString &op)
    {
        // Failures are folded into one event per role, address and kind in each collection.
        return scalar(QStringLiteral("SELECT coalesce(sum((details->>'count')::int), 0) FROM "
                                     "audit.events WHERE action = 'session.signin_failed' AND "
                                     "object_id = $1"),
                      {op})
            .toInt();
    }

    // Collects, then counts (waited for as the log is written: the writer is a process of
    // its own).
    int collectedSigninFailuresOf(const QString &op)
    {
        collect();
        return signinFailuresOf(op);
    }

    QString logFile()
    {
        return m_db.dataDir() + QLatin1Char('/') +
               scalar(QStringLiteral("SELECT pg_current_logfile('csvlog')"));
    }

    QByteArray logBytes()
    {
        QFile f(logFile());
        if (!f.open(QIODevice::ReadOnly))
            return {};
        return f.readAll();
    }

    // Whether the record holding `marker` is in the log whole (its final newline written).
    bool loggedWhole(const QByteArray &marker)
    {
        const QByteArray log = logBytes();
        const qsizetype at = log.indexOf(marker);
        return at >= 0 && log.indexOf('\n', at) > at;
    }

    // Every file of a cluster's log directory.
    static QByteArray allLogs(const QString &dataDir)
    {
        QByteArray all;
        QDirIterator it(dataDir + QStringLiteral("/log"), QDir::Files);
        while (it.hasNext()) {
            QFile f(it.next());
            if (f.open(QIODevice::ReadOnly))
                all += f.readAll();
        }
        return all;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        m_log = std::make_unique<test::ServerLogWatcher>(m_db.dataDir());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('S-CASH', 'Cash', 'EUR', 'asset')"))
                    .ok);
        addOperator(QStringLiteral("pia"), {QStringLiteral("console_operator")});
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // A connection attempt whose user name is not valid UTF-8 puts those bytes in the log;
    // the collector reads past them, records the real refused sign-in after them, and keeps
    // going; the reaper exits 0.
    void aUserNameThatIsNotUtf8DoesNotStopTheCollector()
    {
        QVERIFY(collect());
        const QString allFailures = QStringLiteral(
            "SELECT coalesce(sum((details->>'count')::int), 0) FROM audit.events WHERE action = "
            "'session.signin_failed'");
        const int before = scalar(allFailures).toInt();
        QCOMPARE(signinFailuresOf(QStringLiteral("pia")), 0);

        QProcess psql;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_TEST_HOST"),
                   scalar(QStringLiteral("SELECT current_setting('unix_socket_directories')")));
        env.insert(QStringLiteral("LEDGER_TEST_PORT"),
                   scalar(QStringLiteral("SELECT current_setting('port')")));
        psql.setProcessEnvironment(env);
        psql.start(QStringLiteral("/bin/sh"),
                   {QStringLiteral("-c"),
                    QStringLiteral("PGUSER=$(printf 'evil\\377\\376') PGPASSWORD=x /usr/bin/psql "
                                   "\"host=$LEDGER_TEST_HOST port=$LEDGER_TEST_PORT "
                                   "dbname=ledger\" -c 'select 1'")});
        QVERIFY(psql.waitForFinished(60000));
        const QByteArray psqlErr = psql.readAllStandardError();
        QVERIFY2(psql.exitCode() != 0 && psqlErr.contains("authentication failed"),
                 psqlErr.constData());

        // The bytes are in the log: as text, the file can no longer be read at all.
        QVERIFY(logged([&] { return logBytes().contains("\"evil\xff\xfe\""); }));
        const auto asText = m_admin->exec(
            QStringLiteral("SELECT length(pg_read_file(pg_current_logfile('csvlog')))"));
        QVERIFY2(!asText.ok && asText.sqlState == QLatin1String("22021"),
                 qPrintable(asText.sqlState + QLatin1Char(' ') + asText.message));

        // The real refusal after it is recorded, exactly once, and the collector goes on.
        QVERIFY(failSignIn(QStringLiteral("pia")));
        QVERIFY(logged([&] { return collectedSigninFailuresOf(QStringLiteral("pia")) >= 1; }));
        QVERIFY(collect());
        QVERIFY(collect());
        QCOMPARE(signinFailuresOf(QStringLiteral("pia")), 1);
        QCOMPARE(scalar(allFailures).toInt(), before + 1);
        QVERIFY(failSignIn(QStringLiteral("pia")));
        QVERIFY(logged([&] { return collectedSigninFailuresOf(QStringLiteral("pia")) >= 2; }));
        QCOMPARE(signinFailuresOf(QStringLiteral("pia")), 2);
        QCOMPARE(scalar(allFailures).toInt(), before + 2);

        const test::LedgerctlRun reap =
            test::runLedgerctl({QStringLiteral("access"), QStringLiteral("reap"),
                                QStringLiteral("--dsn"), m_db.adminDsn()});
        QVERIFY2(reap.exitCode == 0, qPrintable(reap.describe()));
    }

    // With the log unreadable (the owner may not read it), the reaper still reaps, through
    // AccessRepository::reap and `ledgerctl access reap`, and says what went wrong.
    // A flood of failed sign-ins (anyone who can reach the server can make thousands) is one
    // event per role, address and kind in each collection, with a count; and failing
    // sign-in calls cannot hold the collector: a call that fails its checks never reads the
    // log, so it never holds the reading position while its transaction stays open.
    void floodsAreFoldedAndCannotHoldTheCollector()
    {
        addOperator(QStringLiteral("flo"), {QStringLiteral("console_operator")});
        QVERIFY(collect());
        const QByteArray refused = "password authentication failed for user \"\"lc_op_flo\"\"";
        for (int i = 0; i < 25; ++i)
            QVERIFY(failSignIn(QStringLiteral("flo")));
        QVERIFY(logged([&] { return allLogs(m_db.dataDir()).count(refused) >= 25; }));
        QCOMPARE(allLogs(m_db.dataDir()).count(refused), 25);
        QVERIFY(collect());
        QCOMPARE(signinFailuresOf(QStringLiteral("flo")), 25);
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                       "'session.signin_failed' AND object_id = 'flo'")),
                 QStringLiteral("1"));

        // A broker's sign-in call that fails, in a transaction it keeps open.
        SqlSession broker(dsnAs(AccessRepository::brokerRole(QStringLiteral("flo")),
                                secretOf(QStringLiteral("flo"))));
        QVERIFY(broker.run(QStringLiteral("BEGIN")).ok);
        QCOMPARE(broker.run(QStringLiteral("SELECT * FROM access.issue_session('not a verifier')"))
                     .sqlState,
                 QStringLiteral("LG049"));
        QVERIFY(failSignIn(QStringLiteral("flo")));
        QVERIFY(logged([&] { return allLogs(m_db.dataDir()).count(refused) >= 26; }));
        QCOMPARE(allLogs(m_db.dataDir()).count(refused), 26);
        Connection admin(m_db.adminDsn());
        const auto report = AccessRepository::reap(admin);
        QVERIFY2(report.collectorError.isEmpty(), qPrintable(report.collectorError));
        QCOMPARE(signinFailuresOf(QStringLiteral("flo")), 26);
        broker.run(QStringLiteral("ROLLBACK"));
    }

    void theReaperWorksWhenTheLogCannotBeRead()
    {
        const QString reapedAt = QStringLiteral(
            "SELECT reaped_at IS NOT NULL FROM access.sessions WHERE role_name = $1");
        {
            QVERIFY(
                m_admin
                    ->exec(QStringLiteral("REVOKE EXECUTE ON FUNCTION ledger_priv.log_read(text, "
                                          "bigint, integer) FROM ledger_owner"))
                    .ok);
            const auto restore = qScopeGuard([&] {
                m_admin->exec(QStringLiteral("GRANT EXECUTE ON FUNCTION ledger_priv.log_read(text, "
                                             "bigint, integer) TO ledger_owner"));
            });
            QCOMPARE(
                m_admin->exec(QStringLiteral("SELECT access.collect_signin_failures()")).sqlState,
                QStringLiteral("42501"));

            // Signing in still works (the collector's failure is only a warning there).
            const auto ended = issue(QStringLiteral("pia"));
            {
                Connection s(sessionDsn(ended));
                AccessRepository::endSession(s);
            }
            Connection admin(m_db.adminDsn());
            const auto report = AccessRepository::reap(admin);
            QVERIFY(report.sessionsReaped >= 1);
            QVERIFY(!report.signinFailures.has_value());
            QVERIFY2(!report.collectorError.isEmpty(), "no collector error reported");
            QCOMPARE(scalar(reapedAt, {ended.role}), QStringLiteral("t"));
            QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM pg_roles WHERE rolname = $1"),
                            {ended.role}),
                     QStringLiteral("0"));

            const auto endedToo = issue(QStringLiteral("pia"));
            {
                Connection s(sessionDsn(endedToo));
                AccessRepository::endSession(s);
            }
            const test::LedgerctlRun reap =
                test::runLedgerctl({QStringLiteral("access"), QStringLiteral("reap"),
                                    QStringLiteral("--dsn"), m_db.adminDsn()});
            QVERIFY2(reap.exitCode == 1, qPrintable(reap.describe()));
            QVERIFY2(QString(reap.out + reap.err).contains(QLatin1String("reaped 1 session(s)")),
                     qPrintable(reap.describe()));
            QVERIFY2(QString(reap.out + reap.err)
                         .contains(QLatin1String("the server log could not be read")),
                     qPrintable(reap.describe()));
            QCOMPARE(scalar(reapedAt, {endedToo.role}), QStringLiteral("t"));
        }
        QVERIFY(collect());
    }

    // A log truncated, or replaced by a file at least as long as what was read, under the
    // same name is read from its start; nothing is recorded twice.
    void aTruncatedOrReplacedLogIsReadFromItsStart()
    {
        QVERIFY(collect());
        const int before = signinFailuresOf(QStringLiteral("pia"));
        QFile log(logFile());
        QVERIFY(log.exists());

        QVERIFY(log.resize(0));
        QVERIFY(failSignIn(QStringLiteral("pia")));
        QVERIFY(
            logged([&] { return collectedSigninFailuresOf(QStringLiteral("pia")) >= before + 1; }));
        QCOMPARE(signinFailuresOf(QStringLiteral("pia")), before + 1);
        QVERIFY(collect());
        QVERIFY(collect());
        QCOMPARE(signinFailuresOf(QStringLiteral("pia")), before + 1);
        // What the collector remembers of the file is the file's first bytes, as far as it
        // read (taken before the logger wrote them, it was empty and matched any file).
        const qint64 offset =
            scalar(QStringLiteral("SELECT byte_offset FROM access.auth_log_position")).toLongLong();
        const QByteArray head =
            scalar(QStringLiteral("SELECT encode(file_head, 'hex') FROM access.auth_log_position"))
                .toLatin1();
        QCOMPARE(head, logBytes().left(int(qMin<qint64>(64, offset))).toHex());

        // Replaced: the refusal is near the top of the new file, and the file grows past
        // where the collector stopped in the old one before it looks again. Only the file's
        // first bytes tell the two apart.
        QVERIFY(offset > 0);
        QVERIFY(log.resize(0));
        QVERIFY(failSignIn(QStringLiteral("pia")));
        const auto padding = m_admin->run(QStringLiteral("SELECT 1/0 /* %1 */")
                                              .arg(QString(int(offset) + 4096, QLatin1Char('p'))));
        QCOMPARE(padding.sqlState, QStringLiteral("22012"));
        QVERIFY(logged([&] { return QFileInfo(logFile()).size() > offset + 4096; }));
        QVERIFY(logBytes().left(int(offset)).contains("\"lc_op_pia\""));
        QVERIFY(collect());
        QCOMPARE(signinFailuresOf(QStringLiteral("pia")), before + 2);
        QVERIFY(collect());
        QCOMPARE(signinFailuresOf(QStringLiteral("pia")), before + 2);
    }

    // Statements whose text holds records of refused sign-ins (the exact shape of a real
    // one, and the same without quotes, which is a valid 26-field record on its own line):
    // over 16 MiB with the records around the 16 MiB mark and at the end, and short with
    // them in a string literal, a quoted identifier and a comment. Also errors raised with
    // the SQLSTATEs the collector looks for. None is recorded; reading stays aligned.
    void forgedRecordsAreNotRecorded()
    {
        addOperator(QStringLiteral("vic"), {QStringLiteral("console_supervisor")});
        addOperator(QStringLiteral("sam"), {QStringLiteral("console_auditor")});
        addOperator(QStringLiteral("mal"), {QStringLiteral("console_operator")});
        QVERIFY(collect());

        // The shape of a real record, taken from the log.
        QVERIFY(failSignIn(QStringLiteral("sam")));
        QByteArray real;
        const auto findReal = [&] {
            for (const QByteArray &line : logBytes().split('\n')) {
                if (line.contains(",\"lc_op_sam\",") && line.contains(",28P01,") &&
                    line.contains(",\"authentication\","))
                    real = line;
            }
            return !real.isEmpty();
        };
        QVERIFY(logged(findReal));
        QVERIFY(logged([&] { return collectedSigninFailuresOf(QStringLiteral("sam")) >= 1; }));
        QCOMPARE(signinFailuresOf(QStringLiteral("sam")), 1);
        QByteArray quoted = real;
        quoted.replace("lc_op_sam", "lc_op_vic");
        QByteArray bare = quoted;
        bare.replace("\"", "");
        QCOMPARE(bare.split(',').size(), 26);
        QCOMPARE(bare.split(',').value(1), QByteArray("lc_op_vic"));
        const QByteArray forged = quoted + '\n' + bare + '\n';
        // What a line-by-line reader would take for a refused sign-in of lc_op_vic.
        const auto forgedLines = [&] {
            int n = 0;
            for (const QByteArray &line : logBytes().split('\n')) {
                const QList<QByteArray> f = line.split(',');
                n += f.size() == 26 && f[1] == "lc_op_vic" && f[7] == "authentication" &&
                     f[12] == "28P01";
            }
            return n;
        };
        QCOMPARE(forgedLines(), 0);

        const auto mal = issue(QStringLiteral("mal"));
        SqlSession attacker(sessionDsn(mal));

        // (a) Over 16 MiB.
        const QString skipped = QStringLiteral(
            "SELECT count(*) FROM audit.events WHERE action = 'server_log.skipped' AND "
            "details->>'reason' LIKE 'record longer than 16 MiB%'");
        const int skippedBefore = scalar(skipped).toInt();
        constexpr int MiB = 1024 * 1024;
        QByteArray huge("SELECT 1/0 /*\n");
        huge.reserve(qsizetype(17) * MiB);
        const QByteArray filler = QByteArray(99, 'f') + '\n';
        while (huge.size() < 16 * MiB - 64 * 1024)
            huge += filler;
        while (huge.size() < 16 * MiB + 64 * 1024)
            huge += forged;
        while (huge.size() < 16 * MiB + 256 * 1024)
            huge += filler;
        huge += forged + "forged-16-mib-end */";
        QCOMPARE(attacker.run(QString::fromLatin1(huge)).sqlState, QStringLiteral("22012"));
        QVERIFY(logged([&] { return loggedWhole("forged-16-mib-end"); }));
        QVERIFY2(forgedLines() > 100, "the forged records are not in the log");
        QVERIFY(collect());
        QCOMPARE(signinFailuresOf(QStringLiteral("vic")), 0);
        QCOMPARE(scalar(skipped).toInt(), skippedBefore + 1);
        QVERIFY(scalar(QStringLiteral("SELECT max((details->>'bytes')::bigint) FROM audit.events "
                                      "WHERE action = 'server_log.skipped'"))
                    .toLongLong() > qint64(16) * MiB);

        // (b) Short, in a string literal, a quoted identifier and a comment.
        QByteArray literal = forged;
        literal.replace("'", "''");
        const QByteArray shortOne = "SELECT 1/0 AS \"a\"\"\n" + bare + "\n\", '\n" + literal +
                                    "' AS b /*\n" + forged + "forged-short-end */";
        QCOMPARE(attacker.run(QString::fromLatin1(shortOne)).sqlState, QStringLiteral("22012"));
        QVERIFY(logged([&] { return loggedWhole("forged-short-end"); }));
        QVERIFY(collect());
        QCOMPARE(signinFailuresOf(QStringLiteral("vic")), 0);

        // Errors with the collector's SQLSTATEs, raised by a live session of the victim.
        const auto vic = issue(QStringLiteral("vic"));
        {
            SqlSession victim(sessionDsn(vic));
            QCOMPARE(victim
                         .run(QStringLiteral("DO $$ BEGIN RAISE EXCEPTION 'forged-28P01' USING "
                                             "ERRCODE = '28P01'; END $$"))
                         .sqlState,
                     QStringLiteral("28P01"));
            QCOMPARE(victim
                         .run(QStringLiteral("DO $$ BEGIN RAISE EXCEPTION 'forged-LG042' USING "
                                             "ERRCODE = 'LG042'; END $$"))
                         .sqlState,
                     QStringLiteral("LG042"));
        }
        QVERIFY(logged([&] { return loggedWhole(",LG042,\"forged-LG042\""); }));
        QVERIFY(logBytes().contains(",28P01,\"forged-28P01\""));

        // A real refusal after all that is recorded: the reading stayed aligned, and it is
        // the victim's only one.
        QVERIFY(failSignIn(QStringLiteral("vic")));
        QVERIFY(logged([&] { return collectedSigninFailuresOf(QStringLiteral("vic")) >= 1; }));
        QCOMPARE(signinFailuresOf(QStringLiteral("vic")), 1);
        QCOMPARE(scalar(QStringLiteral("SELECT session_role || ' ' || (details->>'role') FROM "
                                       "audit.events WHERE action = 'session.signin_failed' AND "
                                       "object_id = 'vic'")),
                 QStringLiteral("lc_op_vic lc_op_vic"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                       "'session.refused' AND object_id = $1"),
                        {vic.role}),
                 QStringLiteral("0"));
    }

    // `SET audit.announced = 'on'` (and SET LOCAL) no longer lets a transaction's events
    // skip the announcement the sealer's floor relies on; nor does a rolled-back savepoint.
    void announcingCannotBeSkipped()
    {
        addOperator(QStringLiteral("ann"), {QStringLiteral("console_operator")});
        const auto ann = issue(QStringLiteral("ann"));
        SqlSession s(sessionDsn(ann));
        const QString pid = QString::number(s.backendPid()); // before any BEGIN: it commits
        // The balance reads below are on record first (0032_reads_on_record.sql).
        QVERIFY(s.exec(QStringLiteral("SELECT ledger.record_read('balance', 'S-CASH')")).ok);
        const auto announced = [&] {
            return scalar(QStringLiteral("SELECT count(*) FROM pg_locks WHERE locktype = "
                                         "'advisory' AND mode = 'ShareLock' AND granted AND "
                                         "pid = $1"),
                          {pid})
                .toInt();
        };
        const QString balance = QStringLiteral("SELECT amount FROM ledger.balance('S-CASH')");
        const QString events = QStringLiteral(
            "SELECT count(*) || ' ' || count(*) FILTER (WHERE seq IS NULL) FROM audit.events "
            "WHERE action = 'balance.asked' AND session_role = $1");

        QVERIFY(s.run(QStringLiteral("BEGIN")).ok);
        QVERIFY(s.run(QStringLiteral("SET audit.announced = 'on'")).ok);
        QVERIFY(s.run(QStringLiteral("SET LOCAL audit.announced = 'on'")).ok);
        QCOMPARE(s.run(QStringLiteral("SHOW audit.announced")).rows.value(0).value(0),
                 QStringLiteral("on"));
        const QString xact =
            s.run(QStringLiteral("SELECT pg_current_xact_id()::text")).rows.value(0).value(0);
        QVERIFY(!xact.isEmpty());
        QCOMPARE(announced(), 0);
        QVERIFY(s.run(balance).ok);
        QCOMPARE(announced(), 1);
        test::sealAtNextCommit(*m_admin); // the commit's own seal must find the event
        QVERIFY(s.run(QStringLiteral("COMMIT")).ok);
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT xact::text FROM audit.announcements WHERE backend_pid = $1"),
                        {pid}),
                 xact);
        QCOMPARE(scalar(events, {ann.role}), QStringLiteral("1 0"));

        // A savepoint rolled back undoes the announcement with the event; the next event
        // announces again.
        QVERIFY(s.run(QStringLiteral("BEGIN; SET LOCAL audit.announced = 'on'")).ok);
        QVERIFY(s.run(QStringLiteral("SAVEPOINT a")).ok);
        QVERIFY(s.run(balance).ok);
        QCOMPARE(announced(), 1);
        QVERIFY(s.run(QStringLiteral("ROLLBACK TO SAVEPOINT a")).ok);
        QCOMPARE(announced(), 0);
        QVERIFY(s.run(balance).ok);
        QCOMPARE(announced(), 1);
        test::sealAtNextCommit(*m_admin); // the commit's own seal must find the event
        QVERIFY(s.run(QStringLiteral("COMMIT")).ok);
        QCOMPARE(announced(), 0);
        QCOMPARE(scalar(events, {ann.role}), QStringLiteral("2 0"));
    }

    // audit.record_verification takes only what a verifier that read the chain can know.
    void forgedVerificationsAreRefused()
    {
        SqlSession auditor(m_db.dsnFor(QStringLiteral("console_auditor")));
        QVERIFY(auditor.exec(QStringLiteral("SELECT audit.seal()")).ok);
        const auto head = m_admin->exec(QStringLiteral(
            "SELECT seq, encode(hash, 'hex') FROM audit.events WHERE seq IS NOT NULL ORDER BY "
            "seq DESC LIMIT 2"));
        QVERIFY(head.ok && head.rows.size() == 2);
        const qint64 seq = head.rows[0][0].toLongLong();
        const QString hash = head.rows[0][1];
        const QString previousHash = head.rows[1][1];
        const QJsonObject genuine{{QStringLiteral("verified_through"), seq},
                                  {QStringLiteral("hash_at_verified"), hash},
                                  {QStringLiteral("events_checked"), seq},
                                  {QStringLiteral("seconds"), 0.25}};
        const auto with = [&](const QJsonObject &changes) {
            QJsonObject o = genuine;
            for (auto it = changes.begin(); it != changes.end(); ++it)
                o.insert(it.key(), it.value());
            return o;
        };
        const QList<QPair<const char *, QJsonObject>> forgeries{
            {"verified beyond the chain", with({{QStringLiteral("verified_through"), seq + 10},
                                                {QStringLiteral("events_checked"), seq + 10}})},
            {"a made-up hash",
             with({{QStringLiteral("hash_at_verified"), QString(64, QLatin1Char('0'))}})},
            {"the hash of another event",
             with({{QStringLiteral("hash_at_verified"), previousHash}})},
            {"a break before what was verified",
             with({{QStringLiteral("broken_at"), seq - 1},
                   {QStringLiteral("reason"), QStringLiteral("hash mismatch")}})},
            {"a break where it was verified",
             with({{QStringLiteral("broken_at"), seq},
                   {QStringLiteral("reason"), QStringLiteral("hash mismatch")}})},
            {"more events checked than verified",
             with({{QStringLiteral("events_checked"), seq + 1}})},
            {"an extra key: verifier", with({{QStringLiteral("verifier"), QStringLiteral("sql")}})},
            {"an extra key: intact", with({{QStringLiteral("intact"), true}})},
            {"a 5 MB reason", with({{QStringLiteral("broken_at"), seq + 1},
                                    {QStringLiteral("reason"),
                                     QString(qsizetype(5) * 1024 * 1024, QLatin1Char('r'))}})},
            {"control characters in the reason",
             with({{QStringLiteral("broken_at"), seq + 1},
                   {QStringLiteral("reason"),
                    QStringLiteral("row changed\n2026-12-01 audit.verified intact \x1b[32mOK")}})},
        };
        const QString verified =
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'audit.verified'");
        const QString before = scalar(verified);
        for (const auto &[what, forgery] : forgeries) {
            const auto r = auditor.exec(
                QStringLiteral("SELECT audit.record_verification($1)"),
                {QString::fromUtf8(QJsonDocument(forgery).toJson(QJsonDocument::Compact))});
            QVERIFY2(!r.ok && r.sqlState == QLatin1String("LG051"),
                     qPrintable(QStringLiteral("%1: %2 %3")
                                    .arg(QLatin1String(what), r.sqlState, r.message.left(200))));
        }
        QCOMPARE(scalar(verified), before);
        // The same record with nothing forged is accepted (what the refusals were about).
        QVERIFY(
            auditor
                .exec(QStringLiteral("SELECT audit.record_verification($1)"),
                      {QString::fromUtf8(QJsonDocument(genuine).toJson(QJsonDocument::Compact))})
                .ok);

        // A genuine verification by the C++ verifier, recorded by ledgerctl.
        const QString newest =
            QStringLiteral("SELECT max(id) FROM audit.events WHERE action = 'audit.verified' AND "
                           "details->>'verifier' = 'client'");
        const QString last = scalar(newest);
        const test::LedgerctlRun verify = test::runLedgerctl(
            {QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--dsn"),
             m_db.dsnFor(QStringLiteral("console_auditor"))});
        QVERIFY2(verify.exitCode == 0, qPrintable(verify.describe()));
        const QString id = scalar(newest);
        QVERIFY(id != last);
        const QString keys =
            scalar(QStringLiteral("SELECT string_agg(k, ',' ORDER BY k) FROM audit.events e, "
                                  "jsonb_object_keys(e.details) k WHERE e.id = $1"),
                   {id});
        const QStringList known{
            QStringLiteral("verified_through"), QStringLiteral("hash_at_verified"),
            QStringLiteral("events_checked"),   QStringLiteral("seconds"),
            QStringLiteral("broken_at"),        QStringLiteral("reason"),
            QStringLiteral("checkpoint_seq"),   QStringLiteral("verifier")};
        for (const QString &k : keys.split(QLatin1Char(',')))
            QVERIFY2(known.contains(k), qPrintable(keys));
        for (const char *required : {"verified_through", "hash_at_verified", "events_checked"})
            QVERIFY2(keys.contains(QLatin1String(required)), qPrintable(keys));
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT c.hash = decode(v.details->>'hash_at_verified', 'hex') FROM "
                            "audit.events v JOIN audit.events c ON c.seq = "
                            "(v.details->>'verified_through')::bigint WHERE v.id = $1"),
                        {id}),
                 QStringLiteral("t"));
    }

    // Refusals of revoked, ended and expired sessions come from the server's own log, on
    // clusters where non-superusers authenticate with a password and where they are
    // trusted; a refusal-shaped error a live session raises itself is not one.
    void refusalsAreRecordedWithoutTheLoopback_data()
    {
        QTest::addColumn<QString>("auth");
        QTest::newRow("password") << QStringLiteral("scram-sha-256");
        QTest::newRow("trust") << QStringLiteral("trust");
    }

    void refusalsAreRecordedWithoutTheLoopback()
    {
        QFETCH(QString, auth);
        std::unique_ptr<test::TestCluster> trusting;
        test::TestCluster *cluster = &m_db;
        if (auth == QLatin1String("trust")) {
            trusting = std::make_unique<test::TestCluster>();
            trusting->setLocalAuth(QStringLiteral("trust"));
            QVERIFY2(trusting->start(), qPrintable(trusting->lastError()));
            cluster = trusting.get();
        }
        SqlSession admin(cluster->adminDsn());
        QCOMPARE(admin.scalar(QStringLiteral(
                     "SELECT auth_method FROM pg_hba_file_rules WHERE 'all' = ANY (user_name)")),
                 auth);
        Connection adminConnection(cluster->adminDsn());
        const QString op = QStringLiteral("rita");
        AccessRepository::addOperator(adminConnection, op, {QStringLiteral("console_operator")},
                                      secretOf(op));
        const auto issueOn = [&](std::optional<qint64> ttl = std::nullopt) {
            Connection broker(withCredentials(cluster->adminDsn(), AccessRepository::brokerRole(op),
                                              secretOf(op)));
            return AccessRepository::issueSession(broker, ttl, {});
        };
        const auto dsnOn = [&](const AccessRepository::Credentials &c) {
            return withCredentials(cluster->adminDsn(), c.role, c.password);
        };
        const auto stateOf = [&](Connection &c) {
            return errorOf([&] { AccessRepository::sessionInfo(c); }).sqlState;
        };

        // Revoked.
        const auto revoked = issueOn();
        Connection revokedConnection(dsnOn(revoked));
        QCOMPARE(stateOf(revokedConnection), QString());
        QCOMPARE(AccessRepository::revokeSessions(adminConnection, op), 1);
        QCOMPARE(stateOf(revokedConnection), QStringLiteral("LG042"));
        // A live session raising a refusal's SQLSTATE itself.
        const auto live = issueOn();
        SqlSession liveSession(dsnOn(live));
        QCOMPARE(liveSession
                     .run(QStringLiteral("DO $$ BEGIN RAISE EXCEPTION 'refusal-shaped' USING "
                                         "ERRCODE = 'LG041'; END $$"))
                     .sqlState,
                 QStringLiteral("LG041"));
        // Ended.
        const auto ended = issueOn();
        Connection endedConnection(dsnOn(ended));
        AccessRepository::endSession(endedConnection);
        QCOMPARE(stateOf(endedConnection), QStringLiteral("LG044"));
        // Expired.
        const auto expiring = issueOn(1); // the shortest lifetime there is
        Connection expiringConnection(dsnOn(expiring));
        test::waitUntilPast(expiring.expiresAt); // then its one call is refused
        QCOMPARE(stateOf(expiringConnection), QStringLiteral("LG041"));

        const auto refusals = [&](const QString &role, const QString &reason) {
            admin.exec(QStringLiteral("SELECT access.collect_signin_failures()"));
            return admin
                .scalar(QStringLiteral("SELECT coalesce(sum((details->>'count')::int), 0) FROM "
                                       "audit.events WHERE action = 'session.refused' AND "
                                       "object_id = $1 AND details->>'reason' = $2"),
                        {role, reason})
                .toInt();
        };
        test::ServerLogWatcher clusterLog(cluster->dataDir());
        QVERIFY(clusterLog.waitUntil(
            [&] { return refusals(expiring.role, QStringLiteral("expired")) >= 1; }));
        QCOMPARE(refusals(expiring.role, QStringLiteral("expired")), 1);
        QCOMPARE(refusals(revoked.role, QStringLiteral("revoked")), 1);
        QCOMPARE(refusals(ended.role, QStringLiteral("ended")), 1);
        QCOMPARE(admin.scalar(QStringLiteral(
                     "SELECT string_agg(DISTINCT operator || ' ' || (details->>'reason'), ', ' "
                     "ORDER BY operator || ' ' || (details->>'reason')) FROM audit.events WHERE "
                     "action = 'session.refused'")),
                 QStringLiteral("rita ended, rita expired, rita revoked"));
        QCOMPARE(admin.scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                             "'session.refused' AND object_id = $1"),
                              {live.role}),
                 QStringLiteral("0"));

        // The log holds the refusals and the live session's error, and no failed attempt to
        // record anything.
        const QByteArray logs = allLogs(cluster->dataDir());
        QVERIFY(logs.contains(",LG042,"));
        QVERIFY(logs.contains(",LG041,\"refusal-shaped\""));
        QVERIFY(!logs.contains("could not record the refusal"));
    }
};

QTEST_GUILESS_MAIN(TestAuditSources)
#include "tst_auditsources.moc"
