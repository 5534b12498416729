-- Every index is one more B-tree to update on each write. These three are no longer read:
-- cohort queries use cases_cohort (0003), case listings use cases_site_change, and the
-- reclassification at start scans the table once.
DROP INDEX cases_localization;
DROP INDEX cases_response_group;
DROP INDEX cases_engine_version;
