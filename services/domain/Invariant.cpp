#include "Invariant.h"

namespace ledger {

QJsonObject InvariantResult::toJson() const
{
    QJsonObject o{{QStringLiteral("invariant"), invariant},
                  {QStringLiteral("title"), title},
                  {QStringLiteral("ok"), ok},
                  {QStringLiteral("checked"), checked},
                  {QStringLiteral("failures"), failures},
                  {QStringLiteral("seconds"), seconds}};
    if (!ok)
        o.insert(QStringLiteral("first_failure"), firstFailure);
    if (reported)
        o.insert(QStringLiteral("reported"), true);
    return o;
}

InvariantResult InvariantResult::fromJson(const QJsonObject &o)
{
    InvariantResult r;
    r.invariant = o.value(QStringLiteral("invariant")).toString();
    r.title = o.value(QStringLiteral("title")).toString();
    r.ok = o.value(QStringLiteral("ok")).toBool();
    r.checked = o.value(QStringLiteral("checked")).toInteger();
    r.failures = o.value(QStringLiteral("failures")).toInteger();
    r.firstFailure = o.value(QStringLiteral("first_failure")).toString();
    r.seconds = o.value(QStringLiteral("seconds")).toDouble();
    r.reported = o.value(QStringLiteral("reported")).toBool();
    return r;
}

} // namespace ledger
