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
    sim <- simulateBulk(model, nsamples = 400, cells.per.sample = 10, keep.cells = TRUE, seed = 2, verbose = FALSE)
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
    sim <- simulateBulk(model, nsamples = 300, cells.per.sample = 5, keep.cells = TRUE, seed = 8, verbose = FALSE)
    res <- discoverAtBothLevels(sim, test = "spline", alpha = 0.01, max.n = 1000)
    expect_identical(res$skeleton.f1[res$level == "cells"], 1)
    expect_identical(S4Vectors::metadata(res)$test, "spline")
    expect_error(discoverAtBothLevels(sim, test = "kci"), "`test` must be one of 'spline', 'fisher'")
})
