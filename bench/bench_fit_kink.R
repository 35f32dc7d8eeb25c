# Pairwise fits under a kink (issue 11, item 3): does fitPairwise()'s curve
# follow a kink as the number of cells grows, with a fixed basis dimension
# (k = 10) and with the default (k grows with n, see ?fitPairwise)?
#
# The design of bench/bench_ci_kink.R: chain X -> Y -> Z, affine then
# hill_act (weight 3, K 0.5, n 1: f(y) = 3 max(y, 0) / (0.5 + max(y, 0)), a
# kink at y = 0), X Gamma(1) + 1, noise X 1, Y 0.5, Z 0.1, no intercept of Z,
# so E[Z | Y = y] = f(y).  The pair Y -> Z is fitted on the cells' latent
# values; reported per n and k: the root mean square error of the curve over
# the cells' own y (in units of the noise sd 0.1: what a test sees of the
# bias), the coverage of the truth by pairwiseCurves()' pointwise 95%
# intervals at y = 0 (the kink itself, which no smooth curve reaches) and at
# y = -0.5, 0.5, 1, 2 (away from it), and the mean edf.
#   Rscript bench/bench_fit_kink.R                      (100 replicates; about 5 minutes)
#   BENCH_KINK_REPLICATES=20 Rscript bench/bench_fit_kink.R
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
})
source("bench/lib/timing.R")
R <- as.integer(Sys.getenv("BENCH_KINK_REPLICATES", "100"))
NS <- as.integer(strsplit(Sys.getenv("BENCH_KINK_N", "500,2000,5000,20000"), ",")[[1]])
source("bench/lib/kink_model.R")
model <- kink_model()
f <- trueFunction(model, "Y", "Z")
grid <- c(0, -0.5, 0.5, 1, 2)
cat(machine_line(), "\n")
cat(sprintf("%d replicates per row (SE of a coverage near 0.95: %.3f)\n\n", R, sqrt(0.05 * 0.95 / R)))
t0 <- Sys.time()
rows <- list()
for (n in NS) for (k in list(10L, NULL)) {
    res <- vapply(seq_len(R), function(r) {
        d <- assay(simulateCells(model, n, seed = r, verbose = FALSE), "latent")
        fit <- fitPairwise(d, pairs = data.frame("Y", "Z"), k = k, test = "F", verbose = FALSE)
        cu <- pairwiseCurves(fit, grid = grid, level = 0.95)
        truth <- f(grid)
        cover <- cu$lower <= truth & truth <= cu$upper
        rms <- sqrt(mean((pairwiseCurves(fit, grid = d["Y", ])$fit - f(d["Y", ]))^2))
        # (a point outside a replicate's range of y has no interval)
        c(rms = rms / 0.1, kink = cover[1L], away = mean(cover[-1L], na.rm = TRUE), edf = fit$edf,
            k = metadata(fit)$k)
    }, numeric(5))
    rows[[length(rows) + 1L]] <- data.frame(n = n, k = if (is.null(k)) sprintf("default (%d)", res["k", 1L]) else
        as.character(k), rms.error.in.sd = mean(res["rms", ]), coverage.at.kink = mean(res["kink", ], na.rm = TRUE),
        coverage.away = mean(res["away", ], na.rm = TRUE), edf = mean(res["edf", ]))
    message(sprintf("[%s] n %d done", format(Sys.time(), "%H:%M:%S"), n))
}
print(format(do.call(rbind, rows), digits = 3), row.names = FALSE)
cat(sprintf("\ntotal %.1f min\n", as.numeric(Sys.time() - t0, units = "mins")))
