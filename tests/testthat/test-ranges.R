# Numeric arguments out of range are refused with a message that names the
# argument and formats the value (sizes beyond the integer range included),
# before any work starts.

test_that("probabilities are checked: alpha, level, negative.prob", {
    m <- affine_chain()
    b <- simulateBulk(m, 30, 5, keep.cells = TRUE, seed = 1, verbose = FALSE)
    cells <- S4Vectors::metadata(b)$cells
    for (a in list(2.5, 1e12, 0, 1, NA, "0.05", c(0.01, 0.05))) {
        expect_error(recoverabilityStudy(functions = "affine", aggregations = "mean", pool.size = 2,
            nsamples = 50, replicates = 1, alpha = a, discovery = FALSE, verbose = FALSE), "`alpha` must be a number")
        expect_error(functionalConsistency(cells, b, alpha = a, nboot = 0), "`alpha` must be a number")
    }
    skip_if_not_installed("pcalg")
    expect_error(discoverAtBothLevels(b, alpha = 2.5), "`alpha` must be a number strictly between 0 and 1, not 2.5")
    expect_error(functionalConsistency(cells, b, level = NA, nboot = 0), "`level` must be a number strictly between")
    expect_error(functionalConsistency(cells, b, level = 1.5, nboot = 0), "`level` must be a number strictly between")
    expect_error(randomGRN(5, negative.prob = 2.5), "`negative.prob` must be a number from 0 to 1, not 2.5")
    expect_error(randomGRN(5, negative.prob = -0.1), "`negative.prob` must be a number from 0 to 1")
    # negative.prob = 1 is allowed and makes every non-Hill weight negative
    # (a Hill edge's sign comes from its function)
    e <- edgeTable(randomGRN(5, negative.prob = 1, seed = 1))
    hill <- e$fun %in% c("hill_act", "hill_rep")
    expect_gt(sum(!hill), 0)
    expect_true(all(e$weight[!hill] < 0))
    expect_true(all(e$weight[hill] > 0))
})

test_that("max.n of functionalConsistency() is a whole number >= 10", {
    m <- grnModel(data.frame(from = "X", to = "Y", fun = "affine", weight = 1))
    b <- simulateBulk(m, 30, 5, keep.cells = TRUE, seed = 1, verbose = FALSE)
    cells <- S4Vectors::metadata(b)$cells
    for (v in list(0, 2.5, Inf, "5", TRUE, NA, 3e9)) {
        expect_error(functionalConsistency(cells, b, max.n = v, nboot = 0), "`max.n` must be a whole number from 10 to")
    }
})

test_that("sizes beyond the integer range are refused, and formatted in the message", {
    m <- affine_chain()
    sce <- simulateCells(m, 200, seed = 1, verbose = FALSE)
    b <- simulateBulk(m, 30, 5, seed = 1, verbose = FALSE)
    expect_error(fitPairwise(sce, nboot = 3e9), "`nboot` must be a whole number from 0 to 1000000, not 3e\\+09")
    # sizes that fit an integer but could not be served: refused at once
    expect_error(fitPairwise(sce, nboot = .Machine$integer.max), "`nboot` must be a whole number from 0 to 1000000")
    mem <- bulkcausal:::.machine_memory()  # Linux only; 2^31 cells of 3 genes need about 248 GB
    if (!is.na(mem) && mem < 2^37) {
        expect_error(simulateCells(m, .Machine$integer.max), "would need about .* of memory, more than this machine's")
        # refused before a vector of 2^31 pool sizes is made
        expect_error(simulateBulk(m, .Machine$integer.max, 4), "would need about .* of memory")
    }
    expect_error(simulateBulk(m, .Machine$integer.max, 4, keep.cells = TRUE), "more than 2\\^31 - 1 cells")
    expect_error(fitPairwise(sce, num.threads = .Machine$integer.max), "`num.threads` must be a whole number from 1 to 1024")
    expect_error(ciConsistency(sce, b, max.cond = 3e9), "`max.cond` must be a whole number from 0 to 2147483647")
    expect_error(ciTest("X", "Z", "Y", sce, nperm = 3e9), "`nperm` must be a whole number from 0 to 1000000")
    expect_error(simulateBulk(m, 2, 1e12), "`pool.size` must be positive whole numbers from 1 to 2147483647")
    expect_error(simulateCells(m, 3e9), "must be a whole number from 1 to 2147483647")
    expect_error(randomGRN(3e9), "`ngenes` must be a whole number from 2 to 100000")
})
