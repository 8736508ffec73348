#include "ConsoleSession.h"

#include "async/WhenReady.h"

#include "db/AccessRepository.h"
#include "db/Connection.h"
#include "db/DbWorker.h"

#include <QCoreApplication>
#include <QJsonObject>
#include <QLocale>
#include <QSysInfo>

namespace ledger {

QString ServerProfile::dsn() const
{
    return QStringLiteral("host=%1 port=%2 dbname=%3 sslmode=%4")
        .arg(dsnQuote(host))
        .arg(port)
        .arg(dsnQuote(database), dsnQuote(sslMode));
}

ConsoleSession::ConsoleSession(DbWorker *worker, QObject *parent)
    : QObject(parent)
    , m_worker(worker)
{
    m_timer.setInterval(250); // the display changes once a second; expiry is caught within 250 ms
    connect(&m_timer, &QTimer::timeout, this, &ConsoleSession::onTick);
}

ConsoleSession::~ConsoleSession() = default;

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

void ConsoleSession::signIn(const ServerProfile &profile, const QString &operatorName,
                            const QString &secret)
{
    if (m_state == State::SigningIn)
        return;
    setState(State::SigningIn);
    const quint64 attempt = ++m_attempt;
    m_baseDsn = profile.dsn();
    // A short-lived broker connection on its own thread; the secret lives in its DSN only
    // until that connection is made.
    m_broker = std::make_unique<DbWorker>(
        withCredentials(m_baseDsn, AccessRepository::brokerRole(operatorName), secret),
        QStringLiteral("ledger-console sign-in"));
    const std::optional<qint64> ttl =
        m_ttlSeconds > 0 ? std::optional<qint64>(m_ttlSeconds) : std::nullopt;
    const QJsonObject client{{QStringLiteral("application"), QStringLiteral("ledger-console")},
                             {QStringLiteral("version"), QCoreApplication::applicationVersion()},
                             {QStringLiteral("host"), QSysInfo::machineHostName()}};
    whenReady(m_broker->submit([ttl, client](Connection &c) {
        return AccessRepository::issueSession(c, ttl, client);
    }),
              this, [this, attempt, operatorName](const Result<AccessRepository::Credentials> &r) {
                  if (attempt != m_attempt)
                      return;
                  m_broker.reset(); // closes the broker connection (on its thread)
                  if (!r) {
                      setState(m_role.isEmpty() ? State::SignedOut : State::Locked);
                      Error e = r.error();
                      if (e.kind == Error::Kind::Authentication)
                          e.message = QStringLiteral(
                              "Sign-in refused: the operator name or secret is wrong, or the "
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
                  if (m_worker)
                      m_worker->setDsn(withCredentials(m_baseDsn, c.role, c.password));
                  setState(State::Active);
                  m_timer.start();
                  Q_EMIT signedIn();
                  Q_EMIT tick(secondsLeft());
              });
}

void ConsoleSession::signOut()
{
    m_timer.stop();
    if (m_worker && m_state == State::Active)
        m_worker->submit([](Connection &c) { AccessRepository::endSession(c); }); // best effort
    if (m_worker)
        m_worker->setDsn(QString());
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
    whenReady(
        m_worker->submit([ttl](Connection &c) { return AccessRepository::renewSession(c, ttl); }),
        this, [this](const Result<QDateTime> &r) {
            m_renewing = false;
            if (!r) {
                reportError(r.error());
                return;
            }
            if (r.value() > m_expiresAt) {
                m_expiresAt = r.value();
                m_lastRenewal = QDateTime::currentDateTimeUtc();
                m_warned = false;
                Q_EMIT renewed(m_expiresAt);
            }
        });
}

void ConsoleSession::reportError(const ledger::Error &error)
{
    if (m_state != State::Active)
        return;
    if (error.sqlState == QLatin1String("LG042"))
        lock(tr("Your session was revoked by an administrator. Sign in again; if that is refused, "
                "ask an administrator."));
    else if (error.sqlState == QLatin1String("LG041"))
        lock(
            tr("Your session expired. Sign in again to continue; nothing you were doing is lost."));
    else if (error.sqlState == QLatin1String("LG044"))
        lock(tr("Your session was ended. Sign in again to continue."));
    else if (error.kind == Error::Kind::Authentication)
        lock(tr("The server no longer accepts this session (it was revoked or has expired). Sign "
                "in again."));
}

void ConsoleSession::lock(const QString &reason)
{
    m_timer.stop();
    m_lockReason = reason;
    if (m_worker)
        m_worker->setDsn(QString()); // drop the dead session's connection
    setState(State::Locked);
    Q_EMIT locked(reason);
}

} // namespace ledger
