# fitPairwise on all ordered pairs among 500 genes with n = 2,000 cells
# (249,500 pairs), single-threaded, with the F test of p.nonlinear (the wild
# test's cost is measured in bench_counts_speed.R), against
#  - mgcv gam(y ~ s(x, bs = "ps", k = K), method = "REML") timed on 200
#    random pairs of the same data and extrapolated (target: >= 500x faster
#    per pair),
#  - its own floor: for each regulator, its basis matrix crossed with all
#    targets by R's crossprod (target: <= 3x that time),
# plus peak memory (target < 2 GiB), time against n and the number of genes
# (log-log plot bench/pairwise_scaling.png) and the 1 -> 2 thread speed-up.
# K is fitPairwise()'s default basis dimension at 2,000 cells (45; it was a
# fixed 10 until 2026-11-26), the same for ours, mgcv and the floor.
#   Rscript bench/bench_pairwise.R
suppressPackageStartupMessages({
    library(bulkcausal)
    library(mgcv)
})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
source(file.path(here, "lib", "timing.R"))

source(file.path(here, "lib", "pairwise_data.R"))
x <- make_data(500, 2000, 1)
cat(sprintf("data: %d genes x %d cells; %d ordered pairs\n", nrow(x), ncol(x), nrow(x) * (nrow(x) - 1)))
K <- S4Vectors::metadata(fitPairwise(x[1:2, ], verbose = FALSE))$k
cat(sprintf("basis dimension (the default): %d\n", K))

t1 <- bench_time(fitPairwise(x, genes = rownames(x), test = "F", num.threads = 1, seed = 1, verbose = FALSE), reps = 3)
t2 <- bench_time(fitPairwise(x, genes = rownames(x), test = "F", num.threads = 2, seed = 1, verbose = FALSE), reps = 3)
npairs <- nrow(x) * (nrow(x) - 1)

# mgcv on 200 random pairs of the same data
set.seed(2)
pick <- cbind(sample(nrow(x), 200, replace = TRUE), sample(nrow(x), 200, replace = TRUE))
pick <- pick[pick[, 1] != pick[, 2], ]
t_mgcv <- system.time(for (i in seq_len(nrow(pick))) {
    xx <- x[pick[i, 1], ]
    yy <- x[pick[i, 2], ]
    gam(yy ~ s(xx, bs = "ps", k = K), method = "REML")
})[["elapsed"]]
per_mgcv <- t_mgcv / nrow(pick)

# the floor: per regulator, its basis (mgcv's knots) crossed with all targets
Y <- t(x)
bases <- lapply(seq_len(nrow(x)), function(r) {
    v <- x[r, ]
    rg <- diff(range(v))
    xl <- min(v) - 0.001 * rg
    xu <- max(v) + 0.001 * rg
    dx <- (xu - xl) / (K - 3)
    splines::splineDesign(seq(xl - 3 * dx, xu + 3 * dx, length.out = K + 4), v, ord = 4)
})
t_floor <- bench_time(for (B in bases) crossprod(B, Y), reps = 3)

mem <- peak_memory(c("suppressPackageStartupMessages(library(bulkcausal))",
                     sprintf("source('%s')", file.path(normalizePath(here), "lib", "pairwise_data.R")),
                     "x <- make_data(500, 2000, 1)"),
                   "fitPairwise(x, genes = rownames(x), test = 'F', num.threads = 1, seed = 1, verbose = FALSE)")

cat(sprintf("fitPairwise, 1 thread:              %8.2f s  (%.2f us per pair)\n", t1, 1e6 * t1 / npairs))
cat(sprintf("fitPairwise, 2 threads:             %8.2f s  (speed-up %.2fx)\n", t2, t1 / t2))
cat(sprintf("mgcv gam, per pair (%d pairs):      %8.4f s  (extrapolated to all pairs: %.0f s)\n",
            nrow(pick), per_mgcv, per_mgcv * npairs))
cat(sprintf("ratio mgcv / ours per pair:          %8.0f  (target >= 500)\n", per_mgcv / (t1 / npairs)))
cat(sprintf("floor (crossprod per regulator):    %8.2f s\n", t_floor))
cat(sprintf("ratio ours / floor:                  %8.2f  (target <= 3)\n", t1 / t_floor))
cat(sprintf("peak memory increase:               %8.0f MB  (target < 2048)\n", mem[["increase"]] / 2^20))

# scaling: time against n (100 genes) and against the number of genes (n = 2,000)
ns <- c(250, 500, 1000, 2000, 4000, 8000)
gs <- c(50, 100, 200, 400, 800)
t_n <- vapply(ns, function(n) {
    d <- make_data(100, n, 3)
    bench_time(fitPairwise(d, genes = rownames(d), test = "F", verbose = FALSE, seed = 1), reps = 2)
}, numeric(1))
t_g <- vapply(gs, function(g) {
    d <- make_data(g, 2000, 4)
    bench_time(fitPairwise(d, genes = rownames(d), test = "F", verbose = FALSE, seed = 1), reps = 2)
}, numeric(1))
cat("time against n (100 genes, 9,900 pairs):\n")
print(data.frame(n = ns, seconds = round(t_n, 3)))
cat("time against genes (n = 2,000):\n")
print(data.frame(genes = gs, pairs = gs * (gs - 1), seconds = round(t_g, 3)))
cat(sprintf("log-log slopes: n %.2f, genes %.2f\n", coef(lm(log(t_n) ~ log(ns)))[2], coef(lm(log(t_g) ~ log(gs)))[2]))
png(file.path(here, "pairwise_scaling.png"), width = 900, height = 420, res = 110)
op <- par(mfrow = c(1, 2), mar = c(4.2, 4.2, 2, 1))
plot(ns, t_n, log = "xy", type = "b", pch = 19, xlab = "cells n (100 genes)", ylab = "seconds",
     main = "fitPairwise time against n")
plot(gs, t_g, log = "xy", type = "b", pch = 19, xlab = "genes (n = 2,000)", ylab = "seconds",
     main = "against genes (all ordered pairs)")
par(op)
invisible(dev.off())
cat(sprintf("machine: %s\n", machine_line()))
