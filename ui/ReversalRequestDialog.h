#pragma once

#include "domain/Account.h"
#include "domain/Error.h"
#include "domain/Reversal.h"
#include "domain/Timeline.h"

#include <QDialog>
#include <QHash>
#include <QPointer>
#include <QSet>

#include <optional>

class QComboBox;
class QCompleter;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QStringListModel;
class QTableWidget;
class QTimer;

namespace ledger {

class InstantEdit;

class LedgerService;
class ReversalService;

// Asks for the reversal of one transaction: reason code (the database's list), a required
// note, and for reasons that take one a corrected posting ("reverse and rebook") typed in a
// grid of legs. Preview asks the server what the request would post (mirror legs, rebook,
// balances before and after, warnings) without writing anything but its audit event; a
// request the server would refuse (an account going below zero where it may not) cannot be
// sent, and says why. A rebook that cannot be right (unbalanced in a currency, a currency
// its account is not kept in or the original did not move, too many decimals, an unknown
// account) is refused before anything is sent, naming the leg.
//
// One idempotency key per draft: a double click or a retry after a lost reply sends the
// same request again and the server answers with the first one; a changed draft gets a new
// key. GUI thread; the reversal calls go through the ReversalService, the transaction and
// the account lookups through the LedgerService.
class ReversalRequestDialog : public QDialog
{
    Q_OBJECT

public:
    enum LegColumn { LegAccount, LegSide, LegAmount, LegCurrency, LegColumnCount };

    ReversalRequestDialog(ReversalService *service, LedgerService *ledger, qint64 transactionId,
                          QWidget *parent = nullptr);

    qint64 transactionId() const { return m_transactionId; }
    QString clientKey() const { return m_clientKey; }
    const std::optional<ReversalPreview> &currentPreview() const { return m_preview; }
    bool isReady() const { return m_ready; }

    // The rebook grid: rows of legs (account, side, amount, currency).
    QTableWidget *rebookGrid() const { return m_grid; }
    void setLeg(int row, const QString &account, const QString &side, const QString &amount,
                const QString &currency = {});
    void addLeg();
    void removeLeg(int row);

    // Chooses a reason by code (as if picked in the combo box).
    bool selectReason(const QString &code);
    void setNote(const QString &note);

    // The draft as typed, checked against what is known of the accounts; nullopt and a
    // message for a person naming the leg when it cannot be sent.
    // badRow: the grid row at fault, or -1 (a refusal about the whole draft).
    std::optional<ReversalDraft> draft(QString *why, int *badRow = nullptr) const;

public Q_SLOTS:
    // Checks the draft (asking the server about accounts not seen yet) and previews it.
    void requestPreview();
    // Sends the previewed draft (enabled only after a preview the server would accept).
    void submit();

Q_SIGNALS:
    // All on the GUI thread.
    void ready();                    // reason codes and the transaction arrived
    void previewShown(bool refused); // a preview of the current draft is shown
    void refusedBeforeSending(const QString &why);
    void submitted(qint64 requestId);
    void failed(const ledger::Error &error);

private:
    void buildUi();
    void showSummary();
    void transactionArrived(const TransactionDetail &detail);
    void reasonChanged();
    void draftEdited();
    void showMessage(const QString &text, bool problem);
    void showPreview(const ReversalPreview &preview);
    void updateButtons();
    // Looks up the accounts of the grid not seen yet, then calls next (GUI thread).
    void resolveAccounts(std::function<void()> next);
    void lookupAccounts(const QString &text); // for the completer, debounced
    void rememberAccounts(const QList<Account> &accounts);
    static QString fingerprint(const ReversalDraft &draft);

    QPointer<ReversalService> m_service;
    QPointer<LedgerService> m_ledger;
    const qint64 m_transactionId;
    TransactionDetail m_original;
    QList<ReasonCode> m_reasons;
    QHash<QString, Account> m_accounts;       // by code: every account seen (legs, lookups)
    QSet<QString> m_unknown;                  // codes the server has no account for
    std::optional<ReversalPreview> m_preview; // of the draft as it is now
    QString m_clientKey;
    QString m_keyUsedFor; // fingerprint of the draft sent with m_clientKey
    bool m_ready = false;
    bool m_busy = false;
    int m_pendingLoads = 0;
    quint64 m_generation = 0; // bumped by every edit: an older preview is dropped

    QLabel *m_summary = nullptr;
    QComboBox *m_reason = nullptr;
    QLabel *m_reasonHelp = nullptr;
    QPlainTextEdit *m_note = nullptr;
    QGroupBox *m_rebookBox = nullptr;
    InstantEdit *m_effective = nullptr;
    QLineEdit *m_description = nullptr;
    QTableWidget *m_grid = nullptr;
    QPushButton *m_addLeg = nullptr;
    QPushButton *m_removeLeg = nullptr;
    QLabel *m_previewTitle = nullptr;
    QTableWidget *m_previewLegs = nullptr;
    QTableWidget *m_balances = nullptr;
    QLabel *m_warnings = nullptr;
    QLabel *m_message = nullptr;
    QPushButton *m_previewButton = nullptr;
    QPushButton *m_submitButton = nullptr;
    QCompleter *m_completer = nullptr;
    QStringListModel *m_completions = nullptr;
    QTimer *m_lookupDelay = nullptr;
    QString m_lookupText;
};

} // namespace ledger
