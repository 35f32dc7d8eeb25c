test_that("recoverabilityStudy returns one tidy row per grid point, reproducibly on any back-end", {
    args <- list(functions = c("affine", "quadratic"), aggregations = c("mean", "cpm"), pool.size = c(1, 10),
        causes = "gaussian", nsamples = 150, replicates = 3, discovery = FALSE, verbose = FALSE)
    st <- do.call(recoverabilityStudy, args)
    expect_s4_class(st, "DataFrame")
    expect_identical(nrow(st), 8L)
    expect_true(all(c("fun", "aggregation", "pool.size", "cause", "nsamples", "replicates", "ff.rate",
        "ci.bulk.rate", "ci.cells.rate", "se.ff", "se.ci.bulk", "expected", "special") %in% colnames(st)))
    reps <- S4Vectors::metadata(st)$replicates
    expect_identical(nrow(reps), 24L)
    # the summary is the replicates' rates
    i <- which(st$fun == "quadratic" & st$aggregation == "cpm" & st$pool.size == 10)
    r <- reps[reps$fun == "quadratic" & reps$aggregation == "cpm" & reps$pool.size == 10, ]
    expect_equal(st$ci.bulk.rate[i], mean(r$p.ci.bulk < 0.05))
    expect_equal(st$ff.rate[i], mean(r$p.curve < 0.05 | r$p.resid < 0.05))
    expect_identical(st$expected[st$fun == "affine" & st$aggregation == "mean"], c("consistent", "consistent"))
    expect_match(st$special[st$pool.size == 1 & st$aggregation == "mean"][1], "bulk is the cells")
    # same replicates from two workers, and from a grid in another order
    st2 <- do.call(recoverabilityStudy, c(args[-1], list(functions = c("quadratic", "affine"),
        BPPARAM = BiocParallel::SnowParam(2))))
    key <- function(d) paste(d$fun, d$aggregation, d$pool.size, d$replicate)
    r1 <- as.data.frame(reps)
    r2 <- as.data.frame(S4Vectors::metadata(st2)$replicates)
    expect_equal(r2[match(key(r1), key(r2)), names(r1)], r1, ignore_attr = TRUE)
})

test_that("the study's chain matches the theorem where it is sharp", {
    # quadratic chain of a Gaussian cause, mean of 10 cells, 400 samples:
    # X _||_ Z | Y fails at the bulk level but holds among the cells.
    st <- recoverabilityStudy(functions = "quadratic", aggregations = "mean", pool.size = 10,
        causes = "gaussian", nsamples = 400, replicates = 5, discovery = FALSE, verbose = FALSE)
    expect_gte(st$ci.bulk.rate, 0.8)
    expect_lte(st$ci.cells.rate, 0.4)
})

test_that("the jointly Gaussian chain is labelled and keeps its CI", {
    st <- recoverabilityStudy(functions = "affine_hill", aggregations = "mean", pool.size = 10,
        causes = "gaussian", nsamples = 300, replicates = 10, discovery = FALSE, verbose = FALSE)
    expect_match(st$special, "jointly Gaussian cells")
    expect_lte(st$ci.bulk.rate, 0.3)
    model <- bulkcausal:::.study_model("affine_hill", "gaussian")
    expect_identical(edgeTable(model)$fun, c("affine", "hill_act"))
})

test_that("plotRecoverability draws each view and recoverabilityStudy rejects bad grids", {
    skip_if_not_installed("ggplot2")
    st <- recoverabilityStudy(functions = "affine", aggregations = "mean", pool.size = c(1, 5),
        causes = "gaussian", nsamples = 100, replicates = 2, discovery = FALSE, verbose = FALSE)
    # each view draws its own rate of the study, against the pool size
    cols <- c(ff = "ff.rate", ci = "ci.bulk.rate", f1 = "f1.bulk")
    for (w in names(cols)) {
        p <- plotRecoverability(st, w)
        expect_s3_class(p, "ggplot")
        expect_identical(p$data$y, st[[cols[[w]]]])
        expect_identical(p$data$pool.size, st$pool.size)
        expect_identical(p$labels$x, "cells per sample")
    }
    expect_match(plotRecoverability(st, "ci")$labels$y, "bulk rejection rate")
    expect_error(plotRecoverability(st, "shd"), "`what` must be one of")
    expect_error(plotRecoverability(data.frame()), "must be the result of recoverabilityStudy")
    expect_error(recoverabilityStudy(functions = "cubic"), "`functions` must be distinct values among")
    expect_error(recoverabilityStudy(aggregations = "mode"), "`aggregations` must be distinct values")
    expect_error(recoverabilityStudy(nsamples = 10), "`nsamples` must be positive whole numbers from 20 to 2147483647")
    expect_error(recoverabilityStudy(causes = "uniform"), "`causes` must be distinct values")
})
