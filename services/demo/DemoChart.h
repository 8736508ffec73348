#pragma once

#include "domain/Account.h"
#include "domain/Result.h"

#include <QList>

namespace ledger {

// The demo data profile (resources/demo/chart-of-accounts.json): the bank's own house
// accounts plus generated customer deposit accounts with plausible names. Deterministic
// for a given seed, so two demo set-ups look alike.
class DemoChart
{
public:
    static Result<DemoChart>
    load(const QString &path = QStringLiteral(":/demo/chart-of-accounts.json"));

    QList<NewAccount> houseAccounts() const { return m_house; }
    QList<NewAccount> customerAccounts(int count, quint32 seed = 20261121) const;

private:
    QList<NewAccount> m_house;
    QStringList m_firstNames;
    QStringList m_lastNames;
    QStringList m_currencies; // weighted by repetition
    QString m_customerPrefix;
};

} // namespace ledger
