#include "DemoHistory.h"

#include <QStringList>

#include <algorithm>
#include <cmath>
#include <queue>
#include <random>

namespace ledger {

namespace {

constexpr qint64 kSecond = 1'000'000;
constexpr qint64 kMinute = 60 * kSecond;
constexpr qint64 kHour = 60 * kMinute;
constexpr qint64 kDay = 24 * kHour;
constexpr qint64 kYear = 365 * kDay + 6 * kHour;

// The ledger's threshold for "late" entries (ledger.late_after()): backdated ones must be
// later than this to land in the entries_late index the point-in-time balance relies on.
constexpr qint64 kLateAfter = 5 * kMinute;

// Shares of the transactions that are not settlements or reversals.
constexpr double kBackdatedShare = 0.02;
constexpr double kFutureDatedShare = 0.005;
// Scheduled slightly above 0.5 % because reversals that would fall after the window's end,
// or would overdraw a customer, are dropped.
constexpr double kReversalShare = 0.0055;

// The house accounts one currency's postings use. Missing roles fall back to cash.
struct CurrencyBook
{
    int cash = -1;
    int settlement = -1;
    int feeIncome = -1;
    int interestExpense = -1;
    int cardFees = -1; // -1: settlements have no scheme-fee leg
    qint64 unit = 100; // minor units per major unit
    qint64 nextSettlement = 0;
    bool settles() const { return settlement >= 0 && settlement != cash; }
};

struct PendingReversal
{
    qint64 due;
    int original;
    bool operator>(const PendingReversal &o) const
    {
        return due != o.due ? due > o.due : original > o.original;
    }
};

qint64 pow10(int exponent)
{
    qint64 v = 1;
    for (int i = 0; i < exponent; ++i)
        v *= 10;
    return v;
}

// The next 02:00 UTC strictly after t: card schemes settle once a day, at night.
qint64 nextSettlementAfter(qint64 t)
{
    const qint64 day = t >= 0 ? t / kDay : (t - kDay + 1) / kDay;
    qint64 next = day * kDay + 2 * kHour;
    if (next <= t)
        next += kDay;
    return next;
}

class Generator
{
public:
    Generator(const QList<NewAccount> &accounts, int houseCount, const DemoHistory::Options &o)
        : m_rng(o.seed)
    {
        const int n = int(accounts.size());
        m_balance.assign(size_t(n), 0);
        m_debitNormal.resize(size_t(n));
        m_noNegative.resize(size_t(n));
        m_book.assign(size_t(n), -1);
        for (int i = 0; i < n; ++i) {
            m_debitNormal[size_t(i)] = normalSide(accounts[i].kind) == Side::Debit;
            m_noNegative[size_t(i)] = !accounts[i].allowNegative;
        }
        // One book per currency of the house accounts, all created before any reference
        // into m_books is taken.
        for (int i = 0; i < houseCount; ++i)
            bookFor(accounts[i].currency);
        for (int i = 0; i < houseCount; ++i) {
            const NewAccount &a = accounts[i];
            CurrencyBook &b = m_books[size_t(bookFor(a.currency))];
            const QString code = a.code.toUpper();
            auto take = [i](int &slot) {
                if (slot < 0)
                    slot = i;
            };
            if (a.kind == AccountKind::Asset && code.contains(QLatin1String("CASH")))
                take(b.cash);
            else if (a.kind == AccountKind::Asset && code.contains(QLatin1String("SETTLE")))
                take(b.settlement);
            else if (a.kind == AccountKind::Income && code.contains(QLatin1String("FEE")))
                take(b.feeIncome);
            else if (a.kind == AccountKind::Expense && code.contains(QLatin1String("CARD-FEE")))
                take(b.cardFees);
            else if (a.kind == AccountKind::Expense && code.contains(QLatin1String("INTEREST")))
                take(b.interestExpense);
        }
        for (CurrencyBook &b : m_books) {
            if (b.cash < 0)
                continue;
            for (int *slot : {&b.settlement, &b.feeIncome, &b.interestExpense})
                if (*slot < 0)
                    *slot = b.cash;
        }
        for (int i = houseCount; i < n; ++i) {
            const int book = bookFor(accounts[i].currency);
            m_book[size_t(i)] = book;
            if (m_books[size_t(book)].cash >= 0)
                m_customers.push_back(i);
        }
        for (const QString &currency : m_bookCurrencies) {
            const int exponent = o.currencyExponents.value(currency, 2);
            m_books[size_t(bookFor(currency))].unit = pow10(qBound(0, exponent, 4));
        }

        m_merchants = {QStringLiteral("Café Central"),    QStringLiteral("City Grocers"),
                       QStringLiteral("Northwind Books"), QStringLiteral("Rail Tickets Online"),
                       QStringLiteral("Corner Pharmacy"), QStringLiteral("Harbour Fuel"),
                       QStringLiteral("Cinema Lumière"),  QStringLiteral("Streamly Subscription"),
                       QStringLiteral("Garden & Home"),   QStringLiteral("Taxi Rapid"),
                       QStringLiteral("Bakery Sunrise"),  QStringLiteral("Electro Planet"),
                       QStringLiteral("Airline Booking"), QStringLiteral("Hotel Seaside"),
                       QStringLiteral("Sports Outlet"),   QStringLiteral("Mobile Top-up")};
        for (const QString &m : std::as_const(m_merchants)) {
            m_cardPaymentText << QStringLiteral("Card payment at %1").arg(m);
            m_refundText << QStringLiteral("Refund from %1").arg(m);
        }
        m_depositText = {QStringLiteral("Salary"), QStringLiteral("Incoming transfer"),
                         QStringLiteral("Cash deposit at branch"),
                         QStringLiteral("Standing order received"),
                         QStringLiteral("Transfer from savings")};
        m_feeText = {QStringLiteral("Monthly account fee"), QStringLiteral("Card replacement fee"),
                     QStringLiteral("Foreign transaction fee"),
                     QStringLiteral("Overdraft notice fee")};
        m_interestText = QStringLiteral("Interest credit");
        for (const QString &currency : m_bookCurrencies)
            m_settlementText << QStringLiteral("Card scheme settlement (%1)").arg(currency);
    }

    bool hasCustomers() const { return !m_customers.empty(); }

    // Fills `count` recorded times, spread uniformly over [start, end], in order: each
    // goes to a reversal that has come due, else to a card settlement that has come due,
    // else to a customer posting.
    void run(qint64 start, qint64 end, int count, std::vector<DemoHistory::Transaction> &txs,
             std::vector<DemoHistory::Leg> &legs, std::vector<DemoHistory::Reversal> &reversals)
    {
        m_txs = &txs;
        m_legs = &legs;
        m_reversals = &reversals;
        m_end = end;
        // Reversals follow their original by an hour to two weeks, less in a short window
        // (seeding on top of a recent seed), so that some still fall inside it.
        const qint64 span = std::max<qint64>(end - start, 1);
        m_maxReversalDelay = std::clamp<qint64>(span / 4, 1, 14 * kDay);
        m_minReversalDelay = std::max<qint64>(1, std::min<qint64>(kHour, m_maxReversalDelay / 10));

        std::vector<qint64> times(static_cast<size_t>(count));
        for (qint64 &s : times)
            s = start + qint64(m_rng() % quint64(end - start + 1));
        std::sort(times.begin(), times.end());

        txs.reserve(size_t(count));
        legs.reserve(size_t(count) * 2 + size_t(count) / 50);
        for (CurrencyBook &b : m_books)
            b.nextSettlement = nextSettlementAfter(start);

        for (const qint64 t : times) {
            if (addDueReversal(t))
                continue;
            if (addDueSettlement(t))
                continue;
            addCustomerPosting(t);
        }
    }

private:
    // A uniform double in [0, 1) from 53 random bits: the same sequence on every standard
    // library (std::uniform_real_distribution is implementation-defined).
    double unit() { return double(m_rng() >> 11) * 0x1.0p-53; }
    qint64 between(qint64 lo, qint64 hi) { return lo + qint64(unit() * double(hi - lo)); }
    double logUniform(double lo, double hi)
    {
        return std::exp(std::log(lo) + unit() * (std::log(hi) - std::log(lo)));
    }
    template <class T> const T &pick(const QList<T> &list)
    {
        return list.at(qsizetype(unit() * double(list.size())));
    }

    int bookFor(const QString &currency)
    {
        const int i = int(m_bookCurrencies.indexOf(currency));
        if (i >= 0)
            return i;
        m_bookCurrencies << currency;
        m_books.emplace_back();
        return int(m_books.size()) - 1;
    }

    // Skewed towards the first customers, so that a few accounts have long histories (the
    // interesting case for statements and point-in-time balances) and most are quiet.
    int pickCustomer()
    {
        const double u = unit();
        return m_customers[size_t(u * u * double(m_customers.size()))];
    }

    qint64 money(double major, qint64 unit) const
    {
        return std::max<qint64>(1, qint64(std::llround(major * double(unit))));
    }

    qint64 normalBalance(int account) const
    {
        const qint64 b = m_balance[size_t(account)];
        return m_debitNormal[size_t(account)] ? b : -b;
    }

    bool affordable(const DemoHistory::Leg *legs, int n) const
    {
        for (int i = 0; i < n; ++i) {
            const int a = legs[i].account;
            if (!m_noNegative[size_t(a)])
                continue;
            const qint64 after = m_balance[size_t(a)] + legs[i].amount;
            if ((m_debitNormal[size_t(a)] ? after : -after) < 0)
                return false;
        }
        return true;
    }

    qint64 onTimeEffective(qint64 t) { return t - between(0, 2 * kSecond); }

    int record(DemoHistory::Kind kind, qint64 recorded, qint64 effective,
               std::initializer_list<DemoHistory::Leg> legs, const QString &description,
               const QString &externalRef)
    {
        return record(kind, recorded, effective, std::vector<DemoHistory::Leg>(legs), description,
                      externalRef);
    }

    int record(DemoHistory::Kind kind, qint64 recorded, qint64 effective,
               const std::vector<DemoHistory::Leg> &legs, const QString &description,
               const QString &externalRef)
    {
        DemoHistory::Transaction tx;
        tx.kind = kind;
        tx.recordedAt = recorded;
        tx.effectiveAt = effective;
        tx.firstLeg = int(m_legs->size());
        tx.description = description;
        tx.externalRef = externalRef;
        for (const DemoHistory::Leg &l : legs) {
            Q_ASSERT(l.amount != 0 && l.account >= 0); // the ledger refuses zero legs
            m_legs->push_back(l);
            m_balance[size_t(l.account)] += l.amount;
            ++tx.legCount;
        }
        m_txs->push_back(std::move(tx));
        return int(m_txs->size()) - 1;
    }

    bool addDueReversal(qint64 t)
    {
        if (m_pending.empty() || m_pending.top().due > t)
            return false;
        const PendingReversal p = m_pending.top();
        m_pending.pop();
        const DemoHistory::Transaction original = (*m_txs)[size_t(p.original)];
        std::vector<DemoHistory::Leg> mirror;
        for (int i = 0; i < original.legCount; ++i) {
            DemoHistory::Leg l = (*m_legs)[size_t(original.firstLeg) + size_t(i)];
            l.amount = -l.amount;
            mirror.push_back(l);
        }
        // The customer has spent the deposit meanwhile: the reversal is not approved.
        if (!affordable(mirror.data(), int(mirror.size())))
            return false;

        DemoHistory::Transaction tx;
        tx.kind = DemoHistory::Kind::Reversal;
        tx.recordedAt = t;
        tx.effectiveAt = original.effectiveAt; // a reversal corrects the original's period
        tx.firstLeg = int(m_legs->size());
        tx.legCount = int(mirror.size());
        tx.reverses = p.original;
        tx.reversal = int(m_reversals->size());
        tx.description = original.description; // SeedLoader words it like decide_reversal
        for (const DemoHistory::Leg &l : mirror) {
            m_legs->push_back(l);
            m_balance[size_t(l.account)] += l.amount;
        }
        m_txs->push_back(std::move(tx));

        DemoHistory::Reversal r;
        r.original = p.original;
        r.transaction = int(m_txs->size()) - 1;
        const bool duplicate = unit() < 0.6;
        r.reasonCode = duplicate ? QStringLiteral("DUPLICATE") : QStringLiteral("WRONG_AMOUNT");
        r.note =
            duplicate
                ? QStringLiteral("Customer reported the payment twice on the statement.")
                : QStringLiteral("Amount keyed wrongly; customer to be charged again correctly.");
        r.requestedBy = QStringLiteral("seed-operator");
        r.decidedBy = QStringLiteral("seed-supervisor");
        // Requested some time after the original, decided (and posted) at t.
        const qint64 gap = std::max<qint64>(t - original.recordedAt, 2);
        r.requestedAt = original.recordedAt + 1 + qint64(double(gap - 2) * (0.2 + 0.7 * unit()));
        r.decidedAt = std::min(t + between(50'000, 900'000), std::max(t, m_end));
        m_reversals->push_back(std::move(r));
        return true;
    }

    bool addDueSettlement(qint64 t)
    {
        for (int b = 0; b < int(m_books.size()); ++b) {
            CurrencyBook &book = m_books[size_t(b)];
            if (!book.settles() || book.nextSettlement > t)
                continue;
            book.nextSettlement = nextSettlementAfter(t);
            // Brings the receivable back to zero: the day's card payments net of refunds
            // are paid to the scheme (or, after a day of refunds, received from it).
            const qint64 open = m_balance[size_t(book.settlement)];
            if (open == 0)
                continue;
            const qint64 schemeFee = book.cardFees >= 0 ? std::llabs(open) / 500 : 0;
            const qint64 cashLeg = open - schemeFee;
            if (cashLeg == 0)
                continue;
            std::vector<DemoHistory::Leg> legs{{book.settlement, -open}};
            if (schemeFee != 0)
                legs.push_back({book.cardFees, schemeFee});
            legs.push_back({book.cash, cashLeg});
            // Only a chart with a no-negative cash account could refuse this; then the
            // receivable simply waits for the next day.
            if (!affordable(legs.data(), int(legs.size())))
                continue;
            const QString ref = QStringLiteral("STL-%1-%2")
                                    .arg(m_bookCurrencies.at(b))
                                    .arg(int(m_txs->size()) + 1, 8, 10, QLatin1Char('0'));
            record(DemoHistory::Kind::CardSettlement, t, onTimeEffective(t), legs,
                   m_settlementText.at(b), ref);
            return true;
        }
        return false;
    }

    void addCustomerPosting(qint64 t)
    {
        const int customer = pickCustomer();
        const CurrencyBook &book = m_books[size_t(m_book[size_t(customer)])];
        const double roll = unit();
        qint64 effective;
        const double dating = unit();
        if (dating < kBackdatedShare)
            effective = t - kLateAfter - qint64(logUniform(double(kMinute), double(30 * kDay)));
        else if (dating < kBackdatedShare + kFutureDatedShare)
            effective = t + qint64(logUniform(double(kHour), double(10 * kDay)));
        else
            effective = onTimeEffective(t);
        const int number = int(m_txs->size()) + 1;

        DemoHistory::Kind kind;
        if (roll < 0.24)
            kind = DemoHistory::Kind::Deposit;
        else if (roll < 0.80)
            kind = DemoHistory::Kind::CardPayment;
        else if (roll < 0.88)
            kind = DemoHistory::Kind::Fee;
        else if (roll < 0.93)
            kind = DemoHistory::Kind::Interest;
        else
            kind = DemoHistory::Kind::Refund;

        qint64 amount = 0;
        switch (kind) {
        case DemoHistory::Kind::CardPayment:
            amount = money(logUniform(2, 400), book.unit);
            break;
        case DemoHistory::Kind::Fee: {
            static constexpr double fees[] = {1.5, 2.5, 4.9, 9.9};
            amount = money(fees[m_rng() % 4], book.unit);
            break;
        }
        default:
            break;
        }
        // A customer who cannot afford a payment or a fee pays money in instead.
        if (amount > 0) {
            const DemoHistory::Leg debit{customer, amount};
            if (!affordable(&debit, 1))
                kind = DemoHistory::Kind::Deposit;
        }

        int index = -1;
        switch (kind) {
        case DemoHistory::Kind::Deposit:
            amount = money(logUniform(20, 3000), book.unit);
            index = record(kind, t, effective, {{book.cash, amount}, {customer, -amount}},
                           pick(m_depositText),
                           QStringLiteral("DEP-%1").arg(number, 8, 10, QLatin1Char('0')));
            break;
        case DemoHistory::Kind::CardPayment: {
            const int merchant = int(unit() * double(m_merchants.size()));
            index = record(kind, t, effective, {{customer, amount}, {book.settlement, -amount}},
                           m_cardPaymentText.at(merchant),
                           QStringLiteral("CRD-%1").arg(number, 8, 10, QLatin1Char('0')));
            break;
        }
        case DemoHistory::Kind::Fee:
            index = record(kind, t, effective, {{customer, amount}, {book.feeIncome, -amount}},
                           pick(m_feeText), QString());
            break;
        case DemoHistory::Kind::Interest: {
            // A fraction of a percent of what the customer holds, at least one minor unit.
            const double held = double(std::max<qint64>(normalBalance(customer), 0));
            amount = std::max<qint64>(1, qint64(held * (0.0002 + 0.0018 * unit())));
            index =
                record(kind, t, effective, {{book.interestExpense, amount}, {customer, -amount}},
                       m_interestText, QString());
            break;
        }
        case DemoHistory::Kind::Refund: {
            amount = money(logUniform(3, 150), book.unit);
            const int merchant = int(unit() * double(m_merchants.size()));
            index = record(kind, t, effective, {{book.settlement, amount}, {customer, -amount}},
                           m_refundText.at(merchant),
                           QStringLiteral("RFD-%1").arg(number, 8, 10, QLatin1Char('0')));
            break;
        }
        case DemoHistory::Kind::CardSettlement:
        case DemoHistory::Kind::Reversal:
            break;
        }

        if (index >= 0 && unit() < kReversalShare) {
            const qint64 due =
                t + qint64(logUniform(double(m_minReversalDelay), double(m_maxReversalDelay) + 1));
            if (due <= m_end)
                m_pending.push({due, index});
        }
    }

    std::mt19937_64 m_rng;

    std::vector<qint64> m_balance; // signed, debit positive, in recorded order
    std::vector<bool> m_debitNormal;
    std::vector<bool> m_noNegative;
    std::vector<int> m_book; // account -> index into m_books
    std::vector<CurrencyBook> m_books;
    QStringList m_bookCurrencies; // parallel to m_books
    std::vector<int> m_customers; // customers whose currency has a cash account

    QStringList m_merchants;
    QStringList m_cardPaymentText;
    QStringList m_refundText;
    QStringList m_depositText;
    QStringList m_feeText;
    QString m_interestText;
    QStringList m_settlementText; // parallel to m_books

    std::priority_queue<PendingReversal, std::vector<PendingReversal>, std::greater<>> m_pending;
    qint64 m_end = 0;
    qint64 m_minReversalDelay = kHour;
    qint64 m_maxReversalDelay = 14 * kDay;

    std::vector<DemoHistory::Transaction> *m_txs = nullptr;
    std::vector<DemoHistory::Leg> *m_legs = nullptr;
    std::vector<DemoHistory::Reversal> *m_reversals = nullptr;
};

} // namespace

Result<DemoHistory> DemoHistory::generate(const QList<NewAccount> &house,
                                          const QList<NewAccount> &customers,
                                          const Options &options)
{
    if (options.transactions < 0 || options.years < 1)
        return Error::make(Error::Kind::Input,
                           QStringLiteral("A history needs a non-negative number of "
                                          "transactions and at least one year."));
    DemoHistory history;
    history.m_accounts = house + customers;

    // The window: the last `years` years up to shortly before now, but after anything the
    // ledger already recorded (recorded order per account must never go back in time).
    qint64 end = options.nowUs - options.endLagUs;
    qint64 start = end - qint64(options.years) * kYear;
    if (options.notBeforeUs != std::numeric_limits<qint64>::min())
        start = std::max(start, options.notBeforeUs + 1);
    if (end - start < kSecond)
        end = options.nowUs; // a ledger written to a moment ago: use the time up to now
    if (start > end)
        return Error::make(Error::Kind::Conflict,
                           QStringLiteral("The ledger already has entries recorded after the "
                                          "current time; a history cannot be added before "
                                          "them. Check the database server's clock."));
    history.m_windowStart = start;
    history.m_windowEnd = end;
    if (options.transactions == 0)
        return history;

    Generator generator(history.m_accounts, int(house.size()), options);
    if (!generator.hasCustomers())
        return Error::make(Error::Kind::Input,
                           QStringLiteral("No customer account has a house cash account in its "
                                          "currency, so no history can be generated. Open "
                                          "customer accounts first (seed --accounts N)."));
    generator.run(start, end, options.transactions, history.m_transactions, history.m_legs,
                  history.m_reversals);
    return history;
}

qint64 DemoHistory::backdatedCount() const
{
    return std::count_if(m_transactions.begin(), m_transactions.end(), [](const Transaction &t) {
        return t.recordedAt - t.effectiveAt > kLateAfter;
    });
}

qint64 DemoHistory::futureDatedCount() const
{
    return std::count_if(m_transactions.begin(), m_transactions.end(),
                         [](const Transaction &t) { return t.effectiveAt > t.recordedAt; });
}

} // namespace ledger
