#pragma once

// The console of Carla (console_compliance, a direct connection) for the statement tests: her
// pages' worker and long-jobs worker, the services on them, the account list and the main
// window with statements. Members are destroyed window first, workers last.

#include "AccountListModel.h"
#include "MainWindow.h"
#include "TestCluster.h"
#include "console/AuditService.h"
#include "console/LedgerService.h"
#include "console/StatementService.h"
#include "db/DbWorker.h"

#include <memory>

namespace ledger::test {

struct ComplianceConsole
{
    std::unique_ptr<DbWorker> worker;   // Carla's pages
    std::unique_ptr<DbWorker> longJobs; // Carla's statements
    std::unique_ptr<LedgerService> ledger;
    std::unique_ptr<AuditService> audit;
    std::unique_ptr<StatementService> statements;
    std::unique_ptr<AccountListModel> accounts;
    std::unique_ptr<MainWindow> window;

    // Signs Carla in on the cluster; the window has statements (not yet shown).
    void start(TestCluster &db, const QString &name)
    {
        const QString carla =
            db.dsnFor(QStringLiteral("console_compliance"), QStringLiteral("carla"));
        worker = std::make_unique<DbWorker>(carla, name);
        longJobs = std::make_unique<DbWorker>(carla, name + QStringLiteral(" long jobs"));
        ledger = std::make_unique<LedgerService>(worker.get());
        audit = std::make_unique<AuditService>(worker.get());
        statements = std::make_unique<StatementService>(longJobs.get());
        accounts = std::make_unique<AccountListModel>(ledger.get(), audit.get());
        window = std::make_unique<MainWindow>(accounts.get(), QStringLiteral("carla@ledger"), true);
    }
};

} // namespace ledger::test
