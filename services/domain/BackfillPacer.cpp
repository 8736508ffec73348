#include "BackfillPacer.h"

#include <cmath>

namespace ledger {

BackfillPacer::BackfillPacer(double share)
    : m_share(qBound(0.01, share, 1.0))
{}

qint64 BackfillPacer::pauseAfter(qint64 batchMs)
{
    batchMs = qMax<qint64>(0, batchMs);
    m_fastest = m_fastest < 0 ? batchMs : qMin(m_fastest, batchMs);
    double pause = double(batchMs) * (1.0 - m_share) / m_share;
    if (batchMs > 3 * m_fastest + 10) // slowed down by other work: yield more
        pause = 2.0 * qMax(pause, double(batchMs));
    return qMin<qint64>(kMaxPauseMs, qint64(std::ceil(pause)));
}

} // namespace ledger
