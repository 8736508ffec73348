#include "ReconImportDialog.h"

#include "DisplayZone.h"

#include "ReconExceptionModel.h"
#include "async/WhenReady.h"
#include "console/ReconService.h"

#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ledger {

namespace {

QString countsText(const QMap<QString, int> &byType)
{
    QStringList out;
    int total = 0;
    for (auto it = byType.begin(); it != byType.end(); ++it) {
        total += it.value();
        out << QStringLiteral("%1 %2")
                   .arg(it.value())
                   .arg(ReconExceptionModel::typeLabel(it.key()));
    }
    if (out.isEmpty())
        return QStringLiteral("0");
    return QStringLiteral("%1 (%2)").arg(total).arg(out.join(QStringLiteral(", ")));
}

} // namespace

ReconImportDialog::ReconImportDialog(ReconService *service, const QString &path, QWidget *parent)
    : QDialog(parent)
    , m_service(service)
{
    setObjectName(QStringLiteral("reconImportDialog"));
    setWindowTitle(tr("Import bank statement"));
    setAcceptDrops(true);
    auto *layout = new QVBoxLayout(this);
    auto *form = new QFormLayout;
    auto *fileRow = new QHBoxLayout;
    m_path = new QLineEdit(this);
    m_path->setObjectName(QStringLiteral("importPath"));
    m_path->setPlaceholderText(tr("a camt.053, MT940 or CSV file (or drop it here)"));
    m_path->setMinimumWidth(fontMetrics().horizontalAdvance(QLatin1Char('M')) * 40);
    auto *browse = new QPushButton(tr("&Browse…"), this);
    browse->setObjectName(QStringLiteral("browseButton"));
    fileRow->addWidget(m_path, 1);
    fileRow->addWidget(browse);
    auto *fileLabel = new QLabel(tr("&File:"), this);
    fileLabel->setBuddy(m_path);
    form->addRow(fileLabel, fileRow);
    m_format = new QComboBox(this);
    m_format->setObjectName(QStringLiteral("importFormat"));
    m_format->addItem(tr("detect (camt or MT940)"), QStringLiteral("auto"));
    m_format->addItem(tr("camt.053 / camt.052"), QStringLiteral("camt"));
    m_format->addItem(tr("MT940 / MT942"), QStringLiteral("mt940"));
    m_format->addItem(tr("CSV with a saved profile"), QStringLiteral("csv"));
    form->addRow(tr("F&ormat:"), m_format);
    m_profile = new QComboBox(this);
    m_profile->setObjectName(QStringLiteral("csvProfile"));
    m_profile->setAccessibleName(tr("CSV column profile"));
    form->addRow(tr("CSV &profile:"), m_profile);
    m_account = new QLineEdit(this);
    m_account->setObjectName(QStringLiteral("mapToAccount"));
    m_account->setPlaceholderText(tr("ledger account code (only for an unmapped bank account)"));
    form->addRow(tr("Map to &account:"), m_account);
    layout->addLayout(form);

    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("importProgress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("%v of %m lines"));
    layout->addWidget(m_progress);

    m_summary = new QTableWidget(SummaryRowCount, 1, this);
    m_summary->setObjectName(QStringLiteral("importSummary"));
    m_summary->setAccessibleName(tr("What was imported and matched"));
    m_summary->setHorizontalHeaderLabels({tr("Count")});
    m_summary->setVerticalHeaderLabels(
        {tr("Statements"), tr("Lines in the file"), tr("New lines"), tr("Duplicates skipped"),
         tr("Exceptions raised on import"), tr("Matched exactly"), tr("Matched within tolerance"),
         tr("One line to many entries"), tr("Many lines to one entry"),
         tr("Proposed (waiting for an operator)"), tr("Exceptions raised by matching")});
    m_summary->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_summary->horizontalHeader()->setStretchLastSection(true);
    m_summary->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_summary->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_summary->setWordWrap(false);
    m_summary->setMinimumHeight(m_summary->horizontalHeader()->sizeHint().height() +
                                SummaryRowCount * (fontMetrics().height() + 8) + 4);
    layout->addWidget(m_summary, 1);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("importStatus"));
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_status);

    auto *buttons = new QHBoxLayout;
    m_import = new QPushButton(tr("&Import"), this);
    m_import->setObjectName(QStringLiteral("startImport"));
    m_import->setDefault(true);
    m_cancel = new QPushButton(tr("&Cancel import"), this);
    m_cancel->setObjectName(QStringLiteral("cancelImport"));
    m_close = new QPushButton(tr("Close"), this);
    m_close->setObjectName(QStringLiteral("closeImport"));
    buttons->addStretch(1);
    buttons->addWidget(m_import);
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_close);
    layout->addLayout(buttons);

    connect(browse, &QPushButton::clicked, this, [this] {
        const QString chosen = QFileDialog::getOpenFileName(
            this, tr("Import bank statement"), QFileInfo(m_path->text()).path(),
            tr("Bank statements (*.xml *.sta *.mt940 *.txt *.csv);;All files (*)"));
        if (!chosen.isEmpty())
            setPath(chosen);
    });
    connect(m_format, &QComboBox::currentIndexChanged, this, &ReconImportDialog::updateButtons);
    connect(m_path, &QLineEdit::textChanged, this, &ReconImportDialog::updateButtons);
    connect(m_import, &QPushButton::clicked, this, &ReconImportDialog::startImport);
    connect(m_cancel, &QPushButton::clicked, this, &ReconImportDialog::cancelImport);
    connect(m_close, &QPushButton::clicked, this, &ReconImportDialog::reject);
    if (m_service) {
        whenReady(m_service->csvProfileNames(), this, [this](const Result<QStringList> &r) {
            if (!r)
                return; // importing a CSV then says what failed
            const QString chosen = m_profile->currentText();
            m_profile->addItems(r.value());
            if (!chosen.isEmpty())
                m_profile->setCurrentText(chosen);
            updateButtons();
        });
    }
    setPath(path);
    updateButtons();
    resize(sizeHint().expandedTo(QSize(640, 0)));
}

ReconImportDialog::~ReconImportDialog()
{
    // Closed while importing: nothing of the file is kept.
    if (m_job)
        m_job->cancel();
}

void ReconImportDialog::setPath(const QString &path)
{
    m_path->setText(path);
    // A .csv names its format; the rest is detected.
    if (path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive))
        m_format->setCurrentIndex(m_format->findData(QStringLiteral("csv")));
}

QString ReconImportDialog::path() const
{
    return m_path->text().trimmed();
}

void ReconImportDialog::setFormat(const QString &format, const QString &csvProfile)
{
    m_format->setCurrentIndex(qMax(0, m_format->findData(format)));
    if (!csvProfile.isEmpty()) {
        if (m_profile->findText(csvProfile) < 0)
            m_profile->addItem(csvProfile);
        m_profile->setCurrentText(csvProfile);
    }
}

void ReconImportDialog::setMapToAccount(const QString &accountCode)
{
    m_account->setText(accountCode);
}

void ReconImportDialog::updateButtons()
{
    const bool running = isRunning();
    const bool csv = m_format->currentData().toString() == QLatin1String("csv");
    m_profile->setEnabled(csv && !running);
    m_import->setEnabled(!running && !path().isEmpty() && (!csv || m_profile->count() > 0));
    m_cancel->setEnabled(m_job != nullptr);
    m_path->setEnabled(!running);
    m_format->setEnabled(!running);
    m_account->setEnabled(!running);
}

void ReconImportDialog::setStatus(const QString &text, bool problem)
{
    m_status->setText(text);
    m_status->setStyleSheet(problem ? QStringLiteral("color: #b03a2e;") : QString());
}

void ReconImportDialog::setRow(int row, const QString &value)
{
    auto *item = new QTableWidgetItem(value);
    item->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    m_summary->setItem(row, 0, item);
    // Wide enough to read every count and its breakdown without scrolling.
    const int needed = m_summary->verticalHeader()->width() +
                       m_summary->fontMetrics().horizontalAdvance(value) + 48 +
                       layout()->contentsMargins().left() + layout()->contentsMargins().right();
    if (width() < needed)
        resize(needed, height());
}

void ReconImportDialog::startImport()
{
    if (!m_service || isRunning() || path().isEmpty())
        return;
    m_summary->clearContents();
    m_runs.clear();
    m_importText.clear();
    m_progress->setRange(0, 0); // reading and parsing: no count yet
    setStatus(tr("Reading %1…").arg(QFileInfo(path()).fileName()), false);
    const QString format = m_format->currentData().toString();
    m_job = m_service->startImport(
        path(), format, format == QLatin1String("csv") ? m_profile->currentText() : QString(),
        m_account->text().trimmed(), this);
    connect(m_job, &ReconImportJob::progress, this, [this](qint64 done, qint64 total) {
        m_progress->setRange(0, int(qMin<qint64>(total, INT_MAX)));
        m_progress->setValue(int(qMin<qint64>(done, INT_MAX)));
        setStatus(tr("Importing…"), false);
    });
    connect(
        m_job, &ReconImportJob::finished, this, [this](const Result<ReconImportSummary> &result) {
            // GUI thread.
            m_job->deleteLater();
            m_job = nullptr;
            if (result) {
                // All of the file's lines, new or known.
                const qint64 lines = result.value().lines + result.value().linesSkipped;
                m_progress->setRange(0, int(qMin<qint64>(lines, INT_MAX)));
                m_progress->setValue(m_progress->maximum());
            } else {
                m_progress->setRange(0, 1);
                m_progress->setValue(0);
            }
            if (!result) {
                QString text = result.error().message;
                if (result.error().kind == Error::Kind::Cancelled)
                    text = tr("Cancelled: nothing of the file was imported.");
                else if (text.contains(QLatin1String("is not mapped")) &&
                         m_account->text().trimmed().isEmpty())
                    text += QLatin1Char('\n') +
                            tr("Here: name the ledger account under \"Map to account\" "
                               "and import again.");
                setStatus(text, true);
                updateButtons();
                Q_EMIT failed(result.error());
                return;
            }
            showImport(result.value());
            Q_EMIT imported(result.value());
            m_toMatch = result.value().alreadyImported ? QStringList() : result.value().accounts;
            matchNext();
        });
    updateButtons();
}

void ReconImportDialog::cancelImport()
{
    if (m_job) {
        m_job->cancel();
        setStatus(tr("Cancelling…"), false);
    }
}

void ReconImportDialog::reject()
{
    cancelImport();
    QDialog::reject();
}

void ReconImportDialog::showImport(const ReconImportSummary &s)
{
    if (s.alreadyImported) {
        setStatus(
            tr("%1 was already imported on %2 by %3: nothing imported.")
                .arg(s.fileName,
                     DisplayZone::instance()->format(s.firstImportedAt, TimePrecision::Minutes),
                     s.firstImportedBy),
            false);
        return;
    }
    setRow(Statements,
           s.statementsSkipped
               ? tr("%1 (%2 already imported)").arg(s.statements).arg(s.statementsSkipped)
               : QString::number(s.statements));
    setRow(Lines, QString::number(s.lines + s.linesSkipped));
    setRow(NewLines, QString::number(s.lines));
    setRow(Duplicates, QString::number(s.linesSkipped));
    QMap<QString, int> raised;
    if (s.unbalancedStatements)
        raised.insert(QStringLiteral("statement_unbalanced"), s.unbalancedStatements);
    if (s.duplicateLines)
        raised.insert(QStringLiteral("duplicate_line"), s.duplicateLines);
    setRow(ExceptionsOnImport, countsText(raised));
    QString text = tr("%1 (%2) imported").arg(s.fileName, s.format);
    if (!s.mappedNow.isEmpty())
        text += tr("; bank account %1 mapped to %2")
                    .arg(s.mappedNow.join(QStringLiteral(", ")), m_account->text().trimmed());
    m_importText = text + QLatin1Char('.');
    setStatus(text + tr(". Matching…"), false);
}

void ReconImportDialog::matchNext()
{
    if (m_toMatch.isEmpty() || !m_service) {
        m_matching = false;
        updateButtons();
        if (!m_runs.isEmpty())
            Q_EMIT matched(m_runs);
        if (!m_importText.isEmpty())
            setStatus(m_importText, false);
        Q_EMIT completed();
        return;
    }
    m_matching = true;
    updateButtons();
    const QString account = m_toMatch.takeFirst();
    whenReady(
        m_service->match(account, false), this,
        [this, account](const Result<ReconMatchSummary> &r) {
            // GUI thread.
            if (!r) {
                m_matching = false;
                m_toMatch.clear();
                updateButtons();
                setStatus(
                    tr("Imported, but matching %1 failed: %2").arg(account, r.error().message),
                    true);
                Q_EMIT failed(r.error());
                return;
            }
            m_runs.append(r.value().runs);
            showRuns();
            matchNext();
        });
}

void ReconImportDialog::showRuns()
{
    int exact = 0, tolerance = 0, oneToMany = 0, manyToOne = 0, proposed = 0;
    QMap<QString, int> raised;
    for (const ReconRunSummary &r : m_runs) {
        exact += r.exact;
        tolerance += r.tolerance;
        oneToMany += r.oneToMany;
        manyToOne += r.manyToOne;
        proposed += r.proposed;
        for (auto it = r.exceptionsRaised.begin(); it != r.exceptionsRaised.end(); ++it)
            raised[it.key()] += it.value();
    }
    setRow(Exact, QString::number(exact));
    setRow(Tolerance, QString::number(tolerance));
    setRow(OneToMany, QString::number(oneToMany));
    setRow(ManyToOne, QString::number(manyToOne));
    setRow(Proposed, QString::number(proposed));
    setRow(ExceptionsOnMatch, countsText(raised));
}

void ReconImportDialog::dragEnterEvent(QDragEnterEvent *event)
{
    if (!isRunning() && event->mimeData()->hasUrls() &&
        event->mimeData()->urls().value(0).isLocalFile())
        event->acceptProposedAction();
}

void ReconImportDialog::dropEvent(QDropEvent *event)
{
    const QUrl url = event->mimeData()->urls().value(0);
    if (isRunning() || !url.isLocalFile())
        return;
    event->acceptProposedAction();
    setPath(url.toLocalFile());
}

} // namespace ledger
