# FF part 2 (p.resid, issue 11 item 1): size and power of the HSIC test of
# the bulk residual against the bulk regulator, with the null made by
# refitting (the package's test) next to the previous test (HSIC gamma
# approximation on the fitted residual, whose null ignores the fit).
#
# Size: affine X -> Y (noise.scale X = 1, Y = 0.5, the issue's design),
# Gaussian, Laplace or skewed (Gamma) cause and noise in pools of 3 and 30
# cells (500 samples); Gaussian pools of 10 cells at 200, 500 and 2,000
# samples.  Power: Michaelis-Menten (hill_act, n = 1), Hill (n = 3),
# cubic and sin edges at 500 samples of 10 cells (a quadratic edge is a
# null of this part when cells are Gaussian within samples: the mean of
# f(X_i) given their mean is f of the mean plus a function of the
# within-sample variance, independent of the mean).
#   Rscript bench/bench_ff_resid.R                   (about 40 minutes on 2 cores)
#   BENCH_RESID_REPLICATES=100 Rscript bench/bench_ff_resid.R
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
    library(BiocParallel)
})
source("bench/lib/timing.R")
R <- as.integer(Sys.getenv("BENCH_RESID_REPLICATES", "600"))
cat(machine_line(), "\n")

one <- function(fun, n, noise, cells, nsamples, r) {
    edge <- data.frame(from = "X", to = "Y", fun = fun, weight = if (fun == "cubic") 0.3 else 1,
        K = if (fun == "affine") NA else 1, n = n)
    model <- grnModel(edge, noise = c(X = noise, Y = noise), noise.scale = c(X = 1, Y = 0.5))
    sim <- simulateBulk(model, nsamples = nsamples, pool.size = cells, keep.cells = TRUE, seed = r,
        verbose = FALSE)
    ff <- functionalConsistency(metadata(sim)$cells, sim, nboot = 0, seed = r)
    # the previous test: HSIC (gamma approximation) of the fitted residual
    B <- assay(sim, "latent")
    fit <- fitPairwise(B, pairs = data.frame("X", "Y"), test = "F", verbose = FALSE)
    x <- B["X", ]
    res <- B["Y", ] - bulkcausal:::.curve_values(fit, 1L, matrix(x))[, 1]
    old <- unname(bulkcausal:::hsic_test_cpp(x, res, 0L, r)["p.value"])
    c(new = ff$p.resid, old = old)
}

designs <- rbind(
    expand.grid(fun = "affine", n = NA, noise = c("gaussian", "laplace", "gamma"), cells = c(3L, 30L),
        nsamples = 500L, stringsAsFactors = FALSE),
    expand.grid(fun = "affine", n = NA, noise = "gaussian", cells = 10L, nsamples = c(200L, 500L, 2000L),
        stringsAsFactors = FALSE),
    data.frame(fun = c("hill_act", "hill_act", "cubic", "sin"), n = c(1, 3, NA, 1), noise = "gaussian",
        cells = 10L, nsamples = 500L))
t0 <- Sys.time()
rows <- lapply(seq_len(nrow(designs)), function(i) {
    d <- designs[i, ]
    reps <- if (d$nsamples >= 2000L) max(50L, R %/% 3L) else R
    p <- bplapply(seq_len(reps), function(r) one(d$fun, d$n, d$noise, d$cells, d$nsamples, r),
        BPPARAM = MulticoreParam(2))
    p <- do.call(rbind, p)
    data.frame(d, replicates = reps, new = mean(p[, "new"] < 0.05, na.rm = TRUE),
        old = mean(p[, "old"] < 0.05, na.rm = TRUE), se.at.0.05 = sqrt(0.05 * 0.95 / reps),
        mean.p.new = mean(p[, "new"], na.rm = TRUE))
})
cat(sprintf("total %.1f min\n\n", as.numeric(Sys.time() - t0, units = "mins")))
cat("Rejection at 0.05 of p.resid (new: null refitted; old: gamma approximation on the fitted residual);\n")
cat("affine rows are sizes (nominal 0.05), the others power:\n\n")
print(format(do.call(rbind, rows), digits = 3), row.names = FALSE)
