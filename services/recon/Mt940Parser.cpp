#include "recon/Mt940Parser.h"

#include "recon/BankFileParser.h"
#include "recon/BankText.h"

#include <future>

namespace ledger::recon {

namespace {

constexpr qsizetype kMaxFieldChars = qsizetype(64) * 1024;

// Where a message is in its field order.
enum class State {
    Start,      // before :20:
    Reference,  // after :20: / :21:
    Account,    // after :25:
    Number,     // after :28C:
    FloorLimit, // MT942, after :34F:
    Body,       // after the opening balance (MT942: :13D:), or a line's :86:
    Line,       // right after a :61:
    Closed,     // after :62F:/:62M:
    Available,  // after :64: / :65:
    Totals,     // MT942, after :90D:/:90C:
    Info        // after the closing :86:
};

int twoDigits(QStringView s, qsizetype at)
{
    if (at + 2 > s.size() || !s[at].isDigit() || !s[at + 1].isDigit())
        return -1;
    return (s[at].unicode() - u'0') * 10 + (s[at + 1].unicode() - u'0');
}

// YYMMDD; 80..99 are the 1900s.
QDate swiftDate(QStringView s)
{
    const int y = twoDigits(s, 0), m = twoDigits(s, 2), d = twoDigits(s, 4);
    if (y < 0 || m < 0 || d < 0)
        return {};
    return QDate(y >= 80 ? 1900 + y : 2000 + y, m, d);
}

// MMDD in the year that puts it nearest `near`.
QDate nearestDate(int month, int day, const QDate &near)
{
    QDate best;
    for (int y = near.year() - 1; y <= near.year() + 1; ++y) {
        const QDate candidate(y, month, day);
        if (candidate.isValid() &&
            (!best.isValid() || std::abs(candidate.daysTo(near)) < std::abs(best.daysTo(near))))
            best = candidate;
    }
    return best;
}

// Joins the pieces of a structured :86: subfield series: a piece that fills its 27
// characters was cut mid-text, a shorter one ended a line of its own.
void appendPiece(QString &to, const QString &piece, bool *lastFull)
{
    if (!to.isEmpty() && !*lastFull && !piece.isEmpty())
        to += u' ';
    to += piece;
    *lastFull = piece.size() >= 27;
}

void appendInfo(QString &to, const QString &text)
{
    if (text.isEmpty())
        return;
    if (!to.isEmpty())
        to += u' ';
    to += text;
}

constexpr QStringView kSepaKeys[] = {u"EREF+", u"KREF+", u"MREF+", u"CRED+", u"DEBT+", u"COAM+",
                                     u"OAMT+", u"SVWZ+", u"ABWA+", u"ABWE+", u"IBAN+", u"BIC+"};

QStringView sepaKeyAt(QStringView piece)
{
    for (const QStringView key : kSepaKeys) {
        if (piece.startsWith(key))
            return key;
    }
    return {};
}

// German structured :86: ("166?00SEPA-GUTSCHRIFT?20EREF+…?21SVWZ+…?32Name").
void parseGvc(const QString &text, BankLine &line)
{
    line.bankTransactionCode = text.left(3);
    QString remittance;
    bool remittanceFull = false;
    QString name;
    bool nameFull = false;
    QList<std::pair<QString, QString>> sepa; // keyword, text
    bool sepaFull = false;
    QString postingText;
    qsizetype i = 3;
    while (i < text.size()) {
        // text[i] == '?', then two digits.
        const int code = twoDigits(text, i + 1);
        qsizetype next = text.indexOf(u'?', i + 1);
        while (next >= 0 && twoDigits(text, next + 1) < 0)
            next = text.indexOf(u'?', next + 1);
        const qsizetype end = next < 0 ? text.size() : next;
        const QString value = code < 0 ? QString() : text.mid(i + 3, end - i - 3);
        i = end;
        if (code == 0) {
            postingText = value.trimmed();
        } else if ((code >= 20 && code <= 29) || (code >= 60 && code <= 63)) {
            const QStringView key = sepaKeyAt(value);
            if (!key.isEmpty()) {
                sepa.append({key.chopped(1).toString(), value.mid(key.size())});
                sepaFull = value.size() >= 27;
            } else if (!sepa.isEmpty()) {
                appendPiece(sepa.last().second, value, &sepaFull);
            } else {
                appendPiece(remittance, value, &remittanceFull);
            }
        } else if (code == 30) {
            // bank code or BIC: kept only when there is no account below
        } else if (code == 31) {
            line.counterpartyAccount = value.trimmed();
        } else if (code == 32 || code == 33) {
            appendPiece(name, value, &nameFull);
        }
    }
    line.counterpartyName = name.trimmed();
    QString info = postingText;
    for (const auto &[key, value] : sepa) {
        const QString v = value.trimmed();
        if (key == u"EREF") {
            if (v != u"NOTPROVIDED")
                line.endToEndId = v;
        } else if (key == u"SVWZ") {
            appendInfo(remittance, v);
        } else if (key == u"KREF" &&
                   (line.accountOwnerReference.isEmpty() || line.accountOwnerReference == v)) {
            line.accountOwnerReference = v; // usually the :61: customer reference again
        } else if (key == u"IBAN" && line.counterpartyAccount.isEmpty()) {
            line.counterpartyAccount = v;
        } else {
            appendInfo(info, key + u'+' + v);
        }
    }
    line.remittance = remittance.trimmed();
    appendInfo(line.additionalInfo, info);
}

constexpr QStringView kSlashKeys[] = {
    u"EREF", u"KREF", u"MREF", u"CRED", u"REMI", u"NAME", u"IBAN", u"BIC",  u"CNTP",
    u"ORDP", u"BENM", u"TRTP", u"TRCD", u"PREF", u"IREF", u"RTRN", u"PURP", u"ULTC",
    u"ULTD", u"ULTB", u"SVWZ", u"CSID", u"MARF", u"ADDI", u"OCMT", u"ISDT", u"CHGS",
    u"EXCH", u"ABWA", u"ABWE", u"BUSP", u"ID",   u"ADDR", u"CITY", u"CTRY"};

// The slash form ("/EREF/123/NAME/J. Jansen/REMI/USTD//Invoice 17/"): a key is a known code
// between slashes; its value runs to the next one.
void parseSlash(const QString &text, BankLine &line)
{
    struct Hit
    {
        qsizetype at;
        QStringView key;
    };
    QList<Hit> hits;
    for (qsizetype p = text.indexOf(u'/'); p >= 0 && p < text.size();
         p = text.indexOf(u'/', p + 1)) {
        for (const QStringView key : kSlashKeys) {
            if (QStringView(text).sliced(p + 1).startsWith(key) &&
                p + 1 + key.size() < text.size() && text[p + 1 + key.size()] == u'/') {
                hits.append({p, key});
                p += key.size(); // the closing slash may open the next key
                break;
            }
        }
    }
    QString info;
    for (qsizetype h = 0; h < hits.size(); ++h) {
        const qsizetype from = hits[h].at + hits[h].key.size() + 2;
        const qsizetype to = h + 1 < hits.size() ? hits[h + 1].at : text.size();
        QString value = from <= to ? text.mid(from, to - from) : QString();
        while (value.endsWith(u'/'))
            value.chop(1);
        value = value.trimmed();
        const QStringView key = hits[h].key;
        if (value.isEmpty())
            continue;
        if (key == u"EREF") {
            if (value != u"NOTPROVIDED")
                line.endToEndId = value;
        } else if (key == u"REMI" || key == u"SVWZ") {
            if (value.startsWith(u"USTD/"))
                value = value.mid(5);
            else if (value.startsWith(u"STRD/"))
                value = value.mid(value.indexOf(u'/', 5) + 1);
            while (value.startsWith(u'/'))
                value.remove(0, 1);
            appendInfo(line.remittance, value);
        } else if (key == u"NAME") {
            if (line.counterpartyName.isEmpty())
                line.counterpartyName = value;
        } else if (key == u"IBAN") {
            if (line.counterpartyAccount.isEmpty())
                line.counterpartyAccount = value;
        } else if (key == u"CNTP") {
            const QStringList parts = value.split(u'/');
            if (!parts.value(0).isEmpty())
                line.counterpartyAccount = parts.value(0);
            if (!parts.value(2).isEmpty())
                line.counterpartyName = parts.value(2);
        } else if (key == u"KREF" || key == u"PREF") {
            if (line.accountOwnerReference.isEmpty())
                line.accountOwnerReference = value;
        } else {
            appendInfo(info, key + u' ' + value);
        }
    }
    appendInfo(line.additionalInfo, info);
}

class Mt940Reader
{
public:
    // Reads `part` of the prepared text: all of it, or a run of whole messages that has
    // `linesBefore` lines before it (the lines it names count from the file's start).
    Mt940Reader(const TextBytes &text, QByteArrayView part, qint64 linesBefore)
        : m_text(text)
        , m_part(part)
        , m_linesBefore(linesBefore)
    {}
    // The messages' statements (none when the part holds no message).
    Result<BankFile> read();

private:
    bool fail(qint64 line, const QString &what)
    {
        if (!m_error)
            m_error =
                Error::make(Error::Kind::Input, QStringLiteral("line %1: %2").arg(line).arg(what));
        return false;
    }
    bool field(const QString &tag, const QString &content, qint64 line);
    bool endMessage(qint64 line);
    bool readBalance(const QString &tag, const QString &content, qint64 line, BankBalance *out);
    bool readLine(const QString &content, qint64 lineNumber);
    void readInfo(const QString &content, BankLine &line);
    QString expected() const;

    const TextBytes &m_text;
    QByteArrayView m_part;
    qint64 m_linesBefore = 0;
    std::optional<Error> m_error;
    BankFile m_file;
    BankStatement m_statement;
    State m_state = State::Start;
    bool m_mt942 = false;
    QString m_reference;
};

QString Mt940Reader::expected() const
{
    switch (m_state) {
    case State::Start:
        return QStringLiteral(":20:");
    case State::Reference:
        return QStringLiteral(":21: or :25:");
    case State::Account:
        return QStringLiteral(":28C:");
    case State::Number:
        return QStringLiteral(":60F:/:60M: (opening balance) or, in an MT942, :34F:");
    case State::FloorLimit:
        return QStringLiteral(":34F: or :13D:");
    case State::Body:
    case State::Line:
        return m_mt942 ? QStringLiteral(":61:, :86:, :90D:/:90C: or the end of the message")
                       : QStringLiteral(":61:, :86: or :62F:/:62M: (closing balance)");
    case State::Closed:
        return QStringLiteral(":64:, :65:, :86: or the end of the message");
    case State::Available:
        return QStringLiteral(":65:, :86: or the end of the message");
    case State::Totals:
        return QStringLiteral(":90C:, :86: or the end of the message");
    case State::Info:
        return QStringLiteral("the end of the message");
    }
    return {};
}

bool Mt940Reader::endMessage(qint64 line)
{
    if (m_state == State::Start)
        return true;
    const bool complete = m_mt942 ? (m_state == State::Body || m_state == State::Line ||
                                     m_state == State::Totals || m_state == State::Info)
                                  : (m_state == State::Closed || m_state == State::Available ||
                                     m_state == State::Info);
    if (!complete)
        return fail(line,
                    QStringLiteral("the message :20:%1 ends where %2 was expected%3")
                        .arg(m_reference, expected(),
                             m_mt942 ? QString() : QStringLiteral(" (no :62F: closing balance)")));
    m_statement.format = m_mt942 ? QStringLiteral("mt942") : QStringLiteral("mt940");
    if (m_file.format.isEmpty())
        m_file.format = m_statement.format;
    m_file.statements.append(std::move(m_statement));
    m_statement = BankStatement();
    m_state = State::Start;
    m_mt942 = false;
    return true;
}

bool Mt940Reader::readBalance(const QString &tag, const QString &content, qint64 line,
                              BankBalance *out)
{
    // D/C mark, YYMMDD, currency, amount ("C230131EUR1234,56").
    const QString c = content.trimmed();
    if (c.size() < 11 || (c[0] != u'C' && c[0] != u'D'))
        return fail(line, QStringLiteral(":%1: \"%2\" is not a balance (C or D, YYMMDD, currency, "
                                         "amount)")
                              .arg(tag, c.left(40)));
    out->date = swiftDate(QStringView(c).sliced(1, 6));
    if (!out->date.isValid())
        return fail(line,
                    QStringLiteral(":%1: \"%2\" is not a date (YYMMDD)").arg(tag, c.mid(1, 6)));
    out->currency = c.mid(7, 3);
    for (const QChar ch : out->currency) {
        if (!ch.isUpper())
            return fail(line,
                        QStringLiteral(":%1: \"%2\" is not a currency").arg(tag, out->currency));
    }
    QString why;
    const auto amount = parseDecimal(QStringView(c).sliced(10), u',', QChar(), false, &why);
    if (!amount)
        return fail(
            line, QStringLiteral(":%1: \"%2\" is not an amount (%3)").arg(tag, c.mid(10, 40), why));
    out->amount = *amount;
    if (c[0] == u'D')
        out->amount.units = -out->amount.units;
    return true;
}

bool Mt940Reader::readLine(const QString &content, qint64 lineNumber)
{
    const qsizetype nl = content.indexOf(u'\n');
    const QStringView s = nl < 0 ? QStringView(content) : QStringView(content).first(nl);
    BankLine line;
    line.status = QStringLiteral("BOOK");
    line.sourceLocation = QStringLiteral("line %1").arg(lineNumber);
    line.valueDate = swiftDate(s);
    if (!line.valueDate.isValid())
        return fail(lineNumber,
                    QStringLiteral(":61: \"%1\" is not a value date (YYMMDD)").arg(s.left(6)));
    qsizetype i = 6;
    if (twoDigits(s, i) >= 0 && twoDigits(s, i + 2) >= 0) {
        line.bookingDate = nearestDate(twoDigits(s, i), twoDigits(s, i + 2), line.valueDate);
        if (!line.bookingDate.isValid())
            return fail(lineNumber,
                        QStringLiteral(":61: \"%1\" is not an entry date (MMDD)").arg(s.mid(i, 4)));
        i += 4;
    } else {
        line.bookingDate = line.valueDate;
    }
    bool credit;
    const QStringView rest = s.sliced(i);
    if (rest.startsWith(u"RC") || rest.startsWith(u"RD")) {
        line.reversal = true;
        credit = rest[1] == u'D'; // storno of a debit is money in
        i += 2;
    } else if (rest.startsWith(u"EC") || rest.startsWith(u"ED")) {
        credit = rest[1] == u'C';
        i += 2;
    } else if (rest.startsWith(u'C') || rest.startsWith(u'D')) {
        credit = rest[0] == u'C';
        i += 1;
    } else {
        return fail(lineNumber,
                    QStringLiteral(":61: \"%1\" where the mark C, D, RC or RD was expected")
                        .arg(rest.left(2)));
    }
    if (i < s.size() && s[i].isLetter())
        ++i; // funds code, the currency's third letter
    const qsizetype amountStart = i;
    while (i < s.size() && (s[i].isDigit() || s[i] == u','))
        ++i;
    QString why;
    const auto amount =
        parseDecimal(s.sliced(amountStart, i - amountStart), u',', QChar(), false, &why);
    if (!amount)
        return fail(lineNumber, QStringLiteral(":61: \"%1\" is not an amount (%2)")
                                    .arg(s.sliced(amountStart).left(16), why));
    line.amount = *amount;
    if (!credit)
        line.amount.units = -line.amount.units;
    if (i + 4 > s.size() || (s[i] != u'N' && s[i] != u'F' && s[i] != u'S'))
        return fail(lineNumber,
                    QStringLiteral(":61: \"%1\" is not a transaction type (N, F or S and "
                                   "three characters)")
                        .arg(s.sliced(i).left(4)));
    line.bankTransactionCode = s.sliced(i, 4).toString();
    i += 4;
    const QStringView refs = s.sliced(i);
    const qsizetype slashes = refs.indexOf(u"//");
    const QStringView customer = slashes < 0 ? refs : refs.first(slashes);
    if (customer != u"NONREF")
        line.accountOwnerReference = customer.trimmed().toString();
    if (slashes >= 0)
        line.bankReference = refs.sliced(slashes + 2).trimmed().toString();
    if (nl >= 0)
        line.additionalInfo =
            QStringView(content).sliced(nl + 1).trimmed().toString().replace(u'\n', u' ');
    line.currency = m_statement.currency;
    m_statement.lines.append(std::move(line));
    return true;
}

void Mt940Reader::readInfo(const QString &content, BankLine &line)
{
    // Continuation lines wrap the structured forms anywhere; free text is in lines.
    const bool gvc = content.size() >= 4 && content[0].isDigit() && content[1].isDigit() &&
                     content[2].isDigit() && (content[3] == u'?' || content[3] == u'\n');
    if (gvc) {
        QString joined = content;
        joined.remove(u'\n');
        parseGvc(joined, line);
    } else if (content.startsWith(u'/')) {
        QString joined = content;
        joined.remove(u'\n');
        parseSlash(joined, line);
    } else {
        QString text = content;
        text.replace(u'\n', u' ');
        line.remittance = text.trimmed();
    }
}

bool Mt940Reader::field(const QString &tag, const QString &content, qint64 line)
{
    auto outOfOrder = [&] {
        return fail(line, QStringLiteral(":%1: where %2 was expected").arg(tag, expected()));
    };
    if (tag == u"20") {
        if (m_state != State::Start && !endMessage(line))
            return false;
        m_reference = content.trimmed();
        m_statement.messageId = m_reference;
        m_statement.statementId = m_reference;
        m_statement.sourceLocation = QStringLiteral("line %1").arg(line);
        m_state = State::Reference;
    } else if (tag == u"21") {
        if (m_state != State::Reference)
            return outOfOrder();
    } else if (tag == u"25") {
        if (m_state != State::Reference)
            return outOfOrder();
        QString account = content.trimmed();
        if (isIban(account))
            m_statement.iban = account;
        else if (account.size() > 3 && isIban(QStringView(account).chopped(3)))
            m_statement.iban = account.chopped(3);
        else
            m_statement.accountNumber = account;
        m_state = State::Account;
    } else if (tag == u"28C" || tag == u"28") {
        if (m_state != State::Account)
            return outOfOrder();
        const QString number = content.trimmed();
        bool ok = false;
        m_statement.sequenceNumber = number.section(u'/', 0, 0).toLongLong(&ok);
        if (!ok)
            return fail(
                line,
                QStringLiteral(":%1: \"%2\" is not a statement number").arg(tag, number.left(20)));
        m_statement.statementId = m_reference + u'/' + number;
        m_state = State::Number;
    } else if (tag == u"60F" || tag == u"60M") {
        if (m_state != State::Number)
            return outOfOrder();
        BankBalance balance;
        if (!readBalance(tag, content, line, &balance))
            return false;
        balance.code = tag == u"60F" ? QStringLiteral("OPBD") : QStringLiteral("ITBD");
        m_statement.currency = balance.currency;
        m_statement.opening = balance;
        m_state = State::Body;
    } else if (tag == u"34F") {
        if (m_state != State::Number && m_state != State::FloorLimit)
            return outOfOrder();
        m_mt942 = true;
        const QString limit = content.trimmed();
        if (limit.size() >= 3 && m_statement.currency.isEmpty())
            m_statement.currency = limit.left(3);
        m_state = State::FloorLimit;
    } else if (tag == u"13D" || tag == u"13") {
        if (m_state != State::FloorLimit)
            return outOfOrder();
        // YYMMDDhhmm and an offset +hhmm.
        const QString t = content.trimmed();
        const QDate date = swiftDate(t);
        const int hh = twoDigits(t, 6), mm = twoDigits(t, 8);
        if (!date.isValid() || hh < 0 || mm < 0 || hh > 23 || mm > 59)
            return fail(line, QStringLiteral(":%1: \"%2\" is not a date and time (YYMMDDhhmm)")
                                  .arg(tag, t.left(20)));
        int offset = 0;
        if (t.size() >= 15 && (t[10] == u'+' || t[10] == u'-') && twoDigits(t, 11) >= 0 &&
            twoDigits(t, 13) >= 0)
            offset = (t[10] == u'-' ? -1 : 1) * (twoDigits(t, 11) * 3600 + twoDigits(t, 13) * 60);
        m_statement.createdAt = QDateTime(date, QTime(hh, mm), Qt::OffsetFromUTC, offset);
        m_state = State::Body;
    } else if (tag == u"61") {
        if (m_state != State::Body && m_state != State::Line)
            return outOfOrder();
        if (!readLine(content, line))
            return false;
        m_state = State::Line;
    } else if (tag == u"86") {
        if (m_state == State::Line) {
            readInfo(content, m_statement.lines.last());
            m_state = State::Body;
        } else if (m_state == State::Closed || m_state == State::Available ||
                   m_state == State::Totals || (m_mt942 && m_state == State::Body)) {
            m_state = State::Info; // information for the whole statement: not kept
        } else {
            return outOfOrder();
        }
    } else if (tag == u"62F" || tag == u"62M") {
        if (m_mt942 || (m_state != State::Body && m_state != State::Line))
            return outOfOrder();
        BankBalance balance;
        if (!readBalance(tag, content, line, &balance))
            return false;
        balance.code = tag == u"62F" ? QStringLiteral("CLBD") : QStringLiteral("ITBD");
        m_statement.closing = balance;
        m_state = State::Closed;
    } else if (tag == u"64" || tag == u"65") {
        if (m_mt942 || (m_state != State::Closed && !(tag == u"65" && m_state == State::Available)))
            return outOfOrder();
        BankBalance balance;
        if (!readBalance(tag, content, line, &balance))
            return false;
        balance.code = tag == u"64" ? QStringLiteral("CLAV") : QStringLiteral("FWAV");
        m_statement.otherBalances.append(balance);
        m_state = State::Available;
    } else if (tag == u"90D" || tag == u"90C") {
        if (!m_mt942 ||
            (m_state != State::Body && m_state != State::Line && m_state != State::Totals))
            return outOfOrder();
        m_state = State::Totals;
    } else {
        return fail(line, QStringLiteral("unknown field :%1:").arg(tag));
    }
    return true;
}

// ":20:", ":28C:", ":60F:" at the start of a line: the tag's length, or 0.
qsizetype tagLength(QByteArrayView line)
{
    if (line.size() < 4 || line[0] != ':' || !isdigit(uchar(line[1])) || !isdigit(uchar(line[2])))
        return 0;
    if (line[3] == ':')
        return 2;
    if (line.size() >= 5 && isupper(uchar(line[3])) && line[4] == ':')
        return 3;
    return 0;
}

Result<BankFile> Mt940Reader::read()
{
    m_file.encoding = encodingName(m_text.encoding);
    LineSplitter lines(m_part);
    QByteArrayView raw;
    QString tag;
    QString content;
    qint64 fieldLine = 0;
    auto flush = [&]() {
        if (tag.isEmpty())
            return true;
        const bool ok = field(tag, content, fieldLine);
        tag.clear();
        content.clear();
        return ok;
    };
    while (lines.next(&raw)) {
        const qint64 number = m_linesBefore + lines.lineNumber();
        if (number > BankFileParser::kMaxLines) {
            fail(number, QStringLiteral("more than %1 lines").arg(BankFileParser::kMaxLines));
            return *m_error;
        }
        // The SWIFT block wrapper: {1:…}{2:…}{3:…}{4: before the text, -} and {5:…} after.
        if (raw.startsWith('{')) {
            const qsizetype text = raw.indexOf("{4:");
            if (text < 0)
                continue;
            raw = raw.sliced(text + 3);
        }
        if (raw.startsWith("-}") || raw.trimmed() == "-") {
            if (!flush() || !endMessage(number))
                return *m_error;
            continue;
        }
        if (raw.trimmed().isEmpty())
            continue;
        const qsizetype length = tagLength(raw);
        if (length > 0) {
            if (!flush())
                return *m_error;
            tag = QString::fromLatin1(raw.sliced(1, length));
            content = decode(raw.sliced(length + 2), m_text.encoding);
            fieldLine = number;
        } else {
            if (tag.isEmpty()) {
                fail(number, QStringLiteral("text outside any field (a field starts with a tag "
                                            "such as :20:)"));
                return *m_error;
            }
            if (content.size() + raw.size() > kMaxFieldChars) {
                fail(fieldLine, QStringLiteral(":%1: is longer than %2 characters")
                                    .arg(tag)
                                    .arg(kMaxFieldChars));
                return *m_error;
            }
            content += u'\n';
            content += decode(raw, m_text.encoding);
        }
    }
    if (!flush() || !endMessage(m_linesBefore + lines.lineNumber()))
        return *m_error;
    return std::move(m_file);
}

// Where to cut the text in two for two readers: just after the first line at or past `from`
// that ends a message ("-" or "-}", where a reader is back at its start whatever came
// before), or -1. Messages ended only by the next :20: are not cut (an unfinished message
// would then be reported at another line than a single reader reports it).
qsizetype messageEndAfter(QByteArrayView text, qsizetype from)
{
    for (qsizetype at = text.indexOf('\n', from); at >= 0 && at + 1 < text.size();
         at = text.indexOf('\n', at + 1)) {
        QByteArrayView line = text.sliced(at + 1);
        const qsizetype end = line.indexOf('\n');
        if (end < 0)
            return -1;
        line = line.first(end);
        if (line.startsWith("-}") || line.trimmed() == "-")
            return at + 1 + end + 1;
    }
    return -1;
}

} // namespace

Result<BankFile> parseMt940(const QByteArray &bytes, qsizetype twoThreadsAbove)
{
    const TextBytes text = prepareText(bytes);
    const QByteArrayView all(text.bytes);
    const qsizetype cut = all.size() > twoThreadsAbove ? messageEndAfter(all, all.size() / 2) : -1;
    Result<BankFile> file = [&]() -> Result<BankFile> {
        if (cut <= 0 || cut >= all.size())
            return Mt940Reader(text, all, 0).read();
        // A large file in two halves, the second on another thread: a million lines took
        // 2.2 s on one. The first error by position is the one reported.
        const QByteArrayView head = all.first(cut);
        auto tail =
            std::async(std::launch::async, [&text, &all, cut, linesBefore = head.count('\n')] {
                return Mt940Reader(text, all.sliced(cut), linesBefore).read();
            });
        Result<BankFile> first = Mt940Reader(text, head, 0).read();
        Result<BankFile> second = tail.get();
        if (!first.ok())
            return first;
        if (!second.ok())
            return second;
        BankFile merged = std::move(first.value());
        if (merged.format.isEmpty())
            merged.format = second.value().format;
        merged.statements.append(std::move(second.value().statements));
        return merged;
    }();
    if (file.ok() && file.value().statements.isEmpty())
        return Error::make(
            Error::Kind::Input,
            QStringLiteral("line %1: no MT940 message (:20:) in the file")
                .arg(all.count('\n') + (all.endsWith('\n') || all.isEmpty() ? 0 : 1)));
    return file;
}

} // namespace ledger::recon
