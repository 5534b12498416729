# R side of the benchmark: the same CSV, timed with system.time around each stage.
# Usage: Rscript r_timings.R data.csv  -> prints JSON {"survfit":..,"survdiff":..,"coxph":..}
suppressMessages({ library(survival); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c("numeric", "integer", "character", "numeric", "numeric"))
t_km <- system.time(fit <- survfit(Surv(time, status) ~ group, data = d))[["elapsed"]]
t_lr <- system.time(lr <- survdiff(Surv(time, status) ~ group, data = d))[["elapsed"]]
t_cox <- system.time(cf <- coxph(Surv(time, status) ~ x1 + x2, data = d))[["elapsed"]]
cat(toJSON(list(survfit = t_km, survdiff = t_lr, coxph = t_cox,
                coef = unname(coef(cf)), chisq = lr$chisq,
                r_version = paste(R.version$major, R.version$minor, sep = "."),
                survival_version = as.character(packageVersion("survival"))),
           auto_unbox = TRUE, digits = NA), "\n")
