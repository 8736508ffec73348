#include "HealthView.h"

#include "DisplayZone.h"
#include "async/WhenReady.h"
#include "console/HealthService.h"
#include "console/ReportService.h"

#include <QAbstractItemView>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QTextDocument>
#include <QTimer>
#include <QVBoxLayout>

namespace ledger {

namespace {

QString levelText(HealthItem::Level level)
{
    switch (level) {
    case HealthItem::Level::Ok:
        return HealthView::tr("OK");
    case HealthItem::Level::Warning:
        return HealthView::tr("Warning");
    case HealthItem::Level::Bad:
        return HealthView::tr("Act now");
    case HealthItem::Level::Unknown:
        break;
    }
    return HealthView::tr("Unknown");
}

QColor levelColor(HealthItem::Level level)
{
    switch (level) {
    case HealthItem::Level::Ok:
        return QColor(0x1e, 0x7b, 0x34);
    case HealthItem::Level::Warning:
        return QColor(0x9a, 0x67, 0x00);
    case HealthItem::Level::Bad:
        return QColor(0xb0, 0x00, 0x20);
    case HealthItem::Level::Unknown:
        break;
    }
    return QColor(0x55, 0x55, 0x55);
}

QString actText(HealthTarget target)
{
    switch (target) {
    case HealthTarget::DeadLetters:
        return HealthView::tr("Dead letters");
    case HealthTarget::Invariants:
        return HealthView::tr("Checks");
    case HealthTarget::Reconciliation:
        return HealthView::tr("Open queue");
    case HealthTarget::Audit:
        return HealthView::tr("Audit log");
    case HealthTarget::Reports:
        return HealthView::tr("Reports");
    case HealthTarget::Session:
    case HealthTarget::None:
        break;
    }
    return {};
}

QTableWidgetItem *plainItem(const QString &text)
{
    auto *item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    return item;
}

// In the zone the console shows times in (View menu).
QString shown(const QDateTime &t)
{
    return t.isValid() ? DisplayZone::instance()->format(t) : QString();
}

QTableWidget *newTable(const QString &name, const QStringList &headers)
{
    auto *t = new QTableWidget(0, int(headers.size()));
    t->setObjectName(name);
    t->setHorizontalHeaderLabels(headers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setSelectionMode(QAbstractItemView::SingleSelection);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->verticalHeader()->hide();
    t->horizontalHeader()->setStretchLastSection(true);
    t->setWordWrap(false);
    return t;
}

} // namespace

HealthView::HealthView(HealthService *health, ReportService *reports, QWidget *parent)
    : QWidget(parent)
    , m_health(health)
    , m_reports(reports)
{
    auto *layout = new QVBoxLayout(this);

    auto *top = new QHBoxLayout;
    m_refresh = new QPushButton(tr("&Refresh"), this);
    m_refresh->setObjectName(QStringLiteral("healthRefresh"));
    connect(m_refresh, &QPushButton::clicked, this, &HealthView::refresh);
    m_asOf = new QLabel(this);
    m_asOf->setObjectName(QStringLiteral("healthAsOf"));
    m_asOf->setTextFormat(Qt::PlainText);
    top->addWidget(m_refresh);
    top->addWidget(m_asOf, 1);
    layout->addLayout(top);

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("healthMessage"));
    m_message->setTextFormat(Qt::PlainText); // it quotes the database
    m_message->setWordWrap(true);
    m_message->hide();
    layout->addWidget(m_message);

    m_itemsTable = newTable(QStringLiteral("healthItems"),
                            {tr("Status"), tr("Item"), tr("Where to act"), tr("Detail")});
    m_itemsTable->setSelectionMode(QAbstractItemView::NoSelection);
    layout->addWidget(m_itemsTable, 2);

    auto *deadBox = new QGroupBox(tr("Open dead letters (newest 50)"), this);
    deadBox->setObjectName(QStringLiteral("deadLetterBox"));
    auto *deadLayout = new QVBoxLayout(deadBox);
    m_deadLetters = newTable(QStringLiteral("deadLetters"),
                             {tr("Id"), tr("Parked at"), tr("Source"),
                              tr("Topic / partition / offset"), tr("Error"), tr("Reason")});
    deadLayout->addWidget(m_deadLetters);
    auto *deadButtons = new QHBoxLayout;
    m_retry = new QPushButton(tr("Re&try"), deadBox);
    m_retry->setObjectName(QStringLiteral("retryDeadLetter"));
    m_retry->setToolTip(tr("Post the event again with the current upcasters and rules"));
    m_discard = new QPushButton(tr("&Discard…"), deadBox);
    m_discard->setObjectName(QStringLiteral("discardDeadLetter"));
    m_discard->setToolTip(tr("Give the event up, with a reason on record"));
    deadButtons->addWidget(m_retry);
    deadButtons->addWidget(m_discard);
    deadButtons->addStretch(1);
    deadLayout->addLayout(deadButtons);
    layout->addWidget(deadBox, 3);
    connect(m_retry, &QPushButton::clicked, this, [this] {
        if (const qint64 id = selectedDeadLetter())
            retryDeadLetter(id);
    });
    connect(m_discard, &QPushButton::clicked, this, [this] {
        const qint64 id = selectedDeadLetter();
        if (!id)
            return;
        bool ok = false;
        const QString reason = QInputDialog::getText(
            this, tr("Discard dead letter %1").arg(id),
            tr("Why is this event given up? (kept on record)"), QLineEdit::Normal, {}, &ok);
        if (ok)
            discardDeadLetter(id, reason);
    });
    connect(m_deadLetters, &QTableWidget::itemSelectionChanged, this,
            &HealthView::updateDeadLetterButtons);
    updateDeadLetterButtons();

    auto *checksBox = new QGroupBox(tr("Invariant checks (newest first)"), this);
    checksBox->setObjectName(QStringLiteral("checksBox"));
    auto *checksLayout = new QVBoxLayout(checksBox);
    m_checks =
        newTable(QStringLiteral("invariantChecks"), {tr("Checked at"), tr("Result"), tr("Failed")});
    checksLayout->addWidget(m_checks);
    m_runChecks = new QPushButton(tr("Run &checks"), checksBox);
    m_runChecks->setObjectName(QStringLiteral("runChecks"));
    m_runChecks->setToolTip(tr("Check every invariant of the ledger now and record the run "
                               "(auditors and compliance)"));
    connect(m_runChecks, &QPushButton::clicked, this, &HealthView::runChecks);
    auto *checkButtons = new QHBoxLayout;
    checkButtons->addWidget(m_runChecks);
    checkButtons->addStretch(1);
    checksLayout->addLayout(checkButtons);
    layout->addWidget(checksBox, 2);

    // Times follow the View menu's zone at once.
    connect(DisplayZone::instance(), &DisplayZone::changed, this, [this] {
        if (m_snapshot && !m_refreshing)
            showSnapshot(*m_snapshot, false);
    });

    m_poll = new QTimer(this);
    m_poll->setInterval(30'000);
    connect(m_poll, &QTimer::timeout, this, &HealthView::refresh);
}

void HealthView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
    m_poll->start();
}

void HealthView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_poll->stop();
}

void HealthView::setMessage(const QString &text, bool error)
{
    m_message->setText(text);
    m_message->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
    m_message->setVisible(!text.isEmpty());
}

void HealthView::refresh()
{
    if (!m_health)
        return;
    if (m_refreshing) {
        // Asked while one is out (say, after a decision): the answer on its way may predate
        // it, so ask once more when it arrives, and report only that one.
        m_refreshAgain = true;
        return;
    }
    m_refreshing = true;
    m_refreshAgain = false;
    m_refresh->setEnabled(false);
    whenReady(m_health->snapshot(), this, [this](const Result<HealthSnapshot> &r) {
        if (m_refreshAgain) {
            m_refreshing = false;
            refresh();
            return;
        }
        if (!r) {
            m_refreshing = false;
            m_refresh->setEnabled(true);
            setMessage(tr("Health could not be read: %1").arg(r.error().message), true);
            Q_EMIT refreshFailed(r.error().message);
            return;
        }
        const HealthSnapshot snapshot = r.value();
        // The store's state next, when reports come from a store of their own.
        if (!m_reports || !m_reports->storeIsSeparate()) {
            m_context.storeIsSeparate = false;
            showSnapshot(snapshot, true);
            return;
        }
        whenReady(m_reports->sourceState(), this,
                  [this, snapshot](const Result<ReportSourceState> &state) {
                      if (m_refreshAgain) {
                          m_refreshing = false;
                          refresh();
                          return;
                      }
                      m_context.storeIsSeparate = true;
                      m_context.storeMaxLagSeconds = m_reports ? m_reports->maxLagSeconds() : 300;
                      m_context.storeError = state ? QString() : state.error().message;
                      m_context.storeReplicatedAt =
                          state ? state.value().replicatedAt : QDateTime();
                      showSnapshot(snapshot, true);
                  });
    });
}

void HealthView::showSnapshot(const HealthSnapshot &snapshot, bool announce)
{
    m_refreshing = false;
    m_refresh->setEnabled(true);
    m_snapshot = snapshot;
    m_context.now = snapshot.at;
    m_context.sessionSecondsLeft =
        m_sessionEnds.isValid()
            ? std::optional<int>(int(qMax<qint64>(0, snapshot.at.secsTo(m_sessionEnds))))
            : std::nullopt;
    m_items = assessHealth(snapshot, m_context);
    m_asOf->setText(tr("As of %1 (the ledger's clock)").arg(shown(snapshot.at)));
    if (m_message->styleSheet().contains(QLatin1String("b00020")))
        setMessage({}, false); // an earlier failure is over
    showItems();

    // The selection follows the letter, never the row: a letter decided meanwhile (here or by
    // someone else) leaves nothing selected, so no button acts on one the user did not pick.
    const qint64 keep = selectedDeadLetter();
    m_deadLetters->clearSelection();
    m_deadLetters->setRowCount(int(snapshot.newestDeadLetters.size()));
    int row = 0;
    for (const OpenDeadLetter &d : snapshot.newestDeadLetters) {
        m_deadLetters->setItem(row, 0, plainItem(QString::number(d.id)));
        m_deadLetters->item(row, 0)->setData(Qt::UserRole, d.id);
        m_deadLetters->setItem(row, 1, plainItem(shown(d.parkedAt)));
        m_deadLetters->setItem(row, 2, plainItem(d.source));
        m_deadLetters->setItem(
            row, 3,
            plainItem(QStringLiteral("%1 / %2 / %3").arg(d.topic).arg(d.partition).arg(d.offset)));
        m_deadLetters->setItem(row, 4, plainItem(d.errorCode));
        m_deadLetters->setItem(row, 5, plainItem(d.kind));
        if (d.id == keep)
            m_deadLetters->selectRow(row);
        ++row;
    }
    m_deadLetters->resizeColumnsToContents();

    m_checks->setRowCount(int(snapshot.invariantChecks.size()));
    row = 0;
    for (const InvariantCheckSummary &c : snapshot.invariantChecks) {
        m_checks->setItem(row, 0, plainItem(shown(c.checkedAt)));
        auto *result = plainItem(c.ok ? tr("all held") : tr("failed"));
        result->setForeground(levelColor(c.ok ? HealthItem::Level::Ok : HealthItem::Level::Bad));
        m_checks->setItem(row, 1, result);
        m_checks->setItem(row, 2, plainItem(c.failed.join(QStringLiteral(", "))));
        ++row;
    }
    m_checks->resizeColumnsToContents();
    if (announce)
        Q_EMIT refreshed();
}

void HealthView::showItems()
{
    m_itemsTable->setRowCount(int(m_items.size()));
    int row = 0;
    for (const HealthItem &item : m_items) {
        auto *status = plainItem(levelText(item.level));
        status->setForeground(levelColor(item.level));
        QFont bold = status->font();
        bold.setBold(item.level != HealthItem::Level::Ok);
        status->setFont(bold);
        status->setData(Qt::UserRole, item.key);
        m_itemsTable->setItem(row, 0, status);
        m_itemsTable->setItem(row, 1, plainItem(item.title));
        m_itemsTable->setItem(row, 3, plainItem(item.detail));
        // Plain text: the detail quotes names from the database.
        m_itemsTable->item(row, 3)->setToolTip(Qt::convertFromPlainText(item.detail));
        const QString text = actText(item.target);
        if (text.isEmpty()) {
            m_itemsTable->removeCellWidget(row, 2);
            m_itemsTable->setItem(row, 2, plainItem(QString()));
        } else {
            auto *button = new QPushButton(text, m_itemsTable);
            button->setObjectName(QStringLiteral("act:") + item.key);
            const QString key = item.key;
            connect(button, &QPushButton::clicked, this, [this, key] { act(key); });
            m_itemsTable->setCellWidget(row, 2, button);
        }
        ++row;
    }
    m_itemsTable->resizeColumnsToContents();
}

void HealthView::act(const QString &key)
{
    for (const HealthItem &item : std::as_const(m_items)) {
        if (item.key != key)
            continue;
        if (item.target == HealthTarget::DeadLetters) {
            m_deadLetters->setFocus();
            if (m_deadLetters->rowCount() > 0 && !selectedDeadLetter())
                m_deadLetters->selectRow(0);
        } else if (item.target == HealthTarget::Invariants) {
            m_checks->setFocus();
        }
        Q_EMIT actRequested(item.target);
        return;
    }
}

qint64 HealthView::selectedDeadLetter() const
{
    const QList<QTableWidgetItem *> selected = m_deadLetters->selectedItems();
    for (const QTableWidgetItem *item : selected) {
        const QTableWidgetItem *first = m_deadLetters->item(item->row(), 0);
        if (first)
            return first->data(Qt::UserRole).toLongLong();
    }
    return 0;
}

void HealthView::updateDeadLetterButtons()
{
    // One decision at a time: the buttons wait for the answer.
    const bool can = !m_deciding && selectedDeadLetter() != 0;
    m_retry->setEnabled(can);
    m_discard->setEnabled(can);
}

void HealthView::runChecks()
{
    if (!m_health)
        return;
    m_runChecks->setEnabled(false);
    setMessage(tr("Checking the ledger's invariants…"), false);
    whenReady(m_health->runChecks(), this, [this](const Result<QList<InvariantResult>> &r) {
        m_runChecks->setEnabled(true);
        if (!r) {
            setMessage(tr("The checks did not run: %1").arg(r.error().message), true);
            Q_EMIT checksFinished(false, r.error().message);
            return;
        }
        QStringList failed;
        for (const InvariantResult &result : r.value())
            if (!result.ok)
                failed << QStringLiteral("%1 (%2)").arg(result.invariant, result.firstFailure);
        const QString text = failed.isEmpty()
                                 ? tr("All %1 invariants held.").arg(r.value().size())
                                 : tr("Failed: %1").arg(failed.join(QStringLiteral("; ")));
        setMessage(text, !failed.isEmpty());
        Q_EMIT checksFinished(failed.isEmpty(), text);
        refresh();
    });
}

void HealthView::retryDeadLetter(qint64 id)
{
    if (!m_health)
        return;
    m_deciding = true;
    updateDeadLetterButtons();
    whenReady(m_health->retryDeadLetter(id), this, [this, id](const Result<DeadLetterRetry> &r) {
        m_deciding = false;
        updateDeadLetterButtons();
        if (!r) {
            const QString text =
                tr("Dead letter %1 was not retried: %2").arg(id).arg(r.error().message);
            setMessage(text, true);
            Q_EMIT deadLetterDecided(false, text);
            return;
        }
        const QString text = r.value().duplicate
                                 ? tr("Dead letter %1 had been posted already (transaction %2).")
                                       .arg(id)
                                       .arg(r.value().transactionId)
                                 : tr("Dead letter %1 posted as transaction %2.")
                                       .arg(id)
                                       .arg(r.value().transactionId);
        setMessage(text, false);
        Q_EMIT deadLetterDecided(true, text);
        refresh();
    });
}

void HealthView::discardDeadLetter(qint64 id, const QString &reason)
{
    if (!m_health)
        return;
    m_deciding = true;
    updateDeadLetterButtons();
    whenReady(m_health->discardDeadLetter(id, reason), this, [this, id](const Result<qint64> &r) {
        m_deciding = false;
        updateDeadLetterButtons();
        const QString text =
            r ? tr("Dead letter %1 discarded (audit event %2).").arg(id).arg(r.value())
              : tr("Dead letter %1 was not discarded: %2").arg(id).arg(r.error().message);
        setMessage(text, !r);
        Q_EMIT deadLetterDecided(bool(r), text);
        if (r)
            refresh();
    });
}

} // namespace ledger
