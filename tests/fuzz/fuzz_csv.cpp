// libFuzzer target: BankFileParser on CSV (tests/fuzz/README.md). The first byte chooses the
// profile's shape (delimiter, decimal mark, header rows, amount columns, date format); the
// rest is the file.
#include "recon/BankFileParser.h"

#include <cstddef>
#include <cstdint>

using namespace ledger;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t shape = data[0];
    const QByteArray bytes = QByteArray::fromRawData(reinterpret_cast<const char *>(data + 1),
                                                     static_cast<qsizetype>(size - 1));
    CsvProfile p;
    p.name = QStringLiteral("fuzz");
    static const char delimiters[] = {';', ',', '\t', '|'};
    p.delimiter = QLatin1Char(delimiters[shape & 3]);
    p.decimalComma = shape & 4;
    p.headerRows = (shape >> 3) & 3; // 0..3
    static const char *const formats[] = {"yyyy-MM-dd", "dd.MM.yyyy", "d/M/yy", "yyyyMMdd"};
    p.dateFormat = QString::fromLatin1(formats[(shape >> 5) & 3]);
    const bool named = p.headerRows > 0;
    auto column = [&](const char *name, int number) {
        return named ? QString::fromLatin1(name) : QString::number(number);
    };
    p.bookingDateColumn = column("date", 1);
    p.valueDateColumn = column("value", 2);
    if (shape & 0x80) {
        p.debitColumn = column("debit", 3);
        p.creditColumn = column("credit", 4);
    } else {
        p.amountColumn = column("amount", 3);
    }
    p.currency = QStringLiteral("EUR");
    p.remittanceColumn = column("text", 5);
    p.accountColumn = column("account", 6);

    const auto result = BankFileParser::parse(bytes, BankFileParser::Format::Csv, &p);
    if (!result.ok() && !result.error().message.startsWith(QLatin1StringView("line ")))
        __builtin_trap(); // every CSV error names its line
    // The profile survives its JSON form.
    const auto back = CsvProfile::fromJson(p.toJson());
    if (!back.ok() || back.value().toJson() != p.toJson())
        __builtin_trap();
    return 0;
}
