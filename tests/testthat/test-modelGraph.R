test_that("modelGraph() gives the model's edges as an adjacency matrix, a graphNEL and an igraph", {
    model <- grnModel(data.frame(from = c("X", "X", "Y", "W"), to = c("Y", "Z", "Z", "X"),
        fun = c("affine", "hill_act", "affine", "tanh"), weight = c(2, -1, 0.5, 3)),
        genes = c("X", "Y", "Z", "W", "V"))
    m <- modelGraph(model)
    expect_identical(dimnames(m), list(c("X", "Y", "Z", "W", "V"), c("X", "Y", "Z", "W", "V")))
    # every edge's weight at [from, to], nothing else
    ref <- matrix(0, 5, 5, dimnames = dimnames(m))
    ref["X", "Y"] <- 2
    ref["X", "Z"] <- -1
    ref["Y", "Z"] <- 0.5
    ref["W", "X"] <- 3
    expect_identical(m, ref)
    expect_identical(modelGraph(model, weights = FALSE), (ref != 0) * 1)
    # the matrix gives the same graph back (as affine edges)
    back <- grnModel(m)
    expect_identical(as.data.frame(edgeTable(back))[, c("from", "to", "weight")],
        data.frame(from = c("X", "X", "Y", "W"), to = c("Y", "Z", "Z", "X"), weight = c(2, -1, 0.5, 3))[
            order(match(c("X", "X", "Y", "W"), rownames(m)), match(c("Y", "Z", "Z", "X"), rownames(m))), ],
        ignore_attr = TRUE)
    expect_equal(scoreGraph(m, model, cpdag = FALSE)$shd, 0)
    skip_if_not_installed("graph")
    g <- modelGraph(model, "graphNEL")
    expect_s4_class(g, "graphNEL")
    expect_identical(graph::edgemode(g), "directed")
    expect_identical(graph::nodes(g), rownames(m))
    expect_identical(methods::as(g, "matrix"), ref)
    expect_identical(unname(graph::edgeWeights(g)$X[c("Y", "Z")]), c(2, -1))
    expect_equal(scoreGraph(g, model, cpdag = FALSE)$shd, 0)
    skip_if_not_installed("igraph")
    ig <- modelGraph(model, "igraph")
    expect_true(igraph::is_directed(ig))
    expect_identical(igraph::V(ig)$name, rownames(m))
    expect_equal(as.matrix(igraph::as_adjacency_matrix(ig, attr = "weight", sparse = FALSE)), ref)
    el <- igraph::as_data_frame(ig)
    expect_identical(el$fun, c("affine", "hill_act", "affine", "tanh"))
    expect_equal(scoreGraph(ig, model, cpdag = FALSE)$shd, 0)
})

test_that("modelGraph() refuses what it cannot convert", {
    model <- grnModel(data.frame(from = "X", to = "Y"))
    expect_error(modelGraph(data.frame(from = "X", to = "Y")), "`model` must be a GRNModel")
    expect_error(modelGraph(model, "network"), "`as` must be one of 'matrix', 'graphNEL', 'igraph', not 'network'")
    expect_error(modelGraph(model, weights = NA), "`weights` must be TRUE or FALSE")
    # an edge of weight 0 stays in the graph classes
    zero <- grnModel(data.frame(from = "X", to = "Y", weight = 0))
    expect_identical(sum(modelGraph(zero) != 0), 0L)
    skip_if_not_installed("igraph")
    expect_identical(igraph::ecount(modelGraph(zero, "igraph")), 1)
})
