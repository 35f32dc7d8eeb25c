#' Conditional-independence consistency between cell level and bulk level
#'
#' For each CI statement `X _||_ Y | S`, tests it on the cells and on the
#' bulk samples and reports both p-values and decisions and, with a known
#' graph, the d-separation truth. CI consistency holds when the bulk-level
#' decisions agree with the cell-level truth.
#'
#' Without `statements`, every statement of the graph up to conditioning
#' size `max.cond` is enumerated (in C++; an error tells when their number
#' would exceed `limit`).
#'
#' @param cells Cell-level data: a `SummarizedExperiment` (genes in rows).
#' @param bulk Bulk-level data on the same genes: a `SummarizedExperiment`.
#' @param statements A data.frame with columns `x`, `y` (gene names) and `z`
#'   (the conditioning genes, comma-separated, `""` for none).
#' @param graph The causal graph (directed and acyclic): a [GRNModel-class],
#'   a data.frame with `from` and `to` columns, an adjacency matrix with gene
#'   names, a `graphNEL` or an `igraph` (as [scoreGraph()] takes them).
#'   Default: the model kept by [simulateCells()].
#' @param max.cond Largest conditioning set enumerated.
#' @param test The CI test, `"spline"` (default) or `"fisher"` (for
#'   jointly Gaussian data), see [ciTest()].
#' @param method Former name of `test`, deprecated (it works, with a
#'   warning).
#' @param alpha Level of the decisions.
#' @param assay.type Assay of `cells` and `bulk` to test (one name, or two:
#'   cells then bulk).
#' @param limit Most statements enumerated.
#' @param ... Settings of the spline test (`k`, `max.n`, `nperm`, `seed`,
#'   `num.threads`), see [ciSuffStat()].
#' @param BPPARAM A BiocParallel back-end over the statements (each test
#'   draws from its own stream, so the p-values are identical on every
#'   back-end).
#' @param verbose Report progress of the spline tests.
#'
#' @return A [S4Vectors::DataFrame], one row per statement: `x`, `y`, `z`,
#'   `separated` (d-separation in the graph, `NA` without one), `p.cells`,
#'   `p.bulk`, `indep.cells`, `indep.bulk` (p-value above `alpha`) and
#'   `agree` (the two decisions agree).
#' @examples
#' edges <- data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = "affine",
#'                     weight = 1)
#' model <- grnModel(edges, context.sd = c(X = 1))
#' cells <- simulateCells(model, ncells = 5000, nsamples = 200, seed = 1)
#' bulk <- aggregateCells(cells, cells$sample, aggregation = "mean",
#'                        assay.type = "latent")
#' ciConsistency(cells, bulk, assay.type = c("latent", "latent"))
#' @export
ciConsistency <- function(cells, bulk, statements = NULL, graph = NULL,
    max.cond = 1, test = c("spline", "fisher"), alpha = 0.05,
    assay.type = "latent", limit = 1e5, ..., BPPARAM = SerialParam(),
    verbose = FALSE, method) {
    .renamed_args("ciConsistency", c(method = "test"))
    test <- .check_choice(.first(test), c("spline", "fisher"), "test")
    if (!is(cells, "SummarizedExperiment") ||
        !is(bulk, "SummarizedExperiment")) {
        stop("`cells` and `bulk` must be SummarizedExperiment objects with genes in rows", call. = FALSE)
    }
    max.cond <- .check_count(max.cond, "max.cond", min = 0, max = .int_max)
    alpha <- .check_prob(alpha, "alpha")
    limit <- .check_count(limit, "limit", max = .int_max)
    at <- rep_len(assay.type, 2L)
    genes <- rownames(cells)
    if (!identical(sort(genes), sort(rownames(bulk)))) {
        stop("`cells` and `bulk` must have the same genes (rownames)",
            call. = FALSE)
    }
    if (is.null(graph)) graph <- metadata(cells)$model
    edges <- if (is.null(graph)) NULL else .graph_edges(graph, genes)
    if (is.null(statements)) {
        if (is.null(edges))
            stop("give `statements` or a `graph` to enumerate them from",
                call. = FALSE)
        st <- .call_core(dsep_statements_cpp(length(genes),
            match(edges$from, genes), match(edges$to, genes),
            as.integer(max.cond), limit))
        x <- st$x
        y <- st$y
        z <- st$z
        separated <- st$separated
    } else {
        parsed <- .parse_statements(statements, genes)
        x <- parsed$x
        y <- parsed$y
        z <- parsed$z
        separated <- if (is.null(edges)) rep(NA, length(x)) else
            dsep_cpp(length(genes), match(edges$from, genes),
                match(edges$to, genes), x, y, z)
    }
    ss.cells <- ciSuffStat(cells[genes, ],
        test = test, assay.type = at[1L], ...)
    ss.bulk <- ciSuffStat(bulk[genes, ], test = test, assay.type = at[2L], ...)
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    p.cells <- .ci_p_values(ss.cells, x, y, z, BPPARAM, verbose, "CI cells")
    p.bulk <- .ci_p_values(ss.bulk, x, y, z, BPPARAM, verbose, "CI bulk")
    DataFrame(x = genes[x], y = genes[y],
        z = vapply(z, function(s) paste(genes[s], collapse = ","),
            character(1)),
        separated = separated, p.cells = p.cells, p.bulk = p.bulk,
        indep.cells = p.cells > alpha, indep.bulk = p.bulk > alpha,
        agree = (p.cells > alpha) == (p.bulk > alpha))
}

# Edges of a graph given as a GRNModel or a from/to table, checked against
# the genes and for cycles.
.graph_edges <- function(graph, genes) {
    bad <- setdiff(.graph_nodes(graph, "graph"), genes)
    if (length(bad))
        stop(sprintf("`graph` names genes not in the data: %s",
            .fmt_value(bad)), call. = FALSE)
    m <- .graph_matrix(graph, genes, "graph")
    if (any(m == 1 & t(m) == 1)) {
        stop("`graph` has undirected edges: d-separation needs a directed acyclic graph", call. = FALSE)
    }
    edges <- data.frame(from = genes[row(m)[m == 1]],
        to = genes[col(m)[m == 1]], stringsAsFactors = FALSE)
    ord <- topological_order_cpp(length(genes), match(edges$from, genes),
        match(edges$to, genes))
    if (!is.null(ord$cycle)) {
        stop(sprintf("`graph` has a cycle: %s",
            paste(genes[c(ord$cycle, ord$cycle[1L])], collapse = " -> ")),
            call. = FALSE)
    }
    edges
}

.parse_statements <- function(statements, genes) {
    if (!(is.data.frame(statements) || is(statements, "DataFrame")) ||
        !all(c("x", "y") %in% colnames(statements))) {
        stop("`statements` must be a data.frame with columns x, y and z",
            call. = FALSE)
    }
    zs <- if ("z" %in% colnames(statements)) as.character(statements$z) else
        rep("", nrow(statements))
    zs[is.na(zs)] <- ""
    z <- lapply(strsplit(zs, ",", fixed = TRUE), trimws)
    used <- unique(c(as.character(statements$x), as.character(statements$y),
        unlist(z)))
    .check_gene_names(used, genes, "statements")
    x <- match(as.character(statements$x), genes)
    y <- match(as.character(statements$y), genes)
    z <- lapply(z, match, table = genes)
    clash <- which(mapply(function(a, b, s) a == b || any(s %in% c(a, b)),
        x, y, z))
    if (length(clash)) {
        stop(sprintf("statement %d conditions on x or y, or has x = y",
            clash[1L]), call. = FALSE)
    }
    list(x = x, y = y, z = lapply(z, as.integer))
}
