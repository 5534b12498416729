# Benchmark data: 1,000,000 subjects in 3 groups, exponential event times (hazard depending on
# group, x1 and x2), independent exponential censoring giving about 40% censored.
# Usage: Rscript generate.R OUT.csv [n]
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
n <- if (length(args) > 1) as.integer(args[2]) else 1000000L
set.seed(20240611)
group <- sample(c("A", "B", "C"), n, replace = TRUE)
x1 <- round(rnorm(n), 6)
x2 <- rbinom(n, 1, 0.5)
rate <- 0.05 * c(A = 1, B = 1.3, C = 0.8)[group] * exp(0.3 * x1 + 0.5 * x2)
event_time <- rexp(n, rate)
censor_time <- rexp(n, 0.045)
time <- round(pmin(event_time, censor_time), 6)
time[time == 0] <- 1e-6
status <- as.integer(event_time <= censor_time)
d <- data.frame(time = time, status = status, group = group, x1 = x1, x2 = x2)
write.csv(d, out, row.names = FALSE, quote = FALSE)
cat(sprintf("wrote %d subjects, %.1f%% censored\n", n, 100 * mean(status == 0)))
