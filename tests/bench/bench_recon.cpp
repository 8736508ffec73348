// Reconciliation at scale (Step 9): a mapped cash account with 1,000,000 ledger entries
// (loaded set-based, each with its external reference) and a bank file of about as many
// lines generated in memory from them, with the noise a real statement has: most lines carry
// the reference (end-to-end id), 6% do not (the tolerance pass; some with a fee taken off,
// some with the reference only in the remittance text), value dates shifted by a day or two,
// split settlements (one line for two entries: one-to-many; two lines for one entry:
// many-to-one), lines out of the date window or off in amount, unknown lines, entries
// missing from the statement. Timed:
//  1. parse (BankFileParser), import (ReconRepository::importFile: arrays built on the
//     client, sent, import_finish), each per 1,000 lines;
//  2. recon.match with the run's own per-step figures (its summary's elapsed_ms), per step
//     and per 1,000 lines;
//  3. the naive way in the same run: a C++ nested loop over lines x entries with the rules of
//     passes 1 and 2, on the first --naive-lines lines against the entries of their dates,
//     its agreement with the server's groups and the ratio per 1,000 lines;
//  4. the exceptions queue over 100,000 open exceptions (a second mapped account whose
//     statement has no ledger counterpart): recon.exception_queue first page, count, filter
//     and sort changes on the server; then ReconExceptionModel + QTableView (offscreen) over
//     ReconService on its workers: first page painted and a filter change;
//  5. import_finish on statements without bank references (--unreferenced lines each), with
//     the index it reads as it was before 0034 and as it is.
// build/release/tests/bench/bench_recon [--lines N] [--naive-lines M] [--format mt940|csv|camt]
//                                       [--queue Q] [--unreferenced U]

#include "BenchCluster.h"
#include "ReconExceptionModel.h"
#include "SqlSession.h"
#include "console/ReconService.h"
#include "db/Connection.h"
#include "db/DbException.h"
#include "db/DbWorker.h"
#include "db/ReconRepository.h"
#include "recon/BankFileParser.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QHash>
#include <QHeaderView>
#include <QTableView>

#include <cstdio>
#include <functional>
#include <thread>

using namespace ledger;
using bench::median;
using bench::say;
using bench::timeSql;
using bench::waitFor;
using test::SqlSession;

namespace {

const QString kIban = QStringLiteral("DE89370400440532013000");
const QString kQueueIban = QStringLiteral("DE02120300000000202051");
const QDate kFirstDay(2022, 1, 1);
constexpr qint64 kDays = 1460;    // the entries' dates spread over four years
constexpr int kWindow = 3;        // the account's date window (the default)
constexpr qint64 kTolerance = 50; // cents
constexpr qint64 kLinesPerStatement = 10'000;

// Entry i (1..N) of the cash account: its amount in cents (up to a million euros, distinct
// for i <= 1,000,000; every third money out), its day and its external reference. The loader
// computes the same. The amounts are quadratic in i: with amounts linear in i (as they once
// were), the halves of one entry's split summed exactly to another entry as often as not, and
// the engine rightly left such many-to-one groups to an operator.
constexpr qint64 kAmountPrime = 99'999'989;
qint64 entryAmount(qint64 i)
{
    const qint64 c = (i * i % kAmountPrime * 7919 + i * 104729) % kAmountPrime + 1;
    return i % 3 == 0 ? -c : c;
}
QDate entryDay(qint64 i, qint64 n)
{
    return kFirstDay.addDays((i - 1) * kDays / n);
}
QString entryRef(qint64 i)
{
    return QStringLiteral("INV-%1").arg(i);
}

QString load(SqlSession &admin, qint64 n)
{
    const auto r = admin.exec(QStringLiteral(R"sql(
    SET LOCAL work_mem = '1GB';
    ALTER TABLE ledger.transactions DISABLE TRIGGER transactions_balanced;
    SELECT ledger.open_account('CASH', 'Bank account EUR', 'EUR', 'asset');
    SELECT ledger.open_account('CASH-CONTRA', 'Customers', 'EUR', 'liability');
    SELECT ledger.open_account('CASH2', 'Second bank account EUR', 'EUR', 'asset');
    CREATE TEMP TABLE bench_tx ON COMMIT DROP AS
    SELECT i, (date '2022-01-01' + ((i - 1) * %2 / %1)::integer + time '10:00') AT TIME ZONE 'UTC' AS at,
           CASE WHEN i % 3 = 0 THEN -1 ELSE 1 END * ((i * i % 99999989 * 7919 + i * 104729) % 99999989 + 1) AS amount
    FROM generate_series(1::bigint, %1) i;
    INSERT INTO ledger.transactions (idempotency_key, request_hash, kind, effective_at, recorded_at, description,
                                     external_ref, created_by, created_role)
    SELECT 'R-' || i, sha256(convert_to('R-' || i, 'UTF8')), 'seed', at, at + interval '1 minute',
           (ARRAY['Card settlement', 'Customer payment', 'Supplier invoice', 'Refund', 'Transfer'])[1 + i % 5],
           'INV-' || i, 'bench', 'bench'
    FROM bench_tx ORDER BY i;
    CREATE TEMP TABLE bench_legs ON COMMIT DROP AS
    SELECT t.id AS transaction_id, t.effective_at, t.recorded_at, b.amount
    FROM bench_tx b JOIN ledger.transactions t ON t.idempotency_key = 'R-' || b.i;
    INSERT INTO ledger.entries (transaction_id, account_id, amount, currency, effective_at, recorded_at, account_seq, balance_after)
    SELECT l.transaction_id, a.id, CASE WHEN a.code = 'CASH' THEN l.amount ELSE -l.amount END, 'EUR', l.effective_at,
           l.recorded_at, row_number() OVER w,
           sum(CASE WHEN a.code = 'CASH' THEN l.amount ELSE -l.amount END) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    FROM bench_legs l CROSS JOIN ledger.accounts a
    WHERE a.code IN ('CASH', 'CASH-CONTRA')
    WINDOW w AS (PARTITION BY a.id ORDER BY l.recorded_at, l.transaction_id);
)sql")
                                  .arg(n)
                                  .arg(kDays) +
                              bench::loadEpilogue());
    if (!r.ok)
        return r.message;
    admin.exec(QStringLiteral("VACUUM ANALYZE ledger.entries"));
    admin.exec(QStringLiteral("VACUUM ANALYZE ledger.transactions"));
    return {};
}

// A line of the generated statement.
struct GenLine
{
    qint64 cents = 0;
    QDate day;
    QString ref; // end-to-end id: the ledger's external reference, or empty
    QString bankRef;
    QString name;
    QString remittance;
};

struct Noise
{
    qint64 withRef = 0, withoutRef = 0, fee = 0, refInText = 0, shifted = 0, oneToMany = 0,
           manyToOne = 0, outOfWindow = 0, amountOff = 0, unknown = 0, missing = 0;
};

QList<GenLine> statementLines(qint64 n, Noise &noise)
{
    QList<GenLine> out;
    out.reserve(n + n / 500);
    const auto add = [&](qint64 i, qint64 cents, int shift, bool withRef) {
        GenLine l;
        l.cents = cents;
        l.day = entryDay(i, n).addDays(shift);
        l.ref = withRef ? entryRef(i) : QString();
        l.bankRef = QStringLiteral("B%1-%2").arg(i).arg(out.size());
        l.name = QStringLiteral("Customer %1").arg(i % 5000);
        l.remittance = QStringLiteral("Payment %1").arg(i);
        out.append(l);
        return &out.last();
    };
    for (qint64 i = 1; i <= n; ++i) {
        const qint64 k = i % 1000;
        const qint64 h = i % 100;
        const int shift = i % 10 == 3 ? 1 : i % 10 == 4 ? 2 : i % 10 == 5 ? -1 : 0;
        if (k == 7) { // not on the statement
            ++noise.missing;
            continue;
        }
        if (k == 503 && i > 3 && (i - 3) % 1000 == 500) // settled with i - 3
            continue;
        if (k == 500 && i + 3 <= n) { // one line for entries i and i + 3 (same sign)
            add(i, entryAmount(i) + entryAmount(i + 3), 0, false);
            ++noise.oneToMany;
            continue;
        }
        if (k == 600 && std::abs(entryAmount(i)) >= 3) { // two lines for entry i
            const qint64 a = entryAmount(i) / 3;
            add(i, a, 0, false);
            add(i, entryAmount(i) - a, 1, false);
            ++noise.manyToOne;
            continue;
        }
        if (k == 700) { // with the reference, five days late
            add(i, entryAmount(i), 5, true);
            ++noise.outOfWindow;
            continue;
        }
        if (k == 800) { // with the reference, 5.00 off
            add(i, entryAmount(i) + (entryAmount(i) > 0 ? 500 : -500), shift, true);
            ++noise.amountOff;
            continue;
        }
        if (h >= 11 && h <= 16) { // without the reference: the tolerance pass
            qint64 cents = entryAmount(i);
            if (h == 11 && std::abs(cents) > 100) { // a fee taken off
                cents += cents > 0 ? -20 : 20;
                ++noise.fee;
            }
            GenLine *l = add(i, cents, shift, false);
            if (h == 12) {
                l->remittance += QStringLiteral(" ") + entryRef(i);
                ++noise.refInText;
            }
            ++noise.withoutRef;
        } else {
            add(i, entryAmount(i), shift, true);
            ++noise.withRef;
        }
        if (shift != 0)
            ++noise.shifted;
        if (k == 900) { // a line the ledger does not know
            add(i, 1'000'000'000 + i, 0, false);
            ++noise.unknown;
        }
    }
    return out;
}

QByteArray cents(qint64 c, char point)
{
    c = std::abs(c);
    QByteArray out = QByteArray::number(c / 100);
    out += point;
    const qint64 rest = c % 100;
    if (rest < 10)
        out += '0';
    out += QByteArray::number(rest);
    return out;
}

QByteArray makeMt940(const QList<GenLine> &lines)
{
    QByteArray out;
    out.reserve(lines.size() * 160 + 4096);
    qint64 balance = 0;
    const auto balanceField = [&](const char *tag, const QDate &day) -> QByteArray {
        return QByteArray(tag) + (balance < 0 ? "D" : "C") + day.toString(u"yyMMdd").toLatin1() +
               "EUR" + cents(balance, ',') + "\r\n";
    };
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const GenLine &l = lines.at(i);
        if (i % kLinesPerStatement == 0) {
            if (i > 0)
                out += balanceField(":62F:", lines.at(i - 1).day) + "-\r\n";
            out += ":20:BENCH\r\n:25:" + kIban.toLatin1() +
                   "\r\n:28C:" + QByteArray::number(i / kLinesPerStatement + 1) + "/1\r\n" +
                   balanceField(":60F:", l.day);
        }
        balance += l.cents;
        out += ":61:" + l.day.toString(u"yyMMddMMdd").toLatin1() + (l.cents < 0 ? "D" : "C") +
               cents(l.cents, ',') + "NTRFNONREF//" + l.bankRef.toLatin1() + "\r\n:86:166?00" +
               (l.cents < 0 ? "SEPA-LASTSCHRIFT" : "SEPA-GUTSCHRIFT");
        if (!l.ref.isEmpty())
            out += "?20EREF+" + l.ref.toLatin1() + "?21SVWZ+";
        else
            out += "?20SVWZ+";
        out += l.remittance.toLatin1() + "?31DE02120300000000202051\r\n?32" + l.name.toLatin1() +
               "\r\n";
    }
    out += balanceField(":62F:", lines.isEmpty() ? kFirstDay : lines.last().day) + "-\r\n";
    return out;
}

QByteArray makeCamt(const QList<GenLine> &lines)
{
    QByteArray out;
    out.reserve(lines.size() * 600 + 4096);
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document "
           "xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt><GrpHdr>"
           "<MsgId>BENCH</MsgId><CreDtTm>2026-01-04T06:00:00+01:00</CreDtTm></GrpHdr>\n";
    qint64 balance = 0;
    const auto bal = [&](const char *code, const QDate &day) -> QByteArray {
        return QByteArray("<Bal><Tp><CdOrPrtry><Cd>") + code +
               "</Cd></CdOrPrtry></Tp><Amt "
               "Ccy=\"EUR\">" +
               cents(balance, '.') + "</Amt><CdtDbtInd>" + (balance < 0 ? "DBIT" : "CRDT") +
               "</CdtDbtInd><Dt><Dt>" + day.toString(Qt::ISODate).toLatin1() + "</Dt></Dt></Bal>\n";
    };
    // A statement at a time: its balances need its lines first.
    for (qsizetype first = 0; first < lines.size(); first += kLinesPerStatement) {
        const qsizetype end = std::min<qsizetype>(lines.size(), first + kLinesPerStatement);
        out += "<Stmt><Id>S" + QByteArray::number(first / kLinesPerStatement) +
               "</Id><Acct><Id><IBAN>" + kIban.toLatin1() + "</IBAN></Id><Ccy>EUR</Ccy></Acct>\n";
        out += bal("OPBD", lines.at(first).day);
        QByteArray body;
        for (qsizetype i = first; i < end; ++i) {
            const GenLine &l = lines.at(i);
            balance += l.cents;
            const QByteArray day = l.day.toString(Qt::ISODate).toLatin1();
            body += "<Ntry><Amt Ccy=\"EUR\">" + cents(l.cents, '.') + "</Amt><CdtDbtInd>" +
                    (l.cents < 0 ? "DBIT" : "CRDT") +
                    "</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>" + day +
                    "</Dt></BookgDt><ValDt><Dt>" + day + "</Dt></ValDt><AcctSvcrRef>" +
                    l.bankRef.toLatin1() +
                    "</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT"
                    "</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls>";
            if (!l.ref.isEmpty())
                body += "<Refs><EndToEndId>" + l.ref.toLatin1() + "</EndToEndId></Refs>";
            body += "<RltdPties><Dbtr><Pty><Nm>" + l.name.toLatin1() +
                    "</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id>"
                    "</DbtrAcct></RltdPties><RmtInf><Ustrd>" +
                    l.remittance.toLatin1() + "</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n";
        }
        out += bal("CLBD", lines.at(end - 1).day);
        out += body + "</Stmt>\n";
    }
    out += "</BkToCstmrStmt></Document>\n";
    return out;
}

QByteArray makeCsv(const QList<GenLine> &lines)
{
    QByteArray out;
    out.reserve(lines.size() * 110 + 256);
    out += "Buchungstag;Wertstellung;Betrag;Referenz;EndToEnd;Name;IBAN;Verwendungszweck\r\n";
    for (const GenLine &l : lines) {
        const QByteArray day = l.day.toString(u"dd.MM.yyyy").toLatin1();
        out += day + ';' + day + ';' + QByteArray(l.cents < 0 ? "-" : "") + cents(l.cents, ',') +
               ';' + l.bankRef.toLatin1() + ';' + l.ref.toLatin1() + ';' + l.name.toLatin1() +
               ";DE02120300000000202051;\"" + l.remittance.toLatin1() + "\"\r\n";
    }
    return out;
}

CsvProfile csvProfile()
{
    CsvProfile p;
    p.name = QStringLiteral("bench");
    p.decimalComma = true;
    p.dateFormat = QStringLiteral("dd.MM.yyyy");
    p.amountColumn = QStringLiteral("Betrag");
    p.currency = QStringLiteral("EUR");
    p.bookingDateColumn = QStringLiteral("Buchungstag");
    p.valueDateColumn = QStringLiteral("Wertstellung");
    p.referenceColumn = QStringLiteral("Referenz");
    p.endToEndColumn = QStringLiteral("EndToEnd");
    p.counterpartyNameColumn = QStringLiteral("Name");
    p.counterpartyAccountColumn = QStringLiteral("IBAN");
    p.remittanceColumn = QStringLiteral("Verwendungszweck");
    p.account = kIban;
    return p;
}

// -- The naive matcher: passes 1 and 2 as nested loops over lines x entries.
struct NaiveLine
{
    qint64 id;
    qint64 amount;
    qint64 day; // Julian day
    QString ref, e2e, remittance, cp;
};
struct NaiveEntry
{
    qint64 id;
    qint64 amount;
    qint64 day;
    QString ref, description;
};

// recon.score
int score(qint64 diff, qint64 tolerance, qint64 days, qint64 window, int reference, bool cp)
{
    const qint64 t = std::max<qint64>(tolerance, 1), w = std::max<qint64>(window, 1);
    const qint64 amount = diff == 0 ? 40 : 40 - (20 * std::abs(diff) + t - 1) / t;
    const qint64 date = 30 - (15 * std::abs(days) + w - 1) / w;
    return int(
        std::max<qint64>(0, std::min<qint64>(100, amount + date + reference + (cp ? 10 : 0))));
}

bool cpMatch(const NaiveLine &l, const NaiveEntry &e)
{
    return !l.cp.isEmpty() && l.cp.size() >= 3 && e.description.contains(l.cp, Qt::CaseInsensitive);
}

// Pairs (line id, entry id) of passes 1 and 2, as recon.match_account finds them.
QList<std::pair<qint64, qint64>> naiveMatch(const QList<NaiveLine> &lines,
                                            const QList<NaiveEntry> &entries)
{
    QList<std::pair<qint64, qint64>> out;
    QList<bool> lineTaken(lines.size(), false), entryTaken(entries.size(), false);
    // Pass 1: reference and amount exact, date within the window; unique on both sides.
    {
        QList<std::pair<qsizetype, qsizetype>> c;
        QList<int> perLine(lines.size(), 0), perEntry(entries.size(), 0);
        for (qsizetype i = 0; i < lines.size(); ++i) {
            const NaiveLine &l = lines.at(i);
            for (qsizetype j = 0; j < entries.size(); ++j) {
                const NaiveEntry &e = entries.at(j);
                if (e.amount == l.amount && std::abs(e.day - l.day) <= kWindow &&
                    ((!l.ref.isEmpty() && e.ref == l.ref) ||
                     (!l.e2e.isEmpty() && e.ref == l.e2e))) {
                    c.append({i, j});
                    ++perLine[i];
                    ++perEntry[j];
                }
            }
        }
        for (const auto &[i, j] : c) {
            if (perLine[i] == 1 && perEntry[j] == 1) {
                out.append({lines.at(i).id, entries.at(j).id});
                lineTaken[i] = entryTaken[j] = true;
            }
        }
    }
    // Pass 2: amount within tolerance, date within the window; mutual best with a unique
    // best score.
    struct Candidate
    {
        qsizetype line, entry;
        int score;
    };
    QList<Candidate> c;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (lineTaken[i])
            continue;
        const NaiveLine &l = lines.at(i);
        const qint64 tol = std::max<qint64>(kTolerance, 0);
        for (qsizetype j = 0; j < entries.size(); ++j) {
            if (entryTaken[j])
                continue;
            const NaiveEntry &e = entries.at(j);
            const qint64 diff = e.amount - l.amount;
            const qint64 days = e.day - l.day;
            if (std::abs(days) > kWindow || std::abs(diff) > tol)
                continue;
            const int ref =
                (!l.ref.isEmpty() && e.ref == l.ref) || (!l.e2e.isEmpty() && e.ref == l.e2e) ? 20
                : e.ref.size() >= 4 && l.remittance.contains(e.ref)                          ? 10
                                                                                             : 0;
            c.append({i, j, score(diff, tol, days, kWindow, ref, cpMatch(l, e))});
        }
    }
    QHash<qsizetype, std::pair<int, int>> bestLine, bestEntry; // best score, how many have it
    for (const Candidate &x : c) {
        for (auto [map, key] : {std::pair{&bestLine, x.line}, std::pair{&bestEntry, x.entry}}) {
            auto it = map->find(key);
            if (it == map->end())
                map->insert(key, {x.score, 1});
            else if (x.score > it->first)
                *it = {x.score, 1};
            else if (x.score == it->first)
                ++it->second;
        }
    }
    for (const Candidate &x : c) {
        const auto bl = bestLine.value(x.line), be = bestEntry.value(x.entry);
        if (x.score == bl.first && bl.second == 1 && x.score == be.first && be.second == 1)
            out.append({lines.at(x.line).id, entries.at(x.entry).id});
    }
    return out;
}

// Runs `work` on a thread of its own (a Connection refuses the GUI thread); false with the
// error on stderr when it throws.
bool offGui(const std::function<void()> &work)
{
    QString failure;
    std::thread([&] {
        try {
            work();
        } catch (const DbException &e) {
            failure = e.error().describe();
        }
    }).join();
    if (!failure.isEmpty())
        std::fprintf(stderr, "bench: %s\n", qPrintable(failure));
    return failure.isEmpty();
}

QString perThousand(double ms, qint64 lines)
{
    return QString::number(ms * 1000.0 / double(std::max<qint64>(lines, 1)), 'f', 2);
}

void printRun(const ReconRunSummary &run, qint64 lines)
{
    say(QStringLiteral("%1 %2 %3 %4")
            .arg(QStringLiteral("step"), -14)
            .arg(QStringLiteral("ms"), 10)
            .arg(QStringLiteral("ms/1000 lines"), 14)
            .arg(QStringLiteral("groups or rows"), 16));
    const std::pair<const char *, qint64> steps[] = {
        {"exact", run.exact},
        {"prepare", 0}, // since 0057: what pass 1 left, copied for the other passes
        {"tolerance", run.tolerance},
        {"interchangeable", 0},
        {"one_to_many", run.oneToMany},
        {"many_to_one", run.manyToOne},
        {"record", run.exact + run.tolerance + run.oneToMany + run.manyToOne},
        {"exceptions", 0},
        {"resolve", run.exceptionsResolved}};
    double total = 0;
    qint64 raised = 0;
    for (const int n : run.exceptionsRaised)
        raised += n;
    QStringList shown;
    for (const auto &[name, count] : steps) {
        const double ms = run.elapsedMs.value(QLatin1String(name));
        total += ms;
        shown << QLatin1String(name);
        say(QStringLiteral("%1 %2 %3 %4")
                .arg(QLatin1String(name), -14)
                .arg(ms, 10, 'f', 1)
                .arg(perThousand(ms, lines), 14)
                .arg(qstrcmp(name, "exceptions") == 0 ? raised : count, 16));
    }
    // A step the run reports that this table does not know yet still counts.
    for (auto it = run.elapsedMs.begin(); it != run.elapsedMs.end(); ++it) {
        if (shown.contains(it.key()))
            continue;
        total += it.value();
        say(QStringLiteral("%1 %2 %3")
                .arg(it.key(), -14)
                .arg(it.value(), 10, 'f', 1)
                .arg(perThousand(it.value(), lines), 14));
    }
    // The passes find the groups; the rest writes them (groups, the standing index), raises
    // the exceptions and resolves the ones now matched.
    double passes = 0;
    for (const char *name :
         {"exact", "prepare", "tolerance", "interchangeable", "one_to_many", "many_to_one"})
        passes += run.elapsedMs.value(QLatin1String(name));
    const std::pair<QString, double> totals[] = {
        {QStringLiteral("the passes (exact to many_to_one)"), passes},
        {QStringLiteral("recording, exceptions, resolving"), total - passes},
        {QStringLiteral("the whole run"), total}};
    for (const auto &[name, ms] : totals)
        say(QStringLiteral("%1 %2 %3")
                .arg(name, -36)
                .arg(ms, 10, 'f', 1)
                .arg(perThousand(ms, lines), 14));
    QStringList raisedText;
    for (auto it = run.exceptionsRaised.begin(); it != run.exceptionsRaised.end(); ++it)
        raisedText << QStringLiteral("%1 %2").arg(it.key()).arg(it.value());
    say(QStringLiteral("auto-confirmed %1, proposed %2; exceptions raised: %3")
            .arg(run.autoConfirmed)
            .arg(run.proposed)
            .arg(raisedText.join(QStringLiteral(", "))));
}

} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Reconciliation benchmark."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("lines"),
                      QStringLiteral("Ledger entries and about as many statement lines (default "
                                     "1000000)."),
                      QStringLiteral("N"), QStringLiteral("1000000")});
    parser.addOption({QStringLiteral("naive-lines"),
                      QStringLiteral("Lines matched by the naive nested loop (default 10000)."),
                      QStringLiteral("M"), QStringLiteral("10000")});
    parser.addOption({QStringLiteral("format"),
                      QStringLiteral("The bank file's format: mt940, csv or camt (default mt940)."),
                      QStringLiteral("F"), QStringLiteral("mt940")});
    parser.addOption({QStringLiteral("queue"),
                      QStringLiteral("Open exceptions for the queue (default 100000)."),
                      QStringLiteral("Q"), QStringLiteral("100000")});
    parser.addOption({QStringLiteral("unreferenced"),
                      QStringLiteral("Lines of the statements without bank references "
                                     "(default 100000)."),
                      QStringLiteral("U"), QStringLiteral("100000")});
    parser.process(app);
    const qint64 n = std::max<qint64>(2000, parser.value(QStringLiteral("lines")).toLongLong());
    const qint64 naiveLines =
        std::max<qint64>(100, parser.value(QStringLiteral("naive-lines")).toLongLong());
    const QString format = parser.value(QStringLiteral("format"));
    const qint64 queue = std::max<qint64>(1000, parser.value(QStringLiteral("queue")).toLongLong());
    const qint64 unreferenced =
        std::max<qint64>(1000, parser.value(QStringLiteral("unreferenced")).toLongLong());
    if (format != u"mt940" && format != u"csv" && format != u"camt") {
        std::fprintf(stderr, "bench: --format is mt940, csv or camt\n");
        return 2;
    }

    bench::BenchCluster bench(QStringLiteral("recon"));
    if (auto s = bench.start(); !s) {
        std::fprintf(stderr, "bench: %s\n", qPrintable(s.error().describe()));
        return 1;
    }
    SqlSession admin(bench.cluster().dsn());
    say(QStringLiteral("cluster: %1 (durable), %2 cores; %3 ledger entries, %4 file")
            .arg(bench.path())
            .arg(std::thread::hardware_concurrency())
            .arg(n)
            .arg(format));
    // This machine is shared: the same build's import took 10.3 s one day and 16.5 s two
    // days later, and 30 s one morning when only writes were slow (8.5 s an hour later).
    bench::sayYardsticks(admin);
    QElapsedTimer t;
    t.start();
    if (const QString error = load(admin, n); !error.isEmpty()) {
        std::fprintf(stderr, "bench: load: %s\n", qPrintable(error));
        return 1;
    }
    say(QStringLiteral("ledger loaded in %1 s").arg(double(t.elapsed()) / 1000.0, 0, 'f', 1));

    // What a step wrote: WAL, and shared buffers the backends wrote out themselves to make room
    // (pg_stat_bgwriter's buffers_backend). Both steps write millions of rows, mostly on the
    // CPU, and their times move with the host from run to run (the recording step took 4.2 s
    // one hour and 6.8 s the next with the same build).
    struct Writes
    {
        double walMb = 0;
        double backendMb = 0;
    };
    const auto writesNow = [&admin] {
        const QStringList v =
            admin
                .scalar(QStringLiteral(
                    "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint || ' ' "
                    "|| buffers_backend * current_setting('block_size')::bigint FROM "
                    "pg_stat_bgwriter"))
                .split(QLatin1Char(' '));
        return Writes{v.value(0).toDouble() / 1e6, v.value(1).toDouble() / 1e6};
    };
    const auto sayWrites = [](const Writes &from, const Writes &to) {
        say(QStringLiteral("written: %1 MB of WAL; %2 MB of shared buffers written out by the "
                           "backends to make room")
                .arg(to.walMb - from.walMb, 0, 'f', 0)
                .arg(to.backendMb - from.backendMb, 0, 'f', 0));
    };
    const Writes beforeImport = writesNow();

    // -- 1. The bank file: generated, parsed, imported.
    Noise noise;
    const QList<GenLine> generated = statementLines(n, noise);
    const QByteArray bytes = format == u"csv"    ? makeCsv(generated)
                             : format == u"camt" ? makeCamt(generated)
                                                 : makeMt940(generated);
    const qint64 lines = generated.size();
    say(QStringLiteral("statement: %1 lines in %2 MB: %3 with the reference, %4 without (%5 with a "
                       "fee off, %6 with the reference in the text), %7 dates shifted 1-2 days, "
                       "%8 one-to-many, %9 many-to-one, %10 out of the window, %11 off in amount, "
                       "%12 unknown; %13 entries not on it")
            .arg(lines)
            .arg(double(bytes.size()) / 1e6, 0, 'f', 1)
            .arg(noise.withRef)
            .arg(noise.withoutRef)
            .arg(noise.fee)
            .arg(noise.refInText)
            .arg(noise.shifted)
            .arg(noise.oneToMany)
            .arg(noise.manyToOne)
            .arg(noise.outOfWindow)
            .arg(noise.amountOff)
            .arg(noise.unknown)
            .arg(noise.missing));

    say(QStringLiteral("\n== import (%1 lines)").arg(lines));
    const CsvProfile profile = csvProfile();
    t.restart();
    auto parsed = BankFileParser::parse(bytes,
                                        format == u"csv"    ? BankFileParser::Format::Csv
                                        : format == u"camt" ? BankFileParser::Format::Camt
                                                            : BankFileParser::Format::Mt940,
                                        &profile);
    const double parseMs = double(t.nsecsElapsed()) / 1e6;
    if (!parsed.ok()) {
        std::fprintf(stderr, "bench: parse: %s\n", qPrintable(parsed.error().describe()));
        return 1;
    }
    const QString sha =
        QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
    ReconRepository::ImportTimings importTimes;
    ReconImportSummary imported;
    double importMs = 0;
    if (!offGui([&] {
            Connection c(bench.cluster().dsn(), QStringLiteral("bench_recon"));
            ReconRepository::mapAccount(c, kIban, QStringLiteral("EUR"), QStringLiteral("CASH"));
            ReconRepository::mapAccount(c, kQueueIban, QStringLiteral("EUR"),
                                        QStringLiteral("CASH2"));
            ReconRepository::ImportOptions options;
            options.fileName = QStringLiteral("bench.") + format;
            options.timings = &importTimes;
            QElapsedTimer clock;
            clock.start();
            imported = ReconRepository::importFile(c, parsed.value(), sha, bytes.size(), options);
            importMs = double(clock.nsecsElapsed()) / 1e6;
        }))
        return 1;
    admin.exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE recon.bank_accounts SET "
                              "amount_tolerance_minor = %1, "
                              "date_window_days = %2")
                   .arg(kTolerance)
                   .arg(kWindow));
    const Writes afterImport = writesNow();
    const double otherMs =
        importMs - importTimes.buildMs - importTimes.linesMs - importTimes.finishMs;
    say(QStringLiteral(
            "%1 lines in %2 statements imported (%3 skipped, %4 duplicate, %5 unbalanced)")
            .arg(imported.lines)
            .arg(imported.statements)
            .arg(imported.linesSkipped)
            .arg(imported.duplicateLines)
            .arg(imported.unbalancedStatements));
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("step"), -34)
            .arg(QStringLiteral("ms"), 10)
            .arg(QStringLiteral("ms/1000 lines"), 14));
    const std::pair<QString, double> importSteps[] = {
        {QStringLiteral("parse (%1)").arg(format), parseMs},
        {QStringLiteral("arrays (client; waited for)"), importTimes.buildMs},
        {QStringLiteral("send + insert (import_lines)"), importTimes.linesMs},
        {QStringLiteral("import_finish"), importTimes.finishMs},
        {QStringLiteral("begin, statements, commit"), otherMs},
        {QStringLiteral("import (importFile)"), importMs},
        {QStringLiteral("parse + import"), parseMs + importMs}};
    for (const auto &[name, ms] : importSteps)
        say(QStringLiteral("%1 %2 %3")
                .arg(name, -34)
                .arg(ms, 10, 'f', 1)
                .arg(perThousand(ms, lines), 14));
    sayWrites(beforeImport, afterImport);

    // -- 2. The matching run.
    say(QStringLiteral(
            "\n== recon.match on CASH: %1 lines against %2 entries (the run's own figures)")
            .arg(lines)
            .arg(n));
    ReconMatchSummary matched;
    double matchMs = 0;
    if (!offGui([&] {
            Connection c(bench.cluster().dsn(), QStringLiteral("bench_recon"));
            QElapsedTimer clock;
            clock.start();
            matched = ReconRepository::match(c, QStringLiteral("CASH"));
            matchMs = double(clock.nsecsElapsed()) / 1e6;
        }))
        return 1;
    if (matched.runs.size() != 1) {
        std::fprintf(stderr, "bench: %lld runs\n", qlonglong(matched.runs.size()));
        return 1;
    }
    const ReconRunSummary run = matched.runs.first();
    printRun(run, lines);
    sayWrites(afterImport, writesNow());
    say(QStringLiteral("recon.match through ReconRepository::match: %1 ms (%2 ms/1000 lines)")
            .arg(matchMs, 0, 'f', 1)
            .arg(perThousand(matchMs, lines)));
    const double serverPasses12 = run.elapsedMs.value(QStringLiteral("prepare")) +
                                  run.elapsedMs.value(QStringLiteral("exact")) +
                                  run.elapsedMs.value(QStringLiteral("tolerance"));

    // -- 3. The naive nested loop, passes 1 and 2, on the first lines.
    say(QStringLiteral("\n== naive: C++ nested loop over lines x entries (passes 1 and 2) on the "
                       "first %1 lines")
            .arg(naiveLines));
    const auto sampleLines = admin.exec(
        QStringLiteral("SELECT l.id, l.amount_minor, l.value_date - date '2000-01-01', "
                       "l.bank_reference, l.end_to_end_id, l.remittance, l.counterparty_name "
                       "FROM recon.lines l JOIN recon.bank_accounts b ON b.id = l.bank_account_id "
                       "WHERE b.identifier = '%1' AND l.status = 'BOOK' ORDER BY l.value_date, "
                       "l.id LIMIT %2")
            .arg(kIban)
            .arg(naiveLines));
    QList<NaiveLine> nl;
    qint64 lo = std::numeric_limits<qint64>::max(), hi = std::numeric_limits<qint64>::min();
    for (const QStringList &r : sampleLines.rows) {
        nl.append(
            {r[0].toLongLong(), r[1].toLongLong(), r[2].toLongLong(), r[3], r[4], r[5], r[6]});
        lo = std::min(lo, nl.last().day);
        hi = std::max(hi, nl.last().day);
    }
    const auto sampleEntries = admin.exec(
        QStringLiteral(
            "SELECT e.id, e.amount, (e.effective_at AT TIME ZONE 'UTC')::date - date "
            "'2000-01-01', coalesce(t.external_ref, ''), t.description FROM "
            "ledger.entries e JOIN ledger.transactions t ON t.id = e.transaction_id "
            "JOIN ledger.accounts a ON a.id = e.account_id WHERE a.code = 'CASH' AND "
            "e.effective_at >= (date '2000-01-01' + %1)::timestamp AT TIME ZONE 'UTC' "
            "AND e.effective_at < (date '2000-01-01' + %2)::timestamp AT TIME ZONE 'UTC' "
            "ORDER BY e.id")
            .arg(lo - kWindow)
            .arg(hi + kWindow + 1));
    QList<NaiveEntry> ne;
    for (const QStringList &r : sampleEntries.rows)
        ne.append({r[0].toLongLong(), r[1].toLongLong(), r[2].toLongLong(), r[3], r[4]});
    t.restart();
    const auto naivePairs = naiveMatch(nl, ne);
    const double naiveMs = double(t.nsecsElapsed()) / 1e6;
    // The server's pairs of passes 1 and 2 for the same lines.
    QStringList ids;
    for (const NaiveLine &l : nl)
        ids << QString::number(l.id);
    const auto serverPairs = admin.exec(
        QStringLiteral("SELECT g.line_ids[1], g.entry_ids[1] FROM recon.match_groups g WHERE "
                       "g.rule IN ('exact', 'tolerance') AND g.line_ids[1] = ANY ($1::bigint[])"),
        {QStringLiteral("{%1}").arg(ids.join(QLatin1Char(',')))});
    QSet<std::pair<qint64, qint64>> server;
    for (const QStringList &r : serverPairs.rows)
        server.insert({r[0].toLongLong(), r[1].toLongLong()});
    qint64 agree = 0;
    for (const auto &p : naivePairs)
        agree += server.contains(p) ? 1 : 0;
    const double naivePer = naiveMs * 1000.0 / double(nl.size());
    const double serverPer = serverPasses12 * 1000.0 / double(lines);
    say(QStringLiteral("%1 lines x %2 entries: %3 pairs in %4 ms (%5 ms/1000 lines); the server "
                       "made %6 of them for these lines (%7 agree)")
            .arg(nl.size())
            .arg(ne.size())
            .arg(naivePairs.size())
            .arg(naiveMs, 0, 'f', 1)
            .arg(naivePer, 0, 'f', 2)
            .arg(server.size())
            .arg(agree));
    say(QStringLiteral("server passes 1-2 (with prepare) on all %1 lines: %2 ms/1000 lines; ratio "
                       "naive/server per 1000 lines %3 (the naive loop grows with the entries: "
                       "on %1 x %4 it would take about %5 s)")
            .arg(lines)
            .arg(serverPer, 0, 'f', 2)
            .arg(naivePer / serverPer, 0, 'f', 1)
            .arg(n)
            .arg(naiveMs / 1000.0 * (double(lines) / double(nl.size())) *
                     (double(n) / double(std::max<qsizetype>(ne.size(), 1))),
                 0, 'f', 0));

    // -- 4. The exceptions queue: a second account's statement the ledger does not know.
    say(QStringLiteral("\n== exceptions queue: %1 lines on CASH2 with no ledger counterpart")
            .arg(queue));
    {
        BankStatement s;
        s.format = QStringLiteral("camt.053");
        s.statementId = QStringLiteral("QUEUE-1");
        s.iban = kQueueIban;
        s.currency = QStringLiteral("EUR");
        s.sourceLocation = QStringLiteral("Document/BkToCstmrStmt/Stmt[1]");
        s.lines.reserve(queue);
        for (qint64 i = 1; i <= queue; ++i) {
            BankLine l;
            l.amount = {(i % 2 ? 1 : -1) * ((i * 104729) % 5000000 + 1), 2};
            l.currency = QStringLiteral("EUR");
            l.valueDate = l.bookingDate = QDate(2025, 1, 1).addDays(i % 365);
            l.status = QStringLiteral("BOOK");
            l.bankReference = QStringLiteral("Q%1").arg(i);
            l.counterpartyName = QStringLiteral("Payer %1").arg(i % 977);
            l.remittance = QStringLiteral("Unknown payment %1").arg(i);
            l.sourceLocation = QStringLiteral("Ntry[%1]").arg(i);
            s.lines.append(l);
        }
        BankFile file;
        file.format = QStringLiteral("camt.053");
        file.encoding = QStringLiteral("UTF-8");
        file.statements = {s};
        double queueImportMs = 0;
        ReconMatchSummary queueRun;
        if (!offGui([&] {
                Connection c(bench.cluster().dsn(), QStringLiteral("bench_recon"));
                QElapsedTimer clock;
                clock.start();
                ReconRepository::importFile(c, file, QString(64, QLatin1Char('a')), queue);
                queueImportMs = double(clock.nsecsElapsed()) / 1e6;
                queueRun = ReconRepository::match(c, QStringLiteral("CASH2"));
            }))
            return 1;
        say(QStringLiteral("imported in %1 ms; its run:").arg(queueImportMs, 0, 'f', 0));
        printRun(queueRun.runs.first(), queue);
    }
    admin.exec(
        QStringLiteral("VACUUM ANALYZE recon.exceptions; VACUUM ANALYZE recon.exception_state"));
    say(QStringLiteral("open exceptions: %1")
            .arg(admin.scalar(QStringLiteral("SELECT count(*) FROM recon.exception_state WHERE "
                                             "state IN ('open', 'assigned')"))));
    say(QStringLiteral("\nserver: recon.exception_queue, page of 200, median of 5"));
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("query"), -34)
            .arg(QStringLiteral("page ms"), 9)
            .arg(QStringLiteral("count ms"), 9));
    struct Case
    {
        const char *name;
        const char *filters; // types, account, states, assignee, min, max, age, overdue
        const char *sort;
        bool descending;
    };
    const Case cases[] = {
        {"oldest first (first page)", "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL", "age",
         false},
        {"largest amount", "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL", "amount", true},
        {"type amount_mismatch", "'{amount_mismatch}', NULL, NULL, NULL, NULL, NULL, NULL, NULL",
         "age", false},
        {"account CASH", "NULL, 'CASH', NULL, NULL, NULL, NULL, NULL, NULL", "age", false},
        {"amount 100-200, largest", "NULL, NULL, NULL, NULL, 10000, 20000, NULL, NULL", "amount",
         true},
        {"overdue, due first", "NULL, NULL, NULL, NULL, NULL, NULL, NULL, true", "due", false},
    };
    for (const Case &c : cases) {
        const double page = timeSql(
            admin, QStringLiteral("SELECT * FROM recon.exception_queue(%1, '%2', %3, 0, 200)")
                       .arg(QLatin1String(c.filters), QLatin1String(c.sort),
                            QLatin1String(c.descending ? "true" : "false")));
        const double count = timeSql(
            admin,
            QStringLiteral("SELECT recon.exception_count(%1)").arg(QLatin1String(c.filters)));
        say(QStringLiteral("%1 %2 %3")
                .arg(QLatin1String(c.name), -34)
                .arg(page, 9, 'f', 2)
                .arg(count, 9, 'f', 2));
    }

    say(QStringLiteral("\nconsole: ReconExceptionModel + QTableView (offscreen) over ReconService "
                       "(DbWorker threads); median of 5 after a warm-up"));
    DbWorker interactive(bench.cluster().dsn(), QStringLiteral("bench_recon"));
    DbWorker longJobs(bench.cluster().dsn(), QStringLiteral("bench_recon_jobs"));
    ReconService service(&interactive, &longJobs);
    QList<double> firstData, firstPaint, filterData, filterPaint, sortData, sortPaint;
    for (int rep = 0; rep < 6; ++rep) {
        ReconExceptionModel model(&service);
        QTableView view;
        view.verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
        view.setModel(&model);
        view.resize(1400, 800);
        view.show();
        qint64 loads = 0;
        QObject::connect(&model, &ReconExceptionModel::pageLoaded, &model, [&] { ++loads; });
        const auto measure = [&](const std::function<void()> &action, QList<double> &data,
                                 QList<double> &painted) {
            const qint64 before = loads;
            QElapsedTimer clock;
            clock.start();
            action();
            if (!waitFor([&] { return loads > before && !model.isLoading(); }))
                return false;
            const double d = double(clock.nsecsElapsed()) / 1e6;
            view.viewport()->repaint();
            const double p = double(clock.nsecsElapsed()) / 1e6;
            if (rep > 0) {
                data << d;
                painted << p;
            }
            return true;
        };
        if (!measure([&] { model.refresh(); }, firstData, firstPaint))
            return 1;
        ReconExceptionQuery filtered = model.query();
        filtered.types = {QStringLiteral("amount_mismatch")};
        if (!measure([&] { model.setQuery(filtered); }, filterData, filterPaint))
            return 1;
        if (!measure([&] { model.sort(ReconExceptionModel::Amount, Qt::DescendingOrder); },
                     sortData, sortPaint))
            return 1;
        if (rep == 5)
            say(QStringLiteral("rows loaded %1 of %2 matching (amount_mismatch)")
                    .arg(model.rowCount())
                    .arg(model.total()));
    }
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("step"), -34)
            .arg(QStringLiteral("data ms"), 9)
            .arg(QStringLiteral("painted ms"), 11));
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("first page (all open)"), -34)
            .arg(median(firstData), 9, 'f', 1)
            .arg(median(firstPaint), 11, 'f', 1));
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("filter: amount_mismatch"), -34)
            .arg(median(filterData), 9, 'f', 1)
            .arg(median(filterPaint), 11, 'f', 1));
    say(QStringLiteral("%1 %2 %3")
            .arg(QStringLiteral("then sort by amount"), -34)
            .arg(median(sortData), 9, 'f', 1)
            .arg(median(sortPaint), 11, 'f', 1));

    // -- 5. Statements without bank references (a CSV export without a reference column):
    // import_finish looks for duplicates among them by amount, value date, counterparty,
    // remittance and end-to-end id. Through an index on (account, value date) as before 0034
    // (every line of that day read per line) and as 0056 made it (with the amount).
    say(QStringLiteral("\n== %1 lines without bank references, one account each, over a year: "
                       "import_finish's duplicate check by index layout")
            .arg(unreferenced));
    const auto unreferencedStatement = [&](const QString &iban) {
        BankStatement s;
        s.format = QStringLiteral("csv");
        s.statementId = QStringLiteral("UNREF-") + iban.right(4);
        s.iban = iban;
        s.currency = QStringLiteral("EUR");
        s.sourceLocation = QStringLiteral("line 1");
        s.lines.reserve(unreferenced);
        for (qint64 i = 1; i <= unreferenced; ++i) {
            BankLine l;
            l.amount = {(i % 3 ? 1 : -1) * ((i * 7919) % 2000000 + 1), 2};
            l.currency = QStringLiteral("EUR");
            l.valueDate = l.bookingDate = QDate(2024, 1, 1).addDays(i % 365);
            l.status = QStringLiteral("BOOK");
            l.counterpartyName = QStringLiteral("Customer %1").arg(i % 4999);
            l.counterpartyAccount = QStringLiteral("DE02120300000000202051");
            l.remittance = QStringLiteral("Invoice %1").arg(i);
            l.sourceLocation = QStringLiteral("line %1").arg(i + 1);
            s.lines.append(l);
        }
        BankFile file;
        file.format = QStringLiteral("csv");
        file.encoding = QStringLiteral("UTF-8");
        file.statements = {s};
        return file;
    };
    struct Layout
    {
        const char *name;
        const char *index;
        const char *iban;
    };
    // The index the check reads, recon.lines_once since 0056 (before it, lines_by_date).
    const Layout layouts[] = {
        {"(account, value date), before 0034",
         "INDEX lines_once ON recon.lines (bank_account_id, value_date)", "DE02500105170137075030"},
        {"(account, value date, amount, ref), 0056",
         "UNIQUE INDEX lines_once ON recon.lines (bank_account_id, value_date, amount_minor, "
         "(nullif(bank_reference, '')))",
         "DE02100500000054540402"},
    };
    double finishMs[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        const Layout &layout = layouts[i];
        if (!admin
                 .exec(QStringLiteral("DROP INDEX recon.lines_once; CREATE %1")
                           .arg(QLatin1String(layout.index)))
                 .ok) {
            std::fprintf(stderr, "bench: cannot lay out recon.lines_once\n");
            return 1;
        }
        const BankFile file = unreferencedStatement(QLatin1String(layout.iban));
        ReconRepository::ImportTimings times;
        ReconImportSummary summary;
        if (!offGui([&] {
                Connection c(bench.cluster().dsn(), QStringLiteral("bench_recon"));
                ReconRepository::mapAccount(c, QLatin1String(layout.iban), QStringLiteral("EUR"),
                                            QStringLiteral("CASH2"));
                ReconRepository::ImportOptions options;
                options.timings = &times;
                summary = ReconRepository::importFile(
                    c, file, QString(64, QLatin1Char(i == 0 ? 'b' : 'c')), unreferenced, options);
            }))
            return 1;
        finishMs[i] = times.finishMs;
        say(QStringLiteral("%1 %2 ms import_finish (%3 lines, %4 duplicates found)")
                .arg(QLatin1String(layout.name), -40)
                .arg(times.finishMs, 10, 'f', 1)
                .arg(summary.lines)
                .arg(summary.duplicateLines));
    }
    say(QStringLiteral("import_finish with the amount in the index: x%1 faster")
            .arg(finishMs[0] / std::max(finishMs[1], 0.001), 0, 'f', 1));
    return 0;
}
