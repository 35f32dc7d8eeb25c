# The spline CI test against kpcalg's kernelCItest (GAM residuals, then
# HSIC with a gamma null, or the default distance covariance with
# permutations), at n = 1,000 with one conditioning variable.  Prints the
# time per test of each (median of 5 blocks of repeated tests, through the pcalg indepTest
# interface both share), the ratio, and the size of each at alpha = 0.05
# under a true conditional independence (ours over 2,000 replicates, the
# peers over 200: they take seconds per test).  Then the spline test's size
# and power over the designs of the package's tests (1,000 replicates each).
# kpcalg left CRAN in 2022; the script installs its last release from the
# CRAN archive when it is missing.
#   Rscript bench/bench_ci.R
#   BENCH_CI_TIMING_ONLY=1 Rscript bench/bench_ci.R    (the timings alone, a minute)
suppressPackageStartupMessages(library(bulkcausal))
if (!requireNamespace("kpcalg", quietly = TRUE)) {
    install.packages("https://cloud.r-project.org/src/contrib/Archive/kpcalg/kpcalg_1.0.1.tar.gz",
        repos = NULL, type = "source")
}
suppressPackageStartupMessages(library(kpcalg))
set.seed(1)
n <- 1000
# Z -> X, Z -> Y (non-linear, skewed noise): X _||_ Y | Z
null_data <- function(n) {
    z <- runif(n, -2, 2)
    cbind(X = sin(2 * z) + 0.5 * (rexp(n) - 1), Y = z^2 + 0.5 * rnorm(n), Z = z)
}
# Seconds per test: the median over `blocks` blocks of `reps` consecutive
# tests on the same data (a single test is too short for system.time).
time_per_test <- function(test, ss, reps, blocks = 5) {
    ss$data <- null_data(n)
    test(1, 2, 3, ss)
    t <- vapply(seq_len(blocks), function(b) system.time(for (i in seq_len(reps)) test(1, 2, 3, ss))[["elapsed"]],
        numeric(1))
    median(t) / reps
}
ours_test <- function(x, y, S, ss) ciIndepTest(x, y, S, ciSuffStat(t(ss$data), test = "spline"))
t_ours <- time_per_test(ours_test, list(), reps = 20)
t_hsic <- time_per_test(kernelCItest, list(ic.method = "hsic.gamma"), reps = 2)
t_dcc <- time_per_test(kernelCItest, list(ic.method = "dcc.perm"), reps = 2)
size <- function(test, ss, reps) {
    mean(vapply(seq_len(reps), function(r) {
        ss$data <- null_data(n)
        test(1, 2, 3, ss) < 0.05
    }, logical(1)))
}
timing_only <- nzchar(Sys.getenv("BENCH_CI_TIMING_ONLY"))
if (timing_only) {
    cat(sprintf("n = %d, |S| = 1, %s: ours %.4f s, kpcalg hsic.gamma %.4f s (%.1fx), dcc.perm %.4f s (%.1fx)\n", n,
        format(Sys.time()), t_ours, t_hsic, t_hsic / t_ours, t_dcc, t_dcc / t_ours))
    quit(save = "no")
}
s_ours <- size(ours_test, list(), 2000)
s_hsic <- size(kernelCItest, list(ic.method = "hsic.gamma"), 200)
s_dcc <- size(kernelCItest, list(ic.method = "dcc.perm"), 200)
res <- data.frame(test = c("bulkcausal spline (HSIC, gamma)", "kpcalg hsic.gamma", "kpcalg dcc.perm (default)"),
    seconds.per.test = c(t_ours, t_hsic, t_dcc), ratio.to.ours = c(1, t_hsic / t_ours, t_dcc / t_ours),
    size = c(s_ours, s_hsic, s_dcc), size.replicates = c(2000, 200, 200))
cat(sprintf("n = %d, |S| = 1, %s\n", n, format(Sys.time())))
print(res, row.names = FALSE, digits = 4)

# Size and power of the spline test over the designs of the tests.
designs <- expand.grid(n = c(200L, 1000L), s = 0:2, model = c("linear", "nonlinear"),
    noise = c("gaussian", "exponential"), stringsAsFactors = FALSE)
designs <- designs[!(designs$s == 0L & designs$model == "nonlinear"), ]
gen <- function(n, s, nonlinear, noise, delta) {
    e <- function() if (noise == "gaussian") rnorm(n) else rexp(n) - 1
    z <- matrix(runif(n * max(s, 1L), -2, 2), n)[, seq_len(s), drop = FALSE]
    fx <- if (s == 0L) 0 else if (nonlinear) rowSums(sin(2 * z)) else rowSums(z)
    fy <- if (s == 0L) 0 else if (nonlinear) rowSums(z^2) else -rowSums(z)
    ex <- 0.5 * e()
    # delta > 0: Y depends on X's noise given Z (a quadratic, uncorrelated effect)
    cbind(X = fx + ex, Y = fy + delta * (ex^2 - mean(ex^2)) / 0.25 + 0.5 * e(), z)
}
designs$size <- designs$power.0.05 <- designs$power.0.1 <- NA_real_
for (i in seq_len(nrow(designs))) {
    g <- designs[i, ]
    rate <- function(delta, reps) mean(vapply(seq_len(reps), function(r) {
        d <- gen(g$n, g$s, g$model == "nonlinear", g$noise, delta)
        ciIndepTest(1, 2, seq_len(g$s) + 2L, ciSuffStat(t(d), test = "spline", seed = r)) < 0.05
    }, logical(1)))
    designs$size[i] <- rate(0, 1000)
    designs$power.0.05[i] <- rate(0.05, 200)
    designs$power.0.1[i] <- rate(0.1, 200)
}
cat("\nSpline test: size (1,000 replicates) and power (200) at alpha = 0.05\n")
print(designs[, c("n", "s", "model", "noise", "size", "power.0.05", "power.0.1")], row.names = FALSE, digits = 3)
