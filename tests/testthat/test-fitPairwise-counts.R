# fitPairwise(counts = TRUE): rates behind counts, the wild test on counts.

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

test_that("p.nonlinear holds its size on counts with the count mode and the wild test", {
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

test_that("the wild test gives the same p-values for the same seed on any number of threads", {
    set.seed(34)
    d <- sim_count_pairs(6, 300, mu = 5)
    a <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, seed = 9)
    b <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, seed = 9, num.threads = 2)
    expect_identical(a$p.nonlinear, b$p.nonlinear)
    c <- fitPairwise(d$counts, pairs = d$pairs, counts = TRUE, seed = 10)
    expect_false(identical(a$p.nonlinear, c$p.nonlinear))
    expect_identical(S4Vectors::metadata(a)$test, "wild")
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
