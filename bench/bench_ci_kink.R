# The spline CI test under a kink (issue 11, item 3): does a fixed basis
# dimension k keep the test's size as the number of cells grows?
#
# Chain X -> Y -> Z, affine then hill_act (weight 3, K 0.5, n 1: a kink at
# Y = 0, where max(y, 0) starts), X Gamma(1) + 1, noise X 1, Y 0.5, Z 0.1.
# X _||_ Z | Y holds; the table is the share of replicates in which
# ciTest("X", "Z", "Y", test = "spline") rejects it at 0.05, for several k,
# with Y as it is or replaced by its ranks (knots at its quantiles), and
# with the default basis dimension (which grows with n).
#   Rscript bench/bench_ci_kink.R                      (100 replicates; about 15 minutes)
#   BENCH_KINK_REPLICATES=20 BENCH_KINK_K=10,30 Rscript bench/bench_ci_kink.R
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
})
source("bench/lib/timing.R")
R <- as.integer(Sys.getenv("BENCH_KINK_REPLICATES", "100"))
# k = 0 stands for the default (the basis grows with n, see ?ciSuffStat)
KS <- as.integer(strsplit(Sys.getenv("BENCH_KINK_K", "0,10,20,30,50"), ",")[[1]])
NS <- as.integer(strsplit(Sys.getenv("BENCH_KINK_N", "500,2000,5000"), ",")[[1]])
source("bench/lib/kink_model.R")
model <- kink_model()
cat(machine_line(), "\n")
cat(sprintf("%d replicates per entry (SE %.3f at 0.05)\n", R, sqrt(0.05 * 0.95 / R)))
t0 <- Sys.time()
for (ranks in c(FALSE, TRUE)) for (n in NS) {
    rej <- vapply(KS, function(k) mean(vapply(seq_len(R), function(r) {
        d <- assay(simulateCells(model, n, seed = r, verbose = FALSE), "latent")
        if (ranks) d[, "Y"] <- rank(d[, "Y"]) / n
        ciTest("X", "Z", "Y", data = d, test = "spline", k = if (k == 0L) NULL else k)$p.value < 0.05
    }, logical(1))), numeric(1))
    cat(sprintf("%-9s n %5d: %s\n", if (ranks) "Y ranks" else "Y", n,
        paste(sprintf("k=%s %.3f", ifelse(KS == 0L, "default", KS), rej), collapse = "  ")))
}
cat(sprintf("total %.1f min\n", as.numeric(Sys.time() - t0, units = "mins")))
