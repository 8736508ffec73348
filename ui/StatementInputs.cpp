#include "StatementInputs.h"

#include "InstantEdit.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDateEdit>
#include <QHBoxLayout>
#include <QLabel>
#include <QStringList>

namespace ledger::StatementInputs {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("ledger::StatementInputs", text);
}

QStringList formatParts(const QComboBox *format)
{
    return format->currentData().toString().split(QLatin1Char(':'));
}

} // namespace

void addTimeZones(QComboBox *zone)
{
    zone->addItem(tr("UTC"), QStringLiteral("UTC"));
    const QString systemZone = QString::fromUtf8(QTimeZone::systemTimeZoneId());
    if (!systemZone.isEmpty() && systemZone != QLatin1String("UTC") &&
        QTimeZone(systemZone.toUtf8()).isValid())
        zone->addItem(tr("%1 (this computer)").arg(systemZone), systemZone);
}

void addFormats(QComboBox *format)
{
    format->addItem(tr("PDF"), QStringLiteral("pdf:"));
    format->addItem(tr("CSV"), QStringLiteral("csv:"));
    format->addItem(tr("camt.053.001.08"), QStringLiteral("camt053:08"));
    format->addItem(tr("camt.053.001.04"), QStringLiteral("camt053:04"));
    format->addItem(tr("camt.053.001.02"), QStringLiteral("camt053:02"));
}

void addPageSizes(QComboBox *pageSize)
{
    pageSize->addItem(tr("A4"), QStringLiteral("a4"));
    pageSize->addItem(tr("Letter"), QStringLiteral("letter"));
}

void selectFormat(QComboBox *format, const QString &name, const QString &camtVersion)
{
    QString key = name + QLatin1Char(':');
    if (name == QLatin1String("camt053"))
        key += camtVersion;
    const int index = format->findData(key);
    if (index >= 0)
        format->setCurrentIndex(index);
}

QString formatOf(const QComboBox *format)
{
    return formatParts(format).value(0);
}

QString camtVersionOf(const QComboBox *format)
{
    return formatParts(format).value(1);
}

PeriodRow createPeriodRow(QWidget *parent)
{
    PeriodRow row;
    const QDate today = QDate::currentDate();
    row.from = new QDateEdit(QDate(today.year(), today.month(), 1).addMonths(-1), parent);
    row.to = new QDateEdit(QDate(today.year(), today.month(), 1).addDays(-1), parent);
    for (QDateEdit *edit : {row.from, row.to}) {
        edit->setCalendarPopup(true);
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd"));
    }
    row.from->setObjectName(QStringLiteral("from"));
    row.to->setObjectName(QStringLiteral("to"));
    row.from->setAccessibleName(tr("First day of the period"));
    row.to->setAccessibleName(tr("Last day of the period"));
    row.layout = new QHBoxLayout;
    row.layout->addWidget(row.from);
    row.layout->addWidget(new QLabel(tr("to"), parent));
    row.layout->addWidget(row.to);
    row.layout->addWidget(new QLabel(tr("(both days included)"), parent));
    row.layout->addStretch();
    return row;
}

KnownAtRow createKnownAtRow(QWidget *parent)
{
    KnownAtRow row;
    row.enabled = new QCheckBox(tr("As the ledger &knew it at"), parent);
    row.enabled->setObjectName(QStringLiteral("pastKnownAt"));
    // Read in the zone the console shows (DisplayZone), not the statement's zone: it is an
    // instant, like every other time the operator types.
    row.time = new InstantEdit(parent);
    row.time->setObjectName(QStringLiteral("knownAt"));
    row.time->setEnabled(false);
    QObject::connect(row.enabled, &QCheckBox::toggled, row.time, &QWidget::setEnabled);
    row.layout = new QHBoxLayout;
    row.layout->addWidget(row.enabled);
    row.layout->addWidget(row.time);
    row.layout->addWidget(new QLabel(tr("(unchecked: now)"), parent));
    row.layout->addStretch();
    return row;
}

Chosen chosen(const Inputs &inputs)
{
    Chosen c;
    c.timeZone = inputs.zone->currentData().toString();
    // Whole days in the zone, the last one included: [from 00:00, the day after `to` 00:00).
    c.from = startOfDay(inputs.from->date(), c.timeZone);
    c.to = startOfDay(inputs.to->date().addDays(1), c.timeZone);
    // One that names no instant is refused before this (knownAtProblem()).
    if (const Result<QDateTime> k = inputs.knownAt->meant(); inputs.pastKnownAt->isChecked() && k)
        c.knownAt = k.value();
    c.format = formatOf(inputs.format);
    c.camtVersion = camtVersionOf(inputs.format);
    c.pageSize = inputs.pageSize->currentData().toString();
    return c;
}

QString knownAtProblem(QCheckBox *enabled, InstantEdit *knownAt)
{
    if (!enabled->isChecked())
        return {};
    const Result<QDateTime> k = knownAt->instant();
    return k ? QString() : tr("Known at: %1").arg(k.error().message);
}

QTimeZone zoneOf(const QString &id)
{
    return id.isEmpty() || id == QLatin1String("UTC") ? QTimeZone::utc() : QTimeZone(id.toUtf8());
}

QDateTime startOfDay(const QDate &day, const QString &zoneId)
{
    return QDateTime(day, QTime(0, 0), zoneOf(zoneId)).toUTC();
}

} // namespace ledger::StatementInputs
