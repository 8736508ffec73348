#pragma once

#include "domain/Error.h"
#include "domain/Timeline.h"

#include <QPointer>
#include <QWidget>

class QFrame;
class QLabel;
class QPushButton;
class QSplitter;
class QTabWidget;

namespace ledger {

class BalanceChartView;
class LedgerService;
class PointInTimePanel;
class TimelineModel;
class TimelineView;

// The work surface for one account: a header, the timeline, and below it the
// point-in-time panel and the balance chart. Opening a transaction (Enter, double-click,
// a row in the point-in-time list) shows its detail dialog; clicking the chart shows the
// timeline there. Failures show a banner with Retry instead of stale data.
class AccountWorkspace : public QWidget
{
    Q_OBJECT

public:
    explicit AccountWorkspace(LedgerService *ledger, QWidget *parent = nullptr);
    ~AccountWorkspace() override;

    // Opens the account's history (an audit event) and everything below it.
    void openAccount(const QString &code);
    QString accountCode() const;

    TimelineModel *timelineModel() const { return m_model; }
    TimelineView *timelineView() const { return m_timeline; }
    PointInTimePanel *pointInTimePanel() const { return m_pointInTime; }
    BalanceChartView *chartView() const { return m_chart; }
    QTabWidget *tabs() const { return m_tabs; }

public Q_SLOTS:
    void retry();
    void openTransaction(qint64 transactionId);

Q_SIGNALS:
    void statusMessage(const QString &message);
    // Any load failed (the banner shows it); a session that ended shows up here too.
    void loadFailed(const ledger::Error &error);
    void transactionOpened(QWidget *dialog);
    // The timeline or a transaction's detail asked to request its reversal.
    void reversalRequested(qint64 transactionId);

private:
    void showError(const ledger::Error &error);
    void accountOpened(const AccountHistory &history);

    QPointer<LedgerService> m_ledger;
    TimelineModel *m_model = nullptr;
    QLabel *m_header = nullptr;
    QFrame *m_banner = nullptr;
    QLabel *m_bannerText = nullptr;
    QPushButton *m_retry = nullptr;
    QSplitter *m_splitter = nullptr;
    TimelineView *m_timeline = nullptr;
    QTabWidget *m_tabs = nullptr;
    PointInTimePanel *m_pointInTime = nullptr;
    BalanceChartView *m_chart = nullptr;
};

} // namespace ledger
