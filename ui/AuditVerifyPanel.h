#pragma once

#include "domain/AuditVerification.h"
#include "domain/Error.h"

#include <QList>
#include <QPointer>
#include <QString>
#include <QWidget>

#include <atomic>
#include <memory>

class QLabel;
class QProgressBar;
class QPushButton;
class QToolButton;

namespace ledger {

class AuditService;

// "Verify audit trail": runs the C++ verifier (AuditService::verifyChain), shows its
// progress with a Cancel button, and ends with one clear result line. An optional
// checkpoint file (`ledgerctl audit checkpoint --out FILE`) adds its marks, so that a chain
// rewritten after the checkpoint is caught. GUI thread only; the job runs on the worker's
// thread and reports progress back through the event loop.
class AuditVerifyPanel : public QWidget
{
    Q_OBJECT

public:
    explicit AuditVerifyPanel(AuditService *audit, QWidget *parent = nullptr);
    ~AuditVerifyPanel() override;

    // Reads and checks a checkpoint file; on failure says why in the panel and returns
    // false (the previous file, if any, is dropped either way).
    bool setCheckpointFile(const QString &fileName);
    void clearCheckpointFile();
    QString checkpointFile() const { return m_checkpointFile; }

    bool isRunning() const { return m_cancel != nullptr; }
    // The result line as shown ("Verified through sequence N (M events)…").
    QString resultText() const;

public Q_SLOTS:
    void verify();
    void cancel();
    void chooseCheckpointFile();

Q_SIGNALS:
    // GUI thread. finished() also after a cancel (result.cancelled) and a broken chain.
    void started();
    void finished(const ledger::VerificationResult &result);
    void failed(const ledger::Error &error);

private:
    void showProgress(quint64 run, qint64 done, qint64 total);
    void showResult(const VerificationResult &result);
    void showFailure(const Error &error);
    void setRunning(bool running);

    QPointer<AuditService> m_audit;
    QPushButton *m_verify = nullptr;
    QPushButton *m_chooseFile = nullptr;
    QLabel *m_fileLabel = nullptr;
    QToolButton *m_clearFile = nullptr;
    QProgressBar *m_progress = nullptr;
    QPushButton *m_cancelButton = nullptr;
    QLabel *m_resultIcon = nullptr;
    QLabel *m_result = nullptr;

    QString m_checkpointFile;
    QList<ChainMark> m_marks;
    // Shared with the running job, which polls it between batches; null when idle.
    std::shared_ptr<std::atomic_bool> m_cancel;
    quint64 m_run = 0; // tags progress reports, so that a finished run's late ones are dropped
};

} // namespace ledger
