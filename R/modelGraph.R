#' The graph of a GRNModel in the graph classes of other packages
#'
#' `modelGraph()` gives a model's directed graph as an adjacency matrix, a
#' `graphNEL` (package graph, as pcalg uses) or an `igraph`, for drawing it
#' or handing it to other tools.  Every gene is a node, also genes without
#' edges.
#'
#' @param model A [GRNModel][grnModel].
#' @param as `"matrix"` (genes x genes, entry `[u, v]` for the edge
#'   `u -> v`, 0 for no edge), `"graphNEL"` or `"igraph"`.
#' @param weights `TRUE`: edges carry their weights (the matrix entry, the
#'   `graphNEL` edge weight, the `igraph` edge attribute `weight`); `FALSE`:
#'   every edge has weight 1.  An edge of weight 0 has entry 0 in a
#'   weighted matrix, as no edge; the graph classes keep it.
#' @return An adjacency matrix with the genes as row and column names, a
#'   `graphNEL` with `edgemode` `"directed"`, or a directed `igraph` whose
#'   edges also carry the columns of [edgeTable()] (`fun`, `K`, `n`).
#'   [grnModel()] turns the matrix back into a model of affine edges, and
#'   [scoreGraph()] takes any of the three.
#' @seealso [edgeTable()] for the edges with their functions and parameters.
#' @examples
#' model <- grnModel(data.frame(from = c("X", "X", "Y"), to = c("Y", "Z", "Z"),
#'                              weight = c(2, -1, 0.5)),
#'                   genes = c("X", "Y", "Z", "W"))
#' modelGraph(model)
#' if (requireNamespace("graph", quietly = TRUE)) modelGraph(model, "graphNEL")
#' if (requireNamespace("igraph", quietly = TRUE)) modelGraph(model, "igraph")
#' @export
modelGraph <- function(model, as = c("matrix", "graphNEL", "igraph"),
    weights = TRUE) {
    .check_model(model)
    as <- if (missing(as)) "matrix" else
        .check_choice(as, c("matrix", "graphNEL", "igraph"), "as")
    weights <- .check_flag(weights, "weights")
    genes <- model@genes
    e <- as.data.frame(model@edges)
    w <- if (weights) e$weight else rep(1, nrow(e))
    if (as == "matrix") {
        out <- matrix(0, length(genes), length(genes),
            dimnames = list(genes, genes))
        out[cbind(match(e$from, genes), match(e$to, genes))] <- w
        return(out)
    }
    pkg <- if (as == "graphNEL") "graph" else "igraph"
    if (!requireNamespace(pkg, quietly = TRUE)) {
        stop(sprintf(
            "`as = \"%s\"` needs the %s package: BiocManager::install(\"%s\")",
            as, pkg, pkg), call. = FALSE)
    }
    if (as == "graphNEL") {
        edges <- lapply(genes, function(g) {
            out <- which(e$from == g)
            list(edges = match(e$to[out], genes), weights = w[out])
        })
        names(edges) <- genes
        return(graph::graphNEL(nodes = genes, edgeL = edges,
            edgemode = "directed"))
    }
    e$weight <- w
    igraph::graph_from_data_frame(
        e[, c("from", "to", "fun", "weight", "K", "n")], directed = TRUE,
        vertices = data.frame(name = genes, stringsAsFactors = FALSE))
}
