#' Causal discovery at the cell level and at the bulk level
#'
#' Runs the PC algorithm ([pcalg::pc()], with the package's CI test as
#' `indepTest`) on the cells and on the bulk samples of a simulation and
#' scores both against the true graph: structural Hamming distance to the
#' true CPDAG (the equivalence class PC can recover), F1 of the skeleton and
#' F1 of the oriented edges (against the directed edges of the true CPDAG).
#'
#' @param sim A simulation: the bulk `SummarizedExperiment` of
#'   [simulateBulk()] with `keep.cells = TRUE`, or a list with `cells` (a
#'   [simulateCells()] result) and `bulk` (its aggregate).
#' @param method `"pc"`.
#' @param test The CI test, `"spline"` (default) or `"fisher"` (for jointly
#'   Gaussian data, as in the example), see [ciTest()].
#' @param ... Settings of the spline test, see [ciSuffStat()].
#' @param alpha Level of the CI tests.
#' @param assay.type The assay tested at both levels.
#'
#' @return A [S4Vectors::DataFrame] with one row per level (`cells`,
#'   `bulk`): `n` (observations), `edges` (found), `shd`, `skeleton.f1`,
#'   `orientation.f1` (`NA` when neither graph has directed edges). The PC
#'   fits are in `metadata()`.
#' @examples
#' if (requireNamespace("pcalg", quietly = TRUE)) {
#'     model <- randomGRN(6, prob = 0.4, functions = c(affine = 1), seed = 1)
#'     sim <- simulateBulk(model, nsamples = 300, cells.per.sample = 20, keep.cells = TRUE, seed = 1)
#'     # affine edges and Gaussian noise: Fisher's z test is exact here (and fast)
#'     discoverAtBothLevels(sim, test = "fisher")
#' }
#' @export
discoverAtBothLevels <- function(sim, method = "pc", test = c("spline", "fisher"), alpha = 0.01,
    assay.type = "latent", ...) {
    if (!requireNamespace("pcalg", quietly = TRUE)) {
        stop("discoverAtBothLevels() needs the pcalg package; install it with install.packages('pcalg')",
            call. = FALSE)
    }
    .check_choice(method, "pc", "method")
    test <- .check_choice(test[1L], c("spline", "fisher"), "test")
    alpha <- .check_number(alpha, "alpha", lower = 0, lower.open = TRUE)
    if (is(sim, "SummarizedExperiment") && !is.null(metadata(sim)$cells)) {
        sim <- list(cells = metadata(sim)$cells, bulk = sim)
    }
    if (!is.list(sim) || !is(sim$cells, "SummarizedExperiment") || !is(sim$bulk, "SummarizedExperiment")) {
        stop("`sim` must be a simulateBulk(keep.cells = TRUE) result or a list of `cells` and `bulk`",
            call. = FALSE)
    }
    model <- metadata(sim$cells)$model
    if (is.null(model)) model <- metadata(sim$bulk)$model
    if (!is(model, "GRNModel")) stop("`sim` does not carry its model (the truth) in metadata()", call. = FALSE)
    genes <- model@genes
    truth <- .cpdag_matrix(model)
    fits <- list()
    rows <- lapply(c("cells", "bulk"), function(level) {
        se <- sim[[level]][genes, ]
        ss <- ciSuffStat(se, method = test, assay.type = assay.type, ...)
        fit <- pcalg::pc(ss, ciIndepTest, alpha = alpha, labels = genes)
        fits[[level]] <<- fit
        est <- methods::as(fit@graph, "matrix")
        sc <- .score_graph(est, truth)
        data.frame(level = level, n = ss$n, edges = sum((est + t(est)) > 0) / 2, shd = sc$shd,
            skeleton.f1 = sc$skeleton.f1, orientation.f1 = sc$orientation.f1)
    })
    out <- DataFrame(do.call(rbind, rows))
    metadata(out) <- list(fits = fits, alpha = alpha, test = test)
    out
}

# The true CPDAG of the model as an adjacency matrix (m[i, j] = 1: i -> j or
# an undirected edge when m[j, i] = 1 too).
.cpdag_matrix <- function(model) {
    genes <- model@genes
    e <- as.data.frame(edgeTable(model))
    adj <- matrix(0, length(genes), length(genes), dimnames = list(genes, genes))
    adj[cbind(match(e$from, genes), match(e$to, genes))] <- 1
    cp <- pcalg::dag2cpdag(methods::as(adj, "graphNEL"))
    m <- methods::as(cp, "matrix")
    m[genes, genes]
}

# SHD and F1 scores of an estimated adjacency matrix against the truth (both
# in the m[i, j] = edge i -> j convention, undirected edges both ways).
.score_graph <- function(est, truth) {
    skel <- function(m) (m + t(m)) > 0
    up <- upper.tri(est)
    se <- skel(est)[up]
    st <- skel(truth)[up]
    f1 <- function(tp, np, nt) if (np + nt == 0) NA_real_ else 2 * tp / (np + nt)
    directed <- function(m) m == 1 & t(m) == 0
    de <- directed(est)
    dt <- directed(truth)
    # SHD: one per unordered pair whose status (absent, undirected, i -> j,
    # j -> i) differs
    code <- function(m) ifelse(m == 1 & t(m) == 1, 3, ifelse(m == 1, 1, ifelse(t(m) == 1, 2, 0)))
    list(shd = sum(code(est)[up] != code(truth)[up]),
        skeleton.f1 = f1(sum(se & st), sum(se), sum(st)),
        orientation.f1 = f1(sum(de & dt), sum(de), sum(dt)))
}
