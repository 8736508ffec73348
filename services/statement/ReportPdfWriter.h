#pragma once

#include "domain/Report.h"
#include "domain/Result.h"

class QIODevice;

namespace ledger {

// A report (trial balance, balance sheet, income statement, top movers, volumes) as a PDF:
// A4 landscape, the title, where it was read and how far that place had replicated, the
// report.run event that records it and who exported it on every page; the rows with the
// column headings repeated per page, the totals and the checks last; numbers right-aligned;
// "page i of n" at the foot. Plain object; write() may run on any thread.
class ReportPdfWriter
{
public:
    void setExportedBy(const QString &who) { m_exportedBy = who; }

    // The number of pages written.
    Result<int> write(const ReportResult &report, QIODevice *device) const;

private:
    QString m_exportedBy;
};

} // namespace ledger
