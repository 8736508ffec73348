#include "ReconRepository.h"

#include "Connection.h"
#include "DbException.h"
#include "Native.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <array>
#include <future>
#include <limits>

namespace ledger::ReconRepository {

namespace {

using db::parseUtc;
using db::toQString;

// The queue, its count, aging and status, proposals and candidates: one kind of read of the
// whole ledger (0033_more_reads_on_record.sql), on record before it is served.
const db::ReadKey kQueueRead{"recon_queue", ""};
using db::toStd;
using db::utcColumn;

[[noreturn]] void fail(Error::Kind kind, const QString &message)
{
    throw DbException(Error::make(kind, message));
}

QJsonObject jsonOf(const pqxx::field &f)
{
    return QJsonDocument::fromJson(QByteArray(f.c_str(), int(f.size()))).object();
}

std::optional<std::string> optionalText(const QString &s)
{
    return s.isEmpty() ? std::nullopt : std::optional(toStd(s));
}

// A PostgreSQL array literal, built as text (one parameter per array, however long).
class ArrayText
{
public:
    explicit ArrayText(qsizetype reserve = 0) { m_text.reserve(size_t(reserve)); }
    void add(const QString &value)
    {
        sep();
        m_text += '"';
        const QByteArray utf8 = value.toUtf8();
        for (const char c : utf8) {
            if (c == '"' || c == '\\')
                m_text += '\\';
            m_text += c;
        }
        m_text += '"';
    }
    void add(qint64 value)
    {
        sep();
        m_text += std::to_string(value);
    }
    void add(bool value)
    {
        sep();
        m_text += value ? 't' : 'f';
    }
    void add(const QDate &date)
    {
        sep();
        if (!date.isValid()) {
            m_text += "NULL";
            return;
        }
        m_text += date.toString(Qt::ISODate).toStdString();
    }
    std::string finish()
    {
        m_text += '}';
        m_text.insert(m_text.begin(), '{');
        m_first = true;
        return std::move(m_text);
    }

private:
    void sep()
    {
        if (!m_first)
            m_text += ',';
        m_first = false;
    }
    std::string m_text;
    bool m_first = true;
};

// An exact decimal as minor units of a currency with `exponent` digits; nullopt when it has
// more (non-zero) decimals than the currency, or overflows.
std::optional<qint64> toMinor(const BankAmount &a, int exponent)
{
    qint64 units = a.units;
    int scale = a.scale;
    while (scale > exponent) {
        if (units % 10 != 0)
            return std::nullopt;
        units /= 10;
        --scale;
    }
    while (scale < exponent) {
        if (units > std::numeric_limits<qint64>::max() / 10 ||
            units < std::numeric_limits<qint64>::min() / 10)
            return std::nullopt;
        units *= 10;
        ++scale;
    }
    return units;
}

QString amountText(const BankAmount &a)
{
    QString digits = QString::number(a.units < 0 ? -a.units : a.units);
    if (a.scale > 0) {
        digits = digits.rightJustified(a.scale + 1, QLatin1Char('0'));
        digits.insert(digits.size() - a.scale, QLatin1Char('.'));
    }
    return (a.units < 0 ? QStringLiteral("-") : QString()) + digits;
}

QString identifierOf(const BankStatement &s)
{
    return s.iban.isEmpty() ? s.accountNumber : s.iban;
}

QString currencyOf(const BankStatement &s)
{
    if (!s.currency.isEmpty())
        return s.currency.toUpper();
    if (s.opening && !s.opening->currency.isEmpty())
        return s.opening->currency.toUpper();
    if (!s.lines.isEmpty())
        return s.lines.first().currency.toUpper();
    return {};
}

struct Mapping
{
    qint64 bankAccountId = 0;
    QString account;
    QString currency;
    int exponent = 2;
    bool reversalFlipsSign = true; // camt RvslInd: see recon.bank_accounts
};

QList<std::optional<Mapping>> lookup(pqxx::work &tx, const QList<BankStatement> &statements)
{
    ArrayText ids, currencies;
    for (const BankStatement &s : statements) {
        ids.add(identifierOf(s));
        currencies.add(currencyOf(s));
    }
    const auto rows = tx.exec_params(
        "SELECT ord, bank_account_id, account, currency, exponent, reversal_flips_sign FROM "
        "recon.lookup_accounts($1::text[], $2::text[]) ORDER BY ord",
        ids.finish(), currencies.finish());
    QList<std::optional<Mapping>> out;
    for (const auto &r : rows) {
        if (r[1].is_null()) {
            out.append(std::nullopt);
            continue;
        }
        out.append(Mapping{r[1].as<qint64>(), toQString(r[2]), toQString(r[3]), r[4].as<int>(),
                           r[5].as<bool>()});
    }
    return out;
}

constexpr int kChunk = 20000;

ReconRunSummary runFrom(const QJsonObject &o)
{
    ReconRunSummary r;
    r.runId = o.value(QLatin1String("run")).toInteger();
    r.bankAccount = o.value(QLatin1String("bank_account")).toString();
    r.currency = o.value(QLatin1String("currency")).toString();
    r.exact = o.value(QLatin1String("exact")).toInt();
    r.tolerance = o.value(QLatin1String("tolerance")).toInt();
    r.oneToMany = o.value(QLatin1String("one_to_many")).toInt();
    r.manyToOne = o.value(QLatin1String("many_to_one")).toInt();
    r.autoConfirmed = o.value(QLatin1String("auto_confirmed")).toInt();
    r.proposed = o.value(QLatin1String("proposed")).toInt();
    const QJsonObject raised = o.value(QLatin1String("exceptions_raised")).toObject();
    for (auto it = raised.begin(); it != raised.end(); ++it)
        r.exceptionsRaised.insert(it.key(), it.value().toInt());
    r.exceptionsResolved = o.value(QLatin1String("exceptions_resolved")).toInt();
    const QJsonObject elapsed = o.value(QLatin1String("elapsed_ms")).toObject();
    for (auto it = elapsed.begin(); it != elapsed.end(); ++it)
        r.elapsedMs.insert(it.key(), it.value().toDouble());
    return r;
}

std::optional<std::string> typesArray(const QStringList &types)
{
    if (types.isEmpty())
        return std::nullopt;
    ArrayText a;
    for (const QString &t : types)
        a.add(t);
    return a.finish();
}

std::optional<qint64> bound(qint64 v)
{
    return v < 0 ? std::nullopt : std::optional(v);
}

std::optional<std::string> minAge(int days)
{
    return days > 0 ? std::optional(std::to_string(days) + " days") : std::nullopt;
}

std::optional<bool> overdueFilter(int overdue)
{
    return overdue < 0 ? std::nullopt : std::optional(overdue == 1);
}

std::optional<qint64> expected(qint64 event)
{
    return event > 0 ? std::optional(event) : std::nullopt;
}

} // namespace

qint64 mapAccount(Connection &connection, const QString &identifier, const QString &currency,
                  const QString &accountCode)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const qint64 id = tx.exec_params("SELECT recon.map_account($1, $2, $3)", toStd(identifier),
                                         optionalText(currency), toStd(accountCode))[0][0]
                              .as<qint64>();
        tx.commit();
        return id;
    });
}

ReconImportSummary importFile(Connection &connection, const BankFile &file,
                              const QString &sha256Hex, qint64 bytes, const ImportOptions &options)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        ReconImportSummary summary;
        summary.sha256 = sha256Hex;
        summary.format = file.format;
        summary.fileName = options.fileName;
        const auto begun =
            tx.exec_params("SELECT file_id, " + utcColumn("already_imported_at") +
                               ", already_imported_by FROM recon.import_begin($1, $2, $3, $4)",
                           toStd(sha256Hex), toStd(file.format), toStd(options.fileName), bytes);
        summary.fileId = begun[0][0].as<qint64>();
        if (!begun[0][1].is_null()) {
            summary.alreadyImported = true;
            summary.firstImportedAt = parseUtc(begun[0][1]);
            summary.firstImportedBy = toQString(begun[0][2]);
            tx.commit(); // the skipped import's audit event
            return summary;
        }

        // Every statement's bank account mapped (with --account, mapped now).
        QList<std::optional<Mapping>> mappings = lookup(tx, file.statements);
        QStringList unmapped;
        for (int i = 0; i < file.statements.size(); ++i) {
            const QString name = QStringLiteral("%1 (%2)").arg(identifierOf(file.statements.at(i)),
                                                               currencyOf(file.statements.at(i)));
            if (!mappings.at(i) && !unmapped.contains(name))
                unmapped << name;
        }
        if (unmapped.size() > 1 && !options.mapToAccount.isEmpty())
            fail(Error::Kind::Input,
                 QStringLiteral("The file names %1 unmapped bank accounts (%2): --account maps "
                                "one. Map each with `ledgerctl recon map`. Nothing of the file "
                                "was imported.")
                     .arg(unmapped.size())
                     .arg(unmapped.join(QStringLiteral(", "))));
        for (int i = 0; i < file.statements.size(); ++i) {
            if (mappings.at(i))
                continue;
            const BankStatement &s = file.statements.at(i);
            const QString identifier = identifierOf(s);
            if (identifier.isEmpty())
                fail(Error::Kind::Input,
                     QStringLiteral("The statement at %1 names no bank account (IBAN or account "
                                    "number): nothing of the file was imported.")
                         .arg(s.sourceLocation));
            if (options.mapToAccount.isEmpty())
                fail(Error::Kind::Input,
                     QStringLiteral("Bank account %1 (%2) is not mapped to a ledger account: map "
                                    "it with `ledgerctl recon map --bank-account %1 --account "
                                    "CODE`, or import with --account CODE. Nothing of the file "
                                    "was imported.")
                         .arg(identifier, currencyOf(s).isEmpty() ? QStringLiteral("no currency")
                                                                  : currencyOf(s)));
            tx.exec_params("SELECT recon.map_account($1, $2, $3)", toStd(identifier),
                           optionalText(currencyOf(s)), toStd(options.mapToAccount));
            summary.mappedNow.append(identifier);
            mappings = lookup(tx, file.statements);
        }

        qint64 total = 0;
        for (const BankStatement &s : file.statements)
            total += s.lines.size();

        // The lines go in chunks, each as the arrays recon.import_lines takes. The next chunk's
        // arrays are built on a second thread while the server inserts this one (built in
        // turn, they were 1.5 s of a million-line import spent with the server idle).
        struct Chunk
        {
            int statement;
            qsizetype first;
            qsizetype end;
        };
        QList<Chunk> chunks;
        for (int i = 0; i < file.statements.size(); ++i) {
            const qsizetype n = file.statements.at(i).lines.size();
            for (qsizetype first = 0; first < n; first += kChunk)
                chunks.append({i, first, std::min<qsizetype>(n, first + kChunk)});
        }
        const auto minorOf = [](const Mapping &m, const BankAmount &a, const QString &where) {
            const auto minor = toMinor(a, m.exponent);
            if (!minor)
                fail(Error::Kind::Input,
                     QStringLiteral("%1: the amount %2 has more decimals than %3 allows (%4). "
                                    "Nothing of the file was imported.")
                         .arg(where, amountText(a), m.currency)
                         .arg(m.exponent));
            return *minor;
        };
        using Arrays = std::array<std::string, 14>;
        // Reads only what no one changes while it runs (the file, the mappings); throws as
        // the rest of the import does, through the future.
        const auto build = [&file, &mappings, &minorOf](const Chunk &c) {
            const BankStatement &s = file.statements.at(c.statement);
            const Mapping &m = *mappings.at(c.statement);
            ArrayText amounts(24 * (c.end - c.first)), booking, value, reversal, status, ref, e2e,
                owner, cpName, cpAccount, remittance, code, info, location;
            for (qsizetype k = c.first; k < c.end; ++k) {
                const BankLine &l = s.lines.at(k);
                if (!l.currency.isEmpty() && l.currency.toUpper() != m.currency)
                    fail(Error::Kind::Input,
                         QStringLiteral("%1: a line in %2 in a statement of an account in %3. "
                                        "Nothing of the file was imported.")
                             .arg(l.sourceLocation, l.currency, m.currency));
                if (!l.valueDate.isValid() && !l.bookingDate.isValid())
                    fail(Error::Kind::Input,
                         QStringLiteral("%1: the line has no date. Nothing of the file was "
                                        "imported.")
                             .arg(l.sourceLocation));
                // The parsers apply a camt RvslInd as flipping the sign; for a bank account
                // whose reversals carry their own direction, undo that.
                const bool asStated = l.reversal && !m.reversalFlipsSign &&
                                      s.format.startsWith(QLatin1String("camt"));
                const qint64 minor = minorOf(m, l.amount, l.sourceLocation);
                amounts.add(asStated ? -minor : minor);
                booking.add(l.bookingDate);
                value.add(l.valueDate.isValid() ? l.valueDate : l.bookingDate);
                reversal.add(l.reversal);
                status.add(l.status.isEmpty() ? QStringLiteral("BOOK") : l.status);
                ref.add(l.bankReference);
                e2e.add(l.endToEndId);
                owner.add(l.accountOwnerReference);
                cpName.add(l.counterpartyName);
                cpAccount.add(l.counterpartyAccount);
                remittance.add(l.remittance);
                code.add(l.bankTransactionCode);
                info.add(l.additionalInfo);
                location.add(l.sourceLocation);
            }
            return Arrays{amounts.finish(),   booking.finish(),    value.finish(),
                          reversal.finish(),  status.finish(),     ref.finish(),
                          e2e.finish(),       owner.finish(),      cpName.finish(),
                          cpAccount.finish(), remittance.finish(), code.finish(),
                          info.finish(),      location.finish()};
        };
        // Declared after everything build() reads: on an error the pending build is waited
        // for before those go.
        std::future<Arrays> next;
        if (!chunks.isEmpty())
            next = std::async(std::launch::async, build, chunks.first());

        qint64 done = 0;
        qsizetype k = 0; // the next chunk
        for (int i = 0; i < file.statements.size(); ++i) {
            const BankStatement &s = file.statements.at(i);
            const Mapping &m = *mappings.at(i);
            if (!summary.accounts.contains(m.account))
                summary.accounts.append(m.account);
            QJsonObject header{{QStringLiteral("statement_id"),
                                s.statementId.isEmpty() ? s.messageId : s.statementId},
                               {QStringLiteral("sequence_number"), s.sequenceNumber},
                               {QStringLiteral("message_id"), s.messageId},
                               {QStringLiteral("location"), s.sourceLocation}};
            if (s.createdAt.isValid())
                header.insert(QStringLiteral("created_at"),
                              s.createdAt.toUTC().toString(Qt::ISODateWithMs));
            if (s.from.isValid())
                header.insert(QStringLiteral("from"), s.from.toUTC().toString(Qt::ISODateWithMs));
            if (s.to.isValid())
                header.insert(QStringLiteral("to"), s.to.toUTC().toString(Qt::ISODateWithMs));
            if (s.opening) {
                header.insert(QStringLiteral("opening_code"), s.opening->code);
                header.insert(QStringLiteral("opening_minor"),
                              minorOf(m, s.opening->amount, s.sourceLocation));
                header.insert(QStringLiteral("opening_date"),
                              s.opening->date.toString(Qt::ISODate));
            }
            if (s.closing) {
                header.insert(QStringLiteral("closing_code"), s.closing->code);
                header.insert(QStringLiteral("closing_minor"),
                              minorOf(m, s.closing->amount, s.sourceLocation));
                header.insert(QStringLiteral("closing_date"),
                              s.closing->date.toString(Qt::ISODate));
            }
            // A file without statement ids (CSV) names its statements by the file's hash and
            // their place in it: the same bytes are caught by the file's hash anyway, and a
            // line sent again in another file by its bank reference.
            if (header.value(QStringLiteral("statement_id")).toString().isEmpty())
                header.insert(QStringLiteral("statement_id"),
                              QStringLiteral("file:%1#%2").arg(sha256Hex.left(16)).arg(i + 1));
            const auto r = tx.exec_params(
                "SELECT recon.import_statement($1, $2, $3::jsonb)", summary.fileId, m.bankAccountId,
                QJsonDocument(header).toJson(QJsonDocument::Compact).toStdString());
            const bool skipped = r[0][0].is_null();
            const qint64 statementId = skipped ? 0 : r[0][0].as<qint64>();
            if (skipped)
                ++summary.statementsSkipped;
            else
                ++summary.statements;
            for (; k < chunks.size() && chunks.at(k).statement == i; ++k) {
                const Chunk c = chunks.at(k);
                QElapsedTimer clock;
                clock.start();
                const Arrays arrays = next.get();
                if (k + 1 < chunks.size())
                    next = std::async(std::launch::async, build, chunks.at(k + 1));
                if (options.timings) // the time the server waited for the arrays
                    options.timings->buildMs += double(clock.nsecsElapsed()) / 1e6;
                done += c.end - c.first;
                if (skipped)
                    continue;
                if (options.cancelled && options.cancelled())
                    fail(Error::Kind::Cancelled,
                         QStringLiteral("The import was cancelled: nothing of the file was "
                                        "imported."));
                clock.restart();
                const auto n = tx.exec_params(
                    "SELECT inserted, skipped FROM recon.import_lines($1, $2, $3::bigint[], "
                    "$4::date[], $5::date[], $6::boolean[], $7::text[], $8::text[], $9::text[], "
                    "$10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], "
                    "$16::text[])",
                    statementId, int(c.first + 1), arrays[0], arrays[1], arrays[2], arrays[3],
                    arrays[4], arrays[5], arrays[6], arrays[7], arrays[8], arrays[9], arrays[10],
                    arrays[11], arrays[12], arrays[13]);
                if (options.timings)
                    options.timings->linesMs += double(clock.nsecsElapsed()) / 1e6;
                summary.lines += n[0][0].as<qint64>();
                summary.linesSkipped += n[0][1].as<qint64>();
                if (options.progress)
                    options.progress(done, total);
            }
        }
        if (options.cancelled && options.cancelled())
            fail(Error::Kind::Cancelled,
                 QStringLiteral("The import was cancelled: nothing of the file was imported."));
        QElapsedTimer finishing;
        finishing.start();
        const QJsonObject finished =
            jsonOf(tx.exec_params("SELECT recon.import_finish($1)::text", summary.fileId)[0][0]);
        if (options.timings)
            options.timings->finishMs += double(finishing.nsecsElapsed()) / 1e6;
        summary.unbalancedStatements =
            finished.value(QLatin1String("unbalanced_statements")).toInt();
        summary.duplicateLines = finished.value(QLatin1String("duplicate_lines")).toInt();
        tx.commit();
        return summary;
    });
}

ReconMatchSummary match(Connection &connection, const QString &accountCode, bool dryRun)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const QJsonObject o = jsonOf(
            tx.exec_params("SELECT recon.match($1, $2)::text", toStd(accountCode), dryRun)[0][0]);
        tx.commit();
        ReconMatchSummary m;
        m.account = o.value(QLatin1String("account")).toString();
        m.dryRun = o.value(QLatin1String("dry_run")).toBool();
        for (const auto &run : o.value(QLatin1String("runs")).toArray())
            m.runs.append(runFrom(run.toObject()));
        return m;
    });
}

void decideMatch(Connection &connection, qint64 groupId, const QString &decision,
                 const QString &note)
{
    db::guarded([&] {
        pqxx::work tx(db::native(connection));
        tx.exec_params("SELECT recon.decide_match($1, $2, $3)", groupId, toStd(decision),
                       optionalText(note));
        tx.commit();
    });
}

qint64 manualMatch(Connection &connection, const QList<qint64> &lineIds,
                   const QList<qint64> &entryIds, const QString &note)
{
    return db::guarded([&] {
        ArrayText lines, entries;
        for (const qint64 id : lineIds)
            lines.add(id);
        for (const qint64 id : entryIds)
            entries.add(id);
        pqxx::work tx(db::native(connection));
        const qint64 group = tx.exec_params("SELECT recon.manual_match($1::bigint[], "
                                            "$2::bigint[], $3)",
                                            lines.finish(), entries.finish(), toStd(note))[0][0]
                                 .as<qint64>();
        tx.commit();
        return group;
    });
}

namespace {

template <class... Args> qint64 step(Connection &connection, const std::string &sql, Args &&...args)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const pqxx::result r = tx.exec_params(sql, std::forward<Args>(args)...);
        const qint64 event = r[0][0].as<qint64>();
        tx.commit();
        return event;
    });
}

} // namespace

qint64 assignException(Connection &connection, qint64 id, const QString &assignee,
                       qint64 expectedEvent)
{
    return step(connection, "SELECT recon.assign_exception($1, $2, $3)", id, optionalText(assignee),
                expected(expectedEvent));
}

qint64 acceptException(Connection &connection, qint64 id, const QString &reasonCode,
                       const QString &note, qint64 expectedEvent)
{
    return step(connection, "SELECT recon.accept_exception($1, $2, $3, $4)", id, toStd(reasonCode),
                optionalText(note), expected(expectedEvent));
}

qint64 reopenException(Connection &connection, qint64 id, const QString &note, qint64 expectedEvent)
{
    return step(connection, "SELECT recon.reopen_exception($1, $2, $3)", id, optionalText(note),
                expected(expectedEvent));
}

qint64 resolveByCorrection(Connection &connection, qint64 id, qint64 reversalRequestId,
                           const QString &note, qint64 expectedEvent)
{
    return step(connection, "SELECT recon.resolve_by_correction($1, $2, $3, $4)", id,
                reversalRequestId, optionalText(note), expected(expectedEvent));
}

QList<ReconBulkResult> bulkExceptions(Connection &connection, const QList<qint64> &ids,
                                      const QString &action, const QString &assignee,
                                      const QString &reasonCode, const QString &note)
{
    return db::guarded([&] {
        ArrayText a;
        for (const qint64 id : ids)
            a.add(id);
        pqxx::work tx(db::native(connection));
        const auto rows = tx.exec_params(
            "SELECT exception_id, ok, message FROM recon.bulk_exceptions($1::bigint[], $2, $3, "
            "$4, $5)",
            a.finish(), toStd(action), optionalText(assignee), optionalText(reasonCode),
            optionalText(note));
        tx.commit();
        QList<ReconBulkResult> out;
        for (const auto &r : rows)
            out.append({r[0].as<qint64>(), r[1].as<bool>(), toQString(r[2])});
        return out;
    });
}

qint64 exceptionHead(Connection &connection, qint64 id)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        const auto r = tx.exec_params("SELECT recon.exception_head($1)", id);
        return r[0][0].is_null() ? qint64(0) : r[0][0].as<qint64>();
    });
}

QList<qint64> exceptionsOfRequest(Connection &connection, qint64 requestId)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        QList<qint64> out;
        for (const auto &r :
             tx.exec_params("SELECT * FROM recon.exceptions_of_request($1)", requestId))
            out.append(r[0].as<qint64>());
        return out;
    });
}

QList<ReconCandidate> lineCandidates(Connection &connection, qint64 lineId, int limit)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kQueueRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            QList<ReconCandidate> out;
            for (const auto &r : tx.exec_params(
                     "SELECT entry_id, transaction_id, effective_date, amount_minor, external_ref, "
                     "description, amount_difference, days, score FROM recon.line_candidates($1, "
                     "$2)",
                     lineId, limit)) {
                ReconCandidate c;
                c.id = r[0].as<qint64>();
                c.transactionId = r[1].as<qint64>();
                c.date = QDate::fromString(toQString(r[2]), Qt::ISODate);
                c.amountMinor = r[3].as<qint64>();
                c.reference = toQString(r[4]);
                c.text = toQString(r[5]);
                c.amountDifference = r[6].as<qint64>();
                c.days = r[7].as<int>();
                c.score = r[8].as<int>();
                out.append(c);
            }
            return out;
        });
    });
}

QList<ReconCandidate> entryCandidates(Connection &connection, qint64 entryId, int limit)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kQueueRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            QList<ReconCandidate> out;
            for (const auto &r : tx.exec_params(
                     "SELECT line_id, value_date, amount_minor, bank_reference, counterparty, "
                     "remittance, amount_difference, days, score FROM recon.entry_candidates($1, "
                     "$2)",
                     entryId, limit)) {
                ReconCandidate c;
                c.id = r[0].as<qint64>();
                c.date = QDate::fromString(toQString(r[1]), Qt::ISODate);
                c.amountMinor = r[2].as<qint64>();
                c.reference = toQString(r[3]);
                c.text = QStringList{toQString(r[4]), toQString(r[5])}.join(QStringLiteral(" · "));
                c.amountDifference = r[6].as<qint64>();
                c.days = r[7].as<int>();
                c.score = r[8].as<int>();
                out.append(c);
            }
            return out;
        });
    });
}

QList<ReconProposal> proposals(Connection &connection, const QString &accountCode, qint64 offset,
                               int limit)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kQueueRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            QList<ReconProposal> out;
            const auto ids = [](const pqxx::field &f) {
                QList<qint64> list;
                QString text = toQString(f);
                text.remove(QLatin1Char('{')).remove(QLatin1Char('}'));
                for (const QString &id : text.split(QLatin1Char(','), Qt::SkipEmptyParts))
                    list.append(id.toLongLong());
                return list;
            };
            for (const auto &r : tx.exec_params(
                     "SELECT group_id, rule, score, bank_account, account, currency, exponent, "
                     "line_ids, entry_ids, lines_minor, entries_minor, " +
                         utcColumn("created_at") + " FROM recon.proposed_matches($1, $2, $3)",
                     optionalText(accountCode), offset, limit)) {
                ReconProposal p;
                p.groupId = r[0].as<qint64>();
                p.rule = toQString(r[1]);
                p.score = r[2].as<int>();
                p.bankAccount = toQString(r[3]);
                p.account = toQString(r[4]);
                p.currency = toQString(r[5]);
                p.exponent = r[6].as<int>();
                p.lineIds = ids(r[7]);
                p.entryIds = ids(r[8]);
                p.linesMinor = r[9].as<qint64>();
                p.entriesMinor = r[10].as<qint64>();
                p.createdAt = parseUtc(r[11]);
                out.append(p);
            }
            return out;
        });
    });
}

QStringList acceptReasons(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        QStringList out;
        for (const auto &r : tx.exec("SELECT code || ': ' || description FROM "
                                     "recon.accept_reason_codes()"))
            out.append(toQString(r[0]));
        return out;
    });
}

QMap<QString, QJsonObject> csvProfiles(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        QMap<QString, QJsonObject> out;
        for (const auto &r : tx.exec("SELECT name, definition::text FROM recon.csv_profiles()"))
            out.insert(toQString(r[0]), jsonOf(r[1]));
        return out;
    });
}

QJsonObject setRules(Connection &connection, const QString &identifier, const QString &currency,
                     const QJsonObject &rules)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const QJsonObject account = jsonOf(tx.exec_params(
            "SELECT recon.set_rules($1, $2, $3::jsonb)::text", toStd(identifier), toStd(currency),
            QJsonDocument(rules).toJson(QJsonDocument::Compact).toStdString())[0][0]);
        tx.commit();
        return account;
    });
}

QList<QPair<QString, int>> slaTiers(Connection &connection)
{
    return db::guarded([&] {
        pqxx::read_transaction tx(db::native(connection));
        QList<QPair<QString, int>> out;
        for (const auto &r : tx.exec("SELECT min_amount::text, days FROM recon.sla_tier_list()"))
            out.append({toQString(r[0]), r[1].as<int>()});
        return out;
    });
}

void setSlaTiers(Connection &connection, const QList<QPair<QString, int>> &tiers)
{
    db::guarded([&] {
        // Exact decimals go as JSON numbers written from their text (never through a double).
        static const QRegularExpression decimal(QStringLiteral("^[0-9]{1,15}(\\.[0-9]{1,4})?$"));
        std::string json = "[";
        for (const auto &t : tiers) {
            if (!decimal.match(t.first).hasMatch())
                fail(Error::Kind::Input,
                     QStringLiteral("A tier's amount is a decimal number such as 1000 or 2.50, "
                                    "not \"%1\".")
                         .arg(t.first.left(40)));
            if (json.size() > 1)
                json += ',';
            json += "{\"min_amount\": " + toStd(t.first) +
                    ", \"days\": " + std::to_string(t.second) + "}";
        }
        json += "]";
        pqxx::work tx(db::native(connection));
        tx.exec_params("SELECT recon.set_sla_tiers($1::jsonb)", json);
        tx.commit();
    });
}

int saveCsvProfile(Connection &connection, const QString &name, const QJsonObject &definition)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const int version =
            tx.exec_params(
                  "SELECT recon.save_csv_profile($1, $2::jsonb)", toStd(name),
                  QJsonDocument(definition).toJson(QJsonDocument::Compact).toStdString())[0][0]
                .as<int>();
        tx.commit();
        return version;
    });
}

QList<ReconException> exceptions(Connection &connection, const ReconExceptionQuery &q)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kQueueRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            const auto rows = tx.exec_params(
                "SELECT id, type, state, assignee, account, bank_account, currency, exponent, "
                "amount_minor, difference_minor, " +
                    utcColumn("raised_at") + ", " + utcColumn("due_at") +
                    ", overdue, line_id, value_date, bank_reference, counterparty, remittance, "
                    "entry_id, transaction_id, entry_date, external_ref, statement_id, "
                    "last_event_id "
                    "FROM recon.exception_queue($1::text[], $2, $3::text[], $4, $5, $6, "
                    "$7::interval, $8, $9, $10, $11, $12)",
                typesArray(q.types), optionalText(q.account), typesArray(q.states),
                optionalText(q.assignee), bound(q.minAmountMinor), bound(q.maxAmountMinor),
                minAge(q.minAgeDays), overdueFilter(q.overdue), toStd(q.sort), q.descending,
                q.offset, q.limit);
            QList<ReconException> out;
            out.reserve(int(rows.size()));
            const auto id = [](const pqxx::field &f) { return f.is_null() ? 0 : f.as<qint64>(); };
            const auto date = [](const pqxx::field &f) {
                return f.is_null() ? QDate() : QDate::fromString(toQString(f), Qt::ISODate);
            };
            for (const auto &r : rows) {
                ReconException e;
                e.id = r[0].as<qint64>();
                e.type = toQString(r[1]);
                e.state = toQString(r[2]);
                e.assignee = toQString(r[3]);
                e.account = toQString(r[4]);
                e.bankAccount = toQString(r[5]);
                e.currency = toQString(r[6]);
                e.exponent = r[7].as<int>();
                e.amountMinor = r[8].as<qint64>();
                e.hasDifference = !r[9].is_null();
                e.differenceMinor = id(r[9]);
                e.raisedAt = parseUtc(r[10]);
                e.dueAt = parseUtc(r[11]);
                e.overdue = r[12].as<bool>();
                e.lineId = id(r[13]);
                e.valueDate = date(r[14]);
                e.bankReference = toQString(r[15]);
                e.counterparty = toQString(r[16]);
                e.remittance = toQString(r[17]);
                e.entryId = id(r[18]);
                e.transactionId = id(r[19]);
                e.entryDate = date(r[20]);
                e.externalRef = toQString(r[21]);
                e.statementId = id(r[22]);
                e.lastEventId = id(r[23]);
                out.append(e);
            }
            return out;
        });
    });
}

qint64 exceptionCount(Connection &connection, const ReconExceptionQuery &q)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kQueueRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            return tx
                .exec_params("SELECT recon.exception_count($1::text[], $2, $3::text[], $4, $5, $6, "
                             "$7::interval, $8)",
                             typesArray(q.types), optionalText(q.account), typesArray(q.states),
                             optionalText(q.assignee), bound(q.minAmountMinor),
                             bound(q.maxAmountMinor), minAge(q.minAgeDays),
                             overdueFilter(q.overdue))[0][0]
                .as<qint64>();
        });
    });
}

QList<ReconAgingBucket> aging(Connection &connection, const QString &accountCode)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kQueueRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            QList<ReconAgingBucket> out;
            for (const auto &r : tx.exec_params("SELECT type, bucket, open, overdue FROM "
                                                "recon.exception_aging($1)",
                                                optionalText(accountCode)))
                out.append(
                    {toQString(r[0]), toQString(r[1]), r[2].as<qint64>(), r[3].as<qint64>()});
            return out;
        });
    });
}

QList<ReconAccountStatus> status(Connection &connection, const QString &accountCode)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kQueueRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            const QJsonArray all =
                QJsonDocument::fromJson(
                    QByteArray::fromStdString(tx.exec_params("SELECT recon.status($1)::text",
                                                             optionalText(accountCode))[0][0]
                                                  .as<std::string>()))
                    .array();
            QList<ReconAccountStatus> out;
            for (const auto &v : all) {
                const QJsonObject o = v.toObject();
                ReconAccountStatus s;
                s.bankAccount = o.value(QLatin1String("bank_account")).toString();
                s.currency = o.value(QLatin1String("currency")).toString();
                s.account = o.value(QLatin1String("account")).toString();
                s.statements = o.value(QLatin1String("statements")).toInteger();
                s.lines = o.value(QLatin1String("lines")).toInteger();
                s.matchedLines = o.value(QLatin1String("matched_lines")).toInteger();
                s.proposedLines = o.value(QLatin1String("proposed_lines")).toInteger();
                const QJsonObject last = o.value(QLatin1String("last_statement")).toObject();
                s.hasLastStatement = !last.isEmpty();
                s.lastStatementId = last.value(QLatin1String("statement_id")).toString();
                s.lastClosingDate = QDate::fromString(
                    last.value(QLatin1String("closing_date")).toString(), Qt::ISODate);
                s.lastClosing = last.value(QLatin1String("closing")).toString();
                s.ledgerAtClosing = last.value(QLatin1String("ledger")).toString();
                s.agrees = last.value(QLatin1String("agrees")).toBool();
                s.lastAgreement = QDate::fromString(
                    o.value(QLatin1String("last_agreement")).toString(), Qt::ISODate);
                const QJsonObject open = o.value(QLatin1String("open_exceptions")).toObject();
                for (auto it = open.begin(); it != open.end(); ++it)
                    s.openExceptions.insert(it.key(), it.value().toInteger());
                s.overdueExceptions = o.value(QLatin1String("overdue_exceptions")).toInteger();
                s.exponent = o.value(QLatin1String("exponent")).toInt(2);
                s.amountToleranceMinor =
                    o.value(QLatin1String("amount_tolerance_minor")).toInteger();
                s.amountToleranceBp = o.value(QLatin1String("amount_tolerance_bp")).toInt();
                s.dateWindowDays = o.value(QLatin1String("date_window_days")).toInt();
                out.append(s);
            }
            return out;
        });
    });
}

} // namespace ledger::ReconRepository
