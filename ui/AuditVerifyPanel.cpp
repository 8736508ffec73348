#include "AuditVerifyPanel.h"

#include "DisplayZone.h"

#include "async/WhenReady.h"
#include "console/AuditService.h"

#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

namespace ledger {

namespace {

void setTextColor(QLabel *label, const QColor &color)
{
    QPalette palette = label->palette();
    palette.setColor(
        QPalette::WindowText,
        color.isValid() ? color : label->parentWidget()->palette().color(QPalette::WindowText));
    label->setPalette(palette);
}

const QColor kGood(0x1e, 0x84, 0x49);
const QColor kBad(0xa9, 0x32, 0x26);

} // namespace

AuditVerifyPanel::AuditVerifyPanel(AuditService *audit, QWidget *parent)
    : QWidget(parent)
    , m_audit(audit)
{
    setObjectName(QStringLiteral("auditVerifyPanel"));
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    auto *controls = new QHBoxLayout;
    m_verify = new QPushButton(tr("Verify audit t&rail"), this);
    m_verify->setObjectName(QStringLiteral("verifyButton"));
    m_verify->setAccessibleName(tr("Verify audit trail"));
    m_verify->setToolTip(tr("Recompute every hash of the audit chain on this computer and check "
                            "the links, the issued checkpoints and the chosen checkpoint file."));
    m_chooseFile = new QPushButton(tr("Chec&kpoint file…"), this);
    m_chooseFile->setObjectName(QStringLiteral("checkpointFileButton"));
    m_chooseFile->setAccessibleName(tr("Choose a checkpoint file"));
    m_fileLabel = new QLabel(this);
    // Plain text: it shows values from the database (or messages quoting them).
    m_fileLabel->setTextFormat(Qt::PlainText);
    m_fileLabel->setObjectName(QStringLiteral("checkpointFileLabel"));
    m_fileLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_clearFile = new QToolButton(this);
    m_clearFile->setObjectName(QStringLiteral("clearCheckpointFile"));
    m_clearFile->setText(tr("Clear"));
    m_clearFile->setAccessibleName(tr("Forget the checkpoint file"));
    m_clearFile->setToolTip(tr("Forget the checkpoint file"));
    controls->addWidget(m_verify);
    controls->addWidget(m_chooseFile);
    controls->addWidget(m_fileLabel);
    controls->addWidget(m_clearFile);
    controls->addStretch(1);
    layout->addLayout(controls);

    // The progress bar and Cancel while running; the result line afterwards.
    auto *status = new QHBoxLayout;
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("verifyProgress"));
    m_progress->setAccessibleName(tr("Verification progress"));
    m_progress->setTextVisible(true);
    m_cancelButton = new QPushButton(tr("Ca&ncel"), this);
    m_cancelButton->setObjectName(QStringLiteral("verifyCancel"));
    m_cancelButton->setAccessibleName(tr("Cancel verification"));
    m_resultIcon = new QLabel(this);
    m_result = new QLabel(this);
    // Plain text: it shows values from the database (or messages quoting them).
    m_result->setTextFormat(Qt::PlainText);
    m_result->setObjectName(QStringLiteral("verifyResult"));
    m_result->setAccessibleName(tr("Verification result"));
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    // While running, the result line says what the verifier is doing (a busy bar shows no
    // text of its own).
    m_progress->setMinimumWidth(240);
    m_progress->setMaximumWidth(360);
    status->addWidget(m_progress);
    status->addWidget(m_cancelButton);
    status->addWidget(m_resultIcon, 0, Qt::AlignTop);
    status->addWidget(m_result, 1);
    layout->addLayout(status);

    connect(m_verify, &QPushButton::clicked, this, &AuditVerifyPanel::verify);
    connect(m_cancelButton, &QPushButton::clicked, this, &AuditVerifyPanel::cancel);
    connect(m_chooseFile, &QPushButton::clicked, this, &AuditVerifyPanel::chooseCheckpointFile);
    connect(m_clearFile, &QToolButton::clicked, this, &AuditVerifyPanel::clearCheckpointFile);

    clearCheckpointFile();
    m_result->setText(tr("Not verified in this session yet."));
    setRunning(false);
}

AuditVerifyPanel::~AuditVerifyPanel()
{
    // The job may outlive the panel: let it stop at its next batch. Its progress reports
    // and its result find no panel and are dropped.
    if (m_cancel)
        m_cancel->store(true);
}

QString AuditVerifyPanel::resultText() const
{
    return m_result->text();
}

void AuditVerifyPanel::setRunning(bool running)
{
    m_verify->setEnabled(!running);
    m_chooseFile->setEnabled(!running);
    m_clearFile->setEnabled(!running);
    m_progress->setVisible(running);
    m_cancelButton->setVisible(running);
    m_cancelButton->setEnabled(running);
    m_resultIcon->setVisible(!running && !m_resultIcon->pixmap().isNull());
    if (running) {
        setTextColor(m_result, {});
        m_result->setToolTip({});
    }
}

void AuditVerifyPanel::verify()
{
    if (!m_audit || isRunning())
        return;
    const quint64 run = ++m_run;
    auto cancelFlag = std::make_shared<std::atomic_bool>(false);
    m_cancel = cancelFlag;
    m_progress->setRange(0, 0); // busy until the verifier knows the chain's length
    m_progress->setFormat(QString());
    setRunning(true);
    m_result->setText(tr("Sealing the chain's tail, then reading it…"));
    m_cancelButton->setFocus(Qt::OtherFocusReason);
    Q_EMIT started();

    // Runs on the service's verification worker. Progress comes back on the GUI thread and
    // not at all once this panel is gone.
    auto progress = [this, run](qint64 done, qint64 total) { showProgress(run, done, total); };
    whenReady(m_audit->verifyChain(m_marks, this, std::move(progress), cancelFlag), this,
              [this, run](const Result<VerificationResult> &result) {
                  if (run != m_run)
                      return;
                  m_cancel.reset();
                  // Cancel disappears: give the focus back to where the run started.
                  const bool refocus = m_cancelButton->hasFocus();
                  if (!result)
                      showFailure(result.error());
                  else
                      showResult(result.value());
                  setRunning(false);
                  if (refocus)
                      m_verify->setFocus(Qt::OtherFocusReason);
                  if (!result) {
                      Q_EMIT failed(result.error());
                      return;
                  }
                  Q_EMIT finished(result.value());
              });
}

void AuditVerifyPanel::cancel()
{
    if (!m_cancel)
        return;
    m_cancel->store(true);
    m_cancelButton->setEnabled(false);
    m_result->setText(tr("Cancelling at the next batch…"));
}

void AuditVerifyPanel::showProgress(quint64 run, qint64 done, qint64 total)
{
    if (run != m_run || !m_cancel)
        return; // a report of an earlier run, queued before its result
    // QProgressBar counts in int: show per mille of the chain, the counts as text.
    m_progress->setRange(0, 1000);
    m_progress->setValue(total > 0 ? int(qMin<qint64>(1000, done * 1000 / total)) : 1000);
    m_progress->setFormat(QStringLiteral("%p%"));
    if (!m_cancel->load())
        m_result->setText(tr("%1 of %2 events checked…").arg(done).arg(total));
}

void AuditVerifyPanel::showResult(const VerificationResult &result)
{
    QString text;
    QStyle::StandardPixmap icon = QStyle::SP_MessageBoxInformation;
    QColor color;
    if (result.cancelled) {
        text = tr("Verification cancelled; sequences 1 to %1 were intact when it stopped.")
                   .arg(result.verifiedThrough);
    } else if (result.brokenAt) {
        text = tr("Broken at sequence %1: %2").arg(*result.brokenAt).arg(result.reason);
        icon = QStyle::SP_MessageBoxCritical;
        color = kBad;
    } else if (result.verifiedThrough == 0) {
        text = tr("The audit trail is empty: nothing to verify.");
    } else {
        text = tr("Verified through sequence %1 (%2 events) in %3 s.")
                   .arg(result.verifiedThrough)
                   .arg(result.eventsChecked)
                   .arg(result.seconds, 0, 'g', 2);
        if (!m_checkpointFile.isEmpty())
            text += QLatin1Char(' ') + tr("Checked against %1 and the issued checkpoints.")
                                           .arg(QFileInfo(m_checkpointFile).fileName());
        icon = QStyle::SP_DialogApplyButton;
        color = kGood;
    }
    const int size = m_result->fontMetrics().height();
    m_resultIcon->setPixmap(style()->standardIcon(icon, nullptr, this).pixmap(size, size));
    setTextColor(m_result, color);
    m_result->setText(text);
}

void AuditVerifyPanel::showFailure(const Error &error)
{
    const int size = m_result->fontMetrics().height();
    m_resultIcon->setPixmap(
        style()->standardIcon(QStyle::SP_MessageBoxWarning, nullptr, this).pixmap(size, size));
    setTextColor(m_result, kBad);
    m_result->setText(tr("The audit trail could not be verified: %1").arg(error.message));
    m_result->setToolTip(error.detail);
}

void AuditVerifyPanel::chooseCheckpointFile()
{
    const QString fileName = QFileDialog::getOpenFileName(
        this, tr("Checkpoint file"), QFileInfo(m_checkpointFile).path(),
        tr("Audit checkpoints (*.json);;All files (*)"));
    if (!fileName.isEmpty())
        setCheckpointFile(fileName);
}

bool AuditVerifyPanel::setCheckpointFile(const QString &fileName)
{
    clearCheckpointFile();
    // A checkpoint file is a few kilobytes on a local disk: read here, on the GUI thread.
    QFile file(fileName);
    QString error;
    std::optional<CheckpointFile> checkpoint;
    if (!file.open(QIODevice::ReadOnly))
        error = tr("Cannot read %1: %2").arg(fileName, file.errorString());
    else
        checkpoint = CheckpointFile::fromJson(file.readAll(), &error);
    if (!checkpoint) {
        setTextColor(m_fileLabel, kBad);
        m_fileLabel->setText(tr("Not using %1: %2").arg(QFileInfo(fileName).fileName(), error));
        m_fileLabel->setToolTip(fileName);
        return false;
    }
    m_checkpointFile = fileName;
    m_marks = checkpoint->marks(fileName);
    setTextColor(m_fileLabel, {});
    m_fileLabel->setText(
        tr("Checkpoint file %1: sequence %2, issued %3")
            .arg(QFileInfo(fileName).fileName())
            .arg(checkpoint->seq)
            .arg(DisplayZone::instance()->format(checkpoint->issuedAt, TimePrecision::Minutes)));
    m_fileLabel->setToolTip(fileName);
    m_clearFile->setVisible(true);
    return true;
}

void AuditVerifyPanel::clearCheckpointFile()
{
    m_checkpointFile.clear();
    m_marks.clear();
    setTextColor(m_fileLabel, {});
    m_fileLabel->setText(tr("No checkpoint file (the issued checkpoints are always checked)"));
    m_fileLabel->setToolTip({});
    m_clearFile->setVisible(false);
}

} // namespace ledger
