#' Simulate bulk samples by pooling simulated cells
#'
#' Each bulk sample draws its context, then `cells.per.sample` cells from the
#' [GRNModel][grnModel], and aggregates them with `aggregation`.  Cells are
#' made and pooled one chunk at a time, so memory does not grow with the
#' number of cells unless `keep.cells = TRUE`.  The cells are exactly those
#' [simulateCells()] returns for the same seed and sample sizes, and the
#' aggregation is the code behind [aggregateCells()], so
#' `aggregateCells(cells, cells$sample, fun)` reproduces the bulk assay.
#'
#' @inheritParams simulateCells
#' @param nsamples Number of bulk samples.
#' @param cells.per.sample Number of cells pooled into each sample: one
#'   number, or one per sample.
#' @param aggregation How cells are pooled: `"sum"` or `"mean"` (linear),
#'   `"geomean"`, `"median"`, `"max"`, `"log1p_sum"` or `"cpm"` (non-linear);
#'   see [aggregateCells()].
#' @param keep.cells Also return the cells, as a `SingleCellExperiment` in
#'   `metadata(bulk)$cells`.
#' @param assays Which cell-level assays to aggregate: `"latent"` and, with
#'   an observation model, `"counts"`.  By default both; aggregations that
#'   need non-negative values (`"log1p_sum"`, `"cpm"`, `"geomean"`) fail on a
#'   latent expression that goes negative, in which case aggregate the counts
#'   alone.
#' @param pseudo Pseudo-count of `"geomean"`.
#'
#' @return A `SummarizedExperiment` (genes x samples) with the aggregated
#'   assays.  `colData` has `sample`, `ncells`, the context shift of each gene
#'   with a context (`shift.<gene>`), the cell-type proportions the sample
#'   drew (`prop.<type>`) and the realised cell-type counts
#'   (`ncells.<type>`).  `metadata` has `model` (the truth), `aggregation`,
#'   `seed` and, with `keep.cells = TRUE`, `cells`.
#' @examples
#' model <- grnModel(data.frame(from = "X", to = "Y", fun = "sin", n = 2),
#'                   intercept = c(X = 1, Y = 0))
#' bulk <- simulateBulk(model, nsamples = 200, cells.per.sample = 10,
#'                      aggregation = "mean", seed = 1)
#' bulk
#' x <- SummarizedExperiment::assay(bulk)
#' plot(x["X", ], x["Y", ], xlab = "mean X", ylab = "mean Y")
#' @export
#' @importFrom SummarizedExperiment SummarizedExperiment
#' @importFrom S4Vectors metadata
simulateBulk <- function(model, nsamples, cells.per.sample = 100, aggregation = "mean",
    keep.cells = FALSE, assays = NULL, pseudo = 1, seed = NULL, num.threads = 1,
    verbose = interactive()) {
    .check_model(model)
    nsamples <- .check_count(nsamples, "nsamples")
    cps <- .check_count(cells.per.sample, "cells.per.sample", len = c(1L, nsamples))
    cps <- rep_len(cps, nsamples)
    if (sum(cps) > .Machine$integer.max && isTRUE(keep.cells)) {
        stop("`keep.cells = TRUE` with more than 2^31 - 1 cells in all", call. = FALSE)
    }
    aggregation <- .check_choice(aggregation, .agg_funs, "aggregation")
    keep.cells <- .check_flag(keep.cells, "keep.cells")
    pseudo <- .check_number(pseudo, "pseudo", 0, lower.open = TRUE)
    with.counts <- model@observation$model != "none"
    available <- c("latent", if (with.counts) "counts")
    if (is.null(assays)) assays <- available
    bad <- setdiff(assays, available)
    if (!is.character(assays) || length(assays) == 0L || length(bad)) {
        stop(sprintf("`assays` must name cell-level assays among %s, not %s",
            paste(sprintf("'%s'", available), collapse = ", "), .fmt_value(assays)), call. = FALSE)
    }
    seed <- .resolve_seed(seed)
    cells <- if (keep.cells) sprintf("cell%d", seq_len(sum(cps)))
    res <- .call_core(simulate_bulk_cpp(.model_to_core(model), cps, seed, aggregation, pseudo,
        "latent" %in% assays, "counts" %in% assays, keep.cells, .check_threads(num.threads),
        model@functions, .check_flag(verbose, "verbose"), list(model@genes, cells)))
    genes <- model@genes
    samples <- .sample_names(nsamples)
    out <- list()
    if ("counts" %in% assays) out$counts <- res$bulk_counts
    if ("latent" %in% assays) out$latent <- res$bulk_latent
    out <- lapply(out, function(m) { dimnames(m) <- list(genes, samples); m })
    cd <- DataFrame(sample = factor(samples, levels = samples), ncells = as.integer(cps), row.names = samples)
    cd <- cbind(cd, .context_table(model, res$context, samples))
    types <- rownames(model@celltypes)
    for (t in seq_along(types)) cd[[paste0("ncells.", types[t])]] <- res$context$type_count[t, ]
    meta <- list(model = model, aggregation = aggregation, seed = seed)
    if (keep.cells) meta$cells <- .cells_sce(model, res, cps, seed)
    SummarizedExperiment(assays = out, colData = cd, metadata = meta)
}
