#pragma once

#include "db/DbException.h"
#include "domain/Error.h"

namespace ledger::test {

// The error a product call ends with (DbException), for tests that expect a refusal; an
// Internal error saying "(no error)" when it succeeded.
template <class F> Error errorOf(F f)
{
    try {
        f();
    } catch (const DbException &e) {
        return e.error();
    }
    return Error::make(Error::Kind::Internal, QStringLiteral("(no error)"));
}

} // namespace ledger::test
