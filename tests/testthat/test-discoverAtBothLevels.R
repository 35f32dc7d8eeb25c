test_that("graph scores match pcalg's SHD and hand counts", {
    skip_if_not_installed("pcalg")
    g <- c("A", "B", "C", "D")
    truth <- matrix(0, 4, 4, dimnames = list(g, g))
    truth["A", "C"] <- truth["B", "C"] <- truth["C", "D"] <- 1   # A -> C <- B, C -> D: a v-structure
    est <- matrix(0, 4, 4, dimnames = list(g, g))
    est["A", "C"] <- est["C", "A"] <- 1  # A - C undirected
    est["B", "C"] <- 1                   # B -> C right
    est["D", "C"] <- 1                   # C <- D wrong direction
    est["A", "D"] <- 1                   # A -> D extra
    sc <- bulkcausal:::.score_graph(est, truth)
    ref <- pcalg::shd(methods::as(est, "graphNEL"), methods::as(truth, "graphNEL"))
    expect_equal(sc$shd, ref)
    expect_equal(sc$skeleton.f1, 2 * 3 / (4 + 3))
    expect_equal(sc$orientation.f1, 2 * 1 / (3 + 3))
})

test_that("PC recovers a linear-Gaussian network at the cell level and both levels run", {
    skip_if_not_installed("pcalg")
    model <- randomGRN(7, prob = 0.35, functions = c(affine = 1), seed = 3)
    sim <- simulateBulk(model, nsamples = 400, pool.size = 10, keep.cells = TRUE, seed = 2, verbose = FALSE)
    res <- discoverAtBothLevels(sim, test = "fisher", alpha = 0.01)
    expect_identical(res$level, c("cells", "bulk"))
    expect_identical(res$n, c(4000L, 400L))
    expect_gte(res$skeleton.f1[1], 0.9)
    # the same as running pcalg::pc with its own Gaussian test
    d <- t(SummarizedExperiment::assay(S4Vectors::metadata(sim)$cells, "latent"))[, model@genes]
    ref <- pcalg::pc(list(C = cor(d), n = nrow(d)), pcalg::gaussCItest, alpha = 0.01, labels = model@genes)
    expect_identical(methods::as(S4Vectors::metadata(res)$fits$cells@graph, "matrix"), methods::as(ref@graph, "matrix"))
    expect_error(discoverAtBothLevels(list(cells = 1)), "must be a simulateBulk\\(keep.cells = TRUE\\) result")
})

test_that("PC with the spline test finds a non-linear chain among the cells", {
    skip_if_not_installed("pcalg")
    edges <- data.frame(from = c("A", "B"), to = c("B", "C"), fun = c("quadratic", "tanh"), K = c(0, 2))
    model <- grnModel(edges, noise.scale = c(A = 1, B = 0.3, C = 0.3))
    sim <- simulateBulk(model, nsamples = 300, pool.size = 5, keep.cells = TRUE, seed = 8, verbose = FALSE)
    res <- discoverAtBothLevels(sim, test = "spline", alpha = 0.01, max.n = 1000)
    expect_identical(res$skeleton.f1[res$level == "cells"], 1)
    expect_identical(S4Vectors::metadata(res)$test, "spline")
    expect_error(discoverAtBothLevels(sim, test = "kci"), "`test` must be one of 'spline', 'fisher'")
})

test_that("scoreGraph takes every graph form, matches pcalg::shd and hand counts, and scores against CPDAGs", {
    skip_if_not_installed("pcalg")
    skip_if_not_installed("igraph")
    g <- c("A", "B", "C", "D")
    truth <- data.frame(from = c("A", "B", "C"), to = c("C", "C", "D"))   # A -> C <- B, C -> D
    est <- data.frame(from = c("A", "B", "D", "A"), to = c("C", "C", "C", "D"),
        directed = c(FALSE, TRUE, TRUE, TRUE))
    sc <- scoreGraph(est, truth, genes = g, cpdag = FALSE)
    # hand count: A-C undirected vs A -> C (1), B -> C right (0), D -> C
    # reversed (1), A -> D extra (1); skeleton 3 of 4 estimated, 3 of 3 true
    expect_identical(sc$shd, 3L)
    expect_equal(sc$skeleton.precision, 3 / 4)
    expect_equal(sc$skeleton.recall, 1)
    expect_equal(sc$skeleton.f1, 2 * 3 / 7)
    expect_equal(sc$orientation.precision, 1 / 3)
    expect_equal(sc$orientation.recall, 1 / 3)
    em <- bulkcausal:::.graph_matrix(est, g, "e")
    tm <- bulkcausal:::.graph_matrix(truth, g, "t")
    expect_equal(sc$shd, pcalg::shd(methods::as(em, "graphNEL"), methods::as(tm, "graphNEL")))
    # the same graphs as matrices, graphNEL and igraph give the same scores
    ig <- igraph::graph_from_adjacency_matrix(tm, mode = "directed")
    for (t2 in list(tm, methods::as(tm, "graphNEL"), ig)) {
        expect_equal(scoreGraph(em, t2, genes = g, cpdag = FALSE), sc)
    }
    # against the CPDAG: a chain's edges are not oriented by the data, so an
    # estimate with the skeleton right and no directions has SHD 0
    chain <- data.frame(from = c("A", "B"), to = c("B", "C"))
    und <- data.frame(from = c("A", "B"), to = c("B", "C"), directed = FALSE)
    expect_identical(scoreGraph(und, chain)$shd, 0L)
    expect_identical(scoreGraph(und, chain, cpdag = FALSE)$shd, 2L)
    # a random DAG and a random estimate: pcalg's SHD of the CPDAG
    set.seed(4)
    for (r in 1:5) {
        dag <- pcalg::randomDAG(6, 0.4)
        other <- pcalg::randomDAG(6, 0.4)
        cp <- pcalg::dag2cpdag(dag)
        expect_equal(scoreGraph(other, dag)$shd, pcalg::shd(other, cp))
    }
    expect_error(scoreGraph(est, data.frame(from = "A", to = "Z"), genes = g), "`truth` names genes not scored: 'Z'")
    expect_error(scoreGraph(list(1), truth), "`estimated` must be an adjacency matrix")
    expect_error(scoreGraph(matrix(1, 2, 2), truth), "needs the same gene names")
})

test_that("discoverAtBothLevels scores against a given graph, on data without a model, and at equal n", {
    skip_if_not_installed("pcalg")
    model <- randomGRN(6, prob = 0.4, functions = c(affine = 1), seed = 5)
    sim <- simulateBulk(model, nsamples = 200, pool.size = 10, keep.cells = TRUE, seed = 2, verbose = FALSE)
    cells <- S4Vectors::metadata(sim)$cells
    S4Vectors::metadata(cells)$model <- NULL
    bulk <- sim
    S4Vectors::metadata(bulk) <- list()
    known <- as.data.frame(edgeTable(model))[, c("from", "to")]
    a <- discoverAtBothLevels(sim, test = "fisher")
    b <- discoverAtBothLevels(list(cells = cells, bulk = bulk), test = "fisher", graph = known, equal.n = TRUE)
    expect_equal(as.data.frame(b[1:2, ]), as.data.frame(a))
    expect_identical(b$level, c("cells", "bulk", "cells.subsampled"))
    expect_identical(b$n, c(2000L, 200L, 200L))
    # the subsampled row is scored like the others
    est <- (methods::as(S4Vectors::metadata(b)$fits$cells.subsampled@graph, "matrix") != 0) * 1
    expect_equal(b$shd[3], scoreGraph(est, known)$shd)
    # no truth at all: PC still runs, the scores are NA
    c0 <- discoverAtBothLevels(list(cells = cells, bulk = bulk), test = "fisher")
    expect_true(all(is.na(c0$shd)))
    expect_identical(c0$edges, a$edges)
    expect_error(discoverAtBothLevels(sim, graph = data.frame(from = "G1", to = "Q")),
        "`graph` names genes that are not in both `cells` and `bulk`: 'Q'")
})
