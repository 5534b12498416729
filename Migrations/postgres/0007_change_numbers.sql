-- PostgreSQL only in effect (sqlite/0007 is empty): single-case writes of several instances need
-- no registry-wide lock (Registry/CaseStore.swift, `nextChangeSequence` and `dataVersionSQL`).
--
-- Change numbers (cases.change_seq) come from a sequence: nextval is not transactional and never
-- waits. Owned by the column, so that `icmm copy` moves it past the copied change numbers.
CREATE SEQUENCE cases_change_seq AS bigint OWNED BY cases.change_seq;

SELECT setval('cases_change_seq', GREATEST(
    (SELECT CAST(value AS BIGINT) FROM registry_meta WHERE key = 'data_version'),
    (SELECT coalesce(max(change_seq), 0) FROM cases)) + 1, false);

-- The data version behind ETags is the sum of 16 slots: 'data_version' (as before) and these 15.
-- Each write transaction adds one to a slot no other transaction holds, as its last statement,
-- so the commits of several instances do not queue behind one row's lock through their WAL flush.
INSERT INTO registry_meta (key, value)
SELECT 'data_version.' || n, '0' FROM generate_series(1, 15) AS n;
