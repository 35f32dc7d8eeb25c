# Speed of the count-aware fit: all ordered pairs of 500 genes x 2,000 cells
# (249,500 pairs), one thread, one run each (a warm-up would double a slow
# run), against the plain fit of the same normalised counts in the same run
# (target: count-aware within 10x the plain fit).
# The counts are Poisson with mean s * softplus(z), z the latent values of
# bench_pairwise.R's network standardised per gene, each gene scaled to 5
# counts per cell on average.  Timings are printed as they are made.
#   Rscript bench/bench_counts_speed.R
suppressPackageStartupMessages(library(bulkcausal))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
source(file.path(here, "lib", "pairwise_data.R"))
x <- make_data(500, 2000, 1)
set.seed(3)
z <- (x - rowMeans(x)) / apply(x, 1, sd)
rate <- log1p(exp(z))
rate <- rate * 5 / rowMeans(rate)
s <- exp(rnorm(ncol(x), 0, 0.3) - 0.045)
cnt <- matrix(as.numeric(rpois(length(rate), sweep(rate, 2, s, `*`))), nrow(x), dimnames = dimnames(x))
norm <- sweep(cnt, 2, s, `/`)
cat(sprintf("data: %d genes x %d cells, %.1f counts per cell and gene\n", nrow(cnt), ncol(cnt), mean(cnt)))
g <- rownames(cnt)
t_f <- system.time(fitPairwise(norm, genes = g, test = "F", seed = 1, verbose = FALSE))[["elapsed"]]
cat(sprintf("plain fit, F test:                 %7.2f s\n", t_f))
t_wild <- system.time(fit <- fitPairwise(norm, genes = g, seed = 1, verbose = FALSE))[["elapsed"]]
cat(sprintf("plain fit, wild test (default):    %7.2f s  (%.2fx the F test; %.0f%% of pairs at p < 0.05)\n",
    t_wild, t_wild / t_f, 100 * mean(fit$p.nonlinear < 0.05, na.rm = TRUE)))
t_rates <- system.time(bulkcausal:::.count_rates(t(cnt), s, 0))[["elapsed"]]
cat(sprintf("rates of 500 genes (EB, log-spline prior):       %7.2f s\n", t_rates))
t_aware <- system.time(fitPairwise(cnt, genes = g, counts = TRUE, size.factors = s, seed = 1,
    verbose = FALSE))[["elapsed"]]
cat(sprintf("count-aware fit (rates, deconvolved curves, rate-scale test): %7.2f s  (%.2fx the plain F fit; target <= 10x)\n",
    t_aware, t_aware / t_f))
