#' Simulate single cells from a gene-regulatory model
#'
#' Draws cells from a [GRNModel][grnModel] in `nsamples` bulk samples: each
#' sample draws its context (shifts of the genes with `context.sd > 0` and
#' cell-type proportions), then its cells.  The C++ core runs the samples in
#' chunks of 1024 cells, each chunk with its own random stream derived from
#' `seed`, so the result is bit-identical for any `num.threads`.
#'
#' @param model A [GRNModel][grnModel].
#' @param ncells Total number of cells, split as evenly as possible across
#'   the samples; or a vector with the number of cells of each sample.
#' @param nsamples Number of bulk samples (donors, conditions).
#' @param seed Whole number seeding the simulation; `NULL` draws one from R's
#'   generator (so `set.seed()` before the call makes it reproducible).  The
#'   seed used is kept in `metadata(sce)$seed`.
#' @param num.threads Number of threads.  Models with user-supplied R edge
#'   functions always run on one thread.
#' @param verbose Show progress on the console for work that takes more
#'   than a second (by default in interactive sessions).
#'
#' @return A `SingleCellExperiment` (genes x cells) with assay `latent` (the
#'   continuous expression \eqn{x}) and, with an observation model, `counts`
#'   and `rate`: the expected counts per unit library size,
#'   \eqn{\lambda(x)} with the model's link (`softplus` or `exp`), so that a
#'   cell's counts have mean `library.size * rate`.  `rate` is the scale the
#'   counts measure, on which to compute truths that counts are compared
#'   with.  `colData` has `sample` (a factor), `celltype` (when the model has
#'   cell types) and `library.size` (with counts).  `metadata` has `model`,
#'   `seed` and `context`, a `DataFrame` with one row per sample: its shift of
#'   each gene that has a context (`shift.<gene>`) and its cell-type
#'   proportions (`prop.<type>`).
#' @seealso [simulateBulk()] to pool the cells into bulk samples as they are
#'   made.
#' @examples
#' model <- grnModel(data.frame(from = "X", to = "Y", fun = "hill_act", weight = 3, K = 2),
#'                   intercept = c(X = 2, Y = 0), observation = "poisson",
#'                   library.size = 5)
#' sce <- simulateCells(model, ncells = 2000, nsamples = 4, seed = 1)
#' sce
#' table(sce$sample)
#' plot(SummarizedExperiment::assay(sce, "latent")["X", ],
#'      SummarizedExperiment::assay(sce, "latent")["Y", ], pch = ".",
#'      xlab = "X", ylab = "Y")
#' @export
#' @importFrom SingleCellExperiment SingleCellExperiment
simulateCells <- function(model, ncells, nsamples = 1, seed = NULL, num.threads = 1,
    verbose = interactive()) {
    .check_model(model)
    cps <- .cells_per_sample(ncells, nsamples, "ncells")
    # the assays (latent; with counts also counts and rate) and a name per cell
    nassays <- if (model@observation$model != "none") 3 else 1
    .check_fits_memory(sum(cps) * (8 * length(model@genes) * nassays + 100),
        sprintf("simulating %s cells of %d genes", format(sum(cps), big.mark = ","), length(model@genes)))
    seed <- .resolve_seed(seed)
    cells <- sprintf("cell%d", seq_len(sum(cps)))
    res <- .call_core(simulate_cells_cpp(.model_to_core(model), cps, seed, .check_threads(num.threads),
        model@functions, .check_flag(verbose, "verbose"), list(model@genes, cells)))
    .cells_sce(model, res, cps, seed)
}

# The SingleCellExperiment of simulated cells; `res` is what the C++ glue
# returned, its matrices already named.
.cells_sce <- function(model, res, cps, seed) {
    with.counts <- model@observation$model != "none"
    assays <- if (with.counts) {
        list(counts = res$counts, latent = res$latent, rate = res$rate)
    } else {
        list(latent = res$latent)
    }
    samples <- .sample_names(length(cps))
    cd <- DataFrame(sample = factor(rep(samples, cps), levels = samples), row.names = colnames(res$latent))
    types <- rownames(model@celltypes)
    if (length(types)) cd$celltype <- factor(types[res$celltype + 1L], levels = types)
    if (with.counts) cd$library.size <- res$library
    SingleCellExperiment(assays = assays, colData = cd,
        metadata = list(model = model, seed = seed, context = .context_table(model, res$context, samples)))
}

.check_model <- function(model) {
    if (!is(model, "GRNModel")) {
        stop("`model` must be a GRNModel (see ?grnModel), not a ", class(model)[1L], call. = FALSE)
    }
    validObject(model)
}

.cells_per_sample <- function(ncells, nsamples, name) {
    nsamples <- .check_count(nsamples, "nsamples", max = .int_max)
    if (length(ncells) == 1L) {
        ncells <- .check_count(ncells, name, max = .int_max)
        if (ncells < nsamples) {
            stop(sprintf("`%s` (%s) must be at least `nsamples` (%s)", name, format(ncells), format(nsamples)),
                call. = FALSE)
        }
        base <- floor(ncells / nsamples)
        cps <- rep(base, nsamples) + (seq_len(nsamples) <= ncells - base * nsamples)
    } else {
        cps <- .check_count(ncells, name, len = nsamples, max = .int_max)
    }
    if (sum(cps) > .Machine$integer.max) {
        stop(sprintf("`%s` asks for %s cells; at most %d fit in one matrix", name, format(sum(cps)),
            .Machine$integer.max), call. = FALSE)
    }
    cps
}

.sample_names <- function(n) sprintf(paste0("S%0", nchar(n), "d"), seq_len(n))

# Runs a core call and re-raises its errors without the C++ call in them.
.call_core <- function(expr) {
    tryCatch(expr, error = function(e) stop(conditionMessage(e), call. = FALSE))
}

.context_table <- function(model, ctx, samples) {
    out <- DataFrame(row.names = samples)
    has <- model@context.sd > 0
    for (v in which(has)) out[[paste0("shift.", model@genes[v])]] <- ctx$shift[v, ]
    types <- rownames(model@celltypes)
    for (t in seq_along(types)) out[[paste0("prop.", types[t])]] <- ctx$prop[t, ]
    out
}
