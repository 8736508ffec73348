#include "DbWorker.h"

#include <QDeadlineTimer>
#include <QMetaObject>

namespace ledger {

DbWorker::DbWorker(ConnectionSettings settings, QString applicationName, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_applicationName(std::move(applicationName))
{
    qRegisterMetaType<ledger::Error>();
    m_context = new QObject;
    m_context->moveToThread(&m_thread);
    // Both run on the worker thread as it finishes: the connection dies where it lived.
    connect(
        &m_thread, &QThread::finished, m_context, [this] { m_connection.reset(); },
        Qt::DirectConnection);
    connect(&m_thread, &QThread::finished, m_context, &QObject::deleteLater, Qt::DirectConnection);
    m_thread.setObjectName(QStringLiteral("DbWorker"));
    m_thread.start();
}

DbWorker::DbWorker(const QString &dsn, QString applicationName, QObject *parent)
    : DbWorker(dsn.isEmpty() ? ConnectionSettings() : ConnectionSettings::direct(dsn),
               std::move(applicationName), parent)
{}

DbWorker::~DbWorker()
{
    // Jobs already queued run first (a sign-out's end_session, say, when the console quits),
    // for a few seconds at most; then whatever is left is abandoned.
    QMetaObject::invokeMethod(
        m_context, [this] { m_thread.quit(); }, Qt::QueuedConnection);
    if (m_thread.wait(QDeadlineTimer(5000)))
        return;
    m_thread.requestInterruption();
    m_thread.quit();
    m_thread.wait();
}

quint64 DbWorker::setSettings(ConnectionSettings settings)
{
    const quint64 generation = ++m_lastGeneration;
    QMetaObject::invokeMethod(
        m_context,
        [this, settings = std::move(settings), generation] {
            m_connection.reset();
            m_settings = settings;
            m_generation = generation;
        },
        Qt::QueuedConnection);
    return generation;
}

void DbWorker::enqueue(Task task)
{
    QMetaObject::invokeMethod(
        m_context, [this, task = std::move(task)] { runTask(task); }, Qt::QueuedConnection);
}

void DbWorker::runTask(const Task &task)
{
    if (!m_settings.hasCredentials()) {
        // Signed out or locked: no connection, and no attempt at one.
        m_connection.reset();
        if (const auto failed = task(nullptr, m_settings.refusal()))
            Q_EMIT jobFailed(*failed, m_generation);
        return;
    }
    if (!m_connection || !m_connection->isOpen()) {
        m_connection.reset();
        try {
            m_connection = std::make_unique<Connection>(m_settings, m_applicationName);
            Q_EMIT connected(m_connection->describe());
        } catch (const DbException &e) {
            Q_EMIT connectionLost(e.error());
            if (const auto failed = task(nullptr, e.error()))
                Q_EMIT jobFailed(*failed, m_generation);
            return;
        }
    }
    const std::optional<Error> failed = task(m_connection.get(), Error());
    if (!failed)
        return;
    // A lost connection also closes ours, so that the next job reconnects.
    if (failed->kind == Error::Kind::Connection) {
        m_connection.reset();
        Q_EMIT connectionLost(*failed);
    }
    Q_EMIT jobFailed(*failed, m_generation);
}

} // namespace ledger
