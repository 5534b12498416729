# Reference fixtures for competing risks: cumulative incidence (Aalen-Johansen) with cmprsk's
# variance, Gray's test, and Fine-Gray models, from cmprsk 2.2-11 (cuminc, timepoints, crr).
#
# Run from this directory:  Rscript make_competing_fixtures.R
# Writes each data set (<name>.csv; the event column holds 0 for censored, else the cause as text)
# and cases.json: per case the columns, options and the expected `competing_risks` object in the
# JSON shape of issue 10:
#   causes; groups: [{key, cause, n, events, at: [{time, estimate, variance, lower, upper}],
#                     curve: [...], last_time}] (cause-major, as cuminc); gray_test: [{cause, statistic,
#   df, p_value}]; fine_gray: [{cause, n, events, terms: [{term, coef, std_err, hazard_ratio, lower, upper,
#   p_value}]}].
# The curve has one row per event time of the cause in the group (cuminc's step corners after
# each jump). Limits: est^exp(-/+ z sqrt(var) / (est log est)) (log(-log) transform), null where
# est is 0 or 1. p-values are computed in the upper tail (pchisq(lower.tail = FALSE),
# 2 pnorm(-|z|)) instead of cmprsk's 1 - pchisq / signif(2 (1 - pnorm)), so tiny ones stay exact.

suppressMessages({ library(cmprsk); library(jsonlite) })
stopifnot(packageVersion("cmprsk") >= "2.2.11")

limits <- function(est, var, z) {
    se <- sqrt(var)
    ok <- est > 0 & est < 1
    a <- exp(z * se / (est * log(est)))
    lo <- ifelse(ok, pmin(est^a, est^(1 / a)), NA)
    up <- ifelse(ok, pmax(est^a, est^(1 / a)), NA)
    list(lower = lo, upper = up)
}

competing_object <- function(df, spec, times, cl) {
    z <- qnorm(1 - (1 - cl) / 2)
    ftime <- df[[spec$time]]
    status <- as.character(df[[spec$event]])
    grp <- if (is.null(spec$group)) rep("all", nrow(df)) else as.character(df[[spec$group]])
    keys <- sort(unique(grp), method = "radix")
    causes <- sort(unique(status[status != "0"]), method = "radix")
    g <- factor(grp, levels = keys)
    ci <- cuminc(ftime, status, g, cencode = "0")
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
        at <- lapply(seq_along(times), function(i) list(time = sort(unique(times))[i],
            estimate = est[i], variance = var[i], lower = tl$lower[i], upper = tl$upper[i]))
        groups[[length(groups) + 1]] <- list(key = k, cause = cause, n = sum(sub),
            events = sum(sub & status == cause), at = at, curve = curve, last_time = max(ftime[sub]))
    }
    out$groups <- groups
    if (length(keys) > 1) {
        tests <- ci$Tests
        out$gray_test <- lapply(causes, function(cause) list(cause = cause,
            statistic = unname(tests[cause, "stat"]), df = unname(tests[cause, "df"]),
            p_value = pchisq(unname(tests[cause, "stat"]), unname(tests[cause, "df"]), lower.tail = FALSE)))
    }
    if (length(spec$numeric) + length(spec$categorical) > 0) {
        cols <- list()
        for (v in spec$numeric) cols[[v]] <- df[[v]]
        for (v in spec$categorical) {
            x <- as.character(df[[v]])
            lv <- sort(unique(x), method = "radix")
            for (l in lv[-1]) cols[[paste0(v, l)]] <- as.numeric(x == l)
        }
        cov <- do.call(cbind, cols)
        out$fine_gray <- lapply(causes, function(cause) {
            fit <- crr(ftime, status, cov, failcode = cause, cencode = "0")
            stopifnot(fit$converged)
            b <- fit$coef; se <- sqrt(diag(fit$var))
            list(cause = cause, n = fit$n, events = sum(status == cause), terms = lapply(seq_along(b), function(i) list(
                term = colnames(cov)[i], coef = unname(b[i]), std_err = se[i],
                hazard_ratio = exp(unname(b[i])), lower = exp(unname(b[i]) - z * se[i]),
                upper = exp(unname(b[i]) + z * se[i]), p_value = 2 * pnorm(-abs(unname(b[i]) / se[i])))))
        })
    }
    out
}

cases <- list()
add_case <- function(id, df, spec, times, cl = 0.95) {
    csv <- paste0(id, ".csv")
    write.csv(df, csv, row.names = FALSE, na = "")
    back <- read.csv(csv, stringsAsFactors = FALSE, colClasses = sapply(df, function(x)
        if (is.numeric(x)) "numeric" else "character"))
    used <- unlist(c(spec$time, spec$event, spec$group, spec$numeric, spec$categorical))
    keep <- complete.cases(back[, used, drop = FALSE])
    for (col in used) if (is.character(back[[col]])) keep <- keep & back[[col]] != ""
    back <- back[keep, , drop = FALSE]
    cases[[length(cases) + 1]] <<- list(id = id, csv = csv, columns = spec, times = I(times),
        conf_level = cl, competing_risks = competing_object(back, spec, times, cl))
}

# 1. mgus2: progression to a plasma cell malignancy ("pcm") with death as the competing event,
#    by sex; whole months, heavy ties. Fine-Gray on age and sex.
library(survival)
mg <- data.frame(time = ifelse(mgus2$pstat == 1, mgus2$ptime, mgus2$futime),
                 event = ifelse(mgus2$pstat == 1, "pcm", ifelse(mgus2$death == 1, "death", "0")),
                 sex = as.character(mgus2$sex), age = mgus2$age)
add_case("mgus2", mg, list(time = "time", event = "event", group = "sex", numeric = I("age"),
                           categorical = I("sex")), c(12, 60, 120, 240, 500))

# 2. The cmprsk help example: three groups, causes 1 and 2, continuous times (no ties),
#    Fine-Gray on three numeric covariates.
set.seed(2)
ss <- rexp(100)
gg <- factor(sample(1:3, 100, replace = TRUE), 1:3, c("a", "b", "c"))
cc <- sample(0:2, 100, replace = TRUE)
cov <- matrix(runif(300), nrow = 100)
ex <- data.frame(time = ss, status = as.character(cc), g = as.character(gg),
                 x1 = cov[, 1], x2 = cov[, 2], x3 = cov[, 3])
add_case("cmprsk_example", ex, list(time = "time", event = "status", group = "g",
                                    numeric = I(c("x1", "x2", "x3")), categorical = I(character(0))),
         c(0.1, 0.5, 1, 2), cl = 0.9)

# 3. pbc: transplant ("1") competing with death ("2"), by edema (three levels), Fine-Gray on
#    log bilirubin and a three-level age band; days, some ties. (Edema itself cannot be a
#    Fine-Gray factor here: no transplant with edema 1, so crr does not converge.)
pb <- data.frame(time = pbc$time, status = as.character(pbc$status),
                 edema = paste0("e", pbc$edema), logbili = log(pbc$bili),
                 ageband = as.character(cut(pbc$age, c(0, 45, 55, Inf), labels = c("a1", "a2", "a3"))))
add_case("pbc", pb, list(time = "time", event = "status", group = "edema",
                         numeric = I("logbili"), categorical = I("ageband")),
         c(365, 1825, 3650))

# 4. mgus2 without groups (one curve per cause, no Gray test), times in whole months.
add_case("mgus2_all", mg, list(time = "time", event = "event", numeric = I(character(0)),
                               categorical = I(character(0))), c(60, 120, 400))

# 5. mgus (the 1993 MGUS series): the type of plasma cell disorder at progression (AM, LP, MA,
#    MM) and death without progression, five causes, by a three-level age band; some causes have
#    no event in some groups. Days, few ties. No covariates.
mgt <- data.frame(time = ifelse(!is.na(mgus$pcdx), mgus$pctime, mgus$futime),
                  event = ifelse(!is.na(mgus$pcdx), as.character(mgus$pcdx), ifelse(mgus$death == 1, "death", "0")),
                  ageband = as.character(cut(mgus$age, c(0, 60, 70, Inf), labels = c("lt60", "60to69", "ge70"))))
add_case("mgus_types", mgt, list(time = "time", event = "event", group = "ageband",
                                 numeric = I(character(0)), categorical = I(character(0))),
         c(365, 3650, 7300))

write_json(cases, "cases.json", auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
cat("wrote", length(cases), "cases\n")
