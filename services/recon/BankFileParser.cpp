#include "recon/BankFileParser.h"

#include "recon/BankText.h"
#include "recon/CamtParser.h"
#include "recon/CsvParser.h"
#include "recon/Mt940Parser.h"

#include <QJsonValue>

namespace ledger {

namespace {

struct ColumnField
{
    const char *key;
    QString CsvProfile::*member;
};

constexpr ColumnField kTextFields[] = {
    {"amountColumn", &CsvProfile::amountColumn},
    {"debitColumn", &CsvProfile::debitColumn},
    {"creditColumn", &CsvProfile::creditColumn},
    {"currencyColumn", &CsvProfile::currencyColumn},
    {"currency", &CsvProfile::currency},
    {"bookingDateColumn", &CsvProfile::bookingDateColumn},
    {"valueDateColumn", &CsvProfile::valueDateColumn},
    {"referenceColumn", &CsvProfile::referenceColumn},
    {"endToEndColumn", &CsvProfile::endToEndColumn},
    {"counterpartyNameColumn", &CsvProfile::counterpartyNameColumn},
    {"counterpartyAccountColumn", &CsvProfile::counterpartyAccountColumn},
    {"remittanceColumn", &CsvProfile::remittanceColumn},
    {"accountColumn", &CsvProfile::accountColumn},
    {"account", &CsvProfile::account},
};

Error profileError(const char *field, const QString &what)
{
    return Error::make(Error::Kind::Input,
                       QStringLiteral("CSV profile: %1 %2").arg(QLatin1StringView(field), what));
}

} // namespace

QJsonObject CsvProfile::toJson() const
{
    QJsonObject json;
    json.insert(QLatin1StringView("name"), name);
    json.insert(QLatin1StringView("delimiter"), QString(delimiter));
    json.insert(QLatin1StringView("quote"), QString(quote));
    json.insert(QLatin1StringView("decimalComma"), decimalComma);
    json.insert(QLatin1StringView("dateFormat"), dateFormat);
    json.insert(QLatin1StringView("headerRows"), headerRows);
    json.insert(QLatin1StringView("encoding"), encoding);
    json.insert(QLatin1StringView("debitIsNegative"), debitIsNegative);
    for (const ColumnField &f : kTextFields) {
        if (!(this->*f.member).isEmpty())
            json.insert(QLatin1StringView(f.key), this->*f.member);
    }
    return json;
}

Result<CsvProfile> CsvProfile::fromJson(const QJsonObject &json)
{
    CsvProfile p;
    auto text = [&](const char *key, QString *out, bool required) -> std::optional<Error> {
        const QJsonValue v = json.value(QLatin1StringView(key));
        if (v.isUndefined() || v.isNull()) {
            if (required)
                return profileError(key, QStringLiteral("is missing"));
            return std::nullopt;
        }
        if (!v.isString())
            return profileError(key, QStringLiteral("should be text"));
        *out = v.toString();
        return std::nullopt;
    };
    auto character = [&](const char *key, QChar *out) -> std::optional<Error> {
        QString s;
        if (auto e = text(key, &s, false))
            return e;
        if (json.contains(QLatin1StringView(key))) {
            if (s.size() != 1 || s[0] == u'\n' || s[0] == u'\r')
                return profileError(key,
                                    QStringLiteral("should be one character (not a line break)"));
            *out = s[0];
        }
        return std::nullopt;
    };
    auto boolean = [&](const char *key, bool *out) -> std::optional<Error> {
        const QJsonValue v = json.value(QLatin1StringView(key));
        if (v.isUndefined())
            return std::nullopt;
        if (!v.isBool())
            return profileError(key, QStringLiteral("should be true or false"));
        *out = v.toBool();
        return std::nullopt;
    };
    if (auto e = text("name", &p.name, true))
        return *e;
    if (p.name.trimmed().isEmpty())
        return profileError("name", QStringLiteral("is empty"));
    if (auto e = character("delimiter", &p.delimiter))
        return *e;
    if (auto e = character("quote", &p.quote))
        return *e;
    if (p.quote == p.delimiter)
        return profileError("quote", QStringLiteral("is the same character as the delimiter"));
    if (auto e = boolean("decimalComma", &p.decimalComma))
        return *e;
    if (auto e = boolean("debitIsNegative", &p.debitIsNegative))
        return *e;
    if (auto e = text("dateFormat", &p.dateFormat, false))
        return *e;
    if (p.dateFormat.trimmed().isEmpty())
        return profileError("dateFormat", QStringLiteral("is empty"));
    if (auto e = text("encoding", &p.encoding, false))
        return *e;
    if (p.encoding.compare(u"auto", Qt::CaseInsensitive) != 0 && !recon::encodingByName(p.encoding))
        return profileError("encoding",
                            QStringLiteral("\"%1\" is not auto, UTF-8, windows-1252 or ISO-8859-1")
                                .arg(p.encoding));
    const QJsonValue rows = json.value(QLatin1StringView("headerRows"));
    if (!rows.isUndefined()) {
        if (!rows.isDouble() || rows.toDouble() != double(rows.toInt()) || rows.toInt() < 0 ||
            rows.toInt() > 100)
            return profileError("headerRows",
                                QStringLiteral("should be a whole number from 0 to 100"));
        p.headerRows = rows.toInt();
    }
    for (const ColumnField &f : kTextFields) {
        if (auto e = text(f.key, &(p.*f.member), false))
            return *e;
    }
    if (p.bookingDateColumn.isEmpty())
        return profileError("bookingDateColumn", QStringLiteral("is missing"));
    const bool single = !p.amountColumn.isEmpty();
    const bool pair = !p.debitColumn.isEmpty() && !p.creditColumn.isEmpty();
    if (single == pair)
        return profileError("amountColumn",
                            QStringLiteral("or both debitColumn and creditColumn must be given "
                                           "(one way, not both)"));
    if (p.currency.isEmpty() && p.currencyColumn.isEmpty())
        return profileError("currency", QStringLiteral("or currencyColumn must be given"));
    return p;
}

namespace BankFileParser {

Format detect(const QByteArray &bytes)
{
    QByteArrayView head = QByteArrayView(bytes).first(std::min<qsizetype>(bytes.size(), 4096));
    QByteArray converted;
    if (head.startsWith("\xFF\xFE") || head.startsWith("\xFE\xFF")) {
        converted = recon::prepareText(head.toByteArray()).bytes;
        head = converted;
    } else if (head.startsWith("\xEF\xBB\xBF")) {
        head = head.sliced(3);
    }
    head = head.trimmed();
    if (head.startsWith('<'))
        return Format::Camt;
    if (head.startsWith("{1:") || head.startsWith(":20:") || head.contains("\n:20:") ||
        head.contains("{4:"))
        return Format::Mt940;
    return Format::Auto;
}

Result<BankFile> parse(const QByteArray &bytes, Format format, const CsvProfile *profile)
{
    if (bytes.size() > kMaxFileBytes)
        return Error::make(Error::Kind::Input,
                           QStringLiteral("the file is larger than %1 bytes").arg(kMaxFileBytes));
    if (format == Format::Auto)
        format = detect(bytes);
    switch (format) {
    case Format::Camt:
        return recon::parseCamt(bytes);
    case Format::Mt940:
        return recon::parseMt940(bytes);
    case Format::Csv:
        if (!profile)
            return Error::make(Error::Kind::Input,
                               QStringLiteral("a CSV file needs a column profile"));
        return recon::parseCsv(bytes, *profile);
    case Format::Auto:
        break;
    }
    return Error::make(Error::Kind::Input,
                       QStringLiteral("the file is neither camt XML nor MT940/MT942 (a CSV "
                                      "file needs its column profile)"));
}

} // namespace BankFileParser

} // namespace ledger
