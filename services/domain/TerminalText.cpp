#include "TerminalText.h"

namespace ledger {

namespace {

// \xHH, \uHHHH or \UHHHHHHHH, as Python's repr() names a code point.
void appendCodePointEscape(QString &to, char32_t c)
{
    if (c < 0x100)
        to += QStringLiteral("\\x%1").arg(uint(c), 2, 16, QLatin1Char('0'));
    else if (c < 0x10000)
        to += QStringLiteral("\\u%1").arg(uint(c), 4, 16, QLatin1Char('0'));
    else
        to += QStringLiteral("\\U%1").arg(uint(c), 8, 16, QLatin1Char('0'));
}

bool needsTerminalEscape(char32_t c)
{
    return c == U'\\' || QChar::isSurrogate(c) || isTerminalUnsafe(c);
}

} // namespace

bool isTerminalUnsafe(char32_t c)
{
    switch (QChar::category(c)) {
    case QChar::Other_Control:
    case QChar::Other_Format:
    case QChar::Separator_Line:
    case QChar::Separator_Paragraph:
        return true;
    default:
        return false;
    }
}

std::pair<char32_t, qsizetype> codePointAt(const QString &s, qsizetype i)
{
    const QChar c = s.at(i);
    if (c.isHighSurrogate() && i + 1 < s.size() && s.at(i + 1).isLowSurrogate())
        return {QChar::surrogateToUcs4(c, s.at(i + 1)), 2};
    return {c.unicode(), 1};
}

QString terminalSafe(const QString &value)
{
    qsizetype i = 0;
    while (i < value.size()) {
        const auto [c, units] = codePointAt(value, i);
        if (needsTerminalEscape(c))
            break;
        i += units;
    }
    if (i == value.size())
        return value; // the usual case: nothing to escape, no copy

    QString safe = value.left(i);
    safe.reserve(value.size() + 16);
    while (i < value.size()) {
        const auto [c, units] = codePointAt(value, i);
        switch (c) {
        case U'\\':
            safe += QLatin1String("\\\\");
            break;
        case U'\n':
            safe += QLatin1String("\\n");
            break;
        case U'\r':
            safe += QLatin1String("\\r");
            break;
        case U'\t':
            safe += QLatin1String("\\t");
            break;
        default:
            if (QChar::isSurrogate(c) || isTerminalUnsafe(c))
                appendCodePointEscape(safe, c);
            else
                safe += QStringView(value).mid(i, units);
        }
        i += units;
    }
    return safe;
}

} // namespace ledger
