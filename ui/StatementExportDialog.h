#pragma once

#include "domain/Error.h"
#include "domain/StatementIssue.h"

#include <QDate>
#include <QDialog>
#include <QPointer>

class QCheckBox;
class QComboBox;
class QDateEdit;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;

namespace ledger {

class InstantEdit;

class StatementService;

// Issues a statement of one account as a file (Step 8): the period as whole days in a time
// zone (UTC or the system's), as the ledger knew it at a time (default now), in a format
// (PDF with a page size, CSV, camt.053 .001.08/.04/.02), to a file chosen with QFileDialog.
// Export runs on the service (the long-jobs worker); meanwhile the dialog is busy and its
// inputs are disabled. Errors stay in the dialog (a path that cannot be written, a known-at
// time in the future, a role that may not issue statements); when done it shows the
// statement's reference, number, closing balance and the file's SHA-256.
class StatementExportDialog : public QDialog
{
    Q_OBJECT

public:
    StatementExportDialog(StatementService *statements, const QString &accountCode,
                          QWidget *parent = nullptr);

    void setAccount(const QString &code);
    // Whole days, `to` included.
    void setPeriod(const QDate &from, const QDate &to);
    // "pdf", "csv" or "camt053" (with "02", "04" or "08").
    void setFormat(const QString &format, const QString &camtVersion = QStringLiteral("08"));
    // An invalid time: now.
    void setKnownAt(const QDateTime &knownAt);
    void setOutputPath(const QString &path);

    // The request the inputs describe (the period in UTC instants).
    StatementExportRequest request() const;
    bool isBusy() const { return m_busy; }
    QString errorText() const;
    QString resultText() const;

    // The issue record as a person reads it: who issued it, when, the account and period.
    static QString describe(const StatementRecord &record);

public Q_SLOTS:
    // Starts the export (GUI thread; returns at once). exported() or failed() follows.
    void exportStatement();

Q_SIGNALS:
    void exported(const ledger::StatementRecord &record);
    void failed(const ledger::Error &error);

private:
    void chooseFile();
    void updateFormatInputs();
    void setBusy(bool busy);
    void showError(const QString &message);

    QPointer<StatementService> m_statements;
    QLineEdit *m_account = nullptr;
    QDateEdit *m_from = nullptr;
    QDateEdit *m_to = nullptr;
    QComboBox *m_zone = nullptr;
    QCheckBox *m_pastKnownAt = nullptr;
    InstantEdit *m_knownAt = nullptr;
    QComboBox *m_format = nullptr;
    QComboBox *m_pageSize = nullptr;
    QLineEdit *m_path = nullptr;
    QPushButton *m_browse = nullptr;
    QLabel *m_error = nullptr;
    QLabel *m_result = nullptr;
    QProgressBar *m_progress = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    QPushButton *m_export = nullptr;
    bool m_busy = false;
};

} // namespace ledger
