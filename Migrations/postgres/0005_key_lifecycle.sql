-- PostgreSQL dialect of sqlite/0005. Key lifecycle: an optional expiry (NULL: never expires), the
-- key a rotation replaced, and the last minute the key was used (written at most once a minute
-- per key, never per request).
ALTER TABLE api_keys ADD COLUMN expires_at text COLLATE "C";
ALTER TABLE api_keys ADD COLUMN last_used_at text COLLATE "C";
ALTER TABLE api_keys ADD COLUMN replaces text COLLATE "C";
