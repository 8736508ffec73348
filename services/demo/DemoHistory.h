#pragma once

#include "domain/Account.h"
#include "domain/Result.h"

#include <QHash>
#include <QList>
#include <QString>

#include <limits>
#include <vector>

namespace ledger {

// A realistic ledger history for the demo data set: customer deposits, card payments,
// fees, interest, refunds, daily card-scheme settlements and a few reversals with their
// maker-checker paper trail, in recorded order. Pure: no database, no clock, deterministic
// for the same accounts and options, so a demo or a test looks the same every time.
// SeedLoader (services/db) turns it into rows; the generator knows nothing of ids.
//
// Sign convention as in the ledger: minor units, debit positive, credit negative; every
// transaction sums to zero (each uses one currency). Times are microseconds since
// 1970-01-01 UTC, the server's own resolution: a QDateTime (milliseconds) would round
// and could place a new entry before an existing one.
//
// Customer accounts may not go negative; the generator keeps every account that refuses
// negative balances at or above zero in recorded order (the order the ledger checks),
// turning a payment or fee the customer cannot afford into a deposit and dropping a
// reversal that would overdraw. It starts every balance at zero, which is safe on top of
// existing data: there, balances are already at or above zero.
class DemoHistory
{
public:
    enum class Kind : quint8 {
        Deposit,        // cash (debit) -> customer (credit)
        CardPayment,    // customer (debit) -> card settlement receivable (credit)
        Fee,            // customer (debit) -> fee income (credit)
        Interest,       // interest expense (debit) -> customer (credit)
        Refund,         // card settlement receivable (debit) -> customer (credit)
        CardSettlement, // the scheme is paid: settlement receivable <-> cash (+ scheme fee)
        Reversal        // mirrors an earlier transaction, every leg negated
    };

    struct Leg
    {
        int account = -1;  // index into accounts()
        qint64 amount = 0; // signed minor units, never zero
    };

    struct Transaction
    {
        Kind kind = Kind::Deposit;
        qint64 recordedAt = 0;  // µs since the epoch; non-decreasing over transactions()
        qint64 effectiveAt = 0; // µs since the epoch
        int firstLeg = 0;       // legs()[firstLeg .. firstLeg + legCount)
        int legCount = 0;
        int reverses = -1;   // Kind::Reversal: index of the original in transactions()
        int reversal = -1;   // Kind::Reversal: index into reversals()
        QString description; // shared with a small pool (implicitly shared QStrings)
        QString externalRef; // null when the posting has none
    };

    // The maker-checker trail of one reversal: requested by one operator, approved by
    // another, then posted (the reversal transaction's recorded time).
    struct Reversal
    {
        int original = -1;    // index into transactions()
        int transaction = -1; // the reversal transaction, index into transactions()
        QString reasonCode;   // DUPLICATE or WRONG_AMOUNT (ledger.reason_codes)
        QString note;
        QString requestedBy;
        QString decidedBy;
        qint64 requestedAt = 0; // after the original was recorded, before the decision
        qint64 decidedAt = 0;   // just after the reversal was recorded
    };

    struct Options
    {
        int transactions = 0; // exactly this many, reversals and settlements included
        int years = 2;        // history spans the last `years` years ...
        qint64 nowUs = 0;     // ... ending shortly (endLagUs) before this time
        qint64 endLagUs = 60'000'000;
        // Nothing may be recorded at or before this (the ledger's latest recorded entry,
        // when seeding on top of existing data): the window shrinks to start after it and,
        // if that leaves less than a second, runs up to nowUs itself.
        qint64 notBeforeUs = std::numeric_limits<qint64>::min();
        quint32 seed = 20261121;
        // ISO 4217 exponents (minor-unit digits); currencies not listed use 2.
        QHash<QString, int> currencyExponents;
    };

    // House accounts are told apart by their codes and kinds (the demo chart has no role
    // field): per currency, a "CASH" asset, a "SETTLE" asset (card settlement receivable),
    // a "FEE" income, an "INTEREST" expense and a "CARD-FEE" expense. Where a currency
    // lacks one, its cash account stands in; customers whose currency has no cash account
    // at all get no history. Customers are the accounts in `customers`.
    static Result<DemoHistory> generate(const QList<NewAccount> &house,
                                        const QList<NewAccount> &customers, const Options &options);

    // House accounts first, then customers, as given to generate().
    const QList<NewAccount> &accounts() const { return m_accounts; }
    const std::vector<Transaction> &transactions() const { return m_transactions; }
    const std::vector<Leg> &legs() const { return m_legs; }
    const std::vector<Reversal> &reversals() const { return m_reversals; }

    // The recorded-time window the history was spread over.
    qint64 windowStartUs() const { return m_windowStart; }
    qint64 windowEndUs() const { return m_windowEnd; }

    // How many transactions are backdated (recorded more than five minutes after their
    // effective time; reversals included, since they keep the original's effective time)
    // and future-dated (effective after recorded).
    qint64 backdatedCount() const;
    qint64 futureDatedCount() const;

private:
    QList<NewAccount> m_accounts;
    std::vector<Transaction> m_transactions;
    std::vector<Leg> m_legs;
    std::vector<Reversal> m_reversals;
    qint64 m_windowStart = 0;
    qint64 m_windowEnd = 0;
};

} // namespace ledger
