#' Score an estimated causal graph against a known one
#'
#' Compares an estimated graph (e.g. from PC at the cell or the bulk level)
#' with a known or consensus network: the structural Hamming distance (SHD:
#' one per pair of genes whose status, absent, undirected, one direction or
#' the other, differs; the count of [pcalg::shd()]), and precision, recall
#' and F1 of the skeleton (edges regardless of direction) and of the
#' oriented edges (directed edges with the right direction, among the
#' directed edges of each graph).
#'
#' A directed acyclic truth is first turned into its CPDAG (the equivalence
#' class that observational data, and PC, can recover; [pcalg::dag2cpdag()])
#' unless `cpdag = FALSE`, so that an edge no method could orient does not
#' count against the estimate.
#'
#' @param estimated,truth Graphs on (some of) the same genes, each one of:
#'   an adjacency matrix with gene names as dimnames (`m[i, j]` non-zero:
#'   an edge from i to j; both ways: undirected), a `graphNEL`, an `igraph`,
#'   a [pcalg::pc()] fit, a data.frame of edges with `from` and `to` columns
#'   (and an optional logical `directed`), or a [GRNModel-class].
#' @param genes The genes scored (default: every gene named by either
#'   graph); a gene absent from a graph has no edges there.
#' @param cpdag Turn a directed acyclic `truth` into its CPDAG.
#'
#' @return A one-row `data.frame`: `genes`, `edges.estimated`,
#'   `edges.true`, `shd`, `skeleton.precision`, `skeleton.recall`,
#'   `skeleton.f1`, `orientation.precision`, `orientation.recall`,
#'   `orientation.f1` (`NA` where a ratio has nothing to count).
#' @seealso [discoverAtBothLevels()], which scores PC at both levels this way.
#' @examples
#' truth <- data.frame(from = c("A", "B", "B"), to = c("B", "C", "D"))
#' est <- data.frame(from = c("A", "B", "C"), to = c("B", "C", "D"))
#' scoreGraph(est, truth, cpdag = FALSE)
#' @export
scoreGraph <- function(estimated, truth, genes = NULL, cpdag = TRUE) {
    cpdag <- .check_flag(cpdag, "cpdag")
    if (is.null(genes))
        genes <- unique(c(.graph_nodes(estimated, "estimated"),
            .graph_nodes(truth, "truth")))
    if (!is.character(genes) || !length(genes) || anyNA(genes) ||
        anyDuplicated(genes)) {
        stop("`genes` must be distinct gene names", call. = FALSE)
    }
    est <- .graph_matrix(estimated, genes, "estimated")
    tru <- .graph_matrix(truth, genes, "truth")
    if (cpdag) tru <- .to_cpdag(tru)
    sc <- .score_graph(est, tru)
    data.frame(genes = length(genes),
        edges.estimated = sum(.skeleton(est)[upper.tri(est)]),
        edges.true = sum(.skeleton(tru)[upper.tri(tru)]), shd = sc$shd,
        skeleton.precision = sc$skeleton.precision,
        skeleton.recall = sc$skeleton.recall, skeleton.f1 = sc$skeleton.f1,
        orientation.precision = sc$orientation.precision,
        orientation.recall = sc$orientation.recall,
        orientation.f1 = sc$orientation.f1)
}

.skeleton <- function(m) (m + t(m)) > 0

# The names of a graph's nodes.
.graph_nodes <- function(g, what) {
    if (is(g, "GRNModel")) return(g@genes)
    if (is(g, "pcAlgo")) g <- g@graph
    if (is(g, "graphNEL")) return(graph::nodes(g))
    if (is(g, "igraph")) {
        nm <- igraph::V(g)$name
        if (is.null(nm))
            stop(sprintf("`%s`: the igraph's vertices need names (V(g)$name)",
                what), call. = FALSE)
        return(nm)
    }
    if (is.data.frame(g) || is(g, "DataFrame")) {
        if (!all(c("from", "to") %in% colnames(g))) {
            stop(sprintf(
                "`%s`: a data.frame of edges needs `from` and `to` columns",
                what), call. = FALSE)
        }
        return(unique(c(as.character(g$from), as.character(g$to))))
    }
    if (is.matrix(g) || is(g, "Matrix")) {
        rn <- rownames(g)
        if (is.null(rn) || !identical(rn, colnames(g))) {
            stop(sprintf("`%s`: an adjacency matrix needs the same gene names as row and column names", what),
                call. = FALSE)
        }
        return(rn)
    }
    stop(sprintf(paste("`%s` must be an adjacency matrix, a graphNEL, an igraph, a pcalg fit, a data.frame of",
        "edges (from, to) or a GRNModel, not a %s"), what, class(g)[1L]),
        call. = FALSE)
}

# A graph as a 0/1 adjacency matrix over `genes` (m[i, j] = 1: i -> j;
# undirected edges both ways); genes it does not name have no edges, and
# nodes outside `genes` are an error.
.graph_matrix <- function(g, genes, what) {
    nodes <- .graph_nodes(g, what)
    bad <- setdiff(nodes, genes)
    if (length(bad))
        stop(sprintf("`%s` names genes not scored: %s", what, .fmt_value(bad)),
            call. = FALSE)
    out <- matrix(0, length(genes), length(genes),
        dimnames = list(genes, genes))
    if (is(g, "GRNModel")) g <- as.data.frame(edgeTable(g))[, c("from", "to")]
    if (is(g, "pcAlgo")) g <- g@graph
    m <- if (is(g, "graphNEL")) {
        methods::as(g, "matrix")
    } else if (is(g, "igraph")) {
        igraph::as_adjacency_matrix(g, sparse = FALSE)
    } else if (is.data.frame(g) || is(g, "DataFrame")) {
        e <- as.data.frame(g)
        d <- if ("directed" %in% colnames(e)) as.logical(e$directed) else
            rep(TRUE, nrow(e))
        if (anyNA(d))
            stop(sprintf("`%s`: column `directed` must be TRUE or FALSE", what),
                call. = FALSE)
        a <- matrix(0, length(nodes), length(nodes),
            dimnames = list(nodes, nodes))
        from <- as.character(e$from)
        to <- as.character(e$to)
        a[cbind(from, to)] <- 1
        a[cbind(to, from)[!d, , drop = FALSE]] <- 1
        a
    } else {
        as.matrix(g)
    }
    if (anyNA(m))
        stop(sprintf("`%s` has missing values in its adjacency matrix", what),
            call. = FALSE)
    m <- (m != 0) * 1
    diag(m) <- 0
    out[nodes, nodes] <- m[nodes, nodes]
    out
}

# The CPDAG of a directed acyclic adjacency matrix (unchanged when it has
# undirected edges already or no edges).
.to_cpdag <- function(m) {
    if (!any(m == 1 & t(m) == 0) || any(m == 1 & t(m) == 1)) return(m)
    if (!requireNamespace("pcalg", quietly = TRUE)) {
        stop("turning the truth into its CPDAG needs the pcalg package (or set cpdag = FALSE)", call. = FALSE)
    }
    genes <- rownames(m)
    ord <- topological_order_cpp(length(genes), row(m)[m == 1], col(m)[m == 1])
    if (!is.null(ord$cycle)) {
        stop(sprintf("`truth` has a cycle: %s (set cpdag = FALSE to score against it as it is)",
            paste(genes[c(ord$cycle, ord$cycle[1L])], collapse = " -> ")),
            call. = FALSE)
    }
    cp <- methods::as(pcalg::dag2cpdag(methods::as(m, "graphNEL")), "matrix")
    (cp[genes, genes] != 0) * 1
}
