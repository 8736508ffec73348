-- Every console call checks its session (access.check_session), and every audit event looks
-- up who is signed in, by `role_name = session_user`. session_user is of type name, whose
-- collation is "C"; role_name is text in the database's collation, so the comparison cannot
-- use the primary key's index and scans access.sessions, which keeps every session ever
-- issued: with 500,000 past sessions, 77 ms per call (measured while building the health
-- panel, 0052). An index in the "C" collation serves the comparison as it is written, in
-- every function that makes it, without rewriting them.
SET LOCAL ROLE ledger_owner;

CREATE INDEX sessions_by_role_c ON access.sessions (role_name COLLATE "C");
