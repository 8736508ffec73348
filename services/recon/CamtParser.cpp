#include "recon/CamtParser.h"

#include "recon/BankFileParser.h"
#include "recon/BankText.h"

#include <QXmlStreamReader>

namespace ledger::recon {

namespace {

// The leaves of a small subtree (a Bal, the scalar parts of an Ntry, a TxDtls), keyed by
// their path below it ("RltdPties/Dbtr/Nm", "Amt@Ccy"). A repeated leaf (RmtInf/Ustrd) is
// kept once per occurrence. Small enough that a linear search beats hashing.
struct Leaves
{
    QList<std::pair<QString, QString>> items;

    const QString *find(QStringView key) const
    {
        for (const auto &item : items) {
            if (item.first == key)
                return &item.second;
        }
        return nullptr;
    }
    QString value(QStringView key) const
    {
        const QString *v = find(key);
        return v ? *v : QString();
    }
    // The first of several alternatives that is present.
    QString first(std::initializer_list<QStringView> keys) const
    {
        for (const QStringView key : keys) {
            if (const QString *v = find(key))
                return *v;
        }
        return {};
    }
    QString joined(QStringView key) const
    {
        QString out;
        for (const auto &item : items) {
            if (item.first == key && !item.second.isEmpty()) {
                if (!out.isEmpty())
                    out += u' ';
                out += item.second;
            }
        }
        return out;
    }
};

// "Ntry[14]" (QString::arg is slow enough to show on a million entries).
QString indexed(QStringView name, qsizetype index)
{
    return name + u'[' + QString::number(index) + u']';
}

struct TxDraft
{
    Leaves leaves;
    QString path;
};

class CamtReader
{
public:
    // `bytes` must outlive the reader: it is fed to QXmlStreamReader in slices.
    explicit CamtReader(const QByteArray &bytes)
        : m_bytes(bytes)
    {}

    Result<BankFile> read();

private:
    bool fail(const QString &where, const QString &what)
    {
        if (!m_error)
            m_error = Error::make(Error::Kind::Input, where + QStringLiteral(": ") + what);
        return false;
    }
    QString pathTo(QStringView key) const
    {
        QString p = m_path.join(u'/');
        if (!key.isEmpty())
            p += u'/' + key.toString();
        return p;
    }
    bool xmlError(QStringView key);
    QXmlStreamReader::TokenType readNext();
    bool nextToken(QStringView key);
    bool nextChild();
    bool readElement(Leaves &leaves, const QString &key, int depth);
    bool readStatement(BankStatement &statement, const QString &label);
    bool readEntry(BankStatement &statement, const QString &label);
    bool readBalance(BankStatement &statement, const QString &label);
    bool amountOf(const Leaves &leaves, const QString &key, const QString &where,
                  BankAmount *amount, QString *currency, bool required);
    bool signOf(const Leaves &leaves, const QString &key, const QString &where, bool *credit);
    bool dateOf(const Leaves &leaves, const QString &key, const QString &where, QDate *date);
    bool dateTimeOf(const Leaves &leaves, const QString &key, const QString &where,
                    QDateTime *dateTime);

    const QByteArray &m_bytes;
    qsizetype m_fed = 0;
    QXmlStreamReader m_xml;
    QStringList m_path;
    std::optional<Error> m_error;
    QString m_format;
    QString m_messageId;
    QDateTime m_messageCreated;
};

bool CamtReader::xmlError(QStringView key)
{
    return fail(QStringLiteral("line %1, column %2 (%3)")
                    .arg(m_xml.lineNumber())
                    .arg(m_xml.columnNumber())
                    .arg(pathTo(key)),
                m_xml.errorString());
}

// QXmlStreamReader given a whole file decodes all of it to UTF-16 at once (twice the file
// again in memory); fed 1 MB at a time it decodes as it goes. A token cut by a slice's end
// is a PrematureEndOfDocumentError that the next slice resolves.
QXmlStreamReader::TokenType CamtReader::readNext()
{
    constexpr qsizetype kSlice = 1 << 20;
    for (;;) {
        const auto token = m_xml.readNext();
        if (token != QXmlStreamReader::Invalid ||
            m_xml.error() != QXmlStreamReader::PrematureEndOfDocumentError ||
            m_fed >= m_bytes.size())
            return token;
        const qsizetype size = std::min(kSlice, m_bytes.size() - m_fed);
        m_xml.addData(QByteArray::fromRawData(m_bytes.constData() + m_fed, size));
        m_fed += size;
    }
}

// Reads the next token; false (with the error set) on an XML error, a DTD or the end of input
// where an element was still open.
bool CamtReader::nextToken(QStringView key)
{
    const auto token = readNext();
    if (token == QXmlStreamReader::Invalid)
        return xmlError(key);
    if (token == QXmlStreamReader::DTD)
        return fail(pathTo(key), QStringLiteral("a DTD, which no camt file has"));
    if (token == QXmlStreamReader::EndDocument)
        return fail(pathTo(key), QStringLiteral("the document ends inside this element"));
    return true;
}

// Moves to the next child element of the current one: true with the reader on its start;
// false at the current element's end, or on an error (then m_error is set).
bool CamtReader::nextChild()
{
    for (;;) {
        if (!nextToken(u""))
            return false;
        if (m_xml.tokenType() == QXmlStreamReader::EndElement)
            return false;
        if (m_xml.tokenType() == QXmlStreamReader::StartElement)
            return true;
    }
}

// With the reader on the start of the element `key` (relative to m_path), records its
// Ccy attribute and its leaves, and leaves the reader on its end.
bool CamtReader::readElement(Leaves &leaves, const QString &key, int depth)
{
    if (m_path.size() + depth > BankFileParser::kMaxDepth)
        return fail(
            pathTo(key),
            QStringLiteral("nested deeper than %1 elements").arg(BankFileParser::kMaxDepth));
    // Only amounts carry the currency attribute (Amt, TxAmt, InstdAmt…); reading the
    // attributes of every element costs measurably on large files.
    if (key.endsWith(u"Amt")) {
        const QStringView ccy = m_xml.attributes().value(QLatin1StringView("Ccy"));
        if (!ccy.isNull())
            leaves.items.append({key + QStringLiteral("@Ccy"), ccy.toString()});
    }
    QString text;
    bool hadChild = false;
    for (;;) {
        if (!nextToken(key))
            return false;
        switch (m_xml.tokenType()) {
        case QXmlStreamReader::StartElement:
            hadChild = true;
            if (!readElement(leaves, key + u'/' + m_xml.name(), depth + 1))
                return false;
            break;
        case QXmlStreamReader::Characters:
            if (!hadChild) {
                if (text.isEmpty())
                    text = m_xml.text().toString();
                else
                    text += m_xml.text();
            }
            break;
        case QXmlStreamReader::EndElement:
            if (!hadChild)
                leaves.items.append({key, text.trimmed()});
            return true;
        default:
            break;
        }
    }
}

bool CamtReader::amountOf(const Leaves &leaves, const QString &key, const QString &where,
                          BankAmount *amount, QString *currency, bool required)
{
    const QString *text = leaves.find(key);
    if (!text) {
        if (required)
            return fail(where + u'/' + key, QStringLiteral("missing"));
        return true;
    }
    QString why;
    const auto parsed = parseDecimal(*text, u'.', QChar(), false, &why);
    if (!parsed)
        return fail(where + u'/' + key,
                    QStringLiteral("\"%1\" is not an amount (%2)").arg(text->left(40), why));
    *amount = *parsed;
    *currency = leaves.value(QString(key + QStringLiteral("@Ccy")));
    if (currency->size() != 3)
        return fail(where + u'/' + key, QStringLiteral("no currency (attribute Ccy)"));
    return true;
}

bool CamtReader::signOf(const Leaves &leaves, const QString &key, const QString &where,
                        bool *credit)
{
    const QString indicator = leaves.value(key);
    if (indicator == u"CRDT")
        *credit = true;
    else if (indicator == u"DBIT")
        *credit = false;
    else
        return fail(
            where + u'/' + key,
            indicator.isEmpty()
                ? QStringLiteral("missing")
                : QStringLiteral("\"%1\" is neither CRDT nor DBIT").arg(indicator.left(20)));
    return true;
}

// A date given as <X><Dt>…</Dt></X> or <X><DtTm>…</DtTm></X>; absent is fine.
bool CamtReader::dateOf(const Leaves &leaves, const QString &key, const QString &where, QDate *date)
{
    const QString dt = key + QStringLiteral("/Dt");
    const QString dtTm = key + QStringLiteral("/DtTm");
    const QString *text = leaves.find(dt);
    const QString *which = &dt;
    if (!text) {
        text = leaves.find(dtTm);
        which = &dtTm;
    }
    if (!text)
        return true;
    *date = parseIsoDate(*text);
    if (!date->isValid())
        return fail(where + u'/' + *which,
                    QStringLiteral("\"%1\" is not a date (YYYY-MM-DD)").arg(text->left(40)));
    return true;
}

bool CamtReader::dateTimeOf(const Leaves &leaves, const QString &key, const QString &where,
                            QDateTime *dateTime)
{
    const QString *text = leaves.find(key);
    if (!text)
        return true;
    *dateTime = QDateTime::fromString(*text, Qt::ISODateWithMs);
    if (!dateTime->isValid())
        return fail(where + u'/' + key,
                    QStringLiteral("\"%1\" is not a date and time").arg(text->left(40)));
    return true;
}

Result<BankFile> CamtReader::read()
{
    BankFile file;
    // Document
    for (;;) {
        const auto token = readNext();
        if (token == QXmlStreamReader::Invalid) {
            xmlError(u"");
            return *m_error;
        }
        if (token == QXmlStreamReader::DTD) {
            fail(QStringLiteral("the prolog"), QStringLiteral("a DTD, which no camt file has"));
            return *m_error;
        }
        if (token == QXmlStreamReader::EndDocument) {
            fail(QStringLiteral("the file"), QStringLiteral("no XML element"));
            return *m_error;
        }
        if (token == QXmlStreamReader::StartElement)
            break;
    }
    if (m_xml.name() != u"Document") {
        fail(m_xml.name().toString(),
             QStringLiteral("not a camt document (the root element should be Document)"));
        return *m_error;
    }
    m_path.append(QStringLiteral("Document"));
    bool sawMessage = false;
    while (nextChild()) {
        const QString message = m_xml.name().toString();
        const bool statement = message == u"BkToCstmrStmt";
        const bool report = message == u"BkToCstmrAcctRpt";
        if ((!statement && !report) || sawMessage) {
            fail(pathTo(message), sawMessage ? QStringLiteral("a second message in one Document")
                                             : QStringLiteral("not a camt.053 statement "
                                                              "(BkToCstmrStmt) or camt.052 "
                                                              "report (BkToCstmrAcctRpt)"));
            return *m_error;
        }
        sawMessage = true;
        m_format = statement ? QStringLiteral("camt.053") : QStringLiteral("camt.052");
        const QStringView child = statement ? u"Stmt" : u"Rpt";
        m_path.append(message);
        int count = 0;
        while (nextChild()) {
            const QString name = m_xml.name().toString();
            if (name == child) {
                BankStatement s;
                if (!readStatement(s, QStringLiteral("%1[%2]").arg(name).arg(++count)))
                    return *m_error;
                file.statements.append(std::move(s));
            } else {
                Leaves header;
                if (!readElement(header, name, 1))
                    return *m_error;
                if (name == u"GrpHdr") {
                    m_messageId = header.value(u"GrpHdr/MsgId");
                    if (!dateTimeOf(header, QStringLiteral("GrpHdr/CreDtTm"), pathTo(u""),
                                    &m_messageCreated))
                        return *m_error;
                }
            }
        }
        if (m_error)
            return *m_error;
        m_path.removeLast();
    }
    if (m_error)
        return *m_error;
    m_path.removeLast();
    // Anything after the root but comments and whitespace is an error too.
    for (;;) {
        const auto token = readNext();
        if (token == QXmlStreamReader::EndDocument)
            break;
        if (token == QXmlStreamReader::Invalid) {
            xmlError(u"");
            return *m_error;
        }
    }
    if (!sawMessage) {
        fail(QStringLiteral("Document"), QStringLiteral("no BkToCstmrStmt or BkToCstmrAcctRpt"));
        return *m_error;
    }
    for (auto &s : file.statements) {
        if (s.messageId.isEmpty())
            s.messageId = m_messageId;
        if (!s.createdAt.isValid())
            s.createdAt = m_messageCreated;
    }
    file.format = m_format;
    return file;
}

bool CamtReader::readStatement(BankStatement &statement, const QString &label)
{
    m_path.append(label);
    statement.format = m_format;
    statement.sourceLocation = m_path.join(u'/');
    Leaves leaves;
    int entries = 0;
    int balances = 0;
    while (nextChild()) {
        const QString name = m_xml.name().toString();
        if (name == u"Ntry") {
            if (!readEntry(statement, indexed(u"Ntry", ++entries)))
                return false;
        } else if (name == u"Bal") {
            if (!readBalance(statement, QStringLiteral("Bal[%1]").arg(++balances)))
                return false;
        } else if (!readElement(leaves, name, 1)) {
            return false;
        }
    }
    if (m_error)
        return false;
    const QString where = m_path.join(u'/');
    statement.statementId = leaves.value(u"Id");
    const QString sequence = leaves.first({u"ElctrncSeqNb", u"LglSeqNb"});
    if (!sequence.isEmpty()) {
        bool ok = false;
        statement.sequenceNumber = sequence.toLongLong(&ok);
        if (!ok)
            return fail(where + QStringLiteral("/ElctrncSeqNb"),
                        QStringLiteral("\"%1\" is not a number").arg(sequence.left(40)));
    }
    statement.iban = leaves.value(u"Acct/Id/IBAN");
    statement.accountNumber = leaves.value(u"Acct/Id/Othr/Id");
    if (statement.iban.isEmpty() && statement.accountNumber.isEmpty())
        return fail(where + QStringLiteral("/Acct"),
                    QStringLiteral("no account (Acct/Id/IBAN or Acct/Id/Othr/Id)"));
    statement.currency = leaves.value(u"Acct/Ccy");
    // Acct/Ccy is optional: the balances' currency then (they are in the account's).
    if (statement.currency.isEmpty() && statement.opening)
        statement.currency = statement.opening->currency;
    if (statement.currency.isEmpty() && statement.closing)
        statement.currency = statement.closing->currency;
    if (!dateTimeOf(leaves, QStringLiteral("CreDtTm"), where, &statement.createdAt) ||
        !dateTimeOf(leaves, QStringLiteral("FrToDt/FrDtTm"), where, &statement.from) ||
        !dateTimeOf(leaves, QStringLiteral("FrToDt/ToDtTm"), where, &statement.to))
        return false;
    m_path.removeLast();
    return true;
}

bool CamtReader::readBalance(BankStatement &statement, const QString &label)
{
    Leaves leaves;
    if (!readElement(leaves, label, 1))
        return false;
    const QString where = pathTo(label);
    BankBalance balance;
    balance.code = leaves.first({QString(label + QStringLiteral("/Tp/CdOrPrtry/Cd")),
                                 QString(label + QStringLiteral("/Tp/CdOrPrtry/Prtry"))});
    if (balance.code.isEmpty())
        return fail(where + QStringLiteral("/Tp"), QStringLiteral("no balance type code"));
    bool credit = true;
    if (!amountOf(leaves, label + QStringLiteral("/Amt"), m_path.join(u'/'), &balance.amount,
                  &balance.currency, true) ||
        !signOf(leaves, label + QStringLiteral("/CdtDbtInd"), m_path.join(u'/'), &credit) ||
        !dateOf(leaves, label + QStringLiteral("/Dt"), m_path.join(u'/'), &balance.date))
        return false;
    if (!credit)
        balance.amount.units = -balance.amount.units;
    if ((balance.code == u"OPBD" || balance.code == u"PRCD") &&
        (!statement.opening || (statement.opening->code == u"PRCD" && balance.code == u"OPBD"))) {
        if (statement.opening)
            statement.otherBalances.append(*statement.opening);
        statement.opening = balance;
    } else if (balance.code == u"CLBD" && !statement.closing) {
        statement.closing = balance;
    } else {
        statement.otherBalances.append(balance);
    }
    return true;
}

QString bankTransactionCode(const Leaves &l, const QString &prefix)
{
    const QString domain = l.value(QString(prefix + QStringLiteral("BkTxCd/Domn/Cd")));
    if (!domain.isEmpty()) {
        return domain + u'/' + l.value(QString(prefix + QStringLiteral("BkTxCd/Domn/Fmly/Cd"))) +
               u'/' + l.value(QString(prefix + QStringLiteral("BkTxCd/Domn/Fmly/SubFmlyCd")));
    }
    return l.value(QString(prefix + QStringLiteral("BkTxCd/Prtry/Cd")));
}

// The counterparty of a credit is the debtor, of a debit the creditor (v08 nests the name
// under Pty).
void fillFromDetails(BankLine &line, const Leaves &tx, bool credit)
{
    const QStringView party = credit ? u"RltdPties/Dbtr" : u"RltdPties/Cdtr";
    const QString name = tx.first(
        {QString(party + QStringLiteral("/Nm")), QString(party + QStringLiteral("/Pty/Nm"))});
    if (!name.isEmpty())
        line.counterpartyName = name;
    const QString account = tx.first({QString(party + QStringLiteral("Acct/Id/IBAN")),
                                      QString(party + QStringLiteral("Acct/Id/Othr/Id"))});
    if (!account.isEmpty())
        line.counterpartyAccount = account;
    const QString ref = tx.value(u"Refs/AcctSvcrRef");
    if (!ref.isEmpty())
        line.bankReference = ref;
    QString e2e = tx.value(u"Refs/EndToEndId");
    if (e2e == u"NOTPROVIDED")
        e2e.clear();
    if (!e2e.isEmpty())
        line.endToEndId = e2e;
    const QString owner = tx.first({u"Refs/InstrId", u"Refs/MsgId"});
    if (!owner.isEmpty())
        line.accountOwnerReference = owner;
    QString remittance = tx.joined(u"RmtInf/Ustrd");
    const QString structured = tx.joined(u"RmtInf/Strd/CdtrRefInf/Ref");
    if (!structured.isEmpty())
        remittance = remittance.isEmpty() ? structured : remittance + u' ' + structured;
    if (!remittance.isEmpty())
        line.remittance = remittance;
    const QString code = bankTransactionCode(tx, QString());
    if (!code.isEmpty())
        line.bankTransactionCode = code;
    const QString info = tx.joined(u"AddtlTxInf");
    if (!info.isEmpty())
        line.additionalInfo = info;
}

bool CamtReader::readEntry(BankStatement &statement, const QString &label)
{
    m_path.append(label);
    const QString where = m_path.join(u'/');
    Leaves entry;
    QList<TxDraft> txs;
    int details = 0;
    while (nextChild()) {
        const QString name = m_xml.name().toString();
        if (name != u"NtryDtls") {
            if (!readElement(entry, name, 1))
                return false;
            continue;
        }
        m_path.append(indexed(u"NtryDtls", ++details));
        while (nextChild()) {
            const QString child = m_xml.name().toString();
            if (child == u"TxDtls") {
                TxDraft tx;
                const QString txLabel = indexed(u"TxDtls", txs.size() + 1);
                tx.path = pathTo(txLabel);
                m_path.append(txLabel);
                while (nextChild()) {
                    if (!readElement(tx.leaves, m_xml.name().toString(), 1))
                        return false;
                }
                if (m_error)
                    return false;
                m_path.removeLast();
                txs.append(std::move(tx));
            } else {
                Leaves batch;
                if (!readElement(batch, child, 1))
                    return false;
            }
        }
        if (m_error)
            return false;
        m_path.removeLast();
    }
    if (m_error)
        return false;

    BankLine line;
    bool credit = true;
    if (!amountOf(entry, QStringLiteral("Amt"), where, &line.amount, &line.currency, true) ||
        !signOf(entry, QStringLiteral("CdtDbtInd"), where, &credit) ||
        !dateOf(entry, QStringLiteral("BookgDt"), where, &line.bookingDate) ||
        !dateOf(entry, QStringLiteral("ValDt"), where, &line.valueDate))
        return false;
    const QString reversal = entry.value(u"RvslInd");
    line.reversal = reversal == u"true" || reversal == u"1";
    if (!reversal.isEmpty() && !line.reversal && reversal != u"false" && reversal != u"0")
        return fail(where + QStringLiteral("/RvslInd"),
                    QStringLiteral("\"%1\" is not true or false").arg(reversal.left(20)));
    line.status = entry.first({u"Sts", u"Sts/Cd", u"Sts/Prtry"});
    line.bankReference = entry.value(u"AcctSvcrRef");
    line.bankTransactionCode = bankTransactionCode(entry, QString());
    line.additionalInfo = entry.joined(u"AddtlNtryInf");
    line.sourceLocation = where;
    const bool negative = credit == line.reversal; // debit, or a reversed credit
    if (negative)
        line.amount.units = -line.amount.units;

    // A batch entry splits when every TxDtls has an amount in the entry's currency.
    bool split = txs.size() > 1;
    for (const TxDraft &tx : txs) {
        if (!tx.leaves.find(u"Amt") && !tx.leaves.find(u"AmtDtls/TxAmt/Amt"))
            split = false;
    }
    if (!split) {
        if (txs.size() == 1)
            fillFromDetails(line, txs.first().leaves, credit);
        statement.lines.append(std::move(line));
        m_path.removeLast();
        return true;
    }
    BankAmount total{0, line.amount.scale};
    for (const TxDraft &tx : txs) {
        BankLine part = line;
        part.sourceLocation = tx.path;
        const QString amountKey =
            tx.leaves.find(u"Amt") ? QStringLiteral("Amt") : QStringLiteral("AmtDtls/TxAmt/Amt");
        QString currency;
        bool partCredit = credit;
        if (!amountOf(tx.leaves, amountKey, tx.path, &part.amount, &currency, true))
            return false;
        if (currency != line.currency)
            return fail(
                tx.path + u'/' + amountKey,
                QStringLiteral("currency %1 in an entry in %2").arg(currency, line.currency));
        if (tx.leaves.find(u"CdtDbtInd") &&
            !signOf(tx.leaves, QStringLiteral("CdtDbtInd"), tx.path, &partCredit))
            return false;
        if (partCredit == line.reversal)
            part.amount.units = -part.amount.units;
        fillFromDetails(part, tx.leaves, partCredit);
        const auto sum = addAmounts(total, part.amount);
        if (!sum)
            return fail(tx.path, QStringLiteral("the amounts overflow"));
        total = *sum;
        statement.lines.append(std::move(part));
    }
    const auto difference = addAmounts(total, BankAmount{-line.amount.units, line.amount.scale});
    if (!difference || difference->units != 0)
        return fail(where,
                    QStringLiteral("its %1 TxDtls amounts add up to %2, the entry's Amt is %3")
                        .arg(txs.size())
                        .arg(formatAmount(total), formatAmount(line.amount)));
    m_path.removeLast();
    return true;
}

} // namespace

Result<BankFile> parseCamt(const QByteArray &bytes)
{
    // The XML declaration names the encoding; QXmlStreamReader honours it for bytes. Bytes
    // that claim UTF-8 (or nothing) but are not get the same fallback as text files.
    const QByteArrayView head = QByteArrayView(bytes).first(std::min<qsizetype>(bytes.size(), 200));
    const bool declared =
        head.startsWith("<?xml") &&
        head.first(std::max<qsizetype>(head.indexOf("?>"), 0)).contains("encoding");
    const bool bom = bytes.startsWith("\xEF\xBB\xBF") || bytes.startsWith("\xFF\xFE") ||
                     bytes.startsWith("\xFE\xFF");
    QString encoding = QStringLiteral("UTF-8");
    Result<BankFile> result;
    const bool declaredOther = declared && !head.contains("UTF-8") && !head.contains("utf-8");
    if (bom || declaredOther || isValidUtf8(bytes)) {
        CamtReader reader(bytes);
        result = reader.read();
        if (declaredOther && !bom) {
            const qsizetype at = head.indexOf("encoding");
            const qsizetype q1 =
                head.indexOf('"', at) >= 0 ? head.indexOf('"', at) : head.indexOf('\'', at);
            const qsizetype q2 = q1 >= 0 ? head.indexOf(head[q1], q1 + 1) : -1;
            if (q1 >= 0 && q2 > q1)
                encoding = QString::fromLatin1(head.sliced(q1 + 1, q2 - q1 - 1));
        }
    } else {
        // Re-encoded as the UTF-8 the declaration (UTF-8 or none) claims.
        const TextBytes text = prepareText(bytes);
        const QByteArray utf8 = decode(text.bytes, text.encoding).toUtf8();
        CamtReader reader(utf8);
        result = reader.read();
        encoding = encodingName(text.encoding);
    }
    if (result.ok())
        result.value().encoding = encoding;
    return result;
}

} // namespace ledger::recon
