#pragma once

// Runs the real ledgerctl binary for tests. Header-only because LEDGERCTL_PATH is defined per
// test executable (tests/CMakeLists.txt); $LEDGERCTL overrides it (to run a test against
// another build).

#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace ledger::test {

struct LedgerctlRun
{
    int exitCode = -1; // -1: crashed or timed out
    QString out;
    QString err;
    QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
    QStringList outLines() const { return out.split(QLatin1Char('\n'), Qt::SkipEmptyParts); }
    QString describe() const
    {
        return QStringLiteral("exit %1\nstdout: %2\nstderr: %3").arg(exitCode).arg(out, err);
    }
};

// `dsnEnv` becomes $LEDGER_DSN (which is cleared otherwise); `input` is written to stdin.
inline LedgerctlRun runLedgerctl(const QStringList &args, const QString &dsnEnv = {},
                                 const QByteArray &input = {})
{
#ifdef LEDGERCTL_PATH
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("LEDGER_DSN"));
    if (!dsnEnv.isEmpty())
        env.insert(QStringLiteral("LEDGER_DSN"), dsnEnv);
    p.setProcessEnvironment(env);
    p.start(qEnvironmentVariable("LEDGERCTL", QStringLiteral(LEDGERCTL_PATH)), args);
    p.write(input);
    p.closeWriteChannel();
    LedgerctlRun r;
    if (!p.waitForFinished(180000)) {
        p.kill();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
#else
    Q_UNUSED(args);
    Q_UNUSED(dsnEnv);
    Q_UNUSED(input);
    return {-1, {}, QStringLiteral("LEDGERCTL_PATH is not defined for this test")};
#endif
}

} // namespace ledger::test
