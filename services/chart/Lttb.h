#pragma once

#include <QList>
#include <QPointF>

namespace ledger {

// Largest-Triangle-Three-Buckets downsampling (Steinarsson, 2013): keeps the first and the
// last point and, from each of threshold - 2 equal buckets in between, the point that
// makes the largest triangle with the point kept before it and the average of the next
// bucket. Shapes (peaks, troughs) survive where plain decimation would drop them.
// Points must be sorted by x. With threshold >= size, or threshold < 3, returns the input
// unchanged. O(n), no allocation beyond the result.
QList<QPointF> lttb(const QList<QPointF> &points, int threshold);

} // namespace ledger
