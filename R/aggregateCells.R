#' Aggregate cells into pseudobulk samples
#'
#' Pools the cells (columns) of `x` that share a `sample` label into one
#' bulk sample per label, with a linear or a non-linear aggregation.
#'
#' @section Aggregations:
#' For the values \eqn{x_1, \dots, x_k} of one gene in the \eqn{k} cells of a
#' group:
#' \describe{
#'   \item{`"sum"`, `"mean"`}{the linear aggregations, under which causal
#'     relations can survive (Luo, Sun and Zhang, 2026).}
#'   \item{`"geomean"`}{\eqn{p (\exp(\mathrm{mean}(\log(1 + x_i / p))) - 1)},
#'     the geometric mean shifted by the pseudo-count \eqn{p} (`pseudo`); needs
#'     \eqn{x_i > -p}.}
#'   \item{`"median"`, `"max"`}{order statistics.}
#'   \item{`"log1p_sum"`}{\eqn{\log(1 + \sum x_i)}; needs \eqn{x_i \ge 0}.}
#'   \item{`"cpm"`}{the sum divided by the group's total over all genes, times
#'     \eqn{10^6} (library-size normalisation, a ratio); needs \eqn{x_i \ge
#'     0}.  A group whose total is 0 gets `NA` with a warning.}
#' }
#' `NA` and `NaN` values are an error unless `na.rm = TRUE`, which leaves them
#' out (the mean is then over the cells with a value); infinite values are
#' always an error.
#'
#' @section Performance:
#' The C++ core makes one pass over the values (over the non-zeros of a
#' `dgCMatrix`), with threads over groups.  A `DelayedArray` is read in
#' blocks along its storage order, never realised whole, with `BPPARAM` over
#' blocks: blocks of rows (`DelayedArray::rowAutoGrid`), or blocks of columns
#' (`DelayedArray::colAutoGrid`) when its chunks span all genes, as in 10x
#' HDF5 files (`TENxMatrix`) and HDF5 matrices chunked by cells, for the sum,
#' mean, `log1p_sum` and `cpm` (reading such a file by rows would read it
#' once per block).  A 10x file shown as it is stored (a `TENxMatrix`, also
#' renamed or subset, as the assay of a `SingleCellExperiment`) is read
#' straight from the file by ranges of columns, in one process, several
#' times faster than through `DelayedArray`'s blocks; a broken file (row
#' indices beyond the genes) is an error that names it.  For in-memory
#' matrices `BPPARAM` splits the genes.  The
#' result is the same for every matrix type, `num.threads` and `BPPARAM`
#' (identical, or for column blocks equal up to the rounding of sums formed
#' in another order).
#'
#' @param x A numeric matrix, `dgCMatrix` (or other sparse `Matrix`),
#'   `DelayedArray`, or a `SummarizedExperiment`/`SingleCellExperiment`.
#' @param sample The pseudobulk sample of each cell: a vector (factor,
#'   character, integer) with one entry per column, or a
#'   `DataFrame`/data.frame with one row per column, in which case each
#'   combination of values is a sample (e.g. donor and cell type).  Cells
#'   with an `NA` label are left out, with a message saying how many.  For a
#'   `SummarizedExperiment`, also the names of `colData` columns.
#' @param aggregation The aggregation, see below.
#' @param ids,fun Former names of `sample` and `aggregation`, deprecated
#'   (they work, with a warning).
#' @param subset.row Genes to aggregate: names, indices or a logical vector;
#'   `NULL` for all.
#' @param na.rm Leave out `NA` values instead of failing.
#' @param pseudo Pseudo-count of `"geomean"`.
#' @param num.threads Number of C++ threads.
#' @param BPPARAM A `BiocParallelParam` (see Performance).
#' @param verbose Show progress on the console for work that takes more
#'   than a second (by default in interactive sessions).
#' @param assay.type The assay of a `SummarizedExperiment` to aggregate.
#' @param ... For the `SummarizedExperiment` method, arguments of the
#'   `ANY` method.  An argument neither method takes is an error that names
#'   it (with this function's name for one known from other packages, e.g.
#'   scuttle's `statistics` and `ids` are `aggregation` and `sample` here).
#'
#' @return A `SummarizedExperiment` (a `SingleCellExperiment` for one) with
#'   genes as rows, their `rowData` kept, and one column per sample, ordered
#'   by the labels' levels (sorted values).  Its assay is named
#'   after `assay.type` (`"aggregated"` for a matrix).  `colData` holds the
#'   labels of each sample (column `group` for a vector), `ncells`, and, for a
#'   `SummarizedExperiment`, every `colData` column that is constant within
#'   each group.  `metadata$aggregation` records `aggregation`.
#' @seealso [poolCells()] for random pools when there are no sample labels;
#'   [simulateBulk()], which uses the same aggregation code.
#' @examples
#' counts <- matrix(rpois(2000, 5), nrow = 20,
#'                  dimnames = list(paste0("g", 1:20), paste0("c", 1:100)))
#' donor <- rep(c("d1", "d2", "d3", "d4"), each = 25)
#' pb <- aggregateCells(counts, donor, aggregation = "sum")
#' SummarizedExperiment::assay(pb)[1:3, ]
#' pb$ncells
#'
#' # a non-linear aggregation, on sparse input
#' sparse <- Matrix::Matrix(counts, sparse = TRUE)
#' aggregateCells(sparse, donor, aggregation = "log1p_sum")
#'
#' # samples from two columns of a SingleCellExperiment
#' sce <- SingleCellExperiment::SingleCellExperiment(list(counts = counts))
#' sce$donor <- donor
#' sce$condition <- rep(c("ctrl", "stim"), 50)
#' aggregateCells(sce, c("donor", "condition"))
#' @export
setGeneric("aggregateCells", function(x, ...) standardGeneric("aggregateCells"))

#' @rdname aggregateCells
#' @export
#' @importFrom SummarizedExperiment SummarizedExperiment
#' @importFrom BiocParallel SerialParam
setMethod("aggregateCells", "ANY", function(x, sample, aggregation = "sum",
    subset.row = NULL, na.rm = FALSE, pseudo = 1, num.threads = 1,
    BPPARAM = SerialParam(), verbose = interactive(), ..., ids, fun) {
    .check_extra_args("aggregateCells", names(formals(sys.function())), ...)
    .renamed_args("aggregateCells", c(ids = "sample", fun = "aggregation"))
    .aggregate_cells(x, sample, aggregation, subset.row, na.rm, pseudo,
        num.threads, BPPARAM, verbose, coldata = NULL, rowdata = NULL,
        assay.name = "aggregated")
})

#' @rdname aggregateCells
#' @export
#' @importFrom SummarizedExperiment colData rowData
setMethod("aggregateCells", "SummarizedExperiment", function(x, sample,
    aggregation = "sum", ..., assay.type = "counts", ids, fun) {
    .check_extra_args("aggregateCells",
        c(.user_args(.aggregate_cells, .internal_agg_args), "assay.type"), ...)
    .renamed_args("aggregateCells", c(ids = "sample", fun = "aggregation"))
    cd <- colData(x)
    if (is.character(sample) && length(sample) >= 1L &&
        length(sample) < ncol(x) && all(sample %in% colnames(cd))) {
        sample <- cd[, sample, drop = FALSE]
    }
    name <- if (is.character(assay.type)) assay.type else "aggregated"
    .as_class_of(.aggregate_cells(.assay_of(x, assay.type, check = FALSE),
        sample, aggregation, ..., coldata = cd, rowdata = rowData(x),
        assay.name = name), x)
})

# (arguments of .aggregate_cells() and .pool_cells() that users do not give)
.internal_agg_args <- c("coldata", "rowdata", "assay.name")

.aggregate_cells <- function(x, sample, aggregation = "sum", subset.row = NULL,
    na.rm = FALSE, pseudo = 1, num.threads = 1, BPPARAM = SerialParam(),
    verbose = FALSE, coldata, rowdata, assay.name) {
    if (length(dim(x)) != 2L) {
        stop(sprintf("`x` must be a matrix-like object (genes in rows, cells in columns), not %s", .fmt_value(x)),
            call. = FALSE)
    }
    args <- .check_agg_args(aggregation, na.rm, pseudo)
    num.threads <- .check_threads(num.threads)
    verbose <- .check_flag(verbose, "verbose")
    g <- .groups_from_ids(sample, ncol(x))
    if (g$dropped > 0L) {
        message(sprintf("leaving out %d cell%s with an NA `sample`",
            g$dropped, if (g$dropped > 1L) "s" else ""))
    }
    out <- .call_core(.aggregate_any(.subset_rows(x, subset.row), g$groups,
        args$fun, args$pseudo, args$na.rm, num.threads, BPPARAM, verbose))
    .pseudobulk_se(out, g$info, g$groups, coldata, rowdata, subset.row,
        assay.name, args$fun)
}

# The result of aggregateCells/poolCells: `info` describes each group.
# The pseudobulk in the class of the input: a SingleCellExperiment for one
# (as scuttle's aggregateAcrossCells() gives), else a SummarizedExperiment.
#' @importClassesFrom SingleCellExperiment SingleCellExperiment
.as_class_of <- function(out, x) {
    if (is(x, "SingleCellExperiment")) as(out, "SingleCellExperiment") else out
}

.pseudobulk_se <- function(out, info, groups, coldata, rowdata, subset.row,
    assay.name, fun) {
    cd <- info
    cd$ncells <- unname(lengths(groups))
    carried <- .constant_coldata(coldata, groups)
    if (!is.null(carried)) {
        carried <- carried[, setdiff(colnames(carried), colnames(cd)),
            drop = FALSE]
        cd <- cbind(cd, carried)
    }
    assays <- list(out)
    names(assays) <- assay.name
    rd <- if (is.null(rowdata)) NULL else .subset_rows(rowdata, subset.row)
    if (is.null(rd)) {
        SummarizedExperiment(assays = assays, colData = cd,
            metadata = list(aggregation = fun))
    } else {
        SummarizedExperiment(assays = assays, colData = cd, rowData = rd,
            metadata = list(aggregation = fun))
    }
}
