# aggregateCells() of column-stored HDF5 matrices against the same matrix in
# memory (dgCMatrix), and against reading by rows as the package did before
# (the row-block path, forced here).  Two on-disk layouts, both stored by
# cells:
#   tenx   the 10x Genomics sparse format (data / indices / indptr / shape,
#          gzip level 4 in chunks of 80,000 values, as Cell Ranger writes),
#          read through HDF5Array::TENxMatrix();
#   dense  a dense HDF5 dataset chunked all genes x 50 cells
#          (HDF5Array::writeHDF5Array).
# A 10x file is read straight from the file by the package (ranges of
# columns through HDF5Array::h5mread); the dense layout through
# DelayedArray's column blocks.  "reading alone" is that reading with
# nothing done with the blocks.
# The 10x file is written with rhdf5 directly: HDF5Array::writeTENxMatrix()
# fails with this machine's rhdf5 2.42 / HDF5Array 1.26 ("unable to open
# dataset"), while TENxMatrix() reads such files fine.
# Prints the times and the ratio on-disk / in-memory (target: within 10x).
#   Rscript bench/bench_storage_order.R
#   BENCH_SO_GENES=20000 BENCH_SO_CELLS=200000 BENCH_SO_LAYOUTS=tenx Rscript bench/bench_storage_order.R
#     (the issue's size; about 1 GB on disk, 2.4 GB in memory; the row path
#     is skipped above 50,000 cells: it rereads the file once per row block)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(HDF5Array)
    library(rhdf5)
    library(Matrix)
})
genes <- as.integer(Sys.getenv("BENCH_SO_GENES", "5000"))
cells <- as.integer(Sys.getenv("BENCH_SO_CELLS", "20000"))
layouts <- strsplit(Sys.getenv("BENCH_SO_LAYOUTS", "tenx,dense"), ",")[[1L]]
density <- as.numeric(Sys.getenv("BENCH_SO_DENSITY", "0.05"))
set.seed(1)
# the same number of detected genes in every cell, at random rows; counts 1-16
per.cell <- max(1L, round(density * genes))
i <- unlist(lapply(seq_len(cells), function(j) sort.int(sample.int(genes, per.cell)) - 1L))
x <- new("dgCMatrix", i = i, p = as.integer(c(0, cumsum(rep(as.numeric(per.cell), cells)))), Dim = c(genes, cells),
    x = as.double(pmin(16L, rgeom(length(i), 0.4) + 1L)))
rm(i)
dimnames(x) <- list(paste0("g", seq_len(genes)), paste0("c", seq_len(cells)))
ids <- sample(sprintf("s%02d", 1:40), cells, TRUE)
cat(sprintf("%d genes x %d cells, %.1f%% non-zero (%s values), 40 groups (%s)\n", genes, cells,
    100 * length(x@x) / (as.numeric(genes) * cells), format(length(x@x), big.mark = ","), format(Sys.time())))
time <- function(expr) {
    t0 <- Sys.time()
    force(expr)
    as.numeric(difftime(Sys.time(), t0, units = "secs"))
}

# A 10x file of x: written in slices so that no second copy of x is made.
write_tenx <- function(x, file, group = "matrix") {
    h5createFile(file)
    h5createGroup(file, group)
    nnz <- length(x@x)
    for (d in c("data", "indices")) {
        h5createDataset(file, paste0(group, "/", d), dims = nnz, storage.mode = "integer",
            chunk = min(80000L, nnz), level = 4)
    }
    step <- 2e7
    for (s in seq(1, nnz, by = step)) {
        e <- min(nnz, s + step - 1)
        h5write(as.integer(x@x[s:e]), file, paste0(group, "/data"), index = list(s:e))
        h5write(x@i[s:e], file, paste0(group, "/indices"), index = list(s:e))
    }
    h5write(as.double(x@p), file, paste0(group, "/indptr"))
    h5write(dim(x), file, paste0(group, "/shape"))
    h5write(rownames(x), file, paste0(group, "/genes"))
    h5write(colnames(x), file, paste0(group, "/barcodes"))
    h5closeAll()
    h5errorHandling("normal")  # (TENxMatrix() needs it here from its second call on)
    TENxMatrix(file, group)
}

mem <- time(a <- aggregateCells(x, ids, aggregation = "sum"))
cat(sprintf("in memory (dgCMatrix): %.2f s\n", mem))
for (layout in layouts) {
    file <- tempfile(fileext = ".h5")
    t0 <- Sys.time()
    h5 <- switch(layout,
        tenx = write_tenx(x, file),
        dense = writeHDF5Array(x, file, name = "counts", chunkdim = c(genes, 50L), level = 1,
            with.dimnames = TRUE, verbose = FALSE),
        stop("unknown layout ", layout))
    cat(sprintf("%s: file %.0f MB, %s, chunks %s, written in %.0f s\n", layout, file.size(file) / 2^20,
        class(h5)[1L], paste(chunkdim(h5), collapse = " x "), as.numeric(difftime(Sys.time(), t0, units = "secs"))))
    # the floor: reading the file in the column blocks the package reads,
    # doing nothing with them (a 10x file straight from the file; the dense
    # layout through DelayedArray's blocks)
    via.da <- time(DelayedArray::blockApply(h5, function(b) 0, grid = DelayedArray::colAutoGrid(h5), as.sparse = NA))
    floor <- if (layout == "tenx") {
        time(for (cc in bulkcausal:::.tenx_col_blocks(h5, DelayedArray::getAutoBlockSize() / 8)) {
            bulkcausal:::.block(h5, NULL, cc)
        })
    } else via.da
    cols <- time(b <- aggregateCells(h5, ids, aggregation = "sum"))
    stopifnot(isTRUE(all.equal(SummarizedExperiment::assay(a), SummarizedExperiment::assay(b))))
    rows <- NA_real_
    if (cells <= 50000) {
        # the row-block path, as before the column path existed
        rows <- time(r <- do.call(rbind, DelayedArray::blockApply(h5, bulkcausal:::.aggregate_block,
            groups = split(seq_along(ids), ids), fun = "sum", pseudo = 1, na.rm = FALSE, num.threads = 1L,
            grid = DelayedArray::rowAutoGrid(h5), as.sparse = NA)))
        stopifnot(isTRUE(all.equal(unname(SummarizedExperiment::assay(a)), unname(r))))
    }
    cat(sprintf("%s: by columns %.2f s (reading alone %.2f s; through DelayedArray's column blocks %.2f s); by rows %s\n",
        layout, cols, floor, via.da, if (is.na(rows)) "skipped" else sprintf("%.2f s", rows)))
    cat(sprintf("%s: ratio by columns / in memory: %.1fx (target <= 10); by columns / reading alone: %.2fx\n",
        layout, cols / mem, cols / floor))
    unlink(file)
}
