#pragma once

#include "domain/InstantText.h"

#include <QAbstractItemModel>
#include <QObject>
#include <QTimeZone>

namespace ledger {

// The zone the console shows and reads times in: the computer's local zone (the default)
// or UTC, chosen in the View menu and kept in QSettings ("view/timeZone": "local" or
// "utc"). Every time on screen and in copied rows is written by format() and every typed
// time read by parse() (domain/InstantText.h: the format, and the rules for times the
// local zone skips or has twice). GUI thread only.
//
// One per process (instance()), as the zone is a setting of the whole console: models and
// views created anywhere (a dialog, a test) agree with the menu without being handed it.
// Whatever shows times connects to changed() and shows them again.
class DisplayZone : public QObject
{
    Q_OBJECT

public:
    enum class Mode { Local, Utc };

    // Reads the saved choice (local when none is saved).
    explicit DisplayZone(QObject *parent = nullptr);

    static DisplayZone *instance();

    Mode mode() const { return m_mode; }
    bool isUtc() const { return m_mode == Mode::Utc; }
    // Saves the choice and announces it (nothing when it is already the mode).
    void setMode(Mode mode);
    // Reads the saved choice again (tests: a restarted console).
    void reload();

    QTimeZone zone() const;
    // "Europe/Berlin", or "UTC".
    QString zoneName() const;
    // The local zone's name, whichever mode is on (the View menu's "Local time (…)").
    static QString localZoneName();
    // The Qt::TimeSpec a QDateTimeEdit takes to show times in this zone.
    Qt::TimeSpec timeSpec() const { return isUtc() ? Qt::UTC : Qt::LocalTime; }

    QString format(const QDateTime &instant,
                   TimePrecision precision = TimePrecision::Seconds) const;
    Result<QDateTime> parse(const QString &text) const;
    WallTimeInZone resolve(const QDate &date, const QTime &time) const;

    // Has `model` announce the cells of `columns` (every row) as changed whenever the zone
    // changes, so views ask for their times again.
    static void rewriteOnChange(QAbstractItemModel *model, const QList<int> &columns);

Q_SIGNALS:
    void changed();

private:
    Mode m_mode = Mode::Local;
    QTimeZone m_local;
};

} // namespace ledger
