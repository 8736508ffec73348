#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace ledger {

// What the console's health panel shows (ledger.health_snapshot, 0052): counts and times,
// no payload or amount.
struct SourceHealth
{
    QString source;
    QString topic;
    int partitions = 0;
    qint64 events = 0;               // taken from the stream since the source began
    QDateTime lastEventAt;           // the last batch the ledger took from it
    std::optional<qint64> lag;       // messages past the ledger's positions when last observed
    QDateTime observedAt;            // when a consumer last told the ledger where the stream ends
    int observedPartitions = 0;      // of `partitions`, those a consumer has told the end of
    std::optional<double> perSecond; // events per second between its last two observations
};

struct OpenDeadLetter
{
    qint64 id = 0;
    QString source;
    QString topic;
    int partition = 0;
    qint64 offset = 0;
    QDateTime parkedAt;
    QString errorCode;
    QString kind; // the kind of refusal, quoting nothing of the event (its reason may)
};

struct InvariantCheckSummary
{
    qint64 id = 0;
    QDateTime checkedAt;
    bool ok = false;
    QStringList failed;
};

struct HealthSnapshot
{
    QDateTime at; // the database's clock
    QList<SourceHealth> sources;
    qint64 openDeadLetters = 0;
    QDateTime oldestDeadLetterAt;
    QList<OpenDeadLetter> newestDeadLetters; // up to 50, newest first
    qint64 heldEvents = 0;
    qint64 heldEntities = 0;
    QDateTime oldestHeldAt;
    QList<InvariantCheckSummary> invariantChecks; // newest first
    qint64 openExceptions = 0;
    qint64 overdueExceptions = 0;
    QDateTime oldestExceptionAt;
    qint64 unsealedEvents = 0;
    QDateTime oldestUnsealedAt;
    qint64 chainHead = 0;
    QDateTime lastVerifiedAt; // invalid: never verified
    bool lastVerificationOk = false;
    QString lastVerificationReason;
    qint64 openSessions = 0;
    qint64 sessionsEnding = 0;  // within the window asked for
    qint64 sessionsAtLimit = 0; // whose renewals run out within it

    // From ledger.health_snapshot's JSON; fields it lacks keep their defaults.
    static HealthSnapshot fromJson(const QJsonObject &o);
};

// A dead letter retried from the console (ledger.retry_dead_letter).
struct DeadLetterRetry
{
    qint64 transactionId = 0;
    bool duplicate = false; // it had been posted already
    qint64 auditEvent = 0;
};

// Where an operator acts on an item.
enum class HealthTarget {
    None,
    DeadLetters,    // the panel's own list: retry or discard
    Invariants,     // the panel's history; run the checks again
    Reconciliation, // the exceptions queue
    Audit,          // the audit log's chain verification
    Reports,        // the reports tab (the store's lag)
    Session,        // sign in again / renew
};

struct HealthItem
{
    enum class Level { Ok, Warning, Bad, Unknown };
    QString key; // stable: "source:<name>/<topic>", "dead_letters", ...
    QString title;
    QString detail;
    Level level = Level::Unknown;
    HealthTarget target = HealthTarget::None;
};

// What the console knows beside the snapshot.
struct HealthContext
{
    QDateTime now;                         // the snapshot's time when invalid
    std::optional<int> sessionSecondsLeft; // this console's own session (none: direct connection)
    // The reporting store: whether the console has one, when it last heard from the ledger
    // (invalid: never or unreachable) and how far behind it may be.
    bool storeIsSeparate = false;
    QDateTime storeReplicatedAt;
    QString storeError; // non-empty: the store could not be asked
    int storeMaxLagSeconds = 300;
};

// The limits the verdicts use.
struct HealthLimits
{
    qint64 sourceLagWarning = 1000;
    qint64 sourceLagBad = 100000;
    int sourceSilentSeconds = 300; // a source with a backlog not observed this long: stalled
    int heldWarningSeconds = 600;  // held events older than this
    int unsealedBadSeconds = 60;   // the sealer should have taken them
    int verificationAgeDays = 7;   // a chain not verified this long: warning
    int invariantAgeHours = 26;    // no invariant check this long: warning
    int sessionWarningSeconds = 300;
};

// One item per source, then dead letters, held events, invariants, reconciliation, audit
// chain, reporting store, sessions: each with a level and where to act.
QList<HealthItem> assessHealth(const HealthSnapshot &snapshot, const HealthContext &context,
                               const HealthLimits &limits = {});

} // namespace ledger
