#include "DemoChart.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <random>

namespace ledger {

namespace {

QStringList strings(const QJsonValue &v)
{
    QStringList out;
    for (const QJsonValue &item : v.toArray())
        out.append(item.toString());
    return out;
}

} // namespace

Result<DemoChart> DemoChart::load(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return Error::make(
            Error::Kind::Io,
            QStringLiteral("Cannot read the demo profile %1: %2").arg(path, f.errorString()));
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &parseError);
    if (doc.isNull())
        return Error::make(Error::Kind::Input, QStringLiteral("The demo profile %1 is not valid "
                                                              "JSON: %2 at offset %3")
                                                   .arg(path, parseError.errorString())
                                                   .arg(parseError.offset));
    const QJsonObject root = doc.object();
    DemoChart chart;
    for (const QJsonValue &v : root.value(QStringLiteral("house_accounts")).toArray()) {
        const QJsonObject o = v.toObject();
        NewAccount a;
        a.code = o.value(QStringLiteral("code")).toString();
        a.name = o.value(QStringLiteral("name")).toString();
        a.currency = o.value(QStringLiteral("currency")).toString();
        const auto kind = accountKindFromString(o.value(QStringLiteral("kind")).toString());
        if (a.code.isEmpty() || a.name.isEmpty() || a.currency.size() != 3 || !kind)
            return Error::make(Error::Kind::Input,
                               QStringLiteral("The demo profile %1 has an incomplete house "
                                              "account entry (%2).")
                                   .arg(path, a.code));
        a.kind = *kind;
        a.allowNegative = !o.value(QStringLiteral("no_negative")).toBool(false);
        chart.m_house.append(a);
    }
    const QJsonObject customers = root.value(QStringLiteral("customers")).toObject();
    chart.m_customerPrefix = customers.value(QStringLiteral("code_prefix")).toString();
    chart.m_firstNames = strings(customers.value(QStringLiteral("first_names")));
    chart.m_lastNames = strings(customers.value(QStringLiteral("last_names")));
    chart.m_currencies = strings(customers.value(QStringLiteral("currencies")));
    if (chart.m_customerPrefix.isEmpty() || chart.m_firstNames.isEmpty() ||
        chart.m_lastNames.isEmpty() || chart.m_currencies.isEmpty())
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The demo profile %1 lacks customer names, currencies "
                                          "or a code prefix.")
                               .arg(path));
    return chart;
}

QList<NewAccount> DemoChart::customerAccounts(int count, quint32 seed) const
{
    std::mt19937 rng(seed);
    auto pick = [&rng](const QStringList &list) {
        return list.at(int(std::uniform_int_distribution<qsizetype>(0, list.size() - 1)(rng)));
    };
    QList<NewAccount> out;
    out.reserve(count);
    for (int i = 1; i <= count; ++i) {
        NewAccount a;
        a.code = m_customerPrefix + QStringLiteral("%1").arg(i, 6, 10, QLatin1Char('0'));
        a.name = pick(m_firstNames) + QLatin1Char(' ') + pick(m_lastNames) +
                 QStringLiteral(" — current account");
        a.currency = pick(m_currencies);
        a.kind = AccountKind::Liability; // the bank owes its customers their deposits
        a.allowNegative = false;
        out.append(a);
    }
    return out;
}

} // namespace ledger
