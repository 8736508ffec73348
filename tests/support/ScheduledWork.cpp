#include "ScheduledWork.h"

#include "SqlSession.h"
#include "TestCluster.h"
#include "db/AccessRepository.h"
#include "db/DbException.h"

#include <QTest>

namespace ledger::test {

ScheduledWork leaveScheduledWork(TestCluster &cluster, SqlSession &admin,
                                 const QString &operatorName, const QString &prefix)
{
    ScheduledWork work;
    const QString secret = operatorName + QStringLiteral("-long-lived-secret");
    {
        Connection owner(cluster.adminDsn());
        AccessRepository::addOperator(owner, operatorName, {QStringLiteral("console_auditor")},
                                      secret);
    }
    const auto dsnAs = [&](const QString &user, const QString &password) {
        return withCredentials(cluster.adminDsn(), user, password);
    };
    const QString broker = QStringLiteral("lc_op_") + operatorName;
    AccessRepository::Credentials c;
    {
        Connection brokerConnection(dsnAs(broker, secret));
        c = AccessRepository::issueSession(brokerConnection, 2, {});
    }
    work.sessionRole = c.role;
    work.sessionExpiresAt = c.expiresAt;
    work.session = std::make_unique<Connection>(dsnAs(c.role, c.password));

    const auto check = [](const SqlOutcome &r, const char *what) {
        if (!r.ok)
            QTest::qFail(qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(what), r.message)),
                         __FILE__, __LINE__);
    };
    try {
        Connection refused(dsnAs(broker, QStringLiteral("wrong")));
        QTest::qFail("a wrong broker secret was accepted", __FILE__, __LINE__);
    } catch (const DbException &) {
        // the failed sign-in the collector is to find
    }
    check(admin.exec(
              QStringLiteral("SELECT ledger.open_account('%1-A', '%1 A', 'EUR', 'asset'); "
                             "SELECT ledger.open_account('%1-B', '%1 B', 'EUR', 'liability'); "
                             "DO $$ BEGIN FOR i IN 1..2000 LOOP PERFORM ledger.post_transaction("
                             "jsonb_build_object('idempotency_key', '%1-' || i, 'effective_at', "
                             "now() - i * interval '1 hour', 'legs', jsonb_build_array("
                             "jsonb_build_object('account', '%1-A', 'amount', '1.00', 'currency', "
                             "'EUR'), jsonb_build_object('account', '%1-B', 'amount', '-1.00', "
                             "'currency', 'EUR')))); END LOOP; END $$")
                  .arg(prefix)),
          "2,000 postings");
    // Its lifetime shortened for the test, then put back.
    check(admin.exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings SET "
                                    "reversal_request_ttl = '1 millisecond'")),
          "a short request lifetime");
    work.request = admin.scalar(
        QStringLiteral("SELECT ledger.request_reversal((SELECT min(id) FROM ledger.transactions "
                       "WHERE idempotency_key = '%1-1'), 'DUPLICATE', 'scheduled jobs test', "
                       "NULL, '%1-expiry')")
            .arg(prefix));
    check(admin.exec(QStringLiteral("SET LOCAL ROLE ledger_owner; UPDATE access.settings SET "
                                    "reversal_request_ttl = '7 days'")),
          "the request lifetime put back");
    // Last: everything so far sealed (a commit seals only when the last seal is at least
    // seal_every old, 0060, so the request's own commit may have left its event waiting), then
    // one event that its commit does not seal (not READ COMMITTED): pg_cron's audit.seal() is
    // to take it in.
    check(admin.exec(QStringLiteral("SELECT audit.seal()")), "the chain sealed");
    check(admin.exec(QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT "
                                    "audit.record('test.scheduled', 'test', 's', '{}'); COMMIT")),
          "an unsealed event");
    return work;
}

} // namespace ledger::test
