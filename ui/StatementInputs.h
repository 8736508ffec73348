#pragma once

#include <QDate>
#include <QDateTime>
#include <QString>
#include <QTimeZone>

class QCheckBox;
class QComboBox;
class QDateEdit;
class QHBoxLayout;
class QWidget;

namespace ledger {

class InstantEdit;

// The inputs a statement is asked for with, shared by the export dialog and the Statements
// tab's batch export: the time zone a period is given in, the format (with the camt.053
// version) and the PDF page size. GUI thread.
namespace StatementInputs {

// UTC, and this computer's zone when it is another one; the item data is the zone's id.
void addTimeZones(QComboBox *zone);
// PDF, CSV, camt.053.001.08/.04/.02; the item data is "<format>:<camt version>".
void addFormats(QComboBox *format);
// A4, Letter; the item data is "a4", "letter".
void addPageSizes(QComboBox *pageSize);

// Chooses the item of a format ("pdf", "csv", "camt053" with "02", "04" or "08").
void selectFormat(QComboBox *format, const QString &name, const QString &camtVersion);
// The chosen format and its camt.053 version (empty unless camt053).
QString formatOf(const QComboBox *format);
QString camtVersionOf(const QComboBox *format);

// A period as whole days, both included: "<from> to <to> (both days included)", last month
// by default.
struct PeriodRow
{
    QDateEdit *from = nullptr;
    QDateEdit *to = nullptr;
    QHBoxLayout *layout = nullptr;
};
PeriodRow createPeriodRow(QWidget *parent);

// "As the ledger knew it at <time> (unchecked: now)": the time is enabled while checked.
struct KnownAtRow
{
    QCheckBox *enabled = nullptr;
    InstantEdit *time = nullptr;
    QHBoxLayout *layout = nullptr;
};
KnownAtRow createKnownAtRow(QWidget *parent);
// Why the known-at time names no instant (a time the zone shown skips, or has twice and the
// operator has not said which: then the question is asked), or empty.
QString knownAtProblem(QCheckBox *enabled, InstantEdit *knownAt);

// The inputs of a statement's period (whole days, both included, in the zone), known-at time
// and format, and what they say; applyTo() fills a StatementExportRequest or a
// StatementBatchRequest with it (the period as UTC instants [from, the day after `to`)).
struct Inputs
{
    const QDateEdit *from = nullptr;
    const QDateEdit *to = nullptr;
    const QComboBox *zone = nullptr;
    const QCheckBox *pastKnownAt = nullptr;
    const InstantEdit *knownAt = nullptr;
    const QComboBox *format = nullptr;
    const QComboBox *pageSize = nullptr;
};
struct Chosen
{
    QDateTime from;
    QDateTime to;
    QDateTime knownAt; // invalid: now
    QString timeZone;
    QString format;
    QString camtVersion; // empty unless camt053
    QString pageSize;
};
Chosen chosen(const Inputs &inputs);
template <class Request> void applyTo(Request &request, const Inputs &inputs)
{
    const Chosen c = chosen(inputs);
    request.from = c.from;
    request.to = c.to;
    request.knownAt = c.knownAt;
    request.timeZone = c.timeZone;
    request.format = c.format;
    if (!c.camtVersion.isEmpty())
        request.camtVersion = c.camtVersion;
    request.pageSize = c.pageSize;
}

// The zone of an id from addTimeZones() ("UTC" or an IANA id).
QTimeZone zoneOf(const QString &id);
// The instant a day begins in a zone, in UTC: whole days [from, to + 1 day) make a period.
QDateTime startOfDay(const QDate &day, const QString &zoneId);

} // namespace StatementInputs

} // namespace ledger
