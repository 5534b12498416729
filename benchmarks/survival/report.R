# Prints the comparison table from the two timing documents.
# Usage: Rscript report.R r.json swift.json swift_report.json time_v.txt
suppressMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
r <- fromJSON(args[1]); s <- fromJSON(args[2]); rep <- fromJSON(args[3], simplifyVector = FALSE)
maxrss <- NA
if (length(args) > 3 && file.exists(args[4])) {
    l <- grep("Maximum resident set size", readLines(args[4]), value = TRUE)
    if (length(l)) maxrss <- as.numeric(sub(".*: *", "", l)) / 1024
}
# The shared preparation (validation, grouping) is charged to every stage.
rows <- data.frame(
    stage = c("Kaplan-Meier + limits, 3 groups", "log-rank", "Cox, 2 covariates (Efron)"),
    r = c(r$survfit, r$survdiff, r$coxph),
    swift = c(s$prepare + s$kaplan_meier, s$prepare + s$logrank, s$prepare + s$cox))
rows$ratio <- rows$r / rows$swift
cat(sprintf("\nR %s, survival %s vs icmm analyze (release)\n", r$r_version, r$survival_version))
cat(sprintf("%-36s %10s %10s %8s\n", "stage", "R (s)", "Swift (s)", "R/Swift"))
for (i in seq_len(nrow(rows)))
    cat(sprintf("%-36s %10.3f %10.4f %7.1fx\n", rows$stage[i], rows$r[i], rows$swift[i], rows$ratio[i]))
cat(sprintf("%-36s %10s %10.4f\n", "(shared prep incl. sort, in each row)", "", s$prepare))
cat(sprintf("%-36s %10s %10.4f\n", "(Peto-Peto, pairwise, follow-up: Swift only)", "",
            s$peto_peto + (if (is.null(s$pairwise)) 0 else s$pairwise) + s$follow_up))
cat(sprintf("\nengine peak RSS: %.1f MB (RSS before the engine: %.1f MB)\n",
            s$engine_peak_rss_mb, s$rss_before_engine_mb))
cat(sprintf("whole process max RSS (CSV parse + JSON output included): %.1f MB\n", maxrss))
cat(sprintf("CSV parse %.2f s, JSON encoding %.2f s (not compared)\n", s$parse_csv, s$encode_json))
cox <- rep$cox$terms
cat(sprintf("agreement: Cox coef Swift %s vs R %s; log-rank chisq Swift %.10g vs R %.10g\n",
            paste(sprintf("%.8f", sapply(cox, `[[`, "coef")), collapse = ", "),
            paste(sprintf("%.8f", r$coef), collapse = ", "), rep$logrank$chisq, r$chisq))
ok <- all(rows$ratio >= 10) && s$engine_peak_rss_mb < 200
cat(if (ok) "targets met: every stage >= 10x faster than R, engine peak < 200 MB\n"
    else "TARGETS NOT MET (see above)\n")
