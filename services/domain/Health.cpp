#include "Health.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonValue>

namespace ledger {

namespace {

// jsonb renders timestamptz as ISO 8601 with the session's offset and up to microseconds.
QDateTime timeOf(const QJsonValue &v)
{
    if (!v.isString())
        return {};
    QDateTime t = QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
    return t.isValid() ? t.toUTC() : QDateTime();
}

// A count or offset: whole, from 0 to 2^53 (what a double holds exactly).
qint64 countOf(const QJsonValue &v)
{
    constexpr double kMax = 9007199254740992.0;
    return v.isDouble() ? qint64(qBound(0.0, v.toDouble(), kMax)) : 0;
}

QString tr(const char *text, const char *disambiguation = nullptr, int n = -1)
{
    return QCoreApplication::translate("ledger::Health", text, disambiguation, n);
}

// "3 min", "2 h 5 min", "4 days": how long ago or how long left, roughly.
QString span(qint64 seconds)
{
    seconds = qAbs(seconds);
    if (seconds < 120)
        return tr("%1 s").arg(seconds);
    if (seconds < qint64(2) * 3600)
        return tr("%1 min").arg(seconds / 60);
    if (seconds < qint64(2) * 86400)
        return tr("%1 h %2 min").arg(seconds / 3600).arg((seconds % 3600) / 60);
    return tr("%1 days").arg(seconds / 86400);
}

// "1 partition", "3 partitions" (English; the console has no translations yet).
QString counted(qint64 n, const char *one, const char *many)
{
    return (n == 1 ? tr(one) : tr(many)).arg(n);
}

QString stamp(const QDateTime &t)
{
    return t.toUTC().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss 'UTC'"));
}

} // namespace

HealthSnapshot HealthSnapshot::fromJson(const QJsonObject &o)
{
    HealthSnapshot s;
    s.at = timeOf(o.value(QStringLiteral("at")));
    for (const QJsonValue &v : o.value(QStringLiteral("sources")).toArray()) {
        const QJsonObject x = v.toObject();
        SourceHealth h;
        h.source = x.value(QStringLiteral("source")).toString();
        h.topic = x.value(QStringLiteral("topic")).toString();
        h.partitions = int(countOf(x.value(QStringLiteral("partitions"))));
        h.events = countOf(x.value(QStringLiteral("events")));
        h.lastEventAt = timeOf(x.value(QStringLiteral("last_event_at")));
        if (x.value(QStringLiteral("lag")).isDouble())
            h.lag = countOf(x.value(QStringLiteral("lag")));
        h.observedAt = timeOf(x.value(QStringLiteral("observed_at")));
        h.observedPartitions = int(countOf(x.value(QStringLiteral("observed_partitions"))));
        if (x.value(QStringLiteral("events_per_second")).isDouble())
            h.perSecond = x.value(QStringLiteral("events_per_second")).toDouble();
        s.sources << h;
    }
    const QJsonObject dead = o.value(QStringLiteral("dead_letters")).toObject();
    s.openDeadLetters = countOf(dead.value(QStringLiteral("open")));
    s.oldestDeadLetterAt = timeOf(dead.value(QStringLiteral("oldest_open_at")));
    for (const QJsonValue &v : dead.value(QStringLiteral("newest")).toArray()) {
        const QJsonObject x = v.toObject();
        OpenDeadLetter d;
        d.id = countOf(x.value(QStringLiteral("id")));
        d.source = x.value(QStringLiteral("source")).toString();
        d.topic = x.value(QStringLiteral("topic")).toString();
        d.partition = int(countOf(x.value(QStringLiteral("partition"))));
        d.offset = countOf(x.value(QStringLiteral("offset")));
        d.parkedAt = timeOf(x.value(QStringLiteral("parked_at")));
        d.errorCode = x.value(QStringLiteral("error_code")).toString();
        d.kind = x.value(QStringLiteral("kind")).toString();
        s.newestDeadLetters << d;
    }
    const QJsonObject held = o.value(QStringLiteral("held")).toObject();
    s.heldEvents = countOf(held.value(QStringLiteral("events")));
    s.heldEntities = countOf(held.value(QStringLiteral("entities")));
    s.oldestHeldAt = timeOf(held.value(QStringLiteral("oldest_held_at")));
    for (const QJsonValue &v : o.value(QStringLiteral("invariant_checks")).toArray()) {
        const QJsonObject x = v.toObject();
        InvariantCheckSummary c;
        c.id = countOf(x.value(QStringLiteral("id")));
        c.checkedAt = timeOf(x.value(QStringLiteral("checked_at")));
        c.ok = x.value(QStringLiteral("ok")).toBool();
        for (const QJsonValue &f : x.value(QStringLiteral("failed")).toArray())
            c.failed << f.toString();
        s.invariantChecks << c;
    }
    const QJsonObject recon = o.value(QStringLiteral("recon")).toObject();
    s.openExceptions = countOf(recon.value(QStringLiteral("open")));
    s.overdueExceptions = countOf(recon.value(QStringLiteral("overdue")));
    s.oldestExceptionAt = timeOf(recon.value(QStringLiteral("oldest_open_at")));
    const QJsonObject audit = o.value(QStringLiteral("audit")).toObject();
    s.unsealedEvents = countOf(audit.value(QStringLiteral("unsealed")));
    s.oldestUnsealedAt = timeOf(audit.value(QStringLiteral("oldest_unsealed_at")));
    s.chainHead = countOf(audit.value(QStringLiteral("head")));
    const QJsonObject verification = audit.value(QStringLiteral("last_verification")).toObject();
    s.lastVerifiedAt = timeOf(verification.value(QStringLiteral("at")));
    s.lastVerificationOk = verification.value(QStringLiteral("ok")).toBool();
    s.lastVerificationReason = verification.value(QStringLiteral("reason")).toString();
    const QJsonObject sessions = o.value(QStringLiteral("sessions")).toObject();
    s.openSessions = countOf(sessions.value(QStringLiteral("open")));
    s.sessionsEnding = countOf(sessions.value(QStringLiteral("ending")));
    s.sessionsAtLimit = countOf(sessions.value(QStringLiteral("at_their_limit")));
    return s;
}

QList<HealthItem> assessHealth(const HealthSnapshot &s, const HealthContext &context,
                               const HealthLimits &limits)
{
    using Level = HealthItem::Level;
    const QDateTime now = context.now.isValid() ? context.now : s.at;
    const auto ago = [&](const QDateTime &t) { return t.isValid() ? t.secsTo(now) : 0; };
    QList<HealthItem> items;

    for (const SourceHealth &h : s.sources) {
        HealthItem item;
        item.key = QStringLiteral("source:%1/%2").arg(h.source, h.topic);
        item.title = tr("Source %1 (topic %2)").arg(h.source, h.topic);
        QStringList parts;
        parts << tr("%1, %2 taken")
                     .arg(counted(h.partitions, "%1 partition", "%1 partitions"),
                          counted(h.events, "%1 event", "%1 events"));
        if (h.lastEventAt.isValid())
            parts << tr("last batch %1 ago").arg(span(ago(h.lastEventAt)));
        if (!h.observedAt.isValid()) {
            item.level = Level::Unknown;
            parts << tr("lag unknown: no consumer has reported the stream's end");
        } else {
            const qint64 lag = h.lag.value_or(0);
            const qint64 silentFor = ago(h.observedAt);
            const bool silent = silentFor > limits.sourceSilentSeconds;
            parts << tr("lag %1 messages (seen %2 ago)").arg(lag).arg(span(silentFor));
            if (h.observedPartitions < h.partitions)
                parts << tr("%1 of its %2 partitions reported")
                             .arg(h.observedPartitions)
                             .arg(h.partitions);
            if (h.perSecond && !silent)
                parts << tr("%1 events/s").arg(*h.perSecond, 0, 'f', 1);
            if (lag >= limits.sourceLagBad || (lag > 0 && silent)) {
                item.level = Level::Bad;
                parts << (silent ? tr("no consumer is taking its backlog") : tr("far behind"));
            } else if (silent) {
                // Caught up when last seen, but a live consumer reports every few seconds.
                item.level = Level::Warning;
                parts << tr("no consumer has reported for %1").arg(span(silentFor));
            } else {
                item.level = lag >= limits.sourceLagWarning ? Level::Warning : Level::Ok;
            }
        }
        item.detail = parts.join(QStringLiteral("; "));
        items << item;
    }

    {
        HealthItem item;
        item.key = QStringLiteral("dead_letters");
        item.title = tr("Dead letters");
        item.target = HealthTarget::DeadLetters;
        if (s.openDeadLetters == 0) {
            item.level = Level::Ok;
            item.detail = tr("none open");
        } else {
            item.level = Level::Bad;
            item.detail = tr("%1 open, the oldest parked %2 ago: retry or discard each")
                              .arg(s.openDeadLetters)
                              .arg(span(ago(s.oldestDeadLetterAt)));
        }
        items << item;
    }
    {
        HealthItem item;
        item.key = QStringLiteral("held");
        item.title = tr("Held events");
        item.target = HealthTarget::None;
        if (s.heldEvents == 0) {
            item.level = Level::Ok;
            item.detail = tr("none waiting for a predecessor");
        } else {
            const bool old = ago(s.oldestHeldAt) > limits.heldWarningSeconds;
            item.level = old ? Level::Warning : Level::Ok;
            item.detail = tr("%1 of %2 wait for earlier numbers, the oldest for %3 "
                             "(ledgerctl deadletters held | skip)")
                              .arg(counted(s.heldEvents, "%1 event", "%1 events"),
                                   counted(s.heldEntities, "%1 entity", "%1 entities"),
                                   span(ago(s.oldestHeldAt)));
        }
        items << item;
    }
    {
        HealthItem item;
        item.key = QStringLiteral("invariants");
        item.title = tr("Ledger invariants");
        item.target = HealthTarget::Invariants;
        if (s.invariantChecks.isEmpty()) {
            item.level = Level::Warning;
            item.detail = tr("never checked (ledgerctl check, or Run checks here)");
        } else {
            const InvariantCheckSummary &last = s.invariantChecks.constFirst();
            if (!last.ok) {
                item.level = Level::Bad;
                item.detail =
                    tr("the last check (%1) failed: %2")
                        .arg(stamp(last.checkedAt), last.failed.join(QStringLiteral(", ")));
            } else if (ago(last.checkedAt) > qint64(limits.invariantAgeHours) * 3600) {
                item.level = Level::Warning;
                item.detail =
                    tr("all held at the last check, %1 ago").arg(span(ago(last.checkedAt)));
            } else {
                item.level = Level::Ok;
                item.detail =
                    tr("all held at the last check, %1 ago").arg(span(ago(last.checkedAt)));
            }
        }
        items << item;
    }
    {
        HealthItem item;
        item.key = QStringLiteral("reconciliation");
        item.title = tr("Reconciliation backlog");
        item.target = HealthTarget::Reconciliation;
        if (s.openExceptions == 0) {
            item.level = Level::Ok;
            item.detail = tr("no open exception");
        } else {
            item.level = s.overdueExceptions > 0 ? Level::Bad : Level::Warning;
            item.detail =
                tr("%1, %2 overdue; the oldest raised %3 ago")
                    .arg(counted(s.openExceptions, "%1 open exception", "%1 open exceptions"))
                    .arg(s.overdueExceptions)
                    .arg(span(ago(s.oldestExceptionAt)));
        }
        items << item;
    }
    {
        HealthItem item;
        item.key = QStringLiteral("audit_chain");
        item.title = tr("Audit chain");
        item.target = HealthTarget::Audit;
        QStringList parts;
        parts << counted(s.chainHead, "%1 event sealed", "%1 events sealed");
        item.level = Level::Ok;
        if (s.unsealedEvents > 0) {
            const bool stuck = ago(s.oldestUnsealedAt) > limits.unsealedBadSeconds;
            parts << tr("%1 not yet sealed, the oldest for %2")
                         .arg(s.unsealedEvents)
                         .arg(span(ago(s.oldestUnsealedAt)));
            if (stuck)
                item.level = Level::Bad;
        }
        if (!s.lastVerifiedAt.isValid()) {
            parts << tr("never verified");
            item.level = qMax(item.level, Level::Warning);
        } else if (!s.lastVerificationOk) {
            parts << tr("the last verification (%1) found a break: %2")
                         .arg(stamp(s.lastVerifiedAt), s.lastVerificationReason);
            item.level = Level::Bad;
        } else {
            parts << tr("verified %1 ago").arg(span(ago(s.lastVerifiedAt)));
            if (ago(s.lastVerifiedAt) > qint64(limits.verificationAgeDays) * 86400)
                item.level = qMax(item.level, Level::Warning);
        }
        item.detail = parts.join(QStringLiteral("; "));
        items << item;
    }
    {
        HealthItem item;
        item.key = QStringLiteral("reporting_store");
        item.title = tr("Reporting store");
        item.target = HealthTarget::Reports;
        if (!context.storeIsSeparate) {
            item.level = Level::Ok;
            item.detail = tr("the ledger serves reports (no separate store configured)");
        } else if (!context.storeError.isEmpty()) {
            item.level = Level::Bad;
            item.detail = tr("unreachable: %1").arg(context.storeError);
        } else if (!context.storeReplicatedAt.isValid()) {
            item.level = Level::Bad;
            item.detail = tr("has not heard from the ledger");
        } else {
            const qint64 lag = qMax<qint64>(0, context.storeReplicatedAt.secsTo(now));
            item.level = lag > context.storeMaxLagSeconds ? Level::Bad : Level::Ok;
            item.detail = tr("%1 behind the ledger (at most %2 s allowed)")
                              .arg(span(lag))
                              .arg(context.storeMaxLagSeconds);
        }
        items << item;
    }
    {
        HealthItem item;
        item.key = QStringLiteral("sessions");
        item.title = tr("Sessions");
        item.target = HealthTarget::Session;
        QStringList parts;
        item.level = Level::Ok;
        if (context.sessionSecondsLeft) {
            parts << tr("yours ends in %1").arg(span(*context.sessionSecondsLeft));
            if (*context.sessionSecondsLeft <= limits.sessionWarningSeconds)
                item.level = Level::Warning;
        }
        parts << tr("%1 open, %2 ending soon, %3 at their renewal limit")
                     .arg(s.openSessions)
                     .arg(s.sessionsEnding)
                     .arg(s.sessionsAtLimit);
        item.detail = parts.join(QStringLiteral("; "));
        items << item;
    }
    return items;
}

} // namespace ledger
