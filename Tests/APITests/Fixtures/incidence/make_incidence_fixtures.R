# Reference fixtures for GET /v1/cohorts/incidence (issue 10): registry cases WITH progressions,
# built from survival::mgus2, and what cmprsk 2.2-11 computes for them (cuminc, timepoints, crr).
#
# Run from the repository root (deterministic: no random numbers, no clock):
#   Rscript Tests/APITests/Fixtures/incidence/make_incidence_fixtures.R
# Writes, next to this script:
#   cases.ndjson   1384 registry cases (DOMAIN.md section 9), one compact JSON object per line
#   expected.json  per query: the query string and the `competing_risks` members R computes
#
# ---------------------------------------------------------------------------------------------
# The cases: one per row of survival::mgus2 (monoclonal gammopathy: progression to a plasma cell
# malignancy, `pstat`/`ptime`, and death, `death`/`futime`, both in months). `row` is the row
# number (1-based).
#   external_id                  "MGUS-<row>"
#   sex                          mgus2$sex F -> "female", M -> "male"
#   intracranial.diagnosis_date  January 1st of (1900 + age + 1 + (row * 7) %% span) + (row * 17) %% 300
#                                days, span chosen so that the birth year is >= 1900 and every
#                                outcome lies before 2025 (the registry's validation rules)
#   birth_year                   year(ic) - mgus2$age   (so age_at_ic_diagnosis == mgus2$age)
#   mm_diagnosis_date            ic - (1 + (row * 13) %% 400) days
#   progression                  pstat 1: progression_date = ic + round(ptime * 30.4375) days
#   death / censoring            death 1: death_date = ic + round(futime * 30.4375) days;
#                                death 0: last_followup_date = ic + round(futime * 30.4375) days
#   localization                 hgb < 12 -> CNS (intraparenchymal lesion, CSF cytology positive);
#                                otherwise (hgb >= 12 or NA) -> OD (skull vault lesion + dural
#                                involvement, CSF negative)
#   everyone                     prior_lines 1, agents bortezomib + dexamethasone, response VGPR
# Months from whole days (x * 30.4375 rounded) keep the data's ties: equal months stay equal days.
#
# The registry's endpoint (DOMAIN.md section 7, openapi /v1/cohorts/incidence): time from the
# intracranial diagnosis to the first progression (cause "progression") or to death without
# progression (cause "death"); neither: censored ("0") at the last follow-up; a progression and a
# death on the same day count as progression. In months: days / 30.4375. For mgus2 that is the
# survival package's own competing-risks coding (vignette "compete"):
#   etime = ifelse(pstat == 0, futime, ptime); event = ifelse(pstat == 0, 2 * death, 1).
#
# expected.json: {"generator": {...}, "queries": [{"name", "query", "r", "n",
#   "competing_risks": {causes, groups: [{key, cause, n, events, at: [{time, estimate, variance,
#   lower, upper}], curve: [...], last_time}], gray_test: [{cause, statistic, df, p_value}],
#   fine_gray: [{cause, n, events, terms: [{term, coef, std_err, hazard_ratio, lower, upper,
#   p_value}]}]}}]}
# as Tests/SurvivalTests/Fixtures/competing/make_competing_fixtures.R defines them (the same
# helper below): curve = cuminc's corners after each jump, limits by the log(-log) transform
# est^exp(-/+ z sqrt(var) / (est log est)) (null where est is 0 or 1), p-values in the upper tail.
# ---------------------------------------------------------------------------------------------

suppressPackageStartupMessages({ library(survival); library(cmprsk); library(jsonlite) })
stopifnot(packageVersion("cmprsk") >= "2.2.11")

args <- commandArgs(trailingOnly = FALSE)
script_path <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script_path) == 1) dirname(normalizePath(script_path)) else
  "Tests/APITests/Fixtures/incidence"

MONTH <- 30.4375
m <- survival::mgus2
row <- seq_len(nrow(m))

# ---- the cases ---------------------------------------------------------------------------------

first_year <- 1900L + m$age + 1L
last_year <- 2025L - as.integer(ceiling(m$futime / 12)) - 1L
stopifnot(all(first_year <= last_year))
ic_year <- first_year + (row * 7L) %% (last_year - first_year + 1L)
ic <- as.Date(sprintf("%d-01-01", ic_year)) + (row * 17L) %% 300L
mm <- ic - (1L + (row * 13L) %% 400L)
birth_year <- ic_year - m$age
pdays <- as.integer(round(m$ptime * MONTH))
fdays <- as.integer(round(m$futime * MONTH))
stopifnot(all(pdays <= fdays), all(ic + fdays < as.Date("2025-01-01")), all(birth_year >= 1900))
sex <- ifelse(m$sex == "F", "female", "male")
localization <- ifelse(!is.na(m$hgb) & m$hgb < 12, "CNS", "OD")

iso <- function(d) format(d, "%Y-%m-%d")

make_case <- function(i) {
  od <- localization[i] == "OD"
  outcome <- list()
  if (m$pstat[i] == 1) outcome$progression_date <- iso(ic[i] + pdays[i])
  if (m$death[i] == 1) outcome$death_date <- iso(ic[i] + fdays[i]) else
    outcome$last_followup_date <- iso(ic[i] + fdays[i])
  list(
    external_id = paste0("MGUS-", row[i]),
    sex = sex[i],
    birth_year = birth_year[i],
    mm_diagnosis_date = iso(mm[i]),
    intracranial = list(
      diagnosis_date = iso(ic[i]),
      prior_lines = 1L,
      imaging = list(findings = if (od) I(c("skull_vault_lesion", "dural_involvement"))
                                else I("intraparenchymal_lesion")),
      csf = if (od) list(cytology = "negative", flow_cytometry = "negative") else list(cytology = "positive")
    ),
    therapy = list(agents = I(c("bortezomib", "dexamethasone"))),
    response = list(reported = "VGPR"),
    outcome = outcome
  )
}
lines <- vapply(row, function(i) as.character(toJSON(make_case(i), auto_unbox = TRUE, digits = NA)), character(1))
writeLines(lines, file.path(out_dir, "cases.ndjson"), useBytes = TRUE)

# The analysis data set, as the service must derive it from the cases.
d <- data.frame(
  time = ifelse(m$pstat == 1, pdays, fdays) / MONTH,
  cause = ifelse(m$pstat == 1, "progression", ifelse(m$death == 1, "death", "0")),
  sex = sex, localization = localization, age = m$age, stringsAsFactors = FALSE)
# The survival package's coding of the same events agrees.
stopifnot(all((d$cause == "progression") == (m$pstat == 1)),
          all((d$cause == "death") == (m$pstat == 0 & m$death == 1)))

# ---- cmprsk, in the JSON shape of issue 10 (as make_competing_fixtures.R) ----------------------

limits <- function(est, var, z) {
  se <- sqrt(var)
  ok <- est > 0 & est < 1
  a <- exp(z * se / (est * log(est)))
  list(lower = ifelse(ok, pmin(est^a, est^(1 / a)), NA), upper = ifelse(ok, pmax(est^a, est^(1 / a)), NA))
}

# `group`: a column or NULL (one group "all"); `numeric`/`categorical`: Fine-Gray covariates as
# the API's `covariates=` names them (categorical dummy coded against the first level in
# code-point order, named column + level, in the order given).
competing_object <- function(df, group, times, cl, covariates = list()) {
  z <- qnorm(1 - (1 - cl) / 2)
  ftime <- df$time
  status <- df$cause
  grp <- if (is.null(group)) rep("all", nrow(df)) else df[[group]]
  keys <- sort(unique(grp), method = "radix")
  causes <- c("death", "progression")
  ci <- cuminc(ftime, status, factor(grp, levels = keys), cencode = "0")
  out <- list(causes = I(causes))
  groups <- list()
  for (cause in causes) for (k in keys) {
    nm <- paste(k, cause)
    w <- ci[[nm]]
    sub <- grp == k
    jumps <- if (length(w$time) < 4) integer(0) else seq(3, length(w$time) - 1, by = 2)
    lim <- limits(w$est[jumps], w$var[jumps], z)
    curve <- data.frame(time = w$time[jumps], estimate = w$est[jumps], variance = w$var[jumps],
                        lower = lim$lower, upper = lim$upper)
    tp <- timepoints(ci[nm], times)
    est <- as.numeric(tp$est); var <- as.numeric(tp$var)
    tl <- limits(est, var, z)
    at <- lapply(seq_along(times), function(i) list(time = times[i], estimate = est[i], variance = var[i],
                                                     lower = tl$lower[i], upper = tl$upper[i]))
    groups[[length(groups) + 1]] <- list(key = k, cause = cause, n = sum(sub), events = sum(sub & status == cause),
                                         at = at, curve = curve, last_time = max(ftime[sub]))
  }
  out$groups <- groups
  if (length(keys) > 1) {
    tests <- ci$Tests
    out$gray_test <- lapply(causes, function(cause) list(cause = cause,
      statistic = unname(tests[cause, "stat"]), df = unname(tests[cause, "df"]),
      p_value = pchisq(unname(tests[cause, "stat"]), unname(tests[cause, "df"]), lower.tail = FALSE)))
  }
  if (length(covariates) > 0) {
    cols <- list()
    for (v in covariates) {
      if (v$type == "numeric") {
        cols[[v$name]] <- df[[v$column]]
      } else {
        x <- df[[v$column]]
        lv <- sort(unique(x), method = "radix")
        for (l in lv[-1]) cols[[paste0(v$name, l)]] <- as.numeric(x == l)
      }
    }
    cov <- do.call(cbind, cols)
    out$fine_gray <- lapply(causes, function(cause) {
      fit <- crr(ftime, status, cov, failcode = cause, cencode = "0")
      stopifnot(fit$converged)
      b <- unname(fit$coef); se <- sqrt(diag(fit$var))
      list(cause = cause, n = fit$n, events = sum(status == cause), terms = lapply(seq_along(b), function(i) list(
        term = colnames(cov)[i], coef = b[i], std_err = se[i], hazard_ratio = exp(b[i]),
        lower = exp(b[i] - z * se[i]), upper = exp(b[i] + z * se[i]), p_value = 2 * pnorm(-abs(b[i] / se[i])))))
    })
  }
  out
}

query <- function(name, query, r, subset = rep(TRUE, nrow(d)), group = NULL, times, cl = 0.95, covariates = list()) {
  df <- d[subset, ]
  list(name = name, query = query, r = r, n = nrow(df),
       competing_risks = competing_object(df, group, times, cl, covariates))
}
sex_cov <- list(type = "categorical", name = "sex", column = "sex")
age_cov <- list(type = "numeric", name = "age_at_ic_diagnosis", column = "age")
loc_cov <- list(type = "categorical", name = "localization", column = "localization")

queries <- list(
  query("by_sex_fine_gray_sex_age", "group_by=sex&times=12,60,120,240&covariates=sex,age_at_ic_diagnosis",
        "cuminc(time, cause, sex, cencode = \"0\"); timepoints(.., c(12, 60, 120, 240)); crr(time, cause, cbind(sexmale, age), failcode = cause, cencode = \"0\")",
        group = "sex", times = c(12, 60, 120, 240), covariates = list(sex_cov, age_cov)),
  query("by_localization_fine_gray_age_localization_conf90",
        "group_by=localization&times=24,120&covariates=age_at_ic_diagnosis,localization&conf_level=0.9",
        "cuminc(time, cause, localization, cencode = \"0\"); crr(time, cause, cbind(age, localizationOD)); limits at 0.9",
        group = "localization", times = c(24, 120), cl = 0.9, covariates = list(age_cov, loc_cov)),
  query("male_only_no_groups", "sex=male&times=60,300",
        "cuminc(time, cause, cencode = \"0\") on the male cases (one group, no Gray test)",
        subset = d$sex == "male", times = c(60, 300))
)

expected <- list(
  generator = list(
    script = "Tests/APITests/Fixtures/incidence/make_incidence_fixtures.R",
    r_version = R.version.string,
    cmprsk_version = as.character(packageVersion("cmprsk")),
    dataset = "survival::mgus2 (progression to a plasma cell malignancy, death)",
    cases = length(lines),
    progressions = sum(d$cause == "progression"),
    deaths_without_progression = sum(d$cause == "death")
  ),
  queries = queries
)
write_json(expected, file.path(out_dir, "expected.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, null = "null", na = "null")
cat(sprintf("wrote %d cases and %d queries to %s\n", length(lines), length(queries), out_dir))
