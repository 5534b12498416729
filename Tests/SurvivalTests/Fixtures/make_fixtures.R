# Reference fixtures for the Swift survival engine, from R's survival package.
#
# Run from this directory:  Rscript make_fixtures.R
# Writes, for every case, the input CSV (<data>.csv) and the expected report
# (<case>.json) in the exact JSON shape of `icmm analyze`, plus cases.json (the manifest the
# Swift tests read). The expected values are computed from the CSV as read back, so the tests
# and R see identical numbers.
#
# R functions used (survival 3.5): survfit + summary.survfit(censored = TRUE) for curves,
# quantile.survfit for medians/quantiles and their limits, summary.survfit(times =) for
# landmarks, summary.survfit(rmean = tau)$table for RMST, survdiff (rho = 0 and 1) for the
# group tests, p.adjust(method = "holm") for pairwise tests, coxph(ties = "efron") for Cox,
# survfit on the flipped status (reverse Kaplan-Meier) for median follow-up.

suppressMessages({ library(survival); library(jsonlite) })
stopifnot(packageVersion("survival") >= "3.5")

na_to_null <- function(x) if (length(x) == 0 || is.na(x)) NA else unname(x)

# One report. spec: list(time, event, entry, group, numeric, categorical); opts: list(conf_type,
# conf_level, landmarks, tau, quantiles).
make_report <- function(df, spec, opts, dropped) {
    time <- df[[spec$time]]
    ev <- as.numeric(as.logical(df[[spec$event]]))
    has_entry <- !is.null(spec$entry)
    entry <- if (has_entry) df[[spec$entry]] else NULL
    y <- if (has_entry) Surv(entry, time, ev) else Surv(time, ev)
    grp <- if (is.null(spec$group)) rep("all", nrow(df)) else as.character(df[[spec$group]])
    keys <- sort(unique(grp), method = "radix")   # code-point order, as the Swift engine
    ct <- opts$conf_type; cl <- opts$conf_level

    groups <- lapply(keys, function(k) {
        sub <- grp == k
        fit <- survfit(y[sub] ~ 1, conf.type = ct, conf.int = cl)
        s <- summary(fit, censored = TRUE)
        curve <- data.frame(time = s$time, n_risk = s$n.risk, n_event = s$n.event,
                            n_censor = s$n.censor, survival = s$surv, std_err = s$std.err,
                            lower = s$lower, upper = s$upper)
        q <- quantile(fit, probs = c(0.5, opts$quantiles))
        g <- list(key = k, n = sum(sub), events = sum(ev[sub]),
                  median = list(estimate = na_to_null(q$quantile[1]),
                                lower = na_to_null(q$lower[1]), upper = na_to_null(q$upper[1])))
        if (length(opts$quantiles) > 0) {
            g$quantiles <- lapply(seq_along(opts$quantiles), function(i) list(
                probability = opts$quantiles[i], estimate = na_to_null(q$quantile[i + 1]),
                lower = na_to_null(q$lower[i + 1]), upper = na_to_null(q$upper[i + 1])))
        }
        lm <- opts$landmarks
        sl <- tryCatch(summary(fit, times = lm), error = function(e) NULL)
        g$survival_at <- lapply(lm, function(t) {
            i <- if (is.null(sl)) integer(0) else which(sl$time == t)
            if (length(i) == 0) list(time = t, survival = NA, std_err = NA, lower = NA, upper = NA, n_risk = 0)
            else list(time = t, survival = sl$surv[i], std_err = na_to_null(sl$std.err[i]),
                      lower = na_to_null(sl$lower[i]), upper = na_to_null(sl$upper[i]),
                      n_risk = sl$n.risk[i])
        })
        if (!is.null(opts$tau)) {
            tab <- summary(fit, rmean = opts$tau)$table
            g$rmst <- list(tau = opts$tau, estimate = unname(tab["rmean"]),
                           std_err = unname(tab["se(rmean)"]))
        }
        g$curve <- curve
        g
    })

    out <- list(n = nrow(df), events = sum(ev), conf_type = ct, conf_level = cl,
                dropped_rows = dropped, groups = groups)

    # RMST differences and ratios for every pair a < b in key order, from the per-group RMST
    # and standard error of print(survfit, rmean = tau): difference with se sqrt(se_a^2 + se_b^2),
    # ratio by the delta method on the log scale; normal limits and two-sided p-values.
    if (!is.null(opts$tau) && length(keys) >= 2) {
        z <- qnorm(1 - (1 - cl) / 2)
        pairs <- combn(seq_along(keys), 2)
        out$rmst_differences <- lapply(seq_len(ncol(pairs)), function(j) {
            ga <- groups[[pairs[1, j]]]$rmst; gb <- groups[[pairs[2, j]]]$rmst
            d <- ga$estimate - gb$estimate
            se <- sqrt(ga$std_err^2 + gb$std_err^2)
            lr <- log(ga$estimate / gb$estimate)
            lse <- sqrt((ga$std_err / ga$estimate)^2 + (gb$std_err / gb$estimate)^2)
            fin <- function(x) if (is.finite(x)) x else NA
            list(a = keys[pairs[1, j]], b = keys[pairs[2, j]], difference = d, std_err = se,
                 lower = d - z * se, upper = d + z * se,
                 p_value = fin(2 * pnorm(-abs(d / se))),
                 ratio = exp(lr), ratio_lower = exp(lr - z * lse), ratio_upper = exp(lr + z * lse),
                 ratio_p_value = fin(2 * pnorm(-abs(lr / lse))))
        })
    }

    if (length(keys) >= 2 && !has_entry) {
        gf <- factor(grp, levels = keys)
        test <- function(rho) {
            sd <- survdiff(Surv(time, ev) ~ gf, rho = rho)
            df_ <- sum(sd$exp > 0) - 1
            list(chisq = sd$chisq, df = df_,
                 p_value = pchisq(sd$chisq, df_, lower.tail = FALSE),
                 observed = I(unname(as.numeric(sd$obs))), expected = I(unname(as.numeric(sd$exp))))
        }
        out$logrank <- test(0)
        out$peto_peto <- test(1)
        if (length(keys) > 2) {
            pairs <- combn(seq_along(keys), 2)
            pw <- lapply(seq_len(ncol(pairs)), function(j) {
                a <- keys[pairs[1, j]]; b <- keys[pairs[2, j]]
                sub <- grp %in% c(a, b)
                g2 <- factor(grp[sub], levels = c(a, b))
                sd <- survdiff(Surv(time[sub], ev[sub]) ~ g2)
                list(a = a, b = b, p_value = pchisq(sd$chisq, sum(sd$exp > 0) - 1, lower.tail = FALSE))
            })
            padj <- p.adjust(sapply(pw, `[[`, "p_value"), method = "holm")
            for (j in seq_along(pw)) pw[[j]]$p_adjusted <- padj[j]
            out$pairwise <- pw
        }
    }

    rev_y <- if (has_entry) Surv(entry, time, 1 - ev) else Surv(time, 1 - ev)
    rfit <- survfit(rev_y ~ 1, conf.type = ct, conf.int = cl)
    rq <- quantile(rfit, probs = 0.5)
    out$median_followup <- list(estimate = na_to_null(rq$quantile), lower = na_to_null(rq$lower),
                                upper = na_to_null(rq$upper))

    if (length(spec$numeric) + length(spec$categorical) > 0) {
        cov <- data.frame(row.names = seq_len(nrow(df)))
        for (v in spec$numeric) cov[[v]] <- df[[v]]
        for (v in spec$categorical) {
            x <- as.character(df[[v]])
            cov[[v]] <- factor(x, levels = sort(unique(x), method = "radix"))
        }
        f <- as.formula(paste("y ~", paste(c(spec$numeric, spec$categorical), collapse = " + ")))
        cf <- coxph(f, data = cov, ties = "efron")
        sm <- summary(cf, conf.int = cl)
        co <- sm$coefficients; ci <- sm$conf.int
        p <- length(cf$coefficients)
        lr <- 2 * (cf$loglik[2] - cf$loglik[1])
        out$cox <- list(
            ties = "efron", n = cf$n, events = cf$nevent,
            terms = lapply(seq_len(p), function(i) list(
                term = rownames(co)[i], coef = co[i, "coef"], hazard_ratio = co[i, "exp(coef)"],
                std_err = co[i, "se(coef)"], z = co[i, "z"], p_value = co[i, "Pr(>|z|)"],
                lower = ci[i, 3], upper = ci[i, 4])),
            loglik = I(cf$loglik),
            lr_test = list(statistic = lr, df = p, p_value = pchisq(lr, p, lower.tail = FALSE)),
            wald_test = list(statistic = unname(cf$wald.test), df = p,
                             p_value = pchisq(unname(cf$wald.test), p, lower.tail = FALSE)),
            score_test = list(statistic = unname(cf$score), df = p,
                              p_value = pchisq(unname(cf$score), p, lower.tail = FALSE)),
            iterations = cf$iter)
    }
    out
}

used_columns <- function(spec) unlist(c(spec$time, spec$event, spec$entry, spec$group,
                                        spec$numeric, spec$categorical))

# Writes the data set, reads it back, and writes one expected report per option set.
cases <- list()
add_cases <- function(data_name, df, spec, option_sets) {
    csv <- paste0(data_name, ".csv")
    write.csv(df, csv, row.names = FALSE, na = "")
    back <- read.csv(csv, stringsAsFactors = FALSE, colClasses = sapply(df, function(x)
        if (is.numeric(x)) "numeric" else if (is.logical(x)) "logical" else "character"))
    keep <- complete.cases(back[, used_columns(spec), drop = FALSE])
    for (col in used_columns(spec)) if (is.character(back[[col]])) keep <- keep & back[[col]] != ""
    dropped <- sum(!keep)
    back <- back[keep, , drop = FALSE]
    for (opts in option_sets) {
        id <- paste0(data_name, "_", opts$conf_type, "_", format(opts$conf_level))
        rep <- make_report(back, spec, opts, dropped)
        write_json(rep, paste0(id, ".json"), auto_unbox = TRUE, digits = NA, na = "null",
                   null = "null", pretty = FALSE)
        cases[[length(cases) + 1]] <<- list(id = id, csv = csv, expected = paste0(id, ".json"),
            columns = spec, options = list(conf_type = opts$conf_type, conf_level = opts$conf_level,
                landmarks = I(opts$landmarks), tau = if (is.null(opts$tau)) NA else opts$tau,
                quantiles = I(opts$quantiles)))
    }
}

all_types <- function(level, landmarks, tau, quantiles)
    lapply(c("log", "log-log", "plain"), function(ct) list(conf_type = ct, conf_level = level,
        landmarks = landmarks, tau = tau, quantiles = quantiles))

# 1. lung by sex (two groups); Cox with two numeric covariates and a factor; one row dropped
#    for a missing ph.ecog.
lung1 <- data.frame(time = lung$time, status = lung$status - 1,
                    sex = ifelse(lung$sex == 1, "male", "female"), age = lung$age,
                    ph_ecog = lung$ph.ecog)
spec1 <- list(time = "time", event = "status", group = "sex", numeric = I(c("age", "ph_ecog")),
              categorical = I("sex"))
add_cases("lung_sex", lung1, spec1, c(
    all_types(0.95, c(182.625, 365.25, 730.5, 1000), 730, c(0.25, 0.75)),
    list(list(conf_type = "log", conf_level = 0.9, landmarks = c(90, 365.25), tau = 500,
              quantiles = c(0.1, 0.9)))))

# 2. lung by ECOG score: four groups (one with a single subject), pairwise Holm; rows with a
#    missing ph.ecog or wt.loss dropped.
lung2 <- data.frame(time = lung$time, status = lung$status - 1, ecog = lung$ph.ecog,
                    age = lung$age, wt_loss = lung$wt.loss)
spec2 <- list(time = "time", event = "status", group = "ecog", numeric = I(c("age", "wt_loss")),
              categorical = I(character(0)))
add_cases("lung_ecog", lung2, spec2, all_types(0.95, c(180, 365), 365, numeric(0)))

# 3. veteran: four cell types; Cox with numeric karno and age, factors celltype and trt.
vet <- data.frame(time = veteran$time, status = veteran$status, celltype = as.character(veteran$celltype),
                  karno = veteran$karno, age = veteran$age, trt = veteran$trt)
spec3 <- list(time = "time", event = "status", group = "celltype", numeric = I(c("karno", "age")),
              categorical = I(c("celltype", "trt")))
add_cases("veteran", vet, spec3, all_types(0.95, c(30, 90, 180, 365), 365, c(0.25, 0.75)))

# 4. aml: small, tied times, event written as TRUE/FALSE; Cox with the group factor.
amld <- data.frame(time = aml$time, status = aml$status == 1, x = as.character(aml$x))
spec4 <- list(time = "time", event = "status", group = "x", numeric = I(character(0)),
              categorical = I("x"))
add_cases("aml", amld, spec4, c(all_types(0.95, c(12, 24, 60, 200), 40, c(0.25, 0.75)),
    list(list(conf_type = "log-log", conf_level = 0.8, landmarks = c(5, 48), tau = 100,
              quantiles = c(0.3)))))

# 5. aml without groups: one curve keyed "all", no tests.
spec5 <- list(time = "time", event = "status", numeric = I(character(0)), categorical = I(character(0)))
add_cases("aml_all", amld, spec5, all_types(0.95, c(10, 30), 50, numeric(0)))

# 6. mgus2: heavy ties (follow-up in whole months), Cox with age and sex.
mg <- data.frame(futime = mgus2$futime, death = mgus2$death, sex = as.character(mgus2$sex),
                 age = mgus2$age)
spec6 <- list(time = "futime", event = "death", group = "sex", numeric = I("age"),
              categorical = I("sex"))
add_cases("mgus2", mg, spec6, all_types(0.95, c(12, 60, 120), 120, c(0.25, 0.75)))

# 7. colon (deaths): three treatment arms, pairwise Holm; Cox with age, nodes and the arm.
cd <- colon[colon$etype == 2, ]
col <- data.frame(time = cd$time, status = cd$status, rx = as.character(cd$rx), age = cd$age,
                  nodes = cd$nodes)
spec7 <- list(time = "time", event = "status", group = "rx", numeric = I(c("age", "nodes")),
              categorical = I("rx"))
add_cases("colon", col, spec7, all_types(0.95, c(365, 1826), 1826, c(0.25)))

# 8. lung with delayed entry (deterministic entry times, some tied with exit/event times of
#    others); Cox in counting-process form; no group tests (as R's survdiff).
lung8 <- data.frame(time = lung$time, status = lung$status - 1,
                    sex = ifelse(lung$sex == 1, "male", "female"), age = lung$age)
lung8$entry <- floor(lung8$time * ((seq_len(nrow(lung8)) %% 5) / 10))
spec8 <- list(time = "time", event = "status", entry = "entry", group = "sex", numeric = I("age"),
              categorical = I("sex"))
add_cases("lung_entry", lung8, spec8, all_types(0.95, c(182.625, 365.25), 730, c(0.25)))

# 9. Synthetic: the curve is exactly 0.5 over an interval (median = midpoint) in group "a", and
#    ends flat at 0.5 in group "b" (R's last-point rule); no censoring in group "c" (empirical).
half <- data.frame(time = c(1, 2, 3, 4,  1, 2, 3, 4,  1, 2, 2, 5, 7, 7),
                   status = c(1, 1, 1, 0,  1, 1, 0, 0,  1, 1, 1, 1, 1, 1),
                   g = c(rep("a", 4), rep("b", 4), rep("c", 6)))
spec9 <- list(time = "time", event = "status", group = "g", numeric = I(character(0)),
              categorical = I(character(0)))
add_cases("half", half, spec9, all_types(0.95, c(0, 2, 2.5, 4), 3, c(0.25, 0.75)))

write_json(cases, "cases.json", auto_unbox = TRUE, digits = NA, na = "null", null = "null",
           pretty = TRUE)

# Distribution functions: R's pchisq upper tail and qnorm on a grid, including tiny tails.
grid <- expand.grid(x = c(1e-8, 0.01, 0.5, 1, 2.5, 3.84, 10, 25, 60, 140, 300, 700, 1400),
                    df = c(1, 2, 3, 4, 5, 7, 10, 25, 60))
grid$p <- pchisq(grid$x, grid$df, lower.tail = FALSE)
levels <- c(0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999, 1 - 1e-9)
write_json(list(chisq = grid,
                normal_tail = data.frame(x = c(0, 0.5, 1.96, 5, 10, 20, 30, 37),
                    p = pnorm(c(0, 0.5, 1.96, 5, 10, 20, 30, 37), lower.tail = FALSE)),
                qnorm = data.frame(level = levels, z = qnorm(1 - (1 - levels) / 2))),
           "distributions.json", digits = NA)
cat("wrote", length(cases), "cases\n")

# Monotone likelihood: no events where x = 1. R: coxph(Surv(t, e) ~ x + z) "converges" with
# coef(x) about -21 and warns "Loglik converged before variable 1; coefficient may be infinite".
# The Swift engine must refuse this fit (SurvivalError.infiniteCoefficient).
set.seed(1)
nm <- 60
mono <- data.frame(t = round(rexp(nm) * 100) + 1, x = rep(0:1, nm / 2))
mono$e <- ifelse(mono$x == 1, 0, rbinom(nm, 1, 0.7))
mono$z <- round(rnorm(nm), 6)
write.csv(mono, "monotone.csv", row.names = FALSE)
