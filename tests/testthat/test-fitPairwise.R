library(SummarizedExperiment)

# The truths of the mgcv panel.
truths <- list(
    affine = function(x) 1 + 2 * x,
    hill = function(x) 3 * x^3 / (1 + x^3),
    sin = function(x) sin(2 * x),
    quadratic = function(x) (x - 1)^2
)
noises <- list(
    gaussian = function(n) rnorm(n, sd = 0.3),
    skewed = function(n) 0.3 * (rexp(n) - 1)
)

test_that("REML fits match mgcv's s(x, bs = 'ps') over a panel of truths, noises and sizes", {
    skip_if_not_installed("mgcv")
    set.seed(11)
    for (n in c(50, 500, 5000)) {
        for (tn in names(truths)) {
            for (nn in names(noises)) {
                x <- runif(n, 0, 3)
                y <- truths[[tn]](x) + noises[[nn]](n)
                # the default basis grows with n: 10, 23 and 50 here
                ours <- fit_one_pair(x, y, seed = 1)
                kk <- S4Vectors::metadata(ours)$k
                expect_equal(kk, ref_default_k(n))
                g <- mgcv::gam(y ~ s(x, bs = "ps", k = kk), method = "REML")
                info <- sprintf("%s, %s noise, n = %d", tn, nn, n)
                fitted <- pairwiseCurves(ours, grid = x)$fit
                expect_lt(max(abs(fitted - fitted(g))) / sd(y), 1e-3, label = info)
                expect_lt(abs(ours$edf - (sum(g$edf) - 1)), 0.05, label = info)
                if (ours$edf > 1.1) {
                    # the smoothing parameter, where it is not at the linear limit
                    expect_lt(abs(log(ours$lambda / g$sp)), 0.05, label = info)
                }
                expect_equal(ours$status, "ok")
            }
        }
    }
})

test_that("the default basis grows with n, so that the curve follows a kink as cells accumulate", {
    # hill_act of a regulator crossing 0: f(y) = 3 max(y, 0) / (0.5 + max(y, 0)),
    # noise sd 0.1.  With k = 10 the error over the cells stays about one
    # noise sd whatever n (0.94 at 500 cells, 1.07 at 2,000 over 100
    # replicates of bench/bench_fit_kink.R); with the default it shrinks
    # (0.41, 0.22).  Here the mean over 5 replicates.
    model <- kink_model()
    f <- trueFunction(model, "Y", "Z")
    rms <- function(n, k) mean(vapply(1:5, function(r) {
        d <- assay(simulateCells(model, n, seed = r, verbose = FALSE), "latent")
        fit <- fitPairwise(d, pairs = data.frame("Y", "Z"), k = k, test = "F", verbose = FALSE)
        sqrt(mean((pairwiseCurves(fit, grid = d["Y", ])$fit - f(d["Y", ]))^2)) / 0.1
    }, numeric(1)))
    fixed <- c(rms(500, 10), rms(2000, 10))
    grown <- c(rms(500, NULL), rms(2000, NULL))
    expect_gt(fixed[2], 0.7)
    expect_lt(grown[1], fixed[1])
    expect_lt(grown[2], fixed[2] / 3)
    expect_lt(grown[2], grown[1])
})

test_that("GCV fits match mgcv's GCV.Cp, or reach a lower GCV score than mgcv's local optimum", {
    skip_if_not_installed("mgcv")
    set.seed(12)
    same <- 0
    for (rep in 1:12) {
        n <- c(60, 300, 2000)[rep %% 3 + 1]
        x <- runif(n, 0, 3)
        y <- truths[[rep %% 4 + 1]](x) + rnorm(n, sd = 0.3)
        ours <- fit_one_pair(x, y, method = "GCV")
        kk <- S4Vectors::metadata(ours)$k
        g <- mgcv::gam(y ~ s(x, bs = "ps", k = kk), method = "GCV.Cp")
        at.ours <- mgcv::gam(y ~ s(x, bs = "ps", k = kk), sp = ours$lambda)
        if (abs(ours$edf - (sum(g$edf) - 1)) < 0.05) {
            same <- same + 1
            expect_lt(max(abs(pairwiseCurves(ours, grid = x)$fit - fitted(g))) / sd(y), 1e-3)
        } else {
            # GCV can have two minima; ours is the global one on its grid
            expect_lte(at.ours$gcv.ubre, g$gcv.ubre * (1 + 1e-8))
        }
    }
    expect_gte(same, 9)
})

test_that("p.nonlinear is the F test of the affine fit against the unpenalised basis", {
    set.seed(13)
    x <- runif(120, 0, 3)
    y <- sin(x) + rnorm(120, sd = 0.5)
    ours <- fit_one_pair(x, y, test = "F", k = 10)
    expect_identical(metadata(ours)$test, "F")
    # the unpenalised basis: mgcv's "ps" B-splines for k = 10
    B <- ref_ps_basis(x, min(x), max(x), 10)
    ref <- anova(lm(y ~ x), lm(y ~ B - 1))
    expect_equal(ours$p.nonlinear, ref[["Pr(>F)"]][2], tolerance = 1e-8)
    expect_equal(ours$r2.linear, summary(lm(y ~ x))$r.squared, tolerance = 1e-10)
    expect_equal(ours$slope, unname(coef(lm(y ~ x))[2]), tolerance = 1e-10)
    expect_equal(ours$intercept, unname(coef(lm(y ~ x))[1]), tolerance = 1e-10)
})

test_that("under an affine truth p.nonlinear rejects at its nominal rate", {
    # One regulator and 1,000 targets per setting: 1,000 replicates in one
    # batched call.  SE of a rate near 0.05 over 1,000 replicates: 0.0069.
    set.seed(14)
    for (n in c(100, 2000)) {
        for (nn in c("gaussian", "skewed")) {
            x <- runif(n, 0, 3)
            noise <- if (nn == "gaussian") rnorm(1000 * n) else rexp(1000 * n) - 1
            y <- matrix(1 + 0.5 * x, 1000, n, byrow = TRUE) + matrix(noise, 1000, n)
            m <- rbind(X = x, y)
            rownames(m) <- c("X", paste0("T", 1:1000))
            for (test in c("wild", "F")) {
                fit <- fitPairwise(m, pairs = data.frame("X", paste0("T", 1:1000)), test = test, seed = n)
                rate <- mean(fit$p.nonlinear < 0.05)
                # F: within 0.015 as before; the wild test within the band
                # its issue sets (0.05 +/- 0.02; at n = 2000 with skewed
                # noise it runs at about 0.03, slightly conservative).
                expect_lt(abs(rate - 0.05), if (test == "F") 0.015 else 0.02,
                    label = sprintf("rejection rate %.3f, %s test, %s noise, n = %d", rate, test, nn, n))
            }
            # nl is near 0 for affine truths
            expect_lt(median(fit$nl), 0.02)
        }
    }
})

test_that("nl is near 1 for x^2 with a symmetric x and near 0 for a line", {
    set.seed(15)
    x <- runif(1000, -1, 1)
    expect_gt(fit_one_pair(x, x^2 + rnorm(1000, sd = 0.05))$nl, 0.95)
    expect_lt(fit_one_pair(x, 3 * x + rnorm(1000, sd = 0.05))$nl, 0.01)
    # exactly affine data: the fit is the line and nl is 0
    expect_equal(fit_one_pair(x, 2 - x)$nl, 0, tolerance = 1e-8)
})

test_that("results are identical across matrix types, threads and BiocParallel back-ends", {
    set.seed(16)
    n <- 150
    x <- matrix(rpois(8 * n, 3) * rbinom(8 * n, 1, 0.7), 8, n, dimnames = list(paste0("g", 1:8), NULL))
    storage.mode(x) <- "double"
    ref <- fitPairwise(x, nboot = 20, seed = 3, k = 6)
    expect_equal(nrow(ref), 56)
    same <- function(a, b) {
        expect_identical(as.data.frame(a), as.data.frame(b))
        expect_identical(metadata(a)$spline$coef, metadata(b)$spline$coef)
    }
    same(ref, fitPairwise(as(x, "dgCMatrix"), nboot = 20, seed = 3, k = 6))
    same(ref, fitPairwise(DelayedArray::DelayedArray(x), nboot = 20, seed = 3, k = 6))
    same(ref, fitPairwise(x, nboot = 20, seed = 3, k = 6, num.threads = 2))
    same(ref, fitPairwise(SummarizedExperiment(list(counts = x)), nboot = 20, seed = 3, k = 6))
    same(ref, fitPairwise(x, nboot = 20, seed = 3, k = 6, BPPARAM = BiocParallel::SerialParam()))
    snow <- fitPairwise(x, nboot = 20, seed = 3, k = 6, BPPARAM = BiocParallel::SnowParam(2))
    expect_identical(as.data.frame(snow), as.data.frame(ref))
    expect_equal(as.data.frame(pairwiseCurves(snow)), as.data.frame(pairwiseCurves(ref)))
    # workers receive their pairs' genes only (a subset of the columns),
    # and pairs of a single regulator are not split (they once failed)
    mc <- BiocParallel::MulticoreParam(2)
    two <- data.frame(c("g1", "g4"), c("g5", "g2"))
    same(fitPairwise(x, pairs = two, nboot = 20, seed = 3, k = 6), fitPairwise(x, pairs = two, nboot = 20,
        seed = 3, k = 6, BPPARAM = mc))
    expect_identical(as.data.frame(fitPairwise(x, pairs = data.frame("g2", c("g1", "g6")), seed = 3, k = 6,
        BPPARAM = mc)), as.data.frame(ref[c("g2->g1", "g2->g6"), 1:(ncol(ref) - 2)]))
    # pairs whose regulators alternate: a unit holds pairs that are not
    # consecutive, and the results go back in the order asked for (with
    # missing values, so that the pairs' contexts are reordered too)
    xna <- x
    xna[cbind(1:8, c(3, 9, 27, 81, 4, 16, 64, 128))] <- NA
    mixed <- data.frame(c("g1", "g3", "g1", "g3", "g2", "g1"), c("g2", "g4", "g5", "g6", "g7", "g8"))
    one <- fitPairwise(xna, pairs = mixed, nboot = 20, seed = 3, k = 6)
    par <- fitPairwise(xna, pairs = mixed, nboot = 20, seed = 3, k = 6, BPPARAM = mc)
    same(one, par)
    expect_identical(as.data.frame(pairwiseCurves(par)), as.data.frame(pairwiseCurves(one)))
    # a pair's bootstrap does not depend on which other pairs are fitted
    sub <- fitPairwise(x, pairs = data.frame("g3", "g5"), nboot = 20, seed = 3, k = 6)
    expect_identical(sub$nl.lower, ref["g3->g5", "nl.lower"])
    expect_identical(sub$nl.upper, ref["g3->g5", "nl.upper"])
})

test_that("the bootstrap interval brackets nl and covers the truth at about its level", {
    set.seed(17)
    n <- 300
    x <- runif(n, 0, 3)
    # the truth's nl over the observed x
    f <- sin(1.5 * x)
    truth <- 1 - cor(f, x)^2
    y <- matrix(f, 100, n, byrow = TRUE) + matrix(rnorm(100 * n, sd = 0.3), 100, n)
    m <- rbind(X = x, y)
    rownames(m) <- c("X", paste0("T", 1:100))
    fit <- fitPairwise(m, pairs = data.frame("X", paste0("T", 1:100)), nboot = 99, seed = 1)
    expect_true(all(fit$nl.lower <= fit$nl + 1e-12 & fit$nl <= fit$nl.upper + 1e-12))
    cover <- mean(fit$nl.lower <= truth & truth <= fit$nl.upper)
    expect_gt(cover, 0.8)
})

test_that("pairwiseCurves gives mgcv's fitted values and standard errors", {
    skip_if_not_installed("mgcv")
    set.seed(18)
    x <- runif(400, 0, 3)
    y <- 3 * x^2 / (1 + x^2) + rnorm(400, sd = 0.2)
    ours <- fit_one_pair(x, y, k = 10)
    g <- mgcv::gam(y ~ s(x, bs = "ps", k = 10), method = "REML")
    grid <- seq(min(x), max(x), length.out = 50)
    cu <- pairwiseCurves(ours, grid = grid, level = 0.9)
    pr <- predict(g, data.frame(x = grid), se.fit = TRUE)
    expect_lt(max(abs(cu$fit - pr$fit)), 1e-3 * sd(y))
    expect_lt(max(abs(cu$se / pr$se.fit - 1)), 1e-2)
    expect_equal(cu$upper - cu$fit, qnorm(0.95) * cu$se)
    # outside the data range: NA, no extrapolation
    out <- pairwiseCurves(ours, grid = c(min(x) - 1, max(x) + 1))
    expect_true(all(is.na(out$fit)))
})

test_that("missing values are dropped per pair, and n says how many were used", {
    set.seed(19)
    n <- 200
    x <- runif(n, 0, 3)
    m <- rbind(X = x, Y = sin(x) + rnorm(n, sd = 0.2), Z = x + rnorm(n))
    m["Y", 1:10] <- NA
    m["X", 191:200] <- NA
    # the same basis for both (by default it follows the columns of x)
    fit <- fitPairwise(m, pairs = data.frame("X", c("Y", "Z")), k = 12)
    expect_identical(fit$n, c(180L, 190L))
    keep <- 11:190
    ref <- fitPairwise(m[, keep], pairs = data.frame("X", "Y"), k = 12)
    expect_equal(fit[1, "edf"], ref$edf, tolerance = 1e-10)
    expect_equal(fit[1, "nl"], ref$nl, tolerance = 1e-10)
    expect_equal(pairwiseCurves(fit, 1, grid = 7)$fit, pairwiseCurves(ref, grid = 7)$fit, tolerance = 1e-10)
})

test_that("degenerate pairs get NA rows whose status says why", {
    set.seed(20)
    n <- 100
    m <- rbind(A = runif(n), B = rnorm(n), C = rep(2, n), D = rep(1:5, length.out = n), E = rep(c(0, 1), n / 2))
    fit <- fitPairwise(m, pairs = data.frame(c("A", "A", "C", "D", "E", "B"), c("A", "C", "A", "A", "A", "A")))
    expect_identical(fit$status, c("regulator is the target", "constant target", "constant regulator",
        "fewer distinct regulator values than k", "fewer distinct regulator values than k", "ok"))
    expect_true(all(is.na(fit$nl[1:5])))
    expect_false(is.na(fit$nl[6]))
    # a smaller basis fits the five-level regulator
    expect_identical(fitPairwise(m, pairs = data.frame("D", "A"), k = 5)$status, "ok")
    few <- fitPairwise(m[, 1:12], pairs = data.frame("A", "B"), k = 12)
    expect_identical(few$status, "too few observations (n <= k)")
    expect_identical(few$n, 12L)
})

test_that("bad input gets clear errors", {
    m <- rbind(A = runif(50), B = runif(50))
    expect_error(fitPairwise(m, pairs = data.frame("A", c("B", "FOO", "BAR"))),
        "`pairs` names genes 'FOO', 'BAR', which are not in rownames\\(x\\)")
    expect_error(fitPairwise(m, genes = c("A", "Q")), "`genes` names gene 'Q', which is not in rownames")
    expect_error(fitPairwise(m, k = 3), "`k` must be a whole number >= 4, not 3")
    expect_error(fitPairwise(m, k = 101), "`k` must be a whole number from 4 to 100, not 101")
    expect_error(fitPairwise(m, k = 5.5), "`k` must be a whole number")
    expect_error(fitPairwise(m, method = "ML"), "`method` must be one of 'REML', 'GCV', not 'ML'")
    neg <- m
    neg["B", 3] <- -0.5
    expect_error(fitPairwise(neg, transform = "log1p"),
        "transform = 'log1p' needs non-negative values, but gene 'B' has -0.5")
    inf <- m
    inf["A", 2] <- Inf
    expect_error(fitPairwise(inf), "infinite value Inf for gene 'A' in column 2")
    expect_error(fitPairwise(unname(m)), "`x` needs rownames")
    # a matrix with observations in rows is named as such
    expect_error(fitPairwise(t(m)), "`x` needs rownames \\(gene names\\): it has column names only; genes go in rows")
    tm <- t(m)
    rownames(tm) <- paste0("cell", 1:50)
    expect_error(fitPairwise(tm, pairs = data.frame("A", "B")), paste("`pairs` names genes 'A', 'B', which are not in",
        "rownames\\(x\\) but in its column names: genes go in rows and observations in columns \\(pass t\\(x\\)\\)"))
    expect_error(fitPairwise(m, pairs = data.frame("A", "B"), genes = "A"), "not both")
    expect_error(fitPairwise(m, genes = "A"), "at least two genes")
    expect_error(fitPairwise(SummarizedExperiment(list(counts = m)), assay.type = "logcounts"),
        "`assay.type` 'logcounts' is not an assay of `x`")
    big <- matrix(0, 1001, 3, dimnames = list(paste0("g", 1:1001), NULL))
    expect_error(fitPairwise(big), "give `pairs` or `genes`: all ordered pairs among the 1001 genes")
    fit <- fitPairwise(m)
    expect_error(pairwiseCurves(fit, "A->Q"), "`pairs` names 'A->Q', which is not fitted")
    expect_error(pairwiseCurves(m), "must be the result of fitPairwise")
})

test_that("log1p fits the transformed values and the plots draw", {
    set.seed(21)
    x <- rpois(300, 20)
    m <- rbind(X = x, Y = rpois(300, 2 * x))
    a <- fitPairwise(m, transform = "log1p", pairs = data.frame("X", "Y"), seed = 2)
    b <- fitPairwise(log1p(m), pairs = data.frame("X", "Y"), seed = 2)
    expect_equal(as.data.frame(a), as.data.frame(b))
    expect_identical(metadata(a)$transform, "log1p")
    skip_if_not_installed("ggplot2")
    p <- plotPairwise(a, m)
    expect_identical(levels(p$data$pair), "X->Y")
    # the points are the log1p values, the curve and its band the fit's, the
    # dashed line its affine part
    expect_equal(p$data$x, unname(log1p(m["X", ])))
    expect_equal(p$data$y, unname(log1p(m["Y", ])))
    cv <- pairwiseCurves(a, grid = 200)
    expect_equal(p$layers[[2]]$data$lower, cv$lower)
    expect_equal(p$layers[[2]]$data$upper, cv$upper)
    expect_equal(p$layers[[3]]$data$fit, cv$fit)
    expect_equal(ggplot2::layer_data(p, 5)$intercept, a$intercept)
    expect_equal(ggplot2::layer_data(p, 5)$slope, a$slope)
    expect_identical(p$labels$x, "regulator, log1p")
    # one violin per fit, of its nl
    q <- plotNonlinearity(cells = a, bulk = b)
    expect_identical(levels(q$data$group), c("cells", "bulk"))
    expect_equal(q$data$nl, c(a$nl, b$nl))
})

test_that("p.relation holds its size under independence and finds relations; unrelated pairs leave the panels", {
    # 1,000 independent targets (Gaussian, and skewed) of one regulator: the
    # rejection rate at 0.05 (SE 0.0069), and its definition
    set.seed(22)
    n <- 300
    x <- rexp(n)
    for (noise in c("gaussian", "skewed")) {
        y <- if (noise == "gaussian") matrix(rnorm(1000 * n), 1000) else matrix(rexp(1000 * n)^2, 1000)
        m <- rbind(X = x, y)
        rownames(m) <- c("X", paste0("T", 1:1000))
        fit <- fitPairwise(m, pairs = data.frame("X", paste0("T", 1:1000)), seed = 1)
        rate <- mean(fit$p.relation < 0.05)
        expect_lt(rate, 0.05 + 2 * 0.0069, label = sprintf("size %.3f, %s noise", rate, noise))
        expect_gt(rate, 0.01)
        p.slope <- vapply(2:101, function(i) summary(lm(m[i, ] ~ x))$coefficients[2, 4], numeric(1))
        expect_equal(fit$p.relation[1:100], pmin(1, 2 * pmin(p.slope, fit$p.nonlinear[1:100])), tolerance = 1e-6)
    }
    # on counts (rates independent of each other, shared library sizes)
    s <- rlnorm(2000, 0, 0.3)
    cnt <- rbind(X = rpois(2000, s * rgamma(2000, 2)), t(replicate(200, rpois(2000, s * rgamma(2000, 2)))))
    rownames(cnt) <- c("X", paste0("T", 1:200))
    cf <- fitPairwise(cnt, pairs = data.frame("X", paste0("T", 1:200)), counts = TRUE, size.factors = s, seed = 1)
    expect_lt(mean(cf$p.relation < 0.05), 0.05 + 2 * sqrt(0.05 * 0.95 / 200))
    # a U-shaped relation has no slope but a relation
    u <- runif(n, -1, 1)
    m <- rbind(U = u, V = u^2 + rnorm(n, sd = 0.3), W = rnorm(n), Z = 0.5 * u + rnorm(n, sd = 0.3))
    fit <- fitPairwise(m, pairs = data.frame("U", c("V", "W", "Z")), seed = 1)
    expect_lt(fit["U->V", "p.relation"], 1e-6)
    expect_lt(fit["U->Z", "p.relation"], 1e-6)
    skip_if_not_installed("ggplot2")
    expect_identical(levels(plotPairwise(fit, m)$data$pair), c("U->V", "U->Z"))
    q <- plotNonlinearity(fit)
    expect_setequal(q$data$nl, fit$nl[c(1, 3)])
    # a row subset of a fit still plots (only its table is read)
    expect_setequal(plotNonlinearity(fit[c(1, 3), ])$data$nl, fit$nl[c(1, 3)])
    expect_match(q$layers[[3]]$data$label, "\\(2 of 3 pairs\\)")
})

test_that("curves report the observations behind them; thin stretches are marked and drawn dotted", {
    set.seed(23)
    x <- c(runif(500), 8, 9, 10)
    m <- rbind(X = x, Y = c(sin(3 * x[1:500]) + rnorm(500, sd = 0.1), 50, -40, 60))
    fit <- fitPairwise(m, pairs = data.frame("X", "Y"), k = 20)
    cv <- pairwiseCurves(fit, grid = c(0.5, 5, 9.5, 11))
    # the knot intervals: 17 over the range widened by 0.1% at each end (as
    # mgcv's "ps" basis places them); a naive histogram of the regulator
    bin <- function(v) ref_knot_interval(v, min(x), max(x), 20)
    bins <- tabulate(bin(x), 17)
    expect_equal(sum(bins), 503)
    expect_identical(cv$n.near, c(bins[bin(0.5)], bins[bin(5)], bins[bin(9.5)], NA))
    expect_identical(cv$thin, c(FALSE, TRUE, TRUE, NA))
    skip_if_not_installed("ggplot2")
    p <- plotPairwise(fit, m)
    expect_match(p$labels$caption, "dotted: fewer than 10 observations in the knot interval")
    # captions fit the default width: no line longer than 60 characters
    for (cap in c(p$labels$caption, plotNonlinearity(fit)$labels$caption)) {
        expect_lte(max(nchar(strsplit(cap, "\n")[[1]])), 60)
    }
    expect_true(all(is.na(p$layers[[4]]$data$solid[p$layers[[4]]$data$thin])))
})

test_that("workers started by a call are stopped by it; a back-end the user started stays up", {
    set.seed(4)
    x <- matrix(rnorm(4 * 60), 4, 60, dimnames = list(paste0("g", 1:4), NULL))
    p <- BiocParallel::MulticoreParam(2)
    fit <- fitPairwise(x, k = 6, seed = 1, BPPARAM = p)
    expect_false(BiocParallel::bpisup(p))
    BiocParallel::bpstart(p)
    expect_identical(as.data.frame(fitPairwise(x, k = 6, seed = 1, BPPARAM = p)), as.data.frame(fit))
    expect_true(BiocParallel::bpisup(p))
    BiocParallel::bpstop(p)
    expect_error(fitPairwise(x, BPPARAM = "two"), "`BPPARAM` must be a BiocParallel back-end .* not 'two'")
    expect_error(aggregateCells(x, sample = rep(1:2, 30), BPPARAM = 2), "`BPPARAM` must be a BiocParallel back-end")
})

test_that("a curve subset evaluates its rows' curves as the whole fit does", {
    set.seed(5)
    x <- matrix(rgamma(5 * 200, 2), 5, 200, dimnames = list(paste0("g", 1:5), NULL))
    x[2, 7] <- NA  # a pair context of its own for the pairs with g2
    fit <- fitPairwise(x, k = 8, seed = 1)
    rows <- c(7L, 2L, 15L, 4L)
    sub <- bulkcausal:::.curve_subset(fit, rows)
    u <- matrix(runif(30 * 4, 0, 6), 30, 4)
    expect_identical(bulkcausal:::.curve_values(sub, seq_along(rows), u), bulkcausal:::.curve_values(fit, rows, u))
    expect_lt(length(sub$contexts$t0), length(S4Vectors::metadata(fit)$spline$contexts$t0))
})
