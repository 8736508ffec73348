#pragma once

#include "console/ReportService.h"
#include "domain/Report.h"
#include "domain/Result.h"

#include <QPointer>
#include <QWidget>

#include <optional>

class QCheckBox;
class QChartView;
class QComboBox;
class QDateEdit;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;
class QTableView;
class QTableWidget;

namespace ledger {

class InstantEdit;
class ReportTableModel;

// The Reports tab (Step 11): trial balance, balance sheet, income statement, top movers and
// volumes (with a chart), read through ReportService (a reporting store, or the ledger),
// every run on the ledger's audit chain first. Says where each report was read and how far
// that place had replicated; a store too far behind or unreachable is refused with a button
// to run on the ledger instead (recorded with the reason). Runs on a worker with Cancel;
// exports CSV and PDF. GUI thread only.
class ReportsView : public QWidget
{
    Q_OBJECT

public:
    explicit ReportsView(ReportService *reports, QWidget *parent = nullptr);

    // Who the PDF says exported it (the signed-in operator).
    void setExportedBy(const QString &who) { m_exportedBy = who; }

    // The request the form describes, or why it is not one (shown under the form).
    Result<ReportRequest> request();
    // Selects the report and fills the form (tests, and "run again" after a refusal).
    void setRequest(const ReportRequest &request);
    // Runs what the form says (the Run button). useLedger: when the store is refused, read
    // the ledger instead.
    void run(bool useLedger = false);
    void cancel();
    // Writes the shown report to path ("csv" or "pdf"); the Export buttons ask for the path.
    void exportTo(const QString &format, const QString &path);

    // Asks for the latest exports and whether entries recorded since change them.
    void refreshExports();

    bool isRunning() const { return m_job != nullptr; }
    const std::optional<ReportResult> &lastResult() const { return m_result; }
    ReportTableModel *model() const { return m_model; }

Q_SIGNALS:
    void reportShown(const ledger::ReportResult &result);
    void reportFailed(const ledger::Error &error);
    void exported(const QString &path);
    void exportFailed(const ledger::Error &error);
    void exportsShown(const QList<ledger::ReportExport> &exports);

private:
    void updateForm();
    void showResult(const ReportResult &result);
    void showVolumes(const ReportResult &result);
    void setBusy(bool busy, const QString &stage = {});
    void askExport(const QString &format);

    QPointer<ReportService> m_reports;
    ReportTableModel *m_model = nullptr;
    QComboBox *m_kind = nullptr;
    QDateEdit *m_asOf = nullptr;
    QDateEdit *m_from = nullptr;
    QDateEdit *m_to = nullptr;
    QCheckBox *m_useKnownAt = nullptr;
    InstantEdit *m_knownAt = nullptr;
    QSpinBox *m_limit = nullptr;
    QComboBox *m_unit = nullptr;
    QLabel *m_asOfLabel = nullptr;
    QLabel *m_fromLabel = nullptr;
    QLabel *m_toLabel = nullptr;
    QLabel *m_limitLabel = nullptr;
    QLabel *m_unitLabel = nullptr;
    QPushButton *m_run = nullptr;
    QPushButton *m_cancel = nullptr;
    QPushButton *m_onLedger = nullptr;
    QPushButton *m_exportCsv = nullptr;
    QPushButton *m_exportPdf = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_stage = nullptr;
    QLabel *m_source = nullptr;
    QLabel *m_notes = nullptr;
    QTableView *m_table = nullptr;
    QChartView *m_chart = nullptr;
    QTableWidget *m_exports = nullptr;
    QPushButton *m_checkExports = nullptr;
    QLabel *m_exportsNote = nullptr;
    QSplitter *m_splitter = nullptr;
    QPointer<ReportJob> m_job;
    std::optional<ReportResult> m_result;
    QString m_exportedBy;
};

} // namespace ledger
