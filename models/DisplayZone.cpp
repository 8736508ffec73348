#include "DisplayZone.h"

#include <QSettings>

namespace ledger {

namespace {

const QString kSettingsKey = QStringLiteral("view/timeZone");

} // namespace

DisplayZone::DisplayZone(QObject *parent)
    : QObject(parent)
    , m_local(QTimeZone::systemTimeZone())
{
    reload();
}

DisplayZone *DisplayZone::instance()
{
    // Created on first use from the GUI thread and kept for the process.
    static DisplayZone *zone = new DisplayZone;
    return zone;
}

void DisplayZone::reload()
{
    const Mode saved = QSettings().value(kSettingsKey).toString() == QLatin1String("utc")
                           ? Mode::Utc
                           : Mode::Local;
    if (saved == m_mode)
        return;
    m_mode = saved;
    Q_EMIT changed();
}

void DisplayZone::setMode(Mode mode)
{
    QSettings().setValue(kSettingsKey,
                         mode == Mode::Utc ? QStringLiteral("utc") : QStringLiteral("local"));
    if (mode == m_mode)
        return;
    m_mode = mode;
    Q_EMIT changed();
}

QTimeZone DisplayZone::zone() const
{
    return isUtc() ? QTimeZone::utc() : m_local;
}

QString DisplayZone::localZoneName()
{
    const QByteArray id = QTimeZone::systemTimeZoneId();
    return id.isEmpty() ? QStringLiteral("local") : QString::fromUtf8(id);
}

QString DisplayZone::zoneName() const
{
    return isUtc() ? QStringLiteral("UTC") : localZoneName();
}

QString DisplayZone::format(const QDateTime &instant, TimePrecision precision) const
{
    return formatInstant(instant, zone(), precision);
}

Result<QDateTime> DisplayZone::parse(const QString &text) const
{
    return parseInstant(text, zone(), zoneName());
}

void DisplayZone::rewriteOnChange(QAbstractItemModel *model, const QList<int> &columns)
{
    connect(instance(), &DisplayZone::changed, model, [model, columns] {
        const int rows = model->rowCount();
        if (rows == 0)
            return;
        for (const int column : columns)
            Q_EMIT model->dataChanged(model->index(0, column), model->index(rows - 1, column),
                                      {Qt::DisplayRole, Qt::ToolTipRole});
    });
}

WallTimeInZone DisplayZone::resolve(const QDate &date, const QTime &time) const
{
    return resolveWallTime(date, time, zone());
}

} // namespace ledger
