#include "SpreadsheetText.h"

namespace ledger {

namespace {

bool isDigit(QChar c)
{
    return c >= QLatin1Char('0') && c <= QLatin1Char('9');
}

bool allDigits(QStringView s)
{
    if (s.isEmpty())
        return false;
    for (QChar c : s) {
        if (!isDigit(c))
            return false;
    }
    return true;
}

} // namespace

bool isPlainDecimal(QStringView text)
{
    if (text.startsWith(QLatin1Char('-')))
        text = text.mid(1);
    const qsizetype dot = text.indexOf(QLatin1Char('.'));
    if (dot < 0)
        return allDigits(text);
    return allDigits(text.left(dot)) && allDigits(text.mid(dot + 1));
}

QString spreadsheetSafe(const QString &cell)
{
    if (cell.isEmpty())
        return cell;
    const QChar first = cell.front();
    const bool formulaStart = first == QLatin1Char('=') || first == QLatin1Char('+') ||
                              first == QLatin1Char('@') || first == QLatin1Char('\t') ||
                              first == QLatin1Char('\r') ||
                              (first == QLatin1Char('-') && !isPlainDecimal(cell));
    return formulaStart ? QLatin1Char('\'') + cell : cell;
}

QString csvField(const QString &cell)
{
    if (!cell.contains(QLatin1Char(',')) && !cell.contains(QLatin1Char('"')) &&
        !cell.contains(QLatin1Char('\n')) && !cell.contains(QLatin1Char('\r')))
        return cell;
    QString quoted = cell;
    quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

} // namespace ledger
