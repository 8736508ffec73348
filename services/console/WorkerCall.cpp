#include "WorkerCall.h"

namespace ledger {

Error workerGoneError()
{
    Error e = Error::make(Error::Kind::Internal,
                          QStringLiteral("The console's database worker has stopped, so nothing "
                                         "was asked of the ledger. Restart the console."));
    e.retryable = false;
    return e;
}

} // namespace ledger
