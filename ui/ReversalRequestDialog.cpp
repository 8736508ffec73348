#include "ReversalRequestDialog.h"

#include "ItemViews.h"

#include "BalanceImpactTable.h"

#include "async/WhenReady.h"
#include "console/LedgerService.h"
#include "console/ReversalService.h"
#include "domain/Money.h"

#include <QComboBox>
#include <QCompleter>
#include <QDateTimeEdit>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMap>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QStringListModel>
#include <QStyledItemDelegate>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace ledger {

namespace {

const QString Debit = QStringLiteral("debit");
const QString Credit = QStringLiteral("credit");

QString local(const QDateTime &t)
{
    return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss t"))
                       : QString();
}

// The account cell's editor: a line edit completing account codes from the server.
class AccountDelegate : public QStyledItemDelegate
{
public:
    AccountDelegate(QCompleter *completer, std::function<void(const QString &)> typed,
                    QObject *parent)
        : QStyledItemDelegate(parent)
        , m_completer(completer)
        , m_typed(std::move(typed))
    {}

    QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &,
                          const QModelIndex &) const override
    {
        auto *edit = new QLineEdit(parent);
        edit->setObjectName(QStringLiteral("legAccountEditor"));
        edit->setCompleter(m_completer);
        QObject::connect(edit, &QLineEdit::textEdited, edit, m_typed);
        return edit;
    }

private:
    QCompleter *m_completer;
    std::function<void(const QString &)> m_typed;
};

QTableWidgetItem *cell(const QString &text, bool right = false)
{
    auto *item = new QTableWidgetItem(text);
    if (right)
        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

} // namespace

ReversalRequestDialog::ReversalRequestDialog(ReversalService *service, LedgerService *ledger,
                                             qint64 transactionId, QWidget *parent)
    : QDialog(parent)
    , m_service(service)
    , m_ledger(ledger)
    , m_transactionId(transactionId)
    , m_clientKey(ReversalService::newClientKey())
{
    setObjectName(QStringLiteral("reversalRequestDialog"));
    setWindowTitle(tr("Request the reversal of transaction #%1").arg(transactionId));
    buildUi();
    resize(980, 780);

    if (!m_service || !m_ledger) {
        showMessage(tr("The console is not connected."), true);
        return;
    }
    // Two independent loads on the worker; the form opens when both are here.
    m_pendingLoads = 2;
    auto loaded = [this] {
        if (--m_pendingLoads == 0 && !m_reasons.isEmpty() && m_original.id) {
            m_ready = true;
            reasonChanged();
            showMessage(tr("Choose a reason, say why in the note, then Preview."), false);
            Q_EMIT ready();
        }
    };
    whenReady(m_service->reasonCodes(), this, [this, loaded](const Result<QList<ReasonCode>> &r) {
        if (!r) {
            showMessage(r.error().message, true);
            Q_EMIT failed(r.error());
        } else {
            const QSignalBlocker quiet(m_reason);
            m_reasons = r.value();
            for (const ReasonCode &c : m_reasons)
                m_reason->addItem(QStringLiteral("%1 — %2").arg(c.code, c.description), c.code);
        }
        loaded();
    });
    whenReady(m_ledger->transactionDetail(transactionId), this,
              [this, loaded](const Result<TransactionDetail> &r) {
                  if (!r) {
                      showMessage(r.error().message, true);
                      Q_EMIT failed(r.error());
                  } else {
                      transactionArrived(r.value());
                  }
                  loaded();
              });
}

void ReversalRequestDialog::buildUi()
{
    auto *layout = new QVBoxLayout(this);
    m_summary = new QLabel(tr("Loading transaction #%1…").arg(m_transactionId), this);
    m_summary->setObjectName(QStringLiteral("requestSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);

    auto *form = new QFormLayout;
    m_reason = new QComboBox(this);
    m_reason->setObjectName(QStringLiteral("reasonCode"));
    m_reason->setAccessibleName(tr("Reason code"));
    m_reasonHelp = new QLabel(this);
    m_reasonHelp->setObjectName(QStringLiteral("reasonHelp"));
    m_reasonHelp->setWordWrap(true);
    m_note = new QPlainTextEdit(this);
    m_note->setObjectName(QStringLiteral("requestNote"));
    m_note->setAccessibleName(tr("Note (required)"));
    m_note->setPlaceholderText(tr("What is wrong with this posting, and how you know (required)"));
    m_note->setTabChangesFocus(true);
    m_note->setFixedHeight(fontMetrics().height() * 3 + 12);
    form->addRow(tr("&Reason:"), m_reason);
    form->addRow(QString(), m_reasonHelp);
    form->addRow(tr("&Note:"), m_note);
    layout->addLayout(form);

    // Reverse and rebook: the corrected posting, prefilled from the original.
    m_rebookBox = new QGroupBox(tr("Corrected posting (reverse and rebook)"), this);
    m_rebookBox->setObjectName(QStringLiteral("rebookBox"));
    auto *rebookLayout = new QVBoxLayout(m_rebookBox);
    auto *rebookForm = new QFormLayout;
    m_effective = new QDateTimeEdit(m_rebookBox);
    m_effective->setObjectName(QStringLiteral("rebookEffective"));
    m_effective->setTimeSpec(Qt::LocalTime);
    m_effective->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm:ss t"));
    m_effective->setCalendarPopup(true);
    m_description = new QLineEdit(m_rebookBox);
    m_description->setObjectName(QStringLiteral("rebookDescription"));
    rebookForm->addRow(tr("&Effective:"), m_effective);
    rebookForm->addRow(tr("&Description:"), m_description);
    rebookLayout->addLayout(rebookForm);
    m_grid = new QTableWidget(0, LegColumnCount, m_rebookBox);
    m_grid->setObjectName(QStringLiteral("rebookGrid"));
    m_grid->setAccessibleName(tr("Legs of the corrected posting"));
    m_grid->setHorizontalHeaderLabels({tr("Account"), tr("Side"), tr("Amount"), tr("Currency")});
    m_grid->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_grid->horizontalHeader()->setSectionResizeMode(LegAccount, QHeaderView::Stretch);
    m_grid->setColumnWidth(LegSide, 110);
    m_grid->setColumnWidth(LegAmount, 150);
    m_grid->setColumnWidth(LegCurrency, 90);
    m_grid->setMinimumHeight(fontMetrics().height() * 6);
    m_completions = new QStringListModel(this);
    m_completer = new QCompleter(m_completions, this);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setFilterMode(Qt::MatchContains);
    m_grid->setItemDelegateForColumn(
        LegAccount, new AccountDelegate(
                        m_completer, [this](const QString &t) { lookupAccounts(t); }, this));
    rebookLayout->addWidget(m_grid);
    auto *legButtons = new QHBoxLayout;
    m_addLeg = new QPushButton(tr("&Add leg"), m_rebookBox);
    m_addLeg->setObjectName(QStringLiteral("addLeg"));
    m_removeLeg = new QPushButton(tr("Remo&ve leg"), m_rebookBox);
    m_removeLeg->setObjectName(QStringLiteral("removeLeg"));
    legButtons->addWidget(m_addLeg);
    legButtons->addWidget(m_removeLeg);
    legButtons->addStretch(1);
    rebookLayout->addLayout(legButtons);
    layout->addWidget(m_rebookBox, 2);

    // The server's preview: both transactions, then the balances they change.
    m_previewTitle = new QLabel(tr("<b>Preview</b> — not asked yet"), this);
    m_previewTitle->setObjectName(QStringLiteral("previewTitle"));
    layout->addWidget(m_previewTitle);
    auto *previews = new QSplitter(Qt::Horizontal, this);
    m_previewLegs =
        makeReadOnlyTable(previews, "previewLegs",
                          {tr("Posting"), tr("Account"), tr("Name"), tr("Amount"), tr("Cur.")},
                          tr("Legs the request would post"));
    m_balances = makeReadOnlyTable(previews, "previewBalances",
                                   {tr("Account"), tr("Before"), tr("After"), tr("Cur."), tr("")},
                                   tr("Balances before and after"));
    previews->addWidget(m_previewLegs);
    previews->addWidget(m_balances);
    layout->addWidget(previews, 2);
    m_warnings = new QLabel(this);
    m_warnings->setObjectName(QStringLiteral("previewWarnings"));
    m_warnings->setTextFormat(Qt::PlainText);
    m_warnings->setWordWrap(true);
    m_warnings->setStyleSheet(QStringLiteral("color: #b03a2e; font-weight: bold;"));
    m_warnings->hide();
    layout->addWidget(m_warnings);

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("requestMessage"));
    m_message->setTextFormat(Qt::PlainText);
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_message);

    auto *buttons = new QDialogButtonBox(this);
    m_previewButton = buttons->addButton(tr("&Preview"), QDialogButtonBox::ActionRole);
    m_previewButton->setObjectName(QStringLiteral("previewButton"));
    m_submitButton = buttons->addButton(tr("&Send request"), QDialogButtonBox::AcceptRole);
    m_submitButton->setObjectName(QStringLiteral("submitButton"));
    buttons->addButton(QDialogButtonBox::Cancel);
    // AcceptRole would close the dialog: the dialog closes itself once the server said yes.
    disconnect(buttons, &QDialogButtonBox::accepted, nullptr, nullptr);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_previewButton, &QPushButton::clicked, this, &ReversalRequestDialog::requestPreview);
    connect(m_submitButton, &QPushButton::clicked, this, &ReversalRequestDialog::submit);
    layout->addWidget(buttons);

    connect(m_reason, &QComboBox::currentIndexChanged, this, &ReversalRequestDialog::reasonChanged);
    connect(m_note, &QPlainTextEdit::textChanged, this, &ReversalRequestDialog::draftEdited);
    connect(m_effective, &QDateTimeEdit::dateTimeChanged, this,
            &ReversalRequestDialog::draftEdited);
    connect(m_description, &QLineEdit::textChanged, this, &ReversalRequestDialog::draftEdited);
    connect(m_grid, &QTableWidget::itemChanged, this, [this](QTableWidgetItem *item) {
        // A known account fills in its currency (the operator may still change it: the
        // check then names the leg).
        if (item->column() == LegAccount) {
            const auto it = m_accounts.constFind(item->text().trimmed());
            QTableWidgetItem *currency = m_grid->item(item->row(), LegCurrency);
            if (it != m_accounts.constEnd() && currency && currency->text().isEmpty())
                currency->setText(it->currency);
        }
        draftEdited();
    });
    connect(m_addLeg, &QPushButton::clicked, this, &ReversalRequestDialog::addLeg);
    connect(m_removeLeg, &QPushButton::clicked, this, [this] {
        if (m_grid->currentRow() >= 0)
            removeLeg(m_grid->currentRow());
    });

    m_lookupDelay = new QTimer(this);
    m_lookupDelay->setSingleShot(true);
    m_lookupDelay->setInterval(200);
    connect(m_lookupDelay, &QTimer::timeout, this, [this] {
        if (!m_ledger || m_lookupText.isEmpty())
            return;
        const QString asked = m_lookupText;
        whenReady(m_ledger->findAccounts(asked, 30), this,
                  [this, asked](const Result<QList<Account>> &r) {
                      if (!r || asked != m_lookupText)
                          return; // completion is a convenience: the checks come later
                      rememberAccounts(r.value());
                      QStringList codes;
                      for (const Account &a : r.value())
                          codes << a.code;
                      m_completions->setStringList(codes);
                      m_completer->complete();
                  });
    });

    m_rebookBox->hide();
    updateButtons();
}

void ReversalRequestDialog::transactionArrived(const TransactionDetail &d)
{
    m_original = d;
    m_summary->setText(tr("<b>#%1</b> %2 — %3<br>Effective %4 · recorded %5 · posted by %6")
                           .arg(d.id)
                           .arg(d.kind.toHtmlEscaped(), d.description.toHtmlEscaped(),
                                local(d.effectiveAt), local(d.recordedAt),
                                d.createdBy.toHtmlEscaped()));
    m_effective->setDateTime(d.effectiveAt.toLocalTime());
    m_description->setText(d.description);
    {
        const QSignalBlocker quiet(m_grid);
        m_grid->setRowCount(0);
        for (const TransactionLeg &l : d.legs) {
            addLeg();
            QString amount = l.amount;
            if (amount.startsWith(QLatin1Char('-')))
                amount.remove(0, 1);
            setLeg(m_grid->rowCount() - 1, l.account,
                   l.amount.startsWith(QLatin1Char('-')) ? Credit : Debit, amount, l.currency);
        }
    }
    if (d.reversedBy) {
        showMessage(tr("Transaction #%1 was already reversed by #%2.").arg(d.id).arg(d.reversedBy),
                    true);
    }
}

void ReversalRequestDialog::addLeg()
{
    const int row = m_grid->rowCount();
    m_grid->insertRow(row);
    auto *side = new QComboBox(m_grid);
    side->setObjectName(QStringLiteral("legSide"));
    side->addItem(tr("debit"), Debit);
    side->addItem(tr("credit"), Credit);
    connect(side, &QComboBox::currentIndexChanged, this, &ReversalRequestDialog::draftEdited);
    m_grid->setCellWidget(row, LegSide, side);
    m_grid->setItem(row, LegAccount, new QTableWidgetItem);
    auto *amount = new QTableWidgetItem;
    amount->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    m_grid->setItem(row, LegAmount, amount);
    m_grid->setItem(row, LegCurrency, new QTableWidgetItem);
    draftEdited();
}

void ReversalRequestDialog::removeLeg(int row)
{
    if (row < 0 || row >= m_grid->rowCount())
        return;
    m_grid->removeRow(row);
    draftEdited();
}

void ReversalRequestDialog::setLeg(int row, const QString &account, const QString &side,
                                   const QString &amount, const QString &currency)
{
    while (m_grid->rowCount() <= row)
        addLeg();
    m_grid->item(row, LegCurrency)->setText(currency);
    m_grid->item(row, LegAccount)->setText(account);
    m_grid->item(row, LegAmount)->setText(amount);
    auto *box = qobject_cast<QComboBox *>(m_grid->cellWidget(row, LegSide));
    box->setCurrentIndex(qMax(0, box->findData(side)));
}

bool ReversalRequestDialog::selectReason(const QString &code)
{
    const int i = m_reason->findData(code);
    if (i < 0)
        return false;
    m_reason->setCurrentIndex(i);
    return true;
}

void ReversalRequestDialog::setNote(const QString &note)
{
    m_note->setPlainText(note);
}

void ReversalRequestDialog::reasonChanged()
{
    const QString code = m_reason->currentData().toString();
    bool rebook = false;
    for (const ReasonCode &c : std::as_const(m_reasons)) {
        if (c.code == code)
            rebook = c.takesRebook;
    }
    m_rebookBox->setVisible(rebook);
    m_reasonHelp->setText(rebook ? tr("This reason reverses the transaction and posts the "
                                      "corrected one below, under one request.")
                                 : tr("This reason reverses the transaction (mirror legs)."));
    draftEdited();
}

void ReversalRequestDialog::draftEdited()
{
    // Whatever was previewed is no longer what would be sent.
    ++m_generation;
    if (m_preview) {
        m_preview.reset();
        m_previewTitle->setText(tr("<b>Preview</b> — the request changed: preview it again"));
        m_previewLegs->setRowCount(0);
        m_balances->setRowCount(0);
        m_warnings->hide();
    }
    updateButtons();
}

void ReversalRequestDialog::updateButtons()
{
    const bool noteGiven = !m_note->toPlainText().trimmed().isEmpty();
    m_previewButton->setEnabled(m_ready && !m_busy);
    m_submitButton->setEnabled(m_ready && !m_busy && noteGiven && m_preview && !m_preview->refused);
    m_submitButton->setToolTip(m_preview ? QString() : tr("Preview the request first."));
}

void ReversalRequestDialog::showMessage(const QString &text, bool problem)
{
    m_message->setText(text);
    m_message->setStyleSheet(problem ? QStringLiteral("color: #b03a2e;") : QString());
}

void ReversalRequestDialog::rememberAccounts(const QList<Account> &accounts)
{
    for (const Account &a : accounts) {
        m_accounts.insert(a.code, a);
        m_unknown.remove(a.code);
    }
}

void ReversalRequestDialog::lookupAccounts(const QString &text)
{
    m_lookupText = text.trimmed();
    m_lookupDelay->start();
}

void ReversalRequestDialog::resolveAccounts(std::function<void()> next)
{
    QStringList missing;
    if (m_rebookBox->isVisible()) {
        for (int r = 0; r < m_grid->rowCount(); ++r) {
            const QString code = m_grid->item(r, LegAccount)->text().trimmed();
            if (!code.isEmpty() && !m_accounts.contains(code) && !missing.contains(code))
                missing << code;
        }
    }
    if (missing.isEmpty() || !m_ledger) {
        next();
        return;
    }
    m_busy = true;
    updateButtons();
    const quint64 generation = m_generation;
    whenReady(m_ledger->accountsByCode(missing), this,
              [this, missing, generation, next](const Result<QList<Account>> &r) {
                  m_busy = false;
                  updateButtons();
                  if (!r) {
                      showMessage(r.error().message, true);
                      Q_EMIT failed(r.error());
                      return;
                  }
                  rememberAccounts(r.value());
                  for (const QString &code : missing) {
                      if (!m_accounts.contains(code))
                          m_unknown.insert(code);
                  }
                  if (generation == m_generation)
                      next();
              });
}

std::optional<ReversalDraft> ReversalRequestDialog::draft(QString *why, int *badRow) const
{
    if (badRow)
        *badRow = -1;
    auto refuse = [why](const QString &message) {
        if (why)
            *why = message;
        return std::nullopt;
    };
    ReversalDraft d;
    d.transactionId = m_transactionId;
    d.reasonCode = m_reason->currentData().toString();
    d.note = m_note->toPlainText().trimmed();
    d.clientKey = m_clientKey;
    if (d.reasonCode.isEmpty())
        return refuse(tr("Choose a reason."));
    if (d.note.isEmpty())
        return refuse(tr("A note is required: say what is wrong with the posting."));
    if (!m_rebookBox->isVisible())
        return d;

    RebookDraft rebook;
    rebook.effectiveAt = m_effective->dateTime().toUTC();
    rebook.description = m_description->text().trimmed();
    if (rebook.description.isEmpty())
        return refuse(tr("The corrected posting needs a description."));
    QSet<QString> originalCurrencies;
    for (const TransactionLeg &l : m_original.legs)
        originalCurrencies.insert(l.currency);
    QMap<QString, Money> sums; // per currency, debit positive
    if (m_grid->rowCount() < 2)
        return refuse(tr("The corrected posting needs at least two legs."));
    for (int r = 0; r < m_grid->rowCount(); ++r) {
        if (badRow)
            *badRow = r; // until the leg passes
        const QString code = m_grid->item(r, LegAccount)->text().trimmed();
        const QString currency = m_grid->item(r, LegCurrency)->text().trimmed().toUpper();
        const QString amountText = m_grid->item(r, LegAmount)->text().trimmed();
        const QString side =
            qobject_cast<QComboBox *>(m_grid->cellWidget(r, LegSide))->currentData().toString();
        const QString leg =
            code.isEmpty() ? tr("Leg %1").arg(r + 1) : tr("Leg %1 (%2)").arg(r + 1).arg(code);
        if (code.isEmpty())
            return refuse(tr("%1: choose an account.").arg(leg));
        const auto account = m_accounts.constFind(code);
        if (account == m_accounts.constEnd())
            return refuse(tr("%1: there is no account %2.").arg(leg, code));
        if (currency.isEmpty())
            return refuse(tr("%1: no currency.").arg(leg));
        if (currency != account->currency)
            return refuse(tr("%1: account %2 is kept in %3, not %4.")
                              .arg(leg, code, account->currency, currency));
        if (!originalCurrencies.contains(currency))
            return refuse(
                tr("%1: the original moved %2 only; a rebook moves the same "
                   "currencies, not %3.")
                    .arg(leg, QStringList(originalCurrencies.values()).join(u", "), currency));
        // The account's balance carries its currency's exponent.
        QString problem;
        const std::optional<Money> typed =
            Money::parse(amountText, currency, account->balance.exponent(), &problem);
        if (!typed)
            return refuse(
                tr("%1: amount \"%2\": %3 (%4).").arg(leg, amountText, problem, currency));
        if (!typed->isPositive())
            return refuse(
                tr("%1: the amount must be above zero (the side gives the direction).").arg(leg));
        // A positive amount always has a negative counterpart.
        const Money signedAmount = side == Credit ? typed->negated().value() : *typed;
        // Checked: legs that add up beyond 64 bits of minor units are refused, not wrapped.
        const Result<Money> sum =
            sums.contains(currency) ? sums[currency].plus(signedAmount) : signedAmount;
        if (!sum)
            return refuse(tr("%1: %2").arg(leg, sum.error().message));
        sums.insert(currency, sum.value());
        PreviewLeg p;
        p.account = code;
        p.currency = currency;
        p.amount = signedAmount.toString();
        rebook.legs.append(p);
    }
    if (badRow)
        *badRow = -1;
    for (const Money &sum : std::as_const(sums)) {
        if (!sum.isZero())
            return refuse(tr("The corrected posting does not balance in %1: debits exceed "
                             "credits by %2.")
                              .arg(sum.currency(), sum.toString()));
    }
    d.rebook = rebook;
    return d;
}

QString ReversalRequestDialog::fingerprint(const ReversalDraft &d)
{
    QStringList parts{QString::number(d.transactionId), d.reasonCode, d.note};
    if (d.rebook) {
        parts << d.rebook->effectiveAt.toString(Qt::ISODateWithMs) << d.rebook->description;
        for (const PreviewLeg &l : d.rebook->legs)
            parts << l.account << l.currency << l.amount;
    }
    return parts.join(QChar(0x1f));
}

void ReversalRequestDialog::requestPreview()
{
    if (!m_ready || m_busy || !m_service)
        return;
    resolveAccounts([this] {
        QString why;
        int badRow = -1;
        const auto d = draft(&why, &badRow);
        if (!d) {
            showMessage(why, true);
            if (badRow >= 0)
                m_grid->selectRow(badRow); // the leg the message names
            Q_EMIT refusedBeforeSending(why);
            return;
        }
        m_busy = true;
        updateButtons();
        showMessage(tr("Asking the server for a preview…"), false);
        const quint64 generation = m_generation;
        whenReady(m_service->previewDraft(*d), this,
                  [this, generation](const Result<ReversalPreview> &r) {
                      m_busy = false;
                      if (generation != m_generation) {
                          updateButtons();
                          return; // edited meanwhile: that preview is of another draft
                      }
                      if (!r) {
                          showMessage(r.error().message, true);
                          updateButtons();
                          Q_EMIT failed(r.error());
                          return;
                      }
                      showPreview(r.value());
                  });
    });
}

void ReversalRequestDialog::showPreview(const ReversalPreview &p)
{
    m_preview = p;
    m_previewTitle->setText(p.hasRebook
                                ? tr("<b>Preview</b> — the reversal of #%1 and the corrected "
                                     "posting, as the server would post them now")
                                      .arg(p.transactionId)
                                : tr("<b>Preview</b> — the reversal of #%1, as the server would "
                                     "post it now")
                                      .arg(p.transactionId));
    m_previewLegs->setRowCount(0);
    auto addLegs = [this](const QString &posting, const QList<PreviewLeg> &legs) {
        for (const PreviewLeg &l : legs) {
            const int row = m_previewLegs->rowCount();
            m_previewLegs->insertRow(row);
            m_previewLegs->setItem(row, 0, cell(posting));
            m_previewLegs->setItem(row, 1, cell(l.account));
            m_previewLegs->setItem(row, 2, cell(l.accountName));
            m_previewLegs->setItem(row, 3, cell(l.amount, true));
            m_previewLegs->setItem(row, 4, cell(l.currency));
        }
    };
    addLegs(tr("reversal"), p.reversal);
    if (p.hasRebook)
        addLegs(tr("rebook"), p.rebook);
    m_previewLegs->resizeColumnsToContents();

    fillBalanceImpactTable(m_balances, p.balances);

    m_warnings->setText(p.warnings.join(QLatin1Char('\n')));
    m_warnings->setVisible(!p.warnings.isEmpty());
    if (p.refused)
        showMessage(tr("The server would refuse this request, so it cannot be sent: %1")
                        .arg(p.warnings.join(QStringLiteral("; "))),
                    true);
    else
        showMessage(tr("This is what a supervisor's approval would post. Send the request "
                       "when it is right."),
                    false);
    updateButtons();
    Q_EMIT previewShown(p.refused);
}

void ReversalRequestDialog::submit()
{
    if (!m_ready || m_busy || !m_service || !m_preview || m_preview->refused)
        return;
    QString why;
    int badRow = -1;
    auto d = draft(&why, &badRow);
    if (!d) {
        showMessage(why, true);
        if (badRow >= 0)
            m_grid->selectRow(badRow);
        Q_EMIT refusedBeforeSending(why);
        return;
    }
    // The same draft again (a retry after a lost reply) keeps its key, so the server gives
    // the first request back; a different draft is a different request and gets a new key.
    const QString print = fingerprint(*d);
    if (!m_keyUsedFor.isEmpty() && m_keyUsedFor != print)
        m_clientKey = ReversalService::newClientKey();
    m_keyUsedFor = print;
    d->clientKey = m_clientKey;
    m_busy = true;
    updateButtons();
    showMessage(tr("Sending the request…"), false);
    whenReady(m_service->submitRequest(*d), this, [this](const Result<qint64> &r) {
        m_busy = false;
        updateButtons();
        if (!r) {
            showMessage(r.error().retryable
                            ? tr("%1 Sending again is safe: the server keeps one request.")
                                  .arg(r.error().message)
                            : r.error().message,
                        true);
            Q_EMIT failed(r.error());
            return;
        }
        showMessage(tr("Request #%1 sent. Another supervisor decides it in the approvals inbox.")
                        .arg(r.value()),
                    false);
        Q_EMIT submitted(r.value());
        accept();
    });
}

} // namespace ledger
