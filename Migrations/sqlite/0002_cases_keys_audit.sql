-- API keys: only a SHA-256 of each key is stored; the key itself is shown once at creation.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    site TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('submitter', 'analyst', 'admin')),
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

-- One row per live case. `data` is the case as submitted (canonical JSON of the data dictionary);
-- `classification` is the engine's output for it. The other columns are copies that the cohort
-- queries filter and group on, kept in step with `data` by every write.
CREATE TABLE cases (
    row_id INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    site TEXT NOT NULL,
    external_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    -- Registry-wide write sequence of the last change: orders "newest first" and pages by keyset.
    change_seq INTEGER NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    data TEXT NOT NULL,
    classification TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_year INTEGER,
    mm_diagnosis_date TEXT NOT NULL,
    ic_diagnosis_date TEXT NOT NULL,
    progression_date TEXT,
    death_date TEXT,
    last_followup_date TEXT,
    localization TEXT NOT NULL,
    localization_subtype TEXT,
    response_category TEXT,
    response_group TEXT,
    therapy_class TEXT NOT NULL,
    asct INTEGER,
    radiotherapy INTEGER,
    intrathecal INTEGER,
    neurosurgery INTEGER,
    iss INTEGER,
    r_iss INTEGER,
    cns_risk INTEGER,
    UNIQUE (site, external_id)
) STRICT;

CREATE INDEX cases_site_change ON cases (site, change_seq DESC);
CREATE INDEX cases_localization ON cases (localization);
CREATE INDEX cases_response_group ON cases (response_group);
CREATE INDEX cases_engine_version ON cases (engine_version);

-- Who did what to which case, and when; which fields changed (JSON Pointers), never their values.
-- Not tied to `cases` by a foreign key: an erased case keeps its trail.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    external_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'erase', 'reclassify')),
    key_id TEXT,
    at TEXT NOT NULL,
    version INTEGER,
    changed_paths TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_case ON audit_log (site, external_id, seq);
