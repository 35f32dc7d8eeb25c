# THEORY.md section 3 at the bulk level, over replicate simulations: which
# conditional independences survive pooling (mean of cells per sample).

# Rejection rate of X _||_ Z | S among the bulk samples over `reps`
# replicate simulations.
.bulk_rejection <- function(model, reps, x, z, S, nsamples = 500, cps = 10, method = "spline") {
    p <- vapply(seq_len(reps), function(r) {
        b <- simulateBulk(model, nsamples = nsamples, pool.size = cps, aggregation = "mean",
            seed = 1000 + r, verbose = FALSE)
        d <- t(SummarizedExperiment::assay(b, "latent"))
        ciIndepTest(match(x, colnames(d)), match(z, colnames(d)), match(S, colnames(d)),
            ciSuffStat(t(d), test = method, seed = r))
    }, numeric(1))
    mean(p < 0.05)
}

# A rate that "stays near alpha" over 200 replicates: within 3 SE of 0.05.
.near_alpha <- function(rate, reps = 200) abs(rate - 0.05) < 3 * sqrt(0.05 * 0.95 / reps)

test_that("chain with affine Y -> Z: the bulk CI holds for affine and non-linear X -> Y", {
    for (f in c("affine", "quadratic", "hill_act")) {
        model <- grnModel(data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = c(f, "affine"),
            weight = c(1, 0.8)), noise.scale = c(X = 1, Y = 0.3, Z = 0.3), intercept = c(X = 1))
        rate <- .bulk_rejection(model, 200, "X", "Z", "Y")
        expect_true(.near_alpha(rate), label = sprintf("rejection rate %.3f with %s X -> Y", rate, f))
    }
})

test_that("chain with both edges quadratic and a uniform cause: the bulk CI fails", {
    # X ~ U(0, 2) (intercept 1, uniform noise of sd 2 / sqrt(12), no
    # context), noise sd 0.3, mean of 10 cells, 500 samples.
    model <- quadratic_uniform_chain()
    b <- simulateBulk(model, nsamples = 1, pool.size = 1e4, keep.cells = TRUE, seed = 1, verbose = FALSE)
    x <- SummarizedExperiment::assay(S4Vectors::metadata(b)$cells, "latent")["X", ]
    expect_true(min(x) >= 0 && max(x) <= 2)
    expect_gte(.bulk_rejection(model, 40, "X", "Z", "Y"), 0.9)
})

test_that("jointly Gaussian cells: the bulk CI holds even with a Hill Y -> Z", {
    # Gaussian cause (Gaussian context and noise), affine X -> Y, Gaussian
    # noise: each cell's deviation from its sample mean is independent of
    # the means, so Xbar _||_ Zbar | Ybar (THEORY section 3).
    model <- grnModel(data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = c("affine", "hill_act"),
        weight = c(1, 3)), noise.scale = c(X = 1, Y = 0.5, Z = 0.3), intercept = c(X = 1))
    rate <- .bulk_rejection(model, 200, "X", "Z", "Y")
    expect_true(.near_alpha(rate), label = sprintf("rejection rate %.3f", rate))
    # Fisher's test agrees here: partial correlations are inherited too
    rate.f <- .bulk_rejection(model, 200, "X", "Z", "Y", method = "fisher")
    expect_true(.near_alpha(rate.f), label = sprintf("Fisher rejection rate %.3f", rate.f))
})

test_that("a collider stays a collider: Xbar and Zbar stay independent", {
    model <- grnModel(data.frame(from = c("X", "Z"), to = c("Y", "Y"), fun = c("quadratic", "sin")),
        noise = c(X = "gamma", Z = "laplace"))
    rate <- .bulk_rejection(model, 200, "X", "Z", character(0))
    expect_true(.near_alpha(rate), label = sprintf("rejection rate %.3f", rate))
    # and Y still makes them dependent
    expect_gt(.bulk_rejection(model, 20, "X", "Z", "Y"), 0.9)
})
