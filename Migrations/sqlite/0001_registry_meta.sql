-- Registry-wide facts that are not cases: the data version that cohort ETags derive from,
-- and the classification engine version the stored classifications were computed with.
CREATE TABLE registry_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

INSERT INTO registry_meta (key, value) VALUES ('data_version', '0');
