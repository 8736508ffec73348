// Step 8, statements in the database: the data as of a known-at time equals the ledger's
// point-in-time balances (backdated, future-dated and reversal entries, 0-, 2- and
// 3-decimal currencies); issuing numbers statements per account without gaps and records
// the issue with its audit event only when the file was written; verification by file and
// by reference; restatements after a backdated posting; bad input refused.

#include "ErrorOf.h"
#include "LedgerInvariants.h"
#include "SqlSession.h"
#include "TestCluster.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/LedgerRepository.h"
#include "db/ReversalRepository.h"
#include "db/StatementRepository.h"

#include <QCryptographicHash>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

using namespace ledger;
using test::errorOf;
using test::SqlSession;

class TestStatements : public QObject
{
    Q_OBJECT

    test::TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    std::unique_ptr<Connection> m_writer, m_compliance, m_operator, m_supervisor;
    QTemporaryDir m_dir;
    int m_key = 0;

    qint64 post(const QString &from, const QString &to, const QString &amount,
                const QString &currency, const QDateTime &effective)
    {
        return LedgerRepository::
            post(*m_writer,
                 QStringLiteral(
                     R"({"idempotency_key": "st-%1", "effective_at": "%2", "description": "payment %1", "external_ref": "REF-%1",
                "legs": [{"account": "%3", "amount": "%5", "currency": "%6"}, {"account": "%4", "amount": "-%5", "currency": "%6"}]})")
                     .arg(++m_key)
                     .arg(effective.toUTC().toString(Qt::ISODateWithMs), from, to, amount, currency)
                     .toUtf8())
                .transactionId;
    }

    // The balance of everything effective before `before`, as known at `known`.
    qint64 balanceMinor(const QString &account, const QDateTime &before, const QDateTime &known)
    {
        return m_admin
            ->scalar(QStringLiteral("SELECT minor_units FROM ledger.balance($1, $2::timestamptz - "
                                    "interval '1 microsecond', $3::timestamptz)"),
                     {account, before.toUTC().toString(Qt::ISODateWithMs),
                      known.toUTC().toString(Qt::ISODateWithMs)})
            .toLongLong();
    }

    QDateTime serverNow()
    {
        return QDateTime::fromString(m_admin->scalar(QStringLiteral(
                                         "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                                         "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")),
                                     Qt::ISODateWithMs)
            .toUTC();
    }

    // A file as a writer leaves it: a temporary name, renamed at commit.
    std::function<Result<StatementRepository::Written>(const Statement &)>
    fileWriter(const QString &name, bool fail = false)
    {
        return [this, name, fail](const Statement &s) -> Result<StatementRepository::Written> {
            if (fail)
                return Error::make(Error::Kind::Io, QStringLiteral("disk full"));
            QByteArray body;
            body += s.reference.toUtf8() + '\n';
            for (const StatementLine &l : s.lines)
                body += QByteArray::number(l.entryId) + ' ' + QByteArray::number(l.amountMinor) +
                        ' ' + QByteArray::number(l.balanceMinor) + '\n';
            const QString temp = m_dir.filePath(name + QStringLiteral(".part"));
            const QString final = m_dir.filePath(name);
            QFile f(temp);
            if (!f.open(QIODevice::WriteOnly) || f.write(body) != body.size())
                return Error::make(Error::Kind::Io, f.errorString());
            f.close();
            StatementRepository::Written w;
            w.file.sha256 = QString::fromLatin1(
                QCryptographicHash::hash(body, QCryptographicHash::Sha256).toHex());
            w.file.bytes = body.size();
            w.commit = [temp, final]() -> Status {
                QFile::remove(final);
                if (!QFile::rename(temp, final))
                    return Error::make(Error::Kind::Io, QStringLiteral("rename failed"));
                return {};
            };
            w.discard = [temp] { QFile::remove(temp); };
            return w;
        };
    }

    StatementRepository::IssueOptions csvOptions()
    {
        StatementRepository::IssueOptions o;
        o.format = QStringLiteral("csv");
        o.institution = QStringLiteral("Test Bank");
        o.contentDigest = [](const Statement &s) {
            QByteArray canonical = s.accountCode.toUtf8();
            for (const StatementLine &l : s.lines)
                canonical += ':' + QByteArray::number(l.entryId);
            return QString::fromLatin1(
                QCryptographicHash::hash(canonical, QCryptographicHash::Sha256).toHex());
        };
        return o;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        for (const char *sql :
             {"SELECT ledger.open_account('BANK-EUR', 'Bank EUR', 'EUR', 'asset')",
              "SELECT ledger.open_account('CUST-EUR', 'Customer EUR', 'EUR', 'liability')",
              "SELECT ledger.open_account('BANK-JPY', 'Bank JPY', 'JPY', 'asset')",
              "SELECT ledger.open_account('CUST-JPY', 'Customer JPY', 'JPY', 'liability')",
              "SELECT ledger.open_account('BANK-BHD', 'Bank BHD', 'BHD', 'asset')",
              "SELECT ledger.open_account('CUST-BHD', 'Customer BHD', 'BHD', 'liability')"}) {
            const auto r = m_admin->exec(QString::fromLatin1(sql));
            QVERIFY2(r.ok, qPrintable(r.message));
        }
        m_writer = std::make_unique<Connection>(m_db.dsnFor(QStringLiteral("ledger_writer")));
        m_compliance = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_compliance"), QStringLiteral("carla")));
        m_operator = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_operator"), QStringLiteral("olivia")));
        m_supervisor = std::make_unique<Connection>(
            m_db.dsnFor(QStringLiteral("console_supervisor"), QStringLiteral("sam")));
    }

    void cleanup()
    {
        const QStringList violations = test::ledgerInvariantViolations(*m_admin);
        QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
    }

    // Randomised histories: on time, backdated (up to 40 days), future-dated, and reversed.
    void theDataEqualsPointInTimeBalances_data()
    {
        QTest::addColumn<QString>("currency");
        QTest::addColumn<int>("exponent");
        QTest::newRow("JPY") << QStringLiteral("JPY") << 0;
        QTest::newRow("EUR") << QStringLiteral("EUR") << 2;
        QTest::newRow("BHD") << QStringLiteral("BHD") << 3;
    }
    void theDataEqualsPointInTimeBalances()
    {
        QFETCH(QString, currency);
        QFETCH(int, exponent);
        const QString bank = QStringLiteral("BANK-") + currency;
        const QString customer = QStringLiteral("CUST-") + currency;
        QRandomGenerator random(20261202u + quint32(exponent));
        const QDateTime start = serverNow();
        QDateTime middle;
        QList<qint64> transactions;
        for (int i = 0; i < 120; ++i) {
            const qint64 minor = 1 + random.bounded(500000);
            qint64 scale = 1;
            for (int d = 0; d < exponent; ++d)
                scale *= 10;
            QString amount = QString::number(minor);
            if (exponent > 0)
                amount = QStringLiteral("%1.%2")
                             .arg(minor / scale)
                             .arg(minor % scale, exponent, 10, QLatin1Char('0'));
            const int shape = int(random.bounded(10));
            QDateTime effective = start.addSecs(-3600 * 24 * 30 + i * 3600 * 6);
            if (shape == 0)
                effective = effective.addDays(-40); // backdated
            else if (shape == 1)
                effective = serverNow().addDays(3); // future-dated
            transactions << (random.bounded(2) ? post(bank, customer, amount, currency, effective)
                                               : post(customer, bank, amount, currency, effective));
            if (i == 60)
                middle = serverNow();
        }
        // A few reversals (approved), recorded after `middle`.
        for (int i = 0; i < 3; ++i) {
            const qint64 request = ReversalRepository::request(*m_operator, transactions[10 + i],
                                                               QStringLiteral("DUPLICATE"),
                                                               QStringLiteral("posted twice"));
            ReversalRepository::approve(*m_supervisor, request,
                                        ReversalRepository::preview(*m_supervisor, request).digest);
        }
        for (const QDateTime &known : {middle, serverNow()}) {
            StatementRepository::Request r;
            r.accountCode = customer;
            r.from = start.addDays(-20);
            r.to = start.addDays(5);
            r.knownAt = known;
            const Statement s = StatementRepository::load(*m_compliance, r);
            QCOMPARE(s.currency, currency);
            QCOMPARE(s.exponent, exponent);
            QCOMPARE(s.knownAt, known);
            // ledger.balance is on the account's normal side, as the statement.
            QCOMPARE(s.openingMinor, balanceMinor(customer, r.from, known));
            QCOMPARE(s.closingMinor, balanceMinor(customer, r.to, known));
            QCOMPARE(s.closingMinor - s.openingMinor, s.creditsMinor - s.debitsMinor);
            qint64 running = s.openingMinor;
            for (const StatementLine &l : s.lines) {
                running += l.amountMinor;
                QCOMPARE(l.balanceMinor, running);
                QVERIFY(l.valueAt >= r.from && l.valueAt < r.to);
                QVERIFY(l.bookedAt <= known);
            }
            QCOMPARE(running, s.closingMinor);
            QCOMPARE(
                qint64(s.lines.size()),
                m_admin
                    ->scalar(
                        QStringLiteral("SELECT count(*) FROM ledger.entries e JOIN ledger.accounts "
                                       "a ON a.id = e.account_id WHERE a.code = $1 AND "
                                       "e.effective_at >= $2 AND e.effective_at < $3 AND "
                                       "e.recorded_at <= $4"),
                        {customer, r.from.toString(Qt::ISODateWithMs),
                         r.to.toString(Qt::ISODateWithMs), known.toString(Qt::ISODateWithMs)})
                    .toLongLong());
            // The same request later, as of the same time: the same statement.
            const Statement again = StatementRepository::load(*m_compliance, r);
            QCOMPARE(again.lines.size(), s.lines.size());
            QCOMPARE(again.closingMinor, s.closingMinor);
        }
    }

    void issuingNumbersRecordsAndVerifies()
    {
        StatementRepository::Request r;
        r.accountCode = QStringLiteral("CUST-EUR");
        r.from = serverNow().addDays(-60);
        r.to = serverNow().addDays(-1);
        const StatementRecord first = StatementRepository::issue(
            *m_compliance, r, csvOptions(), fileWriter(QStringLiteral("first.csv")));
        QCOMPARE(first.sequenceNumber, 1);
        QVERIFY(first.reference.startsWith(QLatin1String("ST-")));
        QVERIFY(QFile::exists(m_dir.filePath(QStringLiteral("first.csv"))));
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("first.csv.part"))));
        // A write that fails leaves no record, no event and no gap in the numbers.
        const QString eventsBefore =
            m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                           "'statement.issued'"));
        QCOMPARE(errorOf([&] {
                     StatementRepository::issue(*m_compliance, r, csvOptions(),
                                                fileWriter(QStringLiteral("failed.csv"), true));
                 }).kind,
                 Error::Kind::Io);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'statement.issued'")),
                 eventsBefore);
        const StatementRecord second = StatementRepository::issue(
            *m_compliance, r, csvOptions(), fileWriter(QStringLiteral("second.csv")));
        QCOMPARE(second.sequenceNumber, 2);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT string_agg(sequence_number::text, ',' "
                                                "ORDER BY id) FROM ledger.statements")),
                 QStringLiteral("1,2"));
        // The record holds the server's balances and the file's hash; the event says so.
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT details->>'file_sha256' || ' ' || operator "
                                                "FROM audit.events WHERE action = "
                                                "'statement.issued' AND object_id = $1"),
                                 {second.reference}),
                 second.fileSha256 + QStringLiteral(" carla"));

        // Verification by the file, by the reference; nothing for a changed file.
        QFile f(m_dir.filePath(QStringLiteral("second.csv")));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QByteArray bytes = f.readAll();
        const auto byFile = StatementRepository::findByFile(
            *m_compliance,
            QString::fromLatin1(
                QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex()));
        QVERIFY(byFile);
        QCOMPARE(byFile->reference, second.reference);
        QCOMPARE(byFile->issuedBy, QStringLiteral("carla"));
        QCOMPARE(byFile->accountCode, QStringLiteral("CUST-EUR"));
        QCOMPARE(byFile->closingMinor, second.closingMinor);
        bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 1);
        QVERIFY(!StatementRepository::findByFile(
            *m_compliance,
            QString::fromLatin1(
                QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex())));
        const auto byReference =
            StatementRepository::findByReference(*m_compliance, second.reference.toLower());
        QVERIFY(byReference);
        QCOMPARE(byReference->sequenceNumber, 2);
        QCOMPARE(byReference->contentDigest, second.contentDigest);
        QVERIFY(!StatementRepository::findByReference(
            *m_compliance, QStringLiteral("ST-0000-0000-0000-0000-0000")));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'statement.verified'")),
                 QStringLiteral("4"));
    }

    // The same request again (explicit known-at time) is the same statement: same number,
    // reference and issue time, so a writer produces the same bytes; recorded as a copy.
    void theSameRequestAgainIsACopy()
    {
        StatementRepository::Request r;
        r.accountCode = QStringLiteral("CUST-BHD");
        r.from = serverNow().addDays(-30);
        r.to = serverNow().addDays(-1);
        r.knownAt = serverNow().addSecs(-1);
        const StatementRecord first = StatementRepository::issue(
            *m_compliance, r, csvOptions(), fileWriter(QStringLiteral("bhd-1.csv")));
        QVERIFY(!first.reissued);
        const StatementRecord copy = StatementRepository::issue(
            *m_compliance, r, csvOptions(), fileWriter(QStringLiteral("bhd-2.csv")));
        QVERIFY(copy.reissued);
        QCOMPARE(copy.reference, first.reference);
        QCOMPARE(copy.sequenceNumber, first.sequenceNumber);
        QCOMPARE(copy.issuedAt, first.issuedAt);
        QCOMPARE(copy.fileSha256, first.fileSha256); // the same bytes
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM ledger.statements WHERE "
                                                "reference = $1"),
                                 {first.reference}),
                 QStringLiteral("1"));
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'statement.reissued' AND object_id = $1"),
                                 {first.reference}),
                 QStringLiteral("1"));
        // Another format of the same request is a statement of its own.
        StatementRepository::IssueOptions other = csvOptions();
        other.format = QStringLiteral("camt053");
        other.formatVersion = QStringLiteral("08");
        const StatementRecord camt = StatementRepository::issue(
            *m_compliance, r, other, fileWriter(QStringLiteral("bhd.xml")));
        QVERIFY(!camt.reissued);
        QCOMPARE(camt.sequenceNumber, first.sequenceNumber + 1);
    }

    void aBackdatedPostingRestatesExactlyThatStatement()
    {
        StatementRepository::Request r;
        r.accountCode = QStringLiteral("CUST-JPY");
        r.from = serverNow().addDays(-10);
        r.to = serverNow().addDays(-5);
        const StatementRecord issued = StatementRepository::issue(
            *m_compliance, r, csvOptions(), fileWriter(QStringLiteral("jpy.csv")));
        StatementRepository::Request later = r;
        later.from = r.to;
        later.to = serverNow().addDays(-2);
        const StatementRecord untouched = StatementRepository::issue(
            *m_compliance, later, csvOptions(), fileWriter(QStringLiteral("jpy-later.csv")));
        Q_UNUSED(untouched);
        for (const auto &s : StatementRepository::restated(*m_compliance))
            QVERIFY(s.reference != issued.reference);
        // 700 JPY deposited (customer credited) into the first period, recorded now.
        post(QStringLiteral("BANK-JPY"), QStringLiteral("CUST-JPY"), QStringLiteral("700"),
             QStringLiteral("JPY"), r.from.addDays(1));
        const auto restated = StatementRepository::restated(*m_compliance);
        QList<Restatement> mine;
        for (const auto &s : restated)
            if (s.accountCode == QLatin1String("CUST-JPY"))
                mine << s;
        QCOMPARE(mine.size(), 2); // the first period, and the later one's opening
        QCOMPARE(mine.at(0).reference, issued.reference);
        QCOMPARE(mine.at(0).openingDifference, 0);
        QCOMPARE(mine.at(0).closingDifference, 700);
        QCOMPARE(mine.at(0).lateEntries.size(), 1);
        QCOMPARE(mine.at(1).openingDifference, 700);
        QCOMPARE(mine.at(1).closingDifference, 700);
        const int recorded = StatementRepository::recordRestatements(*m_compliance);
        QVERIFY(recorded >= 2);
        QCOMPARE(StatementRepository::recordRestatements(*m_compliance), 0);
        QCOMPARE(m_admin->scalar(QStringLiteral("SELECT count(*) FROM audit.events WHERE action = "
                                                "'statement.restated' AND object_id = $1"),
                                 {issued.reference}),
                 QStringLiteral("1"));
    }

    void badInputIsRefused()
    {
        StatementRepository::Request r;
        r.accountCode = QStringLiteral("NOBODY");
        r.from = serverNow().addDays(-2);
        r.to = serverNow().addDays(-1);
        QCOMPARE(errorOf([&] { StatementRepository::load(*m_compliance, r); }).sqlState,
                 QStringLiteral("LG018"));
        r.accountCode = QStringLiteral("CUST-EUR");
        std::swap(r.from, r.to);
        QCOMPARE(errorOf([&] { StatementRepository::load(*m_compliance, r); }).sqlState,
                 QStringLiteral("LG060"));
        std::swap(r.from, r.to);
        r.knownAt = serverNow().addDays(1);
        QCOMPARE(errorOf([&] { StatementRepository::load(*m_compliance, r); }).sqlState,
                 QStringLiteral("LG061"));
        r.knownAt = {};
        // An empty period is a valid statement: opening = closing.
        r.from = QDateTime(QDate(2001, 1, 1), QTime(0, 0), Qt::UTC);
        r.to = QDateTime(QDate(2001, 2, 1), QTime(0, 0), Qt::UTC);
        const Statement empty = StatementRepository::load(*m_compliance, r);
        QVERIFY(empty.lines.isEmpty());
        QCOMPARE(empty.openingMinor, empty.closingMinor);
        // Operators do not export.
        QCOMPARE(errorOf([&] { StatementRepository::load(*m_operator, r); }).kind,
                 Error::Kind::Permission);
        QCOMPARE(errorOf([&] {
                     StatementRepository::issue(*m_operator, r, csvOptions(),
                                                fileWriter(QStringLiteral("op.csv")));
                 }).kind,
                 Error::Kind::Permission);
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("op.csv"))));
    }
};

QTEST_GUILESS_MAIN(TestStatements)
#include "tst_statements.moc"
