#pragma once

#include "domain/InstantText.h"

#include <QDateTimeEdit>
#include <QMessageBox>
#include <QPointer>

#include <optional>

class QLabel;

namespace ledger {

// A date-time field that reads the time in the zone the console shows (DisplayZone) and
// shows that zone's offset beside it ("+02:00"). Used instead of a plain QDateTimeEdit
// wherever an operator types an instant.
//
// QDateTimeEdit (Qt 6.4) cannot hold a time the local zone skips: typed, it is quietly moved
// (to another day, even) and the field then shows the moved value. This field remembers the
// wall time the operator typed, and instant() refuses one in a gap with a message that says
// what to type. A wall time the zone has twice (clocks going back) is resolved by asking
// which of the two is meant (a question naming both offsets); until then instant() refuses
// it. When the View menu switches zones, the field shows the same instant in the new zone.
// GUI thread only.
class InstantEdit : public QDateTimeEdit
{
    Q_OBJECT

public:
    explicit InstantEdit(QWidget *parent = nullptr,
                         TimePrecision precision = TimePrecision::Seconds);

    // Shows `instant` (any time spec) in the zone shown; remembers which of two equal wall
    // times it is.
    void setInstant(const QDateTime &instant);
    // The instant meant (UTC), or why there is none (a gap; an overlap not yet chosen, in
    // which case the question is asked).
    Result<QDateTime> instant();
    // The same without asking (an overlap not yet chosen is refused).
    Result<QDateTime> meant() const;
    // The offset shown beside the field ("+02:00", or what is wrong).
    QString offsetText() const;
    // The open "which of the two?" question, if any (tests answer it).
    QMessageBox *overlapQuestion() const { return m_question; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    // The operator answered which of two equal wall times is meant.
    void overlapChosen();

protected:
    void keyPressEvent(QKeyEvent *event) override;
    void focusOutEvent(QFocusEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    struct Wall
    {
        QDate date;
        QTime time;
        bool operator==(const Wall &o) const { return date == o.date && time == o.time; }
    };
    void followZone();
    void readTypedText(bool afterFixup);
    std::optional<Wall> wallInText() const;
    void setWall(const Wall &wall);
    void askWhichOne();
    void updateOffset();
    int offsetWidth() const;

    QTimeZone m_zone; // the zone shown, and typed times read in (DisplayZone's, until it changes)
    QString m_zoneName;
    std::optional<Wall> m_wall;        // what the operator typed or was shown
    std::optional<int> m_chosenOffset; // for an overlapping m_wall: the offset chosen
    bool m_userEditing = false;
    QLabel *m_offset = nullptr;
    QPointer<QMessageBox> m_question;
};

} // namespace ledger
