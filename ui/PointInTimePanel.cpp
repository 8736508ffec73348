#include "PointInTimePanel.h"

#include "async/WhenReady.h"
#include "console/LedgerService.h"

#include <QCheckBox>
#include <QDateTimeEdit>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ledger {

namespace {

constexpr int kEntryLimit = 1000;

QString local(const QDateTime &t)
{
    return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"))
                       : QString();
}

} // namespace

PointInTimePanel::PointInTimePanel(LedgerService *ledger, QWidget *parent)
    : QWidget(parent)
    , m_ledger(ledger)
{
    setObjectName(QStringLiteral("pointInTimePanel"));
    qRegisterMetaType<ledger::PointInTime>();
    auto *layout = new QHBoxLayout(this);

    auto *left = new QFormLayout;
    auto timeRow = [this](QCheckBox *&now, QDateTimeEdit *&edit, const QString &what) {
        auto *row = new QHBoxLayout;
        now = new QCheckBox(tr("now"), this);
        now->setChecked(true);
        now->setAccessibleName(tr("%1: now").arg(what));
        edit = new QDateTimeEdit(QDateTime::currentDateTime(), this);
        edit->setCalendarPopup(true);
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        edit->setEnabled(false);
        edit->setAccessibleName(what);
        connect(now, &QCheckBox::toggled, edit, [edit](bool isNow) { edit->setEnabled(!isNow); });
        row->addWidget(edit, 1);
        row->addWidget(now);
        return row;
    };
    QHBoxLayout *effectiveRow = timeRow(m_effectiveNow, m_effective, tr("Effective time"));
    QHBoxLayout *knownRow = timeRow(m_knownNow, m_known, tr("Known-at time"));
    auto *effectiveLabel = new QLabel(tr("&Effective time:"), this);
    effectiveLabel->setBuddy(m_effective);
    auto *knownLabel = new QLabel(tr("&Known at:"), this);
    knownLabel->setBuddy(m_known);
    left->addRow(effectiveLabel, effectiveRow);
    left->addRow(knownLabel, knownRow);
    m_effective->setObjectName(QStringLiteral("pitEffective"));
    m_known->setObjectName(QStringLiteral("pitKnownAt"));
    auto *show = new QPushButton(tr("&Show balance"), this);
    show->setObjectName(QStringLiteral("pitShow"));
    show->setAccessibleName(tr("Show the point-in-time balance"));
    connect(show, &QPushButton::clicked, this, &PointInTimePanel::refresh);
    left->addRow(QString(), show);

    auto value = [this](const char *name, const QString &accessible) {
        auto *l = new QLabel(this);
        l->setObjectName(QLatin1String(name));
        l->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
        l->setAccessibleName(accessible);
        QFont f = l->font();
        f.setBold(true);
        l->setFont(f);
        return l;
    };
    m_balance = value("pitBalance", tr("Balance at the effective time as known then"));
    m_shownThen = value("pitShownThen", tr("Balance the ledger showed at the effective time"));
    m_difference = value("pitDifference", tr("Difference"));
    left->addRow(tr("Balance then, as known at K:"), m_balance);
    left->addRow(tr("What the ledger showed at E:"), m_shownThen);
    left->addRow(tr("Difference:"), m_difference);
    layout->addLayout(left, 2);

    auto *right = new QVBoxLayout;
    m_explain = new QLabel(this);
    // Plain text: it shows values from the database (or messages quoting them).
    m_explain->setTextFormat(Qt::PlainText);
    m_explain->setObjectName(QStringLiteral("pitExplain"));
    m_explain->setWordWrap(true);
    right->addWidget(m_explain);
    m_entries = new QTableWidget(0, 6, this);
    m_entries->setObjectName(QStringLiteral("pitEntries"));
    m_entries->setAccessibleName(tr("Entries that explain the difference"));
    m_entries->setHorizontalHeaderLabels({tr("Recorded"), tr("Effective"), tr("Description"),
                                          tr("Amount"), tr("Why"), tr("Transaction")});
    m_entries->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_entries->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_entries->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_entries->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_entries->verticalHeader()->hide();
    m_entries->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
    m_entries->setTabKeyNavigation(false);
    connect(m_entries, &QTableWidget::cellActivated, this, [this](int row, int) {
        if (auto *item = m_entries->item(row, 5))
            Q_EMIT transactionActivated(item->text().toLongLong());
    });
    right->addWidget(m_entries, 1);
    layout->addLayout(right, 3);
}

void PointInTimePanel::setAccount(const AccountHistory &history)
{
    m_history = history;
    refresh();
}

void PointInTimePanel::clear()
{
    ++m_generation;
    m_history = {};
    m_result = {};
    m_balance->clear();
    m_shownThen->clear();
    m_difference->clear();
    m_explain->clear();
    m_entries->setRowCount(0);
}

void PointInTimePanel::ask(const std::optional<QDateTime> &effective,
                           const std::optional<QDateTime> &knownAt)
{
    m_effectiveNow->setChecked(!effective);
    m_knownNow->setChecked(!knownAt);
    if (effective)
        m_effective->setDateTime(effective->toLocalTime());
    if (knownAt)
        m_known->setDateTime(knownAt->toLocalTime());
    refresh();
}

void PointInTimePanel::refresh()
{
    if (!m_ledger || !m_history.accountId)
        return;
    const quint64 generation = ++m_generation;
    const qint64 accountId = m_history.accountId;
    const std::optional<QDateTime> e =
        m_effectiveNow->isChecked() ? std::nullopt : std::optional(m_effective->dateTime());
    const std::optional<QDateTime> k =
        m_knownNow->isChecked() ? std::nullopt : std::optional(m_known->dateTime());
    m_explain->setText(tr("Asking the ledger…"));
    whenReady(m_ledger->pointInTime(accountId, e, k, kEntryLimit), this,
              [this, generation](const Result<PointInTime> &result) {
                  if (generation != m_generation)
                      return;
                  if (!result) {
                      m_explain->setText(result.error().message);
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  present(result.value());
              });
}

void PointInTimePanel::present(const PointInTime &p)
{
    m_result = p;
    m_balance->setText(p.asKnown.toDisplayString());
    m_shownThen->setText(p.shownThen.toDisplayString());
    m_difference->setText((p.difference.isPositive() ? QStringLiteral("+") : QString()) +
                          p.difference.toDisplayString());
    if (p.knownAt <= p.effectiveAt)
        m_explain->setText(tr("Known at %1, not after the effective time %2: the ledger showed "
                              "this then, nothing has been recorded since that changes it.")
                               .arg(local(p.knownAt), local(p.effectiveAt)));
    else if (p.explainingCount == 0)
        m_explain->setText(tr("Nothing effective by %1 was recorded after it (up to %2): the "
                              "balance was known at the time.")
                               .arg(local(p.effectiveAt), local(p.knownAt)));
    else
        m_explain->setText(tr("%n entry(ies) effective by %1 were recorded after it (up to %2)%3:",
                              nullptr, int(p.explainingCount))
                               .arg(local(p.effectiveAt), local(p.knownAt),
                                    p.explainingCount > p.explaining.size()
                                        ? tr("; the first %1 are listed").arg(p.explaining.size())
                                        : QString()));
    if (!p.final)
        m_explain->setText(tr("Not final yet: a posting that began before %1 has not committed, "
                              "and may still change what the ledger knew at %2. Ask again once "
                              "it has.")
                               .arg(local(p.horizon), local(p.knownAt)) +
                           QLatin1Char(' ') + m_explain->text());
    m_entries->setRowCount(int(p.explaining.size()));
    for (int row = 0; row < p.explaining.size(); ++row) {
        const TimelineEntry &e = p.explaining.at(row);
        QStringList why;
        why << (e.backdated ? tr("backdated") : tr("late"));
        if (e.reverses)
            why << tr("reversal of #%1").arg(e.reverses);
        if (e.reversedBy)
            why << tr("reversed by #%1").arg(e.reversedBy);
        const QString amount = e.amount.toString();
        const QStringList cells = {local(e.recordedAt),
                                   local(e.effectiveAt),
                                   e.description,
                                   amount,
                                   why.join(QStringLiteral(", ")),
                                   QString::number(e.transactionId)};
        for (int c = 0; c < cells.size(); ++c) {
            auto *item = new QTableWidgetItem(cells.at(c));
            if (c == 3)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            m_entries->setItem(row, c, item);
        }
    }
    m_entries->resizeColumnsToContents();
    m_entries->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
    Q_EMIT answered(p);
}

} // namespace ledger
