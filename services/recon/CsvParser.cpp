#include "recon/CsvParser.h"

#include "recon/BankText.h"

#include <QHash>

namespace ledger::recon {

namespace {

constexpr qsizetype kMaxRecordChars = qsizetype(64) * 1024;

// A QDate format compiled once: numeric day, month and year fields between literal
// separators; anything else falls back to QDate::fromString.
class DateFormat
{
public:
    explicit DateFormat(const QString &format)
        : m_format(format)
    {
        for (qsizetype i = 0; i < format.size();) {
            const QChar c = format[i];
            qsizetype run = 1;
            while (i + run < format.size() && format[i + run] == c)
                ++run;
            if (c == u'y' && (run == 4 || run == 2)) {
                m_parts.append(Part{run == 4 ? Part::Year4 : Part::Year2, {}});
            } else if (c == u'M' && run <= 2) {
                m_parts.append(Part{run == 2 ? Part::Month2 : Part::Month, {}});
            } else if (c == u'd' && run <= 2) {
                m_parts.append(Part{run == 2 ? Part::Day2 : Part::Day, {}});
            } else if (c.isLetter() || c == u'\'') {
                m_fallback = true;
                break;
            } else {
                m_parts.append(Part{Part::Literal, QString(run, c)});
            }
            i += run;
        }
    }

    QDate parse(QStringView text) const
    {
        if (m_fallback)
            return QDate::fromString(text.toString(), m_format);
        int y = -1, m = -1, d = -1;
        qsizetype i = 0;
        for (const Part &part : m_parts) {
            if (part.kind == Part::Literal) {
                if (!text.sliced(i).startsWith(part.literal))
                    return {};
                i += part.literal.size();
                continue;
            }
            const int fixed = part.kind == Part::Year4                               ? 4
                              : (part.kind == Part::Month || part.kind == Part::Day) ? 0
                                                                                     : 2;
            int value = 0;
            qsizetype digits = 0;
            const qsizetype maxDigits = fixed > 0 ? fixed : 2;
            while (digits < maxDigits && i < text.size() && text[i].isDigit() &&
                   text[i].unicode() < 128) {
                value = value * 10 + (text[i].unicode() - u'0');
                ++i;
                ++digits;
            }
            if (digits == 0 || (fixed > 0 && digits != fixed))
                return {};
            switch (part.kind) {
            case Part::Year4:
                y = value;
                break;
            case Part::Year2:
                y = value < 70 ? 2000 + value : 1900 + value;
                break;
            case Part::Month:
            case Part::Month2:
                m = value;
                break;
            default:
                d = value;
                break;
            }
        }
        if (i != text.size() || y < 0 || m < 0 || d < 0)
            return {};
        return QDate(y, m, d);
    }

private:
    struct Part
    {
        enum Kind { Literal, Year4, Year2, Month, Month2, Day, Day2 } kind;
        QString literal;
    };
    QString m_format;
    QList<Part> m_parts;
    bool m_fallback = false;
};

// Splits records into fields line by line, so that a quoted field over many lines costs
// no more than its length (no re-reading of the record so far).
class RecordSplitter
{
public:
    RecordSplitter(QChar delimiter, QChar quote)
        : m_delimiter(delimiter)
        , m_quote(quote)
    {}

    void start()
    {
        fields.clear();
        m_field.clear();
        m_quoted = m_wasQuoted = m_hasText = false;
        chars = 0;
    }

    // One more line of the record; true when the record is complete, false when a quoted
    // field goes on to the next line.
    bool feed(QStringView line)
    {
        chars += line.size() + 1;
        for (qsizetype i = 0; i < line.size(); ++i) {
            const QChar c = line[i];
            if (m_quoted) {
                if (c == m_quote) {
                    if (i + 1 < line.size() && line[i + 1] == m_quote) {
                        m_field += m_quote;
                        ++i;
                    } else {
                        m_quoted = false;
                    }
                } else {
                    m_field += c;
                }
            } else if (c == m_delimiter) {
                endField();
            } else if (c == m_quote && !m_hasText) {
                m_field.clear();
                m_quoted = m_wasQuoted = m_hasText = true;
            } else {
                m_field += c;
                if (!c.isSpace())
                    m_hasText = true;
            }
        }
        if (m_quoted) {
            m_field += u'\n';
            return false;
        }
        endField();
        return true;
    }

    QList<QString> fields;
    qsizetype chars = 0;

private:
    void endField()
    {
        fields.append(m_wasQuoted ? m_field : m_field.trimmed());
        m_field.clear();
        m_wasQuoted = m_hasText = false;
    }

    QChar m_delimiter;
    QChar m_quote;
    QString m_field;
    bool m_quoted = false;
    bool m_wasQuoted = false;
    bool m_hasText = false;
};

class CsvReader
{
public:
    CsvReader(const QByteArray &bytes, const CsvProfile &profile)
        : m_bytes(bytes)
        , m_profile(profile)
        , m_date(profile.dateFormat)
    {}
    Result<BankFile> read();

private:
    Error fail(qint64 line, const QString &what) const
    {
        return Error::make(Error::Kind::Input, QStringLiteral("line %1: %2").arg(line).arg(what));
    }
    // The index of a profile column, -1 when the profile leaves it empty.
    std::optional<Error> resolve(const QString &column, const char *field, qint64 line, int *index);
    std::optional<Error> amountOf(const QString &text, const char *what, qint64 line,
                                  BankAmount *out);

    const QByteArray &m_bytes;
    const CsvProfile &m_profile;
    DateFormat m_date;
    QList<QString> m_header;
};

std::optional<Error> CsvReader::resolve(const QString &column, const char *field, qint64 line,
                                        int *index)
{
    *index = -1;
    if (column.isEmpty())
        return std::nullopt;
    if (m_profile.headerRows == 0) {
        bool ok = false;
        const int number = column.toInt(&ok);
        if (!ok || number < 1 || number > m_header.size())
            return fail(line, QStringLiteral("the profile's %1 \"%2\" is not a column number "
                                             "from 1 to %3")
                                  .arg(QLatin1StringView(field), column)
                                  .arg(m_header.size()));
        *index = number - 1;
        return std::nullopt;
    }
    *index = int(m_header.indexOf(column.trimmed()));
    if (*index < 0)
        return fail(line, QStringLiteral("the header has no column \"%1\" (the profile's %2)")
                              .arg(column, QLatin1StringView(field)));
    return std::nullopt;
}

std::optional<Error> CsvReader::amountOf(const QString &text, const char *what, qint64 line,
                                         BankAmount *out)
{
    QString why;
    const QChar point = m_profile.decimalComma ? u',' : u'.';
    const QChar thousands = m_profile.decimalComma ? u'.' : u',';
    const auto amount = parseDecimal(text, point, thousands, true, &why);
    if (!amount)
        return fail(line, QStringLiteral("%1 \"%2\" is not an amount (%3)")
                              .arg(QLatin1StringView(what), text.left(40), why));
    *out = *amount;
    return std::nullopt;
}

Result<BankFile> CsvReader::read()
{
    std::optional<TextEncoding> forced;
    if (m_profile.encoding.compare(u"auto", Qt::CaseInsensitive) != 0) {
        forced = encodingByName(m_profile.encoding);
        if (!forced)
            return Error::make(Error::Kind::Input,
                               QStringLiteral("the profile's encoding \"%1\" is not UTF-8, "
                                              "windows-1252, ISO-8859-1 or auto")
                                   .arg(m_profile.encoding));
    }
    const TextBytes text = prepareText(m_bytes, forced);
    BankFile file;
    file.format = QStringLiteral("csv");
    file.encoding = encodingName(text.encoding);

    LineSplitter lines(text.bytes);
    QByteArrayView raw;
    RecordSplitter splitter(m_profile.delimiter, m_profile.quote);
    int rowsSeen = 0;
    int amountCol = -1, debitCol = -1, creditCol = -1, currencyCol = -1, bookingCol = -1,
        valueCol = -1, referenceCol = -1, e2eCol = -1, nameCol = -1, accountNoCol = -1,
        remittanceCol = -1, accountCol = -1;
    bool resolved = false;
    QHash<QString, qsizetype> statementOf;

    while (lines.next(&raw)) {
        const qint64 number = lines.lineNumber();
        if (number > BankFileParser::kMaxLines)
            return fail(number,
                        QStringLiteral("more than %1 lines").arg(BankFileParser::kMaxLines));
        splitter.start();
        bool blank = true;
        for (;;) {
            const QString part = decode(raw, text.encoding);
            if (blank && !part.trimmed().isEmpty())
                blank = false;
            if (splitter.feed(part))
                break;
            if (splitter.chars > kMaxRecordChars)
                return fail(number, QStringLiteral("a record longer than %1 characters (a quote "
                                                   "that is never closed?)")
                                        .arg(kMaxRecordChars));
            if (!lines.next(&raw))
                return fail(number, QStringLiteral("a quoted field that is never closed"));
        }
        const QList<QString> &fields = splitter.fields;
        if (rowsSeen < m_profile.headerRows) {
            ++rowsSeen;
            if (rowsSeen == m_profile.headerRows)
                m_header = fields;
            continue;
        }
        if (blank)
            continue;
        if (!resolved) {
            if (m_profile.headerRows == 0) {
                m_header.clear();
                for (qsizetype i = 1; i <= fields.size(); ++i)
                    m_header.append(QString::number(i));
            }
            const std::pair<const QString *, const char *> columns[] = {
                {&m_profile.amountColumn, "amountColumn"},
                {&m_profile.debitColumn, "debitColumn"},
                {&m_profile.creditColumn, "creditColumn"},
                {&m_profile.currencyColumn, "currencyColumn"},
                {&m_profile.bookingDateColumn, "bookingDateColumn"},
                {&m_profile.valueDateColumn, "valueDateColumn"},
                {&m_profile.referenceColumn, "referenceColumn"},
                {&m_profile.endToEndColumn, "endToEndColumn"},
                {&m_profile.counterpartyNameColumn, "counterpartyNameColumn"},
                {&m_profile.counterpartyAccountColumn, "counterpartyAccountColumn"},
                {&m_profile.remittanceColumn, "remittanceColumn"},
                {&m_profile.accountColumn, "accountColumn"}};
            int *indexes[] = {&amountCol,  &debitCol,     &creditCol,     &currencyCol,
                              &bookingCol, &valueCol,     &referenceCol,  &e2eCol,
                              &nameCol,    &accountNoCol, &remittanceCol, &accountCol};
            const qint64 headerLine = m_profile.headerRows == 0 ? number : number - 1;
            for (int k = 0; k < 12; ++k) {
                if (auto error =
                        resolve(*columns[k].first, columns[k].second, headerLine, indexes[k]))
                    return *error;
            }
            if (bookingCol < 0)
                return fail(headerLine, QStringLiteral("the profile names no booking date column"));
            if (amountCol < 0 && (debitCol < 0 || creditCol < 0))
                return fail(headerLine, QStringLiteral("the profile names neither an amount column "
                                                       "nor debit and credit columns"));
            resolved = true;
        }
        if (fields.size() != m_header.size())
            return fail(number, QStringLiteral("%1 columns where the header has %2")
                                    .arg(fields.size())
                                    .arg(m_header.size()));

        BankLine line;
        line.status = QStringLiteral("BOOK");
        line.sourceLocation = QStringLiteral("line %1").arg(number);
        if (amountCol >= 0) {
            if (auto error = amountOf(fields[amountCol], "amount", number, &line.amount))
                return *error;
            if (!m_profile.debitIsNegative)
                line.amount.units = -line.amount.units;
        } else {
            BankAmount debit, credit;
            const QString &d = fields[debitCol];
            const QString &c = fields[creditCol];
            if (!d.isEmpty())
                if (auto error = amountOf(d, "debit", number, &debit))
                    return *error;
            if (!c.isEmpty())
                if (auto error = amountOf(c, "credit", number, &credit))
                    return *error;
            if (debit.units != 0 && credit.units != 0)
                return fail(number,
                            QStringLiteral("both a debit (%1) and a credit (%2)").arg(d, c));
            if (d.isEmpty() && c.isEmpty())
                return fail(number, QStringLiteral("neither a debit nor a credit amount"));
            if (debit.units != 0 || c.isEmpty()) {
                line.amount = debit;
                if (line.amount.units > 0)
                    line.amount.units = -line.amount.units;
            } else {
                line.amount = credit;
                if (line.amount.units < 0)
                    line.amount.units = -line.amount.units;
            }
        }
        line.currency = currencyCol >= 0 ? fields[currencyCol] : m_profile.currency;
        line.bookingDate = m_date.parse(fields[bookingCol]);
        if (!line.bookingDate.isValid())
            return fail(number, QStringLiteral("booking date \"%1\" is not a date (%2)")
                                    .arg(fields[bookingCol].left(40), m_profile.dateFormat));
        if (valueCol >= 0 && !fields[valueCol].isEmpty()) {
            line.valueDate = m_date.parse(fields[valueCol]);
            if (!line.valueDate.isValid())
                return fail(number, QStringLiteral("value date \"%1\" is not a date (%2)")
                                        .arg(fields[valueCol].left(40), m_profile.dateFormat));
        } else {
            line.valueDate = line.bookingDate;
        }
        if (referenceCol >= 0)
            line.bankReference = fields[referenceCol];
        if (e2eCol >= 0)
            line.endToEndId = fields[e2eCol];
        if (nameCol >= 0)
            line.counterpartyName = fields[nameCol];
        if (accountNoCol >= 0)
            line.counterpartyAccount = fields[accountNoCol];
        if (remittanceCol >= 0)
            line.remittance = fields[remittanceCol];

        const QString account = accountCol >= 0 ? fields[accountCol] : m_profile.account;
        auto found = statementOf.constFind(account);
        if (found == statementOf.constEnd()) {
            BankStatement statement;
            statement.format = QStringLiteral("csv");
            if (isIban(account))
                statement.iban = account;
            else
                statement.accountNumber = account;
            statement.currency = m_profile.currency.isEmpty() ? line.currency : m_profile.currency;
            statement.sourceLocation = line.sourceLocation;
            file.statements.append(std::move(statement));
            found = statementOf.insert(account, file.statements.size() - 1);
        }
        file.statements[*found].lines.append(std::move(line));
    }
    if (!resolved && m_profile.headerRows > 0 && rowsSeen < m_profile.headerRows)
        return fail(lines.lineNumber(),
                    QStringLiteral("the file ends before its header (%1 row(s))")
                        .arg(m_profile.headerRows));
    return file;
}

} // namespace

Result<BankFile> parseCsv(const QByteArray &bytes, const CsvProfile &profile)
{
    CsvReader reader(bytes, profile);
    return reader.read();
}

} // namespace ledger::recon
