#include "StatementRepository.h"

#include "Connection.h"
#include "DbException.h"
#include "Native.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace ledger::StatementRepository {

namespace {

using db::parseUtc;
using db::toQString;
using db::toStd;
using db::utcColumn;

std::string iso(const QDateTime &t)
{
    return toStd(t.toUTC().toString(Qt::ISODateWithMs));
}

std::optional<std::string> knownAtOrNow(const Request &r)
{
    return r.knownAt.isValid() ? std::optional(iso(r.knownAt)) : std::nullopt;
}

// A statement's header and lines are a read of its account; the lists of statements, a
// read of the ledger (0033_more_reads_on_record.sql). On record before they are served.
db::ReadKey statementRead(const Request &request)
{
    return {"statement", toStd(request.accountCode)};
}
const db::ReadKey kListRead{"statement_list", ""};

// The header and lines of the statement, on the caller's transaction.
Statement loadOn(pqxx::transaction_base &tx, const Request &request, const std::string &knownAt)
{
    const auto h = tx.exec_params(
        "SELECT account_code, account_name, account_kind, currency, exponent, opening_minor, "
        "closing_minor, credits_minor, debits_minor FROM ledger.statement_header($1, "
        "$2::timestamptz, $3::timestamptz, $4::timestamptz)",
        toStd(request.accountCode), iso(request.from), iso(request.to), knownAt);
    Statement s;
    s.accountCode = toQString(h[0][0]);
    s.accountName = toQString(h[0][1]);
    s.accountKind = toQString(h[0][2]);
    s.currency = toQString(h[0][3]);
    s.exponent = h[0][4].as<int>();
    s.openingMinor = h[0][5].as<qint64>();
    s.closingMinor = h[0][6].as<qint64>();
    s.creditsMinor = h[0][7].as<qint64>();
    s.debitsMinor = h[0][8].as<qint64>();
    s.from = request.from.toUTC();
    s.to = request.to.toUTC();
    s.timeZone = request.timeZone.isEmpty() ? QStringLiteral("UTC") : request.timeZone;
    s.knownAt = QDateTime::fromString(QString::fromStdString(knownAt), Qt::ISODateWithMs).toUTC();
    const auto rows = tx.exec_params(
        "SELECT entry_id, transaction_id, account_seq, " + utcColumn("booked_at") + ", " +
            utcColumn("value_at") +
            ", description, reference, kind, reverses, amount_minor, balance_minor "
            "FROM ledger.statement_lines($1, $2::timestamptz, $3::timestamptz, $4::timestamptz)",
        toStd(request.accountCode), iso(request.from), iso(request.to), knownAt);
    s.lines.reserve(int(rows.size()));
    for (const auto &r : rows) {
        StatementLine l;
        l.entryId = r[0].as<qint64>();
        l.transactionId = r[1].as<qint64>();
        l.accountSeq = r[2].as<qint64>();
        l.bookedAt = parseUtc(r[3]);
        l.valueAt = parseUtc(r[4]);
        l.description = toQString(r[5]);
        l.reference = toQString(r[6]);
        l.kind = toQString(r[7]);
        l.reverses = r[8].is_null() ? 0 : r[8].as<qint64>();
        l.amountMinor = r[9].as<qint64>();
        l.balanceMinor = r[10].as<qint64>();
        s.lines.append(l);
    }
    return s;
}

// The known-at time as the server reads it: the given one, or its clock now (to the
// millisecond, the precision the console keeps).
std::string resolveKnownAt(pqxx::transaction_base &tx, const Request &request)
{
    return tx
        .exec_params("SELECT " + utcColumn("coalesce($1::timestamptz, "
                                           "date_trunc('milliseconds', clock_timestamp()))"),
                     knownAtOrNow(request))[0][0]
        .as<std::string>();
}

StatementRecord recordFrom(const QJsonObject &o)
{
    const auto time = [&](const char *key) {
        return QDateTime::fromString(o.value(QLatin1String(key)).toString(), Qt::ISODateWithMs)
            .toUTC();
    };
    StatementRecord r;
    r.reference = o.value(QLatin1String("reference")).toString();
    r.accountCode = o.value(QLatin1String("account")).toString();
    r.accountName = o.value(QLatin1String("account_name")).toString();
    r.currency = o.value(QLatin1String("currency")).toString();
    r.sequenceNumber = o.value(QLatin1String("sequence_number")).toInteger();
    r.from = time("from");
    r.to = time("to");
    r.timeZone = o.value(QLatin1String("time_zone")).toString();
    r.knownAt = time("known_at");
    r.format = o.value(QLatin1String("format")).toString();
    r.formatVersion = o.value(QLatin1String("format_version")).toString();
    r.contentDigest = o.value(QLatin1String("content_digest")).toString();
    r.fileSha256 = o.value(QLatin1String("file_sha256")).toString();
    r.fileBytes = o.value(QLatin1String("file_bytes")).toInteger();
    r.openingMinor = o.value(QLatin1String("opening_minor")).toInteger();
    r.closingMinor = o.value(QLatin1String("closing_minor")).toInteger();
    r.lineCount = o.value(QLatin1String("lines")).toInteger();
    r.issuedBy = o.value(QLatin1String("issued_by")).toString();
    r.issuedAt = time("issued_at");
    return r;
}

std::optional<StatementRecord> find(Connection &connection, const char *function,
                                    const QString &key)
{
    return db::guarded([&]() -> std::optional<StatementRecord> {
        return db::onRecord(connection, {kListRead}, [&]() -> std::optional<StatementRecord> {
            pqxx::work tx(db::native(connection)); // the verification is audited
            const auto r =
                tx.exec_params(std::string("SELECT ledger.") + function + "($1)::text", toStd(key));
            tx.commit();
            if (r[0][0].is_null())
                return std::nullopt;
            return recordFrom(
                QJsonDocument::fromJson(QByteArray(r[0][0].c_str(), int(r[0][0].size()))).object());
        });
    });
}

} // namespace

Statement load(Connection &connection, const Request &request)
{
    return db::guarded([&] {
        return db::onRecord(connection, {statementRead(request)}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            return loadOn(tx, request, resolveKnownAt(tx, request));
        });
    });
}

StatementRecord issue(Connection &connection, const Request &request, const IssueOptions &options,
                      const std::function<Result<Written>(const Statement &)> &write)
{
    return db::guarded([&] {
        return db::onRecord(connection, {statementRead(request)}, [&] {
            pqxx::work tx(db::native(connection));
            const std::string knownAt = resolveKnownAt(tx, request);
            const auto b = tx.exec_params(
                "SELECT sequence_number, reference, " + utcColumn("issued_at") +
                    ", issued_by, reissue FROM ledger.begin_statement_issue($1, $2::timestamptz, "
                    "$3::timestamptz, $4::timestamptz, $5, $6, $7)",
                toStd(request.accountCode), iso(request.from), iso(request.to), knownAt,
                toStd(request.timeZone.isEmpty() ? QStringLiteral("UTC") : request.timeZone),
                toStd(options.format),
                options.formatVersion.isEmpty() ? std::nullopt
                                                : std::optional(toStd(options.formatVersion)));
            Statement s = loadOn(tx, request, knownAt);
            s.sequenceNumber = b[0][0].as<qint64>();
            s.reference = toQString(b[0][1]);
            s.issuedAt = parseUtc(b[0][2]);
            s.issuedBy = toQString(b[0][3]);
            const bool reissue = b[0][4].as<bool>();
            s.institution = options.institution.trimmed().isEmpty()
                                ? toQString(tx.exec("SELECT ledger.statement_institution()")[0][0])
                                : options.institution;
            s.messageId = QStringLiteral("%1-%2").arg(s.reference).arg(s.sequenceNumber);
            const QString digest = options.contentDigest ? options.contentDigest(s) : QString();
            const Result<Written> written = write(s);
            if (!written)
                throw DbException(written.error()); // rolled back: no number, no record
            const Written &w = written.value();
            try {
                tx.exec_params("SELECT ledger.record_statement_issue($1, $2::timestamptz, "
                               "$3::timestamptz, $4, $5::timestamptz, $6, $7, $8, $9, "
                               "$10::timestamptz, $11, $12, $13)",
                               toStd(request.accountCode), iso(request.from), iso(request.to),
                               toStd(s.timeZone), knownAt, toStd(options.format),
                               options.formatVersion.isEmpty()
                                   ? std::nullopt
                                   : std::optional(toStd(options.formatVersion)),
                               s.sequenceNumber, toStd(s.reference), iso(s.issuedAt), toStd(digest),
                               toStd(w.file.sha256), w.file.bytes);
                if (w.commit) {
                    if (const Status renamed = w.commit(); !renamed)
                        throw DbException(renamed.error());
                }
                tx.commit();
            } catch (...) {
                if (w.discard)
                    w.discard();
                throw;
            }
            StatementRecord r;
            r.reference = s.reference;
            r.accountCode = s.accountCode;
            r.accountName = s.accountName;
            r.currency = s.currency;
            r.exponent = s.exponent;
            r.sequenceNumber = s.sequenceNumber;
            r.from = s.from;
            r.to = s.to;
            r.timeZone = s.timeZone;
            r.knownAt = s.knownAt;
            r.format = options.format;
            r.formatVersion = options.formatVersion;
            r.contentDigest = digest;
            r.fileSha256 = w.file.sha256;
            r.fileBytes = w.file.bytes;
            r.openingMinor = s.openingMinor;
            r.closingMinor = s.closingMinor;
            r.lineCount = s.lines.size();
            r.issuedBy = s.issuedBy;
            r.issuedAt = s.issuedAt;
            r.reissued = reissue;
            return r;
        });
    });
}

std::optional<StatementRecord> findByFile(Connection &connection, const QString &sha256)
{
    return find(connection, "verify_statement_file", sha256);
}

std::optional<StatementRecord> findByReference(Connection &connection, const QString &reference)
{
    return find(connection, "verify_statement_reference", reference);
}

QList<Restatement> restated(Connection &connection, const std::optional<QDateTime> &since)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kListRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            QList<Restatement> out;
            const auto rows = tx.exec_params(
                "SELECT statement_id, reference, account, " + utcColumn("period_from") + ", " +
                    utcColumn("period_to") + ", " + utcColumn("known_at") + ", " +
                    utcColumn("issued_at") +
                    ", opening_difference, closing_difference, array_to_string(late_entries, ',') "
                    "FROM ledger.restated_statements($1::timestamptz)",
                since ? std::optional(iso(*since)) : std::nullopt);
            for (const auto &row : rows) {
                Restatement r;
                r.statementId = row[0].as<qint64>();
                r.reference = toQString(row[1]);
                r.accountCode = toQString(row[2]);
                r.from = parseUtc(row[3]);
                r.to = parseUtc(row[4]);
                r.knownAt = parseUtc(row[5]);
                r.issuedAt = parseUtc(row[6]);
                r.openingDifference = row[7].as<qint64>();
                r.closingDifference = row[8].as<qint64>();
                for (const QString &id :
                     toQString(row[9]).split(QLatin1Char(','), Qt::SkipEmptyParts))
                    r.lateEntries.append(id.toLongLong());
                out.append(r);
            }
            return out;
        });
    });
}

int recordRestatements(Connection &connection)
{
    return db::guarded([&] {
        pqxx::work tx(db::native(connection));
        const int n = tx.exec("SELECT ledger.record_restatements()")[0][0].as<int>();
        tx.commit();
        return n;
    });
}

QList<IssuedStatement> issued(Connection &connection, const IssuedStatementQuery &query)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kListRead}, [&] {
            pqxx::work tx(db::native(connection)); // the listing is audited
            const auto rows = tx.exec_params(
                "SELECT statement_id, record::text, exponent, copies, opening_difference, "
                "closing_difference, array_to_string(late_entries, ','), " +
                    utcColumn("restatement_recorded_at") +
                    " FROM ledger.issued_statements($1, $2, $3, $4)",
                query.accountCode.isEmpty() ? std::nullopt
                                            : std::optional(toStd(query.accountCode)),
                query.restatedOnly,
                query.beforeId > 0 ? std::optional(query.beforeId) : std::nullopt, query.limit);
            tx.commit();
            QList<IssuedStatement> out;
            out.reserve(int(rows.size()));
            for (const auto &row : rows) {
                IssuedStatement s;
                s.id = row[0].as<qint64>();
                s.record = recordFrom(
                    QJsonDocument::fromJson(QByteArray(row[1].c_str(), int(row[1].size())))
                        .object());
                s.record.exponent = row[2].as<int>();
                s.copies = row[3].as<qint64>();
                s.restated = !row[4].is_null();
                if (s.restated) {
                    s.openingDifference = row[4].as<qint64>();
                    s.closingDifference = row[5].as<qint64>();
                    for (const QString &id :
                         toQString(row[6]).split(QLatin1Char(','), Qt::SkipEmptyParts))
                        s.lateEntries.append(id.toLongLong());
                }
                if (!row[7].is_null())
                    s.restatementRecordedAt = parseUtc(row[7]);
                out.append(s);
            }
            return out;
        });
    });
}

BatchSelection batchAccounts(Connection &connection, const QString &kind, const QString &currency)
{
    return db::guarded([&] {
        return db::onRecord(connection, {kListRead}, [&] {
            pqxx::read_transaction tx(db::native(connection));
            const auto rows =
                tx.exec_params("SELECT code FROM ledger.statement_batch_accounts($1, $2) AS code",
                               kind.isEmpty() ? std::nullopt : std::optional(toStd(kind)),
                               currency.isEmpty() ? std::nullopt : std::optional(toStd(currency)));
            BatchSelection out;
            out.accounts.reserve(int(rows.size()));
            for (const auto &row : rows)
                out.accounts.append(toQString(row[0]));
            out.serverNow = parseUtc(tx.exec(
                "SELECT " + utcColumn("date_trunc('milliseconds', clock_timestamp())"))[0][0]);
            return out;
        });
    });
}

} // namespace ledger::StatementRepository
