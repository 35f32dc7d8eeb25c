#' Simulate bulk samples by pooling simulated cells
#'
#' Each bulk sample draws its context, then `pool.size` cells from the
#' [GRNModel][grnModel], and aggregates them with `aggregation`.  Cells are
#' made and pooled one chunk at a time, so memory does not grow with the
#' number of cells unless `keep.cells = TRUE`.  The cells are exactly those
#' [simulateCells()] returns for the same seed and sample sizes, and the
#' aggregation is the code behind [aggregateCells()], so
#' `aggregateCells(cells, cells$sample, fun)` reproduces the bulk assay.
#'
#' @inheritParams simulateCells
#' @param nsamples Number of bulk samples.
#' @param pool.size Number of cells pooled into each sample: one
#'   number, or one per sample.
#' @param cells.per.sample Former name of `pool.size`, deprecated (it works,
#'   with a warning).
#' @param ... Not used: an argument not listed here is an error that names it.
#' @param aggregation How cells are pooled: `"sum"` or `"mean"` (linear),
#'   `"geomean"`, `"median"`, `"max"`, `"log1p_sum"` or `"cpm"` (non-linear);
#'   see [aggregateCells()].
#' @param keep.cells Also return the cells, as a `SingleCellExperiment` in
#'   `metadata(bulk)$cells`.
#' @param assays Which cell-level assays to aggregate: `"latent"` and, with
#'   an observation model, `"counts"` and `"rate"` (see [simulateCells()]).
#'   By default all that the model has; aggregations that need non-negative
#'   values (`"log1p_sum"`, `"cpm"`, `"geomean"`) fail on a latent expression
#'   that goes negative, in which case leave out `"latent"`.
#' @param pseudo Pseudo-count of `"geomean"`.
#'
#' @return A `SummarizedExperiment` (genes x samples) with the aggregated
#'   assays named in `assays`.  The bulk `rate` is `aggregation` applied to
#'   the cells' rates (expected counts per unit library size,
#'   \eqn{\lambda(x)}): with `"sum"` the sum of the cells' rates, with
#'   `"mean"` their mean, with `"cpm"` their sum scaled to a million per
#'   sample, and so on.  With `"sum"` and equal library sizes
#'   (`library.sdlog = 0`), `library.size * rate` is the expected bulk count;
#'   otherwise the expected bulk count is the sum of each cell's
#'   `library.size * rate`.  `colData` has `sample`, `ncells`, the context
#'   shift of each gene with a context (`shift.<gene>`), the cell-type
#'   proportions the sample drew (`prop.<type>`) and the realised cell-type
#'   counts (`ncells.<type>`).  `metadata` has `model` (the truth),
#'   `aggregation`, `seed` and, with `keep.cells = TRUE`, `cells`.
#' @examples
#' model <- grnModel(data.frame(from = "X", to = "Y", fun = "sin", n = 2),
#'                   intercept = c(X = 1, Y = 0))
#' bulk <- simulateBulk(model, nsamples = 200, pool.size = 10,
#'                      aggregation = "mean", seed = 1)
#' bulk
#' x <- SummarizedExperiment::assay(bulk)
#' plot(x["X", ], x["Y", ], xlab = "mean X", ylab = "mean Y")
#' @export
#' @importFrom SummarizedExperiment SummarizedExperiment
#' @importFrom S4Vectors metadata
simulateBulk <- function(model, nsamples, pool.size = 100, aggregation = "mean",
    keep.cells = FALSE, assays = NULL, pseudo = 1, seed = NULL, num.threads = 1,
    BPPARAM = SerialParam(), verbose = interactive(), ..., cells.per.sample) {
    .check_extra_args("simulateBulk",
        setdiff(names(formals(sys.function())), "cells.per.sample"), ...)
    .renamed_args("simulateBulk", c(cells.per.sample = "pool.size"))
    .check_model(model)
    nsamples <- .check_count(nsamples, "nsamples", max = .int_max)
    cps <- .check_count(pool.size, "pool.size", len = c(1L, nsamples),
        max = .int_max)
    # totals before rep_len(): a vector of nsamples sizes can itself be huge
    total <- if (length(cps) == 1L) cps * nsamples else sum(cps)
    if (total > .Machine$integer.max && isTRUE(keep.cells)) {
        stop("`keep.cells = TRUE` with more than 2^31 - 1 cells in all",
            call. = FALSE)
    }
    aggregation <- .check_choice(aggregation, .agg_funs, "aggregation")
    keep.cells <- .check_flag(keep.cells, "keep.cells")
    pseudo <- .check_number(pseudo, "pseudo", 0, lower.open = TRUE)
    with.counts <- model@observation$model != "none"
    assays <- .check_sim_assays(assays, with.counts)
    ng <- length(model@genes)
    .check_fits_memory(nsamples * (8 * ng * length(assays) + 100) +
        if (keep.cells)
            total * (8 * ng * (if (with.counts) 3 else 1) + 100) else 0,
        sprintf("simulating %s bulk samples of %d genes%s",
            format(nsamples, big.mark = ","), ng,
            if (keep.cells) sprintf(" and keeping their %s cells",
                format(total, big.mark = ",")) else ""))
    cps <- rep_len(cps, nsamples)
    seed <- .resolve_seed(seed)
    cells <- if (keep.cells) sprintf("cell%d", seq_len(sum(cps)))
    core <- .sim_core(simulate_bulk_cpp, list(.model_to_core(model),
        seed = seed, fun = aggregation, pseudo = pseudo,
        aggregate_latent = "latent" %in% assays,
        aggregate_counts = "counts" %in% assays,
        aggregate_rate = "rate" %in% assays, keep_cells = keep.cells,
        nthreads = .check_threads(num.threads),
        custom = model@functions), model@genes)
    res <- .simulate_units(core, cps, cells, BPPARAM,
        .check_flag(verbose, "verbose"), "simulating samples")
    genes <- model@genes
    samples <- .sample_names(nsamples)
    out <- list()
    if ("counts" %in% assays) out$counts <- res$bulk_counts
    if ("latent" %in% assays) out$latent <- res$bulk_latent
    if ("rate" %in% assays) out$rate <- res$bulk_rate
    out <- lapply(out, function(m) { dimnames(m) <- list(genes, samples); m })
    cd <- DataFrame(sample = factor(samples, levels = samples),
        ncells = as.integer(cps), row.names = samples)
    cd <- cbind(cd, .context_table(model, res$context, samples))
    types <- rownames(model@celltypes)
    for (t in seq_along(types))
        cd[[paste0("ncells.", types[t])]] <- res$context$type_count[t, ]
    meta <- list(model = model, aggregation = aggregation, seed = seed)
    if (keep.cells) meta$cells <- .cells_sce(model, res, cps, seed)
    SummarizedExperiment(assays = out, colData = cd, metadata = meta)
}

# The cell-level assays simulateBulk aggregates: all the model has by
# default.  The error names the values that are not available.
.check_sim_assays <- function(assays, with.counts) {
    available <- c("latent", if (with.counts) c("counts", "rate"))
    if (is.null(assays)) return(available)
    bad <- if (is.character(assays)) setdiff(assays, available) else assays
    if (!is.character(assays) || length(assays) == 0L || length(bad)) {
        hint <- if (!with.counts && any(bad %in% c("counts", "rate"))) {
            " ('counts' and 'rate' need an observation model, see ?grnModel)"
        } else {
            ""
        }
        stop(sprintf("`assays` must name cell-level assays among %s, not %s%s",
            paste(sprintf("'%s'", available), collapse = ", "), .fmt_value(bad),
            hint), call. = FALSE)
    }
    assays
}
