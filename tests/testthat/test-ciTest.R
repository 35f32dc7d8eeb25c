test_that("the Fisher test equals pcalg's gaussCItest", {
    skip_if_not_installed("pcalg")
    set.seed(31)
    a <- rnorm(200)
    b <- 0.8 * a + rnorm(200)
    c <- b - 0.5 * a + rnorm(200)
    d <- cbind(A = a, B = b, C = c, D = rnorm(200))
    ss <- list(C = cor(d), n = 200)
    # genes x observations (the package's matrices), or a data.frame of
    # variables in columns
    for (S in list(integer(0), 2L, c(2L, 4L))) {
        ours <- ciTest(1, 3, S, data = t(d), test = "fisher")
        expect_equal(ours$p.value, pcalg::gaussCItest(1, 3, S, ss), tolerance = 1e-10)
        expect_equal(ciIndepTest(1, 3, S, ciSuffStat(t(d), test = "fisher")), ours$p.value)
        expect_identical(ciTest(1, 3, S, data = as.data.frame(d), test = "fisher"), ours)
        expect_identical(ciTest(1, 3, S, data = S4Vectors::DataFrame(d), test = "fisher"), ours)
    }
    # the statistic is the partial correlation of the regression residuals
    r <- cor(resid(lm(a ~ b)), resid(lm(c ~ b)))
    expect_equal(ciTest("A", "C", "B", data = t(d), test = "fisher")$statistic, r, tolerance = 1e-10)
})

test_that("pcalg::pc with ciIndepTest finds the skeleton gaussCItest finds", {
    skip_if_not_installed("pcalg")
    model <- randomGRN(8, prob = 0.35, functions = c(affine = 1), seed = 4)
    cells <- simulateCells(model, ncells = 500, seed = 5, verbose = FALSE)
    d <- t(SummarizedExperiment::assay(cells, "latent"))
    ours <- pcalg::pc(ciSuffStat(t(d), test = "fisher"), ciIndepTest, alpha = 0.01, labels = colnames(d))
    ref <- pcalg::pc(list(C = cor(d), n = nrow(d)), pcalg::gaussCItest, alpha = 0.01, labels = colnames(d))
    skel <- function(fit) {
        m <- methods::as(fit@graph, "matrix")
        (m + t(m)) > 0
    }
    expect_identical(skel(ours), skel(ref))
})

test_that("under a true conditional independence the Fisher test rejects at its level", {
    # Gaussian chain X -> Y -> Z: X _||_ Z | Y.  1,000 replicates, SE 0.0069.
    set.seed(32)
    p <- vapply(1:1000, function(i) {
        x <- rnorm(200)
        y <- x + rnorm(200)
        z <- 0.5 * y + rnorm(200)
        ciTest(1, 3, 2, data = rbind(x, y, z), test = "fisher")$p.value
    }, numeric(1))
    expect_lt(abs(mean(p < 0.05) - 0.05), 0.02)
    expect_gt(ks.test(p, "punif")$p.value, 0.001)
})

test_that("the default test is the spline test", {
    set.seed(34)
    d <- rbind(A = rnorm(100), B = rnorm(100), C = rnorm(100))
    expect_identical(ciTest("A", "B", "C", data = d)$test, "spline")
    expect_identical(ciTest("A", "B", "C", data = d), ciTest("A", "B", "C", data = d, test = "spline"))
    expect_identical(ciSuffStat(d)$method, "spline")
})

test_that("ciTest takes a SummarizedExperiment with genes in rows", {
    set.seed(33)
    m <- matrix(rnorm(300), 3, dimnames = list(c("g1", "g2", "g3"), NULL))
    se <- SummarizedExperiment::SummarizedExperiment(list(logcounts = m))
    expect_identical(ciTest("g1", "g2", "g3", data = se, assay.type = "logcounts"),
        ciTest("g1", "g2", "g3", data = m))
})

test_that("bad input gets clear errors", {
    d <- rbind(A = rnorm(50), B = rnorm(50), C = rnorm(50))
    expect_error(ciTest("A", "Q", data = d), "`y` names 'Q', which is not a variable of `data`")
    expect_error(ciTest("A", "B", c("A", "C"), data = d), "the conditioning set `z` contains 'A'")
    expect_error(ciTest("A", "A", data = d), "must be different variables")
    expect_error(ciTest("A", "B", test = "hsic", data = d), "`test` must be one of 'spline', 'fisher', not 'hsic'")
    expect_error(ciTest("A", "B", "C", data = d[, 1:3], test = "fisher"),
        "`data` has 3 observations; the Fisher z test needs at least 4")
    expect_error(ciTest("A", "B", "C", data = d[, 1:4], test = "fisher"),
        "needs more observations than the conditioning set size \\+ 3")
    expect_error(ciTest("A", "B", "C", data = d[, 1:9]), "`data` has 9 observations; the spline test needs at least 10")
    # one orientation: a matrix with the observations in rows is named as such
    wide <- matrix(rnorm(12 * 50), 12, dimnames = list(LETTERS[1:12], NULL))
    expect_error(ciTest("A", "B", data = t(wide)), paste0("`x` names 'A', which is not a variable of `data` but names",
        " its observations: a matrix has genes in rows and observations in columns \\(pass t\\(data\\)"))
    expect_error(ciTest(1, 2, data = t(d)), paste("`data` has 3 observations; the spline test needs at least 10",
        "\\(a matrix has genes in rows and observations in columns; this one has 50 rows: if they are the observations, pass t\\(data\\)"))
    d["C", ] <- 1
    expect_error(ciTest("A", "B", data = d), "constant variables: 'C'")
    d["A", 2] <- NA
    expect_error(ciTest("A", "B", data = d), "missing or infinite")
})
