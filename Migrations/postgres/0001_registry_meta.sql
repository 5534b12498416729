-- Registry-wide facts that are not cases: the data version that cohort ETags derive from,
-- and the classification engine version the stored classifications were computed with.
-- PostgreSQL dialect of sqlite/0001. Text the registry compares or sorts is COLLATE "C" (byte
-- order, as SQLite compares), whatever the database's default collation.
CREATE TABLE registry_meta (
    key text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);

INSERT INTO registry_meta (key, value) VALUES ('data_version', '0');
