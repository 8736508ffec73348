#include "StatementCsvWriter.h"

#include "StatementFormat.h"
#include "domain/Money.h"
#include "domain/Statement.h"

#include <QCoreApplication>
#include <QIODevice>

namespace ledger {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("ledger::StatementCsvWriter", text);
}

// One record at a time into a buffer; the device gets large blocks.
class CsvOutput
{
public:
    explicit CsvOutput(QIODevice *device)
        : m_device(device)
    {}

    // A field a person or a client wrote: quoted when needed, formulas neutralised.
    void text(const QString &value)
    {
        if (!value.isEmpty()) {
            const QChar first = value.front();
            if (first == QLatin1Char('=') || first == QLatin1Char('+') ||
                first == QLatin1Char('-') || first == QLatin1Char('@') ||
                first == QLatin1Char('\t') || first == QLatin1Char('\r')) {
                quoted(QLatin1Char('\'') + value);
                return;
            }
        }
        quoted(value);
    }

    // A field the writer generated (numbers, times, fixed words): no formula can start it.
    void generated(const QString &value) { quoted(value); }

    void endRecord()
    {
        m_buffer.append("\r\n");
        m_first = true;
        if (m_buffer.size() >= qsizetype(64) * 1024)
            flush();
    }

    bool flush()
    {
        if (m_failed)
            return false;
        if (!m_buffer.isEmpty()) {
            if (m_device->write(m_buffer) != m_buffer.size())
                m_failed = true;
            m_buffer.clear();
        }
        return !m_failed;
    }

    bool failed() const { return m_failed; }

private:
    void quoted(const QString &value)
    {
        if (!m_first)
            m_buffer.append(',');
        m_first = false;
        const bool needsQuotes =
            value.contains(QLatin1Char('"')) || value.contains(QLatin1Char(',')) ||
            value.contains(QLatin1Char('\r')) || value.contains(QLatin1Char('\n'));
        if (!needsQuotes) {
            m_buffer.append(value.toUtf8());
            return;
        }
        QString escaped = value;
        escaped.replace(QLatin1Char('"'), QStringLiteral("\"\""));
        m_buffer.append('"');
        m_buffer.append(escaped.toUtf8());
        m_buffer.append('"');
    }

    QIODevice *m_device;
    QByteArray m_buffer;
    bool m_first = true;
    bool m_failed = false;
};

} // namespace

Status StatementCsvWriter::write(const Statement &statement, QIODevice *device) const
{
    if (!device || !device->isWritable()) {
        return Error::make(Error::Kind::Io,
                           tr("The statement could not be written: the output is not open "
                              "for writing."));
    }
    StatementFormat::IsoTimeFormatter times(StatementFormat::displayZone(statement));
    const int exponent = statement.exponent;
    auto amount = [exponent](qint64 minor) { return StatementFormat::magnitude(minor, exponent); };
    auto signedAmount = [exponent](qint64 minor) { return Money::formatMinor(minor, exponent); };

    CsvOutput out(device);
    const char *const header[] = {"Type",       "Account",     "Currency", "Booking time",
                                  "Value time", "Transaction", "Entry",    "Description",
                                  "Reference",  "Debit",       "Credit",   "Balance"};
    for (const char *name : header)
        out.generated(QString::fromLatin1(name));
    out.endRecord();

    auto summaryRow = [&](const QString &type, const QDateTime &at, const QString &description,
                          const QString &debit, const QString &credit, qint64 balance) {
        out.generated(type);
        out.text(statement.accountCode);
        out.text(statement.currency);
        out.generated(times.isoTime(at));
        out.generated(times.isoTime(at));
        out.generated({});
        out.generated({});
        out.generated(description);
        out.generated({});
        out.generated(debit);
        out.generated(credit);
        out.generated(signedAmount(balance));
        out.endRecord();
    };

    summaryRow(QStringLiteral("opening"), statement.from, QStringLiteral("Opening balance"), {}, {},
               statement.openingMinor);
    for (const StatementLine &line : statement.lines) {
        out.generated(QStringLiteral("entry"));
        out.text(statement.accountCode);
        out.text(statement.currency);
        out.generated(times.isoTime(line.bookedAt));
        out.generated(times.isoTime(line.valueAt));
        out.generated(QString::number(line.transactionId));
        out.generated(QString::number(line.entryId));
        out.text(line.description);
        out.text(line.reference);
        out.generated(line.amountMinor < 0 ? amount(line.amountMinor) : QString());
        out.generated(line.amountMinor >= 0 ? amount(line.amountMinor) : QString());
        out.generated(signedAmount(line.balanceMinor));
        out.endRecord();
        if (out.failed())
            break;
    }
    summaryRow(QStringLiteral("closing"), statement.to, QStringLiteral("Closing balance"),
               amount(statement.debitsMinor), amount(statement.creditsMinor),
               statement.closingMinor);
    // The issue, when the statement was issued: it binds the file to its record (two issues
    // of the same data are different files) and tells a reader how to verify it.
    if (!statement.reference.isEmpty()) {
        out.generated(QStringLiteral("issue"));
        out.text(statement.accountCode);
        out.text(statement.currency);
        out.generated(times.isoTime(statement.issuedAt));
        out.generated(times.isoTime(statement.knownAt));
        out.generated(QString::number(statement.sequenceNumber));
        out.generated({});
        out.text(QStringLiteral("Statement no. %1, as the ledger knew it at the value time; "
                                "issued by %2 at the booking time")
                     .arg(statement.sequenceNumber)
                     .arg(statement.issuedBy));
        out.text(statement.reference);
        out.generated({});
        out.generated({});
        out.generated({});
        out.endRecord();
    }

    if (!out.flush()) {
        return Error::make(
            Error::Kind::Io,
            tr("The statement could not be written completely: %1").arg(device->errorString()),
            device->errorString());
    }
    return Status::success();
}

} // namespace ledger
