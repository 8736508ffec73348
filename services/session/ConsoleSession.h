#pragma once

#include "domain/Error.h"

#include <QDateTime>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <memory>

namespace ledger {

class DbWorker;

// Where the console signs in: the server and database, never a user or a secret.
struct ServerProfile
{
    QString host = QStringLiteral("localhost"); // a host name, or a socket directory
    int port = 5432;
    QString database = QStringLiteral("ledger");
    QString sslMode = QStringLiteral("prefer"); // disable, prefer, require, verify-full

    QString dsn() const; // key=value, no credentials
};

// The console's time-limited session. Signs in through the operator's broker login (the
// long-lived secret) to mint a session role, points the data worker at it, counts down,
// renews it while the user is active, and locks when it expires or is revoked. Lives on
// the GUI thread; every database call runs on a worker thread.
class ConsoleSession : public QObject
{
    Q_OBJECT

public:
    enum class State { SignedOut, SigningIn, Active, Locked };
    Q_ENUM(State)

    // worker: the data worker the models use; its DSN is switched to each new session.
    explicit ConsoleSession(DbWorker *worker, QObject *parent = nullptr);
    ~ConsoleSession() override;

    // Lifetime asked for each session and renewal (default: the server's, 30 minutes).
    void setRequestedTtl(int seconds) { m_ttlSeconds = seconds; }
    // Warn this long before the end.
    void setWarningSeconds(int seconds) { m_warningSeconds = seconds; }

    // Asynchronous: signedIn() or signInFailed() follows. The secret is used for this call
    // and not kept.
    void signIn(const ServerProfile &profile, const QString &operatorName, const QString &secret);
    void signOut();

    State state() const { return m_state; }
    QString operatorName() const { return m_operator; }
    QString role() const { return m_role; }
    QDateTime expiresAt() const { return m_expiresAt; }
    int secondsLeft() const;
    QString lockReason() const { return m_lockReason; }

public Q_SLOTS:
    // The user did something: renew if the session is past half its life.
    void noteActivity();
    // A data call failed: an expired, revoked or ended session locks the console.
    void reportError(const ledger::Error &error);

Q_SIGNALS:
    void stateChanged(ledger::ConsoleSession::State state);
    void signedIn();
    void signInFailed(const ledger::Error &error);
    void tick(int secondsLeft);     // when the seconds left change, while active
    void expiring(int secondsLeft); // once, when the warning time is reached
    void renewed(const QDateTime &expiresAt);
    void locked(const QString &reason);

private:
    void setState(State state);
    void onTick();
    void lock(const QString &reason);

    QPointer<DbWorker> m_worker;
    std::unique_ptr<DbWorker> m_broker; // lives only while signing in
    QTimer m_timer;
    State m_state = State::SignedOut;
    QString m_operator;
    QString m_role;
    QString m_baseDsn;
    QDateTime m_expiresAt;
    QDateTime m_maxUntil;
    QDateTime m_lastRenewal;
    int m_ttlSeconds = 0;
    int m_warningSeconds = 120;
    bool m_warned = false;
    int m_lastTick = -1;
    bool m_renewing = false;
    QString m_lockReason;
    quint64 m_attempt = 0;
};

} // namespace ledger
