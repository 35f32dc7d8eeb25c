# aggregateCells() of a column-stored HDF5 matrix (chunks spanning all genes
# and a few cells, the layout of 10x files) against the same matrix in
# memory (dgCMatrix), and against reading it by rows as the package did
# before (the row-block path, forced here).  Prints the times and the ratio
# HDF5 / in-memory (target: within 10x).  A 10x TENxMatrix has the same
# column layout; it is not used here because TENxMatrix() cannot open files
# with this machine's rhdf5 (2.42) and HDF5Array (1.26).
#   Rscript bench/bench_storage_order.R
#   BENCH_SO_GENES=20000 BENCH_SO_CELLS=200000 Rscript bench/bench_storage_order.R   (the issue's size; about 2 GB on disk)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(HDF5Array)
    library(Matrix)
})
genes <- as.integer(Sys.getenv("BENCH_SO_GENES", "5000"))
cells <- as.integer(Sys.getenv("BENCH_SO_CELLS", "20000"))
set.seed(1)
x <- rsparsematrix(genes, cells, 0.05)
x@x <- round(abs(x@x) * 5) + 1
dimnames(x) <- list(paste0("g", seq_len(genes)), paste0("c", seq_len(cells)))
ids <- sample(sprintf("s%02d", 1:40), cells, TRUE)
file <- tempfile(fileext = ".h5")
t0 <- Sys.time()
h5 <- writeHDF5Array(x, file, name = "counts", chunkdim = c(genes, 50L), level = 1, with.dimnames = TRUE,
    verbose = FALSE)
cat(sprintf("%d genes x %d cells, %.0f%% non-zero; HDF5 file %.0f MB, chunks %s, written in %.0f s (%s)\n",
    genes, cells, 100 * length(x@x) / (genes * cells), file.size(file) / 2^20, paste(chunkdim(h5), collapse = " x "),
    as.numeric(difftime(Sys.time(), t0, units = "secs")), format(Sys.time())))
time <- function(expr) {
    t0 <- Sys.time()
    force(expr)
    as.numeric(difftime(Sys.time(), t0, units = "secs"))
}
mem <- time(a <- aggregateCells(x, ids, fun = "sum"))
# the floor: reading the file in column blocks and doing nothing with them
floor <- time(DelayedArray::blockApply(h5, function(b) 0, grid = DelayedArray::colAutoGrid(h5), as.sparse = NA))
cols <- time(b <- aggregateCells(h5, ids, fun = "sum"))
# the row-block path, as before the column path existed
rows <- time(r <- do.call(rbind, DelayedArray::blockApply(h5, bulkcausal:::.aggregate_block,
    groups = split(seq_along(ids), ids), fun = "sum", pseudo = 1, na.rm = FALSE, num.threads = 1L,
    grid = DelayedArray::rowAutoGrid(h5), as.sparse = NA)))
stopifnot(isTRUE(all.equal(SummarizedExperiment::assay(a), SummarizedExperiment::assay(b))),
    isTRUE(all.equal(unname(SummarizedExperiment::assay(a)), unname(r))))
cat(sprintf("in memory (dgCMatrix) %.2f s; HDF5 by columns %.2f s (reading alone %.2f s); HDF5 by rows %.2f s\n",
    mem, cols, floor, rows))
cat(sprintf("ratio HDF5 by columns / in memory: %.1fx (target <= 10); by rows / by columns: %.1fx\n", cols / mem,
    rows / cols))
cat(sprintf("HDF5 by columns / reading alone: %.2fx\n", cols / floor))
