#' Causal discovery at the cell level and at the bulk level
#'
#' Runs the PC algorithm ([pcalg::pc()], with the package's CI test as
#' `indepTest`) on the cells and on the bulk samples and scores both against
#' the true graph with [scoreGraph()]: structural Hamming distance to the
#' true CPDAG (the equivalence class PC can recover), F1 of the skeleton and
#' F1 of the oriented edges (against the directed edges of the true CPDAG).
#' The truth is the simulation's model, or the known network given as
#' `graph` (real data: a signalling cascade, a curated regulon).
#'
#' Pooling loses information in two ways: the aggregation itself, and
#' fewer observations (one per sample instead of one per cell).
#' `equal.n = TRUE` separates them: a third row runs PC on a random
#' subsample of the cells of the bulk level's size.
#'
#' @param sim The data: the bulk `SummarizedExperiment` of [simulateBulk()]
#'   with `keep.cells = TRUE`, or a list with `cells` (a
#'   `SummarizedExperiment` of cells, e.g. a [simulateCells()] result or
#'   real cells) and `bulk` (their aggregate, e.g. from [aggregateCells()]
#'   or [poolCells()]).
#' @param graph The known graph to score against, in any form
#'   [scoreGraph()] takes (adjacency matrix, `graphNEL`, `igraph`, edge
#'   data.frame, [GRNModel-class]); default: the model the simulation
#'   carries.  Its genes are the ones analysed.  Without either, PC runs on
#'   all genes and the scores are `NA`.
#' @param equal.n Also run PC on the cells subsampled to the number of bulk
#'   samples (row `cells.subsampled`).
#' @param seed Seed of that subsample.
#' @param algorithm The discovery algorithm: `"pc"`.
#' @param method Former name of `algorithm`, deprecated (it works, with a
#'   warning).
#' @param test The CI test, `"spline"` (default) or `"fisher"` (for jointly
#'   Gaussian data, as in the example), see [ciTest()].
#' @param ... Settings of the spline test, see [ciSuffStat()].
#' @param alpha Level of the CI tests.
#' @param assay.type The assay tested at both levels.
#' @param BPPARAM A BiocParallel back-end over the levels (cells, bulk,
#'   subsampled cells: one worker each); threads of the spline tests are
#'   `num.threads` among `...`.  Results are identical on every back-end.
#'
#' @return A [S4Vectors::DataFrame] with one row per level (`cells`,
#'   `bulk`, and `cells.subsampled` with `equal.n = TRUE`): `n`
#'   (observations), `edges` (found), `shd`, `skeleton.precision`,
#'   `skeleton.recall`, `skeleton.f1`, `orientation.f1` (`NA` when neither
#'   graph has directed edges). The PC fits are in `metadata()`.
#' @examples
#' if (requireNamespace("pcalg", quietly = TRUE)) {
#'     model <- randomGRN(6, prob = 0.4, functions = c(affine = 1), seed = 1)
#'     sim <- simulateBulk(model, nsamples = 300, pool.size = 20,
#'                         keep.cells = TRUE, seed = 1)
#'     # affine edges and Gaussian noise: Fisher's z test is exact here (and fast)
#'     discoverAtBothLevels(sim, test = "fisher")
#' }
#' @export
discoverAtBothLevels <- function(sim, algorithm = "pc",
    test = c("spline", "fisher"), alpha = 0.01, assay.type = "latent", ...,
    graph = NULL, equal.n = FALSE, seed = 1, BPPARAM = SerialParam(), method) {
    .renamed_args("discoverAtBothLevels", c(method = "algorithm"))
    if (!requireNamespace("pcalg", quietly = TRUE)) {
        stop("discoverAtBothLevels() needs the pcalg package; install it with install.packages('pcalg')",
            call. = FALSE)
    }
    .check_choice(algorithm, "pc", "algorithm")
    test <- .check_choice(.first(test), c("spline", "fisher"), "test")
    alpha <- .check_prob(alpha, "alpha")
    if (alpha >= 1)
        stop(sprintf("`alpha` must be below 1, not %s", .fmt_value(alpha)),
            call. = FALSE)
    equal.n <- .check_flag(equal.n, "equal.n")
    seed <- .check_count(seed, "seed", min = 0)
    if (is(sim, "SummarizedExperiment") && !is.null(metadata(sim)$cells)) {
        sim <- list(cells = metadata(sim)$cells, bulk = sim)
    }
    if (!is.list(sim) || !is(sim$cells, "SummarizedExperiment") ||
        !is(sim$bulk, "SummarizedExperiment")) {
        stop("`sim` must be a simulateBulk(keep.cells = TRUE) result or a list of `cells` and `bulk`",
            call. = FALSE)
    }
    if (is.null(graph)) graph <- metadata(sim$cells)$model
    if (is.null(graph)) graph <- metadata(sim$bulk)$model
    data.genes <- intersect(rownames(sim$cells), rownames(sim$bulk))
    genes <- if (is.null(graph)) data.genes else .graph_nodes(graph, "graph")
    bad <- setdiff(genes, data.genes)
    if (length(bad)) {
        stop(sprintf(
            "`graph` names genes that are not in both `cells` and `bulk`: %s",
            .fmt_value(bad)), call. = FALSE)
    }
    if (length(genes) < 2L) stop("PC needs at least two genes", call. = FALSE)
    truth <- if (is.null(graph)) NULL else
        .to_cpdag(.graph_matrix(graph, genes, "graph"))
    cells <- sim$cells[genes, ]
    levels <- list(cells = cells, bulk = sim$bulk[genes, ])
    if (equal.n) {
        if (ncol(cells) < ncol(sim$bulk)) {
            stop(sprintf(
                "`equal.n`: there are fewer cells (%d) than bulk samples (%d)",
                ncol(cells), ncol(sim$bulk)), call. = FALSE)
        }
        keep <- sort(resample_cpp(ncol(cells), ncol(sim$bulk), 1L, FALSE,
            seed)[, 1L])
        levels$cells.subsampled <- cells[, keep]
    }
    # one unit per level: each carries its own data to a worker
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    found <- .run_units(unname(levels), .pc_level,
        settings = list(test = test, assay.type = assay.type,
            alpha = alpha, genes = genes, ...), BPPARAM = BPPARAM)
    fits <- lapply(found, `[[`, "fit")
    names(fits) <- names(levels)
    rows <- lapply(seq_along(levels), function(l) {
        est <- (methods::as(fits[[l]]@graph, "matrix") != 0) * 1
        sc <- if (is.null(truth)) lapply(.score_graph(est, est),
            function(v) NA_real_) else .score_graph(est, truth)
        data.frame(level = names(levels)[l], n = found[[l]]$n,
            edges = sum(.skeleton(est)[upper.tri(est)]),
            shd = sc$shd, skeleton.precision = sc$skeleton.precision,
            skeleton.recall = sc$skeleton.recall, skeleton.f1 = sc$skeleton.f1,
            orientation.f1 = sc$orientation.f1)
    })
    out <- DataFrame(do.call(rbind, rows))
    metadata(out) <- list(fits = fits, alpha = alpha, test = test)
    out
}

# PC on one level's data (a SummarizedExperiment of the graph's genes):
# the fit and the number of observations.
.pc_level <- function(data, settings) {
    ss <- do.call(ciSuffStat, c(list(data),
        settings[setdiff(names(settings), c("alpha", "genes"))]))
    list(fit = pcalg::pc(ss, ciIndepTest, alpha = settings$alpha,
        labels = settings$genes), n = ss$n)
}

# SHD, precision, recall and F1 of an estimated adjacency matrix against the
# truth (both in the m[i, j] = edge i -> j convention, undirected edges both
# ways, the same genes in the same order).
.score_graph <- function(est, truth) {
    up <- upper.tri(est)
    se <- .skeleton(est)[up]
    st <- .skeleton(truth)[up]
    ratio <- function(a, b) if (b == 0) NA_real_ else a / b
    f1 <- function(tp, np, nt) if (np + nt == 0) NA_real_ else
        2 * tp / (np + nt)
    directed <- function(m) m == 1 & t(m) == 0
    de <- directed(est)
    dt <- directed(truth)
    # SHD: one per unordered pair whose status (absent, undirected, i -> j,
    # j -> i) differs
    code <- function(m)
        ifelse(m == 1 & t(m) == 1, 3, ifelse(m == 1, 1,
            ifelse(t(m) == 1, 2, 0)))
    tps <- sum(se & st)
    tpd <- sum(de & dt)
    list(shd = sum(code(est)[up] != code(truth)[up]),
        skeleton.precision = ratio(tps, sum(se)),
        skeleton.recall = ratio(tps, sum(st)),
        skeleton.f1 = f1(tps, sum(se), sum(st)),
        orientation.precision = ratio(tpd, sum(de)),
        orientation.recall = ratio(tpd, sum(dt)),
        orientation.f1 = f1(tpd, sum(de), sum(dt)))
}
