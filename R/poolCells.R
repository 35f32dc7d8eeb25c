#' Synthetic bulk samples from random pools of cells
#'
#' For data without sample labels: each pool is the aggregate of `pool.size`
#' cells drawn at random, within each level of `by` when given.
#'
#' With `replace = FALSE` the pools are disjoint: no cell is used twice, so
#' `pool.size * npools` cells must be available in each level.  With `replace =
#' TRUE` each pool is drawn afresh from all cells of its level (the cells of
#' one pool are distinct, but a cell can be in several pools).  The draws come
#' from `seed` through the package's C++ generator.
#'
#' @inheritParams aggregateCells
#' @param pool.size Number of cells per pool.
#' @param size,fun Former names of `pool.size` and `aggregation`, deprecated
#'   (they work, with a warning).
#' @param npools Number of pools (per level of `by`); by default, with
#'   `replace = FALSE`, as many disjoint pools as the smallest level holds.
#' @param by Optional grouping of the cells (a vector with one entry per
#'   cell; for a `SummarizedExperiment` also the name of a `colData`
#'   column): pools are drawn within each level.  Cells with an `NA` level
#'   are left out, with a message.
#' @param replace Whether pools may share cells (see Details).
#' @param seed Whole number; `NULL` draws one from R's generator.
#' @param ... For the `SummarizedExperiment` method, arguments of the `ANY`
#'   method.  An argument neither method takes is an error that names it.
#'
#' @return A `SummarizedExperiment` (a `SingleCellExperiment` for one) with
#'   one column per pool and the input's `rowData`.  `colData` has
#'   `pool`, the level of `by` (column `by`), `ncells`, `cells` (an
#'   `IntegerList` of the column indices of the pooled cells in `x`), and,
#'   for a `SummarizedExperiment`, the `colData` columns constant within each
#'   pool.  `metadata` has `aggregation` and `seed`.
#' @examples
#' counts <- matrix(rpois(3000, 4), nrow = 10,
#'                  dimnames = list(paste0("g", 1:10), NULL))
#' pools <- poolCells(counts, pool.size = 20, npools = 10, seed = 1)
#' pools$ncells
#' # pools within cell types
#' type <- rep(c("A", "B", "C"), 100)
#' poolCells(counts, pool.size = 10, npools = 5, by = type, seed = 1)
#' @export
setGeneric("poolCells", function(x, ...) standardGeneric("poolCells"))

#' @rdname poolCells
#' @export
#' @importFrom S4Vectors DataFrame
#' @importFrom IRanges IntegerList
#' @importFrom S4Vectors metadata<-
setMethod("poolCells", "ANY", function(x, pool.size, npools, by = NULL,
    replace = FALSE, aggregation = "sum", seed = NULL, subset.row = NULL,
    na.rm = FALSE, pseudo = 1, num.threads = 1, BPPARAM = SerialParam(),
    verbose = interactive(), ..., size, fun) {
    .check_extra_args("poolCells", names(formals(sys.function())), ...)
    .renamed_args("poolCells", c(size = "pool.size", fun = "aggregation"))
    .pool_cells(x, pool.size, npools, by, replace, aggregation, seed,
        subset.row, na.rm, pseudo, num.threads, BPPARAM, verbose,
        coldata = NULL, rowdata = NULL, assay.name = "aggregated")
})

#' @rdname poolCells
#' @export
setMethod("poolCells", "SummarizedExperiment", function(x, pool.size, npools,
    by = NULL, aggregation = "sum", ..., assay.type = "counts", size, fun) {
    .check_extra_args("poolCells",
        c(.user_args(.pool_cells, .internal_agg_args), "assay.type"), ...)
    .renamed_args("poolCells", c(size = "pool.size", fun = "aggregation"))
    cd <- colData(x)
    if (!is.null(by)) by <- .coldata_values(by, x, "by")
    name <- if (is.character(assay.type)) assay.type else "aggregated"
    .as_class_of(.pool_cells(.assay_of(x, assay.type, check = FALSE), pool.size,
        npools, by, aggregation = aggregation, ..., coldata = cd,
        rowdata = rowData(x), assay.name = name), x)
})

.pool_cells <- function(x, pool.size, npools, by = NULL, replace = FALSE,
    aggregation = "sum", seed = NULL, subset.row = NULL, na.rm = FALSE,
    pseudo = 1, num.threads = 1, BPPARAM = SerialParam(),
    verbose = FALSE, coldata, rowdata, assay.name) {
    if (missing(pool.size))
        stop("give `pool.size`, the number of cells per pool", call. = FALSE)
    size <- .check_count(pool.size, "pool.size", max = .int_max)
    replace <- .check_flag(replace, "replace")
    args <- .check_agg_args(aggregation, na.rm, pseudo)
    seed <- .resolve_seed(seed)
    n <- ncol(x)
    if (is.null(by)) {
        levels <- list(all = seq_len(n))
    } else {
        by <- .coldata_values(by, x, "by")
        if (anyNA(by))
            message(sprintf("leaving out %d cells with an NA in `by`",
                sum(is.na(by))))
        f <- if (is.factor(by)) droplevels(by) else factor(by)
        levels <- split(seq_len(n), f)
    }
    if (missing(npools) || is.null(npools)) {
        if (replace) stop("give `npools`: with `replace = TRUE` any number of pools can be drawn", call. = FALSE)
        # as many disjoint pools as the smallest level holds
        npools <- max(1L, min(lengths(levels)) %/% size)
    }
    npools <- .check_count(npools, "npools", max = .int_max)
    for (l in names(levels)) {
        have <- length(levels[[l]])
        need <- if (replace) size else size * npools
        if (have < need) {
            stop(sprintf("%s %d cells%s, but %s needs %d: lower `pool.size`%s",
                if (is.null(by)) "`x` has" else
                sprintf("level '%s' of `by` has", l), have, "",
                if (replace) sprintf("a pool of size %d", size) else
                    sprintf("%d disjoint pools of %d cells", npools, size),
                need, if (replace) "" else
                    ", lower `npools` or set `replace = TRUE`"), call. = FALSE)
        }
    }
    drawn <- draw_pools_cpp(lapply(levels, as.integer), as.integer(size),
        as.integer(npools), replace, seed)
    groups <- unlist(drawn, recursive = FALSE, use.names = FALSE)
    lev <- rep(names(levels), each = npools)
    labels <- if (is.null(by)) sprintf("pool%d", seq_along(groups)) else
        sprintf("%s.pool%d", lev, rep(seq_len(npools), length(levels)))
    names(groups) <- labels
    info <- DataFrame(pool = labels, row.names = labels)
    if (!is.null(by)) info$by <- lev
    out <- .call_core(.aggregate_any(.subset_rows(x, subset.row), groups,
        args$fun, args$pseudo, args$na.rm, .check_threads(num.threads), BPPARAM,
        .check_flag(verbose, "verbose")))
    se <- .pseudobulk_se(out, info, groups, coldata, rowdata, subset.row,
        assay.name, args$fun)
    se$cells <- IntegerList(unname(groups))
    metadata(se)$seed <- seed
    se
}
