#pragma once

#include "domain/Error.h"

#include <QByteArray>

#include <exception>

namespace ledger {

// Thrown by the synchronous database layer (services/db) and nowhere else. DbWorker and
// the ledgerctl commands catch it and turn it into a Result or a one-line message.
class DbException : public std::exception
{
public:
    explicit DbException(Error error)
        : m_error(std::move(error))
        , m_what(m_error.describe().toUtf8())
    {}

    const Error &error() const noexcept { return m_error; }
    const char *what() const noexcept override { return m_what.constData(); }

private:
    Error m_error;
    QByteArray m_what;
};

} // namespace ledger
