#include "IssuedStatementModel.h"

#include "DisplayZone.h"

#include "async/WhenReady.h"
#include "console/StatementService.h"
#include "domain/Money.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QStringList>
#include <QTimeZone>

namespace ledger {

namespace {

QTimeZone zoneOf(const StatementRecord &record)
{
    if (record.timeZone.isEmpty() || record.timeZone == QLatin1String("UTC"))
        return QTimeZone::utc();
    const QTimeZone zone(record.timeZone.toUtf8());
    return zone.isValid() ? zone : QTimeZone::utc();
}

// An instant in the zone the console shows, with its offset (DisplayZone). The period's
// days are the statement's own zone's (formatPeriod), named beside them.
QString shown(const QDateTime &instant)
{
    return DisplayZone::instance()->format(instant);
}

QString utcText(const QDateTime &instant)
{
    return instant.toUTC().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz 'UTC'"));
}

QString formatName(const StatementRecord &record)
{
    if (record.format == QLatin1String("camt053"))
        return QStringLiteral("camt.053.001.%1").arg(record.formatVersion);
    return record.format.toUpper();
}

QString lateEntryIds(const IssuedStatement &s)
{
    QStringList ids;
    ids.reserve(s.lateEntries.size());
    for (const qint64 id : s.lateEntries)
        ids.append(QString::number(id));
    return ids.join(QStringLiteral(", "));
}

} // namespace

IssuedStatementModel::IssuedStatementModel(StatementService *statements, QObject *parent,
                                           int pageSize)
    : QAbstractTableModel(parent)
    , m_statements(statements)
    , m_pageSize(qBound(1, pageSize, 999)) // one more row than a page tells the end: <= 1000
{
    DisplayZone::rewriteOnChange(this, {KnownAt, IssuedAt});
}

int IssuedStatementModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int IssuedStatementModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString IssuedStatementModel::formatDifference(qint64 minor, const StatementRecord &record)
{
    const QString amount = Money::formatMinor(minor, qMax(0, record.exponent));
    return (minor > 0 ? QStringLiteral("+") : QString()) + amount + QLatin1Char(' ') +
           record.currency;
}

QString IssuedStatementModel::formatPeriod(const StatementRecord &record)
{
    const QTimeZone zone = zoneOf(record);
    // The period is [from, to): its last day is the one of the instant just before `to`.
    return tr("%1 to %2 %3")
        .arg(record.from.toTimeZone(zone).date().toString(Qt::ISODate),
             record.to.addMSecs(-1).toTimeZone(zone).date().toString(Qt::ISODate),
             record.timeZone.isEmpty() ? QStringLiteral("UTC") : record.timeZone);
}

QVariant IssuedStatementModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const IssuedStatement &s = m_rows.at(index.row());
    const StatementRecord &r = s.record;
    const auto column = Column(index.column());
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case Reference:
            return r.reference;
        case Account:
            return r.accountCode;
        case Period:
            return formatPeriod(r);
        case KnownAt:
            return shown(r.knownAt);
        case Format:
            return formatName(r);
        case IssuedBy:
            return r.issuedBy;
        case IssuedAt:
            return shown(r.issuedAt);
        case Copies:
            return QString::number(s.copies);
        case Restated:
            return s.restated ? tr("Restated") : tr("no");
        case OpeningDifference:
            return s.restated ? formatDifference(s.openingDifference, r) : QString();
        case ClosingDifference:
            return s.restated ? formatDifference(s.closingDifference, r) : QString();
        case LateEntries:
            return s.restated ? QString::number(s.lateEntries.size()) : QString();
        case ColumnCount:
            break;
        }
        return {};
    case Qt::ToolTipRole:
        switch (column) {
        case Account:
            return r.accountName;
        case Period:
            return tr("[%1, %2)").arg(utcText(r.from), utcText(r.to));
        case KnownAt:
            return utcText(r.knownAt);
        case IssuedAt:
            return utcText(r.issuedAt);
        case Copies:
            return tr("Copies issued later of the same statement (the same request, the same "
                      "content)");
        case Restated:
            if (!s.restated)
                return tr("No entry recorded since it was issued changes its period.");
            return s.restatementRecordedAt.isValid()
                       ? tr("Entries recorded after its known-at time change its period; "
                            "recorded as restated at %1.")
                             .arg(utcText(s.restatementRecordedAt))
                       : tr("Entries recorded after its known-at time change its period.");
        case LateEntries:
            return s.restated ? tr("Entries %1").arg(lateEntryIds(s)) : QString();
        default:
            return {};
        }
    case Qt::TextAlignmentRole:
        if (column == Copies || column == OpeningDifference || column == ClosingDifference ||
            column == LateEntries)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::FontRole:
        if (column == Restated && s.restated) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return {};
    case Qt::ForegroundRole:
        if (column == Restated && s.restated)
            return QBrush(QColor(0xb0, 0x00, 0x20));
        return {};
    case StatementIdRole:
        return s.id;
    case AccountCodeRole:
        return r.accountCode;
    case RestatedRole:
        return s.restated;
    default:
        return {};
    }
}

QVariant IssuedStatementModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (Column(section)) {
    case Reference:
        return tr("Reference");
    case Account:
        return tr("Account");
    case Period:
        return tr("Period");
    case KnownAt:
        return tr("Known at");
    case Format:
        return tr("Format");
    case IssuedBy:
        return tr("Issued by");
    case IssuedAt:
        return tr("Issued at");
    case Copies:
        return tr("Copies");
    case Restated:
        return tr("Restated");
    case OpeningDifference:
        return tr("Opening diff.");
    case ClosingDifference:
        return tr("Closing diff.");
    case LateEntries:
        return tr("Late entries");
    case ColumnCount:
        break;
    }
    return {};
}

bool IssuedStatementModel::canFetchMore(const QModelIndex &parent) const
{
    // True while a page is on its way (fetchMore() then does nothing); false after a
    // failure, so that a view does not ask again on every repaint.
    return !parent.isValid() && m_statements && !m_atEnd && !m_failed;
}

void IssuedStatementModel::fetchMore(const QModelIndex &parent)
{
    if (!m_inFlight && canFetchMore(parent))
        requestPage();
}

void IssuedStatementModel::setFilter(const QString &accountCode, bool restatedOnly)
{
    m_account = accountCode.trimmed();
    m_restatedOnly = restatedOnly;
    refresh();
}

void IssuedStatementModel::refresh()
{
    ++m_generation;
    beginResetModel();
    m_rows.clear();
    m_atEnd = false;
    m_failed = false;
    m_inFlight = false;
    // A view may call fetchMore() from endResetModel(); then the first page is on its way.
    endResetModel();
    if (!m_statements)
        setLoading(false);
    else if (!m_inFlight)
        requestPage();
}

void IssuedStatementModel::setLoading(bool loading)
{
    if (m_loading != loading) {
        m_loading = loading;
        Q_EMIT loadingChanged(loading);
    }
}

void IssuedStatementModel::requestPage()
{
    IssuedStatementQuery query;
    query.accountCode = m_account;
    query.restatedOnly = m_restatedOnly;
    query.beforeId = m_rows.isEmpty() ? 0 : m_rows.constLast().id;
    query.limit = m_pageSize + 1; // the extra row says whether another page follows
    m_inFlight = true;
    setLoading(true);
    // The query runs on the service's worker; the answer is handled here, on the GUI thread.
    whenReady(m_statements->issuedStatements(query), this,
              [this, generation = m_generation](const Result<QList<IssuedStatement>> &result) {
                  if (generation != m_generation)
                      return; // a refresh() or setFilter() came since
                  if (!result) {
                      m_failed = true;
                      m_inFlight = false;
                      setLoading(false);
                      Q_EMIT loadFailed(result.error());
                      return;
                  }
                  QList<IssuedStatement> page = result.value();
                  m_atEnd = page.size() <= m_pageSize;
                  if (!m_atEnd)
                      page.resize(m_pageSize);
                  if (!page.isEmpty()) {
                      const int first = int(m_rows.size());
                      beginInsertRows({}, first, first + int(page.size()) - 1);
                      m_rows.append(page);
                      endInsertRows();
                  }
                  m_inFlight = false;
                  setLoading(false);
                  Q_EMIT pageLoaded(int(page.size()), m_atEnd);
              });
}

} // namespace ledger
