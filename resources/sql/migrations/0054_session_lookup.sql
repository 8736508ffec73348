-- Lookups by `... = session_user` on text columns. session_user is of type name, whose
-- collation is "C"; the columns are text in the database's collation, so the comparison takes
-- the "C" collation and cannot use the columns' own indexes: each such lookup scanned its
-- table. Found while building the health panel (0052): every console call checks its session
-- (access.check_session) and every audit event looks up who is signed in, both by
-- `access.sessions.role_name = session_user`, and access.sessions keeps every session ever
-- issued: with 500,000 past sessions, 77 ms per call. The same holds for the reads on record
-- (audit.read_marks, looked up on every gated read) and for a writer's audit events
-- (access.operators.broker_role). Indexes in the "C" collation serve the comparisons as they
-- are written, in every function that makes them, without rewriting those.
SET LOCAL ROLE ledger_owner;

CREATE INDEX sessions_by_role_c ON access.sessions (role_name COLLATE "C");
CREATE INDEX read_marks_by_role_c ON audit.read_marks (session_role COLLATE "C", kind, subject);
CREATE INDEX operators_by_broker_c ON access.operators (broker_role COLLATE "C");
