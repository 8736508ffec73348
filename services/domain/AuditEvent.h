#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QString>

#include <optional>

namespace ledger {

// One row of audit.events as the auditor's log shows it (details and client info as the
// JSON text the database stores). seq is empty while the event is not yet sealed.
struct AuditEvent
{
    qint64 id = 0;
    std::optional<qint64> seq;
    QDateTime occurredAt; // UTC
    QString operatorName;
    QString sessionRole;
    QString action;
    QString objectType;
    QString objectId; // null when the event names no object
    QString details;  // JSON object text
    QString clientInfo;
    QByteArray prevHash; // 32 bytes, empty while unsealed
    QByteArray hash;
};

// Server-side filters of the audit log; empty members do not filter.
struct AuditFilter
{
    QString operatorName;
    QString action;     // exact ("reversal.approved") or a prefix ending in '.' ("reversal.")
    QString objectType; // exact
    QString objectId;   // exact
    QDateTime from;     // inclusive, UTC
    QDateTime until;    // exclusive, UTC
    QString text;       // case-insensitive substring of the details JSON

    bool isEmpty() const
    {
        return operatorName.isEmpty() && action.isEmpty() && objectType.isEmpty() &&
               objectId.isEmpty() && !from.isValid() && !until.isValid() && text.isEmpty();
    }
};

} // namespace ledger
