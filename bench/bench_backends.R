# Parallel back-ends against the serial run (issue 14), in one run:
#   1. fitPairwise() of all ordered pairs of 500 genes x 2,000 cells;
#   2. recoverabilityAudit() of 200,000 cells (200 samples, Poisson counts,
#      20 genes: all 380 ordered pairs).
# Each with SerialParam(), MulticoreParam(2), SnowParam(2) and
# BatchtoolsParam(2, "socket") (and, as `batchtools-local`, the same with
# the vignette's configuration for one machine); the back-end is made by the call (workers
# started and stopped inside it, start-up included in the time).  Prints
# each time, its ratio to the serial time (target <= 0.7 on 2 cores) and
# whether the result is identical to the serial one.
#   Rscript bench/bench_backends.R
#   BENCH_BACKENDS=serial,multicore Rscript bench/bench_backends.R
#   BENCH_BACKEND_CELLS=20000 Rscript bench/bench_backends.R   (a smaller audit)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(BiocParallel)
    library(SummarizedExperiment)
    library(SingleCellExperiment)
})
source("bench/lib/timing.R")
source("bench/lib/audit_models.R")

BACKENDS <- strsplit(Sys.getenv("BENCH_BACKENDS", "serial,multicore,snow,batchtools,batchtools-local"), ",")[[1]]
CELLS <- as.integer(Sys.getenv("BENCH_BACKEND_CELLS", "200000"))
WORKERS <- 2L

local_conf <- tempfile("batchtools", fileext = ".conf.R")
writeLines(c("sleep = 1", "compress = FALSE"), local_conf)
backend <- function(name) {
    switch(name,
        serial = SerialParam(),
        multicore = MulticoreParam(WORKERS),
        snow = SnowParam(WORKERS),
        batchtools = BatchtoolsParam(WORKERS, cluster = "socket", progressbar = FALSE,
            registryargs = batchtoolsRegistryargs(file.dir = tempfile("bt"))),
        # the same with the batchtools configuration the vignette gives for
        # one machine: jobs polled every second (`sleep`; the default, every
        # 5 s growing to 2 min, suits a cluster queue) and the job files
        # written uncompressed (`compress`; gzip of the results of 249,500
        # fits, 225 MB, costs more than the fits)
        `batchtools-local` = BatchtoolsParam(WORKERS, cluster = "socket", progressbar = FALSE,
            registryargs = batchtoolsRegistryargs(file.dir = tempfile("bt"), conf.file = local_conf)),
        stop("unknown back-end ", name))
}

run <- function(label, call) {
    cat(sprintf("\n%s\n", label))
    out <- list()
    for (b in BACKENDS) {
        p <- backend(b)
        t0 <- Sys.time()
        res <- call(p)
        secs <- as.numeric(Sys.time() - t0, units = "secs")
        out[[b]] <- list(res = res, secs = secs)
        ref <- out[[BACKENDS[1L]]]
        cat(sprintf("  %-11s %7.1f s   ratio to %s %.2f   identical %s\n", b, secs, BACKENDS[1L],
            secs / ref$secs, identical(res, ref$res)))
    }
    invisible(out)
}

cat(machine_line(), "\n")

# 1. all ordered pairs of 500 genes x 2,000 cells (a sine and a quadratic
# bend shared through the first gene, so that fits are not all flat)
set.seed(1)
g <- 500
n <- 2000
x <- matrix(rnorm(g * n), g, n, dimnames = list(sprintf("g%03d", seq_len(g)), NULL))
x[2:g, ] <- x[2:g, ] + 0.3 * matrix(sin(2 * x[1, ]), g - 1, n, byrow = TRUE)
run(sprintf("fitPairwise: all %s ordered pairs of %d genes x %d cells, nboot 0",
    format(g * (g - 1), big.mark = ","), g, n), function(p) {
    as.data.frame(fitPairwise(x, seed = 1, verbose = FALSE, BPPARAM = p))
})
rm(x)
invisible(gc())

# 2. the audit of CELLS cells of 20 genes (10 regulator -> target edges of
# the audit benchmarks' model family, cell types, Poisson counts at about
# 10 per cell), 200 samples
model <- audit_model(1, 10L, celltypes = TRUE, celltype.alpha = 5, observation = "poisson", link = "softplus",
    library.size = 4, library.sdlog = 0.3)
sim <- simulateCells(model, ncells = CELLS, nsamples = 200, seed = 1, verbose = FALSE, num.threads = 2)
sizeFactors(sim) <- sim$library.size
cat(sprintf("\n(%s cells, %.1f counts per cell per gene on average)\n", format(CELLS, big.mark = ","),
    mean(assay(sim, "counts"))))
run(sprintf("recoverabilityAudit: %s cells in 200 samples, all 380 ordered pairs of 20 genes, counts, nboot 100",
    format(CELLS, big.mark = ",")), function(p) {
    as.data.frame(auditTable(recoverabilityAudit(sim, sample = "sample", ngenes = 20, max.pairs = 380, seed = 1,
        verbose = FALSE, BPPARAM = p)))
})
