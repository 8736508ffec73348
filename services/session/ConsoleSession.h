#pragma once

#include "domain/Error.h"
#include "domain/ServerProfile.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <memory>

namespace ledger {

class ConnectionSettings;
class DbWorker;

// The console's time-limited session. Signs in through the operator's broker login (the
// long-lived secret) to mint a session role, points the data worker at it, counts down,
// renews it while the user is active, and locks when it expires or is revoked. Lives on
// the GUI thread; every database call runs on a worker thread.
//
// Signed out or locked, the data worker has no credentials at all: its jobs fail with a
// NotSignedIn error and nothing connects (never libpq's defaults, PG* variables or
// ~/.pgpass). Every failed job of the data worker comes here (DbWorker::jobFailed, queued):
// an expired, revoked or ended session seen by any screen locks the console.
class ConsoleSession : public QObject
{
    Q_OBJECT

public:
    enum class State { SignedOut, SigningIn, Active, Locked };
    Q_ENUM(State)

    // worker: the data worker the models use; it is given each new session's credentials,
    // and none while signed out or locked.
    explicit ConsoleSession(DbWorker *worker, QObject *parent = nullptr);
    ~ConsoleSession() override;

    // Another worker that follows the session as the data worker does: each new session's
    // credentials, none while signed out or locked, and its failed jobs can lock the
    // console too. For long jobs (chain verification) on a connection of their own, so
    // that pages and renewal never wait behind them. Add it before signing in (until the
    // next sign-in it has no credentials). Held weakly.
    void addWorker(DbWorker *worker);

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
    ServerProfile profile() const { return m_profile; }

    // What the sign-in tells the server about this client: application, version and host,
    // short and without control characters (the server refuses anything else, LG049).
    static QJsonObject clientInfo();

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
    void onJobFailed(const ledger::Error &error, quint64 generation);
    void dropCredentials(const QString &why);
    void applySettings(const ConnectionSettings &settings); // to every worker

    struct Follower
    {
        QPointer<DbWorker> worker;
        quint64 generation = 0; // that worker's settings generation of the live session
    };

    QPointer<DbWorker> m_worker;
    std::unique_ptr<DbWorker> m_broker; // lives only while signing in
    QTimer m_timer;
    State m_state = State::SignedOut;
    QString m_operator;
    QString m_role;
    ServerProfile m_profile;
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
    quint64 m_generation = 0;    // the data worker's settings generation of the live session
    QList<Follower> m_followers; // only grows: its indexes are stable
};

} // namespace ledger
