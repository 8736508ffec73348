// libFuzzer target: BankFileParser on MT940/MT942 (tests/fuzz/README.md).
#include "recon/BankFileParser.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray bytes =
        QByteArray::fromRawData(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));
    ledger::BankFileParser::detect(bytes);
    const auto result = ledger::BankFileParser::parse(bytes, ledger::BankFileParser::Format::Mt940);
    if (result.ok()) {
        for (const auto &statement : result.value().statements) {
            for (const auto &line : statement.lines) {
                if (!line.valueDate.isValid() || line.sourceLocation.isEmpty())
                    __builtin_trap();
            }
        }
    } else if (!result.error().message.startsWith(QLatin1StringView("line "))) {
        __builtin_trap(); // every MT940 error names its line
    }
    return 0;
}
