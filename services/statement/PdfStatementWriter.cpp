#include "PdfStatementWriter.h"

#include "domain/Money.h"

#include <QFont>
#include <QFontMetricsF>
#include <QGlyphRun>
#include <QHash>
#include <QPageLayout>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QRawFont>
#include <QSaveFile>
#include <QTimeZone>

#include <qrencode.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

namespace ledger {

namespace {

// Geometry in millimetres. Every height is fixed, so the number of rows on a page (and so
// the page count) follows from the page size alone, before anything is drawn.
constexpr int kDpi = 720; // device units: a tenth of a point
constexpr qreal kMarginSide = 15.0;
constexpr qreal kMarginTop = 12.0;
constexpr qreal kMarginBottom = 10.0;
constexpr qreal kFirstHeaderHeight = 46.0; // institution, account, period, summary block
constexpr qreal kNextHeaderHeight = 13.0;  // institution and account on one line each
constexpr qreal kTableHeaderHeight = 6.0;
constexpr qreal kRowHeight = 4.2;
constexpr qreal kFooterHeight = 25.0; // rule, issue lines, QR code
constexpr qreal kQrSide = 22.0;       // the QR code with its quiet zone
constexpr int kQrQuietModules = 4;    // the quiet zone the QR specification asks for
constexpr qreal kCellPadding = 1.2;
constexpr QLatin1StringView kDateGap("  "); // between a row's booking and value dates

constexpr qreal kTableFontPt = 7.5;
constexpr qreal kTextFontPt = 8.5;
constexpr qreal kInstitutionFontPt = 14.0;

QPageSize qPageSize(PdfStatementWriter::PageSize size)
{
    return QPageSize(size == PdfStatementWriter::PageSize::Letter ? QPageSize::Letter
                                                                  : QPageSize::A4);
}

qreal pageHeightMm(PdfStatementWriter::PageSize size)
{
    return qPageSize(size).size(QPageSize::Millimeter).height();
}

// Lines that fit between the header and the footer of a page, with the brought-forward (or
// opening) row above them and the carried-forward (or closing) row below.
int linesBetween(PdfStatementWriter::PageSize size, qreal headerHeight)
{
    const qreal room = pageHeightMm(size) - kMarginTop - kMarginBottom - kFooterHeight -
                       headerHeight - kTableHeaderHeight - 2 * kRowHeight;
    return std::max(1, int(room / kRowHeight));
}

QTimeZone zoneNamed(const QString &name)
{
    if (name.isEmpty() || name == QLatin1String("UTC"))
        return QTimeZone::utc();
    return QTimeZone(name.toUtf8());
}

QString offsetText(int seconds)
{
    const QChar sign = seconds < 0 ? QLatin1Char('-') : QLatin1Char('+');
    const int minutes = std::abs(seconds) / 60;
    return sign + QStringLiteral("%1:%2")
                      .arg(minutes / 60, 2, 10, QLatin1Char('0'))
                      .arg(minutes % 60, 2, 10, QLatin1Char('0'));
}

// "2024-03-31 23:59:59 +02:00": the time in the statement's zone, with its offset.
QString zoneTime(const QDateTime &utc, const QTimeZone &zone)
{
    if (!utc.isValid())
        return QStringLiteral("(not set)");
    const QDateTime local = utc.toTimeZone(zone);
    return local.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss ")) +
           offsetText(local.offsetFromUtc());
}

// Whole days when the period runs from midnight to midnight in its zone ("2024-01-01 to
// 2024-01-31", both included), exact times otherwise (end excluded).
QString periodText(const QDateTime &from, const QDateTime &to, const QTimeZone &zone)
{
    const QDateTime f = from.toTimeZone(zone);
    const QDateTime t = to.toTimeZone(zone);
    if (f.isValid() && t.isValid() && f.time() == QTime(0, 0) && t.time() == QTime(0, 0) &&
        f.date() < t.date())
        return f.date().toString(Qt::ISODate) + QStringLiteral(" to ") +
               t.date().addDays(-1).toString(Qt::ISODate);
    return zoneTime(from, zone) + QStringLiteral(" to ") + zoneTime(to, zone) +
           QStringLiteral(" (end excluded)");
}

// The local date of an instant as text, remembering the last day's bounds: consecutive
// lines mostly fall on the same day, so most rows need no time zone conversion at all.
class LocalDay
{
public:
    explicit LocalDay(QTimeZone zone)
        : m_zone(std::move(zone))
    {}

    const QString &text(const QDateTime &utc)
    {
        if (!utc.isValid()) {
            m_start = m_end = 0;
            m_text.clear();
            return m_text;
        }
        const qint64 ms = utc.toMSecsSinceEpoch();
        if (ms >= m_start && ms < m_end)
            return m_text;
        const QDate day = utc.toTimeZone(m_zone).date();
        m_text = day.toString(Qt::ISODate);
        m_start = QDateTime(day, QTime(0, 0), m_zone).toMSecsSinceEpoch();
        m_end = QDateTime(day.addDays(1), QTime(0, 0), m_zone).toMSecsSinceEpoch();
        if (!(ms >= m_start && ms < m_end)) { // a day that starts at no midnight: no cache
            m_start = ms;
            m_end = ms + 1;
        }
        return m_text;
    }

private:
    QTimeZone m_zone;
    qint64 m_start = 0;
    qint64 m_end = 0;
    QString m_text;
};

// The glyph and advance of each character that a font draws one for one, looked up once:
// QPainter::drawText lays out every string anew (itemising, shaping, a text item per call),
// which was about a third of the time of a long statement. Only letters, digits,
// punctuation, symbols and the plain space of the Common, Latin, Greek and Cyrillic scripts
// qualify, and only when the font itself has a glyph for them: these are the characters Qt
// draws without shaping for a PreferNoShaping font with kerning off (one glyph each, the
// font's own advance). Anything else (marks, format characters, other scripts, a glyph
// from a fallback font) is left to drawText.
class GlyphTable
{
public:
    struct Glyph
    {
        quint32 index = 0; // 0: drawn by drawText
        qreal advance = 0;
    };

    explicit GlyphTable(const QRawFont &font)
        : m_font(font)
    {}

    const QRawFont &rawFont() const { return m_font; }

    // The glyph of `c`, or nullptr when `c` needs text layout.
    const Glyph *find(QChar c)
    {
        // Looked up a block of 256 code units at a time, on first use.
        std::unique_ptr<Block> &block = m_blocks[c.unicode() >> 8];
        if (!block)
            block = lookUp(c.unicode() & 0xff00);
        const Glyph &glyph = (*block)[c.unicode() & 0xff];
        return glyph.index != 0 ? &glyph : nullptr;
    }

    // The width of `text`, or a negative number when some character needs text layout.
    qreal width(QStringView text)
    {
        qreal sum = 0;
        for (const QChar c : text) {
            const Glyph *glyph = find(c);
            if (!glyph)
                return -1;
            sum += glyph->advance;
        }
        return sum;
    }

private:
    using Block = std::array<Glyph, 256>;

    static bool drawnOneForOne(QChar c)
    {
        if (c.isSurrogate())
            return false;
        switch (c.script()) {
        case QChar::Script_Common:
        case QChar::Script_Latin:
        case QChar::Script_Greek:
        case QChar::Script_Cyrillic:
            break;
        default:
            return false;
        }
        switch (c.category()) {
        case QChar::Letter_Uppercase:
        case QChar::Letter_Lowercase:
        case QChar::Letter_Titlecase:
        case QChar::Letter_Modifier:
        case QChar::Letter_Other:
        case QChar::Number_DecimalDigit:
        case QChar::Number_Letter:
        case QChar::Number_Other:
        case QChar::Punctuation_Connector:
        case QChar::Punctuation_Dash:
        case QChar::Punctuation_Open:
        case QChar::Punctuation_Close:
        case QChar::Punctuation_InitialQuote:
        case QChar::Punctuation_FinalQuote:
        case QChar::Punctuation_Other:
        case QChar::Symbol_Math:
        case QChar::Symbol_Currency:
        case QChar::Symbol_Modifier:
        case QChar::Symbol_Other:
            return true;
        default:
            return c == QLatin1Char(' ');
        }
    }

    std::unique_ptr<Block> lookUp(char16_t first) const
    {
        auto block = std::make_unique<Block>();
        for (int i = 0; i < 256; ++i) {
            const QChar c(char16_t(first + i));
            if (!drawnOneForOne(c))
                continue;
            quint32 index = 0;
            int count = 1;
            QPointF advance;
            if (m_font.glyphIndexesForChars(&c, 1, &index, &count) && count == 1 && index != 0 &&
                m_font.advancesForGlyphIndexes(&index, &advance, 1))
                (*block)[size_t(i)] = {index, advance.x()};
        }
        return block;
    }

    QRawFont m_font;
    std::array<std::unique_ptr<Block>, 256> m_blocks; // by the code unit's high byte
};

// A font with its metrics and glyphs on the PDF device, so that most widths are sums of
// advances instead of text layout. Kerning is off: a table reads better without it and the
// sums are then exact.
class MeasuredFont
{
public:
    MeasuredFont(const QFont &font, QPaintDevice *device)
        : m_font(font)
        , m_metrics(font, device)
        , m_glyphs(QRawFont::fromFont(QFont(font, device)))
    {
        m_ascent = m_metrics.ascent();
        m_height = m_metrics.ascent() + m_metrics.descent();
    }

    const QFont &font() const { return m_font; }
    qreal ascent() const { return m_ascent; }
    qreal height() const { return m_height; }
    GlyphTable &glyphs() const { return m_glyphs; }

    qreal width(const QString &text) const
    {
        const qreal sum = m_glyphs.width(text);
        return sum >= 0 ? sum : m_metrics.horizontalAdvance(text);
    }

    // The text, or as much of it as fits in `width` followed by an ellipsis.
    QString fitted(const QString &text, qreal width) const
    {
        if (this->width(text) <= width)
            return text;
        return m_metrics.elidedText(text, Qt::ElideRight, width);
    }

private:
    QFont m_font;
    QFontMetricsF m_metrics;
    mutable GlyphTable m_glyphs; // a cache, filled as characters are first measured or drawn
    qreal m_ascent = 0;
    qreal m_height = 0;
};

// Text in one font gathered into a single glyph run, drawn with one QPainter call: one PDF
// text object for many texts (a page's rows) instead of one per text, each with its own
// graphics state and font selection, and the same glyphs at the same places.
class GlyphBatch
{
public:
    // Adds `text` with its first glyph's origin at `at`; false (adding nothing) when a
    // character needs text layout.
    bool add(GlyphTable &table, QStringView text, QPointF at)
    {
        const size_t start = m_indexes.size();
        for (const QChar c : text) {
            const GlyphTable::Glyph *glyph = table.find(c);
            if (!glyph) {
                m_indexes.resize(start);
                m_positions.resize(start);
                return false;
            }
            m_indexes.push_back(glyph->index);
            m_positions.push_back(at);
            at.rx() += glyph->advance;
        }
        return true;
    }

    void draw(QPainter &painter, const QRawFont &font)
    {
        if (!m_indexes.empty()) {
            QGlyphRun run;
            run.setRawFont(font);
            // Not copied: the run lives only for this call.
            run.setRawData(m_indexes.data(), m_positions.data(), int(m_indexes.size()));
            painter.drawGlyphRun(QPointF(0, 0), run);
        }
        m_indexes.clear(); // keeps the capacity for the next run
        m_positions.clear();
    }

private:
    std::vector<quint32> m_indexes;
    std::vector<QPointF> m_positions;
};

// The reference's QR code: its width in modules and its dark modules as rectangles in
// module units, runs of a row merged and equal runs of consecutive rows merged, so that a
// page gets a couple of hundred "re" operators rather than a path of thousands of points.
// Width 0 for no reference.
struct QrCode
{
    int width = 0;
    QList<QRect> modules;
};

Result<QrCode> qrCodeFor(const QString &reference)
{
    QrCode qr;
    if (reference.isEmpty())
        return qr;
    const QByteArray utf8 = reference.toUtf8();
    std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
        QRcode_encodeString(utf8.constData(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
    if (!code) {
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The verification reference cannot be made into a QR "
                                          "code (%1 bytes); use a shorter reference.")
                               .arg(utf8.size()),
                           QString::fromLocal8Bit(strerror(errno)));
    }
    qr.width = code->width;
    QHash<std::pair<int, int>, qsizetype> open; // run (first, end) -> rectangle ending on row - 1
    for (int row = 0; row < qr.width; ++row) {
        const unsigned char *modules = code->data + size_t(row) * size_t(qr.width);
        QHash<std::pair<int, int>, qsizetype> next;
        for (int column = 0; column < qr.width;) {
            if (!(modules[column] & 1)) {
                ++column;
                continue;
            }
            int end = column;
            while (end < qr.width && (modules[end] & 1))
                ++end;
            const std::pair<int, int> run{column, end};
            const auto above = open.constFind(run);
            if (above != open.cend()) {
                qr.modules[*above].setHeight(qr.modules[*above].height() + 1);
                next.insert(run, *above);
            } else {
                qr.modules.append(QRect(column, row, end - column, 1));
                next.insert(run, qr.modules.size() - 1);
            }
            column = end;
        }
        open = std::move(next);
    }
    return qr;
}

enum Column { BookingDate, ValueDate, Description, Reference, Debit, Credit, Balance, ColumnCount };

// Draws one statement. Everything that does not change from row to row (fonts, metrics,
// column edges, labels, the QR code's path) is made once in the constructor.
class StatementPainter
{
public:
    StatementPainter(const Statement &statement, PdfStatementWriter::PageSize size,
                     QPdfWriter &writer, QPainter &painter, const QrCode &qr, int pageCount);

    void drawPage(int page, qsizetype firstLine, qsizetype lineCount);

private:
    qreal mm(qreal millimetres) const { return millimetres * kDpi / 25.4; }

    void drawFirstHeader(qreal top);
    void drawNextHeader(qreal top);
    void drawTableHeader(qreal top);
    void drawLine(qreal top, const StatementLine &line);
    void drawSpecialRow(qreal top, const QString &label, const QString &debit,
                        const QString &credit, qint64 balance);
    void drawFooter(int page);

    // Text goes into m_batch while it comes in one font and needs no text layout, and is
    // drawn when the font changes, before a text that needs layout (so that the page's
    // content keeps the reading order, which some viewers select text by) and at the end of
    // the page.
    void drawText(const MeasuredFont &font, QPointF at, const QString &text);
    void flushText();
    void drawLeft(const MeasuredFont &font, Column column, qreal top, qreal height,
                  const QString &text);
    void drawRight(const MeasuredFont &font, Column column, qreal top, qreal height,
                   const QString &text);
    qreal baseline(const MeasuredFont &font, qreal top, qreal height) const
    {
        return std::round(top + (height - font.height()) / 2 + font.ascent());
    }
    QString amount(qint64 minor) const { return Money::formatMinor(minor, m_statement.exponent); }
    // The magnitude as text, without negating (the minimum has no positive counterpart).
    QString magnitude(qint64 minor) const
    {
        QString text = amount(minor);
        if (text.startsWith(QLatin1Char('-')))
            text.remove(0, 1);
        return text;
    }

    const Statement &m_statement;
    QPainter &m_painter;
    QRect m_qrArea;         // the symbol and its quiet zone, in device units
    QList<QRect> m_qrRects; // dark modules in device units (whole units: short PDF numbers)
    int m_pageCount;
    QTimeZone m_zone;
    qreal m_left;
    qreal m_right;
    qreal m_pageHeight;
    int m_firstCapacity;
    int m_nextCapacity;

    MeasuredFont m_table;
    MeasuredFont m_tableBold;
    MeasuredFont m_text;
    MeasuredFont m_textBold;
    MeasuredFont m_institution;
    std::array<qreal, ColumnCount + 1> m_edges{}; // left edge of each column, then the right end
    QPen m_rulePen;
    QPen m_textPen;

    GlyphBatch m_batch;
    const MeasuredFont *m_batchFont = nullptr; // the font of the glyphs in m_batch

    LocalDay m_bookingDay;
    LocalDay m_valueDay;
    QString m_zoneNote;
    QString m_accountLine;
    QString m_periodLine;
    QString m_continuationLine;
    QString m_knownAtLine;
    QString m_issueLine;
    QString m_referenceLine;
};

QFont tableFont(qreal points, bool bold)
{
    QFont font;
    font.setFamilies({QStringLiteral("DejaVu Sans"), QStringLiteral("Noto Sans"),
                      QStringLiteral("Liberation Sans")});
    font.setStyleHint(QFont::SansSerif);
    font.setPointSizeF(points);
    font.setBold(bold);
    font.setKerning(false);
    // Latin, Greek and Cyrillic drawn without shaping: no ligatures, so that the text copied
    // or searched in a viewer is the text itself ("fi", not U+FB01), and much faster for
    // long tables. Scripts that need shaping (Arabic, Hebrew marks, Indic) are still shaped.
    font.setStyleStrategy(QFont::PreferNoShaping);
    // Whole advances in device units (a tenth of a point at kDpi): Qt's PDF engine writes a
    // position per glyph, and "48" instead of "48.015625" makes a fifth less content to
    // deflate. The glyphs embedded are the font's own outlines either way.
    font.setHintingPreference(QFont::PreferFullHinting);
    return font;
}

StatementPainter::StatementPainter(const Statement &statement, PdfStatementWriter::PageSize size,
                                   QPdfWriter &writer, QPainter &painter, const QrCode &qr,
                                   int pageCount)
    : m_statement(statement)
    , m_painter(painter)
    , m_pageCount(pageCount)
    , m_zone(zoneNamed(statement.timeZone))
    , m_table(tableFont(kTableFontPt, false), &writer)
    , m_tableBold(tableFont(kTableFontPt, true), &writer)
    , m_text(tableFont(kTextFontPt, false), &writer)
    , m_textBold(tableFont(kTextFontPt, true), &writer)
    , m_institution(tableFont(kInstitutionFontPt, true), &writer)
    , m_bookingDay(m_zone)
    , m_valueDay(m_zone)
{
    const QSizeF pageMm = qPageSize(size).size(QPageSize::Millimeter);
    m_left = mm(kMarginSide);
    m_right = mm(pageMm.width() - kMarginSide);
    m_pageHeight = mm(pageMm.height());
    m_firstCapacity = linesBetween(size, kFirstHeaderHeight);
    m_nextCapacity = linesBetween(size, kNextHeaderHeight);

    // Amount columns as wide as the widest amount this statement prints, so that no amount
    // is ever cut; the description takes what is left.
    qint64 widest = std::max({std::abs(statement.openingMinor), std::abs(statement.closingMinor),
                              std::abs(statement.creditsMinor), std::abs(statement.debitsMinor)});
    bool negativeBalance = statement.openingMinor < 0 || statement.closingMinor < 0;
    for (const StatementLine &line : statement.lines) {
        widest = std::max({widest,
                           line.amountMinor == std::numeric_limits<qint64>::min()
                               ? std::numeric_limits<qint64>::max()
                               : std::abs(line.amountMinor),
                           line.balanceMinor == std::numeric_limits<qint64>::min()
                               ? std::numeric_limits<qint64>::max()
                               : std::abs(line.balanceMinor)});
        negativeBalance = negativeBalance || line.balanceMinor < 0;
    }
    const qreal pad = mm(kCellPadding);
    // Amounts get more room on their left than text cells: two full amounts side by side (the
    // totals row) must not read as one number.
    const qreal amountWidth =
        mm(2) +
        std::max({m_tableBold.width(amount(widest)), m_tableBold.width(QStringLiteral("Balance")),
                  m_tableBold.width(QStringLiteral("Credit"))}) +
        2 * pad;
    const qreal balanceWidth =
        amountWidth + (negativeBalance ? m_tableBold.width(QStringLiteral("-")) : 0);
    const qreal dateWidth = std::max(m_table.width(QStringLiteral("0000-00-00")),
                                     m_tableBold.width(QStringLiteral("Value date"))) +
                            2 * pad;
    const qreal referenceWidth = mm(30);
    m_edges[BookingDate] = m_left;
    m_edges[ValueDate] = m_edges[BookingDate] + m_table.width(QStringLiteral("0000-00-00")) +
                         m_table.width(QString(kDateGap));
    m_edges[Description] = m_edges[ValueDate] + dateWidth;
    m_edges[ColumnCount] = m_right;
    m_edges[Balance] = m_right - balanceWidth;
    m_edges[Credit] = m_edges[Balance] - amountWidth;
    m_edges[Debit] = m_edges[Credit] - amountWidth;
    m_edges[Reference] = std::max(m_edges[Description] + mm(20), m_edges[Debit] - referenceWidth);

    // The QR code at the right of the footer, modules a whole number of device units wide
    // (about 0.6 mm: over 3 pixels at 150 dpi) so that the symbol and its quiet zone fit
    // kQrSide.
    if (qr.width > 0) {
        const int module = int(mm(kQrSide)) / (qr.width + 2 * kQrQuietModules);
        const int side = module * (qr.width + 2 * kQrQuietModules);
        const int footerTop = int(std::round(m_pageHeight - mm(kMarginBottom + kFooterHeight)));
        m_qrArea = QRect(int(std::round(m_right)) - side, footerTop + int(mm(1.5)), side, side);
        const QPoint origin =
            m_qrArea.topLeft() + QPoint(kQrQuietModules * module, kQrQuietModules * module);
        m_qrRects.reserve(qr.modules.size());
        for (const QRect &r : qr.modules)
            m_qrRects.append(QRect(origin.x() + r.x() * module, origin.y() + r.y() * module,
                                   r.width() * module, r.height() * module));
    }

    m_rulePen = QPen(QColor(0x80, 0x80, 0x80), mm(0.2));
    m_textPen = QPen(Qt::black);

    const QString zoneName =
        statement.timeZone.isEmpty() ? QStringLiteral("UTC") : statement.timeZone;
    m_zoneNote = QStringLiteral("Dates and times in ") + zoneName;
    m_accountLine = QStringLiteral("Account ") + statement.accountCode + QStringLiteral(" — ") +
                    statement.accountName + QStringLiteral(" · Currency ") + statement.currency;
    m_periodLine = QStringLiteral("Period ") + periodText(statement.from, statement.to, m_zone) +
                   QStringLiteral(" · ") + m_zoneNote;
    m_continuationLine = QStringLiteral("Account ") + statement.accountCode +
                         QStringLiteral(" · ") + statement.currency + QStringLiteral(" · ") +
                         m_periodLine;
    m_knownAtLine =
        QStringLiteral("As the ledger knew it at ") + zoneTime(statement.knownAt, m_zone);
    if (statement.sequenceNumber > 0)
        m_knownAtLine +=
            QStringLiteral(" · Statement no. ") + QString::number(statement.sequenceNumber);
    m_issueLine =
        QStringLiteral("Issued by ") +
        (statement.issuedBy.isEmpty() ? QStringLiteral("(not issued)") : statement.issuedBy) +
        QStringLiteral(" on ") + zoneTime(statement.issuedAt, m_zone);
    m_referenceLine = statement.reference.isEmpty()
                          ? QStringLiteral("Verification reference: none (not issued)")
                          : QStringLiteral("Verification reference: ") + statement.reference;
}

void StatementPainter::drawText(const MeasuredFont &font, QPointF at, const QString &text)
{
    if (&font != m_batchFont)
        flushText();
    if (m_batch.add(font.glyphs(), text, at)) {
        m_batchFont = &font;
        return;
    }
    flushText();
    m_painter.setFont(font.font());
    m_painter.drawText(at, text);
}

void StatementPainter::flushText()
{
    if (m_batchFont) {
        m_painter.setPen(m_textPen);
        m_batch.draw(m_painter, m_batchFont->glyphs().rawFont());
        m_batchFont = nullptr;
    }
}

void StatementPainter::drawLeft(const MeasuredFont &font, Column column, qreal top, qreal height,
                                const QString &text)
{
    const qreal pad = mm(kCellPadding);
    drawText(font, QPointF(std::round(m_edges[column] + pad), baseline(font, top, height)), text);
}

void StatementPainter::drawRight(const MeasuredFont &font, Column column, qreal top, qreal height,
                                 const QString &text)
{
    const qreal pad = mm(kCellPadding);
    drawText(font,
             QPointF(std::round(m_edges[column + 1] - pad - font.width(text)),
                     baseline(font, top, height)),
             text);
}

void StatementPainter::drawFirstHeader(qreal top)
{
    qreal y = top;
    drawText(m_institution, QPointF(m_left, baseline(m_institution, y, mm(7))),
             m_institution.fitted(m_statement.institution, m_right - m_left));
    y += mm(8);
    drawText(m_textBold, QPointF(m_left, baseline(m_textBold, y, mm(4.5))),
             QStringLiteral("Account statement"));
    y += mm(4.5);
    for (const QString *line : {&m_accountLine, &m_periodLine, &m_knownAtLine}) {
        drawText(m_text, QPointF(m_left, baseline(m_text, y, mm(4.5))),
                 m_text.fitted(*line, m_right - m_left));
        y += mm(4.5);
    }

    // The summary: four boxes, label above amount.
    y += mm(2.5);
    const qreal boxHeight = mm(12);
    const qreal boxWidth = (m_right - m_left) / 4;
    const std::array<std::pair<QString, QString>, 4> boxes{{
        {QStringLiteral("Opening balance"), amount(m_statement.openingMinor)},
        {QStringLiteral("Total debits"), magnitude(m_statement.debitsMinor)},
        {QStringLiteral("Total credits"), magnitude(m_statement.creditsMinor)},
        {QStringLiteral("Closing balance"), amount(m_statement.closingMinor)},
    }};
    m_painter.setPen(m_rulePen);
    m_painter.setBrush(Qt::NoBrush);
    m_painter.drawRect(QRectF(m_left, y, m_right - m_left, boxHeight));
    for (int i = 1; i < 4; ++i)
        m_painter.drawLine(QPointF(m_left + i * boxWidth, y),
                           QPointF(m_left + i * boxWidth, y + boxHeight));
    m_painter.setPen(m_textPen);
    const qreal pad = mm(2);
    for (int i = 0; i < 4; ++i) {
        const qreal x = m_left + i * boxWidth;
        drawText(m_text, QPointF(x + pad, baseline(m_text, y + mm(0.5), mm(5))),
                 boxes[size_t(i)].first);
        const QString text = boxes[size_t(i)].second + QLatin1Char(' ') + m_statement.currency;
        drawText(m_textBold,
                 QPointF(x + boxWidth - pad - m_textBold.width(text),
                         baseline(m_textBold, y + mm(5.5), mm(6))),
                 text);
    }
}

void StatementPainter::drawNextHeader(qreal top)
{
    drawText(m_textBold, QPointF(m_left, baseline(m_textBold, top, mm(5))),
             m_textBold.fitted(m_statement.institution, (m_right - m_left) / 2));
    const QString title = QStringLiteral("Account statement (continued)");
    drawText(m_textBold,
             QPointF(m_right - m_textBold.width(title), baseline(m_textBold, top, mm(5))), title);
    drawText(m_text, QPointF(m_left, baseline(m_text, top + mm(5), mm(4.5))),
             m_text.fitted(m_continuationLine, m_right - m_left));
}

void StatementPainter::drawTableHeader(qreal top)
{
    const qreal height = mm(kTableHeaderHeight);
    drawLeft(m_tableBold, BookingDate, top, height, QStringLiteral("Booked"));
    drawLeft(m_tableBold, ValueDate, top, height, QStringLiteral("Value date"));
    drawLeft(m_tableBold, Description, top, height, QStringLiteral("Description"));
    drawLeft(m_tableBold, Reference, top, height, QStringLiteral("Reference"));
    drawRight(m_tableBold, Debit, top, height, QStringLiteral("Debit"));
    drawRight(m_tableBold, Credit, top, height, QStringLiteral("Credit"));
    drawRight(m_tableBold, Balance, top, height, QStringLiteral("Balance"));
    m_painter.setPen(m_rulePen);
    m_painter.drawLine(QPointF(m_left, top + height), QPointF(m_right, top + height));
    m_painter.setPen(m_textPen);
}

void StatementPainter::drawLine(qreal top, const StatementLine &line)
{
    const qreal height = mm(kRowHeight);
    drawLeft(m_table, BookingDate, top, height, m_bookingDay.text(line.bookedAt));
    drawLeft(m_table, ValueDate, top, height, m_valueDay.text(line.valueAt));
    const qreal pad = 2 * mm(kCellPadding);
    drawLeft(m_table, Description, top, height,
             m_table.fitted(line.description, m_edges[Reference] - m_edges[Description] - pad));
    if (!line.reference.isEmpty()) {
        drawLeft(m_table, Reference, top, height,
                 m_table.fitted(line.reference, m_edges[Debit] - m_edges[Reference] - pad));
    }
    drawRight(m_table, line.amountMinor < 0 ? Debit : Credit, top, height,
              magnitude(line.amountMinor));
    drawRight(m_table, Balance, top, height, amount(line.balanceMinor));
}

void StatementPainter::drawSpecialRow(qreal top, const QString &label, const QString &debit,
                                      const QString &credit, qint64 balance)
{
    const qreal height = mm(kRowHeight);
    drawLeft(m_tableBold, Description, top, height, label);
    if (!debit.isEmpty())
        drawRight(m_tableBold, Debit, top, height, debit);
    if (!credit.isEmpty())
        drawRight(m_tableBold, Credit, top, height, credit);
    drawRight(m_tableBold, Balance, top, height, amount(balance));
}

void StatementPainter::drawFooter(int page)
{
    const qreal top = m_pageHeight - mm(kMarginBottom + kFooterHeight);
    m_painter.setPen(m_rulePen);
    m_painter.drawLine(QPointF(m_left, top), QPointF(m_right, top));
    m_painter.setPen(m_textPen);

    const qreal qrSide = mm(kQrSide);
    const qreal textWidth = m_right - m_left - qrSide - mm(4);
    const qreal lineHeight = mm(4.5);
    qreal y = top + mm(2);
    drawText(m_text, QPointF(m_left, baseline(m_text, y, lineHeight)),
             m_text.fitted(m_issueLine, textWidth));
    y += lineHeight;
    drawText(m_textBold, QPointF(m_left, baseline(m_textBold, y, lineHeight)),
             m_textBold.fitted(m_referenceLine, textWidth));
    y += lineHeight;
    drawText(m_text, QPointF(m_left, baseline(m_text, y, lineHeight)),
             m_text.fitted(QStringLiteral("Scan the code or give the reference to "
                                          "verify this statement against the ledger."),
                           textWidth));
    y += lineHeight;
    drawText(m_textBold, QPointF(m_left, baseline(m_textBold, y, lineHeight)),
             QStringLiteral("Page %1 of %2").arg(page + 1).arg(m_pageCount));

    if (!m_qrRects.isEmpty()) {
        // The quiet zone painted white, then all dark modules as one filled path of
        // rectangles (no seams between them).
        m_painter.fillRect(m_qrArea, Qt::white);
        m_painter.setPen(Qt::NoPen);
        m_painter.setBrush(Qt::black);
        m_painter.drawRects(m_qrRects.constData(), int(m_qrRects.size()));
        m_painter.setBrush(Qt::NoBrush);
        m_painter.setPen(m_textPen);
    }
}

void StatementPainter::drawPage(int page, qsizetype firstLine, qsizetype lineCount)
{
    const bool first = page == 0;
    const bool last = page == m_pageCount - 1;
    qreal y = mm(kMarginTop);
    if (first) {
        drawFirstHeader(y);
        y += mm(kFirstHeaderHeight);
    } else {
        drawNextHeader(y);
        y += mm(kNextHeaderHeight);
    }
    drawTableHeader(y);
    y += mm(kTableHeaderHeight);

    const qint64 broughtForward =
        first ? m_statement.openingMinor : m_statement.lines[firstLine - 1].balanceMinor;
    drawSpecialRow(y, first ? QStringLiteral("Opening balance") : QStringLiteral("Brought forward"),
                   {}, {}, broughtForward);
    y += mm(kRowHeight);

    const qreal rowHeight = mm(kRowHeight);
    if (m_statement.lines.isEmpty()) {
        drawLeft(m_table, Description, y, rowHeight, QStringLiteral("No entries in this period."));
        y += rowHeight;
    }
    for (qsizetype i = firstLine; i < firstLine + lineCount; ++i) {
        drawLine(y, m_statement.lines[i]);
        y += rowHeight;
    }

    m_painter.setPen(m_rulePen);
    m_painter.drawLine(QPointF(m_left, y), QPointF(m_right, y));
    m_painter.setPen(m_textPen);
    if (last) {
        drawSpecialRow(y, QStringLiteral("Totals and closing balance"),
                       magnitude(m_statement.debitsMinor), magnitude(m_statement.creditsMinor),
                       m_statement.closingMinor);
    } else {
        drawSpecialRow(y, QStringLiteral("Carried forward"), {}, {},
                       m_statement.lines[firstLine + lineCount - 1].balanceMinor);
    }
    drawFooter(page);
    flushText();
}

} // namespace

PdfStatementWriter::PdfStatementWriter(PageSize pageSize)
    : m_pageSize(pageSize)
{}

int PdfStatementWriter::linesOnFirstPage() const
{
    return linesBetween(m_pageSize, kFirstHeaderHeight);
}

int PdfStatementWriter::linesPerPage() const
{
    return linesBetween(m_pageSize, kNextHeaderHeight);
}

int PdfStatementWriter::pageCount(qsizetype lineCount) const
{
    const qsizetype first = linesOnFirstPage();
    if (lineCount <= first)
        return 1;
    const qsizetype next = linesPerPage();
    return int(1 + (lineCount - first + next - 1) / next);
}

Result<int> PdfStatementWriter::write(const Statement &statement, const QString &path) const
{
    if (!statement.timeZone.isEmpty() && !zoneNamed(statement.timeZone).isValid()) {
        return Error::make(Error::Kind::Input,
                           QStringLiteral("The statement's time zone \"%1\" is not known here; "
                                          "use UTC or an IANA zone name such as Europe/Berlin.")
                               .arg(statement.timeZone));
    }
    auto qr = qrCodeFor(statement.reference);
    if (!qr)
        return qr.error();

    // QSaveFile writes "<path>.XXXXXX" next to the target and renames it over `path` only in
    // commit(); an error on the way (or a return before commit) removes the temporary file.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        return Error::make(Error::Kind::Io,
                           QStringLiteral("Cannot write the statement to %1: %2. Choose a folder "
                                          "that exists and that you may write to.")
                               .arg(path, file.errorString()));
    }

    const int pages = pageCount(statement.lines.size());
    {
        QPdfWriter writer(&file);
        writer.setResolution(kDpi);
        writer.setPageLayout(
            QPageLayout(qPageSize(m_pageSize), QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
        writer.setCreator(QStringLiteral("Ledger Console"));
        writer.setTitle(QStringLiteral("Account statement ") + statement.accountCode +
                        (statement.reference.isEmpty()
                             ? QString()
                             : QStringLiteral(" ") + statement.reference));
        QPainter painter;
        if (!painter.begin(&writer)) {
            file.cancelWriting();
            return Error::make(Error::Kind::Internal,
                               QStringLiteral("Cannot start drawing the PDF statement."));
        }
        StatementPainter statementPainter(statement, m_pageSize, writer, painter, qr.value(),
                                          pages);
        const qsizetype first = linesOnFirstPage();
        const qsizetype next = linesPerPage();
        qsizetype line = 0;
        for (int page = 0; page < pages; ++page) {
            if (page > 0 && !writer.newPage()) {
                painter.end();
                file.cancelWriting();
                return Error::make(Error::Kind::Io,
                                   QStringLiteral("Could not start page %1 of the statement in "
                                                  "%2; nothing was written there.")
                                       .arg(page + 1)
                                       .arg(path));
            }
            const qsizetype capacity = page == 0 ? first : next;
            const qsizetype count = std::min(capacity, statement.lines.size() - line);
            statementPainter.drawPage(page, line, count);
            line += count;
        }
        painter.end();
    }
    if (!file.commit()) {
        return Error::make(Error::Kind::Io,
                           QStringLiteral("Could not finish writing the statement to %1: %2 "
                                          "(is the disk full?). Nothing was written there.")
                               .arg(path, file.errorString()));
    }
    return pages;
}

} // namespace ledger
