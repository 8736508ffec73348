#pragma once

#include "domain/Error.h"
#include "domain/Timeline.h"

#include <QPointer>
#include <QWidget>

class QCheckBox;
class QLabel;
class QTableWidget;

namespace ledger {

class InstantEdit;

class LedgerService;

// Point in time: an effective time and a known-at time (both "now" by default). Shows the
// balance at that effective time as known then, what the ledger showed at the effective
// time itself, the difference, and the entries that explain it (effective by then but
// recorded later: late and backdated entries, reversals of earlier entries). Queries run
// on the ledger service's worker; the O(log n) balance function answers on the server.
class PointInTimePanel : public QWidget
{
    Q_OBJECT

public:
    explicit PointInTimePanel(LedgerService *ledger, QWidget *parent = nullptr);

    void setAccount(const AccountHistory &history);
    void clear();
    // Sets the times (null: now) and asks.
    void ask(const std::optional<QDateTime> &effective, const std::optional<QDateTime> &knownAt);

    const PointInTime &result() const { return m_result; }
    QTableWidget *entriesTable() const { return m_entries; }

public Q_SLOTS:
    void refresh(); // asks with the fields as they are

Q_SIGNALS:
    void answered(const ledger::PointInTime &result);
    void loadFailed(const ledger::Error &error);
    void transactionActivated(qint64 transactionId);

private:
    // announce: emit answered() (not when the same answer is only written again).
    void present(const PointInTime &p, bool announce = true);

    QPointer<LedgerService> m_ledger;
    AccountHistory m_history;
    quint64 m_generation = 0;
    PointInTime m_result;
    QCheckBox *m_effectiveNow = nullptr;
    QCheckBox *m_knownNow = nullptr;
    InstantEdit *m_effective = nullptr;
    InstantEdit *m_known = nullptr;
    QLabel *m_balance = nullptr;
    QLabel *m_shownThen = nullptr;
    QLabel *m_difference = nullptr;
    QLabel *m_explain = nullptr;
    QTableWidget *m_entries = nullptr;
};

} // namespace ledger

Q_DECLARE_METATYPE(ledger::PointInTime)
