#pragma once

#include "domain/Health.h"

#include <QDateTime>
#include <QPointer>
#include <QWidget>

#include <optional>

class QLabel;
class QPushButton;
class QTableWidget;
class QTimer;

namespace ledger {

class HealthService;
class ReportService;

// The Health tab (Step 12): per stream source its last batch, lag and events per second;
// dead letters (retry or discard each, audited); held events; the ledger's invariant checks
// over time (run them again); the reconciliation backlog; the audit chain's unsealed tail and
// last verification; the reporting store's lag; sessions about to end. Each item says how it
// stands, and an item with somewhere to act has a button that goes there. Asks again every
// 30 s while shown; everything is read through the services, off the GUI thread. GUI thread
// only.
class HealthView : public QWidget
{
    Q_OBJECT

public:
    // reports: where the reporting store's lag comes from (none: not shown as a store).
    explicit HealthView(HealthService *health, ReportService *reports = nullptr,
                        QWidget *parent = nullptr);

    // This console's own session (invalid: a direct connection, no session).
    void setSessionExpiresAt(const QDateTime &expiresAt) { m_sessionEnds = expiresAt; }

    // Asks for a new snapshot (and the store's state); refreshed() or refreshFailed() tells.
    void refresh();
    // Runs the invariant checks (auditors and compliance); checksFinished() tells.
    void runChecks();
    // Retries or discards the dead letter (operators and supervisors; the Retry and Discard…
    // buttons act on the selected row); deadLetterDecided() tells, then the view refreshes.
    void retryDeadLetter(qint64 id);
    void discardDeadLetter(qint64 id, const QString &reason);
    // What the Act button of the item with this key does (tests).
    void act(const QString &key);

    const std::optional<HealthSnapshot> &snapshot() const { return m_snapshot; }
    const QList<HealthItem> &items() const { return m_items; }

Q_SIGNALS:
    void refreshed();
    void refreshFailed(const QString &message);
    void checksFinished(bool allHeld, const QString &message);
    void deadLetterDecided(bool done, const QString &message);
    // An item's button: the main window shows the place (the reconciliation queue, the audit
    // log, the reports tab). Dead letters and invariant checks are shown here.
    void actRequested(ledger::HealthTarget target);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    // announce: emit refreshed() (a new snapshot, not the same one shown again).
    void showSnapshot(const HealthSnapshot &snapshot, bool announce);
    void showItems();
    void setMessage(const QString &text, bool error);
    qint64 selectedDeadLetter() const;
    void updateDeadLetterButtons();

    QPointer<HealthService> m_health;
    QPointer<ReportService> m_reports;
    QTableWidget *m_itemsTable = nullptr;
    QTableWidget *m_deadLetters = nullptr;
    QTableWidget *m_checks = nullptr;
    QLabel *m_asOf = nullptr;
    QLabel *m_message = nullptr;
    QPushButton *m_refresh = nullptr;
    QPushButton *m_runChecks = nullptr;
    QPushButton *m_retry = nullptr;
    QPushButton *m_discard = nullptr;
    QTimer *m_poll = nullptr;
    std::optional<HealthSnapshot> m_snapshot;
    QList<HealthItem> m_items;
    HealthContext m_context;
    QDateTime m_sessionEnds;
    bool m_refreshing = false;   // a snapshot asked for, not yet shown
    bool m_refreshAgain = false; // asked again meanwhile
    bool m_deciding = false;     // a retry or discard sent, not yet answered
};

} // namespace ledger
