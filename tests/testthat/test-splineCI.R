# The spline CI test: size under true conditional independence, power,
# agreement with a naive R reference, and its use inside pcalg.

# X = f(Z) + e, Y = g(Z) + u with independent noises: X _||_ Y | Z.
.ci_null_data <- function(n, s, nonlinear, noise) {
    e <- function() if (noise == "gaussian") rnorm(n) else rexp(n) - 1
    z <- matrix(runif(n * max(s, 1L), -2, 2), n)[, seq_len(s), drop = FALSE]
    fx <- if (s == 0L) 0 else if (nonlinear) rowSums(sin(2 * z)) else rowSums(z)
    fy <- if (s == 0L) 0 else if (nonlinear) rowSums(z^2) else -rowSums(z)
    d <- cbind(X = fx + 0.5 * e(), Y = fy + 0.5 * e(), z)
    colnames(d) <- c("X", "Y", if (s > 0L) paste0("Z", seq_len(s)))
    d
}

test_that("the spline test holds its size over models, noises, n and conditioning sets", {
    # 15 designs x 150 replicates: the pooled rate has SE 0.0046; each
    # design's rate has SE 0.018 and must stay below 0.05 + 3.5 SE.
    set.seed(41)
    designs <- expand.grid(n = c(200L, 1000L), s = 0:2, nonlinear = c(FALSE, TRUE),
        noise = c("gaussian", "exponential"), stringsAsFactors = FALSE)
    designs <- designs[!(designs$s == 0L & designs$nonlinear) & !(designs$n == 1000L & designs$s == 0L), ]
    rates <- vapply(seq_len(nrow(designs)), function(i) {
        g <- designs[i, ]
        p <- vapply(1:150, function(r) {
            d <- .ci_null_data(g$n, g$s, g$nonlinear, g$noise)
            ciIndepTest(1, 2, seq_len(g$s) + 2L, ciSuffStat(t(d), test = "spline", seed = r))
        }, numeric(1))
        mean(p < 0.05)
    }, numeric(1))
    expect_lt(abs(mean(rates) - 0.05), 0.015)
    expect_true(all(rates < 0.05 + 3.5 * sqrt(0.05 * 0.95 / 150)))
})

test_that("the spline test detects dependence Fisher's test cannot see", {
    set.seed(42)
    p <- vapply(1:50, function(r) {
        z <- runif(300, -2, 2)
        x <- sin(2 * z) + rnorm(300, sd = 0.5)
        e <- rnorm(300, sd = 0.5)
        y <- z^2 + (x - sin(2 * z))^2 + 0.3 * e  # depends on x given z, uncorrelated with it
        d <- cbind(X = x, Y = y, Z = z)
        c(spline = ciTest("X", "Y", "Z", data = t(d), test = "spline")$p.value,
            fisher = ciTest("X", "Y", "Z", data = t(d), test = "fisher")$p.value)
    }, numeric(2))
    expect_gt(mean(p["spline", ] < 0.05), 0.9)
    expect_lt(mean(p["fisher", ] < 0.05), 0.3)
})

test_that("the spline statistic equals a naive R computation of HSIC on spline residuals", {
    set.seed(43)
    n <- 120
    z <- runif(n)
    d <- cbind(X = exp(z) + rnorm(n, sd = 0.2), Y = cos(3 * z) + rnorm(n, sd = 0.2), Z = z)
    res <- ciTest("X", "Y", "Z", data = t(d), test = "spline")
    # residuals from the pairwise spline fit of each on Z (same smoother, the
    # test's default basis dimension at n = 120: ceiling(sqrt(120)) = 11)
    fits <- fitPairwise(t(d), pairs = data.frame(regulator = "Z", target = c("X", "Y")), k = 11)
    cur <- pairwiseCurves(fits, grid = d[, "Z"])
    rx <- d[, "X"] - cur$fit[cur$target == "X"]
    ry <- d[, "Y"] - cur$fit[cur$target == "Y"]
    gram <- function(v) {
        dd <- abs(outer(v, v, "-"))
        s <- sort(dd[upper.tri(dd)])[ceiling(choose(n, 2) / 2)]
        exp(-dd^2 / (2 * s^2))
    }
    H <- diag(n) - 1 / n
    K <- H %*% gram(rx) %*% H
    L <- H %*% gram(ry) %*% H
    expect_equal(res$statistic, sum(K * L) / n, tolerance = 1e-6)
})

test_that("the default basis grows with n, so a kink does not turn into false rejections", {
    d <- function(n) cbind(X = seq_len(n) %% 7, Y = seq_len(n) %% 5, Z = sqrt(seq_len(n)))
    expect_identical(vapply(c(50, 100, 101, 120, 500, 2000, 2401, 10000), function(n) ciSuffStat(t(d(n)))$k,
        integer(1)), c(10L, 10L, 11L, 11L, 23L, 45L, 49L, 50L))
    expect_identical(ciSuffStat(t(d(500)), k = 12)$k, 12L)
    # The kink design of the package's notes: X -> Y -> Z, affine then
    # hill_act (kink at Y = 0), X Gamma-distributed; X _||_ Z | Y holds.
    # With k = 10 at 2,000 cells it was rejected 0.56 of the time; the
    # default must stay within 0.05 + 3 SE over 60 replicates.
    model <- kink_model()
    p <- vapply(1:60, function(r) {
        cells <- simulateCells(model, 2000, seed = r, verbose = FALSE)
        ciTest("X", "Z", "Y", data = cells, assay.type = "latent")$p.value
    }, numeric(1))
    expect_lt(mean(p < 0.05), 0.05 + 3 * sqrt(0.05 * 0.95 / 60))
})

test_that("the spline test runs inside pcalg::pc and is reproducible", {
    skip_if_not_installed("pcalg")
    model <- grnModel(data.frame(from = c("A", "B", "C"), to = c("B", "C", "D"),
        fun = c("quadratic", "tanh", "sin")), noise.scale = 0.3)
    cells <- simulateCells(model, ncells = 600, seed = 7, verbose = FALSE)
    d <- t(SummarizedExperiment::assay(cells, "latent"))
    ss <- ciSuffStat(t(d), test = "spline")
    fit <- pcalg::pc(ss, ciIndepTest, alpha = 0.01, labels = colnames(d))
    skel <- methods::as(fit@graph, "matrix")
    skel <- (skel + t(skel)) > 0
    truth <- matrix(FALSE, 4, 4, dimnames = list(colnames(d), colnames(d)))
    truth[cbind(c("A", "B", "C"), c("B", "C", "D"))] <- TRUE
    truth <- truth | t(truth)
    expect_identical(unname(skel), unname(truth))
    # the same p-value from ciTest, ciIndepTest, 1 or 2 threads, any order
    p1 <- ciTest("A", "C", "B", data = t(d), test = "spline", max.n = 200)$p.value
    p2 <- ciIndepTest(3, 1, 2, ciSuffStat(t(d), test = "spline", max.n = 200, num.threads = 2))
    expect_identical(p1, p2)
    expect_false(identical(p1, ciTest("A", "C", "B", data = t(d), test = "spline", max.n = 200, seed = 2)$p.value))
})

test_that("the permutation null agrees with the gamma approximation", {
    set.seed(44)
    z <- rnorm(200)
    d <- cbind(X = z + rnorm(200), Y = z^2 + 0.3 * rnorm(200) + 0.2 * rnorm(200), Z = z)
    pg <- ciTest("X", "Y", "Z", data = t(d), test = "spline")$p.value
    pp <- ciTest("X", "Y", "Z", data = t(d), test = "spline", nperm = 999)$p.value
    expect_lt(abs(pg - pp), 3 * sqrt(pg * (1 - pg) / 999) + 0.01)
    expect_true(pp >= 1 / 1000)
})

test_that("the spline test rejects bad input clearly", {
    d <- rbind(A = rnorm(50), B = rnorm(50), C = rnorm(50))
    expect_error(ciTest("A", "B", "C", data = d[, 1:9], test = "spline"),
        "`data` has 9 observations; the spline test needs at least 10")
    expect_error(ciTest("A", "B", data = d, test = "spline", k = 2), "`k` must be a whole number >= 4")
    expect_error(ciTest("A", "B", data = d, test = "spline", nperm = -1), "`nperm` must be a whole number from 0 to 1000000")
    expect_error(ciTest("A", "B", c("B", "C"), data = d, test = "spline"), "contains 'B'")
})
