# The audit of an atlas-size, HDF5-backed SingleCellExperiment (issue 14):
# 1,000,000 cells of 20 genes (Poisson counts of the audit benchmarks'
# model family, 200 samples of 5,000 cells), the counts in an HDF5 file
# chunked by cells as 10x files are.  The data are built first (in their
# own process); the audit then runs in a fresh R process that opens the
# file, and the process's peak resident memory (VmHWM, the whole process:
# R, the packages, the data read and the audit) is reported.  Target: peak
# under 4 GiB.  The cell level uses max.cells cells (default 50,000), the
# pseudobulk all 1,000,000.
#   Rscript bench/bench_atlas.R
#   BENCH_ATLAS_CELLS=200000 Rscript bench/bench_atlas.R
#   BENCH_ATLAS_WORKERS=2 Rscript bench/bench_atlas.R   (MulticoreParam(2))
source("bench/lib/timing.R")
CELLS <- as.numeric(Sys.getenv("BENCH_ATLAS_CELLS", "1e6"))
WORKERS <- as.integer(Sys.getenv("BENCH_ATLAS_WORKERS", "1"))
dir <- tempfile("atlas")
dir.create(dir)

build <- function(dir, cells) {
    suppressPackageStartupMessages({
        library(bulkcausal)
        library(SingleCellExperiment)
    })
    source("bench/lib/audit_models.R")
    model <- audit_model(1, 10L, celltypes = TRUE, celltype.alpha = 5, observation = "poisson",
        link = "softplus", library.size = 4, library.sdlog = 0.3)
    sim <- simulateCells(model, ncells = cells, nsamples = 200, seed = 1, verbose = FALSE, num.threads = 2)
    counts <- assay(sim, "counts")
    storage.mode(counts) <- "integer"
    HDF5Array::writeHDF5Array(counts, filepath = file.path(dir, "counts.h5"), name = "counts",
        chunkdim = c(nrow(counts), 10000L), verbose = FALSE)
    saveRDS(list(colData = colData(sim), rownames = rownames(sim), sf = sim$library.size),
        file.path(dir, "cells.rds"))
    c(cells = ncol(counts), mean = mean(counts))
}

audit <- function(dir, workers) {
    status <- function(key) {
        s <- readLines("/proc/self/status")
        as.numeric(gsub("[^0-9]", "", s[startsWith(s, key)])) * 1024
    }
    suppressPackageStartupMessages({
        library(bulkcausal)
        library(SingleCellExperiment)
        library(HDF5Array)
    })
    meta <- readRDS(file.path(dir, "cells.rds"))
    h5 <- HDF5Array(file.path(dir, "counts.h5"), "counts")
    rownames(h5) <- meta$rownames
    sce <- SingleCellExperiment(list(counts = h5), colData = meta$colData)
    sizeFactors(sce) <- meta$sf
    before <- status("VmRSS:")
    t0 <- Sys.time()
    bp <- if (workers > 1L) BiocParallel::MulticoreParam(workers) else BiocParallel::SerialParam()
    a <- recoverabilityAudit(sce, sample = "sample", ngenes = 20, max.pairs = 380, seed = 1, verbose = FALSE,
        BPPARAM = bp)
    secs <- as.numeric(Sys.time() - t0, units = "secs")
    list(secs = secs, before = before, peak = status("VmHWM:"), class = class(assay(sce, "counts"))[1L],
        verdicts = table(auditTable(a)$verdict), cells = ncol(a@cells))
}

cat(machine_line(), "\n")
t0 <- Sys.time()
info <- callr::r(build, list(dir, CELLS))
cat(sprintf("built %s cells x 20 genes in HDF5 (%.2f counts per cell per gene) in %.1f s\n",
    format(info[["cells"]], big.mark = ",", scientific = FALSE), info[["mean"]], as.numeric(Sys.time() - t0, units = "secs")))
res <- callr::r(audit, list(dir, WORKERS))
cat(sprintf("recoverabilityAudit (%s assay, 200 samples, 380 pairs, cell level %s cells, %d worker%s): %.1f min\n",
    res$class, format(res$cells, big.mark = ",", scientific = FALSE), WORKERS, if (WORKERS > 1L) "s" else "", res$secs / 60))
cat(sprintf("peak resident memory of the audit's process: %.2f GiB (%.2f GiB before the audit; target < 4 GiB)\n",
    res$peak / 2^30, res$before / 2^30))
cat("verdicts:", paste(names(res$verdicts), res$verdicts, sep = " ", collapse = ", "), "\n")
unlink(dir, recursive = TRUE)
