# recoverabilityStudy's default grid: 5 edge functions x 5 aggregations x
# 6 pool sizes x 2 causes x 2 numbers of bulk samples, 20 replicates, PC at
# both levels, on two workers.  Prints the total time and the table, stores
# the result in inst/extdata/recoverability_default.rds (the vignette
# "Reproducing the theorem" draws it) and the figures in bench/study_*.png;
# then times the vignette's reduced grid.
#   Rscript bench/bench_study.R            (one to two hours on two cores; progress on stderr)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(BiocParallel)
})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
workers <- as.integer(Sys.getenv("BENCH_WORKERS", "2"))
st <- recoverabilityStudy(BPPARAM = MulticoreParam(workers), verbose = TRUE)
cat(sprintf("default grid: %d points x %d replicates in %.1f min on %d workers (%s)\n", nrow(st),
    st$replicates[1], S4Vectors::metadata(st)$seconds / 60, workers, format(Sys.time())))
saveRDS(st, file.path(here, "..", "inst", "extdata", "recoverability_default.rds"))
d <- as.data.frame(st)
options(width = 200)
cols <- c("fun", "aggregation", "cause", "nsamples", "pool.size", "ff.rate", "ci.bulk.rate",
    "ci.cells.rate", "f1.cells", "f1.bulk", "expected", "special")
print(d[, cols], row.names = FALSE, digits = 2)
# Summaries: the theorem's cell against the rest
d$cell <- ifelse(d$expected == "consistent", "affine x linear", "elsewhere")
agg <- function(v) tapply(d[[v]], list(d$cell, d$nsamples), mean)
for (v in c("ff.rate", "ci.bulk.rate", "f1.bulk", "f1.cells")) {
    cat("\nmean", v, "by (cell, nsamples)\n")
    print(round(agg(v), 3))
}
for (w in c("ff", "ci", "f1")) {
    ggplot2::ggsave(file.path(here, sprintf("study_%s.png", w)), plotRecoverability(st, w), width = 11, height = 8,
        dpi = 90)
}
t0 <- Sys.time()
small <- recoverabilityStudy(functions = c("affine", "quadratic", "sin"), aggregations = c("mean", "log1p_sum", "cpm"),
    pool.size = c(1, 10, 50), nsamples = 300, replicates = 6, discovery = FALSE, verbose = FALSE)
cat(sprintf("\nvignette's reduced grid: %.1f s on one worker\n", as.numeric(difftime(Sys.time(), t0, units = "secs"))))
