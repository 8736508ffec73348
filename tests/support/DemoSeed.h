#pragma once

// Realistic demo history for tests that need one (timelines, charts): runs the real
// `ledgerctl seed` against a test cluster. Header-only because LEDGERCTL_PATH is defined
// per test executable (tests/CMakeLists.txt).

#include <QProcess>
#include <QString>
#include <QStringList>

namespace ledger::test {

// Loads the demo chart with `accounts` customers and `transactions` transactions of
// history (deposits, payments, fees, backdated, future-dated, reversals with their
// requests and approvals). Returns an empty string on success, else what went wrong.
inline QString seedDemoHistory(const QString &adminDsn, int accounts, int transactions)
{
#ifdef LEDGERCTL_PATH
    QProcess seed;
    seed.setProcessChannelMode(QProcess::MergedChannels);
    seed.start(QStringLiteral(LEDGERCTL_PATH),
               {QStringLiteral("seed"), QStringLiteral("--accounts"), QString::number(accounts),
                QStringLiteral("--transactions"), QString::number(transactions),
                QStringLiteral("--dsn"), adminDsn});
    if (!seed.waitForFinished(300000) || seed.exitStatus() != QProcess::NormalExit ||
        seed.exitCode() != 0)
        return QStringLiteral("ledgerctl seed failed: ") + QString::fromLocal8Bit(seed.readAll());
    return {};
#else
    Q_UNUSED(adminDsn);
    Q_UNUSED(accounts);
    Q_UNUSED(transactions);
    return QStringLiteral("LEDGERCTL_PATH is not defined for this test");
#endif
}

} // namespace ledger::test
