#pragma once

#include "domain/Result.h"

#include <QString>

namespace ledger::ScramVerifier {

// PostgreSQL's SCRAM-SHA-256 verifier of a password (RFC 5802/7677, as pg_authid stores it):
//   SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
// A role created with it accepts the password, yet the server never sees the password:
// neither in SQL text (statement logs, pg_stat_statements) nor in a dump. The console and
// ledgerctl send only verifiers (access.issue_session, access.add_operator).
//
// Passwords must be printable ASCII (U+0021..U+007E): the server normalises others with
// SASLprep, which this does not implement, so they are refused rather than mis-hashed.
// Random 16-byte salt; iterations at least 4096 (what the server itself uses).
Result<QString> compute(const QString &password, int iterations = 4096);

// A fresh random password for a session: 32 bytes from the system's CSPRNG, base64url
// without padding (43 printable ASCII characters).
QString randomPassword();

} // namespace ledger::ScramVerifier
