#pragma once

#include <QtGlobal>

namespace ledger {

// How a backfill (old events loaded while the ledger takes live ones) yields the database:
// after each of its batches it pauses so that it spends at most `share` of its time in the
// database, and twice that long while its batches run more than three times slower than
// the fastest one seen (the database is busy with other work: live postings waiting on the
// accounts the backfill holds, say). Pauses are at most 10 s.
class BackfillPacer
{
public:
    explicit BackfillPacer(double share = 0.25);

    // The pause, in milliseconds, after a batch that took `batchMs`.
    qint64 pauseAfter(qint64 batchMs);

    double share() const { return m_share; }
    qint64 fastestMs() const { return m_fastest; } // -1 before the first batch

    static constexpr qint64 kMaxPauseMs = 10000;

private:
    double m_share;
    qint64 m_fastest = -1;
};

} // namespace ledger
