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
#' @param BPPARAM A BiocParallel back-end over ranges of samples (threads
#'   within each worker: `num.threads`).  Each sample's context and cells
#'   come from streams keyed on the seed and the sample's index, so the
#'   result is identical on every back-end.  The cells a worker makes travel
#'   back to the caller, which costs about as much as making them: it pays
#'   off for `simulateBulk()` (only the samples travel) and on a cluster.
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
#' model <- grnModel(data.frame(from = "X", to = "Y", fun = "hill_act",
#'                              weight = 3, K = 2),
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
simulateCells <- function(model, ncells, nsamples = 1, seed = NULL,
    num.threads = 1, BPPARAM = SerialParam(), verbose = interactive()) {
    .check_model(model)
    cps <- .cells_per_sample(ncells, nsamples, "ncells")
    # the assays (latent; with counts also counts and rate) and a name per cell
    nassays <- if (model@observation$model != "none") 3 else 1
    .check_fits_memory(sum(cps) * (8 * length(model@genes) * nassays + 100),
        sprintf("simulating %s cells of %d genes",
            format(sum(cps), big.mark = ","), length(model@genes)))
    seed <- .resolve_seed(seed)
    cells <- sprintf("cell%d", seq_len(sum(cps)))
    core <- .sim_core(simulate_cells_cpp, list(.model_to_core(model),
        seed = seed, nthreads = .check_threads(num.threads),
        custom = model@functions), model@genes)
    res <- .simulate_units(core, cps, cells, BPPARAM,
        .check_flag(verbose, "verbose"), "simulating cells")
    .cells_sce(model, res, cps, seed)
}

# The core call of a simulation as a function of a range of its samples:
# core(cps, first, first.cell, cells, verbose) makes the samples first + 1,
# first + 2, ... (their cells sizes cps, the first of them cell first.cell
# + 1, named `cells`).  Made here, not inside the caller, so that what
# travels to a worker is the model and the settings, not the caller's frame.
.sim_core <- function(fn, args, genes) {
    force(fn)
    force(args)
    force(genes)
    function(cps, first, first.cell, cells, verbose) {
        a <- c(args[1L], list(cells_per_sample = cps), args[-1L],
            list(verbose = verbose, dimnames = list(genes, cells),
                first_sample = first))
        if ("first_cell" %in% names(formals(fn))) a$first_cell <- first.cell
        .call_core(do.call(fn, a))
    }
}

# A simulation split over the workers of BPPARAM by ranges of samples: each
# sample's context and cells come from its own streams, keyed on its index
# in the whole simulation, so the bound parts are identical to one call.
#' @importFrom BiocParallel SerialParam bpnworkers
.simulate_units <- function(core, cps, cells, BPPARAM, verbose, what) {
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    if (bpnworkers(BPPARAM) <= 1L || length(cps) < 2L)
        return(core(cps, 0, 0, cells, verbose))
    units <- .work_units(seq_along(cps),
        .n_units(length(cps), BPPARAM, verbose))
    first.cell <- c(0, cumsum(cps))
    tasks <- lapply(units, function(j) {
        n0 <- first.cell[j[1L]]
        list(cps = cps[j], first = j[1L] - 1, first.cell = n0,
            cells = if (!is.null(cells)) cells[n0 + seq_len(sum(cps[j]))])
    })
    parts <- .run_units(tasks, .sim_unit, core = core, BPPARAM = BPPARAM,
        sizes = lengths(units), what = "samples", progress = verbose,
        label = what)
    .bind_sim_parts(parts)
}

.sim_unit <- function(task, core)
    core(task$cps, task$first, task$first.cell, task$cells, FALSE)

# The parts of a split simulation bound in sample order: matrices (genes x
# cells or samples) by columns, per-cell vectors end to end, the per-sample
# context matrices by columns.
.bind_sim_parts <- function(parts) {
    fields <- setdiff(names(parts[[1L]]), "context")
    out <- lapply(fields, function(f) {
        v <- lapply(parts, `[[`, f)
        if (is.matrix(v[[1L]])) do.call(cbind, v) else
            unlist(v, use.names = FALSE)
    })
    names(out) <- fields
    ctx <- names(parts[[1L]]$context)
    out$context <- lapply(ctx, function(f) do.call(cbind,
        lapply(parts, function(p) p$context[[f]])))
    names(out$context) <- ctx
    out
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
    cd <- DataFrame(sample = factor(rep(samples, cps), levels = samples),
        row.names = colnames(res$latent))
    types <- rownames(model@celltypes)
    if (length(types))
        cd$celltype <- factor(types[res$celltype + 1L], levels = types)
    if (with.counts) cd$library.size <- res$library
    SingleCellExperiment(assays = assays, colData = cd,
        metadata = list(model = model, seed = seed,
            context = .context_table(model, res$context, samples)))
}

.check_model <- function(model) {
    if (!is(model, "GRNModel")) {
        stop("`model` must be a GRNModel (see ?grnModel), not a ",
            class(model)[1L], call. = FALSE)
    }
    validObject(model)
}

.cells_per_sample <- function(ncells, nsamples, name) {
    nsamples <- .check_count(nsamples, "nsamples", max = .int_max)
    if (length(ncells) == 1L) {
        ncells <- .check_count(ncells, name, max = .int_max)
        if (ncells < nsamples) {
            stop(sprintf("`%s` (%s) must be at least `nsamples` (%s)",
                name, format(ncells), format(nsamples)), call. = FALSE)
        }
        base <- floor(ncells / nsamples)
        cps <- rep(base, nsamples) +
            (seq_len(nsamples) <= ncells - base * nsamples)
    } else {
        cps <- .check_count(ncells, name, len = nsamples, max = .int_max)
    }
    if (sum(cps) > .Machine$integer.max) {
        stop(sprintf("`%s` asks for %s cells; at most %d fit in one matrix",
            name, format(sum(cps)), .Machine$integer.max), call. = FALSE)
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
    for (v in which(has))
        out[[paste0("shift.", model@genes[v])]] <- ctx$shift[v, ]
    types <- rownames(model@celltypes)
    for (t in seq_along(types))
        out[[paste0("prop.", types[t])]] <- ctx$prop[t, ]
    out
}
