-- PostgreSQL dialect of sqlite/0003. Cohort statistics read a few short columns of every case;
-- the index holds exactly the columns that CaseStore.cohortRows selects, site first (a
-- submitter's scope), so that an index-only scan can answer without reading each case's JSON.
CREATE INDEX cases_cohort ON cases (
    site, localization, response_group, therapy_class, sex, asct, radiotherapy, intrathecal, iss, cns_risk,
    ic_diagnosis_date, mm_diagnosis_date, progression_date, death_date, last_followup_date, birth_year, r_iss
);
