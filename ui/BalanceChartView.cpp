#include "BalanceChartView.h"

#include "async/WhenReady.h"
#include "chart/Lttb.h"
#include "console/LedgerService.h"

#include <QApplication>
#include <QChart>
#include <QDateTimeAxis>
#include <QLineSeries>
#include <QMouseEvent>
#include <QScatterSeries>
#include <QTimer>
#include <QValueAxis>

#include <cmath>

namespace ledger {

BalanceChartView::BalanceChartView(LedgerService *ledger, QWidget *parent)
    : QChartView(parent)
    , m_ledger(ledger)
{
    setObjectName(QStringLiteral("balanceChart"));
    setAccessibleName(tr("Balance chart"));
    setAccessibleDescription(tr("Balance over the account's life. Plus and minus zoom, arrow "
                                "keys pan, Home shows the whole life, Enter shows the timeline "
                                "at the middle of the chart."));
    setFocusPolicy(Qt::StrongFocus);
    setRenderHint(QPainter::Antialiasing);
    setMinimumHeight(160);

    auto *chart = new QChart;
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_line = new QLineSeries(chart);
    m_line->setName(tr("Balance"));
    m_reversals = new QScatterSeries(chart);
    m_reversals->setName(tr("Reversal / reversed"));
    m_reversals->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    m_reversals->setMarkerSize(8);
    m_backdated = new QScatterSeries(chart);
    m_backdated->setName(tr("Backdated"));
    m_backdated->setMarkerSize(7);
    chart->addSeries(m_line);
    chart->addSeries(m_reversals);
    chart->addSeries(m_backdated);
    m_x = new QDateTimeAxis(chart);
    m_x->setFormat(QStringLiteral("yyyy-MM-dd"));
    m_x->setTickCount(6);
    m_y = new QValueAxis(chart);
    m_y->setLabelFormat(QStringLiteral("%.0f"));
    chart->addAxis(m_x, Qt::AlignBottom);
    chart->addAxis(m_y, Qt::AlignLeft);
    for (QAbstractSeries *s : chart->series()) {
        s->attachAxis(m_x);
        s->attachAxis(m_y);
    }
    setChart(chart);
    applyTheme();
    showEmpty();

    const auto markerClicked = [this](const QPointF &p) {
        m_markerClicked = true; // the same click must not also count as a click on the chart
        Q_EMIT timeActivated(QDateTime::fromMSecsSinceEpoch(qint64(p.x()), Qt::UTC));
    };
    connect(m_reversals, &QScatterSeries::clicked, this, markerClicked);
    connect(m_backdated, &QScatterSeries::clicked, this, markerClicked);

    m_reloadTimer = new QTimer(this);
    m_reloadTimer->setSingleShot(true);
    m_reloadTimer->setInterval(120);
    connect(m_reloadTimer, &QTimer::timeout, this, &BalanceChartView::load);
}

void BalanceChartView::applyTheme()
{
    // Readable on light and dark palettes: follow the window's lightness.
    const bool dark = palette().color(QPalette::Window).lightness() < 128;
    chart()->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
    chart()->setBackgroundBrush(palette().brush(QPalette::Base));
    chart()->setTitleBrush(palette().brush(QPalette::Text));
    chart()->legend()->setLabelColor(palette().color(QPalette::Text));
    m_x->setLabelsColor(palette().color(QPalette::Text));
    m_y->setLabelsColor(palette().color(QPalette::Text));
    QPen pen(palette().color(QPalette::Highlight));
    pen.setWidthF(1.5);
    m_line->setPen(pen);
    // Marker colours chosen to read on both backgrounds.
    m_reversals->setColor(QColor(0xd3, 0x54, 0x00));
    m_reversals->setBorderColor(palette().color(QPalette::Base));
    m_backdated->setColor(QColor(0x8e, 0x44, 0xad));
    m_backdated->setBorderColor(palette().color(QPalette::Base));
}

void BalanceChartView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange)
        applyTheme();
    QChartView::changeEvent(event);
}

// No account yet: no axes counting from 1970, just what to do.
void BalanceChartView::showEmpty()
{
    m_x->setVisible(false);
    m_y->setVisible(false);
    chart()->legend()->setVisible(false);
    chart()->setTitle(tr("Open an account to see its balance over time."));
}

void BalanceChartView::setAccount(const AccountHistory &history)
{
    m_history = history;
    m_x->setVisible(true);
    m_y->setVisible(true);
    chart()->legend()->setVisible(true);
    chart()->setTitle(
        tr("%1 — balance (%2), effective time, as known now").arg(history.code, history.currency));
    showWholeLife();
}

void BalanceChartView::clear()
{
    ++m_generation;
    m_awaiting = false;
    m_reloadTimer->stop();
    m_history = {};
    m_line->clear();
    m_reversals->clear();
    m_backdated->clear();
    showEmpty();
}

void BalanceChartView::showWholeLife()
{
    if (!m_history.accountId)
        return;
    QDateTime from = m_history.firstEffectiveAt;
    QDateTime to = m_history.lastEffectiveAt;
    if (!from.isValid()) { // no entries yet: a flat line over the last month
        to = QDateTime::currentDateTimeUtc();
        from = to.addDays(-30);
    }
    // Slightly wider than the entries, so that the first and last are inside.
    showRange(from.addSecs(-1), to.addSecs(1));
}

void BalanceChartView::showRange(const QDateTime &from, const QDateTime &to)
{
    m_from = from;
    m_to = to > from ? to : from.addSecs(1);
    load();
}

void BalanceChartView::reload()
{
    load();
}

int BalanceChartView::plotWidth() const
{
    const int w = int(chart()->plotArea().width());
    return qMax(w > 0 ? w : width() - 80, 50);
}

bool BalanceChartView::isLoading() const
{
    return m_awaiting || m_reloadTimer->isActive();
}

int BalanceChartView::plottedPoints() const
{
    return int(m_line->count());
}

int BalanceChartView::markerCount() const
{
    return int(m_reversals->count() + m_backdated->count());
}

void BalanceChartView::load()
{
    if (!m_ledger || !m_history.accountId || !m_from.isValid())
        return;
    const quint64 generation = ++m_generation;
    m_awaiting = true;
    const qint64 accountId = m_history.accountId;
    const QDateTime from = m_from;
    const QDateTime to = m_to;
    const int width = plotWidth();
    // Every entry when there are at most four per pixel, else at most four points per
    // pixel (see ledger.balance_series).
    const int samples = width;
    whenReady(m_ledger->balanceSeries(accountId, from, to, samples, 200), this,
              [this, generation, width](const Result<BalanceSeries> &result) {
                  if (generation != m_generation)
                      return;
                  m_awaiting = false;
                  if (!result) {
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  const BalanceSeries &s = result.value();
                  // Floating point only to place pixels; amounts shown elsewhere are exact.
                  const double scale = std::pow(10.0, m_history.exponent);
                  QList<QPointF> points;
                  points.reserve(s.points.size());
                  double lo = 0;
                  double hi = 0;
                  for (const BalancePoint &p : s.points) {
                      const double y = double(p.balanceMinor) / scale;
                      if (points.isEmpty()) {
                          lo = hi = y;
                      } else {
                          lo = qMin(lo, y);
                          hi = qMax(hi, y);
                      }
                      points.append(QPointF(double(p.atMs), y));
                  }
                  // Every entry: LTTB picks the pixels' points here. Sampled (per pixel
                  // first, least, greatest, last from the server's hourly buckets, or one
                  // probe per pixel): already at the pixels, drawn as they are so that no
                  // extreme is lost.
                  const QList<QPointF> shown = s.exact ? lttb(points, width) : points;
                  QList<QPointF> reversals;
                  QList<QPointF> backdated;
                  for (const BalanceMarker &m : s.markers) {
                      const QPointF p(double(m.atMs), double(m.balanceMinor) / scale);
                      (m.marker == QLatin1String("backdated") ? backdated : reversals).append(p);
                      lo = qMin(lo, p.y());
                      hi = qMax(hi, p.y());
                  }
                  m_exact = s.exact;
                  m_line->replace(shown); // one replace per series and update
                  m_reversals->replace(reversals);
                  m_backdated->replace(backdated);
                  m_x->setRange(m_from, m_to);
                  m_x->setFormat(m_from.daysTo(m_to) > 3 ? QStringLiteral("yyyy-MM-dd")
                                                         : QStringLiteral("MM-dd HH:mm"));
                  const double pad = qMax((hi - lo) * 0.05, 1.0);
                  m_y->setRange(lo - pad, hi + pad);
                  // New axis labels can narrow the plot area: fit the pixels once more.
                  if (plotWidth() < width - 2 && !m_refitted) {
                      m_refitted = true;
                      m_reloadTimer->start();
                  } else {
                      m_refitted = false;
                  }
                  Q_EMIT plotted(int(shown.size()), s.exact);
              });
}

void BalanceChartView::zoom(double factor, double anchorFraction)
{
    if (!m_from.isValid())
        return;
    const qint64 a = m_from.toMSecsSinceEpoch();
    const qint64 b = m_to.toMSecsSinceEpoch();
    const double span = double(b - a);
    const double anchor = double(a) + span * anchorFraction;
    const double newSpan = qMax(span * factor, 1000.0); // not below a second
    const qint64 from = qint64(anchor - newSpan * anchorFraction);
    m_from = QDateTime::fromMSecsSinceEpoch(from, Qt::UTC);
    m_to = QDateTime::fromMSecsSinceEpoch(from + qint64(newSpan), Qt::UTC);
    m_x->setRange(m_from, m_to); // immediate feedback; the data follows
    m_reloadTimer->start();
}

void BalanceChartView::pan(double fraction)
{
    if (!m_from.isValid())
        return;
    const qint64 shift = qint64(double(m_from.msecsTo(m_to)) * fraction);
    m_from = m_from.addMSecs(shift);
    m_to = m_to.addMSecs(shift);
    m_x->setRange(m_from, m_to);
    m_reloadTimer->start();
}

void BalanceChartView::wheelEvent(QWheelEvent *event)
{
    const QRectF plot = chart()->plotArea();
    const double fraction =
        plot.width() > 0 ? qBound(0.0, (event->position().x() - plot.left()) / plot.width(), 1.0)
                         : 0.5;
    zoom(event->angleDelta().y() > 0 ? 0.7 : 1.0 / 0.7, fraction);
    event->accept();
}

void BalanceChartView::mousePressEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton) {
        m_markerClicked = false;
        m_pressPos = event->position().toPoint();
        m_pressFrom = m_from;
        m_pressTo = m_to;
        m_dragging = false;
    }
    QChartView::mousePressEvent(event);
}

void BalanceChartView::mouseMoveEvent(QMouseEvent *event)
{
    if ((event->buttons() & Qt::LeftButton) && m_pressFrom.isValid()) {
        const int dx = event->position().toPoint().x() - m_pressPos.x();
        if (std::abs(dx) > QApplication::startDragDistance())
            m_dragging = true;
        if (m_dragging && chart()->plotArea().width() > 0) {
            const qint64 shift = qint64(-double(dx) / chart()->plotArea().width() *
                                        double(m_pressFrom.msecsTo(m_pressTo)));
            m_from = m_pressFrom.addMSecs(shift);
            m_to = m_pressTo.addMSecs(shift);
            m_x->setRange(m_from, m_to);
            m_reloadTimer->start();
        }
    }
    QChartView::mouseMoveEvent(event);
}

void BalanceChartView::mouseReleaseEvent(QMouseEvent *event)
{
    QChartView::mouseReleaseEvent(event); // a marker under the mouse answers first
    if (event->button() == Qt::LeftButton && !m_dragging && !m_markerClicked &&
        m_history.accountId && chart()->plotArea().contains(event->position())) {
        // A click, not a drag: the timeline at that time.
        const QPointF value = chart()->mapToValue(event->position(), m_line);
        Q_EMIT timeActivated(QDateTime::fromMSecsSinceEpoch(qint64(value.x()), Qt::UTC));
    }
    m_dragging = false;
    m_markerClicked = false;
}

void BalanceChartView::keyPressEvent(QKeyEvent *event)
{
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoom(0.5, 0.5);
        break;
    case Qt::Key_Minus:
        zoom(2.0, 0.5);
        break;
    case Qt::Key_Left:
        pan(-0.25);
        break;
    case Qt::Key_Right:
        pan(0.25);
        break;
    case Qt::Key_Home:
        showWholeLife();
        break;
    case Qt::Key_Return:
    case Qt::Key_Enter:
        if (m_from.isValid())
            Q_EMIT timeActivated(m_from.addMSecs(m_from.msecsTo(m_to) / 2));
        break;
    default:
        QChartView::keyPressEvent(event);
        return;
    }
    event->accept();
}

void BalanceChartView::resizeEvent(QResizeEvent *event)
{
    QChartView::resizeEvent(event);
    if (m_history.accountId)
        m_reloadTimer->start(); // more or fewer pixels: another LTTB target
}

} // namespace ledger
