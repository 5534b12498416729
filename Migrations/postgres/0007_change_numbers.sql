-- PostgreSQL only in effect (sqlite/0007 is empty). Change numbers (cases.change_seq) come from a
-- sequence, so that single-case writes of several instances need no registry-wide lock: nextval
-- is not transactional and never waits. The registry_meta data version stays the commit-ordered
-- counter behind ETags (bumped as the last statement of each write transaction). Owned by the
-- column, so that `icmm copy` moves it past the copied change numbers.
CREATE SEQUENCE cases_change_seq AS bigint OWNED BY cases.change_seq;

SELECT setval('cases_change_seq', GREATEST(
    (SELECT CAST(value AS BIGINT) FROM registry_meta WHERE key = 'data_version'),
    (SELECT coalesce(max(change_seq), 0) FROM cases)) + 1, false);
