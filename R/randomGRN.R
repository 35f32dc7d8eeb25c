#' Random gene-regulatory models
#'
#' Draws a random DAG (Erdos-Renyi or scale-free), a function for each edge
#' from a chosen mix, and the edge parameters, all from `seed`.
#'
#' Genes are put in a random causal order.  `"er"` adds each forward edge
#' with probability `prob`; `"scalefree"` adds genes one at a time, each
#' taking `m` parents among the earlier ones with probability proportional
#' to their degree + 1 (Barabasi-Albert), which gives hub regulators.
#'
#' Weights are uniform on `weight.range`, negative with probability
#' `negative.prob` (except for the Hill functions, whose sign comes from
#' activation or repression).  Hill edges get `K` uniform on `K.range` and a
#' whole Hill coefficient `n` in 1 to 4; sigmoid and tanh edges get their
#' midpoint `K` uniform on `K.range` and slope 1; other edges use the
#' defaults of [grnModel()].  Choose `intercept` and `K.range` together so
#' that regulators vary across the non-linear part of their functions.
#'
#' @param ngenes Number of genes, 2 to 100,000.
#' @param type `"er"` or `"scalefree"`.
#' @param prob Edge probability for `"er"`; default 2 / (ngenes - 1), about
#'   two edges per gene.
#' @param m Parents per gene for `"scalefree"`.
#' @param functions Named numeric vector of relative frequencies of the edge
#'   functions (names among those of [grnModel()]).
#' @param weight.range Range of absolute weights.
#' @param negative.prob Probability that a non-Hill weight is negative.
#' @param K.range Range of `K` for Hill, sigmoid and tanh edges.
#' @param seed Whole number; `NULL` draws one from R's generator.
#' @param ... Further arguments of [grnModel()] (intercept, noise, contexts,
#'   cell types, observation model).
#' @param intercept Passed to [grnModel()]; default 2.
#'
#' @return A [GRNModel][grnModel] with genes `G1`, `G2`, ...
#' @examples
#' model <- randomGRN(20, seed = 1)
#' model
#' head(edgeTable(model))
#' randomGRN(30, type = "scalefree", m = 2,
#'           functions = c(affine = 1, hill_act = 1, sin = 1), seed = 2)
#' @export
randomGRN <- function(ngenes, type = c("er", "scalefree"), prob = NULL, m = 1,
    functions = c(affine = 0.5, hill_act = 0.25, hill_rep = 0.25),
    weight.range = c(0.5, 1.5), negative.prob = 0.3, K.range = c(1, 3),
    seed = NULL, intercept = 2, ...) {
    # a genome has fewer than 100,000 genes; the edges are drawn in O(ngenes^2)
    # time (about 10 s at 100,000)
    ngenes <- .check_count(ngenes, "ngenes", min = 2, max = 1e5)
    type <- .check_choice(.first(type), c("er", "scalefree"), "type")
    if (is.null(prob)) prob <- min(1, 2 / (ngenes - 1))
    prob <- .check_number(prob, "prob", 0)
    if (prob > 1)
        stop("`prob` must be between 0 and 1, not ", format(prob),
            call. = FALSE)
    m <- .check_count(m, "m")
    if (!is.numeric(functions) || is.null(names(functions)) ||
        any(!is.finite(functions)) || any(functions < 0) ||
        sum(functions) <= 0) {
        stop("`functions` must be a named vector of non-negative frequencies, not ", .fmt_value(functions), call. = FALSE)
    }
    bad <- setdiff(names(functions), .edge_funs)
    if (length(bad)) {
        stop(sprintf("`functions` names unknown function %s", .fmt_value(bad)),
            call. = FALSE)
    }
    .check_range <- function(r, name, lower) {
        if (!is.numeric(r) || length(r) != 2L || any(!is.finite(r)) ||
            r[1L] > r[2L] || r[1L] < lower) {
            stop(sprintf(
                "`%s` must be two increasing finite numbers >= %s, not %s",
                name, lower, .fmt_value(r)), call. = FALSE)
        }
        r
    }
    weight.range <- .check_range(weight.range, "weight.range", 0)
    K.range <- .check_range(K.range, "K.range", 1e-8)
    negative.prob <- .check_prob(negative.prob, "negative.prob", closed = TRUE)
    seed <- .resolve_seed(seed)

    g <- random_dag_cpp(as.integer(ngenes), type == "scalefree", prob,
        as.integer(m), seed)
    u <- g$u
    cum <- cumsum(functions) / sum(functions)
    fun <- names(functions)[findInterval(u[, 1L], cum, left.open = FALSE) + 1L]
    hill <- fun %in% c("hill_act", "hill_rep")
    weight <- weight.range[1L] + u[, 2L] * diff(weight.range)
    weight <- ifelse(!hill & u[, 3L] < negative.prob, -weight, weight)
    shaped <- fun %in% c("hill_act", "hill_rep", "sigmoid", "tanh")
    K <- ifelse(shaped, K.range[1L] + u[, 4L] * diff(K.range), NA_real_)
    n <- ifelse(hill, 1 + floor(4 * u[, 5L]), NA_real_)
    genes <- paste0("G", seq_len(ngenes))
    edges <- data.frame(from = genes[g$from], to = genes[g$to], fun = fun,
        weight = weight, K = K, n = n, stringsAsFactors = FALSE)
    grnModel(edges, genes = genes, intercept = intercept, ...)
}
