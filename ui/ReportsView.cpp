#include "ReportsView.h"

#include "DisplayZone.h"
#include "InstantEdit.h"
#include "ItemViews.h"
#include "ReportTableModel.h"
#include "async/WhenReady.h"
#include "console/ReportService.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QDateEdit>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMap>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

namespace ledger {

namespace {

QDateEdit *dateEdit(const QString &name, const QDate &date, QWidget *parent)
{
    auto *edit = new QDateEdit(date, parent);
    edit->setObjectName(name);
    edit->setCalendarPopup(true);
    edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd"));
    return edit;
}

} // namespace

ReportsView::ReportsView(ReportService *reports, QWidget *parent)
    : QWidget(parent)
    , m_reports(reports)
    , m_model(new ReportTableModel(this))
{
    const QDate today = QDateTime::currentDateTimeUtc().date();
    m_kind = new QComboBox(this);
    m_kind->setObjectName(QStringLiteral("reportKind"));
    m_kind->addItem(tr("Trial balance"), int(ReportKind::TrialBalance));
    m_kind->addItem(tr("Balance sheet"), int(ReportKind::BalanceSheet));
    m_kind->addItem(tr("Income statement"), int(ReportKind::IncomeStatement));
    m_kind->addItem(tr("Top movers"), int(ReportKind::TopMovers));
    m_kind->addItem(tr("Volumes"), int(ReportKind::Volumes));
    m_asOf = dateEdit(QStringLiteral("reportAsOf"), today, this);
    m_from = dateEdit(QStringLiteral("reportFrom"), QDate(today.year(), today.month(), 1), this);
    m_to = dateEdit(QStringLiteral("reportTo"), today, this);
    m_useKnownAt = new QCheckBox(tr("As the ledger knew it at"), this);
    m_useKnownAt->setObjectName(QStringLiteral("reportUseKnownAt"));
    m_knownAt = new InstantEdit(this);
    m_knownAt->setObjectName(QStringLiteral("reportKnownAt"));
    m_knownAt->setInstant(QDateTime::currentDateTimeUtc());
    m_knownAt->setEnabled(false);
    m_limit = new QSpinBox(this);
    m_limit->setObjectName(QStringLiteral("reportLimit"));
    m_limit->setRange(1, 10000);
    m_limit->setValue(10);
    m_unit = new QComboBox(this);
    m_unit->setObjectName(QStringLiteral("reportUnit"));
    m_unit->addItem(tr("Day"), QStringLiteral("day"));
    m_unit->addItem(tr("ISO week"), QStringLiteral("week"));
    m_unit->addItem(tr("Month"), QStringLiteral("month"));

    m_run = new QPushButton(tr("&Run report"), this);
    m_run->setObjectName(QStringLiteral("runReport"));
    m_run->setDefault(true);
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("cancelReport"));
    m_onLedger = new QPushButton(tr("Run on the &ledger instead"), this);
    m_onLedger->setObjectName(QStringLiteral("runOnLedger"));
    m_onLedger->setToolTip(tr("Read this report from the ledger itself; the choice and the "
                              "reason are recorded with the run."));
    m_onLedger->hide();
    m_exportCsv = new QPushButton(tr("Export &CSV…"), this);
    m_exportCsv->setObjectName(QStringLiteral("exportReportCsv"));
    m_exportPdf = new QPushButton(tr("Export &PDF…"), this);
    m_exportPdf->setObjectName(QStringLiteral("exportReportPdf"));
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("reportProgress"));
    m_progress->setRange(0, 0);
    m_progress->setMaximumWidth(160);
    m_stage = new QLabel(this);
    m_stage->setObjectName(QStringLiteral("reportStage"));
    m_source = new QLabel(this);
    m_source->setObjectName(QStringLiteral("reportSource"));
    m_source->setWordWrap(true);
    m_source->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_notes = new QLabel(this);
    m_notes->setObjectName(QStringLiteral("reportNotes"));
    m_notes->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("reportTable"));
    m_table->setModel(m_model);
    m_table->setAccessibleName(tr("Report"));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setAlternatingRowColors(true);

    m_chart = new QChartView(new QChart, this);
    m_chart->setObjectName(QStringLiteral("volumesChart"));
    m_chart->setRenderHint(QPainter::Antialiasing);
    m_chart->setMinimumHeight(220);
    m_chart->hide();

    m_exports = makeReadOnlyTable(this, "reportExports",
                                  {tr("Exported"), tr("By"), tr("Report"), tr("Date or period"),
                                   tr("Known at"), tr("Format"), tr("SHA-256"), tr("Since then")},
                                  tr("Exported reports"));
    m_checkExports = new QPushButton(tr("Check &exports"), this);
    m_checkExports->setObjectName(QStringLiteral("checkExports"));
    m_checkExports->setToolTip(tr("Ask the ledger whether entries recorded since change any "
                                  "exported report."));
    m_exportsNote =
        new QLabel(tr("Exported reports: one that entries recorded later change (late or backdated "
                      "postings, reversals) is restated, like a statement."),
                   this);
    m_exportsNote->setWordWrap(true);

    auto *form = new QHBoxLayout;
    form->addWidget(new QLabel(tr("Report:"), this));
    form->addWidget(m_kind);
    m_asOfLabel = new QLabel(tr("as of the end of"), this);
    form->addWidget(m_asOfLabel);
    form->addWidget(m_asOf);
    m_fromLabel = new QLabel(tr("from"), this);
    form->addWidget(m_fromLabel);
    form->addWidget(m_from);
    m_toLabel = new QLabel(tr("to"), this);
    form->addWidget(m_toLabel);
    form->addWidget(m_to);
    m_limitLabel = new QLabel(tr("accounts per currency"), this);
    form->addWidget(m_limitLabel);
    form->addWidget(m_limit);
    m_unitLabel = new QLabel(tr("per"), this);
    form->addWidget(m_unitLabel);
    form->addWidget(m_unit);
    form->addWidget(m_useKnownAt);
    form->addWidget(m_knownAt);
    form->addStretch(1);
    auto *actions = new QHBoxLayout;
    actions->addWidget(m_run);
    actions->addWidget(m_cancel);
    actions->addWidget(m_progress);
    actions->addWidget(m_stage, 1);
    actions->addWidget(m_onLedger);
    actions->addWidget(m_exportCsv);
    actions->addWidget(m_exportPdf);
    m_splitter = new QSplitter(Qt::Vertical, this);
    m_splitter->addWidget(m_table);
    m_splitter->addWidget(m_chart);
    auto *exportsBox = new QWidget(this);
    auto *exportsLayout = new QVBoxLayout(exportsBox);
    exportsLayout->setContentsMargins(0, 0, 0, 0);
    auto *exportsHead = new QHBoxLayout;
    exportsHead->addWidget(m_exportsNote, 1);
    exportsHead->addWidget(m_checkExports);
    exportsLayout->addLayout(exportsHead);
    exportsLayout->addWidget(m_exports);
    m_splitter->addWidget(exportsBox);
    m_splitter->setStretchFactor(0, 4);
    m_splitter->setStretchFactor(1, 3);
    m_splitter->setStretchFactor(2, 1);
    m_splitter->setChildrenCollapsible(false);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(actions);
    layout->addWidget(m_source);
    layout->addWidget(m_splitter, 1);
    layout->addWidget(m_notes);

    connect(m_kind, &QComboBox::currentIndexChanged, this, [this] { updateForm(); });
    connect(m_useKnownAt, &QCheckBox::toggled, m_knownAt, &QWidget::setEnabled);
    connect(m_run, &QPushButton::clicked, this, [this] { run(false); });
    connect(m_onLedger, &QPushButton::clicked, this, [this] { run(true); });
    connect(m_cancel, &QPushButton::clicked, this, &ReportsView::cancel);
    connect(m_checkExports, &QPushButton::clicked, this, &ReportsView::refreshExports);
    connect(m_exportCsv, &QPushButton::clicked, this, [this] { askExport(QStringLiteral("csv")); });
    connect(m_exportPdf, &QPushButton::clicked, this, [this] { askExport(QStringLiteral("pdf")); });
    updateForm();
    setBusy(false);
}

void ReportsView::updateForm()
{
    ReportRequest probe;
    probe.kind = ReportKind(m_kind->currentData().toInt());
    const bool period = probe.isPeriod();
    m_asOfLabel->setVisible(!period);
    m_asOf->setVisible(!period);
    m_fromLabel->setVisible(period);
    m_from->setVisible(period);
    m_toLabel->setVisible(period);
    m_to->setVisible(period);
    m_limitLabel->setVisible(probe.kind == ReportKind::TopMovers);
    m_limit->setVisible(probe.kind == ReportKind::TopMovers);
    m_unitLabel->setVisible(probe.kind == ReportKind::Volumes);
    m_unit->setVisible(probe.kind == ReportKind::Volumes);
    m_useKnownAt->setVisible(probe.takesKnownAt());
    m_knownAt->setVisible(probe.takesKnownAt());
}

Result<ReportRequest> ReportsView::request()
{
    ReportRequest r;
    r.kind = ReportKind(m_kind->currentData().toInt());
    r.asOf = m_asOf->date();
    r.from = m_from->date();
    r.to = m_to->date();
    r.limit = m_limit->value();
    r.unit = m_unit->currentData().toString();
    if (r.isPeriod() && r.from > r.to)
        return Error::make(Error::Kind::Input,
                           tr("The period starts (%1) after it ends (%2): choose a first day on "
                              "or before the last.")
                               .arg(r.from.toString(Qt::ISODate), r.to.toString(Qt::ISODate)));
    if (r.takesKnownAt() && m_useKnownAt->isChecked()) {
        auto known = m_knownAt->instant();
        if (!known)
            return known.error();
        r.knownAt = known.value();
    }
    return r;
}

void ReportsView::setRequest(const ReportRequest &request)
{
    m_kind->setCurrentIndex(m_kind->findData(int(request.kind)));
    if (request.asOf.isValid())
        m_asOf->setDate(request.asOf);
    if (request.from.isValid())
        m_from->setDate(request.from);
    if (request.to.isValid())
        m_to->setDate(request.to);
    m_limit->setValue(request.limit);
    m_unit->setCurrentIndex(std::max(0, m_unit->findData(request.unit)));
    m_useKnownAt->setChecked(bool(request.knownAt));
    if (request.knownAt)
        m_knownAt->setInstant(*request.knownAt);
    updateForm();
}

void ReportsView::setBusy(bool busy, const QString &stage)
{
    m_run->setEnabled(!busy);
    m_cancel->setEnabled(busy);
    m_progress->setVisible(busy);
    m_stage->setText(stage);
    m_exportCsv->setEnabled(!busy && m_result.has_value());
    m_exportPdf->setEnabled(!busy && m_result.has_value());
}

void ReportsView::run(bool useLedger)
{
    if (m_job || !m_reports)
        return;
    const Result<ReportRequest> r = request();
    if (!r) {
        m_source->setTextFormat(Qt::PlainText);
        m_source->setText(r.error().message);
        Q_EMIT reportFailed(r.error());
        return;
    }
    m_onLedger->hide();
    m_job = m_reports->start(r.value(), useLedger, this);
    setBusy(true, tr("Starting…"));
    connect(m_job, &ReportJob::stage, this, [this](const QString &what) { setBusy(true, what); });
    connect(m_job, &ReportJob::finished, this,
            [this, job = m_job](const Result<ReportResult> &result) {
                if (job != m_job)
                    return;
                const QString refusal = m_job->storeRefusal();
                m_job->deleteLater();
                m_job = nullptr;
                if (result) {
                    m_result = result.value();
                    setBusy(false);
                    showResult(result.value());
                    Q_EMIT reportShown(result.value());
                    return;
                }
                setBusy(false);
                m_source->setTextFormat(Qt::PlainText);
                m_source->setText(result.error().message);
                m_onLedger->setVisible(!refusal.isEmpty());
                Q_EMIT reportFailed(result.error());
            });
}

void ReportsView::cancel()
{
    if (m_job)
        m_job->cancel();
}

void ReportsView::showResult(const ReportResult &r)
{
    m_model->setTable(r.table);
    m_table->resizeColumnsToContents();
    const DisplayZone *zone = DisplayZone::instance();
    const bool fromAggregates =
        r.source.isStore && !(r.request.knownAt && r.request.takesKnownAt());
    const QString where =
        !r.source.isStore
            ? tr("the ledger (its entries)")
            : tr("the reporting store, replicated through %1 (%2)")
                  .arg(r.source.replicatedAt.isValid() ? zone->format(r.source.replicatedAt)
                                                       : tr("nothing yet"),
                       fromAggregates ? tr("its aggregates") : tr("its copy of the entries"));
    QString source = tr("%1. Read from %2 at %3; report.run event %4 on the audit chain.")
                         .arg(r.table.title, where, zone->format(r.ranAt))
                         .arg(r.auditEvent);
    if (!r.storeRefused.isEmpty())
        source += QLatin1Char(' ') + tr("Run on the ledger because %1.").arg(r.storeRefused);
    m_source->setTextFormat(Qt::PlainText);
    m_source->setText(source);
    QString notes = r.table.notes.join(QLatin1Char('\n')).toHtmlEscaped();
    notes.replace(QLatin1Char('\n'), QStringLiteral("<br>"));
    if (!r.table.problem.isEmpty())
        notes += QStringLiteral("<br><b style=\"color:#b00020\">%1</b>")
                     .arg(r.table.problem.toHtmlEscaped());
    m_notes->setTextFormat(Qt::RichText);
    m_notes->setText(notes);
    m_notes->setVisible(!notes.isEmpty());
    showVolumes(r);
}

void ReportsView::showVolumes(const ReportResult &r)
{
    QChart *chart = m_chart->chart();
    chart->removeAllSeries();
    for (QAbstractAxis *axis : chart->axes())
        chart->removeAxis(axis);
    if (r.request.kind != ReportKind::Volumes) {
        m_chart->hide();
        return;
    }
    // Entries per period, a bar set per currency.
    QStringList periods;
    QMap<QString, QMap<QDate, qint64>> byCurrency;
    for (const VolumeRow &v : r.volumes) {
        const QString p = v.period.toString(Qt::ISODate);
        if (!periods.contains(p))
            periods << p;
        byCurrency[v.currency][v.period] += v.entries;
    }
    std::sort(periods.begin(), periods.end());
    auto *series = new QBarSeries(chart);
    qint64 most = 0;
    for (auto it = byCurrency.cbegin(); it != byCurrency.cend(); ++it) {
        auto *set = new QBarSet(it.key(), series);
        for (const QString &p : periods) {
            const qint64 n = it.value().value(QDate::fromString(p, Qt::ISODate));
            *set << qreal(n);
            most = std::max(most, n);
        }
        series->append(set);
    }
    chart->addSeries(series);
    auto *axisX = new QBarCategoryAxis(chart);
    axisX->append(periods);
    auto *axisY = new QValueAxis(chart);
    // Whole numbers of entries: ticks at a whole interval from 0.
    const qint64 step = std::max<qint64>(1, (most + 4) / 5);
    axisY->setRange(0, qreal(step * std::max<qint64>(1, (most + step - 1) / step)));
    axisY->setTickType(QValueAxis::TicksDynamic);
    axisY->setTickAnchor(0);
    axisY->setTickInterval(qreal(step));
    axisY->setLabelFormat(QStringLiteral("%d"));
    axisY->setTitleText(tr("entries"));
    chart->addAxis(axisX, Qt::AlignBottom);
    chart->addAxis(axisY, Qt::AlignLeft);
    series->attachAxis(axisX);
    series->attachAxis(axisY);
    chart->setTitle(tr("Entries per %1").arg(r.request.unit));
    const bool wasHidden = m_chart->isHidden();
    m_chart->show();
    if (wasHidden) { // the table, the chart below it, the exports last
        const int height = m_splitter->height();
        m_splitter->setSizes({height * 45 / 100, height * 35 / 100, height * 20 / 100});
    }
}

void ReportsView::askExport(const QString &format)
{
    if (!m_result)
        return;
    QString name = m_reports->reportName(m_result->request.kind);
    name.replace(QLatin1Char('_'), QLatin1Char('-'));
    const QString suggested =
        QStringLiteral("%1-%2.%3")
            .arg(name, m_result->ranAt.toString(QStringLiteral("yyyyMMdd-HHmmss")), format);
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export the report"), suggested,
        format == QLatin1String("csv") ? tr("CSV (*.csv)") : tr("PDF (*.pdf)"));
    if (!path.isEmpty())
        exportTo(format, path);
}

void ReportsView::exportTo(const QString &format, const QString &path)
{
    if (!m_result || !m_reports)
        return;
    m_stage->setText(tr("Exporting…"));
    whenReady(m_reports->exportReport(*m_result, format, path, m_exportedBy), this,
              [this](const Result<QString> &written) {
                  if (written) {
                      m_stage->setText(tr("Exported to %1.").arg(written.value()));
                      Q_EMIT exported(written.value());
                      refreshExports();
                  } else {
                      m_stage->setText(written.error().message);
                      Q_EMIT exportFailed(written.error());
                  }
              });
}

void ReportsView::refreshExports()
{
    if (!m_reports)
        return;
    whenReady(m_reports->exports(100), this, [this](const Result<QList<ReportExport>> &result) {
        if (!result) {
            m_exportsNote->setText(result.error().message);
            return;
        }
        const DisplayZone *zone = DisplayZone::instance();
        const QList<ReportExport> &list = result.value();
        m_exports->setRowCount(int(list.size()));
        int restated = 0;
        for (int row = 0; row < list.size(); ++row) {
            const ReportExport &x = list.at(row);
            const QString when =
                x.asOf.isValid()
                    ? x.asOf.toString(Qt::ISODate)
                    : tr("%1 to %2").arg(x.from.toString(Qt::ISODate), x.to.toString(Qt::ISODate));
            const QString since =
                !x.restated() ? tr("Unchanged")
                : x.lateEntries == 1
                    ? tr("Restated: 1 entry recorded later changes it")
                    : tr("Restated: %1 entries recorded later change it").arg(x.lateEntries);
            const QStringList cells{
                zone->format(x.exportedAt), x.exportedBy, x.report,          when,
                zone->format(x.knownAt),    x.format,     x.sha256.left(16), since};
            for (int c = 0; c < cells.size(); ++c) {
                auto *item = new QTableWidgetItem(cells.at(c));
                if (c == 6)
                    item->setToolTip(x.sha256);
                if (x.restated())
                    item->setForeground(QColor(0xb0, 0x00, 0x20));
                m_exports->setItem(row, c, item);
            }
            restated += x.restated() ? 1 : 0;
        }
        m_exports->resizeColumnsToContents();
        m_exportsNote->setText(
            restated == 0 ? tr("Exported reports: %1, none changed since.").arg(list.size())
                          : tr("Exported reports: %1, %2 restated (entries recorded later "
                               "change them: run them again for the figures as known now).")
                                .arg(list.size())
                                .arg(restated));
        Q_EMIT exportsShown(list);
    });
}

} // namespace ledger
