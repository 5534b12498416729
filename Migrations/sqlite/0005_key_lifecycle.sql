-- Key lifecycle: an optional expiry (NULL: never expires), the key a rotation replaced, and the
-- last minute the key was used (written at most once a minute per key, never per request).
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
ALTER TABLE api_keys ADD COLUMN replaces TEXT;
