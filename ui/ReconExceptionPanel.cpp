#include "ReconExceptionPanel.h"

#include "DisplayZone.h"

#include "ReconExceptionModel.h"
#include "async/WhenReady.h"
#include "console/ReconService.h"
#include "domain/Money.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ledger {

namespace {

QTableWidgetItem *item(const QString &text, bool right = false)
{
    auto *i = new QTableWidgetItem(text);
    i->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    if (right)
        i->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return i;
}

void markDiffers(QTableWidgetItem *i, bool differs)
{
    if (differs) {
        i->setBackground(ReconExceptionPanel::differsColor());
        i->setToolTip(ReconExceptionPanel::tr("Differs from the exception's side"));
    }
}

// One side of the comparison: what a line or an entry says.
struct Side
{
    bool present = false;
    qint64 amount = 0;
    QDate date;
    QString reference;
    QString party;
};

} // namespace

void ReconExceptionPanel::fillReasons(QComboBox *box, const QStringList &reasons)
{
    // "CODE: description": the code is shown and sent, the description is its tooltip.
    for (const QString &reason : reasons) {
        const QString code = reason.section(QLatin1Char(':'), 0, 0).trimmed();
        box->addItem(code, code);
        box->setItemData(box->count() - 1, reason.section(QLatin1Char(':'), 1).trimmed(),
                         Qt::ToolTipRole);
    }
    box->setSizeAdjustPolicy(QComboBox::AdjustToContents);
}

QColor ReconExceptionPanel::differsColor()
{
    return QColor(0xff, 0xd8, 0x80); // amber: legible with dark text in light themes
}

ReconExceptionPanel::ReconExceptionPanel(ReconService *service, QWidget *parent)
    : QWidget(parent)
    , m_service(service)
{
    setObjectName(QStringLiteral("reconExceptionPanel"));
    // Another zone chosen in the View menu: the exception's due time written again.
    connect(DisplayZone::instance(), &DisplayZone::changed, this, [this] {
        if (m_exception.id) {
            const ReconException shown = m_exception;
            showException(shown, m_rules);
        }
    });
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_title = new QLabel(this);
    m_title->setObjectName(QStringLiteral("exceptionTitle"));
    m_title->setTextFormat(Qt::PlainText);
    QFont bold = m_title->font();
    bold.setBold(true);
    m_title->setFont(bold);
    m_detail = new QLabel(this);
    m_detail->setObjectName(QStringLiteral("exceptionDetail"));
    m_detail->setTextFormat(Qt::PlainText);
    m_detail->setWordWrap(true);
    m_detail->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_title);
    layout->addWidget(m_detail);

    // The steps, above the comparison.
    auto *steps = new QGridLayout;
    m_assignee = new QLineEdit(this);
    m_assignee->setObjectName(QStringLiteral("assignee"));
    m_assignee->setPlaceholderText(tr("operator (empty: me)"));
    m_assignee->setAccessibleName(tr("Assign to operator"));
    m_assign = new QPushButton(tr("A&ssign"), this);
    m_assign->setObjectName(QStringLiteral("assignButton"));
    m_reason = new QComboBox(this);
    m_reason->setObjectName(QStringLiteral("acceptReason"));
    m_reason->setAccessibleName(tr("Reason code to accept with"));
    m_accept = new QPushButton(tr("Acce&pt"), this);
    m_accept->setObjectName(QStringLiteral("acceptButton"));
    m_note = new QPlainTextEdit(this);
    m_note->setObjectName(QStringLiteral("exceptionNote"));
    m_note->setAccessibleName(tr("Note for the step"));
    m_note->setPlaceholderText(tr("Note (required to match and reopen, and to accept with OTHER)"));
    m_note->setTabChangesFocus(true);
    m_note->setFixedHeight(fontMetrics().height() * 2 + 14);
    m_match = new QPushButton(tr("&Match checked"), this);
    m_match->setObjectName(QStringLiteral("matchButton"));
    m_correction = new QPushButton(tr("Request &correction…"), this);
    m_correction->setObjectName(QStringLiteral("correctionButton"));
    m_correction->setToolTip(tr("Request a reversal (or reverse and rebook) of the entry's "
                                "transaction; the request resolves this exception"));
    m_reopen = new QPushButton(tr("Re&open"), this);
    m_reopen->setObjectName(QStringLiteral("reopenButton"));
    steps->addWidget(new QLabel(tr("Assign to:"), this), 0, 0);
    steps->addWidget(m_assignee, 0, 1);
    steps->addWidget(m_assign, 0, 2);
    steps->addWidget(new QLabel(tr("Accept as:"), this), 0, 3);
    steps->addWidget(m_reason, 0, 4);
    steps->addWidget(m_accept, 0, 5);
    steps->addWidget(m_note, 1, 0, 1, 4);
    auto *more = new QVBoxLayout;
    more->addWidget(m_match);
    more->addWidget(m_correction);
    steps->addLayout(more, 1, 4);
    steps->addWidget(m_reopen, 1, 5, Qt::AlignTop);
    steps->setColumnStretch(1, 1);
    steps->setColumnStretch(4, 1);
    layout->addLayout(steps);

    m_compare = new QTableWidget(CompareRowCount, 2, this);
    m_compare->setObjectName(QStringLiteral("compareTable"));
    m_compare->setAccessibleName(tr("The statement line beside the ledger entry"));
    m_compare->setHorizontalHeaderLabels({tr("Statement line"), tr("Ledger entry")});
    m_compare->setVerticalHeaderLabels(
        {tr("Amount"), tr("Date"), tr("Reference"), tr("Counterparty / text")});
    m_compare->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_compare->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_compare->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_compare->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_compare->setWordWrap(false);
    m_compare->setFixedHeight(m_compare->horizontalHeader()->sizeHint().height() +
                              CompareRowCount * (fontMetrics().height() + 8) + 4);
    layout->addWidget(m_compare);

    m_table = new QTableWidget(0, CandidateColumnCount, this);
    m_table->setObjectName(QStringLiteral("candidateTable"));
    m_table->setAccessibleName(tr("Candidates, best score first"));
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_table->setWordWrap(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(Text, QHeaderView::Stretch);
    layout->addWidget(m_table, 1);
    m_sum = new QLabel(this);
    m_sum->setObjectName(QStringLiteral("matchSum"));
    m_sum->setTextFormat(Qt::PlainText);
    m_sum->setWordWrap(true);
    layout->addWidget(m_sum);

    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem *i) {
        if (i->column() == Pick)
            updateSum();
    });
    connect(m_table, &QTableWidget::currentCellChanged, this, [this] { fillCompare(); });
    connect(m_note, &QPlainTextEdit::textChanged, this, &ReconExceptionPanel::updateButtons);
    connect(m_assign, &QPushButton::clicked, this, &ReconExceptionPanel::assignCurrent);
    connect(m_match, &QPushButton::clicked, this, &ReconExceptionPanel::matchChecked);
    connect(m_accept, &QPushButton::clicked, this, &ReconExceptionPanel::acceptCurrent);
    connect(m_reopen, &QPushButton::clicked, this, &ReconExceptionPanel::reopenCurrent);
    connect(m_correction, &QPushButton::clicked, this, [this] {
        if (m_exception.transactionId > 0)
            Q_EMIT correctionRequested(m_exception.id, m_exception.transactionId,
                                       m_exception.lastEventId);
    });
    if (m_service) {
        whenReady(m_service->acceptReasons(), this, [this](const Result<QStringList> &r) {
            if (!r)
                return; // accepting then says what failed
            fillReasons(m_reason, r.value());
        });
    }
    clear(tr("Select an exception to see it beside its candidates."));
}

void ReconExceptionPanel::setCorrectionsAvailable(bool available)
{
    m_correctionsAvailable = available;
    updateButtons();
}

bool ReconExceptionPanel::lineSide() const
{
    return m_exception.lineId > 0;
}

QString ReconExceptionPanel::money(qint64 minor) const
{
    return ReconExceptionModel::amountText(minor, m_exception.exponent, m_exception.currency);
}

void ReconExceptionPanel::clear(const QString &text)
{
    ++m_generation;
    m_exception = {};
    m_candidates.clear();
    m_title->setText(tr("No exception selected"));
    m_detail->setText(text);
    m_table->setRowCount(0);
    m_compare->clearContents();
    m_sum->clear();
    updateButtons();
}

void ReconExceptionPanel::showException(const ReconException &exception,
                                        const ReconAccountStatus &rules)
{
    const bool same = exception.id == m_exception.id;
    ++m_generation;
    m_exception = exception;
    m_rules = rules;
    if (!same)
        m_note->clear();
    m_title->setText(tr("Exception %1: %2 (%3%4)")
                         .arg(exception.id)
                         .arg(ReconExceptionModel::typeLabel(exception.type), exception.state,
                              exception.assignee.isEmpty()
                                  ? QString()
                                  : tr(", assigned to %1").arg(exception.assignee)));
    QStringList detail;
    detail << tr("%1, bank account %2 (%3)")
                  .arg(exception.account, exception.bankAccount, exception.currency);
    detail << tr("due %1%2")
                  .arg(DisplayZone::instance()->format(exception.dueAt, TimePrecision::Minutes),
                       exception.overdue ? tr(" — overdue") : QString());
    if (exception.hasDifference)
        detail << tr("difference %1").arg(money(exception.differenceMinor));
    if (!exception.remittance.isEmpty())
        detail << tr("remittance: %1").arg(exception.remittance);
    m_detail->setText(detail.join(QStringLiteral("; ")));
    m_candidates.clear();
    m_table->setRowCount(0);
    fillCompare();
    updateSum();
    if (!m_service)
        return;
    const quint64 generation = m_generation;
    const qint64 id = exception.id;
    auto loaded = [this, generation, id](const Result<QList<ReconCandidate>> &r) {
        // GUI thread.
        if (generation != m_generation)
            return;
        if (!r) {
            m_sum->setText(r.error().message);
            Q_EMIT candidatesLoaded(id);
            return;
        }
        m_candidates = r.value();
        fillCandidates();
        Q_EMIT candidatesLoaded(id);
    };
    if (exception.lineId > 0)
        whenReady(m_service->lineCandidates(exception.lineId), this, loaded);
    else if (exception.entryId > 0)
        whenReady(m_service->entryCandidates(exception.entryId), this, loaded);
    else
        whenReady(QtFuture::makeReadyFuture(Result<QList<ReconCandidate>>(QList<ReconCandidate>{})),
                  this, loaded);
}

void ReconExceptionPanel::fillCompare()
{
    m_compare->clearContents();
    if (m_exception.id == 0)
        return;
    Side line, entry;
    const int current = m_table->currentRow();
    const ReconCandidate *candidate =
        current >= 0 && current < m_candidates.size() ? &m_candidates.at(current) : nullptr;
    if (lineSide()) {
        line = {true, m_exception.amountMinor, m_exception.valueDate, m_exception.bankReference,
                m_exception.counterparty};
        if (candidate)
            entry = {true, candidate->amountMinor, candidate->date, candidate->reference,
                     candidate->text};
        else if (m_exception.entryId > 0)
            entry = {true, m_exception.amountMinor + m_exception.differenceMinor,
                     m_exception.entryDate, m_exception.externalRef, QString()};
    } else if (m_exception.entryId > 0) {
        entry = {true, m_exception.amountMinor, m_exception.entryDate, m_exception.externalRef,
                 QString()};
        if (candidate)
            line = {true, candidate->amountMinor, candidate->date, candidate->reference,
                    candidate->text};
    }
    m_compare->setHorizontalHeaderLabels(
        {tr("Statement line%1").arg(lineSide() ? QString() : tr(" (candidate)")),
         tr("Ledger entry%1").arg(lineSide() && candidate ? tr(" (candidate)") : QString())});
    const bool both = line.present && entry.present;
    const auto put = [this, both](int row, int column, const QString &text, bool differs) {
        QTableWidgetItem *i = item(text, row == CompareAmount);
        markDiffers(i, both && differs);
        m_compare->setItem(row, column, i);
    };
    const auto side = [&](const Side &s, int column) {
        if (!s.present)
            return;
        put(CompareAmount, column, money(s.amount), line.amount != entry.amount);
        put(CompareDate, column, s.date.toString(Qt::ISODate), line.date != entry.date);
        put(CompareReference, column, s.reference, line.reference != entry.reference);
        // The counterparty is named in the entry's description when they agree.
        put(CompareParty, column, s.party,
            !line.party.isEmpty() && !entry.party.contains(line.party, Qt::CaseInsensitive));
    };
    side(line, 0);
    side(entry, 1);
}

void ReconExceptionPanel::fillCandidates()
{
    const QSignalBlocker quiet(m_table); // no itemChanged per cell
    m_table->setRowCount(0);
    m_table->setHorizontalHeaderLabels({QString(), lineSide() ? tr("Entry") : tr("Line"),
                                        lineSide() ? tr("Date") : tr("Value date"), tr("Amount"),
                                        tr("Reference"),
                                        lineSide() ? tr("Description") : tr("Counterparty"),
                                        tr("Δ amount"), tr("Δ days"), tr("Score")});
    const QString ownReference = lineSide() ? m_exception.bankReference : m_exception.externalRef;
    m_table->setRowCount(int(m_candidates.size()));
    for (int row = 0; row < m_candidates.size(); ++row) {
        const ReconCandidate &c = m_candidates.at(row);
        auto *pick = new QTableWidgetItem;
        pick->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable);
        pick->setCheckState(Qt::Unchecked);
        pick->setToolTip(tr("Include in the manual match"));
        m_table->setItem(row, Pick, pick);
        m_table->setItem(row, CandidateId, item(QString::number(c.id), true));
        QTableWidgetItem *date = item(c.date.toString(Qt::ISODate));
        markDiffers(date, c.days != 0);
        m_table->setItem(row, Date, date);
        QTableWidgetItem *amount = item(money(c.amountMinor), true);
        markDiffers(amount, c.amountDifference != 0);
        m_table->setItem(row, Amount, amount);
        QTableWidgetItem *reference = item(c.reference);
        markDiffers(reference, c.reference != ownReference);
        m_table->setItem(row, Reference, reference);
        QTableWidgetItem *text = item(c.text.simplified());
        text->setToolTip(c.text);
        m_table->setItem(row, Text, text);
        QTableWidgetItem *diff =
            item(Money::formatMinor(c.amountDifference, m_exception.exponent), true);
        markDiffers(diff, c.amountDifference != 0);
        m_table->setItem(row, AmountDifference, diff);
        QTableWidgetItem *days = item(QString::number(c.days), true);
        markDiffers(days, c.days != 0);
        m_table->setItem(row, DayDifference, days);
        m_table->setItem(row, Score, item(QString::number(c.score), true));
    }
    if (!m_candidates.isEmpty())
        m_table->setCurrentCell(0, CandidateId); // the best one beside the exception
    fillCompare();
    updateSum();
}

void ReconExceptionPanel::setCandidateChecked(int row, bool checked)
{
    if (QTableWidgetItem *i = m_table->item(row, Pick))
        i->setCheckState(checked ? Qt::Checked : Qt::Unchecked);
}

QList<qint64> ReconExceptionPanel::checkedCandidates() const
{
    QList<qint64> ids;
    for (int row = 0; row < m_candidates.size(); ++row) {
        const QTableWidgetItem *i = m_table->item(row, Pick);
        if (i && i->checkState() == Qt::Checked)
            ids << m_candidates.at(row).id;
    }
    return ids;
}

qint64 ReconExceptionPanel::checkedSum() const
{
    qint64 sum = 0;
    for (int row = 0; row < m_candidates.size(); ++row) {
        const QTableWidgetItem *i = m_table->item(row, Pick);
        if (i && i->checkState() == Qt::Checked)
            sum += m_candidates.at(row).amountMinor;
    }
    return sum;
}

qint64 ReconExceptionPanel::tolerance() const
{
    // The server's rule (recon.manual_match): the larger of the absolute tolerance and the
    // basis points of the lines' sum.
    const qint64 lines = lineSide() ? m_exception.amountMinor : checkedSum();
    return qMax(m_rules.amountToleranceMinor, qAbs(lines) * m_rules.amountToleranceBp / 10000);
}

bool ReconExceptionPanel::sumsAgree() const
{
    return !checkedCandidates().isEmpty() &&
           qAbs(m_exception.amountMinor - checkedSum()) <= tolerance();
}

void ReconExceptionPanel::updateSum()
{
    if (m_exception.id == 0 || (m_exception.lineId == 0 && m_exception.entryId == 0)) {
        m_sum->setText(m_exception.id ? tr("Nothing to match: accept or assign it.") : QString());
        updateButtons();
        return;
    }
    const int checked = int(checkedCandidates().size());
    const QString own = lineSide() ? tr("Statement line %1").arg(money(m_exception.amountMinor))
                                   : tr("Ledger entry %1").arg(money(m_exception.amountMinor));
    if (checked == 0) {
        m_sum->setStyleSheet(QString());
        m_sum->setText(tr("%1 · check the %2 that make it up to match them (tolerance %3)")
                           .arg(own, lineSide() ? tr("entries") : tr("lines"), money(tolerance())));
        updateButtons();
        return;
    }
    const QString picked =
        lineSide()
            ? (checked == 1 ? tr("1 checked entry %1") : tr("%1 checked entries %2").arg(checked))
            : (checked == 1 ? tr("1 checked line %1") : tr("%1 checked lines %2").arg(checked));
    const qint64 difference = checkedSum() - m_exception.amountMinor;
    QString text =
        QStringLiteral("%1 · %2 · %3")
            .arg(own, picked.arg(money(checkedSum())),
                 tr("difference %1 (tolerance %2)").arg(money(difference), money(tolerance())));
    if (sumsAgree())
        m_sum->setStyleSheet(QStringLiteral("color: #1e7b34; font-weight: bold;"));
    else
        m_sum->setStyleSheet(QStringLiteral("color: #b03a2e; font-weight: bold;"));
    text += sumsAgree() ? tr(" — the sums agree") : tr(" — the sums differ");
    m_sum->setText(text);
    updateButtons();
}

void ReconExceptionPanel::updateButtons()
{
    const bool any = m_exception.id > 0 && !m_busy;
    const bool working = m_exception.state == QLatin1String("open") ||
                         m_exception.state == QLatin1String("assigned");
    m_assign->setEnabled(any && working);
    m_accept->setEnabled(any && working && m_reason->count() > 0);
    m_match->setEnabled(any && working && (m_exception.lineId > 0 || m_exception.entryId > 0));
    m_correction->setEnabled(any && working && m_correctionsAvailable &&
                             m_exception.transactionId > 0);
    m_reopen->setEnabled(any && !working);
}

void ReconExceptionPanel::setBusy(bool busy)
{
    m_busy = busy;
    updateButtons();
}

template <class T>
void ReconExceptionPanel::act(QFuture<Result<T>> future, const QString &what, qint64 id)
{
    setBusy(true);
    whenReady(future, this, [this, id, what](const Result<T> &r) {
        // GUI thread. The queue reloads itself on the service's changed().
        setBusy(false);
        if (!r) {
            Q_EMIT actionFailed(id, r.error());
            return;
        }
        if (id == m_exception.id)
            m_note->clear();
        Q_EMIT acted(id, what);
    });
}

void ReconExceptionPanel::assignCurrent()
{
    if (m_exception.id == 0 || !m_service)
        return;
    act(m_service->assign(m_exception.id, m_assignee->text().trimmed(), m_exception.lastEventId),
        tr("assigned"), m_exception.id);
}

bool ReconExceptionPanel::matchChecked()
{
    if (m_exception.id == 0 || !m_service)
        return false;
    QString why;
    if (checkedCandidates().isEmpty())
        why = lineSide() ? tr("Check the entries that make up this line.")
                         : tr("Check the lines that make up this entry.");
    else if (!sumsAgree())
        why = tr("The sums differ by %1, more than the tolerance of %2: check other candidates. "
                 "Nothing was sent.")
                  .arg(money(checkedSum() - m_exception.amountMinor), money(tolerance()));
    else if (m_note->toPlainText().trimmed().isEmpty())
        why = tr("Say in the note why these match. Nothing was sent.");
    if (!why.isEmpty()) {
        m_sum->setText(why);
        m_sum->setStyleSheet(QStringLiteral("color: #b03a2e; font-weight: bold;"));
        Q_EMIT refusedBeforeSending(why);
        return false;
    }
    const QList<qint64> own{lineSide() ? m_exception.lineId : m_exception.entryId};
    const QList<qint64> others = checkedCandidates();
    const QString note = m_note->toPlainText().trimmed();
    act(lineSide() ? m_service->manualMatch(own, others, note)
                   : m_service->manualMatch(others, own, note),
        tr("matched"), m_exception.id);
    return true;
}

void ReconExceptionPanel::acceptCurrent()
{
    if (m_exception.id == 0 || !m_service)
        return;
    act(m_service->accept(m_exception.id, m_reason->currentData().toString(),
                          m_note->toPlainText().trimmed(), m_exception.lastEventId),
        tr("accepted"), m_exception.id);
}

void ReconExceptionPanel::reopenCurrent()
{
    if (m_exception.id == 0 || !m_service)
        return;
    act(m_service->reopen(m_exception.id, m_note->toPlainText().trimmed(), m_exception.lastEventId),
        tr("reopened"), m_exception.id);
}

void ReconExceptionPanel::resolveByCorrection(qint64 exceptionId, qint64 reversalRequestId,
                                              qint64 expectedEvent)
{
    if (!m_service)
        return;
    const QString note = tr("correction requested: reversal request #%1").arg(reversalRequestId);
    act(m_service->resolveByCorrection(exceptionId, reversalRequestId, note, expectedEvent),
        tr("resolved by a correction"), exceptionId);
}

} // namespace ledger
