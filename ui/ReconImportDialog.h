#pragma once

#include "console/ReconService.h"
#include "domain/Error.h"
#include "domain/Recon.h"

#include <QDialog>
#include <QPointer>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace ledger {

// Imports a bank statement file (camt.053/.052, MT940/MT942, CSV with a saved profile) on the
// long-jobs worker: a file chosen, typed or dropped on the dialog; an optional ledger account
// for the file's unmapped bank account; a progress bar with Cancel (a cancelled import keeps
// nothing). Then the summary (statements, lines, new lines, duplicates, exceptions raised)
// and, after a successful import, a matching run over the ledger accounts the file's
// statements belong to, with its matches per rule (exact, tolerance, one-to-many,
// many-to-one, proposed) and the exceptions it raised. GUI thread.
class ReconImportDialog : public QDialog
{
    Q_OBJECT

public:
    enum SummaryRow {
        Statements,
        Lines,
        NewLines,
        Duplicates,
        ExceptionsOnImport,
        Exact,
        Tolerance,
        OneToMany,
        ManyToOne,
        Proposed,
        ExceptionsOnMatch,
        SummaryRowCount
    };

    explicit ReconImportDialog(ReconService *service, const QString &path = {},
                               QWidget *parent = nullptr);
    ~ReconImportDialog() override;

    void setPath(const QString &path);
    QString path() const;
    // "auto" (camt, MT940 detected), "camt", "mt940" or "csv" (with a profile name).
    void setFormat(const QString &format, const QString &csvProfile = {});
    void setMapToAccount(const QString &accountCode);

    QLineEdit *pathEdit() const { return m_path; }
    QComboBox *formatBox() const { return m_format; }
    QComboBox *profileBox() const { return m_profile; }
    QLineEdit *accountEdit() const { return m_account; }
    QPushButton *importButton() const { return m_import; }
    QPushButton *cancelButton() const { return m_cancel; }
    QProgressBar *progressBar() const { return m_progress; }
    QTableWidget *summaryTable() const { return m_summary; }
    QLabel *statusLabel() const { return m_status; }
    bool isRunning() const { return m_job || m_matching; }

public Q_SLOTS:
    void startImport();
    void cancelImport();

Q_SIGNALS:
    // All on the GUI thread.
    void imported(const ledger::ReconImportSummary &summary);
    void matched(const QList<ledger::ReconRunSummary> &runs);
    // The import or the run failed (or was cancelled: Error::Kind::Cancelled).
    void failed(const ledger::Error &error);
    // Imported and matched (or nothing to match): the summary is complete. (Not "done":
    // that name would hide QDialog::done(int).)
    void completed();

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void reject() override;

private:
    void showImport(const ReconImportSummary &s);
    void matchNext();
    void showRuns();
    void setStatus(const QString &text, bool problem);
    void setRow(int row, const QString &value);
    void updateButtons();

    QPointer<ReconService> m_service;
    QPointer<ReconImportJob> m_job;
    bool m_matching = false;
    QStringList m_toMatch;
    QList<ReconRunSummary> m_runs;
    QString m_importText; // what the import did, for the status once matching ends

    QLineEdit *m_path = nullptr;
    QComboBox *m_format = nullptr;
    QComboBox *m_profile = nullptr;
    QLineEdit *m_account = nullptr;
    QPushButton *m_import = nullptr;
    QPushButton *m_cancel = nullptr;
    QPushButton *m_close = nullptr;
    QProgressBar *m_progress = nullptr;
    QTableWidget *m_summary = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace ledger
