# Does the audit lose verdicts by using a random subset of the cells at the
# cell level (`max.cells`, default 50,000)?  Issue 14: the default was set
# on cost; this compares it with every cell against the truth.
#
# Each replicate is a model of PAIRS disjoint edges as in
# bench_audit_counts.R (random functions, sample contexts, cell types in
# every other replicate), observed as Poisson counts at about DEPTH counts
# per cell, NSAMPLES samples of CELLS cells (200 x 1,000 = 200,000 cells).
# Truth on the rate scale: the FF distance between the bulk curve of mean
# rates of samples of CELLS cells (MC_SAMPLES samples) and the cell curve of
# the rates (a random MC_CELLS of their cells); truly consistent when at most
# the tolerance.  The audit runs twice on the same data: max.cells = 50,000
# (the default) and Inf.  Prints agreement with the truth (undetermined =
# miss), correct among decided, and the time of each.
#
#   Rscript bench/bench_max_cells.R                     (4 replicates)
#   BENCH_MC_REPLICATES=8 Rscript bench/bench_max_cells.R
#   BENCH_MC_DEPTH=30 Rscript bench/bench_max_cells.R   (counts per cell; 2 by default)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
    library(SingleCellExperiment)
    library(BiocParallel)
})
source("bench/lib/timing.R")
source("bench/lib/audit_models.R")

REPLICATES <- as.integer(Sys.getenv("BENCH_MC_REPLICATES", "4"))
PAIRS <- 10L
NSAMPLES <- 200L
CELLS <- as.integer(Sys.getenv("BENCH_MC_CELLS", "1000"))
DEPTH <- as.numeric(Sys.getenv("BENCH_MC_DEPTH", "2"))
MC_SAMPLES <- 2000L
MC_CELLS <- 200000L
TOL <- 0.1
BP <- MulticoreParam(2)

one_replicate <- function(r) {
    model <- audit_model(r, PAIRS, celltypes = r %% 2 == 0, celltype.alpha = 5, observation = "poisson",
        link = "softplus", library.size = 1, library.sdlog = 0.3)
    edges <- as.data.frame(edgeTable(model))
    big <- simulateBulk(model, nsamples = MC_SAMPLES, pool.size = CELLS, aggregation = "mean",
        keep.cells = TRUE, assays = "rate", seed = 70000 + r, verbose = FALSE, num.threads = 2)
    cells <- metadata(big)$cells
    mean.rate <- mean(assay(cells, "rate"))
    set.seed(r)
    cells <- cells[, sort(sample.int(ncol(cells), MC_CELLS))]
    truth <- functionalConsistency(cells, big, edges = edges[, c("from", "to")], truth = FALSE, nboot = 0,
        assay.type = "rate", seed = r)
    rm(big, cells)
    m <- audit_model(r, PAIRS, celltypes = r %% 2 == 0, celltype.alpha = 5, observation = "poisson",
        link = "softplus", library.size = DEPTH / mean.rate, library.sdlog = 0.3)
    sim <- simulateCells(m, ncells = NSAMPLES * CELLS, nsamples = NSAMPLES, seed = r, verbose = FALSE,
        num.threads = 2)
    sizeFactors(sim) <- sim$library.size
    do.call(rbind, lapply(c(50000, Inf), function(mc) {
        t0 <- Sys.time()
        a <- recoverabilityAudit(sim, sample = "sample", pairs = edges[, c("from", "to")], tolerance = TOL,
            max.cells = mc, seed = r, verbose = FALSE, BPPARAM = BP)
        secs <- as.numeric(Sys.time() - t0, units = "secs")
        tab <- auditTable(a)
        message(sprintf("[%s] replicate %d, max.cells %s: %.0f s", format(Sys.time(), "%H:%M:%S"), r, mc, secs))
        data.frame(replicate = r, max.cells = mc, edge = rownames(tab), fun = edges$fun,
            counts.per.cell = mean(assay(sim, "counts")), true.distance = truth$ff.distance,
            truth = ifelse(truth$ff.distance <= TOL, "consistent", "inconsistent"), ff.distance = tab$ff.distance,
            ff.lower = tab$ff.lower, ff.upper = tab$ff.upper, verdict = tab$verdict, seconds = secs)
    }))
}

cat(machine_line(), "\n")
cat(sprintf(paste("%d replicates x %d edges; %d samples x %d cells (Poisson, about %g counts per cell);",
    "truth from %d samples; tolerance %.2f; MulticoreParam(2)\n"), REPLICATES, PAIRS, NSAMPLES, CELLS, DEPTH,
    MC_SAMPLES, TOL))
res <- do.call(rbind, lapply(seq_len(REPLICATES), one_replicate))
summ <- do.call(rbind, lapply(split(res, res$max.cells), function(d) {
    decided <- d$verdict != "undetermined"
    data.frame(max.cells = d$max.cells[1], edges = nrow(d), consistent = sum(d$verdict == "consistent"),
        inconsistent = sum(d$verdict == "inconsistent"), undetermined = sum(!decided),
        agreement = mean(d$truth == d$verdict), correct.decided = mean(d$truth[decided] == d$verdict[decided]),
        interval.width = median(d$ff.upper - d$ff.lower, na.rm = TRUE),
        seconds = median(unique(d[, c("replicate", "seconds")])$seconds))
}))
print(format(summ, digits = 3), row.names = FALSE)
same <- merge(res[res$max.cells == 50000, c("replicate", "edge", "verdict")],
    res[is.infinite(res$max.cells), c("replicate", "edge", "verdict")], by = c("replicate", "edge"))
cat(sprintf("same verdict with 50,000 cells and with all: %d of %d edges\n", sum(same$verdict.x == same$verdict.y),
    nrow(same)))
print(table(`max.cells 50,000` = same$verdict.x, all = same$verdict.y))
