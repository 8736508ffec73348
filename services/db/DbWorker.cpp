#include "DbWorker.h"

#include <QMetaObject>

namespace ledger {

DbWorker::DbWorker(QString dsn, QString applicationName, QObject *parent)
    : QObject(parent)
    , m_dsn(std::move(dsn))
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

DbWorker::~DbWorker()
{
    m_thread.requestInterruption();
    m_thread.quit();
    m_thread.wait();
}

void DbWorker::setDsn(const QString &dsn)
{
    QMetaObject::invokeMethod(
        m_context,
        [this, dsn] {
            m_connection.reset();
            m_dsn = dsn;
        },
        Qt::QueuedConnection);
}

void DbWorker::enqueue(Task task)
{
    QMetaObject::invokeMethod(
        m_context, [this, task = std::move(task)] { runTask(task); }, Qt::QueuedConnection);
}

void DbWorker::runTask(const Task &task)
{
    if (!m_connection || !m_connection->isOpen()) {
        m_connection.reset();
        try {
            m_connection = std::make_unique<Connection>(m_dsn, m_applicationName);
            Q_EMIT connected(m_connection->describe());
        } catch (const DbException &e) {
            Q_EMIT connectionLost(e.error());
            task(nullptr, e.error());
            return;
        }
    }
    try {
        task(m_connection.get(), Error());
    } catch (const DbException &e) {
        // The job's future already has the error; a lost connection also closes ours so
        // that the next job reconnects.
        if (e.error().kind == Error::Kind::Connection) {
            m_connection.reset();
            Q_EMIT connectionLost(e.error());
        }
    }
}

} // namespace ledger
