#include "ConsoleSession.h"

#include "async/WhenReady.h"

#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbWorker.h"

#include <QCoreApplication>
#include <QLocale>
#include <QSysInfo>

namespace ledger {

namespace {

// Text the server accepts as client information: no control, zero-width or bidirectional
// formatting characters, and short.
QString cleanClientText(const QString &text)
{
    QString out;
    for (const QChar c : text) {
        const char16_t u = c.unicode();
        const bool unwanted = u < 0x20 || (u >= 0x7f && u <= 0x9f) || u == 0x061c ||
                              (u >= 0x200b && u <= 0x200f) || (u >= 0x2028 && u <= 0x202e) ||
                              (u >= 0x2060 && u <= 0x2069) || u == 0xfeff || c.isSurrogate();
        if (!unwanted)
            out += c;
    }
    return out.trimmed().left(64);
}

} // namespace

ConsoleSession::ConsoleSession(DbWorker *worker, QObject *parent)
    : QObject(parent)
    , m_worker(worker)
{
    m_timer.setInterval(250); // the display changes once a second; expiry is caught within 250 ms
    connect(&m_timer, &QTimer::timeout, this, &ConsoleSession::onTick);
    if (m_worker) {
        // Every failed job of every screen, whatever the screen does with it.
        connect(m_worker, &DbWorker::jobFailed, this, &ConsoleSession::onJobFailed,
                Qt::QueuedConnection);
        // Until someone signs in, the data worker has nothing to connect with.
        dropCredentials(tr("Not signed in: sign in to see the ledger."));
    }
}

ConsoleSession::~ConsoleSession() = default;

void ConsoleSession::addWorker(DbWorker *worker)
{
    if (!worker)
        return;
    const qsizetype index = m_followers.size();
    m_followers.append({worker, 0});
    // Queued: jobFailed() comes from the worker's thread; this runs on the GUI thread.
    connect(
        worker, &DbWorker::jobFailed, this,
        [this, index](const ledger::Error &error, quint64 generation) {
            if (generation == m_followers.at(index).generation)
                reportError(error);
        },
        Qt::QueuedConnection);
    m_followers.last().generation = worker->setSettings(
        ConnectionSettings::none(tr("Not signed in: sign in to see the ledger.")));
}

QJsonObject ConsoleSession::clientInfo()
{
    QString version = QCoreApplication::applicationVersion();
    if (version.isEmpty())
        version = QStringLiteral(LEDGER_VERSION);
    return QJsonObject{
        {QStringLiteral("application"), QStringLiteral("ledger-console")},
        {QStringLiteral("version"), cleanClientText(version)},
        {QStringLiteral("host"), cleanClientText(QSysInfo::machineHostName())},
    };
}

int ConsoleSession::secondsLeft() const
{
    if (!m_expiresAt.isValid())
        return 0;
    // The local clock against the server's expiry: if they disagree, the server still
    // refuses on time and reportError() locks.
    // Rounded up: "0 s left" means it is over, never "less than a second to go".
    const qint64 ms = QDateTime::currentDateTimeUtc().msecsTo(m_expiresAt);
    return ms <= 0 ? 0 : int((ms + 999) / 1000);
}

void ConsoleSession::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void ConsoleSession::dropCredentials(const QString &why)
{
    applySettings(ConnectionSettings::none(why));
}

void ConsoleSession::applySettings(const ConnectionSettings &settings)
{
    if (m_worker)
        m_generation = m_worker->setSettings(settings);
    for (Follower &follower : m_followers) {
        if (follower.worker)
            follower.generation = follower.worker->setSettings(settings);
    }
}

void ConsoleSession::signIn(const ServerProfile &profile, const QString &operatorName,
                            const QString &secret)
{
    if (m_state == State::SigningIn)
        return;
    if (operatorName.isEmpty() || secret.isEmpty()) {
        // Nothing to sign in with; and nothing is tried (libpq would look for a password in
        // the environment and ~/.pgpass).
        Q_EMIT signInFailed(
            Error::make(Error::Kind::Input, tr("Type the operator name and the secret.")));
        return;
    }
    setState(State::SigningIn);
    const quint64 attempt = ++m_attempt;
    m_profile = profile;
    // A short-lived broker connection on its own thread; the secret lives in its settings
    // only until that worker is gone.
    m_broker = std::make_unique<DbWorker>(
        ConnectionSettings::session(profile, AccessRepository::brokerRole(operatorName), secret),
        QStringLiteral("ledger-console sign-in"));
    const std::optional<qint64> ttl =
        m_ttlSeconds > 0 ? std::optional<qint64>(m_ttlSeconds) : std::nullopt;
    const QJsonObject client = clientInfo();
    whenReady(
        m_broker->submit([ttl, client](Connection &c) {
            return AccessRepository::issueSession(c, ttl, client);
        }),
        this,
        [this, attempt, operatorName, profile](const Result<AccessRepository::Credentials> &r) {
            if (attempt != m_attempt)
                return;
            m_broker.reset(); // closes the broker connection (on its thread)
            if (!r) {
                setState(m_role.isEmpty() ? State::SignedOut : State::Locked);
                Error e = r.error();
                if (e.kind == Error::Kind::Authentication)
                    e.message = tr("Sign-in refused: the operator name or secret is wrong, or the "
                                   "operator is disabled. Check them, or ask an administrator.");
                Q_EMIT signInFailed(e);
                return;
            }
            const AccessRepository::Credentials &c = r.value();
            m_operator = operatorName;
            m_role = c.role;
            m_expiresAt = c.expiresAt;
            m_maxUntil = c.maxUntil;
            m_lastRenewal = QDateTime::currentDateTimeUtc();
            m_warned = false;
            m_lockReason.clear();
            applySettings(ConnectionSettings::session(profile, c.role, c.password));
            setState(State::Active);
            m_timer.start();
            Q_EMIT signedIn();
            Q_EMIT tick(secondsLeft());
        });
}

void ConsoleSession::signOut()
{
    m_timer.stop();
    if (m_state == State::SigningIn) {
        ++m_attempt; // its answer is no longer wanted
        m_broker.reset();
    }
    // Ends the session on the server (best effort); it runs before the credentials go, as
    // the worker keeps the order of what it is given.
    if (m_worker && m_state == State::Active)
        m_worker->submit([](Connection &c) { AccessRepository::endSession(c); });
    dropCredentials(tr("Signed out: sign in again to continue."));
    m_role.clear();
    m_expiresAt = {};
    setState(State::SignedOut);
}

void ConsoleSession::onTick()
{
    if (m_state != State::Active)
        return;
    const int left = secondsLeft();
    if (left != m_lastTick) {
        m_lastTick = left;
        Q_EMIT tick(left);
    }
    if (left <= 0) {
        lock(tr("Your session expired at %1. Sign in again to continue; nothing you were doing is "
                "lost.")
                 .arg(QLocale().toString(m_expiresAt.toLocalTime(), QLocale::ShortFormat)));
        return;
    }
    if (!m_warned && left <= m_warningSeconds) {
        m_warned = true;
        Q_EMIT expiring(left);
    }
}

void ConsoleSession::noteActivity()
{
    if (m_state != State::Active || m_renewing || !m_worker)
        return;
    const qint64 lifetimeMs = m_lastRenewal.msecsTo(m_expiresAt);
    const qint64 leftMs = QDateTime::currentDateTimeUtc().msecsTo(m_expiresAt);
    if (lifetimeMs <= 0 || leftMs > lifetimeMs / 2 || m_expiresAt >= m_maxUntil)
        return; // not yet half-way, or renewal cannot extend it any more
    m_renewing = true;
    const std::optional<qint64> ttl =
        m_ttlSeconds > 0 ? std::optional<qint64>(m_ttlSeconds) : std::nullopt;
    // A refusal reaches reportError() through the worker's jobFailed(), like any other.
    whenReady(
        m_worker->submit([ttl](Connection &c) { return AccessRepository::renewSession(c, ttl); }),
        this, [this](const Result<QDateTime> &r) {
            m_renewing = false;
            if (!r || m_state != State::Active)
                return;
            if (r.value() > m_expiresAt) {
                m_expiresAt = r.value();
                m_lastRenewal = QDateTime::currentDateTimeUtc();
                m_warned = false;
                Q_EMIT renewed(m_expiresAt);
            }
        });
}

void ConsoleSession::onJobFailed(const ledger::Error &error, quint64 generation)
{
    // Failures of an earlier session (or of none) say nothing about this one.
    if (generation == m_generation)
        reportError(error);
}

void ConsoleSession::reportError(const ledger::Error &error)
{
    if (m_state != State::Active || !error.endsSession())
        return;
    switch (error.kind) {
    case Error::Kind::SessionRevoked:
        lock(tr("Your session was revoked by an administrator. Sign in again; if that is refused, "
                "ask an administrator."));
        break;
    case Error::Kind::SessionExpired:
        lock(
            tr("Your session expired. Sign in again to continue; nothing you were doing is lost."));
        break;
    case Error::Kind::SessionEnded:
        lock(tr("Your session was ended. Sign in again to continue."));
        break;
    case Error::Kind::OperatorDisabled:
        lock(tr("Your operator was disabled. Ask an administrator."));
        break;
    case Error::Kind::NotConsoleSession:
        lock(tr("The server no longer counts this connection as your console session. Sign in "
                "again."));
        break;
    default:
        lock(tr("The server no longer accepts this session (it was revoked or has expired). Sign "
                "in again."));
        break;
    }
}

void ConsoleSession::lock(const QString &reason)
{
    m_timer.stop();
    m_lockReason = reason;
    // Nothing to connect with until the next sign-in: the dead session's connection closes
    // and later jobs fail at once.
    dropCredentials(tr("The session is locked: sign in again to continue."));
    setState(State::Locked);
    Q_EMIT locked(reason);
}

} // namespace ledger
