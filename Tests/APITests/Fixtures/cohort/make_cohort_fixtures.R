# Reference fixtures for the cohort survival endpoints (issue 6), computed with R's survival package.
#
# Run from the repository root (deterministic: no random numbers, no clock):
#   Rscript Tests/APITests/Fixtures/cohort/make_cohort_fixtures.R
# Writes, next to this script:
#   cases.ndjson   registry cases (DOMAIN.md section 9), one compact JSON object per line
#   expected.json  what GET /v1/cohorts/survival and GET /v1/cohorts/cox must return for them
#
# ---------------------------------------------------------------------------------------------
# The cases: one per row of survival::lung without NA in time, status, sex, age, ph.ecog (227 of
# 228 rows). `row` below is the row number in lung (1-based).
#   external_id                     "LUNG-<row>"
#   sex                             lung$sex 1 -> "male", 2 -> "female"
#   mm_diagnosis_date               2014-01-01 + ((row * 13) %% 200) days
#   intracranial.diagnosis_date     mm_diagnosis_date + ((row * 37) %% 700) + 1 days
#                                   (distinct, positive entry times for origin=mm_diagnosis)
#   outcome                         status 2: death_date = ic + time days;
#                                   status 1: last_followup_date = ic + time days
#   birth_year                      year(ic) - lung$age   (so age_at_ic_diagnosis == lung$age)
#   localization                    ph.ecog 0/1 -> OD  (skull_vault_lesion + dural_involvement,
#                                                       CSF cytology and flow cytometry negative)
#                                   ph.ecog >= 2 -> CNS (intraparenchymal_lesion, CSF cytology positive)
#   everyone                        prior_lines 1, agents bortezomib + dexamethasone, response VGPR
# Times are days / 30.4375 (months, the registry's convention) or whole days for unit=days.
# Exit times from the myeloma diagnosis are (entry days + time days) / 30.4375, i.e. computed from
# whole days as the service does, so that ties in days stay ties in months.
#
# ---------------------------------------------------------------------------------------------
# expected.json (numbers at full precision; JSON null where R gives NA / NaN / Inf, which is
# where the service reports null):
# {
#   "generator": {"script", "r_version", "survival_version", "dataset", "cases"},
#   "survival": [                     one entry per GET /v1/cohorts/survival query
#     {
#       "name":  "os_sex_ic_log", ...
#       "r":     the R call that produced it (documentation only),
#       "query": the query string to append to /v1/cohorts/survival?,
#       "expected": a subset of the response body, in the response's own shape; every member
#                   present here must be present in the response and equal (numbers within the
#                   test's tolerance; strings, integers, booleans and nulls exactly; arrays of the
#                   same length):
#         { "endpoint", "origin", "unit", "conf_type", "conf_level", "n", "events",
#           ["delayed_entry": true,]                                       origin=mm_diagnosis only
#           "groups": [ { "key", "n", "events",
#                         "median": {"estimate", "lower", "upper"},      summary(fit)$table
#                         "survival_at": [{"time", "survival", "std_err", "lower", "upper",
#                                          "n_risk"}],                     summary(fit, times = ...)
#                         "rmst": {"tau", "estimate", "std_err"},         summary(fit, rmean = tau)
#                         "curve": [{"time", "n_risk", "n_event", "n_censor", "survival",
#                                    "std_err", "lower", "upper"}] } ],   summary(fit, censored = TRUE)
#                                                                          (std_err on the survival
#                                                                           scale, as summary gives)
#           "logrank":   {"chisq", "df", "p_value", "observed", "expected"}   survdiff(rho = 0)
#           "peto_peto": {...}                                                 survdiff(rho = 1)
#                        (both left out for origin=mm_diagnosis: no tests with delayed entry)
#           "median_followup": {"estimate", "lower", "upper"} }
#                        reverse Kaplan-Meier, survfit(Surv(time, 1 - dead) ~ 1) (with the entry
#                        times for origin=mm_diagnosis) and the query's conf.type
#       "absent": members that must NOT be in the response (e.g. "logrank" with delayed entry)
#     }, ...
#   ],
#   "cox": [                          one entry per GET /v1/cohorts/cox query
#     { "name", "r", "query",
#       "expected": { "cox": { "ties": "efron", "n", "events", "iterations",
#                              "terms": [{"term", "coef", "hazard_ratio", "std_err", "z",
#                                         "p_value", "lower", "upper"}],
#                              "loglik": [null model, fitted model],
#                              "lr_test": {"statistic", "df", "p_value"},
#                              "wald_test": {...}, "score_test": {...} },
#                     "reference_levels": {"sex": "female"} } }
#     (with ph_test=true: "cox"."ph_test" = {"transform": "km", "terms": [{"covariate", "chisq",
#      "df", "p_value"}], "global": {...}} from cox.zph(fit, transform = "km"); with
#      strata=localization: coxph(... + strata(localization)) and "cox"."strata" = "localization")
#   survival entries also hold "rmst_differences": [{"a", "b", "difference", "std_err", "lower",
#     "upper", "p_value", "ratio", "ratio_lower", "ratio_upper", "ratio_p_value"}] for every pair
#     a < b, from the groups' RMST (print(survfit, rmean = tau)) as issue 10 defines them
#   ]
# }
# Group order is the code-point order of the keys (female < male, CNS < OD), as the service
# orders them; observed / expected of the tests follow the same order.
# ---------------------------------------------------------------------------------------------

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script_path <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script_path) == 1) dirname(normalizePath(script_path)) else
  "Tests/APITests/Fixtures/cohort"

MONTH <- 30.4375
TODAY <- as.Date("2026-11-18")

# ---- the cases ---------------------------------------------------------------------------------

lung0 <- survival::lung
lung0$row <- seq_len(nrow(lung0))
lung1 <- lung0[complete.cases(lung0[, c("time", "status", "sex", "age", "ph.ecog")]), ]
stopifnot(nrow(lung1) == 227)

row <- lung1$row
mm <- as.Date("2014-01-01") + (row * 13L) %% 200L
ic <- mm + (row * 37L) %% 700L + 1L
end <- ic + lung1$time
dead <- as.integer(lung1$status == 2)
sex <- ifelse(lung1$sex == 1, "male", "female")
ic_year <- as.integer(format(ic, "%Y"))
birth_year <- as.integer(ic_year - lung1$age)
localization <- ifelse(lung1$ph.ecog >= 2, "CNS", "OD")

stopifnot(all(end < TODAY), all(ic > mm), all(lung1$time > 0), !anyDuplicated(as.integer(ic - mm)))
stopifnot(all(ic_year - birth_year == lung1$age))

iso <- function(d) format(d, "%Y-%m-%d")

make_case <- function(i) {
  od <- localization[i] == "OD"
  intracranial <- list(
    diagnosis_date = iso(ic[i]),
    prior_lines = 1L,
    imaging = list(findings = if (od) I(c("skull_vault_lesion", "dural_involvement"))
                              else I("intraparenchymal_lesion")),
    csf = if (od) list(cytology = "negative", flow_cytometry = "negative")
          else list(cytology = "positive")
  )
  outcome <- if (dead[i] == 1) list(death_date = iso(end[i])) else list(last_followup_date = iso(end[i]))
  list(
    external_id = paste0("LUNG-", row[i]),
    sex = sex[i],
    birth_year = birth_year[i],
    mm_diagnosis_date = iso(mm[i]),
    intracranial = intracranial,
    therapy = list(agents = I(c("bortezomib", "dexamethasone"))),
    response = list(reported = "VGPR"),
    outcome = outcome
  )
}

lines <- vapply(seq_along(row), function(i) {
  as.character(toJSON(make_case(i), auto_unbox = TRUE, digits = NA))
}, character(1))
writeLines(lines, file.path(out_dir, "cases.ndjson"), useBytes = TRUE)

# The analysis data set, as the service should derive it from the cases.
days <- as.integer(end - ic)                 # == lung$time
entry_days <- as.integer(ic - mm)
d <- data.frame(
  sex = sex, localization = localization, dead = dead, age = lung1$age,
  time_days = days, time_months = days / MONTH,
  entry_days = entry_days, exit_days = entry_days + days,
  entry_months = entry_days / MONTH, exit_months = (entry_days + days) / MONTH,
  stringsAsFactors = FALSE
)
d$sex_f <- factor(d$sex, levels = c("female", "male"))

# ---- helpers -----------------------------------------------------------------------------------

num <- function(x) {                          # R's NA / NaN / Inf -> JSON null
  x <- as.numeric(x)
  lapply(x, function(v) if (is.finite(v)) v else NULL)
}
scalar <- function(v) { v <- as.numeric(v); if (length(v) == 1 && is.finite(v)) v else NULL }

# Per-group rows of a stratified (or single-stratum) survfit summary.
strata_of <- function(s, keys) {
  if (is.null(s$strata)) rep(keys[1], length(s$time)) else sub("^[^=]*=", "", as.character(s$strata))
}

group_reports <- function(fit, keys, times, tau) {
  tab <- summary(fit, rmean = tau)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(keys, names(tab)))
  rownames(tab) <- sub("^[^=]*=", "", rownames(tab))
  sc <- summary(fit, censored = TRUE)
  sc_key <- strata_of(sc, keys)
  st <- summary(fit, times = times, extend = TRUE)
  st_key <- strata_of(st, keys)
  lapply(keys, function(k) {
    r <- tab[k, ]
    j <- which(sc_key == k)
    curve <- lapply(j, function(i) list(
      time = sc$time[i], n_risk = as.integer(sc$n.risk[i]), n_event = as.integer(sc$n.event[i]),
      n_censor = as.integer(sc$n.censor[i]), survival = sc$surv[i],
      std_err = scalar(sc$std.err[i]), lower = scalar(sc$lower[i]), upper = scalar(sc$upper[i])))
    l <- which(st_key == k)
    stopifnot(length(l) == length(times), all(abs(st$time[l] - times) < 1e-12))
    landmarks <- lapply(seq_along(l), function(m) {
      i <- l[m]
      list(time = times[m], survival = scalar(st$surv[i]), std_err = scalar(st$std.err[i]),
           lower = scalar(st$lower[i]), upper = scalar(st$upper[i]), n_risk = as.integer(st$n.risk[i]))
    })
    list(
      key = k, n = as.integer(r[["records"]]), events = as.integer(r[["events"]]),
      median = list(estimate = scalar(r[["median"]]), lower = scalar(r[["0.95LCL"]]),
                    upper = scalar(r[["0.95UCL"]])),
      survival_at = landmarks,
      rmst = list(tau = tau, estimate = r[["rmean"]], std_err = r[["se(rmean)"]]),
      curve = curve
    )
  })
}

comparison <- function(formula, data, rho) {
  sd <- survdiff(formula, data = data, rho = rho)
  df <- length(sd$n) - 1L
  list(chisq = sd$chisq, df = df, p_value = pchisq(sd$chisq, df, lower.tail = FALSE),
       observed = as.numeric(sd$obs), expected = as.numeric(sd$exp))
}

followup <- function(data, delayed, conf_type) {
  fit <- if (delayed) survfit(Surv(entry_months, exit_months, 1 - dead) ~ 1, data = data, conf.type = conf_type)
         else survfit(Surv(time_months, 1 - dead) ~ 1, data = data, conf.type = conf_type)
  q <- quantile(fit, probs = 0.5, conf.int = TRUE)
  list(estimate = scalar(q$quantile), lower = scalar(q$lower), upper = scalar(q$upper))
}

# RMST differences and ratios for every pair a < b in key order (issue 10), from the per-group
# RMST and standard error of print(survfit, rmean = tau): se = sqrt(se_a^2 + se_b^2); the ratio by
# the delta method on the log scale; normal limits at 0.95; two-sided p-values.
rmst_differences <- function(groups) {
  z <- qnorm(0.975)
  out <- list()
  for (i in seq_len(length(groups) - 1)) for (j in (i + 1):length(groups)) {
    a <- groups[[i]]$rmst; b <- groups[[j]]$rmst
    dif <- a$estimate - b$estimate; se <- sqrt(a$std_err^2 + b$std_err^2)
    lr <- log(a$estimate / b$estimate)
    lse <- sqrt((a$std_err / a$estimate)^2 + (b$std_err / b$estimate)^2)
    out[[length(out) + 1]] <- list(
      a = groups[[i]]$key, b = groups[[j]]$key, difference = dif, std_err = se,
      lower = dif - z * se, upper = dif + z * se, p_value = 2 * pnorm(-abs(dif / se)),
      ratio = exp(lr), ratio_lower = exp(lr - z * lse), ratio_upper = exp(lr + z * lse),
      ratio_p_value = 2 * pnorm(-abs(lr / lse)))
  }
  out
}

# One survival query: `subset` filters rows, `by` is the grouping column, `origin` decides the
# time scale, `unit` multiplies months back to days when asked for.
survival_query <- function(name, query, by, conf_type = "log", subset = rep(TRUE, nrow(d)),
                           origin = "ic_diagnosis", unit = "months", times = c(12, 24), tau = 24) {
  data <- d[subset, ]
  if (unit == "days") {
    data$time_months <- data$time_days          # the "months" columns hold the unit's times
    data$entry_months <- data$entry_days
    data$exit_months <- data$exit_days
  }
  delayed <- origin == "mm_diagnosis"
  data$grp <- data[[by]]
  keys <- sort(unique(data$grp), method = "radix")   # code-point order
  data$grp <- factor(data$grp, levels = keys)
  if (delayed) {
    fml <- Surv(entry_months, exit_months, dead) ~ grp
    r_call <- sprintf("survfit(Surv(entry_months, exit_months, dead) ~ %s, conf.type = \"%s\")", by, conf_type)
  } else {
    fml <- Surv(time_months, dead) ~ grp
    r_call <- sprintf("survfit(Surv(time_months, dead) ~ %s, conf.type = \"%s\")", by, conf_type)
  }
  fit <- survfit(fml, data = data, conf.type = conf_type, conf.int = 0.95)
  expected <- list(endpoint = "os", origin = origin, unit = unit, conf_type = conf_type,
                   conf_level = 0.95, n = nrow(data), events = sum(data$dead))
  if (delayed) expected$delayed_entry <- TRUE
  expected$groups <- group_reports(fit, keys, times, tau)
  expected$rmst_differences <- rmst_differences(expected$groups)
  absent <- list()
  if (delayed) {
    absent <- list("logrank", "peto_peto")
  } else {
    expected$logrank <- comparison(Surv(time_months, dead) ~ grp, data, 0)
    expected$peto_peto <- comparison(Surv(time_months, dead) ~ grp, data, 1)
  }
  expected$median_followup <- followup(data, delayed, conf_type)
  list(name = name, r = r_call, query = query, expected = expected, absent = absent)
}

# ---- the queries -------------------------------------------------------------------------------

base <- "endpoint=os&conf_level=0.95&times=12,24&tau=24"
survival_fixtures <- list(
  survival_query("os_sex_ic_log", paste0(base, "&origin=ic_diagnosis&group_by=sex&conf_type=log&unit=months"),
                 "sex", "log"),
  survival_query("os_sex_ic_loglog", paste0(base, "&origin=ic_diagnosis&group_by=sex&conf_type=log-log&unit=months"),
                 "sex", "log-log"),
  survival_query("os_sex_ic_plain", paste0(base, "&origin=ic_diagnosis&group_by=sex&conf_type=plain&unit=months"),
                 "sex", "plain"),
  survival_query("os_localization_ic_log",
                 paste0(base, "&origin=ic_diagnosis&group_by=localization&conf_type=log&unit=months"),
                 "localization", "log"),
  survival_query("os_sex_mm_delayed_entry_log",
                 paste0(base, "&origin=mm_diagnosis&group_by=sex&conf_type=log&unit=months"),
                 "sex", "log", origin = "mm_diagnosis"),
  survival_query("os_sex_ic_log_filter_od",
                 paste0(base, "&origin=ic_diagnosis&group_by=sex&conf_type=log&unit=months&localization=OD"),
                 "sex", "log", subset = d$localization == "OD"),
  survival_query("os_localization_ic_log_days",
                 "endpoint=os&conf_level=0.95&times=365,730&tau=730&origin=ic_diagnosis&group_by=localization&conf_type=log&unit=days",
                 "localization", "log", unit = "days", times = c(365, 730), tau = 730)
)

# ---- Cox -----------------------------------------------------------------------------------------

# One Cox query: sex + age, optionally + strata(localization) and with cox.zph(transform = "km").
cox_fixture <- function(name, query, strata = FALSE, ph = FALSE) {
  fml <- if (strata) Surv(time_months, dead) ~ sex_f + age + strata(localization)
         else Surv(time_months, dead) ~ sex_f + age
  fit <- coxph(fml, data = d, ties = "efron")
  s <- summary(fit, conf.int = 0.95)
  co <- s$coefficients
  ci <- s$conf.int
  names_r <- c("sex_fmale", "age")
  names_api <- c("sexmale", "age_at_ic_diagnosis")
  stopifnot(identical(rownames(co), names_r))
  terms <- lapply(seq_along(names_r), function(j) list(
    term = names_api[j], coef = co[j, "coef"], hazard_ratio = co[j, "exp(coef)"],
    std_err = co[j, "se(coef)"], z = co[j, "z"], p_value = co[j, "Pr(>|z|)"],
    lower = ci[j, "lower .95"], upper = ci[j, "upper .95"]))
  # The statistics straight from the fit: summary.coxph rounds the Wald statistic to 2 decimals
  # (its p-value is computed from the unrounded one).
  k <- length(coef(fit))
  test <- function(stat) list(statistic = unname(stat), df = k,
                              p_value = pchisq(unname(stat), k, lower.tail = FALSE))
  lr <- -2 * (fit$loglik[1] - fit$loglik[2])
  stopifnot(abs(test(fit$wald.test)$p_value - s$waldtest[["pvalue"]]) < 1e-15,
            abs(lr - s$logtest[["test"]]) < 1e-12, abs(fit$score - s$sctest[["test"]]) < 1e-12)
  cox <- list(ties = "efron", n = fit$n, events = fit$nevent, iterations = fit$iter,
              terms = terms, loglik = as.numeric(fit$loglik),
              lr_test = test(lr), wald_test = test(fit$wald.test), score_test = test(fit$score))
  r_call <- sprintf("coxph(Surv(time_months, dead) ~ sex + age_at_ic_diagnosis%s, ties = \"efron\"), sex reference female",
                    if (strata) " + strata(localization)" else "")
  if (strata) cox$strata <- "localization"
  if (ph) {
    z <- cox.zph(fit, transform = "km")
    tab <- z$table
    stopifnot(identical(rownames(tab), c("sex_f", "age", "GLOBAL")))
    cov_api <- c("sex", "age_at_ic_diagnosis")
    cox$ph_test <- list(
      transform = "km",
      terms = lapply(1:2, function(j) list(covariate = cov_api[j], chisq = tab[j, "chisq"],
                                            df = as.integer(tab[j, "df"]), p_value = tab[j, "p"])),
      global = list(chisq = tab["GLOBAL", "chisq"], df = as.integer(tab["GLOBAL", "df"]), p_value = tab["GLOBAL", "p"]))
    r_call <- paste0(r_call, "; cox.zph(fit, transform = \"km\")")
  }
  list(name = name, r = r_call, query = query,
       expected = list(cox = cox, reference_levels = list(sex = "female")))
}

# ---- the de-identified data set (GET /v1/cohorts/dataset.csv) and R reading it back -----------
# The test imports line i into site HOSP-A when i is odd (offset 0, 2, ...), HOSP-B otherwise.
site <- ifelse(seq_along(row) %% 2 == 1, "HOSP-A", "HOSP-B")
dataset <- data.frame(
  time_days = days, time_months = days / MONTH, status = dead,
  localization = localization, response_group = "CR+VGPR", therapy_class = "novel", sex = sex, site = site,
  asct = NA, radiotherapy = NA, intrathecal = NA, cns_risk = NA, iss = NA,
  age_at_ic_diagnosis = lung1$age, stringsAsFactors = FALSE
)
dataset <- dataset[order(dataset$time_days, dataset$localization, dataset$sex, dataset$site, dataset$age_at_ic_diagnosis), ]
write.csv(dataset, file.path(out_dir, "dataset.csv"), row.names = FALSE, na = "NA")
# Round trip: what an analyst gets from read.csv must give the same survival as the cases did.
back <- read.csv(file.path(out_dir, "dataset.csv"))
fit_back <- survfit(Surv(time_months, status) ~ localization, data = back)
fit_cases <- survfit(Surv(time_months, dead) ~ localization, data = d)
stopifnot(isTRUE(all.equal(summary(fit_back)$table, summary(fit_cases)$table, tolerance = 1e-12)))
stopifnot(isTRUE(all.equal(survdiff(Surv(time_months, status) ~ localization, data = back)$chisq,
                           survdiff(Surv(time_months, dead) ~ localization, data = d)$chisq, tolerance = 1e-12)))
dataset_fixture <- list(
  query = "endpoint=os&origin=ic_diagnosis",
  file = "dataset.csv",
  rows = nrow(dataset),
  r_read_back = "read.csv then survfit(Surv(time_months, status) ~ localization): medians and log-rank equal the cases'",
  medians_by_localization = as.list(setNames(num(summary(fit_back)$table[, "median"]), c("CNS", "OD")))
)

expected <- list(
  generator = list(
    script = "Tests/APITests/Fixtures/cohort/make_cohort_fixtures.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    dataset = "survival::lung without NA in time, status, sex, age, ph.ecog",
    cases = length(lines)
  ),
  survival = survival_fixtures,
  cox = list(
    cox_fixture("cox_os_sex_age", "endpoint=os&covariates=sex,age_at_ic_diagnosis"),
    cox_fixture("cox_os_sex_age_ph", "endpoint=os&covariates=sex,age_at_ic_diagnosis&ph_test=true", ph = TRUE),
    cox_fixture("cox_os_sex_age_strata_localization_ph",
                "endpoint=os&covariates=sex,age_at_ic_diagnosis&strata=localization&ph_test=true", strata = TRUE, ph = TRUE)
  ),
  dataset_csv = dataset_fixture
)

write_json(expected, file.path(out_dir, "expected.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, null = "null", na = "null")
cat(sprintf("wrote %d cases and %d + %d expected results to %s\n",
            length(lines), length(survival_fixtures), length(expected$cox), out_dir))
