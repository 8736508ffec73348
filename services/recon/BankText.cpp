#include "recon/BankText.h"

#include <QStringDecoder>

#include <limits>

namespace ledger::recon {

namespace {

// Windows-1252's 0x80..0x9F; 0 where the code page leaves the byte undefined.
constexpr char16_t kCp1252High[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

} // namespace

QString encodingName(TextEncoding encoding)
{
    switch (encoding) {
    case TextEncoding::Utf8:
        return QStringLiteral("UTF-8");
    case TextEncoding::Windows1252:
        return QStringLiteral("windows-1252");
    case TextEncoding::Latin1:
        return QStringLiteral("ISO-8859-1");
    }
    return {};
}

std::optional<TextEncoding> encodingByName(QStringView name)
{
    const QString n = name.trimmed().toString().toLower();
    if (n == u"utf-8" || n == u"utf8")
        return TextEncoding::Utf8;
    if (n == u"windows-1252" || n == u"cp1252" || n == u"win-1252")
        return TextEncoding::Windows1252;
    if (n == u"iso-8859-1" || n == u"latin1" || n == u"latin-1" || n == u"iso8859-1")
        return TextEncoding::Latin1;
    return std::nullopt;
}

bool isValidUtf8(QByteArrayView bytes)
{
    const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
    const qsizetype n = bytes.size();
    qsizetype i = 0;
    while (i < n) {
        // ASCII runs eight bytes at a time.
        while (i + 8 <= n) {
            quint64 word;
            memcpy(&word, p + i, 8);
            if (word & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        const unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        int extra;
        char32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= n)
            return false;
        for (int k = 1; k <= extra; ++k) {
            const unsigned char cc = p[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

bool isWindows1252(QByteArrayView bytes)
{
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D)
            return false;
    }
    return true;
}

TextBytes prepareText(const QByteArray &raw, std::optional<TextEncoding> forced)
{
    TextBytes out;
    if (raw.startsWith("\xEF\xBB\xBF")) {
        out.bytes = raw.sliced(3);
        out.encoding = TextEncoding::Utf8;
        return out;
    }
    const bool le = raw.startsWith("\xFF\xFE");
    if (le || raw.startsWith("\xFE\xFF")) {
        auto decoder = QStringDecoder(le ? QStringDecoder::Utf16LE : QStringDecoder::Utf16BE);
        const QString text = decoder(QByteArrayView(raw).sliced(2));
        out.bytes = text.toUtf8();
        out.encoding = TextEncoding::Utf8;
        return out;
    }
    out.bytes = raw;
    if (forced)
        out.encoding = *forced;
    else if (isValidUtf8(raw))
        out.encoding = TextEncoding::Utf8;
    else if (isWindows1252(raw))
        out.encoding = TextEncoding::Windows1252;
    else
        out.encoding = TextEncoding::Latin1;
    return out;
}

QString decode(QByteArrayView bytes, TextEncoding encoding)
{
    switch (encoding) {
    case TextEncoding::Utf8:
        return QString::fromUtf8(bytes);
    case TextEncoding::Latin1:
        return QString::fromLatin1(bytes);
    case TextEncoding::Windows1252: {
        QString s(bytes.size(), Qt::Uninitialized);
        QChar *d = s.data();
        for (qsizetype i = 0; i < bytes.size(); ++i) {
            const auto c = static_cast<unsigned char>(bytes[i]);
            char16_t u = c;
            if (c >= 0x80 && c <= 0x9F && kCp1252High[c - 0x80] != 0)
                u = kCp1252High[c - 0x80];
            d[i] = QChar(u);
        }
        return s;
    }
    }
    return {};
}

bool LineSplitter::next(QByteArrayView *line)
{
    if (m_pos >= m_bytes.size())
        return false;
    const qsizetype nl = m_bytes.indexOf('\n', m_pos);
    qsizetype end = nl < 0 ? m_bytes.size() : nl;
    *line = m_bytes.sliced(m_pos, end - m_pos);
    if (line->endsWith('\r'))
        line->chop(1);
    m_pos = nl < 0 ? m_bytes.size() : nl + 1;
    ++m_lineNumber;
    return true;
}

std::optional<BankAmount> parseDecimal(QStringView text, QChar point, QChar thousands,
                                       bool allowSign, QString *why)
{
    text = text.trimmed();
    if (text.isEmpty()) {
        *why = QStringLiteral("no amount");
        return std::nullopt;
    }
    bool negative = false;
    qsizetype i = 0;
    if (text[0] == u'-' || text[0] == u'+') {
        if (!allowSign) {
            *why = QStringLiteral("a sign where none is allowed");
            return std::nullopt;
        }
        negative = text[0] == u'-';
        ++i;
    }
    qint64 units = 0;
    int scale = 0;
    int digits = 0;
    int significant = 0;
    bool seenPoint = false;
    bool lastWasDigit = false;
    for (; i < text.size(); ++i) {
        const QChar c = text[i];
        if (c >= u'0' && c <= u'9') {
            if (significant > 0 || c != u'0')
                ++significant;
            if (significant > 18) {
                *why = QStringLiteral("more than 18 digits");
                return std::nullopt;
            }
            units = units * 10 + (c.unicode() - u'0');
            ++digits;
            if (seenPoint)
                ++scale;
            lastWasDigit = true;
        } else if (c == point && !seenPoint) {
            seenPoint = true;
            lastWasDigit = false;
        } else if (!thousands.isNull() && c == thousands && !seenPoint && lastWasDigit &&
                   i + 1 < text.size() && text[i + 1].isDigit()) {
            lastWasDigit = false;
        } else {
            *why = QStringLiteral("unexpected '%1'").arg(c);
            return std::nullopt;
        }
    }
    if (digits == 0) {
        *why = QStringLiteral("no digits");
        return std::nullopt;
    }
    return BankAmount{negative ? -units : units, scale};
}

QString formatAmount(const BankAmount &amount)
{
    const bool negative = amount.units < 0;
    // Magnitude as unsigned: qint64's minimum has no positive counterpart.
    quint64 mag = negative ? quint64(0) - quint64(amount.units) : quint64(amount.units);
    QString digits = QString::number(mag);
    if (amount.scale > 0) {
        if (digits.size() <= amount.scale)
            digits.prepend(QString(amount.scale - digits.size() + 1, u'0'));
        digits.insert(digits.size() - amount.scale, u'.');
    }
    return negative ? u'-' + digits : digits;
}

std::optional<BankAmount> addAmounts(const BankAmount &a, const BankAmount &b)
{
    const int scale = std::max(a.scale, b.scale);
    auto widen = [scale](const BankAmount &x) -> std::optional<qint64> {
        qint64 v = x.units;
        for (int s = x.scale; s < scale; ++s) {
            if (__builtin_mul_overflow(v, qint64(10), &v))
                return std::nullopt;
        }
        return v;
    };
    const auto wa = widen(a);
    const auto wb = widen(b);
    qint64 sum;
    if (!wa || !wb || __builtin_add_overflow(*wa, *wb, &sum))
        return std::nullopt;
    return BankAmount{sum, scale};
}

bool isIban(QStringView s)
{
    if (s.size() < 15 || s.size() > 34 || !s[0].isUpper() || !s[1].isUpper() || !s[2].isDigit() ||
        !s[3].isDigit())
        return false;
    int remainder = 0;
    for (qsizetype k = 0; k < s.size(); ++k) {
        const QChar c = s[(k + 4) % s.size()];
        if (c >= u'0' && c <= u'9') {
            remainder = (remainder * 10 + (c.unicode() - u'0')) % 97;
        } else if (c >= u'A' && c <= u'Z') {
            remainder = (remainder * 100 + (c.unicode() - u'A' + 10)) % 97;
        } else {
            return false;
        }
    }
    return remainder == 1;
}

QDate parseIsoDate(QStringView text)
{
    if (text.size() < 10 || text[4] != u'-' || text[7] != u'-')
        return {};
    auto num = [&](qsizetype from, qsizetype len) {
        int v = 0;
        for (qsizetype i = from; i < from + len; ++i) {
            const QChar c = text[i];
            if (c < u'0' || c > u'9')
                return -1;
            v = v * 10 + (c.unicode() - u'0');
        }
        return v;
    };
    const int y = num(0, 4), m = num(5, 2), d = num(8, 2);
    if (y < 0 || m < 0 || d < 0)
        return {};
    if (text.size() > 10 && text[10] != u'T' && text[10] != u'+' && text[10] != u'-' &&
        text[10] != u'Z')
        return {};
    return QDate(y, m, d);
}

} // namespace ledger::recon
