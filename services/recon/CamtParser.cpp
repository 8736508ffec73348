#include "recon/CamtParser.h"

#include "recon/BankFileParser.h"
#include "recon/BankText.h"

#include <QXmlStreamReader>

#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <future>
#include <optional>
#include <vector>

namespace ledger::recon {

namespace {

// One leaf the mapping reads: its first occurrence (present even when empty), or, for a
// repeatable one (RmtInf/Ustrd, AddtlTxInf…), its non-empty occurrences joined by spaces.
struct Field
{
    QString text;
    bool present = false;
};

// The leaves of an Ntry (its NtryDtls aside) and of a TxDtls, which share the slots that
// make a BankLine.
enum LineSlot {
    Amt,
    AmtCcy,
    TxAmt, // TxDtls AmtDtls/TxAmt/Amt (.02)
    TxAmtCcy,
    CdtDbtInd,
    BookgDt,
    BookgDtTm,
    ValDt,
    ValDtTm,
    RvslInd,
    Sts,
    StsCd,
    StsPrtry,
    AcctSvcrRef,
    DomnCd,
    FmlyCd,
    SubFmlyCd,
    PrtryCd,
    AddtlNtryInf,
    DbtrNm,
    DbtrPtyNm,
    DbtrIban,
    DbtrOthrId,
    CdtrNm,
    CdtrPtyNm,
    CdtrIban,
    CdtrOthrId,
    RefsAcctSvcrRef,
    RefsEndToEndId,
    RefsInstrId,
    RefsMsgId,
    Ustrd,
    StrdRef,
    AddtlTxInf,
    LineSlotCount
};
enum StatementSlot {
    StmtId,
    ElctrncSeqNb,
    LglSeqNb,
    AcctIban,
    AcctOthrId,
    AcctCcy,
    StmtCreDtTm,
    FrDtTm,
    ToDtTm,
    StatementSlotCount
};
enum BalanceSlot {
    BalCd,
    BalPrtry,
    BalAmt,
    BalAmtCcy,
    BalCdtDbtInd,
    BalDt,
    BalDtTm,
    BalanceSlotCount
};
enum HeaderSlot { MsgId, MsgCreDtTm, HeaderSlotCount };

template <size_t N> using Leaves = std::array<Field, N>;

const QString *find(const Field &field)
{
    return field.present ? &field.text : nullptr;
}

// The first of several alternatives that is present.
template <size_t N>
QString firstOf(const Leaves<N> &leaves, std::initializer_list<int> alternatives)
{
    for (const int slot : alternatives) {
        if (leaves[slot].present)
            return leaves[slot].text;
    }
    return {};
}

constexpr int kRoot = -1;    // the element a PathTable describes the inside of
constexpr int kUnknown = -2; // an element no slot lies in or below

// The paths below one element (Ntry, TxDtls, Stmt, Bal, GrpHdr) whose leaves the mapping
// reads, as a tree of local names. Matching names as they come, instead of building a path
// string for every element and looking leaves up by it, took the time beyond the XML
// reading of a 1M-line file from 7.6 s to 4.2 s (bench_bankparse).
class PathTable
{
public:
    struct Leaf
    {
        QStringView path; // "RltdPties/Dbtr/Pty/Nm"; "Amt@Ccy" for the attribute
        int slot = -1;
        bool joined = false;
    };
    struct Node
    {
        int parent;
        QStringView name;
        int text = -1; // slot of its text (when it has no child element)
        int ccy = -1;  // slot of its Ccy attribute
        bool joined = false;
    };

    PathTable(std::initializer_list<Leaf> leaves)
    {
        for (const Leaf &leaf : leaves) {
            QStringView path = leaf.path;
            const qsizetype at = path.indexOf(u'@');
            const bool attribute = at >= 0;
            if (attribute)
                path = path.first(at);
            int node = kRoot;
            for (const QStringView name : path.tokenize(u'/')) {
                int next = child(node, name);
                if (next == kUnknown) {
                    m_nodes.push_back(Node{node, name});
                    next = int(m_nodes.size()) - 1;
                }
                node = next;
            }
            if (attribute) {
                m_nodes[node].ccy = leaf.slot;
            } else {
                m_nodes[node].text = leaf.slot;
                m_nodes[node].joined = leaf.joined;
            }
        }
    }
    // The child `name` of `node` (kRoot: of the described element), or kUnknown.
    int child(int node, QStringView name) const
    {
        if (node == kUnknown)
            return kUnknown;
        for (size_t i = 0; i < m_nodes.size(); ++i) {
            if (m_nodes[i].parent == node && m_nodes[i].name == name)
                return int(i);
        }
        return kUnknown;
    }
    const Node &operator[](int node) const { return m_nodes[size_t(node)]; }

private:
    std::vector<Node> m_nodes;
};

const PathTable &entryPaths()
{
    static const PathTable table{
        {u"Amt", Amt},
        {u"Amt@Ccy", AmtCcy},
        {u"CdtDbtInd", CdtDbtInd},
        {u"BookgDt/Dt", BookgDt},
        {u"BookgDt/DtTm", BookgDtTm},
        {u"ValDt/Dt", ValDt},
        {u"ValDt/DtTm", ValDtTm},
        {u"RvslInd", RvslInd},
        {u"Sts", Sts},
        {u"Sts/Cd", StsCd},
        {u"Sts/Prtry", StsPrtry},
        {u"AcctSvcrRef", AcctSvcrRef},
        {u"BkTxCd/Domn/Cd", DomnCd},
        {u"BkTxCd/Domn/Fmly/Cd", FmlyCd},
        {u"BkTxCd/Domn/Fmly/SubFmlyCd", SubFmlyCd},
        {u"BkTxCd/Prtry/Cd", PrtryCd},
        {u"AddtlNtryInf", AddtlNtryInf, true},
    };
    return table;
}

const PathTable &transactionPaths()
{
    static const PathTable table{
        {u"Amt", Amt},
        {u"Amt@Ccy", AmtCcy},
        {u"AmtDtls/TxAmt/Amt", TxAmt},
        {u"AmtDtls/TxAmt/Amt@Ccy", TxAmtCcy},
        {u"CdtDbtInd", CdtDbtInd},
        {u"RltdPties/Dbtr/Nm", DbtrNm},
        {u"RltdPties/Dbtr/Pty/Nm", DbtrPtyNm},
        {u"RltdPties/DbtrAcct/Id/IBAN", DbtrIban},
        {u"RltdPties/DbtrAcct/Id/Othr/Id", DbtrOthrId},
        {u"RltdPties/Cdtr/Nm", CdtrNm},
        {u"RltdPties/Cdtr/Pty/Nm", CdtrPtyNm},
        {u"RltdPties/CdtrAcct/Id/IBAN", CdtrIban},
        {u"RltdPties/CdtrAcct/Id/Othr/Id", CdtrOthrId},
        {u"Refs/AcctSvcrRef", RefsAcctSvcrRef},
        {u"Refs/EndToEndId", RefsEndToEndId},
        {u"Refs/InstrId", RefsInstrId},
        {u"Refs/MsgId", RefsMsgId},
        {u"RmtInf/Ustrd", Ustrd, true},
        {u"RmtInf/Strd/CdtrRefInf/Ref", StrdRef, true},
        {u"BkTxCd/Domn/Cd", DomnCd},
        {u"BkTxCd/Domn/Fmly/Cd", FmlyCd},
        {u"BkTxCd/Domn/Fmly/SubFmlyCd", SubFmlyCd},
        {u"BkTxCd/Prtry/Cd", PrtryCd},
        {u"AddtlTxInf", AddtlTxInf, true},
    };
    return table;
}

const PathTable &statementPaths()
{
    static const PathTable table{
        {u"Id", StmtId},
        {u"ElctrncSeqNb", ElctrncSeqNb},
        {u"LglSeqNb", LglSeqNb},
        {u"Acct/Id/IBAN", AcctIban},
        {u"Acct/Id/Othr/Id", AcctOthrId},
        {u"Acct/Ccy", AcctCcy},
        {u"CreDtTm", StmtCreDtTm},
        {u"FrToDt/FrDtTm", FrDtTm},
        {u"FrToDt/ToDtTm", ToDtTm},
    };
    return table;
}

const PathTable &balancePaths()
{
    static const PathTable table{
        {u"Tp/CdOrPrtry/Cd", BalCd}, {u"Tp/CdOrPrtry/Prtry", BalPrtry}, {u"Amt", BalAmt},
        {u"Amt@Ccy", BalAmtCcy},     {u"CdtDbtInd", BalCdtDbtInd},      {u"Dt/Dt", BalDt},
        {u"Dt/DtTm", BalDtTm},
    };
    return table;
}

const PathTable &headerPaths()
{
    static const PathTable table{
        {u"MsgId", MsgId},
        {u"CreDtTm", MsgCreDtTm},
    };
    return table;
}

const PathTable &noPaths()
{
    static const PathTable table{};
    return table;
}

// UTF-16 code units of valid UTF-8 (what QXmlStreamReader counts offsets and columns in):
// every byte but a continuation byte (10xxxxxx), and one more for a four-byte sequence's
// lead (11110xxx). Eight bytes at a time: a byte loop took 0.25 s for 280 MB.
qint64 utf16Length(QByteArrayView utf8)
{
    constexpr quint64 kHigh = 0x8080808080808080ULL;
    const char *p = utf8.data();
    const qsizetype n = utf8.size();
    qint64 units = n;
    qsizetype i = 0;
    for (; i + 8 <= n; i += 8) {
        quint64 w;
        memcpy(&w, p + i, 8);
        const quint64 high = w & kHigh;
        if (!high)
            continue;
        units -= std::popcount(high & ~(w << 1));
        units += std::popcount(high & (w << 1) & (w << 2) & (w << 3));
    }
    for (; i < n; ++i) {
        const auto c = static_cast<unsigned char>(p[i]);
        units -= (c & 0xC0) == 0x80;
        units += c >= 0xF0;
    }
    return units;
}

qsizetype bomLength(QByteArrayView bytes)
{
    return bytes.startsWith("\xEF\xBB\xBF") ? 3 : 0;
}

// Line breaks (LF, CRLF or a lone CR, as QXmlStreamReader counts them) in `text`, and the
// UTF-16 units after the last one.
struct TextPosition
{
    qint64 breaks = 0;
    qint64 column = 0;
};
TextPosition positionAfter(QByteArrayView text)
{
    TextPosition at;
    qsizetype lineStart = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) {
            ++at.breaks;
            lineStart = i + 1;
        }
    }
    at.column = utf16Length(text.sliced(lineStart));
    return at;
}

// A large file read in two halves: the head up to `at` (just after a Stmt/Rpt end tag) by
// one reader, the tail by a second reader that is first given the file's start up to the
// message's start tag (`prefixEnd`), so that it has the same namespace declarations in scope.
struct Cut
{
    qsizetype prefixEnd = 0;
    qsizetype at = 0;
};

// What the second reader needs to name lines and columns as a reader of the whole file
// would: where its tail starts in what it was given, and the file's bytes before the cut.
struct TailOrigin
{
    qint64 prefixBreaks = 0; // line breaks in the prefix it is given before the tail
    qint64 tailStart = 0;    // UTF-16 offset of the tail in what it is given
    QByteArrayView before;   // the file up to the cut, without a BOM
};

// A reader's result before the group header is applied to its statements.
struct CamtPart
{
    std::optional<Error> error;
    BankFile file;
    bool stopped = false; // stopped at the cut
    bool sawGroupHeader = false;
    QString messageId;
    QDateTime messageCreated;
};

class CamtReader
{
public:
    // Reads `prefix` (when not empty), then `body`. Both must outlive the reader: they are
    // fed to QXmlStreamReader in slices.
    CamtReader(QByteArrayView prefix, QByteArrayView body)
        : m_prefix(prefix)
        , m_body(body)
        , m_limit(body.size())
    {
        m_path.reserve(256);
    }
    // The head of a file in two halves: stops after a statement that ends exactly at
    // `cut.at` and is the `statements`-th (known by the time the head gets there); reads on
    // to the end as one reader otherwise.
    void stopAt(const Cut &cut, std::shared_future<int> statements)
    {
        m_limit = cut.at;
        m_statementsToCut = std::move(statements);
    }
    // The tail of a file in two halves, after `statementsBefore` statements; reading ends
    // early once `cancel` is set.
    void continueAfter(int statementsBefore, const TailOrigin &origin,
                       const std::atomic<bool> *cancel)
    {
        m_statementsBefore = statementsBefore;
        m_origin = origin;
        m_cancel = cancel;
    }

    CamtPart read();

private:
    // A step down into a child element while it is read: its name (or label, "Ntry[3]") is
    // on m_path for error messages, and its depth counted.
    class Step
    {
    public:
        Step(CamtReader &reader, QStringView name)
            : m_reader(reader)
            , m_before(reader.m_path.size())
        {
            if (!reader.m_path.isEmpty())
                reader.m_path += u'/';
            reader.m_path += name;
            ++reader.m_depth;
        }
        Step(CamtReader &reader, QStringView name, qint64 index)
            : Step(reader, name)
        {
            reader.m_path += u'[';
            reader.m_path += QString::number(index);
            reader.m_path += u']';
        }
        ~Step()
        {
            m_reader.m_path.truncate(m_before);
            --m_reader.m_depth;
        }
        Step(const Step &) = delete;
        Step &operator=(const Step &) = delete;

    private:
        CamtReader &m_reader;
        qsizetype m_before;
    };

    bool fail(const QString &where, const QString &what)
    {
        if (!m_error)
            m_error = Error::make(Error::Kind::Input, where + QStringLiteral(": ") + what);
        return false;
    }
    // The path of the element being read, as a string of its own.
    QString path() const { return QStringView(m_path).toString(); }
    bool xmlError();
    QXmlStreamReader::TokenType readNext();
    bool feed();
    bool nextToken();
    bool nextChild();
    bool readElement(const PathTable &paths, int node, Field *leaves);
    bool readStatement(BankStatement &statement, QStringView name, int index);
    bool readEntry(BankStatement &statement, int index);
    bool readBalance(BankStatement &statement, int index);
    bool atCut(int statements);
    bool amountOf(const Field &text, const Field &currencyText, const QString &where,
                  QStringView key, BankAmount *amount, QString *currency);
    bool signOf(const Field &field, const QString &where, QStringView key, bool *credit);
    bool dateOf(const Field &dt, const Field &dtTm, const QString &where, QStringView key,
                QDate *date);
    bool dateTimeOf(const Field &field, const QString &where, QStringView key, QDateTime *dateTime);

    struct Transaction
    {
        Leaves<LineSlotCount> leaves;
        QString path;
    };

    QByteArrayView m_prefix;
    QByteArrayView m_body;
    bool m_prefixFed = false;
    qsizetype m_fed = 0;                       // of m_body
    qsizetype m_limit = 0;                     // m_body is fed up to here (the cut, for a head)
    std::shared_future<int> m_statementsToCut; // a head's, until it reads past the cut
    int m_statementsBefore = 0;
    std::optional<TailOrigin> m_origin;
    const std::atomic<bool> *m_cancel = nullptr;
    QXmlStreamReader m_xml;
    QString m_path; // "Document/BkToCstmrStmt/Stmt[2]/Ntry[14]/Amt"
    int m_depth = 0;
    QString m_text;                 // the text of the leaf being read
    std::vector<Transaction> m_txs; // of the entry being read
    std::optional<Error> m_error;
    QString m_format;
    CamtPart m_part;
};

bool CamtReader::xmlError()
{
    qint64 line = m_xml.lineNumber();
    qint64 column = m_xml.columnNumber();
    if (m_origin && line > m_origin->prefixBreaks) {
        // In the tail: where a reader of the whole file would be. The tail's first line is
        // the rest of the line the cut is on.
        const TextPosition cut = positionAfter(m_origin->before);
        if (m_xml.characterOffset() - column == m_origin->tailStart)
            column += cut.column;
        line += cut.breaks - m_origin->prefixBreaks;
    }
    return fail(QStringLiteral("line %1, column %2 (%3)").arg(line).arg(column).arg(m_path),
                m_xml.errorString());
}

// QXmlStreamReader given a whole file decodes all of it to UTF-16 at once (twice the file
// again in memory); fed 1 MB at a time it decodes as it goes. A token cut by a slice's end
// is a PrematureEndOfDocumentError that the next slice resolves.
QXmlStreamReader::TokenType CamtReader::readNext()
{
    for (;;) {
        const auto token = m_xml.readNext();
        if (token != QXmlStreamReader::Invalid ||
            m_xml.error() != QXmlStreamReader::PrematureEndOfDocumentError || !feed())
            return token;
    }
}

// Gives the reader its next slice; false when there is none.
bool CamtReader::feed()
{
    constexpr qsizetype kSlice = 1 << 20;
    if (!m_prefixFed && !m_prefix.isEmpty()) {
        m_prefixFed = true;
        m_xml.addData(QByteArray::fromRawData(m_prefix.data(), m_prefix.size()));
        return true;
    }
    if (m_cancel && m_cancel->load(std::memory_order_relaxed))
        return false;
    if (m_fed >= m_limit) {
        if (m_limit == m_body.size())
            return false;
        // A head that did not stop at the cut (it was in a comment, say): it reads on as
        // the only reader.
        m_limit = m_body.size();
        m_statementsToCut = {};
    }
    const qsizetype size = std::min(kSlice, m_limit - m_fed);
    m_xml.addData(QByteArray::fromRawData(m_body.data() + m_fed, size));
    m_fed += size;
    return true;
}

// Reads the next token; false (with the error set) on an XML error, a DTD or the end of input
// where an element was still open.
bool CamtReader::nextToken()
{
    const auto token = readNext();
    if (token == QXmlStreamReader::Invalid)
        return xmlError();
    if (token == QXmlStreamReader::DTD)
        return fail(m_path, QStringLiteral("a DTD, which no camt file has"));
    if (token == QXmlStreamReader::EndDocument)
        return fail(m_path, QStringLiteral("the document ends inside this element"));
    return true;
}

// Moves to the next child element of the current one: true with the reader on its start;
// false at the current element's end, or on an error (then m_error is set).
bool CamtReader::nextChild()
{
    for (;;) {
        if (!nextToken())
            return false;
        if (m_xml.tokenType() == QXmlStreamReader::EndElement)
            return false;
        if (m_xml.tokenType() == QXmlStreamReader::StartElement)
            return true;
    }
}

// With the reader on the start of an element (a Step into it taken), records the leaves
// `paths` has at or below `node` into `leaves`, and leaves the reader on its end.
bool CamtReader::readElement(const PathTable &paths, int node, Field *leaves)
{
    if (m_depth > BankFileParser::kMaxDepth)
        return fail(
            m_path,
            QStringLiteral("nested deeper than %1 elements").arg(BankFileParser::kMaxDepth));
    const PathTable::Node *known = node >= 0 ? &paths[node] : nullptr;
    // Only amounts carry the currency attribute (Amt, TxAmt…); reading the attributes of
    // every element costs measurably on large files.
    if (known && known->ccy >= 0) {
        const QStringView ccy = m_xml.attributes().value(QLatin1StringView("Ccy"));
        Field &field = leaves[known->ccy];
        if (!ccy.isNull() && !field.present) {
            field.text = ccy.toString();
            field.present = true;
        }
    }
    const bool wantsText = known && known->text >= 0;
    bool hadText = false;
    bool hadChild = false;
    for (;;) {
        if (!nextToken())
            return false;
        switch (m_xml.tokenType()) {
        case QXmlStreamReader::StartElement: {
            hadChild = true;
            const QStringView name = m_xml.name();
            const int child = paths.child(node, name);
            const Step step(*this, name);
            if (!readElement(paths, child, leaves))
                return false;
            break;
        }
        case QXmlStreamReader::Characters:
            if (wantsText && !hadChild) {
                if (!hadText)
                    m_text.resize(0);
                m_text += m_xml.text();
                hadText = true;
            }
            break;
        case QXmlStreamReader::EndElement:
            if (wantsText && !hadChild) {
                // No text is a null string, as trimming an empty one gives.
                const QString text = hadText ? QStringView(m_text).trimmed().toString() : QString();
                Field &field = leaves[known->text];
                if (known->joined) {
                    if (!text.isEmpty()) {
                        if (!field.text.isEmpty())
                            field.text += u' ';
                        field.text += text;
                    }
                } else if (!field.present) {
                    field.text = text;
                    field.present = true;
                }
            }
            return true;
        default:
            break;
        }
    }
}

bool CamtReader::amountOf(const Field &text, const Field &currencyText, const QString &where,
                          QStringView key, BankAmount *amount, QString *currency)
{
    if (!text.present)
        return fail(where + u'/' + key, QStringLiteral("missing"));
    QString why;
    const auto parsed = parseDecimal(text.text, u'.', QChar(), false, &why);
    if (!parsed)
        return fail(where + u'/' + key,
                    QStringLiteral("\"%1\" is not an amount (%2)").arg(text.text.left(40), why));
    *amount = *parsed;
    *currency = currencyText.text;
    if (currency->size() != 3)
        return fail(where + u'/' + key, QStringLiteral("no currency (attribute Ccy)"));
    return true;
}

bool CamtReader::signOf(const Field &field, const QString &where, QStringView key, bool *credit)
{
    const QString &indicator = field.text;
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
bool CamtReader::dateOf(const Field &dt, const Field &dtTm, const QString &where, QStringView key,
                        QDate *date)
{
    const QString *text = find(dt);
    QStringView which = u"/Dt";
    if (!text) {
        text = find(dtTm);
        which = u"/DtTm";
    }
    if (!text)
        return true;
    *date = parseIsoDate(*text);
    if (!date->isValid())
        return fail(where + u'/' + key + which,
                    QStringLiteral("\"%1\" is not a date (YYYY-MM-DD)").arg(text->left(40)));
    return true;
}

bool CamtReader::dateTimeOf(const Field &field, const QString &where, QStringView key,
                            QDateTime *dateTime)
{
    const QString *text = find(field);
    if (!text)
        return true;
    *dateTime = QDateTime::fromString(*text, Qt::ISODateWithMs);
    if (!dateTime->isValid())
        return fail(where + u'/' + key,
                    QStringLiteral("\"%1\" is not a date and time").arg(text->left(40)));
    return true;
}

// After a head's statement: whether it ended at the cut, as the `count`-th statement. Not
// before the last slice is fed.
bool CamtReader::atCut(int count)
{
    if (m_fed < m_limit || count != m_statementsToCut.get())
        return false;
    const QByteArrayView head = m_body.first(m_limit);
    return m_xml.characterOffset() == utf16Length(head.sliced(bomLength(head)));
}

CamtPart CamtReader::read()
{
    auto failed = [this] {
        m_part.error = m_error;
        return std::move(m_part);
    };
    // Document
    for (;;) {
        const auto token = readNext();
        if (token == QXmlStreamReader::Invalid) {
            xmlError();
            return failed();
        }
        if (token == QXmlStreamReader::DTD) {
            fail(QStringLiteral("the prolog"), QStringLiteral("a DTD, which no camt file has"));
            return failed();
        }
        if (token == QXmlStreamReader::EndDocument) {
            fail(QStringLiteral("the file"), QStringLiteral("no XML element"));
            return failed();
        }
        if (token == QXmlStreamReader::StartElement)
            break;
    }
    if (m_xml.name() != u"Document") {
        fail(m_xml.name().toString(),
             QStringLiteral("not a camt document (the root element should be Document)"));
        return failed();
    }
    bool sawMessage = false;
    {
        const Step document(*this, u"Document");
        while (nextChild()) {
            const QStringView message = m_xml.name();
            const bool statement = message == u"BkToCstmrStmt";
            const bool report = message == u"BkToCstmrAcctRpt";
            if ((!statement && !report) || sawMessage) {
                fail(m_path + u'/' + message,
                     sawMessage ? QStringLiteral("a second message in one Document")
                                : QStringLiteral("not a camt.053 statement (BkToCstmrStmt) or "
                                                 "camt.052 report (BkToCstmrAcctRpt)"));
                return failed();
            }
            sawMessage = true;
            m_format = statement ? QStringLiteral("camt.053") : QStringLiteral("camt.052");
            m_part.file.format = m_format;
            const QStringView child = statement ? u"Stmt" : u"Rpt";
            const Step step(*this, message);
            int count = m_statementsBefore;
            while (nextChild()) {
                const QStringView name = m_xml.name();
                if (name == child) {
                    BankStatement s;
                    if (!readStatement(s, child, ++count))
                        return failed();
                    m_part.file.statements.append(std::move(s));
                    if (m_statementsToCut.valid() && atCut(count)) {
                        m_part.stopped = true;
                        return std::move(m_part);
                    }
                } else if (name == u"GrpHdr") {
                    Leaves<HeaderSlotCount> header;
                    {
                        const Step group(*this, name);
                        if (!readElement(headerPaths(), kRoot, header.data()))
                            return failed();
                    }
                    m_part.sawGroupHeader = true;
                    m_part.messageId = header[MsgId].text;
                    if (!dateTimeOf(header[MsgCreDtTm], m_path, u"GrpHdr/CreDtTm",
                                    &m_part.messageCreated))
                        return failed();
                } else {
                    const Step other(*this, name);
                    if (!readElement(noPaths(), kUnknown, nullptr))
                        return failed();
                }
            }
            if (m_error)
                return failed();
        }
        if (m_error)
            return failed();
    }
    // Anything after the root but comments and whitespace is an error too.
    for (;;) {
        const auto token = readNext();
        if (token == QXmlStreamReader::EndDocument)
            break;
        if (token == QXmlStreamReader::Invalid) {
            xmlError();
            return failed();
        }
    }
    if (!sawMessage) {
        fail(QStringLiteral("Document"), QStringLiteral("no BkToCstmrStmt or BkToCstmrAcctRpt"));
        return failed();
    }
    return std::move(m_part);
}

bool CamtReader::readStatement(BankStatement &statement, QStringView name, int index)
{
    const Step step(*this, name, index);
    statement.format = m_format;
    statement.sourceLocation = path();
    Leaves<StatementSlotCount> leaves;
    int entries = 0;
    int balances = 0;
    while (nextChild()) {
        const QStringView child = m_xml.name();
        if (child == u"Ntry") {
            if (!readEntry(statement, ++entries))
                return false;
        } else if (child == u"Bal") {
            if (!readBalance(statement, ++balances))
                return false;
        } else {
            const int node = statementPaths().child(kRoot, child);
            const Step into(*this, child);
            if (!readElement(statementPaths(), node, leaves.data()))
                return false;
        }
    }
    if (m_error)
        return false;
    const QString where = path();
    statement.statementId = leaves[StmtId].text;
    const QString sequence = firstOf(leaves, {ElctrncSeqNb, LglSeqNb});
    if (!sequence.isEmpty()) {
        bool ok = false;
        statement.sequenceNumber = sequence.toLongLong(&ok);
        if (!ok)
            return fail(where + QStringLiteral("/ElctrncSeqNb"),
                        QStringLiteral("\"%1\" is not a number").arg(sequence.left(40)));
    }
    statement.iban = leaves[AcctIban].text;
    statement.accountNumber = leaves[AcctOthrId].text;
    if (statement.iban.isEmpty() && statement.accountNumber.isEmpty())
        return fail(where + QStringLiteral("/Acct"),
                    QStringLiteral("no account (Acct/Id/IBAN or Acct/Id/Othr/Id)"));
    statement.currency = leaves[AcctCcy].text;
    // Acct/Ccy is optional: the balances' currency then (they are in the account's).
    if (statement.currency.isEmpty() && statement.opening)
        statement.currency = statement.opening->currency;
    if (statement.currency.isEmpty() && statement.closing)
        statement.currency = statement.closing->currency;
    return dateTimeOf(leaves[StmtCreDtTm], where, u"CreDtTm", &statement.createdAt) &&
           dateTimeOf(leaves[FrDtTm], where, u"FrToDt/FrDtTm", &statement.from) &&
           dateTimeOf(leaves[ToDtTm], where, u"FrToDt/ToDtTm", &statement.to);
}

bool CamtReader::readBalance(BankStatement &statement, int index)
{
    const Step step(*this, u"Bal", index);
    Leaves<BalanceSlotCount> leaves;
    if (!readElement(balancePaths(), kRoot, leaves.data()))
        return false;
    const QString where = path();
    BankBalance balance;
    balance.code = firstOf(leaves, {BalCd, BalPrtry});
    if (balance.code.isEmpty())
        return fail(where + QStringLiteral("/Tp"), QStringLiteral("no balance type code"));
    bool credit = true;
    if (!amountOf(leaves[BalAmt], leaves[BalAmtCcy], where, u"Amt", &balance.amount,
                  &balance.currency) ||
        !signOf(leaves[BalCdtDbtInd], where, u"CdtDbtInd", &credit) ||
        !dateOf(leaves[BalDt], leaves[BalDtTm], where, u"Dt", &balance.date))
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

QString bankTransactionCode(const Leaves<LineSlotCount> &l)
{
    const QString &domain = l[DomnCd].text;
    if (!domain.isEmpty())
        return domain + u'/' + l[FmlyCd].text + u'/' + l[SubFmlyCd].text;
    return l[PrtryCd].text;
}

// The counterparty of a credit is the debtor, of a debit the creditor (v08 nests the name
// under Pty).
void fillFromDetails(BankLine &line, const Leaves<LineSlotCount> &tx, bool credit)
{
    const QString name =
        credit ? firstOf(tx, {DbtrNm, DbtrPtyNm}) : firstOf(tx, {CdtrNm, CdtrPtyNm});
    if (!name.isEmpty())
        line.counterpartyName = name;
    const QString account =
        credit ? firstOf(tx, {DbtrIban, DbtrOthrId}) : firstOf(tx, {CdtrIban, CdtrOthrId});
    if (!account.isEmpty())
        line.counterpartyAccount = account;
    const QString &ref = tx[RefsAcctSvcrRef].text;
    if (!ref.isEmpty())
        line.bankReference = ref;
    const QString &e2e = tx[RefsEndToEndId].text;
    if (!e2e.isEmpty() && e2e != u"NOTPROVIDED")
        line.endToEndId = e2e;
    const QString owner = firstOf(tx, {RefsInstrId, RefsMsgId});
    if (!owner.isEmpty())
        line.accountOwnerReference = owner;
    QString remittance = tx[Ustrd].text;
    const QString &structured = tx[StrdRef].text;
    if (!structured.isEmpty())
        remittance = remittance.isEmpty() ? structured : remittance + u' ' + structured;
    if (!remittance.isEmpty())
        line.remittance = remittance;
    const QString code = bankTransactionCode(tx);
    if (!code.isEmpty())
        line.bankTransactionCode = code;
    const QString &info = tx[AddtlTxInf].text;
    if (!info.isEmpty())
        line.additionalInfo = info;
}

bool CamtReader::readEntry(BankStatement &statement, int index)
{
    const Step step(*this, u"Ntry", index);
    const QString where = path();
    Leaves<LineSlotCount> entry;
    m_txs.clear();
    int details = 0;
    while (nextChild()) {
        const QStringView name = m_xml.name();
        if (name != u"NtryDtls") {
            const int node = entryPaths().child(kRoot, name);
            const Step into(*this, name);
            if (!readElement(entryPaths(), node, entry.data()))
                return false;
            continue;
        }
        const Step intoDetails(*this, u"NtryDtls", ++details);
        while (nextChild()) {
            const QStringView child = m_xml.name();
            if (child == u"TxDtls") {
                const Step intoTx(*this, u"TxDtls", qint64(m_txs.size()) + 1);
                Transaction &tx = m_txs.emplace_back();
                tx.path = path();
                while (nextChild()) {
                    const QStringView leaf = m_xml.name();
                    const int node = transactionPaths().child(kRoot, leaf);
                    const Step into(*this, leaf);
                    if (!readElement(transactionPaths(), node, tx.leaves.data()))
                        return false;
                }
                if (m_error)
                    return false;
            } else {
                const Step into(*this, child);
                if (!readElement(noPaths(), kUnknown, nullptr))
                    return false;
            }
        }
        if (m_error)
            return false;
    }
    if (m_error)
        return false;

    BankLine line;
    bool credit = true;
    if (!amountOf(entry[Amt], entry[AmtCcy], where, u"Amt", &line.amount, &line.currency) ||
        !signOf(entry[CdtDbtInd], where, u"CdtDbtInd", &credit) ||
        !dateOf(entry[BookgDt], entry[BookgDtTm], where, u"BookgDt", &line.bookingDate) ||
        !dateOf(entry[ValDt], entry[ValDtTm], where, u"ValDt", &line.valueDate))
        return false;
    const QString &reversal = entry[RvslInd].text;
    line.reversal = reversal == u"true" || reversal == u"1";
    if (!reversal.isEmpty() && !line.reversal && reversal != u"false" && reversal != u"0")
        return fail(where + QStringLiteral("/RvslInd"),
                    QStringLiteral("\"%1\" is not true or false").arg(reversal.left(20)));
    line.status = firstOf(entry, {Sts, StsCd, StsPrtry});
    line.bankReference = entry[AcctSvcrRef].text;
    line.bankTransactionCode = bankTransactionCode(entry);
    line.additionalInfo = entry[AddtlNtryInf].text;
    line.sourceLocation = where;
    const bool negative = credit == line.reversal; // debit, or a reversed credit
    if (negative)
        line.amount.units = -line.amount.units;

    // A batch entry splits when every TxDtls has an amount in the entry's currency.
    bool split = m_txs.size() > 1;
    for (const Transaction &tx : m_txs) {
        if (!tx.leaves[Amt].present && !tx.leaves[TxAmt].present)
            split = false;
    }
    if (!split) {
        if (m_txs.size() == 1)
            fillFromDetails(line, m_txs.front().leaves, credit);
        statement.lines.append(std::move(line));
        return true;
    }
    BankAmount total{0, line.amount.scale};
    for (const Transaction &tx : m_txs) {
        BankLine part = line;
        part.sourceLocation = tx.path;
        const bool direct = tx.leaves[Amt].present;
        const QStringView amountKey = direct ? QStringView(u"Amt") : u"AmtDtls/TxAmt/Amt";
        QString currency;
        bool partCredit = credit;
        if (!amountOf(direct ? tx.leaves[Amt] : tx.leaves[TxAmt],
                      direct ? tx.leaves[AmtCcy] : tx.leaves[TxAmtCcy], tx.path, amountKey,
                      &part.amount, &currency))
            return false;
        if (currency != line.currency)
            return fail(
                tx.path + u'/' + amountKey,
                QStringLiteral("currency %1 in an entry in %2").arg(currency, line.currency));
        if (tx.leaves[CdtDbtInd].present &&
            !signOf(tx.leaves[CdtDbtInd], tx.path, u"CdtDbtInd", &partCredit))
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
                        .arg(m_txs.size())
                        .arg(formatAmount(total), formatAmount(line.amount)));
    return true;
}

// The group header's message id and creation time go to every statement without its own.
Result<BankFile> finish(CamtPart &&part)
{
    if (part.error)
        return *part.error;
    for (auto &s : part.file.statements) {
        if (s.messageId.isEmpty())
            s.messageId = part.messageId;
        if (!s.createdAt.isValid())
            s.createdAt = part.messageCreated;
    }
    return std::move(part.file);
}

// The encoding the XML declaration names ("" when it names none).
QByteArrayView declaredEncoding(QByteArrayView bytes)
{
    bytes = bytes.sliced(bomLength(bytes));
    if (!bytes.startsWith("<?xml"))
        return {};
    const qsizetype end = bytes.indexOf("?>");
    if (end < 0)
        return "?";
    const QByteArrayView declaration = bytes.first(end);
    const qsizetype at = declaration.indexOf("encoding");
    if (at < 0)
        return {};
    qsizetype i = at + 8;
    while (i < declaration.size() &&
           (declaration[i] == ' ' || declaration[i] == '=' || declaration[i] == '\t' ||
            declaration[i] == '\r' || declaration[i] == '\n'))
        ++i;
    if (i >= declaration.size() || (declaration[i] != '"' && declaration[i] != '\''))
        return "?";
    const qsizetype close = declaration.indexOf(declaration[i], i + 1);
    if (close < 0)
        return "?";
    return declaration.sliced(i + 1, close - i - 1);
}

bool isNameByte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

// Whether `name` at `at` in `bytes` is a tag's local name: after "<" or "</" (`end`), with
// or without a prefix ("<c:Stmt").
bool tagNameAt(QByteArrayView bytes, qsizetype at, bool end)
{
    qsizetype i = at;
    if (i > 0 && bytes[i - 1] == ':') {
        --i;
        while (i > 0 && isNameByte(bytes[i - 1]))
            --i;
        if (i == at - 1)
            return false; // no prefix before the colon
    }
    if (end)
        return i >= 2 && bytes[i - 1] == '/' && bytes[i - 2] == '<';
    return i >= 1 && bytes[i - 1] == '<';
}

// Where to cut a large camt file for two readers: just after the end tag of a statement at
// or past the middle, found in the bytes. A Stmt end tag inside a comment or CDATA, or a
// count thrown off (countStatements), is caught as the head reads: it stops only where a
// statement really ends at the cut, after as many statements as counted.
std::optional<Cut> findCut(const QByteArray &bytes, bool *statement)
{
    // The message's start tag, by a reader of the file's start: the tail reader reads the
    // file up to there first.
    QXmlStreamReader xml;
    xml.addData(QByteArray::fromRawData(bytes.constData(),
                                        std::min<qsizetype>(bytes.size(), qsizetype(64) * 1024)));
    int elements = 0;
    while (elements < 2) {
        const auto token = xml.readNext();
        if (token == QXmlStreamReader::Invalid || token == QXmlStreamReader::DTD ||
            token == QXmlStreamReader::EndElement || token == QXmlStreamReader::EndDocument)
            return std::nullopt;
        if (token != QXmlStreamReader::StartElement)
            continue;
        ++elements;
        if (elements == 1 && xml.name() != u"Document")
            return std::nullopt;
        if (elements == 2) {
            *statement = xml.name() == u"BkToCstmrStmt";
            if (!*statement && xml.name() != u"BkToCstmrAcctRpt")
                return std::nullopt;
        }
    }
    // From UTF-16 units (after a BOM) to bytes.
    const QByteArrayView all(bytes);
    Cut cut;
    cut.prefixEnd = bomLength(all);
    for (qint64 units = 0; units < xml.characterOffset() && cut.prefixEnd < all.size();
         ++cut.prefixEnd) {
        const auto c = static_cast<unsigned char>(all[cut.prefixEnd]);
        units += ((c & 0xC0) != 0x80) + (c >= 0xF0);
    }
    while (cut.prefixEnd < all.size() &&
           (static_cast<unsigned char>(all[cut.prefixEnd]) & 0xC0) == 0x80)
        ++cut.prefixEnd;
    if (!all.first(cut.prefixEnd).endsWith('>') || all.first(cut.prefixEnd).endsWith("/>"))
        return std::nullopt;

    const QByteArray endName = *statement ? "Stmt>" : "Rpt>";
    for (qsizetype at = all.indexOf(endName, std::max(cut.prefixEnd, all.size() / 2)); at >= 0;
         at = all.indexOf(endName, at + 1)) {
        if (tagNameAt(all, at, true)) {
            cut.at = at + endName.size();
            break;
        }
    }
    if (cut.at <= 0 || cut.at >= all.size())
        return std::nullopt;
    return cut;
}

// The Stmt (Rpt) start tags in `bytes`, "<Stmt>" or "<c:Stmt …>" alike: the statements a
// reader meets there, unless some are in comments or nested elsewhere. memmem, twice as fast
// as QByteArrayView::indexOf here, since this delays the second reader's start.
int countStatements(QByteArrayView bytes, bool statement)
{
    const QByteArrayView name = statement ? "Stmt" : "Rpt";
    int count = 0;
    const char *const begin = bytes.data();
    const char *const end = begin + bytes.size();
    for (const char *p = begin;
         (p = static_cast<const char *>(memmem(p, end - p, name.data(), name.size()))); ++p) {
        const qsizetype at = p - begin;
        const char after = at + name.size() < bytes.size() ? bytes[at + name.size()] : '\0';
        if ((after == '>' || after == '/' || after == ' ' || after == '\t' || after == '\r' ||
             after == '\n') &&
            tagNameAt(bytes, at, false))
            ++count;
    }
    return count;
}

Result<BankFile> readCamt(const QByteArray &bytes, bool mayHalve, bool *readInHalves)
{
    bool statement = true;
    const std::optional<Cut> cut = mayHalve ? findCut(bytes, &statement) : std::nullopt;
    if (!cut)
        return finish(CamtReader({}, bytes).read());
    // A large file in two halves, the second on another thread. The first reader stops at
    // the cut only where a reader of the whole file would be between two statements;
    // elsewhere it reads on to the end and the second reader's work is dropped.
    const QByteArrayView all(bytes);
    const QByteArray prefix = all.first(cut->prefixEnd).toByteArray() + '\n';
    TailOrigin origin;
    origin.prefixBreaks = positionAfter(prefix).breaks;
    origin.tailStart = utf16Length(QByteArrayView(prefix).sliced(bomLength(prefix)));
    origin.before = all.first(cut->at).sliced(bomLength(all));
    std::atomic<bool> cancel{false};
    std::promise<int> statementsToCut;
    std::shared_future<int> statementsBefore = statementsToCut.get_future().share();
    auto tail = std::async(std::launch::async, [&] {
        statementsToCut.set_value(
            countStatements(all.first(cut->at).sliced(cut->prefixEnd), statement));
        CamtReader reader(prefix, all.sliced(cut->at));
        reader.continueAfter(statementsBefore.get(), origin, &cancel);
        return reader.read();
    });
    CamtReader headReader({}, all);
    headReader.stopAt(*cut, statementsBefore);
    CamtPart head = headReader.read();
    if (head.error || !head.stopped)
        cancel = true;
    CamtPart second = tail.get();
    if (head.error || !head.stopped)
        return finish(std::move(head));
    if (readInHalves)
        *readInHalves = true;
    if (second.error)
        return *second.error;
    // The later group header wins, as for one reader.
    if (second.sawGroupHeader)
        head.messageId = second.messageId;
    if (second.messageCreated.isValid())
        head.messageCreated = second.messageCreated;
    head.file.statements.append(std::move(second.file.statements));
    return finish(std::move(head));
}

} // namespace

Result<BankFile> parseCamt(const QByteArray &bytes, qsizetype twoThreadsAbove, bool *readInHalves)
{
    if (readInHalves)
        *readInHalves = false;
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
    // Two readers only for UTF-8 read as such: the cut and the line and column numbers of
    // the second half are worked out in UTF-8.
    auto mayHalve = [twoThreadsAbove](const QByteArray &text, bool checkedUtf8) {
        if (text.size() <= twoThreadsAbove || text.startsWith("\xFF\xFE") ||
            text.startsWith("\xFE\xFF"))
            return false;
        const QByteArrayView named = declaredEncoding(text);
        if (!named.isEmpty() && qstrnicmp(named.data(), named.size(), "UTF-8", 5) != 0)
            return false;
        return checkedUtf8 || isValidUtf8(text);
    };
    if (bom || declaredOther || isValidUtf8(bytes)) {
        const bool checked = !bom && !declaredOther;
        result = readCamt(bytes, mayHalve(bytes, checked), readInHalves);
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
        result = readCamt(utf8, mayHalve(utf8, true), readInHalves);
        encoding = encodingName(text.encoding);
    }
    if (result.ok())
        result.value().encoding = encoding;
    return result;
}

} // namespace ledger::recon
