#include "Lttb.h"

#include <cmath>

namespace ledger {

QList<QPointF> lttb(const QList<QPointF> &points, int threshold)
{
    const qsizetype n = points.size();
    if (threshold >= n || threshold < 3)
        return points;

    QList<QPointF> out;
    out.reserve(threshold);
    out.append(points.first());

    // Buckets of the points between the first and the last.
    const double every = double(n - 2) / double(threshold - 2);
    qsizetype a = 0; // index of the point kept last
    for (int i = 0; i < threshold - 2; ++i) {
        // The next bucket's average (the last point itself for the last bucket).
        qsizetype nextStart = qsizetype(std::floor((i + 1) * every)) + 1;
        qsizetype nextEnd = qMin(qsizetype(std::floor((i + 2) * every)) + 1, n);
        if (nextStart >= n - 1) {
            nextStart = n - 1;
            nextEnd = n;
        }
        double avgX = 0;
        double avgY = 0;
        for (qsizetype j = nextStart; j < nextEnd; ++j) {
            avgX += points[j].x();
            avgY += points[j].y();
        }
        const double count = double(nextEnd - nextStart);
        avgX /= count;
        avgY /= count;

        // This bucket: the point with the largest triangle (a, point, next average).
        const qsizetype start = qsizetype(std::floor(i * every)) + 1;
        const qsizetype end = qMin(qsizetype(std::floor((i + 1) * every)) + 1, n - 1);
        const QPointF &pa = points[a];
        double maxArea = -1;
        qsizetype chosen = start;
        for (qsizetype j = start; j < end; ++j) {
            const double area = std::abs((pa.x() - avgX) * (points[j].y() - pa.y()) -
                                         (pa.x() - points[j].x()) * (avgY - pa.y()));
            if (area > maxArea) {
                maxArea = area;
                chosen = j;
            }
        }
        out.append(points[chosen]);
        a = chosen;
    }
    out.append(points.last());
    return out;
}

} // namespace ledger
