#include "InstantEdit.h"

#include "DisplayZone.h"

#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalBlocker>

namespace ledger {

namespace {

QString wallText(const QDate &date, const QTime &time)
{
    return date.toString(Qt::ISODate) + QLatin1Char(' ') +
           time.toString(time.second() ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm"));
}

} // namespace

InstantEdit::InstantEdit(QWidget *parent, TimePrecision precision)
    : QDateTimeEdit(parent)
{
    DisplayZone *zone = DisplayZone::instance();
    m_zone = zone->zone();
    m_zoneName = zone->zoneName();
    setTimeSpec(zone->timeSpec());
    setDisplayFormat(precision == TimePrecision::Minutes ? QStringLiteral("yyyy-MM-dd HH:mm")
                                                         : QStringLiteral("yyyy-MM-dd HH:mm:ss"));
    setCalendarPopup(true);
    m_offset = new QLabel(lineEdit());
    m_offset->setObjectName(QStringLiteral("instantEditOffset"));
    m_offset->setTextFormat(Qt::PlainText);
    m_offset->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    m_offset->setAttribute(Qt::WA_TransparentForMouseEvents);
    lineEdit()->setTextMargins(0, 0, offsetWidth(), 0);
    // A value set by the program (or the calendar, the wheel, arrow keys) is its own wall
    // time; while a key is handled the typed text is read instead (readTypedText).
    connect(this, &QDateTimeEdit::dateTimeChanged, this, [this](const QDateTime &value) {
        if (!m_userEditing && value.isValid())
            setWall({value.date(), value.time()});
    });
    connect(this, &QDateTimeEdit::editingFinished, this, [this] {
        if (m_wall && !m_chosenOffset &&
            resolveWallTime(m_wall->date, m_wall->time, m_zone).kind ==
                WallTimeInZone::Kind::Overlap)
            askWhichOne();
    });
    connect(zone, &DisplayZone::changed, this, &InstantEdit::followZone);
    setInstant(QDateTime::currentDateTimeUtc());
}

void InstantEdit::setInstant(const QDateTime &instant)
{
    if (!instant.isValid())
        return;
    const bool utc = m_zone == QTimeZone::utc();
    const QDateTime there = instant.toTimeZone(m_zone);
    setDateTime(utc ? instant.toUTC() : instant.toLocalTime());
    // QDateTimeEdit keeps a local wall time that happens twice as the later of the two;
    // the wall time and the offset given are what is meant.
    setWall({there.date(), there.time()});
    if (resolveWallTime(there.date(), there.time(), m_zone).kind == WallTimeInZone::Kind::Overlap)
        m_chosenOffset = there.offsetFromUtc();
    updateOffset();
}

Result<QDateTime> InstantEdit::instant()
{
    Result<QDateTime> t = meant();
    if (!t && m_wall && !m_chosenOffset &&
        resolveWallTime(m_wall->date, m_wall->time, m_zone).kind == WallTimeInZone::Kind::Overlap)
        askWhichOne();
    return t;
}

Result<QDateTime> InstantEdit::meant() const
{
    if (!m_wall)
        return Error::make(Error::Kind::Input, howToWriteATime(m_zoneName));
    const WallTimeInZone w = resolveWallTime(m_wall->date, m_wall->time, m_zone);
    switch (w.kind) {
    case WallTimeInZone::Kind::Unique:
        return w.first;
    case WallTimeInZone::Kind::Gap:
        return Error::make(Error::Kind::Input,
                           gapMessage(m_wall->date, m_wall->time, w, m_zoneName));
    case WallTimeInZone::Kind::Overlap:
        if (m_chosenOffset)
            return *m_chosenOffset == w.offsetBefore ? w.first : w.second;
        return Error::make(
            Error::Kind::Input,
            tr("%1 happens twice in %2 (at %3, then again at %4, after the clocks went "
               "back): choose which one in the question shown.")
                .arg(wallText(m_wall->date, m_wall->time), m_zoneName,
                     formatUtcOffset(w.offsetBefore), formatUtcOffset(w.offsetAfter)));
    }
    return Error::make(Error::Kind::Input, howToWriteATime(m_zoneName));
}

QString InstantEdit::offsetText() const
{
    return m_offset->text();
}

void InstantEdit::followZone()
{
    // The same instant in the other zone (what the wall time meant in the zone it was read
    // in); a wall time that names none stays as typed.
    const Result<QDateTime> meant = this->meant();
    const DisplayZone *zone = DisplayZone::instance();
    const std::optional<Wall> kept = m_wall;
    m_zone = zone->zone();
    m_zoneName = zone->zoneName();
    setTimeSpec(zone->timeSpec());
    // Qt 6.4 converts the value to the new spec but leaves the old text on screen, and
    // setDateTime() of that same value changes nothing: another value first, quietly, makes
    // the one set below redraw the text.
    {
        const QSignalBlocker quiet(this);
        setDateTime(dateTime().addSecs(1));
    }
    if (meant) {
        setInstant(meant.value());
    } else if (kept) {
        setDateTime(QDateTime(kept->date, kept->time, zone->timeSpec()));
        setWall(*kept);
    }
}

std::optional<InstantEdit::Wall> InstantEdit::wallInText() const
{
    // The display formats are "yyyy-MM-dd HH:mm" and "yyyy-MM-dd HH:mm:ss".
    const QString text = lineEdit()->text().trimmed();
    const QDate date = QDate::fromString(text.left(10), QStringLiteral("yyyy-MM-dd"));
    const QString clock = text.mid(11);
    QTime time = QTime::fromString(clock, QStringLiteral("HH:mm:ss"));
    if (!time.isValid())
        time = QTime::fromString(clock, QStringLiteral("HH:mm"));
    if (!date.isValid() || !time.isValid())
        return std::nullopt;
    return Wall{date, time};
}

void InstantEdit::readTypedText(bool afterFixup)
{
    const std::optional<Wall> typed = wallInText();
    if (!typed)
        return;
    // Enter or leaving the field lets QDateTimeEdit rewrite a time the zone skips as the
    // value it moved it to: the typed wall time stays what is meant (and refused).
    if (afterFixup && m_wall &&
        resolveWallTime(m_wall->date, m_wall->time, m_zone).kind == WallTimeInZone::Kind::Gap)
        return;
    setWall(*typed);
}

void InstantEdit::setWall(const Wall &wall)
{
    if (m_wall && *m_wall == wall)
        return;
    m_wall = wall;
    m_chosenOffset.reset();
    updateOffset();
}

void InstantEdit::keyPressEvent(QKeyEvent *event)
{
    m_userEditing = true;
    QDateTimeEdit::keyPressEvent(event);
    m_userEditing = false;
    readTypedText(event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter);
}

void InstantEdit::focusOutEvent(QFocusEvent *event)
{
    m_userEditing = true;
    QDateTimeEdit::focusOutEvent(event);
    m_userEditing = false;
    readTypedText(true);
}

void InstantEdit::askWhichOne()
{
    if (m_question || !m_wall)
        return;
    const WallTimeInZone w = resolveWallTime(m_wall->date, m_wall->time, m_zone);
    if (w.kind != WallTimeInZone::Kind::Overlap)
        return;
    const Wall asked = *m_wall;
    const QString text = wallText(asked.date, asked.time);
    auto *box = new QMessageBox(QMessageBox::Question, tr("Which %1?").arg(text),
                                tr("%1 happens twice in %2: the clocks go back that day. "
                                   "Which one do you mean?")
                                    .arg(text, m_zoneName),
                                QMessageBox::Cancel, window());
    box->setObjectName(QStringLiteral("overlapQuestion"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton *first = box->addButton(
        tr("%1%2 (the first)").arg(text, formatUtcOffset(w.offsetBefore)), QMessageBox::AcceptRole);
    first->setObjectName(QStringLiteral("overlapFirst"));
    QPushButton *second = box->addButton(
        tr("%1%2 (the second)").arg(text, formatUtcOffset(w.offsetAfter)), QMessageBox::AcceptRole);
    second->setObjectName(QStringLiteral("overlapSecond"));
    box->setDefaultButton(first);
    const int before = w.offsetBefore;
    const int after = w.offsetAfter;
    connect(box, &QMessageBox::buttonClicked, this,
            [this, asked, first, second, before, after](QAbstractButton *button) {
                if (!m_wall || !(*m_wall == asked) || (button != first && button != second))
                    return;
                m_chosenOffset = button == first ? before : after;
                updateOffset();
                Q_EMIT overlapChosen();
            });
    m_question = box;
    box->open();
}

void InstantEdit::updateOffset()
{
    QString text;
    bool wrong = false;
    if (m_wall) {
        const WallTimeInZone w = resolveWallTime(m_wall->date, m_wall->time, m_zone);
        switch (w.kind) {
        case WallTimeInZone::Kind::Unique:
            text = formatUtcOffset(w.first.toTimeZone(m_zone).offsetFromUtc());
            break;
        case WallTimeInZone::Kind::Gap:
            text = tr("no such time");
            wrong = true;
            break;
        case WallTimeInZone::Kind::Overlap:
            text = m_chosenOffset ? formatUtcOffset(*m_chosenOffset)
                                  : formatUtcOffset(w.offsetBefore) + QLatin1Char('/') +
                                        formatUtcOffset(w.offsetAfter) + QLatin1Char('?');
            wrong = !m_chosenOffset;
            break;
        }
    }
    m_offset->setText(text);
    QPalette p = m_offset->palette();
    p.setColor(QPalette::WindowText,
               wrong ? QColor(0xb0, 0x00, 0x20) : palette().color(QPalette::PlaceholderText));
    m_offset->setPalette(p);
    setToolTip(text.isEmpty() ? QString() : tr("Read in %1 (%2)").arg(m_zoneName, text));
}

int InstantEdit::offsetWidth() const
{
    return fontMetrics().horizontalAdvance(QStringLiteral("+00:00/+00:00?")) + 6;
}

void InstantEdit::resizeEvent(QResizeEvent *event)
{
    QDateTimeEdit::resizeEvent(event);
    if (!m_offset)
        return;
    // Inside the text field, on its right, where the text never reaches (text margins).
    m_offset->setGeometry(lineEdit()->width() - offsetWidth(), 0, offsetWidth() - 4,
                          lineEdit()->height());
}

QSize InstantEdit::sizeHint() const
{
    QSize s = QDateTimeEdit::sizeHint();
    s.rwidth() += offsetWidth();
    return s;
}

QSize InstantEdit::minimumSizeHint() const
{
    QSize s = QDateTimeEdit::minimumSizeHint();
    s.rwidth() += offsetWidth();
    return s;
}

} // namespace ledger
