#pragma once

#include "domain/Error.h"
#include "domain/StatementIssue.h"

#include <QPointer>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QDateEdit;
class QFrame;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QTableView;

namespace ledger {

class InstantEdit;

class IssuedStatementModel;
class StatementBatchJob;
class StatementService;

// The Statements tab (Step 8). Above: the issued statements, newest first, loaded as the
// table scrolls, with their restatement as of now (filter by account, restated only;
// selecting one shows its late entries and differences; double-click opens its account).
// Below: a batch export, one statement per account of a kind and/or currency into a folder,
// with a progress bar, Cancel and what was written. GUI thread; every call goes through the
// StatementService, whose long-jobs worker runs the queries and writes the files.
class StatementsView : public QWidget
{
    Q_OBJECT

public:
    explicit StatementsView(StatementService *statements, QWidget *parent = nullptr);
    // A batch still running is cancelled (it stops before its next statement).
    ~StatementsView() override;

    IssuedStatementModel *model() const { return m_model; }
    QTableView *tableView() const { return m_table; }
    QLineEdit *accountFilter() const { return m_accountFilter; }
    QCheckBox *restatedOnlyBox() const { return m_restatedOnly; }
    QPushButton *refreshButton() const { return m_refresh; }
    QString errorText() const;  // the list's error, empty when none
    QString detailText() const; // what the detail line says of the selected statement

    // The currencies offered for a batch (it takes others typed in too).
    void setCurrencies(const QStringList &currencies);
    // The batch's inputs: kind and currency ("" = any), whole days in the chosen zone.
    void setBatchSelection(const QString &kind, const QString &currency);
    void setBatchPeriod(const QDate &from, const QDate &to);
    void setBatchFormat(const QString &format, const QString &camtVersion = QStringLiteral("08"));
    void setBatchFolder(const QString &folder);
    StatementBatchRequest batchRequest() const;

    QPushButton *startButton() const { return m_start; }
    QPushButton *cancelButton() const { return m_cancel; }
    QProgressBar *progressBar() const { return m_progress; }
    QListWidget *writtenFiles() const { return m_files; }
    bool isBatchRunning() const;
    QString batchResultText() const;
    QString batchErrorText() const;

public Q_SLOTS:
    // Applies the filter bar and reloads from the newest statement.
    void applyFilter();
    void refresh();
    // Starts a batch export with the inputs (returns at once); batchFinished() follows.
    void startBatch();
    // Asks the running batch to stop before its next statement.
    void cancelBatch();

Q_SIGNALS:
    // GUI thread. "account" with the account's code (the window routes it).
    void openObjectRequested(const QString &objectType, const QString &objectId);
    void batchStarted(int total);
    void batchProgress(int done, int total, const QString &path);
    void batchFinished(const ledger::StatementBatchOutcome &outcome);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    QWidget *createListPage();
    QWidget *createBatchPage();
    void showSelected();
    void updateStatus();
    void showListError(const ledger::Error &error);
    void chooseFolder();
    void setRunning(bool running);
    void showOutcome(const ledger::StatementBatchOutcome &outcome);

    QPointer<StatementService> m_statements;
    IssuedStatementModel *m_model = nullptr;

    // The list.
    QFrame *m_banner = nullptr;
    QLabel *m_bannerText = nullptr;
    QLineEdit *m_accountFilter = nullptr;
    QCheckBox *m_restatedOnly = nullptr;
    QPushButton *m_refresh = nullptr;
    QTableView *m_table = nullptr;
    QLabel *m_detail = nullptr;
    QLabel *m_status = nullptr;

    // The batch.
    QComboBox *m_kind = nullptr;
    QComboBox *m_currency = nullptr;
    QDateEdit *m_from = nullptr;
    QDateEdit *m_to = nullptr;
    QComboBox *m_zone = nullptr;
    QCheckBox *m_pastKnownAt = nullptr;
    InstantEdit *m_knownAt = nullptr;
    QComboBox *m_format = nullptr;
    QComboBox *m_pageSize = nullptr;
    QLineEdit *m_folder = nullptr;
    QPushButton *m_browse = nullptr;
    QPushButton *m_start = nullptr;
    QPushButton *m_cancel = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_batchResult = nullptr;
    QLabel *m_batchError = nullptr;
    QListWidget *m_files = nullptr;
    QPointer<StatementBatchJob> m_job;
};

} // namespace ledger
