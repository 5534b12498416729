-- Read access to patient-level data: who (key, site), what (route pattern, number of cases),
-- when, and the request id. Never a value, never an external id. Writes stay in audit_log;
-- GET /v1/audit answers from both.
CREATE TABLE access_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    key_id TEXT,
    site TEXT NOT NULL,
    route TEXT NOT NULL,
    request_id TEXT NOT NULL,
    case_count INTEGER NOT NULL
) STRICT;

CREATE INDEX access_log_at ON access_log (at);
CREATE INDEX audit_log_at ON audit_log (at);

-- The server secret that keys opaque cursors and entity tags (Registry/OpaqueTokens.swift): in the
-- database, so that every process serving it agrees and restarts keep issued cursors valid.
-- randomblob draws from the operating system's randomness through SQLite's ChaCha20 generator.
INSERT INTO registry_meta (key, value) VALUES ('token_secret', lower(hex(randomblob(32))));
