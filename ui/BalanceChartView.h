#pragma once

#include "domain/Error.h"
#include "domain/Timeline.h"

#include <QChartView>
#include <QPointer>

class QDateTimeAxis;
class QLineSeries;
class QScatterSeries;
class QTimer;
class QValueAxis;

namespace ledger {

class LedgerService;

// The balance over an account's life (effective time, as known now). The server answers
// with every entry for short ranges (this view downsamples them to its pixel width with
// LTTB) and for long ones with each pixel's first, least, greatest and last balance from
// the reporting store's hourly buckets (or O(log n) samples where it has none); each
// series gets its data with one replace(). Wheel or +/- zooms, dragging or the arrow keys pan, Home
// shows the whole life; the visible range is fetched again at the new detail. Markers show
// reversals, reversed and backdated entries; clicking the chart or a marker asks for the timeline
// there.
class BalanceChartView : public QChartView
{
    Q_OBJECT

public:
    explicit BalanceChartView(LedgerService *ledger, QWidget *parent = nullptr);

    void setAccount(const AccountHistory &history);
    void clear();
    // Shows [from, to] (effective time); loads it at the current width.
    void showRange(const QDateTime &from, const QDateTime &to);
    void showWholeLife();
    void reload();

    int plottedPoints() const;
    int markerCount() const;
    bool isExact() const { return m_exact; }
    // A range is on its way, or about to be asked for (a zoom, pan or resize waits a moment
    // before it asks): plotted() or loadFailed() follows. False once the chart shows what
    // was last asked for.
    bool isLoading() const;
    QDateTime rangeFrom() const { return m_from; }
    QDateTime rangeTo() const { return m_to; }

Q_SIGNALS:
    // The user clicked the chart or a marker: show the timeline at that effective time.
    void timeActivated(const QDateTime &effectiveAt);
    // A range was fetched and plotted (points after LTTB; exact: every entry, not samples).
    void plotted(int points, bool exact);
    void loadFailed(const ledger::Error &error);

protected:
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    void showEmpty();
    void load();
    void zoom(double factor, double anchorFraction);
    void pan(double fraction);
    void applyTheme();
    int plotWidth() const;

    QPointer<LedgerService> m_ledger;
    AccountHistory m_history;
    QDateTime m_from;
    QDateTime m_to;
    quint64 m_generation = 0;
    bool m_awaiting = false; // the answer to the newest load() is on its way
    bool m_exact = false;
    QLineSeries *m_line = nullptr;
    QScatterSeries *m_reversals = nullptr;
    QScatterSeries *m_backdated = nullptr;
    QDateTimeAxis *m_x = nullptr;
    QValueAxis *m_y = nullptr;
    QTimer *m_reloadTimer = nullptr; // debounces zoom, pan and resize
    QPoint m_pressPos;
    QDateTime m_pressFrom;
    QDateTime m_pressTo;
    bool m_dragging = false;
    bool m_markerClicked = false;
    bool m_refitted = false; // re-plotted once because the axes changed the plot width
};

} // namespace ledger
