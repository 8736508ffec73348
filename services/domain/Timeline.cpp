#include "Timeline.h"

#include <QCoreApplication>
#include <QStringList>

namespace ledger {

QString toString(TimelineOrder order)
{
    return order == TimelineOrder::Recorded ? QStringLiteral("recorded")
                                            : QStringLiteral("effective");
}

QString TimelineEntry::marks() const
{
    QStringList out;
    if (backdated)
        out << QCoreApplication::translate("ledger", "backdated");
    if (futureDated)
        out << QCoreApplication::translate("ledger", "future-dated");
    if (reverses)
        out << QCoreApplication::translate("ledger", "reversal of #%1").arg(reverses);
    if (reversedBy)
        out << QCoreApplication::translate("ledger", "reversed by #%1").arg(reversedBy);
    if (pendingRequestId)
        out << QCoreApplication::translate("ledger", "reversal requested (request %1)")
                   .arg(pendingRequestId);
    return out.join(QStringLiteral(", "));
}

} // namespace ledger
