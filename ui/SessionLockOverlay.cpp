#include "SessionLockOverlay.h"

#include <QEvent>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace ledger {

SessionLockOverlay::SessionLockOverlay(QWidget *parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("sessionLock"));
    setAutoFillBackground(true); // opaque: the window's own colour, nothing shows through
    auto *layout = new QVBoxLayout(this);
    layout->addStretch();
    auto *title = new QLabel(tr("<h2>Ledger Console is locked</h2>"), this);
    title->setAlignment(Qt::AlignCenter);
    m_reason = new QLabel(this);
    // Plain text: it shows values from the database (or messages quoting them).
    m_reason->setTextFormat(Qt::PlainText);
    m_reason->setObjectName(QStringLiteral("lockReason"));
    m_reason->setWordWrap(true);
    m_reason->setAlignment(Qt::AlignCenter);
    m_signIn = new QPushButton(tr("&Sign in again"), this);
    m_signIn->setObjectName(QStringLiteral("signInAgain"));
    m_signIn->setAccessibleName(tr("Sign in again"));
    layout->addWidget(title);
    layout->addWidget(m_reason);
    layout->addWidget(m_signIn, 0, Qt::AlignHCenter);
    layout->addStretch();
    connect(m_signIn, &QPushButton::clicked, this, &SessionLockOverlay::signInRequested);
    parent->installEventFilter(this); // follow the window's size
    hide();
}

void SessionLockOverlay::showLocked(const QString &reason)
{
    m_reason->setText(reason);
    setGeometry(parentWidget()->rect());
    raise();
    show();
    m_signIn->setFocus();
}

bool SessionLockOverlay::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == parentWidget() && event->type() == QEvent::Resize)
        setGeometry(parentWidget()->rect());
    return QWidget::eventFilter(watched, event);
}

} // namespace ledger
