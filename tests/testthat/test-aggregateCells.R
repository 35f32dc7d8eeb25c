library(SummarizedExperiment)

# A counts-like matrix with many zeros; `signed` adds negative values.
make_counts <- function(ngenes = 30, ncells = 240, signed = FALSE, seed = 1) {
    set.seed(seed)
    x <- matrix(rpois(ngenes * ncells, 1.2) * rbinom(ngenes * ncells, 1, 0.5), ngenes, ncells,
        dimnames = list(paste0("g", seq_len(ngenes)), paste0("c", seq_len(ncells))))
    storage.mode(x) <- "double"
    if (signed) x <- x - 0.7 * (x > 2)
    x
}

ids <- rep(c("b", "a", "d", "c"), length.out = 240)

test_that("every aggregation matches its naive definition on dense and sparse input", {
    for (fun in c("sum", "mean", "geomean", "median", "max", "log1p_sum", "cpm")) {
        signed <- fun %in% c("sum", "mean", "median", "max")
        x <- make_counts(signed = signed)
        ref <- ref_aggregate(x, ids, fun, pseudo = 0.5)
        dense <- aggregateCells(x, ids, aggregation = fun, pseudo = 0.5)
        sparse <- aggregateCells(as(x, "dgCMatrix"), ids, aggregation = fun, pseudo = 0.5)
        expect_equal(assay(dense), ref, tolerance = 1e-12, label = fun)
        expect_identical(assay(sparse), assay(dense), label = fun)
        expect_identical(colnames(dense), c("a", "b", "c", "d"))
        expect_identical(dense$ncells, rep(60L, 4))
        expect_identical(metadata(dense)$aggregation, fun)
    }
})

test_that("sum and mean equal scuttle::aggregateAcrossCells, exactly for integer sums", {
    skip_if_not_installed("scuttle")
    x <- make_counts()
    for (input in list(x, as(x, "dgCMatrix"))) {
        sce <- SingleCellExperiment::SingleCellExperiment(list(counts = input))
        for (stat in c("sum", "mean")) {
            ours <- aggregateCells(sce, ids, aggregation = stat)
            theirs <- scuttle::aggregateAcrossCells(sce, ids, statistics = stat, use.assay.type = "counts")
            theirs <- as.matrix(assay(theirs, "counts"))[, colnames(ours)]
            if (stat == "sum") {
                expect_identical(unname(assay(ours)), unname(theirs))
            } else {
                expect_equal(unname(assay(ours)), unname(theirs), tolerance = 1e-14)
            }
        }
    }
})

test_that("dense, sparse and DelayedArray input, threads and BiocParallel give identical results", {
    x <- make_counts(ngenes = 60, signed = TRUE)
    for (fun in c("sum", "median", "max", "mean")) {
        ref <- assay(aggregateCells(x, ids, aggregation = fun))
        expect_identical(assay(aggregateCells(x, ids, aggregation = fun, num.threads = 2)), ref)
        expect_identical(assay(aggregateCells(as(x, "dgCMatrix"), ids, aggregation = fun, num.threads = 2)), ref)
        old <- DelayedArray::getAutoBlockSize()
        suppressMessages(DelayedArray::setAutoBlockSize(8 * 10 * ncol(x)))  # blocks of 10 rows
        on.exit(suppressMessages(DelayedArray::setAutoBlockSize(old)), add = TRUE)
        expect_identical(assay(aggregateCells(DelayedArray::DelayedArray(x), ids, aggregation = fun)), ref)
        expect_identical(assay(aggregateCells(DelayedArray::DelayedArray(as(x, "dgCMatrix")), ids, aggregation = fun)), ref)
        suppressMessages(DelayedArray::setAutoBlockSize(old))
    }
    # cpm normalises over all genes even when the rows are read in blocks
    y <- make_counts(ngenes = 60)
    ref <- assay(aggregateCells(y, ids, aggregation = "cpm"))
    DelayedArray::setAutoBlockSize(8 * 10 * ncol(y))
    expect_identical(assay(aggregateCells(DelayedArray::DelayedArray(y), ids, aggregation = "cpm")), ref)
    expect_identical(assay(aggregateCells(y, ids, aggregation = "cpm", BPPARAM = BiocParallel::SerialParam())), ref)
    skip_if_not_installed("HDF5Array")
    h5 <- HDF5Array::writeHDF5Array(y, filepath = tempfile(fileext = ".h5"), name = "counts")
    rownames(h5) <- rownames(y)
    expect_identical(assay(aggregateCells(h5, ids, aggregation = "cpm")), ref)
    expect_identical(assay(aggregateCells(h5, ids, aggregation = "sum")), assay(aggregateCells(y, ids, aggregation = "sum")))
})

test_that("SnowParam workers give the same result as SerialParam", {
    skip_on_os("windows")
    x <- make_counts(ngenes = 40)
    ref <- assay(aggregateCells(x, ids, aggregation = "cpm"))
    snow <- BiocParallel::SnowParam(2)
    expect_identical(assay(aggregateCells(x, ids, aggregation = "cpm", BPPARAM = snow)), ref)
    expect_identical(assay(aggregateCells(DelayedArray::DelayedArray(as(x, "dgCMatrix")), ids, aggregation = "median",
        BPPARAM = snow)), assay(aggregateCells(x, ids, aggregation = "median")))
})

test_that("ids can be factors, DataFrames of several columns, or contain NA", {
    x <- make_counts()
    f <- factor(ids, levels = c("d", "c", "b", "a", "unused"))
    res <- aggregateCells(x, f)
    expect_identical(colnames(res), c("d", "c", "b", "a"))
    expect_identical(as.character(res$group), c("d", "c", "b", "a"))

    two <- S4Vectors::DataFrame(donor = ids, cond = rep(c("ctrl", "stim", "stim"), 80))
    res2 <- aggregateCells(x, two, aggregation = "sum")
    combos <- paste(two$donor, two$cond, sep = ".")
    expect_setequal(colnames(res2), unique(combos))
    expect_identical(res2$ncells, as.integer(table(combos)[colnames(res2)]))
    expect_identical(as.character(res2$donor), sub("\\..*", "", colnames(res2)))
    expect_identical(assay(res2)[, "a.stim"], rowSums(x[, combos == "a.stim"]))

    na.ids <- ids
    na.ids[c(1, 5, 9)] <- NA
    expect_message(res3 <- aggregateCells(x, na.ids), "leaving out 3 cells with an NA `sample`")
    expect_identical(assay(res3)[, "b"], rowSums(x[, which(na.ids == "b")]))
    expect_identical(sum(res3$ncells), 237L)
})

test_that("SummarizedExperiment input: assay.type, colData ids, carried colData and rowData, subset.row", {
    x <- make_counts()
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = x, logcounts = log1p(x)))
    sce$donor <- ids
    sce$batch <- ifelse(ids %in% c("a", "b"), "B1", "B2")   # constant within donor
    sce$qc <- seq_len(ncol(x))                              # varies within donor
    rowData(sce)$symbol <- toupper(rownames(x))
    res <- aggregateCells(sce, "donor", aggregation = "mean", assay.type = "logcounts")
    # the class it was given: a SingleCellExperiment for one, else a
    # SummarizedExperiment
    expect_s4_class(res, "SingleCellExperiment")
    se <- SummarizedExperiment(list(counts = x), rowData = rowData(sce))
    expect_identical(class(aggregateCells(se, ids))[1L], "SummarizedExperiment")
    expect_identical(rowData(aggregateCells(se, ids))$symbol, toupper(rownames(x)))
    expect_identical(assay(aggregateCells(se, ids)), assay(aggregateCells(sce, ids)))
    expect_identical(assayNames(res), "logcounts")
    expect_equal(assay(res), ref_aggregate(log1p(x), ids, "mean"), tolerance = 1e-14)
    expect_identical(res$batch, c("B1", "B1", "B2", "B2"))
    expect_false("qc" %in% colnames(colData(res)))
    expect_identical(rowData(res)$symbol, toupper(rownames(x)))
    sub <- aggregateCells(sce, sce$donor, subset.row = c("g3", "g1"))
    expect_identical(rownames(sub), c("g3", "g1"))
    expect_identical(rowData(sub)$symbol, c("G3", "G1"))
    expect_identical(assay(aggregateCells(sce, ids, subset.row = 1:2)), assay(aggregateCells(x[1:2, ], ids)))
    expect_identical(rownames(aggregateCells(x, ids, subset.row = rownames(x) == "g5")), "g5")
    # an integer matrix is aggregated as double
    xi <- x
    storage.mode(xi) <- "integer"
    expect_identical(assay(aggregateCells(xi, ids)), assay(aggregateCells(x, ids)))
})

test_that("bad input gets clear errors", {
    x <- make_counts()
    se <- SummarizedExperiment(list(counts = x))
    expect_error(aggregateCells(x, ids[-1]), "`sample` has 239 values but `x` has 240 columns")
    expect_error(aggregateCells(se, ids, assay.type = "tpm"), "`assay.type` 'tpm' is not an assay of `x`; its assays are 'counts'")
    expect_error(aggregateCells(x, ids, aggregation = "mode"), "`aggregation` must be one of 'sum', 'mean'.*not 'mode'")
    expect_error(aggregateCells(x, ids, num.threads = 0), "`num.threads` must be a whole number from 1 to 1024, not 0")
    expect_error(aggregateCells(x, ids, subset.row = "nope"), "`subset.row` names gene 'nope', which is not in rownames")
    expect_error(aggregateCells(x, ids, subset.row = 0), "outside 1..30")
    expect_error(aggregateCells(matrix("a", 2, 2), 1:2), "must be numeric, not character")
    expect_error(aggregateCells(x, rep(NA, 240)), "every entry of `sample` is NA")

    y <- x
    y[4, 7] <- NA
    expect_error(aggregateCells(y, ids, aggregation = "mean"),
        "'mean' cannot take the NA value of row 'g4' in column 'c7'; remove it or set na.rm = TRUE")
    expect_error(aggregateCells(as(y, "dgCMatrix"), ids), "of row 'g4' in column 'c7'")
    keep <- which(ids == ids[7] & seq_along(ids) != 7)
    m <- aggregateCells(y, ids, aggregation = "mean", na.rm = TRUE)
    expect_equal(assay(m)["g4", ids[7]], mean(x[4, keep]))
    expect_identical(assay(m)["g5", ], assay(aggregateCells(x, ids, aggregation = "mean"))["g5", ])
    y[4, 7] <- Inf
    expect_error(aggregateCells(y, ids, na.rm = TRUE), "infinite value Inf of row 'g4'")

    neg <- x
    neg[2, 3] <- -1
    for (fun in c("cpm", "log1p_sum")) {
        expect_error(aggregateCells(neg, ids, aggregation = fun), sprintf("'%s' cannot take the negative value -1 of row 'g2' in column 'c3'", fun))
        expect_error(aggregateCells(as(neg, "dgCMatrix"), ids, aggregation = fun), "negative value -1")
    }
    expect_error(aggregateCells(neg - 2, ids, aggregation = "geomean"), "'geomean' cannot take")

    z <- x
    z[, ids == "a"] <- 0
    expect_warning(res <- aggregateCells(z, ids, aggregation = "cpm"), "1 group with a total of 0 get NA counts per million")
    expect_true(all(is.na(assay(res)[, "a"])))
})

test_that("values near the double maximum: means and medians stay finite, sums and cpm say why they cannot", {
    big <- .Machine$double.xmax
    x <- rbind(huge = c(big, big, big / 2, 4), small = c(1, 3, 5, 7))
    colnames(x) <- paste0("c", 1:4)
    ids <- c("a", "a", "b", "b")
    for (m in list(x, as(x, "dgCMatrix"))) {
        mean.out <- assay(aggregateCells(m, ids, aggregation = "mean"))
        expect_identical(mean.out["huge", "a"], big)
        expect_equal(mean.out["huge", "b"], big / 4)
        expect_identical(mean.out["small", ], c(a = 2, b = 6))
        expect_identical(assay(aggregateCells(m, ids, aggregation = "median"))["huge", "a"], big)
        expect_equal(assay(aggregateCells(m, ids, aggregation = "log1p_sum"))["huge", "a"], log(2) + log(big))
        expect_warning(s <- assay(aggregateCells(m, ids, aggregation = "sum")),
            "1 sum is beyond the double range \\(about 1.8e308\\), e.g. gene 'huge' in group 'a': returned as Inf")
        expect_identical(s["huge", "a"], Inf)
        expect_error(aggregateCells(m, ids, aggregation = "cpm"), "counts per million cannot be formed")
    }
    m <- grnModel(data.frame(from = "X", to = c("Y", "Z"), fun = c("hill_act", "hill_rep"), weight = 2))
    expect_identical(trueFunction(m, "X", "Y")(c(Inf, 1e300)), c(2, 2))
    expect_identical(trueFunction(m, "X", "Z")(c(Inf, 1e300)), c(0, 0))
})

test_that("a column-stored HDF5 matrix is read by columns and gives the in-memory results", {
    skip_if_not_installed("HDF5Array")
    set.seed(3)
    x <- matrix(rpois(40 * 500, 2), 40, 500, dimnames = list(paste0("g", 1:40), paste0("c", 1:500)))
    h5 <- HDF5Array::writeHDF5Array(x, tempfile(fileext = ".h5"), name = "x", chunkdim = c(40, 7),
        with.dimnames = TRUE)
    expect_true(bulkcausal:::.col_stored(h5))
    expect_false(bulkcausal:::.col_stored(x))
    ids <- sample(letters[1:6], 500, TRUE)
    old <- DelayedArray::getAutoBlockSize()
    on.exit(DelayedArray::setAutoBlockSize(old))
    DelayedArray::setAutoBlockSize(40 * 60 * 8)  # 60 columns per block: nine blocks
    for (f in c("sum", "mean", "cpm", "log1p_sum", "median", "geomean")) {
        expect_equal(assay(aggregateCells(h5, ids, aggregation = f)), assay(aggregateCells(x, ids, aggregation = f)),
            tolerance = 1e-14, info = f)
    }
    # a mean whose sums overflow goes to the row path, which rescues it
    big <- x
    big[1, c(1, 2)] <- .Machine$double.xmax
    h5big <- HDF5Array::writeHDF5Array(big, tempfile(fileext = ".h5"), name = "x", chunkdim = c(40, 7),
        with.dimnames = TRUE)
    expect_identical(assay(aggregateCells(h5big, rep("a", 500), aggregation = "mean"))[, "a"],
        assay(aggregateCells(big, rep("a", 500), aggregation = "mean"))[, "a"])
    expect_true(is.finite(assay(aggregateCells(h5big, rep("a", 500), aggregation = "mean"))[1, "a"]))
    # errors name the value's column in the whole matrix, not in its block
    orig <- x[3, 100]
    x[3, 100] <- NA
    h5na <- HDF5Array::writeHDF5Array(x, tempfile(fileext = ".h5"), name = "x", chunkdim = c(40, 7),
        with.dimnames = TRUE)
    expect_error(aggregateCells(h5na, ids), "NA value of row 'g3' in column 'c100'")
    for (f in c("sum", "mean")) {
        expect_equal(assay(aggregateCells(h5na, ids, aggregation = f, na.rm = TRUE)),
            assay(aggregateCells(x, ids, aggregation = f, na.rm = TRUE)), tolerance = 1e-14)
    }
    # the audit reads the same matrix by columns and gives the in-memory audit
    cd <- S4Vectors::DataFrame(sample = rep(paste0("s", 1:50), 10))
    a1 <- recoverabilityAudit(SingleCellExperiment::SingleCellExperiment(list(counts = h5), colData = cd),
        sample = "sample", ngenes = 5, nboot = 10, verbose = FALSE)
    x[3, 100] <- orig
    a2 <- recoverabilityAudit(SingleCellExperiment::SingleCellExperiment(list(counts = x), colData = cd),
        sample = "sample", ngenes = 5, nboot = 10, verbose = FALSE)
    expect_equal(as.data.frame(a1@table), as.data.frame(a2@table))
})

# x (a counts matrix) as a 10x Genomics HDF5 file, read back as a TENxMatrix
# (HDF5Array's writeTENxMatrix() fails with some rhdf5 versions, and its
# TENxMatrix() works there only with rhdf5's HDF5 errors turned on each time)
write_tenx <- function(x, i = NULL) {
    x <- as(x, "CsparseMatrix")
    file <- tempfile(fileext = ".h5")
    rhdf5::h5createFile(file)
    rhdf5::h5createGroup(file, "matrix")
    put <- function(v, what) rhdf5::h5write(v, file, paste0("matrix/", what))
    put(as.integer(x@x), "data")
    put(if (is.null(i)) x@i else i, "indices")
    put(as.double(x@p), "indptr")
    put(dim(x), "shape")
    put(rownames(x), "genes")
    put(colnames(x), "barcodes")
    rhdf5::h5closeAll()
    rhdf5::h5errorHandling("normal")
    HDF5Array::TENxMatrix(file, "matrix")
}

test_that("a 10x file (TENxMatrix) is read straight from the file and gives the in-memory results", {
    skip_if_not_installed("HDF5Array")
    skip_if_not_installed("rhdf5")
    set.seed(5)
    x <- matrix(rpois(40 * 500, 0.3), 40, 500, dimnames = list(paste0("g", 1:40), paste0("c", 1:500)))
    x[, c(1, 77, 500)] <- 0  # empty columns, first and last among them
    tx <- write_tenx(x)
    expect_true(bulkcausal:::.col_stored(tx))
    expect_false(is.null(bulkcausal:::.tenx_source(tx)))
    ids <- sample(letters[1:6], 500, TRUE)
    old <- DelayedArray::getAutoBlockSize()
    on.exit(DelayedArray::setAutoBlockSize(old))
    DelayedArray::setAutoBlockSize(600 * 8)  # blocks of about 600 stored values: ten or so
    expect_gt(length(bulkcausal:::.tenx_col_blocks(tx, 600)), 5)
    for (f in c("sum", "mean", "cpm", "log1p_sum", "median", "geomean")) {
        expect_equal(assay(aggregateCells(tx, ids, aggregation = f)), assay(aggregateCells(x, ids, aggregation = f)),
            tolerance = 1e-14, info = f)
    }
    # renamed and subset (as an assay of a SingleCellExperiment is): still
    # read from the file, rows and columns mapped through the subsets
    sub <- tx[c(5, 1:3, 40, 2), c(10:200, 5, 450:460)]
    rownames(sub) <- paste0("G", seq_len(nrow(sub)))
    ref <- x[c(5, 1:3, 40, 2), c(10:200, 5, 450:460)]
    dimnames(ref) <- dimnames(sub)
    expect_false(is.null(bulkcausal:::.tenx_source(sub)))
    # (150:192 reach back to the file's column 5: read as one range, then
    # put in order)
    for (cols in list(1:50, 150:192, seq_len(ncol(sub)))) {
        b <- bulkcausal:::.tenx_block(sub, NULL, cols)
        expect_s4_class(b, "dgCMatrix")
        expect_identical(as.matrix(b), ref[, cols, drop = FALSE])
        expect_identical(as.matrix(bulkcausal:::.block(sub, 2:4, cols)), ref[2:4, cols, drop = FALSE])
    }
    # columns scattered over the file are read as any DelayedArray
    expect_null(bulkcausal:::.tenx_block(tx, NULL, c(1, 500)))
    expect_equal(as.matrix(bulkcausal:::.block(tx, 1:40, c(1, 500))), x[, c(1, 500)])
    ids.sub <- ids[c(10:200, 5, 450:460)]
    expect_equal(assay(aggregateCells(sub, ids.sub, aggregation = "sum")), assay(aggregateCells(ref, ids.sub, aggregation = "sum")))
    # arithmetic on the way: not the file's values, read through DelayedArray
    expect_null(bulkcausal:::.tenx_source(tx * 2))
    expect_equal(assay(aggregateCells(tx * 2, ids)), 2 * assay(aggregateCells(x, ids)))
    # the audit reads the file directly and gives the in-memory audit
    x <- matrix(rpois(40 * 500, 2), 40, 500, dimnames = list(paste0("g", 1:40), paste0("c", 1:500)))
    tx <- write_tenx(x)
    cd <- S4Vectors::DataFrame(sample = rep(paste0("s", 1:50), 10))
    a1 <- recoverabilityAudit(SingleCellExperiment::SingleCellExperiment(list(counts = tx), colData = cd),
        sample = "sample", ngenes = 5, nboot = 10, verbose = FALSE)
    a2 <- recoverabilityAudit(SingleCellExperiment::SingleCellExperiment(list(counts = x), colData = cd),
        sample = "sample", ngenes = 5, nboot = 10, verbose = FALSE)
    expect_equal(as.data.frame(a1@table), as.data.frame(a2@table))
    # a broken file (a row index beyond the rows) is an error, not a crash
    bad <- as(x, "CsparseMatrix")
    i <- bad@i
    i[10] <- 45L
    expect_error(aggregateCells(write_tenx(x, i), ids), "10x file .* does not hold a valid matrix in its columns")
})
