# Reference fixtures for stratified Cox models and the proportional-hazards test.
#
# Run from this directory:  Rscript make_cox_fixtures.R
# Writes each data set (<name>.csv) and cases.json: per case the columns, the options, and the
# expected `cox` object in the JSON shape of `icmm analyze` (with "strata" and "ph_test").
#
# R functions used (survival 3.5): coxph(ties = "efron") with + strata(s) for stratified fits,
# summary.coxph for the terms, cox.zph(fit, transform = "km") for the PH test (one row per
# term: a factor is one row with df = levels - 1; then GLOBAL).

suppressMessages({ library(survival); library(jsonlite) })
stopifnot(packageVersion("survival") >= "3.5")

cox_object <- function(df, spec, cl) {
    ev <- as.numeric(as.logical(df[[spec$event]]))
    y <- if (is.null(spec$entry)) Surv(df[[spec$time]], ev) else Surv(df[[spec$entry]], df[[spec$time]], ev)
    cov <- data.frame(row.names = seq_len(nrow(df)))
    for (v in spec$numeric) cov[[v]] <- df[[v]]
    for (v in spec$categorical) {
        x <- as.character(df[[v]])
        cov[[v]] <- factor(x, levels = sort(unique(x), method = "radix"))
    }
    rhs <- c(spec$numeric, spec$categorical)
    if (!is.null(spec$strata)) {
        cov$.s <- factor(as.character(df[[spec$strata]]))
        rhs <- c(rhs, "strata(.s)")
    }
    f <- as.formula(paste("y ~", paste(rhs, collapse = " + ")))
    cf <- coxph(f, data = cov, ties = "efron")
    sm <- summary(cf, conf.int = cl)
    co <- sm$coefficients; ci <- sm$conf.int
    p <- length(cf$coefficients)
    lr <- 2 * (cf$loglik[2] - cf$loglik[1])
    out <- list(
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
    if (!is.null(spec$strata)) out$strata <- spec$strata
    zp <- cox.zph(cf, transform = "km")
    tb <- zp$table
    nt <- nrow(tb) - 1
    out$ph_test <- list(
        transform = "km",
        terms = lapply(seq_len(nt), function(i) list(covariate = rownames(tb)[i], chisq = tb[i, "chisq"],
                                                     df = tb[i, "df"], p_value = tb[i, "p"])),
        global = list(chisq = tb[nt + 1, "chisq"], df = tb[nt + 1, "df"], p_value = tb[nt + 1, "p"]))
    out
}

cases <- list()
add_case <- function(id, df, spec, cl = 0.95) {
    csv <- paste0(id, ".csv")
    write.csv(df, csv, row.names = FALSE, na = "")
    back <- read.csv(csv, stringsAsFactors = FALSE)
    used <- unlist(c(spec$time, spec$event, spec$entry, spec$strata, spec$numeric, spec$categorical))
    keep <- complete.cases(back[, used, drop = FALSE])
    # An empty text value is missing, as for the CSV reader of the engine.
    for (col in used) if (is.character(back[[col]])) keep <- keep & back[[col]] != ""
    back <- back[keep, , drop = FALSE]
    cases[[length(cases) + 1]] <<- list(id = id, csv = csv, columns = spec, conf_level = cl,
                                        cox = cox_object(back, spec, cl))
}

# 1. lung: numeric age and ph.ecog, factor sex; unstratified (ties in days).
lung1 <- data.frame(time = lung$time, status = lung$status - 1,
                    sex = ifelse(lung$sex == 1, "male", "female"), age = lung$age, ph_ecog = lung$ph.ecog)
add_case("lung", lung1, list(time = "time", event = "status", numeric = I(c("age", "ph_ecog")),
                             categorical = I("sex")))
# 2. veteran: karno, age and the four-level celltype, stratified by treatment.
vet <- data.frame(time = veteran$time, status = veteran$status, celltype = as.character(veteran$celltype),
                  karno = veteran$karno, age = veteran$age, trt = paste0("t", veteran$trt))
add_case("veteran_strata", vet, list(time = "time", event = "status", numeric = I(c("karno", "age")),
                                     categorical = I("celltype"), strata = "trt"))
# 3. veteran unstratified, factor with four levels and treatment as a factor.
add_case("veteran", vet, list(time = "time", event = "status", numeric = I("karno"),
                              categorical = I(c("celltype", "trt"))))
# 4. colon deaths: three-arm rx and nodes, stratified by sex (many tied times).
cd <- colon[colon$etype == 2, ]
col <- data.frame(time = cd$time, status = cd$status, rx = as.character(cd$rx), age = cd$age,
                  nodes = cd$nodes, sex = ifelse(cd$sex == 1, "m", "f"))
add_case("colon_strata", col, list(time = "time", event = "status", numeric = I(c("age", "nodes")),
                                   categorical = I("rx"), strata = "sex"))
# 5. mgus2 deaths: heavy ties (whole months), age and sex, stratified by a three-level hgb band.
mg <- data.frame(futime = mgus2$futime, death = mgus2$death, sex = as.character(mgus2$sex),
                 age = mgus2$age, hgb = cut(mgus2$hgb, c(-Inf, 11, 13, Inf), labels = c("low", "mid", "high")))
mg$hgb <- as.character(mg$hgb)
add_case("mgus2_strata", mg, list(time = "futime", event = "death", numeric = I("age"),
                                  categorical = I("sex"), strata = "hgb"), cl = 0.9)
# 6. lung with delayed entry (counting process; zph2), stratified by sex.
lung6 <- data.frame(time = lung$time, status = lung$status - 1,
                    sex = ifelse(lung$sex == 1, "male", "female"), age = lung$age, ph_ecog = lung$ph.ecog)
lung6$entry <- floor(lung6$time * ((seq_len(nrow(lung6)) %% 5) / 10))
add_case("lung_entry_strata", lung6, list(time = "time", event = "status", entry = "entry",
                                          numeric = I(c("age", "ph_ecog")), categorical = I(character(0)),
                                          strata = "sex"))

write_json(cases, "cases.json", auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
cat("wrote", length(cases), "cases\n")
