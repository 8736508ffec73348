#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include <memory>

namespace ledger {
class Connection;
}

namespace ledger::test {

// Raw SQL for tests that probe the database's own rules (grants, triggers, constraints)
// the way a hostile or careless client would. Product code never does this: it goes
// through services/db. Each exec() is one transaction, committed when it succeeds.
struct SqlOutcome
{
    bool ok = false;
    QString sqlState;
    QString message;
    QList<QStringList> rows; // text values; NULL as a null QString
};

class SqlSession
{
public:
    explicit SqlSession(const QString &dsn);
    ~SqlSession();

    SqlOutcome exec(const QString &sql, const QStringList &params = {});
    // The statement as it is, outside any transaction of ours: BEGIN, COMMIT, SET and the
    // statements between them behave as in psql (for isolation-level attacks).
    SqlOutcome run(const QString &sql);
    // The first column of the first row, failing the test (qFatal) when the query fails.
    QString scalar(const QString &sql, const QStringList &params = {});
    // Backend pid of this session, to terminate it from another one.
    int backendPid();

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

// Runs `sql` on a product Connection, as a repository would (for tests of the connection
// itself, such as what it does with the server's notices). Throws DbException.
void execOn(Connection &connection, const QString &sql);

} // namespace ledger::test
