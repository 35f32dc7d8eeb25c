# Size of p.nonlinear and of FF's p.curve in issue 11's item-4 designs:
# (1) a skewed regulator with skewed noise (x ~ Exp(1), centred Exp(1)
# noise, n = 300, 3,000 independent pairs), the wild test (default) against
# the F test; (2) affine X -> Y with Laplace, t3 or Gaussian cause and noise,
# pools of 3 cells, 300 samples: p.curve (true cell curve) and p.nonlinear
# of the bulk fit, over R replicates.
#   Rscript bench/bench_heavy_tails.R        (about 5 minutes)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
})
set.seed(11)
P <- 3000
n <- 300
x <- matrix(rexp(P * n), P)
y <- 1 + 0.5 * x + matrix(rexp(P * n) - 1, P)
m <- rbind(x, y)
rownames(m) <- c(paste0("x", seq_len(P)), paste0("y", seq_len(P)))
pr <- data.frame(paste0("x", seq_len(P)), paste0("y", seq_len(P)))
for (test in c("wild", "F")) {
    f <- fitPairwise(m, pairs = pr, test = test, seed = 1, verbose = FALSE, num.threads = 2)
    cat(sprintf("x ~ Exp(1), centred Exp(1) noise, n = %d, %d pairs: %s test rejects %.4f (SE %.4f)\n", n, P,
        test, mean(f$p.nonlinear < 0.05, na.rm = TRUE), sqrt(0.05 * 0.95 / P)))
}
R <- as.integer(Sys.getenv("BENCH_TAILS_REPLICATES", "500"))
for (noise in c("laplace", "t", "gaussian")) {
    model <- grnModel(data.frame(from = "X", to = "Y", fun = "affine", weight = 1), noise = c(X = noise, Y = noise),
        noise.scale = c(X = 1, Y = 0.5))
    res <- t(vapply(seq_len(R), function(r) {
        sim <- simulateBulk(model, nsamples = 300, pool.size = 3, keep.cells = TRUE, seed = r, verbose = FALSE)
        ff <- functionalConsistency(metadata(sim)$cells, sim, nboot = 0, assay.type = "latent", truth = TRUE,
            seed = r)
        B <- assay(sim, "latent")
        wild <- fitPairwise(B, pairs = data.frame("X", "Y"), seed = r, verbose = FALSE)
        f <- fitPairwise(B, pairs = data.frame("X", "Y"), test = "F", seed = r, verbose = FALSE)
        c(ff$p.curve, wild$p.nonlinear, f$p.nonlinear)
    }, numeric(3)))
    cat(sprintf(paste("%s cause and noise, 3 cells per sample, 300 samples, %d replicates (SE %.3f):",
        "p.curve %.3f, p.nonlinear wild %.3f, F %.3f\n"), noise, R, sqrt(0.05 * 0.95 / R), mean(res[, 1] < 0.05),
        mean(res[, 2] < 0.05), mean(res[, 3] < 0.05)))
}
