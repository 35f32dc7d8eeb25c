library(SummarizedExperiment)

# A root X ~ N(mu + c_j, s^2) in each cell with a per-sample context c_j, and
# Y = f(X) + e.  Under the mean of k cells, E[Ybar | Xbar = m] = E f(m + tZ)
# with t^2 = s^2 (k - 1) / k (THEORY.md section 2).
pair_model <- function(fun, weight = 1, K = NA, n = NA, noise.y = 0.2) {
    grnModel(data.frame(from = "X", to = "Y", fun = fun, weight = weight, K = K, n = n),
        intercept = c(X = 1, Y = 0), noise.scale = c(X = 1, Y = noise.y),
        context.sd = c(X = 1.5, Y = 0))
}

bulk_pair <- function(model, k = 10, nsamples = 4000, seed = 1, aggregation = "mean") {
    b <- simulateBulk(model, nsamples = nsamples, pool.size = k, aggregation = aggregation, seed = seed)
    data.frame(x = assay(b, "latent")["X", ], y = assay(b, "latent")["Y", ])
}

# |estimate - truth| < 4 standard errors
expect_within_se <- function(fit, term, truth, nse = 4) {
    co <- summary(fit)$coefficients
    expect_lt(abs(co[term, "Estimate"] - truth), nse * co[term, "Std. Error"])
}

test_that("affine edges keep their function under the mean: g(m) = a m + b", {
    d <- bulk_pair(pair_model("affine", weight = -1.3))
    fit <- lm(y ~ x + I(x^2), data = d)
    expect_within_se(fit, "x", -1.3)
    expect_within_se(fit, "I(x^2)", 0)
    expect_within_se(fit, "(Intercept)", 0)
})

test_that("a quadratic edge only shifts its intercept by t^2 under the mean", {
    k <- 10
    t2 <- (k - 1) / k
    d <- bulk_pair(pair_model("quadratic"), k = k)
    fit <- lm(y ~ x + I(x^2), data = d)
    expect_within_se(fit, "I(x^2)", 1)
    expect_within_se(fit, "x", 0)
    expect_within_se(fit, "(Intercept)", t2)
    # and is visibly different at the cell level, where the intercept is 0
    cells <- simulateCells(pair_model("quadratic"), ncells = 20000, nsamples = 50, seed = 2)
    cfit <- lm(y ~ x + I(x^2), data = data.frame(x = assay(cells)["X", ], y = assay(cells)["Y", ]))
    expect_within_se(cfit, "(Intercept)", 0)
})

test_that("a sine edge is damped by exp(-w^2 t^2 / 2) under the mean", {
    k <- 10
    w <- 1.5
    t2 <- (k - 1) / k
    d <- bulk_pair(pair_model("sin", n = w), k = k, nsamples = 6000)
    fit <- lm(y ~ sin(w * x) + cos(w * x), data = d)
    expect_within_se(fit, "sin(w * x)", exp(-w^2 * t2 / 2))
    expect_within_se(fit, "cos(w * x)", 0)
    # sanity: the damping is far from 1, so the check has power
    expect_lt(coef(fit)[["sin(w * x)"]], 0.5)
})

test_that("a linear-Gaussian chain keeps its weight at the bulk level, for sum and mean", {
    model <- grnModel(data.frame(from = c("X", "Y"), to = c("Y", "Z"), weight = c(1.7, -0.6)),
        context.sd = c(X = 1, Y = 0, Z = 0))
    for (agg in c("mean", "sum")) {
        b <- simulateBulk(model, nsamples = 3000, pool.size = 20, aggregation = agg, seed = 3)
        x <- assay(b, "latent")
        expect_within_se(lm(x["Y", ] ~ x["X", ]), 2, 1.7)
        expect_within_se(lm(x["Z", ] ~ x["Y", ]), 2, -0.6)
    }
    # the cell-level slope is the same weight
    cells <- simulateCells(model, ncells = 30000, nsamples = 30, seed = 4)
    x <- assay(cells, "latent")
    expect_within_se(lm(x["Y", ] ~ x["X", ]), 2, 1.7)
})

test_that("each noise family has mean 0 and standard deviation noise.scale", {
    for (family in c("gaussian", "uniform", "laplace", "gamma", "lognormal")) {
        model <- grnModel(data.frame(from = character(), to = character()), genes = "A",
            intercept = 3, noise = family, noise.scale = 0.7, context.sd = 0)
        x <- assay(simulateCells(model, ncells = 2e5, seed = 11), "latent")[1, ]
        n <- length(x)
        v <- var(x)
        se.var <- sqrt((mean((x - mean(x))^4) - v^2) / n)
        expect_lt(abs(mean(x) - 3), 5 * sqrt(v / n), label = family)
        expect_lt(abs(v - 0.49), 5 * se.var, label = family)
    }
    # gamma noise is right-skewed with skewness 2 / sqrt(shape)
    model <- grnModel(data.frame(from = character(), to = character()), genes = "A",
        noise = "gamma", noise.shape = 4, context.sd = 0)
    x <- assay(simulateCells(model, ncells = 2e5, seed = 12), "latent")[1, ]
    skew <- mean((x - mean(x))^3) / sd(x)^3
    expect_lt(abs(skew - 1), 0.05)
    # t noise (3 degrees of freedom by default) has t3's quantiles over sqrt(3):
    # P(|x| > qt(0.975, 3) / sqrt(3)) = 0.05 within 4 SE
    model <- grnModel(data.frame(from = character(), to = character()), genes = "A", noise = "t", context.sd = 0)
    expect_identical(unname(model@noise.shape), 3)
    x <- assay(simulateCells(model, ncells = 2e5, seed = 14), "latent")[1, ]
    expect_lt(abs(mean(abs(x) > qt(0.975, 3) / sqrt(3)) - 0.05), 4 * sqrt(0.05 * 0.95 / 2e5))
    expect_error(grnModel(data.frame(from = "A", to = "B"), noise = "t", noise.shape = 2),
        "degrees of freedom of t noise\\) must exceed 2 for a finite variance, not 2, 2 for gene 'A', 'B'")
})

test_that("Poisson and NB counts have mean s * softplus(x) and the right variance", {
    for (obs in c("poisson", "nb")) {
        model <- grnModel(data.frame(from = character(), to = character()), genes = "A",
            intercept = 0.5, noise.scale = 0, context.sd = 0, observation = obs,
            library.size = 6, nb.size = 2)
        sce <- simulateCells(model, ncells = 2e5, seed = 13)
        y <- assay(sce, "counts")[1, ]
        expect_true(all(y == round(y)))
        mu <- 6 * log1p(exp(0.5))
        v <- if (obs == "poisson") mu else mu + mu^2 / 2
        expect_lt(abs(mean(y) - mu), 5 * sqrt(v / length(y)), label = obs)
        expect_lt(abs(var(y) - v), 5 * sqrt((mean((y - mean(y))^4) - var(y)^2) / length(y)), label = obs)
    }
    # log-normal library sizes have the requested mean
    model <- grnModel(data.frame(from = character(), to = character()), genes = "A",
        observation = "poisson", library.size = 4, library.sdlog = 0.5)
    s <- simulateCells(model, ncells = 1e5, seed = 14)$library.size
    expect_lt(abs(mean(s) - 4), 5 * sd(s) / sqrt(length(s)))
})

# X -> Y -> Z with counts; Z sits above 30 under softplus, where the link
# switches to the identity.
rate_model <- function(obs = "poisson", link = "softplus", library.sdlog = 0.3, context.sd = 0) {
    grnModel(data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = c("hill_act", "affine"),
        weight = c(2, -0.5), K = c(1, NA), n = c(2, NA)),
        intercept = c(X = 0.5, Y = -1, Z = if (link == "softplus") 35 else 2),
        context.sd = c(X = context.sd, Y = 0, Z = 0), observation = obs, link = link,
        library.size = 3, library.sdlog = library.sdlog)
}

test_that("with an observation model the cells have rate = link(latent), for both links", {
    ref <- list(softplus = function(x) log(1 + exp(x)), exp = exp)
    for (link in names(ref)) {
        sce <- simulateCells(rate_model("nb", link), ncells = 3000, nsamples = 3, seed = 41)
        lat <- assay(sce, "latent")
        expect_identical(assayNames(sce), c("counts", "latent", "rate"))
        expect_identical(dimnames(assay(sce, "rate")), dimnames(lat))
        expect_equal(assay(sce, "rate"), ref[[link]](lat), tolerance = 1e-13, label = link)
        if (link == "softplus") expect_true(all(lat["Z", ] > 30))
    }
    # no rate without an observation model
    none <- simulateCells(rate_model("none"), ncells = 100, seed = 41)
    expect_identical(assayNames(none), "latent")
})

test_that("counts / library.size average to the rate, cell by cell", {
    for (obs in c("poisson", "nb")) {
        sce <- simulateCells(rate_model(obs, "softplus", library.sdlog = 0.5, context.sd = 1),
            ncells = 1e5, nsamples = 20, seed = 42)
        d <- t(assay(sce, "counts")) / sce$library.size - t(assay(sce, "rate"))
        # E[counts / s | latent] = rate, so the differences have mean 0
        z <- colMeans(d) / (apply(d, 2, sd) / sqrt(nrow(d)))
        expect_true(all(abs(z) < 5), label = paste(obs, paste(format(z, digits = 3), collapse = " ")))
    }
    # sanity: the check has power, since the mean rate is not the link of
    # the mean latent value (Jensen's gap on X, whose context varies)
    x <- assay(sce, "latent")["X", ]
    r <- assay(sce, "rate")["X", ]
    expect_gt(abs(mean(r) - log1p(exp(mean(x)))), 10 * sd(r) / sqrt(length(r)))
})

test_that("the bulk rate is the aggregate of the cells' rates", {
    model <- rate_model("poisson", "softplus", context.sd = 1)
    cps <- c(10, 1500, 1, 57)
    sce <- simulateCells(model, ncells = cps, nsamples = 4, seed = 43)
    for (agg in c("sum", "mean", "cpm")) {
        # cpm needs non-negative values, which the latent X is not
        others <- if (agg == "cpm") "counts" else c("counts", "latent")
        for (threads in 1:2) {
            b <- simulateBulk(model, 4, cps, aggregation = agg, keep.cells = TRUE, assays = c(others, "rate"),
                seed = 43, num.threads = threads)
            expect_identical(assayNames(b), c(others, "rate"))
            cells <- metadata(b)$cells
            expect_identical(assay(cells, "rate"), assay(sce, "rate"))
            ref <- aggregateCells(cells, cells$sample, aggregation = agg, assay.type = "rate")
            expect_identical(unname(assay(b, "rate")), unname(assay(ref, "rate")), label = agg)
            # asking for the rate changes no other assay
            without <- simulateBulk(model, 4, cps, aggregation = agg, assays = others, seed = 43,
                num.threads = threads)
            expect_identical(assays(without), assays(b)[others])
        }
    }
    b <- simulateBulk(model, 4, cps, aggregation = "mean", seed = 43)
    expect_identical(assayNames(b), c("counts", "latent", "rate"))
    rate.only <- simulateBulk(model, 4, cps, aggregation = "mean", assays = "rate", seed = 43)
    expect_identical(assayNames(rate.only), "rate")
    expect_identical(assay(rate.only), assay(b, "rate"))
    # with "sum" and one library size, library.size * rate is the expected
    # bulk count
    fixed <- rate_model("poisson", "softplus", library.sdlog = 0, context.sd = 1)
    b <- simulateBulk(fixed, nsamples = 2000, pool.size = 20, aggregation = "sum", seed = 44)
    d <- assay(b, "counts")["Y", ] - 3 * assay(b, "rate")["Y", ]
    expect_lt(abs(mean(d)), 5 * sd(d) / sqrt(length(d)))
    # no rate without an observation model
    none <- simulateBulk(pair_model("affine"), 5, 10, keep.cells = TRUE, seed = 1)
    expect_identical(assayNames(none), "latent")
    expect_identical(assayNames(metadata(none)$cells), "latent")
})

test_that("sample contexts and cell-type proportions vary by sample as specified", {
    types <- matrix(c(0, 3), 2, 1, dimnames = list(c("T1", "T2"), "A"))
    model <- grnModel(data.frame(from = "A", to = "B"), context.sd = c(A = 2, B = 0),
        celltypes = types, celltype.prop = c(0.25, 0.75), celltype.alpha = 8)
    b <- simulateBulk(model, nsamples = 2000, pool.size = 50, seed = 21)
    shift <- b$shift.A
    expect_lt(abs(var(shift) - 4), 5 * 4 * sqrt(2 / 1999))
    prop <- b$prop.T2
    # Dirichlet(8 * (0.25, 0.75)): mean 0.75, variance 0.75 * 0.25 / 9
    expect_lt(abs(mean(prop) - 0.75), 5 * sqrt(0.75 * 0.25 / 9 / 2000))
    expect_lt(abs(var(prop) - 0.75 * 0.25 / 9), 5 * 0.75 * 0.25 / 9 * sqrt(2 / 1999))
    expect_identical(b$ncells.T1 + b$ncells.T2, rep(50L, 2000))
    # realised counts follow the drawn proportions
    expect_lt(abs(mean(b$ncells.T2 / 50 - prop)), 5 * sqrt(0.75 * 0.25 / 50 / 2000))
    # fixed proportions with alpha = Inf
    fixed <- grnModel(data.frame(from = "A", to = "B"), celltypes = types, celltype.alpha = Inf)
    fb <- simulateBulk(fixed, nsamples = 10, pool.size = 10, seed = 1)
    expect_identical(fb$prop.T1, rep(0.5, 10))
    sce <- simulateCells(fixed, ncells = 4000, nsamples = 4, seed = 2)
    expect_identical(levels(sce$celltype), c("T1", "T2"))
    a <- assay(sce, "latent")["A", ]
    expect_lt(abs(mean(a[sce$celltype == "T2"]) - mean(a[sce$celltype == "T1"]) - 3), 0.2)
})

test_that("the same seed gives identical results on 1 and 2 threads", {
    model <- randomGRN(25, functions = c(affine = 1, hill_act = 1, hill_rep = 1, sin = 1), seed = 8,
        observation = "nb", library.size = 3)
    c1 <- simulateCells(model, ncells = 5000, nsamples = 7, seed = 99, num.threads = 1)
    c2 <- simulateCells(model, ncells = 5000, nsamples = 7, seed = 99, num.threads = 2)
    expect_identical(assay(c1, "latent"), assay(c2, "latent"))
    expect_identical(assay(c1, "counts"), assay(c2, "counts"))
    expect_identical(assay(c1, "rate"), assay(c2, "rate"))
    expect_identical(colData(c1), colData(c2))
    b1 <- simulateBulk(model, 30, c(rep(40, 29), 3000), aggregation = "median", seed = 5, num.threads = 1)
    b2 <- simulateBulk(model, 30, c(rep(40, 29), 3000), aggregation = "median", seed = 5, num.threads = 2)
    expect_identical(assayNames(b1), c("counts", "latent", "rate"))
    expect_identical(assays(b1), assays(b2))
    expect_false(identical(assay(c1), assay(simulateCells(model, 5000, 7, seed = 100))))
})

test_that("simulateBulk pools exactly the cells simulateCells makes, with aggregateCells' code", {
    model <- randomGRN(12, seed = 4, observation = "poisson", library.size = 2)
    cps <- c(10, 2000, 1, 57)
    sce <- simulateCells(model, ncells = cps, nsamples = 4, seed = 31)
    for (agg in c("sum", "mean", "median", "max", "cpm", "log1p_sum", "geomean")) {
        b <- simulateBulk(model, 4, cps, aggregation = agg, assays = "counts", seed = 31, keep.cells = TRUE)
        ref <- aggregateCells(sce, sce$sample, aggregation = agg, assay.type = "counts")
        expect_identical(unname(assay(b, "counts")), unname(assay(ref, "counts")), label = agg)
        expect_identical(assay(metadata(b)$cells, "counts"), assay(sce, "counts"))
    }
    expect_identical(b$ncells, as.integer(cps))
    expect_identical(metadata(b)$model, model)
})

test_that("user-supplied R edge functions run and match the built-in equivalent", {
    builtin <- grnModel(data.frame(from = "X", to = "Y", fun = "tanh", weight = 2, n = 1.5))
    custom <- grnModel(data.frame(from = "X", to = "Y", fun = "mytanh"),
        custom.functions = list(mytanh = function(x) 2 * tanh(1.5 * x)))
    a <- simulateCells(builtin, ncells = 3000, nsamples = 3, seed = 6)
    b <- simulateCells(custom, ncells = 3000, nsamples = 3, seed = 6, num.threads = 2)
    expect_equal(assay(a), assay(b), tolerance = 1e-14)
    bad <- grnModel(data.frame(from = "X", to = "Y", fun = "short"), custom.functions = list(short = function(x) x[-1]))
    expect_error(simulateCells(bad, 10), "'short' returned 9 values for 10 inputs")
})

test_that("bad simulation arguments get clear errors", {
    model <- pair_model("affine")
    expect_error(simulateCells(model, ncells = 0), "`ncells` must be a whole number from 1 to 2147483647, not 0")
    expect_error(simulateCells(model, ncells = 10.5), "`ncells` must be a whole number from 1 to 2147483647, not 10.5")
    expect_error(simulateCells(model, ncells = 10, nsamples = -1), "`nsamples` must be a whole number from 1 to 2147483647, not -1")
    expect_error(simulateCells(model, ncells = 3, nsamples = 5), "at least `nsamples`")
    expect_error(simulateCells(model, ncells = c(5, 5), nsamples = 3), "`ncells` must be positive whole numbers")
    expect_error(simulateCells("model", 10), "`model` must be a GRNModel")
    expect_error(simulateCells(model, 10, seed = -3), "`seed` must be a whole number >= 0")
    expect_error(simulateCells(model, 10, num.threads = 0), "`num.threads`")
    expect_error(simulateBulk(model, 10, pool.size = 0), "`pool.size` must be")
    expect_error(simulateBulk(model, 10, pool.size = c(1, 2)), "`pool.size` must be")
    expect_error(simulateBulk(model, NA), "`nsamples` must be a whole number")
    expect_error(simulateBulk(model, 10, aggregation = "mode"), "`aggregation` must be one of")
    expect_error(simulateBulk(model, 10, assays = "counts"), "`assays` must name cell-level assays among 'latent'")
    expect_error(simulateBulk(model, 10, assays = c("latent", "rate")),
        "among 'latent', not 'rate' \\('counts' and 'rate' need an observation model")
    counted <- rate_model()
    expect_error(simulateBulk(counted, 10, assays = c("latent", "rates")),
        "`assays` must name cell-level assays among 'latent', 'counts', 'rate', not 'rates'$")
    expect_error(simulateBulk(counted, 10, assays = character()), "not a character of length 0")
    expect_error(simulateBulk(counted, 10, assays = 1), "not 1$")
    # a non-linear aggregation that needs non-negative values, on a latent
    # expression that goes negative
    neg <- grnModel(data.frame(from = "X", to = "Y"), intercept = -5)
    expect_error(simulateBulk(neg, 5, aggregation = "cpm", seed = 1), "'cpm' cannot take the negative value")
    # overflowing functions are an error, not Inf
    blow <- grnModel(data.frame(from = "X", to = "Y", fun = "exp", n = 50), intercept = c(X = 30, Y = 0))
    expect_error(simulateCells(blow, 10, seed = 1), "non-finite value")
})
