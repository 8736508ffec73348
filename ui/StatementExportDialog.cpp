#include "StatementExportDialog.h"

#include "DisplayZone.h"
#include "InstantEdit.h"

#include "StatementInputs.h"
#include "async/WhenReady.h"
#include "console/StatementService.h"
#include "domain/Money.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateEdit>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

namespace ledger {

namespace {

QString suffixFor(const QString &format)
{
    if (format == QLatin1String("csv"))
        return QStringLiteral("csv");
    if (format == QLatin1String("camt053"))
        return QStringLiteral("xml");
    return QStringLiteral("pdf");
}

} // namespace

StatementExportDialog::StatementExportDialog(StatementService *statements,
                                             const QString &accountCode, QWidget *parent)
    : QDialog(parent)
    , m_statements(statements)
{
    setWindowTitle(tr("Issue a statement"));
    setObjectName(QStringLiteral("statementExportDialog"));

    m_account = new QLineEdit(accountCode, this);
    m_account->setObjectName(QStringLiteral("account"));

    const StatementInputs::PeriodRow period = StatementInputs::createPeriodRow(this);
    m_from = period.from;
    m_to = period.to;

    m_zone = new QComboBox(this);
    m_zone->setObjectName(QStringLiteral("timeZone"));
    StatementInputs::addTimeZones(m_zone);

    const StatementInputs::KnownAtRow known = StatementInputs::createKnownAtRow(this);
    m_pastKnownAt = known.enabled;
    m_knownAt = known.time;

    m_format = new QComboBox(this);
    m_format->setObjectName(QStringLiteral("format"));
    StatementInputs::addFormats(m_format);
    m_pageSize = new QComboBox(this);
    m_pageSize->setObjectName(QStringLiteral("pageSize"));
    StatementInputs::addPageSizes(m_pageSize);
    auto *format = new QHBoxLayout;
    format->addWidget(m_format);
    format->addWidget(new QLabel(tr("Page size:"), this));
    format->addWidget(m_pageSize);
    format->addStretch();
    connect(m_format, &QComboBox::currentIndexChanged, this,
            &StatementExportDialog::updateFormatInputs);

    m_path = new QLineEdit(this);
    m_path->setObjectName(QStringLiteral("outputPath"));
    m_path->setPlaceholderText(tr("The file to write"));
    m_browse = new QPushButton(tr("&Browse…"), this);
    connect(m_browse, &QPushButton::clicked, this, &StatementExportDialog::chooseFile);
    auto *file = new QHBoxLayout;
    file->addWidget(m_path, 1);
    file->addWidget(m_browse);

    auto *form = new QFormLayout;
    form->addRow(tr("&Account:"), m_account);
    form->addRow(tr("Period:"), period.layout);
    form->addRow(tr("&Time zone:"), m_zone);
    form->addRow(tr("Known at:"), known.layout);
    // Rows that hold a layout get a label with a buddy, so that their mnemonic works.
    auto *formatLabel = new QLabel(tr("&Format:"), this);
    formatLabel->setBuddy(m_format);
    form->addRow(formatLabel, format);
    auto *fileLabel = new QLabel(tr("&Output file:"), this);
    fileLabel->setBuddy(m_path);
    form->addRow(fileLabel, file);

    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("error"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_error->hide();
    m_result = new QLabel(this);
    m_result->setObjectName(QStringLiteral("result"));
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_result->hide();
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 0); // busy: the worker reports no steps
    m_progress->setTextVisible(false);
    m_progress->hide();

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_export = m_buttons->addButton(tr("&Export"), QDialogButtonBox::AcceptRole);
    m_export->setObjectName(QStringLiteral("export"));
    m_export->setDefault(true);
    // Export keeps the dialog open (it shows the result); Close closes it.
    connect(m_buttons, &QDialogButtonBox::accepted, this, &StatementExportDialog::exportStatement);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(m_result);
    layout->addWidget(m_progress);
    layout->addStretch();
    layout->addWidget(m_buttons);
    updateFormatInputs();
    resize(640, sizeHint().height());
}

void StatementExportDialog::setAccount(const QString &code)
{
    m_account->setText(code);
}

void StatementExportDialog::setPeriod(const QDate &from, const QDate &to)
{
    m_from->setDate(from);
    m_to->setDate(to);
}

void StatementExportDialog::setFormat(const QString &format, const QString &camtVersion)
{
    StatementInputs::selectFormat(m_format, format, camtVersion);
}

void StatementExportDialog::setKnownAt(const QDateTime &knownAt)
{
    m_pastKnownAt->setChecked(knownAt.isValid());
    if (knownAt.isValid())
        m_knownAt->setInstant(knownAt);
}

void StatementExportDialog::setOutputPath(const QString &path)
{
    m_path->setText(path);
}

QString StatementExportDialog::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

QString StatementExportDialog::resultText() const
{
    return m_result->isHidden() ? QString() : m_result->text();
}

StatementExportRequest StatementExportDialog::request() const
{
    StatementExportRequest r;
    r.accountCode = m_account->text().trimmed();
    StatementInputs::applyTo(
        r, {m_from, m_to, m_zone, m_pastKnownAt, m_knownAt, m_format, m_pageSize});
    r.outPath = m_path->text().trimmed();
    return r;
}

QString StatementExportDialog::describe(const StatementRecord &r)
{
    QString formatName = r.format;
    if (!r.formatVersion.isEmpty())
        formatName += QLatin1Char(' ') + r.formatVersion;
    QString text =
        tr("Statement %1, no. %2 of account %3%4, %5 to %6 (%7), as the ledger knew it at %8. "
           "Issued by %9 at %10 as %11.")
            .arg(r.reference)
            .arg(r.sequenceNumber)
            .arg(r.accountCode,
                 r.accountName.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(r.accountName),
                 r.from.toString(Qt::ISODate), r.to.toString(Qt::ISODate), r.timeZone,
                 DisplayZone::instance()->format(r.knownAt), r.issuedBy)
            .arg(DisplayZone::instance()->format(r.issuedAt), formatName);
    if (r.exponent >= 0)
        text +=
            QLatin1Char(' ') + tr("Opening %1 %3, closing %2 %3; %4 lines.")
                                   .arg(Money::formatMinor(r.openingMinor, r.exponent),
                                        Money::formatMinor(r.closingMinor, r.exponent), r.currency)
                                   .arg(r.lineCount);
    return text;
}

void StatementExportDialog::exportStatement()
{
    if (m_busy || !m_statements)
        return;
    m_result->hide();
    if (const QString problem = StatementInputs::knownAtProblem(m_pastKnownAt, m_knownAt);
        !problem.isEmpty()) {
        const Error e = Error::make(Error::Kind::Input, problem);
        showError(e.message);
        Q_EMIT failed(e);
        return;
    }
    const StatementExportRequest r = request();
    if (r.knownAt.isValid() && r.knownAt > QDateTime::currentDateTimeUtc()) {
        // The server refuses it too; said here before anything is written.
        const Error e = Error::make(
            Error::Kind::Input,
            tr("The known-at time is in the future: a statement shows what the ledger knew at "
               "a time that has passed. Choose an earlier time, or now."));
        showError(e.message);
        Q_EMIT failed(e);
        return;
    }
    m_error->hide();
    setBusy(true);
    whenReady(m_statements->issue(r), this,
              [this, path = r.outPath](const Result<StatementRecord> &result) {
                  // GUI thread.
                  setBusy(false);
                  if (!result) {
                      showError(result.error().message);
                      Q_EMIT failed(result.error());
                      return;
                  }
                  const StatementRecord &record = result.value();
                  m_result->setText(tr("Written to %1.").arg(path) + QLatin1Char('\n') +
                                    describe(record) + QLatin1Char('\n') +
                                    tr("SHA-256 %1").arg(record.fileSha256));
                  m_result->show();
                  Q_EMIT exported(record);
              });
}

void StatementExportDialog::chooseFile()
{
    const QString suffix = suffixFor(request().format);
    QString name = m_path->text();
    if (name.isEmpty())
        name = QStringLiteral("%1-%2.%3")
                   .arg(m_account->text().trimmed(), m_from->date().toString(Qt::ISODate), suffix);
    const QString chosen = QFileDialog::getSaveFileName(this, tr("Write the statement to"), name,
                                                        tr("Statement (*.%1)").arg(suffix));
    if (!chosen.isEmpty())
        m_path->setText(chosen);
}

void StatementExportDialog::updateFormatInputs()
{
    m_pageSize->setEnabled(!m_busy && request().format == QLatin1String("pdf"));
}

void StatementExportDialog::setBusy(bool busy)
{
    m_busy = busy;
    for (QWidget *w : std::initializer_list<QWidget *>{
             m_account, m_from, m_to, m_zone, m_pastKnownAt, m_format, m_path, m_browse, m_export})
        w->setEnabled(!busy);
    m_knownAt->setEnabled(!busy && m_pastKnownAt->isChecked());
    updateFormatInputs();
    m_progress->setVisible(busy);
}

void StatementExportDialog::showError(const QString &message)
{
    m_error->setText(message);
    m_error->show();
}

} // namespace ledger
