#include "BalanceImpactTable.h"

#include <QCoreApplication>
#include <QTableWidget>

namespace ledger {

void fillBalanceImpactTable(QTableWidget *table, const QList<BalanceImpact> &balances)
{
    const auto cell = [](const QString &text, bool right = false) {
        auto *item = new QTableWidgetItem(text);
        if (right)
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        return item;
    };
    table->setRowCount(0);
    for (const BalanceImpact &b : balances) {
        const int row = table->rowCount();
        table->insertRow(row);
        table->setItem(row, 0, cell(b.account));
        table->setItem(row, 1, cell(b.before.toString(), true));
        table->setItem(row, 2, cell(b.after.toString(), true));
        table->setItem(row, 3, cell(b.currency));
        table->setItem(
            row, 4,
            cell(b.goesNegative
                     ? QCoreApplication::translate("ledger", "would go below zero (not allowed)")
                 : b.noNegative ? QCoreApplication::translate(
                                      "ledger", "no-negative account; stays at or above zero")
                                : QString()));
        if (b.goesNegative) {
            for (int c = 0; c < table->columnCount(); ++c)
                table->item(row, c)->setForeground(QColor(0xb0, 0x3a, 0x2e));
        }
        table->item(row, 0)->setToolTip(b.accountName);
    }
    table->resizeColumnsToContents();
}

} // namespace ledger
