// Step 11, the reporting store on a server of its own (0036_reporting_replica.sql,
// ReplicaAdmin): two real clusters, the ledger with wal_level = logical. Setup is refused
// with what to change when the ledger's server cannot publish or the reporting store's
// server cannot reach it; it is idempotent; postings (backdated ones and a reversal) reach the
// reporting store and its daily totals equal the same totals computed from its raw entries
// and from the ledger's; the reporting store stopped mid-stream and started again loses
// and doubles nothing; status and `ledgerctl reporting replica status` say where it stands.
// Operators sign in to the reporting store with their ledger secret (0037): one registered
// before the setup and one after; a secret changed on the ledger changes there, an operator
// disabled on the ledger is disabled there (sessions revoked); the verifiers that make this
// work are out of reach of every session on both servers; sign-ins on the ledger (which
// update the replicated registry) do not stop replication.
//
// Waiting for the apply worker without a timer: the test gives the reporting store a row
// trigger of its own (enabled for the apply worker) that logs each applied entry, and
// re-reads the counts each time the server log is written (ServerLogWatcher).

#include "ErrorOf.h"
#include "Ledgerctl.h"
#include "ServerLogWatcher.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "console/ReportService.h"
#include "db/Connection.h"
#include "db/DbWorker.h"
#include "db/ReplicaAdmin.h"

#include <QJsonArray>
#include <QTest>

#include <tuple>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

class TestReplica : public QObject
{
    Q_OBJECT

    test::TestCluster m_primary;
    test::TestCluster m_replica;
    std::unique_ptr<SqlSession> m_ledger;
    std::unique_ptr<test::ServerLogWatcher> m_replicaLog;
    std::unique_ptr<test::ServerLogWatcher> m_primaryLog;
    int m_key = 0;

    // A transfer on the ledger, effective on `day` (backdated when in the past).
    void post(const QString &from, const QString &to, const QString &amount, const QString &day,
              const QString &currency = QStringLiteral("EUR"))
    {
        const auto r = m_ledger->exec(
            QStringLiteral(
                "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', 'rp-' || $1, "
                "'effective_at', $2 || 'T12:00:00Z', 'description', 'transfer', 'legs', "
                "jsonb_build_array(jsonb_build_object('account', $3::text, 'amount', $5::text, "
                "'currency', $6::text), jsonb_build_object('account', $4::text, 'amount', '-' || "
                "$5, 'currency', $6::text))))"),
            {QString::number(++m_key), day, to, from, amount, currency});
        QVERIFY2(r.ok, qPrintable(r.message));
    }

    void postSome(int n)
    {
        const QStringList accounts{QStringLiteral("CASH"), QStringLiteral("CUST-1"),
                                   QStringLiteral("CUST-2"), QStringLiteral("FEES")};
        for (int i = 0; i < n; ++i) {
            const int k = m_key + i;
            post(accounts.at(k % 4), accounts.at((k + 1 + k % 3) % 4),
                 QStringLiteral("%1.%2")
                     .arg(1 + (k * 37) % 500)
                     .arg(k % 100, 2, 10, QLatin1Char('0')),
                 // Days spread over two years: most of them backdated.
                 QDate(2025, 1, 1).addDays((k * 53) % 700).toString(Qt::ISODate));
            if (QTest::currentTestFailed())
                return;
        }
    }

    QString replicaScalar(const QString &sql)
    {
        SqlSession s(m_replica.adminDsn());
        return s.scalar(sql);
    }

    // Until the reporting store holds every entry of the ledger; each applied entry writes
    // a log line (the test's trigger), which wakes the wait.
    bool replicaCaughtUp()
    {
        const QString want =
            m_ledger->scalar(QStringLiteral("SELECT count(*) FROM ledger.entries"));
        return m_replicaLog->waitUntil(
            [&] {
                return replicaScalar(QStringLiteral("SELECT count(*) FROM ledger.entries")) == want;
            },
            60000);
    }

    // The reporting store's daily totals, against the same totals from its raw entries and
    // from the ledger's: rows that differ (none when they agree).
    QString totalsDiffer()
    {
        const QString query = QStringLiteral(
            "SELECT coalesce(string_agg(format('%s %s %s %s %s', account_id, day, entries, "
            "debits_minor, credits_minor), ', ' ORDER BY account_id, day), '') FROM (%1) d");
        const QString theirs = m_ledger->scalar(
            query.arg(QStringLiteral("SELECT * FROM reporting.daily_totals_from_entries()")));
        const QString raw = replicaScalar(
            query.arg(QStringLiteral("SELECT * FROM reporting.daily_totals_from_entries()")));
        const QString folded =
            replicaScalar(query.arg(QStringLiteral("SELECT * FROM reporting.daily_totals")));
        if (theirs.isEmpty())
            return QStringLiteral("the ledger has no entries");
        if (folded != raw || raw != theirs)
            return QStringLiteral("folded: %1\nraw: %2\nledger: %3").arg(folded, raw, theirs);
        return {};
    }

    // The store's trial balance from its snapshots (0039; the 15th and month ends, 0059),
    // forwards from the one before the date, backwards from the one after it or from the
    // totals now, equals the trial balance from its copy of the entries: before and after
    // late entries for days the snapshots cover, and after the totals are rebuilt from the
    // entries. The dates: month ends, 15ths, and days a week from both.
    QString storeTrialBalancesDiffer()
    {
        const QString rows = QStringLiteral(
            "SELECT coalesce(string_agg(format('%s %s %s %s', account_code, debit_minor, "
            "credit_minor, entries), ', '), 'none') FROM reporting.trial_balance('%1'%2)");
        QStringList differ;
        for (const QString &day : {QStringLiteral("2024-12-31"), QStringLiteral("2025-01-31"),
                                   QStringLiteral("2025-03-04"), QStringLiteral("2025-03-15"),
                                   QStringLiteral("2025-03-22"), QStringLiteral("2025-03-29"),
                                   QStringLiteral("2025-12-31"), QStringLiteral("2026-02-08"),
                                   QStringLiteral("2026-02-14"), QStringLiteral("2026-02-15"),
                                   QStringLiteral("2026-11-30"), QStringLiteral("2026-12-31")}) {
            const QString folded = replicaScalar(rows.arg(day, QString()));
            const QString raw = replicaScalar(rows.arg(day, QStringLiteral(", now()")));
            if (folded != raw)
                differ << QStringLiteral("%1: %2 | %3").arg(day, folded, raw);
        }
        return differ.join(QLatin1Char('\n'));
    }

    QString ledgerConninfo() const { return m_primary.adminDsn(); }

    static QByteArray secretOf(const QString &op, int version = 1)
    {
        return QStringLiteral("%1-secret-v%2-0123456789\n").arg(op).arg(version).toUtf8();
    }

    test::LedgerctlRun ledgerctlOn(const test::TestCluster &cluster, QStringList args,
                                   const QByteArray &input = {})
    {
        args << QStringLiteral("--dsn") << cluster.adminDsn();
        return test::runLedgerctl(args, {}, input);
    }

    test::LedgerctlRun addOperator(const QString &op)
    {
        return ledgerctlOn(m_primary,
                           {QStringLiteral("access"), QStringLiteral("operator"),
                            QStringLiteral("add"), op, QStringLiteral("--groups"),
                            QStringLiteral("console_auditor"), QStringLiteral("--secret-stdin")},
                           secretOf(op));
    }

    test::LedgerctlRun signIn(const test::TestCluster &cluster, const QString &op,
                              const QByteArray &secret)
    {
        return ledgerctlOn(cluster,
                           {QStringLiteral("access"), QStringLiteral("session"),
                            QStringLiteral("issue"), QStringLiteral("--operator"), op,
                            QStringLiteral("--secret-stdin"), QStringLiteral("--ttl"),
                            QStringLiteral("10m"), QStringLiteral("--json")},
                           secret);
    }

    // Until the reporting store's broker of `op` has the verifier the ledger's has (the
    // store's trigger logs when it sets one).
    bool storeHasBrokerOf(const QString &op)
    {
        const QString query = QStringLiteral(
            "SELECT a.rolpassword FROM pg_authid a WHERE a.rolname = 'lc_op_' || $1");
        const QString want = m_ledger->scalar(query, {op});
        return !want.isEmpty() && m_replicaLog->waitUntil(
                                      [&] {
                                          SqlSession store(m_replica.adminDsn());
                                          return store.scalar(query, {op}) == want;
                                      },
                                      60000);
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_primary.setExtraConfig(
            QStringLiteral("wal_level = logical\nmax_wal_senders = 8\nmax_replication_slots = 8"));
        QVERIFY2(m_primary.start(), qPrintable(m_primary.lastError()));
        // The reporting store: an empty database; setup migrates it.
        QVERIFY2(m_replica.start(false), qPrintable(m_replica.lastError()));
        m_ledger = std::make_unique<SqlSession>(m_primary.adminDsn());
        m_replicaLog = std::make_unique<test::ServerLogWatcher>(m_replica.dataDir());
        m_primaryLog = std::make_unique<test::ServerLogWatcher>(m_primary.dataDir());
        QVERIFY(m_ledger
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH', 'Cash', 'EUR', 'asset', true), "
                        "ledger.open_account('CUST-1', 'Customer 1', 'EUR', 'liability', true), "
                        "ledger.open_account('CUST-2', 'Customer 2', 'EUR', 'liability', true), "
                        "ledger.open_account('FEES', 'Fees', 'EUR', 'income', true)"))
                    .ok);
        postSome(20); // before the setup: the initial copy brings them
        // An operator registered before the setup: the initial copy brings their broker.
        const test::LedgerctlRun added = addOperator(QStringLiteral("rita"));
        QVERIFY2(added.exitCode == 0, qPrintable(added.describe()));
    }

    void aLedgerThatCannotPublishIsRefusedWithWhatToChange()
    {
        // The reporting store's server has the default wal_level (replica): as a "ledger" it
        // cannot publish.
        Connection notLogical(m_replica.adminDsn());
        Connection other(m_primary.adminDsn());
        const Error e =
            errorOf([&] { ReplicaAdmin::setup(notLogical, other, m_replica.adminDsn()); });
        QCOMPARE(e.kind, Error::Kind::Input);
        QVERIFY2(e.message.contains(QLatin1String("wal_level = logical")) &&
                     e.message.contains(QLatin1String("restart")),
                 qPrintable(e.message));
        QCOMPARE(m_ledger->scalar(QStringLiteral("SELECT count(*) FROM pg_publication")),
                 QStringLiteral("0"));
        // One server as both: refused before anything is made.
        Connection again(m_primary.adminDsn());
        const Error same =
            errorOf([&] { ReplicaAdmin::setup(other, again, m_primary.adminDsn()); });
        QVERIFY2(same.message.contains(QLatin1String("another PostgreSQL server")),
                 qPrintable(same.message));
        QCOMPARE(m_ledger->scalar(QStringLiteral("SELECT count(*) FROM pg_publication")),
                 QStringLiteral("0"));
    }

    void anUnreachableLedgerIsRefusedWithWhatToChange()
    {
        Connection primary(m_primary.adminDsn());
        Connection replica(m_replica.adminDsn());
        const QString wrong = m_primary.adminDsn() + QStringLiteral(" port=1 password=s3cret");
        const Error e = errorOf([&] { ReplicaAdmin::setup(primary, replica, wrong); });
        QCOMPARE(e.kind, Error::Kind::Connection);
        QVERIFY2(e.message.contains(QLatin1String("could not reach the ledger")) &&
                     e.message.contains(QLatin1String("pg_hba.conf")),
                 qPrintable(e.message));
        QVERIFY2(!e.message.contains(QLatin1String("s3cret")), qPrintable(e.message));
        QCOMPARE(replicaScalar(QStringLiteral("SELECT count(*) FROM pg_subscription")),
                 QStringLiteral("0"));
        QCOMPARE(ReplicaAdmin::status(&primary, replica).state(), QStringLiteral("not set up"));
    }

    void setupCopiesTheLedgerAndIsIdempotent()
    {
        Connection primary(m_primary.adminDsn());
        Connection replica(m_replica.adminDsn());
        const ReplicaAdmin::SetupReport first =
            ReplicaAdmin::setup(primary, replica, ledgerConninfo());
        QVERIFY(first.subscriptionCreated);
        QCOMPARE(first.tables.size(), 5);
        // The test's own instrument on the reporting store: a log line per applied entry.
        SqlSession store(m_replica.adminDsn());
        QVERIFY(store
                    .exec(QStringLiteral(
                        "CREATE FUNCTION public.log_applied() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$BEGIN RAISE LOG 'tst_replica applied entry %', NEW.id; RETURN NULL; "
                        "END$$; CREATE TRIGGER tst_log_applied AFTER INSERT ON ledger.entries FOR "
                        "EACH ROW EXECUTE FUNCTION public.log_applied(); ALTER TABLE "
                        "ledger.entries ENABLE ALWAYS TRIGGER tst_log_applied"))
                    .ok);
        QVERIFY(replicaCaughtUp());
        QCOMPARE(totalsDiffer(), QString());

        const ReplicaAdmin::SetupReport again =
            ReplicaAdmin::setup(primary, replica, ledgerConninfo());
        QVERIFY(!again.publicationCreated);
        QVERIFY(!again.subscriptionCreated);
        QCOMPARE(again.replicaMigrations, 0);
        // The ledger itself folds nothing: its trigger stays off there.
        QCOMPARE(m_ledger->scalar(QStringLiteral("SELECT count(*) FROM reporting.daily_totals")),
                 QStringLiteral("0"));
    }

    void postingsArriveAndTheTotalsAgree()
    {
        postSome(60);
        // And a reversal, through the four-eyes workflow: its entries are folded like any.
        SqlSession operatorSession(
            m_primary.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olga")));
        const QString request = operatorSession.scalar(
            QStringLiteral("SELECT ledger.request_reversal($1::bigint, 'DUPLICATE', 'posted "
                           "twice', NULL, NULL)"),
            {m_ledger->scalar(QStringLiteral("SELECT max(id) FROM ledger.transactions"))});
        QVERIFY2(request.toLongLong() > 0, qPrintable(request));
        SqlSession supervisor(
            m_primary.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam")));
        QVERIFY(supervisor
                    .exec(QStringLiteral("SELECT ledger.record_read('reversal_request', $1)"),
                          {request})
                    .ok);
        const auto approved = supervisor.exec(
            QStringLiteral(
                "SELECT reversal_transaction_id FROM ledger.approve_reversal($1::bigint, "
                "ledger.reversal_preview($1::bigint) ->> 'digest')"),
            {request});
        QVERIFY2(approved.ok, qPrintable(approved.message));
        QVERIFY(replicaCaughtUp());
        QCOMPARE(replicaScalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                              "kind = 'reversal'")),
                 QStringLiteral("1"));
        QCOMPARE(totalsDiffer(), QString());
        QCOMPARE(replicaScalar(QStringLiteral("SELECT count(*) FROM ledger.transactions")),
                 m_ledger->scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions")));
        // The apply worker marks a table ready after the first transaction it applies past
        // the table's initial copy, before it applies the next: one more posting applied,
        // every table is ready and status says streaming.
        postSome(1);
        QVERIFY(replicaCaughtUp());
        Connection primary(m_primary.adminDsn());
        Connection replica(m_replica.adminDsn());
        const ReplicaAdmin::Status s = ReplicaAdmin::status(&primary, replica);
        QCOMPARE(s.state(), QStringLiteral("streaming"));
        QCOMPARE(s.tablesReady, 5);
        QCOMPARE(s.tablesTotal, 5);
        QVERIFY(s.lagBytes >= 0);
        QVERIFY(s.lastMessageAt.isValid());

        const test::LedgerctlRun run = test::runLedgerctl(
            {QStringLiteral("reporting"), QStringLiteral("replica"), QStringLiteral("status"),
             QStringLiteral("--replica"), m_replica.adminDsn(), QStringLiteral("--primary"),
             m_primary.adminDsn(), QStringLiteral("--json")});
        QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
        QCOMPARE(run.json().value(QStringLiteral("tables")).toInt(), 5);
        QVERIFY(run.json().value(QStringLiteral("lag_bytes")).toDouble() >= 0);
    }

    void operatorsSignInToTheStoreWithTheirLedgerSecret()
    {
        // Registered before the setup.
        QVERIFY(storeHasBrokerOf(QStringLiteral("rita")));
        test::LedgerctlRun r =
            signIn(m_replica, QStringLiteral("rita"), secretOf(QStringLiteral("rita")));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(r.json()
                    .value(QStringLiteral("role"))
                    .toString()
                    .startsWith(QLatin1String("lc_s_rita_")));
        SqlSession ritaOnStore(r.json().value(QStringLiteral("dsn")).toString());
        QCOMPARE(ritaOnStore.scalar(QStringLiteral("SELECT access.check_session()")),
                 QStringLiteral("t"));
        // The store's own trail records its sessions.
        QCOMPARE(replicaScalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                              "'session.issued' AND operator = 'rita'")),
                 QStringLiteral("1"));
        r = signIn(m_replica, QStringLiteral("rita"), "not-ritas-secret-0123456789\n");
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("refused the sign-in")), qPrintable(r.err));

        // The attack: a session, on either server, reading the verifiers it could attack
        // offline, or forging one for the store to set.
        for (const test::SqlOutcome &o :
             {ritaOnStore.exec(QStringLiteral("SELECT verifier FROM access.broker_verifiers")),
              ritaOnStore.exec(
                  QStringLiteral("INSERT INTO access.broker_verifiers VALUES ('lc_op_rita', 'x')")),
              SqlSession(m_primary.dsnFor(QStringLiteral("console_auditor")))
                  .exec(QStringLiteral("SELECT verifier FROM access.broker_verifiers"))}) {
            QVERIFY(!o.ok);
            QVERIFY2(o.message.contains(QLatin1String("permission denied")), qPrintable(o.message));
        }

        // Registered after the setup, signing in on the ledger first: a sign-in updates the
        // replicated registry, and replication goes on past it.
        QVERIFY2(addOperator(QStringLiteral("victor")).exitCode == 0, "victor not added");
        r = signIn(m_primary, QStringLiteral("victor"), secretOf(QStringLiteral("victor")));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        postSome(3);
        QVERIFY(replicaCaughtUp());
        QVERIFY(storeHasBrokerOf(QStringLiteral("victor")));
        QCOMPARE(replicaScalar(QStringLiteral(
                     "SELECT last_issued_at IS NOT NULL FROM access.operators WHERE name = "
                     "'victor'")),
                 QStringLiteral("t"));
        r = signIn(m_replica, QStringLiteral("victor"), secretOf(QStringLiteral("victor")));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));

        // A new secret on the ledger: the store takes it, the old one no longer works there.
        r = ledgerctlOn(m_primary,
                        {QStringLiteral("access"), QStringLiteral("operator"),
                         QStringLiteral("set-secret"), QStringLiteral("victor"),
                         QStringLiteral("--secret-stdin")},
                        secretOf(QStringLiteral("victor"), 2));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(storeHasBrokerOf(QStringLiteral("victor")));
        QCOMPARE(signIn(m_replica, QStringLiteral("victor"), secretOf(QStringLiteral("victor")))
                     .exitCode,
                 1);
        r = signIn(m_replica, QStringLiteral("victor"), secretOf(QStringLiteral("victor"), 2));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));

        // Disabled on the ledger: disabled on the store, her session there revoked.
        r = ledgerctlOn(m_primary, {QStringLiteral("access"), QStringLiteral("operator"),
                                    QStringLiteral("disable"), QStringLiteral("rita")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(m_replicaLog->waitUntil(
            [&] {
                return replicaScalar(QStringLiteral(
                           "SELECT count(*) FROM access.sessions WHERE operator = 'rita' AND "
                           "end_reason = 'revoked'")) == QLatin1String("1");
            },
            60000));
        QCOMPARE(replicaScalar(QStringLiteral(
                     "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'lc_op_rita'")),
                 QStringLiteral("f"));
        const test::SqlOutcome refused =
            ritaOnStore.exec(QStringLiteral("SELECT access.check_session()"));
        QVERIFY(!refused.ok);
        r = signIn(m_replica, QStringLiteral("rita"), secretOf(QStringLiteral("rita")));
        QCOMPARE(r.exitCode, 1);
    }

    // `ledgerctl report trial-balance` on the store and on the ledger: the same rows, debits
    // equal to credits; each run on the ledger's audit chain first; the ledger's copy gated
    // on that record; an unreachable store refused unless the operator chooses the ledger.
    void aTrialBalanceReadsTheStoreAndIsOnTheLedgersRecord()
    {
        postSome(5);
        QVERIFY(replicaCaughtUp());
        test::LedgerctlRun r =
            signIn(m_primary, QStringLiteral("victor"), secretOf(QStringLiteral("victor"), 2));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QString onLedger = r.json().value(QStringLiteral("dsn")).toString();
        r = signIn(m_replica, QStringLiteral("victor"), secretOf(QStringLiteral("victor"), 2));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QString onStore = r.json().value(QStringLiteral("dsn")).toString();
        const QString eventsBefore = m_ledger->scalar(
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'report.run'"));

        const auto report = [&](QStringList extra, const QString &store = {}) {
            QStringList args{QStringLiteral("report"), QStringLiteral("trial-balance"),
                             QStringLiteral("--dsn"), onLedger};
            if (!store.isEmpty())
                args << QStringLiteral("--reporting-dsn") << store;
            return test::runLedgerctl(args + extra);
        };
        for (const QString &asOf : {QStringLiteral("2025-06-30"), QStringLiteral("2026-12-31")}) {
            const test::LedgerctlRun fromStore =
                report({QStringLiteral("--as-of"), asOf, QStringLiteral("--json")}, onStore);
            QVERIFY2(fromStore.exitCode == 0, qPrintable(fromStore.describe()));
            const QJsonObject s = fromStore.json();
            QVERIFY(s.value(QStringLiteral("reporting_store")).toBool());
            QCOMPARE(s.value(QStringLiteral("from")).toString(), QStringLiteral("aggregates"));
            QVERIFY(!s.value(QStringLiteral("replicated_at")).toString().isEmpty());
            QVERIFY(s.value(QStringLiteral("balanced")).toBool());
            QVERIFY(!s.value(QStringLiteral("rows")).toArray().isEmpty());
            const test::LedgerctlRun fromLedger =
                report({QStringLiteral("--as-of"), asOf, QStringLiteral("--json")});
            QVERIFY2(fromLedger.exitCode == 0, qPrintable(fromLedger.describe()));
            QVERIFY(!fromLedger.json().value(QStringLiteral("reporting_store")).toBool());
            QCOMPARE(s.value(QStringLiteral("rows")),
                     fromLedger.json().value(QStringLiteral("rows")));
            QCOMPARE(s.value(QStringLiteral("totals")),
                     fromLedger.json().value(QStringLiteral("totals")));
        }
        // Known at a time before the last postings: the store reads its copy of the entries.
        const QString knownAt = m_ledger->scalar(QStringLiteral(
            "SELECT to_char((max(recorded_at) - interval '1 millisecond') AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM ledger.entries"));
        const test::LedgerctlRun known =
            report({QStringLiteral("--as-of"), QStringLiteral("2026-12-31"),
                    QStringLiteral("--known-at"), knownAt, QStringLiteral("--json")},
                   onStore);
        QVERIFY2(known.exitCode == 0, qPrintable(known.describe()));
        QCOMPARE(known.json().value(QStringLiteral("from")).toString(), QStringLiteral("entries"));
        const test::LedgerctlRun knownLedger =
            report({QStringLiteral("--as-of"), QStringLiteral("2026-12-31"),
                    QStringLiteral("--known-at"), knownAt, QStringLiteral("--json")});
        QCOMPARE(known.json().value(QStringLiteral("rows")),
                 knownLedger.json().value(QStringLiteral("rows")));
        QVERIFY(known.json().value(QStringLiteral("rows")) !=
                report({QStringLiteral("--as-of"), QStringLiteral("2026-12-31"),
                        QStringLiteral("--json")})
                    .json()
                    .value(QStringLiteral("rows")));
        // CSV and text.
        r = report({QStringLiteral("--as-of"), QStringLiteral("2026-12-31"),
                    QStringLiteral("--format"), QStringLiteral("csv")},
                   onStore);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.outLines().first(),
                 QStringLiteral("account,name,kind,currency,debit,credit,entries"));
        QVERIFY2(r.outLines().last().startsWith(QLatin1String(",Total,,EUR,")), qPrintable(r.out));
        r = report({QStringLiteral("--as-of"), QStringLiteral("2026-12-31")}, onStore);
        QVERIFY2(r.out.contains(QLatin1String("from the reporting store, replicated through")),
                 qPrintable(r.out));
        QVERIFY2(r.outLines().last().endsWith(QLatin1String(": balanced")), qPrintable(r.out));
        // Every run is on the ledger's chain, with where it ran.
        QCOMPARE(
            m_ledger->scalar(
                QStringLiteral(
                    "SELECT count(*) - $1::bigint FROM audit.events WHERE action = 'report.run'"),
                {eventsBefore}),
            QStringLiteral("9"));

        // The other reports: the store's aggregates and the ledger's entries agree.
        const QStringList period{QStringLiteral("--from"), QStringLiteral("2025-01-01"),
                                 QStringLiteral("--to"), QStringLiteral("2026-12-31"),
                                 QStringLiteral("--json")};
        const QList<QStringList> others{
            {QStringLiteral("--as-of"), QStringLiteral("2025-09-30"), QStringLiteral("--json")},
            period,
            period + QStringList{QStringLiteral("--limit"), QStringLiteral("2")},
            period + QStringList{QStringLiteral("--by"), QStringLiteral("month")}};
        const QStringList names{QStringLiteral("balance-sheet"), QStringLiteral("income-statement"),
                                QStringLiteral("top-movers"), QStringLiteral("volumes")};
        for (int i = 0; i < names.size(); ++i) {
            const auto run = [&](const QString &store) {
                QStringList args{QStringLiteral("report"), names.at(i), QStringLiteral("--dsn"),
                                 onLedger};
                if (!store.isEmpty())
                    args << QStringLiteral("--reporting-dsn") << store;
                return test::runLedgerctl(args + others.at(i));
            };
            const test::LedgerctlRun a = run(onStore);
            const test::LedgerctlRun b = run({});
            QVERIFY2(a.exitCode == 0 && b.exitCode == 0,
                     qPrintable(a.describe() + QLatin1Char('\n') + b.describe()));
            QCOMPARE(a.json().value(QStringLiteral("from")).toString(),
                     QStringLiteral("aggregates"));
            QVERIFY2(!a.json().value(QStringLiteral("rows")).toArray().isEmpty(),
                     qPrintable(names.at(i)));
            QCOMPARE(a.json().value(QStringLiteral("rows")),
                     b.json().value(QStringLiteral("rows")));
            QCOMPARE(a.json().value(QStringLiteral("totals")),
                     b.json().value(QStringLiteral("totals")));
            if (names.at(i) == QLatin1String("balance-sheet"))
                QVERIFY(a.json().value(QStringLiteral("balanced")).toBool());
            if (names.at(i) == QLatin1String("top-movers"))
                QCOMPARE(a.json().value(QStringLiteral("rows")).toArray().size(), 2);
            if (names.at(i) == QLatin1String("volumes"))
                QCOMPARE(a.json()
                             .value(QStringLiteral("totals"))
                             .toArray()
                             .first()
                             .toObject()
                             .value(QStringLiteral("entries"))
                             .toString(),
                         m_ledger->scalar(QStringLiteral(
                             "SELECT count(*) FROM ledger.entries WHERE effective_at >= "
                             "'2025-01-01Z' AND effective_at < '2027-01-01Z'")));
        }
        r = report({QStringLiteral("--json")}, QString());
        QVERIFY(r.exitCode == 0);
        r = test::runLedgerctl({QStringLiteral("report"), QStringLiteral("volumes"),
                                QStringLiteral("--dsn"), onLedger, QStringLiteral("--known-at"),
                                QStringLiteral("now")});
        QCOMPARE(r.exitCode, 2);

        // An unreachable store: refused, or run on the ledger by choice, the choice recorded.
        const QString nowhere = QStringLiteral("host=/nonexistent/dir dbname=ledger user=victor");
        r = report({QStringLiteral("--json")}, nowhere);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("could not be reached")) &&
                     r.err.contains(QLatin1String("--use-ledger")),
                 qPrintable(r.err));
        r = report({QStringLiteral("--json"), QStringLiteral("--use-ledger")}, nowhere);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(!r.json().value(QStringLiteral("reporting_store")).toBool());
        QCOMPARE(m_ledger->scalar(QStringLiteral(
                     "SELECT details -> 'params' ->> 'source' || ' ' || (details -> 'params' ? "
                     "'store_refused') FROM audit.events WHERE action = 'report.run' ORDER BY id "
                     "DESC LIMIT 1")),
                 QStringLiteral("ledger true"));

        // The attack: a session that skips the record and reads the ledger's trial balance.
        r = signIn(m_primary, QStringLiteral("victor"), secretOf(QStringLiteral("victor"), 2));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        SqlSession sneak(r.json().value(QStringLiteral("dsn")).toString());
        const test::SqlOutcome refused = sneak.exec(
            QStringLiteral("SELECT count(*) FROM reporting.trial_balance(current_date)"));
        QVERIFY(!refused.ok);
        QCOMPARE(refused.sqlState, QStringLiteral("LG090"));
    }

    // The console's ReportService on two sessions, as the console holds them: the run goes on
    // the ledger's record and is read on the store (equal to the ledger's own figures); with
    // a store that cannot be reached it is refused with the reason, and, the operator
    // choosing so, read on the ledger with the reason on record.
    void theConsolesReportServiceReadsTheStoreOrSaysWhyNot()
    {
        test::LedgerctlRun r = addOperator(QStringLiteral("rosa"));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        postSome(3);
        QVERIFY(replicaCaughtUp());
        QVERIFY(storeHasBrokerOf(QStringLiteral("rosa")));
        r = signIn(m_primary, QStringLiteral("rosa"), secretOf(QStringLiteral("rosa")));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        DbWorker ledger(r.json().value(QStringLiteral("dsn")).toString(), QStringLiteral("tst"));
        r = signIn(m_replica, QStringLiteral("rosa"), secretOf(QStringLiteral("rosa")));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        DbWorker store(r.json().value(QStringLiteral("dsn")).toString(), QStringLiteral("tst"));
        const auto run = [](ReportService &service, bool useLedger, QString *refusal) {
            ReportRequest request;
            request.kind = ReportKind::TrialBalance;
            request.asOf = {2026, 12, 31};
            ReportJob *job = service.start(request, useLedger, nullptr);
            std::unique_ptr<ReportJob> owned(job);
            if (!test::waitUntil(
                    job, &ReportJob::finished, [job] { return job->isFinished(); }, 60000))
                return Result<ReportResult>(
                    Error::make(Error::Kind::Timeout, QStringLiteral("no answer")));
            *refusal = job->storeRefusal();
            return job->result();
        };
        QString refusal;
        ReportService fromStore(&ledger, &store, true);
        const Result<ReportResult> stored = run(fromStore, false, &refusal);
        QVERIFY2(stored, qPrintable(stored ? QString() : stored.error().message));
        QVERIFY(stored.value().source.isStore);
        QVERIFY(stored.value().source.replicatedAt.isValid());
        QVERIFY(refusal.isEmpty());
        ReportService fromLedger(&ledger, &ledger, false);
        const Result<ReportResult> direct = run(fromLedger, false, &refusal);
        QVERIFY(direct);
        QVERIFY(!direct.value().source.isStore);
        QCOMPARE(stored.value().table.rows, direct.value().table.rows);
        QCOMPARE(stored.value().table.totalRows, direct.value().table.totalRows);
        QCOMPARE(m_ledger->scalar(QStringLiteral("SELECT details->'params'->>'source' FROM "
                                                 "audit.events WHERE id = $1"),
                                  {QString::number(stored.value().auditEvent)}),
                 QStringLiteral("reporting_store"));

        // A store that cannot be reached: refused, nothing recorded; then on the ledger.
        DbWorker nowhere(QStringLiteral("host=127.0.0.1 port=1 dbname=ledger user=nobody "
                                        "password=x sslmode=disable connect_timeout=2"),
                         QStringLiteral("tst"));
        ReportService unreachable(&ledger, &nowhere, true);
        const QString runsBefore = m_ledger->scalar(
            QStringLiteral("SELECT count(*) FROM audit.events WHERE action = 'report.run'"));
        const Result<ReportResult> refused = run(unreachable, false, &refusal);
        QVERIFY(!refused);
        QVERIFY2(refusal.contains(QStringLiteral("could not be reached")), qPrintable(refusal));
        QVERIFY(refused.error().message.contains(QStringLiteral("Run it on the ledger instead")));
        QCOMPARE(m_ledger->scalar(QStringLiteral(
                     "SELECT count(*) FROM audit.events WHERE action = 'report.run'")),
                 runsBefore);
        const Result<ReportResult> onLedger = run(unreachable, true, &refusal);
        QVERIFY2(onLedger, qPrintable(onLedger ? QString() : onLedger.error().message));
        QVERIFY(!onLedger.value().source.isStore);
        QVERIFY(onLedger.value().storeRefused.contains(QStringLiteral("could not be reached")));
        QCOMPARE(onLedger.value().table.rows, direct.value().table.rows);
        QCOMPARE(m_ledger->scalar(QStringLiteral("SELECT (details->'params'->>'source') || ' ' "
                                                 "|| (details->'params' ? 'store_refused') FROM "
                                                 "audit.events WHERE id = $1"),
                                  {QString::number(onLedger.value().auditEvent)}),
                 QStringLiteral("ledger true"));
    }

    // The store's snapshots on the 15th and at the end of every month (0039, 0059) keep its
    // trial balance exact, and a report starts from the nearest.
    void snapshotsKeepTheStoresTrialBalanceExact()
    {
        const test::LedgerctlRun taken =
            ledgerctlOn(m_replica, {QStringLiteral("reporting"), QStringLiteral("refresh"),
                                    QStringLiteral("--json")});
        QVERIFY2(taken.exitCode == 0, qPrintable(taken.describe()));
        const int snapshots = taken.json().value(QStringLiteral("snapshots")).toInt();
        QVERIFY2(snapshots >= 40, qPrintable(taken.out)); // twice a month since January 2025
        QCOMPARE(replicaScalar(QStringLiteral("SELECT count(*) FROM reporting.snapshot_dates")),
                 QString::number(snapshots));
        // Every 15th and month end from the first to the last, and no other day.
        QCOMPARE(replicaScalar(QStringLiteral(
                     "SELECT coalesce(string_agg(g::date::text, ',' ORDER BY g) FILTER (WHERE "
                     "g::date NOT IN (SELECT as_of FROM reporting.snapshot_dates)), '') || '|' "
                     "|| (SELECT string_agg(DISTINCT to_char(as_of + 1, 'DD'), ',' ORDER BY "
                     "to_char(as_of + 1, 'DD')) FROM reporting.snapshot_dates) FROM "
                     "generate_series((SELECT min(as_of) FROM "
                     "reporting.snapshot_dates), (SELECT max(as_of) FROM "
                     "reporting.snapshot_dates), interval '1 day') g WHERE extract(day FROM g) = "
                     "15 OR extract(day FROM g + interval '1 day') = 1")),
                 QStringLiteral("|01,16"));
        QCOMPARE(replicaScalar(QStringLiteral(
                     "SELECT string_agg(format('%s %s %s', w.way, w.before, w.after), ', ' ORDER "
                     "BY d) FROM unnest('{2025-03-11,2025-03-22,2025-03-25}'::date[]) d, "
                     "reporting.balance_way(d, NULL) w")),
                 QStringLiteral("back 2025-02-28 2025-03-15, forward 2025-03-15 2025-03-31, "
                                "back 2025-03-15 2025-03-31"));
        // Nothing more to take; the ledger takes none.
        QCOMPARE(ledgerctlOn(m_replica, {QStringLiteral("reporting"), QStringLiteral("refresh"),
                                         QStringLiteral("--json")})
                     .json()
                     .value(QStringLiteral("snapshots"))
                     .toInt(),
                 0);
        QCOMPARE(m_ledger->scalar(QStringLiteral("SELECT reporting.take_snapshots()")),
                 QStringLiteral("0"));
        QCOMPARE(storeTrialBalancesDiffer(), QString());
        // Late entries, most for days the snapshots cover.
        postSome(30);
        QVERIFY(replicaCaughtUp());
        QCOMPARE(storeTrialBalancesDiffer(), QString());
        QCOMPARE(totalsDiffer(), QString());
        // Rebuilt from the entries: the same.
        QCOMPARE(replicaScalar(QStringLiteral("SELECT reporting.rebuild_totals()")),
                 QString::number(snapshots));
        QCOMPARE(storeTrialBalancesDiffer(), QString());
        QCOMPARE(totalsDiffer(), QString());
        const test::SqlOutcome refused =
            m_ledger->exec(QStringLiteral("SELECT reporting.rebuild_totals()"));
        QVERIFY(!refused.ok);
        QVERIFY2(refused.message.contains(QLatin1String("Not a reporting store")),
                 qPrintable(refused.message));
    }

    // Accounts arriving on the store take their place in report order (0058): before the
    // first, after the last, between two, and forty into one gap in descending order, more
    // than halving the gap can hold (the store then numbers them all afresh). The store's
    // trial balance, in its order, equals the one from its entries (sorted by currency and
    // code); a report row missing or out of order is named by the store's check, and a
    // report that would leave an account out is refused.
    void accountsTakeTheirPlaceInTheStoresReportOrder()
    {
        QStringList opened{QStringLiteral("AAA-FIRST"), QStringLiteral("USD-CASH"),
                           QStringLiteral("USD-OWNER"), QStringLiteral("ZZ-NEW")};
        for (int i = 40; i >= 1; --i)
            opened << QStringLiteral("CB-%1").arg(i, 2, 10, QLatin1Char('0'));
        for (const QString &code : opened) {
            const auto r = m_ledger->exec(
                QStringLiteral("SELECT ledger.open_account($1, 'Account ' || $1, CASE WHEN $1 "
                               "LIKE 'USD-%' THEN 'USD' ELSE 'EUR' END, 'asset', true)"),
                {code});
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        int n = 0;
        for (const QString &code : opened) {
            if (code.startsWith(QLatin1String("USD-")))
                continue;
            ++n;
            post(QStringLiteral("CASH"), code, QStringLiteral("%1.25").arg(n),
                 QDate(2025, 1, 1).addDays((n * 97) % 700).toString(Qt::ISODate));
            QVERIFY(!QTest::currentTestFailed());
        }
        post(QStringLiteral("USD-OWNER"), QStringLiteral("USD-CASH"), QStringLiteral("500.00"),
             QStringLiteral("2025-06-30"), QStringLiteral("USD"));
        QVERIFY(!QTest::currentTestFailed());
        QVERIFY(replicaCaughtUp());

        QCOMPARE(storeTrialBalancesDiffer(), QString());
        const QString order = QStringLiteral(
            "SELECT string_agg(account_code, ' ' ORDER BY n) FROM reporting.trial_balance('%1') "
            "WITH ORDINALITY t(account_code, account_name, kind, currency, exponent, debit_minor, "
            "credit_minor, entries, n)");
        const QString expected = QStringLiteral(
            "AAA-FIRST CASH CB-01 CB-02 CB-03 CB-04 CB-05 CB-06 CB-07 CB-08 CB-09 CB-10 CB-11 "
            "CB-12 CB-13 CB-14 CB-15 CB-16 CB-17 CB-18 CB-19 CB-20 CB-21 CB-22 CB-23 CB-24 CB-25 "
            "CB-26 CB-27 CB-28 CB-29 CB-30 CB-31 CB-32 CB-33 CB-34 CB-35 CB-36 CB-37 CB-38 CB-39 "
            "CB-40 CUST-1 CUST-2 FEES ZZ-NEW USD-CASH USD-OWNER");
        QCOMPARE(replicaScalar(order.arg(QStringLiteral("2026-12-31"))), expected);
        // The forty in one gap needed numbering afresh (the gap of 2^32 halves 31 times):
        // all 48 numbers were then made 2^32 apart, and only the eight placed after that
        // lie halfway between. Without it, 7 would be multiples of 2^32.
        QCOMPARE(replicaScalar(QStringLiteral(
                     "SELECT count(*) FROM reporting.report_accounts WHERE ord % 4294967296 = 0")),
                 QStringLiteral("40"));
        // Movements read the same rows in the same order.
        QCOMPARE(replicaScalar(QStringLiteral(
                     "SELECT string_agg(account_code, ' ' ORDER BY n) FROM "
                     "reporting.account_movements('2024-01-01', '2026-12-31') WITH ORDINALITY "
                     "t(account_code, a, b, c, d, e, f, g, h, n)")),
                 expected);

        // The store's check names a report row out of order or missing; the report refuses
        // to leave the account out.
        SqlSession store(m_replica.adminDsn());
        const QString swap = QStringLiteral(
            "SET CONSTRAINTS ALL DEFERRED; UPDATE reporting.report_accounts r SET ord = x.ord "
            "FROM reporting.report_accounts x WHERE (r.code, x.code) IN (('CB-01', 'CB-02'), "
            "('CB-02', 'CB-01'))");
        QVERIFY(store.exec(QStringLiteral("BEGIN; ") + swap + QStringLiteral("; COMMIT")).ok);
        const QString checked = QStringLiteral(
            "SELECT ok || ' ' || coalesce(first_failure, '') FROM reporting.check_store(31) "
            "WHERE invariant = 'store_aggregates'");
        QCOMPARE(store.scalar(checked),
                 QStringLiteral("false the store's report numbers of account CB-02 do not match "
                                "its accounts")); // the lower id of the two: opened first
        // The store's rows were numbered for the other report rows (0059): refused, never
        // shown under each other's codes.
        const test::SqlOutcome astray = store.exec(
            QStringLiteral("SELECT count(*) FROM reporting.trial_balance('2026-12-31')"));
        QCOMPARE(astray.sqlState, QStringLiteral("LG100"));
        QVERIFY2(astray.message.contains(QLatin1String("is not its report row's")),
                 qPrintable(astray.message));
        QVERIFY(store.exec(QStringLiteral("BEGIN; ") + swap + QStringLiteral("; COMMIT")).ok);
        QCOMPARE(store.scalar(checked), QStringLiteral("true "));
        QVERIFY(
            store
                .exec(QStringLiteral("DELETE FROM reporting.report_accounts WHERE code = 'ZZ-NEW'"))
                .ok);
        QCOMPARE(store.scalar(checked),
                 QStringLiteral("false the store's report rows of account ZZ-NEW do not match "
                                "its accounts"));
        const test::SqlOutcome refused = store.exec(
            QStringLiteral("SELECT count(*) FROM reporting.trial_balance('2026-12-31')"));
        QCOMPARE(refused.sqlState, QStringLiteral("LG100"));
        QVERIFY2(refused.message.contains(QLatin1String("no report row for account ZZ-NEW")),
                 qPrintable(refused.message));
        QCOMPARE(replicaScalar(QStringLiteral("SELECT (reporting.rebuild_totals() > 0)::text")),
                 QStringLiteral("true"));
        QCOMPARE(store.scalar(checked), QStringLiteral("true "));
        QCOMPARE(replicaScalar(order.arg(QStringLiteral("2026-12-31"))), expected);
        QCOMPARE(storeTrialBalancesDiffer(), QString());
    }

    // ledgerctl check --reporting-dsn: the store's totals, volumes and snapshots against its
    // copy of the entries, recorded with the ledger's own checks; a total changed on the
    // store is named.
    void theStoreIsCheckedWithTheLedger()
    {
        const QString op = QStringLiteral("cora"); // an auditor
        test::LedgerctlRun r = addOperator(op);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        r = signIn(m_primary, op, secretOf(op)); // the ledger first makes her broker
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QString onLedger = r.json().value(QStringLiteral("dsn")).toString();
        postSome(3);
        QVERIFY(replicaCaughtUp());
        QVERIFY(storeHasBrokerOf(op));
        r = signIn(m_replica, op, secretOf(op));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QString onStore = r.json().value(QStringLiteral("dsn")).toString();
        const auto check = [&] {
            return test::runLedgerctl({QStringLiteral("check"), QStringLiteral("--dsn"), onLedger,
                                       QStringLiteral("--reporting-dsn"), onStore,
                                       QStringLiteral("--json")});
        };
        const auto storeResult = [](const test::LedgerctlRun &run, const QString &name) {
            for (const QJsonValue &v : run.json().value(QStringLiteral("invariants")).toArray())
                if (v.toObject().value(QStringLiteral("invariant")).toString() == name)
                    return v.toObject();
            return QJsonObject();
        };
        r = check();
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        for (const QString &name :
             {QStringLiteral("store_aggregates"), QStringLiteral("store_in_step")}) {
            const QJsonObject o = storeResult(r, name);
            QVERIFY2(o.value(QStringLiteral("ok")).toBool(), qPrintable(r.describe()));
            QCOMPARE(o.value(QStringLiteral("reported")).toBool(), true);
        }
        QVERIFY(storeResult(r, QStringLiteral("store_aggregates"))
                    .value(QStringLiteral("checked"))
                    .toInteger() > 0);

        SqlSession store(m_replica.adminDsn());
        const QString account = store.scalar(QStringLiteral(
            "SELECT a.code FROM reporting.account_totals t JOIN ledger.accounts a ON a.id = "
            "t.account_id ORDER BY a.id LIMIT 1"));
        const QString shift = QStringLiteral(
            "UPDATE reporting.account_totals SET net_minor = net_minor + %1 WHERE account_id = "
            "(SELECT id FROM ledger.accounts WHERE code = $1)");
        QVERIFY(store.exec(shift.arg(1), {account}).ok);
        r = check();
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.json().value(QStringLiteral("failed")).toArray().size(), 1);
        QCOMPARE(storeResult(r, QStringLiteral("store_aggregates"))
                     .value(QStringLiteral("first_failure"))
                     .toString(),
                 QStringLiteral("the store's totals of account %1 do not match its entries")
                     .arg(account));
        QVERIFY2(r.err.contains(QLatin1String("ledgerctl check: store_aggregates: the store's "
                                              "totals of account")),
                 qPrintable(r.describe()));
        // Recorded on the ledger with the rest of the run.
        QCOMPARE(m_ledger->scalar(QStringLiteral(
                     "SELECT array_to_string(failed, ',') FROM ledger.invariant_checks ORDER BY "
                     "id DESC LIMIT 1")),
                 QStringLiteral("store_aggregates"));
        QVERIFY(store.exec(shift.arg(-1), {account}).ok);
        QCOMPARE(check().exitCode, 0);

        // A mid-month snapshot changed (0059).
        const QStringList snapshot =
            store
                .scalar(QStringLiteral(
                    "SELECT a.code || ' ' || b.as_of FROM reporting.balance_snapshots b JOIN "
                    "ledger.accounts a ON a.id = b.account_id WHERE extract(day FROM b.as_of) = "
                    "15 ORDER BY b.as_of, a.id LIMIT 1"))
                .split(QLatin1Char(' '));
        QCOMPARE(snapshot.size(), 2);
        // Its net changed, then its report number (0059): each named with its date. The
        // snapshot after the changed net, checked against it, is counted too.
        const QString change = QStringLiteral(
            "UPDATE reporting.balance_snapshots SET %1 = %1 + %2 WHERE as_of = $2 AND account_id "
            "= (SELECT id FROM ledger.accounts WHERE code = $1)");
        for (const auto &[column, named, against, failures] :
             {std::tuple{QStringLiteral("net_minor"), QStringLiteral("balance snapshot"),
                         QStringLiteral("entries"), qint64(2)},
              std::tuple{QStringLiteral("ord"), QStringLiteral("report numbers in a snapshot"),
                         QStringLiteral("accounts"), qint64(1)}}) {
            QVERIFY(store.exec(change.arg(column).arg(1), snapshot).ok);
            r = check();
            QCOMPARE(r.exitCode, 1);
            const QJsonObject failed = storeResult(r, QStringLiteral("store_aggregates"));
            QCOMPARE(failed.value(QStringLiteral("first_failure")).toString(),
                     QStringLiteral("the store's %1 of account %2 for %3 do not match its %4")
                         .arg(named, snapshot.at(0), snapshot.at(1), against));
            QCOMPARE(failed.value(QStringLiteral("failures")).toInteger(), failures);
            QVERIFY(store.exec(change.arg(column).arg(-1), snapshot).ok);
            QCOMPARE(check().exitCode, 0);
        }
    }

    void aStoppedStoreCatchesUpWithNothingLostOrDoubled()
    {
        QVERIFY(m_replica.cluster().stop());
        postSome(40); // while the reporting store is down
        {
            // The ledger keeps the changes for it (its slot holds them back).
            QVERIFY(m_ledger->scalar(QStringLiteral("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), "
                                                    "confirmed_flush_lsn) > 0 FROM "
                                                    "pg_replication_slots WHERE slot_name = "
                                                    "'ledger_reporting'")) == QLatin1String("t"));
        }
        QVERIFY(m_replica.cluster().start());
        QVERIFY(replicaCaughtUp());
        QCOMPARE(totalsDiffer(), QString());
        QCOMPARE(replicaScalar(QStringLiteral("SELECT count(*) FROM (SELECT id FROM ledger.entries "
                                              "GROUP BY id HAVING count(*) > 1) d")),
                 QStringLiteral("0"));
    }

    void cleanupTestCase()
    {
        // The subscription goes first, or the ledger's server waits for its walsender.
        SqlSession store(m_replica.adminDsn());
        store.exec(QStringLiteral("DROP SUBSCRIPTION IF EXISTS ledger_reporting"));
    }
};

QTEST_GUILESS_MAIN(TestReplica)
#include "tst_replica.moc"
