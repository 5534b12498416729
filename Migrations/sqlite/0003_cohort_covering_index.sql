-- Cohort statistics read a few short columns of every case; without this index each query also
-- reads every case's JSON (about 2 KB a row). The index holds exactly the columns that
-- CaseStore.cohortRows selects, site first (a submitter's scope), so SQLite answers from it alone.
CREATE INDEX cases_cohort ON cases (
    site, localization, response_group, therapy_class, sex, asct, radiotherapy, intrathecal, iss, cns_risk,
    ic_diagnosis_date, mm_diagnosis_date, progression_date, death_date, last_followup_date, birth_year, r_iss
);
