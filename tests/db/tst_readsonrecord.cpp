// Reads of customer data by console roles are on record before they are served, and the
// record survives the reader's rollback (0032_reads_on_record.sql): every kind of read, by
// every console role, refused without a committed record (none, one written in the reader's
// own transaction, one written under a savepoint), served once the record is committed,
// with exactly one event per session, kind and subject inside the window however often it
// is read and whether the reader commits or rolls back. The console's repositories put
// their reads on record themselves and record again when a window ends.

#include "LedgerInvariants.h"
#include "PostingRequests.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccountRepository.h"
#include "db/AuditRepository.h"
#include "db/Connection.h"
#include "db/LedgerRepository.h"
#include "db/ReconRepository.h"
#include "db/ReversalRepository.h"
#include "db/StatementRepository.h"
#include "db/TimelineRepository.h"

#include <QTest>

using namespace ledger;
using test::SqlSession;

namespace {

const QStringList kConsoleRoles{
    QStringLiteral("console_operator"), QStringLiteral("console_supervisor"),
    QStringLiteral("console_auditor"), QStringLiteral("console_compliance")};

// One kind of read: the statement that makes it, and the record it needs ({id} and {tx}
// stand for the account's and a transaction's id).
struct Read
{
    const char *name = nullptr;
    const char *kind = nullptr;
    const char *subject = nullptr;
    const char *sql = nullptr;
    const char *roles =
        nullptr; // the roles that may make it, comma-separated; null: every console role
};

constexpr const char *kAuditors = "console_auditor,console_compliance";
constexpr const char *kRequesters = "console_operator,console_supervisor";

const Read kReads[] = {
    {"balance", "balance", "CUST", "SELECT amount FROM ledger.balance('CUST')"},
    {"history", "timeline", "CUST", "SELECT balance FROM ledger.open_account_history('CUST')"},
    {"timeline page", "timeline", "#{id}",
     "SELECT count(*) FROM ledger.timeline_page({id}, 'effective', 0, 50)"},
    {"timeline window", "timeline", "#{id}",
     "SELECT row_count FROM ledger.timeline_window({id}, 'effective', NULL, NULL)"},
    {"timeline search", "timeline_search", "#{id}",
     "SELECT count(*) FROM ledger.timeline_search({id}, 'effective', NULL, 50, NULL, NULL, NULL, "
     "NULL, 'rent')"},
    {"point in time", "point_in_time", "#{id}",
     "SELECT balance FROM ledger.point_in_time({id}, '2026-11-21T00:00:00Z', "
     "'2030-01-01T00:00:00Z')"},
    {"point in time entries", "point_in_time", "#{id}",
     "SELECT count(*) FROM ledger.point_in_time_entries({id}, '2026-11-21T00:00:00Z', "
     "'2030-01-01T00:00:00Z')"},
    {"balance series", "balance_series", "#{id}",
     "SELECT count(*) FROM ledger.balance_series({id}, '2026-11-01T00:00:00Z', "
     "'2026-12-01T00:00:00Z', 20)"},
    {"balance markers", "balance_series", "#{id}",
     "SELECT count(*) FROM ledger.balance_markers({id}, '2026-11-01T00:00:00Z', "
     "'2026-12-01T00:00:00Z')"},
    {"transaction detail", "transaction", "{tx}",
     "SELECT ledger.transaction_detail({tx}) ->> 'id'"},
    {"account list", "account_list", "", "SELECT count(*) FROM ledger.account_list"},
    {"entry list", "ledger_rows", "", "SELECT count(*) FROM ledger.entry_list"},
    {"transaction list", "ledger_rows", "", "SELECT count(*) FROM ledger.transaction_list"},
    {"transaction content", "ledger_content", "", "SELECT count(*) FROM ledger.transaction_content",
     kAuditors},
    {"entry content", "ledger_content", "", "SELECT count(*) FROM ledger.entry_content", kAuditors},
    {"head content", "ledger_content", "", "SELECT count(*) FROM ledger.head_content", kAuditors},
    // 0033: the approvals inbox, statements and the reconciliation queue.
    {"reversal inbox", "reversal_requests", "",
     "SELECT count(*) FROM ledger.reversal_inbox(NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, "
     "NULL, 'age', false, 0, 50)"},
    {"reversal inbox count", "reversal_requests", "",
     "SELECT ledger.reversal_inbox_count(NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL)"},
    {"reversal request status", "reversal_requests", "",
     "SELECT count(*) FROM ledger.reversal_request_status"},
    {"reversal preview", "reversal_request", "{rq}",
     "SELECT ledger.reversal_preview({rq}) ->> 'digest'"},
    {"draft reversal preview", "transaction", "{tx}",
     "SELECT ledger.reversal_preview_draft({tx}, 'DUPLICATE', NULL)::text", kRequesters},
    {"statement header", "statement", "CUST",
     "SELECT closing_minor FROM ledger.statement_header('CUST', '2026-11-01T00:00:00Z', "
     "'2026-12-01T00:00:00Z', statement_timestamp())",
     kAuditors},
    {"statement lines", "statement", "#{id}",
     "SELECT count(*) FROM ledger.statement_lines('CUST', '2026-11-01T00:00:00Z', "
     "'2026-12-01T00:00:00Z', statement_timestamp())",
     kAuditors},
    {"issued statements", "statement_list", "", "SELECT count(*) FROM ledger.issued_statements()",
     kAuditors},
    {"restated statements", "statement_list", "",
     "SELECT count(*) FROM ledger.restated_statements()", kAuditors},
    {"statement batch accounts", "statement_list", "",
     "SELECT count(*) FROM ledger.statement_batch_accounts()", kAuditors},
    {"statement by file", "statement_list", "",
     "SELECT coalesce(ledger.verify_statement_file(repeat('0', 64))::text, 'none')", kAuditors},
    {"statement by reference", "statement_list", "",
     "SELECT coalesce(ledger.verify_statement_reference('ST-1')::text, 'none')", kAuditors},
    {"reconciliation queue", "recon_queue", "",
     "SELECT count(*) FROM recon.exception_queue(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
     "'age', false, 0, 50)"},
    {"reconciliation count", "recon_queue", "",
     "SELECT recon.exception_count(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"},
    {"reconciliation aging", "recon_queue", "", "SELECT count(*) FROM recon.exception_aging()"},
    {"reconciliation status", "recon_queue", "", "SELECT recon.status()::text"},
    {"proposed matches", "recon_queue", "",
     "SELECT count(*) FROM recon.proposed_matches(NULL, 0, 50)"},
    {"entry candidates", "recon_queue", "", "SELECT count(*) FROM recon.entry_candidates({entry})"},
};

} // namespace

class TestReadsOnRecord : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    QString m_accountId;
    QString m_transactionId;
    QString m_requestId;
    QString m_entryId;
    int m_user = 0;

    QString fill(QString text) const
    {
        return text.replace(QLatin1String("{id}"), m_accountId)
            .replace(QLatin1String("{tx}"), m_transactionId)
            .replace(QLatin1String("{rq}"), m_requestId)
            .replace(QLatin1String("{entry}"), m_entryId);
    }

    // A fresh login in `role`: a session of its own, with no reads on record.
    QString freshLogin(const QString &role, QString *user)
    {
        *user = QStringLiteral("reader_%1").arg(++m_user);
        return m_db.dsnFor(role, *user);
    }

    qint64 readEvents(const QString &user, const QString &kind = {})
    {
        return m_admin
            ->scalar(QStringLiteral(
                         "SELECT count(*) FROM audit.events WHERE session_role = $1 "
                         "AND action LIKE 'read.%' AND (coalesce($2, '') = '' OR action = 'read.' "
                         "|| $2)"),
                     {user, kind})
            .toLongLong();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH', 'Cash', 'EUR', 'asset', true), "
                        "ledger.open_account('CUST', 'Customer', 'EUR', 'liability', true)"))
                    .ok);
        Connection writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        for (int i = 0; i < 5; ++i)
            LedgerRepository::post(
                writer, test::postingRequest(
                            QStringLiteral("r-%1").arg(i),
                            test::postingLeg(QStringLiteral("CASH"), QStringLiteral("10.00")) +
                                QStringLiteral(", ") +
                                test::postingLeg(QStringLiteral("CUST"), QStringLiteral("-10.00")),
                            QStringLiteral("2026-11-20T10:00:00Z"), QStringLiteral("rent")));
        m_accountId = m_admin->scalar(QStringLiteral("SELECT id FROM ledger.accounts WHERE code = "
                                                     "'CUST'"));
        m_transactionId =
            m_admin->scalar(QStringLiteral("SELECT min(id) FROM ledger.transactions"));
        m_entryId = m_admin->scalar(
            QStringLiteral("SELECT min(id) FROM ledger.entries WHERE transaction_id = $1"),
            {m_transactionId});
        // A pending reversal request (of another transaction) for the inbox and its preview.
        SqlSession requester(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("requester")));
        m_requestId = requester.scalar(
            QStringLiteral("SELECT ledger.request_reversal($1::bigint, 'DUPLICATE', "
                           "'posted twice', NULL, NULL)"),
            {m_admin->scalar(QStringLiteral("SELECT max(id) FROM ledger.transactions"))});
        QVERIFY2(m_requestId.toLongLong() > 0, qPrintable(m_requestId));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void everyReadByEveryRoleIsOnRecordFirst_data()
    {
        QTest::addColumn<QString>("role");
        QTest::addColumn<int>("read");
        for (const QString &role : kConsoleRoles)
            for (int i = 0; i < int(std::size(kReads)); ++i) {
                if (kReads[i].roles &&
                    !QString::fromLatin1(kReads[i].roles).split(QLatin1Char(',')).contains(role))
                    continue;
                QTest::addRow("%s, %s", qPrintable(role), kReads[i].name) << role << i;
            }
    }

    void everyReadByEveryRoleIsOnRecordFirst()
    {
        QFETCH(QString, role);
        QFETCH(int, read);
        const Read &r = kReads[read];
        const QString sql = fill(QString::fromLatin1(r.sql));
        const QString kind = QString::fromLatin1(r.kind);
        const QString subject = fill(QString::fromLatin1(r.subject));
        QString user;
        SqlSession reader(freshLogin(role, &user));

        // No record: refused, with the call to make in the hint.
        const auto bare = reader.exec(sql);
        QVERIFY(!bare.ok);
        QCOMPARE(bare.sqlState, QStringLiteral("LG090"));
        QVERIFY2(bare.message.contains(QLatin1String("ledger.record_read")),
                 qPrintable(bare.message));

        // A record written in the reader's own transaction does not count, nor one written
        // under a savepoint that was released; rolled back, neither leaves anything.
        QVERIFY(reader.run(QStringLiteral("BEGIN")).ok);
        QVERIFY(reader
                    .run(QStringLiteral("SELECT ledger.record_read(%1, %2)")
                             .arg(quoted(kind), quoted(subject)))
                    .ok);
        const auto sameTransaction = reader.run(sql);
        QCOMPARE(sameTransaction.sqlState, QStringLiteral("LG090"));
        QVERIFY(reader.run(QStringLiteral("ROLLBACK")).ok);
        QVERIFY(reader.run(QStringLiteral("BEGIN")).ok);
        QVERIFY(reader.run(QStringLiteral("SAVEPOINT s")).ok);
        QVERIFY(reader
                    .run(QStringLiteral("SELECT ledger.record_read(%1, %2)")
                             .arg(quoted(kind), quoted(subject)))
                    .ok);
        QVERIFY(reader.run(QStringLiteral("RELEASE SAVEPOINT s")).ok);
        const auto savepoint = reader.run(sql);
        QCOMPARE(savepoint.sqlState, QStringLiteral("LG090"));
        QVERIFY(reader.run(QStringLiteral("ROLLBACK")).ok);
        QCOMPARE(readEvents(user), 0);

        // Committed: served, in a transaction that commits or one that rolls back, and
        // recorded once for the window however often it is read.
        QVERIFY(reader
                    .run(QStringLiteral("SELECT ledger.record_read(%1, %2)")
                             .arg(quoted(kind), quoted(subject)))
                    .ok);
        QCOMPARE(readEvents(user, kind), 1);
        QVERIFY(reader.run(QStringLiteral("BEGIN")).ok);
        const auto served = reader.run(sql);
        QVERIFY2(served.ok, qPrintable(served.message));
        QCOMPARE(served.rows.size(), 1);
        QVERIFY(!served.rows.at(0).at(0).isEmpty());
        QVERIFY(reader.run(QStringLiteral("ROLLBACK")).ok);
        for (int i = 0; i < 20; ++i) {
            QVERIFY(reader
                        .run(QStringLiteral("SELECT ledger.record_read(%1, %2)")
                                 .arg(quoted(kind), quoted(subject)))
                        .ok);
            QVERIFY(reader.exec(sql).ok);
        }
        QCOMPARE(readEvents(user), 1);
        QCOMPARE(readEvents(user, kind), 1);
        // The event names what was read.
        const QString object = m_admin->scalar(
            QStringLiteral("SELECT coalesce(object_type || ':' || object_id, object_type) FROM "
                           "audit.events WHERE session_role = $1 AND action = 'read.' || $2"),
            {user, kind});
        if (subject.isEmpty())
            QCOMPARE(object, QStringLiteral("ledger"));
        else if (kind == QLatin1String("transaction"))
            QCOMPARE(object, QStringLiteral("transaction:") + m_transactionId);
        else if (kind == QLatin1String("reversal_request"))
            QCOMPARE(object, QStringLiteral("reversal_request:") + m_requestId);
        else
            QCOMPARE(object, QStringLiteral("account:CUST"));
    }

    // The approvals inbox, statements and the reconciliation queue through their
    // repositories (0033): one event per kind and subject, however often they are read; the
    // timeline still marks the pending request without reading the requests.
    void inboxStatementsAndReconciliationPutTheirReadsOnRecord()
    {
        QString user;
        Connection c(freshLogin(QStringLiteral("console_auditor"), &user));
        for (int i = 0; i < 3; ++i) {
            const ReversalInboxPage page = ReversalRepository::inbox(c, {}, 0, 50);
            QCOMPARE(page.total, 1);
            QCOMPARE(page.rows.at(0).id, m_requestId.toLongLong());
            QCOMPARE(ReversalRepository::preview(c, m_requestId.toLongLong()).requestId,
                     m_requestId.toLongLong());
        }
        StatementRepository::Request request;
        request.accountCode = QStringLiteral("CUST");
        request.from = QDateTime::fromString(QStringLiteral("2026-11-01T00:00:00Z"), Qt::ISODate);
        request.to = QDateTime::fromString(QStringLiteral("2026-12-01T00:00:00Z"), Qt::ISODate);
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(StatementRepository::load(c, request).lines.size(), 5);
            QVERIFY(StatementRepository::issued(c, {}).isEmpty());
            QVERIFY(!StatementRepository::findByReference(c, QStringLiteral("ST-1")));
        }
        for (int i = 0; i < 2; ++i) {
            QVERIFY(ReconRepository::exceptions(c, {}).isEmpty());
            QCOMPARE(ReconRepository::exceptionCount(c, {}), 0);
            QVERIFY(ReconRepository::status(c, QString()).isEmpty());
            QVERIFY(ReconRepository::proposals(c, QString(), 0, 50).isEmpty());
        }
        QCOMPARE(readEvents(user, QStringLiteral("reversal_requests")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("reversal_request")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("statement")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("statement_list")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("recon_queue")), 1);
        QCOMPARE(readEvents(user), 5);

        const AccountHistory h = TimelineRepository::openHistory(c, QStringLiteral("CUST"));
        const auto rows =
            TimelineRepository::page(c, h.accountId, TimelineOrder::Recorded, 0, 10, 0);
        QCOMPARE(rows.size(), 5);
        const qint64 requested =
            m_admin
                ->scalar(QStringLiteral("SELECT transaction_id FROM ledger.reversal_requests "
                                        "WHERE id = $1"),
                         {m_requestId})
                .toLongLong();
        for (const TimelineEntry &e : rows)
            QCOMPARE(e.pendingRequestId,
                     e.transactionId == requested ? m_requestId.toLongLong() : 0);
    }

    // Through the console's repositories: each read puts itself on record, and scrolling a
    // timeline or paging the account list writes one event per kind, not one per page.
    void repositoriesPutTheirReadsOnRecord()
    {
        QString user;
        Connection c(freshLogin(QStringLiteral("console_operator"), &user));
        const AccountHistory h = TimelineRepository::openHistory(c, QStringLiteral("CUST"));
        for (int position = 0; position < 5; ++position)
            QCOMPARE(
                TimelineRepository::page(c, h.accountId, TimelineOrder::Effective, position, 1, 0)
                    .size(),
                1);
        TimelineRepository::window(c, h.accountId, TimelineOrder::Effective, std::nullopt,
                                   std::nullopt);
        for (int i = 0; i < 3; ++i)
            TimelineRepository::pointInTime(c, h.accountId, std::nullopt, std::nullopt);
        TimelineRepository::balanceSeries(
            c, h.accountId,
            QDateTime::fromString(QStringLiteral("2026-11-01T00:00:00Z"), Qt::ISODate),
            QDateTime::currentDateTimeUtc(), 10);
        TimelineRepository::transactionDetail(c, m_transactionId.toLongLong());
        AccountQuery query;
        for (int i = 0; i < 3; ++i)
            QCOMPARE(AccountRepository::page(c, query, 0, 10, nullptr).size(), 2);
        query.text = QStringLiteral("cu");
        query.currency = QStringLiteral("EUR");
        QCOMPARE(AccountRepository::countMatching(c, query), 1);
        QCOMPARE(AccountRepository::page(c, query, 0, 10, nullptr).size(), 1);
        LedgerRepository::balance(c, QStringLiteral("CUST"), std::nullopt, std::nullopt);

        QCOMPARE(readEvents(user, QStringLiteral("timeline")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("point_in_time")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("balance_series")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("transaction")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("account_list")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("account_search")), 1);
        QCOMPARE(readEvents(user, QStringLiteral("balance")), 1);
        QCOMPARE(readEvents(user), 7);
        // The search's terms are in its record, as the navigator was given them.
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT details -> 'terms' ->> 'text' || ' ' || "
                                                "(details -> 'terms' ->> 'currency') FROM "
                                                "audit.events WHERE session_role = $1 AND action "
                                                "= 'read.account_search'"),
                                 {user}),
                 QStringLiteral("cu EUR"));

        // A window that ends under the console: the server refuses the next read, the
        // repository records again and reads; a second event, still one per window.
        QVERIFY(m_admin
                    ->exec(QStringLiteral("UPDATE audit.read_marks SET until = now() - interval "
                                          "'1 second' WHERE session_role = $1 AND kind = "
                                          "'timeline'"),
                           {user})
                    .ok);
        QCOMPARE(TimelineRepository::page(c, h.accountId, TimelineOrder::Effective, 0, 2, 0).size(),
                 2);
        QCOMPARE(readEvents(user, QStringLiteral("timeline")), 2);
    }

    // Roles whose reads are not the console's (services, superusers) are neither gated nor
    // recorded; a console role cannot reach the functions behind the gate, write its own
    // marks, or record junk.
    void onlyConsoleRolesAreGatedAndTheGateHolds()
    {
        SqlSession writer(m_db.dsnFor(QStringLiteral("ledger_writer")));
        QVERIFY(writer.exec(QStringLiteral("SELECT amount FROM ledger.balance('CUST')")).ok);
        QCOMPARE(writer.scalar(QStringLiteral("SELECT ledger.record_read('balance', 'CUST')")),
                 QStringLiteral("infinity"));
        QVERIFY(m_admin->exec(QStringLiteral("SELECT count(*) FROM ledger.account_list")).ok);

        QString user;
        SqlSession reader(freshLogin(QStringLiteral("console_auditor"), &user));
        const auto behind = reader.exec(
            QStringLiteral("SELECT * FROM ledger_unrecorded.point_in_time(%1)").arg(m_accountId));
        QCOMPARE(behind.sqlState, QStringLiteral("42501"));
        const auto forged = reader.exec(
            QStringLiteral("INSERT INTO audit.read_marks VALUES (session_user, 'balance', $1, "
                           "'infinity', '1')"),
            {m_accountId});
        QCOMPARE(forged.sqlState, QStringLiteral("42501"));
        const auto unknownKind =
            reader.exec(QStringLiteral("SELECT ledger.record_read('everything', '')"));
        QCOMPARE(unknownKind.sqlState, QStringLiteral("LG091"));
        const auto badTerms = reader.exec(QStringLiteral(
            "SELECT ledger.record_read('account_search', '{\"text\": \"a\", \"x\": \"y\"}')"));
        QCOMPARE(badTerms.sqlState, QStringLiteral("LG091"));
        const auto noAccount =
            reader.exec(QStringLiteral("SELECT ledger.record_read('timeline', 'NOPE')"));
        QCOMPARE(noAccount.sqlState, QStringLiteral("LG018"));
        const auto listForAccount =
            reader.exec(QStringLiteral("SELECT ledger.record_read('account_list', 'CUST')"));
        QCOMPARE(listForAccount.sqlState, QStringLiteral("LG091"));
        // A record for one account does not open another.
        QVERIFY(
            reader.exec(QStringLiteral("SELECT ledger.record_read('point_in_time', 'CASH')")).ok);
        QCOMPARE(
            reader
                .exec(
                    QStringLiteral("SELECT balance FROM ledger.point_in_time(%1)").arg(m_accountId))
                .sqlState,
            QStringLiteral("LG090"));
        QCOMPARE(readEvents(user), 1);
    }

    // The window is the database's; changing it is on record.
    void changingTheWindowIsOnRecord()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral("UPDATE audit.read_policy SET window_length = interval "
                                          "'5 minutes'"))
                    .ok);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT details ->> 'to' FROM audit.events WHERE "
                                                "action = 'read.window_changed' ORDER BY id DESC "
                                                "LIMIT 1")),
                 QStringLiteral("00:05:00"));
        QString user;
        SqlSession reader(freshLogin(QStringLiteral("console_operator"), &user));
        const QString left = reader.scalar(QStringLiteral(
            "SELECT ledger.record_read('account_list', '') - statement_timestamp()"));
        QCOMPARE(left, QStringLiteral("00:05:00"));
        QVERIFY(m_admin
                    ->exec(QStringLiteral("UPDATE audit.read_policy SET window_length = interval "
                                          "'15 minutes'"))
                    .ok);
    }

private:
    static QString quoted(const QString &text)
    {
        return QLatin1Char('\'') + QString(text).replace(QLatin1Char('\''), QLatin1String("''")) +
               QLatin1Char('\'');
    }
};

QTEST_GUILESS_MAIN(TestReadsOnRecord)
#include "tst_readsonrecord.moc"
