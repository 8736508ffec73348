#include "Account.h"

namespace ledger {

QString toString(AccountKind kind)
{
    switch (kind) {
    case AccountKind::Asset:
        return QStringLiteral("asset");
    case AccountKind::Liability:
        return QStringLiteral("liability");
    case AccountKind::Equity:
        return QStringLiteral("equity");
    case AccountKind::Income:
        return QStringLiteral("income");
    case AccountKind::Expense:
        return QStringLiteral("expense");
    }
    return {};
}

std::optional<AccountKind> accountKindFromString(const QString &text)
{
    for (auto kind : {AccountKind::Asset, AccountKind::Liability, AccountKind::Equity,
                      AccountKind::Income, AccountKind::Expense}) {
        if (text.compare(toString(kind), Qt::CaseInsensitive) == 0)
            return kind;
    }
    return std::nullopt;
}

Side normalSide(AccountKind kind)
{
    return (kind == AccountKind::Asset || kind == AccountKind::Expense) ? Side::Debit
                                                                        : Side::Credit;
}

QString toString(Side side)
{
    return side == Side::Debit ? QStringLiteral("debit") : QStringLiteral("credit");
}

} // namespace ledger
