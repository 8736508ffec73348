// libFuzzer target: BankFileParser on camt.053/.052 XML (tests/fuzz/README.md).
#include "recon/BankFileParser.h"

#include <cstddef>
#include <cstdint>

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
    return 0;
}
