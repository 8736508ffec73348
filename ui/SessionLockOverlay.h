#pragma once

#include <QWidget>

class QLabel;
class QPushButton;

namespace ledger {

// Covers the whole main window while the session is locked: opaque, so nothing of the
// data behind it stays readable, with the reason and a way to sign in again.
class SessionLockOverlay : public QWidget
{
    Q_OBJECT

public:
    explicit SessionLockOverlay(QWidget *parent);

    void showLocked(const QString &reason);

Q_SIGNALS:
    void signInRequested();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    QLabel *m_reason = nullptr;
    QPushButton *m_signIn = nullptr;
};

} // namespace ledger
