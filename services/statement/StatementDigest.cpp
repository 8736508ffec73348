#include "StatementDigest.h"

#include "audit/Sha256.h"
#include "domain/Statement.h"

namespace ledger {

namespace {

// Writes the fields of the canonical encoding (see the header) to a sink: a QByteArray for
// canonicalEncoding(), the hash for hex().
template <class Sink> class Encoder
{
public:
    explicit Encoder(Sink &sink)
        : m_sink(sink)
    {}

    void bytes(const QByteArray &value)
    {
        m_sink.add(QByteArray::number(value.size()));
        m_sink.add(QByteArrayLiteral(":"));
        m_sink.add(value);
        m_sink.add(QByteArrayLiteral(","));
    }
    void text(const QString &value) { bytes(value.toUtf8()); }
    void integer(qint64 value) { bytes(QByteArray::number(value)); }
    void time(const QDateTime &value)
    {
        if (!value.isValid()) {
            bytes({});
            return;
        }
        // QDateTime holds milliseconds; the encoding has room for the database's microseconds.
        bytes(value.toUTC().toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss.zzz")).toLatin1() +
              QByteArrayLiteral("000Z"));
    }

    void statement(const Statement &s)
    {
        bytes(QByteArrayLiteral("ledger.statement.v1"));
        text(s.accountCode);
        text(s.currency);
        integer(s.exponent);
        time(s.from);
        time(s.to);
        text(s.timeZone);
        time(s.knownAt);
        integer(s.openingMinor);
        integer(s.closingMinor);
        integer(s.creditsMinor);
        integer(s.debitsMinor);
        integer(s.lines.size());
        for (const StatementLine &line : s.lines) {
            integer(line.entryId);
            integer(line.transactionId);
            time(line.bookedAt);
            time(line.valueAt);
            integer(line.amountMinor);
            integer(line.balanceMinor);
            text(line.reference);
            text(line.description);
            text(line.kind);
            integer(line.reverses);
        }
    }

private:
    Sink &m_sink;
};

struct ByteSink
{
    QByteArray out;
    void add(const QByteArray &data) { out.append(data); }
};

// Collects small fields and hands the hash large blocks (one call per field costs more
// than the hashing itself on long statements).
struct HashSink
{
    Sha256 hash;
    QByteArray pending;
    void add(const QByteArray &data)
    {
        pending.append(data);
        if (pending.size() >= qsizetype(64) * 1024)
            flush();
    }
    void flush()
    {
        hash.add(pending);
        pending.clear();
    }
};

} // namespace

QByteArray StatementDigest::canonicalEncoding(const Statement &statement)
{
    ByteSink sink;
    Encoder<ByteSink>(sink).statement(statement);
    return sink.out;
}

QString StatementDigest::hex(const Statement &statement)
{
    HashSink sink;
    Encoder<HashSink>(sink).statement(statement);
    sink.flush();
    return QString::fromLatin1(sink.hash.result().toHex());
}

} // namespace ledger
