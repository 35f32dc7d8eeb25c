# fitPairwise(counts = TRUE): rates behind counts, the rate-scale test of linearity.

test_that("the count mode regresses normalised target counts on the regulator's posterior mean rates", {
    set.seed(31)
    d <- sim_count_pairs(3, 400, mu = 2)
    for (disp in c(0, 0.2)) {
        fit <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = d$size, dispersion = disp)
        for (i in 1:3) {
            cx <- d$counts[paste0("X", i), ]
            y <- d$counts[paste0("Y", i), ] / d$size
            pm <- ref_posterior_rates(cx, d$size, disp)
            ref <- lm(y ~ pm)
            expect_equal(fit$slope[i], unname(coef(ref)[2]), tolerance = 1e-6)
            expect_equal(fit$r2.linear[i], summary(ref)$r.squared, tolerance = 1e-6)
            expect_equal(fit$reliability.regulator[i], ref_reliability(cx, d$size, disp), tolerance = 1e-10)
            expect_equal(fit$reliability.target[i], ref_reliability(d$counts[paste0("Y", i), ], d$size, disp),
                tolerance = 1e-10)
        }
        expect_identical(S4Vectors::metadata(fit)$scale, "rate")
        expect_identical(S4Vectors::metadata(fit)$dispersion, disp)
    }
    # Default size factors: library sizes over all genes, mean 1.
    d <- sim_count_pairs(3, 400, mu = 20)
    lib <- colSums(d$counts)
    a <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE)
    b <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = lib / mean(lib))
    expect_identical(a$slope, b$slope)
    expect_equal(S4Vectors::metadata(a)$size.factors, unname(lib / mean(lib)))
})

test_that("the count-aware curve is the penalised regression on the posterior mean basis", {
    # Design row i = sum_g post_ig B(grid_g), basis on the grid rates of
    # weight > 1e-6; coefficients = (D'D + lambda S)^-1 D'(y - mean y) at the
    # reported lambda; nl over the rate distribution (the prior).
    set.seed(37)
    n <- 600
    s <- exp(rnorm(n, 0, 0.3))
    u <- rgamma(n, 2, 1)
    cnt <- rbind(X = rpois(n, s * 2 * u), Y = rpois(n, s * 6 * u^2 / (1 + u^2)))
    fit <- fitPairwise(cnt, pairs = data.frame("X", "Y"), counts = TRUE, size.factors = s, k = 8)
    pr <- ref_posterior_rates(cnt["X", ], s, full = TRUE)
    sup <- pr$grid[pr$weight > 1e-6]
    Bg <- ref_ps_basis(pr$grid, min(sup), max(sup), 8)
    D <- pr$post %*% Bg
    y <- cnt["Y", ] / s
    coef <- solve(crossprod(D) + fit$lambda * ref_penalty(8), crossprod(D, y - mean(y)))
    sp <- S4Vectors::metadata(fit)$spline
    expect_equal(drop(sp$coef), drop(coef), tolerance = 1e-5)
    f <- drop(Bg %*% coef)
    w <- pr$weight
    cv <- cov.wt(cbind(f, pr$grid), wt = w, method = "ML")$cov
    expect_equal(fit$nl, 1 - cv[1, 2]^2 / (cv[1, 1] * cv[2, 2]), tolerance = 1e-5)
    # the curve pairwiseCurves() draws is f on the rate scale
    cur <- pairwiseCurves(fit, grid = c(1, 3, 6))
    expect_equal(cur$fit, sp$mean.y + drop(ref_ps_basis(c(1, 3, 6), min(sup), max(sup), 8) %*% coef),
        tolerance = 1e-6)
    # the affine part is the regression on the posterior mean rates
    expect_equal(fit$slope, unname(coef(lm(y ~ pr$mean))[2]), tolerance = 1e-6)
})

test_that("size factors may differ per gene (a matrix like x)", {
    set.seed(39)
    d <- sim_count_pairs(2, 300, mu = 4)
    sfm <- matrix(rep(d$size, each = 4), 4)
    a <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = d$size, seed = 2)
    b <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = sfm, seed = 2)
    expect_identical(a$slope, b$slope)
    expect_identical(a$p.nonlinear, b$p.nonlinear)
    # regulator and target with their own size factors
    sfm[1, ] <- runif(300, 0.5, 2)
    sfm[3, ] <- runif(300, 0.5, 2)
    f <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = sfm)
    pm <- ref_posterior_rates(d$counts["X1", ], sfm[1, ])
    y <- d$counts["Y1", ] / sfm[3, ]
    expect_equal(f$slope[1], unname(coef(lm(y ~ pm))[2]), tolerance = 1e-6)
    expect_equal(f$reliability.regulator[1], ref_reliability(d$counts["X1", ], sfm[1, ]), tolerance = 1e-10)
    expect_error(fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = sfm[1:3, ]),
        "a matrix of `size.factors` must have the dimensions of `x` \\(4 x 300\\), not 3 x 300")
    sfm[2, 7] <- -1
    expect_error(fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = sfm),
        "must be finite and positive, but entry 26 has -1")
})

test_that("count-aware nl is not attenuated by the regulator's noise", {
    # Hill relation, 2 counts per cell, 40 pairs x 2,000 cells: the median
    # nl of the count-aware fit is within 0.05 of the noise-free fit's;
    # the naive fit's is attenuated.
    set.seed(38)
    k <- 40
    n <- 2000
    s <- exp(rnorm(n, 0, 0.3) - 0.045)
    u <- matrix(rgamma(k * n, 2, 1), k)
    lx <- u
    ly <- 4 * u^2 / (1 + u^2)
    draw <- function(m) matrix(rpois(length(m), t(t(m) * s)), nrow(m))
    cnt <- rbind(draw(lx), draw(ly))
    rownames(cnt) <- c(paste0("X", 1:k), paste0("Y", 1:k))
    pr <- data.frame(paste0("X", 1:k), paste0("Y", 1:k))
    aware <- fitPairwise(cnt, pairs = pr, counts = TRUE, size.factors = s, num.threads = 2)
    naive <- fitPairwise(t(t(cnt) / s), pairs = pr, test = "F")
    truth <- fitPairwise(`rownames<-`(rbind(lx, ly), rownames(cnt)), pairs = pr, test = "F")
    expect_lt(abs(median(aware$nl) - median(truth$nl)), 0.05)
    expect_lt(median(naive$nl), median(truth$nl) - 0.1)
})

test_that("count-aware slopes are not attenuated; naive ones are, by the reliability", {
    # 20 pairs x 3,000 cells at 2 counts per cell: the naive slope shrinks
    # towards reliability x 0.5, the count-aware one stays at 0.5 (SE of the
    # mean of 20 slopes about 0.01).
    set.seed(32)
    d <- sim_count_pairs(20, 3000, mu = 2)
    aware <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = d$size)
    naive <- fitPairwise(t(t(d$counts) / d$size), pairs = d$pairs)
    expect_lt(abs(mean(aware$slope) - 0.5), 0.03)
    expect_lt(mean(naive$slope), 0.4)
    expect_lt(abs(mean(naive$slope) - 0.5 * mean(aware$reliability.regulator)), 0.05)
})

test_that("the rate-scale test's statistic and slope equal their definition", {
    set.seed(36)
    for (disp in c(0, 0.5)) {
        d <- sim_count_pairs(3, 250, mu = 3, nb.size = if (disp > 0) 1 / disp else Inf)
        m <- t(d$counts)
        res <- bulkcausal:::rate_test_cpp(m, m / d$size, d$size, seq_len(ncol(m)) - 1L, 0:2, 3:5, disp, 6L, 1, 1L,
            FALSE)
        for (i in 1:3) {
            ref <- ref_rate_statistic(m[, i], m[, i + 3] / d$size, d$size, disp, k = 6)
            expect_equal(res$statistic[i], ref$statistic, tolerance = 1e-8)
            expect_equal(res$slope[i], ref$slope, tolerance = 1e-8)
        }
        expect_true(all(res$p > 0 & res$p <= 1))
    }
})

test_that("p.nonlinear holds its size on counts with the count mode", {
    # 300 affine pairs (Poisson, 2 counts per cell, n = 300): SE of a rate
    # near 0.05 is 0.0126; the naive F test on normalised counts is far off.
    set.seed(33)
    d <- sim_count_pairs(300, 300, mu = 2)
    fit <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = d$size, seed = 1)
    rate <- mean(fit$p.nonlinear < 0.05, na.rm = TRUE)
    expect_lt(abs(rate - 0.05), 3 * 0.0126, label = sprintf("count-aware rejection rate %.3f", rate))
    naive <- fitPairwise(t(t(d$counts) / d$size), pairs = d$pairs, test = "F")
    expect_gt(mean(naive$p.nonlinear < 0.05, na.rm = TRUE), 0.15)
    # ... and it detects a non-linear rate relation (Hill-type saturation).
    lx <- matrix(rgamma(100 * 300, 2, 1), 100)
    ly <- 4 * lx^2 / (1 + lx^2)
    cnt <- rbind(matrix(rpois(length(lx), lx * 3), 100), matrix(rpois(length(ly), ly * 3), 100))
    rownames(cnt) <- c(paste0("X", 1:100), paste0("Y", 1:100))
    hill <- fitPairwise(cnt, pairs = data.frame(paste0("X", 1:100), paste0("Y", 1:100)), counts = TRUE,
        size.factors = rep(3, 300))
    expect_gt(mean(hill$p.nonlinear < 0.05), 0.8)
})

test_that("the rate-scale test gives the same p-values for the same seed on any number of threads", {
    set.seed(34)
    d <- sim_count_pairs(6, 300, mu = 5)
    a <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, seed = 9)
    b <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, seed = 9, num.threads = 2)
    expect_identical(a$p.nonlinear, b$p.nonlinear)
    c <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, seed = 10)
    expect_false(identical(a$p.nonlinear, c$p.nonlinear))
    expect_identical(S4Vectors::metadata(a)$test, "rate")
    expect_error(fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, test = "F"),
        "with counts = TRUE p.nonlinear comes from the rate-scale moment test")
    # dense, sparse and DelayedArray counts agree
    sp <- fitPairwise(Matrix::Matrix(d$counts, sparse = TRUE), pairs = d$pairs, counts = TRUE, seed = 9)
    da <- fitPairwise(DelayedArray::DelayedArray(d$counts), pairs = d$pairs, counts = TRUE, seed = 9)
    expect_identical(a$p.nonlinear, sp$p.nonlinear)
    expect_identical(a$slope, da$slope)
})

test_that("count mode: genes without counts get a status, bad input an error naming it", {
    set.seed(35)
    d <- sim_count_pairs(2, 100, mu = 2)
    cnt <- rbind(d$counts, Z = 0)
    fit <- fitPairwise(cnt, pairs = data.frame(c("Z", "X1"), c("Y1", "Z")), counts = TRUE,
        size.factors = d$size)
    expect_identical(fit$status, c("constant regulator", "constant target"))
    bad <- d$counts
    bad[1, 3] <- 0.5
    expect_error(fitPairwise(bad, pairs = d$pairs, counts = TRUE, size.factors = d$size),
        "counts = TRUE needs counts \\(non-negative whole numbers\\), but gene 'X1' has 0.5")
    bad[1, 3] <- -1
    expect_error(fitPairwise(bad, pairs = d$pairs, counts = TRUE, size.factors = d$size), "gene 'X1' has -1")
    logged <- log1p(d$counts)
    expect_error(fitPairwise(logged, pairs = d$pairs, counts = TRUE),
        "assay 'x' must hold counts \\(non-negative whole numbers\\) with counts = TRUE")
    bad <- d$counts
    bad[2, 5] <- NA
    expect_error(fitPairwise(bad, pairs = d$pairs, counts = TRUE, size.factors = d$size), "gene 'X2' has NA")
    sf <- d$size
    sf[4] <- 0
    expect_error(fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = sf),
        "`size.factors` must be finite and positive, but column 4 has 0")
    sf[4] <- NA
    expect_error(fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = sf), "column 4 has NA")
    expect_error(fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, size.factors = 1:3),
        "one value per column of `x` \\(100\\)")
    expect_error(fitPairwise(d$counts, pairs = d$pairs, size.factors = d$size), "give them with counts = TRUE")
    expect_error(fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, transform = "log1p"),
        "`transform` must be 'none' with counts = TRUE")
    expect_error(fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, dispersion = -1), "`dispersion` must be")
    expect_error(fitPairwise(d$counts, pairs = d$pairs, test = "t"), "`test` must be one of 'wild', 'F'")
    empty <- d$counts + 1
    empty[, 7] <- 0
    expect_error(fitPairwise(empty, pairs = d$pairs, counts = TRUE), "1 columns have no counts at all \\(e.g. 7\\)")
})

test_that("the count-aware curve follows a steep rate curve under NB counts at reliability 0.5", {
    # lambda_Y = 3 exp(-1.2 lambda_X), log-normal lambda_X, NB counts (size
    # 10) at about 13 counts per cell: the regulator's reliability is about
    # 0.53.  Free weights for the rate distribution (a few isolated atoms)
    # leave the curve free between them: its largest error over the central
    # 90% of the rates averages 0.086 over these seeds; the log-spline
    # distribution 0.050.
    h <- function(l) 3 * exp(-1.2 * l)
    err <- vapply(1:6, function(seed) {
        set.seed(seed)
        n <- 6000
        lx <- exp(rnorm(n, 0.9, 0.45))
        ly <- h(lx) * exp(rnorm(n, 0, 0.2) - 0.02)
        s <- exp(rnorm(n, 0, 0.3)) * 5
        m <- rbind(X = rnbinom(n, mu = s * lx, size = 10), Y = rnbinom(n, mu = s * ly, size = 10))
        f <- fitPairwise(m, pairs = data.frame("X", "Y"), counts = TRUE, size.factors = s, dispersion = 0.1, seed = 1)
        expect_equal(f$reliability.regulator, 0.53, tolerance = 0.05)
        cv <- pairwiseCurves(f, grid = 50)
        q <- quantile(lx, c(0.05, 0.95))
        keep <- cv$x >= q[1] & cv$x <= q[2]
        max(abs(cv$fit[keep] - h(cv$x[keep])))
    }, numeric(1))
    expect_lt(mean(err), 0.065)
})
