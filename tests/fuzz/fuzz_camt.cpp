// libFuzzer target: BankFileParser on camt.053/.052 XML (tests/fuzz/README.md).
#include "recon/BankFileParser.h"
#include "recon/CamtParser.h"

#include <cstddef>
#include <cstdint>

namespace {

bool sameLines(const QList<ledger::BankLine> &a, const QList<ledger::BankLine> &b)
{
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (a[i].sourceLocation != b[i].sourceLocation || a[i].amount != b[i].amount ||
            a[i].currency != b[i].currency || a[i].remittance != b[i].remittance ||
            a[i].counterpartyName != b[i].counterpartyName)
            return false;
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray bytes =
        QByteArray::fromRawData(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));
    ledger::BankFileParser::detect(bytes);
    const auto result = ledger::BankFileParser::parse(bytes, ledger::BankFileParser::Format::Camt);
    if (result.ok()) {
        // Every line is reachable and carries a location.
        for (const auto &statement : result.value().statements) {
            for (const auto &line : statement.lines) {
                if (line.sourceLocation.isEmpty())
                    __builtin_trap();
            }
        }
    } else if (result.error().message.isEmpty()) {
        __builtin_trap();
    }
    // Read in two halves however small (the inputs stay far below the real threshold):
    // the same statements, lines and first error as one reader.
    const auto halves = ledger::recon::parseCamt(bytes, 0);
    if (halves.ok() != result.ok())
        __builtin_trap();
    if (!result.ok()) {
        if (halves.error().message != result.error().message)
            __builtin_trap();
        return 0;
    }
    const auto &one = result.value().statements;
    const auto &two = halves.value().statements;
    if (one.size() != two.size())
        __builtin_trap();
    for (qsizetype i = 0; i < one.size(); ++i) {
        if (one[i].sourceLocation != two[i].sourceLocation ||
            one[i].messageId != two[i].messageId || one[i].iban != two[i].iban ||
            !sameLines(one[i].lines, two[i].lines))
            __builtin_trap();
    }
    return 0;
}
