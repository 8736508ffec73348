#pragma once

#include "db/Connection.h"

#include <QDateTime>
#include <QString>

#include <memory>

namespace ledger::test {

class SqlSession;
class TestCluster;

// Work left for the scheduled jobs (pg_cron in tst_cron, ledgerctl maintain in
// tst_maintain), as the superuser leaves it:
//  - operator `operatorName` (auditor) holds a session that expires two seconds after it is
//    issued, still connected (`session`): the reaper ends it and drops `sessionRole`;
//  - a failed sign-in of the operator's broker: the collector records it;
//  - accounts <prefix>-A and <prefix>-B with 2,000 postings between them: the reporting
//    refresh fills 4,000 balance buckets;
//  - a reversal request (`request`) whose lifetime is already over: the expiry job records it;
//  - last, an audit event committed unsealed (REPEATABLE READ): the sealer seals it.
// Throws DbException; reports other failures through QTest (check QTest::currentTestFailed()).
struct ScheduledWork
{
    QString sessionRole;
    QDateTime sessionExpiresAt;
    std::unique_ptr<Connection> session;
    QString request;
};
ScheduledWork leaveScheduledWork(TestCluster &cluster, SqlSession &admin,
                                 const QString &operatorName, const QString &prefix);

} // namespace ledger::test
