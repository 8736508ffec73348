#pragma once

#include "Money.h"

#include <QDateTime>
#include <QList>
#include <QMetaType>
#include <QString>

#include <optional>

namespace ledger {

enum class AccountKind { Asset, Liability, Equity, Income, Expense };

// Debit-normal: assets and expenses. Credit-normal: liabilities, equity, income.
enum class Side { Debit, Credit };

QString toString(AccountKind kind);
std::optional<AccountKind> accountKindFromString(const QString &text);
Side normalSide(AccountKind kind);
QString toString(Side side);

// A ledger account as the console lists it.
struct Account
{
    qint64 id = 0;
    QString code;
    QString name;
    QString currency; // ISO 4217 alphabetic code
    AccountKind kind = AccountKind::Asset;
    bool allowNegative = true;
    QDateTime openedAt;
    Money balance; // on the account's normal side (a positive balance is the usual one)
    qint64 entryCount = 0;
};

// What it takes to open one.
struct NewAccount
{
    QString code;
    QString name;
    QString currency;
    AccountKind kind = AccountKind::Asset;
    bool allowNegative = true;
};

} // namespace ledger

Q_DECLARE_METATYPE(ledger::Account)
