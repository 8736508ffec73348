#pragma once

#include "domain/Result.h"
#include "domain/Statement.h"

#include <QString>

namespace ledger {

// Writes a Statement as a PDF, drawn page by page with QPainter on QPdfWriter (a
// QTextDocument takes minutes and gigabytes for a long statement): a header with the
// institution, the account and the period; a summary block; a table of fixed-height rows
// with the balance brought forward at the top and carried forward at the bottom of every
// page; "Page x of y"; and a footer with who issued the statement, when, and its
// verification reference as text and as a QR code.
//
// Rows have one fixed height, so the page count is known before drawing (pageCount()) and
// the file is written in one pass. Fonts are embedded (TrueType subsets) and all text is
// real text, selectable and searchable. Amounts are Money::formatMinor of the integers,
// never floating point. Times are shown in the statement's time zone, which the header
// names.
//
// Plain object with no thread affinity: write() may run on any thread with a
// QGuiApplication alive (fonts). Not for two threads at once on the same object.
class PdfStatementWriter
{
public:
    enum class PageSize { A4, Letter };

    explicit PdfStatementWriter(PageSize pageSize = PageSize::A4);

    PageSize pageSize() const { return m_pageSize; }
    void setPageSize(PageSize pageSize) { m_pageSize = pageSize; }

    // Statement lines that fit on the first page (below the header and summary) and on
    // every following page, at this page size.
    int linesOnFirstPage() const;
    int linesPerPage() const;

    // The number of pages write() produces for `lineCount` lines (at least one).
    int pageCount(qsizetype lineCount) const;

    // Writes the statement to `path` through a temporary file in the same folder that is
    // renamed to `path` only when complete: on failure (a folder that does not exist or
    // cannot be written, a full disk, a reference too long for a QR code) the error says
    // what went wrong and nothing is left under `path` (an earlier file there is kept).
    // Returns the number of pages written.
    Result<int> write(const Statement &statement, const QString &path) const;

private:
    PageSize m_pageSize;
};

} // namespace ledger
