# Functional-form consistency against THEORY.md section 2's closed forms.

.ff_sim <- function(fun, n = 1, noise = "gaussian", nsamples = 400, cps = 10, aggregation = "mean", seed = 1,
    weight = 1, intercept = 0) {
    model <- grnModel(data.frame(from = "X", to = "Y", fun = fun, n = n, weight = weight),
        noise = c(X = noise), noise.scale = c(X = 1, Y = 0.3), intercept = c(X = 0, Y = intercept))
    simulateBulk(model, nsamples = nsamples, pool.size = cps, aggregation = aggregation,
        keep.cells = TRUE, seed = seed, verbose = FALSE)
}
.ff <- function(sim, ...) functionalConsistency(S4Vectors::metadata(sim)$cells, sim, ...)

test_that("the distance to a damped sine matches the closed form g(m) = exp(-w^2 t^2 / 2) sin(w m)", {
    # Gaussian cause: noise sd s = 1 within samples, mean of k = 10 cells,
    # t^2 = s^2 (k - 1) / k.  The bulk curve is the damped sine, the mapped
    # curve the sine itself.
    sim <- .ff_sim("sin", n = 1.5, nsamples = 1000, seed = 2)
    res <- .ff(sim, nboot = 50)
    m <- SummarizedExperiment::assay(sim, "latent")["X", ]
    y <- SummarizedExperiment::assay(sim, "latent")["Y", ]
    t2 <- 9 / 10
    g <- exp(-1.5^2 * t2 / 2) * sin(1.5 * m)
    D <- ref_ff_distance(g, sin(1.5 * m), m, y)
    expect_true(res$ff.lower <= D && D <= res$ff.upper)
    expect_equal(res$ff.distance, D, tolerance = 0.1)
    expect_false(res$consistent)
    expect_lt(res$p.curve, 1e-10)
})

test_that("affine edges are consistent at the nominal rate; a quadratic edge of a Gaussian cause too", {
    # 100 replicates each: the rejection rate of each part stays within 3 SE
    # (0.065) of alpha for affine; THEORY section 2's special case (x^2 of a
    # Gaussian cause under the mean: an intercept shift only) behaves alike.
    # p.resid's null is made by refitting, so its p-values are uniform: their
    # mean over the 200 replicates within 3 SE (0.061) of 1/2 (a null that
    # ignores the fit gave a mean of 0.64 and rejected 1%).
    p <- lapply(c("affine", "quadratic"), function(fun) {
        vapply(1:100, function(r) {
            res <- .ff(.ff_sim(fun, nsamples = 200, seed = 100 + r), nboot = 0, seed = r)
            c(res$p.curve, res$p.resid)
        }, numeric(2))
    })
    rates <- vapply(p, function(m) rowMeans(m < 0.05), numeric(2))
    expect_true(all(abs(rates - 0.05) < 3 * sqrt(0.05 * 0.95 / 100)), label = paste(format(rates), collapse = " "))
    mean.resid <- mean(unlist(lapply(p, function(m) m[2, ])))
    expect_lt(abs(mean.resid - 0.5), 3 * sqrt(1 / 12 / 200))
})

test_that("p.curve is the F test of the gap against a constant, the alternative an unpenalised spline", {
    # naive R: lm of y - h on the B-spline basis (mgcv's ps knots on the
    # range of x), F against the constant; pairs in columns, one with a
    # reference curve missing at some samples, one with 6 distinct x values
    set.seed(17)
    n <- 150
    X <- cbind(rnorm(n), runif(n), rep(1:6, 25))
    Y <- cbind(sin(X[, 1]) + rnorm(n, sd = 0.3), X[, 2] + rnorm(n, sd = 0.1), X[, 3]^2 / 10 + rnorm(n))
    H <- cbind(X[, 1], X[, 2], X[, 3] / 2)
    H[1:7, 2] <- NA
    p <- bulkcausal:::gap_ftests_cpp(X, Y - H, 10L)
    ref <- vapply(1:3, function(e) {
        ok <- is.finite(H[, e])
        x <- X[ok, e]
        r <- (Y - H)[ok, e]
        k <- min(10, length(unique(x)))
        Z <- ref_ps_basis(x, min(x), max(x), k)
        f1 <- lm.fit(Z, r)
        rss1 <- sum(f1$residuals^2)
        df1 <- f1$rank - 1
        df2 <- length(r) - f1$rank
        pf((sum((r - mean(r))^2) - rss1) / df1 / (rss1 / df2), df1, df2, lower.tail = FALSE)
    }, numeric(1))
    expect_equal(p, ref, tolerance = 1e-8)
    expect_lt(p[1], 1e-6)
})

test_that("p.resid is the HSIC of the refitted residual against its refitted null draws", {
    # Naive reference for one pair: the REML spline of y on x, its residual
    # e; draw b = the fitted values plus e permuted (the package's stream),
    # refitted, its residual; Besag-Clifford p-value with 10 hits of 199.
    sim <- .ff_sim("sin", n = 0.7, nsamples = 150, seed = 8)
    res <- .ff(sim, nboot = 0, seed = 5)
    B <- SummarizedExperiment::assay(sim, "latent")
    x <- B["X", ]
    y <- B["Y", ]
    fit1 <- function(yy) {
        f <- fit_one_pair(x, yy, test = "F", verbose = FALSE)
        yy - bulkcausal:::.curve_values(f, 1L, matrix(x))[, 1]
    }
    e <- fit1(y)
    g <- y - e
    # the edge's stream: seed + its index (1) + 7907
    perm <- bulkcausal:::resample_cpp(length(x), length(x), 199L, FALSE, 5 + 1 + 7907, FALSE)
    stat <- function(r) unname(bulkcausal:::hsic_test_cpp(x, r, 0L, 1)["statistic"])
    t0 <- stat(e)
    hits <- 0
    for (b in 1:199) {
        if (stat(fit1(g + e[perm[, b]])) >= t0 - 1e-12 * t0) hits <- hits + 1
        if (hits == 10) break
    }
    ref <- if (hits == 10) 10 / b else (1 + hits) / 200
    expect_equal(res$p.resid, ref, tolerance = 1e-12)
    # the permutations are permutations
    expect_true(all(apply(perm, 2, function(p) identical(sort(p), seq_along(x)))))
})

test_that("a quadratic edge of a skewed cause is not consistent", {
    res <- .ff(.ff_sim("quadratic", noise = "gamma", nsamples = 1000, seed = 3), nboot = 0)
    expect_false(res$consistent)
})

test_that("the sum maps f to k f(m / k); cells per sample = 1 is always consistent", {
    # Y = 2 + 0.5 X per cell: the sum of k = 10 cells is 20 + 0.5 Xsum.
    # (consistent: the interval within the tolerance, so nboot > 0; without
    # one the decision is NA, undetermined)
    sim <- .ff_sim("affine", weight = 0.5, intercept = 2, aggregation = "sum", seed = 4)
    expect_identical(.ff(sim, nboot = 0)$consistent, NA)
    res <- .ff(sim, nboot = 50)
    expect_true(res$consistent)
    expect_lt(res$ff.distance, 0.05)
    # one cell per sample: the bulk is the cells, whatever f is; with ten
    # the sine is damped (THEORY section 2)
    res1 <- .ff(.ff_sim("sin", n = 1, cps = 1, seed = 5), nboot = 50)
    res10 <- .ff(.ff_sim("sin", n = 1, cps = 10, seed = 5), nboot = 0)
    expect_true(res1$consistent)
    expect_false(res10$consistent)
    expect_lt(res1$ff.distance, 0.05)
    expect_gt(res10$ff.distance, 10 * res1$ff.distance)
})

test_that("the mapped curves follow their definitions for every aggregation", {
    f <- function(u) u^2 + 1
    info <- list(ncells = c(2L, 5L), total = c(4e5, 8e5))
    m <- c(1.5, 3)
    expect_equal(bulkcausal:::.map_curve(f, m, info, "mean"), f(m))
    expect_equal(bulkcausal:::.map_curve(f, m, info, "sum"), c(2, 5) * f(m / c(2, 5)))
    a <- c(2, 5) * 1e6 / c(4e5, 8e5)
    expect_equal(bulkcausal:::.map_curve(f, m, info, "cpm"), a * f(m / a))
    expect_equal(bulkcausal:::.map_curve(f, m, info, "log1p_sum"), log1p(c(2, 5) * f(expm1(m) / c(2, 5))))
    # a homogeneous sample aggregates to m exactly: log1p(n u) = m
    u <- expm1(m) / c(2, 5)
    expect_equal(log1p(c(2, 5) * u), m)
})

test_that("the interval resamples both levels: bulk resample b with cell resample b, ends from their distances", {
    # Naive reference of the whole interval for one edge under the sum (so
    # the cell curve is mapped at each resampled sample's cell count): bulk
    # resample b = the package's stream for the edge (seed + 1), refitted;
    # cell resample b = its stream (seed + 7919), refitted and mapped; the
    # distance of each from its definition; lower end 2 D - q, upper end q
    # (q the 97.5% quantile of the resampled distances), both holding D.
    sim <- .ff_sim("tanh", n = 1, nsamples = 120, cps = 6, aggregation = "sum", seed = 21)
    cells <- S4Vectors::metadata(sim)$cells
    nb <- 4L
    res <- .ff(sim, nboot = nb, truth = FALSE, seed = 3)
    B <- SummarizedExperiment::assay(sim, "latent")[c("X", "Y"), ]
    C <- SummarizedExperiment::assay(cells, "latent")[c("X", "Y"), ]
    ncell <- as.vector(table(factor(cells$sample, levels = colnames(sim))))
    n <- ncol(B)
    bidx <- bulkcausal:::resample_cpp(n, n, nb, TRUE, 3 + 1)
    cidx <- bulkcausal:::resample_cpp(ncol(C), ncol(C), nb, TRUE, 3 + 7919)
    pr <- data.frame(regulator = "X", target = "Y")
    ds <- vapply(seq_len(nb), function(b) {
        i <- bidx[, b]
        Br <- B[, i]
        colnames(Br) <- NULL
        bf <- fitPairwise(Br, pairs = pr, verbose = FALSE)
        cf <- fitPairwise(C[, cidx[, b]], pairs = pr, verbose = FALSE)
        x <- Br["X", ]
        g <- drop(bulkcausal:::.curve_values(bf, 1L, x))
        h <- ncell[i] * drop(bulkcausal:::.curve_values(cf, 1L, x / ncell[i]))
        ref_ff_distance(g, h, x, Br["Y", ])
    }, numeric(1))
    q <- quantile(ds, 0.975, names = FALSE)
    D <- res$ff.distance
    expect_equal(res$ff.upper, max(D, q), tolerance = 1e-6)
    expect_equal(res$ff.lower, min(D, max(0, 2 * D - q)), tolerance = 1e-6)
    expect_true(res$ff.lower <= D && D <= res$ff.upper)
    # with the true curve the cell level is not resampled: another interval
    tr <- .ff(sim, nboot = nb, seed = 3)
    expect_identical(tr$reference, "truth")
    expect_false(isTRUE(all.equal(tr$ff.upper, res$ff.upper)))
})

test_that("the estimated cell-level curve stands in for the truth", {
    sim <- .ff_sim("tanh", n = 1, nsamples = 300, seed = 6)
    a <- .ff(sim, nboot = 0)
    b <- .ff(sim, nboot = 0, truth = FALSE)
    expect_identical(b$reference, "cells")
    expect_equal(b$ff.distance, a$ff.distance, tolerance = 0.2)
    expect_identical(a$p.resid, b$p.resid)
})

test_that("functionalConsistency rejects bad input clearly", {
    sim <- .ff_sim("affine", nsamples = 50, seed = 7)
    cells <- S4Vectors::metadata(sim)$cells
    expect_error(functionalConsistency(cells, sim, sample = "donor"), "`sample` = 'donor' is not a colData column")
    expect_error(functionalConsistency(cells, sim[, 1:40]), "cells of sample 'S41'.* are not in `bulk`")
    expect_error(functionalConsistency(cells, sim, edges = data.frame(from = "X", to = "Q")), "'Q'")
    bare <- SummarizedExperiment::SummarizedExperiment(list(latent = SummarizedExperiment::assay(sim, "latent")))
    expect_error(functionalConsistency(cells, bare), "give `aggregation`")
    expect_error(functionalConsistency(cells, sim, central = c(0.9, 0.1)), "`central` must be two increasing")
})

test_that("counts = TRUE compares rates: summed counts at the bulk level, count-aware fits at both", {
    # (a sigmoid edge: the undersmoothed cell curve differs from the REML one,
    # distance 0.114 against 0.069)
    model <- grnModel(data.frame(from = "X", to = "Y", fun = "sigmoid", weight = 3, K = 2, n = 2),
        intercept = c(X = 2, Y = 1), noise.scale = c(X = 0.5, Y = 0.2), observation = "poisson", library.size = 5,
        library.sdlog = 0.3)
    sim <- simulateBulk(model, nsamples = 60, pool.size = 20, aggregation = "sum", keep.cells = TRUE,
        assays = "counts", seed = 4, verbose = FALSE)
    cells <- S4Vectors::metadata(sim)$cells
    sf <- cells$library.size / mean(cells$library.size)
    ff <- functionalConsistency(cells, sim, assay.type = "counts", counts = TRUE, size.factors = sf, nboot = 10)
    expect_identical(ff$reference, "cells")
    expect_identical(ff$aggregation, "sum (as rates)")
    # its distance is the one of the rate-scale pieces put together by hand
    S <- vapply(split(sf, cells$sample), sum, numeric(1))[colnames(sim)]
    B <- SummarizedExperiment::assay(sim, "counts")
    cf <- fitPairwise(SummarizedExperiment::assay(cells, "counts"), pairs = data.frame("X", "Y"), counts = TRUE,
        size.factors = sf, seed = 1)
    bf <- fitPairwise(B, pairs = data.frame("X", "Y"), counts = TRUE, size.factors = S, seed = 1)
    x <- B["X", ] / S
    ok <- x >= quantile(x, 0.05) & x <= quantile(x, 0.95)
    d <- bulkcausal:::.curve_values(bf, 1, x) - bulkcausal:::.curve_values(cf, 1, x)
    # the core's batch evaluation is pairwiseCurves()' basis times coefficients
    expect_equal(drop(bulkcausal:::.curve_values(cf, 1, x)), pairwiseCurves(cf, grid = x)$fit, tolerance = 1e-12)
    expect_equal(bulkcausal:::.curve_values(cf, c(1, 1), cbind(x, rev(x))),
        cbind(pairwiseCurves(cf, grid = x)$fit, pairwiseCurves(cf, grid = rev(x))$fit), tolerance = 1e-12)
    # The cell curve FF uses is undersmoothed: coefficients (D'D + lambda / 10
    # S)^-1 D'(y - mean y) with D the posterior mean basis of 10 B-splines
    # and lambda the one REML chooses for them (naive R; its EM matches the
    # core's to about 1e-6, hence the tolerance)
    cnt <- SummarizedExperiment::assay(cells, "counts")
    pr <- ref_posterior_rates(cnt["X", ], sf, full = TRUE)
    sup <- pr$grid[pr$weight > 1e-6]
    kc <- 10
    cf <- fitPairwise(cnt, pairs = data.frame("X", "Y"), counts = TRUE, size.factors = sf, k = kc, seed = 1)
    D <- pr$post %*% ref_ps_basis(pr$grid, min(sup), max(sup), kc)
    y <- cnt["Y", ] / sf
    coef <- solve(crossprod(D) + cf$lambda / 10 * ref_penalty(kc), crossprod(D, y - mean(y)))
    h <- mean(y) + drop(ref_ps_basis(x, min(sup), max(sup), kc) %*% coef)
    d <- drop(bulkcausal:::.curve_values(bf, 1, x)) - h
    # bulk values where the cell curve rests on fewer than 10 cells (their
    # posterior mean rates in its knot interval) are left out
    bin <- function(v) ref_knot_interval(v, min(sup), max(sup), kc)
    support <- tabulate(bin(drop(pr$post %*% pr$grid)), kc - 3)
    thin <- x >= min(sup) & x <= max(sup) & support[bin(x)] < 10
    # (the central range is then taken among the bulk values left)
    ok <- !thin & x >= quantile(x[!thin], 0.05) & x <= quantile(x[!thin], 0.95)
    d <- d[ok & is.finite(d)]
    expect_equal(ff$ff.distance, sqrt(mean((d - mean(d))^2)) / sd(B["Y", ] / S), tolerance = 1e-5)
    expect_error(functionalConsistency(cells, sim, assay.type = "counts", counts = TRUE, aggregation = "mean"),
        "counts = TRUE compares rates: `bulk` must hold the cells' summed counts \\(aggregation 'sum'\\)")
})

test_that("the pools of poolCells() go in directly: their record of cells stands in for a sample column", {
    model <- grnModel(data.frame(from = "X", to = "Y", fun = "tanh", n = 1), noise.scale = c(X = 1, Y = 0.3),
        observation = "poisson", library.size = 5)
    cells <- simulateCells(model, ncells = 1200, seed = 3, verbose = FALSE)
    cells$sample <- NULL
    pools <- poolCells(cells, pool.size = 20, assay.type = "counts", seed = 2)
    sf <- cells$library.size / mean(cells$library.size)
    a <- functionalConsistency(cells, pools, edges = data.frame(from = "X", to = "Y"), assay.type = "counts",
        counts = TRUE, size.factors = sf, nboot = 5)
    # the same pools named in a sample column of the cells
    lab <- rep(NA_character_, ncol(cells))
    for (j in seq_len(ncol(pools))) lab[pools$cells[[j]]] <- colnames(pools)[j]
    keep <- !is.na(lab)
    named <- cells[, keep]
    named$sample <- lab[keep]
    b <- functionalConsistency(named, pools, edges = data.frame(from = "X", to = "Y"), assay.type = "counts",
        counts = TRUE, size.factors = sf[keep], nboot = 5)
    expect_equal(a$ff.distance, b$ff.distance, tolerance = 0.05)
    # values too (mean pools), and a cell in several pools
    lat <- poolCells(cells, pool.size = 10, npools = 200, replace = TRUE, aggregation = "mean", assay.type = "latent", seed = 4)
    expect_gt(sum(lengths(lat$cells)), length(unique(unlist(lat$cells))))
    v <- functionalConsistency(cells, lat, edges = data.frame(from = "X", to = "Y"), assay.type = "latent",
        truth = FALSE, nboot = 0)
    # its distance is the one of the pools' spline from the cells' spline,
    # over the central 90% of the pools
    B <- SummarizedExperiment::assay(lat, "latent")[c("X", "Y"), ]
    pr <- data.frame(regulator = "X", target = "Y")
    bf <- fitPairwise(B, pairs = pr, verbose = FALSE)
    cf <- fitPairwise(SummarizedExperiment::assay(cells, "latent")[c("X", "Y"), ], pairs = pr, verbose = FALSE)
    expect_equal(v$ff.distance, ref_ff_distance(drop(bulkcausal:::.curve_values(bf, 1L, B["X", ])),
        drop(bulkcausal:::.curve_values(cf, 1L, B["X", ])), B["X", ], B["Y", ]), tolerance = 1e-8)
    # wrong records are refused with the reason
    bad <- pools
    bad$cells[[1]] <- c(1L, ncol(cells) + 5L)
    expect_error(functionalConsistency(cells, bad, edges = data.frame(from = "X", to = "Y"), assay.type = "counts",
        counts = TRUE, size.factors = sf), "`bulk\\$cells` must hold column indices of `cells` \\(1 to 1200\\)")
    expect_error(functionalConsistency(cells, SummarizedExperiment::SummarizedExperiment(
        list(counts = SummarizedExperiment::assay(pools))), aggregation = "sum",
        edges = data.frame(from = "X", to = "Y"), assay.type = "counts", counts = TRUE, size.factors = sf),
        "no `cells` column recording its pools")
})
