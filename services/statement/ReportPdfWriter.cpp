#include "ReportPdfWriter.h"

#include "domain/InstantText.h"
#include "report/ReportTables.h"

#include <QFont>
#include <QFontMetricsF>
#include <QObject>
#include <QPageLayout>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QRegularExpression>
#include <QTextOption>
#include <QTimeZone>

#include <algorithm>

namespace ledger {

namespace {

// A column of numbers (amounts, counts, ranks, dates of a period excepted): right-aligned.
bool isNumeric(const QList<QStringList> &rows, int column)
{
    static const QRegularExpression number(QStringLiteral(R"(^-?[0-9][0-9,]*(\.[0-9]+)?$)"));
    bool any = false;
    for (const QStringList &r : rows) {
        if (column >= r.size() || r.at(column).isEmpty())
            continue;
        if (!number.match(r.at(column)).hasMatch())
            return false;
        any = true;
    }
    return any;
}

} // namespace

Result<int> ReportPdfWriter::write(const ReportResult &report, QIODevice *device) const
{
    const ReportTable &t = report.table;
    QPdfWriter pdf(device);
    pdf.setResolution(300);
    pdf.setTitle(t.title);
    pdf.setCreator(QStringLiteral("Ledger Console"));
    pdf.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Landscape,
                                  QMarginsF(12, 12, 12, 12), QPageLayout::Millimeter));

    QFont body(QStringLiteral("DejaVu Sans"));
    body.setPointSizeF(7.5);
    QFont bold = body;
    bold.setBold(true);
    QFont heading = bold;
    heading.setPointSizeF(11);
    const QFontMetricsF bodyMetrics(body, &pdf);
    const QFontMetricsF boldMetrics(bold, &pdf);
    const QFontMetricsF headingMetrics(heading, &pdf);
    const qreal line = boldMetrics.height() * 1.25;

    const QRectF page(QPointF(0, 0), QSizeF(pdf.width(), pdf.height()));
    QStringList meta;
    meta << QObject::tr("Read from %1 at %2.")
                .arg(ReportTables::sourceText(report.source, report.source.isStore &&
                                                                 !(report.request.knownAt &&
                                                                   report.request.takesKnownAt())),
                     formatInstant(report.ranAt, QTimeZone::utc()));
    if (!report.storeRefused.isEmpty())
        meta << QObject::tr("Run on the ledger because %1.").arg(report.storeRefused);
    meta << QObject::tr("On the ledger's audit chain as report.run event %1; exported by %2.")
                .arg(report.auditEvent)
                .arg(m_exportedBy.isEmpty() ? QObject::tr("(unknown)") : m_exportedBy);

    // Column widths: each column's widest cell, scaled down together if the page is narrower.
    const int columns = int(t.columns.size());
    QList<qreal> widths(columns, 0);
    QList<bool> right(columns, false);
    QList<QStringList> all = t.rows;
    all += t.totalRows;
    for (int c = 0; c < columns; ++c) {
        widths[c] = boldMetrics.horizontalAdvance(t.columns.at(c));
        for (const QStringList &r : all)
            if (c < r.size())
                widths[c] = std::max(widths[c], boldMetrics.horizontalAdvance(r.at(c)));
        widths[c] += boldMetrics.horizontalAdvance(QStringLiteral("  "));
        right[c] = isNumeric(all, c);
    }
    qreal total = 0;
    for (qreal w : widths)
        total += w;
    if (total > page.width())
        for (qreal &w : widths)
            w *= page.width() / total;

    const qreal top = headingMetrics.height() * 1.4 + line * qreal(meta.size() + 1);
    const qreal foot = line * 1.5;
    const int perPage = std::max(1, int((page.height() - top - foot) / line));
    const int tableLines = int(all.size());
    const int noteLines = int(t.notes.size()) + (t.problem.isEmpty() ? 0 : 1) + 1;
    const int pages = std::max(1, (tableLines + noteLines + perPage - 1) / perPage);

    QPainter p;
    if (!p.begin(&pdf))
        return Error::make(Error::Kind::Io,
                           QObject::tr("The PDF could not be started. Nothing was exported."));
    int row = 0;
    int noteRow = 0;
    for (int pageNo = 1; pageNo <= pages; ++pageNo) {
        if (pageNo > 1)
            pdf.newPage();
        qreal y = 0;
        p.setPen(Qt::black);
        p.setFont(heading);
        p.drawText(QRectF(0, y, page.width(), headingMetrics.height()), Qt::AlignLeft, t.title);
        y += headingMetrics.height() * 1.4;
        p.setFont(body);
        for (const QString &m : meta) {
            p.drawText(QRectF(0, y, page.width(), line), Qt::AlignLeft | Qt::AlignVCenter,
                       bodyMetrics.elidedText(m, Qt::ElideRight, page.width()));
            y += line;
        }
        const auto drawRow = [&](const QStringList &cells, bool strong) {
            p.setFont(strong ? bold : body);
            const QFontMetricsF &m = strong ? boldMetrics : bodyMetrics;
            qreal x = 0;
            for (int c = 0; c < columns; ++c) {
                const QString text = c < cells.size() ? cells.at(c) : QString();
                const qreal pad = m.horizontalAdvance(QLatin1Char(' '));
                const QRectF cell(x + pad, y, widths[c] - 2 * pad, line);
                p.drawText(
                    cell, m.elidedText(text, Qt::ElideRight, cell.width()),
                    QTextOption((right[c] ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter));
                x += widths[c];
            }
            y += line;
        };
        y += line * 0.5;
        drawRow(t.columns, true);
        p.drawLine(QPointF(0, y), QPointF(page.width(), y));
        int used = 0;
        for (; row < tableLines && used < perPage; ++row, ++used) {
            if (row == int(t.rows.size()))
                p.drawLine(QPointF(0, y), QPointF(page.width(), y));
            drawRow(all.at(row), row >= int(t.rows.size()));
        }
        if (row >= tableLines) {
            if (used < perPage) {
                y += line * 0.5;
                ++used;
            }
            p.setFont(body);
            for (; noteRow < int(t.notes.size()) && used < perPage; ++noteRow, ++used) {
                p.drawText(QRectF(0, y, page.width(), line), Qt::AlignLeft | Qt::AlignVCenter,
                           t.notes.at(noteRow));
                y += line;
            }
            if (noteRow == int(t.notes.size()) && !t.problem.isEmpty() && used < perPage) {
                p.setPen(Qt::red);
                p.setFont(bold);
                p.drawText(QRectF(0, y, page.width(), line), Qt::AlignLeft | Qt::AlignVCenter,
                           t.problem);
                p.setPen(Qt::black);
                ++noteRow;
            }
        }
        p.setFont(body);
        p.drawText(QRectF(0, page.height() - line, page.width(), line),
                   Qt::AlignRight | Qt::AlignVCenter,
                   QObject::tr("page %1 of %2").arg(pageNo).arg(pages));
    }
    p.end();
    return pages;
}

} // namespace ledger
