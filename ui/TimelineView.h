#pragma once

#include "domain/Timeline.h"

#include <QWidget>

class QComboBox;
class QDateTimeEdit;
class QLabel;
class QLineEdit;
class QTableView;

namespace ledger {

class TimelineModel;

// An account's timeline on screen: order, filters (date range, amount range, text), jump
// to a date, the table (fixed row heights, any size) and copying selected rows as text or
// CSV. Everything it shows comes from a TimelineModel; it never waits on the database.
class TimelineView : public QWidget
{
    Q_OBJECT

public:
    enum class CopyFormat { Text, Csv };

    explicit TimelineView(TimelineModel *model, QWidget *parent = nullptr);

    TimelineModel *model() const { return m_model; }
    QTableView *tableView() const { return m_table; }

    // Shows the first entry at or after `at` in the current order (asynchronous).
    void jumpTo(const QDateTime &at);
    void setOrder(TimelineOrder order);
    // Applies the filter fields as they are (Return in any field does the same).
    void applyFilter();
    void setFilterFields(const TimelineFilter &filter);

    // The selected rows that are loaded, with a header line; tab-separated or CSV (RFC 4180).
    // Times in UTC (ISO 8601), amounts exact in the currency's decimals. Every cell is made
    // safe for a spreadsheet (domain/SpreadsheetText.h): formulas behind an apostrophe,
    // negative amounts left as numbers, controls escaped.
    QString selectedRowsAs(CopyFormat format, int *skipped = nullptr) const;

public Q_SLOTS:
    void copySelection();
    void copySelectionAsCsv();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

Q_SIGNALS:
    void transactionActivated(qint64 transactionId);
    // "Request reversal…" (context menu, Ctrl+R) on a loaded row.
    void reversalRequested(qint64 transactionId);
    void statusMessage(const QString &message);

private:
    void updateCount(qint64 rows, bool exact);
    std::optional<QDateTime> parseTime(QLineEdit *edit, bool *ok) const;

    TimelineModel *m_model;
    QComboBox *m_order = nullptr;
    QLineEdit *m_from = nullptr;
    QLineEdit *m_to = nullptr;
    QLineEdit *m_minAmount = nullptr;
    QLineEdit *m_maxAmount = nullptr;
    QLineEdit *m_text = nullptr;
    QDateTimeEdit *m_jump = nullptr;
    QTableView *m_table = nullptr;
    QLabel *m_count = nullptr;
};

} // namespace ledger
