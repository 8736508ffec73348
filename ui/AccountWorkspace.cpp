#include "AccountWorkspace.h"

#include "BalanceChartView.h"
#include "PointInTimePanel.h"
#include "TimelineModel.h"
#include "TimelineView.h"
#include "TransactionDetailDialog.h"
#include "console/LedgerService.h"

#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

namespace ledger {

AccountWorkspace::AccountWorkspace(LedgerService *ledger, QWidget *parent)
    : QWidget(parent)
    , m_ledger(ledger)
{
    setObjectName(QStringLiteral("accountWorkspace"));
    m_model = new TimelineModel(ledger, this);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    m_header = new QLabel(tr("Open an account (Enter or double-click in the list) to see its "
                             "history."),
                          this);
    m_header->setObjectName(QStringLiteral("accountHeader"));
    m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_header->setWordWrap(true);
    layout->addWidget(m_header);

    // What went wrong and a Retry: never stale rows without saying so.
    m_banner = new QFrame(this);
    m_banner->setObjectName(QStringLiteral("workspaceBanner"));
    m_banner->setFrameShape(QFrame::StyledPanel);
    m_banner->setStyleSheet(QStringLiteral("#workspaceBanner { background: palette(base); border: "
                                           "1px solid #c0392b; border-radius: 4px; }"));
    auto *bannerLayout = new QHBoxLayout(m_banner);
    m_bannerText = new QLabel(m_banner);
    // Plain text: it shows values from the database (or messages quoting them).
    m_bannerText->setTextFormat(Qt::PlainText);
    m_bannerText->setWordWrap(true);
    m_bannerText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_retry = new QPushButton(tr("Re&try"), m_banner);
    m_retry->setAccessibleName(tr("Retry loading the account"));
    bannerLayout->addWidget(m_bannerText, 1);
    bannerLayout->addWidget(m_retry);
    connect(m_retry, &QPushButton::clicked, this, &AccountWorkspace::retry);
    m_banner->hide();
    layout->addWidget(m_banner);

    m_splitter = new QSplitter(Qt::Vertical, this);
    m_splitter->setObjectName(QStringLiteral("workspaceSplitter"));
    m_timeline = new TimelineView(m_model, m_splitter);
    m_tabs = new QTabWidget(m_splitter);
    m_tabs->setObjectName(QStringLiteral("workspaceTabs"));
    m_chart = new BalanceChartView(ledger, m_tabs);
    m_pointInTime = new PointInTimePanel(ledger, m_tabs);
    m_tabs->addTab(m_chart, tr("Balance &chart"));
    m_tabs->addTab(m_pointInTime, tr("&Point in time"));
    m_splitter->addWidget(m_timeline);
    m_splitter->addWidget(m_tabs);
    m_splitter->setStretchFactor(0, 3);
    m_splitter->setStretchFactor(1, 2);
    layout->addWidget(m_splitter, 1);
    // Layout only (never anything secret) is remembered between runs.
    m_splitter->restoreState(
        QSettings().value(QStringLiteral("accountWorkspace/splitter")).toByteArray());

    connect(m_model, &TimelineModel::accountOpened, this, &AccountWorkspace::accountOpened);
    connect(m_model, &TimelineModel::loadFailed, this, &AccountWorkspace::showError);
    connect(m_model, &TimelineModel::countChanged, m_banner, &QWidget::hide);
    connect(m_chart, &BalanceChartView::loadFailed, this, &AccountWorkspace::showError);
    connect(m_pointInTime, &PointInTimePanel::loadFailed, this, &AccountWorkspace::showError);
    connect(m_timeline, &TimelineView::transactionActivated, this,
            &AccountWorkspace::openTransaction);
    connect(m_pointInTime, &PointInTimePanel::transactionActivated, this,
            &AccountWorkspace::openTransaction);
    connect(m_timeline, &TimelineView::statusMessage, this, &AccountWorkspace::statusMessage);
    connect(m_timeline, &TimelineView::reversalRequested, this,
            &AccountWorkspace::reversalRequested);
    // The chart is in effective time: its clicks show the timeline in that order.
    connect(m_chart, &BalanceChartView::timeActivated, this, [this](const QDateTime &at) {
        m_timeline->setOrder(TimelineOrder::Effective);
        m_timeline->jumpTo(at);
        m_timeline->setFocus(Qt::OtherFocusReason);
    });
}

AccountWorkspace::~AccountWorkspace()
{
    QSettings().setValue(QStringLiteral("accountWorkspace/splitter"), m_splitter->saveState());
}

void AccountWorkspace::openAccount(const QString &code)
{
    m_banner->hide();
    m_header->setText(tr("Opening %1…").arg(code.toHtmlEscaped()));
    m_chart->clear();
    m_pointInTime->clear();
    m_model->openAccount(code);
}

QString AccountWorkspace::accountCode() const
{
    return m_model->history().code;
}

void AccountWorkspace::accountOpened(const AccountHistory &h)
{
    const QLocale locale;
    m_header->setText(
        tr("<b>%1</b> — %2 · %3, %4 (normal side: %5)%6 · balance <b>%7 %4</b> · %8 entries")
            .arg(h.code.toHtmlEscaped(), h.name.toHtmlEscaped(), h.kind, h.currency, h.normalSide,
                 h.allowNegative ? QString() : tr(", may not go negative"), h.balance.toString(),
                 locale.toString(h.entryCount)));
    m_chart->setAccount(h);
    m_pointInTime->setAccount(h);
}

void AccountWorkspace::retry()
{
    m_banner->hide();
    m_model->reload();
    m_chart->reload();
    m_pointInTime->refresh();
}

void AccountWorkspace::showError(const Error &error)
{
    m_bannerText->setText(
        error.retryable
            ? tr("%1 The rows shown may be incomplete; Retry loads them again.").arg(error.message)
            : error.message);
    m_bannerText->setToolTip(error.detail);
    m_banner->show();
    Q_EMIT statusMessage(error.message);
    Q_EMIT loadFailed(error);
}

void AccountWorkspace::openTransaction(qint64 transactionId)
{
    auto *dialog = new TransactionDetailDialog(m_ledger, transactionId, this);
    connect(dialog, &TransactionDetailDialog::loadFailed, this, &AccountWorkspace::showError);
    connect(dialog, &TransactionDetailDialog::reversalRequested, this,
            &AccountWorkspace::reversalRequested);
    dialog->show();
    Q_EMIT transactionOpened(dialog);
}

} // namespace ledger
