// Step 9, reconciliation in the database, through ReconRepository, against a real cluster:
// importing parsed bank files (unmapped accounts refused with the identifier to map, or
// mapped with --account; idempotent by file and by statement; a line re-sent under its bank
// reference skipped; an amount finer than the currency and a cancel import nothing; a
// statement that does not balance and a duplicate line raise exceptions); the matching
// passes with planted discrepancies of every type found with the right type; a dry run
// writes nothing; decisions (reject, revoke: never proposed again), manual matches within
// tolerance; the exception workflow (assign, accept, reopen, resolve by a Step 7 correction
// linked both ways, bulk) with two operators racing for one exception; the queue, aging and
// status; roles; and randomised ledgers and statements with noise where no distinct pair is
// matched falsely.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/ReconRepository.h"
#include "db/ReversalRepository.h"

#include <QCryptographicHash>
#include <QHash>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

namespace {

BankLine line(qint64 cents, const QDate &date, const QString &ref, const QString &location,
              const QString &counterparty = {})
{
    BankLine l;
    l.amount = {cents, 2};
    l.currency = QStringLiteral("EUR");
    l.bookingDate = date;
    l.valueDate = date;
    l.status = QStringLiteral("BOOK");
    l.bankReference = ref;
    l.counterpartyName = counterparty;
    l.sourceLocation = location;
    return l;
}

BankStatement statement(const QString &iban, const QString &id, qint64 sequence,
                        qint64 openingCents, const QList<BankLine> &lines)
{
    BankStatement s;
    s.format = QStringLiteral("camt.053");
    s.statementId = id;
    s.sequenceNumber = sequence;
    s.iban = iban;
    s.currency = QStringLiteral("EUR");
    s.sourceLocation = QStringLiteral("Document/BkToCstmrStmt/Stmt[1]");
    qint64 closing = openingCents;
    for (const BankLine &l : lines)
        closing += l.amount.units;
    s.opening = BankBalance{
        QStringLiteral("OPBD"), {openingCents, 2}, QStringLiteral("EUR"), QDate(2026, 11, 1)};
    s.closing = BankBalance{
        QStringLiteral("CLBD"), {closing, 2}, QStringLiteral("EUR"), QDate(2026, 11, 30)};
    s.lines = lines;
    return s;
}

BankFile fileOf(const QList<BankStatement> &statements)
{
    BankFile f;
    f.format = QStringLiteral("camt.053");
    f.encoding = QStringLiteral("UTF-8");
    f.statements = statements;
    return f;
}

QString shaFor(const QString &seed)
{
    return QString::fromLatin1(
        QCryptographicHash::hash(seed.toUtf8(), QCryptographicHash::Sha256).toHex());
}

const QString kIban = QStringLiteral("DE89370400440532013000");

} // namespace

class TestRecon : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_olivia, m_oscar, m_auditor, m_supervisor;
    int m_key = 0;

    // Money in on CASH (a debit), from CUST; `ref` is the transaction's external reference.
    qint64 postIn(const QString &cash, const QString &amount, const QDate &day, const QString &ref,
                  const QString &description = QStringLiteral("Payment"))
    {
        return m_admin
            ->scalar(
                QStringLiteral(
                    "SELECT ledger.post_transaction(jsonb_build_object('idempotency_key', "
                    "'rc-' || $1, 'effective_at', $2 || 'T10:00:00Z', 'description', $5::text, "
                    "'external_ref', nullif($4, ''), 'legs', jsonb_build_array("
                    "jsonb_build_object('account', $6::text, 'amount', $3::text, 'currency', "
                    "'EUR'), jsonb_build_object('account', 'CUST', 'amount', '-' || $3, "
                    "'currency', 'EUR'))))"),
                {QString::number(++m_key), day.toString(Qt::ISODate), amount, ref, description,
                 cash})
            .toLongLong();
    }

    // The ledger entry of a transaction on the cash account.
    qint64 entryOf(qint64 transaction, const QString &cash = QStringLiteral("CASH"))
    {
        return m_admin
            ->scalar(
                QStringLiteral("SELECT e.id FROM ledger.entries e JOIN ledger.accounts a ON "
                               "a.id = e.account_id WHERE e.transaction_id = $1 AND a.code = $2"),
                {QString::number(transaction), cash})
            .toLongLong();
    }

    qint64 lineId(const QString &ref)
    {
        return m_admin
            ->scalar(QStringLiteral("SELECT id FROM recon.lines WHERE bank_reference = $1"), {ref})
            .toLongLong();
    }

    QString count(const QString &sql, const QStringList &params = {})
    {
        return m_admin->scalar(sql, params);
    }

    ReconException exceptionOf(const QString &type, qint64 line, qint64 entry = 0)
    {
        ReconExceptionQuery q;
        q.states = {QStringLiteral("open"), QStringLiteral("assigned"), QStringLiteral("resolved"),
                    QStringLiteral("accepted")};
        q.types = {type};
        q.limit = 10000;
        for (const ReconException &e : ReconRepository::exceptions(*m_olivia, q))
            if ((line == 0 || e.lineId == line) && (entry == 0 || e.entryId == entry))
                return e;
        return {};
    }

    // An amount in minor units as the decimal text the ledger takes, exactly (never through
    // a double).
    static QString decimal(qint64 minor)
    {
        const qint64 abs = minor < 0 ? -minor : minor;
        return QStringLiteral("%1%2.%3")
            .arg(minor < 0 ? QStringLiteral("-") : QString())
            .arg(abs / 100)
            .arg(abs % 100, 2, 10, QLatin1Char('0'));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH', 'Cash at bank', 'EUR', 'asset'), "
                        "ledger.open_account('CASH2', 'Second bank', 'EUR', 'asset'), "
                        "ledger.open_account('CUST', 'Customers', 'EUR', 'liability'); "
                        "INSERT INTO access.operators (name, broker_role, groups) VALUES "
                        "('olivia', 'olivia_broker', '{console_operator}'), "
                        "('oscar', 'oscar_broker', '{console_operator}')"))
                    .ok);
        m_olivia = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
        m_oscar = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("oscar")));
        m_auditor = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_auditor"), QStringLiteral("audrey")));
        m_supervisor = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    void importIsMappedIdempotentAndAllOrNothing()
    {
        const BankFile file = fileOf({statement(
            kIban, QStringLiteral("STMT-1"), 1, 100000,
            {line(1100, {2026, 11, 2}, QStringLiteral("REF1"), QStringLiteral("Ntry[1]")),
             line(-250, {2026, 11, 3}, QStringLiteral("FEE1"), QStringLiteral("Ntry[2]"))})});
        // Unmapped: refused, naming the identifier to map; nothing imported.
        const Error unmapped = errorOf([&] {
            ReconRepository::importFile(*m_olivia, file, shaFor(QStringLiteral("f1")), 10);
        });
        QCOMPARE(unmapped.kind, Error::Kind::Input);
        QVERIFY2(unmapped.message.contains(kIban) &&
                     unmapped.message.contains(QLatin1String("recon map")),
                 qPrintable(unmapped.message));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.files")), QStringLiteral("0"));

        // With --account: mapped first, then imported.
        ReconRepository::ImportOptions options;
        options.fileName = QStringLiteral("nov.xml");
        options.mapToAccount = QStringLiteral("CASH");
        const ReconImportSummary first =
            ReconRepository::importFile(*m_olivia, file, shaFor(QStringLiteral("f1")), 10, options);
        QVERIFY(!first.alreadyImported);
        QCOMPARE(first.mappedNow, QStringList{kIban});
        QCOMPARE(first.accounts, QStringList{QStringLiteral("CASH")});
        QCOMPARE(first.statements, 1);
        QCOMPARE(first.lines, 2);
        QCOMPARE(first.unbalancedStatements, 0);

        // The same bytes again: nothing, and it says when and by whom.
        const ReconImportSummary again =
            ReconRepository::importFile(*m_olivia, file, shaFor(QStringLiteral("f1")), 10);
        QVERIFY(again.alreadyImported);
        QCOMPARE(again.firstImportedBy, QStringLiteral("olivia"));
        // The same statement in other bytes: skipped.
        const ReconImportSummary sameStatement =
            ReconRepository::importFile(*m_olivia, file, shaFor(QStringLiteral("f1-copy")), 11);
        QCOMPARE(sameStatement.statements, 0);
        QCOMPARE(sameStatement.statementsSkipped, 1);
        // A later statement re-sending REF1 (same amount, same date): skipped; a new line kept,
        // and its copy later in the same statement skipped too.
        const ReconImportSummary next = ReconRepository::importFile(
            *m_olivia,
            fileOf({statement(
                kIban, QStringLiteral("STMT-2"), 2, 100850,
                {line(1100, {2026, 11, 2}, QStringLiteral("REF1"), QStringLiteral("Ntry[1]")),
                 line(1300, {2026, 11, 4}, QStringLiteral("REF3"), QStringLiteral("Ntry[2]")),
                 line(1300, {2026, 11, 4}, QStringLiteral("REF3"), QStringLiteral("Ntry[3]"))})}),
            shaFor(QStringLiteral("f2")), 12);
        QCOMPARE(next.lines, 1);
        QCOMPARE(next.linesSkipped, 2);
        QCOMPARE(count(QStringLiteral("SELECT source_location FROM recon.lines WHERE "
                                      "bank_reference = 'REF3'")),
                 QStringLiteral("Ntry[2]"));
        // That statement's closing counted REF1 and the copy of REF3 again, so it does not
        // balance: an exception.
        QCOMPARE(next.unbalancedStatements, 1);
        QCOMPARE(count(QStringLiteral("SELECT difference_minor FROM recon.exceptions WHERE type = "
                                      "'statement_unbalanced'")),
                 QStringLiteral("2400"));

        // An amount finer than EUR allows, and a cancel: nothing of the file imported.
        BankFile fine = fileOf({statement(
            kIban, QStringLiteral("STMT-3"), 3, 0,
            {line(1, {2026, 11, 5}, QStringLiteral("OK"), QStringLiteral("Ntry[1]")),
             line(1, {2026, 11, 5}, QStringLiteral("FINE"), QStringLiteral("Ntry[2]"))})});
        fine.statements[0].lines[1].amount = {12345, 3};
        const Error tooFine = errorOf(
            [&] { ReconRepository::importFile(*m_olivia, fine, shaFor(QStringLiteral("f3")), 1); });
        QVERIFY2(tooFine.message.contains(QLatin1String("Ntry[2]")) &&
                     tooFine.message.contains(QLatin1String("12.345")),
                 qPrintable(tooFine.message));
        fine.statements[0].lines[1].amount = {1234, 2};
        ReconRepository::ImportOptions cancel;
        cancel.cancelled = [] { return true; };
        QCOMPARE(errorOf([&] {
                     ReconRepository::importFile(*m_olivia, fine, shaFor(QStringLiteral("f3")), 1,
                                                 cancel);
                 }).kind,
                 Error::Kind::Cancelled);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.statements WHERE statement_id = "
                                      "'STMT-3'")),
                 QStringLiteral("0"));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                      "'recon.imported'")),
                 QStringLiteral("3"));
        // Auditors read, they do not import.
        QCOMPARE(errorOf([&] {
                     ReconRepository::importFile(*m_auditor, fine, shaFor(QStringLiteral("f4")), 1);
                 }).kind,
                 Error::Kind::Permission);
    }

    // Planted discrepancies of every type, each found with the right type; a dry run first.
    void thePassesFindEveryPlantedDiscrepancy()
    {
        const QString iban2 = QStringLiteral("GB29NWBK60161331926819");
        QCOMPARE(ReconRepository::mapAccount(*m_olivia,
                                             QStringLiteral("gb29 nwbk 6016 1331 9268 19"),
                                             QStringLiteral("EUR"), QStringLiteral("CASH2")) > 0,
                 true);
        const QString cash = QStringLiteral("CASH2");
        const qint64 exact =
            postIn(cash, QStringLiteral("11.00"), {2026, 11, 2}, QStringLiteral("X1"));
        const qint64 near = postIn(cash, QStringLiteral("18.00"), {2026, 11, 9}, {},
                                   QStringLiteral("Payment from ACME GmbH"));
        const qint64 settleA =
            postIn(cash, QStringLiteral("21.00"), {2026, 11, 12}, QStringLiteral("C1"));
        const qint64 settleB =
            postIn(cash, QStringLiteral("22.00"), {2026, 11, 12}, QStringLiteral("C2"));
        const qint64 mismatch =
            postIn(cash, QStringLiteral("17.00"), {2026, 11, 8}, QStringLiteral("X7"));
        const qint64 late =
            postIn(cash, QStringLiteral("19.00"), {2026, 11, 10}, QStringLiteral("X9"));
        const qint64 notInStatement =
            postIn(cash, QStringLiteral("20.00"), {2026, 11, 11}, QStringLiteral("X10"));
        const qint64 split =
            postIn(cash, QStringLiteral("30.00"), {2026, 11, 14}, QStringLiteral("S1"));
        const ReconImportSummary imported = ReconRepository::importFile(
            *m_olivia,
            fileOf({statement(
                iban2, QStringLiteral("B2-1"), 1, 0,
                {line(1100, {2026, 11, 2}, QStringLiteral("X1"), QStringLiteral("l1")),
                 line(1800, {2026, 11, 9}, {}, QStringLiteral("l2"), QStringLiteral("ACME GmbH")),
                 line(4300, {2026, 11, 12}, QStringLiteral("SETTLE"), QStringLiteral("l3")),
                 line(1750, {2026, 11, 8}, QStringLiteral("X7"), QStringLiteral("l4")),
                 line(1900, {2026, 11, 25}, QStringLiteral("X9"), QStringLiteral("l5")),
                 line(99900, {2026, 11, 15}, QStringLiteral("UNKNOWN"), QStringLiteral("l6")),
                 line(1000, {2026, 11, 14}, QStringLiteral("S1a"), QStringLiteral("l7")),
                 line(2000, {2026, 11, 15}, QStringLiteral("S1b"), QStringLiteral("l8")),
                 line(500, {2026, 11, 28}, QStringLiteral("LATEST"), QStringLiteral("l9"))})}),
            shaFor(QStringLiteral("b2")), 100);
        QCOMPARE(imported.lines, 9);

        const ReconMatchSummary dry = ReconRepository::match(*m_olivia, cash, true);
        QVERIFY(dry.dryRun);
        QCOMPARE(dry.runs.size(), 1);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.match_groups g JOIN "
                                      "recon.bank_accounts b ON b.id = g.bank_account_id WHERE "
                                      "b.identifier = $1"),
                       {iban2}),
                 QStringLiteral("0"));
        const ReconMatchSummary run = ReconRepository::match(*m_olivia, cash);
        QCOMPARE(run.runs.size(), 1);
        const ReconRunSummary &r = run.runs.first();
        const ReconRunSummary &d = dry.runs.first();
        QCOMPARE(d.exact, r.exact); // the dry run said what the run did
        QCOMPARE(d.exceptionsRaised, r.exceptionsRaised);
        QCOMPARE(r.exact, 1);
        QCOMPARE(r.tolerance, 1);
        QCOMPARE(r.oneToMany, 1);
        QCOMPARE(r.manyToOne, 1);
        QCOMPARE(r.exceptionsRaised.value(QStringLiteral("amount_mismatch")), 1);
        QCOMPARE(r.exceptionsRaised.value(QStringLiteral("date_out_of_tolerance")), 1);
        QCOMPARE(r.exceptionsRaised.value(QStringLiteral("missing_in_ledger")), 2); // l6, l9
        QCOMPARE(r.exceptionsRaised.value(QStringLiteral("missing_in_statement")), 1);

        QCOMPARE(exceptionOf(QStringLiteral("amount_mismatch"), lineId(QStringLiteral("X7")),
                             entryOf(mismatch, cash))
                     .differenceMinor,
                 -50);
        QVERIFY(exceptionOf(QStringLiteral("date_out_of_tolerance"), lineId(QStringLiteral("X9")),
                            entryOf(late, cash))
                    .id > 0);
        QVERIFY(
            exceptionOf(QStringLiteral("missing_in_ledger"), lineId(QStringLiteral("UNKNOWN"))).id >
            0);
        QVERIFY(
            exceptionOf(QStringLiteral("missing_in_statement"), 0, entryOf(notInStatement, cash))
                .id > 0);
        // The groups: which lines with which entries, by which rule.
        const auto groupOf = [&](const QString &rule) {
            return count(QStringLiteral("SELECT array_to_string(line_ids, ',') || '|' || "
                                        "array_to_string(entry_ids, ',') FROM recon.match_groups "
                                        "WHERE rule = $1 AND run_id = $2"),
                         {rule, QString::number(r.runId)});
        };
        QCOMPARE(
            groupOf(QStringLiteral("exact")),
            QStringLiteral("%1|%2").arg(lineId(QStringLiteral("X1"))).arg(entryOf(exact, cash)));
        QCOMPARE(groupOf(QStringLiteral("one_to_many")), QStringLiteral("%1|%2,%3")
                                                             .arg(lineId(QStringLiteral("SETTLE")))
                                                             .arg(entryOf(settleA, cash))
                                                             .arg(entryOf(settleB, cash)));
        QCOMPARE(groupOf(QStringLiteral("many_to_one")), QStringLiteral("%1,%2|%3")
                                                             .arg(lineId(QStringLiteral("S1a")))
                                                             .arg(lineId(QStringLiteral("S1b")))
                                                             .arg(entryOf(split, cash)));
        QVERIFY(
            groupOf(QStringLiteral("tolerance")).endsWith(QString::number(entryOf(near, cash))));
        // A second run finds nothing new and raises nothing twice.
        const ReconRunSummary second = ReconRepository::match(*m_olivia, cash).runs.first();
        QCOMPARE(second.exact + second.tolerance + second.oneToMany + second.manyToOne, 0);
        QVERIFY(second.exceptionsRaised.isEmpty());
    }

    // Reject and revoke (never proposed again), manual matches within tolerance, and the
    // exception workflow with two operators racing for one exception.
    void decisionsAndTheExceptionWorkflow()
    {
        const QString cash = QStringLiteral("CASH2");
        const qint64 proposed = count(QStringLiteral("SELECT id FROM recon.match_groups WHERE "
                                                     "rule = 'one_to_many' LIMIT 1"))
                                    .toLongLong();
        QVERIFY(proposed > 0);
        QCOMPARE(errorOf([&] {
                     ReconRepository::decideMatch(*m_olivia, proposed, QStringLiteral("rejected"));
                 }).sqlState,
                 QStringLiteral("LG030")); // a note is required
        ReconRepository::decideMatch(*m_olivia, proposed, QStringLiteral("rejected"),
                                     QStringLiteral("not that settlement"));
        QCOMPARE(errorOf([&] {
                     ReconRepository::decideMatch(*m_oscar, proposed, QStringLiteral("confirmed"));
                 }).sqlState,
                 QStringLiteral("LG083")); // no longer stands
        const ReconRunSummary after = ReconRepository::match(*m_olivia, cash).runs.first();
        QCOMPARE(after.oneToMany, 0); // not proposed again
        const qint64 settleLine = lineId(QStringLiteral("SETTLE"));
        const ReconException settleMissing =
            exceptionOf(QStringLiteral("missing_in_ledger"), settleLine);
        QVERIFY(settleMissing.id > 0);

        // A manual match: the sums must agree within tolerance (0 here).
        const QList<qint64> settleEntries{
            count(QStringLiteral("SELECT e.id FROM ledger.entries e JOIN ledger.transactions t ON "
                                 "t.id = e.transaction_id WHERE t.external_ref = 'C1' AND e.amount "
                                 "> 0"))
                .toLongLong(),
            count(QStringLiteral("SELECT e.id FROM ledger.entries e JOIN ledger.transactions t ON "
                                 "t.id = e.transaction_id WHERE t.external_ref = 'C2' AND e.amount "
                                 "> 0"))
                .toLongLong()};
        const Error off = errorOf([&] {
            ReconRepository::manualMatch(*m_olivia, {settleLine}, {settleEntries.first()},
                                         QStringLiteral("only one"));
        });
        QCOMPARE(off.sqlState, QStringLiteral("LG083"));
        QVERIFY2(off.message.contains(QLatin1String("43.00")) &&
                     off.message.contains(QLatin1String("21.00")),
                 qPrintable(off.message));
        const qint64 group = ReconRepository::manualMatch(*m_olivia, {settleLine}, settleEntries,
                                                          QStringLiteral("card settlement"));
        QVERIFY(group > 0);
        QCOMPARE(exceptionOf(QStringLiteral("missing_in_ledger"), settleLine).state,
                 QStringLiteral("resolved"));

        // Two operators act on the same exception from the same state: one wins.
        const ReconException unknown =
            exceptionOf(QStringLiteral("missing_in_ledger"), lineId(QStringLiteral("UNKNOWN")));
        const qint64 assigned =
            ReconRepository::assignException(*m_olivia, unknown.id, {}, unknown.lastEventId);
        const Error lost = errorOf([&] {
            ReconRepository::acceptException(*m_oscar, unknown.id, QStringLiteral("NOT_OURS"), {},
                                             unknown.lastEventId);
        });
        QCOMPARE(lost.sqlState, QStringLiteral("LG084"));
        QVERIFY2(lost.message.contains(QLatin1String("olivia")), qPrintable(lost.message));
        QCOMPARE(exceptionOf(QStringLiteral("missing_in_ledger"), lineId(QStringLiteral("UNKNOWN")))
                     .assignee,
                 QStringLiteral("olivia"));
        // Accept needs a known reason; OTHER needs a note.
        QCOMPARE(errorOf([&] {
                     ReconRepository::acceptException(*m_olivia, unknown.id,
                                                      QStringLiteral("BECAUSE"), {}, assigned);
                 }).sqlState,
                 QStringLiteral("LG085"));
        QCOMPARE(errorOf([&] {
                     ReconRepository::acceptException(*m_olivia, unknown.id,
                                                      QStringLiteral("OTHER"), {}, assigned);
                 }).sqlState,
                 QStringLiteral("LG030"));
        const qint64 accepted =
            ReconRepository::acceptException(*m_olivia, unknown.id, QStringLiteral("NOT_OURS"),
                                             QStringLiteral("misdirected"), assigned);
        QCOMPARE(exceptionOf(QStringLiteral("missing_in_ledger"), lineId(QStringLiteral("UNKNOWN")))
                     .state,
                 QStringLiteral("accepted"));
        ReconRepository::reopenException(*m_oscar, unknown.id, QStringLiteral("it was ours"),
                                         accepted);
        QCOMPARE(exceptionOf(QStringLiteral("missing_in_ledger"), lineId(QStringLiteral("UNKNOWN")))
                     .state,
                 QStringLiteral("open"));

        // Resolved by a correction requested through the reversal workflow; linked both ways.
        const ReconException mismatch =
            exceptionOf(QStringLiteral("amount_mismatch"), lineId(QStringLiteral("X7")));
        const qint64 request = ReversalRepository::request(
            *m_olivia, mismatch.transactionId, QStringLiteral("WRONG_AMOUNT"),
            QStringLiteral("the bank says 17.50"),
            QByteArray(
                R"({"effective_at": "2026-11-08T10:00:00Z", "description": "Payment", "legs": [
                {"account": "CASH2", "amount": "17.50", "currency": "EUR"},
                {"account": "CUST", "amount": "-17.50", "currency": "EUR"}]})"));
        QCOMPARE(errorOf([&] {
                     ReconRepository::resolveByCorrection(*m_olivia, unknown.id, request, {}, 0);
                 }).sqlState,
                 QStringLiteral("LG085")); // no entry to correct
        ReconRepository::resolveByCorrection(*m_olivia, mismatch.id, request,
                                             QStringLiteral("rebook requested"),
                                             mismatch.lastEventId);
        QCOMPARE(ReconRepository::exceptionsOfRequest(*m_olivia, request),
                 QList<qint64>{mismatch.id});

        // Bulk: each on its own; a wrong one does not stop the others.
        ReconExceptionQuery open;
        open.account = QStringLiteral("CASH2");
        const QList<ReconException> page = ReconRepository::exceptions(*m_olivia, open);
        QList<qint64> ids;
        for (const ReconException &e : page)
            ids << e.id;
        ids << 999999;
        const QList<ReconBulkResult> results = ReconRepository::bulkExceptions(
            *m_olivia, ids, QStringLiteral("assign"), QStringLiteral("oscar"), {}, {});
        QCOMPARE(results.size(), ids.size());
        QVERIFY(!results.last().ok);
        for (int i = 0; i + 1 < results.size(); ++i)
            QVERIFY2(results.at(i).ok, qPrintable(results.at(i).message));
        open.assignee = QStringLiteral("oscar");
        QCOMPARE(ReconRepository::exceptionCount(*m_olivia, open), qint64(page.size()));

        // Everything above is on record.
        for (const char *action :
             {"recon.match_rejected", "recon.match_manual", "recon.exception_assigned",
              "recon.exception_accepted", "recon.exception_reopened", "recon.exception_resolved"})
            QVERIFY2(count(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = $1"),
                           {QString::fromLatin1(action)})
                             .toInt() > 0,
                     action);
    }

    void theQueueAgingAndStatusAreReadableByAuditors()
    {
        ReconExceptionQuery q;
        q.sort = QStringLiteral("amount");
        q.descending = true;
        const QList<ReconException> page = ReconRepository::exceptions(*m_auditor, q);
        QVERIFY(!page.isEmpty());
        for (int i = 1; i < page.size(); ++i)
            QVERIFY(qAbs(page.at(i - 1).amountMinor) >= qAbs(page.at(i).amountMinor));
        QCOMPARE(ReconRepository::exceptionCount(*m_auditor, q), qint64(page.size()));
        q.types = {QStringLiteral("statement_unbalanced")};
        QCOMPARE(ReconRepository::exceptionCount(*m_auditor, q), 1);
        QVERIFY(!ReconRepository::aging(*m_auditor).isEmpty());
        const QList<ReconAccountStatus> status = ReconRepository::status(*m_auditor);
        QCOMPARE(status.size(), 2);
        QCOMPARE(status.at(0).account, QStringLiteral("CASH"));
        QVERIFY(status.at(0).hasLastStatement);
        QVERIFY(!status.at(0).agrees);
        QVERIFY(!status.at(0).lastAgreement.isValid());
        QCOMPARE(status.at(1).lines, 9);
        // Confirmed: the exact and the tolerance match (scores at the threshold) and the
        // manual settlement; proposed: the two lines of the many-to-one match.
        QCOMPARE(status.at(1).matchedLines, 3);
        QCOMPARE(status.at(1).proposedLines, 2);
        // The rules a manual match is held to (the defaults of recon.bank_accounts).
        QCOMPARE(status.at(1).exponent, 2);
        QCOMPARE(status.at(1).amountToleranceMinor, 0);
        QCOMPARE(status.at(1).amountToleranceBp, 0);
        QCOMPARE(status.at(1).dateWindowDays, 3);
        q.sort = QStringLiteral("nonsense");
        QCOMPARE(errorOf([&] { ReconRepository::exceptions(*m_auditor, q); }).kind,
                 Error::Kind::Input);
        // Auditors read only.
        QCOMPARE(errorOf([&] { ReconRepository::match(*m_auditor, QStringLiteral("CASH2")); }).kind,
                 Error::Kind::Permission);
    }

    // Randomised ledgers and statements with noise (split settlements, date shifts, fees,
    // duplicates, unknown lines): every matched group's lines and entries are the ones the
    // generator paired, never a distinct pair.
    void randomisedStatementsHaveNoFalseMatches()
    {
        QRandomGenerator rng(20261202);
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH3', 'Third bank', 'EUR', 'asset')"))
                    .ok);
        ReconRepository::mapAccount(*m_olivia, QStringLiteral("FR7630006000011234567890189"),
                                    QStringLiteral("EUR"), QStringLiteral("CASH3"));
        QHash<qint64, QString> truthOfEntry; // entry -> the line reference it belongs to
        QList<BankLine> lines;
        for (int i = 0; i < 300; ++i) {
            const QDate day(2026, 10, 1 + int(rng.bounded(28)));
            const qint64 cents = 100 + qint64(rng.bounded(50000));
            const QString ref = QStringLiteral("R%1").arg(i);
            const int kind = int(rng.bounded(10));
            if (kind == 0) { // unknown to the ledger
                lines << line(cents, day, ref, ref);
                continue;
            }
            if (kind == 1) { // a settlement of two entries
                const qint64 a = cents / 3;
                const qint64 t1 = postIn(QStringLiteral("CASH3"), decimal(a), day, {});
                const qint64 t2 = postIn(QStringLiteral("CASH3"), decimal(cents - a), day, {});
                truthOfEntry.insert(entryOf(t1, QStringLiteral("CASH3")), ref);
                truthOfEntry.insert(entryOf(t2, QStringLiteral("CASH3")), ref);
                lines << line(cents, day, ref, ref);
                continue;
            }
            const QDate bankDay = kind == 2 ? day.addDays(int(rng.bounded(3))) : day;
            const qint64 t =
                postIn(QStringLiteral("CASH3"), decimal(cents), day, kind == 3 ? QString() : ref);
            truthOfEntry.insert(entryOf(t, QStringLiteral("CASH3")), ref);
            lines << line(cents, bankDay, ref, ref);
        }
        ReconRepository::importFile(*m_olivia,
                                    fileOf({statement(QStringLiteral("FR7630006000011234567890189"),
                                                      QStringLiteral("R-1"), 1, 0, lines)}),
                                    shaFor(QStringLiteral("random")), 1);
        const ReconRunSummary run =
            ReconRepository::match(*m_olivia, QStringLiteral("CASH3")).runs.first();
        QVERIFY(run.exact > 150);
        const auto rows =
            m_admin
                ->exec(QStringLiteral(
                           "SELECT array_to_string(g.entry_ids, ','), l.bank_reference FROM "
                           "recon.match_groups g JOIN recon.lines l ON l.id = ANY (g.line_ids) "
                           "WHERE g.run_id = $1"),
                       {QString::number(run.runId)})
                .rows;
        QVERIFY(!rows.isEmpty());
        for (const QStringList &row : rows)
            for (const QString &entry : row.at(0).split(QLatin1Char(',')))
                QCOMPARE(truthOfEntry.value(entry.toLongLong()), row.at(1));
    }

    // (Late: the account it maps would show in the other tests' status.)
    // Lines without a bank reference (a CSV export without a reference column) are duplicates
    // when amount, value date, counterparty account, remittance and end-to-end id are equal,
    // in the same file or an earlier one; a line differing in any of them is not (0034 moved
    // the amount into the index this check reads).
    void linesWithoutABankReferenceAreCheckedForDuplicates()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH-NOREF', 'No references', 'EUR', "
                        "'asset')"))
                    .ok);
        const QString iban = QStringLiteral("DE21500105170000000002");
        QVERIFY(ReconRepository::mapAccount(*m_olivia, iban, QStringLiteral("EUR"),
                                            QStringLiteral("CASH-NOREF")) > 0);
        const auto noRef = [](qint64 cents, int day, const QString &remittance,
                              const QString &location) {
            BankLine l = line(cents, {2026, 11, day}, QString(), location);
            l.counterpartyAccount = QStringLiteral("DE02120300000000202051");
            l.remittance = remittance;
            return l;
        };
        ReconRepository::importFile(
            *m_olivia,
            fileOf(
                {statement(iban, QStringLiteral("NOREF-1"), 1, 0,
                           {noRef(1000, 2, QStringLiteral("Invoice 1"), QStringLiteral("a1")),
                            noRef(2000, 2, QStringLiteral("Invoice 2"), QStringLiteral("a2")),
                            noRef(3000, 3, QStringLiteral("Invoice 3"), QStringLiteral("a3"))})}),
            shaFor(QStringLiteral("noref-1")), 10);
        const ReconImportSummary second = ReconRepository::importFile(
            *m_olivia,
            fileOf({statement(
                iban, QStringLiteral("NOREF-2"), 2, 6000,
                {noRef(1000, 2, QStringLiteral("Invoice 1"), QStringLiteral("b1")), // a1 again
                 noRef(1001, 2, QStringLiteral("Invoice 1"), QStringLiteral("b2")), // amount
                 noRef(2000, 3, QStringLiteral("Invoice 2"), QStringLiteral("b3")), // date
                 noRef(3000, 3, QStringLiteral("Invoice 4"), QStringLiteral("b4")), // text
                 noRef(5000, 4, QStringLiteral("Invoice 5"), QStringLiteral("b5")),
                 noRef(5000, 4, QStringLiteral("Invoice 5"), QStringLiteral("b6"))})}), // b5
            shaFor(QStringLiteral("noref-2")), 10);
        QCOMPARE(second.lines, 6); // without a reference nothing is skipped: it is flagged
        QCOMPARE(second.duplicateLines, 2);
        QCOMPARE(count(QStringLiteral(
                           "SELECT string_agg(l.source_location || '=' || o.source_location, ',' "
                           "ORDER BY l.source_location) FROM recon.exceptions x "
                           "JOIN recon.lines l ON l.id = x.line_id "
                           "JOIN recon.lines o ON o.id = (x.detail ->> 'duplicate_of')::bigint "
                           "JOIN recon.bank_accounts b ON b.id = x.bank_account_id "
                           "WHERE x.type = 'duplicate_line' AND b.identifier = $1"),
                       {iban}),
                 QStringLiteral("b1=a1,b6=b5"));
    }

    // (Last: the account it maps would show in the other tests' status.)
    // Red team: a client calling the import functions itself. Line numbers are the server's
    // to check: a chunk that reuses them is refused, not half-skipped (a line seen before is
    // the only thing an import leaves out).
    void importLinesRefusesReusedLineNumbers()
    {
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH-ATK', 'Attacked', 'EUR', 'asset')"))
                    .ok);
        const qint64 bankAccount =
            ReconRepository::mapAccount(*m_olivia, QStringLiteral("DE21500105170000000001"),
                                        QStringLiteral("EUR"), QStringLiteral("CASH-ATK"));
        QVERIFY(bankAccount > 0);
        SqlSession client(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
        QVERIFY(client.run(QStringLiteral("BEGIN")).ok);
        const test::SqlOutcome begun = client.run(QStringLiteral(
            "SELECT file_id FROM recon.import_begin(repeat('ab', 32), 'csv', 'attack.csv', 10)"));
        QVERIFY2(begun.ok, qPrintable(begun.message));
        const test::SqlOutcome opened = client.run(
            QStringLiteral(
                "SELECT recon.import_statement(%1, %2, '{\"statement_id\": \"ATTACK-1\"}')")
                .arg(begun.rows.at(0).at(0))
                .arg(bankAccount));
        QVERIFY2(opened.ok, qPrintable(opened.message));
        const auto chunk = [&](const QString &ref) {
            return client.run(
                QStringLiteral("SELECT inserted FROM recon.import_lines(%1, 1, '{500}', '{NULL}', "
                               "'{2026-11-20}', '{f}', '{BOOK}', '{%2}', '{\"\"}', '{\"\"}', "
                               "'{\"\"}', '{\"\"}', '{\"\"}', '{\"\"}', '{\"\"}', "
                               "'{\"line 1\"}')")
                    .arg(opened.rows.at(0).at(0), ref));
        };
        const test::SqlOutcome first = chunk(QStringLiteral("ATK1"));
        QVERIFY2(first.ok, qPrintable(first.message));
        QCOMPARE(first.rows.at(0).at(0), QStringLiteral("1"));
        // Line 1 again, with a new reference: refused (unique_violation), not skipped.
        const test::SqlOutcome again = chunk(QStringLiteral("ATK2"));
        QVERIFY(!again.ok);
        QCOMPARE(again.sqlState, QStringLiteral("23505"));
        QVERIFY(client.run(QStringLiteral("ROLLBACK")).ok);
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.lines WHERE bank_reference "
                                      "LIKE 'ATK%'")),
                 QStringLiteral("0"));
    }

    // A run's exact pairs (recon.run_pairs since 0057) are decided like any group, stand in
    // one group at most, and their facts cannot be changed or deleted, not even by the owner;
    // an entry of a ledger account mapped from two bank accounts stands once.
    void exactPairsAreDecidedLikeAnyGroupAndCannotBeEdited()
    {
        const QString cash = QStringLiteral("CASH9");
        const QString ibanA = QStringLiteral("FR1420041010050500013M02606");
        const QString ibanB = QStringLiteral("NL91ABNA0417164300");
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('CASH9', 'Ninth bank', 'EUR', 'asset')"))
                    .ok);
        for (const QString &iban : {ibanA, ibanB})
            QVERIFY(ReconRepository::mapAccount(*m_olivia, iban, QStringLiteral("EUR"), cash) > 0);
        // Every pair waits for an operator on A.
        ReconRepository::setRules(*m_supervisor, ibanA, QStringLiteral("EUR"),
                                  QJsonObject{{QStringLiteral("auto_confirm_score"), 100}});
        const qint64 p1 = entryOf(
            postIn(cash, QStringLiteral("11.00"), {2026, 11, 3}, QStringLiteral("P1")), cash);
        const qint64 p2 = entryOf(
            postIn(cash, QStringLiteral("12.00"), {2026, 11, 4}, QStringLiteral("P2")), cash);
        ReconRepository::importFile(
            *m_olivia,
            fileOf(
                {statement(ibanA, QStringLiteral("A-1"), 1, 0,
                           {line(1100, {2026, 11, 3}, QStringLiteral("P1"), QStringLiteral("a1")),
                            line(1200, {2026, 11, 4}, QStringLiteral("P2"), QStringLiteral("a2"))}),
                 statement(
                     ibanB, QStringLiteral("B-1"), 1, 0,
                     {line(1100, {2026, 11, 3}, QStringLiteral("Q1"), QStringLiteral("b1"))})}),
            shaFor(QStringLiteral("cash3")), 100);
        const ReconMatchSummary run = ReconRepository::match(*m_olivia, cash);
        QCOMPARE(run.runs.size(), 2);
        QCOMPARE(run.runs.at(0).exact, 2);
        QCOMPARE(run.runs.at(0).autoConfirmed, 0);
        const auto groupOfLine = [&](const QString &ref) {
            return count(QStringLiteral("SELECT g.id FROM recon.match_groups g WHERE g.rule = "
                                        "'exact' AND g.line_ids = ARRAY[$1::bigint]"),
                         {QString::number(lineId(ref))})
                .toLongLong();
        };
        const qint64 g1 = groupOfLine(QStringLiteral("P1"));
        const qint64 g2 = groupOfLine(QStringLiteral("P2"));
        QVERIFY(g1 > 0 && g2 > 0);
        // Read as before: one line, one entry, the amounts, the run's operator.
        QCOMPARE(count(QStringLiteral("SELECT format('%s|%s|%s|%s|%s', entry_ids[1], lines_minor, "
                                      "entries_minor, created_by, auto_confirmed) FROM "
                                      "recon.match_groups WHERE id = $1"),
                       {QString::number(g1)}),
                 QStringLiteral("%1|1100|1100|olivia|f").arg(p1));
        QCOMPARE(count(QStringLiteral("SELECT count(*) FROM recon.run_pairs WHERE id IN ($1, $2)"),
                       {QString::number(g1), QString::number(g2)}),
                 QStringLiteral("2"));

        // The line on B is the same amount on the same day, but P1's entry stands for A.
        const qint64 q1 = lineId(QStringLiteral("Q1"));
        const Error taken = errorOf([&] {
            ReconRepository::manualMatch(*m_olivia, {q1}, {p1}, QStringLiteral("B's line"));
        });
        QCOMPARE(taken.sqlState, QStringLiteral("LG083"));
        QVERIFY2(taken.message.contains(QStringLiteral("group %1").arg(g1)),
                 qPrintable(taken.message));

        // Decisions: P2 confirmed, then revoked; P1 rejected. Each moves the standing index.
        ReconRepository::decideMatch(*m_olivia, g2, QStringLiteral("confirmed"));
        const auto standing = [&](qint64 entry) {
            return count(QStringLiteral("SELECT coalesce((SELECT format('%s %s', group_id, "
                                        "confirmed) FROM recon.active_entries WHERE entry_id = "
                                        "$1), 'none')"),
                         {QString::number(entry)});
        };
        QCOMPARE(standing(p2), QStringLiteral("%1 t").arg(g2));
        QCOMPARE(standing(p1), QStringLiteral("%1 f").arg(g1));
        QCOMPARE(errorOf([&] {
                     ReconRepository::decideMatch(*m_olivia, g2, QStringLiteral("rejected"),
                                                  QStringLiteral("too late"));
                 }).sqlState,
                 QStringLiteral("LG083")); // confirmed: revoke it instead
        ReconRepository::decideMatch(*m_olivia, g2, QStringLiteral("revoked"),
                                     QStringLiteral("booked twice"));
        ReconRepository::decideMatch(*m_oscar, g1, QStringLiteral("rejected"),
                                     QStringLiteral("not ours"));
        QCOMPARE(standing(p1), QStringLiteral("none"));
        QCOMPARE(standing(p2), QStringLiteral("none"));
        QCOMPARE(errorOf([&] {
                     ReconRepository::decideMatch(*m_olivia, g1, QStringLiteral("confirmed"));
                 }).sqlState,
                 QStringLiteral("LG083")); // no longer stands

        // The attacks, as the database superuser: a pair's facts, its standing once taken
        // out, a confirmation taken back, a delete, a decision on a group that does not exist.
        for (const QString &attack :
             {QStringLiteral("UPDATE recon.run_pairs SET entry_id = %1 WHERE id = %2")
                  .arg(p2)
                  .arg(g1),
              QStringLiteral("UPDATE recon.run_pairs SET score = 100 WHERE id = %1").arg(g1),
              QStringLiteral("UPDATE recon.run_pairs SET standing = true WHERE id = %1").arg(g1),
              QStringLiteral("UPDATE recon.run_pairs SET confirmed = true WHERE id = %1").arg(g1),
              QStringLiteral("UPDATE recon.run_pairs SET confirmed = false WHERE id = %1").arg(g2),
              QStringLiteral("DELETE FROM recon.run_pairs WHERE id = %1").arg(g1),
              QStringLiteral("TRUNCATE recon.run_pairs CASCADE")}) {
            const test::SqlOutcome refused = m_admin->exec(attack);
            QVERIFY2(!refused.ok, qPrintable(attack));
            QCOMPARE(refused.sqlState, QStringLiteral("LG001"));
        }
        const test::SqlOutcome dangling = m_admin->exec(
            QStringLiteral("INSERT INTO recon.match_decisions (group_id, decision, decided_by) "
                           "VALUES (%1 + 1000, 'confirmed', 'mallory')")
                .arg(g2));
        QVERIFY(!dangling.ok);
        QCOMPARE(dangling.sqlState, QStringLiteral("23503"));
        QCOMPARE(count(QStringLiteral("SELECT format('%s %s %s %s', line_id, entry_id, score, "
                                      "standing) FROM recon.run_pairs WHERE id = $1"),
                       {QString::number(g1)}),
                 QStringLiteral("%1 %2 90 f").arg(lineId(QStringLiteral("P1"))).arg(p1));

        // Undone pairs are not proposed again; P1's entry is free for B's line now, and B's
        // run pairs them (same amount, same day).
        const ReconMatchSummary again = ReconRepository::match(*m_olivia, cash);
        QCOMPARE(again.runs.size(), 2);
        QCOMPARE(again.runs.at(0).exact + again.runs.at(0).tolerance, 0);
        QCOMPARE(again.runs.at(1).tolerance, 1);
        QCOMPARE(count(QStringLiteral("SELECT format('%s|%s', line_ids[1], entry_ids[1]) FROM "
                                      "recon.match_groups WHERE id = (SELECT group_id FROM "
                                      "recon.active_entries WHERE entry_id = $1)"),
                       {QString::number(p1)}),
                 QStringLiteral("%1|%2").arg(q1).arg(p1));
    }
};

QTEST_GUILESS_MAIN(TestRecon)
#include "tst_recon.moc"
