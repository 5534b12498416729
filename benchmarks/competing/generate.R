# Synthetic competing-risks data for the benchmark: n subjects, three groups, causes 1 and 2
# (0 = censored), two numeric covariates and a three-level factor; times in whole days (ties).
# Usage: Rscript generate.R N OUT.csv
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[1])
set.seed(20261130)
g <- sample(c("a", "b", "c"), n, replace = TRUE)
x1 <- round(rnorm(n, 60, 10), 1)
x2 <- round(runif(n), 3)
f <- sample(c("f1", "f2", "f3"), n, replace = TRUE)
lp1 <- 0.02 * (x1 - 60) + 0.5 * x2 + (f == "f2") * 0.3 + (g == "b") * 0.2
t1 <- rexp(n, 0.001 * exp(lp1))
t2 <- rexp(n, 0.0015 * exp(-0.3 * x2))
cens <- runif(n, 200, 3000)
time <- pmax(1, round(pmin(t1, t2, cens)))
status <- ifelse(cens < pmin(t1, t2), 0, ifelse(t1 < t2, 1, 2))
write.csv(data.frame(time = time, status = status, group = g, x1 = x1, x2 = x2, f = f), args[2], row.names = FALSE)
