// ledgerctl ingest --kafka against librdkafka's own mock cluster (real Kafka protocol over
// local TCP, consumer groups included), started by the test in this process, and a real
// PostgreSQL cluster: a stream with duplicates and poison messages is posted exactly once
// and what cannot be posted is parked; the positions live in the ledger, so running again,
// under another group, or after a kill -9 between commits, posts nothing twice and skips
// nothing; two consumers of one group share the topic and post every event once; brokers
// that do not answer and a topic that does not exist are clear errors.

#include "Ledgerctl.h"
#include "MockKafka.h"
#include "SignalWait.h"
#include "SqlSession.h"
#include "TestCluster.h"

#include <QJsonArray>
#include <QProcess>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace ledger;
using namespace ledger::test;

namespace {

constexpr int kPartitions = 4;
const char *kTopic = "money-events";

QByteArray eventJson(const QString &id, int account, const QString &amount = QStringLiteral("1.00"))
{
    return QStringLiteral(
               R"({"event_id": "%1", "type": "income", "account": "K-%2", "amount": "%3", "currency": "EUR", "occurred_at": "2026-11-20T10:00:00Z", "contra_account": "K-CASH"})")
        .arg(id)
        .arg(account)
        .arg(amount)
        .toUtf8();
}

// Events of one account always go to the same partition (their order is kept).
QList<QPair<int, QByteArray>> events(const QString &prefix, int count)
{
    QList<QPair<int, QByteArray>> out;
    for (int i = 0; i < count; ++i)
        out.append(
            {i % 8 % kPartitions, eventJson(QStringLiteral("%1-%2").arg(prefix).arg(i), i % 8)});
    return out;
}

} // namespace

class TestKafkaIngest : public QObject
{
    Q_OBJECT

    TestCluster m_db;
    std::unique_ptr<SqlSession> m_admin;
    MockKafka m_kafka;
    QString m_writer;

    LedgerctlRun ingest(const QString &group, const QStringList &extra = {})
    {
        return runLedgerctl(QStringList{QStringLiteral("ingest"), QStringLiteral("--kafka"),
                                        m_kafka.bootstraps(), QStringLiteral("--topic"),
                                        QString::fromLatin1(kTopic), QStringLiteral("--group"),
                                        group, QStringLiteral("--until-idle"), QStringLiteral("2"),
                                        QStringLiteral("--json")} +
                                extra,
                            m_writer);
    }

    QString scalar(const QString &sql) { return m_admin->scalar(sql); }

    // Every event posted at most once, and the books balanced.
    void checkOnce()
    {
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT count(*) FROM (SELECT external_ref FROM ledger.transactions WHERE "
                     "idempotency_key LIKE 'event:%' GROUP BY 1 HAVING count(*) > 1) d")),
                 QStringLiteral("0"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM (SELECT transaction_id FROM "
                                       "ledger.entries GROUP BY 1 HAVING sum(amount) <> 0) u")),
                 QStringLiteral("0"));
    }

private slots:
    void initTestCase()
    {
        QVERIFY2(m_db.start(), qPrintable(m_db.lastError()));
        m_admin = std::make_unique<SqlSession>(m_db.adminDsn());
        QString error;
        QVERIFY2(m_kafka.start(kTopic, kPartitions, &error), qPrintable(error));
        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('K-CASH', 'Cash', 'EUR', 'asset'); "
                        "SELECT ledger.open_account('K-' || i, 'Customer ' || i, 'EUR', "
                        "'asset') FROM generate_series(0, 7) i"))
                    .ok);
        m_writer = m_db.dsnFor(QStringLiteral("ledger_writer"));
    }

    // 400 events, 20 of them sent twice, one message that is no JSON and one event for an
    // account that does not exist: 400 postings, 20 duplicates, 2 dead letters, and the
    // partitions' positions past the last message.
    void aStreamIsPostedOnceAndWhatCannotBeIsParked()
    {
        auto messages = events(QStringLiteral("a"), 400);
        for (int i = 0; i < 20; ++i)
            messages.append(messages.at(qsizetype(i) * 7));
        messages.append({1, QByteArrayLiteral("{\"event_id\": \"a-broken\", \"type\": ")});
        messages.append({2, eventJson(QStringLiteral("a-nobody"), 99)});
        QVERIFY(m_kafka.produce(messages));

        LedgerctlRun r = ingest(QStringLiteral("writer"));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject json = r.json();
        QCOMPARE(json.value(QStringLiteral("messages")).toInt(), 422);
        QCOMPARE(json.value(QStringLiteral("posted")).toInt(), 400);
        QCOMPARE(json.value(QStringLiteral("duplicates")).toInt(), 20);
        QCOMPARE(json.value(QStringLiteral("parked")).toInt(), 2);
        QVERIFY2(r.err.contains(QLatin1String("committed: posted")), qPrintable(r.err));
        // Idle at the end: every partition's position is the broker's end (asked at exit).
        const QJsonObject lag = json.value(QStringLiteral("lag")).toObject();
        QCOMPARE(lag.size(), kPartitions);
        for (const QString &partition : lag.keys())
            QCOMPARE(lag.value(partition).toInteger(-1), 0);
        QCOMPARE(scalar(QStringLiteral("SELECT sum(next_offset) FROM ledger.source_positions "
                                       "WHERE source = 'writer'")),
                 QStringLiteral("422"));
        // The broker's end of each partition, as seen at exit, is on record for the health
        // panel (its lag), with the events the ledger had taken then.
        QCOMPARE(scalar(QStringLiteral(
                            "SELECT count(*) || ' ' || sum(end_offset) || ' ' || sum(events) FROM "
                            "ledger.source_ends WHERE source = 'writer' AND topic = '%1'")
                            .arg(QString::fromLatin1(kTopic))),
                 QStringLiteral("%1 422 422").arg(kPartitions));
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT string_agg(error_code || ' ' || left(reason, 35), ' | ' ORDER BY "
                     "partition) FROM ledger.dead_letters WHERE source = 'writer'")),
                 QStringLiteral("LG017 not valid JSON: unterminated object | LG018 No "
                                "account with code \"K-99\""));
        QVERIFY(scalar(QStringLiteral("SELECT payload FROM ledger.dead_letters WHERE partition = "
                                      "1 AND source = 'writer'"))
                    .startsWith(QLatin1String("{\"event_id\": \"a-broken\"")));
        // ledgerctl deadletters list: where each came from, why, and (JSON) the payload.
        LedgerctlRun letters = runLedgerctl(
            {QStringLiteral("deadletters"), QStringLiteral("list"), QStringLiteral("--json")},
            m_writer);
        QVERIFY2(letters.exitCode == 0, qPrintable(letters.describe()));
        const QJsonArray rows = letters.json().value(QStringLiteral("dead_letters")).toArray();
        QCOMPARE(rows.size(), 2);
        QStringList payloads;
        for (const QJsonValue &row : rows)
            payloads << row.toObject().value(QStringLiteral("error_code")).toString() +
                            QLatin1Char(' ') +
                            row.toObject().value(QStringLiteral("payload")).toString().left(23);
        payloads.sort();
        QCOMPARE(payloads, (QStringList{QStringLiteral("LG017 {\"event_id\": \"a-broken\""),
                                        QStringLiteral("LG018 {\"event_id\": \"a-nobody\"")}));
        letters = runLedgerctl({QStringLiteral("deadletters"), QStringLiteral("list")}, m_writer);
        QVERIFY2(
            letters.out.contains(QStringLiteral("writer %1/2@").arg(QString::fromLatin1(kTopic))),
            qPrintable(letters.describe()));
        QVERIFY2(letters.out.contains(QLatin1String("2 dead letter(s).")),
                 qPrintable(letters.describe()));
        checkOnce();

        // Again, same group: it resumes where the ledger is; nothing comes.
        r = ingest(QStringLiteral("writer"));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("messages")).toInt(), 0);
        // Another group keeping its positions under the same source: the ledger's positions
        // still rule (the broker has never heard of this group).
        r = ingest(QStringLiteral("another-group"),
                   {QStringLiteral("--source"), QStringLiteral("writer")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("messages")).toInt(), 0);
        // A replay under a new source reads everything again: the events are duplicates.
        r = ingest(QStringLiteral("replay"));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("messages")).toInt(), 422);
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 0);
        QCOMPARE(r.json().value(QStringLiteral("duplicates")).toInt(), 420);
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                       "idempotency_key LIKE 'event:a-%'")),
                 QStringLiteral("400"));
        checkOnce();
    }

    // A batch the ledger took before (a redelivery) is skipped below the position, even when
    // its events would be new: the position, not the events, says what was consumed.
    // The first test's dead letters, worked: the one that is not JSON cannot be posted and is
    // discarded with a reason (the writer lists them: the payloads are customer data, which
    // console roles read only on record); the one for a missing account stays refused until the
    // account is opened, then posts; each is decided once, on the audit trail; the replay's copy of
    // it is found posted already. The ledger's invariants hold afterwards.
    void deadLettersAreRetriedOrDiscardedOnce()
    {
        const QString broken = scalar(QStringLiteral(
            "SELECT id FROM ledger.dead_letters WHERE source = 'writer' AND partition = 1"));
        const QString nobody = scalar(QStringLiteral(
            "SELECT id FROM ledger.dead_letters WHERE source = 'writer' AND partition = 2"));
        const QString replayed = scalar(QStringLiteral(
            "SELECT id FROM ledger.dead_letters WHERE source = 'replay' AND partition = 2"));
        const QString op = m_db.dsnFor(QStringLiteral("console_operator"));
        const auto deadletters = [](const QString &verb, const QString &id,
                                    const QStringList &extra = {}) {
            return QStringList{QStringLiteral("deadletters"), verb, QStringLiteral("--id"), id} +
                   extra;
        };
        LedgerctlRun r = runLedgerctl({QStringLiteral("deadletters"), QStringLiteral("list"),
                                       QStringLiteral("--open"), QStringLiteral("--json")},
                                      m_writer);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("dead_letters")).toArray().size(), 4);

        r = runLedgerctl(deadletters(QStringLiteral("retry"), broken), op);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("is not JSON: it cannot be posted, only discarded")),
                 qPrintable(r.describe()));
        r = runLedgerctl(deadletters(QStringLiteral("retry"), nobody), op);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("Dead letter %1 is still refused: No account with "
                                               "code \"K-99\"")
                                    .arg(nobody)),
                 qPrintable(r.describe()));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.dead_letter_outcomes")),
                 QStringLiteral("0"));
        // The attack: an operator choosing the other side of the retried posting. The retry
        // takes no contra account from its caller; it uses the stream's, kept with the letter.
        {
            SqlSession operatorSession(op);
            const SqlOutcome chosen = operatorSession.exec(
                QStringLiteral("SELECT * FROM ledger.retry_dead_letter($1, 'K-0')"), {nobody});
            QVERIFY(!chosen.ok);
            QCOMPARE(chosen.sqlState, QStringLiteral("42883")); // no such function
        }
        QCOMPARE(scalar(QStringLiteral("SELECT contra_template FROM ledger.dead_letters WHERE id "
                                       "= %1")
                            .arg(nobody)),
                 QStringLiteral("1000-CASH-{currency}"));

        QVERIFY(m_admin
                    ->exec(QStringLiteral(
                        "SELECT ledger.open_account('K-99', 'Customer 99', 'EUR', 'asset')"))
                    .ok);
        r = runLedgerctl(deadletters(QStringLiteral("retry"), nobody, {QStringLiteral("--json")}),
                         op);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QString tx =
            QString::number(r.json().value(QStringLiteral("transaction_id")).toInteger());
        QCOMPARE(r.json().value(QStringLiteral("duplicate")).toBool(true), false);
        QCOMPARE(scalar(QStringLiteral("SELECT idempotency_key || ' ' || created_by FROM "
                                       "ledger.transactions WHERE id = %1")
                            .arg(tx)),
                 QStringLiteral("event:a-nobody test_console_operator"));
        r = runLedgerctl(deadletters(QStringLiteral("retry"), nobody), op);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(
            r.err.contains(
                QStringLiteral("Dead letter %1 was retried by test_console_operator").arg(nobody)),
            qPrintable(r.describe()));
        // The replay parked the same event: it is found posted, not posted twice.
        r = runLedgerctl(deadletters(QStringLiteral("retry"), replayed, {QStringLiteral("--json")}),
                         m_writer);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("duplicate")).toBool(), true);
        QCOMPARE(QString::number(r.json().value(QStringLiteral("transaction_id")).toInteger()), tx);

        // Discarding needs a reason, and the operator's or supervisor's hand.
        QCOMPARE(runLedgerctl(deadletters(QStringLiteral("discard"), broken), op).exitCode, 2);
        r = runLedgerctl(deadletters(QStringLiteral("discard"), broken,
                                     {QStringLiteral("--reason"), QStringLiteral("no")}),
                         op);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("reason of 3 to 500 characters")),
                 qPrintable(r.describe()));
        const QStringList reason{
            QStringLiteral("--reason"),
            QStringLiteral("cut off at the producer; sent again as a-broken-2")};
        for (const QString &who : {m_writer, m_db.dsnFor(QStringLiteral("console_auditor"))}) {
            r = runLedgerctl(deadletters(QStringLiteral("discard"), broken, reason), who);
            QCOMPARE(r.exitCode, 1);
            QVERIFY2(r.err.contains(QLatin1String("ermission denied")), qPrintable(r.describe()));
        }
        r = runLedgerctl(deadletters(QStringLiteral("discard"), broken, reason), op);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        r = runLedgerctl(deadletters(QStringLiteral("discard"), broken, reason), op);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("Dead letter %1 was discarded by").arg(broken)),
                 qPrintable(r.describe()));

        // On record: who decided what, with the reason; and the decisions stay as they are.
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT string_agg(action || ' ' || object_id || ' ' || operator || ' ' || "
                     "coalesce(details->>'reason', details->>'transaction_id'), ' | ' ORDER BY id) "
                     "FROM audit.events WHERE action LIKE 'dead_letter.%'")),
                 QStringLiteral("dead_letter.retried %1 test_console_operator %2 | "
                                "dead_letter.retried %3 test_ledger_writer %2 | "
                                "dead_letter.discarded %4 test_console_operator cut off at the "
                                "producer; sent again as a-broken-2")
                     .arg(nobody, tx, replayed, broken));
        QVERIFY(!m_admin
                     ->exec(QStringLiteral(
                         "UPDATE ledger.dead_letter_outcomes SET outcome = 'discarded'"))
                     .ok);
        r = runLedgerctl({QStringLiteral("deadletters"), QStringLiteral("list")}, m_writer);
        QVERIFY2(r.out.contains(QStringLiteral("retried: transaction %1").arg(tx)) &&
                     r.out.contains(QLatin1String("discarded: cut off at the producer")),
                 qPrintable(r.describe()));
        r = runLedgerctl({QStringLiteral("deadletters"), QStringLiteral("list"),
                          QStringLiteral("--open"), QStringLiteral("--json")},
                         m_writer);
        QCOMPARE(r.json().value(QStringLiteral("dead_letters")).toArray().size(), 1);
        checkOnce();
        r = runLedgerctl({QStringLiteral("check")}, m_db.dsnFor(QStringLiteral("console_auditor")));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    }

    void aRedeliveredBatchIsSkipped()
    {
        const QString items = QString::fromUtf8(
            QJsonDocument(
                QJsonArray{QJsonObject{{QStringLiteral("offset"), 0},
                                       {QStringLiteral("event"),
                                        QString::fromUtf8(eventJson(QStringLiteral("never"), 1))}}})
                .toJson(QJsonDocument::Compact));
        SqlSession writer(m_writer);
        const auto r =
            writer.exec(QStringLiteral("SELECT posted, skipped, next_offset FROM "
                                       "ledger.ingest_source_batch('writer', '%1', 0, $1::jsonb)")
                            .arg(QString::fromLatin1(kTopic)),
                        {items});
        QVERIFY2(r.ok, qPrintable(r.message));
        QCOMPARE(r.rows.value(0).value(0), QStringLiteral("0"));
        QCOMPARE(r.rows.value(0).value(1), QStringLiteral("1"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                       "idempotency_key = 'event:never'")),
                 QStringLiteral("0"));
        // The writer may not move positions or write dead letters by hand.
        for (const QString &sql :
             {QStringLiteral("UPDATE ledger.source_positions SET next_offset = 0"),
              QStringLiteral("INSERT INTO ledger.dead_letters (source, topic, partition, "
                             "kafka_offset, error_code, reason, payload) VALUES ('x', 'y', 0, "
                             "0, 'X', 'x', 'x')")}) {
            const auto refused = writer.exec(sql);
            QVERIFY2(!refused.ok && refused.sqlState == QLatin1String("42501"),
                     qPrintable(sql + QLatin1String(": ") + refused.message));
        }
    }

    // Killed with SIGKILL right after a batch was committed, before the next round: started
    // again, it posts the rest, and every event is in the ledger exactly once.
    void aKillBetweenCommitsLosesAndDoublesNothing()
    {
        QVERIFY(m_kafka.produce(events(QStringLiteral("b"), 3000)));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_DSN"), m_writer);
        p.setProcessEnvironment(env);
        QByteArray err;
        bool killed = false;
        connect(&p, &QProcess::readyReadStandardError, this, [&] {
            err += p.readAllStandardError();
            if (!killed && err.contains("committed: posted")) {
                killed = true;
                p.kill(); // SIGKILL
            }
        });
        QSignalSpy finished(&p, &QProcess::finished);
        p.start(QStringLiteral(LEDGERCTL_PATH),
                {QStringLiteral("ingest"), QStringLiteral("--kafka"), m_kafka.bootstraps(),
                 QStringLiteral("--topic"), QString::fromLatin1(kTopic), QStringLiteral("--group"),
                 QStringLiteral("writer"), QStringLiteral("--batch-size"), QStringLiteral("50"),
                 QStringLiteral("--until-idle"), QStringLiteral("30")});
        QVERIFY(waitForCount(finished, 1, 120000));
        QVERIFY2(killed, err.constData());
        QCOMPARE(p.exitStatus(), QProcess::CrashExit);
        const int before = scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                                 "idempotency_key LIKE 'event:b-%'"))
                               .toInt();
        QVERIFY2(before > 0 && before < 3000, qPrintable(QString::number(before)));

        // Started again in the same group: the killed member never left, so the group hands
        // its partitions on only when its session times out (10 s); idle long enough for that.
        const LedgerctlRun r = ingest(QStringLiteral("writer"),
                                      {QStringLiteral("--until-idle"), QStringLiteral("15")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        // (The killed client's last commit may land after `before` was counted: its backend
        // finishes the statement. The restart then skips those messages; it never posts them
        // again, so no duplicates either way.)
        QVERIFY2(r.json().value(QStringLiteral("posted")).toInt() + before <= 3000,
                 qPrintable(QStringLiteral("before %1; %2").arg(before).arg(r.describe())));
        QCOMPARE(r.json().value(QStringLiteral("duplicates")).toInt(), 0);
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                       "idempotency_key LIKE 'event:b-%'")),
                 QStringLiteral("3000"));
        checkOnce();
    }

    // SIGTERM: the round in hand is finished (each partition batch committed or not at all),
    // the consumer leaves its group, and the counts it prints are what the ledger holds; what
    // it left on the broker (its lag) is taken by the next run of the group, which posts the
    // rest once.
    void aTermStopsAfterTheRoundAndLeavesTheGroup()
    {
        QVERIFY(m_kafka.produce(events(QStringLiteral("t"), 3000)));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LEDGER_DSN"), m_writer);
        p.setProcessEnvironment(env);
        QByteArray err;
        bool termed = false;
        connect(&p, &QProcess::readyReadStandardError, this, [&] {
            err += p.readAllStandardError();
            if (!termed && err.contains("committed: posted")) {
                termed = true;
                p.terminate(); // SIGTERM
            }
        });
        QSignalSpy finished(&p, &QProcess::finished);
        p.start(QStringLiteral(LEDGERCTL_PATH),
                {QStringLiteral("ingest"), QStringLiteral("--kafka"), m_kafka.bootstraps(),
                 QStringLiteral("--topic"), QString::fromLatin1(kTopic), QStringLiteral("--group"),
                 QStringLiteral("writer"), QStringLiteral("--batch-size"), QStringLiteral("50"),
                 QStringLiteral("--until-idle"), QStringLiteral("30"), QStringLiteral("--json")});
        QVERIFY(waitForCount(finished, 1, 120000));
        QVERIFY2(termed, err.constData());
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QVERIFY2(p.exitCode() == 0, err.constData());
        const QJsonObject report = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
        const int posted = report.value(QStringLiteral("posted")).toInt();
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                       "idempotency_key LIKE 'event:t-%'")),
                 QString::number(posted));
        QVERIFY2(posted > 0 && posted < 3000, qPrintable(QString::number(posted)));
        qint64 behind = 0;
        const QJsonObject lag = report.value(QStringLiteral("lag")).toObject();
        for (const QString &partition : lag.keys())
            behind += lag.value(partition).toInteger();
        // Left behind, as far as the partitions it posted from go (the others it never
        // reached count nowhere).
        QVERIFY2(behind > 0 && behind <= 3000 - posted,
                 qPrintable(QStringLiteral("%1 behind, %2 posted").arg(behind).arg(posted)));

        const LedgerctlRun r = ingest(QStringLiteral("writer"));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 3000 - posted);
        QCOMPARE(r.json().value(QStringLiteral("duplicates")).toInt(), 0);
        QCOMPARE(r.json().value(QStringLiteral("skipped")).toInt(), 0);
        checkOnce();
    }

    // ledgerctl ingest --replay --from-offset: every partition read again up to its end at
    // the start, outside the group, under a source of its own; everything the ledger has is a
    // duplicate, what is still refused is parked again under the replay's name, the live positions
    // stay; events the group has not consumed yet are posted by the replay, and the group
    // then finds them posted.
    void aReplayPostsOnlyWhatTheLedgerLacks()
    {
        QVERIFY(m_kafka.produce(events(QStringLiteral("r"), 40)));
        const QString positionsBefore = scalar(QStringLiteral(
            "SELECT string_agg(partition || ':' || next_offset, ',' ORDER BY partition) FROM "
            "ledger.source_positions WHERE source = 'writer'"));
        const QString messagesOnBroker = scalar(QStringLiteral(
            "SELECT sum(next_offset) + 40 FROM ledger.source_positions WHERE source = 'writer'"));
        // Parked again: what the group parked and no retry has posted since.
        const QString parkedBefore = scalar(QStringLiteral(
            "SELECT count(*) FROM ledger.dead_letters d WHERE d.source = 'writer' AND NOT EXISTS "
            "(SELECT 1 FROM ledger.dead_letter_outcomes o WHERE o.dead_letter_id = d.id AND "
            "o.outcome = 'retried')"));
        LedgerctlRun r = ingest(
            QStringLiteral("writer"),
            {QStringLiteral("--replay"), QStringLiteral("--from-offset"), QStringLiteral("0")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QJsonObject json = r.json();
        const QString source = json.value(QStringLiteral("source")).toString();
        QVERIFY2(source.startsWith(QLatin1String("writer/replay/")), qPrintable(source));
        QCOMPARE(QString::number(json.value(QStringLiteral("messages")).toInt()), messagesOnBroker);
        QCOMPARE(json.value(QStringLiteral("posted")).toInt(), 40);
        QCOMPARE(QString::number(json.value(QStringLiteral("parked")).toInt()), parkedBefore);
        QCOMPARE(json.value(QStringLiteral("messages")).toInt(),
                 json.value(QStringLiteral("posted")).toInt() +
                     json.value(QStringLiteral("duplicates")).toInt() +
                     json.value(QStringLiteral("parked")).toInt());
        // The live positions were left alone: the group now finds the 40 posted.
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT string_agg(partition || ':' || next_offset, ',' ORDER BY partition) "
                     "FROM ledger.source_positions WHERE source = 'writer'")),
                 positionsBefore);
        r = ingest(QStringLiteral("writer"));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 0);
        QCOMPARE(r.json().value(QStringLiteral("duplicates")).toInt(), 40);
        // A replay from past the end reads nothing; --replay needs its offset.
        r = ingest(QStringLiteral("writer"),
                   {QStringLiteral("--replay"), QStringLiteral("--from-offset"),
                    QStringLiteral("100000")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("messages")).toInt(), 0);
        QCOMPARE(ingest(QStringLiteral("writer"), {QStringLiteral("--replay")}).exitCode, 2);
        checkOnce();
    }

    // ledgerctl ingest --replay --from-time: only the messages stamped at the time or later,
    // every one stamped earlier passed over and counted (librdkafka's mock answers no offset
    // for a time, so this is the scan from each partition's start).
    void aReplayFromATimeTakesWhatWasStampedSince()
    {
        const QDateTime from = QDateTime::currentDateTimeUtc().addDays(2);
        const qint64 onBrokerBefore =
            scalar(
                QStringLiteral(
                    "SELECT sum(next_offset) FROM ledger.source_positions WHERE source = 'writer'"))
                .toLongLong();
        QVERIFY(m_kafka.produce(events(QStringLiteral("early"), 30), from.toMSecsSinceEpoch() - 1));
        QVERIFY(m_kafka.produce(events(QStringLiteral("late"), 30), from.toMSecsSinceEpoch()));
        LedgerctlRun r = ingest(QStringLiteral("writer"),
                                {QStringLiteral("--replay"), QStringLiteral("--from-time"),
                                 from.toString(Qt::ISODateWithMs)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QJsonObject json = r.json();
        QCOMPARE(json.value(QStringLiteral("messages")).toInt(), 30);
        QCOMPARE(json.value(QStringLiteral("posted")).toInt(), 30);
        QCOMPARE(qint64(json.value(QStringLiteral("before_time")).toInt()), onBrokerBefore + 30);
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                       "external_ref LIKE 'late-%'")),
                 QStringLiteral("30"));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                       "external_ref LIKE 'early-%'")),
                 QStringLiteral("0"));
        // The group takes the rest: the early ones posted, the late ones found posted.
        r = ingest(QStringLiteral("writer"));
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 30);
        QCOMPARE(r.json().value(QStringLiteral("duplicates")).toInt(), 30);
        // --replay takes exactly one of --from-offset and --from-time, and they need it; a
        // time must be one, from 1970 on.
        QCOMPARE(ingest(QStringLiteral("writer"),
                        {QStringLiteral("--replay"), QStringLiteral("--from-time"),
                         QStringLiteral("yesterday")})
                     .exitCode,
                 2);
        QCOMPARE(ingest(QStringLiteral("writer"),
                        {QStringLiteral("--replay"), QStringLiteral("--from-time"),
                         from.toString(Qt::ISODate), QStringLiteral("--from-offset"),
                         QStringLiteral("0")})
                     .exitCode,
                 2);
        QCOMPARE(ingest(QStringLiteral("writer"),
                        {QStringLiteral("--from-time"), from.toString(Qt::ISODate)})
                     .exitCode,
                 2);
        QCOMPARE(ingest(QStringLiteral("writer"),
                        {QStringLiteral("--replay"), QStringLiteral("--from-time"),
                         QStringLiteral("1969-12-31T23:59:59.999Z")})
                     .exitCode,
                 2);
        checkOnce();
    }

    // Two members of one group at once: the topic's partitions are shared between them (a
    // rebalance when the second joins), and every event is posted once.
    void twoConsumersOfOneGroupPostEveryEventOnce()
    {
        QVERIFY(m_kafka.produce(events(QStringLiteral("c"), 4000)));
        QList<std::shared_ptr<QProcess>> consumers;
        QList<std::shared_ptr<QSignalSpy>> spies;
        for (int i = 0; i < 2; ++i) {
            auto p = std::make_shared<QProcess>();
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert(QStringLiteral("LEDGER_DSN"), m_writer);
            p->setProcessEnvironment(env);
            spies.append(std::make_shared<QSignalSpy>(p.get(), &QProcess::finished));
            p->start(QStringLiteral(LEDGERCTL_PATH),
                     {QStringLiteral("ingest"), QStringLiteral("--kafka"), m_kafka.bootstraps(),
                      QStringLiteral("--topic"), QString::fromLatin1(kTopic),
                      QStringLiteral("--group"), QStringLiteral("pair"), QStringLiteral("--source"),
                      QStringLiteral("writer"), QStringLiteral("--batch-size"),
                      QStringLiteral("100"), QStringLiteral("--until-idle"), QStringLiteral("5"),
                      QStringLiteral("--json")});
            consumers.append(p);
        }
        int posted = 0;
        QList<QJsonObject> reports;
        for (int i = 0; i < 2; ++i) {
            QVERIFY(waitForCount(*spies[i], 1, 180000));
            const QByteArray out = consumers[i]->readAllStandardOutput();
            QVERIFY2(consumers[i]->exitCode() == 0,
                     consumers[i]->readAllStandardError().constData());
            reports.append(QJsonDocument::fromJson(out).object());
            posted += reports.constLast().value(QStringLiteral("posted")).toInt();
        }
        QCOMPARE(posted, 4000);
        // The member that stopped last (both started together: the one that ran longer) did
        // so with everything taken: no lag on any partition it posted from, also those the
        // rebalance gave to the other one after it had posted from them (measured behind its
        // own old position, they showed what the other posted since).
        const QJsonObject &last = reports[0].value(QStringLiteral("seconds")).toDouble() >
                                          reports[1].value(QStringLiteral("seconds")).toDouble()
                                      ? reports[0]
                                      : reports[1];
        const QJsonObject lastLag = last.value(QStringLiteral("lag")).toObject();
        QVERIFY(!lastLag.isEmpty());
        for (auto it = lastLag.constBegin(); it != lastLag.constEnd(); ++it)
            QVERIFY2(it.value().toInteger(-2) == 0,
                     qPrintable(QStringLiteral("partition %1: lag %2")
                                    .arg(it.key())
                                    .arg(it.value().toInteger(-2))));
        QCOMPARE(scalar(QStringLiteral("SELECT count(*) FROM ledger.transactions WHERE "
                                       "idempotency_key LIKE 'event:c-%'")),
                 QStringLiteral("4000"));
        checkOnce();
    }

    // Events of one entity consumed ahead of their predecessors (another partition, a later
    // round) are held, counted, and posted in their order when the predecessors land; one
    // whose predecessor never comes becomes a dead letter after --max-hold.
    void entityEventsWaitForTheirPredecessors()
    {
        const char *topic = "entity-events";
        QVERIFY(m_kafka.createTopic(topic, 2));
        const auto numbered = [](const QString &entity, int seq) -> QByteArray {
            QByteArray json = eventJson(QStringLiteral("%1-%2").arg(entity).arg(seq), seq % 8);
            json.chop(1);
            return json + QStringLiteral(", \"entity\": \"%1\", \"entity_seq\": %2}")
                              .arg(entity)
                              .arg(seq)
                              .toUtf8();
        };
        const auto run = [&](const QStringList &extra = {}) {
            return runLedgerctl(QStringList{QStringLiteral("ingest"), QStringLiteral("--kafka"),
                                            m_kafka.bootstraps(), QStringLiteral("--topic"),
                                            QString::fromLatin1(topic), QStringLiteral("--group"),
                                            QStringLiteral("entities"),
                                            QStringLiteral("--until-idle"), QStringLiteral("2"),
                                            QStringLiteral("--json")} +
                                    extra,
                                m_writer);
        };
        QVERIFY(m_kafka.produce({{0, numbered(QStringLiteral("KE1"), 4)},
                                 {0, numbered(QStringLiteral("KE1"), 5)},
                                 {0, numbered(QStringLiteral("KE1"), 6)},
                                 {0, numbered(QStringLiteral("KE2"), 2)}},
                                0, topic));
        LedgerctlRun r = run();
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 0);
        QCOMPARE(r.json().value(QStringLiteral("held")).toInt(), 4);

        QVERIFY(m_kafka.produce({{1, numbered(QStringLiteral("KE1"), 1)},
                                 {1, numbered(QStringLiteral("KE1"), 2)},
                                 {1, numbered(QStringLiteral("KE1"), 3)}},
                                0, topic));
        r = run();
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 3);
        QCOMPARE(r.json().value(QStringLiteral("released")).toInt(), 3);
        QCOMPARE(r.json().value(QStringLiteral("expired")).toInt(), 0);
        QCOMPARE(scalar(QStringLiteral(
                     "SELECT string_agg(substr(idempotency_key, 11), ',' ORDER BY id) FROM "
                     "ledger.transactions WHERE idempotency_key LIKE 'event:KE1-%'")),
                 QStringLiteral("1,2,3,4,5,6"));

        // KE2's number 1 never comes: with --max-hold 0 its number 2 is parked at once.
        r = run({QStringLiteral("--max-hold"), QStringLiteral("0")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("expired")).toInt(), 1);
        QCOMPARE(
            scalar(QStringLiteral("SELECT error_code || ' ' || partition || '@' || kafka_offset "
                                  "FROM ledger.dead_letters WHERE topic = 'entity-events'")),
            QStringLiteral("LG097 0@3"));
        r = run({QStringLiteral("--max-hold"), QStringLiteral("-1")});
        QCOMPARE(r.exitCode, 2);
        checkOnce();
    }

    // A backfill reads a topic from its start outside the group, in rounds of 50 with a pause
    // after each, and posts what the ledger lacks; from a file the same. Its options are
    // checked.
    void aBackfillLoadsInShortBatchesAndPauses()
    {
        const char *topic = "backfill-events";
        QVERIFY(m_kafka.createTopic(topic, 2));
        QList<QPair<int, QByteArray>> messages;
        for (int i = 0; i < 300; ++i)
            messages.append({i % 2, eventJson(QStringLiteral("bf-%1").arg(i), i % 8)});
        QVERIFY(m_kafka.produce(messages, 0, topic));
        LedgerctlRun r = runLedgerctl(
            {QStringLiteral("ingest"), QStringLiteral("--kafka"), m_kafka.bootstraps(),
             QStringLiteral("--topic"), QString::fromLatin1(topic), QStringLiteral("--group"),
             QStringLiteral("backfill"), QStringLiteral("--backfill"), QStringLiteral("--json")},
            m_writer);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 300);
        QVERIFY2(r.json().value(QStringLiteral("paused_seconds")).toDouble() > 0,
                 qPrintable(r.out));
        QVERIFY2(
            r.json().value(QStringLiteral("source")).toString().contains(QLatin1String("/replay/")),
            qPrintable(r.out));
        // Rounds of at most 50 (one progress line per partition batch).
        int batches = 0;
        for (const QString &line : r.err.split(QLatin1Char('\n'))) {
            if (line.contains(QLatin1String("committed: posted")))
                ++batches;
        }
        QVERIFY2(batches >= 6, qPrintable(r.err));

        QByteArray file;
        for (int i = 0; i < 120; ++i)
            file += eventJson(QStringLiteral("bf-file-%1").arg(i), i % 8) + '\n';
        r = runLedgerctl({QStringLiteral("ingest"), QStringLiteral("--file"), QStringLiteral("-"),
                          QStringLiteral("--backfill"), QStringLiteral("--backfill-share"),
                          QStringLiteral("50"), QStringLiteral("--json")},
                         m_writer, file);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.json().value(QStringLiteral("posted")).toInt(), 120);
        QVERIFY2(r.json().value(QStringLiteral("paused_seconds")).toDouble() > 0,
                 qPrintable(r.out));

        for (const QStringList &bad :
             {QStringList{QStringLiteral("--backfill"), QStringLiteral("--all-or-nothing")},
              QStringList{QStringLiteral("--backfill"), QStringLiteral("--backfill-share"),
                          QStringLiteral("0")},
              QStringList{QStringLiteral("--backfill"), QStringLiteral("--backfill-share"),
                          QStringLiteral("101")},
              QStringList{QStringLiteral("--backfill-share"), QStringLiteral("50")}}) {
            r = runLedgerctl(QStringList{QStringLiteral("ingest"), QStringLiteral("--file"),
                                         QStringLiteral("-")} +
                                 bad,
                             m_writer, file);
            QVERIFY2(r.exitCode == 2, qPrintable(bad.join(QLatin1Char(' ')) + r.describe()));
        }
        checkOnce();
    }

    void badBrokersAndTopicsSayWhatToDo()
    {
        LedgerctlRun r = runLedgerctl(
            {QStringLiteral("ingest"), QStringLiteral("--kafka"), QStringLiteral("127.0.0.1:1"),
             QStringLiteral("--topic"), QString::fromLatin1(kTopic), QStringLiteral("--group"),
             QStringLiteral("lost"), QStringLiteral("--broker-timeout"), QStringLiteral("3")},
            m_writer);
        QVERIFY2(r.exitCode != 0, qPrintable(r.describe()));
        QVERIFY2(r.err.contains(QLatin1String("127.0.0.1:1")), qPrintable(r.describe()));

        r = runLedgerctl({QStringLiteral("ingest"), QStringLiteral("--kafka"), m_kafka.bootstraps(),
                          QStringLiteral("--topic"), QStringLiteral("no-such-topic"),
                          QStringLiteral("--group"), QStringLiteral("lost"),
                          QStringLiteral("--broker-timeout"), QStringLiteral("10")},
                         m_writer);
        QVERIFY2(r.exitCode != 0, qPrintable(r.describe()));
        QVERIFY2(r.err.contains(QLatin1String("no-such-topic")), qPrintable(r.describe()));

        r = runLedgerctl({QStringLiteral("ingest"), QStringLiteral("--kafka"), m_kafka.bootstraps(),
                          QStringLiteral("--topic"), QString::fromLatin1(kTopic)},
                         m_writer);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QLatin1String("--group")), qPrintable(r.describe()));
    }
};

QTEST_GUILESS_MAIN(TestKafkaIngest)
#include "tst_kafkaingest.moc"
